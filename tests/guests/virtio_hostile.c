/* SPDX-License-Identifier: MIT */
/*
 * virtio_hostile: a driver that breaks the rules of Veneer's virtio-blk
 * device on purpose (docs/devices.md, "virtio devices"; virtio 1.2).
 *
 * It finds the first virtio-blk function (1af4:1042) on bus 0 through
 * configuration mechanism #1, turns on memory decoding, takes BAR 4 and
 * the places of the common, notification, ISR and device configuration
 * structures from the vendor capabilities, and drives queue 0 itself with
 * rings in its own RAM, 16 entries (the device offers 128: the driver's
 * size must be the one the device checks against). Veneer serves a
 * request during the notification write, so the used ring is read right
 * after it, without waiting.
 *
 * Checks, one line each, `virtio_hostile: N NAME: ok` or
 * `virtio_hostile: N NAME: FAIL: WHY`:
 *   0 find-device         the function, its BAR where the firmware puts it
 *                         (0xC0000000 + slot * 0x8000), the capabilities,
 *                         the capacity, a queue of 128 entries offered
 *   1 good-read           sectors 0-1 read back the disk's bytes, status 0
 *   2 loop                chain 0 -> 1 -> 0
 *   3 past-ram            a buffer 4 KiB past the end of RAM
 *   4 wrap                a buffer at 2^64 - 512, 1 KiB long
 *   5 next-out-of-range   next = 16 in a queue of 16
 *   6 avail-idx-ahead     avail->idx 1000 ahead of the device
 *   7 head-out-of-range   head 16 in the available ring
 *   8 desc-outside-ram    queue_desc past RAM, then queue_enable = 1
 *   9 read-past-end       reads at and across the disk's end, a sector
 *                         number whose byte offset wraps, a length not a
 *                         whole sector: status IOERR, nothing written,
 *                         no reset; the last sector reads
 *   (10, rings changed by another vCPU meanwhile, is not done here)
 *   11 straddle-ram-end   a buffer across the end of RAM
 *   12 indirect-unnegotiated  an INDIRECT descriptor, feature not accepted
 *   13 readable-after-writable  a device-readable buffer after a writable
 *   14 queue-size-12      a queue size that is no power of two
 *   15 no-status-byte     a request without a writable byte: returned
 *                         with nothing written, no reset
 *   16 no-version-1       FEATURES_OK without VIRTIO_F_VERSION_1 is refused
 *   17 other-disk         a second disk (the next virtio-blk function),
 *                         never touched, is still fresh and reads
 *   18 lapic-bar          disk 0's BAR moved onto the local APIC page and
 *                         back: the local APIC answers all along, the
 *                         disk at its BAR afterwards
 *   19 disk-bar           disk 1's BAR moved onto disk 0's and back: both
 *                         disks answer at their BARs
 *   20 stuck-bar          disk 1's BAR moved onto disk 0's, then disk 0's
 *                         to a free place: both answer where their BARs
 *                         now are (disk 1's is decoded once disk 0's has
 *                         left), and again after both went back
 * Each of 2-8 and 11-14 must set DEVICE_NEEDS_RESET (0x40) with no used
 * entry and a configuration interrupt (ISR bit 1); the driver cannot
 * clear the bit by writing the status; a good request kicked then is not
 * served; a reset (status 0) reads back 0 with queue_enable 0, and after
 * a new setup a good read works. Every good read is also checked for the
 * queue interrupt (ISR bit 0) and the used length (data + status byte).
 * At the end `virtio_hostile: disk 00:SS.0: N good reads, M kicks` (what
 * Veneer's statistics line for the disk must say) and PASS or FAIL.
 *
 * The disks' bytes are made by the test: byte `off` of disk k (k = 0 for
 * the first function found, 1 for the second) is
 *   (off * 7 + (off >> 9) * 13 + (off >> 3) + k * 101) & 0xff
 * (tests/integration/test_virtio_hostile.py, disk_bytes()). Natively (no
 * Veneer) the checks are skipped: QEMU's device completes requests later.
 *
 * Command line: `veneer=1`.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define NAME "virtio_hostile"

/* PCI configuration mechanism #1 (PCI 3.0, 3.2.2.3.2). */
#define PCI_ADDRESS	   0xcf8
#define PCI_DATA	   0xcfc
#define PCI_SLOTS	   32
#define PCI_ID		   0x00
#define PCI_COMMAND	   0x04
#define PCI_STATUS	   0x06
#define PCI_BAR4	   0x20
#define PCI_BAR5	   0x24
#define PCI_CAP_PTR	   0x34
#define PCI_CMD_MEMORY	   0x2
#define PCI_STATUS_CAPS	   0x10
#define PCI_BAR_TYPE_MASK  0x6
#define PCI_BAR_TYPE_64	   0x4
#define PCI_CAP_VENDOR	   0x09
#define VIRTIO_VENDOR	   0x1af4
#define VIRTIO_BLK_DEVICE  0x1042
#define PCI_WINDOW_BASE	   0xc0000000U /* docs/devices.md, BAR 4 */
#define VIRTIO_BAR_SIZE	   0x8000U
#define MAP_CONSIDERED_TOP 0xc0000000ULL
#define LAPIC_BASE	   0xfee00000U
#define LAPIC_VERSION	   0x30

/* Virtio capabilities (4.1.4): cfg_type at +3, bar +4, offset +8, length
 * +12; the notification one has its multiplier at +16. */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR	   3
#define CAP_DEVICE 4

/* Common configuration (4.1.4.3). */
#define CC_DFSELECT	0
#define CC_DFEATURE	4
#define CC_GFSELECT	8
#define CC_GFEATURE	12
#define CC_NUM_QUEUES	18
#define CC_STATUS	20
#define CC_QSEL		22
#define CC_QSIZE	24
#define CC_QENABLE	28
#define CC_QNOTIFY_OFF	30
#define CC_QDESC	32
#define CC_QDRIVER	40
#define CC_QDEVICE	48
#define ST_ACK		0x01
#define ST_DRIVER	0x02
#define ST_DRIVER_OK	0x04
#define ST_FEATURES_OK	0x08
#define ST_NEEDS_RESET	0x40
#define ST_RUNNING	(ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK)
#define ISR_QUEUE	0x1
#define ISR_CONFIG	0x2
#define DEVICE_QUEUE	128 /* docs/devices.md: one queue of 128 */
#define BLK_CFG_SECTORS 0   /* capacity, le64 (5.2.4) */

/* Split virtqueue (2.7). */
#define QSIZE	     16
#define DESC_F_NEXT  1
#define DESC_F_WRITE 2
#define DESC_F_IND   4

/* Block requests (5.2.6). */
#define SECTOR	     512
#define REQ_IN	     0
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define DATA_BYTES   (2 * SECTOR)
#define UNTOUCHED    0xee /* data bytes before a request */
#define NO_STATUS    0xff /* the status byte before a request */
#define SPARE_HEAD   8	  /* the descriptors of the "kick ignored" request */
#define WRAP_ADDRESS 0xfffffffffffffe00ULL

struct vdesc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct rings {
	struct vdesc desc[QSIZE];
	struct {
		u16 flags, idx, ring[QSIZE], used_event;
	} avail __aligned(4);
	struct {
		u16 flags, idx;
		struct {
			u32 id, len;
		} ring[QSIZE];
		u16 avail_event;
	} used __aligned(4);
} __aligned(4096);

struct blk_header {
	u32 type, reserved;
	u64 sector;
};

/* One request's buffers: header, data, status byte. */
struct request {
	struct blk_header hdr __aligned(16);
	u8 data[DATA_BYTES];
	u8 status;
};

struct vdev {
	u8 slot;
	u32 salt; /* which disk: its bytes (disk_byte) */
	uintptr_t bar, common, isr, device, notify;
	u32 notify_mult;
	uintptr_t kick_at;
	u64 sectors;
	struct rings *r;
	u16 avail_idx; /* the driver's next avail->idx */
	u16 used_idx;  /* used->idx the driver has seen */
	u32 kicks, good_reads;
};

static struct rings rings[2];
static struct request req, spare;
static struct vdesc indirect_table[3] __aligned(16);
static struct vdev disks[2];
static unsigned disk_count;
static u64 ram_top; /* the end of the guest's RAM */

/* The check being run, for its FAIL line. */
static unsigned cur_num;
static const char *cur_name;
static bool cur_failed;

static __printf(1, 2) bool fail(const char *fmt, ...)
{
	va_list ap;

	if (cur_failed)
		return false;
	cur_failed = true;
	guest_failures++;
	guest_printf("%s: %u %s: FAIL: ", NAME, cur_num, cur_name);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
	return false;
}

static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ---- PCI configuration space ---- */

static u32 cfg_address(u8 slot, u8 off)
{
	return 0x80000000U | (u32)slot << 11 | (off & 0xfcU);
}

static u32 cfg_read32(u8 slot, u8 off)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	return inl(PCI_DATA);
}

static u16 cfg_read16(u8 slot, u8 off)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	return inw((u16)(PCI_DATA + (off & 2)));
}

static u8 cfg_read8(u8 slot, u8 off)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	return inb((u16)(PCI_DATA + (off & 3)));
}

static void cfg_write16(u8 slot, u8 off, u16 v)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	outw((u16)(PCI_DATA + (off & 2)), v);
}

static void cfg_write32(u8 slot, u8 off, u32 v)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	outl(PCI_DATA, v);
}

/* ---- MMIO: plain MOVs, what Veneer's decoder takes (docs/decode.md) ---- */

static u8 mmio_read8(uintptr_t a)
{
	u8 v;
	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory");
	return v;
}

static u16 mmio_read16(uintptr_t a)
{
	u16 v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static u32 mmio_read32(uintptr_t a)
{
	u32 v;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static void mmio_write8(uintptr_t a, u8 v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(a) : "memory");
}

static void mmio_write16(uintptr_t a, u16 v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static void mmio_write32(uintptr_t a, u32 v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static u8 status_of(const struct vdev *d)
{
	return mmio_read8(d->common + CC_STATUS);
}

static void set_status(const struct vdev *d, u8 v)
{
	mmio_write8(d->common + CC_STATUS, v);
}

static u8 isr_of(const struct vdev *d)
{
	return mmio_read8(d->isr); /* reading clears it */
}

static void write64(uintptr_t a, u64 v)
{
	mmio_write32(a, (u32)v);
	mmio_write32(a + 4, (u32)(v >> 32));
}

/* ---- the disk's bytes ---- */

static u8 disk_byte(u32 salt, u32 off)
{
	return (u8)(off * 7 + (off >> 9) * 13 + (off >> 3) + salt * 101);
}

/* ---- finding the devices ---- */

static bool find_caps(struct vdev *d)
{
	u8 at, seen = 0;
	unsigned guard = 0;

	if (!(cfg_read16(d->slot, PCI_STATUS) & PCI_STATUS_CAPS))
		return fail("status register has no capability list");
	for (at = cfg_read8(d->slot, PCI_CAP_PTR) & 0xfc; at && guard < 48;
	     at = cfg_read8(d->slot, (u8)(at + 1)) & 0xfc, guard++) {
		u8 type;
		uintptr_t place;

		if (cfg_read8(d->slot, at) != PCI_CAP_VENDOR)
			continue;
		type = cfg_read8(d->slot, (u8)(at + 3));
		if (cfg_read8(d->slot, (u8)(at + 4)) != 4)
			return fail("capability at 0x%x (type %u) names BAR "
				    "%u, not 4",
				    at, type, cfg_read8(d->slot, (u8)(at + 4)));
		place = d->bar + cfg_read32(d->slot, (u8)(at + 8));
		switch (type) {
		case CAP_COMMON:
			d->common = place;
			break;
		case CAP_NOTIFY:
			d->notify = place;
			d->notify_mult = cfg_read32(d->slot, (u8)(at + 16));
			break;
		case CAP_ISR:
			d->isr = place;
			break;
		case CAP_DEVICE:
			d->device = place;
			break;
		default:
			continue;
		}
		seen |= (u8)(1u << type);
	}
	if (seen != 0x1e)
		return fail("virtio capabilities found: mask 0x%x, want 0x1e",
			    seen);
	guest_printf("%s: 00:%02x.0: BAR 4 at 0x%x: common +0x%x, notify "
		     "+0x%x (x%u), ISR +0x%x, device +0x%x\n",
		     NAME, d->slot, (u32)d->bar, (u32)(d->common - d->bar),
		     (u32)(d->notify - d->bar), d->notify_mult,
		     (u32)(d->isr - d->bar), (u32)(d->device - d->bar));
	return true;
}

static bool probe(struct vdev *d)
{
	u32 low = cfg_read32(d->slot, PCI_BAR4);
	u32 high = cfg_read32(d->slot, PCI_BAR5);
	u32 want = PCI_WINDOW_BASE + d->slot * VIRTIO_BAR_SIZE;
	u16 qmax;

	if ((low & PCI_BAR_TYPE_MASK) != PCI_BAR_TYPE_64 || (low & 1))
		return fail("BAR 4 is 0x%x: not a 64-bit memory BAR", low);
	if (high || (low & ~0xfU) != want)
		return fail("BAR 4 at 0x%x%08x, not 0x%x", high, low & ~0xfU,
			    want);
	d->bar = low & ~0xfU;
	cfg_write16(d->slot, PCI_COMMAND,
		    (u16)(cfg_read16(d->slot, PCI_COMMAND) | PCI_CMD_MEMORY));
	if (!(cfg_read16(d->slot, PCI_COMMAND) & PCI_CMD_MEMORY))
		return fail("the command register's memory bit does not stick");
	if (!find_caps(d))
		return false;
	if (d->notify_mult != 4)
		return fail("notify_off_multiplier %u, not 4", d->notify_mult);
	d->sectors = mmio_read32(d->device + BLK_CFG_SECTORS) |
		     (u64)mmio_read32(d->device + BLK_CFG_SECTORS + 4) << 32;
	if (d->sectors < 4 || d->sectors > 0x100000)
		return fail("capacity %llu sectors: the test's disks have "
			    "4 to 2^20",
			    (unsigned long long)d->sectors);
	if (mmio_read16(d->common + CC_NUM_QUEUES) != 1)
		return fail("num_queues %u, not 1",
			    mmio_read16(d->common + CC_NUM_QUEUES));
	if (status_of(d) != 0)
		return fail("device_status 0x%x before any driver, not 0",
			    status_of(d));
	mmio_write16(d->common + CC_QSEL, 0);
	qmax = mmio_read16(d->common + CC_QSIZE);
	if (qmax != DEVICE_QUEUE)
		return fail("queue 0 offers %u entries, not %u", qmax,
			    DEVICE_QUEUE);
	guest_printf("%s: 00:%02x.0: %llu sectors, queue 0 of %u entries "
		     "(using %u)\n",
		     NAME, d->slot, (unsigned long long)d->sectors, qmax,
		     QSIZE);
	return true;
}

static bool find_devices(void)
{
	for (u8 slot = 0; slot < PCI_SLOTS && disk_count < 2; slot++) {
		u32 id = cfg_read32(slot, PCI_ID);

		if (id != (VIRTIO_VENDOR | (u32)VIRTIO_BLK_DEVICE << 16))
			continue;
		disks[disk_count].slot = slot;
		disks[disk_count].salt = disk_count;
		disks[disk_count].r = &rings[disk_count];
		disk_count++;
	}
	if (!disk_count)
		return fail("no 1af4:1042 function on bus 0");
	guest_printf("%s: %u virtio-blk function%s, the first at 00:%02x.0\n",
		     NAME, disk_count, disk_count == 1 ? "" : "s",
		     disks[0].slot);
	for (unsigned i = 0; i < disk_count; i++)
		if (!probe(&disks[i]))
			return false;
	return true;
}

/* ---- the driver ---- */

/* Reset (status 0) and forget the rings: the device forgets its indexes. */
static bool reset(struct vdev *d)
{
	set_status(d, 0);
	if (status_of(d) != 0)
		return fail("device_status 0x%x after a reset, not 0",
			    status_of(d));
	mmio_write16(d->common + CC_QSEL, 0);
	if (mmio_read16(d->common + CC_QENABLE) != 0)
		return fail("queue_enable %u after a reset, not 0",
			    mmio_read16(d->common + CC_QENABLE));
	memset(d->r, 0, sizeof(*d->r));
	d->avail_idx = d->used_idx = 0;
	return true;
}

/* Reset, ACKNOWLEDGE, DRIVER, accept VERSION_1 only, FEATURES_OK. */
static bool negotiate(struct vdev *d)
{
	if (!reset(d))
		return false;
	set_status(d, ST_ACK);
	set_status(d, ST_ACK | ST_DRIVER);
	mmio_write32(d->common + CC_DFSELECT, 1);
	if (!(mmio_read32(d->common + CC_DFEATURE) & 1))
		return fail("VIRTIO_F_VERSION_1 not offered");
	mmio_write32(d->common + CC_GFSELECT, 0);
	mmio_write32(d->common + CC_GFEATURE, 0);
	mmio_write32(d->common + CC_GFSELECT, 1);
	mmio_write32(d->common + CC_GFEATURE, 1);
	set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (status_of(d) != (ST_ACK | ST_DRIVER | ST_FEATURES_OK))
		return fail("device_status 0x%x after FEATURES_OK, not 0xb",
			    status_of(d));
	return true;
}

/* Queue 0's size and ring addresses (queue_enable not yet written). */
static void queue_config(struct vdev *d, u16 size, u64 desc)
{
	mmio_write16(d->common + CC_QSEL, 0);
	mmio_write16(d->common + CC_QSIZE, size);
	write64(d->common + CC_QDESC, desc);
	write64(d->common + CC_QDRIVER, (uintptr_t)&d->r->avail);
	write64(d->common + CC_QDEVICE, (uintptr_t)&d->r->used);
}

/* The whole setup of 3.1.1: ends DRIVER_OK with queue 0 enabled. */
static bool setup(struct vdev *d)
{
	if (!negotiate(d))
		return false;
	queue_config(d, QSIZE, (uintptr_t)d->r->desc);
	mmio_write16(d->common + CC_QENABLE, 1);
	if (mmio_read16(d->common + CC_QENABLE) != 1)
		return fail("queue_enable reads %u after enabling good rings",
			    mmio_read16(d->common + CC_QENABLE));
	d->kick_at =
	    d->notify +
	    (uintptr_t)mmio_read16(d->common + CC_QNOTIFY_OFF) * d->notify_mult;
	set_status(d, ST_RUNNING);
	if (status_of(d) != ST_RUNNING)
		return fail("device_status 0x%x after DRIVER_OK, not 0xf",
			    status_of(d));
	return true;
}

static void set_desc(struct vdev *d, u16 i, u64 addr, u32 len, u16 flags,
		     u16 next)
{
	volatile struct vdesc *v = &d->r->desc[i];

	v->addr = addr;
	v->len = len;
	v->flags = flags;
	v->next = next;
}

/* Make chain `head` available (2.7.13): the ring entry, then the index. */
static void publish(struct vdev *d, u16 head, u16 idx_step)
{
	volatile u16 *ring = d->r->avail.ring;

	ring[d->avail_idx & (QSIZE - 1)] = head;
	barrier();
	d->avail_idx = (u16)(d->avail_idx + idx_step);
	*(volatile u16 *)&d->r->avail.idx = d->avail_idx;
	barrier();
}

static void kick(struct vdev *d)
{
	d->kicks++;
	mmio_write16(d->kick_at, 0);
}

static u16 used_idx_now(const struct vdev *d)
{
	return *(volatile const u16 *)&d->r->used.idx;
}

/* An IN request's buffers in descriptors head, head + 1, head + 2. */
static void build_read(struct vdev *d, struct request *q, u16 head, u64 sector,
		       u32 bytes)
{
	q->hdr.type = REQ_IN;
	q->hdr.reserved = 0;
	q->hdr.sector = sector;
	memset(q->data, UNTOUCHED, sizeof(q->data));
	q->status = NO_STATUS;
	set_desc(d, head, (uintptr_t)&q->hdr, sizeof(q->hdr), DESC_F_NEXT,
		 (u16)(head + 1));
	set_desc(d, (u16)(head + 1), (uintptr_t)q->data, bytes,
		 DESC_F_WRITE | DESC_F_NEXT, (u16)(head + 2));
	set_desc(d, (u16)(head + 2), (uintptr_t)&q->status, 1, DESC_F_WRITE, 0);
}

/*
 * Submit chain `head` and kick: the device must have returned it at once
 * (one used entry, id head) and raised the queue interrupt; *len is the
 * used length. False (and a FAIL) otherwise.
 */
static bool submit(struct vdev *d, u16 head, u32 *len)
{
	u16 slot = d->used_idx & (QSIZE - 1);
	u8 isr;

	publish(d, head, 1);
	kick(d);
	if (used_idx_now(d) != (u16)(d->used_idx + 1))
		return fail("used idx %u after the kick, not %u (device_status "
			    "0x%x)",
			    used_idx_now(d), (u16)(d->used_idx + 1),
			    status_of(d));
	d->used_idx++;
	if (d->r->used.ring[slot].id != head)
		return fail("used entry id %u, not %u",
			    d->r->used.ring[slot].id, head);
	*len = d->r->used.ring[slot].len;
	if (status_of(d) != ST_RUNNING)
		return fail("device_status 0x%x after a request, not 0xf",
			    status_of(d));
	isr = isr_of(d);
	if (isr != ISR_QUEUE)
		return fail("ISR 0x%x after a used entry, not 0x1", isr);
	return true;
}

/* A read of `bytes` at `sector` that must succeed with the disk's bytes. */
static bool good_read(struct vdev *d, u64 sector, u32 bytes)
{
	u32 len;

	build_read(d, &req, 0, sector, bytes);
	if (!submit(d, 0, &len))
		return false;
	if (req.status != BLK_S_OK)
		return fail("status %u reading sector %llu, not 0 (OK)",
			    req.status, (unsigned long long)sector);
	if (len != bytes + 1)
		return fail("used len %u, not %u", len, bytes + 1);
	for (u32 i = 0; i < bytes; i++) {
		u32 off = (u32)sector * SECTOR + i;

		if (req.data[i] != disk_byte(d->salt, off))
			return fail("disk byte 0x%x read as 0x%02x, not 0x%02x",
				    off, req.data[i], disk_byte(d->salt, off));
	}
	d->good_reads++;
	return true;
}

/* A read that must fail with IOERR: only the status byte written. */
static bool ioerr_read(struct vdev *d, u64 sector, u32 bytes)
{
	u32 len;

	build_read(d, &req, 0, sector, bytes);
	if (!submit(d, 0, &len))
		return false;
	if (req.status != BLK_S_IOERR)
		return fail("status %u for %u bytes at sector 0x%llx, not 1 "
			    "(IOERR)",
			    req.status, bytes, (unsigned long long)sector);
	if (len != 1)
		return fail("used len %u for a failed read, not 1", len);
	for (u32 i = 0; i < sizeof(req.data); i++)
		if (req.data[i] != UNTOUCHED)
			return fail("a failed read wrote data byte %u", i);
	return true;
}

/* Reset and set up again, then a good read: the device recovered. */
static bool recover(struct vdev *d)
{
	return setup(d) && good_read(d, 0, SECTOR);
}

/*
 * After a hostile ring: DEVICE_NEEDS_RESET, nothing used, a configuration
 * interrupt; the driver cannot clear the bit; a good request kicked now is
 * not served; then the device recovers.
 */
static bool expect_broken(struct vdev *d)
{
	u8 st = status_of(d), isr;

	if (!(st & ST_NEEDS_RESET))
		return fail("device_status 0x%x: no NEEDS_RESET (0x40)", st);
	if (used_idx_now(d) != d->used_idx)
		return fail("used idx moved to %u", used_idx_now(d));
	isr = isr_of(d);
	if (isr != ISR_CONFIG)
		return fail("ISR 0x%x, not 0x2 (configuration change)", isr);
	set_status(d, ST_RUNNING);
	if (!(status_of(d) & ST_NEEDS_RESET))
		return fail("writing status 0xf cleared NEEDS_RESET");
	build_read(d, &spare, SPARE_HEAD, 0, SECTOR);
	publish(d, SPARE_HEAD, 1);
	kick(d);
	kick(d);
	if (used_idx_now(d) != d->used_idx || spare.status != NO_STATUS ||
	    spare.data[0] != UNTOUCHED)
		return fail("a kick after NEEDS_RESET was served (used idx %u, "
			    "status 0x%x)",
			    used_idx_now(d), spare.status);
	return recover(d);
}

/* The usual three-descriptor read with buffer 1 replaced. */
static bool hostile_data_buffer(struct vdev *d, u64 addr, u32 len)
{
	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	set_desc(d, 1, addr, len, DESC_F_WRITE | DESC_F_NEXT, 2);
	publish(d, 0, 1);
	kick(d);
	return expect_broken(d);
}

/* ---- the checks ---- */

static bool check_good_read(void)
{
	struct vdev *d = &disks[0];

	return setup(d) && good_read(d, 0, 2 * SECTOR) &&
	       good_read(d, 1, SECTOR);
}

static bool check_loop(void)
{
	struct vdev *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	set_desc(d, 0, (uintptr_t)&req.hdr, sizeof(req.hdr), DESC_F_NEXT, 1);
	set_desc(d, 1, (uintptr_t)req.data, SECTOR, DESC_F_NEXT, 0);
	publish(d, 0, 1);
	kick(d);
	return expect_broken(d);
}

static bool check_past_ram(void)
{
	return hostile_data_buffer(&disks[0], ram_top + PAGE_SIZE, SECTOR);
}

static bool check_wrap(void)
{
	return hostile_data_buffer(&disks[0], WRAP_ADDRESS, 2 * SECTOR);
}

static bool check_next_out_of_range(void)
{
	struct vdev *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	set_desc(d, 0, (uintptr_t)&req.hdr, sizeof(req.hdr), DESC_F_NEXT,
		 QSIZE);
	publish(d, 0, 1);
	kick(d);
	return expect_broken(d);
}

static bool check_avail_idx_ahead(void)
{
	struct vdev *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	publish(d, 0, 1000);
	kick(d);
	return expect_broken(d);
}

static bool check_head_out_of_range(void)
{
	struct vdev *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	publish(d, QSIZE, 1);
	kick(d);
	return expect_broken(d);
}

/* Rings the device refuses at queue_enable: it reads 0, NEEDS_RESET. */
static bool bad_queue(struct vdev *d, u16 size, u64 desc)
{
	u16 enabled;

	if (!negotiate(d))
		return false;
	queue_config(d, size, desc);
	mmio_write16(d->common + CC_QENABLE, 1);
	enabled = mmio_read16(d->common + CC_QENABLE);
	if (enabled != 0)
		return fail("queue_enable reads %u after bad rings, not 0",
			    enabled);
	set_status(d, ST_RUNNING);
	d->kick_at = d->notify; /* queue 0's place: the kick must do nothing */
	return expect_broken(d);
}

static bool check_desc_outside_ram(void)
{
	return bad_queue(&disks[0], QSIZE, ram_top + PAGE_SIZE);
}

static bool check_read_past_end(void)
{
	struct vdev *d = &disks[0];
	u64 n = d->sectors;

	return setup(d) && ioerr_read(d, n, SECTOR) &&
	       ioerr_read(d, n - 1, 2 * SECTOR) &&
	       ioerr_read(d, 1ULL << 55, SECTOR) &&
	       ioerr_read(d, ~0ULL, SECTOR) && ioerr_read(d, 0, 100) &&
	       good_read(d, n - 1, SECTOR) && good_read(d, n - 2, 2 * SECTOR);
}

static bool check_straddle_ram_end(void)
{
	return hostile_data_buffer(&disks[0], ram_top - SECTOR / 2, SECTOR);
}

static bool check_indirect_unnegotiated(void)
{
	struct vdev *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	/* A well-formed table of the same three buffers. */
	for (u16 i = 0; i < 3; i++) {
		indirect_table[i] = d->r->desc[i];
		indirect_table[i].next = (u16)(i + 1);
	}
	set_desc(d, 0, (uintptr_t)indirect_table, sizeof(indirect_table),
		 DESC_F_IND, 0);
	publish(d, 0, 1);
	kick(d);
	return expect_broken(d);
}

static bool check_readable_after_writable(void)
{
	struct vdev *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	set_desc(d, 1, (uintptr_t)&req.status, 1, DESC_F_WRITE | DESC_F_NEXT,
		 2);
	set_desc(d, 2, (uintptr_t)req.data, SECTOR, 0, 0);
	publish(d, 0, 1);
	kick(d);
	return expect_broken(d);
}

static bool check_queue_size_12(void)
{
	return bad_queue(&disks[0], 12, (uintptr_t)disks[0].r->desc);
}

static bool check_no_status_byte(void)
{
	struct vdev *d = &disks[0];
	u32 len;

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	set_desc(d, 0, (uintptr_t)&req.hdr, sizeof(req.hdr), 0, 0);
	if (!submit(d, 0, &len))
		return false;
	if (len != 0)
		return fail("used len %u for a request without a status byte, "
			    "not 0",
			    len);
	if (req.hdr.type != REQ_IN || req.status != NO_STATUS)
		return fail("the device wrote into a request it cannot serve");
	return good_read(d, 0, SECTOR);
}

static bool check_no_version_1(void)
{
	struct vdev *d = &disks[0];
	u8 st;

	if (!reset(d))
		return false;
	set_status(d, ST_ACK);
	set_status(d, ST_ACK | ST_DRIVER);
	for (u32 sel = 0; sel < 2; sel++) {
		mmio_write32(d->common + CC_GFSELECT, sel);
		mmio_write32(d->common + CC_GFEATURE, 0);
	}
	set_status(d, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	st = status_of(d);
	if (st & ST_FEATURES_OK)
		return fail("FEATURES_OK kept without VERSION_1 (status 0x%x)",
			    st);
	return recover(d);
}

static bool check_other_disk(void)
{
	struct vdev *d = &disks[1];

	if (disk_count < 2)
		return fail("no second virtio-blk function");
	if (status_of(d) != 0)
		return fail("device_status 0x%x before its driver, not 0",
			    status_of(d));
	return setup(d) && good_read(d, 0, 2 * SECTOR) &&
	       good_read(d, d->sectors - 1, SECTOR);
}

static void run(unsigned num, const char *name, bool (*check)(void))
{
	bool ok;

	cur_num = num;
	cur_name = name;
	cur_failed = false;
	ok = check();
	if (ok && !cur_failed)
		guest_printf("%s: %u %s: ok\n", NAME, num, name);
	else if (!cur_failed)
		fail("returned false without a reason");
}

static bool check_find_device(void)
{
	return find_devices();
}

/* The end of RAM: the highest end of any map entry below the PCI window,
 * rounded up to a MiB (what outside.c does). */
static bool find_ram_top(const struct multiboot_info *mbi)
{
	static struct guest_mmap map;

	if (!guest_mmap_read(mbi, &map))
		return false;
	for (unsigned i = 0; i < map.count; i++) {
		u64 end = map.entry[i].base + map.entry[i].length;

		if (end <= MAP_CONSIDERED_TOP && end > ram_top)
			ram_top = end;
	}
	ram_top = ALIGN_UP(ram_top, (u64)MiB);
	guest_printf("%s: RAM ends at 0x%llx\n", NAME,
		     (unsigned long long)ram_top);
	return ram_top > (uintptr_t)_guest_image_end;
}

/* ---- BAR moves: a BAR on other registers is not decoded there ---- */

/* Move BAR 4 of d (its low dword; the high one stays 0). */
static void move_bar(const struct vdev *d, u32 base)
{
	cfg_write32(d->slot, PCI_BAR4, base | PCI_BAR_TYPE_64);
}

/* The disk answers at its BAR again: a full setup and a good read. */
static bool disk_answers(struct vdev *d)
{
	return setup(d) && good_read(d, 0, SECTOR);
}

/*
 * lapic-bar: disk 0's BAR moved onto the local APIC page (not decoded
 * there, docs/devices.md) and back; the local APIC must still answer at
 * 0xFEE00000, the disk at its BAR.
 */
static bool check_lapic_bar(void)
{
	struct vdev *d = &disks[0];
	u32 version;

	move_bar(d, LAPIC_BASE);
	version = mmio_read32(LAPIC_BASE + LAPIC_VERSION);
	if (!(version & 0xff))
		return fail("local APIC version 0x%x with the BAR on it",
			    version);
	move_bar(d, (u32)d->bar);
	guest_printf("%s: lapic-bar: reading the local APIC at 0x%x\n", NAME,
		     LAPIC_BASE + LAPIC_VERSION);
	version = mmio_read32(LAPIC_BASE + LAPIC_VERSION);
	if (!(version & 0xff))
		return fail("local APIC version 0x%x after the BAR left",
			    version);
	return disk_answers(d);
}

/*
 * disk-bar: disk 1's BAR moved onto disk 0's (not decoded there) and
 * back; disk 0 must still answer at its BAR.
 */
static bool check_disk_bar(void)
{
	if (disk_count < 2)
		return fail("no second virtio-blk function");
	move_bar(&disks[1], (u32)disks[0].bar);
	move_bar(&disks[1], (u32)disks[1].bar);
	guest_printf("%s: disk-bar: using 00:%02x.0 at 0x%x\n", NAME,
		     disks[0].slot, (u32)disks[0].bar);
	return disk_answers(&disks[0]) && disk_answers(&disks[1]);
}

/*
 * stuck-bar: disk 1's BAR moved onto disk 0's (not decoded there), then
 * disk 0's BAR moved to a free place: nothing is under disk 1's BAR any
 * more, so both must answer where their BARs are; then both go back.
 */
static bool check_stuck_bar(void)
{
	u32 free_place = PCI_WINDOW_BASE + 8 * VIRTIO_BAR_SIZE;
	uintptr_t bar0 = disks[0].bar, bar1 = disks[1].bar;
	bool ok;

	if (disk_count < 2)
		return fail("no second virtio-blk function");
	move_bar(&disks[1], (u32)bar0);
	move_bar(&disks[0], free_place);
	guest_printf("%s: stuck-bar: 00:%02x.0 at 0x%x, 00:%02x.0 at "
		     "0x%x\n",
		     NAME, disks[0].slot, free_place, disks[1].slot, (u32)bar0);
	disks[0].bar = free_place;
	disks[1].bar = bar0;
	ok = find_caps(&disks[0]) && find_caps(&disks[1]) &&
	     disk_answers(&disks[0]) && disk_answers(&disks[1]);
	move_bar(&disks[0], (u32)bar0);
	move_bar(&disks[1], (u32)bar1);
	disks[0].bar = bar0;
	disks[1].bar = bar1;
	return ok && find_caps(&disks[0]) && find_caps(&disks[1]) &&
	       disk_answers(&disks[0]) && disk_answers(&disks[1]);
}

void guest_main(const struct multiboot_info *mbi)
{
	if (!under_veneer()) {
		guest_skip(NAME ": Veneer's virtio-blk (natively QEMU's "
				"device completes requests later)");
		return;
	}
	if (!find_ram_top(mbi)) {
		guest_fail(NAME ": no end of RAM in the memory map");
		return;
	}
	run(0, "find-device", check_find_device);
	if (cur_failed)
		return;
	run(1, "good-read", check_good_read);
	run(2, "loop", check_loop);
	run(3, "past-ram", check_past_ram);
	run(4, "wrap", check_wrap);
	run(5, "next-out-of-range", check_next_out_of_range);
	run(6, "avail-idx-ahead", check_avail_idx_ahead);
	run(7, "head-out-of-range", check_head_out_of_range);
	run(8, "desc-outside-ram", check_desc_outside_ram);
	run(9, "read-past-end", check_read_past_end);
	run(11, "straddle-ram-end", check_straddle_ram_end);
	run(12, "indirect-unnegotiated", check_indirect_unnegotiated);
	run(13, "readable-after-writable", check_readable_after_writable);
	run(14, "queue-size-12", check_queue_size_12);
	run(15, "no-status-byte", check_no_status_byte);
	run(16, "no-version-1", check_no_version_1);
	run(17, "other-disk", check_other_disk);
	run(18, "lapic-bar", check_lapic_bar);
	run(19, "disk-bar", check_disk_bar);
	run(20, "stuck-bar", check_stuck_bar);
	for (unsigned i = 0; i < disk_count; i++)
		guest_printf("%s: disk 00:%02x.0: %u good reads, %u kicks\n",
			     NAME, disks[i].slot, disks[i].good_reads,
			     disks[i].kicks);
}
