/* SPDX-License-Identifier: MIT */
/*
 * Console output on the 16550 UART at 0x3f8 and the debug-exit port.
 *
 * No initialisation: the guests only transmit, and both QEMU's UART and
 * Veneer's virtual one send whatever is written to THR whatever the baud
 * rate. Each byte waits for THR empty (LSR bit 5) first so that a real,
 * slower UART loses nothing.
 */
#include "tests/guests/lib/guest.h"

void serial_putc(char c)
{
	while (!(inb(UART_BASE + UART_LSR) & UART_LSR_THRE))
		;
	outb(UART_BASE + UART_THR, (u8)c);
}

void serial_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s++);
	}
}

/* Waits until the transmitter has sent every byte (LSR bit 6), so that the
 * last line is not lost when the guest ends right after it. */
void serial_drain(void)
{
	while (!(inb(UART_BASE + UART_LSR) & UART_LSR_TEMT))
		;
}

__noreturn void guest_exit(u32 code)
{
	serial_drain();
	outl(DEBUG_EXIT_PORT, code);
	/* Reached only where nothing listens on 0xf4: say so and stop. */
	serial_puts("guest: debug-exit port 0xf4 did not end the guest; "
		    "halting\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}
