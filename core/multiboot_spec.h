/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 (specification 0.6.96) and Multiboot 2 (specification 2.0)
 * constants and structures, as the specifications define them.
 *
 * Usable from assembly (boot/ builds its headers from these constants): the
 * structures are hidden when __ASSEMBLY__ is defined.
 */
#ifndef VENEER_CORE_MULTIBOOT_SPEC_H
#define VENEER_CORE_MULTIBOOT_SPEC_H

/* ---- Multiboot 1 ---- */

/* MB1 3.1.2: the OS image header. */
#define MB1_HEADER_MAGIC       0x1BADB002
#define MB1_HEADER_PAGE_ALIGN  0x00000001 /* bit 0: modules page aligned */
#define MB1_HEADER_MEMORY_INFO 0x00000002 /* bit 1: mem_* and mmap_* wanted */
#define MB1_HEADER_VIDEO_MODE  0x00000004 /* bit 2: video mode fields valid */
#define MB1_HEADER_ADDRESS     0x00010000 /* bit 16: address fields valid */

/* MB1 3.2: EAX at entry. */
#define MB1_BOOTLOADER_MAGIC 0x2BADB002

/* MB1 3.3: bits of the info structure's flags field. */
#define MB1_INFO_MEMORY	     0x00000001 /* bit 0: mem_lower, mem_upper */
#define MB1_INFO_BOOTDEV     0x00000002 /* bit 1: boot_device */
#define MB1_INFO_CMDLINE     0x00000004 /* bit 2: cmdline */
#define MB1_INFO_MODS	     0x00000008 /* bit 3: mods_count, mods_addr */
#define MB1_INFO_AOUT_SYMS   0x00000010 /* bit 4 */
#define MB1_INFO_ELF_SHDR    0x00000020 /* bit 5 */
#define MB1_INFO_MEM_MAP     0x00000040 /* bit 6: mmap_length, mmap_addr */
#define MB1_INFO_DRIVES	     0x00000080 /* bit 7 */
#define MB1_INFO_CONFIG	     0x00000100 /* bit 8 */
#define MB1_INFO_LOADER_NAME 0x00000200 /* bit 9: boot_loader_name */
#define MB1_INFO_APM	     0x00000400 /* bit 10 */
#define MB1_INFO_VBE	     0x00000800 /* bit 11 */
#define MB1_INFO_FRAMEBUFFER 0x00001000 /* bit 12 */

/* MB1 3.3: memory map entry types (also the MB2 and E820 numbering). */
#define MB_MEMORY_AVAILABLE	   1
#define MB_MEMORY_RESERVED	   2
#define MB_MEMORY_ACPI_RECLAIMABLE 3
#define MB_MEMORY_NVS		   4
#define MB_MEMORY_BADRAM	   5

/* ---- Multiboot 2 ---- */

/* MB2 3.1.1: the OS image header. */
#define MB2_HEADER_MAGIC	     0xE85250D6
#define MB2_ARCHITECTURE_I386	     0
#define MB2_HEADER_TAG_END	     0
#define MB2_HEADER_TAG_INFO_REQUEST  1
#define MB2_HEADER_TAG_ADDRESS	     2
#define MB2_HEADER_TAG_ENTRY_ADDRESS 3
#define MB2_HEADER_TAG_CONSOLE_FLAGS 4
#define MB2_HEADER_TAG_FRAMEBUFFER   5
#define MB2_HEADER_TAG_MODULE_ALIGN  6
#define MB2_HEADER_TAG_EFI_BS	     7
#define MB2_HEADER_TAG_ENTRY_EFI32   8
#define MB2_HEADER_TAG_ENTRY_EFI64   9
#define MB2_HEADER_TAG_RELOCATABLE   10
#define MB2_HEADER_TAG_OPTIONAL	     1 /* tag flags bit 0 */

/* MB2 3.2: EAX at entry. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289

/* MB2 3.6.1: every tag starts on an 8-byte boundary. */
#define MB2_TAG_ALIGN 8

/* MB2 3.6: boot information tag types. */
#define MB2_TAG_END	       0
#define MB2_TAG_CMDLINE	       1
#define MB2_TAG_LOADER_NAME    2
#define MB2_TAG_MODULE	       3
#define MB2_TAG_BASIC_MEMINFO  4
#define MB2_TAG_BOOTDEV	       5
#define MB2_TAG_MMAP	       6
#define MB2_TAG_VBE	       7
#define MB2_TAG_FRAMEBUFFER    8
#define MB2_TAG_ELF_SECTIONS   9
#define MB2_TAG_APM	       10
#define MB2_TAG_EFI32	       11
#define MB2_TAG_EFI64	       12
#define MB2_TAG_SMBIOS	       13
#define MB2_TAG_ACPI_OLD       14
#define MB2_TAG_ACPI_NEW       15
#define MB2_TAG_NETWORK	       16
#define MB2_TAG_EFI_MMAP       17
#define MB2_TAG_EFI_BS	       18
#define MB2_TAG_EFI32_IH       19
#define MB2_TAG_EFI64_IH       20
#define MB2_TAG_LOAD_BASE_ADDR 21

#ifndef __ASSEMBLY__

#include "core/lib/types.h"

/*
 * MB1 3.3: the boot information structure, up to the framebuffer fields
 * (116 bytes). The one definition both directions use: core/multiboot.c
 * reads the boot loader's, core/mbguest.c builds one for each multiboot
 * guest. A loader that sets no flag above bit 11 may provide only the
 * first 88 bytes (QEMU does): the parser reads no field past vbe_*.
 */
struct mb1_info {
	u32 flags;
	u32 mem_lower; /* KiB from 0, at most 640 */
	u32 mem_upper; /* KiB from 1 MiB up to the first hole */
	u32 boot_device;
	u32 cmdline; /* physical address of a NUL-terminated string */
	u32 mods_count;
	u32 mods_addr; /* physical address of mods_count struct mb1_module */
	u32 syms[4];
	u32 mmap_length; /* bytes of memory map */
	u32 mmap_addr;
	u32 drives_length;
	u32 drives_addr;
	u32 config_table;
	u32 boot_loader_name;
	u32 apm_table;
	u32 vbe_control_info;
	u32 vbe_mode_info;
	u16 vbe_mode;
	u16 vbe_interface_seg;
	u16 vbe_interface_off;
	u16 vbe_interface_len;
	u64 framebuffer_addr; /* valid with MB1_INFO_FRAMEBUFFER */
	u32 framebuffer_pitch;
	u32 framebuffer_width;
	u32 framebuffer_height;
	u8 framebuffer_bpp;
	u8 framebuffer_type;
	u8 color_info[6];
} __packed;

/* MB1 3.3: one module. */
struct mb1_module {
	u32 mod_start;
	u32 mod_end; /* one past the last byte */
	u32 string;  /* physical address of a NUL-terminated string */
	u32 reserved;
} __packed;

/*
 * MB1 3.3: one memory map entry.  size counts the bytes after itself, so the
 * next entry starts size + 4 bytes after this one; it may exceed 20.
 */
struct mb1_mmap_entry {
	u32 size;
	u64 base_addr;
	u64 length;
	u32 type;
} __packed;

/* MB2 3.6.1: the fixed part at the start of the information structure. */
struct mb2_info_header {
	u32 total_size; /* including this header and the end tag */
	u32 reserved;
} __packed;

/* MB2 3.6.1: the header every tag starts with. */
struct mb2_tag {
	u32 type;
	u32 size; /* including this header, excluding the padding after */
} __packed;

/* MB2 3.6.3 (cmdline) and 3.6.4 (boot loader name). */
struct mb2_tag_string {
	u32 type;
	u32 size;
	char string[]; /* NUL-terminated */
} __packed;

/* MB2 3.6.6 */
struct mb2_tag_module {
	u32 type;
	u32 size;
	u32 mod_start;
	u32 mod_end;
	char string[];
} __packed;

/* MB2 3.6.7 */
struct mb2_tag_basic_meminfo {
	u32 type;
	u32 size;
	u32 mem_lower;
	u32 mem_upper;
} __packed;

/* MB2 3.6.8: entries follow the header, entry_size bytes apart. */
struct mb2_tag_mmap {
	u32 type;
	u32 size;
	u32 entry_size; /* a multiple of 8; at least sizeof(mb2_mmap_entry) */
	u32 entry_version;
} __packed;

struct mb2_mmap_entry {
	u64 base_addr;
	u64 length;
	u32 type;
	u32 reserved;
} __packed;

/* MB2 3.6.15 / 3.6.16: a copy of the RSDP follows the header. */
struct mb2_tag_acpi {
	u32 type;
	u32 size;
	u8 rsdp[];
} __packed;

_Static_assert(__builtin_offsetof(struct mb1_info, framebuffer_addr) == 88,
	       "MB1 3.3 info layout: the VBE fields end at 88");
_Static_assert(sizeof(struct mb1_info) == 116, "MB1 3.3 info layout");
_Static_assert(sizeof(struct mb1_module) == 16, "MB1 3.3 module layout");
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "MB1 3.3 mmap layout");
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "MB2 3.6.8 entry layout");
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "MB2 3.6.8 tag layout");

#endif /* !__ASSEMBLY__ */

#endif /* VENEER_CORE_MULTIBOOT_SPEC_H */
