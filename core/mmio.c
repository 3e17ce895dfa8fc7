/* SPDX-License-Identifier: MIT */
/*
 * MMIO regions and the EPT-violation / NPT-fault path that emulates one
 * guest instruction against them.
 */
#include "core/mmio.h"
#include "core/decode.h"
#include "core/handlers.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"

bool mmio_register(struct mmio_bus *bus, const struct mmio_region *r)
{
	if (bus->count == MMIO_MAX_REGIONS || !r->size ||
	    r->base + r->size < r->base)
		return false;
	for (u32 i = 0; i < bus->count; i++) {
		const struct mmio_region *o = &bus->regions[i];

		if (r->base < o->base + o->size && o->base < r->base + r->size)
			return false;
	}
	bus->regions[bus->count++] = *r;
	return true;
}

u32 mmio_remove(struct mmio_bus *bus, const void *owner)
{
	u32 removed = 0;

	for (u32 i = 0; i < bus->count;)
		if (bus->regions[i].opaque == owner) {
			bus->regions[i] = bus->regions[--bus->count];
			removed++;
		} else {
			i++;
		}
	return removed;
}

const struct mmio_region *mmio_find(const struct mmio_bus *bus, u64 gpa)
{
	for (u32 i = 0; i < bus->count; i++) {
		const struct mmio_region *r = &bus->regions[i];

		if (gpa >= r->base && gpa - r->base < r->size)
			return r;
	}
	return NULL;
}

static enum decode_mode guest_decode_mode(struct vcpu *vcpu)
{
	if (!(vcpu_read(vcpu, VCPU_CR0) & CR0_PE))
		return DECODE_MODE_16;
	return decode_mode_from_cs(vcpu_read(vcpu, VCPU_CS_LONG),
				   vcpu_read(vcpu, VCPU_CS_DB));
}

/*
 * Emulate the faulting instruction against region r. Returns SKIP with
 * ev->insn_len set, RESUME after injecting #GP, or END after stopping the
 * guest (an instruction Veneer cannot emulate).
 */
enum exit_action mmio_emulate(struct vcpu *vcpu, struct exit_event *ev,
			      const struct mmio_region *r)
{
	u8 bytes[DECODE_MAX_INSN_LEN];
	u32 avail = vcpu_fetch_insn(vcpu, bytes, DECODE_MAX_INSN_LEN);
	u64 offset = ev->gpa_fault.gpa - r->base;
	struct mmio_insn insn;
	char err[120];
	u64 *g = vcpu->regs.gpr;

	vcpu->vm->mmio.last_quiet = false;
	if (decode_mmio(bytes, avail, guest_decode_mode(vcpu), &insn, err,
			sizeof(err))) {
		vm_stop(vcpu->vm, "%s access at 0x%llx (rip 0x%llx): %s",
			r->name, (unsigned long long)ev->gpa_fault.gpa,
			(unsigned long long)vcpu_read(vcpu, VCPU_RIP), err);
		return EXIT_ACTION_END;
	}
	if (offset + insn.size > r->size) {
		vm_stop(
		    vcpu->vm, "%s access of %u bytes at 0x%llx crosses its end",
		    r->name, insn.size, (unsigned long long)ev->gpa_fault.gpa);
		return EXIT_ACTION_END;
	}
	/* XCHG: the value to store is read before the load overwrites it. */
	if (insn.write) {
		u64 value = mmio_write_value(&insn, g);

		if (insn.read) {
			u64 old;

			if (r->read(r->opaque, vcpu, offset, insn.size, &old))
				goto refused;
			mmio_complete_read(&insn, old, g);
		}
		if (r->write(r->opaque, vcpu, offset, insn.size, value))
			goto refused;
	} else {
		u64 value;

		if (r->read(r->opaque, vcpu, offset, insn.size, &value))
			goto refused;
		mmio_complete_read(&insn, value, g);
	}
	ev->insn_len = insn.len;
	vcpu->vm->mmio.last_quiet = !insn.write && r->read_quiet;
	return vm_running(vcpu->vm) ? EXIT_ACTION_SKIP : EXIT_ACTION_END;
refused:
	vcpu_inject_gp(vcpu);
	return EXIT_ACTION_RESUME;
}
