/* SPDX-License-Identifier: MIT */
/*
 * The instruction at the guest's RIP, for exits whose backend could not
 * describe it (AMD-V: without NRIP save no length, without decode assists
 * no OUTS segment, under QEMU's TCG no INS/OUTS address size; docs/svm.md).
 * Core reads the bytes at CS:RIP (vcpu_fetch_insn), decodes the prefixes
 * (core/decode.h) and checks that the opcode after them is the one the
 * exit names. Backends that report these (VT-x, AMD-V with the features)
 * never come here.
 *
 * When the bytes are not that instruction (another vCPU or a device wrote
 * them between the exit and the fetch, or the page went away), the guest
 * is stopped with the bytes named: re-executing could loop on a guest that
 * keeps racing, and such a guest can only hurt itself. One longer than 15
 * bytes gets #GP (SDM Vol. 2A 2.3.11); the CPU checks that before it
 * intercepts, so it too means the bytes changed.
 */
#ifndef VENEER_CORE_PREFIX_H
#define VENEER_CORE_PREFIX_H

#include "core/decode.h"
#include "core/handlers.h"

/* The code segment's default sizes: real and virtual-8086 mode are 16-bit
 * whatever CS holds (SDM Vol. 3A, "8086 Emulation"). */
enum decode_mode prefix_guest_mode(struct vcpu *vcpu);

/*
 * A handler completed the instruction of `ev` and ev->insn_len is 0: find
 * it for CPUID, RDMSR, WRMSR, HLT, VMMCALL / VMCALL, XSETBV and MOV to CRn.
 * True with ev->insn_len set; false with *action EXIT_ACTION_RESUME (#GP
 * injected, RIP unchanged) or EXIT_ACTION_END (the guest was stopped; for
 * other exit kinds too).
 */
bool prefix_insn_len(struct vcpu *vcpu, struct exit_event *ev,
		     enum exit_action *action);

/*
 * The same length without side effects, or 0: only when the instruction
 * has no prefix and lies whole on RIP's page in guest RAM (the common
 * case, read in place). The lean path (vcpu_exit_lean) takes it; on 0 the
 * exit goes to the run loop and prefix_insn_len.
 */
u32 prefix_quick_len(struct vcpu *vcpu, const struct exit_event *ev);

/*
 * A string I/O exit whose address size or OUTS segment is unknown: fill
 * them from the 0x67 prefix and the segment override (DS without one).
 * True when filled; false as for prefix_insn_len, and nothing was done.
 */
bool prefix_string_io(struct vcpu *vcpu, struct exit_event *ev,
		      enum exit_action *action);

#endif /* VENEER_CORE_PREFIX_H */
