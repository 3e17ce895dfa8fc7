/* SPDX-License-Identifier: MIT */
/*
 * Memory and string helpers.
 *
 * The hypervisor has no libc, so core/lib/string.c provides the usual names
 * (the compiler itself may emit calls to memcpy and memset).  In host unit
 * tests those names belong to the host libc, which is used instead.
 */
#ifndef VENEER_CORE_LIB_STRING_H
#define VENEER_CORE_LIB_STRING_H

#include "core/lib/types.h"

#ifdef VENEER_HOST_TEST
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

/*
 * Copies src into dst (size bytes at most, NUL included), always
 * NUL-terminating when size > 0.  Returns strlen(src): a result >= size means
 * the copy was truncated.  (BSD strlcpy semantics; named differently so that
 * it never clashes with a host libc's own strlcpy.)
 */
size_t str_copy(char *dst, const char *src, size_t size);

/* Little-endian fields at any alignment, as firmware tables lay them out
 * (x86 is little-endian; memcpy keeps the load free of alignment UB). */
static inline u16 get_unaligned16(const void *p)
{
	u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline u32 get_unaligned32(const void *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline u64 get_unaligned64(const void *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif /* VENEER_CORE_LIB_STRING_H */
