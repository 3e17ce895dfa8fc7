/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V backend, top floor: one VMCB per vCPU. Creating and resetting
 * it, reading and writing guest state in it, the events the backend holds,
 * and run(): one entry request carried out, the VMCB checked (svm_check.c)
 * when Veneer wrote it, VMRUN, the exit decoded (svm_exit.c). Also the
 * svm_ops table, which names the hooks of every floor.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/entry.h"
#include "arch/x86/lapic.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "core/mm.h"
#include "core/vm.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* Power-on PAT: WB, WT, UC-, UC, twice (APM Vol. 2 7.8.2). */
#define PAT_POWER_ON 0x0007040600070406ull
/* DR6 and DR7 after reset (APM Vol. 2 13.1.1.5, 13.1.1.6). */
#define DR6_RESET 0xffff0ff0ull
#define DR7_RESET 0x400ull
/* CR0 after RESET: CD, NW, ET (APM Vol. 2 14.1.3). */
#define CR0_RESET (CR0_CD | CR0_NW | CR0_ET)
/* DR6 status bits (APM Vol. 2 13.1.1.3): breakpoint hits, single step. */
#define DR6_B0_B3 0xfull
#define DR6_BS	  BIT(14)
/* EVENTINJ of the single-step #DB (a trap, no error code; 15.20). */
#define SVM_EVENT_DB                                                           \
	(SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION | X86_VECTOR_DB)
/* The V_INTR fields of a virtual interrupt or window (15.21.4). */
#define SVM_VINTR_QUEUE_MASK                                                   \
	(SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR |                                   \
	 (0xfull << SVM_VINTR_PRIO_SHIFT) |                                    \
	 (0xffull << SVM_VINTR_VECTOR_SHIFT))

/*
 * The checks (svm_check.c) write nothing: said here, where run() calls them,
 * so that run() keeps what it loaded across the call, as when they were in
 * this file and the compiler saw it; the exit path costs what it did.
 */
__attribute__((pure)) const char *svm_vmcb_violation(const struct vmcb *vmcb);
__attribute__((const)) const char *svm_event_violation(u64 event);

static struct vmcb *svm_vmcb(struct vcpu *vcpu)
{
	return svm_vcpu_of(vcpu)->vmcb;
}

/* ---- VMCB set-up and start states ---- */

/* Intercept vector at 0x010, bits 10 and 11 (APM Vol. 2 B-1): MONITOR or
 * MONITORX, and MWAIT or MWAITX whether armed or not. */

static void svm_setup_control(struct vcpu *vcpu)
{
	struct vmcb_control *c = &svm_vmcb(vcpu)->control;
	const struct svm_vm *sm = vcpu->vm->vendor;

	/*
	 * With NPT the guest owns its paging: of the CR accesses only MOV
	 * to CR4 is intercepted, because the CPU does not refuse every CR4
	 * bit Veneer does not offer (a reserved one made the next VMRUN
	 * fail): core checks it against vcpu_caps.cr4_allowed and gives
	 * #GP as the MOV would (APM Vol. 2 15.9). No DR intercepts. #UD
	 * and #AC go to core as EXIT_EXCEPTION (core decides what a #UD is
	 * and re-injects the rest; intercepting #AC keeps a guest from
	 * hanging the CPU in an endless #AC delivery loop). #MC is
	 * host-fatal. Task switches are not intercepted: the CPU performs
	 * them in the guest, as on bare metal (15.14.1). INVD would throw
	 * away dirty cache lines of the host and other guests; MONITOR and
	 * MWAIT are hidden in CPUID and would let a guest put the physical
	 * CPU to sleep: all three exit, core completes INVD as a no-op and
	 * gives #UD for the others (core/cpuinsn.c). WBINVD runs natively.
	 */
	c->intercept_cr_write = SVM_INTERCEPT_CR4_WRITE;
	c->intercept_exceptions =
	    BIT(X86_VECTOR_UD) | BIT(X86_VECTOR_AC) | BIT(X86_VECTOR_MC);
	c->intercept_misc1 = SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI |
			     SVM_INTERCEPT1_INIT | SVM_INTERCEPT1_CPUID |
			     SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT |
			     SVM_INTERCEPT1_INVLPGA | SVM_INTERCEPT1_IOIO_PROT |
			     SVM_INTERCEPT1_MSR_PROT | SVM_INTERCEPT1_SHUTDOWN;
	/* VMRUN must be intercepted or VMRUN fails (15.5.1). */
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL |
			     SVM_INTERCEPT2_VMLOAD | SVM_INTERCEPT2_VMSAVE |
			     SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
			     SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_XSETBV |
			     SVM_INTERCEPT2_MONITOR | SVM_INTERCEPT2_MWAIT;
	c->iopm_base_pa = sm->iopm_pa;
	c->msrpm_base_pa = sm->msrpm_pa;
	c->tsc_offset = 0;
	c->guest_asid = sm->asid;
	/*
	 * V_INTR_MASKING: the guest's RFLAGS.IF masks only virtual
	 * interrupts; physical ones stay the host's (15.21.1).
	 */
	c->v_intr = SVM_VINTR_MASKING;
	c->np_control = SVM_NP_ENABLE;
	c->n_cr3 = vcpu->vm->nested_root;
}

static struct vmcb_segment segment(u16 selector, u64 base, u32 limit,
				   u16 attrib)
{
	return (struct vmcb_segment){.selector = selector,
				     .attrib = attrib,
				     .limit = limit,
				     .base = base};
}

/* Real mode at cs_selector:rip, as after INIT-SIPI (APM Vol. 2 14.1.3). */
static void svm_reset_real(struct vmcb_save *s,
			   const struct vcpu_start_state *st)
{
	const u16 data = VMCB_ATTR_P | VMCB_ATTR_S |
			 VMCB_ATTR_TYPE(SEG_TYPE_DATA_RW_ACCESSED);
	const u16 code = VMCB_ATTR_P | VMCB_ATTR_S |
			 VMCB_ATTR_TYPE(SEG_TYPE_CODE_RX_ACCESSED);

	s->cs =
	    segment(st->cs_selector, (u64)st->cs_selector << 4, 0xffff, code);
	s->ds = s->es = s->ss = s->fs = s->gs = segment(0, 0, 0xffff, data);
	/* The real-mode IVT at 0 with the reset limit. */
	s->idtr = segment(0, 0, 0xffff, 0);
	s->gdtr = segment(0, 0, 0xffff, 0);
	s->cr0 = CR0_RESET;
}

/* 32-bit flat protected mode, paging off: the multiboot entry state. */
static void svm_reset_protected(struct vmcb_save *s,
				const struct vcpu_start_state *st)
{
	const u16 flat = VMCB_ATTR_P | VMCB_ATTR_S | VMCB_ATTR_DB | VMCB_ATTR_G;

	s->cs = segment(st->cs_selector, 0, 0xffffffff,
			flat | VMCB_ATTR_TYPE(SEG_TYPE_CODE_RX_ACCESSED));
	s->ds = s->es = s->ss = s->fs = s->gs =
	    segment(st->ds_selector, 0, 0xffffffff,
		    flat | VMCB_ATTR_TYPE(SEG_TYPE_DATA_RW_ACCESSED));
	s->gdtr = segment(0, st->gdtr_base, st->gdtr_limit, 0);
	s->idtr = segment(0, 0, 0, 0);
	s->cr0 = CR0_PE | CR0_ET;
}

/* Nothing held, and the next VMRUN reloads everything and flushes. */
static void svm_forget_state(struct svm_vcpu *sv)
{
	sv->dirty = SVM_CLEAN_ALL;
	sv->tsc_dirty = false;
	sv->tlb_control = SVM_TLB_FLUSH_ALL;
	sv->last_cpu = SVM_NO_CPU;
	sv->virq = 0;
	sv->virq_next = 0;
	sv->reinject = 0;
	sv->pending = 0;
	sv->db_trap = false;
	sv->nmi_blocked = false;
	sv->iret_seen = false;
	sv->iret_passing = false;
	sv->step = SVM_STEP_NONE;
	sv->tsc_aux = 0;
	sv->rare = true; /* one full pass clears what the VMCB may hold */
}

void svm_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *st)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save *s = &vmcb->save;

	memset(vmcb, 0, sizeof(*vmcb));
	svm_setup_control(vcpu);
	svm_forget_state(sv);
	svm_tsc_aux_forget(vcpu); /* the reset value 0 is loaded on entry */

	switch (st->mode) {
	case VCPU_START_REAL:
		svm_reset_real(s, st);
		break;
	case VCPU_START_PROTECTED:
		svm_reset_protected(s, st);
		break;
	default:
		vm_stop(vcpu->vm, "svm: vCPU %u: unknown start mode %d",
			vcpu->index, (int)st->mode);
		return;
	}
	/* TR and LDTR must hold usable (present) descriptors. */
	s->tr = segment(0, 0, 0xffff,
			VMCB_ATTR_P | VMCB_ATTR_TYPE(SEG_TYPE_TSS32_BUSY));
	s->ldtr =
	    segment(0, 0, 0xffff, VMCB_ATTR_P | VMCB_ATTR_TYPE(SEG_TYPE_LDT));
	s->cpl = 0;
	s->efer = EFER_SVME; /* VMRUN requires it (15.5.1); read() hides it */
	s->cr3 = 0;
	s->cr4 = 0;
	s->dr6 = DR6_RESET;
	s->dr7 = DR7_RESET;
	s->rflags = RFLAGS_FIXED;
	s->rip = st->rip;
	s->g_pat = PAT_POWER_ON;

	vcpu->regs = st->regs;
	s->rax = st->regs.gpr[GPR_RAX];
	s->rsp = st->regs.gpr[GPR_RSP];
}

int svm_vcpu_create(struct vcpu *vcpu)
{
	if (!vcpu->vm || !vcpu->vm->vendor) {
		printk("svm: vCPU %u: its VM has no AMD-V state (vm_init not "
		       "called)\n",
		       vcpu->index);
		return -SVM_ENODEV;
	}
	/* Page 0: the VMCB (4 KiB aligned, 15.5.1); page 1: svm_vcpu. */
	u64 pa = mm_alloc_pages(2, PAGE_SIZE, MM_ANY);
	if (!pa) {
		printk("svm: VM %s vCPU %u: no memory for the VMCB\n",
		       vcpu->vm->name, vcpu->index);
		return -SVM_ENOMEM;
	}
	struct svm_vcpu *sv = hpa_to_ptr(pa + PAGE_SIZE);
	sv->vmcb = hpa_to_ptr(pa);
	sv->vmcb_pa = pa;
	vcpu->vendor = sv;
	svm_setup_control(vcpu);
	svm_forget_state(sv);
	return 0;
}

void svm_vcpu_destroy(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);

	if (!sv)
		return;
	svm_tsc_aux_forget(vcpu);
	vcpu->vendor = NULL;
	mm_free_pages(sv->vmcb_pa, 2); /* the VMCB and svm_vcpu */
}

/* ---- events: V_IRQ, EVENTINJ, EXITINTINFO ---- */

/*
 * An external interrupt, queued behind the ones held (oldest delivered
 * first). Any vector 0-255: a virtual interrupt is taken through IDT entry
 * V_INTR_VECTOR like a physical INTR (APM Vol. 2 15.21.4 names no reserved
 * range, and VMRUN checks none, 15.5.1), so an 8259 programmed with vector
 * base 0 delivers vector 0 as on bare metal. Core passes one only when
 * VCPU_INTERRUPTIBLE (0 while one is held) or right after a skip with
 * RFLAGS.IF=1: two held are the most that happens. A third replaces the
 * second with a message, never silently.
 */
static void svm_queue_intr(struct vcpu *vcpu, struct svm_vcpu *sv, u8 vector)
{
	u16 virq = SVM_VIRQ_QUEUED | vector;

	if (!sv->virq) {
		sv->virq = virq;
		return;
	}
	if (sv->virq_next)
		printk("svm: VM %s vCPU %u: interrupt %u replaces the held "
		       "interrupt %u, which was never delivered\n",
		       vcpu->vm->name, vcpu->index, vector,
		       sv->virq_next & 0xff);
	sv->virq_next = virq;
}

/* An interrupt whose delivery the last exit cut short goes first again. */
static void svm_requeue_intr(struct vcpu *vcpu, struct svm_vcpu *sv, u8 vector)
{
	if (sv->virq) {
		if (sv->virq_next)
			printk("svm: VM %s vCPU %u: interrupt %u, never "
			       "delivered, makes way for the interrupted "
			       "%u\n",
			       vcpu->vm->name, vcpu->index,
			       sv->virq_next & 0xff, vector);
		sv->virq_next = sv->virq;
	}
	sv->virq = SVM_VIRQ_QUEUED | vector;
}

/*
 * Take the event of an entry request: an external interrupt into the V_IRQ
 * queue, an NMI or exception into `pending` for EVENTINJ (15.20). A request
 * no CPU could deliver is dropped with one message; nothing core passes
 * makes the backend panic.
 */
static void svm_take_event(struct vcpu *vcpu, struct svm_vcpu *sv,
			   const struct vcpu_event *e)
{
	u64 event;

	sv->rare = true;
	switch (e->type) {
	case VCPU_EVENT_EXTERNAL_INTR:
		svm_queue_intr(vcpu, sv, e->vector);
		return;
	case VCPU_EVENT_NMI:
		event = SVM_EVENT_VALID | SVM_EVENT_TYPE_NMI | X86_VECTOR_NMI;
		break;
	case VCPU_EVENT_EXCEPTION:
		/* Type 3 with vector 2 or 32-255 fails VMRUN (15.20). */
		if (e->vector == X86_VECTOR_NMI ||
		    e->vector >= X86_FIRST_INTERRUPT_VECTOR) {
			printk("svm: VM %s vCPU %u: vector %u is no exception: "
			       "not injected\n",
			       vcpu->vm->name, vcpu->index, e->vector);
			return;
		}
		event = SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION | e->vector;
		/*
		 * An error code only where the vector has one, and not in
		 * real mode, which pushes none (APM Vol. 2 8.2, 8.4.1).
		 */
		if (e->has_error_code && exception_has_error_code(e->vector) &&
		    (sv->vmcb->save.cr0 & CR0_PE))
			event |= SVM_EVENT_ERROR_VALID |
				 ((u64)e->error_code << SVM_EVENT_ERROR_SHIFT);
		break;
	default:
		printk("svm: VM %s vCPU %u: unknown event type %d (vector %u): "
		       "not injected\n",
		       vcpu->vm->name, vcpu->index, (int)e->type, e->vector);
		return;
	}
	if (sv->pending)
		printk("svm: VM %s vCPU %u: event %#lx replaces the held event "
		       "%#lx, which was never delivered\n",
		       vcpu->vm->name, vcpu->index, event, sv->pending);
	sv->pending = event;
}

/*
 * External interrupts reach the guest as a virtual interrupt (V_IRQ with
 * the vector, APM Vol. 2 15.21.4), not through EVENTINJ: the guest takes
 * it when its RFLAGS.IF and interrupt shadow allow, and the CPU clears
 * V_IRQ when it does. (EVENTINJ would do on hardware too, but QEMU's TCG
 * VMRUN leaves an injected interrupt queued as a pending exception and
 * may deliver it a second time later, with the guest's IF clear.)
 * The interrupt window, asked for this entry only (`window`), is a V_IRQ
 * of top priority that is never taken: the VINTR intercept fires as soon
 * as the guest could take it. With an interrupt in V_IRQ no window is
 * armed: the next one goes in at the next exit (the guest's EOI at the
 * latest).
 */
static void svm_sync_vintr(struct svm_vcpu *sv, bool window)
{
	struct vmcb_control *c = &sv->vmcb->control;
	const u64 mask = SVM_VINTR_QUEUE_MASK;
	u64 v_intr, intercept;

	/* Nothing queued, nothing asked for, nothing left in the VMCB. */
	if (!sv->virq && !window && !(c->v_intr & mask) &&
	    !(c->intercept_misc1 & SVM_INTERCEPT1_VINTR))
		return;
	v_intr = c->v_intr & ~mask;
	intercept = c->intercept_misc1 & ~(u64)SVM_INTERCEPT1_VINTR;

	if (sv->virq || window)
		v_intr |= SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR |
			  (0xfull << SVM_VINTR_PRIO_SHIFT) |
			  ((u64)(sv->virq & 0xff) << SVM_VINTR_VECTOR_SHIFT);
	if (!sv->virq && window)
		intercept |= SVM_INTERCEPT1_VINTR;
	if (v_intr != c->v_intr)
		sv->dirty |= SVM_CLEAN_TPR;
	if (intercept != c->intercept_misc1)
		sv->dirty |= SVM_CLEAN_INTERCEPTS;
	c->v_intr = v_intr;
	c->intercept_misc1 = intercept;
}

/* ---- entry and exit ---- */

/*
 * Complete the exiting instruction: the one place this backend moves RIP.
 * Outside 64-bit code RIP wraps at 4 GiB; the STI / MOV SS shadow covered
 * only the skipped instruction. With RFLAGS.TF set the instruction ends
 * with a single-step #DB, as on bare metal (APM Vol. 2 13.1.3.2): DR6.BS
 * is set and the trap is injected before any other event (one held to be
 * re-injected excepted: it was on its way before the instruction). A
 * shadow does not change that: after MOV SS the trap of the MOV SS itself
 * and of the instruction behind it are one #DB after the latter. RFLAGS
 * is already in hand: the check costs one test on every exit.
 * (IA32_DEBUGCTL.BTF, which would limit single steps to branches, is not
 * offered to guests: its MSR gives #GP.)
 */
static void svm_skip(struct svm_vcpu *sv, struct vmcb *vmcb, u32 len)
{
	vmcb->save.rip += len;
	if (!svm_in_64bit_code(&vmcb->save))
		vmcb->save.rip &= 0xffffffffull;
	vmcb->control.int_state &= ~SVM_INT_SHADOW;
	if (vmcb->save.rflags & RFLAGS_TF) {
		vmcb->save.dr6 |= DR6_BS;
		sv->dirty |= SVM_CLEAN_DRX;
		sv->db_trap = true;
		sv->rare = true;
	}
}

/* ---- NMI blocking and the one-instruction step ---- */

static bool svm_event_is_nmi(u64 event)
{
	return (event & SVM_EVENT_VALID) &&
	       (event & SVM_EVENT_TYPE_MASK) == SVM_EVENT_TYPE_NMI;
}

/*
 * Could the guest take an NMI now, with nothing the backend holds going
 * first: not blocked by an earlier NMI, no STI / MOV SS shadow (APM Vol. 2
 * 8.2.2, 15.21.3 and 15.20 for EVENTINJ ignoring both).
 */
static bool svm_nmi_window_open(const struct svm_vcpu *sv)
{
	return !sv->nmi_blocked &&
	       !(sv->vmcb->control.int_state & SVM_INT_SHADOW) &&
	       !sv->reinject && !sv->db_trap && !sv->pending;
}

/*
 * The event for EVENTINJ at this VMRUN, in order: the one the last exit
 * cut short, the single-step #DB of a skipped instruction, the one core
 * asked for. An NMI waits while NMIs are blocked or the guest is in an
 * interrupt shadow, which EVENTINJ would ignore. Injecting an NMI blocks
 * NMIs until the guest's next IRET, as its delivery on bare metal does;
 * VMRUN does not track that, the backend does (15.21.3).
 */
static u64 svm_next_event(struct svm_vcpu *sv)
{
	u64 event = 0;

	if (sv->reinject) {
		event = sv->reinject;
		sv->reinject = 0;
	} else if (sv->db_trap) {
		event = SVM_EVENT_DB;
		sv->db_trap = false;
	} else if (sv->pending &&
		   (!svm_event_is_nmi(sv->pending) ||
		    (!sv->nmi_blocked &&
		     !(sv->vmcb->control.int_state & SVM_INT_SHADOW)))) {
		event = sv->pending;
		sv->pending = 0;
	}
	if (svm_event_is_nmi(event))
		sv->nmi_blocked = true;
	return event;
}

/*
 * Run the next guest instruction with RFLAGS.TF forced and #DB
 * intercepted: the #VMEXIT(#DB) after it is the backend's moment (AMD-V
 * has neither an NMI-window intercept nor a monitor trap flag). The
 * guest's own TF and DR6 are kept, and given back at the next #VMEXIT.
 */
static void svm_arm_step(struct svm_vcpu *sv, enum svm_step kind)
{
	struct vmcb *vmcb = sv->vmcb;

	sv->step = (u8)kind;
	sv->step_tf = vmcb->save.rflags & RFLAGS_TF;
	sv->step_dr6 = vmcb->save.dr6;
	vmcb->save.rflags |= RFLAGS_TF;
	vmcb->control.intercept_exceptions |= BIT(X86_VECTOR_DB);
	sv->dirty |= SVM_CLEAN_INTERCEPTS;
}

/*
 * The IRET intercept and the step for this VMRUN. `event` is what goes
 * into EVENTINJ. The IRET intercept fires before the IRET runs (15.9),
 * so while NMIs are blocked it only finds the IRET; the VMRUN after it
 * lets the IRET run. When an NMI waits, that VMRUN steps over the IRET,
 * and the #DB behind it is the end of the blocking, at once. Otherwise
 * the IRET runs unwatched (one exit fewer per NMI) and the next #VMEXIT,
 * whatever it is, settles it: the guest has left the IRET (RIP moved) or
 * not (an interrupt came first; the intercept finds the IRET again). Core
 * reads VCPU_NMI_BLOCKED only after exits, so it never sees a stale 1.
 * The same intercept brings the backend back when an NMI must wait for an
 * event that goes first (an exception handler returns with IRET), and a
 * step over the shadowed instruction when the shadow is all that holds
 * it. Neither a step nor an unwatched IRET goes with an injected event or
 * a virtual interrupt that could be taken first: the one would push the
 * forced TF on the stack, the other move RIP before the IRET ran.
 */
static void svm_sync_nmi(struct svm_vcpu *sv, const struct vcpu_entry *e,
			 u64 event)
{
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_control *c = &vmcb->control;
	bool shadow = c->int_state & SVM_INT_SHADOW;
	bool nmi_waits = e->nmi_window || svm_event_is_nmi(sv->pending);
	bool virq_first = sv->virq && (vmcb->save.rflags & RFLAGS_IF);
	u32 intercept = c->intercept_misc1 & ~(u32)SVM_INTERCEPT1_IRET;

	if (sv->nmi_blocked) {
		if (!sv->iret_seen || event || virq_first) {
			intercept |= SVM_INTERCEPT1_IRET;
		} else if (nmi_waits) {
			svm_arm_step(sv, SVM_STEP_IRET);
		} else {
			sv->iret_passing = true;
			sv->iret_rip = vmcb->save.rip;
		}
	} else if (nmi_waits && !event && shadow) {
		svm_arm_step(sv, SVM_STEP_SHADOW);
	} else if ((nmi_waits && event) || sv->pending) {
		intercept |= SVM_INTERCEPT1_IRET;
	}
	sv->iret_seen = false;
	if (intercept != c->intercept_misc1) {
		c->intercept_misc1 = intercept;
		sv->dirty |= SVM_CLEAN_INTERCEPTS;
	}
}

/*
 * Settle the step armed for the VMRUN that just ended. Returns true when
 * this #VMEXIT is the step's #DB: the instruction completed (an IRET:
 * NMIs are unblocked). The guest's TF and DR6 come back; a breakpoint it
 * hit meanwhile, or its own single step, is a #DB it gets (injected like
 * the trap of a skip). Any other exit came before the instruction
 * completed: RFLAGS.TF is the guest's again and the next VMRUN decides
 * anew (the IRET intercept finds the IRET again).
 */
static bool svm_settle_step(struct svm_vcpu *sv, u64 exit_code)
{
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save *s = &vmcb->save;
	u8 step = sv->step;
	u64 hit;

	sv->step = SVM_STEP_NONE;
	vmcb->control.intercept_exceptions &= ~BIT(X86_VECTOR_DB);
	sv->dirty |= SVM_CLEAN_INTERCEPTS;
	if (exit_code != SVM_EXIT_EXCEPTION_BASE + X86_VECTOR_DB) {
		s->rflags =
		    (s->rflags & ~RFLAGS_TF) | (sv->step_tf ? RFLAGS_TF : 0);
		return false;
	}
	/* After an IRET, RFLAGS is what the IRET popped: the guest's. */
	if (step == SVM_STEP_SHADOW && !sv->step_tf)
		s->rflags &= ~RFLAGS_TF;
	if (step == SVM_STEP_IRET)
		sv->nmi_blocked = false;
	hit = s->dr6 & ~sv->step_dr6 & DR6_B0_B3;
	s->dr6 = sv->step_dr6 | hit | (sv->step_tf ? DR6_BS : 0);
	sv->dirty |= SVM_CLEAN_DRX;
	if (sv->step_tf || hit)
		sv->db_trap = true;
	return true;
}

/* ---- IA32_TSC_AUX: the guest's in the CPU while it runs ---- */

static bool svm_tsc_aux_loaded(struct vcpu *vcpu)
{
	const struct svm_cpu *sc = this_cpu()->vendor;

	return svm_caps.rdtscp && sc && sc->tsc_aux_owner == vcpu;
}

/*
 * RDTSCP and RDPID read IA32_TSC_AUX from the CPU and the MSRPM passes
 * the MSR through (svm.c), but neither VMRUN nor VMLOAD switches it: it
 * is loaded here when another vCPU (or none) used this CPU last, and the
 * value that vCPU left is kept for it.
 */
static void svm_load_tsc_aux(struct vcpu *vcpu, struct svm_vcpu *sv,
			     struct svm_cpu *sc)
{
	struct vcpu *owner = sc->tsc_aux_owner;

	if (owner == vcpu || !svm_caps.rdtscp)
		return;
	if (owner)
		svm_vcpu_of(owner)->tsc_aux = rdmsr(MSR_TSC_AUX);
	wrmsr(MSR_TSC_AUX, sv->tsc_aux);
	sc->tsc_aux_owner = vcpu;
}

/* Is anything held or armed that struct svm_vcpu.rare stands for? */
static bool svm_rare_work(const struct svm_vcpu *sv)
{
	const struct vmcb_control *c = &sv->vmcb->control;

	return sv->virq || sv->reinject || sv->pending || sv->db_trap ||
	       sv->nmi_blocked || sv->iret_seen || sv->iret_passing ||
	       sv->step || (c->v_intr & SVM_VINTR_QUEUE_MASK) ||
	       (c->intercept_misc1 &
		(SVM_INTERCEPT1_VINTR | SVM_INTERCEPT1_IRET));
}

/*
 * The events of this VMRUN: V_IRQ and the interrupt window, EVENTINJ, the
 * IRET intercept and the step. Needed only with rare work or a window in
 * the request: otherwise all of them are empty, and EVENTINJ is 0 (every
 * #VMEXIT clears it, svm_after_exit).
 */
static void svm_prepare_events(struct svm_vcpu *sv, const struct vcpu_entry *e)
{
	struct vmcb *vmcb = sv->vmcb;
	u64 event = svm_next_event(sv);
	/*
	 * An interrupt window asked for inside an STI / MOV SS shadow: the
	 * window must not open before the shadowed instruction completes
	 * (APM Vol. 2 15.21.5). VMRUN is meant to take the shadow from the
	 * VMCB's INTERRUPT_SHADOW, but QEMU's TCG (7.2) ignores it there and
	 * takes V_IRQ at once, e.g. between a guest's STI and its HLT, which
	 * then sleeps through the interrupt it was waiting for. So the
	 * window waits: the shadowed instruction is stepped over first, and
	 * the VMRUN after that step arms the window.
	 */
	bool shadow_first = e->intr_window && !sv->virq && !event &&
			    !sv->nmi_blocked &&
			    (vmcb->control.int_state & SVM_INT_SHADOW);

	svm_sync_vintr(sv, e->intr_window && !shadow_first);
	vmcb->control.event_inject = event;
	/* The rare cases in one test: NMIs, a held event, a window. */
	if (sv->nmi_blocked || sv->pending || e->nmi_window ||
	    (vmcb->control.intercept_misc1 & SVM_INTERCEPT1_IRET))
		svm_sync_nmi(sv, e, event);
	if (shadow_first && sv->step == SVM_STEP_NONE)
		svm_arm_step(sv, SVM_STEP_SHADOW);
	sv->rare = svm_rare_work(sv);
}

/*
 * PAUSE exits while core asks (struct vcpu_entry.pause_exits): the
 * intercept, behind the pause filter where the CPU has one (APM Vol. 2
 * 15.14.4: an exit after SVM_PAUSE_FILTER_COUNT PAUSEs, with the
 * threshold where present only PAUSEs at most SVM_PAUSE_THRESHOLD cycles
 * apart counting), else on every PAUSE.
 */
static void svm_set_pause_exits(struct svm_vcpu *sv, bool on)
{
	struct vmcb_control *c = &sv->vmcb->control;
	u32 want = on ? c->intercept_misc1 | SVM_INTERCEPT1_PAUSE
		      : c->intercept_misc1 & ~SVM_INTERCEPT1_PAUSE;

	if (want == c->intercept_misc1)
		return;
	c->intercept_misc1 = want;
	if (svm_has(SVM_FEATURE_PAUSE_FILTER))
		c->pause_filter_count = SVM_PAUSE_FILTER_COUNT;
	if (svm_has(SVM_FEATURE_PAUSE_THRESH))
		c->pause_filter_threshold = SVM_PAUSE_THRESHOLD;
	sv->dirty |= SVM_CLEAN_INTERCEPTS;
}

static void svm_prepare_entry(struct vcpu *vcpu, struct svm_vcpu *sv,
			      const struct percpu *cpu,
			      const struct vcpu_entry *e)
{
	struct vmcb *vmcb = sv->vmcb;
	struct svm_cpu *svc = cpu->vendor;

	vmcb->save.rax = vcpu->regs.gpr[GPR_RAX];
	vmcb->save.rsp = vcpu->regs.gpr[GPR_RSP];

	if (vmcb->control.n_cr3 != vcpu->vm->nested_root) {
		vmcb->control.n_cr3 = vcpu->vm->nested_root;
		sv->dirty |= SVM_CLEAN_NP;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
	}
	/*
	 * On another CPU (or the first time) the VMCB cache and the TLB of
	 * that CPU may hold another VM's entries under this ASID (15.15.3,
	 * 15.15.1).
	 */
	if (sv->last_cpu != cpu->index) {
		sv->dirty = SVM_CLEAN_ALL;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
	}
	/*
	 * Another vCPU ran here since (a shared CPU): clean bits hold only
	 * for the VMCB the CPU ran last (15.15.3), and a vCPU of the same
	 * VM left its translations under the one ASID (15.16.1).
	 */
	if (svc->last_vcpu != vcpu) {
		sv->dirty = SVM_CLEAN_ALL;
		if (svc->last_vcpu && svc->last_vcpu->vm == vcpu->vm)
			sv->tlb_control = SVM_TLB_FLUSH_ALL;
		svc->last_vcpu = vcpu;
	}
	if (sv->rare || e->intr_window || e->nmi_window)
		svm_prepare_events(sv, e);
	if (sv->tlb_control == SVM_TLB_FLUSH_ALL &&
	    svm_has(SVM_FEATURE_FLUSH_BY_ASID))
		sv->tlb_control = SVM_TLB_FLUSH_ASID;
	vmcb->control.tlb_control = sv->tlb_control;
	vmcb->control.clean_bits =
	    svm_has(SVM_FEATURE_VMCB_CLEAN)
		? (SVM_CLEAN_ALL & ~sv->dirty &
		   ~(sv->tsc_dirty ? SVM_CLEAN_INTERCEPTS : 0))
		: 0;
}

static void svm_after_exit(struct vcpu *vcpu, struct svm_vcpu *sv,
			   const struct percpu *cpu)
{
	struct vmcb_control *c = &sv->vmcb->control;
	u64 info = c->exit_int_info;

	vcpu->regs.gpr[GPR_RAX] = sv->vmcb->save.rax;
	vcpu->regs.gpr[GPR_RSP] = sv->vmcb->save.rsp;
	sv->last_cpu = cpu->index;
	sv->dirty = 0;
	sv->tsc_dirty = false;
	sv->tlb_control = SVM_TLB_NOTHING;
	c->tlb_control = SVM_TLB_NOTHING;
	c->event_inject = 0;
	/* The CPU clears V_IRQ when the guest takes the interrupt. */
	if (sv->virq && !(c->v_intr & SVM_VINTR_IRQ)) {
		sv->virq = sv->virq_next;
		sv->virq_next = 0;
	}
	if (!(info & SVM_EVENT_VALID))
		return;
	sv->rare = true;
	/*
	 * An event cut short (EXITINTINFO, 15.7.2): an external interrupt
	 * goes back to the V_IRQ queue, in front; a software interrupt
	 * (INTn) is not re-injected: RIP still points at the INTn, which
	 * runs again; anything else goes into EVENTINJ first at the next
	 * entry.
	 */
	if ((info & SVM_EVENT_TYPE_MASK) == SVM_EVENT_TYPE_INTR)
		svm_requeue_intr(vcpu, sv, (u8)(info & SVM_EVENT_VECTOR_MASK));
	else if ((info & SVM_EVENT_TYPE_MASK) != SVM_EVENT_TYPE_SOFT_INT)
		sv->reinject = info;
}

/*
 * After a #VMEXIT of a run with rare work: the unwatched IRET and the step
 * are settled, and the IRET intercept noted. True for the exits the
 * backend completes itself (listed at svm_run()).
 */
static bool svm_exit_completed(struct svm_vcpu *sv, u64 code)
{
	/* An unwatched IRET (svm_sync_nmi) ran if the guest left it. */
	if (sv->iret_passing) {
		sv->iret_passing = false;
		if (sv->vmcb->save.rip != sv->iret_rip)
			sv->nmi_blocked = false;
	}
	if (sv->step && svm_settle_step(sv, code))
		return true;
	if (code == SVM_EXIT_IRET) {
		/* Before the IRET: step over it if it ends NMI blocking. */
		sv->iret_seen = sv->nmi_blocked;
		return true;
	}
	return false;
}

/*
 * One VMRUN of the request `e` (whose skip and event are taken already):
 * the deadline, the NMI window, the VMCB, the checks, VMRUN, the exit.
 * Returns false for the exits the backend completes itself (listed at
 * svm_run()), true when *ev is for core.
 */
static bool svm_enter_once(struct vcpu *vcpu, struct svm_vcpu *sv,
			   struct percpu *cpu, const struct vcpu_entry *e,
			   struct exit_event *ev)
{
	struct vmcb *vmcb = sv->vmcb;
	const struct svm_cpu *sc = cpu->vendor;
	const char *rule;
	u64 code;

	/* No SVM preemption timer: the deadline is checked here. */
	if (e->deadline && rdtsc() >= e->deadline) {
		*ev = (struct exit_event){
		    .kind = EXIT_PREEMPT_TIMER,
		    .vendor_name = "deadline passed before VMRUN",
		};
		return true;
	}
	/* Nothing holds an NMI back: the window is open now. */
	if (e->nmi_window && svm_nmi_window_open(sv)) {
		*ev = (struct exit_event){
		    .kind = EXIT_NMI_WINDOW,
		    .vendor_name = "NMI window open (no VMRUN)",
		};
		return true;
	}
	svm_prepare_entry(vcpu, sv, cpu, e);
	/*
	 * Only what Veneer wrote can break a rule (the guest's own writes
	 * are checked by the CPU): every such write marks the VMCB dirty, or
	 * is an event to inject, which only the EVENTINJ rule concerns.
	 */
	rule = sv->dirty ? svm_vmcb_violation(vmcb)
	       : vmcb->control.event_inject
		   ? svm_event_violation(vmcb->control.event_inject)
		   : NULL;
	if (rule) {
		*ev = (struct exit_event){
		    .kind = EXIT_ENTRY_FAILED,
		    .vendor_name = "VMCB consistency check (no VMRUN)",
		    .fail.what = rule,
		};
		return true;
	}
	/*
	 * The host LAPIC timer ends the run at the deadline. Physical
	 * interrupts cause #VMEXIT only when the host runs VMRUN with IF=1
	 * (V_INTR_MASKING, APM Vol. 2 15.21.1). CLGI comes before STI: with
	 * GIF clear no interrupt is taken (15.17), so one that waits now (a
	 * kick for an event raised since apply_pending looked, the deadline
	 * already due) stays pending until VMRUN sets GIF and ends the run
	 * at once. An STI alone let the host's handler take it on the way
	 * into the stub, and the guest ran on without the event (a fixed
	 * IPI left in IRR until some later exit). The stub's own CLGI then
	 * changes nothing; after #VMEXIT its STGI lets the handler
	 * acknowledge.
	 */
	if (e->deadline)
		lapic_timer_arm(e->deadline);
	__asm__ volatile("clgi; sti" ::: "memory");
	svm_enter(&vcpu->regs, sv->vmcb_pa, sc->host_vmcb_pa);
	cli();
	svm_after_exit(vcpu, sv, cpu);
	code = vmcb->control.exit_code;
	/* Without rare work no IRET or step was watched in this run. */
	if (sv->rare && svm_exit_completed(sv, code))
		return false;
	svm_decode_exit(vcpu, vmcb, ev);
	return true;
}

/*
 * Carry out the entry request, VMRUN, decode the exit. In order: the skip
 * (RIP, and the single-step #DB it may owe), the event (held by the
 * backend from here on: a run that does not enter keeps it), TSC_OFFSET,
 * the PAUSE intercept and IA32_TSC_AUX, then per VMRUN the deadline, the
 * NMI window, the VMCB (interrupt window, EVENTINJ, IRET intercept, clean
 * bits), the consistency checks when Veneer wrote the VMCB, VMRUN.
 *
 * Exits completed in here, the VMRUN repeated (they exist because AMD-V
 * has no NMI-window intercept; docs/svm.md):
 *   - the IRET intercept (before the IRET runs): the next VMRUN steps
 *     over the IRET while NMIs are blocked, or delivers the NMI that
 *     waited for it;
 *   - the #DB intercept of that step: the IRET (or the instruction in an
 *     STI / MOV SS shadow) completed; EXIT_NMI_WINDOW follows when core
 *     asked for the window.
 */
void svm_run(struct vcpu *vcpu, const struct vcpu_entry *e,
	     struct exit_event *ev)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb *vmcb = sv->vmcb;
	struct percpu *cpu = this_cpu();
	const struct svm_cpu *sc = cpu->vendor;

	if (!sc)
		panic("svm: CPU %u runs a guest before cpu_enable", cpu->index);
	if (e->skip)
		svm_skip(sv, vmcb, e->skip);
	if (e->inject)
		svm_take_event(vcpu, sv, &e->event);
	/* The guest's TLB on this CPU: its ASID's entries (15.16.1; made
	 * FLUSH_ASID where the CPU has it, svm_prepare_entry). */
	if (e->flush_tlb)
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
	/*
	 * TSC_OFFSET (15.30.5): guest RDTSC = host TSC + offset. Written only
	 * when it changed; clean bit 0 covers it, and no rule of 15.5.1
	 * concerns it, so it does not ask for the consistency checks.
	 */
	if (vmcb->control.tsc_offset != e->tsc_offset) {
		vmcb->control.tsc_offset = e->tsc_offset;
		sv->tsc_dirty = true;
	}
	/* For the whole request, and the CPU is this vCPU's until the
	 * return: the PAUSE intercept (its clean bit with the first VMRUN's
	 * dirty bits) and IA32_TSC_AUX, once. */
	svm_set_pause_exits(sv, e->pause_exits);
	svm_load_tsc_aux(vcpu, sv, cpu->vendor);
	/* Quiet exits core completes at once: the lean path (core/vcpu.h). */
	for (;;) {
		u32 len;

		while (!svm_enter_once(vcpu, sv, cpu, e, ev))
			;
		len = vcpu_lean_candidate(vcpu, ev) ? vcpu_exit_lean(vcpu, ev)
						    : 0;
		if (!len)
			return;
		svm_skip(sv, vmcb, len);
	}
}

/* ---- guest state access ---- */

/*
 * The segment fields of enum vcpu_field that the switches below do not
 * name one by one: which VMCB segment, which part of it, and the clean
 * bit its group has (15.15.3: CS, SS, DS, ES are SEG; GDTR, IDTR are DT;
 * FS, GS, TR, LDTR are VMLOAD state, loaded on every entry).
 */
enum svm_seg_part {
	SVM_SEG_NONE,
	SVM_SEG_SELECTOR,
	SVM_SEG_BASE,
	SVM_SEG_LIMIT,
	SVM_SEG_ATTR,
};

struct svm_seg_field {
	u16 offset; /* of the struct vmcb_segment in struct vmcb_save */
	u8 part;    /* enum svm_seg_part */
	u16 clean;  /* SVM_CLEAN_* of a write, or 0 */
};

#define SVM_SEG(seg, what, bit)                                                \
	{                                                                      \
		__builtin_offsetof(struct vmcb_save, seg), SVM_SEG_##what, bit \
	}

static const struct svm_seg_field svm_seg_fields[VCPU_FIELD_COUNT] = {
    [VCPU_ES_SELECTOR] = SVM_SEG(es, SELECTOR, SVM_CLEAN_SEG),
    [VCPU_SS_SELECTOR] = SVM_SEG(ss, SELECTOR, SVM_CLEAN_SEG),
    [VCPU_DS_SELECTOR] = SVM_SEG(ds, SELECTOR, SVM_CLEAN_SEG),
    [VCPU_FS_SELECTOR] = SVM_SEG(fs, SELECTOR, 0),
    [VCPU_GS_SELECTOR] = SVM_SEG(gs, SELECTOR, 0),
    [VCPU_LDTR_SELECTOR] = SVM_SEG(ldtr, SELECTOR, 0),
    [VCPU_TR_SELECTOR] = SVM_SEG(tr, SELECTOR, 0),
    [VCPU_LDTR_BASE] = SVM_SEG(ldtr, BASE, 0),
    [VCPU_TR_BASE] = SVM_SEG(tr, BASE, 0),
    [VCPU_ES_LIMIT] = SVM_SEG(es, LIMIT, SVM_CLEAN_SEG),
    [VCPU_CS_LIMIT] = SVM_SEG(cs, LIMIT, SVM_CLEAN_SEG),
    [VCPU_SS_LIMIT] = SVM_SEG(ss, LIMIT, SVM_CLEAN_SEG),
    [VCPU_DS_LIMIT] = SVM_SEG(ds, LIMIT, SVM_CLEAN_SEG),
    [VCPU_FS_LIMIT] = SVM_SEG(fs, LIMIT, 0),
    [VCPU_GS_LIMIT] = SVM_SEG(gs, LIMIT, 0),
    [VCPU_LDTR_LIMIT] = SVM_SEG(ldtr, LIMIT, 0),
    [VCPU_TR_LIMIT] = SVM_SEG(tr, LIMIT, 0),
    [VCPU_ES_ATTR] = SVM_SEG(es, ATTR, SVM_CLEAN_SEG),
    [VCPU_CS_ATTR] = SVM_SEG(cs, ATTR, SVM_CLEAN_SEG),
    [VCPU_SS_ATTR] = SVM_SEG(ss, ATTR, SVM_CLEAN_SEG),
    [VCPU_DS_ATTR] = SVM_SEG(ds, ATTR, SVM_CLEAN_SEG),
    [VCPU_FS_ATTR] = SVM_SEG(fs, ATTR, 0),
    [VCPU_GS_ATTR] = SVM_SEG(gs, ATTR, 0),
    [VCPU_LDTR_ATTR] = SVM_SEG(ldtr, ATTR, 0),
    [VCPU_TR_ATTR] = SVM_SEG(tr, ATTR, 0),
    [VCPU_GDTR_LIMIT] = SVM_SEG(gdtr, LIMIT, SVM_CLEAN_DT),
    [VCPU_IDTR_LIMIT] = SVM_SEG(idtr, LIMIT, SVM_CLEAN_DT),
};

/*
 * VCPU_*_ATTR use the VMX access-rights layout (core/vcpu.h): type 3:0, S
 * 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16. The VMCB keeps
 * descriptor bits 40-47 in 7:0 and 52-55 in 11:8 (APM Vol. 2 15.5.1,
 * appendix B). AMD-V has no "unusable": a segment without P is one (a
 * null selector loads P=0), and one written unusable is stored without P.
 */
#define SVM_AR_UNUSABLE BIT(16)

static u64 svm_attr_to_ar(u16 attrib)
{
	u64 ar = (attrib & 0xffu) | ((u64)(attrib & 0xf00u) << 4);

	return (attrib & VMCB_ATTR_P) ? ar : ar | SVM_AR_UNUSABLE;
}

static u16 svm_ar_to_attr(u64 ar)
{
	u16 attrib = (u16)((ar & 0xffu) | ((ar >> 4) & 0xf00u));

	return (ar & SVM_AR_UNUSABLE) ? attrib & ~VMCB_ATTR_P : attrib;
}

static struct vmcb_segment *svm_seg_of(struct vmcb_save *s,
				       const struct svm_seg_field *f)
{
	return (struct vmcb_segment *)((u8 *)s + f->offset);
}

static u64 svm_read_segment(struct vmcb_save *s, enum vcpu_field field)
{
	const struct svm_seg_field *f = &svm_seg_fields[field];
	const struct vmcb_segment *seg = svm_seg_of(s, f);

	switch (f->part) {
	case SVM_SEG_SELECTOR:
		return seg->selector;
	case SVM_SEG_BASE:
		return seg->base;
	case SVM_SEG_LIMIT:
		return seg->limit;
	default:
		return svm_attr_to_ar(seg->attrib);
	}
}

/* Returns the clean bit the write dirties. */
static u32 svm_write_segment(struct vmcb_save *s, enum vcpu_field field,
			     u64 value)
{
	const struct svm_seg_field *f = &svm_seg_fields[field];
	struct vmcb_segment *seg = svm_seg_of(s, f);

	switch (f->part) {
	case SVM_SEG_SELECTOR:
		seg->selector = (u16)value;
		break;
	case SVM_SEG_BASE:
		seg->base = value;
		break;
	case SVM_SEG_LIMIT:
		/* GDTR and IDTR limits are 16 bits (APM Vol. 2 4.6.2). */
		seg->limit =
		    field == VCPU_GDTR_LIMIT || field == VCPU_IDTR_LIMIT
			? (u16)value
			: (u32)value;
		break;
	default:
		seg->attrib = svm_ar_to_attr(value);
		break;
	}
	return f->clean;
}

u64 svm_read(struct vcpu *vcpu, enum vcpu_field field)
{
	const struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	const struct vmcb *vmcb = sv->vmcb;
	const struct vmcb_save *s = &vmcb->save;

	switch (field) {
	case VCPU_RIP:
		return s->rip;
	case VCPU_RFLAGS:
		return s->rflags;
	case VCPU_CR0:
		return s->cr0;
	case VCPU_CR2:
		return s->cr2;
	case VCPU_CR3:
		return s->cr3;
	case VCPU_CR4:
		return s->cr4;
	case VCPU_EFER:
		/* SVME is Veneer's (VMRUN needs it), not the guest's. */
		return s->efer & ~EFER_SVME;
	case VCPU_CS_BASE:
		return s->cs.base;
	case VCPU_CS_SELECTOR:
		return s->cs.selector;
	case VCPU_CS_LONG:
		return svm_in_64bit_code(s);
	case VCPU_RIP_LINEAR:
		return svm_in_64bit_code(s)
			   ? s->rip
			   : (s->cs.base + s->rip) & 0xffffffffull;
	case VCPU_CS_DB:
		return (s->cs.attrib & VMCB_ATTR_DB) != 0;
	case VCPU_CPL:
		return s->cpl;
	case VCPU_DS_BASE:
		return s->ds.base;
	case VCPU_ES_BASE:
		return s->es.base;
	case VCPU_SS_BASE:
		return s->ss.base;
	case VCPU_GDTR_BASE:
		return s->gdtr.base;
	case VCPU_IDTR_BASE:
		return s->idtr.base;
	case VCPU_PAT:
		return s->g_pat;
	case VCPU_SYSENTER_CS:
		return s->sysenter_cs;
	case VCPU_SYSENTER_ESP:
		return s->sysenter_esp;
	case VCPU_SYSENTER_EIP:
		return s->sysenter_eip;
	case VCPU_FS_BASE:
		return s->fs.base;
	case VCPU_GS_BASE:
		return s->gs.base;
	case VCPU_KERNEL_GS_BASE:
		return s->kernel_gs_base;
	case VCPU_STAR:
		return s->star;
	case VCPU_LSTAR:
		return s->lstar;
	case VCPU_CSTAR:
		return s->cstar;
	case VCPU_SFMASK:
		return s->sfmask;
	case VCPU_INTERRUPTIBLE:
		/* 0 too while the backend holds an event (svm_take_event). */
		return (s->rflags & RFLAGS_IF) &&
		       !(vmcb->control.int_state & SVM_INT_SHADOW) &&
		       !sv->reinject && !sv->pending && !sv->virq &&
		       !sv->db_trap;
	case VCPU_DR6:
		return s->dr6;
	case VCPU_DR7:
		return s->dr7;
	case VCPU_NMI_BLOCKED:
		/* Also while an NMI core passed is still held here. */
		return sv->nmi_blocked || svm_event_is_nmi(sv->pending) ||
		       svm_event_is_nmi(sv->reinject);
	case VCPU_TSC_AUX:
		return svm_tsc_aux_loaded(vcpu) ? rdmsr(MSR_TSC_AUX)
						: sv->tsc_aux;
	case VCPU_CR8:
		return vmcb->control.v_intr & SVM_VINTR_TPR_MASK;
	case VCPU_FIELD_COUNT:
		break;
	default:
		if (svm_seg_fields[field].part != SVM_SEG_NONE)
			return svm_read_segment((struct vmcb_save *)s, field);
		break;
	}
	vm_stop(vcpu->vm, "svm: read of unknown vCPU field %d", (int)field);
	return 0;
}

void svm_write(struct vcpu *vcpu, enum vcpu_field field, u64 value)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb_save *s = &sv->vmcb->save;
	u32 dirty = 0;

	switch (field) {
	case VCPU_RIP:
		s->rip = value;
		break;
	case VCPU_RFLAGS:
		s->rflags = value | RFLAGS_FIXED;
		break;
	/*
	 * CR0, CR3 and CR4 come from core only for what the CPU would
	 * otherwise have done (the intercepted MOV to CR4, a reset, a task
	 * switch): the guest's TLB entries under its ASID may not match the
	 * new paging mode, so the next VMRUN flushes them, as the MOV would
	 * have (APM Vol. 2 5.5.2).
	 */
	case VCPU_CR0:
		s->cr0 = value;
		dirty = SVM_CLEAN_CRX;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
		break;
	case VCPU_CR2:
		s->cr2 = value;
		dirty = SVM_CLEAN_CR2;
		break;
	case VCPU_CR3:
		s->cr3 = value;
		dirty = SVM_CLEAN_CRX;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
		break;
	case VCPU_CR4:
		s->cr4 = value;
		dirty = SVM_CLEAN_CRX;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
		break;
	case VCPU_EFER:
		/* VMRUN needs SVME in the guest EFER (15.5.1); read() hides
		 * it. */
		s->efer = value | EFER_SVME;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_CS_BASE:
		s->cs.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CS_SELECTOR:
		s->cs.selector = (u16)value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CS_LONG:
		s->cs.attrib = value ? (s->cs.attrib | VMCB_ATTR_L)
				     : (s->cs.attrib & ~VMCB_ATTR_L);
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CS_DB:
		s->cs.attrib = value ? (s->cs.attrib | VMCB_ATTR_DB)
				     : (s->cs.attrib & ~VMCB_ATTR_DB);
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CPL:
		s->cpl = value & 3;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_DS_BASE:
		s->ds.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_ES_BASE:
		s->es.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_SS_BASE:
		s->ss.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_GDTR_BASE:
		s->gdtr.base = value;
		dirty = SVM_CLEAN_DT;
		break;
	case VCPU_IDTR_BASE:
		s->idtr.base = value;
		dirty = SVM_CLEAN_DT;
		break;
	case VCPU_PAT:
		s->g_pat = value;
		dirty = SVM_CLEAN_NP;
		break;
	/* The rest are VMLOAD state, loaded on every entry: no clean bit. */
	case VCPU_SYSENTER_CS:
		s->sysenter_cs = value;
		break;
	case VCPU_SYSENTER_ESP:
		s->sysenter_esp = value;
		break;
	case VCPU_SYSENTER_EIP:
		s->sysenter_eip = value;
		break;
	case VCPU_FS_BASE:
		s->fs.base = value;
		break;
	case VCPU_GS_BASE:
		s->gs.base = value;
		break;
	case VCPU_KERNEL_GS_BASE:
		s->kernel_gs_base = value;
		break;
	case VCPU_STAR:
		s->star = value;
		break;
	case VCPU_LSTAR:
		s->lstar = value;
		break;
	case VCPU_CSTAR:
		s->cstar = value;
		break;
	case VCPU_SFMASK:
		s->sfmask = value;
		break;
	case VCPU_DR6:
		s->dr6 = value;
		dirty = SVM_CLEAN_DRX;
		break;
	case VCPU_DR7:
		s->dr7 = value;
		dirty = SVM_CLEAN_DRX;
		break;
	case VCPU_NMI_BLOCKED:
		/* A task switch or a reset; the next IRET is found anew. */
		sv->nmi_blocked = value != 0;
		sv->iret_seen = false;
		sv->iret_passing = false;
		sv->rare = true;
		break;
	case VCPU_TSC_AUX:
		/* Bits 63:32 are reserved (core gives #GP for them). */
		if (svm_tsc_aux_loaded(vcpu))
			wrmsr(MSR_TSC_AUX, (u32)value);
		else
			sv->tsc_aux = (u32)value;
		break;
	case VCPU_CR8:
		sv->vmcb->control.v_intr =
		    (sv->vmcb->control.v_intr & ~SVM_VINTR_TPR_MASK) |
		    (value & SVM_VINTR_TPR_MASK);
		sv->dirty |= SVM_CLEAN_TPR;
		break;
	case VCPU_INTERRUPTIBLE: /* read-only */
	case VCPU_RIP_LINEAR:
	case VCPU_FIELD_COUNT:
		vm_stop(vcpu->vm,
			"svm: write of read-only or unknown vCPU "
			"field %d",
			(int)field);
		return;
	default:
		if (svm_seg_fields[field].part == SVM_SEG_NONE) {
			vm_stop(vcpu->vm,
				"svm: write of read-only or unknown vCPU "
				"field %d",
				(int)field);
			return;
		}
		dirty = svm_write_segment(s, field, value);
		break;
	}
	sv->dirty |= dirty;
}

/*
 * The backend as core sees it (arch/x86/virt.c binds it): here, in the file
 * at the top of the backend, so that the files below name nothing above
 * them (svm.c < svm_check.c < svm_exit.c < this one).
 */
const struct vcpu_ops svm_ops = {
    .name = "AMD-V",
    .probe = svm_probe,
    .cpu_enable = svm_cpu_enable,
    .vm_init = svm_vm_init,
    .vm_destroy = svm_vm_destroy,
    .vcpu_create = svm_vcpu_create,
    .vcpu_destroy = svm_vcpu_destroy,
    .vcpu_reset = svm_vcpu_reset,
    .run = svm_run,
    .read = svm_read,
    .write = svm_write,
    .dump = svm_dump,
};
