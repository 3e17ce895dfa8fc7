/* SPDX-License-Identifier: MIT */
/*
 * Virtual local APIC of one vCPU: xAPIC (MMIO page at IA32_APIC_BASE) and
 * x2APIC (MSRs 0x800-0x8FF) register interfaces, interrupt acceptance and
 * priority (IRR / ISR / TMR, TPR / PPR), EOI, IPIs through the ICR and the
 * SELF IPI register, and the timer in one-shot, periodic and TSC-deadline
 * modes.
 *
 * Pure state machine: no hardware access, no globals. Guest time comes in
 * as `now_ns` (monotonic nanoseconds); IPIs and EOIs of level-triggered
 * vectors go out through the callbacks in struct vlapic_ops. Behaviour per
 * Intel SDM Vol. 3A chapter 11, "Advanced Programmable Interrupt Controller"
 * (chapter 10 in editions before 2023). docs/devices.md lists what is and
 * is not emulated.
 *
 * Calling contract for the core:
 *  - route guest accesses: xAPIC MMIO at vlapic_mmio_base() to
 *    vlapic_mmio_read/write, and RDMSR/WRMSR of every MSR for which
 *    vlapic_handles_msr() is true to vlapic_msr_read/write; a negative
 *    return means "inject #GP(0)" (MSR) or "the access reached no APIC"
 *    (MMIO), see vlapic_error_name() for the reason;
 *  - before each VM entry: vlapic_tick(now), then vlapic_pending_vector();
 *    when the vector is injected, vlapic_inject_done();
 *  - program a timer exit at vlapic_next_deadline_ns() (0 = none).
 */
#ifndef VENEER_CORE_VDEV_VLAPIC_H
#define VENEER_CORE_VDEV_VLAPIC_H

#include "core/lib/types.h"
#include "core/apicv.h"

/* IA32_APIC_BASE (SDM Vol. 3A 11.4.4, Figure 11-5). */
#define VLAPIC_MSR_APIC_BASE	 0x1b
#define VLAPIC_APIC_BASE_BSP	 BIT(8)
#define VLAPIC_APIC_BASE_EXTD	 BIT(10) /* x2APIC mode */
#define VLAPIC_APIC_BASE_EN	 BIT(11) /* APIC globally enabled */
#define VLAPIC_DEFAULT_MMIO_BASE 0xfee00000ull
#define VLAPIC_MMIO_SIZE	 0x1000
/* IA32_TSC_DEADLINE (SDM Vol. 3A 11.5.4.1). */
#define VLAPIC_MSR_TSC_DEADLINE 0x6e0
/* x2APIC registers: MSR 0x800 + (xAPIC offset >> 4) (SDM Vol. 3A 11.12.1.2). */
#define VLAPIC_MSR_X2APIC_FIRST 0x800
#define VLAPIC_MSR_X2APIC_LAST	0x8ff

/*
 * Version register (SDM Vol. 3A 11.4.8): version 0x14 (integrated APIC),
 * max LVT entry 5: timer, thermal, performance counter, LINT0, LINT1 and
 * error. There is no CMCI LVT, so MCG_CAP must not advertise CMCI. Bit 24
 * (EOI-broadcast suppression) is clear.
 */
#define VLAPIC_VERSION 0x00050014u

/*
 * The timer's input clock: 1 GHz, so one count lasts `divide` nanoseconds.
 * A guest learns it from CPUID leaf 0x15 (core crystal clock) if the core
 * reports it there; otherwise it calibrates against another timer.
 */
#define VLAPIC_TIMER_HZ 1000000000ull

/*
 * A periodic timer raises its interrupt at most once per 500 us of guest
 * time: expiries sooner than that after the last one that did collapse
 * into the next. The current-count register keeps the programmed rate.
 * Why, and why 500 us: docs/devices.md, "Timer".
 */
#define VLAPIC_MIN_PERIODIC_NS 500000ull

/* ICR / LVT delivery modes (SDM Vol. 3A 11.6.1, Figure 11-12). */
#define VLAPIC_DELIVERY_FIXED	0
#define VLAPIC_DELIVERY_LOWEST	1
#define VLAPIC_DELIVERY_SMI	2
#define VLAPIC_DELIVERY_NMI	4
#define VLAPIC_DELIVERY_INIT	5
#define VLAPIC_DELIVERY_STARTUP 6
#define VLAPIC_DELIVERY_EXTINT	7 /* LVT LINT0/LINT1 only */
/* ICR destination shorthands, bits 19:18. */
#define VLAPIC_SHORTHAND_NONE	      0
#define VLAPIC_SHORTHAND_SELF	      1
#define VLAPIC_SHORTHAND_ALL	      2 /* all including self */
#define VLAPIC_SHORTHAND_ALL_BUT_SELF 3

/* Error status register bits (SDM Vol. 3A 11.5.3, Figure 11-9). */
#define VLAPIC_ESR_SEND_ILLEGAL_VECTOR	  BIT(5)
#define VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR BIT(6)
#define VLAPIC_ESR_ILLEGAL_REGISTER	  BIT(7)

/* Why an access was refused. The core injects #GP(0) for MSR accesses. */
enum vlapic_error {
	VLAPIC_ERR_RESERVED_REGISTER = -1, /* no such register in this mode */
	VLAPIC_ERR_READ_ONLY = -2,	   /* x2APIC write to a read-only one */
	VLAPIC_ERR_WRITE_ONLY = -3,	   /* x2APIC read of a write-only one */
	VLAPIC_ERR_RESERVED_BITS = -4,	   /* x2APIC write sets reserved bits */
	VLAPIC_ERR_WRONG_MODE =
	    -5, /* MSR outside x2APIC / MMIO outside xAPIC */
	VLAPIC_ERR_ACCESS_SIZE = -6,	/* MMIO not a 32-bit register access */
	VLAPIC_ERR_BAD_TRANSITION = -7, /* IA32_APIC_BASE mode change */
	VLAPIC_ERR_NOT_APIC_MSR = -8,	/* MSR the vlapic does not own */
	VLAPIC_ERR_BAD_ARGUMENT = -9,	/* caller bug: bad config, vector ... */
};

/* A short description of a vlapic_error value ("unknown" for others). */
const char *vlapic_error_name(int err);

/* One interprocessor interrupt as written to the ICR (SDM 11.6.1). */
struct vlapic_ipi {
	u32 dest;	      /* 8-bit ID in xAPIC mode, 32-bit in x2APIC */
	bool dest_logical;    /* ICR bit 11 */
	bool x2apic;	      /* sender in x2APIC mode: dest is 32 bits */
	u8 shorthand;	      /* VLAPIC_SHORTHAND_* */
	u8 delivery_mode;     /* VLAPIC_DELIVERY_* (never EXTINT) */
	u8 vector;	      /* fixed / lowest: vector; STARTUP: page number */
	bool level_assert;    /* ICR bit 14 */
	bool level_triggered; /* ICR bit 15 */
};

struct vlapic_ops {
	/*
	 * An IPI the core must deliver: to every vCPU whose vlapic matches
	 * (vlapic_match_dest) or that the shorthand names, including the
	 * sender for VLAPIC_SHORTHAND_ALL. Fixed IPIs to self (shorthand
	 * SELF, SELF IPI register) never come here: they are accepted
	 * locally. An INIT with level_assert clear and level_triggered set
	 * is the legacy "INIT level de-assert" (SDM 11.6.1) and must be
	 * ignored. May call back into this vlapic (vlapic_accept_irq).
	 */
	void (*send_ipi)(void *opaque, const struct vlapic_ipi *ipi);
	/*
	 * EOI of a level-triggered vector: the core broadcasts it to the
	 * IOAPICs (vioapic_eoi). May call back into this vlapic.
	 */
	void (*eoi)(void *opaque, u8 vector);
};

struct vlapic_config {
	u32 vcpu_index;	   /* becomes the APIC ID: 0-254 */
	bool bsp;	   /* IA32_APIC_BASE bit 8 */
	u64 tsc_hz;	   /* guest TSC frequency, 1 Hz .. 16 GHz */
	u8 phys_addr_bits; /* guest MAXPHYADDR (CPUID 0x80000008), 32-52 */
};

#define VLAPIC_LVT_COUNT 6 /* timer, thermal, perf, LINT0, LINT1, error */
enum vlapic_lvt {
	VLAPIC_LVT_TIMER,
	VLAPIC_LVT_THERMAL,
	VLAPIC_LVT_PERF,
	VLAPIC_LVT_LINT0,
	VLAPIC_LVT_LINT1,
	VLAPIC_LVT_ERROR,
};

struct vlapic {
	u32 id; /* x2APIC ID; the xAPIC ID is its low 8 bits */
	u64 apic_base;
	u32 tpr, ldr, dfr, svr;
	u32 isr[8], tmr[8], irr[8]; /* 256-bit, bit n = vector n */
	u8 isr_words, irr_words;    /* bit w: isr[w] / irr[w] is not 0 */
	u32 esr;		    /* as the guest last latched it */
	u32 esr_pending;	    /* errors since the last ESR write */
	u32 icr_low, icr_high;
	u32 lvt[VLAPIC_LVT_COUNT];
	u32 timer_initial, timer_divide_config;
	/* Timer state: armed means an expiry at timer_deadline_ns is due. */
	bool timer_armed;
	u64 timer_deadline_ns;
	u64 timer_irq_not_before_ns; /* periodic: VLAPIC_MIN_PERIODIC_NS */
	u64 tsc_deadline; /* IA32_TSC_DEADLINE as written, 0 = disarmed */
	u64 tsc_hz, tsc_offset;
	u8 phys_addr_bits;
	u64 bad_icr_writes; /* IPIs not sent: reserved delivery mode */
	const struct vlapic_ops *ops;
	void *opaque;
};

/* vlapic_virt_ok (below): EN and EXTD set, SVR bit 8 (software enable). */
static inline bool vlapic_virt_ok(const struct vlapic *v)
{
	return (v->apic_base & (VLAPIC_APIC_BASE_EN | VLAPIC_APIC_BASE_EXTD)) ==
		   (VLAPIC_APIC_BASE_EN | VLAPIC_APIC_BASE_EXTD) &&
	       (v->svr & BIT(8));
}

/*
 * Power-on / RESET state (SDM Vol. 3A 11.4.7.1 and 11.12.5.1): xAPIC mode
 * at 0xFEE00000, software-disabled (SVR 0xFF), all LVTs masked.
 * Returns 0, or VLAPIC_ERR_BAD_ARGUMENT for an index above 254, a TSC
 * frequency of 0 or above 16 GHz, or an address width outside 32-52.
 */
int vlapic_init(struct vlapic *v, const struct vlapic_config *cfg,
		const struct vlapic_ops *ops, void *opaque);

/*
 * The effect of an INIT IPI on the APIC (SDM Vol. 3A 11.4.7.3): every
 * register back to its power-on value except the APIC ID and
 * IA32_APIC_BASE (so an x2APIC stays in x2APIC mode, 11.12.5.1).
 */
void vlapic_init_signal(struct vlapic *v);

/*
 * The guest TSC the TSC-deadline timer compares against is
 * tsc_offset + now_ns * tsc_hz / 1e9 (rounded down, wrapping). Default 0.
 * vlapic_move_tsc(): the guest moved its TSC (IA32_TSC, IA32_TSC_ADJUST)
 * at now_ns; an armed TSC-deadline timer is re-armed against the new TSC
 * and fires at once if the TSC is now at or past IA32_TSC_DEADLINE.
 */
void vlapic_set_tsc_offset(struct vlapic *v, u64 tsc_offset);
void vlapic_move_tsc(struct vlapic *v, u64 tsc_offset, u64 now_ns);

/*
 * IA32_APIC_BASE (SDM Vol. 3A 11.4.4). A write returns 0, or
 * VLAPIC_ERR_RESERVED_BITS (bits 7:0, 9, above MAXPHYADDR) or
 * VLAPIC_ERR_BAD_TRANSITION (SDM 11.12.5: x2APIC -> xAPIC, disabled ->
 * x2APIC, EXTD without EN) and changes nothing. Bit 8 (BSP) is read-only.
 * Entering the disabled state resets every register but the ID.
 */
u64 vlapic_get_apic_base(const struct vlapic *v);
int vlapic_set_apic_base(struct vlapic *v, u64 value);

bool vlapic_x2apic_mode(const struct vlapic *v);
/* Guest-physical base of the MMIO page, or 0 when xAPIC MMIO is off. */
u64 vlapic_mmio_base(const struct vlapic *v);

/*
 * xAPIC MMIO access at `offset` (0-0xFFF) into the page. Writes must be
 * 32-bit at a 16-byte boundary; reads may also be 1 or 2 bytes within the
 * first 4 bytes of a register. Returns 0, VLAPIC_ERR_ACCESS_SIZE, or
 * VLAPIC_ERR_WRONG_MODE when MMIO is off (x2APIC or disabled). Reserved
 * offsets read 0, ignore writes and set ESR bit 7, as hardware does.
 */
int vlapic_mmio_read(struct vlapic *v, u32 offset, u8 size, u32 *out,
		     u64 now_ns);
int vlapic_mmio_write(struct vlapic *v, u32 offset, u8 size, u32 value,
		      u64 now_ns);

/* True for the MSRs vlapic_msr_read/write serve: 0x1B, 0x6E0, 0x800-0x8FF.
 * Inline: every MSR exit asks it (through platform_handles_msr). */
static inline bool vlapic_handles_msr(u32 msr)
{
	return msr == VLAPIC_MSR_APIC_BASE || msr == VLAPIC_MSR_TSC_DEADLINE ||
	       (msr >= VLAPIC_MSR_X2APIC_FIRST &&
		msr <= VLAPIC_MSR_X2APIC_LAST);
}
/* RDMSR / WRMSR; 0 or a vlapic_error the core turns into #GP(0). */
int vlapic_msr_read(struct vlapic *v, u32 msr, u64 *out, u64 now_ns);
int vlapic_msr_write(struct vlapic *v, u32 msr, u64 value, u64 now_ns);

/* CR8 is TPR[7:4] (SDM Vol. 3A 11.8.6); writing bits 63:4 is #GP. */
u64 vlapic_cr8_read(const struct vlapic *v);
int vlapic_cr8_write(struct vlapic *v, u64 value);

/*
 * A fixed or lowest-priority interrupt arrives (IOAPIC, IPI, LINT pin).
 * Sets IRR and TMR (level) or clears TMR (edge), SDM 11.8.4. False when
 * not accepted: APIC globally disabled, or vector 0-15 (ESR bit 6).
 */
bool vlapic_accept_irq(struct vlapic *v, u8 vector, bool level_triggered);

/*
 * The vector to inject now: the highest IRR vector whose priority class
 * is above PPR's (SDM 11.8.3.1, 11.8.4), or -1 (also when the APIC is
 * disabled in IA32_APIC_BASE or in SVR). No side effects.
 */
int vlapic_pending_vector(const struct vlapic *v);
/* The vector was injected: IRR -> ISR, PPR raised. Error if not pending. */
int vlapic_inject_done(struct vlapic *v, u8 vector);

/*
 * For an EOI the guest may leave to the hypervisor (the KVM-compatible
 * PV EOI, core/kvmpv.h): `vector` is the highest in service, it is edge-
 * triggered (no IOAPIC waits for its EOI) and nothing waits in IRR, so
 * nothing can be held back by its ISR bit until the next exit.
 */
bool vlapic_eoi_can_wait(const struct vlapic *v, u8 vector);
/*
 * The EOI of `vector` done for the guest (SDM 11.8.5, as a write of the
 * EOI register): only while it is the highest in service. False and no
 * change otherwise.
 */
bool vlapic_eoi_vector(struct vlapic *v, u8 vector);

/*
 * The part of the APIC a CPU's virtual-interrupt delivery works on (Intel
 * APICv, SDM Vol. 3C 30.1-30.2): TPR, PPR, ISR and IRR, and TMR for the
 * vectors whose EOI the hypervisor must see. While the CPU delivers this
 * APIC's interrupts it changes TPR (the guest's writes), ISR and IRR
 * (interrupts delivered, EOIs, self IPIs) on its own.
 *
 * vlapic_virt_ok(): the CPU may deliver: x2APIC mode (only the x2APIC
 * MSRs are virtualized, so xAPIC MMIO keeps exiting) and software-enabled
 * (a disabled APIC delivers nothing, which the CPU would not know).
 * vlapic_virt_get(): the state before an entry. vlapic_virt_put(): the
 * state after the exit taken back; vectors 0-15 are dropped (a self IPI
 * with one: the CPU does not check, SDM 30.5) and a vector that appeared
 * in IRR is edge-triggered (only the SELF IPI register adds one). True
 * when ISR or IRR changed; *delivered counts the vectors that left IRR
 * (interrupts the CPU delivered; one raised and delivered within the run
 * is not seen).
 * vlapic_eoi_done(): the CPU did the EOI of `vector` (ISR already clear):
 * the IOAPICs hear of a level-triggered one (SDM 30.1.4, EOI-induced
 * exit).
 */
void vlapic_virt_get(const struct vlapic *v, struct apic_virt_state *s);
bool vlapic_virt_put(struct vlapic *v, const struct apic_virt_state *s,
		     u32 *delivered);
void vlapic_eoi_done(struct vlapic *v, u8 vector);

/* PPR (SDM 11.8.3.1); for lowest-priority arbitration by the core. */
u8 vlapic_ppr(const struct vlapic *v);

/*
 * Whether an interrupt message for `dest` in physical or logical mode
 * reaches this APIC (SDM 11.6.2.1, 11.6.2.2, 11.12.10.1). `dest` is
 * 8-bit (broadcast 0xFF) in xAPIC mode and 32-bit (broadcast 0xFFFFFFFF)
 * in x2APIC mode. A globally disabled APIC matches nothing.
 */
bool vlapic_match_dest(const struct vlapic *v, u32 dest, bool logical);

/*
 * Whether the 8259's INTR may be delivered to this vCPU: APIC globally
 * disabled, or LVT LINT0 unmasked in ExtINT mode (virtual wire, SDM
 * 11.5.1).
 */
bool vlapic_accepts_extint(const struct vlapic *v);

/*
 * What an edge on a local interrupt pin did (vlapic_lint_edge).
 */
enum vlapic_lint_action {
	VLAPIC_LINT_NONE,     /* masked, or a mode that is not emulated */
	VLAPIC_LINT_ACCEPTED, /* fixed: the LVT vector is now in IRR */
	VLAPIC_LINT_NMI,      /* the caller delivers an NMI to this CPU */
	VLAPIC_LINT_EXTINT,   /* the 8259's INTR: the caller's ExtINT path */
};

/*
 * An edge on LINT0 (pin 0) or LINT1 (pin 1), handled as its LVT entry
 * says (SDM Vol. 3A 11.5.1): masked -> NONE; fixed -> the vector is
 * accepted as vlapic_accept_irq() would (vectors 0-15 are refused with
 * ESR bit 6, which gives NONE); NMI -> NMI, the vector ignored and the
 * trigger always edge; ExtINT -> EXTINT; SMI, INIT and the reserved modes
 * -> NONE (not emulated). A globally disabled APIC passes the pins
 * straight to the CPU, as a processor without an APIC has them (11.4.3):
 * LINT0 is INTR (EXTINT), LINT1 is NMI. Other pins: NONE.
 */
enum vlapic_lint_action vlapic_lint_edge(struct vlapic *v, u8 pin);

/*
 * Timer: vlapic_tick() raises the LVT timer vector for each expiry up to
 * now_ns (unless masked; missed periods collapse into one, and so do
 * periodic expiries within VLAPIC_MIN_PERIODIC_NS of the last that raised
 * one) and reloads periodic timers. Register accesses tick first on their
 * own. vlapic_next_deadline_ns() is the guest time of the next expiry that
 * raises an interrupt, or 0 for none; ~0 is never (past 2^64 ns); after
 * vlapic_tick(now) it is 0, ~0 or later than now.
 *
 * vlapic_timer_held(): the timer is periodic and its vector already waits
 * in IRR, so its next expiry would change nothing the guest can see (IRR
 * holds one request per vector, SDM 11.8.4): nobody needs to be woken for
 * it until the vector is taken. vlapic_irr_holds(): vector waits in IRR.
 */
void vlapic_tick(struct vlapic *v, u64 now_ns);
u64 vlapic_next_deadline_ns(const struct vlapic *v);
bool vlapic_timer_held(const struct vlapic *v);
bool vlapic_irr_holds(const struct vlapic *v, u8 vector);

#endif /* VENEER_CORE_VDEV_VLAPIC_H */
