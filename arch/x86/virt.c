/* SPDX-License-Identifier: MIT */
/*
 * Which hardware virtualization this CPU has, and what it lacks.
 *
 * VT-x: CPUID.1:ECX.VMX[5] (SDM Vol. 3C 23.6), IA32_FEATURE_CONTROL (23.7),
 * capability MSRs (appendix A). AMD-V: CPUID 0x80000001:ECX.SVM[2],
 * CPUID 0x8000000A (APM Vol. 2 15.4, CPUID spec), VM_CR.SVMDIS (15.30.1).
 */
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "core/format.h"
#include "core/printk.h"
#include "core/string.h"
#include "core/vcpu.h"

#define CPUID1_ECX_VMX	       BIT(5)
#define CPUID_EXT1_ECX_SVM     BIT(2)
#define SVM_EDX_NPT	       BIT(0)
#define SVM_EDX_NRIPS	       BIT(3)
#define SVM_EDX_FLUSH_BY_ASID  BIT(6)
#define SVM_EDX_DECODE_ASSISTS BIT(7)
#define SVM_EDX_VGIF	       BIT(16)

/* Allowed-1 settings are the high 32 bits of a VMX control MSR (A.3). */
#define PROCBASED_ACTIVATE_SECONDARY BIT(31)
#define PINBASED_PREEMPTION_TIMER    BIT(6)
#define PROCBASED2_EPT		     BIT(1)
#define PROCBASED2_VPID		     BIT(5)
#define PROCBASED2_UNRESTRICTED	     BIT(7)
#define VMX_BASIC_TRUE_CTLS	     BIT(55)
#define EPT_CAP_1G		     BIT(17)
#define EPT_CAP_AD		     BIT(21)

static void feature_add(struct virt_info *vi, const char *name)
{
	size_t len = strlen(vi->features);

	snformat(vi->features + len, sizeof(vi->features) - len, "%s%s",
		 len ? ", " : "", name);
}

static void detect_vmx(struct virt_info *vi)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	u64 basic = rdmsr(MSR_IA32_VMX_BASIC);
	bool true_ctls = basic & VMX_BASIC_TRUE_CTLS;
	u64 pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS
				  : MSR_IA32_VMX_PINBASED_CTLS);
	u64 proc = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS
				   : MSR_IA32_VMX_PROCBASED_CTLS);
	u64 proc2 = 0, ept_cap = 0;

	vi->vendor = VIRT_VMX;
	if ((fc & FEATURE_CONTROL_LOCKED) &&
	    !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		snformat(vi->why, sizeof(vi->why),
			 "VT-x is disabled by the firmware "
			 "(IA32_FEATURE_CONTROL locked without VMX outside "
			 "SMX): enable it in the firmware setup");
		return;
	}
	if ((proc >> 32) & PROCBASED_ACTIVATE_SECONDARY) {
		proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
		if (proc2 & (PROCBASED2_EPT | PROCBASED2_VPID))
			ept_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}
	vi->ept = proc2 & PROCBASED2_EPT;
	vi->vpid = proc2 & PROCBASED2_VPID;
	vi->unrestricted = proc2 & PROCBASED2_UNRESTRICTED;
	vi->preemption_timer = (pin >> 32) & PINBASED_PREEMPTION_TIMER;
	vi->ept_1g = vi->ept && (ept_cap & EPT_CAP_1G);
	vi->ept_ad = vi->ept && (ept_cap & EPT_CAP_AD);
	if (vi->ept)
		feature_add(vi, "ept");
	if (vi->vpid)
		feature_add(vi, "vpid");
	if (vi->unrestricted)
		feature_add(vi, "unrestricted");
	if (vi->preemption_timer)
		feature_add(vi, "preemption-timer");
	if (vi->ept_1g)
		feature_add(vi, "ept-1g");
	if (vi->ept_ad)
		feature_add(vi, "ept-ad");
	feature_add(vi, fc & FEATURE_CONTROL_LOCKED
			    ? "feature-control locked"
			    : "feature-control unlocked");
	if (!vi->ept || !vi->unrestricted) {
		snformat(vi->why, sizeof(vi->why),
			 "this VT-x lacks %s, which Veneer needs",
			 !vi->ept ? "EPT" : "unrestricted guest");
		return;
	}
	vi->usable = true;
}

static void detect_svm(struct virt_info *vi)
{
	struct cpuid_regs svm = cpuid(0x8000000a);
	u64 vm_cr = rdmsr(MSR_VM_CR);

	vi->vendor = VIRT_SVM;
	if (vm_cr & VM_CR_SVMDIS) {
		snformat(vi->why, sizeof(vi->why),
			 "AMD-V is disabled by the firmware (VM_CR.SVMDIS%s): "
			 "enable SVM in the firmware setup",
			 vm_cr & VM_CR_LOCK ? ", locked" : "");
		return;
	}
	vi->npt = svm.edx & SVM_EDX_NPT;
	vi->nrip_save = svm.edx & SVM_EDX_NRIPS;
	vi->flush_by_asid = svm.edx & SVM_EDX_FLUSH_BY_ASID;
	vi->decode_assists = svm.edx & SVM_EDX_DECODE_ASSISTS;
	vi->vgif = svm.edx & SVM_EDX_VGIF;
	vi->asids = svm.ebx;
	if (vi->npt)
		feature_add(vi, "npt");
	snformat(vi->features + strlen(vi->features),
		 sizeof(vi->features) - strlen(vi->features), "%sasids %u",
		 vi->features[0] ? ", " : "", vi->asids);
	if (vi->nrip_save)
		feature_add(vi, "nrip-save");
	if (vi->flush_by_asid)
		feature_add(vi, "flush-by-asid");
	if (vi->decode_assists)
		feature_add(vi, "decode-assists");
	if (vi->vgif)
		feature_add(vi, "vgif");
	if (!vi->npt) {
		snformat(vi->why, sizeof(vi->why),
			 "this AMD-V lacks nested paging (NPT), which Veneer "
			 "needs");
		return;
	}
	if (vi->asids < 2) {
		snformat(vi->why, sizeof(vi->why),
			 "this AMD-V has no ASID for guests");
		return;
	}
	vi->usable = true;
}

void virt_detect(struct virt_info *vi)
{
	struct cpuid_regs max_ext = cpuid(0x80000000);

	memset(vi, 0, sizeof(*vi));
	if (cpuid(1).ecx & CPUID1_ECX_VMX) {
		detect_vmx(vi);
		return;
	}
	if (max_ext.eax >= 0x8000000a &&
	    (cpuid(0x80000001).ecx & CPUID_EXT1_ECX_SVM)) {
		detect_svm(vi);
		return;
	}
	snformat(vi->why, sizeof(vi->why),
		 "this CPU has neither VT-x (CPUID.1:ECX.VMX) nor AMD-V "
		 "(CPUID.80000001:ECX.SVM)");
}

void virt_report(const struct virt_info *vi)
{
	const char *name = vi->vendor == VIRT_VMX   ? "VT-x"
			   : vi->vendor == VIRT_SVM ? "AMD-V"
						    : "none";

	if (vi->vendor == VIRT_NONE) {
		printk("veneer: virtualization: none: %s\n", vi->why);
		return;
	}
	printk("veneer: virtualization: %s (%s)\n", name, vi->features);
	if (!vi->usable)
		printk("veneer: virtualization: unusable: %s\n", vi->why);
}

/* Backends are linked in when their directories have been built. */
extern const struct vcpu_ops svm_ops __attribute__((weak));
extern const struct vcpu_ops vmx_ops __attribute__((weak));

const struct vcpu_ops *vcpu_ops;

void virt_bind(const struct virt_info *vi)
{
	vcpu_ops = vi->vendor == VIRT_VMX ? &vmx_ops : &svm_ops;
	if (!vcpu_ops)
		panic("no %s backend in this build",
		      vi->vendor == VIRT_VMX ? "VT-x" : "AMD-V");
}
