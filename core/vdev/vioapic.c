/* SPDX-License-Identifier: MIT */
#include "core/vdev/vioapic.h"

#define OFFSET_IOREGSEL 0x00
#define OFFSET_IOWIN	0x10

/* Register indices behind IOWIN (82093AA 3.2). */
#define REG_ID	      0x00
#define REG_VERSION   0x01
#define REG_ARB	      0x02
#define REG_RTE_FIRST 0x10 /* pin n: low 0x10 + 2n, high 0x11 + 2n */
#define REG_RTE_LAST  (REG_RTE_FIRST + 2 * VIOAPIC_PINS - 1)

#define ID_SHIFT 24
#define ID_MASK	 0xfu
/* Version register: bits 23:16 hold the highest entry number. */
#define VERSION_VALUE (((u32)(VIOAPIC_PINS - 1) << 16) | VIOAPIC_VERSION)
/* Bits of an entry's low half the guest may write (82093AA 3.2.4). */
#define RTE_LOW_WRITABLE                                                       \
	(VIOAPIC_RTE_VECTOR | VIOAPIC_RTE_DELIVERY_MODE |                      \
	 VIOAPIC_RTE_DEST_LOGICAL | VIOAPIC_RTE_POLARITY_LOW |                 \
	 VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_MASKED)
#define RTE_HIGH_WRITABLE (0xffull << VIOAPIC_RTE_DEST_SHIFT)

const char *vioapic_error_name(int err)
{
	switch (err) {
	case VIOAPIC_ERR_OFFSET:
		return "I/O APIC access outside IOREGSEL (0x00) and IOWIN "
		       "(0x10)";
	case VIOAPIC_ERR_SIZE:
		return "I/O APIC access is not 32 bits wide";
	default:
		return "unknown vioapic error";
	}
}

bool vioapic_init(struct vioapic *io, u8 id, vioapic_deliver_fn deliver,
		  void *opaque)
{
	if (id > ID_MASK)
		return false;
	io->id = id;
	io->regsel = 0;
	for (int pin = 0; pin < VIOAPIC_PINS; pin++)
		io->rte[pin] = VIOAPIC_RTE_MASKED;
	io->asserted = 0;
	io->deliver = deliver;
	io->opaque = opaque;
	return true;
}

u64 vioapic_entry(const struct vioapic *io, u8 pin)
{
	return pin < VIOAPIC_PINS ? io->rte[pin] : 0;
}

static bool pin_asserted(const struct vioapic *io, u8 pin)
{
	return io->asserted & (1u << pin);
}

static u8 delivery_mode(u64 rte)
{
	return (u8)((rte & VIOAPIC_RTE_DELIVERY_MODE) >> 8);
}

/*
 * Remote IRR tracks level interrupts a local APIC accepted and will EOI:
 * fixed and lowest-priority ones. NMI, INIT and ExtINT get no EOI.
 */
static bool uses_remote_irr(u64 rte)
{
	u8 mode = delivery_mode(rte);

	return (rte & VIOAPIC_RTE_LEVEL) && (mode == VIOAPIC_DELIVERY_FIXED ||
					     mode == VIOAPIC_DELIVERY_LOWEST);
}

/*
 * Sends pin's message. The entry is final before the callback runs (it may
 * EOI and so re-enter); remote IRR is taken back if no APIC accepted.
 */
static void send(struct vioapic *io, u8 pin)
{
	u64 rte = io->rte[pin];
	struct vioapic_msg msg = {
	    .pin = pin,
	    .dest = (u8)(rte >> VIOAPIC_RTE_DEST_SHIFT),
	    .dest_logical = rte & VIOAPIC_RTE_DEST_LOGICAL,
	    .delivery_mode = delivery_mode(rte),
	    .vector = (u8)(rte & VIOAPIC_RTE_VECTOR),
	    .level_triggered = rte & VIOAPIC_RTE_LEVEL,
	};
	bool remote_irr = uses_remote_irr(rte);

	if (remote_irr)
		io->rte[pin] |= VIOAPIC_RTE_REMOTE_IRR;
	if (io->deliver && io->deliver(io->opaque, &msg))
		return;
	if (remote_irr)
		io->rte[pin] &= ~VIOAPIC_RTE_REMOTE_IRR;
}

/* A level entry sends while asserted, unmasked and not awaiting an EOI. */
static void service_level(struct vioapic *io, u8 pin)
{
	u64 rte = io->rte[pin];

	if (!(rte & VIOAPIC_RTE_LEVEL) || (rte & VIOAPIC_RTE_MASKED) ||
	    (rte & VIOAPIC_RTE_REMOTE_IRR) || !pin_asserted(io, pin))
		return;
	send(io, pin);
}

bool vioapic_set_irq(struct vioapic *io, u8 pin, bool asserted)
{
	bool was;

	if (pin >= VIOAPIC_PINS)
		return false;
	was = pin_asserted(io, pin);
	if (asserted)
		io->asserted |= 1u << pin;
	else
		io->asserted &= ~(1u << pin);
	if (!asserted || was)
		return true; /* only a new assertion can start a message */
	if (io->rte[pin] & VIOAPIC_RTE_LEVEL)
		service_level(io, pin);
	else if (!(io->rte[pin] & VIOAPIC_RTE_MASKED))
		send(io, pin); /* a masked edge is lost */
	return true;
}

void vioapic_eoi(struct vioapic *io, u8 vector)
{
	for (u8 pin = 0; pin < VIOAPIC_PINS; pin++) {
		u64 rte = io->rte[pin];

		if (!(rte & VIOAPIC_RTE_REMOTE_IRR) ||
		    (rte & VIOAPIC_RTE_VECTOR) != vector)
			continue;
		io->rte[pin] &= ~VIOAPIC_RTE_REMOTE_IRR;
		service_level(io, pin); /* still asserted: again */
	}
}

static void write_rte(struct vioapic *io, u8 pin, bool high, u32 value)
{
	u64 rte = io->rte[pin];

	if (high) {
		rte = (rte & 0xffffffffull) |
		      (((u64)value << 32) & RTE_HIGH_WRITABLE);
	} else {
		/* Delivery status and remote IRR are read-only. */
		rte = (rte & ~RTE_LOW_WRITABLE) | (value & RTE_LOW_WRITABLE);
		if (!(rte & VIOAPIC_RTE_LEVEL))
			rte &= ~VIOAPIC_RTE_REMOTE_IRR; /* edge: no EOI due */
	}
	io->rte[pin] = rte;
	/* An unmasked level entry samples its input at once. */
	service_level(io, pin);
}

static u32 read_register(const struct vioapic *io, u8 reg)
{
	if (reg >= REG_RTE_FIRST && reg <= REG_RTE_LAST) {
		u64 rte = io->rte[(reg - REG_RTE_FIRST) / 2];

		/* Delivery is instant: delivery status always reads idle. */
		return (reg & 1) ? (u32)(rte >> 32) : (u32)rte;
	}
	switch (reg) {
	case REG_ID:
	case REG_ARB: /* loaded from the ID (82093AA 3.2.3) */
		return (u32)io->id << ID_SHIFT;
	case REG_VERSION:
		return VERSION_VALUE;
	default:
		return 0;
	}
}

static void write_register(struct vioapic *io, u8 reg, u32 value)
{
	if (reg >= REG_RTE_FIRST && reg <= REG_RTE_LAST) {
		write_rte(io, (u8)((reg - REG_RTE_FIRST) / 2), reg & 1, value);
		return;
	}
	if (reg == REG_ID)
		io->id = (u8)((value >> ID_SHIFT) & ID_MASK);
	/* Version, arbitration and absent registers ignore writes. */
}

static int check_access(u32 offset, u8 size)
{
	if (offset != OFFSET_IOREGSEL && offset != OFFSET_IOWIN)
		return VIOAPIC_ERR_OFFSET;
	if (size == 4 || (size == 1 && offset == OFFSET_IOREGSEL))
		return 0;
	return VIOAPIC_ERR_SIZE;
}

int vioapic_mmio_read(struct vioapic *io, u32 offset, u8 size, u32 *out)
{
	int err = check_access(offset, size);

	*out = 0;
	if (err)
		return err;
	if (offset == OFFSET_IOREGSEL)
		*out = io->regsel;
	else
		*out = read_register(io, io->regsel);
	return 0;
}

int vioapic_mmio_write(struct vioapic *io, u32 offset, u8 size, u32 value)
{
	int err = check_access(offset, size);

	if (err)
		return err;
	if (offset == OFFSET_IOREGSEL)
		io->regsel = (u8)value; /* bits 31:8 are reserved */
	else
		write_register(io, io->regsel, value);
	return 0;
}
