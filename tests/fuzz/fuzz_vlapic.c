/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: one vCPU's local APIC (core/vdev/vlapic.c), driven by
 * xAPIC MMIO and x2APIC / IA32_APIC_BASE / TSC-deadline MSR accesses of
 * any offset, size and value, interrupts arriving, the core's interrupt
 * cycle (pending vector, injection, EOI), CR8, INIT, LINT edges, timer
 * ticks, guest time steps (forward, and jumps anywhere), TSC offsets set
 * and moved (a guest writing IA32_TSC). IPIs the APIC sends come back
 * to it when they name it, as core/platform.c routes them for one vCPU.
 *
 * Checked after every step: no vector 0-15 is ever requested, in service
 * or pending, and none leaves in a fixed IPI or an EOI (SDM Vol. 3A
 * 11.5.2: they are illegal); the pending vector can be injected; an IPI
 * never has a reserved delivery mode; IA32_APIC_BASE never holds a
 * reserved bit or the invalid EXTD-without-EN state; registers hold only
 * the bits they have (TPR, SVR, LVTs, divide, ESR); a software-disabled
 * APIC has every LVT masked; the timer mode is never the reserved 11b;
 * the x2APIC logical ID is the one derived from the APIC ID; reads are as
 * wide as the access; after vlapic_tick(now) the next deadline is 0,
 * later than now or ~0 (never); a held timer's vector waits in IRR.
 */
#include <string.h>

#include "core/vdev/vlapic.h"
#include "tests/fuzz/fuzz.h"

#define LVT_MASKED     BIT(16)
#define LVT_TIMER_MODE (3u << 17)
#define SVR_ENABLE     BIT(8)

static struct vlapic apic;
static u64 now;
static u32 depth; /* callbacks nested in one another */

static bool x2apic(void)
{
	return vlapic_x2apic_mode(&apic);
}

static void send_ipi(void *opaque, const struct vlapic_ipi *ipi)
{
	bool fixed = ipi->delivery_mode == VLAPIC_DELIVERY_FIXED ||
		     ipi->delivery_mode == VLAPIC_DELIVERY_LOWEST;
	bool to_self;

	(void)opaque;
	FUZZ_CHECK(ipi->delivery_mode != 3 && ipi->delivery_mode != 7,
		   "IPI with reserved delivery mode %u", ipi->delivery_mode);
	FUZZ_CHECK(!fixed || ipi->vector >= 16, "fixed IPI with vector %u",
		   ipi->vector);
	FUZZ_CHECK(ipi->shorthand <= 3, "shorthand %u", ipi->shorthand);
	FUZZ_CHECK(ipi->x2apic || ipi->dest <= 0xff,
		   "xAPIC IPI to destination 0x%x", ipi->dest);
	FUZZ_CHECK(!(fixed && ipi->delivery_mode == VLAPIC_DELIVERY_FIXED &&
		     ipi->shorthand == VLAPIC_SHORTHAND_SELF),
		   "a fixed self IPI left the APIC");
	FUZZ_CHECK(++depth < 16, "IPIs nest %u deep", depth);
	/* core/platform.c with one vCPU: only what reaches the sender. */
	to_self = ipi->shorthand == VLAPIC_SHORTHAND_ALL ||
		  ipi->shorthand == VLAPIC_SHORTHAND_SELF ||
		  (ipi->shorthand == VLAPIC_SHORTHAND_NONE &&
		   vlapic_match_dest(&apic, ipi->dest, ipi->dest_logical));
	if (to_self && fixed)
		vlapic_accept_irq(&apic, ipi->vector, ipi->level_triggered);
	depth--;
}

static void eoi(void *opaque, u8 vector)
{
	(void)opaque;
	FUZZ_CHECK(vector >= 16, "EOI of vector %u", vector);
}

static const struct vlapic_ops ops = {.send_ipi = send_ipi, .eoi = eoi};

/* Bits each LVT entry can hold (SDM Vol. 3A Figure 11-8). */
static const u32 lvt_bits[VLAPIC_LVT_COUNT] = {
    [VLAPIC_LVT_TIMER] = 0xff | LVT_MASKED | LVT_TIMER_MODE,
    [VLAPIC_LVT_THERMAL] = 0xff | 0x700 | BIT(12) | LVT_MASKED,
    [VLAPIC_LVT_PERF] = 0xff | 0x700 | BIT(12) | LVT_MASKED,
    [VLAPIC_LVT_LINT0] =
	0xff | 0x700 | BIT(12) | BIT(13) | BIT(14) | BIT(15) | LVT_MASKED,
    [VLAPIC_LVT_LINT1] =
	0xff | 0x700 | BIT(12) | BIT(13) | BIT(14) | BIT(15) | LVT_MASKED,
    [VLAPIC_LVT_ERROR] = 0xff | BIT(12) | LVT_MASKED,
};

static void check_state(void)
{
	u64 base = apic.apic_base;
	int vector = vlapic_pending_vector(&apic);

	FUZZ_CHECK(!(apic.irr[0] & 0xffff) && !(apic.isr[0] & 0xffff) &&
		       !(apic.tmr[0] & 0xffff),
		   "vector below 16: IRR 0x%x ISR 0x%x TMR 0x%x", apic.irr[0],
		   apic.isr[0], apic.tmr[0]);
	FUZZ_CHECK(vector == -1 || (vector >= 16 && vector <= 255),
		   "pending vector %d", vector);
	/* The summaries say exactly which words of IRR and ISR hold bits. */
	for (int w = 0; w < 8; w++)
		FUZZ_CHECK(!apic.irr[w] == !(apic.irr_words & (1u << w)) &&
			       !apic.isr[w] == !(apic.isr_words & (1u << w)),
			   "word %d: IRR 0x%x ISR 0x%x, summaries 0x%x 0x%x", w,
			   apic.irr[w], apic.isr[w], apic.irr_words,
			   apic.isr_words);
	FUZZ_CHECK(!(base & 0x2ffull) && !(base >> apic.phys_addr_bits),
		   "IA32_APIC_BASE 0x%llx", (unsigned long long)base);
	FUZZ_CHECK(!(base & VLAPIC_APIC_BASE_EXTD) ||
		       (base & VLAPIC_APIC_BASE_EN),
		   "x2APIC mode with the APIC disabled");
	FUZZ_CHECK(apic.tpr <= 0xff && apic.svr <= 0x3ff &&
		       apic.timer_divide_config <= 0xb &&
		       !(apic.timer_divide_config & 4) && apic.esr <= 0xff &&
		       apic.esr_pending <= 0xff,
		   "TPR 0x%x SVR 0x%x divide 0x%x ESR 0x%x/0x%x", apic.tpr,
		   apic.svr, apic.timer_divide_config, apic.esr,
		   apic.esr_pending);
	for (int i = 0; i < VLAPIC_LVT_COUNT; i++) {
		FUZZ_CHECK(!(apic.lvt[i] & ~lvt_bits[i]), "LVT %d 0x%x", i,
			   apic.lvt[i]);
		FUZZ_CHECK((apic.svr & SVR_ENABLE) ||
			       (apic.lvt[i] & LVT_MASKED),
			   "LVT %d unmasked in a software-disabled APIC", i);
	}
	FUZZ_CHECK((apic.lvt[VLAPIC_LVT_TIMER] & LVT_TIMER_MODE) !=
		       LVT_TIMER_MODE,
		   "reserved timer mode");
	if (x2apic())
		FUZZ_CHECK(apic.ldr == (((apic.id >> 4) << 16) |
					(1u << (apic.id & 0xf))),
			   "x2APIC LDR 0x%x for ID %u", apic.ldr, apic.id);
}

static void tick(void)
{
	u64 deadline;

	vlapic_tick(&apic, now);
	deadline = vlapic_next_deadline_ns(&apic);
	/* ~0 is "never": a deadline past 2^64 ns saturates there. */
	FUZZ_CHECK(deadline == 0 || deadline > now || deadline == ~0ull,
		   "after a tick at %llu the next deadline is %llu",
		   (unsigned long long)now, (unsigned long long)deadline);
	FUZZ_CHECK(!vlapic_timer_held(&apic) ||
		       vlapic_irr_holds(&apic, (u8)apic.lvt[VLAPIC_LVT_TIMER]),
		   "timer held with vector 0x%02x not in IRR",
		   (u8)apic.lvt[VLAPIC_LVT_TIMER]);
}

/* The run loop's interrupt cycle, and the guest's EOI. */
static void interrupt_cycle(bool eoi_after)
{
	int vector = vlapic_pending_vector(&apic);

	if (vector < 0)
		return;
	FUZZ_CHECK(vlapic_inject_done(&apic, (u8)vector) == 0,
		   "pending vector %d cannot be injected", vector);
	FUZZ_CHECK(apic.isr[vector / 32] & (1u << (vector % 32)),
		   "vector %d injected but not in service", vector);
	if (!eoi_after)
		return;
	if (x2apic())
		FUZZ_CHECK(vlapic_msr_write(&apic, 0x80b, 0, now) == 0,
			   "x2APIC EOI refused");
	else if (vlapic_mmio_base(&apic))
		FUZZ_CHECK(vlapic_mmio_write(&apic, 0xb0, 4, 0, now) == 0,
			   "xAPIC EOI refused");
}

static u32 pick_msr(struct fuzz_in *in)
{
	static const u32 msrs[] = {VLAPIC_MSR_APIC_BASE,
				   VLAPIC_MSR_TSC_DEADLINE,
				   0x80b,
				   0x830,
				   0x83f,
				   0x832,
				   0x838,
				   0x83e};
	u8 how = fuzz_u8(in);

	if (how < 128)
		return VLAPIC_MSR_X2APIC_FIRST + how % 0x48;
	if (how < 250)
		return msrs[how % ARRAY_SIZE(msrs)];
	return fuzz_u32(in);
}

static u64 msr_value(struct fuzz_in *in)
{
	u8 how = fuzz_u8(in);

	switch (how % 4) {
	case 0: /* IA32_APIC_BASE-like: a mode, the default base */
		return VLAPIC_DEFAULT_MMIO_BASE | ((u64)(how >> 2) << 8);
	case 1:
		return fuzz_u8(in);
	case 2:
		return fuzz_u32(in);
	default:
		return fuzz_u64(in);
	}
}

static void step(struct fuzz_in *in)
{
	static const u8 sizes[] = {4, 4, 4, 1, 2, 8, 3};
	u8 op = fuzz_u8(in);
	u32 offset;
	u64 value;
	u8 size;

	if (in->done)
		return;
	switch (op % 14) {
	case 0: /* xAPIC register write */
		offset = fuzz_bool(in) ? (u32)fuzz_below(in, 0x40) << 4
				       : fuzz_u16(in);
		size = FUZZ_PICK(in, sizes);
		vlapic_mmio_write(&apic, offset, size, fuzz_u32(in), now);
		break;
	case 1: { /* xAPIC register read */
		u32 out;

		offset = fuzz_bool(in) ? (u32)fuzz_below(in, 0x40) << 4
				       : fuzz_u16(in);
		size = FUZZ_PICK(in, sizes);
		if (vlapic_mmio_read(&apic, offset, size, &out, now) == 0)
			FUZZ_CHECK(size >= 4 || out < (1u << (size * 8)),
				   "%u-byte read at 0x%x gave 0x%x", size,
				   offset, out);
		break;
	}
	case 2:
		offset = pick_msr(in);
		vlapic_msr_write(&apic, offset, msr_value(in), now);
		break;
	case 3:
		offset = pick_msr(in);
		vlapic_msr_read(&apic, offset, &value, now);
		break;
	case 4: /* an interrupt message arrives */
		vlapic_accept_irq(&apic, fuzz_u8(in), fuzz_bool(in));
		break;
	case 5:
		interrupt_cycle(fuzz_bool(in));
		break;
	case 6:
		now += fuzz_time_step(in);
		break;
	case 7: /* time anywhere: the model must stay sane */
		now = fuzz_time_jump(in);
		break;
	case 8: /* the run loop at the timer deadline, or any time */
		value = vlapic_next_deadline_ns(&apic);
		if (fuzz_bool(in) && value > now)
			now = value;
		tick();
		break;
	case 9:
		if (fuzz_bool(in))
			vlapic_cr8_write(&apic, fuzz_u8(in) % 17);
		else
			FUZZ_CHECK(vlapic_cr8_read(&apic) <= 0xf, "CR8");
		break;
	case 10: /* the guest wrote its TSC (core/platform.c) */
		if (fuzz_bool(in))
			vlapic_set_tsc_offset(&apic, fuzz_u64(in));
		else
			vlapic_move_tsc(&apic, fuzz_u64(in), now);
		break;
	case 11:
		vlapic_init_signal(&apic);
		break;
	case 12:
		(void)vlapic_lint_edge(&apic, fuzz_u8(in) % 3);
		break;
	default:
		(void)vlapic_match_dest(&apic, fuzz_u32(in), fuzz_bool(in));
		(void)vlapic_accepts_extint(&apic);
		(void)vlapic_ppr(&apic);
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct vlapic_config cfg = {
	    .vcpu_index = fuzz_u8(&in),
	    .bsp = fuzz_bool(&in),
	    .tsc_hz = (fuzz_u32(&in) % 4000000000u) * 4ull + 1,
	    .phys_addr_bits = (u8)(32 + fuzz_below(&in, 21)),
	};
	int rc;

	now = fuzz_u32(&in);
	depth = 0;
	memset(&apic, 0, sizeof(apic));
	rc = vlapic_init(&apic, &cfg, &ops, NULL);
	FUZZ_CHECK((rc == 0) == (cfg.vcpu_index < 255), "init %d for index %u",
		   rc, cfg.vcpu_index);
	if (rc)
		return 0;
	while (!in.done) {
		step(&in);
		check_state();
	}
	tick();
	return 0;
}
