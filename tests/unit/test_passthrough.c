/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/passthrough.c, host PCI functions given to guests:
 * the checks and their messages, ownership between guests, the guest's
 * IOMMU domain (exactly its RAM), the undoing of a failed claim, and how a
 * function is stopped and reset (PCI Express Function Level Reset, with
 * its BARs put back) when it is claimed, quiesced and released.
 *
 * The host's functions are a fake configuration space behind
 * pci_set_access(), enumerated by drivers/pci.c. The IOMMU is a fake that
 * records every call in a log (with the fake's configuration writes that
 * matter, so their order shows) and lets a test make each call fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arch/x86/tsc.h"
#include "core/guestcfg.h"
#include "core/lib/format.h"
#include "core/lib/string.h"
#include "core/passthrough.h"
#include "core/vm.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"
#include "drivers/uart.h"
#include "tests/unit/host_printk.h"

/* ---- the log of what happened, in order ---- */

static char events[4096];
static size_t events_len;

static void note(const char *fmt, ...) __printf(1, 2);

static void note(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnformat(events + events_len, sizeof(events) - events_len, fmt,
		      ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(events) - events_len);
	events_len += (size_t)n;
}

/* ---- the fake host configuration space ---- */

#define FAKE_MAX 16
#define PCIE_CAP 0x40 /* where the fakes' PCI Express capability sits */

struct fake_fn {
	bool used;
	u16 bdf;
	u8 cfg[4096];
	u32 bar_wmask[PCI_MAX_BARS];
	bool pcie; /* a PCI Express capability at PCIE_CAP */
	u32 command_writes;
	u32 status_half; /* bits ever written into the status half */
	u32 devctl_writes;
	u32 devsta_half; /* bits ever written into Device Status */
	u32 flrs;
	u32 bar_writes;
	u32 intr_writes;
	u32 other_writes;
};

static struct fake_fn fakes[FAKE_MAX];
static u32 cfg_reads, cfg_writes;
/* Calls of the fake IOMMU (below). */
static u32 polls, creates, maps, destroys;

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
	cfg_reads++;
	return f ? get32(f, offset) : 0xffffffffu;
}

/* What Function Level Reset does to the header (PCIe 6.6.2): decoding
 * off, the BARs' address bits and the interrupt line cleared. */
static void fake_flr(struct fake_fn *f)
{
	f->flrs++;
	set16(f, 0x04, 0);
	for (u32 i = 0; i < PCI_MAX_BARS; i++) {
		u16 off = (u16)(PCI_CFG_BAR0 + 4 * i);

		set32(f, off, get32(f, off) & ~f->bar_wmask[i]);
	}
	f->cfg[0x3c] = 0;
}

static void fake_write32(u16 bdf, u16 offset, u32 value)
{
	struct fake_fn *f = fake_of(bdf);

	assert_true(offset < 4096 && (offset & 3) == 0);
	assert_non_null(f); /* nothing is written to absent functions */
	cfg_writes++;
	if (offset == PCI_CFG_COMMAND) {
		f->command_writes++;
		f->status_half |= value >> 16;
		set16(f, 0x04, (u16)value);
		/* Status bits 15:11 and 8 are write-one-to-clear. */
		set16(f, 0x06,
		      get16(f, 0x06) & (u16) ~((value >> 16) & 0xf900));
		note("cmd %02x:%02x.%x=0x%04x; ", PCI_BUS(bdf), PCI_DEV(bdf),
		     PCI_FUNC(bdf), value);
		return;
	}
	if (offset >= PCI_CFG_BAR0 &&
	    offset < PCI_CFG_BAR0 + 4 * PCI_MAX_BARS) {
		u32 m = f->bar_wmask[(offset - PCI_CFG_BAR0) / 4];

		f->bar_writes++;
		set32(f, offset, (get32(f, offset) & ~m) | (value & m));
		return;
	}
	if (offset == PCI_CFG_INTERRUPT) {
		f->intr_writes++;
		f->cfg[0x3c] = (u8)value; /* the line; the rest read-only */
		return;
	}
	if (f->pcie && offset == PCIE_CAP + 8) {
		u32 devcap = get32(f, PCIE_CAP + 4);

		f->devctl_writes++;
		f->devsta_half |= value >> 16;
		note("devctl %02x:%02x.%x=0x%08x; ", PCI_BUS(bdf), PCI_DEV(bdf),
		     PCI_FUNC(bdf), value);
		/* Device Status bits 3:0 are write-one-to-clear; Initiate
		 * FLR reads as 0. */
		set16(f, PCIE_CAP + 0xa,
		      get16(f, PCIE_CAP + 0xa) & (u16) ~((value >> 16) & 0xf));
		set16(f, PCIE_CAP + 8, (u16)value & 0x7fff);
		if ((value & 0x8000) && (devcap & (1u << 28)))
			fake_flr(f);
		return;
	}
	f->other_writes++;
	set32(f, offset, value);
}

static const struct pci_config_ops fake_ops = {
    .read32 = fake_read32,
    .write32 = fake_write32,
};

static struct fake_fn *fake_add(u8 dev, u32 class_code, u8 header)
{
	for (u32 i = 0; i < FAKE_MAX; i++) {
		struct fake_fn *f = &fakes[i];

		if (f->used)
			continue;
		f->used = true;
		f->bdf = PCI_BDF(0, dev, 0);
		set16(f, 0x00, 0x8086);
		set16(f, 0x02, (u16)(0x1000 + dev));
		set32(f, 0x08, class_code << 8 | 1);
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

static void fake_bar64(struct fake_fn *f, u32 i, u64 base, u64 size)
{
	u64 wmask = ~(size - 1);

	set32(f, (u16)(PCI_CFG_BAR0 + 4 * i), (u32)base | 4);
	set32(f, (u16)(PCI_CFG_BAR0 + 4 * i + 4), (u32)(base >> 32));
	f->bar_wmask[i] = (u32)wmask & ~0xfu;
	f->bar_wmask[i + 1] = (u32)(wmask >> 32);
}

/* A PCI Express endpoint capability; FLR in Device Capabilities or not. */
static void fake_pcie(struct fake_fn *f, bool flr)
{
	f->pcie = true;
	f->cfg[PCI_CFG_CAP_PTR] = PCIE_CAP;
	f->cfg[PCIE_CAP] = PCI_CAP_ID_PCIE;
	set16(f, PCIE_CAP + 2, PCIE_TYPE_ENDPOINT << 4 | 2);
	set32(f, PCIE_CAP + 4, flr ? (1u << 28) | 0x8fc1 : 0x8fc1);
	set16(f, PCIE_CAP + 8, 0x2810);	  /* max read request, relaxed order */
	set16(f, PCIE_CAP + 0xa, 0x0004); /* fatal error detected (RW1C) */
	set16(f, 0x06, get16(f, 0x06) | PCI_STATUS_CAP_LIST);
}

#define NIC	    PCI_BDF(0, 3, 0)  /* PCIe, FLR, mem32 BAR0, mem64 BAR2 */
#define BRIDGE	    PCI_BDF(0, 4, 0)  /* header type 1 */
#define IOMMU	    PCI_BDF(0, 5, 0)  /* class 08.06 */
#define HIGH	    PCI_BDF(0, 6, 0)  /* a 64-bit BAR above 4 GiB */
#define UNSET	    PCI_BDF(0, 7, 0)  /* a memory BAR at 0 */
#define PLAIN	    PCI_BDF(0, 8, 0)  /* conventional PCI, no capabilities */
#define ABSENT	    PCI_BDF(0, 9, 0)  /* nothing there */
#define NOFLR	    PCI_BDF(0, 10, 0) /* PCIe without FLR */
#define EDGE	    PCI_BDF(0, 11, 0) /* a BAR ending at 4 GiB exactly */
#define ISA	    PCI_BDF(0, 12, 0) /* class 06.01 */
#define HOSTBR	    PCI_BDF(0, 0, 0)  /* class 06.00 */
#define SERIAL	    PCI_BDF(0, 13, 0) /* a serial card at the console's ports */
#define SERIAL_NEAR PCI_BDF(0, 14, 0) /* one just below them */

#define NIC_BAR0 0xfebc0000u
#define NIC_BAR2 0xfe000000ull

static struct fake_fn *nic, *plain, *noflr;

static void build(void)
{
	struct fake_fn *f;

	fake_add(0, 0x060000, 0);

	f = fake_add(3, 0x020000, 0);
	fake_bar(f, 0, NIC_BAR0, KiB(128));
	fake_bar64(f, 2, NIC_BAR2, KiB(16));
	fake_bar(f, 4, 0xc001, 32);
	f->bar_wmask[4] &= 0xffff;
	set32(f, 0x3c, 0x010b);
	set16(f, 0x04, 0x0547); /* decoding, master, parity, SERR, INTx off */
	set16(f, 0x06, 0x2000); /* received master abort (RW1C) */
	fake_pcie(f, true);
	nic = f;

	f = fake_add(4, 0x060400, 1);
	set32(f, PCI_CFG_BUS_NUMBERS, 0x00010100);

	fake_add(5, 0x080600, 0);

	f = fake_add(6, 0x010802, 0);
	fake_bar64(f, 0, 0x800000000ull, MiB(8));

	f = fake_add(7, 0x078000, 0);
	fake_bar(f, 0, 0xfeb00000, KiB(4));
	fake_bar(f, 1, 0, KiB(4));

	f = fake_add(8, 0x040100, 0);
	fake_bar(f, 0, 0xfebd0000, KiB(4));
	fake_bar(f, 1, 0xc101, 64);
	f->bar_wmask[1] &= 0xffff;
	set32(f, 0x3c, 0x0205);
	set16(f, 0x04, 0x0007);
	plain = f;

	f = fake_add(10, 0x0c0330, 0);
	fake_bar(f, 0, 0xfebd4000, KiB(16));
	set16(f, 0x04, 0x0006);
	fake_pcie(f, false);
	noflr = f;

	f = fake_add(11, 0x030000, 0);
	fake_bar(f, 0, 0xfff00000u, MiB(1));

	fake_add(12, 0x060100, 0);

	f = fake_add(13, 0x070002, 0);
	fake_bar(f, 0, 0x3f9, 8); /* I/O BAR: bit 0 set, base 0x3f8 */
	f->bar_wmask[0] &= 0xffff;

	f = fake_add(14, 0x070002, 0);
	fake_bar(f, 0, 0x3f1, 8); /* 0x3f0-0x3f7: next to it, not on it */
	f->bar_wmask[0] &= 0xffff;
}

/* The console's port, as drivers/uart.c reports it. */
u16 uart_port(void)
{
	return UART_COM1;
}

static void reset_counts(void)
{
	cfg_reads = cfg_writes = 0;
	for (u32 i = 0; i < FAKE_MAX; i++) {
		struct fake_fn *f = &fakes[i];

		f->command_writes = f->status_half = 0;
		f->devctl_writes = f->devsta_half = f->flrs = 0;
		f->bar_writes = f->intr_writes = f->other_writes = 0;
	}
	events_len = 0;
	events[0] = '\0';
	polls = creates = maps = destroys = 0;
}

/* ---- the fake IOMMU and time ---- */

#define DOMS 4

static bool iommu_on;
static struct iommu_domain doms[DOMS];
static bool fail_create;
static int map_rc;
static u16 fail_attach = 0xffff; /* the bdf whose attach fails */
static u64 tsc_now;

bool iommu_present(void)
{
	return iommu_on;
}

struct iommu_domain *iommu_domain_create(const char *owner, char *err,
					 size_t errlen)
{
	creates++;
	note("create %s; ", owner);
	if (fail_create) {
		snformat(err, errlen, "every domain is taken");
		return NULL;
	}
	for (u32 i = 0; i < DOMS; i++)
		if (!doms[i].in_use) {
			memset(&doms[i], 0, sizeof(doms[i]));
			doms[i].id = (u16)(i + 1);
			doms[i].in_use = true;
			str_copy(doms[i].owner, owner, sizeof(doms[i].owner));
			return &doms[i];
		}
	fail_msg("fake domains all taken");
	return NULL;
}

int iommu_map(struct iommu_domain *dom, u64 iova, u64 pa, u64 size, u32 flags)
{
	assert_non_null(dom);
	assert_true(dom->in_use);
	maps++;
	note("map %u 0x%llx+0x%llx->0x%llx flags %u; ", dom->id,
	     (unsigned long long)iova, (unsigned long long)size,
	     (unsigned long long)pa, flags);
	return map_rc;
}

int iommu_attach(u16 bdf, struct iommu_domain *dom, char *err, size_t errlen)
{
	note("attach %02x:%02x.%x %u; ", PCI_BUS(bdf), PCI_DEV(bdf),
	     PCI_FUNC(bdf), dom ? dom->id : 0);
	if (bdf == fail_attach) {
		snformat(err, errlen, "no unit covers it");
		return -1;
	}
	if (dom) {
		assert_true(dom->in_use);
		assert_true(dom->devices < IOMMU_DOMAIN_DEVICES);
		dom->bdfs[dom->devices++] = bdf;
	}
	return 0;
}

/* When set, the next destroy cannot block the devices (and keeps it). */
static bool destroy_fails;

bool iommu_domain_destroy(struct iommu_domain *dom)
{
	if (!dom)
		return true; /* as drivers/iommu.c: nothing to do */
	assert_true(dom->in_use);
	destroys++;
	note("destroy %u; ", dom->id);
	if (destroy_fails) {
		destroy_fails = false;
		return false;
	}
	dom->in_use = false;
	return true;
}

u32 iommu_poll_faults(void)
{
	polls++;
	note("poll; ");
	return 0;
}

/* What passthrough_release() reads the faults with (drivers/iommu.h). */
void iommu_flush_reports(void)
{
	polls++;
	note("flush; ");
}

void udelay(u64 us)
{
	note("udelay %llu; ", (unsigned long long)us);
}

u64 rdtsc(void)
{
	return tsc_now;
}

u64 tsc_from_us(u64 us)
{
	return us * 3;
}

/* ---- guests ---- */

static struct vm vms[3];
static struct guest_cfg cfgs[3];
static char err[200];

#define RAM_HPA	  0x40000000ull
#define RAM_PAGES 0x4000ull /* 64 MiB */

static int setup(void **state)
{
	static const char *const names[] = {"alpha", "beta", "gamma"};

	(void)state;
	memset(fakes, 0, sizeof(fakes));
	memset(doms, 0, sizeof(doms));
	memset(vms, 0, sizeof(vms));
	memset(cfgs, 0, sizeof(cfgs));
	for (u32 i = 0; i < 3; i++) {
		vms[i].id = i;
		str_copy(vms[i].name, names[i], sizeof(vms[i].name));
		vms[i].ram_hpa = RAM_HPA * (i + 1);
		vms[i].ram_alloc_pages = RAM_PAGES << i;
	}
	iommu_on = true;
	fail_create = false;
	map_rc = 0;
	fail_attach = 0xffff;
	tsc_now = 0;
	err[0] = '\0';
	host_printk_reset();
	pci_set_access(&fake_ops, 0, 0, 4096);
	build();
	assert_int_equal(pci_enumerate(), 12);
	reset_counts();
	return 0;
}

/* Whatever a test left owned is given back (the table is host state). */
static int teardown(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	(void)state;
	assert_non_null(vm);
	for (u32 i = 0; i < VM_MAX; i++) {
		vm->id = i;
		vm->pci_count = 0;
		vm->dma = NULL;
		passthrough_release(vm);
	}
	free(vm);
	return 0;
}

static bool claim(u32 v, u32 n, ...)
{
	va_list ap;

	cfgs[v].pci_count = n;
	va_start(ap, n);
	for (u32 i = 0; i < n; i++)
		cfgs[v].pci[i] = (u16)va_arg(ap, u32);
	va_end(ap);
	err[0] = '\0';
	return passthrough_claim(&vms[v], &cfgs[v], err, sizeof(err));
}

#define assert_events(s) assert_string_equal(events, s)

/* bdf is free: guest 2 (gamma) can claim it, then gives it back. */
static void assert_free(u16 bdf)
{
	size_t len = events_len;

	if (!claim(2, 1, bdf))
		fail_msg("%02x:%02x.%x is not free: %s", PCI_BUS(bdf),
			 PCI_DEV(bdf), PCI_FUNC(bdf), err);
	passthrough_release(&vms[2]);
	events_len = len;
	events[len] = '\0';
}

/* ---- tests ---- */

static void test_no_pci(void **state)
{
	(void)state;
	vms[0].pci_count = 3; /* whatever was there */
	vms[0].dma = &doms[3];
	assert_true(claim(0, 0));
	assert_int_equal(vms[0].pci_count, 0);
	assert_null(vms[0].dma);
	iommu_on = false;
	assert_true(claim(1, 0));
	assert_string_equal(err, "");
	assert_int_equal(cfg_reads, 0);
	assert_int_equal(cfg_writes, 0);
	assert_events("");
	assert_int_equal(creates, 0);
	/* Releasing it touches nothing either. */
	passthrough_release(&vms[0]);
	assert_int_equal(cfg_reads + cfg_writes, 0);
	assert_int_equal(polls + destroys, 0);
}

/* pci_unsafe = yes without an IOMMU: given, stopped, no domain, said. */
static void test_unsafe_without_iommu(void **state)
{
	(void)state;
	iommu_on = false;
	cfgs[0].pci_unsafe = true;
	host_printk_reset();
	assert_true(claim(0, 1, PLAIN));
	cfgs[0].pci_unsafe = false;
	assert_int_equal(vms[0].pci_count, 1);
	assert_null(vms[0].dma);
	assert_int_equal(creates, 0);
	assert_non_null(strstr(host_printk_text(),
			       "warning: pci 00:08.0 given without an IOMMU "
			       "(pci_unsafe = yes): its DMA can reach any "
			       "memory of the machine"));
	/* Owned: a second guest cannot have it, even unsafely. */
	cfgs[1].pci_unsafe = true;
	assert_false(claim(1, 1, PLAIN));
	cfgs[1].pci_unsafe = false;
	passthrough_release(&vms[0]);
	assert_int_equal(vms[0].pci_count, 0);
	iommu_on = true;
	assert_free(PLAIN);
}

/* A domain whose devices could not be blocked: release says so, so the
 * guest's RAM is kept out of the pool (core/guest.c). */
static void test_release_when_blocking_fails(void **state)
{
	(void)state;
	assert_true(claim(0, 1, PLAIN));
	destroy_fails = true;
	assert_false(passthrough_release(&vms[0]));
	/* Nothing owned any more, whatever the unit did. */
	assert_null(vms[0].dma);
	assert_int_equal(vms[0].pci_count, 0);
	assert_true(claim(0, 1, PLAIN));
	assert_true(passthrough_release(&vms[0]));
}

static void test_no_iommu(void **state)
{
	(void)state;
	iommu_on = false;
	assert_false(claim(0, 2, PLAIN, NIC));
	assert_string_equal(err, "pci 00:08.0: no IOMMU is on, and without one "
				 "the device could write anywhere in the "
				 "machine (pci_unsafe = yes gives it anyway)");
	assert_int_equal(vms[0].pci_count, 0);
	assert_null(vms[0].dma);
	assert_int_equal(cfg_writes, 0);
	assert_events("");
	/* Nothing stays claimed. */
	iommu_on = true;
	assert_free(PLAIN);
	assert_free(NIC);
}

static void test_refusals(void **state)
{
	static const struct {
		u16 bdf;
		const char *err;
	} cases[] = {
	    {ABSENT, "pci 00:09.0: the host has no such function"},
	    {PCI_BDF(1, 0, 0), "pci 01:00.0: the host has no such function"},
	    {BRIDGE, "pci 00:04.0: it is a bridge, not a device"},
	    {HOSTBR, "pci 00:00.0: it is a host or ISA bridge"},
	    {ISA, "pci 00:0c.0: it is a host or ISA bridge"},
	    {IOMMU, "pci 00:05.0: it is the IOMMU"},
	    {HIGH, "pci 00:06.0: a memory BAR is unassigned or above 4 GiB, "
		   "where Veneer maps no device memory"},
	    {UNSET, "pci 00:07.0: a memory BAR is unassigned or above 4 GiB, "
		    "where Veneer maps no device memory"},
	    {SERIAL, "pci 00:0d.0: it is the console's UART (its I/O BAR "
		     "decodes Veneer's console port)"},
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		reset_counts();
		assert_false(claim(0, 1, cases[i].bdf));
		assert_string_equal(err, cases[i].err);
		assert_int_equal(vms[0].pci_count, 0);
		assert_null(vms[0].dma);
		assert_int_equal(cfg_writes, 0);
		assert_events("");

		/* Refused after a function that was fine: that one is
		 * given back. */
		reset_counts();
		assert_false(claim(0, 2, PLAIN, cases[i].bdf));
		assert_string_equal(err, cases[i].err);
		assert_int_equal(vms[0].pci_count, 0);
		assert_null(vms[0].dma);
		assert_int_equal(creates, 0);
		assert_free(PLAIN);
	}
	/* A BAR that ends at 4 GiB exactly is below it. */
	assert_true(claim(0, 1, EDGE));
	assert_string_equal(err, "");
	passthrough_release(&vms[0]);
	/* Ports that end just below the console's are not the console. */
	assert_true(claim(0, 1, SERIAL_NEAR));
	assert_string_equal(err, "");
	passthrough_release(&vms[0]);
}

static void test_other_guest_owns(void **state)
{
	(void)state;
	assert_true(claim(0, 1, NIC));
	/* Its guest turned it on. */
	set16(nic, 0x04, 0x0006);
	reset_counts();
	assert_false(claim(1, 2, PLAIN, NIC));
	assert_string_equal(err, "pci 00:03.0: another guest owns it (guest "
				 "number 1)");
	assert_int_equal(vms[1].pci_count, 0);
	assert_null(vms[1].dma);
	/* The owner's function was not touched; beta's PLAIN is free. */
	assert_int_equal(nic->command_writes + nic->devctl_writes, 0);
	assert_int_equal(get16(nic, 0x04), 0x0006);
	assert_int_equal(creates, 0);
	assert_free(PLAIN);

	/* After alpha let it go, beta may have it; then alpha may not. */
	passthrough_release(&vms[0]);
	assert_true(claim(1, 2, PLAIN, NIC));
	assert_int_equal(vms[1].pci_count, 2);
	assert_false(claim(0, 1, NIC));
	assert_string_equal(err, "pci 00:03.0: another guest owns it (guest "
				 "number 2)");
	assert_false(claim(0, 1, PLAIN));
	assert_string_equal(err, "pci 00:08.0: another guest owns it (guest "
				 "number 2)");
	/* A refused claim of alpha's did not free beta's functions. */
	assert_false(claim(2, 1, NIC));
	passthrough_release(&vms[1]);
	assert_free(NIC);
	assert_free(PLAIN);
}

static void test_domain(void **state)
{
	(void)state;
	assert_true(claim(1, 2, PLAIN, NOFLR));
	assert_string_equal(err, "");
	assert_ptr_equal(vms[1].dma, &doms[0]);
	assert_string_equal(doms[0].owner, "beta");
	assert_int_equal(vms[1].pci_count, 2);
	assert_int_equal(vms[1].pci[0], PLAIN);
	assert_int_equal(vms[1].pci[1], NOFLR);
	/* Guest-physical 0 .. its RAM (beta: 128 MiB) to its host pages,
	 * readable and writable; each function stopped, then attached. */
	assert_events("create beta; "
		      "map 1 0x0+0x8000000->0x80000000 flags 3; "
		      "cmd 00:08.0=0x0000; attach 00:08.0 1; "
		      "cmd 00:0a.0=0x0000; attach 00:0a.0 1; ");
	assert_int_equal(PT_R | PT_W, 3);
	assert_int_equal(doms[0].devices, 2);
	assert_int_equal(polls + destroys, 0);
}

static void test_map_fails(void **state)
{
	(void)state;
	map_rc = PT_ERR_NOMEM;
	assert_false(claim(0, 2, PLAIN, NIC));
	assert_string_equal(err, "pci: the DMA view of its RAM: out of memory "
				 "for page tables");
	assert_null(vms[0].dma);
	assert_int_equal(vms[0].pci_count, 0);
	assert_false(doms[0].in_use);
	assert_int_equal(destroys, 1);
	/* Never attached; the faults read before the domain went. */
	assert_events("create alpha; "
		      "map 1 0x0+0x4000000->0x40000000 flags 3; "
		      "flush; cmd 00:08.0=0x0000; cmd 00:03.0=0x0540; "
		      "devctl 00:03.0=0x0000a810; udelay 100000; "
		      "destroy 1; ");
	map_rc = 0;
	assert_free(PLAIN);
	assert_free(NIC);
}

static void test_attach_fails(void **state)
{
	(void)state;
	fail_attach = NIC;
	assert_false(claim(0, 2, PLAIN, NIC));
	assert_string_equal(err, "pci 00:03.0: no unit covers it");
	assert_null(vms[0].dma);
	assert_int_equal(vms[0].pci_count, 0);
	assert_false(doms[0].in_use);
	assert_int_equal(destroys, 1);
	assert_int_equal(polls, 1);
	fail_attach = 0xffff;
	assert_free(PLAIN);
	assert_free(NIC);
}

static void test_create_fails(void **state)
{
	(void)state;
	fail_create = true;
	assert_false(claim(0, 1, PLAIN));
	assert_string_equal(err, "pci: every domain is taken");
	assert_null(vms[0].dma);
	assert_int_equal(vms[0].pci_count, 0);
	assert_int_equal(maps + polls + destroys, 0);
	fail_create = false;
	assert_free(PLAIN);
}

/* The NIC: stopped, reset, its BARs and interrupt line put back. */
static void test_stop_flr(void **state)
{
	u32 bars[PCI_MAX_BARS];

	(void)state;
	for (u32 i = 0; i < PCI_MAX_BARS; i++)
		bars[i] = get32(nic, (u16)(PCI_CFG_BAR0 + 4 * i));
	assert_true(claim(0, 1, NIC));
	/* Master, memory and I/O off (the rest kept), the status half
	 * written as 0; then Initiate FLR with Device Control's other bits
	 * and Device Status written as 0; 100 ms; then attached. */
	assert_events("create alpha; "
		      "map 1 0x0+0x4000000->0x40000000 flags 3; "
		      "cmd 00:03.0=0x0540; devctl 00:03.0=0x0000a810; "
		      "udelay 100000; attach 00:03.0 1; ");
	assert_int_equal(nic->flrs, 1);
	assert_int_equal(nic->devctl_writes, 1);
	assert_int_equal(nic->status_half, 0);
	assert_int_equal(nic->devsta_half, 0);
	assert_int_equal(get16(nic, 0x06), 0x2010);
	assert_int_equal(get16(nic, PCIE_CAP + 0xa), 0x0004);
	/* The reset cleared decoding; the BARs and line are back. */
	assert_int_equal(get16(nic, 0x04), 0);
	for (u32 i = 0; i < PCI_MAX_BARS; i++)
		assert_int_equal(get32(nic, (u16)(PCI_CFG_BAR0 + 4 * i)),
				 bars[i]);
	assert_int_equal(get32(nic, 0x10), NIC_BAR0);
	assert_int_equal(get32(nic, 0x18), (u32)NIC_BAR2 | 4);
	assert_int_equal(get32(nic, 0x3c), 0x010b);
	assert_int_equal(nic->intr_writes, 1);
	assert_int_equal(nic->other_writes, 0);
	passthrough_release(&vms[0]);
}

static void test_stop_without_flr(void **state)
{
	(void)state;
	set16(plain, 0x04, 0x0547);
	set16(plain, 0x06, 0xf900);
	assert_true(claim(0, 2, PLAIN, NOFLR));
	assert_int_equal(get16(plain, 0x04), 0x0540);
	assert_int_equal(get16(plain, 0x06), 0xf900);
	assert_int_equal(get16(noflr, 0x04), 0x0000);
	assert_int_equal(plain->status_half + noflr->status_half, 0);
	/* No reset: no Device Control write, no wait, BARs untouched. */
	assert_int_equal(noflr->devctl_writes, 0);
	assert_int_equal(plain->bar_writes + noflr->bar_writes, 0);
	assert_int_equal(plain->intr_writes + noflr->intr_writes, 0);
	assert_int_equal(plain->other_writes + noflr->other_writes, 0);
	assert_null(strstr(events, "udelay"));
	assert_null(strstr(events, "devctl"));
	passthrough_release(&vms[0]);
}

static void test_quiesce(void **state)
{
	(void)state;
	assert_true(claim(0, 2, NIC, PLAIN));
	/* The guest turned both on; the NIC's BAR 0 kept where it is. */
	set16(nic, 0x04, 0x0406);
	set16(plain, 0x04, 0x0007);
	reset_counts();
	passthrough_quiesce(&vms[0]);
	assert_events("cmd 00:03.0=0x0400; devctl 00:03.0=0x0000a810; "
		      "udelay 100000; cmd 00:08.0=0x0000; ");
	assert_int_equal(get16(nic, 0x04), 0);
	assert_int_equal(get32(nic, 0x10), NIC_BAR0);
	assert_int_equal(get32(nic, 0x3c), 0x010b);
	assert_int_equal(get16(plain, 0x04), 0);
	/* Still its, still attached. */
	assert_ptr_equal(vms[0].dma, &doms[0]);
	assert_int_equal(vms[0].pci_count, 2);
	assert_true(doms[0].in_use);
	assert_false(claim(1, 1, PLAIN));
	assert_string_equal(err, "pci 00:08.0: another guest owns it (guest "
				 "number 1)");
	passthrough_release(&vms[0]);
}

static void test_release(void **state)
{
	(void)state;
	assert_true(claim(0, 2, PLAIN, NIC));
	set16(plain, 0x04, 0x0006);
	reset_counts();
	passthrough_release(&vms[0]);
	/* Faults first (still told under its name), the functions stopped,
	 * then the domain (which blocks them) destroyed. */
	assert_events("flush; cmd 00:08.0=0x0000; cmd 00:03.0=0x0000; "
		      "devctl 00:03.0=0x0000a810; udelay 100000; "
		      "destroy 1; ");
	assert_null(vms[0].dma);
	assert_int_equal(vms[0].pci_count, 0);
	assert_false(doms[0].in_use);
	assert_int_equal(get16(plain, 0x04), 0);
	assert_free(PLAIN);
	assert_free(NIC);

	/* Released twice, or without a domain: no faults read, nothing
	 * destroyed. */
	reset_counts();
	passthrough_release(&vms[0]);
	assert_int_equal(polls + destroys, 0);
	assert_int_equal(cfg_writes, 0);
}

static void test_poll(void **state)
{
	(void)state;
	vms[0].dma_poll_due = 0;
	tsc_now = 1000;
	passthrough_poll(&vms[0]);
	assert_int_equal(polls, 1);
	assert_int_equal(vms[0].dma_poll_due, 1000 + 3 * PASSTHROUGH_POLL_US);
	tsc_now = 1000 + 3 * PASSTHROUGH_POLL_US - 1;
	passthrough_poll(&vms[0]);
	assert_int_equal(polls, 1);
	tsc_now++;
	passthrough_poll(&vms[0]);
	assert_int_equal(polls, 2);
	assert_int_equal(vms[0].dma_poll_due, 1000 + 6 * PASSTHROUGH_POLL_US);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_no_pci),
	    T(test_no_iommu),
	    T(test_unsafe_without_iommu),
	    T(test_release_when_blocking_fails),
	    T(test_refusals),
	    T(test_other_guest_owns),
	    T(test_domain),
	    T(test_map_fails),
	    T(test_attach_fails),
	    T(test_create_fails),
	    T(test_stop_flr),
	    T(test_stop_without_flr),
	    T(test_quiesce),
	    T(test_release),
	    T(test_poll),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
