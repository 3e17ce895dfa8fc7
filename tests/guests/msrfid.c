/* SPDX-License-Identifier: MIT */
/*
 * msrfid: the model-specific registers a kernel touches without asking
 * CPUID first, as the CPU vendor's manual says (issue 16 items 1, 8, 9).
 *
 * - AMD (CPUID vendor AuthenticAMD / HygonGenuine): the legacy performance
 *   counters PERF_CTL0-3 (0xc0010000-3) and PERF_CTR0-3 (0xc0010004-7)
 *   exist (APM Vol. 2 13.2.1): no #GP. Under Veneer each PERF_CTL keeps
 *   what is written, a reserved bit is #GP, and the counters never count
 *   (a PERF_CTR reads 0 after any write). IA32_MISC_ENABLE does not
 *   exist: #GP.
 * - Intel: no AMD counters (#GP). IA32_MISC_ENABLE (SDM Vol. 4 Table 2-2)
 *   keeps fast strings (bit 0) when toggled; a reserved bit (1) is #GP;
 *   under Veneer it reads 0x1809 at power-on, limit CPUID maxval (bit 22)
 *   makes CPUID.0:EAX read 2, and XD disable (bit 34) hides NX in CPUID
 *   and makes EFER.NXE reserved.
 * - Both, where CPUID.7.0:EBX[1] says IA32_TSC_ADJUST (0x3b) exists (SDM
 *   Vol. 3B 17.17.3): writing it moves the TSC by the difference; writing
 *   IA32_TSC moves it by as much. Without the bit: #GP under Veneer.
 *
 * Each #GP is caught by the guest's IDT, which resumes after the 2-byte
 * RDMSR / WRMSR. QEMU TCG models some of these MSRs its own way, so the
 * Veneer-only values are SKIP natively.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define MSR_IA32_TSC	     0x10
#define MSR_IA32_TSC_ADJUST  0x3b
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_EFER	     0xc0000080
#define MSR_AMD_PERF_CTL0    0xc0010000
#define MSR_AMD_PERF_CTR0    0xc0010004
#define EFER_NXE	     BIT(11)
#define MISC_FAST_STRINGS    BIT(0)
#define MISC_LIMIT_CPUID     BIT(22)
#define MISC_XD_DISABLE	     (1ULL << 34)
#define PERF_CTL_EN	     BIT(22)
#define PERF_CTL_OS	     BIT(17)
#define PERF_CTL_USR	     BIT(16)
#define PERF_CTL_RESERVED21  BIT(21)
/* How far the TSC is moved: far more than the test takes to run. */
#define TSC_JUMP  (1ULL << 40)
#define TSC_SLACK (1ULL << 34)

static bool faulted(void)
{
	return trap_last.count != 0;
}

static bool rdmsr_gp(u32 index, u64 *value)
{
	trap_record_reset();
	*value = rdmsr(index);
	return faulted();
}

static bool wrmsr_gp(u32 index, u64 value)
{
	trap_record_reset();
	wrmsr(index, value);
	return faulted();
}

static bool vendor_amd(void)
{
	struct cpuid_regs r = cpuid(0, 0);

	/* "AuthenticAMD" and "HygonGenuine" in EBX: "Auth", "Hygo". */
	return r.ebx == 0x68747541U || r.ebx == 0x6f677948U;
}

/* A check that holds only under Veneer: SKIP natively. */
static void expect_veneer(bool ok, const char *what)
{
	if (under_veneer())
		EXPECT_TRUE(ok, what);
	else
		guest_skip(what);
}

/* ---- AMD's legacy performance counters (item 1) */

static void check_amd_counters(void)
{
	for (u32 i = 0; i < 4; i++) {
		u64 ctl = PERF_CTL_EN | PERF_CTL_OS | PERF_CTL_USR | 0x76 | i;
		u64 old = 0, got = 0;

		if (rdmsr_gp(MSR_AMD_PERF_CTL0 + i, &old) ||
		    wrmsr_gp(MSR_AMD_PERF_CTL0 + i, ctl) ||
		    rdmsr_gp(MSR_AMD_PERF_CTL0 + i, &got)) {
			guest_printf("FAIL: PERF_CTL%u (0x%x): #GP\n", i,
				     MSR_AMD_PERF_CTL0 + i);
			guest_failures++;
			continue;
		}
		/* QEMU TCG reads them as 0: Veneer's model only. */
		expect_veneer(got == ctl, "PERF_CTLn keeps what was written");
		expect_veneer(
		    wrmsr_gp(MSR_AMD_PERF_CTL0 + i, ctl | PERF_CTL_RESERVED21),
		    "PERF_CTLn reserved bit 21: #GP");
		wrmsr(MSR_AMD_PERF_CTL0 + i, old);
		if (wrmsr_gp(MSR_AMD_PERF_CTR0 + i, 0xabcd) ||
		    rdmsr_gp(MSR_AMD_PERF_CTR0 + i, &got)) {
			guest_printf("FAIL: PERF_CTR%u (0x%x): #GP\n", i,
				     MSR_AMD_PERF_CTR0 + i);
			guest_failures++;
			continue;
		}
		expect_veneer(got == 0,
			      "PERF_CTRn never counts: reads 0 after a write");
	}
}

static void check_no_amd_counters(void)
{
	u64 v;

	for (u32 i = 0; i < 8; i++)
		expect_veneer(rdmsr_gp(MSR_AMD_PERF_CTL0 + i, &v) &&
				  wrmsr_gp(MSR_AMD_PERF_CTL0 + i, 0),
			      "Intel: AMD PERF_CTL/CTR n: #GP");
}

/* ---- IA32_MISC_ENABLE (item 9) */

static void check_misc_enable_intel(void)
{
	u64 misc = 0, got = 0;

	if (rdmsr_gp(MSR_IA32_MISC_ENABLE, &misc)) {
		guest_fail("rdmsr IA32_MISC_ENABLE: #GP on an Intel CPU");
		return;
	}
	guest_printf("msrfid: IA32_MISC_ENABLE = 0x%llx\n",
		     (unsigned long long)misc);
	expect_veneer(misc == 0x1809, "IA32_MISC_ENABLE power-on value 0x1809 "
				      "(fast strings, thermal, no BTS/PEBS)");
	if (wrmsr_gp(MSR_IA32_MISC_ENABLE, misc ^ MISC_FAST_STRINGS) ||
	    rdmsr_gp(MSR_IA32_MISC_ENABLE, &got))
		guest_fail("IA32_MISC_ENABLE fast strings toggled: #GP");
	else
		EXPECT_EQ(got, misc ^ MISC_FAST_STRINGS,
			  "IA32_MISC_ENABLE keeps fast strings toggled");
	wrmsr(MSR_IA32_MISC_ENABLE, misc);
	EXPECT_EQ(rdmsr(MSR_IA32_MISC_ENABLE), misc,
		  "IA32_MISC_ENABLE restored");
	expect_veneer(wrmsr_gp(MSR_IA32_MISC_ENABLE, misc | BIT(1)),
		      "IA32_MISC_ENABLE reserved bit 1: #GP");
	EXPECT_EQ(rdmsr(MSR_IA32_MISC_ENABLE), misc,
		  "IA32_MISC_ENABLE unchanged by the refused write");
}

/* Limit CPUID maxval: CPUID.0:EAX reads 2 (SDM Vol. 4 Table 2-2, 22). */
static void check_limit_cpuid(void)
{
	u64 misc = rdmsr(MSR_IA32_MISC_ENABLE);
	u32 max = cpuid(0, 0).eax;

	if (max <= 2 || !under_veneer()) {
		guest_skip("limit CPUID maxval (CPUID.0:EAX <= 2, or not under "
			   "Veneer)");
		return;
	}
	if (wrmsr_gp(MSR_IA32_MISC_ENABLE, misc | MISC_LIMIT_CPUID)) {
		guest_fail("IA32_MISC_ENABLE limit CPUID maxval: #GP");
		return;
	}
	EXPECT_EQ(cpuid(0, 0).eax, 2,
		  "limit CPUID maxval: CPUID.0:EAX reads 2");
	wrmsr(MSR_IA32_MISC_ENABLE, misc);
	EXPECT_EQ(cpuid(0, 0).eax, max, "limit cleared: CPUID.0:EAX as before");
}

/* XD disable: EFER.NXE becomes reserved (SDM Vol. 4 Table 2-2, bit 34). */
static void check_xd_disable(void)
{
	u64 misc = rdmsr(MSR_IA32_MISC_ENABLE);
	u64 efer = rdmsr(MSR_EFER);

	if (!(cpuid(0x80000000U, 0).eax >= 0x80000001U &&
	      (cpuid(0x80000001U, 0).edx & BIT(20))) ||
	    !under_veneer()) {
		guest_skip("XD disable makes EFER.NXE reserved (no NX, or not "
			   "under Veneer)");
		return;
	}
	wrmsr(MSR_EFER, efer & ~EFER_NXE);
	if (wrmsr_gp(MSR_IA32_MISC_ENABLE, misc | MISC_XD_DISABLE)) {
		guest_fail("IA32_MISC_ENABLE XD disable: #GP");
		return;
	}
	EXPECT_TRUE(wrmsr_gp(MSR_EFER, efer | EFER_NXE),
		    "XD disabled: setting EFER.NXE is #GP");
	EXPECT_TRUE(!(cpuid(0x80000001U, 0).edx & BIT(20)),
		    "XD disabled: CPUID.80000001H:EDX.NX reads 0");
	wrmsr(MSR_IA32_MISC_ENABLE, misc);
	EXPECT_TRUE(cpuid(0x80000001U, 0).edx & BIT(20),
		    "XD enabled again: CPUID.80000001H:EDX.NX reads 1");
	EXPECT_TRUE(!wrmsr_gp(MSR_EFER, efer | EFER_NXE),
		    "XD enabled again: EFER.NXE may be set");
	wrmsr(MSR_EFER, efer);
}

static void check_no_misc_enable(void)
{
	u64 v;

	expect_veneer(rdmsr_gp(MSR_IA32_MISC_ENABLE, &v),
		      "AMD: rdmsr IA32_MISC_ENABLE: #GP");
	expect_veneer(wrmsr_gp(MSR_IA32_MISC_ENABLE, 1),
		      "AMD: wrmsr IA32_MISC_ENABLE: #GP");
}

/* ---- IA32_TSC_ADJUST (item 8) */

static bool has_tsc_adjust(void)
{
	return cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & BIT(1));
}

static void check_tsc_adjust(void)
{
	u64 adjust = rdmsr(MSR_IA32_TSC_ADJUST);
	u64 before, after, moved;

	guest_printf("msrfid: IA32_TSC_ADJUST = 0x%llx\n",
		     (unsigned long long)adjust);
	before = rdtsc();
	wrmsr(MSR_IA32_TSC_ADJUST, adjust + TSC_JUMP);
	after = rdtsc();
	moved = after - before;
	EXPECT_EQ(rdmsr(MSR_IA32_TSC_ADJUST), adjust + TSC_JUMP,
		  "IA32_TSC_ADJUST keeps what was written");
	EXPECT_TRUE(moved >= TSC_JUMP && moved < TSC_JUMP + TSC_SLACK,
		    "writing IA32_TSC_ADJUST moved the TSC by the difference");
	before = rdtsc();
	wrmsr(MSR_IA32_TSC_ADJUST, adjust);
	after = rdtsc();
	EXPECT_TRUE(before - after > TSC_JUMP - TSC_SLACK &&
			before - after <= TSC_JUMP,
		    "writing it back moved the TSC back");
	/* Writing IA32_TSC moves IA32_TSC_ADJUST by as much. */
	before = rdtsc();
	wrmsr(MSR_IA32_TSC, before + TSC_JUMP);
	moved = rdmsr(MSR_IA32_TSC_ADJUST) - adjust;
	EXPECT_TRUE(moved <= TSC_JUMP && moved > TSC_JUMP - TSC_SLACK,
		    "writing IA32_TSC moved IA32_TSC_ADJUST with it");
	wrmsr(MSR_IA32_TSC_ADJUST, adjust);
}

void guest_main(const struct multiboot_info *mbi)
{
	bool amd = vendor_amd();

	(void)mbi;
	trap_skip_bytes = MSR_INSN_LEN;
	trap_catch(VEC_GP);
	guest_printf("msrfid: %s CPU\n", amd ? "AMD" : "Intel");
	if (amd) {
		check_amd_counters();
		check_no_misc_enable();
	} else {
		check_no_amd_counters();
		check_misc_enable_intel();
		check_limit_cpuid();
		check_xd_disable();
	}
	if (has_tsc_adjust()) {
		check_tsc_adjust();
	} else {
		u64 v;

		expect_veneer(rdmsr_gp(MSR_IA32_TSC_ADJUST, &v) &&
				  wrmsr_gp(MSR_IA32_TSC_ADJUST, 0),
			      "no CPUID.7.0:EBX[1]: IA32_TSC_ADJUST is #GP");
	}
}
