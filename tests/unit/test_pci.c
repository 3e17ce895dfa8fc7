/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/pci.c, over a fake configuration space: 4 KiB per
 * function, BARs that behave like hardware (the address bits below the
 * size and the type bits read-only), a command register and a status
 * register whose error bits are write-one-to-clear. The topology is a
 * small q35: host bridge, a multi-function device, a NIC with an I/O BAR,
 * a PCIe root port with an endpoint behind it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/pci.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

#define FAKE_MAX 24

struct fake_fn {
	bool used;
	u16 bdf;
	u8 cfg[4096];
	u32 bar_wmask[PCI_MAX_BARS]; /* writable bits of each BAR dword */
	u32 ones_with_decode;	     /* BAR ones written while decoding */
	u32 command_writes;
	u32 other_writes; /* anywhere but a BAR or the command */
};

static struct fake_fn fakes[FAKE_MAX];
static u32 fake_reads;

static struct fake_fn *fake_of(u16 bdf)
{
	for (u32 i = 0; i < FAKE_MAX; i++)
		if (fakes[i].used && fakes[i].bdf == bdf)
			return &fakes[i];
	return NULL;
}

static u32 cfg32(const struct fake_fn *f, u16 off)
{
	u32 v;

	memcpy(&v, f->cfg + off, 4);
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

static u16 cfg16(const struct fake_fn *f, u16 off)
{
	u16 v;

	memcpy(&v, f->cfg + off, 2);
	return v;
}

static u32 fake_read32(u16 bdf, u16 offset)
{
	const struct fake_fn *f = fake_of(bdf);

	assert_true(offset < 4096 && (offset & 3) == 0);
	fake_reads++;
	return f ? cfg32(f, offset) : 0xffffffffu;
}

static u32 bar_slots(const struct fake_fn *f)
{
	switch (f->cfg[0x0e] & 0x7f) {
	case 0:
		return 6;
	case 1:
		return 2;
	default:
		return 0;
	}
}

static void fake_write32(u16 bdf, u16 offset, u32 value)
{
	struct fake_fn *f = fake_of(bdf);

	assert_true(offset < 4096 && (offset & 3) == 0);
	assert_non_null(f); /* nothing is written to absent functions */
	if (offset == PCI_CFG_COMMAND) {
		u16 status = cfg16(f, 0x06);

		f->command_writes++;
		set16(f, 0x04, (u16)value);
		/* Bits 15:11 and 8 of the status are write-one-to-clear. */
		status &= (u16) ~((value >> 16) & 0xf900);
		set16(f, 0x06, status);
		return;
	}
	if (offset >= PCI_CFG_BAR0 &&
	    offset < PCI_CFG_BAR0 + 4 * bar_slots(f)) {
		u32 i = (offset - PCI_CFG_BAR0) / 4;
		u32 m = f->bar_wmask[i];

		if (value == 0xffffffffu && (cfg16(f, 0x04) & 3))
			f->ones_with_decode++;
		set32(f, offset, (cfg32(f, offset) & ~m) | (value & m));
		return;
	}
	f->other_writes++;
}

static const struct pci_config_ops fake_ops = {
    .read32 = fake_read32,
    .write32 = fake_write32,
};

static struct fake_fn *fake_add(u8 bus, u8 dev, u8 fn, u16 vendor, u16 device,
				u32 class_code, u8 header)
{
	for (u32 i = 0; i < FAKE_MAX; i++) {
		struct fake_fn *f = &fakes[i];

		if (f->used)
			continue;
		memset(f, 0, sizeof(*f));
		f->used = true;
		f->bdf = PCI_BDF(bus, dev, fn);
		set16(f, 0x00, vendor);
		set16(f, 0x02, device);
		set32(f, 0x08, class_code << 8 | 0x02); /* revision 2 */
		f->cfg[0x0e] = header;
		return f;
	}
	fail_msg("fake table full");
	return NULL;
}

/* A memory or I/O BAR: value holds the type bits, size its decode. */
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

/* A capability at off: id, next, and the 16 bits after them. */
static void fake_cap(struct fake_fn *f, u8 off, u8 id, u8 next, u16 extra)
{
	f->cfg[off] = id;
	f->cfg[off + 1] = next;
	set16(f, (u16)(off + 2), extra);
	set16(f, 0x06, cfg16(f, 0x06) | PCI_STATUS_CAP_LIST);
	if (!f->cfg[PCI_CFG_CAP_PTR])
		f->cfg[PCI_CFG_CAP_PTR] = off;
}

/*
 * The q35-like machine:
 *   00:00.0 host bridge
 *   00:02.0 NIC: bar0 mem32 128K, bar1 io 32 (a 16-bit decoder), pin A,
 *           decoding on, a write-one-to-clear status bit set
 *   00:1c.0 PCIe root port -> bus 1, bar0 mem32 4K, caps PCIe, MSI
 *   00:1f.0 ISA bridge (multi-function), 00:1f.2 SATA (io + mem, MSI),
 *           00:1f.3 SMBus (io); 00:1f.1 absent
 *   01:00.0 endpoint: bar0 mem64 16K, bar2 mem64 prefetchable 8M above
 *           4 GiB, caps MSI-X (65 entries in bar0 at 0x2000), MSI, PCIe,
 *           power management
 */
static void build_q35(void)
{
	struct fake_fn *f;

	fake_add(0, 0, 0, 0x8086, 0x29c0, 0x060000, 0);

	f = fake_add(0, 2, 0, 0x8086, 0x10d3, 0x020000, 0);
	fake_bar(f, 0, 0xfeb80000, KiB(128));
	fake_bar(f, 1, 0xc001, 32);
	f->bar_wmask[1] &= 0xffff; /* bits 31:16 read 0 */
	set32(f, 0x3c, 0x010b);	   /* pin A, line 11 */
	set16(f, 0x04, 0x0007);
	set16(f, 0x06, 0x2000); /* received master abort */

	f = fake_add(0, 0x1c, 0, 0x1b36, 0x000c, 0x060400, 1);
	set32(f, PCI_CFG_BUS_NUMBERS, 0x00010100); /* 0 -> 1..1 */
	fake_bar(f, 0, 0xfebd2000, KiB(4));
	set16(f, 0x04, 0x0007);
	fake_cap(f, 0x40, PCI_CAP_ID_PCIE, 0x60, PCIE_TYPE_ROOT_PORT << 4 | 2);
	fake_cap(f, 0x60, PCI_CAP_ID_MSI, 0, 0);

	fake_add(0, 0x1f, 0, 0x8086, 0x2918, 0x060100, 0x80);
	f = fake_add(0, 0x1f, 2, 0x8086, 0x2922, 0x010601, 0);
	fake_bar(f, 4, 0xc081, 32);
	fake_bar(f, 5, 0xfebd1000, KiB(4));
	fake_cap(f, 0x80, PCI_CAP_ID_MSI, 0, 0);
	set32(f, 0x3c, 0x0110);
	f = fake_add(0, 0x1f, 3, 0x8086, 0x2930, 0x0c0500, 0);
	fake_bar(f, 4, 0x0701, 64);

	f = fake_add(1, 0, 0, 0x1b36, 0x0010, 0x010802, 0);
	fake_bar64(f, 0, 0xfe800000, KiB(16), false);
	fake_bar64(f, 2, 0x800000000ull, MiB(8), true);
	set16(f, 0x04, 0x0006);
	fake_cap(f, 0x40, PCI_CAP_ID_MSIX, 0x50, 64); /* 65 entries */
	set32(f, 0x44, 0x2000 | 0);		      /* BIR 0 */
	fake_cap(f, 0x50, PCI_CAP_ID_MSI, 0x80, 0x80);
	fake_cap(f, 0x80, PCI_CAP_ID_PCIE, 0x90, PCIE_TYPE_ENDPOINT << 4 | 2);
	fake_cap(f, 0x90, 0x01, 0, 0x3); /* power management: skipped */
	set32(f, 0x3c, 0x0100);
}

static int reset(void **state)
{
	(void)state;
	memset(fakes, 0, sizeof(fakes));
	fake_reads = 0;
	host_printk_reset();
	pci_set_access(&fake_ops, 0, 255, 4096);
	return 0;
}

static bool log_has(const char *s)
{
	return strstr(host_printk_text(), s) != NULL;
}

#define assert_log(s)                                                          \
	do {                                                                   \
		if (!log_has(s))                                               \
			fail_msg("not in the log: '%s'\nlog:\n%s", s,          \
				 host_printk_text());                          \
	} while (0)

static const struct pci_device *find(u8 bus, u8 dev, u8 fn)
{
	const struct pci_device *d = pci_find(PCI_BDF(bus, dev, fn));

	if (!d)
		fail_msg("%02x:%02x.%x not found", bus, dev, fn);
	return d;
}

static void test_q35_functions(void **state)
{
	const struct pci_device *d;

	(void)state;
	build_q35();
	assert_int_equal(pci_enumerate(), 7);
	assert_int_equal(pci_count(), 7);
	/* Scan order: bus, device, function. */
	assert_int_equal(pci_device(0)->bdf, PCI_BDF(0, 0, 0));
	assert_int_equal(pci_device(1)->bdf, PCI_BDF(0, 2, 0));
	assert_int_equal(pci_device(2)->bdf, PCI_BDF(0, 0x1c, 0));
	assert_int_equal(pci_device(3)->bdf, PCI_BDF(0, 0x1f, 0));
	assert_int_equal(pci_device(4)->bdf, PCI_BDF(0, 0x1f, 2));
	assert_int_equal(pci_device(5)->bdf, PCI_BDF(0, 0x1f, 3));
	assert_int_equal(pci_device(6)->bdf, PCI_BDF(1, 0, 0));
	assert_null(pci_device(7));
	assert_null(pci_find(PCI_BDF(0, 0x1f, 1)));

	d = find(0, 0, 0);
	assert_int_equal(d->vendor, 0x8086);
	assert_int_equal(d->device, 0x29c0);
	assert_int_equal(d->class_base, 0x06);
	assert_int_equal(d->class_sub, 0x00);
	assert_int_equal(d->header_type, PCI_HEADER_ENDPOINT);
	assert_false(d->multifunction);
	for (u32 i = 0; i < PCI_MAX_BARS; i++)
		assert_int_equal(d->bars[i].kind, PCI_BAR_NONE);
	assert_int_equal(d->parent, -1);

	d = find(0, 0x1f, 0);
	assert_true(d->multifunction);
	d = find(0, 0x1f, 2);
	assert_int_equal(d->class_base, 0x01);
	assert_int_equal(d->class_sub, 0x06);
	assert_int_equal(d->prog_if, 0x01);
	assert_int_equal(d->revision, 0x02);
	assert_int_equal(d->bar_count, 6);
	assert_int_equal(d->bars[4].kind, PCI_BAR_IO);
	assert_int_equal(d->bars[4].base, 0xc080);
	assert_int_equal(d->bars[4].size, 32);
	assert_int_equal(d->bars[5].kind, PCI_BAR_MEM32);
	assert_false(d->bars[5].prefetchable);
	assert_int_equal(d->bars[5].base, 0xfebd1000);
	assert_int_equal(d->bars[5].size, KiB(4));
	assert_int_equal(d->msi_cap, 0x80);
	assert_int_equal(d->msix_cap, 0);
	assert_int_equal(d->pcie_cap, 0);
	assert_int_equal(d->irq_pin, 1);
	assert_int_equal(d->irq_line, 0x10);
	d = find(0, 0x1f, 3);
	assert_int_equal(d->bars[4].kind, PCI_BAR_IO);
	assert_int_equal(d->bars[4].base, 0x700);
	assert_int_equal(d->bars[4].size, 64);
	assert_int_equal(d->irq_pin, 0);
	/* Nothing but BARs and commands was written anywhere. */
	for (u32 i = 0; i < FAKE_MAX; i++) {
		assert_int_equal(fakes[i].other_writes, 0);
		assert_int_equal(fakes[i].ones_with_decode, 0);
	}
}

static void test_bars_and_command_restored(void **state)
{
	const struct pci_device *d;
	struct fake_fn *nic, *ep, *host;
	u8 before[256];

	(void)state;
	build_q35();
	nic = fake_of(PCI_BDF(0, 2, 0));
	ep = fake_of(PCI_BDF(1, 0, 0));
	host = fake_of(PCI_BDF(0, 0, 0));
	memcpy(before, nic->cfg, sizeof(before));
	pci_enumerate();

	d = find(0, 2, 0);
	assert_int_equal(d->bars[0].kind, PCI_BAR_MEM32);
	assert_int_equal(d->bars[0].base, 0xfeb80000);
	assert_int_equal(d->bars[0].size, KiB(128));
	/* A 16-bit I/O decoder: bits 31:16 read 0 after the ones. */
	assert_int_equal(d->bars[1].kind, PCI_BAR_IO);
	assert_int_equal(d->bars[1].base, 0xc000);
	assert_int_equal(d->bars[1].size, 32);
	assert_int_equal(d->bars[2].kind, PCI_BAR_NONE);
	assert_int_equal(d->irq_pin, 1);
	assert_int_equal(d->irq_line, 11);
	/* Decoding was off while sizing, and is back on; the status kept
	 * its write-one-to-clear bit; every BAR reads as before. */
	assert_int_equal(nic->command_writes, 2);
	assert_int_equal(nic->ones_with_decode, 0);
	assert_memory_equal(nic->cfg, before, sizeof(before));
	assert_int_equal(cfg16(nic, 0x04), 0x0007);
	assert_int_equal(cfg16(nic, 0x06), 0x2000);
	/* The endpoint decoded memory only; the host bridge nothing. */
	assert_int_equal(cfg16(ep, 0x04), 0x0006);
	assert_int_equal(ep->command_writes, 2);
	assert_int_equal(host->command_writes, 0);

	d = find(1, 0, 0);
	assert_int_equal(d->bars[0].kind, PCI_BAR_MEM64);
	assert_false(d->bars[0].prefetchable);
	assert_int_equal(d->bars[0].base, 0xfe800000);
	assert_int_equal(d->bars[0].size, KiB(16));
	assert_int_equal(d->bars[1].kind, PCI_BAR_MEM64_HI);
	assert_int_equal(d->bars[2].kind, PCI_BAR_MEM64);
	assert_true(d->bars[2].prefetchable);
	assert_int_equal(d->bars[2].base, 0x800000000ull);
	assert_int_equal(d->bars[2].size, MiB(8));
	assert_int_equal(d->bars[3].kind, PCI_BAR_MEM64_HI);
	assert_int_equal(d->bars[4].kind, PCI_BAR_NONE);
	assert_int_equal(cfg32(ep, 0x18), 0x0000000c);
	assert_int_equal(cfg32(ep, 0x1c), 0x8);
}

static void test_capabilities_and_bridge(void **state)
{
	const struct pci_device *d, *rp;

	(void)state;
	build_q35();
	pci_enumerate();

	rp = find(0, 0x1c, 0);
	assert_int_equal(rp->header_type, PCI_HEADER_BRIDGE);
	assert_int_equal(rp->bar_count, 2);
	assert_int_equal(rp->primary_bus, 0);
	assert_int_equal(rp->secondary_bus, 1);
	assert_int_equal(rp->subordinate_bus, 1);
	assert_int_equal(rp->bars[0].kind, PCI_BAR_MEM32);
	assert_int_equal(rp->bars[0].size, KiB(4));
	assert_int_equal(rp->pcie_cap, 0x40);
	assert_int_equal(rp->pcie_type, PCIE_TYPE_ROOT_PORT);
	assert_int_equal(rp->msi_cap, 0x60);
	assert_int_equal(rp->parent, -1);

	d = find(1, 0, 0);
	assert_int_equal(d->msix_cap, 0x40);
	assert_int_equal(d->msix_table_size, 65);
	assert_int_equal(d->msix_table_bar, 0);
	assert_int_equal(d->msix_table_offset, 0x2000);
	assert_int_equal(d->msi_cap, 0x50);
	assert_int_equal(d->pcie_cap, 0x80);
	assert_int_equal(d->pcie_type, PCIE_TYPE_ENDPOINT);
	assert_ptr_equal(pci_device((u32)d->parent), rp);

	assert_int_equal(pci_secondary_bus(PCI_BDF(0, 0x1c, 0)), 1);
	assert_int_equal(pci_secondary_bus(PCI_BDF(0, 2, 0)), -1);
	assert_int_equal(pci_secondary_bus(PCI_BDF(0, 9, 0)), -1);
	assert_string_equal(pcie_type_name(PCIE_TYPE_ROOT_PORT), "root-port");
	assert_string_equal(pcie_type_name(0xf), "?");
}

static void test_log_lines(void **state)
{
	(void)state;
	build_q35();
	pci_enumerate();
	assert_log("veneer: pci: 7 functions on 2 buses (ports 0xcf8, buses "
		   "0-255)\n");
	assert_log("veneer: pci: 00:00.0 8086:29c0 class 06.00.00 rev 02\n"
		   "veneer: pci: 00:02.0 8086:10d3 class 02.00.00 rev 02 irq "
		   "pin A line 11\n"
		   "veneer: pci: 00:02.0 bar0 mem32 0xfeb80000 128K bar1 io "
		   "0xc000 32\n");
	assert_log("veneer: pci: 00:1c.0 1b36:000c class 06.04.00 rev 02 "
		   "bridge -> buses 01-01 caps msi pcie(root-port)\n"
		   "veneer: pci: 00:1c.0 bar0 mem32 0xfebd2000 4K\n");
	assert_log("veneer: pci: 01:00.0 1b36:0010 class 01.08.02 rev 02 irq "
		   "pin A line 0\n"
		   "veneer: pci: 01:00.0 caps msi msix(65 in bar0+0x2000) "
		   "pcie(endpoint) behind 00:1c.0\n"
		   "veneer: pci: 01:00.0 bar0 mem64 0xfe800000 16K bar2 mem64 "
		   "pref 0x800000000 8M\n");
	assert_false(log_has("warning"));
	/* Every line under 100 characters, each starting "veneer: pci: ". */
	for (const char *p = host_printk_text(); *p;) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl);
		assert_true(nl - p <= 100);
		assert_int_equal(strncmp(p, "veneer: pci: ", 13), 0);
		p = nl + 1;
	}
}

static void test_ports_line_and_bus_range(void **state)
{
	(void)state;
	build_q35();
	/* Buses 0-0 only: the endpoint on bus 1 is out of the window. */
	pci_set_access(&fake_ops, 0, 0, 256);
	assert_int_equal(pci_enumerate(), 6);
	assert_log("veneer: pci: 6 functions on 1 bus (ports 0xcf8, buses "
		   "0-0)\n");
	assert_int_equal(fake_reads > 0, 1);
	/* Bus 1 alone. */
	host_printk_reset();
	pci_set_access(&fake_ops, 1, 1, 4096);
	assert_int_equal(pci_enumerate(), 1);
	assert_int_equal(pci_device(0)->parent, -1);
	/* Offsets beyond the access's configuration size read ones. */
	assert_int_equal(pci_config_read32(PCI_BDF(1, 0, 0), 0x100 - 4),
			 cfg32(fake_of(PCI_BDF(1, 0, 0)), 0xfc));
	pci_set_access(&fake_ops, 1, 1, 256);
	assert_int_equal(pci_config_read32(PCI_BDF(1, 0, 0), 0x100),
			 0xffffffffu);
	assert_int_equal(pci_config_read32(PCI_BDF(1, 0, 0), 0x2), 0xffffffffu);
}

static void test_setup_access(void **state)
{
	struct acpi_mcfg_info mcfg = {0};
	const struct pci_access *a;

	(void)state;
	pci_setup_access(NULL);
	a = pci_get_access();
	assert_false(a->ecam);
	assert_int_equal(a->first_bus, 0);
	assert_int_equal(a->last_bus, 255);
	assert_int_equal(a->config_size, 256);

	mcfg.count = 2;
	mcfg.entries[0] = (struct acpi_mcfg_entry){0x1000000000ull, 1, 0, 255};
	mcfg.entries[1] = (struct acpi_mcfg_entry){0xb0000000, 0, 0, 255};
	pci_setup_access(&mcfg);
	a = pci_get_access();
	assert_true(a->ecam);
	assert_int_equal(a->ecam_base, 0xb0000000);
	assert_int_equal(a->config_size, 4096);
	assert_log("veneer: pci: segment 1 (buses 00-ff at 0x1000000000) not "
		   "scanned: segment 0 only\n");

	/* Bus 0's base below 4 GiB, but buses 0x80-0xff reach above it. */
	host_printk_reset();
	mcfg.count = 1;
	mcfg.entries[0] = (struct acpi_mcfg_entry){0xf8000000, 0, 0x10, 0xff};
	pci_setup_access(&mcfg);
	assert_false(pci_get_access()->ecam);
	assert_log("veneer: pci: ECAM of buses 10-ff at 0xf9000000-0x107ffffff "
		   "is above 4 GiB, not mapped: using ports 0xcf8\n");
	/* A window for buses 0x10-0x3f only: scanned from 0x10. */
	mcfg.entries[0] = (struct acpi_mcfg_entry){0xe0000000, 0, 0x10, 0x3f};
	pci_setup_access(&mcfg);
	a = pci_get_access();
	assert_true(a->ecam);
	assert_int_equal(a->first_bus, 0x10);
	assert_int_equal(a->last_bus, 0x3f);
}

static void test_function0_absent(void **state)
{
	struct fake_fn *f;

	(void)state;
	build_q35();
	/* Device 3: function 0 reads vendor 0xffff, function 1 is there. */
	f = fake_add(0, 3, 0, 0xffff, 0xffff, 0xffffff, 0xff);
	memset(f->cfg, 0xff, sizeof(f->cfg));
	fake_add(0, 3, 1, 0x8086, 0x1234, 0x020000, 0);
	/* Device 4: single-function, a stray function 2 is not looked at. */
	fake_add(0, 4, 0, 0x8086, 0x1235, 0x020000, 0);
	fake_add(0, 4, 2, 0x8086, 0x1236, 0x020000, 0);
	assert_int_equal(pci_enumerate(), 8);
	assert_null(pci_find(PCI_BDF(0, 3, 0)));
	assert_null(pci_find(PCI_BDF(0, 3, 1)));
	assert_non_null(pci_find(PCI_BDF(0, 4, 0)));
	assert_null(pci_find(PCI_BDF(0, 4, 2)));
}

static void test_capability_errors(void **state)
{
	struct fake_fn *f;
	const struct pci_device *d;

	(void)state;
	/* A loop: 0x40 -> 0x48 -> 0x40 ... */
	f = fake_add(0, 5, 0, 0x1234, 0x0001, 0x020000, 0);
	fake_cap(f, 0x40, PCI_CAP_ID_MSI, 0x48, 0);
	fake_cap(f, 0x48, PCI_CAP_ID_PCIE, 0x40, 0);
	/* A pointer into the header. */
	f = fake_add(0, 6, 0, 0x1234, 0x0002, 0x020000, 0);
	fake_cap(f, 0x40, PCI_CAP_ID_MSI, 0x20, 0);
	/* An unaligned pointer. */
	f = fake_add(0, 7, 0, 0x1234, 0x0003, 0x020000, 0);
	fake_cap(f, 0x40, PCI_CAP_ID_MSIX, 0x42, 7);
	set32(f, 0x44, 0x3);		    /* BIR 3 ... */
	fake_bar(f, 0, 0xfe000000, KiB(4)); /* ... but only bar0 */
	/* Capabilities list bit clear: the pointer is not followed. */
	f = fake_add(0, 8, 0, 0x1234, 0x0004, 0x020000, 0);
	fake_cap(f, 0x40, PCI_CAP_ID_MSI, 0, 0);
	set16(f, 0x06, 0);

	assert_int_equal(pci_enumerate(), 4);
	d = find(0, 5, 0);
	assert_int_equal(d->msi_cap, 0x40);
	assert_int_equal(d->pcie_cap, 0x48);
	assert_log("veneer: pci: warning: 00:05.0: more than 48 capabilities "
		   "(a loop?): list ended at 0x40\n");
	d = find(0, 6, 0);
	assert_int_equal(d->msi_cap, 0x40);
	assert_log("veneer: pci: warning: 00:06.0: capability pointer 0x20 is "
		   "in the header: list ended\n");
	d = find(0, 7, 0);
	assert_int_equal(d->msix_cap, 0x40);
	assert_int_equal(d->msix_table_size, 8);
	assert_int_equal(d->msix_table_bar, 3);
	assert_log("veneer: pci: warning: 00:07.0: MSI-X table in bar3, not a "
		   "memory BAR it has\n");
	assert_log("veneer: pci: warning: 00:07.0: capability pointer 0x42 is "
		   "not dword aligned: list ended\n");
	d = find(0, 8, 0);
	assert_int_equal(d->msi_cap, 0);
}

static void test_bar_errors(void **state)
{
	struct fake_fn *f;
	const struct pci_device *d;

	(void)state;
	f = fake_add(0, 9, 0, 0x1234, 0x0005, 0x020000, 0);
	/* bar0: the writable bits are not contiguous. */
	set32(f, 0x10, 0xfe000000);
	f->bar_wmask[0] = 0xfff0f000;
	/* bar1: memory type 3 is reserved. */
	set32(f, 0x14, 0x6);
	f->bar_wmask[1] = 0xfffff000;
	/* bar2: fine, and decoded in the middle of the mess. */
	fake_bar(f, 2, 0xfd000000, KiB(64));
	/* bar5: 64-bit, but there is no bar6 for its upper half. */
	set32(f, 0x24, 0x4);
	f->bar_wmask[5] = 0xfffff000;
	/* bar3: a read-only address bit below the size is set. */
	fake_bar(f, 3, 0xfc000000, KiB(64));
	set32(f, 0x1c, 0xfc001000);
	set16(f, 0x04, 0x2);
	/* A bridge whose 64-bit bar0 has bar1 for its upper half. */
	f = fake_add(0, 10, 0, 0x1234, 0x0006, 0x060400, 1);
	set32(f, PCI_CFG_BUS_NUMBERS, 0x00000000); /* not numbered */
	fake_bar64(f, 0, 0xfa000000, MiB(1), false);
	set32(f, 0x3c, 0x0900); /* pin 9: nonsense */

	assert_int_equal(pci_enumerate(), 2);
	d = find(0, 9, 0);
	assert_int_equal(d->bars[0].kind, PCI_BAR_NONE);
	assert_log(
	    "veneer: pci: warning: 00:09.0: bar0 sizes to nonsense (size "
	    "mask 0xfffffffffff0f000): ignored\n");
	assert_int_equal(d->bars[1].kind, PCI_BAR_NONE);
	assert_log("veneer: pci: warning: 00:09.0: bar1 has the reserved "
		   "memory type 3: ignored\n");
	assert_int_equal(d->bars[2].kind, PCI_BAR_MEM32);
	assert_int_equal(d->bars[2].size, KiB(64));
	assert_int_equal(d->bars[3].kind, PCI_BAR_NONE);
	assert_log(
	    "veneer: pci: warning: 00:09.0: bar3 sizes to nonsense (size "
	    "mask 0xffffffffffff1000): ignored\n");
	assert_int_equal(d->bars[5].kind, PCI_BAR_NONE);
	assert_log("veneer: pci: warning: 00:09.0: bar5 is 64-bit but the last "
		   "BAR: ignored\n");
	assert_int_equal(cfg16(fake_of(PCI_BDF(0, 9, 0)), 0x04), 0x2);
	assert_int_equal(cfg32(fake_of(PCI_BDF(0, 9, 0)), 0x10), 0xfe000000);

	d = find(0, 10, 0);
	assert_int_equal(d->bars[0].kind, PCI_BAR_MEM64);
	assert_int_equal(d->bars[0].size, MiB(1));
	assert_int_equal(d->bars[1].kind, PCI_BAR_MEM64_HI);
	assert_int_equal(d->irq_pin, 0);
	assert_log("veneer: pci: warning: 00:0a.0: interrupt pin 9 is not "
		   "INTA#-INTD#: none\n");
	/* Not numbered by the firmware: no secondary bus to speak of. */
	assert_int_equal(pci_secondary_bus(PCI_BDF(0, 10, 0)), 0);
	assert_log("veneer: pci: 00:0a.0 1234:0006 class 06.04.00 rev 02 "
		   "bridge -> buses 00-00\n"
		   "veneer: pci: 00:0a.0 bar0 mem64 0xfa000000 1M\n");
}

static void test_nested_bridges(void **state)
{
	struct fake_fn *f;

	(void)state;
	/* Root port 00:1c.0 -> 1..3; switch upstream 01:00.0 -> 2..3;
	 * downstream 02:01.0 -> 3..3; endpoint 03:00.0. */
	f = fake_add(0, 0x1c, 0, 0x1b36, 0x000c, 0x060400, 1);
	set32(f, PCI_CFG_BUS_NUMBERS, 0x00030100);
	f = fake_add(1, 0, 0, 0x104c, 0x8232, 0x060400, 1);
	set32(f, PCI_CFG_BUS_NUMBERS, 0x00030201);
	f = fake_add(2, 1, 0, 0x104c, 0x8233, 0x060400, 1);
	set32(f, PCI_CFG_BUS_NUMBERS, 0x00030302);
	fake_add(3, 0, 0, 0x8086, 0x10d3, 0x020000, 0);
	fake_add(2, 2, 0, 0x8086, 0x10d3, 0x020000, 0);

	assert_int_equal(pci_enumerate(), 5);
	assert_int_equal(find(0, 0x1c, 0)->parent, -1);
	assert_ptr_equal(pci_device((u32)find(1, 0, 0)->parent),
			 find(0, 0x1c, 0));
	assert_ptr_equal(pci_device((u32)find(2, 1, 0)->parent), find(1, 0, 0));
	assert_ptr_equal(pci_device((u32)find(2, 2, 0)->parent), find(1, 0, 0));
	assert_ptr_equal(pci_device((u32)find(3, 0, 0)->parent), find(2, 1, 0));
	assert_int_equal(pci_secondary_bus(PCI_BDF(1, 0, 0)), 2);
	assert_log("veneer: pci: 5 functions on 4 buses");
}

/* Every device 0-31 on buses 0-8 there: 288 functions, 256 kept. */
static u32 many_read32(u16 bdf, u16 offset)
{
	if (PCI_BUS(bdf) > 8 || PCI_FUNC(bdf) != 0)
		return 0xffffffffu;
	switch (offset) {
	case PCI_CFG_VENDOR:
		return 0x5678u << 16 | 0x1234;
	case PCI_CFG_CLASS_REV:
		return 0x02000001;
	default:
		return 0;
	}
}

static void many_write32(u16 bdf, u16 offset, u32 value)
{
	(void)bdf;
	(void)offset;
	(void)value;
}

static void test_table_full(void **state)
{
	static const struct pci_config_ops many = {
	    .read32 = many_read32,
	    .write32 = many_write32,
	};

	(void)state;
	pci_set_access(&many, 0, 255, 256);
	assert_int_equal(pci_enumerate(), PCI_MAX_DEVICES);
	assert_int_equal(pci_count(), PCI_MAX_DEVICES);
	assert_int_equal(pci_device(PCI_MAX_DEVICES - 1)->bdf,
			 PCI_BDF(7, 31, 0));
	assert_null(pci_find(PCI_BDF(8, 0, 0)));
	assert_log("veneer: pci: 288 functions on 9 buses (ports 0xcf8, buses "
		   "0-255)\n");
	assert_log("veneer: pci: warning: 32 functions beyond the 256 the "
		   "table holds are not recorded\n");

	/* A second scan starts afresh. */
	host_printk_reset();
	pci_set_access(&fake_ops, 0, 255, 4096);
	assert_int_equal(pci_enumerate(), 0);
	assert_int_equal(pci_count(), 0);
	assert_null(pci_device(0));
	assert_log("veneer: pci: 0 functions on 0 buses (ports 0xcf8, buses "
		   "0-255)\n");
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_q35_functions),
	    T(test_bars_and_command_restored),
	    T(test_capabilities_and_bridge),
	    T(test_log_lines),
	    T(test_ports_line_and_bus_range),
	    T(test_setup_access),
	    T(test_function0_absent),
	    T(test_capability_errors),
	    T(test_bar_errors),
	    T(test_nested_bridges),
	    T(test_table_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
