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
#include "core/guestcpu.h"
#include "core/handlers.h"
#include "core/platform.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

#define MSR_IA32_PLATFORM_ID	0x17
#define MSR_IA32_MCG_CAP	0x179
#define MSR_IA32_MCG_STATUS	0x17a
#define MSR_AMD_INT_PENDING_MSG 0xc0010055

static struct fake_guest guest;

/*
 * The CPU the guest sees (core/guestcpu.c reads the host's CPUID): each
 * test picks one. The default is an Intel-like CPU with every optional
 * feature the MSRs look at.
 */
static struct guestcpu_facts cpu;

void guestcpu_facts(struct guestcpu_facts *f)
{
	*f = cpu;
}

static const struct guestcpu_facts intel_cpu = {.amd = false,
						.max_basic_leaf = 0x16,
						.tsc_adjust = true,
						.xtpr = true,
						.nx = true};
static const struct guestcpu_facts amd_cpu = {
    .amd = true, .max_basic_leaf = 0xd, .tsc_adjust = false, .nx = true};

/* ---- the platform's MSRs: a stand-in (core/platform.c links the LAPIC) */

static struct {
	u32 reads, writes;
	u32 msr;
	u64 value;   /* last written */
	u64 read_as; /* what reads return */
	int result;  /* 0 or -1 (refused) */
} plat;

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
	cpu = intel_cpu;
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
	assert_int_equal(rdmsr_ok(MSR_AMD_INT_PENDING_MSG), 0);
	/* Writes accepted and dropped. */
	wrmsr_ok(MSR_IA32_BIOS_SIGN_ID, 0x1234567800000000ull);
	wrmsr_ok(MSR_IA32_MCG_STATUS, 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_BIOS_SIGN_ID), 0);
	assert_no_field_written();
}

/* ---- IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3) */

static void test_tsc_adjust_moves_the_tsc(void **state)
{
	u64 start;

	(void)state;
	/* The clock is frozen (fake_vcpu.h): the TSC moves only by writes. */
	start = rdmsr_ok(MSR_IA32_TSC);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_ADJUST), 0);
	wrmsr_ok(MSR_IA32_TSC_ADJUST, 1000);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_ADJUST), 1000);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), start + 1000);
	/* Back by the difference: a signed value, below zero. */
	wrmsr_ok(MSR_IA32_TSC_ADJUST, (u64)-500);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_ADJUST), (u64)-500);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), start - 500);
	assert_int_equal(guest.vm.msr_tsc_adjust, (u64)-500);
	assert_no_field_written();
}

static void test_tsc_write_moves_tsc_adjust(void **state)
{
	u64 start;

	(void)state;
	start = rdmsr_ok(MSR_IA32_TSC);
	wrmsr_ok(MSR_IA32_TSC, start + 0x10000);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_ADJUST), 0x10000);
	wrmsr_ok(MSR_IA32_TSC, start - 0x30);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC_ADJUST), (u64)-0x30);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), start - 0x30);
	/* And undone through TSC_ADJUST: the TSC is where it began. */
	wrmsr_ok(MSR_IA32_TSC_ADJUST, 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), start);
}

/*
 * A TSC moved by one vCPU wakes the guest's others (their lean path keeps
 * the offset and deadline of their last entry, core/vcpu.c): each looks
 * again, the writer itself needs no wake-up.
 */
static void test_tsc_move_wakes_the_other_vcpus(void **state)
{
	struct vcpu other[2];
	u64 start;

	(void)state;
	memset(other, 0, sizeof(other));
	for (u32 i = 0; i < 2; i++) {
		other[i].vm = &guest.vm;
		other[i].index = i + 1;
		other[i].events_quiet = true;
		guest.vm.vcpus[i + 1] = &other[i];
	}
	guest.vm.vcpu_count = 3;
	guest.vcpu.events_quiet = true;
	start = rdmsr_ok(MSR_IA32_TSC);
	assert_true(other[0].events_quiet && other[1].events_quiet);
	wrmsr_ok(MSR_IA32_TSC, start + 0x100);
	for (u32 i = 0; i < 2; i++) {
		assert_false(other[i].events_quiet);
		assert_int_equal(other[i].wakeups, 1);
	}
	assert_int_equal(guest.vcpu.wakeups, 0);
	other[0].events_quiet = other[1].events_quiet = true;
	wrmsr_ok(MSR_IA32_TSC_ADJUST, 5);
	assert_false(other[0].events_quiet || other[1].events_quiet);
	assert_int_equal(other[1].wakeups, 2);
	assert_int_equal(guest.vcpu.wakeups, 0);
	guest.vm.vcpu_count = 1;
	guest.vm.vcpus[1] = guest.vm.vcpus[2] = NULL;
}

/* The clock runs on between the read and the write it makes. */
static void test_tsc_adjust_with_a_running_clock(void **state)
{
	u64 before, after;

	(void)state;
	guest.vm.clock_frozen = false;
	fake_host_tsc_step = 7;
	before = rdmsr_ok(MSR_IA32_TSC);
	wrmsr_ok(MSR_IA32_TSC_ADJUST, 1u << 20);
	after = rdmsr_ok(MSR_IA32_TSC);
	/* Moved by 2^20 plus the few steps the reads took, never less. */
	assert_true(after - before >= (1u << 20));
	assert_true(after - before < (1u << 20) + 64);
}

static void test_tsc_adjust_needs_the_cpuid_bit(void **state)
{
	(void)state;
	cpu.tsc_adjust = false;
	assert_rdmsr_gp(MSR_IA32_TSC_ADJUST);
	assert_wrmsr_gp(MSR_IA32_TSC_ADJUST, 0);
	/* IA32_TSC itself still works. */
	wrmsr_ok(MSR_IA32_TSC, 5);
	assert_int_equal(rdmsr_ok(MSR_IA32_TSC), 5);
}

/* ---- IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2) */

static void test_misc_enable_power_on(void **state)
{
	(void)state;
	/* Fast strings, automatic thermal control, BTS and PEBS unavailable,
	 * no performance monitoring. */
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1809);
}

static void test_misc_enable_keeps_writable_bits(void **state)
{
	(void)state;
	/* Read-modify-write as kernels do: clear fast strings, set xTPR
	 * disable and limit CPUID. */
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0x1809 & ~1ull);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1808);
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0x1808 | BIT(22) | BIT(23));
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE),
			 0x1808 | BIT(22) | BIT(23));
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0x1801);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1801);
	/* Read-only bits keep their value whatever is written. */
	wrmsr_ok(MSR_IA32_MISC_ENABLE, BIT(7) | 1);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1801);
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1800);
}

static void test_misc_enable_reserved_bits_give_gp(void **state)
{
	static const u64 reserved[] = {
	    BIT(1),  BIT(2),  BIT(6),  BIT(8),	BIT(13), BIT(16), BIT(17),
	    BIT(18), BIT(19), BIT(24), BIT(33), BIT(35), BIT(63)};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(reserved); i++)
		assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0x1809 | reserved[i]);
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1809);
	/* Bits that exist only with their CPUID feature. */
	cpu.xtpr = false;
	cpu.nx = false;
	cpu.max_basic_leaf = 2;
	assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0x1809 | BIT(22));
	assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0x1809 | BIT(23));
	assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0x1809 | BIT(34));
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1809);
}

/* XD disable takes NX away: EFER.NXE is then reserved, and it cannot be
 * set under a guest whose EFER.NXE is on. */
static void test_misc_enable_xd_disable(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0x1809 | BIT(34));
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1809 | BIT(34));
	assert_wrmsr_gp(MSR_EFER, EFER_NXE);
	wrmsr_ok(MSR_EFER, EFER_SCE);
	wrmsr_ok(MSR_IA32_MISC_ENABLE, 0x1809);
	wrmsr_ok(MSR_EFER, EFER_SCE | EFER_NXE);
	assert_int_equal(fake_get(&guest, VCPU_EFER), EFER_SCE | EFER_NXE);
	assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0x1809 | BIT(34));
	assert_int_equal(rdmsr_ok(MSR_IA32_MISC_ENABLE), 0x1809);
}

/* AMD CPUs have no IA32_MISC_ENABLE. */
static void test_misc_enable_not_on_amd(void **state)
{
	(void)state;
	cpu = amd_cpu;
	assert_rdmsr_gp(MSR_IA32_MISC_ENABLE);
	assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0x1809);
	assert_wrmsr_gp(MSR_IA32_MISC_ENABLE, 0);
}

/* ---- AMD's legacy performance counters (APM Vol. 2 13.2.1) */

#define AMD_PERF_CTL0 0xc0010000
#define AMD_PERF_CTR0 0xc0010004

static void test_amd_perf_counters_never_count(void **state)
{
	(void)state;
	cpu = amd_cpu;
	for (u32 i = 0; i < 4; i++) {
		/* EN | INT | OS | USR, event 0x76 (cycles), counter mask 1,
		 * event select high nibble and host-only. */
		u64 ctl = BIT(22) | BIT(20) | BIT(17) | BIT(16) | 0x76 |
			  (1ull << 24) | (0xfull << 32) | BIT(41) | i;

		assert_int_equal(rdmsr_ok(AMD_PERF_CTL0 + i), 0);
		assert_int_equal(rdmsr_ok(AMD_PERF_CTR0 + i), 0);
		wrmsr_ok(AMD_PERF_CTL0 + i, ctl);
		wrmsr_ok(AMD_PERF_CTR0 + i, 0xabcd);
		assert_int_equal(rdmsr_ok(AMD_PERF_CTL0 + i), ctl);
		/* A counter that never counts: always 0. */
		assert_int_equal(rdmsr_ok(AMD_PERF_CTR0 + i), 0);
		wrmsr_ok(AMD_PERF_CTR0 + i, 0xffffffffffffull);
		assert_int_equal(rdmsr_ok(AMD_PERF_CTR0 + i), 0);
	}
	/* Each CTL is its own. */
	wrmsr_ok(AMD_PERF_CTL0 + 2, 0x4300c0);
	assert_int_equal(rdmsr_ok(AMD_PERF_CTL0 + 2), 0x4300c0);
	assert_int_equal(rdmsr_ok(AMD_PERF_CTL0 + 1) & 0xff, 0x77);
	assert_no_field_written();
}

static void test_amd_perf_ctl_reserved_bits_give_gp(void **state)
{
	static const u64 reserved[] = {BIT(19), BIT(21), BIT(36),
				       BIT(39), BIT(42), BIT(63)};

	(void)state;
	cpu = amd_cpu;
	wrmsr_ok(AMD_PERF_CTL0, 0x76);
	for (u32 i = 0; i < ARRAY_SIZE(reserved); i++)
		assert_wrmsr_gp(AMD_PERF_CTL0 + 3, 0x76 | reserved[i]);
	assert_int_equal(rdmsr_ok(AMD_PERF_CTL0 + 3), 0);
	/* The neighbours of the range are not counters. */
	assert_rdmsr_gp(AMD_PERF_CTL0 - 1);
	assert_rdmsr_gp(AMD_PERF_CTR0 + 4);
}

/* Intel CPUs have none of them: #GP, as hardware gives. */
static void test_amd_perf_counters_not_on_intel(void **state)
{
	(void)state;
	for (u32 i = 0; i < 8; i++) {
		assert_rdmsr_gp(AMD_PERF_CTL0 + i);
		assert_wrmsr_gp(AMD_PERF_CTL0 + i, 0);
	}
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
	    cmocka_unit_test_setup_teardown(test_tsc_adjust_moves_the_tsc,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tsc_write_moves_tsc_adjust,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_tsc_adjust_with_a_running_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tsc_move_wakes_the_other_vcpus,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tsc_adjust_needs_the_cpuid_bit,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_misc_enable_power_on, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_misc_enable_keeps_writable_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_misc_enable_reserved_bits_give_gp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_misc_enable_xd_disable, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_misc_enable_not_on_amd, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_amd_perf_counters_never_count,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_amd_perf_ctl_reserved_bits_give_gp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_amd_perf_counters_not_on_intel,
					    setup, teardown),
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
