/* SPDX-License-Identifier: MIT */
/*
 * The contract between vmx.c and the VM entry stub in vmx_entry.S.
 *
 * The stub reads and writes the guest GPR frame (struct guest_gprs, the
 * first member of struct vcpu) at the offsets below; vmx.c checks them
 * against the C layout with _Static_assert.
 */
#ifndef VENEER_ARCH_X86_VMX_VMX_ENTRY_H
#define VENEER_ARCH_X86_VMX_VMX_ENTRY_H

/* Byte offset of gpr[n] inside struct vcpu. */
#define VMX_FRAME_GPR(n) ((n)*8)
#define VMX_FRAME_SIZE	 (16 * 8)

/* vmx_enter() results. */
#define VMX_ENTER_EXITED       0 /* the guest ran and a VM exit came back */
#define VMX_ENTER_FAIL_INVALID 1 /* VMfailInvalid: CF=1, no current VMCS */
#define VMX_ENTER_FAIL_VALID   2 /* VMfailValid: ZF=1, see VM-insn error */

#ifndef __ASSEMBLY__
#include "core/types.h"

struct vcpu;

/*
 * Loads the guest GPRs from vcpu->regs (all but RSP, which lives in the
 * VMCS), writes HOST_RSP and executes VMRESUME when `launched` is nonzero,
 * else VMLAUNCH.  On the VM exit, which lands in vmx_exit_stub, the guest
 * GPRs are stored back into vcpu->regs and VMX_ENTER_EXITED is returned.
 * The current VMCS must be the vCPU's and HOST_RIP must be vmx_exit_stub.
 */
int vmx_enter(struct vcpu *vcpu, u64 launched);

/* The HOST_RIP of every VMCS; not callable from C. */
void vmx_exit_stub(void);
#endif

#endif /* VENEER_ARCH_X86_VMX_VMX_ENTRY_H */
