/* SPDX-License-Identifier: MIT */
/*
 * The few string helpers the guests need. memset and memcpy are also what
 * gcc calls for large struct copies and zeroing, even freestanding.
 */
#include "tests/guests/lib/guest.h"

size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

bool str_starts_with(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

const char *cmdline_value(const char *cmdline, const char *key)
{
	size_t key_len = str_len(key);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		if (str_starts_with(p, key) && p[key_len] == '=')
			return p + key_len + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

static int digit_value(char c, unsigned base)
{
	int v;
	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < (int)base ? v : -1;
}

bool parse_u64(const char *s, u64 *out)
{
	unsigned base = 10;
	u64 v = 0;
	bool any = false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s && *s != ' '; s++) {
		int d = digit_value(*s, base);
		if (d < 0)
			return false;
		v = v * base + (u64)d;
		any = true;
	}
	*out = v;
	return any;
}

void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;
	while (n--)
		*d++ = (u8)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

u64 div64(u64 n, u32 d)
{
	u64 q = 0, r = 0;

	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ULL << i;
		}
	}
	return q;
}
