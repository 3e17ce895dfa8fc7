/* SPDX-License-Identifier: MIT */
/*
 * Virtual 8254 programmable interval timer (ports 0x40-0x43) and the
 * timer-2 gate / output bits of system control port B (0x61).
 *
 * Counter values are a pure function of the guest time passed in, at
 * exactly VPIT_HZ, so a guest that calibrates its TSC against channel 2
 * (gate via port 0x61 bit 0, output in bit 5) measures the guest clock and
 * nothing else. Channel 0 output drives ISA IRQ 0 through the isa_irq_fn;
 * the core programs an exit at vpit_next_deadline_ns() and calls
 * vpit_tick() then. Behaviour per the Intel 82C54 data sheet (order
 * 231244) "Operational Description"; port 0x61 per the Intel 82371AB
 * (PIIX4) data sheet, NMI Status and Control Register.
 */
#ifndef VENEER_CORE_VDEV_VPIT_H
#define VENEER_CORE_VDEV_VPIT_H

#include "core/lib/types.h"
#include "core/vdev/isa.h"

#define VPIT_PORT	   0x40	   /* 0x40-0x42 counters, 0x43 control word */
#define VPIT_PORT_B	   0x61	   /* system control port B */
#define VPIT_HZ		   1193182 /* input clock: 14.31818 MHz / 12 */
#define VPIT_CHANNELS	   3
#define VPIT_IRQ	   0	 /* channel 0 output */
#define VPIT_REFRESH_NS	   15085 /* port B bit 4 toggles this often */
#define VPIT_PORT_B_GATE2  0x01
#define VPIT_PORT_B_SPKR   0x02
#define VPIT_PORT_B_REFRSH 0x10
#define VPIT_PORT_B_OUT2   0x20
/*
 * In the periodic modes (2, 3) channel 0 pulses IRQ 0 at most once per
 * 500 us (2 kHz) of guest time: the edges in between collapse into the
 * next pulse. The counter itself keeps VPIT_HZ (a guest reading it sees
 * the count it programmed). Why, and why 500 us: docs/devices-legacy.md,
 * "8254 PIT".
 */
#define VPIT_MIN_IRQ_PERIOD_NS 500000

struct vpit_channel {
	u8 mode;	  /* 0-5 as it behaves (6 and 7 become 2 and 3) */
	u8 mode_bits;	  /* as written, for the read-back status */
	u8 access;	  /* 1 LSB only, 2 MSB only, 3 LSB then MSB */
	bool bcd;	  /* counts in four BCD digits */
	bool counting;	  /* a count was written after the control word */
	u32 reload;	  /* initial count: 1-65536 (1-10000 in BCD) */
	bool gate;	  /* input level; 1 for channels 0 and 1 */
	bool running;	  /* the gate lets the counter run */
	u64 start_ns;	  /* when the current run began */
	u64 ticks_before; /* clocks counted before the current run */
	bool write_msb_next;
	u8 write_lsb;
	bool read_msb_next;
	bool count_latched, status_latched;
	u16 latched_count;
	u8 latched_status;
	/* Channel 0 only: what has been told to the interrupt line. */
	u64 edges_reported;    /* rising edges of this run already pulsed */
	bool irq_level;	       /* for modes 0/1, whose output is a level */
	u64 irq_not_before_ns; /* modes 2/3: the next pulse's earliest time */
};

struct vpit {
	struct vpit_channel ch[VPIT_CHANNELS];
	u8 port_b; /* writable bits 3:0 of port 0x61 */
	isa_irq_fn set_irq;
	void *irq_opaque;
	guest_clock_fn clock; /* for the I/O-bus adapters only */
	void *clock_opaque;
};

/*
 * Power-on state: no channel programmed (the guest sets them up; nothing
 * interrupts before it does), channel 2 gate low. `clock` may be NULL if
 * only the explicit-time functions are used.
 */
void vpit_init(struct vpit *pit, isa_irq_fn set_irq, void *irq_opaque,
	       guest_clock_fn clock, void *clock_opaque);

/* One-byte access to 0x40-0x43 or 0x61 at guest time now_ns. */
u8 vpit_read(struct vpit *pit, u16 port, u64 now_ns);
void vpit_write(struct vpit *pit, u16 port, u8 value, u64 now_ns);

/*
 * Brings IRQ 0 up to date with the time: one pulse (high, then low) if
 * channel 0 in a periodic mode passed one or more periods since the last
 * report (late calls collapse missed periods into one, as an edge latch
 * would; a pulse waits until VPIT_MIN_IRQ_PERIOD_NS after the last one),
 * or the new level in mode 0/1.
 */
void vpit_tick(struct vpit *pit, u64 now_ns);

/*
 * The guest took, at now_ns, what channel 0's last pulse raised (the NMI
 * an IOAPIC entry in NMI mode made of it): in a periodic mode the next
 * pulse waits VPIT_MIN_IRQ_PERIOD_NS from here, not from the pulse. An
 * NMI cannot be masked, and each one costs exits (the pulse's, the NMI
 * window's) that count as guest time: counted from the pulse, a floor
 * shorter than those exits (an emulator's slow ones) left the guest no
 * instruction between one NMI's IRET and the next NMI. Counted from the
 * delivery, the guest runs most of the floor every period.
 */
void vpit_irq_taken(struct vpit *pit, u64 now_ns);

/*
 * Guest time at which vpit_tick() has something to report next, or 0 when
 * channel 0 will not change its interrupt line by itself. ~0 is never (a
 * time past 2^64 ns); after vpit_tick(now) it is 0, ~0 or later than now.
 */
u64 vpit_next_deadline_ns(const struct vpit *pit);

/*
 * Channel 0 counts in a periodic mode (2 or 3): IRQ 0 will pulse again and
 * again by itself. (The platform leaves out the deadline of a pulse that
 * could change nothing, core/platform.c.)
 */
bool vpit_irq_periodic(const struct vpit *pit);

/* The value channel `channel` would show if latched now (for tests/debug). */
u16 vpit_counter_value(const struct vpit *pit, u8 channel, u64 now_ns);

/*
 * I/O-bus shape (core/iobus.h), time from the clock given at init. A wider
 * access is byte accesses to consecutive ports (iobus_read_bytewise()).
 */
u32 vpit_io_read(void *opaque, u16 port, u8 size);
void vpit_io_write(void *opaque, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_VDEV_VPIT_H */
