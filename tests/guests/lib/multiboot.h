/* SPDX-License-Identifier: MIT */
/*
 * Multiboot (v1) structures as the guests see them: Multiboot Specification
 * version 0.6.96, section 3.3 "Boot information format".
 */
#ifndef VENEER_TESTS_GUESTS_LIB_MULTIBOOT_H
#define VENEER_TESTS_GUESTS_LIB_MULTIBOOT_H

#ifndef __ASSEMBLER__
#include "guest.h"
#endif

/* Section 3.1.1: header magic and the flags the guests request. */
#define MULTIBOOT_HEADER_MAGIC	  0x1BADB002
#define MULTIBOOT_FLAG_PAGE_ALIGN 0x00000001 /* bit 0: align modules */
#define MULTIBOOT_FLAG_MEMORY	  0x00000002 /* bit 1: mem_* and mmap_* */
#define MULTIBOOT_FLAG_ADDRESS	  0x00010000 /* bit 16: address fields */
/* Section 3.2: EAX on entry. */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

#ifndef __ASSEMBLER__
/* Section 3.3: bits of multiboot_info.flags saying which fields are valid. */
#define MBI_FLAG_MEM	 BIT(0)
#define MBI_FLAG_CMDLINE BIT(2)
#define MBI_FLAG_MMAP	 BIT(6)

struct multiboot_info {
	u32 flags;
	u32 mem_lower; /* KiB of memory from 0 */
	u32 mem_upper; /* KiB of memory from 1 MiB up to the first hole */
	u32 boot_device;
	u32 cmdline; /* physical address of a NUL-terminated string */
	u32 mods_count;
	u32 mods_addr;
	u32 syms[4];
	u32 mmap_length; /* bytes of memory-map entries */
	u32 mmap_addr;
	u32 drives_length;
	u32 drives_addr;
	u32 config_table;
	u32 boot_loader_name;
	u32 apm_table;
} __attribute__((packed));

/* One memory-map entry; "size" counts the bytes after itself, so the next
 * entry is at (char *)entry + entry->size + 4. */
struct multiboot_mmap_entry {
	u32 size;
	u64 base_addr;
	u64 length;
	u32 type;
} __attribute__((packed));

#define MULTIBOOT_MEMORY_AVAILABLE 1

/* The memory map copied out of the loader's info into guest-owned storage,
 * so that a guest can overwrite the loader's pages afterwards. */
#define GUEST_MMAP_MAX 32
struct guest_mmap {
	unsigned count;
	struct {
		u64 base, length;
		u32 type;
	} entry[GUEST_MMAP_MAX];
};

/* Copies the info's memory map; returns false (and says why) if the info
 * has none or it has more than GUEST_MMAP_MAX entries. */
bool guest_mmap_read(const struct multiboot_info *mbi, struct guest_mmap *map);
/* The command line, or "" if the loader gave none. */
const char *guest_cmdline(const struct multiboot_info *mbi);
#endif /* !__ASSEMBLER__ */

#endif /* VENEER_TESTS_GUESTS_LIB_MULTIBOOT_H */
