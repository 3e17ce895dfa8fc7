/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Multiboot 1 information Veneer builds for a multiboot
 * guest (core/mbguest.c), read back with Veneer's own multiboot parser
 * (core/multiboot.c).
 *
 * Input: flags, RAM size, area address and size, up to 16 modules (start,
 * end, path, string), the kernel's path and command line. The area is a heap
 * buffer of exactly area_size bytes, filled with a pattern: a refusal must
 * leave it as it was, a build must stay inside it.
 *
 * With flags bit 0 the area is placed below 4 GiB in host memory and
 * area_gpa is its host address, so the structure's guest-physical pointers
 * are host pointers and multiboot_parse() can read it back: the command
 * line and module strings ("PATH ARGS"), the modules and the memory map
 * must come out as core/mbguest.h says.
 */
#include <string.h>
#include <sys/mman.h>

#include "core/mbguest.h"
#include "core/multiboot.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/host_printk.h"

#define MAX_MODULES   16
#define MAX_AREA      (64 * 1024)
#define FILL	      0xa5
#define FLAG_READBACK 1
#define TIB4	      (GiB(4) << 10)

static u8 *low_area; /* MAX_AREA bytes below 4 GiB */

static char *string_from(struct fuzz_in *in, size_t max)
{
	size_t len;
	const u8 *bytes = fuzz_bytes(in, max, &len);
	char *s = malloc(len + 1);

	memcpy(s, bytes, len);
	s[len] = '\0';
	return s;
}

/* Interesting RAM sizes: around 1 MiB, 4 GiB, 4 TiB, and anything. */
static u64 ram_size_from(struct fuzz_in *in)
{
	static const u64 sizes[] = {
	    0,
	    MiB(1),
	    MiB(1) + 1,
	    MiB(2),
	    MiB(64),
	    GiB(4),
	    GiB(4) + 1,
	    GiB(8),
	    TIB4 - 1,
	    TIB4 + MiB(1),
	    TIB4 + MiB(1) + KiB(1),
	    ~0ull,
	};
	u8 pick = fuzz_u8(in);

	if (pick < ARRAY_SIZE(sizes))
		return sizes[pick];
	return fuzz_u64(in);
}

static bool area_untouched(const u8 *area, u64 size)
{
	for (u64 i = 0; i < size; i++)
		if (area[i] != FILL)
			return false;
	return true;
}

/* "PATH ARGS", "PATH" or "ARGS" (core/mbguest.h), in a heap string. */
static char *joined(const char *path, const char *args)
{
	size_t p = path ? strlen(path) : 0, a = args ? strlen(args) : 0;
	char *s = malloc(p + a + 2);

	snprintf(s, p + a + 2, "%s%s%s", p ? path : "", p && a ? " " : "",
		 a ? args : "");
	return s;
}

static void check_string(const char *got, const char *path, const char *args,
			 size_t room, const char *what, u32 index)
{
	char *want = joined(path, args);

	if (strlen(want) < room)
		FUZZ_CHECK(!strcmp(got, want), "%s %u is \"%s\", not \"%s\"",
			   what, index, got, want);
	free(want);
}

/* The structure as the guest will read it. */
static void read_back(const struct mbguest_params *p, const u8 *area)
{
	static struct boot_info bi;
	char err[200];
	int rc =
	    multiboot_parse(MB1_BOOTLOADER_MAGIC, area, &bi, err, sizeof(err));

	FUZZ_CHECK(rc == 0, "Veneer cannot parse its own multiboot info: %s",
		   err);
	FUZZ_CHECK(bi.memmap_count == MBGUEST_MMAP_ENTRIES, "%u map entries",
		   bi.memmap_count);
	FUZZ_CHECK(bi.memmap[3].base == MBGUEST_HIGH_MEM_START &&
		       bi.memmap[3].base + bi.memmap[3].length == p->ram_size,
		   "high memory entry does not end at the RAM size");
	FUZZ_CHECK(bi.loader_name &&
		       !strcmp(bi.loader_name, MBGUEST_LOADER_NAME),
		   "loader name");
	if (p->cmdline || p->cmdline_path)
		check_string(bi.cmdline, p->cmdline_path, p->cmdline,
			     BOOTINFO_CMDLINE_MAX, "command line", 0);
	else
		FUZZ_CHECK(!bi.cmdline[0], "a command line from nowhere");
	FUZZ_CHECK(bi.module_count == p->module_count, "%u modules, not %u",
		   bi.module_count, p->module_count);
	for (u32 i = 0; i < p->module_count; i++) {
		const struct mbguest_module *m = &p->modules[i];

		FUZZ_CHECK(bi.modules[i].start == m->start &&
			       bi.modules[i].end == m->end,
			   "module %u moved", i);
		check_string(bi.modules[i].string, m->path, m->string,
			     BOOTINFO_MODSTR_MAX, "module string", i);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct mbguest_module mods[MAX_MODULES] = {0};
	char *strings[2 * MAX_MODULES + 2] = {0};
	struct mbguest_params p = {0};
	struct mbguest_result r;
	u8 flags = fuzz_u8(&in);
	bool readback = flags & FLAG_READBACK;
	u8 *area;
	int rc;

	host_printk_reset();
	if (readback && !low_area) {
		low_area = mmap(NULL, MAX_AREA, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		FUZZ_CHECK(low_area != MAP_FAILED &&
			       (uintptr_t)low_area + MAX_AREA <= 0xffffffffu,
			   "no memory below 4 GiB");
	}
	p.ram_size = ram_size_from(&in);
	p.area_gpa = fuzz_u64(&in);
	p.area_size = fuzz_u16(&in);
	p.module_count = fuzz_below(&in, MAX_MODULES + 1);
	for (u32 i = 0; i < p.module_count; i++) {
		mods[i].start = fuzz_u32(&in);
		mods[i].end = fuzz_bool(&in) ? mods[i].start + fuzz_u16(&in)
					     : fuzz_u64(&in);
		strings[2 * i] = fuzz_bool(&in) ? string_from(&in, 300) : NULL;
		strings[2 * i + 1] =
		    fuzz_bool(&in) ? string_from(&in, 600) : NULL;
		mods[i].path = strings[2 * i];
		mods[i].string = strings[2 * i + 1];
	}
	p.modules = p.module_count || fuzz_bool(&in) ? mods : NULL;
	strings[2 * MAX_MODULES] =
	    fuzz_bool(&in) ? string_from(&in, 300) : NULL;
	strings[2 * MAX_MODULES + 1] =
	    fuzz_bool(&in) ? string_from(&in, 1100) : NULL;
	p.cmdline_path = strings[2 * MAX_MODULES];
	p.cmdline = strings[2 * MAX_MODULES + 1];

	if (readback) {
		/* The area where it is in host memory, RAM reaching past it. */
		p.area_gpa = (u64)(uintptr_t)low_area;
		p.area_size = MIN(p.area_size, MAX_AREA);
		p.ram_size = MAX(p.ram_size, GiB(4));
		area = low_area;
	} else {
		area = malloc(p.area_size ? p.area_size : 1);
	}
	memset(area, FILL, p.area_size);

	rc = mbguest_build(&p, area, &r);
	FUZZ_CHECK(fuzz_terminated(r.error, sizeof(r.error)),
		   "error not terminated");
	if (rc) {
		FUZZ_CHECK(rc == -1 && r.error[0], "rc %d", rc);
		FUZZ_CHECK(area_untouched(area, p.area_size),
			   "refused (%s) but wrote the area", r.error);
	} else {
		FUZZ_CHECK(r.size <= p.area_size && r.info_gpa == p.area_gpa,
			   "used %llu of %llu bytes",
			   (unsigned long long)r.size,
			   (unsigned long long)p.area_size);
		FUZZ_CHECK(area_untouched(area + r.size, p.area_size - r.size),
			   "wrote past the %llu bytes it says it used",
			   (unsigned long long)r.size);
		if (readback)
			read_back(&p, area);
	}

	if (!readback)
		free(area);
	for (u32 i = 0; i < ARRAY_SIZE(strings); i++)
		free(strings[i]);
	return 0;
}
