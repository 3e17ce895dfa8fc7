/* SPDX-License-Identifier: MIT */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "core/mm.h"
#include "core/lib/pagetable.h"
#include "core/lib/printk.h"

extern const u8 _image_start[], _text_end[], _rodata_end[], _end[];

static struct pt_format host_format;
static struct pt_ctx host_ctx;

static void *host_phys_to_virt(u64 hpa_value)
{
	return hpa_to_ptr(hpa_value);
}

/* The trampoline loads CR3 in 32-bit mode: every table below 4 GiB. */
static bool host_alloc_table(void *opaque, u64 *out)
{
	(void)opaque;
	*out = mm_alloc_pages(1, PAGE_SIZE, MM_BELOW_4G);
	return *out != 0;
}

static void host_free_table(void *opaque, u64 hpa_value)
{
	(void)opaque;
	mm_free_pages(hpa_value, 1);
}

static void map_or_panic(u64 base, u64 size, u32 flags, const char *what)
{
	int err = pt_map(&host_ctx, base, base, size, flags);

	if (err)
		panic("host paging: mapping %s [0x%llx-0x%llx): %s", what,
		      (unsigned long long)base,
		      (unsigned long long)(base + size), pt_error_string(err));
}

static void protect_or_panic(u64 base, u64 end, u32 flags, const char *what)
{
	int err = pt_protect(&host_ctx, base, end - base, flags);

	if (err)
		panic("host paging: protecting %s: %s", what,
		      pt_error_string(err));
}

void paging_init(const struct mem_range *map, u32 count)
{
	u64 cursor = 0;
	bool nx = cpuid(0x80000001).edx & BIT(20);

	host_format = pt_format_x86_host;
	if (!nx)
		host_format.noexec_bit = 0; /* reserved without NX support */
	host_ctx = (struct pt_ctx){.fmt = &host_format,
				   .phys_to_virt = host_phys_to_virt,
				   .alloc_table = host_alloc_table,
				   .free_table = host_free_table};
	int err = pt_create(&host_ctx);

	if (err)
		panic("host paging: root table: %s", pt_error_string(err));

	/* Every range the loader described, write-back; holes below 4 GiB
	 * are device memory (LAPIC, IOAPIC, PCI BARs): uncached. */
	for (u32 i = 0; i < count; i++) {
		u64 base = ALIGN_DOWN(map[i].base, PAGE_SIZE);
		u64 end = ALIGN_UP(map[i].base + map[i].length, PAGE_SIZE);

		if (base < cursor)
			base = cursor;
		if (end <= base)
			continue;
		if (base > cursor && cursor < GiB(4))
			map_or_panic(cursor, MIN(base, GiB(4)) - cursor,
				     PT_R | PT_W | PT_UC, "device memory");
		map_or_panic(base, end - base, PT_R | PT_W, "memory");
		cursor = end;
	}
	if (cursor < GiB(4))
		map_or_panic(cursor, GiB(4) - cursor, PT_R | PT_W | PT_UC,
			     "device memory");

	protect_or_panic((u64)(uintptr_t)_image_start,
			 (u64)(uintptr_t)_text_end, PT_R | PT_X,
			 "hypervisor text");
	protect_or_panic((u64)(uintptr_t)_text_end, (u64)(uintptr_t)_rodata_end,
			 PT_R, "hypervisor read-only data");
	if (pt_unmap(&host_ctx, 0, PAGE_SIZE))
		panic("host paging: cannot unmap page 0");

	write_cr3(host_ctx.root);
}

void paging_protect(u64 base, u64 size, u32 flags)
{
	protect_or_panic(base, base + size, flags, "a host range");
	/* Only this CPU runs while the tables change (boot), so a full flush
	 * of its own TLB is enough. */
	write_cr3(read_cr3());
}

u64 paging_table_pages(void)
{
	return pt_count_tables(&host_ctx);
}
