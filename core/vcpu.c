/* SPDX-License-Identifier: MIT */
/*
 * The vCPU run loop and exit dispatch: the one place where exits are
 * decided and where it is decided that RIP advances.
 *
 *   loop: apply pending work (timers, the interrupt to inject) into the
 *         entry request -> vendor run(request) -> count the exit ->
 *         handler from exit_handlers[] -> commit (skip) into the request
 */
#include "core/handlers.h"
#include "core/console.h"
#include "core/hypercall.h"
#include "core/kvmpv.h"
#include "core/passthrough.h"
#include "core/platform.h"
#include "core/vm.h"
#include "core/sched.h"
#include "core/lib/printk.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "core/decode.h"
#include "core/prefix.h"
#include "core/lib/string.h"

_Static_assert(__builtin_offsetof(struct vcpu, regs) == 0,
	       "the backends hand &vcpu->regs to the entry stubs");

static u64 guest_rip(struct vcpu *vcpu)
{
	return vcpu_read(vcpu, VCPU_RIP);
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

/* Any interrupt, the CPU's to deliver included: it ends a HLT. */
static bool interrupt_wakes(struct vcpu *vcpu)
{
	return vcpu->intr_pending ||
	       platform_interrupt_wakes(vcpu->vm->platform, vcpu);
}

/* ---- NMIs: the platform keeps one waiting; the loop injects it ---- */

/*
 * An NMI waits that the guest does not block (it blocks them from the
 * delivery of one to the next IRET, SDM Vol. 3A 6.7.1). RFLAGS.IF does
 * not mask NMIs: such an NMI wakes HLT either way.
 */
static bool nmi_waiting(struct vcpu *vcpu)
{
	return platform_nmi_pending(vcpu->vm->platform, vcpu) &&
	       !vcpu_read(vcpu, VCPU_NMI_BLOCKED);
}

/* Take the waiting NMI into the entry request (nothing else queued). */
static void inject_nmi(struct vcpu *vcpu)
{
	if (!platform_take_nmi(vcpu->vm->platform, vcpu))
		return;
	vcpu->entry.inject = true;
	vcpu->entry.event = (struct vcpu_event){
	    .type = VCPU_EVENT_NMI,
	    .vector = X86_VECTOR_NMI,
	};
}

/*
 * The NMI window the last entry asked for is open: the guest can take an
 * NMI now (no NMI blocking, no STI / MOV-SS shadow, struct vcpu_entry), so
 * the waiting one goes in at this entry, before anything can block it
 * again. (With RFLAGS.IF clear, core cannot tell a shadow from none
 * without this exit: see apply_nmi.)
 */
static enum exit_action handle_nmi_window(struct vcpu *vcpu,
					  struct exit_event *ev)
{
	(void)ev;
	if (!vcpu->entry.inject && !vcpu_read(vcpu, VCPU_NMI_BLOCKED))
		inject_nmi(vcpu);
	return EXIT_ACTION_RESUME;
}

/*
 * Has the guest TSC `now` reached `deadline`? The TSC wraps at 2^64 (a
 * guest may set it anywhere), so the two are compared as a distance: a
 * deadline at most 2^63 ticks ahead is ahead, anything else is past. The
 * run loop takes no deadline more than DEADLINE_HORIZON ahead.
 */
static bool tsc_reached(u64 now, u64 deadline)
{
	return (i64)(now - deadline) >= 0;
}

/* Guest TSC of the next timer of any kind for this vCPU, or 0. */
static u64 next_deadline(const struct vcpu *vcpu)
{
	u64 a = vcpu->timer_deadline;
	u64 b = vcpu->device_deadline;

	if (!a)
		return b;
	if (!b)
		return a;
	return (i64)(a - b) < 0 ? a : b;
}

/* The operator shell asked for something (core/shell.h). */
static bool vm_requests(const struct vm *vm)
{
	return vm->stop_request || vm->restart_request;
}

/*
 * The whole guest is to be reset (a reboot, the operator's restart):
 * every vCPU leaves its loop, and vCPU 0's CPU reloads the guest once
 * none runs (core/guest.c).
 */
static void vm_start_reset(struct vm *vm)
{
	vm->resetting = true;
	for (u32 i = 0; i < vm->vcpu_count; i++)
		vm_wake_vcpu(vm, i);
}

/*
 * Why this vCPU's loop must end before its next entry, or VCPU_LOOP_RUN:
 * the guest ended, it is being reset, or this vCPU got an INIT.
 */
static enum vcpu_loop_end loop_must_end(const struct vcpu *vcpu)
{
	if (!vm_running(vcpu->vm))
		return VCPU_LOOP_ENDED;
	if (vcpu->vm->resetting)
		return VCPU_LOOP_RESET;
	if (vcpu->init_pending)
		return VCPU_LOOP_INIT;
	return VCPU_LOOP_RUN;
}

/* Carry out the operator's request; VCPU_LOOP_RUN: none after all. */
static enum vcpu_loop_end operator_request(struct vm *vm)
{
	if (__atomic_exchange_n(&vm->stop_request, false, __ATOMIC_SEQ_CST)) {
		vm->by_operator = true;
		vm_stop(vm, "stopped by the operator");
		return VCPU_LOOP_ENDED;
	}
	if (__atomic_exchange_n(&vm->restart_request, false,
				__ATOMIC_SEQ_CST)) {
		vm->by_operator = true;
		vm_start_reset(vm);
		return VCPU_LOOP_RESET;
	}
	return VCPU_LOOP_RUN;
}

/*
 * Make expired timers into pending interrupts and take console input:
 * everything that can happen to a vCPU while it is not running.
 */
static void update_events(struct vcpu *vcpu)
{
	if (vcpu->timer_deadline &&
	    tsc_reached(vm_guest_tsc(vcpu->vm), vcpu->timer_deadline)) {
		vcpu->timer_deadline = 0;
		vcpu->intr_pending = true;
		vcpu->pending_vector = vcpu->timer_vector;
	}
	/* Device timers: those due fire; when is the next one? */
	vcpu->device_deadline = platform_advance(vcpu->vm->platform, vcpu);
	/*
	 * The console has work only from console_due on, which every full
	 * update computes anew (apply_pending): input to poll, a partial
	 * line to show. Guest output that starts a line is an I/O exit, so
	 * a new due time is never missed.
	 */
	if (rdtsc() >= vcpu->console_due) {
		console_poll(vcpu->vm);
		console_flush_stale(vcpu->vm);
	}
	/* Its devices' blocked DMA, told while it runs. */
	if (vcpu->vm->dma && vcpu->index == 0)
		passthrough_poll(vcpu->vm);
}

/* Host TSC of the vCPU's next timer (the guest's clock runs), or 0. */
static u64 host_deadline(const struct vcpu *vcpu)
{
	u64 next = next_deadline(vcpu);

	return next ? next - vcpu->vm->tsc_offset : 0;
}

/*
 * HLT: wait until an interrupt or an NMI the guest does not block is
 * waiting, then complete the instruction (it is injected at the next
 * entry). With interrupts disabled only an NMI wakes the vCPU (SDM Vol.
 * 2A HLT); when none can come (no IOAPIC entry routes one, or NMIs are
 * blocked), or with no timer armed, no console input that raises an
 * interrupt (console_can_wake), no NIC a frame may come to and no host
 * PCI function of its own that may interrupt, nothing
 * can ever wake it: Veneer stops the guest and says why. With several
 * vCPUs another one can always wake it (an IPI, an NMI, an INIT, a KVM
 * kick): it waits, without the VM lock.
 */
/* HLT's wait (handle_hlt): until something wakes the vCPU or ends it. */
static enum exit_action hlt_wait(struct vcpu *vcpu, bool intr_off, u32 smp)
{
	for (;;) {
		update_events(vcpu);
		if (vcpu->pv_unhalted) {
			vcpu->pv_unhalted = false;
			return EXIT_ACTION_SKIP;
		}
		if ((!intr_off && interrupt_wakes(vcpu)) || nmi_waiting(vcpu) ||
		    !vm_running(vcpu->vm))
			return EXIT_ACTION_SKIP;
		if (vm_requests(vcpu->vm) ||
		    loop_must_end(vcpu) != VCPU_LOOP_RUN)
			return EXIT_ACTION_SKIP;
		if (smp == 1 && !next_deadline(vcpu) &&
		    !console_can_wake(vcpu->vm) && !vcpu->vm->virtio_net &&
		    !vcpu->vm->pci_count) {
			vm_stop(vcpu->vm,
				"halted at rip 0x%llx with no interrupt source "
				"armed",
				(unsigned long long)guest_rip(vcpu));
			return EXIT_ACTION_END;
		}
		vm_unlock(vcpu->vm);
		/* A shared CPU goes to another vCPU until the next timer. */
		sched_block(host_deadline(vcpu));
		vm_lock(vcpu->vm);
	}
}

static enum exit_action handle_hlt(struct vcpu *vcpu, struct exit_event *ev)
{
	bool intr_off = !(vcpu_read(vcpu, VCPU_RFLAGS) & RFLAGS_IF);
	u32 smp = vcpu->vm->vcpu_count;
	enum exit_action action;
	u64 since;

	(void)ev;
	/*
	 * With RFLAGS.IF clear a waiting maskable interrupt does not end the
	 * halt (SDM Vol. 2A HLT: only an enabled interrupt, NMI, SMI, INIT
	 * or reset resumes it): an NMI the guest does not block does, and a
	 * KVM kick (core/kvmpv.h) that came before it.
	 */
	if ((intr_off && nmi_waiting(vcpu)) || vcpu->pv_unhalted) {
		vcpu->pv_unhalted = false;
		return EXIT_ACTION_SKIP;
	}
	if (intr_off && smp == 1 &&
	    (!platform_nmi_may_arrive(vcpu->vm->platform, vcpu) ||
	     vcpu_read(vcpu, VCPU_NMI_BLOCKED))) {
		vm_stop(vcpu->vm,
			"halted with interrupts disabled at rip 0x%llx",
			(unsigned long long)guest_rip(vcpu));
		return EXIT_ACTION_END;
	}
	console_writer_halted(vcpu->vm);
	/* Waiting is guest time: the guest's clock runs meanwhile. */
	vm_clock_resume(vcpu->vm);
	since = rdtsc();
	action = hlt_wait(vcpu, intr_off, smp);
	vcpu->halted_tsc += rdtsc() - since;
	vm_clock_freeze(vcpu->vm);
	return action;
}

/*
 * The CPU did the guest's EOI of a vector whose EOI exits (vcpu_entry.vapic:
 * a level-triggered one): the IOAPIC hears of it. Trap-like: the WRMSR is
 * complete, RIP already past it.
 */
static enum exit_action handle_apic_eoi(struct vcpu *vcpu,
					struct exit_event *ev)
{
	platform_virt_eoi(vcpu->vm->platform, vcpu, ev->eoi_vector);
	return EXIT_ACTION_RESUME;
}

/*
 * A spin loop on a shared CPU (pause_exits): what it waits for is likely
 * another vCPU's to do, so the others go first (sched_yield); the PAUSE
 * itself is complete.
 */
static enum exit_action handle_pause(struct vcpu *vcpu, struct exit_event *ev)
{
	(void)vcpu;
	(void)ev;
	sched_yield();
	return EXIT_ACTION_SKIP;
}

static enum exit_action handle_gpa_fault(struct vcpu *vcpu,
					 struct exit_event *ev)
{
	const struct mmio_region *r =
	    mmio_find(&vcpu->vm->mmio, ev->gpa_fault.gpa);

	if (r)
		return mmio_emulate(vcpu, ev, r);
	const char *what = ev->gpa_fault.exec	 ? "execute"
			   : ev->gpa_fault.write ? "write"
						 : "read";

	vm_stop(vcpu->vm,
		"%s access to guest-physical 0x%llx outside its RAM "
		"(0x0-0x%llx) at rip 0x%llx",
		what, (unsigned long long)ev->gpa_fault.gpa,
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

/* The three bytes of a hypercall instruction, compared in registers. */
static bool insn_bytes_equal(const u8 *bytes, const u8 *insn)
{
	return bytes[0] == insn[0] && bytes[1] == insn[1] &&
	       bytes[2] == insn[2];
}

/*
 * Is the instruction at CS:RIP the other vendor's hypercall instruction?
 * VMCALL raises #UD on AMD-V and VMMCALL on VT-x (SDM Vol. 3C 31.3, APM
 * Vol. 3 "VMMCALL"); Veneer takes both on both (docs/hypercall.md).
 */
static bool insn_is_hypercall(struct vcpu *vcpu)
{
	static const u8 vmcall[] = X86_INSN_VMCALL;
	static const u8 vmmcall[] = X86_INSN_VMMCALL;
	u8 bytes[X86_INSN_HYPERCALL_LEN];
	u32 got = vcpu_fetch_insn(vcpu, bytes, sizeof(bytes));

	return got == X86_INSN_HYPERCALL_LEN &&
	       (insn_bytes_equal(bytes, vmcall) ||
		insn_bytes_equal(bytes, vmmcall));
}

static enum exit_action handle_unhandled(struct vcpu *vcpu,
					 struct exit_event *ev);

/*
 * An exception the backend intercepts. #UD: the other vendor's hypercall
 * instruction is a hypercall (counted as one), anything else goes back to
 * the guest. #AC is intercepted only so that a guest cannot hang the CPU
 * in an endless #AC delivery (APM Vol. 2 15.12): it goes straight back.
 */
static enum exit_action handle_exception(struct vcpu *vcpu,
					 struct exit_event *ev)
{
	switch (ev->exc.vector) {
	case X86_VECTOR_UD:
		if (insn_is_hypercall(vcpu)) {
			ev->kind = EXIT_HYPERCALL;
			ev->insn_len = X86_INSN_HYPERCALL_LEN;
			return handle_hypercall(vcpu, ev);
		}
		vcpu_inject_ud(vcpu);
		return EXIT_ACTION_RESUME;
	case X86_VECTOR_AC:
		vcpu_inject_exception(vcpu, X86_VECTOR_AC, ev->exc.error_code);
		return EXIT_ACTION_RESUME;
	default:
		return handle_unhandled(vcpu, ev);
	}
}

/*
 * Would MOV to CR0 / CR4 of `value` raise #GP on bare metal (SDM Vol. 2B
 * "MOV—Move to/from Control Registers", Protected Mode Exceptions)? CR4
 * bits the CPU cannot give a guest count as reserved (vcpu_caps).
 */
static bool cr_write_faults(struct vcpu *vcpu, u8 cr, u64 value)
{
	u64 efer = vcpu_read(vcpu, VCPU_EFER);

	if (value >> 32)
		return true;
	/* Paging cannot be turned off from 64-bit code (only from
	 * compatibility mode, SDM Vol. 3A 10.8.5.4). */
	if (cr == 0)
		return ((value & CR0_PG) && !(value & CR0_PE)) ||
		       ((value & CR0_NW) && !(value & CR0_CD)) ||
		       ((value & CR0_PG) && (efer & EFER_LME) &&
			!(vcpu_read(vcpu, VCPU_CR4) & CR4_PAE)) ||
		       (!(value & CR0_PG) && (efer & EFER_LMA) &&
			vcpu_read(vcpu, VCPU_CS_LONG));
	return (value & ~vcpu_caps.cr4_allowed) ||
	       ((efer & EFER_LMA) && !(value & CR4_PAE)) ||
	       (!(efer & EFER_LMA) && (value & CR4_PCIDE));
}

/*
 * MOV to CR0 / CR4 that the CPU intercepted (VT-x exits on the bits the
 * host owns, SDM Vol. 3C 25.6.6): bare metal lets the guest change them,
 * so Veneer checks the write as the CPU would and lets the backend apply
 * it. Other control-register exits are not expected: default-deny.
 */
/*
 * MOV to CRn (0F 22 /r, SDM Vol. 2B) decoded from the instruction bytes,
 * for a backend that could not name the source register (AMD-V without
 * decode assists): legacy prefixes, a REX prefix in 64-bit code, then the
 * opcode; ModRM.reg is the control register, ModRM.rm the source (the mod
 * bits are ignored, SDM Vol. 2B "MOV—Move to/from Control Registers").
 * False when the bytes are not that instruction for `cr`.
 */
static bool decode_mov_to_cr(struct vcpu *vcpu, u8 cr, struct exit_event *ev)
{
	static const struct decode_opcode mov_to_cr = {2, {0x0f, 0x22}, 1};
	u8 b[DECODE_MAX_INSN_LEN];
	u32 got = vcpu_fetch_insn(vcpu, b, sizeof(b));
	struct decode_prefixes p;
	u32 len;
	u8 modrm;

	/* LOCK is not taken as a prefix here (AMD's LOCK MOV CR0 is CR8). */
	if (decode_match_opcode(b, got, prefix_guest_mode(vcpu), &mov_to_cr, 1,
				&p, &len) != DECODE_MATCH_OK ||
	    p.lock)
		return false;
	modrm = b[len - 1];
	if ((u8)(((modrm >> 3) & 7) | ((p.rex & 4) << 1)) != cr)
		return false;
	ev->cr.gpr = (u8)((modrm & 7) | ((p.rex & 1) << 3));
	ev->insn_len = len;
	return true;
}

/*
 * MOV to / from CR8 (64-bit mode only): the TPR of the vCPU's local APIC
 * (SDM Vol. 3A 11.8.6), never the host's (VT-x has it exit, vmx.c).
 * Bits 63:4 set in a write are #GP (Vol. 3A 2.5).
 */
static enum exit_action cr8_access(struct vcpu *vcpu, bool write, u8 gpr)
{
	struct platform *p = vcpu->vm->platform;

	if (!write) {
		vcpu->regs.gpr[gpr] = platform_cr8_read(p, vcpu);
		return EXIT_ACTION_SKIP;
	}
	if (!platform_cr8_write(p, vcpu, vcpu->regs.gpr[gpr])) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	return EXIT_ACTION_SKIP;
}

static enum exit_action handle_cr_access(struct vcpu *vcpu,
					 struct exit_event *ev)
{
	u8 cr = ev->cr.cr;
	u64 value;

	if (cr == 8 && ev->cr.gpr < GPR_COUNT)
		return cr8_access(vcpu, ev->cr.write, ev->cr.gpr);
	if (!ev->cr.write || (cr != 0 && cr != 4))
		return handle_unhandled(vcpu, ev);
	if (ev->cr.gpr >= GPR_COUNT && !decode_mov_to_cr(vcpu, cr, ev)) {
		vm_stop(vcpu->vm,
			"CR%u write at rip 0x%llx: not a MOV to CR%u "
			"Veneer can decode",
			cr, (unsigned long long)guest_rip(vcpu), cr);
		return EXIT_ACTION_END;
	}
	value = vcpu->regs.gpr[ev->cr.gpr & (GPR_COUNT - 1)];
	if (cr_write_faults(vcpu, cr, value)) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	vcpu_write(vcpu, cr == 0 ? VCPU_CR0 : VCPU_CR4, value);
	return EXIT_ACTION_SKIP;
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
	xsetbv(0, value);
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
    [EXIT_NMI_WINDOW] = handle_nmi_window,
    [EXIT_PREEMPT_TIMER] = handle_resume,
    [EXIT_TRIPLE_FAULT] = handle_triple_fault,
    [EXIT_GPA_FAULT] = handle_gpa_fault,
    [EXIT_EXCEPTION] = handle_exception,
    [EXIT_CR_ACCESS] = handle_cr_access,
    [EXIT_TASK_SWITCH] = handle_task_switch,
    [EXIT_CPU_INSN] = handle_cpu_insn,
    [EXIT_PAUSE] = handle_pause,
    [EXIT_APIC_EOI] = handle_apic_eoi,
    [EXIT_INVALID_INSN] = handle_invalid_insn,
    [EXIT_ENTRY_FAILED] = handle_entry_failed,
    /* INIT, SIPI, unknown: not handled yet (the guest stops). */
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
static inline __attribute__((always_inline)) bool
exit_is_quiet(const struct exit_event *ev, u64 rax)
{
	switch (ev->kind) {
	case EXIT_NONE:
	case EXIT_CPUID:
	case EXIT_XSETBV:
	case EXIT_EXTERNAL_INTR:
	case EXIT_NMI:
	case EXIT_PREEMPT_TIMER:
	case EXIT_PAUSE:
		return true;
	case EXIT_MSR_READ:
		return !platform_handles_msr(ev->msr.index);
	case EXIT_MSR_WRITE:
		return !platform_handles_msr(ev->msr.index) &&
		       ev->msr.index != MSR_IA32_TSC &&
		       ev->msr.index != MSR_IA32_TSC_ADJUST;
	case EXIT_HYPERCALL:
		return rax == HC_VERSION || rax == HC_CPU_ID;
	case EXIT_EXCEPTION:
		/* The other vendor's hypercall instruction, or a #UD
		 * reflected: either way no device is touched. */
		return ev->exc.vector == X86_VECTOR_UD &&
		       (rax == HC_VERSION || rax == HC_CPU_ID);
	default:
		return false;
	}
}

/* A timer, the console or another CPU has work now (see struct
 * vcpu.events_quiet): a frame that came for the guest's NIC meanwhile
 * leaves its interrupt (platform_async_pending). */
static bool events_due(const struct vcpu *vcpu)
{
	const struct vm *vm = vcpu->vm;
	u64 now = rdtsc();
	u64 guest =
	    (vm->clock_frozen ? vm->frozen_host_tsc : now) + vm->tsc_offset;

	return now >= vcpu->console_due ||
	       (vcpu->next_deadline &&
		tsc_reached(guest, vcpu->next_deadline)) ||
	       platform_async_pending(vm->platform);
}

/*
 * Can the guest take an external interrupt at the next entry? An
 * instruction completed by that entry (entry.skip) ends its STI / MOV-SS
 * shadow, so then RFLAGS.IF alone decides.
 */
/* 2^62 TSC ticks: about 48 years at 3 GHz. */
#define DEADLINE_HORIZON PLATFORM_TSC_HORIZON

static bool can_take_interrupt(struct vcpu *vcpu)
{
	if (vcpu->entry.skip)
		return vcpu_read(vcpu, VCPU_RFLAGS) & RFLAGS_IF;
	return vcpu_read(vcpu, VCPU_INTERRUPTIBLE);
}

/*
 * The waiting NMI, before any external interrupt (it has the higher
 * priority, SDM Vol. 3A 6.9), into the entry request when nothing else is
 * queued and the guest can take it: no NMI blocking, and no STI / MOV-SS
 * shadow (VM entry may not inject an NMI into one, SDM Vol. 3C 26.3.1.5).
 * Core knows there is no shadow when the entry completes an instruction
 * (skip ends it) or VCPU_INTERRUPTIBLE says so; with RFLAGS.IF clear it
 * cannot tell, so it asks for an NMI window and the NMI goes in at its
 * exit (handle_nmi_window), as it does when blocked. Returns whether an
 * NMI still waits.
 */
static bool apply_nmi(struct vcpu *vcpu)
{
	struct vcpu_entry *e = &vcpu->entry;

	e->nmi_window = false;
	if (!platform_nmi_pending(vcpu->vm->platform, vcpu))
		return false;
	if (!e->inject && !vcpu_read(vcpu, VCPU_NMI_BLOCKED) &&
	    (e->skip || vcpu_read(vcpu, VCPU_INTERRUPTIBLE))) {
		inject_nmi(vcpu);
		/* Taking a PIT's NMI moves its next pulse (vpit_irq_taken). */
		vcpu->device_deadline =
		    platform_advance(vcpu->vm->platform, vcpu);
		return false;
	}
	e->nmi_window = true;
	return true;
}

/*
 * An offered PV EOI (core/kvmpv.h) settled: done for the guest if it
 * took it, taken back if an interrupt now waits behind it. An EOI done
 * may let a waiting interrupt in: the next apply_pending looks again.
 */
static void settle_pv_eoi(struct vcpu *vcpu)
{
	if (kvmpv_eoi_offered(&vcpu->vm->kvmpv, vcpu->index) &&
	    kvmpv_eoi_settle(vcpu))
		vcpu->events_quiet = false;
}

/*
 * Pending work, applied at one point before every entry, into the entry
 * request: expired timers become pending interrupts; a waiting NMI goes
 * first (apply_nmi); one interrupt is injected when the guest can take it
 * and no exception or NMI is queued, else an interrupt window is asked
 * for; the next deadline is computed. When the last exits changed
 * nothing and nothing is due, all of that would come out the same (no
 * interrupt or NMI waiting, no window): it is skipped.
 */
static void apply_pending(struct vcpu *vcpu)
{
	struct vcpu_entry *e = &vcpu->entry;
	bool waiting, nmi;

	if (vcpu->events_quiet && !events_due(vcpu))
		return;
	/* Before anything is taken: the CPU's to deliver, or the loop's
	 * (not asked on a CPU that cannot: platform_virt_possible). */
	vcpu->apic_virt_on = vcpu_caps.apic_virt &&
			     platform_virt_want(vcpu->vm->platform, vcpu, true);
	update_events(vcpu);
	nmi = apply_nmi(vcpu);
	waiting = interrupt_waiting(vcpu);
	if (waiting && !e->inject && can_take_interrupt(vcpu)) {
		bool from_platform = !vcpu->intr_pending;
		int vector =
		    vcpu->intr_pending
			? vcpu->pending_vector
			: platform_take_interrupt(vcpu->vm->platform, vcpu);

		vcpu->intr_pending = false;
		if (vector >= 0) {
			e->inject = true;
			e->event = (struct vcpu_event){
			    .type = VCPU_EVENT_EXTERNAL_INTR,
			    .vector = (u8)vector,
			};
			/* Its EOI may be left to Veneer (PV EOI). */
			if (from_platform)
				kvmpv_eoi_offer(vcpu, (u8)vector);
			else
				kvmpv_eoi_withdraw(vcpu);
		}
		/*
		 * Taking it may let a held timer go on (its IRR bit is
		 * free again): its deadline is back (platform_advance).
		 */
		if (from_platform)
			vcpu->device_deadline =
			    platform_advance(vcpu->vm->platform, vcpu);
		waiting = interrupt_waiting(vcpu);
	}
	e->intr_window = waiting;
	vcpu->next_deadline = next_deadline(vcpu);
	/*
	 * A deadline further ahead than DEADLINE_HORIZON is "never" (a
	 * TSC-deadline of 2^64 - 1, say): its host TSC could wrap into the
	 * past and end every run at once while the guest's timer never falls
	 * due. One reached by at most as much (a timer that fell due in
	 * the moment since update_events) ends the run at once, at the
	 * guest's TSC now, never at a host TSC that wrapped.
	 */
	if (vcpu->next_deadline) {
		u64 now = vm_guest_tsc(vcpu->vm);
		u64 ahead = vcpu->next_deadline - now;

		if (ahead == 0 || ahead >= -DEADLINE_HORIZON)
			vcpu->next_deadline = now ? now : 1;
		else if (ahead > DEADLINE_HORIZON)
			vcpu->next_deadline = 0;
	}
	vcpu->console_due = console_next_due(vcpu->vm);
	vcpu->events_quiet = !waiting && !nmi;
	/*
	 * An interrupt that came to wait in IRR during this exit (a device,
	 * a timer) would wait behind an offered PV EOI until some later
	 * exit: the offer is taken back, the guest writes EOI.
	 */
	settle_pv_eoi(vcpu);
}

/*
 * Where the guest's MOV CR8 does not exit (vcpu_caps.cr8_in_guest) it
 * reaches VCPU_CR8, which is TPR[7:4] of its APIC (SDM Vol. 3A 11.8.6):
 * copied there before the entry when the APIC's changed, and back after
 * the run when the guest wrote it (TPR[3:0] cleared, as a CR8 write does).
 */
static void cr8_to_guest(struct vcpu *vcpu)
{
	u8 tpr = (u8)platform_cr8_read(vcpu->vm->platform, vcpu);

	if (tpr != vcpu->guest_cr8) {
		vcpu_write(vcpu, VCPU_CR8, tpr);
		vcpu->guest_cr8 = tpr;
	}
}

static void cr8_from_guest(struct vcpu *vcpu)
{
	u8 cr8 = (u8)vcpu_read(vcpu, VCPU_CR8);

	if (cr8 != vcpu->guest_cr8) {
		platform_cr8_write(vcpu->vm->platform, vcpu, cr8);
		vcpu->guest_cr8 = cr8;
		vcpu->events_quiet = false; /* a lower TPR may let one in */
	}
}

/*
 * Enter with the guest's clock running and the request complete; after
 * the exit the one-shot parts of the request are spent, and the guest
 * may have changed its page tables. Called with the VM lock held, which
 * guest mode runs without.
 */
static void enter(struct vcpu *vcpu, struct exit_event *ev)
{
	struct vm *vm = vcpu->vm;
	struct vcpu_entry *e = &vcpu->entry;

	vm_clock_resume(vm);
	e->tsc_offset = vm->tsc_offset;
	e->pause_exits = vcpu->shares_cpu;
	/* Host TSC at which the guest's TSC reaches the deadline. */
	e->deadline =
	    vcpu->next_deadline ? vcpu->next_deadline - vm->tsc_offset : 0;
	if (__atomic_exchange_n(&vcpu->nested_flush, false, __ATOMIC_SEQ_CST))
		e->flush_tlb = true;
	if (vcpu_caps.cr8_in_guest)
		cr8_to_guest(vcpu);
	e->vapic = NULL;
	if (vcpu->apic_virt_on) {
		platform_virt_get(vm->platform, vcpu, &vcpu->apic_virt);
		e->vapic = &vcpu->apic_virt;
	}
	vm_unlock(vm);
	/* On a shared CPU the turn ends at the next decision at the latest. */
	if (vcpu->shares_cpu)
		e->deadline = sched_cap(e->deadline);
	vcpu_ops->run(vcpu, e, ev);
	vm_lock(vm);
	vm_clock_freeze(vm);
	/* Interrupts the CPU delivered, EOIs, self IPIs: a full update. */
	if (e->vapic && platform_virt_put(vm->platform, vcpu, e->vapic))
		vcpu->events_quiet = false;
	if (vcpu_caps.cr8_in_guest)
		cr8_from_guest(vcpu);
	vcpu->walk_valid = false;
	/* The one-shot parts are spent (the lean path cleared them before
	 * a handler that may have queued an event for the next entry). */
	if (!vcpu->lean_decided) {
		e->skip = 0;
		e->inject = false;
		e->flush_tlb = false;
	}
}

/* Host TSC ticks in nanoseconds (a TSC of at most 18 GHz). */
static u64 tsc_to_ns(u64 ticks)
{
	u64 hz = tsc_hz();

	if (!hz)
		return 0;
	return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

/*
 * The guest's steal time structure (core/kvmpv.h): the vCPU's waiting for
 * its shared CPU so far, and whether it is preempted now.
 */
static void update_steal_time(struct vcpu *vcpu, bool preempted)
{
	struct sched_stats st;

	if (!sched_vcpu_stats(vcpu, vcpu->host_cpu, &st))
		st.waited_tsc = 0;
	kvmpv_steal_update(vcpu, tsc_to_ns(st.waited_tsc), preempted);
}

/* An exit decided: counted (a #UD that was a hypercall counts as one). */
static inline __attribute__((always_inline)) void
count_exit(struct vcpu *vcpu, const struct exit_event *ev)
{
	if ((u32)ev->kind < EXIT_KIND_COUNT)
		vcpu->exits[ev->kind]++;
	vcpu->exits_total++;
}

/*
 * The run loop pauses at most every PAUSE_INTERVAL_US of host time, and
 * looks at the clock every PAUSE_CHECK_EXITS exits (a power of two).
 *
 * A spin-loop hint every 100 us of exits: free on hardware, and an
 * emulator that runs all CPUs in turn in one thread (QEMU's TCG with
 * -icount) hands the turn on at a PAUSE. Without it a vCPU that exits
 * back to back kept the other CPUs, and the guests on them, from running
 * at all (issue 16); counted in exits instead of time, a guest whose exits
 * are long (the chaos guest's string I/O) still held the turn long enough
 * for a Linux beside it to miss its timer check.
 */
#define PAUSE_INTERVAL_US 100
#define PAUSE_CHECK_EXITS 16

static inline __attribute__((always_inline)) void
pause_now_and_then(struct vcpu *vcpu)
{
	u64 now;

	if (vcpu->exits_total & (PAUSE_CHECK_EXITS - 1))
		return;
	now = rdtsc();
	if (now >= vcpu->pause_at) {
		cpu_relax();
		vcpu->pause_at = now + tsc_from_us(PAUSE_INTERVAL_US);
	}
}

/*
 * Nothing for the run loop to do before the next entry, under the VM
 * lock: nothing woke the vCPU (events_quiet, read again under the lock),
 * no PV EOI is offered (it is settled after every exit), and neither its
 * timer nor the console is due. The deadline is the request's (host TSC):
 * the guest's clock runs (lean_allowed: exits are not hidden from it) and
 * its offset has not moved since the entry, or the move woke the vCPU.
 *
 * Everything else the run loop looks at between entries comes with a
 * wake-up (vm_wake_vcpu clears events_quiet): the guest's end, a reset,
 * an INIT, the operator's stop and restart, a TSC the guest moved
 * (core/msr.c), an interrupt a device raised on another CPU. A reset
 * request from a device (platform reset_requested) comes from a write,
 * which never takes this path, and the run loop that handles that write
 * starts the reset.
 */
static inline __attribute__((always_inline)) bool
lean_may_go_on(const struct vcpu *vcpu)
{
	const struct vm *vm = vcpu->vm;
	u64 now, deadline = vcpu->entry.deadline;

	if (!vcpu->events_quiet || kvmpv_eoi_offered(&vm->kvmpv, vcpu->index))
		return false;
	now = rdtsc();
	return now < vcpu->console_due &&
	       (!deadline || !tsc_reached(now, deadline));
}

/*
 * A port or MMIO read (vcpu_lean_candidate lets no write or string form
 * through: a write to a device is never quiet, one to a port nobody owns
 * is rare, and a string exit may do part of its count): whether it was
 * quiet is known only once it is done (access_was_quiet). Not tried while
 * the platform's copy of the APIC is behind the guest's: the CPU holds it
 * (APICv, until enter() takes it back), or the guest moved CR8 in guest
 * mode (until cr8_from_guest). A read may ask the APIC, or raise an
 * interrupt the TPR decides on.
 */
static inline __attribute__((always_inline)) bool
access_may_be_quiet(struct vcpu *vcpu)
{
	if (vcpu->apic_virt_on)
		return false;
	return !vcpu_caps.cr8_in_guest ||
	       (u8)vcpu_read(vcpu, VCPU_CR8) == vcpu->guest_cr8;
}

/*
 * After the access: the bus says it changed no timer, console or request
 * (struct iobus.last_quiet, struct mmio_bus.last_quiet), and no interrupt
 * or NMI waits for the vCPU (none did before: events_quiet). One that
 * came for another vCPU woke it (platform.c).
 */
static bool access_was_quiet(struct vcpu *vcpu, const struct exit_event *ev)
{
	const struct vm *vm = vcpu->vm;
	bool quiet =
	    ev->kind == EXIT_IO ? vm->io.last_quiet : vm->mmio.last_quiet;

	return quiet && !interrupt_wakes(vcpu) &&
	       !platform_nmi_pending(vm->platform, vcpu);
}

u32 vcpu_exit_lean(struct vcpu *vcpu, struct exit_event *ev)
{
	struct vm *vm = vcpu->vm;
	u64 rax = vcpu->regs.gpr[GPR_RAX];
	bool access = false;
	enum exit_action action;
	u32 len;

	vcpu->walk_valid = false; /* the guest ran */
	if (!exit_is_quiet(ev, rax)) {
		/* A read is tried; quiet or not is known after it. */
		if ((ev->kind != EXIT_IO && ev->kind != EXIT_GPA_FAULT) ||
		    !access_may_be_quiet(vcpu))
			return 0;
		access = true;
	}
	if (!vcpu->lean_allowed)
		return 0;
	vm_lock(vm);
	if (!lean_may_go_on(vcpu)) {
		vm_unlock(vm);
		return 0;
	}
	/* The request's skip and event were taken before this run's first
	 * entry: what a handler queues now is for the run loop's next. */
	vcpu->entry.skip = 0;
	vcpu->entry.inject = false;
	vcpu->entry.flush_tlb = false;
	action = dispatch(vcpu, ev);
	count_exit(vcpu, ev);
	len = 0;
	if (access && !access_was_quiet(vcpu, ev)) {
		/* The run loop finishes it after a full update. */
		vcpu->events_quiet = false;
	} else if (action == EXIT_ACTION_SKIP && !vcpu->entry.inject) {
		/* A #UD that was a hypercall is one now (handle_exception). */
		len = ev->insn_len ? ev->insn_len : prefix_quick_len(vcpu, ev);
		if (len > DECODE_MAX_INSN_LEN)
			len = 0;
	}
	if (len) {
		pause_now_and_then(vcpu);
	} else {
		/* The run loop finishes it: the event kept, the length
		 * decoded in full (prefix_insn_len). */
		vcpu->lean_decided = true;
		vcpu->lean_action = (u8)action;
	}
	vm_unlock(vm);
	return len;
}

/*
 * Before each entry, with the VM lock held: on a shared CPU another vCPU
 * may be due (core/sched.h); it runs without this VM's lock. Then why the
 * loop must end, if it must: what happened meanwhile counts, and the entry
 * request is made after it.
 */
static enum vcpu_loop_end next_turn(struct vcpu *vcpu)
{
	if (vcpu->shares_cpu && sched_due()) {
		bool steal = kvmpv_steal_on(&vcpu->vm->kvmpv, vcpu->index);

		/* Preempted, to the guest's other vCPUs, while it may wait. */
		if (steal)
			update_steal_time(vcpu, true);
		vm_unlock(vcpu->vm);
		sched_point();
		vm_lock(vcpu->vm);
		if (steal)
			update_steal_time(vcpu, false);
	}
	return loop_must_end(vcpu);
}

enum vcpu_loop_end vcpu_run_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	enum vcpu_loop_end end;
	struct exit_event ev;

	vcpu->state = VCPU_STATE_RUNNING;
	vcpu->events_quiet = false;
	vcpu->lean_decided = false;
	vcpu->lean_allowed = !vcpu->shares_cpu && !vm->hide_exit_time;
	vcpu->guest_cr8 = 0xff;
	vcpu->entry = (struct vcpu_entry){0};
	/*
	 * The VM lock is held from here on but for guest mode (and a HLT's
	 * wait): exits of the guest's vCPUs are handled one at a time.
	 */
	vm_lock(vm);
	while ((end = next_turn(vcpu)) == VCPU_LOOP_RUN) {
		enum exit_action action;
		bool quiet;

		apply_pending(vcpu);
		enter(vcpu, &ev);
		if (vcpu->lean_decided) {
			/* Decided on the lean path, counted there; quiet. */
			vcpu->lean_decided = false;
			action = (enum exit_action)vcpu->lean_action;
			quiet = true;
		} else {
			u64 rax;

			/* An EOI the guest left to Veneer, before anything
			 * sees the APIC. */
			settle_pv_eoi(vcpu);
			rax = vcpu->regs.gpr[GPR_RAX];
			action = dispatch(vcpu, &ev);
			count_exit(vcpu, &ev);
			quiet = exit_is_quiet(&ev, rax);
		}
		pause_now_and_then(vcpu);
		if (!quiet)
			vcpu->events_quiet = false;
		if (action == EXIT_ACTION_END) {
			end = VCPU_LOOP_ENDED;
			break;
		}
		if (vm->platform->reset_requested && !vm->resetting)
			vm_start_reset(vm);
		if (vm_requests(vm)) {
			end = operator_request(vm);
			if (end != VCPU_LOOP_RUN)
				break;
		}
		if (action != EXIT_ACTION_SKIP)
			continue;
		/* AMD-V without NRIP save: the length from the bytes. */
		if (ev.insn_len == 0 && !prefix_insn_len(vcpu, &ev, &action)) {
			if (action == EXIT_ACTION_END) {
				end = VCPU_LOOP_ENDED;
				break;
			}
			continue;
		}
		if (ev.insn_len == 0 || ev.insn_len > DECODE_MAX_INSN_LEN) {
			vm_stop(vcpu->vm,
				"%s exit at rip 0x%llx: instruction length "
				"unknown",
				exit_kind_name(ev.kind),
				(unsigned long long)guest_rip(vcpu));
			end = VCPU_LOOP_ENDED;
			break;
		}
		vcpu->entry.skip = ev.insn_len;
	}
	vm_unlock(vm);
	vcpu->state = VCPU_STATE_ENDED;
	return end;
}
