/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the I/O APIC (core/vdev/vioapic.c) with the local APIC it
 * delivers to (core/vdev/vlapic.c), wired as core/platform.c wires them:
 * fixed and lowest-priority messages go to vlapic_accept_irq() when the
 * destination matches, other modes are not routed, and the local APIC's
 * EOI of a level-triggered vector goes back to vioapic_eoi(). Driven by
 * IOAPIC MMIO accesses of any offset and size, input pin changes, local
 * APIC programming and the guest's interrupt cycle (inject, EOI).
 *
 * Checked: messages come only from pins 0-23, in a delivery mode the
 * entry has; an accepted message never carries a vector below 16 (the
 * local APIC refuses those) and nothing below 16 is ever pending there;
 * remote IRR is set only on level-triggered entries; entries hold no bit a
 * guest cannot write but remote IRR; IOREGSEL is a byte; refused accesses are
 * the documented errors and read 0; callbacks do not recurse without bound.
 */
#include <string.h>

#include "core/vdev/vioapic.h"
#include "core/vdev/vlapic.h"
#include "tests/fuzz/fuzz.h"

#define RTE_KEPT                                                               \
	(VIOAPIC_RTE_VECTOR | VIOAPIC_RTE_DELIVERY_MODE |                      \
	 VIOAPIC_RTE_DEST_LOGICAL | VIOAPIC_RTE_POLARITY_LOW |                 \
	 VIOAPIC_RTE_REMOTE_IRR | VIOAPIC_RTE_LEVEL | VIOAPIC_RTE_MASKED |     \
	 (0xffull << VIOAPIC_RTE_DEST_SHIFT))

static struct vioapic ioapic;
static struct vlapic lapic;
static u32 depth;
static u64 now;

static bool deliver(void *opaque, const struct vioapic_msg *m)
{
	bool accepted = false;

	(void)opaque;
	FUZZ_CHECK(m->pin < VIOAPIC_PINS, "message from pin %u", m->pin);
	FUZZ_CHECK(m->delivery_mode ==
		       ((ioapic.rte[m->pin] & VIOAPIC_RTE_DELIVERY_MODE) >> 8),
		   "message mode %u, entry 0x%llx", m->delivery_mode,
		   (unsigned long long)ioapic.rte[m->pin]);
	FUZZ_CHECK(++depth < 16, "deliveries nest %u deep", depth);
	if (m->delivery_mode == VIOAPIC_DELIVERY_FIXED ||
	    m->delivery_mode == VIOAPIC_DELIVERY_LOWEST)
		accepted =
		    vlapic_match_dest(&lapic, m->dest, m->dest_logical) &&
		    vlapic_accept_irq(&lapic, m->vector, m->level_triggered);
	FUZZ_CHECK(!accepted || m->vector >= 16, "vector %u accepted",
		   m->vector);
	depth--;
	return accepted;
}

static void lapic_eoi(void *opaque, u8 vector)
{
	(void)opaque;
	FUZZ_CHECK(++depth < 16, "EOIs nest %u deep", depth);
	vioapic_eoi(&ioapic, vector);
	depth--;
}

static const struct vlapic_ops lapic_ops = {.eoi = lapic_eoi};

static void check_state(void)
{
	int vector = vlapic_pending_vector(&lapic);

	FUZZ_CHECK(vector == -1 || vector >= 16, "pending vector %d", vector);
	FUZZ_CHECK(!(lapic.irr[0] & 0xffff) && !(lapic.isr[0] & 0xffff),
		   "vector below 16 in the local APIC");
	for (u32 pin = 0; pin < VIOAPIC_PINS; pin++) {
		u64 rte = ioapic.rte[pin];

		FUZZ_CHECK(!(rte & ~RTE_KEPT), "pin %u entry 0x%llx", pin,
			   (unsigned long long)rte);
		/* Set by an accepted level message, kept (as on the 82093AA)
		 * when the guest then changes the mode; an edge entry clears
		 * it. */
		FUZZ_CHECK(!(rte & VIOAPIC_RTE_REMOTE_IRR) ||
			       (rte & VIOAPIC_RTE_LEVEL),
			   "pin %u remote IRR on entry 0x%llx", pin,
			   (unsigned long long)rte);
	}
	FUZZ_CHECK(ioapic.id <= 15, "ID %u", ioapic.id);
}

/* An entry as a guest programs it: low half, then high half. */
static void program(struct fuzz_in *in)
{
	u8 pin = fuzz_u8(in) % (VIOAPIC_PINS + 1);
	u32 low = fuzz_u32(in), high = (u32)fuzz_u8(in) << 24;

	vioapic_mmio_write(&ioapic, 0x00, 4, 0x11u + 2u * pin);
	vioapic_mmio_write(&ioapic, 0x10, 4, high);
	vioapic_mmio_write(&ioapic, 0x00, 4, 0x10u + 2u * pin);
	vioapic_mmio_write(&ioapic, 0x10, 4, low);
}

static void interrupt_cycle(bool eoi)
{
	int vector = vlapic_pending_vector(&lapic);

	if (vector >= 0)
		vlapic_inject_done(&lapic, (u8)vector);
	if (eoi)
		vlapic_mmio_write(&lapic, 0xb0, 4, 0, now);
}

static void step(struct fuzz_in *in)
{
	static const u32 offsets[] = {0x00, 0x10, 0x04, 0x01,
				      0x14, 0x20, 0xfff};
	static const u8 sizes[] = {4, 4, 1, 2, 8};
	u8 op = fuzz_u8(in);
	u32 offset = FUZZ_PICK(in, offsets);
	u8 size = FUZZ_PICK(in, sizes);
	u32 value;
	int rc;

	if (in->done)
		return;
	switch (op % 7) {
	case 0:
		rc = vioapic_mmio_write(&ioapic, offset, size, fuzz_u32(in));
		FUZZ_CHECK(rc == 0 || rc == VIOAPIC_ERR_OFFSET ||
			       rc == VIOAPIC_ERR_SIZE,
			   "write rc %d", rc);
		break;
	case 1:
		rc = vioapic_mmio_read(&ioapic, offset, size, &value);
		FUZZ_CHECK(rc == 0 || ((rc == VIOAPIC_ERR_OFFSET ||
					rc == VIOAPIC_ERR_SIZE) &&
				       value == 0),
			   "read rc %d value 0x%x", rc, value);
		FUZZ_CHECK(rc || offset != 0 || value <= 0xff,
			   "IOREGSEL reads 0x%x", value);
		break;
	case 2:
		program(in);
		break;
	case 3: {
		u8 pin = fuzz_u8(in) % (VIOAPIC_PINS + 2);
		bool ok = vioapic_set_irq(&ioapic, pin, fuzz_bool(in));

		FUZZ_CHECK(ok == (pin < VIOAPIC_PINS), "set_irq(%u) %d", pin,
			   ok);
		break;
	}
	case 4: /* the local APIC as a guest programs it */
		vlapic_mmio_write(&lapic, (u32)fuzz_below(in, 0x40) << 4, 4,
				  fuzz_u32(in), now);
		break;
	case 5:
		interrupt_cycle(fuzz_bool(in));
		break;
	default:
		vioapic_eoi(&ioapic, fuzz_u8(in));
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	const struct vlapic_config cfg = {.vcpu_index = 0,
					  .bsp = true,
					  .tsc_hz = 1000000000ull,
					  .phys_addr_bits = 39};
	u8 id = fuzz_u8(&in);

	depth = 0;
	now = 1000;
	FUZZ_CHECK(vioapic_init(&ioapic, id, deliver, NULL) == (id <= 15),
		   "init with ID %u", id);
	if (id > 15)
		return 0;
	FUZZ_CHECK(vlapic_init(&lapic, &cfg, &lapic_ops, NULL) == 0,
		   "local APIC init");
	/* A guest that has its APIC on, sometimes. */
	if (fuzz_bool(&in))
		vlapic_mmio_write(&lapic, 0xf0, 4, 0x1ff, now);
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
