/* SPDX-License-Identifier: MIT */
/*
 * 32-bit interrupt entry stubs, one per vector, and the common path.
 *
 * Register contract: each stub makes the stack uniform (a 0 where the CPU
 * pushes no error code, then the vector number), the common path saves the
 * general registers with pushal and calls trap_dispatch(frame); whatever the
 * handler left in the frame is restored, so changing frame->ip resumes
 * elsewhere. Layout: struct trap_frame in trap.h.
 */

/* Vectors for which the CPU pushes an error code: SDM Vol. 3A 6.15
 * (#DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29,
 * #SX 30). */
	.altmacro
.macro trap_stub vector
	.text
	.align 16
1:
	.if (\vector == 8) || ((\vector >= 10) && (\vector <= 14)) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
	.else
	pushl $0
	.endif
	pushl $\vector
	jmp trap_common
	.section .rodata
	.long 1b
.endm

	.section .rodata
	.align 4
	.globl trap_stub_table
trap_stub_table:
	.set vector, 0
	.rept 256
	trap_stub %vector
	.set vector, vector + 1
	.endr

	.text
trap_common:
	pushal
	cld
	pushl %esp		/* argument: struct trap_frame * */
	call trap_dispatch
	addl $4, %esp
	popal
	addl $8, %esp		/* vector and error code */
	iret

	.section .note.GNU-stack, "", @progbits
