/* SPDX-License-Identifier: MIT */
/*
 * VM bookkeeping shared by every exit handler: guest memory access, the
 * guest's own page walk, and ending a guest.
 */
#include <stdarg.h>

#include "core/vm.h"
#include "core/console.h"
#include "core/format.h"
#include "core/guest_walk.h"
#include "core/mm.h"
#include "core/printk.h"
#include "core/string.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

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

/* First transition out of RUNNING wins; later ones are ignored. */
static bool vm_end(struct vm *vm, enum vm_state to)
{
	enum vm_state expected = VM_STATE_RUNNING;

	return __atomic_compare_exchange_n(&vm->state, &expected, to, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void vm_exit(struct vm *vm, u32 code)
{
	if (!vm_end(vm, VM_STATE_EXITED))
		return;
	vm->exit_code = code;
	console_end_guest_output(vm);
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
	console_end_guest_output(vm);
	printk("veneer: guest %s stopped: %s\n", vm->name, vm->stop_reason);
}

static const void *vm_memory(void *opaque, u64 g, u64 len)
{
	return vm_gpa_to_hva(opaque, gpa(g), len);
}

/* A page walk through the guest's own paging; remembered for its page. */
static __attribute__((noinline)) bool walk(struct vcpu *vcpu, u64 linear,
					   u64 *gpa_out)
{
	const struct guest_paging paging = {
	    .cr0 = vcpu_ops->read(vcpu, VCPU_CR0),
	    .cr3 = vcpu_ops->read(vcpu, VCPU_CR3),
	    .cr4 = vcpu_ops->read(vcpu, VCPU_CR4),
	    .efer = vcpu_ops->read(vcpu, VCPU_EFER),
	};

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

bool vcpu_read_linear_pages(struct vcpu *vcpu, u64 linear, void *dst, u32 len)
{
	u8 *out = dst;

	while (len) {
		u64 g;
		u32 chunk = (u32)MIN((u64)len, PAGE_SIZE - (linear & 0xfff));
		const void *src;

		if (!vcpu_linear_to_gpa(vcpu, linear, &g))
			return false;
		src = vm_gpa_to_hva(vcpu->vm, gpa(g), chunk);
		if (!src)
			return false;
		memcpy(out, src, chunk);
		out += chunk;
		linear += chunk;
		len -= chunk;
	}
	return true;
}
