/* SPDX-License-Identifier: MIT */
/*
 * Exit handlers: one function per exit kind, dispatched by core/vcpu.c.
 *
 * Contract: a handler returns EXIT_ACTION_SKIP when the exiting
 * instruction is complete (the dispatcher, and only it, advances RIP by
 * ev->insn_len; a handler that decoded the instruction itself, like MMIO
 * emulation, sets insn_len), EXIT_ACTION_RESUME to re-enter without touching
 * RIP (an exception was injected, or nothing was executed), or EXIT_ACTION_END
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

struct mmio_region;
/* Emulate the instruction that faulted on an MMIO region (core/mmio.c). */
enum exit_action mmio_emulate(struct vcpu *vcpu, struct exit_event *ev,
			      const struct mmio_region *r);

/* XCR0 bits a guest may set: x87, SSE, AVX where the CPU has them. */
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
u64 guest_xcr0_mask(void);

/* Inject #GP(0) / #UD into the guest (exception, no RIP change). */
void vcpu_inject_gp(struct vcpu *vcpu);
void vcpu_inject_ud(struct vcpu *vcpu);

/* Set the 32-bit result registers (upper halves cleared, as in hardware). */
static inline void vcpu_set_u32(struct vcpu *vcpu, enum gpr r, u32 v)
{
	vcpu->regs.gpr[r] = v;
}

#endif /* VENEER_CORE_HANDLERS_H */
