/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the shared-CPU policy (core/sched_policy.c): who is
 * eligible, who is picked, when the running thread gives way, the credit a
 * waker gets, weighted accounting, when the next decision is due, and a
 * simulated CPU that checks the shares, the longest wait and what a halted
 * thread costs a busy one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/sched.h"

#define SLICE 1000u

static void init_cpu(struct sched_cpu *sc, u32 count)
{
	memset(sc, 0, sizeof(*sc));
	sc->count = count;
	sc->slice_ticks = SLICE;
	sc->poll_ticks = 10 * SLICE;
	sc->slice_end = SLICE;
	for (u32 i = 0; i < count; i++) {
		sc->thread[i].state = SCHED_RUNNABLE;
		sc->thread[i].weight = SCHED_WEIGHT_DEFAULT;
	}
}

static void test_eligible(void **state)
{
	struct sched_thread t = {.state = SCHED_RUNNABLE};

	(void)state;
	assert_true(sched_eligible(&t, 0));
	t.state = SCHED_DONE;
	assert_false(sched_eligible(&t, 0));
	t.state = SCHED_BLOCKED;
	t.wake_at = 500;
	assert_false(sched_eligible(&t, 499));
	assert_true(sched_eligible(&t, 500));
	t.woken = true;
	assert_true(sched_eligible(&t, 0));
	/* The TSC wraps: a wake time just past 2^64 is still ahead. */
	t.woken = false;
	t.wake_at = 10;
	assert_false(sched_eligible(&t, ~0ull - 5));
	assert_true(sched_eligible(&t, 10));
}

static void test_pick_least_weighted_run_time(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 3);
	sc.thread[0].vruntime = 300;
	sc.thread[1].vruntime = 100;
	sc.thread[2].vruntime = 200;
	assert_int_equal(sched_pick(&sc, 0), 1);
	sc.thread[1].state = SCHED_BLOCKED;
	sc.thread[1].wake_at = 50;
	assert_int_equal(sched_pick(&sc, 10), 2);
	assert_int_equal(sched_pick(&sc, 50), 1);
	sc.thread[2].state = SCHED_DONE;
	assert_int_equal(sched_pick(&sc, 10), 0);
}

static void test_ties_rotate(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 3);
	sc.current = 0;
	assert_int_equal(sched_pick(&sc, 0), 1);
	sc.current = 1;
	assert_int_equal(sched_pick(&sc, 0), 2);
	sc.current = 2;
	assert_int_equal(sched_pick(&sc, 0), 0);
	/* Alone, the current thread runs on. */
	sc.thread[0].state = SCHED_DONE;
	sc.thread[1].state = SCHED_DONE;
	assert_int_equal(sched_pick(&sc, 0), 2);
}

static void test_none_eligible_polls_the_next(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 3);
	for (u32 i = 0; i < 3; i++) {
		sc.thread[i].state = SCHED_BLOCKED;
		sc.thread[i].wake_at = 1000000;
	}
	sc.thread[1].state = SCHED_DONE;
	sc.current = 0;
	assert_int_equal(sched_pick(&sc, 0), 2);
	sc.current = 2;
	assert_int_equal(sched_pick(&sc, 0), 0);
	init_cpu(&sc, 0);
	assert_int_equal(sched_pick(&sc, 0), SCHED_NONE);
}

static void test_decide_within_and_after_the_slice(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 2);
	sc.current = 0;
	sc.slice_end = 1000;
	sc.thread[0].vruntime = 500;
	sc.thread[1].vruntime = 100; /* runnable, preempted earlier */
	/* Within the slice a runnable thread does not preempt... */
	assert_int_equal(sched_decide(&sc, 999), 0);
	/* ...at its end the least run time goes next. */
	assert_int_equal(sched_decide(&sc, 1000), 1);
	/* A waiting thread that is due and behind preempts at once. */
	sc.thread[1].state = SCHED_BLOCKED;
	sc.thread[1].wake_at = 2000;
	assert_int_equal(sched_decide(&sc, 999), 0);
	sc.thread[1].woken = true;
	assert_int_equal(sched_decide(&sc, 999), 1);
	/* One ahead of the running thread waits for the slice's end, and
	 * then for the running one to be ahead. */
	sc.thread[1].vruntime = 600;
	assert_int_equal(sched_decide(&sc, 999), 0);
	assert_int_equal(sched_decide(&sc, 1000), 0);
	sc.thread[0].vruntime = 700;
	assert_int_equal(sched_decide(&sc, 1000), 1);
	/* A running thread that blocks gives way whatever the times. */
	sc.thread[0].state = SCHED_BLOCKED;
	sc.thread[0].wake_at = 5000;
	sc.thread[1].woken = false;
	sc.thread[1].state = SCHED_RUNNABLE;
	assert_int_equal(sched_decide(&sc, 10), 1);
}

/* A spinning thread yields: any other eligible one first, least run time. */
static void test_yield_gives_way(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 3);
	sc.current = 0;
	sc.thread[0].vruntime = 10; /* the least: it would be picked again */
	sc.thread[1].vruntime = 500;
	sc.thread[2].vruntime = 300;
	assert_int_equal(sched_pick(&sc, 0), 0);
	assert_int_equal(sched_pick_other(&sc, 0), 2);
	sc.thread[2].state = SCHED_BLOCKED;
	sc.thread[2].wake_at = 100;
	assert_int_equal(sched_pick_other(&sc, 0), 1);
	/* Nobody else can run: it goes on. */
	sc.thread[1].state = SCHED_DONE;
	assert_int_equal(sched_pick_other(&sc, 0), 0);
	assert_int_equal(sched_pick_other(&sc, 100), 2);
}

static void test_waker_credited_one_slice_behind(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 3);
	sc.thread[0].vruntime = 50000;
	sc.thread[1].vruntime = 40000;
	sc.thread[2].vruntime = 10; /* slept long */
	sc.thread[2].state = SCHED_BLOCKED;
	sc.thread[2].wake_at = 100;
	/* Not yet due: untouched. */
	sched_credit_wakers(&sc, 99);
	assert_int_equal(sc.thread[2].vruntime, 10);
	sched_credit_wakers(&sc, 100);
	assert_int_equal(sc.thread[2].vruntime, 40000 - SLICE);
	/* Never moved back. */
	sc.thread[2].vruntime = 45000;
	sched_credit_wakers(&sc, 100);
	assert_int_equal(sc.thread[2].vruntime, 45000);
	/* With no runnable thread there is nothing to be behind. */
	sc.thread[0].state = SCHED_BLOCKED;
	sc.thread[1].state = SCHED_DONE;
	sc.thread[2].vruntime = 10;
	sched_credit_wakers(&sc, 100);
	assert_int_equal(sc.thread[2].vruntime, 10);
}

static void test_account_weights(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 2);
	sc.current = 0;
	sc.thread[0].weight = 200;
	sc.thread[0].since = 1000;
	sched_account(&sc, 3000);
	assert_int_equal(sc.thread[0].run_tsc, 2000);
	assert_int_equal(sc.thread[0].vruntime, 1000);
	assert_int_equal(sc.thread[0].since, 3000);
	sc.thread[0].weight = 1;
	sched_account(&sc, 3010);
	assert_int_equal(sc.thread[0].vruntime, 2000);
	/* Weight 3: no time lost to rounding over a long run. */
	sc.thread[0].weight = 3;
	sc.thread[0].vruntime = 0;
	sc.thread[0].since = 0;
	sched_account(&sc, 3000000000000ull);
	assert_int_equal(sc.thread[0].vruntime, 100000000000000ull);
}

static void test_next_event(void **state)
{
	struct sched_cpu sc;

	(void)state;
	init_cpu(&sc, 3);
	sc.slice_end = 5000;
	assert_int_equal(sched_next_event(&sc, 0), 5000);
	sc.thread[1].state = SCHED_BLOCKED;
	sc.thread[1].wake_at = 3000;
	assert_int_equal(sched_next_event(&sc, 0), 3000);
	/* Due already, or woken: decided at the slice's end, not again
	 * and again. */
	assert_int_equal(sched_next_event(&sc, 3000), 5000);
	sc.thread[1].woken = true;
	assert_int_equal(sched_next_event(&sc, 0), 5000);
	sc.thread[2].state = SCHED_BLOCKED;
	sc.thread[2].wake_at = 9000;
	assert_int_equal(sched_next_event(&sc, 0), 5000);
}

/*
 * A simulated CPU: busy threads always run; a halting thread runs `work`
 * ticks every `period` ticks and blocks until its next period. The clock
 * moves to the next decision each step, as the capped deadline would.
 */
struct sim {
	struct sched_cpu sc;
	u64 now;
	u64 period[SCHED_MAX_THREADS]; /* 0: busy */
	u64 work[SCHED_MAX_THREADS];
	u64 next_period[SCHED_MAX_THREADS];
	u64 left[SCHED_MAX_THREADS]; /* work left in this period */
	u64 last_ran[SCHED_MAX_THREADS];
	u64 longest_gap[SCHED_MAX_THREADS];
	u64 late[SCHED_MAX_THREADS]; /* longest from due to running */
};

static void sim_switch(struct sim *s, u32 next)
{
	struct sched_cpu *sc = &s->sc;
	struct sched_thread *t = &sc->thread[next];

	if (next != sc->current ||
	    sc->thread[sc->current].state != SCHED_RUNNABLE ||
	    s->now >= sc->slice_end)
		sc->slice_end = s->now + sc->slice_ticks;
	if (t->state == SCHED_BLOCKED) {
		if (s->period[next] && s->now >= s->next_period[next] &&
		    s->now - s->next_period[next] > s->late[next])
			s->late[next] = s->now - s->next_period[next];
		t->state = SCHED_RUNNABLE;
	}
	t->woken = false;
	if (next != sc->current) {
		u64 gap = s->now - s->last_ran[next];

		if (gap > s->longest_gap[next])
			s->longest_gap[next] = gap;
		t->since = s->now;
	}
	sc->current = next;
}

static void sim_run(struct sim *s, u64 until)
{
	struct sched_cpu *sc = &s->sc;

	while (s->now < until) {
		u32 cur = sc->current;
		struct sched_thread *t = &sc->thread[cur];
		u64 step = sched_next_event(sc, s->now) - s->now;

		if (t->state == SCHED_RUNNABLE && s->period[cur]) {
			if (s->now >= s->next_period[cur] && !s->left[cur]) {
				s->left[cur] = s->work[cur];
				s->next_period[cur] += s->period[cur];
			}
			if (s->left[cur] < step)
				step = s->left[cur];
		}
		if (step == 0)
			step = 1;
		if (t->state == SCHED_RUNNABLE) {
			s->now += step;
			s->last_ran[cur] = s->now;
			if (s->period[cur])
				s->left[cur] -=
				    step < s->left[cur] ? step : s->left[cur];
		} else {
			s->now += step;
		}
		sched_account(sc, s->now);
		if (t->state == SCHED_RUNNABLE && s->period[cur] &&
		    !s->left[cur]) {
			t->state = SCHED_BLOCKED;
			t->wake_at = s->next_period[cur];
			sched_credit_wakers(sc, s->now);
			sim_switch(s, sched_pick(sc, s->now));
			continue;
		}
		sched_credit_wakers(sc, s->now);
		sim_switch(s, sched_decide(sc, s->now));
	}
}

static void test_sim_shares_by_weight(void **state)
{
	static struct sim s;
	u64 total = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	init_cpu(&s.sc, 3);
	s.sc.thread[2].weight = 200;
	sim_run(&s, 4000 * SLICE);
	for (u32 i = 0; i < 3; i++)
		total += s.sc.thread[i].run_tsc;
	assert_true(total >= 4000 * SLICE - SLICE);
	/* 1 : 1 : 2, within 1%. */
	assert_in_range(s.sc.thread[0].run_tsc * 1000 / total, 240, 260);
	assert_in_range(s.sc.thread[1].run_tsc * 1000 / total, 240, 260);
	assert_in_range(s.sc.thread[2].run_tsc * 1000 / total, 490, 510);
	/*
	 * Nobody starves: at most the others' turns between two of its
	 * own, one slice each; the weight-200 thread has two turns for the
	 * others' one (three slices without thread 0's turn).
	 */
	for (u32 i = 0; i < 3; i++)
		assert_true(s.longest_gap[i] <= 3 * SLICE + 1);
	assert_true(s.longest_gap[2] <= 2 * SLICE + 1);
}

static void test_sim_halted_thread_costs_little(void **state)
{
	static struct sim s;

	(void)state;
	memset(&s, 0, sizeof(s));
	init_cpu(&s.sc, 2);
	/* Thread 1: 20 ticks of work every 4 slices, halted otherwise. */
	s.period[1] = 4 * SLICE;
	s.work[1] = 20;
	s.next_period[1] = 0;
	sim_run(&s, 4000 * SLICE);
	/* The busy one keeps more than 99% of the CPU... */
	assert_true(s.sc.thread[0].run_tsc > 4000 * SLICE / 100 * 99);
	/* ...and the halted one runs as soon as its timer is due. */
	assert_true(s.late[1] <= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eligible),
	    cmocka_unit_test(test_pick_least_weighted_run_time),
	    cmocka_unit_test(test_ties_rotate),
	    cmocka_unit_test(test_none_eligible_polls_the_next),
	    cmocka_unit_test(test_decide_within_and_after_the_slice),
	    cmocka_unit_test(test_yield_gives_way),
	    cmocka_unit_test(test_waker_credited_one_slice_behind),
	    cmocka_unit_test(test_account_weights),
	    cmocka_unit_test(test_next_event),
	    cmocka_unit_test(test_sim_shares_by_weight),
	    cmocka_unit_test(test_sim_halted_thread_costs_little),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
