/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU state: one page-aligned block per host CPU, reached through the
 * GS base (this_cpu() reads the block's self pointer at %gs:0).
 */
#ifndef VENEER_ARCH_X86_PERCPU_H
#define VENEER_ARCH_X86_PERCPU_H

#include "core/lib/types.h"

#define MAX_CPUS       64
#define STACK_SIZE     (4 * PAGE_SIZE)
#define IST_STACK_SIZE (2 * PAGE_SIZE)

struct vcpu;

struct percpu {
	struct percpu *self; /* must be first: this_cpu() loads %gs:0 */
	u32 index;	     /* 0 = the boot CPU */
	u32 apic_id;
	bool online;
	bool virt_failed;	  /* this CPU cannot run guests (see the log) */
	volatile bool virt_ready; /* cpu_enable() succeeded here */
	/* Virtualization state of this CPU, owned by the bound backend. */
	void *vendor;
	/* The vCPU this CPU runs, or NULL. */
	struct vcpu *vcpu;
	u64 stack_top;
	/* Work another CPU posts for this one (see arch/x86/smp.c). */
	volatile u32 requests;
	void (*volatile call_fn)(void *);
	void *volatile call_arg;
	volatile bool call_taken; /* the CPU has started call_fn */
};

_Static_assert(__builtin_offsetof(struct percpu, self) == 0,
	       "this_cpu() reads the self pointer at %gs:0");

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

/* Per-CPU block of host CPU `index`. */
struct percpu *percpu_of(u32 index);

/* Number of host CPUs that came online. */
u32 cpus_online(void);

#endif /* VENEER_ARCH_X86_PERCPU_H */
