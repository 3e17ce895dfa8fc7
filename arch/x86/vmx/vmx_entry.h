/* SPDX-License-Identifier: MIT */
/*
 * The VT-x entry stub (vmx_entry.S) beyond its C signature, which is
 * vmx_enter() in arch/x86/entry.h: its result codes and the VM-exit
 * landing point. The guest GPR frame it loads and stores is struct
 * guest_gprs at the offsets of the generated asm-offsets.h.
 */
#ifndef VENEER_ARCH_X86_VMX_VMX_ENTRY_H
#define VENEER_ARCH_X86_VMX_VMX_ENTRY_H

/* vmx_enter() results. */
#define VMX_ENTER_EXITED       0 /* the guest ran and a VM exit came back */
#define VMX_ENTER_FAIL_INVALID 1 /* VMfailInvalid: CF=1, no current VMCS */
#define VMX_ENTER_FAIL_VALID   2 /* VMfailValid: ZF=1, see VM-insn error */

#ifndef __ASSEMBLY__
#include "arch/x86/entry.h"

/*
 * The HOST_RIP of every VMCS; not callable from C. It stores the guest
 * GPRs into the frame vmx_enter() was given and returns VMX_ENTER_EXITED
 * from vmx_enter().
 */
void vmx_exit_stub(void);
#endif

#endif /* VENEER_ARCH_X86_VMX_VMX_ENTRY_H */
