/* SPDX-License-Identifier: MIT */
/*
 * From the assembly entry to the guest's own guest_main().
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/trap.h"

/* Called by entry32.S / entry64.S with the registers the loader left:
 * EAX = magic, EBX = physical address of the multiboot info (section 3.2). */
__noreturn void guest_start(u32 magic, u32 info_address);

/*
 * "veneer=1" on the command line says the guest must be running under
 * Veneer, "veneer=0" natively. The integration tests pass it so that a
 * missing CPUID signature fails instead of turning every Veneer-only check
 * into a SKIP.
 */
static void check_expected_environment(const struct multiboot_info *mbi)
{
	const char *want = cmdline_value(guest_cmdline(mbi), "veneer");
	struct cpuid_regs r;
	if (!want)
		return;
	if (want[0] != '0' && want[0] != '1') {
		guest_printf("FAIL: command line veneer=%c: expected 0 or 1\n",
			     want[0]);
		guest_failures++;
		return;
	}
	if ((want[0] == '1') == under_veneer())
		return;
	r = cpuid(VENEER_CPUID_LEAF, 0);
	guest_printf("FAIL: command line says veneer=%c but CPUID 0x40000000 "
		     "gives eax 0x%x ebx 0x%x ecx 0x%x edx 0x%x\n",
		     want[0], r.eax, r.ebx, r.ecx, r.edx);
	guest_failures++;
}

__noreturn void guest_start(u32 magic, u32 info_address)
{
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		guest_printf("FAIL: multiboot magic in EAX (0x%x != 0x%x)\n",
			     magic, MULTIBOOT_BOOTLOADER_MAGIC);
		guest_printf("FAIL\n");
		guest_exit(1);
	}
	/* From here on an unexpected exception is reported, not a reboot. */
	trap_init();
	check_expected_environment(
	    (const struct multiboot_info *)(uintptr_t)info_address);
	guest_main((const struct multiboot_info *)(uintptr_t)info_address);
	guest_finish();
}

const char *guest_cmdline(const struct multiboot_info *mbi)
{
	if (!(mbi->flags & MBI_FLAG_CMDLINE) || !mbi->cmdline)
		return "";
	return (const char *)(uintptr_t)mbi->cmdline;
}

bool guest_mmap_read(const struct multiboot_info *mbi, struct guest_mmap *map)
{
	uintptr_t p, end;
	map->count = 0;
	if (!(mbi->flags & MBI_FLAG_MMAP)) {
		guest_printf("guest: the multiboot info has no memory map "
			     "(flags 0x%x lack bit 6)\n",
			     mbi->flags);
		return false;
	}
	p = mbi->mmap_addr;
	end = p + mbi->mmap_length;
	while (p < end) {
		const struct multiboot_mmap_entry *e = (const void *)p;
		if (map->count == GUEST_MMAP_MAX) {
			guest_printf("guest: memory map has more than %u "
				     "entries\n",
				     GUEST_MMAP_MAX);
			return false;
		}
		map->entry[map->count].base = e->base_addr;
		map->entry[map->count].length = e->length;
		map->entry[map->count].type = e->type;
		map->count++;
		p += e->size + sizeof(e->size);
	}
	return true;
}
