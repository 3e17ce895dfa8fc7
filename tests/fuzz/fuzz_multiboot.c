/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the boot loader's Multiboot 1 / Multiboot 2 information
 * (core/multiboot.c), then the memory map as core/main.c cleans it
 * (core/lib/memmap.c).
 *
 * Input: one byte choosing the format, then the information structure.
 *
 * Multiboot 2: the structure is self-contained (MB2 3.6.1); it is copied
 * into a buffer of exactly its size, with total_size cut down to that
 * size: the loader promises total_size bytes exist, the parser must cope
 * with anything inside them.
 *
 * Multiboot 1: the structure holds 32-bit physical addresses that the
 * parser dereferences (host memory is identity mapped). The input is
 * placed in a region below 4 GiB, every address field is made to point
 * into it (value modulo the input size), lengths and counts are cut to
 * what the region holds, and a NUL follows the region: what a loader
 * guarantees. Everything else about the region is poisoned for ASan, so a
 * read outside what the structure describes is reported. Only the first
 * 88 bytes of the structure are promised (core/multiboot_spec.h).
 */
#include <string.h>
#include <sys/mman.h>
#include <sanitizer/asan_interface.h>

#include "core/multiboot.h"
#include "core/multiboot_spec.h"
#include "core/lib/printk.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/host_printk.h"

#define MB1_REGION_SIZE	 (256 * 1024)
#define MB1_INFO_MINIMUM 88 /* up to vbe_interface_len */

static u8 *mb1_region;

static u32 region_address(u32 field, size_t len)
{
	return (u32)(uintptr_t)mb1_region + (u32)(field % len);
}

/* Clip a count of `unit`-byte items at address `at` to the region. */
static u32 clip(u32 at, u32 count, u32 unit, size_t len)
{
	u32 room = (u32)((uintptr_t)mb1_region + len - at) / unit;

	return MIN(count, room);
}

static int parse_mb1(const u8 *data, size_t size, struct boot_info *out,
		     char *err, size_t errlen)
{
	size_t len = MAX(size, (size_t)MB1_INFO_MINIMUM);
	struct mb1_info info;
	int rc;

	if (!mb1_region) {
		mb1_region =
		    mmap(NULL, MB1_REGION_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		FUZZ_CHECK(mb1_region != MAP_FAILED &&
			       (uintptr_t)mb1_region + MB1_REGION_SIZE <=
				   0xffffffffu,
			   "no memory below 4 GiB for the multiboot1 region");
	}
	if (len + 1 > MB1_REGION_SIZE)
		return -2;
	memset(mb1_region, 0, len + 1);
	memcpy(mb1_region, data, size);
	memcpy(&info, mb1_region, sizeof(info));

	/* The promises a loader keeps (see the header comment). */
	if (info.flags & MB1_INFO_CMDLINE)
		info.cmdline =
		    info.cmdline ? region_address(info.cmdline, len) : 0;
	if (info.flags & MB1_INFO_LOADER_NAME)
		info.boot_loader_name =
		    info.boot_loader_name
			? region_address(info.boot_loader_name, len)
			: 0;
	if (info.flags & MB1_INFO_MEM_MAP) {
		info.mmap_addr = region_address(info.mmap_addr, len);
		info.mmap_length =
		    clip(info.mmap_addr, info.mmap_length, 1, len);
	}
	/* Written back below: kept clear of the fixed structure. */
	if ((info.flags & MB1_INFO_MODS) && len > MB1_INFO_MINIMUM) {
		info.mods_addr = (u32)(uintptr_t)mb1_region + MB1_INFO_MINIMUM +
				 info.mods_addr % (len - MB1_INFO_MINIMUM);
		info.mods_count = clip(info.mods_addr, info.mods_count,
				       sizeof(struct mb1_module), len);
		for (u32 i = 0; i < info.mods_count; i++) {
			struct mb1_module m;
			u8 *at =
			    (u8 *)(uintptr_t)info.mods_addr + i * sizeof(m);

			memcpy(&m, at, sizeof(m));
			m.string = m.string ? region_address(m.string, len) : 0;
			memcpy(at, &m, sizeof(m));
		}
	} else {
		info.mods_count = 0;
	}
	/* Only the promised part of the fixed structure is written back. */
	memcpy(mb1_region, &info, MB1_INFO_MINIMUM);

	ASAN_POISON_MEMORY_REGION(mb1_region, MB1_REGION_SIZE);
	ASAN_UNPOISON_MEMORY_REGION(mb1_region, len + 1);
	rc =
	    multiboot_parse(MB1_BOOTLOADER_MAGIC, mb1_region, out, err, errlen);
	ASAN_UNPOISON_MEMORY_REGION(mb1_region, MB1_REGION_SIZE);
	return rc;
}

static int parse_mb2(const u8 *data, size_t size, struct boot_info *out,
		     char *err, size_t errlen, u8 **copy)
{
	struct mb2_info_header hdr;

	if (size < sizeof(hdr))
		return -2;
	*copy = malloc(size); /* 16-byte aligned, as MB2 3.6.1 wants 8 */
	memcpy(*copy, data, size);
	memcpy(&hdr, *copy, sizeof(hdr));
	if (hdr.total_size > size) {
		hdr.total_size = (u32)size;
		memcpy(*copy, &hdr, sizeof(hdr));
	}
	return multiboot_parse(MB2_BOOTLOADER_MAGIC, *copy, out, err, errlen);
}

static bool inside(const void *p, const void *base, size_t len)
{
	return (const u8 *)p >= (const u8 *)base &&
	       (const u8 *)p < (const u8 *)base + len;
}

static void check_result(const struct boot_info *bi, int version,
			 const void *info, size_t info_len)
{
	FUZZ_CHECK(bi->multiboot_version == version, "version %d",
		   bi->multiboot_version);
	FUZZ_CHECK(bi->memmap_count <= BOOTINFO_MAX_MEMMAP, "%u ranges",
		   bi->memmap_count);
	for (u32 i = 0; i < bi->memmap_count; i++)
		FUZZ_CHECK(bi->memmap[i].type >= MEM_USABLE &&
			       bi->memmap[i].type <= MEM_BAD,
			   "range %u has type %u", i, bi->memmap[i].type);
	FUZZ_CHECK(bi->module_count <= BOOTINFO_MAX_MODULES, "%u modules",
		   bi->module_count);
	for (u32 i = 0; i < bi->module_count; i++) {
		const struct boot_module *m = &bi->modules[i];

		FUZZ_CHECK(m->start <= m->end,
			   "module %u ends before it starts", i);
		FUZZ_CHECK(fuzz_terminated(m->string, sizeof(m->string)),
			   "module %u string not terminated", i);
		FUZZ_CHECK(m->string_len >= strlen(m->string),
			   "module %u: string_len %u < %zu", i, m->string_len,
			   strlen(m->string));
	}
	FUZZ_CHECK(fuzz_terminated(bi->cmdline, sizeof(bi->cmdline)),
		   "command line not terminated");
	FUZZ_CHECK(!bi->rsdp || bi->rsdp == (u64)(uintptr_t)bi->rsdp_copy,
		   "rsdp 0x%llx is not the copy", (unsigned long long)bi->rsdp);
	FUZZ_CHECK(!bi->rsdp_from_loader || bi->rsdp,
		   "an RSDP from the loader but no address");
	if (bi->loader_name) {
		size_t room = (size_t)((const u8 *)info + info_len -
				       (const u8 *)bi->loader_name);

		FUZZ_CHECK(inside(bi->loader_name, info, info_len),
			   "loader name outside the information");
		FUZZ_CHECK(fuzz_terminated(bi->loader_name, room),
			   "loader name not terminated inside it");
	}
}

/* memmap_sanitize()'s promises (core/lib/memmap.h). */
static void check_sanitized(const struct mem_range *map, u32 count)
{
	for (u32 i = 0; i < count; i++) {
		const struct mem_range *r = &map[i];

		FUZZ_CHECK(r->length > 0, "range %u is empty", i);
		FUZZ_CHECK(r->base + r->length >= r->base ||
			       r->base + r->length == 0,
			   "range %u wraps", i);
		FUZZ_CHECK(r->type >= MEM_USABLE && r->type <= MEM_BAD,
			   "range %u has type %u", i, r->type);
		if (r->type == MEM_USABLE)
			FUZZ_CHECK(IS_ALIGNED(r->base, PAGE_SIZE) &&
				       IS_ALIGNED(r->length, PAGE_SIZE),
				   "usable range %u [0x%llx +0x%llx) not page "
				   "aligned",
				   i, (unsigned long long)r->base,
				   (unsigned long long)r->length);
		if (i == 0)
			continue;
		FUZZ_CHECK(map[i - 1].base + map[i - 1].length <= r->base,
			   "ranges %u and %u overlap or are out of order",
			   i - 1, i);
		FUZZ_CHECK(map[i - 1].base + map[i - 1].length != r->base ||
			       map[i - 1].type != r->type,
			   "touching ranges %u and %u have one type", i - 1, i);
	}
}

/* What core/main.c does with the map: sanitize, carve out the modules. */
static void clean_memmap(const struct boot_info *bi)
{
	struct mem_range map[BOOTINFO_MAX_MEMMAP];
	u32 count = bi->memmap_count;

	memcpy(map, bi->memmap, sizeof(map));
	if (fuzz_verbose)
		memmap_print("loader: ", map, count);
	if (memmap_sanitize(map, &count, BOOTINFO_MAX_MEMMAP))
		return;
	if (fuzz_verbose)
		memmap_print("sanitized: ", map, count);
	FUZZ_CHECK(count <= BOOTINFO_MAX_MEMMAP, "%u ranges after sanitize",
		   count);
	check_sanitized(map, count);
	for (u32 i = 0; i < bi->module_count; i++) {
		const struct boot_module *m = &bi->modules[i];

		if (memmap_reserve(map, &count, BOOTINFO_MAX_MEMMAP, m->start,
				   m->end - m->start, MEM_RESERVED))
			return;
		if (fuzz_verbose) {
			printk("module %u [0x%llx,0x%llx)\n", i,
			       (unsigned long long)m->start,
			       (unsigned long long)m->end);
			memmap_print("reserved: ", map, count);
		}
		FUZZ_CHECK(count <= BOOTINFO_MAX_MEMMAP,
			   "%u ranges after reserve", count);
		check_sanitized(map, count);
	}
	(void)memmap_usable_bytes(map, count);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct boot_info bi;
	char err[256];
	u8 *copy = NULL;
	int version, rc;

	if (size < 1)
		return 0;
	host_printk_reset();
	version = (data[0] & 1) + 1;
	memset(err, 0x5a, sizeof(err));
	if (version == 1)
		rc = parse_mb1(data + 1, size - 1, &bi, err, sizeof(err));
	else
		rc =
		    parse_mb2(data + 1, size - 1, &bi, err, sizeof(err), &copy);
	if (rc == -2)
		goto out; /* not a structure a loader could give */
	FUZZ_CHECK(fuzz_terminated(err, sizeof(err)), "error not terminated");
	if (rc != 0) {
		FUZZ_CHECK(rc == -1 && err[0], "rc %d with error \"%s\"", rc,
			   err);
		goto out;
	}
	if (version == 1)
		check_result(&bi, 1, mb1_region, MAX(size - 1, 88) + 1);
	else
		check_result(&bi, 2, copy, size - 1);
	clean_memmap(&bi);
out:
	free(copy);
	return 0;
}
