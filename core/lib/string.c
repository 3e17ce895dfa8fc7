/* SPDX-License-Identifier: MIT */
/*
 * Memory and string helpers for the freestanding hypervisor.
 *
 * GCC may recognise the byte loops below as memset/memcpy patterns and turn
 * them into calls to the very function being defined; the optimize attribute
 * switches that transformation off for these functions.
 */
#include "core/lib/string.h"

#define NO_LIBCALL_PATTERNS                                                    \
	__attribute__((optimize("no-tree-loop-distribute-patterns")))

#ifndef VENEER_HOST_TEST

/*
 * memcpy and memset move 8 bytes per step with REP MOVSQ / REP STOSQ and
 * the rest with the byte forms (SDM Vol. 2B, MOVS and STOS; DF is clear in
 * the hypervisor). Guest RAM is zeroed and guest images are copied with
 * them: a byte loop cost four instructions per byte, a second per 256 MiB
 * guest under an instruction-counting emulator.
 */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	const void *s = src;
	size_t quads = n / 8, bytes = n % 8;

	__asm__ volatile("rep movsq"
			 : "+D"(d), "+S"(s), "+c"(quads)
			 :
			 : "memory");
	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(s), "+c"(bytes)
			 :
			 : "memory");
	return dst;
}

NO_LIBCALL_PATTERNS void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		/* Overlap with dst above src: copy from the end backwards. */
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	u64 pattern = 0x0101010101010101ull * (u8)c;
	size_t quads = n / 8, bytes = n % 8;

	__asm__ volatile("rep stosq"
			 : "+D"(d), "+c"(quads)
			 : "a"(pattern)
			 : "memory");
	__asm__ volatile("rep stosb"
			 : "+D"(d), "+c"(bytes)
			 : "a"(pattern)
			 : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return (int)(unsigned char)*a - (int)(unsigned char)*b;
		if (*a == '\0')
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}

#endif /* !VENEER_HOST_TEST */

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
