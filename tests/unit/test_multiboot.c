/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/multiboot.c.
 *
 * Multiboot 1 structures hold 32-bit physical addresses that the parser
 * dereferences, so they are built in an arena mapped below 2 GiB
 * (MAP_32BIT); Multiboot 2 structures are self-contained and live anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "core/multiboot.h"
#include "core/multiboot_spec.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

#define ARENA_SIZE (256 * 1024)

static u8 *arena;
static size_t arena_used;
static struct boot_info bi;
static char err[256];

static int setup(void **state)
{
	(void)state;
	arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (arena == MAP_FAILED)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(arena, ARENA_SIZE);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	memset(arena, 0, ARENA_SIZE);
	arena_used = 0;
	memset(err, 0, sizeof(err));
	host_printk_reset();
	return 0;
}

/* Allocates zeroed, 8-byte aligned arena memory; returns its "address". */
static u32 arena_alloc(size_t n, void **ptr)
{
	u8 *p = arena + arena_used;

	arena_used += (n + 7) & ~(size_t)7;
	assert_true(arena_used <= ARENA_SIZE);
	if (ptr)
		*ptr = p;
	return (u32)(uintptr_t)p;
}

static u32 arena_string(const char *s)
{
	void *p;
	u32 addr = arena_alloc(strlen(s) + 1, &p);

	memcpy(p, s, strlen(s) + 1);
	return addr;
}

static struct mb1_info *mb1_new(void)
{
	void *p;

	arena_alloc(sizeof(struct mb1_info), &p);
	return p;
}

static void mb1_set_mmap(struct mb1_info *mbi, const struct mem_range *r, u32 n)
{
	struct mb1_mmap_entry *e;

	mbi->flags |= MB1_INFO_MEM_MAP;
	mbi->mmap_addr = arena_alloc(n * sizeof(*e), (void **)&e);
	mbi->mmap_length = n * (u32)sizeof(*e);
	for (u32 i = 0; i < n; i++) {
		e[i].size = 20;
		e[i].base_addr = r[i].base;
		e[i].length = r[i].length;
		e[i].type = r[i].type;
	}
}

static int parse(u32 magic, const void *info)
{
	return multiboot_parse(magic, info, &bi, err, sizeof(err));
}

static void test_bad_magic(void **state)
{
	struct mb1_info *mbi = mb1_new();

	(void)state;
	assert_int_equal(parse(0x12345678, mbi), -1);
	assert_string_equal(err, "boot loader magic 0x12345678 is neither "
				 "multiboot1 (0x2badb002) nor multiboot2 "
				 "(0x36d76289)");
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, NULL), -1);
	assert_non_null(strstr(err, "no information structure"));
}

static void test_mb1_full(void **state)
{
	static const struct mem_range map[] = {
	    {0, 0x9fc00, MEM_USABLE},
	    {0x9fc00, 0x400, MEM_RESERVED},
	    {0x100000, 0x7ee0000, MEM_USABLE},
	    {0x7fe0000, 0x20000, 7}, /* unknown type */
	    {0xfffc0000, 0x40000, MEM_RESERVED},
	};
	struct mb1_info *mbi = mb1_new();
	struct mb1_module *mods;

	(void)state;
	mb1_set_mmap(mbi, map, ARRAY_SIZE(map));
	mbi->flags |= MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MODS |
		      MB1_INFO_LOADER_NAME;
	mbi->mem_lower = 639;
	mbi->mem_upper = 130000;
	mbi->cmdline = arena_string("/boot/veneer.elf serial=ttyS1");
	mbi->boot_loader_name = arena_string("GRUB 2.06");
	mbi->mods_count = 2;
	mbi->mods_addr = arena_alloc(2 * sizeof(*mods), (void **)&mods);
	mods[0] = (struct mb1_module){0x200000, 0x300000,
				      arena_string("guest.cfg"), 0};
	mods[1] = (struct mb1_module){0x300000, 0x300000, 0, 0};

	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), 0);
	assert_int_equal(bi.multiboot_version, 1);
	assert_int_equal(bi.memmap_count, 5);
	assert_int_equal(bi.memmap[2].base, 0x100000);
	assert_int_equal(bi.memmap[2].length, 0x7ee0000);
	assert_int_equal(bi.memmap[2].type, MEM_USABLE);
	assert_int_equal(bi.memmap[3].type, MEM_RESERVED); /* was 7 */
	assert_string_equal(bi.cmdline, "/boot/veneer.elf serial=ttyS1");
	assert_string_equal(bi.loader_name, "GRUB 2.06");
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x300000);
	assert_string_equal(bi.modules[0].string, "guest.cfg");
	assert_string_equal(bi.modules[1].string, "");
	assert_false(bi.rsdp_from_loader);
	assert_int_equal(bi.rsdp, 0);
	assert_string_equal(host_printk_text(), ""); /* nothing to warn */
}

static void test_mb1_larger_entry_size(void **state)
{
	/* MB1 3.3: size may exceed 20; the next entry is size + 4 away. */
	struct mb1_info *mbi = mb1_new();
	u8 *p;

	(void)state;
	mbi->flags = MB1_INFO_MEM_MAP;
	mbi->mmap_addr = arena_alloc(2 * 32, (void **)&p);
	mbi->mmap_length = 64;
	for (int i = 0; i < 2; i++) {
		struct mb1_mmap_entry *e = (void *)(p + 32 * i);

		e->size = 28;
		e->base_addr = 0x100000ull * (u64)(i + 1);
		e->length = 0x1000;
		e->type = MEM_USABLE;
	}
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), 0);
	assert_int_equal(bi.memmap_count, 2);
	assert_int_equal(bi.memmap[1].base, 0x200000);
}

static void test_mb1_bad_mmap_entry(void **state)
{
	static const struct mem_range map[] = {
	    {0, 0x1000, MEM_USABLE},
	    {0x1000, 0x1000, MEM_USABLE},
	};
	struct mb1_info *mbi = mb1_new();
	struct mb1_mmap_entry *e;

	(void)state;
	mb1_set_mmap(mbi, map, 2);
	e = (void *)(uintptr_t)mbi->mmap_addr;
	e[1].size = 100; /* runs past mmap_length */
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), -1);
	assert_string_equal(err, "multiboot1 memory map entry at offset 24 has "
				 "size 100, but 24 bytes remain of "
				 "mmap_length 48");

	e[1].size = 20;
	mbi->mmap_length = 40; /* cuts the second entry */
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), -1);
	assert_non_null(strstr(err, "offset 24"));

	mbi->mmap_length = 48;
	e[0].size = 8; /* too small to hold base, length, type */
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), -1);
	assert_non_null(strstr(err, "offset 0 has size 8"));
}

static void test_mb1_meminfo_only(void **state)
{
	struct mb1_info *mbi = mb1_new();

	(void)state;
	mbi->flags = MB1_INFO_MEMORY;
	mbi->mem_lower = 639;
	mbi->mem_upper = 64 * 1024;
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), 0);
	assert_int_equal(bi.memmap_count, 2);
	assert_int_equal(bi.memmap[0].base, 0);
	assert_int_equal(bi.memmap[0].length, 639 * 1024);
	assert_int_equal(bi.memmap[1].base, 0x100000);
	assert_int_equal(bi.memmap[1].length, 64ull << 20);
	assert_int_equal(bi.memmap[1].type, MEM_USABLE);
	assert_non_null(strstr(host_printk_text(),
			       "no memory map from the loader, using "
			       "mem_lower/mem_upper"));
}

static void test_mb1_no_memory_info(void **state)
{
	struct mb1_info *mbi = mb1_new();

	(void)state;
	mbi->flags = MB1_INFO_CMDLINE;
	mbi->cmdline = arena_string("x");
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), -1);
	assert_non_null(strstr(err, "the boot loader gave no memory map"));
}

static void test_mb1_clipping(void **state)
{
	struct mb1_info *mbi = mb1_new();
	struct mem_range map[BOOTINFO_MAX_MEMMAP + 5];
	struct mb1_module *mods;
	char long_cmdline[BOOTINFO_CMDLINE_MAX + 100];

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(map); i++)
		map[i] = (struct mem_range){0x1000ull * i, 0x1000, MEM_USABLE};
	mb1_set_mmap(mbi, map, ARRAY_SIZE(map));

	mbi->flags |= MB1_INFO_MODS | MB1_INFO_CMDLINE;
	mbi->mods_count = BOOTINFO_MAX_MODULES + 3;
	mbi->mods_addr =
	    arena_alloc(mbi->mods_count * sizeof(*mods), (void **)&mods);
	for (u32 i = 0; i < mbi->mods_count; i++)
		mods[i] = (struct mb1_module){i * 0x1000, i * 0x1000 + 1, 0, 0};
	memset(long_cmdline, 'a', sizeof(long_cmdline) - 1);
	long_cmdline[sizeof(long_cmdline) - 1] = '\0';
	mbi->cmdline = arena_string(long_cmdline);

	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), 0);
	assert_int_equal(bi.memmap_count, BOOTINFO_MAX_MEMMAP);
	assert_int_equal(bi.memmap[BOOTINFO_MAX_MEMMAP - 1].base,
			 0x1000ull * (BOOTINFO_MAX_MEMMAP - 1));
	assert_int_equal(bi.module_count, BOOTINFO_MAX_MODULES);
	assert_int_equal(strlen(bi.cmdline), BOOTINFO_CMDLINE_MAX - 1);
	assert_non_null(
	    strstr(host_printk_text(), "more than 128 memory map entries"));
	assert_non_null(strstr(host_printk_text(),
			       "more than 32 modules, ignoring module 32"));
	assert_non_null(strstr(host_printk_text(),
			       "the command line is 1123 bytes, keeping the "
			       "first 1023"));
}

static void test_mb1_module_ends_before_start(void **state)
{
	struct mb1_info *mbi = mb1_new();
	struct mb1_module *mods;
	static const struct mem_range map[] = {{0, 0x1000, MEM_USABLE}};

	(void)state;
	mb1_set_mmap(mbi, map, 1);
	mbi->flags |= MB1_INFO_MODS;
	mbi->mods_count = 1;
	mbi->mods_addr = arena_alloc(sizeof(*mods), (void **)&mods);
	mods[0] = (struct mb1_module){0x5000, 0x4000, 0, 0};
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), -1);
	assert_string_equal(err, "module 0 ends (0x4000) before it starts "
				 "(0x5000)");
}

/* ---- Multiboot 2 builder ---- */

struct mb2_builder {
	u8 buf[8192] __aligned(8);
	u32 len;
};

static struct mb2_builder mb;

static void mb2_begin(void)
{
	memset(&mb, 0, sizeof(mb));
	mb.len = sizeof(struct mb2_info_header);
}

/* Appends a tag whose payload is data (size = 8 + n), padded to 8. */
static u32 mb2_add(u32 type, const void *data, u32 n)
{
	u32 offset = mb.len;
	struct mb2_tag *t = (void *)(mb.buf + offset);

	t->type = type;
	t->size = 8 + n;
	if (n)
		memcpy(mb.buf + offset + 8, data, n);
	mb.len += (8 + n + 7) & ~7u;
	assert_true(mb.len <= sizeof(mb.buf));
	return offset;
}

static u32 mb2_add_string(u32 type, const char *s)
{
	return mb2_add(type, s, (u32)strlen(s) + 1);
}

static void mb2_add_module(u32 start, u32 end, const char *s)
{
	u8 payload[1024];

	assert_true(8 + strlen(s) + 1 <= sizeof(payload));
	memcpy(payload, &start, 4);
	memcpy(payload + 4, &end, 4);
	memcpy(payload + 8, s, strlen(s) + 1);
	mb2_add(MB2_TAG_MODULE, payload, 8 + (u32)strlen(s) + 1);
}

static void mb2_add_mmap(const struct mem_range *r, u32 n)
{
	u8 payload[8 + 24 * 160];
	u32 entry_size = 24, version = 0;

	assert_true(n <= 160);
	memcpy(payload, &entry_size, 4);
	memcpy(payload + 4, &version, 4);
	for (u32 i = 0; i < n; i++) {
		struct mb2_mmap_entry e = {r[i].base, r[i].length, r[i].type,
					   0};

		memcpy(payload + 8 + 24 * i, &e, sizeof(e));
	}
	mb2_add(MB2_TAG_MMAP, payload, 8 + 24 * n);
}

static const void *mb2_end(void)
{
	struct mb2_info_header *h = (void *)mb.buf;

	mb2_add(MB2_TAG_END, NULL, 0);
	h->total_size = mb.len;
	return mb.buf;
}

static const struct mem_range mb2_map[] = {
    {0, 0x9f000, MEM_USABLE},
    {0x100000, 0x3ff00000, MEM_USABLE},
    {0x40000000, 0x10000, MEM_ACPI_RECLAIM},
};

static void test_mb2_full(void **state)
{
	u8 rsdp_v1[20], rsdp_v2[36];

	(void)state;
	memset(rsdp_v1, 0x11, sizeof(rsdp_v1));
	memset(rsdp_v2, 0x22, sizeof(rsdp_v2));
	mb2_begin();
	mb2_add_string(MB2_TAG_CMDLINE, "veneer.elf smp=2");
	mb2_add_string(MB2_TAG_LOADER_NAME, "GRUB 2.06-13");
	mb2_add_module(0x400000, 0x401000, "linux.cfg");
	mb2_add_module(0x500000, 0x5f0000, "bzImage");
	mb2_add(MB2_TAG_ACPI_NEW, rsdp_v2, sizeof(rsdp_v2));
	mb2_add(MB2_TAG_ACPI_OLD, rsdp_v1, sizeof(rsdp_v1)); /* new wins */
	mb2_add(MB2_TAG_FRAMEBUFFER, rsdp_v1, 13); /* ignored, odd size */
	mb2_add_mmap(mb2_map, ARRAY_SIZE(mb2_map));

	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), 0);
	assert_int_equal(bi.multiboot_version, 2);
	assert_string_equal(bi.cmdline, "veneer.elf smp=2");
	assert_string_equal(bi.loader_name, "GRUB 2.06-13");
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules[1].start, 0x500000);
	assert_int_equal(bi.modules[1].end, 0x5f0000);
	assert_string_equal(bi.modules[1].string, "bzImage");
	assert_int_equal(bi.memmap_count, 3);
	assert_int_equal(bi.memmap[1].length, 0x3ff00000);
	assert_int_equal(bi.memmap[2].type, MEM_ACPI_RECLAIM);
	assert_true(bi.rsdp_from_loader);
	assert_memory_equal(bi.rsdp_copy, rsdp_v2, 36);
	assert_int_equal(bi.rsdp, (u64)(uintptr_t)bi.rsdp_copy);
	assert_string_equal(host_printk_text(), "");
}

static void test_mb2_acpi_old_only(void **state)
{
	u8 rsdp_v1[20];
	u8 zero[16] = {0};

	(void)state;
	memset(rsdp_v1, 0x33, sizeof(rsdp_v1));
	mb2_begin();
	mb2_add(MB2_TAG_ACPI_OLD, rsdp_v1, sizeof(rsdp_v1));
	mb2_add_mmap(mb2_map, 1);
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), 0);
	assert_true(bi.rsdp_from_loader);
	assert_memory_equal(bi.rsdp_copy, rsdp_v1, 20);
	assert_memory_equal(bi.rsdp_copy + 20, zero, 16);
}

static void test_mb2_meminfo_fallback(void **state)
{
	u32 meminfo[2] = {640, 1024 * 1024};

	(void)state;
	mb2_begin();
	mb2_add(MB2_TAG_BASIC_MEMINFO, meminfo, sizeof(meminfo));
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), 0);
	assert_int_equal(bi.memmap_count, 2);
	assert_int_equal(bi.memmap[1].length, 1ull << 30);
	assert_non_null(strstr(host_printk_text(), "no memory map from the "
						   "loader"));

	mb2_begin();
	mb2_add_string(MB2_TAG_CMDLINE, "");
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), -1);
	assert_non_null(strstr(err, "the boot loader gave no memory map"));
}

static void test_mb2_bad_total_size(void **state)
{
	struct mb2_info_header *h;

	(void)state;
	mb2_begin();
	mb2_add_mmap(mb2_map, 1);
	h = (void *)mb2_end();
	h->total_size = 8;
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, h), -1);
	assert_string_equal(err, "multiboot2 total_size 8 is implausible "
				 "(expected 16 to 4194304 bytes)");
	h->total_size = 0xfffffff0;
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, h), -1);
	assert_non_null(strstr(err, "total_size 4294967280 is implausible"));
	/* total_size ending before the end tag */
	h->total_size = 8 + 40; /* header + mmap tag */
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, h), -1);
	assert_string_equal(err, "multiboot2 tag list has no end tag within "
				 "total_size 48 (stopped at offset 48)");
	/* 4 bytes left: not even a tag header */
	h->total_size = 52;
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, h), -1);
	assert_non_null(strstr(err, "no end tag within total_size 52"));
}

static void test_mb2_tag_overruns(void **state)
{
	struct mb2_tag *t;
	const void *info;
	u32 off;

	(void)state;
	mb2_begin();
	mb2_add_string(MB2_TAG_CMDLINE, "abc");
	off = mb2_add_string(MB2_TAG_LOADER_NAME, "loader");
	mb2_add_mmap(mb2_map, 1);
	info = mb2_end();
	t = (void *)(mb.buf + off);
	t->size = 4000; /* more than remains */
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, info), -1);
	assert_string_equal(err, "multiboot2 tag type 2 (boot loader name) at "
				 "offset 24 has size 4000, but 64 bytes remain "
				 "of total_size 88");
	t->size = 4; /* smaller than its own header */
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, info), -1);
	assert_non_null(strstr(err, "type 2 (boot loader name) at offset 24 "
				    "has size 4"));
	t->size = 0; /* would loop forever if accepted */
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, info), -1);
	assert_non_null(strstr(err, "offset 24 has size 0"));
}

static void test_mb2_bad_tag_contents(void **state)
{
	struct mb2_tag *t;
	const void *info;
	u32 off;
	u32 small_meminfo = 1;

	(void)state;
	/* A string without its NUL inside the tag. */
	mb2_begin();
	off = mb2_add_string(MB2_TAG_LOADER_NAME, "loader");
	mb2_add_mmap(mb2_map, 1);
	info = mb2_end();
	t = (void *)(mb.buf + off);
	t->size = 8 + 6; /* "loader" without NUL */
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, info), -1);
	assert_string_equal(err, "multiboot2 tag type 2 (boot loader name) at "
				 "offset 8: its string is not NUL-terminated "
				 "within the tag's 14 bytes");

	/* A meminfo tag too small for its two fields. */
	mb2_begin();
	mb2_add(MB2_TAG_BASIC_MEMINFO, &small_meminfo, 4);
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), -1);
	assert_string_equal(err, "multiboot2 tag type 4 (basic memory info) at "
				 "offset 8 has size 12, less than the 16 it "
				 "needs");

	/* An ACPI tag without a whole RSDP. */
	mb2_begin();
	mb2_add(MB2_TAG_ACPI_NEW, &small_meminfo, 4);
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), -1);
	assert_non_null(strstr(err, "type 15 (ACPI 2.0 RSDP) at offset 8"));

	/* An mmap tag with a nonsense entry size. */
	mb2_begin();
	off = mb2_add(MB2_TAG_MMAP, (u32[]){12, 0, 0, 0, 0, 0}, 24);
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), -1);
	assert_string_equal(err, "multiboot2 tag type 6 (memory map) at offset "
				 "8 has entry_size 12 (needs a multiple of 8, "
				 "at least 24)");
}

static void test_mb2_mmap_larger_entries(void **state)
{
	/* MB2 3.6.8: entry_size may grow; fields keep their offsets. */
	u8 payload[8 + 2 * 32] = {0};
	u32 entry_size = 32;
	struct mb2_mmap_entry e0 = {0x1000, 0x2000, MEM_USABLE, 0};
	struct mb2_mmap_entry e1 = {0x100000, 0x5000, MEM_BAD, 0};

	(void)state;
	memcpy(payload, &entry_size, 4);
	memcpy(payload + 8, &e0, sizeof(e0));
	memcpy(payload + 8 + 32, &e1, sizeof(e1));
	mb2_begin();
	mb2_add(MB2_TAG_MMAP, payload, sizeof(payload));
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), 0);
	assert_int_equal(bi.memmap_count, 2);
	assert_int_equal(bi.memmap[1].base, 0x100000);
	assert_int_equal(bi.memmap[1].type, MEM_BAD);
}

static void test_mb2_misaligned_info(void **state)
{
	(void)state;
	mb2_begin();
	mb2_add_mmap(mb2_map, 1);
	mb2_end();
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb.buf + 4), -1);
	assert_non_null(strstr(err, "is not 8-byte aligned"));
}

static void test_mb2_module_clipping(void **state)
{
	(void)state;
	mb2_begin();
	for (u32 i = 0; i < BOOTINFO_MAX_MODULES + 2; i++)
		mb2_add_module(i * 0x1000, i * 0x1000 + 0x800, "m");
	mb2_add_mmap(mb2_map, 1);
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), 0);
	assert_int_equal(bi.module_count, BOOTINFO_MAX_MODULES);
	assert_non_null(strstr(host_printk_text(),
			       "more than 32 modules, ignoring module 32"));
	/* Warned once, not once per dropped module. */
	assert_null(strstr(host_printk_text(), "ignoring module 33"));
}

/* A module string longer than boot_info keeps: cut, and its full length
 * kept, so that the guest it declares can be refused, not half-read. */
static void test_mb2_module_string_too_long(void **state)
{
	char long_string[BOOTINFO_MODSTR_MAX + 200];

	(void)state;
	memset(long_string, 'x', sizeof(long_string) - 1);
	long_string[sizeof(long_string) - 1] = '\0';
	mb2_begin();
	mb2_add_module(0x1000, 0x2000, "vmlinuz -- quiet");
	mb2_add_module(0x3000, 0x4000, long_string);
	mb2_add_mmap(mb2_map, 1);
	assert_int_equal(parse(MB2_BOOTLOADER_MAGIC, mb2_end()), 0);
	assert_int_equal(bi.module_count, 2);
	assert_int_equal(bi.modules[0].string_len, 16);
	assert_int_equal(bi.modules[1].string_len, sizeof(long_string) - 1);
	assert_int_equal(strlen(bi.modules[1].string), BOOTINFO_MODSTR_MAX - 1);
	assert_non_null(strstr(host_printk_text(),
			       "module 1 string is 711 bytes, keeping the "
			       "first 511"));
}

/*
 * A loader may give only the first 88 bytes of the MB1 structure, up to
 * the VBE fields (QEMU does): the parser reads nothing past them. The
 * structure sits in its own heap block, so the address sanitizer catches
 * a read beyond.
 */
static void test_mb1_short_structure(void **state)
{
	const size_t size = offsetof(struct mb1_info, framebuffer_addr);
	u8 *block = malloc(size);
	struct mb1_info *mbi = (struct mb1_info *)block;

	(void)state;
	assert_int_equal(size, 88);
	assert_non_null(block);
	memset(block, 0, size);
	mbi->flags = MB1_INFO_MEMORY | MB1_INFO_VBE;
	mbi->mem_lower = 639;
	mbi->mem_upper = 31 * 1024;
	assert_int_equal(parse(MB1_BOOTLOADER_MAGIC, mbi), 0);
	assert_int_equal(bi.memmap_count, 2);
	assert_int_equal(bi.memmap[1].length, MiB(31));
	free(block);
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_bad_magic),
	    T(test_mb1_full),
	    T(test_mb1_larger_entry_size),
	    T(test_mb1_bad_mmap_entry),
	    T(test_mb1_meminfo_only),
	    T(test_mb1_no_memory_info),
	    T(test_mb1_clipping),
	    T(test_mb1_module_ends_before_start),
	    T(test_mb1_short_structure),
	    T(test_mb2_full),
	    T(test_mb2_acpi_old_only),
	    T(test_mb2_meminfo_fallback),
	    T(test_mb2_bad_total_size),
	    T(test_mb2_tag_overruns),
	    T(test_mb2_bad_tag_contents),
	    T(test_mb2_mmap_larger_entries),
	    T(test_mb2_misaligned_info),
	    T(test_mb2_module_clipping),
	    T(test_mb2_module_string_too_long),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
