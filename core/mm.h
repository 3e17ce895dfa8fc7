/* SPDX-License-Identifier: MIT */
/*
 * Host memory for the hypervisor's own use: page-granular, zeroed, from the
 * physical page allocator. Host memory is identity mapped, so the returned
 * host-physical address is also a usable pointer.
 */
#ifndef VENEER_CORE_MM_H
#define VENEER_CORE_MM_H

#include "core/lib/types.h"
#include "core/bootinfo.h"

#define MM_ANY	    0ull   /* no upper bound */
#define MM_BELOW_4G GiB(4) /* e.g. tables the AP trampoline loads */
#define MM_BELOW_1M MiB(1) /* real-mode reachable */

/*
 * Start the allocator over the usable ranges of a sanitized map; reserves
 * the range it keeps its own bitmap in (the map is updated).
 */
void mm_init(struct mem_range *map, u32 *count, u32 max);

/*
 * npages contiguous 4 KiB pages aligned to `align` bytes (a power of two,
 * at least 4096) and entirely below `below` (MM_ANY for none), zeroed.
 * Returns the host-physical address, or 0 when no such range is free.
 */
u64 mm_alloc_pages(u64 npages, u64 align, u64 below);

/* One zeroed page anywhere; panics when memory is exhausted. */
u64 mm_alloc_page(void);

/* Same allocation without zeroing (for guest RAM the loader fills). */
u64 mm_alloc_pages_nozero(u64 npages, u64 align, u64 below);

void mm_free_pages(u64 hpa, u64 npages);

/* Bytes of memory still free for allocation. */
u64 mm_free_bytes(void);

static inline void *hpa_to_ptr(u64 hpa_value)
{
	return (void *)(uintptr_t)hpa_value;
}

static inline u64 ptr_to_hpa(const void *p)
{
	return (u64)(uintptr_t)p;
}

#endif /* VENEER_CORE_MM_H */
