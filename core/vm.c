/* SPDX-License-Identifier: MIT */
/*
 * VM bookkeeping shared by every exit handler: guest memory access, the
 * guest's own page walk, and ending a guest.
 */
#include <stdarg.h>

#include "core/vm.h"
#include "core/lib/format.h"
#include "core/guest_walk.h"
#include "core/mm.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
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

/* A page walk through the guest's own paging; remembered for its page. */
static __attribute__((noinline)) bool walk(struct vcpu *vcpu, u64 linear,
					   u64 *gpa_out)
{
	const struct guest_paging paging = {
	    .cr0 = vcpu_read(vcpu, VCPU_CR0),
	    .cr3 = vcpu_read(vcpu, VCPU_CR3),
	    .cr4 = vcpu_read(vcpu, VCPU_CR4),
	    .efer = vcpu_read(vcpu, VCPU_EFER),
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

/*
 * Copy between a host buffer and guest linear [linear, linear+len), page
 * by page through the guest's page walk: an element that crosses a page
 * lands on two guest pages that need not be adjacent.
 */
static bool copy_linear(struct vcpu *vcpu, u64 linear, u8 *buf, u32 len,
			bool to_guest)
{
	while (len) {
		u64 g;
		u32 chunk = (u32)MIN((u64)len, PAGE_SIZE - (linear & 0xfff));
		u8 *p;

		if (!vcpu_linear_to_gpa(vcpu, linear, &g))
			return false;
		p = vm_gpa_to_hva(vcpu->vm, gpa(g), chunk);
		if (!p)
			return false;
		if (to_guest)
			memcpy(p, buf, chunk);
		else
			memcpy(buf, p, chunk);
		buf += chunk;
		linear += chunk;
		len -= chunk;
	}
	return true;
}

bool vcpu_read_linear_pages(struct vcpu *vcpu, u64 linear, void *dst, u32 len)
{
	return copy_linear(vcpu, linear, dst, len, false);
}

bool vcpu_write_linear(struct vcpu *vcpu, u64 linear, const void *src, u32 len)
{
	return copy_linear(vcpu, linear, (u8 *)src, len, true);
}

u32 vcpu_fetch_insn(struct vcpu *vcpu, u8 bytes[DECODE_MAX_INSN_LEN])
{
	bool long_mode = vcpu_read(vcpu, VCPU_CS_LONG);
	u64 linear = vcpu_read(vcpu, VCPU_RIP);
	u32 first;
	u64 next;

	/* 64-bit code ignores the CS base (SDM Vol. 3A 3.4.4); elsewhere
	 * the linear address wraps at 4 GiB. */
	if (!long_mode)
		linear =
		    (vcpu_read(vcpu, VCPU_CS_BASE) + linear) & 0xffffffffull;
	first = PAGE_SIZE - (u32)(linear & (PAGE_SIZE - 1));
	/* The bytes on RIP's page in one read; those on the next page, if
	 * the instruction may go on there, in a second that may fail. */
	if (first > DECODE_MAX_INSN_LEN)
		first = DECODE_MAX_INSN_LEN;
	if (!vcpu_read_linear(vcpu, linear, bytes, first))
		return 0;
	if (first == DECODE_MAX_INSN_LEN)
		return first;
	next = linear + first;
	if (!long_mode)
		next &= 0xffffffffull;
	if (vcpu_read_linear(vcpu, next, bytes + first,
			     DECODE_MAX_INSN_LEN - first))
		return DECODE_MAX_INSN_LEN;
	return first;
}
