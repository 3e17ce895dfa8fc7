/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/lib/memmap.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/lib/memmap.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

#define R(b, l, t) ((struct mem_range){(b), (l), (t)})

static int reset(void **state)
{
	(void)state;
	host_printk_reset();
	return 0;
}

static void assert_range(const struct mem_range *r, u64 base, u64 end, u32 type)
{
	assert_int_equal(r->base, base);
	assert_int_equal(r->base + r->length, end);
	assert_int_equal(r->type, type);
}

static void test_sorts_and_merges(void **state)
{
	struct mem_range map[8] = {
	    R(0x200000, 0x100000, MEM_USABLE),
	    R(0, 0x9f000, MEM_USABLE),
	    R(0x100000, 0x100000, MEM_USABLE), /* touches both sides */
	    R(0xf0000, 0x10000, MEM_RESERVED),
	    R(0x500000, 0, MEM_RESERVED), /* empty: dropped */
	};
	u32 n = 5;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 8), 0);
	assert_int_equal(n, 3);
	assert_range(&map[0], 0, 0x9f000, MEM_USABLE);
	assert_range(&map[1], 0xf0000, 0x100000, MEM_RESERVED);
	assert_range(&map[2], 0x100000, 0x300000, MEM_USABLE);
	assert_string_equal(host_printk_text(), ""); /* no overlaps */
	assert_int_equal(memmap_usable_bytes(map, n), 0x9f000 + 0x200000);
}

static void test_reserved_inside_usable_splits(void **state)
{
	struct mem_range map[8] = {
	    R(0, 0x10000000, MEM_USABLE),
	    R(0x1000000, 0x1000, MEM_ACPI_NVS),
	};
	u32 n = 2;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 8), 0);
	assert_int_equal(n, 3);
	assert_range(&map[0], 0, 0x1000000, MEM_USABLE);
	assert_range(&map[1], 0x1000000, 0x1001000, MEM_ACPI_NVS);
	assert_range(&map[2], 0x1001000, 0x10000000, MEM_USABLE);
	assert_string_equal(host_printk_text(),
			    "memmap: warning: [0x0-0x10000000) usable overlaps "
			    "[0x1000000-0x1001000) ACPI NVS; ACPI NVS wins\n");
}

static void test_overlap_rank_order(void **state)
{
	/* bad > NVS > reserved > ACPI reclaimable > usable */
	struct mem_range map[8] = {
	    R(0x0000, 0x4000, MEM_ACPI_RECLAIM),
	    R(0x1000, 0x4000, MEM_RESERVED),
	    R(0x2000, 0x4000, MEM_BAD),
	    R(0x3000, 0x1000, MEM_USABLE),
	    R(0x7000, 0x2000, MEM_USABLE),
	    R(0x8000, 0x2000, 9), /* unknown type: reserved */
	};
	u32 n = 6;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 8), 0);
	assert_int_equal(n, 5);
	assert_range(&map[0], 0x0000, 0x1000, MEM_ACPI_RECLAIM);
	assert_range(&map[1], 0x1000, 0x2000, MEM_RESERVED);
	assert_range(&map[2], 0x2000, 0x6000, MEM_BAD);
	assert_range(&map[3], 0x7000, 0x8000, MEM_USABLE);
	assert_range(&map[4], 0x8000, 0xa000, MEM_RESERVED);
	assert_non_null(strstr(host_printk_text(), "bad wins"));
	assert_non_null(strstr(host_printk_text(),
			       "[0x7000-0x9000) usable overlaps "
			       "[0x8000-0xa000) reserved; reserved wins"));
}

static void test_same_type_overlap_merges(void **state)
{
	struct mem_range map[4] = {
	    R(0x1000, 0x5000, MEM_USABLE),
	    R(0x3000, 0x1000, MEM_USABLE), /* fully inside */
	    R(0x5000, 0x3000, MEM_USABLE), /* sticks out */
	};
	u32 n = 3;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 4), 0);
	assert_int_equal(n, 1);
	assert_range(&map[0], 0x1000, 0x8000, MEM_USABLE);
	assert_non_null(strstr(host_printk_text(), "overlaps"));
}

static void test_usable_shrinks_to_pages(void **state)
{
	struct mem_range map[4] = {
	    R(0x100, 0x2000, MEM_USABLE),    /* -> [0x1000, 0x2000) */
	    R(0x5800, 0x700, MEM_USABLE),    /* no whole page: dropped */
	    R(0x9fc00, 0x400, MEM_RESERVED), /* reserved keeps bytes */
	    R(0x100000, 0x1234, MEM_USABLE),
	};
	u32 n = 4;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 4), 0);
	assert_int_equal(n, 3);
	assert_range(&map[0], 0x1000, 0x2000, MEM_USABLE);
	assert_range(&map[1], 0x9fc00, 0xa0000, MEM_RESERVED);
	assert_range(&map[2], 0x100000, 0x101000, MEM_USABLE);
}

static void test_wrapping_range_is_clipped(void **state)
{
	struct mem_range map[2] = {
	    R(0xfffffffffffff000ull, 0x2000, MEM_RESERVED)};
	u32 n = 1;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 2), 0);
	assert_int_equal(n, 1);
	assert_int_equal(map[0].base + map[0].length, UINT64_MAX);
	assert_non_null(strstr(host_printk_text(), "wraps past 2^64"));
}

/*
 * A range at base 2^64 - 1 is empty once clipped (an end is exclusive and
 * at most 2^64 - 1): it goes, as every empty range does (the fuzz input
 * tests/fuzz/corpus/multiboot/memmap-empty-range-at-top found it kept).
 * memmap_reserve() clips and drops the same way.
 */
static void test_range_at_the_top_is_dropped(void **state)
{
	struct mem_range map[4] = {
	    R(0x100000, 0x100000, MEM_USABLE),
	    R(UINT64_MAX, 0x1000, MEM_RESERVED),
	    R(UINT64_MAX, 0, MEM_USABLE),
	};
	u32 n = 3;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 4), 0);
	assert_int_equal(n, 1);
	assert_range(&map[0], 0x100000, 0x200000, MEM_USABLE);
	assert_int_equal(
	    memmap_reserve(map, &n, 4, UINT64_MAX, 1, MEM_RESERVED), 0);
	assert_int_equal(n, 1);
	assert_range(&map[0], 0x100000, 0x200000, MEM_USABLE);
}

static void test_sanitize_overflow(void **state)
{
	/* Three ranges inside one usable: needs 7 entries, only 5 fit. */
	struct mem_range map[5] = {
	    R(0, 0x100000, MEM_USABLE),
	    R(0x10000, 0x1000, MEM_RESERVED),
	    R(0x20000, 0x1000, MEM_RESERVED),
	    R(0x30000, 0x1000, MEM_RESERVED),
	};
	u32 n = 4;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 5), -1);
	assert_non_null(
	    strstr(host_printk_text(), "memmap: error: more than 5 ranges"));
	n = 6;
	assert_int_equal(memmap_sanitize(map, &n, 5), -1);
	assert_non_null(
	    strstr(host_printk_text(), "6 ranges given for a map of 5"));
}

static void test_reserve(void **state)
{
	struct mem_range map[8] = {
	    R(0, 0x9f000, MEM_USABLE),
	    R(0x100000, 0x7f00000, MEM_USABLE),
	};
	u32 n = 2;

	(void)state;
	assert_int_equal(memmap_sanitize(map, &n, 8), 0);
	/* page 0 */
	assert_int_equal(memmap_reserve(map, &n, 8, 0, 0x1000, MEM_RESERVED),
			 0);
	/* the hypervisor image, unaligned end: the usable rest shrinks */
	assert_int_equal(
	    memmap_reserve(map, &n, 8, 0x200000, 0x12345, MEM_RESERVED), 0);
	/* a module spanning the end of usable memory */
	assert_int_equal(
	    memmap_reserve(map, &n, 8, 0x7fff000, 0x3000, MEM_RESERVED), 0);
	assert_int_equal(n, 6);
	assert_range(&map[0], 0, 0x1000, MEM_RESERVED);
	assert_range(&map[1], 0x1000, 0x9f000, MEM_USABLE);
	assert_range(&map[2], 0x100000, 0x200000, MEM_USABLE);
	assert_range(&map[3], 0x200000, 0x212345, MEM_RESERVED);
	assert_range(&map[4], 0x213000, 0x7fff000, MEM_USABLE);
	assert_range(&map[5], 0x7fff000, 0x8002000, MEM_RESERVED);
	/* Deliberate carve-outs print nothing. */
	assert_string_equal(host_printk_text(), "");

	/* Reserving over bad memory keeps it bad. */
	struct mem_range bad[4] = {R(0x1000, 0x1000, MEM_BAD)};
	u32 nb = 1;

	assert_int_equal(memmap_reserve(bad, &nb, 4, 0, 0x3000, MEM_RESERVED),
			 0);
	assert_int_equal(nb, 3);
	assert_range(&bad[1], 0x1000, 0x2000, MEM_BAD);

	/* Zero length is a no-op. */
	assert_int_equal(memmap_reserve(bad, &nb, 4, 0x5000, 0, MEM_RESERVED),
			 0);
	assert_int_equal(nb, 3);
}

static void test_reserve_errors(void **state)
{
	struct mem_range map[2] = {R(0, 0x100000, MEM_USABLE)};
	u32 n = 1;

	(void)state;
	assert_int_equal(memmap_reserve(map, &n, 2, 0, 0x1000, MEM_USABLE), -1);
	assert_non_null(strstr(host_printk_text(), "as usable"));
	/* A hole in the middle needs 3 entries: the map holds 2. */
	assert_int_equal(
	    memmap_reserve(map, &n, 2, 0x10000, 0x1000, MEM_RESERVED), -1);
	assert_non_null(strstr(host_printk_text(), "more than 2 ranges"));
	n = 2;
	map[1] = R(0x200000, 0x1000, MEM_RESERVED);
	assert_int_equal(
	    memmap_reserve(map, &n, 2, 0x10000, 0x1000, MEM_RESERVED), -1);
	assert_non_null(strstr(host_printk_text(), "map full (2 ranges)"));
}

static void test_print(void **state)
{
	const struct mem_range map[] = {R(0x1000, 0x1000, MEM_USABLE),
					R(0x2000, 0x1000, MEM_ACPI_RECLAIM)};

	(void)state;
	memmap_print("  ", map, 2);
	assert_string_equal(host_printk_text(),
			    "  [0x0000000000001000-0x0000000000002000) usable\n"
			    "  [0x0000000000002000-0x0000000000003000) ACPI "
			    "reclaimable\n");
}

/*
 * Property test: random overlapping maps over 64 pages, checked page by page
 * against the rank rule computed directly, plus the invariants.
 */
static int rank_of(u32 type)
{
	static const int rank[] = {[MEM_USABLE] = 0,
				   [MEM_ACPI_RECLAIM] = 1,
				   [MEM_RESERVED] = 2,
				   [MEM_ACPI_NVS] = 3,
				   [MEM_BAD] = 4};
	return rank[type];
}

static void test_random_maps_match_reference(void **state)
{
	(void)state;
	srand(12345);
	for (int round = 0; round < 2000; round++) {
		struct mem_range map[64];
		u32 expect[64] = {0}; /* per page; 0 = absent */
		u32 n = 1 + (u32)(rand() % 8);

		for (u32 i = 0; i < n; i++) {
			u32 first = (u32)(rand() % 64);
			u32 pages = 1 + (u32)(rand() % (64 - first));
			u32 type = 1 + (u32)(rand() % 5);

			map[i] = R(first * 0x1000ull, pages * 0x1000ull, type);
			for (u32 p = first; p < first + pages; p++) {
				if (!expect[p] ||
				    rank_of(type) > rank_of(expect[p]))
					expect[p] = type;
			}
		}
		host_printk_reset();
		assert_int_equal(memmap_sanitize(map, &n, 64), 0);

		u32 got[64] = {0};

		for (u32 i = 0; i < n; i++) {
			assert_true(map[i].length > 0);
			if (i > 0) {
				u64 prev_end =
				    map[i - 1].base + map[i - 1].length;

				assert_true(prev_end <= map[i].base);
				assert_false(prev_end == map[i].base &&
					     map[i - 1].type == map[i].type);
			}
			for (u64 a = map[i].base;
			     a < map[i].base + map[i].length; a += 0x1000)
				got[a / 0x1000] = map[i].type;
		}
		assert_memory_equal(got, expect, sizeof(got));
	}
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_sorts_and_merges),
	    T(test_reserved_inside_usable_splits),
	    T(test_overlap_rank_order),
	    T(test_same_type_overlap_merges),
	    T(test_usable_shrinks_to_pages),
	    T(test_wrapping_range_is_clipped),
	    T(test_range_at_the_top_is_dropped),
	    T(test_sanitize_overflow),
	    T(test_reserve),
	    T(test_reserve_errors),
	    T(test_print),
	    T(test_random_maps_match_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
