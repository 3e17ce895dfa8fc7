/* SPDX-License-Identifier: MIT */
/*
 * The vendor-neutral VM exit: what the VT-x or AMD-V backend decoded from
 * its VMCS / VMCB, in one form that core/vcpu.c dispatches on.
 *
 * Vendor code decodes, common code decides (docs/design.md).
 */
#ifndef VENEER_CORE_EXIT_H
#define VENEER_CORE_EXIT_H

#include "core/lib/types.h"

enum exit_kind {
	EXIT_NONE = 0,	    /* nothing happened (e.g. entry was skipped) */
	EXIT_CPUID,	    /* leaf/subleaf in guest RAX/RCX */
	EXIT_IO,	    /* port I/O, see .io */
	EXIT_MSR_READ,	    /* RDMSR, index in .msr.index (= guest ECX) */
	EXIT_MSR_WRITE,	    /* WRMSR, value in guest EDX:EAX */
	EXIT_HLT,	    /* HLT */
	EXIT_HYPERCALL,	    /* VMCALL or VMMCALL (both vendors accept both) */
	EXIT_CR_ACCESS,	    /* MOV to/from CRn the CPU intercepted, see .cr */
	EXIT_XSETBV,	    /* XSETBV */
	EXIT_EXTERNAL_INTR, /* a host interrupt arrived while the guest ran */
	EXIT_NMI,	    /* a host NMI arrived */
	EXIT_INTR_WINDOW,   /* the guest can take an interrupt now */
	EXIT_PREEMPT_TIMER, /* the deadline of the entry request passed */
	EXIT_TRIPLE_FAULT,  /* shutdown: the guest is dead */
	EXIT_GPA_FAULT,	    /* guest-physical access outside the nested page
			       tables (EPT violation / NPT fault), see .gpa_fault */
	EXIT_EXCEPTION,	    /* an intercepted guest exception, see .exc (#UD
			       included: core decides what is a hypercall) */
	EXIT_INIT,	    /* INIT signal */
	EXIT_SIPI,	    /* startup IPI, vector in .sipi_vector */
	EXIT_INVALID_INSN, /* a virtualization instruction the guest may not use
			    */
	EXIT_ENTRY_FAILED, /* VM entry failed: see .fail */
	EXIT_NMI_WINDOW,   /* the guest can take an NMI now */
	EXIT_TASK_SWITCH,  /* a hardware task switch (VT-x), see .task_switch */
	EXIT_CPU_INSN,	   /* INVD, MONITOR or MWAIT: see .cpu_insn */
	EXIT_PAUSE,	   /* PAUSE in a spin loop (asked by pause_exits) */
	EXIT_APIC_EOI,	   /* the CPU did an EOI whose vector exits: .eoi_vector
			      (vcpu_entry.vapic; RIP is already past it) */
	EXIT_UNKNOWN,	   /* an exit reason Veneer does not handle */
	EXIT_KIND_COUNT
};

/* What started a task switch (SDM Vol. 3A 7.3). */
enum task_switch_source {
	TASK_SWITCH_CALL,
	TASK_SWITCH_IRET,
	TASK_SWITCH_JMP,
	TASK_SWITCH_GATE, /* a task gate in the IDT (interrupt, exception) */
};

/*
 * The instruction behind EXIT_CPU_INSN: one that must not run on the real
 * CPU for a guest (core/cpuinsn.c decides). AMD-V reports MONITORX and
 * MWAITX with the same exit codes as MONITOR and MWAIT (APM Vol. 2
 * appendix C), so those two name both forms.
 */
enum cpu_insn {
	CPU_INSN_INVD,
	CPU_INSN_MONITOR,
	CPU_INSN_MWAIT,
};

/* What a backend puts in .io when it cannot tell (AMD-V without decode
 * assists, or without the address-size bits of APM Vol. 2 15.10.2). */
#define IO_ADDRESS_SIZE_UNKNOWN 0
#define IO_SEGMENT_UNKNOWN	0xff

struct exit_event {
	enum exit_kind kind;
	/*
	 * Length of the exiting instruction in bytes, or 0 when the backend
	 * could not tell (AMD-V without NRIP save); the dispatcher puts it in
	 * the next entry request (struct vcpu_entry.skip) when a handler
	 * completes the instruction, and finds a 0 from the instruction
	 * bytes first (core/prefix.h).
	 */
	u32 insn_len;
	u64 vendor_reason; /* raw VMX basic exit reason / SVM exit code */
	/*
	 * Name of that reason, for messages; NULL for the common exits that
	 * always have a handler (the backends name only the others). The
	 * backends set every field the kind uses, not the rest.
	 */
	const char *vendor_name;
	union {
		struct {
			u16 port;
			u8 size; /* 1, 2 or 4 */
			bool in;
			bool string; /* INS / OUTS */
			bool rep;
			/* String I/O: 2, 4, 8 or IO_ADDRESS_SIZE_UNKNOWN */
			u8 address_size;
			/* OUTS source segment, 0 ES .. 5 GS (3 = DS when no
			 * override), or IO_SEGMENT_UNKNOWN. Core decodes the
			 * prefixes for what is unknown (core/prefix.h). */
			u8 segment;
		} io;
		struct {
			u32 index;
		} msr;
		struct {
			u64 gpa;
			u64 gla;
			bool gla_valid;
			bool read, write, exec;
			bool present; /* the translation existed (permission
					 fault) */
		} gpa_fault;
		struct {
			u8 cr;
			bool write;
			u8 gpr; /* register number 0-15 (RAX=0) */
		} cr;
		struct {
			u8 vector;
			bool has_error_code;
			u32 error_code;
			u64 cr2; /* #PF: the faulting linear address */
		} exc;
		u8 sipi_vector;
		u8 eoi_vector; /* EXIT_APIC_EOI */
		u8 cpu_insn;   /* enum cpu_insn */
		/* SDM Vol. 3C 28.2.1, Table 28-2 (exit qualification). */
		struct {
			u16 selector; /* of the new task's TSS */
			u8 source;    /* enum task_switch_source */
			/* Through a task gate in the IDT: the event. */
			bool idt_vectoring;
			u8 vector;
			bool has_error_code;
			u32 error_code;
		} task_switch;
		struct {
			u32 vm_instruction_error; /* VMX: SDM Vol. 3C 31.4 */
			u64 field;	  /* offending VMCS field or 0 */
			const char *what; /* human-readable cause */
		} fail;
	};
};

/* Short human-readable name of an exit kind, e.g. "cpuid" (core/exit.c). */
const char *exit_kind_name(enum exit_kind kind);

#endif /* VENEER_CORE_EXIT_H */
