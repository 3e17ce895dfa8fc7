/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the guest ELF loader (core/elf.c).
 *
 * Input: two bytes giving the guest RAM size in pages (1 to 512, so up to
 * 2 MiB), then the ELF file. The file is a heap buffer of exactly its
 * size and guest RAM a view with poisoned surroundings
 * (tests/fuzz/loader_ram.h), so a read or write past either is an ASan
 * error. Checked: elf_check() and elf_load() agree; a refused image
 * leaves RAM untouched (no guest_mem_* call at all, counted by
 * tests/fuzz/guestmem_probe.c); an accepted one fits in RAM and starts
 * inside what was loaded.
 */
#include <string.h>

#include "core/elf.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/guestmem_probe.h"
#include "tests/fuzz/loader_ram.h"

#define MAX_RAM_PAGES 512

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	u64 ram_size = (fuzz_u16(&in) % MAX_RAM_PAGES + 1) * PAGE_SIZE;
	struct elf_info checked, loaded;
	size_t len;
	const u8 *file = fuzz_rest(&in, &len);
	u8 *image = malloc(len ? len : 1);
	struct guest_mem guest =
	    loader_ram(ram_size, MAX_RAM_PAGES * PAGE_SIZE);
	int rc_check, rc_load;

	memcpy(image, file, len);
	rc_check = elf_check(image, len, ram_size, &checked);
	guestmem_probe_calls = 0;
	rc_load = elf_load(image, len, &guest, &loaded);

	FUZZ_CHECK(rc_check == rc_load, "elf_check %d, elf_load %d (%s)",
		   rc_check, rc_load, loaded.error);
	FUZZ_CHECK(fuzz_terminated(loaded.error, sizeof(loaded.error)),
		   "error not terminated");
	if (rc_load) {
		FUZZ_CHECK(rc_load == -1 && loaded.error[0], "rc %d", rc_load);
		FUZZ_CHECK(!strcmp(checked.error, loaded.error),
			   "check says \"%s\", load \"%s\"", checked.error,
			   loaded.error);
		FUZZ_CHECK(guestmem_probe_calls == 0,
			   "refused (%s) after %u writes to guest RAM",
			   loaded.error, guestmem_probe_calls);
		goto out;
	}
	FUZZ_CHECK(!memcmp(&checked, &loaded, sizeof(checked)),
		   "elf_check and elf_load describe the image differently");
	FUZZ_CHECK(loaded.elf_class == 32 || loaded.elf_class == 64, "class %d",
		   loaded.elf_class);
	FUZZ_CHECK(loaded.segments >= 1 && loaded.segments <= ELF_MAX_PHDRS,
		   "%u segments", loaded.segments);
	FUZZ_CHECK(
	    loaded.load_start < loaded.load_end && loaded.load_end <= ram_size,
	    "loaded [0x%llx,0x%llx) with RAM 0x%llx",
	    (unsigned long long)loaded.load_start,
	    (unsigned long long)loaded.load_end, (unsigned long long)ram_size);
	FUZZ_CHECK(loaded.entry >= loaded.load_start &&
		       loaded.entry < loaded.load_end,
		   "entry 0x%llx outside [0x%llx,0x%llx)",
		   (unsigned long long)loaded.entry,
		   (unsigned long long)loaded.load_start,
		   (unsigned long long)loaded.load_end);
out:
	free(image);
	return 0;
}
