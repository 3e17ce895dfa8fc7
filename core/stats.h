/* SPDX-License-Identifier: MIT */
/*
 * Exit statistics: the exits of each vCPU by kind, printed when the vCPU
 * ends and, with stats=SECONDS on the hypervisor command line, for every
 * running guest periodically (docs/boot-log.md), with how long each vCPU
 * has been up and halted.
 */
#ifndef VENEER_CORE_STATS_H
#define VENEER_CORE_STATS_H

#include "core/lib/types.h"
#include "core/bootinfo.h"

struct vm;
struct vcpu;

/*
 * One vCPU's exits on one line: "veneer: PREFIXguest NAME vcpu N exits:
 * TOTAL KIND=COUNT ...", the kinds that happened. `prefix` is "" at the
 * vCPU's end and "stats S.mmm s: " in the periodic report. Safe while the
 * vCPU runs on another CPU.
 */
void stats_print_vcpu(const struct vcpu *vcpu, const char *prefix);

/*
 * The line after it (stats_print_vcpu prints both): "veneer: PREFIXguest
 * NAME vcpu N time: up MS ms, halted MS ms, wakeups N, sipi starts N,
 * ipis dropped N": how long since it first ran and how much of that it
 * spent halted, how often an event for it was raised (an interrupt, an
 * IPI, an NMI, a kick), how many STARTUP IPIs started it, and how many
 * IPIs it sent reached no vCPU (an APIC ID none has).
 */
void stats_print_vcpu_time(const struct vcpu *vcpu, const char *prefix);

/*
 * A vCPU on a shared host CPU (core/sched.h): "veneer: PREFIXguest NAME
 * vcpu N sched: cpu C, ran R ms, waited W ms, turns T, switch S ticks":
 * its time on the CPU, its time runnable but off it (preempted, until its
 * next turn), the turns it got from another thread and what one cost on
 * average (host TSC from the decision to running in this thread). Nothing
 * for a partitioned vCPU.
 */
void stats_print_vcpu_sched(const struct vcpu *vcpu, const char *prefix);

/*
 * The guest's virtio devices (docs/devices.md), printed with vCPU 0's
 * lines. A disk: "veneer: PREFIXguest NAME disk N: reads R (K KiB), writes
 * W (K KiB), flushes F, kicks K, interrupts I[, needs reset]": requests
 * served, the driver's queue notifications and the interrupts sent (MSI-X
 * messages or INTx rising edges). The virtio console: "veneer:
 * PREFIXguest NAME virtio-console: out B bytes in C chains, in B bytes
 * (D dropped), kicks K, interrupts I[, needs reset]".
 */
struct vm;
void stats_print_devices(const struct vm *vm, const char *prefix);

/*
 * The periodic report, `elapsed_ms` after the guests started: one line
 * per vCPU of every running guest in vms[0, count).
 */
void stats_report(const struct vm *vms, u32 count, u64 elapsed_ms);

/* stats=SECONDS from the hypervisor command line, or 0 (no reports). */
u32 stats_interval(const struct boot_info *bi);

#endif /* VENEER_CORE_STATS_H */
