/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vpci.c: configuration mechanism #1 with one
 * host bridge at 00:00.0 (PCI Local Bus Specification 3.0, 3.2.2.3.2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/vdev/vpci.h"

#define ADDR 0xcf8
#define DATA 0xcfc

static u32 cfg_address(u8 bus, u8 dev, u8 fn, u8 reg)
{
	return 0x80000000u | (u32)bus << 16 | (u32)dev << 11 | (u32)fn << 8 |
	       (reg & 0xfc);
}

static u32 read_cfg(struct vpci *pci, u8 bus, u8 dev, u8 fn, u8 reg, u8 size)
{
	vpci_io_write(pci, ADDR, 4, cfg_address(bus, dev, fn, reg));
	return vpci_io_read(pci, (u16)(DATA + (reg & 3)), size);
}

static void write_cfg(struct vpci *pci, u8 bus, u8 dev, u8 fn, u8 reg, u8 size,
		      u32 value)
{
	vpci_io_write(pci, ADDR, 4, cfg_address(bus, dev, fn, reg));
	vpci_io_write(pci, (u16)(DATA + (reg & 3)), size, value);
}

static void test_host_bridge_identity(void **state)
{
	struct vpci pci;

	(void)state;
	vpci_init(&pci);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x00, 4), 0x12378086);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x00, 2), 0x8086);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x02, 2), 0x1237);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x08, 4), 0x06000002);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x0b, 1), 0x06);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x0a, 1), 0x00);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x0e, 1), 0x00);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x06, 2), 0x0000); /* status */
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x34, 1), 0x00);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x3c, 4), 0x00000000);
}

static void test_absent_functions_read_all_ones(void **state)
{
	struct vpci pci;

	(void)state;
	vpci_init(&pci);
	assert_int_equal(read_cfg(&pci, 0, 0, 1, 0x00, 4), 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x00, 4), 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 31, 7, 0x00, 2), 0xffff);
	assert_int_equal(read_cfg(&pci, 1, 0, 0, 0x00, 1), 0xff);
	assert_int_equal(read_cfg(&pci, 255, 0, 0, 0x08, 4), 0xffffffff);
	write_cfg(&pci, 0, 3, 0, 0x04, 2, 0x0007);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x04, 2), 0xffff);
}

static void test_address_register(void **state)
{
	struct vpci pci;

	(void)state;
	vpci_init(&pci);
	vpci_io_write(&pci, ADDR, 4, 0x80000000);
	assert_int_equal(vpci_io_read(&pci, ADDR, 4), 0x80000000);
	/* Reserved bits 30:24 and 1:0 read as zero. */
	vpci_io_write(&pci, ADDR, 4, 0xffffffff);
	assert_int_equal(vpci_io_read(&pci, ADDR, 4), 0x80fffffc);
	/* Byte and word accesses there are not the address register. */
	vpci_io_write(&pci, ADDR, 4, 0x80000000);
	vpci_io_write(&pci, ADDR, 1, 0x00);
	vpci_io_write(&pci, ADDR + 3, 1, 0x01);
	assert_int_equal(vpci_io_read(&pci, ADDR, 4), 0x80000000);
	assert_int_equal(vpci_io_read(&pci, ADDR, 1), 0xff);
	assert_int_equal(vpci_io_read(&pci, ADDR + 2, 2), 0xffff);
	/* Without the enable bit, the data window is not configuration. */
	vpci_io_write(&pci, ADDR, 4, 0x00000000);
	assert_int_equal(vpci_io_read(&pci, DATA, 4), 0xffffffff);
}

static void test_read_only_fields_ignore_writes(void **state)
{
	struct vpci pci;

	(void)state;
	vpci_init(&pci);
	write_cfg(&pci, 0, 0, 0, 0x00, 4, 0x00000000);
	write_cfg(&pci, 0, 0, 0, 0x08, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x00, 4), 0x12378086);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x08, 4), 0x06000002);
	/* BAR sizing: all ones written, zero read back = no BAR. */
	for (u8 bar = 0x10; bar <= 0x24; bar += 4) {
		write_cfg(&pci, 0, 0, 0, bar, 4, 0xffffffff);
		assert_int_equal(read_cfg(&pci, 0, 0, 0, bar, 4), 0);
	}
	/* Command bits 0-2, cache line size and latency timer are kept. */
	write_cfg(&pci, 0, 0, 0, 0x04, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x04, 4), 0x00000007);
	write_cfg(&pci, 0, 0, 0, 0x0d, 1, 0x40);
	write_cfg(&pci, 0, 0, 0, 0x0c, 1, 0x10);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x0c, 4), 0x00004010);
}

static void test_data_window_offsets(void **state)
{
	struct vpci pci;

	(void)state;
	vpci_init(&pci);
	vpci_io_write(&pci, ADDR, 4, cfg_address(0, 0, 0, 0x00));
	assert_int_equal(vpci_io_read(&pci, DATA + 1, 1), 0x80);
	assert_int_equal(vpci_io_read(&pci, DATA + 2, 2), 0x1237);
	assert_int_equal(vpci_io_read(&pci, DATA + 3, 1), 0x12);
	assert_int_equal(vpci_config_read(&pci, 0, 0, 0, 0x0a), 0x00);
	assert_int_equal(vpci_config_read(&pci, 0, 0, 0, 0x0b), 0x06);
	assert_int_equal(vpci_config_read(&pci, 0, 0, 1, 0x00), 0xff);
}

/*
 * A wide access is byte accesses to consecutive ports (SDM Vol. 1 18.3):
 * bytes that run past 0xCFF are not in the window, they read 0xff and
 * writes to them are dropped; the window never wraps into the next dword.
 */
static void test_wide_access_past_the_window(void **state)
{
	struct vpci pci;

	(void)state;
	vpci_init(&pci);
	vpci_io_write(&pci, ADDR, 4, cfg_address(0, 0, 0, 0x0c));
	assert_int_equal(vpci_io_read(&pci, DATA + 3, 2), 0xff00);
	assert_int_equal(vpci_io_read(&pci, DATA + 1, 4), 0xff000000);
	/* 0x0d (latency) is written, 0x10 (the next dword) is not. */
	vpci_io_write(&pci, DATA + 1, 4, 0x55667740);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x0c, 4), 0x00004000);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x10, 4), 0x00000000);
	/* A word at 0xCFE is register bytes 2 and 3. */
	vpci_io_write(&pci, ADDR, 4, cfg_address(0, 0, 0, 0x00));
	assert_int_equal(vpci_io_read(&pci, DATA + 2, 2), 0x1237);
	/* With the enable bit clear nothing in the window answers. */
	vpci_io_write(&pci, ADDR, 4, 0x00000000);
	assert_int_equal(vpci_io_read(&pci, DATA, 2), 0xffff);
}

/* ---- devices in slots ---- */

static u32 written_calls;
static u8 written_offset, written_size;

static void note_written(struct vpci_func *f, u8 offset, u8 size)
{
	(void)f;
	written_calls++;
	written_offset = offset;
	written_size = size;
}

static const struct vpci_ids test_ids = {
    .vendor = 0x1af4,
    .device = 0x1042,
    .subsys_vendor = 0x1af4,
    .subsys = 0x0002,
    .class_code = 0x018000,
    .revision = 1,
    .intr_pin = 1,
    .command_mask =
	VPCI_CMD_MEMORY | VPCI_CMD_BUS_MASTER | VPCI_CMD_INTX_DISABLE,
};

static void test_device_header(void **state)
{
	static struct vpci pci;
	static struct vpci_func f;

	(void)state;
	vpci_init(&pci);
	vpci_func_init(&f, &test_ids, note_written, NULL);
	assert_true(vpci_attach(&pci, 3, &f));
	assert_false(vpci_attach(&pci, 3, &f)); /* taken */
	assert_false(vpci_attach(&pci, 0, &f)); /* the host bridge's */
	assert_false(vpci_attach(&pci, 32, &f));
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x00, 4), 0x10421af4);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x08, 4), 0x01800001);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x2c, 4), 0x00021af4);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x3d, 1), 1);
	/* Other functions of the slot are empty; the host bridge is still
	 * there. */
	assert_int_equal(read_cfg(&pci, 0, 3, 1, 0x00, 4), 0xffffffff);
	assert_int_equal(read_cfg(&pci, 1, 3, 0, 0x00, 4), 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 0, 0, 0x00, 4), 0x12378086);
	/* Command: only the mask's bits stick; IDs do not move. */
	written_calls = 0;
	write_cfg(&pci, 0, 3, 0, 0x04, 2, 0xffff);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x04, 2), 0x0406);
	assert_int_equal(written_calls, 1);
	assert_int_equal(written_offset, 0x04);
	assert_int_equal(written_size, 2);
	write_cfg(&pci, 0, 3, 0, 0x00, 4, 0);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x00, 4), 0x10421af4);
	/* Interrupt line is the guest's scratch byte. */
	write_cfg(&pci, 0, 3, 0, 0x3c, 1, 0x0b);
	assert_int_equal(read_cfg(&pci, 0, 3, 0, 0x3c, 2), 0x010b);
}

/* BAR sizing (PCI 3.0, 6.2.5.1): all ones written read back as the size
 * mask with the type bits; the base moves; decoding follows the command
 * register's memory bit. */
static void test_bar_sizing_and_moving(void **state)
{
	static struct vpci pci;
	static struct vpci_func f;

	(void)state;
	vpci_init(&pci);
	vpci_func_init(&f, &test_ids, note_written, NULL);
	assert_true(vpci_func_add_bar(&f, 4, 0x8000, true, 0xc0008000ull));
	assert_true(vpci_func_add_bar(&f, 1, 0x1000, false, 0xc0100000ull));
	assert_false(vpci_func_add_bar(&f, 5, 0x1000, true, 0)); /* no 6 */
	assert_false(vpci_func_add_bar(&f, 0, 0x1000, false, 0x800));
	assert_false(vpci_func_add_bar(&f, 0, 0x1800, false, 0));
	assert_false(vpci_func_add_bar(&f, 1, 0x1000, false, 0)); /* taken */
	assert_true(vpci_attach(&pci, 1, &f));
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x20, 4), 0xc0008004);
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x24, 4), 0);
	assert_int_equal(vpci_func_bar(&f, 4), VPCI_BAR_NONE); /* decode off */
	write_cfg(&pci, 0, 1, 0, 0x04, 2, VPCI_CMD_MEMORY);
	assert_int_equal(vpci_func_bar(&f, 4), 0xc0008000ull);
	assert_int_equal(vpci_func_bar(&f, 1), 0xc0100000ull);
	assert_int_equal(vpci_func_bar(&f, 0), VPCI_BAR_NONE); /* none */
	write_cfg(&pci, 0, 1, 0, 0x20, 4, 0xffffffff);
	write_cfg(&pci, 0, 1, 0, 0x24, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x20, 4), 0xffff8004);
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x24, 4), 0xffffffff);
	write_cfg(&pci, 0, 1, 0, 0x14, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x14, 4), 0xfffff000);
	/* BARs that are not there read zero whatever is written. */
	write_cfg(&pci, 0, 1, 0, 0x10, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 1, 0, 0x10, 4), 0);
	/* Moved above 4 GiB, in its alignment. */
	write_cfg(&pci, 0, 1, 0, 0x20, 4, 0x12345678);
	write_cfg(&pci, 0, 1, 0, 0x24, 4, 0x1);
	assert_int_equal(vpci_func_bar(&f, 4), 0x112340000ull);
	write_cfg(&pci, 0, 1, 0, 0x04, 2, 0);
	assert_int_equal(vpci_func_bar(&f, 4), VPCI_BAR_NONE);
}

static void test_capability_list(void **state)
{
	static struct vpci pci;
	static struct vpci_func f;
	u8 a, b;

	(void)state;
	vpci_init(&pci);
	vpci_func_init(&f, &test_ids, NULL, NULL);
	assert_true(vpci_attach(&pci, 2, &f));
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x06, 2) & 0x10, 0);
	a = vpci_func_add_cap(&f, 0x11, 12);
	b = vpci_func_add_cap(&f, 0x09, 17);
	assert_int_equal(a, 0x40);
	assert_int_equal(b, 0x4c);
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x06, 2) & 0x10, 0x10);
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x34, 1), 0x40);
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x40, 2), 0x4c11);
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x4c, 2), 0x0009);
	/* The next one starts dword aligned; a full space refuses. */
	assert_int_equal(vpci_func_add_cap(&f, 0x09, 16), 0x60);
	assert_int_equal(vpci_func_add_cap(&f, 0x09, 200), 0);
	/* Capability bytes are read-only until a mask says otherwise. */
	write_cfg(&pci, 0, 2, 0, 0x40, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x40, 2), 0x4c11);
	vpci_func_set_wmask(&f, 0x42, 0xc000, 2);
	write_cfg(&pci, 0, 2, 0, 0x40, 4, 0xffffffff);
	assert_int_equal(read_cfg(&pci, 0, 2, 0, 0x40, 4), 0xc0004c11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_host_bridge_identity),
	    cmocka_unit_test(test_device_header),
	    cmocka_unit_test(test_bar_sizing_and_moving),
	    cmocka_unit_test(test_capability_list),
	    cmocka_unit_test(test_absent_functions_read_all_ones),
	    cmocka_unit_test(test_address_register),
	    cmocka_unit_test(test_read_only_fields_ignore_writes),
	    cmocka_unit_test(test_data_window_offsets),
	    cmocka_unit_test(test_wide_access_past_the_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
