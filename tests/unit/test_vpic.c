/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vpic.c, the guest's dual 8259A. The command
 * words are the ones in the Intel 8259A data sheet; the init sequence is
 * the one every PC operating system uses (ICW1 0x11, base, cascade, 8086).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vdev/vpic.h"

#define MASTER_CMD  0x20
#define MASTER_DATA 0x21
#define SLAVE_CMD   0xa0
#define SLAVE_DATA  0xa1
#define ELCR_MASTER 0x4d0
#define ELCR_SLAVE  0x4d1

#define OCW3_READ_IRR	  0x0a
#define OCW3_READ_ISR	  0x0b
#define OCW3_POLL	  0x0c
#define OCW3_SET_SMM	  0x68
#define OCW3_CLEAR_SMM	  0x48
#define OCW2_EOI	  0x20
#define OCW2_SPECIFIC_EOI 0x60
#define OCW2_ROTATE_EOI	  0xa0
#define OCW2_SET_PRIORITY 0xc0

#define MASTER_BASE 0x30
#define SLAVE_BASE  0x38

/* ICW1-4 for both chips; icw4 chooses 8086 mode with or without AEOI. */
static void init_pair(struct vpic *pic, u8 icw4)
{
	vpic_init(pic);
	vpic_write(pic, MASTER_CMD, 0x11);
	vpic_write(pic, MASTER_DATA, MASTER_BASE);
	vpic_write(pic, MASTER_DATA, 0x04); /* slave on IR2 */
	vpic_write(pic, MASTER_DATA, icw4);
	vpic_write(pic, SLAVE_CMD, 0x11);
	vpic_write(pic, SLAVE_DATA, SLAVE_BASE);
	vpic_write(pic, SLAVE_DATA, 0x02); /* slave identity 2 */
	vpic_write(pic, SLAVE_DATA, icw4);
}

static void pulse(struct vpic *pic, u8 irq)
{
	assert_true(vpic_set_irq(pic, irq, true));
	assert_true(vpic_set_irq(pic, irq, false));
}

static u8 read_isr(struct vpic *pic, u16 cmd_port)
{
	vpic_write(pic, cmd_port, OCW3_READ_ISR);
	return vpic_read(pic, cmd_port);
}

static u8 read_irr(struct vpic *pic, u16 cmd_port)
{
	vpic_write(pic, cmd_port, OCW3_READ_IRR);
	return vpic_read(pic, cmd_port);
}

static void test_power_on_state_is_masked_and_silent(void **state)
{
	struct vpic pic;

	(void)state;
	vpic_init(&pic);
	assert_int_equal(vpic_read(&pic, MASTER_DATA), 0xff);
	assert_int_equal(vpic_read(&pic, SLAVE_DATA), 0xff);
	pulse(&pic, 0);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	/* ICW1 clears the mask and the latched edge from before it. */
	init_pair(&pic, 0x01);
	assert_int_equal(vpic_read(&pic, MASTER_DATA), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

static void test_no_interrupt_in_the_middle_of_initialisation(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, MASTER_CMD, 0x11);
	vpic_write(&pic, MASTER_DATA, 0x50);
	pulse(&pic, 1);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_write(&pic, MASTER_DATA, 0x04);
	vpic_write(&pic, MASTER_DATA, 0x01);
	assert_int_equal(vpic_pending_vector(&pic), 0x51);
}

static void test_edge_request_ack_and_eoi(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	pulse(&pic, 0);
	assert_int_equal(read_irr(&pic, MASTER_CMD), 0x01);
	assert_int_equal(vpic_pending_vector(&pic), MASTER_BASE + 0);
	assert_int_equal(vpic_pending_vector(&pic), MASTER_BASE + 0);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 0);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x01);
	assert_int_equal(read_irr(&pic, MASTER_CMD), 0x00);
	/* A second edge while in service waits for the EOI. */
	pulse(&pic, 0);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), MASTER_BASE + 0);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 0);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	assert_int_equal(pic.spurious, 0);
}

static void test_a_held_edge_line_requests_once(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	assert_true(vpic_set_irq(&pic, 4, true));
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 4);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_true(vpic_set_irq(&pic, 4, true)); /* still high: no edge */
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

static void test_mask_holds_the_request_back(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, MASTER_DATA, 0x10);
	assert_int_equal(vpic_read(&pic, MASTER_DATA), 0x10);
	pulse(&pic, 4);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	assert_int_equal(read_irr(&pic, MASTER_CMD), 0x10);
	vpic_write(&pic, MASTER_DATA, 0x00);
	assert_int_equal(vpic_pending_vector(&pic), MASTER_BASE + 4);
}

static void test_fixed_priority_and_nesting(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	pulse(&pic, 3);
	pulse(&pic, 5);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 3);
	/* IR5 has lower priority than the IR3 in service... */
	assert_int_equal(vpic_pending_vector(&pic), -1);
	/* ...but IR1 has higher priority and nests. */
	pulse(&pic, 1);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 1);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x0a);
	/* A non-specific EOI ends the highest-priority service: IR1. */
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x08);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 5);
}

static void test_specific_eoi_and_priority_rotation(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	pulse(&pic, 6);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 6);
	vpic_write(&pic, MASTER_CMD, OCW2_SPECIFIC_EOI | 5); /* not IR6 */
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x40);
	vpic_write(&pic, MASTER_CMD, OCW2_SPECIFIC_EOI | 6);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x00);

	/* Set priority: IR4 lowest, so IR5 is now the highest. */
	vpic_write(&pic, MASTER_CMD, OCW2_SET_PRIORITY | 4);
	pulse(&pic, 3);
	pulse(&pic, 5);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 5);
	/* Rotate on EOI: IR5 becomes lowest, IR6 highest, IR3 still waits
	 * behind nothing in service. */
	vpic_write(&pic, MASTER_CMD, OCW2_ROTATE_EOI);
	pulse(&pic, 6);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 6);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 3);
}

/*
 * Every lowest-priority setting against every set of requests: the one
 * acknowledged is the first IR after the lowest one, counting round
 * (8259A data sheet, "Specific Rotation"). On the slave, whose eight
 * inputs are all free.
 */
static void test_priority_order_for_every_rotation_and_request_set(void **state)
{
	(void)state;
	for (u8 lowest = 0; lowest < 8; lowest++) {
		for (u32 set = 1; set < 256; set++) {
			struct vpic pic;
			u8 want = 0;

			for (u8 k = 1; k <= 8; k++) {
				u8 ir = (u8)((lowest + k) & 7);

				if (set & (1u << ir)) {
					want = ir;
					break;
				}
			}
			init_pair(&pic, 0x01);
			vpic_write(&pic, SLAVE_CMD, OCW2_SET_PRIORITY | lowest);
			for (u8 ir = 0; ir < 8; ir++)
				if (set & (1u << ir))
					pulse(&pic, (u8)(8 + ir));
			assert_int_equal(vpic_ack(&pic), SLAVE_BASE + want);
		}
	}
}

static void test_slave_interrupt_goes_through_the_cascade(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	pulse(&pic, 12);
	assert_int_equal(read_irr(&pic, MASTER_CMD), 0x04);
	assert_int_equal(vpic_pending_vector(&pic), SLAVE_BASE + 4);
	assert_int_equal(vpic_ack(&pic), SLAVE_BASE + 4);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x04);
	assert_int_equal(read_isr(&pic, SLAVE_CMD), 0x10);
	/* IRQ 8 ranks above 12 on the slave, but the master's IR2 is still
	 * in service: nothing until the master's EOI. */
	pulse(&pic, 8);
	vpic_write(&pic, SLAVE_CMD, OCW2_EOI);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(vpic_pending_vector(&pic), SLAVE_BASE + 0);
	/* Master IR0 and IR1 outrank the whole slave. */
	pulse(&pic, 1);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 1);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(vpic_ack(&pic), SLAVE_BASE + 0);
}

static void test_masked_slave_line_does_not_reach_the_master(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, SLAVE_DATA, 0xff);
	pulse(&pic, 14);
	assert_int_equal(read_irr(&pic, MASTER_CMD), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_write(&pic, SLAVE_DATA, 0x00);
	assert_int_equal(vpic_pending_vector(&pic), SLAVE_BASE + 6);
	/* Masking IR2 on the master hides the whole slave. */
	vpic_write(&pic, MASTER_DATA, 0x04);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

static void test_level_triggered_lines_follow_the_input(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, ELCR_SLAVE, 0x02); /* IRQ 9 level (the SCI) */
	assert_int_equal(vpic_read(&pic, ELCR_SLAVE), 0x02);
	assert_true(vpic_set_irq(&pic, 9, true));
	assert_int_equal(vpic_ack(&pic), SLAVE_BASE + 1);
	vpic_write(&pic, SLAVE_CMD, OCW2_EOI);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	/* Still high after the EOI: requested again. */
	assert_int_equal(vpic_pending_vector(&pic), SLAVE_BASE + 1);
	assert_true(vpic_set_irq(&pic, 9, false));
	/* The slave's request is gone, but the master latched the cascade
	 * edge: the acknowledge gets the slave's spurious IR7. */
	assert_int_equal(vpic_pending_vector(&pic), SLAVE_BASE + 7);
	assert_int_equal(vpic_ack(&pic), SLAVE_BASE + 7);
	assert_int_equal(pic.spurious, 1);
	assert_int_equal(read_isr(&pic, SLAVE_CMD), 0x00);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x04);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

static void test_spurious_master_irq7(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, ELCR_MASTER, 0x20); /* IRQ 5 level */
	assert_true(vpic_set_irq(&pic, 5, true));
	assert_int_equal(vpic_pending_vector(&pic), MASTER_BASE + 5);
	assert_true(vpic_set_irq(&pic, 5, false)); /* gone before INTA */
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 7);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x00);
	assert_int_equal(pic.spurious, 1);
}

static void test_elcr_edge_only_bits_stay_clear(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, ELCR_MASTER, 0xff);
	vpic_write(&pic, ELCR_SLAVE, 0xff);
	assert_int_equal(vpic_read(&pic, ELCR_MASTER), 0xf8);
	assert_int_equal(vpic_read(&pic, ELCR_SLAVE), 0xde);
}

static void test_auto_eoi_leaves_nothing_in_service(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x03);
	pulse(&pic, 3);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 3);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x00);
	pulse(&pic, 4);
	assert_int_equal(vpic_pending_vector(&pic), MASTER_BASE + 4);
	/* Rotate in auto-EOI: the acknowledged IR becomes the lowest. */
	vpic_write(&pic, MASTER_CMD, 0x80);
	pulse(&pic, 0);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 0);
	pulse(&pic, 0);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 4); /* IR0 now lowest */
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 0);
}

static void test_icw1_without_icw4_clears_auto_eoi(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x03);
	vpic_write(&pic, MASTER_CMD, 0x10); /* cascade, no ICW4 */
	vpic_write(&pic, MASTER_DATA, 0x20);
	vpic_write(&pic, MASTER_DATA, 0x04);
	pulse(&pic, 1);
	assert_int_equal(vpic_ack(&pic), 0x21);
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x02);
}

static void test_single_mode_skips_icw3_and_has_no_cascade(void **state)
{
	struct vpic pic;

	(void)state;
	vpic_init(&pic);
	vpic_write(&pic, MASTER_CMD, 0x13); /* single, ICW4 */
	vpic_write(&pic, MASTER_DATA, 0x40);
	vpic_write(&pic, MASTER_DATA, 0x01); /* this is ICW4 */
	vpic_write(&pic, MASTER_DATA, 0xfe); /* and this the mask */
	assert_int_equal(vpic_read(&pic, MASTER_DATA), 0xfe);
	pulse(&pic, 0);
	assert_int_equal(vpic_ack(&pic), 0x40);
}

static void test_poll_command(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_write(&pic, MASTER_CMD, OCW3_POLL);
	assert_int_equal(vpic_read(&pic, MASTER_CMD), 0x00);
	pulse(&pic, 6);
	vpic_write(&pic, MASTER_CMD, OCW3_POLL);
	assert_int_equal(vpic_read(&pic, MASTER_CMD), 0x86);
	/* The poll acknowledged IR6; the next read is the IRR again. */
	assert_int_equal(read_isr(&pic, MASTER_CMD), 0x40);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

static void test_special_mask_mode_lets_lower_priorities_in(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	pulse(&pic, 2 + 1); /* IR3 */
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 3);
	vpic_write(&pic, MASTER_DATA, 0x08); /* mask the IR in service */
	vpic_write(&pic, MASTER_CMD, OCW3_SET_SMM);
	pulse(&pic, 6);
	assert_int_equal(vpic_ack(&pic), MASTER_BASE + 6);
	vpic_write(&pic, MASTER_CMD, OCW3_CLEAR_SMM);
	pulse(&pic, 5);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

static void test_bad_lines_are_refused(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	assert_false(vpic_set_irq(&pic, 2, true));
	assert_false(vpic_set_irq(&pic, 16, true));
	assert_int_equal(read_irr(&pic, MASTER_CMD), 0x00);
}

/*
 * The 8259A names whatever vector ICW2 gives it, exceptions' vectors
 * included: left at its power-on base 0 (or initialised with base 0) it
 * delivers IRQ n as vector n, as on bare metal, where the CPU takes it
 * through IDT entry n. The model hands those out unchanged; it is the
 * core's and the backends' job to inject them (issue 10, bug 1).
 */
static void test_vector_base_zero_gives_vectors_0_to_7(void **state)
{
	struct vpic pic;

	(void)state;
	/* Never initialised: OCW1 unmasks IRQ 0 and 1 and the cascade. */
	vpic_init(&pic);
	vpic_write(&pic, MASTER_DATA, 0xf8);
	pulse(&pic, 0);
	assert_int_equal(vpic_pending_vector(&pic), 0);
	assert_int_equal(vpic_ack(&pic), 0);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	pulse(&pic, 1);
	assert_int_equal(vpic_ack(&pic), 1);
	vpic_write(&pic, MASTER_CMD, OCW2_EOI);
	/* The slave at base 0 too: IRQ 9 is vector 1. */
	vpic_write(&pic, SLAVE_DATA, 0xfd);
	pulse(&pic, 9);
	assert_int_equal(vpic_pending_vector(&pic), 1);
	assert_int_equal(vpic_ack(&pic), 1);

	/* Initialised with ICW2 = 0: IRQ 7 is vector 7, spurious too. */
	vpic_init(&pic);
	vpic_write(&pic, MASTER_CMD, 0x11);
	vpic_write(&pic, MASTER_DATA, 0x00);
	vpic_write(&pic, MASTER_DATA, 0x04);
	vpic_write(&pic, MASTER_DATA, 0x01);
	vpic_write(&pic, MASTER_DATA, 0x7f);
	pulse(&pic, 7);
	assert_int_equal(vpic_pending_vector(&pic), 7);
	assert_int_equal(vpic_ack(&pic), 7);
	assert_int_equal(vpic_ack(&pic), 7); /* nothing left: spurious IR7 */
	assert_int_equal(pic.spurious, 1);
}

/* Whatever the programming, the vector is one byte: base (7:3) + IR. */
static void test_every_base_gives_a_vector_in_range(void **state)
{
	struct vpic pic;

	(void)state;
	for (u32 base = 0; base < 256; base += 8) {
		vpic_init(&pic);
		vpic_write(&pic, MASTER_CMD, 0x11);
		vpic_write(&pic, MASTER_DATA, (u8)(base | 7)); /* 2:0 ignored */
		vpic_write(&pic, MASTER_DATA, 0x04);
		vpic_write(&pic, MASTER_DATA, 0x01);
		vpic_write(&pic, MASTER_DATA, 0x00);
		pulse(&pic, 7);
		assert_int_equal(vpic_pending_vector(&pic), base + 7);
		assert_int_equal(vpic_ack(&pic), base + 7);
	}
}

static void test_io_bus_shape(void **state)
{
	struct vpic pic;

	(void)state;
	init_pair(&pic, 0x01);
	vpic_io_write(&pic, MASTER_DATA, 1, 0xfb);
	vpic_io_write(&pic, ELCR_MASTER, 2, 0x2f20);
	assert_int_equal(vpic_io_read(&pic, ELCR_MASTER, 2), 0x0e20);
	assert_int_equal(vpic_io_read(&pic, MASTER_DATA, 1), 0xfb);
	assert_int_equal(vpic_io_read(&pic, 0x22, 1), 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_power_on_state_is_masked_and_silent),
	    cmocka_unit_test(test_no_interrupt_in_the_middle_of_initialisation),
	    cmocka_unit_test(test_edge_request_ack_and_eoi),
	    cmocka_unit_test(test_a_held_edge_line_requests_once),
	    cmocka_unit_test(test_mask_holds_the_request_back),
	    cmocka_unit_test(test_fixed_priority_and_nesting),
	    cmocka_unit_test(test_specific_eoi_and_priority_rotation),
	    cmocka_unit_test(
		test_priority_order_for_every_rotation_and_request_set),
	    cmocka_unit_test(test_slave_interrupt_goes_through_the_cascade),
	    cmocka_unit_test(test_masked_slave_line_does_not_reach_the_master),
	    cmocka_unit_test(test_level_triggered_lines_follow_the_input),
	    cmocka_unit_test(test_spurious_master_irq7),
	    cmocka_unit_test(test_elcr_edge_only_bits_stay_clear),
	    cmocka_unit_test(test_auto_eoi_leaves_nothing_in_service),
	    cmocka_unit_test(test_icw1_without_icw4_clears_auto_eoi),
	    cmocka_unit_test(test_single_mode_skips_icw3_and_has_no_cascade),
	    cmocka_unit_test(test_poll_command),
	    cmocka_unit_test(test_vector_base_zero_gives_vectors_0_to_7),
	    cmocka_unit_test(test_every_base_gives_a_vector_in_range),
	    cmocka_unit_test(test_special_mask_mode_lets_lower_priorities_in),
	    cmocka_unit_test(test_bad_lines_are_refused),
	    cmocka_unit_test(test_io_bus_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
