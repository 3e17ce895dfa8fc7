/* SPDX-License-Identifier: MIT */
/*
 * Private to the AMD-V backend: the state its four files share. They are
 * floors, and a file calls only the ones below it:
 *
 *   svm_vmcb.c   top: VMCB create / reset / read / write, the events the
 *                backend holds, run(), the svm_ops table
 *   svm_exit.c   exit decoding and exit names, the VMCB dump
 *   svm_check.c  the VMRUN consistency checks on a VMCB
 *   svm.c        bottom: probe, cpu_enable, ASIDs, vm_init / vm_destroy
 *
 * Nothing outside arch/x86/svm/ includes this header (svm.h is the public
 * one).
 */
#ifndef VENEER_ARCH_X86_SVM_SVM_INTERNAL_H
#define VENEER_ARCH_X86_SVM_SVM_INTERNAL_H

#include "arch/x86/svm/vmcb.h"
#include "arch/x86/msr.h"
#include "core/exit.h"
#include "core/lib/types.h"
#include "core/vcpu.h"

/* Negative errno values of the vcpu_ops contract (Linux numbering). */
#define SVM_ENOMEM 12
#define SVM_ENODEV 19
#define SVM_ENOSPC 28

/* CPUID 0x8000000A EDX: SVM features (APM Vol. 3 E.4.10). */
#define SVM_FEATURE_NP		   BIT(0)
#define SVM_FEATURE_NRIP_SAVE	   BIT(3)
#define SVM_FEATURE_VMCB_CLEAN	   BIT(5)
#define SVM_FEATURE_FLUSH_BY_ASID  BIT(6)
#define SVM_FEATURE_DECODE_ASSISTS BIT(7)
/* Pause filter values (15.14.4): a spin loop's PAUSEs, not a delay's. */
#define SVM_PAUSE_FILTER_COUNT	 3000
#define SVM_PAUSE_THRESHOLD	 128
#define SVM_FEATURE_PAUSE_FILTER BIT(10)
#define SVM_FEATURE_PAUSE_THRESH BIT(12)
#define SVM_FEATURE_VGIF	 BIT(16)

/* IOPM and MSRPM sizes (APM Vol. 2 15.10.1, 15.11). */
#define SVM_IOPM_PAGES	3
#define SVM_MSRPM_PAGES 2

/*
 * What the probe hook found on the boot CPU (CPUID 0x8000000A, 0x80000008,
 * VM_CR): host facts, written once at boot before any other CPU starts,
 * read-only afterwards. cpu_enable and the VMCB code use these; nothing
 * probes CPUID for them again.
 */
struct svm_caps {
	bool usable;	    /* the probe found what Veneer needs */
	u32 revision;	    /* SVM revision, CPUID 0x8000000A EAX[7:0] */
	u32 asid_count;	    /* ASIDs including 0, the host's */
	u32 features;	    /* CPUID 0x8000000A EDX: SVM_FEATURE_* */
	u32 phys_addr_bits; /* CPUID 0x80000008 EAX[7:0] */
	bool long_mode;	    /* CPUID 0x80000001 EDX[29] */
	bool rdtscp;	    /* CPUID 0x80000001 EDX[27]: IA32_TSC_AUX exists */
	u64 cr4_allowed;    /* struct vcpu_caps.cr4_allowed, for the checks */
};

extern struct svm_caps svm_caps;

static inline bool svm_has(u32 feature)
{
	return (svm_caps.features & feature) != 0;
}

/* Per host CPU, reached through this_cpu()->vendor. */
struct svm_cpu {
	u64 hsave_pa;	  /* VM_HSAVE_PA: VMRUN's host save area */
	u64 host_vmcb_pa; /* the host's VMSAVE state around each VMRUN */
	/*
	 * The vCPU whose IA32_TSC_AUX is in this CPU's register. VMRUN does
	 * not switch it and the host never uses it (no RDTSCP, no RDPID), so
	 * it is loaded only when another vCPU runs here (svm_vmcb.c).
	 */
	struct vcpu *tsc_aux_owner;
	/*
	 * The vCPU of the last VMRUN here. When another vCPU runs on this
	 * CPU (a shared CPU, core/sched.h) its VMCB was not the one cached,
	 * and one of the same VM shares the ASID, so the TLB holds the
	 * other vCPU's translations (svm_vmcb.c).
	 */
	const struct vcpu *last_vcpu;
};

/*
 * Per VM, reached through vm->vendor (vm_init): the VM's ASID, whose one
 * owner this backend is, and its permission maps. One allocation holds
 * the IOPM, then the MSRPM, then this struct in a page of its own (svm.c).
 */
struct svm_vm {
	u32 asid;
	u64 iopm_pa;  /* the start of the allocation */
	u64 msrpm_pa; /* iopm_pa + SVM_IOPM_PAGES pages */
};

#define SVM_VM_PAGES (SVM_IOPM_PAGES + SVM_MSRPM_PAGES + 1)

/* svm_vcpu.last_cpu before the first VMRUN: no CPU has that index. */
#define SVM_NO_CPU 0xffffffffu

/* svm_vcpu.virq: an external interrupt waiting in V_IRQ for the guest. */
#define SVM_VIRQ_QUEUED 0x100

/*
 * svm_vcpu.step: one guest instruction run with RFLAGS.TF forced and #DB
 * intercepted, so that the backend gets control right after it (AMD-V has
 * no NMI-window intercept). Armed for one VMRUN, settled at its #VMEXIT.
 */
enum svm_step {
	SVM_STEP_NONE,
	SVM_STEP_IRET,	 /* the IRET that ends NMI blocking */
	SVM_STEP_SHADOW, /* the instruction in an STI / MOV SS shadow */
};

/* Per vCPU, reached through vcpu->vendor; lives in the page after the VMCB. */
struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 dirty;	/* SVM_CLEAN_* bits written since the last VMRUN */
	bool tsc_dirty; /* only TSC_OFFSET changed in clean bit 0's area */
	u8 tlb_control; /* SVM_TLB_* for the next VMRUN */
	u32 last_cpu;	/* host CPU of the last VMRUN, or SVM_NO_CPU */
	/*
	 * Rare work: set whenever one of the events and NMI states below may
	 * be held or armed, or a virtual interrupt, window or IRET intercept
	 * be left in the VMCB; cleared by run() only after a pass that finds
	 * none (svm_vmcb.c). While clear, an entry and its exit test this
	 * one flag instead of each of them. Whatever sets one of them sets
	 * it too.
	 */
	bool rare;
	/*
	 * External interrupts the backend holds, oldest first: `virq` is in
	 * V_IRQ (SVM_VIRQ_QUEUED | vector), `virq_next` waits for V_IRQ to be
	 * taken (only while virq is set). 0 = none.
	 */
	u16 virq;
	u16 virq_next;
	u64 reinject; /* EVENTINJ from EXITINTINFO, or 0: goes first */
	u64 pending;  /* EVENTINJ of an exception / NMI asked for, or 0 */
	/*
	 * The single-step #DB after a skipped instruction (RFLAGS.TF, APM
	 * Vol. 2 13.1.3.2): injected after `reinject`, before `pending`.
	 */
	bool db_trap;
	/*
	 * NMIs are blocked: an NMI was injected and the guest has not yet
	 * completed an IRET (APM Vol. 2 8.2.2, 15.21.3). VMRUN does not track
	 * an injected NMI, so the backend does, with the IRET intercept.
	 */
	bool nmi_blocked;
	bool iret_seen; /* the IRET intercept fired: let it run next */
	bool
	    iret_passing; /* it runs in this VMRUN, unwatched: see svm_vmcb.c */
	u64 iret_rip;	  /* where that IRET is */
	u8 step;	  /* enum svm_step, armed for the current VMRUN */
	bool step_tf;	  /* the guest's own RFLAGS.TF before the step */
	u64 step_dr6;	  /* the guest's DR6 before the step */
	u64 tsc_aux;	  /* IA32_TSC_AUX while not in this CPU's register */
};

_Static_assert(sizeof(struct svm_vcpu) <= PAGE_SIZE, "svm_vcpu fits a page");

static inline struct svm_vcpu *svm_vcpu_of(struct vcpu *vcpu)
{
	return vcpu->vendor;
}

/* 64-bit code: EFER.LMA and CS.L (APM Vol. 2 4.8.1). */
static inline bool svm_in_64bit_code(const struct vmcb_save *s)
{
	return (s->efer & EFER_LMA) && (s->cs.attrib & VMCB_ATTR_L);
}

/* ---- svm.c: the hooks that need no vCPU ---- */

void svm_probe(struct vcpu_caps *caps);
int svm_cpu_enable(void);
int svm_vm_init(struct vm *vm);
void svm_vm_destroy(struct vm *vm);

/* No CPU holds the vCPU's IA32_TSC_AUX any more (destroy, reset). */
void svm_tsc_aux_forget(struct vcpu *vcpu);

/* ---- svm_check.c ---- */

/*
 * The rule of APM Vol. 2 15.5.1 ("VMRUN", consistency checks) that this VMCB
 * breaks, or NULL. It only reads (the VMCB, svm_caps).
 */
const char *svm_vmcb_violation(const struct vmcb *vmcb);
/* The one rule an event written into EVENTINJ alone can break, or NULL. */
const char *svm_event_violation(u64 event);

/* ---- svm_exit.c: #VMEXIT to struct exit_event ---- */

/*
 * Fill *ev from the VMCB after a #VMEXIT (guest RAX/RSP already copied to
 * vcpu->regs). Every exit is reported; none is handled here. A machine
 * check is host-fatal (svm_dump, then panic).
 */
void svm_decode_exit(struct vcpu *vcpu, const struct vmcb *vmcb,
		     struct exit_event *ev);

/* The VMCB and the events the backend holds, on the console (dump hook). */
void svm_dump(struct vcpu *vcpu);

/* ---- svm_vmcb.c: the vcpu_ops hooks on a VMCB ---- */

int svm_vcpu_create(struct vcpu *vcpu);
void svm_vcpu_destroy(struct vcpu *vcpu);
void svm_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *st);
void svm_run(struct vcpu *vcpu, const struct vcpu_entry *e,
	     struct exit_event *ev);
u64 svm_read(struct vcpu *vcpu, enum vcpu_field field);
void svm_write(struct vcpu *vcpu, enum vcpu_field field, u64 value);

#endif /* VENEER_ARCH_X86_SVM_SVM_INTERNAL_H */
