/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vlapic.c, the virtual local APIC. Register
 * offsets, MSR numbers and bit layouts are the ones in Intel SDM Vol. 3A
 * chapter 11 (Table 11-1 for xAPIC, Table 11-6 for x2APIC). Times are
 * explicit guest nanoseconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/vlapic.h"

#define OFF_ID		  0x020
#define OFF_VERSION	  0x030
#define OFF_TPR		  0x080
#define OFF_APR		  0x090
#define OFF_PPR		  0x0a0
#define OFF_EOI		  0x0b0
#define OFF_LDR		  0x0d0
#define OFF_DFR		  0x0e0
#define OFF_SVR		  0x0f0
#define OFF_ISR		  0x100
#define OFF_TMR		  0x180
#define OFF_IRR		  0x200
#define OFF_ESR		  0x280
#define OFF_ICR_LOW	  0x300
#define OFF_ICR_HIGH	  0x310
#define OFF_LVT_TIMER	  0x320
#define OFF_LVT_LINT0	  0x350
#define OFF_LVT_LINT1	  0x360
#define OFF_LVT_ERROR	  0x370
#define OFF_TIMER_INITIAL 0x380
#define OFF_TIMER_CURRENT 0x390
#define OFF_TIMER_DIVIDE  0x3e0

#define MSR_ID		  0x802
#define MSR_VERSION	  0x803
#define MSR_TPR		  0x808
#define MSR_APR		  0x809
#define MSR_PPR		  0x80a
#define MSR_EOI		  0x80b
#define MSR_RRD		  0x80c
#define MSR_LDR		  0x80d
#define MSR_DFR		  0x80e
#define MSR_SVR		  0x80f
#define MSR_ISR0	  0x810
#define MSR_TMR0	  0x818
#define MSR_IRR0	  0x820
#define MSR_ESR		  0x828
#define MSR_LVT_CMCI	  0x82f
#define MSR_ICR		  0x830
#define MSR_ICR_HIGH	  0x831
#define MSR_LVT_TIMER	  0x832
#define MSR_TIMER_INITIAL 0x838
#define MSR_TIMER_CURRENT 0x839
#define MSR_TIMER_DIVIDE  0x83e
#define MSR_SELF_IPI	  0x83f

#define SVR_ENABLED	   0x1ff /* enable bit 8, spurious vector 0xFF */
#define LVT_MASKED	   0x10000u
#define TIMER_PERIODIC	   (1u << 17)
#define TIMER_TSC_DEADLINE (2u << 17)
#define DIVIDE_BY_1	   0xb
#define DIVIDE_BY_2	   0x0
#define DIVIDE_BY_8	   0x2
#define DIVIDE_BY_16	   0x3
#define TIMER_VECTOR	   0xec
#define TSC_HZ		   2000000000ull

struct recorder {
	struct vlapic_ipi ipi[8];
	int ipis;
	u8 eoi[8];
	int eois;
	struct vlapic *loop_back; /* send_ipi / eoi re-enter this vlapic */
};

/* What the core does for the sender itself: shorthand, then dest. */
static bool ipi_reaches_sender(const struct vlapic_ipi *ipi, struct vlapic *v)
{
	switch (ipi->shorthand) {
	case VLAPIC_SHORTHAND_SELF:
	case VLAPIC_SHORTHAND_ALL:
		return true;
	case VLAPIC_SHORTHAND_ALL_BUT_SELF:
		return false;
	default:
		return vlapic_match_dest(v, ipi->dest, ipi->dest_logical);
	}
}

static void record_ipi(void *opaque, const struct vlapic_ipi *ipi)
{
	struct recorder *r = opaque;

	assert_true(r->ipis < 8);
	r->ipi[r->ipis++] = *ipi;
	if (r->loop_back && ipi->delivery_mode == VLAPIC_DELIVERY_FIXED &&
	    ipi_reaches_sender(ipi, r->loop_back))
		vlapic_accept_irq(r->loop_back, ipi->vector,
				  ipi->level_triggered);
}

static void record_eoi(void *opaque, u8 vector)
{
	struct recorder *r = opaque;

	assert_true(r->eois < 8);
	r->eoi[r->eois++] = vector;
	if (r->loop_back) /* the line is still asserted: it comes again */
		vlapic_accept_irq(r->loop_back, vector, true);
}

static const struct vlapic_ops recording_ops = {
    .send_ipi = record_ipi,
    .eoi = record_eoi,
};

static struct recorder rec;

static void make(struct vlapic *v, u32 index)
{
	struct vlapic_config cfg = {
	    .vcpu_index = index,
	    .bsp = index == 0,
	    .tsc_hz = TSC_HZ,
	    .phys_addr_bits = 39,
	};

	memset(&rec, 0, sizeof(rec));
	assert_int_equal(vlapic_init(v, &cfg, &recording_ops, &rec), 0);
}

static u32 rd(struct vlapic *v, u32 offset, u64 now)
{
	u32 value = 0xdeadbeef;

	assert_int_equal(vlapic_mmio_read(v, offset, 4, &value, now), 0);
	return value;
}

static void wr(struct vlapic *v, u32 offset, u32 value, u64 now)
{
	assert_int_equal(vlapic_mmio_write(v, offset, 4, value, now), 0);
}

static u64 rdmsr(struct vlapic *v, u32 msr, u64 now)
{
	u64 value = 0xdeadbeef;

	assert_int_equal(vlapic_msr_read(v, msr, &value, now), 0);
	return value;
}

static void wrmsr(struct vlapic *v, u32 msr, u64 value, u64 now)
{
	assert_int_equal(vlapic_msr_write(v, msr, value, now), 0);
}

/* An enabled xAPIC, as an OS leaves it after setting SVR. */
static void make_enabled(struct vlapic *v, u32 index)
{
	make(v, index);
	wr(v, OFF_SVR, SVR_ENABLED, 0);
}

static void make_x2apic(struct vlapic *v, u32 index)
{
	make(v, index);
	wrmsr(v, VLAPIC_MSR_APIC_BASE,
	      VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_EN |
		  VLAPIC_APIC_BASE_EXTD,
	      0);
	wrmsr(v, MSR_SVR, SVR_ENABLED, 0);
}

static bool irr_has(struct vlapic *v, u8 vector)
{
	return v->irr[vector / 32] & (1u << (vector % 32));
}

static void test_init_rejects_bad_config(void **state)
{
	struct vlapic v;
	struct vlapic_config cfg = {
	    .vcpu_index = 0xff, .tsc_hz = TSC_HZ, .phys_addr_bits = 39};

	(void)state;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL),
			 VLAPIC_ERR_BAD_ARGUMENT);
	cfg.vcpu_index = 254;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL), 0);
	cfg.tsc_hz = 0;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL),
			 VLAPIC_ERR_BAD_ARGUMENT);
	cfg.tsc_hz = 17000000000ull;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL),
			 VLAPIC_ERR_BAD_ARGUMENT);
	cfg.tsc_hz = TSC_HZ;
	cfg.phys_addr_bits = 31;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL),
			 VLAPIC_ERR_BAD_ARGUMENT);
	cfg.phys_addr_bits = 53;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL),
			 VLAPIC_ERR_BAD_ARGUMENT);
	assert_string_equal(vlapic_error_name(VLAPIC_ERR_BAD_TRANSITION),
			    "invalid IA32_APIC_BASE mode transition");
}

static void test_power_on_state(void **state)
{
	struct vlapic v;

	(void)state;
	make(&v, 3);
	assert_int_equal(vlapic_get_apic_base(&v), 0xfee00800);
	assert_int_equal(vlapic_mmio_base(&v), 0xfee00000);
	assert_false(vlapic_x2apic_mode(&v));
	assert_int_equal(rd(&v, OFF_ID, 0), 3u << 24);
	assert_int_equal(rd(&v, OFF_VERSION, 0), 0x50014);
	assert_int_equal(rd(&v, OFF_SVR, 0), 0xff);
	assert_int_equal(rd(&v, OFF_DFR, 0), 0xffffffff);
	assert_int_equal(rd(&v, OFF_TPR, 0), 0);
	for (u32 off = OFF_LVT_TIMER; off <= OFF_LVT_ERROR; off += 0x10)
		assert_int_equal(rd(&v, off, 0), LVT_MASKED);
	make(&v, 0);
	assert_int_equal(vlapic_get_apic_base(&v), 0xfee00900); /* BSP */
}

static void test_xapic_register_semantics(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 2);
	wr(&v, OFF_TPR, 0xffffff45, 0);
	assert_int_equal(rd(&v, OFF_TPR, 0), 0x45);
	wr(&v, OFF_LDR, 0x12345678, 0);
	assert_int_equal(rd(&v, OFF_LDR, 0), 0x12000000);
	wr(&v, OFF_DFR, 0x00000000, 0);
	assert_int_equal(rd(&v, OFF_DFR, 0), 0x0fffffff);
	wr(&v, OFF_SVR, 0xfffff1ff, 0);
	assert_int_equal(rd(&v, OFF_SVR, 0), 0x1ff);
	/* ID and version are read-only; writes are dropped silently. */
	wr(&v, OFF_ID, 0x7f000000, 0);
	assert_int_equal(rd(&v, OFF_ID, 0), 2u << 24);
	wr(&v, OFF_VERSION, 0, 0);
	assert_int_equal(rd(&v, OFF_VERSION, 0), 0x50014);
	wr(&v, OFF_TIMER_DIVIDE, 0xffffffff, 0);
	assert_int_equal(rd(&v, OFF_TIMER_DIVIDE, 0), 0xb);
	/* LINT0 keeps vector, mode, polarity, trigger, mask; not status. */
	wr(&v, OFF_LVT_LINT0, 0xffffffff, 0);
	assert_int_equal(rd(&v, OFF_LVT_LINT0, 0), 0x1a7ff);
	wr(&v, OFF_LVT_ERROR, 0xffffffff, 0);
	assert_int_equal(rd(&v, OFF_LVT_ERROR, 0), 0x100ff);
	wr(&v, OFF_ICR_HIGH, 0xffffffff, 0);
	assert_int_equal(rd(&v, OFF_ICR_HIGH, 0), 0xff000000);
	/* EOI is write-only: reads 0. */
	assert_int_equal(rd(&v, OFF_EOI, 0), 0);
}

static void test_xapic_access_sizes(void **state)
{
	struct vlapic v;
	u32 out;

	(void)state;
	make(&v, 0x5a);
	/* Narrow reads inside the first four bytes work: model choice. */
	assert_int_equal(vlapic_mmio_read(&v, OFF_ID + 3, 1, &out, 0), 0);
	assert_int_equal(out, 0x5a);
	assert_int_equal(vlapic_mmio_read(&v, OFF_VERSION, 2, &out, 0), 0);
	assert_int_equal(out, 0x0014);
	assert_int_equal(vlapic_mmio_read(&v, OFF_VERSION + 2, 2, &out, 0), 0);
	assert_int_equal(out, 0x0005);
	/* Anything that touches bytes 4-15, or is 8 bytes, is refused. */
	assert_int_equal(vlapic_mmio_read(&v, OFF_ID, 8, &out, 0),
			 VLAPIC_ERR_ACCESS_SIZE);
	assert_int_equal(vlapic_mmio_read(&v, OFF_ID + 4, 4, &out, 0),
			 VLAPIC_ERR_ACCESS_SIZE);
	assert_int_equal(vlapic_mmio_read(&v, OFF_ID + 3, 2, &out, 0),
			 VLAPIC_ERR_ACCESS_SIZE);
	assert_int_equal(vlapic_mmio_write(&v, OFF_TPR, 1, 0x10, 0),
			 VLAPIC_ERR_ACCESS_SIZE);
	assert_int_equal(vlapic_mmio_write(&v, OFF_TPR + 4, 4, 0x10, 0),
			 VLAPIC_ERR_ACCESS_SIZE);
	assert_int_equal(rd(&v, OFF_TPR, 0), 0);
	assert_int_equal(vlapic_mmio_read(&v, 0x1000, 4, &out, 0),
			 VLAPIC_ERR_BAD_ARGUMENT);
}

static void test_xapic_reserved_register_sets_esr(void **state)
{
	struct vlapic v;
	u32 out = 1;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_LVT_ERROR, 0xfe, 0);
	/* 0x3F0 is SELF IPI only in x2APIC mode; 0x2F0 is the absent CMCI. */
	assert_int_equal(vlapic_mmio_read(&v, 0x3f0, 4, &out, 0), 0);
	assert_int_equal(out, 0);
	assert_int_equal(vlapic_mmio_write(&v, 0x2f0, 4, 0x31, 0), 0);
	/* The error is seen only after the ESR write latches it. */
	assert_int_equal(rd(&v, OFF_ESR, 0), 0);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), VLAPIC_ESR_ILLEGAL_REGISTER);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), 0);
	/* The error LVT raised its vector once. */
	assert_int_equal(vlapic_pending_vector(&v), 0xfe);
}

static void test_wrong_interface_is_refused(void **state)
{
	struct vlapic v;
	u64 value;
	u32 out;

	(void)state;
	make_enabled(&v, 1);
	/* x2APIC MSRs #GP in xAPIC mode. */
	assert_int_equal(vlapic_msr_read(&v, MSR_TPR, &value, 0),
			 VLAPIC_ERR_WRONG_MODE);
	assert_int_equal(vlapic_msr_write(&v, MSR_EOI, 0, 0),
			 VLAPIC_ERR_WRONG_MODE);
	make_x2apic(&v, 1);
	assert_int_equal(vlapic_mmio_base(&v), 0);
	assert_int_equal(vlapic_mmio_read(&v, OFF_TPR, 4, &out, 0),
			 VLAPIC_ERR_WRONG_MODE);
	assert_int_equal(vlapic_mmio_write(&v, OFF_TPR, 4, 0x20, 0),
			 VLAPIC_ERR_WRONG_MODE);
	assert_int_equal(rdmsr(&v, MSR_TPR, 0), 0);
	assert_int_equal(vlapic_msr_read(&v, 0x10, &value, 0),
			 VLAPIC_ERR_NOT_APIC_MSR);
	assert_true(vlapic_handles_msr(0x1b));
	assert_true(vlapic_handles_msr(0x6e0));
	assert_true(vlapic_handles_msr(0x8ff));
	assert_false(vlapic_handles_msr(0x900));
	assert_false(vlapic_handles_msr(0x7ff));
}

static void test_apic_base_transitions(void **state)
{
	struct vlapic v;
	const u64 base = VLAPIC_DEFAULT_MMIO_BASE;
	const u64 en = VLAPIC_APIC_BASE_EN, extd = VLAPIC_APIC_BASE_EXTD;

	(void)state;
	make_enabled(&v, 7);
	wr(&v, OFF_TPR, 0x30, 0);
	/* EXTD without EN is the invalid state. */
	assert_int_equal(vlapic_set_apic_base(&v, base | extd),
			 VLAPIC_ERR_BAD_TRANSITION);
	/* Reserved bit 9, and a base above MAXPHYADDR (39 here). */
	assert_int_equal(vlapic_set_apic_base(&v, base | en | BIT(9)),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_set_apic_base(&v, BIT(39) | en),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_get_apic_base(&v), base | en);
	/* xAPIC -> x2APIC keeps the registers. */
	assert_int_equal(vlapic_set_apic_base(&v, base | en | extd), 0);
	assert_true(vlapic_x2apic_mode(&v));
	assert_int_equal(rdmsr(&v, MSR_TPR, 0), 0x30);
	/* x2APIC -> xAPIC directly is refused ... */
	assert_int_equal(vlapic_set_apic_base(&v, base | en),
			 VLAPIC_ERR_BAD_TRANSITION);
	assert_true(vlapic_x2apic_mode(&v));
	/* ... through the disabled state it works, and state is reset. */
	assert_int_equal(vlapic_msr_write(&v, VLAPIC_MSR_APIC_BASE, base, 0),
			 0);
	assert_false(vlapic_accept_irq(&v, 0x40, false));
	assert_int_equal(vlapic_pending_vector(&v), -1);
	assert_int_equal(vlapic_mmio_base(&v), 0);
	/* disabled -> x2APIC is refused; disabled -> xAPIC works. */
	assert_int_equal(vlapic_set_apic_base(&v, base | en | extd),
			 VLAPIC_ERR_BAD_TRANSITION);
	assert_int_equal(vlapic_set_apic_base(&v, base | en), 0);
	assert_int_equal(rd(&v, OFF_TPR, 0), 0);
	assert_int_equal(rd(&v, OFF_SVR, 0), 0xff);
	assert_int_equal(rd(&v, OFF_ID, 0), 7u << 24);
	/* Relocation; bit 8 (BSP) cannot be set by the guest. */
	assert_int_equal(vlapic_set_apic_base(&v, 0xfed00000 | en | BIT(8)), 0);
	assert_int_equal(vlapic_get_apic_base(&v), 0xfed00000 | en);
	assert_int_equal(vlapic_mmio_base(&v), 0xfed00000);
}

static void test_x2apic_registers(void **state)
{
	struct vlapic v;
	u64 value;

	(void)state;
	make_x2apic(&v, 0x13);
	assert_int_equal(rdmsr(&v, MSR_ID, 0), 0x13);
	assert_int_equal(rdmsr(&v, MSR_VERSION, 0), 0x50014);
	/* Cluster 1, member bit 3 (SDM 11.12.10.2). */
	assert_int_equal(rdmsr(&v, MSR_LDR, 0), 0x00010008);
	/* No DFR, no ICR high, no APR, RRD or CMCI LVT in x2APIC mode. */
	assert_int_equal(vlapic_msr_read(&v, MSR_DFR, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_read(&v, MSR_ICR_HIGH, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_write(&v, MSR_ICR_HIGH, 0, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_read(&v, MSR_APR, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_read(&v, MSR_RRD, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_read(&v, MSR_LVT_CMCI, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_read(&v, 0x840, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	assert_int_equal(vlapic_msr_read(&v, 0x8ff, &value, 0),
			 VLAPIC_ERR_RESERVED_REGISTER);
	/* The x2APIC ICR is one 64-bit register. */
	wrmsr(&v, MSR_ICR, 0x0000001200000000ull | 0x4000 | 0x50, 0);
	assert_int_equal(rdmsr(&v, MSR_ICR, 0), 0x0000001200004050ull);
}

static void test_x2apic_gp_cases(void **state)
{
	static const u32 read_only[] = {
	    MSR_ID,   MSR_VERSION,  MSR_PPR,
	    MSR_LDR,  MSR_ISR0,	    MSR_ISR0 + 7,
	    MSR_TMR0, MSR_IRR0 + 3, MSR_TIMER_CURRENT,
	};
	struct vlapic v;
	u64 value;

	(void)state;
	make_x2apic(&v, 1);
	for (size_t i = 0; i < ARRAY_SIZE(read_only); i++)
		assert_int_equal(vlapic_msr_write(&v, read_only[i], 0, 0),
				 VLAPIC_ERR_READ_ONLY);
	assert_int_equal(vlapic_msr_read(&v, MSR_EOI, &value, 0),
			 VLAPIC_ERR_WRITE_ONLY);
	assert_int_equal(vlapic_msr_read(&v, MSR_SELF_IPI, &value, 0),
			 VLAPIC_ERR_WRITE_ONLY);
	/* Non-zero EOI / ESR writes and reserved bits are #GP. */
	assert_int_equal(vlapic_msr_write(&v, MSR_EOI, 1, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_ESR, 1, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_TPR, 0x100, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_TPR, 1ull << 32, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_SVR, 0x11ff, 0),
			 VLAPIC_ERR_RESERVED_BITS); /* EOI suppression */
	assert_int_equal(vlapic_msr_write(&v, MSR_TIMER_DIVIDE, 0x4, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_LVT_TIMER, 1u << 19, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_ICR, 0x2000 | 0x40, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_msr_write(&v, MSR_SELF_IPI, 0x140, 0),
			 VLAPIC_ERR_RESERVED_BITS);
	/* A refused write changed nothing. */
	assert_int_equal(rec.ipis, 0);
	assert_int_equal(rdmsr(&v, MSR_TPR, 0), 0);
	assert_int_equal(rdmsr(&v, MSR_SVR, 0), SVR_ENABLED);
	/* Zero writes to EOI and ESR are fine; RO status bit accepted. */
	wrmsr(&v, MSR_EOI, 0, 0);
	wrmsr(&v, MSR_ESR, 0, 0);
	wrmsr(&v, MSR_LVT_TIMER, LVT_MASKED | 0x1000 | 0x40, 0);
	assert_int_equal(rdmsr(&v, MSR_LVT_TIMER, 0), LVT_MASKED | 0x40);
}

static void test_priority_tpr_ppr(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	assert_true(vlapic_accept_irq(&v, 0x45, false));
	assert_int_equal(vlapic_pending_vector(&v), 0x45);
	/* TPR class 4 blocks class 4 (priority must be strictly above). */
	wr(&v, OFF_TPR, 0x40, 0);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	assert_int_equal(rd(&v, OFF_PPR, 0), 0x40);
	wr(&v, OFF_TPR, 0x3f, 0);
	assert_int_equal(vlapic_pending_vector(&v), 0x45);
	/* APR: TPR below the IRR class gives the IRR class. */
	wr(&v, OFF_TPR, 0x20, 0);
	assert_int_equal(rd(&v, OFF_APR, 0), 0x40);
	/* CR8 is TPR[7:4]; writing it clears TPR[3:0]. */
	wr(&v, OFF_TPR, 0x5c, 0);
	assert_int_equal(vlapic_cr8_read(&v), 5);
	assert_int_equal(rd(&v, OFF_APR, 0), 0x5c);
	assert_int_equal(vlapic_cr8_write(&v, 16), VLAPIC_ERR_RESERVED_BITS);
	assert_int_equal(vlapic_cr8_write(&v, 3), 0);
	assert_int_equal(rd(&v, OFF_TPR, 0), 0x30);
	assert_int_equal(vlapic_pending_vector(&v), 0x45);
	/* In service 0x45: PPR follows the ISR class when above TPR. */
	assert_int_equal(vlapic_inject_done(&v, 0x45), 0);
	assert_int_equal(vlapic_ppr(&v), 0x40);
	assert_int_equal(rd(&v, OFF_PPR, 0), 0x40);
	wr(&v, OFF_TPR, 0x52, 0);
	assert_int_equal(vlapic_ppr(&v), 0x52);
}

static void test_nested_interrupts_and_eoi(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	assert_int_equal(vlapic_inject_done(&v, 0x30),
			 VLAPIC_ERR_BAD_ARGUMENT); /* not pending */
	vlapic_accept_irq(&v, 0x30, false);
	assert_int_equal(vlapic_pending_vector(&v), 0x30);
	assert_int_equal(vlapic_inject_done(&v, 0x30), 0);
	assert_int_equal(rd(&v, OFF_ISR + 0x10, 0), 1u << 16); /* 0x30 */
	assert_int_equal(rd(&v, OFF_IRR + 0x10, 0), 0);
	/* Same class waits; a higher class nests. */
	vlapic_accept_irq(&v, 0x35, false);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	vlapic_accept_irq(&v, 0x50, false);
	assert_int_equal(vlapic_pending_vector(&v), 0x50);
	assert_int_equal(vlapic_inject_done(&v, 0x50), 0);
	assert_int_equal(vlapic_ppr(&v), 0x50);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	/* EOI retires the highest in service first: 0x50, then 0x30. */
	wr(&v, OFF_EOI, 0, 0);
	assert_int_equal(vlapic_ppr(&v), 0x30);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	wr(&v, OFF_EOI, 0, 0);
	assert_int_equal(vlapic_ppr(&v), 0);
	assert_int_equal(vlapic_pending_vector(&v), 0x35);
	assert_int_equal(vlapic_inject_done(&v, 0x35), 0);
	wr(&v, OFF_EOI, 0, 0);
	/* An EOI with nothing in service does nothing. */
	wr(&v, OFF_EOI, 0, 0);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	assert_int_equal(rec.eois, 0); /* all edge-triggered */
}

static void test_level_eoi_calls_back(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	vlapic_accept_irq(&v, 0x61, true);
	assert_int_equal(rd(&v, OFF_TMR + 0x30, 0), 1u << 1);
	vlapic_inject_done(&v, 0x61);
	wr(&v, OFF_EOI, 0, 0);
	assert_int_equal(rec.eois, 1);
	assert_int_equal(rec.eoi[0], 0x61);
	/* The same vector edge-triggered clears TMR and gets no callback. */
	vlapic_accept_irq(&v, 0x61, false);
	assert_int_equal(rd(&v, OFF_TMR + 0x30, 0), 0);
	vlapic_inject_done(&v, 0x61);
	wr(&v, OFF_EOI, 0, 0);
	assert_int_equal(rec.eois, 1);
	/* The callback may deliver again at once (line still asserted). */
	rec.loop_back = &v;
	vlapic_accept_irq(&v, 0x62, true);
	vlapic_inject_done(&v, 0x62);
	wr(&v, OFF_EOI, 0, 0);
	assert_int_equal(rec.eois, 2);
	assert_int_equal(vlapic_pending_vector(&v), 0x62);
}

/*
 * PV EOI's local APIC side: an EOI may wait for the hypervisor only for
 * the highest vector in service, edge-triggered, with IRR empty; done for
 * the guest it is an EOI (the level callback included), and only for the
 * vector named while it is the highest in service.
 */
static void test_eoi_for_the_guest(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	assert_false(vlapic_eoi_can_wait(&v, 0x30)); /* not in service */
	vlapic_accept_irq(&v, 0x30, false);
	vlapic_inject_done(&v, 0x30);
	assert_true(vlapic_eoi_can_wait(&v, 0x30));
	vlapic_accept_irq(&v, 0x31, false); /* waits behind it */
	assert_false(vlapic_eoi_can_wait(&v, 0x30));
	vlapic_accept_irq(&v, 0x50, false);
	vlapic_inject_done(&v, 0x50); /* nests above */
	assert_false(vlapic_eoi_can_wait(&v, 0x30));
	assert_false(vlapic_eoi_vector(&v, 0x30)); /* not the highest */
	assert_true(vlapic_eoi_vector(&v, 0x50));
	assert_true(vlapic_eoi_vector(&v, 0x30));
	assert_false(vlapic_eoi_vector(&v, 0x30)); /* once */
	assert_int_equal(vlapic_pending_vector(&v), 0x31);
	vlapic_inject_done(&v, 0x31);
	assert_true(vlapic_eoi_can_wait(&v, 0x31));
	assert_true(vlapic_eoi_vector(&v, 0x31));
	/* Level-triggered: its EOI reaches the IOAPIC, it cannot wait. */
	vlapic_accept_irq(&v, 0x61, true);
	vlapic_inject_done(&v, 0x61);
	assert_false(vlapic_eoi_can_wait(&v, 0x61));
	assert_true(vlapic_eoi_vector(&v, 0x61));
	assert_int_equal(rec.eois, 1);
	assert_int_equal(rec.eoi[0], 0x61);
}

static void test_software_disable(void **state)
{
	struct vlapic v;

	(void)state;
	make(&v, 0); /* SVR 0xFF: software-disabled */
	assert_true(vlapic_accept_irq(&v, 0x40, false));
	assert_int_equal(vlapic_pending_vector(&v), -1);
	/* LVT masks cannot be cleared while disabled (SDM 11.4.7.2). */
	wr(&v, OFF_LVT_TIMER, 0x40, 0);
	assert_int_equal(rd(&v, OFF_LVT_TIMER, 0), LVT_MASKED | 0x40);
	wr(&v, OFF_SVR, SVR_ENABLED, 0);
	assert_int_equal(vlapic_pending_vector(&v), 0x40);
	wr(&v, OFF_LVT_TIMER, 0x40, 0);
	assert_int_equal(rd(&v, OFF_LVT_TIMER, 0), 0x40);
	/* Disabling again masks every LVT. */
	wr(&v, OFF_SVR, 0xff, 0);
	assert_int_equal(rd(&v, OFF_LVT_TIMER, 0), LVT_MASKED | 0x40);
	assert_int_equal(vlapic_pending_vector(&v), -1);
}

static void test_illegal_vectors_set_esr(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	assert_false(vlapic_accept_irq(&v, 15, false));
	assert_true(vlapic_accept_irq(&v, 16, false));
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	/* Sending a fixed IPI with vector < 16 is a send error, not sent. */
	wr(&v, OFF_ICR_LOW, 0x0000000f, 0);
	assert_int_equal(rec.ipis, 0);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
	/* An illegal error-LVT vector cannot loop: it only adds bit 6. */
	wr(&v, OFF_LVT_ERROR, 0x05, 0);
	wr(&v, OFF_ICR_LOW, 0x00000001, 0);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0),
			 VLAPIC_ESR_SEND_ILLEGAL_VECTOR |
			     VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
}

/*
 * Every local source of a vector 0-15 is refused where it is produced
 * (SDM Vol. 3A 11.5.3): the LVT timer (receive error), a fixed or
 * lowest-priority IPI through the x2APIC ICR (send error, nothing sent),
 * and the IRR never holds such a vector, so vlapic_pending_vector() can
 * only return -1 or 16-255.
 */
static void test_illegal_vectors_from_every_source(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_1, 0);
	wr(&v, OFF_LVT_TIMER, 0x03, 0);
	wr(&v, OFF_TIMER_INITIAL, 10, 0);
	vlapic_tick(&v, 100);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	assert_int_equal(v.irr[0], 0);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	/* Lowest priority is checked like fixed; NMI ignores the vector. */
	wr(&v, OFF_ICR_LOW, 0x00000105, 0); /* lowest priority, vector 5 */
	assert_int_equal(rec.ipis, 0);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
	wr(&v, OFF_ICR_LOW, 0x00000400, 0); /* NMI: vector field unused */
	assert_int_equal(rec.ipis, 1);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), 0);
	/* Self shorthand: refused before it reaches the IRR. */
	wr(&v, OFF_ICR_LOW, 0x00040000 | 0x08, 0);
	assert_int_equal(v.irr[0], 0);

	make_x2apic(&v, 1);
	wrmsr(&v, MSR_ICR, 0x0f, 0); /* fixed, vector 15, to APIC 0 */
	assert_int_equal(rec.ipis, 0);
	wrmsr(&v, MSR_ESR, 0, 0);
	assert_int_equal(rdmsr(&v, MSR_ESR, 0), VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
	/* Received: an IOAPIC or another vCPU's message with vector 0. */
	assert_false(vlapic_accept_irq(&v, 0, true));
	assert_int_equal(vlapic_pending_vector(&v), -1);
	assert_int_equal(v.irr[0] | v.tmr[0], 0);
}

/* A small deterministic generator (xorshift64) for the sequence below. */
static u64 next_random(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The platform's loop back: a fixed / lowest IPI that reaches the sender. */
static void fuzz_send_ipi(void *opaque, const struct vlapic_ipi *ipi)
{
	struct vlapic *v = opaque;

	if ((ipi->delivery_mode == VLAPIC_DELIVERY_FIXED ||
	     ipi->delivery_mode == VLAPIC_DELIVERY_LOWEST) &&
	    ipi_reaches_sender(ipi, v))
		vlapic_accept_irq(v, ipi->vector, ipi->level_triggered);
}

static void fuzz_eoi(void *opaque, u8 vector)
{
	(void)opaque;
	(void)vector;
}

/*
 * Arbitrary guest programming, in both modes, with time going by: the
 * vector the core is offered is always -1 or 16-255, and vectors 0-15 are
 * never requested or in service.
 */
static void test_random_programming_never_yields_a_low_vector(void **state)
{
	static const struct vlapic_ops ops = {.send_ipi = fuzz_send_ipi,
					      .eoi = fuzz_eoi};
	struct vlapic_config cfg = {.vcpu_index = 0,
				    .bsp = true,
				    .tsc_hz = TSC_HZ,
				    .phys_addr_bits = 39};
	struct vlapic v;
	u64 x = 0x9e3779b97f4a7c15ull, now = 0;

	(void)state;
	assert_int_equal(vlapic_init(&v, &cfg, &ops, &v), 0);
	for (int i = 0; i < 200000; i++) {
		u64 r = next_random(&x);
		u32 value = (u32)(r >> 32);
		int vector;

		now += r & 0xfff;
		switch (r % 9) {
		case 0: /* any register, any value, xAPIC */
		case 1:
			vlapic_mmio_write(&v, (u32)((r >> 8) & 0x3f0), 4, value,
					  now);
			break;
		case 2: /* any x2APIC MSR */
			vlapic_msr_write(&v, 0x800 + (u32)((r >> 8) & 0xff),
					 value | (r & 0xff00000000ull), now);
			break;
		case 3: /* the low vectors, most of all */
			vlapic_accept_irq(&v, (u8)(value & 0x1f), r & 0x100);
			break;
		case 4:
			vlapic_accept_irq(&v, (u8)value, r & 0x100);
			break;
		case 5:
			vlapic_tick(&v, now);
			break;
		case 6: /* enable, x2APIC, disable: every mode */
			vlapic_set_apic_base(
			    &v, VLAPIC_DEFAULT_MMIO_BASE |
				    VLAPIC_APIC_BASE_BSP |
				    (r & 0x100 ? VLAPIC_APIC_BASE_EN : 0) |
				    (r & 0x200 ? VLAPIC_APIC_BASE_EXTD : 0));
			break;
		case 7: /* keep it software-enabled most of the time */
			vlapic_mmio_write(&v, 0xf0, 4, 0x100 | value, now);
			vlapic_msr_write(&v, MSR_SVR, 0x100 | (value & 0xff),
					 now);
			break;
		default: /* the core injects what is pending, the guest EOIs */
			vector = vlapic_pending_vector(&v);
			if (vector >= 0)
				assert_int_equal(
				    vlapic_inject_done(&v, (u8)vector), 0);
			vlapic_mmio_write(&v, OFF_EOI, 4, 0, now);
			vlapic_msr_write(&v, MSR_EOI, 0, now);
			break;
		}
		vector = vlapic_pending_vector(&v);
		if (vector != -1 && (vector < 16 || vector > 255))
			fail_msg("step %d: pending vector %d", i, vector);
		if ((v.irr[0] | v.isr[0]) & 0xffff)
			fail_msg("step %d: IRR 0x%x ISR 0x%x below 16", i,
				 v.irr[0], v.isr[0]);
	}
}

static void test_icr_xapic_sends_ipis(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	/* INIT, level assert, to APIC 3 (physical): SDM 11.6.1 fields. */
	wr(&v, OFF_ICR_HIGH, 3u << 24, 0);
	wr(&v, OFF_ICR_LOW, 0x0000c500, 0);
	assert_int_equal(rec.ipis, 1);
	assert_int_equal(rec.ipi[0].dest, 3);
	assert_false(rec.ipi[0].dest_logical);
	assert_false(rec.ipi[0].x2apic);
	assert_int_equal(rec.ipi[0].delivery_mode, VLAPIC_DELIVERY_INIT);
	assert_int_equal(rec.ipi[0].shorthand, VLAPIC_SHORTHAND_NONE);
	assert_true(rec.ipi[0].level_assert);
	assert_true(rec.ipi[0].level_triggered);
	/* Delivery status always reads idle. */
	assert_int_equal(rd(&v, OFF_ICR_LOW, 0), 0xc500);
	/* STARTUP with page 0x9a. */
	wr(&v, OFF_ICR_LOW, 0x0000069a, 0);
	assert_int_equal(rec.ipi[1].delivery_mode, VLAPIC_DELIVERY_STARTUP);
	assert_int_equal(rec.ipi[1].vector, 0x9a);
	/* Fixed, logical, to all but self. */
	wr(&v, OFF_ICR_HIGH, 0x0f000000, 0);
	wr(&v, OFF_ICR_LOW, 0x000c0800 | 0xfd, 0);
	assert_int_equal(rec.ipi[2].shorthand, VLAPIC_SHORTHAND_ALL_BUT_SELF);
	assert_true(rec.ipi[2].dest_logical);
	assert_int_equal(rec.ipi[2].dest, 0x0f);
	assert_int_equal(rec.ipi[2].vector, 0xfd);
	assert_int_equal(rec.ipi[2].delivery_mode, VLAPIC_DELIVERY_FIXED);
	/* NMI. */
	wr(&v, OFF_ICR_LOW, 0x00000400, 0);
	assert_int_equal(rec.ipi[3].delivery_mode, VLAPIC_DELIVERY_NMI);
	/* Reserved delivery mode 011b is not sent, only counted. */
	wr(&v, OFF_ICR_LOW, 0x00000340, 0);
	assert_int_equal(rec.ipis, 4);
	assert_int_equal(v.bad_icr_writes, 1);
	/* Writing ICR high alone sends nothing. */
	wr(&v, OFF_ICR_HIGH, 0x01000000, 0);
	assert_int_equal(rec.ipis, 4);
}

static void test_icr_x2apic_and_loop_back(void **state)
{
	struct vlapic v;

	(void)state;
	make_x2apic(&v, 5);
	wrmsr(&v, MSR_ICR, (0x12345ull << 32) | 0x4000 | 0x0800 | 0x80, 0);
	assert_int_equal(rec.ipis, 1);
	assert_int_equal(rec.ipi[0].dest, 0x12345);
	assert_true(rec.ipi[0].x2apic);
	assert_true(rec.ipi[0].dest_logical);
	assert_int_equal(rec.ipi[0].vector, 0x80);
	/* A fixed IPI to our own ID comes back through the core. */
	rec.loop_back = &v;
	wrmsr(&v, MSR_ICR, (5ull << 32) | 0x4000 | 0x91, 0);
	assert_int_equal(rec.ipis, 2);
	assert_int_equal(vlapic_pending_vector(&v), 0x91);
	/* "All including self" goes to the core, which delivers here too. */
	wrmsr(&v, MSR_ICR, 0x80000 | 0xa2, 0);
	assert_int_equal(rec.ipi[2].shorthand, VLAPIC_SHORTHAND_ALL);
	assert_true(irr_has(&v, 0xa2));
}

static void test_self_ipi(void **state)
{
	struct vlapic v;

	(void)state;
	/* xAPIC: shorthand "self" is accepted locally, no callback. */
	make_enabled(&v, 0);
	wr(&v, OFF_ICR_LOW, 0x00044000 | 0x77, 0);
	assert_int_equal(rec.ipis, 0);
	assert_int_equal(vlapic_pending_vector(&v), 0x77);
	assert_int_equal(rd(&v, OFF_TMR + 0x30, 0), 0); /* edge */
}

static void test_self_ipi_x2apic(void **state)
{
	struct vlapic v;

	(void)state;
	/* The SELF IPI register: edge, fixed, to self (SDM 11.12.11). */
	make_x2apic(&v, 9);
	wrmsr(&v, MSR_SELF_IPI, 0x66, 0);
	assert_int_equal(rec.ipis, 0);
	assert_int_equal(vlapic_pending_vector(&v), 0x66);
	assert_int_equal(rdmsr(&v, MSR_TMR0 + 3, 0), 0); /* edge */
	assert_int_equal(rdmsr(&v, MSR_IRR0 + 3, 0), 1u << 6);
	/* Vector below 16: send error, nothing raised. */
	wrmsr(&v, MSR_SELF_IPI, 0x0e, 0);
	wrmsr(&v, MSR_ESR, 0, 0);
	assert_int_equal(rdmsr(&v, MSR_ESR, 0), VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
}

static void test_timer_one_shot(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_16, 0);
	wr(&v, OFF_LVT_TIMER, TIMER_VECTOR, 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	wr(&v, OFF_TIMER_INITIAL, 1000, 1000);
	/* 1 GHz input clock / 16: one count per 16 ns. */
	assert_int_equal(vlapic_next_deadline_ns(&v), 1000 + 16000);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 1000), 1000);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 1000 + 1600), 900);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 1000 + 8000), 500);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 1000 + 15990), 1);
	vlapic_tick(&v, 16999);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	vlapic_tick(&v, 17000);
	assert_int_equal(vlapic_pending_vector(&v), TIMER_VECTOR);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 17000), 0);
	assert_int_equal(rd(&v, OFF_TIMER_INITIAL, 17000), 1000);
	/* It fires once only. */
	vlapic_inject_done(&v, TIMER_VECTOR);
	wr(&v, OFF_EOI, 0, 17100);
	vlapic_tick(&v, 1000000);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	/* Writing 0 to the initial count stops a running timer. */
	wr(&v, OFF_TIMER_INITIAL, 10, 2000000);
	wr(&v, OFF_TIMER_INITIAL, 0, 2000001);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	vlapic_tick(&v, 3000000);
	assert_int_equal(vlapic_pending_vector(&v), -1);
}

static void test_timer_periodic(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_1, 0);
	wr(&v, OFF_LVT_TIMER, TIMER_PERIODIC | TIMER_VECTOR, 0);
	/* 1000000 counts at 1 GHz: 1 ms, as Linux at HZ=1000 asks. */
	wr(&v, OFF_TIMER_INITIAL, 1000000, 500);
	assert_int_equal(vlapic_next_deadline_ns(&v), 1000500);
	vlapic_tick(&v, 1000500);
	assert_true(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(vlapic_next_deadline_ns(&v), 2000500);
	/* Reloaded: counting down from 1000000 again. */
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 1000500), 1000000);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 1300500), 700000);
	vlapic_inject_done(&v, TIMER_VECTOR);
	wr(&v, OFF_EOI, 0, 1400500);
	/* Missed periods (2000500, 3000500) collapse into one interrupt. */
	vlapic_tick(&v, 3500500);
	assert_true(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(vlapic_next_deadline_ns(&v), 4000500);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 3500500), 500000);
	/* Current count is right even without a tick for a while. */
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 12100500), 900000);
	/* The read ticked (expiry 12000500). One at 13000500 ticked 400 us
	 * late does not delay the next expiry. */
	vlapic_inject_done(&v, TIMER_VECTOR);
	vlapic_tick(&v, 13400500);
	assert_true(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(vlapic_next_deadline_ns(&v), 14000500);
}

/*
 * A period below VLAPIC_MIN_PERIODIC_NS: the counter keeps the programmed
 * rate, the interrupts come at most once per 500 us (the expiries in
 * between collapse, as missed ones do).
 */
static void test_timer_periodic_minimum_period(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_1, 0);
	wr(&v, OFF_LVT_TIMER, TIMER_PERIODIC | TIMER_VECTOR, 0);
	wr(&v, OFF_TIMER_INITIAL, 100, 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 100);
	vlapic_tick(&v, 100);
	assert_true(irr_has(&v, TIMER_VECTOR));
	/* The next interrupt: the first expiry 500 us after this one. */
	assert_int_equal(vlapic_next_deadline_ns(&v), 100 + 500000);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 130), 70);
	vlapic_inject_done(&v, TIMER_VECTOR);
	wr(&v, OFF_EOI, 0, 140);
	vlapic_tick(&v, 50000);
	assert_false(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 50030), 70);
	vlapic_tick(&v, 500099);
	assert_false(irr_has(&v, TIMER_VECTOR));
	vlapic_tick(&v, 500100);
	assert_true(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(vlapic_next_deadline_ns(&v), 1000100);
	/* A masked expiry raises nothing and so delays nothing. */
	vlapic_inject_done(&v, TIMER_VECTOR);
	wr(&v, OFF_LVT_TIMER, LVT_MASKED | TIMER_PERIODIC | TIMER_VECTOR,
	   600000);
	vlapic_tick(&v, 1100000);
	wr(&v, OFF_LVT_TIMER, TIMER_PERIODIC | TIMER_VECTOR, 1100010);
	assert_int_equal(vlapic_next_deadline_ns(&v), 1100100);
}

/*
 * A periodic timer whose vector waits in IRR is held: its next expiry
 * would change nothing (vlapic_timer_held), until the vector is taken.
 */
static void test_timer_held_while_its_vector_waits(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_1, 0);
	wr(&v, OFF_LVT_TIMER, TIMER_PERIODIC | TIMER_VECTOR, 0);
	wr(&v, OFF_TIMER_INITIAL, 1000000, 0);
	assert_false(vlapic_timer_held(&v));
	vlapic_tick(&v, 1000000);
	assert_true(irr_has(&v, TIMER_VECTOR));
	assert_true(vlapic_timer_held(&v));
	/* The deadline is still there for whoever ticks the timer. */
	assert_int_equal(vlapic_next_deadline_ns(&v), 2000000);
	vlapic_inject_done(&v, TIMER_VECTOR);
	assert_false(vlapic_timer_held(&v));
	/* In service but not requested: the next expiry requests it again. */
	vlapic_tick(&v, 2000000);
	assert_true(vlapic_timer_held(&v));
	/* Masked, or one-shot: never held. */
	wr(&v, OFF_LVT_TIMER, LVT_MASKED | TIMER_PERIODIC | TIMER_VECTOR,
	   2000001);
	assert_false(vlapic_timer_held(&v));
	wr(&v, OFF_LVT_TIMER, TIMER_VECTOR, 2000002);
	assert_false(vlapic_timer_held(&v));
}

static void test_masked_timer_does_not_raise(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_1, 0);
	wr(&v, OFF_LVT_TIMER, LVT_MASKED | TIMER_VECTOR, 0);
	wr(&v, OFF_TIMER_INITIAL, 100, 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 40), 60); /* counts */
	vlapic_tick(&v, 200);
	assert_false(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 200), 0);
	/* Unmasking after the expiry raises nothing late. */
	wr(&v, OFF_LVT_TIMER, TIMER_VECTOR, 300);
	vlapic_tick(&v, 400);
	assert_false(irr_has(&v, TIMER_VECTOR));
	/* Masked periodic: runs silently, unmask picks up the next period. */
	wr(&v, OFF_LVT_TIMER, LVT_MASKED | TIMER_PERIODIC | TIMER_VECTOR, 1000);
	wr(&v, OFF_TIMER_INITIAL, 100000, 1000);
	vlapic_tick(&v, 350000);
	assert_false(irr_has(&v, TIMER_VECTOR));
	wr(&v, OFF_LVT_TIMER, TIMER_PERIODIC | TIMER_VECTOR, 360000);
	assert_int_equal(vlapic_next_deadline_ns(&v), 401000);
	vlapic_tick(&v, 400999);
	assert_false(irr_has(&v, TIMER_VECTOR));
	vlapic_tick(&v, 401000);
	assert_true(irr_has(&v, TIMER_VECTOR));
}

static void test_timer_divide_config(void **state)
{
	/* Divide configuration encodings (SDM Figure 11-10). */
	static const struct {
		u32 config;
		u64 divisor;
	} table[] = {
	    {0x0, 2},  {0x1, 4},  {0x2, 8},   {0x3, 16},
	    {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1},
	};
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_LVT_TIMER, TIMER_VECTOR, 0);
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		wr(&v, OFF_TIMER_DIVIDE, table[i].config, 0);
		wr(&v, OFF_TIMER_INITIAL, 10, 5000);
		assert_int_equal(vlapic_next_deadline_ns(&v),
				 5000 + 10 * table[i].divisor);
	}
	/* A divide change mid-count goes on from the current count. */
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_2, 0);
	wr(&v, OFF_TIMER_INITIAL, 1000, 10000);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 11000), 500);
	wr(&v, OFF_TIMER_DIVIDE, DIVIDE_BY_8, 11000);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 11000), 500);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 11800), 400);
	assert_int_equal(vlapic_next_deadline_ns(&v), 11000 + 500 * 8);
}

static void test_tsc_deadline(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	vlapic_set_tsc_offset(&v, 1000);
	/* Outside TSC-deadline mode the MSR reads 0 and ignores writes. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 5000, 0);
	assert_int_equal(rdmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 0), 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	wr(&v, OFF_LVT_TIMER, TIMER_TSC_DEADLINE | TIMER_VECTOR, 0);
	/* Guest TSC at 100 ns: 1000 + 100 * 2 = 1200; 2000 ticks = 1 us. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 3200, 100);
	assert_int_equal(rdmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 100), 3200);
	assert_int_equal(vlapic_next_deadline_ns(&v), 1100);
	/* The initial count is ignored; the current count reads 0. */
	wr(&v, OFF_TIMER_INITIAL, 50, 200);
	assert_int_equal(rd(&v, OFF_TIMER_INITIAL, 200), 0);
	assert_int_equal(rd(&v, OFF_TIMER_CURRENT, 200), 0);
	vlapic_tick(&v, 1099);
	assert_false(irr_has(&v, TIMER_VECTOR));
	vlapic_tick(&v, 1100);
	assert_true(irr_has(&v, TIMER_VECTOR));
	/* Expiry disarms and clears the MSR. */
	assert_int_equal(rdmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 1100), 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	vlapic_inject_done(&v, TIMER_VECTOR);
	wr(&v, OFF_EOI, 0, 1200);
	/* A deadline already passed fires at once. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 1500, 2000);
	assert_true(irr_has(&v, TIMER_VECTOR));
	/* Writing 0 disarms. */
	vlapic_inject_done(&v, TIMER_VECTOR);
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 100000, 3000);
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 0, 3001);
	vlapic_tick(&v, 1000000);
	assert_false(irr_has(&v, TIMER_VECTOR));
	/* Leaving TSC-deadline mode disarms too. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 1ull << 40, 1000000);
	wr(&v, OFF_LVT_TIMER, TIMER_VECTOR, 1000001);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	wr(&v, OFF_LVT_TIMER, TIMER_TSC_DEADLINE | TIMER_VECTOR, 1000002);
	assert_int_equal(rdmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 1000002), 0);
}

/*
 * The guest moves its TSC (IA32_TSC, IA32_TSC_ADJUST): an armed
 * TSC-deadline timer compares against the TSC, so it moves with it, and
 * fires at once when the TSC jumped past its deadline.
 */
static void test_tsc_deadline_follows_a_moved_tsc(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	vlapic_set_tsc_offset(&v, 1000);
	wr(&v, OFF_LVT_TIMER, TIMER_TSC_DEADLINE | TIMER_VECTOR, 0);
	/* As in test_tsc_deadline: 3200 is reached at 1100 ns. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 3200, 100);
	assert_int_equal(vlapic_next_deadline_ns(&v), 1100);
	/* 2000 ticks (1 us) back at 600 ns: reached 1 us later. */
	vlapic_move_tsc(&v, 1000 - 2000, 600);
	assert_int_equal(vlapic_next_deadline_ns(&v), 2100);
	assert_int_equal(rdmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 600), 3200);
	/* Far ahead, past 3200: it fires now and disarms. */
	vlapic_move_tsc(&v, 0x74073ff27130481eull, 700);
	assert_true(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
	assert_int_equal(rdmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 700), 0);
	/* Nothing armed: moving the TSC changes nothing. */
	vlapic_inject_done(&v, TIMER_VECTOR);
	vlapic_move_tsc(&v, 0, 800);
	assert_false(irr_has(&v, TIMER_VECTOR));
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
}

static void test_tsc_deadline_rounds_up(void **state)
{
	struct vlapic v;
	struct vlapic_config cfg = {.tsc_hz = 3000000000ull,
				    .phys_addr_bits = 39};

	(void)state;
	assert_int_equal(vlapic_init(&v, &cfg, NULL, NULL), 0);
	wr(&v, OFF_SVR, SVR_ENABLED, 0);
	wr(&v, OFF_LVT_TIMER, TIMER_TSC_DEADLINE | TIMER_VECTOR, 0);
	/* 10 ticks at 3 GHz = 3.33 ns: at 3 ns the TSC is 9, at 4 it is 12. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, 10, 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 4);
	/* A deadline far out neither overflows nor fires. */
	wrmsr(&v, VLAPIC_MSR_TSC_DEADLINE, ~0ull, 0);
	assert_true(vlapic_next_deadline_ns(&v) > 6000000000000000000ull);
	vlapic_tick(&v, 1ull << 62);
	assert_false(irr_has(&v, TIMER_VECTOR));
}

static void test_init_signal_keeps_id_and_mode(void **state)
{
	struct vlapic v;

	(void)state;
	make_x2apic(&v, 0x21);
	wrmsr(&v, MSR_TPR, 0x40, 0);
	vlapic_accept_irq(&v, 0x50, false);
	wrmsr(&v, MSR_LVT_TIMER, TIMER_VECTOR, 0);
	wrmsr(&v, MSR_TIMER_INITIAL, 100, 0);
	vlapic_init_signal(&v);
	assert_true(vlapic_x2apic_mode(&v));
	assert_int_equal(rdmsr(&v, MSR_ID, 0), 0x21);
	assert_int_equal(rdmsr(&v, MSR_LDR, 0), 0x00020002);
	assert_int_equal(rdmsr(&v, MSR_TPR, 0), 0);
	assert_int_equal(rdmsr(&v, MSR_SVR, 0), 0xff);
	assert_int_equal(rdmsr(&v, MSR_LVT_TIMER, 0), LVT_MASKED);
	assert_int_equal(rdmsr(&v, MSR_IRR0 + 2, 0), 0);
	assert_int_equal(vlapic_next_deadline_ns(&v), 0);
}

static void test_match_dest(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 6);
	assert_true(vlapic_match_dest(&v, 6, false));
	assert_false(vlapic_match_dest(&v, 7, false));
	assert_true(vlapic_match_dest(&v, 0xff, false));
	/* Flat logical: LDR bit 2 set. */
	wr(&v, OFF_LDR, 0x04000000, 0);
	assert_true(vlapic_match_dest(&v, 0x06, true));
	assert_false(vlapic_match_dest(&v, 0x09, true));
	assert_true(vlapic_match_dest(&v, 0xff, true));
	/* Cluster logical: cluster 3, member bit 1. */
	wr(&v, OFF_DFR, 0x0fffffff, 0);
	wr(&v, OFF_LDR, 0x32000000, 0);
	assert_true(vlapic_match_dest(&v, 0x33, true));
	assert_false(vlapic_match_dest(&v, 0x23, true));
	assert_false(vlapic_match_dest(&v, 0x31, true));
	/* x2APIC: 32-bit IDs, cluster logical IDs, 0xFFFFFFFF broadcast. */
	make_x2apic(&v, 0x16);
	assert_true(vlapic_match_dest(&v, 0x16, false));
	assert_false(vlapic_match_dest(&v, 0x116, false));
	assert_false(vlapic_match_dest(&v, 0xff, false));
	assert_true(vlapic_match_dest(&v, 0xffffffff, false));
	assert_true(vlapic_match_dest(&v, 0x00010040, true));
	assert_false(vlapic_match_dest(&v, 0x00000040, true));
	assert_false(vlapic_match_dest(&v, 0x0001ffbf, true));
	/* A disabled APIC matches nothing. */
	assert_int_equal(vlapic_set_apic_base(&v, VLAPIC_DEFAULT_MMIO_BASE), 0);
	assert_false(vlapic_match_dest(&v, 0xffffffff, false));
}

static void test_accepts_extint(void **state)
{
	struct vlapic v;

	(void)state;
	make(&v, 0);
	assert_false(vlapic_accepts_extint(&v)); /* LINT0 masked */
	wr(&v, OFF_SVR, SVR_ENABLED, 0);
	wr(&v, OFF_LVT_LINT0, 0x700, 0); /* ExtINT, unmasked */
	assert_true(vlapic_accepts_extint(&v));
	wr(&v, OFF_LVT_LINT0, 0x400, 0); /* NMI */
	assert_false(vlapic_accepts_extint(&v));
	assert_int_equal(vlapic_set_apic_base(&v, VLAPIC_DEFAULT_MMIO_BASE), 0);
	assert_true(vlapic_accepts_extint(&v)); /* no APIC: plain INTR */
}

/*
 * NMI IPIs with a shorthand (self, all including self) leave through
 * send_ipi like every IPI but a fixed one to self: the core delivers the
 * NMI (SDM Vol. 3A 11.6.1).
 */
static void test_nmi_ipis_go_to_the_core(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	wr(&v, OFF_ICR_LOW, 0x00040400, 0); /* NMI, self */
	wr(&v, OFF_ICR_LOW, 0x00080400, 0); /* NMI, all including self */
	assert_int_equal(rec.ipis, 2);
	assert_int_equal(rec.ipi[0].delivery_mode, VLAPIC_DELIVERY_NMI);
	assert_int_equal(rec.ipi[0].shorthand, VLAPIC_SHORTHAND_SELF);
	assert_int_equal(rec.ipi[1].delivery_mode, VLAPIC_DELIVERY_NMI);
	assert_int_equal(rec.ipi[1].shorthand, VLAPIC_SHORTHAND_ALL);
	/* The vector field of an NMI is no vector: 0 is no error. */
	assert_int_equal(rd(&v, OFF_ESR, 0), 0);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), 0);
	assert_int_equal(vlapic_pending_vector(&v), -1);
}

/* LINT0 / LINT1 edges as their LVT entries say (SDM Vol. 3A 11.5.1). */
static void test_lint_edges(void **state)
{
	struct vlapic v;

	(void)state;
	make(&v, 0);
	/* Power-on: both masked. */
	assert_int_equal(vlapic_lint_edge(&v, 0), VLAPIC_LINT_NONE);
	assert_int_equal(vlapic_lint_edge(&v, 1), VLAPIC_LINT_NONE);
	/* Software-disabled: the masks cannot be cleared. */
	wr(&v, OFF_LVT_LINT1, 0x400, 0);
	assert_int_equal(vlapic_lint_edge(&v, 1), VLAPIC_LINT_NONE);
	wr(&v, OFF_SVR, SVR_ENABLED, 0);
	/* NMI mode: the vector is ignored, the trigger is edge. */
	wr(&v, OFF_LVT_LINT1, 0x8400 | 0x03, 0);
	assert_int_equal(vlapic_lint_edge(&v, 1), VLAPIC_LINT_NMI);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	wr(&v, OFF_LVT_LINT1, LVT_MASKED | 0x400, 0);
	assert_int_equal(vlapic_lint_edge(&v, 1), VLAPIC_LINT_NONE);
	/* Fixed: the vector goes to IRR; below 16 it is refused (ESR 6). */
	wr(&v, OFF_LVT_LINT1, 0x41, 0);
	assert_int_equal(vlapic_lint_edge(&v, 1), VLAPIC_LINT_ACCEPTED);
	assert_int_equal(vlapic_pending_vector(&v), 0x41);
	wr(&v, OFF_LVT_LINT0, 0x05, 0);
	assert_int_equal(vlapic_lint_edge(&v, 0), VLAPIC_LINT_NONE);
	wr(&v, OFF_ESR, 0, 0);
	assert_int_equal(rd(&v, OFF_ESR, 0), VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	/* ExtINT on LINT0 is the 8259's path; SMI and INIT do nothing. */
	wr(&v, OFF_LVT_LINT0, 0x700, 0);
	assert_int_equal(vlapic_lint_edge(&v, 0), VLAPIC_LINT_EXTINT);
	wr(&v, OFF_LVT_LINT0, 0x200, 0);
	assert_int_equal(vlapic_lint_edge(&v, 0), VLAPIC_LINT_NONE);
	wr(&v, OFF_LVT_LINT0, 0x500, 0);
	assert_int_equal(vlapic_lint_edge(&v, 0), VLAPIC_LINT_NONE);
	assert_int_equal(vlapic_lint_edge(&v, 2), VLAPIC_LINT_NONE);
	/* Globally disabled: the pins are the CPU's INTR and NMI. */
	assert_int_equal(vlapic_set_apic_base(&v, VLAPIC_DEFAULT_MMIO_BASE), 0);
	assert_int_equal(vlapic_lint_edge(&v, 0), VLAPIC_LINT_EXTINT);
	assert_int_equal(vlapic_lint_edge(&v, 1), VLAPIC_LINT_NMI);
}

/* ---- virtual-interrupt delivery (vlapic_virt_*) */

static void test_virt_ok_only_for_an_enabled_x2apic(void **state)
{
	struct vlapic v;

	(void)state;
	make_enabled(&v, 0);
	assert_false(vlapic_virt_ok(&v)); /* xAPIC: MMIO still exits */
	make(&v, 0);
	wrmsr(&v, VLAPIC_MSR_APIC_BASE,
	      VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_EN |
		  VLAPIC_APIC_BASE_EXTD,
	      0);
	assert_false(vlapic_virt_ok(&v)); /* software-disabled */
	make_x2apic(&v, 0);
	assert_true(vlapic_virt_ok(&v));
}

static void test_virt_get_gives_the_registers(void **state)
{
	struct vlapic v;
	struct apic_virt_state s;

	(void)state;
	make_x2apic(&v, 0);
	wrmsr(&v, MSR_TPR, 0x25, 0);
	assert_true(vlapic_accept_irq(&v, 0x61, false));
	assert_true(vlapic_accept_irq(&v, 0x92, true));
	assert_int_equal(vlapic_inject_done(&v, 0x92), 0);
	assert_true(vlapic_accept_irq(&v, 0x93, true));
	vlapic_virt_get(&v, &s);
	assert_int_equal(s.tpr, 0x25);
	assert_int_equal(s.ppr, 0x90);	     /* ISR 0x92's class is above TPR */
	assert_int_equal(s.irr[3], 1u << 1); /* 0x61 */
	assert_int_equal(s.irr[4], 1u << 19);		     /* 0x93 */
	assert_int_equal(s.isr[4], 1u << 18);		     /* 0x92 */
	assert_int_equal(s.tmr[4], (1u << 18) | (1u << 19)); /* both level */
	assert_int_equal(s.tmr[3], 0);
	assert_int_equal(s.irr_top, 0x93); /* RVI and SVI for VT-x */
	assert_int_equal(s.isr_top, 0x92);
}

static void test_virt_put_takes_back_what_the_cpu_did(void **state)
{
	struct vlapic v;
	struct apic_virt_state s;
	u32 delivered;

	(void)state;
	make_x2apic(&v, 0);
	assert_true(vlapic_accept_irq(&v, 0x61, true));
	vlapic_virt_get(&v, &s);
	/* Unchanged: nothing to report. */
	assert_false(vlapic_virt_put(&v, &s, &delivered));
	assert_int_equal(delivered, 0);
	/* The CPU delivered 0x61, the guest raised TPR and sent itself a
	 * SELF IPI of 0x45 and one of vector 5 (no check on the CPU). */
	s.irr[3] = 0;
	s.isr[3] = 1u << 1;
	s.irr[2] = 1u << 5;
	s.irr[0] = 1u << 5;
	s.tpr = 0x130; /* only bits 7:0 are TPR */
	assert_true(vlapic_virt_put(&v, &s, &delivered));
	assert_int_equal(delivered, 1); /* 0x61 */
	assert_int_equal(rdmsr(&v, MSR_TPR, 0), 0x30);
	assert_false(irr_has(&v, 0x61));
	assert_true(irr_has(&v, 0x45));
	assert_false(irr_has(&v, 5));
	/* The summaries follow: 0x61 is in service, 0x45 waits behind it
	 * (PPR 0x60), and its TMR bit is clear (edge). */
	assert_int_equal(vlapic_ppr(&v), 0x60);
	assert_int_equal(vlapic_pending_vector(&v), -1);
	assert_true(vlapic_eoi_vector(&v, 0x61));
	assert_int_equal(rec.eois, 1); /* 0x61 was level-triggered */
	assert_int_equal(vlapic_pending_vector(&v), 0x45);
	assert_int_equal(vlapic_inject_done(&v, 0x45), 0);
	assert_true(vlapic_eoi_vector(&v, 0x45));
	assert_int_equal(rec.eois, 1); /* 0x45 is edge: no EOI message */
}

static void test_virt_eoi_done_reaches_the_ioapic_for_level_only(void **state)
{
	struct vlapic v;

	(void)state;
	make_x2apic(&v, 0);
	assert_true(vlapic_accept_irq(&v, 0x71, true));
	assert_true(vlapic_accept_irq(&v, 0x72, false));
	vlapic_eoi_done(&v, 0x72);
	assert_int_equal(rec.eois, 0);
	vlapic_eoi_done(&v, 0x71);
	assert_int_equal(rec.eois, 1);
	assert_int_equal(rec.eoi[0], 0x71);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_virt_ok_only_for_an_enabled_x2apic),
	    cmocka_unit_test(test_virt_get_gives_the_registers),
	    cmocka_unit_test(test_virt_put_takes_back_what_the_cpu_did),
	    cmocka_unit_test(
		test_virt_eoi_done_reaches_the_ioapic_for_level_only),
	    cmocka_unit_test(test_init_rejects_bad_config),
	    cmocka_unit_test(test_power_on_state),
	    cmocka_unit_test(test_xapic_register_semantics),
	    cmocka_unit_test(test_xapic_access_sizes),
	    cmocka_unit_test(test_xapic_reserved_register_sets_esr),
	    cmocka_unit_test(test_wrong_interface_is_refused),
	    cmocka_unit_test(test_apic_base_transitions),
	    cmocka_unit_test(test_x2apic_registers),
	    cmocka_unit_test(test_x2apic_gp_cases),
	    cmocka_unit_test(test_priority_tpr_ppr),
	    cmocka_unit_test(test_nested_interrupts_and_eoi),
	    cmocka_unit_test(test_level_eoi_calls_back),
	    cmocka_unit_test(test_software_disable),
	    cmocka_unit_test(test_illegal_vectors_set_esr),
	    cmocka_unit_test(test_illegal_vectors_from_every_source),
	    cmocka_unit_test(test_random_programming_never_yields_a_low_vector),
	    cmocka_unit_test(test_icr_xapic_sends_ipis),
	    cmocka_unit_test(test_icr_x2apic_and_loop_back),
	    cmocka_unit_test(test_self_ipi),
	    cmocka_unit_test(test_self_ipi_x2apic),
	    cmocka_unit_test(test_timer_one_shot),
	    cmocka_unit_test(test_timer_periodic),
	    cmocka_unit_test(test_timer_periodic_minimum_period),
	    cmocka_unit_test(test_timer_held_while_its_vector_waits),
	    cmocka_unit_test(test_masked_timer_does_not_raise),
	    cmocka_unit_test(test_timer_divide_config),
	    cmocka_unit_test(test_tsc_deadline),
	    cmocka_unit_test(test_tsc_deadline_follows_a_moved_tsc),
	    cmocka_unit_test(test_tsc_deadline_rounds_up),
	    cmocka_unit_test(test_init_signal_keeps_id_and_mode),
	    cmocka_unit_test(test_match_dest),
	    cmocka_unit_test(test_accepts_extint),
	    cmocka_unit_test(test_nmi_ipis_go_to_the_core),
	    cmocka_unit_test(test_lint_edges),
	    cmocka_unit_test(test_eoi_for_the_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
