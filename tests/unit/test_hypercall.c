/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/hypercall.c: the para-virtual ABI of
 * docs/hypercall.md, driven through the fake backend with guest RAM in a
 * host buffer and the guest's UART output caught by a line sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "core/handlers.h"
#include "core/hypercall.h"
#include "core/kvmpv.h"
#include "core/platform.h"
#include "tests/unit/fake_pveoi.h"
#include "arch/x86/tsc.h"

#define RAM_SIZE (64 * 1024ull)

static struct fake_guest guest;

/* Lines the guest's UART sent out. */
static struct {
	u32 count;
	char last[VUART_LINE_MAX + 1];
	bool last_complete;
} sink;

static void line_out(void *opaque, const char *line, u32 len, bool complete)
{
	(void)opaque;
	sink.count++;
	memcpy(sink.last, line, len);
	sink.last[len] = '\0';
	sink.last_complete = complete;
}

static int setup(void **state)
{
	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	vuart_init(&guest.vm.uart, line_out, NULL);
	memset(&sink, 0, sizeof(sink));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

static u64 *gpr(void)
{
	return guest.vcpu.regs.gpr;
}

/* Make the call; every register but RAX must come back as it was. */
static enum exit_action call(u64 nr, u64 rbx, u64 rcx)
{
	struct exit_event ev = fake_exit(EXIT_HYPERCALL, 3);
	u64 before[GPR_COUNT];
	enum exit_action action;

	for (u32 r = 0; r < GPR_COUNT; r++)
		gpr()[r] = 0x0101010101010101ull * r;
	gpr()[GPR_RAX] = nr;
	gpr()[GPR_RBX] = rbx;
	gpr()[GPR_RCX] = rcx;
	memcpy(before, gpr(), sizeof(before));
	action = handle_hypercall(&guest.vcpu, &ev);
	for (u32 r = 1; r < GPR_COUNT; r++)
		assert_int_equal(gpr()[r], before[r]);
	assert_false(guest.vcpu.entry.inject);
	return action;
}

/* A call that completes: its result. */
static i64 call_ok(u64 nr, u64 rbx, u64 rcx)
{
	assert_int_equal(call(nr, rbx, rcx), EXIT_ACTION_SKIP);
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
	return (i64)gpr()[GPR_RAX];
}

static void test_version_and_cpu_id(void **state)
{
	(void)state;
	assert_int_equal(call_ok(HC_VERSION, 0, 0), HC_ABI_VERSION);
	assert_int_equal(call_ok(HC_CPU_ID, 0, 0), 0);
	guest.vcpu.index = 5;
	assert_int_equal(call_ok(HC_CPU_ID, 0, 0), 5);
}

static void test_unknown_calls(void **state)
{
	static const u64 nr[] = {5,	     6,		 0xff,	     0x40000000,
				 0xffffffff, 1ull << 32, 1ull << 63, ~0ull};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(nr); i++)
		assert_int_equal(call_ok(nr[i], 0, 0), HC_ENOSYS);
}

static void test_console_write(void **state)
{
	(void)state;
	memcpy(guest.ram + 0x1000, "hello\nworld", 11);
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0x1000, 11), 11);
	assert_int_equal(sink.count, 1);
	assert_string_equal(sink.last, "hello");
	assert_true(sink.last_complete);
	/* "world" waits in the line buffer; a newline completes it. */
	guest.ram[0x2000] = '\n';
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0x2000, 1), 1);
	assert_int_equal(sink.count, 2);
	assert_string_equal(sink.last, "world");
	/* Zero bytes: nothing to do, length 0. */
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0x3000, 0), 0);
	assert_int_equal(sink.count, 2);
}

static void test_console_write_limits(void **state)
{
	(void)state;
	memset(guest.ram, 'x', RAM_SIZE);
	/* The most a call may write, up to the last byte of RAM. */
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, RAM_SIZE - 4096, 4096),
			 4096);
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0, 4097), HC_EINVAL);
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0, 1ull << 32), HC_EINVAL);
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0, ~0ull), HC_EINVAL);
}

static void test_console_write_outside_ram(void **state)
{
	static const struct {
		u64 addr, len;
	} bad[] = {
	    {RAM_SIZE, 1},	    /* just past the end */
	    {RAM_SIZE - 1, 2},	    /* crosses the end */
	    {RAM_SIZE - 100, 4096}, /* crosses it by far */
	    {0xfee00000, 16},	    /* a device, not RAM */
	    {~0ull, 2},		    /* wraps around 2^64 */
	    {~0ull - 4095, 4096},   /* ends exactly at 2^64 */
	    {1ull << 63, 1},
	};
	u32 lines = sink.count;

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(
		    call_ok(HC_CONSOLE_WRITE, bad[i].addr, bad[i].len),
		    HC_EFAULT);
	assert_int_equal(sink.count, lines);
	assert_int_equal(guest.vm.uart.line_len, 0);
}

static void test_exit(void **state)
{
	u64 rip = fake_get(&guest, VCPU_RIP);

	(void)state;
	/* The code is 32 bits: the upper half of RBX is not part of it. */
	assert_int_equal(call(HC_EXIT, 0x100000005ull, 0), EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_EXITED);
	assert_int_equal(guest.vm.exit_code, 5);
	assert_int_equal(fake_get(&guest, VCPU_RIP), rip);
}

static void test_timer_oneshot(void **state)
{
	u64 now;

	(void)state;
	guest.vm.tsc_offset = 12345;
	now = guest.vm.frozen_host_tsc + 12345;
	assert_int_equal(call_ok(HC_TIMER_ONESHOT, 0x40, 1000), 0);
	assert_int_equal(guest.vcpu.timer_vector, 0x40);
	assert_int_equal(guest.vcpu.timer_deadline, now + tsc_from_us(1000));
	assert_true(tsc_from_us(1000) > 0);
	/* Re-arming replaces it. */
	assert_int_equal(call_ok(HC_TIMER_ONESHOT, 255, 1), 0);
	assert_int_equal(guest.vcpu.timer_vector, 255);
	assert_int_equal(guest.vcpu.timer_deadline, now + tsc_from_us(1));
	/* 0 us cancels, whatever the vector. */
	assert_int_equal(call_ok(HC_TIMER_ONESHOT, 0, 0), 0);
	assert_int_equal(guest.vcpu.timer_deadline, 0);
}

static void test_timer_oneshot_bad_arguments(void **state)
{
	static const struct {
		u64 vector, us;
	} bad[] = {
	    {0, 1},
	    {31, 1}, /* an exception vector */
	    {256, 1},
	    {(1ull << 32) | 0x40, 1}, /* not cut to 8 bits */
	    {~0ull, 1},
	    {0x40, HC_TIMER_MAX_US + 1},
	    {0x40, 1ull << 63},
	    {0x40, ~0ull}, /* would wrap the deadline */
	};

	(void)state;
	assert_int_equal(call_ok(HC_TIMER_ONESHOT, 0x50, 77), 0);
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		u64 deadline = guest.vcpu.timer_deadline;

		assert_int_equal(
		    call_ok(HC_TIMER_ONESHOT, bad[i].vector, bad[i].us),
		    HC_EINVAL);
		/* A refused call leaves the armed timer alone. */
		assert_int_equal(guest.vcpu.timer_deadline, deadline);
		assert_int_equal(guest.vcpu.timer_vector, 0x50);
	}
	/* The longest delay is accepted and lies in the future. */
	assert_int_equal(call_ok(HC_TIMER_ONESHOT, 0x40, HC_TIMER_MAX_US), 0);
	assert_true(guest.vcpu.timer_deadline > vm_guest_tsc(&guest.vm));
}

/*
 * The guest may set its TSC anywhere (IA32_TSC): an armed timer must stay
 * armed even when guest TSC + delay passes 2^64 (0 means "no timer").
 */
static void test_timer_near_the_end_of_the_tsc(void **state)
{
	u64 ticks = tsc_from_us(1);

	(void)state;
	vm_set_guest_tsc(&guest.vm, 0 - ticks);
	assert_int_equal(call_ok(HC_TIMER_ONESHOT, 0x40, 1), 0);
	assert_int_not_equal(guest.vcpu.timer_deadline, 0);
}

/*
 * docs/hypercall.md: arguments in RBX, RCX, ... "32-bit guests: the low
 * halves". Outside 64-bit mode the upper halves of the registers are not
 * the guest's to control (undefined after a mode switch, SDM Vol. 1
 * 3.4.1.1), so they must not change the call.
 */
static void test_32bit_guest_uses_the_low_halves(void **state)
{
	(void)state;
	fake_guest_flat32(&guest);
	guest.vcpu.index = 2;
	assert_int_equal((u32)call_ok(0xdead000000000000ull | HC_CPU_ID, 0, 0),
			 2);
	memcpy(guest.ram + 0x1000, "hi\n", 3);
	assert_int_equal((u32)call_ok(HC_CONSOLE_WRITE, 0xffffffff00001000ull,
				      0xffffffff00000003ull),
			 3);
	assert_string_equal(sink.last, "hi");
}

/*
 * docs/hypercall.md: no call from CPL > 0. The guest gets #UD, as from a
 * CPU without a hypervisor interface (SDM Vol. 3C 31.3 "VMCALL", APM
 * Vol. 3 "VMMCALL"): no skip, no register changed, no effect of the call.
 */
static void test_user_mode_gets_ud(void **state)
{
	static const u64 nr[] = {HC_VERSION,	   HC_CONSOLE_WRITE, HC_EXIT,
				 HC_TIMER_ONESHOT, HC_CPU_ID,	     0xff};
	u64 rip = fake_get(&guest, VCPU_RIP);

	(void)state;
	memcpy(guest.ram + 0x1000, "user\n", 5);
	for (u32 cpl = 1; cpl <= 3; cpl++) {
		fake_set(&guest, VCPU_CPL, cpl);
		for (u32 i = 0; i < ARRAY_SIZE(nr); i++) {
			struct exit_event ev = fake_exit(EXIT_HYPERCALL, 3);
			u64 before[GPR_COUNT];

			for (u32 r = 0; r < GPR_COUNT; r++)
				gpr()[r] = 0x0101010101010101ull * r;
			gpr()[GPR_RAX] = nr[i];
			gpr()[GPR_RBX] =
			    nr[i] == HC_TIMER_ONESHOT ? 0x40 : 0x1000;
			gpr()[GPR_RCX] = 5;
			memcpy(before, gpr(), sizeof(before));
			guest.vcpu.entry.inject = false;
			assert_int_equal(handle_hypercall(&guest.vcpu, &ev),
					 EXIT_ACTION_RESUME);
			assert_memory_equal(gpr(), before, sizeof(before));
			assert_true(guest.vcpu.entry.inject);
			assert_int_equal(guest.vcpu.entry.event.type,
					 VCPU_EVENT_EXCEPTION);
			assert_int_equal(guest.vcpu.entry.event.vector,
					 X86_VECTOR_UD);
			assert_false(guest.vcpu.entry.event.has_error_code);
			assert_int_equal(fake_get(&guest, VCPU_RIP), rip);
		}
	}
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
	assert_int_equal(sink.count, 0);
	assert_int_equal(guest.vm.uart.line_len, 0);
	assert_int_equal(guest.vcpu.timer_deadline, 0);

	/* Back at CPL 0 the calls work. */
	fake_set(&guest, VCPU_CPL, 0);
	guest.vcpu.entry.inject = false;
	assert_int_equal(call_ok(HC_VERSION, 0, 0), HC_ABI_VERSION);
	assert_int_equal(call_ok(HC_CONSOLE_WRITE, 0x1000, 5), 5);
	assert_string_equal(sink.last, "user");
	assert_int_equal(call(HC_EXIT, 7, 0), EXIT_ACTION_END);
	assert_int_equal(guest.vm.exit_code, 7);
}

/* ---- KVM's hypercalls (core/kvmpv.h) ---- */

static struct platform platform;
static struct vcpu other; /* vCPU 1 */

/* The KVM-compatible interface on, vCPUs 0 (the caller) to `n` - 1. */
static void kvm_on(u32 n)
{
	memset(&platform, 0, sizeof(platform));
	platform.tsc_hz = 2500000000ull;
	platform.vm = &guest.vm;
	guest.vm.platform = &platform;
	guest.vm.kvm_pv = true;
	guest.vm.vcpu_count = n;
	memset(&other, 0, sizeof(other));
	other.vm = &guest.vm;
	other.index = 1;
	guest.vm.vcpus[1] = &other;
	fake_pv_ipis = (struct fake_pv_ipis){0};
}

/* A call with four arguments (RBX, RCX, RDX, RSI): its result; only RAX
 * changes. */
static i64 call4(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	struct exit_event ev = fake_exit(EXIT_HYPERCALL, 3);
	u64 before[GPR_COUNT];

	for (u32 r = 0; r < GPR_COUNT; r++)
		gpr()[r] = 0x0101010101010101ull * r;
	gpr()[GPR_RAX] = nr;
	gpr()[GPR_RBX] = a0;
	gpr()[GPR_RCX] = a1;
	gpr()[GPR_RDX] = a2;
	gpr()[GPR_RSI] = a3;
	memcpy(before, gpr(), sizeof(before));
	assert_int_equal(handle_hypercall(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	for (u32 r = 1; r < GPR_COUNT; r++)
		assert_int_equal(gpr()[r], before[r]);
	return (i64)gpr()[GPR_RAX];
}

/* Without the interface KVM's numbers are unknown calls. */
static void test_kvm_calls_need_the_interface(void **state)
{
	(void)state;
	kvm_on(2);
	guest.vm.kvm_pv = false;
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 1, 0, 0, 0x30), HC_ENOSYS);
	assert_int_equal(call4(KVMPV_HC_KICK_CPU, 0, 1, 0, 0), HC_ENOSYS);
	assert_int_equal(call4(KVMPV_HC_SCHED_YIELD, 1, 0, 0, 0), HC_ENOSYS);
	assert_int_equal(fake_pv_ipis.calls, 0);
	assert_false(other.pv_unhalted);
	/* With it, the numbers between stay unknown. */
	guest.vm.kvm_pv = true;
	assert_int_equal(call4(6, 0, 0, 0, 0), HC_ENOSYS);
	assert_int_equal(call4(9, 0, 0, 0, 0), HC_ENOSYS);
	assert_int_equal(call4(12, 0, 0, 0, 0), HC_ENOSYS);
}

static void test_kvm_send_ipi(void **state)
{
	(void)state;
	kvm_on(4);
	/* APIC IDs 0, 1, 3: a fixed interrupt, vector 0xec. */
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 0xb, 0, 0, 0xec), 3);
	assert_int_equal(fake_pv_ipis.set, 0xb);
	assert_false(fake_pv_ipis.nmi);
	assert_int_equal(fake_pv_ipis.vector, 0xec);
	/* From APIC ID 1 up: bits 0-2 are IDs 1-3; ID 4 and on: no vCPU. */
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 0xff, 0, 1, 0x30), 3);
	assert_int_equal(fake_pv_ipis.set, 0xe);
	/* The high word is IDs min + 64 on: none here. */
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 0, ~0ull, 0, 0x30), 0);
	assert_int_equal(fake_pv_ipis.set, 0);
	/* A lowest ID past the vCPUs, or one that would wrap. */
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, ~0ull, ~0ull, 4, 0x30), 0);
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, ~0ull, ~0ull, ~0ull, 0x30),
			 0);
	assert_int_equal(fake_pv_ipis.set, 0);
	/* An NMI (delivery mode 4). */
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 0x2, 0, 0, 0x400), 1);
	assert_true(fake_pv_ipis.nmi);
	assert_int_equal(fake_pv_ipis.set, 0x2);
	/* INIT, STARTUP, lowest priority, SMI, reserved: refused, unsent. */
	fake_pv_ipis.calls = 0;
	for (u64 mode = 1; mode < 8; mode++) {
		if (mode == 4)
			continue;
		assert_int_equal(
		    call4(KVMPV_HC_SEND_IPI, 0x2, 0, 0, mode << 8 | 0x30),
		    HC_EINVAL);
	}
	assert_int_equal(fake_pv_ipis.calls, 0);
	assert_int_equal(guest.vm.kvmpv.pv_ipis[0], 6);
	assert_int_equal(guest.vm.kvmpv.pv_ipi_dests[0], 7);
}

/* Outside 64-bit code the bitmap words are 32 bits (IDs min + 32 on are
 * the high word's) and every argument its low half. */
static void test_kvm_send_ipi_32bit(void **state)
{
	(void)state;
	kvm_on(4);
	fake_guest_flat32(&guest);
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 1ull << 32 | 0x1, 0, 0, 0x30),
			 1);
	assert_int_equal(fake_pv_ipis.set, 0x1);
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 0, 0, 1ull << 32 | 2, 0x30),
			 0);
	assert_int_equal(call4(KVMPV_HC_SEND_IPI, 0x4, 0, 1ull << 32, 0x30), 1);
	assert_int_equal(fake_pv_ipis.set, 0x4);
}

static void test_kvm_kick(void **state)
{
	(void)state;
	kvm_on(2);
	assert_int_equal(call4(KVMPV_HC_KICK_CPU, 0, 1, 0, 0), 0);
	assert_true(other.pv_unhalted);
	assert_false(guest.vcpu.pv_unhalted);
	/* APIC IDs no vCPU has: nothing. */
	other.pv_unhalted = false;
	assert_int_equal(call4(KVMPV_HC_KICK_CPU, 0, 2, 0, 0), 0);
	assert_int_equal(call4(KVMPV_HC_KICK_CPU, 0, ~0ull, 0, 0), 0);
	assert_false(other.pv_unhalted);
	/* Itself: its next HLT ends at once. */
	assert_int_equal(call4(KVMPV_HC_KICK_CPU, 0, 0, 0, 0), 0);
	assert_true(guest.vcpu.pv_unhalted);
	assert_int_equal(guest.vm.kvmpv.kicks[0], 4);
}

static void test_kvm_sched_yield(void **state)
{
	(void)state;
	kvm_on(2);
	fake_yields = 0;
	assert_int_equal(call4(KVMPV_HC_SCHED_YIELD, 1, 0, 0, 0), 0);
	assert_int_equal(fake_yields, 0); /* a CPU of its own */
	guest.vcpu.shares_cpu = true;
	assert_int_equal(call4(KVMPV_HC_SCHED_YIELD, 1, 0, 0, 0), 0);
	assert_int_equal(fake_yields, 1);
	assert_int_equal(guest.vm.kvmpv.yields[0], 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_version_and_cpu_id),
	    T(test_unknown_calls),
	    T(test_console_write),
	    T(test_console_write_limits),
	    T(test_console_write_outside_ram),
	    T(test_exit),
	    T(test_timer_oneshot),
	    T(test_timer_oneshot_bad_arguments),
	    T(test_timer_near_the_end_of_the_tsc),
	    T(test_32bit_guest_uses_the_low_halves),
	    T(test_user_mode_gets_ud),
	    T(test_kvm_calls_need_the_interface),
	    T(test_kvm_send_ipi),
	    T(test_kvm_send_ipi_32bit),
	    T(test_kvm_kick),
	    T(test_kvm_sched_yield),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
