/* SPDX-License-Identifier: MIT */
/*
 * Guests from the boot modules and their host CPUs (contract in
 * core/placement.h). With a configuration module, any error in it stops
 * every guest from starting (docs/config.md); without one, a module that
 * cannot be used is reported and counted as failed and the others still
 * run.
 */
#include "core/placement.h"
#include "core/console.h"
#include "core/config.h"
#include "core/mm.h"
#include "core/stats.h"
#include "core/vm.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "arch/x86/percpu.h"
#include "drivers/uart.h"

_Static_assert(CONFIG_GUESTS_MAX >= VM_MAX, "a configuration holds VM_MAX");
_Static_assert(MAX_CPUS <= 64, "struct cpu_placement: one u64 of CPUs");

/*
 * The configuration's [veneer] stats, for placement_stats_interval(): set
 * once by placement_collect() on the boot CPU before any guest runs.
 */
static bool config_stats_given;
static u32 config_stats_seconds;
/*
 * Its [veneer] log_level, for placement_log_level(): set the same way,
 * over the command line's log= (placement_set_default_log_level()).
 */
static enum log_level config_log_level = LOG_INFO;

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

/* Module i declared for=GUEST disk=ro|rw: the next disk of owner. */
static void attach_disk(const struct boot_info *bi, u32 i,
			struct guest_image *owner, bool read_only, u32 *failed)
{
	const struct boot_module *m = &bi->modules[i];

	if (!guest_disk_size_ok(m->end - m->start) ||
	    owner->disk_count == GUEST_DISKS_MAX) {
		if (owner->disk_count == GUEST_DISKS_MAX)
			printk("veneer: module %u: more than %u disks for "
			       "guest %s\n",
			       i, GUEST_DISKS_MAX, owner->cfg.name);
		else
			printk("veneer: module %u: disk of %llu bytes, not a "
			       "whole number of 512-byte sectors\n",
			       i, (unsigned long long)(m->end - m->start));
		(*failed)++;
		return;
	}
	owner->disks[owner->disk_count++] =
	    (struct guest_disk){.mod = m, .read_only = read_only};
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
		if (owner && cfg.disk) {
			attach_disk(bi, i, owner, cfg.disk == GUEST_DISK_RO,
				    failed);
			continue;
		}
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

/* ---- the configuration module ---- */

/* Boot modules are read in place (host memory is identity mapped). */
static const void *config_module_data(const struct boot_module *m)
{
	return hpa_to_ptr(m->start);
}

static void config_report(void *ctx, const char *message)
{
	(void)ctx;
	printk("veneer: config: %s\n", message);
}

/* The module whose string is "PATH config": the first such, or -1. */
static int find_config_module(const struct boot_info *bi)
{
	for (u32 i = 0; i < bi->module_count; i++)
		if (config_is_module_string(bi->modules[i].string))
			return (int)i;
	return -1;
}

/*
 * The guests of configuration module `index`, all checked before any is
 * returned; one summary line either way.
 */
static u32 collect_from_config(const struct boot_info *bi, u32 index,
			       struct guest_image *images, u32 max, u32 *failed)
{
	const struct boot_module *m = &bi->modules[index];
	char file[96];
	size_t len;
	const char *path = config_module_path(m->string, &len);
	struct config_result res;
	struct config_env env = {.file = file,
				 .modules = bi->modules,
				 .module_count = bi->module_count,
				 .config_module = index,
				 .cpus = cpus_online(),
				 .console_port = uart_port(),
				 .free_bytes = mm_free_bytes(),
				 .module_data = config_module_data,
				 .report = config_report};
	u32 errors;

	str_copy(file, path, len + 1 < sizeof(file) ? len + 1 : sizeof(file));
	errors = config_parse(hpa_to_ptr(m->start), m->end - m->start, &env,
			      images, max, &res);
	if (errors) {
		if (errors > CONFIG_ERRORS_SHOWN)
			printk("veneer: config: %s: %u errors (the first %u "
			       "shown): no guest started\n",
			       file, errors, CONFIG_ERRORS_SHOWN);
		else
			printk("veneer: config: %s: %u error%s: no guest "
			       "started\n",
			       file, errors, errors == 1 ? "" : "s");
		(*failed)++;
		return 0;
	}
	printk("veneer: config: %s: %u guest%s\n", file, res.guests,
	       res.guests == 1 ? "" : "s");
	config_stats_given = res.stats_given;
	config_stats_seconds = res.stats_seconds;
	if (res.log_level_given)
		config_log_level = res.log_level;
	/* Before any guest is offered the focus (guests_run). */
	if (res.shell_given)
		console_set_shell(res.shell);
	if (res.color_given)
		console_set_color(res.color);
	if (res.baud_given && res.baud != uart_baud()) {
		printk("veneer: console: %u baud from here on ([veneer] baud "
		       "in %s)\n",
		       res.baud, file);
		uart_flush();
		uart_init(uart_port(), res.baud);
	}
	return res.guests;
}

u32 placement_collect(const struct boot_info *bi, struct guest_image *images,
		      u32 max, u32 *failed)
{
	int config = find_config_module(bi);
	u32 n;

	if (config >= 0)
		return collect_from_config(bi, (u32)config, images, max,
					   failed);
	n = collect_guests(bi, images, max, failed);
	attach_modules(bi, images, n, failed);
	return n;
}

u32 placement_stats_interval(const struct boot_info *bi)
{
	return config_stats_given ? config_stats_seconds : stats_interval(bi);
}

void placement_set_default_log_level(enum log_level level)
{
	config_log_level = level;
}

enum log_level placement_log_level(void)
{
	return config_log_level;
}

/* ---- host CPUs ---- */

void placement_init(struct cpu_placement *pl, u32 cpus)
{
	*pl = (struct cpu_placement){.cpus = cpus};
}

/* Held by a partitioned guest (or no such CPU)? */
static bool cpu_taken(const struct cpu_placement *pl, u32 cpu)
{
	/* One bit per CPU (MAX_CPUS <= 64): any other is never free. */
	return cpu >= 64 || cpu >= pl->cpus || (pl->taken & (1ull << cpu));
}

/* Shared vCPUs on cpu (< 64): other guests', and cpus[0 .. i) of this one. */
static u32 cpu_load(const struct cpu_placement *pl, const u32 *cpus, u32 i,
		    u32 cpu)
{
	u32 load = pl->load[cpu];

	for (u32 j = 0; j < i; j++)
		load += cpus[j] == cpu;
	return load;
}

/* Can vCPU i of cfg go on cpu, after cpus[0 .. i) were chosen? */
static bool cpu_fits(const struct cpu_placement *pl,
		     const struct guest_cfg *cfg, const u32 *cpus, u32 i,
		     u32 cpu)
{
	u32 load;

	if (cpu_taken(pl, cpu))
		return false;
	load = cpu_load(pl, cpus, i, cpu);
	if (!cfg->shared)
		return load == 0;
	return load < PLACEMENT_THREADS_MAX;
}

/*
 * The CPUs the configuration gave (or assigned): config_parse() checked
 * them against the CPUs online and the other guests, so a refusal here
 * means a CPU was taken by a guest started another way, went away, or
 * would run more vCPUs than a CPU takes.
 */
static bool pick_fixed(const struct cpu_placement *pl,
		       const struct guest_cfg *cfg, u32 *cpus)
{
	for (u32 i = 0; i < cfg->vcpus; i++) {
		u32 cpu = cfg->cpu[i];

		if (!cpu_fits(pl, cfg, cpus, i, cpu)) {
			if (cfg->shared)
				printk("veneer: guest %s: cpu %u (vCPU %u) "
				       "cannot be shared: it does not exist, "
				       "a partitioned guest holds it, or it "
				       "runs %u vCPUs already (%u CPU%s)\n",
				       cfg->name, cpu, i, PLACEMENT_THREADS_MAX,
				       pl->cpus, pl->cpus == 1 ? "" : "s");
			else
				printk("veneer: guest %s: cpu %u (vCPU %u) is "
				       "not free (%u CPU%s, one vCPU each)\n",
				       cfg->name, cpu, i, pl->cpus,
				       pl->cpus == 1 ? "" : "s");
			return false;
		}
		cpus[i] = cpu;
	}
	return true;
}

/* A shared guest: each vCPU on the least loaded CPU it may share. */
static bool pick_shared(const struct cpu_placement *pl,
			const struct guest_cfg *cfg, u32 *cpus)
{
	for (u32 i = 0; i < cfg->vcpus; i++) {
		u32 best = 0, best_load = 0;
		bool found = false;

		for (u32 step = 1; step <= pl->cpus; step++) {
			u32 cpu = step % pl->cpus, load;

			if (!cpu_fits(pl, cfg, cpus, i, cpu))
				continue;
			load = cpu_load(pl, cpus, i, cpu);
			if (!found || load < best_load) {
				best = cpu;
				best_load = load;
				found = true;
			}
		}
		if (!found) {
			printk("veneer: guest %s: no CPU to share for vCPU "
			       "%u: partitioned guests hold the others or "
			       "each runs %u vCPUs (%u CPU%s)\n",
			       cfg->name, i, PLACEMENT_THREADS_MAX, pl->cpus,
			       pl->cpus == 1 ? "" : "s");
			return false;
		}
		cpus[i] = best;
	}
	return true;
}

bool placement_pick(const struct cpu_placement *pl, const struct guest_cfg *cfg,
		    u32 *cpus)
{
	u32 want = cfg->vcpus, found = 0;

	/* guestcfg_set() and config_parse() allow no other count. */
	if (want == 0 || want > GUESTCFG_VCPUS_MAX) {
		printk("veneer: guest %s: %u vCPUs: a guest has 1 to %d\n",
		       cfg->name, want, GUESTCFG_VCPUS_MAX);
		return false;
	}
	if (cfg->cpu_fixed)
		return pick_fixed(pl, cfg, cpus);
	if (cfg->shared)
		return pick_shared(pl, cfg, cpus);
	/* All or nothing: a guest never runs with fewer vCPUs than declared. */
	for (u32 step = 1; step <= pl->cpus && found < want; step++)
		if (cpu_fits(pl, cfg, cpus, found, step % pl->cpus))
			cpus[found++] = step % pl->cpus;
	if (found == want)
		return true;
	printk("veneer: guest %s: %u vCPU%s need%s %u free CPU%s, %u %s free "
	       "(%u CPU%s, one vCPU each)\n",
	       cfg->name, want, want == 1 ? "" : "s", want == 1 ? "s" : "",
	       want, want == 1 ? "" : "s", found, found == 1 ? "is" : "are",
	       pl->cpus, pl->cpus == 1 ? "" : "s");
	return false;
}

void placement_take(struct cpu_placement *pl, const struct guest_cfg *cfg,
		    const u32 *cpus)
{
	for (u32 i = 0; i < cfg->vcpus; i++) {
		if (cpus[i] >= MAX_CPUS)
			continue;
		if (cfg->shared)
			pl->load[cpus[i]]++;
		else
			pl->taken |= 1ull << cpus[i];
	}
}
