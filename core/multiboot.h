/* SPDX-License-Identifier: MIT */
/*
 * Turns the boot loader's Multiboot 1 or Multiboot 2 information into the
 * neutral struct boot_info (core/bootinfo.h).
 */
#ifndef VENEER_CORE_MULTIBOOT_H
#define VENEER_CORE_MULTIBOOT_H

#include "core/bootinfo.h"
#include "core/lib/types.h"

/*
 * magic is EAX at entry, info the structure EBX pointed to.  Addresses inside
 * a Multiboot 1 structure are dereferenced as pointers (identity map).
 *
 * Fills *out and returns 0; returns -1 with a message in err when the
 * information cannot be used (unknown magic, malformed tag list, no memory
 * map at all).  Problems that still leave a usable result (too many map
 * entries or modules, a long string, only mem_lower/mem_upper) are printed
 * with printk() as warnings and the result is clipped or synthesised.
 *
 * For Multiboot 2 the RSDP is copied into out->rsdp_copy and out->rsdp
 * holds that copy's address, so *out must stay where it is filled.
 * out->loader_name points into the loader's structure.
 */
int multiboot_parse(u32 magic, const void *info, struct boot_info *out,
		    char *err, size_t errlen);

#endif /* VENEER_CORE_MULTIBOOT_H */
