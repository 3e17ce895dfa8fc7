/* SPDX-License-Identifier: MIT */
/*
 * The Linux guest loader (contract and memory layout in core/linux.h).
 *
 * The bzImage is untrusted input: it is read with memcpy (no alignment is
 * assumed), and every size from it is checked against the file before use.
 * "Linux boot protocol, X" cites section X of the kernel's
 * Documentation/arch/x86/boot.rst.
 */
#include "core/guestmem.h"
#include "core/linux.h"
#include "core/lib/string.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

/* Paging-structure entry bits (SDM Vol. 3A 4.5, tables 4-15 to 4-18). */
#define PTE_PRESENT  BIT(0)
#define PTE_WRITABLE BIT(1)
#define PTE_LARGE    BIT(7) /* a PD entry that maps a 2 MiB page */

/*
 * Flat descriptors (SDM Vol. 3A 3.4.5): base 0, limit 0xFFFFF with G=1
 * (4 GiB), present, DPL 0, S=1.  Types are "accessed" already so the CPU
 * never writes the GDT and VM entry's guest-state checks (which want CS
 * accessed) pass.  Code: type 0xB execute/read; D=1 for 32-bit, L=1 D=0
 * for 64-bit.  Data: type 0x3 read/write, B=1.
 */
#define GDT_CODE32 0x00CF9B000000FFFFull
#define GDT_CODE64 0x00AF9B000000FFFFull
#define GDT_DATA   0x00CF93000000FFFFull

/* Linux boot protocol, "Details of Header Fields": initrd_addr_max of
 * kernels that predate the field. */
#define INITRD_ADDR_MAX_DEFAULT 0x37FFFFFFu

static u32 read_u32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static u16 read_u16(const u8 *p)
{
	u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool is_power_of_two(u64 x)
{
	return x && !(x & (x - 1));
}

/* Whole MiB, rounded up: for messages about sizes. */
static u64 mib_up(u64 bytes)
{
	return (bytes + MiB(1) - 1) >> 20;
}

/*
 * The kernel_version field points at a NUL-terminated string inside the
 * setup code, 0x200 bytes before where it is (Linux boot protocol, "Details
 * of Header Fields").  Informative only: a bad pointer gives "".
 */
static void read_version_string(const u8 *image, const struct linux_kernel *k,
				u16 field, char *out)
{
	u64 at = (u64)field + LINUX_JUMP_OFFSET;
	u32 n = 0;

	out[0] = '\0';
	if (!field || at >= k->pm_offset)
		return;
	while (n < LINUX_VERSION_MAX - 1 && at + n < k->pm_offset) {
		u8 c = image[at + n];

		if (c < 0x20 || c > 0x7e)
			break;
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

/* The fixed part: signature, version and where the header ends. */
static int check_signature(const u8 *image, u64 size, struct linux_kernel *k)
{
	u16 boot_flag;

	if (size < LINUX_HDR_FIELD(version) + 2)
		return loader_refuse(
		    k->error,
		    "not a bzImage: the file is %lu bytes, too short "
		    "for a setup header (at 0x1f1)",
		    size);
	if (read_u32(image + LINUX_HDR_FIELD(header)) != LINUX_HEADER_MAGIC)
		return loader_refuse(
		    k->error, "not a bzImage (no HdrS signature at 0x202)");
	boot_flag = read_u16(image + LINUX_HDR_FIELD(boot_flag));
	if (boot_flag != LINUX_BOOT_FLAG)
		return loader_refuse(
		    k->error,
		    "not a bzImage (boot_flag at 0x1fe is 0x%04x, "
		    "not 0xAA55)",
		    boot_flag);
	k->protocol = read_u16(image + LINUX_HDR_FIELD(version));
	if (k->protocol < LINUX_PROTOCOL_MIN)
		return loader_refuse(
		    k->error, "boot protocol %u.%02u is too old (need %u.%02u)",
		    k->protocol >> 8, k->protocol & 0xff,
		    LINUX_PROTOCOL_MIN >> 8, LINUX_PROTOCOL_MIN & 0xff);

	/* Linux boot protocol, "32-bit Boot Protocol": the header ends at
	 * 0x202 plus the byte at 0x201 (the jump over it). */
	k->header_end = 0x202 + image[LINUX_JUMP_OFFSET + 1];
	if (k->header_end < LINUX_HEADER_END_MIN)
		return loader_refuse(
		    k->error,
		    "the setup header ends at 0x%x, before the end "
		    "of the protocol 2.12 fields (0x%x)",
		    k->header_end, LINUX_HEADER_END_MIN);
	if (k->header_end > LINUX_HEADER_END_MAX)
		return loader_refuse(
		    k->error,
		    "the setup header ends at 0x%x, past the room "
		    "boot_params has for it (0x%x)",
		    k->header_end, LINUX_HEADER_END_MAX);
	if (k->header_end > size)
		return loader_refuse(
		    k->error,
		    "truncated: the setup header needs %u bytes, "
		    "the file has %lu",
		    k->header_end, size);
	return 0;
}

/* The header fields, copied out; bytes past the header's end read 0. */
static void read_header(const u8 *image, const struct linux_kernel *k,
			struct linux_setup_header *hdr)
{
	u32 len =
	    MIN(k->header_end - LINUX_SETUP_HEADER_OFFSET, (u32)sizeof(*hdr));

	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, image + LINUX_SETUP_HEADER_OFFSET, len);
}

int linux_check(const void *image, u64 size, struct linux_kernel *k)
{
	const u8 *bytes = image;
	struct linux_setup_header hdr;
	u64 pm_end;

	memset(k, 0, sizeof(*k));
	if (!image)
		size = 0;
	if (check_signature(bytes, size, k))
		return -1;
	read_header(bytes, k, &hdr);

	k->loadflags = hdr.loadflags;
	k->xloadflags = hdr.xloadflags;
	k->relocatable = hdr.relocatable_kernel != 0;
	k->kernel_alignment = hdr.kernel_alignment;
	k->pref_address = hdr.pref_address;
	k->init_size = hdr.init_size;
	k->cmdline_size = hdr.cmdline_size;
	k->initrd_addr_max =
	    hdr.initrd_addr_max ? hdr.initrd_addr_max : INITRD_ADDR_MAX_DEFAULT;
	k->setup_sects =
	    hdr.setup_sects ? hdr.setup_sects : LINUX_SETUP_SECTS_DEFAULT;
	/* The boot sector plus the setup sectors come first (Linux boot
	 * protocol, "Loading The Rest of The Kernel"). */
	k->pm_offset = (u64)(k->setup_sects + 1) * LINUX_SECTOR_SIZE;
	k->pm_size = (u64)hdr.syssize * 16;

	if (!(k->loadflags & LINUX_LOADED_HIGH))
		return loader_refuse(
		    k->error,
		    "a zImage (loadflags 0x%02x lacks LOADED_HIGH): "
		    "only bzImages, loaded at 1 MiB, are supported",
		    k->loadflags);
	if (!(k->xloadflags & LINUX_XLF_KERNEL_64))
		return loader_refuse(
		    k->error,
		    "not a 64-bit kernel (xloadflags 0x%x lacks "
		    "XLF_KERNEL_64)",
		    k->xloadflags);
	if (k->pm_offset > size)
		return loader_refuse(k->error,
				     "truncated: the %u setup sectors need %lu "
				     "bytes, the file has %lu",
				     k->setup_sects, k->pm_offset, size);
	if (k->pm_size == 0)
		return loader_refuse(
		    k->error, "syssize is 0: the file holds no protected-mode "
			      "kernel");
	pm_end = k->pm_offset + k->pm_size;
	if (pm_end > size)
		return loader_refuse(
		    k->error,
		    "truncated: the protected-mode kernel needs %lu "
		    "bytes, the file has %lu",
		    pm_end, size);
	if (k->relocatable && !is_power_of_two(k->kernel_alignment))
		return loader_refuse(
		    k->error, "kernel_alignment 0x%x is not a power of two",
		    k->kernel_alignment);
	if (k->init_size == 0)
		return loader_refuse(
		    k->error, "init_size is 0: the kernel does not say how "
			      "much memory it needs to start");
	read_version_string(bytes, k, hdr.kernel_version, k->version);
	return 0;
}

/* ---- placement ---- */

static const char *e820_type_name(u32 type)
{
	switch (type) {
	case LINUX_E820_RAM:
		return "RAM";
	case LINUX_E820_RESERVED:
		return "reserved";
	case LINUX_E820_ACPI:
		return "ACPI";
	case LINUX_E820_NVS:
		return "ACPI NVS";
	case LINUX_E820_UNUSABLE:
		return "unusable";
	}
	return "unknown";
}

static int check_extra_ranges(const struct linux_load_params *p, char *error)
{
	if (p->extra_e820_count && !p->extra_e820)
		return loader_refuse(error, "%u extra e820 ranges but no array",
				     p->extra_e820_count);
	if (p->extra_e820_count > LINUX_EXTRA_E820_MAX)
		return loader_refuse(
		    error,
		    "%u extra e820 ranges, more than the %u the "
		    "loader accepts",
		    p->extra_e820_count, LINUX_EXTRA_E820_MAX);
	for (u32 i = 0; i < p->extra_e820_count; i++) {
		const struct linux_e820_entry *r = &p->extra_e820[i];
		u64 end = r->addr + r->size;

		if (r->type < LINUX_E820_RESERVED ||
		    r->type > LINUX_E820_UNUSABLE)
			return loader_refuse(
			    error,
			    "extra e820 range %u: type %u is not "
			    "2 (reserved), 3 (ACPI), 4 (ACPI NVS) "
			    "or 5 (unusable)",
			    i, r->type);
		if (r->size == 0 || end < r->addr)
			return loader_refuse(
			    error,
			    "extra e820 range %u at 0x%lx: size "
			    "0x%lx is empty or overflows",
			    i, r->addr, r->size);
		if (ranges_overlap(r->addr, end, LINUX_BOOT_AREA_START,
				   LINUX_BOOT_AREA_END))
			return loader_refuse(
			    error,
			    "extra e820 range %u [0x%lx,0x%lx) "
			    "overlaps the boot area [0x%llx,0x%llx)",
			    i, r->addr, end, LINUX_BOOT_AREA_START,
			    LINUX_BOOT_AREA_END);
		for (u32 j = 0; j < i; j++) {
			const struct linux_e820_entry *o = &p->extra_e820[j];

			if (ranges_overlap(r->addr, end, o->addr,
					   o->addr + o->size))
				return loader_refuse(
				    error,
				    "extra e820 ranges %u and %u "
				    "overlap",
				    j, i);
		}
	}
	return 0;
}

/* The first extra range that overlaps [start, end), or NULL. */
static const struct linux_e820_entry *
extra_overlapping(const struct linux_load_params *p, u64 start, u64 end)
{
	for (u32 i = 0; i < p->extra_e820_count; i++) {
		const struct linux_e820_entry *r = &p->extra_e820[i];

		if (ranges_overlap(start, end, r->addr, r->addr + r->size))
			return r;
	}
	return NULL;
}

/*
 * Linux boot protocol, "Details of Header Fields" (init_size): a
 * relocatable kernel runs at its load address rounded up to
 * kernel_alignment, but never below pref_address; a non-relocatable one
 * runs at pref_address whatever its load address.  So a relocatable kernel
 * is loaded at that address (loading lower saves nothing), and a fixed one
 * at 1 MiB, where a bzImage without relocation expects to be.
 */
static int place_kernel(u64 ram_size, const struct linux_load_params *p,
			struct linux_boot *out)
{
	const struct linux_kernel *k = &out->kernel;
	const struct linux_e820_entry *r;
	u64 load_end, runtime_end, start, limit;

	if (k->relocatable) {
		out->kernel_load =
		    ALIGN_UP(MAX(k->pref_address, LINUX_HIGH_MEM_START),
			     k->kernel_alignment);
		out->kernel_runtime = out->kernel_load;
	} else {
		out->kernel_load = LINUX_HIGH_MEM_START;
		out->kernel_runtime =
		    k->pref_address ? k->pref_address : LINUX_HIGH_MEM_START;
		if (out->kernel_runtime < LINUX_HIGH_MEM_START)
			return loader_refuse(
			    out->error,
			    "the kernel is not relocatable and "
			    "runs at 0x%lx, below 1 MiB",
			    out->kernel_runtime);
	}
	load_end = out->kernel_load + k->pm_size;
	runtime_end = out->kernel_runtime + k->init_size;
	/* A huge pref_address wraps the sums (ALIGN_UP to 0 included). */
	if (out->kernel_load < LINUX_HIGH_MEM_START ||
	    load_end < out->kernel_load || runtime_end < out->kernel_runtime)
		return loader_refuse(
		    out->error,
		    "pref_address 0x%lx puts the kernel outside "
		    "the address space",
		    k->pref_address);
	out->kernel_end = MAX(load_end, runtime_end);
	start = MIN(out->kernel_load, out->kernel_runtime);
	limit = MIN(ram_size, LINUX_IDENTITY_MAP_END);
	if (out->kernel_end > limit)
		return loader_refuse(
		    out->error,
		    "the kernel needs guest RAM up to 0x%lx (%lu "
		    "MiB: it runs at 0x%lx with init_size 0x%x) "
		    "but the guest has %lu MiB%s",
		    out->kernel_end, mib_up(out->kernel_end),
		    out->kernel_runtime, k->init_size, ram_size >> 20,
		    limit < ram_size ? " (and Veneer loads it "
				       "below 4 GiB)"
				     : "");
	r = extra_overlapping(p, start, out->kernel_end);
	if (r)
		return loader_refuse(
		    out->error,
		    "the kernel's memory [0x%lx,0x%lx) overlaps the "
		    "extra e820 %s range [0x%lx,0x%lx)",
		    start, out->kernel_end, e820_type_name(r->type), r->addr,
		    r->addr + r->size);
	return 0;
}

/*
 * The initrd goes as high as possible: below RAM's end and the kernel's
 * initrd_addr_max (the highest byte it may occupy, Linux boot protocol,
 * "Details of Header Fields"), page aligned, above the kernel, and around
 * the caller's extra ranges.  High, so that the kernel's own allocations
 * from low memory do not have to step over it.
 */
static int place_initrd(u64 ram_size, const struct linux_load_params *p,
			struct linux_boot *out)
{
	const struct linux_kernel *k = &out->kernel;
	u64 size = p->initrd_size;
	u64 floor = ALIGN_UP(out->kernel_end, PAGE_SIZE);
	u64 kernel_limit = (u64)k->initrd_addr_max + 1;
	u64 end = MIN(ram_size, kernel_limit);

	for (;;) {
		const struct linux_e820_entry *r;
		u64 start;

		if (end < floor || end - floor < size)
			break;
		start = ALIGN_DOWN(end - size, PAGE_SIZE);
		if (start < floor)
			break;
		r = extra_overlapping(p, start, start + size);
		if (!r) {
			out->initrd_gpa = start;
			out->initrd_size = size;
			return 0;
		}
		end = r->addr; /* below that range, and try again */
	}
	if (kernel_limit < ram_size)
		return loader_refuse(
		    out->error,
		    "initrd of %lu MiB does not fit between the "
		    "kernel's end (0x%lx) and its initrd_addr_max "
		    "0x%x",
		    mib_up(size), out->kernel_end, k->initrd_addr_max);
	return loader_refuse(
	    out->error,
	    "initrd of %lu MiB does not fit in the guest's RAM "
	    "(%lu MiB) above the kernel",
	    mib_up(size), ram_size >> 20);
}

static int check_cmdline(const struct linux_load_params *p,
			 struct linux_boot *out)
{
	const char *cmdline = p->cmdline ? p->cmdline : "";
	u64 area = LINUX_CMDLINE_END - LINUX_CMDLINE_GPA - 1; /* the NUL */
	u64 kernel_max = out->kernel.cmdline_size;
	u64 len = strnlen(cmdline, area + 1);

	if (len > kernel_max)
		return loader_refuse(
		    out->error,
		    "command line is %lu bytes, the kernel accepts "
		    "at most %lu",
		    len, kernel_max);
	if (len > area)
		return loader_refuse(
		    out->error,
		    "command line is over %lu bytes, more than "
		    "Veneer's command-line area holds",
		    area);
	out->cmdline_gpa = LINUX_CMDLINE_GPA;
	out->cmdline_length = (u32)len;
	return 0;
}

/* ---- the e820 map ---- */

struct e820_map {
	struct linux_e820_entry entry[LINUX_E820_BUILD_MAX];
	u32 count;
};

static void e820_add(struct e820_map *map, u64 addr, u64 size, u32 type)
{
	if (size)
		map->entry[map->count++] =
		    (struct linux_e820_entry){addr, size, type};
}

/* Cuts [start, end) out of every entry, leaving up to two pieces each. */
static void e820_cut(struct e820_map *map, u64 start, u64 end)
{
	struct e820_map old = *map;

	map->count = 0;
	for (u32 i = 0; i < old.count; i++) {
		struct linux_e820_entry e = old.entry[i];
		u64 e_end = e.addr + e.size;

		if (!ranges_overlap(e.addr, e_end, start, end)) {
			map->entry[map->count++] = e;
			continue;
		}
		if (e.addr < start)
			e820_add(map, e.addr, start - e.addr, e.type);
		if (e_end > end)
			e820_add(map, end, e_end - end, e.type);
	}
}

/*
 * The fixed map (core/linux.h) of [0, ram_size), with the caller's ranges
 * laid over it, sorted by address.  ram_size >= 1 MiB.  Entries never
 * overlap, so a range can lie strictly inside at most one of them: a cut
 * adds at most one piece, and the range itself one entry.  Hence at most
 * 4 + 2 * LINUX_EXTRA_E820_MAX = LINUX_E820_BUILD_MAX entries.
 */
static void e820_build(u64 ram_size, const struct linux_load_params *p,
		       struct e820_map *map)
{
	map->count = 0;
	e820_add(map, 0, LINUX_EBDA_START, LINUX_E820_RAM);
	e820_add(map, LINUX_EBDA_START, LINUX_VGA_START - LINUX_EBDA_START,
		 LINUX_E820_RESERVED);
	e820_add(map, LINUX_BIOS_START, LINUX_HIGH_MEM_START - LINUX_BIOS_START,
		 LINUX_E820_RESERVED);
	e820_add(map, LINUX_HIGH_MEM_START, ram_size - LINUX_HIGH_MEM_START,
		 LINUX_E820_RAM);
	for (u32 i = 0; i < p->extra_e820_count; i++) {
		const struct linux_e820_entry *r = &p->extra_e820[i];

		e820_cut(map, r->addr, r->addr + r->size);
		e820_add(map, r->addr, r->size, r->type);
	}
	/* Insertion sort: a few dozen entries at most. */
	for (u32 i = 1; i < map->count; i++) {
		struct linux_e820_entry e = map->entry[i];
		u32 j = i;

		while (j > 0 && map->entry[j - 1].addr > e.addr) {
			map->entry[j] = map->entry[j - 1];
			j--;
		}
		map->entry[j] = e;
	}
}

/* ---- writing guest memory ---- */

/*
 * One 4 KiB table, built in place in guest RAM: entry i is first + i *
 * step for i < used, the rest are zero (not present).
 */
static int write_table(const struct guest_mem *guest, u64 gpa, u64 first,
		       u64 step, u32 used)
{
	u8 *table = guest_mem_ptr(guest, gpa, PAGE_SIZE);

	if (!table)
		return -1;
	for (u32 i = 0; i < PAGE_SIZE / sizeof(u64); i++) {
		u64 entry = i < used ? first + i * step : 0;

		memcpy(table + i * sizeof(entry), &entry, sizeof(entry));
	}
	return 0;
}

/*
 * [0, 4 GiB) identity-mapped with 2 MiB pages, writable, write-back (PAT
 * entry 0): one PML4 entry, four PDPT entries, four full PDs.  That covers
 * every address the boot protocol's 32-bit fields can name, hence the
 * kernel, boot_params, command line and initrd, which the 64-bit protocol
 * requires to be identity-mapped.
 */
static int write_identity_map(const struct guest_mem *guest)
{
	const u64 table = PTE_PRESENT | PTE_WRITABLE;
	int rc;

	rc = write_table(guest, LINUX_PML4_GPA, LINUX_PDPT_GPA | table, 0, 1);
	if (rc)
		return rc;
	rc = write_table(guest, LINUX_PDPT_GPA, LINUX_PD_GPA | table, PAGE_SIZE,
			 LINUX_PD_COUNT);
	for (u32 i = 0; !rc && i < LINUX_PD_COUNT; i++)
		rc = write_table(guest, LINUX_PD_GPA + i * PAGE_SIZE,
				 GiB(i) | table | PTE_LARGE, MiB(2), 512);
	return rc;
}

int linux_write_entry_tables(const struct guest_mem *guest,
			     enum linux_entry_mode mode,
			     struct linux_cpu_entry *cpu)
{
	bool long_mode = mode == LINUX_ENTRY_64;
	u64 gdt[LINUX_GDT_ENTRIES] = {0};
	int rc;

	memset(cpu, 0, sizeof(*cpu));
	gdt[LINUX_BOOT_CS / 8] = long_mode ? GDT_CODE64 : GDT_CODE32;
	gdt[LINUX_BOOT_DS / 8] = GDT_DATA;
	rc = guest_mem_zero(guest, LINUX_GDT_GPA, PAGE_SIZE);
	if (!rc)
		rc = guest_mem_write(guest, LINUX_GDT_GPA, gdt, sizeof(gdt));
	if (!rc && long_mode)
		rc = write_identity_map(guest);
	if (rc)
		return rc;

	cpu->mode = mode;
	cpu->rflags = RFLAGS_FIXED;
	cpu->gdtr_base = LINUX_GDT_GPA;
	cpu->gdtr_limit = sizeof(gdt) - 1;
	cpu->cs = LINUX_BOOT_CS;
	cpu->ds = LINUX_BOOT_DS;
	cpu->cs_descriptor = gdt[LINUX_BOOT_CS / 8];
	cpu->ds_descriptor = gdt[LINUX_BOOT_DS / 8];
	cpu->cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (long_mode) {
		cpu->cr0 |= CR0_PG;
		cpu->cr3 = LINUX_PML4_GPA;
		cpu->cr4 = CR4_PAE;
		cpu->efer = EFER_LME | EFER_LMA;
	}
	return 0;
}

/*
 * boot_params, built in place in guest RAM: zeroed, the image's setup
 * header copied to 0x1f1 and the loader's fields filled in (Linux boot
 * protocol, "64-bit Boot Protocol": zero the structure, copy the header,
 * then set up what a boot loader sets), then the e820 map.  Zeroing leaves
 * the sentinel (0x1ef) clear, as a loader that copied only the header
 * must.  ext_ramdisk_* and ext_cmd_line_ptr stay 0: the initrd ends below
 * initrd_addr_max + 1 <= 4 GiB and the command line is low.
 */
static int write_boot_params(const struct guest_mem *guest,
			     const struct linux_load_params *p,
			     const struct linux_boot *out,
			     const struct e820_map *map)
{
	struct linux_boot_params *bp =
	    guest_mem_ptr(guest, LINUX_BOOT_PARAMS_GPA, sizeof(*bp));
	u32 hdr_len = out->kernel.header_end - LINUX_SETUP_HEADER_OFFSET;

	if (!bp)
		return -1;
	memset(bp, 0, sizeof(*bp));
	/* Up to header_end <= LINUX_HEADER_END_MAX, which boot_params keeps
	 * for the header (linux_check()). */
	memcpy((u8 *)bp + LINUX_SETUP_HEADER_OFFSET,
	       (const u8 *)p->kernel + LINUX_SETUP_HEADER_OFFSET, hdr_len);
	bp->hdr.type_of_loader = LINUX_LOADER_TYPE_UNDEFINED;
	/* No real-mode setup code runs with the 32/64-bit entries, so no
	 * heap: CAN_USE_HEAP stays clear.  QUIET and KEEP_SEGMENTS are the
	 * kernel's defaults as the image has them. */
	bp->hdr.loadflags = out->kernel.loadflags & (u8)~LINUX_CAN_USE_HEAP;
	bp->hdr.cmd_line_ptr = (u32)out->cmdline_gpa;
	bp->hdr.ramdisk_image = (u32)out->initrd_gpa;
	bp->hdr.ramdisk_size = (u32)out->initrd_size;
	/* The 32-bit entry point, for the record (and for loaders that read
	 * it back): where the protected-mode kernel was put. */
	bp->hdr.code32_start = (u32)out->kernel_load;
	/* Protocol 2.14 reads acpi_rsdp_addr; older kernels ignore it. */
	bp->acpi_rsdp_addr = p->acpi_rsdp;
	bp->e820_entries = (u8)map->count;
	memcpy(bp->e820_table, map->entry, map->count * sizeof(map->entry[0]));
	return 0;
}

static int write_cmdline(const struct guest_mem *guest,
			 const struct linux_load_params *p,
			 const struct linux_boot *out)
{
	const char *cmdline = p->cmdline ? p->cmdline : "";
	int rc;

	rc = guest_mem_zero(guest, LINUX_CMDLINE_GPA,
			    LINUX_CMDLINE_END - LINUX_CMDLINE_GPA);
	if (!rc)
		rc = guest_mem_write(guest, out->cmdline_gpa, cmdline,
				     out->cmdline_length);
	return rc;
}

/* Everything that can be refused, before guest RAM is touched. */
static int plan(const struct guest_mem *guest,
		const struct linux_load_params *p, struct linux_boot *out)
{
	u64 ram = guest->size;

	if (linux_check(p->kernel, p->kernel_size, &out->kernel)) {
		memcpy(out->error, out->kernel.error, sizeof(out->error));
		return -1;
	}
	if (!guest->base)
		return loader_refuse(out->error, "no guest RAM to load into");
	if (ram < LINUX_HIGH_MEM_START)
		return loader_refuse(
		    out->error,
		    "guest RAM of %lu KiB is less than the 1 MiB "
		    "the boot area and the kernel need",
		    ram >> 10);
	if (p->entry_mode != LINUX_ENTRY_32 && p->entry_mode != LINUX_ENTRY_64)
		return loader_refuse(
		    out->error, "entry mode %d is neither 32-bit nor 64-bit",
		    (int)p->entry_mode);
	if (p->initrd_size && !p->initrd)
		return loader_refuse(out->error,
				     "initrd of %lu bytes but no data",
				     p->initrd_size);
	if (check_extra_ranges(p, out->error) || place_kernel(ram, p, out) ||
	    check_cmdline(p, out))
		return -1;
	if (p->initrd_size && place_initrd(ram, p, out))
		return -1;
	out->boot_params_gpa = LINUX_BOOT_PARAMS_GPA;
	return 0;
}

/* Placement keeps every write inside guest RAM; the writes check again. */
static int write_failed(struct linux_boot *out, const char *what)
{
	return loader_refuse(out->error, "writing %s to guest RAM failed",
			     what);
}

int linux_load(const struct guest_mem *guest, const struct linux_load_params *p,
	       struct linux_boot *out)
{
	struct e820_map map;

	memset(out, 0, sizeof(*out));
	if (plan(guest, p, out))
		return -1;
	e820_build(guest->size, p, &map);
	out->e820_count = map.count;

	if (guest_mem_write(guest, out->kernel_load,
			    (const u8 *)p->kernel + out->kernel.pm_offset,
			    out->kernel.pm_size))
		return write_failed(out, "the kernel");
	if (p->initrd_size &&
	    guest_mem_write(guest, out->initrd_gpa, p->initrd, p->initrd_size))
		return write_failed(out, "the initrd");
	if (write_cmdline(guest, p, out))
		return write_failed(out, "the command line");
	if (write_boot_params(guest, p, out, &map))
		return write_failed(out, "boot_params");
	if (linux_write_entry_tables(guest, p->entry_mode, &out->cpu))
		return write_failed(out, "the boot GDT and page tables");

	/* Linux boot protocol, "32-bit Boot Protocol" / "64-bit Boot
	 * Protocol": the entry and RSI/ESI = boot_params. */
	out->cpu.rip = out->kernel_load;
	if (p->entry_mode == LINUX_ENTRY_64)
		out->cpu.rip += LINUX_ENTRY64_OFFSET;
	out->cpu.rsi = LINUX_BOOT_PARAMS_GPA;
	return 0;
}
