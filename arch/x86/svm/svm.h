/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V (SVM) backend: the vcpu_ops table core/ binds at boot when CPUID
 * reports SVM (CPUID 0x80000001 ECX bit 2) and VM_CR.SVMDIS is clear.
 *
 * Requirements beyond SVM itself: nested paging (CPUID 0x8000000A EDX bit
 * 0).  Used when present: NRIP save (instruction lengths), VMCB clean bits,
 * flush-by-ASID.  Design notes with APM references: docs/svm.md.
 *
 * Contract details that differ from VT-x:
 *  - set_deadline only records the deadline: SVM has no preemption timer.
 *    run() returns EXIT_PREEMPT_TIMER without entering the guest once the
 *    deadline has passed, so the core must itself bound how long a guest
 *    runs (a host timer interrupt, with RFLAGS.IF=1 around run()).
 *  - request_intr_window is one-shot: the EXIT_INTR_WINDOW exit clears it.
 *  - read(VCPU_EFER) hides EFER.SVME, which VMRUN requires in the guest
 *    EFER; write(VCPU_EFER) keeps it set.
 *  - A #UD whose bytes are VMCALL (0F 01 C1) is reported as EXIT_HYPERCALL;
 *    any other #UD, and #AC, go straight back to the guest.
 */
#ifndef VENEER_ARCH_X86_SVM_SVM_H
#define VENEER_ARCH_X86_SVM_SVM_H

#include "core/vcpu.h"

extern const struct vcpu_ops svm_ops;

#endif /* VENEER_ARCH_X86_SVM_SVM_H */
