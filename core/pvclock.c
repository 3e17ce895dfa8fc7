/* SPDX-License-Identifier: MIT */
#include "core/pvclock.h"

#define NS_PER_S 1000000000ull
#define MUL_MIN	 (1ull << 31)
#define MUL_END	 (1ull << 32)

#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

/* floor(a * mul / 2^32) for any 64-bit a, kept to 96 bits: exact. */
static u64 mul_shr32(u64 a, u32 mul, bool *overflow)
{
	u64 hi = (a >> 32) * mul, lo = ((a & 0xffffffffull) * mul) >> 32;

	*overflow = hi > ~0ull - lo;
	return hi + lo;
}

bool pvclock_scale_for(u64 hz, struct pvclock_scale *out)
{
	/* The factor is num / den * 2^shift with num / den in [1/2, 1). */
	u64 num = NS_PER_S, den = hz, mul = 0;
	int shift = 0;

	if (hz < PVCLOCK_MIN_HZ || hz > PVCLOCK_MAX_HZ)
		return false;
	while (num >= den) { /* at most 20 times: den stays below 2^31 */
		den <<= 1;
		shift++;
	}
	while (num * 2 < den) { /* at most 4 times: num stays below 2^35 */
		num <<= 1;
		shift--;
	}
	/* mul = num * 2^32 / den by long division, one bit at a time. */
	for (int i = 0; i < 32; i++) {
		num <<= 1;
		mul <<= 1;
		if (num >= den) {
			num -= den;
			mul |= 1;
		}
	}
	if (num * 2 >= den) /* round to nearest */
		mul++;
	if (mul == MUL_END) { /* rounded up to 2^32: 2^31 one shift up */
		mul = MUL_MIN;
		shift++;
	}
	out->mul = (u32)mul;
	out->shift = (i8)shift;
	return true;
}

u64 pvclock_scale_delta(u64 delta, struct pvclock_scale s)
{
	bool overflow;

	if (s.shift < 0)
		delta >>= -s.shift;
	else
		delta <<= s.shift;
	return mul_shr32(delta, s.mul, &overflow);
}

u64 pvclock_ticks_to_ns(u64 ticks, struct pvclock_scale s)
{
	u64 hi, lo, high_part;
	int right;

	if (s.shift <= 0)
		return pvclock_scale_delta(ticks, s);
	/*
	 * floor(ticks * mul / 2^(32 - shift)): the product is hi * 2^32 + lo
	 * (96 bits), and hi * 2^32 is a multiple of 2^(32 - shift), so the
	 * two halves are shifted on their own and added.
	 */
	right = 32 - s.shift;
	hi = (ticks >> 32) * s.mul;
	lo = (ticks & 0xffffffffull) * s.mul;
	if (right <= 0 || (hi >> (64 - (32 - right))) != 0)
		return ~0ull;
	high_part = hi << (32 - right);
	if (high_part > ~0ull - (lo >> right))
		return ~0ull;
	return high_part + (lo >> right);
}

void pvclock_fill(struct pvclock_vcpu_time *t, u64 tsc, u64 ns,
		  struct pvclock_scale s, u8 flags)
{
	t->tsc_timestamp = tsc;
	t->system_time = ns;
	t->tsc_to_system_mul = s.mul;
	t->tsc_shift = s.shift;
	t->flags = flags;
}

void pvclock_write_time(struct pvclock_vcpu_time *dst, u32 *version,
			const struct pvclock_vcpu_time *payload)
{
	volatile struct pvclock_vcpu_time *v = dst;

	v->version = *version + 1;
	compiler_barrier();
	v->tsc_timestamp = payload->tsc_timestamp;
	v->system_time = payload->system_time;
	v->tsc_to_system_mul = payload->tsc_to_system_mul;
	v->tsc_shift = payload->tsc_shift;
	v->flags = payload->flags;
	compiler_barrier();
	*version += 2;
	v->version = *version;
}

void pvclock_write_wall(struct pvclock_wall_clock *dst, u32 *version, u32 sec,
			u32 nsec)
{
	volatile struct pvclock_wall_clock *v = dst;

	v->version = *version + 1;
	compiler_barrier();
	v->sec = sec;
	v->nsec = nsec;
	compiler_barrier();
	*version += 2;
	v->version = *version;
}

u64 pvclock_tsc_khz(struct pvclock_scale s)
{
	u64 khz = (1000000ull << 32) / s.mul;

	return s.shift < 0 ? khz << -s.shift : khz >> s.shift;
}
