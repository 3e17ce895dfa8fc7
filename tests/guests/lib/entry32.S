/* SPDX-License-Identifier: MIT */
/*
 * Multiboot header and 32-bit entry of the 32-bit test guests.
 *
 * Register contract (Multiboot 0.6.96, 3.2 "Machine state"): on entry EAX
 * holds the loader magic, EBX the physical address of the multiboot info,
 * protected mode with paging off; the loader's GDT and ESP must not be
 * relied on. _start loads the guest's own GDT and stack and calls
 * guest_start(magic, info), which never returns.
 */
#include "tests/guests/lib/multiboot.h"

#define HEADER_FLAGS (MULTIBOOT_FLAG_PAGE_ALIGN | MULTIBOOT_FLAG_MEMORY)

#define GDT_CODE 0x08
#define GDT_DATA 0x10

	/* Section 3.1.1: within the first 8 KiB, 32-bit aligned; the linker
	 * script places .multiboot first. An ELF kernel needs no address
	 * fields: the loader follows the program headers. */
	.section .multiboot, "a"
	.align 4
	.long MULTIBOOT_HEADER_MAGIC
	.long HEADER_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + HEADER_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	lgdt gdt_pointer
	ljmp $GDT_CODE, $1f
1:	movw $GDT_DATA, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $guest_stack_top, %esp
	xorl %ebp, %ebp
	pushl $0		/* EFLAGS: everything clear, IF=0, DF=0 */
	popfl
	pushl %ebx		/* guest_start(magic, info): cdecl */
	pushl %eax
	call guest_start
2:	hlt
	jmp 2b

	.section .rodata
	.align 8
/* Flat 4 GiB segments: SDM Vol. 3A 3.4.5 (G=1, D=1, present, DPL 0). */
gdt:
	.quad 0				/* null */
	.quad 0x00cf9a000000ffff	/* 0x08: code, execute/read */
	.quad 0x00cf92000000ffff	/* 0x10: data, read/write */
gdt_end:
gdt_pointer:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.align 16
	.globl guest_stack_top
guest_stack:
	.space 16384
guest_stack_top:

	.section .note.GNU-stack, "", @progbits
