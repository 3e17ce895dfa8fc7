/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: the guests, declared in one text file loaded as a
 * multiboot module, checked completely before any guest starts. The format
 * (an INI subset), every key, its defaults and its limits are in
 * docs/config.md.
 *
 * Pure logic: the caller hands over the text, the boot modules the
 * configuration may name, how many host CPUs there are and how much memory
 * is free. Nothing is allocated and nothing is static: the parser's state
 * lives on the caller's stack (about 3 KiB) and the guests go straight
 * into the caller's guest_image table.
 */
#ifndef VENEER_CORE_CONFIG_H
#define VENEER_CORE_CONFIG_H

#include "core/lib/types.h"
#include "core/bootinfo.h"
#include "core/guestcfg.h"
#include "core/load.h"
#include "core/lib/printk.h"

/* Limits (docs/config.md, "Limits"). */
#define CONFIG_SIZE_MAX	    KiB(64) /* bytes in the file */
#define CONFIG_LINE_MAX	    1024    /* bytes in a line, its newline included */
#define CONFIG_GUESTS_MAX   16	    /* [guest NAME] sections (VM_MAX) */
#define CONFIG_ERRORS_SHOWN 32	    /* errors reported; the rest are counted */
#define CONFIG_MSG_MAX	    256	    /* one error line, cut beyond */

/*
 * Host memory a guest costs beyond its RAM (rounded up to 2 MiB), counted
 * when the configuration is checked: its nested page tables and the
 * vendor's VM and vCPU state take about 60-100 KiB (the boot log's
 * "overhead" line); this leaves room for fragmentation too.
 */
#define CONFIG_GUEST_OVERHEAD KiB(256)

/* The word of a module string that makes the module the configuration. */
#define CONFIG_MODULE_WORD "config"

struct config_env {
	const char *file; /* the configuration's name in every message */
	const struct boot_module *modules; /* every boot module */
	u32 module_count;
	u32 config_module; /* the configuration's own index in modules[] */
	u32 cpus;	   /* host CPUs that can run guests: 0 .. cpus-1 */
	u16 console_port;  /* Veneer's console UART, no guest's (0: any) */
	u64 free_bytes;	   /* host memory free for guests */
	/* A module's bytes, for the kernel format checks (NULL: none). */
	const void *(*module_data)(const struct boot_module *m);
	/* Called with each of the first CONFIG_ERRORS_SHOWN errors. */
	void (*report)(void *ctx, const char *message);
	void *ctx;
};

struct config_result {
	u32 guests;	  /* [guest NAME] sections */
	u32 errors;	  /* every error found */
	bool stats_given; /* [veneer] stats = SECONDS */
	u32 stats_seconds;
	bool shell_given; /* [veneer] shell = on | off */
	bool shell;
	bool log_level_given; /* [veneer] log_level = error | info | debug */
	enum log_level log_level;
	bool color_given; /* [veneer] color = on | off */
	bool color;
	bool baud_given; /* [veneer] baud = N: the console from then on */
	u32 baud;
};

/*
 * Parse and check the configuration text[0..len) (not NUL-terminated; any
 * bytes). Every error is counted in res->errors and the first
 * CONFIG_ERRORS_SHOWN are reported, each naming the file, the line (when
 * there is one), the guest or section, the key and why. Returns the number
 * of errors. With none, images[0 .. res->guests) hold the guests in file
 * order, each with its kernel, its modules, its vCPUs and a host CPU for
 * each (cfg.cpu_fixed set, cfg.cpu[0 .. cfg.vcpus) distinct across every
 * guest); with any, images[] holds nothing usable.
 */
u32 config_parse(const char *text, u64 len, const struct config_env *env,
		 struct guest_image *images, u32 max,
		 struct config_result *res);

/*
 * Whether a module string declares the configuration: its words are
 * CONFIG_MODULE_WORD alone, or a path (no '=') then CONFIG_MODULE_WORD.
 */
bool config_is_module_string(const char *modstr);

/* The first word of a module string: its file's path, as the loader gave
 * it (docs/launcher.md). *len is 0 for an empty string. */
const char *config_module_path(const char *modstr, size_t *len);

#endif /* VENEER_CORE_CONFIG_H */
