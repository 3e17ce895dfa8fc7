/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/iobus.c: which device model owns which I/O ports, and
 * what a guest sees on ports nobody owns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/iobus.h"
#include "core/lib/string.h"

/* A device that records its last access and reads back a fixed value. */
struct recorder {
	u32 reads, writes;
	u16 port;
	u8 size;
	u32 value;   /* last value written */
	u32 read_as; /* what reads return, before the bus masks it */
};

static u32 recorder_read(void *opaque, u16 port, u8 size)
{
	struct recorder *r = opaque;

	r->reads++;
	r->port = port;
	r->size = size;
	return r->read_as;
}

static void recorder_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct recorder *r = opaque;

	r->writes++;
	r->port = port;
	r->size = size;
	r->value = value;
}

static struct io_handler handler(u16 first, u16 last, struct recorder *r)
{
	return (struct io_handler){.first = first,
				   .last = last,
				   .read = recorder_read,
				   .write = recorder_write,
				   .opaque = r,
				   .name = "recorder"};
}

static void test_unowned_ports_read_all_ones(void **state)
{
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_int_equal(iobus_read(&bus, 0x2f0, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0x2f0, 2), 0xffff);
	assert_int_equal(iobus_read(&bus, 0x2f0, 4), 0xffffffff);
	assert_int_equal(iobus_read(&bus, 0, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0xffff, 4), 0xffffffff);
	iobus_write(&bus, 0x2f0, 4, 0x12345678);
	/* The write went nowhere: still all ones. */
	assert_int_equal(iobus_read(&bus, 0x2f0, 4), 0xffffffff);
	assert_int_equal(bus.unowned_accesses, 7);
}

static void test_dispatch_to_the_owner(void **state)
{
	struct recorder uart = {.read_as = 0x60}, pit = {.read_as = 0x12};
	struct io_handler h;
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	h = handler(0x3f8, 0x3ff, &uart);
	assert_true(iobus_register(&bus, &h));
	h = handler(0x40, 0x43, &pit);
	assert_true(iobus_register(&bus, &h));
	assert_int_equal(bus.count, 2);

	/* Both ends of a range and the middle reach the owner. */
	assert_int_equal(iobus_read(&bus, 0x3fd, 1), 0x60);
	assert_int_equal(uart.port, 0x3fd);
	assert_int_equal(uart.size, 1);
	assert_int_equal(iobus_read(&bus, 0x3f8, 1), 0x60);
	assert_int_equal(uart.port, 0x3f8);
	assert_int_equal(iobus_read(&bus, 0x3ff, 1), 0x60);
	assert_int_equal(uart.port, 0x3ff);
	assert_int_equal(uart.reads, 3);
	iobus_write(&bus, 0x43, 1, 0x34);
	assert_int_equal(pit.writes, 1);
	assert_int_equal(pit.port, 0x43);
	assert_int_equal(pit.value, 0x34);
	assert_int_equal(iobus_read(&bus, 0x40, 1), 0x12);
	assert_int_equal(pit.reads, 1);
	/* One past either end belongs to nobody. */
	assert_int_equal(iobus_read(&bus, 0x3f7, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0x400, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0x44, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0x3f, 1), 0xff);
	assert_int_equal(uart.reads, 3);
	assert_int_equal(pit.reads, 1);
	assert_int_equal(bus.unowned_accesses, 4);
}

/*
 * ISA ports are found through the table, the rest by the scan; a bus
 * emptied by count = 0 (as the tests' buses are) and filled again with
 * other ranges never reaches an old owner through a stale table entry.
 */
static void test_isa_table_and_a_bus_emptied(void **state)
{
	struct recorder a = {.read_as = 0x11}, b = {.read_as = 0x22},
			c = {.read_as = 0x33};
	struct io_handler h;
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	h = handler(0x3f8, 0x3ff, &a);
	assert_true(iobus_register(&bus, &h));
	h = handler(0x3fe, 0x401, &b); /* overlaps: refused, table untouched */
	assert_false(iobus_register(&bus, &h));
	h = handler(0x3c0, 0x3f7, &b);
	assert_true(iobus_register(&bus, &h));
	h = handler(0x400, 0x4ff, &c); /* past the table: the scan */
	assert_true(iobus_register(&bus, &h));
	assert_int_equal(iobus_read(&bus, 0x3ff, 1), 0x11);
	assert_int_equal(iobus_read(&bus, 0x3f7, 1), 0x22);
	assert_int_equal(iobus_read(&bus, 0x3c0, 1), 0x22);
	assert_int_equal(iobus_read(&bus, 0x400, 1), 0x33);
	assert_int_equal(iobus_read(&bus, 0x3bf, 1), 0xff);

	bus.count = 0;
	h = handler(0x3fc, 0x3ff, &c); /* index 0 again, another range */
	assert_true(iobus_register(&bus, &h));
	assert_int_equal(iobus_read(&bus, 0x3f8, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0x3c0, 1), 0xff);
	assert_int_equal(iobus_read(&bus, 0x3fc, 1), 0x33);
	assert_int_equal(a.reads, 1);
	assert_int_equal(b.reads, 2);
}

/* What an access tells the lean path (struct iobus.last_quiet). */
static void test_last_access_quiet(void **state)
{
	struct recorder quiet = {.read_as = 1}, loud = {.read_as = 2};
	struct io_handler h;
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	h = handler(0x3f8, 0x3ff, &quiet);
	h.read_quiet = true;
	assert_true(iobus_register(&bus, &h));
	h = handler(0x40, 0x43, &loud);
	assert_true(iobus_register(&bus, &h));
	iobus_read(&bus, 0x3f8, 1);
	assert_true(bus.last_quiet);
	iobus_write(&bus, 0x3f8, 1, 0);
	assert_false(bus.last_quiet); /* a write is never quiet */
	iobus_read(&bus, 0x2f0, 1);
	assert_true(bus.last_quiet); /* nobody's port */
	iobus_read(&bus, 0x40, 1);
	assert_false(bus.last_quiet);
	iobus_write(&bus, 0x2f0, 1, 0);
	assert_true(bus.last_quiet);
}

static void test_values_are_masked_to_the_access_size(void **state)
{
	struct recorder dev = {.read_as = 0xa1b2c3d4};
	struct io_handler h = handler(0xcf8, 0xcff, &dev);
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_true(iobus_register(&bus, &h));
	/* A device returning more bits than asked for is cut to the size. */
	assert_int_equal(iobus_read(&bus, 0xcfc, 1), 0xd4);
	assert_int_equal(iobus_read(&bus, 0xcfc, 2), 0xc3d4);
	assert_int_equal(iobus_read(&bus, 0xcfc, 4), 0xa1b2c3d4);
	assert_int_equal(dev.size, 4);
	/* A device sees only the bits the guest wrote. */
	iobus_write(&bus, 0xcf8, 1, 0x80001234);
	assert_int_equal(dev.value, 0x34);
	assert_int_equal(dev.size, 1);
	iobus_write(&bus, 0xcf8, 2, 0x80001234);
	assert_int_equal(dev.value, 0x1234);
	assert_int_equal(dev.size, 2);
	iobus_write(&bus, 0xcf8, 4, 0x80001234);
	assert_int_equal(dev.value, 0x80001234);
	assert_int_equal(dev.size, 4);
	assert_int_equal(bus.unowned_accesses, 0);
}

static void test_overlaps_are_refused(void **state)
{
	struct recorder a = {0}, b = {0};
	struct io_handler h;
	struct iobus bus;
	static const u16 clashes[][2] = {
	    {0x3f8, 0x3ff}, /* the same range */
	    {0x3f0, 0x3f8}, /* ends on the first port */
	    {0x3ff, 0x400}, /* starts on the last port */
	    {0x3fa, 0x3fb}, /* inside */
	    {0x300, 0x4ff}, /* around */
	    {0x3fc, 0x3fc}, /* one port inside */
	};

	(void)state;
	memset(&bus, 0, sizeof(bus));
	h = handler(0x3f8, 0x3ff, &a);
	assert_true(iobus_register(&bus, &h));
	for (size_t i = 0; i < sizeof(clashes) / sizeof(clashes[0]); i++) {
		h = handler(clashes[i][0], clashes[i][1], &b);
		if (iobus_register(&bus, &h))
			fail_msg(
			    "[0x%x, 0x%x] was accepted over [0x3f8, 0x3ff]",
			    clashes[i][0], clashes[i][1]);
	}
	assert_int_equal(bus.count, 1);
	/* The first owner keeps its ports. */
	iobus_write(&bus, 0x3fc, 1, 1);
	assert_int_equal(a.writes, 1);
	assert_int_equal(b.writes, 0);
	/* Neighbours on either side are fine. */
	h = handler(0x3f0, 0x3f7, &b);
	assert_true(iobus_register(&bus, &h));
	h = handler(0x400, 0x400, &b);
	assert_true(iobus_register(&bus, &h));
	assert_int_equal(bus.count, 3);
	/* A range given backwards is refused. */
	h = handler(0x2ff, 0x2f0, &b);
	assert_false(iobus_register(&bus, &h));
	assert_int_equal(bus.count, 3);
}

static void test_whole_port_space_and_single_ports(void **state)
{
	struct recorder all = {.read_as = 0x42}, other = {0};
	struct io_handler h;
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	h = handler(0, 0xffff, &all);
	assert_true(iobus_register(&bus, &h));
	assert_int_equal(iobus_read(&bus, 0, 1), 0x42);
	assert_int_equal(iobus_read(&bus, 0xffff, 1), 0x42);
	h = handler(0xffff, 0xffff, &other);
	assert_false(iobus_register(&bus, &h));
	h = handler(0, 0, &other);
	assert_false(iobus_register(&bus, &h));
}

static void test_table_full(void **state)
{
	struct recorder r = {0};
	struct io_handler h;
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	for (u16 i = 0; i < IOBUS_MAX_HANDLERS; i++) {
		h = handler((u16)(0x100 + 2 * i), (u16)(0x101 + 2 * i), &r);
		assert_true(iobus_register(&bus, &h));
	}
	h = handler(0x800, 0x800, &r);
	assert_false(iobus_register(&bus, &h));
	assert_int_equal(bus.count, IOBUS_MAX_HANDLERS);
	/* The last one registered still works; the refused one does not. */
	iobus_write(&bus, 0x100 + 2 * (IOBUS_MAX_HANDLERS - 1), 1, 9);
	assert_int_equal(r.writes, 1);
	assert_int_equal(iobus_read(&bus, 0x800, 1), 0xff);
}

static void test_missing_callbacks_act_unowned(void **state)
{
	struct recorder r = {.read_as = 0};
	struct io_handler h;
	struct iobus bus;

	(void)state;
	memset(&bus, 0, sizeof(bus));
	/* A write-only device (e.g. a debug-exit port) and a read-only one. */
	h = handler(0xf4, 0xf7, &r);
	h.read = NULL;
	assert_true(iobus_register(&bus, &h));
	h = handler(0x61, 0x61, &r);
	h.write = NULL;
	assert_true(iobus_register(&bus, &h));
	assert_int_equal(iobus_read(&bus, 0xf4, 4), 0xffffffff);
	assert_int_equal(iobus_read(&bus, 0xf4, 2), 0xffff);
	iobus_write(&bus, 0xf4, 4, 7);
	assert_int_equal(r.writes, 1);
	assert_int_equal(r.value, 7);
	assert_int_equal(iobus_read(&bus, 0x61, 1), 0);
	assert_int_equal(r.reads, 1);
	iobus_write(&bus, 0x61, 1, 0xff);
	assert_int_equal(r.writes, 1);
	assert_int_equal(bus.unowned_accesses, 3);
}

/* A register file of 8-bit ports that logs every byte access in order. */
struct byte_log {
	u16 port[8];
	u8 size[8];
	u32 value[8];
	int count;
	u8 regs[0x10000];
};

static u32 log_read(void *opaque, u16 port, u8 size)
{
	struct byte_log *l = opaque;

	assert_true(l->count < 8);
	l->port[l->count] = port;
	l->size[l->count++] = size;
	/* Junk above the byte: the helper must use only the low 8 bits. */
	return 0xabcdef00u | l->regs[port];
}

static void log_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct byte_log *l = opaque;

	assert_true(l->count < 8);
	l->port[l->count] = port;
	l->size[l->count] = size;
	l->value[l->count++] = value;
	l->regs[port] = (u8)value;
}

/* Each access is `size` byte accesses at ascending ports, low byte first. */
static void test_bytewise_splits_low_byte_first(void **state)
{
	static const u16 ports[] = {0x40, 0x41, 0x42, 0x40, 0x41, 0x42, 0x43};
	static struct byte_log l;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.regs[0x40] = 0x11;
	l.regs[0x41] = 0x22;
	l.regs[0x42] = 0x33;
	l.regs[0x43] = 0x44;
	assert_int_equal(iobus_read_bytewise(log_read, &l, 0x40, 1), 0x11);
	assert_int_equal(l.count, 1);
	assert_int_equal(iobus_read_bytewise(log_read, &l, 0x41, 2), 0x3322);
	assert_int_equal(iobus_read_bytewise(log_read, &l, 0x40, 4),
			 0x44332211);
	assert_int_equal(l.count, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(l.port[i], ports[i]);
		assert_int_equal(l.size[i], 1);
	}

	l.count = 0;
	iobus_write_bytewise(log_write, &l, 0x70, 2, 0x8f0a);
	assert_int_equal(l.count, 2);
	assert_int_equal(l.port[0], 0x70);
	assert_int_equal(l.value[0], 0x0a);
	assert_int_equal(l.port[1], 0x71);
	assert_int_equal(l.value[1], 0x8f);
	l.count = 0;
	iobus_write_bytewise(log_write, &l, 0x20, 4, 0xa1b2c3d4);
	assert_int_equal(l.count, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(l.port[i], 0x20 + i);
		assert_int_equal(l.size[i], 1);
		assert_int_equal(l.value[i], (0xa1b2c3d4u >> (8 * i)) & 0xff);
	}
}

/* The port wraps from 0xffff to 0; sizes above 4 stop at 4 bytes. */
static void test_bytewise_wraps_and_bounds(void **state)
{
	static struct byte_log l;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.regs[0xffff] = 0x5a;
	l.regs[0x0000] = 0xa5;
	assert_int_equal(iobus_read_bytewise(log_read, &l, 0xffff, 2), 0xa55a);
	assert_int_equal(l.port[1], 0x0000);
	l.count = 0;
	iobus_write_bytewise(log_write, &l, 0x100, 8, 0xffffffff);
	assert_int_equal(l.count, 4);
	l.count = 0;
	assert_int_equal(iobus_read_bytewise(log_read, &l, 0x100, 0), 0);
	assert_int_equal(l.count, 0);
}

/* Through the bus: a device using the helper, with bus masking on top. */
static u32 bytewise_read(void *opaque, u16 port, u8 size)
{
	return iobus_read_bytewise(log_read, opaque, port, size);
}

static void bytewise_write(void *opaque, u16 port, u8 size, u32 value)
{
	iobus_write_bytewise(log_write, opaque, port, size, value);
}

static void test_bytewise_device_on_the_bus(void **state)
{
	static struct byte_log l;
	struct io_handler h = {.first = 0x20,
			       .last = 0x21,
			       .read = bytewise_read,
			       .write = bytewise_write,
			       .opaque = &l,
			       .name = "bytes"};
	struct iobus bus;

	(void)state;
	memset(&l, 0, sizeof(l));
	memset(&bus, 0, sizeof(bus));
	assert_true(iobus_register(&bus, &h));
	iobus_write(&bus, 0x20, 2, 0x12345678);
	assert_int_equal(l.count, 2); /* the bus cut the value to 16 bits */
	assert_int_equal(l.value[0], 0x78);
	assert_int_equal(l.value[1], 0x56);
	assert_int_equal(iobus_read(&bus, 0x20, 2), 0x5678);
	assert_int_equal(iobus_read(&bus, 0x21, 1), 0x56);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unowned_ports_read_all_ones),
	    cmocka_unit_test(test_dispatch_to_the_owner),
	    cmocka_unit_test(test_isa_table_and_a_bus_emptied),
	    cmocka_unit_test(test_last_access_quiet),
	    cmocka_unit_test(test_values_are_masked_to_the_access_size),
	    cmocka_unit_test(test_overlaps_are_refused),
	    cmocka_unit_test(test_whole_port_space_and_single_ports),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_missing_callbacks_act_unowned),
	    cmocka_unit_test(test_bytewise_splits_low_byte_first),
	    cmocka_unit_test(test_bytewise_wraps_and_bounds),
	    cmocka_unit_test(test_bytewise_device_on_the_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
