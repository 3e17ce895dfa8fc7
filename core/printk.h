/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's console output and its host-fatal stop.
 *
 * The hypervisor implements both on top of its UART; the host unit tests link
 * tests/unit/host_printk.c instead, which records the text for assertions.
 */
#ifndef VENEER_CORE_PRINTK_H
#define VENEER_CORE_PRINTK_H

#include "core/types.h"

/* Formats like snformat() (core/format.h) and writes to the console. */
void printk(const char *fmt, ...) __printf(1, 2);

/* Prints the message and stops the machine: a host-fatal error. */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

#endif /* VENEER_CORE_PRINTK_H */
