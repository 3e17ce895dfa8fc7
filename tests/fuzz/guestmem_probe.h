/* SPDX-License-Identifier: MIT */
/*
 * Counting of guest RAM accesses by the loaders (tests/fuzz/guestmem_probe.c).
 */
#ifndef VENEER_TESTS_FUZZ_GUESTMEM_PROBE_H
#define VENEER_TESTS_FUZZ_GUESTMEM_PROBE_H

#include "core/guestmem.h"

/* Calls of guest_mem_ptr / guest_mem_write / guest_mem_zero so far. */
extern u32 guestmem_probe_calls;

#endif /* VENEER_TESTS_FUZZ_GUESTMEM_PROBE_H */
