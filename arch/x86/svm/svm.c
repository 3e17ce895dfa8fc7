/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V (SVM) backend, bottom floor: what the CPU offers (probe),
 * turning SVM on (cpu_enable) and the per-VM state (ASID, I/O and MSR
 * permission maps). It names nothing in the files above it: the VMCB
 * checks (svm_check.c), exit decoding (svm_exit.c), the VMCB, run() and
 * the svm_ops table (svm_vmcb.c). Design notes with APM citations:
 * docs/svm.md.
 */
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "core/mm.h"
#include "core/vm.h"
#include "core/lib/format.h"
#include "core/lib/pagetable.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* CPUID leaves and bits the CR4 mask is derived from (APM Vol. 3 E.3.2,
 * E.3.6; SDM Vol. 2A CPUID). */
#define CPUID_LEAF_BASIC_MAX  0x0
#define CPUID_LEAF_STRUCTURED 0x7
#define CPUID_1_EDX_VME	      BIT(1)
#define CPUID_1_EDX_DE	      BIT(2)
#define CPUID_1_EDX_PSE	      BIT(3)
#define CPUID_1_EDX_TSC	      BIT(4)
#define CPUID_1_EDX_PAE	      BIT(6)
#define CPUID_1_EDX_MCE	      BIT(7)
#define CPUID_1_EDX_PGE	      BIT(13)
#define CPUID_1_EDX_FXSR      BIT(24)
#define CPUID_1_EDX_SSE	      BIT(25)
#define CPUID_1_ECX_PCID      BIT(17)
#define CPUID_1_ECX_XSAVE     BIT(26)
#define CPUID_7_EBX_FSGSBASE  BIT(0)
#define CPUID_7_EBX_SMEP      BIT(7)
#define CPUID_7_EBX_SMAP      BIT(20)
#define CPUID_7_ECX_UMIP      BIT(2)
#define CPUID_7_ECX_PKU	      BIT(3)
#define CPUID_7_ECX_LA57      BIT(16)
#define CPUID_EXT1_EDX_RDTSCP BIT(27)
#define CPUID_EXT1_EDX_LM     BIT(29)

/* CR4 bits arch/x86/cpu.h does not name (APM Vol. 2 3.1.3). */
#define CR4_VME	     BIT(0)
#define CR4_PVI	     BIT(1)
#define CR4_TSD	     BIT(2)
#define CR4_DE	     BIT(3)
#define CR4_PCE	     BIT(8)
#define CR4_UMIP     BIT(11)
#define CR4_FSGSBASE BIT(16)
#define CR4_SMEP     BIT(20)
#define CR4_SMAP     BIT(21)
#define CR4_PKE	     BIT(22)
#define CR4_LA57     BIT(12)

/* ASIDs handed out: 1..63 at most, far more than VM_MAX. */
#define SVM_ASID_LIMIT 64

_Static_assert(VM_MAX < SVM_ASID_LIMIT, "one ASID per VM must fit");
_Static_assert(sizeof(struct svm_vm) <= PAGE_SIZE, "svm_vm fits a page");

struct svm_caps svm_caps;

static struct svm_cpu svm_cpus[MAX_CPUS];

/* Bit n set: ASID n is in use. Bit 0 is the host's. Atomic updates. */
static u64 svm_asids_used = 1;

/* ---- what the CPU offers (APM Vol. 2 15.4, CPUID 0x8000000A) ---- */

static void feature_add(struct vcpu_caps *caps, const char *name)
{
	size_t len = strlen(caps->features);

	snformat(caps->features + len, sizeof(caps->features) - len, "%s%s",
		 len ? ", " : "", name);
}

/*
 * The CR4 bits this CPU implements, by the CPUID feature bit that says so
 * (APM Vol. 2 3.1.3, "CR4 Register"): a guest may set those and no others,
 * since VMRUN refuses a guest CR4 with a reserved (MBZ) bit set (APM Vol. 2
 * 15.5.1). PCE has no CPUID bit: every AMD64 CPU implements it. LA57 is
 * offered where CPUID has it (core's guest page walker knows 5-level
 * paging, and a Linux guest that sees LA57 sets it). Not offered: VMXE
 * and SMXE (Intel's), CET (Veneer does not switch its MSRs).
 *
 * Every MOV to CR4 is intercepted and checked against this mask (svm_vmcb.c),
 * so a bit CPUID reports to the guest must be here, or the guest gets #GP
 * for a feature it was told about.
 */
static u64 svm_cr4_allowed(void)
{
	struct cpuid_regs f = cpuid(CPUID_LEAF_FEATURES);
	struct cpuid_regs s = {0};
	u64 cr4 = CR4_PCE;

	if (cpuid(CPUID_LEAF_BASIC_MAX).eax >= CPUID_LEAF_STRUCTURED)
		s = cpuid_count(CPUID_LEAF_STRUCTURED, 0);
	if (f.edx & CPUID_1_EDX_VME)
		cr4 |= CR4_VME | CR4_PVI;
	if (f.edx & CPUID_1_EDX_TSC)
		cr4 |= CR4_TSD;
	if (f.edx & CPUID_1_EDX_DE)
		cr4 |= CR4_DE;
	if (f.edx & CPUID_1_EDX_PSE)
		cr4 |= CR4_PSE;
	if (f.edx & CPUID_1_EDX_PAE)
		cr4 |= CR4_PAE;
	if (f.edx & CPUID_1_EDX_MCE)
		cr4 |= CR4_MCE;
	if (f.edx & CPUID_1_EDX_PGE)
		cr4 |= CR4_PGE;
	if (f.edx & CPUID_1_EDX_FXSR)
		cr4 |= CR4_OSFXSR;
	if (f.edx & CPUID_1_EDX_SSE)
		cr4 |= CR4_OSXMMEXCPT;
	if (f.ecx & CPUID_1_ECX_PCID)
		cr4 |= CR4_PCIDE;
	if (f.ecx & CPUID_1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	if (s.ebx & CPUID_7_EBX_FSGSBASE)
		cr4 |= CR4_FSGSBASE;
	if (s.ebx & CPUID_7_EBX_SMEP)
		cr4 |= CR4_SMEP;
	if (s.ebx & CPUID_7_EBX_SMAP)
		cr4 |= CR4_SMAP;
	if (s.ecx & CPUID_7_ECX_UMIP)
		cr4 |= CR4_UMIP;
	if (s.ecx & CPUID_7_ECX_PKU)
		cr4 |= CR4_PKE;
	if (s.ecx & CPUID_7_ECX_LA57)
		cr4 |= CR4_LA57;
	return cr4;
}

/*
 * The one probe: CPUID 0x8000000A (features, ASID count), VM_CR.SVMDIS
 * (APM Vol. 2 15.30.1) and the physical address width. Fills *caps for the
 * boot log and core, and svm_caps for the rest of this backend. The
 * features text is what the boot log has always shown (docs/boot-log.md).
 */
void svm_probe(struct vcpu_caps *caps)
{
	struct cpuid_regs svm;
	u64 vm_cr;
	char asids[24];

	memset(caps, 0, sizeof(*caps));
	memset(&svm_caps, 0, sizeof(svm_caps));
	caps->nested_format = &pt_format_npt;
	caps->cr4_allowed = svm_cr4_allowed();
	/* V_INTR_MASKING: the guest's CR8 is V_TPR (15.21.1). */
	caps->cr8_in_guest = true;
	if (cpuid(CPUID_LEAF_EXT_MAX).eax < CPUID_LEAF_SVM) {
		snformat(caps->why, sizeof(caps->why),
			 "CPUID leaf 0x8000000a (SVM features) is missing");
		return;
	}
	svm = cpuid(CPUID_LEAF_SVM);
	vm_cr = rdmsr(MSR_VM_CR);
	if (vm_cr & VM_CR_SVMDIS) {
		snformat(caps->why, sizeof(caps->why),
			 "AMD-V is disabled by the firmware (VM_CR.SVMDIS%s): "
			 "enable SVM in the firmware setup",
			 vm_cr & VM_CR_LOCK ? ", locked" : "");
		return;
	}
	svm_caps.revision = svm.eax & 0xff;
	svm_caps.asid_count = svm.ebx;
	svm_caps.features = svm.edx;
	svm_caps.phys_addr_bits = cpuid(CPUID_LEAF_ADDRESS_SIZES).eax & 0xff;
	svm_caps.long_mode =
	    cpuid(CPUID_LEAF_EXT_FEATURES).edx & CPUID_EXT1_EDX_LM;
	svm_caps.rdtscp =
	    cpuid(CPUID_LEAF_EXT_FEATURES).edx & CPUID_EXT1_EDX_RDTSCP;
	svm_caps.cr4_allowed = caps->cr4_allowed;

	if (svm_has(SVM_FEATURE_NP))
		feature_add(caps, "npt");
	snformat(asids, sizeof(asids), "asids %u", svm_caps.asid_count);
	feature_add(caps, asids);
	if (svm_has(SVM_FEATURE_NRIP_SAVE))
		feature_add(caps, "nrip-save");
	if (svm_has(SVM_FEATURE_FLUSH_BY_ASID))
		feature_add(caps, "flush-by-asid");
	if (svm_has(SVM_FEATURE_DECODE_ASSISTS))
		feature_add(caps, "decode-assists");
	if (svm_has(SVM_FEATURE_VGIF))
		feature_add(caps, "vgif");

	if (!svm_has(SVM_FEATURE_NP)) {
		snformat(caps->why, sizeof(caps->why),
			 "this AMD-V lacks nested paging (NPT), which Veneer "
			 "needs");
		return;
	}
	if (svm_caps.asid_count < 2) {
		snformat(caps->why, sizeof(caps->why),
			 "this AMD-V has no ASID for guests");
		return;
	}
	svm_caps.usable = true;
	caps->usable = true;
}

/* ---- turning SVM on (APM Vol. 2 15.4, 15.30) ---- */

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

int svm_cpu_enable(void)
{
	struct percpu *cpu = this_cpu();
	struct svm_cpu *sc = &svm_cpus[cpu->index];

	if (!svm_caps.usable) {
		printk("svm: CPU %u: the boot CPU's probe found no usable "
		       "AMD-V\n",
		       cpu->index);
		return -SVM_ENODEV;
	}
	/*
	 * VM_CR is per CPU, and setting EFER.SVME with VM_CR.SVMDIS set
	 * raises #GP (15.30.1): checked here, not only on the boot CPU.
	 */
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		printk("svm: CPU %u: VM_CR.SVMDIS is set: SVM is disabled by "
		       "firmware\n",
		       cpu->index);
		return -SVM_ENODEV;
	}
	if (!sc->hsave_pa) {
		sc->hsave_pa = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
		sc->host_vmcb_pa = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
		if (!sc->hsave_pa || !sc->host_vmcb_pa) {
			printk("svm: CPU %u: no memory for the host save "
			       "area\n",
			       cpu->index);
			return -SVM_ENOMEM;
		}
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	if (!(rdmsr(MSR_EFER) & EFER_SVME)) {
		printk("svm: CPU %u: EFER.SVME does not stay set\n",
		       cpu->index);
		return -SVM_ENODEV;
	}
	/* The host save area VMRUN writes and #VMEXIT reads (15.30.4). */
	wrmsr(MSR_VM_HSAVE_PA, sc->hsave_pa);
	cpu->vendor = sc;

	if (cpu->index == 0)
		printk("svm: AMD-V revision %u, %u ASIDs, NPT; NRIP save %s, "
		       "VMCB clean bits %s, flush by ASID %s, decode assists "
		       "%s, vGIF %s\n",
		       svm_caps.revision, svm_caps.asid_count,
		       yes_no(svm_has(SVM_FEATURE_NRIP_SAVE)),
		       yes_no(svm_has(SVM_FEATURE_VMCB_CLEAN)),
		       yes_no(svm_has(SVM_FEATURE_FLUSH_BY_ASID)),
		       yes_no(svm_has(SVM_FEATURE_DECODE_ASSISTS)),
		       yes_no(svm_has(SVM_FEATURE_VGIF)));
	return 0;
}

/* ---- per-VM state: ASID, I/O and MSR permission maps ---- */

/* ASIDs guests may use: 1 .. this - 1. */
static u32 svm_asid_limit(void)
{
	return MIN(svm_caps.asid_count, (u32)SVM_ASID_LIMIT);
}

static u32 svm_asid_alloc(void)
{
	for (u32 asid = 1; asid < svm_asid_limit(); asid++) {
		u64 bit = BIT(asid);
		u64 old =
		    __atomic_fetch_or(&svm_asids_used, bit, __ATOMIC_ACQ_REL);
		if (!(old & bit))
			return asid;
	}
	return 0;
}

/*
 * A freed ASID may still tag TLB entries on some CPU: the next VMCB that
 * uses it flushes them on its first run on each CPU (svm_vmcb.c, 15.15.1).
 */
static void svm_asid_free(u32 asid)
{
	__atomic_fetch_and(&svm_asids_used, ~BIT(asid), __ATOMIC_ACQ_REL);
}

/*
 * Bit number of MSR `msr`'s read-intercept bit in the MSR permission map,
 * or -1 for MSRs outside the three mapped ranges (always intercepted).
 * Two bits per MSR, read then write (APM Vol. 2 15.11, table 15-8).
 */
static i64 svm_msrpm_bit(u32 msr)
{
	static const struct {
		u32 first_msr;
		u32 byte_offset;
	} ranges[] = {
	    {0x00000000, 0x0000},
	    {0xc0000000, 0x0800},
	    {0xc0010000, 0x1000},
	};
	const u32 msrs_per_range = 0x2000;

	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++) {
		if (msr - ranges[i].first_msr < msrs_per_range)
			return (i64)ranges[i].byte_offset * 8 +
			       (i64)(msr - ranges[i].first_msr) * 2;
	}
	return -1;
}

static void svm_msrpm_pass_through(u8 *msrpm, u32 msr)
{
	i64 bit = svm_msrpm_bit(msr);

	if (bit < 0)
		panic("svm: MSR %#x is outside the MSR permission map", msr);
	msrpm[bit / 8] &= (u8) ~(3u << (bit % 8));
}

/*
 * MSRs the guest reads and writes directly. Each is part of the state that
 * VMLOAD/VMSAVE switch around every VMRUN (svm_entry.S, APM Vol. 2 15.5.2),
 * so the guest only ever sees and changes its own copy.
 */
static const u32 svm_msr_pass_through[] = {
    MSR_FS_BASE,
    MSR_GS_BASE,
    MSR_KERNEL_GS_BASE,
    MSR_IA32_SYSENTER_CS,
    MSR_IA32_SYSENTER_ESP,
    MSR_IA32_SYSENTER_EIP,
    MSR_STAR,
    MSR_LSTAR,
    MSR_CSTAR,
    MSR_SFMASK,
};

/*
 * IA32_TSC_AUX is guest state too, but VMRUN / VMLOAD do not switch it:
 * svm_vmcb.c loads the guest's value before VMRUN when another vCPU used
 * this CPU last. The host never reads it (no RDTSCP, no RDPID).
 */
void svm_tsc_aux_forget(struct vcpu *vcpu)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		if (svm_cpus[i].tsc_aux_owner == vcpu)
			svm_cpus[i].tsc_aux_owner = NULL;
}

int svm_vm_init(struct vm *vm)
{
	if (!svm_caps.usable) {
		printk("svm: VM %s: no usable AMD-V (probe)\n", vm->name);
		return -SVM_ENODEV;
	}

	u32 asid = svm_asid_alloc();
	if (!asid) {
		printk("svm: VM %s: out of ASIDs: the CPU has %u, ASIDs 1..%u "
		       "are all taken by other VMs\n",
		       vm->name, svm_caps.asid_count, svm_asid_limit() - 1);
		return -SVM_ENOSPC;
	}
	u64 pa = mm_alloc_pages(SVM_VM_PAGES, PAGE_SIZE, MM_ANY);
	if (!pa) {
		svm_asid_free(asid);
		printk("svm: VM %s: no memory for the I/O and MSR permission "
		       "maps\n",
		       vm->name);
		return -SVM_ENOMEM;
	}
	struct svm_vm *sm = hpa_to_ptr(pa + (SVM_IOPM_PAGES + SVM_MSRPM_PAGES) *
						(u64)PAGE_SIZE);
	sm->asid = asid;
	sm->iopm_pa = pa;
	sm->msrpm_pa = pa + SVM_IOPM_PAGES * (u64)PAGE_SIZE;
	/* Every port goes to Veneer's device models (15.10.1). */
	memset(hpa_to_ptr(sm->iopm_pa), 0xff, SVM_IOPM_PAGES * PAGE_SIZE);
	/* Every MSR goes to the common MSR handler, but the few above. */
	u8 *msrpm = hpa_to_ptr(sm->msrpm_pa);
	memset(msrpm, 0xff, SVM_MSRPM_PAGES * PAGE_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(svm_msr_pass_through); i++)
		svm_msrpm_pass_through(msrpm, svm_msr_pass_through[i]);
	/* RDTSCP reads it from the CPU: the guest's must be there. */
	if (svm_caps.rdtscp)
		svm_msrpm_pass_through(msrpm, MSR_TSC_AUX);

	vm->vendor = sm;
	return 0;
}

void svm_vm_destroy(struct vm *vm)
{
	struct svm_vm *sm = vm->vendor;

	if (!sm)
		return;
	u32 asid = sm->asid;
	u64 pa = sm->iopm_pa; /* the allocation, sm itself included */

	vm->vendor = NULL;
	mm_free_pages(pa, SVM_VM_PAGES);
	svm_asid_free(asid);
}
