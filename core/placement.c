/* SPDX-License-Identifier: MIT */
/*
 * Guests from the boot modules and their host CPUs (contract in
 * core/placement.h). A module that cannot be used is reported and counted
 * as failed; the others still run.
 */
#include "core/placement.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* The loader's string of module i was longer than boot_info keeps. */
static bool module_string_cut(const struct boot_info *bi, u32 i)
{
	return bi->modules[i].string_len >= BOOTINFO_MODSTR_MAX;
}

/*
 * The guests, in module order. Each string is parsed on the stack first:
 * images[] has room for `max` guests only.
 */
static u32 collect_guests(const struct boot_info *bi,
			  struct guest_image *images, u32 max, u32 *failed)
{
	u32 n = 0;
	char err[160];

	for (u32 i = 0; i < bi->module_count; i++) {
		struct guest_cfg cfg;

		if (module_string_cut(bi, i)) {
			printk("veneer: module %u ('%.48s...'): its string is "
			       "%u bytes, longer than the %u Veneer accepts\n",
			       i, bi->modules[i].string,
			       bi->modules[i].string_len,
			       BOOTINFO_MODSTR_MAX - 1);
			(*failed)++;
			continue;
		}
		if (guestcfg_parse(bi->modules[i].string, &cfg, err,
				   sizeof(err))) {
			printk("veneer: module %u ('%s'): %s\n", i,
			       bi->modules[i].string, err);
			(*failed)++;
			continue;
		}
		if (cfg.for_guest[0])
			continue;
		if (n == max) {
			printk("veneer: guest %s: more than %u guests\n",
			       cfg.name, max);
			(*failed)++;
			continue;
		}
		memset(&images[n], 0, sizeof(images[n]));
		images[n].mod = &bi->modules[i];
		images[n].cfg = cfg;
		n++;
	}
	return n;
}

/* The modules declared for=GUEST, attached to their guests in order. */
static void attach_modules(const struct boot_info *bi,
			   struct guest_image *images, u32 n, u32 *failed)
{
	char err[160];

	for (u32 i = 0; i < bi->module_count; i++) {
		struct guest_cfg cfg;
		struct guest_image *owner = NULL;

		if (module_string_cut(bi, i) ||
		    guestcfg_parse(bi->modules[i].string, &cfg, err,
				   sizeof(err)) ||
		    !cfg.for_guest[0])
			continue;
		for (u32 j = 0; j < n; j++)
			if (strcmp(images[j].cfg.name, cfg.for_guest) == 0)
				owner = &images[j];
		if (!owner || owner->module_count == GUEST_MODULES_MAX) {
			printk("veneer: module %u: %s '%s'\n", i,
			       owner ? "too many modules for guest"
				     : "no guest named",
			       cfg.for_guest);
			(*failed)++;
			continue;
		}
		owner->module_cfgs[owner->module_count] = cfg;
		owner->modules[owner->module_count++] = &bi->modules[i];
	}
}

u32 placement_collect(const struct boot_info *bi, struct guest_image *images,
		      u32 max, u32 *failed)
{
	u32 n = collect_guests(bi, images, max, failed);

	attach_modules(bi, images, n, failed);
	return n;
}

void placement_init(struct cpu_placement *pl, u32 cpus)
{
	*pl = (struct cpu_placement){.cpus = cpus, .next = 1};
}

bool placement_pick(const struct cpu_placement *pl, const char *name, u32 *cpu)
{
	*cpu = pl->next < pl->cpus ? pl->next : 0;
	if (*cpu == 0 && pl->boot_cpu_taken) {
		printk("veneer: guest %s: no free CPU (%u CPUs, one guest "
		       "each)\n",
		       name, pl->cpus);
		return false;
	}
	return true;
}

void placement_take(struct cpu_placement *pl, u32 cpu)
{
	if (cpu == 0)
		pl->boot_cpu_taken = true;
	else
		pl->next++;
}
