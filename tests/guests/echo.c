/* SPDX-License-Identifier: MIT */
/*
 * echo: reads console input from its UART (polling the line status
 * register) and answers every line with `echo: got 'LINE'`, so a test can
 * tell which guest the console's input reached. `quit` ends it with exit
 * code 0; `busy` makes it spin for ever without a single exit (only the
 * operator's stop, which kicks its CPU, ends it then); a control byte is
 * shown as ^X (Ctrl-A as ^A).
 *
 * Command line: name=NAME (printed in every answer, default "echo").
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define UART_RBR    0	 /* receive buffer (read), DLAB=0 */
#define UART_LSR_DR 0x01 /* data ready */
#define LINE_MAX    120

static int read_byte(void)
{
	if (!(inb(UART_BASE + UART_LSR) & UART_LSR_DR))
		return -1;
	return inb(UART_BASE + UART_RBR);
}

void guest_main(const struct multiboot_info *mbi)
{
	static char line[LINE_MAX * 2 + 1];
	const char *cmdline = guest_cmdline(mbi);
	const char *tag = cmdline_value(cmdline, "tag");
	char name[32] = "echo";
	unsigned len = 0;

	if (tag) {
		unsigned i = 0;
		while (tag[i] && tag[i] != ' ' && i < sizeof(name) - 1) {
			name[i] = tag[i];
			i++;
		}
		name[i] = '\0';
	}
	guest_printf("echo %s: ready for input\n", name);
	for (;;) {
		int c = read_byte();
		if (c < 0) {
			__asm__ volatile("pause");
			continue;
		}
		if (c == '\r' || c == '\n') {
			line[len] = '\0';
			if (len == 4 && line[0] == 'q' && line[1] == 'u' &&
			    line[2] == 'i' && line[3] == 't') {
				guest_printf("echo %s: bye\n", name);
				return;
			}
			if (len == 4 && line[0] == 'b' && line[1] == 'u' &&
			    line[2] == 's' && line[3] == 'y') {
				guest_printf("echo %s: busy\n", name);
				serial_drain();
				/* A counter, not `jmp .`: Bochs treats a jump
				 * to itself with interrupts off as the end. */
				__asm__ volatile("cli");
				for (volatile u32 spins = 0;; spins++)
					;
			}
			if (len)
				guest_printf("echo %s: got '%s'\n", name, line);
			len = 0;
			continue;
		}
		if (len >= LINE_MAX * 2 - 1)
			continue;
		if (c < 0x20) {
			line[len++] = '^';
			line[len++] = (char)(c + 0x40);
		} else {
			line[len++] = (char)c;
		}
	}
}
