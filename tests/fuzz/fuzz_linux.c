/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Linux bzImage loader (core/linux.c).
 *
 * Input: flags (bit 0: 64-bit entry, bit 1: no command line at all), the
 * guest RAM size in pages (up to 8 MiB), the initrd size, the RSDP
 * address, up to 17 extra e820 ranges, the command line, then the
 * bzImage. The image is a heap buffer of exactly its size, the initrd the
 * end of another, guest RAM a view with poisoned surroundings
 * (tests/fuzz/loader_ram.h).
 *
 * Checked: a refusal touches no guest RAM (tests/fuzz/guestmem_probe.c)
 * and names the problem; an accepted image is placed as core/linux.h
 * says: kernel at or above 1 MiB and aligned when relocatable, initrd
 * page aligned above the kernel and below initrd_addr_max, neither in a
 * non-RAM e820 range; the e820 map in boot_params sorted and without
 * overlaps; the command line, boot_params fields and entry state as
 * documented.
 */
#include <string.h>

#include "core/linux.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/guestmem_probe.h"
#include "tests/fuzz/loader_ram.h"

#define MAX_RAM	     MiB(8)
#define MAX_EXTRA    (LINUX_EXTRA_E820_MAX + 1)
#define MAX_CMDLINE  0x7100
#define FLAG_ENTRY64 1
#define FLAG_NO_CMD  2

static u8 *initrd_buffer;

static void extra_ranges(struct fuzz_in *in, struct linux_e820_entry *e,
			 u32 count)
{
	for (u32 i = 0; i < count; i++) {
		u8 how = fuzz_u8(in);

		/* Mostly page-granular ranges inside the first 256 MiB. */
		e[i].addr = how & 1 ? fuzz_u64(in) : (u64)fuzz_u16(in) << 12;
		e[i].size = how & 2 ? fuzz_u64(in) : (u64)fuzz_u16(in) << 12;
		e[i].type = fuzz_below(in, 7);
	}
}

static bool overlaps(u64 a, u64 a_end, u64 b, u64 b_end)
{
	return a < b_end && b < a_end;
}

/* No non-RAM e820 entry may cover [start, end). */
static void check_in_ram(const struct linux_boot_params *bp, u64 start, u64 end,
			 const char *what)
{
	for (u32 i = 0; i < bp->e820_entries; i++) {
		const struct linux_e820_entry *e = &bp->e820_table[i];

		if (e->type != LINUX_E820_RAM &&
		    overlaps(start, end, e->addr, e->addr + e->size))
			FUZZ_CHECK(false,
				   "%s [0x%llx,0x%llx) overlaps e820 entry %u "
				   "(type %u)",
				   what, (unsigned long long)start,
				   (unsigned long long)end, i, e->type);
	}
}

static void check_e820(const struct linux_boot_params *bp, u32 count)
{
	FUZZ_CHECK(bp->e820_entries == count && count <= LINUX_E820_BUILD_MAX,
		   "%u e820 entries, boot_params says %u", count,
		   bp->e820_entries);
	for (u32 i = 0; i < count; i++) {
		const struct linux_e820_entry *e = &bp->e820_table[i];

		FUZZ_CHECK(e->size && e->addr + e->size > e->addr,
			   "e820 entry %u is empty or wraps", i);
		FUZZ_CHECK(e->type >= LINUX_E820_RAM &&
			       e->type <= LINUX_E820_UNUSABLE,
			   "e820 entry %u has type %u", i, e->type);
		if (i)
			FUZZ_CHECK(bp->e820_table[i - 1].addr +
					   bp->e820_table[i - 1].size <=
				       e->addr,
				   "e820 entries %u and %u overlap or are out "
				   "of order",
				   i - 1, i);
	}
}

static void check_boot(const struct guest_mem *ram,
		       const struct linux_load_params *p,
		       const struct linux_boot *b)
{
	const struct linux_kernel *k = &b->kernel;
	const struct linux_boot_params *bp =
	    (const void *)(ram->base + LINUX_BOOT_PARAMS_GPA);
	u64 low = MIN(b->kernel_load, b->kernel_runtime);
	u64 limit = MIN(ram->size, LINUX_IDENTITY_MAP_END);
	size_t cmd_len = p->cmdline ? strlen(p->cmdline) : 0;

	FUZZ_CHECK(b->kernel_load >= LINUX_HIGH_MEM_START &&
		       b->kernel_runtime >= LINUX_HIGH_MEM_START,
		   "kernel at 0x%llx, runs at 0x%llx",
		   (unsigned long long)b->kernel_load,
		   (unsigned long long)b->kernel_runtime);
	FUZZ_CHECK(!k->relocatable ||
		       IS_ALIGNED(b->kernel_load, k->kernel_alignment),
		   "kernel at 0x%llx, alignment 0x%x",
		   (unsigned long long)b->kernel_load, k->kernel_alignment);
	FUZZ_CHECK(b->kernel_load + k->pm_size <= b->kernel_end &&
		       b->kernel_runtime + k->init_size <= b->kernel_end &&
		       b->kernel_end <= limit,
		   "kernel memory [0x%llx,0x%llx) with RAM 0x%llx",
		   (unsigned long long)low, (unsigned long long)b->kernel_end,
		   (unsigned long long)ram->size);
	check_in_ram(bp, low, b->kernel_end, "the kernel");
	if (p->initrd_size) {
		FUZZ_CHECK(IS_ALIGNED(b->initrd_gpa, PAGE_SIZE) &&
			       b->initrd_gpa >= b->kernel_end &&
			       b->initrd_size == p->initrd_size &&
			       b->initrd_gpa + b->initrd_size <= ram->size &&
			       b->initrd_gpa + b->initrd_size - 1 <=
				   k->initrd_addr_max,
			   "initrd at 0x%llx (%llu bytes), kernel ends "
			   "0x%llx, RAM 0x%llx, initrd_addr_max 0x%x",
			   (unsigned long long)b->initrd_gpa,
			   (unsigned long long)b->initrd_size,
			   (unsigned long long)b->kernel_end,
			   (unsigned long long)ram->size, k->initrd_addr_max);
		check_in_ram(bp, b->initrd_gpa, b->initrd_gpa + b->initrd_size,
			     "the initrd");
	} else {
		FUZZ_CHECK(!b->initrd_gpa && !b->initrd_size,
			   "an initrd from nowhere");
	}
	FUZZ_CHECK(b->cmdline_gpa == LINUX_CMDLINE_GPA &&
		       b->cmdline_length == cmd_len &&
		       cmd_len <= k->cmdline_size,
		   "command line of %u bytes (kernel takes %u)",
		   b->cmdline_length, k->cmdline_size);
	FUZZ_CHECK(!memcmp(ram->base + LINUX_CMDLINE_GPA,
			   p->cmdline ? p->cmdline : "", cmd_len + 1),
		   "the command line in guest RAM differs");
	check_e820(bp, b->e820_count);
	FUZZ_CHECK(bp->hdr.cmd_line_ptr == LINUX_CMDLINE_GPA &&
		       bp->hdr.ramdisk_image == b->initrd_gpa &&
		       bp->hdr.ramdisk_size == b->initrd_size &&
		       bp->hdr.code32_start == b->kernel_load &&
		       bp->hdr.type_of_loader == LINUX_LOADER_TYPE_UNDEFINED &&
		       bp->acpi_rsdp_addr == p->acpi_rsdp && !bp->sentinel,
		   "boot_params fields");
	FUZZ_CHECK(
	    b->cpu.rsi == LINUX_BOOT_PARAMS_GPA &&
		b->cpu.rip == b->kernel_load + (p->entry_mode == LINUX_ENTRY_64
						    ? LINUX_ENTRY64_OFFSET
						    : 0),
	    "entry rip 0x%llx rsi 0x%llx", (unsigned long long)b->cpu.rip,
	    (unsigned long long)b->cpu.rsi);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	struct linux_e820_entry extra[MAX_EXTRA];
	struct linux_load_params p = {0};
	static struct linux_boot boot;
	u8 flags = fuzz_u8(&in);
	u64 ram_size =
	    ((u64)fuzz_u16(&in) % (MAX_RAM / PAGE_SIZE) + 1) * PAGE_SIZE;
	struct guest_mem ram = loader_ram(ram_size, MAX_RAM);
	size_t cmd_len, image_len;
	const u8 *bytes;
	char *cmdline = NULL;
	u8 *image;
	int rc;

	if (!initrd_buffer)
		initrd_buffer = calloc(1, MAX_RAM);
	p.entry_mode = flags & FLAG_ENTRY64 ? LINUX_ENTRY_64 : LINUX_ENTRY_32;
	p.initrd_size = fuzz_u32(&in) % (MAX_RAM + 1);
	p.initrd =
	    p.initrd_size ? initrd_buffer + MAX_RAM - p.initrd_size : NULL;
	p.acpi_rsdp = fuzz_u32(&in);
	p.extra_e820_count = fuzz_below(&in, MAX_EXTRA + 1);
	extra_ranges(&in, extra, p.extra_e820_count);
	p.extra_e820 = extra;
	bytes = fuzz_bytes(&in, MAX_CMDLINE, &cmd_len);
	if (!(flags & FLAG_NO_CMD)) {
		cmdline = malloc(cmd_len + 1);
		memcpy(cmdline, bytes, cmd_len);
		cmdline[cmd_len] = '\0';
		p.cmdline = cmdline;
	}
	bytes = fuzz_rest(&in, &image_len);
	image = malloc(image_len ? image_len : 1);
	memcpy(image, bytes, image_len);
	p.kernel = image;
	p.kernel_size = image_len;

	guestmem_probe_calls = 0;
	rc = linux_load(&ram, &p, &boot);
	FUZZ_CHECK(fuzz_terminated(boot.error, sizeof(boot.error)),
		   "error not terminated");
	if (rc) {
		FUZZ_CHECK(rc == -1 && boot.error[0], "rc %d", rc);
		FUZZ_CHECK(guestmem_probe_calls == 0,
			   "refused (%s) after %u writes to guest RAM",
			   boot.error, guestmem_probe_calls);
	} else {
		FUZZ_CHECK(!boot.error[0], "loaded with error \"%s\"",
			   boot.error);
		check_boot(&ram, &p, &boot);
	}
	free(image);
	free(cmdline);
	return 0;
}
