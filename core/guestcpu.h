/* SPDX-License-Identifier: MIT */
/*
 * Facts about the CPU a guest sees that its model-specific registers depend
 * on (core/msr.c), and the IA32_MISC_ENABLE bits that change what CPUID
 * says (core/cpuid.c).
 *
 * A guest sees the host's CPUID vendor string and, for the feature bits
 * read here, the host's bits: core/cpuid.c passes leaf 0, CPUID.1:ECX[14],
 * CPUID.7.0:EBX[1] and CPUID.80000001H:EDX[20] through unchanged. They are
 * facts of the host, the same for every guest: nothing here is per-guest
 * state. This is the one place core/ names a vendor, by the string a
 * guest reads itself, for the few MSRs one vendor has and the other not.
 */
#ifndef VENEER_CORE_GUESTCPU_H
#define VENEER_CORE_GUESTCPU_H

#include "core/lib/types.h"

struct guestcpu_facts {
	/*
	 * Vendor "AuthenticAMD" or "HygonGenuine" (Hygon's CPUs follow the
	 * AMD manuals): AMD's MSRs, no IA32_MISC_ENABLE. Anything else
	 * ("GenuineIntel", ...) follows the Intel SDM.
	 */
	bool amd;
	u32 max_basic_leaf; /* CPUID.0:EAX */
	bool tsc_adjust;    /* CPUID.(EAX=7,ECX=0):EBX[1]: IA32_TSC_ADJUST */
	bool xtpr;	    /* CPUID.1:ECX[14]: xTPR update control */
	bool nx;	    /* CPUID.80000001H:EDX[20]: execute disable */
};

/* The facts for the CPU this runs on (host unit tests supply their own). */
void guestcpu_facts(struct guestcpu_facts *f);

/*
 * IA32_MISC_ENABLE (SDM Vol. 4, Table 2-2) as Veneer models it for a guest
 * that is not AMD (docs/guests.md): the bits the architecture lets
 * software change are kept, the read-only ones are fixed, every other bit
 * is reserved (#GP).
 */
#define MISC_ENABLE_FAST_STRINGS BIT(0)	 /* R/W */
#define MISC_ENABLE_AUTO_THERMAL BIT(3)	 /* R/W, no effect */
#define MISC_ENABLE_PERFMON	 BIT(7)	 /* RO: 0, no PMU (CPUID.0AH) */
#define MISC_ENABLE_BTS_UNAVAIL	 BIT(11) /* RO: 1 */
#define MISC_ENABLE_PEBS_UNAVAIL BIT(12) /* RO: 1 */
#define MISC_ENABLE_LIMIT_CPUID	 BIT(22) /* R/W: CPUID.0:EAX reads 2 */
#define MISC_ENABLE_XTPR_DISABLE BIT(23) /* R/W, no effect */
#define MISC_ENABLE_XD_DISABLE	 BIT(34) /* R/W: no NX in CPUID, EFER */
#define MISC_ENABLE_POWER_ON                                                   \
	(MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_AUTO_THERMAL |                 \
	 MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)
#define MISC_ENABLE_READ_ONLY                                                  \
	(MISC_ENABLE_PERFMON | MISC_ENABLE_BTS_UNAVAIL |                       \
	 MISC_ENABLE_PEBS_UNAVAIL)

/*
 * The guest's IA32_MISC_ENABLE from what struct vm keeps: the bits it
 * changed from their power-on values (zero for a new guest, and on AMD).
 */
static inline u64 misc_enable_value(u64 flipped)
{
	return MISC_ENABLE_POWER_ON ^ flipped;
}

#endif /* VENEER_CORE_GUESTCPU_H */
