/* SPDX-License-Identifier: MIT */
/*
 * A minimal 8042 keyboard controller at 0x60 (data) and 0x64 (status /
 * command), with no keyboard and no mouse behind it. It is there for the
 * guest's reset path (command 0xFE, or bit 0 of the output port cleared
 * through command 0xD1) and for code that probes the controller itself:
 * status register, self-test (0xAA -> 0x55), interface tests, the
 * command byte, the output port and the 0xD2/0xD3 echo commands.
 * Bytes sent to the absent keyboard are dropped with the timeout bit set.
 * Commands per the IBM PC/AT Technical Reference, "Keyboard Controller".
 *
 * Beside it, the other half of the PC's reset and A20 logic: system
 * control port A at 0x92 (IBM PS/2 Hardware Interface Technical
 * Reference, "System Control Port A"): bit 0 alternate (fast) reset,
 * bit 1 alternate A20 gate, bit 3 security lock latch, bit 4 watchdog
 * status, bits 7:6 fixed-disk light; docs/devices-legacy.md says what each
 * does here.
 */
#ifndef VENEER_CORE_VDEV_VI8042_H
#define VENEER_CORE_VDEV_VI8042_H

#include "core/lib/types.h"
#include "core/vdev/isa.h"

#define VI8042_DATA_PORT    0x60
#define VI8042_COMMAND_PORT 0x64 /* reads: status */
#define VI8042_KBD_IRQ	    1
#define VI8042_AUX_IRQ	    12
#define VI8042_CMD_RESET    0xfe /* pulse the CPU reset line */
#define VI8042_PORT_A	    0x92 /* system control port A */
#define VI8042_PORT_A_RESET 0x01 /* 0 -> 1: alternate (fast) reset */
#define VI8042_PORT_A_A20   0x02 /* alternate A20 gate */

/* Called once per reset request; the owner restarts the guest. */
typedef void (*vi8042_reset_fn)(void *opaque);

struct vi8042 {
	u8 status;
	u8 command_byte; /* the controller's configuration byte */
	u8 output_port;
	u8 output;	 /* output buffer */
	u8 pending;	 /* command waiting for its data byte, or 0 */
	u8 port_a;	 /* system control port A (0x92) as it reads */
	bool output_aux; /* the output buffer holds a mouse byte */
	bool reset_requested;
	vi8042_reset_fn reset;
	void *reset_opaque;
	isa_irq_fn set_irq;
	void *irq_opaque;
};

/*
 * Both callbacks may be NULL; reset_requested is latched regardless (the
 * 8042's reset and port 0x92's fast reset alike).
 */
void vi8042_init(struct vi8042 *kbc, vi8042_reset_fn reset, void *reset_opaque,
		 isa_irq_fn set_irq, void *irq_opaque);

u8 vi8042_read(struct vi8042 *kbc, u16 port);
void vi8042_write(struct vi8042 *kbc, u16 port, u8 value);

/* I/O-bus shape; register the same functions for 0x60, 0x64 and 0x92. */
u32 vi8042_io_read(void *opaque, u16 port, u8 size);
void vi8042_io_write(void *opaque, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_VDEV_VI8042_H */
