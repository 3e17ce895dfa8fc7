/* SPDX-License-Identifier: MIT */
/*
 * What a host CPU switches when it moves from one vCPU's thread to
 * another's (core/sched.c): the host stack (arch/x86/switch.S), and the
 * guest state neither VMX nor SVM switches and Veneer leaves in the
 * registers between exits, because the host never uses it:
 *   - the x87/SSE/AVX state and XCR0 (SDM Vol. 1 13.3: XCR0 is not part
 *     of the VMCS or VMCB; Veneer executes the guest's XSETBV itself),
 *     saved with XSAVE where CR4.OSXSAVE is set, else FXSAVE (SDM Vol. 1
 *     10.5, 13.7, 13.8);
 *   - DR0-DR3, which guests write without an exit (no MOV-DR intercept;
 *     DR6 and DR7 are in the VMCS / VMCB or switched by the backends).
 */
#ifndef VENEER_ARCH_X86_SWITCH_H
#define VENEER_ARCH_X86_SWITCH_H

#include "core/lib/types.h"

void stack_switch(u64 *save_rsp, u64 next_rsp);
void stack_thread_start(void);

/*
 * The first RSP of a thread whose stack ends at `top` (16-byte aligned):
 * stack_switch() pops six zero registers, then returns into
 * stack_thread_start.
 */
static inline u64 stack_prepare(u64 top)
{
	u64 *sp = (u64 *)(uintptr_t)top;

	*--sp = 0; /* no return address: stack_thread_start never returns */
	*--sp = (u64)(uintptr_t)stack_thread_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0; /* RBP, RBX, R12-R15 */
	return (u64)(uintptr_t)sp;
}

/* The guest state a thread keeps while another runs on its CPU. */
struct hw_context {
	void *xstate; /* XSAVE / FXSAVE area: 64-byte aligned, hw_context_size()
		       */
	u64 xcr0;     /* valid with XSAVE */
	u64 dr[4];
};

/*
 * Bytes of the save area this CPU needs (CPUID.(EAX=0DH,ECX=0).EBX, the
 * size for the components XCR0 may enable, is at most ECX; SDM Vol. 2A
 * CPUID): ECX with XSAVE, else 512 for FXSAVE.
 */
u32 hw_context_size(void);

/*
 * A context as a CPU is at reset, for a thread that has not run: x87 FCW
 * 0x37f, MXCSR 0x1f80 (SDM Vol. 3A 10.1, Table 10-1), every other
 * component in its initial state (XSTATE_BV = 0, 13.6), XCR0 as this CPU
 * has it now (what a guest alone on it would find), DR0-DR3 zero.
 */
void hw_context_init(struct hw_context *c);

/* Save the registers into c / load them from c (on the calling CPU). */
void hw_context_save(struct hw_context *c);
void hw_context_load(const struct hw_context *c);

#endif /* VENEER_ARCH_X86_SWITCH_H */
