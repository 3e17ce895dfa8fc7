/* SPDX-License-Identifier: MIT */
/*
 * The guest ELF loader: puts the PT_LOAD segments of a 32- or 64-bit x86
 * executable into guest RAM at their physical addresses (p_paddr), as a
 * multiboot loader does.
 *
 * Everything is checked before the first byte is written, so a refused
 * image leaves guest RAM untouched.  Each refusal comes with a sentence
 * that names the problem and the numbers involved.
 */
#ifndef VENEER_CORE_ELF_H
#define VENEER_CORE_ELF_H

#include "core/lib/types.h"
#include "core/guestmem.h"

/* More program headers than this is refused (real kernels have < 16). */
#define ELF_MAX_PHDRS 64

struct elf_info {
	int elf_class;	 /* 32 or 64 */
	u64 entry;	 /* physical: e_entry moved by its segment's p_paddr */
	u64 entry_vaddr; /* e_entry as the file states it */
	u64 load_start;	 /* lowest guest-physical address loaded */
	u64 load_end;	 /* one past the highest one */
	u32 segments;	 /* PT_LOAD segments with p_memsz > 0 */
	char error[LOADER_ERROR_MAX]; /* why elf_check/elf_load refused */
};

/*
 * Checks image[0, size) as a guest kernel for a guest with ram_size bytes
 * of RAM and fills info.  Returns 0, or -1 with info->error set.
 */
int elf_check(const void *image, u64 size, u64 ram_size, struct elf_info *info);

/*
 * elf_check() against guest->size, then copies every PT_LOAD segment into
 * guest->base and zeroes its bss part. Returns 0, or -1 with info->error
 * set and guest RAM untouched.
 */
int elf_load(const void *image, u64 size, const struct guest_mem *guest,
	     struct elf_info *info);

#endif /* VENEER_CORE_ELF_H */
