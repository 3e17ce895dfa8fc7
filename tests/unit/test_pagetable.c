/* SPDX-License-Identifier: MIT */
/*
 * Host tests of the page-table engine (core/lib/pagetable.c).
 *
 * "Physical memory" is a pool of 4 KiB-aligned malloc'd pages; page i has
 * the fake host-physical address FAKE_BASE + i * 4096, above 4 GiB so that
 * truncation to 32 bits would show.  The pool counts allocations and frees
 * and can be told to fail after a number of allocations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/lib/pagetable.h"

#define FAKE_BASE  0x123400000ull
#define POOL_PAGES 4096

struct pool {
	void *page[POOL_PAGES];
	bool in_use[POOL_PAGES];
	unsigned allocated; /* alloc_table calls that succeeded */
	unsigned freed;
	long fail_after; /* successful allocations left; -1: unlimited */
};

static struct pool pool;

static void *fake_phys_to_virt(u64 hpa)
{
	u64 i = (hpa - FAKE_BASE) / PT_TABLE_SIZE;

	assert_true(hpa >= FAKE_BASE && i < POOL_PAGES);
	assert_true(IS_ALIGNED(hpa, PT_TABLE_SIZE));
	assert_true(pool.in_use[i]);
	return pool.page[i];
}

static bool fake_alloc(void *opaque, u64 *hpa_out)
{
	assert_ptr_equal(opaque, &pool);
	if (pool.fail_after == 0)
		return false;
	for (unsigned i = 0; i < POOL_PAGES; i++) {
		if (pool.in_use[i])
			continue;
		if (!pool.page[i])
			pool.page[i] =
			    aligned_alloc(PT_TABLE_SIZE, PT_TABLE_SIZE);
		assert_non_null(pool.page[i]);
		/* Garbage, so that a table the engine forgets to zero shows. */
		memset(pool.page[i], 0xa5, PT_TABLE_SIZE);
		pool.in_use[i] = true;
		pool.allocated++;
		if (pool.fail_after > 0)
			pool.fail_after--;
		*hpa_out = FAKE_BASE + (u64)i * PT_TABLE_SIZE;
		return true;
	}
	fail_msg("fake physical pool exhausted");
	return false;
}

static void fake_free(void *opaque, u64 hpa)
{
	u64 i = (hpa - FAKE_BASE) / PT_TABLE_SIZE;

	assert_ptr_equal(opaque, &pool);
	assert_true(hpa >= FAKE_BASE && i < POOL_PAGES);
	assert_true(pool.in_use[i]); /* no double free */
	pool.in_use[i] = false;
	pool.freed++;
}

static int pool_setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < POOL_PAGES; i++)
		free(pool.page[i]);
	memset(&pool, 0, sizeof(pool));
	pool.fail_after = -1;
	return 0;
}

static int pool_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < POOL_PAGES; i++)
		free(pool.page[i]);
	memset(&pool, 0, sizeof(pool));
	return 0;
}

static unsigned pool_in_use(void)
{
	return pool.allocated - pool.freed;
}

/* A fresh address space of format fmt; 1 GiB leaves when allow_1g. */
static struct pt_format fmt_copy;

static struct pt_ctx make_ctx(const struct pt_format *fmt, bool allow_1g)
{
	struct pt_ctx ctx = {
	    .fmt = &fmt_copy,
	    .phys_to_virt = fake_phys_to_virt,
	    .alloc_table = fake_alloc,
	    .free_table = fake_free,
	    .opaque = &pool,
	};

	fmt_copy = *fmt;
	if (allow_1g)
		fmt_copy.leaf_levels |= PT_LEAF_1G;
	assert_int_equal(pt_create(&ctx), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 1);
	return ctx;
}

/* Tears ctx down and checks every table went back to the pool. */
static void destroy_ctx(struct pt_ctx *ctx)
{
	pt_destroy(ctx);
	assert_int_equal(ctx->root, 0);
	assert_int_equal(pool_in_use(), 0);
}

/* The raw entry at `level` on va's path; the path must exist. */
static u64 raw_entry(const struct pt_ctx *ctx, u64 va, int level)
{
	u64 table = ctx->root;

	for (int l = PT_LEVELS;; l--) {
		u64 *t = fake_phys_to_virt(table);
		u64 e = t[(va >> (12 + 9 * (l - 1))) & 511];

		if (l == level)
			return e;
		table = e & 0x000FFFFFFFFFF000ull;
	}
}

static void expect_mapping(const struct pt_ctx *ctx, u64 va, u64 want_pa,
			   u64 want_size, u32 want_flags)
{
	u64 pa = 0, size = 0;
	u32 flags = 0;

	assert_true(pt_translate(ctx, va, &pa, &flags, &size));
	assert_int_equal(pa, want_pa);
	assert_int_equal(size, want_size);
	assert_int_equal(flags, want_flags);
}

static void expect_unmapped(const struct pt_ctx *ctx, u64 va)
{
	assert_false(pt_translate(ctx, va, NULL, NULL, NULL));
}

#define RW  (PT_R | PT_W)
#define RWX (PT_R | PT_W | PT_X)

/* ---- page size choice ---- */

static void test_largest_pages_chosen(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, true);
	u64 size = GiB(1) + MiB(2) + KiB(4);

	assert_int_equal(pt_map(&ctx, GiB(1), GiB(3), size, RWX), PT_OK);
	expect_mapping(&ctx, GiB(1), GiB(3), GiB(1), RWX);
	expect_mapping(&ctx, GiB(1) + 0x12345, GiB(3) + 0x12345, GiB(1), RWX);
	expect_mapping(&ctx, GiB(2), GiB(4), MiB(2), RWX);
	expect_mapping(&ctx, GiB(2) + MiB(2), GiB(4) + MiB(2), KiB(4), RWX);
	expect_unmapped(&ctx, GiB(2) + MiB(2) + KiB(4));
	expect_unmapped(&ctx, GiB(1) - KiB(4));
	/* root, one PDPT, one PD (2 MiB leaf), one PT (4 KiB leaf) */
	assert_int_equal(pt_count_tables(&ctx), 4);
	destroy_ctx(&ctx);
}

static void test_no_1g_without_permission(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_npt, false);

	assert_int_equal(pt_map(&ctx, 0, GiB(2), GiB(2), RWX), PT_OK);
	expect_mapping(&ctx, 0, GiB(2), MiB(2), RWX | PT_USER);
	expect_mapping(&ctx, GiB(2) - 1, GiB(4) - 1, MiB(2), RWX | PT_USER);
	/* root, PDPT, two PDs of 512 2 MiB leaves each */
	assert_int_equal(pt_count_tables(&ctx), 4);
	destroy_ctx(&ctx);
}

static void test_alignment_limits_page_size(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, true);

	/* va 1 GiB aligned but pa only 4 KiB aligned: 4 KiB pages only. */
	assert_int_equal(pt_map(&ctx, GiB(1), MiB(2) + KiB(4), MiB(4), RW),
			 PT_OK);
	expect_mapping(&ctx, GiB(1), MiB(2) + KiB(4), KiB(4), RW);
	expect_mapping(&ctx, GiB(1) + MiB(4) - KiB(4), MiB(6), KiB(4), RW);
	/* root, PDPT, PD, two PTs */
	assert_int_equal(pt_count_tables(&ctx), 5);

	/* A range starting 4 KiB below a 2 MiB boundary: 4K, then 2M. */
	assert_int_equal(
	    pt_map(&ctx, MiB(2) - KiB(4), MiB(2) - KiB(4), MiB(2) + KiB(4), RW),
	    PT_OK);
	expect_mapping(&ctx, MiB(2) - KiB(4), MiB(2) - KiB(4), KiB(4), RW);
	expect_mapping(&ctx, MiB(2), MiB(2), MiB(2), RW);
	destroy_ctx(&ctx);
}

static void test_misaligned_and_bad_ranges(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_x86_host, false);

	assert_int_equal(pt_map(&ctx, 0x1001, 0, KiB(4), RW), PT_ERR_ALIGN);
	assert_int_equal(pt_map(&ctx, 0, 0x800, KiB(4), RW), PT_ERR_ALIGN);
	assert_int_equal(pt_map(&ctx, 0, 0, 100, RW), PT_ERR_ALIGN);
	assert_int_equal(pt_map(&ctx, 0, 0, 0, RW), PT_ERR_ALIGN);
	/* Non-canonical, and a range running into the canonical hole. */
	assert_int_equal(pt_map(&ctx, 0x0000800000000000ull, 0, KiB(4), RW),
			 PT_ERR_RANGE);
	assert_int_equal(pt_map(&ctx, 0x00007FFFFFFFF000ull, 0, KiB(8), RW),
			 PT_ERR_RANGE);
	/* Wrapping around the top of the address space. */
	assert_int_equal(pt_map(&ctx, 0xFFFFFFFFFFFFF000ull, 0, KiB(8), RW),
			 PT_ERR_RANGE);
	/* Output beyond the 52-bit physical address width. */
	assert_int_equal(pt_map(&ctx, 0, 1ull << 52, KiB(4), RW), PT_ERR_RANGE);
	assert_int_equal(pt_map(&ctx, 0, (1ull << 52) - KiB(4), KiB(8), RW),
			 PT_ERR_RANGE);
	assert_int_equal(pt_unmap(&ctx, 0, 0), PT_ERR_ALIGN);
	assert_int_equal(pt_protect(&ctx, 0x10, KiB(4), RW), PT_ERR_ALIGN);
	/* Nothing was built by any refusal. */
	assert_int_equal(pt_count_tables(&ctx), 1);

	/* The higher half works (the kernel-style canonical range). */
	assert_int_equal(
	    pt_map(&ctx, 0xFFFFFFFF80000000ull, MiB(2), MiB(2), PT_R | PT_X),
	    PT_OK);
	expect_mapping(&ctx, 0xFFFFFFFF80000123ull, MiB(2) + 0x123, MiB(2),
		       PT_R | PT_X);
	expect_unmapped(&ctx, 0x0000800000000000ull);
	destroy_ctx(&ctx);

	/* EPT/NPT inputs are guest-physical: 48 bits, no sign extension. */
	ctx = make_ctx(&pt_format_ept, false);
	assert_int_equal(pt_map(&ctx, 1ull << 48, 0, KiB(4), RW), PT_ERR_RANGE);
	assert_int_equal(pt_map(&ctx, 0xFFFFFFFF80000000ull, 0, KiB(4), RW),
			 PT_ERR_RANGE);
	assert_int_equal(pt_map(&ctx, (1ull << 48) - KiB(4), 0, KiB(4), RW),
			 PT_OK);
	expect_unmapped(&ctx, 1ull << 48);
	destroy_ctx(&ctx);
}

static void test_bad_flags(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, false);

	/* Write- or execute-only, unknown bits, a user bit EPT lacks. */
	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), PT_W), PT_ERR_FLAGS);
	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), PT_X), PT_ERR_FLAGS);
	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), PT_R | BIT(9)),
			 PT_ERR_FLAGS);
	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), PT_R | PT_USER),
			 PT_ERR_FLAGS);
	assert_int_equal(pt_count_tables(&ctx), 1);
	assert_string_equal(pt_error_string(PT_ERR_FLAGS),
			    "access flags cannot be encoded in this "
			    "page-table format");
	destroy_ctx(&ctx);
}

/* ---- encodings ---- */

static void test_ept_encoding(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, false);

	assert_int_equal(pt_map(&ctx, 0, MiB(8), KiB(4), PT_R), PT_OK);
	assert_int_equal(pt_map(&ctx, MiB(2), MiB(4), MiB(2), RWX), PT_OK);
	assert_int_equal(pt_map(&ctx, MiB(4), 0xFEE00000, KiB(4), RW | PT_UC),
			 PT_OK);

	/* Tables: R|W|X and nothing else besides the address. */
	assert_int_equal(raw_entry(&ctx, 0, 4) & 0xFFF, 0x7);
	assert_int_equal(raw_entry(&ctx, 0, 3) & 0xFFF, 0x7);
	assert_int_equal(raw_entry(&ctx, 0, 2) & 0xFFF, 0x7);
	/* Read-only WB 4 KiB leaf: R, memtype 6 in bits 5:3, no IPAT. */
	assert_int_equal(raw_entry(&ctx, 0, 1), MiB(8) | 0x1 | (6 << 3));
	/* 2 MiB RWX WB leaf: bit 7. */
	assert_int_equal(raw_entry(&ctx, MiB(2), 2),
			 MiB(4) | 0x7 | (6 << 3) | BIT(7));
	/* UC: memtype 0 and ignore-PAT (bit 6). */
	assert_int_equal(raw_entry(&ctx, MiB(4), 1),
			 0xFEE00000ull | 0x3 | BIT(6));
	expect_mapping(&ctx, MiB(4), 0xFEE00000, KiB(4), RW | PT_UC);
	expect_mapping(&ctx, 0, MiB(8), KiB(4), PT_R);
	destroy_ctx(&ctx);
}

static void test_x86_host_encoding(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_x86_host, true);

	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), PT_R), PT_OK);
	assert_int_equal(pt_map(&ctx, GiB(1), GiB(1), GiB(1), RWX), PT_OK);
	assert_int_equal(
	    pt_map(&ctx, KiB(4), MiB(1), KiB(4), RW | PT_USER | PT_UC), PT_OK);

	assert_int_equal(raw_entry(&ctx, 0, 4) & 0xFFF, 0x7); /* P RW US */
	/* Read-only, no-exec: P and NX. */
	assert_int_equal(raw_entry(&ctx, 0, 1), BIT(63) | 0x1);
	/* 1 GiB executable leaf: P RW PS, no NX. */
	assert_int_equal(raw_entry(&ctx, GiB(1), 3), GiB(1) | 0x3 | BIT(7));
	/* User UC: P RW US PWT PCD. */
	assert_int_equal(raw_entry(&ctx, KiB(4), 1), BIT(63) | MiB(1) | 0x1F);
	expect_mapping(&ctx, KiB(4), MiB(1), KiB(4), RW | PT_USER | PT_UC);
	expect_mapping(&ctx, GiB(2) - 1, GiB(2) - 1, GiB(1), RWX);
	destroy_ctx(&ctx);
}

static void test_npt_encoding(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_npt, false);

	assert_int_equal(pt_map(&ctx, 0, MiB(64), MiB(2), PT_R), PT_OK);
	assert_int_equal(pt_map(&ctx, MiB(2), MiB(66), KiB(4), RWX), PT_OK);

	/* U/S=1 at every level: nested walks are user accesses. */
	for (int level = 4; level >= 3; level--)
		assert_int_equal(raw_entry(&ctx, 0, level) & 0xFFF, 0x7);
	assert_int_equal(raw_entry(&ctx, 0, 2),
			 BIT(63) | MiB(64) | BIT(7) | 0x5);
	assert_int_equal(raw_entry(&ctx, MiB(2), 2) & 0xFFF, 0x7);
	assert_int_equal(raw_entry(&ctx, MiB(2), 1), MiB(66) | 0x7);
	/* PT_USER is implied, so it is accepted and reported. */
	assert_int_equal(pt_map(&ctx, MiB(4), 0, KiB(4), PT_R | PT_USER),
			 PT_OK);
	expect_mapping(&ctx, MiB(4), 0, KiB(4), PT_R | PT_USER);
	destroy_ctx(&ctx);
}

static void test_vtd_encoding(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_vtd, false);

	assert_int_equal(pt_map(&ctx, 0, MiB(8), KiB(4), PT_R), PT_OK);
	assert_int_equal(pt_map(&ctx, MiB(2), MiB(4), MiB(2), RW), PT_OK);
	/* No memory type in a DMA page table: PT_UC changes nothing. */
	assert_int_equal(pt_map(&ctx, MiB(4), MiB(12), KiB(4), RW | PT_UC),
			 PT_OK);
	/* A device is not a CPU: no user bit to give. */
	assert_int_equal(pt_map(&ctx, MiB(6), 0, KiB(4), RW | PT_USER),
			 PT_ERR_FLAGS);

	/* Tables: R|W and nothing else besides the address (VT-d 9.8). */
	for (int level = 4; level >= 2; level--)
		assert_int_equal(raw_entry(&ctx, 0, level) & 0xFFF, 0x3);
	assert_int_equal(raw_entry(&ctx, 0, 1), MiB(8) | 0x1);
	/* 2 MiB leaf: PS, bit 7. */
	assert_int_equal(raw_entry(&ctx, MiB(2), 2), MiB(4) | 0x3 | BIT(7));
	assert_int_equal(raw_entry(&ctx, MiB(4), 1), MiB(12) | 0x3);
	/* Execution is not the format's to deny: PT_X is reported. */
	expect_mapping(&ctx, MiB(2), MiB(4), MiB(2), RWX);
	expect_mapping(&ctx, MiB(4), MiB(12), KiB(4), RWX);
	expect_mapping(&ctx, 0, MiB(8), KiB(4), PT_R | PT_X);
	destroy_ctx(&ctx);
}

/* AMD-Vi: Next Level in bits 11:9 of every table entry, 4 KiB leaves. */
static void test_amdvi_encoding(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_amdvi, true);
	const u64 ir = BIT(61), iw = BIT(62);

	/* 2 MiB aligned, yet 512 4 KiB leaves: the format has no PS bit. */
	assert_int_equal(pt_map(&ctx, MiB(2), MiB(64), MiB(2), RW), PT_OK);
	assert_int_equal(pt_map(&ctx, 0, MiB(8), KiB(4), PT_R), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 5); /* 4, 3, 2, two 1s */

	for (int level = 4; level >= 2; level--) {
		u64 e = raw_entry(&ctx, MiB(2), level);

		/* PR, IR, IW, and the level of the table it points to. */
		assert_int_equal(e & ~0x000FFFFFFFFFF000ull,
				 0x1 | ((u64)(level - 1) << 9) | ir | iw);
	}
	assert_int_equal(raw_entry(&ctx, MiB(2), 1), MiB(64) | 0x1 | ir | iw);
	assert_int_equal(raw_entry(&ctx, MiB(4) - KiB(4), 1),
			 (MiB(66) - KiB(4)) | 0x1 | ir | iw);
	/* Read-only: IR without IW; Next Level 0 in a page table entry. */
	assert_int_equal(raw_entry(&ctx, 0, 1), MiB(8) | 0x1 | ir);
	expect_mapping(&ctx, MiB(2), MiB(64), KiB(4), RWX);
	expect_mapping(&ctx, 0, MiB(8), KiB(4), PT_R | PT_X);
	expect_unmapped(&ctx, KiB(4));
	/* Unmapping the last leaf of a table frees it and its parents. */
	assert_int_equal(pt_unmap(&ctx, MiB(2), MiB(2)), PT_OK);
	expect_unmapped(&ctx, MiB(2));
	assert_int_equal(pt_count_tables(&ctx), 4);
	assert_int_equal(pt_unmap(&ctx, 0, KiB(4)), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 1);
	destroy_ctx(&ctx);
}

/* Round trips through every format, at every page size. */
static void test_translate_round_trip_all_formats(void **state)
{
	(void)state;
	const struct pt_format *formats[] = {&pt_format_x86_host,
					     &pt_format_ept, &pt_format_npt,
					     &pt_format_vtd, &pt_format_amdvi};

	for (unsigned f = 0; f < ARRAY_SIZE(formats); f++) {
		struct pt_ctx ctx = make_ctx(formats[f], true);
		u32 user = formats[f] == &pt_format_npt ? PT_USER : 0;
		u64 va = GiB(5), pa = GiB(7);
		u64 size = GiB(1) + MiB(6) + KiB(12);

		assert_int_equal(pt_map(&ctx, va, pa, size, RWX), PT_OK);
		for (u64 off = 0; off < size; off += 0x1F3F3) {
			u64 got_pa;
			u32 flags;

			assert_true(pt_translate(&ctx, va + off, &got_pa,
						 &flags, NULL));
			assert_int_equal(got_pa, pa + off);
			assert_int_equal(flags, RWX | user);
		}
		expect_mapping(&ctx, va + size - 1, pa + size - 1, KiB(4),
			       RWX | user);
		expect_unmapped(&ctx, va + size);
		expect_unmapped(&ctx, va - 1);
		destroy_ctx(&ctx);
	}
}

/* ---- changing mappings ---- */

static void test_split_large_page(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, true);

	assert_int_equal(pt_map(&ctx, 0, GiB(4), GiB(1), RWX), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 2);

	/* One 4 KiB page inside: 1G -> 512 x 2M, one 2M -> 512 x 4K. */
	assert_int_equal(
	    pt_map(&ctx, MiB(6) + KiB(8), MiB(100), KiB(4), PT_R | PT_UC),
	    PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 4);
	expect_mapping(&ctx, MiB(6) + KiB(8), MiB(100), KiB(4), PT_R | PT_UC);
	/* The rest keeps its address and attributes. */
	expect_mapping(&ctx, MiB(6), GiB(4) + MiB(6), KiB(4), RWX);
	expect_mapping(&ctx, MiB(6) + KiB(12), GiB(4) + MiB(6) + KiB(12),
		       KiB(4), RWX);
	expect_mapping(&ctx, MiB(4), GiB(4) + MiB(4), MiB(2), RWX);
	expect_mapping(&ctx, GiB(1) - 1, GiB(5) - 1, MiB(2), RWX);
	/* Split leaves carry the memory type bits of the parent. */
	assert_int_equal(raw_entry(&ctx, MiB(6), 1),
			 (GiB(4) + MiB(6)) | 0x7 | (6 << 3));
	assert_int_equal(raw_entry(&ctx, MiB(4), 2),
			 (GiB(4) + MiB(4)) | 0x7 | (6 << 3) | BIT(7));

	/* Mapping a 2 MiB leaf back over the PT frees the PT. */
	assert_int_equal(pt_map(&ctx, MiB(6), GiB(4) + MiB(6), MiB(2), RWX),
			 PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 3);
	assert_int_equal(pool_in_use(), 3);
	expect_mapping(&ctx, MiB(6) + KiB(8), GiB(4) + MiB(6) + KiB(8), MiB(2),
		       RWX);
	destroy_ctx(&ctx);
}

static void test_unmap(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_x86_host, false);

	assert_int_equal(pt_map(&ctx, 0, 0, MiB(4), RW), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 3);

	/* A hole in the middle of the first 2 MiB leaf splits it. */
	assert_int_equal(pt_unmap(&ctx, MiB(1), KiB(8)), PT_OK);
	expect_unmapped(&ctx, MiB(1));
	expect_unmapped(&ctx, MiB(1) + KiB(4));
	expect_mapping(&ctx, MiB(1) - KiB(4), MiB(1) - KiB(4), KiB(4), RW);
	expect_mapping(&ctx, MiB(1) + KiB(8), MiB(1) + KiB(8), KiB(4), RW);
	expect_mapping(&ctx, MiB(2), MiB(2), MiB(2), RW);
	assert_int_equal(pt_count_tables(&ctx), 4);

	/* Unmapping across holes and unmapped space is fine. */
	assert_int_equal(pt_unmap(&ctx, 0, GiB(2)), PT_OK);
	expect_unmapped(&ctx, 0);
	expect_unmapped(&ctx, MiB(3));
	/* Every table left empty went back; only the root stays. */
	assert_int_equal(pt_count_tables(&ctx), 1);
	assert_int_equal(pool_in_use(), 1);

	/* Unmapping where nothing ever was changes nothing. */
	assert_int_equal(pt_unmap(&ctx, GiB(100), GiB(1)), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 1);
	destroy_ctx(&ctx);
}

static void test_unmap_keeps_neighbours_tables(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, false);

	assert_int_equal(pt_map(&ctx, 0, 0, KiB(8), RW), PT_OK);
	assert_int_equal(pt_unmap(&ctx, 0, KiB(4)), PT_OK);
	/* The PT still holds page 1, so the path stays. */
	assert_int_equal(pt_count_tables(&ctx), 4);
	expect_mapping(&ctx, KiB(4), KiB(4), KiB(4), RW);
	assert_int_equal(pt_unmap(&ctx, KiB(4), KiB(4)), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 1);
	destroy_ctx(&ctx);
}

static void test_protect(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, false);

	assert_int_equal(pt_map(&ctx, 0, MiB(32), MiB(4), RWX), PT_OK);
	/* Read-only over the last 4 KiB of the first 2 MiB and all of the
	 * second: the first leaf splits, the second is rewritten whole. */
	assert_int_equal(
	    pt_protect(&ctx, MiB(2) - KiB(4), MiB(2) + KiB(4), PT_R), PT_OK);
	expect_mapping(&ctx, MiB(2) - KiB(8), MiB(34) - KiB(8), KiB(4), RWX);
	expect_mapping(&ctx, MiB(2) - KiB(4), MiB(34) - KiB(4), KiB(4), PT_R);
	expect_mapping(&ctx, MiB(3), MiB(35), MiB(2), PT_R);

	/* A range with a hole is refused and nothing changes. */
	assert_int_equal(pt_protect(&ctx, MiB(2), MiB(4), RW),
			 PT_ERR_NOT_MAPPED);
	assert_int_equal(ctx.error_addr, MiB(4));
	expect_mapping(&ctx, MiB(3), MiB(35), MiB(2), PT_R);
	assert_int_equal(pt_protect(&ctx, 0, KiB(4), PT_W), PT_ERR_FLAGS);
	destroy_ctx(&ctx);
}

/* ---- allocation failure and the context ---- */

static void test_allocation_failure_midway(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, false);
	u64 va = GiB(1) - MiB(2);

	/* PDPT, the PD for the first GiB, then the PD for the second fails:
	 * only the first 2 MiB leaf gets in. */
	pool.fail_after = 2;
	assert_int_equal(pt_map(&ctx, va, 0, MiB(4), RW), PT_ERR_NOMEM);
	assert_int_equal(ctx.error_addr, GiB(1));
	expect_mapping(&ctx, va, 0, MiB(2), RW);
	expect_unmapped(&ctx, GiB(1));
	assert_string_equal(pt_error_string(PT_ERR_NOMEM),
			    "out of memory for page tables");

	/* A split that cannot get a table leaves the large leaf alone. */
	pool.fail_after = 0;
	assert_int_equal(pt_map(&ctx, va + KiB(4), MiB(8), KiB(4), RW),
			 PT_ERR_NOMEM);
	expect_mapping(&ctx, va + KiB(4), KiB(4), MiB(2), RW);
	assert_int_equal(pt_unmap(&ctx, va, KiB(4)), PT_ERR_NOMEM);
	assert_int_equal(ctx.error_addr, va);
	expect_mapping(&ctx, va, 0, MiB(2), RW);
	assert_int_equal(pt_protect(&ctx, va, KiB(4), PT_R), PT_ERR_NOMEM);
	expect_mapping(&ctx, va, 0, MiB(2), RW);

	pool.fail_after = -1;
	assert_int_equal(pt_map(&ctx, va, 0, MiB(4), RW), PT_OK);
	expect_mapping(&ctx, GiB(1), MiB(2), MiB(2), RW);
	destroy_ctx(&ctx);
}

static void test_create_failures(void **state)
{
	(void)state;
	struct pt_ctx ctx = {
	    .fmt = &pt_format_ept,
	    .phys_to_virt = fake_phys_to_virt,
	    .alloc_table = fake_alloc,
	    .opaque = &pool,
	};

	/* free_table is missing. */
	assert_int_equal(pt_create(&ctx), PT_ERR_CTX);
	ctx.free_table = fake_free;
	pool.fail_after = 0;
	assert_int_equal(pt_create(&ctx), PT_ERR_NOMEM);
	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), RW), PT_ERR_CTX);
	assert_false(pt_translate(&ctx, 0, NULL, NULL, NULL));
	assert_int_equal(pt_count_tables(&ctx), 0);
	assert_int_equal(pool_in_use(), 0);
}

/* 1 GiB leaves without 2 MiB ones could not be split: 4 KiB only. */
static void test_1g_needs_2m(void **state)
{
	(void)state;
	struct pt_format no_2m = pt_format_ept;
	struct pt_ctx ctx = make_ctx(&pt_format_ept, false);

	no_2m.leaf_levels = PT_LEAF_1G;
	ctx.fmt = &no_2m;
	assert_int_equal(pt_map(&ctx, GiB(1), GiB(1), GiB(1), RW), PT_OK);
	expect_mapping(&ctx, GiB(1), GiB(1), KiB(4), RW);
	expect_mapping(&ctx, GiB(2) - 1, GiB(2) - 1, KiB(4), RW);
	assert_int_equal(pt_count_tables(&ctx), 3 + 512);
	destroy_ctx(&ctx);
}

/* Host paging on a CPU without NX: nothing can be made no-exec. */
static void test_host_without_nx(void **state)
{
	(void)state;
	struct pt_format no_nx = pt_format_x86_host;
	struct pt_ctx ctx = make_ctx(&pt_format_x86_host, false);

	no_nx.noexec_bit = 0;
	ctx.fmt = &no_nx;
	assert_int_equal(pt_map(&ctx, 0, 0, KiB(4), RW), PT_OK);
	assert_int_equal(raw_entry(&ctx, 0, 1), 0x3);
	expect_mapping(&ctx, 0, 0, KiB(4), RWX);
	destroy_ctx(&ctx);
}

static void test_count_tables_overhead(void **state)
{
	(void)state;
	struct pt_ctx ctx = make_ctx(&pt_format_npt, false);

	/* 256 MiB of guest RAM in 4 KiB pages: 128 PTs + PD + PDPT + root. */
	assert_int_equal(pt_map(&ctx, 0, GiB(8) + KiB(4), MiB(256), RW), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 128 + 3);
	assert_int_equal(pool_in_use(), 128 + 3);
	/* The same RAM 2 MiB aligned: 2 MiB leaves, 3 tables. */
	assert_int_equal(pt_map(&ctx, 0, GiB(8), MiB(256), RW), PT_OK);
	assert_int_equal(pt_count_tables(&ctx), 3);
	assert_int_equal(pool_in_use(), 3);
	destroy_ctx(&ctx);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, pool_setup, pool_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_largest_pages_chosen),
	    T(test_no_1g_without_permission),
	    T(test_alignment_limits_page_size),
	    T(test_misaligned_and_bad_ranges),
	    T(test_bad_flags),
	    T(test_ept_encoding),
	    T(test_x86_host_encoding),
	    T(test_npt_encoding),
	    T(test_vtd_encoding),
	    T(test_amdvi_encoding),
	    T(test_translate_round_trip_all_formats),
	    T(test_split_large_page),
	    T(test_unmap),
	    T(test_unmap_keeps_neighbours_tables),
	    T(test_protect),
	    T(test_allocation_failure_midway),
	    T(test_create_failures),
	    T(test_1g_needs_2m),
	    T(test_host_without_nx),
	    T(test_count_tables_overhead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
