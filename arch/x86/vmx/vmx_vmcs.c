/* SPDX-License-Identifier: MIT */
/*
 * The VT-x backend, top floor: one VMCS per vCPU (SDM Vol. 3C chapter 25).
 * Its creation and reset, the host state, the CR0/CR4 read shadows, the
 * lazily switched MSRs, event injection, guest state for core, and run():
 * one entry request carried out, the guest entered, the exit decoded (by
 * vmx_exit.c). Also the vmx_ops table, which names the hooks of every
 * floor. Design notes: docs/vmx.md.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/entry.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/vmx/vmx_entry.h"
#include "arch/x86/vmx/vmx_internal.h"
#include "core/exit.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* Power-on guest values (SDM Vol. 3A, "Processor State After Reset"). */
#define GUEST_RESET_PAT 0x0007040600070406ull
#define GUEST_RESET_DR7 0x400ull
#define GUEST_RESET_DR6 0xffff0ff0ull

/* Access-rights bits VM entry checks as reserved (25.4.1, Table 25-2). */
#define AR_DEFINED_MASK 0x1f0ffull

void vmx_vmread_failed(u64 field)
{
	panic("vmx: VMREAD of VMCS field %#llx failed",
	      (unsigned long long)field);
}

void vmx_vmwrite_failed(u64 field, u64 value)
{
	panic("vmx: VMWRITE of %#llx to VMCS field %#llx failed "
	      "(VM-instruction error %u)",
	      (unsigned long long)value, (unsigned long long)field,
	      vmx_instruction_error());
}

static u64 read_dr6(void)
{
	u64 value;
	__asm__ volatile("mov %%dr6, %0" : "=r"(value));
	return value;
}

static void write_dr6(u64 value)
{
	__asm__ volatile("mov %0, %%dr6" : : "r"(value));
}

/* ---------------------------------------------------------------------
 * Host state (SDM Vol. 3C 25.5, checked by 27.2.2-27.2.4).
 */

struct __packed descriptor_table_register {
	u16 limit;
	u64 base;
};

#define DEFINE_SELECTOR_READ(seg)                                              \
	static u16 read_selector_##seg(void)                                   \
	{                                                                      \
		u16 s;                                                         \
		__asm__ volatile("mov %%" #seg ", %0" : "=r"(s));              \
		return s;                                                      \
	}
DEFINE_SELECTOR_READ(cs)
DEFINE_SELECTOR_READ(ss)
DEFINE_SELECTOR_READ(ds)
DEFINE_SELECTOR_READ(es)
DEFINE_SELECTOR_READ(fs)
DEFINE_SELECTOR_READ(gs)
#undef DEFINE_SELECTOR_READ

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

__attribute__((noinline)) void vmx_vmcs_make_current(struct vcpu *vcpu)
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
		      (unsigned long long)vmcs, here, vmx_instruction_error());
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
		      (unsigned long long)vmcs, vmx_instruction_error());
	if (cpu->current_vmcs == vmcs)
		cpu->current_vmcs = 0;
	v->cpu = -1;
	v->launched = false;
}

/* ---------------------------------------------------------------------
 * Guest control registers. The host owns the bits VMX fixes (SDM 24.8)
 * through the CR0/CR4 guest/host masks; the guest reads its own values
 * from the read shadows (SDM Vol. 3C 25.6.6). With unrestricted guest,
 * CR0.PE and CR0.PG are the guest's (SDM 27.3.1.1). A guest MOV to CR0 /
 * CR4 that would change an owned bit exits (26.1.3): vmx_exit.c reports
 * it to core, which decides and writes through vmx_write().
 */

static u64 cr0_host_owned(void)
{
	u64 fixed = (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG)) |
		    ~vmx_caps.cr0_fixed1;
	return fixed & 0xffffffffull;
}

static u64 cr4_host_owned(void)
{
	return (vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1) & 0xffffffffull;
}

static u64 cr0_for_hardware(u64 visible)
{
	return (visible | (vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG))) &
	       vmx_caps.cr0_fixed1;
}

static u64 cr4_for_hardware(u64 visible)
{
	return (visible | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1;
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
 * (SDM Vol. 3C 27.3.2.4), so a write that enters PAE paging or changes
 * CR3 under it must load them. The one read of guest memory this backend
 * does.
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
 * (SDM Vol. 3C 27.3.1.1). A VM exit stores LMA into it (28.3; every CPU
 * with unrestricted guest does, IA32_VMX_MISC bit 5, A.6), but a write of
 * CR0 or EFER through vmx_write() changes LMA without an exit, and a
 * reset writes the controls: refreshed before the entry after those
 * (vmx_vcpu.ia32e_stale), and before every entry on a CPU that does not
 * store LMA.
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
 * Lazily switched guest state: the MSRs in enum vmx_lazy_msr, CR2 and DR6
 * are not part of the VMCS. The host never uses them (no SYSCALL, no
 * SWAPGS, no RDTSCP, no page faults in normal operation, no debug
 * registers), so they stay loaded while the host runs and are switched
 * only when another vCPU enters on this CPU (docs/vmx.md). DR6 is the
 * guest's while it runs: its MOV to DR6 and the #DB it takes change the
 * CPU's register, which VM entry and exit leave alone (28.5.1).
 */

static void lazy_state_save(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	for (u32 i = 0; i < LAZY_MSR_COUNT; i++)
		if (vmx_lazy_msr_present(i))
			v->lazy_msr[i] = rdmsr(vmx_lazy_msr_index[i]);
	v->cr2 = read_cr2();
	v->dr6 = read_dr6();
}

static void lazy_state_load(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	for (u32 i = 0; i < LAZY_MSR_COUNT; i++)
		if (vmx_lazy_msr_present(i))
			wrmsr(vmx_lazy_msr_index[i], v->lazy_msr[i]);
	write_cr2(v->cr2);
	write_dr6(v->dr6);
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

/* An MSR the CPU lacks (TSC_AUX without RDTSCP) lives in lazy_msr[]. */
static u64 lazy_msr_read(struct vcpu *vcpu, enum vmx_lazy_msr i)
{
	if (vmx_lazy_msr_present(i) && lazy_state_in_hardware(vcpu))
		return rdmsr(vmx_lazy_msr_index[i]);
	return to_vmx(vcpu)->lazy_msr[i];
}

static void lazy_msr_write(struct vcpu *vcpu, enum vmx_lazy_msr i, u64 value)
{
	if (vmx_lazy_msr_present(i) && lazy_state_in_hardware(vcpu))
		wrmsr(vmx_lazy_msr_index[i], value);
	else
		to_vmx(vcpu)->lazy_msr[i] = value;
}

/* No CPU holds this vCPU's lazy state any more: loaded again on entry. */
static void lazy_state_forget(struct vcpu *vcpu)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		if (vmx_cpus[i].msr_owner == vcpu)
			vmx_cpus[i].msr_owner = NULL;
}

/* ---------------------------------------------------------------------
 * vcpu_create / vcpu_destroy / vcpu_reset
 */

static void write_controls(struct vcpu *vcpu)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	const struct vmx_vm *vv = vcpu->vm->vendor;

	v->pin = vmx_caps.pin;
	v->proc = vmx_caps.proc;
	v->proc2 = vmx_caps.proc2;
	/*
	 * Pause-loop exiting, when asked for: an exit once PAUSEs at most
	 * PLE_GAP TSC ticks apart have gone on for PLE_WINDOW ticks
	 * (25.6.13); the values of a spin loop that polls a lock.
	 */
	if (vmx_caps.has_ple) {
		vmcs_write(VMCS_PLE_GAP, VMX_PLE_GAP);
		vmcs_write(VMCS_PLE_WINDOW, VMX_PLE_WINDOW);
	}
	vmcs_write(VMCS_PIN_CONTROLS, v->pin);
	vmcs_write(VMCS_PROC_CONTROLS, v->proc);
	vmcs_write(VMCS_PROC_CONTROLS2, vmx_caps.proc2);
	vmcs_write(VMCS_EXIT_CONTROLS, vmx_caps.exit);
	vmcs_write(VMCS_ENTRY_CONTROLS, vmx_caps.entry);
	v->ia32e_stale = true;
	/* #UD: VMMCALL raises it on Intel; core decides what it was. */
	vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(X86_VECTOR_UD));
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
	v->apic_virt_on = false;
	/* Used while vcpu_entry.vapic is set (apic_virt_load). */
	if (vmx_caps.has_tpr_shadow) {
		vmcs_write(VMCS_VIRTUAL_APIC_PAGE, ptr_to_hpa(v->vapic));
		vmcs_write(VMCS_TPR_THRESHOLD, 0);
	}
	vmcs_write(VMCS_TSC_OFFSET, 0);
	v->tsc_offset = 0;
	if (vmx_caps.proc2 & PROC2_ENABLE_VPID)
		vmcs_write(VMCS_VPID, vv->vpid);
	if (vmx_caps.proc2 & PROC2_ENABLE_XSAVES)
		vmcs_write(VMCS_XSS_EXIT_BITMAP, 0);
	vmcs_write(VMCS_CR0_GUEST_HOST_MASK, cr0_host_owned());
	vmcs_write(VMCS_CR4_GUEST_HOST_MASK, cr4_host_owned());
	/* SDM 27.3.1.5: ~0 unless VMCS shadowing is in use. */
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
	v->eptp = 0; /* written before the first entry */
}

int vmx_vcpu_create(struct vcpu *vcpu)
{
	if (!vcpu->vm->vendor) {
		printk("vmx: VM %s: vcpu_create before vm_init\n",
		       vcpu->vm->name);
		return -VMX_EINVAL;
	}
	u64 hpa_value =
	    mm_alloc_pages(VMX_VCPU_PAGES, PAGE_SIZE, vmx_region_limit());
	if (!hpa_value) {
		printk("vmx: VM %s vCPU %u: no memory for the VMCS\n",
		       vcpu->vm->name, vcpu->index);
		return -VMX_ENOMEM;
	}
	struct vmx_vcpu *v = hpa_to_ptr(hpa_value);
	*(u32 *)v->vmcs = vmx_caps.revision; /* SDM 25.2 */
	v->cpu = -1;
	vcpu->vendor = v;
	/* SDM 25.11.3: VMCLEAR a new VMCS before its first VMPTRLD. */
	if (!vmcs_clear(hpa_value)) {
		printk("vmx: VMCLEAR of a new VMCS failed (error %u)\n",
		       vmx_instruction_error());
		vcpu->vendor = NULL;
		mm_free_pages(hpa_value, VMX_VCPU_PAGES);
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

void vmx_vcpu_destroy(struct vcpu *vcpu)
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
	lazy_state_forget(vcpu);
	vcpu->vendor = NULL;
	mm_free_pages(ptr_to_hpa(v), VMX_VCPU_PAGES);
}

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

static void reset_segments(const struct vcpu_start_state *s)
{
	if (s->mode == VCPU_START_REAL) {
		/* Real mode: base = selector * 16, 64 KiB limits. */
		write_segment(VMX_SEG_CS, s->cs_selector,
			      (u64)s->cs_selector << 4, 0xffff,
			      AR_CODE_RX_ACCESSED);
		for (enum vmx_segment seg = VMX_SEG_ES; seg <= VMX_SEG_GS;
		     seg++)
			if (seg != VMX_SEG_CS)
				write_segment(seg, 0, 0, 0xffff,
					      AR_DATA_RW_ACCESSED);
	} else {
		/* Multiboot's state: flat 4 GiB 32-bit segments. */
		write_segment(VMX_SEG_CS, s->cs_selector, 0, 0xffffffff,
			      AR_CODE_RX_ACCESSED | AR_DB | AR_G);
		for (enum vmx_segment seg = VMX_SEG_ES; seg <= VMX_SEG_GS;
		     seg++)
			if (seg != VMX_SEG_CS)
				write_segment(
				    seg, s->ds_selector, 0, 0xffffffff,
				    AR_DATA_RW_ACCESSED | AR_DB | AR_G);
	}
	write_segment(VMX_SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
	/* VM entry needs a usable busy TSS even in real mode (27.3.1.2). */
	write_segment(VMX_SEG_TR, 0, 0, 0xffff, AR_TSS_BUSY_32);
	vmcs_write(VMCS_GUEST_GDTR_BASE, s->gdtr_base);
	vmcs_write(VMCS_GUEST_GDTR_LIMIT,
		   s->gdtr_limit ? s->gdtr_limit : 0xffff);
	vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0xffff);
}

void vmx_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *s)
{
	struct vmx_vcpu *v = to_vmx(vcpu);

	vmcs_activate(vcpu);
	write_controls(vcpu);
	reset_segments(s);
	vcpu->regs = s->regs;
	vmcs_write(VMCS_GUEST_RSP, s->regs.gpr[GPR_RSP]);
	v->rsp = s->regs.gpr[GPR_RSP];
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
	v->dr6 = GUEST_RESET_DR6;
	lazy_state_forget(vcpu); /* reload on entry */
	v->deferred_count = 0;
	v->entry_event_valid = false;
	v->core_wants_window = false;
	v->core_wants_nmi_window = false;
	v->db_trap_pending = false;
	v->flush_pending = true;
	vmcs_deactivate(vcpu); /* as in vmx_vcpu_create */
}

/* ---------------------------------------------------------------------
 * Event injection (SDM Vol. 3C 27.6). Events run() is asked to inject
 * wait in v->deferred until the guest can take them; an event a VM exit
 * cut short goes first (vmx_reinject_interrupted_event, 28.2.4).
 */

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
		info |= INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT | X86_VECTOR_NMI;
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

/* The event of an entry request joins the queue; refused ones are said. */
static void queue_event(struct vcpu *vcpu, struct vmx_vcpu *v,
			const struct vcpu_event *e)
{
	if (e->type == VCPU_EVENT_EXCEPTION &&
	    e->vector >= X86_FIRST_INTERRUPT_VECTOR) {
		printk("vmx: VM %s vCPU %u: exception vector %u is not an "
		       "exception (0-31); not injected\n",
		       vcpu->vm->name, vcpu->index, e->vector);
		return;
	}
	if (v->deferred_count == VMX_DEFERRED_EVENTS_MAX) {
		printk("vmx: VM %s vCPU %u: %u events already queued; event "
		       "type %d vector %u dropped\n",
		       vcpu->vm->name, vcpu->index, v->deferred_count, e->type,
		       e->vector);
		return;
	}
	v->deferred[v->deferred_count++] = *e;
}

/*
 * Moves the oldest queued event the guest can take now into the VMCS: one
 * that must wait (an NMI for the end of NMI blocking, an interrupt for
 * RFLAGS.IF) does not hold back another kind behind it, as on bare metal
 * (an NMI arrives with IF=0; an interrupt in an NMI handler that set IF).
 * Events of one kind keep their order: all of them wait or none. Nothing
 * goes in while a single-step #DB is pending: an injected event would
 * take its place (27.7.3).
 */
static void deliver_queued_event(struct vmx_vcpu *v)
{
	if (v->entry_event_valid || v->deferred_count == 0 ||
	    v->db_trap_pending)
		return;
	for (u32 i = 0; i < v->deferred_count; i++) {
		if (!event_deliverable(&v->deferred[i]))
			continue;
		write_entry_event(v, &v->deferred[i]);
		v->deferred_count--;
		memmove(&v->deferred[i], &v->deferred[i + 1],
			(v->deferred_count - i) * sizeof(v->deferred[0]));
		return;
	}
}

/*
 * The windows the queued events need: an interrupt waits for RFLAGS.IF=1
 * and no STI / MOV-SS blocking (interrupt-window exiting), an NMI for the
 * end of NMI and MOV-SS blocking (NMI-window exiting), an exception only
 * for a pending single-step #DB to go first: debug traps take priority
 * over window exits, so the exit follows the #DB's delivery at once (SDM
 * Vol. 3C 27.7.5, 27.7.6). Without NMI-window exiting, NMIs and exceptions
 * use the interrupt window.
 */
static void queued_windows(const struct vmx_vcpu *v, bool *intr, bool *nmi)
{
	for (u32 i = 0; i < v->deferred_count; i++) {
		bool nmi_like = v->deferred[i].type != VCPU_EVENT_EXTERNAL_INTR;

		if (nmi_like && vmx_caps.has_nmi_window)
			*nmi = true;
		else
			*intr = true;
	}
}

/* ---------------------------------------------------------------------
 * run: one entry request (struct vcpu_entry) carried out, then the entry.
 */

/*
 * Complete the exiting instruction (struct vcpu_entry.skip): the one place
 * this backend advances RIP. Outside 64-bit code RIP wraps at 32 bits;
 * only a step across a 4 GiB line can need that, so the code-segment mode
 * is read only then. The instruction's STI / MOV-SS shadow ends with it
 * (SDM Vol. 3C 25.4.2, Table 25-3). With RFLAGS.TF (and not
 * IA32_DEBUGCTL.BTF) the instruction ends with a single-step #DB (SDM Vol.
 * 3B 18.3.1.4): BS goes into the pending debug exceptions, and VM entry
 * delivers the #DB before the guest runs anything, updating DR6 (27.7.3;
 * an exit for an instruction behind MOV SS already saved the MOV SS's own
 * BS there: one #DB for both, as on bare metal). The TF test costs one
 * VMREAD of RFLAGS per skip.
 */
static void skip_instruction(struct vmx_vcpu *v, u32 len)
{
	u64 rip = vmcs_read(VMCS_GUEST_RIP);
	u64 next = rip + len;

	if (((next ^ rip) >> 32) &&
	    !((vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA) &&
	      (vmcs_read(VMCS_GUEST_CS_AR) & AR_L)))
		next = (u32)next;
	vmcs_write(VMCS_GUEST_RIP, next);
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if (blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY,
			   blocking & ~(INTERRUPTIBILITY_STI |
					INTERRUPTIBILITY_MOV_SS));
	if ((vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_TF) &&
	    !(vmcs_read(VMCS_GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF)) {
		vmcs_write(VMCS_GUEST_PENDING_DEBUG,
			   vmcs_read(VMCS_GUEST_PENDING_DEBUG) |
			       PENDING_DEBUG_BS);
		v->db_trap_pending = true;
	}
}

static void set_proc_control(struct vmx_vcpu *v, u32 bit, bool on)
{
	u32 want = on ? v->proc | bit : v->proc & ~bit;
	if (want == v->proc)
		return;
	v->proc = want;
	vmcs_write(VMCS_PROC_CONTROLS, want);
}

static void set_proc2_control(struct vmx_vcpu *v, u32 bit, bool on)
{
	u32 want = on ? v->proc2 | bit : v->proc2 & ~bit;
	if (want == v->proc2)
		return;
	v->proc2 = want;
	vmcs_write(VMCS_PROC_CONTROLS2, want);
}

/* PAUSE spin loops exit while core asks (struct vcpu_entry.pause_exits). */
static void set_pause_exits(struct vmx_vcpu *v, bool on)
{
	if (vmx_caps.has_ple)
		set_proc2_control(v, PROC2_PAUSE_LOOP_EXITING, on);
	else if (vmx_caps.has_pause_exiting)
		set_proc_control(v, PROC_PAUSE_EXITING, on);
}

static void set_pin_control(struct vmx_vcpu *v, u32 bit, bool on)
{
	u32 want = on ? v->pin | bit : v->pin & ~bit;
	if (want == v->pin)
		return;
	v->pin = want;
	vmcs_write(VMCS_PIN_CONTROLS, want);
}

static void flush_guest_tlb(struct vcpu *vcpu, struct vmx_vcpu *v)
{
	u16 vpid = ((const struct vmx_vm *)vcpu->vm->vendor)->vpid;
	bool ok = (vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE)
		      ? invept(INVEPT_SINGLE_CONTEXT, v->eptp)
		      : invept(INVEPT_ALL_CONTEXT, 0);
	if (ok && (vmx_caps.proc2 & PROC2_ENABLE_VPID))
		ok = (vmx_caps.ept_vpid & VPID_CAP_INVVPID_SINGLE)
			 ? invvpid(INVVPID_SINGLE_CONTEXT, vpid)
			 : invvpid(INVVPID_ALL_CONTEXT, 0);
	if (!ok)
		panic("vmx: INVEPT/INVVPID failed for VM %s (EPTP %#llx, VPID "
		      "%u, error %u)",
		      vcpu->vm->name, (unsigned long long)v->eptp, vpid,
		      vmx_instruction_error());
	v->flush_pending = false;
}

/* Exit as soon as a queued event can be taken, or core asked. */
static void sync_windows(struct vmx_vcpu *v)
{
	bool intr_window = v->core_wants_window;
	bool nmi_window = v->core_wants_nmi_window && vmx_caps.has_nmi_window;

	if (v->deferred_count)
		queued_windows(v, &intr_window, &nmi_window);
	/* Without NMI-window exiting, core's NMI window is this one. */
	if (v->core_wants_nmi_window && !vmx_caps.has_nmi_window)
		intr_window = true;
	set_proc_control(v, PROC_INTR_WINDOW_EXITING, intr_window);
	if (vmx_caps.has_nmi_window)
		set_proc_control(v, PROC_NMI_WINDOW_EXITING, nmi_window);
}

/*
 * Everything the VMCS needs before an entry. Returns false (and fills
 * *ev) when the vCPU is not to be entered: no valid EPT root, or the
 * deadline (host TSC, 0 = none) has already passed.
 */
static bool prepare_entry(struct vcpu *vcpu, struct vmx_vcpu *v, u64 deadline,
			  struct exit_event *ev)
{
	u64 timer_ticks = 0;
	if (deadline) {
		u64 now = rdtsc();
		if (deadline <= now) {
			*ev = (struct exit_event){
			    .kind = EXIT_PREEMPT_TIMER,
			    .vendor_name = "deadline passed before VM entry",
			};
			return false;
		}
		/* SDM Vol. 3C 26.5.1: the timer counts down at TSC >> rate. */
		timer_ticks = MIN((deadline - now) >> vmx_caps.preemption_rate,
				  0xffffffffull);
	}
	u64 root = vcpu->vm->nested_root;
	/* The root of the EPTP written last was checked then. */
	if (!v->eptp || root != (v->eptp & ~(u64)(PAGE_SIZE - 1))) {
		if (!root || !IS_ALIGNED(root, PAGE_SIZE)) {
			*ev = (struct exit_event){
			    .kind = EXIT_ENTRY_FAILED,
			    .fail.what = "the VM has no valid EPT root table",
			    .fail.field = VMCS_EPT_POINTER,
			};
			return false;
		}
		/* SDM 25.6.11: WB paging structures, 4-level walk, A/D. */
		v->eptp = root | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4 |
			  ((vmx_caps.ept_vpid & EPT_CAP_ACCESSED_DIRTY)
			       ? EPTP_ACCESSED_DIRTY
			       : 0);
		vmcs_write(VMCS_EPT_POINTER, v->eptp);
		v->flush_pending = true;
	}
	if (v->flush_pending)
		flush_guest_tlb(vcpu, v);
	if (vcpu->regs.gpr[GPR_RSP] != v->rsp) {
		v->rsp = vcpu->regs.gpr[GPR_RSP];
		vmcs_write(VMCS_GUEST_RSP, v->rsp);
	}
	if (v->ia32e_stale || !(vmx_caps.misc & VMX_MISC_EXIT_STORES_LMA)) {
		sync_ia32e_mode();
		v->ia32e_stale = false;
	}
	deliver_queued_event(v);
	/* Nothing queued, no window asked for or left open: none to set. */
	if (v->deferred_count || v->core_wants_window ||
	    v->core_wants_nmi_window ||
	    (v->proc & (PROC_INTR_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING)))
		sync_windows(v);
	/* Without the timer a deadline waits for the next host interrupt. */
	bool timer = deadline && vmx_caps.has_preemption_timer;
	set_pin_control(v, PIN_PREEMPTION_TIMER, timer);
	if (timer)
		vmcs_write(VMCS_PREEMPTION_TIMER, timer_ticks);
	return true;
}

/*
 * Virtual-interrupt delivery (vcpu_entry.vapic; SDM Vol. 3C 30.1-30.2,
 * 30.5). The virtual-APIC page holds the APIC's registers at their MMIO
 * offsets (30.1): VTPR 0x80, VPPR 0xA0, VISR 0x100, VIRR 0x200, 16 bytes
 * apart for each 32 bits. RVI and SVI (guest interrupt status, 25.4.2)
 * are the highest IRR and ISR vectors; the EOI-exit bitmap is TMR, so the
 * EOI of a level-triggered vector exits (30.1.4) and that of any other
 * does not.
 */
#define VAPIC_TPR 0x80
#define VAPIC_PPR 0xa0
#define VAPIC_ISR 0x100
#define VAPIC_IRR 0x200

static u32 *vapic_reg(struct vmx_vcpu *v, u32 offset)
{
	return (u32 *)(v->vapic + offset);
}

static void apic_virt_load(struct vcpu *vcpu, struct vmx_vcpu *v,
			   const struct apic_virt_state *s)
{
	bool on = s != NULL;

	if (on != v->apic_virt_on) {
		const struct vmx_vm *vv = vcpu->vm->vendor;

		set_proc_control(v, PROC_USE_TPR_SHADOW, on);
		set_proc2_control(
		    v, PROC2_VIRTUALIZE_X2APIC | PROC2_VIRTUAL_INTR_DELIVERY,
		    on);
		vmcs_write(
		    VMCS_MSR_BITMAP,
		    ptr_to_hpa(on ? vv->msr_bitmap_x2apic : vv->msr_bitmap));
		v->apic_virt_on = on;
	}
	if (!on)
		return;
	*vapic_reg(v, VAPIC_TPR) = s->tpr;
	*vapic_reg(v, VAPIC_PPR) = s->ppr;
	for (u32 i = 0; i < 8; i++) {
		*vapic_reg(v, VAPIC_ISR + i * 16) = s->isr[i];
		*vapic_reg(v, VAPIC_IRR + i * 16) = s->irr[i];
	}
	vmcs_write(VMCS_GUEST_INTR_STATUS, s->irr_top | (u32)s->isr_top << 8);
	for (u32 i = 0; i < 4; i++)
		vmcs_write(VMCS_EOI_EXIT_BITMAP0 + 2 * i,
			   s->tmr[2 * i] | (u64)s->tmr[2 * i + 1] << 32);
}

/* What the CPU changed while it ran: TPR, ISR and IRR. */
static void apic_virt_store(struct vmx_vcpu *v, struct apic_virt_state *s)
{
	s->tpr = *vapic_reg(v, VAPIC_TPR) & 0xff;
	for (u32 i = 0; i < 8; i++) {
		s->isr[i] = *vapic_reg(v, VAPIC_ISR + i * 16);
		s->irr[i] = *vapic_reg(v, VAPIC_IRR + i * 16);
	}
}

/*
 * Carry out the entry request *e, enter, and return the next exit that
 * core must see (struct vcpu_ops.run).
 *
 * The request is applied once, before the first entry: skip (RIP), the
 * event (queued behind an event the last exit cut short, never dropped
 * without a line), the interrupt-window level, the TSC offset (written
 * only when it changed) and the deadline.
 *
 * Internal re-entries, the exits core never sees:
 *   - VMX_EXIT_INTR_WINDOW / VMX_EXIT_NMI_WINDOW when core did not ask
 *     for that window on this entry: it was opened only for an event this
 *     backend still holds in v->deferred. It is delivered and the guest
 *     entered again.
 */
static inline __attribute__((always_inline)) void
run_entries(struct vcpu *vcpu, struct vmx_vcpu *v, const struct vcpu_entry *e,
	    struct exit_event *ev);

void vmx_run(struct vcpu *vcpu, const struct vcpu_entry *e,
	     struct exit_event *ev)
{
	struct vmx_vcpu *v = to_vmx(vcpu);

	vmcs_activate(vcpu);
	if (e->vapic || v->apic_virt_on)
		apic_virt_load(vcpu, v, e->vapic);
	run_entries(vcpu, v, e, ev);
	if (e->vapic)
		apic_virt_store(v, e->vapic);
}

static inline __attribute__((always_inline)) void
run_entries(struct vcpu *vcpu, struct vmx_vcpu *v, const struct vcpu_entry *e,
	    struct exit_event *ev)
{
	struct vmx_cpu *cpu = vmx_this_cpu();

	/* Translations of another vCPU of this VM under its VPID (28.3.3). */
	if (cpu->last_vcpu != vcpu) {
		if (cpu->last_vcpu && cpu->last_vcpu->vm == vcpu->vm)
			v->flush_pending = true;
		cpu->last_vcpu = vcpu;
	}
	if (e->skip)
		skip_instruction(v, e->skip);
	if (e->inject)
		queue_event(vcpu, v, &e->event);
	/* INVEPT and INVVPID before the entry (flush_guest_tlb). */
	if (e->flush_tlb)
		v->flush_pending = true;
	v->core_wants_window = e->intr_window;
	v->core_wants_nmi_window = e->nmi_window;
	set_pause_exits(v, e->pause_exits);
	/* TSC offsetting (SDM Vol. 3C 26.6.5): guest TSC = host + offset. */
	if (e->tsc_offset != v->tsc_offset) {
		vmcs_write(VMCS_TSC_OFFSET, e->tsc_offset);
		v->tsc_offset = e->tsc_offset;
	}
	/* The CPU is this vCPU's until run() returns: its MSRs once. */
	lazy_state_switch(vcpu);
	for (;;) {
		if (!prepare_entry(vcpu, v, e->deadline, ev))
			return;
		int rc = vmx_enter(&vcpu->regs, v->launched, 0);
		if (rc != VMX_ENTER_EXITED) {
			*ev = (struct exit_event){.kind = EXIT_NONE};
			vmx_entry_failed(ev, rc);
			return;
		}
		v->launched = true;
		v->entry_event_valid = false; /* every exit clears it (28.2) */
		v->db_trap_pending = false;   /* the entry delivered it */
		v->rsp = vmcs_read(VMCS_GUEST_RSP);
		vcpu->regs.gpr[GPR_RSP] = v->rsp;
		if (!vmx_decode_exit(vcpu, v, ev))
			continue;
		/* Quiet exits core completes at once: the lean path
		 * (core/vcpu.h). */
		u32 len = vcpu_lean_candidate(vcpu, ev)
			      ? vcpu_exit_lean(vcpu, ev)
			      : 0;
		if (!len)
			return;
		skip_instruction(v, len);
	}
}

/* ---------------------------------------------------------------------
 * Guest state access for core.
 */

static u64 plain_field(enum vcpu_field field)
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

/*
 * The other segment fields (task switches): their VMCS encoding and what a
 * write keeps, so that no value core passes makes VM entry fail on a
 * reserved bit (access rights: 25.4.1, Table 25-2).
 */
enum vmx_seg_width {
	SEG_NONE,
	SEG_16,
	SEG_32,
	SEG_NATURAL,
	SEG_AR,
};

struct vmx_seg_field {
	u16 encoding;
	u8 width; /* enum vmx_seg_width */
};

static const struct vmx_seg_field vmx_seg_fields[VCPU_FIELD_COUNT] = {
    [VCPU_ES_SELECTOR] = {VMCS_GUEST_ES_SELECTOR, SEG_16},
    [VCPU_SS_SELECTOR] = {VMCS_GUEST_SS_SELECTOR, SEG_16},
    [VCPU_DS_SELECTOR] = {VMCS_GUEST_DS_SELECTOR, SEG_16},
    [VCPU_FS_SELECTOR] = {VMCS_GUEST_FS_SELECTOR, SEG_16},
    [VCPU_GS_SELECTOR] = {VMCS_GUEST_GS_SELECTOR, SEG_16},
    [VCPU_LDTR_SELECTOR] = {VMCS_GUEST_LDTR_SELECTOR, SEG_16},
    [VCPU_TR_SELECTOR] = {VMCS_GUEST_TR_SELECTOR, SEG_16},
    [VCPU_LDTR_BASE] = {VMCS_GUEST_LDTR_BASE, SEG_NATURAL},
    [VCPU_TR_BASE] = {VMCS_GUEST_TR_BASE, SEG_NATURAL},
    [VCPU_ES_LIMIT] = {VMCS_GUEST_ES_LIMIT, SEG_32},
    [VCPU_CS_LIMIT] = {VMCS_GUEST_CS_LIMIT, SEG_32},
    [VCPU_SS_LIMIT] = {VMCS_GUEST_SS_LIMIT, SEG_32},
    [VCPU_DS_LIMIT] = {VMCS_GUEST_DS_LIMIT, SEG_32},
    [VCPU_FS_LIMIT] = {VMCS_GUEST_FS_LIMIT, SEG_32},
    [VCPU_GS_LIMIT] = {VMCS_GUEST_GS_LIMIT, SEG_32},
    [VCPU_LDTR_LIMIT] = {VMCS_GUEST_LDTR_LIMIT, SEG_32},
    [VCPU_TR_LIMIT] = {VMCS_GUEST_TR_LIMIT, SEG_32},
    [VCPU_ES_ATTR] = {VMCS_GUEST_ES_AR, SEG_AR},
    [VCPU_CS_ATTR] = {VMCS_GUEST_CS_AR, SEG_AR},
    [VCPU_SS_ATTR] = {VMCS_GUEST_SS_AR, SEG_AR},
    [VCPU_DS_ATTR] = {VMCS_GUEST_DS_AR, SEG_AR},
    [VCPU_FS_ATTR] = {VMCS_GUEST_FS_AR, SEG_AR},
    [VCPU_GS_ATTR] = {VMCS_GUEST_GS_AR, SEG_AR},
    [VCPU_LDTR_ATTR] = {VMCS_GUEST_LDTR_AR, SEG_AR},
    [VCPU_TR_ATTR] = {VMCS_GUEST_TR_AR, SEG_AR},
    [VCPU_GDTR_LIMIT] = {VMCS_GUEST_GDTR_LIMIT, SEG_16},
    [VCPU_IDTR_LIMIT] = {VMCS_GUEST_IDTR_LIMIT, SEG_16},
};

static u64 seg_width_mask(u8 width)
{
	switch (width) {
	case SEG_16:
		return 0xffffull;
	case SEG_32:
		return 0xffffffffull;
	case SEG_AR:
		return AR_DEFINED_MASK;
	default:
		return ~0ull;
	}
}

/*
 * NMIs are blocked from an NMI's delivery to the next IRET: with virtual
 * NMIs that is the interruptibility state's bit 3 (25.4.2; the CPU sets it
 * when it injects an NMI, 27.6.1.2, and IRET clears it, 26.3). An NMI the
 * backend still holds (queued, or in the entry's event) counts as well,
 * so that core does not pass another behind it.
 */
static bool guest_nmi_blocked(const struct vmx_vcpu *v)
{
	if (vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) & INTERRUPTIBILITY_NMI)
		return true;
	for (u32 i = 0; i < v->deferred_count; i++)
		if (v->deferred[i].type == VCPU_EVENT_NMI)
			return true;
	return v->entry_event_valid &&
	       ((vmcs_read(VMCS_ENTRY_INTR_INFO) & INTR_INFO_TYPE_MASK) >>
		INTR_INFO_TYPE_SHIFT) == INTR_TYPE_NMI;
}

static void set_guest_nmi_blocked(bool blocked)
{
	u32 state = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	u32 want = blocked ? state | INTERRUPTIBILITY_NMI
			   : state & ~INTERRUPTIBILITY_NMI;

	if (want != state)
		vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, want);
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
	case VCPU_TSC_AUX:
		return LAZY_TSC_AUX;
	default:
		return -1;
	}
}

static bool guest_interruptible(struct vmx_vcpu *v)
{
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if (v->entry_event_valid || v->deferred_count || v->db_trap_pending)
		return false; /* another event goes first */
	return (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

/* CS.base + RIP, cut to 32 bits outside 64-bit code (SDM Vol. 3A 3.4.4). */
static u64 guest_rip_linear(void)
{
	u64 rip = vmcs_read(VMCS_GUEST_RIP);

	if ((vmcs_read(VMCS_GUEST_CS_AR) & AR_L) &&
	    (vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA))
		return rip;
	return (vmcs_read(VMCS_GUEST_CS_BASE) + rip) & 0xffffffffull;
}

/* The fields vmx_read() does not answer at once. */
static __attribute__((noinline)) u64 read_other(struct vcpu *vcpu,
						enum vcpu_field field)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	int lazy = lazy_msr_of(field);
	if (lazy >= 0)
		return lazy_msr_read(vcpu, (enum vmx_lazy_msr)lazy);

	switch (field) {
	case VCPU_CR2:
		return lazy_state_in_hardware(vcpu) ? read_cr2() : v->cr2;
	case VCPU_INTERRUPTIBLE:
		return guest_interruptible(v);
	case VCPU_DR6:
		return lazy_state_in_hardware(vcpu) ? read_dr6() : v->dr6;
	case VCPU_DR7:
		return vmcs_read(VMCS_GUEST_DR7);
	case VCPU_NMI_BLOCKED:
		return guest_nmi_blocked(v);
	default:
		break;
	}
	if ((u32)field < VCPU_FIELD_COUNT && vmx_seg_fields[field].width)
		return vmcs_read(vmx_seg_fields[field].encoding);
	printk("vmx: read of unknown vCPU field %d\n", field);
	return 0;
}

/*
 * What core reads on the common exits (a hypercall's CPL and mode, what an
 * instruction's decode and page walk need, the fields that are one VMCS
 * field: RIP, RFLAGS, PAT ...) at once, after the check that the vCPU's
 * VMCS is the current one; the rest in read_other().
 */
u64 vmx_read(struct vcpu *vcpu, enum vcpu_field field)
{
	vmcs_activate(vcpu);
	switch (field) {
	case VCPU_RIP_LINEAR: /* the instruction fetch */
		return guest_rip_linear();
	case VCPU_CPL:
		/* SDM Vol. 3C 25.4.1: the CPL is SS.DPL. */
		return (vmcs_read(VMCS_GUEST_SS_AR) >> AR_DPL_SHIFT) & 3;
	case VCPU_CS_LONG:
		return (vmcs_read(VMCS_GUEST_IA32_EFER) & EFER_LMA) &&
		       (vmcs_read(VMCS_GUEST_CS_AR) & AR_L);
	case VCPU_CS_DB:
		return !!(vmcs_read(VMCS_GUEST_CS_AR) & AR_DB);
	case VCPU_CR0:
		return guest_cr0();
	case VCPU_CR4:
		return guest_cr4();
	case VCPU_EFER:
		return vmcs_read(VMCS_GUEST_IA32_EFER);
	default:
		break;
	}
	u64 vmcs_field = plain_field(field);
	if (vmcs_field != ~0ull)
		return vmcs_read(vmcs_field);
	return read_other(vcpu, field);
}

/*
 * Core writes guest state; it has decided the value is valid (e.g. a MOV
 * to CR0 / CR4 the guest made, EXIT_CR_ACCESS). CR0 / CR4 go through the
 * read shadows with the fixed bits forced (so no value breaks VM entry
 * through them), keep EFER.LMA and the PAE PDPTEs in step, and flush the
 * guest's TLB before the next entry: the paging mode may have changed.
 */
void vmx_write(struct vcpu *vcpu, enum vcpu_field field, u64 value)
{
	struct vmx_vcpu *v = to_vmx(vcpu);
	vmcs_activate(vcpu);

	u64 vmcs_field = plain_field(field);
	if (vmcs_field != ~0ull) {
		vmcs_write(vmcs_field, value);
		if (field == VCPU_CR3)
			load_pae_pdptes(vcpu);
		return;
	}
	int lazy = lazy_msr_of(field);
	if (lazy >= 0) {
		/* TSC_AUX bits 63:32 are reserved (core gives #GP). */
		if (field == VCPU_TSC_AUX)
			value = (u32)value;
		lazy_msr_write(vcpu, (enum vmx_lazy_msr)lazy, value);
		return;
	}
	if ((u32)field < VCPU_FIELD_COUNT && vmx_seg_fields[field].width) {
		const struct vmx_seg_field *f = &vmx_seg_fields[field];
		vmcs_write(f->encoding, value & seg_width_mask(f->width));
		return;
	}
	switch (field) {
	case VCPU_CR0:
		write_guest_cr0(vcpu, value);
		v->flush_pending = true;
		v->ia32e_stale = true;
		return;
	case VCPU_CR2:
		if (lazy_state_in_hardware(vcpu))
			write_cr2(value);
		else
			v->cr2 = value;
		return;
	case VCPU_CR4:
		write_guest_cr4(vcpu, value);
		v->flush_pending = true;
		return;
	case VCPU_EFER:
		/* LMA is the CPU's to set (SDM Vol. 3A, "Initializing IA-32e
		 * Mode"). */
		vmcs_write(VMCS_GUEST_IA32_EFER, value & ~EFER_LMA);
		update_lma();
		v->ia32e_stale = true;
		return;
	case VCPU_CPL:
		/* The CPL is SS.DPL (25.4.1). */
		vmcs_write(VMCS_GUEST_SS_AR, (vmcs_read(VMCS_GUEST_SS_AR) &
					      ~(3ull << AR_DPL_SHIFT)) |
						 ((value & 3) << AR_DPL_SHIFT));
		return;
	/* Bits 63:32 of DR6 and DR7 are reserved (MOV to DRn: #GP). */
	case VCPU_DR6:
		if (lazy_state_in_hardware(vcpu))
			write_dr6((u32)value);
		else
			v->dr6 = (u32)value;
		return;
	case VCPU_DR7:
		vmcs_write(VMCS_GUEST_DR7, (u32)value);
		return;
	case VCPU_NMI_BLOCKED:
		set_guest_nmi_blocked(value != 0);
		return;
	default:
		break;
	}
	printk("vmx: VM %s vCPU %u: vCPU field %d cannot be written\n",
	       vcpu->vm->name, vcpu->index, field);
}

void vmx_dump(struct vcpu *vcpu)
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
	for (enum vmx_segment seg = VMX_SEG_ES; seg < VMX_SEG_COUNT; seg++)
		printk(
		    "  %-4s sel %#06llx base %#llx limit %#llx ar %#llx\n",
		    vmx_segment_names[seg],
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

/*
 * The backend as core sees it (arch/x86/virt.c binds it): here, in the file
 * at the top of the backend, so that the files below name nothing above
 * them (vmx.c < vmx_exit.c < this one).
 */
const struct vcpu_ops vmx_ops = {
    .name = "VT-x",
    .probe = vmx_probe,
    .cpu_enable = vmx_cpu_enable,
    .vm_init = vmx_vm_init,
    .vm_destroy = vmx_vm_destroy,
    .vcpu_create = vmx_vcpu_create,
    .vcpu_destroy = vmx_vcpu_destroy,
    .vcpu_reset = vmx_vcpu_reset,
    .run = vmx_run,
    .read = vmx_read,
    .write = vmx_write,
    .dump = vmx_dump,
};
