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
#include "tests/guests/lib/virtio.h"

#define NAME "virtio_hostile"

#define PCI_WINDOW_BASE	   0xc0000000U /* docs/devices.md, BAR 4 */
#define VIRTIO_BAR_SIZE	   0x8000U
#define MAP_CONSIDERED_TOP 0xc0000000ULL
#define LAPIC_BASE	   0xfee00000U
#define LAPIC_VERSION	   0x30

#define DEVICE_QUEUE	128 /* docs/devices.md: one queue of 128 */
#define BLK_CFG_SECTORS 0   /* capacity, le64 (5.2.4) */

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

/* One disk: the function, its queue 0 and what the test knows of it. */
struct disk {
	struct virtio_dev pci;
	struct virtq vq;
	u32 salt; /* which disk: its bytes (disk_byte) */
	u64 sectors;
	u32 good_reads;
};

static struct virtq_rings rings[2];
static struct request req, spare;
static struct virtq_desc indirect_table[3] __aligned(16);
static struct disk disks[2];
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

/* ---- the disk's bytes ---- */

static u8 disk_byte(u32 salt, u32 off)
{
	return (u8)(off * 7 + (off >> 9) * 13 + (off >> 3) + salt * 101);
}

/* ---- finding the devices ---- */

/* The structures in d's BAR, where it is now, and where they are. */
static bool find_caps(struct disk *d)
{
	const struct virtio_dev *p = &d->pci;

	if (!virtio_find_caps(&d->pci))
		return false;
	guest_printf("%s: 00:%02x.0: BAR 4 at 0x%x: common +0x%x, notify "
		     "+0x%x (x%u), ISR +0x%x, device +0x%x\n",
		     NAME, p->slot, (u32)p->bar, (u32)(p->common - p->bar),
		     (u32)(p->notify - p->bar), p->notify_mult,
		     (u32)(p->isr - p->bar), (u32)(p->device - p->bar));
	return true;
}

static bool probe(struct disk *d)
{
	struct virtio_dev *p = &d->pci;
	u32 want = PCI_WINDOW_BASE + p->slot * VIRTIO_BAR_SIZE;
	u16 qmax;

	if (!virtio_pci_bar(p))
		return false;
	if (p->bar != want)
		return fail("BAR 4 at 0x%x, not 0x%x", (u32)p->bar, want);
	if (!virtio_pci_enable(p, PCI_CMD_MEMORY) || !find_caps(d))
		return false;
	if (p->notify_mult != 4)
		return fail("notify_off_multiplier %u, not 4", p->notify_mult);
	d->sectors = mmio_read32(p->device + BLK_CFG_SECTORS) |
		     (u64)mmio_read32(p->device + BLK_CFG_SECTORS + 4) << 32;
	if (d->sectors < 4 || d->sectors > 0x100000)
		return fail("capacity %llu sectors: the test's disks have "
			    "4 to 2^20",
			    (unsigned long long)d->sectors);
	if (mmio_read16(p->common + VIRTIO_CC_NUM_QUEUES) != 1)
		return fail("num_queues %u, not 1",
			    mmio_read16(p->common + VIRTIO_CC_NUM_QUEUES));
	if (virtio_status(p) != 0)
		return fail("device_status 0x%x before any driver, not 0",
			    virtio_status(p));
	qmax = virtio_queue_max(p, 0);
	if (qmax != DEVICE_QUEUE)
		return fail("queue 0 offers %u entries, not %u", qmax,
			    DEVICE_QUEUE);
	guest_printf("%s: 00:%02x.0: %llu sectors, queue 0 of %u entries "
		     "(using %u)\n",
		     NAME, p->slot, (unsigned long long)d->sectors, qmax,
		     VIRTQ_SIZE);
	return true;
}

static bool find_devices(void)
{
	for (u8 slot = virtio_pci_find(VIRTIO_BLK_DEVICE, 0);
	     slot < PCI_SLOTS && disk_count < 2;
	     slot = virtio_pci_find(VIRTIO_BLK_DEVICE, (u8)(slot + 1))) {
		struct disk *d = &disks[disk_count];

		d->pci.slot = slot;
		d->pci.fail = fail;
		d->salt = disk_count;
		virtq_init(&d->vq, &rings[disk_count], 0);
		disk_count++;
	}
	if (!disk_count)
		return fail("no 1af4:1042 function on bus 0");
	guest_printf("%s: %u virtio-blk function%s, the first at 00:%02x.0\n",
		     NAME, disk_count, disk_count == 1 ? "" : "s",
		     disks[0].pci.slot);
	for (unsigned i = 0; i < disk_count; i++)
		if (!probe(&disks[i]))
			return false;
	return true;
}

/* ---- the driver ---- */

/* Reset (status 0) and forget the rings: the device forgets its indexes. */
static bool reset(struct disk *d)
{
	u16 enabled;

	if (!virtio_reset(&d->pci))
		return false;
	mmio_write16(d->pci.common + VIRTIO_CC_QSEL, 0);
	enabled = mmio_read16(d->pci.common + VIRTIO_CC_QENABLE);
	if (enabled != 0)
		return fail("queue_enable %u after a reset, not 0", enabled);
	virtq_init(&d->vq, d->vq.r, 0);
	return true;
}

/* Reset, ACKNOWLEDGE, DRIVER, accept VERSION_1 only, FEATURES_OK. */
static bool negotiate(struct disk *d)
{
	return reset(d) && virtio_negotiate(&d->pci, VIRTIO_F_VERSION_1);
}

/* Queue 0's size and ring addresses (queue_enable not yet written). */
static void queue_config(struct disk *d, u16 size, u64 desc)
{
	virtio_queue_config(&d->pci, 0, size, desc, (uintptr_t)&d->vq.r->avail,
			    (uintptr_t)&d->vq.r->used);
}

/* The whole setup of 3.1.1: ends DRIVER_OK with queue 0 enabled. */
static bool setup(struct disk *d)
{
	if (!negotiate(d))
		return false;
	queue_config(d, VIRTQ_SIZE, (uintptr_t)d->vq.r->desc);
	return virtio_queue_enable(&d->pci, &d->vq) &&
	       virtio_driver_ok(&d->pci);
}

/* Make chain `head` available and kick, `step` added to avail->idx. */
static void publish_kick(struct disk *d, u16 head, u16 step)
{
	virtq_publish(&d->vq, head, step);
	virtq_kick(&d->vq);
}

/* An IN request's buffers in descriptors head, head + 1, head + 2. */
static void build_read(struct disk *d, struct request *q, u16 head, u64 sector,
		       u32 bytes)
{
	q->hdr.type = REQ_IN;
	q->hdr.reserved = 0;
	q->hdr.sector = sector;
	memset(q->data, UNTOUCHED, sizeof(q->data));
	q->status = NO_STATUS;
	virtq_set_desc(&d->vq, head, (uintptr_t)&q->hdr, sizeof(q->hdr),
		       VIRTQ_DESC_F_NEXT, (u16)(head + 1));
	virtq_set_desc(&d->vq, (u16)(head + 1), (uintptr_t)q->data, bytes,
		       VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (u16)(head + 2));
	virtq_set_desc(&d->vq, (u16)(head + 2), (uintptr_t)&q->status, 1,
		       VIRTQ_DESC_F_WRITE, 0);
}

/*
 * Submit chain `head` and kick: the device must have returned it at once
 * (one used entry, id head) and raised the queue interrupt; *len is the
 * used length. False (and a FAIL) otherwise.
 */
static bool submit(struct disk *d, u16 head, u32 *len)
{
	u16 want = (u16)(d->vq.used_seen + 1);
	u32 id;
	u8 st, isr;

	publish_kick(d, head, 1);
	if (virtq_used_idx(&d->vq) != want)
		return fail("used idx %u after the kick, not %u (device_status "
			    "0x%x)",
			    virtq_used_idx(&d->vq), want,
			    virtio_status(&d->pci));
	virtq_next_used(&d->vq, &id, len);
	if (id != head)
		return fail("used entry id %u, not %u", id, head);
	st = virtio_status(&d->pci);
	if (st != VIRTIO_ST_RUNNING)
		return fail("device_status 0x%x after a request, not 0xf", st);
	isr = virtio_isr(&d->pci);
	if (isr != VIRTIO_ISR_QUEUE)
		return fail("ISR 0x%x after a used entry, not 0x1", isr);
	return true;
}

/* A read of `bytes` at `sector` that must succeed with the disk's bytes. */
static bool good_read(struct disk *d, u64 sector, u32 bytes)
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
static bool ioerr_read(struct disk *d, u64 sector, u32 bytes)
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
static bool recover(struct disk *d)
{
	return setup(d) && good_read(d, 0, SECTOR);
}

/*
 * After a hostile ring: DEVICE_NEEDS_RESET, nothing used, a configuration
 * interrupt; the driver cannot clear the bit; a good request kicked now is
 * not served; then the device recovers.
 */
static bool expect_broken(struct disk *d)
{
	u8 st = virtio_status(&d->pci), isr;

	if (!(st & VIRTIO_ST_NEEDS_RESET))
		return fail("device_status 0x%x: no NEEDS_RESET (0x40)", st);
	if (virtq_used_idx(&d->vq) != d->vq.used_seen)
		return fail("used idx moved to %u", virtq_used_idx(&d->vq));
	isr = virtio_isr(&d->pci);
	if (isr != VIRTIO_ISR_CONFIG)
		return fail("ISR 0x%x, not 0x2 (configuration change)", isr);
	virtio_set_status(&d->pci, VIRTIO_ST_RUNNING);
	if (!(virtio_status(&d->pci) & VIRTIO_ST_NEEDS_RESET))
		return fail("writing status 0xf cleared NEEDS_RESET");
	build_read(d, &spare, SPARE_HEAD, 0, SECTOR);
	publish_kick(d, SPARE_HEAD, 1);
	virtq_kick(&d->vq);
	if (virtq_used_idx(&d->vq) != d->vq.used_seen ||
	    spare.status != NO_STATUS || spare.data[0] != UNTOUCHED)
		return fail("a kick after NEEDS_RESET was served (used idx %u, "
			    "status 0x%x)",
			    virtq_used_idx(&d->vq), spare.status);
	return recover(d);
}

/* The usual three-descriptor read with buffer 1 replaced. */
static bool hostile_data_buffer(struct disk *d, u64 addr, u32 len)
{
	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	virtq_set_desc(&d->vq, 1, addr, len,
		       VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	publish_kick(d, 0, 1);
	return expect_broken(d);
}

/* ---- the checks ---- */

static bool check_good_read(void)
{
	struct disk *d = &disks[0];

	return setup(d) && good_read(d, 0, 2 * SECTOR) &&
	       good_read(d, 1, SECTOR);
}

static bool check_loop(void)
{
	struct disk *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	virtq_set_desc(&d->vq, 0, (uintptr_t)&req.hdr, sizeof(req.hdr),
		       VIRTQ_DESC_F_NEXT, 1);
	virtq_set_desc(&d->vq, 1, (uintptr_t)req.data, SECTOR,
		       VIRTQ_DESC_F_NEXT, 0);
	publish_kick(d, 0, 1);
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
	struct disk *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	virtq_set_desc(&d->vq, 0, (uintptr_t)&req.hdr, sizeof(req.hdr),
		       VIRTQ_DESC_F_NEXT, VIRTQ_SIZE);
	publish_kick(d, 0, 1);
	return expect_broken(d);
}

static bool check_avail_idx_ahead(void)
{
	struct disk *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	publish_kick(d, 0, 1000);
	return expect_broken(d);
}

static bool check_head_out_of_range(void)
{
	struct disk *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	publish_kick(d, VIRTQ_SIZE, 1);
	return expect_broken(d);
}

/* Rings the device refuses at queue_enable: it reads 0, NEEDS_RESET. */
static bool bad_queue(struct disk *d, u16 size, u64 desc)
{
	u16 enabled;

	if (!negotiate(d))
		return false;
	queue_config(d, size, desc);
	mmio_write16(d->pci.common + VIRTIO_CC_QENABLE, 1);
	enabled = mmio_read16(d->pci.common + VIRTIO_CC_QENABLE);
	if (enabled != 0)
		return fail("queue_enable reads %u after bad rings, not 0",
			    enabled);
	virtio_set_status(&d->pci, VIRTIO_ST_RUNNING);
	/* Queue 0's place, not read from the refused queue: the kick must do
	 * nothing. */
	d->vq.kick_at = d->pci.notify;
	return expect_broken(d);
}

static bool check_desc_outside_ram(void)
{
	return bad_queue(&disks[0], VIRTQ_SIZE, ram_top + PAGE_SIZE);
}

static bool check_read_past_end(void)
{
	struct disk *d = &disks[0];
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
	struct disk *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	/* A well-formed table of the same three buffers. */
	for (u16 i = 0; i < 3; i++) {
		indirect_table[i] = d->vq.r->desc[i];
		indirect_table[i].next = (u16)(i + 1);
	}
	virtq_set_desc(&d->vq, 0, (uintptr_t)indirect_table,
		       sizeof(indirect_table), VIRTQ_DESC_F_INDIRECT, 0);
	publish_kick(d, 0, 1);
	return expect_broken(d);
}

static bool check_readable_after_writable(void)
{
	struct disk *d = &disks[0];

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	virtq_set_desc(&d->vq, 1, (uintptr_t)&req.status, 1,
		       VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	virtq_set_desc(&d->vq, 2, (uintptr_t)req.data, SECTOR, 0, 0);
	publish_kick(d, 0, 1);
	return expect_broken(d);
}

static bool check_queue_size_12(void)
{
	return bad_queue(&disks[0], 12, (uintptr_t)disks[0].vq.r->desc);
}

static bool check_no_status_byte(void)
{
	struct disk *d = &disks[0];
	u32 len;

	if (!setup(d))
		return false;
	build_read(d, &req, 0, 0, SECTOR);
	virtq_set_desc(&d->vq, 0, (uintptr_t)&req.hdr, sizeof(req.hdr), 0, 0);
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
	struct disk *d = &disks[0];
	u8 st;

	if (!reset(d))
		return false;
	virtio_set_status(&d->pci, VIRTIO_ST_ACK);
	virtio_set_status(&d->pci, VIRTIO_ST_ACK | VIRTIO_ST_DRIVER);
	for (u32 sel = 0; sel < 2; sel++) {
		mmio_write32(d->pci.common + VIRTIO_CC_GFSELECT, sel);
		mmio_write32(d->pci.common + VIRTIO_CC_GFEATURE, 0);
	}
	virtio_set_status(&d->pci, VIRTIO_ST_ACK | VIRTIO_ST_DRIVER |
				       VIRTIO_ST_FEATURES_OK);
	st = virtio_status(&d->pci);
	if (st & VIRTIO_ST_FEATURES_OK)
		return fail("FEATURES_OK kept without VERSION_1 (status 0x%x)",
			    st);
	return recover(d);
}

static bool check_other_disk(void)
{
	struct disk *d = &disks[1];

	if (disk_count < 2)
		return fail("no second virtio-blk function");
	if (virtio_status(&d->pci) != 0)
		return fail("device_status 0x%x before its driver, not 0",
			    virtio_status(&d->pci));
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
static void move_bar(const struct disk *d, u32 base)
{
	pci_cfg_write32(d->pci.slot, PCI_BAR4, base | PCI_BAR_TYPE_64);
}

/* The disk answers at its BAR again: a full setup and a good read. */
static bool disk_answers(struct disk *d)
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
	struct disk *d = &disks[0];
	u32 version;

	move_bar(d, LAPIC_BASE);
	version = mmio_read32(LAPIC_BASE + LAPIC_VERSION);
	if (!(version & 0xff))
		return fail("local APIC version 0x%x with the BAR on it",
			    version);
	move_bar(d, (u32)d->pci.bar);
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
	move_bar(&disks[1], (u32)disks[0].pci.bar);
	move_bar(&disks[1], (u32)disks[1].pci.bar);
	guest_printf("%s: disk-bar: using 00:%02x.0 at 0x%x\n", NAME,
		     disks[0].pci.slot, (u32)disks[0].pci.bar);
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
	uintptr_t bar0 = disks[0].pci.bar, bar1 = disks[1].pci.bar;
	bool ok;

	if (disk_count < 2)
		return fail("no second virtio-blk function");
	move_bar(&disks[1], (u32)bar0);
	move_bar(&disks[0], free_place);
	guest_printf("%s: stuck-bar: 00:%02x.0 at 0x%x, 00:%02x.0 at "
		     "0x%x\n",
		     NAME, disks[0].pci.slot, free_place, disks[1].pci.slot,
		     (u32)bar0);
	disks[0].pci.bar = free_place;
	disks[1].pci.bar = bar0;
	ok = find_caps(&disks[0]) && find_caps(&disks[1]) &&
	     disk_answers(&disks[0]) && disk_answers(&disks[1]);
	move_bar(&disks[0], (u32)bar0);
	move_bar(&disks[1], (u32)bar1);
	disks[0].pci.bar = bar0;
	disks[1].pci.bar = bar1;
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
			     NAME, disks[i].pci.slot, disks[i].good_reads,
			     disks[i].vq.kicks);
}
