/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the MC146818 RTC and CMOS RAM (core/vdev/vrtc.c), driven
 * by port reads and writes of every width, guest time steps (forward, and
 * jumps anywhere up to 2^64 - 1 ns), and whole clock settings done the way
 * an OS sets the clock (register B SET, the time registers in the current
 * format, SET cleared).
 *
 * Checked: the index stays 0-127; while the clock runs, it shows no time
 * past 9999-12-31 23:59:59 and every time register read shows a valid
 * field in the current format (BCD digits 0-9, seconds and minutes 0-59,
 * hours 0-23 or 1-12 with the PM bit, weekday 1-7, day valid for its
 * month, month 1-12, century 19-99); a date of 1970-9999 set by the guest
 * reads back as set.
 */
#include <string.h>

#include "core/vdev/vrtc.h"
#include "tests/fuzz/fuzz.h"

#define REG_B_SET    0x80
#define REG_B_BINARY 0x04
#define REG_B_24HOUR 0x02
#define HOUR_PM	     0x80
#define YEAR_10000   253402300800ull /* Unix time of 10000-01-01 */

static struct vrtc rtc;
static u64 now;

static u64 clock(void *opaque)
{
	(void)opaque;
	return now;
}

static bool binary(void)
{
	return rtc.reg_b & REG_B_BINARY;
}

/* A register value in the current format, or -1 when not a number. */
static int decode(u8 raw)
{
	if (binary())
		return raw;
	if ((raw >> 4) > 9 || (raw & 0xf) > 9)
		return -1;
	return (raw >> 4) * 10 + (raw & 0xf);
}

static u8 encode(u32 v)
{
	return binary() ? (u8)v : (u8)((v / 10) << 4 | v % 10);
}

static u8 cmos_read(u8 index)
{
	vrtc_write(&rtc, VRTC_PORT, index, now);
	return vrtc_read(&rtc, VRTC_PORT + 1, now);
}

static void cmos_write(u8 index, u8 value)
{
	vrtc_write(&rtc, VRTC_PORT, index, now);
	vrtc_write(&rtc, VRTC_PORT + 1, value, now);
}

static bool leap(u32 y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static u32 month_days(u32 y, u32 m)
{
	static const u8 days[12] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	return days[m - 1] + (m == 2 && leap(y));
}

static int field(u8 index, int lo, int hi)
{
	u8 raw = cmos_read(index);
	int v = decode(raw);

	FUZZ_CHECK(v >= lo && v <= hi,
		   "register 0x%02x reads 0x%02x (%s): not %d-%d", index, raw,
		   binary() ? "binary" : "BCD", lo, hi);
	return v;
}

/* All time registers, read at one instant of a running clock. */
static void check_time(void)
{
	int month, year, century;
	u8 hours;

	if (rtc.reg_b & REG_B_SET)
		return; /* held: the guest's own bytes, any values */
	/* The clock stops at 9999-12-31 23:59:59 (core/vdev/vrtc.c). */
	FUZZ_CHECK(vrtc_unix_time(&rtc, now) < YEAR_10000,
		   "the clock shows %llu, past 9999",
		   (unsigned long long)vrtc_unix_time(&rtc, now));
	field(0x00, 0, 59);
	field(0x02, 0, 59);
	hours = cmos_read(0x04);
	if (rtc.reg_b & REG_B_24HOUR) {
		FUZZ_CHECK(decode(hours) >= 0 && decode(hours) <= 23,
			   "24-hour hours 0x%02x", hours);
	} else {
		int h = decode(hours & (u8)~HOUR_PM);

		FUZZ_CHECK(h >= 1 && h <= 12, "12-hour hours 0x%02x", hours);
	}
	field(0x06, 1, 7);
	month = field(0x08, 1, 12);
	year = field(0x09, 0, 99);
	century = field(VRTC_CENTURY_INDEX, 19, 99);
	field(0x07, 1,
	      (int)month_days((u32)(century * 100 + year), (u32)month));
}

/* An OS setting the clock: SET, the fields, SET cleared, read back. */
static void set_clock(struct fuzz_in *in)
{
	u32 year = VRTC_FIRST_YEAR +
		   fuzz_below(in, VRTC_LAST_YEAR - VRTC_FIRST_YEAR + 1);
	u32 month = fuzz_below(in, 12) + 1;
	u32 day = fuzz_below(in, month_days(year, month)) + 1;
	u32 hour = fuzz_below(in, 24), min = fuzz_below(in, 60),
	    sec = fuzz_below(in, 60);
	u8 format = fuzz_u8(in) & (REG_B_BINARY | REG_B_24HOUR);
	u8 raw_hour;

	cmos_write(VRTC_REG_B, (u8)(REG_B_SET | format));
	if (format & REG_B_24HOUR)
		raw_hour = encode(hour);
	else
		raw_hour = (u8)(encode(hour % 12 ? hour % 12 : 12) |
				(hour >= 12 ? HOUR_PM : 0));
	cmos_write(0x00, encode(sec));
	cmos_write(0x02, encode(min));
	cmos_write(0x04, raw_hour);
	cmos_write(0x07, encode(day));
	cmos_write(0x08, encode(month));
	cmos_write(0x09, encode(year % 100));
	cmos_write(VRTC_CENTURY_INDEX, encode(year / 100));
	cmos_write(VRTC_REG_B, format);

	FUZZ_CHECK(
	    cmos_read(0x00) == encode(sec) && cmos_read(0x02) == encode(min) &&
		cmos_read(0x04) == raw_hour && cmos_read(0x07) == encode(day) &&
		cmos_read(0x08) == encode(month) &&
		cmos_read(0x09) == encode(year % 100) &&
		cmos_read(VRTC_CENTURY_INDEX) == encode(year / 100),
	    "set %04u-%02u-%02u %02u:%02u:%02u (B 0x%02x), read back "
	    "otherwise",
	    year, month, day, hour, min, sec, format);
}

static void step(struct fuzz_in *in)
{
	static const u16 ports[] = {0x70, 0x71, 0x72, 0x6f};
	static const u8 sizes[] = {1, 2, 4};
	u8 op = fuzz_u8(in);
	u16 port = FUZZ_PICK(in, ports);

	if (in->done)
		return;
	switch (op % 8) {
	case 0:
		vrtc_write(&rtc, port, fuzz_u8(in), now);
		break;
	case 1:
		(void)vrtc_read(&rtc, port, now);
		break;
	case 2:
		vrtc_io_write(&rtc, port, FUZZ_PICK(in, sizes), fuzz_u32(in));
		break;
	case 3:
		(void)vrtc_io_read(&rtc, port, FUZZ_PICK(in, sizes));
		break;
	case 4:
		now += fuzz_time_step(in);
		break;
	case 5: /* the guest wrote its TSC */
		now = fuzz_time_jump(in);
		break;
	case 6:
		set_clock(in);
		break;
	default: {
		u8 saved = rtc.index | (rtc.nmi_disabled ? 0x80 : 0);

		check_time();
		vrtc_write(&rtc, VRTC_PORT, saved, now);
		break;
	}
	}
	FUZZ_CHECK(rtc.index < VRTC_CMOS_SIZE, "index %u", rtc.index);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	now = fuzz_u32(&in);
	vrtc_init(&rtc, fuzz_u32(&in), clock, NULL);
	if (fuzz_bool(&in))
		vrtc_set_memory_size(&rtc, fuzz_u64(&in), fuzz_u64(&in));
	while (!in.done)
		step(&in);
	check_time();
	return 0;
}
