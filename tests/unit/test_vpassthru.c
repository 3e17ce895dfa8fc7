/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vpassthru.c, a host PCI function on a guest's
 * bus: the guest's view of its configuration space, where its BARs are
 * placed, what of the command register reaches the host function, when
 * the platform is told to map the BARs again, the forwarding of BAR
 * accesses to the host BAR, and (issue 14) the interrupts: the MSI and
 * MSI-X capabilities the guest sees, the host function programmed with
 * Veneer's messages, the guest's virtual MSI-X table and PBA, delivery,
 * and release.
 *
 * The host function is 00:03.0 of a fake configuration space behind
 * pci_set_access(), enumerated by drivers/pci.c: a 32-bit memory BAR 0 of
 * 1 MiB, a 64-bit prefetchable BAR 2 of 16 KiB, an I/O BAR 4 and a
 * 256-byte BAR 5, a capability list, interrupt pin A and a status register
 * with write-one-to-clear bits set. Its BARs behave like hardware's (the
 * bits below the size and the type bits read-only). Its capability list
 * holds one 32-bit MSI capability. 00:05.0 (build_x) has MSI (64-bit) and
 * MSI-X (12 entries) capabilities and a PCI Express one.
 *
 * host_irq_alloc / host_irq_free (arch/x86/traps.h) and iommu_irq_route /
 * iommu_irq_unroute (drivers/iommu.h) are fakes here that record what they
 * were asked and hand out concrete vectors, handles and messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arch/x86/traps.h"
#include "core/lib/format.h"
#include "core/lib/string.h"
#include "core/vdev/vpassthru.h"
#include "core/vdev/vpci.h"
#include "drivers/iommu.h"
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
	u8 other_at[4096]; /* other writes, per dword offset */
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
	f->other_at[offset]++;
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
		memset(fakes[i].other_at, 0, sizeof(fakes[i].other_at));
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

/* ---- fake host vectors (arch/x86/traps.h) ---- */

#define FAKE_VECTORS 16

static struct {
	bool used[FAKE_VECTORS];
	host_irq_fn fn[FAKE_VECTORS];
	void *ctx[FAKE_VECTORS];
	u32 allocs; /* calls, failed ones too */
	u32 frees;
	int last_freed;
	bool fail; /* every host vector is taken */
} hv;

int host_irq_alloc(host_irq_fn fn, void *ctx)
{
	hv.allocs++;
	assert_non_null(fn);
	if (hv.fail)
		return -1;
	for (u32 i = 0; i < FAKE_VECTORS; i++)
		if (!hv.used[i]) {
			hv.used[i] = true;
			hv.fn[i] = fn;
			hv.ctx[i] = ctx;
			return (int)(HOST_IRQ_FIRST + i);
		}
	return -1;
}

void host_irq_free(int vector)
{
	u32 i = (u32)vector - HOST_IRQ_FIRST;

	if (i >= FAKE_VECTORS || !hv.used[i])
		fail_msg("host_irq_free(0x%x): not handed out", vector);
	hv.used[i] = false;
	hv.frees++;
	hv.last_freed = vector;
}

static u32 vectors_in_use(void)
{
	u32 n = 0;

	for (u32 i = 0; i < FAKE_VECTORS; i++)
		n += hv.used[i];
	return n;
}

/* The interrupt of host vector `vector` arrives: what traps.c would do. */
static void fire(int vector)
{
	u32 i = (u32)vector - HOST_IRQ_FIRST;

	assert_true(i < FAKE_VECTORS && hv.used[i]);
	hv.fn[i](hv.ctx[i]);
}

/* ---- fake interrupt routes (drivers/iommu.h) ---- */

#define FIRST_HANDLE 40
/* The message of handle h on vector v: a remappable-looking address and
 * a data value that names the vector; the upper address half is
 * io.addr_hi. */
#define FAKE_ADDR(h) (0xfee00010ull | (u64)(h) << 5 | (u64)io.addr_hi << 32)
#define FAKE_DATA(v) (0xa500u | (v))

static struct {
	u32 routes;
	u16 bdf;
	u8 vector;
	u32 apic;
	u32 next_handle;
	u32 addr_hi;
	const char *fail; /* route fails with this message */
	u32 unroutes;	  /* calls with an entry */
	u32 unroute_calls;
	u16 unroute_bdf;
	u32 unrouted[16];
} io;

int iommu_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
		    struct iommu_msi *msg, char *err, size_t errlen)
{
	io.routes++;
	io.bdf = bdf;
	io.vector = vector;
	io.apic = apic_id;
	if (io.fail) {
		snformat(err, errlen, "%s", io.fail);
		return -1;
	}
	if (*handle == IOMMU_NO_IRQ)
		*handle = io.next_handle++;
	msg->addr = FAKE_ADDR(*handle);
	msg->data = FAKE_DATA(vector);
	return 0;
}

void iommu_irq_unroute(u16 bdf, u32 *handle)
{
	io.unroute_calls++;
	if (*handle != IOMMU_NO_IRQ) {
		assert_true(io.unroutes < 16);
		io.unrouted[io.unroutes++] = *handle;
		io.unroute_bdf = bdf;
	}
	*handle = IOMMU_NO_IRQ;
}

/* ---- the guest's side ---- */

static struct vpci bus;
static struct vpassthru pt;
static u32 remaps;
static void *remap_ctx;
static u64 mapped_at_remap[VPCI_BARS];
static int ctx_token;
static u8 gslot; /* the slot guest_read/guest_write reach */

static void remap(void *ctx)
{
	remaps++;
	remap_ctx = ctx;
	for (u32 i = 0; i < VPCI_BARS; i++)
		mapped_at_remap[i] = pt.bar[i].mapped;
}

#define IRQ_APIC 0x2a

static u32 irqs;
static void *irq_ctx;
static u32 apic_asks;

static void on_irq(void *ctx)
{
	irqs++;
	irq_ctx = ctx;
}

static u32 irq_apic(void *ctx)
{
	assert_ptr_equal(ctx, &ctx_token);
	apic_asks++;
	return IRQ_APIC;
}

static const struct vpassthru_host host = {
    .remap = remap,
    .irq = on_irq,
    .irq_apic = irq_apic,
    .ctx = &ctx_token,
    .guest = "alpha",
};

/* What vpassthru_deliver() sent. */
static struct sent {
	void *ctx;
	u64 addr;
	u32 data;
} sent[16];
static u32 nsent;
static int send_token;

static void send(void *ctx, u64 addr, u32 data)
{
	assert_true(nsent < 16);
	sent[nsent++] = (struct sent){ctx, addr, data};
}

static void deliver(void)
{
	vpassthru_deliver(&pt, send, &send_token);
}

static int setup(void **state)
{
	(void)state;
	memset(fakes, 0, sizeof(fakes));
	memset(&pt, 0, sizeof(pt));
	memset(&hv, 0, sizeof(hv));
	memset(&io, 0, sizeof(io));
	io.next_handle = FIRST_HANDLE;
	memset(sent, 0, sizeof(sent));
	nsent = 0;
	irqs = apic_asks = 0;
	irq_ctx = NULL;
	host_printk_reset();
	remaps = 0;
	remap_ctx = NULL;
	gslot = SLOT;
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
		      VPCI_ADDRESS_ENABLE | (u32)gslot << 11 | (off & 0xfc));
	return vpci_io_read(&bus, (u16)(VPCI_DATA_PORT + (off & 3)), size);
}

static void guest_write(u8 off, u8 size, u32 value)
{
	vpci_io_write(&bus, VPCI_ADDRESS_PORT, 4,
		      VPCI_ADDRESS_ENABLE | (u32)gslot << 11 | (off & 0xfc));
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
	/* What an enumeration wrote and said is not the test's. */
	reset_counts();
	host_printk_reset();
	assert_true(vpassthru_init(&pt, d, SLOT, &next, LIMIT, &host, err,
				   sizeof(err)));
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
	/* Function 0 of its slot, single-function; the host's interrupt pin
	 * (INTA; the line is the guest's to write); of the capabilities, the
	 * host's MSI only, at the guest's first capability offset (the
	 * host's is at 0x50), the list's end. */
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x0e), 0);
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x3d), 1);
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x3c), 0);
	assert_int_equal(guest_read(0x06, 2), VPCI_STATUS_CAP_LIST);
	assert_int_equal(vpci_config_read(&bus, 0, SLOT, 0, 0x34), 0x40);
	assert_int_equal(cfg_read32(0x40), 0x00800005);
	assert_int_equal(pt.msi_cap, 0x40);
	assert_int_equal(pt.msix_cap, 0);
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
	assert_true(
	    vpassthru_init(&pt, d, 9, &next, LIMIT, &host, err, sizeof(err)));
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
	assert_true(vpassthru_init(&pt, d, SLOT, &next, GUEST_END, &host, err,
				   sizeof(err)));
	assert_int_equal(next, GUEST_END);

	next = GUEST_BASE;
	assert_false(vpassthru_init(&pt, d, SLOT, &next, GUEST_END - 1, &host,
				    err, sizeof(err)));
	assert_string_equal(err, "pci 00:03.0: BAR 5 (4 KiB) does not fit the "
				 "guest's PCI window");

	next = GUEST_BASE;
	assert_false(vpassthru_init(&pt, d, SLOT, &next, GUEST_BAR2 + KiB(8),
				    &host, err, sizeof(err)));
	assert_string_equal(err, "pci 00:03.0: BAR 2 (16 KiB) does not fit the "
				 "guest's PCI window");

	next = GUEST_BASE;
	assert_false(vpassthru_init(&pt, d, SLOT, &next, GUEST_BAR0 + KiB(512),
				    &host, err, sizeof(err)));
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
	assert_int_equal(guest_read(0x06, 2), VPCI_STATUS_CAP_LIST);
	guest_write(0x06, 2, 0xffff);
	assert_int_equal(get16(dev, 0x06), 0x2010);
	assert_int_equal(get16(dev, 0x04), 0x0442);

	/* Writes elsewhere leave the host's command as the guest set it. */
	guest_write(0x3c, 1, 0x0a);
	guest_write(0x0d, 1, 0x40);
	assert_int_equal(get16(dev, 0x04), 0x0442);

	/* Never a bit of the status half, nothing but the command and the
	 * MSI capability's first dword (written as it was: MSI stays off). */
	assert_int_equal(dev->status_half, 0);
	assert_int_equal(get16(dev, 0x06), 0x2010);
	assert_int_equal(dev->bar_writes, 0);
	assert_int_equal(dev->other_writes, dev->other_at[0x50]);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI);
	assert_int_equal(get32(dev, 0x3c), 0x010b);
	assert_int_equal(hv.allocs + io.routes, 0);
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

/* ---- interrupts: the capabilities the guest sees ---- */

/* The guest's MSI capability (the first one it sees) and its fields. */
#define G_MSI	      0x40
#define G_MSI_CTRL    (G_MSI + 2)
#define G_MSI_ADDR_LO (G_MSI + 4)
#define G_MSI_ADDR_HI (G_MSI + 8)
#define G_MSI_DATA    (G_MSI + 12)
/* The guest's MSI-X capability, after the MSI one (14 bytes, aligned). */
#define G_MSIX	     0x50
#define G_MSIX_CTRL  (G_MSIX + 2)
#define G_MSIX_TABLE (G_MSIX + 4)
#define G_MSIX_PBA   (G_MSIX + 8)

#define MSI_ON	   0x0001
#define MSIX_ON	   0x8000
#define MSIX_MASK  0x4000
#define FIRST_VEC  HOST_IRQ_FIRST
#define SECOND_VEC (HOST_IRQ_FIRST + 1)

/*
 * The capabilities a driver finds by walking the guest's list from 0x34
 * (PCI 3.0 6.7): their IDs and offsets. Fails on a pointer into the
 * header, one not dword aligned, or a list longer than `max` (a loop).
 */
static u32 guest_caps(u8 *ids, u8 *at, u32 max)
{
	u32 n = 0;
	u8 p;

	assert_true(guest_read(0x06, 2) & VPCI_STATUS_CAP_LIST);
	p = (u8)guest_read(0x34, 1);
	while (p) {
		if (p < 0x40 || (p & 3))
			fail_msg("capability pointer 0x%02x", p);
		if (n == max)
			fail_msg("more than %u capabilities", max);
		ids[n] = (u8)guest_read(p, 1);
		at[n] = p;
		n++;
		p = (u8)guest_read((u8)(p + 1), 1);
	}
	return n;
}

/*
 * 00:05.0: a 64-bit BAR 0 of 16 KiB with the MSI-X table (12 entries) at
 * 0x2000, a 32-bit BAR 2 of 4 KiB with the PBA at 0x800; capabilities MSI
 * at 0x60 (64-bit, per-vector masking, 32 messages capable, 4 enabled by
 * an earlier driver), MSI-X at 0x70 and PCI Express at 0x80.
 */
#define X_BDF	     PCI_BDF(0, 5, 0)
#define X_SLOT	     9
#define X_HOST_BAR0  0xfc000000ull
#define X_HOST_BAR2  0xfebf0000u
#define X_TABLE	     0x2000
#define X_PBA	     0x800
#define X_ENTRIES    12
#define X_GUEST_BASE 0xd0000000ull
#define X_MSI	     0x60
#define X_MSIX	     0x70

static struct fake_fn *xdev;
/* The host BARs' memory: pt.bar[0].host and pt.bar[2].host point here. */
static _Alignas(64) u8 xbar0[KiB(16)];
static _Alignas(64) u8 xbar2[KiB(4)];

static void build_x(void)
{
	struct fake_fn *f = fake_add(5, 0x1af4, 0x1041, 0x020000, 1, 0);

	fake_bar64(f, 0, X_HOST_BAR0, KiB(16), false);
	fake_bar(f, 2, X_HOST_BAR2, KiB(4));
	set16(f, 0x06, VPCI_STATUS_CAP_LIST);
	f->cfg[0x34] = X_MSI;
	set32(f, X_MSI, PCI_CAP_ID_MSI | X_MSIX << 8 | 0x01aau << 16);
	set32(f, X_MSIX, PCI_CAP_ID_MSIX | 0x80 << 8 | (X_ENTRIES - 1) << 16);
	set32(f, X_MSIX + 4, X_TABLE | 0);
	set32(f, X_MSIX + 8, X_PBA | 2);
	set32(f, 0x80, PCI_CAP_ID_PCIE | 0x0002u << 16);
	xdev = f;
}

/* 00:05.0 as configured now, in slot X_SLOT of a fresh bus, its host BARs
 * in xbar0 (0xa5 everywhere) and xbar2 (0, the PBA with the host's own
 * pending bit 5). */
static void init_x(void)
{
	const struct pci_device *d;
	u64 next = X_GUEST_BASE;
	char err[160] = "";

	assert_int_equal(pci_enumerate(), 2);
	d = pci_find(X_BDF);
	assert_non_null(d);
	vpci_init(&bus);
	reset_counts();
	host_printk_reset();
	assert_true(vpassthru_init(&pt, d, X_SLOT, &next, LIMIT, &host, err,
				   sizeof(err)));
	assert_string_equal(err, "");
	assert_int_equal(next, X_GUEST_BASE + KiB(20));
	assert_true(vpci_attach(&bus, X_SLOT, &pt.pci));
	gslot = X_SLOT;
	assert_int_equal(pt.bar[0].host, X_HOST_BAR0);
	assert_int_equal(pt.bar[2].host, X_HOST_BAR2);
	memset(xbar0, 0xa5, sizeof(xbar0));
	memset(xbar2, 0, sizeof(xbar2));
	xbar2[X_PBA] = 0x20;
	pt.bar[0].host = (u64)(uintptr_t)xbar0;
	pt.bar[2].host = (u64)(uintptr_t)xbar2;
}

static void attach_x(void)
{
	build_x();
	init_x();
}

/* The host's MSI-X table entry i, dword at `field`. */
static u32 hent(u32 i, u32 field)
{
	u32 v;

	memcpy(&v, xbar0 + X_TABLE + 16 * i + field, 4);
	return v;
}

static struct vpassthru_bar *tbar(void)
{
	return &pt.bar[0];
}

static struct vpassthru_bar *pbar(void)
{
	return &pt.bar[2];
}

/* The guest's table entry i, dword at `field`, through the BAR. */
static u32 gent(u32 i, u32 field)
{
	return (u32)bar_read(tbar(), X_TABLE + 16 * i + field, 4);
}

/* The guest programs entry i as a driver does: the address as a qword,
 * the data, then the vector control. */
static void gent_set(u32 i, u64 addr, u32 data, u32 ctrl)
{
	bar_write(tbar(), X_TABLE + 16 * i, 8, addr);
	bar_write(tbar(), X_TABLE + 16 * i + 8, 4, data);
	bar_write(tbar(), X_TABLE + 16 * i + 12, 4, ctrl);
}

static void gent_ctrl(u32 i, u32 ctrl)
{
	bar_write(tbar(), X_TABLE + 16 * i + 12, 4, ctrl);
}

/* The host function's Message Control words. */
static u16 host_msi_ctrl(const struct fake_fn *f, u16 cap)
{
	return get16(f, (u16)(cap + 2));
}

static void test_caps_msi_layout(void **state)
{
	u8 ids[8], at[8];

	(void)state;
	attach();
	assert_int_equal(guest_caps(ids, at, 8), 1);
	assert_int_equal(ids[0], PCI_CAP_ID_MSI);
	assert_int_equal(at[0], G_MSI);
	/* 64-bit layout, Multiple Message Capable 0, off; nothing else. */
	assert_int_equal(guest_read(G_MSI_CTRL, 2), 0x0080);
	for (u8 off = G_MSI + 4; off < G_MSI + 16; off = (u8)(off + 4))
		assert_int_equal(guest_read(off, 4), 0);
	/* Header and read-only control bits stay; the address's bits 1:0
	 * are 0; the data is 16 bits. */
	guest_write(G_MSI, 2, 0xffff);
	guest_write(G_MSI_CTRL, 2, 0xfffe);
	assert_int_equal(guest_read(G_MSI, 4), 0x00800005);
	guest_write(G_MSI_ADDR_LO, 4, 0xffffffffu);
	guest_write(G_MSI_ADDR_HI, 4, 0xffffffffu);
	guest_write(G_MSI_DATA, 4, 0xffffffffu);
	assert_int_equal(guest_read(G_MSI_ADDR_LO, 4), 0xfffffffcu);
	assert_int_equal(guest_read(G_MSI_ADDR_HI, 4), 0xffffffffu);
	assert_int_equal(guest_read(G_MSI_DATA, 4), 0x0000ffff);
	/* Enable is the one writable control bit. */
	guest_write(G_MSI_CTRL, 2, 0xffff);
	assert_int_equal(guest_read(G_MSI_CTRL, 2), 0x0081);
	/* Nothing after the capability. */
	assert_int_equal(guest_read(0x50, 4), 0);
}

static void test_caps_msi_and_msix(void **state)
{
	u8 ids[8], at[8];

	(void)state;
	attach_x();
	/* MSI then MSI-X, at the guest's own offsets; the host's PCI
	 * Express capability is not shown. */
	assert_int_equal(guest_caps(ids, at, 8), 2);
	assert_int_equal(ids[0], PCI_CAP_ID_MSI);
	assert_int_equal(at[0], G_MSI);
	assert_int_equal(ids[1], PCI_CAP_ID_MSIX);
	assert_int_equal(at[1], G_MSIX);
	assert_int_equal(guest_read(0x34, 1), G_MSI);
	/* The host's per-vector masking, 32 messages and MME are hidden. */
	assert_int_equal(guest_read(G_MSI_CTRL, 2), 0x0080);
	/* Table Size 8 of the host's 12 (field: size - 1); the host's table
	 * and PBA offsets and BIRs. */
	assert_int_equal(guest_read(G_MSIX, 4), 0x00070011);
	assert_int_equal(guest_read(G_MSIX_TABLE, 4), X_TABLE | 0);
	assert_int_equal(guest_read(G_MSIX_PBA, 4), X_PBA | 2);
	assert_int_equal(pt.msix_size, 8);
	assert_int_equal(pt.host_msix_size, X_ENTRIES);
	/* Only Enable and Function Mask are writable. */
	guest_write(G_MSIX_CTRL, 2, 0xffff);
	assert_int_equal(guest_read(G_MSIX_CTRL, 2), 0xc007);
	guest_write(G_MSIX_CTRL, 2, 0);
	assert_int_equal(guest_read(G_MSIX_CTRL, 2), 0x0007);
	guest_write(G_MSIX_TABLE, 4, 0xffffffffu);
	guest_write(G_MSIX_PBA, 4, 0);
	guest_write(G_MSIX, 2, 0xffff);
	assert_int_equal(guest_read(G_MSIX, 4), 0x00070011);
	assert_int_equal(guest_read(G_MSIX_TABLE, 4), X_TABLE);
	assert_int_equal(guest_read(G_MSIX_PBA, 4), X_PBA | 2);
	assert_int_equal(guest_read(G_MSIX + 12, 4), 0);
	/* Building the view wrote nothing to the host function. */
	attach_x();
	assert_int_equal(
	    xdev->command_writes + xdev->bar_writes + xdev->other_writes, 0);
}

/* A host table smaller than VPASSTHRU_VECTORS: all of it. */
static void test_caps_msix_small_table(void **state)
{
	(void)state;
	build_x();
	set32(xdev, X_MSIX, PCI_CAP_ID_MSIX | 0x80 << 8 | 2u << 16);
	init_x();
	assert_int_equal(guest_read(G_MSIX, 4), 0x00020011);
	assert_int_equal(pt.msix_size, 3);
	/* Entry 3 is past the table: reads 0 and takes no write. */
	assert_int_equal(gent(2, 12), 1);
	assert_int_equal(gent(3, 12), 0xa5a5a5a5u);
	bar_write(tbar(), X_TABLE + 3 * 16 + 8, 4, 0x12345678);
	assert_int_equal(hent(3, 8), 0x12345678);
}

static void test_caps_none(void **state)
{
	(void)state;
	/* The host function without a capability list. */
	set16(dev, 0x06, 0x2000);
	assert_int_equal(pci_enumerate(), 1);
	attach();
	assert_int_equal(guest_read(0x06, 2), 0);
	assert_int_equal(guest_read(0x34, 1), 0);
	assert_int_equal(guest_read(G_MSI, 4), 0);
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(guest_read(G_MSI, 4), 0);
	assert_int_equal(pt.msi_cap + pt.msix_cap, 0);
	/* Nothing but the command is ever written to the host. */
	guest_write(0x04, 2, 0x0006);
	assert_int_equal(dev->other_writes + dev->bar_writes, 0);
	assert_int_equal(hv.allocs + io.routes, 0);
}

/* MSI-X whose table or PBA the guest could not reach: not offered, MSI
 * still is. */
static void test_caps_msix_unreachable(void **state)
{
	static const struct {
		u32 table, pba;
	} cases[] = {
	    {X_TABLE | 5, X_PBA | 2},  /* no BAR 5 */
	    {X_TABLE | 1, X_PBA | 2},  /* BAR 0's upper half */
	    {X_TABLE | 7, X_PBA | 2},  /* no such BIR */
	    {X_TABLE | 0, X_PBA | 3},  /* PBA in no BAR */
	    {X_TABLE | 0, X_PBA | 6},  /* PBA BIR past the BARs */
	    {0x3f80 | 0, X_PBA | 2},   /* 12 entries past BAR 0's end */
	    {X_TABLE | 0, 0x1000 | 2}, /* PBA past BAR 2's end */
	    {0x4000 | 0, X_PBA | 2},   /* table at BAR 0's end */
	};
	u8 ids[8], at[8];

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		build_x();
		set32(xdev, X_MSIX + 4, cases[i].table);
		set32(xdev, X_MSIX + 8, cases[i].pba);
		init_x();
		if (guest_caps(ids, at, 8) != 1 || ids[0] != PCI_CAP_ID_MSI ||
		    pt.msix_cap)
			fail_msg("case %u: MSI-X offered", i);
		/* The BAR's bytes are the host's, nothing virtual. */
		assert_int_equal(bar_read(tbar(), X_TABLE + 12, 4),
				 0xa5a5a5a5u);
		memset(fakes, 0, sizeof(fakes));
		build();
	}
	/* The table exactly up to BAR 0's end, the PBA up to BAR 2's: fine. */
	build_x();
	set32(xdev, X_MSIX + 4, 0x3f40 | 0);
	set32(xdev, X_MSIX + 8, 0xff8 | 2);
	init_x();
	assert_int_equal(guest_caps(ids, at, 8), 2);
	assert_int_equal(ids[1], PCI_CAP_ID_MSIX);
}

/* ---- MSI ---- */

/* The guest's message for MSI: address 0x2_fee01000, data 0x41. */
static void guest_msi(void)
{
	guest_write(G_MSI_ADDR_LO, 4, 0xfee01000u);
	guest_write(G_MSI_ADDR_HI, 4, 0x2);
	guest_write(G_MSI_DATA, 2, 0x0041);
}

static void test_msi_programs_host(void **state)
{
	(void)state;
	attach();
	guest_msi();
	/* Not enabled: nothing asked for, the host's MSI off. */
	assert_int_equal(hv.allocs + io.routes, 0);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI);

	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(hv.allocs, 1);
	assert_int_equal(vectors_in_use(), 1);
	assert_int_equal(io.routes, 1);
	assert_int_equal(io.bdf, DEV_BDF);
	assert_int_equal(io.vector, FIRST_VEC);
	assert_int_equal(io.apic, IRQ_APIC);
	assert_int_equal(apic_asks, 1);
	/* Veneer's message, in the host's 32-bit layout (data at 0x08). */
	assert_int_equal(get32(dev, 0x54), (u32)FAKE_ADDR(FIRST_HANDLE));
	assert_int_equal(get32(dev, 0x58), FAKE_DATA(FIRST_VEC));
	assert_int_equal(get32(dev, 0x5c), 0);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI | 1u << 16);
	assert_int_equal(pt.vec[0].handle, FIRST_HANDLE);
	assert_int_equal(pt.vec[0].host_vector, FIRST_VEC);
	/* The guest still sees its own. */
	assert_int_equal(guest_read(G_MSI_ADDR_LO, 4), 0xfee01000u);
	assert_int_equal(guest_read(G_MSI_ADDR_HI, 4), 0x2);
	assert_int_equal(guest_read(G_MSI_DATA, 2), 0x41);
	assert_int_equal(guest_read(G_MSI_CTRL, 2), 0x0081);

	/* Off, then on again: the host follows; the vector and route made
	 * the first time are kept. */
	guest_write(G_MSI_CTRL, 2, 0);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI);
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI | 1u << 16);
	assert_int_equal(hv.allocs, 1);
	assert_int_equal(io.routes, 1);
	/* A new guest message changes nothing of the host's. */
	guest_write(G_MSI_ADDR_LO, 4, 0xfee0f000u);
	guest_write(G_MSI_DATA, 2, 0x0099);
	assert_int_equal(get32(dev, 0x54), (u32)FAKE_ADDR(FIRST_HANDLE));
	assert_int_equal(get32(dev, 0x58), FAKE_DATA(FIRST_VEC));
	assert_int_equal(hv.allocs, 1);
}

/* A 64-bit host MSI capability that an earlier driver left with 4
 * messages enabled: one message, the upper address half at 0x08, the
 * data at 0x0c. */
static void test_msi_programs_host_64bit(void **state)
{
	(void)state;
	attach_x();
	io.addr_hi = 0x1;
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(io.bdf, X_BDF);
	assert_int_equal(get32(xdev, X_MSI + 4), (u32)FAKE_ADDR(FIRST_HANDLE));
	assert_int_equal(get32(xdev, X_MSI + 8), 0x1);
	assert_int_equal(get32(xdev, X_MSI + 12), FAKE_DATA(FIRST_VEC));
	/* MME cleared, Enable set, the read-only bits as they were. */
	assert_int_equal(host_msi_ctrl(xdev, X_MSI), 0x018b);
	/* MSI-X stays off in the host. */
	assert_int_equal(host_msi_ctrl(xdev, X_MSIX) & MSIX_ON, 0);
	guest_write(G_MSI_CTRL, 2, 0);
	assert_int_equal(host_msi_ctrl(xdev, X_MSI), 0x018a);
}

static void test_msi_delivery(void **state)
{
	(void)state;
	attach();
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	/* Nothing fired: nothing to send. */
	deliver();
	assert_int_equal(nsent, 0);

	fire(FIRST_VEC);
	assert_int_equal(irqs, 1);
	assert_ptr_equal(irq_ctx, &ctx_token);
	assert_int_equal(nsent, 0); /* never from interrupt context */
	deliver();
	assert_int_equal(nsent, 1);
	assert_ptr_equal(sent[0].ctx, &send_token);
	assert_int_equal(sent[0].addr, 0x2fee01000ull);
	assert_int_equal(sent[0].data, 0x41);
	deliver();
	assert_int_equal(nsent, 1);

	/* The guest's message as it is at delivery. */
	fire(FIRST_VEC);
	guest_write(G_MSI_DATA, 2, 0x0042);
	guest_write(G_MSI_ADDR_HI, 4, 0);
	deliver();
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].addr, 0xfee01000ull);
	assert_int_equal(sent[1].data, 0x42);
	assert_int_equal(irqs, 2);
}

static void test_msi_disabled_drops(void **state)
{
	(void)state;
	attach();
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	fire(FIRST_VEC);
	guest_write(G_MSI_CTRL, 2, 0);
	deliver();
	assert_int_equal(nsent, 0);
	/* Dropped, not kept for later. */
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	deliver();
	assert_int_equal(nsent, 0);
	fire(FIRST_VEC);
	deliver();
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].data, 0x41);
}

static void test_release_msi(void **state)
{
	(void)state;
	attach();
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	fire(FIRST_VEC); /* pending at the release */
	vpassthru_release(&pt);
	/* The host's MSI off, the route and the vector gone. */
	assert_int_equal(get32(dev, 0x50) >> 16 & MSI_ON, 0);
	assert_int_equal(io.unroutes, 1);
	assert_int_equal(io.unrouted[0], FIRST_HANDLE);
	assert_int_equal(io.unroute_bdf, DEV_BDF);
	assert_int_equal(hv.frees, 1);
	assert_int_equal(hv.last_freed, FIRST_VEC);
	assert_int_equal(vectors_in_use(), 0);
	assert_int_equal(pt.vec[0].handle, IOMMU_NO_IRQ);
	assert_int_equal(pt.vec[0].host_vector, -1);
	/* What was pending is not sent. */
	deliver();
	assert_int_equal(nsent, 0);
	/* A second release frees nothing twice (the fake fails if so). */
	vpassthru_release(&pt);
	assert_int_equal(io.unroutes, 1);
	assert_int_equal(hv.frees, 1);
}

/* Never set up: nothing to free, the host's MSI written off anyway. */
static void test_release_unused(void **state)
{
	(void)state;
	attach();
	vpassthru_release(&pt);
	assert_int_equal(io.unroutes + hv.frees, 0);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI);
}

/* ---- MSI-X ---- */

static void test_msix_table_virtual(void **state)
{
	(void)state;
	attach_x();
	/* Every entry offered starts masked, the rest zero. */
	for (u32 i = 0; i < 8; i++) {
		assert_int_equal(gent(i, 0), 0);
		assert_int_equal(gent(i, 4), 0);
		assert_int_equal(gent(i, 8), 0);
		assert_int_equal(gent(i, 12), 1);
	}
	/* Qword and dword writes, read back both ways. */
	bar_write(tbar(), X_TABLE, 8, 0x00000003fee03000ull);
	bar_write(tbar(), X_TABLE + 8, 4, 0x61);
	assert_int_equal(gent(0, 0), 0xfee03000u);
	assert_int_equal(gent(0, 4), 0x3);
	assert_int_equal(bar_read(tbar(), X_TABLE, 8), 0x00000003fee03000ull);
	assert_int_equal(bar_read(tbar(), X_TABLE + 8, 8),
			 0x0000000100000061ull);
	bar_write(tbar(), X_TABLE + 7 * 16 + 8, 8, 0x0000000000abcdefull);
	assert_int_equal(gent(7, 8), 0xabcdef);
	assert_int_equal(gent(7, 12), 0);
	bar_write(tbar(), X_TABLE + 7 * 16 + 4, 4, 0xffffffffu);
	assert_int_equal(bar_read(tbar(), X_TABLE + 7 * 16, 8),
			 0xffffffff00000000ull);
	/* Address bits 1:0 and the reserved control bits read 0. */
	bar_write(tbar(), X_TABLE + 16, 4, 0xfee04003u);
	assert_int_equal(gent(1, 0), 0xfee04000u);
	gent_ctrl(1, 0xfffffffeu);
	assert_int_equal(gent(1, 12), 0);
	gent_ctrl(1, 0xffffffffu);
	assert_int_equal(gent(1, 12), 1);
	/* MSI-X is off: the host's entries keep their messages (masked at
	 * most), nothing is asked for. */
	for (u32 i = 0; i < X_ENTRIES; i++) {
		assert_int_equal(hent(i, 0), 0xa5a5a5a5u);
		assert_int_equal(hent(i, 4), 0xa5a5a5a5u);
		assert_int_equal(hent(i, 8), 0xa5a5a5a5u);
		assert_true(hent(i, 12) & 1);
	}
	assert_int_equal(hv.allocs + io.routes, 0);
	/* Each entry is the guest's own (its neighbours unchanged). */
	assert_int_equal(gent(2, 0), 0);
	assert_int_equal(gent(6, 12), 1);
}

static void test_msix_unmask_programs_host(void **state)
{
	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	/* Enabled, every entry masked: the host's too, nothing asked. */
	assert_int_equal(host_msi_ctrl(xdev, X_MSIX) & 0xc000, MSIX_ON);
	for (u32 i = 0; i < 8; i++)
		assert_int_equal(hent(i, 12), 1);
	assert_int_equal(hv.allocs, 0);

	gent_set(2, 0xfee05000u, 0x71, 1);
	assert_int_equal(hv.allocs, 0);
	assert_int_equal(hent(2, 0), 0xa5a5a5a5u);
	gent_ctrl(2, 0);
	assert_int_equal(hv.allocs, 1);
	assert_int_equal(io.routes, 1);
	assert_int_equal(io.bdf, X_BDF);
	assert_int_equal(io.vector, FIRST_VEC);
	assert_int_equal(io.apic, IRQ_APIC);
	assert_int_equal(hent(2, 0), (u32)FAKE_ADDR(FIRST_HANDLE));
	assert_int_equal(hent(2, 4), 0);
	assert_int_equal(hent(2, 8), FAKE_DATA(FIRST_VEC));
	assert_int_equal(hent(2, 12), 0);
	/* The others stay masked; the guest sees its own entry. */
	for (u32 i = 0; i < 8; i++)
		if (i != 2)
			assert_int_equal(hent(i, 12), 1);
	assert_int_equal(gent(2, 0), 0xfee05000u);
	assert_int_equal(gent(2, 8), 0x71);
	assert_int_equal(gent(2, 12), 0);
	/* The host's MSI is left off. */
	assert_int_equal(host_msi_ctrl(xdev, X_MSI) & MSI_ON, 0);

	/* Masked again: the host's entry too; unmasked: no new vector. */
	gent_ctrl(2, 1);
	assert_int_equal(hent(2, 12), 1);
	assert_int_equal(hent(2, 0), (u32)FAKE_ADDR(FIRST_HANDLE));
	gent_ctrl(2, 0);
	assert_int_equal(hent(2, 12), 0);
	assert_int_equal(hv.allocs, 1);
	assert_int_equal(io.routes, 1);

	/* A second entry gets a vector and a route of its own. */
	gent_set(5, 0xfee06000u, 0x72, 0);
	assert_int_equal(hv.allocs, 2);
	assert_int_equal(io.vector, SECOND_VEC);
	assert_int_equal(hent(5, 0), (u32)FAKE_ADDR(FIRST_HANDLE + 1));
	assert_int_equal(hent(5, 8), FAKE_DATA(SECOND_VEC));
	assert_int_equal(hent(5, 12), 0);

	/* MSI-X off in the guest: off in the host. */
	guest_write(G_MSIX_CTRL, 2, 0);
	assert_int_equal(host_msi_ctrl(xdev, X_MSIX) & MSIX_ON, 0);
}

/* Unmasked before MSI-X is enabled (as Linux does it): the host entry is
 * programmed when the guest enables MSI-X. */
static void test_msix_enable_after_unmask(void **state)
{
	(void)state;
	attach_x();
	gent_set(0, 0xfee07000u, 0x33, 0);
	assert_int_equal(hv.allocs, 0);
	assert_int_equal(hent(0, 12), 1);
	guest_write(G_MSIX_CTRL, 2, MSIX_ON | MSIX_MASK);
	assert_int_equal(hv.allocs, 0);
	assert_int_equal(hent(0, 12), 1);
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	assert_int_equal(hv.allocs, 1);
	assert_int_equal(hent(0, 0), (u32)FAKE_ADDR(FIRST_HANDLE));
	assert_int_equal(hent(0, 12), 0);
	assert_int_equal(host_msi_ctrl(xdev, X_MSIX) & 0xc000, MSIX_ON);
}

static void test_msix_function_mask(void **state)
{
	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(0, 0xfee01000u, 0x40, 0);
	gent_set(1, 0xfee02000u, 0x41, 0);
	assert_int_equal(hent(0, 12), 0);
	assert_int_equal(hent(1, 12), 0);

	guest_write(G_MSIX_CTRL, 2, MSIX_ON | MSIX_MASK);
	assert_int_equal(guest_read(G_MSIX_CTRL, 2), 0xc007);
	for (u32 i = 0; i < 8; i++)
		assert_int_equal(hent(i, 12), 1);
	/* The guest's own mask bits are unchanged by it. */
	assert_int_equal(gent(0, 12), 0);
	assert_int_equal(gent(1, 12), 0);
	/* Unmasking an entry under the function mask changes nothing. */
	gent_set(3, 0xfee03000u, 0x43, 0);
	assert_int_equal(hent(3, 12), 1);
	assert_int_equal(hv.allocs, 2);

	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	assert_int_equal(hent(0, 12), 0);
	assert_int_equal(hent(1, 12), 0);
	assert_int_equal(hent(3, 12), 0);
	assert_int_equal(hent(2, 12), 1);
	assert_int_equal(hv.allocs, 3);
	assert_int_equal(hent(3, 0), (u32)FAKE_ADDR(FIRST_HANDLE + 2));
}

static void test_msix_delivery(void **state)
{
	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(1, 0x00000001fee01000ull, 0x51, 0); /* FIRST_VEC */
	gent_set(4, 0xfee02000u, 0x54, 0);	     /* SECOND_VEC */
	fire(SECOND_VEC);
	fire(FIRST_VEC);
	assert_int_equal(irqs, 2);
	deliver();
	/* Both, in entry order, each with the guest's message. */
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[0].addr, 0x1fee01000ull);
	assert_int_equal(sent[0].data, 0x51);
	assert_ptr_equal(sent[0].ctx, &send_token);
	assert_int_equal(sent[1].addr, 0xfee02000ull);
	assert_int_equal(sent[1].data, 0x54);
	deliver();
	assert_int_equal(nsent, 2);

	/* MSI-X turned off meanwhile: dropped. */
	fire(FIRST_VEC);
	guest_write(G_MSIX_CTRL, 2, 0);
	deliver();
	assert_int_equal(nsent, 2);
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	deliver();
	assert_int_equal(nsent, 2);
}

static void test_msix_held_until_unmask(void **state)
{
	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(0, 0xfee08000u, 0x66, 0);
	/* The host's own PBA bit 5 shows through. */
	assert_int_equal(bar_read(pbar(), X_PBA, 8), 0x20);

	/* It fires just as the guest masks the entry. */
	gent_ctrl(0, 1);
	fire(FIRST_VEC);
	assert_int_equal(irqs, 1);
	deliver();
	assert_int_equal(nsent, 0);
	/* Held: its PBA bit is set, at both widths. */
	assert_int_equal(bar_read(pbar(), X_PBA, 8), 0x21);
	assert_int_equal(bar_read(pbar(), X_PBA, 4), 0x21);
	/* Still masked: still held. */
	deliver();
	assert_int_equal(nsent, 0);
	assert_int_equal(bar_read(pbar(), X_PBA, 4), 0x21);

	/* Unmasked: the platform is told at once, the next delivery sends
	 * it, the PBA bit goes. */
	gent_ctrl(0, 0);
	assert_int_equal(irqs, 2);
	assert_int_equal(nsent, 0);
	deliver();
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].addr, 0xfee08000ull);
	assert_int_equal(sent[0].data, 0x66);
	assert_int_equal(bar_read(pbar(), X_PBA, 8), 0x20);
	deliver();
	assert_int_equal(nsent, 1);

	/* The same under the function mask. */
	guest_write(G_MSIX_CTRL, 2, MSIX_ON | MSIX_MASK);
	fire(FIRST_VEC);
	deliver();
	assert_int_equal(nsent, 1);
	assert_int_equal(bar_read(pbar(), X_PBA, 4), 0x21);
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	assert_int_equal(irqs, 4);
	deliver();
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].data, 0x66);
	assert_int_equal(bar_read(pbar(), X_PBA, 4), 0x20);
}

static void test_msix_past_entries(void **state)
{
	const u32 end = X_TABLE + 8 * 16, host_end = X_TABLE + X_ENTRIES * 16;
	u8 before[sizeof(xbar0)];

	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	memcpy(before, xbar0, sizeof(xbar0));
	/* Entries 8-11 of the host's table: not the guest's. */
	for (u32 off = end; off < host_end; off += 4) {
		assert_int_equal(bar_read(tbar(), off, 4), 0);
		bar_write(tbar(), off, 4, 0);
	}
	for (u32 off = end; off < host_end; off += 8) {
		assert_int_equal(bar_read(tbar(), off, 8), 0);
		bar_write(tbar(), off, 8, 0);
	}
	assert_memory_equal(xbar0, before, sizeof(xbar0));
	assert_int_equal(hv.allocs, 0);
	/* After the host's table: the device's registers again. */
	assert_int_equal(bar_read(tbar(), host_end, 4), 0xa5a5a5a5u);
	bar_write(tbar(), host_end, 4, 0x01020304);
	assert_int_equal(xbar0[host_end], 0x04);
	/* Before the table too. */
	bar_write(tbar(), X_TABLE - 4, 4, 0x05060708);
	assert_int_equal(xbar0[X_TABLE - 4], 0x08);
}

static void test_msix_pba_read_only(void **state)
{
	u8 before[sizeof(xbar2)];

	(void)state;
	attach_x();
	memcpy(before, xbar2, sizeof(xbar2));
	bar_write(pbar(), X_PBA, 8, ~0ull);
	bar_write(pbar(), X_PBA, 4, ~0ull);
	bar_write(pbar(), X_PBA + 4, 4, ~0ull);
	bar_write(pbar(), X_PBA, 1, 0);
	bar_write(pbar(), X_PBA + 6, 2, 0xffff);
	assert_memory_equal(xbar2, before, sizeof(xbar2));
	assert_int_equal(bar_read(pbar(), X_PBA, 8), 0x20);
	/* The rest of BAR 2 is the device's. */
	bar_write(pbar(), X_PBA + 8, 4, 0xcafe);
	assert_int_equal(bar_read(pbar(), X_PBA + 8, 4), 0xcafe);
	bar_write(pbar(), X_PBA - 4, 4, 0xbeef);
	assert_int_equal(bar_read(pbar(), X_PBA - 4, 4), 0xbeef);
}

/* The guest's table and the host's after each misaligned access. */
static void check_table_unchanged(const u8 *host_before)
{
	assert_memory_equal(xbar0, host_before, sizeof(xbar0));
	assert_int_equal(gent(0, 0), 0xfee09000u);
	assert_int_equal(gent(0, 4), 0);
	assert_int_equal(gent(0, 8), 0x77);
	assert_int_equal(gent(0, 12), 1);
	assert_int_equal(gent(1, 12), 1);
}

static void test_msix_misaligned(void **state)
{
	static u8 before[sizeof(xbar0)];

	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(0, 0xfee09000u, 0x77, 0);
	gent_ctrl(0, 1);
	memcpy(before, xbar0, sizeof(xbar0));
	/* Dwords not on a dword, qwords not on a qword: all ones, dropped. */
	for (u32 off = 1; off < 32; off++) {
		if (off % 4) {
			assert_int_equal(bar_read(tbar(), X_TABLE + off, 4),
					 0xffffffffu);
			bar_write(tbar(), X_TABLE + off, 4, 0);
		}
		if (off % 8) {
			assert_int_equal(bar_read(tbar(), X_TABLE + off, 8),
					 ~0ull);
			bar_write(tbar(), X_TABLE + off, 8, 0);
		}
		check_table_unchanged(before);
	}
	/* Widths no access has. */
	bar_write(tbar(), X_TABLE + 12, 3, 0);
	bar_write(tbar(), X_TABLE, 16, 0);
	assert_int_equal(bar_read(tbar(), X_TABLE, 3), 0xffffff);
	check_table_unchanged(before);
	assert_int_equal(hv.allocs, 1);
}

/*
 * Byte and word accesses to the guest's table (6.8.2: dwords and aligned
 * qwords only) change nothing, neither the guest's table nor the host's,
 * and read nothing of the host's: a guest that reached the host's table
 * could unmask or rewrite Veneer's messages.
 */
static void test_msix_narrow_accesses(void **state)
{
	static u8 before[sizeof(xbar0)];

	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(0, 0xfee09000u, 0x77, 0);
	gent_ctrl(0, 1);
	memcpy(before, xbar0, sizeof(xbar0));
	for (u32 off = 0; off < 32; off++) {
		bar_write(tbar(), X_TABLE + off, 1, 0);
		if (!(off & 1))
			bar_write(tbar(), X_TABLE + off, 2, 0);
		check_table_unchanged(before);
	}
	/* Veneer's message is not the guest's to read. */
	assert_int_not_equal(bar_read(tbar(), X_TABLE + 8, 2),
			     FAKE_DATA(FIRST_VEC) & 0xffff);
}

/* Enabling MSI-X turns the host's MSI off (never both, 6.8.3.1). */
static void test_msix_wins_over_msi(void **state)
{
	(void)state;
	attach_x();
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_true(host_msi_ctrl(xdev, X_MSI) & MSI_ON);
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	assert_int_equal(host_msi_ctrl(xdev, X_MSI) & MSI_ON, 0);
	assert_true(host_msi_ctrl(xdev, X_MSIX) & MSIX_ON);
	/* An MSI that fired is no MSI-X entry's: entry 0 is masked, so it
	 * is held, not sent as MSI. */
	fire(FIRST_VEC);
	deliver();
	assert_int_equal(nsent, 0);
	guest_write(G_MSIX_CTRL, 2, 0);
	assert_true(host_msi_ctrl(xdev, X_MSI) & MSI_ON);
	assert_int_equal(host_msi_ctrl(xdev, X_MSIX) & MSIX_ON, 0);
}

static void test_release_msix(void **state)
{
	(void)state;
	attach_x();
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(0, 0xfee01000u, 0x40, 0);
	gent_set(3, 0xfee02000u, 0x43, 0);
	assert_int_equal(vectors_in_use(), 2);
	gent_ctrl(3, 1);
	fire(SECOND_VEC); /* held at the release */
	deliver();
	vpassthru_release(&pt);
	assert_int_equal(host_msi_ctrl(xdev, X_MSIX) & MSIX_ON, 0);
	assert_int_equal(host_msi_ctrl(xdev, X_MSI) & MSI_ON, 0);
	assert_int_equal(io.unroutes, 2);
	assert_int_equal(io.unrouted[0], FIRST_HANDLE);
	assert_int_equal(io.unrouted[1], FIRST_HANDLE + 1);
	assert_int_equal(io.unroute_bdf, X_BDF);
	assert_int_equal(hv.frees, 2);
	assert_int_equal(vectors_in_use(), 0);
	assert_int_equal(bar_read(pbar(), X_PBA, 4), 0x20);
	deliver();
	assert_int_equal(nsent, 0);
}

/* ---- what cannot be set up ---- */

#define NO_VECTOR_LINE                                                         \
	"its interrupt %u is not delivered: every host vector for device "     \
	"interrupts is taken\n"

static void test_no_host_vector(void **state)
{
	char want[200];

	(void)state;
	attach();
	hv.fail = true;
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(hv.allocs, 1);
	assert_int_equal(io.routes, 0);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI);
	snformat(want, sizeof(want), "veneer: guest alpha: pci 00:03.0: %s",
		 NO_VECTOR_LINE);
	snformat(want, sizeof(want), want, 0u);
	assert_string_equal(host_printk_text(), want);
	/* Tried again at the next write, said once. */
	guest_write(G_MSI_CTRL, 2, 0);
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_true(hv.allocs >= 2);
	assert_string_equal(host_printk_text(), want);
	deliver();
	assert_int_equal(nsent, 0);
	/* A vector free again: it works. */
	hv.fail = false;
	guest_write(G_MSI_CTRL, 2, 0);
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(io.routes, 1);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI | 1u << 16);
	assert_string_equal(host_printk_text(), want);
	vpassthru_release(&pt);
	assert_int_equal(vectors_in_use(), 0);
}

static void test_no_host_vector_msix(void **state)
{
	(void)state;
	attach_x();
	hv.fail = true;
	guest_write(G_MSIX_CTRL, 2, MSIX_ON);
	gent_set(3, 0xfee01000u, 0x40, 0);
	/* Its host entry stays masked; the line names entry 3. */
	assert_int_equal(hent(3, 12), 1);
	assert_int_equal(hent(3, 0), 0xa5a5a5a5u);
	assert_int_equal(io.routes, 0);
	assert_string_equal(host_printk_text(),
			    "veneer: guest alpha: pci 00:05.0: its interrupt 3 "
			    "is not delivered: every host vector for device "
			    "interrupts is taken\n");
	gent_set(4, 0xfee01000u, 0x41, 0);
	assert_non_null(strstr(host_printk_text(), "interrupt 3"));
	assert_null(strstr(host_printk_text(), "interrupt 4"));
}

static void test_route_fails(void **state)
{
	(void)state;
	attach();
	io.fail = "no remapping entry free";
	guest_msi();
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(io.routes, 1);
	assert_int_equal(get32(dev, 0x50), PCI_CAP_ID_MSI);
	assert_string_equal(host_printk_text(),
			    "veneer: guest alpha: pci 00:03.0: its interrupt 0 "
			    "is not delivered: no remapping entry free\n");
	/* Tried again at the next write with the vector it got. */
	guest_write(G_MSI_CTRL, 2, 0);
	guest_write(G_MSI_CTRL, 2, MSI_ON);
	assert_int_equal(io.routes, 2);
	assert_int_equal(io.vector, FIRST_VEC);
	assert_int_equal(hv.allocs, 1);
	/* Said once. */
	assert_string_equal(host_printk_text(),
			    "veneer: guest alpha: pci 00:03.0: its interrupt 0 "
			    "is not delivered: no remapping entry free\n");
	/* The vector it got is freed at the release, no route to undo. */
	assert_int_equal(vectors_in_use(), 1);
	vpassthru_release(&pt);
	assert_int_equal(vectors_in_use(), 0);
	assert_int_equal(io.unroutes, 0);
}

/*
 * The pages the platform maps straight into the guest: every page of a
 * BAR but the MSI-X table's and the PBA's (the host's table must never be
 * the guest's), none of a BAR under a page (its page holds other
 * registers of the host), none past the BAR's end.
 */
static void test_pages_direct(void **state)
{
	struct vpassthru_bar small;

	(void)state;
	attach_x();
	assert_true(vpassthru_page_direct(tbar(), 0));
	assert_true(vpassthru_page_direct(tbar(), KiB(4)));
	assert_false(vpassthru_page_direct(tbar(), X_TABLE)); /* 0x2000 */
	assert_true(vpassthru_page_direct(tbar(), KiB(12)));
	assert_false(vpassthru_page_direct(tbar(), KiB(16)));
	assert_false(vpassthru_page_direct(pbar(), 0));	    /* the PBA's page */
	assert_false(vpassthru_page_direct(&pt.bar[1], 0)); /* no BAR */
	/* A table that spills into the next page keeps both. */
	pt.msix_offset = 0x1ff0;
	assert_false(vpassthru_page_direct(tbar(), KiB(4)));
	assert_false(vpassthru_page_direct(tbar(), KiB(8)));
	assert_true(vpassthru_page_direct(tbar(), KiB(12)));
	small = pt.bar[0];
	small.size = 256;
	assert_false(vpassthru_page_direct(&small, 0));
	/* A function without MSI-X: the whole BAR. */
	pt.host_msix_size = 0;
	assert_true(vpassthru_page_direct(tbar(), KiB(8)));
	assert_true(vpassthru_page_direct(pbar(), 0));
}

/*
 * INTx: live while the function has a pin, the guest's MSI and MSI-X are
 * off and INTx Disable is clear; then a poll gives the host function's
 * Interrupt Status bit (status bit 3) and the guest's status register
 * shows it; otherwise false, and the guest's bit clear.
 */
static void test_intx_poll(void **state)
{
	(void)state;
	attach();
	assert_true(vpassthru_intx_on(&pt));
	assert_false(vpassthru_intx_poll(&pt));
	assert_int_equal(guest_read(0x06, 2) & VPCI_STATUS_INTX, 0);
	set16(dev, 0x06, 0x2010 | VPCI_STATUS_INTX);
	assert_true(vpassthru_intx_poll(&pt));
	assert_int_equal(guest_read(0x06, 2) & VPCI_STATUS_INTX,
			 VPCI_STATUS_INTX);
	/* INTx Disable set by the guest (forwarded): not live. */
	guest_write(0x04, 2, VPCI_CMD_INTX_DISABLE);
	assert_false(vpassthru_intx_on(&pt));
	assert_false(vpassthru_intx_poll(&pt));
	assert_int_equal(guest_read(0x06, 2) & VPCI_STATUS_INTX, 0);
	guest_write(0x04, 2, 0);
	assert_true(vpassthru_intx_poll(&pt));
	/* MSI on: the function sends messages, INTx is not live. */
	guest_write(pt.msi_cap + 2, 2, 1);
	assert_false(vpassthru_intx_on(&pt));
	assert_false(vpassthru_intx_poll(&pt));
	guest_write(pt.msi_cap + 2, 2, 0);
	assert_true(vpassthru_intx_on(&pt));
	/* A function without a pin has no INTx. */
	pt.pci.config[VPCI_CFG_INTR_PIN] = 0;
	assert_false(vpassthru_intx_on(&pt));
	assert_false(vpassthru_intx_poll(&pt));
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_view_ids),
	    T(test_view_bars),
	    T(test_view_alignment),
	    T(test_view_limit),
	    T(test_sizing_bytewise),
	    T(test_sizing_ports),
	    T(test_command_forwarded),
	    T(test_remap_when_decoding_changes),
	    T(test_bar_reads),
	    T(test_bar_writes),
	    T(test_bar_past_end),
	    T(test_bar_misaligned),
	    T(test_bar_large),
	    T(test_caps_msi_layout),
	    T(test_caps_msi_and_msix),
	    T(test_caps_msix_small_table),
	    T(test_caps_none),
	    T(test_caps_msix_unreachable),
	    T(test_msi_programs_host),
	    T(test_msi_programs_host_64bit),
	    T(test_msi_delivery),
	    T(test_msi_disabled_drops),
	    T(test_release_msi),
	    T(test_release_unused),
	    T(test_msix_table_virtual),
	    T(test_msix_unmask_programs_host),
	    T(test_msix_enable_after_unmask),
	    T(test_msix_function_mask),
	    T(test_msix_delivery),
	    T(test_msix_held_until_unmask),
	    T(test_msix_past_entries),
	    T(test_msix_pba_read_only),
	    T(test_msix_misaligned),
	    T(test_msix_narrow_accesses),
	    T(test_msix_wins_over_msi),
	    T(test_release_msix),
	    T(test_no_host_vector),
	    T(test_no_host_vector_msix),
	    T(test_route_fails),
	    T(test_pages_direct),
	    T(test_intx_poll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
