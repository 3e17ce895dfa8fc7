/* SPDX-License-Identifier: MIT */
/*
 * The Veneer hypercall ABI, version 1.0 ("ABI v0" of the design notes), as
 * the test guests use it. tests/guests/README.md describes it in full.
 *
 * Instruction: VMCALL (0F 01 C1) or VMMCALL (0F 01 D9); Veneer accepts both
 * on both vendors. RAX = call number; RBX, RCX, RDX, RSI = arguments; the
 * result comes back in RAX, negative values are errors. Every other
 * register is preserved. A 32-bit guest uses the low halves (EAX...), and
 * its result is EAX read as a signed 32-bit number.
 */
#ifndef VENEER_TESTS_GUESTS_LIB_HYPERCALL_H
#define VENEER_TESTS_GUESTS_LIB_HYPERCALL_H

#include "tests/guests/lib/guest.h"

#define HC_VERSION	 0 /* -> HC_VERSION_1_0 */
#define HC_CONSOLE_WRITE 1 /* RBX = guest-physical address, RCX = length */
#define HC_EXIT		 2 /* RBX = exit code; does not return */
#define HC_TIMER_ONESHOT 3 /* RBX = vector 32..255, RCX = us (0: cancel) */
#define HC_CPU_ID	 4 /* -> index of the calling vCPU */

#define HC_VERSION_1_0		0x00010000 /* major << 16 | minor */
#define HC_CONSOLE_WRITE_MAX	4096
#define HC_ERR_UNKNOWN_CALL	(-1)
#define HC_ERR_BAD_ADDRESS	(-2)
#define HC_ERR_INVALID_ARGUMENT (-3)

enum hypercall_insn {
	HYPERCALL_VMCALL,  /* Intel's instruction */
	HYPERCALL_VMMCALL, /* AMD's instruction */
};

/* The register image of one call: in before it, out after it. */
struct hypercall_regs {
	ureg rax, rbx, rcx, rdx, rsi, rdi;
};

/* Executes the instruction with every register of r loaded and stores what
 * the registers hold afterwards back into r, so callers can check both the
 * result and that the others were preserved. */
static inline void hypercall_raw(enum hypercall_insn insn,
				 struct hypercall_regs *r)
{
	if (insn == HYPERCALL_VMCALL)
		__asm__ volatile("vmcall"
				 : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx),
				   "+d"(r->rdx), "+S"(r->rsi), "+D"(r->rdi)
				 :
				 : "memory");
	else
		__asm__ volatile("vmmcall"
				 : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx),
				   "+d"(r->rdx), "+S"(r->rsi), "+D"(r->rdi)
				 :
				 : "memory");
}

/* A call with up to four arguments; returns RAX as a signed number. */
static inline long hypercall(enum hypercall_insn insn, ureg nr, ureg a1,
			     ureg a2, ureg a3, ureg a4)
{
	struct hypercall_regs r = {nr, a1, a2, a3, a4, 0};
	hypercall_raw(insn, &r);
	return (long)r.rax;
}

#endif /* VENEER_TESTS_GUESTS_LIB_HYPERCALL_H */
