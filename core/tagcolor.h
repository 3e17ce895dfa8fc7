/* SPDX-License-Identifier: MIT */
/*
 * The colours of the guests' console tags when colour is asked for
 * (color=on on the command line, [veneer] color = on; docs/console.md,
 * "Colour"): each guest's "[NAME]" in a colour of its own, chosen by its
 * slot (the order guests are created in), the hypervisor's lines as they
 * are. ANSI SGR sequences (ECMA-48 8.3.117), which every terminal and
 * serial console program shows; off by default, so logs stay plain.
 *
 * Pure logic (tests/unit/test_tagcolor.c).
 */
#ifndef VENEER_CORE_TAGCOLOR_H
#define VENEER_CORE_TAGCOLOR_H

#include "core/lib/types.h"

/* Distinct colours: one per guest slot (VM_MAX is 16), then again. */
#define TAGCOLOR_COUNT 16

/*
 * The SGR sequence that starts slot `slot`'s tag colour (never NULL); the
 * console ends it with SGR 0 right after the tag's ']'
 * (printk_set_tag_style(), core/lib/printk.h).
 */
const char *tagcolor_sgr(u32 slot);

#endif /* VENEER_CORE_TAGCOLOR_H */
