/* SPDX-License-Identifier: MIT */
/*
 * A guest's port I/O space: which device model owns which ports.
 * Accesses to ports nobody owns read as all ones and drop writes, as on a
 * PC with nothing decoding the address.
 */
#ifndef VENEER_CORE_IOBUS_H
#define VENEER_CORE_IOBUS_H

#include "core/lib/types.h"

#define IOBUS_MAX_HANDLERS 16
/* Ports below this (the ISA range, where the legacy devices are) are
 * found through a table, the rest by a scan of the handlers. */
#define IOBUS_ISA_PORTS 0x400

/* Read or write `size` (1, 2, 4) bytes at `port` (first <= port <= last). */
typedef u32 (*io_read_fn)(void *opaque, u16 port, u8 size);
typedef void (*io_write_fn)(void *opaque, u16 port, u8 size, u32 value);

struct io_handler {
	u16 first, last;
	io_read_fn read;
	io_write_fn write;
	void *opaque;
	const char *name;
	/*
	 * Its reads change no timer, no console state and no request: at
	 * most the device's own registers and, through the platform, its
	 * interrupt line (which the lean path looks at itself).
	 */
	bool read_quiet;
};

struct iobus {
	u32 count;
	struct io_handler handlers[IOBUS_MAX_HANDLERS];
	u64 unowned_accesses;
	/* Handler index + 1 for each ISA port, 0: nobody (iobus_register
	 * writes it; find() checks what it names, so a bus emptied by
	 * count = 0 only falls back to the scan). */
	u8 isa_owner[IOBUS_ISA_PORTS];
	/*
	 * The last access was quiet: a read of a read_quiet handler, or
	 * any access to a port nobody owns (the lean path, core/vcpu.c).
	 */
	bool last_quiet;
};

/*
 * Helpers for devices whose registers are 8 bits wide at consecutive ports
 * (the 8259, 8254, MC146818, the PCI data window): a 2- or 4-byte access
 * is `size` one-byte accesses at port, port + 1, ..., the least
 * significant byte at the lowest port (x86 is little-endian, SDM Vol. 1
 * 1.3.1; an I/O port of 16 or 32 bits is consecutive byte ports, Vol. 1
 * 18.3). `byte_read` / `byte_write` are called with size 1 once per byte,
 * in ascending port order (the port wraps from 0xffff to 0). A device's
 * io_read_fn / io_write_fn passes its accesses through these, so it sees
 * only byte accesses; bytes past its last port reach it too, and it treats
 * them as a port it does not decode (reads 0xff, drops writes). Inline, so
 * each device's byte function is called directly.
 */
static inline u32 iobus_read_bytewise(io_read_fn byte_read, void *opaque,
				      u16 port, u8 size)
{
	u32 value = 0;

	for (u8 i = 0; i < size && i < 4; i++)
		value |= (byte_read(opaque, (u16)(port + i), 1) & 0xff)
			 << (8 * i);
	return value;
}

static inline void iobus_write_bytewise(io_write_fn byte_write, void *opaque,
					u16 port, u8 size, u32 value)
{
	for (u8 i = 0; i < size && i < 4; i++)
		byte_write(opaque, (u16)(port + i), 1,
			   (value >> (8 * i)) & 0xff);
}

/* Claim ports [first, last]; false when full or overlapping. */
bool iobus_register(struct iobus *bus, const struct io_handler *h);
u32 iobus_read(struct iobus *bus, u16 port, u8 size);
void iobus_write(struct iobus *bus, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_IOBUS_H */
