/* SPDX-License-Identifier: MIT */
/* Hypercall dispatch: the ABI is in core/hypercall.h and docs/hypercall.md. */
#include "core/hypercall.h"
#include "core/handlers.h"
#include "core/kvmpv.h"
#include "core/vm.h"
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"

static i64 hc_console_write(struct vcpu *vcpu, u64 addr, u64 len)
{
	const char *s;

	if (len > HC_CONSOLE_WRITE_MAX)
		return HC_EINVAL;
	s = vm_gpa_to_hva(vcpu->vm, gpa(addr), len);
	if (!s)
		return HC_EFAULT;
	vuart_output(&vcpu->vm->uart, s, (u32)len);
	return (i64)len;
}

static i64 hc_timer_oneshot(struct vcpu *vcpu, u64 vector, u64 us)
{
	if (us == 0) {
		vcpu->timer_deadline = 0;
		return 0;
	}
	if (vector < 32 || vector > 255 || us > HC_TIMER_MAX_US)
		return HC_EINVAL;
	vcpu->timer_vector = (u8)vector;
	vcpu->timer_deadline = vm_guest_tsc(vcpu->vm) + tsc_from_us(us);
	/* 0 means "no timer": a deadline that wraps to it is one tick on. */
	if (!vcpu->timer_deadline)
		vcpu->timer_deadline = 1;
	return 0;
}

enum exit_action handle_hypercall(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *g = vcpu->regs.gpr;
	u64 nr = g[GPR_RAX], b = g[GPR_RBX], c = g[GPR_RCX];
	u64 a[4] = {b, c, g[GPR_RDX], g[GPR_RSI]};
	i64 ret;

	(void)ev;
	/*
	 * Hypercalls are for the guest kernel only (docs/hypercall.md). The
	 * CPU exits on VMCALL / VMMCALL at any CPL (SDM Vol. 3C 26.1.2;
	 * APM Vol. 3 "VMMCALL"), and the other vendor's instruction reaches
	 * us through its #UD (core/vcpu.c): at CPL > 0, virtual-8086 mode
	 * included, the guest gets the #UD a CPU without a hypervisor
	 * interface raises, with RIP and every register left as they were.
	 */
	if (vcpu_read(vcpu, VCPU_CPL) != 0) {
		vcpu_inject_ud(vcpu);
		return EXIT_ACTION_RESUME;
	}
	/*
	 * Outside 64-bit code only the low halves are the guest's: the upper
	 * ones are undefined after a mode switch (docs/hypercall.md).
	 */
	if (!vcpu_read(vcpu, VCPU_CS_LONG)) {
		nr = (u32)nr;
		b = (u32)b;
		c = (u32)c;
		for (u32 i = 0; i < 4; i++)
			a[i] = (u32)a[i];
	}
	switch (nr) {
	case HC_VERSION:
		ret = HC_ABI_VERSION;
		break;
	case HC_CONSOLE_WRITE:
		ret = hc_console_write(vcpu, b, c);
		break;
	case HC_EXIT:
		vm_exit(vcpu->vm, (u32)b);
		return EXIT_ACTION_END;
	case HC_TIMER_ONESHOT:
		ret = hc_timer_oneshot(vcpu, b, c);
		break;
	case HC_CPU_ID:
		ret = vcpu->index;
		break;
	default:
		/* KVM's, for a guest with that interface (core/kvmpv.h). */
		if (!kvmpv_hypercall(vcpu, nr, a, &ret))
			ret = HC_ENOSYS;
		break;
	}
	g[GPR_RAX] = (u64)ret;
	return EXIT_ACTION_SKIP;
}
