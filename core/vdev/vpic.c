/* SPDX-License-Identifier: MIT */
/*
 * Dual 8259A. Section names below refer to the Intel 8259A data sheet
 * ("Programming the 8259A": initialization command words ICW1-4 and
 * operation command words OCW1-3).
 */
#include "core/vdev/vpic.h"
#include "core/iobus.h"
#include "core/lib/string.h"

#define MASTER 0
#define SLAVE  1

#define ICW1_SELECT    0x10 /* command port, bit 4 set: ICW1 */
#define ICW1_IC4       0x01 /* an ICW4 follows */
#define ICW1_SINGLE    0x02 /* no cascade: ICW3 is skipped */
#define OCW3_SELECT    0x08 /* command port, bits 4:3 = 01: OCW3 */
#define OCW3_ESMM      0x40 /* the SMM bit is valid */
#define OCW3_SMM       0x20 /* special mask mode on */
#define OCW3_POLL      0x04
#define OCW3_RR	       0x02 /* the RIS bit is valid */
#define OCW3_RIS       0x01 /* reads of the command port return the ISR */
#define ICW4_AUTO_EOI  0x02
#define POLL_REQUESTED 0x80 /* poll word: bit 7 = a request was pending */

/* OCW2 bits 7:5 (R, SL, EOI). */
enum ocw2_command {
	OCW2_ROTATE_AEOI_CLEAR = 0,
	OCW2_NONSPECIFIC_EOI = 1,
	OCW2_NOP = 2,
	OCW2_SPECIFIC_EOI = 3,
	OCW2_ROTATE_AEOI_SET = 4,
	OCW2_ROTATE_NONSPECIFIC_EOI = 5,
	OCW2_SET_PRIORITY = 6,
	OCW2_ROTATE_SPECIFIC_EOI = 7,
};

/*
 * ELCR bits that may be set: IRQ 0, 1, 2 (master) and IRQ 8, 13 (slave)
 * are edge-triggered only (PIIX4 data sheet, ELCR1/ELCR2).
 */
static const u8 elcr_writable[2] = {0xf8, 0xde};

static void chip_reset(struct vpic_chip *c)
{
	memset(c, 0, sizeof(*c));
	c->imr = 0xff;
	c->lowest_priority = 7;
}

void vpic_init(struct vpic *pic)
{
	memset(pic, 0, sizeof(*pic));
	chip_reset(&pic->chip[MASTER]);
	chip_reset(&pic->chip[SLAVE]);
}

/* 0 is the highest priority; IR(lowest + 1) has it. */
static u8 priority(const struct vpic_chip *c, u8 ir)
{
	return (u8)((ir - c->lowest_priority - 1) & 7);
}

/*
 * The IR with the highest priority among `bits`, or -1: `bits` rotated
 * right so that bit k is the IR of priority k (IR(lowest + 1 + k)), then
 * its lowest set bit.
 */
static int highest(const struct vpic_chip *c, u8 bits)
{
	u32 first = (c->lowest_priority + 1u) & 7;
	u32 rotated = ((u32)bits | (u32)bits << 8) >> first;

	if (!bits)
		return -1;
	return (int)((__builtin_ctz(rotated & 0xff) + first) & 7);
}

/* Requests: latched edges, and level inputs while they are high. */
static u8 requests(const struct vpic_chip *c)
{
	return (u8)((c->irr & ~c->elcr) | (c->input & c->elcr));
}

/*
 * The IR this chip is asking the CPU (or the master) to service, or -1:
 * the highest-priority unmasked request, if nothing of equal or higher
 * priority is in service. In special mask mode an in-service IR blocks
 * only itself and masked ones do not block at all ("Special Mask Mode").
 */
static int chip_output(const struct vpic_chip *c)
{
	u8 pending = requests(c) & (u8)~c->imr;
	u8 in_service = c->isr;
	int req, top;

	if (c->init_step)
		return -1;
	if (c->special_mask) {
		pending &= (u8)~c->isr;
		in_service &= (u8)~c->imr;
		return highest(c, pending);
	}
	req = highest(c, pending);
	top = highest(c, in_service);
	if (req < 0 ||
	    (top >= 0 && priority(c, (u8)req) >= priority(c, (u8)top)))
		return -1;
	return req;
}

/* A rising input latches a request; the level is remembered either way. */
static void chip_set_input(struct vpic_chip *c, u8 ir, bool level)
{
	u8 bit = (u8)(1u << ir);

	if (level && !(c->input & bit))
		c->irr |= bit;
	if (level)
		c->input |= bit;
	else
		c->input &= (u8)~bit;
}

/* The slave's INT output is the master's IR2 input. */
static void update_cascade(struct vpic *pic)
{
	bool slave_int = chip_output(&pic->chip[SLAVE]) >= 0;

	chip_set_input(&pic->chip[MASTER], VPIC_CASCADE_IRQ, slave_int);
}

bool vpic_set_irq(struct vpic *pic, u8 irq, bool level)
{
	if (irq >= VPIC_IRQS || irq == VPIC_CASCADE_IRQ)
		return false;
	chip_set_input(&pic->chip[irq / 8], irq % 8, level);
	update_cascade(pic);
	return true;
}

/* One chip's part of the acknowledge cycle for its request `ir`. */
static void chip_acknowledge(struct vpic_chip *c, u8 ir)
{
	u8 bit = (u8)(1u << ir);

	c->irr &= (u8)~bit;
	if (!c->auto_eoi)
		c->isr |= bit;
	else if (c->rotate_on_auto_eoi)
		c->lowest_priority = ir;
}

static bool cascaded(const struct vpic *pic, int master_ir)
{
	return master_ir == VPIC_CASCADE_IRQ && !pic->chip[MASTER].single;
}

int vpic_pending_vector(const struct vpic *pic)
{
	const struct vpic_chip *m = &pic->chip[MASTER];
	const struct vpic_chip *s = &pic->chip[SLAVE];
	int ir = chip_output(m);
	int slave_ir;

	if (ir < 0)
		return -1;
	if (!cascaded(pic, ir))
		return m->vector_base + ir;
	slave_ir = chip_output(s);
	return s->vector_base + (slave_ir < 0 ? 7 : slave_ir);
}

u8 vpic_ack(struct vpic *pic)
{
	struct vpic_chip *m = &pic->chip[MASTER];
	struct vpic_chip *s = &pic->chip[SLAVE];
	int ir = chip_output(m);
	int slave_ir;
	u8 vector;

	if (ir < 0) {
		pic->spurious++;
		return (u8)(m->vector_base + 7);
	}
	chip_acknowledge(m, (u8)ir);
	if (!cascaded(pic, ir)) {
		vector = (u8)(m->vector_base + ir);
	} else {
		/* The master drives IR2 into service; the slave names the
		 * vector, or answers its IR7 when its request has gone. */
		slave_ir = chip_output(s);
		if (slave_ir < 0) {
			pic->spurious++;
			vector = (u8)(s->vector_base + 7);
		} else {
			chip_acknowledge(s, (u8)slave_ir);
			vector = (u8)(s->vector_base + slave_ir);
		}
	}
	update_cascade(pic);
	return vector;
}

/* ICW1: starts initialisation and resets the chip's modes. */
static void write_icw1(struct vpic_chip *c, u8 value)
{
	c->irr = 0; /* the edge-sense latches are reset */
	c->isr = 0;
	c->imr = 0;
	c->lowest_priority = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_on_auto_eoi = false;
	c->icw4_needed = value & ICW1_IC4;
	c->single = value & ICW1_SINGLE;
	if (!c->icw4_needed)
		c->auto_eoi = false; /* ICW4 functions are cleared */
	/* LTIM (bit 3) is ignored: the ELCR decides, as on PIIX chipsets. */
	c->init_step = 2;
}

static void write_ocw2(struct vpic_chip *c, u8 value)
{
	u8 level = value & 7;
	int top = highest(c, c->isr);

	switch ((enum ocw2_command)(value >> 5)) {
	case OCW2_ROTATE_AEOI_CLEAR:
		c->rotate_on_auto_eoi = false;
		return;
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_on_auto_eoi = true;
		return;
	case OCW2_NONSPECIFIC_EOI:
	case OCW2_ROTATE_NONSPECIFIC_EOI:
		if (top < 0)
			return;
		c->isr &= (u8) ~(1u << top);
		if ((value >> 5) == OCW2_ROTATE_NONSPECIFIC_EOI)
			c->lowest_priority = (u8)top;
		return;
	case OCW2_SPECIFIC_EOI:
		c->isr &= (u8) ~(1u << level);
		return;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= (u8) ~(1u << level);
		c->lowest_priority = level;
		return;
	case OCW2_SET_PRIORITY:
		c->lowest_priority = level;
		return;
	case OCW2_NOP:
		return;
	}
}

static void write_ocw3(struct vpic_chip *c, u8 value)
{
	if (value & OCW3_ESMM)
		c->special_mask = value & OCW3_SMM;
	if (value & OCW3_POLL)
		c->poll = true;
	if (value & OCW3_RR)
		c->read_isr = value & OCW3_RIS;
}

static void write_command(struct vpic_chip *c, u8 value)
{
	if (value & ICW1_SELECT)
		write_icw1(c, value);
	else if (value & OCW3_SELECT)
		write_ocw3(c, value);
	else
		write_ocw2(c, value);
}

/* ICW2-4 while initialising, OCW1 (the mask) otherwise. */
static void write_data(struct vpic_chip *c, u8 value)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = value & 0xf8;
		if (!c->single)
			c->init_step = 3;
		else
			c->init_step = c->icw4_needed ? 4 : 0;
		return;
	case 3:
		c->cascade = value;
		c->init_step = c->icw4_needed ? 4 : 0;
		return;
	case 4:
		/* Bit 0 (8086 mode) is assumed; MCS-80 call vectors are not
		 * modelled. Buffered and fully-nested modes change nothing a
		 * guest can observe here. */
		c->auto_eoi = value & ICW4_AUTO_EOI;
		c->init_step = 0;
		return;
	default:
		c->imr = value;
		return;
	}
}

/* The poll command: an acknowledge cycle read through the command port. */
static u8 read_poll(struct vpic_chip *c)
{
	int ir = chip_output(c);

	c->poll = false;
	if (ir < 0)
		return 0;
	chip_acknowledge(c, (u8)ir);
	return (u8)(POLL_REQUESTED | ir);
}

u8 vpic_read(struct vpic *pic, u16 port)
{
	struct vpic_chip *c;
	u8 value;

	switch (port) {
	case VPIC_ELCR_PORT:
	case VPIC_ELCR_PORT + 1:
		return pic->chip[port - VPIC_ELCR_PORT].elcr;
	case VPIC_MASTER_PORT + 1:
	case VPIC_SLAVE_PORT + 1:
		return pic->chip[port == VPIC_SLAVE_PORT + 1].imr;
	case VPIC_MASTER_PORT:
	case VPIC_SLAVE_PORT:
		c = &pic->chip[port == VPIC_SLAVE_PORT];
		if (c->poll) {
			value = read_poll(c);
			update_cascade(pic);
			return value;
		}
		return c->read_isr ? c->isr : requests(c);
	default:
		return 0xff;
	}
}

void vpic_write(struct vpic *pic, u16 port, u8 value)
{
	struct vpic_chip *c;

	switch (port) {
	case VPIC_ELCR_PORT:
	case VPIC_ELCR_PORT + 1:
		c = &pic->chip[port - VPIC_ELCR_PORT];
		value &= elcr_writable[port - VPIC_ELCR_PORT];
		/* A line changing trigger mode starts without a latched edge.
		 */
		c->irr &= (u8) ~(c->elcr ^ value);
		c->elcr = value;
		break;
	case VPIC_MASTER_PORT:
	case VPIC_SLAVE_PORT:
		write_command(&pic->chip[port == VPIC_SLAVE_PORT], value);
		break;
	case VPIC_MASTER_PORT + 1:
	case VPIC_SLAVE_PORT + 1:
		write_data(&pic->chip[port == VPIC_SLAVE_PORT + 1], value);
		break;
	default:
		return;
	}
	update_cascade(pic);
}

static u32 io_read_byte(void *opaque, u16 port, u8 size)
{
	(void)size; /* always 1: iobus_read_bytewise() */
	return vpic_read(opaque, port);
}

static void io_write_byte(void *opaque, u16 port, u8 size, u32 value)
{
	(void)size;
	vpic_write(opaque, port, (u8)value);
}

u32 vpic_io_read(void *opaque, u16 port, u8 size)
{
	return iobus_read_bytewise(io_read_byte, opaque, port, size);
}

void vpic_io_write(void *opaque, u16 port, u8 size, u32 value)
{
	iobus_write_bytewise(io_write_byte, opaque, port, size, value);
}
