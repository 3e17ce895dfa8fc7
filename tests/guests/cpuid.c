/* SPDX-License-Identifier: MIT */
/*
 * cpuid: what CPUID tells a guest.
 *
 * Everywhere: the basic and extended leaves answer sanely (a known vendor,
 * leaf 1 present, a family, the extended range reaching 0x80000001).
 * Under Veneer only: CPUID.1:ECX[31] (hypervisor present) is set, VMX
 * (CPUID.1:ECX[5]) and SVM (CPUID.80000001H:ECX[2]) are hidden, and leaf
 * 0x40000000 carries the signature "VENEERVENEER" with EAX = 0x40000001.
 * Natively those are printed as SKIP (QEMU TCG shows SVM, for instance).
 */
#include "tests/guests/lib/guest.h"

#define CPUID_1_ECX_VMX	       BIT(5)  /* SDM Vol. 2A CPUID, table 3-10 */
#define CPUID_1_ECX_HYPERVISOR BIT(31) /* reserved for hypervisors */
#define CPUID_80000001_ECX_SVM BIT(2)  /* APM Vol. 3 E.4.2 */

/* The 12-byte vendor string of leaf 0, in EBX, EDX, ECX order. */
static void vendor_string(struct cpuid_regs r, char out[13])
{
	const u32 parts[3] = {r.ebx, r.edx, r.ecx};
	unsigned i;
	for (i = 0; i < 12; i++)
		out[i] = (char)(parts[i / 4] >> (8 * (i % 4)));
	out[12] = '\0';
}

static bool str_equal(const char *a, const char *b)
{
	return str_len(a) == str_len(b) && str_starts_with(a, b);
}

static void check_basic_leaves(void)
{
	struct cpuid_regs leaf0 = cpuid(0, 0), leaf1, ext;
	char vendor[13];
	u32 family;
	vendor_string(leaf0, vendor);
	guest_printf("cpuid: vendor \"%s\", max basic leaf 0x%x\n", vendor,
		     leaf0.eax);
	EXPECT_TRUE(str_equal(vendor, "GenuineIntel") ||
			str_equal(vendor, "AuthenticAMD"),
		    "leaf 0 vendor is GenuineIntel or AuthenticAMD");
	EXPECT_TRUE(leaf0.eax >= 1, "leaf 0 reports leaf 1");

	/* SDM Vol. 2A CPUID, figure 3-6: family in EAX[11:8], plus the
	 * extended family EAX[27:20] when the family is 0xF. */
	leaf1 = cpuid(1, 0);
	family = (leaf1.eax >> 8) & 0xf;
	if (family == 0xf)
		family += (leaf1.eax >> 20) & 0xff;
	guest_printf("cpuid: leaf 1 eax 0x%08x ecx 0x%08x edx 0x%08x, "
		     "family %u\n",
		     leaf1.eax, leaf1.ecx, leaf1.edx, family);
	EXPECT_TRUE(family != 0, "leaf 1 reports a CPU family");
	/* EDX[0] FPU and EDX[4] TSC: every x86-64 CPU has them. */
	EXPECT_EQ(leaf1.edx & (BIT(0) | BIT(4)), BIT(0) | BIT(4),
		  "leaf 1 reports FPU and TSC");

	ext = cpuid(0x80000000, 0);
	guest_printf("cpuid: max extended leaf 0x%x\n", ext.eax);
	EXPECT_TRUE(ext.eax >= 0x80000001 && ext.eax < 0x80010000,
		    "extended leaves reach 0x80000001");
	/* EDX[29]: long mode, present on every CPU Veneer runs on. */
	EXPECT_EQ(cpuid(0x80000001, 0).edx & BIT(29), BIT(29),
		  "leaf 0x80000001 reports long mode");
}

static void check_veneer_view(void)
{
	struct cpuid_regs leaf1 = cpuid(1, 0);
	struct cpuid_regs ext1 = cpuid(0x80000001, 0);
	struct cpuid_regs hv = cpuid(VENEER_CPUID_LEAF, 0);

	EXPECT_EQ(leaf1.ecx & CPUID_1_ECX_HYPERVISOR, CPUID_1_ECX_HYPERVISOR,
		  "CPUID.1:ECX[31] hypervisor bit set");
	EXPECT_EQ(leaf1.ecx & CPUID_1_ECX_VMX, 0, "CPUID.1:ECX[5] VMX hidden");
	EXPECT_EQ(ext1.ecx & CPUID_80000001_ECX_SVM, 0,
		  "CPUID.80000001H:ECX[2] SVM hidden");
	EXPECT_EQ(hv.ebx, VENEER_SIGNATURE_EBX, "leaf 0x40000000 EBX \"VENE\"");
	EXPECT_EQ(hv.ecx, VENEER_SIGNATURE_ECX, "leaf 0x40000000 ECX \"ERVE\"");
	EXPECT_EQ(hv.edx, VENEER_SIGNATURE_EDX, "leaf 0x40000000 EDX \"NEER\"");
	EXPECT_EQ(hv.eax, VENEER_CPUID_MAX_LEAF,
		  "leaf 0x40000000 EAX = highest hypervisor leaf 0x40000001");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	check_basic_leaves();
	if (under_veneer()) {
		check_veneer_view();
		return;
	}
	guest_skip("hypervisor bit set (not under Veneer)");
	guest_skip("VMX hidden (not under Veneer)");
	guest_skip("SVM hidden (not under Veneer)");
	guest_skip("leaf 0x40000000 signature VENEERVENEER (not under Veneer)");
}
