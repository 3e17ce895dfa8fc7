/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/mmio.c: MMIO regions and the emulation of the one
 * instruction behind a guest-physical fault on them, driven through the
 * fake backend: the instruction bytes sit in guest RAM at the guest's RIP,
 * core fetches and decodes them (core/decode.c) and performs the access
 * on a recording device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "core/handlers.h"
#include "core/mmio.h"
#include "arch/x86/cpu.h"

#define RAM_SIZE    (128 * 1024ull)
#define REGION_BASE 0xfee00000ull
#define REGION_SIZE 0x1000ull
#define CODE	    0x8000ull /* where the instruction is put */

static struct fake_guest guest;
static const struct mmio_region *region;

static struct {
	u32 reads, writes;
	u64 offset;
	u8 size;
	u64 value;   /* last written */
	u64 read_as; /* what reads return */
	int refuse;  /* -1: refuse every access */
	bool stop_on_write;
} dev;

static int dev_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		    u64 *value)
{
	assert_ptr_equal(opaque, &dev);
	assert_ptr_equal(vcpu, &guest.vcpu);
	dev.reads++;
	dev.offset = offset;
	dev.size = size;
	*value = dev.read_as;
	return dev.refuse;
}

static int dev_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		     u64 value)
{
	assert_ptr_equal(opaque, &dev);
	assert_ptr_equal(vcpu, &guest.vcpu);
	dev.writes++;
	dev.offset = offset;
	dev.size = size;
	dev.value = value;
	if (dev.stop_on_write)
		vm_stop(&guest.vm, "device stopped the guest");
	return dev.refuse;
}

static int setup(void **state)
{
	const struct mmio_region r = {.base = REGION_BASE,
				      .size = REGION_SIZE,
				      .read = dev_read,
				      .write = dev_write,
				      .opaque = &dev,
				      .name = "dev"};

	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	memset(&dev, 0, sizeof(dev));
	assert_true(mmio_register(&guest.vm.mmio, &r));
	region = mmio_find(&guest.vm.mmio, REGION_BASE);
	assert_non_null(region);
	/* 64-bit code, paging off: RIP is the guest-physical address. */
	fake_set(&guest, VCPU_CR0, CR0_PE);
	fake_set(&guest, VCPU_RIP, CODE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

/* A new guest in the middle of a test. */
static void fresh(void)
{
	fake_guest_free(&guest);
	setup(NULL);
}

static u64 *gpr(void)
{
	return guest.vcpu.regs.gpr;
}

/* Put `len` instruction bytes at guest-physical `at`. */
static void code_at(u64 at, const char *bytes, u32 len)
{
	memcpy(guest.ram + at, bytes, len);
}

/* The fault: `offset` into the region; insn_len 0 (the backend can't tell). */
static enum exit_action fault(u64 offset, bool write, u32 *insn_len)
{
	struct exit_event ev = fake_exit(EXIT_GPA_FAULT, 0);
	enum exit_action action;

	ev.gpa_fault.gpa = REGION_BASE + offset;
	ev.gpa_fault.write = write;
	ev.gpa_fault.read = !write;
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	action = mmio_emulate(&guest.vcpu, &ev, region);
	*insn_len = ev.insn_len;
	return action;
}

/* An access that completes: the length the loop will skip. */
static u32 emulate_ok(u64 offset, bool write)
{
	u32 len;

	assert_int_equal(fault(offset, write, &len), EXIT_ACTION_SKIP);
	assert_false(guest.vcpu.entry.inject);
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
	/* RIP moves only through the entry request, never here. */
	assert_int_equal(fake_get(&guest, VCPU_RIP), CODE);
	return len;
}

static void assert_stopped_without_access(enum exit_action action,
					  const char *why)
{
	assert_int_equal(action, EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_non_null(strstr(guest.vm.stop_reason, why));
	assert_int_equal(dev.reads + dev.writes, 0);
}

/* ---- the region bus */

static void test_register_and_find(void **state)
{
	struct mmio_bus bus;
	struct mmio_region r = {.base = 0x1000, .size = 0x1000, .name = "a"};

	(void)state;
	memset(&bus, 0, sizeof(bus));
	assert_true(mmio_register(&bus, &r));
	assert_null(mmio_find(&bus, 0xfff));
	assert_ptr_equal(mmio_find(&bus, 0x1000), &bus.regions[0]);
	assert_ptr_equal(mmio_find(&bus, 0x1fff), &bus.regions[0]);
	assert_null(mmio_find(&bus, 0x2000));
	/* Overlaps, an empty region and one that wraps 2^64 are refused. */
	r.base = 0x1800;
	assert_false(mmio_register(&bus, &r));
	r.base = 0x800;
	assert_false(mmio_register(&bus, &r));
	r.base = 0x3000;
	r.size = 0;
	assert_false(mmio_register(&bus, &r));
	r.base = ~0ull - 0xfff;
	r.size = 0x2000;
	assert_false(mmio_register(&bus, &r));
	/* Adjacent is fine; the bus holds MMIO_MAX_REGIONS. */
	r.size = 0x1000;
	for (u32 i = 1; i < MMIO_MAX_REGIONS; i++) {
		r.base = 0x1000 * (i + 1);
		assert_true(mmio_register(&bus, &r));
	}
	r.base = 0x100000;
	assert_false(mmio_register(&bus, &r));
	assert_int_equal(bus.count, MMIO_MAX_REGIONS);
}

/* A device that never got its region (it overlapped another) gives up
 * nothing when it moves on: removal goes by owner, never by address. */
static void test_remove_by_owner(void **state)
{
	int apic, disk, other;
	struct mmio_bus bus;
	struct mmio_region r = {.base = 0xfee00000, .size = 0x1000};

	(void)state;
	memset(&bus, 0, sizeof(bus));
	r.opaque = &apic;
	assert_true(mmio_register(&bus, &r));
	r.opaque = &disk;
	assert_false(mmio_register(&bus, &r)); /* on top of the APIC */
	assert_int_equal(mmio_remove(&bus, &disk), 0);
	assert_ptr_equal(mmio_find(&bus, 0xfee00000)->opaque, &apic);
	r.base = 0xc0000000;
	assert_true(mmio_register(&bus, &r));
	r.base = 0xd0000000;
	r.opaque = &other;
	assert_true(mmio_register(&bus, &r));
	assert_int_equal(mmio_remove(&bus, &disk), 1);
	assert_null(mmio_find(&bus, 0xc0000000));
	assert_ptr_equal(mmio_find(&bus, 0xfee00000)->opaque, &apic);
	assert_ptr_equal(mmio_find(&bus, 0xd0000000)->opaque, &other);
	assert_int_equal(bus.count, 2);
	assert_int_equal(mmio_remove(&bus, &disk), 0);
}

/* ---- loads and stores */

static void test_mov_load(void **state)
{
	(void)state;
	code_at(CODE, "\x8b\x03", 2); /* mov eax, [rbx] */
	gpr()[GPR_RAX] = 0xffffffffffffffffull;
	dev.read_as = 0x12345678;
	assert_int_equal(emulate_ok(0x30, false), 2);
	assert_int_equal(dev.reads, 1);
	assert_int_equal(dev.offset, 0x30);
	assert_int_equal(dev.size, 4);
	assert_int_equal(gpr()[GPR_RAX], 0x12345678); /* zero-extended */

	code_at(CODE, "\x48\x8b\x0b", 3); /* mov rcx, [rbx] */
	dev.read_as = 0x8877665544332211ull;
	assert_int_equal(emulate_ok(0x38, false), 3);
	assert_int_equal(dev.size, 8);
	assert_int_equal(gpr()[GPR_RCX], 0x8877665544332211ull);
}

static void test_mov_store(void **state)
{
	(void)state;
	code_at(CODE, "\x89\x0b", 2); /* mov [rbx], ecx */
	gpr()[GPR_RCX] = 0xaaaaaaaa0000fee0ull;
	assert_int_equal(emulate_ok(0x300, true), 2);
	assert_int_equal(dev.writes, 1);
	assert_int_equal(dev.reads, 0);
	assert_int_equal(dev.offset, 0x300);
	assert_int_equal(dev.size, 4);
	assert_int_equal(dev.value, 0x0000fee0);

	code_at(CODE, "\xc7\x00\x78\x56\x34\x12", 6); /* mov dword [rax], imm */
	assert_int_equal(emulate_ok(0xb0, true), 6);
	assert_int_equal(dev.value, 0x12345678);
	assert_int_equal(gpr()[GPR_RCX], 0xaaaaaaaa0000fee0ull);
}

static void test_narrow_and_widening_loads(void **state)
{
	(void)state;
	code_at(CODE, "\x8a\x23", 2); /* mov ah, [rbx] */
	gpr()[GPR_RAX] = 0x1111111111111111ull;
	dev.read_as = 0xfe;
	assert_int_equal(emulate_ok(0x20, false), 2);
	assert_int_equal(dev.size, 1);
	assert_int_equal(gpr()[GPR_RAX], 0x111111111111fe11ull);

	code_at(CODE, "\x0f\xb6\x03", 3); /* movzx eax, byte [rbx] */
	assert_int_equal(emulate_ok(0x20, false), 3);
	assert_int_equal(gpr()[GPR_RAX], 0xfe);

	code_at(CODE, "\x48\x63\x13", 3); /* movsxd rdx, dword [rbx] */
	dev.read_as = 0x80000000;
	assert_int_equal(emulate_ok(0x20, false), 3);
	assert_int_equal(dev.size, 4);
	assert_int_equal(gpr()[GPR_RDX], 0xffffffff80000000ull);
}

/* XCHG: the register's old value is stored, the device's old one loaded. */
static void test_xchg(void **state)
{
	(void)state;
	code_at(CODE, "\x87\x03", 2); /* xchg [rbx], eax */
	gpr()[GPR_RAX] = 0x5555;
	dev.read_as = 0x7777;
	assert_int_equal(emulate_ok(0x40, true), 2);
	assert_int_equal(dev.reads, 1);
	assert_int_equal(dev.writes, 1);
	assert_int_equal(dev.value, 0x5555);
	assert_int_equal(gpr()[GPR_RAX], 0x7777);
}

/* 16-bit code: CS base + IP, 16-bit operands. */
static void test_real_mode(void **state)
{
	(void)state;
	fake_guest_real_mode(&guest);
	fake_set(&guest, VCPU_CS_BASE, 0x7000);
	fake_set(&guest, VCPU_RIP, 0x1000);
	code_at(0x8000, "\x8b\x07", 2); /* mov ax, [bx] */
	gpr()[GPR_RAX] = 0x123456789abcdef0ull;
	dev.read_as = 0xbeef;
	assert_int_equal(fault(0x10, false, &(u32){0}), EXIT_ACTION_SKIP);
	assert_int_equal(dev.size, 2);
	assert_int_equal(gpr()[GPR_RAX], 0x123456789abcbeefull);
}

/* 32-bit code: CS base + EIP wraps at 4 GiB (SDM Vol. 3A 3.3.6). */
static void test_32bit_code_address_wraps(void **state)
{
	u32 len;

	(void)state;
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_CS_BASE, 0xfffff000);
	fake_set(&guest, VCPU_RIP, 0x9000); /* linear 0x1_0000_8000 */
	code_at(0x8000, "\x89\x0b", 2);	    /* mov [ebx], ecx */
	assert_int_equal(fault(0x4, true, &len), EXIT_ACTION_SKIP);
	assert_int_equal(len, 2);
	assert_int_equal(dev.size, 4);
}

/* With paging: an instruction that crosses into a page mapped elsewhere. */
static void test_instruction_across_pages(void **state)
{
	(void)state;
	fake_paging_init(&guest, 0x10000);
	fake_map(&guest, 0xffffffff80000000ull, 0x4000);
	fake_map(&guest, 0xffffffff80001000ull, 0x2000);
	fake_set(&guest, VCPU_RIP, 0xffffffff80000ffeull);
	/* mov dword [rax], 0x12345678: C7 00 | 78 56 34 12 */
	code_at(0x4ffe, "\xc7\x00", 2);
	code_at(0x2000, "\x78\x56\x34\x12", 4);
	code_at(0x5000, "\xee\xee\xee\xee", 4); /* physically next: wrong */
	assert_int_equal(fault(0x8, true, &(u32){0}), EXIT_ACTION_SKIP);
	assert_int_equal(dev.value, 0x12345678);
}

/* ---- refusals and hostile accesses */

static void test_unsupported_instruction_stops_the_guest(void **state)
{
	u32 len;

	(void)state;
	code_at(CODE, "\x01\x03", 2); /* add [rbx], eax */
	assert_stopped_without_access(fault(0x10, true, &len), "dev access");
	/* The message names the opcode (docs/decode.md). */
	assert_non_null(strstr(guest.vm.stop_reason, "instruction 01"));
}

static void test_access_crossing_the_region_end(void **state)
{
	u32 len;

	(void)state;
	code_at(CODE, "\x48\x8b\x03", 3); /* mov rax, [rbx]: 8 bytes */
	assert_stopped_without_access(fault(REGION_SIZE - 4, false, &len),
				      "crosses its end");
	fresh();
	code_at(CODE, "\x89\x03", 2); /* mov [rbx], eax: 4 bytes */
	assert_stopped_without_access(fault(REGION_SIZE - 1, true, &len),
				      "crosses its end");
	/* The last 4 bytes exactly: fine. */
	fresh();
	code_at(CODE, "\x89\x03", 2);
	assert_int_equal(emulate_ok(REGION_SIZE - 4, true), 2);
}

static void test_rip_outside_ram(void **state)
{
	static const u64 rips[] = {RAM_SIZE, RAM_SIZE + 0x5000, 0xfee00000,
				   ~0ull - 3};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(rips); i++) {
		u32 len;

		fresh();
		fake_set(&guest, VCPU_RIP, rips[i]);
		assert_stopped_without_access(fault(0, false, &len),
					      "truncated: 0 bytes");
	}
}

/* The instruction runs off the end of RAM: decoding sees the bytes there. */
static void test_instruction_truncated_at_the_end_of_ram(void **state)
{
	u32 len;

	(void)state;
	fake_set(&guest, VCPU_RIP, RAM_SIZE - 2);
	code_at(RAM_SIZE - 2, "\xc7\x00", 2); /* the immediate is missing */
	assert_stopped_without_access(fault(0, true, &len),
				      "2 bytes available");
}

static void test_device_refusal_is_a_gp(void **state)
{
	u32 len = 99;

	(void)state;
	dev.refuse = -1;
	code_at(CODE, "\x8b\x03", 2);
	gpr()[GPR_RAX] = 0x1234;
	assert_int_equal(fault(0x10, false, &len), EXIT_ACTION_RESUME);
	assert_true(guest.vcpu.entry.inject);
	assert_int_equal(guest.vcpu.entry.event.type, VCPU_EVENT_EXCEPTION);
	assert_int_equal(guest.vcpu.entry.event.vector, X86_VECTOR_GP);
	assert_true(guest.vcpu.entry.event.has_error_code);
	assert_int_equal(guest.vcpu.entry.event.error_code, 0);
	assert_int_equal(gpr()[GPR_RAX], 0x1234); /* the load did not happen */
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);

	/* A refused write: same. */
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	code_at(CODE, "\x89\x03", 2);
	assert_int_equal(fault(0x10, true, &len), EXIT_ACTION_RESUME);
	assert_true(guest.vcpu.entry.inject);
	assert_int_equal(guest.vcpu.entry.event.vector, X86_VECTOR_GP);
}

static void test_device_that_stops_the_guest(void **state)
{
	u32 len;

	(void)state;
	dev.stop_on_write = true;
	code_at(CODE, "\x89\x03", 2);
	assert_int_equal(fault(0x10, true, &len), EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_int_equal(dev.writes, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_and_find),
	    cmocka_unit_test(test_remove_by_owner),
	    T(test_mov_load),
	    T(test_mov_store),
	    T(test_narrow_and_widening_loads),
	    T(test_xchg),
	    T(test_real_mode),
	    T(test_32bit_code_address_wraps),
	    T(test_instruction_across_pages),
	    T(test_unsupported_instruction_stops_the_guest),
	    T(test_access_crossing_the_region_end),
	    T(test_rip_outside_ram),
	    T(test_instruction_truncated_at_the_end_of_ram),
	    T(test_device_refusal_is_a_gp),
	    T(test_device_that_stops_the_guest),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
