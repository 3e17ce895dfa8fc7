// SPDX-License-Identifier: MIT
/*
 * Threads on shared host CPUs (core/sched.h, docs/scheduler.md): their
 * stacks, the switch and the points where a thread gives way. The
 * decisions are core/sched_policy.c's.
 */
#include "core/sched.h"
#include "core/mm.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc.h"

/* One page per host CPU that runs guests, made when it gets its first. */
_Static_assert(sizeof(struct sched_cpu) <= 2 * PAGE_SIZE,
	       "struct sched_cpu fits the pages sched_cpu_of() takes");
static struct sched_cpu *sched_cpus[MAX_CPUS];

struct sched_cpu *sched_cpu_of(u32 cpu)
{
	u64 pages;

	if (cpu >= MAX_CPUS)
		return NULL;
	if (sched_cpus[cpu])
		return sched_cpus[cpu];
	pages = mm_alloc_pages(2, PAGE_SIZE, MM_ANY);
	if (!pages)
		return NULL;
	sched_cpus[cpu] = hpa_to_ptr(pages);
	sched_cpus[cpu]->current = 0;
	return sched_cpus[cpu];
}

static struct sched_cpu *this_sched(void)
{
	return sched_cpus[this_cpu()->index];
}

/* Pages of a thread's save area (XSAVE / FXSAVE). */
static u64 area_pages(void)
{
	return (hw_context_size() + PAGE_SIZE - 1) / PAGE_SIZE;
}

/* The save area of a thread that shares its CPU, in reset state. */
static bool give_area(struct sched_thread *t)
{
	u64 area;

	if (t->hw.xstate)
		return true;
	area = mm_alloc_pages(area_pages(), PAGE_SIZE, MM_ANY);
	if (!area)
		return false;
	t->hw.xstate = hpa_to_ptr(area);
	hw_context_init(&t->hw);
	return true;
}

/* What give_area() and the stack took, back to the pool. */
static void take_back(struct sched_thread *t)
{
	if (t->hw.xstate)
		mm_free_pages(ptr_to_hpa(t->hw.xstate), area_pages());
	if (t->stack)
		mm_free_pages(t->stack, STACK_SIZE / PAGE_SIZE);
	t->hw.xstate = NULL;
	t->stack = 0;
}

bool sched_add(struct sched_cpu *sc, void (*fn)(void *), void *arg,
	       struct vcpu *vcpu, u32 weight)
{
	struct sched_thread *t;

	if (sc->count >= SCHED_MAX_THREADS)
		return false;
	t = &sc->thread[sc->count];
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
	t->vcpu = vcpu;
	t->cpu = sc;
	t->weight = weight ? weight : SCHED_WEIGHT_DEFAULT;
	t->state = SCHED_RUNNABLE;
	/*
	 * The first thread runs on the CPU's own stack and, alone, needs
	 * nothing more; once another shares the CPU both need a save area,
	 * and the other a stack of its own.
	 */
	if (sc->count) {
		t->stack =
		    mm_alloc_pages(STACK_SIZE / PAGE_SIZE, PAGE_SIZE, MM_ANY);
		if (!t->stack || !give_area(t) || !give_area(&sc->thread[0])) {
			take_back(t);
			return false;
		}
		t->rsp = stack_prepare((u64)(uintptr_t)hpa_to_ptr(t->stack) +
				       STACK_SIZE);
	}
	sc->count++;
	return true;
}

void sched_drop_last(struct sched_cpu *sc)
{
	if (!sc->count)
		return;
	take_back(&sc->thread[--sc->count]);
}

static void set_next_event(struct sched_cpu *sc, u64 now)
{
	sc->next_event = sched_next_event(sc, now);
}

/* The thread that now runs got here: what the switch cost. */
static void switched_in(struct sched_cpu *sc)
{
	sc->thread[sc->current].switch_tsc += rdtsc() - sc->switch_at;
}

/* Give the CPU to thread `next` (the running thread accounted). */
static void switch_to(struct sched_cpu *sc, u32 next, u64 now)
{
	struct sched_thread *prev = &sc->thread[sc->current];
	struct sched_thread *t = &sc->thread[next];
	bool new_slice = next != sc->current ||
			 (i64)(now - sc->slice_end) >= 0 ||
			 prev->state != SCHED_RUNNABLE;

	__atomic_store_n(&t->woken, false, __ATOMIC_SEQ_CST);
	sc->yield = false;
	if (t->state == SCHED_BLOCKED)
		t->state = SCHED_RUNNABLE;
	if (new_slice)
		sc->slice_end = now + sc->slice_ticks;
	if (next == sc->current) {
		set_next_event(sc, now);
		return;
	}
	prev->preempted = prev->state == SCHED_RUNNABLE;
	prev->since = now;
	if (t->preempted)
		t->waited_tsc += now - t->since;
	t->preempted = false;
	t->since = now;
	t->switched_in++;
	sc->switches++;
	sc->current = next;
	this_cpu()->vcpu = t->vcpu;
	set_next_event(sc, now);
	sc->switch_at = now;
	hw_context_save(&prev->hw);
	hw_context_load(&t->hw);
	stack_switch(&prev->rsp, t->rsp);
	/* Back on prev's stack: another thread gave it the CPU. */
	switched_in(sc);
}

/* Decide at now and switch if another thread is to run. */
static void reschedule(struct sched_cpu *sc)
{
	u64 now = rdtsc();
	u32 next;

	sched_account(sc, now);
	sched_credit_wakers(sc, now);
	next = sc->yield ? sched_pick_other(sc, now) : sched_decide(sc, now);
	switch_to(sc, next, now);
}

/* Where a thread that never ran starts (arch/x86/switch.S). */
void sched_thread_main(void);
void sched_thread_main(void)
{
	struct sched_cpu *sc = this_sched();
	struct sched_thread *t = &sc->thread[sc->current];

	switched_in(sc);
	t->fn(t->arg);
	t->state = SCHED_DONE;
	sc->done++;
	/* Thread 0 waits for the others: one is always left to run. */
	for (;;)
		reschedule(sc);
}

void sched_run(struct sched_cpu *sc)
{
	struct sched_thread *t0 = &sc->thread[0];
	u64 now;

	if (sc->count == 0)
		return;
	if (sc->count == 1) {
		/* Static partitioning: the CPU's own stack, no switches. */
		this_cpu()->vcpu = t0->vcpu;
		t0->fn(t0->arg);
		t0->state = SCHED_DONE;
		return;
	}
	sc->slice_ticks = tsc_from_us(SCHED_SLICE_US);
	sc->poll_ticks = tsc_from_us(SCHED_POLL_US);
	now = rdtsc();
	for (u32 i = 0; i < sc->count; i++)
		sc->thread[i].since = now;
	sc->current = 0;
	sc->slice_end = now + sc->slice_ticks;
	set_next_event(sc, now);
	this_cpu()->vcpu = t0->vcpu;
	hw_context_load(&t0->hw);
	t0->fn(t0->arg);
	while (sc->done < sc->count - 1)
		sched_block(0);
	t0->state = SCHED_DONE;
	this_cpu()->vcpu = NULL;
}

bool sched_cpu_shared(u32 cpu)
{
	return cpu < MAX_CPUS && sched_cpus[cpu] && sched_cpus[cpu]->count > 1;
}

void sched_yield(void)
{
	struct sched_cpu *sc = this_sched();

	if (!sc || sc->count <= 1)
		return;
	sc->yield = true;
	__atomic_store_n(&sc->kick, true, __ATOMIC_SEQ_CST);
}

bool sched_due(void)
{
	const struct sched_cpu *sc = this_sched();

	if (!sc || sc->count <= 1)
		return false;
	return __atomic_load_n(&sc->kick, __ATOMIC_SEQ_CST) ||
	       (i64)(rdtsc() - sc->next_event) >= 0;
}

void sched_point(void)
{
	struct sched_cpu *sc = this_sched();

	if (!sc || sc->count <= 1)
		return;
	__atomic_store_n(&sc->kick, false, __ATOMIC_SEQ_CST);
	reschedule(sc);
}

u64 sched_cap(u64 deadline)
{
	struct sched_cpu *sc = this_sched();

	if (!sc || sc->count <= 1)
		return deadline;
	if (!deadline || (i64)(sc->next_event - deadline) < 0)
		return sc->next_event ? sc->next_event : 1;
	return deadline;
}

/*
 * A CPU of its own waits halted, not polling: until wake_at, a kick
 * (vm_wake_vcpu of a vCPU in its loop) or SCHED_IDLE_US, after which the
 * caller looks again for what comes without a kick (a SIPI, the end of
 * another CPU's vCPU). Polling cost an emulator as much as running the
 * guest (Bochs emulates every CPU in turn), and kept the VM lock of a
 * guest whose other vCPUs halted busy.
 */
static void idle_alone(u64 wake_at)
{
	u64 until = rdtsc() + tsc_from_us(SCHED_IDLE_US);

	if (wake_at && (i64)(wake_at - until) < 0)
		until = wake_at;
	smp_idle_until(until);
}

void sched_block(u64 wake_at)
{
	struct sched_cpu *sc = this_sched();
	struct sched_thread *t;
	u64 now;
	u32 next;

	if (!sc || sc->count <= 1) {
		idle_alone(wake_at);
		return;
	}
	t = &sc->thread[sc->current];
	now = rdtsc();
	sched_account(sc, now);
	t->state = SCHED_BLOCKED;
	t->wake_at = now + sc->poll_ticks;
	if (wake_at && (i64)(wake_at - t->wake_at) < 0)
		t->wake_at = wake_at;
	sched_credit_wakers(sc, now);
	next = sched_pick(sc, now);
	/*
	 * Nobody can run: the next waiting thread only looks again. A PAUSE
	 * first, as any wait loop of Veneer's: an emulator that runs all CPUs
	 * in turn in one thread (QEMU's TCG with -icount) hands the turn on
	 * there, and the other CPUs are what this one waits for.
	 */
	if (!sched_eligible(&sc->thread[next], now))
		cpu_relax();
	switch_to(sc, next, now);
	if (t->state == SCHED_BLOCKED)
		t->state = SCHED_RUNNABLE;
}

void sched_relax(void)
{
	sched_block(0);
}

static struct sched_thread *thread_of(const struct vcpu *vcpu, u32 cpu)
{
	struct sched_cpu *sc = cpu < MAX_CPUS ? sched_cpus[cpu] : NULL;

	if (!sc)
		return NULL;
	for (u32 i = 0; i < sc->count; i++)
		if (sc->thread[i].vcpu == vcpu)
			return &sc->thread[i];
	return NULL;
}

void sched_wake(struct vcpu *vcpu, u32 cpu)
{
	struct sched_thread *t = thread_of(vcpu, cpu);

	if (!t || t->cpu->count <= 1)
		return;
	__atomic_store_n(&t->woken, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->cpu->kick, true, __ATOMIC_SEQ_CST);
}

bool sched_vcpu_stats(const struct vcpu *vcpu, u32 cpu, struct sched_stats *out)
{
	const struct sched_thread *t = thread_of(vcpu, cpu);

	if (!t || t->cpu->count <= 1)
		return false;
	out->run_tsc = __atomic_load_n(&t->run_tsc, __ATOMIC_RELAXED);
	out->waited_tsc = __atomic_load_n(&t->waited_tsc, __ATOMIC_RELAXED);
	out->switched_in = __atomic_load_n(&t->switched_in, __ATOMIC_RELAXED);
	out->switch_tsc = __atomic_load_n(&t->switch_tsc, __ATOMIC_RELAXED);
	return true;
}
