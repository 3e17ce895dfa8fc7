/* SPDX-License-Identifier: MIT */
/*
 * core/guestmem.c for the loader fuzz targets, with every call that hands
 * out or writes guest RAM counted: a loader promises that a refused image
 * leaves guest RAM untouched (core/elf.h, core/linux.h), so a refusal
 * after a counted call breaks that promise. The real functions are
 * renamed real_* by the defines below and called by the counting ones.
 */
#define guest_mem_ptr	real_guest_mem_ptr
#define guest_mem_write real_guest_mem_write
#define guest_mem_zero	real_guest_mem_zero
#include "core/guestmem.c"
#undef guest_mem_ptr
#undef guest_mem_write
#undef guest_mem_zero

#include "tests/fuzz/guestmem_probe.h"

u32 guestmem_probe_calls;

void *guest_mem_ptr(const struct guest_mem *mem, u64 gpa, u64 len)
{
	guestmem_probe_calls++;
	return real_guest_mem_ptr(mem, gpa, len);
}

int guest_mem_write(const struct guest_mem *mem, u64 gpa, const void *src,
		    u64 len)
{
	guestmem_probe_calls++;
	return real_guest_mem_write(mem, gpa, src, len);
}

int guest_mem_zero(const struct guest_mem *mem, u64 gpa, u64 len)
{
	guestmem_probe_calls++;
	return real_guest_mem_zero(mem, gpa, len);
}
