/* SPDX-License-Identifier: MIT */
/*
 * Which guests there are and where they run: the guests of the
 * configuration module (core/config.h, docs/config.md) when there is one,
 * else the declarations in the boot modules' strings (core/guestcfg.h);
 * and the host CPUs each guest gets. Placement is static partitioning by
 * default: one vCPU per host CPU, the ones the configuration gives, else
 * CPUs 1, 2, ... first, the boot CPU last; guests declared shared share
 * the CPUs no partitioned guest holds (core/sched.h).
 */
#ifndef VENEER_CORE_PLACEMENT_H
#define VENEER_CORE_PLACEMENT_H

#include "core/lib/types.h"
#include "core/bootinfo.h"
#include "core/load.h"
#include "core/lib/printk.h"

/*
 * The guests, at most `max`, into images[]. With a configuration module
 * (its string is "PATH config"): the guests it declares, in its order,
 * after checking all of it against the other modules, the CPUs online and
 * the free memory; any error is reported, counted once in *failed and no
 * guest is returned. Without one: every module string is parsed, the
 * guests in module order, then the modules declared for=GUEST attached
 * to theirs; each module refused is reported and counted in *failed, and
 * the others are returned. Returns the number of guests.
 */
u32 placement_collect(const struct boot_info *bi, struct guest_image *images,
		      u32 max, u32 *failed);

/*
 * The periodic statistics interval in seconds (0: off): the
 * configuration's [veneer] stats when it gives one, else the hypervisor
 * command line's stats= (stats_interval()). Call after placement_collect().
 */
u32 placement_stats_interval(const struct boot_info *bi);

/*
 * The console's log level for the run: the configuration's [veneer]
 * log_level when it gives one, else the default: the hypervisor command
 * line's log= (placement_set_default_log_level(), called by boot_main),
 * else LOG_INFO (core/lib/printk.h). Call after placement_collect(); the
 * caller sets it (printk_set_level).
 */
enum log_level placement_log_level(void);
void placement_set_default_log_level(enum log_level level);

/* vCPUs one host CPU runs at most (SCHED_MAX_THREADS, core/sched.h). */
#define PLACEMENT_THREADS_MAX 16

/* Host CPUs 0-63 (MAX_CPUS, arch/x86/percpu.h). */
struct cpu_placement {
	u32 cpus;    /* host CPUs online; CPU 0 is the boot CPU */
	u64 taken;   /* bit N: CPU N has a partitioned guest's vCPU */
	u8 load[64]; /* vCPUs of shared guests on CPU N */
};

void placement_init(struct cpu_placement *pl, u32 cpus);

/*
 * The host CPUs for the next guest, one per vCPU: cpus[i] for vCPU i,
 * i < cfg->vcpus. cfg->cpu[] when cfg->cpu_fixed (the configuration gave
 * or assigned them), else for a partitioned guest the first free of CPUs
 * 1, 2, ..., then the boot CPU, and for a shared guest (cfg->shared) the
 * CPUs no partitioned guest holds, fewest shared vCPUs first. A
 * partitioned guest's CPU runs only its vCPU; a shared CPU runs at most
 * PLACEMENT_THREADS_MAX vCPUs of shared guests. False, with a line naming
 * the guest and what is missing, when any does not fit. The CPUs stay
 * free until placement_take() (a guest that fails to start leaves its
 * CPUs to the next).
 */
bool placement_pick(const struct cpu_placement *pl, const struct guest_cfg *cfg,
		    u32 *cpus);
void placement_take(struct cpu_placement *pl, const struct guest_cfg *cfg,
		    const u32 *cpus);

#endif /* VENEER_CORE_PLACEMENT_H */
