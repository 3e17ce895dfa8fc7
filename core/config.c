/* SPDX-License-Identifier: MIT */
/*
 * The configuration file (contract in core/config.h, format in
 * docs/config.md).
 *
 * The text is read in place, one line at a time, as (pointer, length)
 * pairs; a value is unquoted into one line-sized buffer on the stack. A
 * guest's keys go straight into its guest_image; the line of each key is
 * kept, so that a check that needs several keys (or every guest) can name
 * the line that is wrong. Checking goes on after an error, so that one
 * pass reports them all.
 */
#include "core/config.h"
#include "core/cmdline.h"
#include "core/linux_spec.h"
#include "core/serialport.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

/* ---- the keys ---- */

enum guest_key {
	GK_KERNEL,
	GK_CMDLINE,
	GK_INITRD,
	GK_MODULE,
	GK_MEM,
	GK_FORMAT,
	GK_LOAD,
	GK_MODE,
	GK_CLOCK,
	GK_PV,
	GK_CPU,
	GK_VCPUS,
	GK_SHARED,
	GK_WEIGHT,
	GK_CONSOLE,
	GK_ON_POWEROFF,
	GK_ON_REBOOT,
	GK_ON_CRASH,
	GK_MAX_RESTARTS,
	GK_START,
	GK_DEVICES,
	GK_DISK,
	GK_MAC,
	GK_PCI,
	GK_PCI_UNSAFE,
	GK_COUNT
};

static const char *const guest_keys[GK_COUNT] = {
    [GK_KERNEL] = "kernel",
    [GK_CMDLINE] = "cmdline",
    [GK_INITRD] = "initrd",
    [GK_MODULE] = "module",
    [GK_MEM] = "mem",
    [GK_FORMAT] = "format",
    [GK_LOAD] = "load",
    [GK_MODE] = "mode",
    [GK_CLOCK] = "clock",
    [GK_PV] = "pv",
    [GK_CPU] = "cpu",
    [GK_VCPUS] = "vcpus",
    [GK_SHARED] = "shared",
    [GK_WEIGHT] = "weight",
    [GK_CONSOLE] = "console",
    [GK_ON_POWEROFF] = "on_poweroff",
    [GK_ON_REBOOT] = "on_reboot",
    [GK_ON_CRASH] = "on_crash",
    [GK_MAX_RESTARTS] = "max_restarts",
    [GK_START] = "start",
    [GK_DEVICES] = "devices",
    [GK_DISK] = "disk",
    [GK_MAC] = "mac",
    [GK_PCI] = "pci",
    [GK_PCI_UNSAFE] = "pci_unsafe",
};

enum veneer_key {
	VK_STATS,
	VK_BAUD,
	VK_SERIAL,
	VK_SMP,
	VK_LOG_LEVEL,
	VK_SHELL,
	VK_COLOR,
	VK_COUNT
};

static const char *const veneer_keys[VK_COUNT] = {
    [VK_STATS] = "stats", [VK_BAUD] = "baud",		[VK_SERIAL] = "serial",
    [VK_SMP] = "smp",	  [VK_LOG_LEVEL] = "log_level", [VK_SHELL] = "shell",
    [VK_COLOR] = "color",
};

/* stats = SECONDS: the hypervisor command line's range (core/cmdline.h). */
#define CONFIG_STATS_MAX 86400

enum section { SECTION_NONE, SECTION_VENEER, SECTION_GUEST, SECTION_SKIP };

/* A piece of the text: never NUL-terminated. */
struct span {
	const char *s;
	size_t len;
};

/* The [guest NAME] section being read. */
struct guest_state {
	struct guest_image *gi; /* NULL: over the limit, keys not checked */
	char where[8 + GUESTCFG_NAME_MAX]; /* "guest NAME" in messages */
	u32 guest_line;			   /* its [guest NAME] header */
	u32 key_line[GK_COUNT];		   /* first line of each key; 0: none */
	u32 module_line[GUEST_MODULES_MAX];
	bool mode_given;
	bool vcpus_refused; /* vcpus was given and refused: cfg.vcpus is 1 */
	/* cpu had wrong items: the right ones are still checked (twice, held
	 * by another guest), then the list is dropped (check_cpus). */
	bool cpu_list_bad;
};

struct parser {
	const struct config_env *env;
	struct config_result *res;
	struct guest_image *images;
	u32 max;
	u32 line; /* the line being read, from 1 */
	enum section section;
	u32 veneer_line; /* the [veneer] header; 0: none yet */
	u32 veneer_key_line[VK_COUNT];
	struct guest_state g;
	/* Per guest, for the checks across guests. */
	u32 guest_line[CONFIG_GUESTS_MAX];
	u32 cpu_line[CONFIG_GUESTS_MAX];
	/* The line of its console = comN; 0: the hypervisor console. */
	u32 console_line[CONFIG_GUESTS_MAX];
	/* Host CPUs the guest holds in cfg.cpu[]: listed by its cpu key, or
	 * assigned at the end (assign_cpus); 0 while it has none. */
	u32 cpu_count[CONFIG_GUESTS_MAX];
	/* The line of its start = later; 0: it starts at boot. */
	u32 later_line[CONFIG_GUESTS_MAX];
	u64 mem_used; /* RAM and overhead of the guests so far */
	bool module_used[BOOTINFO_MAX_MODULES];
	/* The line being read, NUL-terminated: messages may quote any span
	 * of it with %.*s, which must not read past the text's end. */
	char text_line[CONFIG_LINE_MAX];
	char value[CONFIG_LINE_MAX]; /* the value being applied, unquoted */
	size_t value_len;
	char msg[CONFIG_MSG_MAX];
};

/* ---- reporting ---- */

/*
 * One error: "FILE:LINE: WHERE: TEXT", without ":LINE" for line 0 and
 * without "WHERE: " when where is NULL.
 */
static void __printf(4, 5) error_at(struct parser *p, u32 line,
				    const char *where, const char *fmt, ...)
{
	const struct config_env *env = p->env;
	va_list ap;
	int n;

	if (p->res->errors++ >= CONFIG_ERRORS_SHOWN || !env->report)
		return;
	if (line)
		n = snformat(p->msg, sizeof(p->msg), "%s:%u: ", env->file,
			     line);
	else
		n = snformat(p->msg, sizeof(p->msg), "%s: ", env->file);
	if (where && n >= 0 && (size_t)n < sizeof(p->msg))
		n += snformat(p->msg + n, sizeof(p->msg) - (size_t)n,
			      "%s: ", where);
	if (n >= 0 && (size_t)n < sizeof(p->msg)) {
		va_start(ap, fmt);
		vsnformat(p->msg + n, sizeof(p->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	env->report(env->ctx, p->msg);
}

/* ---- small helpers ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool span_is(struct span w, const char *s)
{
	size_t n = strlen(s);

	return w.len == n && memcmp(w.s, s, n) == 0;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* A decimal number of at most 10 digits (no sign, no spaces). */
static bool parse_decimal(const char *s, size_t len, u64 *out)
{
	u64 v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (u64)(s[i] - '0');
	}
	*out = v;
	return true;
}

static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The part of a path after its last '/'. */
static struct span base_name(struct span path)
{
	size_t start = 0;

	for (size_t i = 0; i < path.len; i++)
		if (path.s[i] == '/')
			start = i + 1;
	return (struct span){path.s + start, path.len - start};
}

/*
 * Levenshtein distance between a and b, for "did you mean": words longer
 * than 32 bytes are never close to a key (returns a large distance).
 */
#define DISTANCE_WORD_MAX 32
static u32 edit_distance(struct span a, struct span b)
{
	u32 row[DISTANCE_WORD_MAX + 1];

	if (a.len > DISTANCE_WORD_MAX || b.len > DISTANCE_WORD_MAX)
		return 1000;
	for (size_t j = 0; j <= b.len; j++)
		row[j] = (u32)j;
	for (size_t i = 1; i <= a.len; i++) {
		u32 diagonal = row[0];

		row[0] = (u32)i;
		for (size_t j = 1; j <= b.len; j++) {
			u32 above = row[j];
			u32 best = diagonal + (a.s[i - 1] != b.s[j - 1]);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diagonal = above;
			row[j] = best;
		}
	}
	return row[b.len];
}

/*
 * Close enough to suggest: at most 2 edits, or at most half the word, or
 * one is the start of the other (3 bytes or more: "cmd" for "cmdline").
 */
static bool is_close(struct span word, struct span candidate, u32 distance)
{
	size_t shorter = word.len < candidate.len ? word.len : candidate.len;

	if (distance <= 2 || distance * 2 <= word.len + 1)
		return true;
	return shorter >= 3 && memcmp(word.s, candidate.s, shorter) == 0;
}

/* The closest of names[0..count) to word, or NULL when none is close. */
static const char *closest(struct span word, const char *const *names,
			   u32 count)
{
	const char *best = NULL;
	u32 best_distance = ~0u;

	/* The start of a name ("cmd", "init") means that name. */
	for (u32 i = 0; i < count && word.len >= 3; i++)
		if (strlen(names[i]) > word.len &&
		    memcmp(names[i], word.s, word.len) == 0)
			return names[i];
	for (u32 i = 0; i < count; i++) {
		struct span c = {names[i], strlen(names[i])};
		u32 d = edit_distance(word, c);

		if (d < best_distance && is_close(word, c, d)) {
			best = names[i];
			best_distance = d;
		}
	}
	return best;
}

static int key_index(struct span key, const char *const *names, u32 count)
{
	for (u32 i = 0; i < count; i++)
		if (span_is(key, names[i]))
			return (int)i;
	return -1;
}

/* ---- the boot modules ---- */

const char *config_module_path(const char *modstr, size_t *len)
{
	const char *s = modstr;
	size_t n = 0;

	while (is_blank(*s))
		s++;
	while (s[n] && !is_blank(s[n]))
		n++;
	*len = n;
	return s;
}

/* The words of a module string after its first: a pointer to them, or
 * to the terminating NUL. */
static const char *module_rest(const char *modstr)
{
	size_t len;
	const char *s = config_module_path(modstr, &len) + len;

	while (is_blank(*s))
		s++;
	return s;
}

bool config_is_module_string(const char *modstr)
{
	size_t len;
	const char *first = config_module_path(modstr, &len);
	const char *rest = module_rest(modstr);
	struct span w = {first, len};
	size_t n = strlen(CONFIG_MODULE_WORD);

	if (!*rest)
		return span_is(w, CONFIG_MODULE_WORD);
	for (size_t i = 0; i < len; i++)
		if (first[i] == '=')
			return false;
	/* A path, then the word alone (trailing blanks allowed). */
	if (strncmp(rest, CONFIG_MODULE_WORD, n) != 0)
		return false;
	for (rest += n; is_blank(*rest);)
		rest++;
	return !*rest;
}

static u64 module_size(const struct boot_module *m)
{
	return m->end > m->start ? m->end - m->start : 0;
}

/*
 * The module a reference names: its path exactly, else its base name.
 * Returns its index, or -1 after reporting why none (with the closest
 * name) or why more than one.
 */
static int find_module(struct parser *p, const char *key, struct span ref)
{
	const struct config_env *env = p->env;
	int exact = -1, by_base = -1, second = -1;
	bool names_config = false;
	const char *near = NULL;
	u32 near_distance = ~0u;

	for (u32 i = 0; i < env->module_count; i++) {
		size_t len;
		const char *path =
		    config_module_path(env->modules[i].string, &len);
		struct span w = {path, len}, base = base_name(w);
		u32 d;

		if (i == env->config_module) {
			names_config =
			    len &&
			    ((ref.len == len && !memcmp(ref.s, path, len)) ||
			     (ref.len == base.len &&
			      !memcmp(ref.s, base.s, base.len)));
			continue;
		}
		if (!len)
			continue;
		if (ref.len == len && memcmp(ref.s, path, len) == 0) {
			exact = (int)i;
			continue;
		}
		if (ref.len == base.len &&
		    memcmp(ref.s, base.s, base.len) == 0) {
			if (by_base < 0)
				by_base = (int)i;
			else if (second < 0)
				second = (int)i;
			continue;
		}
		d = edit_distance(ref, base);
		/* File names are longer than keys: a third of it at most. */
		if (d < near_distance && (d <= 2 || d * 3 <= ref.len)) {
			near = base.s;
			near_distance = d;
		}
	}
	if (exact < 0 && by_base >= 0 && second < 0)
		exact = by_base;
	if (exact >= 0) {
		p->module_used[exact] = true;
		return exact;
	}
	if (names_config) {
		error_at(p, p->line, p->g.where,
			 "%s: '%.*s' is this configuration file, not a guest's "
			 "file",
			 key, (int)ref.len, ref.s);
		return -1;
	}
	if (by_base >= 0) {
		size_t l1, l2;
		const char *p1 =
		    config_module_path(env->modules[by_base].string, &l1);
		const char *p2 =
		    config_module_path(env->modules[second].string, &l2);

		error_at(p, p->line, p->g.where,
			 "%s: '%.*s' names two modules, %d (%.*s) and %d "
			 "(%.*s): give the whole path",
			 key, (int)ref.len, ref.s, by_base, (int)l1, p1, second,
			 (int)l2, p2);
		return -1;
	}
	if (near) {
		size_t nlen = 0;

		while (near[nlen] && !is_blank(near[nlen]))
			nlen++;
		error_at(p, p->line, p->g.where,
			 "%s: no module '%.*s' (did you mean '%.*s'?)", key,
			 (int)ref.len, ref.s, (int)nlen, near);
	} else {
		error_at(p, p->line, p->g.where,
			 "%s: no module '%.*s' was loaded with the "
			 "configuration",
			 key, (int)ref.len, ref.s);
	}
	return -1;
}

/* ---- [veneer] ---- */

static void veneer_key(struct parser *p, int key)
{
	const char *v = p->value;
	int vlen = (int)p->value_len;
	const char *k = veneer_keys[key];
	u64 n;

	switch (key) {
	case VK_STATS:
		if (!parse_decimal(v, p->value_len, &n) ||
		    n > CONFIG_STATS_MAX) {
			error_at(p, p->line, "veneer",
				 "stats: '%.*s' is not a number of seconds "
				 "from 0 to %u",
				 vlen, v, CONFIG_STATS_MAX);
			return;
		}
		p->res->stats_given = true;
		p->res->stats_seconds = (u32)n;
		return;
	case VK_BAUD:
		/* Set once the file is read: the console changes speed. */
		if (!parse_decimal(v, p->value_len, &n) || !baud_possible(n)) {
			error_at(p, p->line, "veneer",
				 "baud: '%.*s' is not a speed the UART can "
				 "make (%u divided by a whole number: 115200, "
				 "57600, 38400, 19200, 9600 ...)",
				 vlen, v, UART_BASE_BAUD);
			return;
		}
		p->res->baud_given = true;
		p->res->baud = (u32)n;
		return;
	case VK_SERIAL:
	case VK_SMP:
		/* The console and the CPUs are set up before the modules are
		 * read: the command line is the place for these. */
		error_at(p, p->line, "veneer",
			 "%s: %.*s: not supported yet in the configuration "
			 "(Veneer sets it up before reading it): give "
			 "%s=%.*s on the hypervisor command line",
			 k, vlen, v, k, vlen, v);
		return;
	case VK_LOG_LEVEL:
		/* The console's level from the start of the guests on. */
		if (!log_level_parse(v, p->value_len, &p->res->log_level)) {
			error_at(
			    p, p->line, "veneer",
			    "log_level: '%.*s' is not error, info or debug",
			    vlen, v);
			return;
		}
		p->res->log_level_given = true;
		return;
	case VK_COLOR: /* the guests' tags in colour (docs/console.md) */
		if (!span_is((struct span){v, p->value_len}, "on") &&
		    !span_is((struct span){v, p->value_len}, "off")) {
			error_at(p, p->line, "veneer",
				 "color: '%.*s' is not on or off", vlen, v);
			return;
		}
		p->res->color_given = true;
		p->res->color = span_is((struct span){v, p->value_len}, "on");
		return;
	default: /* VK_SHELL: the operator shell (docs/console.md) */
		if (!span_is((struct span){v, p->value_len}, "on") &&
		    !span_is((struct span){v, p->value_len}, "off")) {
			error_at(p, p->line, "veneer",
				 "shell: '%.*s' is not on or off", vlen, v);
			return;
		}
		p->res->shell_given = true;
		p->res->shell = span_is((struct span){v, p->value_len}, "on");
		return;
	}
}

/* ---- [guest NAME] ---- */

static bool value_is(const struct parser *p, const char *s)
{
	return span_is((struct span){p->value, p->value_len}, s);
}

/*
 * console = hypervisor, or a serial port of the guest's own: com1-com4
 * (ttyS0-ttyS3), never Veneer's own console port, one guest per port.
 * Whether a UART answers there is found when the guest is created
 * (core/console.h, console_attach).
 */
static void set_console(struct parser *p)
{
	struct guest_image *gi = p->g.gi;
	u32 self = (u32)(gi - p->images);
	int port;
	u16 base;

	if (value_is(p, "hypervisor")) {
		gi->cfg.console_port = 0;
		return;
	}
	port = serialport_parse(p->value, p->value_len);
	if (port < 0) {
		error_at(p, p->line, p->g.where,
			 "console: '%.*s' is not hypervisor or a serial port "
			 "com1-com4 (ttyS0-ttyS3)",
			 (int)p->value_len, p->value);
		return;
	}
	base = serialport_defs[port].base;
	if (base == p->env->console_port) {
		error_at(p, p->line, p->g.where,
			 "console: %.*s (0x%x) is Veneer's own console: a "
			 "guest cannot have it (serial= on the command line "
			 "moves Veneer's)",
			 (int)p->value_len, p->value, base);
		return;
	}
	for (u32 i = 0; i < self; i++) {
		if (p->images[i].cfg.console_port != base)
			continue;
		error_at(p, p->line, p->g.where,
			 "console: %.*s (0x%x) is already guest %s's (line "
			 "%u): one guest per port",
			 (int)p->value_len, p->value, base,
			 p->images[i].cfg.name, p->console_line[i]);
		return;
	}
	gi->cfg.console_port = base;
	p->console_line[self] = p->line;
}

/* A host PCI function has one owner: not another guest's too. */
static void check_pci_owners(struct parser *p)
{
	const struct guest_cfg *cfg = &p->g.gi->cfg;
	u32 self = (u32)(p->g.gi - p->images);

	for (u32 d = 0; d < cfg->pci_count; d++)
		for (u32 i = 0; i < self; i++)
			for (u32 j = 0; j < p->images[i].cfg.pci_count; j++) {
				u16 bdf = cfg->pci[d];

				if (p->images[i].cfg.pci[j] != bdf)
					continue;
				error_at(p, p->line, p->g.where,
					 "pci: %02x:%02x.%x is already guest "
					 "%s's: one guest per device",
					 bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7,
					 p->images[i].cfg.name);
			}
}

static void set_kernel(struct parser *p)
{
	struct guest_image *gi = p->g.gi;
	struct span ref = {p->value, 0};
	const char *path;
	size_t len;
	int m;

	while (ref.len < p->value_len && !is_blank(p->value[ref.len]))
		ref.len++;
	m = find_module(p, "kernel", ref);
	if (m < 0)
		return;
	if (ref.len < p->value_len) {
		error_at(p, p->line, p->g.where,
			 "kernel: '%.*s' is not one file name (the kernel's "
			 "arguments go in cmdline)",
			 (int)p->value_len, p->value);
		return;
	}
	gi->mod = &p->env->modules[m];
	path = config_module_path(gi->mod->string, &len);
	copy_text(gi->cfg.path, sizeof(gi->cfg.path), path, len);
}

/* initrd = FILE, or module = FILE [ARGS]: the guest's next module. */
static void add_module(struct parser *p, int key)
{
	struct guest_image *gi = p->g.gi;
	const char *k = guest_keys[key];
	struct span ref = {p->value, 0};
	const char *args, *path;
	size_t args_len, path_len;
	struct guest_cfg *mc;
	int m;

	while (ref.len < p->value_len && !is_blank(p->value[ref.len]))
		ref.len++;
	args = p->value + ref.len;
	while (args < p->value + p->value_len && is_blank(*args))
		args++;
	args_len = p->value_len - (size_t)(args - p->value);
	/* Found first: a module named with a mistake is still named. */
	m = find_module(p, k, ref);
	if (m < 0)
		return;
	if (key == GK_INITRD && args_len) {
		error_at(p, p->line, p->g.where,
			 "initrd: '%.*s' is not one file name (an initrd takes "
			 "no arguments)",
			 (int)p->value_len, p->value);
		return;
	}
	if (args_len >= GUESTCFG_CMDLINE_MAX) {
		error_at(p, p->line, p->g.where,
			 "module: its arguments are %zu bytes, at most %u",
			 args_len, GUESTCFG_CMDLINE_MAX - 1);
		return;
	}
	if (gi->module_count == GUEST_MODULES_MAX) {
		error_at(p, p->line, p->g.where,
			 "%s: more than %u modules for one guest", k,
			 GUEST_MODULES_MAX);
		return;
	}
	mc = &gi->module_cfgs[gi->module_count];
	guestcfg_defaults(mc);
	path = config_module_path(p->env->modules[m].string, &path_len);
	copy_text(mc->path, sizeof(mc->path), path, path_len);
	copy_text(mc->cmdline, sizeof(mc->cmdline), args, args_len);
	p->g.module_line[gi->module_count] = p->line;
	gi->modules[gi->module_count++] = &p->env->modules[m];
}

/*
 * disk = FILE, or disk = "FILE ro|rw" (quoted, as module = "FILE ARGS"): a
 * virtio-blk disk of the guest (docs/devices.md),
 * read-write (a private copy) unless `ro`.
 */
static void add_disk(struct parser *p)
{
	struct guest_image *gi = p->g.gi;
	struct span ref = {p->value, 0}, mode;
	const struct boot_module *m;
	bool read_only = false;
	int i;

	while (ref.len < p->value_len && !is_blank(p->value[ref.len]))
		ref.len++;
	mode.s = p->value + ref.len;
	while (mode.s < p->value + p->value_len && is_blank(*mode.s))
		mode.s++;
	mode.len = p->value_len - (size_t)(mode.s - p->value);
	i = find_module(p, "disk", ref);
	if (i < 0)
		return;
	m = &p->env->modules[i];
	if (mode.len == 2 && !memcmp(mode.s, "ro", 2)) {
		read_only = true;
	} else if (mode.len && !(mode.len == 2 && !memcmp(mode.s, "rw", 2))) {
		error_at(p, p->line, p->g.where,
			 "disk: '%.*s' is not ro or rw (disk = \"FILE ro\")",
			 (int)mode.len, mode.s);
		return;
	}
	if (!guest_disk_size_ok(m->end - m->start)) {
		error_at(p, p->line, p->g.where,
			 "disk: '%.*s' is %llu bytes, not a whole number of "
			 "512-byte sectors",
			 (int)ref.len, ref.s,
			 (unsigned long long)(m->end - m->start));
		return;
	}
	if (gi->disk_count == GUEST_DISKS_MAX) {
		error_at(p, p->line, p->g.where,
			 "disk: more than %u disks for one guest",
			 GUEST_DISKS_MAX);
		return;
	}
	gi->disks[gi->disk_count++] =
	    (struct guest_disk){.mod = m, .read_only = read_only};
}

/* The guest of images[0 .. upto) that holds host CPU cpu, or -1. */
static int cpu_holder(const struct parser *p, u32 upto, u32 cpu)
{
	for (u32 i = 0; i < upto; i++)
		for (u32 j = 0; j < p->cpu_count[i]; j++)
			if (p->images[i].cfg.cpu[j] == cpu)
				return (int)i;
	return -1;
}

/* The next item of a cpu list at value[*at..len): blanks around it cut. */
static struct span next_cpu_item(const char *value, size_t len, size_t *at)
{
	size_t i = *at, end;

	while (i < len && is_blank(value[i]))
		i++;
	end = i;
	while (end < len && value[end] != ',')
		end++;
	*at = end + 1; /* past the comma (or len + 1 after the last item) */
	while (end > i && is_blank(value[end - 1]))
		end--;
	return (struct span){value + i, end - i};
}

/*
 * cpu = A or cpu = A, B, ...: the host CPU of each vCPU, in order. Every
 * item is checked (each wrong one is an error of its own); the guest gets
 * the list only when all are right. That the list is as long as vcpus, and
 * whether a CPU may be named twice or by another guest (shared may come
 * after cpu), are checked at the end of the section (finish_guest).
 */
static void set_cpu(struct parser *p)
{
	struct guest_image *gi = p->g.gi;
	u32 self = (u32)(gi - p->images);
	const char *v = p->value;
	size_t len = p->value_len, at = 0;
	u32 list[GUESTCFG_VCPUS_MAX], items = 1, count = 0;
	bool bad = false;

	for (size_t i = 0; i < len; i++)
		items += v[i] == ',';
	if (items > GUESTCFG_VCPUS_MAX) {
		error_at(p, p->line, p->g.where,
			 "cpu: '%.*s' lists %u CPUs: a guest has at most %d "
			 "vCPUs, one CPU each",
			 (int)len, v, items, GUESTCFG_VCPUS_MAX);
		return;
	}
	while (at <= len) {
		struct span item = next_cpu_item(v, len, &at);
		u64 n;

		if (!parse_decimal(item.s, item.len, &n)) {
			if (items == 1)
				error_at(p, p->line, p->g.where,
					 "cpu: '%.*s' is not a CPU number",
					 (int)len, v);
			else
				error_at(p, p->line, p->g.where,
					 "cpu: '%.*s' is not a CPU number (in "
					 "the list '%.*s')",
					 (int)item.len, item.s, (int)len, v);
			bad = true;
			continue;
		}
		if (n >= p->env->cpus) {
			error_at(p, p->line, p->g.where,
				 "cpu: %llu does not exist: %u CPU%s online "
				 "(0-%u)",
				 (unsigned long long)n, p->env->cpus,
				 p->env->cpus == 1 ? "" : "s",
				 p->env->cpus - 1);
			bad = true;
			continue;
		}
		list[count++] = (u32)n;
	}
	p->g.cpu_list_bad = bad;
	memcpy(gi->cfg.cpu, list, count * sizeof(list[0]));
	gi->cfg.cpu_fixed = true;
	p->cpu_count[self] = count;
	p->cpu_line[self] = p->line;
}

/*
 * vcpus = N: the module strings' rule (1 to GUESTCFG_VCPUS_MAX,
 * core/guestcfg.c); no more than the CPUs online unless the guest is
 * shared (checked at the end of the section, check_cpus). A refused value
 * leaves the guest one vCPU.
 */
static void set_vcpus(struct parser *p)
{
	struct guest_cfg *cfg = &p->g.gi->cfg;
	char err[160];

	if (guestcfg_set(cfg, "vcpus", 5, p->value, p->value_len,
			 &p->g.mode_given, err, sizeof(err))) {
		error_at(p, p->line, p->g.where, "%s", err);
		p->g.vcpus_refused = true;
		return;
	}
}

/*
 * A policy key: `supported` is what Veneer does today, `other` the value
 * it cannot honour yet (and why it cannot), anything else is wrong.
 */
static void set_policy(struct parser *p, const char *k, enum guest_policy *out)
{
	if (value_is(p, "stop"))
		*out = GUEST_POLICY_STOP;
	else if (value_is(p, "restart"))
		*out = GUEST_POLICY_RESTART;
	else
		error_at(p, p->line, p->g.where,
			 "%s: '%.*s' is not stop or restart", k,
			 (int)p->value_len, p->value);
}

static void guest_key(struct parser *p, int key)
{
	struct guest_image *gi = p->g.gi;
	const char *k = guest_keys[key];
	char err[160];

	switch (key) {
	case GK_KERNEL:
		set_kernel(p);
		return;
	case GK_INITRD:
	case GK_MODULE:
		add_module(p, key);
		return;
	case GK_DISK:
		add_disk(p);
		return;
	case GK_CMDLINE:
		if (p->value_len >= sizeof(gi->cfg.cmdline)) {
			error_at(p, p->line, p->g.where,
				 "cmdline: %zu bytes, at most %zu",
				 p->value_len, sizeof(gi->cfg.cmdline) - 1);
			return;
		}
		copy_text(gi->cfg.cmdline, sizeof(gi->cfg.cmdline), p->value,
			  p->value_len);
		return;
	case GK_MEM:
	case GK_FORMAT:
	case GK_LOAD:
	case GK_MODE:
	case GK_CLOCK:
	case GK_PV:
	case GK_SHARED:
	case GK_WEIGHT:
	case GK_DEVICES:
	case GK_MAC:
	case GK_PCI:
	case GK_PCI_UNSAFE:
		break; /* as in module strings, below */
	case GK_CPU:
		set_cpu(p);
		return;
	case GK_VCPUS:
		set_vcpus(p);
		return;
	case GK_CONSOLE:
		set_console(p);
		return;
	case GK_ON_POWEROFF:
		set_policy(p, k, &gi->cfg.on_poweroff);
		return;
	case GK_ON_REBOOT:
		set_policy(p, k, &gi->cfg.on_reboot);
		return;
	case GK_ON_CRASH:
		set_policy(p, k, &gi->cfg.on_crash);
		return;
	case GK_MAX_RESTARTS: {
		u64 n;

		if (!parse_decimal(p->value, p->value_len, &n) ||
		    n > GUESTCFG_RESTARTS_MAX) {
			error_at(p, p->line, p->g.where,
				 "max_restarts: '%.*s' is not a number from 0 "
				 "to %u",
				 (int)p->value_len, p->value,
				 GUESTCFG_RESTARTS_MAX);
			return;
		}
		gi->cfg.max_restarts = (u32)n;
		return;
	}
	case GK_START:
		/* later: created and placed now, run on the shell's start. */
		if (value_is(p, "later")) {
			gi->cfg.start_later = true;
			p->later_line[gi - p->images] = p->line;
		} else if (!value_is(p, "boot")) {
			error_at(p, p->line, p->g.where,
				 "start: '%.*s' is not boot or later",
				 (int)p->value_len, p->value);
		}
		return;
	}
	/* The module strings' rules and words (core/guestcfg.c). */
	if (guestcfg_set(&gi->cfg, k, strlen(k), p->value, p->value_len,
			 &p->g.mode_given, err, sizeof(err)))
		error_at(p, p->line, p->g.where, "%s", err);
	else if (key == GK_PCI)
		check_pci_owners(p);
}

/* ---- the end of a guest section: what needs all its keys ---- */

static bool is_bzimage(const u8 *data, u64 size)
{
	u32 magic;

	if (size < LINUX_HDR_FIELD(header) + sizeof(magic))
		return false;
	memcpy(&magic, data + LINUX_HDR_FIELD(header), sizeof(magic));
	return magic == LINUX_HEADER_MAGIC;
}

static bool is_elf(const u8 *data, u64 size)
{
	return size >= 4 && data[0] == 0x7f && data[1] == 'E' &&
	       data[2] == 'L' && data[3] == 'F';
}

/*
 * The format the loader will use (core/load.c: a bzImage declared elf is
 * loaded as Linux), after checking that the kernel's bytes fit it.
 */
static enum guest_format check_kernel(struct parser *p)
{
	struct guest_state *g = &p->g;
	struct guest_image *gi = g->gi;
	u32 line = g->key_line[GK_KERNEL];
	u64 size = module_size(gi->mod);
	const u8 *data;

	if (!p->env->module_data)
		return gi->cfg.format;
	data = p->env->module_data(gi->mod);
	if (size == 0 || !data) {
		error_at(p, line, g->where, "kernel: %s is empty",
			 gi->cfg.path);
		return gi->cfg.format;
	}
	if (gi->cfg.format == GUEST_FORMAT_ELF && is_bzimage(data, size))
		return GUEST_FORMAT_LINUX;
	if (gi->cfg.format == GUEST_FORMAT_ELF && !is_elf(data, size))
		error_at(p, line, g->where,
			 "kernel: %s is not an ELF file (format = elf); a flat "
			 "binary needs format = raw",
			 gi->cfg.path);
	if (gi->cfg.format == GUEST_FORMAT_LINUX && !is_bzimage(data, size))
		error_at(p, line, g->where,
			 "kernel: %s is not a Linux bzImage (format = linux: "
			 "no HdrS header at 0x202)",
			 gi->cfg.path);
	return gi->cfg.format;
}

/* Which modules the guest's format takes (core/load.c). */
static void check_modules(struct parser *p, enum guest_format format)
{
	struct guest_state *g = &p->g;

	if (format == GUEST_FORMAT_RAW && g->gi->module_count)
		error_at(p, g->module_line[0], g->where,
			 "%s: a raw image takes no modules",
			 g->key_line[GK_INITRD] ? "initrd" : "module");
	if (format == GUEST_FORMAT_LINUX && g->key_line[GK_MODULE])
		error_at(p, g->key_line[GK_MODULE], g->where,
			 "module: a Linux guest takes one module, its initrd "
			 "(initrd = FILE)");
	if (format == GUEST_FORMAT_ELF && g->key_line[GK_INITRD])
		error_at(p, g->key_line[GK_INITRD], g->where,
			 "initrd: only a Linux guest has an initrd; a "
			 "multiboot guest's modules are module = FILE [ARGS]");
}

/* Sizes in messages: MiB when whole, else KiB. */
static void size_text(char *buf, size_t len, u64 bytes)
{
	if (IS_ALIGNED(bytes, MiB(1)))
		snformat(buf, len, "%llu MiB",
			 (unsigned long long)(bytes >> 20));
	else
		snformat(buf, len, "%llu KiB",
			 (unsigned long long)(bytes >> 10));
}

/* The guest's RAM (whole 2 MiB, core/guest.c) and overhead must fit. */
static void check_memory(struct parser *p)
{
	struct guest_state *g = &p->g;
	u64 cost = ALIGN_UP(g->gi->cfg.mem, MiB(2)) + CONFIG_GUEST_OVERHEAD;
	u64 free = p->env->free_bytes;
	char mem[24], left[24], used[24];

	if (cost <= free && p->mem_used <= free - cost) {
		p->mem_used += cost;
		return;
	}
	size_text(mem, sizeof(mem), g->gi->cfg.mem);
	size_text(left, sizeof(left),
		  free > p->mem_used ? free - p->mem_used : 0);
	size_text(used, sizeof(used), p->mem_used);
	error_at(p, g->key_line[GK_MEM] ? g->key_line[GK_MEM] : g->guest_line,
		 g->where,
		 "mem: %s does not fit: %s of host memory free for guests "
		 "is left (the guests above take %s; each guest also costs "
		 "%llu KiB)",
		 mem, left, used,
		 (unsigned long long)(CONFIG_GUEST_OVERHEAD >> 10));
}

/* The line of the key a guestcfg_finish() error names ("KEY: ..."). */
static u32 finish_error_line(const struct guest_state *g, const char *err)
{
	if (strncmp(err, "mode:", 5) == 0)
		return g->key_line[GK_MODE];
	if (strncmp(err, "weight:", 7) == 0)
		return g->key_line[GK_WEIGHT];
	if (strncmp(err, "mac:", 4) == 0)
		return g->key_line[GK_MAC];
	return g->key_line[GK_LOAD] ? g->key_line[GK_LOAD] : g->guest_line;
}

/* A MAC names one NIC: no two guests of the file declare the same. */
static void check_mac(struct parser *p)
{
	const struct guest_image *gi = p->g.gi;
	const u8 *m = gi->cfg.mac;

	if (!gi->cfg.mac_given)
		return;
	for (const struct guest_image *o = p->images; o < gi; o++)
		if (o->cfg.mac_given &&
		    memcmp(o->cfg.mac, m, GUESTCFG_MAC_LEN) == 0) {
			error_at(p, p->g.key_line[GK_MAC], p->g.where,
				 "mac: %02x:%02x:%02x:%02x:%02x:%02x is guest "
				 "%s's already (a MAC names one NIC)",
				 m[0], m[1], m[2], m[3], m[4], m[5],
				 o->cfg.name);
			return;
		}
}

/* Is the guest of images[i] shared (shared = yes)? */
static bool is_shared(const struct parser *p, u32 i)
{
	return p->images[i].cfg.shared;
}

/*
 * The guest's vCPUs against the CPUs, once shared is known: a partitioned
 * guest has no more vCPUs than CPUs online, and a CPU of its own for each
 * (listed once, named by no guest above); a shared guest may list a CPU
 * again and name one that another shared guest names, but never one of a
 * partitioned guest's. A cpu list names one host CPU per vCPU. The list is
 * dropped (the guest gets none) when it is wrong. Not checked when vcpus
 * was refused: that error says what is wrong.
 */
static void check_cpus(struct parser *p)
{
	struct guest_state *g = &p->g;
	u32 self = (u32)(g->gi - p->images);
	struct guest_cfg *cfg = &g->gi->cfg;
	u32 listed = p->cpu_count[self], vcpus = cfg->vcpus;
	u32 line = g->key_line[GK_CPU];
	bool bad = false;

	if (g->vcpus_refused) {
		p->cpu_count[self] = 0;
		cfg->cpu_fixed = false;
		return;
	}
	if (!cfg->shared && vcpus > p->env->cpus) {
		error_at(p, g->key_line[GK_VCPUS], g->where,
			 "vcpus: %u: more than the %u CPU%s online (each "
			 "vCPU needs a host CPU of its own unless shared = "
			 "yes)",
			 vcpus, p->env->cpus, p->env->cpus == 1 ? "" : "s");
		cfg->vcpus = 1;
		p->cpu_count[self] = 0;
		cfg->cpu_fixed = false;
		return;
	}
	if (!listed && !g->cpu_list_bad)
		return;
	bad = g->cpu_list_bad;
	if (listed != vcpus && !bad) {
		error_at(p, line, g->where,
			 "cpu: %u CPU%s listed, but vcpus = %u: one host CPU "
			 "per vCPU, in order",
			 listed, listed == 1 ? "" : "s", vcpus);
		bad = true;
	}
	for (u32 i = 0; i < listed; i++) {
		u32 cpu = cfg->cpu[i];
		bool twice = false;

		for (u32 j = 0; j < i; j++)
			twice |= cfg->cpu[j] == cpu;
		if (twice && !cfg->shared) {
			error_at(p, line, g->where,
				 "cpu: %u is listed twice: each vCPU needs a "
				 "host CPU of its own (unless shared = yes)",
				 cpu);
			bad = true;
			continue;
		}
		if (twice)
			continue;
		for (u32 h = 0; h < self; h++) {
			bool holds = false;

			for (u32 j = 0; j < p->cpu_count[h]; j++)
				holds |= p->images[h].cfg.cpu[j] == cpu;
			if (!holds || (cfg->shared && is_shared(p, h)))
				continue;
			error_at(p, line, g->where,
				 "cpu: %u is already given to guest %s (line "
				 "%u)%s",
				 cpu, p->images[h].cfg.name, p->cpu_line[h],
				 is_shared(p, h)
				     ? ": it shares its CPUs, this guest does "
				       "not (shared = yes shares a CPU)"
				     : ": one vCPU per CPU; only guests with "
				       "shared = yes share one");
			bad = true;
			break;
		}
	}
	if (!bad)
		return;
	p->cpu_count[self] = 0;
	cfg->cpu_fixed = false;
}

static void finish_guest(struct parser *p)
{
	struct guest_state *g = &p->g;
	struct guest_image *gi = g->gi;
	enum guest_format format;
	char err[160];

	if (!gi)
		return;
	if (!g->key_line[GK_KERNEL]) {
		error_at(p, g->guest_line, g->where,
			 "kernel: missing: a guest needs kernel = FILE");
	}
	if (!g->key_line[GK_FORMAT] && gi->cfg.path[0] &&
	    guestcfg_raw_by_name(gi->cfg.path, strlen(gi->cfg.path)))
		gi->cfg.format = GUEST_FORMAT_RAW;
	/* A bzImage is a Linux guest, as core/load.c would find too. */
	format = gi->mod ? check_kernel(p) : gi->cfg.format;
	gi->cfg.format = format;
	if (guestcfg_finish(&gi->cfg, g->mode_given, err, sizeof(err)))
		error_at(p, finish_error_line(g, err), g->where, "%s", err);
	else if (g->mode_given && gi->cfg.real_mode &&
		 format != GUEST_FORMAT_RAW)
		error_at(p, g->key_line[GK_MODE], g->where,
			 "mode: real needs format = raw (a Linux guest starts "
			 "in protected mode)");
	if (gi->cfg.console_port &&
	    (gi->cfg.devices & GUEST_DEV_VIRTIO_CONSOLE))
		error_at(p, g->key_line[GK_DEVICES], g->where,
			 "devices: virtio-console is multiplexed on the "
			 "hypervisor console; this guest has a serial port of "
			 "its own (console, line %u)",
			 p->console_line[gi - p->images]);
	if (g->key_line[GK_LOAD] && format != GUEST_FORMAT_RAW)
		error_at(p, g->key_line[GK_LOAD], g->where,
			 "load: only a raw image (format = raw) has a load "
			 "address");
	check_modules(p, format);
	check_cpus(p);
	check_mac(p);
	check_memory(p);
	g->gi = NULL;
}

/* ---- sections ---- */

static void start_guest(struct parser *p, struct span name)
{
	struct guest_state *g = &p->g;
	u32 index = p->res->guests++;
	int shown =
	    (int)(name.len < GUESTCFG_NAME_MAX - 1 ? name.len
						   : GUESTCFG_NAME_MAX - 1);
	struct guest_image *gi;

	memset(g, 0, sizeof(*g));
	g->guest_line = p->line;
	snformat(g->where, sizeof(g->where), "guest %.*s", shown, name.s);
	if (!name.len) {
		snformat(g->where, sizeof(g->where), "guest ?");
		error_at(p, p->line, NULL,
			 "[guest]: a guest section needs a name: [guest NAME]");
	} else if (!guestcfg_valid_name(name.s, name.len)) {
		error_at(p, p->line, g->where,
			 "the name is not 1-%d letters, digits, '-', '_' or "
			 "'.'",
			 GUESTCFG_NAME_MAX - 1);
	}
	for (u32 i = 0; i < index && i < p->max; i++) {
		if (name.len &&
		    strlen(p->images[i].cfg.name) == (size_t)shown &&
		    memcmp(p->images[i].cfg.name, name.s, (size_t)shown) == 0) {
			error_at(p, p->line, g->where,
				 "a second guest with this name (the first "
				 "is at line %u)",
				 p->guest_line[i]);
			break;
		}
	}
	if (index >= p->max) {
		if (index == p->max)
			error_at(p, p->line, g->where,
				 "more than %u guests: this one and the ones "
				 "after it are not checked",
				 p->max);
		p->section = SECTION_SKIP;
		return;
	}
	gi = &p->images[index];
	memset(gi, 0, sizeof(*gi));
	guestcfg_defaults(&gi->cfg);
	copy_text(gi->cfg.name, sizeof(gi->cfg.name), name.s, (size_t)shown);
	p->guest_line[index] = p->line;
	g->gi = gi;
	p->section = SECTION_GUEST;
}

/* The next blank-separated word of s[*at..len). */
static struct span next_word(const char *s, size_t len, size_t *at)
{
	size_t i = *at, start;

	while (i < len && is_blank(s[i]))
		i++;
	start = i;
	while (i < len && !is_blank(s[i]))
		i++;
	*at = i;
	return (struct span){s + start, i - start};
}

/* A line starting with '[': [veneer], [guest NAME] or a mistake. */
static void section_header(struct parser *p, const char *s, size_t len)
{
	static const char *const sections[] = {"veneer", "guest"};
	size_t close = 1, at = 1, rest;
	struct span w1, w2, w3;
	const char *near;

	if (p->section == SECTION_GUEST)
		finish_guest(p);
	p->section = SECTION_SKIP;
	while (close < len && s[close] != ']')
		close++;
	if (close == len) {
		error_at(p, p->line, NULL,
			 "syntax: no ']' ends the section header: its keys "
			 "are not checked");
		return;
	}
	for (rest = close + 1; rest < len && is_blank(s[rest]);)
		rest++;
	if (rest < len && s[rest] != '#') {
		error_at(p, p->line, NULL,
			 "syntax: text after the section header ('%.*s'): its "
			 "keys are not checked",
			 (int)(len - rest), s + rest);
		return;
	}
	w1 = next_word(s, close, &at);
	w2 = next_word(s, close, &at);
	w3 = next_word(s, close, &at);
	if (span_is(w1, "veneer") && !w2.len) {
		if (p->veneer_line)
			error_at(p, p->line, NULL,
				 "[veneer]: a second [veneer] section (the "
				 "first is at line %u)",
				 p->veneer_line);
		else
			p->veneer_line = p->line;
		p->section = SECTION_VENEER;
		return;
	}
	if (span_is(w1, "veneer")) {
		error_at(p, p->line, NULL,
			 "[veneer %.*s]: the [veneer] section has no name: its "
			 "keys are not checked",
			 (int)w2.len, w2.s);
		return;
	}
	if (span_is(w1, "guest")) {
		if (w3.len)
			error_at(p, p->line, NULL,
				 "[guest %.*s %.*s]: a guest name is one word",
				 (int)w2.len, w2.s, (int)w3.len, w3.s);
		start_guest(p, w2);
		return;
	}
	near = closest(w1, sections, ARRAY_SIZE(sections));
	error_at(p, p->line, NULL,
		 "[%.*s]: unknown section%s%s%s: the sections are [veneer] "
		 "and [guest NAME]; its keys are not checked",
		 (int)(close - 1), s + 1, near ? " (did you mean [" : "",
		 near ? near : "", near ? "]?)" : "");
}

/* ---- key = value ---- */

/* An unknown key: the closest known one, or the section it belongs to. */
static void unknown_key(struct parser *p, struct span key, const char *where)
{
	bool in_guest = p->section == SECTION_GUEST;
	const char *const *own = in_guest ? guest_keys : veneer_keys;
	const char *const *other = in_guest ? veneer_keys : guest_keys;
	u32 own_count = in_guest ? GK_COUNT : VK_COUNT;
	u32 other_count = in_guest ? VK_COUNT : GK_COUNT;
	const char *near;

	if (in_guest && span_is(key, "name")) {
		error_at(p, p->line, where,
			 "name: a guest's name is in its section header, "
			 "[guest NAME]");
		return;
	}
	if (key_index(key, other, other_count) >= 0) {
		error_at(p, p->line, where, "%.*s: a key of %s, not of %s",
			 (int)key.len, key.s,
			 in_guest ? "[veneer]" : "[guest NAME]",
			 in_guest ? "a guest" : "[veneer]");
		return;
	}
	near = closest(key, own, own_count);
	if (near)
		error_at(p, p->line, where,
			 "%.*s: unknown key (did you mean %s?)", (int)key.len,
			 key.s, near);
	else
		error_at(p, p->line, where,
			 "%.*s: unknown key (docs/config.md lists the keys)",
			 (int)key.len, key.s);
}

static void apply_key(struct parser *p, struct span key)
{
	int k;

	switch (p->section) {
	case SECTION_NONE:
		error_at(p, p->line, NULL,
			 "%.*s: a key before any section: put it under "
			 "[veneer] or [guest NAME]",
			 (int)key.len, key.s);
		return;
	case SECTION_VENEER:
		k = key_index(key, veneer_keys, VK_COUNT);
		if (k < 0) {
			unknown_key(p, key, "veneer");
		} else if (p->veneer_key_line[k]) {
			error_at(p, p->line, "veneer",
				 "%s: given twice (first at line %u)",
				 veneer_keys[k], p->veneer_key_line[k]);
		} else {
			p->veneer_key_line[k] = p->line;
			veneer_key(p, k);
		}
		return;
	case SECTION_GUEST:
		k = key_index(key, guest_keys, GK_COUNT);
		if (k < 0) {
			unknown_key(p, key, p->g.where);
		} else if (p->g.key_line[k] && k != GK_MODULE && k != GK_DISK) {
			error_at(p, p->line, p->g.where,
				 "%s: given twice (first at line %u)",
				 guest_keys[k], p->g.key_line[k]);
		} else {
			if (!p->g.key_line[k])
				p->g.key_line[k] = p->line;
			guest_key(p, k);
		}
		return;
	default: /* SECTION_SKIP: its header's error says so */
		return;
	}
}

/*
 * VALUE at s[*at..len): "quoted" (with \" and \\) or one bare word (for
 * cpu, bare words joined by commas), into p->value. False after reporting
 * what is wrong.
 */
static bool read_value(struct parser *p, struct span key, const char *s,
		       size_t len, size_t *at)
{
	size_t i = *at, out = 0;
	/* cpu = A, B: blanks beside a list's commas belong to the value. */
	bool list = span_is(key, "cpu");

	if (i == len || s[i] == '#') {
		error_at(p, p->line, NULL, "%.*s: no value after '='",
			 (int)key.len, key.s);
		return false;
	}
	if (s[i] != '"') {
		while (i < len && s[i] != '#') {
			if (is_blank(s[i])) {
				size_t j = i;

				/* Blanks end the value, unless a comma of a
				 * list is on either side of them (s[i - 1] is
				 * the value's: its first byte is no blank). */
				while (j < len && is_blank(s[j]))
					j++;
				if (!list || j == len || s[j] == '#' ||
				    (s[i - 1] != ',' && s[j] != ','))
					break;
				while (i < j)
					p->value[out++] = s[i++];
				continue;
			}
			if (s[i] == '"') {
				error_at(p, p->line, NULL,
					 "%.*s: a '\"' inside a value: quote "
					 "the whole value",
					 (int)key.len, key.s);
				return false;
			}
			p->value[out++] = s[i++];
		}
		p->value_len = out;
		*at = i;
		return true;
	}
	for (i++;; i++) {
		if (i == len) {
			error_at(p, p->line, NULL,
				 "%.*s: no '\"' ends the quoted value",
				 (int)key.len, key.s);
			return false;
		}
		if (s[i] == '"')
			break;
		if (s[i] == '\\' && i + 1 == len)
			continue; /* "no closing quote", at the next turn */
		if (s[i] == '\\') {
			if (s[i + 1] == '"' || s[i + 1] == '\\') {
				p->value[out++] = s[++i];
				continue;
			}
			error_at(p, p->line, NULL,
				 "%.*s: '\\%c' is not an escape: only \\\" "
				 "and \\\\ are",
				 (int)key.len, key.s, s[i + 1]);
			return false;
		}
		p->value[out++] = s[i];
	}
	p->value_len = out;
	*at = i + 1;
	return true;
}

/* One line without its line feed: blank, comment, header or key. */
static void parse_line(struct parser *p, const char *s, size_t len)
{
	size_t i = 0, key_start;
	struct span key;

	while (i < len && is_blank(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return;
	if (s[i] == '[') {
		section_header(p, s + i, len - i);
		return;
	}
	key_start = i;
	while (i < len && is_key_char(s[i]))
		i++;
	key = (struct span){s + key_start, i - key_start};
	if (!key.len) {
		error_at(p, p->line, NULL,
			 "syntax: '%.*s' is not KEY = VALUE, [veneer] or "
			 "[guest NAME]",
			 (int)(len - key_start < 24 ? len - key_start : 24),
			 s + key_start);
		return;
	}
	while (i < len && is_blank(s[i]))
		i++;
	if (i == len || s[i] != '=') {
		error_at(p, p->line, NULL,
			 "%.*s: syntax: no '=' after the key (KEY = VALUE)",
			 (int)key.len, key.s);
		return;
	}
	for (i++; i < len && is_blank(s[i]);)
		i++;
	if (!read_value(p, key, s, len, &i))
		return;
	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && s[i] != '#') {
		error_at(p, p->line, NULL,
			 "%.*s: text after the value ('%.*s'): quote a value "
			 "with spaces or '#'",
			 (int)key.len, key.s, (int)(len - i), s + i);
		return;
	}
	apply_key(p, key);
}

/* ---- the whole file ---- */

/*
 * Text only: a control byte other than tab, or a carriage return not
 * before a line feed, means this is not a text file. One error then, not
 * one per line of garbage.
 */
static bool check_text(struct parser *p, const char *text, u64 len)
{
	u32 line = 1, column = 1;

	for (u64 i = 0; i < len; i++, column++) {
		u8 c = (u8)text[i];

		if (c == '\n') {
			line++;
			column = 0;
			continue;
		}
		if (c == '\t' ||
		    (c == '\r' && i + 1 < len && text[i + 1] == '\n') ||
		    (c >= 0x20 && c != 0x7f))
			continue;
		error_at(p, line, NULL,
			 "binary data: byte 0x%02x at column %u; a "
			 "configuration is text (nothing in it was checked)",
			 c, column);
		return false;
	}
	return true;
}

/* vCPUs of shared guests on host CPU cpu; -1 when a partitioned guest
 * holds it. */
static int shared_load(const struct parser *p, u32 n, u32 cpu)
{
	int load = 0;

	for (u32 i = 0; i < n; i++)
		for (u32 j = 0; j < p->cpu_count[i]; j++) {
			if (p->images[i].cfg.cpu[j] != cpu)
				continue;
			if (!is_shared(p, i))
				return -1;
			load++;
		}
	return load;
}

/*
 * A shared guest without cpu: each vCPU in turn on the CPU with the
 * fewest shared vCPUs so far that no partitioned guest holds (CPUs 1, 2,
 * ..., then the boot CPU on a tie).
 */
static bool assign_shared(struct parser *p, u32 n, u32 i)
{
	struct guest_cfg *cfg = &p->images[i].cfg;
	u32 cpus = p->env->cpus;

	for (u32 v = 0; v < cfg->vcpus; v++) {
		int best_load = -1;
		u32 best = 0;

		for (u32 step = 1; step <= cpus; step++) {
			u32 cpu = step % cpus;
			int load = shared_load(p, n, cpu);

			if (load < 0)
				continue;
			/* This guest's own vCPUs placed so far count too. */
			for (u32 j = 0; j < v; j++)
				load += cfg->cpu[j] == cpu;
			if (best_load < 0 || load < best_load) {
				best_load = load;
				best = cpu;
			}
		}
		if (best_load < 0) {
			error_at(p, p->guest_line[i], NULL,
				 "guest %s: cpu: no CPU to share: partitioned "
				 "guests hold all %u CPUs online",
				 cfg->name, cpus);
			return false;
		}
		cfg->cpu[v] = best;
	}
	return true;
}

/*
 * Guests without cpu get CPUs, in file order: the partitioned ones first,
 * a free CPU for each vCPU, CPUs 1, 2, ... first, the boot CPU last
 * (core/placement.h); all or none: a guest that cannot have them all takes
 * none, and the guests after it may still find theirs. Then the shared
 * ones, on the CPUs that no partitioned guest holds, fewest shared vCPUs
 * first (assign_shared).
 */
static void assign_cpus(struct parser *p)
{
	u32 n = p->res->guests < p->max ? p->res->guests : p->max;
	u32 cpus = p->env->cpus;

	for (u32 i = 0; i < n; i++) {
		struct guest_cfg *cfg = &p->images[i].cfg;
		u32 picked[GUESTCFG_VCPUS_MAX], found = 0;

		if (p->cpu_count[i] || cfg->shared)
			continue;
		for (u32 step = 1; step <= cpus && found < cfg->vcpus; step++)
			if (cpu_holder(p, n, step % cpus) < 0)
				picked[found++] = step % cpus;
		if (found < cfg->vcpus) {
			error_at(p, p->guest_line[i], NULL,
				 "guest %s: cpu: not enough CPUs left for its "
				 "%u vCPU%s: %u left of %u online (one vCPU "
				 "each)",
				 cfg->name, cfg->vcpus,
				 cfg->vcpus == 1 ? "" : "s", found, cpus);
			continue;
		}
		memcpy(cfg->cpu, picked, found * sizeof(picked[0]));
		cfg->cpu_fixed = true;
		p->cpu_count[i] = found;
	}
	for (u32 i = 0; i < n; i++) {
		struct guest_cfg *cfg = &p->images[i].cfg;

		if (p->cpu_count[i] || !cfg->shared || !assign_shared(p, n, i))
			continue;
		cfg->cpu_fixed = true;
		p->cpu_count[i] = cfg->vcpus;
	}
}

/*
 * A guest with start = later runs only when the operator types `start
 * NAME` in the shell, and only while another guest runs (Veneer powers off
 * once no guest runs): so without the shell, or with no guest that starts
 * at boot, it could never run.
 */
static void check_start_later(struct parser *p)
{
	u32 n = p->res->guests < p->max ? p->res->guests : p->max;
	u32 later = 0;

	for (u32 i = 0; i < n; i++) {
		if (!p->later_line[i])
			continue;
		later++;
		if (p->res->shell_given && !p->res->shell)
			error_at(p, p->later_line[i], NULL,
				 "guest %s: start: later needs the operator "
				 "shell to start it, but [veneer] has shell = "
				 "off (line %u)",
				 p->images[i].cfg.name,
				 p->veneer_key_line[VK_SHELL]);
	}
	if (n && later == n)
		error_at(p, 0, NULL,
			 "every guest has start = later: none would run at "
			 "boot, and Veneer powers off when no guest runs; "
			 "give one start = boot");
}

/* In configuration mode every other module is named by it, by its path
 * alone. */
static void check_boot_modules(struct parser *p)
{
	const struct config_env *env = p->env;

	for (u32 i = 0; i < env->module_count; i++) {
		const struct boot_module *m = &env->modules[i];
		size_t len;
		const char *path = config_module_path(m->string, &len);

		if (i == env->config_module)
			continue;
		if (m->string_len >= BOOTINFO_MODSTR_MAX)
			error_at(p, 0, NULL,
				 "module %u ('%.40s...'): its string is %u "
				 "bytes, longer than the %u Veneer keeps",
				 i, m->string, m->string_len,
				 BOOTINFO_MODSTR_MAX - 1);
		else if (config_is_module_string(m->string))
			error_at(p, 0, NULL,
				 "module %u (%.*s): a second configuration; "
				 "one is read",
				 i, (int)len, path);
		else if (!len)
			error_at(p, 0, NULL,
				 "module %u: its string is empty, so nothing "
				 "can name it (its path must be its first "
				 "word)",
				 i);
		else if (*module_rest(m->string))
			error_at(p, 0, NULL,
				 "module %u ('%s'): with a configuration a "
				 "module string is the file's path alone (the "
				 "configuration declares the rest)",
				 i, m->string);
		else if (!p->module_used[i])
			error_at(p, 0, NULL,
				 "module %u (%.*s) is named by no guest of the "
				 "configuration",
				 i, (int)len, path);
	}
}

u32 config_parse(const char *text, u64 len, const struct config_env *env,
		 struct guest_image *images, u32 max, struct config_result *res)
{
	struct parser p;
	u64 at = 0;

	memset(&p, 0, sizeof(p));
	memset(res, 0, sizeof(*res));
	p.env = env;
	p.res = res;
	p.images = images;
	p.max = max < CONFIG_GUESTS_MAX ? max : CONFIG_GUESTS_MAX;
	/* module_used[] has a flag for each module a loader can give. */
	if (env->module_count > BOOTINFO_MAX_MODULES) {
		error_at(&p, 0, NULL,
			 "%u modules, more than the %u Veneer keeps",
			 env->module_count, BOOTINFO_MAX_MODULES);
		return res->errors;
	}
	if (len == 0) {
		error_at(&p, 0, NULL,
			 "the file is empty: it declares no guest");
		return res->errors;
	}
	if (len > CONFIG_SIZE_MAX) {
		error_at(&p, 0, NULL,
			 "the file is %llu bytes, more than the %llu a "
			 "configuration may have (nothing in it was checked)",
			 (unsigned long long)len,
			 (unsigned long long)CONFIG_SIZE_MAX);
		return res->errors;
	}
	if (!check_text(&p, text, len))
		return res->errors;
	/* A UTF-8 byte order mark, as some editors write, is no text. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		at = 3;
	while (at < len) {
		const char *s = text + at;
		size_t n = 0;

		while (at + n < len && s[n] != '\n')
			n++;
		at += n + 1;
		p.line++;
		if (n && s[n - 1] == '\r')
			n--;
		if (n >= CONFIG_LINE_MAX) {
			error_at(&p, p.line, NULL,
				 "the line is %zu bytes long, more than %u: it "
				 "was not read",
				 n, CONFIG_LINE_MAX - 1);
			continue;
		}
		memcpy(p.text_line, s, n);
		p.text_line[n] = '\0';
		parse_line(&p, p.text_line, n);
	}
	if (p.section == SECTION_GUEST)
		finish_guest(&p);
	if (res->guests == 0)
		error_at(&p, 0, NULL,
			 "it declares no guest: add a [guest NAME] section");
	assign_cpus(&p);
	check_start_later(&p);
	check_boot_modules(&p);
	return res->errors;
}
