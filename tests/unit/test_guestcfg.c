/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/guestcfg.c: the guest module string
 *   PATH [name=NAME] [mem=SIZE] [format=elf|raw|linux] [load=ADDR]
 *        [mode=protected|real] [clock=virtual|host] [pv=kvm|none]
 *        [vcpus=N] [for=GUEST] [devices=LIST] [-- GUEST COMMAND LINE]
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "core/guestcfg.h"
#include "core/lib/string.h"

static struct guest_cfg parse_ok(const char *s)
{
	struct guest_cfg cfg;
	char err[160] = "";

	memset(&cfg, 0xa5, sizeof(cfg));
	if (guestcfg_parse(s, &cfg, err, sizeof(err)) != 0)
		fail_msg("'%s' was rejected: %s", s, err);
	return cfg;
}

/* Parses s, expects failure and returns the message. */
static const char *parse_err(const char *s)
{
	static char err[160];
	struct guest_cfg cfg;

	err[0] = '\0';
	if (guestcfg_parse(s, &cfg, err, sizeof(err)) != -1)
		fail_msg("'%s' was accepted", s);
	assert_true(strlen(err) > 0);
	return err;
}

static void test_defaults(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("boot/cpuid.elf");
	assert_string_equal(cfg.name, "cpuid");
	assert_int_equal(cfg.mem, GUESTCFG_DEFAULT_MEM);
	assert_int_equal(cfg.mem, 32ull << 20);
	assert_int_equal(cfg.format, GUEST_FORMAT_ELF);
	assert_int_equal(cfg.load, GUESTCFG_RAW_LOAD);
	assert_false(cfg.real_mode);
	assert_string_equal(cfg.for_guest, "");
	assert_string_equal(cfg.cmdline, "");
	/* One vCPU, its host CPU chosen by placement (core/placement.h). */
	assert_int_equal(cfg.vcpus, 1);
	assert_false(cfg.cpu_fixed);
}

static void test_empty_string_is_a_default_guest(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("");
	assert_string_equal(cfg.name, "guest");
	assert_int_equal(cfg.mem, GUESTCFG_DEFAULT_MEM);
	assert_int_equal(cfg.format, GUEST_FORMAT_ELF);
	cfg = parse_ok(" \t ");
	assert_string_equal(cfg.name, "guest");
}

static void test_name_from_path(void **state)
{
	(void)state;
	assert_string_equal(parse_ok("/boot/hello.elf").name, "hello");
	assert_string_equal(parse_ok("hello.elf").name, "hello");
	assert_string_equal(parse_ok("boot/kernel").name, "kernel");
	/* Only the last extension goes. */
	assert_string_equal(parse_ok("boot/a.b.elf").name, "a.b");
	/* A dot in a directory is not an extension. */
	assert_string_equal(parse_ok("boot.d/kernel").name, "kernel");
	assert_string_equal(parse_ok("boot/2-ram_x.elf").name, "2-ram_x");
	/* No usable base name: the generic one. */
	assert_string_equal(parse_ok("boot/.elf").name, "guest");
	assert_string_equal(parse_ok("boot/").name, "guest");
	assert_string_equal(parse_ok("boot/c++.elf").name, "guest");
	/* A base name too long for a guest name (31 characters at most). */
	assert_string_equal(
	    parse_ok("boot/abcdefghijabcdefghijabcdefghij12.elf").name,
	    "guest");
	assert_string_equal(
	    parse_ok("boot/abcdefghijabcdefghijabcdefghij1.elf").name,
	    "abcdefghijabcdefghijabcdefghij1");
	/* name= wins over the path, in either order of appearance. */
	assert_string_equal(parse_ok("boot/hello.elf name=greeter").name,
			    "greeter");
	assert_string_equal(parse_ok("name=greeter").name, "greeter");
}

static void test_name_option(void **state)
{
	(void)state;
	assert_string_equal(parse_ok("k name=A-z_0.9").name, "A-z_0.9");
	assert_string_equal(
	    parse_ok("k name=abcdefghijabcdefghijabcdefghij1").name,
	    "abcdefghijabcdefghijabcdefghij1");
	assert_string_equal(
	    parse_err("k name=abcdefghijabcdefghijabcdefghij12"),
	    "name: 'abcdefghijabcdefghijabcdefghij12' is not 1-31 letters, "
	    "digits, '-', '_' or '.'");
	assert_string_equal(parse_err("k name="),
			    "name: '' is not 1-31 letters, digits, '-', '_' "
			    "or '.'");
	assert_string_equal(parse_err("k name=a/b"),
			    "name: 'a/b' is not 1-31 letters, digits, '-', '_' "
			    "or '.'");
	assert_string_equal(parse_err("k name=a=b"),
			    "name: 'a=b' is not 1-31 letters, digits, '-', '_' "
			    "or '.'");
}

static void test_mem(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("k mem=16M").mem, 16ull << 20);
	assert_int_equal(parse_ok("k mem=16m").mem, 16ull << 20);
	assert_int_equal(parse_ok("k mem=2M").mem, 2ull << 20);
	assert_int_equal(parse_ok("k mem=4096K").mem, 4ull << 20);
	assert_int_equal(parse_ok("k mem=2052k").mem, 2052ull << 10);
	assert_int_equal(parse_ok("k mem=1G").mem, 1ull << 30);
	assert_int_equal(parse_ok("k mem=4g").mem, 4ull << 30);
	assert_int_equal(parse_ok("k mem=2097152").mem, 2ull << 20);
	assert_int_equal(parse_ok("k mem=0x400000").mem, 4ull << 20);
	assert_int_equal(parse_ok("k mem=0X400000").mem, 4ull << 20);
	/* The last one given counts. */
	assert_int_equal(parse_ok("k mem=8M mem=64M").mem, 64ull << 20);
}

static void test_mem_errors(void **state)
{
	static const char *const bad[] = {
	    "1M",    /* below the minimum */
	    "2044K", /* below the minimum */
	    "0",
	    "",
	    "M",
	    "16MB",
	    "-16M",
	    "2097153", /* not whole pages */
	    "2052097", /* not whole pages */
	    "0x",
	    "0xM",
	    "1.5G",
	    "17179869184G",	    /* overflows 64 bits */
	    "99999999999999999999", /* overflows 64 bits */
	    "0x10000000000000000",  /* overflows 64 bits */
	};
	char expected[160];
	char input[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(input, sizeof(input), "k mem=%s", bad[i]);
		snprintf(expected, sizeof(expected),
			 "mem: '%s' is not a size of at least 2M in whole 4K "
			 "pages",
			 bad[i]);
		assert_string_equal(parse_err(input), expected);
	}
}

static void test_parse_size(void **state)
{
	u64 v = 0;

	(void)state;
	assert_true(guestcfg_parse_size("64M", 3, &v));
	assert_int_equal(v, 64ull << 20);
	assert_true(guestcfg_parse_size("512K", 4, &v));
	assert_int_equal(v, 512ull << 10);
	assert_true(guestcfg_parse_size("1048576", 7, &v));
	assert_int_equal(v, 1048576);
	assert_true(guestcfg_parse_size("0", 1, &v));
	assert_int_equal(v, 0);
	assert_true(guestcfg_parse_size("0xff", 4, &v));
	assert_int_equal(v, 0xff);
	assert_true(guestcfg_parse_size("0xaBcG", 6, &v));
	assert_int_equal(v, 0xabcull << 30);
	/* The largest that fits, and one more. */
	assert_true(guestcfg_parse_size("17179869183G", 12, &v));
	assert_int_equal(v, 17179869183ull << 30);
	assert_true(guestcfg_parse_size("18446744073709551615", 20, &v));
	assert_int_equal(v, ~0ull);
	v = 7;
	assert_false(guestcfg_parse_size("18446744073709551616", 20, &v));
	assert_false(guestcfg_parse_size("17179869184G", 12, &v));
	/* Only len characters count. */
	assert_true(guestcfg_parse_size("12Mjunk", 3, &v));
	assert_int_equal(v, 12ull << 20);
	v = 7;
	assert_false(guestcfg_parse_size("", 0, &v));
	assert_false(guestcfg_parse_size("K", 1, &v));
	assert_false(guestcfg_parse_size("0x", 2, &v));
	assert_false(guestcfg_parse_size("12T", 3, &v));
	assert_false(guestcfg_parse_size("1 2", 3, &v));
	/* A failed parse leaves the output alone. */
	assert_int_equal(v, 7);
}

static void test_raw_from_bin_extension(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("/boot/realmode.bin");
	assert_string_equal(cfg.name, "realmode");
	assert_int_equal(cfg.format, GUEST_FORMAT_RAW);
	assert_true(cfg.real_mode);
	assert_int_equal(cfg.load, 0x7c00);
	/* Only a path ending in .bin, not one containing it. */
	cfg = parse_ok("/boot/realmode.bin.elf");
	assert_int_equal(cfg.format, GUEST_FORMAT_ELF);
	assert_false(cfg.real_mode);
	cfg = parse_ok("/boot/bin");
	assert_int_equal(cfg.format, GUEST_FORMAT_ELF);
	/* An explicit format wins over the extension. */
	cfg = parse_ok("/boot/kernel.bin format=elf");
	assert_int_equal(cfg.format, GUEST_FORMAT_ELF);
	assert_false(cfg.real_mode);
	cfg = parse_ok("/boot/kernel.bin mode=protected");
	assert_int_equal(cfg.format, GUEST_FORMAT_RAW);
	assert_false(cfg.real_mode);
}

static void test_format_and_mode(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("k format=raw");
	assert_int_equal(cfg.format, GUEST_FORMAT_RAW);
	assert_true(cfg.real_mode);
	cfg = parse_ok("k.bin format=elf format=raw");
	assert_int_equal(cfg.format, GUEST_FORMAT_RAW);
	assert_true(cfg.real_mode);
	cfg = parse_ok("k format=elf");
	assert_int_equal(cfg.format, GUEST_FORMAT_ELF);
	assert_false(cfg.real_mode);
	cfg = parse_ok("vmlinuz format=linux");
	assert_int_equal(cfg.format, GUEST_FORMAT_LINUX);
	assert_false(cfg.real_mode);
	cfg = parse_ok("k format=raw mode=protected load=0x100000");
	assert_int_equal(cfg.format, GUEST_FORMAT_RAW);
	assert_false(cfg.real_mode);
	assert_int_equal(cfg.load, 0x100000);
	/* mode= is kept whatever the order of the words. */
	cfg = parse_ok("k mode=protected format=raw load=0x100000");
	assert_int_equal(cfg.format, GUEST_FORMAT_RAW);
	assert_false(cfg.real_mode);
	cfg = parse_ok("k format=raw mode=real");
	assert_true(cfg.real_mode);
	cfg = parse_ok("k mode=real format=raw mode=protected mode=real");
	assert_true(cfg.real_mode);
	assert_string_equal(parse_err("k format=bzimage"),
			    "format: 'bzimage' is not elf, raw or linux");
	assert_string_equal(parse_err("k format=ELF"),
			    "format: 'ELF' is not elf, raw or linux");
	assert_string_equal(parse_err("k format="),
			    "format: '' is not elf, raw or linux");
	assert_string_equal(parse_err("k format=raw mode=long"),
			    "mode: 'long' is not real or protected");
	assert_string_equal(parse_err("k format=raw mode=Real"),
			    "mode: 'Real' is not real or protected");
	/* A multiboot ELF starts in protected mode (MB spec 3.2): no choice. */
	assert_string_equal(parse_err("k mode=real"),
			    "mode: real needs format=raw (an ELF guest starts "
			    "in protected mode)");
	assert_string_equal(parse_err("k.bin format=elf mode=real"),
			    "mode: real needs format=raw (an ELF guest starts "
			    "in protected mode)");
	/* Saying protected for an ELF is harmless. */
	assert_false(parse_ok("k mode=protected").real_mode);
}

static void test_load(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("k.bin load=0x8000").load, 0x8000);
	assert_int_equal(parse_ok("k.bin load=4096").load, 4096);
	assert_int_equal(parse_ok("k.bin load=0xFFFFF").load, 0xfffff);
	assert_int_equal(parse_ok("k.bin load=0").load, 0);
	assert_int_equal(
	    parse_ok("k.bin mode=protected mem=4M load=0x3fffff").load,
	    0x3fffff);
	/* An ELF guest keeps the value but loads by its program headers. */
	assert_int_equal(parse_ok("k.elf load=0x200000").load, 0x200000);
	assert_string_equal(parse_err("k.bin load=0x"),
			    "load: '0x' is not a number");
	assert_string_equal(parse_err("k.bin load=12k"),
			    "load: '12k' is not a number");
	assert_string_equal(parse_err("k.bin load="),
			    "load: '' is not a number");
	assert_string_equal(parse_err("k.bin load=0x1g"),
			    "load: '0x1g' is not a number");
}

static void test_load_outside_ram(void **state)
{
	(void)state;
	/* Real mode reaches 1 MiB only. */
	assert_string_equal(parse_err("k.bin load=0x100000"),
			    "load: 0x100000 is outside the guest's RAM below "
			    "1 MiB (real mode)");
	assert_string_equal(
	    parse_err("k format=raw mode=protected mem=4M load=0x400000"),
	    "load: 0x400000 is outside the guest's RAM");
	assert_string_equal(parse_err("k.bin mem=2M mode=protected "
				      "load=0xffffffffffffffff"),
			    "load: 0xffffffffffffffff is outside the guest's "
			    "RAM");
	/* The check comes after every word, so mem= may follow load=. */
	assert_int_equal(
	    parse_ok("k.bin mode=protected load=0x3000000 mem=64M").load,
	    0x3000000);
}

static void test_vcpus(void **state)
{
	char word[32];

	(void)state;
	assert_int_equal(parse_ok("k vcpus=1").vcpus, 1);
	assert_int_equal(parse_ok("k vcpus=2").vcpus, 2);
	assert_int_equal(parse_ok("k vcpus=008").vcpus, 8);
	assert_int_equal(parse_ok("k vcpus=8 vcpus=3").vcpus, 3);
	for (u32 n = 1; n <= GUESTCFG_VCPUS_MAX; n++) {
		snprintf(word, sizeof(word), "k vcpus=%u", n);
		assert_int_equal(parse_ok(word).vcpus, n);
	}
	/* The module strings never give host CPUs: placement picks them. */
	assert_false(parse_ok("k vcpus=4").cpu_fixed);
	assert_string_equal(parse_err("k vcpus=0"),
			    "vcpus: 0: a guest has at least one vCPU");
	assert_string_equal(parse_err("k vcpus=000"),
			    "vcpus: 000: a guest has at least one vCPU");
	assert_string_equal(parse_err("k vcpus=9"),
			    "vcpus: 9: a guest has at most 8 vCPUs");
	assert_string_equal(parse_err("k vcpus=4294967296"),
			    "vcpus: 4294967296: a guest has at most 8 vCPUs");
	assert_string_equal(
	    parse_err("k vcpus=99999999999999999999999"),
	    "vcpus: 99999999999999999999999: a guest has at most 8 vCPUs");
	assert_string_equal(parse_err("k vcpus="), "vcpus: '' is not a number");
	assert_string_equal(parse_err("k vcpus=two"),
			    "vcpus: 'two' is not a number");
	assert_string_equal(parse_err("k vcpus=-1"),
			    "vcpus: '-1' is not a number");
	assert_string_equal(parse_err("k vcpus=0x2"),
			    "vcpus: '0x2' is not a number");
	assert_string_equal(parse_err("k vcpus=2k"),
			    "vcpus: '2k' is not a number");
}

/*
 * clock=virtual goes with any vCPU count: the clock stops only while no
 * vCPU is in guest time (docs/guests.md, "The guest's clock").
 */
static void test_virtual_clock_with_vcpus(void **state)
{
	struct guest_cfg c;

	(void)state;
	assert_true(parse_ok("k clock=virtual").virtual_clock);
	c = parse_ok("k clock=virtual vcpus=2");
	assert_true(c.virtual_clock);
	assert_int_equal(c.vcpus, 2);
	c = parse_ok("k vcpus=8 clock=virtual");
	assert_true(c.virtual_clock);
	assert_int_equal(c.vcpus, 8);
	assert_int_equal(parse_ok("k clock=host vcpus=8").vcpus, 8);
}

static void test_for(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("/boot/initrd.img for=linux -- root=/dev/ram0");
	assert_string_equal(cfg.for_guest, "linux");
	assert_string_equal(cfg.name, "initrd");
	assert_string_equal(cfg.cmdline, "root=/dev/ram0");
	assert_string_equal(parse_err("m for="), "for: '' is not a guest name");
	assert_string_equal(parse_err("m for=a,b"),
			    "for: 'a,b' is not a guest name");
	assert_string_equal(
	    parse_err("m for=abcdefghijabcdefghijabcdefghij12"),
	    "for: 'abcdefghijabcdefghijabcdefghij12' is not a guest name");
}

static void test_devices(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("k").devices, 0);
	assert_int_equal(parse_ok("k devices=virtio-console").devices,
			 GUEST_DEV_VIRTIO_CONSOLE);
	assert_int_equal(
	    parse_ok("k devices=virtio-console devices=none").devices, 0);
	assert_int_equal(
	    parse_ok("k devices=virtio-net,virtio-console").devices,
	    GUEST_DEV_VIRTIO_NET | GUEST_DEV_VIRTIO_CONSOLE);
	assert_string_equal(parse_err("k devices="),
			    "devices: '' is not a device (known: "
			    "virtio-console, virtio-net, or none)");
	assert_string_equal(parse_err("k devices=virtio-gpu"),
			    "devices: 'virtio-gpu' is not a device (known: "
			    "virtio-console, virtio-net, or none)");
	assert_string_equal(
	    parse_err("k devices=virtio-console,virtio-console"),
	    "devices: 'virtio-console' given twice");
}

static void test_mac(void **state)
{
	static const u8 want[GUESTCFG_MAC_LEN] = {0x02, 0xab, 0xCD, 0, 0, 0xff};
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("k devices=virtio-net");
	assert_false(cfg.mac_given);
	cfg = parse_ok("k mac=02:ab:Cd:00:00:FF devices=virtio-net");
	assert_true(cfg.mac_given);
	assert_memory_equal(cfg.mac, want, sizeof(want));
	assert_string_equal(parse_err("k mac=02:00:00:00:00:01"),
			    "mac: only a guest with devices=virtio-net has a "
			    "MAC");
	assert_string_equal(parse_err("k devices=virtio-net "
				      "mac=01:00:5e:00:00:01"),
			    "mac: 01:00:5e:00:00:01 is a multicast address; a "
			    "NIC needs a unicast address");
	assert_string_equal(parse_err("k devices=virtio-net "
				      "mac=00:00:00:00:00:00"),
			    "mac: 00:00:00:00:00:00 is all zeros; a NIC needs "
			    "a unicast address");
	static const char *const bad[] = {
	    "",
	    "02:00:00:00:00",
	    "02:00:00:00:00:0",
	    "02:00:00:00:00:001",
	    "02-00-00-00-00-01",
	    "02:00:00:00:00:0g",
	    "2:00:00:00:00:001",
	    "02:00:00:00:00:01:",
	    "0x:00:00:00:00:01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char in[64], out[160];

		snprintf(in, sizeof(in), "k devices=virtio-net mac=%s", bad[i]);
		snprintf(out, sizeof(out),
			 "mac: '%s' is not a MAC address (six hex bytes with "
			 "colons: 02:00:00:00:00:01)",
			 bad[i]);
		assert_string_equal(parse_err(in), out);
	}
}

static void test_pci(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("k");
	assert_int_equal(cfg.pci_count, 0);
	cfg = parse_ok("k pci=00:03.0");
	assert_int_equal(cfg.pci_count, 1);
	assert_int_equal(cfg.pci[0], 0x0018);
	cfg = parse_ok("k pci=ff:1f.7,01:00.0,0A:1b.3");
	assert_int_equal(cfg.pci_count, 3);
	assert_int_equal(cfg.pci[0], 0xffff);
	assert_int_equal(cfg.pci[1], 0x0100);
	assert_int_equal(cfg.pci[2], 0x0a00 | 0x1b << 3 | 3);
	assert_false(cfg.pci_unsafe);
	assert_true(parse_ok("k pci=00:03.0 pci_unsafe=yes").pci_unsafe);
	assert_false(parse_ok("k pci_unsafe=yes pci_unsafe=no").pci_unsafe);
	assert_string_equal(parse_err("k pci_unsafe=1"),
			    "pci_unsafe: '1' is not yes or no");
	assert_string_equal(parse_err("k pci=00:03.0,00:03.0"),
			    "pci: 00:03.0 given twice");
	assert_string_equal(
	    parse_err("k pci=00:01.0,00:02.0,00:03.0,00:04.0,00:05.0"),
	    "pci: more than 4 devices for one guest");
	static const char *const bad[] = {
	    "",		"00:03",   "00:03.8", "00:20.0", "0:03.0",
	    "000:03.0", "00-03.0", "00:03:0", "0g:03.0", "00:03.0.1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char in[64], out[160];

		snprintf(in, sizeof(in), "k pci=%s", bad[i]);
		snprintf(out, sizeof(out),
			 "pci: '%s' is not a PCI address (bus:device.function "
			 "in hex, e.g. 00:03.0)",
			 bad[i]);
		assert_string_equal(parse_err(in), out);
	}
	/* An empty item between commas, or at the end. */
	assert_string_equal(parse_err("k pci=00:03.0,"),
			    "pci: '' is not a PCI address (bus:device.function "
			    "in hex, e.g. 00:03.0)");
}

static void test_command_line(void **state)
{
	struct guest_cfg cfg;
	char big[GUESTCFG_CMDLINE_MAX + 16];
	char expected[160];
	size_t n;

	(void)state;
	cfg = parse_ok("k name=g -- veneer=1 ram_mib=16");
	assert_string_equal(cfg.name, "g");
	assert_string_equal(cfg.cmdline, "veneer=1 ram_mib=16");
	/* Everything after "--" is the guest's, options and "--" included. */
	cfg = parse_ok("k --   mem=1M  bogus -- x\ty ");
	assert_int_equal(cfg.mem, GUESTCFG_DEFAULT_MEM);
	assert_string_equal(cfg.cmdline, "mem=1M  bogus -- x\ty ");
	cfg = parse_ok("k --");
	assert_string_equal(cfg.cmdline, "");
	cfg = parse_ok("k -- ");
	assert_string_equal(cfg.cmdline, "");
	/* "--" must be a word of its own. */
	assert_string_equal(parse_err("k --x"),
			    "unknown option '--x' (expected key=value)");
	/* No path: the command line still belongs to the default guest. */
	cfg = parse_ok("-- a b");
	assert_string_equal(cfg.name, "guest");
	assert_string_equal(cfg.cmdline, "a b");

	/* The longest command line that fits, then one byte more. */
	memcpy(big, "k -- ", 5);
	n = GUESTCFG_CMDLINE_MAX - 1;
	memset(big + 5, 'c', n);
	big[5 + n] = '\0';
	cfg = parse_ok(big);
	assert_int_equal(strlen(cfg.cmdline), GUESTCFG_CMDLINE_MAX - 1);
	big[5 + n] = 'c';
	big[6 + n] = '\0';
	snprintf(expected, sizeof(expected),
		 "command line: %d bytes after '--', at most %d",
		 GUESTCFG_CMDLINE_MAX, GUESTCFG_CMDLINE_MAX - 1);
	assert_string_equal(parse_err(big), expected);
}

static void test_separators(void **state)
{
	struct guest_cfg cfg;

	(void)state;
	cfg = parse_ok("\t k.elf \t name=x\tmem=4M  ");
	assert_string_equal(cfg.name, "x");
	assert_int_equal(cfg.mem, 4ull << 20);
}

static void test_unknown_options(void **state)
{
	(void)state;
	assert_string_equal(parse_err("k bogus=1"), "unknown option 'bogus=1'");
	assert_string_equal(parse_err("k Name=x"), "unknown option 'Name=x'");
	assert_string_equal(parse_err("k =x"), "unknown option '=x'");
	/* Only the first word may be a path. */
	assert_string_equal(parse_err("k.elf other.elf"),
			    "unknown option 'other.elf' (expected key=value)");
	assert_string_equal(parse_err("mem=4M k.elf"),
			    "unknown option 'k.elf' (expected key=value)");
	/* The first bad word is the one named. */
	assert_string_equal(parse_err("k mem=4M foo=1 bar=2"),
			    "unknown option 'foo=1'");
}

static void test_error_message_is_truncated_safely(void **state)
{
	struct guest_cfg cfg;
	char err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(guestcfg_parse("k bogus=1", &cfg, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "unknown option ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_empty_string_is_a_default_guest),
	    cmocka_unit_test(test_name_from_path),
	    cmocka_unit_test(test_name_option),
	    cmocka_unit_test(test_mem),
	    cmocka_unit_test(test_mem_errors),
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_raw_from_bin_extension),
	    cmocka_unit_test(test_format_and_mode),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_load_outside_ram),
	    cmocka_unit_test(test_vcpus),
	    cmocka_unit_test(test_virtual_clock_with_vcpus),
	    cmocka_unit_test(test_for),
	    cmocka_unit_test(test_devices),
	    cmocka_unit_test(test_mac),
	    cmocka_unit_test(test_pci),
	    cmocka_unit_test(test_command_line),
	    cmocka_unit_test(test_separators),
	    cmocka_unit_test(test_unknown_options),
	    cmocka_unit_test(test_error_message_is_truncated_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
