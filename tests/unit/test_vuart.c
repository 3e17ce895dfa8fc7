/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vuart.c, the guest's 16550 at 0x3f8. Register
 * meanings from the PC16550D data sheet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/lib/string.h"
#include "core/vdev/vuart.h"

#define REG_DATA 0
#define REG_IER	 1
#define REG_IIR	 2 /* FCR when written */
#define REG_LCR	 3
#define REG_MCR	 4
#define REG_LSR	 5
#define REG_MSR	 6
#define REG_SCR	 7

#define LSR_DR	    0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define LCR_DLAB    0x80
#define MCR_LOOP    0x10
#define IIR_NONE    0x01
#define IIR_THRE    0x02
#define IIR_RDA	    0x04
#define IIR_FIFO_ON 0xc0

/* Every line the UART hands to its sink, each with the sink's prefix. */
struct sink {
	const char *prefix;
	char lines[8][VUART_LINE_MAX + 16];
	u32 lengths[8];
	int count;
	bool complete[8];
	void *uart; /* the UART, for hooks that look at it */
};

static void collect_line(void *opaque, const char *line, u32 len, bool complete)
{
	struct sink *s = opaque;

	s->complete[s->count] = complete;
	assert_true(s->count < 8);
	/* The line arrives NUL-terminated as well as with its length. */
	assert_int_equal(strlen(line), len);
	snprintf(s->lines[s->count], sizeof(s->lines[0]), "%s%s", s->prefix,
		 line);
	s->lengths[s->count] = len;
	s->count++;
}

static void write_string(struct vuart *u, const char *str)
{
	for (; *str; str++)
		vuart_write(u, REG_DATA, (u8)*str);
}

static void test_lines_go_to_the_sink_with_its_prefix(void **state)
{
	struct sink s = {.prefix = "[g1] "};
	struct vuart u;

	(void)state;
	vuart_init(&u, collect_line, &s);
	write_string(&u, "hello");
	assert_int_equal(s.count, 0); /* nothing before the newline */
	write_string(&u, "\nsecond line\n\n");
	assert_int_equal(s.count, 3);
	assert_string_equal(s.lines[0], "[g1] hello");
	assert_int_equal(s.lengths[0], 5);
	assert_string_equal(s.lines[1], "[g1] second line");
	assert_string_equal(s.lines[2], "[g1] "); /* an empty line is a line */
	assert_int_equal(s.lengths[2], 0);
}

static u32 wrote_calls;
static u32 wrote_line_len;

static void count_wrote(void *opaque)
{
	wrote_calls++;
	wrote_line_len =
	    ((struct vuart *)((struct sink *)opaque)->uart)->line_len;
}

/* The owner hears of every write of output, after the bytes are in the
 * line, through THR and vuart_output alike; not of other registers. */
static void test_output_hook(void **state)
{
	struct sink s = {.prefix = ""};
	struct vuart u;

	(void)state;
	s.uart = &u;
	wrote_calls = 0;
	vuart_init(&u, collect_line, &s);
	vuart_on_output(&u, count_wrote);
	write_string(&u, "ab");
	assert_int_equal(wrote_calls, 2);
	assert_int_equal(wrote_line_len, 2);
	vuart_write(&u, REG_IER, 1);
	vuart_write(&u, REG_SCR, 0x55);
	assert_int_equal(wrote_calls, 2);
	vuart_output(&u, "cd\n", 3);
	assert_int_equal(wrote_calls, 3);
	assert_int_equal(wrote_line_len, 0);
	assert_string_equal(s.lines[0], "abcd");
}

static void test_two_uarts_keep_their_own_lines(void **state)
{
	struct sink a = {.prefix = "[a] "}, b = {.prefix = "[b] "};
	struct vuart ua, ub;

	(void)state;
	vuart_init(&ua, collect_line, &a);
	vuart_init(&ub, collect_line, &b);
	write_string(&ua, "one ");
	write_string(&ub, "two ");
	write_string(&ua, "three\n");
	write_string(&ub, "four\n");
	assert_int_equal(a.count, 1);
	assert_int_equal(b.count, 1);
	assert_string_equal(a.lines[0], "[a] one three");
	assert_string_equal(b.lines[0], "[b] two four");
}

/*
 * Carriage returns before a line feed are part of the line end; a bare one
 * stays in the line (once, however many), for the console to show: it
 * must not reach the terminal as a carriage return (issue 10, bug 3).
 */
static void test_carriage_returns(void **state)
{
	struct sink s = {.prefix = ""};
	struct vuart u;

	(void)state;
	vuart_init(&u, collect_line, &s);
	write_string(&u, "a\r\nb\rc\r\r\n\r\n");
	assert_int_equal(s.count, 3);
	assert_string_equal(s.lines[0], "a");
	assert_string_equal(s.lines[1], "b\rc");
	assert_string_equal(s.lines[2], "");
	write_string(&u, "\r\r\rveneer: x\n");
	assert_int_equal(s.count, 4);
	assert_string_equal(s.lines[3], "\rveneer: x");
	/* A carriage return waiting at a flush: decided by what follows. */
	write_string(&u, "prompt\r");
	vuart_flush(&u);
	assert_string_equal(s.lines[4], "prompt");
	write_string(&u, "\n");
	assert_int_equal(s.count, 6);
	assert_string_equal(s.lines[5], "");
	assert_true(s.complete[5]);
	write_string(&u, "50%\r");
	vuart_flush(&u);
	write_string(&u, "99%\n");
	assert_string_equal(s.lines[6], "50%");
	assert_string_equal(s.lines[7], "\r99%");
}

static void test_long_lines_are_split(void **state)
{
	struct sink s = {.prefix = ""};
	struct vuart u;
	char expected[VUART_LINE_MAX];

	(void)state;
	vuart_init(&u, collect_line, &s);
	/* VUART_LINE_MAX - 1 characters make a full line on their own. */
	for (int i = 0; i < VUART_LINE_MAX - 1; i++)
		vuart_write(&u, REG_DATA, (u8)('a' + i % 26));
	assert_int_equal(s.count, 1);
	assert_int_equal(s.lengths[0], VUART_LINE_MAX - 1);
	for (int i = 0; i < VUART_LINE_MAX - 1; i++)
		expected[i] = (char)('a' + i % 26);
	expected[VUART_LINE_MAX - 1] = '\0';
	assert_string_equal(s.lines[0], expected);
	/* The rest starts a new line, ended by its own newline. */
	write_string(&u, "tail\n");
	assert_int_equal(s.count, 2);
	assert_string_equal(s.lines[1], "tail");
	/* One character less than a full line waits for its newline. */
	for (int i = 0; i < VUART_LINE_MAX - 2; i++)
		vuart_write(&u, REG_DATA, 'x');
	assert_int_equal(s.count, 2);
	vuart_write(&u, REG_DATA, '\n');
	assert_int_equal(s.count, 3);
	assert_int_equal(s.lengths[2], VUART_LINE_MAX - 2);
}

static void test_flush_and_direct_output(void **state)
{
	struct sink s = {.prefix = ""};
	struct vuart u;

	(void)state;
	vuart_init(&u, collect_line, &s);
	vuart_flush(&u); /* nothing pending: no empty line */
	assert_int_equal(s.count, 0);
	write_string(&u, "partial");
	vuart_flush(&u);
	assert_int_equal(s.count, 1);
	assert_string_equal(s.lines[0], "partial");
	assert_false(s.complete[0]); /* the rest of the line may follow */
	vuart_flush(&u);
	assert_int_equal(s.count, 1);
	/* vuart_output (the console hypercall) shares the line buffer. */
	write_string(&u, "ab");
	vuart_output(&u, "cd\r\nef\n", 7);
	assert_int_equal(s.count, 3);
	assert_true(s.complete[1] && s.complete[2]);
	assert_string_equal(s.lines[1], "abcd");
	assert_string_equal(s.lines[2], "ef");
	/* Only len bytes count, NULs included. */
	vuart_output(&u, "xy\nzz", 2);
	vuart_output(&u, "\n", 1);
	assert_int_equal(s.count, 4);
	assert_string_equal(s.lines[3], "xy");
}

static void test_no_sink_is_harmless(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	write_string(&u, "dropped\n");
	for (int i = 0; i < 3 * VUART_LINE_MAX; i++)
		vuart_write(&u, REG_DATA, 'x');
	vuart_flush(&u);
	assert_int_equal(vuart_read(&u, REG_LSR) & LSR_THRE, LSR_THRE);
}

static void test_divisor_latch(void **state)
{
	struct sink s = {.prefix = ""};
	struct vuart u;

	(void)state;
	vuart_init(&u, collect_line, &s);
	/* Reset value: divisor 1 (115200 baud). */
	vuart_write(&u, REG_LCR, LCR_DLAB | 0x03);
	assert_int_equal(vuart_read(&u, REG_DATA), 1);
	assert_int_equal(vuart_read(&u, REG_IER), 0);
	/* 9600 baud = divisor 12; 50 baud = 2304 = 0x0900. */
	vuart_write(&u, REG_DATA, 0x0c);
	vuart_write(&u, REG_IER, 0x09);
	assert_int_equal(vuart_read(&u, REG_DATA), 0x0c);
	assert_int_equal(vuart_read(&u, REG_IER), 0x09);
	assert_int_equal(vuart_read(&u, REG_LCR), LCR_DLAB | 0x03);
	/* A divisor write is not output, even a newline's value. */
	vuart_write(&u, REG_DATA, '\n');
	assert_int_equal(s.count, 0);
	assert_int_equal(vuart_read(&u, REG_DATA), '\n');
	vuart_write(&u, REG_DATA, 0x0c);
	vuart_write(&u, REG_LCR, 0x03);
	assert_int_equal(vuart_read(&u, REG_LCR), 0x03);
	assert_int_equal(vuart_read(&u, REG_IER), 0);
	/* DLAB clear: offset 0 is the data register again. */
	write_string(&u, "8N1\n");
	assert_int_equal(s.count, 1);
	assert_string_equal(s.lines[0], "8N1");
	/* ... and the latch kept its value. */
	vuart_write(&u, REG_LCR, LCR_DLAB);
	assert_int_equal(vuart_read(&u, REG_DATA), 0x0c);
	assert_int_equal(vuart_read(&u, REG_IER), 0x09);
}

static void test_scratch_register(void **state)
{
	static const u8 values[] = {0x00, 0xff, 0x5a, 0xa5, 0x3c};
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	for (size_t i = 0; i < sizeof(values); i++) {
		vuart_write(&u, REG_SCR, values[i]);
		assert_int_equal(vuart_read(&u, REG_SCR), values[i]);
	}
	/* DLAB does not hide it. */
	vuart_write(&u, REG_LCR, LCR_DLAB);
	vuart_write(&u, REG_SCR, 0x77);
	assert_int_equal(vuart_read(&u, REG_SCR), 0x77);
}

static void test_line_status(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	/* Output is taken at once: THR and transmitter always empty. */
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	vuart_write(&u, REG_DATA, 'x');
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	assert_true(vuart_receive(&u, 'r'));
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	assert_int_equal(vuart_read(&u, REG_DATA), 'r');
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	/* LSR and MSR are read-only. */
	vuart_write(&u, REG_LSR, 0x00);
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	vuart_write(&u, REG_MSR, 0x00);
	assert_int_equal(vuart_read(&u, REG_MSR), 0xb0);
}

static void test_registers_read_back(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	vuart_write(&u, REG_LCR, 0x1b);
	assert_int_equal(vuart_read(&u, REG_LCR), 0x1b);
	/* MCR has 5 bits; IER 4. */
	vuart_write(&u, REG_MCR, 0xff);
	assert_int_equal(vuart_read(&u, REG_MCR), 0x1f);
	vuart_write(&u, REG_MCR, 0x0b);
	assert_int_equal(vuart_read(&u, REG_MCR), 0x0b);
	vuart_write(&u, REG_IER, 0xf0);
	assert_int_equal(vuart_read(&u, REG_IER), 0x00);
	vuart_write(&u, REG_IER, 0xf5);
	assert_int_equal(vuart_read(&u, REG_IER), 0x05);
	/* Nothing attached: a ready terminal (CTS, DSR, DCD). */
	vuart_write(&u, REG_MCR, 0);
	assert_int_equal(vuart_read(&u, REG_MSR), 0xb0);
	/* Offsets past the 8 registers decode to nothing. */
	assert_int_equal(vuart_read(&u, 8), 0xff);
	vuart_write(&u, 8, 0x12);
}

static void test_thre_interrupt(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	/* Interrupts off: IIR says none, whatever happens. */
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_NONE);
	vuart_write(&u, REG_DATA, 'x');
	assert_false(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_NONE);

	/* Enabling THRE with an empty THR raises it at once. */
	vuart_write(&u, REG_IER, 0x02);
	assert_true(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	/* Reading IIR acknowledged it. */
	assert_false(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_NONE);
	/* Rewriting the same IER does not raise it again. */
	vuart_write(&u, REG_IER, 0x02);
	assert_false(vuart_irq_pending(&u));
	/* Each byte sent empties the THR again: a new THRE interrupt. */
	vuart_write(&u, REG_DATA, 'y');
	assert_true(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	assert_false(vuart_irq_pending(&u));
	/* Disabling THRE hides a pending one. */
	vuart_write(&u, REG_DATA, 'z');
	vuart_write(&u, REG_IER, 0x00);
	assert_false(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_NONE);
	/* Off and on again: raised again. */
	vuart_write(&u, REG_IER, 0x02);
	assert_true(vuart_irq_pending(&u));
	/* IIR reports the FIFOs as enabled once FCR bit 0 is set. */
	vuart_write(&u, REG_IIR, 0x01);
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_FIFO_ON | IIR_THRE);
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_FIFO_ON | IIR_NONE);
	vuart_write(&u, REG_IIR, 0x00);
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_NONE);
}

static void test_receive_fifo(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	/* Empty: no data, the data register reads 0. */
	assert_int_equal(vuart_read(&u, REG_DATA), 0);
	for (int i = 0; i < VUART_RX_SIZE; i++)
		assert_true(vuart_receive(&u, (u8)i));
	/* Full: the next byte is refused and the queue is unchanged. */
	assert_false(vuart_receive(&u, 0xee));
	for (int i = 0; i < VUART_RX_SIZE / 2; i++)
		assert_int_equal(vuart_read(&u, REG_DATA), i);
	/* Wrap around the ring: oldest first throughout. */
	for (int i = 0; i < VUART_RX_SIZE / 2; i++)
		assert_true(vuart_receive(&u, (u8)(0x80 + i)));
	assert_false(vuart_receive(&u, 0xee));
	for (int i = VUART_RX_SIZE / 2; i < VUART_RX_SIZE; i++)
		assert_int_equal(vuart_read(&u, REG_DATA), i);
	for (int i = 0; i < VUART_RX_SIZE / 2; i++)
		assert_int_equal(vuart_read(&u, REG_DATA), 0x80 + i);
	assert_int_equal(vuart_read(&u, REG_LSR) & LSR_DR, 0);
	assert_int_equal(vuart_read(&u, REG_DATA), 0);
	/* FCR bit 1 clears the receive FIFO. */
	assert_true(vuart_receive(&u, 'a'));
	assert_true(vuart_receive(&u, 'b'));
	vuart_write(&u, REG_IIR, 0x01 | 0x02);
	assert_int_equal(vuart_read(&u, REG_LSR) & LSR_DR, 0);
	assert_true(vuart_receive(&u, 'c'));
	assert_int_equal(vuart_read(&u, REG_DATA), 'c');
}

static void test_receive_interrupt(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, NULL, NULL);
	assert_true(vuart_receive(&u, 'a'));
	assert_false(vuart_irq_pending(&u)); /* IER is 0 */
	vuart_write(&u, REG_IER, 0x01);
	assert_true(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_RDA);
	/* RDA is not acknowledged by IIR, only by draining the data. */
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_RDA);
	assert_int_equal(vuart_read(&u, REG_DATA), 'a');
	assert_false(vuart_irq_pending(&u));
	/* Both pending: received data first (higher priority), then THRE. */
	vuart_write(&u, REG_IER, 0x03);
	assert_true(vuart_receive(&u, 'b'));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_RDA);
	assert_int_equal(vuart_read(&u, REG_DATA), 'b');
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_NONE);
}

static void test_loopback(void **state)
{
	struct sink s = {.prefix = ""};
	struct vuart u;

	(void)state;
	vuart_init(&u, collect_line, &s);
	vuart_write(&u, REG_MCR, MCR_LOOP);
	/* Sent bytes come back as received ones, not as console output. */
	write_string(&u, "ok\n");
	assert_int_equal(s.count, 0);
	assert_int_equal(vuart_read(&u, REG_LSR) & LSR_DR, LSR_DR);
	assert_int_equal(vuart_read(&u, REG_DATA), 'o');
	assert_int_equal(vuart_read(&u, REG_DATA), 'k');
	assert_int_equal(vuart_read(&u, REG_DATA), '\n');
	assert_int_equal(vuart_read(&u, REG_LSR) & LSR_DR, 0);
	/*
	 * Modem outputs appear as inputs: DTR -> DSR (bit 5), RTS -> CTS
	 * (bit 4), OUT1 -> RI (bit 6), OUT2 -> DCD (bit 7).
	 */
	assert_int_equal(vuart_read(&u, REG_MSR), 0x00);
	vuart_write(&u, REG_MCR, MCR_LOOP | 0x01);
	assert_int_equal(vuart_read(&u, REG_MSR), 0x20);
	vuart_write(&u, REG_MCR, MCR_LOOP | 0x02);
	assert_int_equal(vuart_read(&u, REG_MSR), 0x10);
	vuart_write(&u, REG_MCR, MCR_LOOP | 0x04);
	assert_int_equal(vuart_read(&u, REG_MSR), 0x40);
	vuart_write(&u, REG_MCR, MCR_LOOP | 0x08);
	assert_int_equal(vuart_read(&u, REG_MSR), 0x80);
	vuart_write(&u, REG_MCR, MCR_LOOP | 0x0f);
	assert_int_equal(vuart_read(&u, REG_MSR), 0xf0);
	/* The transmitter still empties in loopback: THRE interrupt. */
	vuart_write(&u, REG_IER, 0x02);
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	vuart_write(&u, REG_DATA, 'x');
	assert_true(vuart_irq_pending(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	assert_int_equal(vuart_read(&u, REG_DATA), 'x');
	/* Loopback off: output reaches the console again. */
	vuart_write(&u, REG_MCR, 0x03);
	assert_int_equal(vuart_read(&u, REG_MSR), 0xb0);
	write_string(&u, "out\n");
	assert_int_equal(s.count, 1);
	assert_string_equal(s.lines[0], "out");
}

/* ---- a transmitter of the guest's own (vuart_set_tx) ---- */

/* A port with `room` bytes left, recording what it was sent. */
struct port {
	struct sink lines; /* must stay empty: no lines are made */
	char sent[64];
	u32 count;
	u32 room;
	bool idle;
};

static void port_send(void *opaque, u8 byte)
{
	struct port *p = opaque;

	assert_true(p->count < sizeof(p->sent) - 1);
	p->sent[p->count++] = (char)byte;
	if (p->room)
		p->room--;
	p->idle = false;
}

static bool port_ready(void *opaque)
{
	return ((struct port *)opaque)->room >= VUART_TX_FIFO;
}

static bool port_idle(void *opaque)
{
	return ((struct port *)opaque)->idle;
}

static const struct vuart_tx port_tx = {
    .send = port_send,
    .ready = port_ready,
    .idle = port_idle,
};

static void port_uart(struct vuart *u, struct port *p, u32 room)
{
	memset(p, 0, sizeof(*p));
	p->lines.prefix = "";
	p->room = room;
	p->idle = true;
	vuart_init(u, collect_line, p);
	vuart_set_tx(u, &port_tx);
}

/* Every byte goes out as written: no lines, CR and control bytes kept. */
static void test_tx_bytes_go_out_as_written(void **state)
{
	struct vuart u;
	struct port p;

	(void)state;
	port_uart(&u, &p, 1000);
	write_string(&u, "a\r\n\x01\x1b[2J");
	vuart_output(&u, "hc\n", 3); /* HC_CONSOLE_WRITE: the same way */
	vuart_flush(&u);
	assert_int_equal(p.count, 11);
	assert_memory_equal(p.sent, "a\r\n\x01\x1b[2Jhc\n", 11);
	assert_int_equal(p.lines.count, 0);
}

/* LSR shows the transmitter's room (THRE) and whether it drained (TEMT). */
static void test_tx_line_status_follows_the_port(void **state)
{
	struct vuart u;
	struct port p;

	(void)state;
	port_uart(&u, &p, VUART_TX_FIFO);
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	vuart_write(&u, REG_DATA, 'x');
	/* Room for less than a FIFO, and a byte on its way. */
	assert_int_equal(vuart_read(&u, REG_LSR), 0);
	p.room = VUART_TX_FIFO;
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE);
	p.idle = true;
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	/* Loopback never reaches the port. */
	vuart_write(&u, REG_MCR, MCR_LOOP);
	vuart_write(&u, REG_DATA, 'y');
	assert_int_equal(p.count, 1);
	assert_int_equal(vuart_read(&u, REG_DATA), 'y');
}

/*
 * The THRE interrupt of a driver that writes on it (Linux's 8250): raised
 * after a write only while the port has room, else once vuart_tx_room()
 * finds room again, and then only once.
 */
static void test_tx_thre_interrupt_waits_for_room(void **state)
{
	struct vuart u;
	struct port p;

	(void)state;
	port_uart(&u, &p, VUART_TX_FIFO + 1);
	vuart_write(&u, REG_IER, 0x02);
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	assert_false(vuart_tx_room(&u)); /* nobody waits */
	vuart_write(&u, REG_DATA, 'a');	 /* room left: 16 */
	assert_true(vuart_irq_pending(&u));
	assert_false(vuart_tx_irq_waiting(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	vuart_write(&u, REG_DATA, 'b'); /* room left: 15, less than a FIFO */
	assert_false(vuart_irq_pending(&u));
	assert_true(vuart_tx_irq_waiting(&u));
	assert_false(vuart_tx_room(&u)); /* still no room */
	assert_false(vuart_irq_pending(&u));
	p.room = 100;
	assert_true(vuart_tx_room(&u)); /* the line goes up */
	assert_true(vuart_irq_pending(&u));
	assert_false(vuart_tx_irq_waiting(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	assert_false(vuart_irq_pending(&u));
	assert_false(vuart_tx_room(&u)); /* once */
	assert_false(vuart_irq_pending(&u));
}

/* Enabling THRE while the port has no room raises it only with room. */
static void test_tx_enable_thre_without_room(void **state)
{
	struct vuart u;
	struct port p;

	(void)state;
	port_uart(&u, &p, 0);
	vuart_write(&u, REG_IER, 0x02);
	assert_false(vuart_irq_pending(&u));
	assert_true(vuart_tx_irq_waiting(&u));
	p.room = VUART_TX_FIFO;
	assert_true(vuart_tx_room(&u));
	assert_int_equal(vuart_read(&u, REG_IIR), IIR_THRE);
	/* Without the interrupt enabled nobody waits for it. */
	vuart_write(&u, REG_IER, 0);
	p.room = 0;
	vuart_write(&u, REG_DATA, 'z');
	assert_false(vuart_tx_irq_waiting(&u));
	assert_int_equal(p.count, 1);
}

/* Lines are the default: a UART without a transmitter is unchanged. */
static void test_tx_without_transmitter_lsr_is_always_empty(void **state)
{
	struct vuart u;
	struct sink s = {.prefix = ""};

	(void)state;
	vuart_init(&u, collect_line, &s);
	vuart_write(&u, REG_IER, 0x02);
	for (int i = 0; i < 100; i++)
		vuart_write(&u, REG_DATA, 'q');
	assert_int_equal(vuart_read(&u, REG_LSR), LSR_THRE | LSR_TEMT);
	assert_false(vuart_tx_irq_waiting(&u));
	assert_false(vuart_tx_room(&u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_go_to_the_sink_with_its_prefix),
	    cmocka_unit_test(test_output_hook),
	    cmocka_unit_test(test_two_uarts_keep_their_own_lines),
	    cmocka_unit_test(test_carriage_returns),
	    cmocka_unit_test(test_long_lines_are_split),
	    cmocka_unit_test(test_flush_and_direct_output),
	    cmocka_unit_test(test_no_sink_is_harmless),
	    cmocka_unit_test(test_divisor_latch),
	    cmocka_unit_test(test_scratch_register),
	    cmocka_unit_test(test_line_status),
	    cmocka_unit_test(test_registers_read_back),
	    cmocka_unit_test(test_thre_interrupt),
	    cmocka_unit_test(test_receive_fifo),
	    cmocka_unit_test(test_receive_interrupt),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_tx_bytes_go_out_as_written),
	    cmocka_unit_test(test_tx_line_status_follows_the_port),
	    cmocka_unit_test(test_tx_thre_interrupt_waits_for_room),
	    cmocka_unit_test(test_tx_enable_thre_without_room),
	    cmocka_unit_test(test_tx_without_transmitter_lsr_is_always_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
