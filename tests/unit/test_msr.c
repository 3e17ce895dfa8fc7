/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/msr.c: the RDMSR / WRMSR allow list, driven through
 * the fake backend. The local APIC MSRs belong to the platform; here a
 * stand-in platform records what msr.c hands it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "core/handlers.h"
#include "core/platform.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

#define MSR_IA32_PLATFORM_ID	0x17
#define MSR_IA32_MCG_CAP	0x179
#define MSR_IA32_MCG_STATUS	0x17a
#define MSR_AMD_INT_PENDING_MSG 0xc0010055

static struct fake_guest guest;

/* ---- the platform's MSRs: a stand-in (core/platform.c links the LAPIC) */

static struct {
	u32 reads, writes;
	u32 msr;
	u64 value;   /* last written */
	u64 read_as; /* what reads return */
	int result;  /* 0 or -1 (refused) */
} plat;

bool platform_handles_msr(u32 msr)
{
	return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
	       (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

int platform_msr_read(struct platform *p, struct vcpu *vcpu, u32 msr,
		      u64 *value)
{
	assert_ptr_equal(p, guest.vm.platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	plat.reads++;
	plat.msr = msr;
	*value = plat.read_as;
	return plat.result;
}

int platform_msr_write(struct platform *p, struct vcpu *vcpu, u32 msr,
		       u64 value)
{
	assert_ptr_equal(p, guest.vm.platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	plat.writes++;
	plat.msr = msr;
	plat.value = value;
	return plat.result;
}

/* ---- helpers */

static struct platform *const fake_platform = (struct platform *)&plat;

static int setup(void **state)
{
	(void)state;
	fake_guest_init(&guest, 0);
	guest.vm.platform = fake_platform;  /* only compared, never used */
	guest.vm.msr_mtrr_def_type = 0xc06; /* as core/guest.c sets it */
	memset(&plat, 0, sizeof(plat));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

static void assert_no_field_written(void)
{
	for (u32 f = 0; f < VCPU_FIELD_COUNT; f++)
		assert_int_equal(guest.be.field_writes[f], 0);
}

static void assert_gp_queued(void)
{
	const struct vcpu_entry *e = &guest.vcpu.entry;

	assert_true(e->inject);
	assert_int_equal(e->event.type, VCPU_EVENT_EXCEPTION);
	assert_int_equal(e->event.vector, X86_VECTOR_GP);
	assert_true(e->event.has_error_code);
	assert_int_equal(e->event.error_code, 0);
}

/* RDMSR: returns the action; RDX:RAX are left with junk in on entry. */
static enum exit_action rdmsr_exit(u32 index)
{
	struct exit_event ev = fake_exit(EXIT_MSR_READ, 2);
	u64 *g = guest.vcpu.regs.gpr;

	ev.msr.index = index;
	g[GPR_RAX] = 0x1111111122222222ull;
	g[GPR_RDX] = 0x3333333344444444ull;
	g[GPR_RCX] = index;
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	return handle_msr_read(&guest.vcpu, &ev);
}

/* RDMSR that must succeed: the value from EDX:EAX. */
static u64 rdmsr_ok(u32 index)
{
	u64 *g = guest.vcpu.regs.gpr;

	assert_int_equal(rdmsr_exit(index), EXIT_ACTION_SKIP);
	assert_false(guest.vcpu.entry.inject);
	/* Both halves written as 32-bit registers: upper halves cleared. */
	assert_int_equal(g[GPR_RAX] >> 32, 0);
	assert_int_equal(g[GPR_RDX] >> 32, 0);
	return (g[GPR_RDX] << 32) | g[GPR_RAX];
}

static void assert_rdmsr_gp(u32 index)
{
	u64 *g = guest.vcpu.regs.gpr;

	assert_int_equal(rdmsr_exit(index), EXIT_ACTION_RESUME);
	assert_gp_queued();
	/* A faulting RDMSR writes nothing. */
	assert_int_equal(g[GPR_RAX], 0x1111111122222222ull);
	assert_int_equal(g[GPR_RDX], 0x3333333344444444ull);
}

/* WRMSR of `value`, with junk in the upper halves of RAX and RDX. */
static enum exit_action wrmsr_exit(u32 index, u64 value)
{
	struct exit_event ev = fake_exit(EXIT_MSR_WRITE, 2);
	u64 *g = guest.vcpu.regs.gpr;

	ev.msr.index = index;
	g[GPR_RAX] = 0xabcd000000000000ull | (u32)value;
	g[GPR_RDX] = 0x5a5a000000000000ull | (value >> 32);
	g[GPR_RCX] = index;
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	return handle_msr_write(&guest.vcpu, &ev);
}

static void wrmsr_ok(u32 index, u64 value)
{
	assert_int_equal(wrmsr_exit(index, value), EXIT_ACTION_SKIP);
	assert_false(guest.vcpu.entry.inject);
}

static void assert_wrmsr_gp(u32 index, u64 value)
{
	assert_int_equal(wrmsr_exit(index, value), EXIT_ACTION_RESUME);
	assert_gp_queued();
}

/* ---- tests */

static void test_unknown_msrs_give_gp(void **state)
{
	static const u32 denied[] = {
	    0x0,		      /* P5_MC_ADDR */
	    MSR_IA32_FEATURE_CONTROL, /* no VMX for the guest */
	    MSR_IA32_SPEC_CTRL,
	    MSR_IA32_VMX_BASIC,
	    MSR_IA32_VMX_EPT_VPID_CAP,
	    MSR_VM_CR, /* no SVM for the guest */
	    MSR_VM_HSAVE_PA,
	    0xc0000104, /* the one after TSC_AUX */
	    0x40000000, /* Hyper-V's range: not Veneer's */
	    0x7fffffff,
	    0xffffffff,
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(denied); i++) {
		assert_rdmsr_gp(denied[i]);
		assert_wrmsr_gp(denied[i], 0);
		assert_wrmsr_gp(denied[i], 1);
	}
	assert_no_field_written();
	assert_int_equal(plat.reads + plat.writes, 0);
}

static void test_read_only_msrs_give_gp_on_write(void **state)
{
	static const u32 read_only[] = {MSR_IA32_MTRRCAP, MSR_IA32_PLATFORM_ID,
					MSR_IA32_MCG_CAP};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(read_only); i++) {
		assert_int_equal(rdmsr_ok(read_only[i]), 0);
		assert_wrmsr_gp(read_only[i], 0);
	}
}

static void test_fixed_values(void **state)
{
	(void)state;
	assert_int_equal(rdmsr_ok(MSR_IA32_BIOS_SIGN_ID), 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_MCG_STATUS), 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_ADJUST), 0);
	assert_int_equal(rdmsr_ok(MSR_AMD_INT_PENDING_MSG), 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 1); /* fast strings */
	/* Writes accepted and dropped. */
	wrmsr_ok(MSR_IA32_BIOS_SIGN_ID, 0x1234567800000000ull);
	wrmsr_ok(MSR_IA32_MCG_STATUS, 0);
	wrmsr_ok(MSR_IA32_TSC_ADJUST, 5);
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_BIOS_SIGN_ID), 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 1);
	assert_no_field_written();
}

static void test_state_msrs_reach_the_backend(void **state)
{
	static const struct {
		u32 msr;
		enum vcpu_field field;
	} map[] = {
	    {MSR_IA32_SYSENTER_CS, VCPU_SYSENTER_CS},
	    {MSR_IA32_SYSENTER_ESP, VCPU_SYSENTER_ESP},
	    {MSR_IA32_SYSENTER_EIP, VCPU_SYSENTER_EIP},
	    {MSR_FS_BASE, VCPU_FS_BASE},
	    {MSR_GS_BASE, VCPU_GS_BASE},
	    {MSR_KERNEL_GS_BASE, VCPU_KERNEL_GS_BASE},
	    {MSR_STAR, VCPU_STAR},
	    {MSR_LSTAR, VCPU_LSTAR},
	    {MSR_CSTAR, VCPU_CSTAR},
	    {MSR_SFMASK, VCPU_SFMASK},
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(map); i++) {
		u64 v = 0xffff800012345678ull + i;

		wrmsr_ok(map[i].msr, v);
		assert_int_equal(fake_get(&guest, map[i].field), v);
		fake_set(&guest, map[i].field, v ^ 0xf0f0);
		assert_int_equal(rdmsr_ok(map[i].msr), v ^ 0xf0f0);
	}
}

static void test_efer(void **state)
{
	(void)state;
	/* EFER as the backend shows it (AMD-V's SVME is hidden there). */
	fake_set(&guest, VCPU_EFER, EFER_LME | EFER_LMA | EFER_SCE);
	assert_int_equal(rdmsr_ok(MSR_EFER), EFER_LME | EFER_LMA | EFER_SCE);

	wrmsr_ok(MSR_EFER, EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE);
	assert_int_equal(fake_get(&guest, VCPU_EFER),
			 EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE);
	/* SVME (no SVM in CPUID for the guest) and reserved bits: #GP. */
	assert_wrmsr_gp(MSR_EFER, EFER_LME | EFER_LMA | EFER_SVME);
	assert_wrmsr_gp(MSR_EFER, EFER_LME | EFER_LMA | BIT(1));
	assert_wrmsr_gp(MSR_EFER, EFER_LME | EFER_LMA | BIT(63));
	assert_wrmsr_gp(MSR_EFER, EFER_LME | EFER_LMA | BIT(32));
	assert_int_equal(fake_get(&guest, VCPU_EFER),
			 EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE);
	assert_int_equal(guest.be.field_writes[VCPU_EFER], 1);
}

/* LME may not change while paging is on (SDM Vol. 3A 10.8.5); LMA is the
 * CPU's to set, a write leaves it as it is (APM Vol. 2 3.1.7). */
static void test_efer_long_mode_bits(void **state)
{
	(void)state;
	/* Paging on, long mode active: clearing LME is #GP. */
	assert_wrmsr_gp(MSR_EFER, EFER_LMA);
	assert_wrmsr_gp(MSR_EFER, 0);
	/* Writing LMA clear with LME kept: LMA stays. */
	wrmsr_ok(MSR_EFER, EFER_LME | EFER_NXE);
	assert_int_equal(fake_get(&guest, VCPU_EFER),
			 EFER_LME | EFER_LMA | EFER_NXE);

	/* Paging off (protected mode): LME may be set, LMA not forged. */
	fake_guest_flat32(&guest);
	wrmsr_ok(MSR_EFER, EFER_LME | EFER_LMA);
	assert_int_equal(fake_get(&guest, VCPU_EFER), EFER_LME);
	wrmsr_ok(MSR_EFER, 0);
	assert_int_equal(fake_get(&guest, VCPU_EFER), 0);

	/* Paging on without long mode (32-bit paging): LME cannot be set. */
	fake_set(&guest, VCPU_CR0, CR0_PE | CR0_PG);
	assert_wrmsr_gp(MSR_EFER, EFER_LME);
	wrmsr_ok(MSR_EFER, EFER_NXE);
	assert_int_equal(fake_get(&guest, VCPU_EFER), EFER_NXE);
}

static void test_pat(void **state)
{
	(void)state;
	/* Types 0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC- (SDM Vol. 3A 13.12.2). */
	wrmsr_ok(MSR_IA32_PAT, 0x0007040600070406ull);
	assert_int_equal(fake_get(&guest, VCPU_PAT), 0x0007040600070406ull);
	wrmsr_ok(MSR_IA32_PAT, 0x0705040106050100ull);
	assert_int_equal(rdmsr_ok(MSR_IA32_PAT), 0x0705040106050100ull);
	/* Reserved types 2, 3 and anything above 7 in any entry: #GP. */
	for (int entry = 0; entry < 8; entry++) {
		assert_wrmsr_gp(MSR_IA32_PAT, 2ull << (entry * 8));
		assert_wrmsr_gp(MSR_IA32_PAT, 3ull << (entry * 8));
		assert_wrmsr_gp(MSR_IA32_PAT, 8ull << (entry * 8));
		assert_wrmsr_gp(MSR_IA32_PAT, 0x86ull << (entry * 8));
	}
	assert_int_equal(fake_get(&guest, VCPU_PAT), 0x0705040106050100ull);
}

static void test_guest_tsc(void **state)
{
	(void)state;
	/* The clock is frozen at fake_host_tsc with offset 0 (fake_vcpu.h). */
	guest.vm.tsc_offset = 0x100;
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), fake_host_tsc + 0x100);
	wrmsr_ok(MSR_IA32_TSC, 0x123456789abcull);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), 0x123456789abcull);
	assert_int_equal(guest.vm.tsc_offset,
			 0x123456789abcull - guest.vm.frozen_host_tsc);
	/* Back in time is allowed (the offset wraps). */
	wrmsr_ok(MSR_IA32_TSC, 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), 0);
	assert_no_field_written();
}

static void test_mtrr_def_type(void **state)
{
	(void)state;
	assert_int_equal(rdmsr_ok(MSR_IA32_MTRR_DEF_TYPE), 0xc06);
	wrmsr_ok(MSR_IA32_MTRR_DEF_TYPE, 0x800);
	assert_int_equal(rdmsr_ok(MSR_IA32_MTRR_DEF_TYPE), 0x800);
	/* Bits 9:8 and 63:12 are reserved (SDM Vol. 3A 12.11.2.1). */
	assert_wrmsr_gp(MSR_IA32_MTRR_DEF_TYPE, 0x100);
	assert_wrmsr_gp(MSR_IA32_MTRR_DEF_TYPE, 0x1000);
	assert_wrmsr_gp(MSR_IA32_MTRR_DEF_TYPE, BIT(40) | 6);
	assert_int_equal(guest.vm.msr_mtrr_def_type, 0x800);
}

static void test_tsc_aux(void **state)
{
	(void)state;
	assert_int_equal(rdmsr_ok(MSR_TSC_AUX), 0);
	wrmsr_ok(MSR_TSC_AUX, 0xfeedbeef);
	assert_int_equal(rdmsr_ok(MSR_TSC_AUX), 0xfeedbeef);
	/* Bits 63:32 are reserved. */
	assert_wrmsr_gp(MSR_TSC_AUX, BIT(32));
	assert_int_equal(rdmsr_ok(MSR_TSC_AUX), 0xfeedbeef);
}

static void test_platform_msrs_are_the_platforms(void **state)
{
	static const u32 lapic[] = {MSR_IA32_APIC_BASE, MSR_IA32_TSC_DEADLINE,
				    MSR_X2APIC_FIRST, 0x80b, MSR_X2APIC_LAST};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(lapic); i++) {
		plat.read_as = 0xfee00900ull | ((u64)i << 40);
		assert_int_equal(rdmsr_ok(lapic[i]), plat.read_as);
		assert_int_equal(plat.msr, lapic[i]);
		wrmsr_ok(lapic[i], 0x0123456789abcdefull);
		assert_int_equal(plat.msr, lapic[i]);
		assert_int_equal(plat.value, 0x0123456789abcdefull);
	}
	assert_int_equal(plat.reads, ARRAY_SIZE(lapic));
	assert_int_equal(plat.writes, ARRAY_SIZE(lapic));
	/* What the platform refuses is a #GP. */
	plat.result = -1;
	assert_rdmsr_gp(MSR_IA32_APIC_BASE);
	assert_wrmsr_gp(0x830, 0);
	assert_no_field_written();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unknown_msrs_give_gp, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_read_only_msrs_give_gp_on_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fixed_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_msrs_reach_the_backend,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_efer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_efer_long_mode_bits, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_tsc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mtrr_def_type, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tsc_aux, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_platform_msrs_are_the_platforms, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
