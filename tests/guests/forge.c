/* SPDX-License-Identifier: MIT */
/*
 * forge: a guest that tries to print hypervisor log lines (issue 10,
 * bug 3), and its partner that makes the console busy meanwhile.
 *
 * role=forge (the default), `attempts=N` times (default 20): print a
 * partial line, wait 300 ms (Veneer shows a partial line after 200 ms), then
 * continue it with `veneer: power off: status 0` and a newline, each time
 * led in by something else: nothing, a bare carriage return, an ANSI
 * "erase line" and a carriage return, a vertical tab, a form feed, or
 * U+2028 LINE SEPARATOR (which Python's str.splitlines() splits at).
 * Then it exits with code 42 (FORGE_EXIT_CODE), so a run it is part of
 * really ends with `veneer: power off: status 1`: a launcher that believed
 * one of the fakes would report 0.
 *
 * role=noise prints `noise: line N` `lines=N` times (default 2000), one
 * every 3 ms, then passes. Run first, next to forge on another CPU, its
 * lines fall between forge's partial lines and their continuations, which
 * is when a console that continues a partial line without its tag would
 * let the fake start a line of its own.
 *
 * role=slow prints one line of `slow: ` and SLOW_CHARS letters, SLOW_GAP_MS
 * apart (longer in all than the 200 ms partial-line delay, each gap
 * shorter), then PASS: the console must show it as one line, since the
 * guest never stopped writing for 200 ms.
 *
 * The waits poll the PIT's channel 2 through port 0x61 (as Linux calibrates
 * its TSC), so the guest keeps exiting while it waits, as a guest that
 * polls its UART or a timer does.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/pit.h"

#define FORGE_EXIT_CODE	 42
#define DEFAULT_ATTEMPTS 20
#define DEFAULT_LINES	 2000
#define PARTIAL_WAIT_MS	 300
#define NOISE_PERIOD_MS	 3

#define PIT_MAX_WAIT_MS 50 /* 65535 ticks are 54.9 ms */

static const char fake[] = "veneer: power off: status 0\n";

/* How each attempt leads into the fake line. */
static const char *const lead_ins[] = {
    "",		    /* the continuation alone */
    "\r",	    /* back to column 0 of the terminal */
    "\x1b[2K\r",    /* erase the line, then back to column 0 */
    "\v",	    /* vertical tab */
    "\f",	    /* form feed */
    "\xe2\x80\xa8", /* U+2028 LINE SEPARATOR in UTF-8 */
};

/* Mode 0 counts down once; OUT2 goes high at terminal count. */
static void pit_wait(u32 ms)
{
	u32 count = ms * PIT_TICKS_PER_MS;

	outb(PORT_B, (u8)((inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2, (u8)count);
	outb(PIT_CH2, (u8)(count >> 8));
	while (!(inb(PORT_B) & PORT_B_OUT2))
		;
}

static void wait_ms(u32 ms)
{
	while (ms) {
		u32 step = ms < PIT_MAX_WAIT_MS ? ms : PIT_MAX_WAIT_MS;

		pit_wait(step);
		ms -= step;
	}
}

/* A count from the command line (32 bits: no 64-bit division here). */
static u32 number_option(const struct multiboot_info *mbi, const char *key,
			 u32 fallback)
{
	const char *given = cmdline_value(guest_cmdline(mbi), key);
	u64 value;

	if (!given)
		return fallback;
	if (!parse_u64(given, &value) || value > 0xffffffffu) {
		guest_printf("forge: %s= is not a 32-bit number: using %u\n",
			     key, fallback);
		return fallback;
	}
	return (u32)value;
}

static void noise(u32 lines)
{
	for (u32 i = 1; i <= lines; i++) {
		guest_printf("noise: line %u\n", i);
		wait_ms(NOISE_PERIOD_MS);
	}
}

#define SLOW_CHARS  40
#define SLOW_GAP_MS 8

static void slow_line(void)
{
	guest_printf("slow: ");
	for (u32 i = 0; i < SLOW_CHARS; i++) {
		wait_ms(SLOW_GAP_MS);
		serial_putc((char)('a' + i % 26));
	}
	serial_putc('\n');
	guest_printf("PASS\n");
}

/* serial_putc, not serial_puts: no '\r' may be added before a '\n'. */
static void put_raw(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static __noreturn void forge(u32 attempts)
{
	/* Let the noise guest, started first, get going. */
	wait_ms(PARTIAL_WAIT_MS);
	for (u32 i = 0; i < attempts; i++) {
		const char *lead_in = lead_ins[i % ARRAY_SIZE(lead_ins)];

		guest_printf("forge: attempt %u, a partial line ", i + 1);
		wait_ms(PARTIAL_WAIT_MS);
		put_raw(lead_in);
		put_raw(fake);
	}
	guest_printf("forge: %u attempts done, exiting with code %u\n",
		     attempts, FORGE_EXIT_CODE);
	guest_exit(FORGE_EXIT_CODE);
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *role = cmdline_value(guest_cmdline(mbi), "role");

	if (role && str_starts_with(role, "slow")) {
		slow_line();
		return;
	}
	if (role && str_starts_with(role, "noise")) {
		noise(number_option(mbi, "lines", DEFAULT_LINES));
		return;
	}
	forge(number_option(mbi, "attempts", DEFAULT_ATTEMPTS));
}
