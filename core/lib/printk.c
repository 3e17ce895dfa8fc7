/* SPDX-License-Identifier: MIT */
/*
 * Console output: printk() formats into a per-call buffer and writes it to
 * the output the boot code chose under one lock, so lines from different
 * CPUs never interleave. The library calls nothing above it: the output
 * (the UART) and what a panic does last (power off) are handed in.
 *
 * Every character goes through here, so this is also where the console's
 * lines are kept apart (core/lib/printk.h): the lock guards the column
 * state below, and a line that is not the hypervisor's own (a guest's)
 * can never be continued by anybody else.
 */
#include <stdarg.h>

#include "core/lib/printk.h"
#include "core/lib/format.h"
#include "core/lib/spinlock.h"

static spinlock_t console_lock = SPINLOCK_INIT;
static volatile bool panicking;
/* The console's one log level (printk_at); read without a lock. */
static enum log_level log_level = LOG_INFO;
static void (*console_putc)(char c);
static void (*panic_stop)(void);
/* printk_set_tag_style(); read under console_lock, set at any time. */
static const char *(*tag_style)(const void *owner);

/* SGR 0 (ECMA-48 8.3.117): every attribute back to the default. */
#define SGR_RESET "\033[0m"

/*
 * The line being written, under console_lock: `midline` when the cursor is
 * not at the start of a line, and then who wrote that partial line: NULL
 * for the hypervisor, else the owner console_write_tagged() was given.
 */
static bool midline;
static const void *midline_owner;

void printk_set_output(void (*putc)(char c))
{
	console_putc = putc;
}

void panic_set_stop(void (*stop)(void))
{
	panic_stop = stop;
}

void printk_set_tag_style(const char *(*style)(const void *owner))
{
	__atomic_store_n(&tag_style, style, __ATOMIC_RELEASE);
}

static void put(char c)
{
	if (console_putc)
		console_putc(c);
}

/* Ends the line on the terminal: carriage return, line feed. */
static void new_line(void)
{
	put('\r');
	put('\n');
	midline = false;
	midline_owner = NULL;
}

/* Trusted text of `owner` (NULL: the hypervisor) on its open line; lock
 * held. */
static void put_owned(const void *owner, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n') {
			new_line();
			continue;
		}
		put(*s);
		midline = true;
		midline_owner = owner;
	}
}

/* The hypervisor's own text: it never continues somebody else's line. */
static void console_write_locked(const char *s)
{
	if (!console_putc)
		return;
	if (midline && midline_owner)
		new_line();
	put_owned(NULL, s);
}

/*
 * One character of untrusted text, shown so that it cannot steer the
 * terminal or the reader: the C0 controls (0x00-0x1f) but tab, and DEL
 * (0x7f), in caret notation (^@ ... ^_, ^?), as `cat -v` shows them. A
 * line feed or carriage return is no exception: the text cannot end its
 * line or return to its start.
 */
static void put_visible(char c)
{
	u8 b = (u8)c;

	if (b == '\t' || (b >= 0x20 && b != 0x7f)) {
		put(c);
		return;
	}
	put('^');
	put(b == 0x7f ? '?' : (char)(b + 0x40));
}

void console_write_tagged(const void *owner, const char *tag, const char *text,
			  size_t len, bool line_end)
{
	spin_lock(&console_lock);
	if (!console_putc)
		goto out;
	if (!midline || midline_owner != owner) {
		const char *(*style)(const void *) =
		    __atomic_load_n(&tag_style, __ATOMIC_ACQUIRE);
		const char *sgr = style ? style(owner) : NULL;

		if (midline)
			new_line();
		/* The colour is trusted text; only the tag inside it is
		 * the guest's (its name), shown visibly. */
		for (const char *c = sgr; c && *c; c++)
			put(*c);
		put('[');
		for (const char *t = tag; *t; t++)
			put_visible(*t);
		put(']');
		for (const char *c = sgr ? SGR_RESET : NULL; c && *c; c++)
			put(*c);
		put(' ');
	}
	for (size_t i = 0; i < len; i++)
		put_visible(text[i]);
	if (line_end) {
		new_line();
	} else {
		midline = true;
		midline_owner = owner;
	}
out:
	spin_unlock(&console_lock);
}

bool console_continue_owned(const void *owner, const char *s)
{
	bool ours;

	spin_lock(&console_lock);
	ours = midline && midline_owner == owner;
	if (ours && console_putc)
		put_owned(owner, s);
	spin_unlock(&console_lock);
	return ours;
}

void console_start_owned(const void *owner, const char *s)
{
	spin_lock(&console_lock);
	if (console_putc) {
		if (midline)
			new_line();
		put_owned(owner, s);
	}
	spin_unlock(&console_lock);
}

void console_end_line(const void *owner)
{
	spin_lock(&console_lock);
	if (console_putc && midline && midline_owner == owner)
		new_line();
	spin_unlock(&console_lock);
}

void console_write(const char *s)
{
	spin_lock(&console_lock);
	console_write_locked(s);
	spin_unlock(&console_lock);
}

void console_write_unlocked(const char *s)
{
	/* Whoever was mid-line, the last words start a line of their own. */
	if (console_putc && midline)
		new_line();
	console_write_locked(s);
}

void printk(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf);
}

void printk_set_level(enum log_level level)
{
	if ((u32)level < LOG_LEVEL_COUNT)
		__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

enum log_level printk_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

bool printk_wants(enum log_level level)
{
	return level <= printk_level();
}

void printk_at(enum log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!printk_wants(level))
		return;
	va_start(ap, fmt);
	vsnformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf);
}

void panic(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	__asm__ volatile("cli" ::: "memory");
	/* A panic while panicking: stop quietly instead of recursing. */
	if (__atomic_exchange_n(&panicking, true, __ATOMIC_SEQ_CST))
		for (;;)
			__asm__ volatile("hlt");
	va_start(ap, fmt);
	vsnformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Do not wait for a lock another CPU may hold forever. */
	console_write_unlocked("veneer: panic: ");
	console_write_locked(buf);
	console_write_locked("\n");
	if (panic_stop)
		panic_stop();
	for (;;)
		__asm__ volatile("cli; hlt");
}
