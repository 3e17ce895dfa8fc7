/* SPDX-License-Identifier: MIT */
/*
 * Port I/O exits: IN/OUT and the string forms INS/OUTS (with REP), routed
 * to the VM's I/O bus (core/iobus.h). A string form's address size and
 * OUTS segment come from the backend, or from the instruction's prefixes
 * where it cannot tell (core/prefix.h).
 */
#include "core/handlers.h"
#include "core/prefix.h"
#include "core/vm.h"
#include "core/lib/string.h"
#include "arch/x86/cpu.h"

/* Address-size mask for RSI/RDI/RCX in string instructions. */
static u64 addr_mask(u8 address_size)
{
	return address_size >= 8 ? ~0ull : (1ull << (address_size * 8)) - 1;
}

/*
 * Base of the segment a string instruction uses. In 64-bit mode only FS
 * and GS have a base (SDM Vol. 3A 3.4.4); OUTS may take a segment
 * override, INS always writes ES (SDM Vol. 2B INS, OUTS).
 */
static u64 segment_base(struct vcpu *vcpu, u8 segment, bool long_mode)
{
	switch (segment) {
	case 0:
		return long_mode ? 0 : vcpu_read(vcpu, VCPU_ES_BASE);
	case 1:
		return long_mode ? 0 : vcpu_read(vcpu, VCPU_CS_BASE);
	case 2:
		return long_mode ? 0 : vcpu_read(vcpu, VCPU_SS_BASE);
	case 4:
		return vcpu_read(vcpu, VCPU_FS_BASE);
	case 5:
		return vcpu_read(vcpu, VCPU_GS_BASE);
	default:
		return long_mode ? 0 : vcpu_read(vcpu, VCPU_DS_BASE);
	}
}

/*
 * One string I/O instruction, at most STRING_IO_BATCH of its REP
 * iterations per exit: then RIP stays on the instruction with RCX, RSI /
 * RDI updated, and the guest executes it again for the rest, as a REP
 * instruction interrupted between iterations does on hardware (SDM Vol. 2B
 * REP). A count of 2^64 so costs the guest its own time, not the
 * hypervisor's. Guest buffers are reached through the guest's own page
 * tables, an element that crosses a page on both pages; an unmapped
 * buffer stops the guest (a #PF would be right; docs/security.md).
 */
#define STRING_IO_BATCH 1024

static enum exit_action string_io(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *g = vcpu->regs.gpr;
	u64 mask = addr_mask(ev->io.address_size);
	enum gpr index_reg = ev->io.in ? GPR_RDI : GPR_RSI;
	u64 count = ev->io.rep ? g[GPR_RCX] & mask : 1;
	bool down = vcpu_read(vcpu, VCPU_RFLAGS) & RFLAGS_DF;
	bool long_mode = vcpu_read(vcpu, VCPU_CS_LONG);
	u64 base =
	    segment_base(vcpu, ev->io.in ? 0 : ev->io.segment, long_mode);
	u8 size = ev->io.size;
	u32 done = 0;
	/*
	 * The register bits above the address size: kept, except that in
	 * 64-bit mode a 32-bit address size writes ECX / ESI / EDI as 32-bit
	 * results, which clear bits 63:32 (SDM Vol. 1 3.4.1.1).
	 */
	u64 keep = long_mode && ev->io.address_size == 4 ? 0 : ~mask;

	for (; count; count--, done++) {
		u64 offset = g[index_reg] & mask;
		u64 linear = base + offset;
		u32 v = 0;
		bool ok;

		if (done == STRING_IO_BATCH)
			return EXIT_ACTION_RESUME;
		if (!long_mode)
			linear &= 0xffffffffull;
		if (ev->io.in) {
			v = iobus_read(&vcpu->vm->io, ev->io.port, size);
			ok = vcpu_write_linear(vcpu, linear, &v, size);
		} else {
			ok = vcpu_read_linear(vcpu, linear, &v, size);
			if (ok)
				iobus_write(&vcpu->vm->io, ev->io.port, size,
					    v);
		}
		if (!ok) {
			vm_stop(vcpu->vm,
				"string I/O at port 0x%x with an unmapped "
				"buffer at linear 0x%llx",
				ev->io.port, (unsigned long long)linear);
			return EXIT_ACTION_END;
		}
		offset = down ? offset - size : offset + size;
		g[index_reg] = (g[index_reg] & keep) | (offset & mask);
		if (ev->io.rep)
			g[GPR_RCX] =
			    (g[GPR_RCX] & keep) | ((g[GPR_RCX] - 1) & mask);
		if (!vm_running(vcpu->vm))
			return EXIT_ACTION_END;
	}
	return EXIT_ACTION_SKIP;
}

enum exit_action handle_io(struct vcpu *vcpu, struct exit_event *ev)
{
	u64 *rax = &vcpu->regs.gpr[GPR_RAX];

	if (ev->io.string) {
		enum exit_action action;

		/* What the backend could not tell, from the prefixes (INS
		 * always writes ES: its segment is never needed). */
		if ((ev->io.address_size == IO_ADDRESS_SIZE_UNKNOWN ||
		     (!ev->io.in && ev->io.segment == IO_SEGMENT_UNKNOWN)) &&
		    !prefix_string_io(vcpu, ev, &action))
			return action;
		return string_io(vcpu, ev);
	}
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
