/* SPDX-License-Identifier: MIT */
/*
 * Guest declarations in multiboot module strings (interim format until the
 * configuration file lands; docs/guests.md):
 *
 *   PATH [name=NAME] [mem=SIZE] [format=elf|raw|linux] [load=ADDR]
 *        [mode=protected|real] [clock=virtual|host] [for=GUEST]
 *        [-- GUEST COMMAND LINE]
 *
 * A module with for=GUEST is not a guest: it becomes a multiboot module of
 * guest GUEST, with the text after "--" as its string.
 *
 * PATH is the first word that is not key=value. A multiboot guest gets it
 * as the first word of its command line, and a module as the first word
 * of its string (core/mbguest.h): the convention of QEMU -kernel and GRUB
 * Legacy, where kernels find their argv[0].
 */
#ifndef VENEER_CORE_GUESTCFG_H
#define VENEER_CORE_GUESTCFG_H

#include "core/lib/types.h"

#define GUESTCFG_NAME_MAX    32
#define GUESTCFG_CMDLINE_MAX 512
#define GUESTCFG_PATH_MAX    512
#define GUESTCFG_DEFAULT_MEM MiB(32)
#define GUESTCFG_MIN_MEM     MiB(2)
#define GUESTCFG_RAW_LOAD    0x7c00

enum guest_format { GUEST_FORMAT_ELF, GUEST_FORMAT_RAW, GUEST_FORMAT_LINUX };

struct guest_cfg {
	char name[GUESTCFG_NAME_MAX];
	u64 mem;
	enum guest_format format;
	u64 load;	/* raw images: load address and entry */
	bool real_mode; /* start in real mode (default for raw images) */
	char for_guest[GUESTCFG_NAME_MAX]; /* non-empty: a module of a guest */
	bool virtual_clock; /* clock=virtual: exit time hidden from its TSC */
	char path[GUESTCFG_PATH_MAX];	    /* PATH as written; "" when none */
	char cmdline[GUESTCFG_CMDLINE_MAX]; /* the text after "--" */
};

/*
 * Parse one module string. The name defaults to the file's base name
 * without extension. Returns 0, or -1 with err naming the bad field.
 */
int guestcfg_parse(const char *modstr, struct guest_cfg *cfg, char *err,
		   size_t errlen);

/* Parse a size such as "64M", "512K", "1G" or "1048576". */
bool guestcfg_parse_size(const char *s, size_t len, u64 *out);

#endif /* VENEER_CORE_GUESTCFG_H */
