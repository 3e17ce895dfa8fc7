/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/vtd.c: the entry and descriptor encodings, fault
 * record decoding, the capability decisions, which unit covers a device,
 * and probe / enable / attach / flush / poll_faults against a fake
 * register file that answers the GCMD/GSTS handshake, the register-based
 * invalidations and an invalidation queue the way the specification says
 * a unit does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/lib/pagetable.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "drivers/dmar.h"
#include "drivers/pci.h"
#include "drivers/vtd.h"
#include "tests/unit/host_printk.h"

/* ---- host memory: a pool of pages, "physical" address = pointer ---- */

#define POOL_PAGES 64
static u8 pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static u32 pool_used;

u64 mm_alloc_page(void)
{
	assert_true(pool_used < POOL_PAGES);
	memset(pool[pool_used], 0, 4096);
	return (u64)(uintptr_t)pool[pool_used++];
}

static void *p2v(u64 hpa_value)
{
	return (void *)(uintptr_t)hpa_value;
}

static bool pt_alloc(void *opaque, u64 *out)
{
	(void)opaque;
	*out = mm_alloc_page();
	return true;
}

static void pt_free(void *opaque, u64 hpa_value)
{
	(void)opaque;
	(void)hpa_value;
}

/* ---- the host's PCI devices: bridge 00:1c.0 with buses 3-5 ---- */

int pci_secondary_bus(u16 bdf)
{
	return bdf == PCI_BDF(0, 0x1c, 0) ? 3 : -1;
}

static struct pci_device bridge = {
    .bdf = PCI_BDF(0, 0x1c, 0),
    .header_type = PCI_HEADER_BRIDGE,
    .primary_bus = 0,
    .secondary_bus = 3,
    .subordinate_bus = 5,
};

const struct pci_device *pci_find(u16 bdf)
{
	return bdf == bridge.bdf ? &bridge : NULL;
}

static int fake_sec(void *ctx, u16 bdf)
{
	(void)ctx;
	return pci_secondary_bus(bdf);
}

static int fake_sub(void *ctx, u16 bdf)
{
	(void)ctx;
	return bdf == bridge.bdf ? 5 : -1;
}

/* ---- the fake units ---- */

#define NUNITS 2
struct fake_unit {
	u8 regs[4096];
	u32 gsts;
	bool stuck_tes;	 /* TES never follows TE */
	bool stuck_ires; /* IRES never follows IRE */
	u32 wbf_count;
	u64 iqh;
	u64 irta;	     /* IRTA latched by the last SIRTP */
	bool iec_since_irtp; /* a global IEC invalidation after SIRTP */
};
static struct fake_unit fu[NUNITS];
static char evlog[8192];

static void ev(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ev(const char *fmt, ...)
{
	size_t len = strlen(evlog);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(evlog + len, sizeof(evlog) - len, fmt, ap);
	va_end(ap);
}

static u64 reg64(u32 unit, u32 off)
{
	u64 v;

	memcpy(&v, fu[unit].regs + off, 8);
	return v;
}

static void set_reg64(u32 unit, u32 off, u64 v)
{
	memcpy(fu[unit].regs + off, &v, 8);
}

static u32 reg32(u32 unit, u32 off)
{
	u32 v;

	memcpy(&v, fu[unit].regs + off, 4);
	return v;
}

static void set_reg32(u32 unit, u32 off, u32 v)
{
	memcpy(fu[unit].regs + off, &v, 4);
}

static u32 iro(u32 unit)
{
	return (u32)((reg64(unit, VTD_REG_ECAP) >> 8) & 0x3ff) * 16;
}

static u32 fro(u32 unit)
{
	return (u32)((reg64(unit, VTD_REG_CAP) >> 24) & 0x3ff) * 16;
}

static u32 f_read32(u32 unit, u32 off)
{
	assert_true(unit < NUNITS && off + 4 <= 4096);
	if (off == VTD_REG_GSTS)
		return fu[unit].gsts;
	if (off == VTD_REG_GCMD)
		fail_msg("GCMD is write-only");
	return reg32(unit, off);
}

static u64 f_read64(u32 unit, u32 off)
{
	assert_true(unit < NUNITS && off + 8 <= 4096);
	if (off == VTD_REG_IQH)
		return fu[unit].iqh;
	return reg64(unit, off);
}

#define GCMD_PERSISTENT                                                        \
	(VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI |            \
	 VTD_GCMD_EAFL)
#define GCMD_ONESHOT                                                           \
	(VTD_GCMD_SRTP | VTD_GCMD_SFL | VTD_GCMD_WBF | VTD_GCMD_SIRTP)

static void f_gcmd(u32 unit, u32 v)
{
	struct fake_unit *f = &fu[unit];

	/* 10.4.4: one command per write: exactly one persistent bit
	 * changed or one one-shot bit set; one-shot status bits are never
	 * written back (that would repeat their command). */
	assert_int_equal(__builtin_popcount((v ^ f->gsts) & GCMD_PERSISTENT) +
			     __builtin_popcount(v & GCMD_ONESHOT),
			 1);
	if ((v & VTD_GCMD_TE) != (f->gsts & VTD_GCMD_TE)) {
		ev("u%u:TE%u ", unit, !!(v & VTD_GCMD_TE));
		if (!f->stuck_tes)
			f->gsts = (f->gsts & ~VTD_GCMD_TE) | (v & VTD_GCMD_TE);
	}
	if (v & VTD_GCMD_SRTP) {
		ev("u%u:SRTP=%llx ", unit,
		   (unsigned long long)reg64(unit, VTD_REG_RTADDR));
		f->gsts |= VTD_GCMD_SRTP;
	}
	if (v & VTD_GCMD_WBF)
		f->wbf_count++;
	if (v & VTD_GCMD_SIRTP) {
		f->irta = reg64(unit, VTD_REG_IRTA);
		f->iec_since_irtp = false;
		ev("u%u:SIRTP=%llx ", unit, (unsigned long long)f->irta);
		f->gsts |= VTD_GCMD_SIRTP;
	}
	if ((v & VTD_GCMD_CFI) != (f->gsts & VTD_GCMD_CFI)) {
		ev("u%u:CFI%u ", unit, !!(v & VTD_GCMD_CFI));
		f->gsts = (f->gsts & ~VTD_GCMD_CFI) | (v & VTD_GCMD_CFI);
	}
	if ((v & VTD_GCMD_IRE) != (f->gsts & VTD_GCMD_IRE)) {
		ev("u%u:IRE%u ", unit, !!(v & VTD_GCMD_IRE));
		if (v & VTD_GCMD_IRE) {
			/* 5.1, 10.4.4: a table pointer latched, the entry
			 * cache invalidated since, before IRE. */
			assert_true(f->gsts & VTD_GCMD_SIRTP);
			assert_true(f->iec_since_irtp);
		}
		if (!f->stuck_ires)
			f->gsts =
			    (f->gsts & ~VTD_GCMD_IRE) | (v & VTD_GCMD_IRE);
	}
	if ((v & VTD_GCMD_QIE) != (f->gsts & VTD_GCMD_QIE)) {
		ev("u%u:QIE%u ", unit, !!(v & VTD_GCMD_QIE));
		f->gsts = (f->gsts & ~VTD_GCMD_QIE) | (v & VTD_GCMD_QIE);
		if (v & VTD_GCMD_QIE)
			f->iqh = 0;
	}
}

static void f_write32(u32 unit, u32 off, u32 v)
{
	assert_true(unit < NUNITS && off + 4 <= 4096);
	if (off == VTD_REG_GCMD) {
		f_gcmd(unit, v);
		return;
	}
	if (off == VTD_REG_FSTS) {
		/* PFO, IQE are RW1C; PPF is read-only. */
		set_reg32(unit, off,
			  reg32(unit, off) & ~(v & (VTD_FSTS_PFO | 0x70)));
		return;
	}
	if (off >= fro(unit) && (off - fro(unit)) % 16 == 12) {
		if (v & BIT(31))
			set_reg32(unit, off, reg32(unit, off) & ~BIT(31));
		return;
	}
	set_reg32(unit, off, v);
}

static void process_queue(u32 unit, u64 tail)
{
	struct fake_unit *f = &fu[unit];
	u64 base = reg64(unit, VTD_REG_IQA) & ~0xfffull;

	assert_true(f->gsts & VTD_GCMD_QIE);
	assert_int_equal(reg64(unit, VTD_REG_IQA) & 0xfff,
			 0); /* 128-bit, QS 0 */
	while (f->iqh != tail) {
		const u64 *d = (const u64 *)(uintptr_t)(base + f->iqh);
		u32 type = d[0] & 0xf;

		if (type == 1)
			ev("u%u:qCC g%u did%u sid%llx ", unit,
			   (u32)(d[0] >> 4) & 3, (u32)(d[0] >> 16) & 0xffff,
			   (unsigned long long)(d[0] >> 32) & 0xffff);
		else if (type == 2)
			ev("u%u:qIOTLB g%u did%u ", unit, (u32)(d[0] >> 4) & 3,
			   (u32)(d[0] >> 16) & 0xffff);
		else if (type == 4 && (d[0] & BIT(4))) {
			/* 6.5.2.7, index-selective: G set, IM 31:27 0 (one
			 * entry), IIDX 47:32, nothing else. */
			assert_int_equal(d[0] & ~0xffff00000000ull, 0x14);
			assert_int_equal(d[1], 0);
			ev("u%u:qIEC i%u ", unit, (u32)(d[0] >> 32) & 0xffff);
		} else if (type == 4) {
			/* 6.5.2.7, global. */
			assert_int_equal(d[0], 4);
			assert_int_equal(d[1], 0);
			ev("u%u:qIEC ", unit);
			f->iec_since_irtp = true;
		} else if (type == 5 && (d[0] & BIT(5)))
			*(u32 *)(uintptr_t)d[1] = (u32)(d[0] >> 32);
		else
			fail_msg("unexpected descriptor %llx",
				 (unsigned long long)d[0]);
		f->iqh = (f->iqh + 16) % 4096;
	}
}

static void f_write64(u32 unit, u32 off, u64 v)
{
	assert_true(unit < NUNITS && off + 8 <= 4096);
	if (off == VTD_REG_CCMD && (v & VTD_CCMD_ICC)) {
		assert_false(fu[unit].gsts & VTD_GCMD_QIE);
		ev("u%u:CC g%u did%u sid%llx ", unit, (u32)(v >> 61) & 3,
		   (u32)v & 0xffff, (unsigned long long)(v >> 16) & 0xffff);
		set_reg64(unit, off, v & ~VTD_CCMD_ICC);
		return;
	}
	if (off == iro(unit) + 8 && (v & VTD_IOTLB_IVT)) {
		assert_false(fu[unit].gsts & VTD_GCMD_QIE);
		ev("u%u:IOTLB g%u did%u ", unit, (u32)(v >> 60) & 3,
		   (u32)(v >> 32) & 0xffff);
		set_reg64(unit, off, v & ~VTD_IOTLB_IVT);
		return;
	}
	if (off == VTD_REG_IQT) {
		set_reg64(unit, off, v);
		if (fu[unit].gsts & VTD_GCMD_QIE)
			process_queue(unit, v);
		return;
	}
	set_reg64(unit, off, v);
}

static const struct vtd_test_mmio fake_mmio = {f_read32, f_read64, f_write32,
					       f_write64};

/* Unit 0: QI, coherent, IR, ND 2 (256 domains), 2 MiB and 1 GiB pages,
 * 4 fault records at 0x220, IOTLB at 0x200 (QEMU's layout). Unit 1: no
 * QI, not coherent, RWBF, ND 0 (16 domains), 4 KiB pages only. */
#define CAP0                                                                   \
	(2ull | (0x4ull << 8) | (47ull << 16) | (0x22ull << 24) |              \
	 (3ull << 34) | (3ull << 40))
#define ECAP0 (VTD_ECAP_C | VTD_ECAP_QI | VTD_ECAP_IR | (0x20ull << 8))
#define CAP1                                                                   \
	(0ull | VTD_CAP_RWBF | (0x6ull << 8) | (38ull << 16) |                 \
	 (0x22ull << 24) | (1ull << 40))
#define ECAP1 (0x20ull << 8)

static struct dmar_info dmar;
static char err[256];

static void setup_units(u64 cap1)
{
	memset(fu, 0, sizeof(fu));
	evlog[0] = '\0';
	pool_used = 0;
	host_printk_reset();
	set_reg32(0, VTD_REG_VER, 0x10);
	set_reg64(0, VTD_REG_CAP, CAP0);
	set_reg64(0, VTD_REG_ECAP, ECAP0);
	set_reg32(1, VTD_REG_VER, 0x60);
	set_reg64(1, VTD_REG_CAP, cap1);
	set_reg64(1, VTD_REG_ECAP, ECAP1);
	vtd_test_set_mmio(&fake_mmio, 1000);

	/* Unit 0 covers the rest of segment 0; unit 1 names 00:02.0. */
	memset(&dmar, 0, sizeof(dmar));
	dmar.host_addr_width = 48;
	dmar.unit_count = 2;
	dmar.units[0].reg_base = 0xfed90000;
	dmar.units[0].reg_size = 4096;
	dmar.units[0].include_all = true;
	dmar.units[1].reg_base = 0xfed91000;
	dmar.units[1].reg_size = 4096;
	dmar.units[1].scope_count = 1;
	dmar.units[1].scopes[0] =
	    (struct dmar_scope){.type = DMAR_SCOPE_PCI_ENDPOINT,
				.start_bus = 0,
				.path_len = 1,
				.path = {{2, 0}}};
}

/* ---- pure encodings ---- */

static void test_root_entry(void **state)
{
	struct vtd_entry128 e = vtd_root_entry(0x12345000);

	(void)state;
	assert_int_equal(e.lo, 0x12345001);
	assert_int_equal(e.hi, 0);
	e = vtd_root_entry(0xfffff12345fff);
	assert_int_equal(e.lo, 0xfffff12345001);
}

static void test_context_entry(void **state)
{
	struct vtd_entry128 e = vtd_context_entry(0xabcde000, 7);

	(void)state;
	/* P set, FPD clear, TT 00, SLPTPTR. */
	assert_int_equal(e.lo, 0xabcde001);
	/* AW 010b, DID 23:8. */
	assert_int_equal(e.hi, 0x702);
	e = vtd_context_entry(0x7654321000, 0xffff);
	assert_int_equal(e.lo, 0x7654321001);
	assert_int_equal(e.hi, 0xffff02);
	assert_int_equal(VTD_CTX_DID(e.hi), 0xffff);
}

static void test_qi_descriptors(void **state)
{
	struct vtd_entry128 d;

	(void)state;
	d = vtd_qi_context(VTD_QI_CC_DEVICE, 5, 0x0108);
	assert_int_equal(d.lo, 0x0000010800050031ull);
	assert_int_equal(d.hi, 0);
	d = vtd_qi_context(VTD_QI_CC_GLOBAL, 0, 0);
	assert_int_equal(d.lo, 0x11);
	d = vtd_qi_iotlb(VTD_QI_IOTLB_DOMAIN, 9);
	assert_int_equal(d.lo, 0x00000000000900e2ull);
	assert_int_equal(d.hi, 0);
	d = vtd_qi_iotlb(VTD_QI_IOTLB_GLOBAL, 0);
	assert_int_equal(d.lo, 0xd2);
	/* Interrupt entry cache, global: type 4, G (bit 4) 0, IM, IIDX 0. */
	d = vtd_qi_iec_global();
	assert_int_equal(d.lo, 0x4);
	assert_int_equal(d.hi, 0);
	d = vtd_qi_wait(0xdeadbeef, 0x7f001004);
	assert_int_equal(d.lo, 0xdeadbeef00000025ull);
	assert_int_equal(d.hi, 0x7f001004);
}

static void test_register_commands(void **state)
{
	(void)state;
	assert_int_equal(vtd_ccmd_value(3, 5, 0x108), 0xe000000001080005ull);
	assert_int_equal(vtd_ccmd_value(1, 0, 0), 0xa000000000000000ull);
	assert_int_equal(vtd_iotlb_value(2, 9), 0xa003000900000000ull);
	assert_int_equal(vtd_iotlb_value(1, 0), 0x9003000000000000ull);
	/* One-shot status bits (RTPS 30, FLS 29, WBFS 27, IRTPS 24) are
	 * never written back; persistent ones (QIES 26, IRES 25) are. */
	assert_int_equal(vtd_gcmd_value(0x47000000, VTD_GCMD_TE, true),
			 0x86000000);
	assert_int_equal(vtd_gcmd_value(0xc7000000, VTD_GCMD_TE, false),
			 0x06000000);
	assert_int_equal(vtd_gcmd_value(0x86000000, VTD_GCMD_WBF, true),
			 0x8e000000);
	assert_int_equal(vtd_gcmd_value(0xffffffff, VTD_GCMD_SRTP, true),
			 0xd6ffffff);
	/* SIRTP 24 over TE, QIES, IRTPS of an earlier one: IRTPS dropped. */
	assert_int_equal(vtd_gcmd_value(0x85000000, VTD_GCMD_SIRTP, true),
			 0x85000000);
	assert_int_equal(vtd_gcmd_value(0x85000000, VTD_GCMD_IRE, true),
			 0x86000000);
	/* CFI 23 is persistent: kept, and cleared on its own. */
	assert_int_equal(vtd_gcmd_value(0x86800000, VTD_GCMD_TE, false),
			 0x06800000);
	assert_int_equal(vtd_gcmd_value(0xc5800000, VTD_GCMD_CFI, false),
			 0x84000000);
	assert_int_equal(vtd_gcmd_value(0xc7800000, VTD_GCMD_IRE, false),
			 0x84800000);
}

static void test_irta(void **state)
{
	(void)state;
	/* 10.4.29: 256 entries = 2^(7+1): S 7; EIME (bit 11) clear. */
	assert_int_equal(vtd_irta_value(0x12345000, 256), 0x12345007);
	assert_int_equal(vtd_irta_value(0x12345fff, 256), 0x12345007);
	assert_int_equal(vtd_irta_value(0xabcdef000ull, 2), 0xabcdef000ull);
	assert_int_equal(vtd_irta_value(0x1000, 65536), 0x100f);
	assert_int_equal(vtd_irta_value(0x1000, 512) & VTD_IRTA_EIME, 0);
	assert_int_equal(vtd_irta_value(0x1000, 512), 0x1008);
	assert_int_equal(VTD_REG_IRTA, 0xb8);
	/* IR is used with QI only. */
	assert_true(vtd_ir_usable(VTD_ECAP_IR | VTD_ECAP_QI));
	assert_false(vtd_ir_usable(VTD_ECAP_IR));
	assert_false(vtd_ir_usable(VTD_ECAP_QI));
}

static void test_qi_iec_index(void **state)
{
	struct vtd_entry128 d;

	(void)state;
	/* 6.5.2.7: type 4, G (bit 4) set: index-selective; IM 31:27 0: one
	 * entry; IIDX 47:32. */
	d = vtd_qi_iec_index(0x1234);
	assert_int_equal(d.lo, 0x0000123400000014ull);
	assert_int_equal(d.hi, 0);
	d = vtd_qi_iec_index(0);
	assert_int_equal(d.lo, 0x14);
	d = vtd_qi_iec_index(0xffff);
	assert_int_equal(d.lo, 0x0000ffff00000014ull);
	assert_int_equal(d.lo & (0x1full << 27), 0);
}

static void test_irte(void **state)
{
	struct vtd_entry128 e;

	(void)state;
	/* 9.9: P (0); FPD 1, DM 2, RH 3, TM 4, DLM 7:5, IM 15 all 0; V 23:16;
	 * the xAPIC ID in DST bits 47:40; SID 79:64, SQ 81:80 00b, SVT
	 * 83:82 01b. */
	e = vtd_irte(0x41, 0x07, 0x0310);
	assert_int_equal(e.lo, 0x0000070000410001ull);
	assert_int_equal(e.hi, 0x0000000000040310ull);
	e = vtd_irte(0xff, 0xff, 0xffff);
	assert_int_equal(e.lo, 0x0000ff0000ff0001ull);
	assert_int_equal(e.hi, 0x000000000004ffffull);
	e = vtd_irte(0, 0, 0);
	assert_int_equal(e.lo, VTD_IRTE_P);
	assert_int_equal(e.hi, 1ull << 18);
	assert_int_equal(VTD_IRTE_P, 1);
}

static void test_remappable_msi(void **state)
{
	struct iommu_msi m;

	(void)state;
	/* 5.1.2.2: 0xFEE in 31:20, handle 14:0 in 19:5, interrupt format
	 * (bit 4) 1, SHV (bit 3) 0, handle 15 in bit 2; data 0. */
	m = vtd_remappable_msi(5);
	assert_int_equal(m.addr, 0xfee000b0ull);
	assert_int_equal(m.data, 0);
	m = vtd_remappable_msi(0);
	assert_int_equal(m.addr, 0xfee00010ull);
	m = vtd_remappable_msi(0x7fff);
	assert_int_equal(m.addr, 0xfeeffff0ull);
	m = vtd_remappable_msi(0x8001);
	assert_int_equal(m.addr, 0xfee00034ull);
	m = vtd_remappable_msi(0xffff);
	assert_int_equal(m.addr, 0xfeeffff4ull);
	assert_int_equal(m.addr & BIT(3), 0);
}

static void test_fault_decode(void **state)
{
	struct iommu_fault f;
	char buf[32], big[128];

	(void)state;
	/* F, T = 1 (read), FR 2, SID 00:02.0. */
	assert_true(vtd_fault_decode(0xfee01abcull,
				     BIT(63) | BIT(62) | (2ull << 32) | 0x0010,
				     &f, buf, sizeof(buf)));
	assert_int_equal(f.bdf, 0x0010);
	assert_int_equal(f.addr, 0xfee01000ull);
	assert_false(f.write);
	assert_string_equal(f.reason, "context entry not present");
	/* T = 0: a write; FR 5. */
	assert_true(vtd_fault_decode(0x123456789000ull,
				     BIT(63) | (5ull << 32) | 0x0301, &f, buf,
				     sizeof(buf)));
	assert_true(f.write);
	assert_int_equal(f.bdf, 0x0301);
	assert_int_equal(f.addr, 0x123456789000ull);
	assert_non_null(strstr(f.reason, "write not permitted"));
	/* Unknown reason; AT bits and reserved bits are ignored. */
	assert_true(vtd_fault_decode(
	    0, BIT(63) | (3ull << 60) | (0x42ull << 32), &f, buf, sizeof(buf)));
	assert_string_equal(f.reason, "fault reason 0x42");
	assert_ptr_equal(f.reason, buf);
	/* F clear: nothing recorded. */
	assert_false(vtd_fault_decode(0xfee01000, BIT(62) | (2ull << 32), &f,
				      buf, sizeof(buf)));
	/* Interrupt remapping: FR 0x22, index 5 in FI 63:48; T (here 1)
	 * means nothing: a write at the interrupt range. */
	assert_true(vtd_fault_decode(
	    5ull << 48, BIT(63) | BIT(62) | (0x22ull << 32) | 0x0018, &f, big,
	    sizeof(big)));
	assert_int_equal(f.bdf, 0x0018);
	assert_int_equal(f.addr, 0xfee00000ull);
	assert_true(f.write);
	assert_string_equal(f.reason, "interrupt blocked: remapping table "
				      "entry not present: interrupt index 5");
	assert_ptr_equal(f.reason, big);
	assert_true(vtd_fault_decode(0xffffull << 48,
				     BIT(63) | (0x21ull << 32) | 0x0018, &f,
				     big, sizeof(big)));
	assert_string_equal(f.reason,
			    "interrupt blocked: index beyond the interrupt "
			    "remapping table: interrupt index 65535");
	/* 0x25, compatibility format: no index. */
	assert_true(vtd_fault_decode(0, BIT(63) | (0x25ull << 32) | 0x0020, &f,
				     big, sizeof(big)));
	assert_string_equal(f.reason, "interrupt blocked: compatibility format "
				      "(remapping on, CFI clear)");
	assert_ptr_not_equal(f.reason, big);
	assert_int_equal(f.addr, 0xfee00000ull);
	assert_true(f.write);
	/* An interrupt reason without words: the number, same address. */
	assert_true(vtd_fault_decode(1ull << 48, BIT(63) | (0x2aull << 32), &f,
				     big, sizeof(big)));
	assert_string_equal(f.reason, "fault reason 0x2a");
	assert_int_equal(f.addr, 0xfee00000ull);
	for (u32 fr = 0x20; fr <= 0x27; fr++) {
		assert_non_null(vtd_fault_reason((u8)fr));
		assert_non_null(
		    strstr(vtd_fault_reason((u8)fr), "interrupt blocked: "));
		assert_true(VTD_FR_IS_INTERRUPT(fr));
	}
	assert_null(vtd_fault_reason(0x28));
	assert_false(VTD_FR_IS_INTERRUPT(0x0d));
	assert_false(VTD_FR_IS_INTERRUPT(0x30));
	assert_string_equal(vtd_fault_reason(1), "root entry not present");
	assert_string_equal(vtd_fault_reason(4),
			    "address beyond the domain's address width");
	assert_null(vtd_fault_reason(0));
	assert_null(vtd_fault_reason(0xff));
}

static void test_capabilities(void **state)
{
	u64 caps[3];

	(void)state;
	assert_int_equal(vtd_cap_domains(0), 16);
	assert_int_equal(vtd_cap_domains(2), 256);
	assert_int_equal(vtd_cap_domains(6), 65536);
	/* SAGAW 00010b: 39-bit (3-level) only. */
	assert_non_null(vtd_cap_refusal(0x2ull << 8));
	assert_non_null(strstr(vtd_cap_refusal(0x2ull << 8), "aw-bits=48"));
	assert_non_null(vtd_cap_refusal(0x1bull << 8)); /* all but bit 2 */
	assert_null(vtd_cap_refusal(0x4ull << 8));
	assert_null(vtd_cap_refusal(0x6ull << 8));

	caps[0] = 3ull << 34; /* 2 MiB and 1 GiB */
	caps[1] = 3ull << 34;
	assert_int_equal(vtd_leaf_levels(caps, 2),
			 PT_LEAF_4K | PT_LEAF_2M | PT_LEAF_1G);
	caps[1] = 1ull << 34; /* 2 MiB only */
	assert_int_equal(vtd_leaf_levels(caps, 2), PT_LEAF_4K | PT_LEAF_2M);
	caps[2] = 0; /* 4 KiB only */
	assert_int_equal(vtd_leaf_levels(caps, 3), PT_LEAF_4K);
	caps[0] = 2ull << 34; /* 1 GiB without 2 MiB: neither */
	assert_int_equal(vtd_leaf_levels(caps, 1), PT_LEAF_4K);
}

static void test_find_unit(void **state)
{
	const struct vtd_bus_ops bus = {fake_sec, fake_sub, NULL};
	const struct vtd_bus_ops bus_nosub = {fake_sec, NULL, NULL};
	struct dmar_info d;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.unit_count = 4;
	/* Unit 0: segment 1's catch-all, never used for segment 0. */
	d.units[0].segment = 1;
	d.units[0].include_all = true;
	/* Unit 2: 00:02.0 and 03:00.0 (behind 00:1c.0). */
	d.units[2].scope_count = 2;
	d.units[2].scopes[0] = (struct dmar_scope){
	    .type = DMAR_SCOPE_PCI_ENDPOINT, .path_len = 1, .path = {{2, 0}}};
	d.units[2].scopes[1] =
	    (struct dmar_scope){.type = DMAR_SCOPE_PCI_ENDPOINT,
				.path_len = 2,
				.path = {{0x1c, 0}, {0, 0}}};
	/* Unit 1 (listed first): the bridge 00:1c.0 and its buses 3-5; an
	 * I/O APIC scope with the same path is no PCI device. */
	d.units[1].scope_count = 2;
	d.units[1].scopes[0] = (struct dmar_scope){
	    .type = DMAR_SCOPE_IOAPIC, .path_len = 1, .path = {{0, 2}}};
	d.units[1].scopes[1] = (struct dmar_scope){
	    .type = DMAR_SCOPE_PCI_SUBHIER, .path_len = 1, .path = {{0x1c, 0}}};
	/* Unit 3: the rest of segment 0. */
	d.units[3].include_all = true;

	assert_int_equal(vtd_find_unit(&d, PCI_BDF(0, 2, 0), &bus), 2);
	/* Named itself by unit 2, below unit 1's bridge: unit 2. */
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(3, 0, 0), &bus), 2);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(0, 0x1c, 0), &bus), 1);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(3, 0, 1), &bus), 1);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(5, 31, 7), &bus), 1);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(6, 0, 0), &bus), 3);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(0, 2, 1), &bus), 3);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(2, 0, 0), &bus), 3);
	/* Without the subordinate bus: the secondary bus only. */
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(4, 0, 0), &bus_nosub), 3);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(3, 1, 0), &bus_nosub), 1);
	/* No catch-all for segment 0: uncovered devices find none. */
	d.units[3].include_all = false;
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(6, 0, 0), &bus), -1);
	assert_int_equal(vtd_find_unit(&d, PCI_BDF(0, 2, 0), &bus), 2);
}

/* ---- probe ---- */

static void test_probe(void **state)
{
	const struct iommu_ops *ops;

	(void)state;
	setup_units(CAP1);
	ops = vtd_probe(&dmar, err, sizeof(err));
	assert_non_null(ops);
	assert_string_equal(ops->name, "VT-d");
	assert_string_equal(
	    host_printk_text(),
	    "veneer: iommu: VT-d unit 0 at 0xfed90000: version 1.0, 256 "
	    "domains, 48-bit tables, 2 MiB pages yes, queued invalidation "
	    "yes, interrupt remapping yes\n"
	    "veneer: iommu: VT-d unit 1 at 0xfed91000: version 6.0, 16 "
	    "domains, 48-bit tables, 2 MiB pages no, queued invalidation no, "
	    "interrupt remapping no\n");
	/* Unit 1 has no 2 MiB pages: the common format neither. */
	assert_int_equal(ops->fmt->leaf_levels, PT_LEAF_4K);
	assert_int_equal(ops->fmt->read_bit, pt_format_vtd.read_bit);
	assert_int_equal(ops->fmt->addr_mask, pt_format_vtd.addr_mask);
	/* Nothing turned on yet. */
	assert_int_equal(fu[0].gsts, 0);
	assert_int_equal(evlog[0], '\0');

	/* Both with 2 MiB and 1 GiB pages. */
	setup_units(CAP1 | (3ull << 34));
	ops = vtd_probe(&dmar, err, sizeof(err));
	assert_non_null(ops);
	assert_int_equal(ops->fmt->leaf_levels,
			 PT_LEAF_4K | PT_LEAF_2M | PT_LEAF_1G);
}

static void test_probe_refuses(void **state)
{
	(void)state;
	/* A unit without 4-level tables. */
	setup_units((CAP1 & ~(0x1full << 8)) | (0x2ull << 8));
	assert_null(vtd_probe(&dmar, err, sizeof(err)));
	assert_non_null(strstr(err, "VT-d unit 1 at 0xfed91000"));
	assert_non_null(strstr(err, "aw-bits=48"));

	/* Registers above 4 GiB. */
	setup_units(CAP1);
	dmar.units[1].reg_base = 0x100000000ull;
	assert_null(vtd_probe(&dmar, err, sizeof(err)));
	assert_non_null(strstr(err, "VT-d unit 1"));
	assert_non_null(strstr(err, "0x100000000"));

	/* Fault records beyond the register set. */
	setup_units(CAP1 | (0x3ffull << 24));
	assert_null(vtd_probe(&dmar, err, sizeof(err)));
	assert_non_null(strstr(err, "VT-d unit 1"));

	/* No units. */
	setup_units(CAP1);
	dmar.unit_count = 0;
	assert_null(vtd_probe(&dmar, err, sizeof(err)));
	assert_non_null(strstr(err, "no units"));
}

/* ---- enable, attach, flush, faults ---- */

static const struct iommu_ops *probe_and_enable(void)
{
	const struct iommu_ops *ops = vtd_probe(&dmar, err, sizeof(err));

	assert_non_null(ops);
	evlog[0] = '\0';
	if (ops->enable(err, sizeof(err)) < 0)
		fail_msg("enable: %s", err);
	return ops;
}

static void test_enable(void **state)
{
	char want[512];
	u64 irt;

	(void)state;
	setup_units(CAP1);
	/* Firmware left unit 1 translating, with faults recorded. */
	fu[1].gsts = VTD_GCMD_TE;
	set_reg64(1, 0x220 + 8, BIT(63) | (2ull << 32));
	set_reg32(1, VTD_REG_FSTS, VTD_FSTS_PFO);
	probe_and_enable();

	/* Unit 0 (IR, QI): interrupt remapping on, CFI clear. Unit 1 (no
	 * IR): translation only. */
	assert_int_equal(fu[0].gsts, VTD_GCMD_TE | VTD_GCMD_SRTP |
					 VTD_GCMD_QIE | VTD_GCMD_SIRTP |
					 VTD_GCMD_IRE);
	assert_int_equal(fu[1].gsts, VTD_GCMD_TE | VTD_GCMD_SRTP);
	for (u32 i = 0; i < NUNITS; i++) {
		u64 root = vtd_test_root_table(i);

		assert_int_not_equal(root, 0);
		assert_int_equal(root & 0xfff, 0);
		/* Legacy mode: TTM / RTT clear. */
		assert_int_equal(reg64(i, VTD_REG_RTADDR), root);
		/* Fault events masked. */
		assert_int_equal(reg32(i, VTD_REG_FECTL), VTD_FECTL_IM);
	}
	/* Unit 0 through the queue, unit 1 through registers, each: root
	 * table, global context cache, global IOTLB, then TE; unit 0 then
	 * its interrupt remapping table (S 7), the interrupt entry cache,
	 * IRE; unit 1 turned off first. */
	irt = vtd_test_ir_table(0);
	assert_int_not_equal(irt, 0);
	assert_int_equal(irt & 0xfff, 0);
	assert_int_not_equal(irt, vtd_test_root_table(0));
	snprintf(want, sizeof(want),
		 "u0:SRTP=%llx u0:QIE1 u0:qCC g1 did0 sid0 u0:qIOTLB g1 did0 "
		 "u0:TE1 u0:SIRTP=%llx u0:qIEC u0:IRE1 u1:TE0 u1:SRTP=%llx "
		 "u1:CC g1 did0 sid0 u1:IOTLB g1 did0 u1:TE1 ",
		 (unsigned long long)vtd_test_root_table(0),
		 (unsigned long long)(irt | 7),
		 (unsigned long long)vtd_test_root_table(1));
	assert_string_equal(evlog, want);
	assert_int_equal(reg64(0, VTD_REG_IRTA), irt | 7);
	/* 256 IRTEs, every one not present. */
	for (u32 i = 0; i < 4096; i++)
		assert_int_equal(((const u8 *)p2v(irt))[i], 0);
	assert_int_equal(vtd_test_ir_table(1), 0);
	assert_int_equal(reg64(1, VTD_REG_IRTA), 0);
	/* Unit 1 has no IR at all: nothing said beyond its probe line. */
	assert_null(strstr(host_printk_text(), "interrupt remapping without"));
	assert_int_equal(reg64(0, VTD_REG_IQA) & ~0xfffull,
			 reg64(0, VTD_REG_IQA));
	assert_int_not_equal(reg64(0, VTD_REG_IQA), 0);
	/* RWBF: the write buffer flushed before the invalidations. */
	assert_int_equal(fu[0].wbf_count, 0);
	assert_true(fu[1].wbf_count >= 1);
	/* The firmware's stale fault cleared. */
	assert_false(reg64(1, 0x220 + 8) & BIT(63));
	assert_int_equal(reg32(1, VTD_REG_FSTS), 0);
}

/* Firmware left unit 0 remapping interrupts, compatibility format
 * allowed: IRE off before QIE, CFI cleared before IRE again. */
static void test_enable_firmware_ir(void **state)
{
	char want[512];

	(void)state;
	setup_units(CAP1);
	fu[0].gsts = VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI |
		     VTD_GCMD_SIRTP;
	probe_and_enable();
	snprintf(want, sizeof(want),
		 "u0:IRE0 u0:TE0 u0:QIE0 u0:SRTP=%llx u0:QIE1 u0:qCC g1 did0 "
		 "sid0 u0:qIOTLB g1 did0 u0:TE1 u0:SIRTP=%llx u0:qIEC u0:CFI0 "
		 "u0:IRE1 ",
		 (unsigned long long)vtd_test_root_table(0),
		 (unsigned long long)(vtd_test_ir_table(0) | 7));
	assert_non_null(strstr(evlog, want));
	assert_int_equal(evlog[0], 'u');
	assert_int_equal(strncmp(evlog, want, strlen(want)), 0);
	assert_int_equal(fu[0].gsts & (VTD_GCMD_IRE | VTD_GCMD_CFI),
			 VTD_GCMD_IRE);
}

/* A unit with IR but no QI (against the specification): no interrupt
 * remapping there, and a line says so. */
static void test_enable_ir_without_qi(void **state)
{
	(void)state;
	setup_units(CAP1);
	set_reg64(1, VTD_REG_ECAP, ECAP1 | VTD_ECAP_IR);
	probe_and_enable();
	assert_non_null(
	    strstr(host_printk_text(),
		   "veneer: iommu: VT-d unit 1 at 0xfed91000: interrupt "
		   "remapping without queued invalidation, which its "
		   "interrupt entry cache needs: left off, device interrupt "
		   "messages are not blocked on this unit\n"));
	assert_false(fu[1].gsts & (VTD_GCMD_IRE | VTD_GCMD_SIRTP));
	assert_int_equal(vtd_test_ir_table(1), 0);
	assert_null(strstr(evlog, "u1:SIRTP"));
	/* Unit 0 still has it. */
	assert_true(fu[0].gsts & VTD_GCMD_IRE);
	assert_null(strstr(host_printk_text(), "VT-d unit 0 at 0xfed90000: "
					       "interrupt remapping without"));
}

static void test_enable_timeout(void **state)
{
	const struct iommu_ops *ops;

	(void)state;
	setup_units(CAP1);
	fu[1].stuck_tes = true;
	ops = vtd_probe(&dmar, err, sizeof(err));
	assert_non_null(ops);
	assert_int_equal(ops->enable(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "VT-d unit 1 at 0xfed91000"));
	assert_non_null(strstr(err, "TES never set"));
	/* Unit 0, already on, was turned off again. */
	assert_false(fu[0].gsts & VTD_GCMD_TE);
	assert_non_null(strstr(evlog, "u0:TE1 "));
	assert_non_null(strstr(evlog, "u0:TE0 "));
	/* ... and its interrupt remapping too. */
	assert_non_null(strstr(evlog, "u0:IRE1 "));
	assert_non_null(strstr(evlog, "u0:IRE0 "));
	assert_false(fu[0].gsts & VTD_GCMD_IRE);

	/* IRES never follows: enable fails on unit 0, TE off again. */
	setup_units(CAP1);
	fu[0].stuck_ires = true;
	ops = vtd_probe(&dmar, err, sizeof(err));
	assert_non_null(ops);
	assert_int_equal(ops->enable(err, sizeof(err)), -1);
	assert_non_null(
	    strstr(err, "VT-d unit 0 at 0xfed90000: GSTS.IRES never set"));
	assert_false(fu[0].gsts & VTD_GCMD_TE);
	assert_null(strstr(evlog, "u1:"));
}

static struct iommu_domain make_domain(u16 id)
{
	struct iommu_domain d;

	memset(&d, 0, sizeof(d));
	d.id = id;
	d.in_use = true;
	d.pt.fmt = &pt_format_vtd;
	d.pt.phys_to_virt = p2v;
	d.pt.alloc_table = pt_alloc;
	d.pt.free_table = pt_free;
	assert_int_equal(pt_create(&d.pt), PT_OK);
	assert_int_equal(pt_map(&d.pt, 0x100000, 0x200000, 0x3000, PT_R | PT_W),
			 PT_OK);
	return d;
}

static const struct vtd_entry128 *ctx_entry(u32 unit, u16 bdf)
{
	const struct vtd_entry128 *rt = p2v(vtd_test_root_table(unit));
	const struct vtd_entry128 *ct;

	if (!(rt[bdf >> 8].lo & 1))
		return NULL;
	ct = p2v(rt[bdf >> 8].lo & ~0xfffull);
	return &ct[bdf & 0xff];
}

static void test_attach(void **state)
{
	const struct iommu_ops *ops;
	struct iommu_domain d3, d4, d300;
	const struct vtd_entry128 *ce;
	const struct vtd_entry128 *rt;

	(void)state;
	setup_units(CAP1);
	ops = probe_and_enable();
	d3 = make_domain(3);
	d4 = make_domain(4);

	/* 00:02.0 is unit 1's (register-based invalidation). */
	evlog[0] = '\0';
	assert_int_equal(ops->attach(PCI_BDF(0, 2, 0), &d3, err, sizeof(err)),
			 0);
	rt = p2v(vtd_test_root_table(1));
	assert_int_equal(rt[0].lo & 0xfff, 1);
	assert_int_equal(rt[0].hi, 0);
	ce = ctx_entry(1, PCI_BDF(0, 2, 0));
	assert_non_null(ce);
	assert_int_equal(ce->lo, d3.pt.root | 1);
	assert_int_equal(ce->hi, 0x302);
	assert_string_equal(evlog, "u1:CC g3 did3 sid10 u1:IOTLB g2 did3 ");
	/* Its neighbours stay blocked. */
	assert_int_equal(ctx_entry(1, PCI_BDF(0, 2, 1))->lo, 0);
	assert_null(ctx_entry(1, PCI_BDF(1, 0, 0)));

	/* Moved to domain 4: the old entry and domain flushed first. */
	evlog[0] = '\0';
	assert_int_equal(ops->attach(PCI_BDF(0, 2, 0), &d4, err, sizeof(err)),
			 0);
	assert_int_equal(ce->lo, d4.pt.root | 1);
	assert_int_equal(ce->hi, 0x402);
	assert_string_equal(evlog, "u1:CC g3 did3 sid10 u1:IOTLB g2 did3 "
				   "u1:CC g3 did4 sid10 u1:IOTLB g2 did4 ");

	/* 05:00.3 is unit 0's (queued invalidation). */
	evlog[0] = '\0';
	assert_int_equal(ops->attach(PCI_BDF(5, 0, 3), &d3, err, sizeof(err)),
			 0);
	ce = ctx_entry(0, PCI_BDF(5, 0, 3));
	assert_non_null(ce);
	assert_int_equal(ce->lo, d3.pt.root | 1);
	assert_int_equal(ce->hi, 0x302);
	assert_string_equal(evlog, "u0:qCC g3 did3 sid503 u0:qIOTLB g2 did3 ");

	/* Blocked again. */
	evlog[0] = '\0';
	assert_int_equal(ops->attach(PCI_BDF(5, 0, 3), NULL, err, sizeof(err)),
			 0);
	assert_int_equal(ce->lo, 0);
	assert_int_equal(ce->hi, 0);
	assert_string_equal(evlog, "u0:qCC g3 did3 sid503 u0:qIOTLB g2 did3 ");
	/* Blocking a device never attached changes nothing. */
	evlog[0] = '\0';
	assert_int_equal(ops->attach(PCI_BDF(9, 0, 0), NULL, err, sizeof(err)),
			 0);
	assert_string_equal(evlog, "");
	assert_null(ctx_entry(0, PCI_BDF(9, 0, 0)));

	/* Unit 1 has 16 domains: ID 16 does not fit; unit 0 takes it. */
	d300 = make_domain(16);
	assert_int_equal(ops->attach(PCI_BDF(0, 2, 0), &d300, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "VT-d unit 1"));
	assert_non_null(strstr(err, "16"));
	assert_int_equal(ce->lo, 0);
	assert_int_equal(ctx_entry(1, PCI_BDF(0, 2, 0))->hi, 0x402);
	assert_int_equal(ops->attach(PCI_BDF(7, 1, 0), &d300, err, sizeof(err)),
			 0);
	assert_int_equal(ctx_entry(0, PCI_BDF(7, 1, 0))->hi, 0x1002);

	/* flush_domain: domain-selective on every unit it fits. */
	evlog[0] = '\0';
	ops->flush_domain(&d4);
	assert_string_equal(evlog, "u0:qIOTLB g2 did4 u1:IOTLB g2 did4 ");
	evlog[0] = '\0';
	ops->flush_domain(&d300);
	assert_string_equal(evlog, "u0:qIOTLB g2 did16 ");
}

/* ---- interrupt remapping entries: irq_route, irq_unroute ---- */

static const struct vtd_entry128 *irte(u32 unit, u32 h)
{
	return (const struct vtd_entry128 *)p2v(vtd_test_ir_table(unit)) + h;
}

static void test_irq_route(void **state)
{
	const struct iommu_ops *ops;
	const u16 dev = PCI_BDF(5, 0, 3), other = PCI_BDF(5, 0, 4);
	struct iommu_domain d3;
	struct iommu_msi m;
	u32 h = IOMMU_NO_IRQ, h2 = IOMMU_NO_IRQ, ho = IOMMU_NO_IRQ;

	(void)state;
	setup_units(CAP1);
	ops = probe_and_enable();
	assert_non_null(ops->irq_route);
	assert_non_null(ops->irq_unroute);
	d3 = make_domain(3);
	assert_int_equal(ops->attach(dev, &d3, err, sizeof(err)), 0);

	/* A new entry: the first free one, the device as its requester,
	 * its cache entry invalidated; the remappable message for it. */
	evlog[0] = '\0';
	assert_int_equal(ops->irq_route(dev, 0x81, 5, &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(h, 0);
	assert_int_equal(irte(0, 0)->lo, 0x0000050000810001ull);
	assert_int_equal(irte(0, 0)->hi, 0x40000ull | dev);
	assert_int_equal(m.addr, 0xfee00010ull);
	assert_int_equal(m.data, 0);
	assert_string_equal(evlog, "u0:qIEC i0 ");
	assert_int_equal(irte(0, 1)->lo, 0);

	/* A second one: the next entry. */
	evlog[0] = '\0';
	assert_int_equal(
	    ops->irq_route(dev, 0x82, 5, &h2, &m, err, sizeof(err)), 0);
	assert_int_equal(h2, 1);
	assert_int_equal(m.addr, 0xfee00030ull);
	assert_int_equal(irte(0, 1)->lo, 0x0000050000820001ull);
	assert_string_equal(evlog, "u0:qIEC i1 ");

	/* Its own entry rewritten in place: another vector and CPU. */
	evlog[0] = '\0';
	assert_int_equal(
	    ops->irq_route(dev, 0x90, 0xfe, &h, &m, err, sizeof(err)), 0);
	assert_int_equal(h, 0);
	assert_int_equal(irte(0, 0)->lo, 0x0000fe0000900001ull);
	assert_int_equal(irte(0, 0)->hi, 0x40000ull | dev);
	assert_int_equal(m.addr, 0xfee00010ull);
	assert_string_equal(evlog, "u0:qIEC i0 ");

	/* Another device's entry, one out of range, one not in use: refused,
	 * nothing written. */
	evlog[0] = '\0';
	ho = 0;
	assert_int_equal(
	    ops->irq_route(other, 0x81, 5, &ho, &m, err, sizeof(err)), -1);
	assert_string_equal(err, "VT-d: interrupt remapping entry 0 is not "
				 "device 05:00.4's");
	assert_int_equal(ho, 0);
	ho = 256;
	assert_int_equal(
	    ops->irq_route(dev, 0x81, 5, &ho, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "entry 256 is not device 05:00.3's"));
	ho = 7;
	assert_int_equal(
	    ops->irq_route(dev, 0x81, 5, &ho, &m, err, sizeof(err)), -1);
	assert_int_equal(irte(0, 7)->lo, 0);
	assert_int_equal(irte(0, 0)->lo, 0x0000fe0000900001ull);
	assert_string_equal(evlog, "");
	/* An APIC ID past 8 bits (EIME is off). */
	ho = IOMMU_NO_IRQ;
	assert_int_equal(
	    ops->irq_route(dev, 0x81, 256, &ho, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "APIC ID 256"));
	assert_int_equal(ho, IOMMU_NO_IRQ);
	assert_int_equal(irte(0, 2)->lo, 0);

	/* 00:02.0 is unit 1's, which remaps no interrupts: 1, nothing
	 * made. */
	assert_int_equal(ops->irq_route(PCI_BDF(0, 2, 0), 0x81, 5, &ho, &m, err,
					sizeof(err)),
			 1);
	assert_int_equal(ho, IOMMU_NO_IRQ);
	assert_string_equal(evlog, "");

	/* The other device gets entry 2. */
	ho = IOMMU_NO_IRQ;
	assert_int_equal(
	    ops->irq_route(other, 0x83, 1, &ho, &m, err, sizeof(err)), 0);
	assert_int_equal(ho, 2);
	assert_int_equal(irte(0, 2)->hi, 0x40000ull | other);

	/* Unrouted: the entry cleared and invalidated; by another device,
	 * or not in use: nothing. */
	evlog[0] = '\0';
	ops->irq_unroute(dev, h2);
	assert_int_equal(irte(0, 1)->lo, 0);
	assert_int_equal(irte(0, 1)->hi, 0);
	assert_string_equal(evlog, "u0:qIEC i1 ");
	evlog[0] = '\0';
	ops->irq_unroute(other, h);
	ops->irq_unroute(dev, h2);
	ops->irq_unroute(dev, 300);
	ops->irq_unroute(PCI_BDF(0, 2, 0), 0);
	assert_string_equal(evlog, "");
	assert_int_equal(irte(0, 0)->lo, 0x0000fe0000900001ull);
	/* Entry 1 is free again: the next new one. */
	h2 = IOMMU_NO_IRQ;
	assert_int_equal(
	    ops->irq_route(dev, 0x84, 5, &h2, &m, err, sizeof(err)), 0);
	assert_int_equal(h2, 1);

	/* Blocked again: every entry of the device goes, the other's
	 * stays. */
	evlog[0] = '\0';
	assert_int_equal(ops->attach(dev, NULL, err, sizeof(err)), 0);
	assert_int_equal(irte(0, 0)->lo, 0);
	assert_int_equal(irte(0, 0)->hi, 0);
	assert_int_equal(irte(0, 1)->lo, 0);
	assert_int_equal(irte(0, 2)->lo, 0x0000010000830001ull);
	assert_non_null(strstr(evlog, "u0:qIEC i0 u0:qIEC i1 "));
	assert_null(strstr(evlog, "i2 "));
	/* Its old handles are nobody's now. */
	assert_int_equal(ops->irq_route(dev, 0x81, 5, &h, &m, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "VT-d: interrupt remapping entry 0 is not "
				 "device 05:00.3's");
}

/* 256 entries: the 257th route fails, naming the unit. */
static void test_irq_route_full(void **state)
{
	const struct iommu_ops *ops;
	struct iommu_msi m;
	u32 h;

	(void)state;
	setup_units(CAP1);
	ops = probe_and_enable();
	for (u32 i = 0; i < VTD_IRT_ENTRIES; i++) {
		h = IOMMU_NO_IRQ;
		if (ops->irq_route(PCI_BDF(6, 0, i & 7), (u8)i, 1, &h, &m, err,
				   sizeof(err)))
			fail_msg("route %u: %s", i, err);
		assert_int_equal(h, i);
		assert_int_equal(m.addr, 0xfee00010ull | (u64)i << 5);
	}
	evlog[0] = '\0';
	h = IOMMU_NO_IRQ;
	assert_int_equal(
	    ops->irq_route(PCI_BDF(6, 1, 0), 1, 1, &h, &m, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "VT-d unit 0: all 256 interrupt remapping "
				 "entries are in use");
	assert_int_equal(h, IOMMU_NO_IRQ);
	assert_string_equal(evlog, "");
	/* One freed (entry 77 is 06:00.5's): one more fits, in its place. */
	ops->irq_unroute(PCI_BDF(6, 0, 5), 77);
	assert_int_equal(irte(0, 77)->lo, 0);
	assert_int_equal(
	    ops->irq_route(PCI_BDF(6, 1, 0), 1, 1, &h, &m, err, sizeof(err)),
	    0);
	assert_int_equal(h, 77);
	assert_int_equal(irte(0, 77)->hi, 0x40000ull | PCI_BDF(6, 1, 0));
}

static struct iommu_fault seen[8];
static char seen_reason[8][128];
static u32 nseen;

static void record(const struct iommu_fault *f)
{
	assert_true(nseen < 8);
	seen[nseen] = *f;
	snprintf(seen_reason[nseen], sizeof(seen_reason[nseen]), "%s",
		 f->reason);
	nseen++;
}

static void test_poll_faults(void **state)
{
	const struct iommu_ops *ops;

	(void)state;
	setup_units(CAP1);
	ops = probe_and_enable();
	nseen = 0;
	assert_int_equal(ops->poll_faults(record), 0);

	/* Unit 0: records 1 and 3 of its 4; unit 1: record 1 of its 2. */
	set_reg64(0, 0x230, 0xfee00000);
	set_reg64(0, 0x238, BIT(63) | BIT(62) | (2ull << 32) | 0x0010);
	set_reg64(0, 0x250, 0x1000);
	set_reg64(0, 0x258, BIT(63) | (0x42ull << 32) | 0x0300);
	set_reg32(0, VTD_REG_FSTS, VTD_FSTS_PFO | VTD_FSTS_PPF | (1u << 8));
	set_reg64(1, 0x230, 0x5000);
	set_reg64(1, 0x238, BIT(63) | (5ull << 32) | 0x0010);
	/* Unit 0's record 2: a remappable interrupt, index 0x30. */
	set_reg64(0, 0x240, 0x30ull << 48);
	set_reg64(0, 0x248, BIT(63) | (0x22ull << 32) | 0x0018);
	/* Beyond unit 1's NFR + 1 = 2 records: not a fault record. */
	set_reg64(1, 0x248, BIT(63) | (6ull << 32) | 0x0011);

	assert_int_equal(ops->poll_faults(record), 4);
	assert_int_equal(nseen, 4);
	assert_int_equal(seen[0].bdf, 0x0010);
	assert_int_equal(seen[0].addr, 0xfee00000);
	assert_false(seen[0].write);
	assert_string_equal(seen_reason[0], "context entry not present");
	assert_int_equal(seen[1].bdf, 0x0018);
	assert_int_equal(seen[1].addr, 0xfee00000);
	assert_true(seen[1].write);
	assert_string_equal(seen_reason[1],
			    "interrupt blocked: remapping table entry not "
			    "present: interrupt index 48");
	assert_int_equal(seen[2].bdf, 0x0300);
	assert_true(seen[2].write);
	assert_string_equal(seen_reason[2], "fault reason 0x42");
	assert_int_equal(seen[3].addr, 0x5000);
	assert_true(seen[3].write);
	/* F cleared (W1C on the upper dword), the rest left as it was. */
	assert_int_equal(reg64(0, 0x238), BIT(62) | (2ull << 32) | 0x0010);
	assert_int_equal(reg64(0, 0x258), (0x42ull << 32) | 0x0300);
	assert_int_equal(reg64(1, 0x238), (5ull << 32) | 0x0010);
	assert_true(reg64(1, 0x248) & BIT(63));
	/* PFO cleared (PPF is the hardware's). */
	assert_int_equal(reg32(0, VTD_REG_FSTS) & VTD_FSTS_PFO, 0);
	nseen = 0;
	assert_int_equal(ops->poll_faults(record), 0);
	assert_int_equal(nseen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_entry),
	    cmocka_unit_test(test_context_entry),
	    cmocka_unit_test(test_qi_descriptors),
	    cmocka_unit_test(test_register_commands),
	    cmocka_unit_test(test_irta),
	    cmocka_unit_test(test_qi_iec_index),
	    cmocka_unit_test(test_irte),
	    cmocka_unit_test(test_remappable_msi),
	    cmocka_unit_test(test_fault_decode),
	    cmocka_unit_test(test_capabilities),
	    cmocka_unit_test(test_find_unit),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_probe_refuses),
	    cmocka_unit_test(test_enable),
	    cmocka_unit_test(test_enable_firmware_ir),
	    cmocka_unit_test(test_enable_ir_without_qi),
	    cmocka_unit_test(test_enable_timeout),
	    cmocka_unit_test(test_attach),
	    cmocka_unit_test(test_irq_route),
	    cmocka_unit_test(test_irq_route_full),
	    cmocka_unit_test(test_poll_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
