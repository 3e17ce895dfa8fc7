/* SPDX-License-Identifier: MIT */
/*
 * Console output: printk() formats into a per-call buffer and writes it to
 * the UART under one lock, so lines from different CPUs never interleave.
 */
#include <stdarg.h>

#include "core/printk.h"
#include "core/format.h"
#include "core/spinlock.h"
#include "core/power.h"
#include "drivers/uart.h"
#include "arch/x86/cpu.h"

static spinlock_t console_lock = SPINLOCK_INIT;
static volatile bool panicking;

static void console_write_locked(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s);
	}
}

void console_write(const char *s)
{
	spin_lock(&console_lock);
	console_write_locked(s);
	spin_unlock(&console_lock);
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

void panic(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	cli();
	/* A panic while panicking: stop quietly instead of recursing. */
	if (__atomic_exchange_n(&panicking, true, __ATOMIC_SEQ_CST))
		cpu_halt_forever();
	va_start(ap, fmt);
	vsnformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Do not wait for a lock another CPU may hold forever. */
	console_write_locked("veneer: panic: ");
	console_write_locked(buf);
	console_write_locked("\n");
	power_off(POWER_STATUS_PANIC);
}
