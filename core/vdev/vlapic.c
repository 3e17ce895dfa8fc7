/* SPDX-License-Identifier: MIT */
#include "core/vdev/vlapic.h"

/*
 * Register numbers: the xAPIC MMIO offset divided by 16, which is also the
 * x2APIC MSR minus 0x800 (SDM Vol. 3A 11.4.1 Table 11-1, 11.12.1.2
 * Table 11-6).
 */
#define REG_ID		  0x02
#define REG_VERSION	  0x03
#define REG_TPR		  0x08
#define REG_APR		  0x09
#define REG_PPR		  0x0a
#define REG_EOI		  0x0b
#define REG_RRD		  0x0c
#define REG_LDR		  0x0d
#define REG_DFR		  0x0e
#define REG_SVR		  0x0f
#define REG_ISR0	  0x10 /* 0x10-0x17 */
#define REG_TMR0	  0x18 /* 0x18-0x1f */
#define REG_IRR0	  0x20 /* 0x20-0x27 */
#define REG_ESR		  0x28
#define REG_LVT_CMCI	  0x2f
#define REG_ICR_LOW	  0x30
#define REG_ICR_HIGH	  0x31
#define REG_LVT0	  0x32 /* timer; 0x32-0x37 in enum vlapic_lvt order */
#define REG_TIMER_INITIAL 0x38
#define REG_TIMER_CURRENT 0x39
#define REG_TIMER_DIVIDE  0x3e
#define REG_SELF_IPI	  0x3f
#define REG_COUNT	  0x40

/* LVT fields (SDM Vol. 3A 11.5.1, Figure 11-8). */
#define LVT_VECTOR	    0xffu
#define LVT_DELIVERY_MODE   0x700u
#define LVT_DELIVERY_STATUS BIT(12)
#define LVT_POLARITY_LOW    BIT(13)
#define LVT_REMOTE_IRR	    BIT(14)
#define LVT_TRIGGER_LEVEL   BIT(15)
#define LVT_MASKED	    BIT(16)
#define LVT_TIMER_MODE	    (3u << 17)
#define TIMER_ONE_SHOT	    0
#define TIMER_PERIODIC	    1
#define TIMER_TSC_DEADLINE  2

/* SVR (SDM Vol. 3A 11.9, Figure 11-23): vector, enable, focus checking. */
#define SVR_ENABLE   BIT(8)
#define SVR_WRITABLE 0x3ffu
/* ICR (SDM Vol. 3A 11.6.1 Figure 11-12; 11.12.9 for x2APIC). */
#define ICR_LOW_WRITABLE   0x000ccfffu /* 12 (status), 13, 16, 17, 20+ not */
#define ICR_DEST_LOGICAL   BIT(11)
#define ICR_LEVEL_ASSERT   BIT(14)
#define ICR_TRIGGER_LEVEL  BIT(15)
#define XAPIC_DEST_SHIFT   24
#define DFR_MODEL_FLAT	   0xfu
#define DFR_MODEL_CLUSTER  0x0u
#define DFR_READ_AS_ONES   0x0fffffffu
#define DIVIDE_WRITABLE	   0xbu /* bits 0, 1 and 3 (SDM 11.5.4, Fig 11-10) */
#define APIC_BASE_RESERVED 0x2ffull /* bits 7:0 and 9 */
#define X2APIC_BROADCAST   0xffffffffu
#define XAPIC_BROADCAST	   0xffu
#define NS_PER_S	   1000000000ull
#define MAX_TSC_HZ	   16000000000ull /* keeps r * 1e9 below 2^64 */

enum reg_access { REG_ABSENT, REG_READ_ONLY, REG_WRITE_ONLY, REG_READ_WRITE };

const char *vlapic_error_name(int err)
{
	switch (err) {
	case VLAPIC_ERR_RESERVED_REGISTER:
		return "no such APIC register in this mode";
	case VLAPIC_ERR_READ_ONLY:
		return "write to a read-only APIC register";
	case VLAPIC_ERR_WRITE_ONLY:
		return "read of a write-only APIC register";
	case VLAPIC_ERR_RESERVED_BITS:
		return "reserved bits set in an APIC register write";
	case VLAPIC_ERR_WRONG_MODE:
		return "APIC interface not enabled in the current APIC mode";
	case VLAPIC_ERR_ACCESS_SIZE:
		return "xAPIC MMIO access is not a 32-bit register access";
	case VLAPIC_ERR_BAD_TRANSITION:
		return "invalid IA32_APIC_BASE mode transition";
	case VLAPIC_ERR_NOT_APIC_MSR:
		return "MSR does not belong to the local APIC";
	case VLAPIC_ERR_BAD_ARGUMENT:
		return "bad argument to the vlapic";
	default:
		return "unknown vlapic error";
	}
}

/* ---- small helpers ---- */

/* now + delta, saturated: a deadline past 2^64 ns is never, not the past
 * (a guest can set its clock near 2^64 through IA32_TSC). */
static u64 ns_after(u64 now_ns, u64 delta_ns)
{
	return delta_ns > ~0ull - now_ns ? ~0ull : now_ns + delta_ns;
}

static bool hw_enabled(const struct vlapic *v)
{
	return v->apic_base & VLAPIC_APIC_BASE_EN;
}

bool vlapic_x2apic_mode(const struct vlapic *v)
{
	return hw_enabled(v) && (v->apic_base & VLAPIC_APIC_BASE_EXTD);
}

static bool sw_enabled(const struct vlapic *v)
{
	return v->svr & SVR_ENABLE;
}

static bool bit_test(const u32 *bits, u8 vector)
{
	return bits[vector / 32] & (1u << (vector % 32));
}

static void bit_set(u32 *bits, u8 vector)
{
	bits[vector / 32] |= 1u << (vector % 32);
}

static void bit_clear(u32 *bits, u8 vector)
{
	bits[vector / 32] &= ~(1u << (vector % 32));
}

/*
 * IRR and ISR with their summaries (struct vlapic.irr_words, isr_words:
 * bit w set when word w is not 0), changed only here.
 */
static void summary_set(u32 *bits, u8 *words, u8 vector)
{
	bit_set(bits, vector);
	*words |= (u8)(1u << (vector / 32));
}

static void summary_clear(u32 *bits, u8 *words, u8 vector)
{
	bit_clear(bits, vector);
	if (!bits[vector / 32])
		*words &= (u8) ~(1u << (vector / 32));
}

/* Highest set bit of a 256-bit register with its summary, or -1. */
static int highest_vector(const u32 *bits, u8 words)
{
	int w;

	if (!words)
		return -1;
	w = 31 - __builtin_clz(words);
	return w * 32 + 31 - __builtin_clz(bits[w]);
}

static u32 priority_class(int vector)
{
	return vector < 0 ? 0 : (u32)vector & 0xf0;
}

/* x2APIC logical ID: cluster ID and one bit per member (SDM 11.12.10.2). */
static u32 x2apic_ldr(u32 id)
{
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

/* ---- reset and configuration ---- */

/* Register values after power-on or INIT (SDM 11.4.7.1, 11.4.7.3). */
static void reset_registers(struct vlapic *v)
{
	v->tpr = 0;
	v->ldr = vlapic_x2apic_mode(v) ? x2apic_ldr(v->id) : 0;
	v->dfr = 0xffffffffu;
	v->svr = 0xff;
	for (int i = 0; i < 8; i++)
		v->isr[i] = v->tmr[i] = v->irr[i] = 0;
	v->isr_words = v->irr_words = 0;
	v->esr = v->esr_pending = 0;
	v->icr_low = v->icr_high = 0;
	for (int i = 0; i < VLAPIC_LVT_COUNT; i++)
		v->lvt[i] = LVT_MASKED;
	v->timer_initial = v->timer_divide_config = 0;
	v->timer_armed = false;
	v->timer_deadline_ns = 0;
	v->timer_irq_not_before_ns = 0;
	v->tsc_deadline = 0;
}

int vlapic_init(struct vlapic *v, const struct vlapic_config *cfg,
		const struct vlapic_ops *ops, void *opaque)
{
	if (cfg->vcpu_index >= XAPIC_BROADCAST)
		return VLAPIC_ERR_BAD_ARGUMENT; /* 0xFF is the xAPIC broadcast
						 */
	if (cfg->tsc_hz == 0 || cfg->tsc_hz > MAX_TSC_HZ)
		return VLAPIC_ERR_BAD_ARGUMENT;
	if (cfg->phys_addr_bits < 32 || cfg->phys_addr_bits > 52)
		return VLAPIC_ERR_BAD_ARGUMENT;
	v->id = cfg->vcpu_index;
	v->apic_base = VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_EN |
		       (cfg->bsp ? VLAPIC_APIC_BASE_BSP : 0);
	v->tsc_hz = cfg->tsc_hz;
	v->tsc_offset = 0;
	v->phys_addr_bits = cfg->phys_addr_bits;
	v->bad_icr_writes = 0;
	v->ops = ops;
	v->opaque = opaque;
	reset_registers(v);
	return 0;
}

void vlapic_init_signal(struct vlapic *v)
{
	reset_registers(v);
}

void vlapic_set_tsc_offset(struct vlapic *v, u64 tsc_offset)
{
	v->tsc_offset = tsc_offset;
}

u64 vlapic_get_apic_base(const struct vlapic *v)
{
	return v->apic_base;
}

u64 vlapic_mmio_base(const struct vlapic *v)
{
	if (!hw_enabled(v) || vlapic_x2apic_mode(v))
		return 0;
	return v->apic_base & ~(PAGE_SIZE - 1) & (BIT(v->phys_addr_bits) - 1);
}

enum apic_state { STATE_DISABLED, STATE_INVALID, STATE_XAPIC, STATE_X2APIC };

static enum apic_state base_state(u64 base)
{
	bool en = base & VLAPIC_APIC_BASE_EN,
	     extd = base & VLAPIC_APIC_BASE_EXTD;

	if (!en)
		return extd ? STATE_INVALID : STATE_DISABLED;
	return extd ? STATE_X2APIC : STATE_XAPIC;
}

/* Valid IA32_APIC_BASE transitions (SDM Vol. 3A 11.12.5, Figure 11-27). */
static bool transition_allowed(enum apic_state from, enum apic_state to)
{
	if (to == STATE_INVALID)
		return false;
	if (from == STATE_X2APIC && to == STATE_XAPIC)
		return false; /* only through the disabled state */
	if (from == STATE_DISABLED && to == STATE_X2APIC)
		return false; /* only through xAPIC mode */
	return true;
}

int vlapic_set_apic_base(struct vlapic *v, u64 value)
{
	u64 reserved = APIC_BASE_RESERVED | ~(BIT(v->phys_addr_bits) - 1);
	enum apic_state from = base_state(v->apic_base);
	enum apic_state to = base_state(value);

	if (value & reserved)
		return VLAPIC_ERR_RESERVED_BITS;
	if (!transition_allowed(from, to))
		return VLAPIC_ERR_BAD_TRANSITION;
	v->apic_base = (value & ~VLAPIC_APIC_BASE_BSP) |
		       (v->apic_base & VLAPIC_APIC_BASE_BSP);
	/*
	 * A globally disabled APIC loses its state and comes back in its
	 * power-up state (SDM 11.4.3); entering x2APIC mode derives the
	 * logical ID (11.12.10.2). Other registers keep their values, one
	 * of the choices 11.12.5.1 leaves open.
	 */
	if (to == STATE_DISABLED && from != STATE_DISABLED)
		reset_registers(v);
	if (to == STATE_X2APIC && from == STATE_XAPIC)
		v->ldr = x2apic_ldr(v->id);
	return 0;
}

/* ---- interrupt acceptance, priority, EOI ---- */

static void set_irr(struct vlapic *v, u8 vector, bool level_triggered)
{
	summary_set(v->irr, &v->irr_words, vector);
	if (level_triggered)
		bit_set(v->tmr, vector);
	else
		bit_clear(v->tmr, vector);
}

/*
 * Records an error (SDM 11.5.3) and raises the LVT error vector for a
 * newly detected one. The error interrupt itself is not sent through
 * vlapic_accept_irq() so an illegal error vector cannot recurse.
 */
static void raise_error(struct vlapic *v, u32 esr_bit)
{
	bool already = v->esr_pending & esr_bit;
	u32 lvt = v->lvt[VLAPIC_LVT_ERROR];

	v->esr_pending |= esr_bit;
	if (already || (lvt & LVT_MASKED))
		return;
	if ((lvt & LVT_VECTOR) < 16)
		v->esr_pending |= VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR;
	else
		set_irr(v, (u8)(lvt & LVT_VECTOR), false);
}

bool vlapic_accept_irq(struct vlapic *v, u8 vector, bool level_triggered)
{
	if (!hw_enabled(v))
		return false;
	/* Vectors 0-15 are illegal for the APIC (SDM 11.5.2). */
	if (vector < 16) {
		raise_error(v, VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
		return false;
	}
	set_irr(v, vector, level_triggered);
	return true;
}

/* PPR from TPR and the highest in-service vector (SDM 11.8.3.1). */
u8 vlapic_ppr(const struct vlapic *v)
{
	u32 isr_class = priority_class(highest_vector(v->isr, v->isr_words));

	if ((v->tpr & 0xf0) >= isr_class)
		return (u8)v->tpr;
	return (u8)isr_class;
}

/* Arbitration priority (SDM Vol. 3A 11.6.2.4, Figure 11-15). */
static u32 apr(const struct vlapic *v)
{
	u32 tpr_class = v->tpr & 0xf0;
	u32 isr_class = priority_class(highest_vector(v->isr, v->isr_words));
	u32 irr_class = priority_class(highest_vector(v->irr, v->irr_words));

	if (tpr_class >= irr_class && tpr_class > isr_class)
		return v->tpr;
	return MAX(tpr_class, MAX(isr_class, irr_class));
}

int vlapic_pending_vector(const struct vlapic *v)
{
	int vector;

	if (!hw_enabled(v) || !sw_enabled(v))
		return -1;
	vector = highest_vector(v->irr, v->irr_words);
	if (vector < 0 || priority_class(vector) <= (vlapic_ppr(v) & 0xf0u))
		return -1;
	return vector;
}

int vlapic_inject_done(struct vlapic *v, u8 vector)
{
	if (!bit_test(v->irr, vector))
		return VLAPIC_ERR_BAD_ARGUMENT;
	summary_clear(v->irr, &v->irr_words, vector);
	summary_set(v->isr, &v->isr_words, vector);
	return 0;
}

/*
 * EOI (SDM 11.8.5): retires the highest in-service vector. The state is
 * final before the callback, which may deliver a new interrupt here.
 */
static void do_eoi(struct vlapic *v)
{
	int vector = highest_vector(v->isr, v->isr_words);

	if (vector < 0)
		return;
	summary_clear(v->isr, &v->isr_words, (u8)vector);
	if (bit_test(v->tmr, (u8)vector) && v->ops && v->ops->eoi)
		v->ops->eoi(v->opaque, (u8)vector);
}

bool vlapic_eoi_can_wait(const struct vlapic *v, u8 vector)
{
	return highest_vector(v->isr, v->isr_words) == vector &&
	       !bit_test(v->tmr, vector) &&
	       highest_vector(v->irr, v->irr_words) < 0;
}

bool vlapic_eoi_vector(struct vlapic *v, u8 vector)
{
	if (highest_vector(v->isr, v->isr_words) != vector)
		return false;
	do_eoi(v);
	return true;
}

void vlapic_virt_get(const struct vlapic *v, struct apic_virt_state *s)
{
	s->tpr = v->tpr;
	s->ppr = vlapic_ppr(v);
	for (int i = 0; i < 8; i++) {
		s->isr[i] = v->isr[i];
		s->irr[i] = v->irr[i];
		s->tmr[i] = v->tmr[i];
	}
	s->irr_top = (u8)MAX(highest_vector(v->irr, v->irr_words), 0);
	s->isr_top = (u8)MAX(highest_vector(v->isr, v->isr_words), 0);
}

/* Summary bits of a 256-bit register (struct vlapic.irr_words). */
static u8 summary_of(const u32 *bits)
{
	u8 words = 0;

	for (int i = 0; i < 8; i++)
		if (bits[i])
			words |= (u8)(1u << i);
	return words;
}

bool vlapic_virt_put(struct vlapic *v, const struct apic_virt_state *s,
		     u32 *delivered)
{
	bool changed = false;

	*delivered = 0;
	v->tpr = s->tpr & 0xff;
	for (int i = 0; i < 8; i++) {
		u32 isr = s->isr[i], irr = s->irr[i];

		if (i == 0) { /* vectors 0-15 are not the APIC's (11.5.2) */
			isr &= 0xffff0000u;
			irr &= 0xffff0000u;
		}
		changed |= isr != v->isr[i] || irr != v->irr[i];
		/* Only a delivery takes a vector out of IRR. */
		for (u32 gone = v->irr[i] & ~irr; gone; gone &= gone - 1)
			(*delivered)++;
		/* Only a self IPI adds to IRR on the CPU: edge-triggered. */
		v->tmr[i] &= ~(irr & ~v->irr[i]);
		v->isr[i] = isr;
		v->irr[i] = irr;
	}
	v->isr_words = summary_of(v->isr);
	v->irr_words = summary_of(v->irr);
	return changed;
}

void vlapic_eoi_done(struct vlapic *v, u8 vector)
{
	if (bit_test(v->tmr, vector) && v->ops && v->ops->eoi)
		v->ops->eoi(v->opaque, vector);
}

u64 vlapic_cr8_read(const struct vlapic *v)
{
	return v->tpr >> 4;
}

/* MOV to CR8 loads TPR[7:4] and clears TPR[3:0] (SDM 11.8.6). */
int vlapic_cr8_write(struct vlapic *v, u64 value)
{
	if (value > 0xf)
		return VLAPIC_ERR_RESERVED_BITS;
	v->tpr = (u32)value << 4;
	return 0;
}

bool vlapic_match_dest(const struct vlapic *v, u32 dest, bool logical)
{
	if (!hw_enabled(v))
		return false;
	if (vlapic_x2apic_mode(v)) {
		if (dest == X2APIC_BROADCAST)
			return true;
		if (!logical)
			return dest == v->id;
		/* Cluster in 31:16, member bitmap in 15:0 (SDM 11.12.10.1). */
		return (dest >> 16) == (v->ldr >> 16) &&
		       (dest & v->ldr & 0xffff) != 0;
	}
	dest &= 0xff;
	if (dest == XAPIC_BROADCAST)
		return true;
	if (!logical)
		return dest == (v->id & 0xff);
	switch (v->dfr >> 28) {
	case DFR_MODEL_FLAT: /* 8-bit member bitmap (SDM 11.6.2.2) */
		return (dest & (v->ldr >> 24)) != 0;
	case DFR_MODEL_CLUSTER: /* cluster in 7:4, bitmap in 3:0 */
		return (dest >> 4) == (v->ldr >> 28) &&
		       (dest & (v->ldr >> 24) & 0xf) != 0;
	default:
		return false;
	}
}

bool vlapic_accepts_extint(const struct vlapic *v)
{
	u32 lint0 = v->lvt[VLAPIC_LVT_LINT0];

	if (!hw_enabled(v))
		return true; /* no APIC: INTR goes straight to the CPU */
	return !(lint0 & LVT_MASKED) &&
	       ((lint0 & LVT_DELIVERY_MODE) >> 8) == VLAPIC_DELIVERY_EXTINT;
}

enum vlapic_lint_action vlapic_lint_edge(struct vlapic *v, u8 pin)
{
	u32 lvt;

	if (pin > 1)
		return VLAPIC_LINT_NONE;
	if (!hw_enabled(v))
		return pin == 0 ? VLAPIC_LINT_EXTINT : VLAPIC_LINT_NMI;
	lvt = v->lvt[pin == 0 ? VLAPIC_LVT_LINT0 : VLAPIC_LVT_LINT1];
	if (lvt & LVT_MASKED)
		return VLAPIC_LINT_NONE;
	switch ((lvt & LVT_DELIVERY_MODE) >> 8) {
	case VLAPIC_DELIVERY_FIXED:
		return vlapic_accept_irq(v, (u8)(lvt & LVT_VECTOR), false)
			   ? VLAPIC_LINT_ACCEPTED
			   : VLAPIC_LINT_NONE;
	case VLAPIC_DELIVERY_NMI:
		return VLAPIC_LINT_NMI;
	case VLAPIC_DELIVERY_EXTINT:
		return VLAPIC_LINT_EXTINT;
	default: /* SMI, INIT, reserved */
		return VLAPIC_LINT_NONE;
	}
}

/* ---- IPIs ---- */

static void send_icr(struct vlapic *v)
{
	struct vlapic_ipi ipi = {
	    .dest = vlapic_x2apic_mode(v) ? v->icr_high
					  : v->icr_high >> XAPIC_DEST_SHIFT,
	    .dest_logical = v->icr_low & ICR_DEST_LOGICAL,
	    .x2apic = vlapic_x2apic_mode(v),
	    .shorthand = (u8)((v->icr_low >> 18) & 3),
	    .delivery_mode = (u8)((v->icr_low >> 8) & 7),
	    .vector = (u8)(v->icr_low & 0xff),
	    .level_assert = v->icr_low & ICR_LEVEL_ASSERT,
	    .level_triggered = v->icr_low & ICR_TRIGGER_LEVEL,
	};
	bool fixed = ipi.delivery_mode == VLAPIC_DELIVERY_FIXED ||
		     ipi.delivery_mode == VLAPIC_DELIVERY_LOWEST;

	/* 011b and 111b are reserved delivery modes in the ICR. */
	if (ipi.delivery_mode == 3 || ipi.delivery_mode == 7) {
		v->bad_icr_writes++;
		return;
	}
	if (fixed && ipi.vector < 16) {
		raise_error(v, VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	if (ipi.shorthand == VLAPIC_SHORTHAND_SELF &&
	    ipi.delivery_mode == VLAPIC_DELIVERY_FIXED) {
		set_irr(v, ipi.vector, ipi.level_triggered);
		return;
	}
	if (v->ops && v->ops->send_ipi)
		v->ops->send_ipi(v->opaque, &ipi);
}

/* SELF IPI register: an edge-triggered fixed IPI to self (SDM 11.12.11). */
static void send_self_ipi(struct vlapic *v, u8 vector)
{
	if (vector < 16) {
		raise_error(v, VLAPIC_ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	set_irr(v, vector, false);
}

/* ---- timer (SDM Vol. 3A 11.5.4) ---- */

static u32 timer_mode(const struct vlapic *v)
{
	return (v->lvt[VLAPIC_LVT_TIMER] & LVT_TIMER_MODE) >> 17;
}

/* Divide configuration bits 3, 1:0 (SDM 11.5.4, Figure 11-10). */
static u64 timer_divisor(const struct vlapic *v)
{
	u32 code =
	    (v->timer_divide_config & 3) | ((v->timer_divide_config >> 1) & 4);

	return code == 7 ? 1 : 2ull << code;
}

_Static_assert(NS_PER_S % VLAPIC_TIMER_HZ == 0,
	       "the timer clock must have a whole number of ns per cycle");

/* Bus clock at VLAPIC_TIMER_HZ = 1 GHz: one count is `divisor` ns. */
static u64 count_ns(const struct vlapic *v)
{
	return timer_divisor(v) * (NS_PER_S / VLAPIC_TIMER_HZ);
}

static u64 period_ns(const struct vlapic *v)
{
	return (u64)v->timer_initial * count_ns(v);
}

/* Counts left until the next expiry, as the current-count register. */
static u32 current_count(const struct vlapic *v, u64 now_ns)
{
	u64 deadline = v->timer_deadline_ns, unit = count_ns(v);

	if (!v->timer_armed || timer_mode(v) == TIMER_TSC_DEADLINE)
		return 0;
	if (now_ns >= deadline) {
		if (timer_mode(v) != TIMER_PERIODIC)
			return 0;
		/* Periods passed without a tick: find the running one. */
		deadline = ns_after(deadline,
				    ((now_ns - deadline) / period_ns(v) + 1) *
					period_ns(v));
	}
	return (u32)((deadline - now_ns) / unit +
		     ((deadline - now_ns) % unit != 0));
}

static void timer_start(struct vlapic *v, u64 now_ns)
{
	v->timer_armed = v->timer_initial != 0;
	v->timer_deadline_ns = ns_after(now_ns, period_ns(v));
}

/* An expiry: false when the LVT entry is masked and nothing happened. */
static bool fire_lvt_timer(struct vlapic *v)
{
	u32 lvt = v->lvt[VLAPIC_LVT_TIMER];

	if (lvt & LVT_MASKED)
		return false;
	if ((lvt & LVT_VECTOR) < 16) {
		raise_error(v, VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
		return true;
	}
	set_irr(v, (u8)(lvt & LVT_VECTOR), false);
	return true;
}

void vlapic_tick(struct vlapic *v, u64 now_ns)
{
	u64 period, last;

	if (!v->timer_armed || now_ns < v->timer_deadline_ns)
		return;
	switch (timer_mode(v)) {
	case TIMER_PERIODIC:
		/*
		 * Several missed periods raise one interrupt: IRR is a bit.
		 * `last` is the latest expiry up to now; one that comes
		 * sooner than VLAPIC_MIN_PERIODIC_NS after the last interrupt
		 * was raised raises none (it collapses into the next one, as
		 * missed periods do). Counted from the tick that raised it,
		 * not from its expiry: however late that tick came (an exit
		 * costs time), the guest runs for most of the minimum before
		 * the timer can make the next timer exit.
		 */
		period = period_ns(v);
		last = v->timer_deadline_ns +
		       (now_ns - v->timer_deadline_ns) / period * period;
		v->timer_deadline_ns = ns_after(last, period);
		if (last >= v->timer_irq_not_before_ns && fire_lvt_timer(v))
			v->timer_irq_not_before_ns =
			    ns_after(now_ns, VLAPIC_MIN_PERIODIC_NS);
		return;
	case TIMER_TSC_DEADLINE:
		/* Expiry disarms and clears IA32_TSC_DEADLINE (11.5.4.1). */
		v->tsc_deadline = 0;
		v->timer_armed = false;
		break;
	default:
		v->timer_armed = false;
		break;
	}
	fire_lvt_timer(v);
}

u64 vlapic_next_deadline_ns(const struct vlapic *v)
{
	u64 deadline = v->timer_deadline_ns, period, gap, periods;

	if (!v->timer_armed || (v->lvt[VLAPIC_LVT_TIMER] & LVT_MASKED))
		return 0;
	/* Periodic: the first expiry that may raise an interrupt (tick). */
	if (timer_mode(v) == TIMER_PERIODIC &&
	    v->timer_irq_not_before_ns > deadline) {
		period = period_ns(v);
		gap = v->timer_irq_not_before_ns - deadline;
		periods = gap / period + (gap % period != 0);
		deadline = periods > (~0ull - deadline) / period
			       ? ~0ull
			       : deadline + periods * period;
	}
	return deadline ? deadline : 1;
}

bool vlapic_timer_held(const struct vlapic *v)
{
	u32 lvt = v->lvt[VLAPIC_LVT_TIMER];

	return v->timer_armed && timer_mode(v) == TIMER_PERIODIC &&
	       !(lvt & LVT_MASKED) && (lvt & LVT_VECTOR) >= 16 &&
	       bit_test(v->irr, (u8)(lvt & LVT_VECTOR));
}

bool vlapic_irr_holds(const struct vlapic *v, u8 vector)
{
	return bit_test(v->irr, vector);
}

/* Guest TSC at guest time now_ns: offset + floor(now_ns * hz / 1e9). */
static u64 guest_tsc(const struct vlapic *v, u64 now_ns)
{
	return v->tsc_offset + (now_ns / NS_PER_S) * v->tsc_hz +
	       (now_ns % NS_PER_S) * v->tsc_hz / NS_PER_S;
}

/*
 * Nanoseconds until the guest TSC has advanced by `ticks`, rounded up so
 * the guest never sees the interrupt before its deadline. Saturates.
 */
static u64 tsc_ticks_to_ns(const struct vlapic *v, u64 ticks)
{
	u64 whole = ticks / v->tsc_hz, rest = ticks % v->tsc_hz;

	if (whole > (~0ull - NS_PER_S) / NS_PER_S)
		return ~0ull;
	return whole * NS_PER_S + (rest * NS_PER_S + v->tsc_hz - 1) / v->tsc_hz;
}

/*
 * Arm the TSC-deadline timer for the TSC to reach `value` (not 0): the
 * expiry in guest time from the TSC now. The comparison is the CPU's, of
 * two unsigned numbers (SDM 11.5.4.1): a value at or below the TSC fires
 * at once, whatever made the TSC pass it.
 */
static void arm_tsc_deadline(struct vlapic *v, u64 value, u64 now_ns)
{
	u64 now_tsc = guest_tsc(v, now_ns);
	u64 wait = value > now_tsc ? tsc_ticks_to_ns(v, value - now_tsc) : 0;

	v->timer_deadline_ns = ns_after(now_ns, wait);
	vlapic_tick(v, now_ns); /* a deadline in the past fires at once */
}

static void write_tsc_deadline(struct vlapic *v, u64 value, u64 now_ns)
{
	/* Ignored outside TSC-deadline mode (SDM 11.5.4.1). */
	if (!hw_enabled(v) || timer_mode(v) != TIMER_TSC_DEADLINE)
		return;
	v->tsc_deadline = value;
	v->timer_armed = value != 0;
	if (value)
		arm_tsc_deadline(v, value, now_ns);
}

void vlapic_move_tsc(struct vlapic *v, u64 tsc_offset, u64 now_ns)
{
	v->tsc_offset = tsc_offset;
	if (v->timer_armed && timer_mode(v) == TIMER_TSC_DEADLINE)
		arm_tsc_deadline(v, v->tsc_deadline, now_ns);
}

static void write_lvt_timer(struct vlapic *v, u32 value)
{
	u32 old_mode = timer_mode(v);

	v->lvt[VLAPIC_LVT_TIMER] = value;
	/* Entering or leaving TSC-deadline mode disarms (SDM 11.5.4.1). */
	if ((old_mode == TIMER_TSC_DEADLINE) !=
	    (timer_mode(v) == TIMER_TSC_DEADLINE)) {
		v->timer_armed = false;
		v->tsc_deadline = 0;
	}
}

static void write_divide(struct vlapic *v, u32 value, u64 now_ns)
{
	u32 left = current_count(v, now_ns);

	v->timer_divide_config = value & DIVIDE_WRITABLE;
	/* A running count goes on from where it is, at the new rate. */
	if (v->timer_armed && timer_mode(v) != TIMER_TSC_DEADLINE)
		v->timer_deadline_ns =
		    ns_after(now_ns, (u64)left * count_ns(v));
}

/* ---- register file ---- */

static bool is_lvt(u32 reg)
{
	return reg >= REG_LVT0 && reg < REG_LVT0 + VLAPIC_LVT_COUNT;
}

/* Which registers exist in which mode (Tables 11-1 and 11-6). */
static enum reg_access reg_access(u32 reg, bool x2apic)
{
	if (reg >= REG_ISR0 && reg < REG_IRR0 + 8) /* ISR, TMR, IRR */
		return REG_READ_ONLY;
	if (is_lvt(reg))
		return REG_READ_WRITE;
	switch (reg) {
	case REG_ID:
	case REG_VERSION:
	case REG_PPR:
	case REG_TIMER_CURRENT:
		return REG_READ_ONLY;
	case REG_APR: /* not in x2APIC mode */
		return x2apic ? REG_ABSENT : REG_READ_ONLY;
	case REG_EOI:
		return REG_WRITE_ONLY;
	case REG_LDR: /* derived from the ID in x2APIC mode */
		return x2apic ? REG_READ_ONLY : REG_READ_WRITE;
	case REG_DFR:
	case REG_ICR_HIGH: /* merged into the 64-bit ICR in x2APIC mode */
		return x2apic ? REG_ABSENT : REG_READ_WRITE;
	case REG_SELF_IPI:
		return x2apic ? REG_WRITE_ONLY : REG_ABSENT;
	case REG_TPR:
	case REG_SVR:
	case REG_ESR:
	case REG_ICR_LOW:
	case REG_TIMER_INITIAL:
	case REG_TIMER_DIVIDE:
		return REG_READ_WRITE;
	default: /* RRD (0x0C), CMCI LVT (0x2F, max LVT is 5), reserved */
		return REG_ABSENT;
	}
}

static u64 read_register(struct vlapic *v, u32 reg, u64 now_ns)
{
	bool x2apic = vlapic_x2apic_mode(v);

	if (reg >= REG_ISR0 && reg < REG_ISR0 + 8)
		return v->isr[reg - REG_ISR0];
	if (reg >= REG_TMR0 && reg < REG_TMR0 + 8)
		return v->tmr[reg - REG_TMR0];
	if (reg >= REG_IRR0 && reg < REG_IRR0 + 8)
		return v->irr[reg - REG_IRR0];
	if (is_lvt(reg))
		return v->lvt[reg - REG_LVT0];
	switch (reg) {
	case REG_ID:
		return x2apic ? v->id : (v->id & 0xff) << XAPIC_DEST_SHIFT;
	case REG_VERSION:
		return VLAPIC_VERSION;
	case REG_TPR:
		return v->tpr;
	case REG_APR:
		return apr(v);
	case REG_PPR:
		return vlapic_ppr(v);
	case REG_LDR:
		return v->ldr;
	case REG_DFR:
		return v->dfr | DFR_READ_AS_ONES;
	case REG_SVR:
		return v->svr;
	case REG_ESR:
		return v->esr;
	case REG_ICR_LOW: /* delivery status (bit 12) is always idle */
		return x2apic ? ((u64)v->icr_high << 32) | v->icr_low
			      : v->icr_low;
	case REG_ICR_HIGH:
		return v->icr_high;
	case REG_TIMER_INITIAL:
		return v->timer_initial;
	case REG_TIMER_CURRENT:
		return current_count(v, now_ns);
	case REG_TIMER_DIVIDE:
		return v->timer_divide_config;
	default:
		return 0; /* EOI and reserved registers read as 0 */
	}
}

/* Bits an LVT entry stores; delivery status and remote IRR are RO. */
static u32 lvt_writable(u32 reg)
{
	switch (reg - REG_LVT0) {
	case VLAPIC_LVT_TIMER:
		return LVT_VECTOR | LVT_MASKED | LVT_TIMER_MODE;
	case VLAPIC_LVT_THERMAL:
	case VLAPIC_LVT_PERF:
		return LVT_VECTOR | LVT_DELIVERY_MODE | LVT_MASKED;
	case VLAPIC_LVT_LINT0:
	case VLAPIC_LVT_LINT1:
		return LVT_VECTOR | LVT_DELIVERY_MODE | LVT_POLARITY_LOW |
		       LVT_TRIGGER_LEVEL | LVT_MASKED;
	default: /* error */
		return LVT_VECTOR | LVT_MASKED;
	}
}

/* Bits that may be set in an x2APIC WRMSR (11.12.1.3), all else #GP. */
static u64 x2apic_defined_bits(u32 reg)
{
	if (is_lvt(reg)) {
		u32 read_only = LVT_DELIVERY_STATUS;

		if (reg - REG_LVT0 == VLAPIC_LVT_LINT0 ||
		    reg - REG_LVT0 == VLAPIC_LVT_LINT1)
			read_only |= LVT_REMOTE_IRR;
		return lvt_writable(reg) | read_only;
	}
	switch (reg) {
	case REG_TPR:
	case REG_SELF_IPI:
		return 0xff;
	case REG_SVR:
		return SVR_WRITABLE;
	case REG_EOI:
	case REG_ESR:
		return 0; /* a non-zero write is #GP (Table 11-6) */
	case REG_ICR_LOW:
		return 0xffffffff00000000ull | ICR_LOW_WRITABLE;
	case REG_TIMER_DIVIDE:
		return DIVIDE_WRITABLE;
	default: /* initial count */
		return 0xffffffffull;
	}
}

static void write_svr(struct vlapic *v, u32 value)
{
	v->svr = value & SVR_WRITABLE;
	/* Software disable masks every LVT entry (SDM 11.4.7.2). */
	if (!sw_enabled(v))
		for (int i = 0; i < VLAPIC_LVT_COUNT; i++)
			v->lvt[i] |= LVT_MASKED;
}

static void write_lvt(struct vlapic *v, u32 reg, u32 value)
{
	u32 index = reg - REG_LVT0;

	value &= lvt_writable(reg);
	if (!sw_enabled(v)) /* masks cannot be cleared while disabled */
		value |= LVT_MASKED;
	if (index == VLAPIC_LVT_TIMER) {
		/* 11b is a reserved timer mode; it behaves as one-shot. */
		if ((value & LVT_TIMER_MODE) == LVT_TIMER_MODE)
			value &= ~LVT_TIMER_MODE;
		write_lvt_timer(v, value);
		return;
	}
	v->lvt[index] = value;
}

static void write_register(struct vlapic *v, u32 reg, u64 value, u64 now_ns)
{
	u32 low = (u32)value;

	if (is_lvt(reg)) {
		write_lvt(v, reg, low);
		return;
	}
	switch (reg) {
	case REG_TPR:
		v->tpr = low & 0xff;
		return;
	case REG_EOI:
		do_eoi(v);
		return;
	case REG_LDR:
		v->ldr = low & 0xff000000u;
		return;
	case REG_DFR:
		v->dfr = low | DFR_READ_AS_ONES;
		return;
	case REG_SVR:
		write_svr(v, low);
		return;
	case REG_ESR: /* latch the errors seen since the last write */
		v->esr = v->esr_pending;
		v->esr_pending = 0;
		return;
	case REG_ICR_LOW:
		v->icr_low = low & ICR_LOW_WRITABLE;
		if (vlapic_x2apic_mode(v))
			v->icr_high = (u32)(value >> 32);
		send_icr(v);
		return;
	case REG_ICR_HIGH:
		v->icr_high = low & (0xffu << XAPIC_DEST_SHIFT);
		return;
	case REG_TIMER_INITIAL:
		if (timer_mode(v) == TIMER_TSC_DEADLINE)
			return; /* ignored in TSC-deadline mode (11.5.4.1) */
		v->timer_initial = low;
		timer_start(v, now_ns);
		return;
	case REG_TIMER_DIVIDE:
		write_divide(v, low, now_ns);
		return;
	case REG_SELF_IPI:
		send_self_ipi(v, (u8)low);
		return;
	default:
		return;
	}
}

/* ---- the two guest interfaces ---- */

int vlapic_mmio_read(struct vlapic *v, u32 offset, u8 size, u32 *out,
		     u64 now_ns)
{
	u32 reg = offset >> 4, byte = offset & 0xf, value;

	*out = 0;
	if (offset >= VLAPIC_MMIO_SIZE)
		return VLAPIC_ERR_BAD_ARGUMENT;
	if (!hw_enabled(v) || vlapic_x2apic_mode(v))
		return VLAPIC_ERR_WRONG_MODE;
	if ((size != 1 && size != 2 && size != 4) || byte + size > 4)
		return VLAPIC_ERR_ACCESS_SIZE;
	vlapic_tick(v, now_ns);
	switch (reg_access(reg, false)) {
	case REG_ABSENT:
		raise_error(v, VLAPIC_ESR_ILLEGAL_REGISTER);
		return 0;
	case REG_WRITE_ONLY:
		return 0;
	default:
		break;
	}
	value = (u32)read_register(v, reg, now_ns) >> (byte * 8);
	*out = size == 4 ? value : value & ((1u << (size * 8)) - 1);
	return 0;
}

int vlapic_mmio_write(struct vlapic *v, u32 offset, u8 size, u32 value,
		      u64 now_ns)
{
	u32 reg = offset >> 4;

	if (offset >= VLAPIC_MMIO_SIZE)
		return VLAPIC_ERR_BAD_ARGUMENT;
	if (!hw_enabled(v) || vlapic_x2apic_mode(v))
		return VLAPIC_ERR_WRONG_MODE;
	if (size != 4 || (offset & 0xf))
		return VLAPIC_ERR_ACCESS_SIZE;
	vlapic_tick(v, now_ns);
	switch (reg_access(reg, false)) {
	case REG_ABSENT:
		raise_error(v, VLAPIC_ESR_ILLEGAL_REGISTER);
		return 0;
	case REG_READ_ONLY: /* xAPIC ignores writes to read-only registers */
		return 0;
	default:
		write_register(v, reg, value, now_ns);
		return 0;
	}
}

/* Common checks of an x2APIC MSR access; the register number or error. */
static int x2apic_reg(const struct vlapic *v, u32 msr)
{
	if (!vlapic_x2apic_mode(v))
		return VLAPIC_ERR_WRONG_MODE; /* #GP outside x2APIC mode */
	if (msr - VLAPIC_MSR_X2APIC_FIRST >= REG_COUNT)
		return VLAPIC_ERR_RESERVED_REGISTER;
	return (int)(msr - VLAPIC_MSR_X2APIC_FIRST);
}

int vlapic_msr_read(struct vlapic *v, u32 msr, u64 *out, u64 now_ns)
{
	int reg;

	*out = 0;
	if (!vlapic_handles_msr(msr))
		return VLAPIC_ERR_NOT_APIC_MSR;
	vlapic_tick(v, now_ns);
	if (msr == VLAPIC_MSR_APIC_BASE) {
		*out = v->apic_base;
		return 0;
	}
	if (msr == VLAPIC_MSR_TSC_DEADLINE) {
		/* Reads 0 outside TSC-deadline mode (SDM 11.5.4.1). */
		if (timer_mode(v) == TIMER_TSC_DEADLINE)
			*out = v->tsc_deadline;
		return 0;
	}
	reg = x2apic_reg(v, msr);
	if (reg < 0)
		return reg;
	switch (reg_access((u32)reg, true)) {
	case REG_ABSENT:
		return VLAPIC_ERR_RESERVED_REGISTER;
	case REG_WRITE_ONLY:
		return VLAPIC_ERR_WRITE_ONLY;
	default:
		*out = read_register(v, (u32)reg, now_ns);
		return 0;
	}
}

int vlapic_msr_write(struct vlapic *v, u32 msr, u64 value, u64 now_ns)
{
	int reg;

	if (!vlapic_handles_msr(msr))
		return VLAPIC_ERR_NOT_APIC_MSR;
	vlapic_tick(v, now_ns);
	if (msr == VLAPIC_MSR_APIC_BASE)
		return vlapic_set_apic_base(v, value);
	if (msr == VLAPIC_MSR_TSC_DEADLINE) {
		write_tsc_deadline(v, value, now_ns);
		return 0;
	}
	reg = x2apic_reg(v, msr);
	if (reg < 0)
		return reg;
	switch (reg_access((u32)reg, true)) {
	case REG_ABSENT:
		return VLAPIC_ERR_RESERVED_REGISTER;
	case REG_READ_ONLY:
		return VLAPIC_ERR_READ_ONLY;
	default:
		break;
	}
	if (value & ~x2apic_defined_bits((u32)reg))
		return VLAPIC_ERR_RESERVED_BITS;
	write_register(v, (u32)reg, value, now_ns);
	return 0;
}
