/* SPDX-License-Identifier: MIT */
/*
 * Exit handlers: one function per exit kind, dispatched by core/vcpu.c.
 *
 * Contract: a handler returns EXIT_ACTION_SKIP when the exiting
 * instruction is complete (the dispatcher asks the backend to advance RIP by
 * ev->insn_len in the next entry request, struct vcpu_entry.skip; a handler
 * that decoded the instruction itself, like MMIO emulation, sets insn_len),
 * EXIT_ACTION_RESUME to re-enter without touching RIP (an exception was
 * queued with vcpu_inject_*, or nothing was executed), or EXIT_ACTION_END
 * after ending the guest with vm_exit() or vm_stop().
 */
#ifndef VENEER_CORE_HANDLERS_H
#define VENEER_CORE_HANDLERS_H

#include "core/exit.h"
#include "core/vcpu.h"

enum exit_action {
	EXIT_ACTION_SKIP,
	EXIT_ACTION_RESUME,
	EXIT_ACTION_END,
};

typedef enum exit_action (*exit_handler_fn)(struct vcpu *vcpu,
					    struct exit_event *ev);

enum exit_action handle_cpuid(struct vcpu *vcpu, struct exit_event *ev);
enum exit_action handle_io(struct vcpu *vcpu, struct exit_event *ev);
enum exit_action handle_msr_read(struct vcpu *vcpu, struct exit_event *ev);
enum exit_action handle_msr_write(struct vcpu *vcpu, struct exit_event *ev);
enum exit_action handle_hypercall(struct vcpu *vcpu, struct exit_event *ev);
enum exit_action handle_task_switch(struct vcpu *vcpu, struct exit_event *ev);
/* INVD completed as a no-op, MONITOR / MWAIT #UD (core/cpuinsn.c). */
enum exit_action handle_cpu_insn(struct vcpu *vcpu, struct exit_event *ev);

struct mmio_region;
/* Emulate the instruction that faulted on an MMIO region (core/mmio.c). */
enum exit_action mmio_emulate(struct vcpu *vcpu, struct exit_event *ev,
			      const struct mmio_region *r);

/* XCR0 bits a guest may set (XCR0_*, arch/x86/cpu.h): x87, SSE, AVX where
 * the CPU has them. */
u64 guest_xcr0_mask(void);

/* Set the 32-bit result registers (upper halves cleared, as in hardware). */
static inline void vcpu_set_u32(struct vcpu *vcpu, enum gpr r, u32 v)
{
	vcpu->regs.gpr[r] = v;
}

#endif /* VENEER_CORE_HANDLERS_H */
