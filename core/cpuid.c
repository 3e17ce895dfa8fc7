/* SPDX-License-Identifier: MIT */
/*
 * CPUID as the guest sees it: the host's answer, filtered.
 *
 * Hidden: VMX and SVM (no nested virtualization), MONITOR/MWAIT (they
 * exit and are not emulated), the host's hypervisor
 * leaves; set: the hypervisor-present bit (CPUID.1:ECX[31], reserved for
 * this use by both vendors), x2APIC and the TSC-deadline timer (the
 * virtual local APIC has both, whatever the host CPU has), Veneer's own
 * leaves at 0x40000000 and, for guests that have it, the KVM-compatible
 * leaves at 0x40000100 (core/kvmpv.c).
 */
#include "core/guestcpu.h"
#include "core/handlers.h"
#include "core/hypercall.h"
#include "core/kvmpv.h"
#include "core/platform.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"

#define LEAF_PERFMON 0xa
/* x2APIC topology leaves: EDX is the x2APIC ID (SDM Vol. 2A CPUID 0BH,
 * 1FH); AMD's extended APIC ID leaf: EAX (APM Vol. 3 E.4.21). */
#define LEAF_TOPOLOGY	 0xb
#define LEAF_TOPOLOGY_V2 0x1f
#define LEAF_EXT_APIC_ID 0x8000001eu
/*
 * Invariant TSC: CPUID.80000007H:EDX[8] (SDM Vol. 2A CPUID, "Invariant
 * TSC"; APM Vol. 3 E.4.6, TscInvariant). A guest's TSC is the host's plus
 * one offset for all its vCPUs (core/vm.h), at a constant rate: every
 * vCPU's reads one synchronized clock. Offered whatever the host says, so
 * that a guest with several vCPUs trusts its TSC (Linux otherwise marks
 * it unstable on an AMD CPU with more than one processor).
 */
#define LEAF_POWER_MGMT		0x80000007u
#define POWER_EDX_INVARIANT_TSC BIT(8)
#define LEAF_HV_BASE		0x40000000
#define LEAF_HV_INFO		0x40000001
#define LEAF_HV_LAST		0x400000ff
/*
 * The range Linux scans for hypervisor signatures (every 0x100 leaves up
 * to 0x4000ff00): never the host's answer, which on a CPU without these
 * leaves is the highest basic leaf's data (SDM Vol. 2A CPUID).
 */
#define LEAF_HV_SCAN_LAST 0x4000ffff

/*
 * CPUID.1:EDX.APIC and its AMD alias CPUID.80000001H:EDX[9] ("same as
 * CPUID Fn0000_0001_EDX[APIC]", APM Vol. 3 E.4.2; reserved, 0, on Intel):
 * set only while the guest's local APIC is globally enabled, as the CPU
 * clears it while IA32_APIC_BASE.EN is 0 (SDM Vol. 3A 11.4.3).
 */
#define F1_EDX_APIC  BIT(9)
#define EXT_EDX_APIC BIT(9)

/* CPUID 0x80000001 ECX[29]: MONITORX/MWAITX (APM Vol. 3 E.4.2). */
#define EXT_ECX_MONITORX BIT(29)
#define F1_ECX_MONITOR	 BIT(3)
#define F1_ECX_SMX	 BIT(6)
#define F1_ECX_OSXSAVE	 BIT(27)
/*
 * Offered to every guest: the virtual local APIC implements x2APIC mode
 * (SDM Vol. 3A 11.12) and the TSC-deadline timer (11.5.4.1) whether or
 * not the host CPU has them (core/vdev/vlapic.c, docs/devices.md).
 */
#define F1_ECX_X2APIC	    BIT(21)
#define F1_ECX_TSC_DEADLINE BIT(24)

/* "VENEERVENEER" in EBX, ECX, EDX (docs/hypercall.md). */
#define VENEER_SIG_EBX 0x454e4556 /* "VENE" */
#define VENEER_SIG_ECX 0x45565245 /* "ERVE" */
#define VENEER_SIG_EDX 0x5245454e /* "NEER" */

/*
 * Bits the guest does not get, and why:
 * leaf 1 ECX: DTES64, DS-CPL, EST, TM2, PDCM (performance, thermal and
 *   power MSRs are not emulated); EDX: DS, ACPI thermal, TM, PBE.
 * leaf 7.0: AVX-512, MPX, PKU and AMX (their XSAVE state is not offered:
 *   the guest's XCR0 is limited to x87, SSE and AVX, see guest_xcr0_mask).
 */
#define F1_ECX_HIDDEN (BIT(2) | BIT(4) | BIT(7) | BIT(8) | BIT(15))
#define F1_EDX_HIDDEN (BIT(21) | BIT(22) | BIT(29) | BIT(31))
#define F7_EBX_HIDDEN                                                          \
	(BIT(14) | BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | \
	 BIT(30) | BIT(31))
#define F7_ECX_HIDDEN                                                          \
	(BIT(1) | BIT(3) | BIT(4) | BIT(6) | BIT(11) | BIT(12) | BIT(14))
#define F7_EDX_HIDDEN                                                          \
	(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25))
#define LEAF_THERMAL	 0x6
#define THERMAL_EAX_ARAT BIT(2) /* the APIC timer runs in deep C-states */
#define LEAF_STRUCTURED	 0x7
#define LEAF_XSAVE	 0xd
#define XSAVE_LEGACY_SIZE                                                      \
	576 /* legacy area + XSAVE header (SDM Vol. 1 13.4)                    \
	     */
#define XSAVE1_EAX_XSAVEC BIT(1)
#define XSAVE1_EAX_XSAVES BIT(3)

u64 guest_xcr0_mask(void)
{
	struct cpuid_regs r = cpuid_count(LEAF_XSAVE, 0);

	return (((u64)r.edx << 32) | r.eax) & (XCR0_X87 | XCR0_SSE | XCR0_AVX);
}

/* Bytes of a standard-format XSAVE area for the components in `xcr0`. */
static u32 xsave_size(u64 xcr0)
{
	u32 size = XSAVE_LEGACY_SIZE;

	for (u32 i = 2; i < 64; i++) {
		struct cpuid_regs c;

		if (!(xcr0 & BIT(i)))
			continue;
		c = cpuid_count(LEAF_XSAVE, i);
		size = MAX(size, c.ebx + c.eax);
	}
	return size;
}

/*
 * The XCR0 in force: the guest's, since XCR0 is not switched at VM entry
 * and the host uses no extended state (AMD-V may even let the guest write
 * it without an exit).
 */
static u64 current_xcr0(void)
{
	if (!(read_cr4() & CR4_OSXSAVE))
		return XCR0_X87;
	return xgetbv(0);
}

static struct cpuid_regs xsave_leaf(u32 subleaf)
{
	u64 mask = guest_xcr0_mask();
	struct cpuid_regs r = cpuid_count(LEAF_XSAVE, subleaf);

	if (subleaf == 0) {
		r.eax = (u32)mask;
		r.edx = (u32)(mask >> 32);
		r.ebx = xsave_size(current_xcr0());
		r.ecx = xsave_size(mask);
	} else if (subleaf == 1) {
		/* No compacted format: IA32_XSS is not emulated. */
		r.eax &= ~(XSAVE1_EAX_XSAVEC | XSAVE1_EAX_XSAVES);
		r.ebx = r.ecx = r.edx = 0;
	} else if (subleaf < 64 && !(mask & BIT(subleaf))) {
		r = (struct cpuid_regs){0, 0, 0, 0};
	}
	return r;
}

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
	if (leaf > LEAF_HV_LAST && leaf <= LEAF_HV_SCAN_LAST) {
		u32 kvm[4] = {0, 0, 0, 0};

		kvmpv_cpuid(vcpu->vm, leaf, kvm); /* zeros if not KVM's */
		return (struct cpuid_regs){kvm[0], kvm[1], kvm[2], kvm[3]};
	}
	if (leaf == LEAF_XSAVE)
		return xsave_leaf(subleaf);
	r = cpuid_count(leaf, subleaf);
	switch (leaf) {
	case 0:
		/* The highest basic leaf reads 2 (SDM Vol. 4 Table 2-2, 22). */
		if (misc_enable_value(vcpu->vm->msr_misc_enable_flipped) &
		    MISC_ENABLE_LIMIT_CPUID)
			r.eax = MIN(r.eax, 2u);
		break;
	case CPUID_LEAF_FEATURES:
		/* MONITOR/MWAIT exit on both vendors and are not emulated. */
		r.ecx &= ~(F1_ECX_MONITOR | CPUID_1_ECX_VMX | F1_ECX_SMX |
			   F1_ECX_OSXSAVE | F1_ECX_HIDDEN);
		r.edx &= ~F1_EDX_HIDDEN;
		if (!platform_apic_enabled(vcpu->vm->platform, vcpu))
			r.edx &= ~F1_EDX_APIC;
		r.ecx |= CPUID_1_ECX_HYPERVISOR | F1_ECX_X2APIC |
			 F1_ECX_TSC_DEADLINE;
		/* OSXSAVE mirrors the guest's CR4.OSXSAVE, not the host's. */
		if (vcpu_read(vcpu, VCPU_CR4) & CR4_OSXSAVE)
			r.ecx |= F1_ECX_OSXSAVE;
		/* EBX[31:24]: initial APIC ID = vCPU index. */
		r.ebx = (r.ebx & 0x00ffffff) | (vcpu->index << 24);
		break;
	case LEAF_THERMAL:
		r = (struct cpuid_regs){THERMAL_EAX_ARAT, 0, 0, 0};
		break;
	case LEAF_STRUCTURED:
		if (subleaf == 0) {
			r.ebx &= ~F7_EBX_HIDDEN;
			r.ecx &= ~F7_ECX_HIDDEN;
			r.edx &= ~F7_EDX_HIDDEN;
		}
		break;
	case LEAF_TOPOLOGY:
	case LEAF_TOPOLOGY_V2:
		/* The guest's APIC ID, as in leaf 1 and its local APIC. */
		r.edx = vcpu->index;
		break;
	case LEAF_EXT_APIC_ID:
		r.eax = vcpu->index;
		break;
	case LEAF_POWER_MGMT:
		/* Only where the leaf exists: above the highest extended
		 * leaf the CPU answers with another leaf's data. */
		if (cpuid_count(0x80000000u, 0).eax >= LEAF_POWER_MGMT)
			r.edx |= POWER_EDX_INVARIANT_TSC;
		break;
	case LEAF_PERFMON:
		/* No performance counters are virtualized. */
		r = (struct cpuid_regs){0, 0, 0, 0};
		break;
	case CPUID_LEAF_EXT_FEATURES:
		/* MONITORX/MWAITX are intercepted with MONITOR/MWAIT and
		 * give #UD (core/cpuinsn.c): hide them as MONITOR is. */
		r.ecx &= ~(CPUID_EXT_FEATURES_ECX_SVM | EXT_ECX_MONITORX);
		/* XD disabled: no NX (SDM Vol. 4 Table 2-2, bit 34). */
		if (misc_enable_value(vcpu->vm->msr_misc_enable_flipped) &
		    MISC_ENABLE_XD_DISABLE)
			r.edx &= ~BIT(20);
		if (!platform_apic_enabled(vcpu->vm->platform, vcpu))
			r.edx &= ~EXT_EDX_APIC;
		break;
	case CPUID_LEAF_SVM:
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
