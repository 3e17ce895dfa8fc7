/* SPDX-License-Identifier: MIT */
/*
 * VMCS field encodings (SDM Vol. 3D appendix B), VM-execution, VM-exit and
 * VM-entry control bits (SDM Vol. 3C 25.6-25.8; 2023 numbering), basic exit
 * reasons (SDM Vol. 3D appendix C) and the VMX capability-MSR bits (appendix
 * A).
 *
 * Only numbers live here; no code.  The file is also included by
 * vmx_entry.S, so everything below __ASSEMBLY__ is plain #defines.
 */
#ifndef VENEER_ARCH_X86_VMX_VMCS_H
#define VENEER_ARCH_X86_VMX_VMCS_H

/* ---- 16-bit fields (B.1) ---- */
#define VMCS_VPID		 0x0000
#define VMCS_GUEST_INTR_STATUS	 0x0810 /* RVI 7:0, SVI 15:8 (25.4.2) */
#define VMCS_GUEST_ES_SELECTOR	 0x0800
#define VMCS_GUEST_CS_SELECTOR	 0x0802
#define VMCS_GUEST_SS_SELECTOR	 0x0804
#define VMCS_GUEST_DS_SELECTOR	 0x0806
#define VMCS_GUEST_FS_SELECTOR	 0x0808
#define VMCS_GUEST_GS_SELECTOR	 0x080a
#define VMCS_GUEST_LDTR_SELECTOR 0x080c
#define VMCS_GUEST_TR_SELECTOR	 0x080e
#define VMCS_HOST_ES_SELECTOR	 0x0c00
#define VMCS_HOST_CS_SELECTOR	 0x0c02
#define VMCS_HOST_SS_SELECTOR	 0x0c04
#define VMCS_HOST_DS_SELECTOR	 0x0c06
#define VMCS_HOST_FS_SELECTOR	 0x0c08
#define VMCS_HOST_GS_SELECTOR	 0x0c0a
#define VMCS_HOST_TR_SELECTOR	 0x0c0c

/* ---- 64-bit fields (B.2) ---- */
#define VMCS_IO_BITMAP_A	    0x2000
#define VMCS_IO_BITMAP_B	    0x2002
#define VMCS_MSR_BITMAP		    0x2004
#define VMCS_EXIT_MSR_STORE_ADDR    0x2006
#define VMCS_EXIT_MSR_LOAD_ADDR	    0x2008
#define VMCS_ENTRY_MSR_LOAD_ADDR    0x200a
#define VMCS_TSC_OFFSET		    0x2010
#define VMCS_VIRTUAL_APIC_PAGE	    0x2012 /* 25.6.8 */
#define VMCS_EPT_POINTER	    0x201a
#define VMCS_EOI_EXIT_BITMAP0	    0x201c /* 0x201e, 0x2020, 0x2022 */
#define VMCS_XSS_EXIT_BITMAP	    0x202c
#define VMCS_GUEST_PHYSICAL_ADDRESS 0x2400
#define VMCS_LINK_POINTER	    0x2800
#define VMCS_GUEST_IA32_DEBUGCTL    0x2802
#define VMCS_GUEST_IA32_PAT	    0x2804
#define VMCS_GUEST_IA32_EFER	    0x2806
#define VMCS_GUEST_PDPTE0	    0x280a
#define VMCS_HOST_IA32_PAT	    0x2c00
#define VMCS_HOST_IA32_EFER	    0x2c02

/* ---- 32-bit fields (B.3) ---- */
#define VMCS_PIN_CONTROLS	    0x4000
#define VMCS_PROC_CONTROLS	    0x4002
#define VMCS_EXCEPTION_BITMAP	    0x4004
#define VMCS_PF_ERROR_MASK	    0x4006
#define VMCS_PF_ERROR_MATCH	    0x4008
#define VMCS_CR3_TARGET_COUNT	    0x400a
#define VMCS_EXIT_CONTROLS	    0x400c
#define VMCS_EXIT_MSR_STORE_COUNT   0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT    0x4010
#define VMCS_ENTRY_CONTROLS	    0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT   0x4014
#define VMCS_ENTRY_INTR_INFO	    0x4016
#define VMCS_ENTRY_EXCEPTION_ERROR  0x4018
#define VMCS_ENTRY_INSN_LEN	    0x401a
#define VMCS_TPR_THRESHOLD	    0x401c
#define VMCS_PROC_CONTROLS2	    0x401e
#define VMCS_PLE_GAP		    0x4020 /* SDM Vol. 3C B.3.1, 25.6.13 */
#define VMCS_PLE_WINDOW		    0x4022
#define VMCS_VM_INSN_ERROR	    0x4400
#define VMCS_EXIT_REASON	    0x4402
#define VMCS_EXIT_INTR_INFO	    0x4404
#define VMCS_EXIT_INTR_ERROR	    0x4406
#define VMCS_IDT_VECTORING_INFO	    0x4408
#define VMCS_IDT_VECTORING_ERROR    0x440a
#define VMCS_EXIT_INSN_LEN	    0x440c
#define VMCS_EXIT_INSN_INFO	    0x440e
#define VMCS_GUEST_ES_LIMIT	    0x4800
#define VMCS_GUEST_CS_LIMIT	    0x4802
#define VMCS_GUEST_SS_LIMIT	    0x4804
#define VMCS_GUEST_DS_LIMIT	    0x4806
#define VMCS_GUEST_FS_LIMIT	    0x4808
#define VMCS_GUEST_GS_LIMIT	    0x480a
#define VMCS_GUEST_LDTR_LIMIT	    0x480c
#define VMCS_GUEST_TR_LIMIT	    0x480e
#define VMCS_GUEST_GDTR_LIMIT	    0x4810
#define VMCS_GUEST_IDTR_LIMIT	    0x4812
#define VMCS_GUEST_ES_AR	    0x4814
#define VMCS_GUEST_CS_AR	    0x4816
#define VMCS_GUEST_SS_AR	    0x4818
#define VMCS_GUEST_DS_AR	    0x481a
#define VMCS_GUEST_FS_AR	    0x481c
#define VMCS_GUEST_GS_AR	    0x481e
#define VMCS_GUEST_LDTR_AR	    0x4820
#define VMCS_GUEST_TR_AR	    0x4822
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824
#define VMCS_GUEST_ACTIVITY_STATE   0x4826
#define VMCS_GUEST_SYSENTER_CS	    0x482a
#define VMCS_PREEMPTION_TIMER	    0x482e
#define VMCS_HOST_SYSENTER_CS	    0x4c00

/* ---- natural-width fields (B.4) ---- */
#define VMCS_CR0_GUEST_HOST_MASK  0x6000
#define VMCS_CR4_GUEST_HOST_MASK  0x6002
#define VMCS_CR0_READ_SHADOW	  0x6004
#define VMCS_CR4_READ_SHADOW	  0x6006
#define VMCS_EXIT_QUALIFICATION	  0x6400
#define VMCS_GUEST_LINEAR_ADDRESS 0x640a
#define VMCS_GUEST_CR0		  0x6800
#define VMCS_GUEST_CR3		  0x6802
#define VMCS_GUEST_CR4		  0x6804
#define VMCS_GUEST_ES_BASE	  0x6806
#define VMCS_GUEST_CS_BASE	  0x6808
#define VMCS_GUEST_SS_BASE	  0x680a
#define VMCS_GUEST_DS_BASE	  0x680c
#define VMCS_GUEST_FS_BASE	  0x680e
#define VMCS_GUEST_GS_BASE	  0x6810
#define VMCS_GUEST_LDTR_BASE	  0x6812
#define VMCS_GUEST_TR_BASE	  0x6814
#define VMCS_GUEST_GDTR_BASE	  0x6816
#define VMCS_GUEST_IDTR_BASE	  0x6818
#define VMCS_GUEST_DR7		  0x681a
#define VMCS_GUEST_RSP		  0x681c
#define VMCS_GUEST_RIP		  0x681e
#define VMCS_GUEST_RFLAGS	  0x6820
#define VMCS_GUEST_PENDING_DEBUG  0x6822
#define VMCS_GUEST_SYSENTER_ESP	  0x6824
#define VMCS_GUEST_SYSENTER_EIP	  0x6826
#define VMCS_HOST_CR0		  0x6c00
#define VMCS_HOST_CR3		  0x6c02
#define VMCS_HOST_CR4		  0x6c04
#define VMCS_HOST_FS_BASE	  0x6c06
#define VMCS_HOST_GS_BASE	  0x6c08
#define VMCS_HOST_TR_BASE	  0x6c0a
#define VMCS_HOST_GDTR_BASE	  0x6c0c
#define VMCS_HOST_IDTR_BASE	  0x6c0e
#define VMCS_HOST_SYSENTER_ESP	  0x6c10
#define VMCS_HOST_SYSENTER_EIP	  0x6c12
#define VMCS_HOST_RSP		  0x6c14
#define VMCS_HOST_RIP		  0x6c16

/* ---- pin-based controls (SDM Vol. 3C 25.6.1) ---- */
#define PIN_EXTERNAL_INTR_EXITING (1u << 0)
#define PIN_NMI_EXITING		  (1u << 3)
#define PIN_VIRTUAL_NMIS	  (1u << 5)
#define PIN_PREEMPTION_TIMER	  (1u << 6)

/* ---- primary processor-based controls (25.6.2, Table 25-6) ---- */
#define PROC_INTR_WINDOW_EXITING (1u << 2)
#define PROC_USE_TSC_OFFSETTING	 (1u << 3)
#define PROC_HLT_EXITING	 (1u << 7)
#define PROC_INVLPG_EXITING	 (1u << 9)
#define PROC_MWAIT_EXITING	 (1u << 10)
#define PROC_CR3_LOAD_EXITING	 (1u << 15)
#define PROC_CR3_STORE_EXITING	 (1u << 16)
#define PROC_CR8_LOAD_EXITING	 (1u << 19)
#define PROC_CR8_STORE_EXITING	 (1u << 20)
#define PROC_USE_TPR_SHADOW	 (1u << 21)
#define PROC_NMI_WINDOW_EXITING	 (1u << 22)
#define PROC_UNCONDITIONAL_IO	 (1u << 24)
#define PROC_USE_IO_BITMAPS	 (1u << 25)
#define PROC_USE_MSR_BITMAPS	 (1u << 28)
#define PROC_MONITOR_EXITING	 (1u << 29)
#define PROC_PAUSE_EXITING	 (1u << 30)
#define PROC_SECONDARY_CONTROLS	 (1u << 31)

/* ---- secondary processor-based controls (Table 25-7) ---- */
#define PROC2_ENABLE_EPT	    (1u << 1)
#define PROC2_ENABLE_RDTSCP	    (1u << 3)
#define PROC2_VIRTUALIZE_X2APIC	    (1u << 4)
#define PROC2_ENABLE_VPID	    (1u << 5)
#define PROC2_UNRESTRICTED_GUEST    (1u << 7)
#define PROC2_VIRTUAL_INTR_DELIVERY (1u << 9)
#define PROC2_PAUSE_LOOP_EXITING    (1u << 10)
#define PROC2_ENABLE_INVPCID	    (1u << 12)
#define PROC2_ENABLE_XSAVES	    (1u << 20)

/* ---- VM-exit controls (25.7.1, Table 25-13) ---- */
#define EXIT_SAVE_DEBUG_CONTROLS     (1u << 2)
#define EXIT_HOST_ADDRESS_SPACE_SIZE (1u << 9)
#define EXIT_ACK_INTR_ON_EXIT	     (1u << 15)
#define EXIT_SAVE_IA32_PAT	     (1u << 18)
#define EXIT_LOAD_IA32_PAT	     (1u << 19)
#define EXIT_SAVE_IA32_EFER	     (1u << 20)
#define EXIT_LOAD_IA32_EFER	     (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER   (1u << 22)

/* ---- VM-entry controls (25.8.1, Table 25-15) ---- */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE_GUEST	  (1u << 9)
#define ENTRY_LOAD_IA32_PAT	  (1u << 14)
#define ENTRY_LOAD_IA32_EFER	  (1u << 15)

/* ---- VM-entry / exit interruption information (25.8.3, 25.9.2) ---- */
#define INTR_INFO_VECTOR_MASK	    0xffu
#define INTR_INFO_TYPE_SHIFT	    8
#define INTR_INFO_TYPE_MASK	    (7u << 8)
#define INTR_TYPE_EXTERNAL	    0u
#define INTR_TYPE_NMI		    2u
#define INTR_TYPE_HW_EXCEPTION	    3u
#define INTR_TYPE_SW_INTERRUPT	    4u
#define INTR_TYPE_PRIV_SW_EXCEPTION 5u
#define INTR_TYPE_SW_EXCEPTION	    6u
#define INTR_INFO_ERROR_CODE	    (1u << 11)
#define INTR_INFO_NMI_UNBLOCKING    (1u << 12)
#define INTR_INFO_VALID		    (1u << 31)

/* ---- guest interruptibility state (25.4.2, Table 25-3) ---- */
#define INTERRUPTIBILITY_STI	(1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_SMI	(1u << 2)
#define INTERRUPTIBILITY_NMI	(1u << 3)

/* Pending debug exceptions (25.4.2, Table 25-4): BS, a single step. */
#define PENDING_DEBUG_BS (1ull << 14)

/* IA32_DEBUGCTL.BTF: TF single-steps branches only (SDM Vol. 3B 18.4.1). */
#define DEBUGCTL_BTF (1ull << 1)

/*
 * Exit qualification of an EPT violation, bit 12 (28.2.1, Table 28-7),
 * and exit interruption information bit 12 (28.2.2): the exit came from
 * a fault in an IRET that had already unblocked (virtual) NMIs.
 */
#define EPT_QUAL_NMI_UNBLOCKING (1ull << 12)

/* Task-switch exit qualification (28.2.1, Table 28-2). */
#define TASK_SWITCH_QUAL_SELECTOR_MASK 0xffffull
#define TASK_SWITCH_QUAL_SOURCE_SHIFT  30
#define TASK_SWITCH_QUAL_SOURCE_MASK   3u
#define TASK_SWITCH_SOURCE_CALL	       0u
#define TASK_SWITCH_SOURCE_IRET	       1u
#define TASK_SWITCH_SOURCE_JMP	       2u
#define TASK_SWITCH_SOURCE_TASK_GATE   3u

/* Guest activity states (25.4.2). */
#define ACTIVITY_ACTIVE 0u

/* Segment access-rights format (25.4.1, Table 25-2). */
#define AR_TYPE_MASK 0xfu
#define AR_S	     (1u << 4)
#define AR_DPL_SHIFT 5
#define AR_P	     (1u << 7)
#define AR_L	     (1u << 13)
#define AR_DB	     (1u << 14)
#define AR_G	     (1u << 15)
#define AR_UNUSABLE  (1u << 16)

/* ---- exit reason field (25.9.1) ---- */
#define EXIT_REASON_BASIC_MASK	  0xffffu
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* Basic exit reasons (SDM Vol. 3D appendix C, Table C-1). */
#define VMX_EXIT_EXCEPTION_NMI	     0
#define VMX_EXIT_EXTERNAL_INTR	     1
#define VMX_EXIT_TRIPLE_FAULT	     2
#define VMX_EXIT_INIT		     3
#define VMX_EXIT_SIPI		     4
#define VMX_EXIT_IO_SMI		     5
#define VMX_EXIT_OTHER_SMI	     6
#define VMX_EXIT_INTR_WINDOW	     7
#define VMX_EXIT_NMI_WINDOW	     8
#define VMX_EXIT_TASK_SWITCH	     9
#define VMX_EXIT_CPUID		     10
#define VMX_EXIT_GETSEC		     11
#define VMX_EXIT_HLT		     12
#define VMX_EXIT_INVD		     13
#define VMX_EXIT_INVLPG		     14
#define VMX_EXIT_RDPMC		     15
#define VMX_EXIT_RDTSC		     16
#define VMX_EXIT_RSM		     17
#define VMX_EXIT_VMCALL		     18
#define VMX_EXIT_VMCLEAR	     19
#define VMX_EXIT_VMLAUNCH	     20
#define VMX_EXIT_VMPTRLD	     21
#define VMX_EXIT_VMPTRST	     22
#define VMX_EXIT_VMREAD		     23
#define VMX_EXIT_VMRESUME	     24
#define VMX_EXIT_VMWRITE	     25
#define VMX_EXIT_VMXOFF		     26
#define VMX_EXIT_VMXON		     27
#define VMX_EXIT_CR_ACCESS	     28
#define VMX_EXIT_DR_ACCESS	     29
#define VMX_EXIT_IO		     30
#define VMX_EXIT_RDMSR		     31
#define VMX_EXIT_WRMSR		     32
#define VMX_EXIT_INVALID_GUEST_STATE 33
#define VMX_EXIT_MSR_LOADING	     34
#define VMX_EXIT_MWAIT		     36
#define VMX_EXIT_MTF		     37
#define VMX_EXIT_MONITOR	     39
#define VMX_EXIT_PAUSE		     40
#define VMX_EXIT_MACHINE_CHECK	     41
#define VMX_EXIT_TPR_THRESHOLD	     43
#define VMX_EXIT_APIC_ACCESS	     44
#define VMX_EXIT_VIRTUALIZED_EOI     45
#define VMX_EXIT_GDTR_IDTR	     46
#define VMX_EXIT_LDTR_TR	     47
#define VMX_EXIT_EPT_VIOLATION	     48
#define VMX_EXIT_EPT_MISCONFIG	     49
#define VMX_EXIT_INVEPT		     50
#define VMX_EXIT_RDTSCP		     51
#define VMX_EXIT_PREEMPTION_TIMER    52
#define VMX_EXIT_INVVPID	     53
#define VMX_EXIT_WBINVD		     54
#define VMX_EXIT_XSETBV		     55
#define VMX_EXIT_APIC_WRITE	     56
#define VMX_EXIT_RDRAND		     57
#define VMX_EXIT_INVPCID	     58
#define VMX_EXIT_VMFUNC		     59
#define VMX_EXIT_ENCLS		     60
#define VMX_EXIT_RDSEED		     61
#define VMX_EXIT_PML_FULL	     62
#define VMX_EXIT_XSAVES		     63
#define VMX_EXIT_XRSTORS	     64
#define VMX_EXIT_REASON_COUNT	     65

/* ---- capability MSR bits (SDM Vol. 3D appendix A) ---- */
/* IA32_VMX_BASIC (A.1) */
#define VMX_BASIC_REVISION_MASK	  0x7fffffffull
#define VMX_BASIC_32BIT_ADDRESSES (1ull << 48)
#define VMX_BASIC_INS_OUTS_INFO	  (1ull << 54)
#define VMX_BASIC_TRUE_CONTROLS	  (1ull << 55)
/* IA32_VMX_MISC (A.6) */
#define VMX_MISC_PREEMPTION_RATE_MASK 0x1full
/* VM exits store EFER.LMA into the "IA-32e mode guest" entry control. */
#define VMX_MISC_EXIT_STORES_LMA (1ull << 5)
/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_WALK_LENGTH_4	(1ull << 6)
#define EPT_CAP_MEMTYPE_WB	(1ull << 14)
#define EPT_CAP_2M_PAGES	(1ull << 16)
#define EPT_CAP_1G_PAGES	(1ull << 17)
#define EPT_CAP_INVEPT		(1ull << 20)
#define EPT_CAP_ACCESSED_DIRTY	(1ull << 21)
#define EPT_CAP_INVEPT_SINGLE	(1ull << 25)
#define EPT_CAP_INVEPT_ALL	(1ull << 26)
#define VPID_CAP_INVVPID	(1ull << 32)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define VPID_CAP_INVVPID_ALL	(1ull << 42)

/* EPT pointer (25.6.11, Table 25-9). */
#define EPTP_MEMTYPE_WB	    6ull
#define EPTP_WALK_LENGTH_4  (3ull << 3)
#define EPTP_ACCESSED_DIRTY (1ull << 6)

/* INVEPT / INVVPID types (SDM Vol. 3C 31.3). */
#define INVEPT_SINGLE_CONTEXT  1ull
#define INVEPT_ALL_CONTEXT     2ull
#define INVVPID_SINGLE_CONTEXT 1ull
#define INVVPID_ALL_CONTEXT    2ull

#endif /* VENEER_ARCH_X86_VMX_VMCS_H */
