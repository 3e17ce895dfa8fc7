/* SPDX-License-Identifier: MIT */
/* The fake local APIC side of PV EOI (tests/unit/fake_pveoi.h). */
#include "tests/unit/fake_pveoi.h"
#include "core/platform.h"

struct fake_pveoi fake_pveoi = {.isr_top = -1};

bool platform_eoi_can_wait(struct platform *p, struct vcpu *vcpu, u8 vector)
{
	(void)p, (void)vcpu;
	return fake_pveoi.isr_top == vector && !fake_pveoi.level &&
	       !fake_pveoi.irr;
}

bool platform_eoi_for_guest(struct platform *p, struct vcpu *vcpu, u8 vector)
{
	(void)p, (void)vcpu;
	if (fake_pveoi.isr_top != vector)
		return false;
	fake_pveoi.isr_top = -1;
	fake_pveoi.eois++;
	return true;
}

struct fake_pv_ipis fake_pv_ipis;

u32 platform_send_ipis(struct platform *p, u32 set, bool nmi, u8 vector)
{
	(void)p;
	fake_pv_ipis.calls++;
	fake_pv_ipis.set = set;
	fake_pv_ipis.nmi = nmi;
	fake_pv_ipis.vector = vector;
	return (u32)__builtin_popcount(set);
}
