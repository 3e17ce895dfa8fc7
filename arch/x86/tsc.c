/* SPDX-License-Identifier: MIT */
/*
 * TSC calibration with PIT channel 2 (the 8254 PIT counts at 1.193182 MHz;
 * channel 2's gate and output are bits 0 and 5 of port 0x61).
 */
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "core/lib/printk.h"

#define PIT_HZ		1193182ull
#define PIT_CH2_DATA	0x42
#define PIT_COMMAND	0x43
#define PIT_GATE_PORT	0x61
#define PIT_GATE_BIT	0x01
#define PIT_SPEAKER_BIT 0x02
#define PIT_OUT2_BIT	0x20
/* Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count). */
#define PIT_CH2_MODE0 0xb0
#define CALIBRATE_MS  10
#define FALLBACK_HZ   1000000000ull

static u64 tsc_frequency = FALLBACK_HZ;

static bool tsc_calibrate_pit(u64 *hz)
{
	u16 count = (u16)(PIT_HZ * CALIBRATE_MS / 1000);
	u8 gate = inb(PIT_GATE_PORT);
	u64 start, end;
	u64 spins = 0;

	outb(PIT_GATE_PORT, (gate & ~PIT_SPEAKER_BIT) & ~PIT_GATE_BIT);
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	outb(PIT_GATE_PORT, (gate & ~PIT_SPEAKER_BIT) | PIT_GATE_BIT);
	start = rdtsc();
	while (!(inb(PIT_GATE_PORT) & PIT_OUT2_BIT)) {
		/* No PIT (some UEFI machines): give up instead of hanging. */
		if (++spins > 100000000ull)
			return false;
	}
	end = rdtsc();
	outb(PIT_GATE_PORT, gate);
	if (end <= start)
		return false;
	*hz = (end - start) * 1000 / CALIBRATE_MS;
	return true;
}

void tsc_calibrate(void)
{
	u64 hz;

	if (tsc_calibrate_pit(&hz)) {
		tsc_frequency = hz;
		return;
	}
	printk(
	    "veneer: warning: PIT calibration failed, assuming a 1 GHz TSC\n");
}

u64 tsc_hz(void)
{
	return tsc_frequency;
}

u64 tsc_from_us(u64 us)
{
	return tsc_frequency / 1000000 * us +
	       tsc_frequency % 1000000 * us / 1000000;
}

void udelay(u64 us)
{
	u64 end = rdtsc() + tsc_from_us(us);

	while (rdtsc() < end)
		cpu_relax();
}
