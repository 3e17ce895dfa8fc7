/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-x backend (SDM Vol. 3C chapters 24-31), bottom floor: what
 * the CPU can do (the probe, once, on the boot CPU), VMXON on every host
 * CPU, the VPIDs and the per-VM bitmaps. It names nothing in the files
 * above it: exit decoding (vmx_exit.c), the VMCS, run() and the vmx_ops
 * table (vmx_vmcs.c). Design notes and the reasons behind them:
 * docs/vmx.md.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_internal.h"
#include "core/lib/format.h"
#include "core/lib/pagetable.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* RDTSCP and IA32_TSC_AUX (SDM Vol. 2A CPUID leaf 80000001H, EDX[27]). */
#define CPUID_EXT_FEATURES_EDX_RDTSCP BIT(27)

struct vmx_caps vmx_caps;
bool vmx_caps_valid;
struct vmx_cpu vmx_cpus[MAX_CPUS];

/* ---------------------------------------------------------------------
 * probe: the features line for the boot log, then the control values
 * every VMCS starts with (SDM Vol. 3D appendix A). Once, on the boot CPU,
 * before the other CPUs start; cpu_enable only checks that each CPU
 * agrees.
 */

static void feature_add(struct vcpu_caps *out, const char *name)
{
	size_t len = strlen(out->features);

	snformat(out->features + len, sizeof(out->features) - len, "%s%s",
		 len ? ", " : "", name);
}

/*
 * The features text of the boot log ("veneer: virtualization: VT-x
 * (...)", docs/boot-log.md): what the capability MSRs allow, before
 * Veneer picks. Returns false (with out->why) when EPT or unrestricted
 * guest is missing.
 */
static bool describe_features(struct vcpu_caps *out, u64 feature_control)
{
	u64 basic = rdmsr(MSR_IA32_VMX_BASIC);
	bool true_ctls = basic & VMX_BASIC_TRUE_CONTROLS;
	u64 pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
				  : MSR_IA32_VMX_PINBASED_CTLS);
	u64 proc = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
				   : MSR_IA32_VMX_PROCBASED_CTLS);
	u32 proc2 = 0;
	u64 ept_cap = 0;

	/* Allowed-1 settings are the high 32 bits of a control MSR (A.3). */
	if ((proc >> 32) & PROC_SECONDARY_CONTROLS) {
		proc2 = (u32)(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32);
		if (proc2 & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID))
			ept_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}
	bool ept = proc2 & PROC2_ENABLE_EPT;
	bool unrestricted = proc2 & PROC2_UNRESTRICTED_GUEST;

	if (ept)
		feature_add(out, "ept");
	if (proc2 & PROC2_ENABLE_VPID)
		feature_add(out, "vpid");
	if (unrestricted)
		feature_add(out, "unrestricted");
	if ((pin >> 32) & PIN_PREEMPTION_TIMER)
		feature_add(out, "preemption-timer");
	if (ept && (ept_cap & EPT_CAP_1G_PAGES))
		feature_add(out, "ept-1g");
	if (ept && (ept_cap & EPT_CAP_ACCESSED_DIRTY))
		feature_add(out, "ept-ad");
	if (((proc >> 32) & PROC_USE_TPR_SHADOW) &&
	    (proc2 & PROC2_VIRTUALIZE_X2APIC) &&
	    (proc2 & PROC2_VIRTUAL_INTR_DELIVERY))
		feature_add(out, "apicv");
	feature_add(out, feature_control & FEATURE_CONTROL_LOCKED
			     ? "feature-control locked"
			     : "feature-control unlocked");
	if (!ept || !unrestricted) {
		snformat(out->why, sizeof(out->why),
			 "this VT-x lacks %s, which Veneer needs",
			 !ept ? "EPT" : "unrestricted guest");
		return false;
	}
	return true;
}

/*
 * A control value from a capability MSR: the low half holds the bits that
 * must be 1 (allowed-0 settings), the high half the bits that may be 1
 * (allowed-1 settings) (SDM Vol. 3D A.3-A.5). Bits of `required` the CPU
 * cannot set are printed and make the result false.
 */
static bool compute_controls(const char *what, u32 msr, u32 required,
			     u32 optional, u32 *out)
{
	u64 cap = rdmsr(msr);
	u32 must_be_one = (u32)cap;
	u32 may_be_one = (u32)(cap >> 32);
	u32 missing = required & ~may_be_one;

	if (missing) {
		printk("vmx: this CPU cannot set %s control bits %#x "
		       "(allowed-1 mask %#x); Veneer needs them\n",
		       what, missing, may_be_one);
		return false;
	}
	*out = must_be_one | ((required | optional) & may_be_one);
	return true;
}

static u32 true_msr(const struct vmx_caps *c, u32 plain, u32 true_variant)
{
	/* Bit 55: the TRUE_* MSRs exist and allow clearing default-1 bits. */
	return (c->basic & VMX_BASIC_TRUE_CONTROLS) ? true_variant : plain;
}

/* The control values of every VMCS. False (lines printed) if unusable. */
static bool read_controls(struct vmx_caps *c)
{
	bool ok = true;

	ok &=
	    compute_controls("pin-based",
			     true_msr(c, MSR_IA32_VMX_PINBASED_CTLS,
				      MSR_IA32_VMX_TRUE_PINBASED_CTLS),
			     PIN_EXTERNAL_INTR_EXITING | PIN_NMI_EXITING,
			     PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER, &c->pin);
	ok &= compute_controls(
	    "primary processor-based",
	    true_msr(c, MSR_IA32_VMX_PROCBASED_CTLS,
		     MSR_IA32_VMX_TRUE_PROCBASED_CTLS),
	    PROC_HLT_EXITING | PROC_USE_TSC_OFFSETTING | PROC_USE_IO_BITMAPS |
		PROC_USE_MSR_BITMAPS | PROC_SECONDARY_CONTROLS |
		PROC_MWAIT_EXITING | PROC_MONITOR_EXITING |
		PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING,
	    PROC_NMI_WINDOW_EXITING | PROC_PAUSE_EXITING | PROC_USE_TPR_SHADOW,
	    &c->proc);
	/* IA32_VMX_PROCBASED_CTLS2 exists only with secondary controls. */
	if (!ok)
		return false;
	ok &= compute_controls(
	    "secondary processor-based", MSR_IA32_VMX_PROCBASED_CTLS2,
	    PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST,
	    PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
		PROC2_ENABLE_XSAVES | PROC2_PAUSE_LOOP_EXITING |
		PROC2_VIRTUALIZE_X2APIC | PROC2_VIRTUAL_INTR_DELIVERY,
	    &c->proc2);
	ok &= compute_controls(
	    "VM-exit",
	    true_msr(c, MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS),
	    EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER |
		EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT |
		EXIT_SAVE_DEBUG_CONTROLS,
	    0, &c->exit);
	ok &= compute_controls(
	    "VM-entry",
	    true_msr(c, MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS),
	    ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT |
		ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_DEBUG_CONTROLS,
	    0, &c->entry);
	if (!ok)
		return false;
	/* Set per entry from the guest's EFER.LMA (see sync_ia32e_mode). */
	c->entry &= ~ENTRY_IA32E_MODE_GUEST;
	/* Neither is used: see docs/vmx.md. */
	if (c->exit & (EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPTION_TIMER))
		printk("vmx: note: the CPU forces VM-exit controls %#x\n",
		       c->exit & (EXIT_ACK_INTR_ON_EXIT |
				  EXIT_SAVE_PREEMPTION_TIMER));
	/* The preemption timer is armed per entry from the deadline. */
	c->has_preemption_timer = c->pin & PIN_PREEMPTION_TIMER;
	c->pin &= ~PIN_PREEMPTION_TIMER;
	/*
	 * NMI-window exiting is set per entry, and only with virtual NMIs
	 * (27.2.1.1). The debug controls keep the guest's DR7 and
	 * IA32_DEBUGCTL across exits: a VM exit sets DR7 to 0x400 (28.5.1);
	 * both are default-1 bits, so every CPU has them.
	 */
	c->has_nmi_window =
	    (c->pin & PIN_VIRTUAL_NMIS) && (c->proc & PROC_NMI_WINDOW_EXITING);
	c->proc &= ~PROC_NMI_WINDOW_EXITING;
	/*
	 * A spinning guest on a shared CPU exits (core/sched.h), per entry:
	 * pause-loop exiting where the CPU has it (25.6.13), else every
	 * PAUSE (25.6.2).
	 */
	c->has_ple = c->proc2 & PROC2_PAUSE_LOOP_EXITING;
	c->has_pause_exiting = c->proc & PROC_PAUSE_EXITING;
	c->proc2 &= ~PROC2_PAUSE_LOOP_EXITING;
	c->proc &= ~PROC_PAUSE_EXITING;
	/*
	 * Virtual-interrupt delivery for a guest's x2APIC (vcpu_entry.vapic,
	 * SDM 30.1-30.5), set per entry: it needs the TPR shadow (26.2.1.1)
	 * and external-interrupt exiting (required above). MOV to / from
	 * CR8 always exits to core: without the TPR shadow it would reach
	 * the host's own TPR (26.1.3), and core's APIC owns the guest's.
	 */
	c->has_apic_virt = (c->proc & PROC_USE_TPR_SHADOW) &&
			   (c->proc2 & PROC2_VIRTUALIZE_X2APIC) &&
			   (c->proc2 & PROC2_VIRTUAL_INTR_DELIVERY);
	c->has_tpr_shadow = c->proc & PROC_USE_TPR_SHADOW;
	c->proc &= ~PROC_USE_TPR_SHADOW;
	c->proc2 &= ~(PROC2_VIRTUALIZE_X2APIC | PROC2_VIRTUAL_INTR_DELIVERY);
	return true;
}

/* EPT and VPID as Veneer uses them (A.10). False (line printed) if not. */
static bool read_ept_vpid(struct vmx_caps *c)
{
	c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(c->ept_vpid & EPT_CAP_WALK_LENGTH_4) ||
	    !(c->ept_vpid & EPT_CAP_MEMTYPE_WB)) {
		printk("vmx: EPT lacks 4-level walks or write-back paging "
		       "structures (IA32_VMX_EPT_VPID_CAP %#llx)\n",
		       (unsigned long long)c->ept_vpid);
		return false;
	}
	if (!(c->ept_vpid & EPT_CAP_INVEPT) ||
	    !(c->ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		printk("vmx: the CPU has no usable INVEPT "
		       "(IA32_VMX_EPT_VPID_CAP %#llx)\n",
		       (unsigned long long)c->ept_vpid);
		return false;
	}
	/* VPIDs are only worth it when they can be invalidated. */
	if (!(c->ept_vpid & VPID_CAP_INVVPID) ||
	    !(c->ept_vpid & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)))
		c->proc2 &= ~PROC2_ENABLE_VPID;

	c->ept_format = pt_format_ept;
	if (c->ept_vpid & EPT_CAP_1G_PAGES)
		c->ept_format.leaf_levels |= PT_LEAF_1G;
	if (!(c->ept_vpid & EPT_CAP_2M_PAGES))
		c->ept_format.leaf_levels &= ~(u32)PT_LEAF_2M;
	return true;
}

static bool read_capabilities(struct vmx_caps *c)
{
	c->basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->misc = rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	c->revision = (u32)(c->basic & VMX_BASIC_REVISION_MASK);
	c->preemption_rate = (u32)(c->misc & VMX_MISC_PREEMPTION_RATE_MASK);
	c->has_rdtscp =
	    cpuid(CPUID_LEAF_EXT_MAX).eax >= CPUID_LEAF_EXT_FEATURES &&
	    (cpuid(CPUID_LEAF_EXT_FEATURES).edx &
	     CPUID_EXT_FEATURES_EDX_RDTSCP);
	if (!read_controls(c) || !read_ept_vpid(c))
		return false;

	printk("vmx: VMCS revision %#x, controls pin %#x proc %#x proc2 %#x "
	       "exit %#x entry %#x, EPT/VPID caps %#llx%s%s\n",
	       c->revision, c->pin, c->proc, c->proc2, c->exit, c->entry,
	       (unsigned long long)c->ept_vpid,
	       (c->proc2 & PROC2_ENABLE_VPID) ? ", VPID" : "",
	       c->has_preemption_timer ? ", preemption timer" : "");
	if (!c->has_preemption_timer)
		printk("vmx: no VMX-preemption timer: guest deadlines wait for "
		       "the next host interrupt\n");
	return true;
}

/*
 * CR4 bits a guest may set (struct vcpu_caps.cr4_allowed): those VMX
 * operation allows to be 1 (IA32_VMX_CR4_FIXED1, SDM Vol. 3D A.8), but
 * not VMXE (Veneer offers no nested VMX) and nothing above bit 31 (the
 * guest/host mask and the read shadow own only the low half here).
 */
static u64 cr4_guest_allowed(const struct vmx_caps *c)
{
	return c->cr4_fixed1 & ~(u64)CR4_VMXE & 0xffffffffull;
}

/*
 * The CPUID vendor check (arch/x86/virt.c) found VMX, so the VMX
 * capability MSRs and IA32_FEATURE_CONTROL exist (SDM Vol. 3C 23.6-23.7):
 * reading them cannot fault.
 */
void vmx_probe(struct vcpu_caps *out)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	memset(out, 0, sizeof(*out));
	if ((fc & FEATURE_CONTROL_LOCKED) &&
	    !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		snformat(out->why, sizeof(out->why),
			 "VT-x is disabled by the firmware "
			 "(IA32_FEATURE_CONTROL locked without VMX outside "
			 "SMX): enable it in the firmware setup");
		return;
	}
	if (!describe_features(out, fc))
		return;
	if (!read_capabilities(&vmx_caps)) {
		snformat(out->why, sizeof(out->why),
			 "this VT-x lacks controls or EPT features Veneer "
			 "needs (see the vmx: lines above)");
		return;
	}
	vmx_caps_valid = true;
	out->usable = true;
	out->nested_format = &vmx_caps.ept_format;
	out->cr4_allowed = cr4_guest_allowed(&vmx_caps);
	out->apic_virt = vmx_caps.has_apic_virt;
}

/* ---------------------------------------------------------------------
 * cpu_enable: IA32_FEATURE_CONTROL, fixed CR bits, VMXON (SDM 24.7-24.8).
 */

static int enable_feature_control(void)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCKED)) {
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX |
			  FEATURE_CONTROL_LOCKED);
		return 0;
	}
	if (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)
		return 0;
	printk("vmx: CPU %u: IA32_FEATURE_CONTROL is locked (%#llx) with VMX "
	       "outside SMX disabled: enable VT-x in the firmware setup\n",
	       this_cpu()->index, (unsigned long long)fc);
	return -VMX_EPERM;
}

int vmx_cpu_enable(void)
{
	struct percpu *pc = this_cpu();
	struct vmx_cpu *cpu = &vmx_cpus[pc->index];

	if (!vmx_caps_valid) {
		printk("vmx: CPU %u: cpu_enable without a usable probe\n",
		       pc->index);
		return -VMX_ENODEV;
	}
	int err = enable_feature_control();
	if (err)
		return err;
	/* All CPUs must agree, or one VMCS layout would not fit them all. */
	u32 revision =
	    (u32)(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
	if (revision != vmx_caps.revision) {
		printk("vmx: CPU %u has VMCS revision %#x, the boot CPU %#x\n",
		       pc->index, revision, vmx_caps.revision);
		return -VMX_ENODEV;
	}

	/* SDM 24.8: CR0 and CR4 must hold the VMX fixed bits in VMX operation.
	 */
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0 | CR4_VMXE) &
		  vmx_caps.cr4_fixed1);

	if (!cpu->vmxon_hpa) {
		cpu->vmxon_hpa =
		    mm_alloc_pages(1, PAGE_SIZE, vmx_region_limit());
		if (!cpu->vmxon_hpa) {
			printk("vmx: CPU %u: no memory for the VMXON region\n",
			       pc->index);
			return -VMX_ENOMEM;
		}
	}
	/* SDM 25.11.5: the region starts with the VMCS revision identifier. */
	*(u32 *)hpa_to_ptr(cpu->vmxon_hpa) = vmx_caps.revision;
	if (!vmx_on(cpu->vmxon_hpa)) {
		printk("vmx: CPU %u: VMXON failed (CR0 %#llx CR4 %#llx)\n",
		       pc->index, (unsigned long long)read_cr0(),
		       (unsigned long long)read_cr4());
		return -VMX_EIO;
	}
	cpu->current_vmcs = 0;
	cpu->msr_owner = NULL;
	pc->vendor = cpu;
	return 0;
}

/* ---------------------------------------------------------------------
 * VPIDs (SDM Vol. 3C 25.6.12, 29.1): one per VM, 1..0xffff; 0 is the
 * host's. The only owner of a VM's VPID: taken by vm_init, given back by
 * vm_destroy. A VPID used again by a later VM holds no stale translations
 * for it: every VMCS flushes its VPID and EPT tags on the first entry on
 * each CPU (flush_pending, vmx_vmcs.c).
 */

#define VMX_VPID_COUNT 0x10000u

/* Bit n set: VPID n is in use (bit 0, the host's, is never). Atomic. */
static u64 vmx_vpids_used[VMX_VPID_COUNT / 64];

/* A free VPID, or 0 when all 65535 are taken. */
static u16 vmx_vpid_alloc(void)
{
	for (u32 w = 0; w < ARRAY_SIZE(vmx_vpids_used); w++) {
		u64 used =
		    __atomic_load_n(&vmx_vpids_used[w], __ATOMIC_ACQUIRE);
		if (w == 0)
			used |= 1; /* VPID 0 is the host's */
		while (~used) {
			u64 bit = ~used & (used + 1); /* lowest clear bit */
			u64 old = __atomic_fetch_or(&vmx_vpids_used[w], bit,
						    __ATOMIC_ACQ_REL);
			if (!(old & bit))
				return (u16)(w * 64 + __builtin_ctzll(bit));
			used = old | bit;
		}
	}
	return 0;
}

static void vmx_vpid_free(u16 vpid)
{
	if (vpid == 0)
		return;
	__atomic_fetch_and(&vmx_vpids_used[vpid / 64], ~BIT(vpid % 64),
			   __ATOMIC_ACQ_REL);
}

/* ---------------------------------------------------------------------
 * vm_init / vm_destroy: the VPID and the I/O and MSR bitmaps.
 */

/* Lets the guest read and write `msr` without an exit (SDM 25.6.9). */
static void msr_bitmap_pass(u8 *bitmap, u32 msr)
{
	u32 offset;
	if (msr <= 0x1fff)
		offset = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		offset = 1024;
	else
		panic("vmx: MSR %#x is outside the MSR bitmap ranges", msr);
	u32 bit = msr & 0x1fff;
	bitmap[offset + bit / 8] &= (u8) ~(1u << (bit % 8));	    /* read */
	bitmap[offset + 2048 + bit / 8] &= (u8) ~(1u << (bit % 8)); /* write */
}

/*
 * The MSRs a guest reads and writes without exits: those VM entry / exit
 * switch through the guest-state area (FS/GS base, SYSENTER_*) and those
 * this backend switches lazily (enum vmx_lazy_msr). Every other MSR exits
 * to core's MSR handler.
 */
static void msr_bitmap_init(u8 *bitmap)
{
	memset(bitmap, 0xff, PAGE_SIZE);
	msr_bitmap_pass(bitmap, MSR_FS_BASE);
	msr_bitmap_pass(bitmap, MSR_GS_BASE);
	msr_bitmap_pass(bitmap, MSR_IA32_SYSENTER_CS);
	msr_bitmap_pass(bitmap, MSR_IA32_SYSENTER_ESP);
	msr_bitmap_pass(bitmap, MSR_IA32_SYSENTER_EIP);
	for (u32 i = 0; i < LAZY_MSR_COUNT; i++)
		if (vmx_lazy_msr_present(i))
			msr_bitmap_pass(bitmap, vmx_lazy_msr_index[i]);
}

/*
 * The bitmap of a vCPU whose x2APIC the CPU virtualizes (vcpu_entry.vapic):
 * reads of TPR and writes of TPR, EOI and SELF IPI go to the virtual-APIC
 * page (SDM 30.5). Nothing else of 0x800-0x8FF passes: an access the CPU
 * does not virtualize would reach the host's own APIC.
 */
static void msr_bitmap_x2apic_init(u8 *bitmap, const u8 *plain)
{
	static const u32 read_pass[] = {MSR_X2APIC_TPR};
	static const u32 write_pass[] = {MSR_X2APIC_TPR, MSR_X2APIC_EOI,
					 MSR_X2APIC_SELF_IPI};

	memcpy(bitmap, plain, PAGE_SIZE);
	for (u32 i = 0; i < ARRAY_SIZE(read_pass); i++)
		bitmap[read_pass[i] / 8] &= (u8) ~(1u << (read_pass[i] % 8));
	for (u32 i = 0; i < ARRAY_SIZE(write_pass); i++)
		bitmap[2048 + write_pass[i] / 8] &=
		    (u8) ~(1u << (write_pass[i] % 8));
}

int vmx_vm_init(struct vm *vm)
{
	if (!vmx_caps_valid) {
		printk("vmx: VM %s: VT-x is not usable on this machine\n",
		       vm->name);
		return -VMX_ENODEV;
	}
	u16 vpid = 0;
	if (vmx_caps.proc2 & PROC2_ENABLE_VPID) {
		vpid = vmx_vpid_alloc();
		if (!vpid) {
			printk("vmx: VM %s: out of VPIDs: 1..%u are all taken "
			       "by other VMs\n",
			       vm->name, VMX_VPID_COUNT - 1);
			return -VMX_ENOSPC;
		}
	}
	u64 hpa_value =
	    mm_alloc_pages(VMX_VM_PAGES, PAGE_SIZE, vmx_region_limit());
	if (!hpa_value) {
		printk("vmx: VM %s: no memory for the I/O and MSR bitmaps\n",
		       vm->name);
		vmx_vpid_free(vpid);
		return -VMX_ENOMEM;
	}
	struct vmx_vm *vv = hpa_to_ptr(hpa_value);
	/* Every port exits: core decides about each (docs/vmx.md). */
	memset(vv->io_bitmap_a, 0xff, PAGE_SIZE);
	memset(vv->io_bitmap_b, 0xff, PAGE_SIZE);
	msr_bitmap_init(vv->msr_bitmap);
	msr_bitmap_x2apic_init(vv->msr_bitmap_x2apic, vv->msr_bitmap);
	vv->vpid = vpid;
	vm->vendor = vv;
	return 0;
}

void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *vv = vm->vendor;

	if (!vv)
		return;
	vm->vendor = NULL;
	vmx_vpid_free(vv->vpid);
	mm_free_pages(ptr_to_hpa(vv), VMX_VM_PAGES);
}
