/* SPDX-License-Identifier: MIT */
/*
 * VM bookkeeping shared by every exit handler: guest memory access, the
 * guest's own page walk, and ending a guest.
 */
#include <stdarg.h>

#include "core/vm.h"
#include "core/sched.h"
#include "core/lib/format.h"
#include "core/guest_walk.h"
#include "core/mm.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/smp.h"

void *vm_gpa_to_hva(struct vm *vm, gpa_t g, u64 len)
{
	if (g.v >= vm->ram_size || len > vm->ram_size - g.v)
		return NULL;
	return hpa_to_ptr(vm->ram_hpa + g.v);
}

u64 vm_guest_tsc(const struct vm *vm)
{
	return (vm->clock_frozen ? vm->frozen_host_tsc : rdtsc()) +
	       vm->tsc_offset;
}

void vm_set_guest_tsc(struct vm *vm, u64 value)
{
	vm->tsc_offset =
	    value - (vm->clock_frozen ? vm->frozen_host_tsc : rdtsc());
}

void vm_wake_vcpu(struct vm *vm, u32 index)
{
	struct vcpu *v;

	if (index >= vm->vcpu_count || !(v = vm->vcpus[index]))
		return;
	__atomic_store_n(&v->events_quiet, false, __ATOMIC_SEQ_CST);
	v->wakeups++;
	/* On a shared CPU its thread may wait for it (core/sched.h). */
	sched_wake(v, v->host_cpu);
	/* Its CPU may be in guest mode: it exits at once (none for this
	 * CPU, which is in Veneer now). */
	if (v->in_loop)
		smp_kick(v->host_cpu);
}

/*
 * First transition out of RUNNING wins; later ones are ignored. The
 * guest's other vCPUs are made to see it at once.
 */
static bool vm_end(struct vm *vm, enum vm_state to)
{
	enum vm_state expected = VM_STATE_RUNNING;

	if (!__atomic_compare_exchange_n(&vm->state, &expected, to, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return false;
	for (u32 i = 0; i < vm->vcpu_count; i++)
		vm_wake_vcpu(vm, i);
	return true;
}

void vm_exit(struct vm *vm, u32 code)
{
	if (!vm_end(vm, VM_STATE_EXITED))
		return;
	vm->exit_code = code;
	/* The guest's partial line first; printk starts the next line. */
	vuart_flush(&vm->uart);
	printk("veneer: guest %s exited with code %u\n", vm->name, code);
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	if (!vm_end(vm, VM_STATE_STOPPED))
		return;
	va_start(ap, fmt);
	vsnformat(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vuart_flush(&vm->uart);
	printk("veneer: guest %s stopped: %s\n", vm->name, vm->stop_reason);
}

static const void *vm_memory(void *opaque, u64 g, u64 len)
{
	return vm_gpa_to_hva(opaque, gpa(g), len);
}

/*
 * A page walk through the guest's own paging; remembered for its page.
 * With paging off CR3 and CR4 play no part (guest_walk), and are not read.
 */
static __attribute__((noinline)) bool walk(struct vcpu *vcpu, u64 linear,
					   u64 *gpa_out)
{
	struct guest_paging paging = {
	    .cr0 = vcpu_read(vcpu, VCPU_CR0),
	    .efer = vcpu_read(vcpu, VCPU_EFER),
	};

	if (paging.cr0 & CR0_PG) {
		paging.cr3 = vcpu_read(vcpu, VCPU_CR3);
		paging.cr4 = vcpu_read(vcpu, VCPU_CR4);
	}
	if (guest_walk(&paging, linear, vm_memory, vcpu->vm, gpa_out) !=
	    GUEST_WALK_OK)
		return false;
	vcpu->walk_linear = linear & ~(u64)(PAGE_SIZE - 1);
	vcpu->walk_gpa = *gpa_out & ~(u64)(PAGE_SIZE - 1);
	vcpu->walk_hva =
	    vm_gpa_to_hva(vcpu->vm, gpa(vcpu->walk_gpa), PAGE_SIZE);
	vcpu->walk_valid = true;
	return true;
}

/* The page of the last walk, while the guest has not run since. */
static bool walked(const struct vcpu *vcpu, u64 linear)
{
	return vcpu->walk_valid &&
	       vcpu->walk_linear == (linear & ~(u64)(PAGE_SIZE - 1));
}

bool vcpu_linear_to_gpa(struct vcpu *vcpu, u64 linear, u64 *gpa_out)
{
	if (walked(vcpu, linear)) {
		*gpa_out = vcpu->walk_gpa | (linear & (PAGE_SIZE - 1));
		return true;
	}
	return walk(vcpu, linear, gpa_out);
}

/*
 * Guest linear [linear, linear+len) page by page through the guest's page
 * walk: an element that crosses a page lands on two guest pages that need
 * not be adjacent. Returns the host bytes of the first `*chunk` bytes.
 */
static u8 *linear_chunk(struct vcpu *vcpu, u64 linear, u32 len, u32 *chunk)
{
	u64 g;

	*chunk = (u32)MIN((u64)len, PAGE_SIZE - (linear & 0xfff));
	if (!vcpu_linear_to_gpa(vcpu, linear, &g))
		return NULL;
	return vm_gpa_to_hva(vcpu->vm, gpa(g), *chunk);
}

bool vcpu_read_linear_pages(struct vcpu *vcpu, u64 linear, void *dst, u32 len)
{
	u8 *out = dst;

	while (len) {
		u32 chunk;
		const u8 *p = linear_chunk(vcpu, linear, len, &chunk);

		if (!p)
			return false;
		memcpy(out, p, chunk);
		out += chunk;
		linear += chunk;
		len -= chunk;
	}
	return true;
}

bool vcpu_write_linear(struct vcpu *vcpu, u64 linear, const void *src, u32 len)
{
	const u8 *in = src;

	while (len) {
		u32 chunk;
		u8 *p = linear_chunk(vcpu, linear, len, &chunk);

		if (!p)
			return false;
		memcpy(p, in, chunk);
		in += chunk;
		linear += chunk;
		len -= chunk;
	}
	return true;
}

u32 vcpu_fetch_insn(struct vcpu *vcpu, u8 *bytes, u32 max)
{
	u64 linear = vcpu_read(vcpu, VCPU_RIP_LINEAR);
	u32 first;
	u64 next, g;

	if (max > DECODE_MAX_INSN_LEN)
		max = DECODE_MAX_INSN_LEN;
	first = PAGE_SIZE - (u32)(linear & (PAGE_SIZE - 1));
	/* The bytes on RIP's page in one read; those on the next page, if
	 * the instruction may go on there, in a second that may fail. The
	 * first comes straight from the page the walk remembers. */
	if (first > max)
		first = max;
	if (!vcpu_linear_to_gpa(vcpu, linear, &g))
		return 0;
	if (vcpu->walk_hva)
		memcpy(bytes, vcpu->walk_hva + (linear & (PAGE_SIZE - 1)),
		       first);
	else if (!vcpu_read_linear_pages(vcpu, linear, bytes, first))
		return 0;
	if (first == max)
		return first;
	/* Outside 64-bit code the linear address wraps at 4 GiB (SDM Vol.
	 * 3A 3.4.4); asked only when the instruction crosses 4 GiB. */
	next = linear + first;
	if ((next ^ linear) >> 32 && !vcpu_read(vcpu, VCPU_CS_LONG))
		next &= 0xffffffffull;
	if (vcpu_read_linear(vcpu, next, bytes + first, max - first))
		return max;
	return first;
}
