/* SPDX-License-Identifier: MIT */
#include "core/console.h"
#include "core/platform.h"
#include "core/printk.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "drivers/uart.h"

#define POLL_INTERVAL_US      1000
#define PARTIAL_LINE_DELAY_US 20000

static struct vm *focus;
static u64 next_poll;
static u64 partial_line_delay; /* PARTIAL_LINE_DELAY_US in TSC ticks */

void console_offer_focus(struct vm *vm)
{
	if (!focus)
		focus = vm;
}

bool console_has_focus(const struct vm *vm)
{
	return vm && focus == vm;
}

void console_poll(struct vm *vm)
{
	u64 now;
	int c;

	if (!console_has_focus(vm))
		return;
	now = rdtsc();
	if (now < next_poll)
		return;
	next_poll = now + tsc_from_us(POLL_INTERVAL_US);
	/* Leave bytes in the host UART while the guest's FIFO is full. */
	while (vm->uart.rx_count < VUART_RX_SIZE && (c = uart_getc()) >= 0)
		platform_console_input(vm->platform, (u8)c);
}

void console_output_started(struct vm *vm)
{
	if (vm->uart.line_len && !vm->partial_since)
		vm->partial_since = rdtsc();
	else if (!vm->uart.line_len)
		vm->partial_since = 0;
}

void console_flush_stale(struct vm *vm)
{
	if (!vm->partial_since ||
	    rdtsc() - vm->partial_since < tsc_from_us(PARTIAL_LINE_DELAY_US))
		return;
	vm->partial_since = 0;
	vuart_flush(&vm->uart);
}

u64 console_next_due(const struct vm *vm)
{
	u64 due = console_has_focus(vm) ? next_poll : ~0ull;

	if (vm->partial_since) {
		if (!partial_line_delay)
			partial_line_delay = tsc_from_us(PARTIAL_LINE_DELAY_US);
		due = MIN(due, vm->partial_since + partial_line_delay);
	}
	return due;
}

void console_end_guest_output(struct vm *vm)
{
	vuart_flush(&vm->uart);
	vm->partial_since = 0;
	if (vm->console_midline) {
		printk("\n");
		vm->console_midline = false;
	}
}
