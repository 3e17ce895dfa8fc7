/* SPDX-License-Identifier: MIT */
/*
 * Virtual dual 8259A programmable interrupt controller: the master at
 * 0x20/0x21 with the slave cascaded on its IR2 (0xA0/0xA1), and the edge /
 * level control registers of PIIX-class chipsets at 0x4D0/0x4D1.
 *
 * Pure state machine (no I/O, no time). Device models drive the ISA lines
 * with vpic_set_irq(); the core asks vpic_pending_vector() at its
 * pre-entry check and runs the interrupt-acknowledge cycle with vpic_ack()
 * when it injects. Register behaviour per the Intel 8259A data sheet
 * (order 231468); ELCR per the Intel 82371AB (PIIX4) data sheet 4.1.
 */
#ifndef VENEER_CORE_VDEV_VPIC_H
#define VENEER_CORE_VDEV_VPIC_H

#include "core/lib/types.h"

#define VPIC_MASTER_PORT 0x20  /* 0x20 command, 0x21 data */
#define VPIC_SLAVE_PORT	 0xa0  /* 0xa0 command, 0xa1 data */
#define VPIC_ELCR_PORT	 0x4d0 /* 0x4d0 master, 0x4d1 slave */
#define VPIC_CASCADE_IRQ 2     /* master input the slave's output drives */
#define VPIC_IRQS	 16

/* One 8259A. Bit n of each 8-bit register is that chip's input IRn. */
struct vpic_chip {
	u8 irr, isr, imr;
	u8 elcr;	    /* 1 = level-triggered input */
	u8 input;	    /* current level of each input line */
	u8 vector_base;	    /* ICW2 bits 7:3 */
	u8 lowest_priority; /* IR with the lowest priority (rotation) */
	u8 cascade;	    /* ICW3 as written (kept for reads of state) */
	u8 init_step;	    /* 0 = ready, 2/3/4 = expecting ICW2/3/4 */
	bool icw4_needed, single, auto_eoi, rotate_on_auto_eoi;
	bool special_mask, read_isr, poll;
};

struct vpic {
	struct vpic_chip chip[2]; /* [0] master, [1] slave */
	u64 spurious;		  /* acknowledge cycles that found no request */
};

/* Power-on state: both chips uninitialised with all inputs masked. */
void vpic_init(struct vpic *pic);

/*
 * Drives ISA line `irq` (0-15) to `level`. An edge-triggered input latches
 * a request on its rising edge (the latch survives the falling edge, so a
 * pulse is enough); a level-triggered one requests while it is high.
 * Returns false (and changes nothing) for IRQ 2, which is the cascade and
 * cannot be driven from outside, and for irq > 15.
 */
bool vpic_set_irq(struct vpic *pic, u8 irq, bool level);

/*
 * The vector the master's INT output is presenting, or -1 when INT is low.
 * No side effects: the core calls it as often as it likes.
 */
int vpic_pending_vector(const struct vpic *pic);

/*
 * The interrupt-acknowledge cycle: returns the vector the CPU receives and
 * moves the request into service (unless in auto-EOI mode). When no
 * request is left at that moment the 8259A answers IR7 of the chip asked
 * (vector base + 7) without setting its in-service bit: a spurious
 * interrupt, counted in pic->spurious.
 */
u8 vpic_ack(struct vpic *pic);

/* Port access: 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1, one byte at a time. */
u8 vpic_read(struct vpic *pic, u16 port);
void vpic_write(struct vpic *pic, u16 port, u8 value);

/*
 * The same in the I/O-bus handler shape (core/iobus.h), opaque = the vpic.
 * A wider access is byte accesses to consecutive ports
 * (iobus_read_bytewise(): a word read of 0x20 returns 0x21 in the high
 * byte).
 */
u32 vpic_io_read(void *opaque, u16 port, u8 size);
void vpic_io_write(void *opaque, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_VDEV_VPIC_H */
