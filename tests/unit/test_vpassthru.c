/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vpassthru.c, a host PCI function on a guest's
 * bus: the guest's view of its configuration space, where its BARs are
 * placed, what of the command register reaches the host function, when
 * the platform is told to map the BARs again, and the forwarding of BAR
 * accesses to the host BAR.
 *
 * The host function is 00:03.0 of a fake configuration space behind
 * pci_set_access(), enumerated by drivers/pci.c: a 32-bit memory BAR 0 of
 * 1 MiB, a 64-bit prefetchable BAR 2 of 16 KiB, an I/O BAR 4 and a
 * 256-byte BAR 5, a capability list, interrupt pin A and a status register
 * with write-one-to-clear bits set. Its BARs behave like hardware's (the
 * bits below the size and the type bits read-only).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/lib/string.h"
#include "core/vdev/vpassthru.h"
#include "core/vdev/vpci.h"
#include "drivers/pci.h"
#include "tests/unit/host_printk.h"

/* ---- the fake host configuration space ---- */

#define FAKE_MAX 4

struct fake_fn {
	bool used;
	u16 bdf;
	u8 cfg[4096];
	u32 bar_wmask[PCI_MAX_BARS];
	u32 command_writes;
	u32 status_half; /* every bit written into the status half */
	u32 bar_writes;
	u32 other_writes;
};

static struct fake_fn fakes[FAKE_MAX];

static struct fake_fn *fake_of(u16 bdf)
{
	for (u32 i = 0; i < FAKE_MAX; i++)
		if (fakes[i].used && fakes[i].bdf == bdf)
			return &fakes[i];
	return NULL;
}

static u32 get32(const struct fake_fn *f, u16 off)
{
	u32 v;

	memcpy(&v, f->cfg + off, 4);
	return v;
}

static u16 get16(const struct fake_fn *f, u16 off)
{
	u16 v;

	memcpy(&v, f->cfg + off, 2);
	return v;
}

static void set32(struct fake_fn *f, u16 off, u32 v)
{
	memcpy(f->cfg + off, &v, 4);
}

static void set16(struct fake_fn *f, u16 off, u16 v)
{
	memcpy(f->cfg + off, &v, 2);
}

static u32 fake_read32(u16 bdf, u16 offset)
{
	const struct fake_fn *f = fake_of(bdf);

	assert_true(offset < 4096 && (offset & 3) == 0);
	return f ? get32(f, offset) : 0xffffffffu;
}

static void fake_write32(u16 bdf, u16 offset, u32 value)
{
	struct fake_fn *f = fake_of(bdf);

	assert_true(offset < 4096 && (offset & 3) == 0);
	assert_non_null(f);
	if (offset == PCI_CFG_COMMAND) {
		f->command_writes++;
		f->status_half |= value >> 16;
		set16(f, 0x04, (u16)value);
		/* Status bits 15:11 and 8 are write-one-to-clear. */
		set16(f, 0x06,
		      get16(f, 0x06) & (u16) ~((value >> 16) & 0xf900));
		return;
	}
	if (offset >= PCI_CFG_BAR0 &&
	    offset < PCI_CFG_BAR0 + 4 * PCI_MAX_BARS) {
		u32 m = f->bar_wmask[(offset - PCI_CFG_BAR0) / 4];

		f->bar_writes++;
		set32(f, offset, (get32(f, offset) & ~m) | (value & m));
		return;
	}
	f->other_writes++;
	set32(f, offset, value);
}

static const struct pci_config_ops fake_ops = {
    .read32 = fake_read32,
    .write32 = fake_write32,
};

static struct fake_fn *fake_add(u8 dev, u16 vendor, u16 device, u32 class_code,
				u8 revision, u8 header)
{
	for (u32 i = 0; i < FAKE_MAX; i++) {
		struct fake_fn *f = &fakes[i];

		if (f->used)
			continue;
		f->used = true;
		f->bdf = PCI_BDF(0, dev, 0);
		set16(f, 0x00, vendor);
		set16(f, 0x02, device);
		set32(f, 0x08, class_code << 8 | revision);
		f->cfg[0x0e] = header;
		return f;
	}
	fail_msg("fake table full");
	return NULL;
}

static void fake_bar(struct fake_fn *f, u32 i, u32 value, u32 size)
{
	set32(f, (u16)(PCI_CFG_BAR0 + 4 * i), value);
	f->bar_wmask[i] = ~(size - 1);
}

static void fake_bar64(struct fake_fn *f, u32 i, u64 base, u64 size,
		       bool prefetchable)
{
	u64 wmask = ~(size - 1);

	set32(f, (u16)(PCI_CFG_BAR0 + 4 * i),
	      (u32)base | 4 | (prefetchable ? 8 : 0));
	set32(f, (u16)(PCI_CFG_BAR0 + 4 * i + 4), (u32)(base >> 32));
	f->bar_wmask[i] = (u32)wmask & ~0xfu;
	f->bar_wmask[i + 1] = (u32)(wmask >> 32);
}

/* Host addresses of the device's BARs. */
#define HOST_BAR0 0xfe000000u
#define HOST_BAR2 0xfd000000u
#define HOST_BAR5 0xfebff100u

#define DEV_BDF PCI_BDF(0, 3, 0)
#define SLOT	8

static struct fake_fn *dev;

static void reset_counts(void)
{
	for (u32 i = 0; i < FAKE_MAX; i++) {
		fakes[i].command_writes = 0;
		fakes[i].status_half = 0;
		fakes[i].bar_writes = 0;
		fakes[i].other_writes = 0;
	}
}

/*
 * 00:03.0 8086:10d3 rev 5, class 02.00.00, multi-function, subsystem
 * 1af4:1100, BARs as above, pin A line 11, an MSI capability, command
 * 0x0040 (parity response), status 0x2010 (master abort, capabilities).
 */
static void build(void)
{
	struct fake_fn *f = fake_add(3, 0x8086, 0x10d3, 0x020000, 0x05, 0x80);

	fake_bar(f, 0, HOST_BAR0, MiB(1));
	fake_bar64(f, 2, HOST_BAR2, KiB(16), true);
	fake_bar(f, 4, 0xc001, 32);
	f->bar_wmask[4] &= 0xffff;
	fake_bar(f, 5, HOST_BAR5, 256);
	set32(f, 0x2c, 0x11001af4);
	set32(f, 0x3c, 0x010b);
	f->cfg[0x34] = 0x50;
	f->cfg[0x50] = PCI_CAP_ID_MSI;
	set16(f, 0x04, 0x0040);
	set16(f, 0x06, 0x2010);
	dev = f;
}

/* ---- the guest's side ---- */

static struct vpci bus;
static struct vpassthru pt;
static u32 remaps;
static void *remap_ctx;
static u64 mapped_at_remap[VPCI_BARS];
static int ctx_token;

static void remap(void *ctx)
{
	remaps++;
	remap_ctx = ctx;
	for (u32 i = 0; i < VPCI_BARS; i++)
		mapped_at_remap[i] = pt.bar[i].mapped;
}

static int setup(void **state)
{
	(void)state;
	memset(fakes, 0, sizeof(fakes));
	memset(&pt, 0, sizeof(pt));
	host_printk_reset();
	remaps = 0;
	remap_ctx = NULL;
	pci_set_access(&fake_ops, 0, 0, 4096);
	build();
	assert_int_equal(pci_enumerate(), 1);
	reset_counts();
	vpci_init(&bus);
	return 0;
}

/* The guest's 32-bit configuration accesses, through ports 0xCF8/0xCFC. */
static u32 guest_read(u8 off, u8 size)
{
	vpci_io_write(&bus, VPCI_ADDRESS_PORT, 4,
		      VPCI_ADDRESS_ENABLE | SLOT << 11 | (off & 0xfc));
	return vpci_io_read(&bus, (u16)(VPCI_DATA_PORT + (off & 3)), size);
}

static void guest_write(u8 off, u8 size, u32 value)
{
	vpci_io_write(&bus, VPCI_ADDRESS_PORT, 4,
		      VPCI_ADDRESS_ENABLE | SLOT << 11 | (off & 0xfc));
	vpci_io_write(&bus, (u16)(VPCI_DATA_PORT + (off & 3)), size, value);
}

/* A dword byte by byte with vpci_config_read/write. */
static u32 cfg_read32(u8 off)
{
	u32 v = 0;

	for (u8 i = 0; i < 4; i++)
		v |= (u32)vpci_config_read(&bus, 0, SLOT, 0, (u8)(off + i))
		     << (8 * i);
	return v;
}

static void cfg_write32(u8 off, u32 v)
{
	for (u8 i = 0; i < 4; i++)
		vpci_config_write(&bus, 0, SLOT, 0, (u8)(off + i),
				  (u8)(v >> (8 * i)));
}

#define GUEST_BASE 0xd0001000ull /* not aligned to BAR 0's 1 MiB */
#define GUEST_BAR0 0xd0100000ull
#define GUEST_BAR2 0xd0200000ull
#define GUEST_BAR5 0xd0204000ull
#define GUEST_END  0xd0205000ull
#define LIMIT	   0xe0000000ull

static void attach(void)
{
	const struct pci_device *d = pci_find(DEV_BDF);
	u64 next = GUEST_BASE;
	char err[160] = "";

	assert_non_null(d);
	assert_true(vpassthru_init(&pt, d, SLOT, &next, LIMIT, remap,
				   &ctx_token, err, sizeof(err)));
	assert_string_equal(err, "");
	assert_int_equal(next, GUEST_END);
	assert_true(vpci_attach(&bus, SLOT, &pt.pci));
}

/* ---- vpassthru_init ---- */

static void test_view_ids(void **state)
{
	(void)state;
	attach();
	assert_int_equal(pt.host_bdf, DEV_BDF);
	assert_int_equal(pt.slot, SLOT);
	assert_int_equal(cfg_read32(0x00), 0x10d38086);
	assert_int_equal(cfg_read32(0x08), 0x02000005);
	assert_int_equal(cfg_read32(0x2c), 0x11001af4);
	/* Function 0 of its slot, single-function; no interrupt pin (the
	 * line is the guest's to write); no capabilities. */
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x0e), 0);
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x3d), 0);
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x3c), 0);
	assert_int_equal(guest_read(0x06, 2) & VPCI_STATUS_CAP_LIST, 0);
	assert_int_equal(guest_read(0x06, 2), 0);
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x34), 0);
	/* Decoding off until the guest turns it on. */
	assert_int_equal(guest_read(0x04, 2), 0);
	/* Building the view wrote nothing to the host function. */
	assert_int_equal(
	    dev->command_writes + dev->bar_writes + dev->other_writes, 0);
	assert_int_equal(remaps, 0);
}

static void test_view_bars(void **state)
{
	(void)state;
	attach();
	assert_int_equal(cfg_read32(0x10), GUEST_BAR0);
	assert_int_equal(cfg_read32(0x14), 0);
	/* 64-bit (type 10b) and prefetchable, as on the host. */
	assert_int_equal(cfg_read32(0x18), GUEST_BAR2 | 0xc);
	assert_int_equal(cfg_read32(0x1c), 0);
	/* The I/O BAR is not shown. */
	assert_int_equal(cfg_read32(0x20), 0);
	assert_int_equal(pt.pci.bar_size[4], 0);
	assert_int_equal(pt.bar[4].host, 0);
	assert_int_equal(pt.bar[4].size, 0);
	/* The 256-byte BAR takes one page of the guest's window. */
	assert_int_equal(cfg_read32(0x24), GUEST_BAR5);
	assert_int_equal(pt.pci.bar_size[0], MiB(1));
	assert_int_equal(pt.pci.bar_size[2], KiB(16));
	assert_int_equal(pt.pci.bar_size[5], 4096);

	assert_int_equal(pt.bar[0].host, HOST_BAR0);
	assert_int_equal(pt.bar[0].size, MiB(1));
	assert_ptr_equal(pt.bar[0].pt, &pt);
	assert_int_equal(pt.bar[2].host, HOST_BAR2);
	assert_int_equal(pt.bar[2].size, KiB(16));
	assert_ptr_equal(pt.bar[2].pt, &pt);
	assert_int_equal(pt.bar[5].host, HOST_BAR5);
	assert_int_equal(pt.bar[5].size, 256);
	assert_ptr_equal(pt.bar[5].pt, &pt);
	for (u32 i = 0; i < VPCI_BARS; i++)
		assert_int_equal(pt.bar[i].mapped, VPCI_BAR_NONE);
	for (u32 i = 1; i < VPCI_BARS; i += 2)
		if (i != 5)
			assert_int_equal(pt.bar[i].host, 0);
}

/* Each BAR aligned to its own size: a small one first. */
static void test_view_alignment(void **state)
{
	struct fake_fn *f = fake_add(4, 0x1234, 0x5678, 0x118000, 0, 0);
	const struct pci_device *d;
	u64 next = 0xd0000000ull;
	char err[160] = "";

	(void)state;
	fake_bar(f, 0, 0xfebfe000, 256);
	fake_bar64(f, 2, 0xfebe0000, KiB(64), false);
	fake_bar(f, 4, 0xfebfd000, KiB(4));
	assert_int_equal(pci_enumerate(), 2);
	d = pci_find(PCI_BDF(0, 4, 0));
	assert_non_null(d);
	assert_true(vpassthru_init(&pt, d, 9, &next, LIMIT, remap, NULL, err,
				   sizeof(err)));
	assert_int_equal(vpci_func_get(&pt.pci, 0x10, 4), 0xd0000000);
	/* 64-bit, not prefetchable. */
	assert_int_equal(vpci_func_get(&pt.pci, 0x18, 4), 0xd0010004);
	assert_int_equal(vpci_func_get(&pt.pci, 0x1c, 4), 0);
	assert_int_equal(vpci_func_get(&pt.pci, 0x20, 4), 0xd0020000);
	assert_int_equal(next, 0xd0021000);
}

static void test_view_limit(void **state)
{
	const struct pci_device *d = pci_find(DEV_BDF);
	u64 next = GUEST_BASE;
	char err[160] = "";

	(void)state;
	/* Exactly up to the limit fits. */
	assert_true(vpassthru_init(&pt, d, SLOT, &next, GUEST_END, remap, NULL,
				   err, sizeof(err)));
	assert_int_equal(next, GUEST_END);

	next = GUEST_BASE;
	assert_false(vpassthru_init(&pt, d, SLOT, &next, GUEST_END - 1, remap,
				    NULL, err, sizeof(err)));
	assert_string_equal(err, "pci 00:03.0: BAR 5 (4 KiB) does not fit the "
				 "guest's PCI window");

	next = GUEST_BASE;
	assert_false(vpassthru_init(&pt, d, SLOT, &next, GUEST_BAR2 + KiB(8),
				    remap, NULL, err, sizeof(err)));
	assert_string_equal(err, "pci 00:03.0: BAR 2 (16 KiB) does not fit the "
				 "guest's PCI window");

	next = GUEST_BASE;
	assert_false(vpassthru_init(&pt, d, SLOT, &next, GUEST_BAR0 + KiB(512),
				    remap, NULL, err, sizeof(err)));
	assert_string_equal(err, "pci 00:03.0: BAR 0 (1024 KiB) does not fit "
				 "the guest's PCI window");
	assert_int_equal(
	    dev->command_writes + dev->bar_writes + dev->other_writes, 0);
}

/* ---- BAR sizing through the guest's view ---- */

static const u32 size_masks[VPCI_BARS] = {
    0xfff00000u, 0, 0xffffc00cu, 0xffffffffu, 0, 0xfffff000u,
};

static void test_sizing_bytewise(void **state)
{
	u32 saved[VPCI_BARS];

	(void)state;
	attach();
	for (u8 i = 0; i < VPCI_BARS; i++) {
		u8 off = (u8)(VPCI_CFG_BAR0 + 4 * i);

		saved[i] = cfg_read32(off);
		cfg_write32(off, 0xffffffffu);
		assert_int_equal(cfg_read32(off), size_masks[i]);
		cfg_write32(off, saved[i]);
		assert_int_equal(cfg_read32(off), saved[i]);
	}
	/* The 64-bit BAR's two halves give its size. */
	cfg_write32(0x18, 0xffffffffu);
	cfg_write32(0x1c, 0xffffffffu);
	assert_int_equal(
	    ~((u64)cfg_read32(0x1c) << 32 | (cfg_read32(0x18) & ~0xfu)) + 1,
	    KiB(16));
	cfg_write32(0x18, saved[2]);
	cfg_write32(0x1c, saved[3]);
	/* Decoding is off: nothing to map; the host BARs never move. */
	assert_int_equal(remaps, 0);
	assert_int_equal(dev->bar_writes, 0);
	assert_int_equal(get32(dev, 0x10), HOST_BAR0);
	assert_int_equal(get32(dev, 0x24), HOST_BAR5);
}

static void test_sizing_ports(void **state)
{
	(void)state;
	attach();
	for (u8 i = 0; i < VPCI_BARS; i++) {
		u8 off = (u8)(VPCI_CFG_BAR0 + 4 * i);
		u32 saved = guest_read(off, 4);

		guest_write(off, 4, 0xffffffffu);
		assert_int_equal(guest_read(off, 4), size_masks[i]);
		guest_write(off, 4, saved);
		assert_int_equal(guest_read(off, 4), saved);
	}
	assert_int_equal(remaps, 0);
	assert_int_equal(dev->bar_writes, 0);
}

/* ---- the command register ---- */

static void test_command_forwarded(void **state)
{
	(void)state;
	attach();
	/* I/O, memory, bus master, SERR, INTx disable. */
	guest_write(0x04, 2, 0x0507);
	assert_int_equal(guest_read(0x04, 2), 0x0406);
	/* The host keeps its parity response; I/O and SERR stay off. */
	assert_int_equal(get16(dev, 0x04), 0x0446);
	assert_int_equal(get16(dev, 0x06), 0x2010);
	assert_true(dev->command_writes >= 1);

	guest_write(0x04, 2, 0x0004);
	assert_int_equal(get16(dev, 0x04), 0x0044);
	guest_write(0x04, 2, 0);
	assert_int_equal(get16(dev, 0x04), 0x0040);

	/* A dword write with the status half all ones (clear every error
	 * bit): neither the guest's nor the host's status changes. */
	guest_write(0x04, 4, 0xffff0402);
	assert_int_equal(get16(dev, 0x04), 0x0442);
	assert_int_equal(guest_read(0x06, 2), 0);
	guest_write(0x06, 2, 0xffff);
	assert_int_equal(get16(dev, 0x06), 0x2010);
	assert_int_equal(get16(dev, 0x04), 0x0442);

	/* Writes elsewhere leave the host's command as the guest set it. */
	guest_write(0x3c, 1, 0x0a);
	guest_write(0x0d, 1, 0x40);
	assert_int_equal(get16(dev, 0x04), 0x0442);

	/* Never a bit of the status half, nothing but the command. */
	assert_int_equal(dev->status_half, 0);
	assert_int_equal(get16(dev, 0x06), 0x2010);
	assert_int_equal(dev->bar_writes, 0);
	assert_int_equal(dev->other_writes, 0);
	assert_int_equal(get32(dev, 0x3c), 0x010b);
}

static void test_remap_when_decoding_changes(void **state)
{
	(void)state;
	attach();
	/* Bus master and INTx disable alone: nothing decodes. */
	guest_write(0x04, 2, 0x0404);
	assert_int_equal(remaps, 0);

	guest_write(0x04, 2, 0x0406);
	assert_int_equal(remaps, 1);
	assert_ptr_equal(remap_ctx, &ctx_token);
	assert_int_equal(mapped_at_remap[0], GUEST_BAR0);
	assert_int_equal(mapped_at_remap[1], VPCI_BAR_NONE);
	assert_int_equal(mapped_at_remap[2], GUEST_BAR2);
	assert_int_equal(mapped_at_remap[3], VPCI_BAR_NONE);
	assert_int_equal(mapped_at_remap[4], VPCI_BAR_NONE);
	assert_int_equal(mapped_at_remap[5], GUEST_BAR5);

	/* The same command again, other bits, other registers: no change. */
	guest_write(0x04, 2, 0x0406);
	guest_write(0x04, 2, 0x0002);
	guest_write(0x3c, 1, 0x05);
	guest_write(0x0c, 4, 0x00002010);
	guest_write(0x10, 4, (u32)GUEST_BAR0);
	guest_write(0x20, 4, 0xffffffffu); /* no BAR there */
	assert_int_equal(remaps, 1);

	/* A BAR moved while decoding. */
	guest_write(0x10, 4, 0xc0000000u);
	assert_int_equal(remaps, 2);
	assert_int_equal(mapped_at_remap[0], 0xc0000000u);
	assert_int_equal(pt.bar[0].mapped, 0xc0000000u);
	assert_int_equal(mapped_at_remap[5], GUEST_BAR5);

	/* The 64-bit BAR's upper half. */
	guest_write(0x1c, 4, 0x1);
	assert_int_equal(remaps, 3);
	assert_int_equal(mapped_at_remap[2], 0x100000000ull | GUEST_BAR2);

	/* Decoding off: everything unmapped. */
	guest_write(0x04, 2, 0x0004);
	assert_int_equal(remaps, 4);
	for (u32 i = 0; i < VPCI_BARS; i++)
		assert_int_equal(mapped_at_remap[i], VPCI_BAR_NONE);

	/* Moved while not decoding: nothing to map. */
	guest_write(0x24, 4, 0xc0100000u);
	assert_int_equal(remaps, 4);
	/* On again: the new places. */
	guest_write(0x04, 2, 0x0002);
	assert_int_equal(remaps, 5);
	assert_int_equal(mapped_at_remap[0], 0xc0000000u);
	assert_int_equal(mapped_at_remap[5], 0xc0100000u);
	/* The host BARs never moved. */
	assert_int_equal(dev->bar_writes, 0);
	assert_int_equal(get32(dev, 0x10), HOST_BAR0);
	assert_int_equal(get32(dev, 0x1c), 0);
}

/* ---- BAR accesses ---- */

/* The 256-byte host BAR and what lies after it (must stay untouched). */
static _Alignas(64) u8 regs[512];

static void fill(void)
{
	for (u32 i = 0; i < sizeof(regs); i++)
		regs[i] = (u8)i;
}

static u64 bar_read(struct vpassthru_bar *b, u64 off, u8 size)
{
	u64 v = 0x5a5a5a5a5a5a5a5aull;

	assert_int_equal(vpassthru_bar_read(b, NULL, off, size, &v), 0);
	return v;
}

static void bar_write(struct vpassthru_bar *b, u64 off, u8 size, u64 v)
{
	assert_int_equal(vpassthru_bar_write(b, NULL, off, size, v), 0);
}

static void assert_regs_untouched(void)
{
	for (u32 i = 0; i < sizeof(regs); i++)
		if (regs[i] != (u8)i)
			fail_msg("regs[0x%x] is 0x%02x", i, regs[i]);
}

static struct vpassthru_bar *small_bar(void)
{
	attach();
	fill();
	pt.bar[5].host = (u64)(uintptr_t)regs;
	return &pt.bar[5];
}

static void test_bar_reads(void **state)
{
	struct vpassthru_bar *b;

	(void)state;
	b = small_bar();
	assert_int_equal(bar_read(b, 0x00, 1), 0x00);
	assert_int_equal(bar_read(b, 0x11, 1), 0x11);
	assert_int_equal(bar_read(b, 0xff, 1), 0xff);
	assert_int_equal(bar_read(b, 0x12, 2), 0x1312);
	assert_int_equal(bar_read(b, 0xfe, 2), 0xfffe);
	assert_int_equal(bar_read(b, 0x14, 4), 0x17161514);
	assert_int_equal(bar_read(b, 0xfc, 4), 0xfffefdfc);
	assert_int_equal(bar_read(b, 0x20, 8), 0x2726252423222120ull);
	assert_int_equal(bar_read(b, 0xf8, 8), 0xfffefdfcfbfaf9f8ull);
	assert_regs_untouched();
}

static void test_bar_writes(void **state)
{
	struct vpassthru_bar *b;

	(void)state;
	b = small_bar();
	bar_write(b, 0x21, 1, 0xaa);
	bar_write(b, 0x32, 2, 0xbbcc);
	bar_write(b, 0x44, 4, 0x11223344);
	bar_write(b, 0xf8, 8, 0x8877665544332211ull);
	for (u32 i = 0; i < sizeof(regs); i++) {
		u8 want = (u8)i;

		if (i == 0x21)
			want = 0xaa;
		else if (i == 0x32 || i == 0x33)
			want = i == 0x32 ? 0xcc : 0xbb;
		else if (i >= 0x44 && i < 0x48)
			want = (u8)(0x44 - 0x11 * (i - 0x44));
		else if (i >= 0xf8 && i < 0x100)
			want = (u8)(0x11 * (i - 0xf8 + 1));
		if (regs[i] != want)
			fail_msg("regs[0x%x] is 0x%02x, not 0x%02x", i, regs[i],
				 want);
	}
	/* Reads of what was written, at every width. */
	assert_int_equal(bar_read(b, 0x44, 4), 0x11223344);
	assert_int_equal(bar_read(b, 0x46, 2), 0x1122);
	assert_int_equal(bar_read(b, 0xf8, 8), 0x8877665544332211ull);
}

static void test_bar_past_end(void **state)
{
	struct vpassthru_bar *b;

	(void)state;
	b = small_bar();
	/* Past the host BAR's 256 bytes, inside the guest's page. */
	assert_int_equal(bar_read(b, 0x100, 1), 0xff);
	assert_int_equal(bar_read(b, 0x100, 2), 0xffff);
	assert_int_equal(bar_read(b, 0x100, 4), 0xffffffffu);
	assert_int_equal(bar_read(b, 0x100, 8), ~0ull);
	assert_int_equal(bar_read(b, 0xff8, 8), ~0ull);
	assert_int_equal(bar_read(b, 0xffc, 4), 0xffffffffu);
	/* Straddling the end: 8 bytes at the last 4. */
	assert_int_equal(bar_read(b, 0xfc, 8), ~0ull);
	/* Offsets that would wrap. */
	assert_int_equal(bar_read(b, ~0ull - 3, 4), 0xffffffffu);
	assert_int_equal(bar_read(b, ~0ull, 1), 0xff);

	bar_write(b, 0x100, 1, 0);
	bar_write(b, 0x100, 2, 0);
	bar_write(b, 0x100, 4, 0);
	bar_write(b, 0x100, 8, 0);
	bar_write(b, 0x1f8, 8, 0);
	bar_write(b, 0xfc, 8, 0);
	bar_write(b, ~0ull - 3, 4, 0);
	assert_regs_untouched();
}

static void test_bar_misaligned(void **state)
{
	struct vpassthru_bar *b;

	(void)state;
	b = small_bar();
	assert_int_equal(bar_read(b, 0x11, 2), 0xffff);
	assert_int_equal(bar_read(b, 0x13, 4), 0xffffffffu);
	assert_int_equal(bar_read(b, 0x12, 4), 0xffffffffu);
	assert_int_equal(bar_read(b, 0x04, 8), ~0ull);
	assert_int_equal(bar_read(b, 0x01, 8), ~0ull);
	/* Widths an access never has: all ones of that width. */
	assert_int_equal(bar_read(b, 0x10, 3), 0xffffff);
	assert_int_equal(bar_read(b, 0x10, 0), 0);

	bar_write(b, 0x11, 2, 0);
	bar_write(b, 0x13, 4, 0);
	bar_write(b, 0x12, 4, 0);
	bar_write(b, 0x04, 8, 0);
	bar_write(b, 0x10, 3, 0);
	bar_write(b, 0x10, 16, 0);
	assert_regs_untouched();
}

/* The 64-bit BAR over a 16 KiB buffer: its last qword and past it. */
static _Alignas(64) u8 big[KiB(16) + 64];

static void test_bar_large(void **state)
{
	struct vpassthru_bar *b = &pt.bar[2];

	(void)state;
	attach();
	memset(big, 0x77, sizeof(big));
	b->host = (u64)(uintptr_t)big;
	bar_write(b, KiB(16) - 8, 8, 0x0123456789abcdefull);
	assert_int_equal(bar_read(b, KiB(16) - 8, 8), 0x0123456789abcdefull);
	assert_int_equal(bar_read(b, KiB(16) - 4, 4), 0x01234567);
	assert_int_equal(bar_read(b, KiB(16), 4), 0xffffffffu);
	bar_write(b, KiB(16), 8, 0);
	bar_write(b, 0x1000, 4, 0xdeadbeef);
	assert_int_equal(bar_read(b, 0x1000, 4), 0xdeadbeef);
	for (u32 i = KiB(16); i < sizeof(big); i++)
		assert_int_equal(big[i], 0x77);
	assert_int_equal(big[0x1000], 0xef);
	assert_int_equal(big[0xfff], 0x77);
	assert_int_equal(big[0x1004], 0x77);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_view_ids),	       T(test_view_bars),
	    T(test_view_alignment),    T(test_view_limit),
	    T(test_sizing_bytewise),   T(test_sizing_ports),
	    T(test_command_forwarded), T(test_remap_when_decoding_changes),
	    T(test_bar_reads),	       T(test_bar_writes),
	    T(test_bar_past_end),      T(test_bar_misaligned),
	    T(test_bar_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
