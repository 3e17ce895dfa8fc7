/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console, guest side: characters typed on the serial
 * console go to the guest that has the focus (the first guest started);
 * guests' output is shown as "[NAME] text" lines, and a partial line (a
 * prompt) is shown once the guest has stopped writing for a moment.
 *
 * Every console line with guest text starts with "[NAME] " and the text
 * cannot end or rewrite the line (console_write_tagged(), core/lib/
 * printk.h), so a guest cannot print what looks like a hypervisor line.
 * The console hands input to the virtual platform (core/platform.h); the
 * platform never calls the console.
 */
#ifndef VENEER_CORE_CONSOLE_H
#define VENEER_CORE_CONSOLE_H

#include "core/lib/types.h"

struct vm;

/*
 * The guest's COM1 (a 16550 at 0x3F8-0x3FF, IRQ 4 through the platform):
 * its output becomes console lines, its registers go on `vm`'s port bus.
 * Call first, on the empty bus of a new or rebooting guest (the UART is
 * then the first handler the bus looks at, which keeps console I/O fast);
 * vm->platform must be set before the guest runs.
 */
void console_attach(struct vm *vm);

/* Give the console input to `vm` if no guest has it yet. */
void console_offer_focus(struct vm *vm);
bool console_has_focus(const struct vm *vm);
/*
 * On the CPU running `vm`: move bytes waiting in the host UART into the
 * guest's UART, at most every millisecond. Does nothing without focus.
 */
void console_poll(struct vm *vm);

/* The guest wrote to its UART: (re)start the clock for showing a partial
 * line. */
void console_output_started(struct vm *vm);

/*
 * Show what the guest wrote without a newline once it has waited 20 ms
 * (a prompt); called on the guest's CPU with console_poll().
 */
void console_flush_stale(struct vm *vm);

/*
 * Host TSC at which console_poll() or console_flush_stale() next has work
 * for `vm` (~0 for never). Valid until the guest writes to its UART.
 */
u64 console_next_due(const struct vm *vm);

/*
 * The guest ends or reboots: send out its partial line and end it. (When a
 * guest just stops, vuart_flush() is enough: the next hypervisor line
 * starts on a line of its own anyway.)
 */
void console_end_guest_output(struct vm *vm);

#endif /* VENEER_CORE_CONSOLE_H */
