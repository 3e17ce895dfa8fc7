/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for arch/x86/vmx/guest_walk.c: guest linear -> guest-physical
 * translation for every paging mode, against tables built in a fake guest
 * RAM of 64 pages at guest-physical 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/guest_walk.h"
#include "core/lib/string.h"

#define RAM_PAGES 64
#define RAM_SIZE  (RAM_PAGES * 4096ull)

#define CR0_PE	 (1ull << 0)
#define CR0_PG	 (1ull << 31)
#define CR4_PSE	 (1ull << 4)
#define CR4_PAE	 (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define P	 1ull	     /* present */
#define RW	 2ull	     /* writable: ignored by the walker */
#define PS	 (1ull << 7) /* large page */

static u8 ram[RAM_SIZE] __attribute__((aligned(4096)));

static const void *memory(void *opaque, u64 gpa, u64 len)
{
	assert_ptr_equal(opaque, ram);
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

static void put32(u64 gpa, u32 v)
{
	memcpy(ram + gpa, &v, 4);
}

static void put64(u64 gpa, u64 v)
{
	memcpy(ram + gpa, &v, 8);
}

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	return 0;
}

static u64 walk_ok(const struct guest_paging *p, u64 la)
{
	u64 gpa = 0xdeadbeef;
	enum guest_walk_result r = guest_walk(p, la, memory, ram, &gpa);
	if (r != GUEST_WALK_OK)
		fail_msg("walk of %#llx failed: %s", (unsigned long long)la,
			 guest_walk_result_string(r));
	return gpa;
}

static enum guest_walk_result walk_err(const struct guest_paging *p, u64 la)
{
	u64 gpa = 0x1234;
	enum guest_walk_result r = guest_walk(p, la, memory, ram, &gpa);
	assert_int_not_equal(r, GUEST_WALK_OK);
	assert_int_equal(gpa, 0x1234); /* untouched on failure */
	return r;
}

static void test_paging_off(void **state)
{
	(void)state;
	struct guest_paging p = {.cr0 = CR0_PE};
	assert_int_equal(walk_ok(&p, 0x7c00), 0x7c00);
	/* Outside long mode a linear address is 32 bits. */
	assert_int_equal(walk_ok(&p, 0x100001234ull), 0x1234);
}

static void test_32bit_4k_and_4m(void **state)
{
	(void)state;
	struct guest_paging p = {.cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000};
	/* la 0x00401abc: PDE 1 -> PT at 0x2000, PTE 1 -> page 0x5000. */
	put32(0x1000 + 1 * 4, 0x2000 | P | RW);
	put32(0x2000 + 1 * 4, 0x5000 | P);
	assert_int_equal(walk_ok(&p, 0x00401abc), 0x5abc);

	/* A 4 MiB PDE is a pointer to a table unless CR4.PSE is set. */
	put32(0x1000 + 3 * 4, 0x00c00000 | PS | P | (0x3u << 13));
	p.cr4 = CR4_PSE;
	/* PSE-36: PDE bits 20:13 are physical address bits 39:32. */
	assert_int_equal(walk_ok(&p, 0x00c12345), 0x300c12345ull);
	assert_int_equal(walk_err(&p, 0x00800000), GUEST_WALK_NOT_PRESENT);
}

static void test_32bit_not_present_pte(void **state)
{
	(void)state;
	struct guest_paging p = {.cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000};
	put32(0x1000, 0x2000 | P);
	put32(0x2000 + 4, 0x5000); /* P = 0 */
	assert_int_equal(walk_err(&p, 0x1000), GUEST_WALK_NOT_PRESENT);
	/* A PDE pointing beyond RAM. */
	put32(0x1000 + 8, 0x0f000000 | P);
	assert_int_equal(walk_err(&p, 0x00800000), GUEST_WALK_BAD_TABLE);
}

static void test_pae(void **state)
{
	(void)state;
	/* CR3 bits 31:5 locate the PDPT: here at 0x1020, not page aligned. */
	struct guest_paging p = {
	    .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1020, .cr4 = CR4_PAE};
	put64(0x1020 + 2 * 8, 0x3000 | P); /* la bits 31:30 = 2 */
	/* PD index 1: a 2 MiB page at 0x40000000 + 2 MiB. */
	put64(0x3000 + 1 * 8, 0x40200000ull | PS | P);
	assert_int_equal(walk_ok(&p, 0x80212345), 0x40212345ull);
	/* PD index 2 -> PT at 0x4000, PTE 3 -> 0x7000. */
	put64(0x3000 + 2 * 8, 0x4000 | P);
	put64(0x4000 + 3 * 8, 0x7000 | P | (1ull << 63)); /* NX ignored */
	assert_int_equal(walk_ok(&p, 0x80403fff), 0x7fff);
	assert_int_equal(walk_err(&p, 0x00000000), GUEST_WALK_NOT_PRESENT);
}

static void test_4level(void **state)
{
	(void)state;
	struct guest_paging p = {.cr0 = CR0_PE | CR0_PG,
				 .cr3 = 0x1000,
				 .cr4 = CR4_PAE,
				 .efer = EFER_LME | EFER_LMA};
	u64 la = 0xffff800040201abcull; /* PML4 256, PDPT 1, PD 1, PT 1 */
	put64(0x1000 + 256 * 8, 0x2000 | P);
	put64(0x2000 + 1 * 8, 0x3000 | P);
	put64(0x3000 + 1 * 8, 0x4000 | P);
	put64(0x4000 + 1 * 8, 0x123456000ull | P);
	assert_int_equal(walk_ok(&p, la), 0x123456abcull);

	/* A 1 GiB page at PDPT index 2. */
	put64(0x2000 + 2 * 8, 0x1c0000000ull | PS | P);
	assert_int_equal(walk_ok(&p, 0xffff800080000010ull), 0x1c0000010ull);

	/* A 2 MiB page at PD index 5. */
	put64(0x3000 + 5 * 8, 0xa00000ull | PS | P);
	assert_int_equal(walk_ok(&p, 0xffff800040a00008ull), 0xa00008ull);

	assert_int_equal(walk_err(&p, 0x0000800000000000ull),
			 GUEST_WALK_NONCANONICAL);
	assert_int_equal(walk_err(&p, 0x1000), GUEST_WALK_NOT_PRESENT);

	/* 5-level paging: a PML5 above the same PML4 (SDM Vol. 3A 4.5). */
	p.cr4 |= CR4_LA57;
	p.cr3 = 0x5000;
	put64(0x5000 + 511 * 8, 0x1000 | P); /* la bits 56:48 are all ones */
	assert_int_equal(walk_ok(&p, la), 0x123456abcull);
	assert_int_equal(walk_err(&p, 0x0100000000000000ull),
			 GUEST_WALK_NONCANONICAL);
	assert_int_equal(walk_err(&p, 0x1000), GUEST_WALK_NOT_PRESENT);
}

static void test_result_strings(void **state)
{
	(void)state;
	assert_string_equal(guest_walk_result_string(GUEST_WALK_NOT_PRESENT),
			    "a guest paging-structure entry is not present");
	assert_string_equal(guest_walk_result_string((enum guest_walk_result)7),
			    "unknown guest walk result");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_paging_off, setup),
	    cmocka_unit_test_setup(test_32bit_4k_and_4m, setup),
	    cmocka_unit_test_setup(test_32bit_not_present_pte, setup),
	    cmocka_unit_test_setup(test_pae, setup),
	    cmocka_unit_test_setup(test_4level, setup),
	    cmocka_unit_test_setup(test_result_strings, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
