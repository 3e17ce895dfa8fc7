/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/io.c: IN/OUT and the string forms INS/OUTS with REP,
 * driven through the fake backend against a recording device on the VM's
 * real I/O bus (core/iobus.c), with guest RAM in a host buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "tests/unit/host_printk.h"
#include "core/handlers.h"
#include "arch/x86/cpu.h"

#define RAM_SIZE  (256 * 1024ull)
#define PORT	  0x3f0
#define EXIT_PORT 0x3f4 /* a write here ends the guest, like port 0xf4 */
#define MAX_LOG	  64

static struct fake_guest guest;

/* A device on PORT: logs what it sees, reads back 0x11, 0x22, ... */
static struct {
	u32 count; /* every access, logged or not */
	struct {
		bool write;
		u16 port;
		u8 size;
		u32 value;
	} log[MAX_LOG];
	u32 next_read;
	u32 stop_after; /* vm_stop() at that access (1-based), 0 = never */
} dev;

static void record(bool write, u16 port, u8 size, u32 value)
{
	if (dev.count < MAX_LOG)
		dev.log[dev.count] =
		    (typeof(dev.log[0])){write, port, size, value};
	dev.count++;
	if (dev.count == dev.stop_after)
		vm_stop(&guest.vm, "device stopped the guest");
}

static u32 dev_read(void *opaque, u16 port, u8 size)
{
	u32 v;

	(void)opaque;
	dev.next_read += 0x11;
	v = dev.next_read * 0x01010101u;
	record(false, port, size, v);
	return v;
}

static void dev_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)opaque;
	record(true, port, size, value);
}

static void exit_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)opaque;
	(void)port;
	(void)size;
	vm_exit(&guest.vm, value);
}

static int setup(void **state)
{
	const struct io_handler h = {.first = PORT,
				     .last = PORT + 3,
				     .read = dev_read,
				     .write = dev_write,
				     .name = "recorder"};
	const struct io_handler x = {
	    .first = EXIT_PORT, .last = EXIT_PORT, .write = exit_write};

	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	memset(&dev, 0, sizeof(dev));
	assert_true(iobus_register(&guest.vm.io, &h));
	assert_true(iobus_register(&guest.vm.io, &x));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

static struct exit_event io_exit(u16 port, u8 size, bool in)
{
	struct exit_event ev = fake_exit(EXIT_IO, in ? 1 : 2);

	ev.io.port = port;
	ev.io.size = size;
	ev.io.in = in;
	ev.io.address_size = 8;
	ev.io.segment = 3;
	return ev;
}

static struct exit_event string_exit(u16 port, u8 size, bool in, bool rep,
				     u8 address_size)
{
	struct exit_event ev = io_exit(port, size, in);

	ev.io.string = true;
	ev.io.rep = rep;
	ev.io.address_size = address_size;
	return ev;
}

static enum exit_action run_io(struct exit_event ev)
{
	return handle_io(&guest.vcpu, &ev);
}

static u64 *gpr(void)
{
	return guest.vcpu.regs.gpr;
}

/* 64-bit addressing with paging off: linear = guest-physical (EFER.LMA). */
static void paging_off_64(void)
{
	fake_set(&guest, VCPU_CR0, CR0_PE);
}

/* ---- IN / OUT */

static void test_in_merges_into_rax(void **state)
{
	(void)state;
	gpr()[GPR_RAX] = 0xffffffffffffffffull;
	assert_int_equal(run_io(io_exit(PORT, 1, true)), EXIT_ACTION_SKIP);
	assert_int_equal(gpr()[GPR_RAX], 0xffffffffffffff11ull);
	assert_int_equal(run_io(io_exit(PORT + 2, 2, true)), EXIT_ACTION_SKIP);
	assert_int_equal(gpr()[GPR_RAX], 0xffffffffffff2222ull);
	/* A 32-bit IN writes EAX: RAX bits 63:32 become 0 (SDM Vol. 1
	 * 3.4.1.1). */
	assert_int_equal(run_io(io_exit(PORT, 4, true)), EXIT_ACTION_SKIP);
	assert_int_equal(gpr()[GPR_RAX], 0x33333333ull);
	assert_int_equal(dev.count, 3);
	assert_int_equal(dev.log[1].port, PORT + 2);
	assert_int_equal(dev.log[1].size, 2);
	assert_false(guest.vcpu.entry.inject);
}

static void test_in_from_nobody_reads_ones(void **state)
{
	(void)state;
	gpr()[GPR_RAX] = 0x1234567812345678ull;
	assert_int_equal(run_io(io_exit(0x80, 1, true)), EXIT_ACTION_SKIP);
	assert_int_equal(gpr()[GPR_RAX], 0x12345678123456ffull);
	assert_int_equal(run_io(io_exit(0x80, 2, true)), EXIT_ACTION_SKIP);
	assert_int_equal(gpr()[GPR_RAX], 0x123456781234ffffull);
	assert_int_equal(run_io(io_exit(0x80, 4, true)), EXIT_ACTION_SKIP);
	assert_int_equal(gpr()[GPR_RAX], 0xffffffffull);
}

static void test_out_sends_the_low_bytes(void **state)
{
	(void)state;
	gpr()[GPR_RAX] = 0xaabbccdd11223344ull;
	assert_int_equal(run_io(io_exit(PORT, 1, false)), EXIT_ACTION_SKIP);
	assert_int_equal(run_io(io_exit(PORT + 1, 2, false)), EXIT_ACTION_SKIP);
	assert_int_equal(run_io(io_exit(PORT, 4, false)), EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 3);
	assert_true(dev.log[0].write);
	assert_int_equal(dev.log[0].value, 0x44);
	assert_int_equal(dev.log[1].value, 0x3344);
	assert_int_equal(dev.log[1].port, PORT + 1);
	assert_int_equal(dev.log[2].value, 0x11223344);
	assert_int_equal(gpr()[GPR_RAX], 0xaabbccdd11223344ull);
}

static void test_out_that_ends_the_guest(void **state)
{
	(void)state;
	gpr()[GPR_RAX] = 7;
	assert_int_equal(run_io(io_exit(EXIT_PORT, 1, false)), EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(guest.vm.exit_code, 7);
}

/* ---- string I/O, paging off */

static void test_rep_outsb(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	memcpy(guest.ram + 0x2000, "hello", 5);
	gpr()[GPR_RSI] = 0x2000;
	gpr()[GPR_RCX] = 5;
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 4)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 5);
	for (u32 i = 0; i < 5; i++) {
		assert_true(dev.log[i].write);
		assert_int_equal(dev.log[i].size, 1);
		assert_int_equal(dev.log[i].value, (u8) "hello"[i]);
	}
	assert_int_equal(gpr()[GPR_RSI], 0x2005);
	assert_int_equal(gpr()[GPR_RCX], 0);
}

static void test_rep_insw_goes_to_es(void **state)
{
	struct exit_event ev = string_exit(PORT, 2, true, true, 4);

	(void)state;
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_ES_BASE, 0x10000);
	fake_set(&guest, VCPU_DS_BASE, 0x20000);
	gpr()[GPR_RDI] = 0x100;
	gpr()[GPR_RSI] = 0x100;
	gpr()[GPR_RCX] = 3;
	/* INS writes ES:DI whatever segment the exit names (SDM Vol. 2A). */
	ev.io.segment = 5;
	assert_int_equal(run_io(ev), EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 3);
	assert_memory_equal(guest.ram + 0x10100, "\x11\x11\x22\x22\x33\x33\x00",
			    7);
	assert_int_equal(guest.ram[0x20100], 0);
	assert_int_equal(gpr()[GPR_RDI], 0x106);
	assert_int_equal(gpr()[GPR_RSI], 0x100);
	assert_int_equal(gpr()[GPR_RCX], 0);
}

static void test_outs_segment_override(void **state)
{
	static const struct {
		u8 segment;
		enum vcpu_field base;
	} segs[] = {
	    {0, VCPU_ES_BASE}, {1, VCPU_CS_BASE}, {2, VCPU_SS_BASE},
	    {3, VCPU_DS_BASE}, {4, VCPU_FS_BASE}, {5, VCPU_GS_BASE},
	};

	(void)state;
	fake_guest_flat32(&guest);
	for (u32 i = 0; i < ARRAY_SIZE(segs); i++)
		fake_set(&guest, segs[i].base, 0x1000 * (i + 1));
	for (u32 i = 0; i < ARRAY_SIZE(segs); i++)
		guest.ram[0x1000 * (i + 1) + 0x10] = (u8)(0xa0 + i);
	for (u32 i = 0; i < ARRAY_SIZE(segs); i++) {
		struct exit_event ev = string_exit(PORT, 1, false, false, 4);

		ev.io.segment = segs[i].segment;
		gpr()[GPR_RSI] = 0x10;
		gpr()[GPR_RCX] = 99;
		assert_int_equal(run_io(ev), EXIT_ACTION_SKIP);
		assert_int_equal(dev.log[i].value, 0xa0 + i);
		/* Without REP one element and RCX untouched. */
		assert_int_equal(gpr()[GPR_RCX], 99);
		assert_int_equal(gpr()[GPR_RSI], 0x11);
	}
	assert_int_equal(dev.count, ARRAY_SIZE(segs));
}

/* 64-bit mode: ES, CS, SS and DS have base 0; FS and GS keep theirs
 * (SDM Vol. 3A 3.4.4). */
static void test_64bit_mode_segment_bases(void **state)
{
	static const u8 segment[] = {0, 1, 2, 3, 4, 5};
	static const u8 expect[] = {0x10, 0x10, 0x10, 0x10, 0x44, 0x55};

	(void)state;
	paging_off_64();
	fake_set(&guest, VCPU_ES_BASE, 0x1000);
	fake_set(&guest, VCPU_CS_BASE, 0x1000);
	fake_set(&guest, VCPU_SS_BASE, 0x1000);
	fake_set(&guest, VCPU_DS_BASE, 0x1000);
	fake_set(&guest, VCPU_FS_BASE, 0x4000);
	fake_set(&guest, VCPU_GS_BASE, 0x5000);
	guest.ram[0x20] = 0x10;
	guest.ram[0x1020] = 0x11;
	guest.ram[0x4020] = 0x44;
	guest.ram[0x5020] = 0x55;
	for (u32 i = 0; i < ARRAY_SIZE(segment); i++) {
		struct exit_event ev = string_exit(PORT, 1, false, false, 8);

		ev.io.segment = segment[i];
		gpr()[GPR_RSI] = 0x20;
		assert_int_equal(run_io(ev), EXIT_ACTION_SKIP);
		assert_int_equal(dev.log[i].value, expect[i]);
	}
	/* INS writes ES:RDI: base 0 too. */
	gpr()[GPR_RDI] = 0x30;
	assert_int_equal(run_io(string_exit(PORT, 1, true, false, 8)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(guest.ram[0x30], 0x11);
	assert_int_equal(guest.ram[0x1030], 0);
}

static void test_direction_flag(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED | RFLAGS_DF);
	memcpy(guest.ram + 0x3000, "\x01\x00\x02\x00\x03\x00\x04\x00", 8);
	gpr()[GPR_RSI] = 0x3006;
	gpr()[GPR_RCX] = 4;
	assert_int_equal(run_io(string_exit(PORT, 2, false, true, 4)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 4);
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(dev.log[i].value, 4 - i);
	assert_int_equal(gpr()[GPR_RSI], 0x2ffe);
	assert_int_equal(gpr()[GPR_RCX], 0);

	/* REP INSD downwards. */
	gpr()[GPR_RDI] = 0x4008;
	gpr()[GPR_RCX] = 2;
	assert_int_equal(run_io(string_exit(PORT, 4, true, true, 4)),
			 EXIT_ACTION_SKIP);
	assert_memory_equal(guest.ram + 0x4004,
			    "\x22\x22\x22\x22\x11\x11\x11\x11", 8);
	assert_int_equal(gpr()[GPR_RDI], 0x4000);
}

static void test_rep_count_zero_does_nothing(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	gpr()[GPR_RSI] = 0x2000;
	gpr()[GPR_RCX] = 0xffffffff00000000ull; /* ECX = 0 */
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 4)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 0);
	assert_int_equal(gpr()[GPR_RSI], 0x2000);
	assert_int_equal(gpr()[GPR_RCX], 0xffffffff00000000ull);
}

/* 16-bit addressing: CX counts, SI wraps at 64 KiB, the upper bits stay. */
static void test_16bit_address_size(void **state)
{
	(void)state;
	fake_guest_real_mode(&guest);
	fake_set(&guest, VCPU_DS_BASE, 0x10000);
	guest.ram[0x1ffff] = 0xaa;
	guest.ram[0x10000] = 0xbb;
	guest.ram[0x10001] = 0xcc;
	gpr()[GPR_RSI] = 0x12345678aaaaffffull;
	gpr()[GPR_RCX] = 0x7777777700030003ull; /* CX = 3 */
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 2)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 3);
	assert_int_equal(dev.log[0].value, 0xaa);
	assert_int_equal(dev.log[1].value, 0xbb);
	assert_int_equal(dev.log[2].value, 0xcc);
	assert_int_equal(gpr()[GPR_RSI], 0x12345678aaaa0002ull);
	assert_int_equal(gpr()[GPR_RCX], 0x7777777700030000ull);
}

/* ---- hostile string I/O */

/* A huge count runs until the buffer leaves RAM, then stops the guest. */
static void test_huge_rep_count_stops_at_the_end_of_ram(void **state)
{
	(void)state;
	paging_off_64();
	memcpy(guest.ram + RAM_SIZE - 8, "abcdefgh", 8);
	gpr()[GPR_RSI] = RAM_SIZE - 8;
	gpr()[GPR_RCX] = ~0ull;
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 8)),
			 EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_non_null(strstr(guest.vm.stop_reason, "unmapped buffer"));
	assert_int_equal(dev.count, 8);
	assert_int_equal(dev.log[7].value, 'h');
	assert_int_equal(gpr()[GPR_RSI], RAM_SIZE);
	assert_int_equal(gpr()[GPR_RCX], ~0ull - 8);

	/* INS: RAM filled up to its end, nothing beyond (ASan). */
	fake_guest_free(&guest);
	setup(NULL);
	paging_off_64();
	gpr()[GPR_RDI] = RAM_SIZE - 8;
	gpr()[GPR_RCX] = ~0ull;
	assert_int_equal(run_io(string_exit(PORT, 1, true, true, 8)),
			 EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_int_equal(guest.ram[RAM_SIZE - 1], 0x88);
	assert_int_equal(gpr()[GPR_RDI], RAM_SIZE);
}

/*
 * A count the buffer allows but that would keep the hypervisor busy for
 * ages (2^64 - 1 iterations over a page mapped again and again, or just a
 * large RAM): the handler does a bounded part, leaves RIP on the
 * instruction (RESUME) with RCX and RSI where the CPU would have them,
 * and the guest executes the rest (SDM Vol. 2B REP: interruptible).
 */
static void test_huge_rep_count_is_done_in_bounded_parts(void **state)
{
	u64 done;

	(void)state;
	paging_off_64();
	gpr()[GPR_RSI] = 0x1000;
	gpr()[GPR_RCX] = RAM_SIZE; /* more than the bound, within RAM */
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 8)),
			 EXIT_ACTION_RESUME);
	done = RAM_SIZE - gpr()[GPR_RCX];
	assert_true(done > 0 && done < RAM_SIZE - 0x1000);
	assert_int_equal(dev.count, done);
	assert_int_equal(gpr()[GPR_RSI], 0x1000 + done);
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
	assert_false(guest.vcpu.entry.inject);
}

static void test_huge_rep_count_downwards(void **state)
{
	(void)state;
	paging_off_64();
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED | RFLAGS_DF);
	gpr()[GPR_RSI] = 3;
	gpr()[GPR_RCX] = ~0ull;
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 8)),
			 EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_int_equal(dev.count, 4); /* 3, 2, 1, 0, then 2^64-1 */
}

static void test_buffer_outside_ram(void **state)
{
	static const u64 bad[] = {RAM_SIZE, RAM_SIZE + 0x1000, 0xfee00000,
				  1ull << 52, ~0ull};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		fake_guest_free(&guest);
		setup(NULL);
		paging_off_64();
		gpr()[GPR_RSI] = bad[i];
		gpr()[GPR_RCX] = 1;
		assert_int_equal(run_io(string_exit(PORT, 4, false, true, 8)),
				 EXIT_ACTION_END);
		assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
		assert_int_equal(dev.count, 0);
	}
}

/* An element whose last bytes are past the end of RAM. */
static void test_element_straddles_the_end_of_ram(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	gpr()[GPR_RSI] = RAM_SIZE - 2;
	gpr()[GPR_RCX] = 1;
	assert_int_equal(run_io(string_exit(PORT, 4, false, true, 4)),
			 EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_int_equal(dev.count, 0);

	/* INS: stopped, nothing written past RAM (ASan would see it). */
	fake_guest_free(&guest);
	setup(NULL);
	fake_guest_flat32(&guest);
	gpr()[GPR_RDI] = RAM_SIZE - 2;
	gpr()[GPR_RCX] = 1;
	assert_int_equal(run_io(string_exit(PORT, 4, true, true, 4)),
			 EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
}

/* 32-bit code: ES base + EDI wraps at 4 GiB (no paging: linear = 32 bits). */
static void test_linear_address_wraps_outside_long_mode(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_ES_BASE, 0xfffff000);
	gpr()[GPR_RDI] = 0x1010; /* ES:EDI = 0x1_0000_0010 -> 0x10 */
	gpr()[GPR_RCX] = 1;
	assert_int_equal(run_io(string_exit(PORT, 1, true, true, 4)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(guest.ram[0x10], 0x11);
}

/* A device that stops the guest ends the REP loop there. */
static void test_stop_in_the_middle_of_rep(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	dev.stop_after = 3;
	gpr()[GPR_RSI] = 0x2000;
	gpr()[GPR_RCX] = 10;
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 4)),
			 EXIT_ACTION_END);
	assert_int_equal(dev.count, 3);
	assert_int_equal(gpr()[GPR_RCX], 7);
	assert_int_equal(gpr()[GPR_RSI], 0x2003);
}

/* ---- string I/O through the guest's page tables */

static void test_paging_translates_the_buffer(void **state)
{
	(void)state;
	fake_paging_init(&guest, 0x10000);
	fake_map(&guest, 0xffff800000400000ull, 0x30000);
	memcpy(guest.ram + 0x30ffe, "ab", 2);
	gpr()[GPR_RSI] = 0xffff800000400ffeull;
	gpr()[GPR_RCX] = 2;
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 8)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(dev.log[0].value, 'a');
	assert_int_equal(dev.log[1].value, 'b');
	/* The next page is not mapped: the guest is stopped there. */
	gpr()[GPR_RCX] = 2;
	assert_int_equal(run_io(string_exit(PORT, 1, false, true, 8)),
			 EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_int_equal(dev.count, 2);
}

/*
 * A word that straddles two pages mapped to guest-physical pages that are
 * not adjacent: its second byte comes from the second mapping, as the CPU
 * would read it (SDM Vol. 3A 4.1: each byte through its own translation).
 */
static void test_element_across_a_page_boundary(void **state)
{
	(void)state;
	fake_paging_init(&guest, 0x10000);
	fake_map(&guest, 0x400000, 0x30000);
	fake_map(&guest, 0x401000, 0x20000);
	guest.ram[0x30fff] = 0x34;
	guest.ram[0x20000] = 0x12;
	guest.ram[0x31000] = 0xee; /* guest-physically next: the wrong byte */
	gpr()[GPR_RSI] = 0x400fff;
	gpr()[GPR_RCX] = 1;
	assert_int_equal(run_io(string_exit(PORT, 2, false, true, 8)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(dev.count, 1);
	assert_int_equal(dev.log[0].value, 0x1234);

	/* INS: the two bytes land in the two pages. */
	gpr()[GPR_RDI] = 0x400fff;
	gpr()[GPR_RCX] = 1;
	assert_int_equal(run_io(string_exit(PORT, 2, true, true, 8)),
			 EXIT_ACTION_SKIP);
	assert_int_equal(guest.ram[0x30fff], 0x11);
	assert_int_equal(guest.ram[0x20000], 0x11);
	assert_int_equal(guest.ram[0x31000], 0xee);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_in_merges_into_rax),
	    T(test_in_from_nobody_reads_ones),
	    T(test_out_sends_the_low_bytes),
	    T(test_out_that_ends_the_guest),
	    T(test_rep_outsb),
	    T(test_rep_insw_goes_to_es),
	    T(test_outs_segment_override),
	    T(test_64bit_mode_segment_bases),
	    T(test_direction_flag),
	    T(test_rep_count_zero_does_nothing),
	    T(test_16bit_address_size),
	    T(test_huge_rep_count_stops_at_the_end_of_ram),
	    T(test_huge_rep_count_downwards),
	    T(test_huge_rep_count_is_done_in_bounded_parts),
	    T(test_buffer_outside_ram),
	    T(test_element_straddles_the_end_of_ram),
	    T(test_linear_address_wraps_outside_long_mode),
	    T(test_stop_in_the_middle_of_rep),
	    T(test_paging_translates_the_buffer),
	    T(test_element_across_a_page_boundary),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
