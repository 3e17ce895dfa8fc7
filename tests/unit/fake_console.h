/* SPDX-License-Identifier: MIT */
/*
 * Link-time stand-ins for core/console.c (tests/unit/fake_console.c).
 */
#ifndef VENEER_TESTS_UNIT_FAKE_CONSOLE_H
#define VENEER_TESTS_UNIT_FAKE_CONSOLE_H

#include "core/lib/types.h"

struct fake_console_calls {
	bool has_focus; /* what console_has_focus() answers */
	u32 polls, flushes, ends, writer_halts;
};

extern struct fake_console_calls fake_console_calls;

#endif /* VENEER_TESTS_UNIT_FAKE_CONSOLE_H */
