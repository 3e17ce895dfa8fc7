/* SPDX-License-Identifier: MIT */
/*
 * 16550 UART driver (register set as in the PC16550D data sheet): polled
 * transmit and receive, no interrupts, for the hypervisor's console and
 * for the ports guests own (the lines, below).
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
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_SCR 7 /* scratch */

#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS_OUT2 0x0b
#define MCR_DTR_RTS	 0x03
#define IIR_FIFOS_ON	 0xc0 /* both bits: a 16550A with working FIFOs */
#define FIFO_SIZE	 16
#define LSR_DATA_READY	 0x01
#define LSR_THR_EMPTY	 0x20
#define LSR_TX_IDLE	 0x40

#define UART_CLOCK_DIVISOR_BASE 115200

static u16 uart_base = UART_COM1;
static u32 uart_speed = 115200;

/* Received bytes not yet taken; head == tail: empty. Under rx_lock. */
#define RX_RING_SIZE 1024
static u8 rx_ring[RX_RING_SIZE];
static u32 rx_head, rx_tail;
static u64 rx_dropped;
static spinlock_t rx_lock = SPINLOCK_INIT;

/* `baud` 8N1, FIFOs on and cleared, interrupts off, modem lines `mcr`. */
static void program(u16 port, u32 baud, u8 mcr)
{
	u32 divisor = UART_CLOCK_DIVISOR_BASE / (baud ? baud : 115200);

	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, divisor & 0xff);
	outb(port + UART_DLM, (divisor >> 8) & 0xff);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR);
	outb(port + UART_MCR, mcr);
}

void uart_init(u16 port, u32 baud)
{
	uart_base = port;
	uart_speed = baud ? baud : 115200;
	program(port, baud, MCR_DTR_RTS_OUT2);
}

u16 uart_port(void)
{
	return uart_base;
}

u32 uart_baud(void)
{
	return uart_speed;
}

void uart_putc(char c)
{
	/* A missing UART reads 0xff: the THR-empty bit is then set, no hang. */
	while (!(inb(uart_base + UART_LSR) & LSR_THR_EMPTY))
		cpu_relax();
	outb(uart_base + UART_THR, (u8)c);
}

static void lines_flush(void);

void uart_flush(void)
{
	lines_flush();
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
	uart_lines_service();
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

/* ---- lines: the ports guests own ---- */

/*
 * One port a guest owns. Under `lock`: the rings (head == tail: empty) and
 * the UART's registers. The owner's CPU takes the lock to send and
 * receive; a CPU that only helps (uart_lines_service) tries it and moves
 * on when it is busy. Machine state, one per COM port, not per guest: the
 * guest it belongs to is core's to know.
 */
struct uart_line {
	spinlock_t lock;
	volatile bool open;
	u16 port;
	u32 fifo; /* bytes the UART takes after THR empty: 16, or 1 */
	u8 tx[UART_LINE_TX_SIZE];
	u32 tx_head, tx_tail;
	u8 rx[UART_LINE_RX_SIZE];
	u32 rx_head, rx_tail;
	u64 tx_dropped, rx_dropped; /* lost to a full ring (for a debugger) */
};

static struct uart_line lines[UART_LINES] = {
    {.lock = SPINLOCK_INIT},
    {.lock = SPINLOCK_INIT},
    {.lock = SPINLOCK_INIT},
    {.lock = SPINLOCK_INIT},
};

const char *uart_probe(u16 port)
{
	u8 saved, a, b;

	/*
	 * Nothing decodes the port: the bus floats and reads all ones.
	 * A 16550 never shows 0xff in LSR (bit 7, "error in FIFO", comes
	 * only with an error byte in the FIFO, which a fresh port has not).
	 */
	if (inb(port + UART_LSR) == 0xff)
		return "its line status register reads 0xff";
	/*
	 * The scratch register (PC16550D "Scratchpad Register") keeps any
	 * byte: two patterns with every bit flipped tell it from a bus that
	 * floats or returns the last value driven.
	 */
	saved = inb(port + UART_SCR);
	outb(port + UART_SCR, 0x55);
	a = inb(port + UART_SCR);
	outb(port + UART_SCR, 0xaa);
	b = inb(port + UART_SCR);
	outb(port + UART_SCR, saved);
	if (a != 0x55 || b != 0xaa)
		return "its scratch register does not keep what is written";
	return NULL;
}

static u32 ring_used(u32 head, u32 tail, u32 size)
{
	return (head + size - tail) % size;
}

/* Move bytes from the transmit ring into the UART; lock held. */
static void line_push(struct uart_line *l)
{
	u8 lsr;

	if (l->tx_tail == l->tx_head)
		return; /* nothing to send: no port access */
	/* THR empty: the whole FIFO is free (PC16550D, LSR bit 5). A port
	 * that vanished reads 0xff and swallows what is written. */
	lsr = inb(l->port + UART_LSR);
	if (!(lsr & LSR_THR_EMPTY))
		return;
	for (u32 n = 0; n < l->fifo && l->tx_tail != l->tx_head; n++) {
		outb(l->port + UART_THR, l->tx[l->tx_tail]);
		l->tx_tail = (l->tx_tail + 1) % UART_LINE_TX_SIZE;
	}
}

/* Move what the UART received into the receive ring; lock held. */
static void line_pull(struct uart_line *l)
{
	for (int i = 0; i < 64; i++) {
		u8 lsr = inb(l->port + UART_LSR);
		u32 next;

		if (lsr == 0xff || !(lsr & LSR_DATA_READY))
			return;
		next = (l->rx_head + 1) % UART_LINE_RX_SIZE;
		if (next == l->rx_tail) {
			l->rx_dropped++; /* the guest does not read: keep the
					    newest, as the console does */
			l->rx_tail = (l->rx_tail + 1) % UART_LINE_RX_SIZE;
		}
		l->rx[l->rx_head] = inb(l->port + UART_RBR);
		l->rx_head = next;
	}
}

void uart_line_open(u32 line, u16 port)
{
	struct uart_line *l = &lines[line % UART_LINES];

	spin_lock(&l->lock);
	l->port = port;
	program(port, uart_speed, MCR_DTR_RTS);
	/* FCR bit 0 on: a 16550A shows both IIR FIFO bits, an 8250 or
	 * 16450 (no FIFO) neither; such a UART takes one byte at a time. */
	l->fifo = (inb(port + UART_IIR) & IIR_FIFOS_ON) == IIR_FIFOS_ON
		      ? FIFO_SIZE
		      : 1;
	l->tx_head = l->tx_tail = 0;
	l->rx_head = l->rx_tail = 0;
	l->open = true;
	spin_unlock(&l->lock);
}

void uart_line_close(u32 line)
{
	struct uart_line *l = &lines[line % UART_LINES];

	spin_lock(&l->lock);
	l->open = false;
	l->tx_head = l->tx_tail = 0;
	l->rx_head = l->rx_tail = 0;
	spin_unlock(&l->lock);
}

bool uart_line_send(u32 line, u8 byte)
{
	struct uart_line *l = &lines[line % UART_LINES];
	u32 next;
	bool taken = false;

	spin_lock(&l->lock);
	next = (l->tx_head + 1) % UART_LINE_TX_SIZE;
	if (next == l->tx_tail) {
		line_push(l); /* make room if the UART takes some now */
		next = (l->tx_head + 1) % UART_LINE_TX_SIZE;
	}
	if (next != l->tx_tail) {
		l->tx[l->tx_head] = byte;
		l->tx_head = next;
		taken = true;
	} else {
		l->tx_dropped++;
	}
	line_push(l);
	spin_unlock(&l->lock);
	return taken;
}

u32 uart_line_room(u32 line)
{
	struct uart_line *l = &lines[line % UART_LINES];
	u32 room;

	spin_lock(&l->lock);
	/* Only when the ring is not nearly empty: each push reads LSR, a
	 * port access an emulator serialises. */
	if (ring_used(l->tx_head, l->tx_tail, UART_LINE_TX_SIZE))
		line_push(l);
	room = UART_LINE_TX_SIZE - 1 -
	       ring_used(l->tx_head, l->tx_tail, UART_LINE_TX_SIZE);
	spin_unlock(&l->lock);
	return room;
}

bool uart_line_idle(u32 line)
{
	struct uart_line *l = &lines[line % UART_LINES];
	bool idle;

	spin_lock(&l->lock);
	if (l->tx_head != l->tx_tail)
		line_push(l);
	idle =
	    l->tx_head == l->tx_tail && (inb(l->port + UART_LSR) & LSR_TX_IDLE);
	spin_unlock(&l->lock);
	return idle;
}

int uart_line_getc(u32 line)
{
	struct uart_line *l = &lines[line % UART_LINES];
	int c = -1;

	spin_lock(&l->lock);
	if (l->rx_tail == l->rx_head)
		line_pull(l);
	if (l->rx_tail != l->rx_head) {
		c = l->rx[l->rx_tail];
		l->rx_tail = (l->rx_tail + 1) % UART_LINE_RX_SIZE;
	}
	spin_unlock(&l->lock);
	return c;
}

void uart_line_discard_input(u32 line)
{
	struct uart_line *l = &lines[line % UART_LINES];

	spin_lock(&l->lock);
	line_pull(l);
	l->rx_tail = l->rx_head;
	spin_unlock(&l->lock);
}

void uart_line_service(u32 line)
{
	struct uart_line *l = &lines[line % UART_LINES];

	spin_lock(&l->lock);
	line_pull(l);
	line_push(l);
	spin_unlock(&l->lock);
}

void uart_lines_service(void)
{
	for (u32 i = 0; i < UART_LINES; i++) {
		struct uart_line *l = &lines[i];

		if (!l->open || !spin_trylock(&l->lock))
			continue;
		line_pull(l);
		line_push(l);
		spin_unlock(&l->lock);
	}
}

/*
 * At power off: what the guests sent goes out before the machine stops.
 * Bounded like uart_flush(): about a second of polling per line, which at
 * 115200 baud moves the whole ring; a port that takes nothing (no cable
 * needed, but a UART stuck) is given up on. No waiting for a lock another
 * CPU may hold for ever (a panic).
 */
static void lines_flush(void)
{
	for (u32 i = 0; i < UART_LINES; i++) {
		struct uart_line *l = &lines[i];

		if (!l->open || !spin_trylock(&l->lock))
			continue;
		for (int spins = 0; spins < 2000000; spins++) {
			line_push(l);
			if (l->tx_head == l->tx_tail &&
			    (inb(l->port + UART_LSR) & LSR_TX_IDLE))
				break;
			cpu_relax();
		}
		spin_unlock(&l->lock);
	}
}
