/* SPDX-License-Identifier: MIT */
/*
 * The host local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode as the
 * firmware left it (SDM Vol. 3A chapter 11).
 */
#ifndef VENEER_ARCH_X86_LAPIC_H
#define VENEER_ARCH_X86_LAPIC_H

#include "core/types.h"

/* Find the LAPIC, software-enable it on this CPU. */
void lapic_init_cpu(void);
/* This CPU's APIC ID. */
u32 lapic_id(void);
/* INIT, then STARTUP with `vector` (page number of the trampoline). */
void lapic_send_init(u32 apic_id);
void lapic_send_sipi(u32 apic_id, u8 vector);
bool lapic_x2apic_mode(void);

#endif /* VENEER_ARCH_X86_LAPIC_H */
