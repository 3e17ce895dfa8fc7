/* SPDX-License-Identifier: MIT */
/*
 * VM entry and the VM-exit landing point.
 *
 *   int vmx_enter(struct guest_gprs *gprs, u64 launched, u64 unused);
 *
 * (arch/x86/entry.h; results in vmx_entry.h). Register contract (System V
 * AMD64):
 *   in:  %rdi = the guest GPR frame (struct guest_gprs, offsets GPRS_* from
 *        the generated asm-offsets.h),
 *        %rsi = 0 for VMLAUNCH, nonzero for VMRESUME, %rdx unused
 *   out: %eax = VMX_ENTER_EXITED / _FAIL_INVALID / _FAIL_VALID
 *   The callee-saved registers (%rbx %rbp %r12-%r15) and the frame pointer
 *   are pushed; HOST_RSP is set to the resulting %rsp, so on a VM exit the
 *   processor loads exactly that %rsp (SDM Vol. 3C 28.5.3) and the stub finds
 *   the frame pointer at 0(%rsp). Every other register holds guest values
 *   after the exit and is caller-saved in C, so nothing else is restored.
 *   gpr[GPR_RSP] is neither loaded nor stored: guest RSP is in the VMCS.
 *   VMLAUNCH/VMRESUME that fail fall through with CF (VMfailInvalid) or ZF
 *   (VMfailValid) set (SDM Vol. 3C 31.2); the registers then hold guest
 *   values but %rsp is still ours.
 */
#include "asm-offsets.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_entry.h"

	.text
	.globl vmx_enter
	.type vmx_enter, @function
vmx_enter:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rdi			/* the GPR frame, for vmx_exit_stub */

	movq	$VMCS_HOST_RSP, %rax
	vmwrite	%rsp, %rax
	jbe	.Lvmfail		/* CF or ZF: VMWRITE itself failed */

	testq	%rsi, %rsi		/* MOVs below keep these flags */
	movq	GPRS_RAX(%rdi), %rax
	movq	GPRS_RCX(%rdi), %rcx
	movq	GPRS_RDX(%rdi), %rdx
	movq	GPRS_RBX(%rdi), %rbx
	movq	GPRS_RBP(%rdi), %rbp
	movq	GPRS_RSI(%rdi), %rsi
	movq	GPRS_R8(%rdi), %r8
	movq	GPRS_R9(%rdi), %r9
	movq	GPRS_R10(%rdi), %r10
	movq	GPRS_R11(%rdi), %r11
	movq	GPRS_R12(%rdi), %r12
	movq	GPRS_R13(%rdi), %r13
	movq	GPRS_R14(%rdi), %r14
	movq	GPRS_R15(%rdi), %r15
	movq	GPRS_RDI(%rdi), %rdi
	jnz	.Lresume
	vmlaunch
	jmp	.Lvmfail
.Lresume:
	vmresume
	/* Only reached when the entry failed. */
.Lvmfail:
	movl	$VMX_ENTER_FAIL_VALID, %eax	/* MOV keeps ZF/CF */
	jz	.Lreturn
	movl	$VMX_ENTER_FAIL_INVALID, %eax
	jmp	.Lreturn
	.size vmx_enter, . - vmx_enter

	.globl vmx_exit_stub
	.type vmx_exit_stub, @function
vmx_exit_stub:
	/* %rsp = HOST_RSP: 0(%rsp) is the GPR frame pushed above. */
	pushq	%rdi
	movq	8(%rsp), %rdi
	movq	%rax, GPRS_RAX(%rdi)
	movq	%rcx, GPRS_RCX(%rdi)
	movq	%rdx, GPRS_RDX(%rdi)
	movq	%rbx, GPRS_RBX(%rdi)
	movq	%rbp, GPRS_RBP(%rdi)
	movq	%rsi, GPRS_RSI(%rdi)
	movq	%r8, GPRS_R8(%rdi)
	movq	%r9, GPRS_R9(%rdi)
	movq	%r10, GPRS_R10(%rdi)
	movq	%r11, GPRS_R11(%rdi)
	movq	%r12, GPRS_R12(%rdi)
	movq	%r13, GPRS_R13(%rdi)
	movq	%r14, GPRS_R14(%rdi)
	movq	%r15, GPRS_R15(%rdi)
	popq	%rax
	movq	%rax, GPRS_RDI(%rdi)
	movl	$VMX_ENTER_EXITED, %eax
.Lreturn:
	popq	%rdi			/* the GPR frame: drop */
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size vmx_exit_stub, . - vmx_exit_stub

	.section .note.GNU-stack, "", @progbits
