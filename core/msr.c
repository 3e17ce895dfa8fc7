/* SPDX-License-Identifier: MIT */
/*
 * RDMSR / WRMSR policy: an allow list. MSRs on it are emulated here,
 * handed to the local APIC model (IA32_APIC_BASE, TSC deadline, x2APIC), to
 * the KVM-compatible interface (kvm-clock, core/kvmpv.c, for guests that
 * have it) or to the backend as guest state; every other index gets #GP(0),
 * as a CPU does for an MSR it does not implement (SDM Vol. 2B RDMSR).
 */
#include "core/guestcpu.h"
#include "core/handlers.h"
#include "core/kvmpv.h"
#include "core/platform.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

#define MSR_IA32_PLATFORM_ID 0x17
#define MSR_IA32_MCG_CAP     0x179
#define MSR_IA32_MCG_STATUS  0x17a
/* AMD interrupt-pending message (C1E, BKDG family 0Fh/10h): Linux reads it
 * without a fault handler on the CPUs with the E400 erratum. */
#define MSR_AMD_INT_PENDING_MSG 0xc0010055
/* MTRR default type: MTRRs enabled, write-back (SDM Vol. 3A 12.11.2.1). */
#define MTRR_DEF_TYPE_RESET 0xc06ull
/* Valid bits of IA32_MTRR_DEF_TYPE: type 7:0, FE 10, E 11. */
#define MTRR_DEF_TYPE_MASK 0xcffull
/*
 * AMD's legacy performance counters, on every AMD CPU since the K7 with no
 * CPUID bit to say so (APM Vol. 2 13.2.1): PerfEvtSel0-3 and PerfCtr0-3.
 */
#define MSR_AMD_PERF_CTL0 0xc0010000
#define MSR_AMD_PERF_CTL3 0xc0010003
#define MSR_AMD_PERF_CTR0 0xc0010004
#define MSR_AMD_PERF_CTR3 0xc0010007
/*
 * Reserved bits of PerfEvtSeln (APM Vol. 2 13.2.1, Figure 13-7): 19, 21,
 * 39:36 and 63:42. The rest (event select, unit mask, USR, OS, edge, INT,
 * EN, INV, counter mask, host/guest only) is kept.
 */
#define AMD_PERF_CTL_RESERVED 0xfffffcf000280000ull

/*
 * MSRs that are guest state the backend keeps in the VMCS / VMCB, as a
 * switch (a few compares for any MSR, where a table's scan took every
 * entry for the MSRs not in it).
 */
static bool state_field(u32 index, enum vcpu_field *field)
{
	switch (index) {
	case MSR_EFER:
		*field = VCPU_EFER;
		return true;
	case MSR_IA32_PAT:
		*field = VCPU_PAT;
		return true;
	case MSR_IA32_SYSENTER_CS:
		*field = VCPU_SYSENTER_CS;
		return true;
	case MSR_IA32_SYSENTER_ESP:
		*field = VCPU_SYSENTER_ESP;
		return true;
	case MSR_IA32_SYSENTER_EIP:
		*field = VCPU_SYSENTER_EIP;
		return true;
	case MSR_FS_BASE:
		*field = VCPU_FS_BASE;
		return true;
	case MSR_GS_BASE:
		*field = VCPU_GS_BASE;
		return true;
	case MSR_KERNEL_GS_BASE:
		*field = VCPU_KERNEL_GS_BASE;
		return true;
	case MSR_STAR:
		*field = VCPU_STAR;
		return true;
	case MSR_LSTAR:
		*field = VCPU_LSTAR;
		return true;
	case MSR_CSTAR:
		*field = VCPU_CSTAR;
		return true;
	case MSR_SFMASK:
		*field = VCPU_SFMASK;
		return true;
	default:
		return false;
	}
}

/* IA32_MISC_ENABLE as the guest reads it (struct vm keeps the change). */
static u64 misc_enable(const struct vm *vm)
{
	return misc_enable_value(vm->msr_misc_enable_flipped);
}

/*
 * EFER bits a guest may set: SCE, LME, LMA (read-only), NXE; NXE not while
 * IA32_MISC_ENABLE.XD_DISABLE hides NX (SDM Vol. 4 Table 2-2: EFER.NXE is
 * then reserved).
 */
static bool efer_valid(const struct vm *vm, u64 v)
{
	if ((v & EFER_NXE) && (misc_enable(vm) & MISC_ENABLE_XD_DISABLE))
		return false;
	return !(v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE));
}

/* ---- MSRs that depend on the CPU the guest sees (core/guestcpu.h) */

/*
 * IA32_MISC_ENABLE bits a guest may change (SDM Vol. 4 Table 2-2): fast
 * strings and automatic thermal control always; limit CPUID maxval where
 * CPUID.0:EAX > 2; xTPR disable and XD disable where CPUID shows xTPR and
 * NX. EIST (16) and MONITOR FSM (18) are reserved: CPUID hides both
 * features (core/cpuid.c), as on a CPU without them.
 */
static u64 misc_enable_writable(const struct guestcpu_facts *f)
{
	u64 w = MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_AUTO_THERMAL;

	if (f->max_basic_leaf > 2)
		w |= MISC_ENABLE_LIMIT_CPUID;
	if (f->xtpr)
		w |= MISC_ENABLE_XTPR_DISABLE;
	if (f->nx)
		w |= MISC_ENABLE_XD_DISABLE;
	return w;
}

/*
 * A write to IA32_MISC_ENABLE: read-only bits keep their value whatever is
 * written (software writes back what it read), reserved bits are #GP, and
 * XD disable may not be set while EFER.NXE is on (the CPU could not take NX
 * away from page tables that use it).
 */
static bool write_misc_enable(struct vcpu *vcpu, const struct guestcpu_facts *f,
			      u64 value)
{
	u64 writable = misc_enable_writable(f);
	u64 old = misc_enable(vcpu->vm);
	u64 now;

	if (value & ~(writable | MISC_ENABLE_READ_ONLY))
		return false;
	now = (old & ~writable) | (value & writable);
	if ((now & ~old & MISC_ENABLE_XD_DISABLE) &&
	    (vcpu_read(vcpu, VCPU_EFER) & EFER_NXE))
		return false;
	vcpu->vm->msr_misc_enable_flipped = now ^ MISC_ENABLE_POWER_ON;
	return true;
}

/*
 * The guest moves its TSC by `delta` (modulo 2^64), at this instant: the
 * offset moves (one reading of the clock, so nothing else shifts by the
 * time between two), and msr_tsc_adjust, the sum of the guest's own moves,
 * with it. Only the TSC moves: the devices' clock is the TSC less
 * msr_tsc_adjust (core/platform.c), and a pending HC_TIMER_ONESHOT, kept
 * as a guest TSC value, moves along so that it still fires the
 * microseconds after it was armed that the guest asked for
 * (docs/hypercall.md). The run loop takes its deadlines afresh after this
 * exit (exit_is_quiet in core/vcpu.c); the guest's other vCPUs are woken to
 * do the same (their lean path trusts the offset and deadline of their
 * last entry, core/vcpu.c).
 */
static void move_tsc(struct vcpu *self, u64 delta)
{
	struct vm *vm = self->vm;

	vm->tsc_offset += delta;
	vm->msr_tsc_adjust += delta;
	/* kvm-clock follows the devices' clock, not the TSC the guest set. */
	kvmpv_tsc_moved(vm);
	for (u32 i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		if (vcpu->timer_deadline) {
			vcpu->timer_deadline += delta;
			/* 0 is "none": one tick on */
			if (!vcpu->timer_deadline)
				vcpu->timer_deadline = 1;
		}
		if (vcpu != self)
			vm_wake_vcpu(vm, i);
	}
}

/*
 * IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3): writing it moves the TSC by the
 * difference to its old value; writing IA32_TSC moves it by as much as the
 * TSC moved (move_tsc).
 */
static void write_tsc_adjust(struct vcpu *vcpu, u64 value)
{
	move_tsc(vcpu, value - vcpu->vm->msr_tsc_adjust);
}

static void write_tsc(struct vcpu *vcpu, u64 value)
{
	move_tsc(vcpu, value - vm_guest_tsc(vcpu->vm));
}

static bool is_amd_perf_ctl(u32 index)
{
	return index >= MSR_AMD_PERF_CTL0 && index <= MSR_AMD_PERF_CTL3;
}

static bool is_amd_perf_ctr(u32 index)
{
	return index >= MSR_AMD_PERF_CTR0 && index <= MSR_AMD_PERF_CTR3;
}

/* The MSRs only some CPUs have: by vendor, or by a CPUID bit. */
static bool is_cpu_msr(u32 index)
{
	return index == MSR_IA32_TSC_ADJUST || index == MSR_IA32_MISC_ENABLE ||
	       is_amd_perf_ctl(index) || is_amd_perf_ctr(index);
}

/*
 * One of them: false (#GP) where the guest's CPU does not have it, as such
 * a CPU gives.
 *
 * AMD's legacy counters are counters that never count: Veneer virtualizes
 * no PMU. Each PerfEvtSel keeps what was written (a kernel that sets EN
 * reads EN back); each PerfCtr reads 0 and drops writes, so a kernel that
 * checks its counters by writing one and reading it back learns there is
 * no working PMU (docs/guests.md). Intel CPUs have none of them.
 */
static bool cpu_msr_read(struct vcpu *vcpu, u32 index, u64 *value)
{
	struct guestcpu_facts f;

	guestcpu_facts(&f);
	if (index == MSR_IA32_TSC_ADJUST && f.tsc_adjust)
		*value = vcpu->vm->msr_tsc_adjust;
	else if (index == MSR_IA32_MISC_ENABLE && !f.amd)
		*value = misc_enable(vcpu->vm);
	else if (is_amd_perf_ctl(index) && f.amd)
		*value = vcpu->vm->msr_amd_perf_ctl[index - MSR_AMD_PERF_CTL0];
	else if (is_amd_perf_ctr(index) && f.amd)
		*value = 0;
	else
		return false;
	return true;
}

static bool cpu_msr_write(struct vcpu *vcpu, u32 index, u64 value)
{
	struct guestcpu_facts f;

	guestcpu_facts(&f);
	if (index == MSR_IA32_TSC_ADJUST && f.tsc_adjust) {
		write_tsc_adjust(vcpu, value);
		return true;
	}
	if (index == MSR_IA32_MISC_ENABLE && !f.amd)
		return write_misc_enable(vcpu, &f, value);
	if (is_amd_perf_ctl(index) && f.amd) {
		if (value & AMD_PERF_CTL_RESERVED)
			return false;
		vcpu->vm->msr_amd_perf_ctl[index - MSR_AMD_PERF_CTL0] = value;
		return true;
	}
	/* A counter that never counts holds nothing. */
	return is_amd_perf_ctr(index) && f.amd;
}

/* PAT: each of the 8 entries must be a valid type (0,1,4,5,6,7). */
static bool pat_valid(u64 v)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(v >> (i * 8));

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

static bool msr_read(struct vcpu *vcpu, u32 index, u64 *value)
{
	enum vcpu_field field;

	if (platform_handles_msr(index))
		return platform_msr_read(vcpu->vm->platform, vcpu, index,
					 value) == 0;

	if (state_field(index, &field)) {
		/* EFER.SVME, which AMD-V needs set, the backend hides. */
		*value = vcpu_read(vcpu, field);
		return true;
	}
	if (is_cpu_msr(index))
		return cpu_msr_read(vcpu, index, value);
	if (kvmpv_handles_msr(vcpu->vm, index))
		return kvmpv_msr_read(vcpu, index, value);
	switch (index) {
	case MSR_IA32_TSC:
		*value = vm_guest_tsc(vcpu->vm);
		return true;
	case MSR_IA32_MTRRCAP:	    /* no variable or fixed MTRRs */
	case MSR_IA32_PLATFORM_ID:  /* no platform ID */
	case MSR_IA32_BIOS_SIGN_ID: /* no microcode revision */
	case MSR_IA32_MCG_CAP:	    /* no machine-check banks */
	case MSR_IA32_MCG_STATUS:
	case MSR_AMD_INT_PENDING_MSG: /* no C1E: nothing to report */
		*value = 0;
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		*value = vcpu->vm->msr_mtrr_def_type;
		return true;
	case MSR_TSC_AUX: /* per vCPU; the backends pass it through */
		*value = vcpu_read(vcpu, VCPU_TSC_AUX);
		return true;
	default:
		return false;
	}
}

static bool msr_write(struct vcpu *vcpu, u32 index, u64 value)
{
	enum vcpu_field field;

	if (platform_handles_msr(index))
		return platform_msr_write(vcpu->vm->platform, vcpu, index,
					  value) == 0;

	if (state_field(index, &field)) {
		if (field == VCPU_EFER) {
			u64 old = vcpu_read(vcpu, VCPU_EFER);

			if (!efer_valid(vcpu->vm, value))
				return false;
			/* LME may not change while paging is on (SDM Vol. 3A
			 * 10.8.5, APM Vol. 2 14.6.1); LMA is the CPU's,
			 * writes leave it as it is (APM Vol. 2 3.1.7). */
			if (((value ^ old) & EFER_LME) &&
			    (vcpu_read(vcpu, VCPU_CR0) & CR0_PG))
				return false;
			value = (value & ~EFER_LMA) | (old & EFER_LMA);
		}
		if (field == VCPU_PAT && !pat_valid(value))
			return false;
		vcpu_write(vcpu, field, value);
		return true;
	}
	if (is_cpu_msr(index))
		return cpu_msr_write(vcpu, index, value);
	if (kvmpv_handles_msr(vcpu->vm, index))
		return kvmpv_msr_write(vcpu, index, value);
	switch (index) {
	case MSR_IA32_TSC:
		write_tsc(vcpu, value);
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		if (value & ~MTRR_DEF_TYPE_MASK)
			return false;
		vcpu->vm->msr_mtrr_def_type = value;
		return true;
	case MSR_TSC_AUX:
		if (value >> 32)
			return false;
		vcpu_write(vcpu, VCPU_TSC_AUX, value);
		return true;
	case MSR_IA32_BIOS_SIGN_ID: /* microcode update probe: ignored */
	case MSR_IA32_MCG_STATUS:
		return true;
	default:
		return false;
	}
}

enum exit_action handle_msr_read(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 value;

	if (!msr_read(vcpu, ev->msr.index, &value)) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	vcpu_set_u32(vcpu, GPR_RAX, (u32)value);
	vcpu_set_u32(vcpu, GPR_RDX, (u32)(value >> 32));
	return EXIT_ACTION_SKIP;
}

enum exit_action handle_msr_write(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *g = vcpu->regs.gpr;
	u64 value = (g[GPR_RDX] << 32) | (u32)g[GPR_RAX];

	if (!msr_write(vcpu, ev->msr.index, value)) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	return EXIT_ACTION_SKIP;
}
