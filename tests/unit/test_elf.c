/* SPDX-License-Identifier: MIT */
/*
 * Host tests of the guest ELF loader (core/elf.c) with ELF images built
 * by hand in memory and an array standing in for guest RAM, filled with
 * RAM_FILL so that every byte the loader writes shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/elf.h"
#include "core/elf_spec.h"

#define RAM_SIZE   MiB(32)
#define IMAGE_SIZE 16384
#define RAM_FILL   0xCC

static u8 ram[RAM_SIZE];
static const struct guest_mem guest = {.base = ram, .size = RAM_SIZE};

static int reset(void **state)
{
	(void)state;
	memset(ram, RAM_FILL, sizeof(ram));
	return 0;
}

/* Guest RAM is as reset() left it: the loader wrote nothing. */
static void expect_ram_untouched(void)
{
	static u8 fill[65536];

	memset(fill, RAM_FILL, sizeof(fill));
	for (u64 at = 0; at < RAM_SIZE; at += sizeof(fill))
		assert_memory_equal(ram + at, fill, sizeof(fill));
}

/* ---- building images ---- */

struct seg_spec {
	u32 type;
	u64 offset, vaddr, paddr, filesz, memsz;
};

struct image {
	u8 bytes[IMAGE_SIZE];
	u64 size;
};

static struct image img;

/* Fills the file bytes of every segment with a pattern of its index. */
static void fill_segments(const struct seg_spec *segs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (u64 b = 0; b < segs[i].filesz; b++)
			if (segs[i].offset < IMAGE_SIZE &&
			    b < IMAGE_SIZE - segs[i].offset)
				img.bytes[segs[i].offset + b] =
				    (u8)(0x10 * (i + 1) + b % 7);
}

static void build_elf64(const struct seg_spec *segs, unsigned n, u64 entry)
{
	struct elf64_header h = {
	    .e_ident = {ELF_MAGIC0, ELF_MAGIC1, ELF_MAGIC2, ELF_MAGIC3,
			ELF_CLASS_64, ELF_DATA_LSB, ELF_VERSION_CURRENT},
	    .e_type = ELF_TYPE_EXEC,
	    .e_machine = ELF_MACHINE_X86_64,
	    .e_version = 1,
	    .e_entry = entry,
	    .e_phoff = sizeof(h),
	    .e_ehsize = sizeof(h),
	    .e_phentsize = sizeof(struct elf64_phdr),
	    .e_phnum = (u16)n,
	};

	memset(&img, 0, sizeof(img));
	memcpy(img.bytes, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		struct elf64_phdr p = {
		    .p_type = segs[i].type,
		    .p_offset = segs[i].offset,
		    .p_vaddr = segs[i].vaddr,
		    .p_paddr = segs[i].paddr,
		    .p_filesz = segs[i].filesz,
		    .p_memsz = segs[i].memsz,
		    .p_align = 0x1000,
		};

		memcpy(img.bytes + sizeof(h) + i * sizeof(p), &p, sizeof(p));
	}
	fill_segments(segs, n);
	img.size = IMAGE_SIZE;
}

static void build_elf32(const struct seg_spec *segs, unsigned n, u64 entry)
{
	struct elf32_header h = {
	    .e_ident = {ELF_MAGIC0, ELF_MAGIC1, ELF_MAGIC2, ELF_MAGIC3,
			ELF_CLASS_32, ELF_DATA_LSB, ELF_VERSION_CURRENT},
	    .e_type = ELF_TYPE_EXEC,
	    .e_machine = ELF_MACHINE_386,
	    .e_version = 1,
	    .e_entry = (u32)entry,
	    .e_phoff = sizeof(h),
	    .e_ehsize = sizeof(h),
	    .e_phentsize = sizeof(struct elf32_phdr),
	    .e_phnum = (u16)n,
	};

	memset(&img, 0, sizeof(img));
	memcpy(img.bytes, &h, sizeof(h));
	for (unsigned i = 0; i < n; i++) {
		struct elf32_phdr p = {
		    .p_type = segs[i].type,
		    .p_offset = (u32)segs[i].offset,
		    .p_vaddr = (u32)segs[i].vaddr,
		    .p_paddr = (u32)segs[i].paddr,
		    .p_filesz = (u32)segs[i].filesz,
		    .p_memsz = (u32)segs[i].memsz,
		    .p_align = 0x1000,
		};

		memcpy(img.bytes + sizeof(h) + i * sizeof(p), &p, sizeof(p));
	}
	fill_segments(segs, n);
	img.size = IMAGE_SIZE;
}

/* Patches a header field of the built image. */
static void poke16(u64 offset, u16 v)
{
	memcpy(img.bytes + offset, &v, sizeof(v));
}

static void poke32(u64 offset, u32 v)
{
	memcpy(img.bytes + offset, &v, sizeof(v));
}

static void poke64(u64 offset, u64 v)
{
	memcpy(img.bytes + offset, &v, sizeof(v));
}

/* Loading must be refused with exactly `message`, writing nothing. */
static void expect_refusal(const struct image *im, const char *message)
{
	struct elf_info info;

	assert_int_equal(elf_load(im->bytes, im->size, &guest, &info), -1);
	assert_string_equal(info.error, message);
	expect_ram_untouched();
	assert_int_equal(elf_check(im->bytes, im->size, RAM_SIZE, &info), -1);
	assert_string_equal(info.error, message);
}

static void expect_segment_loaded(const struct seg_spec *seg, unsigned i)
{
	for (u64 b = 0; b < seg->filesz; b++)
		assert_int_equal(ram[seg->paddr + b],
				 (u8)(0x10 * (i + 1) + b % 7));
	for (u64 b = seg->filesz; b < seg->memsz; b++)
		assert_int_equal(ram[seg->paddr + b], 0);
}

/* A typical small kernel: text, then data with a bss. */
static const struct seg_spec kernel64[] = {
    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x300, 0x300},
    {ELF_PT_LOAD, 0x2000, 0x101000, 0x101000, 0x40, 0x1800},
};

/* ---- good images ---- */

static void test_good_elf64(void **state)
{
	(void)state;
	struct elf_info info;

	build_elf64(kernel64, 2, 0x100010);
	assert_int_equal(elf_load(img.bytes, img.size, &guest, &info), 0);
	assert_string_equal(info.error, "");
	assert_int_equal(info.elf_class, 64);
	assert_int_equal(info.entry, 0x100010);
	assert_int_equal(info.entry_vaddr, 0x100010);
	assert_int_equal(info.load_start, 0x100000);
	assert_int_equal(info.load_end, 0x102800);
	assert_int_equal(info.segments, 2);
	expect_segment_loaded(&kernel64[0], 0);
	expect_segment_loaded(&kernel64[1], 1);
	/* Nothing around the segments was touched. */
	assert_int_equal(ram[0x100000 - 1], RAM_FILL);
	assert_int_equal(ram[0x100300], RAM_FILL);
	assert_int_equal(ram[0x102800], RAM_FILL);
}

/* A higher-half ELF32 kernel: loaded at p_paddr, entry moved with it. */
static void test_good_elf32_higher_half(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_NULL, 0, 0, 0, 0, 0},
	    {ELF_PT_LOAD, 0x1000, 0xC0100000, 0x100000, 0x200, 0x200},
	    {ELF_PT_LOAD, 0x1200, 0xC0200000, 0x200000, 0x100, 0x3000},
	    {ELF_PT_LOAD, 0x1300, 0xC0300000, 0x300000, 0, 0},
	};
	struct elf_info info;

	build_elf32(segs, 4, 0xC010000C);
	assert_int_equal(elf_load(img.bytes, img.size, &guest, &info), 0);
	assert_int_equal(info.elf_class, 32);
	assert_int_equal(info.entry, 0x10000C);
	assert_int_equal(info.entry_vaddr, 0xC010000C);
	assert_int_equal(info.load_start, 0x100000);
	assert_int_equal(info.load_end, 0x203000);
	assert_int_equal(info.segments, 2);
	expect_segment_loaded(&segs[1], 1);
	expect_segment_loaded(&segs[2], 2);
	/* Empty segments load nothing. */
	assert_int_equal(ram[0x300000], RAM_FILL);
}

/* A bss that is not page sized is zeroed to its last byte, no further. */
static void test_bss_zeroing(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_LOAD, 0x1000, 0x400000, 0x400000, 0x10, 0x10 + 5000},
	};
	struct elf_info info;

	build_elf64(segs, 1, 0x400000);
	assert_int_equal(elf_load(img.bytes, img.size, &guest, &info), 0);
	expect_segment_loaded(&segs[0], 0);
	assert_int_equal(ram[0x400000 - 1], RAM_FILL);
	assert_int_equal(ram[0x400000 + 0x10 + 5000], RAM_FILL);
}

/* A bss-only segment: nothing from the file, only zeroes. */
static void test_bss_only_segment(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x20, 0x20},
	    {ELF_PT_LOAD, 0, 0x200000, 0x200000, 0, 0x800},
	};
	struct elf_info info;

	build_elf64(segs, 2, 0x100000);
	assert_int_equal(elf_load(img.bytes, img.size, &guest, &info), 0);
	expect_segment_loaded(&segs[0], 0);
	expect_segment_loaded(&segs[1], 1);
	assert_int_equal(ram[0x200800], RAM_FILL);
}

/* ---- the header ---- */

static void test_not_elf(void **state)
{
	(void)state;
	struct elf_info info;
	struct image tiny = {.bytes = {0x7f, 'E', 'L'}, .size = 3};

	build_elf64(kernel64, 2, 0x100010);
	img.bytes[1] = 'e';
	expect_refusal(&img, "not an ELF file (no \\x7fELF magic)");
	expect_refusal(&tiny, "not an ELF file (no \\x7fELF magic)");
	assert_int_equal(elf_check(NULL, 100, RAM_SIZE, &info), -1);
	assert_string_equal(info.error, "not an ELF file (no \\x7fELF magic)");
}

static void test_bad_ident(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100010);
	img.bytes[ELF_IDENT_CLASS] = 3;
	expect_refusal(&img,
		       "ELF class 3 is neither 1 (32-bit) nor 2 (64-bit)");
	build_elf64(kernel64, 2, 0x100010);
	img.bytes[ELF_IDENT_DATA] = 2;
	expect_refusal(&img, "ELF data encoding 2 is not little-endian (1)");
	build_elf64(kernel64, 2, 0x100010);
	img.bytes[ELF_IDENT_VERSION] = 0;
	expect_refusal(&img, "ELF identification version 0 is not 1");
	build_elf64(kernel64, 2, 0x100010);
	poke32(offsetof(struct elf64_header, e_version), 2);
	expect_refusal(&img, "ELF version 2 is not 1");
}

static void test_truncated_header(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100010);
	img.size = 40;
	expect_refusal(&img, "truncated: the file is 40 bytes, less than its "
			     "64-byte ELF header");
}

static void test_wrong_machine(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100010);
	poke16(offsetof(struct elf64_header, e_machine), 40);
	expect_refusal(&img, "ELF for machine 40 (not x86)");

	build_elf32(kernel64, 2, 0x100010);
	poke16(offsetof(struct elf32_header, e_machine), ELF_MACHINE_X86_64);
	expect_refusal(&img, "ELF32 file for machine 62 (x86-64): ELF32 must "
			     "be i386 (3), ELF64 must be x86-64 (62)");
	build_elf64(kernel64, 2, 0x100010);
	poke16(offsetof(struct elf64_header, e_machine), ELF_MACHINE_386);
	expect_refusal(&img, "ELF64 file for machine 3 (i386): ELF32 must be "
			     "i386 (3), ELF64 must be x86-64 (62)");
}

static void test_not_executable(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100010);
	poke16(offsetof(struct elf64_header, e_type), ELF_TYPE_DYN);
	expect_refusal(&img, "ELF type 3 is a shared object or "
			     "position-independent executable, not an "
			     "executable (type 2)");
	poke16(offsetof(struct elf64_header, e_type), 1);
	expect_refusal(&img, "ELF type 1 is a relocatable object, not an "
			     "executable (type 2)");
}

static void test_bad_program_header_table(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100010);
	poke16(offsetof(struct elf64_header, e_phentsize), 32);
	expect_refusal(&img, "program header entries are 32 bytes, expected "
			     "56 for ELF64");

	build_elf64(kernel64, 0, 0x100010);
	expect_refusal(&img, "no program headers: nothing to load");

	build_elf64(kernel64, 2, 0x100010);
	poke16(offsetof(struct elf64_header, e_phnum), 65);
	expect_refusal(&img, "65 program headers, more than the 64 this "
			     "loader accepts");

	build_elf64(kernel64, 2, 0x100010);
	poke64(offsetof(struct elf64_header, e_phoff), IMAGE_SIZE - 100);
	expect_refusal(&img, "truncated: the program headers end at file "
			     "offset 0x400c but the file is 16384 bytes");

	build_elf64(kernel64, 2, 0x100010);
	poke64(offsetof(struct elf64_header, e_phoff), 0xFFFFFFFFFFFFFFF0ull);
	expect_refusal(&img, "program header offset 0xfffffffffffffff0 + 2 "
			     "entries overflows");
}

/* ---- segments ---- */

static void test_truncated_segment(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100010);
	img.size = 0x2020; /* segment 1's 0x40 file bytes end at 0x2040 */
	expect_refusal(&img, "truncated: segment 1 ends at file offset 8256 "
			     "but the file is 8224 bytes");
}

static void test_segment_outside_ram(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x10, 0x10},
	    {ELF_PT_NOTE, 0, 0, 0, 0, 0},
	    {ELF_PT_LOAD, 0x1100, 0x1FFF000, 0x1FFF000, 0x10, 0x2000},
	};

	build_elf64(segs, 3, 0x100000);
	expect_refusal(&img, "segment 2 [0x1fff000,0x2001000) is outside "
			     "guest RAM (0x0-0x2000000)");
}

static void test_filesz_larger_than_memsz(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x200, 0x100},
	};

	build_elf32(segs, 1, 0x100000);
	expect_refusal(&img, "segment 0: p_filesz 0x200 is larger than "
			     "p_memsz 0x100");
}

static void test_overflowing_values(void **state)
{
	(void)state;
	const struct seg_spec paddr_wraps[] = {
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0xFFFFFFFFFFFFF000ull, 0x10,
	     0x2000},
	};
	const struct seg_spec offset_wraps[] = {
	    {ELF_PT_LOAD, 0xFFFFFFFFFFFFFF00ull, 0x100000, 0x100000, 0x200,
	     0x200},
	};
	const struct seg_spec vaddr_wraps[] = {
	    {ELF_PT_LOAD, 0x1000, 0xFFFFFFFFFFFFF000ull, 0x100000, 0x10,
	     0x2000},
	};
	const struct seg_spec ram_wraps[] = {
	    /* Fits no RAM, and paddr + memsz exceeds 32 bits. */
	    {ELF_PT_LOAD, 0x1000, 0xFFFFF000, 0xFFFFF000, 0x10, 0x2000},
	};

	build_elf64(paddr_wraps, 1, 0x100000);
	expect_refusal(&img, "segment 0: p_paddr 0xfffffffffffff000 + p_memsz "
			     "0x2000 overflows");
	build_elf64(offset_wraps, 1, 0x100000);
	expect_refusal(&img, "segment 0: p_offset 0xffffffffffffff00 + "
			     "p_filesz 0x200 overflows");
	build_elf64(vaddr_wraps, 1, 0x100000);
	expect_refusal(&img, "segment 0: p_vaddr 0xfffffffffffff000 + p_memsz "
			     "0x2000 overflows");
	build_elf32(ram_wraps, 1, 0xFFFFF000);
	expect_refusal(&img, "segment 0 [0xfffff000,0x100001000) is outside "
			     "guest RAM (0x0-0x2000000)");
}

static void test_overlapping_segments(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x100, 0x1000},
	    {ELF_PT_LOAD, 0x2000, 0x100800, 0x100800, 0x100, 0x100},
	};

	build_elf64(segs, 2, 0x100000);
	expect_refusal(&img, "segments 0 [0x100000,0x101000) and 1 "
			     "[0x100800,0x100900) overlap");
}

static void test_entry_outside_segments(void **state)
{
	(void)state;
	build_elf64(kernel64, 2, 0x100300);
	expect_refusal(
	    &img, "entry point 0x100300 is not inside any PT_LOAD segment");
}

static void test_nothing_to_load(void **state)
{
	(void)state;
	const struct seg_spec segs[] = {
	    {ELF_PT_NULL, 0, 0, 0, 0, 0},
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0, 0},
	};
	const struct seg_spec interp[] = {
	    {ELF_PT_INTERP, 0x1000, 0, 0, 0x10, 0x10},
	    {ELF_PT_LOAD, 0x1000, 0x100000, 0x100000, 0x10, 0x10},
	};

	build_elf64(segs, 2, 0x100000);
	expect_refusal(&img, "no PT_LOAD segment with bytes to load");
	build_elf64(interp, 2, 0x100000);
	expect_refusal(&img, "segment 0 is PT_INTERP: a dynamically linked "
			     "program is not a guest kernel");
}

/* Without guest RAM nothing is loaded, whatever the image. */
static void test_no_guest_ram(void **state)
{
	(void)state;
	const struct guest_mem none = {.base = NULL, .size = RAM_SIZE};
	struct elf_info info;

	build_elf64(kernel64, 2, 0x100010);
	assert_int_equal(elf_load(img.bytes, img.size, &none, &info), -1);
	assert_string_equal(info.error, "no guest RAM to load into");
	expect_ram_untouched();
}

/* The RAM view is the limit, not the array behind it. */
static void test_smaller_ram_view(void **state)
{
	(void)state;
	const struct guest_mem small = {.base = ram, .size = 0x101000};
	struct elf_info info;

	build_elf64(kernel64, 2, 0x100010);
	assert_int_equal(elf_load(img.bytes, img.size, &small, &info), -1);
	assert_string_equal(info.error, "segment 1 [0x101000,0x102800) is "
					"outside guest RAM (0x0-0x101000)");
	expect_ram_untouched();
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_good_elf64),
	    T(test_good_elf32_higher_half),
	    T(test_bss_zeroing),
	    T(test_bss_only_segment),
	    T(test_not_elf),
	    T(test_bad_ident),
	    T(test_truncated_header),
	    T(test_wrong_machine),
	    T(test_not_executable),
	    T(test_bad_program_header_table),
	    T(test_truncated_segment),
	    T(test_segment_outside_ram),
	    T(test_filesz_larger_than_memsz),
	    T(test_overflowing_values),
	    T(test_overlapping_segments),
	    T(test_entry_outside_segments),
	    T(test_nothing_to_load),
	    T(test_no_guest_ram),
	    T(test_smaller_ram_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
