/* SPDX-License-Identifier: MIT */
/*
 * Which guests there are and where they run: the guest declarations
 * collected from the boot modules' strings (core/guestcfg.h), and the host
 * CPU each guest gets. Placement is static partitioning: one guest per
 * host CPU, CPUs 1, 2, ... first, the boot CPU last.
 */
#ifndef VENEER_CORE_PLACEMENT_H
#define VENEER_CORE_PLACEMENT_H

#include "core/lib/types.h"
#include "core/bootinfo.h"
#include "core/load.h"

/*
 * Parse every module string: the guests (at most `max`, in module order)
 * into images[], then the modules declared for=GUEST attached to theirs.
 * Each module refused is reported on the console and counted in *failed.
 * Returns the number of guests.
 */
u32 placement_collect(const struct boot_info *bi, struct guest_image *images,
		      u32 max, u32 *failed);

struct cpu_placement {
	u32 cpus;	     /* host CPUs online; CPU 0 is the boot CPU */
	u32 next;	     /* the next other CPU to give out */
	bool boot_cpu_taken; /* the boot CPU has its guest */
};

void placement_init(struct cpu_placement *pl, u32 cpus);

/*
 * The host CPU for the next guest, `name`: CPUs 1, 2, ... while there are,
 * then the boot CPU. False, with a line saying so, when none is free.
 * The CPU stays free until placement_take() (a guest that fails to start
 * leaves its CPU to the next).
 */
bool placement_pick(const struct cpu_placement *pl, const char *name, u32 *cpu);
void placement_take(struct cpu_placement *pl, u32 cpu);

#endif /* VENEER_CORE_PLACEMENT_H */
