/* SPDX-License-Identifier: MIT */
/*
 * The local APIC state a CPU's virtual-interrupt delivery works on (Intel
 * APICv: SDM Vol. 3C 30.1-30.2), between the virtual APIC
 * (core/vdev/vlapic.h: vlapic_virt_get / put) and the backend that loads
 * it into the CPU's virtual-APIC page (core/vcpu.h: vcpu_entry.vapic).
 * Registers as the APIC has them: bit n of a 256-bit one is vector n.
 */
#ifndef VENEER_CORE_APICV_H
#define VENEER_CORE_APICV_H

#include "core/lib/types.h"

struct apic_virt_state {
	u32 tpr; /* TPR, bits 7:0 */
	u32 ppr; /* PPR as TPR and ISR make it (SDM Vol. 3A 11.8.3.1) */
	u32 isr[8], irr[8];
	/* Level-triggered vectors: their EOI must reach the IOAPIC. */
	u32 tmr[8];
	/* The highest IRR and ISR vectors, 0 for none (VT-x: RVI, SVI). */
	u8 irr_top, isr_top;
};

#endif /* VENEER_CORE_APICV_H */
