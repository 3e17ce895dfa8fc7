/* SPDX-License-Identifier: MIT */
#include "core/vdev/vuart.h"
#include "core/lib/string.h"

#define REG_DATA 0 /* RBR / THR, or DLL with DLAB */
#define REG_IER	 1 /* or DLM with DLAB */
#define REG_IIR	 2 /* read: IIR; write: FCR */
#define REG_LCR	 3
#define REG_MCR	 4
#define REG_LSR	 5
#define REG_MSR	 6
#define REG_SCR	 7

#define LCR_DLAB     0x80
#define IER_RDA	     0x01 /* received data available */
#define IER_THRE     0x02 /* transmitter holding register empty */
#define IIR_NONE     0x01
#define IIR_THRE     0x02
#define IIR_RDA	     0x04
#define IIR_FIFO_ON  0xc0
#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define LSR_DR	     0x01
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define MCR_LOOP     0x10
/* Modem status with nothing attached but a ready terminal: CTS, DSR, DCD. */
#define MSR_READY 0xb0

void vuart_init(struct vuart *u, vuart_line_fn line_out, void *opaque)
{
	memset(u, 0, sizeof(*u));
	u->line_out = line_out;
	u->opaque = opaque;
	u->dll = 1; /* 115200 baud */
}

void vuart_on_output(struct vuart *u, void (*wrote)(void *opaque))
{
	u->wrote = wrote;
}

void vuart_set_tx(struct vuart *u, const struct vuart_tx *tx)
{
	u->tx = tx;
}

/* THR empty: always for lines (a byte leaves at once), else the
 * transmitter's word. */
static bool tx_ready(const struct vuart *u)
{
	return !u->tx || u->tx->ready(u->opaque);
}

static bool tx_idle(const struct vuart *u)
{
	return !u->tx || u->tx->idle(u->opaque);
}

/*
 * A byte written to THR has left it: THR empty again (and its interrupt)
 * at once when the transmitter has room, else once vuart_tx_room() says
 * it has. A 16550 clears the THRE interrupt when THR is written (PC16550D,
 * "Interrupt Identification Register"), so the condition is restated.
 */
static void thr_written(struct vuart *u)
{
	u->thre_pending = tx_ready(u);
	u->tx_waiting = !u->thre_pending;
}

bool vuart_tx_room(struct vuart *u)
{
	bool was = vuart_irq_pending(u);

	if (!u->tx_waiting || !tx_ready(u))
		return false;
	u->tx_waiting = false;
	u->thre_pending = true;
	return vuart_irq_pending(u) != was;
}

static void emit(struct vuart *u, bool complete)
{
	u->line[u->line_len] = '\0';
	if (u->line_out)
		u->line_out(u->opaque, u->line, u->line_len, complete);
	u->line_len = 0;
}

static void emit_line(struct vuart *u)
{
	emit(u, true);
}

static void append(struct vuart *u, char c)
{
	u->line[u->line_len++] = c;
	if (u->line_len == VUART_LINE_MAX - 1)
		emit_line(u);
}

/*
 * Line feed ends a line; carriage returns right before it ("\r\n", also
 * "\r\r\n") belong to the line end and are dropped. A carriage return
 * followed by anything else (a bare one: a progress bar, a redrawn line)
 * stays in the line, once, where the console shows it as ^M: it must not
 * take the terminal's cursor back over the "[NAME] " tag.
 */
static void put_char(struct vuart *u, char c)
{
	if (u->tx) {
		u->tx->send(u->opaque, (u8)c);
		return;
	}
	if (c == '\r') {
		u->cr_pending = true;
		return;
	}
	if (c == '\n') {
		u->cr_pending = false;
		emit_line(u);
		return;
	}
	if (u->cr_pending) {
		u->cr_pending = false;
		append(u, '\r');
	}
	append(u, c);
}

void vuart_output(struct vuart *u, const char *s, u32 len)
{
	for (u32 i = 0; i < len; i++)
		put_char(u, s[i]);
	if (u->wrote)
		u->wrote(u->opaque);
}

void vuart_flush(struct vuart *u)
{
	if (u->line_len)
		emit(u, false);
}

bool vuart_receive(struct vuart *u, u8 byte)
{
	if (u->rx_count == VUART_RX_SIZE)
		return false;
	u->rx[(u->rx_head + u->rx_count) % VUART_RX_SIZE] = byte;
	u->rx_count++;
	return true;
}

static u8 rx_pop(struct vuart *u)
{
	u8 b;

	if (!u->rx_count)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % VUART_RX_SIZE;
	u->rx_count--;
	return b;
}

/* Highest-priority pending interrupt, as IIR reports it. */
static u8 pending_iir(const struct vuart *u)
{
	if ((u->ier & IER_RDA) && u->rx_count)
		return IIR_RDA;
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	return IIR_NONE;
}

bool vuart_rx_irq_enabled(const struct vuart *u)
{
	return u->ier & IER_RDA;
}

bool vuart_irq_pending(const struct vuart *u)
{
	return pending_iir(u) != IIR_NONE;
}

bool vuart_tx_irq_waiting(const struct vuart *u)
{
	return u->tx_waiting && (u->ier & IER_THRE);
}

u8 vuart_read(struct vuart *u, u16 offset)
{
	switch (offset) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		return rx_pop(u);
	case REG_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR: {
		u8 iir = pending_iir(u);

		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (iir == IIR_THRE)
			u->thre_pending = false;
		return iir | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
	}
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		/*
		 * Lines take output at once: the transmitter is always empty.
		 * A transmitter of the guest's own says (struct vuart_tx).
		 */
		return (tx_ready(u) ? LSR_THRE : 0) |
		       (tx_idle(u) ? LSR_TEMT : 0) | (u->rx_count ? LSR_DR : 0);
	case REG_MSR:
		if (u->mcr & MCR_LOOP) /* loopback: outputs appear as inputs */
			return (u8)(((u->mcr & 0x0c) << 4) |
				    ((u->mcr & 0x01) << 5) |
				    ((u->mcr & 0x02) << 3));
		return MSR_READY;
	case REG_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

void vuart_write(struct vuart *u, u16 offset, u8 value)
{
	switch (offset) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB) {
			u->dll = value;
			return;
		}
		/*
		 * The byte leaves the THR at once, to the receiver in loopback
		 * or to the console, so THR-empty is raised again either way;
		 * a transmitter of the guest's own may hold it back.
		 */
		if (u->mcr & MCR_LOOP) {
			vuart_receive(u, value);
			u->thre_pending = true;
			return;
		}
		put_char(u, (char)value);
		thr_written(u);
		if (u->wrote)
			u->wrote(u->opaque);
		return;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = value;
			return;
		}
		/* Enabling THRE while the THR is empty raises it at once;
		 * with a transmitter that has no room, once it has. */
		if ((value & IER_THRE) && !(u->ier & IER_THRE)) {
			u->thre_pending = tx_ready(u);
			u->tx_waiting = !u->thre_pending;
		}
		u->ier = value & 0x0f;
		return;
	case REG_IIR:
		u->fcr = value;
		if (value & FCR_CLEAR_RX)
			u->rx_count = 0;
		return;
	case REG_LCR:
		u->lcr = value;
		return;
	case REG_MCR:
		u->mcr = value & 0x1f;
		return;
	case REG_SCR:
		u->scr = value;
		return;
	default:
		return; /* LSR and MSR are read-only */
	}
}
