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
	EXIT_UNKNOWN,	   /* an exit reason Veneer does not handle */
	EXIT_KIND_COUNT
};

struct exit_event {
	enum exit_kind kind;
	/*
	 * Length of the exiting instruction in bytes, or 0 when the backend
	 * could not tell (e.g. SVM without NRIP save for an exit that needs
	 * decoding); the dispatcher puts it in the next entry request
	 * (struct vcpu_entry.skip) when a handler completes the instruction.
	 */
	u32 insn_len;
	u64 vendor_reason;	 /* raw VMX basic exit reason / SVM exit code */
	const char *vendor_name; /* name of that reason, for messages */
	union {
		struct {
			u16 port;
			u8 size; /* 1, 2 or 4 */
			bool in;
			bool string; /* INS / OUTS */
			bool rep;
			u8 address_size; /* 2, 4, 8: for string I/O */
			u8 segment;	 /* OUTS source segment, 3 = DS */
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
		struct {
			u32 vm_instruction_error; /* VMX: SDM Vol. 3C 31.4 */
			u64 field;	  /* offending VMCS field or 0 */
			const char *what; /* human-readable cause */
		} fail;
	};
};

/* Short human-readable name of an exit kind, e.g. "cpuid". */
const char *exit_kind_name(enum exit_kind kind);

#endif /* VENEER_CORE_EXIT_H */
