/* SPDX-License-Identifier: MIT */
/*
 * svm_enter: enter an AMD-V guest and come back on #VMEXIT.
 *
 * int svm_enter(struct guest_gprs *gprs,   %rdi
 *               u64 guest_vmcb_pa,         %rsi
 *               u64 host_vmcb_pa);         %rdx
 *
 * The vcpu_enter_fn of arch/x86/entry.h: returns 0 (%eax) after the next
 * #VMEXIT, always (a VMCB that VMRUN refuses is a #VMEXIT too, with
 * exit code VMEXIT_INVALID, APM Vol. 2 15.5.1). Offsets into *gprs are
 * GPRS_* from the generated asm-offsets.h (arch/x86/asm-offsets.c).
 *
 * Register contract (System V, as for any C function): RBX, RBP, R12-R15 and
 * RSP are preserved, everything else is clobbered.  RFLAGS comes back as it
 * was at the call: VMRUN saves the host RFLAGS in the host save area and
 * #VMEXIT restores it (APM Vol. 2 15.5.1, 15.6).  Must be called with
 * EFER.SVME set and VM_HSAVE_PA valid on this CPU.
 *
 * What VMRUN/#VMEXIT do not switch, and how this stub covers it:
 *  - GPRs other than RAX/RSP: loaded from and stored to *gprs here.  Guest
 *    RAX and RSP live in the VMCB; svm_vmcb.c copies them to and from
 *    *gprs.
 *  - FS, GS (the host's this_cpu() pointer lives in GS base!), TR, LDTR,
 *    KernelGSBase, STAR, LSTAR, CSTAR, SFMASK, SYSENTER_CS/ESP/EIP: the
 *    host's are VMSAVEd to host_vmcb_pa, the guest's are VMLOADed from its
 *    VMCB before VMRUN and VMSAVEd back after, then the host's are
 *    VMLOADed again (APM Vol. 2 15.5.2).
 *  - Interrupts: CLGI first, so that no interrupt, NMI or SMI is taken
 *    while the CPU holds part host and part guest state (APM Vol. 2 15.17).
 *    VMRUN sets GIF; #VMEXIT clears it; STGI at the very end lets pending
 *    host interrupts and NMIs in once the host state is whole again.
 *    With V_INTR_MASKING=1 (svm_vmcb.c) a physical interrupt ends the guest
 *    run (INTR intercept) only when the caller ran with RFLAGS.IF=1 (APM
 *    Vol. 2 15.21.1); with IF=0 it stays pending and the guest runs on.
 */
#include "asm-offsets.h"

	.text
	.globl svm_enter
	.type svm_enter, @function
svm_enter:
	push	%rbp
	mov	%rsp, %rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* 8(%rsp) after the next push: gprs */
	push	%rdx			/* (%rsp): host_vmcb_pa */

	clgi
	mov	%rdx, %rax
	vmsave	%rax			/* host FS, GS, TR, ... */

	mov	%rsi, %rax		/* VMLOAD/VMRUN/VMSAVE take rAX */
	mov	GPRS_RCX(%rdi), %rcx
	mov	GPRS_RDX(%rdi), %rdx
	mov	GPRS_RBX(%rdi), %rbx
	mov	GPRS_RBP(%rdi), %rbp
	mov	GPRS_RSI(%rdi), %rsi
	mov	GPRS_R8(%rdi), %r8
	mov	GPRS_R9(%rdi), %r9
	mov	GPRS_R10(%rdi), %r10
	mov	GPRS_R11(%rdi), %r11
	mov	GPRS_R12(%rdi), %r12
	mov	GPRS_R13(%rdi), %r13
	mov	GPRS_R14(%rdi), %r14
	mov	GPRS_R15(%rdi), %r15
	mov	GPRS_RDI(%rdi), %rdi

	vmload	%rax			/* guest FS, GS, TR, ... */
	vmrun	%rax
	/*
	 * #VMEXIT: RAX (= guest_vmcb_pa), RSP and RFLAGS are the host's again,
	 * GIF=0; every other GPR holds the guest's value.
	 */
	vmsave	%rax

	push	%rdi			/* guest RDI; gprs is now at 16(%rsp) */
	mov	16(%rsp), %rdi
	mov	%rcx, GPRS_RCX(%rdi)
	mov	%rdx, GPRS_RDX(%rdi)
	mov	%rbx, GPRS_RBX(%rdi)
	mov	%rbp, GPRS_RBP(%rdi)
	mov	%rsi, GPRS_RSI(%rdi)
	mov	%r8, GPRS_R8(%rdi)
	mov	%r9, GPRS_R9(%rdi)
	mov	%r10, GPRS_R10(%rdi)
	mov	%r11, GPRS_R11(%rdi)
	mov	%r12, GPRS_R12(%rdi)
	mov	%r13, GPRS_R13(%rdi)
	mov	%r14, GPRS_R14(%rdi)
	mov	%r15, GPRS_R15(%rdi)
	popq	GPRS_RDI(%rdi)

	pop	%rax			/* host_vmcb_pa */
	vmload	%rax			/* host GS base: this_cpu() works again */
	stgi

	add	$8, %rsp		/* gprs */
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	xor	%eax, %eax		/* 0: the guest ran and exited */
	ret
	.size svm_enter, . - svm_enter

	.section .note.GNU-stack, "", @progbits
