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
 *
 * A guest may own a physical serial port instead (console = com2,
 * docs/console.md, "A serial port of its own"): its UART's bytes then go
 * out on that port as they are, the port's input comes to its UART, and
 * it is not in the focus ring; the hypervisor console never carries its
 * text, and its port nobody else's.
 */
#ifndef VENEER_CORE_CONSOLE_H
#define VENEER_CORE_CONSOLE_H

#include "core/lib/types.h"

struct vm;

/*
 * The guest's COM1 (a 16550 at 0x3F8-0x3FF, IRQ 4 through the platform):
 * its output becomes console lines, or goes to the serial port it owns
 * (console_claim_port), its registers go on `vm`'s port bus. Call first,
 * on the empty bus of a new or rebooting guest (the UART is then the
 * first handler the bus looks at, which keeps console I/O fast);
 * vm->platform must be set before the guest runs.
 */
void console_attach(struct vm *vm);

/*
 * Give `vm` the serial port at I/O base `base` (its declaration's console
 * = comN) for its whole life, before its first console_attach: set up at
 * the console's speed, 8N1, polled. A guest that has it already keeps it
 * (a start after its end). False, with err naming the port and why
 * (core/serialport.h), when it is Veneer's console, another guest's, or no
 * UART answers there: the guest must then not be created. vm->name must
 * be set.
 */
bool console_claim_port(struct vm *vm, u16 base, char *err, size_t len);
/* The guest was not created after all: its port, if any, is free again. */
void console_release_port(struct vm *vm);
/*
 * The name of the serial port `vm` owns ("com2"), or NULL when its text
 * goes to the hypervisor console (the shell's list shows it).
 */
const char *console_port_of(const struct vm *vm);

/*
 * Each guest's "[NAME]" tag in a colour of its own (core/tagcolor.h) or
 * plain (the default): color= on the command line, [veneer] color. The
 * hypervisor's lines are never coloured. Any time, any CPU.
 */
void console_set_color(bool on);
/*
 * The tag style to hand to printk_set_tag_style() (core/lib/printk.h) once
 * at boot: the colour of the guest `owner` (a struct vm) while colour is
 * on, else NULL.
 */
const char *console_tag_style(const void *owner);

/*
 * Console input (docs/console.md): one guest, or the operator shell, has
 * the focus; Ctrl-A typed three times in a row moves it to the next guest
 * in start order, then to the shell, then back to the first guest.
 */

/* Put `vm` in the focus ring; the first guest offered gets the focus. A
 * guest with a serial port of its own is never put there, but the shell
 * knows it all the same (list, stop, restart ...). */
void console_offer_focus(struct vm *vm);
/* The operator shell on (the default) or off: shell=off on the command
 * line. Set before the guests start. */
void console_set_shell(bool on);
/* Say on the console who has the focus (once the guests are created). */
void console_announce_focus(void);
bool console_has_focus(const struct vm *vm);
/* Whether console input can ever reach `vm`: it is in the focus ring. */
bool console_reaches(const struct vm *vm);
/*
 * Whether typing could wake `vm` from HLT: input can reach it (the focus
 * ring, or its own port) and its UART raises an interrupt when a byte
 * arrives (IER bit 0), or (its own port) it waits for THR empty with that
 * interrupt on. A guest that polls its UART, or never reads it, cannot be
 * woken by the console.
 */
bool console_can_wake(const struct vm *vm);
/*
 * On the CPU running `vm` (NULL: an idle CPU), at most every millisecond:
 * move bytes waiting in the host UART into `vm`'s UART while it has the
 * focus, or into the operator shell while that has it; for a guest with a
 * port of its own, that port's bytes into its UART. An idle CPU also keeps
 * the guests' ports' FIFOs going (drivers/uart.h, the lines). Never
 * touches another guest.
 */
void console_poll(struct vm *vm);

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
