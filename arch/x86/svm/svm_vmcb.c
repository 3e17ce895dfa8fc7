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

/*
 * The checks (svm_check.c) write nothing: said here, where run() calls them,
 * so that run() keeps what it loaded across the call, as when they were in
 * this file and the compiler saw it; the exit path costs what it did.
 */
__attribute__((pure)) const char *svm_vmcb_violation(const struct vmcb *vmcb);

static struct vmcb *svm_vmcb(struct vcpu *vcpu)
{
	return svm_vcpu_of(vcpu)->vmcb;
}

/* ---- VMCB set-up and start states ---- */

static void svm_setup_control(struct vcpu *vcpu)
{
	struct vmcb_control *c = &svm_vmcb(vcpu)->control;
	const struct svm_vm *sm = vcpu->vm->vendor;

	/*
	 * No CR/DR intercepts: with NPT the guest owns its paging. #UD and
	 * #AC go to core as EXIT_EXCEPTION (core decides what a #UD is and
	 * re-injects the rest; intercepting #AC keeps a guest from hanging
	 * the CPU in an endless #AC delivery loop). #MC is host-fatal.
	 */
	c->intercept_exceptions =
	    BIT(X86_VECTOR_UD) | BIT(X86_VECTOR_AC) | BIT(X86_VECTOR_MC);
	c->intercept_misc1 =
	    SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI | SVM_INTERCEPT1_INIT |
	    SVM_INTERCEPT1_CPUID | SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT |
	    SVM_INTERCEPT1_INVLPGA | SVM_INTERCEPT1_IOIO_PROT |
	    SVM_INTERCEPT1_MSR_PROT | SVM_INTERCEPT1_TASK_SWITCH |
	    SVM_INTERCEPT1_SHUTDOWN;
	/* VMRUN must be intercepted or VMRUN fails (15.5.1). */
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL |
			     SVM_INTERCEPT2_VMLOAD | SVM_INTERCEPT2_VMSAVE |
			     SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
			     SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_XSETBV;
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
	sv->ran = false;
	sv->virq = 0;
	sv->virq_next = 0;
	sv->reinject = 0;
	sv->pending = 0;
}

void svm_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *st)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save *s = &vmcb->save;

	memset(vmcb, 0, sizeof(*vmcb));
	svm_setup_control(vcpu);
	svm_forget_state(sv);

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
	const u64 mask = SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR |
			 (0xfull << SVM_VINTR_PRIO_SHIFT) |
			 (0xffull << SVM_VINTR_VECTOR_SHIFT);
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
 * only the skipped instruction.
 */
static void svm_skip(struct vmcb *vmcb, u32 len)
{
	vmcb->save.rip += len;
	if (!svm_in_64bit_code(&vmcb->save))
		vmcb->save.rip &= 0xffffffffull;
	vmcb->control.int_state &= ~SVM_INT_SHADOW;
}

static void svm_prepare_entry(struct vcpu *vcpu, struct svm_vcpu *sv,
			      const struct percpu *cpu, bool window)
{
	struct vmcb *vmcb = sv->vmcb;

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
	if (!sv->ran || sv->last_cpu != cpu->index) {
		sv->dirty = SVM_CLEAN_ALL;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
	}
	svm_sync_vintr(sv, window);
	/* An event cut short by the last exit goes first (15.20). */
	if (sv->reinject) {
		vmcb->control.event_inject = sv->reinject;
		sv->reinject = 0;
	} else if (sv->pending) {
		vmcb->control.event_inject = sv->pending;
		sv->pending = 0;
	}
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
	sv->ran = true;
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
 * Carry out the entry request, VMRUN, decode the exit. In order: the skip
 * (RIP), the event (held by the backend from here on: a run that does not
 * enter keeps it), TSC_OFFSET, the deadline, the VMCB (interrupt window,
 * EVENTINJ, clean bits), the consistency checks when Veneer wrote the
 * VMCB, VMRUN.
 *
 * No exit is completed in here: every #VMEXIT comes back to core decoded,
 * so there is no re-entry loop (the old #UD / #AC plumbing is core's now,
 * as EXIT_EXCEPTION).
 */
void svm_run(struct vcpu *vcpu, const struct vcpu_entry *e,
	     struct exit_event *ev)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb *vmcb = sv->vmcb;
	struct percpu *cpu = this_cpu();
	const struct svm_cpu *sc = cpu->vendor;
	const char *rule;

	if (!sc)
		panic("svm: CPU %u runs a guest before cpu_enable", cpu->index);
	*ev = (struct exit_event){.kind = EXIT_NONE};
	if (e->skip)
		svm_skip(vmcb, e->skip);
	if (e->inject)
		svm_take_event(vcpu, sv, &e->event);
	/*
	 * TSC_OFFSET (15.30.5): guest RDTSC = host TSC + offset. Written only
	 * when it changed; clean bit 0 covers it, and no rule of 15.5.1
	 * concerns it, so it does not ask for the consistency checks.
	 */
	if (vmcb->control.tsc_offset != e->tsc_offset) {
		vmcb->control.tsc_offset = e->tsc_offset;
		sv->tsc_dirty = true;
	}
	/* No SVM preemption timer: the deadline is checked here. */
	if (e->deadline && rdtsc() >= e->deadline) {
		ev->kind = EXIT_PREEMPT_TIMER;
		ev->vendor_name = "deadline passed before VMRUN";
		return;
	}
	svm_prepare_entry(vcpu, sv, cpu, e->intr_window);
	/*
	 * Only what Veneer wrote can break a rule (the guest's own writes
	 * are checked by the CPU): every such write marks the VMCB dirty, or
	 * is an event to inject.
	 */
	rule = sv->dirty || vmcb->control.event_inject
		   ? svm_vmcb_violation(vmcb)
		   : NULL;
	if (rule) {
		ev->kind = EXIT_ENTRY_FAILED;
		ev->vendor_name = "VMCB consistency check (no VMRUN)";
		ev->fail.what = rule;
		return;
	}
	/*
	 * The host LAPIC timer ends the run at the deadline. Physical
	 * interrupts cause #VMEXIT only when the host runs VMRUN with IF=1
	 * (V_INTR_MASKING, APM Vol. 2 15.21.1); the stub's CLGI keeps them
	 * out until the host state is back, then the handler just
	 * acknowledges.
	 */
	if (e->deadline)
		lapic_timer_arm(e->deadline);
	sti();
	svm_enter(&vcpu->regs, sv->vmcb_pa, sc->host_vmcb_pa);
	cli();
	svm_after_exit(vcpu, sv, cpu);
	svm_decode_exit(vcpu, vmcb, ev);
}

/* ---- guest state access ---- */

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
		       !sv->reinject && !sv->pending && !sv->virq;
	case VCPU_FIELD_COUNT:
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
	case VCPU_CR0:
		s->cr0 = value;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_CR2:
		s->cr2 = value;
		dirty = SVM_CLEAN_CR2;
		break;
	case VCPU_CR3:
		s->cr3 = value;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_CR4:
		s->cr4 = value;
		dirty = SVM_CLEAN_CRX;
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
	case VCPU_INTERRUPTIBLE: /* read-only */
	default:
		vm_stop(vcpu->vm,
			"svm: write of read-only or unknown vCPU "
			"field %d",
			(int)field);
		return;
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
