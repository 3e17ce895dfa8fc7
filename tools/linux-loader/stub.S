/* SPDX-License-Identifier: MIT */
/*
 * A 64 KiB "firmware" for tools/linux-loader-boot: QEMU maps it below
 * 4 GiB and the CPU starts at its last 16 bytes (the reset vector) in real
 * mode.  It does only what Veneer will do with a vCPU: load the boot GDT
 * that core/linux.c wrote at 0x1000 and enter the kernel the way the Linux
 * boot protocol says.  Assembled with --defsym LONG=0|1 and ENTRY=rip.
 *
 *   LONG=0  "32-bit Boot Protocol": flat protected mode, paging off.
 *   LONG=1  "64-bit Boot Protocol": CR4.PAE, CR3 = the loader's identity
 *           map at 0x2000, EFER.LME, then CR0.PE|PG in one write (legal
 *           from real mode, SDM Vol. 3A 10.8.5), and a far jump into the
 *           64-bit __BOOT_CS.
 * Both: DS = ES = SS = __BOOT_DS, ESI = boot_params (0x8000), EBP = EDI =
 * EBX = 0, interrupts off.
 */
	.code16
start16:
	cli
	/* CS base is 0xFFFF0000 after reset: cs-relative reaches the ROM. */
	lgdtl %cs:gdtr
.if LONG
	mov $0x20, %eax			/* CR4.PAE */
	mov %eax, %cr4
	mov $0x2000, %eax		/* LINUX_PML4_GPA */
	mov %eax, %cr3
	mov $0xC0000080, %ecx		/* IA32_EFER */
	rdmsr
	or $0x100, %eax			/* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	ljmpl $0x10, $(0xFFFF0000 + start64)
	.code64
start64:
	mov $0x18, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $0x8000, %esi
	xor %ebp, %ebp
	xor %edi, %edi
	xor %ebx, %ebx
	mov $ENTRY, %eax
	jmp *%rax
.else
	mov %cr0, %eax
	or $1, %eax			/* PE */
	mov %eax, %cr0
	ljmpl $0x10, $(0xFFFF0000 + start32)
	.code32
start32:
	mov $0x18, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov $0x8000, %esi
	xor %ebp, %ebp
	xor %edi, %edi
	xor %ebx, %ebx
	mov $ENTRY, %eax
	jmp *%eax
.endif
gdtr:	.word 0x1f			/* LINUX_GDT_ENTRIES * 8 - 1 */
	.long 0x1000			/* LINUX_GDT_GPA */

	.org 0xfff0			/* the reset vector */
	.code16
	jmp start16
	.org 0x10000
