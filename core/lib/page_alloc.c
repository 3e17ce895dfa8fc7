/* SPDX-License-Identifier: MIT */
/*
 * Physical page allocator (contract in core/lib/page_alloc.h).
 *
 * The bitmap is scanned a 64-bit word at a time: a free run is found by
 * looking for the next set bit (an obstacle) and, after an obstacle, for the
 * next clear bit, so long used or long free stretches cost one step per word.
 */
#include "core/lib/page_alloc.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

#define BITS_PER_WORD 64

static u64 page_index(const struct page_alloc *pa, u64 hpa)
{
	return (hpa - pa->base) >> PAGE_SHIFT;
}

static u64 page_address(const struct page_alloc *pa, u64 index)
{
	return pa->base + (index << PAGE_SHIFT);
}

/* First index in [from, to) whose bit equals `set`, or `to` if none. */
static u64 find_next(const u64 *bitmap, u64 from, u64 to, bool set)
{
	while (from < to) {
		u64 word = bitmap[from / BITS_PER_WORD];

		if (!set)
			word = ~word;
		word &= ~0ull << (from % BITS_PER_WORD);
		if (word) {
			u64 idx = (from & ~(u64)(BITS_PER_WORD - 1)) +
				  (u64)__builtin_ctzll(word);

			return idx < to ? idx : to;
		}
		from = (from | (BITS_PER_WORD - 1)) + 1;
	}
	return to;
}

/* Sets (or clears) bits [from, from + n), whole words at a time. */
static void assign_bits(u64 *bitmap, u64 from, u64 n, bool set)
{
	u64 to = from + n;

	while (from < to) {
		u64 bit = from % BITS_PER_WORD;
		u64 span = MIN(BITS_PER_WORD - bit, to - from);
		u64 mask =
		    span == BITS_PER_WORD ? ~0ull : ((1ull << span) - 1) << bit;

		if (set)
			bitmap[from / BITS_PER_WORD] |= mask;
		else
			bitmap[from / BITS_PER_WORD] &= ~mask;
		from += span;
	}
}

static bool bit_is_set(const u64 *bitmap, u64 idx)
{
	return (bitmap[idx / BITS_PER_WORD] >> (idx % BITS_PER_WORD)) & 1;
}

/* The page-aligned part of a usable range, or false if it has no page. */
static bool usable_pages(const struct mem_range *r,
			 struct page_alloc_range *out)
{
	if (r->type != MEM_USABLE || r->length == 0)
		return false;
	u64 end =
	    r->length > UINT64_MAX - r->base ? UINT64_MAX : r->base + r->length;

	if (r->base > UINT64_MAX - (PAGE_SIZE - 1))
		return false;
	out->base = ALIGN_UP(r->base, PAGE_SIZE);
	out->end = ALIGN_DOWN(end, PAGE_SIZE);
	return out->base < out->end;
}

static bool usable_span(const struct mem_range *map, u32 count, u64 *lo,
			u64 *hi)
{
	bool any = false;

	for (u32 i = 0; i < count; i++) {
		struct page_alloc_range r;

		if (!usable_pages(&map[i], &r))
			continue;
		if (!any || r.base < *lo)
			*lo = r.base;
		if (!any || r.end > *hi)
			*hi = r.end;
		any = true;
	}
	return any;
}

size_t page_alloc_bitmap_bytes(const struct mem_range *map, u32 count)
{
	u64 lo = 0, hi = 0;

	if (!usable_span(map, count, &lo, &hi))
		return 0;
	u64 npages = (hi - lo) >> PAGE_SHIFT;

	return (size_t)(ALIGN_UP(npages, BITS_PER_WORD) / 8);
}

void page_alloc_init(struct page_alloc *pa, const struct mem_range *map,
		     u32 count, void *bitmap)
{
	u64 lo = 0, hi = 0;

	memset(pa, 0, sizeof(*pa));
	pa->bitmap = bitmap;
	if (!usable_span(map, count, &lo, &hi))
		return;
	pa->base = lo;
	pa->npages = (hi - lo) >> PAGE_SHIFT;
	/* Everything starts unavailable, including the tail of the last word.
	 */
	memset(bitmap, 0xff, ALIGN_UP(pa->npages, BITS_PER_WORD) / 8);

	for (u32 i = 0; i < count; i++) {
		struct page_alloc_range r;

		if (!usable_pages(&map[i], &r))
			continue;
		if (pa->range_count == PAGE_ALLOC_MAX_RANGES) {
			printk("page_alloc: warning: more than %u usable "
			       "ranges, ignoring [0x%llx-0x%llx)\n",
			       PAGE_ALLOC_MAX_RANGES,
			       (unsigned long long)r.base,
			       (unsigned long long)r.end);
			continue;
		}
		u64 first = page_index(pa, r.base);
		u64 n = (r.end - r.base) >> PAGE_SHIFT;

		/* Overlapping usable ranges (an unsanitized map) count once. */
		for (u64 idx = first; idx < first + n;) {
			u64 clear = find_next(pa->bitmap, idx, first + n, true);
			u64 set_end;

			if (clear == first + n)
				break;
			set_end =
			    find_next(pa->bitmap, clear, first + n, false);
			assign_bits(pa->bitmap, clear, set_end - clear, false);
			pa->free_pages += set_end - clear;
			idx = set_end;
		}
		pa->ranges[pa->range_count++] = r;
	}
}

/* Searches one window [lo, hi) of one usable range for a free run. */
static bool search_window(struct page_alloc *pa, u64 lo, u64 hi, u64 npages,
			  u64 align, u64 *out)
{
	u64 cand;

	if (lo > UINT64_MAX - (align - 1))
		return false;
	cand = ALIGN_UP(lo, align);
	while (cand < hi && npages <= (hi - cand) >> PAGE_SHIFT) {
		u64 first = page_index(pa, cand);
		u64 obstacle =
		    find_next(pa->bitmap, first, first + npages, true);
		u64 limit = page_index(pa, hi);
		u64 next_free;

		if (obstacle == first + npages) {
			*out = cand;
			return true;
		}
		next_free = find_next(pa->bitmap, obstacle, limit, false);
		if (next_free == limit)
			return false;
		u64 next = page_address(pa, next_free);

		if (next > UINT64_MAX - (align - 1))
			return false;
		cand = ALIGN_UP(next, align);
	}
	return false;
}

static bool search(struct page_alloc *pa, u64 npages, u64 align, u64 floor,
		   u64 ceiling, u64 *out)
{
	for (u32 i = 0; i < pa->range_count; i++) {
		u64 lo = MAX(pa->ranges[i].base, floor);
		u64 hi = MIN(pa->ranges[i].end, ceiling);

		if (lo < hi && search_window(pa, lo, hi, npages, align, out))
			return true;
	}
	return false;
}

bool page_alloc_pages(struct page_alloc *pa, u64 npages, u64 align_bytes,
		      u64 below, u64 *out_hpa)
{
	u64 align = align_bytes ? align_bytes : PAGE_SIZE;
	u64 ceiling = below ? below : UINT64_MAX;
	u64 hpa;

	if (align & (align - 1))
		panic("page_alloc: alignment 0x%llx is not a power of two",
		      (unsigned long long)align_bytes);
	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	if (npages == 0 || npages > pa->free_pages)
		return false;
	if (!search(pa, npages, align, PAGE_ALLOC_PREFERRED_FLOOR, ceiling,
		    &hpa) &&
	    !search(pa, npages, align, 0, ceiling, &hpa))
		return false;
	assign_bits(pa->bitmap, page_index(pa, hpa), npages, true);
	pa->free_pages -= npages;
	*out_hpa = hpa;
	return true;
}

/* The usable range holding hpa, or NULL. */
static const struct page_alloc_range *range_of(const struct page_alloc *pa,
					       u64 hpa)
{
	for (u32 i = 0; i < pa->range_count; i++) {
		if (hpa >= pa->ranges[i].base && hpa < pa->ranges[i].end)
			return &pa->ranges[i];
	}
	return NULL;
}

static __noreturn void bad_free(u64 page, u64 hpa, u64 npages, const char *why)
{
	panic("page_free_pages: page 0x%llx (of %llu from 0x%llx) %s",
	      (unsigned long long)page, (unsigned long long)npages,
	      (unsigned long long)hpa, why);
}

void page_free_pages(struct page_alloc *pa, u64 hpa, u64 npages)
{
	u64 end, page;

	if (!IS_ALIGNED(hpa, PAGE_SIZE))
		panic("page_free_pages: 0x%llx is not page aligned",
		      (unsigned long long)hpa);
	if (npages > (UINT64_MAX - hpa) >> PAGE_SHIFT)
		panic("page_free_pages: %llu pages from 0x%llx wrap past 2^64",
		      (unsigned long long)npages, (unsigned long long)hpa);
	end = hpa + (npages << PAGE_SHIFT);

	/* Check everything first: a bad free changes nothing. */
	for (page = hpa; page < end;) {
		const struct page_alloc_range *r = range_of(pa, page);
		u64 stop, first, not_allocated;

		if (!r)
			bad_free(page, hpa, npages, "is not usable memory");
		stop = MIN(r->end, end);
		first = page_index(pa, page);
		not_allocated =
		    find_next(pa->bitmap, first, page_index(pa, stop), false);
		if (not_allocated != page_index(pa, stop))
			bad_free(page_address(pa, not_allocated), hpa, npages,
				 "is not allocated (double free?)");
		page = stop;
	}
	if (npages) {
		assign_bits(pa->bitmap, page_index(pa, hpa), npages, false);
		pa->free_pages += npages;
	}
}

u64 page_alloc_free_count(const struct page_alloc *pa)
{
	return pa->free_pages;
}

bool page_alloc_page_is_free(const struct page_alloc *pa, u64 hpa)
{
	if (!range_of(pa, ALIGN_DOWN(hpa, PAGE_SIZE)))
		return false;
	return !bit_is_set(pa->bitmap, page_index(pa, hpa));
}
