/* SPDX-License-Identifier: MIT */
/*
 * Translating a guest linear address to a guest-physical one by walking the
 * guest's own page tables, for the rare exits where the backend must read
 * guest memory at a linear address (the instruction bytes at RIP after a #UD
 * exit).  Pure: guest memory is reached through a caller's callback, so the
 * walker is unit tested on the host (tests/unit/test_guest_walk.c).
 *
 * Supported: paging off, 32-bit paging (with PSE 4 MiB pages and PSE-36),
 * PAE paging and 4-level paging (SDM Vol. 3A 4.3-4.5).  Permission bits are
 * not checked: the caller translates addresses the CPU already fetched.
 */
#ifndef VENEER_CORE_GUEST_WALK_H
#define VENEER_CORE_GUEST_WALK_H

#include "core/lib/types.h"

struct guest_paging {
	u64 cr0, cr3, cr4, efer;
};

/*
 * Returns a host pointer to guest-physical [gpa, gpa+len), or NULL when the
 * range is not guest RAM.
 */
typedef const void *(*guest_memory_fn)(void *opaque, u64 gpa, u64 len);

enum guest_walk_result {
	GUEST_WALK_OK = 0,
	GUEST_WALK_NOT_PRESENT = -1, /* a paging-structure entry had P=0 */
	GUEST_WALK_BAD_TABLE = -2,   /* a table lies outside guest RAM */
	GUEST_WALK_NONCANONICAL = -4 /* 4-level: bits 63:47 not a sign ext. */
};

/* Translates linear address la into *gpa_out. */
enum guest_walk_result guest_walk(const struct guest_paging *paging, u64 la,
				  guest_memory_fn memory, void *opaque,
				  u64 *gpa_out);

/* A sentence naming the result, for messages. */
const char *guest_walk_result_string(enum guest_walk_result result);

#endif /* VENEER_CORE_GUEST_WALK_H */
