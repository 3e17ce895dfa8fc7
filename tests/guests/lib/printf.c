/* SPDX-License-Identifier: MIT */
/*
 * A small printf for the guests: %c %s %d %i %u %x %X %p %%, the length
 * modifiers l and ll, a field width and the 0 and - flags.
 *
 * 32-bit guests have no libgcc, so 64-bit numbers are divided with the CPU's
 * own 64-by-32 divide instead of the compiler's helper call.
 */
#include "tests/guests/lib/guest.h"

/* Divides n by d in place and returns the remainder. */
static u32 divide_u64(u64 *n, u32 d)
{
#ifdef __x86_64__
	u32 rem = (u32)(*n % d);
	*n /= d;
	return rem;
#else
	/* Two 64/32 divides, high word first: the remainder of the first is
	 * below d, so the second (EDX:EAX / d) cannot overflow. */
	u32 high = (u32)(*n >> 32), low = (u32)*n, q_high, q_low, rem;
	q_high = high / d;
	rem = high % d;
	__asm__("divl %4"
		: "=a"(q_low), "=d"(rem)
		: "a"(low), "d"(rem), "rm"(d));
	*n = ((u64)q_high << 32) | q_low;
	return rem;
#endif
}

struct field {
	unsigned width;
	bool zero_pad, left;
};

static int emit_padded(const char *s, unsigned len, const struct field *f)
{
	unsigned pad = f->width > len ? f->width - len : 0, i;
	for (i = 0; !f->left && i < pad; i++)
		serial_putc(f->zero_pad ? '0' : ' ');
	for (i = 0; i < len; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
	for (i = 0; f->left && i < pad; i++)
		serial_putc(' ');
	return (int)(len + pad);
}

static int emit_number(u64 v, unsigned base, bool negative, bool upper,
		       const struct field *f)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	unsigned pos = sizeof(buf);
	do {
		buf[--pos] = digits[divide_u64(&v, base)];
	} while (v);
	if (negative) {
		if (f->zero_pad && f->width) {
			/* "-0042": the sign goes before the zeros. */
			struct field rest = *f;
			serial_putc('-');
			rest.width = f->width - 1;
			return 1 +
			       emit_padded(buf + pos, sizeof(buf) - pos, &rest);
		}
		buf[--pos] = '-';
	}
	return emit_padded(buf + pos, sizeof(buf) - pos, f);
}

int guest_vprintf(const char *fmt, va_list ap)
{
	int total = 0;
	for (; *fmt; fmt++) {
		struct field f = {0, false, false};
		unsigned longs = 0;
		u64 v;
		if (*fmt != '%') {
			total += emit_padded(fmt, 1, &f);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				f.zero_pad = true;
			else if (*fmt == '-')
				f.left = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			f.width = f.width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'c': {
			char c = (char)va_arg(ap, int);
			total += emit_padded(&c, 1, &f);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			total += emit_padded(s, (unsigned)str_len(s), &f);
			break;
		}
		case 'd':
		case 'i': {
			i64 sv = longs >= 2   ? va_arg(ap, long long)
				 : longs == 1 ? va_arg(ap, long)
					      : va_arg(ap, int);
			v = sv < 0 ? (u64)0 - (u64)sv : (u64)sv;
			total += emit_number(v, 10, sv < 0, false, &f);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = longs >= 2	 ? va_arg(ap, unsigned long long)
			    : longs == 1 ? va_arg(ap, unsigned long)
					 : va_arg(ap, unsigned int);
			total += emit_number(v, *fmt == 'u' ? 10 : 16, false,
					     *fmt == 'X', &f);
			break;
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			total += emit_padded("0x", 2, &(struct field){0});
			total += emit_number(v, 16, false, false, &f);
			break;
		case '%':
			total += emit_padded("%", 1, &f);
			break;
		default:
			/* Shown, not swallowed, so a bad format is visible. */
			total += emit_padded("%?", 2, &f);
			if (!*fmt)
				return total;
			break;
		}
	}
	return total;
}

int guest_printf(const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = guest_vprintf(fmt, ap);
	va_end(ap);
	return n;
}
