/* SPDX-License-Identifier: MIT */
/*
 * Switching host stacks between the threads of one CPU (core/sched.c).
 *
 *   void stack_switch(u64 *save_rsp, u64 next_rsp);
 *
 * Pushes the callee-saved registers of the System V AMD64 ABI (RBX, RBP,
 * R12-R15) on the current stack, stores RSP in *save_rsp, loads next_rsp
 * and pops the same six registers from there: the call returns in the
 * other thread, where it last called stack_switch(). Everything else is
 * caller-saved, so nothing more belongs to a thread's host context.
 *
 * A thread that never ran starts at stack_thread_start, whose stack
 * (arch/x86/switch.h, stack_prepare) holds the six zeros and this address:
 * it aligns RSP to 16 bytes for the call (ABI 3.2.2) and calls
 * sched_thread_main(), which never returns.
 */
	.text
	.globl	stack_switch
	.type	stack_switch, @function
stack_switch:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	stack_switch, . - stack_switch

	.globl	stack_thread_start
	.type	stack_thread_start, @function
stack_thread_start:
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	sched_thread_main
	ud2
	.size	stack_thread_start, . - stack_thread_start

	.section .note.GNU-stack, "", @progbits
