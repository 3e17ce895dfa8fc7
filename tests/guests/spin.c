/* SPDX-License-Identifier: MIT */
/*
 * spin: a guest that does nothing but cause VM exits, to show that a guest
 * busy with exits on its own CPU does not hold up the other guests.
 *
 * It writes to the unowned I/O port 0x2f0 in a tight loop, each write one
 * exit that Veneer handles (unowned ports drop writes), `exits=N` times
 * (default 100000), then prints `spin: N exits done` and exits 0. A harness
 * runs it next to a short guest and checks that the short guest ends while
 * spin is still looping.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define UNOWNED_PORT  0x2f0
#define DEFAULT_EXITS 100000ULL

void guest_main(const struct multiboot_info *mbi)
{
	const char *given = cmdline_value(guest_cmdline(mbi), "exits");
	u64 exits = DEFAULT_EXITS;
	if (given && !parse_u64(given, &exits)) {
		guest_fail("command line exits= is not a number");
		return;
	}
	guest_printf("spin: %llu exits to port 0x%x\n",
		     (unsigned long long)exits, UNOWNED_PORT);
	for (u64 i = 0; i < exits; i++)
		outb(UNOWNED_PORT, (u8)i);
	guest_printf("spin: %llu exits done\n", (unsigned long long)exits);
	/* The port dropped every write: it still reads all ones. */
	EXPECT_EQ(inb(UNOWNED_PORT), 0xff, "unowned port 0x2f0 after the loop");
}
