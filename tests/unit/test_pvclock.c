/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/pvclock.c: the kvm-clock arithmetic. The reference
 * is exact 128-bit arithmetic on the host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/pvclock.h"

typedef unsigned __int128 u128;

#define NS_PER_S	1000000000ull
#define SECONDS_PER_DAY 86400ull
#define SECONDS_PER_YR	(365ull * SECONDS_PER_DAY)

/* 1 MHz to 10 GHz, the round values and some that are not. */
static const u64 freqs[] = {
    1000000ull,	   1193182ull,	   3579545ull,	  14318180ull,	 25000000ull,
    100000000ull,  499999999ull,   999999999ull,  1000000000ull, 1000000001ull,
    1800000000ull, 2099999000ull,  2400012345ull, 2999999999ull, 3000000000ull,
    3700000000ull, 4294967295ull,  4294967296ull, 5000000000ull, 8589934592ull,
    9999999999ull, 10000000000ull,
};

static u64 exact_ns(u64 ticks, u64 hz)
{
	return (u64)((u128)ticks * NS_PER_S / hz);
}

/* The factor as the guest uses it, exactly: mul * 2^shift / 2^32. */
static long double factor(struct pvclock_scale s)
{
	long double f = (long double)s.mul / 4294967296.0L;

	return s.shift < 0 ? f / (long double)(1ull << -s.shift)
			   : f * (long double)(1ull << s.shift);
}

static struct pvclock_scale scale(u64 hz)
{
	struct pvclock_scale s;

	assert_true(pvclock_scale_for(hz, &s));
	return s;
}

static u64 absdiff(u64 a, u64 b)
{
	return a > b ? a - b : b - a;
}

/* A small reproducible PRNG (xorshift64). */
static u64 rng_state = 0x9e3779b97f4a7c15ull;
static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_scale_range(void **state)
{
	struct pvclock_scale s;

	(void)state;
	assert_false(pvclock_scale_for(0, &s));
	assert_false(pvclock_scale_for(PVCLOCK_MIN_HZ - 1, &s));
	assert_false(pvclock_scale_for(PVCLOCK_MAX_HZ + 1, &s));
	assert_true(pvclock_scale_for(PVCLOCK_MIN_HZ, &s));
	assert_true(pvclock_scale_for(PVCLOCK_MAX_HZ, &s));
	/* Exact powers: 1 GHz is 2^31 * 2^1 / 2^32. */
	s = scale(1000000000ull);
	assert_int_equal(s.mul, 1u << 31);
	assert_int_equal(s.shift, 1);
	for (u32 i = 0; i < ARRAY_SIZE(freqs); i++) {
		s = scale(freqs[i]);
		assert_true(s.mul >= (1u << 31));
		/* 1e9/hz: at most 1000 (shift 10) down to 1/10 (shift -3). */
		assert_true(s.shift >= -4 && s.shift <= 10);
	}
}

/* The factor is 1e9 / hz to within half a unit of mul: < 2^-32. */
static void test_scale_accuracy(void **state)
{
	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(freqs); i++) {
		struct pvclock_scale s = scale(freqs[i]);
		long double want = 1e9L / (long double)freqs[i];
		long double rel = (factor(s) - want) / want;

		if (rel < 0)
			rel = -rel;
		assert_true(rel <= 1.0L / 4294967296.0L);
		/*
		 * What a guest derives back from mul and shift: to the kHz,
		 * less the bits a negative shift moves in as zeros.
		 */
		assert_true(absdiff(pvclock_tsc_khz(s), freqs[i] / 1000) <=
			    (s.shift < 0 ? 1ull << -s.shift : 1));
	}
}

/*
 * One second, one day, one year and 50 years of ticks (where they fit in
 * 64 bits) come out within 2^-31 of the exact time, plus the few ns the
 * guest's right shift may drop: no overflow for long uptimes.
 */
static void test_long_uptimes(void **state)
{
	static const u64 seconds[] = {1, SECONDS_PER_DAY, SECONDS_PER_YR,
				      50 * SECONDS_PER_YR,
				      500 * SECONDS_PER_YR};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(freqs); i++) {
		struct pvclock_scale s = scale(freqs[i]);

		for (u32 j = 0; j < ARRAY_SIZE(seconds); j++) {
			u128 t = (u128)seconds[j] * freqs[i];
			u64 ticks, got, want;

			if (t >> 64 || (u128)seconds[j] * NS_PER_S >> 64)
				continue;
			ticks = (u64)t;
			got = pvclock_ticks_to_ns(ticks, s);
			want = exact_ns(ticks, freqs[i]);
			assert_true(absdiff(got, want) <= 2 + (want >> 31));
		}
	}
}

/* Beyond 2^64 ns the result saturates; it never wraps to a small time. */
static void test_saturates(void **state)
{
	struct pvclock_scale s = scale(1000000);

	(void)state;
	assert_int_equal(pvclock_ticks_to_ns(~0ull, s), ~0ull);
	assert_int_equal(pvclock_ticks_to_ns(1ull << 60, s), ~0ull);
	/* A fast TSC cannot reach 2^64 ns: ~0 ticks scale down. */
	s = scale(4000000000ull);
	assert_true(pvclock_ticks_to_ns(~0ull, s) < ~0ull / 3);
}

/*
 * Where the guest's own shift does not overflow, the hypervisor's
 * overflow-free form gives exactly the guest's value.
 */
static void test_same_as_guest(void **state)
{
	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(freqs); i++) {
		struct pvclock_scale s = scale(freqs[i]);
		u32 room = s.shift > 0 ? 64 - (u32)s.shift : 64;

		for (int k = 0; k < 2000; k++) {
			u64 d = rng();

			if (room < 64)
				d &= (1ull << room) - 1;
			if (k & 1) /* small deltas too */
				d &= 0xffffffffull;
			assert_int_equal(pvclock_ticks_to_ns(d, s),
					 pvclock_scale_delta(d, s));
		}
	}
}

/* What the guest reads from a time structure at its TSC `tsc`. */
static u64 guest_read(const struct pvclock_vcpu_time *t, u64 tsc)
{
	struct pvclock_scale s = {t->tsc_to_system_mul, t->tsc_shift};

	return t->system_time + pvclock_scale_delta(tsc - t->tsc_timestamp, s);
}

/*
 * Monotonic: a guest reading as its TSC grows never sees the time go
 * back, also across structures written afresh at later TSCs (as Veneer
 * does when the guest moves its TSC), and each new structure is at most a
 * couple of ns ahead of the old one's extrapolation.
 */
static void test_monotonic_across_updates(void **state)
{
	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(freqs); i++) {
		struct pvclock_scale s = scale(freqs[i]);
		u64 base = rng() >> 8; /* the TSC at device time 0 */
		u64 ticks = rng() >> 24, last = 0;
		struct pvclock_vcpu_time t = {0};

		pvclock_fill(&t, base + ticks, pvclock_ticks_to_ns(ticks, s), s,
			     PVCLOCK_FLAG_TSC_STABLE);
		for (int k = 0; k < 500; k++) {
			u64 now;

			/* Reads between updates, a few ticks to minutes apart.
			 */
			ticks += rng() % (k & 1 ? 64 : freqs[i] * 60);
			now = guest_read(&t, base + ticks);
			assert_true(now >= last);
			last = now;
			if (k % 7 == 3) {
				u64 fresh = pvclock_ticks_to_ns(ticks, s);

				assert_true(fresh >= now);
				assert_true(fresh - now <= 2);
				pvclock_fill(&t, base + ticks, fresh, s,
					     PVCLOCK_FLAG_TSC_STABLE);
				last = guest_read(&t, base + ticks);
				assert_int_equal(last, fresh);
			}
		}
	}
}

static void test_write_protocol(void **state)
{
	struct pvclock_vcpu_time dst, payload = {0};
	struct pvclock_wall_clock wall;
	u32 version = 0, wall_version = 4;

	(void)state;
	memset(&dst, 0xa5, sizeof(dst));
	pvclock_fill(&payload, 0x1122334455667788ull, 123456789ull,
		     scale(2500000000ull), PVCLOCK_FLAG_TSC_STABLE);
	pvclock_write_time(&dst, &version, &payload);
	assert_int_equal(version, 2);
	assert_int_equal(dst.version, 2); /* even: complete */
	assert_int_equal(dst.tsc_timestamp, 0x1122334455667788ull);
	assert_int_equal(dst.system_time, 123456789ull);
	assert_int_equal(dst.tsc_to_system_mul, payload.tsc_to_system_mul);
	assert_int_equal(dst.tsc_shift, payload.tsc_shift);
	assert_int_equal(dst.flags, PVCLOCK_FLAG_TSC_STABLE);
	pvclock_write_time(&dst, &version, &payload);
	assert_int_equal(dst.version, 4);
	pvclock_write_wall(&wall, &wall_version, 1700000000u, 0);
	assert_int_equal(wall.version, 6);
	assert_int_equal(wall.sec, 1700000000u);
	assert_int_equal(wall.nsec, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scale_range),
	    cmocka_unit_test(test_scale_accuracy),
	    cmocka_unit_test(test_long_uptimes),
	    cmocka_unit_test(test_saturates),
	    cmocka_unit_test(test_same_as_guest),
	    cmocka_unit_test(test_monotonic_across_updates),
	    cmocka_unit_test(test_write_protocol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
