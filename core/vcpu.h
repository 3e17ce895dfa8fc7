/* SPDX-License-Identifier: MIT */
/*
 * The vendor-neutral virtual CPU and the one vendor interface.
 *
 * Exactly one `struct vcpu_ops` is bound at boot from CPUID (VT-x or AMD-V);
 * core/ calls the hardware only through it and has no vendor #ifdef.
 */
#ifndef VENEER_CORE_VCPU_H
#define VENEER_CORE_VCPU_H

#include "core/types.h"
#include "core/exit.h"

struct vm;
struct vcpu;
struct pt_format;

/*
 * Guest general-purpose registers, in x86 register-number order (RAX=0 ...
 * R15=15) so that a decoded ModRM / exit-qualification register number
 * indexes gpr[] directly. The backends' entry stubs save and restore this
 * frame: its layout is checked with _Static_assert in core/vcpu.c.
 * gpr[GPR_RSP] mirrors the VMCS/VMCB RSP after every exit and is written
 * back before every entry; for AMD-V the same holds for gpr[GPR_RAX].
 */
enum gpr {
	GPR_RAX,
	GPR_RCX,
	GPR_RDX,
	GPR_RBX,
	GPR_RSP,
	GPR_RBP,
	GPR_RSI,
	GPR_RDI,
	GPR_R8,
	GPR_R9,
	GPR_R10,
	GPR_R11,
	GPR_R12,
	GPR_R13,
	GPR_R14,
	GPR_R15,
	GPR_COUNT
};

struct guest_gprs {
	u64 gpr[GPR_COUNT];
};

/* Guest control state that core reads or writes through the vendor ops. */
enum vcpu_field {
	VCPU_RIP,
	VCPU_RFLAGS,
	VCPU_CR0,
	VCPU_CR2,
	VCPU_CR3,
	VCPU_CR4,
	VCPU_EFER,
	VCPU_CS_BASE,
	VCPU_CS_SELECTOR,
	VCPU_CS_LONG, /* 1 when CS.L=1 in long mode (64-bit code) */
	VCPU_CS_DB,   /* CS.D/B: 1 for 32-bit default operand size */
	VCPU_CPL,
	VCPU_DS_BASE,
	VCPU_ES_BASE,
	VCPU_SS_BASE,
	VCPU_GDTR_BASE,
	VCPU_IDTR_BASE,
	VCPU_PAT,
	VCPU_SYSENTER_CS,
	VCPU_SYSENTER_ESP,
	VCPU_SYSENTER_EIP,
	VCPU_FS_BASE,
	VCPU_GS_BASE,
	VCPU_KERNEL_GS_BASE,
	VCPU_STAR,
	VCPU_LSTAR,
	VCPU_CSTAR,
	VCPU_SFMASK,
	VCPU_INTERRUPTIBLE, /* read-only: RFLAGS.IF=1 and no STI/MOV-SS shadow
			     */
	VCPU_FIELD_COUNT
};

/* How a vCPU starts. */
enum vcpu_start_mode {
	VCPU_START_REAL,      /* real mode, CS:IP = cs_selector:rip */
	VCPU_START_PROTECTED, /* 32-bit flat protected mode, paging off */
};

struct vcpu_start_state {
	enum vcpu_start_mode mode;
	u64 rip;
	/* Real mode: base = selector * 16. Protected mode: the selectors of
	 * the flat code and data segments (the boot protocol's choice). */
	u16 cs_selector;
	u16 ds_selector; /* protected mode: DS, ES, SS, FS, GS */
	u64 gdtr_base;	 /* protected mode: where the guest's GDT is */
	u16 gdtr_limit;
	struct guest_gprs regs;
};

/* An event to inject at the next entry (SDM Vol. 3C 26.6, APM 15.20). */
enum vcpu_event_type {
	VCPU_EVENT_EXTERNAL_INTR,
	VCPU_EVENT_NMI,
	VCPU_EVENT_EXCEPTION,
};

struct vcpu_event {
	enum vcpu_event_type type;
	u8 vector;
	bool has_error_code;
	u32 error_code;
};

/*
 * The vendor interface. Every hook runs on the CPU that owns the vCPU,
 * except cpu_enable (once on every host CPU) and vm_init.
 */
struct vcpu_ops {
	const char *name; /* "VT-x" or "AMD-V" */
	/* The nested page-table format guests are mapped with. */
	const struct pt_format *(*npt_format)(void);
	/* Turn virtualization on for the calling host CPU. 0 or -errno. */
	int (*cpu_enable)(void);
	/* Prepare per-VM vendor state (ASID / VPID, bitmaps). */
	int (*vm_init)(struct vm *vm);
	/* Allocate the VMCS / VMCB and set it up; vcpu->vm is set. */
	int (*vcpu_create)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Put the vCPU in its initial architectural state. */
	void (*vcpu_reset)(struct vcpu *vcpu, const struct vcpu_start_state *s);
	/*
	 * Enter the guest and run until the next exit; fill *ev. Pending
	 * injections are delivered on this entry.
	 */
	void (*run)(struct vcpu *vcpu, struct exit_event *ev);
	u64 (*read)(struct vcpu *vcpu, enum vcpu_field field);
	void (*write)(struct vcpu *vcpu, enum vcpu_field field, u64 value);
	/* Complete the exiting instruction: RIP += len, clear STI shadow. */
	void (*skip_instruction)(struct vcpu *vcpu, u32 len);
	/* Queue one event for the next entry. */
	void (*inject)(struct vcpu *vcpu, const struct vcpu_event *e);
	/* Ask for an EXIT_INTR_WINDOW exit as soon as the guest can take one.
	 */
	void (*request_intr_window)(struct vcpu *vcpu, bool on);
	/* Exit with EXIT_PREEMPT_TIMER at host TSC `tsc` (0 = no deadline). */
	void (*set_deadline)(struct vcpu *vcpu, u64 tsc);
	/* The guest's RDTSC reads host TSC + offset (wrapping) from now on. */
	void (*set_tsc_offset)(struct vcpu *vcpu, u64 offset);
	/* Flush this vCPU's guest TLB entries (all of them). */
	void (*flush_tlb)(struct vcpu *vcpu);
	/* Print vendor state for a "stopped" message (VMCS / VMCB dump). */
	void (*dump)(struct vcpu *vcpu);
};

/* The ops bound at boot; NULL before virt_bind(). */
extern const struct vcpu_ops *vcpu_ops;

enum vcpu_state {
	VCPU_STATE_CREATED,
	VCPU_STATE_RUNNING,
	VCPU_STATE_ENDED, /* exited or stopped: see vm */
};

struct vcpu {
	/* Must stay first: the entry stubs address it at offset 0. */
	struct guest_gprs regs;
	struct vm *vm;
	u32 index;    /* vCPU number inside the VM */
	u32 host_cpu; /* host CPU index that runs it */
	enum vcpu_state state;
	void *vendor; /* backend state: VMCB / VMCS pages etc. */
	/* Para-virtual one-shot timer (HC_TIMER_ONESHOT): TSC and vector. */
	u64 timer_deadline;
	u8 timer_vector;
	bool intr_pending; /* timer fired, vector not yet delivered */
	u8 pending_vector;
	/*
	 * The run loop's cache (core/vcpu.c): while events_quiet, no device
	 * or timer state changed since the last full update, no interrupt
	 * is waiting, and nothing is due before next_deadline (guest TSC of
	 * the next timer, 0 = none) or console_due (host TSC).
	 */
	bool events_quiet;
	u64 next_deadline;
	u64 console_due;
	/*
	 * The last page vcpu_linear_to_gpa() translated (core/vm.c), like a
	 * TLB entry: the backends drop it at every exit and on every write
	 * of guest state, so it never outlives the guest's page tables.
	 */
	bool walk_valid;
	u64 walk_linear;    /* linear address of the page */
	u64 walk_gpa;	    /* guest-physical address of the page */
	const u8 *walk_hva; /* the page in host memory, NULL if not all RAM */
	u64 exits[EXIT_KIND_COUNT];
	u64 exits_total;
};

/* Run the vCPU on this host CPU until its VM ends. */
void vcpu_run_loop(struct vcpu *vcpu);

#endif /* VENEER_CORE_VCPU_H */
