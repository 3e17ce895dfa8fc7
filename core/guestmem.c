/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM for the loaders (contract in core/guestmem.h).
 */
#include "core/guestmem.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

void *guest_mem_ptr(const struct guest_mem *mem, u64 gpa, u64 len)
{
	/* Compared without gpa + len, which a hostile image could wrap. */
	if (!mem->base || gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->base + gpa;
}

int guest_mem_write(const struct guest_mem *mem, u64 gpa, const void *src,
		    u64 len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_zero(const struct guest_mem *mem, u64 gpa, u64 len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return -1;
	memset(dst, 0, len);
	return 0;
}

int loader_refuse(char error[LOADER_ERROR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnformat(error, LOADER_ERROR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}
