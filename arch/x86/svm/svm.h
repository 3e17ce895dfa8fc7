/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V (SVM) backend: the vcpu_ops table arch/x86/virt.c binds at boot
 * when CPUID reports SVM (CPUID 0x80000001 ECX bit 2).
 *
 * Requirements beyond SVM itself: nested paging (CPUID 0x8000000A EDX bit
 * 0), VM_CR.SVMDIS clear, one ASID for guests. Used when present: NRIP save
 * (instruction lengths), VMCB clean bits, flush-by-ASID, decode assists.
 * Design notes with APM references: docs/svm.md.
 *
 * How it carries out the contract of core/vcpu.h:
 *  - run(): no preemption timer on AMD-V. The deadline is checked before
 *    VMRUN (EXIT_PREEMPT_TIMER without entering once it has passed) and
 *    the host LAPIC timer is armed for it, so a physical interrupt ends
 *    the run in time.
 *  - run(): every #VMEXIT is returned decoded; none is completed inside,
 *    so there is no re-entry loop. An intercepted #UD or #AC is
 *    EXIT_EXCEPTION; a #MC is host-fatal.
 *  - read(VCPU_EFER) hides EFER.SVME, which VMRUN requires in the guest
 *    EFER; write(VCPU_EFER) keeps it set. This backend is the only place
 *    that knows about it.
 *  - The ASID is allocated in vm_init and freed in vm_destroy, here only.
 */
#ifndef VENEER_ARCH_X86_SVM_SVM_H
#define VENEER_ARCH_X86_SVM_SVM_H

#include "core/vcpu.h"

extern const struct vcpu_ops svm_ops;

#endif /* VENEER_ARCH_X86_SVM_SVM_H */
