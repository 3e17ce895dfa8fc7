/* SPDX-License-Identifier: MIT */
/*
 * The parts of the Linux x86 boot protocol the guest loader uses: the setup
 * header at offset 0x1f1 of a bzImage, and boot_params ("the zero page")
 * that the loader hands to the kernel.
 *
 * Facts are from the kernel's boot protocol document
 * (Documentation/arch/x86/boot.rst: "The Real-Mode Kernel Header", "Details
 * of Header Fields", "32-bit Boot Protocol", "64-bit Boot Protocol") and its
 * zero-page document (Documentation/arch/x86/zero-page.rst).  All fields are
 * little-endian; the structures are packed because the header starts at an
 * odd offset.  Only fields Veneer reads or writes have names; the rest are
 * padding that must stay as the image has it (header) or zero (zero page).
 */
#ifndef VENEER_CORE_LINUX_SPEC_H
#define VENEER_CORE_LINUX_SPEC_H

#include "core/lib/types.h"

/* Where things are in the image ("The Real-Mode Kernel Header").  At 0x200
 * is a 2-byte short jump over the header: the byte at 0x201 is its
 * displacement, so the header ends at 0x202 + that byte. */
#define LINUX_SETUP_HEADER_OFFSET 0x1f1
#define LINUX_SECTOR_SIZE	  512
#define LINUX_JUMP_OFFSET	  0x200
#define LINUX_SETUP_SECTS_DEFAULT 4 /* setup_sects == 0 means 4 */

/* "HdrS" read as a little-endian u32. */
#define LINUX_BOOT_FLAG	   0xAA55
#define LINUX_HEADER_MAGIC 0x53726448u

/* Protocol versions are major << 8 | minor. */
#define LINUX_PROTOCOL(major, minor) (((major) << 8) | (minor))

/* loadflags ("Details of Header Fields"). */
#define LINUX_LOADED_HIGH   BIT(0) /* protected-mode code at 0x100000 */
#define LINUX_KASLR_FLAG    BIT(1) /* set by the kernel itself */
#define LINUX_QUIET_FLAG    BIT(5)
#define LINUX_KEEP_SEGMENTS BIT(6) /* obsolete */
#define LINUX_CAN_USE_HEAP  BIT(7) /* heap_end_ptr is valid */

/* xloadflags (protocol 2.12+). */
#define LINUX_XLF_KERNEL_64		 BIT(0) /* 64-bit entry at +0x200 */
#define LINUX_XLF_CAN_BE_LOADED_ABOVE_4G BIT(1)
#define LINUX_XLF_EFI_HANDOVER_32	 BIT(2)
#define LINUX_XLF_EFI_HANDOVER_64	 BIT(3)
#define LINUX_XLF_EFI_KEXEC		 BIT(4)

/* type_of_loader: 0xFF is "undefined", for loaders without an assigned ID. */
#define LINUX_LOADER_TYPE_UNDEFINED 0xFF

/* Entry of the 64-bit protocol, from the start of the protected-mode kernel
 * ("64-bit Boot Protocol"). */
#define LINUX_ENTRY64_OFFSET 0x200

/* Segment selectors both 32- and 64-bit protocols demand: flat 4 GiB code
 * (execute/read) and data (read/write) descriptors at these GDT slots. */
#define LINUX_BOOT_CS 0x10
#define LINUX_BOOT_DS 0x18

/* The setup header, from image offset 0x1f1 (boot_params offset 0x1f1). */
struct linux_setup_header {
	u8 setup_sects;		   /* 0x1f1 */
	u16 root_flags;		   /* 0x1f2 */
	u32 syssize;		   /* 0x1f4: protected-mode size / 16 */
	u16 ram_size;		   /* 0x1f8: obsolete */
	u16 vid_mode;		   /* 0x1fa */
	u16 root_dev;		   /* 0x1fc */
	u16 boot_flag;		   /* 0x1fe: 0xAA55 */
	u16 jump;		   /* 0x200 */
	u32 header;		   /* 0x202: "HdrS" */
	u16 version;		   /* 0x206 */
	u32 realmode_swtch;	   /* 0x208 */
	u16 start_sys_seg;	   /* 0x20c: obsolete */
	u16 kernel_version;	   /* 0x20e: string at this + 0x200 */
	u8 type_of_loader;	   /* 0x210 */
	u8 loadflags;		   /* 0x211 */
	u16 setup_move_size;	   /* 0x212 */
	u32 code32_start;	   /* 0x214 */
	u32 ramdisk_image;	   /* 0x218 */
	u32 ramdisk_size;	   /* 0x21c */
	u32 bootsect_kludge;	   /* 0x220: obsolete */
	u16 heap_end_ptr;	   /* 0x224 */
	u8 ext_loader_ver;	   /* 0x226 */
	u8 ext_loader_type;	   /* 0x227 */
	u32 cmd_line_ptr;	   /* 0x228 */
	u32 initrd_addr_max;	   /* 0x22c: highest byte the initrd may use */
	u32 kernel_alignment;	   /* 0x230 */
	u8 relocatable_kernel;	   /* 0x234 */
	u8 min_alignment;	   /* 0x235: log2 */
	u16 xloadflags;		   /* 0x236 */
	u32 cmdline_size;	   /* 0x238: without the terminating NUL */
	u32 hardware_subarch;	   /* 0x23c */
	u64 hardware_subarch_data; /* 0x240 */
	u32 payload_offset;	   /* 0x248 */
	u32 payload_length;	   /* 0x24c */
	u64 setup_data;		   /* 0x250 */
	u64 pref_address;	   /* 0x258 */
	u32 init_size;		   /* 0x260 */
	u32 handover_offset;	   /* 0x264 */
	u32 kernel_info_offset;	   /* 0x268: protocol 2.15 */
} __packed;

#define LINUX_HDR_FIELD(field)                                                 \
	(LINUX_SETUP_HEADER_OFFSET +                                           \
	 __builtin_offsetof(struct linux_setup_header, field))

_Static_assert(LINUX_HDR_FIELD(boot_flag) == 0x1fe, "boot_flag");
_Static_assert(LINUX_HDR_FIELD(header) == 0x202, "header");
_Static_assert(LINUX_HDR_FIELD(version) == 0x206, "version");
_Static_assert(LINUX_HDR_FIELD(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(LINUX_HDR_FIELD(loadflags) == 0x211, "loadflags");
_Static_assert(LINUX_HDR_FIELD(ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(LINUX_HDR_FIELD(heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(LINUX_HDR_FIELD(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(LINUX_HDR_FIELD(initrd_addr_max) == 0x22c, "initrd_addr_max");
_Static_assert(LINUX_HDR_FIELD(kernel_alignment) == 0x230, "alignment");
_Static_assert(LINUX_HDR_FIELD(xloadflags) == 0x236, "xloadflags");
_Static_assert(LINUX_HDR_FIELD(cmdline_size) == 0x238, "cmdline_size");
_Static_assert(LINUX_HDR_FIELD(pref_address) == 0x258, "pref_address");
_Static_assert(LINUX_HDR_FIELD(init_size) == 0x260, "init_size");
_Static_assert(LINUX_HDR_FIELD(kernel_info_offset) == 0x268, "kernel_info");
_Static_assert(sizeof(struct linux_setup_header) == 0x26c - 0x1f1,
	       "the 2.15 setup header ends at 0x26c");

/* The header of protocol 2.12 ends after handover_offset (2.11). */
#define LINUX_HEADER_END_MIN 0x268
/* boot_params keeps [0x1f1, 0x290) for the header (zero-page.rst). */
#define LINUX_HEADER_END_MAX 0x290

/* e820 types: the address range types of ACPI 6.4 chapter 15, which the
 * BIOS e820 call reports. */
#define LINUX_E820_RAM	    1
#define LINUX_E820_RESERVED 2
#define LINUX_E820_ACPI	    3 /* reclaimable after the tables are read */
#define LINUX_E820_NVS	    4
#define LINUX_E820_UNUSABLE 5

struct linux_e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __packed;
_Static_assert(sizeof(struct linux_e820_entry) == 20, "e820 entry");

/* Entries boot_params has room for. */
#define LINUX_E820_MAX_ENTRIES 128

/* boot_params, the 4 KiB "zero page" (zero-page.rst). */
struct linux_boot_params {
	u8 screen_info_etc[0x070]; /* 0x000: screen_info, APM, tboot, IST */
	u64 acpi_rsdp_addr;	   /* 0x070: protocol 2.14 */
	u8 pad_078[0x0c0 - 0x078];
	u32 ext_ramdisk_image; /* 0x0c0: bits 63..32 of ramdisk_image */
	u32 ext_ramdisk_size;  /* 0x0c4 */
	u32 ext_cmd_line_ptr;  /* 0x0c8 */
	u8 pad_0cc[0x1e8 - 0x0cc];
	u8 e820_entries; /* 0x1e8 */
	u8 pad_1e9[0x1ef - 0x1e9];
	/* 0x1ef: nonzero tells the kernel that a loader copied stray bytes
	 * here, so it must clear fields the loader may not have meant. */
	u8 sentinel;
	u8 pad_1f0;
	struct linux_setup_header hdr; /* 0x1f1 */
	u8 pad_26c[0x2d0 - 0x26c];
	struct linux_e820_entry e820_table[LINUX_E820_MAX_ENTRIES]; /* 0x2d0 */
	u8 pad_cd0[0x1000 - 0xcd0];
} __packed;

_Static_assert(__builtin_offsetof(struct linux_boot_params, acpi_rsdp_addr) ==
		   0x070,
	       "acpi_rsdp_addr");
_Static_assert(__builtin_offsetof(struct linux_boot_params,
				  ext_ramdisk_image) == 0x0c0,
	       "ext_ramdisk_image");
_Static_assert(__builtin_offsetof(struct linux_boot_params, ext_cmd_line_ptr) ==
		   0x0c8,
	       "ext_cmd_line_ptr");
_Static_assert(__builtin_offsetof(struct linux_boot_params, e820_entries) ==
		   0x1e8,
	       "e820_entries");
_Static_assert(__builtin_offsetof(struct linux_boot_params, sentinel) == 0x1ef,
	       "sentinel");
_Static_assert(__builtin_offsetof(struct linux_boot_params, hdr) ==
		   LINUX_SETUP_HEADER_OFFSET,
	       "hdr");
_Static_assert(__builtin_offsetof(struct linux_boot_params, e820_table) ==
		   0x2d0,
	       "e820_table");
_Static_assert(sizeof(struct linux_boot_params) == 4096, "the zero page");

#endif /* VENEER_CORE_LINUX_SPEC_H */
