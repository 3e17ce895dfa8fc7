/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/serialport.c: the COM port names, and which guest
 * may own which port (never Veneer's console, one guest per port, only
 * where a UART answers), with the probe of drivers/uart.c replaced by a
 * table of ports that "exist".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/serialport.h"

/* ---- the probe: which ports have a UART, and how often it was asked */

static bool present[0x10000];
static int probes;

static const char *probe(u16 base)
{
	probes++;
	return present[base] ? NULL : "its line status register reads 0xff";
}

static int setup(void **state)
{
	(void)state;
	memset(present, 0, sizeof(present));
	present[0x3f8] = present[0x2f8] = present[0x3e8] = true;
	probes = 0;
	return 0;
}

static int parse(const char *s)
{
	return serialport_parse(s, strlen(s));
}

/* com1-com4 and ttyS0-ttyS3, exactly, case and length included. */
static void test_names(void **state)
{
	(void)state;
	assert_int_equal(parse("com1"), 0);
	assert_int_equal(parse("com2"), 1);
	assert_int_equal(parse("com4"), 3);
	assert_int_equal(parse("ttyS0"), 0);
	assert_int_equal(parse("ttyS1"), 1);
	assert_int_equal(parse("ttyS3"), 3);
	assert_int_equal(serialport_defs[1].base, 0x2f8);
	assert_int_equal(serialport_defs[2].base, 0x3e8);
	assert_int_equal(serialport_defs[3].base, 0x2e8);
	assert_string_equal(serialport_defs[1].name, "com2");
	const char *bad[] = {"com0",  "com5",  "COM2",	"com",	"com22",
			     "ttyS4", "ttys1", "ttyS",	"",	"2",
			     "0x2f8", "com2 ", " com2", "tty1", "hypervisor"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i]), -1);
	/* Not NUL-terminated: the length decides. */
	assert_int_equal(serialport_parse("com2x", 4), 1);
	assert_int_equal(serialport_parse("com2", 3), -1);
}

static void test_index(void **state)
{
	(void)state;
	assert_int_equal(serialport_index(0x3f8), 0);
	assert_int_equal(serialport_index(0x2e8), 3);
	assert_int_equal(serialport_index(0x2f9), -1);
	assert_int_equal(serialport_index(0), -1);
}

/* A port that exists and is free goes to the first guest that asks. */
static void test_claim_a_free_port(void **state)
{
	struct serialport_owners t = {0};
	int a = 0, b = 0;
	char err[160] = "";

	(void)state;
	assert_int_equal(serialport_claim(&t, 0x2f8, &a, "a", 0x3f8, probe, err,
					  sizeof(err)),
			 1);
	assert_string_equal(err, "");
	assert_int_equal(serialport_owned_by(&t, &a), 1);
	assert_int_equal(serialport_owned_by(&t, &b), -1);
	assert_int_equal(serialport_owned_by(&t, NULL), -1);
	assert_int_equal(probes, 1);
	/* Its own again (a reboot): granted, the UART not probed again. */
	assert_int_equal(serialport_claim(&t, 0x2f8, &a, "a", 0x3f8, probe, err,
					  sizeof(err)),
			 1);
	assert_int_equal(probes, 1);
	/* Another guest, another port. */
	assert_int_equal(serialport_claim(&t, 0x3e8, &b, "b", 0x3f8, probe, err,
					  sizeof(err)),
			 2);
	assert_int_equal(serialport_owned_by(&t, &b), 2);
}

/* Exactly one guest per port; the refusal names the owner. */
static void test_one_guest_per_port(void **state)
{
	struct serialport_owners t = {0};
	int a = 0, b = 0;
	char err[160];

	(void)state;
	assert_int_equal(serialport_claim(&t, 0x2f8, &a, "alpha", 0x3f8, probe,
					  err, sizeof(err)),
			 1);
	assert_int_equal(serialport_claim(&t, 0x2f8, &b, "beta", 0x3f8, probe,
					  err, sizeof(err)),
			 -1);
	assert_string_equal(err, "console: com2 (0x2f8) is already guest "
				 "alpha's: one guest per port");
	assert_int_equal(serialport_owned_by(&t, &b), -1);
	assert_int_equal(serialport_owned_by(&t, &a), 1);
	assert_int_equal(probes, 1);
}

/* Veneer's console is nobody's, wherever serial= put it. */
static void test_never_the_console(void **state)
{
	struct serialport_owners t = {0};
	int a = 0;
	char err[160];

	(void)state;
	assert_int_equal(serialport_claim(&t, 0x3f8, &a, "a", 0x3f8, probe, err,
					  sizeof(err)),
			 -1);
	assert_string_equal(err,
			    "console: com1 (0x3f8) is Veneer's own console: a "
			    "guest cannot have it (give Veneer another with "
			    "serial=, or the guest another port)");
	/* serial=ttyS1: then COM2 is the console, and COM1 is free. */
	assert_int_equal(serialport_claim(&t, 0x2f8, &a, "a", 0x2f8, probe, err,
					  sizeof(err)),
			 -1);
	assert_int_equal(serialport_claim(&t, 0x3f8, &a, "a", 0x2f8, probe, err,
					  sizeof(err)),
			 0);
	assert_int_equal(probes, 1); /* the console was never probed */
}

/* No UART there: refused, naming the port and why; not recorded. */
static void test_a_port_that_does_not_exist(void **state)
{
	struct serialport_owners t = {0};
	int a = 0, b = 0;
	char err[160];

	(void)state;
	assert_int_equal(serialport_claim(&t, 0x2e8, &a, "a", 0x3f8, probe, err,
					  sizeof(err)),
			 -1);
	assert_string_equal(err, "console: com4 (0x2e8): no serial port there "
				 "(its line status register reads 0xff)");
	assert_int_equal(serialport_owned_by(&t, &a), -1);
	/* Not taken: another guest may still try it (and fail alike). */
	present[0x2e8] = true;
	assert_int_equal(serialport_claim(&t, 0x2e8, &b, "b", 0x3f8, probe, err,
					  sizeof(err)),
			 3);
}

/* Only the four COM ports. */
static void test_not_a_com_port(void **state)
{
	struct serialport_owners t = {0};
	int a = 0;
	char err[160];

	(void)state;
	present[0x2f0] = true;
	assert_int_equal(serialport_claim(&t, 0x2f0, &a, "a", 0x3f8, probe, err,
					  sizeof(err)),
			 -1);
	assert_string_equal(err, "console: port 0x2f0 is not com1-com4 "
				 "(0x3f8, 0x2f8, 0x3e8, 0x2e8)");
	assert_int_equal(probes, 0);
}

/* A guest that was not created gives its port back; nobody else's. */
static void test_release(void **state)
{
	struct serialport_owners t = {0};
	int a = 0, b = 0;
	char err[160];

	(void)state;
	assert_int_equal(serialport_claim(&t, 0x2f8, &a, "a", 0x3f8, probe, err,
					  sizeof(err)),
			 1);
	assert_int_equal(serialport_release(&t, &b), -1);
	assert_int_equal(serialport_owned_by(&t, &a), 1);
	assert_int_equal(serialport_release(&t, &a), 1);
	assert_int_equal(serialport_owned_by(&t, &a), -1);
	assert_int_equal(serialport_release(&t, &a), -1);
	/* Free again: the next guest gets it (probed afresh). */
	assert_int_equal(serialport_claim(&t, 0x2f8, &b, "b", 0x3f8, probe, err,
					  sizeof(err)),
			 1);
	assert_int_equal(probes, 2);
}

/* Every port can have its own guest, all four at once. */
static void test_four_guests_four_ports(void **state)
{
	struct serialport_owners t = {0};
	int g[SERIALPORT_COUNT] = {0};
	char err[160];

	(void)state;
	present[0x2e8] = true;
	for (int i = 0; i < SERIALPORT_COUNT; i++)
		assert_int_equal(serialport_claim(&t, serialport_defs[i].base,
						  &g[i], "g", 0x1000, probe,
						  err, sizeof(err)),
				 i);
	for (int i = 0; i < SERIALPORT_COUNT; i++)
		assert_int_equal(serialport_owned_by(&t, &g[i]), i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_names, setup),
	    cmocka_unit_test_setup(test_index, setup),
	    cmocka_unit_test_setup(test_claim_a_free_port, setup),
	    cmocka_unit_test_setup(test_one_guest_per_port, setup),
	    cmocka_unit_test_setup(test_never_the_console, setup),
	    cmocka_unit_test_setup(test_a_port_that_does_not_exist, setup),
	    cmocka_unit_test_setup(test_not_a_com_port, setup),
	    cmocka_unit_test_setup(test_release, setup),
	    cmocka_unit_test_setup(test_four_guests_four_ports, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
