/* SPDX-License-Identifier: MIT */
/*
 * realmode: a raw 16-bit guest, loaded at guest-physical 0x7C00 and started
 * in real mode at CS:IP 0000:7C00 like a boot sector (it carries the 0xAA55
 * signature, so natively a BIOS boots it from a floppy image).
 *
 * Checks: CR0.PE is clear (smsw), a round trip into 16-bit protected mode
 * and back works (PE set inside, clear after, data still addressable), then
 * exit code 0 is written to port 0xf4 with a 32-bit out (operand-size
 * prefix). Any failed check prints a FAIL line and exits 1.
 *
 * Register contract: nothing is expected from the loader except CS:IP and
 * real mode; DS, ES, SS and SP are set here. Interrupts stay disabled: this
 * guest needs no BIOS and no IVT.
 */

#define UART_THR   0x3f8
#define UART_LSR   0x3fd
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define EXIT_PORT  0xf4
#define SEL_CODE16 0x08
#define SEL_DATA16 0x10

	.code16
	.text
	.globl _start
_start:
	cli
	cld
	/* A BIOS may enter at 07C0:0000: make CS 0 so offsets = addresses. */
	ljmp $0, $1f
1:	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp

	movw $msg_hello, %si
	call puts

	/* SDM Vol. 3A 9.1.1: real mode is CR0.PE = 0. */
	smsw %ax
	testw $1, %ax
	jnz fail_pe_at_start
	movw $msg_pe_clear, %si
	call puts

	/* SDM Vol. 3A 9.9.1 and 9.9.2: PE on, far jump to a 16-bit code
	 * segment, load a data segment, PE off, far jump back to real mode
	 * and reload the segments. */
	lgdt gdt_pointer
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmp $SEL_CODE16, $protected16
protected16:
	movw $SEL_DATA16, %ax
	movw %ax, %ds
	smsw %bx			/* PE as seen inside */
	movb pm_marker, %cl		/* a load through the PM data segment */
	movl %cr0, %eax
	andl $~1, %eax
	movl %eax, %cr0
	ljmp $0, $real_again
real_again:
	xorw %ax, %ax
	movw %ax, %ds
	testw $1, %bx
	jz fail_pe_inside
	cmpb $0x5a, %cl
	jne fail_pm_data
	smsw %ax
	testw $1, %ax
	jnz fail_pe_after
	movw $msg_round_trip, %si
	call puts

	movw $msg_pass, %si
	call puts
	xorl %eax, %eax
	jmp exit

fail_pe_at_start:
	movw $msg_fail_start, %si
	jmp fail
fail_pe_inside:
	movw $msg_fail_inside, %si
	jmp fail
fail_pm_data:
	movw $msg_fail_data, %si
	jmp fail
fail_pe_after:
	movw $msg_fail_after, %si
fail:
	call puts
	movw $msg_fail, %si
	call puts
	movl $1, %eax

/* EAX = exit code. Waits until the UART has sent everything, then
 * "out dx, eax" (66 EF) to the debug-exit port. */
exit:
	movl %eax, %ebx
	movw $UART_LSR, %dx
2:	inb %dx, %al
	testb $LSR_TEMT, %al
	jz 2b
	movl %ebx, %eax
	movw $EXIT_PORT, %dx
	outl %eax, %dx
3:	hlt
	jmp 3b

/* Prints the NUL-terminated string at DS:SI, waiting for THR empty before
 * each byte. Clobbers AX, DX, SI. */
puts:
	lodsb
	testb %al, %al
	jz 5f
	movb %al, %ah
	movw $UART_LSR, %dx
4:	inb %dx, %al
	testb $LSR_THRE, %al
	jz 4b
	movb %ah, %al
	movw $UART_THR, %dx
	outb %al, %dx
	jmp puts
5:	ret

msg_hello:	.asciz "realmode: hello from real mode\r\n"
msg_pe_clear:	.asciz "PASS: CR0.PE clear at start\r\n"
msg_round_trip:	.asciz "PASS: protected mode and back\r\n"
msg_pass:	.asciz "PASS\r\n"
msg_fail_start:	.asciz "FAIL: PE at start (1 != 0)"
msg_fail_inside: .asciz "FAIL: PE in PM (0 != 1)"
msg_fail_data:	.asciz "FAIL: PM data load"
msg_fail_after:	.asciz "FAIL: PE after PM (1 != 0)"
msg_fail:	.asciz "\r\nFAIL\r\n"
pm_marker:	.byte 0x5a

	.balign 8
/* 16-bit segments, base 0, limit 64 KiB, byte granular (D = 0, G = 0):
 * SDM Vol. 3A 3.4.5. */
gdt:
	.quad 0
	.quad 0x00009a000000ffff	/* 0x08 code16 */
	.quad 0x000092000000ffff	/* 0x10 data16 */
gdt_end:
gdt_pointer:
	.word gdt_end - gdt - 1
	.long gdt

	.section .note.GNU-stack, "", @progbits
