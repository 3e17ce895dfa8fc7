/* SPDX-License-Identifier: MIT */
/*
 * The local APIC side of PV EOI (core/platform.h) for the unit tests that
 * link core/kvmpv.c without the platform: one vCPU's highest in-service
 * vector and whether anything else waits, as a test sets them; and the
 * para-virtual IPIs the KVM hypercalls send.
 */
#ifndef VENEER_TESTS_UNIT_FAKE_PVEOI_H
#define VENEER_TESTS_UNIT_FAKE_PVEOI_H

#include "core/lib/types.h"

struct fake_pveoi {
	int isr_top; /* the highest vector in service, -1 for none */
	bool level;  /* it is level-triggered */
	bool irr;    /* another interrupt waits in IRR */
	u32 eois;    /* EOIs done for the guest */
};

/* Reset to "nothing in service" by every test that uses it. */
extern struct fake_pveoi fake_pveoi;

/* Para-virtual IPIs sent (platform_send_ipis): the last call's set, kind
 * and vector, and how many calls; each vCPU of the set takes it. */
struct fake_pv_ipis {
	u32 calls, set;
	bool nmi;
	u8 vector;
};
extern struct fake_pv_ipis fake_pv_ipis;

#endif /* VENEER_TESTS_UNIT_FAKE_PVEOI_H */
