/* SPDX-License-Identifier: MIT */
/*
 * EXIT_CPU_INSN: instructions that must not run on the real CPU for a
 * guest, which both backends therefore intercept, answered as the CPU the
 * guest sees would answer them.
 *
 * INVD invalidates the caches without writing them back (SDM Vol. 2A
 * "INVD"; APM Vol. 3 "INVD"). On the real CPU it would throw away dirty
 * lines of the hypervisor and of the other guests, so it always exits
 * (VT-x: SDM Vol. 3C 26.1.2; AMD-V: the INVD intercept, APM Vol. 2 15.9).
 * A guest's RAM is write-back memory the CPU keeps coherent, and no device
 * writes it behind the caches, so there is nothing to write back or throw
 * away for it: Veneer completes INVD as a WBINVD that has nothing to do.
 * Only software that counts on losing data (cache-as-RAM firmware) can
 * tell, and the SDM tells software to use WBINVD unless it needs that.
 *
 * MONITOR and MWAIT: Veneer hides CPUID.01H:ECX.MONITOR[3] (core/cpuid.c)
 * and keeps IA32_MISC_ENABLE.ENABLE_MONITOR_FSM (bit 18) clear
 * (core/msr.c), so the guest sees a CPU on which both are disabled, and on
 * such a CPU each raises #UD (SDM Vol. 2B "MONITOR" and "MWAIT", Protected
 * Mode Exceptions: "#UD If CPUID.01H:ECX.MONITOR[bit 3] = 0"; SDM Vol. 4
 * Table 2-2, IA32_MISC_ENABLE bit 18; APM Vol. 3 "MONITOR", "MWAIT").
 * They exit because a native MWAIT would put the physical CPU to sleep
 * for the guest (VT-x: MONITOR / MWAIT exiting, SDM Vol. 3C 26.1.3;
 * AMD-V: the MONITOR and MWAIT intercepts, APM Vol. 2 B-1, which also
 * catch MONITORX and MWAITX). A CPU without MONITOR gives #UD whatever
 * the operands, so #UD is the answer to every exit. On VT-x their own
 * faults (ECX not 0, an unmapped address) rank below the VM exit (SDM
 * Vol. 3C 26.1.1), so the guest always sees #UD; AMD-V checks all of
 * them before the intercept (APM Vol. 2 15.9, Table 15-7), so there such
 * a form gets that #GP or #PF instead (docs/security.md, known limits).
 *
 * WBINVD is not intercepted on either vendor ("WBINVD exiting" is clear,
 * AMD-V's WBINVD intercept is not set): it runs natively, writes back and
 * invalidates, and loses nobody's data.
 */
#include "core/handlers.h"
#include "core/decode.h"
#include "core/prefix.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"

/* INVD is 0F 08 after any prefixes (SDM Vol. 2A "INVD"). */
static const struct decode_opcode op_invd[] = {{2, {0x0f, 0x08}, 0}};

/*
 * The length of the INVD at RIP, for a backend that could not tell (AMD-V
 * without NRIP save): prefixes on it are legal and ignored. As
 * core/prefix.c does for the instructions it knows: more than 15 bytes is
 * #GP (SDM Vol. 2A 2.3.11), other bytes than an INVD (changed since the
 * exit) stop the guest rather than guess.
 */
static enum exit_action invd_length(struct vcpu *vcpu, struct exit_event *ev)
{
	u8 bytes[DECODE_MAX_INSN_LEN];
	u32 got = vcpu_fetch_insn(vcpu, bytes, sizeof(bytes));
	struct decode_prefixes p;
	u32 len = 0;

	switch (decode_match_opcode(bytes, got, prefix_guest_mode(vcpu),
				    op_invd, 1, &p, &len)) {
	case DECODE_MATCH_OK:
		ev->insn_len = len;
		return EXIT_ACTION_SKIP;
	case DECODE_MATCH_TOO_LONG:
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	default:
		vm_stop(vcpu->vm,
			"INVD at rip 0x%llx: instruction length unknown: the "
			"%u bytes there are not INVD (changed since the exit?)",
			(unsigned long long)vcpu_read(vcpu, VCPU_RIP), got);
		return EXIT_ACTION_END;
	}
}

/*
 * INVD at CPL > 0 (virtual-8086 mode included) is #GP(0) (SDM Vol. 2A
 * "INVD"), a fault based on privilege level that the CPU raises before it
 * would exit (SDM Vol. 3C 26.1.1; APM Vol. 2 15.9, Table 15-7: "Exceptions
 * (#GP) are checked before the intercept"). The exit thus comes at CPL 0;
 * should one ever come at another, the guest gets the #GP it is owed.
 */
static enum exit_action complete_invd(struct vcpu *vcpu, struct exit_event *ev)
{
	if (vcpu_read(vcpu, VCPU_CPL) != 0) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	if (ev->insn_len == 0)
		return invd_length(vcpu, ev);
	return EXIT_ACTION_SKIP;
}

enum exit_action handle_cpu_insn(struct vcpu *vcpu, struct exit_event *ev)
{
	switch (ev->cpu_insn) {
	case CPU_INSN_INVD:
		return complete_invd(vcpu, ev);
	case CPU_INSN_MONITOR:
	case CPU_INSN_MWAIT:
		vcpu_inject_ud(vcpu);
		return EXIT_ACTION_RESUME;
	default:
		vm_stop(vcpu->vm, "unknown instruction %u in a cpu-insn exit",
			ev->cpu_insn);
		return EXIT_ACTION_END;
	}
}
