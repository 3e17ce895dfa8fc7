/* SPDX-License-Identifier: MIT */
/*
 * apicoff: the local APIC globally disabled (IA32_APIC_BASE.EN = 0)
 * (issue 16, items 5 and 6).
 *
 * While EN is clear the processor behaves as one without an APIC (SDM Vol.
 * 3A 11.4.3): CPUID.1:EDX.APIC (bit 9) reads 0, and accesses to the APIC
 * page are not the APIC's: they go to the bus, where nothing answers, so a
 * read gives all ones and a write is dropped, without a fault. Setting EN
 * again brings the bit and the registers back. In x2APIC mode the page
 * behaves the same (11.12.1), checked when CPUID offers x2APIC.
 *
 * Natively, QEMU keeps its APIC page mapped while the APIC is disabled and
 * leaves CPUID.1:EDX.APIC clear once it was cleared (the P6 behaviour,
 * SDM Vol. 3A 11.4.3): those checks SKIP there.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_EN	  BIT(11)
#define APIC_BASE_EXTD	  BIT(10)
#define CPUID1_EDX_APIC	  BIT(9)
#define CPUID1_ECX_X2APIC BIT(21)

#define LAPIC_BASE    0xfee00000UL
#define LAPIC_VERSION 0x030
#define LAPIC_SVR     0x0f0
#define LAPIC_ICR_LOW 0x300
/* Version 0x14 or above: an integrated APIC (SDM Vol. 3A 11.4.8). */
#define VERSION_MASK 0xff

static volatile u32 *lapic_reg(u32 reg)
{
	return (volatile u32 *)(LAPIC_BASE + reg);
}

static bool cpuid_apic(void)
{
	return cpuid(1, 0).edx & CPUID1_EDX_APIC;
}

/* The page while nothing is behind it: all ones, writes dropped. */
static void check_page_absent(const char *mode)
{
	u32 got;

	got = *lapic_reg(LAPIC_VERSION);
	guest_printf("apicoff: %s: version register reads 0x%x\n", mode, got);
	if (!under_veneer()) {
		guest_skip("APIC page reads all ones (QEMU keeps it mapped)");
		return;
	}
	EXPECT_EQ(got, 0xffffffff, "APIC page reads all ones");
	EXPECT_EQ(*(volatile u8 *)(LAPIC_BASE + LAPIC_SVR), 0xff,
		  "a byte read gives all ones too");
	/*
	 * SVR enable, then an NMI to self: neither may take effect, and
	 * neither may fault (a #GP would end the guest through the library's
	 * "unexpected #GP" FAIL).
	 */
	*lapic_reg(LAPIC_SVR) = 0x1ff;
	*lapic_reg(LAPIC_ICR_LOW) = 0x40400;
	guest_pass("writes to the APIC page do not fault");
}

static void check_disabled(u64 base)
{
	EXPECT_TRUE(cpuid_apic(), "CPUID.1:EDX.APIC set while enabled");
	wrmsr(MSR_APIC_BASE, base & ~(u64)(APIC_BASE_EN | APIC_BASE_EXTD));
	EXPECT_EQ(rdmsr(MSR_APIC_BASE) & APIC_BASE_EN, 0, "EN reads 0");
	EXPECT_TRUE(!cpuid_apic(), "CPUID.1:EDX.APIC clear while disabled");
	check_page_absent("disabled");
	wrmsr(MSR_APIC_BASE, base);
	if (under_veneer())
		EXPECT_TRUE(cpuid_apic(), "CPUID.1:EDX.APIC set again");
	else
		guest_skip("CPUID.1:EDX.APIC set again (QEMU leaves it clear, "
			   "as P6 processors kept the APIC off until reset)");
	EXPECT_TRUE((*lapic_reg(LAPIC_VERSION) & VERSION_MASK) >= 0x10,
		    "the APIC answers again");
	/* Disabling reset it (11.4.3): the dropped SVR write left no mark. */
	EXPECT_EQ(*lapic_reg(LAPIC_SVR) & 0x100, 0,
		  "the write while disabled was dropped");
}

static void check_x2apic(u64 base)
{
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		guest_skip("APIC page in x2APIC mode (no x2APIC)");
		return;
	}
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	EXPECT_TRUE(cpuid_apic(), "CPUID.1:EDX.APIC set in x2APIC mode");
	check_page_absent("x2APIC mode");
	/* Back to xAPIC mode only through the disabled state (11.12.5). */
	wrmsr(MSR_APIC_BASE, base & ~(u64)(APIC_BASE_EN | APIC_BASE_EXTD));
	wrmsr(MSR_APIC_BASE, base);
}

void guest_main(const struct multiboot_info *mbi)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	(void)mbi;
	if (!EXPECT_TRUE(base & APIC_BASE_EN, "the APIC starts enabled"))
		return;
	EXPECT_TRUE((*lapic_reg(LAPIC_VERSION) & VERSION_MASK) >= 0x10,
		    "the APIC answers while enabled");
	check_disabled(base);
	check_x2apic(base);
}
