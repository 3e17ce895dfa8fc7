/* SPDX-License-Identifier: MIT */
/*
 * Time: the TSC, calibrated once at boot against the PIT.
 */
#ifndef VENEER_ARCH_X86_TSC_H
#define VENEER_ARCH_X86_TSC_H

#include "core/lib/types.h"

/* Measure the TSC frequency; prints a warning and guesses if it cannot. */
void tsc_calibrate(void);
/* TSC ticks per second. */
u64 tsc_hz(void);
/* Busy-wait for at least `us` microseconds. */
void udelay(u64 us);
/* Convert microseconds to TSC ticks. */
u64 tsc_from_us(u64 us);

#endif /* VENEER_ARCH_X86_TSC_H */
