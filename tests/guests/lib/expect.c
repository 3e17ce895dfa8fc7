/* SPDX-License-Identifier: MIT */
/*
 * The PASS/FAIL convention shared by all guests (see tests/guests/README.md).
 */
#include "tests/guests/lib/guest.h"

unsigned guest_failures;

bool expect_u64(u64 got, u64 expected, const char *what)
{
	if (got == expected) {
		guest_printf("PASS: %s\n", what);
		return true;
	}
	guest_printf("FAIL: %s (0x%llx != 0x%llx)\n", what,
		     (unsigned long long)got, (unsigned long long)expected);
	guest_failures++;
	return false;
}

bool expect_true(bool ok, const char *what)
{
	if (ok) {
		guest_printf("PASS: %s\n", what);
		return true;
	}
	guest_printf("FAIL: %s (false != true)\n", what);
	guest_failures++;
	return false;
}

void guest_pass(const char *what)
{
	guest_printf("PASS: %s\n", what);
}

void guest_fail(const char *what)
{
	guest_printf("FAIL: %s\n", what);
	guest_failures++;
}

void guest_skip(const char *what)
{
	guest_printf("SKIP: %s\n", what);
}

__noreturn void guest_finish(void)
{
	if (guest_failures) {
		guest_printf("%u check%s failed\nFAIL\n", guest_failures,
			     guest_failures == 1 ? "" : "s");
		guest_exit(1);
	}
	guest_printf("PASS\n");
	guest_exit(0);
}
