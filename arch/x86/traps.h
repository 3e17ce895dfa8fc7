/* SPDX-License-Identifier: MIT */
/*
 * Host descriptor tables (GDT, TSS, IDT) and exception handling.
 */
#ifndef VENEER_ARCH_X86_TRAPS_H
#define VENEER_ARCH_X86_TRAPS_H

#include "core/lib/types.h"

#define HOST_CS	 0x08
#define HOST_DS	 0x10
#define HOST_TSS 0x18

/* IST slots (SDM Vol. 3A 7.14.5): exceptions that need a known-good stack. */
#define IST_NMI	  1
#define IST_DF	  2
#define IST_MC	  3
#define IST_COUNT 3

/* The frame arch/x86/traps.S builds: GPRs (RAX first), then the CPU's. */
struct trap_frame {
	u64 rax, rcx, rdx, rbx, rsp_at_save, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 vector, error_code;
	u64 rip, cs, rflags, rsp, ss;
};

_Static_assert(__builtin_offsetof(struct trap_frame, vector) == 16 * 8,
	       "traps.S pushes 16 GPRs before the vector");
_Static_assert(sizeof(struct trap_frame) == 23 * 8, "trap frame size");

/*
 * Load this CPU's GDT (with its own TSS and IST stacks) and the shared IDT.
 * `cpu` is the host CPU index; ist_tops[i] is the top of IST stack i + 1.
 */
void desc_init_cpu(u32 cpu, const u64 ist_tops[IST_COUNT]);

/* Host exception handler: prints everything, then stops the machine. */
void trap_handler(struct trap_frame *f) __noreturn;

/*
 * Interrupts taken on a vector Veneer gave nobody (every vector from 32 up
 * but the timer and the spurious ones): acknowledged and counted, never
 * fatal. A device message no one programmed, e.g. an assigned device's
 * write to 0xFEExxxxx (docs/passthrough.md).
 */
u64 traps_stray_interrupts(void);

/*
 * Vectors for interrupts Veneer asks a device for (an assigned device's
 * MSI, core/vdev/vpassthru.c), one machine-wide set: traps.S has a stub
 * for each.
 */
#define HOST_IRQ_FIRST 0x80
#define HOST_IRQ_COUNT 64

typedef void (*host_irq_fn)(void *ctx);

/*
 * A free vector whose interrupts, on whichever CPU they arrive, call
 * fn(ctx) with interrupts off before the EOI; -1 when every one is taken.
 * fn can interrupt any host code that runs with interrupts on (the wait
 * loops, the moment after an exit), so it must take no lock and only
 * note the interrupt atomically for its owner to act on.
 */
int host_irq_alloc(host_irq_fn fn, void *ctx);

/*
 * The vector goes back: its interrupts count as unexpected from now on.
 * The device must no longer send it (masked or reset) first; one already
 * on its way may still call fn once on another CPU, so ctx must stay
 * valid memory (it is, for the guests' platforms).
 */
void host_irq_free(int vector);

/* Vectors handed out now, of HOST_IRQ_COUNT. */
u32 host_irq_in_use(void);

#endif /* VENEER_ARCH_X86_TRAPS_H */
