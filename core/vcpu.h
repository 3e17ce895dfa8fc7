/* SPDX-License-Identifier: MIT */
/*
 * The vendor-neutral virtual CPU and the one vendor interface.
 *
 * Exactly one `struct vcpu_ops` is bound at boot from CPUID (VT-x or AMD-V);
 * core/ calls the hardware only through it and has no vendor #ifdef.
 */
#ifndef VENEER_CORE_VCPU_H
#define VENEER_CORE_VCPU_H

#include "core/lib/types.h"
#include "core/exit.h"
#include "core/apicv.h"
#include "arch/x86/cpu.h"

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
	/*
	 * The rest of the segment state (task switches, SDM Vol. 3A 7.3).
	 * ATTR is in the VMX access-rights layout (SDM Vol. 3C 25.4.1,
	 * Table 25-2): type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14,
	 * G 15, unusable 16; the AMD-V backend converts.
	 */
	VCPU_ES_SELECTOR,
	VCPU_SS_SELECTOR,
	VCPU_DS_SELECTOR,
	VCPU_FS_SELECTOR,
	VCPU_GS_SELECTOR,
	VCPU_LDTR_SELECTOR,
	VCPU_TR_SELECTOR,
	VCPU_LDTR_BASE,
	VCPU_TR_BASE,
	VCPU_ES_LIMIT,
	VCPU_CS_LIMIT,
	VCPU_SS_LIMIT,
	VCPU_DS_LIMIT,
	VCPU_FS_LIMIT,
	VCPU_GS_LIMIT,
	VCPU_LDTR_LIMIT,
	VCPU_TR_LIMIT,
	VCPU_ES_ATTR,
	VCPU_CS_ATTR,
	VCPU_SS_ATTR,
	VCPU_DS_ATTR,
	VCPU_FS_ATTR,
	VCPU_GS_ATTR,
	VCPU_LDTR_ATTR,
	VCPU_TR_ATTR,
	VCPU_GDTR_LIMIT,
	VCPU_IDTR_LIMIT,
	VCPU_DR6,
	VCPU_DR7,
	/*
	 * 1 while the guest's NMIs are blocked: from the delivery of an NMI
	 * to the next IRET (SDM Vol. 3A 6.7.1, APM Vol. 2 8.2.2). Writable:
	 * a task switch or a reset sets or clears it.
	 */
	VCPU_NMI_BLOCKED,
	/*
	 * IA32_TSC_AUX (RDTSCP's ECX, RDPID), per vCPU: the backends pass
	 * the MSR through to the guest and switch it lazily (docs/svm.md,
	 * docs/vmx.md); core's RDMSR / WRMSR path goes through this field.
	 */
	VCPU_TSC_AUX,
	/*
	 * Read-only: the linear address of the next instruction, CS.base +
	 * RIP, cut to 32 bits outside 64-bit code, where the CS base is
	 * ignored (SDM Vol. 3A 3.4.4). One read for the instruction fetch.
	 */
	VCPU_RIP_LINEAR,
	/*
	 * The guest's CR8, 0-15, where MOV to / from CR8 does not exit but
	 * reaches a register of the backend's (vcpu_caps.cr8_in_guest:
	 * AMD-V's V_TPR, APM Vol. 2 15.21.1). Core copies it to and from its
	 * APIC's TPR[7:4] around every full entry.
	 */
	VCPU_CR8,
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
 * Everything the next entry needs, in one request (core/vcpu.c fills it
 * before every entry; the backend's run() carries it out).
 */
struct vcpu_entry {
	/*
	 * Complete the exiting instruction first, as the CPU would: RIP +=
	 * skip (wrapped to 32 bits outside 64-bit code), the STI / MOV-SS
	 * shadow ends, and with RFLAGS.TF set the single-step #DB follows
	 * (DR6.BS, SDM Vol. 3A 17.3.1.4, APM Vol. 2 13.1.3.2), delivered
	 * before any event below. 0: RIP stays. The one place guest RIP is
	 * advanced.
	 */
	u32 skip;
	/*
	 * Deliver `event` on this entry. Core passes an external interrupt
	 * only when the guest can take it (VCPU_INTERRUPTIBLE, or skip set
	 * and RFLAGS.IF); an exception or NMI at any time. When the last
	 * exit cut short the delivery of an earlier event, that one goes
	 * first and `event` is kept by the backend for a following entry:
	 * it is never dropped.
	 */
	bool inject;
	struct vcpu_event event;
	/*
	 * Flush the guest's TLB on this CPU before the entry: every
	 * translation cached for it (its linear ones and the combined
	 * guest / nested ones), as a guest's own INVLPG of every page and
	 * a CR3 reload with global pages would. One-shot, like skip.
	 */
	bool flush_tlb;
	/*
	 * Exit with EXIT_INTR_WINDOW as soon as the guest can take an
	 * external interrupt. A level, not a latch: it holds for this entry
	 * only, and core states it again before every entry.
	 */
	bool intr_window;
	/*
	 * Exit with EXIT_NMI_WINDOW as soon as the guest can take an NMI
	 * (not blocked by an earlier one, no STI / MOV-SS shadow). A level,
	 * like intr_window.
	 */
	bool nmi_window;
	/*
	 * Exit with EXIT_PAUSE when the guest spins on PAUSE (VT-x:
	 * pause-loop exiting where the CPU has it, else PAUSE exiting;
	 * AMD-V: the PAUSE intercept, behind the pause filter where the CPU
	 * has one). A level, like intr_window: core asks for it while
	 * the vCPU shares its host CPU (core/sched.h).
	 */
	bool pause_exits;
	/* Guest RDTSC reads host TSC + tsc_offset (wrapping) during the run. */
	u64 tsc_offset;
	/* Host TSC at which the run ends with EXIT_PREEMPT_TIMER; 0 = none. */
	u64 deadline;
	/*
	 * Non-NULL (only where vcpu_caps.apic_virt): the CPU delivers the
	 * local APIC's interrupts during this run. The backend loads *vapic
	 * before the first entry and writes TPR, ISR and IRR back into it
	 * when run() returns: meanwhile the guest's x2APIC TPR, EOI and SELF
	 * IPI accesses make no exit, an IRR vector above PPR is delivered
	 * as soon as RFLAGS.IF and the shadow allow, and only the EOI of a
	 * TMR vector exits (EXIT_APIC_EOI). Core injects none of the APIC's
	 * vectors meanwhile. A level, like intr_window: NULL turns it off.
	 */
	struct apic_virt_state *vapic;
};

/* What the backend found when it probed the boot CPU (probe hook). */
struct vcpu_caps {
	bool usable;	    /* present, enabled, with what Veneer needs */
	char features[160]; /* for the boot log, e.g. "ept, vpid, ..." */
	char why[160];	    /* why not usable, when !usable */
	/* The nested page-table format (EPT or NPT) guests are mapped with. */
	const struct pt_format *nested_format;
	/*
	 * CR4 bits a guest may set, as far as the CPU allows them in guest
	 * mode (VT-x: IA32_VMX_CR4_FIXED1 without VMXE, SDM Vol. 3C A.8;
	 * AMD-V: the bits its CPUID reports, without reserved ones, APM
	 * Vol. 2 15.5.1). Core refuses other bits with #GP.
	 */
	u64 cr4_allowed;
	/*
	 * The CPU can deliver a local APIC's interrupts in x2APIC mode
	 * (vcpu_entry.vapic). VT-x: "use TPR shadow", "virtualize x2APIC
	 * mode" and "virtual-interrupt delivery" (SDM Vol. 3C 30.1-30.5).
	 */
	bool apic_virt;
	/*
	 * The guest's MOV CR8 reaches VCPU_CR8 without an exit (AMD-V:
	 * V_TPR). Without it every CR8 access exits (VT-x) as EXIT_CR_ACCESS.
	 */
	bool cr8_in_guest;
};

/*
 * The vendor interface: eleven hooks. Every hook runs on the CPU that owns
 * the vCPU, except probe (once, boot CPU), cpu_enable (once on every host
 * CPU) and the vm_* hooks (the CPU that creates or ends the VM).
 */
struct vcpu_ops {
	const char *name; /* "VT-x" or "AMD-V" */
	/* Inspect the boot CPU once; fill *caps. Never faults. */
	void (*probe)(struct vcpu_caps *caps);
	/* Turn virtualization on for the calling host CPU. 0 or -errno. */
	int (*cpu_enable)(void);
	/*
	 * Per-VM vendor state: the TLB tag (ASID / VPID), I/O and MSR
	 * intercept bitmaps. 0 or -errno, with a line saying why.
	 */
	int (*vm_init)(struct vm *vm);
	/* Give back what vm_init took; the VM's vCPUs are destroyed. */
	void (*vm_destroy)(struct vm *vm);
	/* Allocate the VMCS / VMCB and set it up; vcpu->vm is set. */
	int (*vcpu_create)(struct vcpu *vcpu);
	/* Give back what vcpu_create took; the vCPU does not run. */
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Put the vCPU in its initial architectural state; nothing queued. */
	void (*vcpu_reset)(struct vcpu *vcpu, const struct vcpu_start_state *s);
	/*
	 * Carry out *e, enter the guest and return its next exit decoded in
	 * *ev. Exits that exist only because of how the vendor works are
	 * completed inside and the guest entered again (an interrupt window
	 * opened for an event the backend still holds; docs/design.md lists
	 * them); every other exit comes back, never a silent resume. When
	 * the deadline has passed before the entry, or the entry fails, run()
	 * returns EXIT_PREEMPT_TIMER or EXIT_ENTRY_FAILED without running
	 * the guest, with *e carried out as far as it goes (RIP skipped, the
	 * event kept). Before it returns an exit, run() offers it to the
	 * lean path (vcpu_lean_candidate, vcpu_exit_lean) and, when core
	 * completed it there, skips it and enters again.
	 */
	void (*run)(struct vcpu *vcpu, const struct vcpu_entry *e,
		    struct exit_event *ev);
	/* Guest state: see enum vcpu_field. Writes drop the page-walk cache. */
	u64 (*read)(struct vcpu *vcpu, enum vcpu_field field);
	void (*write)(struct vcpu *vcpu, enum vcpu_field field, u64 value);
	/* Print vendor state for a "stopped" message (VMCS / VMCB dump). */
	void (*dump)(struct vcpu *vcpu);
};

/* The ops and capabilities bound at boot (virt_bind); NULL / zero before. */
extern const struct vcpu_ops *vcpu_ops;
extern struct vcpu_caps vcpu_caps;

enum vcpu_state {
	VCPU_STATE_CREATED,
	VCPU_STATE_RUNNING,
	VCPU_STATE_ENDED, /* exited or stopped: see vm */
};

/*
 * Where a vCPU is in the multiprocessor start-up protocol (SDM Vol. 3A
 * 9.4.4, 11.6.1): runnable, or waiting for a STARTUP IPI after an INIT
 * (every AP at power-on), or started by one and about to run at its
 * vector. Changed under the VM lock (struct vm.lock): by the vCPU that
 * sends the INIT or SIPI, and by the vCPU's own CPU when it starts.
 */
enum vcpu_mp_state {
	VCPU_MP_RUNNABLE,
	VCPU_MP_WAIT_SIPI,
	VCPU_MP_SIPI_RECEIVED,
};

struct vcpu {
	/* Must stay first: the entry stubs address it at offset 0. */
	struct guest_gprs regs;
	struct vm *vm;
	u32 index;	 /* vCPU number inside the VM */
	u32 host_cpu;	 /* host CPU index that runs it */
	bool shares_cpu; /* other vCPUs run on host_cpu too (core/sched.h) */
	enum vcpu_state state;
	void *vendor; /* backend state: VMCB / VMCS pages etc. */
	/*
	 * The request for the next entry (struct vcpu_entry): handlers
	 * queue an exception here (vcpu_inject_*), the loop adds the rest.
	 */
	struct vcpu_entry entry;
	/* Para-virtual one-shot timer (HC_TIMER_ONESHOT): TSC and vector. */
	u64 timer_deadline;
	u8 timer_vector;
	bool intr_pending; /* timer fired, vector not yet delivered */
	u8 pending_vector;
	/* Kicked (KVM_HC_KICK_CPU, core/kvmpv.h): its next HLT, or the one
	 * it waits in, ends whatever RFLAGS.IF says. Under the VM lock. */
	bool pv_unhalted;
	/* Atomic: the nested tables lost a mapping (vm_unmap_device): its
	 * next entry flushes what it cached of them. */
	bool nested_flush;
	/*
	 * The run loop's cache (core/vcpu.c): while events_quiet, no device
	 * or timer state changed since the last full update, no interrupt
	 * is waiting, and nothing is due before next_deadline (guest TSC of
	 * the next timer, 0 = none) or console_due (host TSC).
	 */
	bool events_quiet;
	/*
	 * An exit the lean path (vcpu_exit_lean) decided but left to the
	 * run loop to finish (a handler that queued an event, or did not
	 * complete the instruction), with the handler's enum exit_action.
	 */
	bool lean_decided;
	u8 lean_action;
	/*
	 * The lean path may be taken at all, fixed for a run of the loop:
	 * the vCPU has its CPU to itself (no turn to hand on) and its
	 * exits are not hidden from the guest's clock.
	 */
	bool lean_allowed;
	/* The CPU delivers its APIC's interrupts (entry.vapic = &apic_virt,
	 * platform_virt_want): decided before every full entry. */
	bool apic_virt_on;
	struct apic_virt_state apic_virt;
	/* Interrupts the CPU delivered without an exit (APICv), for stats. */
	u64 apic_virt_delivered;
	/* VCPU_CR8 as last copied to or from the APIC (vcpu_caps.cr8_in_guest),
	 * 0xff: not yet this run. */
	u8 guest_cr8;
	u64 device_deadline; /* guest TSC of the next device timer, 0 = none */
	u64 next_deadline;
	u64 console_due;
	/*
	 * The last page vcpu_linear_to_gpa() translated (core/vm.c), like a
	 * TLB entry: core drops it at every exit and on every write of guest
	 * state (vcpu_write), so it never outlives the guest's page tables.
	 */
	bool walk_valid;
	u64 walk_linear;    /* linear address of the page */
	u64 walk_gpa;	    /* guest-physical address of the page */
	const u8 *walk_hva; /* the page in host memory, NULL if not all RAM */
	u64 exits[EXIT_KIND_COUNT];
	u64 exits_total;
	u64 pause_at; /* host TSC of the run loop's next PAUSE (vcpu.c) */
	/*
	 * Several vCPUs per guest (core/guest.c): the start-up protocol's
	 * state and the SIPI vector (its page number), an INIT that arrived
	 * while it ran (its loop ends with VCPU_LOOP_INIT), and whether its
	 * CPU is inside vcpu_run_loop() (a reset of the guest waits until no
	 * vCPU is).
	 */
	volatile enum vcpu_mp_state mp_state;
	u8 sipi_vector;
	volatile bool init_pending;
	volatile bool in_loop;
	/* Statistics (core/stats.c): host TSC. */
	u64 wakeups;	  /* times an event for it was raised (vm_wake_vcpu) */
	u64 starts;	  /* STARTUP IPIs that started it */
	u64 up_since;	  /* when it first ran; 0 before */
	u64 halted_tsc;	  /* time spent halted (HLT) */
	u64 ipis_dropped; /* IPIs it sent that reached no vCPU */
};

/* Why vcpu_run_loop() returned. */
enum vcpu_loop_end {
	VCPU_LOOP_ENDED, /* the VM exited or was stopped */
	VCPU_LOOP_RESET, /* a reset (the guest's or the operator's): reload,
			    run again */
	VCPU_LOOP_INIT,	 /* an INIT IPI: wait for a STARTUP IPI */
	VCPU_LOOP_RUN,	 /* not returned: the loop goes on */
};

/*
 * Run the vCPU on this host CPU until its VM ends or asks for a reset;
 * the caller (core/guest.c) carries out the reset and calls it again.
 */
enum vcpu_loop_end vcpu_run_loop(struct vcpu *vcpu);

/* Guest state, read through the bound backend. */
static inline u64 vcpu_read(struct vcpu *vcpu, enum vcpu_field field)
{
	return vcpu_ops->read(vcpu, field);
}

/* Write guest state; the page-walk cache may no longer hold. */
static inline void vcpu_write(struct vcpu *vcpu, enum vcpu_field field,
			      u64 value)
{
	vcpu->walk_valid = false;
	vcpu_ops->write(vcpu, field, value);
}

/*
 * Queue an exception for the next entry, instead of completing the
 * exiting instruction (the handler returns EXIT_ACTION_RESUME). The
 * error code is delivered where the vector has one (SDM Vol. 3A 6.15).
 */
static inline void vcpu_inject_exception(struct vcpu *vcpu, u8 vector,
					 u32 error_code)
{
	vcpu->entry.inject = true;
	vcpu->entry.event = (struct vcpu_event){
	    .type = VCPU_EVENT_EXCEPTION,
	    .vector = vector,
	    .has_error_code = exception_has_error_code(vector),
	    .error_code = error_code,
	};
}

static inline void vcpu_inject_gp(struct vcpu *vcpu)
{
	vcpu_inject_exception(vcpu, X86_VECTOR_GP, 0);
}

static inline void vcpu_inject_ud(struct vcpu *vcpu)
{
	vcpu_inject_exception(vcpu, X86_VECTOR_UD, 0);
}

/*
 * The lean path (core/vcpu.c): exits that change no device, timer or
 * interrupt state (CPUID, XSETBV, MSRs outside the platform's, the quiet
 * hypercalls, also through the other vendor's instruction's #UD)
 * completed from inside run(), without the run loop. Port and MMIO reads
 * (not INS) are tried there too: quiet when the read was (of a device that
 * says so, struct io_handler.read_quiet and struct mmio_region.read_quiet,
 * or of a port nobody owns) and no interrupt or NMI waits for the vCPU
 * after it.
 */
#define VCPU_LEAN_KINDS                                                        \
	((1u << EXIT_CPUID) | (1u << EXIT_MSR_READ) | (1u << EXIT_MSR_WRITE) | \
	 (1u << EXIT_XSETBV) | (1u << EXIT_HYPERCALL) |                        \
	 (1u << EXIT_EXCEPTION) | (1u << EXIT_IO) | (1u << EXIT_GPA_FAULT))
_Static_assert(EXIT_KIND_COUNT <= 32, "VCPU_LEAN_KINDS is a 32-bit mask");

/*
 * Whether the exit may take the lean path at all: the one test every exit
 * pays, inline in run(), before it calls vcpu_exit_lean().
 */
static inline bool vcpu_lean_candidate(const struct vcpu *vcpu,
				       const struct exit_event *ev)
{
	u32 bit = (u32)ev->kind < 32 ? 1u << ev->kind : 0;

	if (!(bit & VCPU_LEAN_KINDS) || !vcpu->events_quiet)
		return false;
	/* Of the accesses only reads (IN, not INS; an MMIO load). */
	if (bit & ((1u << EXIT_IO) | (1u << EXIT_GPA_FAULT)))
		return ev->kind == EXIT_IO ? ev->io.in && !ev->io.string
					   : !ev->gpa_fault.write;
	return true;
}

/*
 * Called by run() for an exit vcpu_lean_candidate() accepts, after it
 * decoded it and before it returns it, without the VM lock (core takes
 * it). Returns the length of the instruction core completed: run()
 * advances RIP by it exactly as for vcpu_entry.skip and enters again with the
 * same request (its deadline, windows, TSC offset; the skip and event were
 * taken before the first entry). 0: run() returns the exit as it is, and may
 * have been decided already (struct vcpu.lean_decided). Core completes an exit
 * only while its events are quiet (struct vcpu.events_quiet: nothing waits, no
 * window is asked for), nothing woke the vCPU or fell due since, the
 * vCPU has its CPU to itself, exits are not hidden from the guest's
 * clock, and no PV EOI is offered. The handler then decides as it would
 * in the run loop; the instruction it completed is skipped here when its
 * length is known: from the backend, or (AMD-V without NRIP save, and for
 * a #UD) from its bytes when they show it plainly (prefix_quick_len).
 * Anything else goes to the run loop.
 */
u32 vcpu_exit_lean(struct vcpu *vcpu, struct exit_event *ev);

#endif /* VENEER_CORE_VCPU_H */
