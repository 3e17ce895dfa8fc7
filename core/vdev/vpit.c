/* SPDX-License-Identifier: MIT */
/*
 * 8254 PIT. A counter's state is derived from "clocks since the count was
 * written" (k): the first clock only loads the count into the counting
 * element (82C54 data sheet: "the initial count will be loaded on the next
 * CLK pulse ... this pulse does not decrement the count"), so after k > 0
 * clocks the counter has decremented e = k - 1 times.
 */
#include "core/vdev/vpit.h"
#include "core/iobus.h"
#include "core/lib/string.h"

#define NS_PER_SEC 1000000000ull

#define CTRL_PORT     (VPIT_PORT + 3)
#define CTRL_SC_SHIFT 6
#define CTRL_RW_SHIFT 4
#define CTRL_READBACK 3 /* SC = 11 */
#define RW_LATCH      0 /* RW = 00: counter latch command */
#define RW_LSB	      1
#define RW_MSB	      2
#define RW_LSB_MSB    3
/* Read-back command (82C54 "Read-Back Command"): active-low selects. */
#define READBACK_NO_COUNT  0x20
#define READBACK_NO_STATUS 0x10
#define STATUS_OUT	   0x80
#define STATUS_NULL_COUNT  0x40
#define PORT_B_WRITABLE	   0x0f

/* Clocks in `ns` nanoseconds, rounded down; exact for any u64 input. */
static u64 ns_to_ticks(u64 ns)
{
	return (ns / NS_PER_SEC) * VPIT_HZ +
	       (ns % NS_PER_SEC) * VPIT_HZ / NS_PER_SEC;
}

/*
 * The fewest nanoseconds in which `ticks` clocks have happened; ~0 when
 * that is past 2^64 ns (never, not a time that wrapped into the past).
 */
static u64 ticks_to_ns(u64 ticks)
{
	u64 whole = ticks / VPIT_HZ;
	u64 part = ((ticks % VPIT_HZ) * NS_PER_SEC + VPIT_HZ - 1) / VPIT_HZ;

	if (whole > (~0ull - part) / NS_PER_SEC)
		return ~0ull;
	return whole * NS_PER_SEC + part;
}

/* now + delta, saturated at ~0 (never). */
static u64 ns_after(u64 now_ns, u64 delta_ns)
{
	return delta_ns > ~0ull - now_ns ? ~0ull : now_ns + delta_ns;
}

static u64 clocks(const struct vpit_channel *c, u64 now_ns)
{
	u64 k = c->ticks_before;

	if (c->running && now_ns > c->start_ns)
		k += ns_to_ticks(now_ns - c->start_ns);
	return k;
}

static bool periodic(const struct vpit_channel *c)
{
	return c->mode == 2 || c->mode == 3;
}

/* Output level, per mode ("Mode 0" ... "Mode 5" in the data sheet). */
static bool output(const struct vpit_channel *c, u64 now_ns)
{
	u64 k, e, n = c->reload;

	if (!c->counting)
		return c->mode != 0; /* the control word sets OUT */
	if (periodic(c) && !c->running)
		return true; /* gate low forces OUT high */
	k = clocks(c, now_ns);
	if (k == 0)
		return c->mode != 0;
	e = k - 1;
	switch (c->mode) {
	case 0:
	case 1:
		return e >= n;
	case 2:
		return e % n != n - 1;
	case 3:
		return e % n < (n + 1) / 2;
	default: /* 4, 5: low for the one clock at terminal count */
		return e != n;
	}
}

/* The counting element, as a number of clocks to go (not yet encoded). */
static u32 count_value(const struct vpit_channel *c, u64 now_ns)
{
	u64 modulus = c->bcd ? 10000 : 65536;
	u64 k = clocks(c, now_ns), e, n = c->reload, p, high;

	if (!c->counting || k == 0)
		return (u32)n;
	e = k - 1;
	switch (c->mode) {
	case 2:
		return (u32)(n - e % n);
	case 3:
		/*
		 * Counts down by two through each half period. Odd counts are
		 * only approximated (the data sheet's N-1 / N-3 steps are not
		 * modelled); the output timing above is exact.
		 */
		p = e % n;
		high = (n + 1) / 2;
		return (u32)(p < high ? 2 * (high - p) : 2 * (n - p));
	default: /* one-shot modes keep counting down past zero and wrap */
		return (u32)((n + modulus - e % modulus) % modulus);
	}
}

static u16 encode(const struct vpit_channel *c, u32 value)
{
	if (!c->bcd)
		return (u16)value; /* 65536 reads as 0 */
	value %= 10000;
	return (u16)((value / 1000) << 12 | (value / 100 % 10) << 8 |
		     (value / 10 % 10) << 4 | (value % 10));
}

u16 vpit_counter_value(const struct vpit *pit, u8 channel, u64 now_ns)
{
	const struct vpit_channel *c = &pit->ch[channel % VPIT_CHANNELS];

	return encode(c, count_value(c, now_ns));
}

/* Rising edges of OUT since the current run started (channel 0 IRQs). */
static u64 rising_edges(const struct vpit_channel *c, u64 now_ns)
{
	u64 k = clocks(c, now_ns);

	if (!c->counting || k == 0)
		return 0;
	if (periodic(c))
		return c->running ? (k - 1) / c->reload : 0;
	return k - 1 > c->reload ? 1 : 0; /* modes 4, 5: end of the strobe */
}

/*
 * When rising edge number `edge` (from 1) of the current run of a periodic
 * channel happens: OUT rises as the count reloads, at clock edge * reload
 * + 1 (output()).
 */
static u64 edge_ns(const struct vpit_channel *c, u64 edge)
{
	u64 k = edge * c->reload + 1;

	if (k <= c->ticks_before)
		return c->start_ns;
	return ns_after(c->start_ns, ticks_to_ns(k - c->ticks_before));
}

/*
 * The first edge of the current run of a periodic channel that IRQ 0 will
 * pulse for: after the last one it pulsed for, and not earlier than
 * VPIT_MIN_IRQ_PERIOD_NS after that pulse (irq_not_before_ns). The edges
 * in between collapse into it, as edges do that a late tick finds.
 */
static u64 next_edge(const struct vpit_channel *c)
{
	u64 edge = c->edges_reported + 1;

	if (c->irq_not_before_ns > c->start_ns)
		edge = MAX(edge, rising_edges(c, c->irq_not_before_ns - 1) + 1);
	return edge;
}

static void sync_irq(struct vpit *pit, u64 now_ns)
{
	struct vpit_channel *c = &pit->ch[0];
	u64 edges;
	bool level;

	if (!pit->set_irq)
		return;
	if (c->mode == 0 || c->mode == 1) {
		level = output(c, now_ns);
		if (level != c->irq_level)
			pit->set_irq(pit->irq_opaque, VPIT_IRQ, level);
		c->irq_level = level;
		return;
	}
	if (c->irq_level) { /* left over from mode 0/1 */
		pit->set_irq(pit->irq_opaque, VPIT_IRQ, false);
		c->irq_level = false;
	}
	edges = rising_edges(c, now_ns);
	if (edges < (periodic(c) ? next_edge(c) : c->edges_reported + 1))
		return;
	pit->set_irq(pit->irq_opaque, VPIT_IRQ, true);
	pit->set_irq(pit->irq_opaque, VPIT_IRQ, false);
	c->edges_reported = edges;
	/*
	 * Counted from the pulse, not from the edge it stands for: however
	 * late this tick came (an exit costs time), the guest runs for most
	 * of the minimum before the PIT can make the next timer exit.
	 */
	if (periodic(c))
		c->irq_not_before_ns = ns_after(now_ns, VPIT_MIN_IRQ_PERIOD_NS);
}

void vpit_tick(struct vpit *pit, u64 now_ns)
{
	sync_irq(pit, now_ns);
}

void vpit_irq_taken(struct vpit *pit, u64 now_ns)
{
	struct vpit_channel *c = &pit->ch[0];
	u64 not_before = ns_after(now_ns, VPIT_MIN_IRQ_PERIOD_NS);

	if (periodic(c) && not_before > c->irq_not_before_ns)
		c->irq_not_before_ns = not_before;
}

/* When channel 0's line would change next by the count alone, or 0. */
static u64 next_change_ns(const struct vpit_channel *c)
{
	u64 k; /* the clock count at which the line changes next */

	if (!c->counting || !c->running)
		return 0;
	if (periodic(c))
		return MAX(edge_ns(c, next_edge(c)), 1); /* 0 means none */
	if (c->mode == 0 || c->mode == 1)
		k = c->irq_level ? 0 : c->reload + 1;
	else
		k = c->edges_reported ? 0 : c->reload + 2;
	if (!k)
		return 0;
	/* Paused clocks (mode 0 gating) are already in ticks_before. */
	if (k <= c->ticks_before)
		return MAX(c->start_ns, 1); /* already due; 0 means none */
	/* Saturated: a deadline past 2^64 ns is never, not the past. */
	return ns_after(c->start_ns, ticks_to_ns(k - c->ticks_before));
}

u64 vpit_next_deadline_ns(const struct vpit *pit)
{
	return next_change_ns(&pit->ch[0]);
}

bool vpit_irq_periodic(const struct vpit *pit)
{
	const struct vpit_channel *c = &pit->ch[0];

	return c->counting && c->running && periodic(c);
}

void vpit_init(struct vpit *pit, isa_irq_fn set_irq, void *irq_opaque,
	       guest_clock_fn clock, void *clock_opaque)
{
	memset(pit, 0, sizeof(*pit));
	for (int i = 0; i < VPIT_CHANNELS; i++) {
		pit->ch[i].access = RW_LSB_MSB;
		pit->ch[i].reload = 65536;
		pit->ch[i].gate = i != 2; /* channel 2's gate is port B bit 0 */
		pit->ch[i].running = pit->ch[i].gate;
	}
	pit->set_irq = set_irq;
	pit->irq_opaque = irq_opaque;
	pit->clock = clock;
	pit->clock_opaque = clock_opaque;
}

/* A new run of the counter: from the count write or a gate trigger. */
static void start_run(struct vpit_channel *c, u64 now_ns)
{
	c->start_ns = now_ns;
	c->ticks_before = 0;
	c->edges_reported = 0;
	/* Modes 1 and 5 wait for a rising gate edge to start. */
	c->running = c->gate && c->mode != 1 && c->mode != 5;
}

static void load_count(struct vpit_channel *c, u16 raw, u64 now_ns)
{
	u32 n = raw;

	if (c->bcd)
		n = (raw >> 12 & 0xf) * 1000 + (raw >> 8 & 0xf) * 100 +
		    (raw >> 4 & 0xf) * 10 + (raw & 0xf);
	if (n == 0)
		n = c->bcd ? 10000 : 65536;
	/* 1 is illegal in modes 2 and 3 (data sheet); run it as 2. */
	if (n == 1 && periodic(c))
		n = 2;
	c->reload = n;
	c->counting = true;
	start_run(c, now_ns);
}

static void set_gate(struct vpit_channel *c, bool gate, u64 now_ns)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!gate) { /* the count holds where it is */
		c->ticks_before = clocks(c, now_ns);
		c->running = false;
		return;
	}
	if (c->mode == 0 || c->mode == 4) { /* counting resumes */
		c->start_ns = now_ns;
		c->running = true;
		return;
	}
	/* Modes 1, 2, 3, 5: a rising gate reloads and restarts. */
	c->start_ns = now_ns;
	c->ticks_before = 0;
	c->edges_reported = 0;
	c->running = true;
}

static u8 status_byte(const struct vpit_channel *c, u64 now_ns)
{
	bool null_count = !c->counting || clocks(c, now_ns) == 0;

	return (u8)((output(c, now_ns) ? STATUS_OUT : 0) |
		    (null_count ? STATUS_NULL_COUNT : 0) |
		    c->access << CTRL_RW_SHIFT | c->mode_bits << 1 | c->bcd);
}

static void latch_count(struct vpit_channel *c, u64 now_ns)
{
	if (c->count_latched)
		return; /* the first latch holds until it is read */
	c->latched_count = encode(c, count_value(c, now_ns));
	c->count_latched = true;
}

static void write_control(struct vpit *pit, u8 value, u64 now_ns)
{
	u8 sc = value >> CTRL_SC_SHIFT, rw = (value >> CTRL_RW_SHIFT) & 3;
	struct vpit_channel *c;

	if (sc == CTRL_READBACK) {
		for (int i = 0; i < VPIT_CHANNELS; i++) {
			c = &pit->ch[i];
			if (!(value & (2 << i)))
				continue;
			if (!(value & READBACK_NO_STATUS) &&
			    !c->status_latched) {
				c->latched_status = status_byte(c, now_ns);
				c->status_latched = true;
			}
			if (!(value & READBACK_NO_COUNT))
				latch_count(c, now_ns);
		}
		return;
	}
	c = &pit->ch[sc];
	if (rw == RW_LATCH) {
		latch_count(c, now_ns);
		return;
	}
	/* A control word resets the counter and waits for a new count. */
	c->access = rw;
	c->mode_bits = (value >> 1) & 7;
	c->mode = c->mode_bits > 5 ? c->mode_bits - 4 : c->mode_bits;
	c->bcd = value & 1;
	c->counting = false;
	c->write_msb_next = false;
	c->read_msb_next = false;
	c->count_latched = false;
	c->status_latched = false;
	if (sc == 0)
		sync_irq(pit, now_ns);
}

static void write_counter(struct vpit *pit, u8 index, u8 value, u64 now_ns)
{
	struct vpit_channel *c = &pit->ch[index];

	switch (c->access) {
	case RW_LSB:
		load_count(c, value, now_ns);
		break;
	case RW_MSB:
		load_count(c, (u16)(value << 8), now_ns);
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = value;
			c->write_msb_next = true;
			/* Mode 0: the first byte stops the count, OUT low. */
			if (c->mode == 0)
				c->counting = false;
			break;
		}
		c->write_msb_next = false;
		load_count(c, (u16)(c->write_lsb | value << 8), now_ns);
		break;
	}
	if (index == 0)
		sync_irq(pit, now_ns);
}

/* One byte of a 16-bit value, following the channel's access mode. */
static u8 next_byte(struct vpit_channel *c, u16 value, bool *done)
{
	u8 byte;

	*done = true;
	switch (c->access) {
	case RW_LSB:
		return (u8)value;
	case RW_MSB:
		return (u8)(value >> 8);
	default:
		byte = c->read_msb_next ? (u8)(value >> 8) : (u8)value;
		*done = c->read_msb_next;
		c->read_msb_next = !c->read_msb_next;
		return byte;
	}
}

static u8 read_counter(struct vpit *pit, u8 index, u64 now_ns)
{
	struct vpit_channel *c = &pit->ch[index];
	bool done;
	u8 byte;

	if (c->status_latched) {
		c->status_latched = false;
		return c->latched_status;
	}
	if (c->count_latched) {
		byte = next_byte(c, c->latched_count, &done);
		if (done)
			c->count_latched = false;
		return byte;
	}
	return next_byte(c, encode(c, count_value(c, now_ns)), &done);
}

static u8 read_port_b(const struct vpit *pit, u64 now_ns)
{
	u8 value = pit->port_b;

	if ((now_ns / VPIT_REFRESH_NS) & 1)
		value |= VPIT_PORT_B_REFRSH;
	if (output(&pit->ch[2], now_ns))
		value |= VPIT_PORT_B_OUT2;
	return value;
}

u8 vpit_read(struct vpit *pit, u16 port, u64 now_ns)
{
	if (port >= VPIT_PORT && port < CTRL_PORT)
		return read_counter(pit, (u8)(port - VPIT_PORT), now_ns);
	if (port == VPIT_PORT_B)
		return read_port_b(pit, now_ns);
	return 0xff; /* the control word register cannot be read */
}

void vpit_write(struct vpit *pit, u16 port, u8 value, u64 now_ns)
{
	if (port >= VPIT_PORT && port < CTRL_PORT) {
		write_counter(pit, (u8)(port - VPIT_PORT), value, now_ns);
	} else if (port == CTRL_PORT) {
		write_control(pit, value, now_ns);
	} else if (port == VPIT_PORT_B) {
		pit->port_b = value & PORT_B_WRITABLE;
		set_gate(&pit->ch[2], value & VPIT_PORT_B_GATE2, now_ns);
	}
}

static u64 io_now(const struct vpit *pit)
{
	return pit->clock ? pit->clock(pit->clock_opaque) : 0;
}

static u32 io_read_byte(void *opaque, u16 port, u8 size)
{
	struct vpit *pit = opaque;

	(void)size; /* always 1: iobus_read_bytewise() */
	return vpit_read(pit, port, io_now(pit));
}

static void io_write_byte(void *opaque, u16 port, u8 size, u32 value)
{
	struct vpit *pit = opaque;

	(void)size;
	vpit_write(pit, port, (u8)value, io_now(pit));
}

u32 vpit_io_read(void *opaque, u16 port, u8 size)
{
	return iobus_read_bytewise(io_read_byte, opaque, port, size);
}

void vpit_io_write(void *opaque, u16 port, u8 size, u32 value)
{
	iobus_write_bytewise(io_write_byte, opaque, port, size, value);
}
