/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vrtc.c, the guest's MC146818 RTC and CMOS RAM.
 * Reference dates were computed with Python's calendar.timegm; day of the
 * week is 1-7 with Sunday = 1, as PC firmware uses the register.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vdev/vrtc.h"

#define INDEX 0x70
#define DATA  0x71
#define NS    1000000000ull

#define EPOCH_2023_11_14_221320 1700000000ull /* a Tuesday */
#define EPOCH_2000_02_29_120000 951825600ull  /* a Tuesday */
#define EPOCH_2100_02_28_235959 4107542399ull /* a Sunday */
#define EPOCH_2024_03_01_000000 1709251200ull

static u8 cmos_read(struct vrtc *rtc, u8 index, u64 now)
{
	vrtc_write(rtc, INDEX, index, now);
	return vrtc_read(rtc, DATA, now);
}

static void cmos_write(struct vrtc *rtc, u8 index, u8 value, u64 now)
{
	vrtc_write(rtc, INDEX, index, now);
	vrtc_write(rtc, DATA, value, now);
}

/* sec, min, hour, day of week, day, month, year, century as read. */
static void expect_time(struct vrtc *rtc, u64 now, const u8 want[8])
{
	static const u8 index[8] = {0, 2, 4, 6, 7, 8, 9, 0x32};

	for (int i = 0; i < 8; i++)
		assert_int_equal(cmos_read(rtc, index[i], now), want[i]);
}

static void test_power_on_registers(void **state)
{
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	assert_int_equal(cmos_read(&rtc, 0x0a, 0), 0x26);
	assert_int_equal(cmos_read(&rtc, 0x0b, 0), 0x02);
	assert_int_equal(cmos_read(&rtc, 0x0c, 0), 0x00);
	assert_int_equal(cmos_read(&rtc, 0x0d, 0), 0x80);
	/* C and D are read-only. */
	cmos_write(&rtc, 0x0d, 0x00, 0);
	cmos_write(&rtc, 0x0c, 0xff, 0);
	assert_int_equal(cmos_read(&rtc, 0x0d, 0), 0x80);
	assert_int_equal(cmos_read(&rtc, 0x0c, 0), 0x00);
}

static void test_bcd_24_hour_time_from_epoch_and_guest_time(void **state)
{
	static const u8 at_start[8] = {0x20, 0x13, 0x22, 3,
				       0x14, 0x11, 0x23, 0x20};
	static const u8 two_hours_on[8] = {0x25, 0x13, 0x00, 4,
					   0x15, 0x11, 0x23, 0x20};
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	expect_time(&rtc, 0, at_start);
	/* The seconds follow whole guest seconds. */
	assert_int_equal(cmos_read(&rtc, 0, NS - 1), 0x20);
	assert_int_equal(cmos_read(&rtc, 0, NS), 0x21);
	expect_time(&rtc, 7205 * NS + NS / 2, two_hours_on);
	assert_int_equal(vrtc_unix_time(&rtc, 10 * NS),
			 EPOCH_2023_11_14_221320 + 10);
}

static void test_binary_and_12_hour_formats(void **state)
{
	static const u8 binary[8] = {20, 13, 22, 3, 14, 11, 23, 20};
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	cmos_write(&rtc, 0x0b, 0x06, 0); /* binary, 24 h */
	expect_time(&rtc, 0, binary);
	cmos_write(&rtc, 0x0b, 0x00, 0); /* BCD, 12 h: 10 PM */
	assert_int_equal(cmos_read(&rtc, 4, 0), 0x80 | 0x10);
	/* Two hours later it is 12 AM. */
	assert_int_equal(cmos_read(&rtc, 4, 7200 * NS), 0x12);
	/* And 14 hours later 12 PM. */
	assert_int_equal(cmos_read(&rtc, 4, 14 * 3600 * NS), 0x80 | 0x12);
	cmos_write(&rtc, 0x0b, 0x04, 0); /* binary, 12 h */
	assert_int_equal(cmos_read(&rtc, 4, 0), 0x80 | 10);
}

static void test_leap_days_and_centuries(void **state)
{
	static const u8 leap_2000[8] = {0x00, 0x00, 0x12, 3,
					0x29, 0x02, 0x00, 0x20};
	static const u8 end_feb_2100[8] = {0x59, 0x59, 0x23, 1,
					   0x28, 0x02, 0x00, 0x21};
	static const u8 march_2100[8] = {0x00, 0x00, 0x00, 2,
					 0x01, 0x03, 0x00, 0x21};
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2000_02_29_120000, NULL, NULL);
	expect_time(&rtc, 0, leap_2000);
	/* 2100 is not a leap year: February 28th is followed by March. */
	vrtc_init(&rtc, EPOCH_2100_02_28_235959, NULL, NULL);
	expect_time(&rtc, 0, end_feb_2100);
	expect_time(&rtc, NS, march_2100);
}

static void test_update_in_progress_window(void **state)
{
	struct vrtc rtc;
	u64 second = 41 * NS;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	assert_int_equal(cmos_read(&rtc, 0x0a, second - VRTC_UIP_NS - 1), 0x26);
	assert_int_equal(cmos_read(&rtc, 0x0a, second - VRTC_UIP_NS),
			 0x80 | 0x26);
	/* While UIP is set, the time still shows the old second. */
	assert_int_equal(cmos_read(&rtc, 0, second - 1), 0x00);
	assert_int_equal(cmos_read(&rtc, 0x0a, second), 0x26);
	assert_int_equal(cmos_read(&rtc, 0, second), 0x01);
	/* SET stops the updates, and UIP with them. */
	cmos_write(&rtc, 0x0b, 0x82, 0);
	assert_int_equal(cmos_read(&rtc, 0x0a, second - 1), 0x26);
	/* UIP itself cannot be written. */
	cmos_write(&rtc, 0x0a, 0xa6, 0);
	assert_int_equal(cmos_read(&rtc, 0x0a, 0), 0x26);
}

/* How an OS sets the clock: SET, all fields, clear SET. */
static void test_setting_the_clock_with_set(void **state)
{
	static const u8 after[8] = {0x00, 0x00, 0x00, 6,
				    0x01, 0x03, 0x24, 0x20};
	struct vrtc rtc;
	u64 t = 100 * NS + 300;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	cmos_write(&rtc, 0x0b, 0x82, t);
	/* Held: the time does not move while SET is on. */
	assert_int_equal(cmos_read(&rtc, 0, t + 10 * NS), 0x00); /* 22:15:00 */
	cmos_write(&rtc, 9, 0x24, t);
	cmos_write(&rtc, 8, 0x02, t);
	cmos_write(&rtc, 7, 0x29, t);
	cmos_write(&rtc, 4, 0x23, t);
	cmos_write(&rtc, 2, 0x59, t);
	cmos_write(&rtc, 0, 0x58, t);
	assert_int_equal(cmos_read(&rtc, 7, t + 5 * NS), 0x29);
	cmos_write(&rtc, 0x0b, 0x02, t);
	/* 2024-02-29 23:59:58 plus two seconds: March 1st, a Friday. */
	expect_time(&rtc, t + 2 * NS, after);
	assert_int_equal(vrtc_unix_time(&rtc, t + 2 * NS),
			 EPOCH_2024_03_01_000000);
}

static void test_setting_one_field_while_running(void **state)
{
	static const u8 in_2030[8] = {0x20, 0x13, 0x22, 5,
				      0x14, 0x11, 0x30, 0x20};
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	cmos_write(&rtc, 9, 0x30, 0);
	expect_time(&rtc, 0, in_2030);
	/* The day of the week follows the date; writing it changes nothing. */
	cmos_write(&rtc, 6, 1, 0);
	assert_int_equal(cmos_read(&rtc, 6, 0), 5);
	/* The century register moves the year by centuries. */
	cmos_write(&rtc, 0x32, 0x21, 0);
	assert_int_equal(cmos_read(&rtc, 9, NS), 0x30);
	assert_int_equal(cmos_read(&rtc, 0x32, NS), 0x21);
}

static void test_index_port_and_nmi_bit(void **state)
{
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, 0, NULL, NULL);
	assert_false(vrtc_nmi_disabled(&rtc));
	vrtc_write(&rtc, INDEX, 0x80 | 0x0d, 0);
	assert_true(vrtc_nmi_disabled(&rtc));
	assert_int_equal(vrtc_read(&rtc, DATA, 0), 0x80);
	assert_int_equal(vrtc_read(&rtc, INDEX, 0), 0x8d);
	vrtc_write(&rtc, INDEX, 0x0d, 0);
	assert_false(vrtc_nmi_disabled(&rtc));
}

static void test_cmos_ram_and_alarm_bytes(void **state)
{
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, NULL, NULL);
	for (u8 i = 0x0e; i < 0x80; i++)
		if (i != VRTC_CENTURY_INDEX)
			cmos_write(&rtc, i, (u8)(i ^ 0x5a), 0);
	for (u8 i = 0x0e; i < 0x80; i++)
		if (i != VRTC_CENTURY_INDEX)
			assert_int_equal(cmos_read(&rtc, i, 0), i ^ 0x5a);
	cmos_write(&rtc, 1, 0x11, 0);
	cmos_write(&rtc, 3, 0x33, 0);
	cmos_write(&rtc, 5, 0x55, 0);
	assert_int_equal(cmos_read(&rtc, 1, NS), 0x11);
	assert_int_equal(cmos_read(&rtc, 3, NS), 0x33);
	assert_int_equal(cmos_read(&rtc, 5, NS), 0x55);
	/* An index above 0x7f wraps to the 128 bytes there are. */
	assert_int_equal(cmos_read(&rtc, 0x80 | 0x40, 0),
			 cmos_read(&rtc, 0x40, 0));
}

static void test_memory_size_bytes(void **state)
{
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, 0, NULL, NULL);
	vrtc_set_memory_size(&rtc, GiB(3), GiB(1));
	assert_int_equal(rtc.cmos[0x15], 0x80); /* 640 KiB */
	assert_int_equal(rtc.cmos[0x16], 0x02);
	assert_int_equal(rtc.cmos[0x30], 0xff); /* capped */
	assert_int_equal(rtc.cmos[0x31], 0xff);
	assert_int_equal(rtc.cmos[0x34], 0x00); /* (3 GiB - 16 MiB) / 64K */
	assert_int_equal(rtc.cmos[0x35], 0xbf);
	assert_int_equal(rtc.cmos[0x5b], 0x00); /* 1 GiB / 64K = 0x4000 */
	assert_int_equal(rtc.cmos[0x5c], 0x40);
	assert_int_equal(rtc.cmos[0x5d], 0x00);
	vrtc_set_memory_size(&rtc, MiB(32), 0);
	assert_int_equal(rtc.cmos[0x17] | rtc.cmos[0x18] << 8, 31 * 1024);
	assert_int_equal(rtc.cmos[0x34] | rtc.cmos[0x35] << 8, 256);
}

static u64 fake_now;

static u64 fake_clock(void *opaque)
{
	(void)opaque;
	return fake_now;
}

static void test_io_bus_adapters_take_time_from_the_clock(void **state)
{
	struct vrtc rtc;

	(void)state;
	vrtc_init(&rtc, EPOCH_2023_11_14_221320, fake_clock, NULL);
	fake_now = 3 * NS;
	vrtc_io_write(&rtc, INDEX, 1, 0x00);
	assert_int_equal(vrtc_io_read(&rtc, DATA, 1), 0x23);
	fake_now = 4 * NS;
	assert_int_equal(vrtc_io_read(&rtc, DATA, 1), 0x24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_on_registers),
	    cmocka_unit_test(test_bcd_24_hour_time_from_epoch_and_guest_time),
	    cmocka_unit_test(test_binary_and_12_hour_formats),
	    cmocka_unit_test(test_leap_days_and_centuries),
	    cmocka_unit_test(test_update_in_progress_window),
	    cmocka_unit_test(test_setting_the_clock_with_set),
	    cmocka_unit_test(test_setting_one_field_while_running),
	    cmocka_unit_test(test_index_port_and_nmi_bit),
	    cmocka_unit_test(test_cmos_ram_and_alarm_bytes),
	    cmocka_unit_test(test_memory_size_bytes),
	    cmocka_unit_test(test_io_bus_adapters_take_time_from_the_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
