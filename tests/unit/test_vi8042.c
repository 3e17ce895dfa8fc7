/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vi8042.c, the keyboard controller that is only
 * there for reset and probing (no keyboard, no mouse).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vdev/vi8042.h"

#define DATA   0x60
#define STATUS 0x64
#define OBF    0x01
#define SYS    0x04
#define A2     0x08
#define AUXOBF 0x20
#define TMOUT  0x40

struct observer {
	int resets;
	bool line[16];
};

static void on_reset(void *opaque)
{
	((struct observer *)opaque)->resets++;
}

static void on_irq(void *opaque, u8 irq, bool level)
{
	assert_true(irq == 1 || irq == 12);
	((struct observer *)opaque)->line[irq] = level;
}

static void setup(struct vi8042 *kbc, struct observer *obs)
{
	*obs = (struct observer){0};
	vi8042_init(kbc, on_reset, obs, on_irq, obs);
}

static void test_status_and_self_test(void **state)
{
	struct observer obs;
	struct vi8042 kbc;

	(void)state;
	setup(&kbc, &obs);
	assert_int_equal(vi8042_read(&kbc, STATUS) & (OBF | 0x02 | SYS), SYS);
	vi8042_write(&kbc, STATUS, 0xaa);
	assert_int_equal(vi8042_read(&kbc, STATUS) & (OBF | A2), OBF | A2);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x55);
	assert_int_equal(vi8042_read(&kbc, STATUS) & OBF, 0);
	vi8042_write(&kbc, STATUS, 0xab);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x00);
	assert_int_equal(obs.resets, 0);
}

static void test_reset_command(void **state)
{
	struct observer obs;
	struct vi8042 kbc;

	(void)state;
	setup(&kbc, &obs);
	assert_false(kbc.reset_requested);
	vi8042_write(&kbc, STATUS, 0xfe);
	assert_int_equal(obs.resets, 1);
	assert_true(kbc.reset_requested);
	/* 0xFF pulses nothing. */
	vi8042_write(&kbc, STATUS, 0xff);
	assert_int_equal(obs.resets, 1);
	/* Nor does a data byte 0xFE (it goes to the absent keyboard). */
	vi8042_write(&kbc, DATA, 0xfe);
	assert_int_equal(obs.resets, 1);
	assert_int_equal(vi8042_read(&kbc, STATUS) & TMOUT, TMOUT);
}

static void test_reset_through_the_output_port(void **state)
{
	struct observer obs;
	struct vi8042 kbc;

	(void)state;
	setup(&kbc, &obs);
	vi8042_write(&kbc, STATUS, 0xd0);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x03);
	vi8042_write(&kbc, STATUS, 0xd1);
	vi8042_write(&kbc, DATA, 0x01); /* A20 off, reset line high */
	assert_int_equal(obs.resets, 0);
	vi8042_write(&kbc, STATUS, 0xd0);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x01);
	vi8042_write(&kbc, STATUS, 0xd1);
	vi8042_write(&kbc, DATA, 0x02);
	assert_int_equal(obs.resets, 1);
}

static void test_command_byte_and_interrupts(void **state)
{
	struct observer obs;
	struct vi8042 kbc;

	(void)state;
	setup(&kbc, &obs);
	vi8042_write(&kbc, STATUS, 0x20);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x34);
	vi8042_write(&kbc, STATUS, 0x60);
	vi8042_write(&kbc, DATA, 0x03); /* both interrupts, SYS clear */
	assert_int_equal(vi8042_read(&kbc, STATUS) & SYS, 0);
	vi8042_write(&kbc, STATUS, 0xae);
	vi8042_write(&kbc, STATUS, 0x20);
	assert_true(obs.line[1]);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x03);
	assert_false(obs.line[1]);
	/* 0xD3 echoes a byte as if from the mouse, on IRQ 12. */
	vi8042_write(&kbc, STATUS, 0xd3);
	vi8042_write(&kbc, DATA, 0x5a);
	assert_int_equal(vi8042_read(&kbc, STATUS) & (OBF | AUXOBF),
			 OBF | AUXOBF);
	assert_true(obs.line[12]);
	assert_false(obs.line[1]);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x5a);
	assert_false(obs.line[12]);
	/* 0xD2: the same from the keyboard side. */
	vi8042_write(&kbc, STATUS, 0xd2);
	vi8042_write(&kbc, DATA, 0x1c);
	assert_true(obs.line[1]);
	assert_int_equal(vi8042_read(&kbc, DATA), 0x1c);
	/* Interrupts off: the byte waits without a line. */
	vi8042_write(&kbc, STATUS, 0x60);
	vi8042_write(&kbc, DATA, 0x00);
	vi8042_write(&kbc, STATUS, 0xaa);
	assert_false(obs.line[1]);
	assert_int_equal(vi8042_read(&kbc, STATUS) & SYS, SYS);
}

static void test_io_bus_shape(void **state)
{
	struct observer obs;
	struct vi8042 kbc;

	(void)state;
	setup(&kbc, &obs);
	vi8042_io_write(&kbc, STATUS, 1, 0xaa);
	assert_int_equal(vi8042_io_read(&kbc, DATA, 1), 0x55);
	assert_int_equal(vi8042_io_read(&kbc, STATUS, 2) >> 8, 0xffffff);
	vi8042_io_write(&kbc, STATUS, 1, 0xfe);
	assert_int_equal(obs.resets, 1);
}

/*
 * System control port A (0x92, PS/2): A20 reads back on as firmware left
 * it and keeps what is written; a 0 -> 1 change of bit 0 resets once (it
 * must be cleared before the next); the lock latch only sets; the disk
 * light bits are kept; bits 2, 4 and 5 read 0.
 */
static void test_port_a(void **state)
{
	struct observer obs;
	struct vi8042 kbc;

	(void)state;
	setup(&kbc, &obs);
	assert_int_equal(vi8042_read(&kbc, VI8042_PORT_A), VI8042_PORT_A_A20);
	vi8042_write(&kbc, VI8042_PORT_A, 0x00);
	assert_int_equal(vi8042_read(&kbc, VI8042_PORT_A), 0x00);
	vi8042_write(&kbc, VI8042_PORT_A, 0xc2);
	assert_int_equal(vi8042_read(&kbc, VI8042_PORT_A), 0xc2);
	vi8042_write(&kbc, VI8042_PORT_A, 0x3c); /* 2, 4, 5 reserved/RO */
	assert_int_equal(vi8042_read(&kbc, VI8042_PORT_A), 0x08);
	vi8042_write(&kbc, VI8042_PORT_A, 0x02); /* the latch stays */
	assert_int_equal(vi8042_read(&kbc, VI8042_PORT_A), 0x0a);
	assert_int_equal(obs.resets, 0);
	assert_false(kbc.reset_requested);
	/* Fast reset: once per 0 -> 1 change. */
	vi8042_write(&kbc, VI8042_PORT_A, 0x03);
	assert_int_equal(obs.resets, 1);
	assert_true(kbc.reset_requested);
	vi8042_write(&kbc, VI8042_PORT_A, 0x03);
	assert_int_equal(obs.resets, 1);
	vi8042_write(&kbc, VI8042_PORT_A, 0x02);
	vi8042_write(&kbc, VI8042_PORT_A, 0x01);
	assert_int_equal(obs.resets, 2);
	/* The 8042's own A20 is a separate gate. */
	assert_int_equal(vi8042_read(&kbc, VI8042_PORT_A) & VI8042_PORT_A_A20,
			 0);
	vi8042_write(&kbc, STATUS, 0xd0);
	assert_int_equal(vi8042_read(&kbc, DATA) & 0x02, 0x02);
	/* Through the I/O bus: one port, ones above it. */
	assert_int_equal(vi8042_io_read(&kbc, VI8042_PORT_A, 2) & 0xffff,
			 0xff09);
	vi8042_io_write(&kbc, VI8042_PORT_A, 2, 0xff02);
	assert_int_equal(vi8042_io_read(&kbc, VI8042_PORT_A, 1), 0x0a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_and_self_test),
	    cmocka_unit_test(test_reset_command),
	    cmocka_unit_test(test_reset_through_the_output_port),
	    cmocka_unit_test(test_command_byte_and_interrupts),
	    cmocka_unit_test(test_io_bus_shape),
	    cmocka_unit_test(test_port_a),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
