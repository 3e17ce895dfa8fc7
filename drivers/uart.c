/* SPDX-License-Identifier: MIT */
/*
 * 16550 UART driver (register set as in the PC16550D data sheet): polled
 * transmit and receive, no interrupts.
 *
 * Received bytes are drained from the UART's 16-byte FIFO into a software
 * ring, by uart_getc() itself and by uart_rx_drain(), which an otherwise
 * idle CPU calls in a loop: at 115200 baud the FIFO holds about 1.4 ms of
 * input, less than a guest may run between two exits, so without a CPU
 * that keeps draining, pasted text would overrun it and lose bytes.
 */
#include "drivers/uart.h"
#include "arch/x86/cpu.h"
#include "core/lib/spinlock.h"

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

/* Received bytes not yet taken; head == tail: empty. Under rx_lock. */
#define RX_RING_SIZE 1024
static u8 rx_ring[RX_RING_SIZE];
static u32 rx_head, rx_tail;
static u64 rx_dropped;
static spinlock_t rx_lock = SPINLOCK_INIT;

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

/* Move what the UART holds into the ring; rx_lock held. */
static void drain_locked(void)
{
	for (int i = 0; i < 64; i++) {
		u8 lsr = inb(uart_base + UART_LSR);

		/* A missing UART reads 0xff. */
		if (lsr == 0xff || !(lsr & LSR_DATA_READY))
			return;
		u8 byte = inb(uart_base + UART_RBR);
		u32 next = (rx_head + 1) % RX_RING_SIZE;

		if (next == rx_tail) {
			rx_dropped++; /* nobody takes input: keep the newest */
			rx_tail = (rx_tail + 1) % RX_RING_SIZE;
		}
		rx_ring[rx_head] = byte;
		rx_head = next;
	}
}

void uart_rx_drain(void)
{
	spin_lock(&rx_lock);
	drain_locked();
	spin_unlock(&rx_lock);
}

int uart_getc(void)
{
	int c = -1;

	spin_lock(&rx_lock);
	drain_locked();
	if (rx_tail != rx_head) {
		c = rx_ring[rx_tail];
		rx_tail = (rx_tail + 1) % RX_RING_SIZE;
	}
	spin_unlock(&rx_lock);
	return c;
}

u64 uart_rx_dropped(void)
{
	return rx_dropped;
}
