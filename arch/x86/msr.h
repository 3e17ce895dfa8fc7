/* SPDX-License-Identifier: MIT */
/*
 * Model-specific register indices (SDM Vol. 4 chapter 2, APM Vol. 2
 * appendix A).
 */
#ifndef VENEER_ARCH_X86_MSR_H
#define VENEER_ARCH_X86_MSR_H

#define MSR_IA32_TSC		 0x10
#define MSR_IA32_APIC_BASE	 0x1b
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_TSC_ADJUST	 0x3b
#define MSR_IA32_SPEC_CTRL	 0x48
#define MSR_IA32_BIOS_SIGN_ID	 0x8b
#define MSR_IA32_MTRRCAP	 0xfe
#define MSR_IA32_SYSENTER_CS	 0x174
#define MSR_IA32_SYSENTER_ESP	 0x175
#define MSR_IA32_SYSENTER_EIP	 0x176
#define MSR_IA32_MISC_ENABLE	 0x1a0
#define MSR_IA32_PAT		 0x277
#define MSR_IA32_MTRR_DEF_TYPE	 0x2ff
#define MSR_IA32_TSC_DEADLINE	 0x6e0

/* IA32_FEATURE_CONTROL bits (SDM Vol. 3C 23.7). */
#define FEATURE_CONTROL_LOCKED		(1ull << 0)
#define FEATURE_CONTROL_VMX_IN_SMX	(1ull << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

/* VMX capability MSRs (SDM Vol. 3D appendix A). */
#define MSR_IA32_VMX_BASIC		 0x480
#define MSR_IA32_VMX_PINBASED_CTLS	 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS	 0x482
#define MSR_IA32_VMX_EXIT_CTLS		 0x483
#define MSR_IA32_VMX_ENTRY_CTLS		 0x484
#define MSR_IA32_VMX_MISC		 0x485
#define MSR_IA32_VMX_CR0_FIXED0		 0x486
#define MSR_IA32_VMX_CR0_FIXED1		 0x487
#define MSR_IA32_VMX_CR4_FIXED0		 0x488
#define MSR_IA32_VMX_CR4_FIXED1		 0x489
#define MSR_IA32_VMX_VMCS_ENUM		 0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2	 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP	 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS	 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS	 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS	 0x490

/* x2APIC MSR range (SDM Vol. 3A 11.12.1). */
#define MSR_X2APIC_FIRST    0x800
#define MSR_X2APIC_LAST	    0x8ff
#define MSR_X2APIC_TPR	    0x808 /* SDM Vol. 3A 11.12.1, Table 11-6 */
#define MSR_X2APIC_EOI	    0x80b
#define MSR_X2APIC_SELF_IPI 0x83f

#define MSR_EFER	   0xc0000080
#define MSR_STAR	   0xc0000081
#define MSR_LSTAR	   0xc0000082
#define MSR_CSTAR	   0xc0000083
#define MSR_SFMASK	   0xc0000084
#define MSR_FS_BASE	   0xc0000100
#define MSR_GS_BASE	   0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX	   0xc0000103

/* EFER bits (APM Vol. 2 3.1.7). */
#define EFER_SCE  (1ull << 0)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)
#define EFER_NXE  (1ull << 11)
#define EFER_SVME (1ull << 12)

/* AMD SVM MSRs (APM Vol. 2 15.30). */
#define MSR_VM_CR	0xc0010114
#define MSR_VM_HSAVE_PA 0xc0010117
#define VM_CR_SVMDIS	(1ull << 4)
#define VM_CR_LOCK	(1ull << 3)

#endif /* VENEER_ARCH_X86_MSR_H */
