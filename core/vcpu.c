/* SPDX-License-Identifier: MIT */
/*
 * The vCPU run loop and exit dispatch: the one place where exits are
 * decided and RIP is advanced.
 *
 *   loop: apply pending work (timer, injections) -> vendor run ->
 *         count the exit -> handler from exit_handlers[] -> commit
 */
#include "core/handlers.h"
#include "core/console.h"
#include "core/hypercall.h"
#include "core/platform.h"
#include "core/vm.h"
#include "core/printk.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"

_Static_assert(__builtin_offsetof(struct vcpu, regs) == 0,
	       "entry stubs find the guest registers at offset 0");
_Static_assert(sizeof(struct guest_gprs) == 16 * 8,
	       "entry stubs save 16 registers");

#define X86_VECTOR_UD 6
#define X86_VECTOR_GP 13
#define XCR0_X87      BIT(0)
#define XCR0_SSE      BIT(1)
#define XCR0_AVX      BIT(2)

static const char *const exit_kind_names[EXIT_KIND_COUNT] = {
    [EXIT_NONE] = "none",
    [EXIT_CPUID] = "cpuid",
    [EXIT_IO] = "io",
    [EXIT_MSR_READ] = "rdmsr",
    [EXIT_MSR_WRITE] = "wrmsr",
    [EXIT_HLT] = "hlt",
    [EXIT_HYPERCALL] = "hypercall",
    [EXIT_CR_ACCESS] = "cr-access",
    [EXIT_XSETBV] = "xsetbv",
    [EXIT_EXTERNAL_INTR] = "external-interrupt",
    [EXIT_NMI] = "nmi",
    [EXIT_INTR_WINDOW] = "interrupt-window",
    [EXIT_PREEMPT_TIMER] = "preemption-timer",
    [EXIT_TRIPLE_FAULT] = "triple-fault",
    [EXIT_NPF] = "npf",
    [EXIT_EXCEPTION] = "exception",
    [EXIT_INIT] = "init",
    [EXIT_SIPI] = "sipi",
    [EXIT_INVALID_INSN] = "invalid-instruction",
    [EXIT_ENTRY_FAILED] = "entry-failed",
    [EXIT_UNKNOWN] = "unknown",
};

const char *exit_kind_name(enum exit_kind kind)
{
	if ((u32)kind >= EXIT_KIND_COUNT || !exit_kind_names[kind])
		return "invalid";
	return exit_kind_names[kind];
}

static void inject_exception(struct vcpu *vcpu, u8 vector, bool has_error)
{
	struct vcpu_event e = {.type = VCPU_EVENT_EXCEPTION,
			       .vector = vector,
			       .has_error_code = has_error,
			       .error_code = 0};

	vcpu_ops->inject(vcpu, &e);
}

void vcpu_inject_gp(struct vcpu *vcpu)
{
	inject_exception(vcpu, X86_VECTOR_GP, true);
}

void vcpu_inject_ud(struct vcpu *vcpu)
{
	inject_exception(vcpu, X86_VECTOR_UD, false);
}

static u64 guest_rip(struct vcpu *vcpu)
{
	return vcpu_ops->read(vcpu, VCPU_RIP);
}

/* Nothing to do: the exit only gave the host a chance to run. */
static enum exit_action handle_resume(struct vcpu *vcpu, struct exit_event *ev)
{
	(void)vcpu;
	(void)ev;
	return EXIT_ACTION_RESUME;
}

/* An interrupt (para-virtual timer or platform) is waiting for the vCPU. */
static bool interrupt_waiting(struct vcpu *vcpu)
{
	return vcpu->intr_pending ||
	       platform_interrupt_pending(vcpu->vm->platform, vcpu);
}

/* Guest TSC of the next timer of any kind for this vCPU, or 0. */
static u64 next_deadline(struct vcpu *vcpu)
{
	const struct platform *p = vcpu->vm->platform;
	u64 a = vcpu->timer_deadline;
	u64 b = platform_ns_to_tsc(p, platform_next_deadline_ns(p));

	if (!a)
		return b;
	if (!b)
		return a;
	return MIN(a, b);
}

/*
 * Make expired timers into pending interrupts and take console input:
 * everything that can happen to a vCPU while it is not running.
 */
static void update_events(struct vcpu *vcpu)
{
	if (vcpu->timer_deadline &&
	    vm_guest_tsc(vcpu->vm) >= vcpu->timer_deadline) {
		vcpu->timer_deadline = 0;
		vcpu->intr_pending = true;
		vcpu->pending_vector = vcpu->timer_vector;
	}
	/* Device timers: only one that is due has anything to fire. */
	if (platform_timer_due(vcpu->vm->platform))
		platform_tick(vcpu->vm->platform);
	console_poll(vcpu->vm);
	console_flush_stale(vcpu->vm);
}

/*
 * HLT: wait until an interrupt is waiting, then complete the instruction
 * (the interrupt is injected at the next entry). With interrupts disabled,
 * or with no timer armed and no console to type into, nothing can ever
 * wake the vCPU: Veneer stops the guest and says why.
 */
static enum exit_action handle_hlt(struct vcpu *vcpu, struct exit_event *ev)
{
	(void)ev;
	if (!(vcpu_ops->read(vcpu, VCPU_RFLAGS) & RFLAGS_IF)) {
		if (interrupt_waiting(vcpu))
			return EXIT_ACTION_SKIP; /* e.g. an NMI-less wake-up */
		vm_stop(vcpu->vm,
			"halted with interrupts disabled at rip 0x%llx",
			(unsigned long long)guest_rip(vcpu));
		return EXIT_ACTION_END;
	}
	/* Waiting is guest time: the guest's clock runs meanwhile. */
	vm_clock_resume(vcpu->vm);
	for (;;) {
		update_events(vcpu);
		if (interrupt_waiting(vcpu) || !vm_running(vcpu->vm)) {
			vm_clock_freeze(vcpu->vm);
			return EXIT_ACTION_SKIP;
		}
		if (!next_deadline(vcpu) && !console_has_focus(vcpu->vm)) {
			vm_stop(vcpu->vm,
				"halted at rip 0x%llx with no interrupt source "
				"armed",
				(unsigned long long)guest_rip(vcpu));
			return EXIT_ACTION_END;
		}
		cpu_relax();
	}
}

static enum exit_action handle_npf(struct vcpu *vcpu, struct exit_event *ev)
{
	const struct mmio_region *r = mmio_find(&vcpu->vm->mmio, ev->npf.gpa);

	if (r)
		return mmio_emulate(vcpu, ev, r);
	const char *what = ev->npf.exec	   ? "execute"
			   : ev->npf.write ? "write"
					   : "read";

	vm_stop(vcpu->vm,
		"%s access to guest-physical 0x%llx outside its RAM "
		"(0x0-0x%llx) at rip 0x%llx",
		what, (unsigned long long)ev->npf.gpa,
		(unsigned long long)vcpu->vm->ram_size,
		(unsigned long long)guest_rip(vcpu));
	return EXIT_ACTION_END;
}

static enum exit_action handle_triple_fault(struct vcpu *vcpu,
					    struct exit_event *ev)
{
	(void)ev;
	vm_stop(vcpu->vm, "triple fault at rip 0x%llx",
		(unsigned long long)guest_rip(vcpu));
	return EXIT_ACTION_END;
}

/* VMX / SVM instructions in the guest: there is no nested virtualization. */
static enum exit_action handle_invalid_insn(struct vcpu *vcpu,
					    struct exit_event *ev)
{
	(void)ev;
	vcpu_inject_ud(vcpu);
	return EXIT_ACTION_RESUME;
}

/* XSETBV (SDM Vol. 2C): XCR0 only, x87 always set, AVX needs SSE, and only
 * the components guests are offered (core/cpuid.c). The host's XCR0 then
 * follows the guest's: the host itself uses no extended state. */
static enum exit_action handle_xsetbv(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *g = vcpu->regs.gpr;
	u64 value = (g[GPR_RDX] << 32) | (u32)g[GPR_RAX];

	(void)ev;
	if ((u32)g[GPR_RCX] != 0 || !(value & XCR0_X87) ||
	    (value & ~guest_xcr0_mask()) ||
	    ((value & XCR0_AVX) && !(value & XCR0_SSE)) ||
	    !(read_cr4() & CR4_OSXSAVE)) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	__asm__ volatile("xsetbv" ::"c"(0), "a"((u32)value),
			 "d"((u32)(value >> 32)));
	return EXIT_ACTION_SKIP;
}

static enum exit_action handle_entry_failed(struct vcpu *vcpu,
					    struct exit_event *ev)
{
	vm_stop(vcpu->vm,
		"VM entry failed: %s (VM-instruction error %u, field 0x%llx)",
		ev->fail.what ? ev->fail.what : "no detail",
		ev->fail.vm_instruction_error,
		(unsigned long long)ev->fail.field);
	vcpu_ops->dump(vcpu);
	return EXIT_ACTION_END;
}

/* Default-deny: an exit nobody handles stops the guest. */
static enum exit_action handle_unhandled(struct vcpu *vcpu,
					 struct exit_event *ev)
{
	vm_stop(vcpu->vm,
		"unhandled exit %s (%s, vendor reason 0x%llx) at rip 0x%llx",
		exit_kind_name(ev->kind),
		ev->vendor_name ? ev->vendor_name : "?",
		(unsigned long long)ev->vendor_reason,
		(unsigned long long)guest_rip(vcpu));
	vcpu_ops->dump(vcpu);
	return EXIT_ACTION_END;
}

static const exit_handler_fn exit_handlers[EXIT_KIND_COUNT] = {
    [EXIT_NONE] = handle_resume,
    [EXIT_CPUID] = handle_cpuid,
    [EXIT_IO] = handle_io,
    [EXIT_MSR_READ] = handle_msr_read,
    [EXIT_MSR_WRITE] = handle_msr_write,
    [EXIT_HLT] = handle_hlt,
    [EXIT_HYPERCALL] = handle_hypercall,
    [EXIT_XSETBV] = handle_xsetbv,
    [EXIT_EXTERNAL_INTR] = handle_resume,
    [EXIT_NMI] = handle_resume,
    [EXIT_INTR_WINDOW] = handle_resume,
    [EXIT_PREEMPT_TIMER] = handle_resume,
    [EXIT_TRIPLE_FAULT] = handle_triple_fault,
    [EXIT_NPF] = handle_npf,
    [EXIT_INVALID_INSN] = handle_invalid_insn,
    [EXIT_ENTRY_FAILED] = handle_entry_failed,
    /* CR access, exceptions, INIT, SIPI, unknown: not handled yet. */
};

static enum exit_action dispatch(struct vcpu *vcpu, struct exit_event *ev)
{
	exit_handler_fn fn = NULL;

	if ((u32)ev->kind < EXIT_KIND_COUNT)
		fn = exit_handlers[ev->kind];
	if (!fn)
		fn = handle_unhandled;
	return fn(vcpu, ev);
}

/*
 * Exits after which timers, interrupt lines and the console are as they
 * were: no device, no LAPIC MSR, not the guest's clock (IA32_TSC), not the
 * para-virtual timer or console. After one of these the next entry needs
 * no full update unless something falls due (apply_pending). `rax` is the
 * guest's RAX at the exit (the hypercall number).
 */
static bool exit_is_quiet(const struct exit_event *ev, u64 rax)
{
	switch (ev->kind) {
	case EXIT_NONE:
	case EXIT_CPUID:
	case EXIT_XSETBV:
	case EXIT_EXTERNAL_INTR:
	case EXIT_NMI:
	case EXIT_PREEMPT_TIMER:
		return true;
	case EXIT_MSR_READ:
		return !platform_handles_msr(ev->msr.index);
	case EXIT_MSR_WRITE:
		return !platform_handles_msr(ev->msr.index) &&
		       ev->msr.index != MSR_IA32_TSC;
	case EXIT_HYPERCALL:
		return rax == HC_VERSION || rax == HC_CPU_ID;
	default:
		return false;
	}
}

/* A timer or the console has work now (see struct vcpu.events_quiet). */
static bool events_due(const struct vcpu *vcpu)
{
	const struct vm *vm = vcpu->vm;
	u64 now = rdtsc();
	u64 guest =
	    (vm->clock_frozen ? vm->frozen_host_tsc : now) + vm->tsc_offset;

	return now >= vcpu->console_due ||
	       (vcpu->next_deadline && guest >= vcpu->next_deadline);
}

/*
 * Pending work, applied at one point before every entry: expired timers
 * become pending interrupts; one interrupt is injected when the guest can
 * take it, or an interrupt window is asked for; the next deadline is
 * computed. When the last exits changed nothing and nothing is due, all
 * of that would come out the same: it is skipped.
 */
static void apply_pending(struct vcpu *vcpu)
{
	bool waiting;

	if (vcpu->events_quiet && !events_due(vcpu))
		return;
	update_events(vcpu);
	waiting = interrupt_waiting(vcpu);
	if (waiting) {
		if (vcpu_ops->read(vcpu, VCPU_INTERRUPTIBLE)) {
			int vector = vcpu->intr_pending
					 ? vcpu->pending_vector
					 : platform_take_interrupt(
					       vcpu->vm->platform, vcpu);
			struct vcpu_event e = {
			    .type = VCPU_EVENT_EXTERNAL_INTR,
			    .vector = (u8)vector,
			};

			vcpu->intr_pending = false;
			if (vector >= 0)
				vcpu_ops->inject(vcpu, &e);
			waiting = interrupt_waiting(vcpu);
			vcpu_ops->request_intr_window(vcpu, waiting);
		} else {
			vcpu_ops->request_intr_window(vcpu, true);
		}
	}
	vcpu->next_deadline = next_deadline(vcpu);
	vcpu->console_due = console_next_due(vcpu->vm);
	vcpu->events_quiet = !waiting;
}

/* Enter with the guest's clock running and its next deadline set. */
static void enter(struct vcpu *vcpu, struct exit_event *ev)
{
	struct vm *vm = vcpu->vm;

	vm_clock_resume(vm);
	vcpu_ops->set_tsc_offset(vcpu, vm->tsc_offset);
	vcpu_ops->set_deadline(vcpu, vm_host_tsc_of(vm, vcpu->next_deadline));
	vcpu_ops->run(vcpu, ev);
	vm_clock_freeze(vm);
}

void vcpu_run_loop(struct vcpu *vcpu)
{
	struct exit_event ev;

	vcpu->state = VCPU_STATE_RUNNING;
	vcpu->events_quiet = false;
	while (vm_running(vcpu->vm)) {
		enum exit_action action;
		u64 rax;

		apply_pending(vcpu);
		enter(vcpu, &ev);
		if ((u32)ev.kind < EXIT_KIND_COUNT)
			vcpu->exits[ev.kind]++;
		vcpu->exits_total++;
		rax = vcpu->regs.gpr[GPR_RAX];
		action = dispatch(vcpu, &ev);
		if (!exit_is_quiet(&ev, rax))
			vcpu->events_quiet = false;
		if (action == EXIT_ACTION_END)
			break;
		if (vcpu->vm->platform->reset_requested) {
			vcpu->events_quiet = false;
			if (!vm_reboot(vcpu))
				break;
			continue;
		}
		if (action != EXIT_ACTION_SKIP)
			continue;
		if (ev.insn_len == 0 || ev.insn_len > 15) {
			vm_stop(vcpu->vm,
				"%s exit at rip 0x%llx: instruction length "
				"unknown",
				exit_kind_name(ev.kind),
				(unsigned long long)guest_rip(vcpu));
			break;
		}
		vcpu_ops->skip_instruction(vcpu, ev.insn_len);
	}
	vcpu->state = VCPU_STATE_ENDED;
}
