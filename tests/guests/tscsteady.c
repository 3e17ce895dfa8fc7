/* SPDX-License-Identifier: MIT */
/*
 * tscsteady: the guest's TSC advances at a steady rate whether or not the
 * guest exits (issue 16, item 14; docs/guests.md "The guest's clock").
 *
 * A kernel that times a loop in TSC cycles must see the loop end after
 * about as many cycles as it asked for, even when every iteration exits to
 * the hypervisor. The guest runs CPUID (an exit under Veneer) until the TSC
 * has moved on by `ticks=N` (default 2^24); under Veneer each iteration
 * costs the guest the hypervisor's handling of its exit too (hundreds of
 * TSC ticks under QEMU -icount and in Bochs, where the TSC counts
 * instructions), so the loop must end within `max=M` iterations (default
 * N / 64). A clock that stopped during exits would need about N / 4.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define DEFAULT_TICKS (1ULL << 24)
#define DEFAULT_MAX   (DEFAULT_TICKS / 64)

void guest_main(const struct multiboot_info *mbi)
{
	const char *cmdline = guest_cmdline(mbi);
	const char *given;
	u64 ticks = DEFAULT_TICKS, max = DEFAULT_MAX, iterations = 0;
	u64 start;

	given = cmdline_value(cmdline, "ticks");
	if (given && !parse_u64(given, &ticks)) {
		guest_fail("command line ticks= is not a number");
		return;
	}
	given = cmdline_value(cmdline, "max");
	if (given && !parse_u64(given, &max)) {
		guest_fail("command line max= is not a number");
		return;
	}
	if (!under_veneer()) {
		guest_skip("the TSC across exits: not under Veneer");
		return;
	}
	start = rdtsc();
	while (rdtsc() - start < ticks && iterations <= max) {
		(void)cpuid(0, 0);
		iterations++;
	}
	guest_printf("tscsteady: %llu ticks took %llu exiting iterations\n",
		     (unsigned long long)ticks, (unsigned long long)iterations);
	EXPECT_TRUE(iterations <= max,
		    "the TSC runs on while Veneer handles the guest's exits");
	EXPECT_TRUE(iterations > 0, "the loop ran");
}
