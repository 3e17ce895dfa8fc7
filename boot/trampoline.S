/* SPDX-License-Identifier: MIT */
/*
 * AP trampoline: real mode -> protected mode -> long mode.
 *
 * The boot CPU copies this blob to a free page P below 1 MiB and fills the
 * data block at P + TRAMP_DATA_OFFSET (boot/boot.h) before each
 * INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4.1). The startup IPI starts the AP in
 * real mode at CS:IP = (P >> 4):0000. Everything below is position
 * independent: 16-bit code addresses the block through CS, 32- and 64-bit
 * code through EBX = P; the far pointers and the GDT base were patched by
 * the boot CPU.
 *
 * Register contract at the C entry: RDI = TRAMP_ARG value, RSP =
 * TRAMP_STACK value, interrupts off, host CR3 and EFER loaded.
 */
#include "boot/boot.h"

	.section .trampoline, "a"
	.code16
	.globl trampoline_start
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx /* EBX = P */
	lgdtl TRAMP_GDTR
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl *TRAMP_FAR32

	.code32
	.globl trampoline_32
trampoline_32:
	movw $TRAMP_SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $(1 << 5), %eax /* PAE */
	movl %eax, %cr4
	movl TRAMP_CR3(%ebx), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl TRAMP_EFER(%ebx), %eax /* LME, NXE as on the boot CPU */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16)), %eax /* PG, WP */
	movl %eax, %cr0
	ljmpl *TRAMP_FAR64(%ebx)

	.code64
	.globl trampoline_64
trampoline_64:
	movq TRAMP_STACK(%rbx), %rsp
	movq TRAMP_ARG(%rbx), %rdi
	movq TRAMP_ENTRY(%rbx), %rax
	xorl %ebp, %ebp
	jmp *%rax
