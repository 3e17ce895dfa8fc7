/* SPDX-License-Identifier: MIT */
/*
 * Host exception entry stubs (vectors 0-31).
 *
 * Each stub makes the frame uniform (a zero error code where the CPU pushes
 * none, SDM Vol. 3A 6.13), pushes its vector and jumps to trap_common,
 * which saves every GPR in struct trap_frame order (arch/x86/traps.h) and
 * calls trap_handler(frame). Host exceptions are host-fatal: the handler
 * does not return.
 */
	.text

.macro TRAP_NOERR vec
	.align 16
trap_stub_\vec:
	pushq $0
	pushq $\vec
	jmp trap_common
.endm

.macro TRAP_ERR vec
	.align 16
trap_stub_\vec:
	pushq $\vec
	jmp trap_common
.endm

/* Vectors whose exceptions push an error code: 8, 10-14, 17, 21, 29, 30. */
TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR 29
TRAP_ERR 30
TRAP_NOERR 31

trap_common:
	pushq %r15
	pushq %r14
	pushq %r13
	pushq %r12
	pushq %r11
	pushq %r10
	pushq %r9
	pushq %r8
	pushq %rdi
	pushq %rsi
	pushq %rbp
	pushq %rsp /* the value after the pushes above: informational only */
	pushq %rbx
	pushq %rdx
	pushq %rcx
	pushq %rax
	cld
	movq %rsp, %rdi
	andq $-16, %rsp
	call trap_handler
1:	cli
	hlt
	jmp 1b


/* The registers C code may clobber (System V AMD64 ABI), 9 of them: what
 * an interrupt stub keeps for the code it interrupted. */
.macro SAVE_CALLER_SAVED
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
.endm

.macro RESTORE_CALLER_SAVED
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
.endm

/*
 * The host LAPIC timer: it only exists to end a guest run (the exit is the
 * point), so the handler just acknowledges it. Caller-saved registers are
 * saved because the interrupt can arrive in any C code running with IF=1.
 */
	.align 16
	.globl host_timer_stub
host_timer_stub:
host_eoi_return: /* EOI and return, with the caller-saved registers kept */
	SAVE_CALLER_SAVED
	cld
	call lapic_eoi
	RESTORE_CALLER_SAVED
	iretq

/*
 * Any other interrupt vector: Veneer programs no device to interrupt it,
 * so this is a message it did not ask for (an assigned device writing to
 * 0xFEExxxxx without interrupt remapping, docs/passthrough.md). Counted,
 * then acknowledged as the timer's is; the interrupted code goes on.
 */
	.align 16
	.globl host_stray_stub
host_stray_stub:
	lock incq host_stray_interrupts(%rip)
	jmp host_eoi_return

/*
 * Vectors HOST_IRQ_FIRST .. + HOST_IRQ_COUNT - 1 (arch/x86/traps.h): the
 * interrupts Veneer asked a device for (host_irq_alloc). Each stub is 16
 * bytes (traps.c finds stub i at host_irq_stubs + 16 * i), pushes its
 * vector and joins host_irq_common, which calls host_irq_dispatch(vector)
 * with the caller-saved registers kept, then acknowledges it as the
 * timer's is. The frame: 5 words the CPU pushed (RSP 16-byte aligned
 * before them, SDM Vol. 3A 6.14.2), the vector, 9 registers, 8 bytes of
 * padding: 16-byte aligned at the call.
 */
	.align 16
host_irq_common:
	SAVE_CALLER_SAVED
	movq 72(%rsp), %rdi
	subq $8, %rsp
	cld
	call host_irq_dispatch
	call lapic_eoi
	addq $8, %rsp
	RESTORE_CALLER_SAVED
	addq $8, %rsp
	iretq

	.align 16
	.globl host_irq_stubs
host_irq_stubs:
	.set vec, 0x80 /* HOST_IRQ_FIRST */
	.rept 64       /* HOST_IRQ_COUNT */
	.align 16
	pushq $vec
	jmp host_irq_common
	.set vec, vec + 1
	.endr
	.align 16
	.globl host_irq_stubs_end
host_irq_stubs_end:

/* A spurious interrupt needs no EOI (SDM Vol. 3A 11.9). */
	.align 16
	.globl host_spurious_stub
host_spurious_stub:
	iretq

	.section .rodata
	.align 8
	.globl trap_stubs
trap_stubs:
.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\vec
.endr
