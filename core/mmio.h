/* SPDX-License-Identifier: MIT */
/*
 * A guest's emulated MMIO: guest-physical ranges that are not RAM but a
 * device model. An access there exits as an EPT violation / NPT fault;
 * Veneer fetches and decodes the instruction (core/decode.c), performs the
 * access on the device and completes the instruction.
 */
#ifndef VENEER_CORE_MMIO_H
#define VENEER_CORE_MMIO_H

#include "core/lib/types.h"

#define MMIO_MAX_REGIONS 32

struct vcpu;

/* Access `size` (1, 2, 4, 8) bytes at `offset` into the region. Return 0,
 * or -1 for an access the device refuses (the guest gets #GP). */
typedef int (*mmio_read_fn)(void *opaque, struct vcpu *vcpu, u64 offset,
			    u8 size, u64 *value);
typedef int (*mmio_write_fn)(void *opaque, struct vcpu *vcpu, u64 offset,
			     u8 size, u64 value);

struct mmio_region {
	u64 base, size;
	mmio_read_fn read;
	mmio_write_fn write;
	void *opaque;
	const char *name;
	/* Its reads change no timer, no console state and no request (as
	 * struct io_handler.read_quiet, core/iobus.h). */
	bool read_quiet;
};

struct mmio_bus {
	u32 count;
	struct mmio_region regions[MMIO_MAX_REGIONS];
	/* The last emulated instruction only read, from a read_quiet region
	 * (the lean path, core/vcpu.c). */
	bool last_quiet;
};

/* Claim [base, base+size); false when full or overlapping. */
bool mmio_register(struct mmio_bus *bus, const struct mmio_region *r);
/* Give up every region whose opaque is `owner` (a device whose BAR the
 * guest moved): how many there were. By owner, not by address, so that a
 * device that never got its region cannot take another's. */
u32 mmio_remove(struct mmio_bus *bus, const void *owner);
/* The region holding gpa, or NULL. */
const struct mmio_region *mmio_find(const struct mmio_bus *bus, u64 gpa);

#endif /* VENEER_CORE_MMIO_H */
