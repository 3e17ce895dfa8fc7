/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vcpu.c: the run loop and the exit dispatch, driven
 * through the fake backend (tests/unit/fake_vcpu.h). The script gives the
 * exits; the fake records every entry request, so a test sees what the loop
 * asked of the backend: the RIP skip, the event to inject, the interrupt
 * window, the TSC offset and the deadline.
 *
 * The real handlers are linked (CPUID, I/O, MSR, hypercalls, MMIO); the
 * virtual platform is a stand-in here whose interrupt lines and timers the
 * test sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_console.h"
#include "tests/unit/fake_vcpu.h"
#include "core/handlers.h"
#include "core/hypercall.h"
#include "core/platform.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/tsc.h"

#define RAM_SIZE    (64 * 1024ull)
#define CODE	    0x1000ull
#define RESET_PORT  0xcf9
#define MMIO_BASE   0xfec00000ull
#define UNKNOWN_MSR 0x12345678

static struct fake_guest guest;
static struct platform platform;

/* ---- the virtual platform: a stand-in the tests steer */

static struct {
	u32 pending; /* interrupts waiting */
	int vector;  /* what platform_take_interrupt() gives */
	u32 taken;   /* platform_take_interrupt() calls */
	u32 ticks;
	/* A device timer at this guest time (1 ns = 1 TSC tick), 0 = none;
	 * when it fires it raises an interrupt unless timer_is_silent. */
	u64 next_deadline_ns;
	bool timer_is_silent;
	/* NMIs: one waiting; a timer may raise one instead of an interrupt;
	 * an IOAPIC entry may route one (platform_nmi_may_arrive). */
	bool nmi;
	u32 nmis_taken;
	bool timer_raises_nmi;
	bool nmi_route;
	/* The CPU delivers the APIC's interrupts (platform_virt_want) and
	 * holds hw_pending of them; the TPR; EOIs the CPU did. */
	bool virt;
	u32 hw_pending;
	u32 tpr;
	u32 virt_gets, virt_puts, eois;
	u8 eoi_vector;
} plat;

bool platform_interrupt_wakes(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return plat.pending > 0 || plat.hw_pending > 0;
}

bool platform_virt_want(struct platform *p, struct vcpu *vcpu, bool hw)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return hw && plat.virt;
}

void platform_virt_get(struct platform *p, struct vcpu *vcpu,
		       struct apic_virt_state *s)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	memset(s, 0, sizeof(*s));
	s->tpr = plat.tpr;
	s->irr[2] = plat.hw_pending ? 1 : 0; /* vector 0x40 */
	plat.virt_gets++;
}

/* What the CPU left (its pending interrupt, say, behind RFLAGS.IF). */
bool platform_virt_put(struct platform *p, struct vcpu *vcpu,
		       const struct apic_virt_state *s)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	plat.tpr = s->tpr;
	plat.virt_puts++;
	return false;
}

void platform_virt_eoi(struct platform *p, struct vcpu *vcpu, u8 vector)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	plat.eois++;
	plat.eoi_vector = vector;
}

u64 platform_cr8_read(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return plat.tpr >> 4;
}

bool platform_cr8_write(struct platform *p, struct vcpu *vcpu, u64 value)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	if (value > 0xf)
		return false;
	plat.tpr = (u32)value << 4;
	return true;
}

bool platform_interrupt_pending(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return plat.pending > 0;
}

int platform_take_interrupt(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	/* Only when the vCPU can take it (core/platform.h). */
	assert_true(plat.pending > 0);
	plat.taken++;
	plat.pending--;
	return plat.vector;
}

bool platform_timer_due(const struct platform *p)
{
	return plat.next_deadline_ns &&
	       vm_guest_tsc(p->vm) >= plat.next_deadline_ns;
}

void platform_tick(struct platform *p)
{
	plat.ticks++;
	if (!platform_timer_due(p))
		return;
	plat.next_deadline_ns = 0;
	if (plat.timer_raises_nmi)
		plat.nmi = true;
	else if (!plat.timer_is_silent)
		plat.pending++;
}

bool platform_nmi_pending(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return plat.nmi;
}

bool platform_take_nmi(struct platform *p, struct vcpu *vcpu)
{
	bool was = plat.nmi;

	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	plat.nmi = false;
	plat.nmis_taken += was;
	return was;
}

bool platform_nmi_may_arrive(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return plat.nmi_route;
}

/* CPUID.1:EDX.APIC asks (core/cpuid.c): the APIC is on here. */
bool platform_apic_enabled(struct platform *p, struct vcpu *vcpu)
{
	assert_ptr_equal(p, &platform);
	assert_ptr_equal(vcpu, &guest.vcpu);
	return true;
}

u64 platform_next_deadline_ns(const struct platform *p, const struct vcpu *vcpu)
{
	(void)p;
	(void)vcpu;
	return plat.next_deadline_ns;
}

/* 1 ns = 1 tick of the guest TSC here. */
u64 platform_ns_to_tsc(const struct platform *p, u64 ns)
{
	(void)p;
	return ns;
}

/* As core/platform.c: fire what is due, say when the next one is. */
u64 platform_advance(struct platform *p, const struct vcpu *vcpu)
{
	if (platform_timer_due(p))
		platform_tick(p);
	return platform_ns_to_tsc(p, platform_next_deadline_ns(p, vcpu));
}

int platform_msr_read(struct platform *p, struct vcpu *vcpu, u32 msr,
		      u64 *value)
{
	(void)p;
	(void)vcpu;
	*value = msr;
	return 0;
}

int platform_msr_write(struct platform *p, struct vcpu *vcpu, u32 msr,
		       u64 value)
{
	(void)p;
	(void)vcpu;
	(void)msr;
	(void)value;
	return 0;
}

/* A reset register, as at port 0xcf9: the loop must carry it out. */
static void reset_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)opaque;
	(void)port;
	(void)size;
	(void)value;
	platform.reset_requested = true;
}

static struct {
	u32 reads, writes;
	u64 value;
} mmio_dev;

static int mmio_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		     u64 *value)
{
	(void)opaque;
	(void)vcpu;
	(void)offset;
	(void)size;
	mmio_dev.reads++;
	*value = 0xabcd;
	return 0;
}

static int mmio_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		      u64 value)
{
	(void)opaque;
	(void)vcpu;
	(void)offset;
	(void)size;
	mmio_dev.writes++;
	mmio_dev.value = value;
	return 0;
}

/* ---- helpers */

/*
 * Every test runs twice: the fake backend as a plain one, and taking the
 * lean path as the real ones do (core/vcpu.h, vcpu_exit_lean). The run
 * loop must come out the same either way.
 */
static bool lean_path;

static int lean_path_on(void **state)
{
	(void)state;
	lean_path = true;
	return 0;
}

static int setup(void **state)
{
	const struct io_handler reset = {.first = RESET_PORT,
					 .last = RESET_PORT,
					 .write = reset_write,
					 .name = "reset"};
	const struct mmio_region r = {.base = MMIO_BASE,
				      .size = 0x1000,
				      .read = mmio_read,
				      .write = mmio_write,
				      .name = "dev"};

	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	guest.be.lean = lean_path;
	/* Exits hidden from the guest's clock never take the lean path. */
	if (lean_path)
		guest.vm.hide_exit_time = false;
	memset(&platform, 0, sizeof(platform));
	memset(&plat, 0, sizeof(plat));
	memset(&mmio_dev, 0, sizeof(mmio_dev));
	memset(&fake_console_calls, 0, sizeof(fake_console_calls));
	plat.vector = 0x30;
	platform.vm = &guest.vm;
	guest.vm.platform = &platform;
	assert_true(iobus_register(&guest.vm.io, &reset));
	assert_true(mmio_register(&guest.vm.mmio, &r));
	/* 64-bit code with paging off: RIP is the guest-physical address. */
	fake_set(&guest, VCPU_CR0, CR0_PE);
	fake_set(&guest, VCPU_RIP, CODE);
	vcpu_caps.cr4_allowed =
	    CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXSAVE | CR4_PCIDE;
	vcpu_caps.apic_virt = false;
	vcpu_caps.cr8_in_guest = false;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

static u64 *gpr(void)
{
	return guest.vcpu.regs.gpr;
}

static const struct vcpu_entry *run_request(u32 n)
{
	assert_true(n < guest.be.run_count);
	return &guest.be.runs[n];
}

static void set_rax_rbx(struct vcpu *vcpu, void *arg)
{
	const u64 *v = arg;

	vcpu->regs.gpr[GPR_RAX] = v[0];
	vcpu->regs.gpr[GPR_RBX] = v[1];
}

/* A scripted hypercall HC_EXIT(code): the guest ends, the loop returns. */
static void script_exit(u64 *args_storage, u32 code)
{
	struct exit_event ev = fake_exit(EXIT_HYPERCALL, 3);
	struct fake_step *s = fake_script(&guest, &ev);

	args_storage[0] = HC_EXIT;
	args_storage[1] = code;
	s->before = set_rax_rbx;
	s->arg = args_storage;
}

/*
 * A scripted hypercall HC_TIMER_ONESHOT(vector, us): the guest arms its
 * para-virtual timer. RCX holds `us` from now on.
 */
static void script_pv_timer(u64 *args_storage, u8 vector, u64 us)
{
	struct exit_event ev = fake_exit(EXIT_HYPERCALL, 3);
	struct fake_step *s = fake_script(&guest, &ev);

	args_storage[0] = HC_TIMER_ONESHOT;
	args_storage[1] = vector;
	gpr()[GPR_RCX] = us;
	s->before = set_rax_rbx;
	s->arg = args_storage;
}

/* A scripted exit of `kind` with the RAX value the guest had. */
static struct fake_step *script(enum exit_kind kind, u32 insn_len)
{
	struct exit_event ev = fake_exit(kind, insn_len);

	return fake_script(&guest, &ev);
}

static struct fake_step *script_msr_read(u32 index)
{
	struct fake_step *s = script(EXIT_MSR_READ, 2);

	s->ev.msr.index = index;
	return s;
}

static enum vcpu_loop_end run_loop(void)
{
	return vcpu_run_loop(&guest.vcpu);
}

/* The loop ended with the guest stopped for `why`, after `runs` entries. */
static void assert_stopped(const char *why, u32 runs)
{
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_non_null(strstr(guest.vm.stop_reason, why));
	assert_int_equal(guest.be.run_count, runs);
	assert_int_equal(guest.vcpu.state, VCPU_STATE_ENDED);
}

static void assert_exception(const struct vcpu_entry *e, u8 vector,
			     bool has_error_code, u32 error_code)
{
	assert_true(e->inject);
	assert_int_equal(e->event.type, VCPU_EVENT_EXCEPTION);
	assert_int_equal(e->event.vector, vector);
	assert_int_equal(e->event.has_error_code, has_error_code);
	if (has_error_code)
		assert_int_equal(e->event.error_code, error_code);
}

/* ---- dispatch and the RIP skip */

static void test_skip_goes_into_the_next_request(void **state)
{
	u64 args[2];

	(void)state;
	script(EXIT_CPUID, 2);
	gpr()[GPR_RAX] = 0x40000000;
	script(EXIT_NONE, 0);
	script_exit(args, 9);
	assert_int_equal(run_loop(), VCPU_LOOP_ENDED);
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(guest.vm.exit_code, 9);
	assert_int_equal(guest.be.run_count, 3);
	/* CPUID handled (Veneer's leaf), completed by the next entry. */
	assert_int_equal(run_request(0)->skip, 0);
	assert_int_equal(run_request(1)->skip, 2);
	assert_int_equal(guest.be.run_rip[1], CODE);
	/* EXIT_NONE: nothing completed, nothing skipped. */
	assert_int_equal(run_request(2)->skip, 0);
	assert_int_equal(guest.be.run_rip[2], CODE + 2);
	/* HC_EXIT does not return: RIP stays on it. */
	assert_int_equal(fake_get(&guest, VCPU_RIP), CODE + 2);
	assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_NONE], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_HYPERCALL], 1);
	assert_int_equal(guest.vcpu.exits_total, 3);
	assert_int_equal(guest.vcpu.state, VCPU_STATE_ENDED);
	for (u32 i = 0; i < 3; i++)
		assert_false(run_request(i)->inject);
}

/*
 * A spin loop on a shared CPU: every entry asks for PAUSE exits while the
 * CPU is shared (never on a CPU of its own), and a PAUSE exit yields the
 * CPU and completes the PAUSE.
 */
static void test_pause_exits_yield_on_a_shared_cpu(void **state)
{
	u64 args[2];

	(void)state;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(0)->pause_exits);
	assert_false(run_request(1)->pause_exits);
	assert_int_equal(fake_yields, 0);

	fake_guest_free(&guest);
	setup(NULL);
	fake_shared = true;
	guest.vcpu.shares_cpu = true;
	script(EXIT_PAUSE, 2);
	script(EXIT_PAUSE, 2);
	script_exit(args, 0);
	run_loop();
	for (u32 i = 0; i < 3; i++)
		assert_true(run_request(i)->pause_exits);
	assert_int_equal(fake_yields, 2);
	assert_int_equal(run_request(1)->skip, 2);
	assert_int_equal(run_request(2)->skip, 2);
	assert_int_equal(guest.vcpu.exits[EXIT_PAUSE], 2);
	assert_false(run_request(1)->inject);
}

/* Each completed instruction is skipped by its own length, once. */
static void test_skips_accumulate_per_instruction(void **state)
{
	u64 args[2];

	(void)state;
	for (u32 i = 0; i < 4; i++)
		script(EXIT_CPUID, 1 + i);
	script_exit(args, 0);
	run_loop();
	for (u32 i = 1; i < 5; i++)
		assert_int_equal(run_request(i)->skip, i);
	assert_int_equal(fake_get(&guest, VCPU_RIP), CODE + 1 + 2 + 3 + 4);
}

static void test_loop_does_not_enter_an_ended_vm(void **state)
{
	(void)state;
	vm_stop(&guest.vm, "stopped before it ran");
	assert_int_equal(run_loop(), VCPU_LOOP_ENDED);
	assert_int_equal(guest.be.run_count, 0);
	assert_int_equal(guest.vcpu.state, VCPU_STATE_ENDED);
}

/* Another CPU stops the VM while the guest runs: no further entry. */
static void stop_from_elsewhere(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	vm_stop(vcpu->vm, "stopped by the operator");
}

static void test_stop_while_running(void **state)
{
	(void)state;
	script(EXIT_EXTERNAL_INTR, 0)->before = stop_from_elsewhere;
	assert_int_equal(run_loop(), VCPU_LOOP_ENDED);
	assert_stopped("operator", 1);
}

/* ---- default-deny */

static void test_unhandled_exits_stop_the_guest(void **state)
{
	static const enum exit_kind kinds[] = {
	    EXIT_INIT,
	    EXIT_SIPI,
	    EXIT_UNKNOWN,
	    EXIT_KIND_COUNT,
	    (enum exit_kind)(EXIT_KIND_COUNT + 100),
	    (enum exit_kind) - 1};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct fake_step *s;

		fake_guest_free(&guest);
		setup(NULL);
		s = script(kinds[i], 2);
		s->ev.vendor_reason = 0x7f;
		assert_int_equal(run_loop(), VCPU_LOOP_ENDED);
		assert_stopped("unhandled exit", 1);
		assert_non_null(strstr(guest.vm.stop_reason, "0x7f"));
		assert_int_equal(guest.be.dumps, 1);
		assert_int_equal(guest.vcpu.exits_total, 1);
		/* RIP was never moved. */
		assert_int_equal(fake_get(&guest, VCPU_RIP), CODE);
	}
}

static void test_unexpected_exceptions_and_cr_reads_stop_the_guest(void **state)
{
	struct fake_step *s;

	(void)state;
	s = script(EXIT_EXCEPTION, 0);
	s->ev.exc.vector = X86_VECTOR_PF;
	s->ev.exc.has_error_code = true;
	run_loop();
	assert_stopped("unhandled exit exception", 1);

	fake_guest_free(&guest);
	setup(NULL);
	s = script(EXIT_CR_ACCESS, 3);
	s->ev.cr.cr = 3;
	s->ev.cr.write = false;
	run_loop();
	assert_stopped("unhandled exit cr-access", 1);

	fake_guest_free(&guest);
	setup(NULL);
	s = script(EXIT_CR_ACCESS, 3);
	s->ev.cr.cr = 2;
	s->ev.cr.write = true;
	run_loop();
	assert_stopped("unhandled exit cr-access", 1);
}

static void set_rbx(struct vcpu *vcpu, void *arg)
{
	vcpu->regs.gpr[GPR_RBX] = *(const u64 *)arg;
}

/* MOV to / from CR8: the guest APIC's TPR[7:4], bits 63:4 #GP. */
static void test_cr8_is_the_guest_tpr(void **state)
{
	static const u64 seven = 7, sixteen = 16;
	struct fake_step *s;
	u64 args[2];

	(void)state;
	s = script(EXIT_CR_ACCESS, 4);
	s->ev.cr = (typeof(s->ev.cr)){.cr = 8, .write = true, .gpr = GPR_RBX};
	s->before = set_rbx;
	s->arg = (void *)&seven;
	s = script(EXIT_CR_ACCESS, 4);
	s->ev.cr = (typeof(s->ev.cr)){.cr = 8, .write = false, .gpr = GPR_RCX};
	s = script(EXIT_CR_ACCESS, 4);
	s->ev.cr = (typeof(s->ev.cr)){.cr = 8, .write = true, .gpr = GPR_RBX};
	s->before = set_rbx;
	s->arg = (void *)&sixteen;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(plat.tpr, 0x70);
	assert_int_equal(gpr()[GPR_RCX], 7);
	assert_int_equal(run_request(1)->skip, 4);
	assert_int_equal(run_request(2)->skip, 4);
	/* CR8 = 16 sets a reserved bit: #GP, TPR as it was. */
	assert_exception(run_request(3), X86_VECTOR_GP, true, 0);
	assert_int_equal(run_request(3)->skip, 0);
}

/*
 * The CPU delivers the APIC's interrupts (vcpu_caps.apic_virt): every
 * entry carries the APIC's state, what the CPU did comes back after the
 * run, the loop takes none of those interrupts itself, and the EOI exit
 * of a level vector reaches the platform without moving RIP.
 */
static void test_apic_virt_entry_and_eoi_exit(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	vcpu_caps.apic_virt = true;
	plat.virt = true;
	plat.hw_pending = 1;
	s = script(EXIT_APIC_EOI, 0);
	s->ev.eoi_vector = 0x61;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	vcpu_caps.apic_virt = false;
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	for (u32 i = 0; i < guest.be.run_count; i++) {
		assert_non_null(run_request(i)->vapic);
		assert_false(run_request(i)->inject);
		assert_false(run_request(i)->intr_window);
	}
	assert_int_equal(plat.taken, 0);
	/* Once per run() call: the lean path's entries keep the page. */
	assert_int_equal(plat.virt_gets, guest.be.calls);
	assert_int_equal(plat.virt_puts, guest.be.calls);
	assert_int_equal(plat.eois, 1);
	assert_int_equal(plat.eoi_vector, 0x61);
	/* Trap-like: the EOI's WRMSR is complete, RIP stays. */
	assert_int_equal(run_request(1)->skip, 0);
	assert_int_equal(run_request(2)->skip, 2);
}

static void guest_writes_cr8_2(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	(void)vcpu;
	fake_set(&guest, VCPU_CR8, 2);
}

/*
 * Where MOV CR8 reaches the backend's register (AMD-V's V_TPR), it is the
 * APIC's TPR[7:4]: copied in before an entry when the APIC's changed, and
 * back into the APIC when the guest wrote it.
 */
static void test_cr8_in_guest_follows_the_tpr(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	vcpu_caps.cr8_in_guest = true;
	plat.tpr = 0x57;
	s = script(EXIT_IO, 1);
	s->ev.io = (typeof(s->ev.io)){.port = 0x80, .size = 1};
	s->before = guest_writes_cr8_2;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	vcpu_caps.cr8_in_guest = false;
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	/* Written once before the first entry; the guest's 2 came back. */
	assert_int_equal(guest.be.field_writes[VCPU_CR8], 1);
	assert_int_equal(plat.tpr, 0x20);
	assert_int_equal(fake_get(&guest, VCPU_CR8), 2);
}

/* Without the CPU's help (or refused by the platform) no entry has it. */
static void test_apic_virt_off(void **state)
{
	u64 args[2];

	(void)state;
	plat.virt = true; /* vcpu_caps.apic_virt is false */
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	for (u32 i = 0; i < guest.be.run_count; i++)
		assert_null(run_request(i)->vapic);
	assert_int_equal(plat.virt_gets, 0);

	fake_guest_free(&guest);
	setup(NULL);
	vcpu_caps.apic_virt = true; /* the platform refuses (2 vCPUs, xAPIC) */
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	vcpu_caps.apic_virt = false;
	for (u32 i = 0; i < guest.be.run_count; i++)
		assert_null(run_request(i)->vapic);
}

/* A HLT ends for an interrupt only the CPU can deliver. */
static void test_hlt_wakes_for_an_interrupt_the_cpu_delivers(void **state)
{
	u64 args[2];

	(void)state;
	vcpu_caps.apic_virt = true;
	plat.virt = true;
	script(EXIT_HLT, 1);
	script_exit(args, 0);
	plat.hw_pending = 1;
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_IF);
	run_loop();
	vcpu_caps.apic_virt = false;
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(run_request(1)->skip, 1);
	assert_int_equal(plat.taken, 0);
}

static void test_triple_fault_and_entry_failure(void **state)
{
	struct fake_step *s;

	(void)state;
	script(EXIT_TRIPLE_FAULT, 0);
	run_loop();
	assert_stopped("triple fault", 1);

	fake_guest_free(&guest);
	setup(NULL);
	s = script(EXIT_ENTRY_FAILED, 0);
	s->ev.fail.what = "bad guest state";
	s->ev.fail.vm_instruction_error = 7;
	run_loop();
	assert_stopped("VM entry failed: bad guest state", 1);
	assert_int_equal(guest.be.dumps, 1);
}

/* A handler completed the instruction but its length is not known or not
 * an x86 length: the guest stops instead of skipping garbage. */
static void test_bad_instruction_length_stops_the_guest(void **state)
{
	static const u32 lens[] = {0, 16, 0x1000, ~0u};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(lens); i++) {
		fake_guest_free(&guest);
		setup(NULL);
		script(EXIT_CPUID, lens[i]);
		run_loop();
		assert_stopped("instruction length unknown", 1);
		assert_int_equal(fake_get(&guest, VCPU_RIP), CODE);
	}
}

/* ---- exceptions queued by handlers */

static void test_gp_from_a_handler_reaches_the_next_entry(void **state)
{
	u64 args[2];

	(void)state;
	script_msr_read(UNKNOWN_MSR);
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.be.run_count, 3);
	/* The faulting RDMSR is not completed: #GP(0) instead. */
	assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
	assert_int_equal(run_request(1)->skip, 0);
	assert_int_equal(guest.be.run_rip[1], CODE);
	/* One-shot: the entry after does not deliver it again. */
	assert_false(run_request(2)->inject);
	assert_int_equal(run_request(2)->skip, 2);
}

static void test_invalid_instruction_is_ud(void **state)
{
	u64 args[2];

	(void)state;
	script(EXIT_INVALID_INSN, 3);
	script_exit(args, 0);
	run_loop();
	assert_exception(run_request(1), X86_VECTOR_UD, false, 0);
	assert_int_equal(run_request(1)->skip, 0);
}

static void test_alignment_check_goes_back(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	s = script(EXIT_EXCEPTION, 0);
	s->ev.exc.vector = X86_VECTOR_AC;
	s->ev.exc.has_error_code = true;
	s->ev.exc.error_code = 0;
	script_exit(args, 0);
	run_loop();
	assert_exception(run_request(1), X86_VECTOR_AC, true, 0);
	assert_int_equal(run_request(1)->skip, 0);
}

/* ---- #UD: the other vendor's hypercall instruction */

static void test_ud_on_vmcall_is_a_hypercall(void **state)
{
	static const char *const insns[] = {"\x0f\x01\xc1", "\x0f\x01\xd9"};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(insns); i++) {
		struct fake_step *s;
		u64 args[2];

		fake_guest_free(&guest);
		setup(NULL);
		memcpy(guest.ram + CODE, insns[i], 3);
		gpr()[GPR_RAX] = HC_CPU_ID;
		guest.vcpu.index = 6;
		s = script(EXIT_EXCEPTION, 0);
		s->ev.exc.vector = X86_VECTOR_UD;
		script_exit(args, 0);
		run_loop();
		assert_int_equal(guest.be.run_count, 2);
		assert_false(run_request(1)->inject);
		assert_int_equal(run_request(1)->skip, 3);
		/* HC_CPU_ID answered in RAX; counted as a hypercall. */
		assert_int_equal(guest.be.run_regs[1].gpr[GPR_RAX], 6);
		assert_int_equal(guest.vcpu.exits[EXIT_HYPERCALL], 2);
		assert_int_equal(guest.vcpu.exits[EXIT_EXCEPTION], 0);
	}
}

static void test_ud_on_anything_else_goes_back(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	memcpy(guest.ram + CODE, "\x0f\x01\xc2", 3); /* VMLAUNCH */
	gpr()[GPR_RAX] = HC_VERSION;
	s = script(EXIT_EXCEPTION, 0);
	s->ev.exc.vector = X86_VECTOR_UD;
	script_exit(args, 0);
	run_loop();
	assert_exception(run_request(1), X86_VECTOR_UD, false, 0);
	assert_int_equal(run_request(1)->skip, 0);
	assert_int_equal(guest.be.run_regs[1].gpr[GPR_RAX], HC_VERSION);
	assert_int_equal(guest.vcpu.exits[EXIT_EXCEPTION], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_HYPERCALL], 1);
}

/* Two bytes of VMCALL at the last bytes of RAM: not a hypercall. */
static void move_rip_to_ram_end(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	((struct fake_backend *)vcpu->vendor)->field[VCPU_RIP] = RAM_SIZE - 2;
}

static void test_ud_with_rip_at_the_end_of_ram(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	memcpy(guest.ram + RAM_SIZE - 2, "\x0f\x01", 2);
	s = script(EXIT_EXCEPTION, 0);
	s->ev.exc.vector = X86_VECTOR_UD;
	s->before = move_rip_to_ram_end;
	script_exit(args, 0);
	run_loop();
	assert_exception(run_request(1), X86_VECTOR_UD, false, 0);
}

/* ---- MOV to CR0 / CR4 */

static struct fake_step *script_cr_write(u8 cr, u8 reg)
{
	struct fake_step *s = script(EXIT_CR_ACCESS, 3);

	s->ev.cr.cr = cr;
	s->ev.cr.write = true;
	s->ev.cr.gpr = reg;
	return s;
}

static void test_cr4_write(void **state)
{
	u64 args[2];

	(void)state;
	fake_guest_flat32(&guest);
	gpr()[GPR_RDX] = CR4_PAE | CR4_OSFXSR;
	script_cr_write(4, GPR_RDX);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(fake_get(&guest, VCPU_CR4), CR4_PAE | CR4_OSFXSR);
	assert_int_equal(run_request(1)->skip, 3);
	assert_false(run_request(1)->inject);
}

static void test_cr_writes_that_fault(void **state)
{
	static const struct {
		u8 cr;
		u64 value;
		bool long_mode;
	} bad[] = {
	    {4, CR4_VMXE, false},	   /* not allowed for a guest */
	    {4, CR4_PAE | BIT(32), false}, /* bits 63:32 */
	    {4, CR4_PGE, true},		   /* PAE clear in long mode */
	    {4, CR4_PCIDE, false},	   /* PCIDE outside long mode */
	    {0, CR0_PG | CR0_ET, false},   /* PG without PE */
	    {0, CR0_PE | CR0_NW, false},   /* NW without CD */
	    {0, CR0_PE | BIT(40), false},  /* bits 63:32 */
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		u64 args[2];
		u64 cr0, cr4;

		fake_guest_free(&guest);
		setup(NULL);
		if (!bad[i].long_mode)
			fake_guest_flat32(&guest);
		else
			fake_set(&guest, VCPU_CR4, CR4_PAE);
		cr0 = fake_get(&guest, VCPU_CR0);
		cr4 = fake_get(&guest, VCPU_CR4);
		gpr()[GPR_R9] = bad[i].value;
		script_cr_write(bad[i].cr, GPR_R9);
		script_exit(args, 0);
		run_loop();
		assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
		assert_int_equal(run_request(1)->skip, 0);
		assert_int_equal(fake_get(&guest, VCPU_CR0), cr0);
		assert_int_equal(fake_get(&guest, VCPU_CR4), cr4);
	}
}

/* CR0.PG with EFER.LME but CR4.PAE clear: #GP (SDM Vol. 3A 10.8.5). */
static void test_cr0_paging_needs_pae_for_long_mode(void **state)
{
	u64 args[2];

	(void)state;
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_EFER, EFER_LME);
	gpr()[GPR_RAX] = CR0_PE | CR0_PG;
	script_cr_write(0, GPR_RAX);
	script_exit(args, 0);
	run_loop();
	assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
}

/*
 * Clearing CR0.PG in 64-bit mode is #GP (SDM Vol. 2B MOV CR, 64-Bit Mode
 * Exceptions: "Attempting to clear CR0.PG"); software leaves long mode
 * from compatibility mode, where it is allowed (SDM Vol. 3A 10.8.5.4).
 */
static void test_cr0_clearing_paging_in_64bit_mode(void **state)
{
	u64 cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE;
	u64 args[2];

	(void)state;
	fake_set(&guest, VCPU_CR0, cr0);
	fake_set(&guest, VCPU_CR4, CR4_PAE);
	gpr()[GPR_RAX] = cr0 & ~CR0_PG;
	script_cr_write(0, GPR_RAX);
	script_exit(args, 0);
	run_loop();
	assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
	assert_int_equal(fake_get(&guest, VCPU_CR0), cr0);

	/* Compatibility mode (CS.L=0 in IA-32e mode): allowed. */
	fake_guest_free(&guest);
	setup(NULL);
	fake_set(&guest, VCPU_CR0, cr0);
	fake_set(&guest, VCPU_CR4, CR4_PAE);
	fake_set(&guest, VCPU_CS_LONG, 0);
	fake_set(&guest, VCPU_CS_DB, 1);
	gpr()[GPR_RAX] = cr0 & ~CR0_PG;
	script_cr_write(0, GPR_RAX);
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(1)->inject);
	assert_int_equal(run_request(1)->skip, 3);
	assert_int_equal(fake_get(&guest, VCPU_CR0), cr0 & ~CR0_PG);
}

/* ---- XSETBV: the refusals (the accepted path executes XSETBV itself) */

static void test_xsetbv_refusals(void **state)
{
	static const struct {
		u32 xcr;
		u64 value;
		u64 host_cr4;
	} bad[] = {
	    {1, XCR0_X87, CR4_OSXSAVE},		   /* only XCR0 exists */
	    {0, XCR0_SSE, CR4_OSXSAVE},		   /* x87 must stay set */
	    {0, XCR0_X87 | XCR0_AVX, CR4_OSXSAVE}, /* AVX needs SSE */
	    {0, XCR0_X87 | BIT(5), CR4_OSXSAVE},   /* AVX-512: not offered */
	    {0, XCR0_X87 | BIT(62), CR4_OSXSAVE},
	    {0, XCR0_X87, 0}, /* XSAVE not enabled */
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		u64 args[2];

		fake_guest_free(&guest);
		setup(NULL);
		fake_host_cr4 = bad[i].host_cr4;
		gpr()[GPR_RCX] = bad[i].xcr;
		gpr()[GPR_RAX] = (u32)bad[i].value;
		gpr()[GPR_RDX] = bad[i].value >> 32;
		script(EXIT_XSETBV, 3);
		script_exit(args, 0);
		run_loop();
		assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
		assert_int_equal(run_request(1)->skip, 0);
	}
}

/* ---- guest-physical faults */

static void test_gpa_fault_outside_ram_stops_the_guest(void **state)
{
	static const u64 gpas[] = {RAM_SIZE, 0xfee00000, 1ull << 51};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(gpas); i++) {
		struct fake_step *s;

		fake_guest_free(&guest);
		setup(NULL);
		s = script(EXIT_GPA_FAULT, 0);
		s->ev.gpa_fault.gpa = gpas[i];
		s->ev.gpa_fault.write = true;
		run_loop();
		assert_stopped("write access to guest-physical", 1);
		assert_non_null(
		    strstr(guest.vm.stop_reason, "outside its RAM"));
	}
}

/* MMIO: the backend could not tell the length; the decoder's is skipped. */
static void test_gpa_fault_on_mmio_is_emulated(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	memcpy(guest.ram + CODE, "\x89\x0b", 2); /* mov [rbx], ecx */
	gpr()[GPR_RCX] = 0xfeedf00d;
	s = script(EXIT_GPA_FAULT, 0);
	s->ev.gpa_fault.gpa = MMIO_BASE + 0x20;
	s->ev.gpa_fault.write = true;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(mmio_dev.writes, 1);
	assert_int_equal(mmio_dev.value, 0xfeedf00d);
	assert_int_equal(run_request(1)->skip, 2);
	assert_int_equal(guest.vcpu.exits[EXIT_GPA_FAULT], 1);
}

/*
 * The page-walk cache must not outlive a run: the fake leaves a stale one
 * behind (a page of other bytes at RIP's page); core drops it after every
 * run, so the emulation reads the guest's real instruction.
 */
static void test_walk_cache_dropped_after_every_run(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	guest.be.poison_walk_cache = true;
	memset(guest.be.stale_page, 0x01, sizeof(guest.be.stale_page));
	memcpy(guest.ram + CODE, "\x8b\x03", 2); /* mov eax, [rbx] */
	script(EXIT_NONE, 0);
	s = script(EXIT_GPA_FAULT, 0);
	s->ev.gpa_fault.gpa = MMIO_BASE;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(mmio_dev.reads, 1);
	assert_int_equal(run_request(2)->skip, 2);
}

/* ---- the reset request */

static void test_reset_request_ends_the_loop(void **state)
{
	struct fake_step *s;

	(void)state;
	s = script(EXIT_IO, 1);
	s->ev.io.port = RESET_PORT;
	s->ev.io.size = 1;
	gpr()[GPR_RAX] = 0x06;
	assert_int_equal(run_loop(), VCPU_LOOP_RESET);
	assert_int_equal(guest.be.run_count, 1);
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
	assert_int_equal(guest.vcpu.state, VCPU_STATE_ENDED);
}

/* ---- interrupts, the interrupt window, timers */

static void test_interrupt_injected_when_the_guest_can_take_it(void **state)
{
	u64 args[2];

	(void)state;
	plat.pending = 1;
	plat.vector = 0x31;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_true(run_request(0)->inject);
	assert_int_equal(run_request(0)->event.type, VCPU_EVENT_EXTERNAL_INTR);
	assert_int_equal(run_request(0)->event.vector, 0x31);
	assert_false(run_request(0)->intr_window);
	assert_int_equal(plat.taken, 1);
	/* Delivered once. */
	assert_false(run_request(1)->inject);
}

static void test_interrupt_window_when_the_guest_cannot(void **state)
{
	u64 args[2];

	(void)state;
	plat.pending = 1;
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	script(EXIT_NONE, 0);
	/* The guest sets IF and the window opens. */
	script(EXIT_INTR_WINDOW, 0);
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(0)->inject);
	assert_true(run_request(0)->intr_window);
	assert_int_equal(plat.taken, 0);
	/* Still not interruptible: asked again (a level, stated each entry). */
	assert_false(run_request(1)->inject);
	assert_true(run_request(1)->intr_window);
}

static void open_window(struct vcpu *vcpu, void *arg)
{
	struct fake_backend *be = vcpu->vendor;

	(void)arg;
	be->field[VCPU_INTERRUPTIBLE] = 1;
	be->field[VCPU_RFLAGS] |= RFLAGS_IF;
}

static void test_interrupt_delivered_once_the_window_opens(void **state)
{
	u64 args[2];

	(void)state;
	plat.pending = 1;
	plat.vector = 0x40;
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	script(EXIT_INTR_WINDOW, 0)->before = open_window;
	script_exit(args, 0);
	run_loop();
	assert_true(run_request(0)->intr_window);
	assert_true(run_request(1)->inject);
	assert_int_equal(run_request(1)->event.vector, 0x40);
	assert_false(run_request(1)->intr_window);
}

/*
 * Completing an instruction ends an STI / MOV-SS shadow: with a skip in
 * the request, RFLAGS.IF alone says whether an interrupt can go in.
 */
static void test_skip_ends_the_interrupt_shadow(void **state)
{
	u64 args[2];

	(void)state;
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0); /* in an STI shadow */
	plat.pending = 1;
	plat.vector = 0x41;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	/* Entry 0: shadow, no skip: window. Entry 1: CPUID skipped, IF=1. */
	assert_false(run_request(0)->inject);
	assert_true(run_request(0)->intr_window);
	assert_int_equal(run_request(1)->skip, 2);
	assert_true(run_request(1)->inject);
	assert_int_equal(run_request(1)->event.vector, 0x41);
}

static void jump_clock(struct vcpu *vcpu, void *arg)
{
	(void)vcpu;
	fake_host_tsc += *(u64 *)arg;
}

/*
 * A device timer falls due while the guest runs into a #GP (a quiet exit
 * otherwise): the exception goes first, the interrupt waits with a window.
 */
static void test_exception_and_pending_interrupt(void **state)
{
	struct fake_step *s;
	u64 args[2];
	u64 later = 500;

	(void)state;
	plat.vector = 0x50;
	plat.next_deadline_ns = vm_guest_tsc(&guest.vm) + 200;
	s = script_msr_read(UNKNOWN_MSR);
	s->before = jump_clock;
	s->arg = &later;
	script(EXIT_INTR_WINDOW, 0);
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(0)->inject);
	/* The deadline of the first entry is the device timer's. */
	assert_int_not_equal(run_request(0)->deadline, 0);
	assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
	assert_true(run_request(1)->intr_window);
	assert_int_equal(plat.taken, 1); /* at the third entry */
	assert_true(run_request(2)->inject);
	assert_int_equal(run_request(2)->event.type, VCPU_EVENT_EXTERNAL_INTR);
	assert_int_equal(run_request(2)->event.vector, 0x50);
	assert_false(run_request(2)->intr_window);
}

/*
 * Time the guest does not run is not guest time (hide_exit_time): the
 * guest's TSC at the next entry is where it was at the exit, to within the
 * TSC reads between taking the offset and entering.
 */
#define TSC_READ_COST 1000

static void guest_runs_a_while(struct vcpu *vcpu, void *arg)
{
	(void)vcpu;
	(void)arg;
	fake_host_tsc += 50000;
}

static void test_exit_time_is_hidden(void **state)
{
	u64 args[2];
	u64 guest_at_exit, guest_at_entry, host_spent;

	(void)state;
	guest.vm.hide_exit_time = true; /* as the lean path's run has not */
	guest.vm.clock_frozen = false;
	fake_host_tsc_step = TSC_READ_COST;
	script(EXIT_CPUID, 2)->before = guest_runs_a_while;
	script_exit(args, 0);
	run_loop();
	guest_at_exit =
	    guest.be.run_host_tsc[0] + 50000 + run_request(0)->tsc_offset;
	guest_at_entry = guest.be.run_host_tsc[1] + run_request(1)->tsc_offset;
	host_spent =
	    guest.be.run_host_tsc[1] - guest.be.run_host_tsc[0] - 50000;
	assert_true(host_spent >= 2 * TSC_READ_COST);
	assert_true(guest_at_entry >= guest_at_exit);
	assert_true(guest_at_entry - guest_at_exit <= TSC_READ_COST);
}

/* Without hide_exit_time the guest's clock is the host's plus its offset. */
static void test_request_carries_the_tsc_offset(void **state)
{
	u64 args[2];

	(void)state;
	guest.vm.tsc_offset = 0x1234;
	guest.vm.hide_exit_time = false;
	guest.vm.clock_frozen = false;
	fake_host_tsc_step = TSC_READ_COST;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(0)->tsc_offset, 0x1234);
	assert_int_equal(run_request(0)->deadline, 0); /* no timer */
	assert_int_equal(run_request(1)->tsc_offset, 0x1234);
}

/* A para-virtual timer becomes the run's deadline, then an interrupt. */
static void test_pv_timer(void **state)
{
	u64 arm[2];
	u64 args[2];
	u64 ticks = tsc_from_us(10);
	struct fake_step *s;

	(void)state;
	guest.vm.hide_exit_time = false;
	guest.vm.clock_frozen = false;
	guest.vm.tsc_offset = 0;
	fake_host_tsc = 1000000;
	script_pv_timer(arm, 0x61, 10);
	/* The guest runs until the deadline of the request. */
	s = script(EXIT_PREEMPT_TIMER, 0);
	s->before = jump_clock;
	s->arg = &ticks;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(0)->deadline, 0);
	/* Armed at guest TSC 1000000 + 10 us; offset 0: that host TSC. */
	assert_int_equal(run_request(1)->deadline, 1000000 + ticks);
	assert_false(run_request(1)->inject);
	assert_true(run_request(2)->inject);
	assert_int_equal(run_request(2)->event.type, VCPU_EVENT_EXTERNAL_INTR);
	assert_int_equal(run_request(2)->event.vector, 0x61);
	assert_int_equal(run_request(2)->deadline, 0); /* one-shot: spent */
	assert_int_equal(guest.vcpu.timer_deadline, 0);
	assert_int_equal(guest.vcpu.exits[EXIT_PREEMPT_TIMER], 1);
}

/* The guest's deadline as a host TSC; one the host TSC cannot reach is
 * "never", not a value in the past. */
static void test_deadline_far_in_the_future(void **state)
{
	u64 args[2];

	(void)state;
	guest.vm.hide_exit_time = false;
	guest.vm.clock_frozen = false;
	guest.vm.tsc_offset = 0;
	plat.next_deadline_ns = (1ull << 40) + (1ull << 62) + 5;
	fake_host_tsc = 1ull << 40;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	/* More than 2^62 ticks ahead: never (no host deadline at all). */
	assert_int_equal(run_request(0)->deadline, 0);

	fake_guest_free(&guest);
	setup(NULL);
	guest.vm.hide_exit_time = false;
	guest.vm.clock_frozen = false;
	/* The guest's TSC is near 2^64: guest now = 2^64 - 100. */
	fake_host_tsc = 1000;
	guest.vm.tsc_offset = 0 - 1100ull;
	plat.next_deadline_ns = ~0ull - 9; /* 90 ticks ahead */
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(0)->deadline, 1000 + 90);

	/* So far ahead that the host TSC could wrap: never, not the past. */
	fake_guest_free(&guest);
	setup(NULL);
	guest.vm.hide_exit_time = false;
	guest.vm.clock_frozen = false;
	fake_host_tsc = 1ull << 63;
	guest.vm.tsc_offset = 10 - (1ull << 63); /* guest now = 10 */
	plat.next_deadline_ns = (1ull << 63) + 100;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(0)->deadline, 0);
}

/* HLT with interrupts off and nothing pending can never wake. */
static void test_hlt_with_interrupts_disabled(void **state)
{
	(void)state;
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	script(EXIT_HLT, 1);
	run_loop();
	assert_stopped("halted with interrupts disabled", 1);
}

/* A KVM kick (core/kvmpv.h) before the HLT ends it at once, interrupts
 * off or not, and only that one HLT. */
static void test_hlt_after_a_kvm_kick(void **state)
{
	(void)state;
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	guest.vcpu.pv_unhalted = true;
	script(EXIT_HLT, 1);
	script(EXIT_HLT, 1);
	run_loop();
	/* The first completed; the second is the usual dead end. */
	assert_false(guest.vcpu.pv_unhalted);
	assert_int_equal(run_request(1)->skip, 1);
	assert_stopped("halted with interrupts disabled", 2);
}

static void test_hlt_with_nothing_armed(void **state)
{
	(void)state;
	script(EXIT_HLT, 1);
	run_loop();
	assert_stopped("no interrupt source armed", 1);
}

/* HLT waits for the timer: the guest's clock runs (TSC steps here). */
static void test_hlt_wakes_on_the_pv_timer(void **state)
{
	u64 arm[2];
	u64 args[2];

	(void)state;
	fake_host_tsc_step = 100;
	script_pv_timer(arm, 0x62, 1);
	script(EXIT_HLT, 1);
	script_exit(args, 0);
	run_loop();
	/* A halting vCPU lets the console show its partial line (a prompt). */
	assert_int_equal(fake_console_calls.writer_halts, 1);
	assert_int_equal(guest.be.run_count, 3);
	assert_int_equal(run_request(2)->skip, 1);
	assert_true(run_request(2)->inject);
	assert_int_equal(run_request(2)->event.vector, 0x62);
}

/*
 * HLT with RFLAGS.IF clear: a waiting maskable interrupt does not resume it
 * (SDM Vol. 2A HLT), so with no NMI that could come it can never wake.
 */
static void
test_hlt_with_interrupts_off_ignores_a_waiting_interrupt(void **state)
{
	(void)state;
	plat.pending = 1;
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	script(EXIT_HLT, 1);
	run_loop();
	assert_stopped("halted with interrupts disabled", 1);
}

/* ---- NMIs (SDM Vol. 3A 6.7.1; Vol. 3C 26.3.1.5) */

/* A device raises an NMI while the guest runs. */
static void raise_nmi_in_run(struct vcpu *vcpu, void *arg)
{
	(void)vcpu;
	(void)arg;
	plat.nmi = true;
}

static void assert_nmi(const struct vcpu_entry *e)
{
	assert_true(e->inject);
	assert_int_equal(e->event.type, VCPU_EVENT_NMI);
	assert_int_equal(e->event.vector, X86_VECTOR_NMI);
	assert_false(e->nmi_window);
}

/* A waiting NMI goes in at the next entry the guest can take it. */
static void test_nmi_injected_when_the_guest_can_take_it(void **state)
{
	u64 args[2];

	(void)state;
	plat.nmi = true;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_nmi(run_request(0));
	assert_false(run_request(0)->intr_window);
	assert_int_equal(plat.nmis_taken, 1);
	/* Delivered once. */
	assert_false(run_request(1)->inject);
	assert_false(run_request(1)->nmi_window);
}

/* NMI before an external interrupt; the interrupt waits for a window. */
static void test_nmi_goes_before_an_interrupt(void **state)
{
	u64 args[2];

	(void)state;
	plat.nmi = true;
	plat.pending = 1;
	plat.vector = 0x33;
	script(EXIT_INTR_WINDOW, 0);
	script_exit(args, 0);
	run_loop();
	assert_nmi(run_request(0));
	assert_true(run_request(0)->intr_window);
	assert_int_equal(plat.taken, 1); /* at entry 1, not 0 */
	assert_true(run_request(1)->inject);
	assert_int_equal(run_request(1)->event.type, VCPU_EVENT_EXTERNAL_INTR);
	assert_int_equal(run_request(1)->event.vector, 0x33);
}

/*
 * RFLAGS.IF does not mask NMIs, but with IF clear core cannot tell a
 * MOV-SS shadow from none: it asks for an NMI window, and the NMI goes in
 * at that exit, IF still clear. A skip ends any shadow: the NMI goes in.
 */
static void test_nmi_with_interrupts_off(void **state)
{
	u64 args[2];

	(void)state;
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	plat.nmi = true;
	script(EXIT_NMI_WINDOW, 0);
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(0)->inject);
	assert_true(run_request(0)->nmi_window);
	assert_false(run_request(0)->intr_window);
	assert_nmi(run_request(1));
	assert_int_equal(plat.nmis_taken, 1);
	assert_int_equal(guest.vcpu.exits[EXIT_NMI_WINDOW], 1);

	fake_guest_free(&guest);
	setup(NULL);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	plat.nmi = true;
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_true(run_request(0)->nmi_window);
	assert_int_equal(run_request(1)->skip, 2);
	assert_nmi(run_request(1));
}

static void unblock_nmis(struct vcpu *vcpu, void *arg)
{
	struct fake_backend *be = vcpu->vendor;

	(void)arg;
	be->field[VCPU_NMI_BLOCKED] = 0;
}

/*
 * While the guest blocks NMIs (from one NMI to its IRET) the next one
 * waits, even across a completed instruction, for the NMI window that the
 * IRET opens.
 */
static void test_nmi_waits_for_the_iret(void **state)
{
	u64 args[2];

	(void)state;
	fake_set(&guest, VCPU_NMI_BLOCKED, 1);
	plat.nmi = true;
	script(EXIT_CPUID, 2);
	script(EXIT_NMI_WINDOW, 0)->before = unblock_nmis;
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(0)->inject);
	assert_true(run_request(0)->nmi_window);
	assert_int_equal(run_request(1)->skip, 2);
	assert_false(run_request(1)->inject);
	assert_true(run_request(1)->nmi_window);
	assert_nmi(run_request(2));
}

/*
 * An exception a handler queued goes first; the NMI that arrived with the
 * same exit (say, an ICR write) waits for the window after it.
 */
static void test_nmi_waits_behind_an_exception(void **state)
{
	u64 args[2];

	(void)state;
	script(EXIT_INVALID_INSN, 3)->before = raise_nmi_in_run;
	script(EXIT_NMI_WINDOW, 0);
	script_exit(args, 0);
	run_loop();
	assert_false(run_request(0)->inject);
	assert_exception(run_request(1), X86_VECTOR_UD, false, 0);
	assert_true(run_request(1)->nmi_window);
	assert_nmi(run_request(2));
}

/* An NMI window exit with no NMI waiting just resumes. */
static void test_stray_nmi_window_resumes(void **state)
{
	u64 args[2];

	(void)state;
	script(EXIT_NMI_WINDOW, 0);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_false(run_request(1)->inject);
	assert_int_equal(run_request(1)->skip, 0);
}

/* HLT with IF clear: a waiting NMI completes it and goes in. */
static void test_hlt_wakes_on_an_nmi_with_interrupts_off(void **state)
{
	u64 args[2];

	(void)state;
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	script(EXIT_HLT, 1)->before = raise_nmi_in_run;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(1)->skip, 1);
	assert_nmi(run_request(1));
}

/*
 * HLT with IF clear and an IOAPIC entry routing NMIs waits for a device
 * to send one (the guest's clock runs meanwhile), instead of stopping the
 * guest; one that blocks NMIs can never wake and is stopped.
 */
static void test_hlt_waits_for_a_routed_nmi(void **state)
{
	u64 args[2];

	(void)state;
	fake_host_tsc_step = 100;
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	fake_set(&guest, VCPU_INTERRUPTIBLE, 0);
	plat.nmi_route = true;
	plat.timer_raises_nmi = true;
	plat.next_deadline_ns = vm_guest_tsc(&guest.vm) + 5000;
	script(EXIT_HLT, 1);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(1)->skip, 1);
	assert_nmi(run_request(1));
	assert_true(vm_guest_tsc(&guest.vm) > 5000);

	fake_guest_free(&guest);
	setup(NULL);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED);
	fake_set(&guest, VCPU_NMI_BLOCKED, 1);
	plat.nmi_route = true;
	plat.next_deadline_ns = 1;
	script(EXIT_HLT, 1);
	run_loop();
	assert_stopped("halted with interrupts disabled", 1);
}

/* ---- statistics */

static void test_exit_counts(void **state)
{
	u64 args[2];

	(void)state;
	script(EXIT_CPUID, 2);
	script(EXIT_CPUID, 2);
	script(EXIT_EXTERNAL_INTR, 0);
	script_msr_read(MSR_X2APIC_FIRST + 3);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 2);
	assert_int_equal(guest.vcpu.exits[EXIT_EXTERNAL_INTR], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_MSR_READ], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_HYPERCALL], 1);
	assert_int_equal(guest.vcpu.exits_total, 5);
	/* The platform's MSR went to the platform (which reads its index). */
	assert_int_equal(guest.be.run_regs[4].gpr[GPR_RAX],
			 MSR_X2APIC_FIRST + 3);
}

/* ---- the lean path (core/vcpu.h, vcpu_exit_lean) */

/* The fake takes the lean path, which hidden exit time would refuse. */
static void lean_on(void)
{
	guest.be.lean = true;
	guest.vm.hide_exit_time = false;
}

/*
 * CPUID, a quiet RDMSR and CPUID again are completed inside one run():
 * skipped, counted, with their results; the HC_EXIT, which is not quiet,
 * comes back to the loop.
 */
static void test_lean_path_completes_quiet_exits_in_one_run(void **state)
{
	u64 args[2];

	(void)state;
	lean_on();
	script(EXIT_CPUID, 2);
	gpr()[GPR_RAX] = 0x40000000;
	script_msr_read(MSR_IA32_PAT);
	script(EXIT_CPUID, 3);
	script_exit(args, 4);
	assert_int_equal(run_loop(), VCPU_LOOP_ENDED);
	assert_int_equal(guest.vm.exit_code, 4);
	assert_int_equal(guest.be.calls, 1);
	assert_int_equal(guest.be.lean_exits, 3);
	assert_int_equal(guest.be.run_count, 4);
	assert_int_equal(run_request(1)->skip, 2);
	assert_int_equal(run_request(2)->skip, 2);
	assert_int_equal(run_request(3)->skip, 3);
	assert_int_equal(fake_get(&guest, VCPU_RIP), CODE + 7);
	/* Veneer's CPUID leaf answered before the RDMSR ran. */
	assert_int_equal(guest.be.run_regs[1].gpr[GPR_RBX] & 0xffffffff,
			 0x454e4556); /* "VENE" */
	assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 2);
	assert_int_equal(guest.vcpu.exits[EXIT_MSR_READ], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_HYPERCALL], 1);
	assert_int_equal(guest.vcpu.exits_total, 4);
}

/* As the shell's stop does (core/shell.c): the request, then a wake-up. */
static void request_stop(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	vcpu->vm->stop_request = true;
	vm_wake_vcpu(vcpu->vm, vcpu->index);
}

static void wake_it(struct vcpu *vcpu, void *arg)
{
	(void)arg;
	vm_wake_vcpu(vcpu->vm, vcpu->index);
}

/*
 * Work for the loop ends the lean path: a wake-up (the loop looks at its
 * events, then goes on) and the operator's stop (the loop carries it
 * out). Each such exit is still handled once and counted once.
 */
static void test_lean_path_leaves_due_work_to_the_loop(void **state)
{
	(void)state;
	lean_on();
	guest.vm.vcpus[0] = &guest.vcpu;
	guest.vm.vcpu_count = 1;
	script(EXIT_CPUID, 2);
	script(EXIT_CPUID, 2)->before = wake_it;
	script(EXIT_CPUID, 2);
	script(EXIT_CPUID, 2)->before = request_stop;
	assert_int_equal(run_loop(), VCPU_LOOP_ENDED);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_non_null(strstr(guest.vm.stop_reason, "by the operator"));
	assert_int_equal(guest.be.run_count, 4);
	assert_int_equal(guest.be.calls, 2);
	assert_int_equal(guest.be.lean_exits, 2);
	assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 4);
	assert_int_equal(guest.vcpu.exits_total, 4);
}

/*
 * No lean path for a vCPU that shares its CPU (its turn is handed on
 * between exits) or whose exits are hidden from its clock: every exit
 * comes back to the loop.
 */
static void test_lean_path_not_taken_shared_or_hidden(void **state)
{
	u64 args[2];

	(void)state;
	for (u32 round = 0; round < 3; round++) {
		fake_guest_free(&guest);
		setup(NULL);
		lean_on();
		guest.vcpu.shares_cpu = round == 1;
		guest.vm.hide_exit_time = round == 2;
		fake_shared = round == 1;
		script(EXIT_CPUID, 2);
		script(EXIT_CPUID, 2);
		script_exit(args, 0);
		run_loop();
		assert_int_equal(guest.be.lean_exits, round == 0 ? 2 : 0);
		assert_int_equal(guest.be.calls, round == 0 ? 1 : 3);
		assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 2);
	}
	fake_shared = false;
}

/*
 * The lean path ends where the request's deadline does (host TSC, the
 * guest's timer less the offset): a CPUID before it is completed in the
 * run, one after it goes to the loop, which injects the timer's interrupt
 * at the next entry. A guest TSC far from the host's shows which clock the
 * deadline is compared with.
 */
static void test_lean_path_stops_at_the_deadline(void **state)
{
	u64 arm[2];
	u64 ticks = tsc_from_us(10);
	struct fake_step *s;
	u64 args[2];

	(void)state;
	lean_on();
	guest.vm.clock_frozen = false;
	guest.vm.tsc_offset = 1ull << 40;
	fake_host_tsc = 1000000;
	script_pv_timer(arm, 0x61, 10);
	script(EXIT_CPUID, 2);
	s = script(EXIT_CPUID, 2);
	s->before = jump_clock;
	s->arg = &ticks;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(run_request(1)->deadline, 1000000 + ticks);
	assert_int_equal(guest.be.calls, 3);
	assert_int_equal(guest.be.lean_exits, 1);
	assert_true(run_request(3)->inject);
	assert_int_equal(run_request(3)->event.vector, 0x61);
	assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 2);
}

/*
 * A handler on the lean path that queues #GP (an unknown MSR) leaves the
 * exit to the loop as decided: the #GP reaches the next entry, RIP
 * stays, the exit is counted once, and the lean path goes on after it.
 */
static void test_lean_path_gp_reaches_the_next_entry(void **state)
{
	u64 args[2];

	(void)state;
	lean_on();
	script_msr_read(UNKNOWN_MSR);
	script(EXIT_CPUID, 2);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.be.calls, 2);
	assert_int_equal(guest.be.lean_exits, 1);
	assert_exception(run_request(1), X86_VECTOR_GP, true, 0);
	assert_int_equal(run_request(1)->skip, 0);
	assert_int_equal(guest.be.run_rip[1], CODE);
	assert_false(run_request(2)->inject);
	assert_int_equal(run_request(2)->skip, 2);
	assert_int_equal(guest.vcpu.exits[EXIT_MSR_READ], 1);
	assert_int_equal(guest.vcpu.exits[EXIT_CPUID], 1);
	assert_int_equal(guest.vcpu.exits_total, 3);
}

/*
 * No length from the backend (AMD-V without NRIP save): the lean path
 * takes an unprefixed instruction read in place, and leaves a prefixed
 * one to the loop's full decode. Device MSRs never take it.
 */
static void test_lean_path_reads_plain_lengths_only(void **state)
{
	static const u8 code[] = {0x0f, 0xa2, 0x66, 0x0f, 0xa2, 0x0f, 0x32};
	u64 args[2];

	(void)state;
	lean_on();
	memcpy(guest.ram + CODE, code, sizeof(code));
	script(EXIT_CPUID, 0);
	script(EXIT_CPUID, 0);
	script_msr_read(MSR_X2APIC_FIRST + 3)->ev.insn_len = 0;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.be.lean_exits, 1);
	assert_int_equal(guest.be.calls, 3);
	assert_int_equal(run_request(1)->skip, 2);
	assert_int_equal(run_request(2)->skip, 3);
	assert_int_equal(run_request(3)->skip, 2);
	assert_int_equal(fake_get(&guest, VCPU_RIP), CODE + 7);
}

/* A device whose reads are quiet (struct io_handler.read_quiet); a read
 * may raise an interrupt, as a UART's IRQ line may rise. */
#define QUIET_PORT 0x3f8
#define QUIET_MMIO 0xfee00000ull

static struct {
	u32 reads, writes;
	bool raise;
} quiet_dev;

static u32 quiet_read(void *opaque, u16 port, u8 size)
{
	(void)opaque;
	(void)port;
	(void)size;
	quiet_dev.reads++;
	if (quiet_dev.raise)
		plat.pending = 1;
	return 0x5a;
}

static void quiet_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)opaque;
	(void)port;
	(void)size;
	(void)value;
	quiet_dev.writes++;
}

static int quiet_mmio_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			   u64 *value)
{
	(void)opaque;
	(void)vcpu;
	(void)offset;
	(void)size;
	quiet_dev.reads++;
	*value = 0x1234;
	return 0;
}

static void add_quiet_device(void)
{
	const struct io_handler h = {.first = QUIET_PORT,
				     .last = QUIET_PORT + 7,
				     .read = quiet_read,
				     .write = quiet_write,
				     .name = "quiet",
				     .read_quiet = true};
	const struct mmio_region r = {.base = QUIET_MMIO,
				      .size = 0x1000,
				      .read = quiet_mmio_read,
				      .write = mmio_write,
				      .name = "quiet",
				      .read_quiet = true};

	memset(&quiet_dev, 0, sizeof(quiet_dev));
	assert_true(iobus_register(&guest.vm.io, &h));
	assert_true(mmio_register(&guest.vm.mmio, &r));
}

static struct fake_step *script_io(u16 port, bool in, bool string)
{
	struct fake_step *s = script(EXIT_IO, string ? 2 : 1);

	s->ev.io.port = port;
	s->ev.io.size = 1;
	s->ev.io.in = in;
	s->ev.io.string = string;
	s->ev.io.address_size = 8;
	return s;
}

/*
 * Port I/O and MMIO take the lean path when the access was quiet: a read
 * of a quiet device (port and MMIO) and a read of a port nobody owns.
 * A write to the device, a string IN and an MMIO write go to the loop.
 */
static void test_lean_path_takes_quiet_accesses(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	lean_on();
	add_quiet_device();
	/* RIP moves by each exit's length: the MMIO read at CODE + 2, the
	 * MMIO write at CODE + 7. */
	memcpy(guest.ram + CODE + 2, "\x8b\x03", 2); /* mov eax, [rbx] */
	memcpy(guest.ram + CODE + 7, "\x89\x0b", 2); /* mov [rbx], ecx */
	gpr()[GPR_RAX] = 0x1100;
	gpr()[GPR_RDI] = 0x2000;
	script_io(QUIET_PORT + 5, true, false);
	script_io(0x2f0, true, false);
	s = script(EXIT_GPA_FAULT, 0);
	s->ev.gpa_fault.gpa = QUIET_MMIO + 0x30;
	script_io(QUIET_PORT, false, false);
	script_io(QUIET_PORT, true, true);
	s = script(EXIT_GPA_FAULT, 0);
	s->ev.gpa_fault.gpa = QUIET_MMIO;
	s->ev.gpa_fault.write = true;
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(guest.be.lean_exits, 3);
	assert_int_equal(guest.be.calls, 4);
	assert_int_equal(quiet_dev.reads, 3);
	assert_int_equal(quiet_dev.writes, 1);
	assert_int_equal(mmio_dev.writes, 1);
	/* One entry per exit, lean or not, each completing the last. */
	assert_int_equal(guest.be.run_count, 7);
	assert_int_equal(run_request(1)->skip, 1);
	assert_int_equal(run_request(2)->skip, 1);
	assert_int_equal(run_request(3)->skip, 2);
	assert_int_equal(run_request(4)->skip, 1);
	assert_int_equal(run_request(5)->skip, 2);
	assert_int_equal(run_request(6)->skip, 2);
	/* The lean reads' results: IN AL, then the MMIO load. */
	assert_int_equal(guest.be.run_regs[1].gpr[GPR_RAX], 0x115a);
	assert_int_equal(guest.vcpu.exits[EXIT_IO], 4);
	assert_int_equal(guest.vcpu.exits[EXIT_GPA_FAULT], 2);
	assert_int_equal(guest.vm.io.unowned_accesses, 1);
}

/*
 * A quiet read after which an interrupt waits (the device raised its
 * line) goes to the loop, which injects it at the next entry with the
 * IN completed; the read is done and counted once.
 */
static void test_lean_path_access_that_raises_an_interrupt(void **state)
{
	u64 args[2];

	(void)state;
	lean_on();
	add_quiet_device();
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_IF);
	quiet_dev.raise = true;
	script_io(QUIET_PORT, true, false);
	script_exit(args, 0);
	run_loop();
	assert_int_equal(guest.be.lean_exits, 0);
	assert_int_equal(quiet_dev.reads, 1);
	assert_true(run_request(1)->inject);
	assert_int_equal(run_request(1)->event.vector, plat.vector);
	assert_int_equal(run_request(1)->skip, 1);
	assert_int_equal(guest.be.run_regs[1].gpr[GPR_RAX] & 0xff, 0x5a);
	assert_int_equal(guest.vcpu.exits[EXIT_IO], 1);
}

/*
 * Not while the platform's APIC is behind the guest's: the guest moved
 * CR8 in guest mode (vcpu_caps.cr8_in_guest), which a read may depend on.
 */
static void test_lean_path_access_after_a_cr8_move(void **state)
{
	struct fake_step *s;
	u64 args[2];

	(void)state;
	lean_on();
	add_quiet_device();
	vcpu_caps.cr8_in_guest = true;
	s = script_io(QUIET_PORT, true, false);
	s->before = guest_writes_cr8_2;
	script_io(QUIET_PORT, true, false);
	script_exit(args, 0);
	run_loop();
	vcpu_caps.cr8_in_guest = false;
	assert_int_equal(guest.be.lean_exits, 1);
	assert_int_equal(plat.tpr, 0x20);
	assert_int_equal(quiet_dev.reads, 2);
}

/*
 * Issue 11: with clock=virtual and several vCPUs, the guest's clock stands
 * still only while none of them is in guest time, and its offset moves
 * only then: every vCPU reads one TSC.
 */
static void test_virtual_clock_stops_only_when_no_vcpu_runs(void **state)
{
	struct vm *vm = &guest.vm;
	u64 offset;

	(void)state;
	vm->hide_exit_time = true;
	vm->clock_frozen = true;
	vm->clock_users = 0;
	vm->tsc_offset = 0;
	fake_host_tsc = 1000;
	vm->frozen_host_tsc = 1000;
	fake_host_tsc = 1500;
	vm_clock_resume(vm); /* vCPU 0 enters: 500 ticks hidden */
	assert_false(vm->clock_frozen);
	assert_int_equal(vm->tsc_offset, (u64)-500);
	offset = vm->tsc_offset;
	fake_host_tsc = 1600;
	vm_clock_resume(vm); /* vCPU 1 enters: nothing moves */
	fake_host_tsc = 1700;
	vm_clock_freeze(vm); /* vCPU 0 exits; vCPU 1 still runs */
	assert_false(vm->clock_frozen);
	fake_host_tsc = 1900;
	assert_int_equal(vm_guest_tsc(vm), 1900 + offset);
	vm_clock_resume(vm); /* vCPU 0 back: the offset is the same */
	assert_int_equal(vm->tsc_offset, offset);
	vm_clock_freeze(vm);
	fake_host_tsc = 2000;
	vm_clock_freeze(vm); /* the last one leaves: frozen at 2000 */
	assert_true(vm->clock_frozen);
	assert_int_equal(vm->clock_users, 0);
	fake_host_tsc = 5000;
	assert_int_equal(vm_guest_tsc(vm), 2000 + offset);
	vm_clock_resume(vm);
	assert_int_equal(vm->tsc_offset, offset - 3000);
	vm_clock_freeze(vm);
	vm->hide_exit_time = false;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_skip_goes_into_the_next_request),
	    T(test_lean_path_completes_quiet_exits_in_one_run),
	    T(test_lean_path_leaves_due_work_to_the_loop),
	    T(test_lean_path_not_taken_shared_or_hidden),
	    T(test_lean_path_stops_at_the_deadline),
	    T(test_lean_path_gp_reaches_the_next_entry),
	    T(test_lean_path_reads_plain_lengths_only),
	    T(test_lean_path_takes_quiet_accesses),
	    T(test_lean_path_access_that_raises_an_interrupt),
	    T(test_lean_path_access_after_a_cr8_move),
	    T(test_pause_exits_yield_on_a_shared_cpu),
	    T(test_skips_accumulate_per_instruction),
	    T(test_loop_does_not_enter_an_ended_vm),
	    T(test_stop_while_running),
	    T(test_unhandled_exits_stop_the_guest),
	    T(test_unexpected_exceptions_and_cr_reads_stop_the_guest),
	    T(test_triple_fault_and_entry_failure),
	    T(test_bad_instruction_length_stops_the_guest),
	    T(test_gp_from_a_handler_reaches_the_next_entry),
	    T(test_invalid_instruction_is_ud),
	    T(test_alignment_check_goes_back),
	    T(test_ud_on_vmcall_is_a_hypercall),
	    T(test_ud_on_anything_else_goes_back),
	    T(test_ud_with_rip_at_the_end_of_ram),
	    T(test_cr4_write),
	    T(test_cr_writes_that_fault),
	    T(test_cr0_paging_needs_pae_for_long_mode),
	    T(test_cr0_clearing_paging_in_64bit_mode),
	    T(test_xsetbv_refusals),
	    T(test_gpa_fault_outside_ram_stops_the_guest),
	    T(test_gpa_fault_on_mmio_is_emulated),
	    T(test_walk_cache_dropped_after_every_run),
	    T(test_reset_request_ends_the_loop),
	    T(test_interrupt_injected_when_the_guest_can_take_it),
	    T(test_interrupt_window_when_the_guest_cannot),
	    T(test_interrupt_delivered_once_the_window_opens),
	    T(test_skip_ends_the_interrupt_shadow),
	    T(test_exception_and_pending_interrupt),
	    T(test_request_carries_the_tsc_offset),
	    T(test_exit_time_is_hidden),
	    T(test_pv_timer),
	    T(test_deadline_far_in_the_future),
	    T(test_hlt_with_interrupts_disabled),
	    T(test_hlt_after_a_kvm_kick),
	    T(test_hlt_with_nothing_armed),
	    T(test_hlt_wakes_on_the_pv_timer),
	    T(test_hlt_with_interrupts_off_ignores_a_waiting_interrupt),
	    T(test_exit_counts),
	    T(test_nmi_injected_when_the_guest_can_take_it),
	    T(test_nmi_goes_before_an_interrupt),
	    T(test_nmi_with_interrupts_off),
	    T(test_nmi_waits_for_the_iret),
	    T(test_nmi_waits_behind_an_exception),
	    T(test_stray_nmi_window_resumes),
	    T(test_hlt_wakes_on_an_nmi_with_interrupts_off),
	    T(test_hlt_waits_for_a_routed_nmi),
	    T(test_virtual_clock_stops_only_when_no_vcpu_runs),
	    T(test_cr8_is_the_guest_tpr),
	    T(test_apic_virt_entry_and_eoi_exit),
	    T(test_apic_virt_off),
	    T(test_hlt_wakes_for_an_interrupt_the_cpu_delivers),
	    T(test_cr8_in_guest_follows_the_tpr),
	};
#undef T

	int failed = cmocka_run_group_tests_name("without the lean path", tests,
						 NULL, NULL);

	return failed + cmocka_run_group_tests_name("with the lean path", tests,
						    lean_path_on, NULL);
}
