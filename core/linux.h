/* SPDX-License-Identifier: MIT */
/*
 * The Linux guest loader: the x86 boot protocol as a boot loader speaks it
 * (Linux boot protocol, Documentation/arch/x86/boot.rst; the structures are
 * in core/linux_spec.h).  It puts a bzImage, an optional initrd and a
 * command line into guest RAM, writes boot_params with an e820 map of the
 * guest's RAM, and says which CPU state starts the kernel.
 *
 * Pure code: it writes into the guest RAM view it is given (struct
 * guest_mem, core/guestmem.h) and nowhere else, and everything is checked
 * before the first byte is written, so a refused image leaves guest RAM
 * untouched.  Each refusal is a sentence naming the problem and the
 * numbers involved.
 *
 * Protocol 2.12 is the minimum: it is the first with xloadflags, whose
 * XLF_KERNEL_64 bit says the 64-bit entry exists, and it has pref_address
 * and init_size (2.10), which placement needs.  Only 64-bit kernels are
 * accepted (Veneer runs x86-64 guests); they can be entered either way.
 *
 * The guest-physical layout (RAM is [0, ram_size)):
 *
 *   0x00000-0x00fff  untouched: real-mode IVT and BIOS data area
 *   0x01000-0x01fff  boot GDT (null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x02000-0x07fff  64-bit entry only: identity map of [0, 4 GiB) with
 *                    2 MiB pages: PML4 0x2000, PDPT 0x3000, 4 PDs 0x4000
 *   0x08000-0x08fff  boot_params (the zero page)
 *   0x09000-0x0ffff  command line, NUL-terminated
 *   0x10000-0x9fbff  free RAM (Linux puts its real-mode trampoline here)
 *   0x9fc00-0x9ffff  reserved: EBDA, as a PC BIOS leaves it
 *   0xa0000-0xdffff  not in the map: VGA window and option ROMs
 *   0xe0000-0xfffff  reserved: BIOS area, where the guest's ACPI tables go
 *   1 MiB ...        the protected-mode kernel at pref_address (16 MiB for
 *                    distro kernels) if relocatable, else at 1 MiB; then
 *                    free RAM; the initrd as high as the kernel allows
 *                    (initrd_addr_max), page aligned.
 */
#ifndef VENEER_CORE_LINUX_H
#define VENEER_CORE_LINUX_H

#include "core/lib/types.h"
#include "core/guestmem.h"
#include "core/linux_spec.h"

#define LINUX_PROTOCOL_MIN LINUX_PROTOCOL(2, 12)

/* The fixed low-memory layout above. */
#define LINUX_GDT_GPA	      0x1000ull
#define LINUX_PML4_GPA	      0x2000ull
#define LINUX_PDPT_GPA	      0x3000ull
#define LINUX_PD_GPA	      0x4000ull /* LINUX_PD_COUNT tables */
#define LINUX_PD_COUNT	      4		/* one per GiB identity-mapped */
#define LINUX_BOOT_PARAMS_GPA 0x8000ull
#define LINUX_CMDLINE_GPA     0x9000ull
#define LINUX_CMDLINE_END     0x10000ull
#define LINUX_BOOT_AREA_START LINUX_GDT_GPA
#define LINUX_BOOT_AREA_END   LINUX_CMDLINE_END
#define LINUX_GDT_ENTRIES     4

#define LINUX_EBDA_START       0x9FC00ull
#define LINUX_VGA_START	       0xA0000ull
#define LINUX_BIOS_START       0xE0000ull
#define LINUX_HIGH_MEM_START   0x100000ull
#define LINUX_IDENTITY_MAP_END GiB(4)

/* Extra e820 ranges a caller may add (ACPI tables, device windows...). */
#define LINUX_EXTRA_E820_MAX 16
/* The map: 4 fixed entries, and each extra range splits at most one. */
#define LINUX_E820_BUILD_MAX (4 + 2 * LINUX_EXTRA_E820_MAX)

#define LINUX_VERSION_MAX 80

/* What linux_check() learned from the setup header. */
struct linux_kernel {
	u16 protocol;	 /* major << 8 | minor */
	u32 header_end;	 /* image offset one past the setup header */
	u32 setup_sects; /* 512-byte sectors of setup code (0 read as 4) */
	u64 pm_offset;	 /* file offset of the protected-mode kernel */
	u64 pm_size;	 /* its bytes: syssize * 16 */
	u8 loadflags;
	u16 xloadflags;
	bool relocatable;
	u32 kernel_alignment;
	u64 pref_address;
	u32 init_size;	     /* bytes needed from where the kernel runs */
	u32 cmdline_size;    /* longest command line, without the NUL */
	u32 initrd_addr_max; /* highest address the initrd may occupy */
	char version[LINUX_VERSION_MAX]; /* kernel_version string or "" */
	char error[LOADER_ERROR_MAX];	 /* why linux_check refused */
};

/*
 * Checks image[0, size) as a bzImage Veneer can boot and fills k.
 * Returns 0, or -1 with k->error set.
 */
int linux_check(const void *image, u64 size, struct linux_kernel *k);

/* How the kernel is entered (Linux boot protocol, "32-bit Boot Protocol"
 * and "64-bit Boot Protocol"). */
enum linux_entry_mode {
	/* Flat 32-bit protected mode, paging off; EIP = load address. */
	LINUX_ENTRY_32,
	/* Long mode on Veneer's identity map; RIP = load address + 0x200. */
	LINUX_ENTRY_64,
};

/*
 * The CPU state that enters the kernel.  Both protocols need: CS =
 * __BOOT_CS and DS = ES = SS = __BOOT_DS, all flat (base 0, limit 4 GiB;
 * cs_descriptor/ds_descriptor are the GDT entries, for the hidden parts),
 * interrupts off, RSI = boot_params, and for the 32-bit one EBP = EDI =
 * EBX = 0.  Registers not listed here are zero.
 */
struct linux_cpu_entry {
	enum linux_entry_mode mode;
	u64 rip;
	u64 rsi;
	u64 rflags;
	u64 cr0, cr3, cr4, efer;
	u64 gdtr_base;
	u16 gdtr_limit;
	u16 cs, ds; /* ds is also ES, SS, FS and GS */
	u64 cs_descriptor, ds_descriptor;
};

/*
 * Writes the boot GDT at LINUX_GDT_GPA and, for LINUX_ENTRY_64, the
 * identity map at LINUX_PML4_GPA, then fills every field of cpu except rip
 * and rsi (left 0).  Returns 0, or -1 when guest RAM does not reach
 * LINUX_BOOT_AREA_END (linux_load() checks that before writing anything).
 */
int linux_write_entry_tables(const struct guest_mem *guest,
			     enum linux_entry_mode mode,
			     struct linux_cpu_entry *cpu);

struct linux_load_params {
	const void *kernel; /* the bzImage file */
	u64 kernel_size;
	const void *initrd; /* NULL or initrd_size 0: no initrd */
	u64 initrd_size;
	const char *cmdline; /* NULL is the same as "" */
	u64 acpi_rsdp;	     /* gpa of the RSDP, 0: the kernel scans for it */
	/* Non-RAM ranges to add to the e820 map; they override the fixed map
	 * where they overlap it, must not overlap each other, the boot area
	 * or the kernel, and the initrd is placed around them. */
	const struct linux_e820_entry *extra_e820;
	u32 extra_e820_count;
	enum linux_entry_mode entry_mode;
};

struct linux_boot {
	struct linux_kernel kernel;
	u64 kernel_load;    /* gpa where the protected-mode kernel is */
	u64 kernel_runtime; /* gpa it runs at: [runtime, +init_size) */
	u64 kernel_end;	    /* end of all the memory the kernel needs */
	u64 initrd_gpa;	    /* 0 when there is no initrd */
	u64 initrd_size;
	u64 cmdline_gpa;
	u32 cmdline_length;  /* bytes, without the NUL */
	u64 boot_params_gpa; /* LINUX_BOOT_PARAMS_GPA */
	u32 e820_count;
	struct linux_cpu_entry cpu;
	char error[LOADER_ERROR_MAX];
};

/*
 * linux_check(), placement, then writes the kernel, initrd, command line,
 * boot_params and entry tables into guest RAM and fills out.  Returns 0,
 * or -1 with out->error set and guest RAM untouched.  *out is the
 * caller's: a hypervisor keeps it per guest (on the loading CPU's stack),
 * since guests load at the same time on their own CPUs.
 */
int linux_load(const struct guest_mem *guest,
	       const struct linux_load_params *params, struct linux_boot *out);

#endif /* VENEER_CORE_LINUX_H */
