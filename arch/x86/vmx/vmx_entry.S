/* SPDX-License-Identifier: MIT */
/*
 * VM entry and the VM-exit landing point (contract: vmx_entry.h).
 *
 * Register contract of vmx_enter (System V AMD64):
 *   in:  %rdi = struct vcpu * (guest GPR frame at offset 0),
 *        %rsi = 0 for VMLAUNCH, nonzero for VMRESUME
 *   out: %eax = VMX_ENTER_EXITED / _FAIL_INVALID / _FAIL_VALID
 *   The callee-saved registers (%rbx %rbp %r12-%r15) and the vcpu pointer
 *   are pushed; HOST_RSP is set to the resulting %rsp, so on a VM exit the
 *   processor loads exactly that %rsp (SDM Vol. 3C 28.5.3) and the stub finds
 *   the vcpu pointer at 0(%rsp).  Every other register holds guest values
 *   after the exit and is caller-saved in C, so nothing else is restored.
 *   VMLAUNCH/VMRESUME that fail fall through with CF (VMfailInvalid) or ZF
 *   (VMfailValid) set (SDM Vol. 3C 31.2); the registers then hold guest
 *   values but %rsp is still ours.
 */
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_entry.h"

#define G(n) VMX_FRAME_GPR(n)

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
	pushq	%rdi			/* the vcpu, for vmx_exit_stub */

	movq	$VMCS_HOST_RSP, %rax
	vmwrite	%rsp, %rax
	jbe	.Lvmfail		/* CF or ZF: VMWRITE itself failed */

	testq	%rsi, %rsi		/* MOVs below keep these flags */
	movq	G(0)(%rdi), %rax
	movq	G(1)(%rdi), %rcx
	movq	G(2)(%rdi), %rdx
	movq	G(3)(%rdi), %rbx
	movq	G(5)(%rdi), %rbp
	movq	G(6)(%rdi), %rsi
	movq	G(8)(%rdi), %r8
	movq	G(9)(%rdi), %r9
	movq	G(10)(%rdi), %r10
	movq	G(11)(%rdi), %r11
	movq	G(12)(%rdi), %r12
	movq	G(13)(%rdi), %r13
	movq	G(14)(%rdi), %r14
	movq	G(15)(%rdi), %r15
	movq	G(7)(%rdi), %rdi
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
	/* %rsp = HOST_RSP: 0(%rsp) is the vcpu pointer pushed above. */
	pushq	%rdi
	movq	8(%rsp), %rdi
	movq	%rax, G(0)(%rdi)
	movq	%rcx, G(1)(%rdi)
	movq	%rdx, G(2)(%rdi)
	movq	%rbx, G(3)(%rdi)
	movq	%rbp, G(5)(%rdi)
	movq	%rsi, G(6)(%rdi)
	movq	%r8, G(8)(%rdi)
	movq	%r9, G(9)(%rdi)
	movq	%r10, G(10)(%rdi)
	movq	%r11, G(11)(%rdi)
	movq	%r12, G(12)(%rdi)
	movq	%r13, G(13)(%rdi)
	movq	%r14, G(14)(%rdi)
	movq	%r15, G(15)(%rdi)
	popq	%rax
	movq	%rax, G(7)(%rdi)
	movl	$VMX_ENTER_EXITED, %eax
.Lreturn:
	popq	%rdi			/* the vcpu pointer: drop */
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size vmx_exit_stub, . - vmx_exit_stub

	.section .note.GNU-stack, "", @progbits
