/* SPDX-License-Identifier: MIT */
/*
 * Host CPUs: per-CPU blocks, bringing up the application processors, and
 * running a function on another CPU.
 */
#ifndef VENEER_ARCH_X86_SMP_H
#define VENEER_ARCH_X86_SMP_H

#include "core/lib/types.h"
#include "arch/x86/percpu.h"

/* Boot CPU: per-CPU block 0, GS base, descriptor tables, stacks. */
void smp_init_boot_cpu(void);

/*
 * Start every CPU in apic_ids[] except the boot CPU (at most `max` CPUs in
 * all, 0 = no limit). `ap_init` runs on each new CPU before it reports
 * online. Returns the number of CPUs online, the boot CPU included.
 */
u32 smp_start_aps(const u32 *apic_ids, u32 count, u32 max,
		  void (*ap_init)(struct percpu *cpu));

/* Run fn(arg) on idle CPU `index` (asynchronously). False if busy/offline. */
bool smp_call_on(u32 index, void (*fn)(void *), void *arg);

/*
 * Make CPU `index` leave guest mode soon: an interrupt on the host timer
 * vector, which every backend takes as an external-interrupt exit and
 * the host only acknowledges. Nothing happens to the current CPU or one
 * that is offline.
 */
void smp_kick(u32 index);

/*
 * Idle the current CPU (HLT) until the host TSC reaches `deadline` (0:
 * no deadline), a kick (smp_kick) or another host interrupt; at once when
 * the deadline has passed. Called with interrupts off, after the caller
 * looked for work: a kick sent since then ends the wait at once. An
 * emulator spends nothing on a halted CPU (Bochs, QEMU's -icount jumps
 * ahead), which a CPU that polls with PAUSE does not get.
 */
void smp_idle_until(u64 deadline);

#endif /* VENEER_ARCH_X86_SMP_H */
