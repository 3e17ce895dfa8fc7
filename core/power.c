/* SPDX-License-Identifier: MIT */
#include "core/power.h"
#include "core/format.h"
#include "drivers/uart.h"
#include "arch/x86/cpu.h"

/* QEMU `-device isa-debug-exit,iobase=0xf4,iosize=4`: exits (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
/* Bochs ends the simulation when "Shutdown" is written to this port. */
#define BOCHS_SHUTDOWN_PORT 0x8900

void power_off(enum power_status status)
{
	char line[64];
	const char *s = "Shutdown";

	snformat(line, sizeof(line), "veneer: power off: status %d\n",
		 (int)status);
	/* No lock: power_off also ends a panic, when another CPU may hold it.
	 */
	for (const char *c = line; *c; c++) {
		if (*c == '\n')
			uart_putc('\r');
		uart_putc(*c);
	}
	/* The last bytes must leave the UART before the emulator stops. */
	uart_flush();
	outl(DEBUG_EXIT_PORT, status);
	for (; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	cpu_halt_forever();
}
