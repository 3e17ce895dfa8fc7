/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the operator shell (core/shell.c) with the real console
 * line logic (core/lib/printk.c) capturing the output: every command, its
 * bad arguments, line editing, and the requests it leaves for a guest's
 * vCPU loop (struct vm.stop_request / .restart_request) with the kick of
 * the guest's CPU; `start` of a guest that waits or has ended (the request
 * its waiting CPU takes), and `log`. The host facts it shows come from
 * fakes below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/shell.h"
#include "core/load.h"
#include "core/stats.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/mm.h"
#include "core/lib/printk.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc.h"

static char out[16384];
static size_t out_len;
static u32 kicked[8], kicks;

static void capture(char c)
{
	assert_true(out_len < sizeof(out) - 1);
	out[out_len++] = c;
	out[out_len] = '\0';
}

/* ---- fakes of what the shell reads from the host ---- */

/* The wake-up reaches the vCPU's CPU (core/vm.c): its CPU is noted. */
void vm_wake_vcpu(struct vm *vm, u32 index)
{
	assert_true(kicks < 8);
	assert_true(index < vm->vcpu_count && vm->vcpus[index]);
	kicked[kicks++] = vm->vcpus[index]->host_cpu;
}

u32 cpus_online(void)
{
	return 3;
}

u64 mm_free_bytes(void)
{
	return 100ull << 20;
}

static u64 now_tsc;

u64 rdtsc(void)
{
	return now_tsc;
}

u64 tsc_hz(void)
{
	return 1000000000ull;
}

void stats_print_vcpu(const struct vcpu *vcpu, const char *prefix)
{
	printk("veneer: %sguest %s vcpu %u exits: %llu\n", prefix,
	       vcpu->vm->name, vcpu->index,
	       (unsigned long long)vcpu->exits_total);
}

/* ---- two guests ---- */

static struct vm vm_a, vm_b;
static struct vcpu cpu_a, cpu_b;
static struct guest_image image_a, image_b;
static struct vm *vms[2] = {&vm_a, &vm_b};
static const char *port_of_b; /* the serial port beta owns, or NULL */

static const char *port_of(const struct vm *vm)
{
	return vm == &vm_b ? port_of_b : NULL;
}

static const struct shell_guests guests = {vms, 2, port_of};
static struct shell sh;

static void make_guest(struct vm *vm, struct vcpu *vcpu,
		       struct guest_image *image, const char *name,
		       u32 host_cpu, u64 mib)
{
	memset(vm, 0, sizeof(*vm));
	memset(vcpu, 0, sizeof(*vcpu));
	memset(image, 0, sizeof(*image));
	image->cfg.mem = mib << 20;
	vm->image = image;
	vm->ram_hpa = 0x40000000;
	strcpy(vm->name, name);
	vm->state = VM_STATE_RUNNING;
	vm->ram_size = mib << 20;
	vm->ram_alloc_pages = mib * 256;
	vm->nested_tables = 3;
	vm->vcpus[0] = vcpu;
	vm->vcpu_count = 1;
	vcpu->vm = vm;
	vcpu->host_cpu = host_cpu;
	vcpu->exits_total = 1234;
}

static void clear_output(void)
{
	out_len = 0;
	out[0] = '\0';
}

/* Back to the console's default level (the shell's log changes it). */
static int teardown(void **state)
{
	(void)state;
	printk_set_level(LOG_INFO);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	printk_set_output(capture);
	console_write("\n");
	make_guest(&vm_a, &cpu_a, &image_a, "alpha", 1, 16);
	make_guest(&vm_b, &cpu_b, &image_b, "beta", 2, 64);
	kicks = 0;
	port_of_b = NULL;
	memset(&sh, 0, sizeof(sh));
	shell_prompt(&sh);
	clear_output();
	return 0;
}

static void type(const char *s)
{
	for (; *s; s++)
		shell_input(&sh, (u8)*s, &guests);
}

static void assert_output_has(const char *what)
{
	if (!strstr(out, what))
		fail_msg("output lacks '%s':\n%s", what, out);
}

static void assert_output_lacks(const char *what)
{
	if (strstr(out, what))
		fail_msg("output has '%s':\n%s", what, out);
}

/* ---- commands ---- */

static void test_typing_is_echoed_and_run_on_enter(void **state)
{
	(void)state;
	type("help");
	assert_string_equal(out, "help");
	type("\r");
	assert_output_has("\r\ncommands:\r\n");
	assert_output_has("stop NAME");
	/* A fresh prompt on a line of its own after the output. */
	assert_true(out_len >= 10);
	assert_string_equal(out + out_len - 10, "\r\nveneer> ");
}

static void test_list_shows_every_guest(void **state)
{
	(void)state;
	vm_b.state = VM_STATE_STOPPED;
	vm_a.reboots = 2;
	/* Up for 2 min 5 s at 1 GHz; a stopped guest has no uptime. */
	vm_a.started_tsc = 1000000000ull;
	vm_b.started_tsc = 1000000000ull;
	now_tsc = vm_a.started_tsc + 125 * 1000000000ull;
	type("list\r");
	assert_output_has(
	    "alpha            running  1                16 M      "
	    "2:05        2  veneer\r\n");
	assert_output_has(
	    "beta             stopped  2                64 M      "
	    "0:00        0  veneer\r\n");
	assert_output_has("name ");
}

/*
 * Every vCPU's host CPU, in vCPU order; a guest with a serial port of its
 * own is listed with it (it is in no focus ring, but the shell has it);
 * CPUs past the column are cut with "...".
 */
static void test_list_shows_vcpus_and_own_port(void **state)
{
	struct vcpu more[7];

	(void)state;
	memset(more, 0, sizeof(more));
	vm_b.vcpus[1] = &more[0];
	more[0].vm = &vm_b;
	more[0].host_cpu = 3;
	vm_b.vcpu_count = 2;
	port_of_b = "com2";
	type("list\r");
	assert_output_has("beta             running  2,3              64 M ");
	assert_output_has("  com2\r\n");
	clear_output();
	for (u32 i = 1; i < 8; i++) {
		more[i - 1].vm = &vm_b;
		more[i - 1].host_cpu = 10 + i;
		vm_b.vcpus[i] = &more[i - 1];
	}
	vm_b.vcpu_count = 8;
	type("list\r");
	/* "2,11,12,13,14,15,16,17" does not fit in 12: cut at a comma. */
	assert_output_has("beta             running  2,11,12,...      64 M ");
}

static void test_stats_of_a_guest(void **state)
{
	(void)state;
	type("stats beta\r");
	assert_output_has("veneer: guest beta vcpu 0 exits: 1234\r\n");
	assert_output_lacks("alpha");
}

static void test_mem_adds_up(void **state)
{
	(void)state;
	type("mem\r");
	/* 16 MiB + 3 table pages = 16396 KiB; 64 MiB + 12 KiB = 65548. */
	assert_output_has("guest alpha               16396 KiB");
	assert_output_has("guest beta                65548 KiB");
	assert_output_has("guests in all     81944 KiB");
	assert_output_has("free             102400 KiB");
}

static void test_cpus_shows_idle_and_busy(void **state)
{
	(void)state;
	type("cpus\r");
	assert_output_has("cpu 0: idle\r\n");
	assert_output_has("cpu 1: guest alpha\r\n");
	assert_output_has("cpu 2: guest beta\r\n");
	/* A guest that does not run keeps its CPU for its start. */
	vm_b.state = VM_STATE_EXITED;
	clear_output();
	type("cpus\r");
	assert_output_has("cpu 2: kept for guest beta (exited)\r\n");
	vm_b.state = VM_STATE_CREATED;
	vm_a.state = VM_STATE_STOPPED;
	clear_output();
	type("cpus\r");
	assert_output_has("cpu 0: idle\r\n");
	assert_output_has("cpu 1: kept for guest alpha (stopped)\r\n");
	assert_output_has("cpu 2: kept for guest beta (waiting)\r\n");
}

/* A guest with two vCPUs: each CPU names the vCPU it runs. */
static void test_cpus_names_the_vcpu_of_a_guest_with_several(void **state)
{
	static struct vcpu second;

	(void)state;
	memset(&second, 0, sizeof(second));
	second.vm = &vm_b;
	second.index = 1;
	second.host_cpu = 0;
	vm_b.vcpus[1] = &second;
	vm_b.vcpu_count = 2;
	type("cpus\r");
	assert_output_has("cpu 0: guest beta vcpu 1\r\n");
	assert_output_has("cpu 1: guest alpha\r\n");
	assert_output_has("cpu 2: guest beta vcpu 0\r\n");
	vm_b.state = VM_STATE_CREATED;
	clear_output();
	type("cpus\r");
	assert_output_has("cpu 0: kept for guest beta vcpu 1 (waiting)\r\n");
	assert_output_has("cpu 2: kept for guest beta vcpu 0 (waiting)\r\n");
}

static void test_stop_asks_the_guest_and_kicks_its_cpu(void **state)
{
	(void)state;
	type("stop beta\r");
	assert_true(vm_b.stop_request);
	assert_false(vm_a.stop_request);
	assert_false(vm_b.restart_request);
	assert_int_equal(kicks, 1);
	assert_int_equal(kicked[0], 2);
	assert_output_has("stop: guest beta is asked to stop");
}

static void test_restart_asks_the_guest_and_kicks_its_cpu(void **state)
{
	(void)state;
	type("restart alpha\r");
	assert_true(vm_a.restart_request);
	assert_false(vm_a.stop_request);
	assert_int_equal(kicks, 1);
	assert_int_equal(kicked[0], 1);
}

static void test_stop_refuses_what_it_cannot_do(void **state)
{
	(void)state;
	type("stop\r");
	assert_output_has("stop: which guest?");
	type("stop gamma\r");
	assert_output_has("stop: no guest is called 'gamma'");
	vm_a.state = VM_STATE_EXITED;
	type("restart alpha\r");
	assert_output_has("restart: guest alpha has exited already");
	type("stop alpha beta\r");
	assert_output_has("stop: too many words");
	assert_false(vm_a.stop_request || vm_b.stop_request ||
		     vm_a.restart_request);
	assert_int_equal(kicks, 0);
}

static void test_unknown_commands_and_stray_arguments(void **state)
{
	(void)state;
	type("reboot alpha\r");
	assert_output_has("reboot: unknown command (help lists the commands)");
	clear_output();
	type("list alpha\r");
	assert_output_has("list: takes no argument (not 'alpha')");
	assert_output_lacks("running");
	clear_output();
	type("stats nobody\r");
	assert_output_has("stats: no guest is called 'nobody'");
	/* Empty lines and spaces only: just a new prompt. */
	clear_output();
	type("   \r");
	assert_string_equal(out, "   \r\nveneer> ");
}

/* ---- start NAME, a guest that waits, log ---- */

static void test_help_lists_start_and_log(void **state)
{
	(void)state;
	type("help\r");
	assert_output_has("  start NAME    run guest NAME that waits (start = "
			  "later) or has ended\r\n");
	assert_output_has("  log [LEVEL]   Veneer's log level: error, info or "
			  "debug\r\n");
}

static void test_list_shows_a_waiting_guest(void **state)
{
	(void)state;
	vm_b.state = VM_STATE_CREATED;
	type("list\r");
	assert_output_has(
	    "beta             waiting  2                64 M      "
	    "0:00        0  veneer\r\n");
}

/* A guest with start = later: its CPU waits for the request, no kick. */
static void test_start_a_waiting_guest(void **state)
{
	(void)state;
	vm_b.state = VM_STATE_CREATED;
	type("start beta\r");
	assert_true(vm_b.restart_request);
	assert_false(vm_b.stop_request || vm_a.restart_request);
	assert_int_equal(kicks, 0);
	assert_output_has("start: guest beta is asked to start (on cpu 2)\r\n");
	/* Until its CPU takes it, a second start says so. */
	clear_output();
	type("start beta\r");
	assert_output_has("start: guest beta is starting already\r\n");
}

/* Ended for good (memory given back, vCPUs gone): it may run again. */
static void test_start_an_ended_guest(void **state)
{
	static const enum vm_state ended[] = {VM_STATE_EXITED,
					      VM_STATE_STOPPED};

	(void)state;
	for (u32 i = 0; i < 2; i++) {
		vm_a.state = ended[i];
		vm_a.gone = true;
		vm_a.ram_hpa = 0;
		vm_a.restart_request = false;
		clear_output();
		type("start alpha\r");
		assert_true(vm_a.restart_request);
		assert_output_has(
		    "start: guest alpha is asked to start (on cpu 1)");
	}
	assert_int_equal(kicks, 0);
}

static void test_start_refuses_what_it_cannot_do(void **state)
{
	(void)state;
	type("start\r");
	assert_output_has(
	    "start: which guest? (start NAME; list shows the names)\r\n");
	type("start gamma\r");
	assert_output_has(
	    "start: no guest is called 'gamma' (list shows the names)\r\n");
	type("start alpha\r");
	assert_output_has(
	    "start: guest alpha runs already (restart alpha reloads it)\r\n");
	type("start alpha beta\r");
	assert_output_has("start: too many words");
	/* Ended, but its vCPUs still give back what they hold. */
	vm_a.state = VM_STATE_EXITED;
	type("start alpha\r");
	assert_output_has(
	    "start: guest alpha is still ending: try again in a moment\r\n");
	/* Gone, but its RAM (1 GiB) is more than is free (100 MiB). */
	vm_a.gone = true;
	vm_a.ram_hpa = 0;
	image_a.cfg.mem = 1023ull << 20;
	type("start alpha\r");
	assert_output_has("start: guest alpha needs 1024 MiB of RAM, 100 MiB "
			  "are free: it is not started\r\n");
	assert_false(vm_a.restart_request || vm_b.restart_request ||
		     vm_a.stop_request || vm_b.stop_request);
	assert_int_equal(kicks, 0);
	/* 100 MiB fit exactly. */
	image_a.cfg.mem = 100ull << 20;
	type("start alpha\r");
	assert_true(vm_a.restart_request);
}

/* stop and restart are for a guest that runs; each says what to type. */
static void test_stop_and_restart_of_a_guest_that_does_not_run(void **state)
{
	(void)state;
	vm_b.state = VM_STATE_CREATED;
	type("stop beta\r");
	assert_output_has("stop: guest beta has not started (start beta runs "
			  "it)\r\n");
	type("restart beta\r");
	assert_output_has("restart: guest beta has not started (start beta "
			  "runs it)\r\n");
	vm_b.state = VM_STATE_STOPPED;
	type("restart beta\r");
	assert_output_has("restart: guest beta has stopped already (start beta "
			  "runs it again)\r\n");
	assert_false(vm_b.stop_request || vm_b.restart_request);
	assert_int_equal(kicks, 0);
}

static void test_log_shows_and_sets_the_level(void **state)
{
	(void)state;
	type("log\r");
	assert_output_has("log: level info (log error, log info or log debug "
			  "changes it)\r\n");
	type("log debug\r");
	assert_output_has("log: level debug from now on\r\n");
	assert_int_equal(printk_level(), LOG_DEBUG);
	type("log error\r");
	assert_int_equal(printk_level(), LOG_ERROR);
	/* The shell's own answers are printed at every level. */
	clear_output();
	type("log\r");
	assert_output_has("log: level error (");
	type("log info\r");
	assert_int_equal(printk_level(), LOG_INFO);
}

static void test_log_refuses_what_is_no_level(void **state)
{
	(void)state;
	type("log verbose\r");
	assert_output_has("log: 'verbose' is not error, info or debug\r\n");
	type("log Debug\r");
	assert_output_has("log: 'Debug' is not error, info or debug\r\n");
	type("log debug now\r");
	assert_output_has("log: too many words");
	assert_int_equal(printk_level(), LOG_INFO);
}

/* A kick is a debug line: not shown at info, shown at debug. */
static void test_kicks_are_shown_at_debug(void **state)
{
	(void)state;
	type("stop beta\r");
	assert_output_lacks("kick");
	type("log debug\r");
	clear_output();
	type("restart alpha\r");
	assert_output_has("veneer: shell: kick cpu 1 (guest alpha vcpu 0)\r\n");
	assert_int_equal(kicks, 2);
}

/* ---- line editing and bad input ---- */

static void test_backspace_and_del_take_back(void **state)
{
	(void)state;
	type("stopx\b");
	type("\x7f\x7f\x7f\x7f");
	type("list\r");
	assert_output_has("alpha");
	assert_false(vm_a.stop_request || vm_b.stop_request);
	/* Backspace on an empty line does nothing. */
	clear_output();
	type("\b\b\b");
	assert_string_equal(out, "");
}

static void test_control_bytes_are_ignored(void **state)
{
	(void)state;
	type("li\x1b[2Jst\x01\x80\xff\r");
	/* ESC is dropped, "[2J" is typed text: an unknown command, shown
	 * as typed, never sent as an escape sequence. */
	assert_output_has("li[2Jst: unknown command");
	assert_null(memchr(out, 0x1b, out_len));
	assert_null(memchr(out, 0x01, out_len));
}

static void test_a_too_long_line_is_refused(void **state)
{
	char line[200];

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	type(line);
	type("\r");
	assert_output_has("line too long: at most 79 characters");
	assert_output_lacks("unknown command");
	/* The next line works again. */
	clear_output();
	type("stop alpha\r");
	assert_true(vm_a.stop_request);
}

static void test_a_guest_line_in_between_redraws_the_prompt(void **state)
{
	(void)state;
	type("sto");
	console_write_tagged(&vm_a, "alpha", "boot done", 9, true);
	type("p beta");
	assert_output_has("sto\r\n[alpha] boot done\r\nveneer> stop beta");
	/* A hypervisor line never continues the shell's open line. */
	printk("veneer: guest beta rebooting (1)\n");
	assert_output_has("stop beta\r\nveneer: guest beta rebooting (1)\r\n");
	type("\r");
	assert_true(vm_b.stop_request);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_typing_is_echoed_and_run_on_enter,
				   setup),
	    cmocka_unit_test_setup(test_list_shows_every_guest, setup),
	    cmocka_unit_test_setup(test_list_shows_vcpus_and_own_port, setup),
	    cmocka_unit_test_setup(test_stats_of_a_guest, setup),
	    cmocka_unit_test_setup(test_mem_adds_up, setup),
	    cmocka_unit_test_setup(test_cpus_shows_idle_and_busy, setup),
	    cmocka_unit_test_setup(
		test_cpus_names_the_vcpu_of_a_guest_with_several, setup),
	    cmocka_unit_test_setup(test_stop_asks_the_guest_and_kicks_its_cpu,
				   setup),
	    cmocka_unit_test_setup(
		test_restart_asks_the_guest_and_kicks_its_cpu, setup),
	    cmocka_unit_test_setup(test_stop_refuses_what_it_cannot_do, setup),
	    cmocka_unit_test_setup(test_unknown_commands_and_stray_arguments,
				   setup),
	    cmocka_unit_test_setup(test_backspace_and_del_take_back, setup),
	    cmocka_unit_test_setup(test_control_bytes_are_ignored, setup),
	    cmocka_unit_test_setup(test_a_too_long_line_is_refused, setup),
	    cmocka_unit_test_setup(
		test_a_guest_line_in_between_redraws_the_prompt, setup),
	    cmocka_unit_test_setup(test_help_lists_start_and_log, setup),
	    cmocka_unit_test_setup(test_list_shows_a_waiting_guest, setup),
	    cmocka_unit_test_setup(test_start_a_waiting_guest, setup),
	    cmocka_unit_test_setup(test_start_an_ended_guest, setup),
	    cmocka_unit_test_setup(test_start_refuses_what_it_cannot_do, setup),
	    cmocka_unit_test_setup(
		test_stop_and_restart_of_a_guest_that_does_not_run, setup),
	    cmocka_unit_test_setup_teardown(test_log_shows_and_sets_the_level,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_refuses_what_is_no_level,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kicks_are_shown_at_debug,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
