/* SPDX-License-Identifier: MIT */
/*
 * 64-bit interrupt entry stubs, one per vector, and the common path.
 *
 * Register contract: as isr32.S. Each stub pushes a 0 where the CPU pushes
 * no error code, then the vector; the common path saves the 15 general
 * registers and calls trap_dispatch(frame) with RDI = frame. The CPU aligned
 * RSP to 16 before its 5-word frame (SDM Vol. 3A 6.14.2), and 5 + 2 + 15
 * words keep it aligned for the call. Layout: struct trap_frame in trap.h.
 */

	.altmacro
.macro trap_stub vector
	.text
	.align 16
1:
	.if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
	.else
	pushq $0
	.endif
	pushq $\vector
	jmp trap_common
	.section .rodata
	.quad 1b
.endm

	.section .rodata
	.align 8
	.globl trap_stub_table
trap_stub_table:
	.set vector, 0
	.rept 256
	trap_stub %vector
	.set vector, vector + 1
	.endr

	.text
trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector and error code */
	iretq

	.section .note.GNU-stack, "", @progbits
