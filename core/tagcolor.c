/* SPDX-License-Identifier: MIT */
/* Tag colours (contract in core/tagcolor.h). */
#include "core/tagcolor.h"

/*
 * Foreground colours (SGR 31-36, and 91-96 for the bright ones), the
 * first guests in the ones most readable on dark and light backgrounds
 * alike; red comes late, so that the first guest does not look like an
 * error. Black, white and the default are left out: they vanish on one
 * background or the other. Slots 12-15 underline four of them.
 */
static const char *const palette[TAGCOLOR_COUNT] = {
    "\033[32m",	  "\033[36m",	"\033[33m",   "\033[35m",
    "\033[34m",	  "\033[92m",	"\033[96m",   "\033[93m",
    "\033[95m",	  "\033[94m",	"\033[31m",   "\033[91m",
    "\033[4;32m", "\033[4;36m", "\033[4;33m", "\033[4;35m",
};

const char *tagcolor_sgr(u32 slot)
{
	return palette[slot % TAGCOLOR_COUNT];
}
