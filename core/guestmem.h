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
 * Zero [gpa, gpa+len) with `zero` when the loader has one, otherwise by
 * writing zeroes through `write`. Returns the callback's first failure.
 */
int guest_zero_range(guest_write_fn write, guest_zero_fn zero, void *opaque,
		     u64 gpa, u64 len);

#endif /* VENEER_CORE_GUESTMEM_H */
