/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/config.c: the configuration file (docs/config.md).
 *
 * Each test declares the boot modules the loader would have given (the
 * configuration itself first, "boot/two.cfg config"), their bytes (an ELF
 * header, a bzImage header or plain data, chosen by the file name), the
 * CPUs online and the free memory, then parses a text and looks at the
 * guests or at every error line reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/guestcfg.h"
#include "core/linux_spec.h"

#define CFG_FILE   "boot/two.cfg"
#define MAX_ERRORS 64

static struct boot_module modules[BOOTINFO_MAX_MODULES + 1];
static u8 module_bytes[BOOTINFO_MAX_MODULES + 1][1024];
static u32 module_count;
static struct guest_image images[CONFIG_GUESTS_MAX];
static struct config_result res;
static char reported[MAX_ERRORS][CONFIG_MSG_MAX];
static u32 reported_count;
static struct config_env env;

static const void *module_data(const struct boot_module *m)
{
	return module_bytes[m - modules];
}

static void report(void *ctx, const char *message)
{
	assert_ptr_equal(ctx, &env);
	assert_true(strlen(message) < CONFIG_MSG_MAX);
	if (reported_count < MAX_ERRORS)
		snprintf(reported[reported_count], CONFIG_MSG_MAX, "%s",
			 message);
	reported_count++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * A module with string `modstr`; its bytes by its name: *.elf an ELF
 * header, vmlinuz* a bzImage header, empty* nothing, anything else text.
 */
static u32 add_module(const char *modstr)
{
	u32 i = module_count++;
	struct boot_module *m = &modules[i];
	u8 *b = module_bytes[i];
	u64 size = sizeof(module_bytes[i]);
	size_t path_len;
	char path[BOOTINFO_MODSTR_MAX];

	memset(m, 0, sizeof(*m));
	snprintf(m->string, sizeof(m->string), "%s", modstr);
	m->string_len = (u32)strlen(modstr);
	memset(b, 0, sizeof(module_bytes[i]));
	config_module_path(modstr, &path_len);
	snprintf(path, sizeof(path), "%.*s", (int)path_len,
		 config_module_path(modstr, &path_len));
	if (strstr(path, "empty")) {
		size = 0;
	} else if (ends_with(path, ".elf")) {
		memcpy(b,
		       "\x7f"
		       "ELF\x01\x01\x01",
		       7);
	} else if (strstr(path, "vmlinuz")) {
		u32 magic = LINUX_HEADER_MAGIC;

		memcpy(b + LINUX_HDR_FIELD(header), &magic, sizeof(magic));
	} else {
		memset(b, 'x', sizeof(module_bytes[i]));
	}
	m->start = 0x1000000ull * (i + 1);
	m->end = m->start + size;
	return i;
}

/* The configuration module, then the others. */
static void given_modules(const char *const *strings)
{
	module_count = 0;
	add_module(CFG_FILE " config");
	for (; *strings; strings++)
		add_module(*strings);
}

#define MODULES(...) given_modules((const char *const[]){__VA_ARGS__, NULL})

static int setup(void **state)
{
	(void)state;
	memset(images, 0xa5, sizeof(images));
	memset(&res, 0xa5, sizeof(res));
	reported_count = 0;
	env = (struct config_env){.file = CFG_FILE,
				  .modules = modules,
				  .config_module = 0,
				  .cpus = 4,
				  .console_port = 0x3f8,
				  .free_bytes = MiB(512),
				  .module_data = module_data,
				  .report = report,
				  .ctx = &env};
	MODULES("boot/hello.elf");
	return 0;
}

static u32 parse_len(const char *text, size_t len)
{
	u32 errors;

	env.modules = modules;
	env.module_count = module_count;
	reported_count = 0;
	errors = config_parse(text, len, &env, images, CONFIG_GUESTS_MAX, &res);
	assert_int_equal(errors, res.errors);
	assert_int_equal(reported_count, errors < CONFIG_ERRORS_SHOWN
					     ? errors
					     : CONFIG_ERRORS_SHOWN);
	return errors;
}

static u32 parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static void dump_errors(void)
{
	for (u32 i = 0; i < reported_count && i < MAX_ERRORS; i++)
		print_message("  error: %s\n", reported[i]);
}

static void parse_ok(const char *text)
{
	if (parse(text) != 0) {
		dump_errors();
		fail_msg("the configuration was refused:\n%s", text);
	}
}

/* Exactly `count` errors; each of the substrings is in one of them. */
static void expect_errors(u32 count, const char *const *parts)
{
	if (res.errors != count) {
		dump_errors();
		fail_msg("%u errors, expected %u", res.errors, count);
	}
	for (; *parts; parts++) {
		bool found = false;

		for (u32 i = 0; i < reported_count && i < MAX_ERRORS; i++)
			if (strstr(reported[i], *parts))
				found = true;
		if (!found) {
			dump_errors();
			fail_msg("no error says '%s'", *parts);
		}
	}
}

#define ERRORS(n, ...)                                                         \
	expect_errors(n, (const char *const[]){__VA_ARGS__, NULL})

/* Parse text (with only the modules given) and expect one error. */
static void one_error(const char *text, const char *part)
{
	if (parse(text) != 1)
		print_message("the configuration:\n%s\n", text);
	ERRORS(1, part);
}

/* ---- good configurations ---- */

static void test_two_guests_every_key(void **state)
{
	const struct guest_image *a = &images[0], *b = &images[1];

	(void)state;
	MODULES("boot/hello.elf", "boot/spin.elf", "boot/mod.bin");
	parse_ok("# two guests\n"
		 "[veneer]\n"
		 "stats = 5\n"
		 "shell = off\n"
		 "\n"
		 "[guest hello]\n"
		 "kernel = hello.elf\n"
		 "cmdline = \"veneer=1 note=a#b q=\\\"x\\\" back=\\\\\" # c\n"
		 "mem = 16M\n"
		 "format = elf\n"
		 "clock = virtual\n"
		 "pv = none\n"
		 "cpu = 2\n"
		 "vcpus = 1\n"
		 "console = hypervisor\n"
		 "on_poweroff = restart\n"
		 "on_reboot = stop\n"
		 "on_crash = restart\n"
		 "max_restarts = 3\n"
		 "start = boot\n"
		 "module = \"mod.bin one two\"\n"
		 "module = boot/mod.bin\n"
		 "\n"
		 "[guest spin-2]\n"
		 "kernel = boot/spin.elf\n");
	assert_int_equal(res.guests, 2);
	assert_true(res.stats_given);
	assert_int_equal(res.stats_seconds, 5);
	assert_true(res.shell_given);
	assert_false(res.shell);
	assert_int_equal(a->cfg.pv, GUEST_PV_NONE);
	assert_int_equal(b->cfg.pv, GUEST_PV_DEFAULT);
	/* Lifecycle: as given for hello, the defaults for spin-2. */
	assert_int_equal(a->cfg.on_poweroff, GUEST_POLICY_RESTART);
	assert_int_equal(a->cfg.on_reboot, GUEST_POLICY_STOP);
	assert_int_equal(a->cfg.on_crash, GUEST_POLICY_RESTART);
	assert_int_equal(a->cfg.max_restarts, 3);
	assert_int_equal(b->cfg.on_poweroff, GUEST_POLICY_STOP);
	assert_int_equal(b->cfg.on_reboot, GUEST_POLICY_RESTART);
	assert_int_equal(b->cfg.on_crash, GUEST_POLICY_STOP);
	assert_int_equal(b->cfg.max_restarts, GUESTCFG_RESTARTS_UNLIMITED);

	assert_string_equal(a->cfg.name, "hello");
	assert_ptr_equal(a->mod, &modules[1]);
	assert_string_equal(a->cfg.path, "boot/hello.elf");
	assert_string_equal(a->cfg.cmdline,
			    "veneer=1 note=a#b q=\"x\" back=\\");
	assert_int_equal(a->cfg.mem, MiB(16));
	assert_int_equal(a->cfg.format, GUEST_FORMAT_ELF);
	assert_true(a->cfg.virtual_clock);
	assert_false(a->cfg.real_mode);
	assert_true(a->cfg.cpu_fixed);
	assert_int_equal(a->cfg.vcpus, 1);
	assert_int_equal(a->cfg.cpu[0], 2);
	assert_string_equal(a->cfg.for_guest, "");
	assert_int_equal(a->module_count, 2);
	assert_ptr_equal(a->modules[0], &modules[3]);
	assert_ptr_equal(a->modules[1], &modules[3]);
	assert_string_equal(a->module_cfgs[0].path, "boot/mod.bin");
	assert_string_equal(a->module_cfgs[0].cmdline, "one two");
	assert_string_equal(a->module_cfgs[1].cmdline, "");

	assert_string_equal(b->cfg.name, "spin-2");
	assert_ptr_equal(b->mod, &modules[2]);
	assert_int_equal(b->cfg.mem, GUESTCFG_DEFAULT_MEM);
	assert_false(b->cfg.virtual_clock);
	assert_string_equal(b->cfg.cmdline, "");
	assert_int_equal(b->module_count, 0);
	/* The first free CPU other than the boot CPU. */
	assert_true(b->cfg.cpu_fixed);
	assert_int_equal(b->cfg.vcpus, 1);
	assert_int_equal(b->cfg.cpu[0], 1);
}

/* The configuration gives what the module string would (core/guestcfg.c). */
static void test_same_values_as_module_string(void **state)
{
	struct guest_cfg from_string;
	char err[160];

	(void)state;
	MODULES("boot/hello.elf");
	parse_ok("[guest h]\nkernel = hello.elf\nmem = 24M\nclock = virtual\n"
		 "cmdline = \"veneer=1 x\"\n");
	assert_int_equal(guestcfg_parse("boot/hello.elf name=h mem=24M "
					"clock=virtual -- veneer=1 x",
					&from_string, err, sizeof(err)),
			 0);
	assert_int_equal(from_string.vcpus, images[0].cfg.vcpus);
	assert_string_equal(from_string.name, images[0].cfg.name);
	assert_int_equal(from_string.mem, images[0].cfg.mem);
	assert_int_equal(from_string.format, images[0].cfg.format);
	assert_int_equal(from_string.load, images[0].cfg.load);
	assert_int_equal(from_string.real_mode, images[0].cfg.real_mode);
	assert_string_equal(from_string.for_guest, images[0].cfg.for_guest);
	assert_int_equal(from_string.virtual_clock,
			 images[0].cfg.virtual_clock);
	assert_string_equal(from_string.path, images[0].cfg.path);
	assert_string_equal(from_string.cmdline, images[0].cfg.cmdline);
	/* Only the configuration gives the CPU. */
	assert_false(from_string.cpu_fixed);
	assert_true(images[0].cfg.cpu_fixed);
	/* vcpus too: one rule, one number. */
	parse_ok("[guest h]\nkernel = hello.elf\nvcpus = 3\n");
	assert_int_equal(guestcfg_parse("boot/hello.elf vcpus=3", &from_string,
					err, sizeof(err)),
			 0);
	assert_int_equal(from_string.vcpus, 3);
	assert_int_equal(images[0].cfg.vcpus, 3);
}

static void test_defaults_and_cpu_order(void **state)
{
	(void)state;
	env.cpus = 3;
	MODULES("boot/hello.elf");
	parse_ok("[guest a]\nkernel = hello.elf\n"
		 "[guest b]\nkernel = hello.elf\n"
		 "[guest c]\nkernel = hello.elf\n");
	assert_int_equal(res.guests, 3);
	assert_false(res.stats_given);
	/* CPUs 1, 2, ... first, the boot CPU last; a kernel may be shared. */
	assert_int_equal(images[0].cfg.cpu[0], 1);
	assert_int_equal(images[1].cfg.cpu[0], 2);
	assert_int_equal(images[2].cfg.cpu[0], 0);
	for (u32 i = 0; i < 3; i++) {
		assert_int_equal(images[i].cfg.vcpus, 1);
		assert_true(images[i].cfg.cpu_fixed);
		assert_int_equal(images[i].cfg.mem, MiB(32));
		assert_int_equal(images[i].cfg.format, GUEST_FORMAT_ELF);
		assert_int_equal(images[i].cfg.load, GUESTCFG_RAW_LOAD);
		assert_ptr_equal(images[i].mod, &modules[1]);
	}
}

static void test_pinned_cpus_leave_the_rest(void **state)
{
	(void)state;
	env.cpus = 3;
	parse_ok("[guest a]\nkernel = hello.elf\n"
		 "[guest b]\nkernel = hello.elf\ncpu = 1\n"
		 "[guest c]\nkernel = hello.elf\n");
	assert_int_equal(images[0].cfg.cpu[0], 2);
	assert_int_equal(images[1].cfg.cpu[0], 1);
	assert_int_equal(images[2].cfg.cpu[0], 0);
}

static void test_raw_image(void **state)
{
	(void)state;
	MODULES("boot/realmode.bin", "boot/flat.img");
	parse_ok("[guest rm]\nkernel = realmode.bin\nmem = 2M\n"
		 "[guest pm]\nkernel = flat.img\nformat = raw\n"
		 "mode = protected\nload = 0x100000\n");
	assert_int_equal(images[0].cfg.format, GUEST_FORMAT_RAW);
	assert_true(images[0].cfg.real_mode);
	assert_int_equal(images[0].cfg.load, 0x7c00);
	assert_int_equal(images[1].cfg.format, GUEST_FORMAT_RAW);
	assert_false(images[1].cfg.real_mode);
	assert_int_equal(images[1].cfg.load, 0x100000);
}

static void test_linux_with_initrd(void **state)
{
	(void)state;
	MODULES("boot/vmlinuz", "boot/initramfs.cpio.gz");
	parse_ok("[guest linux]\nkernel = vmlinuz\ninitrd = initramfs.cpio.gz\n"
		 "mem = 256M\ncmdline = \"console=ttyS0 quiet\"\n");
	assert_int_equal(images[0].module_count, 1);
	assert_ptr_equal(images[0].modules[0], &modules[2]);
	assert_string_equal(images[0].cfg.cmdline, "console=ttyS0 quiet");
	/* Declared or found by its header: the same guest. */
	parse_ok("[guest linux]\nkernel = vmlinuz\nformat = linux\n"
		 "initrd = initramfs.cpio.gz\n");
	assert_int_equal(images[0].cfg.format, GUEST_FORMAT_LINUX);
}

/* disk = FILE [ro|rw]: virtio disks, repeatable up to GUEST_DISKS_MAX. */
static void test_disks(void **state)
{
	(void)state;
	MODULES("boot/vmlinuz", "boot/initramfs.cpio.gz", "boot/data.img",
		"boot/base.img");
	parse_ok("[guest linux]\nkernel = vmlinuz\ninitrd = initramfs.cpio.gz\n"
		 "disk = data.img\ndisk = \"base.img ro\"\ndisk = \"data.img "
		 "rw\"\n");
	assert_int_equal(images[0].disk_count, 3);
	assert_ptr_equal(images[0].disks[0].mod, &modules[3]);
	assert_false(images[0].disks[0].read_only);
	assert_ptr_equal(images[0].disks[1].mod, &modules[4]);
	assert_true(images[0].disks[1].read_only);
	assert_false(images[0].disks[2].read_only);
	/* Disks are not multiboot modules. */
	assert_int_equal(images[0].module_count, 1);
	MODULES("boot/vmlinuz", "boot/data.img");
	one_error("[guest linux]\nkernel = vmlinuz\ndisk = \"data.img rx\"\n",
		  "disk: 'rx' is not ro or rw");
	parse("[guest linux]\nkernel = vmlinuz\ndisk = dat.img\n");
	ERRORS(2, "disk: ", "data.img");
	MODULES("boot/vmlinuz", "boot/empty.img");
	one_error(
	    "[guest linux]\nkernel = vmlinuz\ndisk = empty.img\n",
	    "disk: 'empty.img' is 0 bytes, not a whole number of 512-byte");
	MODULES("boot/vmlinuz", "boot/data.img");
	one_error("[guest linux]\nkernel = vmlinuz\ndisk = data.img\n"
		  "disk = data.img\ndisk = data.img\ndisk = data.img\n"
		  "disk = data.img\n",
		  "disk: more than 4 disks");
}

static void test_layout_comments_crlf_bom(void **state)
{
	static const char text[] = "\xef\xbb\xbf# made on Windows\r\n"
				   "\r\n"
				   "   [ guest\ta ]   # the first\r\n"
				   "\tkernel\t=\thello.elf\t# its kernel\r\n"
				   "mem=8M\r\n"
				   "cmdline = \"\"\r\n"
				   "# the end, no newline";

	(void)state;
	parse_ok(text);
	assert_string_equal(images[0].cfg.name, "a");
	assert_int_equal(images[0].cfg.mem, MiB(8));
	assert_string_equal(images[0].cfg.cmdline, "");
}

/* A bare value ends at '#': the rest of the line is a comment. */
static void test_hash_ends_a_bare_value(void **state)
{
	(void)state;
	parse_ok("[guest a]\nkernel = hello.elf\ncmdline = x#y\n");
	assert_string_equal(images[0].cfg.cmdline, "x");
}

static void test_module_string_recognition(void **state)
{
	(void)state;
	assert_true(config_is_module_string("boot/two.cfg config"));
	assert_true(config_is_module_string("/boot/two.cfg config  "));
	assert_true(config_is_module_string("config"));
	assert_true(config_is_module_string("  config"));
	assert_false(config_is_module_string("boot/two.cfg"));
	assert_false(config_is_module_string("boot/two.cfg config x"));
	assert_false(config_is_module_string("boot/two.cfg configx"));
	assert_false(config_is_module_string("name=a config"));
	assert_false(config_is_module_string("boot/hello.elf name=config"));
	assert_false(config_is_module_string(""));
}

/* ---- the shape of an error line ---- */

static void test_error_line_format(void **state)
{
	(void)state;
	parse("[guest a]\nkernel = hello.elf\nmem = 12Q\n");
	assert_int_equal(res.errors, 1);
	assert_string_equal(reported[0],
			    "boot/two.cfg:3: guest a: mem: '12Q' is not a size "
			    "of at least 2M in whole 4K pages");
	MODULES("boot/hello.elf", "boot/extra.elf");
	parse("[guest a]\nkernel = hello.elf\n");
	assert_int_equal(res.errors, 1);
	assert_string_equal(reported[0],
			    "boot/two.cfg: module 2 (boot/extra.elf) is named "
			    "by no guest of the configuration");
}

/* Every error, not the first: five mistakes, five lines, file order. */
static void test_all_errors_reported(void **state)
{
	(void)state;
	MODULES("boot/hello.elf", "boot/spin.elf");
	parse("[guest a]\n"
	      "kernal = hello.elf\n"
	      "mem = lots\n"
	      "cpu = 9\n"
	      "[guest b]\n"
	      "kernel = spinn.elf\n"
	      "vcpus = 9\n");
	ERRORS(8,
	       "boot/two.cfg:2: guest a: kernal: unknown key (did you mean "
	       "kernel?)",
	       "boot/two.cfg:3: guest a: mem: 'lots' is not a size",
	       "boot/two.cfg:4: guest a: cpu: 9 does not exist: 4 CPUs online "
	       "(0-3)",
	       "boot/two.cfg:1: guest a: kernel: missing",
	       "boot/two.cfg:6: guest b: kernel: no module 'spinn.elf' (did "
	       "you mean 'spin.elf'?)",
	       "boot/two.cfg:7: guest b: vcpus: 9: a guest has at most 8 vCPUs",
	       /* Modules the guests would have named, had they been right. */
	       "boot/two.cfg: module 1 (boot/hello.elf) is named by no guest",
	       "boot/two.cfg: module 2 (boot/spin.elf) is named by no guest");
	/* In the order found: line by line, a section's checks at its end. */
	assert_non_null(strstr(reported[0], ":2:"));
	assert_non_null(strstr(reported[1], ":3:"));
	assert_non_null(strstr(reported[2], ":4:"));
	assert_non_null(strstr(reported[3], ":1:"));
	assert_non_null(strstr(reported[4], ":6:"));
	assert_non_null(strstr(reported[5], ":7:"));
}

/* More errors than are shown: all counted, the first 32 reported. */
static void test_error_count_beyond_shown(void **state)
{
	char text[4096];
	size_t at;

	(void)state;
	at = (size_t)snprintf(text, sizeof(text),
			      "[guest a]\nkernel = hello.elf\n");
	for (int i = 0; i < 40; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at,
				       "bogus%d = 1\n", i);
	assert_int_equal(parse(text), 40);
	assert_int_equal(reported_count, CONFIG_ERRORS_SHOWN);
}

/* ---- syntax ---- */

static void test_syntax_errors(void **state)
{
	(void)state;
	one_error("[guest a]\nkernel = hello.elf\nmem 16M\n",
		  ":3: mem: syntax: no '=' after the key");
	one_error("[guest a]\nkernel = hello.elf\nmem =\n",
		  ":3: mem: no value after '='");
	one_error("[guest a]\nkernel = hello.elf\nmem = # none\n",
		  ":3: mem: no value after '='");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = a b\n",
		  ":3: cmdline: text after the value ('b'): quote a value");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = a\"b\n",
		  ":3: cmdline: a '\"' inside a value: quote the whole value");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = \"abc\n",
		  ":3: cmdline: no '\"' ends the quoted value");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = \"a\\nb\"\n",
		  ":3: cmdline: '\\n' is not an escape");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = \"a\\\n",
		  ":3: cmdline: no '\"' ends the quoted value");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = \"a\" b\n",
		  ":3: cmdline: text after the value ('b')");
	one_error("[guest a]\nkernel = hello.elf\n= 5\n",
		  ":3: syntax: '= 5' is not KEY = VALUE");
	one_error("[guest a]\nkernel = hello.elf\n\"mem\" = 5\n",
		  ":3: syntax: '\"mem\" = 5' is not KEY = VALUE");
	one_error("mem = 16M\n[guest a]\nkernel = hello.elf\n",
		  ":1: mem: a key before any section");
}

static void test_section_errors(void **state)
{
	(void)state;
	/* A broken header: its keys are not checked, the others are. */
	parse("[guest a\nkernel = nothing\n[guest b]\nkernel = hello.elf\n");
	ERRORS(1, ":1: syntax: no ']' ends the section header");
	one_error("[guest b] x\nkernel = hello.elf\n[guest a]\n"
		  "kernel = hello.elf\n",
		  ":1: syntax: text after the section header ('x')");
	one_error("[guset a]\nkernel = hello.elf\n[guest b]\n"
		  "kernel = hello.elf\n",
		  ":1: [guset a]: unknown section (did you mean [guest]?)");
	one_error("[global]\nstats = 1\n[guest b]\nkernel = hello.elf\n",
		  ":1: [global]: unknown section: the sections are [veneer] "
		  "and [guest NAME]");
	one_error("[]\n[guest b]\nkernel = hello.elf\n",
		  ":1: []: unknown section");
	one_error("[veneer x]\nstats = 1\n[guest b]\nkernel = hello.elf\n",
		  ":1: [veneer x]: the [veneer] section has no name");
	one_error("[veneer]\n[veneer]\n[guest b]\nkernel = hello.elf\n",
		  ":2: [veneer]: a second [veneer] section (the first is at "
		  "line 1)");
	one_error("[guest a b]\nkernel = hello.elf\n",
		  ":1: [guest a b]: a guest name is one word");
	parse("[guest]\nkernel = hello.elf\n");
	ERRORS(1, ":1: [guest]: a guest section needs a name");
	one_error("[guest a/b]\nkernel = hello.elf\n",
		  ":1: guest a/b: the name is not 1-31 letters");
	one_error("[guest a23456789012345678901234567890123]\n"
		  "kernel = hello.elf\n",
		  "the name is not 1-31 letters");
}

static void test_duplicates(void **state)
{
	(void)state;
	one_error("[guest a]\nkernel = hello.elf\nmem = 8M\nmem = 16M\n",
		  ":4: guest a: mem: given twice (first at line 3)");
	one_error("[veneer]\nstats = 1\nstats = 2\n[guest a]\n"
		  "kernel = hello.elf\n",
		  ":3: veneer: stats: given twice (first at line 2)");
	one_error("[guest a]\nkernel = hello.elf\n[guest a]\n"
		  "kernel = hello.elf\n",
		  ":3: guest a: a second guest with this name (the first is at "
		  "line 1)");
	/* A kernel line that was wrong still counts as given. */
	parse("[guest a]\nkernel = nothing.elf\nkernel = hello.elf\n");
	ERRORS(3, ":2: guest a: kernel: no module 'nothing.elf'",
	       ":3: guest a: kernel: given twice (first at line 2)",
	       "module 1 (boot/hello.elf) is named by no guest");
}

/* ---- keys ---- */

static void test_unknown_keys(void **state)
{
	(void)state;
	one_error("[guest a]\nkernel = hello.elf\nmemory = 8M\n",
		  ":3: guest a: memory: unknown key (did you mean mem?)");
	one_error("[guest a]\nkernel = hello.elf\nMem = 8M\n",
		  "Mem: unknown key (did you mean mem?)");
	one_error("[guest a]\nkernel = hello.elf\ncmd = x\n",
		  "cmd: unknown key (did you mean cmdline?)");
	one_error("[guest a]\nkernel = hello.elf\ninitramfs = x\n",
		  "initramfs: unknown key (did you mean initrd?)");
	one_error("[guest a]\nkernel = hello.elf\nxyzzy = 1\n",
		  "xyzzy: unknown key (docs/config.md lists the keys)");
	one_error("[guest a]\nkernel = hello.elf\nstats = 1\n",
		  "guest a: stats: a key of [veneer], not of a guest");
	one_error("[guest a]\nkernel = hello.elf\nname = b\n",
		  "guest a: name: a guest's name is in its section header");
	one_error("[veneer]\nmem = 8M\n[guest a]\nkernel = hello.elf\n",
		  ":2: veneer: mem: a key of [guest NAME], not of [veneer]");
	one_error("[veneer]\nstat = 8\n[guest a]\nkernel = hello.elf\n",
		  ":2: veneer: stat: unknown key (did you mean stats?)");
	one_error("[guest a]\nkernel = hello.elf\n"
		  "a_very_long_key_that_is_close_to_nothing_at_all = 1\n",
		  "unknown key (docs/config.md");
}

static void test_bad_values(void **state)
{
	(void)state;
	one_error("[guest a]\nkernel = hello.elf\nmem = 1M\n",
		  "mem: '1M' is not a size of at least 2M");
	one_error("[guest a]\nkernel = hello.elf\nmem = 2049K\n",
		  "mem: '2049K' is not a size of at least 2M in whole 4K");
	one_error("[guest a]\nkernel = hello.elf\nmem = 99999999999G\n",
		  "mem: '99999999999G' is not a size");
	one_error("[guest a]\nkernel = hello.elf\nformat = exe\n",
		  "format: 'exe' is not elf, raw or linux");
	one_error("[guest a]\nkernel = hello.elf\nclock = fast\n",
		  "clock: 'fast' is not virtual or host");
	one_error("[guest a]\nkernel = hello.elf\nmode = long\n",
		  "mode: 'long' is not real or protected");
	one_error("[guest a]\nkernel = hello.elf\nmode = real\n",
		  ":3: guest a: mode: real needs format=raw");
	one_error("[guest a]\nkernel = hello.elf\nload = 0x8000\n",
		  ":3: guest a: load: only a raw image (format = raw)");
	one_error("[guest a]\nkernel = hello.elf\nformat = raw\nload = 12z\n",
		  "load: '12z' is not a number");
	one_error("[guest a]\nkernel = hello.elf\ncpu = one\n",
		  "cpu: 'one' is not a CPU number");
	one_error("[guest a]\nkernel = hello.elf\ncpu = -1\n",
		  "cpu: '-1' is not a CPU number");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 0\n",
		  "vcpus: 0: a guest has at least one vCPU");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = many\n",
		  "vcpus: 'many' is not a number");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 9\n",
		  ":3: guest a: vcpus: 9: a guest has at most 8 vCPUs");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 0x2\n",
		  "vcpus: '0x2' is not a number");
	one_error("[guest a]\nkernel = hello.elf\nconsole = tty\n",
		  "console: 'tty' is not hypervisor");
	one_error("[guest a]\nkernel = hello.elf\non_crash = explode\n",
		  "on_crash: 'explode' is not stop or restart");
	one_error("[guest a]\nkernel = hello.elf\npv = xen\n",
		  "pv: 'xen' is not kvm or none");
	one_error("[guest a]\nkernel = hello.elf\non_reboot = halt\n",
		  "on_reboot: 'halt' is not stop or restart");
	one_error("[guest a]\nkernel = hello.elf\nmax_restarts = -1\n",
		  "max_restarts: '-1' is not a number from 0 to 1000000");
	one_error("[guest a]\nkernel = hello.elf\nmax_restarts = 1000001\n",
		  "max_restarts: '1000001' is not a number from 0 to 1000000");
	one_error("[guest a]\nkernel = hello.elf\nmax_restart = 3\n",
		  "max_restart: unknown key (did you mean max_restarts?)");
	one_error("[guest a]\nkernel = hello.elf\nstart = never\n",
		  "start: 'never' is not boot or later");
	one_error("[veneer]\nstats = 86401\n[guest a]\nkernel = hello.elf\n",
		  ":2: veneer: stats: '86401' is not a number of seconds from "
		  "0 to 86400");
	one_error("[veneer]\nstats = -1\n[guest a]\nkernel = hello.elf\n",
		  "stats: '-1' is not a number of seconds");
}

/* What Veneer cannot do yet is refused, never accepted and ignored. */
static void test_devices(void **state)
{
	(void)state;
	parse_ok("[guest a]\nkernel = hello.elf\ndevices = virtio-console\n"
		 "[guest b]\nkernel = hello.elf\ndevices = none\n"
		 "[guest c]\nkernel = hello.elf\n"
		 "[guest d]\nkernel = hello.elf\ndevices = \" virtio-console "
		 "\"\n");
	assert_int_equal(images[0].cfg.devices, GUEST_DEV_VIRTIO_CONSOLE);
	assert_int_equal(images[1].cfg.devices, 0);
	assert_int_equal(images[2].cfg.devices, 0);
	assert_int_equal(images[3].cfg.devices, GUEST_DEV_VIRTIO_CONSOLE);
	one_error("[guest a]\nkernel = hello.elf\ndevices = vga\n",
		  CFG_FILE ":3: guest a: devices: 'vga' is not a device "
			   "(known: virtio-console, virtio-net, or none)");
	one_error("[guest a]\nkernel = hello.elf\n"
		  "devices = \"virtio-console, virtio-console\"\n",
		  ":3: guest a: devices: 'virtio-console' given twice");
	one_error("[guest a]\nkernel = hello.elf\ndevices = virtio-console,\n",
		  ":3: guest a: devices: '' is not a device");
	one_error("[guest a]\nkernel = hello.elf\ndevices = none,"
		  "virtio-console\n",
		  ":3: guest a: devices: 'none' is not a device");
	one_error("[guest a]\nkernel = hello.elf\nconsole = com2\n"
		  "devices = virtio-console\n",
		  CFG_FILE ":4: guest a: devices: virtio-console is "
			   "multiplexed on the hypervisor console; this guest "
			   "has a serial port of its own (console, line 3)");
}

/* A NIC's MAC: given or Veneer's; one NIC each. */
static void test_mac(void **state)
{
	static const u8 mac[6] = {0x02, 0, 0, 0, 0, 0x0a};

	(void)state;
	parse_ok("[guest a]\nkernel = hello.elf\ndevices = virtio-net\n"
		 "mac = 02:00:00:00:00:0a\n"
		 "[guest b]\nkernel = hello.elf\ndevices = virtio-net\n");
	assert_int_equal(images[0].cfg.devices, GUEST_DEV_VIRTIO_NET);
	assert_true(images[0].cfg.mac_given);
	assert_memory_equal(images[0].cfg.mac, mac, sizeof(mac));
	assert_false(images[1].cfg.mac_given);
	one_error("[guest a]\nkernel = hello.elf\nmac = 02:00:00:00:00:0a\n",
		  CFG_FILE ":3: guest a: mac: only a guest with "
			   "devices=virtio-net has a MAC");
	one_error("[guest a]\nkernel = hello.elf\ndevices = virtio-net\n"
		  "mac = ff:ff:ff:ff:ff:ff\n",
		  CFG_FILE ":4: guest a: mac: ff:ff:ff:ff:ff:ff is a multicast "
			   "address");
	one_error("[guest a]\nkernel = hello.elf\ndevices = virtio-net\n"
		  "mac = 02:00:00:00:00:0a\n"
		  "[guest b]\nkernel = hello.elf\ndevices = virtio-net\n"
		  "mac = 02:00:00:00:00:0A\n",
		  CFG_FILE ":8: guest b: mac: 02:00:00:00:00:0a is guest a's "
			   "already (a MAC names one NIC)");
}

static void test_pci(void **state)
{
	(void)state;
	parse_ok("[guest a]\nkernel = hello.elf\npci = 00:03.0,00:04.0\n"
		 "[guest b]\nkernel = hello.elf\npci = 01:00.0\n");
	assert_int_equal(images[0].cfg.pci_count, 2);
	assert_int_equal(images[0].cfg.pci[1], 0x0020);
	assert_int_equal(images[1].cfg.pci[0], 0x0100);
	one_error("[guest a]\nkernel = hello.elf\npci = 00:03.0\n"
		  "[guest b]\nkernel = hello.elf\npci = 00:04.0,00:03.0\n",
		  CFG_FILE
		  ":6: guest b: pci: 00:03.0 is already guest a's: one "
		  "guest per device");
	one_error("[guest a]\nkernel = hello.elf\npci = 3\n",
		  CFG_FILE ":3: guest a: pci: '3' is not a PCI address "
			   "(bus:device.function in hex, e.g. 00:03.0)");
}

static void test_not_supported_yet(void **state)
{
	static const struct {
		const char *line, *error;
	} global[] = {
	    {"serial = ttyS1", "veneer: serial: ttyS1: not supported yet"},
	    {"smp = 2", "veneer: smp: 2: not supported yet"},
	    {"shell = maybe", "veneer: shell: 'maybe' is not on or off"},
	};
	char text[256];

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(global); i++) {
		snprintf(text, sizeof(text),
			 "[veneer]\n%s\n[guest a]\nkernel = hello.elf\n",
			 global[i].line);
		one_error(text, global[i].error);
	}
}

/* ---- start = later, log_level ---- */

static void test_start_later_accepted(void **state)
{
	(void)state;
	env.cpus = 3;
	parse_ok("[guest a]\nkernel = hello.elf\n"
		 "[guest b]\nkernel = hello.elf\nstart = later\nvcpus = 2\n");
	assert_int_equal(res.guests, 2);
	assert_false(images[0].cfg.start_later);
	assert_true(images[1].cfg.start_later);
	/* Placed like any guest: its CPUs are its own from boot on. */
	assert_true(images[1].cfg.cpu_fixed);
	assert_int_equal(images[0].cfg.cpu[0], 1);
	assert_int_equal(images[1].cfg.cpu[0], 2);
	assert_int_equal(images[1].cfg.cpu[1], 0);
	/* boot is the default, written out or not. */
	parse_ok("[guest a]\nkernel = hello.elf\nstart = boot\n"
		 "[guest b]\nkernel = hello.elf\nstart = later\n"
		 "[veneer]\nshell = on\n");
	assert_false(images[0].cfg.start_later);
	assert_true(images[1].cfg.start_later);
	/* Its memory is counted like any guest's: it is created at boot. */
	env.free_bytes = MiB(40);
	parse("[guest a]\nkernel = hello.elf\nmem = 16M\n"
	      "[guest b]\nkernel = hello.elf\nmem = 32M\nstart = later\n");
	ERRORS(1, ":6: guest b: mem: 32 MiB does not fit");
}

static void test_start_later_refused(void **state)
{
	(void)state;
	one_error("[guest a]\nkernel = hello.elf\nstart = Later\n",
		  ":3: guest a: start: 'Later' is not boot or later");
	one_error("[guest a]\nkernel = hello.elf\nstart = \"\"\n",
		  "guest a: start: '' is not boot or later");
	one_error("[guest a]\nkernel = hello.elf\nstart = later\n"
		  "[guest b]\nkernel = hello.elf\n"
		  "start = boot\nstart = later\n",
		  ":7: guest b: start: given twice (first at line 6)");
	/* Nothing would run, so nothing could ever start it. */
	one_error("[guest a]\nkernel = hello.elf\nstart = later\n",
		  CFG_FILE ": every guest has start = later: none would run "
			   "at boot, and Veneer powers off when no guest runs; "
			   "give one start = boot");
	parse("[guest a]\nkernel = hello.elf\nstart = later\n"
	      "[guest b]\nkernel = hello.elf\nstart = later\n");
	ERRORS(1, "every guest has start = later");
	/* Without the shell nobody could type start NAME. */
	parse("[veneer]\nshell = off\n"
	      "[guest a]\nkernel = hello.elf\n"
	      "[guest b]\nkernel = hello.elf\nstart = later\n"
	      "[guest c]\nkernel = hello.elf\nstart = later\n");
	ERRORS(2,
	       CFG_FILE ":7: guest b: start: later needs the operator shell "
			"to start it, but [veneer] has shell = off (line 2)",
	       ":10: guest c: start: later needs the operator shell");
	/* A later guest that is wrong otherwise is still only that. */
	parse("[guest a]\nkernel = hello.elf\n"
	      "[guest b]\nkernel = nothere.elf\nstart = later\n");
	ERRORS(1, ":4: guest b: kernel: no module 'nothere.elf'");
}

static void test_log_level(void **state)
{
	static const struct {
		const char *value;
		enum log_level level;
	} good[] = {
	    {"error", LOG_ERROR},
	    {"info", LOG_INFO},
	    {"\"debug\"", LOG_DEBUG},
	};
	char text[128];

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(text, sizeof(text),
			 "[veneer]\nlog_level = %s # comment\n"
			 "[guest a]\nkernel = hello.elf\n",
			 good[i].value);
		parse_ok(text);
		assert_true(res.log_level_given);
		assert_int_equal(res.log_level, good[i].level);
	}
	parse_ok("[veneer]\nstats = 1\n[guest a]\nkernel = hello.elf\n");
	assert_false(res.log_level_given);
	one_error("[veneer]\nlog_level = verbose\n[guest a]\nkernel = "
		  "hello.elf\n",
		  CFG_FILE
		  ":2: veneer: log_level: 'verbose' is not error, info "
		  "or debug");
	one_error("[veneer]\nlog_level = INFO\n[guest a]\nkernel = "
		  "hello.elf\n",
		  ":2: veneer: log_level: 'INFO' is not error, info or debug");
	one_error("[veneer]\nlog_level = info\nlog_level = debug\n"
		  "[guest a]\nkernel = hello.elf\n",
		  ":3: veneer: log_level: given twice (first at line 2)");
	one_error("[veneer]\nlog_level =\n[guest a]\nkernel = hello.elf\n",
		  ":2: log_level: no value after '='");
	one_error("[guest a]\nkernel = hello.elf\nlog_level = debug\n",
		  ":3: guest a: log_level: a key of [veneer], not of a guest");
	one_error("[veneer]\nloglevel = debug\n[guest a]\nkernel = "
		  "hello.elf\n",
		  "loglevel: unknown key (did you mean log_level?)");
	/* A refused value is not taken. */
	assert_false(res.log_level_given);
}

/* ---- [veneer] baud ---- */

static void test_baud(void **state)
{
	static const u32 good[] = {115200, 57600, 38400, 9600, 300, 1};
	static const char *const bad[] = {"0",	    "9601",  "230400", "fast",
					  "9600.0", "-9600", "1e5"};
	char text[128], want[64];

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(text, sizeof(text),
			 "[veneer]\nbaud = %u\n[guest a]\nkernel = hello.elf\n",
			 good[i]);
		parse_ok(text);
		assert_true(res.baud_given);
		assert_int_equal(res.baud, good[i]);
	}
	parse_ok("[guest a]\nkernel = hello.elf\n");
	assert_false(res.baud_given);
	for (u32 i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text),
			 "[veneer]\nbaud = %s\n[guest a]\nkernel = hello.elf\n",
			 bad[i]);
		snprintf(want, sizeof(want),
			 ":2: veneer: baud: '%s' is not a speed the UART",
			 bad[i]);
		one_error(text, want);
		assert_false(res.baud_given);
	}
}

/* ---- console = comN, [veneer] color ---- */

static void test_console_ports(void **state)
{
	(void)state;
	parse_ok("[guest a]\nkernel = hello.elf\nconsole = com2\n"
		 "[guest b]\nkernel = hello.elf\nconsole = ttyS2\n"
		 "[guest c]\nkernel = hello.elf\nconsole = hypervisor\n"
		 "[guest d]\nkernel = hello.elf\n");
	assert_int_equal(images[0].cfg.console_port, 0x2f8);
	assert_int_equal(images[1].cfg.console_port, 0x3e8);
	assert_int_equal(images[2].cfg.console_port, 0);
	assert_int_equal(images[3].cfg.console_port, 0);
	one_error("[guest a]\nkernel = hello.elf\nconsole = com1\n",
		  CFG_FILE ":3: guest a: console: com1 (0x3f8) is Veneer's own "
			   "console: a guest cannot have it (serial= on the "
			   "command line moves Veneer's)");
	one_error("[guest a]\nkernel = hello.elf\nconsole = ttyS0\n",
		  ":3: guest a: console: ttyS0 (0x3f8) is Veneer's own");
	one_error("[guest a]\nkernel = hello.elf\nconsole = com2\n"
		  "[guest b]\nkernel = hello.elf\nconsole = ttyS1\n",
		  CFG_FILE ":6: guest b: console: ttyS1 (0x2f8) is already "
			   "guest a's (line 3): one guest per port");
	one_error("[guest a]\nkernel = hello.elf\nconsole = com5\n",
		  ":3: guest a: console: 'com5' is not hypervisor or a serial "
		  "port com1-com4 (ttyS0-ttyS3)");
	one_error("[guest a]\nkernel = hello.elf\nconsole = COM2\n",
		  "console: 'COM2' is not hypervisor or a serial port");
	one_error("[guest a]\nkernel = hello.elf\nconsole = com2\n"
		  "console = com3\n",
		  ":4: guest a: console: given twice");
	/* Veneer's console elsewhere (serial=ttyS1): COM1 is free. */
	env.console_port = 0x2f8;
	parse_ok("[guest a]\nkernel = hello.elf\nconsole = com1\n");
	assert_int_equal(images[0].cfg.console_port, 0x3f8);
	one_error("[guest a]\nkernel = hello.elf\nconsole = com2\n",
		  "console: com2 (0x2f8) is Veneer's own console");
}

static void test_color(void **state)
{
	(void)state;
	parse_ok("[veneer]\ncolor = on\n[guest a]\nkernel = hello.elf\n");
	assert_true(res.color_given);
	assert_true(res.color);
	parse_ok("[veneer]\ncolor = off\n[guest a]\nkernel = hello.elf\n");
	assert_true(res.color_given);
	assert_false(res.color);
	parse_ok("[veneer]\nstats = 1\n[guest a]\nkernel = hello.elf\n");
	assert_false(res.color_given);
	one_error("[veneer]\ncolor = yes\n[guest a]\nkernel = hello.elf\n",
		  CFG_FILE ":2: veneer: color: 'yes' is not on or off");
	assert_false(res.color_given);
	one_error("[guest a]\nkernel = hello.elf\ncolor = on\n",
		  ":3: guest a: color: a key of [veneer], not of a guest");
	one_error("[veneer]\ncolour = on\n[guest a]\nkernel = hello.elf\n",
		  "colour: unknown key (did you mean color?)");
}

/* ---- modules ---- */

static void test_missing_modules(void **state)
{
	(void)state;
	MODULES("boot/hello.elf");
	parse("[guest a]\n");
	ERRORS(2, ":1: guest a: kernel: missing: a guest needs kernel = FILE",
	       "module 1 (boot/hello.elf) is named by no guest");
	parse("[guest a]\nkernel = nothere.elf\n");
	ERRORS(2, ":2: guest a: kernel: no module 'nothere.elf' was loaded",
	       "module 1 (boot/hello.elf) is named by no guest");
	parse("[guest a]\nkernel = hello.elf\nmodule = initrd.img\n");
	ERRORS(1, ":3: guest a: module: no module 'initrd.img'");
	one_error("[guest a]\nkernel = two.cfg\nmodule = hello.elf\n",
		  ":2: guest a: kernel: 'two.cfg' is this configuration file");
	one_error("[guest a]\nkernel = \"hello.elf x\"\n",
		  "kernel: 'hello.elf x' is not one file name");
}

/* Two modules with one base name: the whole path tells them apart. */
static void test_ambiguous_modules(void **state)
{
	(void)state;
	MODULES("boot/a/hello.elf", "boot/b/hello.elf");
	parse("[guest a]\nkernel = hello.elf\n[guest b]\n"
	      "kernel = boot/b/hello.elf\n");
	ERRORS(2,
	       ":2: guest a: kernel: 'hello.elf' names two modules, 1 "
	       "(boot/a/hello.elf) and 2 (boot/b/hello.elf): give the whole "
	       "path",
	       "module 1 (boot/a/hello.elf) is named by no guest");
	parse_ok("[guest a]\nkernel = boot/a/hello.elf\n[guest b]\n"
		 "kernel = boot/b/hello.elf\n");
	assert_ptr_equal(images[0].mod, &modules[1]);
	assert_ptr_equal(images[1].mod, &modules[2]);
}

static void test_boot_module_strings(void **state)
{
	(void)state;
	MODULES("boot/hello.elf name=x mem=8M");
	one_error("[guest a]\nkernel = hello.elf\n",
		  "boot/two.cfg: module 1 ('boot/hello.elf name=x mem=8M'): "
		  "with a configuration a module string is the file's path "
		  "alone");
	MODULES("boot/hello.elf", "");
	one_error("[guest a]\nkernel = hello.elf\n",
		  "module 2: its string is empty, so nothing can name it");
	MODULES("boot/hello.elf", "boot/other.cfg config");
	one_error("[guest a]\nkernel = hello.elf\n",
		  "module 2 (boot/other.cfg): a second configuration");
	MODULES("boot/hello.elf", "boot/long.elf");
	modules[2].string_len = 700;
	one_error("[guest a]\nkernel = hello.elf\nmodule = long.elf\n",
		  "module 2 ('boot/long.elf...'): its string is 700 bytes, "
		  "longer than the 511 Veneer keeps");
}

static void test_module_limits(void **state)
{
	char text[1024], args[600];
	size_t at;

	(void)state;
	MODULES("boot/hello.elf", "boot/m.bin");
	at = (size_t)snprintf(text, sizeof(text),
			      "[guest a]\nkernel = hello.elf\n");
	for (int i = 0; i < GUEST_MODULES_MAX + 1; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at,
				       "module = m.bin\n");
	one_error(text, ":11: guest a: module: more than 8 modules");
	memset(args, 'a', sizeof(args));
	args[sizeof(args) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "[guest a]\nkernel = hello.elf\nmodule = \"m.bin %s\"\n",
		 args + 87);
	one_error(text, "module: its arguments are 512 bytes, at most 511");
	snprintf(text, sizeof(text),
		 "[guest a]\nkernel = hello.elf\nmodule = \"m.bin %s\"\n",
		 args + 88);
	parse_ok(text);
	MODULES("boot/hello.elf");
	snprintf(text, sizeof(text),
		 "[guest a]\nkernel = hello.elf\ncmdline = %s\n", args + 87);
	one_error(text, "cmdline: 512 bytes, at most 511");
	snprintf(text, sizeof(text),
		 "[guest a]\nkernel = hello.elf\ncmdline = %s\n", args + 88);
	parse_ok(text);
	assert_int_equal(strlen(images[0].cfg.cmdline), 511);
}

/* Which modules a format takes, and kernels of the wrong format. */
static void test_formats_and_modules(void **state)
{
	(void)state;
	MODULES("boot/hello.elf", "boot/initrd.img");
	one_error("[guest a]\nkernel = hello.elf\ninitrd = initrd.img\n",
		  ":3: guest a: initrd: only a Linux guest has an initrd");
	MODULES("boot/vmlinuz", "boot/initrd.img");
	one_error("[guest a]\nkernel = vmlinuz\nmodule = initrd.img\n",
		  ":3: guest a: module: a Linux guest takes one module, its "
		  "initrd");
	one_error("[guest a]\nkernel = vmlinuz\ninitrd = \"initrd.img x\"\n",
		  "initrd: 'initrd.img x' is not one file name");
	one_error("[guest a]\nkernel = vmlinuz\ninitrd = initrd.img\n"
		  "mode = real\n",
		  ":4: guest a: mode: real needs format = raw");
	MODULES("boot/rm.bin", "boot/initrd.img");
	one_error("[guest a]\nkernel = rm.bin\nmodule = initrd.img\n",
		  ":3: guest a: module: a raw image takes no modules");
	MODULES("boot/notelf.img");
	one_error("[guest a]\nkernel = notelf.img\n",
		  ":2: guest a: kernel: boot/notelf.img is not an ELF file "
		  "(format = elf); a flat binary needs format = raw");
	MODULES("boot/hello.elf");
	one_error("[guest a]\nkernel = hello.elf\nformat = linux\n",
		  ":2: guest a: kernel: boot/hello.elf is not a Linux bzImage");
	MODULES("boot/empty.elf");
	one_error("[guest a]\nkernel = empty.elf\n",
		  "kernel: boot/empty.elf is empty");
	MODULES("boot/rm.bin");
	one_error(
	    "[guest a]\nkernel = rm.bin\nload = 0x100000\n",
	    ":3: guest a: load: 0x100000 is outside the guest's RAM below "
	    "1 MiB (real mode)");
	/* Without the modules' bytes the declared format is believed. */
	env.module_data = NULL;
	MODULES("boot/notelf.img");
	parse_ok("[guest a]\nkernel = notelf.img\n");
}

/* ---- CPUs and memory ---- */

static void test_cpus(void **state)
{
	(void)state;
	env.cpus = 2;
	one_error("[guest a]\nkernel = hello.elf\ncpu = 2\n",
		  ":3: guest a: cpu: 2 does not exist: 2 CPUs online (0-1)");
	env.cpus = 1;
	one_error("[guest a]\nkernel = hello.elf\ncpu = 1\n",
		  "cpu: 1 does not exist: 1 CPU online (0-0)");
	env.cpus = 4;
	one_error("[guest a]\nkernel = hello.elf\ncpu = 3\n"
		  "[guest b]\nkernel = hello.elf\ncpu = 3\n",
		  ":6: guest b: cpu: 3 is already given to guest a (line 3): "
		  "one vCPU per CPU");
	env.cpus = 2;
	one_error(
	    "[guest a]\nkernel = hello.elf\n[guest b]\n"
	    "kernel = hello.elf\n[guest c]\nkernel = hello.elf\n",
	    "boot/two.cfg:5: guest c: cpu: not enough CPUs left for its 1 "
	    "vCPU: 0 left of 2 online (one vCPU each)");
	parse_ok("[guest a]\nkernel = hello.elf\ncpu = 0\n"
		 "[guest b]\nkernel = hello.elf\n");
	assert_int_equal(images[0].cfg.cpu[0], 0);
	assert_int_equal(images[1].cfg.cpu[0], 1);
}

/* ---- several vCPUs ---- */

static void test_vcpus_accepted(void **state)
{
	(void)state;
	env.cpus = 8;
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 8\n");
	assert_int_equal(images[0].cfg.vcpus, 8);
	assert_true(images[0].cfg.cpu_fixed);
	/* Every CPU, the boot CPU last. */
	for (u32 i = 0; i < 8; i++)
		assert_int_equal(images[0].cfg.cpu[i], (i + 1) % 8);
	env.cpus = 2;
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 2\n");
	assert_int_equal(images[0].cfg.cpu[0], 1);
	assert_int_equal(images[0].cfg.cpu[1], 0);
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 1\nclock = virtual\n");
	assert_int_equal(images[0].cfg.vcpus, 1);
	assert_true(images[0].cfg.virtual_clock);
}

/* Guests without cpu: a free CPU per vCPU, in file order. */
static void test_vcpus_assigned(void **state)
{
	(void)state;
	env.cpus = 4;
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 2\n"
		 "[guest b]\nkernel = hello.elf\nvcpus = 2\n");
	assert_int_equal(images[0].cfg.cpu[0], 1);
	assert_int_equal(images[0].cfg.cpu[1], 2);
	assert_int_equal(images[1].cfg.cpu[0], 3);
	assert_int_equal(images[1].cfg.cpu[1], 0);
	/* Around a guest that lists its CPUs, wherever it is in the file. */
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 2\n"
		 "[guest b]\nkernel = hello.elf\ncpu = 2, 1\nvcpus = 2\n");
	assert_int_equal(images[0].cfg.cpu[0], 3);
	assert_int_equal(images[0].cfg.cpu[1], 0);
	assert_int_equal(images[1].cfg.cpu[0], 2);
	assert_int_equal(images[1].cfg.cpu[1], 1);
	/* All or nothing: b cannot have two, so c gets the one left. */
	parse("[guest a]\nkernel = hello.elf\nvcpus = 3\n"
	      "[guest b]\nkernel = hello.elf\nvcpus = 2\n"
	      "[guest c]\nkernel = hello.elf\n");
	ERRORS(1, "boot/two.cfg:4: guest b: cpu: not enough CPUs left for its "
		  "2 vCPUs: 1 left of 4 online (one vCPU each)");
	assert_int_equal(images[2].cfg.cpu[0], 0);
	one_error(
	    "[guest a]\nkernel = hello.elf\ncpu = 1, 2, 3\nvcpus = 3\n"
	    "[guest b]\nkernel = hello.elf\nvcpus = 4\n",
	    "boot/two.cfg:5: guest b: cpu: not enough CPUs left for its 4 "
	    "vCPUs: 1 left of 4 online (one vCPU each)");
}

static void test_vcpus_refused(void **state)
{
	(void)state;
	env.cpus = 4;
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 5\n",
		  "boot/two.cfg:3: guest a: vcpus: 5: more than the 4 CPUs "
		  "online (each vCPU needs a host CPU of its own unless "
		  "shared = yes)");
	env.cpus = 1;
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\n",
		  ":3: guest a: vcpus: 2: more than the 1 CPU online (each "
		  "vCPU needs a host CPU of its own unless shared = yes)");
	/* The limit of a guest comes first, whatever the CPUs online. */
	env.cpus = 64;
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 9\n",
		  ":3: guest a: vcpus: 9: a guest has at most 8 vCPUs");
	env.cpus = 4;
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 0\n",
		  ":3: guest a: vcpus: 0: a guest has at least one vCPU");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = \"2 \"\n",
		  "vcpus: '2 ' is not a number");
	/* A refused vcpus leaves one vCPU, so nothing else follows from it. */
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 5\ncpu = 1, 2\n",
		  ":3: guest a: vcpus: 5: more than the 4 CPUs online");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 5\n"
		  "[guest b]\nkernel = hello.elf\nvcpus = 3\n",
		  ":3: guest a: vcpus: 5: more than");
}

/*
 * One TSC for every vCPU, which clock = virtual stops only while none is
 * in guest time: it goes with any vcpus (docs/guests.md).
 */
static void test_virtual_clock_with_vcpus(void **state)
{
	(void)state;
	parse_ok("[guest a]\nkernel = hello.elf\nclock = virtual\n"
		 "vcpus = 2\n");
	assert_true(images[0].cfg.virtual_clock);
	assert_int_equal(images[0].cfg.vcpus, 2);
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 2\nclock = host\n");
	assert_false(images[0].cfg.virtual_clock);
}

/*
 * shared = yes: vCPUs that share host CPUs, with each other and with other
 * shared guests, never with a partitioned guest; weight only with it.
 */
static void test_shared_cpus(void **state)
{
	(void)state;
	env.cpus = 4;
	/* Three guests on CPU 1, in either key order; one lists 1 twice. */
	parse_ok("[guest a]\nkernel = hello.elf\nshared = yes\ncpu = 1\n"
		 "[guest b]\nkernel = hello.elf\ncpu = 1\nshared = yes\n"
		 "weight = 300\n"
		 "[guest c]\nkernel = hello.elf\nvcpus = 2\ncpu = 1, 1\n"
		 "shared = yes\n");
	for (u32 i = 0; i < 3; i++) {
		assert_true(images[i].cfg.shared);
		assert_int_equal(images[i].cfg.cpu[0], 1);
	}
	assert_int_equal(images[0].cfg.weight, 100);
	assert_int_equal(images[1].cfg.weight, 300);
	assert_int_equal(images[2].cfg.cpu[1], 1);
	/* More vCPUs than CPUs: least loaded first, 1, 2, 3, then 0. */
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 6\nshared = yes\n");
	assert_int_equal(images[0].cfg.vcpus, 6);
	{
		static const u32 want[6] = {1, 2, 3, 0, 1, 2};

		for (u32 j = 0; j < 6; j++)
			assert_int_equal(images[0].cfg.cpu[j], want[j]);
	}
	/* Partitioned guests get theirs first, whatever the order. */
	parse_ok("[guest a]\nkernel = hello.elf\n"
		 "[guest s]\nkernel = hello.elf\nvcpus = 3\nshared = yes\n"
		 "[guest b]\nkernel = hello.elf\n"
		 "[guest t]\nkernel = hello.elf\nshared = yes\ncpu = 3\n");
	assert_int_equal(images[0].cfg.cpu[0], 1);
	assert_int_equal(images[2].cfg.cpu[0], 2);
	/* CPU 3 has t's vCPU: s goes on 0, then 3 and 0 in turn. */
	assert_int_equal(images[1].cfg.cpu[0], 0);
	assert_int_equal(images[1].cfg.cpu[1], 3);
	assert_int_equal(images[1].cfg.cpu[2], 0);
	assert_int_equal(images[3].cfg.cpu[0], 3);
	/* shared = no is the default, said out loud. */
	parse_ok("[guest a]\nkernel = hello.elf\nshared = no\n");
	assert_false(images[0].cfg.shared);
}

static void test_shared_errors(void **state)
{
	(void)state;
	env.cpus = 4;
	one_error("[guest a]\nkernel = hello.elf\nshared = yes\ncpu = 1\n"
		  "[guest b]\nkernel = hello.elf\ncpu = 1\n",
		  "boot/two.cfg:7: guest b: cpu: 1 is already given to guest a "
		  "(line 4): it shares its CPUs, this guest does not (shared = "
		  "yes shares a CPU)");
	one_error(
	    "[guest a]\nkernel = hello.elf\ncpu = 2\n"
	    "[guest b]\nkernel = hello.elf\nshared = yes\ncpu = 2\n",
	    ":7: guest b: cpu: 2 is already given to guest a (line 3): one "
	    "vCPU per CPU; only guests with shared = yes share one");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 1, 1\n",
		  ":4: guest a: cpu: 1 is listed twice: each vCPU needs a host "
		  "CPU of its own (unless shared = yes)");
	one_error(
	    "[guest a]\nkernel = hello.elf\nshared = yes\nweight = 0\n",
	    ":4: guest a: weight: 0: a weight is 1 to 1000 (default 100)");
	one_error("[guest a]\nkernel = hello.elf\nshared = yes\n"
		  "weight = 1001\n",
		  ":4: guest a: weight: 1001: a weight is 1 to 1000");
	one_error("[guest a]\nkernel = hello.elf\nshared = yes\nweight = x\n",
		  ":4: guest a: weight: 'x' is not a number");
	one_error("[guest a]\nkernel = hello.elf\nweight = 50\n",
		  ":3: guest a: weight: only a guest with shared=yes has a "
		  "weight");
	one_error("[guest a]\nkernel = hello.elf\nshared = maybe\n",
		  ":3: guest a: shared: 'maybe' is not yes or no");
	one_error("[guest a]\nkernel = hello.elf\nsharde = yes\n",
		  "sharde: unknown key (did you mean shared?)");
	/* Partitioned guests hold every CPU: nothing left to share. */
	env.cpus = 2;
	one_error("[guest a]\nkernel = hello.elf\n[guest b]\nkernel = "
		  "hello.elf\n[guest c]\nkernel = hello.elf\nshared = yes\n",
		  ":5: guest c: cpu: no CPU to share: partitioned guests hold "
		  "all 2 CPUs online");
	/* A shared guest still has at most 8 vCPUs. */
	one_error("[guest a]\nkernel = hello.elf\nshared = yes\nvcpus = 9\n",
		  "vcpus: 9: a guest has at most 8 vCPUs");
}

/* cpu = A, B, ...: the host CPU of each vCPU, in order. */
static void test_cpu_lists(void **state)
{
	static const struct {
		const char *line;
		u32 cpu[3];
	} good[] = {
	    {"cpu = 3, 1, 2", {3, 1, 2}},
	    {"cpu = 3,1,2", {3, 1, 2}},
	    {"cpu = 3 ,1 , 2", {3, 1, 2}},
	    {"cpu = 3,\t1,  2 # c", {3, 1, 2}},
	    {"cpu = \"0, 1, 2\"", {0, 1, 2}},
	    {"cpu = 002, 0, 01", {2, 0, 1}},
	};
	char text[256];

	(void)state;
	env.cpus = 4;
	for (u32 i = 0; i < ARRAY_SIZE(good); i++) {
		/* vcpus before cpu, then after it. */
		snprintf(text, sizeof(text),
			 "[guest a]\nkernel = hello.elf\nvcpus = 3\n%s\n",
			 good[i].line);
		parse_ok(text);
		for (u32 j = 0; j < 3; j++)
			assert_int_equal(images[0].cfg.cpu[j], good[i].cpu[j]);
		snprintf(text, sizeof(text),
			 "[guest a]\nkernel = hello.elf\n%s\nvcpus = 3\n",
			 good[i].line);
		parse_ok(text);
		assert_int_equal(images[0].cfg.vcpus, 3);
		for (u32 j = 0; j < 3; j++)
			assert_int_equal(images[0].cfg.cpu[j], good[i].cpu[j]);
	}
	/* The longest list. */
	env.cpus = 8;
	parse_ok("[guest a]\nkernel = hello.elf\nvcpus = 8\n"
		 "cpu = 7, 6, 5, 4, 3, 2, 1, 0\n");
	for (u32 j = 0; j < 8; j++)
		assert_int_equal(images[0].cfg.cpu[j], 7 - j);
}

static void test_cpu_list_errors(void **state)
{
	(void)state;
	env.cpus = 4;
	/* As long as vcpus, checked at the section's end: at the cpu line. */
	one_error("[guest a]\nkernel = hello.elf\ncpu = 1\nvcpus = 2\n",
		  "boot/two.cfg:3: guest a: cpu: 1 CPU listed, but vcpus = 2: "
		  "one host CPU per vCPU, in order");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 1, 2, 3\n",
		  ":4: guest a: cpu: 3 CPUs listed, but vcpus = 2: one host "
		  "CPU per vCPU");
	one_error("[guest a]\nkernel = hello.elf\ncpu = 1, 2\n",
		  ":3: guest a: cpu: 2 CPUs listed, but vcpus = 1");
	/* Each item a CPU number. */
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 1, x\n",
		  ":4: guest a: cpu: 'x' is not a CPU number (in the list "
		  "'1, x')");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 3\ncpu = 1,,2\n",
		  "cpu: '' is not a CPU number (in the list '1,,2')");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 1,\n",
		  "cpu: '' is not a CPU number (in the list '1,')");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = ,1\n",
		  "cpu: '' is not a CPU number (in the list ',1')");
	one_error("[guest a]\nkernel = hello.elf\ncpu = \"\"\n",
		  "cpu: '' is not a CPU number");
	/* Blanks join a list only beside a comma. */
	one_error("[guest a]\nkernel = hello.elf\ncpu = 1 2\n",
		  ":3: cpu: text after the value ('2')");
	one_error("[guest a]\nkernel = hello.elf\ncmdline = a, b\n",
		  ":3: cmdline: text after the value ('b')");
	/* Each CPU exists, once, and is no other guest's. */
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 1, 7\n",
		  ":4: guest a: cpu: 7 does not exist: 4 CPUs online (0-3)");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 2, 2\n",
		  ":4: guest a: cpu: 2 is listed twice: each vCPU needs a host "
		  "CPU of its own");
	one_error("[guest a]\nkernel = hello.elf\nvcpus = 2\ncpu = 1, 2\n"
		  "[guest b]\nkernel = hello.elf\nvcpus = 2\ncpu = 3, 2\n",
		  ":8: guest b: cpu: 2 is already given to guest a (line 4): "
		  "one vCPU per CPU");
	/* Every wrong item is an error of its own. */
	parse("[guest a]\nkernel = hello.elf\nvcpus = 3\ncpu = 9, x, 0, 0\n");
	ERRORS(3, ":4: guest a: cpu: 9 does not exist",
	       ":4: guest a: cpu: 'x' is not a CPU number",
	       ":4: guest a: cpu: 0 is listed twice");
	/* More CPUs than a guest may have vCPUs. */
	env.cpus = 16;
	one_error("[guest a]\nkernel = hello.elf\ncpu = 0,1,2,3,4,5,6,7,8\n",
		  ":3: guest a: cpu: '0,1,2,3,4,5,6,7,8' lists 9 CPUs: a guest "
		  "has at most 8 vCPUs, one CPU each");
}

static void test_memory_fit(void **state)
{
	(void)state;
	env.free_bytes = MiB(100);
	one_error("[guest a]\nkernel = hello.elf\nmem = 64M\n"
		  "[guest b]\nkernel = hello.elf\nmem = 64M\n",
		  ":6: guest b: mem: 64 MiB does not fit: 36608 KiB of host "
		  "memory free for guests is left (the guests above take "
		  "65792 KiB; each guest also costs 256 KiB)");
	/* Exactly what is free fits; RAM counts in whole 2 MiB. */
	env.free_bytes = MiB(64) + CONFIG_GUEST_OVERHEAD;
	parse_ok("[guest a]\nkernel = hello.elf\nmem = 64M\n");
	one_error("[guest a]\nkernel = hello.elf\nmem = 63M\n"
		  "[guest b]\nkernel = hello.elf\nmem = 2M\n",
		  ":6: guest b: mem: 2 MiB does not fit: 0 MiB");
	/* The default 32M, at the guest's header line. */
	env.free_bytes = MiB(16);
	one_error("[guest a]\nkernel = hello.elf\n",
		  ":1: guest a: mem: 32 MiB does not fit: 16 MiB of host "
		  "memory free");
}

static void test_too_many_guests(void **state)
{
	char text[4096];
	size_t at = 0;

	(void)state;
	env.cpus = 64;
	for (int i = 0; i < CONFIG_GUESTS_MAX + 2; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at,
				       "[guest g%d]\nkernel = hello.elf\n"
				       "mem = 2M\n",
				       i);
	one_error(text, ":49: guest g16: more than 16 guests: this one and "
			"the ones after it are not checked");
	assert_int_equal(res.guests, CONFIG_GUESTS_MAX + 2);
	/* A caller with room for fewer gets the error at its limit. */
	reported_count = 0;
	assert_int_equal(config_parse("[guest a]\nkernel = hello.elf\n"
				      "[guest b]\nkernel = hello.elf\n"
				      "[guest c]\nkernel = hello.elf\n",
				      87, &env, images, 2, &res),
			 1);
	assert_non_null(strstr(reported[0], ":5: guest c: more than 2 guests"));
}

/* ---- bad input ---- */

static void test_empty_and_no_guest(void **state)
{
	(void)state;
	one_error("", "boot/two.cfg: the file is empty: it declares no guest");
	parse("# nothing but a comment\n\n[veneer]\nstats = 1\n");
	ERRORS(2, "boot/two.cfg: it declares no guest: add a [guest NAME]",
	       "module 1 (boot/hello.elf) is named by no guest");
	assert_false(res.stats_given && res.errors == 0);
}

static void test_huge_file(void **state)
{
	size_t size = MiB(1);
	char *text = malloc(size);

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < size; i++)
		text[i] = (i % 64 == 63) ? '\n' : '#';
	parse_len(text, size);
	ERRORS(1, "boot/two.cfg: the file is 1048576 bytes, more than the "
		  "65536 a configuration may have (nothing in it was "
		  "checked)");
	/* Exactly the limit is read (and is all comments). */
	parse_len(text, CONFIG_SIZE_MAX);
	ERRORS(2, "it declares no guest",
	       "module 1 (boot/hello.elf) is named by no guest");
	free(text);
}

/* A 10,000-byte line is refused; the lines around it are still read. */
static void test_long_line(void **state)
{
	size_t len = 10000 + 200;
	char *text = malloc(len);
	int at;

	(void)state;
	assert_non_null(text);
	at = snprintf(text, len, "[guest a]\nkernel = hello.elf\ncmdline = ");
	memset(text + at, 'x', 10000 - 10);
	at += 10000 - 10;
	at += snprintf(text + at, len - (size_t)at, "\nmem = 3Q\n");
	parse_len(text, (size_t)at);
	ERRORS(2,
	       "boot/two.cfg:3: the line is 10000 bytes long, more than 1023: "
	       "it was not read",
	       ":4: guest a: mem: '3Q' is not a size");
	/* The longest line read: 1023 bytes (the value is then too long). */
	at = snprintf(text, len, "[guest a]\nkernel = hello.elf\n");
	at += snprintf(text + at, len - (size_t)at, "cmdline = ");
	memset(text + at, 'x', 1013);
	at += 1013;
	parse_len(text, (size_t)at);
	ERRORS(1, "cmdline: 1013 bytes, at most 511");
	free(text);
}

static void test_binary_garbage(void **state)
{
	u8 garbage[4096];
	u32 seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(garbage); i++) {
		seed = seed * 1103515245u + 12345u;
		garbage[i] = (u8)(seed >> 16);
	}
	/* One error however much garbage, naming where it starts. */
	parse_len((const char *)garbage, sizeof(garbage));
	ERRORS(1, "binary data: byte 0x");
	assert_non_null(strstr(reported[0], "a configuration is text"));
	one_error("[guest a]\nkernel = hello.elf\nmem = 8\x01M\n",
		  "boot/two.cfg:3: binary data: byte 0x01 at column 8");
	parse_len("[guest a]\nkernel = hello.elf\0\n", 30);
	ERRORS(1, ":2: binary data: byte 0x00 at column 19");
	one_error("[guest a]\rkernel = hello.elf\n",
		  ":1: binary data: byte 0x0d at column 10");
	one_error("[guest a]\nkernel = hello.elf\x7f\n",
		  ":2: binary data: byte 0x7f");
	/* UTF-8 text is text: in a comment and a quoted value. */
	MODULES("boot/hello.elf");
	parse_ok("# caf\xc3\xa9\n[guest a]\nkernel = hello.elf\n"
		 "cmdline = \"na\xc3\xafve\"\n");
	one_error("[guest a]\nkernel = hello.elf\n\xc3\xa9 = 1\n",
		  ":3: syntax: '\xc3\xa9 = 1' is not KEY = VALUE");
}

/* Any bytes, any length: no crash, no read past the end (ASan). */
static void test_every_prefix_of_a_good_file(void **state)
{
	static const char text[] =
	    "[veneer]\nstats = 5 # x\n[guest a]\nkernel = hello.elf\n"
	    "cmdline = \"a \\\"b\\\\ c\"\nmem = 16M\ncpu = 1, 2\n"
	    "vcpus = 2\n";

	(void)state;
	for (size_t len = 0; len < sizeof(text) - 1; len++) {
		char *copy = malloc(len ? len : 1);

		memcpy(copy, text, len);
		parse_len(copy, len);
		free(copy);
	}
	parse_ok(text);
}

static void test_no_report_callback(void **state)
{
	(void)state;
	env.report = NULL;
	assert_int_equal(config_parse("[guest a]\nmem = x\n", 18, &env, images,
				      CONFIG_GUESTS_MAX, &res),
			 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_two_guests_every_key, setup),
	    cmocka_unit_test_setup(test_same_values_as_module_string, setup),
	    cmocka_unit_test_setup(test_defaults_and_cpu_order, setup),
	    cmocka_unit_test_setup(test_pinned_cpus_leave_the_rest, setup),
	    cmocka_unit_test_setup(test_raw_image, setup),
	    cmocka_unit_test_setup(test_linux_with_initrd, setup),
	    cmocka_unit_test_setup(test_disks, setup),
	    cmocka_unit_test_setup(test_layout_comments_crlf_bom, setup),
	    cmocka_unit_test_setup(test_hash_ends_a_bare_value, setup),
	    cmocka_unit_test_setup(test_module_string_recognition, setup),
	    cmocka_unit_test_setup(test_error_line_format, setup),
	    cmocka_unit_test_setup(test_all_errors_reported, setup),
	    cmocka_unit_test_setup(test_error_count_beyond_shown, setup),
	    cmocka_unit_test_setup(test_syntax_errors, setup),
	    cmocka_unit_test_setup(test_section_errors, setup),
	    cmocka_unit_test_setup(test_duplicates, setup),
	    cmocka_unit_test_setup(test_unknown_keys, setup),
	    cmocka_unit_test_setup(test_bad_values, setup),
	    cmocka_unit_test_setup(test_devices, setup),
	    cmocka_unit_test_setup(test_mac, setup),
	    cmocka_unit_test_setup(test_pci, setup),
	    cmocka_unit_test_setup(test_not_supported_yet, setup),
	    cmocka_unit_test_setup(test_start_later_accepted, setup),
	    cmocka_unit_test_setup(test_start_later_refused, setup),
	    cmocka_unit_test_setup(test_log_level, setup),
	    cmocka_unit_test_setup(test_baud, setup),
	    cmocka_unit_test_setup(test_console_ports, setup),
	    cmocka_unit_test_setup(test_color, setup),
	    cmocka_unit_test_setup(test_missing_modules, setup),
	    cmocka_unit_test_setup(test_ambiguous_modules, setup),
	    cmocka_unit_test_setup(test_boot_module_strings, setup),
	    cmocka_unit_test_setup(test_module_limits, setup),
	    cmocka_unit_test_setup(test_formats_and_modules, setup),
	    cmocka_unit_test_setup(test_cpus, setup),
	    cmocka_unit_test_setup(test_vcpus_accepted, setup),
	    cmocka_unit_test_setup(test_vcpus_assigned, setup),
	    cmocka_unit_test_setup(test_vcpus_refused, setup),
	    cmocka_unit_test_setup(test_virtual_clock_with_vcpus, setup),
	    cmocka_unit_test_setup(test_cpu_lists, setup),
	    cmocka_unit_test_setup(test_cpu_list_errors, setup),
	    cmocka_unit_test_setup(test_shared_cpus, setup),
	    cmocka_unit_test_setup(test_shared_errors, setup),
	    cmocka_unit_test_setup(test_memory_fit, setup),
	    cmocka_unit_test_setup(test_too_many_guests, setup),
	    cmocka_unit_test_setup(test_empty_and_no_guest, setup),
	    cmocka_unit_test_setup(test_huge_file, setup),
	    cmocka_unit_test_setup(test_long_line, setup),
	    cmocka_unit_test_setup(test_binary_garbage, setup),
	    cmocka_unit_test_setup(test_every_prefix_of_a_good_file, setup),
	    cmocka_unit_test_setup(test_no_report_callback, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
