/* SPDX-License-Identifier: MIT */
/*
 * The VMRUN stub (svm_entry.S) and the guest register frame offsets it uses.
 *
 * The offsets are byte offsets into struct guest_gprs (core/vcpu.h); there is
 * no asm-offsets generator in the build, so svm.c checks every one of them
 * against offsetof() with _Static_assert.
 */
#ifndef VENEER_ARCH_X86_SVM_SVM_ENTRY_H
#define VENEER_ARCH_X86_SVM_SVM_ENTRY_H

#define SVM_GPRS_RAX 0x00
#define SVM_GPRS_RCX 0x08
#define SVM_GPRS_RDX 0x10
#define SVM_GPRS_RBX 0x18
#define SVM_GPRS_RSP 0x20
#define SVM_GPRS_RBP 0x28
#define SVM_GPRS_RSI 0x30
#define SVM_GPRS_RDI 0x38
#define SVM_GPRS_R8  0x40
#define SVM_GPRS_R9  0x48
#define SVM_GPRS_R10 0x50
#define SVM_GPRS_R11 0x58
#define SVM_GPRS_R12 0x60
#define SVM_GPRS_R13 0x68
#define SVM_GPRS_R14 0x70
#define SVM_GPRS_R15 0x78

#ifndef __ASSEMBLY__
#include "core/types.h"

struct guest_gprs;

/*
 * Runs the guest whose VMCB is at host-physical guest_vmcb_pa until the next
 * #VMEXIT, then returns with the guest's RBX, RCX, RDX, RBP, RSI, RDI and
 * R8-R15 stored in *regs (RAX and RSP stay in the VMCB).  host_vmcb_pa is a
 * page of this CPU where the host's VMSAVE state (FS, GS, TR, LDTR,
 * KernelGSBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*) is kept meanwhile.
 * Must be called with EFER.SVME set and VM_HSAVE_PA valid on this CPU.  The
 * caller's RFLAGS.IF decides whether physical interrupts end the guest run
 * (see svm_entry.S).
 */
void svm_vmrun(struct guest_gprs *regs, u64 guest_vmcb_pa, u64 host_vmcb_pa);
#endif

#endif /* VENEER_ARCH_X86_SVM_SVM_ENTRY_H */
