/* SPDX-License-Identifier: MIT */
/*
 * 16550 UART driver (register set as in the PC16550D data sheet): polled
 * transmit and receive, no interrupts.
 */
#include "drivers/uart.h"
#include "arch/x86/cpu.h"

#define UART_THR 0 /* transmit holding (write), DLAB=0 */
#define UART_RBR 0 /* receive buffer (read), DLAB=0 */
#define UART_DLL 0 /* divisor latch low, DLAB=1 */
#define UART_IER 1 /* interrupt enable, DLAB=0 */
#define UART_DLM 1 /* divisor latch high, DLAB=1 */
#define UART_FCR 2 /* FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DATA_READY	 0x01
#define LSR_THR_EMPTY	 0x20
#define LSR_TX_IDLE	 0x40

#define UART_CLOCK_DIVISOR_BASE 115200

static u16 uart_base = UART_COM1;

void uart_init(u16 port, u32 baud)
{
	u32 divisor = UART_CLOCK_DIVISOR_BASE / (baud ? baud : 115200);

	uart_base = port;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, divisor & 0xff);
	outb(port + UART_DLM, (divisor >> 8) & 0xff);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
}

u16 uart_port(void)
{
	return uart_base;
}

void uart_putc(char c)
{
	/* A missing UART reads 0xff: the THR-empty bit is then set, no hang. */
	while (!(inb(uart_base + UART_LSR) & LSR_THR_EMPTY))
		cpu_relax();
	outb(uart_base + UART_THR, (u8)c);
}

void uart_flush(void)
{
	for (int i = 0; i < 1000000; i++) {
		if (inb(uart_base + UART_LSR) & LSR_TX_IDLE)
			return;
		cpu_relax();
	}
}

int uart_getc(void)
{
	u8 lsr = inb(uart_base + UART_LSR);

	if (lsr == 0xff || !(lsr & LSR_DATA_READY))
		return -1;
	return inb(uart_base + UART_RBR);
}
