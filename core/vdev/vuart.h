/* SPDX-License-Identifier: MIT */
/*
 * Virtual 16550 UART: the register model a guest's serial driver expects,
 * with its output collected into lines for the prefixed hypervisor console,
 * or handed on byte by byte to a transmitter of the guest's own (a serial
 * port it owns, docs/console.md).
 *
 * Pure state machine (no I/O): the owner passes a line sink (or a
 * transmitter), and later a source of received bytes. Register set per the
 * PC16550D data sheet.
 */
#ifndef VENEER_CORE_VDEV_VUART_H
#define VENEER_CORE_VDEV_VUART_H

#include "core/lib/types.h"

#define VUART_COM1_BASE 0x3f8
#define VUART_PORTS	8
#define VUART_LINE_MAX	256
#define VUART_RX_SIZE	64
/* Bytes a driver may write after seeing THR empty: the 16550's FIFO. */
#define VUART_TX_FIFO 16

/*
 * Receives guest output: a complete line (without the newline) when
 * `complete`, else the start of a line that vuart_flush() sent out early
 * (a shell prompt waiting for input); its rest follows in a later call.
 * The bytes are the guest's, unfiltered but for line ends: "\n", "\r\n"
 * (any carriage returns just before the line feed) end a line and are not
 * in it; a bare carriage return is, once, as '\r'. A line longer than
 * VUART_LINE_MAX - 1 bytes is cut into complete lines of that length.
 */
typedef void (*vuart_line_fn)(void *opaque, const char *line, u32 len,
			      bool complete);

/*
 * A transmitter of the guest's own instead of lines (vuart_set_tx): `send`
 * takes every byte the guest writes (THR, vuart_output) as it is, and
 * `ready` says whether it can take VUART_TX_FIFO more bytes now, `idle`
 * whether everything sent has left it. The guest sees the transmitter as
 * a real UART at the port's speed: THR empty (LSR bit 5, and the THRE
 * interrupt) only while `ready`, transmitter empty (LSR bit 6) only while
 * `idle`. Bytes sent while it is not ready are the transmitter's to keep
 * or drop, as a 16550 drops bytes written into a full FIFO.
 */
struct vuart_tx {
	void (*send)(void *opaque, u8 byte);
	bool (*ready)(void *opaque);
	bool (*idle)(void *opaque);
};

struct vuart {
	u8 ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending; /* THR-empty interrupt condition latched */
	bool tx_waiting;   /* THR written while the transmitter had no room:
			      THR empty comes with vuart_tx_room() */
	vuart_line_fn line_out;
	void (*wrote)(void *opaque); /* vuart_on_output(), or NULL */
	const struct vuart_tx *tx;   /* NULL: output is made into lines */
	void *opaque;
	char line[VUART_LINE_MAX];
	u32 line_len;
	bool cr_pending;      /* a carriage return waits: line end or bare? */
	u8 rx[VUART_RX_SIZE]; /* received bytes, oldest first */
	u32 rx_head, rx_count;
};

void vuart_init(struct vuart *u, vuart_line_fn line_out, void *opaque);
/*
 * After vuart_init: `wrote` (with the same opaque) is told after each
 * write of output, through THR or vuart_output(), once the bytes are in
 * the line: the owner may time a partial line out (vuart_flush).
 */
void vuart_on_output(struct vuart *u, void (*wrote)(void *opaque));
/*
 * After vuart_init: the guest's output goes to `tx` (with the same
 * opaque), byte for byte, instead of lines (see struct vuart_tx).
 */
void vuart_set_tx(struct vuart *u, const struct vuart_tx *tx);
/*
 * The transmitter has room again (its owner polls it): a guest that wrote
 * while it had none now sees THR empty, and its THRE interrupt if enabled.
 * True when that changed the UART's interrupt line state.
 */
bool vuart_tx_room(struct vuart *u);
/* Guest access to register `offset` (0-7) of the UART. */
u8 vuart_read(struct vuart *u, u16 offset);
void vuart_write(struct vuart *u, u16 offset, u8 value);
/* Bytes written straight to the console (e.g. a hypercall). */
void vuart_output(struct vuart *u, const char *s, u32 len);
/* Send out the partial line, if any (complete = false). */
void vuart_flush(struct vuart *u);
/* Queue a received byte; false when the receive FIFO is full. */
bool vuart_receive(struct vuart *u, u8 byte);
/* The interrupt line level the UART drives (IRQ 4 for COM1). */
bool vuart_irq_pending(const struct vuart *u);
/* The guest enabled the received-data interrupt (IER bit 0). */
bool vuart_rx_irq_enabled(const struct vuart *u);
/* The guest waits for THR empty with its interrupt enabled (IER bit 1):
 * vuart_tx_room() will raise it. */
bool vuart_tx_irq_waiting(const struct vuart *u);

#endif /* VENEER_CORE_VDEV_VUART_H */
