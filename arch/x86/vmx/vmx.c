/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-x backend (SDM Vol. 3C chapters 24-31): VMXON on every host
 * CPU, one VMCS per vCPU, EPT + VPID per VM, the entry stub in vmx_entry.S,
 * and the decoding of VM exits into struct exit_event.  Design notes and
 * the reasons behind them: docs/vmx.md.
 */
#include "arch/x86/vmx/vmx.h"

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_entry.h"
#include "core/exit.h"
#include "core/format.h"
#include "core/mm.h"
#include "core/pagetable.h"
#include "core/printk.h"
#include "core/string.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* The entry stub's view of struct vcpu (vmx_entry.h). */
_Static_assert(__builtin_offsetof(struct vcpu, regs) == 0,
	       "vmx_entry.S addresses the GPR frame at offset 0 of the vcpu");
_Static_assert(sizeof(struct guest_gprs) == VMX_FRAME_SIZE,
	       "vmx_entry.S saves exactly 16 GPRs");
_Static_assert(__builtin_offsetof(struct guest_gprs, gpr[GPR_R15]) ==
		   VMX_FRAME_GPR(15),
	       "vmx_entry.S uses gpr[n] at n * 8");
_Static_assert(__builtin_offsetof(struct guest_gprs, gpr[GPR_RDI]) ==
		   VMX_FRAME_GPR(7),
	       "vmx_entry.S uses gpr[n] at n * 8");

/* -errno values of vcpu_ops.cpu_enable / vm_init / vcpu_create. */
#define VMX_EPERM  1
#define VMX_EIO	   5
#define VMX_ENOMEM 12
#define VMX_EINVAL 22
#define VMX_ENODEV 19

#define CPUID1_ECX_VMX		  BIT(5)  /* SDM Vol. 2A CPUID leaf 1 */
#define CPUID_80000001_EDX_RDTSCP BIT(27) /* RDTSCP and IA32_TSC_AUX */

#define VECTOR_UD  6 /* invalid opcode (SDM Vol. 3A 6.15) */
#define VECTOR_PF  14
#define VECTOR_NMI 2

/* Power-on guest values (SDM Vol. 3A, "Processor State After Reset"). */
#define GUEST_RESET_PAT 0x0007040600070406ull
#define GUEST_RESET_DR7 0x400ull

/* The VMX capabilities and control values shared by all host CPUs. */
struct vmx_caps {
	u64 basic, misc, ept_vpid;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 revision;
	u32 pin, proc, proc2, exit,
	    entry;	     /* the values every VMCS starts with */
	u32 preemption_rate; /* timer ticks = TSC >> rate */
	bool has_rdtscp;
	bool has_preemption_timer;
	struct pt_format ept_format;
};

static struct vmx_caps caps;
/* 0: not read yet, 1: some CPU is reading, 2: valid, 3: unusable. */
static volatile u32 caps_state;

/* Per host CPU (this_cpu()->vendor). */
struct vmx_cpu {
	u64 vmxon_hpa;
	u64 current_vmcs; /* hpa of the VMCS last VMPTRLDed here, or 0 */
	/*
	 * The vCPU whose SYSCALL MSRs, KERNEL_GS_BASE and TSC_AUX are in the
	 * hardware registers of this CPU (switched lazily; docs/vmx.md).
	 */
	struct vcpu *msr_owner;
};

static struct vmx_cpu vmx_cpus[MAX_CPUS];

/* Per VM (vm->vendor): the bitmaps every vCPU's VMCS points at. */
struct vmx_vm {
	u8 io_bitmap_a[PAGE_SIZE]; /* ports 0x0000-0x7fff (SDM 25.6.4) */
	u8 io_bitmap_b[PAGE_SIZE]; /* ports 0x8000-0xffff */
	u8 msr_bitmap[PAGE_SIZE];  /* SDM 25.6.9 */
};
_Static_assert(sizeof(struct vmx_vm) == 3 * PAGE_SIZE,
	       "each VMX bitmap is one page");

/* The MSRs a guest owns but VM entry and exit do not switch. */
enum vmx_lazy_msr {
	LAZY_STAR,
	LAZY_LSTAR,
	LAZY_CSTAR,
	LAZY_SFMASK,
	LAZY_KERNEL_GS_BASE,
	LAZY_TSC_AUX,
	LAZY_MSR_COUNT
};

static const u32 lazy_msr_index[LAZY_MSR_COUNT] = {
    [LAZY_STAR] = MSR_STAR,
    [LAZY_LSTAR] = MSR_LSTAR,
    [LAZY_CSTAR] = MSR_CSTAR,
    [LAZY_SFMASK] = MSR_SFMASK,
    [LAZY_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
    [LAZY_TSC_AUX] = MSR_TSC_AUX,
};

#define DEFERRED_EVENTS_MAX 4

/* Per vCPU (vcpu->vendor).  The VMCS is its first page. */
struct vmx_vcpu {
	u8 vmcs[PAGE_SIZE];
	int cpu;       /* host CPU the VMCS is active on, or -1 if clear */
	bool launched; /* VMRESUME rather than VMLAUNCH */
	bool host_state_written;
	u32 pin, proc; /* current pin-based and primary controls */
	u64 eptp;
	bool core_wants_window; /* request_intr_window(true) */
	/* Events queued by inject(), delivered in order when deliverable. */
	struct vcpu_event deferred[DEFERRED_EVENTS_MAX];
	u32 deferred_count;
	bool entry_event_valid; /* VM-entry interruption info holds one */
	u64 deadline;		/* TSC of the next preemption-timer exit */
	bool flush_pending;	/* INVEPT/INVVPID before the next entry */
	u64 lazy_msr[LAZY_MSR_COUNT];
	u64 cr2; /* CR2 is not in the VMCS either */
	/* What the VMCS holds, so that unchanged values are not written. */
	u64 tsc_offset; /* VMCS_TSC_OFFSET */
	u64 rsp;	/* VMCS_GUEST_RSP */
};
_Static_assert(__builtin_offsetof(struct vmx_vcpu, vmcs) == 0,
	       "the VMCS must be page aligned");

static struct vmx_vcpu *to_vmx(struct vcpu *vcpu)
{
	return vcpu->vendor;
}

static struct vmx_cpu *vmx_this_cpu(void)
{
	return &vmx_cpus[this_cpu()->index];
}

/* ---------------------------------------------------------------------
 * VMX instructions.  Each reports VMfailInvalid / VMfailValid through
 * CF / ZF (SDM Vol. 3C 31.2); "setna" captures either.
 */

static u32 vm_instruction_error(void);

static u64 vmcs_read(u64 field)
{
	u64 value;
	u8 failed;
	__asm__ volatile("vmread %2, %0; setna %1"
			 : "=r"(value), "=qm"(failed)
			 : "r"(field)
			 : "cc");
	if (failed)
		panic("vmx: VMREAD of VMCS field %#llx failed",
		      (unsigned long long)field);
	return value;
}

static void vmcs_write(u64 field, u64 value)
{
	u8 failed;
	__asm__ volatile("vmwrite %1, %2; setna %0"
			 : "=qm"(failed)
			 : "r"(value), "r"(field)
			 : "cc", "memory");
	if (failed)
		panic("vmx: VMWRITE of %#llx to VMCS field %#llx failed "
		      "(VM-instruction error %u)",
		      (unsigned long long)value, (unsigned long long)field,
		      vm_instruction_error());
}

/* SDM Vol. 3C 31.4; only meaningful after a VMfailValid. */
static u32 vm_instruction_error(void)
{
	u64 value;
	u8 failed;
	__asm__ volatile("vmread %2, %0; setna %1"
			 : "=r"(value), "=qm"(failed)
			 : "r"((u64)VMCS_VM_INSN_ERROR)
			 : "cc");
	return failed ? 0 : (u32)value;
}

/* Each returns true on success. */
static bool vmx_on(u64 region)
{
	u8 failed;
	__asm__ volatile("vmxon %1; setna %0"
			 : "=qm"(failed)
			 : "m"(region)
			 : "cc", "memory");
	return !failed;
}

static bool vmcs_clear(u64 vmcs)
{
	u8 failed;
	__asm__ volatile("vmclear %1; setna %0"
			 : "=qm"(failed)
			 : "m"(vmcs)
			 : "cc", "memory");
	return !failed;
}

static bool vmcs_load(u64 vmcs)
{
	u8 failed;
	__asm__ volatile("vmptrld %1; setna %0"
			 : "=qm"(failed)
			 : "m"(vmcs)
			 : "cc", "memory");
	return !failed;
}

static bool invept(u64 type, u64 eptp)
{
	struct {
		u64 eptp, reserved;
	} desc = {eptp, 0};
	u8 failed;
	__asm__ volatile("invept %1, %2; setna %0"
			 : "=qm"(failed)
			 : "m"(desc), "r"(type)
			 : "cc", "memory");
	return !failed;
}

static bool invvpid(u64 type, u16 vpid)
{
	struct {
		u64 vpid, linear_address;
	} desc = {vpid, 0};
	u8 failed;
	__asm__ volatile("invvpid %1, %2; setna %0"
			 : "=qm"(failed)
			 : "m"(desc), "r"(type)
			 : "cc", "memory");
	return !failed;
}

/* ---------------------------------------------------------------------
 * Capabilities (SDM Vol. 3D appendix A).
 */

struct control_bit {
	u32 bit;
	const char *name;
};

/*
 * A control value from a capability MSR: the low half holds the bits that
 * must be 1 (allowed-0 settings), the high half the bits that may be 1
 * (allowed-1 settings) (SDM Vol. 3D A.3-A.5).  Bits of `required` the CPU
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

static u32 true_msr(u32 plain, u32 true_variant)
{
	/* Bit 55: the TRUE_* MSRs exist and allow clearing default-1 bits. */
	return (caps.basic & VMX_BASIC_TRUE_CONTROLS) ? true_variant : plain;
}

static int read_capabilities(void)
{
	caps.basic = rdmsr(MSR_IA32_VMX_BASIC);
	caps.misc = rdmsr(MSR_IA32_VMX_MISC);
	caps.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	caps.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	caps.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	caps.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	caps.revision = (u32)(caps.basic & VMX_BASIC_REVISION_MASK);
	caps.preemption_rate = (u32)(caps.misc & VMX_MISC_PREEMPTION_RATE_MASK);
	caps.has_rdtscp = cpuid(0x80000000).eax >= 0x80000001 &&
			  (cpuid(0x80000001).edx & CPUID_80000001_EDX_RDTSCP);

	bool ok = true;
	ok &= compute_controls("pin-based",
			       true_msr(MSR_IA32_VMX_PINBASED_CTLS,
					MSR_IA32_VMX_TRUE_PINBASED_CTLS),
			       PIN_EXTERNAL_INTR_EXITING | PIN_NMI_EXITING,
			       PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER,
			       &caps.pin);
	ok &= compute_controls("primary processor-based",
			       true_msr(MSR_IA32_VMX_PROCBASED_CTLS,
					MSR_IA32_VMX_TRUE_PROCBASED_CTLS),
			       PROC_HLT_EXITING | PROC_USE_TSC_OFFSETTING |
				   PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
				   PROC_SECONDARY_CONTROLS |
				   PROC_MWAIT_EXITING | PROC_MONITOR_EXITING,
			       0, &caps.proc);
	if (!ok)
		return -VMX_ENODEV;
	ok &= compute_controls("secondary processor-based",
			       MSR_IA32_VMX_PROCBASED_CTLS2,
			       PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST,
			       PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP |
				   PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES,
			       &caps.proc2);
	ok &= compute_controls(
	    "VM-exit",
	    true_msr(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS),
	    EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_IA32_EFER |
		EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT,
	    0, &caps.exit);
	ok &= compute_controls(
	    "VM-entry",
	    true_msr(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS),
	    ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT | ENTRY_IA32E_MODE_GUEST,
	    0, &caps.entry);
	if (!ok)
		return -VMX_ENODEV;
	/* Set per entry from the guest's EFER.LMA (see sync_ia32e_mode). */
	caps.entry &= ~ENTRY_IA32E_MODE_GUEST;
	/* Neither is used: see docs/vmx.md. */
	if (caps.exit & (EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_PREEMPTION_TIMER))
		printk("vmx: note: the CPU forces VM-exit controls %#x\n",
		       caps.exit & (EXIT_ACK_INTR_ON_EXIT |
				    EXIT_SAVE_PREEMPTION_TIMER));
	/* The preemption timer is armed per entry by set_deadline. */
	caps.has_preemption_timer = caps.pin & PIN_PREEMPTION_TIMER;
	caps.pin &= ~PIN_PREEMPTION_TIMER;

	caps.ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(caps.ept_vpid & EPT_CAP_WALK_LENGTH_4) ||
	    !(caps.ept_vpid & EPT_CAP_MEMTYPE_WB)) {
		printk("vmx: EPT lacks 4-level walks or write-back paging "
		       "structures (IA32_VMX_EPT_VPID_CAP %#llx)\n",
		       (unsigned long long)caps.ept_vpid);
		return -VMX_ENODEV;
	}
	if (!(caps.ept_vpid & EPT_CAP_INVEPT) ||
	    !(caps.ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		printk("vmx: the CPU has no usable INVEPT "
		       "(IA32_VMX_EPT_VPID_CAP %#llx)\n",
		       (unsigned long long)caps.ept_vpid);
		return -VMX_ENODEV;
	}
	/* VPIDs are only worth it when they can be invalidated. */
	if (!(caps.ept_vpid & VPID_CAP_INVVPID) ||
	    !(caps.ept_vpid & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)))
		caps.proc2 &= ~PROC2_ENABLE_VPID;

	caps.ept_format = pt_format_ept;
	if (caps.ept_vpid & EPT_CAP_1G_PAGES)
		caps.ept_format.leaf_levels |= PT_LEAF_1G;
	if (!(caps.ept_vpid & EPT_CAP_2M_PAGES))
		caps.ept_format.leaf_levels &= ~(u32)PT_LEAF_2M;

	printk("vmx: VMCS revision %#x, controls pin %#x proc %#x proc2 %#x "
	       "exit %#x entry %#x, EPT/VPID caps %#llx%s%s\n",
	       caps.revision, caps.pin, caps.proc, caps.proc2, caps.exit,
	       caps.entry, (unsigned long long)caps.ept_vpid,
	       (caps.proc2 & PROC2_ENABLE_VPID) ? ", VPID" : "",
	       caps.has_preemption_timer ? ", preemption timer" : "");
	return 0;
}

/* Reads the capabilities once; every other CPU waits for the result. */
static int capabilities_once(void)
{
	u32 expected = 0;
	if (__atomic_compare_exchange_n(&caps_state, &expected, 1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		int err = read_capabilities();
		__atomic_store_n(&caps_state, err ? 3u : 2u, __ATOMIC_RELEASE);
		return err;
	}
	while (__atomic_load_n(&caps_state, __ATOMIC_ACQUIRE) == 1)
		cpu_relax();
	if (caps_state != 2)
		return -VMX_ENODEV;
	/* All CPUs must agree, or one VMCS layout would not fit them all. */
	u32 revision =
	    (u32)(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_REVISION_MASK);
	if (revision != caps.revision) {
		printk("vmx: CPU %u has VMCS revision %#x, the boot CPU %#x\n",
		       this_cpu()->index, revision, caps.revision);
		return -VMX_ENODEV;
	}
	return 0;
}

/* Pages the VMX regions live in (SDM Vol. 3D A.1: bit 48). */
static u64 vmx_region_limit(void)
{
	return (caps.basic & VMX_BASIC_32BIT_ADDRESSES) ? MM_BELOW_4G : MM_ANY;
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

static int vmx_cpu_enable(void)
{
	struct percpu *pc = this_cpu();
	struct vmx_cpu *cpu = &vmx_cpus[pc->index];

	if (!(cpuid(1).ecx & CPUID1_ECX_VMX)) {
		printk("vmx: CPU %u does not report VMX (CPUID.1:ECX.5)\n",
		       pc->index);
		return -VMX_ENODEV;
	}
	int err = enable_feature_control();
	if (err)
		return err;
	err = capabilities_once();
	if (err)
		return err;

	/* SDM 24.8: CR0 and CR4 must hold the VMX fixed bits in VMX operation.
	 */
	write_cr0((read_cr0() | caps.cr0_fixed0) & caps.cr0_fixed1);
	write_cr4((read_cr4() | caps.cr4_fixed0 | CR4_VMXE) & caps.cr4_fixed1);

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
	*(u32 *)hpa_to_ptr(cpu->vmxon_hpa) = caps.revision;
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

static const struct pt_format *vmx_npt_format(void)
{
	return &caps.ept_format;
}

/* ---------------------------------------------------------------------
 * vm_init: VPID and the I/O and MSR bitmaps.
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
 * this backend switches lazily (enum vmx_lazy_msr).  Every other MSR exits
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
	for (u32 i = 0; i < LAZY_MSR_COUNT; i++) {
		if (i == LAZY_TSC_AUX && !caps.has_rdtscp)
			continue;
		msr_bitmap_pass(bitmap, lazy_msr_index[i]);
	}
}

static int vmx_vm_init(struct vm *vm)
{
	if (caps_state != 2) {
		printk("vmx: VM %s: VT-x is not enabled on any CPU\n",
		       vm->name);
		return -VMX_ENODEV;
	}
	if (vm->asid == 0 || vm->asid > 0xffff) {
		printk("vmx: VM %s: VPID %u is outside 1..65535 "
		       "(SDM 25.6.12: 0 is the host's)\n",
		       vm->name, vm->asid);
		return -VMX_EINVAL;
	}
	u64 pages = sizeof(struct vmx_vm) / PAGE_SIZE;
	u64 hpa_value = mm_alloc_pages(pages, PAGE_SIZE, vmx_region_limit());
	if (!hpa_value) {
		printk("vmx: VM %s: no memory for the I/O and MSR bitmaps\n",
		       vm->name);
		return -VMX_ENOMEM;
	}
	struct vmx_vm *vv = hpa_to_ptr(hpa_value);
	/* Every port exits: core decides about each (docs/vmx.md). */
	memset(vv->io_bitmap_a, 0xff, PAGE_SIZE);
	memset(vv->io_bitmap_b, 0xff, PAGE_SIZE);
	msr_bitmap_init(vv->msr_bitmap);
	vm->vendor = vv;
	return 0;
}

/* ---------------------------------------------------------------------
 * Host state (SDM Vol. 3C 25.5, checked by 27.2.2-27.2.4).
 */

struct __packed descriptor_table_register {
	u16 limit;
	u64 base;
};

static u16 read_selector_cs(void)
{
	u16 s;
	__asm__ volatile("mov %%cs, %0" : "=r"(s));
	return s;
}
static u16 read_selector_ss(void)
{
	u16 s;
	__asm__ volatile("mov %%ss, %0" : "=r"(s));
	return s;
}
static u16 read_selector_ds(void)
{
	u16 s;
	__asm__ volatile("mov %%ds, %0" : "=r"(s));
	return s;
}
static u16 read_selector_es(void)
{
	u16 s;
	__asm__ volatile("mov %%es, %0" : "=r"(s));
	return s;
}
static u16 read_selector_fs(void)
{
	u16 s;
	__asm__ volatile("mov %%fs, %0" : "=r"(s));
	return s;
}
static u16 read_selector_gs(void)
{
	u16 s;
	__asm__ volatile("mov %%gs, %0" : "=r"(s));
	return s;
}
static u16 read_selector_tr(void)
{
	u16 s;
	__asm__ volatile("str %0" : "=r"(s));
	return s;
}

/* Base of the 16-byte TSS descriptor `selector` (SDM Vol. 3A 8.2.3). */
static u64 tss_base(u64 gdt_base, u16 selector)
{
	const u8 *d = hpa_to_ptr(gdt_base + (selector & ~7u));
	return (u64)d[2] | (u64)d[3] << 8 | (u64)d[4] << 16 | (u64)d[7] << 24 |
	       (u64)d[8] << 32 | (u64)d[9] << 40 | (u64)d[10] << 48 |
	       (u64)d[11] << 56;
}

/* Writes the host-state area for the calling CPU into the current VMCS. */
static void write_host_state(void)
{
	struct descriptor_table_register gdtr, idtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("sidt %0" : "=m"(idtr));
	u16 tr = read_selector_tr();

	/* SDM 27.2.3: TR may not be 0 and no selector may have RPL/TI set. */
	if (tr == 0)
		panic("vmx: CPU %u has no TSS loaded (TR = 0); VM exits need "
		      "one (SDM Vol. 3C 27.2.3)",
		      this_cpu()->index);
	vmcs_write(VMCS_HOST_CR0, read_cr0());
	vmcs_write(VMCS_HOST_CR3, read_cr3());
	vmcs_write(VMCS_HOST_CR4, read_cr4());
	vmcs_write(VMCS_HOST_CS_SELECTOR, read_selector_cs() & ~7u);
	vmcs_write(VMCS_HOST_SS_SELECTOR, read_selector_ss() & ~7u);
	vmcs_write(VMCS_HOST_DS_SELECTOR, read_selector_ds() & ~7u);
	vmcs_write(VMCS_HOST_ES_SELECTOR, read_selector_es() & ~7u);
	vmcs_write(VMCS_HOST_FS_SELECTOR, read_selector_fs() & ~7u);
	vmcs_write(VMCS_HOST_GS_SELECTOR, read_selector_gs() & ~7u);
	vmcs_write(VMCS_HOST_TR_SELECTOR, tr & ~7u);
	vmcs_write(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	/* this_cpu() reads %gs:0, so the GS base must survive every exit. */
	vmcs_write(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(VMCS_HOST_TR_BASE, tss_base(gdtr.base, tr));
	vmcs_write(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmcs_write(VMCS_HOST_IDTR_BASE, idtr.base);
	vmcs_write(VMCS_HOST_SYSENTER_CS, rdmsr(MSR_IA32_SYSENTER_CS));
	vmcs_write(VMCS_HOST_SYSENTER_ESP, rdmsr(MSR_IA32_SYSENTER_ESP));
	vmcs_write(VMCS_HOST_SYSENTER_EIP, rdmsr(MSR_IA32_SYSENTER_EIP));
	vmcs_write(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(VMCS_HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);
	/* HOST_RSP is written by vmx_enter on every entry. */
}

/*
 * Makes the vCPU's VMCS current on the calling CPU.  A VMCS active on one
 * CPU may not be used on another before a VMCLEAR there (SDM Vol. 3C
 * 25.11.1), which this backend cannot do remotely: that is a host bug.
 */
static __attribute__((noinline)) void vmcs_make_current(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	struct vmx_cpu *cpu = vmx_this_cpu();
	u64 vmcs = ptr_to_hpa(v->vmcs);
	int here = (int)this_cpu()->index;

	if (v->cpu != -1 && v->cpu != here)
		panic("vmx: vCPU %u of VM %s: its VMCS is active on CPU %d "
		      "but used on CPU %d",
		      vcpu->index, vcpu->vm->name, v->cpu, here);
	if (!vmcs_load(vmcs))
		panic("vmx: VMPTRLD %#llx failed on CPU %d (error %u)",
		      (unsigned long long)vmcs, here, vm_instruction_error());
	cpu->current_vmcs = vmcs;
	if (v->cpu == -1) {
		/* New to this CPU: its host state and stale TLB tags. */
		v->cpu = here;
		v->host_state_written = false;
		v->flush_pending = true;
	}
	if (!v->host_state_written) {
		write_host_state();
		v->host_state_written = true;
	}
}

/* The common case inline: the VMCS is already current here. */
static inline void vmcs_activate(struct vcpu *vcpu)
{
	const struct vmx_vcpu *v = to_vmx(vcpu);
	int here = (int)this_cpu()->index;

	if (v->cpu == here &&
	    vmx_cpus[here].current_vmcs == ptr_to_hpa(v->vmcs))
		return;
	vmcs_make_current(vcpu);
}

/* VMCLEAR on the CPU the VMCS is active on; a later run may go anywhere. */
static void vmcs_deactivate(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	struct vmx_cpu *cpu = vmx_this_cpu();
	u64 vmcs = ptr_to_hpa(v->vmcs);

	if (v->cpu == -1)
		return;
	if (v->cpu != (int)this_cpu()->index)
		panic("vmx: VMCLEAR of vCPU %u of VM %s on CPU %u, but it is "
		      "active on CPU %d",
		      vcpu->index, vcpu->vm->name, this_cpu()->index, v->cpu);
	if (!vmcs_clear(vmcs))
		panic("vmx: VMCLEAR %#llx failed (error %u)",
		      (unsigned long long)vmcs, vm_instruction_error());
	if (cpu->current_vmcs == vmcs)
		cpu->current_vmcs = 0;
	v->cpu = -1;
	v->launched = false;
}

/* ---------------------------------------------------------------------
 * Guest control registers.  The host owns the bits VMX fixes (SDM 24.8)
 * through the CR0/CR4 guest/host masks; the guest reads its own values
 * from the read shadows (SDM Vol. 3C 25.6.6).  With unrestricted guest,
 * CR0.PE and CR0.PG are the guest's (SDM 27.3.1.1).
 */

static u64 cr0_host_owned(void)
{
	u64 fixed =
	    (caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG)) | ~caps.cr0_fixed1;
	return fixed & 0xffffffffull;
}

static u64 cr4_host_owned(void)
{
	return (caps.cr4_fixed0 | ~caps.cr4_fixed1) & 0xffffffffull;
}

static u64 cr0_for_hardware(u64 visible)
{
	return (visible | (caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG))) &
	       caps.cr0_fixed1;
}

static u64 cr4_for_hardware(u64 visible)
{
	return (visible | caps.cr4_fixed0) & caps.cr4_fixed1;
}

static u64 guest_cr0(void)
{
	u64 mask = cr0_host_owned();
	return (vmcs_read(VMCS_GUEST_CR0) & ~mask) |
	       (vmcs_read(VMCS_CR0_READ_SHADOW) & mask);
}

static u64 guest_cr4(void)
{
	u64 mask = cr4_host_owned();
	return (vmcs_read(VMCS_GUEST_CR4) & ~mask) |
	       (vmcs_read(VMCS_CR4_READ_SHADOW) & mask);
}

/*
 * With EPT, VM entry takes the PAE PDPTEs from the VMCS, not from memory
 * (SDM Vol. 3C 27.3.2.4), so an emulated write that enters PAE paging or
 * changes CR3 under it must load them.
 */
static void load_pae_pdptes(struct vcpu *vcpu)
{
	u64 cr0 = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (efer & EFER_LMA))
		return;
	u64 table = vmcs_read(VMCS_GUEST_CR3) & 0xffffffe0ull;
	const u64 *pdpte = vm_gpa_to_hva(vcpu->vm, gpa(table), 32);
	for (u32 i = 0; i < 4; i++)
		vmcs_write(VMCS_GUEST_PDPTE0 + 2 * i, pdpte ? pdpte[i] : 0);
	if (!pdpte)
		printk("vmx: VM %s vCPU %u: PAE page-directory-pointer table "
		       "at %#llx is outside guest RAM\n",
		       vcpu->vm->name, vcpu->index, (unsigned long long)table);
}

/* EFER.LMA follows CR0.PG when EFER.LME is set (SDM Vol. 3A, "Initializing
 * IA-32e Mode"). */
static void update_lma(void)
{
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	bool paging = vmcs_read(VMCS_GUEST_CR0) & CR0_PG;
	u64 want =
	    (efer & ~EFER_LMA) | ((efer & EFER_LME) && paging ? EFER_LMA : 0);
	if (want != efer)
		vmcs_write(VMCS_GUEST_IA32_EFER, want);
}

static void write_guest_cr0(struct vcpu *vcpu, u64 value)
{
	vmcs_write(VMCS_CR0_READ_SHADOW, value);
	vmcs_write(VMCS_GUEST_CR0, cr0_for_hardware(value));
	update_lma();
	load_pae_pdptes(vcpu);
}

static void write_guest_cr4(struct vcpu *vcpu, u64 value)
{
	vmcs_write(VMCS_CR4_READ_SHADOW, value);
	vmcs_write(VMCS_GUEST_CR4, cr4_for_hardware(value));
	load_pae_pdptes(vcpu);
}

/*
 * The "IA-32e mode guest" entry control must equal the guest's EFER.LMA
 * (SDM Vol. 3C 27.3.1.1), which the guest changes itself by setting
 * CR0.PG with EFER.LME; refresh it before every entry.
 */
static void sync_ia32e_mode(void)
{
	u32 entry = (u32)vmcs_read(VMCS_ENTRY_CONTROLS);
	u32 want = (vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA)
		       ? entry | ENTRY_IA32E_MODE_GUEST
		       : entry & ~ENTRY_IA32E_MODE_GUEST;
	if (want != entry)
		vmcs_write(VMCS_ENTRY_CONTROLS, want);
}

/* ---------------------------------------------------------------------
 * Lazily switched guest state: the MSRs in enum vmx_lazy_msr and CR2 are
 * not part of the VMCS.  The host never uses them (no SYSCALL, no SWAPGS,
 * no RDTSCP, no page faults in normal operation), so they stay loaded
 * while the host runs and are switched only when another vCPU enters on
 * this CPU (docs/vmx.md).
 */

static bool lazy_msr_present(u32 i)
{
	return i != LAZY_TSC_AUX || caps.has_rdtscp;
}

static void lazy_state_save(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	for (u32 i = 0; i < LAZY_MSR_COUNT; i++)
		if (lazy_msr_present(i))
			v->lazy_msr[i] = rdmsr(lazy_msr_index[i]);
	v->cr2 = read_cr2();
}

static void lazy_state_load(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	for (u32 i = 0; i < LAZY_MSR_COUNT; i++)
		if (lazy_msr_present(i))
			wrmsr(lazy_msr_index[i], v->lazy_msr[i]);
	write_cr2(v->cr2);
}

static void lazy_state_switch(struct vcpu *vcpu)
{
	struct vmx_cpu *cpu = vmx_this_cpu();
	if (cpu->msr_owner == vcpu)
		return;
	if (cpu->msr_owner)
		lazy_state_save(cpu->msr_owner);
	lazy_state_load(vcpu);
	cpu->msr_owner = vcpu;
}

static bool lazy_state_in_hardware(struct vcpu *vcpu)
{
	return this_cpu()->vendor && vmx_this_cpu()->msr_owner == vcpu;
}

static u64 lazy_msr_read(struct vcpu *vcpu, enum vmx_lazy_msr i)
{
	if (lazy_state_in_hardware(vcpu))
		return rdmsr(lazy_msr_index[i]);
	return to_vmx(vcpu)->lazy_msr[i];
}

static void lazy_msr_write(struct vcpu *vcpu, enum vmx_lazy_msr i, u64 value)
{
	if (lazy_state_in_hardware(vcpu))
		wrmsr(lazy_msr_index[i], value);
	else
		to_vmx(vcpu)->lazy_msr[i] = value;
}

/* ---------------------------------------------------------------------
 * vcpu_create / vcpu_reset
 */

static void write_controls(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	struct vmx_vm *vv = vcpu->vm->vendor;

	v->pin = caps.pin;
	v->proc = caps.proc;
	vmcs_write(VMCS_PIN_CONTROLS, v->pin);
	vmcs_write(VMCS_PROC_CONTROLS, v->proc);
	vmcs_write(VMCS_PROC_CONTROLS2, caps.proc2);
	vmcs_write(VMCS_EXIT_CONTROLS, caps.exit);
	vmcs_write(VMCS_ENTRY_CONTROLS, caps.entry);
	/* #UD: VMMCALL raises it on Intel; it is a hypercall here too. */
	vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(VECTOR_UD));
	vmcs_write(VMCS_PF_ERROR_MASK, 0);
	vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	vmcs_write(VMCS_IO_BITMAP_A, ptr_to_hpa(vv->io_bitmap_a));
	vmcs_write(VMCS_IO_BITMAP_B, ptr_to_hpa(vv->io_bitmap_b));
	vmcs_write(VMCS_MSR_BITMAP, ptr_to_hpa(vv->msr_bitmap));
	vmcs_write(VMCS_TSC_OFFSET, 0);
	to_vmx(vcpu)->tsc_offset = 0;
	if (caps.proc2 & PROC2_ENABLE_VPID)
		vmcs_write(VMCS_VPID, vcpu->vm->asid);
	if (caps.proc2 & PROC2_ENABLE_XSAVES)
		vmcs_write(VMCS_XSS_EXIT_BITMAP, 0);
	vmcs_write(VMCS_CR0_GUEST_HOST_MASK, cr0_host_owned());
	vmcs_write(VMCS_CR4_GUEST_HOST_MASK, cr4_host_owned());
	/* SDM 27.3.1.5: ~0 unless VMCS shadowing is in use. */
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
	v->eptp = 0; /* written before the first entry */
}

static int vmx_vcpu_create(struct vcpu *vcpu)
{
	u64 pages = ALIGN_UP(sizeof(struct vmx_vcpu), PAGE_SIZE) / PAGE_SIZE;
	u64 hpa_value = mm_alloc_pages(pages, PAGE_SIZE, vmx_region_limit());
	if (!hpa_value) {
		printk("vmx: VM %s vCPU %u: no memory for the VMCS\n",
		       vcpu->vm->name, vcpu->index);
		return -VMX_ENOMEM;
	}
	if (!vcpu->vm->vendor) {
		printk("vmx: VM %s: vcpu_create before vm_init\n",
		       vcpu->vm->name);
		mm_free_pages(hpa_value, pages);
		return -VMX_EINVAL;
	}
	struct vmx_vcpu *v = hpa_to_ptr(hpa_value);
	*(u32 *)v->vmcs = caps.revision; /* SDM 25.2 */
	v->cpu = -1;
	vcpu->vendor = v;
	/* SDM 25.11.3: VMCLEAR a new VMCS before its first VMPTRLD. */
	if (!vmcs_clear(hpa_value)) {
		printk("vmx: VMCLEAR of a new VMCS failed (error %u)\n",
		       vm_instruction_error());
		vcpu->vendor = NULL;
		mm_free_pages(hpa_value, pages);
		return -VMX_EIO;
	}
	vmcs_activate(vcpu);
	write_controls(vcpu);
	/*
	 * Core may create the vCPU on another CPU than the one that runs
	 * it: leave the VMCS clear so any CPU can load it (25.11.1).
	 */
	vmcs_deactivate(vcpu);
	return 0;
}

static void vmx_vcpu_destroy(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	if (!v)
		return;
	if (v->cpu != -1 && v->cpu != (int)this_cpu()->index) {
		printk("vmx: vCPU %u of VM %s destroyed on CPU %u while its "
		       "VMCS is active on CPU %d: its memory is kept\n",
		       vcpu->index, vcpu->vm->name, this_cpu()->index, v->cpu);
		return;
	}
	vmcs_deactivate(vcpu);
	for (u32 i = 0; i < MAX_CPUS; i++)
		if (vmx_cpus[i].msr_owner == vcpu)
			vmx_cpus[i].msr_owner = NULL;
	vcpu->vendor = NULL;
	mm_free_pages(ptr_to_hpa(v),
		      ALIGN_UP(sizeof(struct vmx_vcpu), PAGE_SIZE) / PAGE_SIZE);
}

/* Guest segment registers in VMCS field order (SDM Vol. 3D B.1.2). */
enum vmx_segment {
	SEG_ES,
	SEG_CS,
	SEG_SS,
	SEG_DS,
	SEG_FS,
	SEG_GS,
	SEG_LDTR,
	SEG_TR,
	SEG_COUNT
};

static const char *const segment_names[SEG_COUNT] = {
    "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR",
};

static void write_segment(enum vmx_segment seg, u16 selector, u64 base,
			  u32 limit, u32 access_rights)
{
	vmcs_write(VMCS_GUEST_ES_SELECTOR + 2 * seg, selector);
	vmcs_write(VMCS_GUEST_ES_BASE + 2 * seg, base);
	vmcs_write(VMCS_GUEST_ES_LIMIT + 2 * seg, limit);
	vmcs_write(VMCS_GUEST_ES_AR + 2 * seg, access_rights);
}

/* Access rights (SDM Vol. 3C Table 25-2): present, S=1, accessed types. */
#define AR_DATA_RW_ACCESSED (AR_P | AR_S | 0x3)
#define AR_CODE_RX_ACCESSED (AR_P | AR_S | 0xb)
#define AR_TSS_BUSY_32	    (AR_P | 0xb)
#define AR_LDT		    (AR_P | 0x2)

static void reset_segments(const struct vcpu_start_state *s)
{
	if (s->mode == VCPU_START_REAL) {
		/* Real mode: base = selector * 16, 64 KiB limits. */
		write_segment(SEG_CS, s->cs_selector, (u64)s->cs_selector << 4,
			      0xffff, AR_CODE_RX_ACCESSED);
		for (enum vmx_segment seg = SEG_ES; seg <= SEG_GS; seg++)
			if (seg != SEG_CS)
				write_segment(seg, 0, 0, 0xffff,
					      AR_DATA_RW_ACCESSED);
	} else {
		/* Multiboot's state: flat 4 GiB 32-bit segments. */
		write_segment(SEG_CS, s->cs_selector, 0, 0xffffffff,
			      AR_CODE_RX_ACCESSED | AR_DB | AR_G);
		for (enum vmx_segment seg = SEG_ES; seg <= SEG_GS; seg++)
			if (seg != SEG_CS)
				write_segment(
				    seg, s->ds_selector, 0, 0xffffffff,
				    AR_DATA_RW_ACCESSED | AR_DB | AR_G);
	}
	write_segment(SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
	/* VM entry needs a usable busy TSS even in real mode (27.3.1.2). */
	write_segment(SEG_TR, 0, 0, 0xffff, AR_TSS_BUSY_32);
	vmcs_write(VMCS_GUEST_GDTR_BASE, s->gdtr_base);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT,
		   s->gdtr_limit ? s->gdtr_limit : 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);
}

static void vmx_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *s)
{
	struct vmx_vcpu *v = to_vmx(vcpu);

	vmcs_activate(vcpu);
	write_controls(vcpu);
	reset_segments(s);
	vcpu->regs = s->regs;
	vmcs_write(VMCS_GUEST_RSP, s->regs.gpr[GPR_RSP]);
	to_vmx(vcpu)->rsp = s->regs.gpr[GPR_RSP];
	vmcs_write(VMCS_GUEST_RIP, s->rip);
	vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	vmcs_write(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write(VMCS_GUEST_IA32_PAT, GUEST_RESET_PAT);
	vmcs_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(VMCS_GUEST_DR7, GUEST_RESET_DR7);
	vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	vmcs_write(VMCS_GUEST_CR3, 0);
	write_guest_cr0(vcpu,
			s->mode == VCPU_START_REAL ? CR0_ET : CR0_ET | CR0_PE);
	write_guest_cr4(vcpu, 0);
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	vmcs_write(VMCS_GUEST_PENDING_DEBUG, 0);

	memset(v->lazy_msr, 0, sizeof(v->lazy_msr));
	v->cr2 = 0;
	for (u32 i = 0; i < MAX_CPUS; i++)
		if (vmx_cpus[i].msr_owner == vcpu)
			vmx_cpus[i].msr_owner = NULL; /* reload on entry */
	v->deferred_count = 0;
	v->entry_event_valid = false;
	v->core_wants_window = false;
	v->deadline = 0;
	v->flush_pending = true;
	vmcs_deactivate(vcpu); /* as in vmx_vcpu_create */
}

/* ---------------------------------------------------------------------
 * Event injection (SDM Vol. 3C 27.6) and re-injection of events whose
 * delivery a VM exit interrupted (SDM Vol. 3C 28.2.4).
 */

/* Exceptions that push an error code in protected mode (SDM 6.15). */
static bool exception_has_error_code(u8 vector)
{
	switch (vector) {
	case 8:
	case 10:
	case 11:
	case 12:
	case 13:
	case 14:
	case 17:
	case 21:
		return true;
	}
	return false;
}

static bool event_deliverable(const struct vcpu_event *e)
{
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	switch (e->type) {
	case VCPU_EVENT_EXTERNAL_INTR:
		/* SDM 27.3.1.5: IF=1 and no STI / MOV-SS blocking. */
		return (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
		       !(blocking &
			 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	case VCPU_EVENT_NMI:
		return !(blocking &
			 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS |
			  INTERRUPTIBILITY_NMI));
	case VCPU_EVENT_EXCEPTION:
		return true;
	}
	return false;
}

static void write_entry_event(struct vmx_vcpu *v, const struct vcpu_event *e)
{
	u32 info = INTR_INFO_VALID;
	switch (e->type) {
	case VCPU_EVENT_EXTERNAL_INTR:
		info |= INTR_TYPE_EXTERNAL << INTR_INFO_TYPE_SHIFT | e->vector;
		break;
	case VCPU_EVENT_NMI:
		info |= INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT | VECTOR_NMI;
		break;
	case VCPU_EVENT_EXCEPTION:
		info |=
		    INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT | e->vector;
		/*
		 * SDM 27.2.1.3: an error code is delivered exactly when the
		 * guest is in protected mode and the vector defines one.
		 */
		if ((vmcs_read(VMCS_GUEST_CR0) & CR0_PE) &&
		    exception_has_error_code(e->vector)) {
			info |= INTR_INFO_ERROR_CODE;
			vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, e->error_code);
		}
		break;
	}
	vmcs_write(VMCS_ENTRY_INTR_INFO, info);
	v->entry_event_valid = true;
}

static void vmx_inject(struct vcpu *vcpu, const struct vcpu_event *e)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	if (e->type == VCPU_EVENT_EXCEPTION && e->vector >= 32) {
		printk("vmx: VM %s vCPU %u: exception vector %u is not an "
		       "exception (0-31); not injected\n",
		       vcpu->vm->name, vcpu->index, e->vector);
		return;
	}
	if (v->deferred_count == DEFERRED_EVENTS_MAX) {
		printk("vmx: VM %s vCPU %u: %u events already queued; event "
		       "type %d vector %u dropped\n",
		       vcpu->vm->name, vcpu->index, v->deferred_count, e->type,
		       e->vector);
		return;
	}
	v->deferred[v->deferred_count++] = *e;
}

/* An event cut short by this exit is delivered again on the next entry. */
static void reinject_interrupted_event(struct vmx_vcpu *v)
{
	u32 idt = (u32)vmcs_read(VMCS_IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID))
		return;
	u32 type = (idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	vmcs_write(VMCS_ENTRY_INTR_INFO,
		   idt & (INTR_INFO_VALID | INTR_INFO_TYPE_MASK |
			  INTR_INFO_ERROR_CODE | INTR_INFO_VECTOR_MASK));
	if (idt & INTR_INFO_ERROR_CODE)
		vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR,
			   vmcs_read(VMCS_IDT_VECTORING_ERROR));
	if (type == INTR_TYPE_SW_INTERRUPT ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	    type == INTR_TYPE_SW_EXCEPTION)
		vmcs_write(VMCS_ENTRY_INSN_LEN, vmcs_read(VMCS_EXIT_INSN_LEN));
	v->entry_event_valid = true;
}

/* Moves the oldest queued event into the VMCS when the guest can take it. */
static void deliver_queued_event(struct vmx_vcpu *v)
{
	if (v->entry_event_valid || v->deferred_count == 0)
		return;
	if (!event_deliverable(&v->deferred[0]))
		return;
	write_entry_event(v, &v->deferred[0]);
	v->deferred_count--;
	memmove(&v->deferred[0], &v->deferred[1],
		v->deferred_count * sizeof(v->deferred[0]));
}

/* ---------------------------------------------------------------------
 * run: the entry loop.
 */

static void set_proc_control(struct vmx_vcpu *v, u32 bit, bool on)
{
	u32 want = on ? v->proc | bit : v->proc & ~bit;
	if (want == v->proc)
		return;
	v->proc = want;
	vmcs_write(VMCS_PROC_CONTROLS, want);
}

static void set_pin_control(struct vmx_vcpu *v, u32 bit, bool on)
{
	u32 want = on ? v->pin | bit : v->pin & ~bit;
	if (want == v->pin)
		return;
	v->pin = want;
	vmcs_write(VMCS_PIN_CONTROLS, want);
}

/* SDM Vol. 3C 26.5.1: the timer counts down at TSC >> rate. */
static void arm_preemption_timer(struct vmx_vcpu *v)
{
	if (!v->deadline || !caps.has_preemption_timer) {
		set_pin_control(v, PIN_PREEMPTION_TIMER, false);
		return;
	}
	u64 now = rdtsc();
	u64 ticks =
	    v->deadline > now ? (v->deadline - now) >> caps.preemption_rate : 0;
	set_pin_control(v, PIN_PREEMPTION_TIMER, true);
	vmcs_write(VMCS_PREEMPTION_TIMER, MIN(ticks, 0xffffffffull));
}

static void flush_guest_tlb(struct vcpu *vcpu, struct vmx_vcpu *v)
{
	bool ok = (caps.ept_vpid & EPT_CAP_INVEPT_SINGLE)
		      ? invept(INVEPT_SINGLE_CONTEXT, v->eptp)
		      : invept(INVEPT_ALL_CONTEXT, 0);
	if (ok && (caps.proc2 & PROC2_ENABLE_VPID))
		ok = (caps.ept_vpid & VPID_CAP_INVVPID_SINGLE)
			 ? invvpid(INVVPID_SINGLE_CONTEXT, (u16)vcpu->vm->asid)
			 : invvpid(INVVPID_ALL_CONTEXT, 0);
	if (!ok)
		panic("vmx: INVEPT/INVVPID failed for VM %s (EPTP %#llx, VPID "
		      "%u, error %u)",
		      vcpu->vm->name, (unsigned long long)v->eptp,
		      vcpu->vm->asid, vm_instruction_error());
	v->flush_pending = false;
}

/* Returns false (and fills *ev) when the vCPU cannot be entered. */
static bool prepare_entry(struct vcpu *vcpu, struct vmx_vcpu *v,
			  struct exit_event *ev)
{
	u64 root = vcpu->vm->npt_root;
	if (!root || !IS_ALIGNED(root, PAGE_SIZE)) {
		ev->kind = EXIT_ENTRY_FAILED;
		ev->fail.what = "the VM has no valid EPT root table";
		ev->fail.field = VMCS_EPT_POINTER;
		return false;
	}
	/* SDM 25.6.11: WB paging structures, 4-level walk, A/D flags. */
	u64 eptp =
	    root | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4 |
	    ((caps.ept_vpid & EPT_CAP_ACCESSED_DIRTY) ? EPTP_ACCESSED_DIRTY
						      : 0);
	if (eptp != v->eptp) {
		vmcs_write(VMCS_EPT_POINTER, eptp);
		v->eptp = eptp;
		v->flush_pending = true;
	}
	if (v->flush_pending)
		flush_guest_tlb(vcpu, v);
	if (vcpu->regs.gpr[GPR_RSP] != v->rsp) {
		v->rsp = vcpu->regs.gpr[GPR_RSP];
		vmcs_write(VMCS_GUEST_RSP, v->rsp);
	}
	sync_ia32e_mode();
	lazy_state_switch(vcpu);
	deliver_queued_event(v);
	/* Exit as soon as a queued event can be taken, or core asked. */
	set_proc_control(v, PROC_INTR_WINDOW_EXITING,
			 v->core_wants_window || v->deferred_count > 0);
	arm_preemption_timer(v);
	return true;
}

static const char *diagnose_guest_state(void);

static void entry_failed_instruction(struct exit_event *ev, int rc)
{
	ev->kind = EXIT_ENTRY_FAILED;
	if (rc == VMX_ENTER_FAIL_INVALID) {
		ev->fail.what = "VMLAUNCH/VMRESUME: no valid current VMCS";
		return;
	}
	u32 error = vm_instruction_error();
	ev->fail.vm_instruction_error = error;
	/* SDM Vol. 3C 31.4, Table 31-1. */
	switch (error) {
	case 4:
		ev->fail.what = "VMLAUNCH with a non-clear VMCS";
		break;
	case 5:
		ev->fail.what = "VMRESUME with a non-launched VMCS";
		break;
	case 7:
		ev->fail.what = "VM entry with invalid control fields";
		break;
	case 8:
		ev->fail.what = "VM entry with invalid host-state fields";
		break;
	case 26:
		ev->fail.what = "VM entry with events blocked by MOV SS";
		break;
	default:
		ev->fail.what = "VMLAUNCH/VMRESUME failed (VMfailValid)";
		break;
	}
}

static bool decode_exit(struct vcpu *vcpu, struct vmx_vcpu *v,
			struct exit_event *ev);

static void vmx_run(struct vcpu *vcpu, struct exit_event *ev)
{
	struct vmx_vcpu *v = to_vmx(vcpu);

	vmcs_activate(vcpu);
	for (;;) {
		*ev = (struct exit_event){.kind = EXIT_NONE};
		if (!prepare_entry(vcpu, v, ev))
			return;
		int rc = vmx_enter(vcpu, v->launched);
		if (rc != VMX_ENTER_EXITED) {
			entry_failed_instruction(ev, rc);
			return;
		}
		v->launched = true;
		v->entry_event_valid = false; /* every exit clears it (28.2) */
		vcpu->walk_valid =
		    false; /* the guest ran: its page tables too */
		v->rsp = vmcs_read(VMCS_GUEST_RSP);
		vcpu->regs.gpr[GPR_RSP] = v->rsp;
		if (decode_exit(vcpu, v, ev))
			return;
	}
}

/* ---------------------------------------------------------------------
 * Exit decoding: VMCS exit information -> struct exit_event.  Each
 * decoder returns true when core must see the exit, false when the exit
 * was a VT-x artifact this backend completed itself (enter again).
 */

static const char *const exit_reason_names[VMX_EXIT_REASON_COUNT] = {
    [VMX_EXIT_EXCEPTION_NMI] = "exception or NMI",
    [VMX_EXIT_EXTERNAL_INTR] = "external interrupt",
    [VMX_EXIT_TRIPLE_FAULT] = "triple fault",
    [VMX_EXIT_INIT] = "INIT signal",
    [VMX_EXIT_SIPI] = "start-up IPI",
    [VMX_EXIT_IO_SMI] = "I/O SMI",
    [VMX_EXIT_OTHER_SMI] = "other SMI",
    [VMX_EXIT_INTR_WINDOW] = "interrupt window",
    [VMX_EXIT_NMI_WINDOW] = "NMI window",
    [VMX_EXIT_TASK_SWITCH] = "task switch",
    [VMX_EXIT_CPUID] = "CPUID",
    [VMX_EXIT_GETSEC] = "GETSEC",
    [VMX_EXIT_HLT] = "HLT",
    [VMX_EXIT_INVD] = "INVD",
    [VMX_EXIT_INVLPG] = "INVLPG",
    [VMX_EXIT_RDPMC] = "RDPMC",
    [VMX_EXIT_RDTSC] = "RDTSC",
    [VMX_EXIT_RSM] = "RSM",
    [VMX_EXIT_VMCALL] = "VMCALL",
    [VMX_EXIT_VMCLEAR] = "VMCLEAR",
    [VMX_EXIT_VMLAUNCH] = "VMLAUNCH",
    [VMX_EXIT_VMPTRLD] = "VMPTRLD",
    [VMX_EXIT_VMPTRST] = "VMPTRST",
    [VMX_EXIT_VMREAD] = "VMREAD",
    [VMX_EXIT_VMRESUME] = "VMRESUME",
    [VMX_EXIT_VMWRITE] = "VMWRITE",
    [VMX_EXIT_VMXOFF] = "VMXOFF",
    [VMX_EXIT_VMXON] = "VMXON",
    [VMX_EXIT_CR_ACCESS] = "control-register access",
    [VMX_EXIT_DR_ACCESS] = "debug-register access",
    [VMX_EXIT_IO] = "I/O instruction",
    [VMX_EXIT_RDMSR] = "RDMSR",
    [VMX_EXIT_WRMSR] = "WRMSR",
    [VMX_EXIT_INVALID_GUEST_STATE] = "VM-entry failure: invalid guest state",
    [VMX_EXIT_MSR_LOADING] = "VM-entry failure: MSR loading",
    [VMX_EXIT_MWAIT] = "MWAIT",
    [VMX_EXIT_MTF] = "monitor trap flag",
    [VMX_EXIT_MONITOR] = "MONITOR",
    [VMX_EXIT_PAUSE] = "PAUSE",
    [VMX_EXIT_MACHINE_CHECK] = "VM-entry failure: machine check",
    [VMX_EXIT_TPR_THRESHOLD] = "TPR below threshold",
    [VMX_EXIT_APIC_ACCESS] = "APIC access",
    [VMX_EXIT_VIRTUALIZED_EOI] = "virtualized EOI",
    [VMX_EXIT_GDTR_IDTR] = "GDTR/IDTR access",
    [VMX_EXIT_LDTR_TR] = "LDTR/TR access",
    [VMX_EXIT_EPT_VIOLATION] = "EPT violation",
    [VMX_EXIT_EPT_MISCONFIG] = "EPT misconfiguration (host EPT bug)",
    [VMX_EXIT_INVEPT] = "INVEPT",
    [VMX_EXIT_RDTSCP] = "RDTSCP",
    [VMX_EXIT_PREEMPTION_TIMER] = "VMX-preemption timer expired",
    [VMX_EXIT_INVVPID] = "INVVPID",
    [VMX_EXIT_WBINVD] = "WBINVD",
    [VMX_EXIT_XSETBV] = "XSETBV",
    [VMX_EXIT_APIC_WRITE] = "APIC write",
    [VMX_EXIT_RDRAND] = "RDRAND",
    [VMX_EXIT_INVPCID] = "INVPCID",
    [VMX_EXIT_VMFUNC] = "VMFUNC",
    [VMX_EXIT_ENCLS] = "ENCLS",
    [VMX_EXIT_RDSEED] = "RDSEED",
    [VMX_EXIT_PML_FULL] = "page-modification log full",
    [VMX_EXIT_XSAVES] = "XSAVES",
    [VMX_EXIT_XRSTORS] = "XRSTORS",
};

static const char *exit_reason_name(u32 basic)
{
	if (basic < VMX_EXIT_REASON_COUNT && exit_reason_names[basic])
		return exit_reason_names[basic];
	return "unknown VMX exit reason";
}

static void vmx_skip_instruction(struct vcpu *vcpu, u32 len);

/* Is the instruction at guest CS:RIP VMMCALL (0F 01 D9)? */
static bool guest_insn_is_vmmcall(struct vcpu *vcpu)
{
	static const u8 vmmcall[] = {0x0f, 0x01, 0xd9};
	u8 bytes[sizeof(vmmcall)];
	u64 linear = vmcs_read(VMCS_GUEST_CS_BASE) + vmcs_read(VMCS_GUEST_RIP);

	return vcpu_read_linear(vcpu, linear, bytes, sizeof(bytes)) &&
	       memcmp(bytes, vmmcall, sizeof(bytes)) == 0;
}

static bool decode_exception(struct vcpu *vcpu, struct vmx_vcpu *v,
			     struct exit_event *ev)
{
	u32 info = (u32)vmcs_read(VMCS_EXIT_INTR_INFO);
	u32 type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	if (type == INTR_TYPE_NMI) {
		ev->kind = EXIT_NMI;
		return true;
	}
	if (vector == VECTOR_UD) {
		if (guest_insn_is_vmmcall(vcpu)) {
			ev->kind = EXIT_HYPERCALL;
			ev->insn_len = 3;
			return true;
		}
		/* A real #UD: the guest gets it as if nothing intercepted. */
		struct vcpu_event ud = {.type = VCPU_EVENT_EXCEPTION,
					.vector = VECTOR_UD};
		write_entry_event(v, &ud);
		return false;
	}
	ev->kind = EXIT_EXCEPTION;
	ev->exc.vector = vector;
	ev->exc.has_error_code = info & INTR_INFO_ERROR_CODE;
	if (ev->exc.has_error_code)
		ev->exc.error_code = (u32)vmcs_read(VMCS_EXIT_INTR_ERROR);
	if (vector == VECTOR_PF) /* SDM 28.2.1: the qualification is CR2 */
		ev->exc.cr2 = vmcs_read(VMCS_EXIT_QUALIFICATION);
	return true;
}

/* SDM Vol. 3C 28.2.1, Table 28-5; instruction info: 28.2.5. */
static void decode_io(struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);

	ev->kind = EXIT_IO;
	ev->io.size = (u8)((q & 7) + 1);
	ev->io.in = q & BIT(3);
	ev->io.string = q & BIT(4);
	ev->io.rep = q & BIT(5);
	ev->io.port = (u16)(q >> 16);
	ev->io.segment = 3; /* DS */
	if (!ev->io.string)
		return;
	if (caps.basic & VMX_BASIC_INS_OUTS_INFO) {
		u32 info = (u32)vmcs_read(VMCS_EXIT_INSN_INFO);
		ev->io.address_size = (u8)(2u << ((info >> 7) & 7));
		ev->io.segment = (u8)((info >> 15) & 7);
		return;
	}
	/* Without the information field: the default of the code segment. */
	u32 cs_ar = (u32)vmcs_read(VMCS_GUEST_CS_AR);
	if ((vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (cs_ar & AR_L))
		ev->io.address_size = 8;
	else
		ev->io.address_size = (cs_ar & AR_DB) ? 4 : 2;
}

#define VECTOR_GP 13
#define CR4_PCIDE BIT(17)

/*
 * Would MOV to CR0 / CR4 of `value` raise #GP on bare metal (SDM Vol. 2B
 * MOV-Control Registers, "Protected Mode Exceptions")?
 */
static bool mov_to_cr_faults(u32 cr, u64 value)
{
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	if (value >> 32)
		return true;
	if (cr == 0)
		return ((value & CR0_PG) && !(value & CR0_PE)) ||
		       ((value & CR0_NW) && !(value & CR0_CD)) ||
		       ((value & CR0_PG) && (efer & EFER_LME) &&
			!(guest_cr4() & CR4_PAE));
	/* VMXE: Veneer offers no nested VMX; the rest: CPU lacks them. */
	return (value & ~caps.cr4_fixed1) || (value & CR4_VMXE) ||
	       ((efer & EFER_LMA) && !(value & CR4_PAE)) ||
	       (!(efer & EFER_LMA) && (value & CR4_PCIDE));
}

/*
 * MOV to CR0 / CR4 exits only because the host owns the bits VMX fixes
 * (IA32_VMX_CR0/CR4_FIXED*), which bare metal lets the guest change; the
 * exit is a VT-x artifact, so the backend completes it like the hardware
 * would and core never sees it (docs/vmx.md).  SDM Vol. 3C 28.2.1, Table
 * 28-3.  Returns true when core must see the exit.
 */
static bool decode_cr_access(struct vcpu *vcpu, struct vmx_vcpu *v,
			     struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
	u32 access = (q >> 4) & 3;
	u32 cr = q & 0xf;
	u32 gpr = (q >> 8) & 0xf;

	if (access > 1) {
		/* CLTS / LMSW touch no bit the host owns: cannot happen. */
		ev->kind = EXIT_UNKNOWN;
		ev->vendor_name = access == 2 ? "CLTS exit" : "LMSW exit";
		return true;
	}
	if (access == 0 && (cr == 0 || cr == 4)) {
		u64 value = vcpu->regs.gpr[gpr];
		if (mov_to_cr_faults(cr, value)) {
			struct vcpu_event gp = {.type = VCPU_EVENT_EXCEPTION,
						.vector = VECTOR_GP,
						.has_error_code = true};
			write_entry_event(v, &gp);
			return false;
		}
		if (cr == 0)
			write_guest_cr0(vcpu, value);
		else
			write_guest_cr4(vcpu, value);
		/* Paging-mode changes invalidate the guest's TLB. */
		v->flush_pending = true;
		vmx_skip_instruction(vcpu, ev->insn_len);
		return false;
	}
	/* CR3 / CR8 exits the CPU forces on: core decides. */
	ev->kind = EXIT_CR_ACCESS;
	ev->cr.cr = (u8)cr;
	ev->cr.write = access == 0;
	ev->cr.gpr = (u8)gpr;
	return true;
}

/* SDM Vol. 3C 28.2.1, Table 28-7. */
static void decode_ept_violation(struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);

	ev->kind = EXIT_NPF;
	ev->npf.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
	ev->npf.read = q & BIT(0);
	ev->npf.write = q & BIT(1);
	ev->npf.exec = q & BIT(2);
	ev->npf.present = q & (BIT(3) | BIT(4) | BIT(5));
	ev->npf.gla_valid = q & BIT(7);
	if (ev->npf.gla_valid)
		ev->npf.gla = vmcs_read(VMCS_GUEST_LINEAR_ADDRESS);
}

static void decode_entry_failure(u32 basic, struct exit_event *ev)
{
	ev->kind = EXIT_ENTRY_FAILED;
	switch (basic) {
	case VMX_EXIT_INVALID_GUEST_STATE:
		ev->fail.what = diagnose_guest_state();
		break;
	case VMX_EXIT_MSR_LOADING:
		/* SDM 27.8: the qualification is the failing entry's index. */
		ev->fail.field = vmcs_read(VMCS_EXIT_QUALIFICATION);
		ev->fail.what = "VM entry failed loading an MSR";
		break;
	default:
		ev->fail.what = "VM entry failed with a machine check";
		break;
	}
}

static bool decode_exit(struct vcpu *vcpu, struct vmx_vcpu *v,
			struct exit_event *ev)
{
	u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
	u32 basic = reason & EXIT_REASON_BASIC_MASK;

	ev->vendor_reason = basic;
	ev->vendor_name = exit_reason_name(basic);
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		decode_entry_failure(basic, ev);
		return true;
	}
	reinject_interrupted_event(v);

	switch (basic) {
	case VMX_EXIT_EXCEPTION_NMI:
		return decode_exception(vcpu, v, ev);
	case VMX_EXIT_EXTERNAL_INTR:
		ev->kind = EXIT_EXTERNAL_INTR;
		return true;
	case VMX_EXIT_TRIPLE_FAULT:
		ev->kind = EXIT_TRIPLE_FAULT;
		return true;
	case VMX_EXIT_INIT:
		ev->kind = EXIT_INIT;
		return true;
	case VMX_EXIT_SIPI:
		ev->kind = EXIT_SIPI;
		ev->sipi_vector = (u8)vmcs_read(VMCS_EXIT_QUALIFICATION);
		return true;
	case VMX_EXIT_INTR_WINDOW:
		/* Opened for a queued event only: deliver it and go on. */
		if (!v->core_wants_window)
			return false;
		ev->kind = EXIT_INTR_WINDOW;
		return true;
	case VMX_EXIT_PREEMPTION_TIMER:
		v->deadline = 0; /* one-shot, like the deadline it stands for */
		ev->kind = EXIT_PREEMPT_TIMER;
		return true;
	case VMX_EXIT_EPT_VIOLATION:
		decode_ept_violation(ev);
		return true;
	case VMX_EXIT_EPT_MISCONFIG:
		ev->kind = EXIT_UNKNOWN;
		ev->npf.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
		printk("vmx: VM %s: EPT misconfiguration at guest-physical "
		       "%#llx: the host built a bad EPT entry\n",
		       vcpu->vm->name, (unsigned long long)ev->npf.gpa);
		return true;
	default:
		break;
	}

	/* The remaining exits are caused by one instruction (28.2.5). */
	ev->insn_len = (u32)vmcs_read(VMCS_EXIT_INSN_LEN);
	switch (basic) {
	case VMX_EXIT_CPUID:
		ev->kind = EXIT_CPUID;
		return true;
	case VMX_EXIT_HLT:
		ev->kind = EXIT_HLT;
		return true;
	case VMX_EXIT_IO:
		decode_io(ev);
		return true;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		ev->kind =
		    basic == VMX_EXIT_RDMSR ? EXIT_MSR_READ : EXIT_MSR_WRITE;
		ev->msr.index = (u32)vcpu->regs.gpr[GPR_RCX];
		return true;
	case VMX_EXIT_VMCALL:
		ev->kind = EXIT_HYPERCALL;
		return true;
	case VMX_EXIT_XSETBV:
		ev->kind = EXIT_XSETBV;
		return true;
	case VMX_EXIT_CR_ACCESS:
		return decode_cr_access(vcpu, v, ev);
	case VMX_EXIT_VMCLEAR:
	case VMX_EXIT_VMLAUNCH:
	case VMX_EXIT_VMPTRLD:
	case VMX_EXIT_VMPTRST:
	case VMX_EXIT_VMREAD:
	case VMX_EXIT_VMRESUME:
	case VMX_EXIT_VMWRITE:
	case VMX_EXIT_VMXOFF:
	case VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_VMFUNC:
		ev->kind = EXIT_INVALID_INSN;
		return true;
	default:
		ev->kind = EXIT_UNKNOWN;
		return true;
	}
}

/*
 * The checks on the guest-state area that Veneer's own state can break
 * (SDM Vol. 3C 27.3.1), in the order the manual lists them.  The CPU does
 * not say which check failed; this names the first one that does.
 */
static const char *diagnose_guest_state(void)
{
	u64 cr0 = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	u64 rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	u32 entry = (u32)vmcs_read(VMCS_ENTRY_CONTROLS);
	bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
	u64 cr0_fixed0 = caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG);

	if ((cr0 & cr0_fixed0) != cr0_fixed0 || (cr0 & ~caps.cr0_fixed1))
		return "invalid guest state: CR0 violates "
		       "IA32_VMX_CR0_FIXED0/1";
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		return "invalid guest state: CR0.PG=1 with CR0.PE=0";
	if ((cr4 & caps.cr4_fixed0) != caps.cr4_fixed0 ||
	    (cr4 & ~caps.cr4_fixed1))
		return "invalid guest state: CR4 violates "
		       "IA32_VMX_CR4_FIXED0/1";
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return "invalid guest state: IA-32e mode guest without CR0.PG "
		       "and CR4.PAE";
	if (!ia32e && (cr4 & BIT(17)))
		return "invalid guest state: CR4.PCIDE outside IA-32e mode";
	if (!!(efer & EFER_LMA) != ia32e ||
	    ((cr0 & CR0_PG) && !!(efer & EFER_LME) != !!(efer & EFER_LMA)))
		return "invalid guest state: EFER.LMA/LME disagree with the "
		       "IA-32e mode control or CR0.PG";
	if (vmcs_read(VMCS_GUEST_DR7) >> 32)
		return "invalid guest state: DR7 bits 63:32 set";
	if (!(rflags & RFLAGS_FIXED) || (rflags >> 22) ||
	    (rflags & (BIT(3) | BIT(5) | BIT(15))))
		return "invalid guest state: RFLAGS reserved bits";
	if ((rflags & RFLAGS_VM) && ia32e)
		return "invalid guest state: RFLAGS.VM in IA-32e mode";

	u32 cs_ar = (u32)vmcs_read(VMCS_GUEST_CS_AR);
	u32 ss_ar = (u32)vmcs_read(VMCS_GUEST_SS_AR);
	u32 tr_ar = (u32)vmcs_read(VMCS_GUEST_TR_AR);
	u32 ldtr_ar = (u32)vmcs_read(VMCS_GUEST_LDTR_AR);
	if (cs_ar & AR_UNUSABLE || !(cs_ar & AR_P) || !(cs_ar & AR_S) ||
	    !(cs_ar & 0x8 || (cs_ar & AR_TYPE_MASK) == 3))
		return "invalid guest state: CS access rights (must be a "
		       "present code segment, or type 3 in real mode)";
	if (ia32e && (cs_ar & AR_L) && (cs_ar & AR_DB))
		return "invalid guest state: CS.L and CS.D both set";
	if (!(ss_ar & AR_UNUSABLE) &&
	    ((ss_ar & AR_TYPE_MASK) != 3 && (ss_ar & AR_TYPE_MASK) != 7))
		return "invalid guest state: SS type must be 3 or 7";
	if (!(cr0 & CR0_PE) && ((ss_ar >> AR_DPL_SHIFT) & 3))
		return "invalid guest state: SS.DPL must be 0 in real mode";
	if (tr_ar & AR_UNUSABLE || !(tr_ar & AR_P) || (tr_ar & AR_S) ||
	    ((tr_ar & AR_TYPE_MASK) != 11 &&
	     (ia32e || (tr_ar & AR_TYPE_MASK) != 3)))
		return "invalid guest state: TR must be a present busy TSS";
	if (vmcs_read(VMCS_GUEST_TR_SELECTOR) & 4)
		return "invalid guest state: TR selector has TI set";
	if (!(ldtr_ar & AR_UNUSABLE) &&
	    ((ldtr_ar & AR_TYPE_MASK) != 2 || !(ldtr_ar & AR_P)))
		return "invalid guest state: LDTR must be unusable or an LDT";
	for (enum vmx_segment seg = SEG_ES; seg <= SEG_TR; seg++) {
		u32 ar = (u32)vmcs_read(VMCS_GUEST_ES_AR + 2 * seg);
		u32 limit = (u32)vmcs_read(VMCS_GUEST_ES_LIMIT + 2 * seg);
		if (ar & AR_UNUSABLE)
			continue;
		/* Limit and G must agree (27.3.1.2). */
		if (((limit & 0xfff) != 0xfff && (ar & AR_G)) ||
		    ((limit >> 20) && !(ar & AR_G))) {
			static char msg[80];
			snformat(msg, sizeof(msg),
				 "invalid guest state: %s limit %#x does not "
				 "match its G bit",
				 segment_names[seg], limit);
			return msg;
		}
	}
	if (vmcs_read(VMCS_LINK_POINTER) != ~0ull)
		return "invalid guest state: VMCS link pointer is not ~0";
	if (vmcs_read(VMCS_GUEST_ACTIVITY_STATE) != ACTIVITY_ACTIVE)
		return "invalid guest state: activity state is not active";
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if ((blocking & INTERRUPTIBILITY_STI) &&
	    (blocking & INTERRUPTIBILITY_MOV_SS))
		return "invalid guest state: STI and MOV-SS blocking together";
	if ((blocking & INTERRUPTIBILITY_STI) && !(rflags & RFLAGS_IF))
		return "invalid guest state: STI blocking with RFLAGS.IF=0";
	u32 event = (u32)vmcs_read(VMCS_ENTRY_INTR_INFO);
	if ((event & INTR_INFO_VALID) &&
	    ((event & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) ==
		INTR_TYPE_EXTERNAL &&
	    (!(rflags & RFLAGS_IF) ||
	     (blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))))
		return "invalid guest state: external interrupt injected "
		       "while the guest blocks interrupts";
	return "invalid guest state (no check Veneer knows of failed; "
	       "see the VMCS dump)";
}

/* ---------------------------------------------------------------------
 * Guest state access for core.
 */

static u64 segment_field(enum vcpu_field field)
{
	switch (field) {
	case VCPU_CS_BASE:
		return VMCS_GUEST_CS_BASE;
	case VCPU_CS_SELECTOR:
		return VMCS_GUEST_CS_SELECTOR;
	case VCPU_DS_BASE:
		return VMCS_GUEST_DS_BASE;
	case VCPU_ES_BASE:
		return VMCS_GUEST_ES_BASE;
	case VCPU_SS_BASE:
		return VMCS_GUEST_SS_BASE;
	case VCPU_FS_BASE:
		return VMCS_GUEST_FS_BASE;
	case VCPU_GS_BASE:
		return VMCS_GUEST_GS_BASE;
	case VCPU_GDTR_BASE:
		return VMCS_GUEST_GDTR_BASE;
	case VCPU_IDTR_BASE:
		return VMCS_GUEST_IDTR_BASE;
	case VCPU_RIP:
		return VMCS_GUEST_RIP;
	case VCPU_RFLAGS:
		return VMCS_GUEST_RFLAGS;
	case VCPU_CR3:
		return VMCS_GUEST_CR3;
	case VCPU_PAT:
		return VMCS_GUEST_IA32_PAT;
	case VCPU_SYSENTER_CS:
		return VMCS_GUEST_SYSENTER_CS;
	case VCPU_SYSENTER_ESP:
		return VMCS_GUEST_SYSENTER_ESP;
	case VCPU_SYSENTER_EIP:
		return VMCS_GUEST_SYSENTER_EIP;
	default:
		return ~0ull;
	}
}

static int lazy_msr_of(enum vcpu_field field)
{
	switch (field) {
	case VCPU_KERNEL_GS_BASE:
		return LAZY_KERNEL_GS_BASE;
	case VCPU_STAR:
		return LAZY_STAR;
	case VCPU_LSTAR:
		return LAZY_LSTAR;
	case VCPU_CSTAR:
		return LAZY_CSTAR;
	case VCPU_SFMASK:
		return LAZY_SFMASK;
	default:
		return -1;
	}
}

static bool guest_interruptible(struct vmx_vcpu *v)
{
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if (v->entry_event_valid || v->deferred_count)
		return false; /* another event goes first */
	return (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

static u64 vmx_read(struct vcpu *vcpu, enum vcpu_field field)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	vmcs_activate(vcpu);

	u64 vmcs_field = segment_field(field);
	if (vmcs_field != ~0ull)
		return vmcs_read(vmcs_field);
	int lazy = lazy_msr_of(field);
	if (lazy >= 0)
		return lazy_msr_read(vcpu, (enum vmx_lazy_msr)lazy);

	switch (field) {
	case VCPU_CR0:
		return guest_cr0();
	case VCPU_CR2:
		return lazy_state_in_hardware(vcpu) ? read_cr2() : v->cr2;
	case VCPU_CR4:
		return guest_cr4();
	case VCPU_EFER:
		return vmcs_read(VMCS_GUEST_IA32_EFER);
	case VCPU_CS_LONG:
		return (vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA) &&
		       (vmcs_read(VMCS_GUEST_CS_AR) & AR_L);
	case VCPU_CS_DB:
		return !!(vmcs_read(VMCS_GUEST_CS_AR) & AR_DB);
	case VCPU_CPL:
		/* SDM Vol. 3C 25.4.1: the CPL is SS.DPL. */
		return (vmcs_read(VMCS_GUEST_SS_AR) >> AR_DPL_SHIFT) & 3;
	case VCPU_INTERRUPTIBLE:
		return guest_interruptible(v);
	default:
		break;
	}
	printk("vmx: read of unknown vCPU field %d\n", field);
	return 0;
}

static void vmx_write(struct vcpu *vcpu, enum vcpu_field field, u64 value)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	vmcs_activate(vcpu);
	vcpu->walk_valid = false; /* e.g. CR3: no stale translation */

	u64 vmcs_field = segment_field(field);
	if (vmcs_field != ~0ull) {
		vmcs_write(vmcs_field, value);
		if (field == VCPU_CR3)
			load_pae_pdptes(vcpu);
		return;
	}
	int lazy = lazy_msr_of(field);
	if (lazy >= 0) {
		lazy_msr_write(vcpu, (enum vmx_lazy_msr)lazy, value);
		return;
	}
	switch (field) {
	case VCPU_CR0:
		write_guest_cr0(vcpu, value);
		return;
	case VCPU_CR2:
		if (lazy_state_in_hardware(vcpu))
			write_cr2(value);
		else
			v->cr2 = value;
		return;
	case VCPU_CR4:
		write_guest_cr4(vcpu, value);
		return;
	case VCPU_EFER:
		/* LMA is the CPU's to set (SDM Vol. 3A, "Initializing IA-32e
		 * Mode"). */
		vmcs_write(VMCS_GUEST_IA32_EFER, value & ~EFER_LMA);
		update_lma();
		return;
	default:
		break;
	}
	printk("vmx: VM %s vCPU %u: vCPU field %d cannot be written\n",
	       vcpu->vm->name, vcpu->index, field);
}

static void vmx_skip_instruction(struct vcpu *vcpu, u32 len)
{
	vmcs_activate(vcpu);
	vmcs_write(VMCS_GUEST_RIP, vmcs_read(VMCS_GUEST_RIP) + len);
	/* The instruction completed: its STI / MOV-SS shadow ends. */
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if (blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY,
			   blocking & ~(INTERRUPTIBILITY_STI |
					INTERRUPTIBILITY_MOV_SS));
}

static void vmx_request_intr_window(struct vcpu *vcpu, bool on)
{
	to_vmx(vcpu)->core_wants_window = on;
}

static void vmx_set_deadline(struct vcpu *vcpu, u64 tsc)
{
	static bool warned;
	if (tsc && !caps.has_preemption_timer && !warned) {
		warned = true;
		printk("vmx: no VMX-preemption timer: guest deadlines wait for "
		       "the next host interrupt\n");
	}
	to_vmx(vcpu)->deadline = tsc;
}

/* TSC offsetting (SDM Vol. 3C 26.6.5): guest RDTSC = host TSC + offset. */
static void vmx_set_tsc_offset(struct vcpu *vcpu, u64 offset)
{
	struct vmx_vcpu *v = to_vmx(vcpu);

	if (v->tsc_offset == offset)
		return;
	vmcs_activate(vcpu);
	vmcs_write(VMCS_TSC_OFFSET, offset);
	v->tsc_offset = offset;
}

static void vmx_flush_tlb(struct vcpu *vcpu)
{
	/* Done before the next entry, on the CPU that will run the vCPU. */
	to_vmx(vcpu)->flush_pending = true;
}

static void vmx_dump(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	vmcs_activate(vcpu);

	printk("VMCS of VM %s vCPU %u (host CPU %d, %s):\n", vcpu->vm->name,
	       vcpu->index, v->cpu, v->launched ? "launched" : "clear");
	printk("  RIP %#llx RSP %#llx RFLAGS %#llx\n",
	       (unsigned long long)vmcs_read(VMCS_GUEST_RIP),
	       (unsigned long long)vmcs_read(VMCS_GUEST_RSP),
	       (unsigned long long)vmcs_read(VMCS_GUEST_RFLAGS));
	printk("  CR0 %#llx (shadow %#llx) CR3 %#llx CR4 %#llx (shadow "
	       "%#llx) EFER %#llx\n",
	       (unsigned long long)vmcs_read(VMCS_GUEST_CR0),
	       (unsigned long long)vmcs_read(VMCS_CR0_READ_SHADOW),
	       (unsigned long long)vmcs_read(VMCS_GUEST_CR3),
	       (unsigned long long)vmcs_read(VMCS_GUEST_CR4),
	       (unsigned long long)vmcs_read(VMCS_CR4_READ_SHADOW),
	       (unsigned long long)vmcs_read(VMCS_GUEST_IA32_EFER));
	for (enum vmx_segment seg = SEG_ES; seg < SEG_COUNT; seg++)
		printk(
		    "  %-4s sel %#06llx base %#llx limit %#llx ar %#llx\n",
		    segment_names[seg],
		    (unsigned long long)vmcs_read(VMCS_GUEST_ES_SELECTOR +
						  2 * seg),
		    (unsigned long long)vmcs_read(VMCS_GUEST_ES_BASE + 2 * seg),
		    (unsigned long long)vmcs_read(VMCS_GUEST_ES_LIMIT +
						  2 * seg),
		    (unsigned long long)vmcs_read(VMCS_GUEST_ES_AR + 2 * seg));
	printk("  GDTR %#llx/%#llx IDTR %#llx/%#llx\n",
	       (unsigned long long)vmcs_read(VMCS_GUEST_GDTR_BASE),
	       (unsigned long long)vmcs_read(VMCS_GUEST_GDTR_LIMIT),
	       (unsigned long long)vmcs_read(VMCS_GUEST_IDTR_BASE),
	       (unsigned long long)vmcs_read(VMCS_GUEST_IDTR_LIMIT));
	printk("  interruptibility %#llx activity %#llx entry-event %#llx "
	       "IDT-vectoring %#llx\n",
	       (unsigned long long)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY),
	       (unsigned long long)vmcs_read(VMCS_GUEST_ACTIVITY_STATE),
	       (unsigned long long)vmcs_read(VMCS_ENTRY_INTR_INFO),
	       (unsigned long long)vmcs_read(VMCS_IDT_VECTORING_INFO));
	printk("  exit reason %#llx qualification %#llx guest-physical %#llx "
	       "exit-interruption %#llx\n",
	       (unsigned long long)vmcs_read(VMCS_EXIT_REASON),
	       (unsigned long long)vmcs_read(VMCS_EXIT_QUALIFICATION),
	       (unsigned long long)vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS),
	       (unsigned long long)vmcs_read(VMCS_EXIT_INTR_INFO));
	printk("  controls pin %#llx proc %#llx proc2 %#llx exit %#llx entry "
	       "%#llx EPTP %#llx\n",
	       (unsigned long long)vmcs_read(VMCS_PIN_CONTROLS),
	       (unsigned long long)vmcs_read(VMCS_PROC_CONTROLS),
	       (unsigned long long)vmcs_read(VMCS_PROC_CONTROLS2),
	       (unsigned long long)vmcs_read(VMCS_EXIT_CONTROLS),
	       (unsigned long long)vmcs_read(VMCS_ENTRY_CONTROLS),
	       (unsigned long long)vmcs_read(VMCS_EPT_POINTER));
}

const struct vcpu_ops vmx_ops = {
    .name = "VT-x",
    .npt_format = vmx_npt_format,
    .cpu_enable = vmx_cpu_enable,
    .vm_init = vmx_vm_init,
    .vcpu_create = vmx_vcpu_create,
    .vcpu_destroy = vmx_vcpu_destroy,
    .vcpu_reset = vmx_vcpu_reset,
    .run = vmx_run,
    .read = vmx_read,
    .write = vmx_write,
    .skip_instruction = vmx_skip_instruction,
    .inject = vmx_inject,
    .request_intr_window = vmx_request_intr_window,
    .set_deadline = vmx_set_deadline,
    .set_tsc_offset = vmx_set_tsc_offset,
    .flush_tlb = vmx_flush_tlb,
    .dump = vmx_dump,
};
