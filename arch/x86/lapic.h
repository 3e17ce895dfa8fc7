/* SPDX-License-Identifier: MIT */
/*
 * The host local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode as the
 * firmware left it (SDM Vol. 3A chapter 11).
 */
#ifndef VENEER_ARCH_X86_LAPIC_H
#define VENEER_ARCH_X86_LAPIC_H

#include "core/lib/types.h"

/* Find the LAPIC, software-enable it on this CPU. */
void lapic_init_cpu(void);
/* This CPU's APIC ID. */
u32 lapic_id(void);
/* INIT, then STARTUP with `vector` (page number of the trampoline). */
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u8 vector);
/* A fixed interrupt with `vector` to one CPU. */
void lapic_send_fixed(u32 apic_id, u8 vector);
bool lapic_x2apic_mode(void);

/* Host vectors: the LAPIC timer used to end guest runs, and spurious. */
#define HOST_TIMER_VECTOR    0xef
#define HOST_SPURIOUS_VECTOR 0xff

/*
 * Arm this CPU's LAPIC timer to interrupt at host TSC `deadline` (0
 * disarms). Uses TSC-deadline mode where the CPU has it, otherwise a
 * one-shot count from the timer frequency measured at boot.
 */
void lapic_timer_arm(u64 deadline);
/* Signal end of interrupt for the interrupt in service. */
void lapic_eoi(void);

#endif /* VENEER_ARCH_X86_LAPIC_H */
