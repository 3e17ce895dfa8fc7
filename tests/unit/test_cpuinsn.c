/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/cpuinsn.c, driven through the fake backend: INVD is
 * completed (its length from the backend, or from the bytes at RIP when
 * AMD-V without NRIP save reports 0), MONITOR and MWAIT get #UD, an INVD
 * at CPL > 0 gets #GP, and what is not an INVD stops the guest.
 *
 * Encodings: INVD 0F 08 (SDM Vol. 2A "INVD"); prefixes SDM Vol. 2A 2.1.1.
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

#define RAM_SIZE (64 * 1024ull)
#define CODE	 0x1000 /* RIP, CS base 0 */

#define B(...) ((const u8[]){__VA_ARGS__}), sizeof((const u8[]){__VA_ARGS__})

static struct fake_guest guest;

static int setup(void **state)
{
	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_RIP, CODE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

/* The bytes at CS:RIP, NOPs after them. */
static void code(const u8 *bytes, u32 n)
{
	memset(guest.ram + CODE, 0x90, 32);
	memcpy(guest.ram + CODE, bytes, n);
}

static struct exit_event insn_exit(enum cpu_insn insn, u32 insn_len)
{
	struct exit_event ev = fake_exit(EXIT_CPU_INSN, insn_len);

	ev.cpu_insn = (u8)insn;
	return ev;
}

static void assert_injected(u8 vector)
{
	assert_true(guest.vcpu.entry.inject);
	assert_int_equal(guest.vcpu.entry.event.type, VCPU_EVENT_EXCEPTION);
	assert_int_equal(guest.vcpu.entry.event.vector, vector);
	if (vector == X86_VECTOR_GP) {
		assert_true(guest.vcpu.entry.event.has_error_code);
		assert_int_equal(guest.vcpu.entry.event.error_code, 0);
	} else {
		assert_false(guest.vcpu.entry.event.has_error_code);
	}
}

static void assert_nothing_injected(void)
{
	assert_false(guest.vcpu.entry.inject);
	assert_true(vm_running(&guest.vm));
}

/* MONITOR and MWAIT (or MONITORX / MWAITX on AMD-V): #UD, RIP stays. */
static void test_monitor_mwait_ud(void **state)
{
	static const enum cpu_insn insns[] = {CPU_INSN_MONITOR, CPU_INSN_MWAIT};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(insns); i++) {
		struct exit_event ev = insn_exit(insns[i], 3);

		guest.vcpu.entry.inject = false;
		assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev),
				 EXIT_ACTION_RESUME);
		assert_injected(X86_VECTOR_UD);
		assert_true(vm_running(&guest.vm));
	}
	/* Without a length (AMD-V, no NRIP save) too: nothing is decoded. */
	struct exit_event ev = insn_exit(CPU_INSN_MWAIT, 0);
	code(B(0xcc));
	guest.vcpu.entry.inject = false;
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_RESUME);
	assert_injected(X86_VECTOR_UD);
	assert_true(vm_running(&guest.vm));
}

/* INVD with the backend's length: completed, nothing else happens. */
static void test_invd_completes(void **state)
{
	struct exit_event ev = insn_exit(CPU_INSN_INVD, 2);

	(void)state;
	code(B(0xcc)); /* not read: the length is known */
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(ev.insn_len, 2);
	assert_nothing_injected();
}

/* An exit at CPL 3 (virtual-8086 mode, say) gets the #GP(0) INVD owes. */
static void test_invd_cpl3_gp(void **state)
{
	struct exit_event ev = insn_exit(CPU_INSN_INVD, 2);

	(void)state;
	fake_set(&guest, VCPU_CPL, 3);
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_RESUME);
	assert_injected(X86_VECTOR_GP);
	assert_true(vm_running(&guest.vm));
}

/* No length from the backend: found from the bytes, prefixes included. */
static void test_invd_length_from_bytes(void **state)
{
	static const struct {
		u8 bytes[6];
		u32 n, len;
		int mode; /* 16, 32, 64 */
	} cases[] = {
	    {{0x0f, 0x08}, 2, 2, 32},
	    {{0x2e, 0x66, 0x0f, 0x08}, 4, 4, 32},
	    {{0xf3, 0x0f, 0x08}, 3, 3, 32},
	    {{0x48, 0x0f, 0x08}, 3, 3, 64}, /* REX in 64-bit code */
	    {{0x67, 0x0f, 0x08}, 3, 3, 16},
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		struct exit_event ev = insn_exit(CPU_INSN_INVD, 0);

		if (cases[i].mode == 16)
			fake_guest_real_mode(&guest);
		else
			fake_guest_flat32(&guest);
		fake_set(&guest, VCPU_CS_LONG, cases[i].mode == 64);
		fake_set(&guest, VCPU_RIP, CODE);
		code(cases[i].bytes, cases[i].n);
		assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev),
				 EXIT_ACTION_SKIP);
		assert_int_equal(ev.insn_len, cases[i].len);
		assert_nothing_injected();
	}
}

/* 48 is DEC EAX outside 64-bit mode: that is not an INVD. */
static void test_invd_rex_outside_64bit_stops(void **state)
{
	struct exit_event ev = insn_exit(CPU_INSN_INVD, 0);

	(void)state;
	code(B(0x48, 0x0f, 0x08));
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
}

/* Other bytes at RIP (WBINVD here): changed since the exit; never guess. */
static void test_invd_other_bytes_stop(void **state)
{
	struct exit_event ev = insn_exit(CPU_INSN_INVD, 0);

	(void)state;
	code(B(0x0f, 0x09));
	host_printk_reset();
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_non_null(strstr(guest.vm.stop_reason, "not INVD"));
	assert_non_null(strstr(guest.vm.stop_reason, "0x1000"));
	assert_false(guest.vcpu.entry.inject);
}

/* Fifteen prefixes before 0F 08: 17 bytes, longer than 15: #GP. */
static void test_invd_too_long_gp(void **state)
{
	struct exit_event ev = insn_exit(CPU_INSN_INVD, 0);
	u8 bytes[17];

	(void)state;
	memset(bytes, 0x2e, 15);
	bytes[15] = 0x0f;
	bytes[16] = 0x08;
	code(bytes, sizeof(bytes));
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_RESUME);
	assert_injected(X86_VECTOR_GP);
	assert_true(vm_running(&guest.vm));
}

/* A value no backend produces: the guest stops, the host goes on. */
static void test_unknown_insn_stops(void **state)
{
	struct exit_event ev = insn_exit(CPU_INSN_MWAIT, 2);

	(void)state;
	ev.cpu_insn = 0x7f;
	assert_int_equal(handle_cpu_insn(&guest.vcpu, &ev), EXIT_ACTION_END);
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_monitor_mwait_ud, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_invd_completes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_invd_cpl3_gp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invd_length_from_bytes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_invd_rex_outside_64bit_stops,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invd_other_bytes_stop, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_invd_too_long_gp, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_insn_stops, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
