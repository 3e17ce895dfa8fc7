/* SPDX-License-Identifier: MIT */
/*
 * svm_vmrun: enter an AMD-V guest and come back on #VMEXIT.
 *
 * void svm_vmrun(struct guest_gprs *regs,   %rdi
 *                u64 guest_vmcb_pa,         %rsi
 *                u64 host_vmcb_pa);         %rdx
 *
 * Register contract (System V, as for any C function): RBX, RBP, R12-R15 and
 * RSP are preserved, everything else is clobbered.  RFLAGS comes back as it
 * was at the call: VMRUN saves the host RFLAGS in the host save area and
 * #VMEXIT restores it (APM Vol. 2 15.5.1, 15.6).
 *
 * What VMRUN/#VMEXIT do not switch, and how this stub covers it:
 *  - GPRs other than RAX/RSP: loaded from and stored to *regs here.  Guest
 *    RAX and RSP live in the VMCB; svm.c copies them to and from *regs.
 *  - FS, GS (the host's this_cpu() pointer lives in GS base!), TR, LDTR,
 *    KernelGSBase, STAR, LSTAR, CSTAR, SFMASK, SYSENTER_CS/ESP/EIP: the
 *    host's are VMSAVEd to host_vmcb_pa, the guest's are VMLOADed from its
 *    VMCB before VMRUN and VMSAVEd back after, then the host's are
 *    VMLOADed again (APM Vol. 2 15.5.2).
 *  - Interrupts: CLGI first, so that no interrupt, NMI or SMI is taken
 *    while the CPU holds part host and part guest state (APM Vol. 2 15.17).
 *    VMRUN sets GIF; #VMEXIT clears it; STGI at the very end lets pending
 *    host interrupts and NMIs in once the host state is whole again.
 *    With V_INTR_MASKING=1 (svm.c) a physical interrupt ends the guest run
 *    (INTR intercept) only when the caller ran with RFLAGS.IF=1 (APM Vol. 2
 *    15.21.1); with IF=0 it stays pending and the guest runs on.
 */
#include "arch/x86/svm/svm_entry.h"

	.text
	.globl svm_vmrun
	.type svm_vmrun, @function
svm_vmrun:
	push	%rbp
	mov	%rsp, %rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* 8(%rsp) after the next push: regs */
	push	%rdx			/* (%rsp): host_vmcb_pa */

	clgi
	mov	%rdx, %rax
	vmsave	%rax			/* host FS, GS, TR, ... */

	mov	%rsi, %rax		/* VMLOAD/VMRUN/VMSAVE take rAX */
	mov	SVM_GPRS_RCX(%rdi), %rcx
	mov	SVM_GPRS_RDX(%rdi), %rdx
	mov	SVM_GPRS_RBX(%rdi), %rbx
	mov	SVM_GPRS_RBP(%rdi), %rbp
	mov	SVM_GPRS_RSI(%rdi), %rsi
	mov	SVM_GPRS_R8(%rdi), %r8
	mov	SVM_GPRS_R9(%rdi), %r9
	mov	SVM_GPRS_R10(%rdi), %r10
	mov	SVM_GPRS_R11(%rdi), %r11
	mov	SVM_GPRS_R12(%rdi), %r12
	mov	SVM_GPRS_R13(%rdi), %r13
	mov	SVM_GPRS_R14(%rdi), %r14
	mov	SVM_GPRS_R15(%rdi), %r15
	mov	SVM_GPRS_RDI(%rdi), %rdi

	vmload	%rax			/* guest FS, GS, TR, ... */
	vmrun	%rax
	/*
	 * #VMEXIT: RAX (= guest_vmcb_pa), RSP and RFLAGS are the host's again,
	 * GIF=0; every other GPR holds the guest's value.
	 */
	vmsave	%rax

	push	%rdi			/* guest RDI; regs is now at 16(%rsp) */
	mov	16(%rsp), %rdi
	mov	%rcx, SVM_GPRS_RCX(%rdi)
	mov	%rdx, SVM_GPRS_RDX(%rdi)
	mov	%rbx, SVM_GPRS_RBX(%rdi)
	mov	%rbp, SVM_GPRS_RBP(%rdi)
	mov	%rsi, SVM_GPRS_RSI(%rdi)
	mov	%r8, SVM_GPRS_R8(%rdi)
	mov	%r9, SVM_GPRS_R9(%rdi)
	mov	%r10, SVM_GPRS_R10(%rdi)
	mov	%r11, SVM_GPRS_R11(%rdi)
	mov	%r12, SVM_GPRS_R12(%rdi)
	mov	%r13, SVM_GPRS_R13(%rdi)
	mov	%r14, SVM_GPRS_R14(%rdi)
	mov	%r15, SVM_GPRS_R15(%rdi)
	popq	SVM_GPRS_RDI(%rdi)

	pop	%rax			/* host_vmcb_pa */
	vmload	%rax			/* host GS base: this_cpu() works again */
	stgi

	add	$8, %rsp		/* regs */
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size svm_vmrun, . - svm_vmrun

	.section .note.GNU-stack, "", @progbits
