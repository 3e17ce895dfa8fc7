/* SPDX-License-Identifier: MIT */
/*
 * MC146818 RTC. The time registers are never stored while the clock runs:
 * every read converts "epoch + guest seconds + the guest's adjustment" to
 * calendar fields, and every write turns the changed fields back into an
 * adjustment. Only while register B's SET bit holds the clock still are
 * the raw register bytes kept (the guest may write them one by one in any
 * order, passing through invalid dates, as on the chip).
 */
#include "core/vdev/vrtc.h"
#include "core/iobus.h"
#include "core/lib/string.h"

#define NS_PER_SEC   1000000000ull
#define SECS_PER_DAY 86400

/* Time register indices (MC146818A "Address Map"). */
#define REG_SECONDS	 0
#define REG_MINUTES	 2
#define REG_HOURS	 4
#define REG_DAY_OF_WEEK	 6
#define REG_DAY_OF_MONTH 7
#define REG_MONTH	 8
#define REG_YEAR	 9
#define TIME_REGISTERS	 10
#define REG_A_UIP	 0x80
#define REG_B_SET	 0x80
#define REG_B_BINARY	 0x04 /* DM: 1 = binary, 0 = BCD */
#define REG_B_24_HOUR	 0x02
#define REG_D_VALID_RAM	 0x80 /* VRT: the battery is good */
#define HOUR_PM		 0x80 /* 12-hour mode: bit 7 of the hours byte */
#define REG_A_POWER_ON	 0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define REG_B_POWER_ON	 REG_B_24_HOUR
#define BASE_MEMORY_KIB	 640

struct calendar {
	u32 sec, min, hour;
	u32 day_of_week; /* 1-7, Sunday = 1 */
	u32 day, month;	 /* 1-based */
	u32 year;	 /* four digits */
};

static bool leap(u32 year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static u32 month_days(u32 year, u32 month)
{
	static const u8 days[12] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	return days[month - 1] + (month == 2 && leap(year));
}

static u64 leaps_before(u32 year)
{
	u64 y = year - 1;

	return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to January 1st of `year` (>= 1970). */
static u64 days_before_year(u32 year)
{
	return 365ull * (year - VRTC_FIRST_YEAR) + leaps_before(year) -
	       leaps_before(VRTC_FIRST_YEAR);
}

static struct calendar to_calendar(u64 unix_time)
{
	struct calendar cal;
	u64 days = unix_time / SECS_PER_DAY;
	u32 rest = (u32)(unix_time % SECS_PER_DAY);

	cal.sec = rest % 60;
	cal.min = rest / 60 % 60;
	cal.hour = rest / 3600;
	cal.day_of_week = (u32)((days + 4) % 7) + 1; /* 1970-01-01: Thursday */
	/* A year has at most 366 days, so this start is never too late. */
	cal.year = (u32)(VRTC_FIRST_YEAR + days / 366);
	while (days_before_year(cal.year + 1) <= days)
		cal.year++;
	days -= days_before_year(cal.year);
	for (cal.month = 1; days >= month_days(cal.year, cal.month);
	     cal.month++)
		days -= month_days(cal.year, cal.month);
	cal.day = (u32)days + 1;
	return cal;
}

/*
 * Unix time of a calendar that may be out of range (as a guest may write
 * it): the year and month are clamped, a day past the month's end rolls
 * into the next month, hours/minutes/seconds add up linearly.
 */
static u64 from_calendar(struct calendar cal)
{
	u64 days;

	cal.year = MAX(cal.year, VRTC_FIRST_YEAR);
	cal.year = MIN(cal.year, VRTC_LAST_YEAR);
	cal.month = MIN(MAX(cal.month, 1), 12);
	cal.day = MAX(cal.day, 1);
	days = days_before_year(cal.year);
	for (u32 m = 1; m < cal.month; m++)
		days += month_days(cal.year, m);
	days += cal.day - 1;
	return days * SECS_PER_DAY + cal.hour * 3600ull + cal.min * 60ull +
	       cal.sec;
}

static bool binary(const struct vrtc *rtc)
{
	return rtc->reg_b & REG_B_BINARY;
}

static u8 encode(const struct vrtc *rtc, u32 value)
{
	return binary(rtc) ? (u8)value : (u8)((value / 10) << 4 | value % 10);
}

static u32 decode(const struct vrtc *rtc, u8 value)
{
	return binary(rtc) ? value : (u32)(value >> 4) * 10 + (value & 0xf);
}

static u8 encode_hour(const struct vrtc *rtc, u32 hour)
{
	u32 twelve = hour % 12 ? hour % 12 : 12;

	if (rtc->reg_b & REG_B_24_HOUR)
		return encode(rtc, hour);
	return (u8)(encode(rtc, twelve) | (hour >= 12 ? HOUR_PM : 0));
}

static u32 decode_hour(const struct vrtc *rtc, u8 value)
{
	if (rtc->reg_b & REG_B_24_HOUR)
		return decode(rtc, value);
	return decode(rtc, value & (u8)~HOUR_PM) % 12 +
	       (value & HOUR_PM ? 12 : 0);
}

/* The register image of a calendar, in the current format. */
static void encode_registers(const struct vrtc *rtc, const struct calendar *c,
			     u8 regs[TIME_REGISTERS], u8 *century)
{
	regs[REG_SECONDS] = encode(rtc, c->sec);
	regs[REG_MINUTES] = encode(rtc, c->min);
	regs[REG_HOURS] = encode_hour(rtc, c->hour);
	regs[REG_DAY_OF_WEEK] = encode(rtc, c->day_of_week);
	regs[REG_DAY_OF_MONTH] = encode(rtc, c->day);
	regs[REG_MONTH] = encode(rtc, c->month);
	regs[REG_YEAR] = encode(rtc, c->year % 100);
	*century = encode(rtc, c->year / 100);
	/* The alarm bytes in between are RAM. */
	for (int i = 1; i < 6; i += 2)
		regs[i] = rtc->cmos[i];
}

static struct calendar decode_registers(const struct vrtc *rtc,
					const u8 regs[TIME_REGISTERS],
					u8 century)
{
	struct calendar c;

	c.sec = decode(rtc, regs[REG_SECONDS]);
	c.min = decode(rtc, regs[REG_MINUTES]);
	c.hour = decode_hour(rtc, regs[REG_HOURS]);
	c.day_of_week = decode(rtc, regs[REG_DAY_OF_WEEK]);
	c.day = decode(rtc, regs[REG_DAY_OF_MONTH]);
	c.month = decode(rtc, regs[REG_MONTH]);
	c.year = decode(rtc, century) * 100 + decode(rtc, regs[REG_YEAR]);
	return c;
}

static bool held(const struct vrtc *rtc)
{
	return rtc->reg_b & REG_B_SET;
}

/*
 * The last second the clock shows, 9999-12-31 23:59:59: the century
 * register has two digits, so a year past VRTC_LAST_YEAR could not be
 * shown (it would read 0xa0 in BCD). The clock stops there.
 */
static u64 last_second(void)
{
	return days_before_year(VRTC_LAST_YEAR + 1) * SECS_PER_DAY - 1;
}

u64 vrtc_unix_time(const struct vrtc *rtc, u64 now_ns)
{
	i64 t;

	if (held(rtc))
		return MIN(from_calendar(decode_registers(rtc, rtc->held,
							  rtc->held_century)),
			   last_second());
	t = (i64)(rtc->base_epoch_s + now_ns / NS_PER_SEC) + rtc->offset_s;
	return t < 0 ? 0 : MIN((u64)t, last_second());
}

/* Moves the running clock so that it shows `unix_time` now. */
static void set_running_time(struct vrtc *rtc, u64 unix_time, u64 now_ns)
{
	rtc->offset_s =
	    (i64)unix_time - (i64)(rtc->base_epoch_s + now_ns / NS_PER_SEC);
}

void vrtc_init(struct vrtc *rtc, u64 base_epoch_s, guest_clock_fn clock,
	       void *clock_opaque)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->base_epoch_s = base_epoch_s;
	rtc->reg_a = REG_A_POWER_ON;
	rtc->reg_b = REG_B_POWER_ON;
	rtc->clock = clock;
	rtc->clock_opaque = clock_opaque;
}

static void put_le16(u8 *p, u64 value)
{
	value = MIN(value, 0xffff);
	p[0] = (u8)value;
	p[1] = (u8)(value >> 8);
}

void vrtc_set_memory_size(struct vrtc *rtc, u64 ram_below_4g, u64 ram_above_4g)
{
	u64 extended_kib =
	    ram_below_4g > MiB(1) ? (ram_below_4g - MiB(1)) >> 10 : 0;
	u64 above_16m =
	    ram_below_4g > MiB(16) ? (ram_below_4g - MiB(16)) >> 16 : 0;
	u64 above_4g = MIN(ram_above_4g >> 16, 0xffffff);

	put_le16(&rtc->cmos[0x15], BASE_MEMORY_KIB);
	put_le16(&rtc->cmos[0x17], extended_kib);
	put_le16(&rtc->cmos[0x30], extended_kib);
	put_le16(&rtc->cmos[0x34], above_16m);
	rtc->cmos[0x5b] = (u8)above_4g;
	rtc->cmos[0x5c] = (u8)(above_4g >> 8);
	rtc->cmos[0x5d] = (u8)(above_4g >> 16);
}

bool vrtc_nmi_disabled(const struct vrtc *rtc)
{
	return rtc->nmi_disabled;
}

static bool is_time_register(u8 index)
{
	return (index < TIME_REGISTERS && index != 1 && index != 3 &&
		index != 5) ||
	       index == VRTC_CENTURY_INDEX;
}

static u8 read_time_register(const struct vrtc *rtc, u8 index, u64 now_ns)
{
	u8 regs[TIME_REGISTERS], century;
	struct calendar cal;

	if (held(rtc))
		return index == VRTC_CENTURY_INDEX ? rtc->held_century
						   : rtc->held[index];
	cal = to_calendar(vrtc_unix_time(rtc, now_ns));
	encode_registers(rtc, &cal, regs, &century);
	return index == VRTC_CENTURY_INDEX ? century : regs[index];
}

static void write_time_register(struct vrtc *rtc, u8 index, u8 value,
				u64 now_ns)
{
	struct calendar cal;

	if (held(rtc)) {
		if (index == VRTC_CENTURY_INDEX)
			rtc->held_century = value;
		else
			rtc->held[index] = value;
		return;
	}
	cal = to_calendar(vrtc_unix_time(rtc, now_ns));
	switch (index) {
	case REG_SECONDS:
		cal.sec = decode(rtc, value);
		break;
	case REG_MINUTES:
		cal.min = decode(rtc, value);
		break;
	case REG_HOURS:
		cal.hour = decode_hour(rtc, value);
		break;
	case REG_DAY_OF_MONTH:
		cal.day = decode(rtc, value);
		break;
	case REG_MONTH:
		cal.month = decode(rtc, value);
		break;
	case REG_YEAR:
		cal.year = cal.year / 100 * 100 + decode(rtc, value) % 100;
		break;
	case VRTC_CENTURY_INDEX:
		cal.year = decode(rtc, value) * 100 + cal.year % 100;
		break;
	default:
		return; /* the day of the week follows from the date */
	}
	set_running_time(rtc, from_calendar(cal), now_ns);
}

static void write_register_b(struct vrtc *rtc, u8 value, u64 now_ns)
{
	struct calendar cal;

	if ((value & REG_B_SET) && !held(rtc)) {
		/* Stop the clock: keep what it shows, in the new format. */
		cal = to_calendar(vrtc_unix_time(rtc, now_ns));
		rtc->reg_b = value;
		encode_registers(rtc, &cal, rtc->held, &rtc->held_century);
		return;
	}
	if (!(value & REG_B_SET) && held(rtc)) {
		/* Restart it from whatever the guest wrote meanwhile. */
		rtc->reg_b = value;
		cal = decode_registers(rtc, rtc->held, rtc->held_century);
		set_running_time(rtc, from_calendar(cal), now_ns);
		return;
	}
	rtc->reg_b = value;
}

static bool update_in_progress(const struct vrtc *rtc, u64 now_ns)
{
	if (held(rtc))
		return false; /* SET inhibits the update cycle */
	return now_ns % NS_PER_SEC >= NS_PER_SEC - VRTC_UIP_NS;
}

static u8 read_data(struct vrtc *rtc, u64 now_ns)
{
	u8 index = rtc->index;

	if (is_time_register(index))
		return read_time_register(rtc, index, now_ns);
	switch (index) {
	case VRTC_REG_A:
		return (u8)(rtc->reg_a |
			    (update_in_progress(rtc, now_ns) ? REG_A_UIP : 0));
	case VRTC_REG_B:
		return rtc->reg_b;
	case VRTC_REG_C:
		return 0; /* no interrupt flags: none are generated */
	case VRTC_REG_D:
		return REG_D_VALID_RAM;
	default:
		return rtc->cmos[index];
	}
}

static void write_data(struct vrtc *rtc, u8 value, u64 now_ns)
{
	u8 index = rtc->index;

	if (is_time_register(index)) {
		write_time_register(rtc, index, value, now_ns);
		return;
	}
	switch (index) {
	case VRTC_REG_A:
		rtc->reg_a = value & (u8)~REG_A_UIP;
		return;
	case VRTC_REG_B:
		write_register_b(rtc, value, now_ns);
		return;
	case VRTC_REG_C:
	case VRTC_REG_D:
		return; /* read-only */
	default:
		rtc->cmos[index] = value;
		return;
	}
}

u8 vrtc_read(struct vrtc *rtc, u16 port, u64 now_ns)
{
	if (port == VRTC_PORT) /* write-only on the chip; echo what was set */
		return (u8)(rtc->index |
			    (rtc->nmi_disabled ? VRTC_NMI_DISABLE_BIT : 0));
	if (port == VRTC_PORT + 1)
		return read_data(rtc, now_ns);
	return 0xff;
}

void vrtc_write(struct vrtc *rtc, u16 port, u8 value, u64 now_ns)
{
	if (port == VRTC_PORT) {
		rtc->index = value & (VRTC_CMOS_SIZE - 1);
		rtc->nmi_disabled = value & VRTC_NMI_DISABLE_BIT;
	} else if (port == VRTC_PORT + 1) {
		write_data(rtc, value, now_ns);
	}
}

static u64 io_now(const struct vrtc *rtc)
{
	return rtc->clock ? rtc->clock(rtc->clock_opaque) : 0;
}

static u32 io_read_byte(void *opaque, u16 port, u8 size)
{
	struct vrtc *rtc = opaque;

	(void)size; /* always 1: iobus_read_bytewise() */
	return vrtc_read(rtc, port, io_now(rtc));
}

static void io_write_byte(void *opaque, u16 port, u8 size, u32 value)
{
	struct vrtc *rtc = opaque;

	(void)size;
	vrtc_write(rtc, port, (u8)value, io_now(rtc));
}

u32 vrtc_io_read(void *opaque, u16 port, u8 size)
{
	return iobus_read_bytewise(io_read_byte, opaque, port, size);
}

void vrtc_io_write(void *opaque, u16 port, u8 size, u32 value)
{
	iobus_write_bytewise(io_write_byte, opaque, port, size, value);
}
