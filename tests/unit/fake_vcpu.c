/* SPDX-License-Identifier: MIT */
/*
 * The fake vendor backend and guest for host unit tests (fake_vcpu.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "tests/unit/host_printk.h"
#include "core/lib/string.h"
#include "core/passthrough.h"
#include "core/sched.h"
#include "core/mm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

/* The bound backend (arch/x86/virt.c in the hypervisor). */
const struct vcpu_ops *vcpu_ops;
struct vcpu_caps vcpu_caps;

u64 fake_host_cr4;
u64 fake_host_tsc;
u64 fake_host_tsc_step;

u64 read_cr4(void)
{
	return fake_host_cr4;
}

u64 rdtsc(void)
{
	u64 now = fake_host_tsc;

	fake_host_tsc += fake_host_tsc_step;
	return now;
}

u64 rdmsr(u32 index)
{
	fail_msg("core executed RDMSR 0x%x on the host", index);
	return 0;
}

void wrmsr(u32 index, u64 value)
{
	fail_msg("core executed WRMSR 0x%x <- 0x%llx on the host", index,
		 (unsigned long long)value);
}

u64 fake_host_xcr0 = 1; /* x87 */
u64 fake_xsetbv_count;

u64 xgetbv(u32 index)
{
	if (index != 0)
		fail_msg("core executed XGETBV %u on the host", index);
	return fake_host_xcr0;
}

void xsetbv(u32 index, u64 value)
{
	if (index != 0)
		fail_msg("core executed XSETBV %u on the host", index);
	fake_host_xcr0 = value;
	fake_xsetbv_count++;
}

static struct fake_backend *backend(struct vcpu *vcpu)
{
	return vcpu->vendor;
}

static void fake_probe(struct vcpu_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->usable = true;
	str_copy(caps->features, "fake", sizeof(caps->features));
}

static int fake_cpu_enable(void)
{
	return 0;
}

static int fake_vm_init(struct vm *vm)
{
	(void)vm;
	return 0;
}

static void fake_vm_destroy(struct vm *vm)
{
	(void)vm;
}

static int fake_vcpu_create(struct vcpu *vcpu)
{
	(void)vcpu;
	return 0;
}

static void fake_vcpu_destroy(struct vcpu *vcpu)
{
	(void)vcpu;
}

static void fake_vcpu_reset(struct vcpu *vcpu, const struct vcpu_start_state *s)
{
	struct fake_backend *be = backend(vcpu);

	be->resets++;
	be->last_reset = *s;
	be->field[VCPU_RIP] = s->rip;
	vcpu->regs = s->regs;
}

/*
 * Carry out the request as a CPU would as far as the fake can (the RIP
 * skip), record it, and return the next scripted exit.
 */
/* RIP after completing `len` bytes: wraps at 32 bits outside 64-bit
 * code (SDM Vol. 3A 3.6). */
static void fake_skip(struct fake_backend *be, u32 len)
{
	u64 rip = be->field[VCPU_RIP] + len;

	be->field[VCPU_RIP] = be->field[VCPU_CS_LONG] ? rip : (u64)(u32)rip;
}

/*
 * One entry of the script: the request as the guest saw it (`e`, or on
 * the lean path the request with that skip and no event), then the
 * scripted exit. False when the script has run out (a test failure).
 */
static bool fake_enter(struct vcpu *vcpu, const struct vcpu_entry *e,
		       struct exit_event *ev)
{
	struct fake_backend *be = backend(vcpu);
	u32 n = be->run_count;
	struct fake_step *step;

	if (n >= be->script_len || n >= FAKE_MAX_RUNS) {
		fail_msg("run() #%u with no scripted exit left (vm state %d, "
			 "stop reason \"%s\")",
			 n + 1, (int)vcpu->vm->state, vcpu->vm->stop_reason);
		return false;
	}
	be->runs[n] = *e;
	be->run_rip[n] = be->field[VCPU_RIP];
	be->run_regs[n] = vcpu->regs;
	be->run_host_tsc[n] = fake_host_tsc;
	be->run_count++;
	if (e->skip)
		fake_skip(be, e->skip);
	step = &be->script[n];
	if (step->before)
		step->before(vcpu, step->arg);
	*ev = step->ev;
	if (be->poison_walk_cache) {
		vcpu->walk_valid = true;
		vcpu->walk_linear = be->field[VCPU_RIP] & ~(PAGE_SIZE - 1);
		vcpu->walk_gpa = 0;
		vcpu->walk_hva = be->stale_page;
	}
	return true;
}

/* For the tests that link the fake without core/vcpu.c: no lean path. */
__attribute__((weak)) u32 vcpu_exit_lean(struct vcpu *vcpu,
					 struct exit_event *ev)
{
	(void)vcpu;
	(void)ev;
	return 0;
}

/*
 * Like a real backend: with be->lean, the exits core completes on the
 * lean path (vcpu_exit_lean) are skipped and the guest entered again in
 * the same call; each of those entries is recorded as a request with
 * that skip and nothing else one-shot, so a test reads the same requests
 * with and without the lean path.
 */
static void fake_run(struct vcpu *vcpu, const struct vcpu_entry *e,
		     struct exit_event *ev)
{
	struct fake_backend *be = backend(vcpu);
	struct vcpu_entry again = *e;

	be->calls++;
	if (!fake_enter(vcpu, e, ev))
		return;
	while (be->lean) {
		u32 len = vcpu_lean_candidate(vcpu, ev)
			      ? vcpu_exit_lean(vcpu, ev)
			      : 0;

		if (!len)
			return;
		be->lean_exits++;
		again.skip = len;
		again.inject = false;
		if (!fake_enter(vcpu, &again, ev))
			return;
	}
}

static u64 fake_read(struct vcpu *vcpu, enum vcpu_field field)
{
	struct fake_backend *be = backend(vcpu);

	assert_in_range(field, 0, VCPU_FIELD_COUNT - 1);
	be->field_reads[field]++;
	if (field == VCPU_RIP_LINEAR) /* derived, as the backends do */
		return be->field[VCPU_CS_LONG]
			   ? be->field[VCPU_RIP]
			   : (be->field[VCPU_CS_BASE] + be->field[VCPU_RIP]) &
				 0xffffffffull;
	return be->field[field];
}

static void fake_write(struct vcpu *vcpu, enum vcpu_field field, u64 value)
{
	struct fake_backend *be = backend(vcpu);

	assert_in_range(field, 0, VCPU_FIELD_COUNT - 1);
	if (field == VCPU_INTERRUPTIBLE || field == VCPU_RIP_LINEAR)
		fail_msg("core wrote read-only field %d", (int)field);
	be->field_writes[field]++;
	be->field[field] = value;
}

static void fake_dump(struct vcpu *vcpu)
{
	backend(vcpu)->dumps++;
}

const struct vcpu_ops fake_vcpu_ops = {
    .name = "fake",
    .probe = fake_probe,
    .cpu_enable = fake_cpu_enable,
    .vm_init = fake_vm_init,
    .vm_destroy = fake_vm_destroy,
    .vcpu_create = fake_vcpu_create,
    .vcpu_destroy = fake_vcpu_destroy,
    .vcpu_reset = fake_vcpu_reset,
    .run = fake_run,
    .read = fake_read,
    .write = fake_write,
    .dump = fake_dump,
};

void fake_guest_init(struct fake_guest *g, u64 ram_size)
{
	memset(g, 0, sizeof(*g));
	host_printk_reset();
	fake_host_cr4 = 0;
	fake_host_xcr0 = 1;
	fake_xsetbv_count = 0;
	fake_shared = false;
	fake_waited_tsc = 0;
	fake_yields = 0;
	fake_sched_wakes = 0;
	fake_host_tsc = 1000000;
	fake_host_tsc_step = 0;
	vcpu_ops = &fake_vcpu_ops;
	fake_probe(&vcpu_caps);

	if (ram_size) {
		g->ram = aligned_alloc(PAGE_SIZE, ram_size);
		assert_non_null(g->ram);
		memset(g->ram, 0, ram_size);
	}
	str_copy(g->vm.name, "test", sizeof(g->vm.name));
	g->vm.state = VM_STATE_RUNNING;
	g->vm.ram_size = ram_size;
	g->vm.ram_hpa = ptr_to_hpa(g->ram);
	g->vm.vcpu_count = 1;
	g->vm.vcpus[0] = &g->vcpu;
	/* A frozen clock: vm_guest_tsc() = frozen_host_tsc + tsc_offset. */
	g->vm.hide_exit_time = true;
	g->vm.clock_frozen = true;
	g->vm.frozen_host_tsc = fake_host_tsc;

	g->vcpu.vm = &g->vm;
	g->vcpu.state = VCPU_STATE_RUNNING;
	g->vcpu.vendor = &g->be;

	g->be.field[VCPU_CR0] = CR0_PE | CR0_PG | CR0_ET | CR0_NE;
	g->be.field[VCPU_EFER] = EFER_LME | EFER_LMA;
	g->be.field[VCPU_CS_LONG] = 1;
	g->be.field[VCPU_RFLAGS] = RFLAGS_FIXED | RFLAGS_IF;
	g->be.field[VCPU_INTERRUPTIBLE] = 1;
	g->be.field[VCPU_RIP] = 0x1000;
}

void fake_guest_free(struct fake_guest *g)
{
	free(g->ram);
	g->ram = NULL;
}

void fake_guest_flat32(struct fake_guest *g)
{
	g->be.field[VCPU_CR0] = CR0_PE | CR0_ET | CR0_NE;
	g->be.field[VCPU_CR4] = 0;
	g->be.field[VCPU_EFER] = 0;
	g->be.field[VCPU_CS_LONG] = 0;
	g->be.field[VCPU_CS_DB] = 1;
}

void fake_guest_real_mode(struct fake_guest *g)
{
	fake_guest_flat32(g);
	g->be.field[VCPU_CR0] = CR0_ET;
	g->be.field[VCPU_CS_DB] = 0;
}

void fake_set(struct fake_guest *g, enum vcpu_field f, u64 value)
{
	g->be.field[f] = value;
}

u64 fake_get(const struct fake_guest *g, enum vcpu_field f)
{
	return g->be.field[f];
}

struct fake_step *fake_script(struct fake_guest *g, const struct exit_event *ev)
{
	struct fake_step *step;

	assert_true(g->be.script_len < FAKE_MAX_RUNS);
	step = &g->be.script[g->be.script_len++];
	memset(step, 0, sizeof(*step));
	step->ev = *ev;
	return step;
}

struct exit_event fake_exit(enum exit_kind kind, u32 insn_len)
{
	struct exit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.insn_len = insn_len;
	ev.vendor_name = "fake-reason";
	return ev;
}

/* Paging-structure entry bits (SDM Vol. 3A 4.5): present, writable. */
#define PTE_P	      BIT(0)
#define PTE_RW	      BIT(1)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

void fake_paging_init(struct fake_guest *g, u64 tables)
{
	assert_true(tables % PAGE_SIZE == 0);
	assert_true(tables + FAKE_PT_PAGES * PAGE_SIZE <= g->vm.ram_size);
	memset(g->ram + tables, 0, FAKE_PT_PAGES * PAGE_SIZE);
	g->pt_next = tables + PAGE_SIZE; /* the first page is the PML4 */
	g->pt_end = tables + FAKE_PT_PAGES * PAGE_SIZE;
	g->be.field[VCPU_CR3] = tables;
	g->be.field[VCPU_CR4] |= CR4_PAE;
	g->be.field[VCPU_CR0] |= CR0_PE | CR0_PG;
	g->be.field[VCPU_EFER] |= EFER_LME | EFER_LMA;
}

/* The next-level table an entry points to, made on first use. */
static u64 *next_table(struct fake_guest *g, u64 *entry)
{
	if (!(*entry & PTE_P)) {
		assert_true(g->pt_next < g->pt_end);
		*entry = g->pt_next | PTE_P | PTE_RW;
		g->pt_next += PAGE_SIZE;
	}
	return (u64 *)(g->ram + (*entry & PTE_ADDR_MASK));
}

void fake_map(struct fake_guest *g, u64 linear, u64 gpa_value)
{
	u64 *table = (u64 *)(g->ram + g->be.field[VCPU_CR3]);

	for (int shift = 39; shift > 12; shift -= 9)
		table = next_table(g, &table[(linear >> shift) & 511]);
	table[(linear >> 12) & 511] =
	    (gpa_value & PTE_ADDR_MASK) | PTE_P | PTE_RW;
}

/* core/vm.c kicks the CPU of a vCPU it wakes: the host tests have none. */
u32 fake_kicks;
void smp_kick(u32 index)
{
	(void)index;
	fake_kicks++;
}

/*
 * core/sched.h on the host: one vCPU per CPU, nothing shared, unless a
 * test says the CPU is shared (fake_shared, with struct vcpu.shares_cpu):
 * then its waiting is fake_waited_tsc, and a spinning vCPU's yields are
 * counted.
 */
bool fake_shared;
u32 fake_yields;
u32 fake_sched_wakes;

void sched_yield(void)
{
	fake_yields++;
}

bool sched_due(void)
{
	return false;
}

void sched_point(void)
{
}

u64 sched_cap(u64 deadline)
{
	return deadline;
}

void sched_block(u64 wake_at)
{
	(void)wake_at;
}

void sched_relax(void)
{
}

void sched_wake(struct vcpu *vcpu, u32 cpu)
{
	(void)vcpu;
	(void)cpu;
	fake_sched_wakes++;
}

/* The vCPU's waiting on the shared CPU, as a test sets it (host ticks). */
u64 fake_waited_tsc;

bool sched_vcpu_stats(const struct vcpu *vcpu, u32 cpu, struct sched_stats *out)
{
	(void)vcpu;
	(void)cpu;
	if (!fake_shared)
		return false;
	*out = (struct sched_stats){.waited_tsc = fake_waited_tsc};
	return true;
}

/*
 * No host devices in these tests: a guest with vm->dma would poll the
 * IOMMU (core/passthrough.c); counted, so a test can see it was asked.
 */
u32 fake_passthrough_polls;

void passthrough_poll(struct vm *vm)
{
	(void)vm;
	fake_passthrough_polls++;
}
