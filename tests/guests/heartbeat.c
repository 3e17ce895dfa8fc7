/* SPDX-License-Identifier: MIT */
/*
 * heartbeat: a guest that beats at a steady period and reports how late
 * its beats came, to show how a guest fares on a host CPU it shares with
 * other guests (issue 11, `shared = yes` in docs/config.md).
 *
 * Command line (all optional):
 *   beats=N         beats to make (default 20)
 *   period=MS       milliseconds from one beat to the next (default 20)
 *   mode=busy|idle  busy (the default): computes between beats and never
 *                   halts, counting its loop iterations; idle: HLTs between
 *                   beats, woken by a one-shot local APIC timer interrupt
 *   quiet=1         no line per beat, only the summary (a console line is
 *                   a UART exit per byte: on a slow emulator they would be
 *                   most of what a quiet guest costs its neighbours)
 *
 * Each beat is due PERIOD after the one before it (the first PERIOD after
 * the start) and prints `heartbeat: beat N at T us`, T the guest's TSC since
 * the start in microseconds. The gap before a beat is the time since the
 * one before (for the first, since the start): PERIOD plus however late it
 * came. At the end: `heartbeat: largest gap G us`, in busy mode
 * `heartbeat: N iterations` (the work done, which shows the share of the
 * CPU the guest got), in idle mode `heartbeat: N HLTs, M timer interrupts`,
 * then PASS.
 *
 * Time is the TSC: under Veneer's default clock (`clock=host`) it is the
 * host's TSC plus an offset, so it runs on while the vCPU waits for a host
 * CPU, and the gaps show that wait; on real hardware it is the CPU's own.
 * Its frequency comes from PIT channel 2 (the 8254 every PC has and Veneer
 * models, on the same clock as the TSC): its count is latched at the start
 * and after CALIBRATE_MS, each latch between two TSC reads. Not by waiting
 * for the count to run out, as Linux's quick calibration and smp.c do: on a
 * shared CPU the guest may see that many milliseconds late, and the TSC
 * would come out tens of percent fast. A latch that the vCPU lost its CPU
 * around shows as TSC reads far apart, so each is taken SAMPLES times and
 * the closest pair kept. Where the PIT does not count: CPUID leaf 0x15 or
 * 0x16, else 1 GHz is assumed; the first lines say which. The idle mode's
 * local APIC timer (xAPIC MMIO, or the x2APIC MSRs where the firmware left
 * the APIC in x2APIC mode) is read the same way over the same window and
 * measured against the TSC, so it needs no known bus rate either.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/pit.h"
#include "tests/guests/lib/trap.h"

#define DEFAULT_BEATS	  20
#define DEFAULT_PERIOD_MS 20
#define MAX_BEATS	  1000000
#define MAX_PERIOD_MS	  60000

#define PIT_FULL_COUNT 0xffff /* 54.9 ms from the start to 0 */
/* The window: long against an exit (up to a few hundred microseconds of
 * guest time in an emulator), and 25 ms short of the count running out, so
 * that the last latch may come a shared CPU's wait late. */
#define CALIBRATE_MS	 30
#define SAMPLES		 3	    /* latches per stamp, and windows at most */
#define CALIBRATE_POLLS	 (1U << 18) /* the PIT does not count */
#define FALLBACK_TSC_KHZ 1000000    /* 1 GHz, should nothing else tell */

#define CPUID1_EDX_APIC	  BIT(9)
#define LEAF_TSC_CRYSTAL  0x15
#define LEAF_CPU_FREQ	  0x16
#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_EXTD	  BIT(10) /* x2APIC mode */
#define APIC_BASE_ENABLE  BIT(11)
#define APIC_BASE_ADDRESS 0xfffff000U
#define X2APIC_MSR_BASE	  0x800 /* MSR = 0x800 + (xAPIC offset >> 4) */

/* Local APIC registers (SDM Vol. 3A 11.4.1, Table 11-1). */
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	 0x390
#define LAPIC_TIMER_DIV	 0x3e0
#define SVR_ENABLE	 BIT(8)
#define LVT_MASKED	 BIT(16)
#define TIMER_DIV_16	 0x3 /* one count per 16 input clocks */
#define TIMER_VECTOR	 0x40
#define SPURIOUS_VECTOR	 0xff

/* The 8259 pair: every line masked, so nothing arrives on vectors 8-15. */
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA	0xa1

enum mode { MODE_BUSY, MODE_IDLE };

static u32 tsc_khz;   /* TSC ticks per millisecond */
static u32 lapic_khz; /* local APIC timer counts per millisecond */
static bool x2apic;
static uintptr_t lapic_base;
static volatile u32 timer_interrupts;
static volatile u32 work_sink; /* keeps the busy loop's work */

static u64 ticks_to_us(u64 ticks)
{
	return div64(ticks * 1000, tsc_khz);
}

/* a is at or after b on the TSC (which wraps, in theory). */
static bool tsc_reached(u64 a, u64 b)
{
	return (i64)(a - b) >= 0;
}

static void lapic_write(u32 reg, u32 value)
{
	if (x2apic)
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
	else
		*(volatile u32 *)(lapic_base + reg) = value;
}

static u32 lapic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
	return *(volatile u32 *)(lapic_base + reg);
}

/* Software-enables the local APIC with its timer masked; false (and a
 * FAIL) where there is none. */
static bool lapic_setup(void)
{
	u64 base;

	if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC)) {
		guest_fail("idle mode needs a local APIC: CPUID.1:EDX[9] is 0");
		return false;
	}
	base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE)) {
		base |= APIC_BASE_ENABLE;
		wrmsr(MSR_APIC_BASE, base);
	}
	x2apic = (base & APIC_BASE_EXTD) != 0;
	lapic_base = (uintptr_t)(base & APIC_BASE_ADDRESS);
	lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
	return true;
}

/* CPUID's idea of the TSC rate in kHz (leaf 0x15: crystal and ratio; leaf
 * 0x16: the base frequency in MHz), 0 if it has none. */
static u32 cpuid_tsc_khz(void)
{
	u32 max = cpuid(0, 0).eax;
	struct cpuid_regs r;

	if (max >= LEAF_TSC_CRYSTAL) {
		r = cpuid(LEAF_TSC_CRYSTAL, 0);
		if (r.eax && r.ebx && r.ecx)
			return (u32)div64(div64((u64)r.ecx * r.ebx, r.eax),
					  1000);
	}
	if (max >= LEAF_CPU_FREQ) {
		r = cpuid(LEAF_CPU_FREQ, 0);
		if (r.eax & 0xffff)
			return (r.eax & 0xffff) * 1000;
	}
	return 0;
}

/* A counter's value and the TSC when it was taken: the middle of the two
 * TSC reads around the access that took it, and how far apart they were. */
struct stamp {
	u32 value;
	u64 tsc, width;
};

/* PIT channel 2's count, latched by one OUT (read after the TSC). */
static struct stamp pit_stamp_once(void)
{
	struct stamp st;
	u64 before = rdtsc();
	u32 low, high;

	outb(PIT_COMMAND, PIT_CH2_LATCH);
	st.width = rdtsc() - before;
	st.tsc = before + st.width / 2;
	low = inb(PIT_CH2);
	high = inb(PIT_CH2);
	st.value = low | high << 8;
	return st;
}

static struct stamp lapic_stamp_once(void)
{
	struct stamp st;
	u64 before = rdtsc();

	st.value = lapic_read(LAPIC_TIMER_CUR);
	st.width = rdtsc() - before;
	st.tsc = before + st.width / 2;
	return st;
}

/* The closest-bracketed of SAMPLES stamps: a vCPU that lost its CPU
 * between the TSC reads shows as a wide one. */
static struct stamp best_stamp(struct stamp (*take)(void))
{
	struct stamp best = take(), st;

	for (int i = 1; i < SAMPLES; i++) {
		st = take();
		if (st.width < best.width)
			best = st;
	}
	return best;
}

/*
 * One window: PIT channel 2 counts down from PIT_FULL_COUNT in mode 0 and
 * is latched at the start and CALIBRATE_MS later (the local APIC timer too,
 * with_lapic, which counts down from all ones meanwhile). Returns the PIT
 * ticks between the two latches, 0 if the PIT did not count or ran out
 * before the second (its OUT went high: the vCPU lost its CPU too long).
 */
static u32 pit_window(bool with_lapic, struct stamp pit[2],
		      struct stamp lapic[2])
{
	u32 polls = 0;

	if (with_lapic)
		lapic_write(LAPIC_TIMER_INIT, 0xffffffffU);
	outb(PORT_B, (u8)((inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2, (u8)PIT_FULL_COUNT);
	outb(PIT_CH2, (u8)(PIT_FULL_COUNT >> 8));
	/* The count loads at the PIT clock after the write (0.84 us): the
	 * first latch is only to let it. */
	(void)pit_stamp_once();
	pit[0] = best_stamp(pit_stamp_once);
	if (with_lapic)
		lapic[0] = best_stamp(lapic_stamp_once);
	while (pit[0].value - pit_stamp_once().value <
	       CALIBRATE_MS * PIT_TICKS_PER_MS) {
		if (++polls == CALIBRATE_POLLS)
			return 0;
	}
	pit[1] = best_stamp(pit_stamp_once);
	if (with_lapic) {
		lapic[1] = best_stamp(lapic_stamp_once);
		lapic_write(LAPIC_TIMER_INIT, 0);
	}
	if ((inb(PORT_B) & PORT_B_OUT2) || pit[1].value >= pit[0].value)
		return 0;
	return pit[0].value - pit[1].value;
}

/*
 * TSC ticks per millisecond against the PIT (a window again if one was
 * lost), else CPUID's, else a guess; with_lapic, also local APIC timer
 * counts per millisecond against the TSC over the same window.
 */
static void calibrate(bool with_lapic)
{
	struct stamp pit[2], lapic[2] = {{0}, {0}};
	u32 ticks = 0;
	u64 elapsed_us;

	for (int tries = 0; tries < SAMPLES && !ticks; tries++)
		ticks = pit_window(with_lapic, pit, lapic);
	if (ticks >= PIT_TICKS_PER_MS && pit[1].tsc - pit[0].tsc >= ticks) {
		tsc_khz = (u32)div64((pit[1].tsc - pit[0].tsc) * PIT_HZ,
				     ticks * 1000);
		guest_printf("heartbeat: TSC %u kHz (against the PIT, %u "
			     "ticks)\n",
			     tsc_khz, ticks);
	} else if ((tsc_khz = cpuid_tsc_khz()) != 0) {
		guest_printf("heartbeat: PIT channel 2 did not count: TSC %u "
			     "kHz from CPUID\n",
			     tsc_khz);
	} else {
		tsc_khz = FALLBACK_TSC_KHZ;
		guest_printf("heartbeat: PIT channel 2 did not count: assuming "
			     "a %u kHz TSC\n",
			     tsc_khz);
	}
	if (!with_lapic)
		return;
	/* 0 if it stood still or ran out (a window of over a minute). */
	elapsed_us = ticks_to_us(lapic[1].tsc - lapic[0].tsc);
	if (lapic[1].value != 0 && lapic[1].value < lapic[0].value &&
	    elapsed_us != 0 && elapsed_us <= 0xffffffffU)
		lapic_khz =
		    (u32)div64((u64)(lapic[0].value - lapic[1].value) * 1000,
			       (u32)elapsed_us);
	guest_printf("heartbeat: local APIC timer %u kHz (%s, divide 16)\n",
		     lapic_khz, x2apic ? "x2APIC" : "xAPIC");
}

static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_interrupts++;
	lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct trap_frame *frame)
{
	(void)frame; /* no EOI for the spurious vector (SDM Vol. 3A 11.9) */
}

/* Busy: compute until the TSC reaches due; returns the iterations. */
static u64 busy_until(u64 due)
{
	u32 x = work_sink | 1;
	u64 iterations = 0;

	while (!tsc_reached(rdtsc(), due)) {
		/* Work the compiler cannot drop: 16 xorshift steps. */
		for (int i = 0; i < 16; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		iterations++;
	}
	work_sink = x;
	return iterations;
}

/*
 * Idle: HLT until the TSC reaches due, each HLT ended by a one-shot local
 * APIC timer armed for the time left (rounded up, plus one count, so it
 * never fires early). Returns the HLTs.
 */
static u32 idle_until(u64 due)
{
	u32 halts = 0;
	u64 now;

	while (!tsc_reached(now = rdtsc(), due)) {
		u64 us = ticks_to_us(due - now) + 1;
		u64 counts = div64(us * lapic_khz + 999, 1000) + 1;

		if (counts > 0xffffffffU)
			counts = 0xffffffffU;
		lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot */
		lapic_write(LAPIC_TIMER_INIT, (u32)counts);
		cpu_sti_hlt();
		cpu_cli();
		halts++;
	}
	lapic_write(LAPIC_TIMER_INIT, 0);
	return halts;
}

/* key=N from the command line into *value (unchanged if absent), within
 * 1..max; false (and a FAIL) if it is no such number. */
static bool number_option(const char *cmdline, const char *key, u64 max,
			  u64 *value)
{
	const char *given = cmdline_value(cmdline, key);

	if (!given)
		return true;
	if (parse_u64(given, value) && *value >= 1 && *value <= max)
		return true;
	guest_printf("FAIL: command line %s=: want a number from 1 to %llu\n",
		     key, (unsigned long long)max);
	guest_failures++;
	return false;
}

static bool word_is(const char *s, const char *word)
{
	size_t n = str_len(word);

	return str_starts_with(s, word) && (s[n] == '\0' || s[n] == ' ');
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *cmdline = guest_cmdline(mbi);
	const char *given;
	enum mode mode = MODE_BUSY;
	u64 beats = DEFAULT_BEATS, period_ms = DEFAULT_PERIOD_MS;
	u64 start, prev, now, period, gap, largest = 0, iterations = 0;
	u32 halts = 0;
	bool quiet;

	guest_printf("heartbeat: command line \"%s\"\n", cmdline);
	given = cmdline_value(cmdline, "quiet");
	quiet = given && word_is(given, "1");
	if (!number_option(cmdline, "beats", MAX_BEATS, &beats) ||
	    !number_option(cmdline, "period", MAX_PERIOD_MS, &period_ms))
		return;
	given = cmdline_value(cmdline, "mode");
	if (given && word_is(given, "idle")) {
		mode = MODE_IDLE;
	} else if (given && !word_is(given, "busy")) {
		guest_fail("command line mode=: want busy or idle");
		return;
	}

	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	if (mode == MODE_IDLE) {
		trap_set_handler(TIMER_VECTOR, timer_handler);
		trap_set_handler(SPURIOUS_VECTOR, spurious_handler);
		if (!lapic_setup())
			return;
	}
	calibrate(mode == MODE_IDLE);
	if (mode == MODE_IDLE && lapic_khz == 0) {
		guest_fail("idle mode needs the local APIC timer, which did "
			   "not count");
		return;
	}
	guest_printf("heartbeat: mode %s, %llu beats every %llu ms\n",
		     mode == MODE_IDLE ? "idle" : "busy",
		     (unsigned long long)beats, (unsigned long long)period_ms);

	period = period_ms * tsc_khz;
	start = prev = rdtsc();
	for (u64 beat = 1; beat <= beats; beat++) {
		if (mode == MODE_IDLE)
			halts += idle_until(prev + period);
		else
			iterations += busy_until(prev + period);
		now = rdtsc();
		gap = now - prev;
		if (gap > largest)
			largest = gap;
		if (!quiet || beat == beats)
			guest_printf(
			    "heartbeat: beat %llu at %llu us\n",
			    (unsigned long long)beat,
			    (unsigned long long)ticks_to_us(now - start));
		prev = now;
	}
	guest_printf("heartbeat: largest gap %llu us\n",
		     (unsigned long long)ticks_to_us(largest));
	if (mode == MODE_BUSY) {
		guest_printf("heartbeat: %llu iterations\n",
			     (unsigned long long)iterations);
		EXPECT_TRUE(iterations > 0, "the busy loop ran");
	} else {
		guest_printf("heartbeat: %u HLTs, %u timer interrupts\n", halts,
			     timer_interrupts);
		EXPECT_TRUE(halts == 0 || timer_interrupts > 0,
			    "the local APIC timer woke the HLTs");
	}
}
