/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V (SVM) backend: VMCB set-up, VMRUN, #VMEXIT decoding.
 *
 * Vendor code decodes, common code decides: every #VMEXIT becomes one
 * struct exit_event for core/exit.c.  The only exits handled here are the
 * ones that are pure SVM plumbing (a #UD or #AC the guest caused itself goes
 * straight back to it).  Design notes with APM citations: docs/svm.md.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_entry.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "core/exit.h"
#include "core/mm.h"
#include "core/pagetable.h"
#include "core/printk.h"
#include "core/string.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* Negative errno values of the vcpu_ops contract (Linux numbering). */
#define SVM_ENOMEM 12
#define SVM_ENODEV 19
#define SVM_ENOSPC 28

/* CPUID leaves and bits (APM Vol. 3 appendix E.4.1, E.4.10). */
#define CPUID_EXT_MAX		   0x80000000u
#define CPUID_EXT_FEATURES	   0x80000001u
#define CPUID_EXT_FEATURES_ECX_SVM BIT(2)
#define CPUID_ADDRESS_SIZES	   0x80000008u
#define CPUID_SVM		   0x8000000au
#define SVM_FEATURE_NP		   BIT(0)
#define SVM_FEATURE_NRIP_SAVE	   BIT(3)
#define SVM_FEATURE_VMCB_CLEAN	   BIT(5)
#define SVM_FEATURE_FLUSH_BY_ASID  BIT(6)
#define SVM_FEATURE_DECODE_ASSISTS BIT(7)
#define SVM_FEATURE_VGIF	   BIT(16)

/* Power-on PAT: WB, WT, UC-, UC, twice (APM Vol. 2 7.8.2). */
#define PAT_POWER_ON 0x0007040600070406ull
/* DR6 and DR7 after reset (APM Vol. 2 13.1.1.5, 13.1.1.6). */
#define DR6_RESET 0xffff0ff0ull
#define DR7_RESET 0x400ull
/* CR0 after RESET: CD, NW, ET (APM Vol. 2 14.1.3). */
#define CR0_RESET (CR0_CD | CR0_NW | CR0_ET)

/* IOPM and MSRPM sizes (APM Vol. 2 15.10.1, 15.11). */
#define SVM_IOPM_PAGES	3
#define SVM_MSRPM_PAGES 2

/* VMCALL is Intel's; on AMD it raises #UD (APM Vol. 3 VMMCALL). */
static const u8 vmcall_bytes[3] = {0x0f, 0x01, 0xc1};

/* Instruction lengths for CPUs without NRIP save (opcode maps, APM Vol. 3). */
#define INSN_LEN_CPUID	 2 /* 0F A2 */
#define INSN_LEN_HLT	 1 /* F4 */
#define INSN_LEN_MSR	 2 /* 0F 32 / 0F 30 */
#define INSN_LEN_VMMCALL 3 /* 0F 01 D9 */
#define INSN_LEN_XSETBV	 3 /* 0F 01 D1 */
#define INSN_LEN_VMCALL	 3 /* 0F 01 C1 */

/* ASIDs handed out: 1..63 at most, far more than VM_MAX. */
#define SVM_ASID_LIMIT 64

_Static_assert(VM_MAX < SVM_ASID_LIMIT, "one ASID per VM must fit");

#define GPRS_CHECK(reg)                                                        \
	_Static_assert(__builtin_offsetof(struct guest_gprs,                   \
					  gpr[GPR_##reg]) == SVM_GPRS_##reg,   \
		       "svm_entry.S offset of " #reg)
GPRS_CHECK(RAX);
GPRS_CHECK(RCX);
GPRS_CHECK(RDX);
GPRS_CHECK(RBX);
GPRS_CHECK(RSP);
GPRS_CHECK(RBP);
GPRS_CHECK(RSI);
GPRS_CHECK(RDI);
GPRS_CHECK(R8);
GPRS_CHECK(R9);
GPRS_CHECK(R10);
GPRS_CHECK(R11);
GPRS_CHECK(R12);
GPRS_CHECK(R13);
GPRS_CHECK(R14);
GPRS_CHECK(R15);
_Static_assert(__builtin_offsetof(struct vcpu, regs) == 0,
	       "svm_vmrun() is given &vcpu->regs");

/* What CPUID 0x8000000A and 0x80000008 say; filled by svm_cpu_enable(). */
static struct {
	bool detected;
	u32 revision;
	u32 asid_count; /* ASIDs including 0, the host's */
	u32 features;	/* CPUID 0x8000000A EDX */
	u32 phys_addr_bits;
} svm_cpu_caps;

/* Per host CPU, reached through this_cpu()->vendor. */
struct svm_cpu {
	u64 hsave_pa;	  /* VM_HSAVE_PA: VMRUN's host save area */
	u64 host_vmcb_pa; /* the host's VMSAVE state around each VMRUN */
};

static struct svm_cpu svm_cpus[MAX_CPUS];

/* Per VM, reached through vm->vendor; indexed by ASID. */
struct svm_vm {
	u64 iopm_pa;
	u64 msrpm_pa;
};

static struct svm_vm svm_vms[SVM_ASID_LIMIT];
/* Bit n set: ASID n is in use.  Bit 0 is the host's.  Atomic updates. */
static u64 svm_asids_used = 1;

/* Per vCPU, reached through vcpu->vendor; lives in the page after the VMCB. */
struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 dirty;	  /* SVM_CLEAN_* bits written since the last VMRUN */
	bool tsc_dirty;	  /* only TSC_OFFSET changed in clean bit 0's area */
	u8 tlb_control;	  /* SVM_TLB_* for the next VMRUN */
	bool intr_window; /* the core asked for an interrupt-window exit */
	u16 virq;	  /* SVM_VIRQ_QUEUED | vector for V_IRQ, or 0 */
	u32 last_cpu;	  /* host CPU of the last VMRUN */
	bool ran;	  /* last_cpu is valid */
	u64 reinject;	  /* EVENTINJ from EXITINTINFO, or 0 */
	u64 pending;	  /* EVENTINJ from inject(), or 0 */
	u64 deadline;	  /* TSC of set_deadline, 0 = none */
};

_Static_assert(sizeof(struct svm_vcpu) <= PAGE_SIZE, "svm_vcpu fits a page");

/* svm_vcpu.virq: an external interrupt waiting in V_IRQ for the guest. */
#define SVM_VIRQ_QUEUED 0x100

static bool svm_has(u32 feature)
{
	return (svm_cpu_caps.features & feature) != 0;
}

static struct svm_vcpu *svm_vcpu_of(struct vcpu *vcpu)
{
	return vcpu->vendor;
}

static struct vmcb *svm_vmcb(struct vcpu *vcpu)
{
	return svm_vcpu_of(vcpu)->vmcb;
}

static const struct pt_format *svm_npt_format(void)
{
	return &pt_format_npt;
}

/* ---- turning SVM on (APM Vol. 2 15.4, 15.30) ---- */

static bool svm_detect(u32 cpu_index)
{
	if (cpuid(CPUID_EXT_MAX).eax < CPUID_SVM) {
		printk("svm: CPU %u: CPUID leaf 0x8000000a (SVM features) is "
		       "missing\n",
		       cpu_index);
		return false;
	}
	if (!(cpuid(CPUID_EXT_FEATURES).ecx & CPUID_EXT_FEATURES_ECX_SVM)) {
		printk("svm: CPU %u: CPUID 0x80000001 ECX bit 2 (SVM) is "
		       "clear\n",
		       cpu_index);
		return false;
	}
	struct cpuid_regs r = cpuid(CPUID_SVM);
	if (!(r.edx & SVM_FEATURE_NP)) {
		printk("svm: CPU %u: no nested paging (CPUID 0x8000000a EDX "
		       "bit 0): Veneer needs NPT\n",
		       cpu_index);
		return false;
	}
	if (r.ebx < 2) {
		printk("svm: CPU %u: CPUID 0x8000000a reports %u ASIDs: none "
		       "left for guests\n",
		       cpu_index, r.ebx);
		return false;
	}
	svm_cpu_caps.revision = r.eax & 0xff;
	svm_cpu_caps.asid_count = r.ebx;
	svm_cpu_caps.features = r.edx;
	svm_cpu_caps.phys_addr_bits = cpuid(CPUID_ADDRESS_SIZES).eax & 0xff;
	svm_cpu_caps.detected = true;
	return true;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static int svm_cpu_enable(void)
{
	struct percpu *cpu = this_cpu();
	struct svm_cpu *sc = &svm_cpus[cpu->index];

	if (!svm_detect(cpu->index))
		return -SVM_ENODEV;
	/* Setting EFER.SVME with VM_CR.SVMDIS set raises #GP (15.30.1). */
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
		       svm_cpu_caps.revision, svm_cpu_caps.asid_count,
		       yes_no(svm_has(SVM_FEATURE_NRIP_SAVE)),
		       yes_no(svm_has(SVM_FEATURE_VMCB_CLEAN)),
		       yes_no(svm_has(SVM_FEATURE_FLUSH_BY_ASID)),
		       yes_no(svm_has(SVM_FEATURE_DECODE_ASSISTS)),
		       yes_no(svm_has(SVM_FEATURE_VGIF)));
	return 0;
}

/* ---- per-VM state: ASID, I/O and MSR permission maps ---- */

static u32 svm_asid_alloc(void)
{
	u32 limit = MIN(svm_cpu_caps.asid_count, (u32)SVM_ASID_LIMIT);

	for (u32 asid = 1; asid < limit; asid++) {
		u64 bit = BIT(asid);
		u64 old =
		    __atomic_fetch_or(&svm_asids_used, bit, __ATOMIC_ACQ_REL);
		if (!(old & bit))
			return asid;
	}
	return 0;
}

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
 * MSRs the guest reads and writes directly.  Each is part of the state that
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

static int svm_vm_init(struct vm *vm)
{
	if (!svm_cpu_caps.detected)
		panic("svm: vm_init before cpu_enable");

	u32 asid = svm_asid_alloc();
	if (!asid) {
		u32 usable = MIN(svm_cpu_caps.asid_count, (u32)SVM_ASID_LIMIT);
		printk("svm: VM %s: out of ASIDs: the CPU has %u, ASIDs 1..%u "
		       "are all taken by other VMs\n",
		       vm->name, svm_cpu_caps.asid_count, usable - 1);
		return -SVM_ENOSPC;
	}

	struct svm_vm *sm = &svm_vms[asid];
	sm->iopm_pa = mm_alloc_pages(SVM_IOPM_PAGES, PAGE_SIZE, MM_ANY);
	sm->msrpm_pa = mm_alloc_pages(SVM_MSRPM_PAGES, PAGE_SIZE, MM_ANY);
	if (!sm->iopm_pa || !sm->msrpm_pa) {
		if (sm->iopm_pa)
			mm_free_pages(sm->iopm_pa, SVM_IOPM_PAGES);
		if (sm->msrpm_pa)
			mm_free_pages(sm->msrpm_pa, SVM_MSRPM_PAGES);
		sm->iopm_pa = sm->msrpm_pa = 0;
		svm_asid_free(asid);
		printk("svm: VM %s: no memory for the I/O and MSR permission "
		       "maps\n",
		       vm->name);
		return -SVM_ENOMEM;
	}
	/* Every port goes to Veneer's device models (15.10.1). */
	memset(hpa_to_ptr(sm->iopm_pa), 0xff, SVM_IOPM_PAGES * PAGE_SIZE);
	/* Every MSR goes to the common MSR handler, but the few above. */
	u8 *msrpm = hpa_to_ptr(sm->msrpm_pa);
	memset(msrpm, 0xff, SVM_MSRPM_PAGES * PAGE_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(svm_msr_pass_through); i++)
		svm_msrpm_pass_through(msrpm, svm_msr_pass_through[i]);

	vm->asid = asid;
	vm->vendor = sm;
	return 0;
}

/* ---- vCPU: VMCB set-up and start states ---- */

static void svm_setup_control(struct vcpu *vcpu)
{
	struct vmcb_control *c = &svm_vmcb(vcpu)->control;
	const struct svm_vm *sm = vcpu->vm->vendor;

	/* No CR/DR intercepts: with NPT the guest owns its paging. */
	c->intercept_exceptions =
	    BIT(X86_VECTOR_UD) | BIT(X86_VECTOR_AC) | BIT(X86_VECTOR_MC);
	c->intercept_misc1 =
	    SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI | SVM_INTERCEPT1_INIT |
	    SVM_INTERCEPT1_CPUID | SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT |
	    SVM_INTERCEPT1_INVLPGA | SVM_INTERCEPT1_IOIO_PROT |
	    SVM_INTERCEPT1_MSR_PROT | SVM_INTERCEPT1_TASK_SWITCH |
	    SVM_INTERCEPT1_SHUTDOWN;
	/* VMRUN must be intercepted or VMRUN fails (15.5.1). */
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL |
			     SVM_INTERCEPT2_VMLOAD | SVM_INTERCEPT2_VMSAVE |
			     SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
			     SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_XSETBV;
	c->iopm_base_pa = sm->iopm_pa;
	c->msrpm_base_pa = sm->msrpm_pa;
	c->tsc_offset = 0;
	c->guest_asid = vcpu->vm->asid;
	/*
	 * V_INTR_MASKING: the guest's RFLAGS.IF masks only virtual
	 * interrupts; physical ones stay the host's (15.21.1).
	 */
	c->v_intr = SVM_VINTR_MASKING;
	c->np_control = SVM_NP_ENABLE;
	c->n_cr3 = vcpu->vm->npt_root;
}

static struct vmcb_segment segment(u16 selector, u64 base, u32 limit,
				   u16 attrib)
{
	return (struct vmcb_segment){.selector = selector,
				     .attrib = attrib,
				     .limit = limit,
				     .base = base};
}

/* Real mode at cs_selector:rip, as after INIT-SIPI (APM Vol. 2 14.1.3). */
static void svm_reset_real(struct vmcb_save *s,
			   const struct vcpu_start_state *st)
{
	const u16 data = VMCB_ATTR_P | VMCB_ATTR_S |
			 VMCB_ATTR_TYPE(SEG_TYPE_DATA_RW_ACCESSED);
	const u16 code = VMCB_ATTR_P | VMCB_ATTR_S |
			 VMCB_ATTR_TYPE(SEG_TYPE_CODE_RX_ACCESSED);

	s->cs =
	    segment(st->cs_selector, (u64)st->cs_selector << 4, 0xffff, code);
	s->ds = s->es = s->ss = s->fs = s->gs = segment(0, 0, 0xffff, data);
	/* The real-mode IVT at 0 with the reset limit. */
	s->idtr = segment(0, 0, 0xffff, 0);
	s->gdtr = segment(0, 0, 0xffff, 0);
	s->cr0 = CR0_RESET;
}

/* 32-bit flat protected mode, paging off: the multiboot entry state. */
static void svm_reset_protected(struct vmcb_save *s,
				const struct vcpu_start_state *st)
{
	const u16 flat = VMCB_ATTR_P | VMCB_ATTR_S | VMCB_ATTR_DB | VMCB_ATTR_G;

	s->cs = segment(st->cs_selector, 0, 0xffffffff,
			flat | VMCB_ATTR_TYPE(SEG_TYPE_CODE_RX_ACCESSED));
	s->ds = s->es = s->ss = s->fs = s->gs =
	    segment(st->ds_selector, 0, 0xffffffff,
		    flat | VMCB_ATTR_TYPE(SEG_TYPE_DATA_RW_ACCESSED));
	s->gdtr = segment(0, st->gdtr_base, st->gdtr_limit, 0);
	s->idtr = segment(0, 0, 0, 0);
	s->cr0 = CR0_PE | CR0_ET;
}

static void svm_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *st)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb *vmcb = sv->vmcb;
	struct vmcb_save *s = &vmcb->save;

	memset(vmcb, 0, sizeof(*vmcb));
	svm_setup_control(vcpu);

	switch (st->mode) {
	case VCPU_START_REAL:
		svm_reset_real(s, st);
		break;
	case VCPU_START_PROTECTED:
		svm_reset_protected(s, st);
		break;
	default:
		panic("svm: vCPU %u: unknown start mode %d", vcpu->index,
		      (int)st->mode);
	}
	/* TR and LDTR must hold usable (present) descriptors. */
	s->tr = segment(0, 0, 0xffff,
			VMCB_ATTR_P | VMCB_ATTR_TYPE(SEG_TYPE_TSS32_BUSY));
	s->ldtr =
	    segment(0, 0, 0xffff, VMCB_ATTR_P | VMCB_ATTR_TYPE(SEG_TYPE_LDT));
	s->cpl = 0;
	s->efer = EFER_SVME; /* VMRUN requires it (15.5.1) */
	s->cr3 = 0;
	s->cr4 = 0;
	s->dr6 = DR6_RESET;
	s->dr7 = DR7_RESET;
	s->rflags = RFLAGS_FIXED;
	s->rip = st->rip;
	s->g_pat = PAT_POWER_ON;

	vcpu->regs = st->regs;
	s->rax = st->regs.gpr[GPR_RAX];
	s->rsp = st->regs.gpr[GPR_RSP];

	sv->dirty = SVM_CLEAN_ALL;
	sv->tlb_control = SVM_TLB_FLUSH_ALL;
	sv->intr_window = false;
	sv->virq = 0;
	sv->reinject = 0;
	sv->pending = 0;
	sv->deadline = 0;
	sv->ran = false;
}

static int svm_vcpu_create(struct vcpu *vcpu)
{
	if (!vcpu->vm || !vcpu->vm->vendor) {
		printk("svm: vCPU %u: its VM has no AMD-V state (vm_init not "
		       "called)\n",
		       vcpu->index);
		return -SVM_ENODEV;
	}
	/* Page 0: the VMCB (4 KiB aligned, 15.5.1); page 1: svm_vcpu. */
	u64 pa = mm_alloc_pages(2, PAGE_SIZE, MM_ANY);
	if (!pa) {
		printk("svm: VM %s vCPU %u: no memory for the VMCB\n",
		       vcpu->vm->name, vcpu->index);
		return -SVM_ENOMEM;
	}
	struct svm_vcpu *sv = hpa_to_ptr(pa + PAGE_SIZE);
	sv->vmcb = hpa_to_ptr(pa);
	sv->vmcb_pa = pa;
	vcpu->vendor = sv;
	svm_setup_control(vcpu);
	sv->dirty = SVM_CLEAN_ALL;
	sv->tlb_control = SVM_TLB_FLUSH_ALL;
	return 0;
}

static void svm_vcpu_destroy(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);

	if (!sv)
		return;
	mm_free_pages(sv->vmcb_pa, 2);
	vcpu->vendor = NULL;
}

/* ---- VMCB consistency checks (APM Vol. 2 15.5.1, "VMRUN") ---- */

/* Every byte a memory type: 0, 1, 4, 5, 6 or 7 (not 2, 3 or above 7). */
static bool svm_pat_valid(u64 pat)
{
	const u64 low = 0x0101010101010101ull;

	if (pat & (0xf8 * low))
		return false;
	/* Types 2 and 3: bit 1 set and bit 2 clear. */
	return !((pat >> 1) & ~(pat >> 2) & low);
}

static bool svm_event_valid(u64 event)
{
	u64 type = event & SVM_EVENT_TYPE_MASK;
	u8 vector = event & SVM_EVENT_VECTOR_MASK;

	if (!(event & SVM_EVENT_VALID))
		return true;
	if (type == SVM_EVENT_TYPE_EXCEPTION)
		return vector != 2 && vector < 32;
	return type == SVM_EVENT_TYPE_INTR || type == SVM_EVENT_TYPE_NMI ||
	       type == SVM_EVENT_TYPE_SOFT_INT;
}

static bool svm_range_below_maxphys(u64 pa, u64 size)
{
	u32 bits = svm_cpu_caps.phys_addr_bits;

	return bits >= 64 || pa + size <= (1ull << bits);
}

/*
 * The rule of APM Vol. 2 15.5.1 that this VMCB breaks, or NULL.  Checked
 * before every VMRUN, so that a bad state is named the same way on QEMU,
 * Bochs and hardware instead of ending as a bare VMEXIT_INVALID.
 */
static const char *svm_vmcb_violation(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;
	const struct vmcb_control *c = &vmcb->control;
	bool long_paging = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);
	const u64 efer_reserved = 0xffffffff00000000ull | BIT(9) | 0xfeull;

	if (!(s->efer & EFER_SVME))
		return "EFER.SVME is clear in the guest EFER";
	if (!(s->cr0 & CR0_CD) && (s->cr0 & CR0_NW))
		return "CR0.NW is set while CR0.CD is clear";
	if (s->cr0 >> 32)
		return "CR0 bits 63:32 are not zero";
	if (s->cr4 >> 32)
		return "CR4 bits 63:32 are not zero";
	if (s->dr6 >> 32)
		return "DR6 bits 63:32 are not zero";
	if (s->dr7 >> 32)
		return "DR7 bits 63:32 are not zero";
	if (s->efer & efer_reserved)
		return "a reserved EFER bit is set";
	if (long_paging && !(s->cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG are set but CR4.PAE is clear";
	if (long_paging && !(s->cr0 & CR0_PE))
		return "EFER.LME and CR0.PG are set but CR0.PE is clear";
	if (long_paging && (s->cr4 & CR4_PAE) && (s->cs.attrib & VMCB_ATTR_L) &&
	    (s->cs.attrib & VMCB_ATTR_DB))
		return "long mode with both CS.L and CS.D set";
	if (long_paging && (s->cr3 >> 52))
		return "CR3 bits 63:52 are set in long mode";
	if (!(c->intercept_misc2 & SVM_INTERCEPT2_VMRUN))
		return "the VMRUN intercept is clear";
	if (c->guest_asid == 0)
		return "the guest ASID is 0 (the host's)";
	if (!svm_event_valid(c->event_inject))
		return "EVENTINJ holds an illegal event type or vector";
	if (!svm_range_below_maxphys(c->iopm_base_pa,
				     SVM_IOPM_PAGES * PAGE_SIZE) ||
	    !svm_range_below_maxphys(c->msrpm_base_pa,
				     SVM_MSRPM_PAGES * PAGE_SIZE))
		return "the IOPM or MSRPM reaches beyond the physical address "
		       "width";
	if ((c->np_control & SVM_NP_ENABLE) && !svm_pat_valid(s->g_pat))
		return "G_PAT holds a reserved memory type";
	if ((c->np_control & SVM_NP_ENABLE) && c->n_cr3 == 0)
		return "N_CR3 is 0: the VM has no nested page table (Veneer "
		       "check)";
	return NULL;
}

static bool svm_in_64bit_code(const struct vmcb_save *s)
{
	return (s->efer & EFER_LMA) && (s->cs.attrib & VMCB_ATTR_L);
}

/*
 * Reads len bytes at the guest's CS:RIP through its own page tables
 * (core's walker); false if not all of them are mapped RAM.
 */
static bool svm_read_guest_code(struct vcpu *vcpu, u8 *buf, u32 len)
{
	const struct vmcb_save *s = &svm_vmcb(vcpu)->save;
	u64 linear = s->rip;

	if (!svm_in_64bit_code(s))
		linear = (s->cs.base + linear) & 0xffffffffull;
	return vcpu_read_linear(vcpu, linear, buf, len);
}

/* ---- events: EVENTINJ, EXITINTINFO, virtual interrupt window ---- */

static void svm_inject(struct vcpu *vcpu, const struct vcpu_event *e)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	u64 event = e->vector | SVM_EVENT_VALID;

	switch (e->type) {
	case VCPU_EVENT_EXTERNAL_INTR:
		if (e->vector < 16)
			panic("svm: vCPU %u: external interrupt vector %u is "
			      "reserved for exceptions",
			      vcpu->index, e->vector);
		if (sv->virq)
			printk("svm: VM %s vCPU %u: interrupt %u replaces the "
			       "queued %u that was never delivered\n",
			       vcpu->vm->name, vcpu->index, e->vector,
			       sv->virq & 0xff);
		sv->virq = SVM_VIRQ_QUEUED | e->vector;
		return;
	case VCPU_EVENT_NMI:
		event = 2 | SVM_EVENT_VALID | SVM_EVENT_TYPE_NMI;
		break;
	case VCPU_EVENT_EXCEPTION:
		if (e->vector >= 32 || e->vector == 2)
			panic("svm: vCPU %u: %u is not an exception vector",
			      vcpu->index, e->vector);
		event |= SVM_EVENT_TYPE_EXCEPTION;
		/* Real mode pushes no error code (APM Vol. 2 8.4.1). */
		if (e->has_error_code && (sv->vmcb->save.cr0 & CR0_PE))
			event |= SVM_EVENT_ERROR_VALID |
				 ((u64)e->error_code << SVM_EVENT_ERROR_SHIFT);
		break;
	default:
		panic("svm: vCPU %u: unknown event type %d", vcpu->index,
		      (int)e->type);
	}
	if (sv->pending)
		printk("svm: VM %s vCPU %u: event %#lx replaces the queued "
		       "%#lx that was never delivered\n",
		       vcpu->vm->name, vcpu->index, event, sv->pending);
	sv->pending = event;
}

static void svm_request_intr_window(struct vcpu *vcpu, bool on)
{
	svm_vcpu_of(vcpu)->intr_window = on;
}

/*
 * External interrupts reach the guest as a virtual interrupt (V_IRQ with
 * the vector, APM Vol. 2 15.21.4), not through EVENTINJ: the guest takes
 * it when its RFLAGS.IF and interrupt shadow allow, and the CPU clears
 * V_IRQ when it does.  (EVENTINJ would do on hardware too, but QEMU's TCG
 * VMRUN leaves an injected interrupt queued as a pending exception and
 * may deliver it a second time later, with the guest's IF clear.)
 * Without an interrupt to deliver, a window request is a V_IRQ of top
 * priority that is never taken: the VINTR intercept fires as soon as the
 * guest could take it.
 */
static void svm_sync_vintr(struct svm_vcpu *sv)
{
	struct vmcb_control *c = &sv->vmcb->control;
	const u64 mask = SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR |
			 (0xfull << SVM_VINTR_PRIO_SHIFT) |
			 (0xffull << SVM_VINTR_VECTOR_SHIFT);
	u64 v_intr, intercept;

	/* Nothing queued, nothing asked for, nothing left in the VMCB. */
	if (!sv->virq && !sv->intr_window && !(c->v_intr & mask) &&
	    !(c->intercept_misc1 & SVM_INTERCEPT1_VINTR))
		return;
	v_intr = c->v_intr & ~mask;
	intercept = c->intercept_misc1 & ~(u64)SVM_INTERCEPT1_VINTR;

	if (sv->virq || sv->intr_window)
		v_intr |= SVM_VINTR_IRQ | SVM_VINTR_IGN_TPR |
			  (0xfull << SVM_VINTR_PRIO_SHIFT) |
			  ((u64)(sv->virq & 0xff) << SVM_VINTR_VECTOR_SHIFT);
	if (!sv->virq && sv->intr_window)
		intercept |= SVM_INTERCEPT1_VINTR;
	if (v_intr != c->v_intr)
		sv->dirty |= SVM_CLEAN_TPR;
	if (intercept != c->intercept_misc1)
		sv->dirty |= SVM_CLEAN_INTERCEPTS;
	c->v_intr = v_intr;
	c->intercept_misc1 = intercept;
}

/* ---- entry and exit ---- */

static void svm_prepare_entry(struct vcpu *vcpu, struct svm_vcpu *sv,
			      struct percpu *cpu)
{
	struct vmcb *vmcb = sv->vmcb;

	vmcb->save.rax = vcpu->regs.gpr[GPR_RAX];
	vmcb->save.rsp = vcpu->regs.gpr[GPR_RSP];

	if (vmcb->control.n_cr3 != vcpu->vm->npt_root) {
		vmcb->control.n_cr3 = vcpu->vm->npt_root;
		sv->dirty |= SVM_CLEAN_NP;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
	}
	/*
	 * On another CPU (or the first time) the VMCB cache and the TLB of
	 * that CPU may hold another VM's entries under this ASID (15.15.3,
	 * 15.15.1).
	 */
	if (!sv->ran || sv->last_cpu != cpu->index) {
		sv->dirty = SVM_CLEAN_ALL;
		sv->tlb_control = SVM_TLB_FLUSH_ALL;
	}
	svm_sync_vintr(sv);
	/* An event cut short by the last exit goes first (15.20). */
	if (sv->reinject) {
		vmcb->control.event_inject = sv->reinject;
		sv->reinject = 0;
	} else if (sv->pending) {
		vmcb->control.event_inject = sv->pending;
		sv->pending = 0;
	}
	if (sv->tlb_control == SVM_TLB_FLUSH_ALL &&
	    svm_has(SVM_FEATURE_FLUSH_BY_ASID))
		sv->tlb_control = SVM_TLB_FLUSH_ASID;
	vmcb->control.tlb_control = sv->tlb_control;
	vmcb->control.clean_bits =
	    svm_has(SVM_FEATURE_VMCB_CLEAN)
		? (SVM_CLEAN_ALL & ~sv->dirty &
		   ~(sv->tsc_dirty ? SVM_CLEAN_INTERCEPTS : 0))
		: 0;
}

static void svm_after_exit(struct vcpu *vcpu, struct svm_vcpu *sv,
			   struct percpu *cpu)
{
	struct vmcb_control *c = &sv->vmcb->control;

	vcpu->regs.gpr[GPR_RAX] = sv->vmcb->save.rax;
	vcpu->regs.gpr[GPR_RSP] = sv->vmcb->save.rsp;
	vcpu->walk_valid = false; /* the guest ran: its page tables too */
	sv->ran = true;
	sv->last_cpu = cpu->index;
	sv->dirty = 0;
	sv->tsc_dirty = false;
	sv->tlb_control = SVM_TLB_NOTHING;
	c->tlb_control = SVM_TLB_NOTHING;
	c->event_inject = 0;
	/* The CPU clears V_IRQ when the guest takes the interrupt. */
	if (sv->virq && !(c->v_intr & SVM_VINTR_IRQ))
		sv->virq = 0;
	/*
	 * A software interrupt (INTn) is not re-injected: RIP still points at
	 * the INTn, which runs again.  An external interrupt cut short goes
	 * back to V_IRQ.
	 */
	if ((c->exit_int_info & SVM_EVENT_VALID) &&
	    (c->exit_int_info & SVM_EVENT_TYPE_MASK) == SVM_EVENT_TYPE_INTR)
		sv->virq = SVM_VIRQ_QUEUED | (c->exit_int_info & 0xff);
	else if ((c->exit_int_info & SVM_EVENT_VALID) &&
		 (c->exit_int_info & SVM_EVENT_TYPE_MASK) !=
		     SVM_EVENT_TYPE_SOFT_INT)
		sv->reinject = c->exit_int_info;
}

/* Length of the intercepted instruction: NRIP save or the fixed size. */
static u32 svm_insn_len(const struct vmcb *vmcb, u32 fixed_len)
{
	if (svm_has(SVM_FEATURE_NRIP_SAVE) && vmcb->control.next_rip)
		return (u32)(vmcb->control.next_rip - vmcb->save.rip);
	return fixed_len;
}

/*
 * Address size of a string I/O instruction: EXITINFO1 bits 9:7 (15.10.2).
 * QEMU 7.2 leaves all three clear; then the code segment's default is the
 * best answer without decoding an address-size prefix (0x67).
 */
static u8 svm_io_address_size(const struct vmcb *vmcb, u64 info)
{
	if (info & SVM_IOIO_ADDR64)
		return 8;
	if (info & SVM_IOIO_ADDR32)
		return 4;
	if (info & SVM_IOIO_ADDR16)
		return 2;
	if (svm_in_64bit_code(&vmcb->save))
		return 8;
	return (vmcb->save.cs.attrib & VMCB_ATTR_DB) ? 4 : 2;
}

static void svm_decode_io(const struct vmcb *vmcb, struct exit_event *ev)
{
	u64 info = vmcb->control.exit_info1;

	ev->kind = EXIT_IO;
	ev->io.port = (u16)(info >> SVM_IOIO_PORT_SHIFT);
	ev->io.in = info & SVM_IOIO_IN;
	ev->io.string = info & SVM_IOIO_STRING;
	ev->io.rep = info & SVM_IOIO_REP;
	ev->io.size = (info & SVM_IOIO_SIZE32)	 ? 4
		      : (info & SVM_IOIO_SIZE16) ? 2
						 : 1;
	ev->io.address_size = svm_io_address_size(vmcb, info);
	/* The segment field is filled only with decode assists (15.10.2). */
	ev->io.segment = svm_has(SVM_FEATURE_DECODE_ASSISTS)
			     ? (info >> SVM_IOIO_SEG_SHIFT) & 7
			     : 3;
	/* EXITINFO2 is the RIP of the next instruction, always. */
	ev->insn_len = (u32)(vmcb->control.exit_info2 - vmcb->save.rip);
}

static void svm_decode_npf(const struct vmcb *vmcb, struct exit_event *ev)
{
	u64 code = vmcb->control.exit_info1;

	ev->kind = EXIT_NPF;
	ev->npf.gpa = vmcb->control.exit_info2;
	ev->npf.gla_valid = false; /* AMD-V reports no linear address */
	ev->npf.present = code & SVM_NPF_PRESENT;
	ev->npf.write = code & SVM_NPF_WRITE;
	ev->npf.exec = code & SVM_NPF_FETCH;
	ev->npf.read = !ev->npf.write && !ev->npf.exec;
}

static bool exception_has_error_code(u8 vector)
{
	/* #DF #TS #NP #SS #GP #PF #AC #CP (APM Vol. 2 8.2). */
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
	       vector == 21;
}

/*
 * An intercepted exception.  Returns false when it was dealt with here and
 * the guest is to be entered again.
 */
static bool svm_decode_exception(struct vcpu *vcpu, u8 vector,
				 struct exit_event *ev)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	const struct vmcb *vmcb = sv->vmcb;
	u8 bytes[sizeof(vmcall_bytes)];

	switch (vector) {
	case X86_VECTOR_MC:
		svm_ops.dump(vcpu);
		panic("svm: machine check while VM %s vCPU %u ran",
		      vcpu->vm->name, vcpu->index);
	case X86_VECTOR_UD:
		if (svm_read_guest_code(vcpu, bytes, sizeof(bytes)) &&
		    memcmp(bytes, vmcall_bytes, sizeof(bytes)) == 0) {
			ev->kind = EXIT_HYPERCALL;
			ev->vendor_name = "EXCEPTION #UD: VMCALL";
			ev->insn_len = INSN_LEN_VMCALL;
			return true;
		}
		sv->reinject =
		    SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION | X86_VECTOR_UD;
		return false;
	case X86_VECTOR_AC:
		/*
		 * Intercepted only so that a guest cannot hang the CPU in an
		 * endless #AC delivery loop; it goes straight back.
		 */
		sv->reinject = SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION |
			       SVM_EVENT_ERROR_VALID | X86_VECTOR_AC;
		return false;
	default:
		ev->kind = EXIT_EXCEPTION;
		ev->exc.vector = vector;
		ev->exc.has_error_code = exception_has_error_code(vector);
		ev->exc.error_code = (u32)vmcb->control.exit_info1;
		ev->exc.cr2 = vmcb->control.exit_info2;
		return true;
	}
}

/* Name of an SVM exit code (APM Vol. 2 appendix C), for messages. */
static const char *svm_exit_name(u64 code)
{
	static const char *const names[] = {
	    [SVM_EXIT_INTR] = "INTR",
	    [SVM_EXIT_NMI] = "NMI",
	    [SVM_EXIT_SMI] = "SMI",
	    [SVM_EXIT_INIT] = "INIT",
	    [SVM_EXIT_VINTR] = "VINTR",
	    [SVM_EXIT_CR0_SEL_WRITE] = "CR0_SEL_WRITE",
	    [SVM_EXIT_IDTR_READ] = "IDTR_READ",
	    [SVM_EXIT_GDTR_READ] = "GDTR_READ",
	    [SVM_EXIT_LDTR_READ] = "LDTR_READ",
	    [SVM_EXIT_TR_READ] = "TR_READ",
	    [SVM_EXIT_IDTR_WRITE] = "IDTR_WRITE",
	    [SVM_EXIT_GDTR_WRITE] = "GDTR_WRITE",
	    [SVM_EXIT_LDTR_WRITE] = "LDTR_WRITE",
	    [SVM_EXIT_TR_WRITE] = "TR_WRITE",
	    [SVM_EXIT_RDTSC] = "RDTSC",
	    [SVM_EXIT_RDPMC] = "RDPMC",
	    [SVM_EXIT_PUSHF] = "PUSHF",
	    [SVM_EXIT_POPF] = "POPF",
	    [SVM_EXIT_CPUID] = "CPUID",
	    [SVM_EXIT_RSM] = "RSM",
	    [SVM_EXIT_IRET] = "IRET",
	    [SVM_EXIT_SWINT] = "SWINT",
	    [SVM_EXIT_INVD] = "INVD",
	    [SVM_EXIT_PAUSE] = "PAUSE",
	    [SVM_EXIT_HLT] = "HLT",
	    [SVM_EXIT_INVLPG] = "INVLPG",
	    [SVM_EXIT_INVLPGA] = "INVLPGA",
	    [SVM_EXIT_IOIO] = "IOIO",
	    [SVM_EXIT_MSR] = "MSR",
	    [SVM_EXIT_TASK_SWITCH] = "TASK_SWITCH",
	    [SVM_EXIT_FERR_FREEZE] = "FERR_FREEZE",
	    [SVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	    [SVM_EXIT_VMRUN] = "VMRUN",
	    [SVM_EXIT_VMMCALL] = "VMMCALL",
	    [SVM_EXIT_VMLOAD] = "VMLOAD",
	    [SVM_EXIT_VMSAVE] = "VMSAVE",
	    [SVM_EXIT_STGI] = "STGI",
	    [SVM_EXIT_CLGI] = "CLGI",
	    [SVM_EXIT_SKINIT] = "SKINIT",
	    [SVM_EXIT_RDTSCP] = "RDTSCP",
	    [SVM_EXIT_ICEBP] = "ICEBP",
	    [SVM_EXIT_WBINVD] = "WBINVD",
	    [SVM_EXIT_MONITOR] = "MONITOR",
	    [SVM_EXIT_MWAIT] = "MWAIT",
	    [SVM_EXIT_MWAIT_CONDITIONAL] = "MWAIT_CONDITIONAL",
	    [SVM_EXIT_XSETBV] = "XSETBV",
	    [SVM_EXIT_RDPRU] = "RDPRU",
	    [SVM_EXIT_EFER_WRITE_TRAP] = "EFER_WRITE_TRAP",
	    [SVM_EXIT_INVLPGB] = "INVLPGB",
	    [SVM_EXIT_INVLPGB_ILLEGAL] = "INVLPGB_ILLEGAL",
	    [SVM_EXIT_INVPCID] = "INVPCID",
	    [SVM_EXIT_MCOMMIT] = "MCOMMIT",
	    [SVM_EXIT_TLBSYNC] = "TLBSYNC",
	};

	/* The common exits first: the table has no entry in the ranges
	 * named below. */
	if (code < ARRAY_SIZE(names) && names[code])
		return names[code];
	if ((u32)code == SVM_EXIT_INVALID_LOW32)
		return "INVALID";
	if (code < SVM_EXIT_DR0_READ)
		return code < SVM_EXIT_CR0_WRITE ? "CR_READ" : "CR_WRITE";
	if (code < SVM_EXIT_EXCEPTION_BASE)
		return code < SVM_EXIT_DR0_WRITE ? "DR_READ" : "DR_WRITE";
	if (code < SVM_EXIT_INTR)
		return "EXCEPTION";
	if (code >= SVM_EXIT_CR0_WRITE_TRAP && code < SVM_EXIT_INVLPGB)
		return "CR_WRITE_TRAP";
	switch (code) {
	case SVM_EXIT_NPF:
		return "NPF";
	case SVM_EXIT_AVIC_INCOMPLETE_IPI:
		return "AVIC_INCOMPLETE_IPI";
	case SVM_EXIT_AVIC_NOACCEL:
		return "AVIC_NOACCEL";
	case SVM_EXIT_VMGEXIT:
		return "VMGEXIT";
	}
	return "unknown";
}

/*
 * Fills *ev from the VMCB after a #VMEXIT.  Returns false when the exit was
 * dealt with here and the guest is to be entered again.
 */
static bool svm_decode_exit(struct vcpu *vcpu, struct exit_event *ev)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	const struct vmcb *vmcb = sv->vmcb;
	u64 code = vmcb->control.exit_code;

	ev->vendor_reason = code;
	ev->vendor_name = svm_exit_name(code);

	if ((u32)code == SVM_EXIT_INVALID_LOW32) {
		const char *rule = svm_vmcb_violation(vmcb);
		ev->kind = EXIT_ENTRY_FAILED;
		ev->fail.what = rule
				    ? rule
				    : "VMRUN rejected the VMCB, but no rule of "
				      "APM Vol. 2 15.5.1 that Veneer checks is "
				      "broken";
		return true;
	}
	if (code >= SVM_EXIT_EXCEPTION_BASE && code < SVM_EXIT_INTR)
		return svm_decode_exception(
		    vcpu, (u8)(code - SVM_EXIT_EXCEPTION_BASE), ev);

	switch (code) {
	case SVM_EXIT_CPUID:
		ev->kind = EXIT_CPUID;
		ev->insn_len = svm_insn_len(vmcb, INSN_LEN_CPUID);
		break;
	case SVM_EXIT_HLT:
		ev->kind = EXIT_HLT;
		ev->insn_len = svm_insn_len(vmcb, INSN_LEN_HLT);
		break;
	case SVM_EXIT_IOIO:
		svm_decode_io(vmcb, ev);
		break;
	case SVM_EXIT_MSR:
		/* EXITINFO1: 0 = RDMSR, 1 = WRMSR (15.11). */
		ev->kind =
		    vmcb->control.exit_info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		ev->msr.index = (u32)vcpu->regs.gpr[GPR_RCX];
		ev->insn_len = svm_insn_len(vmcb, INSN_LEN_MSR);
		break;
	case SVM_EXIT_VMMCALL:
		ev->kind = EXIT_HYPERCALL;
		ev->insn_len = svm_insn_len(vmcb, INSN_LEN_VMMCALL);
		break;
	case SVM_EXIT_XSETBV:
		ev->kind = EXIT_XSETBV;
		ev->insn_len = svm_insn_len(vmcb, INSN_LEN_XSETBV);
		break;
	case SVM_EXIT_SHUTDOWN:
		ev->kind = EXIT_TRIPLE_FAULT;
		break;
	case SVM_EXIT_NPF:
		svm_decode_npf(vmcb, ev);
		break;
	case SVM_EXIT_INTR:
		ev->kind = EXIT_EXTERNAL_INTR;
		break;
	case SVM_EXIT_NMI:
		ev->kind = EXIT_NMI;
		break;
	case SVM_EXIT_VINTR:
		/* One-shot: the window is open now (svm.h). */
		sv->intr_window = false;
		ev->kind = EXIT_INTR_WINDOW;
		break;
	case SVM_EXIT_INIT:
		ev->kind = EXIT_INIT;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		/* SVM is not offered to guests: the core injects #UD. */
		ev->kind = EXIT_INVALID_INSN;
		break;
	default:
		ev->kind = EXIT_UNKNOWN;
		break;
	}
	return true;
}

static void svm_run(struct vcpu *vcpu, struct exit_event *ev)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct percpu *cpu = this_cpu();
	const struct svm_cpu *sc = cpu->vendor;

	if (!sc)
		panic("svm: CPU %u runs a guest before cpu_enable", cpu->index);
	for (;;) {
		*ev = (struct exit_event){.kind = EXIT_NONE};
		/* No SVM preemption timer: the deadline is checked here. */
		if (sv->deadline && rdtsc() >= sv->deadline) {
			ev->kind = EXIT_PREEMPT_TIMER;
			ev->vendor_name = "deadline passed before VMRUN";
			return;
		}
		svm_prepare_entry(vcpu, sv, cpu);
		/*
		 * Only what Veneer wrote can break a rule (the guest's own
		 * writes are checked by the CPU): every such write marks the
		 * VMCB dirty, or is an event to inject.
		 */
		const char *rule = sv->dirty || sv->vmcb->control.event_inject
				       ? svm_vmcb_violation(sv->vmcb)
				       : NULL;
		if (rule) {
			ev->kind = EXIT_ENTRY_FAILED;
			ev->vendor_name = "VMCB consistency check (no VMRUN)";
			ev->fail.what = rule;
			return;
		}
		/*
		 * No SVM preemption timer: the host LAPIC timer ends the run
		 * at the deadline. Physical interrupts cause #VMEXIT only
		 * when the host runs VMRUN with IF=1 (V_INTR_MASKING, APM
		 * Vol. 2 15.21.1); the stub's CLGI keeps them out until the
		 * host state is back, then the handler just acknowledges.
		 */
		if (sv->deadline)
			lapic_timer_arm(sv->deadline);
		sti();
		svm_vmrun(&vcpu->regs, sv->vmcb_pa, sc->host_vmcb_pa);
		cli();
		svm_after_exit(vcpu, sv, cpu);
		if (svm_decode_exit(vcpu, ev))
			return;
	}
}

/* ---- guest state access ---- */

static u64 svm_read(struct vcpu *vcpu, enum vcpu_field field)
{
	const struct vmcb *vmcb = svm_vmcb(vcpu);
	const struct vmcb_save *s = &vmcb->save;

	switch (field) {
	case VCPU_RIP:
		return s->rip;
	case VCPU_RFLAGS:
		return s->rflags;
	case VCPU_CR0:
		return s->cr0;
	case VCPU_CR2:
		return s->cr2;
	case VCPU_CR3:
		return s->cr3;
	case VCPU_CR4:
		return s->cr4;
	case VCPU_EFER:
		return s->efer &
		       ~EFER_SVME; /* SVME is Veneer's, not the guest's */
	case VCPU_CS_BASE:
		return s->cs.base;
	case VCPU_CS_SELECTOR:
		return s->cs.selector;
	case VCPU_CS_LONG:
		return svm_in_64bit_code(s);
	case VCPU_CS_DB:
		return (s->cs.attrib & VMCB_ATTR_DB) != 0;
	case VCPU_CPL:
		return s->cpl;
	case VCPU_DS_BASE:
		return s->ds.base;
	case VCPU_ES_BASE:
		return s->es.base;
	case VCPU_SS_BASE:
		return s->ss.base;
	case VCPU_GDTR_BASE:
		return s->gdtr.base;
	case VCPU_IDTR_BASE:
		return s->idtr.base;
	case VCPU_PAT:
		return s->g_pat;
	case VCPU_SYSENTER_CS:
		return s->sysenter_cs;
	case VCPU_SYSENTER_ESP:
		return s->sysenter_esp;
	case VCPU_SYSENTER_EIP:
		return s->sysenter_eip;
	case VCPU_FS_BASE:
		return s->fs.base;
	case VCPU_GS_BASE:
		return s->gs.base;
	case VCPU_KERNEL_GS_BASE:
		return s->kernel_gs_base;
	case VCPU_STAR:
		return s->star;
	case VCPU_LSTAR:
		return s->lstar;
	case VCPU_CSTAR:
		return s->cstar;
	case VCPU_SFMASK:
		return s->sfmask;
	case VCPU_INTERRUPTIBLE: {
		const struct svm_vcpu *sv = svm_vcpu_of(vcpu);
		return (s->rflags & RFLAGS_IF) &&
		       !(vmcb->control.int_state & SVM_INT_SHADOW) &&
		       !sv->reinject && !sv->pending && !sv->virq;
	}
	case VCPU_FIELD_COUNT:
		break;
	}
	panic("svm: read of unknown vCPU field %d", (int)field);
}

static void svm_write(struct vcpu *vcpu, enum vcpu_field field, u64 value)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	struct vmcb_save *s = &sv->vmcb->save;
	u32 dirty = 0;

	vcpu->walk_valid = false; /* e.g. CR3: no stale translation */

	switch (field) {
	case VCPU_RIP:
		s->rip = value;
		break;
	case VCPU_RFLAGS:
		s->rflags = value | RFLAGS_FIXED;
		break;
	case VCPU_CR0:
		s->cr0 = value;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_CR2:
		s->cr2 = value;
		dirty = SVM_CLEAN_CR2;
		break;
	case VCPU_CR3:
		s->cr3 = value;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_CR4:
		s->cr4 = value;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_EFER:
		s->efer = value | EFER_SVME;
		dirty = SVM_CLEAN_CRX;
		break;
	case VCPU_CS_BASE:
		s->cs.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CS_SELECTOR:
		s->cs.selector = (u16)value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CS_LONG:
		s->cs.attrib = value ? (s->cs.attrib | VMCB_ATTR_L)
				     : (s->cs.attrib & ~VMCB_ATTR_L);
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CS_DB:
		s->cs.attrib = value ? (s->cs.attrib | VMCB_ATTR_DB)
				     : (s->cs.attrib & ~VMCB_ATTR_DB);
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_CPL:
		s->cpl = value & 3;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_DS_BASE:
		s->ds.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_ES_BASE:
		s->es.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_SS_BASE:
		s->ss.base = value;
		dirty = SVM_CLEAN_SEG;
		break;
	case VCPU_GDTR_BASE:
		s->gdtr.base = value;
		dirty = SVM_CLEAN_DT;
		break;
	case VCPU_IDTR_BASE:
		s->idtr.base = value;
		dirty = SVM_CLEAN_DT;
		break;
	case VCPU_PAT:
		s->g_pat = value;
		dirty = SVM_CLEAN_NP;
		break;
	/* The rest are VMLOAD state, loaded on every entry: no clean bit. */
	case VCPU_SYSENTER_CS:
		s->sysenter_cs = value;
		break;
	case VCPU_SYSENTER_ESP:
		s->sysenter_esp = value;
		break;
	case VCPU_SYSENTER_EIP:
		s->sysenter_eip = value;
		break;
	case VCPU_FS_BASE:
		s->fs.base = value;
		break;
	case VCPU_GS_BASE:
		s->gs.base = value;
		break;
	case VCPU_KERNEL_GS_BASE:
		s->kernel_gs_base = value;
		break;
	case VCPU_STAR:
		s->star = value;
		break;
	case VCPU_LSTAR:
		s->lstar = value;
		break;
	case VCPU_CSTAR:
		s->cstar = value;
		break;
	case VCPU_SFMASK:
		s->sfmask = value;
		break;
	case VCPU_INTERRUPTIBLE:
		panic("svm: VCPU_INTERRUPTIBLE is read-only");
	default:
		panic("svm: write of unknown vCPU field %d", (int)field);
	}
	sv->dirty |= dirty;
}

static void svm_skip_instruction(struct vcpu *vcpu, u32 len)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	vmcb->save.rip += len;
	if (!svm_in_64bit_code(&vmcb->save))
		vmcb->save.rip &= 0xffffffffull;
	/* The STI / MOV SS shadow covers only the skipped instruction. */
	vmcb->control.int_state &= ~SVM_INT_SHADOW;
}

static void svm_set_deadline(struct vcpu *vcpu, u64 tsc)
{
	/* No preemption timer on AMD-V: svm_run() checks it (svm.h). */
	svm_vcpu_of(vcpu)->deadline = tsc;
}

/* TSC_OFFSET (APM Vol. 2 15.30.5): guest RDTSC = host TSC + offset. */
static void svm_set_tsc_offset(struct vcpu *vcpu, u64 offset)
{
	struct svm_vcpu *sv = svm_vcpu_of(vcpu);

	if (sv->vmcb->control.tsc_offset == offset)
		return;
	sv->vmcb->control.tsc_offset = offset;
	/* Clean bit 0 covers TSC_OFFSET; no rule of 15.5.1 concerns it. */
	sv->tsc_dirty = true;
}

static void svm_flush_tlb(struct vcpu *vcpu)
{
	/* Upgraded to flush-by-ASID in svm_prepare_entry() when possible. */
	svm_vcpu_of(vcpu)->tlb_control = SVM_TLB_FLUSH_ALL;
}

static void svm_dump_segment(const char *name, const struct vmcb_segment *s)
{
	printk("  %-4s sel %04x attr %03x limit %08x base %016lx\n", name,
	       s->selector, s->attrib, s->limit, s->base);
}

static void svm_dump(struct vcpu *vcpu)
{
	const struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	const struct vmcb_control *c = &sv->vmcb->control;
	const struct vmcb_save *s = &sv->vmcb->save;

	printk("svm: VMCB of VM %s vCPU %u at %#lx (ASID %u)\n", vcpu->vm->name,
	       vcpu->index, sv->vmcb_pa, c->guest_asid);
	printk("  exit %#lx (%s) info1 %#lx info2 %#lx exitintinfo %#lx\n",
	       c->exit_code, svm_exit_name(c->exit_code), c->exit_info1,
	       c->exit_info2, c->exit_int_info);
	printk("  eventinj %#lx queued %#lx reinject %#lx v_intr %#lx "
	       "virq %#x int_state %#lx next_rip %#lx\n",
	       c->event_inject, sv->pending, sv->reinject, c->v_intr, sv->virq,
	       c->int_state, c->next_rip);
	printk("  rip %016lx rsp %016lx rax %016lx rflags %08lx cpl %u\n",
	       s->rip, s->rsp, s->rax, s->rflags, s->cpl);
	printk("  cr0 %08lx cr2 %016lx cr3 %016lx cr4 %08lx efer %08lx\n",
	       s->cr0, s->cr2, s->cr3, s->cr4, s->efer);
	printk("  dr6 %08lx dr7 %08lx g_pat %016lx n_cr3 %#lx\n", s->dr6,
	       s->dr7, s->g_pat, c->n_cr3);
	svm_dump_segment("cs", &s->cs);
	svm_dump_segment("ss", &s->ss);
	svm_dump_segment("ds", &s->ds);
	svm_dump_segment("es", &s->es);
	svm_dump_segment("fs", &s->fs);
	svm_dump_segment("gs", &s->gs);
	svm_dump_segment("tr", &s->tr);
	svm_dump_segment("ldtr", &s->ldtr);
	svm_dump_segment("gdtr", &s->gdtr);
	svm_dump_segment("idtr", &s->idtr);
}

const struct vcpu_ops svm_ops = {
    .name = "AMD-V",
    .npt_format = svm_npt_format,
    .cpu_enable = svm_cpu_enable,
    .vm_init = svm_vm_init,
    .vcpu_create = svm_vcpu_create,
    .vcpu_destroy = svm_vcpu_destroy,
    .vcpu_reset = svm_vcpu_reset,
    .run = svm_run,
    .read = svm_read,
    .write = svm_write,
    .skip_instruction = svm_skip_instruction,
    .inject = svm_inject,
    .request_intr_window = svm_request_intr_window,
    .set_deadline = svm_set_deadline,
    .set_tsc_offset = svm_set_tsc_offset,
    .flush_tlb = svm_flush_tlb,
    .dump = svm_dump,
};
