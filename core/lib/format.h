/* SPDX-License-Identifier: MIT */
/*
 * printf-style formatting into a caller's buffer, without libc.
 *
 * Supported: %s %c %d %i %u %x %X %p %%; flags '-' '0' '+' ' ' '#';
 * a width (digits or '*'); a precision (digits or '.*': the maximum length
 * for %s, the minimum digit count for integers); the length modifiers
 * hh h l ll z.  %p prints "0x" followed by lowercase hex digits.
 */
#ifndef VENEER_CORE_LIB_FORMAT_H
#define VENEER_CORE_LIB_FORMAT_H

#include <stdarg.h>

#include "core/lib/types.h"

/*
 * Formats into buf, writing at most size bytes including the final NUL.
 * When size > 0 the result is always NUL-terminated (truncated if need be).
 * Returns the length the full result has (without the NUL), as snprintf does,
 * so a return value >= size means the output was truncated.
 */
int vsnformat(char *buf, size_t size, const char *fmt, va_list ap);
int snformat(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/*
 * An error message into err (nothing when err is NULL or errlen 0), and rc
 * back, for `return format_error(-1, err, errlen, "what: %s", why);`.
 */
int format_error(int rc, char *err, size_t errlen, const char *fmt, ...)
    __printf(4, 5);

#endif /* VENEER_CORE_LIB_FORMAT_H */
