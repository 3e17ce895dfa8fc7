/* SPDX-License-Identifier: MIT */
/*
 * A guest's port I/O space: which device model owns which ports.
 * Accesses to ports nobody owns read as all ones and drop writes, as on a
 * PC with nothing decoding the address.
 */
#ifndef VENEER_CORE_IOBUS_H
#define VENEER_CORE_IOBUS_H

#include "core/types.h"

#define IOBUS_MAX_HANDLERS 16

/* Read or write `size` (1, 2, 4) bytes at `port` (first <= port <= last). */
typedef u32 (*io_read_fn)(void *opaque, u16 port, u8 size);
typedef void (*io_write_fn)(void *opaque, u16 port, u8 size, u32 value);

struct io_handler {
	u16 first, last;
	io_read_fn read;
	io_write_fn write;
	void *opaque;
	const char *name;
};

struct iobus {
	u32 count;
	struct io_handler handlers[IOBUS_MAX_HANDLERS];
	u64 unowned_accesses;
};

/* Claim ports [first, last]; false when full or overlapping. */
bool iobus_register(struct iobus *bus, const struct io_handler *h);
u32 iobus_read(struct iobus *bus, u16 port, u8 size);
void iobus_write(struct iobus *bus, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_IOBUS_H */
