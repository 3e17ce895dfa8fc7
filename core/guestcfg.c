/* SPDX-License-Identifier: MIT */
#include "core/guestcfg.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

static const char *find_char(const char *s, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool parse_number(const char *s, size_t len, u64 *out)
{
	u64 v = 0;
	u32 base = 10;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		char c = s[i];
		u32 d;

		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (u32)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return false;
		if (v > (~0ull - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

bool guestcfg_parse_size(const char *s, size_t len, u64 *out)
{
	u32 shift = 0;
	u64 v;

	if (len == 0)
		return false;
	switch (s[len - 1]) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift)
		len--;
	if (!parse_number(s, len, &v) || (shift && v > (~0ull >> shift)))
		return false;
	*out = v << shift;
	return true;
}

static void copy_field(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

bool guestcfg_valid_name(const char *s, size_t len)
{
	if (len == 0 || len >= GUESTCFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

/* The base name of PATH without its extension, as the default name. */
static void default_name(struct guest_cfg *cfg, const char *path, size_t len)
{
	size_t start = 0, end = len;

	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			start = i + 1;
	for (size_t i = len; i > start; i--) {
		if (path[i - 1] == '.') {
			end = i - 1;
			break;
		}
	}
	if (end <= start || !guestcfg_valid_name(path + start, end - start)) {
		copy_field(cfg->name, sizeof(cfg->name), "guest", 5);
		return;
	}
	copy_field(cfg->name, sizeof(cfg->name), path + start, end - start);
}

/*
 * vcpus=N: decimal digits only. A long run of digits saturates rather than
 * failing, so that "vcpus=99999999999" is told it is too many, not that it
 * is no number.
 */
static bool parse_count(const char *s, size_t len, u32 *out)
{
	u64 v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v <= 0xffffffffull)
			v = v * 10 + (u64)(s[i] - '0');
	}
	*out = v > 0xffffffffull ? 0xffffffffu : (u32)v;
	return true;
}

bool guestcfg_raw_by_name(const char *path, size_t len)
{
	static const char suffix[] = ".bin";
	size_t n = sizeof(suffix) - 1;

	return len >= n && memcmp(path + len - n, suffix, n) == 0;
}

/* devices=LIST (struct guest_cfg): names each once, separated by commas
 * (spaces around them allowed), or "none" alone. */
static int set_devices(struct guest_cfg *cfg, const char *v, size_t vlen,
		       char *err, size_t errlen)
{
	static const struct {
		const char *name;
		u32 bit;
	} known[] = {{"virtio-console", GUEST_DEV_VIRTIO_CONSOLE},
		     {"virtio-net", GUEST_DEV_VIRTIO_NET}};
	u32 devices = 0;

	if (vlen == 4 && memcmp(v, "none", 4) == 0) {
		cfg->devices = 0;
		return 0;
	}
	for (size_t at = 0; at <= vlen;) {
		size_t end = at, n;
		u32 bit = 0;

		while (end < vlen && v[end] != ',')
			end++;
		n = end - at;
		/* "a, b" in the configuration file: spaces around names. */
		for (; n && v[at] == ' '; n--)
			at++;
		while (n && v[at + n - 1] == ' ')
			n--;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (n == strlen(known[k].name) &&
			    memcmp(v + at, known[k].name, n) == 0)
				bit = known[k].bit;
		if (!bit) {
			snformat(err, errlen,
				 "devices: '%.*s' is not a device (known: "
				 "virtio-console, virtio-net, or none)",
				 (int)n, v + at);
			return -1;
		}
		if (devices & bit) {
			snformat(err, errlen, "devices: '%.*s' given twice",
				 (int)n, v + at);
			return -1;
		}
		devices |= bit;
		at = end + 1;
	}
	cfg->devices = devices;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* yes or no, into *out; false (and *out unchanged) for anything else. */
static bool parse_yes_no(const char *v, size_t vlen, bool *out)
{
	if (vlen == 3 && memcmp(v, "yes", 3) == 0)
		*out = true;
	else if (vlen == 2 && memcmp(v, "no", 2) == 0)
		*out = false;
	else
		return false;
	return true;
}

/* BB:DD.F: two hex digits of bus, two of device (up to 1f), one of
 * function (up to 7); the PCI requester ID. False when it is not that. */
static bool parse_bdf(const char *v, size_t vlen, u16 *bdf)
{
	int b1, b0, d1, d0, f;

	if (vlen != 7 || v[2] != ':' || v[5] != '.')
		return false;
	b1 = hex_digit(v[0]);
	b0 = hex_digit(v[1]);
	d1 = hex_digit(v[3]);
	d0 = hex_digit(v[4]);
	f = hex_digit(v[6]);
	if (b1 < 0 || b0 < 0 || d1 < 0 || d0 < 0 || f < 0 || f > 7 ||
	    (d1 << 4 | d0) > 0x1f)
		return false;
	*bdf = (u16)((b1 << 4 | b0) << 8 | (d1 << 4 | d0) << 3 | f);
	return true;
}

/* pci=BB:DD.F[,BB:DD.F...] (struct guest_cfg): host PCI functions, each
 * once, at most GUESTCFG_PCI_MAX. */
static int set_pci(struct guest_cfg *cfg, const char *v, size_t vlen, char *err,
		   size_t errlen)
{
	u32 n = 0;

	for (size_t at = 0; at <= vlen;) {
		const char *comma = find_char(v + at, vlen - at, ',');
		size_t end = comma ? (size_t)(comma - v) : vlen;
		size_t next = end + 1;
		u16 bdf;

		/* The configuration file may put spaces after the commas. */
		while (at < end && v[at] == ' ')
			at++;
		while (end > at && v[end - 1] == ' ')
			end--;
		if (!parse_bdf(v + at, end - at, &bdf)) {
			snformat(err, errlen,
				 "pci: '%.*s' is not a PCI address "
				 "(bus:device.function in hex, e.g. 00:03.0)",
				 (int)(end - at), v + at);
			return -1;
		}
		for (u32 i = 0; i < n; i++)
			if (cfg->pci[i] == bdf) {
				snformat(err, errlen, "pci: %.*s given twice",
					 (int)(end - at), v + at);
				return -1;
			}
		if (n == GUESTCFG_PCI_MAX) {
			snformat(err, errlen,
				 "pci: more than %u devices for one guest",
				 GUESTCFG_PCI_MAX);
			return -1;
		}
		cfg->pci[n++] = bdf;
		at = next;
	}
	cfg->pci_count = n;
	return 0;
}

/* mac=XX:XX:XX:XX:XX:XX (struct guest_cfg): six bytes of two hex digits,
 * colons between; unicast (bit 0 of the first byte clear, IEEE 802-2014
 * 8.2) and not all zeros. */
static int set_mac(struct guest_cfg *cfg, const char *v, size_t vlen, char *err,
		   size_t errlen)
{
	u8 mac[GUESTCFG_MAC_LEN], any = 0;

	for (u32 i = 0; i < GUESTCFG_MAC_LEN; i++) {
		const char *b = v + i * 3;
		int hi, lo;

		if (vlen != GUESTCFG_MAC_LEN * 3 - 1 || (i && b[-1] != ':') ||
		    (hi = hex_digit(b[0])) < 0 || (lo = hex_digit(b[1])) < 0) {
			snformat(err, errlen,
				 "mac: '%.*s' is not a MAC address (six hex "
				 "bytes with colons: 02:00:00:00:00:01)",
				 (int)vlen, v);
			return -1;
		}
		mac[i] = (u8)(hi << 4 | lo);
		any |= mac[i];
	}
	if ((mac[0] & 1) || !any) {
		snformat(err, errlen,
			 "mac: %.*s is %s; a NIC needs a unicast address",
			 (int)vlen, v,
			 any ? "a multicast address" : "all zeros");
		return -1;
	}
	memcpy(cfg->mac, mac, sizeof(mac));
	cfg->mac_given = true;
	return 0;
}

int guestcfg_set(struct guest_cfg *cfg, const char *key, size_t klen,
		 const char *v, size_t vlen, bool *mode_given, char *err,
		 size_t errlen)
{
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY("name")) {
		if (!guestcfg_valid_name(v, vlen)) {
			snformat(err, errlen,
				 "name: '%.*s' is not 1-%d letters, digits, "
				 "'-', '_' or '.'",
				 (int)vlen, v, GUESTCFG_NAME_MAX - 1);
			return -1;
		}
		copy_field(cfg->name, sizeof(cfg->name), v, vlen);
	} else if (KEY("mem")) {
		if (!guestcfg_parse_size(v, vlen, &cfg->mem) ||
		    cfg->mem < GUESTCFG_MIN_MEM ||
		    !IS_ALIGNED(cfg->mem, PAGE_SIZE)) {
			snformat(err, errlen,
				 "mem: '%.*s' is not a size of at least 2M in "
				 "whole 4K pages",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("format")) {
		if (vlen == 3 && memcmp(v, "elf", 3) == 0) {
			cfg->format = GUEST_FORMAT_ELF;
		} else if (vlen == 3 && memcmp(v, "raw", 3) == 0) {
			cfg->format = GUEST_FORMAT_RAW;
		} else if (vlen == 5 && memcmp(v, "linux", 5) == 0) {
			cfg->format = GUEST_FORMAT_LINUX;
		} else {
			snformat(err, errlen,
				 "format: '%.*s' is not elf, raw or linux",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("load")) {
		if (!parse_number(v, vlen, &cfg->load)) {
			snformat(err, errlen, "load: '%.*s' is not a number",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("mode")) {
		*mode_given = true;
		if (vlen == 4 && memcmp(v, "real", 4) == 0) {
			cfg->real_mode = true;
		} else if (vlen == 9 && memcmp(v, "protected", 9) == 0) {
			cfg->real_mode = false;
		} else {
			snformat(err, errlen,
				 "mode: '%.*s' is not real or protected",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("clock")) {
		if (vlen == 7 && memcmp(v, "virtual", 7) == 0) {
			cfg->virtual_clock = true;
		} else if (vlen == 4 && memcmp(v, "host", 4) == 0) {
			cfg->virtual_clock = false;
		} else {
			snformat(err, errlen,
				 "clock: '%.*s' is not virtual or host",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("pv")) {
		if (vlen == 3 && memcmp(v, "kvm", 3) == 0) {
			cfg->pv = GUEST_PV_KVM;
		} else if (vlen == 4 && memcmp(v, "none", 4) == 0) {
			cfg->pv = GUEST_PV_NONE;
		} else {
			snformat(err, errlen, "pv: '%.*s' is not kvm or none",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("vcpus")) {
		u32 n;

		if (!parse_count(v, vlen, &n)) {
			snformat(err, errlen, "vcpus: '%.*s' is not a number",
				 (int)vlen, v);
			return -1;
		}
		if (n == 0) {
			snformat(err, errlen,
				 "vcpus: %.*s: a guest has at least one vCPU",
				 (int)vlen, v);
			return -1;
		}
		if (n > GUESTCFG_VCPUS_MAX) {
			snformat(err, errlen,
				 "vcpus: %.*s: a guest has at most %d vCPUs",
				 (int)vlen, v, GUESTCFG_VCPUS_MAX);
			return -1;
		}
		cfg->vcpus = n;
	} else if (KEY("shared")) {
		if (!parse_yes_no(v, vlen, &cfg->shared)) {
			snformat(err, errlen, "shared: '%.*s' is not yes or no",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("weight")) {
		u32 n;

		if (!parse_count(v, vlen, &n)) {
			snformat(err, errlen, "weight: '%.*s' is not a number",
				 (int)vlen, v);
			return -1;
		}
		if (n == 0 || n > GUESTCFG_WEIGHT_MAX) {
			snformat(err, errlen,
				 "weight: %.*s: a weight is 1 to %u (default "
				 "%u)",
				 (int)vlen, v, GUESTCFG_WEIGHT_MAX,
				 GUESTCFG_WEIGHT_DEFAULT);
			return -1;
		}
		cfg->weight = n;
	} else if (KEY("for")) {
		if (!guestcfg_valid_name(v, vlen)) {
			snformat(err, errlen, "for: '%.*s' is not a guest name",
				 (int)vlen, v);
			return -1;
		}
		copy_field(cfg->for_guest, sizeof(cfg->for_guest), v, vlen);
	} else if (KEY("disk")) {
		if (vlen == 2 && memcmp(v, "rw", 2) == 0) {
			cfg->disk = GUEST_DISK_RW;
		} else if (vlen == 2 && memcmp(v, "ro", 2) == 0) {
			cfg->disk = GUEST_DISK_RO;
		} else {
			snformat(err, errlen,
				 "disk: '%.*s' is not rw or ro (a disk of the "
				 "guest for= names)",
				 (int)vlen, v);
			return -1;
		}
	} else if (KEY("devices")) {
		return set_devices(cfg, v, vlen, err, errlen);
	} else if (KEY("mac")) {
		return set_mac(cfg, v, vlen, err, errlen);
	} else if (KEY("pci")) {
		return set_pci(cfg, v, vlen, err, errlen);
	} else if (KEY("pci_unsafe")) {
		if (!parse_yes_no(v, vlen, &cfg->pci_unsafe)) {
			snformat(err, errlen,
				 "pci_unsafe: '%.*s' is not yes or no",
				 (int)vlen, v);
			return -1;
		}
	} else {
		return 1;
	}
#undef KEY
	return 0;
}

/* One word of a module string: key=value, or an error naming it. */
static int apply_option(struct guest_cfg *cfg, const char *tok, size_t len,
			bool *mode_given, char *err, size_t errlen)
{
	const char *eq = find_char(tok, len, '=');
	size_t klen;
	int rc;

	if (!eq) {
		snformat(err, errlen,
			 "unknown option '%.*s' (expected key=value)", (int)len,
			 tok);
		return -1;
	}
	klen = (size_t)(eq - tok);
	rc = guestcfg_set(cfg, tok, klen, eq + 1, len - klen - 1, mode_given,
			  err, errlen);
	if (rc > 0) {
		snformat(err, errlen, "unknown option '%.*s'", (int)len, tok);
		return -1;
	}
	return rc;
}

void guestcfg_defaults(struct guest_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem = GUESTCFG_DEFAULT_MEM;
	cfg->format = GUEST_FORMAT_ELF;
	cfg->load = GUESTCFG_RAW_LOAD;
	cfg->vcpus = 1;
	cfg->on_poweroff = GUEST_POLICY_STOP;
	cfg->on_reboot = GUEST_POLICY_RESTART;
	cfg->on_crash = GUEST_POLICY_STOP;
	cfg->max_restarts = GUESTCFG_RESTARTS_UNLIMITED;
	copy_field(cfg->name, sizeof(cfg->name), "guest", 5);
}

int guestcfg_finish(struct guest_cfg *cfg, bool mode_given, char *err,
		    size_t errlen)
{
	/*
	 * A raw image starts in real mode unless mode= says otherwise, whatever
	 * the order of the words. A multiboot ELF always starts in protected
	 * mode (multiboot spec 3.2), so mode=real there would be ignored.
	 */
	if (!mode_given)
		cfg->real_mode = cfg->format == GUEST_FORMAT_RAW;
	else if (cfg->real_mode && cfg->format == GUEST_FORMAT_ELF) {
		snformat(err, errlen,
			 "mode: real needs format=raw (an ELF guest starts in "
			 "protected mode)");
		return -1;
	}
	if (cfg->format == GUEST_FORMAT_RAW &&
	    (cfg->load >= cfg->mem ||
	     (cfg->real_mode && cfg->load >= MiB(1)))) {
		snformat(err, errlen,
			 "load: 0x%llx is outside the guest's RAM%s",
			 (unsigned long long)cfg->load,
			 cfg->real_mode ? " below 1 MiB (real mode)" : "");
		return -1;
	}
	if (cfg->disk && !cfg->for_guest[0]) {
		snformat(
		    err, errlen,
		    "disk: only a module of a guest (for=GUEST) is a disk");
		return -1;
	}
	if (cfg->weight && !cfg->shared) {
		snformat(err, errlen,
			 "weight: only a guest with shared=yes has a weight (a "
			 "partitioned guest has its CPUs to itself)");
		return -1;
	}
	if (cfg->mac_given && !(cfg->devices & GUEST_DEV_VIRTIO_NET)) {
		snformat(err, errlen,
			 "mac: only a guest with devices=virtio-net has a MAC");
		return -1;
	}
	if (!cfg->weight)
		cfg->weight = GUESTCFG_WEIGHT_DEFAULT;
	return 0;
}

int guestcfg_parse(const char *modstr, struct guest_cfg *cfg, char *err,
		   size_t errlen)
{
	const char *p = modstr;
	bool have_path = false, mode_given = false;
	size_t cmdline_len;

	guestcfg_defaults(cfg);
	for (;;) {
		const char *tok;
		size_t len;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		tok = p;
		while (*p && !is_space(*p))
			p++;
		len = (size_t)(p - tok);
		if (len == 2 && tok[0] == '-' && tok[1] == '-') {
			while (is_space(*p))
				p++;
			cmdline_len = strlen(p);
			if (cmdline_len >= sizeof(cfg->cmdline)) {
				snformat(err, errlen,
					 "command line: %zu bytes after '--', "
					 "at most %zu",
					 cmdline_len, sizeof(cfg->cmdline) - 1);
				return -1;
			}
			copy_field(cfg->cmdline, sizeof(cfg->cmdline), p,
				   cmdline_len);
			break;
		}
		if (!have_path && !find_char(tok, len, '=')) {
			have_path = true;
			if (len >= sizeof(cfg->path)) {
				snformat(err, errlen,
					 "path: %zu bytes, at most %zu", len,
					 sizeof(cfg->path) - 1);
				return -1;
			}
			copy_field(cfg->path, sizeof(cfg->path), tok, len);
			default_name(cfg, tok, len);
			if (guestcfg_raw_by_name(tok, len))
				cfg->format = GUEST_FORMAT_RAW;
			continue;
		}
		have_path = true;
		if (apply_option(cfg, tok, len, &mode_given, err, errlen))
			return -1;
	}
	return guestcfg_finish(cfg, mode_given, err, errlen);
}
