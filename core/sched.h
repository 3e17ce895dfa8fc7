/* SPDX-License-Identifier: MIT */
/*
 * Shared host CPUs: the threads of one CPU and who runs next
 * (docs/scheduler.md).
 *
 * Every host CPU that runs guests runs one thread per vCPU placed on it
 * (core/guest.c gives each its function). A CPU with one thread is
 * static partitioning: every call below returns at once, but
 * sched_block() halts the CPU until wake_at, a kick or SCHED_IDLE_US.
 * With several,
 * the threads take turns, cooperatively, at three kinds of points:
 *   - sched_point(), before every guest entry (the VM lock released,
 *     when sched_due() says a decision is due):
 *     the running vCPU gives way when its slice is over, or when a
 *     halted one with less weighted run time is due;
 *   - sched_block(), where a vCPU waits (HLT, a SIPI, the guest's other
 *     vCPUs): it gives up the CPU at once and wants it back at its next
 *     timer, when woken (sched_wake) or after SCHED_POLL_US at the latest;
 *   - the end of a slice: sched_cap() brings the guest's next exit
 *     forward to it (the backend's deadline: the VMX preemption timer or
 *     the host LAPIC timer).
 * Who runs next: of the threads that can run, the one with the least
 * weighted run time (run time * SCHED_WEIGHT_DEFAULT / weight), the
 * others in turn on a tie. A thread woken from a wait is credited at
 * most one slice behind the others, so sleeping earns no burst.
 */
#ifndef VENEER_CORE_SCHED_H
#define VENEER_CORE_SCHED_H

#include "core/lib/types.h"
#include "arch/x86/switch.h"

struct vcpu;

#define SCHED_MAX_THREADS    16	 /* vCPUs on one host CPU */
#define SCHED_WEIGHT_DEFAULT 100 /* weight = : a guest's share, 1 to 1000 */
#define SCHED_WEIGHT_MAX     1000
#define SCHED_SLICE_US	     10000 /* the longest turn while others wait */
#define SCHED_POLL_US	     10000 /* a waiting thread looks again after */
#define SCHED_IDLE_US	     1000  /* a CPU of its own looks again after */
#define SCHED_NONE	     0xffffffffu

enum sched_state {
	SCHED_RUNNABLE, /* running, or wants to */
	SCHED_BLOCKED,	/* waits: until wake_at or sched_wake() */
	SCHED_DONE,	/* its function returned */
};

struct sched_cpu;

struct sched_thread {
	u64 rsp; /* saved host RSP while it does not run */
	void (*fn)(void *);
	void *arg;
	struct vcpu *vcpu; /* this_cpu()->vcpu while it runs */
	struct sched_cpu *cpu;
	u64 stack; /* its stack pages; 0 for the CPU's own stack */
	u32 weight;
	enum sched_state state;
	u64 vruntime; /* weighted run time, host TSC ticks */
	u64 wake_at;  /* blocked: host TSC at which it wants the CPU */
	volatile bool woken;
	u64 since;	 /* host TSC: switched in, or preempted */
	bool preempted;	 /* switched out while runnable */
	u64 run_tsc;	 /* statistics: time on the CPU */
	u64 waited_tsc;	 /* time runnable but off the CPU */
	u64 switched_in; /* times it got the CPU from another thread */
	u64 switch_tsc;	 /* their cost: decision to running here */
	struct hw_context hw;
};

struct sched_cpu {
	struct sched_thread thread[SCHED_MAX_THREADS];
	u32 count;
	u32 current;
	u32 done; /* threads whose function returned */
	u64 slice_ticks, poll_ticks;
	u64 slice_end;	/* host TSC: the running thread's turn ends */
	u64 next_event; /* host TSC: the next time sched_point() decides */
	volatile bool kick;
	bool yield;    /* the running thread spins: the others first */
	u64 switch_at; /* host TSC of the decision of the switch under way */
	u64 switches;
};

/* ---- the policy: pure functions of a sched_cpu and the time ---- */

/* Can thread i take the CPU at `now`? */
bool sched_eligible(const struct sched_thread *t, u64 now);

/*
 * Add the running thread's time since it was switched in (or last
 * accounted) to its run time and weighted run time.
 */
void sched_account(struct sched_cpu *sc, u64 now);

/*
 * Threads that became eligible while blocked are credited at most one
 * slice behind the least weighted run time of the runnable ones.
 */
void sched_credit_wakers(struct sched_cpu *sc, u64 now);

/*
 * The thread to run at `now`: of the eligible ones the least weighted run
 * time, ties going to the threads after the current one in turn (the
 * current one last). When none is eligible: the next thread that has not
 * ended, after the current one (it looks at its wait's condition again).
 */
u32 sched_pick(const struct sched_cpu *sc, u64 now);

/*
 * The running thread yields (it spins): the eligible thread with the least
 * weighted run time other than it, or it when none is.
 */
u32 sched_pick_other(const struct sched_cpu *sc, u64 now);

/*
 * Decide at `now`, with the running thread accounted: its slice is over
 * (rotate: sched_pick), or another eligible thread has less weighted run
 * time than it (a waker preempts), or it stays. The index to run.
 */
u32 sched_decide(const struct sched_cpu *sc, u64 now);

/*
 * When sched_point() must look next: the end of the slice, or the first
 * wake_at of a blocked thread not yet eligible.
 */
u64 sched_next_event(const struct sched_cpu *sc, u64 now);

/* ---- running threads (core/sched.c on the hypervisor) ---- */

/*
 * Host CPU `cpu`'s threads (made on first use; NULL without memory). One
 * per vCPU, added in order before the CPU runs them (sched_run()), with
 * the guest's weight (1 to SCHED_WEIGHT_MAX, 0 for the default): a thread
 * beside others gets its stack and save area here. False when the CPU has
 * SCHED_MAX_THREADS already or memory is short; sched_drop_last() takes
 * the last one added back (a guest that cannot have all its vCPUs).
 */
struct sched_cpu *sched_cpu_of(u32 cpu);
bool sched_add(struct sched_cpu *sc, void (*fn)(void *), void *arg,
	       struct vcpu *vcpu, u32 weight);
void sched_drop_last(struct sched_cpu *sc);

/*
 * Run the CPU's threads until every one's function has returned; on the
 * calling CPU, whose own stack is the first thread's.
 */
void sched_run(struct sched_cpu *sc);

/*
 * Is a decision due on this CPU (the slice is over, a waiting thread's
 * time has come, or one was woken)? Cheap, any lock held; then
 * sched_point() with no lock held, before the entry request is made.
 */
bool sched_due(void);

/*
 * Does host CPU `cpu` run more than one thread, once its threads are
 * added? (struct vcpu.shares_cpu: the run loop asks for PAUSE exits and
 * makes its decisions only then.)
 */
bool sched_cpu_shared(u32 cpu);

/*
 * The running thread spins (a PAUSE-loop exit): at the next decision, due
 * at once, every other eligible thread goes first.
 */
void sched_yield(void);

/* Before a guest entry, no lock held: give way if it is time. */
void sched_point(void);

/* The entry's deadline (host TSC, 0: none), brought forward to the next
 * decision when other threads share this CPU. */
u64 sched_cap(u64 deadline);

/* Wait: give the CPU up until wake_at (host TSC; 0: none) or a wake. */
void sched_block(u64 wake_at);

/* A wait loop's turn: sched_block(0), or a PAUSE when alone. */
void sched_relax(void);

/*
 * Something for the vCPU on host CPU `cpu` happened: its thread may run
 * again. From any CPU.
 */
void sched_wake(struct vcpu *vcpu, u32 cpu);

/* Statistics of one vCPU's thread (host TSC ticks). */
struct sched_stats {
	u64 run_tsc;	 /* on the CPU */
	u64 waited_tsc;	 /* runnable but off it */
	u64 switched_in; /* turns it got from another thread */
	u64 switch_tsc;	 /* their cost in all, decision to running */
};

/*
 * The statistics of the vCPU's thread on host CPU `cpu`: false when the
 * CPU is not shared (no thread of its own to count).
 */
bool sched_vcpu_stats(const struct vcpu *vcpu, u32 cpu,
		      struct sched_stats *out);

#endif /* VENEER_CORE_SCHED_H */
