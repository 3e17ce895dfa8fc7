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
/* Tries at most, and the error (1 in 2000) that is good enough. */
#define CALIBRATE_TRIES 8
#define CALIBRATE_GOOD	2000
#define FALLBACK_HZ	1000000000ull

static u64 tsc_frequency = FALLBACK_HZ;

/*
 * One measurement of PIT channel 2 counting CALIBRATE_MS down in mode 0:
 * its gate going up starts the count, OUT2 going up ends it (8254 data
 * sheet, mode 0). Each edge is known only to lie between two TSC reads:
 * the start between the reads around the gate write, the end between
 * the read before the last poll that saw OUT2 low and the read after the
 * one that saw it high. *hz is taken from the middles, *error_ticks is
 * half the two brackets' widths together. A CPU taken away between the
 * reads (an SMI, a host that runs this machine late) widens a bracket,
 * so the caller can tell a bad measurement from a good one.
 */
static bool pit_measure(u64 *hz, u64 *error_ticks)
{
	u16 count = (u16)(PIT_HZ * CALIBRATE_MS / 1000);
	u8 gate = inb(PIT_GATE_PORT);
	u64 start_lo, start_hi, end_lo, end_hi, before, after;
	u64 spins = 0;
	bool high;

	outb(PIT_GATE_PORT, (gate & ~PIT_SPEAKER_BIT) & ~PIT_GATE_BIT);
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2_DATA, count & 0xff);
	outb(PIT_CH2_DATA, count >> 8);
	start_lo = rdtsc();
	outb(PIT_GATE_PORT, (gate & ~PIT_SPEAKER_BIT) | PIT_GATE_BIT);
	start_hi = rdtsc();
	end_lo = start_hi;
	do {
		before = rdtsc();
		high = inb(PIT_GATE_PORT) & PIT_OUT2_BIT;
		after = rdtsc();
		if (!high)
			end_lo = before;
		/* No PIT (some UEFI machines): give up instead of hanging. */
		if (++spins > 100000000ull) {
			outb(PIT_GATE_PORT, gate);
			return false;
		}
	} while (!high);
	end_hi = after;
	outb(PIT_GATE_PORT, gate);
	if (end_lo + end_hi <= start_lo + start_hi)
		return false;
	/* (end middle - start middle) ticks in CALIBRATE_MS. */
	*hz = ((end_lo + end_hi) - (start_lo + start_hi)) / 2 * 1000 /
	      CALIBRATE_MS;
	*error_ticks = ((end_hi - end_lo) + (start_hi - start_lo)) / 2;
	return true;
}

/*
 * The measurement with the narrowest brackets of up to CALIBRATE_TRIES;
 * one whose error is under 1/CALIBRATE_GOOD of the interval ends the
 * search early (on an idle machine, the first).
 */
static bool tsc_calibrate_pit(u64 *hz)
{
	u64 best_error = ~0ull, f, error, interval = 0;
	int tries = 0;

	while (tries < CALIBRATE_TRIES) {
		tries++;
		if (!pit_measure(&f, &error))
			return false;
		if (error < best_error) {
			best_error = error;
			*hz = f;
			interval = f / 1000 * CALIBRATE_MS;
		}
		if (best_error * CALIBRATE_GOOD < interval)
			break;
	}
	printk_at(LOG_INFO,
		  "veneer: tsc: %llu kHz by the PIT, within %llu ppm (%d "
		  "measurements)\n",
		  (unsigned long long)(*hz / 1000),
		  (unsigned long long)(interval
					   ? best_error * 1000000 / interval
					   : 0),
		  tries);
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
