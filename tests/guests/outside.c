/* SPDX-License-Identifier: MIT */
/*
 * outside: a read of guest-physical memory beyond the guest's RAM must not
 * succeed. Veneer maps only the guest's own RAM, so the read ends in an
 * EPT/NPT violation and Veneer stops the guest with
 *     veneer: guest NAME stopped: ... 0xADDR
 * naming the address this guest announced on the line before:
 *     outside: about to read 0xADDR
 * If the read returns, the guest prints FAIL and exits 1.
 *
 * The address is the end of the memory map (highest end of any entry below
 * 3 GiB, so device and firmware ranges high up do not count), rounded up to
 * a MiB, plus one page: just past RAM, and inside the same 2 MiB page when
 * the RAM size is not a multiple of 2 MiB, which catches a hypervisor that
 * maps guest RAM with pages larger than the RAM. "outside_addr=0x..." on
 * the command line overrides it.
 *
 * Natively QEMU has memory or open bus everywhere, so the read proves
 * nothing: the announcement is printed and the read is SKIP.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define MAP_CONSIDERED_BELOW 0xC0000000ULL
#define FOUR_GIB	     0x100000000ULL

static bool choose_address(const struct multiboot_info *mbi, u64 *address)
{
	static struct guest_mmap map;
	const char *given = cmdline_value(guest_cmdline(mbi), "outside_addr");
	u64 end = 0;
	unsigned i;
	if (given) {
		if (parse_u64(given, address))
			return true;
		guest_fail("command line outside_addr= is not a number");
		return false;
	}
	if (!EXPECT_TRUE(guest_mmap_read(mbi, &map), "info has a memory map"))
		return false;
	for (i = 0; i < map.count; i++) {
		u64 entry_end = map.entry[i].base + map.entry[i].length;
		if (entry_end <= MAP_CONSIDERED_BELOW && entry_end > end)
			end = entry_end;
	}
	*address = ALIGN_UP(end, (u64)MiB) + PAGE_SIZE;
	return true;
}

void guest_main(const struct multiboot_info *mbi)
{
	u64 address;
	u32 value;
	if (!choose_address(mbi, &address))
		return;
	if (address + sizeof(u32) > FOUR_GIB) {
		guest_printf("FAIL: address 0x%llx is above 4 GiB, out of "
			     "reach of this 32-bit guest\n",
			     (unsigned long long)address);
		guest_failures++;
		return;
	}
	guest_printf("outside: about to read 0x%llx\n",
		     (unsigned long long)address);
	if (!under_veneer()) {
		guest_skip("read outside guest RAM stops the guest (not under "
			   "Veneer)");
		return;
	}
	serial_drain();
	value = *(volatile u32 *)(uintptr_t)address;
	guest_printf("FAIL: read of 0x%llx outside guest RAM returned 0x%x "
		     "instead of stopping the guest\n",
		     (unsigned long long)address, value);
	guest_failures++;
}
