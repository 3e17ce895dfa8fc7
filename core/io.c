/* SPDX-License-Identifier: MIT */
/*
 * Port I/O exits: IN/OUT and the string forms INS/OUTS (with REP), routed
 * to the VM's I/O bus (core/iobus.h).
 */
#include "core/handlers.h"
#include "core/vm.h"
#include "core/string.h"
#include "arch/x86/cpu.h"

/* Address-size mask for RSI/RDI/RCX in string instructions. */
static u64 addr_mask(u8 address_size)
{
	return address_size >= 8 ? ~0ull : (1ull << (address_size * 8)) - 1;
}

static u64 segment_base(struct vcpu *vcpu, u8 segment)
{
	/* OUTS may take a segment override; INS always writes ES. */
	switch (segment) {
	case 0:
		return vcpu_ops->read(vcpu, VCPU_ES_BASE);
	case 1:
		return vcpu_ops->read(vcpu, VCPU_CS_BASE);
	case 2:
		return vcpu_ops->read(vcpu, VCPU_SS_BASE);
	case 4:
		return vcpu_ops->read(vcpu, VCPU_FS_BASE);
	case 5:
		return vcpu_ops->read(vcpu, VCPU_GS_BASE);
	default:
		return vcpu_ops->read(vcpu, VCPU_DS_BASE);
	}
}

/*
 * One string I/O instruction, all its REP iterations at once. Guest
 * buffers are reached through the guest's own page tables; an unmapped
 * buffer stops the guest (a #PF would be right, but no guest we run
 * relies on faulting string I/O).
 */
static enum exit_action string_io(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *g = vcpu->regs.gpr;
	u64 mask = addr_mask(ev->io.address_size);
	enum gpr index_reg = ev->io.in ? GPR_RDI : GPR_RSI;
	u64 count = ev->io.rep ? g[GPR_RCX] & mask : 1;
	bool down = vcpu_ops->read(vcpu, VCPU_RFLAGS) & RFLAGS_DF;
	u64 base = ev->io.in ? vcpu_ops->read(vcpu, VCPU_ES_BASE)
			     : segment_base(vcpu, ev->io.segment);
	u8 size = ev->io.size;

	for (; count; count--) {
		u64 offset = g[index_reg] & mask;
		u64 g_addr;
		u8 *p;

		if (!vcpu_linear_to_gpa(vcpu, base + offset, &g_addr) ||
		    !(p = vm_gpa_to_hva(vcpu->vm, gpa(g_addr), size))) {
			vm_stop(vcpu->vm,
				"string I/O at port 0x%x with an unmapped "
				"buffer at linear 0x%llx",
				ev->io.port,
				(unsigned long long)(base + offset));
			return EXIT_ACTION_END;
		}
		if (ev->io.in) {
			u32 v = iobus_read(&vcpu->vm->io, ev->io.port, size);

			memcpy(p, &v, size);
		} else {
			u32 v = 0;

			memcpy(&v, p, size);
			iobus_write(&vcpu->vm->io, ev->io.port, size, v);
		}
		offset = down ? offset - size : offset + size;
		g[index_reg] = (g[index_reg] & ~mask) | (offset & mask);
		if (ev->io.rep)
			g[GPR_RCX] =
			    (g[GPR_RCX] & ~mask) | ((g[GPR_RCX] - 1) & mask);
		if (!vm_running(vcpu->vm))
			return EXIT_ACTION_END;
	}
	return EXIT_ACTION_SKIP;
}

enum exit_action handle_io(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *rax = &vcpu->regs.gpr[GPR_RAX];

	if (ev->io.string)
		return string_io(vcpu, ev);
	if (ev->io.in) {
		u32 v = iobus_read(&vcpu->vm->io, ev->io.port, ev->io.size);

		/* IN writes AL / AX / EAX; a 32-bit write zero-extends. */
		if (ev->io.size == 4)
			*rax = v;
		else if (ev->io.size == 2)
			*rax = (*rax & ~0xffffull) | v;
		else
			*rax = (*rax & ~0xffull) | v;
	} else {
		iobus_write(&vcpu->vm->io, ev->io.port, ev->io.size, (u32)*rax);
	}
	return vm_running(vcpu->vm) ? EXIT_ACTION_SKIP : EXIT_ACTION_END;
}
