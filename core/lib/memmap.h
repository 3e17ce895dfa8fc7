/* SPDX-License-Identifier: MIT */
/*
 * The physical memory map: cleaning up what the loader reported and carving
 * out the memory the hypervisor itself needs.
 *
 * A map is an array of struct mem_range (below) with a count and a
 * capacity.  After memmap_sanitize() it is sorted by base, its ranges do not
 * overlap, no two touching ranges have the same type, no range is empty, and
 * every usable range starts and ends on a 4 KiB boundary.
 */
#ifndef VENEER_CORE_LIB_MEMMAP_H
#define VENEER_CORE_LIB_MEMMAP_H

#include "core/lib/types.h"

/* Memory range types: the E820 / multiboot numbering (MB1 spec 3.3). */
enum mem_type {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIM = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

struct mem_range {
	u64 base;
	u64 length;
	u32 type; /* enum mem_type; unknown values are treated as reserved */
};

/*
 * Establishes the invariants above in place.  Unknown types become
 * MEM_RESERVED.  Where ranges overlap, the more restrictive type wins (bad >
 * ACPI NVS > reserved > ACPI reclaimable > usable) and a warning naming both
 * ranges is printed.  Returns 0, or -1 (with a printed error) when splitting
 * overlaps needs more than max entries; the map is then still sorted and
 * non-overlapping up to where it stopped, but must not be trusted.
 */
int memmap_sanitize(struct mem_range *map, u32 *count, u32 max);

/*
 * Marks [base, base + len) as type (which must not be MEM_USABLE) in a
 * sanitized map, splitting usable ranges around it; a more restrictive type
 * already there is kept.  Used to carve out the hypervisor image, the
 * modules, page 0 and the AP trampoline.  Returns 0, or -1 with a printed
 * error when type is usable or the map needs more than max entries.
 */
int memmap_reserve(struct mem_range *map, u32 *count, u32 max, u64 base,
		   u64 len, u32 type);

/* Sum of the lengths of the usable ranges. */
u64 memmap_usable_bytes(const struct mem_range *map, u32 count);

/* "usable", "reserved", "ACPI reclaimable", "ACPI NVS", "bad", or "type?". */
const char *memmap_type_name(u32 type);

/* Prints the map with printk(), one range per line, each line prefixed. */
void memmap_print(const char *prefix, const struct mem_range *map, u32 count);

#endif /* VENEER_CORE_LIB_MEMMAP_H */
