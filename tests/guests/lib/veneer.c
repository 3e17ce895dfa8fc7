/* SPDX-License-Identifier: MIT */
/*
 * Are we a guest of Veneer? Checks that only make sense under Veneer ask
 * this and print SKIP natively.
 */
#include "tests/guests/lib/guest.h"

bool under_veneer(void)
{
	/* Leaves 0x40000000-0x400000FF are reserved for hypervisors (SDM
	 * Vol. 2A CPUID, "Hypervisor"); natively they read as whatever the
	 * CPU returns for an unknown leaf, never this signature. */
	struct cpuid_regs r = cpuid(VENEER_CPUID_LEAF, 0);
	return r.ebx == VENEER_SIGNATURE_EBX && r.ecx == VENEER_SIGNATURE_ECX &&
	       r.edx == VENEER_SIGNATURE_EDX;
}
