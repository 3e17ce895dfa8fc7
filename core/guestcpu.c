/* SPDX-License-Identifier: MIT */
/*
 * The CPU facts a guest's MSRs depend on, from CPUID (core/guestcpu.h).
 */
#include "core/guestcpu.h"
#include "core/lib/string.h"
#include "arch/x86/cpu.h"

#define LEAF_VENDOR	    0x0
#define LEAF_STRUCTURED	    0x7
#define F1_ECX_XTPR	    BIT(14)
#define F7_EBX_TSC_ADJUST   BIT(1)
#define EXT_FEATURES_EDX_NX BIT(20)

/* The 12-byte vendor string is EBX, EDX, ECX (SDM Vol. 2A CPUID leaf 0). */
static bool vendor_is(const struct cpuid_regs *r, const char *name)
{
	char v[12];

	memcpy(v, &r->ebx, 4);
	memcpy(v + 4, &r->edx, 4);
	memcpy(v + 8, &r->ecx, 4);
	return memcmp(v, name, sizeof(v)) == 0;
}

void guestcpu_facts(struct guestcpu_facts *f)
{
	struct cpuid_regs r = cpuid(LEAF_VENDOR);
	u32 max_ext = cpuid(CPUID_LEAF_EXT_MAX).eax;

	memset(f, 0, sizeof(*f));
	f->amd = vendor_is(&r, "AuthenticAMD") || vendor_is(&r, "HygonGenuine");
	f->max_basic_leaf = r.eax;
	if (r.eax >= CPUID_LEAF_FEATURES)
		f->xtpr = cpuid(CPUID_LEAF_FEATURES).ecx & F1_ECX_XTPR;
	if (r.eax >= LEAF_STRUCTURED)
		f->tsc_adjust =
		    cpuid_count(LEAF_STRUCTURED, 0).ebx & F7_EBX_TSC_ADJUST;
	if (max_ext >= CPUID_LEAF_EXT_FEATURES)
		f->nx =
		    cpuid(CPUID_LEAF_EXT_FEATURES).edx & EXT_FEATURES_EDX_NX;
}
