/* SPDX-License-Identifier: MIT */
/*
 * Virtual MC146818 real-time clock and CMOS RAM at ports 0x70 (index, with
 * the NMI-disable bit 7) and 0x71 (data).
 *
 * The time of day is the epoch given at init plus the guest time passed
 * in, so it advances exactly with the guest clock. Registers 0-9 show it in
 * BCD or binary and in 24- or 12-hour form as register B says; the guest
 * may set it (with or without register B's SET bit). The update-in-progress
 * bit of register A is set for the 244 us before each second changes, as
 * on the chip. Periodic, alarm and update-ended interrupts are NOT
 * generated: register C reads 0 and IRQ 8 stays low (Linux does not need
 * them to boot; documented in docs/devices-legacy.md).
 * Registers per the Motorola MC146818A data sheet.
 */
#ifndef VENEER_CORE_VDEV_VRTC_H
#define VENEER_CORE_VDEV_VRTC_H

#include "core/lib/types.h"
#include "core/vdev/isa.h"

#define VRTC_PORT	     0x70 /* 0x70 index, 0x71 data */
#define VRTC_CMOS_SIZE	     128
#define VRTC_REG_A	     0x0a
#define VRTC_REG_B	     0x0b
#define VRTC_REG_C	     0x0c
#define VRTC_REG_D	     0x0d
#define VRTC_CENTURY_INDEX   0x32   /* named by the FADT's CENTURY field */
#define VRTC_UIP_NS	     244000 /* UIP leads the update by 244 us */
#define VRTC_NMI_DISABLE_BIT 0x80
/*
 * Time of day is kept for these years (the century register's range): the
 * clock stops at VRTC_LAST_YEAR-12-31 23:59:59.
 */
#define VRTC_FIRST_YEAR 1970
#define VRTC_LAST_YEAR	9999

struct vrtc {
	u8 index;	   /* port 0x70 bits 6:0 */
	bool nmi_disabled; /* port 0x70 bit 7 */
	u8 reg_a, reg_b;
	u8 cmos[VRTC_CMOS_SIZE]; /* alarm bytes 1/3/5 and RAM 0x0e-0x7f */
	u64 base_epoch_s;	 /* Unix time at guest time 0 */
	i64 offset_s;		 /* what the guest's clock setting added */
	u8 held[10];		 /* time registers while SET is on */
	u8 held_century;
	guest_clock_fn clock; /* for the I/O-bus adapters only */
	void *clock_opaque;
};

/*
 * A running clock showing Unix time `base_epoch_s` at guest time 0, in BCD
 * and 24-hour mode (register B = 0x02), divider normal (register A =
 * 0x26), RAM zero. `clock` may be NULL if only explicit-time calls are used.
 */
void vrtc_init(struct vrtc *rtc, u64 base_epoch_s, guest_clock_fn clock,
	       void *clock_opaque);

/*
 * Fills the CMOS bytes where PC firmware keeps memory sizes: 0x15/0x16
 * base memory (640 KiB), 0x17/0x18 and 0x30/0x31 KiB above 1 MiB (at most
 * 0xffff), 0x34/0x35 64-KiB units above 16 MiB below 4 GiB, 0x5b-0x5d
 * 64-KiB units above 4 GiB (the layout SeaBIOS reads). Optional.
 */
void vrtc_set_memory_size(struct vrtc *rtc, u64 ram_below_4g, u64 ram_above_4g);

/* One-byte access to 0x70 / 0x71 at guest time now_ns. */
u8 vrtc_read(struct vrtc *rtc, u16 port, u64 now_ns);
void vrtc_write(struct vrtc *rtc, u16 port, u8 value, u64 now_ns);

/* Whether the guest has set port 0x70 bit 7 (the core may gate NMIs). */
bool vrtc_nmi_disabled(const struct vrtc *rtc);

/* The Unix time the clock shows at now_ns (whole seconds, at most the
 * last second of VRTC_LAST_YEAR). */
u64 vrtc_unix_time(const struct vrtc *rtc, u64 now_ns);

/*
 * I/O-bus shape (core/iobus.h), time from the clock given at init. A wider
 * access is byte accesses to consecutive ports (iobus_read_bytewise()).
 */
u32 vrtc_io_read(void *opaque, u16 port, u8 size);
void vrtc_io_write(void *opaque, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_VDEV_VRTC_H */
