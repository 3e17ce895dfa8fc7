/* SPDX-License-Identifier: MIT */
/*
 * What the boot loader told us, in one neutral form.
 *
 * multiboot_parse() (core/multiboot.c) fills this from a Multiboot1 or
 * Multiboot2 information structure; everything after early boot reads only
 * this struct, never the loader's own format.
 */
#ifndef VENEER_CORE_BOOTINFO_H
#define VENEER_CORE_BOOTINFO_H

#include "core/lib/memmap.h"
#include "core/lib/types.h"

#define BOOTINFO_MAX_MEMMAP  128
#define BOOTINFO_MAX_MODULES 32
#define BOOTINFO_CMDLINE_MAX 1024
#define BOOTINFO_MODSTR_MAX  512

struct boot_module {
	u64 start; /* host-physical, first byte */
	u64 end;   /* host-physical, one past the last byte */
	char string[BOOTINFO_MODSTR_MAX]; /* the loader's module string */
	u32 string_len; /* its full length: above BOOTINFO_MODSTR_MAX - 1, cut
			 */
};

struct boot_info {
	int multiboot_version;	 /* 1 or 2 */
	const char *loader_name; /* NULL when the loader gave none */
	char cmdline[BOOTINFO_CMDLINE_MAX];
	u32 memmap_count;
	struct mem_range memmap[BOOTINFO_MAX_MEMMAP];
	u32 module_count;
	struct boot_module modules[BOOTINFO_MAX_MODULES];
	u64 rsdp; /* host-physical address of a copy of the RSDP, or 0 */
	/* MB2 gives the RSDP itself, not its address: it is copied here. */
	u8 rsdp_copy[36];
	bool rsdp_from_loader;
};

#endif /* VENEER_CORE_BOOTINFO_H */
