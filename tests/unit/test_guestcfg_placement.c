/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the host CPUs a declared guest gets without a
 * configuration file: placement_pick() and placement_take()
 * (core/placement.h) for guests declared by module strings
 * (core/guestcfg.c), vcpus=N included. One free host CPU per vCPU, all or
 * nothing, CPUs 1, 2, ... first and the boot CPU last; a refusal is one
 * printk line naming the guest, the vCPUs it asked for and the CPUs free.
 *
 * core/placement.c also reads the boot modules; the host facts it asks
 * for there (CPUs online, free memory, the console, the stats interval)
 * are stubs below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/console.h"
#include "core/guestcfg.h"
#include "core/mm.h"
#include "core/placement.h"
#include "core/stats.h"
#include "core/lib/string.h"
#include "arch/x86/percpu.h"
#include "drivers/uart.h"
#include "tests/unit/host_printk.h"

/* ---- what core/placement.c asks the rest of the hypervisor ---- */

void console_set_shell(bool on)
{
	(void)on;
}

void console_set_color(bool on)
{
	(void)on;
}

u16 uart_port(void)
{
	return 0x3f8;
}

u32 uart_baud(void)
{
	return 115200;
}

void uart_flush(void)
{
}

void uart_init(u16 port, u32 baud)
{
	(void)port;
	(void)baud;
}

u32 cpus_online(void)
{
	return 4;
}

u64 mm_free_bytes(void)
{
	return MiB(512);
}

u32 stats_interval(const struct boot_info *bi)
{
	(void)bi;
	return 0;
}

/* ---- helpers ---- */

static struct guest_cfg declared(const char *modstr)
{
	struct guest_cfg cfg;
	char err[160] = "";

	if (guestcfg_parse(modstr, &cfg, err, sizeof(err)))
		fail_msg("'%s' was refused: %s", modstr, err);
	return cfg;
}

/* Pick for modstr, expect success and the CPUs in `want`, then take them. */
static void pick_ok(struct cpu_placement *pl, const char *modstr,
		    const u32 *want)
{
	struct guest_cfg cfg = declared(modstr);
	u32 cpus[GUESTCFG_VCPUS_MAX];

	memset(cpus, 0xa5, sizeof(cpus));
	host_printk_reset();
	if (!placement_pick(pl, &cfg, cpus))
		fail_msg("'%s' got no CPUs: %s", modstr, host_printk_text());
	assert_string_equal(host_printk_text(), "");
	for (u32 i = 0; i < cfg.vcpus; i++)
		assert_int_equal(cpus[i], want[i]);
	placement_take(pl, &cfg, cpus);
}

/* Pick for cfg, expect a refusal saying exactly `line`; nothing taken. */
static void pick_refused(struct cpu_placement *pl, const struct guest_cfg *cfg,
			 const char *line)
{
	u32 cpus[GUESTCFG_VCPUS_MAX];
	u64 taken = pl->taken;

	host_printk_reset();
	assert_false(placement_pick(pl, cfg, cpus));
	assert_string_equal(host_printk_text(), line);
	assert_int_equal(pl->taken, taken);
}

/* pick_ok for a declaration the test changed (cpu lists). */
static void pick_ok_cfg(struct cpu_placement *pl, const struct guest_cfg *cfg,
			const u32 *want)
{
	u32 cpus[GUESTCFG_VCPUS_MAX];

	host_printk_reset();
	if (!placement_pick(pl, cfg, cpus))
		fail_msg("'%s' got no CPUs: %s", cfg->name, host_printk_text());
	for (u32 i = 0; i < cfg->vcpus; i++)
		assert_int_equal(cpus[i], want[i]);
	placement_take(pl, cfg, cpus);
}

#define CPUS(...) ((const u32[]){__VA_ARGS__})

/* ---- tests ---- */

static void test_one_vcpu_each(void **state)
{
	struct cpu_placement pl;

	(void)state;
	placement_init(&pl, 3);
	pick_ok(&pl, "a.elf", CPUS(1));
	pick_ok(&pl, "b.elf", CPUS(2));
	pick_ok(&pl, "c.elf", CPUS(0));
	assert_int_equal(pl.taken, 0x7);
	pick_refused(&pl, &(struct guest_cfg){.name = "d", .vcpus = 1},
		     "veneer: guest d: 1 vCPU needs 1 free CPU, 0 are free "
		     "(3 CPUs, one vCPU each)\n");
}

static void test_several_vcpus(void **state)
{
	struct cpu_placement pl;

	(void)state;
	placement_init(&pl, 8);
	pick_ok(&pl, "a.elf vcpus=3", CPUS(1, 2, 3));
	pick_ok(&pl, "b.elf vcpus=1", CPUS(4));
	/* The boot CPU last. */
	pick_ok(&pl, "c.elf vcpus=4", CPUS(5, 6, 7, 0));
	assert_int_equal(pl.taken, 0xff);
	placement_init(&pl, 8);
	pick_ok(&pl, "big.elf vcpus=8", CPUS(1, 2, 3, 4, 5, 6, 7, 0));
}

/* All or nothing: a guest that cannot have all its CPUs takes none. */
static void test_not_enough_cpus(void **state)
{
	struct cpu_placement pl;
	struct guest_cfg cfg;

	(void)state;
	placement_init(&pl, 4);
	pick_ok(&pl, "a.elf vcpus=2", CPUS(1, 2));
	cfg = declared("b.elf vcpus=3");
	pick_refused(&pl, &cfg,
		     "veneer: guest b: 3 vCPUs need 3 free CPUs, 2 are free "
		     "(4 CPUs, one vCPU each)\n");
	/* What b could not use is still there for the next guest. */
	pick_ok(&pl, "c.elf vcpus=2", CPUS(3, 0));
	placement_init(&pl, 2);
	pick_ok(&pl, "a.elf", CPUS(1));
	cfg = declared("b.elf vcpus=2");
	pick_refused(&pl, &cfg,
		     "veneer: guest b: 2 vCPUs need 2 free CPUs, 1 is free "
		     "(2 CPUs, one vCPU each)\n");
	/* One CPU online: the boot CPU is the only one. */
	placement_init(&pl, 1);
	cfg = declared("one.elf vcpus=2");
	pick_refused(&pl, &cfg,
		     "veneer: guest one: 2 vCPUs need 2 free CPUs, 1 is free "
		     "(1 CPU, one vCPU each)\n");
	pick_ok(&pl, "one.elf", CPUS(0));
}

/* CPUs given by a configuration (config_parse() assigned or checked them). */
static void test_fixed_cpus(void **state)
{
	struct cpu_placement pl;
	struct guest_cfg cfg = declared("a.elf vcpus=3");
	u32 cpus[GUESTCFG_VCPUS_MAX];

	(void)state;
	placement_init(&pl, 4);
	cfg.cpu_fixed = true;
	cfg.cpu[0] = 3;
	cfg.cpu[1] = 0;
	cfg.cpu[2] = 2;
	assert_true(placement_pick(&pl, &cfg, cpus));
	assert_int_equal(cpus[0], 3);
	assert_int_equal(cpus[1], 0);
	assert_int_equal(cpus[2], 2);
	placement_take(&pl, &cfg, cpus);
	assert_int_equal(pl.taken, 0xd);
	/* Taken, absent or twice in the list: refused, naming the vCPU. */
	cfg = declared("b.elf vcpus=2");
	cfg.cpu_fixed = true;
	cfg.cpu[0] = 1;
	cfg.cpu[1] = 2;
	pick_refused(&pl, &cfg,
		     "veneer: guest b: cpu 2 (vCPU 1) is not free (4 CPUs, "
		     "one vCPU each)\n");
	cfg.cpu[1] = 4;
	pick_refused(&pl, &cfg,
		     "veneer: guest b: cpu 4 (vCPU 1) is not free (4 CPUs, "
		     "one vCPU each)\n");
	cfg.cpu[1] = 1;
	pick_refused(&pl, &cfg,
		     "veneer: guest b: cpu 1 (vCPU 1) is not free (4 CPUs, "
		     "one vCPU each)\n");
	cfg.vcpus = 1;
	assert_true(placement_pick(&pl, &cfg, cpus));
	assert_int_equal(cpus[0], 1);
}

/* A count guestcfg never gives is refused, not read past cpus[]. */
static void test_bad_vcpu_count(void **state)
{
	struct cpu_placement pl;

	(void)state;
	placement_init(&pl, 64);
	pick_refused(&pl, &(struct guest_cfg){.name = "z", .vcpus = 0},
		     "veneer: guest z: 0 vCPUs: a guest has 1 to 8\n");
	pick_refused(&pl, &(struct guest_cfg){.name = "z", .vcpus = 9},
		     "veneer: guest z: 9 vCPUs: a guest has 1 to 8\n");
}

/* The module-string path: vcpus= reaches the guest's declaration. */
static void test_collect_module_strings(void **state)
{
	static struct boot_info bi;
	static const char *const strings[] = {
	    "boot/a.elf name=a vcpus=2",
	    "boot/b.elf name=b vcpus=9",
	    "boot/c.elf name=c vcpus=2 clock=virtual",
	    "boot/d.elf name=d",
	};
	struct guest_image images[4];
	u32 failed = 0, n;

	(void)state;
	memset(&bi, 0, sizeof(bi));
	bi.module_count = ARRAY_SIZE(strings);
	for (u32 i = 0; i < bi.module_count; i++) {
		snprintf(bi.modules[i].string, sizeof(bi.modules[i].string),
			 "%s", strings[i]);
		bi.modules[i].string_len = (u32)strlen(strings[i]);
	}
	host_printk_reset();
	n = placement_collect(&bi, images, ARRAY_SIZE(images), &failed);
	assert_int_equal(n, 3);
	assert_int_equal(failed, 1);
	assert_string_equal(images[0].cfg.name, "a");
	assert_int_equal(images[0].cfg.vcpus, 2);
	assert_false(images[0].cfg.cpu_fixed);
	assert_string_equal(images[1].cfg.name, "c");
	assert_int_equal(images[1].cfg.vcpus, 2);
	assert_true(images[1].cfg.virtual_clock);
	assert_string_equal(images[2].cfg.name, "d");
	assert_int_equal(images[2].cfg.vcpus, 1);
	assert_string_equal(
	    host_printk_text(),
	    "veneer: module 1 ('boot/b.elf name=b vcpus=9'): vcpus: 9: a "
	    "guest has at most 8 vCPUs\n");
}

/*
 * shared=yes: the CPUs no partitioned guest holds, fewest shared vCPUs
 * first, at most PLACEMENT_THREADS_MAX on one; a partitioned guest never
 * gets a CPU a shared one has.
 */
static void test_shared_guests(void **state)
{
	struct cpu_placement pl;
	struct guest_cfg cfg;

	(void)state;
	placement_init(&pl, 3);
	pick_ok(&pl, "p.elf", CPUS(1));
	/* 5 vCPUs on CPUs 2 and 0, in turn; more than the CPUs online. */
	pick_ok(&pl, "s.elf shared=yes vcpus=5", CPUS(2, 0, 2, 0, 2));
	assert_int_equal(pl.load[2], 3);
	assert_int_equal(pl.load[0], 2);
	assert_int_equal(pl.taken, 0x2);
	/* The next shared guest starts on the least loaded CPU. */
	pick_ok(&pl, "t.elf shared=yes vcpus=2", CPUS(0, 2));
	/* A partitioned guest finds no free CPU. */
	cfg = declared("q.elf");
	pick_refused(&pl, &cfg,
		     "veneer: guest q: 1 vCPU needs 1 free CPU, 0 are free (3 "
		     "CPUs, one vCPU each)\n");
	/* Fixed: a shared CPU may be named twice, a partitioned one never. */
	cfg = declared("u.elf shared=yes vcpus=2");
	cfg.cpu_fixed = true;
	cfg.cpu[0] = 0;
	cfg.cpu[1] = 0;
	pick_ok_cfg(&pl, &cfg, CPUS(0, 0));
	cfg.cpu[1] = 1;
	pick_refused(&pl, &cfg,
		     "veneer: guest u: cpu 1 (vCPU 1) cannot be shared: it "
		     "does not exist, a partitioned guest holds it, or it runs "
		     "16 vCPUs already (3 CPUs)\n");
	/* A CPU runs at most PLACEMENT_THREADS_MAX vCPUs. */
	placement_init(&pl, 1);
	for (u32 i = 0; i < PLACEMENT_THREADS_MAX / 8; i++)
		pick_ok(&pl, "s.elf shared=yes vcpus=8",
			CPUS(0, 0, 0, 0, 0, 0, 0, 0));
	cfg = declared("v.elf shared=yes");
	pick_refused(&pl, &cfg,
		     "veneer: guest v: no CPU to share for vCPU 0: "
		     "partitioned guests hold the others or each runs 16 vCPUs "
		     "(1 CPU)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_vcpu_each),
	    cmocka_unit_test(test_several_vcpus),
	    cmocka_unit_test(test_not_enough_cpus),
	    cmocka_unit_test(test_fixed_cpus),
	    cmocka_unit_test(test_bad_vcpu_count),
	    cmocka_unit_test(test_shared_guests),
	    cmocka_unit_test(test_collect_module_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
