/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as a loader sees it, and what the loaders (core/elf.c,
 * core/mbguest.c, core/linux.c) share: checked writes into guest RAM,
 * range overlap, and the refusal sentence.
 *
 * A guest's RAM is one contiguous host range mapped at guest-physical 0
 * (docs/design.md, "Memory"), so a loader writes into a plain buffer:
 * the hypervisor passes the guest's own RAM, host unit tests and
 * tools/linux-loader pass an array. Every write is checked against the
 * view: nothing lands outside [0, size).
 */
#ifndef VENEER_CORE_GUESTMEM_H
#define VENEER_CORE_GUESTMEM_H

#include "core/lib/types.h"

struct guest_mem {
	u8 *base; /* guest-physical 0 in host memory */
	u64 size; /* guest RAM is guest-physical [0, size) */
};

/* Host pointer to guest-physical [gpa, gpa + len), or NULL if not all RAM. */
void *guest_mem_ptr(const struct guest_mem *mem, u64 gpa, u64 len);

/* Copy len bytes to guest-physical gpa: 0, or -1 (nothing written) when
 * the range is not all RAM. */
int guest_mem_write(const struct guest_mem *mem, u64 gpa, const void *src,
		    u64 len);

/* Zero guest-physical [gpa, gpa + len): 0, or -1 (nothing written). */
int guest_mem_zero(const struct guest_mem *mem, u64 gpa, u64 len);

/* [a_start, a_end) and [b_start, b_end) share at least one byte. */
static inline bool ranges_overlap(u64 a_start, u64 a_end, u64 b_start,
				  u64 b_end)
{
	return a_start < b_end && b_start < a_end;
}

/* Room for a loader's refusal sentence, its NUL included. */
#define LOADER_ERROR_MAX 200

/*
 * A loader refuses an image: formats the sentence that names the problem
 * and the numbers involved into `error` and returns -1, so that
 * `return loader_refuse(...)` ends the check.
 */
int loader_refuse(char error[LOADER_ERROR_MAX], const char *fmt, ...)
    __printf(2, 3);

#endif /* VENEER_CORE_GUESTMEM_H */
