/* SPDX-License-Identifier: MIT */
/*
 * Which hardware virtualization this CPU has: VT-x by CPUID.1:ECX.VMX (SDM
 * Vol. 3C 23.6), AMD-V by CPUID 0x80000001:ECX.SVM (APM Vol. 2 15.4). The
 * backend of that vendor then probes what it needs itself, once.
 */
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* Backends are linked in when their directories have been built. */
extern const struct vcpu_ops svm_ops __attribute__((weak));
extern const struct vcpu_ops vmx_ops __attribute__((weak));

const struct vcpu_ops *vcpu_ops;
struct vcpu_caps vcpu_caps;

const struct vcpu_ops *virt_vendor(void)
{
	if (cpuid(CPUID_LEAF_FEATURES).ecx & CPUID_1_ECX_VMX)
		return &vmx_ops;
	if (cpuid(CPUID_LEAF_EXT_MAX).eax >= CPUID_LEAF_SVM &&
	    (cpuid(CPUID_LEAF_EXT_FEATURES).ecx & CPUID_EXT_FEATURES_ECX_SVM))
		return &svm_ops;
	return NULL;
}

void virt_detect(struct virt_info *vi)
{
	memset(vi, 0, sizeof(*vi));
	vi->ops = virt_vendor();
	if (vi->ops) {
		vi->ops->probe(&vi->caps);
		return;
	}
	snformat(vi->caps.why, sizeof(vi->caps.why),
		 "this CPU has neither VT-x (CPUID.1:ECX.VMX) nor AMD-V "
		 "(CPUID.80000001:ECX.SVM)");
}

void virt_report(const struct virt_info *vi)
{
	if (!vi->ops) {
		printk("veneer: virtualization: none: %s\n", vi->caps.why);
		return;
	}
	printk("veneer: virtualization: %s (%s)\n", vi->ops->name,
	       vi->caps.features);
	if (!vi->caps.usable)
		printk("veneer: virtualization: unusable: %s\n", vi->caps.why);
}

void virt_bind(const struct virt_info *vi)
{
	if (!vi->ops || !vi->caps.usable)
		panic("virt_bind without usable virtualization");
	vcpu_ops = vi->ops;
	vcpu_caps = vi->caps;
}
