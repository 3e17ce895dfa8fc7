/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot1 information structure that Veneer, acting as the boot
 * loader of a multiboot guest kernel, hands to that kernel (Multiboot
 * Specification 0.6.96, section 3.3).
 *
 * mbguest_build() lays out the structure and everything it points to in
 * the buffer that will be guest RAM at area_gpa (the hypervisor builds it
 * in the guest's own RAM, never in a buffer guests share), and the guest
 * starts with EAX = MB1_BOOTLOADER_MAGIC and EBX = area_gpa (section
 * 3.2).  Every pointer inside is a guest-physical address below 4 GiB.
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

#include "core/lib/types.h"
#include "core/guestmem.h"
#include "core/multiboot_spec.h"

/*
 * The structures, flags and memory types are those of
 * core/multiboot_spec.h: struct mb1_info, mb1_module, mb1_mmap_entry;
 * MB1_BOOTLOADER_MAGIC in EAX; MB1_INFO_* flags; MB_MEMORY_* types.
 */

/* The guest memory map's fixed boundaries (see above). */
#define MBGUEST_EBDA_START     0x9FC00ull
#define MBGUEST_VGA_START      0xA0000ull
#define MBGUEST_BIOS_START     0xF0000ull
#define MBGUEST_HIGH_MEM_START 0x100000ull
#define MBGUEST_MMAP_ENTRIES   4

#define MBGUEST_LOADER_NAME "Veneer"

/*
 * Every string the guest gets (its command line, each module's string)
 * is "PATH ARGS" as QEMU's -kernel / -initrd and GRUB Legacy give them:
 * the file's path as the first word, then the arguments, so that a kernel
 * takes argv[0] from it (docs/guests.md, "The command line"). A NULL or
 * empty path leaves the arguments alone; empty arguments give the path
 * alone, without a trailing space.
 */

/* A module the guest's loader (Veneer) already put in guest RAM. */
struct mbguest_module {
	u64 start;	    /* gpa of the first byte */
	u64 end;	    /* gpa one past the last byte */
	const char *string; /* the arguments; NULL is the same as "" */
	const char *path;   /* first word of its string; NULL: none */
};

struct mbguest_params {
	u64 ram_size; /* guest RAM is [0, ram_size), > 1 MiB */
	/* The kernel's path, first word of the command line; NULL: none. */
	const char *cmdline_path;
	/* The arguments; NULL with no cmdline_path: no command line flag. */
	const char *cmdline;
	const struct mbguest_module *modules;
	u32 module_count;
	u64 area_gpa;  /* where buf is in guest RAM; 8-aligned */
	u64 area_size; /* bytes there: the size of buf */
};

struct mbguest_result {
	u64 size;     /* bytes of the buffer used, from its start */
	u64 info_gpa; /* EBX for the guest: area_gpa */
	char error[LOADER_ERROR_MAX];
};

/*
 * Builds the structure into buf (p->area_size bytes, guest-physical
 * area_gpa).  Returns 0, or -1 with out->error naming what does not fit
 * or is out of range, and buf untouched.
 */
int mbguest_build(const struct mbguest_params *p, void *buf,
		  struct mbguest_result *out);

#endif /* VENEER_CORE_MBGUEST_H */
