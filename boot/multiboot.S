/* SPDX-License-Identifier: MIT */
/*
 * Multiboot1 and Multiboot2 headers and the 32-bit entry point.
 *
 * Register contract at _start (both specs, MB1 3.2 and MB2 3.3): 32-bit
 * protected mode, paging off, flat CS/DS, EAX = loader magic, EBX =
 * physical address of the information structure. No stack.
 *
 * _start checks for long mode, builds an identity map of the first 4 GiB
 * with 2 MiB pages, enables PAE + long mode + paging, and calls
 * boot_main(magic, info) in 64-bit mode on the boot stack.
 */
#include "boot/boot.h"

	.section .multiboot, "a"
	.align 8
/* Multiboot1 header (spec 0.6.96, 3.1.1 and 3.1.3: address fields). */
mb1_header:
	.long MB1_HEADER_MAGIC
	.long MB1_HEADER_FLAGS
	.long -(MB1_HEADER_MAGIC + MB1_HEADER_FLAGS)
	.long mb1_header    /* header_addr */
	.long _image_start  /* load_addr */
	.long _edata        /* load_end_addr */
	.long _end          /* bss_end_addr */
	.long _start        /* entry_addr */

/* Multiboot2 header (spec 2.0, 3.1.1); GRUB loads the ELF by its segments. */
	.align 8
mb2_header:
	.long MB2_HEADER_MAGIC
	.long 0 /* architecture: i386 protected mode */
	.long mb2_header_end - mb2_header
	.long -(MB2_HEADER_MAGIC + 0 + (mb2_header_end - mb2_header))
	/* end tag */
	.align 8
	.short 0
	.short 0
	.long 8
mb2_header_end:

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %edi /* loader magic: first argument of boot_main */
	movl %ebx, %esi /* info pointer: second argument */
	movl $boot_stack_top, %esp

	/* Long mode present? CPUID 0x80000001 EDX bit 29 (SDM Vol. 2A CPUID). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	/* PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages. */
	movl $early_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, early_pml4
	movl $early_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	xorl %ecx, %ecx
1:	movl %eax, early_pdpt(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jb 1b
	/* 2048 entries: 4 GiB in 2 MiB pages, phys = index << 21. */
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_W | PTE_PS), %eax
	movl %eax, early_pd(, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax
	movl %eax, early_pd + 4(, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 2b

	/* CR4.PAE, CR3, EFER.LME (+NXE when present), CR0.PG (SDM 10.8.5). */
	movl %cr4, %eax
	orl $(1 << 5), %eax
	movl %eax, %cr4
	movl $early_pml4, %eax
	movl %eax, %cr3
	movl $0x80000001, %eax
	cpuid
	movl %edx, %ebx /* keep the feature bits: RDMSR writes EDX */
	movl $0xc0000080, %ecx
	rdmsr
	orl $(1 << 8), %eax
	btl $20, %ebx /* NX */
	jnc 3f
	orl $(1 << 11), %eax
3:	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax /* PG, WP, PE */
	movl %eax, %cr0

	lgdt early_gdt_ptr
	ljmp $BOOT_CS64, $long_mode_entry

no_long_mode:
	/* No stack-dependent code: print directly to COM1 and stop. */
	movl $msg_no_lm, %esi
4:	lodsb
	testb %al, %al
	jz 6f
	movw $0x3fd, %dx
	movb %al, %ah
5:	inb %dx, %al
	testb $0x20, %al
	jz 5b
	movb %ah, %al
	movw $0x3f8, %dx
	outb %al, %dx
	jmp 4b
6:	hlt
	jmp 6b

	.code64
long_mode_entry:
	movw $BOOT_DS, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	/* rdi = magic, rsi = info (zero-extended by the 32-bit moves). */
	call boot_main
7:	cli
	hlt
	jmp 7b

	.section .rodata
msg_no_lm:
	.asciz "veneer: panic: this CPU has no long mode (x86-64): cannot run\r\n"

	.align 16
early_gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff /* 0x10: data */
early_gdt_end:
early_gdt_ptr:
	.short early_gdt_end - early_gdt - 1
	.long early_gdt

	.section .bss
	.align 4096
	.globl early_pml4
early_pml4:
	.skip 4096
early_pdpt:
	.skip 4096
early_pd:
	.skip 4 * 4096
	.align 16
boot_stack:
	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:
