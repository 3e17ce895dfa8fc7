/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/kvmpv.c, the KVM-compatible interface, through the
 * CPUID and MSR exit handlers and the fake backend: the leaves, kvm-clock
 * and the wall clock written into guest RAM, the #GP cases, and the clock
 * across TSC moves and hidden exit time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_pveoi.h"
#include "tests/unit/fake_vcpu.h"
#include "core/guestcpu.h"
#include "core/handlers.h"
#include "core/kvmpv.h"
#include "core/platform.h"
#include "core/pvclock.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

#define RAM_SIZE    MiB(1)
#define TSC_HZ	    2500000000ull
#define TSC_BASE    7777777ull /* the guest TSC when the platform started */
#define RTC_EPOCH   1700000000ull
#define TIME_AT	    0x2000ull /* where the guest puts its time structure */
#define WALL_AT	    0x3000ull
#define EOI_AT	    0x4004ull /* the guest's PV EOI word */
#define STEAL_AT    0x5040ull /* its steal time structure */
#define L1_X2APIC   BIT(21)
#define L1_DEADLINE BIT(24)

static struct fake_guest guest;
static struct platform platform;

/* ---- what msr.c and cpuid.c ask of the rest */

void guestcpu_facts(struct guestcpu_facts *f)
{
	*f = (struct guestcpu_facts){.max_basic_leaf = 0x16,
				     .tsc_adjust = true,
				     .xtpr = true,
				     .nx = true};
}

int platform_msr_read(struct platform *p, struct vcpu *vcpu, u32 msr,
		      u64 *value)
{
	(void)p, (void)vcpu, (void)msr, (void)value;
	fail();
	return -1;
}

int platform_msr_write(struct platform *p, struct vcpu *vcpu, u32 msr,
		       u64 value)
{
	(void)p, (void)vcpu, (void)msr, (void)value;
	fail();
	return -1;
}

bool platform_apic_enabled(struct platform *p, struct vcpu *vcpu)
{
	(void)p, (void)vcpu;
	return true;
}

static int setup_pv(bool on)
{
	fake_guest_init(&guest, RAM_SIZE);
	memset(&platform, 0, sizeof(platform));
	platform.vm = &guest.vm;
	platform.tsc_hz = TSC_HZ;
	platform.tsc_base = TSC_BASE;
	vrtc_init(&platform.rtc, RTC_EPOCH, NULL, NULL);
	guest.vm.platform = &platform;
	guest.vm.kvm_pv = on;
	fake_pveoi = (struct fake_pveoi){.isr_top = -1};
	/* The guest TSC now: TSC_BASE + 3 s. */
	guest.vm.tsc_offset = TSC_BASE + 3 * TSC_HZ - fake_host_tsc;
	return 0;
}

static int setup_on(void **state)
{
	(void)state;
	return setup_pv(true);
}

static int setup_off(void **state)
{
	(void)state;
	return setup_pv(false);
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

/* ---- exits */

static struct cpuid_regs cpuid_exit(u32 leaf)
{
	struct exit_event ev = fake_exit(EXIT_CPUID, 2);
	u64 *g = guest.vcpu.regs.gpr;

	g[GPR_RAX] = leaf;
	g[GPR_RCX] = 0;
	assert_int_equal(handle_cpuid(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	return (struct cpuid_regs){(u32)g[GPR_RAX], (u32)g[GPR_RBX],
				   (u32)g[GPR_RCX], (u32)g[GPR_RDX]};
}

static enum exit_action msr_exit(bool write, u32 index, u64 value)
{
	struct exit_event ev =
	    fake_exit(write ? EXIT_MSR_WRITE : EXIT_MSR_READ, 2);
	u64 *g = guest.vcpu.regs.gpr;

	ev.msr.index = index;
	g[GPR_RCX] = index;
	g[GPR_RAX] = (u32)value;
	g[GPR_RDX] = value >> 32;
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	return write ? handle_msr_write(&guest.vcpu, &ev)
		     : handle_msr_read(&guest.vcpu, &ev);
}

static void assert_gp(void)
{
	assert_true(guest.vcpu.entry.inject);
	assert_int_equal(guest.vcpu.entry.event.vector, X86_VECTOR_GP);
	assert_int_equal(guest.vcpu.entry.event.error_code, 0);
}

static void wrmsr_ok(u32 index, u64 value)
{
	assert_int_equal(msr_exit(true, index, value), EXIT_ACTION_SKIP);
	assert_false(guest.vcpu.entry.inject);
}

static u64 rdmsr_ok(u32 index)
{
	u64 *g = guest.vcpu.regs.gpr;

	assert_int_equal(msr_exit(false, index, 0), EXIT_ACTION_SKIP);
	assert_false(guest.vcpu.entry.inject);
	return ((u64)(u32)g[GPR_RDX] << 32) | (u32)g[GPR_RAX];
}

static void assert_msr_gp(u32 index, u64 value)
{
	assert_int_equal(msr_exit(false, index, 0), EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(msr_exit(true, index, value), EXIT_ACTION_RESUME);
	assert_gp();
}

static struct pvclock_vcpu_time *time_in_ram(void)
{
	return (struct pvclock_vcpu_time *)(guest.ram + TIME_AT);
}

static u64 guest_tsc(void)
{
	return vm_guest_tsc(&guest.vm);
}

/* What the guest reads from its time structure at its TSC now. */
static u64 kvmclock_now(void)
{
	const struct pvclock_vcpu_time *t = time_in_ram();
	struct pvclock_scale s = {t->tsc_to_system_mul, t->tsc_shift};

	assert_int_equal(t->version & 1, 0);
	return t->system_time +
	       pvclock_scale_delta(guest_tsc() - t->tsc_timestamp, s);
}

/* The guest's time passes (clock frozen in the fake: move it by hand). */
static void run_for(u64 ticks)
{
	guest.vm.frozen_host_tsc += ticks;
}

/* ---- tests */

static void test_x2apic_and_deadline_for_every_guest(void **state)
{
	(void)state;
	assert_true(cpuid_exit(1).ecx & L1_X2APIC);
	assert_true(cpuid_exit(1).ecx & L1_DEADLINE);
	guest.vm.kvm_pv = !guest.vm.kvm_pv;
	assert_true(cpuid_exit(1).ecx & L1_X2APIC);
	assert_true(cpuid_exit(1).ecx & L1_DEADLINE);
}

static void test_leaves_off(void **state)
{
	(void)state;
	for (u32 leaf = 0x40000100; leaf <= 0x4000ff00; leaf += 0x100) {
		struct cpuid_regs r = cpuid_exit(leaf);

		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
		r = cpuid_exit(leaf + 1);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	/* Veneer's own leaves do not change. */
	assert_int_equal(cpuid_exit(0x40000000).eax, 0x40000001);
	assert_int_equal(cpuid_exit(0x40000000).ebx, 0x454e4556);
}

static void test_leaves_on(void **state)
{
	struct cpuid_regs r;
	char sig[13] = {0};

	(void)state;
	r = cpuid_exit(0x40000100);
	assert_int_equal(r.eax, 0x40000110);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	r = cpuid_exit(0x40000101);
	/* CLOCKSOURCE2, STEAL_TIME, PV_EOI, PV_UNHALT, PV_TLB_FLUSH,
	 * PV_SEND_IPI, PV_SCHED_YIELD, STABLE; the hint REALTIME (CPUs of
	 * its own). */
	assert_int_equal(r.eax, BIT(3) | BIT(5) | BIT(6) | BIT(7) | BIT(9) |
				    BIT(11) | BIT(13) | BIT(24));
	assert_int_equal(r.ebx | r.ecx, 0);
	assert_int_equal(r.edx, BIT(0));
	/* A guest on shared CPUs may wait for its CPU: no hint. */
	guest.vm.shared_cpus = true;
	r = cpuid_exit(0x40000101);
	assert_int_equal(r.edx, 0);
	guest.vm.shared_cpus = false;
	/* The timing leaf: the guest TSC's kHz, rounded, and the APIC
	 * timer's. */
	r = cpuid_exit(0x40000110);
	assert_int_equal(r.eax, 2500000);
	assert_int_equal(r.ebx, 1000000);
	assert_int_equal(r.ecx | r.edx, 0);
	platform.tsc_hz = 1999999600; /* 1999999.6 kHz: to the nearest */
	assert_int_equal(cpuid_exit(0x40000110).eax, 2000000);
	platform.tsc_hz = 1999999400;
	assert_int_equal(cpuid_exit(0x40000110).eax, 1999999);
	platform.tsc_hz = TSC_HZ;
	for (u32 leaf = 0x40000102; leaf <= 0x400001ff; leaf++) {
		if (leaf == 0x40000110)
			continue;
		r = cpuid_exit(leaf);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	r = cpuid_exit(0x40000200);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	/* Veneer's own leaves stay where they are. */
	r = cpuid_exit(0x40000000);
	assert_int_equal(r.eax, 0x40000001);
	assert_int_equal(r.ebx, 0x454e4556);
}

/* Every KVM MSR outside the advertised features gives #GP. */
static void test_other_kvm_msrs_gp(void **state)
{
	(void)state;
	assert_msr_gp(0x11, TIME_AT | 1); /* the old kvm-clock pair */
	assert_msr_gp(0x12, TIME_AT | 1);
	for (u32 m = 0x4b564d02; m <= 0x4b564dff; m++)
		if (m != KVMPV_MSR_PV_EOI_EN && m != KVMPV_MSR_STEAL_TIME)
			assert_msr_gp(m, 0x4000 | 1);
	assert_int_equal(time_in_ram()->version, 0);
}

/*
 * Where the CPU may deliver the guest's interrupts (APICv, one vCPU:
 * platform_virt_possible) PV EOI is not advertised and its MSR gives #GP;
 * with two vCPUs, or a CPU without APICv, it is both.
 */
static void test_pv_eoi_withheld_where_the_cpu_delivers(void **state)
{
	(void)state;
	platform.vcpus = 1;
	assert_true(cpuid_exit(0x40000101).eax & KVMPV_FEATURE_PV_EOI);
	vcpu_caps.apic_virt = true;
	assert_false(cpuid_exit(0x40000101).eax & KVMPV_FEATURE_PV_EOI);
	assert_msr_gp(KVMPV_MSR_PV_EOI_EN, 0x4000 | KVMPV_MSR_PV_EOI_ON);
	platform.vcpus = 2;
	assert_true(cpuid_exit(0x40000101).eax & KVMPV_FEATURE_PV_EOI);
	vcpu_caps.apic_virt = false;
}

static void test_kvm_msrs_gp_when_off(void **state)
{
	(void)state;
	for (u32 m = 0x4b564d00; m <= 0x4b564d08; m++)
		assert_msr_gp(m, TIME_AT | 1);
	assert_int_equal(time_in_ram()->version, 0);
}

static void test_system_time(void **state)
{
	struct pvclock_vcpu_time *t = time_in_ram();
	struct pvclock_scale s;
	u64 before, after;

	(void)state;
	assert_true(pvclock_scale_for(TSC_HZ, &s));
	assert_int_equal(rdmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW), 0);
	wrmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW, TIME_AT | 1);
	assert_int_equal(rdmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW), TIME_AT | 1);
	assert_int_equal(t->version, 2);
	assert_int_equal(t->tsc_timestamp, guest_tsc());
	/* 3 s since the platform started, in the devices' clock. */
	assert_int_equal(t->system_time, 3000000000ull);
	assert_int_equal(t->tsc_to_system_mul, s.mul);
	assert_int_equal(t->tsc_shift, s.shift);
	assert_int_equal(t->flags, PVCLOCK_FLAG_TSC_STABLE);
	/* It follows the guest's TSC: 0.5 s of ticks later, 3.5 s. */
	before = kvmclock_now();
	run_for(TSC_HZ / 2);
	after = kvmclock_now();
	assert_true(after - before >= 499999999 && after - before <= 500000001);
	/* Written once: nothing is rewritten while it just runs. */
	assert_int_equal(t->version, 2);
	/* Off: the structure stays as it was, and is no longer updated. */
	wrmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW, TIME_AT);
	wrmsr_ok(MSR_IA32_TSC, 5);
	assert_int_equal(t->version, 2);
}

/* An address not all in RAM, or misaligned: #GP, nothing written. */
static void test_system_time_refused(void **state)
{
	static const u64 bad[] = {
	    RAM_SIZE | 1,	  (RAM_SIZE - 16) | 1, (RAM_SIZE - 32) | 3,
	    TIME_AT | 3,	  (1ull << 63) | 1,    ~0ull,
	    (~0ull - 30) & ~2ull, GiB(4) | 1,
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(
		    msr_exit(true, KVMPV_MSR_SYSTEM_TIME_NEW, bad[i]),
		    EXIT_ACTION_RESUME);
		assert_gp();
		assert_int_equal(rdmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW), 0);
	}
	/* The last 32 bytes of RAM are fine. */
	wrmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW, (RAM_SIZE - 32) | 1);
	assert_int_equal(*(u32 *)(guest.ram + RAM_SIZE - 32), 2);
}

/*
 * The guest moves its TSC (IA32_TSC forward and back, IA32_TSC_ADJUST):
 * the structure is written afresh and kvm-clock goes on without a jump
 * back, following the devices' clock, which the move does not touch.
 */
static void test_tsc_moves(void **state)
{
	static const u64 to[] = {0, 1ull << 62, 12345, ~0ull - 1000};
	struct pvclock_vcpu_time *t = time_in_ram();
	u64 last;

	(void)state;
	wrmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW, TIME_AT | 1);
	last = kvmclock_now();
	for (u32 i = 0; i < ARRAY_SIZE(to); i++) {
		u32 version = t->version;
		u64 now;

		run_for(TSC_HZ / 1000);
		wrmsr_ok(MSR_IA32_TSC, to[i]);
		assert_int_equal(t->version, version + 2);
		assert_int_equal(t->tsc_timestamp, to[i]);
		now = kvmclock_now();
		assert_true(now >= last + 1000000 - 2 && now <= last + 1000002);
		last = now;
	}
	run_for(TSC_HZ);
	wrmsr_ok(MSR_IA32_TSC_ADJUST, 77);
	assert_true(kvmclock_now() >= last + 1000000000 - 2);
	assert_true(kvmclock_now() <= last + 1000000002);
}

/*
 * clock=virtual: from the exit to the entry the guest's TSC is frozen and
 * the offset moves back by the time Veneer took (core/vm.h). kvm-clock,
 * made of the guest's TSC, does not see the exit either.
 */
static void test_hidden_exit_time(void **state)
{
	u64 before;

	(void)state;
	wrmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW, TIME_AT | 1);
	before = kvmclock_now();
	/* An exit of 1 s of host time, hidden from the guest. */
	guest.vm.frozen_host_tsc += TSC_HZ;
	guest.vm.tsc_offset -= TSC_HZ;
	assert_int_equal(kvmclock_now(), before);
	/* And with clock=host: the same structure, the host TSC running. */
	guest.vm.clock_frozen = false;
	guest.vm.hide_exit_time = false;
	fake_host_tsc = guest.vm.frozen_host_tsc;
	fake_host_tsc_step = 0;
	assert_int_equal(kvmclock_now(), before);
	fake_host_tsc += TSC_HZ / 4;
	assert_true(kvmclock_now() - before >= 249999999 &&
		    kvmclock_now() - before <= 250000001);
}

static void test_wall_clock(void **state)
{
	struct pvclock_wall_clock *w =
	    (struct pvclock_wall_clock *)(guest.ram + WALL_AT);

	(void)state;
	run_for(TSC_HZ / 3); /* 3.33 s since the platform started */
	wrmsr_ok(KVMPV_MSR_WALL_CLOCK_NEW, WALL_AT);
	assert_int_equal(rdmsr_ok(KVMPV_MSR_WALL_CLOCK_NEW), WALL_AT);
	assert_int_equal(w->version, 2);
	assert_int_equal(w->sec, RTC_EPOCH); /* the RTC at kvm-clock 0 */
	assert_int_equal(w->nsec, 0);
	/* Written once per MSR write. */
	wrmsr_ok(KVMPV_MSR_WALL_CLOCK_NEW, WALL_AT);
	assert_int_equal(w->version, 4);
	/* Outside RAM, across its end, misaligned: #GP. */
	assert_int_equal(msr_exit(true, KVMPV_MSR_WALL_CLOCK_NEW, RAM_SIZE),
			 EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(msr_exit(true, KVMPV_MSR_WALL_CLOCK_NEW, RAM_SIZE - 8),
			 EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(msr_exit(true, KVMPV_MSR_WALL_CLOCK_NEW, WALL_AT + 2),
			 EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(rdmsr_ok(KVMPV_MSR_WALL_CLOCK_NEW), WALL_AT);
}

static void test_reset(void **state)
{
	(void)state;
	wrmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW, TIME_AT | 1);
	wrmsr_ok(KVMPV_MSR_WALL_CLOCK_NEW, WALL_AT);
	kvmpv_reset(&guest.vm.kvmpv);
	assert_int_equal(rdmsr_ok(KVMPV_MSR_SYSTEM_TIME_NEW), 0);
	assert_int_equal(rdmsr_ok(KVMPV_MSR_WALL_CLOCK_NEW), 0);
	/* A TSC move after the reset writes nothing into the (new) RAM. */
	memset(guest.ram, 0, RAM_SIZE);
	wrmsr_ok(MSR_IA32_TSC, 1);
	for (u64 i = 0; i < RAM_SIZE; i++)
		assert_int_equal(guest.ram[i], 0);
}

/* ---- PV EOI ---- */

static u32 *eoi_word(void)
{
	return (u32 *)(guest.ram + EOI_AT);
}

/* Interrupt `vector` injected: it is the highest in service now. */
static void inject(u8 vector)
{
	fake_pveoi.isr_top = vector;
	kvmpv_eoi_offer(&guest.vcpu, vector);
}

/*
 * The guest's handler clears bit 0 (and keeps its other bits), no exit;
 * at the next exit Veneer does the EOI for it, once.
 */
static void test_pv_eoi_taken(void **state)
{
	(void)state;
	*eoi_word() = 0xf0;
	wrmsr_ok(KVMPV_MSR_PV_EOI_EN, EOI_AT | 1);
	assert_int_equal(rdmsr_ok(KVMPV_MSR_PV_EOI_EN), EOI_AT | 1);
	inject(0x31);
	assert_int_equal(*eoi_word(), 0xf1);
	assert_true(kvmpv_eoi_offered(&guest.vm.kvmpv, 0));
	/* An exit before the handler ran: still the guest's. */
	assert_false(kvmpv_eoi_settle(&guest.vcpu));
	assert_int_equal(*eoi_word(), 0xf1);
	*eoi_word() &= ~1u;
	assert_true(kvmpv_eoi_settle(&guest.vcpu));
	assert_int_equal(fake_pveoi.eois, 1);
	assert_int_equal(fake_pveoi.isr_top, -1);
	assert_false(kvmpv_eoi_offered(&guest.vm.kvmpv, 0));
	assert_false(kvmpv_eoi_settle(&guest.vcpu));
	assert_int_equal(fake_pveoi.eois, 1);
	assert_int_equal(guest.vm.kvmpv.pv_eois[0], 1);
	assert_int_equal(*eoi_word(), 0xf0);
}

/*
 * No offer when the EOI cannot wait (level-triggered, another interrupt
 * in IRR) or PV EOI is off; an offer is taken back (bit cleared, the
 * guest writes EOI) when an interrupt comes to wait behind it, when
 * another interrupt is injected, and when the guest turns PV EOI off.
 */
static void test_pv_eoi_not_offered_or_taken_back(void **state)
{
	(void)state;
	inject(0x31); /* PV EOI off */
	assert_false(kvmpv_eoi_offered(&guest.vm.kvmpv, 0));
	wrmsr_ok(KVMPV_MSR_PV_EOI_EN, EOI_AT | 1);
	fake_pveoi.level = true;
	inject(0x31);
	assert_int_equal(*eoi_word(), 0);
	fake_pveoi.level = false;
	fake_pveoi.irr = true;
	inject(0x32);
	assert_int_equal(*eoi_word(), 0);
	fake_pveoi.irr = false;
	/* Offered, then an interrupt waits in IRR: taken back. */
	inject(0x33);
	assert_int_equal(*eoi_word(), 1);
	fake_pveoi.irr = true;
	assert_false(kvmpv_eoi_settle(&guest.vcpu));
	assert_int_equal(*eoi_word(), 0);
	assert_false(kvmpv_eoi_offered(&guest.vm.kvmpv, 0));
	fake_pveoi.irr = false;
	/* Another interrupt injected (not the local APIC's): taken back. */
	inject(0x34);
	assert_int_equal(*eoi_word(), 1);
	kvmpv_eoi_withdraw(&guest.vcpu);
	assert_int_equal(*eoi_word(), 0);
	/* Turned off with one open: taken back, and no EOI done. */
	inject(0x35);
	wrmsr_ok(KVMPV_MSR_PV_EOI_EN, 0);
	assert_int_equal(*eoi_word(), 0);
	assert_false(kvmpv_eoi_settle(&guest.vcpu));
	assert_int_equal(fake_pveoi.eois, 0);
}

/* Bit 1 set, a word outside RAM: #GP, nothing changes. */
static void test_pv_eoi_refused(void **state)
{
	(void)state;
	assert_int_equal(msr_exit(true, KVMPV_MSR_PV_EOI_EN, EOI_AT | 3),
			 EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(msr_exit(true, KVMPV_MSR_PV_EOI_EN, RAM_SIZE | 1),
			 EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(
	    msr_exit(true, KVMPV_MSR_PV_EOI_EN, (RAM_SIZE - 2) | 1),
	    EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(rdmsr_ok(KVMPV_MSR_PV_EOI_EN), 0);
	inject(0x31);
	assert_false(kvmpv_eoi_offered(&guest.vm.kvmpv, 0));
}

static struct kvmpv_steal_time *steal_in_ram(void)
{
	return (struct kvmpv_steal_time *)(guest.ram + STEAL_AT);
}

/*
 * Steal time: enabling writes steal 0 at once; each update with more
 * waiting (or a change of preempted) is written inside an odd-even version
 * pair, counting from the waiting at the enable; nothing when nothing
 * changed; never backwards.
 */
static void test_steal_time(void **state)
{
	struct kvmpv_steal_time *st = steal_in_ram();

	(void)state;
	memset(st, 0xa5, sizeof(*st));
	wrmsr_ok(KVMPV_MSR_STEAL_TIME, STEAL_AT | 1);
	assert_int_equal(rdmsr_ok(KVMPV_MSR_STEAL_TIME), STEAL_AT | 1);
	assert_int_equal(st->version, 2);
	assert_int_equal(st->steal, 0);
	assert_int_equal(st->preempted, 0);
	/* The waiting before the enable is not the guest's steal. */
	kvmpv_steal_update(&guest.vcpu, 5000, false);
	assert_int_equal(st->version, 2);
	assert_int_equal(st->steal, 0);
	kvmpv_steal_update(&guest.vcpu, 5000, true);
	assert_int_equal(st->version, 4);
	assert_int_equal(st->preempted, 1);
	kvmpv_steal_update(&guest.vcpu, 7500, false);
	assert_int_equal(st->version, 6);
	assert_int_equal(st->steal, 2500);
	assert_int_equal(st->preempted, 0);
	/* The guest's own version or steal do not count: Veneer's do. */
	st->version = 77;
	st->steal = 1;
	kvmpv_steal_update(&guest.vcpu, 7400, false);
	assert_int_equal(st->version, 77);
	kvmpv_steal_update(&guest.vcpu, 9000, false);
	assert_int_equal(st->version, 8);
	assert_int_equal(st->steal, 4000);
	/* Off: nothing written any more, and the MSR reads 0 bits on. */
	wrmsr_ok(KVMPV_MSR_STEAL_TIME, STEAL_AT);
	kvmpv_steal_update(&guest.vcpu, 20000, true);
	assert_int_equal(st->version, 8);
	assert_false(kvmpv_steal_on(&guest.vm.kvmpv, 0));
	/* A reset forgets it. */
	wrmsr_ok(KVMPV_MSR_STEAL_TIME, STEAL_AT | 1);
	assert_true(kvmpv_steal_on(&guest.vm.kvmpv, 0));
	kvmpv_reset(&guest.vm.kvmpv);
	assert_false(kvmpv_steal_on(&guest.vm.kvmpv, 0));
	assert_int_equal(rdmsr_ok(KVMPV_MSR_STEAL_TIME), 0);
}

/*
 * PV TLB flush: a shootdown another vCPU leaves in `preempted` while this
 * one is preempted is taken with the byte when it runs again, once, into
 * its next entry request; a preemption without one flushes nothing, and
 * the bit written while the vCPU runs (never by Linux) is not a request.
 */
static void test_pv_tlb_flush(void **state)
{
	struct kvmpv_steal_time *st = steal_in_ram();

	(void)state;
	memset(st, 0xff, sizeof(*st));
	wrmsr_ok(KVMPV_MSR_STEAL_TIME, STEAL_AT | 1);
	assert_int_equal(st->preempted, 0);
	assert_false(guest.vcpu.entry.flush_tlb);

	kvmpv_steal_update(&guest.vcpu, 100, true);
	assert_int_equal(st->preempted, KVMPV_PREEMPTED);
	__atomic_or_fetch(&st->preempted, KVMPV_FLUSH_TLB, __ATOMIC_SEQ_CST);
	kvmpv_steal_update(&guest.vcpu, 200, false);
	assert_int_equal(st->preempted, 0);
	assert_true(guest.vcpu.entry.flush_tlb);
	assert_int_equal(guest.vm.kvmpv.tlb_flushes[0], 1);

	guest.vcpu.entry.flush_tlb = false;
	kvmpv_steal_update(&guest.vcpu, 300, true);
	kvmpv_steal_update(&guest.vcpu, 400, false);
	assert_false(guest.vcpu.entry.flush_tlb);

	st->preempted = KVMPV_FLUSH_TLB;
	kvmpv_steal_update(&guest.vcpu, 500, true);
	assert_int_equal(st->preempted, KVMPV_PREEMPTED);
	kvmpv_steal_update(&guest.vcpu, 600, false);
	assert_false(guest.vcpu.entry.flush_tlb);
	assert_int_equal(guest.vm.kvmpv.tlb_flushes[0], 1);
}

static void test_steal_time_refused(void **state)
{
	(void)state;
	/* Reserved bits 5-1 (a misaligned structure), outside RAM, across
	 * its end: #GP, nothing changed. */
	for (u64 bit = BIT(1); bit <= BIT(5); bit <<= 1) {
		assert_int_equal(
		    msr_exit(true, KVMPV_MSR_STEAL_TIME, STEAL_AT | bit | 1),
		    EXIT_ACTION_RESUME);
		assert_gp();
		assert_int_equal(rdmsr_ok(KVMPV_MSR_STEAL_TIME), 0);
	}
	assert_int_equal(msr_exit(true, KVMPV_MSR_STEAL_TIME, RAM_SIZE | 1),
			 EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(
	    msr_exit(true, KVMPV_MSR_STEAL_TIME, (RAM_SIZE - 0x40) | 1),
	    EXIT_ACTION_SKIP);
	assert_int_equal(
	    msr_exit(true, KVMPV_MSR_STEAL_TIME, (RAM_SIZE - 0x40 + 0x40) | 1),
	    EXIT_ACTION_RESUME);
	assert_gp();
	assert_int_equal(rdmsr_ok(KVMPV_MSR_STEAL_TIME), (RAM_SIZE - 0x40) | 1);
	/* Disabled anywhere is fine: nothing is written. */
	wrmsr_ok(KVMPV_MSR_STEAL_TIME, RAM_SIZE * 4);
	assert_false(kvmpv_steal_on(&guest.vm.kvmpv, 0));
}

#define T_ON(f)	 cmocka_unit_test_setup_teardown(f, setup_on, teardown)
#define T_OFF(f) cmocka_unit_test_setup_teardown(f, setup_off, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T_ON(test_x2apic_and_deadline_for_every_guest),
	    T_OFF(test_leaves_off),
	    T_ON(test_leaves_on),
	    T_ON(test_other_kvm_msrs_gp),
	    T_OFF(test_kvm_msrs_gp_when_off),
	    T_ON(test_system_time),
	    T_ON(test_system_time_refused),
	    T_ON(test_tsc_moves),
	    T_ON(test_hidden_exit_time),
	    T_ON(test_wall_clock),
	    T_ON(test_reset),
	    T_ON(test_pv_eoi_taken),
	    T_ON(test_steal_time),
	    T_ON(test_pv_tlb_flush),
	    T_ON(test_steal_time_refused),
	    T_ON(test_pv_eoi_not_offered_or_taken_back),
	    T_ON(test_pv_eoi_refused),
	    T_ON(test_pv_eoi_withheld_where_the_cpu_delivers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
