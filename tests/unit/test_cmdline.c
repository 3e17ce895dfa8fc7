/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/cmdline.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cmdline.h"
#include "core/lib/string.h"

static struct hv_options parse_ok(const char *s)
{
	struct hv_options o;
	char err[128] = "untouched";

	memset(&o, 0xa5, sizeof(o));
	if (cmdline_parse(s, &o, err, sizeof(err)) != 0)
		fail_msg("'%s' was rejected: %s", s, err);
	assert_string_equal(err, "");
	return o;
}

/* Parses s, expects failure and returns the message. */
static const char *parse_err(const char *s)
{
	static char err[128];
	struct hv_options o;

	err[0] = '\0';
	if (cmdline_parse(s, &o, err, sizeof(err)) != -1)
		fail_msg("'%s' was accepted", s);
	assert_true(strlen(err) > 0);
	return err;
}

static void test_defaults(void **state)
{
	struct hv_options o;

	(void)state;
	o = parse_ok("");
	assert_int_equal(o.serial_port, 0x3f8);
	assert_int_equal(o.baud, 115200);
	assert_int_equal(o.max_cpus, 0);
	assert_int_equal(o.selftest, SELFTEST_NONE);
	assert_int_equal(o.stats_seconds, 0);
	assert_true(o.shell);
	assert_false(o.color);
	assert_false(o.log_level_given);
	assert_int_equal(o.log_level, LOG_INFO);
	o = parse_ok(NULL);
	assert_int_equal(o.serial_port, 0x3f8);
	o = parse_ok("   \t  ");
	assert_int_equal(o.baud, 115200);
}

static void test_iommu(void **state)
{
	(void)state;
	assert_true(parse_ok("").iommu);
	assert_false(parse_ok("iommu=off").iommu);
	assert_true(parse_ok("iommu=off iommu=on").iommu);
	assert_string_equal(parse_err("iommu=no"),
			    "iommu: 'no' is not 'on' or 'off'");
	assert_string_equal(parse_err("iommu"),
			    "iommu: needs a value (iommu=...)");
}

static void test_apicv(void **state)
{
	(void)state;
	assert_true(parse_ok("").apicv);
	assert_false(parse_ok("apicv=off").apicv);
	assert_true(parse_ok("apicv=off apicv=on").apicv);
	assert_string_equal(parse_err("apicv=1"),
			    "apicv: '1' is not 'on' or 'off'");
	assert_string_equal(parse_err("apicv"),
			    "apicv: needs a value (apicv=...)");
}

static void test_selftest(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("selftest=fault").selftest, SELFTEST_FAULT);
	assert_int_equal(parse_ok("selftest=iommu").selftest, SELFTEST_IOMMU);
	assert_string_equal(parse_err("selftest=dma"),
			    "selftest: 'dma' is not 'fault' or 'iommu'");
	assert_string_equal(parse_err("selftest=iommux"),
			    "selftest: 'iommux' is not 'fault' or 'iommu'");
}

static void test_serial(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("serial=ttyS0").serial_port, 0x3f8);
	assert_int_equal(parse_ok("serial=ttyS1").serial_port, 0x2f8);
	assert_int_equal(parse_ok("serial=ttyS2").serial_port, 0x3e8);
	assert_int_equal(parse_ok("serial=ttyS3").serial_port, 0x2e8);
	assert_int_equal(parse_ok("serial=0x2F8").serial_port, 0x2f8);
	assert_int_equal(parse_ok("serial=0xe000").serial_port, 0xe000);
}

static void test_baud_and_smp(void **state)
{
	struct hv_options o;

	(void)state;
	o = parse_ok("baud=9600 smp=4");
	assert_int_equal(o.baud, 9600);
	assert_int_equal(o.max_cpus, 4);
	assert_int_equal(parse_ok("baud=1").baud, 1);
	assert_int_equal(parse_ok("baud=115200").baud, 115200);
	assert_int_equal(parse_ok("nosmp").max_cpus, 1);
	/* Later options win, as on any command line. */
	assert_int_equal(parse_ok("nosmp smp=3").max_cpus, 3);
	assert_int_equal(parse_ok("smp=3 nosmp").max_cpus, 1);
}

static void test_stats(void **state)
{
	struct hv_options o;

	(void)state;
	assert_int_equal(parse_ok("stats=5").stats_seconds, 5);
	assert_int_equal(parse_ok("stats=1").stats_seconds, 1);
	assert_int_equal(parse_ok("stats=86400").stats_seconds, 86400);
	/* 0 turns the reports off again, as the default has them. */
	assert_int_equal(parse_ok("stats=10 stats=0").stats_seconds, 0);
	o = parse_ok("build/veneer.elf smp=2 stats=30 serial=ttyS1");
	assert_int_equal(o.stats_seconds, 30);
	assert_int_equal(o.max_cpus, 2);
	assert_int_equal(o.serial_port, 0x2f8);
	assert_string_equal(parse_err("stats"),
			    "stats: needs a value (stats=...)");
	assert_string_equal(parse_err("stats="),
			    "stats: needs a value (stats=...)");
	assert_string_equal(
	    parse_err("stats=86401"),
	    "stats: '86401' is not a number of seconds from 0 to 86400");
	assert_string_equal(
	    parse_err("stats=-1"),
	    "stats: '-1' is not a number of seconds from 0 to 86400");
	assert_string_equal(
	    parse_err("stats=1.5"),
	    "stats: '1.5' is not a number of seconds from 0 to 86400");
	assert_string_equal(
	    parse_err("stats=0x10"),
	    "stats: '0x10' is not a number of seconds from 0 to 86400");
	assert_string_equal(parse_err("stats=99999999999999999999999"),
			    "stats: '99999999999999999999999' is not a number "
			    "of seconds from 0 to 86400");
}

static void test_color(void **state)
{
	(void)state;
	assert_false(parse_ok("").color);
	assert_true(parse_ok("color=on").color);
	assert_false(parse_ok("color=off").color);
	assert_false(parse_ok("color=on color=off").color);
	assert_string_equal(parse_err("color=1"),
			    "color: '1' is not 'on' or 'off'");
	assert_string_equal(parse_err("color"),
			    "color: needs a value (color=...)");
	assert_string_equal(parse_err("colour=on"),
			    "unknown option 'colour=on'");
}

static void test_shell(void **state)
{
	(void)state;
	assert_false(parse_ok("shell=off").shell);
	assert_true(parse_ok("shell=on").shell);
	assert_true(parse_ok("shell=off shell=on").shell);
	assert_string_equal(parse_err("shell=yes"),
			    "shell: 'yes' is not 'on' or 'off'");
	assert_string_equal(parse_err("shell"),
			    "shell: needs a value (shell=...)");
}

static void test_log(void **state)
{
	struct hv_options o;

	(void)state;
	o = parse_ok("");
	assert_false(o.log_level_given);
	assert_int_equal(o.log_level, LOG_INFO);
	o = parse_ok("log=debug");
	assert_true(o.log_level_given);
	assert_int_equal(o.log_level, LOG_DEBUG);
	o = parse_ok("log=error");
	assert_true(o.log_level_given);
	assert_int_equal(o.log_level, LOG_ERROR);
	/* Given as the default is still given: it beats nothing. */
	o = parse_ok("build/veneer.elf log=info smp=2");
	assert_true(o.log_level_given);
	assert_int_equal(o.log_level, LOG_INFO);
	assert_int_equal(o.max_cpus, 2);
	assert_int_equal(parse_ok("log=debug log=error").log_level, LOG_ERROR);
	assert_string_equal(parse_err("log=verbose"),
			    "log: 'verbose' is not error, info or debug");
	/* Case-sensitive, as the configuration's log_level. */
	assert_string_equal(parse_err("log=DEBUG"),
			    "log: 'DEBUG' is not error, info or debug");
	assert_string_equal(parse_err("log=debu"),
			    "log: 'debu' is not error, info or debug");
	assert_string_equal(parse_err("log=debugx"),
			    "log: 'debugx' is not error, info or debug");
	assert_string_equal(parse_err("log"), "log: needs a value (log=...)");
	assert_string_equal(parse_err("log="), "log: needs a value (log=...)");
	assert_string_equal(parse_err("log_level=debug"),
			    "unknown option 'log_level=debug'");
}

static void test_image_path_is_skipped(void **state)
{
	struct hv_options o;

	(void)state;
	o = parse_ok("/boot/veneer.elf serial=ttyS1");
	assert_int_equal(o.serial_port, 0x2f8);
	o = parse_ok("build/veneer.elf smp=2");
	assert_int_equal(o.max_cpus, 2);
	o = parse_ok("veneer.elf\tnosmp\n");
	assert_int_equal(o.max_cpus, 1);
	/* Only the first word can be the path. */
	assert_string_equal(parse_err("nosmp /boot/veneer.elf"),
			    "unknown option '/boot/veneer.elf'");
	/* A first word without '/' or ".elf" is an option like any other. */
	assert_string_equal(parse_err("veneer"), "unknown option 'veneer'");
}

static void test_errors(void **state)
{
	(void)state;
	assert_string_equal(parse_err("foo=1"), "unknown option 'foo=1'");
	assert_string_equal(parse_err("serial=ttyS0 bogus"),
			    "unknown option 'bogus'");
	assert_string_equal(
	    parse_err("serial=ttyS9"),
	    "serial: 'ttyS9' is not ttyS0-ttyS3 or a hex port like 0x3f8");
	assert_string_equal(
	    parse_err("serial=0x"),
	    "serial: '0x' is not ttyS0-ttyS3 or a hex port like 0x3f8");
	assert_string_equal(
	    parse_err("serial=0x3g8"),
	    "serial: '0x3g8' is not ttyS0-ttyS3 or a hex port like 0x3f8");
	assert_string_equal(parse_err("serial=0x10000"),
			    "serial: port '0x10000' is outside 0x1-0xfff8");
	assert_string_equal(parse_err("serial=0x0"),
			    "serial: port '0x0' is outside 0x1-0xfff8");
	assert_string_equal(parse_err("serial"),
			    "serial: needs a value (serial=...)");
	assert_string_equal(parse_err("serial="),
			    "serial: needs a value (serial=...)");
	assert_string_equal(parse_err("baud=9601"),
			    "baud: 9601 does not divide 115200 evenly (the "
			    "UART's divisor is an integer)");
	assert_string_equal(parse_err("baud=230400"),
			    "baud: 230400 does not divide 115200 evenly (the "
			    "UART's divisor is an integer)");
	assert_string_equal(parse_err("baud=0"),
			    "baud: '0' is not a positive number");
	assert_string_equal(parse_err("baud=fast"),
			    "baud: 'fast' is not a positive number");
	assert_string_equal(parse_err("smp=0"),
			    "smp: '0' is not a CPU count of 1 or more");
	assert_string_equal(parse_err("smp=-1"),
			    "smp: '-1' is not a CPU count of 1 or more");
	assert_string_equal(
	    parse_err("smp=4294967296"),
	    "smp: '4294967296' is not a CPU count of 1 or more");
	assert_string_equal(
	    parse_err("smp=99999999999999999999999"),
	    "smp: '99999999999999999999999' is not a CPU count of 1 or more");
	assert_string_equal(parse_err("nosmp=1"),
			    "nosmp: takes no value, got 'nosmp=1'");
}

static void test_error_message_truncated_safely(void **state)
{
	char err[8];
	struct hv_options o;

	(void)state;
	memset(err, 'X', sizeof(err));
	assert_int_equal(cmdline_parse("foo=1", &o, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown");
	/* errlen 0: nothing written. */
	err[0] = 'Z';
	assert_int_equal(cmdline_parse("foo=1", &o, err, 0), -1);
	assert_int_equal(err[0], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_selftest),
	    cmocka_unit_test(test_iommu),
	    cmocka_unit_test(test_apicv),
	    cmocka_unit_test(test_serial),
	    cmocka_unit_test(test_baud_and_smp),
	    cmocka_unit_test(test_stats),
	    cmocka_unit_test(test_shell),
	    cmocka_unit_test(test_color),
	    cmocka_unit_test(test_log),
	    cmocka_unit_test(test_image_path_is_skipped),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_message_truncated_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
