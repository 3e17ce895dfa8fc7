/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 and 2 information parsing (contract in core/multiboot.h).
 *
 * The loader's structures are trusted to exist but not to be well formed:
 * every length is checked against the space that holds it before anything
 * behind it is read.
 */
#include "core/multiboot.h"
#include "core/lib/format.h"
#include "core/multiboot_spec.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* A Multiboot 2 structure larger than this is taken as garbage. */
#define MB2_MAX_TOTAL_SIZE MiB(4)

static const void *phys_ptr(u64 addr)
{
	return (const void *)(uintptr_t)addr;
}

/* Loader types outside the known set mean "reserved" (MB1 3.3). */
static u32 normalise_mem_type(u32 type)
{
	if (type >= MB_MEMORY_AVAILABLE && type <= MB_MEMORY_BADRAM)
		return type;
	return MEM_RESERVED;
}

/*
 * Copies a loader string of at most max_src bytes (it may lack its NUL)
 * into dst; warns when it had to cut it. Returns the string's full length.
 */
static size_t copy_loader_string(char *dst, size_t dst_size, const char *src,
				 size_t max_src, const char *what)
{
	size_t len = 0;

	while (len < max_src && src[len])
		len++;
	size_t full = len;

	if (len >= dst_size) {
		printk("multiboot: warning: %s is %zu bytes, keeping the first "
		       "%zu\n",
		       what, len, dst_size - 1);
		len = dst_size - 1;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return full;
}

static void add_range(struct boot_info *out, u64 base, u64 length, u32 type,
		      bool *warned)
{
	if (out->memmap_count >= BOOTINFO_MAX_MEMMAP) {
		if (!*warned)
			printk("multiboot: warning: more than %u memory map "
			       "entries, ignoring the rest\n",
			       BOOTINFO_MAX_MEMMAP);
		*warned = true;
		return;
	}
	out->memmap[out->memmap_count++] = (struct mem_range){
	    .base = base,
	    .length = length,
	    .type = normalise_mem_type(type),
	};
}

static bool add_module(struct boot_info *out, u64 start, u64 end,
		       const char *string, size_t max_string, u32 index,
		       char *err, size_t errlen)
{
	char what[32];

	if (end < start) {
		snformat(err, errlen,
			 "module %u ends (0x%llx) before it starts (0x%llx)",
			 index, (unsigned long long)end,
			 (unsigned long long)start);
		return false;
	}
	if (out->module_count >= BOOTINFO_MAX_MODULES) {
		/* index counts every module: warn at the first one dropped. */
		if (index == BOOTINFO_MAX_MODULES)
			printk("multiboot: warning: more than %u modules, "
			       "ignoring module %u and after\n",
			       BOOTINFO_MAX_MODULES, index);
		return true;
	}
	struct boot_module *m = &out->modules[out->module_count++];

	m->start = start;
	m->end = end;
	snformat(what, sizeof(what), "module %u string", index);
	m->string_len = 0;
	if (string)
		m->string_len = copy_loader_string(m->string, sizeof(m->string),
						   string, max_string, what);
	else
		m->string[0] = '\0';
	return true;
}

/* Both specs give mem_lower from 0 and mem_upper from 1 MiB, in KiB. */
static void synthesise_memmap(struct boot_info *out, u32 mem_lower,
			      u32 mem_upper)
{
	bool warned = false;

	printk("multiboot: warning: no memory map from the loader, using "
	       "mem_lower/mem_upper (%u KiB / %u KiB)\n",
	       mem_lower, mem_upper);
	out->memmap_count = 0;
	if (mem_lower)
		add_range(out, 0, KiB(mem_lower), MEM_USABLE, &warned);
	if (mem_upper)
		add_range(out, MiB(1), KiB(mem_upper), MEM_USABLE, &warned);
}

/* ---- Multiboot 1 ---- */

static int mb1_memmap(const struct mb1_info *mbi, struct boot_info *out,
		      char *err, size_t errlen)
{
	const u8 *map = phys_ptr(mbi->mmap_addr);
	u32 offset = 0;
	bool warned = false;

	/* MB1 3.3: size excludes itself; entries need base, length, type. */
	while (offset < mbi->mmap_length) {
		const struct mb1_mmap_entry *e = (const void *)(map + offset);
		u32 remaining = mbi->mmap_length - offset;

		if (remaining < sizeof(*e) || e->size < sizeof(*e) - 4 ||
		    e->size > remaining - 4) {
			snformat(err, errlen,
				 "multiboot1 memory map entry at offset %u "
				 "has size %u, but %u bytes remain of "
				 "mmap_length %u",
				 offset, remaining >= 4 ? e->size : 0,
				 remaining, mbi->mmap_length);
			return -1;
		}
		add_range(out, e->base_addr, e->length, e->type, &warned);
		offset += e->size + 4;
	}
	return 0;
}

static int mb1_parse(const struct mb1_info *mbi, struct boot_info *out,
		     char *err, size_t errlen)
{
	out->multiboot_version = 1;

	if (mbi->flags & MB1_INFO_MEM_MAP) {
		if (mb1_memmap(mbi, out, err, errlen) < 0)
			return -1;
	}
	if (out->memmap_count == 0) {
		if (!(mbi->flags & MB1_INFO_MEMORY)) {
			snformat(
			    err, errlen,
			    "the boot loader gave no memory map (multiboot1 "
			    "flags 0x%x have neither bit 6 nor bit 0)",
			    mbi->flags);
			return -1;
		}
		synthesise_memmap(out, mbi->mem_lower, mbi->mem_upper);
	}

	if ((mbi->flags & MB1_INFO_CMDLINE) && mbi->cmdline)
		copy_loader_string(out->cmdline, sizeof(out->cmdline),
				   phys_ptr(mbi->cmdline), SIZE_MAX,
				   "the command line");

	if (mbi->flags & MB1_INFO_MODS) {
		const struct mb1_module *mods = phys_ptr(mbi->mods_addr);

		/* Modules past the first dropped one are not even read. */
		u32 count = MIN(mbi->mods_count, BOOTINFO_MAX_MODULES + 1);

		for (u32 i = 0; i < count; i++) {
			const char *s =
			    mods[i].string ? phys_ptr(mods[i].string) : NULL;

			if (!add_module(out, mods[i].mod_start, mods[i].mod_end,
					s, SIZE_MAX, i, err, errlen))
				return -1;
		}
	}

	if ((mbi->flags & MB1_INFO_LOADER_NAME) && mbi->boot_loader_name)
		out->loader_name = phys_ptr(mbi->boot_loader_name);
	return 0;
}

/* ---- Multiboot 2 ---- */

/* One tag as the walker found it: header plus where it sits. */
struct mb2_tag_view {
	const struct mb2_tag *tag;
	u32 offset; /* from the start of the information structure */
	const char *name;
};

static const char *mb2_tag_name(u32 type)
{
	switch (type) {
	case MB2_TAG_END:
		return "end";
	case MB2_TAG_CMDLINE:
		return "command line";
	case MB2_TAG_LOADER_NAME:
		return "boot loader name";
	case MB2_TAG_MODULE:
		return "module";
	case MB2_TAG_BASIC_MEMINFO:
		return "basic memory info";
	case MB2_TAG_MMAP:
		return "memory map";
	case MB2_TAG_ACPI_OLD:
		return "ACPI 1.0 RSDP";
	case MB2_TAG_ACPI_NEW:
		return "ACPI 2.0 RSDP";
	default:
		return "other";
	}
}

static bool mb2_tag_too_small(const struct mb2_tag_view *v, u32 min_size,
			      char *err, size_t errlen)
{
	if (v->tag->size >= min_size)
		return false;
	snformat(err, errlen,
		 "multiboot2 tag type %u (%s) at offset %u has size %u, "
		 "less than the %u it needs",
		 v->tag->type, v->name, v->offset, v->tag->size, min_size);
	return true;
}

static int mb2_mmap(const struct mb2_tag_view *v, struct boot_info *out,
		    char *err, size_t errlen)
{
	const struct mb2_tag_mmap *t = (const void *)v->tag;
	const u8 *entries = (const u8 *)t + sizeof(*t);
	u32 bytes;
	bool warned = false;

	if (mb2_tag_too_small(v, sizeof(*t), err, errlen))
		return -1;
	/* MB2 3.6.8: entry_size is a multiple of 8 and may grow later. */
	if (t->entry_size < sizeof(struct mb2_mmap_entry) ||
	    t->entry_size % 8 != 0) {
		snformat(err, errlen,
			 "multiboot2 tag type %u (%s) at offset %u has "
			 "entry_size %u (needs a multiple of 8, at least %zu)",
			 t->type, v->name, v->offset, t->entry_size,
			 sizeof(struct mb2_mmap_entry));
		return -1;
	}
	out->memmap_count = 0;
	bytes = t->size - (u32)sizeof(*t);
	for (u32 off = 0; off + t->entry_size <= bytes; off += t->entry_size) {
		const struct mb2_mmap_entry *e = (const void *)(entries + off);

		add_range(out, e->base_addr, e->length, e->type, &warned);
	}
	return 0;
}

/* The string must end inside the tag: a loader_name pointer is kept. */
static const char *mb2_tag_string(const struct mb2_tag_view *v, u32 header,
				  char *err, size_t errlen)
{
	const char *s = (const char *)v->tag + header;
	u32 max = v->tag->size - header;

	for (u32 i = 0; i < max; i++) {
		if (s[i] == '\0')
			return s;
	}
	snformat(err, errlen,
		 "multiboot2 tag type %u (%s) at offset %u: its string is not "
		 "NUL-terminated within the tag's %u bytes",
		 v->tag->type, v->name, v->offset, v->tag->size);
	return NULL;
}

static int mb2_acpi(const struct mb2_tag_view *v, struct boot_info *out,
		    char *err, size_t errlen)
{
	/* ACPI 6.x 5.2.5.3: the RSDP is 20 bytes (rev. 0) or 36 (rev. 2+). */
	u32 want = v->tag->type == MB2_TAG_ACPI_NEW ? 36 : 20;
	const struct mb2_tag_acpi *t = (const void *)v->tag;

	if (mb2_tag_too_small(v, (u32)sizeof(*t) + 20, err, errlen))
		return -1;
	/* The new RSDP wins over the old one whatever the order. */
	if (v->tag->type == MB2_TAG_ACPI_OLD && out->rsdp_from_loader)
		return 0;
	u32 len = MIN(v->tag->size - (u32)sizeof(*t), want);

	memset(out->rsdp_copy, 0, sizeof(out->rsdp_copy));
	memcpy(out->rsdp_copy, t->rsdp, len);
	out->rsdp = (u64)(uintptr_t)out->rsdp_copy;
	out->rsdp_from_loader = true;
	return 0;
}

struct mb2_state {
	bool have_meminfo;
	u32 mem_lower, mem_upper;
	bool have_mmap;
	u32 module_index; /* counts every module tag, kept or not */
};

static int mb2_tag(const struct mb2_tag_view *v, struct mb2_state *st,
		   struct boot_info *out, char *err, size_t errlen)
{
	const struct mb2_tag *tag = v->tag;

	switch (tag->type) {
	case MB2_TAG_CMDLINE: {
		const char *s = mb2_tag_string(v, sizeof(*tag), err, errlen);

		if (!s)
			return -1;
		copy_loader_string(out->cmdline, sizeof(out->cmdline), s,
				   tag->size - sizeof(*tag),
				   "the command line");
		return 0;
	}
	case MB2_TAG_LOADER_NAME:
		out->loader_name = mb2_tag_string(v, sizeof(*tag), err, errlen);
		return out->loader_name ? 0 : -1;
	case MB2_TAG_MODULE: {
		const struct mb2_tag_module *m = (const void *)tag;
		const char *s;

		if (mb2_tag_too_small(v, sizeof(*m), err, errlen))
			return -1;
		s = mb2_tag_string(v, sizeof(*m), err, errlen);
		if (!s)
			return -1;
		return add_module(out, m->mod_start, m->mod_end, s,
				  tag->size - sizeof(*m), st->module_index++,
				  err, errlen)
			   ? 0
			   : -1;
	}
	case MB2_TAG_BASIC_MEMINFO: {
		const struct mb2_tag_basic_meminfo *mi = (const void *)tag;

		if (mb2_tag_too_small(v, sizeof(*mi), err, errlen))
			return -1;
		st->have_meminfo = true;
		st->mem_lower = mi->mem_lower;
		st->mem_upper = mi->mem_upper;
		return 0;
	}
	case MB2_TAG_MMAP:
		st->have_mmap = true;
		return mb2_mmap(v, out, err, errlen);
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:
		return mb2_acpi(v, out, err, errlen);
	default:
		return 0; /* tags we do not use */
	}
}

static int mb2_parse(const void *info, struct boot_info *out, char *err,
		     size_t errlen)
{
	const struct mb2_info_header *hdr = info;
	const u8 *base = info;
	struct mb2_state st = {0};
	u32 total = hdr->total_size;
	u32 offset = sizeof(*hdr);

	out->multiboot_version = 2;

	/* MB2 3.6.1: the structure is 8-byte aligned and ends in a tag. */
	if ((uintptr_t)info % MB2_TAG_ALIGN != 0) {
		snformat(err, errlen,
			 "multiboot2 information at %p is not 8-byte aligned",
			 info);
		return -1;
	}
	if (total < sizeof(*hdr) + sizeof(struct mb2_tag) ||
	    total > MB2_MAX_TOTAL_SIZE) {
		snformat(err, errlen,
			 "multiboot2 total_size %u is implausible (expected "
			 "%zu to %llu bytes)",
			 total, sizeof(*hdr) + sizeof(struct mb2_tag),
			 (unsigned long long)MB2_MAX_TOTAL_SIZE);
		return -1;
	}

	for (;;) {
		struct mb2_tag_view v;
		u32 remaining = total - offset;

		if (offset >= total || remaining < sizeof(struct mb2_tag)) {
			snformat(err, errlen,
				 "multiboot2 tag list has no end tag within "
				 "total_size %u (stopped at offset %u)",
				 total, offset);
			return -1;
		}
		v.tag = (const void *)(base + offset);
		v.offset = offset;
		v.name = mb2_tag_name(v.tag->type);
		if (v.tag->size < sizeof(struct mb2_tag) ||
		    v.tag->size > remaining) {
			snformat(err, errlen,
				 "multiboot2 tag type %u (%s) at offset %u has "
				 "size %u, but %u bytes remain of total_size "
				 "%u",
				 v.tag->type, v.name, offset, v.tag->size,
				 remaining, total);
			return -1;
		}
		if (v.tag->type == MB2_TAG_END)
			break;
		if (mb2_tag(&v, &st, out, err, errlen) < 0)
			return -1;
		/* Padding to the next 8-byte boundary (MB2 3.6.1). */
		offset += (u32)ALIGN_UP(v.tag->size, MB2_TAG_ALIGN);
	}

	if (!st.have_mmap || out->memmap_count == 0) {
		if (!st.have_meminfo) {
			snformat(err, errlen,
				 "the boot loader gave no memory map (no "
				 "multiboot2 memory map or basic memory info "
				 "tag)");
			return -1;
		}
		synthesise_memmap(out, st.mem_lower, st.mem_upper);
	}
	return 0;
}

int multiboot_parse(u32 magic, const void *info, struct boot_info *out,
		    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (errlen > 0)
		err[0] = '\0';

	if (magic != MB1_BOOTLOADER_MAGIC && magic != MB2_BOOTLOADER_MAGIC) {
		snformat(err, errlen,
			 "boot loader magic 0x%08x is neither multiboot1 "
			 "(0x%08x) nor multiboot2 (0x%08x)",
			 magic, MB1_BOOTLOADER_MAGIC, MB2_BOOTLOADER_MAGIC);
		return -1;
	}
	if (!info) {
		snformat(err, errlen,
			 "boot loader magic 0x%08x but no information "
			 "structure (EBX was 0)",
			 magic);
		return -1;
	}
	if (magic == MB1_BOOTLOADER_MAGIC)
		return mb1_parse(info, out, err, errlen);
	return mb2_parse(info, out, err, errlen);
}
