/* SPDX-License-Identifier: MIT */
/*
 * Host stand-ins for printk() and panic() (core/lib/printk.h), for unit tests.
 *
 * printk() appends to an in-memory log that tests inspect; panic() records
 * its message and then fails through cmocka's mock_assert(), so a test can
 * wrap a call that must panic in expect_assert_failure().
 */
#ifndef VENEER_TESTS_UNIT_HOST_PRINTK_H
#define VENEER_TESTS_UNIT_HOST_PRINTK_H

/* Everything printk() wrote since the last reset (truncated at 64 KiB). */
const char *host_printk_text(void);
void host_printk_reset(void);

/* The message of the most recent panic(), or "" when none happened. */
const char *host_panic_text(void);

#endif /* VENEER_TESTS_UNIT_HOST_PRINTK_H */
