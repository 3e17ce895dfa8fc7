/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/lib/format.c (snformat / vsnformat) and
 * core/lib/string.c.
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
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

/*
 * Formats with snformat and with the host snprintf and compares both the
 * text and the returned length.  The host libc is the reference for C
 * semantics.
 */
#define CHECK_LIKE_LIBC(...)                                                   \
	do {                                                                   \
		char mine[256], ref[256];                                      \
		int n_mine = snformat(mine, sizeof(mine), __VA_ARGS__);        \
		int n_ref = snprintf(ref, sizeof(ref), __VA_ARGS__);           \
		assert_string_equal(mine, ref);                                \
		assert_int_equal(n_mine, n_ref);                               \
	} while (0)

/*
 * The same comparison for formats that gcc's -Wformat rightly flags as odd
 * (flags that C says are ignored): no __printf attribute on purpose.
 */
static void check_like_libc_unchecked(const char *fmt, ...)
{
	char mine[256], ref[256];
	va_list ap, ap2;
	int n_mine, n_ref;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n_mine = vsnformat(mine, sizeof(mine), fmt, ap);
	n_ref = vsnprintf(ref, sizeof(ref), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	assert_string_equal(mine, ref);
	assert_int_equal(n_mine, n_ref);
}

static void check(const char *expected, const char *fmt, ...) __printf(2, 3);
static void check(const char *expected, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_string_equal(buf, expected);
	assert_int_equal(n, (int)strlen(expected));
}

static void test_format_error(void **state)
{
	char err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(format_error(-3, err, sizeof(err), "bad %u", 7), -3);
	assert_string_equal(err, "bad 7");
	/* Truncated, still terminated; no buffer at all is fine. */
	assert_int_equal(format_error(5, err, 4, "%s", "longer"), 5);
	assert_string_equal(err, "lon");
	assert_int_equal(format_error(-1, NULL, 0, "%s", "nowhere"), -1);
}

static void test_plain_text_and_percent(void **state)
{
	(void)state;
	check("", "%s", "");
	check("hello", "hello");
	check("100%", "100%%");
	check("%%", "%%%%");
}

static void test_signed_decimal(void **state)
{
	(void)state;
	CHECK_LIKE_LIBC("%d", 0);
	CHECK_LIKE_LIBC("%d", -1);
	CHECK_LIKE_LIBC("%i", 123456789);
	CHECK_LIKE_LIBC("%d", INT32_MIN);
	CHECK_LIKE_LIBC("%d", INT32_MAX);
	CHECK_LIKE_LIBC("%ld", (long)INT64_MIN);
	CHECK_LIKE_LIBC("%lld", (long long)INT64_MIN);
	CHECK_LIKE_LIBC("%lld", (long long)INT64_MAX);
	CHECK_LIKE_LIBC("%hd", (short)-32768);
	CHECK_LIKE_LIBC("%hhd", (signed char)-128);
	/* hh truncates a wider argument to char, as C requires. */
	CHECK_LIKE_LIBC("%hhd", 0x1ff);
	CHECK_LIKE_LIBC("%hd", 0x18000);
	CHECK_LIKE_LIBC("%+d %+d % d % d", 5, -5, 5, -5);
}

static void test_unsigned_and_hex(void **state)
{
	(void)state;
	CHECK_LIKE_LIBC("%u", 4294967295u);
	CHECK_LIKE_LIBC("%lu", (unsigned long)UINT64_MAX);
	CHECK_LIKE_LIBC("%llu", (unsigned long long)UINT64_MAX);
	CHECK_LIKE_LIBC("%zu", (size_t)12345);
	CHECK_LIKE_LIBC("%x", 0xdeadbeefu);
	CHECK_LIKE_LIBC("%X", 0xdeadbeefu);
	CHECK_LIKE_LIBC("%llx", 0xfedcba9876543210ull);
	CHECK_LIKE_LIBC("%hhx", 0x1234);
	CHECK_LIKE_LIBC("%hx", 0x12345);
	CHECK_LIKE_LIBC("%#x %#X %#x", 255, 255, 0);
	CHECK_LIKE_LIBC("%zx", (size_t)-1);
}

static void test_width_and_flags(void **state)
{
	(void)state;
	CHECK_LIKE_LIBC("[%5d]", 42);
	CHECK_LIKE_LIBC("[%-5d]", 42);
	CHECK_LIKE_LIBC("[%05d]", 42);
	CHECK_LIKE_LIBC("[%05d]", -42);
	check_like_libc_unchecked("[%-05d]", -42); /* '-' wins over '0' */
	CHECK_LIKE_LIBC("[%016llx]", 0x1234ull);
	CHECK_LIKE_LIBC("[%#010x]", 0xab);
	CHECK_LIKE_LIBC("[%2d]", 12345); /* width is a minimum */
	CHECK_LIKE_LIBC("[%*d]", 6, 7);
	CHECK_LIKE_LIBC("[%*d]", -6, 7); /* negative '*' width = '-' */
	CHECK_LIKE_LIBC("[%-*s]", 8, "ab");
	CHECK_LIKE_LIBC("[%8s]", "ab");
	CHECK_LIKE_LIBC("[%3c][%-3c]", 'x', 'y');
	CHECK_LIKE_LIBC("[%c]", 0x141); /* %c takes the low byte */
}

static void test_precision(void **state)
{
	(void)state;
	CHECK_LIKE_LIBC("[%.3s]", "abcdef");
	CHECK_LIKE_LIBC("[%.10s]", "abc");
	CHECK_LIKE_LIBC("[%.*s]", 2, "abcdef");
	CHECK_LIKE_LIBC("[%.*s]", -1, "abcdef"); /* negative: as if none */
	CHECK_LIKE_LIBC("[%8.3s]", "abcdef");
	CHECK_LIKE_LIBC("[%-8.3s|]", "abcdef");
	CHECK_LIKE_LIBC("[%.5d]", -42);
	check_like_libc_unchecked("[%08.5d]", 42); /* precision disables '0' */
	CHECK_LIKE_LIBC("[%.0d]", 0);
	CHECK_LIKE_LIBC("[%.0x]", 0);
	CHECK_LIKE_LIBC("[%.4x]", 0xa);
}

static void test_precision_reads_no_further(void **state)
{
	/*
	 * Not NUL-terminated: %.3s must not read past the 3 bytes. Plain
	 * malloc, so AddressSanitizer (HOST_CFLAGS) sees a read of raw[3];
	 * cmocka's test_malloc pads the block and would hide it.
	 */
	char *raw = malloc(3);

	(void)state;
	raw[0] = 'a';
	raw[1] = 'b';
	raw[2] = 'c';
	check("abc", "%.3s", raw);
	free(raw);
}

static void test_strings_and_pointers(void **state)
{
	int x;
	char expected[64];
	const char *volatile null_string = NULL;

	(void)state;
	check("(null)", "%s", null_string);
	check("a-b-c", "%s-%s-%s", "a", "b", "c");
	snprintf(expected, sizeof(expected), "0x%lx", (unsigned long)&x);
	check(expected, "%p", (void *)&x);
	check("0x0", "%p", NULL);
	check("[      0x10]", "[%10p]", (void *)0x10);
}

static void test_truncation(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(snformat(buf, sizeof(buf), "%s", "0123456789"), 10);
	assert_string_equal(buf, "0123456");

	/* size 1: only the NUL fits. */
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(snformat(buf, 1, "abc%d", 12), 5);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'X');

	/* size 0: nothing is written, not even a NUL; NULL is allowed. */
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(snformat(buf, 0, "abc"), 3);
	assert_int_equal(buf[0], 'X');
	assert_int_equal(snformat(NULL, 0, "%d", 12345), 5);

	/* Exactly fitting output. */
	assert_int_equal(snformat(buf, sizeof(buf), "%07d", 1), 7);
	assert_string_equal(buf, "0000001");
}

static void test_unknown_conversion_is_echoed(void **state)
{
	char buf[32];
	const char *fmt = "a%qb"; /* hidden from -Wformat on purpose */
	const char *trailing = "x%5";

	(void)state;
	snformat(buf, sizeof(buf), fmt, 0);
	assert_string_equal(buf, "a%qb");
	snformat(buf, sizeof(buf), trailing, 0);
	assert_string_equal(buf, "x%5");
}

static void test_host_printk_records(void **state)
{
	(void)state;
	host_printk_reset();
	printk("cpu %u: %s\n", 3u, "up");
	printk("x=%#x\n", 16);
	assert_string_equal(host_printk_text(), "cpu 3: up\nx=0x10\n");
	host_printk_reset();
	assert_string_equal(host_printk_text(), "");
}

static void test_host_panic_is_caught(void **state)
{
	(void)state;
	host_printk_reset();
	expect_assert_failure(panic("bad thing %d", 7));
	assert_string_equal(host_panic_text(), "bad thing 7");
}

static void test_str_copy(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(str_copy(buf, "ab", sizeof(buf)), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(str_copy(buf, "abcdef", sizeof(buf)), 6);
	assert_string_equal(buf, "abc");
	buf[0] = 'Z';
	assert_int_equal(str_copy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(str_copy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_text_and_percent),
	    cmocka_unit_test(test_signed_decimal),
	    cmocka_unit_test(test_unsigned_and_hex),
	    cmocka_unit_test(test_width_and_flags),
	    cmocka_unit_test(test_precision),
	    cmocka_unit_test(test_precision_reads_no_further),
	    cmocka_unit_test(test_strings_and_pointers),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_unknown_conversion_is_echoed),
	    cmocka_unit_test(test_host_printk_records),
	    cmocka_unit_test(test_host_panic_is_caught),
	    cmocka_unit_test(test_str_copy),
	    cmocka_unit_test(test_format_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
