/* SPDX-License-Identifier: MIT */
/*
 * Physical memory map clean-up (contract in core/lib/memmap.h).
 *
 * Firmware maps are often unsorted, sometimes overlapping, and rarely page
 * aligned.  Maps have at most a few hundred entries, so simple quadratic
 * algorithms (insertion sort, shifting inserts) are the clearest choice.
 */
#include "core/lib/memmap.h"
#include "core/lib/printk.h"

/* How much a type forbids: the higher rank wins an overlap. */
static int type_rank(u32 type)
{
	switch (type) {
	case MEM_USABLE:
		return 0;
	case MEM_ACPI_RECLAIM: /* usable once the ACPI tables are read */
		return 1;
	case MEM_RESERVED:
		return 2;
	case MEM_ACPI_NVS: /* firmware keeps state there across sleep */
		return 3;
	case MEM_BAD:
		return 4;
	default:
		return 2;
	}
}

const char *memmap_type_name(u32 type)
{
	switch (type) {
	case MEM_USABLE:
		return "usable";
	case MEM_RESERVED:
		return "reserved";
	case MEM_ACPI_RECLAIM:
		return "ACPI reclaimable";
	case MEM_ACPI_NVS:
		return "ACPI NVS";
	case MEM_BAD:
		return "bad";
	default:
		return "type?";
	}
}

static u64 range_end(const struct mem_range *r)
{
	return r->base + r->length;
}

static void remove_at(struct mem_range *map, u32 *count, u32 i)
{
	for (u32 j = i; j + 1 < *count; j++)
		map[j] = map[j + 1];
	(*count)--;
}

/* Inserts r after every range whose base is <= r's base. */
static int insert_sorted(struct mem_range *map, u32 *count, u32 max,
			 struct mem_range r)
{
	u32 pos = *count;

	if (*count >= max) {
		printk("memmap: error: more than %u ranges are needed to "
		       "split overlaps around [0x%llx-0x%llx)\n",
		       max, (unsigned long long)r.base,
		       (unsigned long long)range_end(&r));
		return -1;
	}
	while (pos > 0 && map[pos - 1].base > r.base) {
		map[pos] = map[pos - 1];
		pos--;
	}
	map[pos] = r;
	(*count)++;
	return 0;
}

/*
 * Clamps ranges that wrap past 2^64, then drops empty ones (a range at
 * base 2^64 - 1 is empty once clamped: an end is exclusive and at most
 * 2^64 - 1), fixes types.
 */
static void drop_empty_and_normalise(struct mem_range *map, u32 *count)
{
	u32 i = 0;

	while (i < *count) {
		struct mem_range *r = &map[i];

		if (r->length > UINT64_MAX - r->base) {
			printk("memmap: warning: range at 0x%llx of length "
			       "0x%llx wraps past 2^64, clipped\n",
			       (unsigned long long)r->base,
			       (unsigned long long)r->length);
			r->length = UINT64_MAX - r->base;
		}
		if (r->length == 0) {
			remove_at(map, count, i);
			continue;
		}
		if (r->type < MEM_USABLE || r->type > MEM_BAD)
			r->type = MEM_RESERVED;
		i++;
	}
}

static void sort_by_base(struct mem_range *map, u32 count)
{
	for (u32 i = 1; i < count; i++) {
		struct mem_range r = map[i];
		u32 j = i;

		while (j > 0 && (map[j - 1].base > r.base ||
				 (map[j - 1].base == r.base &&
				  map[j - 1].length > r.length))) {
			map[j] = map[j - 1];
			j--;
		}
		map[j] = r;
	}
}

static void warn_overlap(const struct mem_range *a, const struct mem_range *b,
			 const struct mem_range *winner)
{
	printk("memmap: warning: [0x%llx-0x%llx) %s overlaps [0x%llx-0x%llx) "
	       "%s; %s wins\n",
	       (unsigned long long)a->base, (unsigned long long)range_end(a),
	       memmap_type_name(a->type), (unsigned long long)b->base,
	       (unsigned long long)range_end(b), memmap_type_name(b->type),
	       memmap_type_name(winner->type));
}

/*
 * Walks the sorted map; whenever map[i] and map[i + 1] overlap, the loser's
 * overlapped part is cut away (its remainder beyond the winner re-inserted in
 * order).  Every step strictly shrinks the total length, so it terminates;
 * map[0..i] never overlap each other.
 */
static int resolve_overlaps(struct mem_range *map, u32 *count, u32 max,
			    bool warn)
{
	u32 i = 0;

	while (i + 1 < *count) {
		struct mem_range a = map[i], b = map[i + 1];
		u64 a_end = range_end(&a), b_end = range_end(&b);

		if (b.base >= a_end) {
			i++;
			continue;
		}
		if (a.type == b.type) {
			if (warn)
				warn_overlap(&a, &b, &a);
			map[i].length = MAX(a_end, b_end) - a.base;
			remove_at(map, count, i + 1);
			continue;
		}
		if (type_rank(a.type) >= type_rank(b.type)) {
			if (warn)
				warn_overlap(&a, &b, &a);
			remove_at(map, count, i + 1);
			if (b_end > a_end &&
			    insert_sorted(map, count, max,
					  (struct mem_range){a_end,
							     b_end - a_end,
							     b.type}) < 0)
				return -1;
			continue;
		}
		if (warn)
			warn_overlap(&a, &b, &b);
		if (a_end > b_end &&
		    insert_sorted(
			map, count, max,
			(struct mem_range){b_end, a_end - b_end, a.type}) < 0)
			return -1;
		map[i].length = b.base - a.base;
		if (map[i].length == 0)
			remove_at(map, count, i);
	}
	return 0;
}

static void merge_touching(struct mem_range *map, u32 *count)
{
	u32 i = 0;

	while (i + 1 < *count) {
		if (map[i].type == map[i + 1].type &&
		    range_end(&map[i]) == map[i + 1].base) {
			map[i].length += map[i + 1].length;
			remove_at(map, count, i + 1);
			continue;
		}
		i++;
	}
}

/* Partial pages of usable memory cannot be handed out: drop them. */
static void shrink_usable_to_pages(struct mem_range *map, u32 *count)
{
	u32 i = 0;

	while (i < *count) {
		struct mem_range *r = &map[i];

		if (r->type == MEM_USABLE) {
			u64 end = ALIGN_DOWN(range_end(r), PAGE_SIZE);
			u64 base = r->base > UINT64_MAX - (PAGE_SIZE - 1)
				       ? UINT64_MAX
				       : ALIGN_UP(r->base, PAGE_SIZE);

			if (base >= end) {
				remove_at(map, count, i);
				continue;
			}
			r->base = base;
			r->length = end - base;
		}
		i++;
	}
}

static int normalise(struct mem_range *map, u32 *count, u32 max, bool warn)
{
	drop_empty_and_normalise(map, count);
	sort_by_base(map, *count);
	if (resolve_overlaps(map, count, max, warn) < 0)
		return -1;
	merge_touching(map, count);
	shrink_usable_to_pages(map, count);
	return 0;
}

int memmap_sanitize(struct mem_range *map, u32 *count, u32 max)
{
	if (*count > max) {
		printk("memmap: error: %u ranges given for a map of %u\n",
		       *count, max);
		return -1;
	}
	return normalise(map, count, max, true);
}

int memmap_reserve(struct mem_range *map, u32 *count, u32 max, u64 base,
		   u64 len, u32 type)
{
	if (type == MEM_USABLE) {
		printk("memmap: error: cannot reserve [0x%llx+0x%llx) as "
		       "usable\n",
		       (unsigned long long)base, (unsigned long long)len);
		return -1;
	}
	if (len == 0)
		return 0;
	if (*count >= max) {
		printk("memmap: error: map full (%u ranges), cannot reserve "
		       "[0x%llx+0x%llx)\n",
		       max, (unsigned long long)base, (unsigned long long)len);
		return -1;
	}
	map[(*count)++] = (struct mem_range){base, len, type};
	/* Deliberate carve-outs overlap by design: no warnings. */
	return normalise(map, count, max, false);
}

u64 memmap_usable_bytes(const struct mem_range *map, u32 count)
{
	u64 total = 0;

	for (u32 i = 0; i < count; i++) {
		if (map[i].type == MEM_USABLE)
			total += map[i].length;
	}
	return total;
}

void memmap_print(const char *prefix, const struct mem_range *map, u32 count)
{
	for (u32 i = 0; i < count; i++)
		printk("%s[0x%016llx-0x%016llx) %s\n", prefix,
		       (unsigned long long)map[i].base,
		       (unsigned long long)range_end(&map[i]),
		       memmap_type_name(map[i].type));
}
