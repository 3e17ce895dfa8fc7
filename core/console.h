/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console's input side: characters typed on the serial
 * console go to the guest that has the focus (the first guest started).
 */
#ifndef VENEER_CORE_CONSOLE_H
#define VENEER_CORE_CONSOLE_H

#include "core/types.h"

struct vm;

/* Give the console input to `vm` if no guest has it yet. */
void console_offer_focus(struct vm *vm);
bool console_has_focus(const struct vm *vm);
/*
 * On the CPU running `vm`: move bytes waiting in the host UART into the
 * guest's UART, at most every millisecond. Does nothing without focus.
 */
void console_poll(struct vm *vm);

#endif /* VENEER_CORE_CONSOLE_H */
