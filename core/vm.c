/* SPDX-License-Identifier: MIT */
/*
 * VM bookkeeping shared by every exit handler: guest memory access, the
 * guest's own page walk, and ending a guest.
 */
#include <stdarg.h>

#include "core/vm.h"
#include "core/format.h"
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

/*
 * The guest's page walk (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level).
 * Only presence matters here: the hypervisor reads what the guest itself
 * pointed it to (string I/O buffers, instruction bytes).
 */
static bool read_entry(struct vcpu *vcpu, u64 table, u64 index, u32 size,
		       u64 *entry)
{
	void *p = vm_gpa_to_hva(vcpu->vm, gpa(table + index * size), size);

	if (!p)
		return false;
	*entry = 0;
	memcpy(entry, p, size);
	return true;
}

#define PTE_PRESENT BIT(0)
#define PTE_LARGE   BIT(7)
#define ADDR_MASK   0x000ffffffffff000ull

bool vcpu_linear_to_gpa(struct vcpu *vcpu, u64 linear, u64 *gpa_out)
{
	const struct vcpu_ops *ops = vcpu_ops;
	u64 cr0 = ops->read(vcpu, VCPU_CR0);
	u64 cr4 = ops->read(vcpu, VCPU_CR4);
	u64 efer = ops->read(vcpu, VCPU_EFER);
	u64 table = ops->read(vcpu, VCPU_CR3), e;
	int levels;

	if (!(cr0 & CR0_PG)) {
		*gpa_out = linear & 0xffffffffull;
		return true;
	}
	if (!(cr4 & CR4_PAE)) {
		/* 32-bit paging: 10 + 10 + 12 bits, 4 MiB pages with PSE. */
		linear &= 0xffffffffull;
		table &= 0xfffff000ull;
		if (!read_entry(vcpu, table, linear >> 22, 4, &e) ||
		    !(e & PTE_PRESENT))
			return false;
		if ((e & PTE_LARGE) && (cr4 & CR4_PSE)) {
			*gpa_out = (e & 0xffc00000ull) | (linear & 0x3fffff) |
				   ((e >> 13 & 0xff) << 32);
			return true;
		}
		if (!read_entry(vcpu, e & 0xfffff000ull, linear >> 12 & 0x3ff,
				4, &e) ||
		    !(e & PTE_PRESENT))
			return false;
		*gpa_out = (e & 0xfffff000ull) | (linear & 0xfff);
		return true;
	}
	if (efer & EFER_LMA) {
		levels = 4;
		table &= ADDR_MASK;
	} else {
		/* PAE: CR3 points at four PDPTEs (SDM 4.4.1). */
		levels = 3;
		linear &= 0xffffffffull;
		if (!read_entry(vcpu, table & 0xffffffe0ull, linear >> 30, 8,
				&e) ||
		    !(e & PTE_PRESENT))
			return false;
		table = e & ADDR_MASK;
		levels = 2;
	}
	for (int level = levels; level >= 1; level--) {
		u32 shift = 12 + 9 * (level - 1);

		if (!read_entry(vcpu, table, linear >> shift & 0x1ff, 8, &e) ||
		    !(e & PTE_PRESENT))
			return false;
		if (level > 1 && level < 4 && (e & PTE_LARGE)) {
			u64 mask = (1ull << shift) - 1;

			*gpa_out = (e & ADDR_MASK & ~mask) | (linear & mask);
			return true;
		}
		table = e & ADDR_MASK;
	}
	*gpa_out = table | (linear & 0xfff);
	return true;
}

bool vcpu_read_linear(struct vcpu *vcpu, u64 linear, void *dst, u32 len)
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
