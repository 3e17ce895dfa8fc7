/* SPDX-License-Identifier: MIT */
/*
 * The pvclock arithmetic of the KVM-compatible clock (core/kvmpv.c): the
 * guest-memory layouts of the per-vCPU time structure and of the wall
 * clock, and the conversion from TSC ticks to nanoseconds both sides must
 * agree on. Pure functions, no state.
 *
 * A guest reads the time as
 *
 *   ns = system_time + scale(TSC - tsc_timestamp)
 *   scale(d) = ((d << shift, or d >> -shift when shift < 0) * mul) >> 32
 *
 * with a 64 x 32-bit product kept to 96 bits (Linux's
 * Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW).
 */
#ifndef VENEER_CORE_PVCLOCK_H
#define VENEER_CORE_PVCLOCK_H

#include "core/lib/types.h"

/* The per-vCPU time structure, 32 bytes in guest memory. */
struct pvclock_vcpu_time {
	u32 version; /* odd while the hypervisor writes the rest */
	u32 pad0;
	u64 tsc_timestamp;     /* guest TSC at system_time */
	u64 system_time;       /* nanoseconds at tsc_timestamp */
	u32 tsc_to_system_mul; /* mul above */
	i8 tsc_shift;	       /* shift above */
	u8 flags;	       /* PVCLOCK_FLAG_* */
	u8 pad[2];
} __packed;
_Static_assert(sizeof(struct pvclock_vcpu_time) == 32,
	       "the pvclock time structure is 32 bytes");

/* The TSC is the same clock on every vCPU: no guest-side clamping needed. */
#define PVCLOCK_FLAG_TSC_STABLE BIT(0)

/* The wall clock: Unix time at system_time 0. 12 bytes in guest memory. */
struct pvclock_wall_clock {
	u32 version;
	u32 sec;
	u32 nsec;
} __packed;
_Static_assert(sizeof(struct pvclock_wall_clock) == 12,
	       "the pvclock wall clock is 12 bytes");

struct pvclock_scale {
	u32 mul; /* 2^31 <= mul < 2^32 */
	i8 shift;
};

/* Frequencies pvclock_scale_for() accepts: 1 kHz to 16 GHz. */
#define PVCLOCK_MIN_HZ 1000ull
#define PVCLOCK_MAX_HZ 16000000000ull

/*
 * The mul and shift for a TSC of `hz`: the factor mul * 2^(shift - 32)
 * is 1e9 / hz rounded to the nearest mul (relative error below 2^-32,
 * about 20 us a day). False for hz outside PVCLOCK_MIN_HZ..PVCLOCK_MAX_HZ.
 */
bool pvclock_scale_for(u64 hz, struct pvclock_scale *out);

/*
 * scale(delta) exactly as the guest computes it (file comment), including
 * the guest's 64-bit left shift, which drops the bits shifted out.
 */
u64 pvclock_scale_delta(u64 delta, struct pvclock_scale s);

/*
 * scale(ticks) without that overflow: the same value wherever the guest's
 * shift does not overflow, and floor(ticks * mul * 2^(shift - 32))
 * saturated at ~0 beyond it. Used for a whole uptime of ticks, which the
 * guest itself never scales. Superadditive, as scale() is:
 * pvclock_ticks_to_ns(a + b) >= pvclock_ticks_to_ns(a) + scale(b), so a
 * time structure written afresh at a later TSC never reads earlier than
 * the one before it did there.
 */
u64 pvclock_ticks_to_ns(u64 ticks, struct pvclock_scale s);

/*
 * The time structure's payload for guest TSC `tsc` at `ns` (version and
 * padding untouched): what pvclock_write_time() stores.
 */
void pvclock_fill(struct pvclock_vcpu_time *t, u64 tsc, u64 ns,
		  struct pvclock_scale s, u8 flags);

/*
 * Publish a new time structure at `dst` (guest memory), as the protocol
 * wants: version made odd, payload written, version made even again, each
 * step ordered after the last (x86 stores are not reordered with each
 * other, SDM Vol. 3A 9.2.2; the compiler is kept from it). `version` is
 * the hypervisor's own count of the updates (even), advanced by 2.
 */
void pvclock_write_time(struct pvclock_vcpu_time *dst, u32 *version,
			const struct pvclock_vcpu_time *payload);

/* The same for the wall clock: Unix time `sec`.`nsec` at system_time 0. */
void pvclock_write_wall(struct pvclock_wall_clock *dst, u32 *version, u32 sec,
			u32 nsec);

/* The TSC kHz a guest derives from mul and shift (1e6 * 2^32 / mul, shifted
 * back), as a check of the scale. */
u64 pvclock_tsc_khz(struct pvclock_scale s);

#endif /* VENEER_CORE_PVCLOCK_H */
