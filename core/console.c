/* SPDX-License-Identifier: MIT */
#include "core/console.h"
#include "core/platform.h"
#include "core/lib/printk.h"
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

/*
 * The delay runs from the guest's last write, not from the first byte of
 * the line: a guest that writes a long line slowly (Bochs with four CPUs,
 * or its CPU held up while another prints) must not see it cut in two.
 */
void console_output_started(struct vm *vm)
{
	vm->partial_since = vm->uart.line_len ? rdtsc() : 0;
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
	console_end_line(vm);
}

/* ---- the guest's COM1 ---- */

/*
 * Guest output on the hypervisor console: "[NAME] text" lines, the text
 * made harmless by console_write_tagged() (core/lib/printk.h). A partial
 * line (a prompt) is shown early; its rest continues it if nothing else
 * was printed meanwhile, else it starts a new "[NAME] " line.
 */
static void console_line(void *opaque, const char *line, u32 len, bool complete)
{
	const struct vm *vm = opaque;

	console_write_tagged(vm, vm->name, line, len, complete);
}

/* UART accesses can change its interrupt line (IRQ 4). */
static u32 uart_read(void *opaque, u16 port, u8 size)
{
	struct vm *vm = opaque;
	u8 v = vuart_read(&vm->uart, port - VUART_COM1_BASE);

	(void)size;
	platform_uart_update_irq(vm->platform);
	return v;
}

static void uart_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct vm *vm = opaque;

	(void)size;
	vuart_write(&vm->uart, port - VUART_COM1_BASE, (u8)value);
	platform_uart_update_irq(vm->platform);
	console_output_started(vm);
}

void console_attach(struct vm *vm)
{
	const struct io_handler uart = {
	    .first = VUART_COM1_BASE,
	    .last = VUART_COM1_BASE + VUART_PORTS - 1,
	    .read = uart_read,
	    .write = uart_write,
	    .opaque = vm,
	    .name = "uart",
	};

	vuart_init(&vm->uart, console_line, vm);
	vm->partial_since = 0;
	/* The first handler on an empty bus: it cannot clash or be full. */
	iobus_register(&vm->io, &uart);
}
