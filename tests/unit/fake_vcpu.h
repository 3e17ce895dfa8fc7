/* SPDX-License-Identifier: MIT */
/*
 * A fake vendor backend for host unit tests of the decide half (core/vcpu.c
 * and the exit handlers).
 *
 * `fake_vcpu_ops` is a `struct vcpu_ops` whose guest state is an array
 * indexed by enum vcpu_field. Its run() records every entry request it is
 * given (skip, event, interrupt window, TSC offset, deadline), carries out
 * the RIP skip as a CPU would, and returns the next exit of a script the
 * test wrote. A run() with no scripted exit left fails the test, so a loop
 * that runs on when it should stop is caught.
 *
 * A fake_guest is one VM with one vCPU bound to it and `ram_size` bytes of
 * zeroed guest RAM in a host buffer (core/mm.h: host memory is identity
 * mapped, so vm->ram_hpa is the buffer's address).
 *
 * The host side (tests/unit/host/arch/x86/cpu.h): the TSC a test sees is
 * fake_host_tsc (plus fake_host_tsc_step on every read), CR4 is
 * fake_host_cr4, and RDMSR / WRMSR fail the test.
 */
#ifndef VENEER_TESTS_UNIT_FAKE_VCPU_H
#define VENEER_TESTS_UNIT_FAKE_VCPU_H

#include "core/lib/types.h"
#include "core/exit.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define FAKE_MAX_RUNS 64

/* One scripted exit: `before` (optional) runs inside run() first. */
struct fake_step {
	struct exit_event ev;
	void (*before)(struct vcpu *vcpu, void *arg);
	void *arg;
};

/* The backend state behind vcpu->vendor. */
struct fake_backend {
	u64 field[VCPU_FIELD_COUNT];
	u32 field_reads[VCPU_FIELD_COUNT];
	u32 field_writes[VCPU_FIELD_COUNT];
	/*
	 * Every run() request, in order, with the RIP (before the skip),
	 * the guest registers and the host TSC (fake_host_tsc, not a read)
	 * at each entry.
	 */
	struct vcpu_entry runs[FAKE_MAX_RUNS];
	u64 run_rip[FAKE_MAX_RUNS];
	struct guest_gprs run_regs[FAKE_MAX_RUNS];
	u64 run_host_tsc[FAKE_MAX_RUNS];
	u32 run_count;
	struct fake_step script[FAKE_MAX_RUNS];
	u32 script_len;
	/*
	 * When set, run() leaves a stale page-walk cache behind (walk_valid
	 * with a page of `stale_page`): core must drop it after every run.
	 */
	bool poison_walk_cache;
	u8 stale_page[4096];
	/*
	 * With `lean`, run() takes the lean path as the real backends do
	 * (fake_run); calls counts run() calls, lean_exits the exits core
	 * completed on that path.
	 */
	bool lean;
	u32 calls;
	u32 lean_exits;
	u32 dumps;
	u32 resets;
	struct vcpu_start_state last_reset;
};

struct fake_guest {
	struct vm vm;
	struct vcpu vcpu;
	struct fake_backend be;
	u8 *ram; /* guest-physical 0 */
	/* fake_paging_init(): the next free table page and the end. */
	u64 pt_next, pt_end;
};

extern const struct vcpu_ops fake_vcpu_ops;

/* Host-side values (see the header comment). */
extern u64 fake_host_cr4;
extern u64 fake_host_tsc;
extern u64 fake_host_tsc_step;
/* XCR0 as XGETBV reads it, and how many XSETBVs core executed. */
extern u64 fake_host_xcr0;
extern u64 fake_xsetbv_count;
/* core/sched.h's fakes: the CPU shared or not, yields and wakes counted. */
extern bool fake_shared;
extern u32 fake_yields;
extern u32 fake_sched_wakes;
extern u64 fake_waited_tsc;

/*
 * Set up g: VM "test" RUNNING, one vCPU (index 0) RUNNING, zeroed RAM of
 * ram_size bytes (page-aligned, may be 0), vcpu_ops = &fake_vcpu_ops,
 * 64-bit flat guest state (CR0.PE|PG, EFER.LME|LMA, CS.L, RFLAGS.IF),
 * the guest clock frozen at fake_host_tsc (deterministic vm_guest_tsc()).
 * Resets the host-side values and the printk log.
 */
void fake_guest_init(struct fake_guest *g, u64 ram_size);
void fake_guest_free(struct fake_guest *g);

/* Protected mode without paging (CR0.PE only, 32-bit CS), or real mode. */
void fake_guest_flat32(struct fake_guest *g);
void fake_guest_real_mode(struct fake_guest *g);

/* Guest state through the fake, without counting as a core access. */
void fake_set(struct fake_guest *g, enum vcpu_field f, u64 value);
u64 fake_get(const struct fake_guest *g, enum vcpu_field f);

/* Append an exit to the script; returns the step for further setup. */
struct fake_step *fake_script(struct fake_guest *g,
			      const struct exit_event *ev);

/* An exit event of `kind` with instruction length `insn_len`. */
struct exit_event fake_exit(enum exit_kind kind, u32 insn_len);

/*
 * Four-level paging for the guest: tables at guest-physical `tables`
 * (up to FAKE_PT_PAGES pages), CR3, CR4.PAE, CR0.PG and EFER.LMA set;
 * fake_map() maps one 4 KiB page (writable, present).
 */
#define FAKE_PT_PAGES 16
void fake_paging_init(struct fake_guest *g, u64 tables);
void fake_map(struct fake_guest *g, u64 linear, u64 gpa);

#endif /* VENEER_TESTS_UNIT_FAKE_VCPU_H */
