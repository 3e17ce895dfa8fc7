/* SPDX-License-Identifier: MIT */
/*
 * The device side of a split virtqueue (contract in core/vdev/virtq.h;
 * section numbers are those of virtio 1.2).
 */
#include "core/vdev/virtq.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "ring fields are little-endian and read as host integers");
_Static_assert((VIRTQ_MAX_SIZE & (VIRTQ_MAX_SIZE - 1)) == 0,
	       "the largest queue size is a power of two");

/* One descriptor (2.7.5), as in the table. */
struct desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};
_Static_assert(sizeof(struct desc) == 16, "a descriptor is 16 bytes");

#define AVAIL_IDX  2
#define AVAIL_RING 4
#define USED_IDX   2
#define USED_RING  4
#define USED_ELEM  8 /* { le32 id; le32 len; } */

static u64 avail_bytes(u32 size)
{
	return 6 + 2ull * size;
}

static u64 used_bytes(u32 size)
{
	return 6 + 8ull * size;
}

/*
 * Ordering against the driver on another CPU. x86 keeps stores in order
 * with stores and loads with loads (SDM Vol. 3A 9.2.2, TSO), so those
 * orders only need the compiler held back. A load may pass an earlier
 * store to another address (9.2.2), so the store-then-load handshakes of
 * notification suppression (2.7.7, 2.7.10) need a full fence, paired with
 * the driver's own (2.7.13.4).
 */
static inline void compiler_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline void full_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Ring fields, each one access: naturally aligned (virtq_check), volatile
 * because the driver may write them at any time. */
static u16 load16(const u8 *p)
{
	return *(const volatile u16 *)p;
}

static void store16(u8 *p, u16 v)
{
	*(volatile u16 *)p = v;
}

static void store32(u8 *p, u32 v)
{
	*(volatile u32 *)p = v;
}

static int __printf(2, 3) fail(char why[VIRTQ_WHY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnformat(why, VIRTQ_WHY_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copy descriptor i of the table at `table` into *d, each byte read once
 * (an indirect table need not be aligned). False when not in RAM. */
static bool read_desc(const struct guest_mem *mem, u64 table, u32 i,
		      struct desc *d)
{
	const volatile u8 *p = guest_mem_ptr(mem, table + 16ull * i, 16);
	u8 raw[16];

	if (!p)
		return false;
	for (u32 k = 0; k < sizeof(raw); k++)
		raw[k] = p[k];
	memcpy(d, raw, sizeof(raw));
	return true;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static int check_part(const struct guest_mem *mem, const char *name, u64 gpa,
		      u32 align, u64 bytes, char why[VIRTQ_WHY_MAX])
{
	if (!IS_ALIGNED(gpa, align))
		return fail(why, "%s at 0x%lx: not %u-byte aligned", name, gpa,
			    align);
	if (!guest_mem_ptr(mem, gpa, bytes))
		return fail(why, "%s at 0x%lx (0x%lx bytes): not in guest RAM",
			    name, gpa, bytes);
	return 0;
}

int virtq_check(const struct virtq *q, const struct guest_mem *mem,
		char why[VIRTQ_WHY_MAX])
{
	u32 n = q->size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return fail(why, "size %u: not a power of two from 1 to %u", n,
			    VIRTQ_MAX_SIZE);
	if (check_part(mem, "descriptor table", q->desc, 16, 16ull * n, why) ||
	    check_part(mem, "available ring", q->avail, 2, avail_bytes(n),
		       why) ||
	    check_part(mem, "used ring", q->used, 4, used_bytes(n), why))
		return -1;
	return 0;
}

/* Descriptor `where` i refers to an indirect table: may the chain go on
 * there (2.7.5.3.1)? nested: i is itself in an indirect table. */
static int check_indirect(const struct virtq *q, const struct guest_mem *mem,
			  bool nested, const char *where, u32 i,
			  const struct desc *d, char why[VIRTQ_WHY_MAX])
{
	if (!q->indirect)
		return fail(why, "%s %u: INDIRECT, not negotiated", where, i);
	if (nested)
		return fail(why, "%s %u: nested INDIRECT", where, i);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return fail(why, "%s %u: INDIRECT with NEXT", where, i);
	if (!d->len)
		return fail(why, "%s %u: indirect table empty", where, i);
	if (d->len % 16)
		return fail(why,
			    "%s %u: indirect table length %u not a multiple "
			    "of 16",
			    where, i, d->len);
	if (d->len / 16 > VIRTQ_MAX_CHAIN)
		return fail(why,
			    "%s %u: indirect table of %u descriptors, more "
			    "than %u",
			    where, i, d->len / 16, VIRTQ_MAX_CHAIN);
	if (!guest_mem_ptr(mem, d->addr, d->len))
		return fail(why, "%s %u: indirect table 0x%lx+0x%x not in RAM",
			    where, i, d->addr, d->len);
	return 0;
}

/* Walk the chain from `head` into c: 0, or -1 with why. Ends: each turn
 * adds a buffer (at most VIRTQ_MAX_CHAIN) or enters the one indirect
 * table a chain may have. */
static int walk(const struct virtq *q, const struct guest_mem *mem, u16 head,
		struct virtq_chain *c, char why[VIRTQ_WHY_MAX])
{
	const char *where = "descriptor";
	u64 table = q->desc;
	u32 entries = q->size, steps = 0, i = head;
	bool nested = false, write, seen_write = false;
	struct desc d;

	c->head = head;
	c->count = 0;
	c->readable = c->writable = 0;
	for (;;) {
		if (!read_desc(mem, table, i, &d))
			return fail(why, "%s %u: not in guest RAM", where, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Its WRITE flag means nothing (2.7.5.3.2). */
			if (check_indirect(q, mem, nested, where, i, &d, why))
				return -1;
			nested = true;
			where = "indirect descriptor";
			table = d.addr;
			entries = d.len / 16;
			steps = 0;
			i = 0;
			continue;
		}
		if (!guest_mem_ptr(mem, d.addr, d.len))
			return fail(why, "%s %u: buffer 0x%lx+0x%x not in RAM",
				    where, i, d.addr, d.len);
		write = d.flags & VIRTQ_DESC_F_WRITE;
		if (!write && seen_write)
			return fail(why,
				    "%s %u: readable after writable (2.7.4)",
				    where, i);
		if (c->count == VIRTQ_MAX_CHAIN)
			return fail(why, "%s %u: chain longer than %u buffers",
				    where, i, VIRTQ_MAX_CHAIN);
		seen_write = write;
		c->buf[c->count++] = (struct virtq_buf){
		    .gpa = d.addr, .len = d.len, .write = write};
		if (write)
			c->writable += d.len;
		else
			c->readable += d.len;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= entries)
			return fail(why,
				    "%s %u: next %u out of range (table of %u)",
				    where, i, d.next, entries);
		/* More descriptors than the table has: one came back. */
		if (++steps == entries)
			return fail(why, "%s %u: loop, chain longer than %u",
				    where, i, entries);
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct guest_mem *mem,
	      struct virtq_chain *c, char why[VIRTQ_WHY_MAX])
{
	u8 *avail = guest_mem_ptr(mem, q->avail, avail_bytes(q->size));
	u8 *used = guest_mem_ptr(mem, q->used, used_bytes(q->size));
	u16 idx, pending, slot, head;

	if (!q->size || !avail || !used)
		return fail(why, "queue not set up or rings not in RAM");
	idx = load16(avail + AVAIL_IDX);
	if (idx == q->last_avail && q->event_idx) {
		/* Ask for a kick at the next chain (2.7.10), then look again:
		 * the driver may have added one before it could see this. */
		store16(used + USED_RING + USED_ELEM * q->size, q->last_avail);
		full_barrier();
		idx = load16(avail + AVAIL_IDX);
	}
	pending = (u16)(idx - q->last_avail);
	if (pending > q->size)
		return fail(why,
			    "avail idx %u is %u ahead of %u (queue size %u)",
			    idx, pending, q->last_avail, q->size);
	if (!pending)
		return 0;
	/* The ring entry and descriptors after idx: loads stay in order. */
	compiler_barrier();
	slot = q->last_avail & (q->size - 1);
	head = load16(avail + AVAIL_RING + 2 * slot);
	if (head >= q->size)
		return fail(why,
			    "avail ring slot %u: head %u out of range "
			    "(queue size %u)",
			    slot, head, q->size);
	if (walk(q, mem, head, c, why))
		return -1;
	q->last_avail++;
	return 1;
}

int virtq_push(struct virtq *q, const struct guest_mem *mem, u16 head,
	       u32 written, char why[VIRTQ_WHY_MAX])
{
	u8 *used = guest_mem_ptr(mem, q->used, used_bytes(q->size));
	u8 *elem;

	if (!q->size || !used)
		return fail(why, "used ring at 0x%lx not in RAM", q->used);
	elem = used + USED_RING + USED_ELEM * (q->used_idx & (q->size - 1));
	store32(elem, head);
	store32(elem + 4, written);
	/* The entry, and the buffers' contents, before the index (2.7.8). */
	compiler_barrier();
	q->used_idx++;
	store16(used + USED_IDX, q->used_idx);
	return 0;
}

bool virtq_should_notify(const struct virtq *q, const struct guest_mem *mem,
			 u16 old_used)
{
	u8 *avail = guest_mem_ptr(mem, q->avail, avail_bytes(q->size));
	u16 now = q->used_idx, used_event;

	if (now == old_used)
		return false;
	if (!q->size || !avail)
		return true; /* when in doubt, a spurious interrupt */
	/* Our used->idx store before the driver's flag or used_event. */
	full_barrier();
	if (!q->event_idx)
		return !(load16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	used_event = load16(avail + AVAIL_RING + 2 * q->size);
	return (u16)(now - used_event - 1) < (u16)(now - old_used);
}

/* Copy len bytes at byte `off` of the chain's readable (write false) or
 * writable buffers to dst, or from src. */
static u64 copy(const struct guest_mem *mem, const struct virtq_chain *c,
		bool write, u64 off, void *dst, const void *src, u64 len)
{
	u64 done = 0;

	for (u32 k = 0; k < c->count && k < VIRTQ_MAX_CHAIN && done < len;
	     k++) {
		const struct virtq_buf *b = &c->buf[k];
		u8 *g;
		u64 n;

		if (b->write != write)
			continue;
		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		g = guest_mem_ptr(mem, b->gpa, b->len);
		if (!g)
			break;
		n = MIN(b->len - off, len - done);
		if (write)
			memcpy(g + off, (const u8 *)src + done, n);
		else
			memcpy((u8 *)dst + done, g + off, n);
		done += n;
		off = 0;
	}
	return done;
}

u64 virtq_read(const struct guest_mem *mem, const struct virtq_chain *c,
	       u64 off, void *dst, u64 len)
{
	return copy(mem, c, false, off, dst, NULL, len);
}

u64 virtq_write(const struct guest_mem *mem, const struct virtq_chain *c,
		u64 off, const void *src, u64 len)
{
	return copy(mem, c, true, off, NULL, src, len);
}
