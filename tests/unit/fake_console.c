/* SPDX-License-Identifier: MIT */
/*
 * Link-time stand-ins for core/console.c in the tests of the decide half:
 * no host UART, no focus; calls are counted (fake_console_calls).
 */
#include "core/console.h"
#include "tests/unit/fake_console.h"

struct fake_console_calls fake_console_calls;

void console_offer_focus(struct vm *vm)
{
	(void)vm;
}

bool console_has_focus(const struct vm *vm)
{
	(void)vm;
	return fake_console_calls.has_focus;
}

bool console_reaches(const struct vm *vm)
{
	(void)vm;
	return fake_console_calls.has_focus;
}

bool console_can_wake(const struct vm *vm)
{
	(void)vm;
	return fake_console_calls.has_focus;
}

void console_set_shell(bool on)
{
	(void)on;
}

void console_announce_focus(void)
{
}

void console_poll(struct vm *vm)
{
	(void)vm;
	fake_console_calls.polls++;
}

void console_flush_stale(struct vm *vm)
{
	(void)vm;
	fake_console_calls.flushes++;
}

void console_writer_halted(struct vm *vm)
{
	(void)vm;
	fake_console_calls.writer_halts++;
}

u64 console_next_due(const struct vm *vm)
{
	(void)vm;
	return ~0ull;
}

void console_end_guest_output(struct vm *vm)
{
	(void)vm;
	fake_console_calls.ends++;
}
