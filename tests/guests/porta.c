/* SPDX-License-Identifier: MIT */
/*
 * porta: system control port A at 0x92 (issue 16, item 11).
 *
 * PS/2 layout (IBM PS/2 Hardware Interface Technical Reference, "System
 * Control Port A"): bit 0 alternate (fast) reset, bit 1 alternate A20 gate,
 * bit 3 security lock latch, bit 4 watchdog status, bits 7:6 fixed-disk
 * light. Checked: A20 reads 1 at start (firmware turns it on) and keeps
 * what is written; the light bits read back. Under Veneer also: the
 * reserved and read-only bits 2, 4, 5 read 0, the lock latch stays set,
 * and with bit 1 cleared memory still does not wrap at 1 MiB (Veneer's
 * guests always have A20 on, docs/devices-legacy.md). Natively those SKIP:
 * QEMU keeps every bit as written, and clearing A20 there would wrap the
 * guest's own code.
 *
 * With `reset=1` the guest then sets bit 0 and must be reset at once: it
 * prints "porta: fast reset through port 0x92" first, and FAIL if it is
 * still running afterwards (tests/integration/test_fidelity_platform.py
 * sees the reboot and the line again).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define PORT_A	    0x92
#define PORT_A_RST  0x01
#define PORT_A_A20  0x02
#define PORT_A_LOCK 0x08
#define PORT_A_DISK 0xc0
/* Two addresses 1 MiB apart: the same memory when A20 is masked. */
#define LOW_PROBE  0x00080000UL
#define HIGH_PROBE (LOW_PROBE + MiB)
#define RESET_WAIT 1000000

static void check_a20_never_masked(void)
{
	volatile u32 *low = (volatile u32 *)LOW_PROBE;
	volatile u32 *high = (volatile u32 *)HIGH_PROBE;
	u32 saved_low = *low, saved_high = *high;

	outb(PORT_A, 0);
	EXPECT_EQ(inb(PORT_A) & PORT_A_A20, 0, "A20 bit reads back 0");
	*low = 0x11111111;
	*high = 0x22222222;
	EXPECT_EQ(*low, 0x11111111,
		  "with bit 1 clear, 1 MiB up is still other memory");
	*low = saved_low;
	*high = saved_high;
	outb(PORT_A, PORT_A_A20);
}

static void check_bits(void)
{
	EXPECT_EQ(inb(PORT_A) & PORT_A_A20, PORT_A_A20, "A20 bit reads 1");
	outb(PORT_A, PORT_A_A20 | PORT_A_DISK);
	EXPECT_EQ(inb(PORT_A) & (PORT_A_A20 | PORT_A_DISK),
		  PORT_A_A20 | PORT_A_DISK, "bits 7:6 and 1 read back");
	outb(PORT_A, PORT_A_A20);
	EXPECT_EQ(inb(PORT_A) & (PORT_A_A20 | PORT_A_DISK | PORT_A_RST),
		  PORT_A_A20, "written back to A20 only");
	if (!under_veneer()) {
		guest_skip("reserved bits, lock latch, A20 always on (natively "
			   "QEMU keeps every bit; A20 off would wrap us)");
		return;
	}
	outb(PORT_A, PORT_A_A20 | 0x34);
	EXPECT_EQ(inb(PORT_A), PORT_A_A20, "bits 2, 4, 5 read 0");
	check_a20_never_masked();
	outb(PORT_A, PORT_A_A20 | PORT_A_LOCK);
	outb(PORT_A, PORT_A_A20);
	EXPECT_EQ(inb(PORT_A), PORT_A_A20 | PORT_A_LOCK,
		  "the security lock latch stays set");
}

static void fast_reset(void)
{
	guest_printf("porta: fast reset through port 0x92\n");
	serial_drain();
	outb(PORT_A, inb(PORT_A) & ~PORT_A_RST);
	outb(PORT_A, inb(PORT_A) | PORT_A_RST);
	for (volatile unsigned i = 0; i < RESET_WAIT; i++)
		;
	guest_fail("the guest still runs after the fast reset");
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *reset = cmdline_value(guest_cmdline(mbi), "reset");

	check_bits();
	if (reset && reset[0] == '1')
		fast_reset();
}
