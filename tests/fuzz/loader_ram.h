/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM for the loader fuzz targets: one host buffer, allocated once,
 * of which a view of the wanted size is taken at its end. The bytes in
 * front of the view are poisoned for ASan and the heap redzone follows
 * it, so a loader write outside [0, size) of its struct guest_mem is an
 * ASan error, without a large allocation per input.
 */
#ifndef VENEER_TESTS_FUZZ_LOADER_RAM_H
#define VENEER_TESTS_FUZZ_LOADER_RAM_H

#include <stdlib.h>
#include <sanitizer/asan_interface.h>

#include "core/guestmem.h"
#include "tests/fuzz/fuzz.h"

/* A view of `size` (<= max, the same max on every call) bytes. */
static inline struct guest_mem loader_ram(u64 size, u64 max)
{
	static u8 *buffer;
	u8 *base;

	if (!buffer)
		buffer = malloc(max);
	FUZZ_CHECK(buffer && size <= max, "guest RAM of %llu bytes",
		   (unsigned long long)size);
	base = buffer + (max - size);
	ASAN_UNPOISON_MEMORY_REGION(buffer, max);
	ASAN_POISON_MEMORY_REGION(buffer, max - size);
	return (struct guest_mem){.base = base, .size = size};
}

#endif /* VENEER_TESTS_FUZZ_LOADER_RAM_H */
