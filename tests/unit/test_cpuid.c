/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/cpuid.c: the CPUID filter a guest sees, driven
 * through the fake backend. The expected values are computed here from the
 * host's own CPUID, so the tests hold on any host CPU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "core/handlers.h"
#include "core/hypercall.h"
#include "core/platform.h"
#include "arch/x86/cpu.h"

/* The bits the filter must take away (core/cpuid.c, SDM Vol. 2A CPUID). */
#define L1_ECX_MONITOR BIT(3)
#define L1_ECX_VMX     BIT(5)
#define L1_ECX_SMX     BIT(6)
#define L1_ECX_OSXSAVE BIT(27)
#define L1_ECX_HV      BIT(31)
#define L1_ECX_HIDDEN  (BIT(2) | BIT(4) | BIT(7) | BIT(8) | BIT(15))
#define L1_EDX_HIDDEN  (BIT(21) | BIT(22) | BIT(29) | BIT(31))
#define L7_EBX_AVX512F BIT(16)
#define L7_EBX_HIDDEN                                                          \
	(BIT(14) | BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | \
	 BIT(30) | BIT(31))
#define L7_ECX_HIDDEN                                                          \
	(BIT(1) | BIT(3) | BIT(4) | BIT(6) | BIT(11) | BIT(12) | BIT(14))
#define L7_EDX_HIDDEN                                                          \
	(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25))
#define XSAVE_LEGACY_SIZE 576

#define L1_EDX_APIC  BIT(9)
#define EXT_EDX_APIC BIT(9)

static struct fake_guest guest;

/* ---- the platform: only whether the local APIC is enabled ---- */

static struct platform platform;
static bool apic_enabled;

bool platform_apic_enabled(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return apic_enabled;
}

static int setup(void **state)
{
	(void)state;
	fake_guest_init(&guest, 0);
	guest.vm.platform = &platform;
	apic_enabled = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

/*
 * Ask the handler for leaf/subleaf with junk in the upper register halves
 * (which the instruction ignores and the result must clear).
 */
static struct cpuid_regs guest_cpuid(u32 leaf, u32 subleaf)
{
	struct exit_event ev = fake_exit(EXIT_CPUID, 2);
	u64 *g = guest.vcpu.regs.gpr;
	u64 rip = fake_get(&guest, VCPU_RIP);

	g[GPR_RAX] = 0xdead000000000000ull | leaf;
	g[GPR_RCX] = 0xbeef000000000000ull | subleaf;
	g[GPR_RBX] = 0xffffffffffffffffull;
	g[GPR_RDX] = 0xffffffffffffffffull;
	g[GPR_RSI] = 0x5151;
	assert_int_equal(handle_cpuid(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	for (int r = GPR_RAX; r <= GPR_RBX; r++)
		assert_int_equal(g[r] >> 32, 0);
	assert_int_equal(g[GPR_RSI], 0x5151);
	/* The handler completes nothing itself: the loop skips. */
	assert_int_equal(fake_get(&guest, VCPU_RIP), rip);
	assert_false(guest.vcpu.entry.inject);
	return (struct cpuid_regs){(u32)g[GPR_RAX], (u32)g[GPR_RBX],
				   (u32)g[GPR_RCX], (u32)g[GPR_RDX]};
}

static void test_hypervisor_leaves(void **state)
{
	struct cpuid_regs r;

	(void)state;
	r = guest_cpuid(0x40000000, 0);
	assert_int_equal(r.eax, 0x40000001);
	assert_int_equal(r.ebx, 0x454e4556);
	assert_int_equal(r.ecx, 0x45565245);
	assert_int_equal(r.edx, 0x5245454e);
	r = guest_cpuid(0x40000001, 0);
	assert_int_equal(r.eax, HC_ABI_VERSION);
	assert_int_equal(r.ebx | r.ecx | r.edx, 0);
	/* The rest of the range is Veneer's and empty: never the host's. */
	for (u32 leaf = 0x40000002; leaf <= 0x400000ff; leaf += 0x3d) {
		r = guest_cpuid(leaf, 0);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	r = guest_cpuid(0x400000ff, 0);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
}

static void test_leaf1_filter(void **state)
{
	struct cpuid_regs host = cpuid(1);
	struct cpuid_regs r;
	/* x2APIC (bit 21) and TSC-deadline (bit 24) are the virtual local
	 * APIC's, offered whatever the host has. */
	u32 offered = (1u << 21) | (1u << 24);
	u32 ecx_kept =
	    (u32) ~(L1_ECX_MONITOR | L1_ECX_VMX | L1_ECX_SMX | L1_ECX_OSXSAVE |
		    L1_ECX_HV | L1_ECX_HIDDEN | offered);

	(void)state;
	r = guest_cpuid(1, 0);
	assert_int_equal(r.eax, host.eax);
	assert_int_equal(r.ebx & 0x00ffffff, host.ebx & 0x00ffffff);
	assert_int_equal(r.ebx >> 24, 0); /* initial APIC ID = vCPU 0 */
	assert_int_equal(r.ecx & ecx_kept, host.ecx & ecx_kept);
	assert_int_equal(
	    r.ecx & (L1_ECX_MONITOR | L1_ECX_VMX | L1_ECX_SMX | L1_ECX_HIDDEN),
	    0);
	assert_int_equal(r.ecx & L1_ECX_HV, L1_ECX_HV);
	assert_int_equal(r.ecx & offered, offered);
	/* The guest's CR4.OSXSAVE is 0: so is the bit, whatever the host's. */
	assert_int_equal(r.ecx & L1_ECX_OSXSAVE, 0);
	assert_int_equal(r.edx, host.edx & ~(u32)L1_EDX_HIDDEN);
}

static void test_leaf1_follows_the_vcpu(void **state)
{
	struct cpuid_regs r;

	(void)state;
	fake_set(&guest, VCPU_CR4, CR4_OSXSAVE | CR4_PAE);
	guest.vcpu.index = 3;
	/* The host's CR4 says nothing about the guest's. */
	fake_host_cr4 = 0;
	r = guest_cpuid(1, 0);
	assert_int_equal(r.ecx & L1_ECX_OSXSAVE, L1_ECX_OSXSAVE);
	assert_int_equal(r.ebx >> 24, 3);
}

/*
 * CPUID.1:EDX.APIC, and AMD's alias in CPUID.80000001H:EDX[9], follow
 * IA32_APIC_BASE.EN: clear while the guest's APIC is globally disabled
 * (SDM Vol. 3A 11.4.3), the host's value again once it is enabled.
 */
static void test_apic_bit_follows_apic_base_enable(void **state)
{
	struct cpuid_regs host1 = cpuid(1);
	struct cpuid_regs host_ext = cpuid(CPUID_LEAF_EXT_FEATURES);
	struct cpuid_regs r;

	(void)state;
	apic_enabled = false;
	r = guest_cpuid(1, 0);
	assert_int_equal(r.edx & L1_EDX_APIC, 0);
	assert_int_equal(r.edx,
			 host1.edx & ~(u32)(L1_EDX_HIDDEN | L1_EDX_APIC));
	r = guest_cpuid(CPUID_LEAF_EXT_FEATURES, 0);
	assert_int_equal(r.edx, host_ext.edx & ~(u32)EXT_EDX_APIC);
	apic_enabled = true;
	r = guest_cpuid(1, 0);
	assert_int_equal(r.edx & L1_EDX_APIC, host1.edx & L1_EDX_APIC);
	r = guest_cpuid(CPUID_LEAF_EXT_FEATURES, 0);
	assert_int_equal(r.edx, host_ext.edx);
}

static void test_power_and_perfmon_leaves(void **state)
{
	struct cpuid_regs r;

	(void)state;
	r = guest_cpuid(6, 0);
	assert_int_equal(r.eax, BIT(2)); /* ARAT only */
	assert_int_equal(r.ebx | r.ecx | r.edx, 0);
	r = guest_cpuid(0xa, 0);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
}

static void test_leaf7_filter(void **state)
{
	struct cpuid_regs host = cpuid_count(7, 0);
	struct cpuid_regs host1 = cpuid_count(7, 1);
	struct cpuid_regs r;

	(void)state;
	r = guest_cpuid(7, 0);
	assert_int_equal(r.eax, host.eax);
	assert_int_equal(r.ebx, host.ebx & ~(u32)L7_EBX_HIDDEN);
	assert_int_equal(r.ecx, host.ecx & ~(u32)L7_ECX_HIDDEN);
	assert_int_equal(r.edx, host.edx & ~(u32)L7_EDX_HIDDEN);
	assert_int_equal(r.ebx & L7_EBX_AVX512F, 0);
	/* Subleaf 1 is passed through as it is. */
	r = guest_cpuid(7, 1);
	assert_memory_equal(&r, &host1, sizeof(r));
}

static void test_extended_leaves(void **state)
{
	struct cpuid_regs host = cpuid(CPUID_LEAF_EXT_FEATURES);
	struct cpuid_regs r;

	(void)state;
	r = guest_cpuid(CPUID_LEAF_EXT_FEATURES, 0);
	assert_int_equal(r.eax, host.eax);
	assert_int_equal(r.ebx, host.ebx);
	/* SVM and MONITORX (bit 29, intercepted and #UD) are hidden. */
	assert_int_equal(
	    r.ecx, host.ecx & ~((u32)CPUID_EXT_FEATURES_ECX_SVM | BIT(29)));
	assert_int_equal(r.edx, host.edx);
	r = guest_cpuid(CPUID_LEAF_SVM, 0);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
}

static void test_other_leaves_pass_through(void **state)
{
	/* (Not 0xb / 0x1f: their EDX depends on the host CPU we run on.) */
	static const u32 leaves[] = {0, 2, 0x80000000, 0x80000008, 0x40000100};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(leaves); i++) {
		struct cpuid_regs host = cpuid_count(leaves[i], 0);
		struct cpuid_regs r = guest_cpuid(leaves[i], 0);

		assert_memory_equal(&r, &host, sizeof(r));
	}
}

/*
 * The x2APIC topology leaves (0xb, 0x1f) report in EDX the x2APIC ID of the
 * processor executing CPUID (SDM Vol. 2A CPUID, leaf 0BH): for a guest that
 * is its own APIC ID, the vCPU index leaf 1 EBX[31:24] reports, not the ID of
 * the host CPU the vCPU happens to run on.
 */
static void test_topology_leaves_report_the_vcpu_apic_id(void **state)
{
	struct cpuid_regs r;

	(void)state;
	if (cpuid(0).eax < 0xb || cpuid_count(0xb, 0).ebx == 0)
		skip(); /* no leaf 0xb on this host */
	/* An index other than the x2APIC ID of the host CPU we are on. */
	guest.vcpu.index = (cpuid_count(0xb, 0).edx + 1) & 0x7f;
	r = guest_cpuid(0xb, 0);
	assert_int_equal(r.edx, guest.vcpu.index);
	assert_int_equal(guest_cpuid(1, 0).ebx >> 24, guest.vcpu.index);
}

/*
 * Issue 11: every vCPU of a guest reads one synchronized, constant-rate
 * TSC, and CPUID says so (invariant TSC, 80000007H:EDX[8]), whatever the
 * host reports; the leaf's other bits are the host's.
 */
static void test_invariant_tsc_is_offered(void **state)
{
	struct cpuid_regs host, r;

	(void)state;
	if (cpuid(0x80000000u).eax < 0x80000007u)
		skip(); /* no such leaf on this host */
	host = cpuid_count(0x80000007u, 0);
	r = guest_cpuid(0x80000007u, 0);
	assert_true(r.edx & (1u << 8));
	assert_int_equal(r.edx & ~(1u << 8), host.edx & ~(1u << 8));
}

/* Offered XCR0: x87, SSE and AVX as far as the host has them. */
static u64 offered_xcr0(void)
{
	struct cpuid_regs h = cpuid_count(0xd, 0);

	return (((u64)h.edx << 32) | h.eax) & (XCR0_X87 | XCR0_SSE | XCR0_AVX);
}

static u32 xsave_size_of(u64 xcr0)
{
	u32 size = XSAVE_LEGACY_SIZE;

	for (u32 i = 2; i < 64; i++) {
		struct cpuid_regs c;

		if (!(xcr0 & BIT(i)))
			continue;
		c = cpuid_count(0xd, i);
		size = MAX(size, c.eax + c.ebx);
	}
	return size;
}

static void test_xsave_leaf(void **state)
{
	u64 mask = offered_xcr0();
	struct cpuid_regs r;

	(void)state;
	if (!(cpuid(1).ecx & BIT(26)))
		skip(); /* no XSAVE on this host: leaf 0xd is not there */
	assert_int_equal(guest_xcr0_mask(), mask);
	/* CR4.OSXSAVE clear in force: only x87 state, the legacy area. */
	fake_host_cr4 = 0;
	r = guest_cpuid(0xd, 0);
	assert_int_equal(r.eax, (u32)mask);
	assert_int_equal(r.edx, (u32)(mask >> 32));
	assert_int_equal(r.ebx, XSAVE_LEGACY_SIZE);
	assert_int_equal(r.ecx, xsave_size_of(mask));

	/* Subleaf 1: no compacted format, no IA32_XSS. */
	r = guest_cpuid(0xd, 1);
	assert_int_equal(r.eax,
			 cpuid_count(0xd, 1).eax & ~(u32)(BIT(1) | BIT(3)));
	assert_int_equal(r.ebx | r.ecx | r.edx, 0);

	/* Components not offered (AVX-512: 5-7, PKRU: 9) read as absent. */
	for (u32 i = 3; i < 64; i++) {
		r = guest_cpuid(0xd, i);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	if (mask & XCR0_AVX) {
		struct cpuid_regs host = cpuid_count(0xd, 2);

		r = guest_cpuid(0xd, 2);
		assert_memory_equal(&r, &host, sizeof(r));
	}
}

/* XGETBV is allowed at CPL 3 when the OS set CR4.OSXSAVE. */
static u64 host_xcr0(void)
{
	u32 lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

static void test_xsave_size_follows_xcr0_in_force(void **state)
{
	struct cpuid_regs r;

	(void)state;
	if (!(cpuid(1).ecx & BIT(27)))
		skip(); /* the host OS has not enabled XSAVE */
	fake_host_cr4 = CR4_OSXSAVE;
	/* Core reads XCR0 through xgetbv(), which the fake answers. */
	fake_host_xcr0 = host_xcr0();
	r = guest_cpuid(0xd, 0);
	assert_int_equal(r.ebx, xsave_size_of(host_xcr0()));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hypervisor_leaves, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_leaf1_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leaf1_follows_the_vcpu, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_apic_bit_follows_apic_base_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_and_perfmon_leaves,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leaf7_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extended_leaves, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_other_leaves_pass_through,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_topology_leaves_report_the_vcpu_apic_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invariant_tsc_is_offered,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_xsave_leaf, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_xsave_size_follows_xcr0_in_force, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
