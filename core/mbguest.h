/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot1 information structure that Veneer, acting as the boot
 * loader of a multiboot guest kernel, hands to that kernel (Multiboot
 * Specification 0.6.96, section 3.3).
 *
 * mbguest_build() lays out the structure and everything it points to in a
 * caller's buffer; the caller copies the buffer into guest RAM at area_gpa
 * and starts the guest with EAX = MBGUEST_BOOTLOADER_MAGIC and EBX =
 * area_gpa (section 3.2).  Every pointer inside is a guest-physical
 * address below 4 GiB.
 *
 * The guest's memory map (guest RAM is guest-physical [0, ram_size)):
 *   [0, 0x9FC00)          available  conventional memory (639 KiB)
 *   [0x9FC00, 0xA0000)    reserved   EBDA, as a PC BIOS leaves it
 *   [0xA0000, 0xF0000)    not listed VGA window and option ROMs: no RAM
 *   [0xF0000, 0x100000)   reserved   BIOS area, where the guest finds
 *                                    its ACPI RSDP (ACPI 6.4 5.2.5.1)
 *   [0x100000, ram_size)  available  where kernel and modules are loaded
 */
#ifndef VENEER_CORE_MBGUEST_H
#define VENEER_CORE_MBGUEST_H

#include "core/types.h"

/* In EAX when the kernel starts (section 3.2). */
#define MBGUEST_BOOTLOADER_MAGIC 0x2BADB002u

/* flags: which fields of struct mbguest_info are valid (section 3.3). */
#define MBGUEST_INFO_MEM	 BIT(0) /* mem_lower, mem_upper */
#define MBGUEST_INFO_CMDLINE	 BIT(2)
#define MBGUEST_INFO_MODS	 BIT(3)
#define MBGUEST_INFO_MMAP	 BIT(6)
#define MBGUEST_INFO_LOADER_NAME BIT(9)

/* mmap entry types (section 3.3). */
#define MBGUEST_MMAP_AVAILABLE 1
#define MBGUEST_MMAP_RESERVED  2

/* The guest memory map's fixed boundaries (see above). */
#define MBGUEST_EBDA_START     0x9FC00ull
#define MBGUEST_VGA_START      0xA0000ull
#define MBGUEST_BIOS_START     0xF0000ull
#define MBGUEST_HIGH_MEM_START 0x100000ull
#define MBGUEST_MMAP_ENTRIES   4

#define MBGUEST_LOADER_NAME "Veneer"
#define MBGUEST_ERROR_MAX   160

/* The information structure, up to the framebuffer fields (116 bytes). */
struct mbguest_info {
	u32 flags;
	u32 mem_lower; /* KiB of RAM from 0 */
	u32 mem_upper; /* KiB of RAM from 1 MiB up to the first hole */
	u32 boot_device;
	u32 cmdline;
	u32 mods_count;
	u32 mods_addr;
	u32 syms[4];
	u32 mmap_length; /* bytes */
	u32 mmap_addr;	 /* gpa of the first entry's size field */
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
	u64 framebuffer_addr;
	u32 framebuffer_pitch;
	u32 framebuffer_width;
	u32 framebuffer_height;
	u8 framebuffer_bpp;
	u8 framebuffer_type;
	u8 color_info[6];
} __packed;

struct mbguest_module_entry {
	u32 mod_start; /* gpa of the first byte */
	u32 mod_end;   /* gpa one past the last byte */
	u32 string;    /* gpa of a NUL-terminated string */
	u32 reserved;
} __packed;

/* `size` counts the bytes after itself: entries may grow (section 3.3). */
struct mbguest_mmap_entry {
	u32 size;
	u64 base_addr;
	u64 length;
	u32 type;
} __packed;

_Static_assert(sizeof(struct mbguest_info) == 116, "MB1 info is 116 bytes");
_Static_assert(sizeof(struct mbguest_module_entry) == 16, "MB1 module");
_Static_assert(sizeof(struct mbguest_mmap_entry) == 24, "MB1 mmap entry");

/* A module the guest's loader (Veneer) already put in guest RAM. */
struct mbguest_module {
	u64 start;	    /* gpa of the first byte */
	u64 end;	    /* gpa one past the last byte */
	const char *string; /* NULL is the same as "" */
};

struct mbguest_params {
	u64 ram_size;	     /* guest RAM is [0, ram_size), > 1 MiB */
	const char *cmdline; /* NULL: no command line flag */
	const struct mbguest_module *modules;
	u32 module_count;
	u64 area_gpa;  /* where the structure will be copied; 8-aligned */
	u64 area_size; /* bytes there, and the size of the output buffer */
};

struct mbguest_result {
	u64 size;     /* bytes of the buffer used, from its start */
	u64 info_gpa; /* EBX for the guest: area_gpa */
	char error[MBGUEST_ERROR_MAX];
};

/*
 * Builds the structure into buf (p->area_size bytes).  Returns 0, or -1
 * with out->error naming what does not fit or is out of range.
 */
int mbguest_build(const struct mbguest_params *p, void *buf,
		  struct mbguest_result *out);

#endif /* VENEER_CORE_MBGUEST_H */
