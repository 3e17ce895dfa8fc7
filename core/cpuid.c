/* SPDX-License-Identifier: MIT */
/*
 * CPUID as the guest sees it: the host's answer, filtered.
 *
 * Hidden: VMX and SVM (no nested virtualization), MONITOR/MWAIT (they
 * exit and are not emulated), the host's hypervisor
 * leaves; set: the hypervisor-present bit (CPUID.1:ECX[31], reserved for
 * this use by both vendors) and Veneer's own leaves at 0x40000000.
 */
#include "core/handlers.h"
#include "core/hypercall.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"

#define LEAF_FEATURES	  0x1
#define LEAF_PERFMON	  0xa
#define LEAF_HV_BASE	  0x40000000
#define LEAF_HV_INFO	  0x40000001
#define LEAF_HV_LAST	  0x400000ff
#define LEAF_EXT_FEATURES 0x80000001
#define LEAF_SVM	  0x8000000a

#define F1_ECX_MONITOR	  BIT(3)
#define F1_ECX_VMX	  BIT(5)
#define F1_ECX_SMX	  BIT(6)
#define F1_ECX_OSXSAVE	  BIT(27)
#define F1_ECX_HYPERVISOR BIT(31)
#define EXT_ECX_SVM	  BIT(2)

/* "VENEERVENEER" in EBX, ECX, EDX (docs/hypercall.md). */
#define VENEER_SIG_EBX 0x454e4556 /* "VENE" */
#define VENEER_SIG_ECX 0x45565245 /* "ERVE" */
#define VENEER_SIG_EDX 0x5245454e /* "NEER" */

/* The filtered answer for `leaf`/`subleaf` on this vCPU (pure policy). */
static struct cpuid_regs guest_cpuid(struct vcpu *vcpu, u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;

	if (leaf >= LEAF_HV_BASE && leaf <= LEAF_HV_LAST) {
		r = (struct cpuid_regs){0, 0, 0, 0};
		if (leaf == LEAF_HV_BASE)
			r = (struct cpuid_regs){LEAF_HV_INFO, VENEER_SIG_EBX,
						VENEER_SIG_ECX, VENEER_SIG_EDX};
		else if (leaf == LEAF_HV_INFO)
			r.eax = HC_ABI_VERSION;
		return r;
	}
	r = cpuid_count(leaf, subleaf);
	switch (leaf) {
	case LEAF_FEATURES:
		/* MONITOR/MWAIT exit on both vendors and are not emulated. */
		r.ecx &= ~(F1_ECX_MONITOR | F1_ECX_VMX | F1_ECX_SMX |
			   F1_ECX_OSXSAVE);
		r.ecx |= F1_ECX_HYPERVISOR;
		/* OSXSAVE mirrors the guest's CR4.OSXSAVE, not the host's. */
		if (vcpu_ops->read(vcpu, VCPU_CR4) & CR4_OSXSAVE)
			r.ecx |= F1_ECX_OSXSAVE;
		/* EBX[31:24]: initial APIC ID = vCPU index. */
		r.ebx = (r.ebx & 0x00ffffff) | (vcpu->index << 24);
		break;
	case LEAF_PERFMON:
		/* No performance counters are virtualized. */
		r = (struct cpuid_regs){0, 0, 0, 0};
		break;
	case LEAF_EXT_FEATURES:
		r.ecx &= ~EXT_ECX_SVM;
		break;
	case LEAF_SVM:
		r = (struct cpuid_regs){0, 0, 0, 0};
		break;
	default:
		break;
	}
	return r;
}

enum exit_action handle_cpuid(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *g = vcpu->regs.gpr;
	struct cpuid_regs r =
	    guest_cpuid(vcpu, (u32)g[GPR_RAX], (u32)g[GPR_RCX]);

	(void)ev;
	vcpu_set_u32(vcpu, GPR_RAX, r.eax);
	vcpu_set_u32(vcpu, GPR_RBX, r.ebx);
	vcpu_set_u32(vcpu, GPR_RCX, r.ecx);
	vcpu_set_u32(vcpu, GPR_RDX, r.edx);
	return EXIT_ACTION_SKIP;
}
