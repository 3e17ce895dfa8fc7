/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vpit.c, the guest's 8254 and port 0x61. Every
 * expected count is computed here independently, with 128-bit arithmetic,
 * from "clocks = floor(ns * 1193182 / 1e9)" and the 82C54 rule that the
 * first clock after a count is written only loads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vdev/vpit.h"

#define CH0    0x40
#define CH2    0x42
#define CTRL   0x43
#define PORT_B 0x61
#define HZ     1193182ull
#define NS     1000000000ull
#define T0     5000000ull /* guest time of the first access in each test */

/* Control words: SC(7:6) RW(5:4) MODE(3:1) BCD(0). */
#define CH0_LOHI_MODE0 0x30
#define CH0_LOHI_MODE2 0x34
#define CH0_LOHI_MODE4 0x38
#define CH2_LOHI_MODE0 0xb0
#define CH2_LOHI_MODE2 0xb4
#define CH2_LOHI_MODE3 0xb6
#define CH2_LATCH      0x80

struct irq_log {
	int count;
	u8 irq[64];
	bool level[64];
};

static void record_irq(void *opaque, u8 irq, bool level)
{
	struct irq_log *log = opaque;

	assert_true(log->count < 64);
	log->irq[log->count] = irq;
	log->level[log->count] = level;
	log->count++;
}

static u64 ticks_at(u64 ns)
{
	return (u64)((unsigned __int128)ns * HZ / NS);
}

/* First time at which `ticks` clocks have passed. */
static u64 ns_for_ticks(u64 ticks)
{
	return (u64)(((unsigned __int128)ticks * NS + HZ - 1) / HZ);
}

static void program(struct vpit *pit, u8 control, u16 port, u16 count, u64 now)
{
	vpit_write(pit, CTRL, control, now);
	vpit_write(pit, port, (u8)count, now);
	vpit_write(pit, port, (u8)(count >> 8), now);
}

static u16 read_lohi(struct vpit *pit, u16 port, u64 now)
{
	u8 lo = vpit_read(pit, port, now);

	return (u16)(lo | vpit_read(pit, port, now) << 8);
}

static void test_conversions_survive_long_uptimes(void **state)
{
	struct vpit pit;
	u64 later = T0 + 36000 * NS + 123456789; /* ten hours on */
	u64 k = ticks_at(later - T0);

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	program(&pit, CH2_LOHI_MODE0, CH2, 0, T0); /* 0 = 65536 */
	assert_int_equal(vpit_counter_value(&pit, 2, later),
			 (u16)(65536 - (k - 1) % 65536));
	/* Mode 2 at the same distance. */
	program(&pit, CH2_LOHI_MODE2, CH2, 1000, T0);
	assert_int_equal(vpit_counter_value(&pit, 2, later),
			 1000 - (k - 1) % 1000);
}

/*
 * Linux's TSC calibration: gate channel 2 through port 0x61, mode 0, and
 * read the counter or poll OUT (port 0x61 bit 5).
 */
static void test_channel2_mode0_as_tsc_calibration_uses_it(void **state)
{
	struct vpit pit;
	u16 n = (u16)(HZ / 20); /* 50 ms */
	u64 out_high = T0 + ns_for_ticks(n + 1u);

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, (vpit_read(&pit, PORT_B, T0) & ~0x02) | 0x01,
		   T0);
	program(&pit, CH2_LOHI_MODE0, CH2, n, T0);
	/* Not loaded until the first clock. */
	assert_int_equal(read_lohi(&pit, CH2, T0), n);
	assert_int_equal(read_lohi(&pit, CH2, T0 + ns_for_ticks(1)), n);
	assert_int_equal(read_lohi(&pit, CH2, T0 + ns_for_ticks(2)), n - 1);
	/* 1 ms in: 1193 clocks, 1192 decrements. */
	assert_int_equal(read_lohi(&pit, CH2, T0 + 1000000), n - 1192);
	assert_int_equal(vpit_read(&pit, PORT_B, out_high - 1) & 0x20, 0);
	assert_int_equal(vpit_read(&pit, PORT_B, out_high) & 0x20, 0x20);
	assert_int_equal(read_lohi(&pit, CH2, out_high), 0);
	/* Past zero the count wraps and OUT stays high. */
	assert_int_equal(read_lohi(&pit, CH2, T0 + ns_for_ticks(n + 3u)),
			 0xfffe);
	assert_int_equal(vpit_read(&pit, PORT_B, out_high + NS) & 0x20, 0x20);
}

/* Linux's quick calibration reads the MSB only, as it changes. */
static void test_msb_follows_time(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	program(&pit, CH2_LOHI_MODE0, CH2, 0xffff, T0);
	for (u64 msb_steps = 1; msb_steps < 200; msb_steps += 37) {
		/* The MSB becomes 0xff - msb_steps after 256*steps + 1
		 * decrements... i.e. at clock 256 * steps + 1. */
		u64 at = T0 + ns_for_ticks(256 * msb_steps + 1);

		assert_int_equal(read_lohi(&pit, CH2, at - 1) >> 8,
				 0xff - msb_steps + 1);
		assert_int_equal(read_lohi(&pit, CH2, at) >> 8,
				 0xff - msb_steps);
	}
}

static void test_gate_low_holds_mode0_count(void **state)
{
	struct vpit pit;
	u64 t1 = T0 + 1000000, t2 = t1 + 7000000;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	program(&pit, CH2_LOHI_MODE0, CH2, 50000, T0); /* gate still low */
	assert_int_equal(read_lohi(&pit, CH2, t1), 50000);
	vpit_write(&pit, PORT_B, 0x01, t1);
	assert_int_equal(vpit_read(&pit, PORT_B, t1) & 0x01, 0x01);
	vpit_write(&pit, PORT_B, 0x00, t1 + 1000000); /* 1 ms of counting */
	assert_int_equal(read_lohi(&pit, CH2, t2), 50000 - 1192);
	vpit_write(&pit, PORT_B, 0x01, t2); /* resumes, no reload */
	assert_int_equal(read_lohi(&pit, CH2, t2 + 1000000),
			 50000 - 1192 - 1193);
}

static void test_first_byte_of_a_mode0_count_stops_it(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	program(&pit, CH2_LOHI_MODE0, CH2, 10, T0);
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + NS) & 0x20, 0x20);
	vpit_write(&pit, CH2, 0x20, T0 + NS);
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + NS) & 0x20, 0);
	vpit_write(&pit, CH2, 0x00, T0 + NS);
	/* The complete count 0x0020 starts over from the second byte. */
	assert_int_equal(vpit_counter_value(&pit, 2, T0 + NS), 0x20);
	assert_int_equal(
	    vpit_read(&pit, PORT_B, T0 + NS + ns_for_ticks(0x20)) & 0x20, 0);
	assert_int_equal(
	    vpit_read(&pit, PORT_B, T0 + NS + ns_for_ticks(0x21)) & 0x20, 0x20);
}

static void test_mode2_channel0_pulses_irq0_each_period(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;
	u16 n = 1193; /* about 1 ms */
	u64 first;

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	assert_int_equal(vpit_next_deadline_ns(&pit), 0);
	program(&pit, CH0_LOHI_MODE2, CH0, n, T0);
	first = T0 + ns_for_ticks(n + 1u);
	assert_int_equal(vpit_next_deadline_ns(&pit), first);
	vpit_tick(&pit, first - 1);
	assert_int_equal(log.count, 0);
	vpit_tick(&pit, first);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.irq[0], 0);
	assert_true(log.level[0]);
	assert_false(log.level[1]);
	vpit_tick(&pit, first); /* nothing new */
	assert_int_equal(log.count, 2);
	assert_int_equal(vpit_next_deadline_ns(&pit),
			 T0 + ns_for_ticks(2u * n + 1));
	/* Five periods late: one pulse, and the deadline is in the future. */
	vpit_tick(&pit, T0 + ns_for_ticks(6u * n + 1) + 10);
	assert_int_equal(log.count, 4);
	assert_int_equal(vpit_next_deadline_ns(&pit),
			 T0 + ns_for_ticks(7u * n + 1));
	/* The count repeats: n at the reload, 1 just before the next. */
	assert_int_equal(vpit_counter_value(&pit, 0, T0 + ns_for_ticks(n + 1u)),
			 n);
	assert_int_equal(vpit_counter_value(&pit, 0, T0 + ns_for_ticks(n)), 1);
}

/*
 * Channel 0 at count 15 (12.6 us): the counter keeps that rate, IRQ 0
 * pulses at most once per VPIT_MIN_IRQ_PERIOD_NS (500 us), at the first
 * edge that long after the last pulse (docs/devices-legacy.md).
 */
static void test_short_period_pulses_at_most_every_500us(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;
	u64 first = T0 + ns_for_ticks(16), second;
	u64 edge = 2;

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	program(&pit, CH0_LOHI_MODE2, CH0, 15, T0);
	assert_int_equal(vpit_next_deadline_ns(&pit), first);
	vpit_tick(&pit, first);
	assert_int_equal(log.count, 2);
	while (T0 + ns_for_ticks(edge * 15 + 1) < first + 500000)
		edge++;
	second = T0 + ns_for_ticks(edge * 15 + 1);
	assert_int_equal(vpit_next_deadline_ns(&pit), second);
	/* The edges in between raise nothing, however often it ticks. */
	for (u64 t = first + 1000; t < second; t += 1000)
		vpit_tick(&pit, t);
	vpit_tick(&pit, second - 1);
	assert_int_equal(log.count, 2);
	vpit_tick(&pit, second);
	assert_int_equal(log.count, 4);
	assert_true(vpit_next_deadline_ns(&pit) >= second + 500000);
	/* The count itself runs at the programmed rate: 15 - 5 after 5. */
	assert_int_equal(vpit_counter_value(&pit, 0, T0 + ns_for_ticks(21)),
			 10);
}

/*
 * vpit_irq_taken(): the guest took the pulse's NMI late (exits took guest
 * time): the next pulse waits 500 us from then. Never earlier than the
 * floor the pulse set, and nothing in a one-shot mode.
 */
static void test_irq_taken_moves_the_next_pulse(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;
	u64 first = T0 + ns_for_ticks(16), taken = first + 450000;

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	program(&pit, CH0_LOHI_MODE2, CH0, 15, T0);
	vpit_tick(&pit, first);
	assert_int_equal(log.count, 2);
	vpit_irq_taken(&pit, taken);
	assert_true(vpit_next_deadline_ns(&pit) >= taken + 500000);
	assert_true(vpit_next_deadline_ns(&pit) < taken + 500000 + 12600);
	vpit_tick(&pit, taken + 499999);
	assert_int_equal(log.count, 2);
	/* Taken "earlier" than the pulse's own floor: that floor stays. */
	vpit_irq_taken(&pit, first);
	assert_true(vpit_next_deadline_ns(&pit) >= taken + 500000);
	/* Mode 0 (one shot): nothing to move. */
	program(&pit, CH0_LOHI_MODE0, CH0, 100, T0 + 2000000);
	vpit_irq_taken(&pit, T0 + 2000001);
	assert_int_equal(vpit_next_deadline_ns(&pit),
			 T0 + 2000000 + ns_for_ticks(101));
}

/*
 * Linux at HZ=1000 (count 1193, 999.85 us) loses no pulse, even with
 * ticks up to 400 us late.
 */
static void test_hz1000_loses_no_pulse(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;
	u16 n = 1193;

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	program(&pit, CH0_LOHI_MODE2, CH0, n, T0);
	for (u64 e = 1; e <= 20; e++) {
		u64 due = T0 + ns_for_ticks(e * n + 1);

		assert_int_equal(vpit_next_deadline_ns(&pit), due);
		vpit_tick(&pit, due + (e % 2 ? 400000 : 0)); /* some late */
		assert_int_equal(log.count, (int)(2 * e));
	}
}

/*
 * Guest time near 2^64 ns: the next edge would be past 2^64 ns. The
 * deadline is "never" (~0), not a time that wrapped into the past.
 */
static void test_deadline_past_2e64_is_never(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;
	u64 deadline;

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	program(&pit, CH0_LOHI_MODE2, CH0, 2, 0);
	vpit_tick(&pit, ~0ull);
	deadline = vpit_next_deadline_ns(&pit);
	assert_true(deadline == ~0ull);
	program(&pit, CH0_LOHI_MODE0, CH0, 0, ~0ull - 1000);
	assert_int_equal(vpit_next_deadline_ns(&pit), ~0ull);
}

static void test_mode0_channel0_raises_irq0_once(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;
	u64 due = T0 + ns_for_ticks(101);

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	program(&pit, CH0_LOHI_MODE0, CH0, 100, T0);
	assert_int_equal(vpit_next_deadline_ns(&pit), due);
	vpit_tick(&pit, due);
	assert_int_equal(log.count, 1);
	assert_true(log.level[0]);
	assert_int_equal(vpit_next_deadline_ns(&pit), 0);
	vpit_tick(&pit, due + NS); /* stays high, no new report */
	assert_int_equal(log.count, 1);
	/* A new control word sets OUT low again. */
	vpit_write(&pit, CTRL, CH0_LOHI_MODE0, due + NS);
	assert_int_equal(log.count, 2);
	assert_false(log.level[1]);
}

static void test_mode4_strobe_pulses_once(void **state)
{
	struct irq_log log = {0};
	struct vpit pit;

	(void)state;
	vpit_init(&pit, record_irq, &log, NULL, NULL);
	program(&pit, CH0_LOHI_MODE4, CH0, 10, T0);
	assert_int_equal(vpit_next_deadline_ns(&pit), T0 + ns_for_ticks(12));
	vpit_tick(&pit, T0 + ns_for_ticks(12));
	assert_int_equal(log.count, 2);
	assert_int_equal(vpit_next_deadline_ns(&pit), 0);
}

static void test_mode3_square_wave_on_out2(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	program(&pit, CH2_LOHI_MODE3, CH2, 100, T0);
	/* High for clocks 1-50 of each period, low for 51-100. */
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + ns_for_ticks(50)) & 0x20,
			 0x20);
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + ns_for_ticks(51)) & 0x20,
			 0);
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + ns_for_ticks(100)) & 0x20,
			 0);
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + ns_for_ticks(101)) & 0x20,
			 0x20);
	/* The count steps by two within each half. */
	assert_int_equal(vpit_counter_value(&pit, 2, T0 + ns_for_ticks(1)),
			 100);
	assert_int_equal(vpit_counter_value(&pit, 2, T0 + ns_for_ticks(2)), 98);
	/* Gate low forces OUT high; gate high restarts the period. */
	vpit_write(&pit, PORT_B, 0x00, T0 + ns_for_ticks(60));
	assert_int_equal(vpit_read(&pit, PORT_B, T0 + ns_for_ticks(60)) & 0x20,
			 0x20);
	vpit_write(&pit, PORT_B, 0x01, T0 + NS);
	assert_int_equal(vpit_counter_value(&pit, 2, T0 + NS + ns_for_ticks(1)),
			 100);
}

static void test_latch_freezes_the_value_until_read(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	program(&pit, CH2_LOHI_MODE0, CH2, 40000, T0);
	vpit_write(&pit, CTRL, CH2_LATCH, T0 + 1000000);
	/* A second latch before reading changes nothing. */
	vpit_write(&pit, CTRL, CH2_LATCH, T0 + 2000000);
	assert_int_equal(read_lohi(&pit, CH2, T0 + 3000000), 40000 - 1192);
	/* Unlatched again: the live value. */
	assert_int_equal(read_lohi(&pit, CH2, T0 + 3000000),
			 40000 - (ticks_at(3000000) - 1));
}

static void test_read_back_status_then_count(void **state)
{
	struct vpit pit;
	u8 status;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	vpit_write(&pit, CTRL, CH2_LOHI_MODE0, T0);
	/* Read-back of channel 2's status: null count, OUT low, mode 0. */
	vpit_write(&pit, CTRL, 0xe8, T0);
	status = vpit_read(&pit, CH2, T0);
	assert_int_equal(status, 0x40 | 0x30);
	vpit_write(&pit, CH2, 0x10, T0);
	vpit_write(&pit, CH2, 0x00, T0);
	/* Status and count together; the status is read first. */
	vpit_write(&pit, CTRL, 0xc8, T0 + ns_for_ticks(5));
	assert_int_equal(vpit_read(&pit, CH2, T0 + NS), 0x30);
	assert_int_equal(read_lohi(&pit, CH2, T0 + NS), 0x10 - 4);
	/* After terminal count the status shows OUT high. */
	vpit_write(&pit, CTRL, 0xe8, T0 + NS);
	assert_int_equal(vpit_read(&pit, CH2, T0 + NS), 0x80 | 0x30);
}

static void test_lsb_only_msb_only_and_bcd(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0x01, T0);
	vpit_write(&pit, CTRL, 0x90, T0); /* ch2, LSB only, mode 0 */
	vpit_write(&pit, CH2, 0x80, T0);
	assert_int_equal(vpit_read(&pit, CH2, T0 + ns_for_ticks(11)),
			 0x80 - 10);
	vpit_write(&pit, CTRL, 0xa0, T0); /* ch2, MSB only, mode 0 */
	vpit_write(&pit, CH2, 0x02, T0);
	assert_int_equal(vpit_counter_value(&pit, 2, T0), 0x200);
	assert_int_equal(vpit_read(&pit, CH2, T0 + ns_for_ticks(2)), 0x01);
	/* BCD: 1000 decimal written as 0x1000; 10 clocks on it reads 0991. */
	vpit_write(&pit, CTRL, 0xb1, T0);
	vpit_write(&pit, CH2, 0x00, T0);
	vpit_write(&pit, CH2, 0x10, T0);
	assert_int_equal(read_lohi(&pit, CH2, T0 + ns_for_ticks(10)), 0x0991);
}

static void test_port_b_bits(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, NULL, NULL);
	vpit_write(&pit, PORT_B, 0xff, 0);
	assert_int_equal(vpit_read(&pit, PORT_B, 0) & 0xcf, 0x0f);
	/* Bit 4 toggles with the refresh period. */
	assert_int_equal(vpit_read(&pit, PORT_B, 0) & 0x10, 0);
	assert_int_equal(vpit_read(&pit, PORT_B, VPIT_REFRESH_NS) & 0x10, 0x10);
	assert_int_equal(vpit_read(&pit, PORT_B, 2 * VPIT_REFRESH_NS) & 0x10,
			 0);
	/* The control word port reads as nothing. */
	assert_int_equal(vpit_read(&pit, CTRL, 0), 0xff);
}

static u64 fake_now;

static u64 fake_clock(void *opaque)
{
	(void)opaque;
	return fake_now;
}

static void test_io_bus_adapters_take_time_from_the_clock(void **state)
{
	struct vpit pit;

	(void)state;
	vpit_init(&pit, NULL, NULL, fake_clock, NULL);
	fake_now = T0;
	vpit_io_write(&pit, PORT_B, 1, 0x01);
	vpit_io_write(&pit, CTRL, 1, CH2_LOHI_MODE0);
	vpit_io_write(&pit, CH2, 1, 0x00);
	vpit_io_write(&pit, CH2, 1, 0x80);
	fake_now = T0 + 1000000;
	assert_int_equal(vpit_io_read(&pit, CH2, 1), (0x8000 - 1192) & 0xff);
	assert_int_equal(vpit_io_read(&pit, CH2, 1), (0x8000 - 1192) >> 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conversions_survive_long_uptimes),
	    cmocka_unit_test(test_channel2_mode0_as_tsc_calibration_uses_it),
	    cmocka_unit_test(test_msb_follows_time),
	    cmocka_unit_test(test_gate_low_holds_mode0_count),
	    cmocka_unit_test(test_first_byte_of_a_mode0_count_stops_it),
	    cmocka_unit_test(test_mode2_channel0_pulses_irq0_each_period),
	    cmocka_unit_test(test_short_period_pulses_at_most_every_500us),
	    cmocka_unit_test(test_irq_taken_moves_the_next_pulse),
	    cmocka_unit_test(test_hz1000_loses_no_pulse),
	    cmocka_unit_test(test_deadline_past_2e64_is_never),
	    cmocka_unit_test(test_mode0_channel0_raises_irq0_once),
	    cmocka_unit_test(test_mode4_strobe_pulses_once),
	    cmocka_unit_test(test_mode3_square_wave_on_out2),
	    cmocka_unit_test(test_latch_freezes_the_value_until_read),
	    cmocka_unit_test(test_read_back_status_then_count),
	    cmocka_unit_test(test_lsb_only_msb_only_and_bcd),
	    cmocka_unit_test(test_port_b_bits),
	    cmocka_unit_test(test_io_bus_adapters_take_time_from_the_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
