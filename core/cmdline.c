/* SPDX-License-Identifier: MIT */
/*
 * Parsing of the hypervisor command line (see core/cmdline.h).
 *
 * Words are handled in place as (pointer, length) pairs: nothing is copied,
 * so the parser needs no buffer and no limit on word length.  Each option is
 * one row of cmdline_options[]; adding an option is adding a row.
 */
#include "core/cmdline.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

struct word {
	const char *s;
	size_t len;
};

struct option_def {
	const char *name;
	bool takes_value;
	/* Applies the value (empty for options without one); 0 or -1. */
	int (*apply)(struct word value, struct hv_options *o, char *err,
		     size_t errlen);
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool word_equals(struct word w, const char *s)
{
	size_t n = strlen(s);

	return w.len == n && memcmp(w.s, s, n) == 0;
}

static bool word_ends_with(struct word w, const char *suffix)
{
	size_t n = strlen(suffix);

	return w.len >= n && memcmp(w.s + w.len - n, suffix, n) == 0;
}

static bool word_contains(struct word w, char c)
{
	for (size_t i = 0; i < w.len; i++) {
		if (w.s[i] == c)
			return true;
	}
	return false;
}

/* Parses the whole word as a number in base 10 or 16 (digits only). */
static bool word_to_u64(struct word w, unsigned base, u64 *out)
{
	u64 v = 0;

	if (w.len == 0)
		return false;
	for (size_t i = 0; i < w.len; i++) {
		char c = w.s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false; /* overflow */
		v = v * base + d;
	}
	*out = v;
	return true;
}

static int apply_serial(struct word value, struct hv_options *o, char *err,
			size_t errlen)
{
	static const u16 com_ports[] = {COM1_PORT, COM2_PORT, COM3_PORT,
					COM4_PORT};
	u64 port;

	if (value.len == 5 && memcmp(value.s, "ttyS", 4) == 0 &&
	    value.s[4] >= '0' && value.s[4] <= '3') {
		o->serial_port = com_ports[value.s[4] - '0'];
		return 0;
	}
	if (value.len > 2 &&
	    (memcmp(value.s, "0x", 2) == 0 || memcmp(value.s, "0X", 2) == 0)) {
		struct word digits = {value.s + 2, value.len - 2};

		if (!word_to_u64(digits, 16, &port))
			goto bad;
		/* A 16550 decodes 8 consecutive ports: all must exist. */
		if (port == 0 || port > 0xfff8) {
			snformat(err, errlen,
				 "serial: port '%.*s' is outside 0x1-0xfff8",
				 (int)value.len, value.s);
			return -1;
		}
		o->serial_port = (u16)port;
		return 0;
	}
bad:
	snformat(err, errlen,
		 "serial: '%.*s' is not ttyS0-ttyS3 or a hex port like 0x3f8",
		 (int)value.len, value.s);
	return -1;
}

static int apply_baud(struct word value, struct hv_options *o, char *err,
		      size_t errlen)
{
	u64 baud;

	if (!word_to_u64(value, 10, &baud) || baud == 0) {
		snformat(err, errlen, "baud: '%.*s' is not a positive number",
			 (int)value.len, value.s);
		return -1;
	}
	if (!baud_possible(baud)) {
		snformat(err, errlen,
			 "baud: %.*s does not divide %u evenly (the UART's "
			 "divisor is an integer)",
			 (int)value.len, value.s, UART_BASE_BAUD);
		return -1;
	}
	o->baud = (u32)baud;
	return 0;
}

static int apply_smp(struct word value, struct hv_options *o, char *err,
		     size_t errlen)
{
	u64 n;

	if (!word_to_u64(value, 10, &n) || n == 0 || n > UINT32_MAX) {
		snformat(err, errlen,
			 "smp: '%.*s' is not a CPU count of 1 or more",
			 (int)value.len, value.s);
		return -1;
	}
	o->max_cpus = (u32)n;
	return 0;
}

static int apply_nosmp(struct word value, struct hv_options *o, char *err,
		       size_t errlen)
{
	(void)value;
	(void)err;
	(void)errlen;
	o->max_cpus = 1;
	return 0;
}

static int apply_selftest(struct word value, struct hv_options *o, char *err,
			  size_t errlen)
{
	if (word_equals(value, "fault")) {
		o->selftest = SELFTEST_FAULT;
		return 0;
	}
	if (word_equals(value, "iommu")) {
		o->selftest = SELFTEST_IOMMU;
		return 0;
	}
	snformat(err, errlen, "selftest: '%.*s' is not 'fault' or 'iommu'",
		 (int)value.len, value.s);
	return -1;
}

static int apply_stats(struct word value, struct hv_options *o, char *err,
		       size_t errlen)
{
	u64 seconds;

	if (!word_to_u64(value, 10, &seconds) || seconds > STATS_MAX_SECONDS) {
		snformat(err, errlen,
			 "stats: '%.*s' is not a number of seconds from 0 to "
			 "%u",
			 (int)value.len, value.s, STATS_MAX_SECONDS);
		return -1;
	}
	o->stats_seconds = (u32)seconds;
	return 0;
}

/* NAME=on|off into *flag; the error names the option. */
static int on_off(const char *name, struct word value, bool *flag, char *err,
		  size_t errlen)
{
	if (word_equals(value, "on") || word_equals(value, "off")) {
		*flag = word_equals(value, "on");
		return 0;
	}
	snformat(err, errlen, "%s: '%.*s' is not 'on' or 'off'", name,
		 (int)value.len, value.s);
	return -1;
}

static int apply_shell(struct word value, struct hv_options *o, char *err,
		       size_t errlen)
{
	return on_off("shell", value, &o->shell, err, errlen);
}

static int apply_color(struct word value, struct hv_options *o, char *err,
		       size_t errlen)
{
	return on_off("color", value, &o->color, err, errlen);
}

static int apply_iommu(struct word value, struct hv_options *o, char *err,
		       size_t errlen)
{
	return on_off("iommu", value, &o->iommu, err, errlen);
}

static int apply_apicv(struct word value, struct hv_options *o, char *err,
		       size_t errlen)
{
	return on_off("apicv", value, &o->apicv, err, errlen);
}

static int apply_log(struct word value, struct hv_options *o, char *err,
		     size_t errlen)
{
	if (log_level_parse(value.s, value.len, &o->log_level)) {
		o->log_level_given = true;
		return 0;
	}
	snformat(err, errlen, "log: '%.*s' is not error, info or debug",
		 (int)value.len, value.s);
	return -1;
}

static const struct option_def cmdline_options[] = {
    {"color", true, apply_color},	{"shell", true, apply_shell},
    {"serial", true, apply_serial},	{"baud", true, apply_baud},
    {"smp", true, apply_smp},		{"nosmp", false, apply_nosmp},
    {"selftest", true, apply_selftest}, {"stats", true, apply_stats},
    {"log", true, apply_log},		{"iommu", true, apply_iommu},
    {"apicv", true, apply_apicv},
};

void cmdline_defaults(struct hv_options *o)
{
	o->serial_port = COM1_PORT;
	o->baud = UART_BASE_BAUD;
	o->max_cpus = 0;
	o->selftest = SELFTEST_NONE;
	o->stats_seconds = 0;
	o->shell = true;
	o->color = false;
	o->iommu = true;
	o->apicv = true;
	o->log_level_given = false;
	o->log_level = LOG_INFO;
}

/* Returns the next word at or after *pos, advancing *pos past it. */
static struct word next_word(const char **pos)
{
	const char *p = *pos;
	struct word w;

	while (*p && is_space(*p))
		p++;
	w.s = p;
	while (*p && !is_space(*p))
		p++;
	w.len = (size_t)(p - w.s);
	*pos = p;
	return w;
}

static int apply_word(struct word w, struct hv_options *o, char *err,
		      size_t errlen)
{
	struct word name = w, value = {w.s + w.len, 0};
	bool has_value = false;

	for (size_t i = 0; i < w.len; i++) {
		if (w.s[i] == '=') {
			name.len = i;
			value.s = w.s + i + 1;
			value.len = w.len - i - 1;
			has_value = true;
			break;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmdline_options); i++) {
		const struct option_def *def = &cmdline_options[i];

		if (!word_equals(name, def->name))
			continue;
		if (def->takes_value && (!has_value || value.len == 0)) {
			snformat(err, errlen, "%s: needs a value (%s=...)",
				 def->name, def->name);
			return -1;
		}
		if (!def->takes_value && has_value) {
			snformat(err, errlen, "%s: takes no value, got '%.*s'",
				 def->name, (int)w.len, w.s);
			return -1;
		}
		return def->apply(value, o, err, errlen);
	}
	snformat(err, errlen, "unknown option '%.*s'", (int)w.len, w.s);
	return -1;
}

int cmdline_parse(const char *s, struct hv_options *o, char *err, size_t errlen)
{
	const char *pos = s ? s : "";
	struct word w;
	bool first = true;

	cmdline_defaults(o);
	if (errlen > 0)
		err[0] = '\0';
	for (w = next_word(&pos); w.len > 0; w = next_word(&pos)) {
		/* QEMU -kernel and GRUB both start with the image path. */
		if (first && !word_contains(w, '=') &&
		    (word_contains(w, '/') || word_ends_with(w, ".elf"))) {
			first = false;
			continue;
		}
		first = false;
		if (apply_word(w, o, err, errlen) < 0)
			return -1;
	}
	return 0;
}
