/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/amdvi.c: the device-table entries, commands and
 * event decoding bit by bit, which unit (and alias) covers a device, and
 * probe / enable / attach / flush_domain / poll_faults against fake units.
 *
 * A fake unit is a register file behind amdvi_host_mmio_read/write: the
 * Status bits 2:0 are write-one-to-clear, the Control register's
 * CmdBufEn / EventLogEn show in Status as CmdBufRun / EventLogRun, and a
 * write of the command tail runs the commands from the head up to it
 * (recording them; COMPLETION_WAIT with S stores its data) unless the
 * test made the unit deaf. Memory is malloc'd pages whose addresses are
 * the "host-physical" ones, as the driver's identity map assumes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/lib/printk.h"
#include "core/mm.h"
#include "drivers/amdvi.h"
#include "drivers/ivrs.h"
#include "drivers/pci.h"
#include "tests/unit/host_printk.h"

#define BDF(b, d, f) ((u16)((b) << 8 | (d) << 3 | (f)))

/* ---- fake memory ---- */

#define MAX_ALLOCS 64
static void *allocs[MAX_ALLOCS];
static u64 alloc_pages_of[MAX_ALLOCS];
static bool fail_allocs;

u64 mm_alloc_pages(u64 npages, u64 align, u64 below)
{
	(void)below;
	if (fail_allocs)
		return 0;
	for (u32 i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i])
			continue;
		allocs[i] = aligned_alloc(align, npages * PAGE_SIZE);
		assert_non_null(allocs[i]);
		memset(allocs[i], 0, npages * PAGE_SIZE);
		alloc_pages_of[i] = npages;
		return (u64)(uintptr_t)allocs[i];
	}
	fail();
	return 0;
}

void mm_free_pages(u64 hpa, u64 npages)
{
	for (u32 i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i] && (u64)(uintptr_t)allocs[i] == hpa) {
			assert_int_equal(alloc_pages_of[i], npages);
			free(allocs[i]);
			allocs[i] = NULL;
			return;
		}
	}
	fail_msg("mm_free_pages(0x%llx): not allocated",
		 (unsigned long long)hpa);
}

/* The driver's page for an interrupt table (it panics when none is left;
 * here fail_allocs makes it 0). */
u64 mm_alloc_page(void)
{
	return mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
}

static u32 allocs_in_use(void)
{
	u32 n = 0;

	for (u32 i = 0; i < MAX_ALLOCS; i++)
		n += allocs[i] != NULL;
	return n;
}

/* ---- fake PCI configuration: the units' capability header ---- */

static u32 cap_header = 0xffffffffu; /* no configuration access */

u32 pci_config_read32(u16 bdf, u16 offset)
{
	(void)bdf;
	(void)offset;
	return cap_header;
}

/* ---- fake units ---- */

#define FAKE_UNITS    2
#define FAKE_LOGGED   256
#define FAKE_WRITELOG 64

struct fake_unit {
	u64 base;
	u64 regs[AMDVI_MMIO_SIZE / 8];
	bool deaf; /* runs no command */
	u32 efr_reads;
	u64 cmds[FAKE_LOGGED][2]; /* the first FAKE_LOGGED since reset */
	u32 ncmds;
	u32 per_opcode[16];
	u8 inv_devtab[65536 / 8];  /* IDs INVALIDATE_DEVTAB_ENTRY named */
	u8 inv_inttab[65536 / 8];  /* IDs INVALIDATE_INTERRUPT_TABLE named */
	u32 writes[FAKE_WRITELOG]; /* offsets written, in order */
	u64 write_values[FAKE_WRITELOG];
	u32 nwrites;
};

static struct fake_unit fakes[FAKE_UNITS];

static struct fake_unit *fake_of(u64 base)
{
	for (u32 i = 0; i < FAKE_UNITS; i++)
		if (fakes[i].base == base)
			return &fakes[i];
	fail_msg("MMIO access to 0x%llx: no fake unit there",
		 (unsigned long long)base);
	return NULL;
}

static u64 *reg(struct fake_unit *f, u32 off)
{
	return &f->regs[off / 8];
}

static void fake_log_reset(struct fake_unit *f)
{
	f->ncmds = 0;
	f->nwrites = 0;
	memset(f->per_opcode, 0, sizeof(f->per_opcode));
	memset(f->inv_devtab, 0, sizeof(f->inv_devtab));
	memset(f->inv_inttab, 0, sizeof(f->inv_inttab));
}

static void fake_run_commands(struct fake_unit *f)
{
	u64 cb = *reg(f, AMDVI_MMIO_CMDBUF);
	u64 base = cb & AMDVI_BASE_ADDR_MASK;
	u32 size = 16u << ((cb >> 56) & 0xf);
	u32 head = (u32)*reg(f, AMDVI_MMIO_CMD_HEAD);
	u32 tail = (u32)*reg(f, AMDVI_MMIO_CMD_TAIL);

	if (f->deaf || !(*reg(f, AMDVI_MMIO_CONTROL) & AMDVI_CTRL_CMD_BUF_EN))
		return;
	while (head != tail) {
		const u64 *c = (const u64 *)(uintptr_t)(base + head);
		u32 op = (u32)(c[0] >> 60);

		if (f->ncmds < FAKE_LOGGED) {
			f->cmds[f->ncmds][0] = c[0];
			f->cmds[f->ncmds][1] = c[1];
		}
		f->ncmds++;
		f->per_opcode[op]++;
		if (op == AMDVI_CMD_INV_DEVTAB_ENTRY)
			f->inv_devtab[(u16)c[0] / 8] |= 1 << ((u16)c[0] % 8);
		if (op == AMDVI_CMD_INV_INTERRUPT_TABLE)
			f->inv_inttab[(u16)c[0] / 8] |= 1 << ((u16)c[0] % 8);
		if (op == AMDVI_CMD_COMPLETION_WAIT && (c[0] & 1))
			*(u64 *)(uintptr_t)(c[0] & AMDVI_CW_ADDR_MASK) = c[1];
		head = (head + 16) % size;
	}
	*reg(f, AMDVI_MMIO_CMD_HEAD) = head;
}

u64 amdvi_host_mmio_read(u64 base, u32 offset)
{
	struct fake_unit *f = fake_of(base);

	assert_true(offset < AMDVI_MMIO_SIZE && !(offset & 7));
	if (offset == AMDVI_MMIO_EFR)
		f->efr_reads++;
	return *reg(f, offset);
}

void amdvi_host_mmio_write(u64 base, u32 offset, u64 value)
{
	struct fake_unit *f = fake_of(base);

	assert_true(offset < AMDVI_MMIO_SIZE && !(offset & 7));
	if (f->nwrites < FAKE_WRITELOG) {
		f->writes[f->nwrites] = offset;
		f->write_values[f->nwrites] = value;
		f->nwrites++;
	}
	switch (offset) {
	case AMDVI_MMIO_STATUS:
		*reg(f, offset) &= ~(value & 7);
		break;
	case AMDVI_MMIO_CONTROL: {
		u64 *st = reg(f, AMDVI_MMIO_STATUS);

		*reg(f, offset) = value;
		*st &= ~(AMDVI_STATUS_CMD_BUF_RUN | AMDVI_STATUS_EVENT_LOG_RUN);
		if (value & AMDVI_CTRL_CMD_BUF_EN)
			*st |= AMDVI_STATUS_CMD_BUF_RUN;
		if (value & AMDVI_CTRL_EVENT_LOG_EN)
			*st |= AMDVI_STATUS_EVENT_LOG_RUN;
		break;
	}
	case AMDVI_MMIO_CMD_TAIL:
		*reg(f, offset) = value;
		fake_run_commands(f);
		break;
	case AMDVI_MMIO_EFR:
		fail_msg("the EFR is read-only");
		break;
	default:
		*reg(f, offset) = value;
		break;
	}
}

/* Writes an event into the unit's log at its tail, as the unit would. */
static void fake_log_event(struct fake_unit *f, u64 e0, u64 e1)
{
	u64 el = *reg(f, AMDVI_MMIO_EVTLOG);
	u64 *log = (u64 *)(uintptr_t)(el & AMDVI_BASE_ADDR_MASK);
	u32 size = 16u << ((el >> 56) & 0xf);
	u32 tail = (u32)*reg(f, AMDVI_MMIO_EVT_TAIL);

	log[tail / 8] = e0;
	log[tail / 8 + 1] = e1;
	*reg(f, AMDVI_MMIO_EVT_TAIL) = (tail + 16) % size;
}

/* ---- the IVRS of the tests ---- */

#define BASE_A	 0xfeb80000ull
#define BASE_B	 0xfeb84000ull
#define UNIT_A	 BDF(0, 2, 0)
#define UNIT_B	 BDF(0x40, 0, 2)
#define ALIAS_ID BDF(2, 0, 0) /* the PCIe-to-PCI bridge */
#define EFR_A	 (AMDVI_EFR_IA_SUP | 0x2a5ull)

static struct ivrs_info info;

/*
 * Unit A (type 11h, EFR with IA): 00:00.0-00:1f.7, and bus 3 behind a
 * bridge whose requests carry 02:00.0. Unit B (type 10h): All.
 */
static void make_ivrs(void)
{
	struct ivrs_unit *a = &info.units[0], *b = &info.units[1];

	memset(&info, 0, sizeof(info));
	info.unit_count = 2;
	a->type = IVRS_IVHD_11;
	a->bdf = UNIT_A;
	a->cap_offset = 0x40;
	a->base = BASE_A;
	a->range_count = 2;
	a->ranges[0] = (struct ivrs_range){.first = BDF(0, 0, 0),
					   .last = BDF(0, 0x1f, 7),
					   .alias = BDF(0, 0, 0)};
	a->ranges[1] = (struct ivrs_range){.first = BDF(3, 0, 0),
					   .last = BDF(3, 0x1f, 7),
					   .alias = ALIAS_ID,
					   .aliased = true};
	a->special_count = 1;
	a->specials[0] = (struct ivrs_special){.variety = IVRS_SPECIAL_IOAPIC,
					       .handle = 0x21,
					       .bdf = BDF(0, 0x14, 0)};
	b->type = IVRS_IVHD_10;
	b->bdf = UNIT_B;
	b->cap_offset = 0x40;
	b->base = BASE_B;
	b->all = true;
}

static int setup(void **state)
{
	(void)state;
	if (fakes[0].base)
		amdvi_host_reset(); /* the last test's units off, memory back */
	host_printk_reset();
	memset(fakes, 0, sizeof(fakes));
	fakes[0].base = BASE_A;
	fakes[1].base = BASE_B;
	fakes[0].regs[AMDVI_MMIO_EFR / 8] = EFR_A;
	fakes[1].regs[AMDVI_MMIO_EFR / 8] = 0x1234;
	cap_header = 0xffffffffu;
	fail_allocs = false;
	make_ivrs();
	return 0;
}

/* ---- pure encodings ---- */

static void test_dte_blocked(void **state)
{
	u64 dte[4] = {~0ull, ~0ull, ~0ull, ~0ull};

	(void)state;
	amdvi_dte_blocked(dte, 0x12345000);
	/* V, TV, Mode 4 in 11:9, root 51:12, IR = IW = 0. */
	assert_int_equal(dte[0], 0x12345000ull | 0x800 | 0x3);
	assert_int_equal(dte[1], 0); /* domain 0, SE = SA = 0, SysMgt 00b */
	/* IV (bit 128) only: IntTabLen 132:129, IG 133, table 179:134 all 0;
	 * InitPass 184, EIntPass 185, NMIPass 186, Lint0Pass 190, Lint1Pass
	 * 191 all 0; IntCtl 189:188 00b (target abort). */
	assert_int_equal(dte[2], 0x1);
	assert_int_equal(dte[3], 0);
}

static void test_dte_interrupt_fields(void **state)
{
	(void)state;
	/* Each field at its bit of the 256-bit entry, minus 128 (2.2.2.1). */
	assert_int_equal(AMDVI_DTE_IV, 1ull << 0);
	assert_int_equal(AMDVI_DTE_INTTABLEN_MASK, 0xfull << 1);
	assert_int_equal(AMDVI_DTE_IG, 1ull << 5);
	/* IntTableRootPtr 179:134: 46 bits from bit 6. */
	assert_int_equal(AMDVI_DTE_INTTAB_MASK, 0x3fffffffffffull << 6);
	assert_int_equal(AMDVI_DTE_INITPASS, 1ull << 56);
	assert_int_equal(AMDVI_DTE_EINTPASS, 1ull << 57);
	assert_int_equal(AMDVI_DTE_NMIPASS, 1ull << 58);
	assert_int_equal(AMDVI_DTE_INTCTL_MASK, 3ull << 60);
	assert_int_equal(AMDVI_DTE_LINT0PASS, 1ull << 62);
	assert_int_equal(AMDVI_DTE_LINT1PASS, 1ull << 63);
	assert_int_equal(AMDVI_DTE_INTERRUPTS_BLOCKED, 1);
	assert_int_equal((u64)AMDVI_INTCTL_ABORT << AMDVI_DTE_INTCTL_SHIFT, 0);
	assert_int_equal((u64)AMDVI_INTCTL_REMAP << AMDVI_DTE_INTCTL_SHIFT,
			 2ull << 60);
}

static void test_dte_attached(void **state)
{
	u64 dte[4];

	(void)state;
	amdvi_dte_attached(dte, 0xabcdef123000ull, 0x2a);
	assert_int_equal(dte[0], 0xabcdef123000ull | 0x800 | 0x3 |
				     (1ull << 61) | (1ull << 62));
	assert_int_equal(dte[1], 0x2a); /* DomainID: bits 79:64 */
	/* Interrupts as in the blocked entry: IV, IntCtl 00b, nothing else. */
	assert_int_equal(dte[2], 0x1);
	assert_int_equal(dte[3], 0);
	/* Bits of the root below 4 KiB and above 51 never leak. */
	amdvi_dte_attached(dte, 0xfff0000000001fffull, 1);
	assert_int_equal(dte[0] & 0x000ffffffffff000ull, 0x1000);
	assert_int_equal(dte[0] & 0x9ff0000000000ffcull, 0x800);
}

static void test_irte(void **state)
{
	(void)state;
	/* 2.2.5.1: RemapEn 0; SupIOPF 1, IntType 4:2 (000b fixed), RqEoi 5,
	 * DM 6, GuestMode 7 all 0; Destination 15:8; Vector 23:16; 31:24
	 * 0. */
	assert_int_equal(amdvi_irte(0x41, 0x07), 0x00410701u);
	assert_int_equal(amdvi_irte(0xff, 0xff), 0x00ffff01u);
	assert_int_equal(amdvi_irte(0, 0), 0x00000001u);
	assert_int_equal(AMDVI_IRTE_REMAP_EN, 1);
	assert_int_equal(AMDVI_IRT_ENTRIES, 256);
}

static void test_dte_interrupts(void **state)
{
	(void)state;
	/* 2.2.2.1, third qword: IV 0, IntTabLen 4:1 = log2(entries),
	 * IntTableRootPtr 51:6, IntCtl 61:60 = 10b (remapped); IG, the pass
	 * bits and Lint*Pass 0. */
	assert_int_equal(amdvi_dte_interrupts(0x12345680ull, 256),
			 0x2000000012345691ull);
	assert_int_equal(amdvi_dte_interrupts(0x12345680ull, 2),
			 0x2000000012345683ull);
	assert_int_equal(amdvi_dte_interrupts(0x12345680ull, 512),
			 0x2000000012345693ull);
	assert_int_equal(amdvi_dte_interrupts(0x12345680ull, 2048),
			 0x2000000012345697ull);
	/* Bits of the table below 64 bytes and above 51 never leak. */
	assert_int_equal(amdvi_dte_interrupts(0xfff00000abcd003full, 256),
			 0x20000000abcd0011ull);
	assert_int_equal(amdvi_dte_interrupts(0x000fffffffffffc0ull, 256),
			 0x200fffffffffffd1ull);
	assert_int_equal(amdvi_dte_interrupts(0x1000, 256) &
			     AMDVI_DTE_INTCTL_MASK,
			 (u64)AMDVI_INTCTL_REMAP << AMDVI_DTE_INTCTL_SHIFT);
}

static void test_base_registers(void **state)
{
	(void)state;
	/* 2 MiB table: 512 pages, Size = 511. */
	assert_int_equal(amdvi_devtab_reg(0x40000000, AMDVI_DEVTAB_PAGES),
			 0x40000000ull | 0x1ff);
	assert_int_equal(AMDVI_DEVTAB_PAGES, 512);
	/* 512 entries: Len 9 in bits 59:56; 256: 8; 32768: 15. */
	assert_int_equal(amdvi_ring_reg(0x7654000, 512),
			 0x7654000ull | (9ull << 56));
	assert_int_equal(amdvi_ring_reg(0x1000, 256), 0x1000ull | (8ull << 56));
	assert_int_equal(amdvi_ring_reg(0x1000, 32768),
			 0x1000ull | (15ull << 56));
}

static void test_commands(void **state)
{
	u64 c[2];

	(void)state;
	amdvi_cmd_completion_wait(c, 0x123456789a8ull, 0x1122334455667788ull);
	assert_int_equal(c[0], 0x123456789a8ull | 1 | (1ull << 60));
	assert_int_equal(c[1], 0x1122334455667788ull);

	amdvi_cmd_inv_devtab_entry(c, 0xbeef);
	assert_int_equal(c[0], 0xbeefull | (2ull << 60));
	assert_int_equal(c[1], 0);

	amdvi_cmd_inv_interrupt_table(c, 0xbeef);
	assert_int_equal(c[0], 0xbeefull | (5ull << 60));
	assert_int_equal(c[1], 0);

	amdvi_cmd_inv_iommu_pages_all(c, 0x40);
	assert_int_equal(c[0], (0x40ull << 32) | (3ull << 60));
	assert_int_equal(c[1], 0x7ffffffffffff001ull); /* S, every page */

	amdvi_cmd_inv_iommu_all(c);
	assert_int_equal(c[0], 8ull << 60);
	assert_int_equal(c[1], 0);
}

static void test_decode_page_fault(void **state)
{
	struct iommu_fault f;
	u64 ev[2];
	u16 dom;
	u8 code;

	(void)state;
	/* IO_PAGE_FAULT, device 01:00.0, domain 7, a write (RW), not
	 * present (PR = 0), at 0xdead000. */
	ev[0] = (2ull << 60) | AMDVI_EVF_RW | (7ull << 32) | BDF(1, 0, 0);
	ev[1] = 0xdead000;
	amdvi_decode_event(ev, UNIT_A, &f, &code, &dom);
	assert_int_equal(code, 2);
	assert_int_equal(dom, 7);
	assert_int_equal(f.bdf, BDF(1, 0, 0));
	assert_int_equal(f.addr, 0xdead000);
	assert_true(f.write);
	assert_string_equal(
	    f.reason, "I/O page fault: no translation (page not present)");

	/* A read of a present page: a permission fault. */
	ev[0] = (2ull << 60) | AMDVI_EVF_PR | (3ull << 32) | 0x18;
	amdvi_decode_event(ev, UNIT_A, &f, &code, &dom);
	assert_false(f.write);
	assert_int_equal(f.bdf, 0x18);
	assert_int_equal(dom, 3);
	assert_string_equal(f.reason, "I/O page fault: access not permitted");

	/* The flags really are at bit 48: RW one place off is no write. */
	ev[0] = (2ull << 60) | (1ull << 52) | 0x18;
	amdvi_decode_event(ev, UNIT_A, &f, NULL, NULL);
	assert_false(f.write);
	ev[0] = (2ull << 60) | AMDVI_EVF_RZ | 0x18;
	amdvi_decode_event(ev, UNIT_A, &f, NULL, NULL);
	assert_string_equal(f.reason, "I/O page fault: reserved bit set in a "
				      "page table entry");

	/* I (bit 51): an interrupt request, a write, whatever RW says. */
	ev[0] = (2ull << 60) | AMDVI_EVF_I | AMDVI_EVF_RZ | BDF(1, 0, 0);
	ev[1] = 0xfee00000;
	amdvi_decode_event(ev, UNIT_A, &f, &code, NULL);
	assert_int_equal(code, 2);
	assert_true(f.write);
	assert_int_equal(f.addr, 0xfee00000);
	assert_int_equal(f.bdf, BDF(1, 0, 0));
	assert_string_equal(f.reason, "interrupt blocked: I/O page fault on an "
				      "interrupt request");
	ev[0] = (2ull << 60) | (1ull << 50) | BDF(1, 0, 0); /* US, not I */
	amdvi_decode_event(ev, UNIT_A, &f, NULL, NULL);
	assert_false(f.write);
	assert_null(strstr(f.reason, "interrupt"));
}

static void test_decode_other_events(void **state)
{
	static const struct {
		u8 code;
		bool unit_event;
		const char *reason;
	} cases[] = {
	    {1, false, "illegal device table entry"},
	    {3, false, "device table hardware error"},
	    {4, false, "page table hardware error"},
	    {5, true, "IOMMU: illegal command in the command buffer"},
	    {6, true, "IOMMU: command buffer hardware error"},
	    {7, false, "IOTLB invalidation timed out"},
	    {8, false, "invalid device request"},
	    {0xb, true, "IOMMU: event of a kind not decoded"},
	};
	struct iommu_fault f;
	u64 ev[2];
	u8 code;

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		ev[0] = ((u64)cases[i].code << 60) | BDF(5, 1, 2);
		ev[1] = 0x1000 * (i + 1);
		amdvi_decode_event(ev, UNIT_A, &f, &code, NULL);
		assert_int_equal(code, cases[i].code);
		assert_int_equal(f.bdf,
				 cases[i].unit_event ? UNIT_A : BDF(5, 1, 2));
		assert_int_equal(f.addr, 0x1000 * (i + 1));
		assert_false(f.write);
		assert_string_equal(f.reason, cases[i].reason);
	}
}

static void test_find_unit(void **state)
{
	u16 alias;

	(void)state;
	assert_int_equal(amdvi_find_unit(&info, BDF(0, 3, 0), &alias), 0);
	assert_int_equal(alias, BDF(0, 3, 0));
	assert_int_equal(amdvi_find_unit(&info, BDF(0, 0x1f, 7), &alias), 0);
	/* Behind the bridge: unit A, the bridge's ID. */
	assert_int_equal(amdvi_find_unit(&info, BDF(3, 4, 1), &alias), 0);
	assert_int_equal(alias, ALIAS_ID);
	/* Elsewhere: unit B's All entry. */
	assert_int_equal(amdvi_find_unit(&info, BDF(1, 0, 0), &alias), 1);
	assert_int_equal(alias, BDF(1, 0, 0));
	/* Without the All entry, nobody. */
	info.units[1].all = false;
	assert_int_equal(amdvi_find_unit(&info, BDF(1, 0, 0), &alias), -1);
	assert_int_equal(amdvi_find_unit(&info, BDF(4, 0, 0), NULL), -1);
}

/* Through the real parser: an IVHD 10h with an alias range (43h ... 04h). */
static void test_find_unit_parsed(void **state)
{
	static u8 t[256];
	struct ivrs_info parsed;
	char err[160];
	u32 n = 48;
	u16 len, alias;
	u8 s = 0;

	(void)state;
	memset(t, 0, sizeof(t));
	memcpy(t, "IVRS", 4);
	t[8] = 2;
	t[n] = 0x10; /* IVHD 10h, 24-byte header */
	t[n + 4] = (u8)UNIT_A;
	t[n + 5] = (u8)(UNIT_A >> 8);
	t[n + 6] = 0x40;
	memcpy(t + n + 8, &(u64){BASE_A}, 8);
	n += 24;
	/* Select 00:05.0 */
	t[n] = 0x02;
	t[n + 1] = BDF(0, 5, 0);
	n += 4;
	/* Alias range start 06:00.0 .. 06:1f.7 as 05:00.0 */
	t[n] = 0x43;
	t[n + 2] = 6;
	t[n + 5] = 0;
	t[n + 6] = 5;
	n += 8;
	t[n] = 0x04;
	t[n + 1] = 0xff;
	t[n + 2] = 6;
	n += 4;
	len = (u16)(n - 48);
	memcpy(t + 50, &len, 2);
	memcpy(t + 4, &n, 4);
	for (u32 i = 0; i < n; i++)
		s += t[i];
	t[9] = (u8)-s;

	assert_int_equal(ivrs_parse(t, n, &parsed, err, sizeof(err)), ACPI_OK);
	assert_int_equal(parsed.unit_count, 1);
	assert_int_equal(amdvi_find_unit(&parsed, BDF(0, 5, 0), &alias), 0);
	assert_int_equal(alias, BDF(0, 5, 0));
	assert_int_equal(amdvi_find_unit(&parsed, BDF(6, 2, 3), &alias), 0);
	assert_int_equal(alias, BDF(5, 0, 0));
	assert_int_equal(amdvi_find_unit(&parsed, BDF(0, 6, 0), &alias), -1);
}

/* ---- probe ---- */

static void expect_refused(const char *message)
{
	char err[160];

	assert_null(amdvi_probe(&info, err, sizeof(err)));
	assert_string_equal(err, message);
}

static void test_probe_refuses(void **state)
{
	(void)state;
	info.units[1].base = 0;
	expect_refused("AMD-Vi unit 40:00.2: the IVHD gives no register base");
	info.units[1].base = BASE_B + 0x1000;
	expect_refused("AMD-Vi unit 40:00.2: register base 0xfeb85000 is not "
		       "16 KiB aligned");
	info.units[1].base = 0x100000000ull;
	expect_refused("AMD-Vi unit 40:00.2: register base 0x100000000 is not "
		       "below 4 GiB, where device memory is mapped");
	info.units[1].base = 0xffffc000ull; /* the last 16 KiB: fine */
	fakes[1].base = 0xffffc000ull;
	assert_non_null(amdvi_probe(&info, NULL, 0));
	info.units[1].base = BASE_B;
	info.units[0].segment = 1;
	expect_refused("AMD-Vi unit 00:02.0: PCI segment 1 is not supported "
		       "(segment 0 only)");
	info.unit_count = 0;
	expect_refused("AMD-Vi: the IVRS describes no IOMMU");
}

static void test_probe_lines(void **state)
{
	const struct iommu_ops *ops;
	char err[160];

	(void)state;
	ops = amdvi_probe(&info, err, sizeof(err));
	assert_non_null(ops);
	assert_string_equal(ops->name, "AMD-Vi");
	assert_ptr_equal(ops->fmt, &pt_format_amdvi);
	/* Unit B (10h) without configuration access: no EFR read. */
	assert_int_equal(fakes[0].efr_reads, 1);
	assert_int_equal(fakes[1].efr_reads, 0);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: AMD-Vi unit 00:02.0 at 0xfeb80000: "
			    "2 device ranges, extended features 0x2e5\n"
			    "veneer: iommu: AMD-Vi unit 40:00.2 at 0xfeb84000: "
			    "1 device ranges, extended features 0x0\n");
	for (const char *p = host_printk_text(), *nl; (nl = strchr(p, '\n'));
	     p = nl + 1)
		assert_true(nl - p < 160);

	/* The capability header's EFRSup makes a 10h unit's EFR read. */
	host_printk_reset();
	cap_header = AMDVI_CAP_EFR_SUP | 0xf;
	assert_non_null(amdvi_probe(&info, err, sizeof(err)));
	assert_int_equal(fakes[1].efr_reads, 1);
	assert_non_null(strstr(host_printk_text(), "features 0x1234\n"));
	cap_header = 0xf; /* present, without EFRSup */
	assert_non_null(amdvi_probe(&info, err, sizeof(err)));
	assert_int_equal(fakes[1].efr_reads, 1);
}

/* ---- enable ---- */

static const struct iommu_ops *probe_and_enable(void)
{
	const struct iommu_ops *ops;
	char err[160] = "";

	ops = amdvi_probe(&info, err, sizeof(err));
	assert_non_null(ops);
	fakes[1].regs[AMDVI_MMIO_CONTROL / 8] =
	    AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_CMD_BUF_EN;
	fakes[1].regs[AMDVI_MMIO_STATUS / 8] =
	    AMDVI_STATUS_CMD_BUF_RUN | AMDVI_STATUS_EVENT_OVERFLOW;
	assert_int_equal(ops->enable(err, sizeof(err)), 0);
	return ops;
}

static u64 *dte_of(u64 devtab, u16 id)
{
	return (u64 *)(uintptr_t)(devtab + 32ull * id);
}

static void test_enable(void **state)
{
	const u64 ctrl_on = AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_CMD_BUF_EN |
			    AMDVI_CTRL_EVENT_LOG_EN | AMDVI_CTRL_COHERENT;
	struct fake_unit *a = &fakes[0], *b = &fakes[1];
	u64 devtab, root, blocked;
	u32 i;

	(void)state;
	probe_and_enable();

	/* Same device table for both: 2 MiB, Size 511. */
	devtab = *reg(a, AMDVI_MMIO_DEVTAB) & AMDVI_BASE_ADDR_MASK;
	assert_int_equal(*reg(a, AMDVI_MMIO_DEVTAB), devtab | 0x1ff);
	assert_int_equal(*reg(b, AMDVI_MMIO_DEVTAB), devtab | 0x1ff);
	assert_int_equal(*reg(a, AMDVI_MMIO_CONTROL), ctrl_on);
	assert_int_equal(*reg(b, AMDVI_MMIO_CONTROL), ctrl_on);
	/* Rings of 512 entries, distinct per unit; status cleared. */
	assert_int_equal(*reg(a, AMDVI_MMIO_CMDBUF) >> 56, 9);
	assert_int_equal(*reg(a, AMDVI_MMIO_EVTLOG) >> 56, 9);
	assert_int_not_equal(*reg(a, AMDVI_MMIO_CMDBUF),
			     *reg(b, AMDVI_MMIO_CMDBUF));
	assert_int_equal(*reg(b, AMDVI_MMIO_STATUS) & 7, 0);

	/* Every entry blocked, through one empty table. */
	root = dte_of(devtab, 0)[0] & AMDVI_DTE_ROOT_MASK;
	blocked = root | 0x800 | 3;
	for (i = 0; i < 65536; i++) {
		const u64 *e = dte_of(devtab, (u16)i);

		/* Interrupts blocked too: IV, IntCtl 00b (dte[2] = 1). */
		if (e[0] != blocked || e[1] || e[2] != 1 || e[3])
			fail_msg("DTE %x is not blocked", i);
	}
	for (i = 0; i < 512; i++)
		assert_int_equal(((u64 *)(uintptr_t)root)[i], 0);

	/* Unit B was on: turned off first, the device table written
	 * before anything is enabled again, IOMMUEn last. */
	assert_int_equal(b->writes[0], AMDVI_MMIO_CONTROL);
	assert_int_equal(b->write_values[0], 0);
	assert_int_equal(b->writes[1], AMDVI_MMIO_DEVTAB);
	for (i = 2; i < b->nwrites && b->writes[i] != AMDVI_MMIO_CONTROL; i++)
		;
	assert_true(i + 1 < b->nwrites);
	assert_int_equal(b->write_values[i],
			 ctrl_on & ~(u64)AMDVI_CTRL_IOMMU_EN);
	assert_int_equal(b->writes[i + 1], AMDVI_MMIO_CONTROL);
	assert_int_equal(b->write_values[i + 1], ctrl_on);
	assert_non_null(strstr(host_printk_text(),
			       "AMD-Vi unit 40:00.2 was enabled by the "
			       "firmware; turning it off first"));

	/* Unit A has IA: INVALIDATE_IOMMU_ALL (interrupt tables included),
	 * the 65 domains, the wait. */
	assert_int_equal(a->ncmds, 1 + 65 + 1);
	assert_int_equal(a->per_opcode[AMDVI_CMD_INV_INTERRUPT_TABLE], 0);
	assert_int_equal(a->cmds[0][0], 8ull << 60);
	for (i = 0; i <= 64; i++) {
		assert_int_equal(a->cmds[1 + i][0],
				 ((u64)i << 32) | 3ull << 60);
		assert_int_equal(a->cmds[1 + i][1], 0x7ffffffffffff001ull);
	}
	assert_int_equal(a->cmds[66][0] >> 60, 1);
	/* Unit B has no EFR: every device ID (All), its entry and its
	 * interrupt table, through a 512-entry ring many times over, then
	 * the domains and the wait. */
	assert_int_equal(b->per_opcode[AMDVI_CMD_INV_DEVTAB_ENTRY], 65536);
	assert_int_equal(b->per_opcode[AMDVI_CMD_INV_INTERRUPT_TABLE], 65536);
	for (i = 0; i < sizeof(b->inv_devtab); i++) {
		assert_int_equal(b->inv_devtab[i], 0xff);
		assert_int_equal(b->inv_inttab[i], 0xff);
	}
	/* Each ID's pair together, entry first. */
	assert_int_equal(b->cmds[0][0], 0ull | 2ull << 60);
	assert_int_equal(b->cmds[1][0], 0ull | 5ull << 60);
	assert_int_equal(b->cmds[2][0], 1ull | 2ull << 60);
	assert_int_equal(b->cmds[3][0], 1ull | 5ull << 60);
	assert_int_equal(b->per_opcode[AMDVI_CMD_INV_IOMMU_PAGES], 65);
	assert_int_equal(b->per_opcode[AMDVI_CMD_COMPLETION_WAIT], 1);
	assert_int_equal(b->per_opcode[AMDVI_CMD_INV_IOMMU_ALL], 0);
}

static struct iommu_domain domain(u16 id, u64 root)
{
	struct iommu_domain d;

	memset(&d, 0, sizeof(d));
	d.id = id;
	d.in_use = true;
	d.pt.fmt = &pt_format_amdvi;
	d.pt.root = root;
	return d;
}

static void test_attach(void **state)
{
	const struct iommu_ops *ops = probe_and_enable();
	struct fake_unit *a = &fakes[0], *b = &fakes[1];
	struct iommu_domain d5 = domain(5, 0x7777000),
			    d6 = domain(6, 0x8888000);
	u64 devtab = *reg(a, AMDVI_MMIO_DEVTAB) & AMDVI_BASE_ADDR_MASK;
	u64 blocked0 = dte_of(devtab, 0)[0];
	u16 dev = BDF(3, 4, 1);
	char err[160];

	(void)state;
	fake_log_reset(a);
	fake_log_reset(b);
	assert_int_equal(ops->attach(dev, &d5, err, sizeof(err)), 0);
	/* The device's entry and its alias's. */
	for (u32 k = 0; k < 2; k++) {
		const u64 *e = dte_of(devtab, k ? ALIAS_ID : dev);

		assert_int_equal(e[0], 0x7777000ull | 0x800 | 3 | 3ull << 61);
		assert_int_equal(e[1], 5);
		assert_int_equal(e[2], 1); /* IV, IntCtl 00b */
		assert_int_equal(e[3], 0);
	}
	assert_int_equal(dte_of(devtab, BDF(3, 4, 2))[0], blocked0);
	/* Unit A: both entries, the new domain, the old (0), the wait. */
	assert_int_equal(a->ncmds, 5);
	assert_int_equal(a->cmds[0][0], dev | 2ull << 60);
	assert_int_equal(a->cmds[1][0], ALIAS_ID | 2ull << 60);
	assert_int_equal(a->cmds[2][0], 5ull << 32 | 3ull << 60);
	assert_int_equal(a->cmds[3][0], 0ull << 32 | 3ull << 60);
	assert_int_equal(a->cmds[4][0] >> 60, 1);
	assert_int_equal(b->ncmds, 0);

	/* Moved to domain 6: the old domain 5 is invalidated too. */
	fake_log_reset(a);
	assert_int_equal(ops->attach(dev, &d6, err, sizeof(err)), 0);
	assert_int_equal(dte_of(devtab, dev)[1], 6);
	assert_int_equal(a->cmds[2][0], 6ull << 32 | 3ull << 60);
	assert_int_equal(a->cmds[3][0], 5ull << 32 | 3ull << 60);

	/* Blocked again. */
	fake_log_reset(a);
	assert_int_equal(ops->attach(dev, NULL, err, sizeof(err)), 0);
	assert_int_equal(dte_of(devtab, dev)[0], blocked0);
	assert_int_equal(dte_of(devtab, dev)[1], 0);
	assert_int_equal(dte_of(devtab, ALIAS_ID)[0], blocked0);
	assert_int_equal(dte_of(devtab, dev)[2], 1);
	assert_int_equal(dte_of(devtab, ALIAS_ID)[2], 1);
	/* The interrupt half never changes: no INVALIDATE_INTERRUPT_TABLE. */
	assert_int_equal(a->per_opcode[AMDVI_CMD_INV_INTERRUPT_TABLE], 0);
	assert_int_equal(a->ncmds, 4);
	assert_int_equal(a->cmds[2][0], 6ull << 32 | 3ull << 60);

	/* A device of unit B's All entry goes to unit B only. */
	fake_log_reset(a);
	assert_int_equal(ops->attach(BDF(9, 0, 0), &d5, err, sizeof(err)), 0);
	assert_int_equal(a->ncmds, 0);
	assert_int_equal(b->cmds[0][0], BDF(9, 0, 0) | 2ull << 60);

	/* The driver uses its own copy of the IVRS, not the caller's. */
	info.units[1].all = false;
	assert_int_equal(ops->attach(BDF(9, 0, 1), &d5, err, sizeof(err)), 0);

	/* A domain without a table is refused. */
	d6.pt.root = 0;
	assert_int_equal(ops->attach(dev, &d6, err, sizeof(err)), -1);
	assert_string_equal(err, "AMD-Vi: domain 6 (device 03:04.1) has no "
				 "usable page table or domain ID");
}

/* ---- interrupt remapping: irq_route, irq_unroute ---- */

static bool inv_inttab(const struct fake_unit *f, u16 id)
{
	return f->inv_inttab[id / 8] & (1 << (id % 8));
}

static bool inv_devtab(const struct fake_unit *f, u16 id)
{
	return f->inv_devtab[id / 8] & (1 << (id % 8));
}

static void test_irq_route(void **state)
{
	const struct iommu_ops *ops = probe_and_enable();
	struct fake_unit *a = &fakes[0], *b = &fakes[1];
	struct iommu_domain d5 = domain(5, 0x7777000),
			    d6 = domain(6, 0x8888000);
	u64 devtab = *reg(a, AMDVI_MMIO_DEVTAB) & AMDVI_BASE_ADDR_MASK;
	const u16 dev = BDF(3, 4, 1), other = BDF(3, 4, 2);
	u32 h = IOMMU_NO_IRQ, h2 = IOMMU_NO_IRQ, ho;
	u32 before;
	struct iommu_msi m;
	const u32 *table;
	u64 t, dte0;
	char err[160];

	(void)state;
	assert_non_null(ops->irq_route);
	assert_non_null(ops->irq_unroute);
	assert_int_equal(ops->attach(dev, &d5, err, sizeof(err)), 0);
	dte0 = dte_of(devtab, dev)[0];
	before = allocs_in_use();
	fake_log_reset(a);
	fake_log_reset(b);

	/* The first route: a table of its own, pointed at by the device's
	 * entry and its alias's, both invalidated, then the wait. */
	assert_int_equal(ops->irq_route(dev, 0x81, 5, &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(h, 0);
	assert_int_equal(allocs_in_use(), before + 1);
	t = dte_of(devtab, dev)[2] & AMDVI_DTE_INTTAB_MASK;
	assert_int_not_equal(t, 0);
	assert_int_equal(t & 0xfff, 0);
	for (u32 k = 0; k < 2; k++) {
		const u64 *e = dte_of(devtab, k ? ALIAS_ID : dev);

		assert_int_equal(e[2], t | 0x11 | 2ull << 60);
		assert_int_equal(e[2], amdvi_dte_interrupts(t, 256));
		/* The translation half as attach left it. */
		assert_int_equal(e[0], dte0);
		assert_int_equal(e[1], 5);
		assert_int_equal(e[3], 0);
	}
	table = (const u32 *)(uintptr_t)t;
	assert_int_equal(table[0], 0x00810501u);
	for (u32 i = 1; i < 256; i++)
		assert_int_equal(table[i], 0);
	/* The message: the entry's index in data 10:0, to the CPU. */
	assert_int_equal(m.addr, 0xfee05000ull);
	assert_int_equal(m.data, 0);
	assert_true(inv_devtab(a, dev) && inv_devtab(a, ALIAS_ID));
	assert_true(inv_inttab(a, dev) && inv_inttab(a, ALIAS_ID));
	assert_int_equal(a->ncmds, 5);
	assert_int_equal(a->cmds[4][0] >> 60, AMDVI_CMD_COMPLETION_WAIT);
	assert_int_equal(b->ncmds, 0);
	/* Its neighbour keeps interrupts blocked. */
	assert_int_equal(dte_of(devtab, other)[2],
			 AMDVI_DTE_INTERRUPTS_BLOCKED);

	/* A second: the next entry of the same table; only the table's
	 * cache invalidated, for the device and its alias. */
	fake_log_reset(a);
	assert_int_equal(
	    ops->irq_route(dev, 0x82, 0xfe, &h2, &m, err, sizeof(err)), 0);
	assert_int_equal(h2, 1);
	assert_int_equal(table[1], 0x0082fe01u);
	assert_int_equal(m.addr, 0xfeefe000ull);
	assert_int_equal(m.data, 1);
	assert_int_equal(allocs_in_use(), before + 1);
	assert_int_equal(a->ncmds, 3);
	assert_int_equal(a->cmds[0][0], dev | 5ull << 60);
	assert_int_equal(a->cmds[1][0], ALIAS_ID | 5ull << 60);
	assert_int_equal(a->cmds[2][0] >> 60, AMDVI_CMD_COMPLETION_WAIT);
	assert_int_equal(dte_of(devtab, dev)[2], amdvi_dte_interrupts(t, 256));

	/* Its own entry rewritten in place. */
	fake_log_reset(a);
	assert_int_equal(ops->irq_route(dev, 0x90, 3, &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(h, 0);
	assert_int_equal(table[0], 0x00900301u);
	assert_int_equal(m.data, 0);
	assert_true(inv_inttab(a, dev));

	/* Refused: an entry not in use, one out of range, an APIC ID past 8
	 * bits; nothing written. */
	ho = 7;
	assert_int_equal(
	    ops->irq_route(dev, 0x81, 5, &ho, &m, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "AMD-Vi: interrupt entry 7 is not device 03:04.1's");
	assert_int_equal(table[7], 0);
	ho = 256;
	assert_int_equal(
	    ops->irq_route(dev, 0x81, 5, &ho, &m, err, sizeof(err)), -1);
	ho = IOMMU_NO_IRQ;
	assert_int_equal(
	    ops->irq_route(dev, 0x81, 256, &ho, &m, err, sizeof(err)), -1);
	assert_string_equal(err, "AMD-Vi: APIC ID 256 needs the 128-bit entry "
				 "format, which Veneer does not use");
	assert_int_equal(ho, IOMMU_NO_IRQ);
	assert_int_equal(table[2], 0);

	/* Moved to another domain: the table stays. */
	assert_int_equal(ops->attach(dev, &d6, err, sizeof(err)), 0);
	assert_int_equal(dte_of(devtab, dev)[1], 6);
	assert_int_equal(dte_of(devtab, dev)[2], amdvi_dte_interrupts(t, 256));
	assert_int_equal(dte_of(devtab, ALIAS_ID)[2],
			 amdvi_dte_interrupts(t, 256));

	/* Unrouted: the entry cleared, the cache invalidated; another
	 * device's or an unused handle: nothing. */
	fake_log_reset(a);
	ops->irq_unroute(dev, h2);
	assert_int_equal(table[1], 0);
	assert_int_equal(a->ncmds, 3);
	assert_int_equal(a->cmds[0][0], dev | 5ull << 60);
	assert_int_equal(a->cmds[1][0], ALIAS_ID | 5ull << 60);
	fake_log_reset(a);
	ops->irq_unroute(dev, h2);
	ops->irq_unroute(dev, 300);
	ops->irq_unroute(other, h);
	assert_int_equal(a->ncmds, 0);
	assert_int_equal(table[0], 0x00900301u);
	/* The freed entry is the next new one. */
	h2 = IOMMU_NO_IRQ;
	assert_int_equal(
	    ops->irq_route(dev, 0x84, 5, &h2, &m, err, sizeof(err)), 0);
	assert_int_equal(h2, 1);

	/* Blocked: the interrupt half blocked again for both IDs, their
	 * tables' caches invalidated, the table freed. */
	fake_log_reset(a);
	assert_int_equal(ops->attach(dev, NULL, err, sizeof(err)), 0);
	assert_int_equal(dte_of(devtab, dev)[2], AMDVI_DTE_INTERRUPTS_BLOCKED);
	assert_int_equal(dte_of(devtab, ALIAS_ID)[2],
			 AMDVI_DTE_INTERRUPTS_BLOCKED);
	assert_true(inv_inttab(a, dev) && inv_inttab(a, ALIAS_ID));
	assert_int_equal(allocs_in_use(), before);
	/* Attached again: no table until a route makes one. */
	assert_int_equal(ops->attach(dev, &d5, err, sizeof(err)), 0);
	assert_int_equal(dte_of(devtab, dev)[2], AMDVI_DTE_INTERRUPTS_BLOCKED);
	h = IOMMU_NO_IRQ;
	assert_int_equal(ops->irq_route(dev, 0x85, 5, &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(h, 0);
	assert_int_not_equal(dte_of(devtab, dev)[2] & AMDVI_DTE_INTCTL_MASK, 0);
	assert_int_equal(ops->attach(dev, NULL, err, sizeof(err)), 0);
	assert_int_equal(allocs_in_use(), before);
}

/* Tables are per device: another device's entries are its own. */
static void test_irq_route_per_device(void **state)
{
	const struct iommu_ops *ops = probe_and_enable();
	u64 devtab = *reg(&fakes[0], AMDVI_MMIO_DEVTAB) & AMDVI_BASE_ADDR_MASK;
	const u16 d1 = BDF(0, 3, 0), d2 = BDF(9, 0, 0);
	u32 h1 = IOMMU_NO_IRQ, h2 = IOMMU_NO_IRQ;
	struct iommu_msi m;
	char err[160];

	(void)state;
	assert_int_equal(ops->irq_route(d1, 0x81, 1, &h1, &m, err, sizeof(err)),
			 0);
	/* 09:00.0 is unit B's (All): its own table, unit B told. */
	fake_log_reset(&fakes[1]);
	assert_int_equal(ops->irq_route(d2, 0x82, 2, &h2, &m, err, sizeof(err)),
			 0);
	assert_int_equal(h1, 0);
	assert_int_equal(h2, 0);
	assert_int_not_equal(dte_of(devtab, d1)[2], dte_of(devtab, d2)[2]);
	assert_true(inv_devtab(&fakes[1], d2));
	/* d2's handle 0 is d2's: d1 unrouting it changes nothing of d2. */
	ops->irq_unroute(d1, 0);
	assert_int_equal(((const u32 *)(uintptr_t)(dte_of(devtab, d2)[2] &
						   AMDVI_DTE_INTTAB_MASK))[0],
			 0x00820201u);
	assert_int_equal(ops->attach(d1, NULL, err, sizeof(err)), 0);
	assert_int_equal(ops->attach(d2, NULL, err, sizeof(err)), 0);
	/* A device no unit covers. */
	info.units[1].all = false;
	amdvi_host_reset();
	ops = probe_and_enable();
	h2 = IOMMU_NO_IRQ;
	assert_int_equal(ops->irq_route(d2, 0x82, 2, &h2, &m, err, sizeof(err)),
			 -1);
	assert_string_equal(
	    err, "AMD-Vi: no unit remaps device 09:00.0's interrupts");
}

/*
 * A route refused (a handle the device does not own) before the device
 * had a table leaves nothing behind: the next route points the device's
 * entry at its table, and no table is kept for a device that may never
 * route.
 */
static void test_irq_route_refused_first(void **state)
{
	const struct iommu_ops *ops;
	u64 devtab;
	const u16 dev = BDF(0, 3, 0);
	struct iommu_msi m;
	char err[160];
	u32 before, h = 5;

	(void)state;
	ops = probe_and_enable();
	devtab = *reg(&fakes[0], AMDVI_MMIO_DEVTAB) & AMDVI_BASE_ADDR_MASK;
	before = allocs_in_use();
	assert_int_equal(ops->irq_route(dev, 0x40, 1, &h, &m, err, sizeof(err)),
			 -1);
	assert_int_equal(allocs_in_use(), before);
	h = IOMMU_NO_IRQ;
	assert_int_equal(ops->irq_route(dev, 0x40, 1, &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(dte_of(devtab, dev)[2] & AMDVI_DTE_INTCTL_MASK,
			 (u64)AMDVI_INTCTL_REMAP << AMDVI_DTE_INTCTL_SHIFT);
	assert_int_equal(ops->attach(dev, NULL, err, sizeof(err)), 0);
}

/* 256 entries for a device: the 257th fails. */
static void test_irq_route_full(void **state)
{
	const struct iommu_ops *ops = probe_and_enable();
	const u16 dev = BDF(0, 3, 0);
	struct iommu_msi m;
	char err[160];
	u32 h;

	(void)state;
	for (u32 i = 0; i < AMDVI_IRT_ENTRIES; i++) {
		h = IOMMU_NO_IRQ;
		if (ops->irq_route(dev, 0x40, 1, &h, &m, err, sizeof(err)))
			fail_msg("route %u: %s", i, err);
		assert_int_equal(h, i);
		/* Data bits 10:8 (the delivery mode) stay 000b. */
		assert_int_equal(m.data, i);
		assert_int_equal(m.data & 0x700, 0);
	}
	h = IOMMU_NO_IRQ;
	assert_int_equal(ops->irq_route(dev, 0x40, 1, &h, &m, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "AMD-Vi: device 00:03.0 uses all 256 "
				 "interrupt entries");
	assert_int_equal(h, IOMMU_NO_IRQ);
	ops->irq_unroute(dev, 200);
	assert_int_equal(ops->irq_route(dev, 0x40, 1, &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(h, 200);
	assert_int_equal(ops->attach(dev, NULL, err, sizeof(err)), 0);
}

static void test_attach_uncovered(void **state)
{
	const struct iommu_ops *ops;
	struct iommu_domain d = domain(2, 0x5000);
	char err[160];

	(void)state;
	info.units[1].all = false;
	ops = probe_and_enable();
	assert_int_equal(ops->attach(BDF(9, 0, 0), &d, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "AMD-Vi: no unit's IVHD covers device 09:00.0");
}

static void test_flush_domain(void **state)
{
	const struct iommu_ops *ops = probe_and_enable();
	struct iommu_domain d = domain(9, 0x5000);

	(void)state;
	fake_log_reset(&fakes[0]);
	fake_log_reset(&fakes[1]);
	ops->flush_domain(&d);
	for (u32 i = 0; i < 2; i++) {
		assert_int_equal(fakes[i].ncmds, 2);
		assert_int_equal(fakes[i].cmds[0][0], 9ull << 32 | 3ull << 60);
		assert_int_equal(fakes[i].cmds[0][1], 0x7ffffffffffff001ull);
		assert_int_equal(fakes[i].cmds[1][0] >> 60, 1);
	}
}

static struct iommu_fault reported[8];
static u32 nreported;

static void report(const struct iommu_fault *f)
{
	assert_true(nreported < ARRAY_SIZE(reported));
	reported[nreported++] = *f;
}

static void test_poll_faults(void **state)
{
	const struct iommu_ops *ops = probe_and_enable();
	struct fake_unit *a = &fakes[0], *b = &fakes[1];
	u64 ctrl = *reg(a, AMDVI_MMIO_CONTROL);

	(void)state;
	nreported = 0;
	assert_int_equal(ops->poll_faults(report), 0);

	fake_log_event(a, (2ull << 60) | AMDVI_EVF_RW | BDF(0, 3, 0), 0xfee000);
	fake_log_event(a, (5ull << 60), 0x1230);
	fake_log_event(b, (2ull << 60) | BDF(0x41, 0, 0), 0x2000);
	*reg(a, AMDVI_MMIO_STATUS) |= AMDVI_STATUS_EVENT_LOG_INT;
	assert_int_equal(ops->poll_faults(report), 3);
	assert_int_equal(nreported, 3);
	assert_int_equal(reported[0].bdf, BDF(0, 3, 0));
	assert_int_equal(reported[0].addr, 0xfee000);
	assert_true(reported[0].write);
	assert_int_equal(reported[1].bdf, UNIT_A);
	assert_int_equal(reported[1].addr, 0x1230);
	assert_string_equal(reported[1].reason,
			    "IOMMU: illegal command in the command buffer");
	assert_int_equal(reported[2].bdf, BDF(0x41, 0, 0));
	assert_false(reported[2].write);
	/* Heads caught up; the interrupt status cleared. */
	assert_int_equal(*reg(a, AMDVI_MMIO_EVT_HEAD), 0x20);
	assert_int_equal(*reg(b, AMDVI_MMIO_EVT_HEAD), 0x10);
	assert_int_equal(*reg(a, AMDVI_MMIO_STATUS) & 7, 0);
	assert_int_equal(ops->poll_faults(report), 0);

	/* Around the ring's end (512 entries). */
	*reg(a, AMDVI_MMIO_EVT_HEAD) = *reg(a, AMDVI_MMIO_EVT_TAIL) = 0x1ff0;
	fake_log_event(a, (7ull << 60) | 0x42, 1);
	fake_log_event(a, (8ull << 60) | 0x43, 2);
	nreported = 0;
	assert_int_equal(ops->poll_faults(report), 2);
	assert_int_equal(reported[0].bdf, 0x42);
	assert_int_equal(reported[1].bdf, 0x43);
	assert_int_equal(*reg(a, AMDVI_MMIO_EVT_HEAD), 0x10);

	/* An overflow: the log is restarted (EventLogEn off, the bit
	 * cleared, EventLogEn on). */
	fake_log_reset(a);
	*reg(a, AMDVI_MMIO_STATUS) |= AMDVI_STATUS_EVENT_OVERFLOW;
	assert_int_equal(ops->poll_faults(report), 0);
	assert_int_equal(a->nwrites, 3);
	assert_int_equal(a->writes[0], AMDVI_MMIO_CONTROL);
	assert_int_equal(a->write_values[0],
			 ctrl & ~(u64)AMDVI_CTRL_EVENT_LOG_EN);
	assert_int_equal(a->writes[1], AMDVI_MMIO_STATUS);
	assert_true(a->write_values[1] & AMDVI_STATUS_EVENT_OVERFLOW);
	assert_int_equal(a->writes[2], AMDVI_MMIO_CONTROL);
	assert_int_equal(a->write_values[2], ctrl);
	assert_int_equal(*reg(a, AMDVI_MMIO_STATUS) & 7, 0);
	assert_non_null(strstr(host_printk_text(),
			       "AMD-Vi unit 00:02.0: event log overflowed"));
}

/* A unit that never runs COMPLETION_WAIT: enable fails naming it, and
 * leaves every unit off and its memory freed. */
static void test_enable_timeout(void **state)
{
	const struct iommu_ops *ops;
	u32 before = allocs_in_use();
	char err[160];

	(void)state;
	ops = amdvi_probe(&info, err, sizeof(err));
	assert_non_null(ops);
	fakes[1].deaf = true;
	assert_int_equal(ops->enable(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "AMD-Vi unit 40:00.2: "));
	/* Unit B (All) fills its ring with INVALIDATE_DEVTAB_ENTRY first. */
	assert_non_null(strstr(err, "the command buffer stays full"));
	assert_int_equal(*reg(&fakes[0], AMDVI_MMIO_CONTROL), 0);
	assert_int_equal(*reg(&fakes[1], AMDVI_MMIO_CONTROL), 0);
	assert_int_equal(allocs_in_use(), before);

	/* Without memory: a message, nothing on. */
	fakes[1].deaf = false;
	fail_allocs = true;
	assert_int_equal(ops->enable(err, sizeof(err)), -1);
	assert_string_equal(err,
			    "AMD-Vi: no memory for the device table (2 MiB)");
	assert_int_equal(*reg(&fakes[0], AMDVI_MMIO_CONTROL), 0);
}

static int teardown_all(void **state)
{
	(void)state;
	amdvi_host_reset();
	assert_int_equal(allocs_in_use(), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_dte_blocked, setup),
	    cmocka_unit_test_setup(test_dte_attached, setup),
	    cmocka_unit_test_setup(test_dte_interrupt_fields, setup),
	    cmocka_unit_test_setup(test_irte, setup),
	    cmocka_unit_test_setup(test_dte_interrupts, setup),
	    cmocka_unit_test_setup(test_base_registers, setup),
	    cmocka_unit_test_setup(test_commands, setup),
	    cmocka_unit_test_setup(test_decode_page_fault, setup),
	    cmocka_unit_test_setup(test_decode_other_events, setup),
	    cmocka_unit_test_setup(test_find_unit, setup),
	    cmocka_unit_test_setup(test_find_unit_parsed, setup),
	    cmocka_unit_test_setup(test_probe_refuses, setup),
	    cmocka_unit_test_setup(test_probe_lines, setup),
	    cmocka_unit_test_setup(test_enable_timeout, setup),
	    cmocka_unit_test_setup(test_enable, setup),
	    cmocka_unit_test_setup(test_attach, setup),
	    cmocka_unit_test_setup(test_irq_route, setup),
	    cmocka_unit_test_setup(test_irq_route_per_device, setup),
	    cmocka_unit_test_setup(test_irq_route_full, setup),
	    cmocka_unit_test_setup(test_irq_route_refused_first, setup),
	    cmocka_unit_test_setup(test_attach_uncovered, setup),
	    cmocka_unit_test_setup(test_flush_domain, setup),
	    cmocka_unit_test_setup(test_poll_faults, setup),
	};
	return cmocka_run_group_tests_name("amdvi", tests, NULL, teardown_all);
}
