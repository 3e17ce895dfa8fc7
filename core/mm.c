/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's page allocator instance: core/lib/page_alloc.c over the
 * sanitized memory map, with its bitmap placed in usable RAM at boot.
 */
#include "core/mm.h"
#include "core/lib/memmap.h"
#include "core/lib/page_alloc.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"
#include "core/lib/string.h"

static struct page_alloc host_pages;
static spinlock_t mm_lock = SPINLOCK_INIT;
static bool mm_ready;

/*
 * Place the allocator's bitmap in the first usable range that holds it,
 * mark that range reserved, then start the allocator over what is left.
 */
void mm_init(struct mem_range *map, u32 *count, u32 max)
{
	u64 bytes = ALIGN_UP(page_alloc_bitmap_bytes(map, *count), PAGE_SIZE);
	u64 where = 0;

	for (u32 i = 0; i < *count; i++) {
		if (map[i].type == MEM_USABLE && map[i].base >= MiB(1) &&
		    map[i].length >= bytes) {
			where = map[i].base;
			break;
		}
	}
	if (!where)
		panic("no usable range holds the page allocator's %llu-byte "
		      "bitmap",
		      (unsigned long long)bytes);
	if (memmap_reserve(map, count, max, where, bytes, MEM_RESERVED))
		panic("memory map full while reserving the allocator bitmap");
	/* The bitmap must describe the map without its own range. */
	memset(hpa_to_ptr(where), 0, bytes);
	page_alloc_init(&host_pages, map, *count, hpa_to_ptr(where));
	mm_ready = true;
}

u64 mm_alloc_pages_nozero(u64 npages, u64 align, u64 below)
{
	u64 hpa_value = 0;

	if (!mm_ready)
		panic("page allocation before mm_init");
	spin_lock(&mm_lock);
	if (!page_alloc_pages(&host_pages, npages, align, below, &hpa_value))
		hpa_value = 0;
	spin_unlock(&mm_lock);
	return hpa_value;
}

u64 mm_alloc_pages(u64 npages, u64 align, u64 below)
{
	u64 hpa_value = mm_alloc_pages_nozero(npages, align, below);

	if (hpa_value)
		memset(hpa_to_ptr(hpa_value), 0, npages * PAGE_SIZE);
	return hpa_value;
}

u64 mm_alloc_page(void)
{
	u64 hpa_value = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);

	if (!hpa_value)
		panic("out of host memory");
	return hpa_value;
}

void mm_free_pages(u64 hpa_value, u64 npages)
{
	spin_lock(&mm_lock);
	page_free_pages(&host_pages, hpa_value, npages);
	spin_unlock(&mm_lock);
}

u64 mm_free_bytes(void)
{
	return page_alloc_free_count(&host_pages) * PAGE_SIZE;
}
