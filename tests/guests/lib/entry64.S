/* SPDX-License-Identifier: MIT */
/*
 * Multiboot header and entry of the 64-bit test guest: it starts in 32-bit
 * protected mode like every multiboot kernel and switches itself to long
 * mode with identity-mapped 2 MiB pages covering the low 4 GiB.
 *
 * Register contract: as entry32.S on entry (EAX = magic, EBX = info). In
 * 64-bit mode guest_start(magic, info) is called with EDI = magic and
 * ESI = info (System V AMD64 ABI), and never returns.
 */
#include "tests/guests/lib/multiboot.h"

/* Bit 16: the loader takes the load addresses from the header instead of
 * the ELF program headers, which QEMU needs to accept an ELF64 file
 * (Multiboot 0.6.96, 3.1.3 "The address fields of Multiboot header"). */
#define HEADER_FLAGS \
	(MULTIBOOT_FLAG_PAGE_ALIGN | MULTIBOOT_FLAG_MEMORY | MULTIBOOT_FLAG_ADDRESS)

#define GDT_CODE32 0x08
#define GDT_DATA   0x10
#define GDT_CODE64 0x18

#define CR0_PE        (1 << 0)
#define CR0_PG        (1 << 31)
#define CR4_PAE       (1 << 5)
#define MSR_EFER      0xC0000080
#define EFER_LME      (1 << 8)
#define PTE_PRESENT   (1 << 0)
#define PTE_WRITABLE  (1 << 1)
#define PTE_LARGE     (1 << 7)	/* PS: a 2 MiB page in a PD entry */
#define CPUID_LM_BIT  29	/* CPUID.80000001H:EDX[29] long mode */

	.section .multiboot, "a"
	.align 4
multiboot_header:
	.long MULTIBOOT_HEADER_MAGIC
	.long HEADER_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + HEADER_FLAGS)
	.long multiboot_header		/* header_addr */
	.long _guest_image_start	/* load_addr */
	.long _guest_load_end		/* load_end_addr: end of .data */
	.long _guest_bss_end		/* bss_end_addr: zeroed by the loader */
	.long _start			/* entry_addr */

	.text
	.code32
	.globl _start
_start:
	cli
	movl %eax, %edi			/* keep magic and info for C */
	movl %ebx, %esi
	lgdt gdt_pointer
	ljmp $GDT_CODE32, $1f
1:	movw $GDT_DATA, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %ss
	movl $guest_stack_top, %esp

	/* Long mode present? Otherwise say so on the UART and exit 1. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $CPUID_LM_BIT, %edx
	jnc no_long_mode

	/* Zero the PML4 and PDPT (PDs are filled completely below). */
	pushl %edi
	cld
	movl $pml4, %edi
	movl $(2 * 4096 / 4), %ecx
	xorl %eax, %eax
	rep stosl
	popl %edi

	/* PML4[0] -> PDPT; PDPT[0..3] -> the four PDs. */
	movl $pdpt, %eax
	orl $(PTE_PRESENT | PTE_WRITABLE), %eax
	movl %eax, pml4
	movl $page_directories, %eax
	orl $(PTE_PRESENT | PTE_WRITABLE), %eax
	xorl %ecx, %ecx
2:	movl %eax, pdpt(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jb 2b

	/* 2048 PD entries: entry i maps i * 2 MiB (SDM Vol. 3A 4.5.4,
	 * table 4-17); the high dword of each entry stays 0. */
	xorl %ecx, %ecx
	movl $(PTE_PRESENT | PTE_WRITABLE | PTE_LARGE), %eax
3:	movl %eax, page_directories(, %ecx, 8)
	movl $0, page_directories + 4(, %ecx, 8)
	addl $0x200000, %eax
	incl %ecx
	cmpl $2048, %ecx
	jb 3b

	/* SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode": PAE, CR3, LME,
	 * then paging; the far jump enters 64-bit code. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $GDT_CODE64, $start64

no_long_mode:
	movl $no_long_mode_message, %esi
4:	movb (%esi), %al
	testb %al, %al
	jz 6f
	movw $(UART_BASE_PORT + 5), %dx
5:	inb %dx, %al			/* wait for THR empty (LSR bit 5) */
	testb $0x20, %al
	jz 5b
	movb (%esi), %al
	movw $UART_BASE_PORT, %dx
	outb %al, %dx
	incl %esi
	jmp 4b
6:	movl $1, %eax
	movw $0xf4, %dx
	outl %eax, %dx
7:	hlt
	jmp 7b

	.code64
start64:
	movw $GDT_DATA, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movq $guest_stack_top, %rsp
	xorl %ebp, %ebp
	pushq $0			/* RFLAGS: IF=0, DF=0 */
	popfq
	/* EDI = magic, ESI = info: already in place (zero-extended when
	 * written as 32-bit registers). */
	movl %edi, %edi
	movl %esi, %esi
	call guest_start
8:	hlt
	jmp 8b

	.section .rodata
UART_BASE_PORT = 0x3f8
no_long_mode_message:
	.asciz "FAIL: CPU has no long mode (CPUID.80000001H:EDX[29] clear)\r\nFAIL\r\n"
	.align 8
/* SDM Vol. 3A 3.4.5 and 5.2.1: 0x08 flat 32-bit code, 0x10 flat data,
 * 0x18 64-bit code (L=1, D=0). */
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00af9a000000ffff
gdt_end:
gdt_pointer:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.align 4096
pml4:
	.space 4096
pdpt:
	.space 4096
page_directories:
	.space 4 * 4096
	.align 16
guest_stack:
	.space 16384
	.globl guest_stack_top
guest_stack_top:

	.section .note.GNU-stack, "", @progbits
