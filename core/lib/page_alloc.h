/* SPDX-License-Identifier: MIT */
/*
 * Physical page allocator over the usable ranges of the memory map.
 *
 * One bit per 4 KiB page between the lowest and the highest usable address,
 * in a bitmap the caller provides (so host tests can manage fake physical
 * ranges with malloc'd metadata): the allocator never touches the pages it
 * hands out.  Not locked: callers serialise.
 */
#ifndef VENEER_CORE_LIB_PAGE_ALLOC_H
#define VENEER_CORE_LIB_PAGE_ALLOC_H

#include "core/lib/memmap.h"
#include "core/lib/types.h"

/* Usable ranges beyond this many are ignored (with a warning). */
#define PAGE_ALLOC_MAX_RANGES 256

/*
 * Allocations without a below limit first try memory at or above this
 * address, so that the scarce low memory (AP trampoline, real-mode data)
 * is the last to go.
 */
#define PAGE_ALLOC_PREFERRED_FLOOR MiB(1)

struct page_alloc_range {
	u64 base; /* page aligned */
	u64 end;  /* page aligned, exclusive */
};

struct page_alloc {
	u64 base;	 /* physical address of the page of bit 0 */
	u64 npages;	 /* pages the bitmap covers */
	u64 *bitmap;	 /* bit set: allocated, or not usable memory */
	u64 free_pages;	 /* bits clear */
	u32 range_count; /* the usable ranges, to tell holes from allocations */
	struct page_alloc_range ranges[PAGE_ALLOC_MAX_RANGES];
};

/* Bytes of bitmap page_alloc_init() needs for this map (a multiple of 8). */
size_t page_alloc_bitmap_bytes(const struct mem_range *map, u32 count);

/*
 * Makes every whole page of the map's MEM_USABLE ranges free.  bitmap must be
 * 8-byte aligned and page_alloc_bitmap_bytes(map, count) long.  The map
 * should be sanitized (core/lib/memmap.h) with the hypervisor's own memory
 * already reserved; it is not referenced after this call.
 */
void page_alloc_init(struct page_alloc *pa, const struct mem_range *map,
		     u32 count, void *bitmap);

/*
 * Allocates npages contiguous pages whose first address is a multiple of
 * align_bytes (0 means 4 KiB; otherwise a power of two) and which lie
 * entirely below `below` when it is nonzero.  Returns false, leaving *out_hpa
 * alone, when no such run is free.  A bad alignment panics.
 */
bool page_alloc_pages(struct page_alloc *pa, u64 npages, u64 align_bytes,
		      u64 below, u64 *out_hpa);

/*
 * Returns pages to the allocator.  Panics, naming the page, when hpa is not
 * page aligned, when a page is not usable memory, or when it is not
 * allocated (a double free).
 */
void page_free_pages(struct page_alloc *pa, u64 hpa, u64 npages);

u64 page_alloc_free_count(const struct page_alloc *pa);

/* True when the page at hpa is usable memory and currently free. */
bool page_alloc_page_is_free(const struct page_alloc *pa, u64 hpa);

#endif /* VENEER_CORE_LIB_PAGE_ALLOC_H */
