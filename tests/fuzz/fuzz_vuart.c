/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the virtual 16550 UART (core/vdev/vuart.c), driven by a
 * sequence of register reads and writes, received bytes, direct output
 * and flushes decoded from the input.
 *
 * The line assembly is compared with a model written from the contract
 * in core/vdev/vuart.h ("\n" and "\r\n" end a line, a bare "\r" stays
 * once, lines are cut at VUART_LINE_MAX - 1 bytes, a flush sends the
 * partial line), and the receive FIFO with a model queue. Also checked:
 * what reaches the line sink is terminated and holds no line feed; the
 * IIR, LSR and the interrupt line agree with the state; indices stay in
 * range.
 */
#include <string.h>

#include "core/vdev/vuart.h"
#include "tests/fuzz/fuzz.h"

#define REG_DATA 0
#define REG_IER	 1
#define REG_IIR	 2
#define REG_LCR	 3
#define REG_MCR	 4
#define REG_LSR	 5
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10

/* The model: the text the console should have got, and the FIFO. */
static struct {
	char line[VUART_LINE_MAX];
	u32 len;
	bool cr;
	u8 fifo[VUART_RX_SIZE];
	u32 head, count;
	/* What the sink is expected to receive next. */
	char expect[VUART_LINE_MAX];
	u32 expect_len;
	bool expect_complete;
	bool expecting;
} model;

static struct vuart uart;

static void sink(void *opaque, const char *line, u32 len, bool complete)
{
	(void)opaque;
	FUZZ_CHECK(len < VUART_LINE_MAX && line[len] == '\0',
		   "a line of %u bytes, not terminated", len);
	FUZZ_CHECK(!memchr(line, '\n', len), "a line feed in a line");
	FUZZ_CHECK(model.expecting, "an unexpected line \"%.*s\"", (int)len,
		   line);
	FUZZ_CHECK(
	    len == model.expect_len && complete == model.expect_complete &&
		!memcmp(line, model.expect, len),
	    "sink got \"%.*s\" (%s), model says \"%.*s\" (%s)", (int)len, line,
	    complete ? "complete" : "partial", (int)model.expect_len,
	    model.expect, model.expect_complete ? "complete" : "partial");
	model.expecting = false;
}

static void model_emit(bool complete)
{
	FUZZ_CHECK(!model.expecting, "an expected line never came");
	memcpy(model.expect, model.line, model.len);
	model.expect_len = model.len;
	model.expect_complete = complete;
	model.expecting = true;
	model.len = 0;
}

static void model_append(char c)
{
	model.line[model.len++] = c;
	if (model.len == VUART_LINE_MAX - 1)
		model_emit(true);
}

static void model_put(char c)
{
	if (c == '\r') {
		model.cr = true;
		return;
	}
	if (c == '\n') {
		model.cr = false;
		model_emit(true);
		return;
	}
	if (model.cr) {
		model.cr = false;
		model_append('\r');
	}
	model_append(c);
}

/* Feed one byte to both; the sink must have been called as predicted. */
static void put(char c, bool direct)
{
	model_put(c);
	if (direct)
		vuart_output(&uart, &c, 1);
	else
		vuart_write(&uart, REG_DATA, (u8)c);
	FUZZ_CHECK(!model.expecting, "the model emitted \"%.*s\", the UART not",
		   (int)model.expect_len, model.expect);
}

static void model_receive(u8 byte)
{
	if (model.count == VUART_RX_SIZE)
		return;
	model.fifo[(model.head + model.count) % VUART_RX_SIZE] = byte;
	model.count++;
}

static void check_state(void)
{
	u8 iir;

	FUZZ_CHECK(uart.line_len < VUART_LINE_MAX - 1, "line_len %u",
		   uart.line_len);
	FUZZ_CHECK(uart.rx_count <= VUART_RX_SIZE &&
		       uart.rx_head < VUART_RX_SIZE,
		   "rx_head %u rx_count %u", uart.rx_head, uart.rx_count);
	FUZZ_CHECK(uart.rx_count == model.count, "FIFO holds %u, model %u",
		   uart.rx_count, model.count);
	FUZZ_CHECK(uart.line_len == model.len && uart.cr_pending == model.cr &&
		       !memcmp(uart.line, model.line, model.len),
		   "partial line differs from the model");
	/* LSR.DR says whether a byte waits; reading LSR has no effect. */
	FUZZ_CHECK(!!(vuart_read(&uart, REG_LSR) & 1) == (model.count > 0),
		   "LSR data ready wrong");
	if (uart.lcr & LCR_DLAB)
		return;
	iir = vuart_read(&uart, REG_IIR); /* may clear THRE: the UART's */
	FUZZ_CHECK((iir & 0x0f) == 1 || (iir & 0x0f) == 2 || (iir & 0x0f) == 4,
		   "IIR 0x%02x", iir);
	FUZZ_CHECK(((iir & 0x0f) == 4) == ((uart.ier & 1) && model.count),
		   "IIR 0x%02x with IER 0x%02x and %u bytes", iir, uart.ier,
		   model.count);
	FUZZ_CHECK(vuart_irq_pending(&uart) == ((uart.ier & 1) && model.count),
		   "interrupt line after the IIR read");
}

static void step(struct fuzz_in *in)
{
	u8 op = fuzz_u8(in);
	u16 reg = fuzz_u8(in) % 9; /* 8: not a register */
	u8 value = fuzz_u8(in);
	size_t len;
	const u8 *bytes;

	switch (op % 6) {
	case 0: /* a register write */
		if (reg == REG_DATA && !(uart.lcr & LCR_DLAB)) {
			if (uart.mcr & MCR_LOOP) {
				model_receive(value);
				vuart_write(&uart, REG_DATA, value);
			} else {
				put((char)value, false);
			}
			return;
		}
		if (reg == REG_IIR && (value & 2))
			model.count = 0; /* FCR: clear the receive FIFO */
		vuart_write(&uart, reg, value);
		return;
	case 1: /* a register read */
		if (reg == REG_DATA && !(uart.lcr & LCR_DLAB)) {
			u8 want = model.count ? model.fifo[model.head] : 0;
			u8 got = vuart_read(&uart, REG_DATA);

			FUZZ_CHECK(got == want, "RBR 0x%02x, model 0x%02x", got,
				   want);
			if (model.count) {
				model.head = (model.head + 1) % VUART_RX_SIZE;
				model.count--;
			}
			return;
		}
		(void)vuart_read(&uart, reg);
		return;
	case 2: { /* console input */
		bool want = model.count < VUART_RX_SIZE;

		model_receive(value);
		FUZZ_CHECK(vuart_receive(&uart, value) == want,
			   "receive with %u bytes queued", model.count);
		return;
	}
	case 3: /* straight to the console, as a hypercall writes */
		bytes = fuzz_bytes(in, 300, &len);
		for (size_t i = 0; i < len; i++)
			put((char)bytes[i], true);
		return;
	case 4: /* a burst of THR writes */
		bytes = fuzz_bytes(in, 300, &len);
		vuart_write(&uart, REG_LCR, uart.lcr & (u8)~LCR_DLAB);
		vuart_write(&uart, REG_MCR, uart.mcr & (u8)~MCR_LOOP);
		for (size_t i = 0; i < len; i++)
			put((char)bytes[i], false);
		return;
	default: /* the console's timeout: the partial line goes out */
		if (model.len)
			model_emit(false);
		vuart_flush(&uart);
		FUZZ_CHECK(!model.expecting, "flush sent nothing");
		return;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	memset(&model, 0, sizeof(model));
	vuart_init(&uart, sink, NULL);
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
