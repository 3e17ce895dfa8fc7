/* SPDX-License-Identifier: MIT */
#include "core/console.h"
#include "core/platform.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "drivers/uart.h"

#define POLL_INTERVAL_US 1000

static struct vm *focus;
static u64 next_poll;

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
