/* SPDX-License-Identifier: MIT */
/*
 * ram: all of the RAM the memory map promises is there, and is distinct.
 *
 * Every 4 KiB page of every usable range above the guest image gets a
 * pattern derived from its address (first and middle word, last byte);
 * only after all pages are written are they read back, so two addresses
 * backed by the same host page (a broken EPT/NPT) show up as mismatches.
 * Twice, the second time with the complement. Also: mem_lower and
 * mem_upper agree with the map, and with "ram_mib=N" on the command line
 * the usable RAM ends at N MiB (rounded up to a MiB).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define MAX_REPORTED_ERRORS 8
#define FOUR_GIB	    0x100000000ULL

static struct guest_mmap map;
static unsigned errors;

static u32 word_pattern(uintptr_t page, u32 flip)
{
	return ((u32)page ^ 0x5a5a0000U ^ (u32)(page >> 12)) ^ flip;
}

static u8 byte_pattern(uintptr_t page, u32 flip)
{
	return (u8)((page >> 12) ^ 0xa5 ^ flip);
}

/* Calls fn for the page-aligned part of each usable range above the image
 * and below 4 GiB (what a 32-bit guest without paging can reach). */
static u64 for_each_test_range(void (*fn)(uintptr_t start, uintptr_t end,
					  u32 flip),
			       u32 flip)
{
	u64 image_end = (uintptr_t)_guest_image_end, bytes = 0;
	unsigned i;
	for (i = 0; i < map.count; i++) {
		u64 start = map.entry[i].base;
		u64 end = map.entry[i].base + map.entry[i].length;
		if (map.entry[i].type != MULTIBOOT_MEMORY_AVAILABLE)
			continue;
		if (end > FOUR_GIB)
			end = FOUR_GIB;
		if (start < image_end)
			start = image_end;
		start = ALIGN_UP(start, (u64)PAGE_SIZE);
		end &= ~(u64)(PAGE_SIZE - 1);
		if (start >= end)
			continue;
		if (fn)
			fn((uintptr_t)start, (uintptr_t)(end - PAGE_SIZE),
			   flip);
		bytes += end - start;
	}
	return bytes;
}

/* [start, last] are page addresses; last is the final page, inclusive, so
 * a range ending at 4 GiB does not overflow a 32-bit pointer. */
static void write_pages(uintptr_t start, uintptr_t last, u32 flip)
{
	uintptr_t page = start;
	for (;;) {
		volatile u32 *words = (volatile u32 *)page;
		volatile u8 *bytes = (volatile u8 *)page;
		words[0] = word_pattern(page, flip);
		words[PAGE_SIZE / 8] = ~word_pattern(page, flip);
		bytes[PAGE_SIZE - 1] = byte_pattern(page, flip);
		if (page == last)
			break;
		page += PAGE_SIZE;
	}
}

static void report(uintptr_t address, u32 got, u32 expected)
{
	if (errors++ < MAX_REPORTED_ERRORS)
		guest_printf("FAIL: RAM at 0x%08lx (0x%x != 0x%x)\n",
			     (unsigned long)address, got, expected);
}

static void verify_pages(uintptr_t start, uintptr_t last, u32 flip)
{
	uintptr_t page = start;
	for (;;) {
		volatile u32 *words = (volatile u32 *)page;
		volatile u8 *bytes = (volatile u8 *)page;
		u32 w0 = words[0], w1 = words[PAGE_SIZE / 8];
		u8 b = bytes[PAGE_SIZE - 1];
		if (w0 != word_pattern(page, flip))
			report(page, w0, word_pattern(page, flip));
		if (w1 != ~word_pattern(page, flip))
			report(page + PAGE_SIZE / 2, w1,
			       ~word_pattern(page, flip));
		if (b != byte_pattern(page, flip))
			report(page + PAGE_SIZE - 1, b,
			       byte_pattern(page, flip));
		if (page == last)
			break;
		page += PAGE_SIZE;
	}
}

/* The length of the usable entry starting at base, or 0 if there is none. */
static u64 usable_length_at(u64 base)
{
	unsigned i;
	for (i = 0; i < map.count; i++)
		if (map.entry[i].type == MULTIBOOT_MEMORY_AVAILABLE &&
		    map.entry[i].base == base)
			return map.entry[i].length;
	return 0;
}

static u64 usable_end(void)
{
	u64 end = 0;
	unsigned i;
	for (i = 0; i < map.count; i++)
		if (map.entry[i].type == MULTIBOOT_MEMORY_AVAILABLE &&
		    map.entry[i].base + map.entry[i].length > end)
			end = map.entry[i].base + map.entry[i].length;
	return end;
}

static void check_sizes(const struct multiboot_info *mbi)
{
	const char *want = cmdline_value(guest_cmdline(mbi), "ram_mib");
	u64 want_mib, end_mib = ALIGN_UP(usable_end(), (u64)MiB) / MiB;
	if (EXPECT_TRUE(mbi->flags & MBI_FLAG_MEM,
			"info has mem_lower/upper")) {
		EXPECT_EQ(mbi->mem_lower, usable_length_at(0) / KiB,
			  "mem_lower = KiB of the usable range at 0");
		EXPECT_EQ(mbi->mem_upper, usable_length_at(MiB) / KiB,
			  "mem_upper = KiB of the usable range at 1 MiB");
	}
	guest_printf("ram: usable RAM ends at 0x%llx (%llu MiB rounded up)\n",
		     (unsigned long long)usable_end(),
		     (unsigned long long)end_mib);
	if (!want)
		return;
	if (!parse_u64(want, &want_mib)) {
		guest_fail("command line ram_mib= is not a number");
		return;
	}
	EXPECT_EQ(end_mib, want_mib, "usable RAM ends at ram_mib= MiB");
}

void guest_main(const struct multiboot_info *mbi)
{
	u64 bytes;
	u32 flip;
	/* Copy the map first: the walk overwrites the loader's pages. */
	if (!EXPECT_TRUE(guest_mmap_read(mbi, &map), "info has a memory map"))
		return;
	check_sizes(mbi);
	bytes = for_each_test_range(NULL, 0);
	guest_printf("ram: checking 0x%llx bytes (%llu MiB) above the image "
		     "end 0x%lx\n",
		     (unsigned long long)bytes,
		     (unsigned long long)(bytes / MiB),
		     (unsigned long)(uintptr_t)_guest_image_end);
	if (!EXPECT_TRUE(bytes >= MiB, "at least 1 MiB of RAM to check"))
		return;
	for (flip = 0; flip <= 1; flip++) {
		u32 mask = flip ? 0xffffffffU : 0;
		for_each_test_range(write_pages, mask);
		for_each_test_range(verify_pages, mask);
	}
	if (errors > MAX_REPORTED_ERRORS)
		guest_printf("ram: %u more mismatches not shown\n",
			     errors - MAX_REPORTED_ERRORS);
	if (EXPECT_EQ(errors, 0, "every page kept its own pattern"))
		guest_printf("ram: %llu MiB checked\n",
			     (unsigned long long)(bytes / MiB));
}
