/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V virtual machine control block (VMCB): one 4 KiB page, a control
 * area at 0x000-0x3ff and the guest state save area at 0x400 (APM Vol. 2
 * appendix B, tables B-1 and B-2), and the architectural numbers that go in
 * it: intercept bits, exit codes (appendix C), event injection (15.20).
 *
 * Every field Veneer uses has its offset checked below, so a wrong padding
 * size fails the build instead of corrupting a guest.
 */
#ifndef VENEER_ARCH_X86_SVM_VMCB_H
#define VENEER_ARCH_X86_SVM_VMCB_H

#include "core/lib/types.h"

/* A segment register in the state save area (APM Vol. 2 15.5.1, B-2). */
struct vmcb_segment {
	u16 selector;
	u16 attrib; /* compressed: descriptor bits 40-47 -> 0-7, 52-55 -> 8-11
		     */
	u32 limit;  /* expanded byte-granular limit */
	u64 base;
} __packed;

_Static_assert(sizeof(struct vmcb_segment) == 16, "VMCB segment is 16 bytes");

/* Compressed segment attribute bits (APM Vol. 2 15.5.1). */
#define VMCB_ATTR_TYPE(t) ((u16)(t)&0xf)
#define VMCB_ATTR_S	  BIT(4) /* code/data (not system) */
#define VMCB_ATTR_DPL(d)  ((u16)((d)&3) << 5)
#define VMCB_ATTR_P	  BIT(7)  /* present */
#define VMCB_ATTR_L	  BIT(9)  /* 64-bit code */
#define VMCB_ATTR_DB	  BIT(10) /* 32-bit default operand size */
#define VMCB_ATTR_G	  BIT(11) /* 4 KiB limit granularity */

/* Descriptor types used for the start states (APM Vol. 2 4.7, 4.8). */
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define SEG_TYPE_CODE_RX_ACCESSED 0xb
#define SEG_TYPE_LDT		  0x2
#define SEG_TYPE_TSS32_BUSY	  0xb

struct vmcb_control {
	u16 intercept_cr_read;	  /* 0x000 */
	u16 intercept_cr_write;	  /* 0x002 */
	u16 intercept_dr_read;	  /* 0x004 */
	u16 intercept_dr_write;	  /* 0x006 */
	u32 intercept_exceptions; /* 0x008: bit n = vector n */
	u32 intercept_misc1;	  /* 0x00c: SVM_INTERCEPT1_* */
	u32 intercept_misc2;	  /* 0x010: SVM_INTERCEPT2_* */
	u32 intercept_misc3;	  /* 0x014 */
	u8 reserved_018[0x03c - 0x018];
	u16 pause_filter_threshold; /* 0x03c */
	u16 pause_filter_count;	    /* 0x03e */
	u64 iopm_base_pa;	    /* 0x040 */
	u64 msrpm_base_pa;	    /* 0x048 */
	u64 tsc_offset;		    /* 0x050 */
	u32 guest_asid;		    /* 0x058 */
	u8 tlb_control;		    /* 0x05c: SVM_TLB_* */
	u8 reserved_05d[3];
	u64 v_intr;	     /* 0x060: V_TPR, V_IRQ, ... (SVM_VINTR_*) */
	u64 int_state;	     /* 0x068: SVM_INT_SHADOW */
	u64 exit_code;	     /* 0x070 */
	u64 exit_info1;	     /* 0x078 */
	u64 exit_info2;	     /* 0x080 */
	u64 exit_int_info;   /* 0x088: event being delivered at exit */
	u64 np_control;	     /* 0x090: SVM_NP_ENABLE */
	u64 avic_apic_bar;   /* 0x098 */
	u64 ghcb_pa;	     /* 0x0a0 */
	u64 event_inject;    /* 0x0a8: SVM_EVENT_* */
	u64 n_cr3;	     /* 0x0b0: nested page table root */
	u64 lbr_virt;	     /* 0x0b8 */
	u32 clean_bits;	     /* 0x0c0: SVM_CLEAN_* */
	u32 reserved_0c4;    /* 0x0c4 */
	u64 next_rip;	     /* 0x0c8: with NRIP save */
	u8 insn_bytes_count; /* 0x0d0: with decode assists */
	u8 insn_bytes[15];   /* 0x0d1 */
	u8 reserved_0e0[0x400 - 0x0e0];
} __packed;

struct vmcb_save {
	struct vmcb_segment es;	  /* 0x400 */
	struct vmcb_segment cs;	  /* 0x410 */
	struct vmcb_segment ss;	  /* 0x420 */
	struct vmcb_segment ds;	  /* 0x430 */
	struct vmcb_segment fs;	  /* 0x440 */
	struct vmcb_segment gs;	  /* 0x450 */
	struct vmcb_segment gdtr; /* 0x460: only base and limit */
	struct vmcb_segment ldtr; /* 0x470 */
	struct vmcb_segment idtr; /* 0x480: only base and limit */
	struct vmcb_segment tr;	  /* 0x490 */
	u8 reserved_4a0[0x4cb - 0x4a0];
	u8 cpl; /* 0x4cb */
	u32 reserved_4cc;
	u64 efer; /* 0x4d0 */
	u8 reserved_4d8[0x548 - 0x4d8];
	u64 cr4;    /* 0x548 */
	u64 cr3;    /* 0x550 */
	u64 cr0;    /* 0x558 */
	u64 dr7;    /* 0x560 */
	u64 dr6;    /* 0x568 */
	u64 rflags; /* 0x570 */
	u64 rip;    /* 0x578 */
	u8 reserved_580[0x5d8 - 0x580];
	u64 rsp; /* 0x5d8 */
	u64 s_cet;
	u64 ssp;
	u64 isst_addr;
	u64 rax;	    /* 0x5f8 */
	u64 star;	    /* 0x600 */
	u64 lstar;	    /* 0x608 */
	u64 cstar;	    /* 0x610 */
	u64 sfmask;	    /* 0x618 */
	u64 kernel_gs_base; /* 0x620 */
	u64 sysenter_cs;    /* 0x628 */
	u64 sysenter_esp;   /* 0x630 */
	u64 sysenter_eip;   /* 0x638 */
	u64 cr2;	    /* 0x640 */
	u8 reserved_648[0x668 - 0x648];
	u64 g_pat;  /* 0x668: guest PAT, used with nested paging */
	u64 dbgctl; /* 0x670 */
	u8 reserved_678[0x1000 - 0x678];
} __packed;

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __packed;

#define VMCB_OFFSET(field) __builtin_offsetof(struct vmcb, field)
#define VMCB_CHECK(field, offset)                                              \
	_Static_assert(VMCB_OFFSET(field) == (offset),                         \
		       "VMCB field " #field " must be at " #offset)

VMCB_CHECK(control.intercept_cr_read, 0x000);
VMCB_CHECK(control.intercept_cr_write, 0x002);
VMCB_CHECK(control.intercept_dr_read, 0x004);
VMCB_CHECK(control.intercept_dr_write, 0x006);
VMCB_CHECK(control.intercept_exceptions, 0x008);
VMCB_CHECK(control.intercept_misc1, 0x00c);
VMCB_CHECK(control.intercept_misc2, 0x010);
VMCB_CHECK(control.intercept_misc3, 0x014);
VMCB_CHECK(control.pause_filter_threshold, 0x03c);
VMCB_CHECK(control.iopm_base_pa, 0x040);
VMCB_CHECK(control.msrpm_base_pa, 0x048);
VMCB_CHECK(control.tsc_offset, 0x050);
VMCB_CHECK(control.guest_asid, 0x058);
VMCB_CHECK(control.tlb_control, 0x05c);
VMCB_CHECK(control.v_intr, 0x060);
VMCB_CHECK(control.int_state, 0x068);
VMCB_CHECK(control.exit_code, 0x070);
VMCB_CHECK(control.exit_info1, 0x078);
VMCB_CHECK(control.exit_info2, 0x080);
VMCB_CHECK(control.exit_int_info, 0x088);
VMCB_CHECK(control.np_control, 0x090);
VMCB_CHECK(control.event_inject, 0x0a8);
VMCB_CHECK(control.n_cr3, 0x0b0);
VMCB_CHECK(control.clean_bits, 0x0c0);
VMCB_CHECK(control.next_rip, 0x0c8);
VMCB_CHECK(control.insn_bytes_count, 0x0d0);
VMCB_CHECK(control.insn_bytes, 0x0d1);
VMCB_CHECK(save.es, 0x400);
VMCB_CHECK(save.cs, 0x410);
VMCB_CHECK(save.ss, 0x420);
VMCB_CHECK(save.ds, 0x430);
VMCB_CHECK(save.fs, 0x440);
VMCB_CHECK(save.gs, 0x450);
VMCB_CHECK(save.gdtr, 0x460);
VMCB_CHECK(save.ldtr, 0x470);
VMCB_CHECK(save.idtr, 0x480);
VMCB_CHECK(save.tr, 0x490);
VMCB_CHECK(save.cpl, 0x4cb);
VMCB_CHECK(save.efer, 0x4d0);
VMCB_CHECK(save.cr4, 0x548);
VMCB_CHECK(save.cr3, 0x550);
VMCB_CHECK(save.cr0, 0x558);
VMCB_CHECK(save.dr7, 0x560);
VMCB_CHECK(save.dr6, 0x568);
VMCB_CHECK(save.rflags, 0x570);
VMCB_CHECK(save.rip, 0x578);
VMCB_CHECK(save.rsp, 0x5d8);
VMCB_CHECK(save.rax, 0x5f8);
VMCB_CHECK(save.star, 0x600);
VMCB_CHECK(save.lstar, 0x608);
VMCB_CHECK(save.cstar, 0x610);
VMCB_CHECK(save.sfmask, 0x618);
VMCB_CHECK(save.kernel_gs_base, 0x620);
VMCB_CHECK(save.sysenter_cs, 0x628);
VMCB_CHECK(save.sysenter_esp, 0x630);
VMCB_CHECK(save.sysenter_eip, 0x638);
VMCB_CHECK(save.cr2, 0x640);
VMCB_CHECK(save.g_pat, 0x668);
_Static_assert(sizeof(struct vmcb) == 4096, "the VMCB is one 4 KiB page");

/* Intercept vector at 0x00c (APM Vol. 2 B-1). */
#define SVM_INTERCEPT1_INTR	   BIT(0)
#define SVM_INTERCEPT1_NMI	   BIT(1)
#define SVM_INTERCEPT1_INIT	   BIT(3)
#define SVM_INTERCEPT1_VINTR	   BIT(4)
#define SVM_INTERCEPT1_CPUID	   BIT(18)
#define SVM_INTERCEPT1_IRET	   BIT(20)
#define SVM_INTERCEPT1_INVD	   BIT(22)
#define SVM_INTERCEPT1_PAUSE	   BIT(23)
#define SVM_INTERCEPT1_HLT	   BIT(24)
#define SVM_INTERCEPT1_INVLPGA	   BIT(26)
#define SVM_INTERCEPT1_IOIO_PROT   BIT(27)
#define SVM_INTERCEPT1_MSR_PROT	   BIT(28)
#define SVM_INTERCEPT1_TASK_SWITCH BIT(29)
#define SVM_INTERCEPT1_SHUTDOWN	   BIT(31)

/* Intercept vector at 0x010 (APM Vol. 2 B-1). */
#define SVM_INTERCEPT2_VMRUN   BIT(0)
#define SVM_INTERCEPT2_VMMCALL BIT(1)
#define SVM_INTERCEPT2_VMLOAD  BIT(2)
#define SVM_INTERCEPT2_VMSAVE  BIT(3)
#define SVM_INTERCEPT2_STGI    BIT(4)
#define SVM_INTERCEPT2_CLGI    BIT(5)
#define SVM_INTERCEPT2_SKINIT  BIT(6)
#define SVM_INTERCEPT2_MONITOR BIT(10) /* also MONITORX */
#define SVM_INTERCEPT2_MWAIT   BIT(11) /* also MWAITX */
#define SVM_INTERCEPT2_XSETBV  BIT(13)

/* CR write intercepts at 0x002: bit n = MOV to CRn (APM Vol. 2 15.9). */
#define SVM_INTERCEPT_CR4_WRITE BIT(4)

/*
 * EXITINFO1 of a CR access intercept with decode assists (APM Vol. 2
 * 15.35.1): bit 63 set for MOV CRn (clear for LMSW / CLTS), bits 3:0 the
 * general-purpose register. Without decode assists it holds nothing.
 */
#define SVM_CR_INFO_MOV	     BIT(63)
#define SVM_CR_INFO_GPR_MASK 0xfull
/* struct exit_event.cr.gpr when the CPU did not say (no decode assists). */
#define SVM_CR_GPR_UNKNOWN 0xff

/* TLB_CONTROL values (APM Vol. 2 15.15.1). */
#define SVM_TLB_NOTHING	   0
#define SVM_TLB_FLUSH_ALL  1 /* every ASID, the host's too */
#define SVM_TLB_FLUSH_ASID 3 /* this guest's ASID only: needs FlushByAsid */

/* Virtual interrupt control at 0x060 (APM Vol. 2 15.21.1, B-1). */
#define SVM_VINTR_IRQ	       BIT(8)
#define SVM_VINTR_PRIO_SHIFT   16
#define SVM_VINTR_IGN_TPR      BIT(20)
#define SVM_VINTR_MASKING      BIT(24)
#define SVM_VINTR_TPR_MASK     0xfull /* V_TPR, CR8 with V_INTR_MASKING */
#define SVM_VINTR_VECTOR_SHIFT 32

/* Interrupt state at 0x068. */
#define SVM_INT_SHADOW BIT(0) /* guest is in an STI / MOV SS shadow */

#define SVM_NP_ENABLE BIT(0)

/* EVENTINJ and EXITINTINFO format (APM Vol. 2 15.20). */
#define SVM_EVENT_VECTOR_MASK	 0xffull
#define SVM_EVENT_TYPE_SHIFT	 8
#define SVM_EVENT_TYPE_MASK	 (7ull << SVM_EVENT_TYPE_SHIFT)
#define SVM_EVENT_TYPE_INTR	 (0ull << SVM_EVENT_TYPE_SHIFT)
#define SVM_EVENT_TYPE_NMI	 (2ull << SVM_EVENT_TYPE_SHIFT)
#define SVM_EVENT_TYPE_EXCEPTION (3ull << SVM_EVENT_TYPE_SHIFT)
#define SVM_EVENT_TYPE_SOFT_INT	 (4ull << SVM_EVENT_TYPE_SHIFT)
#define SVM_EVENT_ERROR_VALID	 BIT(11)
#define SVM_EVENT_VALID		 BIT(31)
#define SVM_EVENT_ERROR_SHIFT	 32

/* VMCB clean bits (APM Vol. 2 15.15.3): a set bit = unchanged since VMRUN. */
#define SVM_CLEAN_INTERCEPTS BIT(0) /* intercept vectors, TSC offset */
#define SVM_CLEAN_IOPM	     BIT(1) /* IOPM_BASE, MSRPM_BASE */
#define SVM_CLEAN_ASID	     BIT(2)
#define SVM_CLEAN_TPR	     BIT(3) /* V_TPR, V_IRQ, V_INTR_* */
#define SVM_CLEAN_NP	     BIT(4) /* NP_ENABLE, N_CR3, G_PAT */
#define SVM_CLEAN_CRX	     BIT(5) /* CR0, CR3, CR4, EFER */
#define SVM_CLEAN_DRX	     BIT(6) /* DR6, DR7 */
#define SVM_CLEAN_DT	     BIT(7) /* GDTR, IDTR */
#define SVM_CLEAN_SEG	     BIT(8) /* CS, DS, SS, ES, CPL */
#define SVM_CLEAN_CR2	     BIT(9)
#define SVM_CLEAN_ALL	     0x3ffu /* the bits Veneer knows */

/* IOIO intercept EXITINFO1 (APM Vol. 2 15.10.2, figure 15-2). */
#define SVM_IOIO_IN	    BIT(0)
#define SVM_IOIO_STRING	    BIT(2)
#define SVM_IOIO_REP	    BIT(3)
#define SVM_IOIO_SIZE8	    BIT(4)
#define SVM_IOIO_SIZE16	    BIT(5)
#define SVM_IOIO_SIZE32	    BIT(6)
#define SVM_IOIO_ADDR16	    BIT(7)
#define SVM_IOIO_ADDR32	    BIT(8)
#define SVM_IOIO_ADDR64	    BIT(9)
#define SVM_IOIO_SEG_SHIFT  10
#define SVM_IOIO_PORT_SHIFT 16

/* Nested page fault EXITINFO1 (APM Vol. 2 15.25.6). */
#define SVM_NPF_PRESENT BIT(0)
#define SVM_NPF_WRITE	BIT(1)
#define SVM_NPF_USER	BIT(2)
#define SVM_NPF_RSVD	BIT(3)
#define SVM_NPF_FETCH	BIT(4)

/* #VMEXIT codes (APM Vol. 2 appendix C). */
#define SVM_EXIT_CR0_READ	     0x000
#define SVM_EXIT_CR0_WRITE	     0x010 /* + n: MOV to CRn, 0x10-0x1f */
#define SVM_EXIT_DR0_READ	     0x020
#define SVM_EXIT_DR0_WRITE	     0x030
#define SVM_EXIT_EXCEPTION_BASE	     0x040 /* + vector, 0x40-0x5f */
#define SVM_EXIT_INTR		     0x060
#define SVM_EXIT_NMI		     0x061
#define SVM_EXIT_SMI		     0x062
#define SVM_EXIT_INIT		     0x063
#define SVM_EXIT_VINTR		     0x064
#define SVM_EXIT_CR0_SEL_WRITE	     0x065
#define SVM_EXIT_IDTR_READ	     0x066
#define SVM_EXIT_GDTR_READ	     0x067
#define SVM_EXIT_LDTR_READ	     0x068
#define SVM_EXIT_TR_READ	     0x069
#define SVM_EXIT_IDTR_WRITE	     0x06a
#define SVM_EXIT_GDTR_WRITE	     0x06b
#define SVM_EXIT_LDTR_WRITE	     0x06c
#define SVM_EXIT_TR_WRITE	     0x06d
#define SVM_EXIT_RDTSC		     0x06e
#define SVM_EXIT_RDPMC		     0x06f
#define SVM_EXIT_PUSHF		     0x070
#define SVM_EXIT_POPF		     0x071
#define SVM_EXIT_CPUID		     0x072
#define SVM_EXIT_RSM		     0x073
#define SVM_EXIT_IRET		     0x074
#define SVM_EXIT_SWINT		     0x075
#define SVM_EXIT_INVD		     0x076
#define SVM_EXIT_PAUSE		     0x077
#define SVM_EXIT_HLT		     0x078
#define SVM_EXIT_INVLPG		     0x079
#define SVM_EXIT_INVLPGA	     0x07a
#define SVM_EXIT_IOIO		     0x07b
#define SVM_EXIT_MSR		     0x07c
#define SVM_EXIT_TASK_SWITCH	     0x07d
#define SVM_EXIT_FERR_FREEZE	     0x07e
#define SVM_EXIT_SHUTDOWN	     0x07f
#define SVM_EXIT_VMRUN		     0x080
#define SVM_EXIT_VMMCALL	     0x081
#define SVM_EXIT_VMLOAD		     0x082
#define SVM_EXIT_VMSAVE		     0x083
#define SVM_EXIT_STGI		     0x084
#define SVM_EXIT_CLGI		     0x085
#define SVM_EXIT_SKINIT		     0x086
#define SVM_EXIT_RDTSCP		     0x087
#define SVM_EXIT_ICEBP		     0x088
#define SVM_EXIT_WBINVD		     0x089
#define SVM_EXIT_MONITOR	     0x08a
#define SVM_EXIT_MWAIT		     0x08b
#define SVM_EXIT_MWAIT_CONDITIONAL   0x08c
#define SVM_EXIT_XSETBV		     0x08d
#define SVM_EXIT_RDPRU		     0x08e
#define SVM_EXIT_EFER_WRITE_TRAP     0x08f
#define SVM_EXIT_CR0_WRITE_TRAP	     0x090
#define SVM_EXIT_INVLPGB	     0x0a0
#define SVM_EXIT_INVLPGB_ILLEGAL     0x0a1
#define SVM_EXIT_INVPCID	     0x0a2
#define SVM_EXIT_MCOMMIT	     0x0a3
#define SVM_EXIT_TLBSYNC	     0x0a4
#define SVM_EXIT_NPF		     0x400
#define SVM_EXIT_AVIC_INCOMPLETE_IPI 0x401
#define SVM_EXIT_AVIC_NOACCEL	     0x402
#define SVM_EXIT_VMGEXIT	     0x403
/* VMRUN failed its consistency checks; QEMU writes it as 32 bits. */
#define SVM_EXIT_INVALID_LOW32 0xffffffffu

#endif /* VENEER_ARCH_X86_SVM_VMCB_H */
