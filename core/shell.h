/* SPDX-License-Identifier: MIT */
/*
 * The operator shell on the hypervisor console (docs/console.md): a line
 * editor and a few commands that look at the guests and stop or restart
 * them. The console (core/console.c) feeds it the bytes typed while it
 * has the focus; only the console can reach it, never a guest.
 *
 * The shell changes a guest only through requests its own vCPU carries
 * out at its next exit (struct vm.stop_request, .restart_request), and
 * makes that exit come soon (an IPI to its CPU, smp_kick); a guest that
 * does not run (it waits for its first start, or has ended) is started
 * by .restart_request too, which its vCPU 0's CPU waits for
 * (core/guest.c). Everything else it only reads; `log` sets the console's
 * log level (core/lib/printk.h).
 */
#ifndef VENEER_CORE_SHELL_H
#define VENEER_CORE_SHELL_H

#include "core/lib/types.h"

struct vm;

#define SHELL_LINE_MAX 80

struct shell {
	char line[SHELL_LINE_MAX];
	u32 len;
	bool too_long; /* the line overflowed: refused at its end */
};

/*
 * The guests the shell knows: vms[0, count), in start order, those with
 * a serial port of their own too; port_of names a guest's port ("com2"),
 * NULL for none (may itself be NULL: no guest has one).
 */
struct shell_guests {
	struct vm *const *vms;
	u32 count;
	const char *(*port_of)(const struct vm *vm);
};

/* A fresh prompt on a line of its own (the shell got the focus). */
void shell_prompt(struct shell *sh);

/*
 * One byte typed at the shell: printable characters are echoed and kept,
 * backspace / DEL take the last one back, CR or LF runs the line. Other
 * control bytes are ignored; a line longer than SHELL_LINE_MAX - 1 is
 * refused with one line saying so when it ends.
 */
void shell_input(struct shell *sh, u8 c, const struct shell_guests *g);

/* Run one command line (without its line end); used by shell_input. */
void shell_run(const char *line, const struct shell_guests *g);

#endif /* VENEER_CORE_SHELL_H */
