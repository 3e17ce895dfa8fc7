/* SPDX-License-Identifier: MIT */
#include "core/iobus.h"

bool iobus_register(struct iobus *bus, const struct io_handler *h)
{
	if (bus->count == IOBUS_MAX_HANDLERS || h->first > h->last)
		return false;
	for (u32 i = 0; i < bus->count; i++) {
		const struct io_handler *o = &bus->handlers[i];

		if (h->first <= o->last && o->first <= h->last)
			return false;
	}
	bus->handlers[bus->count++] = *h;
	for (u32 port = h->first; port <= h->last && port < IOBUS_ISA_PORTS;
	     port++)
		bus->isa_owner[port] = (u8)bus->count;
	return true;
}

static const struct io_handler *find(const struct iobus *bus, u16 port)
{
	_Static_assert(IOBUS_MAX_HANDLERS < 256, "isa_owner holds an index");
	if (port < IOBUS_ISA_PORTS) {
		u32 owner = bus->isa_owner[port];
		const struct io_handler *h;

		if (!owner)
			return NULL;
		h = &bus->handlers[owner - 1];
		if (owner <= bus->count && port >= h->first && port <= h->last)
			return h;
	}
	for (u32 i = 0; i < bus->count; i++) {
		const struct io_handler *h = &bus->handlers[i];

		if (port >= h->first && port <= h->last)
			return h;
	}
	return NULL;
}

static u32 all_ones(u8 size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

u32 iobus_read(struct iobus *bus, u16 port, u8 size)
{
	const struct io_handler *h = find(bus, port);

	if (!h || !h->read) {
		bus->unowned_accesses++;
		bus->last_quiet = true;
		return all_ones(size);
	}
	bus->last_quiet = h->read_quiet;
	return h->read(h->opaque, port, size) & all_ones(size);
}

void iobus_write(struct iobus *bus, u16 port, u8 size, u32 value)
{
	const struct io_handler *h = find(bus, port);

	if (!h || !h->write) {
		bus->unowned_accesses++;
		bus->last_quiet = true;
		return;
	}
	bus->last_quiet = false;
	h->write(h->opaque, port, size, value & all_ones(size));
}
