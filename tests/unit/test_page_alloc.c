/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/lib/page_alloc.c, over fake physical ranges (the
 * allocator never touches the pages, only its malloc'd bitmap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/lib/page_alloc.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

#define R(b, l, t) ((struct mem_range){(b), (l), (t)})

static struct page_alloc pa;
static void *bitmap;

static void init(const struct mem_range *map, u32 count)
{
	size_t bytes = page_alloc_bitmap_bytes(map, count);

	free(bitmap);
	/* Poisoned: init must not rely on the caller zeroing it. */
	bitmap = malloc(bytes ? bytes : 8);
	assert_non_null(bitmap);
	memset(bitmap, 0x5a, bytes ? bytes : 8);
	page_alloc_init(&pa, map, count, bitmap);
}

static int reset(void **state)
{
	(void)state;
	host_printk_reset();
	return 0;
}

static int cleanup(void **state)
{
	(void)state;
	free(bitmap);
	bitmap = NULL;
	return 0;
}

/* A PC-like map: low memory, a hole, memory up to 3 GiB, memory above 4G. */
static const struct mem_range pc_map[] = {
    R(0x1000, 0x9e000, MEM_USABLE), /* [4K, 636K) */
    R(0x9f000, 0x61000, MEM_RESERVED),
    R(0x100000, 0xbff00000, MEM_USABLE), /* [1M, 3G) */
    R(0xc0000000, 0x40000000, MEM_RESERVED),
    R(0x100000000, 0x40000000, MEM_USABLE), /* [4G, 5G) */
};

static void test_bitmap_size_and_free_count(void **state)
{
	(void)state;
	/* 4 KiB .. 5 GiB is 1310719 pages: rounded up to whole words. */
	assert_int_equal(page_alloc_bitmap_bytes(pc_map, 5),
			 (1310719 + 63) / 64 * 8);
	init(pc_map, 5);
	assert_int_equal(page_alloc_free_count(&pa), 0x9e + 0xbff00 + 0x40000);
	assert_false(page_alloc_page_is_free(&pa, 0));
	assert_true(page_alloc_page_is_free(&pa, 0x1000));
	assert_false(page_alloc_page_is_free(&pa, 0x9f000));
	assert_false(page_alloc_page_is_free(&pa, 0xc0000000));
	assert_true(page_alloc_page_is_free(&pa, 0x13fffffff));
	assert_false(page_alloc_page_is_free(&pa, 0x140000000));

	/* No usable memory at all. */
	const struct mem_range none[] = {R(0, 0x1000, MEM_RESERVED)};

	assert_int_equal(page_alloc_bitmap_bytes(none, 1), 0);
	init(none, 1);
	assert_int_equal(page_alloc_free_count(&pa), 0);
	u64 hpa = 42;

	assert_false(page_alloc_pages(&pa, 1, 0, 0, &hpa));
	assert_int_equal(hpa, 42);
}

static void test_prefers_memory_above_1m(void **state)
{
	u64 hpa;

	(void)state;
	init(pc_map, 5);
	assert_true(page_alloc_pages(&pa, 1, 0, 0, &hpa));
	assert_int_equal(hpa, 0x100000);
	assert_true(page_alloc_pages(&pa, 2, 0, 0, &hpa));
	assert_int_equal(hpa, 0x101000);
	assert_false(page_alloc_page_is_free(&pa, 0x102000));
	assert_int_equal(page_alloc_free_count(&pa),
			 0x9e + 0xbff00 + 0x40000 - 3);
}

static void test_below_limit(void **state)
{
	u64 hpa;

	(void)state;
	init(pc_map, 5);
	/* The AP trampoline: one page below 1 MiB. */
	assert_true(page_alloc_pages(&pa, 1, 0, MiB(1), &hpa));
	assert_int_equal(hpa, 0x1000);
	/* A run that does not fit below the limit. */
	assert_false(page_alloc_pages(&pa, 0x9e, 0, MiB(1), &hpa));
	assert_true(page_alloc_pages(&pa, 0x9d, 0, MiB(1), &hpa));
	assert_int_equal(hpa, 0x2000);
	/* Low memory is now full. */
	assert_false(page_alloc_pages(&pa, 1, 0, MiB(1), &hpa));
	/* The run must end below the limit, not only start below it. */
	assert_false(page_alloc_pages(&pa, 2, 0, 0x101000, &hpa));
	assert_true(page_alloc_pages(&pa, 1, 0, 0x101000, &hpa));
	assert_int_equal(hpa, 0x100000);
}

static void test_alignment(void **state)
{
	u64 hpa;

	(void)state;
	init(pc_map, 5);
	assert_true(page_alloc_pages(&pa, 1, 0, 0, &hpa)); /* 0x100000 */
	/* 2 MiB aligned guest RAM */
	assert_true(page_alloc_pages(&pa, 512, MiB(2), 0, &hpa));
	assert_int_equal(hpa, 0x200000);
	/* 1 GiB aligned and 1 GiB long: [1G, 2G) is the first that fits */
	assert_true(page_alloc_pages(&pa, GiB(1) / PAGE_SIZE, GiB(1), 0, &hpa));
	assert_int_equal(hpa, GiB(1));
	/* the next 1 GiB: [2G, 3G) */
	assert_true(page_alloc_pages(&pa, GiB(1) / PAGE_SIZE, GiB(1), 0, &hpa));
	assert_int_equal(hpa, GiB(2));
	/* then only [4G, 5G) is left that can hold a 1 GiB page */
	assert_true(page_alloc_pages(&pa, GiB(1) / PAGE_SIZE, GiB(1), 0, &hpa));
	assert_int_equal(hpa, GiB(4));
	assert_false(
	    page_alloc_pages(&pa, GiB(1) / PAGE_SIZE, GiB(1), 0, &hpa));
	/* Alignment smaller than a page means a page. */
	assert_true(page_alloc_pages(&pa, 1, 16, 0, &hpa));
	assert_true(IS_ALIGNED(hpa, PAGE_SIZE));
}

static void test_bad_alignment_panics(void **state)
{
	u64 hpa;

	(void)state;
	init(pc_map, 5);
	expect_assert_failure(page_alloc_pages(&pa, 1, 0x3000, 0, &hpa));
	assert_string_equal(
	    host_panic_text(),
	    "page_alloc: alignment 0x3000 is not a power of two");
}

static void test_exhaustion_and_reuse(void **state)
{
	const struct mem_range map[] = {R(0x200000, 0x10000, MEM_USABLE)};
	u64 hpa[16];

	(void)state;
	init(map, 1);
	for (int i = 0; i < 16; i++) {
		assert_true(page_alloc_pages(&pa, 1, 0, 0, &hpa[i]));
		assert_int_equal(hpa[i], 0x200000 + 0x1000 * (u64)i);
	}
	assert_int_equal(page_alloc_free_count(&pa), 0);
	assert_false(page_alloc_pages(&pa, 1, 0, 0, &hpa[0]));
	assert_int_equal(hpa[0], 0x200000); /* untouched on failure */

	/* Free a hole of 3 in the middle; a 4-page run still does not fit. */
	page_free_pages(&pa, hpa[5], 1);
	page_free_pages(&pa, hpa[6], 2);
	assert_int_equal(page_alloc_free_count(&pa), 3);
	u64 got;

	assert_false(page_alloc_pages(&pa, 4, 0, 0, &got));
	assert_true(page_alloc_pages(&pa, 3, 0, 0, &got));
	assert_int_equal(got, 0x205000);
	assert_false(page_alloc_pages(&pa, 0, 0, 0, &got)); /* zero pages */
}

static void test_runs_cross_word_boundaries(void **state)
{
	/* 200 pages: runs that straddle bitmap words. */
	const struct mem_range map[] = {R(0x100000, 200 * 0x1000, MEM_USABLE)};
	u64 a, b, c;

	(void)state;
	init(map, 1);
	assert_true(page_alloc_pages(&pa, 60, 0, 0, &a));
	assert_true(page_alloc_pages(&pa, 10, 0, 0, &b)); /* pages 60..69 */
	assert_int_equal(b, 0x100000 + 60 * 0x1000);
	assert_true(page_alloc_pages(&pa, 130, 0, 0, &c)); /* 70..199 */
	assert_int_equal(c, 0x100000 + 70 * 0x1000);
	assert_int_equal(page_alloc_free_count(&pa), 0);
	page_free_pages(&pa, b, 10);
	for (u64 p = 0; p < 200; p++)
		assert_int_equal(
		    page_alloc_page_is_free(&pa, 0x100000 + p * 0x1000),
		    p >= 60 && p < 70);
	assert_false(page_alloc_pages(&pa, 11, 0, 0, &a));
	assert_true(page_alloc_pages(&pa, 10, 0, 0, &a));
	assert_int_equal(a, b);
}

static void test_bad_frees_panic(void **state)
{
	u64 hpa;

	(void)state;
	init(pc_map, 5);
	assert_true(page_alloc_pages(&pa, 4, 0, 0, &hpa)); /* 0x100000 */

	expect_assert_failure(page_free_pages(&pa, 0x104000, 1));
	assert_string_equal(host_panic_text(),
			    "page_free_pages: page 0x104000 (of 1 from "
			    "0x104000) is not allocated (double free?)");
	/* Partly allocated run: names the first free page, frees nothing. */
	expect_assert_failure(page_free_pages(&pa, 0x102000, 3));
	assert_string_equal(host_panic_text(),
			    "page_free_pages: page 0x104000 (of 3 from "
			    "0x102000) is not allocated (double free?)");
	assert_false(page_alloc_page_is_free(&pa, 0x102000));

	expect_assert_failure(page_free_pages(&pa, 0xc0000000, 1));
	assert_string_equal(host_panic_text(),
			    "page_free_pages: page 0xc0000000 (of 1 from "
			    "0xc0000000) is not usable memory");
	expect_assert_failure(page_free_pages(&pa, 0x100800, 1));
	assert_string_equal(host_panic_text(),
			    "page_free_pages: 0x100800 is not page aligned");

	page_free_pages(&pa, hpa, 4);
	expect_assert_failure(page_free_pages(&pa, hpa, 1)); /* double */
	assert_int_equal(page_alloc_free_count(&pa), 0x9e + 0xbff00 + 0x40000);
}

static void test_unaligned_and_unsorted_map(void **state)
{
	/* Partial pages are not handed out; range order does not matter. */
	const struct mem_range map[] = {
	    R(0x300800, 0x2000, MEM_USABLE), /* only [0x301000,0x302000) */
	    R(0x200000, 0x1000, MEM_USABLE),
	    R(0x400000, 0x800, MEM_USABLE), /* no whole page */
	};
	u64 hpa;

	(void)state;
	init(map, 3);
	assert_int_equal(page_alloc_free_count(&pa), 2);
	assert_true(page_alloc_pages(&pa, 1, 0, 0, &hpa));
	assert_true(page_alloc_pages(&pa, 1, 0, 0, &hpa));
	assert_false(page_alloc_pages(&pa, 1, 0, 0, &hpa));
	assert_false(page_alloc_page_is_free(&pa, 0x400000));
}

/* Random alloc/free against a shadow array of page owners. */
static void test_random_against_shadow(void **state)
{
	enum { PAGES = 700 };
	const struct mem_range map[] = {
	    R(0x100000, 300 * 0x1000, MEM_USABLE),
	    R(0x100000 + 310 * 0x1000, 390 * 0x1000, MEM_USABLE),
	};
	static u8 owner[PAGES]; /* 0 free or hole, else allocation id */
	struct {
		u64 hpa, n;
	} live[64];
	int nlive = 0, successes = 0;

	(void)state;
	init(map, 2);
	memset(owner, 0, sizeof(owner));
	srand(777);
	for (int step = 0; step < 20000; step++) {
		if (nlive < 64 && (rand() % 2 || nlive == 0)) {
			u64 n = 1 + (u64)(rand() % 40);
			u64 align = PAGE_SIZE << (rand() % 4);
			u64 below =
			    rand() % 3
				? 0
				: 0x100000 + (u64)(rand() % PAGES) * 0x1000;
			u64 hpa;

			if (!page_alloc_pages(&pa, n, align, below, &hpa))
				continue;
			assert_true(IS_ALIGNED(hpa, align));
			if (below)
				assert_true(hpa + n * 0x1000 <= below);
			for (u64 i = 0; i < n; i++) {
				u64 p = (hpa - 0x100000) / 0x1000 + i;

				assert_true(p < PAGES);
				assert_false(p >= 300 && p < 310); /* hole */
				assert_int_equal(owner[p], 0);
				owner[p] = 1;
			}
			successes++;
			live[nlive].hpa = hpa;
			live[nlive].n = n;
			nlive++;
		} else {
			int k = rand() % nlive;

			page_free_pages(&pa, live[k].hpa, live[k].n);
			for (u64 i = 0; i < live[k].n; i++)
				owner[(live[k].hpa - 0x100000) / 0x1000 + i] =
				    0;
			live[k] = live[--nlive];
		}
		u64 used = 0;

		for (int i = 0; i < PAGES; i++)
			used += owner[i];
		assert_int_equal(page_alloc_free_count(&pa), 690 - used);
	}
	assert_true(successes > 5000); /* the test exercised something */
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset, cleanup)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_bitmap_size_and_free_count),
	    T(test_prefers_memory_above_1m),
	    T(test_below_limit),
	    T(test_alignment),
	    T(test_bad_alignment_panics),
	    T(test_exhaustion_and_reuse),
	    T(test_runs_cross_word_boundaries),
	    T(test_bad_frees_panic),
	    T(test_unaligned_and_unsorted_map),
	    T(test_random_against_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
