/* SPDX-License-Identifier: MIT */
/*
 * printf-style formatting without libc (contract in core/lib/format.h).
 *
 * The output is produced one character at a time through struct fmt_out,
 * which counts every character but stores only those that fit, so the
 * return value is the untruncated length like C's snprintf.
 */
#include "core/lib/format.h"

struct fmt_out {
	char *buf;
	size_t size;
	size_t len; /* characters produced so far, stored or not */
};

/* One conversion specification, as parsed from the format string. */
struct fmt_spec {
	bool left;	/* '-': pad on the right */
	bool zero;	/* '0': pad numbers with zeros */
	bool plus;	/* '+': always print a sign */
	bool space;	/* ' ': a space where a '+' would go */
	bool alternate; /* '#': 0x / 0X prefix for hex */
	int width;
	int precision; /* -1: none given */
};

/* Widths and precisions beyond this are nonsense: they are clamped to it. */
#define WIDTH_LIMIT 100000000

enum fmt_length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static void out_char(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_repeat(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

static void out_string(struct fmt_out *o, const struct fmt_spec *sp,
		       const char *s)
{
	int len = 0;

	if (!s)
		s = "(null)";
	/*
	 * With a precision, s need not be NUL-terminated beyond it (C11
	 * 7.21.6.1): the precision is checked before the byte is read, so
	 * s[precision] is never touched.
	 */
	while ((sp->precision < 0 || len < sp->precision) && s[len])
		len++;
	if (!sp->left)
		out_repeat(o, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		out_char(o, s[i]);
	if (sp->left)
		out_repeat(o, ' ', sp->width - len);
}

/*
 * Prints an integer given as magnitude plus sign.  Layout, left to right:
 * padding spaces, sign or prefix, zero padding, precision zeros, digits.
 */
static void out_number(struct fmt_out *o, const struct fmt_spec *sp, u64 value,
		       bool negative, unsigned base, bool upper,
		       const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24]; /* 2^64 has 20 decimal digits */
	int ndigits = 0;
	char sign = 0;
	int prefix_len = 0;

	/* C: precision 0 with value 0 prints no digits at all. */
	if (!(value == 0 && sp->precision == 0)) {
		do {
			tmp[ndigits++] = digits[value % base];
			value /= base;
		} while (value);
	}
	if (negative)
		sign = '-';
	else if (sp->plus)
		sign = '+';
	else if (sp->space)
		sign = ' ';
	while (prefix && prefix[prefix_len])
		prefix_len++;

	int precision_zeros =
	    sp->precision > ndigits ? sp->precision - ndigits : 0;
	int body = (sign ? 1 : 0) + prefix_len + precision_zeros + ndigits;
	int pad = sp->width > body ? sp->width - body : 0;
	/* C: the '0' flag is ignored with '-' or with a precision. */
	bool zero_pad = sp->zero && !sp->left && sp->precision < 0;

	if (!sp->left && !zero_pad)
		out_repeat(o, ' ', pad);
	if (sign)
		out_char(o, sign);
	for (int i = 0; i < prefix_len; i++)
		out_char(o, prefix[i]);
	if (zero_pad)
		out_repeat(o, '0', pad);
	out_repeat(o, '0', precision_zeros);
	while (ndigits > 0)
		out_char(o, tmp[--ndigits]);
	if (sp->left)
		out_repeat(o, ' ', pad);
}

static const char *parse_flags(const char *f, struct fmt_spec *sp)
{
	for (;; f++) {
		switch (*f) {
		case '-':
			sp->left = true;
			break;
		case '0':
			sp->zero = true;
			break;
		case '+':
			sp->plus = true;
			break;
		case ' ':
			sp->space = true;
			break;
		case '#':
			sp->alternate = true;
			break;
		default:
			return f;
		}
	}
}

static const char *parse_decimal(const char *f, int *value)
{
	int v = 0;

	while (*f >= '0' && *f <= '9') {
		if (v < WIDTH_LIMIT / 10)
			v = v * 10 + (*f - '0');
		f++;
	}
	*value = v;
	return f;
}

static const char *parse_length(const char *f, enum fmt_length *len)
{
	*len = LEN_INT;
	if (f[0] == 'h' && f[1] == 'h') {
		*len = LEN_CHAR;
		return f + 2;
	}
	if (f[0] == 'l' && f[1] == 'l') {
		*len = LEN_LLONG;
		return f + 2;
	}
	switch (*f) {
	case 'h':
		*len = LEN_SHORT;
		return f + 1;
	case 'l':
		*len = LEN_LONG;
		return f + 1;
	case 'z':
		*len = LEN_SIZE;
		return f + 1;
	default:
		return f;
	}
}

/* Fetches a signed argument of the given length, widened to 64 bits. */
static i64 arg_signed(va_list *ap, enum fmt_length len)
{
	switch (len) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
		/* The signed type corresponding to size_t. */
		return (i64)va_arg(*ap, size_t);
	case LEN_INT:
	default:
		return va_arg(*ap, int);
	}
}

static u64 arg_unsigned(va_list *ap, enum fmt_length len)
{
	switch (len) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	case LEN_INT:
	default:
		return va_arg(*ap, unsigned int);
	}
}

/*
 * Handles one conversion starting just after '%'; returns the position after
 * it.  An unknown conversion is copied to the output as written, so a
 * mistake shows up in the text instead of silently eating arguments.
 */
static const char *format_one(struct fmt_out *o, const char *start, va_list *ap)
{
	struct fmt_spec sp = {.precision = -1};
	enum fmt_length len;
	const char *f = parse_flags(start, &sp);

	if (*f == '*') {
		int w = va_arg(*ap, int);

		if (w < 0) { /* C: a negative '*' width means the '-' flag */
			sp.left = true;
			/* -w overflows for INT_MIN: clamp like parse_decimal */
			w = w < -WIDTH_LIMIT ? WIDTH_LIMIT : -w;
		}
		sp.width = w > WIDTH_LIMIT ? WIDTH_LIMIT : w;
		f++;
	} else {
		f = parse_decimal(f, &sp.width);
	}
	if (*f == '.') {
		f++;
		if (*f == '*') {
			sp.precision = va_arg(*ap, int);
			if (sp.precision < 0) /* C: as if omitted */
				sp.precision = -1;
			f++;
		} else {
			f = parse_decimal(f, &sp.precision);
		}
	}
	f = parse_length(f, &len);

	switch (*f) {
	case 'd':
	case 'i': {
		i64 v = arg_signed(ap, len);
		u64 magnitude = v < 0 ? 0 - (u64)v : (u64)v;

		out_number(o, &sp, magnitude, v < 0, 10, false, NULL);
		break;
	}
	case 'u':
		out_number(o, &sp, arg_unsigned(ap, len), false, 10, false,
			   NULL);
		break;
	case 'x':
	case 'X': {
		bool upper = *f == 'X';
		u64 v = arg_unsigned(ap, len);
		const char *prefix = NULL;

		if (sp.alternate && v != 0)
			prefix = upper ? "0X" : "0x";
		sp.plus = sp.space = false;
		out_number(o, &sp, v, false, 16, upper, prefix);
		break;
	}
	case 'p':
		sp.plus = sp.space = false;
		out_number(o, &sp, (u64)(uintptr_t)va_arg(*ap, void *), false,
			   16, false, "0x");
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		if (!sp.left)
			out_repeat(o, ' ', sp.width - 1);
		out_char(o, c);
		if (sp.left)
			out_repeat(o, ' ', sp.width - 1);
		break;
	}
	case 's':
		out_string(o, &sp, va_arg(*ap, const char *));
		break;
	case '%':
		out_char(o, '%');
		break;
	default:
		/* Unknown or missing conversion: echo what was written. */
		out_char(o, '%');
		for (const char *p = start; p < f; p++)
			out_char(o, *p);
		if (*f == '\0')
			return f;
		out_char(o, *f);
		break;
	}
	return f + 1;
}

int vsnformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = {.buf = buf, .size = size, .len = 0};
	va_list args;

	/* A copy, so that helpers can take its address portably. */
	va_copy(args, ap);
	while (*fmt) {
		if (*fmt != '%') {
			out_char(&o, *fmt++);
			continue;
		}
		fmt = format_one(&o, fmt + 1, &args);
	}
	va_end(args);

	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int snformat(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int format_error(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnformat(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
