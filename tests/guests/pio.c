/* SPDX-License-Identifier: MIT */
/*
 * pio: port I/O as a guest sees it.
 *
 * - The UART scratch register (0x3ff) keeps what was written.
 * - The UART line status (0x3fd) shows the transmitter empty.
 * - A port nobody owns (0x2f0: no device on QEMU's PC nor on Veneer's
 *   virtual platform) reads as all ones in every size (0xff, 0xffff,
 *   0xffffffff) and ignores writes.
 * - String I/O: rep outsb writes a line to the UART (the harness checks it
 *   appears on the console) and rep insb/insw read the unowned port.
 */
#include "tests/guests/lib/guest.h"

#define UNOWNED_PORT 0x2f0
/* What the harness looks for on the console: written by rep outsb alone. */
static const char string_line[] = "pio: this line was written by rep outsb\r\n";

static void check_scratch_register(void)
{
	static const u8 patterns[] = {0x00, 0xff, 0x5a, 0xa5, 0x3c};
	unsigned i;
	bool all_ok = true;
	for (i = 0; i < ARRAY_SIZE(patterns); i++) {
		u8 got;
		outb(UART_BASE + UART_SCR, patterns[i]);
		got = inb(UART_BASE + UART_SCR);
		if (got != patterns[i]) {
			guest_printf("FAIL: UART scratch 0x3ff read back "
				     "(0x%02x != 0x%02x)\n",
				     got, patterns[i]);
			guest_failures++;
			all_ok = false;
		}
	}
	if (all_ok)
		guest_pass("UART scratch register 0x3ff reads back "
			   "00 ff 5a a5 3c");
}

static void check_line_status(void)
{
	/* Read once, no waiting: a virtual transmitter is never busy. */
	u8 lsr = inb(UART_BASE + UART_LSR);
	EXPECT_EQ(lsr & (UART_LSR_THRE | UART_LSR_TEMT),
		  UART_LSR_THRE | UART_LSR_TEMT,
		  "UART LSR 0x3fd shows THR and transmitter empty");
}

static void check_unowned_port(void)
{
	EXPECT_EQ(inb(UNOWNED_PORT), 0xff, "inb from unowned port 0x2f0");
	EXPECT_EQ(inw(UNOWNED_PORT), 0xffff, "inw from unowned port 0x2f0");
	EXPECT_EQ(inl(UNOWNED_PORT), 0xffffffffU,
		  "inl from unowned port 0x2f0");
	outb(UNOWNED_PORT, 0x12);
	outw(UNOWNED_PORT, 0x3456);
	outl(UNOWNED_PORT, 0x789abcdeU);
	EXPECT_EQ(inl(UNOWNED_PORT), 0xffffffffU,
		  "writes to unowned port 0x2f0 ignored");
}

static void check_string_output(void)
{
	const char *src = string_line;
	ureg count = sizeof(string_line) - 1;
	__asm__ volatile("cld; rep outsb"
			 : "+S"(src), "+c"(count)
			 : "d"((u16)UART_BASE)
			 : "memory");
	EXPECT_EQ(count, 0, "rep outsb to 0x3f8 ran ECX down to 0");
	EXPECT_EQ((uintptr_t)(src - string_line), sizeof(string_line) - 1,
		  "rep outsb advanced ESI by the length");
}

static void check_string_input(void)
{
	u8 bytes[8];
	u16 words[4];
	u8 *dst8 = bytes;
	u16 *dst16 = words;
	ureg count = ARRAY_SIZE(bytes);
	unsigned i;
	bool ones = true;
	memset(bytes, 0, sizeof(bytes));
	memset(words, 0, sizeof(words));
	__asm__ volatile("cld; rep insb"
			 : "+D"(dst8), "+c"(count)
			 : "d"((u16)UNOWNED_PORT)
			 : "memory");
	EXPECT_EQ(count, 0, "rep insb from 0x2f0 ran ECX down to 0");
	count = ARRAY_SIZE(words);
	__asm__ volatile("cld; rep insw"
			 : "+D"(dst16), "+c"(count)
			 : "d"((u16)UNOWNED_PORT)
			 : "memory");
	EXPECT_EQ(count, 0, "rep insw from 0x2f0 ran ECX down to 0");
	EXPECT_EQ((uintptr_t)(dst16 - words), ARRAY_SIZE(words),
		  "rep insw advanced EDI by the length");
	for (i = 0; i < ARRAY_SIZE(bytes); i++)
		ones = ones && bytes[i] == 0xff;
	for (i = 0; i < ARRAY_SIZE(words); i++)
		ones = ones && words[i] == 0xffff;
	EXPECT_TRUE(ones, "rep insb/insw from unowned port stored all ones");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	check_scratch_register();
	check_line_status();
	check_unowned_port();
	check_string_output();
	check_string_input();
}
