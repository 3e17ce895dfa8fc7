/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the 8254 PIT and port 0x61 (core/vdev/vpit.c), driven by
 * port reads and writes of every width, timer ticks and guest time
 * steps decoded from the input. Guest time mostly moves forward by small
 * and large steps; it can also jump anywhere up to 2^64 - 1 ns and back
 * (the platform's clock never does, but the model must stay sane).
 *
 * Checked after every step: each channel in a legal state (mode 0-5,
 * access mode 1-3, a reload of 1-65536 and of at least 2 in the periodic
 * modes); only IRQ 0 is driven, always to the other level than it has
 * (pulses are high then low, modes 0/1 report changes); after vpit_tick(now)
 * the next deadline is 0, later than now or ~0 (never): a deadline already
 * passed would make the run loop exit again at once, for ever; with time
 * moving forward only, periodic pulses come at least
 * VPIT_MIN_IRQ_PERIOD_NS apart in the edges' own time, so no pulse comes
 * before the channel's irq_not_before_ns.
 */
#include <string.h>

#include "core/vdev/vpit.h"
#include "tests/fuzz/fuzz.h"

static struct vpit pit;
static u64 now;
static bool line;	     /* IRQ 0 as the PIT drives it */
static bool went_back;	     /* time ever moved backwards */
static u64 pulse_not_before; /* a periodic pulse's earliest time */

static void set_irq(void *opaque, u8 irq, bool level)
{
	const struct vpit_channel *c = &pit.ch[0];

	(void)opaque;
	FUZZ_CHECK(irq == VPIT_IRQ, "the PIT drove IRQ %u", irq);
	FUZZ_CHECK(level != line, "IRQ 0 driven %s again",
		   level ? "high" : "low");
	line = level;
	if (!level || !(c->mode == 2 || c->mode == 3))
		return;
	/* Rising edge of a periodic pulse: not sooner than allowed. */
	FUZZ_CHECK(went_back || now >= pulse_not_before,
		   "periodic pulse at %llu, allowed from %llu",
		   (unsigned long long)now,
		   (unsigned long long)pulse_not_before);
}

static u64 clock(void *opaque)
{
	(void)opaque;
	return now;
}

static void check_state(void)
{
	for (int i = 0; i < VPIT_CHANNELS; i++) {
		const struct vpit_channel *c = &pit.ch[i];

		FUZZ_CHECK(c->mode <= 5, "channel %d mode %u", i, c->mode);
		FUZZ_CHECK(c->access >= 1 && c->access <= 3,
			   "channel %d access %u", i, c->access);
		FUZZ_CHECK(c->reload >= 1 && c->reload <= 65536,
			   "channel %d reload %u", i, c->reload);
		FUZZ_CHECK(!c->counting || !(c->mode == 2 || c->mode == 3) ||
			       c->reload >= 2,
			   "channel %d periodic with reload %u", i, c->reload);
	}
	FUZZ_CHECK(pit.port_b <= 0x0f, "port B 0x%02x", pit.port_b);
}

static void tick(void)
{
	u64 deadline;

	vpit_tick(&pit, now);
	deadline = vpit_next_deadline_ns(&pit);
	/* ~0 is "never": a deadline past 2^64 ns saturates there. */
	FUZZ_CHECK(deadline == 0 || deadline > now || deadline == ~0ull,
		   "after a tick at %llu the next deadline is %llu",
		   (unsigned long long)now, (unsigned long long)deadline);
}

static void step(struct fuzz_in *in)
{
	static const u16 ports[] = {0x40, 0x41, 0x42, 0x43, 0x61, 0x44, 0x3f};
	static const u8 sizes[] = {1, 2, 4};
	u8 op = fuzz_u8(in);
	u16 port = FUZZ_PICK(in, ports);
	u64 t;

	if (in->done)
		return;
	switch (op % 7) {
	case 0:
		vpit_write(&pit, port, fuzz_u8(in), now);
		break;
	case 1:
		(void)vpit_read(&pit, port, now);
		break;
	case 2:
		vpit_io_write(&pit, port, FUZZ_PICK(in, sizes), fuzz_u32(in));
		break;
	case 3:
		(void)vpit_io_read(&pit, port, FUZZ_PICK(in, sizes));
		break;
	case 4:
		t = now + fuzz_time_step(in);
		went_back |= t < now; /* wrapped past 2^64 */
		now = t;
		break;
	case 5: /* time anywhere: the model must stay sane */
		t = fuzz_time_jump(in);
		went_back |= t < now;
		now = t;
		break;
	default: {
		/* The run loop, at the next deadline or whenever. */
		bool at_deadline = fuzz_bool(in);
		u64 deadline = vpit_next_deadline_ns(&pit);

		if (at_deadline && deadline > now)
			now = deadline;
		tick();
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	now = fuzz_u32(&in);
	line = false;
	went_back = false;
	pulse_not_before = 0;
	vpit_init(&pit, set_irq, NULL, clock, NULL);
	while (!in.done) {
		pulse_not_before = pit.ch[0].irq_not_before_ns;
		step(&in);
		check_state();
	}
	tick();
	return 0;
}
