/* SPDX-License-Identifier: MIT */
/*
 * tscaux: RDTSCP returns in ECX the IA32_TSC_AUX the guest wrote (SDM Vol.
 * 2B RDTSCP, APM Vol. 3 RDTSCP), and RDMSR reads the same value back, also
 * after exits of every kind in between (CPUID, port I/O, MSR accesses).
 *
 * AMD-V used to keep the written value in core and leave the CPU's
 * register as it was, so RDTSCP returned a stale value (issue 16 item 2).
 * Skipped where CPUID 0x80000001 EDX[27] (RDTSCP) is clear.
 */
#include "tests/guests/lib/guest.h"

#define MSR_TSC_AUX	       0xc0000103
#define CPUID_EXT_FEATURES     0x80000001
#define CPUID_EXT1_EDX_RDTSCP  BIT(27)
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define UART_SCRATCH	       (UART_BASE + UART_SCR)

static u32 rdtscp_aux(void)
{
	u32 lo, hi, aux;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	(void)lo;
	(void)hi;
	return aux;
}

/* A few exits of different kinds. */
static void some_exits(void)
{
	(void)cpuid(0, 0);
	outb(UART_SCRATCH, 0x5a);
	(void)inb(UART_SCRATCH);
	(void)rdmsr(MSR_IA32_MTRR_DEF_TYPE);
}

static void check_value(u32 value)
{
	wrmsr(MSR_TSC_AUX, value);
	EXPECT_EQ(rdmsr(MSR_TSC_AUX), value, "RDMSR IA32_TSC_AUX reads back");
	EXPECT_EQ(rdtscp_aux(), value, "RDTSCP returns IA32_TSC_AUX in ECX");
	some_exits();
	EXPECT_EQ(rdtscp_aux(), value, "... also after exits");
	EXPECT_EQ(rdmsr(MSR_TSC_AUX), value, "... and RDMSR too");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	if (cpuid(0x80000000, 0).eax < CPUID_EXT_FEATURES ||
	    !(cpuid(CPUID_EXT_FEATURES, 0).edx & CPUID_EXT1_EDX_RDTSCP)) {
		guest_skip("RDTSCP (not in CPUID)");
		guest_finish();
	}
	check_value(0x1234);
	check_value(0xfedcba98);
	check_value(0);
}
