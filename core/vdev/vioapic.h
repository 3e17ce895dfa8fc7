/* SPDX-License-Identifier: MIT */
/*
 * Virtual I/O APIC: 24 interrupt input pins, each routed by a redirection
 * table entry to local APICs as an interrupt message.
 *
 * Pure state machine (no I/O, no time): device models drive pins with
 * vioapic_set_irq(), messages leave through the deliver callback, and the
 * core forwards each local APIC EOI of a level-triggered vector to
 * vioapic_eoi(). Register set per the Intel 82093AA I/O APIC data sheet
 * (order 290566), sections 3.1.1-3.1.2 (IOREGSEL / IOWIN) and 3.2.1-3.2.4
 * (ID, version, arbitration, redirection table). docs/devices.md says what is
 * and is not emulated.
 */
#ifndef VENEER_CORE_VDEV_VIOAPIC_H
#define VENEER_CORE_VDEV_VIOAPIC_H

#include "core/lib/types.h"

#define VIOAPIC_DEFAULT_BASE 0xfec00000ull
#define VIOAPIC_MMIO_SIZE    0x20 /* IOREGSEL at 0x00, IOWIN at 0x10 */
#define VIOAPIC_PINS	     24
#define VIOAPIC_VERSION	     0x11 /* 82093AA */

/* Redirection entry fields (82093AA 3.2.4). */
#define VIOAPIC_RTE_VECTOR	    0xffull
#define VIOAPIC_RTE_DELIVERY_MODE   0x700ull
#define VIOAPIC_RTE_DEST_LOGICAL    BIT(11)
#define VIOAPIC_RTE_DELIVERY_STATUS BIT(12)
#define VIOAPIC_RTE_POLARITY_LOW    BIT(13)
#define VIOAPIC_RTE_REMOTE_IRR	    BIT(14)
#define VIOAPIC_RTE_LEVEL	    BIT(15)
#define VIOAPIC_RTE_MASKED	    BIT(16)
#define VIOAPIC_RTE_DEST_SHIFT	    56

/* Delivery modes (82093AA 3.2.4, bits 10:8). */
#define VIOAPIC_DELIVERY_FIXED	0
#define VIOAPIC_DELIVERY_LOWEST 1
#define VIOAPIC_DELIVERY_SMI	2
#define VIOAPIC_DELIVERY_NMI	4
#define VIOAPIC_DELIVERY_INIT	5
#define VIOAPIC_DELIVERY_EXTINT 7

enum vioapic_error {
	VIOAPIC_ERR_OFFSET = -1, /* not IOREGSEL (0x00) or IOWIN (0x10) */
	VIOAPIC_ERR_SIZE = -2,	 /* not a 32-bit access (or byte IOREGSEL) */
};

/* A short description of a vioapic_error value. */
const char *vioapic_error_name(int err);

/* One interrupt message, as the redirection entry describes it. */
struct vioapic_msg {
	u8 pin;
	u8 dest;	      /* APIC ID, or logical destination (8 bits) */
	bool dest_logical;    /* bit 11 */
	u8 delivery_mode;     /* VIOAPIC_DELIVERY_* */
	u8 vector;	      /* meaningless for NMI / INIT / ExtINT */
	bool level_triggered; /* bit 15: the local APIC sets TMR */
};

/*
 * Sends one message to the local APICs it names. The core matches
 * vCPUs with vlapic_match_dest() and calls vlapic_accept_irq() (fixed,
 * lowest priority: one of them) or its own NMI / INIT / ExtINT path. May
 * call back into the vioapic (vioapic_eoi). Returns whether a local APIC
 * accepted it: one that refuses it (vector 0-15, SDM Vol. 3A 11.5.3), no
 * APIC that matches, or a mode the core does not route is not accepted.
 * A level-triggered entry keeps remote IRR only for an accepted message
 * (82093AA 3.2.4: set "when local APIC(s) accept the level interrupt"),
 * so a refused one never leaves the pin waiting for an EOI that cannot
 * come.
 */
typedef bool (*vioapic_deliver_fn)(void *opaque, const struct vioapic_msg *m);

struct vioapic {
	u8 id;	   /* bits 27:24 of the ID register */
	u8 regsel; /* IOREGSEL */
	u64 rte[VIOAPIC_PINS];
	u32 asserted; /* bit n: pin n's input is asserted */
	vioapic_deliver_fn deliver;
	void *opaque;
};

/*
 * Reset state: the given ID (0-15), all entries masked (82093AA 3.2.4),
 * all inputs deasserted. Returns false for an ID above 15.
 */
bool vioapic_init(struct vioapic *io, u8 id, vioapic_deliver_fn deliver,
		  void *opaque);

/*
 * Guest access at `offset` into the I/O APIC page: 32-bit at 0x00 or
 * 0x10, or a byte write / read of IOREGSEL. Returns 0 or a
 * vioapic_error (the access changes nothing; reads give 0). Registers
 * that do not exist read 0 and ignore writes, as on the 82093AA.
 */
int vioapic_mmio_read(struct vioapic *io, u32 offset, u8 size, u32 *out);
int vioapic_mmio_write(struct vioapic *io, u32 offset, u8 size, u32 value);

/*
 * Drives input `pin` (0-23): `asserted` is the logical state (the
 * polarity bit is reported, not applied). Edge-triggered entries send a
 * message on each deasserted -> asserted change while unmasked; a masked
 * edge is lost. Level-triggered entries send while asserted, unmasked
 * and with remote IRR clear, and set remote IRR. False for a bad pin.
 */
bool vioapic_set_irq(struct vioapic *io, u8 pin, bool asserted);

/*
 * A local APIC EOI of `vector` (level-triggered): clears remote IRR of
 * every level entry with that vector and sends again for those whose input
 * is still asserted.
 */
void vioapic_eoi(struct vioapic *io, u8 vector);

/* The redirection entry of `pin` (tests, the operator shell). */
u64 vioapic_entry(const struct vioapic *io, u8 pin);

#endif /* VENEER_CORE_VDEV_VIOAPIC_H */
