// SPDX-License-Identifier: MIT
/*
 * Who runs next on a shared host CPU: the pure half of core/sched.h,
 * unit-tested on the host (tests/unit/test_sched.c).
 */
#include "core/sched.h"

/* Has the TSC `now` reached `t`? (wrapping, as core/vcpu.c compares) */
static bool reached(u64 now, u64 t)
{
	return (i64)(now - t) >= 0;
}

static bool before(u64 a, u64 b)
{
	return (i64)(a - b) < 0;
}

bool sched_eligible(const struct sched_thread *t, u64 now)
{
	if (t->state == SCHED_RUNNABLE)
		return true;
	return t->state == SCHED_BLOCKED &&
	       (t->woken || reached(now, t->wake_at));
}

void sched_account(struct sched_cpu *sc, u64 now)
{
	struct sched_thread *t = &sc->thread[sc->current];
	u64 ran = now - t->since;
	u32 w = t->weight ? t->weight : SCHED_WEIGHT_DEFAULT;

	t->run_tsc += ran;
	t->vruntime +=
	    ran / w * SCHED_WEIGHT_DEFAULT + ran % w * SCHED_WEIGHT_DEFAULT / w;
	t->since = now;
}

void sched_credit_wakers(struct sched_cpu *sc, u64 now)
{
	u64 floor = 0;
	bool any = false;

	for (u32 i = 0; i < sc->count; i++) {
		const struct sched_thread *t = &sc->thread[i];

		if (t->state != SCHED_RUNNABLE)
			continue;
		if (!any || before(t->vruntime, floor))
			floor = t->vruntime;
		any = true;
	}
	if (!any)
		return;
	floor -= sc->slice_ticks;
	for (u32 i = 0; i < sc->count; i++) {
		struct sched_thread *t = &sc->thread[i];

		if (t->state == SCHED_BLOCKED && sched_eligible(t, now) &&
		    before(t->vruntime, floor))
			t->vruntime = floor;
	}
}

/*
 * Of the `last` threads after the current one in turn (the current one
 * last when last == count), the eligible one with the least weighted run
 * time, the first on a tie; only blocked ones when waiters_only.
 */
static u32 least_eligible(const struct sched_cpu *sc, u64 now, u32 last,
			  bool waiters_only)
{
	u32 best = SCHED_NONE;

	for (u32 k = 1; k <= last; k++) {
		u32 i = (sc->current + k) % sc->count;
		const struct sched_thread *t = &sc->thread[i];

		if (!sched_eligible(t, now) ||
		    (waiters_only && t->state != SCHED_BLOCKED))
			continue;
		if (best == SCHED_NONE ||
		    before(t->vruntime, sc->thread[best].vruntime))
			best = i;
	}
	return best;
}

u32 sched_pick(const struct sched_cpu *sc, u64 now)
{
	u32 best;

	if (!sc->count)
		return SCHED_NONE;
	best = least_eligible(sc, now, sc->count, false);
	if (best != SCHED_NONE)
		return best;
	for (u32 k = 1; k <= sc->count; k++) {
		u32 i = (sc->current + k) % sc->count;

		if (sc->thread[i].state != SCHED_DONE)
			return i;
	}
	return SCHED_NONE;
}

u32 sched_pick_other(const struct sched_cpu *sc, u64 now)
{
	u32 best = sc->count ? least_eligible(sc, now, sc->count - 1, false)
			     : SCHED_NONE;

	return best == SCHED_NONE ? sc->current : best;
}

u32 sched_decide(const struct sched_cpu *sc, u64 now)
{
	const struct sched_thread *cur = &sc->thread[sc->current];
	u32 next = sched_pick(sc, now);

	if (next == SCHED_NONE)
		return sc->current;
	if (reached(now, sc->slice_end) || !sched_eligible(cur, now))
		return next;
	/*
	 * Within its slice the running thread gives way only to a thread
	 * that waited (blocked: halted, say) and is due now, the one with
	 * the least weighted run time, if less than its own. One it
	 * preempted waits for the slice's end: an interrupt for it is no
	 * reason to cut short a thread that is about to finish what the
	 * other waits for (and halt).
	 */
	next = least_eligible(sc, now, sc->count - 1, true);
	if (next != SCHED_NONE &&
	    before(sc->thread[next].vruntime, cur->vruntime))
		return next;
	return sc->current;
}

u64 sched_next_event(const struct sched_cpu *sc, u64 now)
{
	u64 next = sc->slice_end;

	for (u32 i = 0; i < sc->count; i++) {
		const struct sched_thread *t = &sc->thread[i];

		if (t->state == SCHED_BLOCKED && !t->woken &&
		    !reached(now, t->wake_at) && before(t->wake_at, next))
			next = t->wake_at;
	}
	return next;
}
