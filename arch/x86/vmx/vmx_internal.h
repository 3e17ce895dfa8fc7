/* SPDX-License-Identifier: MIT */
/*
 * Private to the VT-x backend (arch/x86/vmx/): the state the three parts
 * share and the VMX instructions they use. The parts are floors, and a
 * file calls only the ones below it:
 *
 *   vmx_vmcs.c  top: VMCS create / reset / read / write / dump, the CR
 *               read shadows, lazily switched MSRs, events, run(), the
 *               vcpu_ops table;
 *   vmx_exit.c  exit decoding, exit-reason names, entry-failure texts,
 *               diagnose_guest_state;
 *   vmx.c       bottom: probe and capabilities, VMXON (cpu_enable),
 *               VPIDs, vm_init / vm_destroy.
 *
 * Nothing outside arch/x86/vmx/ includes this file (core sees vmx.h only).
 */
#ifndef VENEER_ARCH_X86_VMX_VMX_INTERNAL_H
#define VENEER_ARCH_X86_VMX_VMX_INTERNAL_H

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/vmx/vmcs.h"
#include "core/exit.h"
#include "core/lib/pagetable.h"
#include "core/lib/printk.h"
#include "core/lib/types.h"
#include "core/mm.h"
#include "core/vcpu.h"

/* -errno values of vcpu_ops.cpu_enable / vm_init / vcpu_create. */
/* Pause-loop exiting (SDM Vol. 3C 25.6.13), TSC ticks: a spin loop. */
#define VMX_PLE_GAP    128
#define VMX_PLE_WINDOW 4096
#define VMX_EPERM      1
#define VMX_EIO	       5
#define VMX_ENOMEM     12
#define VMX_ENOSPC     28
#define VMX_EINVAL     22
#define VMX_ENODEV     19

/* ---------------------------------------------------------------------
 * Host-global state (vmx.c): one probe, shared by every host CPU.
 */

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
	/*
	 * Virtual NMIs with NMI-window exiting (25.6.1, 25.6.2): the guest's
	 * NMI blocking is in the interruptibility state and the backend can
	 * ask for an exit when it ends. Without them an NMI waits for the
	 * interrupt window (docs/vmx.md).
	 */
	bool has_nmi_window;
	/* Pause-loop exiting (secondary control) and PAUSE exiting. */
	bool has_ple, has_pause_exiting;
	/* The TPR shadow, and with it virtual-interrupt delivery for an
	 * x2APIC (vcpu_caps.apic_virt). */
	bool has_tpr_shadow, has_apic_virt;
	struct pt_format ept_format;
};

/* Filled once by the probe on the boot CPU; read-only afterwards. */
extern struct vmx_caps vmx_caps;
/* The probe found everything Veneer needs (vmx_caps is valid). */
extern bool vmx_caps_valid;

/* Per host CPU (this_cpu()->vendor). */
struct vmx_cpu {
	u64 vmxon_hpa;
	u64 current_vmcs; /* hpa of the VMCS last VMPTRLDed here, or 0 */
	/*
	 * The vCPU whose SYSCALL MSRs, KERNEL_GS_BASE, TSC_AUX, CR2 and DR6
	 * are in the hardware registers of this CPU (switched lazily;
	 * docs/vmx.md).
	 */
	struct vcpu *msr_owner;
	/*
	 * The vCPU of the last entry here. A vCPU of the same VM that ran
	 * since (a shared CPU, core/sched.h) left its translations under
	 * the VM's one VPID (vmx_vmcs.c).
	 */
	const struct vcpu *last_vcpu;
};

extern struct vmx_cpu vmx_cpus[MAX_CPUS];

static inline struct vmx_cpu *vmx_this_cpu(void)
{
	return &vmx_cpus[this_cpu()->index];
}

/* Pages the VMX regions live in (SDM Vol. 3D A.1: bit 48). */
static inline u64 vmx_region_limit(void)
{
	return (vmx_caps.basic & VMX_BASIC_32BIT_ADDRESSES) ? MM_BELOW_4G
							    : MM_ANY;
}

/* ---------------------------------------------------------------------
 * Per VM (vm->vendor, vm_init's): the VPID and the bitmaps every vCPU's
 * VMCS points at. The bitmaps come first, each page aligned.
 */
struct vmx_vm {
	u8 io_bitmap_a[PAGE_SIZE]; /* ports 0x0000-0x7fff (SDM 25.6.4) */
	u8 io_bitmap_b[PAGE_SIZE]; /* ports 0x8000-0xffff */
	u8 msr_bitmap[PAGE_SIZE];  /* SDM 25.6.9 */
	/* The same with the x2APIC's virtualized MSRs passed (30.5). */
	u8 msr_bitmap_x2apic[PAGE_SIZE];
	/* The VM's TLB tag, 1..0xffff (25.6.12); 0 when VPIDs are off. */
	u16 vpid;
};

#define VMX_VM_PAGES (ALIGN_UP(sizeof(struct vmx_vm), PAGE_SIZE) / PAGE_SIZE)

/* ---------------------------------------------------------------------
 * Per vCPU (vcpu->vendor).
 */

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

/*
 * The MSR index of each. A constant in every file that uses it (vmx.c for
 * the MSR bitmap, vmx_vmcs.c for the switch), so that the compiler folds
 * it into the unrolled save / load loops of the entry path.
 */
static const u32 vmx_lazy_msr_index[LAZY_MSR_COUNT] = {
    [LAZY_STAR] = MSR_STAR,
    [LAZY_LSTAR] = MSR_LSTAR,
    [LAZY_CSTAR] = MSR_CSTAR,
    [LAZY_SFMASK] = MSR_SFMASK,
    [LAZY_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
    [LAZY_TSC_AUX] = MSR_TSC_AUX,
};

/* TSC_AUX exists only with RDTSCP. */
static inline bool vmx_lazy_msr_present(u32 i)
{
	return i != LAZY_TSC_AUX || vmx_caps.has_rdtscp;
}

/* Guest segment registers in VMCS field order (SDM Vol. 3D B.1.2). */
enum vmx_segment {
	VMX_SEG_ES,
	VMX_SEG_CS,
	VMX_SEG_SS,
	VMX_SEG_DS,
	VMX_SEG_FS,
	VMX_SEG_GS,
	VMX_SEG_LDTR,
	VMX_SEG_TR,
	VMX_SEG_COUNT
};

/* "ES" ... "TR", for messages (vmx_exit.c). */
extern const char *const vmx_segment_names[VMX_SEG_COUNT];

#define VMX_DEFERRED_EVENTS_MAX 4

struct vmx_vcpu {
	u8 vmcs[PAGE_SIZE];
	/* The virtual-APIC page (SDM 30.1): TPR, PPR, ISR, IRR as the APIC
	 * lays them out, while vcpu_entry.vapic is set. */
	u8 vapic[PAGE_SIZE];
	bool apic_virt_on; /* the controls of vcpu_entry.vapic are set */
	int cpu;	   /* host CPU the VMCS is active on, or -1 if clear */
	bool launched;	   /* VMRESUME rather than VMLAUNCH */
	bool host_state_written;
	u32 pin, proc; /* current pin-based and primary controls */
	u32 proc2;     /* current secondary controls */
	u64 eptp;
	/* Core asked for an interrupt / NMI window on this entry. */
	bool core_wants_window;
	bool core_wants_nmi_window;
	/*
	 * The skip left a single-step #DB in the pending debug exceptions
	 * (BS): no event may be injected on the entry that delivers it, or
	 * it would be lost (27.7.3). Cleared by the next VM entry.
	 */
	bool db_trap_pending;
	/* Events run() was asked to inject and could not yet deliver, in
	 * order; each goes in when the guest can take it. */
	struct vcpu_event deferred[VMX_DEFERRED_EVENTS_MAX];
	u32 deferred_count;
	bool entry_event_valid; /* VM-entry interruption info holds one */
	bool flush_pending;	/* INVEPT/INVVPID before the next entry */
	/* Veneer changed EFER.LMA or the entry controls since the last
	 * exit: the "IA-32e mode guest" control follows before the entry. */
	bool ia32e_stale;
	u64 lazy_msr[LAZY_MSR_COUNT];
	u64 cr2; /* CR2 is not in the VMCS either */
	u64 dr6; /* nor DR6: the guest's is the CPU's while it runs */
	/* What the VMCS holds, so that unchanged values are not written. */
	u64 tsc_offset; /* VMCS_TSC_OFFSET */
	u64 rsp;	/* VMCS_GUEST_RSP */
	/* Text of the last entry failure (ev->fail.what may point here). */
	char fail_text[96];
};
_Static_assert(__builtin_offsetof(struct vmx_vcpu, vmcs) == 0,
	       "the VMCS must be page aligned");

#define VMX_VCPU_PAGES                                                         \
	(ALIGN_UP(sizeof(struct vmx_vcpu), PAGE_SIZE) / PAGE_SIZE)

static inline struct vmx_vcpu *to_vmx(struct vcpu *vcpu)
{
	return vcpu->vendor;
}

/* ---------------------------------------------------------------------
 * VMX instructions. Each reports VMfailInvalid / VMfailValid through
 * CF / ZF (SDM Vol. 3C 31.2); "setna" captures either.
 */

/* SDM Vol. 3C 31.4; only meaningful after a VMfailValid. */
static inline u32 vmx_instruction_error(void)
{
	u64 value;
	u8 failed;
	__asm__ volatile("vmread %2, %0; setna %1"
			 : "=r"(value), "=qm"(failed)
			 : "r"((u64)VMCS_VM_INSN_ERROR)
			 : "cc");
	return failed ? 0 : (u32)value;
}

/* Out of line: the failures of VMREAD and VMWRITE (vmx_vmcs.c). */
__attribute__((noreturn, cold)) void vmx_vmread_failed(u64 field);
__attribute__((noreturn, cold)) void vmx_vmwrite_failed(u64 field, u64 value);

/*
 * VMREAD and VMWRITE fail with CF or ZF set (VMfailInvalid, VMfailValid;
 * SDM Vol. 3C 31.2): one conditional jump away from the instruction (asm
 * goto), so a field access costs the field's load, the instruction and the
 * jump. Every exit makes about ten.
 */
static inline u64 vmcs_read(u64 field)
{
	u64 value;

	__asm__ goto("vmread %1, %0; jna %l[failed]"
		     : "=r"(value)
		     : "r"(field)
		     : "cc"
		     : failed);
	return value;
failed:
	vmx_vmread_failed(field);
}

static inline void vmcs_write(u64 field, u64 value)
{
	__asm__ goto("vmwrite %0, %1; jna %l[failed]"
		     :
		     : "r"(value), "r"(field)
		     : "cc", "memory"
		     : failed);
	return;
failed:
	vmx_vmwrite_failed(field, value);
}

/* Each returns true on success. */
static inline bool vmx_on(u64 region)
{
	u8 failed;
	__asm__ volatile("vmxon %1; setna %0"
			 : "=qm"(failed)
			 : "m"(region)
			 : "cc", "memory");
	return !failed;
}

static inline bool vmcs_clear(u64 vmcs)
{
	u8 failed;
	__asm__ volatile("vmclear %1; setna %0"
			 : "=qm"(failed)
			 : "m"(vmcs)
			 : "cc", "memory");
	return !failed;
}

static inline bool vmcs_load(u64 vmcs)
{
	u8 failed;
	__asm__ volatile("vmptrld %1; setna %0"
			 : "=qm"(failed)
			 : "m"(vmcs)
			 : "cc", "memory");
	return !failed;
}

static inline bool invept(u64 type, u64 eptp)
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

static inline bool invvpid(u64 type, u16 vpid)
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
 * vmx.c: the hooks that need no vCPU.
 */

void vmx_probe(struct vcpu_caps *out);
int vmx_cpu_enable(void);
int vmx_vm_init(struct vm *vm);
void vmx_vm_destroy(struct vm *vm);

/* ---------------------------------------------------------------------
 * vmx_vmcs.c
 */

int vmx_vcpu_create(struct vcpu *vcpu);
void vmx_vcpu_destroy(struct vcpu *vcpu);
void vmx_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *s);
void vmx_run(struct vcpu *vcpu, const struct vcpu_entry *e,
	     struct exit_event *ev);
u64 vmx_read(struct vcpu *vcpu, enum vcpu_field field);
void vmx_write(struct vcpu *vcpu, enum vcpu_field field, u64 value);
void vmx_dump(struct vcpu *vcpu);

/*
 * Make the vCPU's VMCS current on the calling CPU (VMPTRLD, host state,
 * TLB flush when new to the CPU). A VMCS active on another CPU panics:
 * VMCLEAR cannot be done remotely (SDM Vol. 3C 25.11.1).
 */
void vmx_vmcs_make_current(struct vcpu *vcpu);

/* The common case inline: the VMCS is already current here. */
static inline void vmcs_activate(struct vcpu *vcpu)
{
	const struct vmx_vcpu *v = to_vmx(vcpu);
	int here = (int)this_cpu()->index;

	if (v->cpu == here &&
	    vmx_cpus[here].current_vmcs == ptr_to_hpa(v->vmcs))
		return;
	vmx_vmcs_make_current(vcpu);
}

/*
 * An event whose delivery this exit cut short (IDT-vectoring information,
 * SDM Vol. 3C 28.2.4) goes into the VM-entry interruption information, to
 * be delivered first on the next entry (27.6). Inline: every exit calls it.
 */
static inline void vmx_reinject_interrupted_event(struct vmx_vcpu *v)
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

/* ---------------------------------------------------------------------
 * vmx_exit.c
 */

/*
 * Decode the exit that just happened into *ev. Returns true when core must
 * see it, false for the one exit run() completes itself and enters again
 * (an interrupt window core did not ask for; see vmx_run()).
 */
bool vmx_decode_exit(struct vcpu *vcpu, struct vmx_vcpu *v,
		     struct exit_event *ev);

/* VMLAUNCH / VMRESUME failed with vmx_enter() result `rc` (vmx_entry.h). */
void vmx_entry_failed(struct exit_event *ev, int rc);

#endif /* VENEER_ARCH_X86_VMX_VMX_INTERNAL_H */
