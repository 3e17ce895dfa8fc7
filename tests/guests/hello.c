/* SPDX-License-Identifier: MIT */
/*
 * hello: the default guest of `make run`. Greets, shows what the loader told
 * it (multiboot info: memory sizes, command line, memory map) and exits 0.
 *
 * Checks: the loader zeroed .bss, the info carries memory sizes and a
 * memory map, and the map has a usable range that holds this image.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

/* Never written before the check: must still be zero from the loader
 * (Multiboot 0.6.96, 3.1.3: the loader zeroes up to bss_end_addr; ELF
 * program headers say the same through p_memsz). */
static u32 bss_probe[64];

static const char *memory_type_name(u32 type)
{
	switch (type) {
	case 1:
		return "available";
	case 2:
		return "reserved";
	case 3:
		return "ACPI reclaimable";
	case 4:
		return "ACPI NVS";
	case 5:
		return "bad";
	default:
		return "unknown";
	}
}

static bool bss_is_zero(void)
{
	unsigned i;
	for (i = 0; i < ARRAY_SIZE(bss_probe); i++)
		if (((volatile u32 *)bss_probe)[i])
			return false;
	return true;
}

static void show_memory_map(const struct guest_mmap *map)
{
	u64 image_start = (uintptr_t)_guest_image_start;
	u64 image_end = (uintptr_t)_guest_image_end;
	bool image_in_ram = false;
	unsigned i;
	for (i = 0; i < map->count; i++) {
		u64 base = map->entry[i].base, len = map->entry[i].length;
		guest_printf("  mmap[%u]: 0x%09llx-0x%09llx %s (%u)\n", i,
			     (unsigned long long)base,
			     (unsigned long long)(base + len - 1),
			     memory_type_name(map->entry[i].type),
			     map->entry[i].type);
		if (map->entry[i].type == MULTIBOOT_MEMORY_AVAILABLE &&
		    base <= image_start && base + len >= image_end)
			image_in_ram = true;
	}
	EXPECT_TRUE(image_in_ram,
		    "memory map has a usable range holding the guest image");
}

void guest_main(const struct multiboot_info *mbi)
{
	static struct guest_mmap map;
	guest_printf("hello from a Veneer guest\n");
	EXPECT_TRUE(bss_is_zero(), ".bss zeroed by the loader");
	guest_printf("  under Veneer: %s\n", under_veneer() ? "yes" : "no");
	guest_printf("  multiboot info at %p, flags 0x%x\n", (const void *)mbi,
		     mbi->flags);
	if (EXPECT_TRUE(mbi->flags & MBI_FLAG_MEM, "info has mem_lower/upper"))
		guest_printf("  mem_lower %u KiB, mem_upper %u KiB\n",
			     mbi->mem_lower, mbi->mem_upper);
	guest_printf("  cmdline \"%s\"\n", guest_cmdline(mbi));
	if (EXPECT_TRUE(guest_mmap_read(mbi, &map), "info has a memory map"))
		show_memory_map(&map);
}
