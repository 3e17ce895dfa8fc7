/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console, guest side: characters typed on the serial
 * console go to the guest that has the focus (see below) or the operator
 * shell (core/shell.h);
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

/*
 * Console input (docs/console.md): one guest, or the operator shell, has
 * the focus; Ctrl-A typed three times in a row moves it to the next guest
 * in start order, then to the shell, then back to the first guest.
 */

/* Put `vm` in the focus ring; the first guest offered gets the focus. */
void console_offer_focus(struct vm *vm);
/* The operator shell on (the default) or off: shell=off on the command
 * line. Set before the guests start. */
void console_set_shell(bool on);
/* Say on the console who has the focus (once the guests are created). */
void console_announce_focus(void);
bool console_has_focus(const struct vm *vm);
/* Whether input can ever reach `vm`: it is in the focus ring. */
bool console_reaches(const struct vm *vm);
/*
 * Whether typing could wake `vm` from HLT: input can reach it and its
 * UART raises an interrupt when a byte arrives (IER bit 0). A guest that
 * polls its UART, or never reads it, cannot be woken by the console.
 */
bool console_can_wake(const struct vm *vm);
/*
 * On the CPU running `vm` (NULL: an idle CPU), at most every millisecond:
 * move bytes waiting in the host UART into `vm`'s UART while it has the
 * focus, or into the operator shell while that has it. Never touches
 * another guest.
 */
void console_poll(struct vm *vm);

/* The guest wrote to its UART: (re)start the clock for showing a partial
 * line. */
void console_output_started(struct vm *vm);

/*
 * Show what the guest wrote without a newline once it has written
 * nothing for 200 ms; called on the guest's CPU with console_poll().
 */
void console_flush_stale(struct vm *vm);

/*
 * A vCPU of `vm` halts on this CPU: if it wrote the partial line, the
 * guest waits (a prompt waits for input), so show the line now.
 */
void console_writer_halted(struct vm *vm);

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
