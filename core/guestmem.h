/* SPDX-License-Identifier: MIT */
/*
 * Writing guest memory through a loader's callbacks: the part the ELF,
 * multiboot and Linux loaders share.
 */
#ifndef VENEER_CORE_GUESTMEM_H
#define VENEER_CORE_GUESTMEM_H

#include "core/types.h"

/* Copy len bytes to guest-physical gpa; 0 on success. */
typedef int (*guest_write_fn)(void *opaque, u64 gpa, const void *src, u64 len);
/* Zero [gpa, gpa+len); 0 on success. */
typedef int (*guest_zero_fn)(void *opaque, u64 gpa, u64 len);

/*
 * A guest's RAM as a loader sees it: its size and how to write into it.
 * The hypervisor writes through the nested page tables' backing pages; the
 * host unit tests and tools/linux-loader write into a buffer.
 */
struct guest_mem {
	u64 ram_size; /* guest RAM is guest-physical [0, ram_size) */
	/* Copies len bytes to guest-physical gpa; 0 on success. */
	guest_write_fn write_guest;
	/* Zeroes [gpa, gpa+len); 0 on success.  May be NULL: then zeroes
	 * are written through write_guest. */
	guest_zero_fn zero_guest;
	void *opaque;
};

/*
 * Zero [gpa, gpa+len) with `zero` when the loader has one, otherwise by
 * writing zeroes through `write`. Returns the callback's first failure.
 */
int guest_zero_range(guest_write_fn write, guest_zero_fn zero, void *opaque,
		     u64 gpa, u64 len);

#endif /* VENEER_CORE_GUESTMEM_H */
