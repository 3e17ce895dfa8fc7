/* SPDX-License-Identifier: MIT */
/*
 * RDMSR / WRMSR policy: an allow list. MSRs on it are emulated here,
 * handed to the local APIC model (IA32_APIC_BASE, TSC deadline, x2APIC) or
 * to the backend as guest state; every other index gets #GP(0), as
 * a CPU does for an MSR it does not implement (SDM Vol. 2B RDMSR).
 */
#include "core/handlers.h"
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
#define MTRR_DEF_TYPE_MASK	 0xcffull
#define MISC_ENABLE_FAST_STRINGS BIT(0)

/* MSRs that are guest state the backend keeps in the VMCS / VMCB. */
static const struct {
	u32 index;
	enum vcpu_field field;
} state_msrs[] = {
    {MSR_EFER, VCPU_EFER},
    {MSR_IA32_PAT, VCPU_PAT},
    {MSR_IA32_SYSENTER_CS, VCPU_SYSENTER_CS},
    {MSR_IA32_SYSENTER_ESP, VCPU_SYSENTER_ESP},
    {MSR_IA32_SYSENTER_EIP, VCPU_SYSENTER_EIP},
    {MSR_FS_BASE, VCPU_FS_BASE},
    {MSR_GS_BASE, VCPU_GS_BASE},
    {MSR_KERNEL_GS_BASE, VCPU_KERNEL_GS_BASE},
    {MSR_STAR, VCPU_STAR},
    {MSR_LSTAR, VCPU_LSTAR},
    {MSR_CSTAR, VCPU_CSTAR},
    {MSR_SFMASK, VCPU_SFMASK},
};

static bool state_field(u32 index, enum vcpu_field *field)
{
	for (u32 i = 0; i < ARRAY_SIZE(state_msrs); i++) {
		if (state_msrs[i].index == index) {
			*field = state_msrs[i].field;
			return true;
		}
	}
	return false;
}

/* EFER bits a guest may set: SCE, LME, LMA (read-only), NXE. */
static bool efer_valid(u64 v)
{
	return !(v & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE));
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
	switch (index) {
	case MSR_IA32_TSC:
		*value = vm_guest_tsc(vcpu->vm);
		return true;
	case MSR_IA32_MTRRCAP:	    /* no variable or fixed MTRRs */
	case MSR_IA32_PLATFORM_ID:  /* no platform ID */
	case MSR_IA32_BIOS_SIGN_ID: /* no microcode revision */
	case MSR_IA32_MCG_CAP:	    /* no machine-check banks */
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_TSC_ADJUST:
	case MSR_AMD_INT_PENDING_MSG: /* no C1E: nothing to report */
		*value = 0;
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		*value = vcpu->vm->msr_mtrr_def_type;
		return true;
	case MSR_IA32_MISC_ENABLE:
		*value = MISC_ENABLE_FAST_STRINGS;
		return true;
	case MSR_TSC_AUX:
		*value = vcpu->vm->msr_tsc_aux;
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

			if (!efer_valid(value))
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
	switch (index) {
	case MSR_IA32_TSC:
		vm_set_guest_tsc(vcpu->vm, value);
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		if (value & ~MTRR_DEF_TYPE_MASK)
			return false;
		vcpu->vm->msr_mtrr_def_type = value;
		return true;
	case MSR_TSC_AUX:
		if (value >> 32)
			return false;
		vcpu->vm->msr_tsc_aux = value;
		return true;
	case MSR_IA32_BIOS_SIGN_ID: /* microcode update probe: ignored */
	case MSR_IA32_MCG_STATUS:
	case MSR_IA32_TSC_ADJUST:
	case MSR_IA32_MISC_ENABLE:
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
