/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vioapic.c, the virtual I/O APIC. Register
 * indices and entry bits are those of the Intel 82093AA data sheet. The
 * last test wires it to a vlapic the way the core does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/vioapic.h"
#include "core/vdev/vlapic.h"

#define IOREGSEL      0x00
#define IOWIN	      0x10
#define REG_ID	      0x00
#define REG_VER	      0x01
#define REG_ARB	      0x02
#define RTE_LOW(pin)  (0x10 + 2 * (pin))
#define RTE_HIGH(pin) (0x11 + 2 * (pin))

#define MASKED	      (1u << 16)
#define LEVEL	      (1u << 15)
#define REMOTE_IRR    (1u << 14)
#define DELIVERY_BUSY (1u << 12)
#define LOGICAL	      (1u << 11)
#define MODE_NMI      (4u << 8)
#define MODE_LOWEST   (1u << 8)

struct sink {
	struct vioapic_msg msg[16];
	int count;
	struct vlapic *lapic; /* when set, deliver like the core does */
	bool refuse;	      /* without a lapic: no APIC accepts */
};

static struct sink sink;

static bool record(void *opaque, const struct vioapic_msg *m)
{
	struct sink *s = opaque;

	assert_true(s->count < 16);
	s->msg[s->count++] = *m;
	if (!s->lapic)
		return !s->refuse;
	return vlapic_match_dest(s->lapic, m->dest, m->dest_logical) &&
	       vlapic_accept_irq(s->lapic, m->vector, m->level_triggered);
}

static void make(struct vioapic *io)
{
	memset(&sink, 0, sizeof(sink));
	assert_true(vioapic_init(io, 2, record, &sink));
}

static u32 reg_read(struct vioapic *io, u8 reg)
{
	u32 value = 0xdeadbeef;

	assert_int_equal(vioapic_mmio_write(io, IOREGSEL, 4, reg), 0);
	assert_int_equal(vioapic_mmio_read(io, IOWIN, 4, &value), 0);
	return value;
}

static void reg_write(struct vioapic *io, u8 reg, u32 value)
{
	assert_int_equal(vioapic_mmio_write(io, IOREGSEL, 4, reg), 0);
	assert_int_equal(vioapic_mmio_write(io, IOWIN, 4, value), 0);
}

/* Routes `pin` to vector `vector` for APIC `dest` with extra low bits. */
static void route(struct vioapic *io, u8 pin, u8 dest, u32 low)
{
	reg_write(io, RTE_HIGH(pin), (u32)dest << 24);
	reg_write(io, RTE_LOW(pin), low);
}

static void test_identification_registers(void **state)
{
	struct vioapic io;

	(void)state;
	assert_false(vioapic_init(&io, 16, record, &sink));
	make(&io);
	assert_int_equal(reg_read(&io, REG_ID), 2u << 24);
	/* Version 0x11, highest entry 23 (24 pins). */
	assert_int_equal(reg_read(&io, REG_VER), 0x00170011);
	assert_int_equal(reg_read(&io, REG_ARB), 2u << 24);
	reg_write(&io, REG_ID, 0xffffffff);
	assert_int_equal(reg_read(&io, REG_ID), 0x0f000000);
	assert_int_equal(reg_read(&io, REG_ARB), 0x0f000000);
	reg_write(&io, REG_VER, 0);
	assert_int_equal(reg_read(&io, REG_VER), 0x00170011);
	/* Registers that do not exist read 0. */
	assert_int_equal(reg_read(&io, 0x03), 0);
	assert_int_equal(reg_read(&io, 0x40), 0);
	reg_write(&io, 0x40, 0x1234);
	assert_int_equal(reg_read(&io, 0x40), 0);
}

static void test_redirection_entries(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	/* Reset: every entry masked. */
	for (u8 pin = 0; pin < VIOAPIC_PINS; pin++) {
		assert_int_equal(reg_read(&io, RTE_LOW(pin)), MASKED);
		assert_int_equal(reg_read(&io, RTE_HIGH(pin)), 0);
	}
	/* Delivery status and remote IRR are read-only; 55:32 reserved. */
	reg_write(&io, RTE_LOW(5), 0xffffffff);
	assert_int_equal(reg_read(&io, RTE_LOW(5)), 0x1afff);
	reg_write(&io, RTE_HIGH(5), 0xffffffff);
	assert_int_equal(reg_read(&io, RTE_HIGH(5)), 0xff000000);
	assert_int_equal(vioapic_entry(&io, 5), 0xff0000000001afffull);
	/* The high half of pin 23 is register 0x3F, the last one. */
	reg_write(&io, 0x3f, 0x07000000);
	assert_int_equal(vioapic_entry(&io, 23) >> 56, 7);
}

static void test_access_errors(void **state)
{
	struct vioapic io;
	u32 out = 1;

	(void)state;
	make(&io);
	assert_int_equal(vioapic_mmio_read(&io, 0x04, 4, &out),
			 VIOAPIC_ERR_OFFSET);
	assert_int_equal(out, 0);
	assert_int_equal(vioapic_mmio_write(&io, 0x20, 4, 0),
			 VIOAPIC_ERR_OFFSET);
	assert_int_equal(vioapic_mmio_write(&io, IOWIN, 2, 0),
			 VIOAPIC_ERR_SIZE);
	assert_int_equal(vioapic_mmio_read(&io, IOWIN, 1, &out),
			 VIOAPIC_ERR_SIZE);
	assert_int_equal(vioapic_mmio_write(&io, IOREGSEL, 8, 0),
			 VIOAPIC_ERR_SIZE);
	/* IOREGSEL takes a byte write, keeping bits 7:0 only. */
	assert_int_equal(vioapic_mmio_write(&io, IOREGSEL, 1, REG_VER), 0);
	assert_int_equal(vioapic_mmio_read(&io, IOREGSEL, 4, &out), 0);
	assert_int_equal(out, REG_VER);
	assert_int_equal(vioapic_mmio_write(&io, IOREGSEL, 4, 0x101), 0);
	assert_int_equal(vioapic_mmio_read(&io, IOWIN, 4, &out), 0);
	assert_int_equal(out, 0x00170011);
	assert_string_equal(vioapic_error_name(VIOAPIC_ERR_SIZE),
			    "I/O APIC access is not 32 bits wide");
	assert_false(vioapic_set_irq(&io, 24, true));
}

static void test_edge_triggered(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	route(&io, 4, 1, 0x24);
	assert_true(vioapic_set_irq(&io, 4, true));
	assert_int_equal(sink.count, 1);
	assert_int_equal(sink.msg[0].pin, 4);
	assert_int_equal(sink.msg[0].dest, 1);
	assert_int_equal(sink.msg[0].vector, 0x24);
	assert_false(sink.msg[0].dest_logical);
	assert_false(sink.msg[0].level_triggered);
	assert_int_equal(sink.msg[0].delivery_mode, VIOAPIC_DELIVERY_FIXED);
	/* Staying high is not a new edge; low then high is. */
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(sink.count, 1);
	vioapic_set_irq(&io, 4, false);
	assert_int_equal(sink.count, 1);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(sink.count, 2);
	/* No remote IRR for edges; an EOI changes nothing. */
	assert_int_equal(reg_read(&io, RTE_LOW(4)) & REMOTE_IRR, 0);
	vioapic_eoi(&io, 0x24);
	assert_int_equal(sink.count, 2);
	/* Logical destination and lowest priority are passed through. */
	vioapic_set_irq(&io, 4, false);
	route(&io, 4, 0x0f, 0x31 | LOGICAL | MODE_LOWEST);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(sink.count, 3);
	assert_true(sink.msg[2].dest_logical);
	assert_int_equal(sink.msg[2].dest, 0x0f);
	assert_int_equal(sink.msg[2].delivery_mode, VIOAPIC_DELIVERY_LOWEST);
}

static void test_masked_edge_is_lost(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	route(&io, 3, 0, 0x23 | MASKED);
	vioapic_set_irq(&io, 3, true);
	vioapic_set_irq(&io, 3, false);
	assert_int_equal(sink.count, 0);
	route(&io, 3, 0, 0x23);
	assert_int_equal(sink.count, 0);
	vioapic_set_irq(&io, 3, true);
	assert_int_equal(sink.count, 1);
}

static void test_level_triggered_remote_irr(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	route(&io, 9, 0, 0x29 | LEVEL);
	vioapic_set_irq(&io, 9, true);
	assert_int_equal(sink.count, 1);
	assert_true(sink.msg[0].level_triggered);
	assert_int_equal(reg_read(&io, RTE_LOW(9)), 0x29 | LEVEL | REMOTE_IRR);
	/*
	 * While remote IRR is set nothing more is sent: not on a new
	 * assertion, not when the guest rewrites the entry.
	 */
	vioapic_set_irq(&io, 9, true);
	vioapic_set_irq(&io, 9, false);
	vioapic_set_irq(&io, 9, true);
	route(&io, 9, 1, 0x29 | LEVEL);
	assert_int_equal(sink.count, 1);
	/* An EOI of another vector does nothing. */
	vioapic_eoi(&io, 0x30);
	assert_int_equal(sink.count, 1);
	/* EOI with the line still asserted: sent again. */
	vioapic_eoi(&io, 0x29);
	assert_int_equal(sink.count, 2);
	assert_true(reg_read(&io, RTE_LOW(9)) & REMOTE_IRR);
	/* Deasserted, then EOI: remote IRR clears, nothing sent. */
	vioapic_set_irq(&io, 9, false);
	vioapic_eoi(&io, 0x29);
	assert_int_equal(sink.count, 2);
	assert_int_equal(reg_read(&io, RTE_LOW(9)), 0x29 | LEVEL);
	/* A guest write cannot set remote IRR or delivery status. */
	reg_write(&io, RTE_LOW(9), 0x29 | LEVEL | REMOTE_IRR | DELIVERY_BUSY);
	assert_int_equal(reg_read(&io, RTE_LOW(9)), 0x29 | LEVEL);
}

static void test_level_masked_then_unmasked(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	route(&io, 10, 0, 0x3a | LEVEL | MASKED);
	vioapic_set_irq(&io, 10, true);
	assert_int_equal(sink.count, 0);
	/* Unmasking samples the still-asserted line. */
	route(&io, 10, 0, 0x3a | LEVEL);
	assert_int_equal(sink.count, 1);
	/* A shared vector: one EOI serves every pin that has it. */
	route(&io, 11, 0, 0x3a | LEVEL);
	vioapic_set_irq(&io, 11, true);
	assert_int_equal(sink.count, 2);
	vioapic_set_irq(&io, 10, false);
	vioapic_set_irq(&io, 11, false);
	vioapic_eoi(&io, 0x3a);
	assert_int_equal(reg_read(&io, RTE_LOW(10)) & REMOTE_IRR, 0);
	assert_int_equal(reg_read(&io, RTE_LOW(11)) & REMOTE_IRR, 0);
}

static void test_switch_to_edge_clears_remote_irr(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	route(&io, 12, 0, 0x3c | LEVEL);
	vioapic_set_irq(&io, 12, true);
	assert_true(reg_read(&io, RTE_LOW(12)) & REMOTE_IRR);
	/* The way an OS unsticks remote IRR on a chip without EOI register. */
	reg_write(&io, RTE_LOW(12), 0x3c | MASKED);
	assert_int_equal(reg_read(&io, RTE_LOW(12)) & REMOTE_IRR, 0);
	reg_write(&io, RTE_LOW(12), 0x3c | LEVEL | MASKED);
	assert_int_equal(sink.count, 1);
}

static void test_nmi_level_has_no_remote_irr(void **state)
{
	struct vioapic io;

	(void)state;
	make(&io);
	route(&io, 7, 0, LEVEL | MODE_NMI);
	vioapic_set_irq(&io, 7, true);
	assert_int_equal(sink.count, 1);
	assert_int_equal(sink.msg[0].delivery_mode, VIOAPIC_DELIVERY_NMI);
	assert_int_equal(reg_read(&io, RTE_LOW(7)) & REMOTE_IRR, 0);
}

static struct vioapic *eoi_target;

static void lapic_eoi(void *opaque, u8 vector)
{
	(void)opaque;
	vioapic_eoi(eoi_target, vector);
}

/* The whole level-triggered loop: pin -> IOAPIC -> LAPIC -> EOI -> pin. */
static void test_with_vlapic(void **state)
{
	static const struct vlapic_ops ops = {.eoi = lapic_eoi};
	struct vlapic_config cfg = {.vcpu_index = 0,
				    .bsp = true,
				    .tsc_hz = 1000000000ull,
				    .phys_addr_bits = 39};
	struct vioapic io;
	struct vlapic lapic;

	(void)state;
	make(&io);
	assert_int_equal(vlapic_init(&lapic, &cfg, &ops, NULL), 0);
	assert_int_equal(vlapic_mmio_write(&lapic, 0xf0, 4, 0x1ff, 0), 0);
	sink.lapic = &lapic;
	eoi_target = &io;
	route(&io, 4, 0, 0x34 | LEVEL);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x34);
	assert_int_equal(vlapic_inject_done(&lapic, 0x34), 0);
	/* The guest's EOI while the device still asserts: comes again. */
	assert_int_equal(vlapic_mmio_write(&lapic, 0xb0, 4, 0, 0), 0);
	assert_int_equal(sink.count, 2);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x34);
	assert_int_equal(vlapic_inject_done(&lapic, 0x34), 0);
	/* The device is served; the next EOI ends it. */
	vioapic_set_irq(&io, 4, false);
	assert_int_equal(vlapic_mmio_write(&lapic, 0xb0, 4, 0, 0), 0);
	assert_int_equal(sink.count, 2);
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	assert_int_equal(reg_read(&io, RTE_LOW(4)) & REMOTE_IRR, 0);
}

/* An enabled xAPIC with ID 0 that the sink delivers to. */
static void make_with_vlapic(struct vioapic *io, struct vlapic *lapic)
{
	static const struct vlapic_ops ops = {.eoi = lapic_eoi};
	struct vlapic_config cfg = {.vcpu_index = 0,
				    .bsp = true,
				    .tsc_hz = 1000000000ull,
				    .phys_addr_bits = 39};

	make(io);
	assert_int_equal(vlapic_init(lapic, &cfg, &ops, NULL), 0);
	assert_int_equal(vlapic_mmio_write(lapic, 0xf0, 4, 0x1ff, 0), 0);
	sink.lapic = lapic;
	eoi_target = io;
}

/* ESR as the guest sees it: a write latches the errors, a read shows them. */
static u32 lapic_esr(struct vlapic *lapic)
{
	u32 esr = 0;

	assert_int_equal(vlapic_mmio_write(lapic, 0x280, 4, 0, 0), 0);
	assert_int_equal(vlapic_mmio_read(lapic, 0x280, 4, &esr, 0), 0);
	return esr;
}

/*
 * Vectors 0-15 in a redirection entry: the message goes out, the local
 * APIC refuses it and sets "receive illegal vector" (SDM Vol. 3A 11.5.3);
 * nothing becomes pending, so nothing below 16 can reach the vCPU.
 */
static void test_illegal_vector_is_refused_by_the_lapic(void **state)
{
	struct vioapic io;
	struct vlapic lapic;

	(void)state;
	for (u32 vector = 0; vector < 16; vector++) {
		make_with_vlapic(&io, &lapic);
		route(&io, 4, 0, vector);
		vioapic_set_irq(&io, 4, true);
		assert_int_equal(sink.count, 1);
		assert_int_equal(sink.msg[0].vector, vector);
		assert_int_equal(vlapic_pending_vector(&lapic), -1);
		assert_int_equal(lapic_esr(&lapic),
				 VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
		for (int i = 0; i < 8; i++)
			assert_int_equal(lapic.irr[i], 0);
	}
	/* Vector 16 is the first legal one. */
	make_with_vlapic(&io, &lapic);
	route(&io, 4, 0, 16);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(vlapic_pending_vector(&lapic), 16);
	assert_int_equal(lapic_esr(&lapic), 0);
}

/*
 * A level-triggered entry whose message was refused keeps no remote IRR
 * (82093AA 3.2.4: set when a local APIC accepts), so fixing the vector
 * makes the still-asserted line deliver at once instead of waiting for
 * an EOI that can never come.
 */
static void test_refused_level_message_leaves_no_remote_irr(void **state)
{
	struct vioapic io;
	struct vlapic lapic;

	(void)state;
	make_with_vlapic(&io, &lapic);
	route(&io, 9, 0, 0x07 | LEVEL);
	vioapic_set_irq(&io, 9, true);
	assert_int_equal(sink.count, 1);
	assert_int_equal(reg_read(&io, RTE_LOW(9)) & REMOTE_IRR, 0);
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	reg_write(&io, RTE_LOW(9), 0x39 | LEVEL);
	assert_int_equal(sink.count, 2);
	assert_true(reg_read(&io, RTE_LOW(9)) & REMOTE_IRR);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x39);
	/* A message no APIC matches is not accepted either. */
	make(&io);
	sink.refuse = true;
	route(&io, 10, 3, 0x3a | LEVEL);
	vioapic_set_irq(&io, 10, true);
	assert_int_equal(sink.count, 1);
	assert_int_equal(reg_read(&io, RTE_LOW(10)) & REMOTE_IRR, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identification_registers),
	    cmocka_unit_test(test_redirection_entries),
	    cmocka_unit_test(test_access_errors),
	    cmocka_unit_test(test_edge_triggered),
	    cmocka_unit_test(test_masked_edge_is_lost),
	    cmocka_unit_test(test_level_triggered_remote_irr),
	    cmocka_unit_test(test_level_masked_then_unmasked),
	    cmocka_unit_test(test_switch_to_edge_clears_remote_irr),
	    cmocka_unit_test(test_nmi_level_has_no_remote_irr),
	    cmocka_unit_test(test_with_vlapic),
	    cmocka_unit_test(test_illegal_vector_is_refused_by_the_lapic),
	    cmocka_unit_test(test_refused_level_message_leaves_no_remote_irr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
