/* SPDX-License-Identifier: MIT */
/*
 * printk() and panic() for host unit tests (see host_printk.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "tests/unit/host_printk.h"

#define LOG_SIZE (64 * 1024)

static char log_text[LOG_SIZE];
static size_t log_len;
static char panic_text[1024];

const char *host_printk_text(void)
{
	return log_text;
}

void host_printk_reset(void)
{
	log_len = 0;
	log_text[0] = '\0';
	panic_text[0] = '\0';
}

const char *host_panic_text(void)
{
	return panic_text;
}

static void record(const char *fmt, va_list ap)
{
	size_t start = log_len;
	int n;

	n = vsnformat(log_text + start, LOG_SIZE - start, fmt, ap);
	log_len = start + (size_t)n;
	if (log_len > LOG_SIZE - 1)
		log_len = LOG_SIZE - 1;
	/* Shown when a test runs with VENEER_TEST_VERBOSE set in the env. */
	if (getenv("VENEER_TEST_VERBOSE"))
		fputs(log_text + start, stderr);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(fmt, ap);
	va_end(ap);
}

/* Every level is wanted and recorded: tests read what the code would
 * say. */
bool printk_wants(enum log_level level)
{
	(void)level;
	return true;
}

/* Every level is recorded: tests read what the code would say. */
void printk_at(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	record(fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnformat(panic_text, sizeof(panic_text), fmt, ap);
	va_end(ap);
	/*
	 * Inside expect_assert_failure() this jumps back to the test, which
	 * then checks host_panic_text(); anywhere else it fails the test
	 * with the panic message.
	 */
	mock_assert(0, panic_text, __FILE__, __LINE__);
	abort(); /* mock_assert never returns for a false result */
}
