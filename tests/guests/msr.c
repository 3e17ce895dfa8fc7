/* SPDX-License-Identifier: MIT */
/*
 * msr: model-specific registers as a guest sees them.
 *
 * - Reading each allowed MSR works without a fault: IA32_TSC, APIC_BASE,
 *   SYSENTER_CS/ESP/EIP, MTRRcap, PAT, MTRR default type, EFER.
 * - Writes read back: EFER.SCE toggled, PAT, SYSENTER_CS/ESP/EIP; the old
 *   values are restored.
 * - A denied MSR (IA32_VMX_BASIC, VM_CR, an undefined index) raises #GP on
 *   rdmsr and wrmsr; the guest's own #GP handler records it and resumes
 *   after the 2-byte instruction. QEMU TCG does not fault on unknown MSRs,
 *   so natively these are SKIP.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

/* MSR indices: SDM Vol. 4, table 2-2; AMD APM Vol. 2 15.30.1 for VM_CR. */
#define MSR_IA32_TSC	       0x10
#define MSR_IA32_APIC_BASE     0x1b
#define MSR_IA32_MTRRCAP       0xfe
#define MSR_IA32_SYSENTER_CS   0x174
#define MSR_IA32_SYSENTER_ESP  0x175
#define MSR_IA32_SYSENTER_EIP  0x176
#define MSR_IA32_PAT	       0x277
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_VMX_BASIC     0x480
#define MSR_EFER	       0xc0000080
#define MSR_AMD_VM_CR	       0xc0010114
#define MSR_UNDEFINED	       0x12345678
#define EFER_SCE	       BIT(0) /* SYSCALL enable */
#define APIC_BASE_ENABLE       BIT(11)

struct msr_name {
	u32 index;
	const char *name;
};

static const struct msr_name allowed[] = {
    {MSR_IA32_TSC, "IA32_TSC"},
    {MSR_IA32_APIC_BASE, "IA32_APIC_BASE"},
    {MSR_IA32_MTRRCAP, "IA32_MTRRCAP"},
    {MSR_IA32_SYSENTER_CS, "IA32_SYSENTER_CS"},
    {MSR_IA32_SYSENTER_ESP, "IA32_SYSENTER_ESP"},
    {MSR_IA32_SYSENTER_EIP, "IA32_SYSENTER_EIP"},
    {MSR_IA32_PAT, "IA32_PAT"},
    {MSR_IA32_MTRR_DEF_TYPE, "IA32_MTRR_DEF_TYPE"},
    {MSR_EFER, "IA32_EFER"},
};

static const struct msr_name denied[] = {
    {MSR_IA32_VMX_BASIC, "IA32_VMX_BASIC"},
    {MSR_AMD_VM_CR, "VM_CR"},
    {MSR_UNDEFINED, "undefined MSR 0x12345678"},
};

/* rdmsr/wrmsr with #GP caught: returns true if it faulted. */
static bool rdmsr_faults(u32 index, u64 *value)
{
	trap_record_reset();
	*value = rdmsr(index);
	return trap_last.count != 0;
}

static bool wrmsr_faults(u32 index, u64 value)
{
	trap_record_reset();
	wrmsr(index, value);
	return trap_last.count != 0;
}

static void check_allowed_reads(void)
{
	unsigned i;
	for (i = 0; i < ARRAY_SIZE(allowed); i++) {
		u64 v = 0;
		bool faulted = rdmsr_faults(allowed[i].index, &v);
		guest_printf("msr: %s (0x%x) = 0x%llx%s\n", allowed[i].name,
			     allowed[i].index, (unsigned long long)v,
			     faulted ? " [#GP]" : "");
		if (faulted) {
			guest_printf("FAIL: rdmsr %s raised #GP\n",
				     allowed[i].name);
			guest_failures++;
		}
	}
	if (!guest_failures)
		guest_pass("rdmsr of every allowed MSR without #GP");
}

static void check_tsc_and_apic_base(void)
{
	u64 first = rdmsr(MSR_IA32_TSC), second = rdmsr(MSR_IA32_TSC);
	u64 apic_base = rdmsr(MSR_IA32_APIC_BASE);
	/* QEMU TCG answers rdmsr of IA32_TSC with 0 (only RDTSC counts). */
	if (under_veneer())
		EXPECT_TRUE(second > first,
			    "IA32_TSC advances between two reads");
	else
		guest_skip("IA32_TSC advances between two reads (QEMU TCG "
			   "reads it as 0; not under Veneer)");
	EXPECT_EQ(apic_base & APIC_BASE_ENABLE, APIC_BASE_ENABLE,
		  "IA32_APIC_BASE has the APIC enabled");
	/* SDM Vol. 3A 11.4.4: the power-up base is 0xFEE00000. */
	EXPECT_EQ(apic_base & 0xfffff000ULL, 0xfee00000ULL,
		  "IA32_APIC_BASE base address 0xfee00000");
}

/* Writes value, reads it back, puts the old value back. */
static void check_write_read_back(u32 index, u64 value, const char *what)
{
	u64 old = rdmsr(index), got = 0;
	if (wrmsr_faults(index, value)) {
		guest_printf("FAIL: %s: wrmsr raised #GP\n", what);
		guest_failures++;
		return;
	}
	got = rdmsr(index);
	wrmsr(index, old);
	EXPECT_EQ(got, value, what);
	EXPECT_EQ(rdmsr(index), old, "old value restored");
}

static void check_writes(void)
{
	u64 efer = rdmsr(MSR_EFER);
	check_write_read_back(MSR_EFER, efer ^ EFER_SCE,
			      "EFER.SCE toggled and read back");
	/* Memory types per PAT entry: 06 WB, 04 WT, 07 UC-, 00 UC,
	 * 01 WC, 05 WP (SDM Vol. 3A 12.12.2, table 12-10). */
	check_write_read_back(MSR_IA32_PAT, 0x0001050400070406ULL,
			      "IA32_PAT written and read back");
	check_write_read_back(MSR_IA32_SYSENTER_CS, 0x1234,
			      "IA32_SYSENTER_CS written and read back");
	check_write_read_back(MSR_IA32_SYSENTER_ESP, 0x00345678,
			      "IA32_SYSENTER_ESP written and read back");
	check_write_read_back(MSR_IA32_SYSENTER_EIP, 0x00123450,
			      "IA32_SYSENTER_EIP written and read back");
}

static void expect_gp(bool faulted, const char *insn, const char *name)
{
	if (!faulted) {
		guest_printf("FAIL: %s of %s raised no #GP\n", insn, name);
		guest_failures++;
		return;
	}
	if (trap_last.vector != VEC_GP || trap_last.error_code != 0) {
		guest_printf("FAIL: %s of %s: vector %lu error 0x%lx (want "
			     "#GP(0))\n",
			     insn, name, (unsigned long)trap_last.vector,
			     (unsigned long)trap_last.error_code);
		guest_failures++;
		return;
	}
	guest_printf("PASS: %s of %s raised #GP(0)\n", insn, name);
}

static void check_denied(void)
{
	unsigned i;
	for (i = 0; i < ARRAY_SIZE(denied); i++) {
		u64 v;
		expect_gp(rdmsr_faults(denied[i].index, &v), "rdmsr",
			  denied[i].name);
		expect_gp(wrmsr_faults(denied[i].index, 0), "wrmsr",
			  denied[i].name);
	}
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	trap_skip_bytes = MSR_INSN_LEN;
	trap_catch(VEC_GP);
	check_allowed_reads();
	check_tsc_and_apic_base();
	check_writes();
	if (under_veneer()) {
		check_denied();
		return;
	}
	guest_skip("rdmsr/wrmsr of denied MSRs raise #GP (QEMU TCG does not "
		   "fault on unknown MSRs; not under Veneer)");
}
