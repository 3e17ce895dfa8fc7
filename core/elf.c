/* SPDX-License-Identifier: MIT */
/*
 * The guest ELF loader (contract in core/elf.h).
 *
 * The image is untrusted input: every field is read with memcpy (the image
 * need not be aligned), every sum is checked for overflow before it is
 * compared, and "segment N" in a message means program header N (from 0),
 * as `readelf -l` lists them.
 */
#include "core/guestmem.h"
#include "core/elf.h"
#include "core/elf_spec.h"
#include "core/lib/string.h"

/* One program header, whichever class the file is. */
struct segment {
	u32 type;
	u64 offset;
	u64 vaddr;
	u64 paddr;
	u64 filesz;
	u64 memsz;
};

struct elf_file {
	const u8 *bytes;
	u64 size;
	int elf_class; /* ELF_CLASS_32 or ELF_CLASS_64 */
	u64 entry;
	u64 phoff;
	u32 phnum;
};

static const char *type_name(u32 type)
{
	switch (type) {
	case 0:
		return "no file type";
	case 1:
		return "a relocatable object";
	case ELF_TYPE_DYN:
		return "a shared object or position-independent executable";
	case 4:
		return "a core dump";
	}
	return "of an unknown type";
}

static const char *machine_name(u32 machine)
{
	return machine == ELF_MACHINE_386 ? "i386" : "x86-64";
}

/* e_ident, then the class-specific header fields the loader needs. */
static int read_header(struct elf_file *f, struct elf_info *info)
{
	const u8 *id = f->bytes;
	u32 machine, type, version, phentsize, want_phentsize;
	u64 header_size, phdrs_end;

	if (f->size < ELF_IDENT_SIZE || id[0] != ELF_MAGIC0 ||
	    id[1] != ELF_MAGIC1 || id[2] != ELF_MAGIC2 || id[3] != ELF_MAGIC3)
		return loader_refuse(info->error,
				     "not an ELF file (no \\x7fELF magic)");
	if (id[ELF_IDENT_CLASS] != ELF_CLASS_32 &&
	    id[ELF_IDENT_CLASS] != ELF_CLASS_64)
		return loader_refuse(info->error,
				     "ELF class %u is neither 1 (32-bit) nor 2 "
				     "(64-bit)",
				     id[ELF_IDENT_CLASS]);
	if (id[ELF_IDENT_DATA] != ELF_DATA_LSB)
		return loader_refuse(
		    info->error,
		    "ELF data encoding %u is not little-endian (1)",
		    id[ELF_IDENT_DATA]);
	if (id[ELF_IDENT_VERSION] != ELF_VERSION_CURRENT)
		return loader_refuse(info->error,
				     "ELF identification version %u is not 1",
				     id[ELF_IDENT_VERSION]);

	f->elf_class = id[ELF_IDENT_CLASS];
	header_size = f->elf_class == ELF_CLASS_32
			  ? sizeof(struct elf32_header)
			  : sizeof(struct elf64_header);
	if (f->size < header_size)
		return loader_refuse(
		    info->error,
		    "truncated: the file is %lu bytes, less than "
		    "its %lu-byte ELF header",
		    f->size, header_size);
	if (f->elf_class == ELF_CLASS_32) {
		struct elf32_header h;

		memcpy(&h, f->bytes, sizeof(h));
		machine = h.e_machine;
		type = h.e_type;
		version = h.e_version;
		phentsize = h.e_phentsize;
		f->phnum = h.e_phnum;
		f->entry = h.e_entry;
		f->phoff = h.e_phoff;
		want_phentsize = sizeof(struct elf32_phdr);
	} else {
		struct elf64_header h;

		memcpy(&h, f->bytes, sizeof(h));
		machine = h.e_machine;
		type = h.e_type;
		version = h.e_version;
		phentsize = h.e_phentsize;
		f->phnum = h.e_phnum;
		f->entry = h.e_entry;
		f->phoff = h.e_phoff;
		want_phentsize = sizeof(struct elf64_phdr);
	}

	if (version != ELF_VERSION_CURRENT)
		return loader_refuse(info->error, "ELF version %u is not 1",
				     version);
	if (machine != ELF_MACHINE_386 && machine != ELF_MACHINE_X86_64)
		return loader_refuse(info->error,
				     "ELF for machine %u (not x86)", machine);
	if ((f->elf_class == ELF_CLASS_32) != (machine == ELF_MACHINE_386))
		return loader_refuse(
		    info->error,
		    "ELF%d file for machine %u (%s): ELF32 must be "
		    "i386 (3), ELF64 must be x86-64 (62)",
		    f->elf_class == ELF_CLASS_32 ? 32 : 64, machine,
		    machine_name(machine));
	if (type != ELF_TYPE_EXEC)
		return loader_refuse(
		    info->error,
		    "ELF type %u is %s, not an executable (type 2)", type,
		    type_name(type));
	if (phentsize != want_phentsize)
		return loader_refuse(
		    info->error,
		    "program header entries are %u bytes, expected "
		    "%u for ELF%d",
		    phentsize, want_phentsize,
		    f->elf_class == ELF_CLASS_32 ? 32 : 64);
	if (f->phnum == 0)
		return loader_refuse(info->error,
				     "no program headers: nothing to load");
	if (f->phnum > ELF_MAX_PHDRS)
		return loader_refuse(
		    info->error,
		    "%u program headers, more than the %u this "
		    "loader accepts",
		    f->phnum, ELF_MAX_PHDRS);
	/* phnum * phentsize is at most 64 * 56: only the add can wrap. */
	phdrs_end = f->phoff + (u64)f->phnum * phentsize;
	if (phdrs_end < f->phoff)
		return loader_refuse(info->error,
				     "program header offset 0x%lx + %u entries "
				     "overflows",
				     f->phoff, f->phnum);
	if (phdrs_end > f->size)
		return loader_refuse(
		    info->error,
		    "truncated: the program headers end at file "
		    "offset 0x%lx but the file is %lu bytes",
		    phdrs_end, f->size);
	return 0;
}

static void read_segment(const struct elf_file *f, u32 index,
			 struct segment *seg)
{
	if (f->elf_class == ELF_CLASS_32) {
		struct elf32_phdr p;

		memcpy(&p, f->bytes + f->phoff + index * sizeof(p), sizeof(p));
		*seg = (struct segment){p.p_type,  p.p_offset, p.p_vaddr,
					p.p_paddr, p.p_filesz, p.p_memsz};
	} else {
		struct elf64_phdr p;

		memcpy(&p, f->bytes + f->phoff + index * sizeof(p), sizeof(p));
		*seg = (struct segment){p.p_type,  p.p_offset, p.p_vaddr,
					p.p_paddr, p.p_filesz, p.p_memsz};
	}
}

/* A PT_LOAD segment that puts at least one byte into guest RAM. */
static bool loads_bytes(const struct segment *seg)
{
	return seg->type == ELF_PT_LOAD && seg->memsz > 0;
}

static int check_segment(const struct elf_file *f, u32 i,
			 const struct segment *seg, u64 ram_size,
			 struct elf_info *info)
{
	u64 file_end = seg->offset + seg->filesz;
	u64 mem_end = seg->paddr + seg->memsz;

	if (seg->type == ELF_PT_INTERP)
		return loader_refuse(
		    info->error,
		    "segment %u is PT_INTERP: a dynamically linked "
		    "program is not a guest kernel",
		    i);
	if (!loads_bytes(seg))
		return 0;
	if (seg->filesz > seg->memsz)
		return loader_refuse(
		    info->error,
		    "segment %u: p_filesz 0x%lx is larger than "
		    "p_memsz 0x%lx",
		    i, seg->filesz, seg->memsz);
	if (file_end < seg->offset)
		return loader_refuse(
		    info->error,
		    "segment %u: p_offset 0x%lx + p_filesz 0x%lx "
		    "overflows",
		    i, seg->offset, seg->filesz);
	if (file_end > f->size)
		return loader_refuse(
		    info->error,
		    "truncated: segment %u ends at file offset %lu "
		    "but the file is %lu bytes",
		    i, file_end, f->size);
	if (mem_end < seg->paddr)
		return loader_refuse(
		    info->error,
		    "segment %u: p_paddr 0x%lx + p_memsz 0x%lx "
		    "overflows",
		    i, seg->paddr, seg->memsz);
	if (seg->vaddr + seg->memsz < seg->vaddr)
		return loader_refuse(
		    info->error,
		    "segment %u: p_vaddr 0x%lx + p_memsz 0x%lx "
		    "overflows",
		    i, seg->vaddr, seg->memsz);
	if (mem_end > ram_size)
		return loader_refuse(
		    info->error,
		    "segment %u [0x%lx,0x%lx) is outside guest RAM "
		    "(0x0-0x%lx)",
		    i, seg->paddr, mem_end, ram_size);
	return 0;
}

/* Two segments loaded over each other mean a broken or hostile image. */
static int check_overlaps(const struct elf_file *f, struct elf_info *info)
{
	for (u32 i = 0; i < f->phnum; i++) {
		struct segment a;

		read_segment(f, i, &a);
		if (!loads_bytes(&a))
			continue;
		for (u32 j = i + 1; j < f->phnum; j++) {
			struct segment b;

			read_segment(f, j, &b);
			if (!loads_bytes(&b) ||
			    !ranges_overlap(a.paddr, a.paddr + a.memsz, b.paddr,
					    b.paddr + b.memsz))
				continue;
			return loader_refuse(info->error,
					     "segments %u [0x%lx,0x%lx) and %u "
					     "[0x%lx,0x%lx) overlap",
					     i, a.paddr, a.paddr + a.memsz, j,
					     b.paddr, b.paddr + b.memsz);
		}
	}
	return 0;
}

/*
 * The entry point is a virtual address; the guest starts with paging off,
 * so it is moved by the p_paddr - p_vaddr of the segment that holds it (as
 * multiboot loaders do for kernels linked at a higher-half address).
 */
static int find_entry(const struct elf_file *f, struct elf_info *info)
{
	for (u32 i = 0; i < f->phnum; i++) {
		struct segment seg;

		read_segment(f, i, &seg);
		if (loads_bytes(&seg) && f->entry >= seg.vaddr &&
		    f->entry - seg.vaddr < seg.memsz) {
			info->entry = f->entry - seg.vaddr + seg.paddr;
			return 0;
		}
	}
	return loader_refuse(
	    info->error, "entry point 0x%lx is not inside any PT_LOAD segment",
	    f->entry);
}

static int open_image(struct elf_file *f, const void *image, u64 size,
		      u64 ram_size, struct elf_info *info)
{
	memset(info, 0, sizeof(*info));
	f->bytes = image;
	f->size = image ? size : 0;
	if (read_header(f, info))
		return -1;

	info->elf_class = f->elf_class == ELF_CLASS_32 ? 32 : 64;
	info->entry_vaddr = f->entry;
	info->load_start = ~0ull;
	for (u32 i = 0; i < f->phnum; i++) {
		struct segment seg;

		read_segment(f, i, &seg);
		if (check_segment(f, i, &seg, ram_size, info))
			return -1;
		if (!loads_bytes(&seg))
			continue;
		info->segments++;
		info->load_start = MIN(info->load_start, seg.paddr);
		info->load_end = MAX(info->load_end, seg.paddr + seg.memsz);
	}
	if (info->segments == 0) {
		info->load_start = 0;
		return loader_refuse(info->error,
				     "no PT_LOAD segment with bytes to load");
	}
	if (check_overlaps(f, info))
		return -1;
	return find_entry(f, info);
}

int elf_check(const void *image, u64 size, u64 ram_size, struct elf_info *info)
{
	struct elf_file f;

	return open_image(&f, image, size, ram_size, info);
}

int elf_load(const void *image, u64 size, const struct guest_mem *guest,
	     struct elf_info *info)
{
	struct elf_file f;

	if (open_image(&f, image, size, guest->size, info))
		return -1;
	if (!guest->base)
		return loader_refuse(info->error, "no guest RAM to load into");

	/* check_segment() has put every segment inside guest RAM; the
	 * writes check again, so a slip here cannot write past it. */
	for (u32 i = 0; i < f.phnum; i++) {
		struct segment seg;
		u64 bss_start;

		read_segment(&f, i, &seg);
		if (!loads_bytes(&seg))
			continue;
		if (guest_mem_write(guest, seg.paddr, f.bytes + seg.offset,
				    seg.filesz))
			return loader_refuse(
			    info->error,
			    "writing segment %u to guest [0x%lx,0x%lx) failed",
			    i, seg.paddr, seg.paddr + seg.filesz);
		bss_start = seg.paddr + seg.filesz;
		if (guest_mem_zero(guest, bss_start, seg.memsz - seg.filesz))
			return loader_refuse(info->error,
					     "zeroing the bss of segment %u at "
					     "guest [0x%lx,0x%lx) failed",
					     i, bss_start,
					     seg.paddr + seg.memsz);
	}
	return 0;
}
