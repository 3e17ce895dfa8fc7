/* SPDX-License-Identifier: MIT */
/*
 * Host tests of the Linux boot protocol loader (core/linux.c) with
 * bzImages built by hand in memory and an array standing in for guest RAM;
 * and, when tools/fetch-linux has run, the real Debian kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/linux.h"
#include "core/linux_spec.h"

#define RAM_MAX	       MiB(128)
#define RAM_FILL       0xCC
#define IMAGE_MAX      KiB(256)
#define PAYLOAD_SIZE   KiB(64)
#define SETUP_SECTS    4
#define PM_OFFSET      ((SETUP_SECTS + 1) * 512)
#define VERSION_AT     0x300 /* where the fake kernel_version string is */
#define VERSION_STRING "6.1.0-test-amd64 (veneer@test) #1"

static u8 ram[RAM_MAX];
static const char *self_path; /* argv[0], to find build/linux/ */

/* Guest RAM: the first guest.size bytes of ram[]. */
static struct guest_mem guest;

static int reset(void **state)
{
	(void)state;
	memset(ram, RAM_FILL, sizeof(ram));
	guest = (struct guest_mem){.base = ram, .size = MiB(64)};
	return 0;
}

/* ram[from, RAM_MAX) is as reset() left it: the loader wrote nothing. */
static void expect_ram_untouched_from(u64 from)
{
	static u8 fill[65536];

	memset(fill, RAM_FILL, sizeof(fill));
	for (u64 at = from; at < RAM_MAX; at += sizeof(fill))
		assert_memory_equal(ram + at, fill,
				    MIN(sizeof(fill), RAM_MAX - at));
}

/* ---- building bzImages ---- */

static u8 image[IMAGE_MAX];
static u64 image_size;

static void put16(u64 at, u16 v)
{
	memcpy(image + at, &v, sizeof(v));
}

static void put32(u64 at, u32 v)
{
	memcpy(image + at, &v, sizeof(v));
}

static void put64(u64 at, u64 v)
{
	memcpy(image + at, &v, sizeof(v));
}

static u8 payload_byte(u64 i)
{
	return (u8)(i * 7 + i / 251);
}

/*
 * A protocol 2.15 bzImage: 4 setup sectors, a 64 KiB payload, relocatable
 * with pref_address 16 MiB, init_size 8 MiB.  The setup area outside the
 * header is filled with 0x5A (and 0xFF at the sentinel, as real kernels
 * have) so that a loader copying more than the header is caught.
 */
static void build_kernel(void)
{
	memset(image, 0, sizeof(image));
	memset(image, 0x5A, PM_OFFSET);
	image[0x1ef] = 0xFF;
	image[LINUX_HDR_FIELD(setup_sects)] = SETUP_SECTS;
	put32(LINUX_HDR_FIELD(syssize), PAYLOAD_SIZE / 16);
	put16(LINUX_HDR_FIELD(vid_mode), 0xFFFF);
	put16(LINUX_HDR_FIELD(boot_flag), LINUX_BOOT_FLAG);
	image[0x200] = 0xEB; /* jmp over the header */
	image[0x201] = 0x26c - 0x202;
	put32(LINUX_HDR_FIELD(header), LINUX_HEADER_MAGIC);
	put16(LINUX_HDR_FIELD(version), LINUX_PROTOCOL(2, 15));
	put16(LINUX_HDR_FIELD(kernel_version), VERSION_AT - 0x200);
	image[LINUX_HDR_FIELD(type_of_loader)] = 0;
	image[LINUX_HDR_FIELD(loadflags)] = LINUX_LOADED_HIGH;
	put32(LINUX_HDR_FIELD(code32_start), 0x100000);
	put32(LINUX_HDR_FIELD(ramdisk_image), 0);
	put32(LINUX_HDR_FIELD(ramdisk_size), 0);
	put16(LINUX_HDR_FIELD(heap_end_ptr), 0);
	put32(LINUX_HDR_FIELD(cmd_line_ptr), 0);
	put32(LINUX_HDR_FIELD(initrd_addr_max), 0x7fffffff);
	put32(LINUX_HDR_FIELD(kernel_alignment), MiB(2));
	image[LINUX_HDR_FIELD(relocatable_kernel)] = 1;
	image[LINUX_HDR_FIELD(min_alignment)] = 21;
	put16(LINUX_HDR_FIELD(xloadflags),
	      LINUX_XLF_KERNEL_64 | LINUX_XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(LINUX_HDR_FIELD(cmdline_size), 2047);
	put64(LINUX_HDR_FIELD(pref_address), MiB(16));
	put32(LINUX_HDR_FIELD(init_size), MiB(8));
	put32(LINUX_HDR_FIELD(handover_offset), 0x190);
	put32(LINUX_HDR_FIELD(kernel_info_offset), 0x1234);
	memcpy(image + VERSION_AT, VERSION_STRING, sizeof(VERSION_STRING));
	for (u64 i = 0; i < PAYLOAD_SIZE; i++)
		image[PM_OFFSET + i] = payload_byte(i);
	/* A trailer past syssize, like the signature of a signed kernel. */
	memset(image + PM_OFFSET + PAYLOAD_SIZE, 0xEE, 1024);
	image_size = PM_OFFSET + PAYLOAD_SIZE + 1024;
}

static struct linux_load_params params(void)
{
	return (struct linux_load_params){
	    .kernel = image,
	    .kernel_size = image_size,
	    .cmdline = "console=ttyS0",
	    .entry_mode = LINUX_ENTRY_64,
	};
}

static const struct linux_boot_params *boot_params(void)
{
	return (const struct linux_boot_params *)(ram + LINUX_BOOT_PARAMS_GPA);
}

static u64 ram_u64(u64 gpa)
{
	u64 v;

	memcpy(&v, ram + gpa, sizeof(v));
	return v;
}

static void expect_check_refusal(const char *message)
{
	struct linux_kernel k;

	assert_int_equal(linux_check(image, image_size, &k), -1);
	assert_string_equal(k.error, message);
}

static void expect_load_refusal(const struct linux_load_params *p,
				const char *message)
{
	struct linux_boot boot;

	assert_int_equal(linux_load(&guest, p, &boot), -1);
	assert_string_equal(boot.error, message);
	expect_ram_untouched_from(0); /* refused before touching guest RAM */
}

static void load_ok(const struct linux_load_params *p, struct linux_boot *boot)
{
	int rc = linux_load(&guest, p, boot);

	if (rc)
		fail_msg("linux_load refused: %s", boot->error);
}

/* ---- linux_check ---- */

static void test_check_protocol_2_15(void **state)
{
	struct linux_kernel k;

	(void)state;
	build_kernel();
	assert_int_equal(linux_check(image, image_size, &k), 0);
	assert_int_equal(k.protocol, 0x020f);
	assert_int_equal(k.header_end, 0x26c);
	assert_int_equal(k.setup_sects, SETUP_SECTS);
	assert_int_equal(k.pm_offset, PM_OFFSET);
	assert_int_equal(k.pm_size, PAYLOAD_SIZE);
	assert_int_equal(k.loadflags, LINUX_LOADED_HIGH);
	assert_int_equal(k.xloadflags, 3);
	assert_true(k.relocatable);
	assert_int_equal(k.kernel_alignment, MiB(2));
	assert_int_equal(k.pref_address, MiB(16));
	assert_int_equal(k.init_size, MiB(8));
	assert_int_equal(k.cmdline_size, 2047);
	assert_int_equal(k.initrd_addr_max, 0x7fffffff);
	assert_string_equal(k.version, VERSION_STRING);
	assert_string_equal(k.error, "");
}

static void test_check_setup_sects_zero_means_four(void **state)
{
	struct linux_kernel k;

	(void)state;
	build_kernel();
	image[LINUX_HDR_FIELD(setup_sects)] = 0;
	assert_int_equal(linux_check(image, image_size, &k), 0);
	assert_int_equal(k.setup_sects, 4);
	assert_int_equal(k.pm_offset, 5 * 512);
}

static void test_check_protocol_2_12_and_odd_version(void **state)
{
	struct linux_kernel k;

	(void)state;
	build_kernel();
	put16(LINUX_HDR_FIELD(version), LINUX_PROTOCOL(2, 12));
	image[0x201] = 0x268 - 0x202; /* a 2.12 header ends at 0x268 */
	put16(LINUX_HDR_FIELD(kernel_version), 0x7000); /* past the setup */
	put32(LINUX_HDR_FIELD(initrd_addr_max), 0);	/* "not set" */
	assert_int_equal(linux_check(image, image_size, &k), 0);
	assert_int_equal(k.protocol, 0x020c);
	assert_string_equal(k.version, "");
	assert_int_equal(k.initrd_addr_max, 0x37FFFFFF);
}

static void test_check_not_a_kernel(void **state)
{
	struct linux_kernel k;

	(void)state;
	memset(image, 0, sizeof(image));
	memcpy(image,
	       "\x7f"
	       "ELF",
	       4);
	image_size = 8192;
	expect_check_refusal("not a bzImage (no HdrS signature at 0x202)");

	image_size = 0x100;
	expect_check_refusal("not a bzImage: the file is 256 bytes, too short "
			     "for a setup header (at 0x1f1)");
	assert_int_equal(linux_check(NULL, 8192, &k), -1);
	assert_string_equal(k.error,
			    "not a bzImage: the file is 0 bytes, too short "
			    "for a setup header (at 0x1f1)");

	build_kernel();
	put16(LINUX_HDR_FIELD(boot_flag), 0x1234);
	expect_check_refusal("not a bzImage (boot_flag at 0x1fe is 0x1234, "
			     "not 0xAA55)");
}

static void test_check_protocol_too_old(void **state)
{
	(void)state;
	build_kernel();
	put16(LINUX_HDR_FIELD(version), LINUX_PROTOCOL(2, 2));
	expect_check_refusal("boot protocol 2.02 is too old (need 2.12)");
	put16(LINUX_HDR_FIELD(version), LINUX_PROTOCOL(2, 11));
	expect_check_refusal("boot protocol 2.11 is too old (need 2.12)");
}

static void test_check_header_end(void **state)
{
	(void)state;
	build_kernel();
	image[0x201] = 0x40;
	expect_check_refusal("the setup header ends at 0x242, before the end "
			     "of the protocol 2.12 fields (0x268)");
	image[0x201] = 0xA0;
	expect_check_refusal("the setup header ends at 0x2a2, past the room "
			     "boot_params has for it (0x290)");
	image[0x201] = 0x26c - 0x202;
	image_size = 0x250;
	expect_check_refusal("truncated: the setup header needs 620 bytes, "
			     "the file has 592");
}

static void test_check_not_bzimage_or_not_64bit(void **state)
{
	(void)state;
	build_kernel();
	image[LINUX_HDR_FIELD(loadflags)] = LINUX_CAN_USE_HEAP;
	expect_check_refusal("a zImage (loadflags 0x80 lacks LOADED_HIGH): "
			     "only bzImages, loaded at 1 MiB, are supported");
	build_kernel();
	put16(LINUX_HDR_FIELD(xloadflags), LINUX_XLF_EFI_HANDOVER_32);
	expect_check_refusal("not a 64-bit kernel (xloadflags 0x4 lacks "
			     "XLF_KERNEL_64)");
}

static void test_check_truncated(void **state)
{
	(void)state;
	build_kernel();
	image_size = PM_OFFSET + PAYLOAD_SIZE - 1;
	expect_check_refusal("truncated: the protected-mode kernel needs "
			     "68096 bytes, the file has 68095");
	image_size = 0x800;
	expect_check_refusal("truncated: the 4 setup sectors need 2560 "
			     "bytes, the file has 2048");
	build_kernel();
	put32(LINUX_HDR_FIELD(syssize), 0);
	expect_check_refusal("syssize is 0: the file holds no protected-mode "
			     "kernel");
}

static void test_check_bad_alignment_and_init_size(void **state)
{
	struct linux_kernel k;

	(void)state;
	build_kernel();
	put32(LINUX_HDR_FIELD(kernel_alignment), 0x300000);
	expect_check_refusal("kernel_alignment 0x300000 is not a power of two");
	put32(LINUX_HDR_FIELD(kernel_alignment), 0);
	expect_check_refusal("kernel_alignment 0x0 is not a power of two");
	/* A fixed kernel is never aligned by the loader. */
	image[LINUX_HDR_FIELD(relocatable_kernel)] = 0;
	assert_int_equal(linux_check(image, image_size, &k), 0);

	build_kernel();
	put32(LINUX_HDR_FIELD(init_size), 0);
	expect_check_refusal("init_size is 0: the kernel does not say how "
			     "much memory it needs to start");
}

/* ---- linux_load: placement ---- */

static void test_load_relocatable_at_pref_address(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(boot.kernel_load, MiB(16));
	assert_int_equal(boot.kernel_runtime, MiB(16));
	assert_int_equal(boot.kernel_end, MiB(24));
	assert_memory_equal(ram + MiB(16), image + PM_OFFSET, PAYLOAD_SIZE);
	/* Exactly syssize * 16 bytes: the trailer is not loaded. */
	assert_int_equal(ram[MiB(16) + PAYLOAD_SIZE], RAM_FILL);
	assert_int_equal(ram[MiB(16) - 1], RAM_FILL);
	assert_int_equal(boot.initrd_gpa, 0);
	assert_int_equal(boot.boot_params_gpa, LINUX_BOOT_PARAMS_GPA);
	assert_string_equal(boot.kernel.version, VERSION_STRING);
}

static void test_load_relocatable_rounds_up(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	put64(LINUX_HDR_FIELD(pref_address), MiB(16) + 0x1000);
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(boot.kernel_load, MiB(18));

	/* Below 1 MiB is never used: 1 MiB rounded up to the alignment. */
	reset(NULL);
	put64(LINUX_HDR_FIELD(pref_address), 0);
	load_ok(&p, &boot);
	assert_int_equal(boot.kernel_load, MiB(2));
	assert_int_equal(boot.cpu.rip, MiB(2) + 0x200);
}

static void test_load_not_relocatable(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	image[LINUX_HDR_FIELD(relocatable_kernel)] = 0;
	put32(LINUX_HDR_FIELD(kernel_alignment), 0x300000); /* ignored */
	p = params();
	load_ok(&p, &boot);
	/* Loaded at 1 MiB; moves itself to pref_address and needs
	 * init_size from there. */
	assert_int_equal(boot.kernel_load, MiB(1));
	assert_int_equal(boot.kernel_runtime, MiB(16));
	assert_int_equal(boot.kernel_end, MiB(24));
	assert_memory_equal(ram + MiB(1), image + PM_OFFSET, PAYLOAD_SIZE);
	assert_int_equal(boot.cpu.rip, MiB(1) + 0x200);
	assert_int_equal(boot_params()->hdr.code32_start, MiB(1));

	reset(NULL);
	put64(LINUX_HDR_FIELD(pref_address), 0x80000);
	expect_load_refusal(&p, "the kernel is not relocatable and runs at "
				"0x80000, below 1 MiB");
}

static void test_load_kernel_does_not_fit(void **state)
{
	struct linux_load_params p;

	(void)state;
	build_kernel();
	p = params();
	put32(LINUX_HDR_FIELD(init_size), MiB(60));
	expect_load_refusal(&p, "the kernel needs guest RAM up to 0x4c00000 "
				"(76 MiB: it runs at 0x1000000 with "
				"init_size 0x3c00000) but the guest has 64 "
				"MiB");
	put32(LINUX_HDR_FIELD(init_size), MiB(8));
	put64(LINUX_HDR_FIELD(pref_address), 0xFFFFFFFFFFF00000ull);
	expect_load_refusal(&p, "pref_address 0xfffffffffff00000 puts the "
				"kernel outside the address space");
	put64(LINUX_HDR_FIELD(pref_address), GiB(5));
	guest.size = RAM_MAX;
	expect_load_refusal(&p, "the kernel needs guest RAM up to 0x140800000 "
				"(5128 MiB: it runs at 0x140000000 with "
				"init_size 0x800000) but the guest has 128 "
				"MiB");
	guest.size = KiB(512);
	expect_load_refusal(&p, "guest RAM of 512 KiB is less than the 1 MiB "
				"the boot area and the kernel need");
}

/* ---- initrd ---- */

static void fill_initrd(u8 *buf, u64 size)
{
	for (u64 i = 0; i < size; i++)
		buf[i] = (u8)(i * 13 + 1);
}

static void test_initrd_top_of_ram(void **state)
{
	static u8 initrd[MiB(1) + 100];
	struct linux_load_params p;
	struct linux_boot boot;
	u64 expect = ALIGN_DOWN(MiB(64) - sizeof(initrd), PAGE_SIZE);

	(void)state;
	build_kernel();
	fill_initrd(initrd, sizeof(initrd));
	p = params();
	p.initrd = initrd;
	p.initrd_size = sizeof(initrd);
	load_ok(&p, &boot);
	assert_int_equal(boot.initrd_gpa, expect);
	assert_int_equal(boot.initrd_size, sizeof(initrd));
	assert_memory_equal(ram + expect, initrd, sizeof(initrd));
	assert_int_equal(boot_params()->hdr.ramdisk_image, expect);
	assert_int_equal(boot_params()->hdr.ramdisk_size, sizeof(initrd));
	assert_int_equal(boot_params()->ext_ramdisk_image, 0);
	assert_int_equal(boot_params()->ext_ramdisk_size, 0);
}

static void test_initrd_below_initrd_addr_max(void **state)
{
	static u8 initrd[KiB(300)];
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	put32(LINUX_HDR_FIELD(initrd_addr_max), MiB(40) - 1);
	fill_initrd(initrd, sizeof(initrd));
	p = params();
	p.initrd = initrd;
	p.initrd_size = sizeof(initrd);
	load_ok(&p, &boot);
	/* The last byte may be at 40 MiB - 1 at most. */
	assert_int_equal(boot.initrd_gpa,
			 ALIGN_DOWN(MiB(40) - sizeof(initrd), PAGE_SIZE));
	assert_true(boot.initrd_gpa + sizeof(initrd) <= MiB(40));
	assert_memory_equal(ram + boot.initrd_gpa, initrd, sizeof(initrd));
}

static void test_initrd_avoids_extra_ranges(void **state)
{
	static u8 initrd[MiB(3) + 1];
	const struct linux_e820_entry extra[] = {
	    {MiB(62), MiB(1), LINUX_E820_RESERVED},
	    {MiB(58), MiB(1), LINUX_E820_ACPI},
	};
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	p.initrd = initrd;
	p.initrd_size = sizeof(initrd);
	p.extra_e820 = extra;
	p.extra_e820_count = 2;
	load_ok(&p, &boot);
	/* [63,64) and [59,62) are a byte too small: below 58 MiB. */
	assert_int_equal(boot.initrd_gpa, MiB(55) - PAGE_SIZE);

	/* Exactly 3 MiB fits between the two ranges. */
	reset(NULL);
	p.initrd_size = MiB(3);
	load_ok(&p, &boot);
	assert_int_equal(boot.initrd_gpa, MiB(59));
}

static void test_initrd_does_not_fit(void **state)
{
	static u8 initrd[MiB(41)];
	struct linux_load_params p;

	(void)state;
	build_kernel();
	p = params();
	p.initrd = initrd;
	p.initrd_size = MiB(40) + 1;
	expect_load_refusal(&p, "initrd of 41 MiB does not fit in the guest's "
				"RAM (64 MiB) above the kernel");
	p.initrd_size = MiB(40);
	assert_int_equal(linux_load(&guest, &p, &(struct linux_boot){0}), 0);

	reset(NULL);
	put32(LINUX_HDR_FIELD(initrd_addr_max), MiB(32) - 1);
	p.initrd_size = MiB(9);
	expect_load_refusal(&p, "initrd of 9 MiB does not fit between the "
				"kernel's end (0x1800000) and its "
				"initrd_addr_max 0x1ffffff");
	p.initrd = NULL;
	expect_load_refusal(&p, "initrd of 9437184 bytes but no data");
}

/* ---- command line ---- */

static void test_cmdline(void **state)
{
	static char line[2048 + 1];
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(boot.cmdline_gpa, LINUX_CMDLINE_GPA);
	assert_int_equal(boot.cmdline_length, 13);
	assert_string_equal((char *)ram + LINUX_CMDLINE_GPA, "console=ttyS0");
	assert_int_equal(boot_params()->hdr.cmd_line_ptr, LINUX_CMDLINE_GPA);
	/* The rest of the area is zeroed, not left as it was. */
	assert_int_equal(ram[LINUX_CMDLINE_END - 1], 0);

	reset(NULL);
	p.cmdline = NULL;
	load_ok(&p, &boot);
	assert_int_equal(boot.cmdline_length, 0);
	assert_int_equal(ram[LINUX_CMDLINE_GPA], 0);

	/* cmdline_size counts the bytes without the NUL. */
	reset(NULL);
	memset(line, 'x', 2047);
	p.cmdline = line;
	load_ok(&p, &boot);
	assert_int_equal(boot.cmdline_length, 2047);
	assert_int_equal(ram[LINUX_CMDLINE_GPA + 2047], 0);

	reset(NULL);
	line[2047] = 'y';
	expect_load_refusal(&p, "command line is 2048 bytes, the kernel "
				"accepts at most 2047");
}

static void test_cmdline_longer_than_area(void **state)
{
	static char line[40000];
	struct linux_load_params p;

	(void)state;
	build_kernel();
	put32(LINUX_HDR_FIELD(cmdline_size), 0xFFFFFFFF);
	memset(line, 'a', sizeof(line) - 1);
	p = params();
	p.cmdline = line;
	expect_load_refusal(&p, "command line is over 28671 bytes, more than "
				"Veneer's command-line area holds");
}

/* ---- boot_params and e820 ---- */

static void expect_e820(u32 i, u64 addr, u64 size, u32 type)
{
	const struct linux_e820_entry *e = &boot_params()->e820_table[i];

	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_boot_params_fields(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;
	const struct linux_boot_params *bp = boot_params();
	const u8 *raw = ram + LINUX_BOOT_PARAMS_GPA;

	(void)state;
	build_kernel();
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(bp->hdr.type_of_loader, 0xFF);
	assert_int_equal(bp->hdr.loadflags, LINUX_LOADED_HIGH);
	assert_int_equal(bp->hdr.heap_end_ptr, 0);
	assert_int_equal(bp->hdr.boot_flag, 0xAA55);
	assert_int_equal(bp->hdr.header, LINUX_HEADER_MAGIC);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.vid_mode, 0xFFFF);
	assert_int_equal(bp->hdr.kernel_alignment, MiB(2));
	assert_int_equal(bp->hdr.pref_address, MiB(16));
	assert_int_equal(bp->hdr.init_size, MiB(8));
	assert_int_equal(bp->hdr.kernel_info_offset, 0x1234);
	assert_int_equal(bp->hdr.code32_start, MiB(16));
	assert_int_equal(bp->acpi_rsdp_addr, 0);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	/* Only the header is copied: the image's 0x5A bytes around it and its
	 * 0xFF sentinel are not. */
	assert_int_equal(bp->sentinel, 0);
	assert_int_equal(raw[0x1f0], 0);
	for (u32 at = 0x26c; at < 0x2d0; at++)
		assert_int_equal(raw[at], 0);
	for (u32 at = 0; at < 0x1e8; at++)
		assert_int_equal(raw[at], 0);
	for (u32 at = 0x2d0 + 4 * 20; at < 0x1000; at++)
		assert_int_equal(raw[at], 0);
	/* A CAN_USE_HEAP in the image's loadflags is not passed on. */
	reset(NULL);
	image[LINUX_HDR_FIELD(loadflags)] |= LINUX_CAN_USE_HEAP;
	load_ok(&p, &boot);
	assert_int_equal(bp->hdr.loadflags, LINUX_LOADED_HIGH);
}

static void test_acpi_rsdp_addr(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	p.acpi_rsdp = 0xF0000;
	load_ok(&p, &boot);
	assert_int_equal(boot_params()->acpi_rsdp_addr, 0xF0000);
}

static void test_e820_default(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(boot.e820_count, 4);
	assert_int_equal(boot_params()->e820_entries, 4);
	expect_e820(0, 0, 0x9FC00, LINUX_E820_RAM);
	expect_e820(1, 0x9FC00, 0x400, LINUX_E820_RESERVED);
	expect_e820(2, 0xE0000, 0x20000, LINUX_E820_RESERVED);
	expect_e820(3, 0x100000, MiB(63), LINUX_E820_RAM);
}

static void test_e820_extra_ranges(void **state)
{
	const struct linux_e820_entry extra[] = {
	    {0xFEC00000, 0x1000, LINUX_E820_RESERVED}, /* above RAM */
	    {MiB(40), KiB(64), LINUX_E820_ACPI},       /* splits RAM */
	    {0xF0000, 0x10000, LINUX_E820_ACPI}, /* overrides the BIOS area */
	    {MiB(63), MiB(2), LINUX_E820_NVS},	 /* across RAM's end */
	};
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	p.extra_e820 = extra;
	p.extra_e820_count = ARRAY_SIZE(extra);
	load_ok(&p, &boot);
	assert_int_equal(boot.e820_count, 9);
	assert_int_equal(boot_params()->e820_entries, 9);
	expect_e820(0, 0, 0x9FC00, LINUX_E820_RAM);
	expect_e820(1, 0x9FC00, 0x400, LINUX_E820_RESERVED);
	expect_e820(2, 0xE0000, 0x10000, LINUX_E820_RESERVED);
	expect_e820(3, 0xF0000, 0x10000, LINUX_E820_ACPI);
	expect_e820(4, 0x100000, MiB(39), LINUX_E820_RAM);
	expect_e820(5, MiB(40), KiB(64), LINUX_E820_ACPI);
	expect_e820(6, MiB(40) + KiB(64), MiB(23) - KiB(64), LINUX_E820_RAM);
	expect_e820(7, MiB(63), MiB(2), LINUX_E820_NVS);
	expect_e820(8, 0xFEC00000, 0x1000, LINUX_E820_RESERVED);
}

static void test_e820_most_extra_ranges(void **state)
{
	struct linux_e820_entry extra[LINUX_EXTRA_E820_MAX + 1];
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	/* Each one splits RAM above the kernel: the largest possible map. */
	for (u32 i = 0; i < ARRAY_SIZE(extra); i++)
		extra[i] = (struct linux_e820_entry){
		    MiB(30) + i * MiB(1), KiB(4), LINUX_E820_RESERVED};
	p = params();
	p.extra_e820 = extra;
	p.extra_e820_count = LINUX_EXTRA_E820_MAX;
	load_ok(&p, &boot);
	assert_int_equal(boot.e820_count, 4 + 2 * LINUX_EXTRA_E820_MAX);
	for (u32 i = 1; i < boot.e820_count; i++)
		assert_true(boot_params()->e820_table[i - 1].addr +
				boot_params()->e820_table[i - 1].size <=
			    boot_params()->e820_table[i].addr);

	reset(NULL);
	p.extra_e820_count = LINUX_EXTRA_E820_MAX + 1;
	expect_load_refusal(&p, "17 extra e820 ranges, more than the 16 the "
				"loader accepts");
}

static void test_e820_bad_extra_ranges(void **state)
{
	struct linux_e820_entry extra[2] = {
	    {MiB(40), KiB(64), LINUX_E820_RAM},
	    {MiB(50), KiB(64), LINUX_E820_RESERVED},
	};
	struct linux_load_params p;

	(void)state;
	build_kernel();
	p = params();
	p.extra_e820 = extra;
	p.extra_e820_count = 2;
	expect_load_refusal(&p, "extra e820 range 0: type 1 is not 2 "
				"(reserved), 3 (ACPI), 4 (ACPI NVS) or 5 "
				"(unusable)");
	extra[0].type = LINUX_E820_RESERVED;
	extra[1].size = 0;
	expect_load_refusal(&p, "extra e820 range 1 at 0x3200000: size 0x0 "
				"is empty or overflows");
	extra[1] = (struct linux_e820_entry){~0ull - 10, 20, 2};
	expect_load_refusal(&p, "extra e820 range 1 at 0xfffffffffffffff5: "
				"size 0x14 is empty or overflows");
	extra[1] = (struct linux_e820_entry){MiB(40) + KiB(60), KiB(8), 2};
	expect_load_refusal(&p, "extra e820 ranges 0 and 1 overlap");
	extra[1] = (struct linux_e820_entry){0x8000, 16, 2};
	expect_load_refusal(&p, "extra e820 range 1 [0x8000,0x8010) overlaps "
				"the boot area [0x1000,0x10000)");
	extra[1] = (struct linux_e820_entry){MiB(20), MiB(1), 3};
	expect_load_refusal(&p, "the kernel's memory [0x1000000,0x1800000) "
				"overlaps the extra e820 ACPI range "
				"[0x1400000,0x1500000)");
	p.extra_e820 = NULL;
	expect_load_refusal(&p, "2 extra e820 ranges but no array");
}

/* ---- entry state and tables ---- */

static void test_entry_64bit_tables(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;
	const struct linux_cpu_entry *cpu = &boot.cpu;

	(void)state;
	build_kernel();
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(cpu->mode, LINUX_ENTRY_64);
	assert_int_equal(cpu->rip, MiB(16) + 0x200);
	assert_int_equal(cpu->rsi, LINUX_BOOT_PARAMS_GPA);
	assert_int_equal(cpu->rflags, 0x2);
	assert_int_equal(cpu->cr0, 0x80000031);
	assert_int_equal(cpu->cr3, 0x2000);
	assert_int_equal(cpu->cr4, 0x20);
	assert_int_equal(cpu->efer, 0x500);
	assert_int_equal(cpu->gdtr_base, 0x1000);
	assert_int_equal(cpu->gdtr_limit, 31);
	assert_int_equal(cpu->cs, 0x10);
	assert_int_equal(cpu->ds, 0x18);
	assert_int_equal(cpu->cs_descriptor, 0x00AF9B000000FFFFull);
	assert_int_equal(cpu->ds_descriptor, 0x00CF93000000FFFFull);

	/* GDT: two null slots, code at 0x10, data at 0x18, rest zeroed. */
	assert_int_equal(ram_u64(0x1000), 0);
	assert_int_equal(ram_u64(0x1008), 0);
	assert_int_equal(ram_u64(0x1010), 0x00AF9B000000FFFFull);
	assert_int_equal(ram_u64(0x1018), 0x00CF93000000FFFFull);
	assert_int_equal(ram_u64(0x1020), 0);
	assert_int_equal(ram_u64(0x1FF8), 0);
	/* PML4[0] -> PDPT; PDPT[0..3] -> the four PDs; 2 MiB leaves. */
	assert_int_equal(ram_u64(0x2000), 0x3003);
	for (u32 i = 1; i < 512; i++)
		assert_int_equal(ram_u64(0x2000 + i * 8), 0);
	for (u32 i = 0; i < 4; i++)
		assert_int_equal(ram_u64(0x3000 + i * 8), 0x4003 + i * 0x1000);
	for (u32 i = 4; i < 512; i++)
		assert_int_equal(ram_u64(0x3000 + i * 8), 0);
	for (u32 i = 0; i < 4 * 512; i++)
		assert_int_equal(ram_u64(0x4000 + i * 8), i * MiB(2) | 0x83);
	/* The last PD entry maps [4 GiB - 2 MiB, 4 GiB). */
	assert_int_equal(ram_u64(0x7FF8), 0xFFE00083);
	/* Nothing is written below the GDT (IVT, BIOS data area). */
	for (u32 at = 0; at < 0x1000; at++)
		assert_int_equal(ram[at], RAM_FILL);
}

static void test_entry_32bit(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	p = params();
	p.entry_mode = LINUX_ENTRY_32;
	load_ok(&p, &boot);
	assert_int_equal(boot.cpu.mode, LINUX_ENTRY_32);
	assert_int_equal(boot.cpu.rip, MiB(16));
	assert_int_equal(boot.cpu.rsi, LINUX_BOOT_PARAMS_GPA);
	assert_int_equal(boot.cpu.cr0, 0x31);
	assert_int_equal(boot.cpu.cr3, 0);
	assert_int_equal(boot.cpu.cr4, 0);
	assert_int_equal(boot.cpu.efer, 0);
	assert_int_equal(boot.cpu.cs_descriptor, 0x00CF9B000000FFFFull);
	assert_int_equal(ram_u64(0x1010), 0x00CF9B000000FFFFull);
	/* No page tables: that memory is untouched. */
	assert_int_equal(ram[0x2000], RAM_FILL);
	assert_int_equal(ram[0x7FFF], RAM_FILL);

	p.entry_mode = (enum linux_entry_mode)7;
	reset(NULL);
	expect_load_refusal(&p, "entry mode 7 is neither 32-bit nor 64-bit");
}

/* Loading again over a guest's old boot area leaves none of it behind. */
static void test_boot_area_over_old_data(void **state)
{
	struct linux_load_params p;
	struct linux_boot boot;

	(void)state;
	build_kernel();
	memset(ram + LINUX_BOOT_PARAMS_GPA, 0x77, 0x8000);
	p = params();
	load_ok(&p, &boot);
	assert_int_equal(boot_params()->sentinel, 0);
	assert_int_equal(boot_params()->e820_entries, 4);
	assert_int_equal(ram[LINUX_BOOT_PARAMS_GPA + 0xFFF], 0);
	assert_int_equal(ram[LINUX_CMDLINE_END - 1], 0);
	assert_int_equal(ram_u64(0x1020), 0);
}

/* Nothing is written past the RAM view, even with more array behind it. */
static void test_writes_stay_in_ram_view(void **state)
{
	static u8 initrd[KiB(64)];
	struct linux_load_params p;
	struct linux_boot boot;
	struct linux_cpu_entry cpu;
	const struct guest_mem tiny = {.base = ram, .size = 0x5000};

	(void)state;
	build_kernel();
	p = params();
	p.initrd = initrd;
	p.initrd_size = sizeof(initrd);
	p.entry_mode = LINUX_ENTRY_64;
	load_ok(&p, &boot);
	assert_int_equal(boot.initrd_gpa + sizeof(initrd), MiB(64));
	expect_ram_untouched_from(MiB(64));

	/* The entry tables alone need RAM up to the boot area's end. */
	reset(NULL);
	assert_int_equal(linux_write_entry_tables(&tiny, LINUX_ENTRY_64, &cpu),
			 -1);
	expect_ram_untouched_from(0x5000);
}

static void test_no_guest_ram_or_old_protocol(void **state)
{
	struct linux_load_params p;

	(void)state;
	build_kernel();
	p = params();
	guest.base = NULL;
	expect_load_refusal(&p, "no guest RAM to load into");
	reset(NULL);
	put16(LINUX_HDR_FIELD(version), LINUX_PROTOCOL(2, 2));
	expect_load_refusal(&p, "boot protocol 2.02 is too old (need 2.12)");
}

/* ---- the real Debian kernel, when tools/fetch-linux has fetched it ---- */

/* build/linux/NAME, found from this binary's path (build/unit/test_linux). */
static void build_linux_path(const char *name, char *out, size_t size)
{
	const char *slash = strrchr(self_path, '/');
	int dir_len = slash ? (int)(slash - self_path) : 1;

	snprintf(out, size, "%.*s/../linux/%s", dir_len,
		 slash ? self_path : ".", name);
}

static u8 *read_file(const char *path, u64 *size)
{
	FILE *f = fopen(path, "rb");
	u8 *bytes;
	long len;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	bytes = malloc((size_t)len + 1);
	assert_non_null(bytes);
	assert_int_equal(fread(bytes, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	bytes[len] = 0;
	*size = (u64)len;
	return bytes;
}

static void test_real_debian_kernel(void **state)
{
	char path[4096], version_path[4096];
	struct linux_load_params p;
	struct linux_boot boot;
	u8 *kernel, *release;
	u64 size, release_size;
	static u8 initrd[KiB(100)];

	(void)state;
	build_linux_path("vmlinuz", path, sizeof(path));
	kernel = read_file(path, &size);
	if (!kernel) {
		print_message("%s is absent (run tools/fetch-linux): skipped\n",
			      path);
		skip();
	}
	assert_int_equal(linux_check(kernel, size, &boot.kernel), 0);
	assert_true(boot.kernel.protocol >= LINUX_PROTOCOL(2, 15));
	assert_true(boot.kernel.xloadflags & LINUX_XLF_KERNEL_64);
	assert_true(boot.kernel.relocatable);
	assert_true(boot.kernel.pm_offset + boot.kernel.pm_size <= size);
	build_linux_path("version", version_path, sizeof(version_path));
	release = read_file(version_path, &release_size);
	if (release) {
		/* "6.1.0-NN-amd64 (debian-kernel@...) #1 SMP ...". */
		release[strcspn((char *)release, "\n")] = 0;
		assert_int_equal(strncmp(boot.kernel.version, (char *)release,
					 strlen((char *)release)),
				 0);
		free(release);
	}
	print_message("%s: protocol %u.%02u, %s\n", path,
		      boot.kernel.protocol >> 8, boot.kernel.protocol & 0xff,
		      boot.kernel.version);

	/* It loads into a 128 MiB guest as the layout says. */
	guest.size = RAM_MAX;
	p = (struct linux_load_params){
	    .kernel = kernel,
	    .kernel_size = size,
	    .initrd = initrd,
	    .initrd_size = sizeof(initrd),
	    .cmdline = "console=ttyS0",
	    .entry_mode = LINUX_ENTRY_64,
	};
	load_ok(&p, &boot);
	assert_int_equal(boot.kernel_load, boot.kernel.pref_address);
	assert_true(boot.kernel_end <= boot.initrd_gpa);
	assert_int_equal(boot.initrd_gpa + PAGE_SIZE * 25, RAM_MAX);
	assert_memory_equal(ram + boot.kernel_load,
			    kernel + boot.kernel.pm_offset,
			    boot.kernel.pm_size);
	free(kernel);
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    T(test_check_protocol_2_15),
	    T(test_check_setup_sects_zero_means_four),
	    T(test_check_protocol_2_12_and_odd_version),
	    T(test_check_not_a_kernel),
	    T(test_check_protocol_too_old),
	    T(test_check_header_end),
	    T(test_check_not_bzimage_or_not_64bit),
	    T(test_check_truncated),
	    T(test_check_bad_alignment_and_init_size),
	    T(test_load_relocatable_at_pref_address),
	    T(test_load_relocatable_rounds_up),
	    T(test_load_not_relocatable),
	    T(test_load_kernel_does_not_fit),
	    T(test_initrd_top_of_ram),
	    T(test_initrd_below_initrd_addr_max),
	    T(test_initrd_avoids_extra_ranges),
	    T(test_initrd_does_not_fit),
	    T(test_cmdline),
	    T(test_cmdline_longer_than_area),
	    T(test_boot_params_fields),
	    T(test_acpi_rsdp_addr),
	    T(test_e820_default),
	    T(test_e820_extra_ranges),
	    T(test_e820_most_extra_ranges),
	    T(test_e820_bad_extra_ranges),
	    T(test_entry_64bit_tables),
	    T(test_entry_32bit),
	    T(test_boot_area_over_old_data),
	    T(test_writes_stay_in_ram_view),
	    T(test_no_guest_ram_or_old_protocol),
	    T(test_real_debian_kernel),
	};

	(void)argc;
	self_path = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
