/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot1 information structure for a guest (contract and memory
 * map in core/mbguest.h).
 *
 * Layout of the area, each part 8-byte aligned:
 *   struct mb1_info | mmap entries | module entries | strings
 * (command line, loader name, then one string per module).
 */
#include "core/mbguest.h"
#include "core/lib/string.h"

/* The structure holds 32-bit addresses only. */
#define LIMIT_32BIT GiB(4)

/* "PATH ARGS", "PATH" or "ARGS" (core/mbguest.h): its length with NUL. */
static u64 joined_size(const char *path, const char *args)
{
	u64 p = path ? strlen(path) : 0;
	u64 a = args ? strlen(args) : 0;

	return p + (p && a ? 1 : 0) + a + 1;
}

/* Writes the joined string at buf + offset; returns the offset after it. */
static u64 put_joined(u8 *buf, u64 offset, const char *path, const char *args)
{
	u64 p = path ? strlen(path) : 0;
	u64 a = args ? strlen(args) : 0;

	if (p)
		memcpy(buf + offset, path, p);
	offset += p;
	if (p && a)
		buf[offset++] = ' ';
	if (a)
		memcpy(buf + offset, args, a);
	offset += a;
	buf[offset] = '\0';
	return offset + 1;
}

static bool has_cmdline(const struct mbguest_params *p)
{
	return p->cmdline || p->cmdline_path;
}

static int check_area(const struct mbguest_params *p,
		      struct mbguest_result *out)
{
	u64 end = p->area_gpa + p->area_size;

	if (!IS_ALIGNED(p->area_gpa, 8))
		return loader_refuse(
		    out->error,
		    "the multiboot info area at 0x%lx is not 8-byte "
		    "aligned",
		    p->area_gpa);
	if (end < p->area_gpa || end > MIN(p->ram_size, LIMIT_32BIT))
		return loader_refuse(
		    out->error,
		    "the multiboot info area [0x%lx,0x%lx) is not "
		    "in guest RAM below 4 GiB (RAM 0x0-0x%lx)",
		    p->area_gpa, end, p->ram_size);
	if (ranges_overlap(p->area_gpa, end, MBGUEST_EBDA_START,
			   MBGUEST_HIGH_MEM_START))
		return loader_refuse(
		    out->error,
		    "the multiboot info area [0x%lx,0x%lx) overlaps "
		    "the reserved range [0x%llx,0x%llx)",
		    p->area_gpa, end, MBGUEST_EBDA_START,
		    MBGUEST_HIGH_MEM_START);
	return 0;
}

static int check_modules(const struct mbguest_params *p,
			 struct mbguest_result *out)
{
	u64 area_end = p->area_gpa + p->area_size;

	if (p->module_count && !p->modules)
		return loader_refuse(out->error,
				     "%u modules given but no module list",
				     p->module_count);
	for (u32 i = 0; i < p->module_count; i++) {
		const struct mbguest_module *m = &p->modules[i];

		if (m->start > m->end)
			return loader_refuse(
			    out->error,
			    "module %u ends at 0x%lx before it "
			    "starts at 0x%lx",
			    i, m->end, m->start);
		/* mod_end is a 32-bit field: at most 0xFFFFFFFF. */
		if (m->end > MIN(p->ram_size, LIMIT_32BIT - 1))
			return loader_refuse(
			    out->error,
			    "module %u [0x%lx,0x%lx) is not in guest "
			    "RAM below 4 GiB (RAM 0x0-0x%lx)",
			    i, m->start, m->end, p->ram_size);
		if (ranges_overlap(m->start, m->end, p->area_gpa, area_end))
			return loader_refuse(
			    out->error,
			    "module %u [0x%lx,0x%lx) overlaps the "
			    "multiboot info area [0x%lx,0x%lx)",
			    i, m->start, m->end, p->area_gpa, area_end);
	}
	return 0;
}

/* Byte offsets of each part inside the area. */
struct layout {
	u64 mmap;
	u64 modules;
	u64 cmdline;
	u64 loader_name;
	u64 module_strings;
	u64 end;
};

static struct layout plan(const struct mbguest_params *p)
{
	struct layout l;
	u64 at;

	l.mmap = ALIGN_UP(sizeof(struct mb1_info), 8);
	l.modules =
	    l.mmap + MBGUEST_MMAP_ENTRIES * sizeof(struct mb1_mmap_entry);
	at = l.modules + (u64)p->module_count * sizeof(struct mb1_module);
	l.cmdline = ALIGN_UP(at, 8);
	at = l.cmdline +
	     (has_cmdline(p) ? joined_size(p->cmdline_path, p->cmdline) : 0);
	l.loader_name = at;
	l.module_strings = at + sizeof(MBGUEST_LOADER_NAME);
	at = l.module_strings;
	for (u32 i = 0; i < p->module_count; i++)
		at += joined_size(p->modules[i].path, p->modules[i].string);
	l.end = at;
	return l;
}

static void put_mmap_entry(u8 *buf, u64 offset, u32 index, u64 start, u64 end,
			   u32 type)
{
	struct mb1_mmap_entry e = {
	    .size = sizeof(e) - sizeof(e.size),
	    .base_addr = start,
	    .length = end - start,
	    .type = type,
	};

	memcpy(buf + offset + index * sizeof(e), &e, sizeof(e));
}

static void put_mmap(const struct mbguest_params *p, u8 *buf, u64 offset)
{
	put_mmap_entry(buf, offset, 0, 0, MBGUEST_EBDA_START,
		       MB_MEMORY_AVAILABLE);
	put_mmap_entry(buf, offset, 1, MBGUEST_EBDA_START, MBGUEST_VGA_START,
		       MB_MEMORY_RESERVED);
	put_mmap_entry(buf, offset, 2, MBGUEST_BIOS_START,
		       MBGUEST_HIGH_MEM_START, MB_MEMORY_RESERVED);
	put_mmap_entry(buf, offset, 3, MBGUEST_HIGH_MEM_START, p->ram_size,
		       MB_MEMORY_AVAILABLE);
}

/* Copies s with its NUL to buf + offset. */
static void put_string(u8 *buf, u64 offset, const char *s)
{
	memcpy(buf + offset, s, strlen(s) + 1);
}

int mbguest_build(const struct mbguest_params *p, void *buf,
		  struct mbguest_result *out)
{
	u8 *bytes = buf;
	struct mb1_info info = {0};
	struct layout l;
	u64 base = p->area_gpa;
	u64 at;

	memset(out, 0, sizeof(*out));
	/* mem_upper is a 32-bit count of KiB above 1 MiB. */
	if (p->ram_size <= MBGUEST_HIGH_MEM_START ||
	    (p->ram_size - MBGUEST_HIGH_MEM_START) / KiB(1) > 0xFFFFFFFFull)
		return loader_refuse(
		    out->error,
		    "guest RAM of 0x%lx bytes is out of range: a "
		    "multiboot guest needs more than 1 MiB and at "
		    "most 4 TiB",
		    p->ram_size);
	if (check_area(p, out) || check_modules(p, out))
		return -1;
	l = plan(p);
	if (l.end > p->area_size)
		return loader_refuse(
		    out->error,
		    "the multiboot information needs %lu bytes but "
		    "the area at 0x%lx holds %lu",
		    l.end, base, p->area_size);

	memset(bytes, 0, l.end);
	info.flags = MB1_INFO_MEMORY | MB1_INFO_MODS | MB1_INFO_MEM_MAP |
		     MB1_INFO_LOADER_NAME;
	info.mem_lower = (u32)(MBGUEST_EBDA_START / KiB(1));
	info.mem_upper = (u32)((p->ram_size - MBGUEST_HIGH_MEM_START) / KiB(1));
	info.mmap_addr = (u32)(base + l.mmap);
	info.mmap_length = (u32)(l.modules - l.mmap);
	put_mmap(p, bytes, l.mmap);

	if (has_cmdline(p)) {
		info.flags |= MB1_INFO_CMDLINE;
		info.cmdline = (u32)(base + l.cmdline);
		put_joined(bytes, l.cmdline, p->cmdline_path, p->cmdline);
	}
	info.boot_loader_name = (u32)(base + l.loader_name);
	put_string(bytes, l.loader_name, MBGUEST_LOADER_NAME);

	info.mods_count = p->module_count;
	info.mods_addr = (u32)(base + l.modules);
	at = l.module_strings;
	for (u32 i = 0; i < p->module_count; i++) {
		const struct mbguest_module *m = &p->modules[i];
		struct mb1_module e = {
		    .mod_start = (u32)m->start,
		    .mod_end = (u32)m->end,
		    .string = (u32)(base + at),
		};

		memcpy(bytes + l.modules + i * sizeof(e), &e, sizeof(e));
		at = put_joined(bytes, at, m->path, m->string);
	}

	memcpy(bytes, &info, sizeof(info));
	out->size = l.end;
	out->info_gpa = base;
	return 0;
}
