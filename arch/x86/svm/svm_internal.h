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
#define SVM_FEATURE_VGIF	   BIT(16)

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

/* svm_vcpu.virq: an external interrupt waiting in V_IRQ for the guest. */
#define SVM_VIRQ_QUEUED 0x100

/* Per vCPU, reached through vcpu->vendor; lives in the page after the VMCB. */
struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 dirty;	/* SVM_CLEAN_* bits written since the last VMRUN */
	bool tsc_dirty; /* only TSC_OFFSET changed in clean bit 0's area */
	u8 tlb_control; /* SVM_TLB_* for the next VMRUN */
	u32 last_cpu;	/* host CPU of the last VMRUN */
	bool ran;	/* last_cpu is valid */
	/*
	 * External interrupts the backend holds, oldest first: `virq` is in
	 * V_IRQ (SVM_VIRQ_QUEUED | vector), `virq_next` waits for V_IRQ to be
	 * taken (only while virq is set). 0 = none.
	 */
	u16 virq;
	u16 virq_next;
	u64 reinject; /* EVENTINJ from EXITINTINFO, or 0: goes first */
	u64 pending;  /* EVENTINJ of an exception / NMI asked for, or 0 */
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

/* ---- svm_check.c ---- */

/*
 * The rule of APM Vol. 2 15.5.1 ("VMRUN", consistency checks) that this VMCB
 * breaks, or NULL. It only reads (the VMCB, svm_caps).
 */
const char *svm_vmcb_violation(const struct vmcb *vmcb);

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
