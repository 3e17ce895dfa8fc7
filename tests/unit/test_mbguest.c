/* SPDX-License-Identifier: MIT */
/*
 * Host tests of the Multiboot1 information builder (core/mbguest.c).
 *
 * The built area is copied into a small array standing in for the low
 * part of guest RAM and parsed back the way a guest kernel would: from
 * the info structure, following every pointer as a guest-physical address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/mbguest.h"

#define LOW_RAM	  MiB(4) /* the part of guest RAM the tests can see */
#define AREA_GPA  0x9000ull
#define AREA_SIZE 4096ull

static u8 guest_ram[LOW_RAM];
static u8 area[8192];

/* Guest-physical [gpa, gpa+len) as a host pointer, checked. */
static const void *at_gpa(u64 gpa, u64 len)
{
	assert_true(gpa <= LOW_RAM && len <= LOW_RAM - gpa);
	return guest_ram + gpa;
}

static const char *string_at(u64 gpa)
{
	const char *s = at_gpa(gpa, 1);

	assert_non_null(memchr(s, 0, LOW_RAM - gpa));
	return s;
}

static struct mb1_info info_at(u64 gpa)
{
	struct mb1_info info;

	memcpy(&info, at_gpa(gpa, sizeof(info)), sizeof(info));
	return info;
}

/* Builds into `area`, copies to guest RAM; returns mbguest_build's rc. */
static int build(const struct mbguest_params *p, struct mbguest_result *out)
{
	int rc;

	memset(area, 0xEE, sizeof(area));
	memset(guest_ram, 0xDD, sizeof(guest_ram));
	rc = mbguest_build(p, area, out);
	if (rc == 0) {
		assert_true(out->size <= p->area_size);
		assert_int_equal(out->info_gpa, p->area_gpa);
		assert_string_equal(out->error, "");
		/* Nothing written past what it reports. */
		assert_int_equal(area[out->size], 0xEE);
		memcpy(guest_ram + p->area_gpa, area, out->size);
	} else {
		/* A refusal leaves the area as it was. */
		for (size_t i = 0; i < sizeof(area); i++)
			assert_int_equal(area[i], 0xEE);
	}
	return rc;
}

/* A pointer from the structure lands inside the area it was built in. */
static void expect_in_area(const struct mbguest_result *out, u64 gpa)
{
	assert_true(gpa >= out->info_gpa && gpa < out->info_gpa + out->size);
}

struct mmap_want {
	u64 base, length;
	u32 type;
};

static void expect_mmap(const struct mb1_info *info,
			const struct mbguest_result *out, u64 ram_size)
{
	const struct mmap_want want[] = {
	    {0, 0x9FC00, MB_MEMORY_AVAILABLE},
	    {0x9FC00, 0x400, MB_MEMORY_RESERVED},
	    {0xF0000, 0x10000, MB_MEMORY_RESERVED},
	    {0x100000, ram_size - 0x100000, MB_MEMORY_AVAILABLE},
	};
	u64 gpa = info->mmap_addr;

	assert_true(info->flags & MB1_INFO_MEM_MAP);
	expect_in_area(out, info->mmap_addr);
	assert_int_equal(info->mmap_length, 4 * 24);
	/* Walk the way the spec says: next = this + size + 4. */
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		struct mb1_mmap_entry e;

		assert_true(gpa < (u64)info->mmap_addr + info->mmap_length);
		memcpy(&e, at_gpa(gpa, sizeof(e)), sizeof(e));
		assert_int_equal(e.size, 20);
		assert_int_equal(e.base_addr, want[i].base);
		assert_int_equal(e.length, want[i].length);
		assert_int_equal(e.type, want[i].type);
		gpa += e.size + 4;
	}
	assert_int_equal(gpa, (u64)info->mmap_addr + info->mmap_length);
}

static void expect_unused_fields_zero(const struct mb1_info *info)
{
	assert_int_equal(info->boot_device, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(info->syms[i], 0);
	assert_int_equal(info->drives_length, 0);
	assert_int_equal(info->drives_addr, 0);
	assert_int_equal(info->config_table, 0);
	assert_int_equal(info->apm_table, 0);
	assert_int_equal(info->vbe_control_info, 0);
	assert_int_equal(info->vbe_mode_info, 0);
	assert_int_equal(info->vbe_mode, 0);
	assert_int_equal(info->vbe_interface_seg, 0);
	assert_int_equal(info->vbe_interface_off, 0);
	assert_int_equal(info->vbe_interface_len, 0);
	assert_int_equal(info->framebuffer_addr, 0);
	assert_int_equal(info->framebuffer_pitch, 0);
	assert_int_equal(info->framebuffer_width, 0);
	assert_int_equal(info->framebuffer_height, 0);
	assert_int_equal(info->framebuffer_bpp, 0);
	assert_int_equal(info->framebuffer_type, 0);
}

static const struct mbguest_module two_modules[] = {
    {0x200000, 0x212345, "initrd.img root=/dev/ram0", NULL},
    {0x300000, 0x300800, "config", NULL},
};

static struct mbguest_params params(void)
{
	return (struct mbguest_params){
	    .ram_size = MiB(512),
	    .cmdline = "console=ttyS0 quiet",
	    .modules = two_modules,
	    .module_count = 2,
	    .area_gpa = AREA_GPA,
	    .area_size = AREA_SIZE,
	};
}

/* ---- good structures ---- */

static void test_every_field(void **state)
{
	(void)state;
	struct mbguest_params p = params();
	struct mbguest_result out;
	struct mb1_info info;

	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	assert_int_equal(info.flags,
			 BIT(0) | BIT(2) | BIT(3) | BIT(6) | BIT(9));
	assert_int_equal(info.mem_lower, 639);
	assert_int_equal(info.mem_upper, (MiB(512) - MiB(1)) / KiB(1));
	expect_in_area(&out, info.cmdline);
	assert_string_equal(string_at(info.cmdline), "console=ttyS0 quiet");
	expect_in_area(&out, info.boot_loader_name);
	assert_string_equal(string_at(info.boot_loader_name), "Veneer");
	expect_mmap(&info, &out, MiB(512));

	assert_int_equal(info.mods_count, 2);
	expect_in_area(&out, info.mods_addr);
	for (unsigned i = 0; i < 2; i++) {
		struct mb1_module m;

		memcpy(&m, at_gpa(info.mods_addr + i * sizeof(m), sizeof(m)),
		       sizeof(m));
		assert_int_equal(m.mod_start, two_modules[i].start);
		assert_int_equal(m.mod_end, two_modules[i].end);
		assert_int_equal(m.reserved, 0);
		expect_in_area(&out, m.string);
		assert_string_equal(string_at(m.string), two_modules[i].string);
	}
	expect_unused_fields_zero(&info);
	/* 120 info + 96 mmap + 32 modules + 20 + 7 + 26 + 7 bytes of text */
	assert_int_equal(out.size, 120 + 96 + 32 + 20 + 7 + 26 + 7);
}

static void test_no_cmdline_no_modules(void **state)
{
	(void)state;
	struct mbguest_params p = params();
	struct mbguest_result out;
	struct mb1_info info;

	p.cmdline = NULL;
	p.modules = NULL;
	p.module_count = 0;
	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	/* The module list is valid and empty; no command line flag. */
	assert_int_equal(info.flags, BIT(0) | BIT(3) | BIT(6) | BIT(9));
	assert_int_equal(info.cmdline, 0);
	assert_int_equal(info.mods_count, 0);
	assert_string_equal(string_at(info.boot_loader_name), "Veneer");
	expect_mmap(&info, &out, MiB(512));
}

static void test_empty_cmdline_and_module_string(void **state)
{
	(void)state;
	const struct mbguest_module nameless[] = {
	    {0x200000, 0x200000, NULL, NULL}};
	struct mbguest_params p = params();
	struct mbguest_result out;
	struct mb1_info info;
	struct mb1_module m;

	p.cmdline = "";
	p.modules = nameless;
	p.module_count = 1;
	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	assert_true(info.flags & MB1_INFO_CMDLINE);
	assert_string_equal(string_at(info.cmdline), "");
	memcpy(&m, at_gpa(info.mods_addr, sizeof(m)), sizeof(m));
	assert_int_equal(m.mod_start, 0x200000);
	assert_int_equal(m.mod_end, 0x200000);
	assert_string_equal(string_at(m.string), "");
}

/*
 * The path first, as QEMU -kernel / -initrd and GRUB Legacy give it: a
 * kernel takes argv[0] from the first word (core/mbguest.h).
 */
static void test_path_is_the_first_word(void **state)
{
	(void)state;
	const struct mbguest_module mods[] = {
	    {0x200000, 0x201000, "root=/dev/ram0", "/boot/initrd.img"},
	    {0x300000, 0x300800, "", "/boot/config"},
	    {0x400000, 0x400800, NULL, "/boot/none"},
	    {0x500000, 0x500800, "no path", NULL},
	    {0x600000, 0x600800, "empty path", ""},
	};
	static const char *const want[] = {"/boot/initrd.img root=/dev/ram0",
					   "/boot/config", "/boot/none",
					   "no path", "empty path"};
	struct mbguest_params p = params();
	struct mbguest_result out;
	struct mb1_info info;

	p.cmdline_path = "/boot/kernel.elf";
	p.modules = mods;
	p.module_count = ARRAY_SIZE(mods);
	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	expect_in_area(&out, info.cmdline);
	assert_string_equal(string_at(info.cmdline),
			    "/boot/kernel.elf console=ttyS0 quiet");
	for (unsigned i = 0; i < ARRAY_SIZE(mods); i++) {
		struct mb1_module m;

		memcpy(&m, at_gpa(info.mods_addr + i * sizeof(m), sizeof(m)),
		       sizeof(m));
		expect_in_area(&out, m.string);
		assert_string_equal(string_at(m.string), want[i]);
	}
	/* 120 info + 96 mmap + 5 * 16 modules; the strings with their NULs:
	 * 37 (padded from 248 + 0 to the cmdline at 8-aligned 296), 7,
	 * 32 + 13 + 11 + 8 + 11. */
	assert_int_equal(out.size, 296 + 37 + 7 + 32 + 13 + 11 + 8 + 11);

	/* Only a path: the command line is the path alone. */
	p.cmdline = NULL;
	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	assert_true(info.flags & MB1_INFO_CMDLINE);
	assert_string_equal(string_at(info.cmdline), "/boot/kernel.elf");
	p.cmdline = "";
	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	assert_string_equal(string_at(info.cmdline), "/boot/kernel.elf");
}

/* Above 4 GiB of RAM the mmap's 64-bit fields carry the size. */
static void test_large_ram(void **state)
{
	(void)state;
	struct mbguest_params p = params();
	struct mbguest_result out;
	struct mb1_info info;

	p.ram_size = GiB(6);
	assert_int_equal(build(&p, &out), 0);
	info = info_at(out.info_gpa);
	assert_int_equal(info.mem_upper, (GiB(6) - MiB(1)) / KiB(1));
	expect_mmap(&info, &out, GiB(6));
}

/* ---- refusals ---- */

static void expect_refusal(const struct mbguest_params *p, const char *msg)
{
	struct mbguest_result out;

	assert_int_equal(build(p, &out), -1);
	assert_string_equal(out.error, msg);
}

static void test_area_too_small(void **state)
{
	(void)state;
	struct mbguest_params p = params();
	struct mbguest_result out;
	u64 needed = 120 + 96 + 32 + 20 + 7 + 26 + 7;

	p.area_size = needed - 1;
	expect_refusal(&p, "the multiboot information needs 308 bytes but "
			   "the area at 0x9000 holds 307");
	p.area_size = needed;
	assert_int_equal(build(&p, &out), 0);
	assert_int_equal(out.size, needed);
}

static void test_bad_area(void **state)
{
	(void)state;
	struct mbguest_params p = params();

	p.area_gpa = 0x9004;
	expect_refusal(
	    &p, "the multiboot info area at 0x9004 is not 8-byte aligned");
	p.area_gpa = MiB(512) - 2048;
	expect_refusal(&p, "the multiboot info area [0x1ffff800,0x20000800) "
			   "is not in guest RAM below 4 GiB (RAM "
			   "0x0-0x20000000)");
	p.ram_size = GiB(8);
	p.area_gpa = GiB(4);
	expect_refusal(&p, "the multiboot info area [0x100000000,0x100001000) "
			   "is not in guest RAM below 4 GiB (RAM "
			   "0x0-0x200000000)");
	p.area_gpa = 0xFFFFFFFFFFFFF000ull;
	expect_refusal(&p, "the multiboot info area [0xfffffffffffff000,0x0) "
			   "is not in guest RAM below 4 GiB (RAM "
			   "0x0-0x200000000)");
	p.area_gpa = 0x9F000;
	expect_refusal(&p, "the multiboot info area [0x9f000,0xa0000) "
			   "overlaps the reserved range [0x9fc00,0x100000)");
}

static void test_bad_modules(void **state)
{
	(void)state;
	struct mbguest_params p = params();
	struct mbguest_module m[1];

	p.modules = m;
	p.module_count = 1;
	m[0] = (struct mbguest_module){0x300000, 0x2FF000, "backwards", NULL};
	expect_refusal(&p, "module 0 ends at 0x2ff000 before it starts at "
			   "0x300000");
	m[0] = (struct mbguest_module){MiB(511), MiB(513), "big", NULL};
	expect_refusal(&p, "module 0 [0x1ff00000,0x20100000) is not in guest "
			   "RAM below 4 GiB (RAM 0x0-0x20000000)");
	p.ram_size = GiB(8);
	m[0] = (struct mbguest_module){GiB(4) - KiB(4), GiB(4), "high", NULL};
	expect_refusal(&p, "module 0 [0xfffff000,0x100000000) is not in guest "
			   "RAM below 4 GiB (RAM 0x0-0x200000000)");
	m[0] = (struct mbguest_module){0x8000, 0x9001, "onto the info", NULL};
	expect_refusal(&p, "module 0 [0x8000,0x9001) overlaps the multiboot "
			   "info area [0x9000,0xa000)");
	p.modules = NULL;
	expect_refusal(&p, "1 modules given but no module list");
}

static void test_bad_ram_size(void **state)
{
	(void)state;
	struct mbguest_params p = params();

	p.ram_size = MiB(1);
	expect_refusal(&p, "guest RAM of 0x100000 bytes is out of range: a "
			   "multiboot guest needs more than 1 MiB and at most "
			   "4 TiB");
	p.ram_size = GiB(4096) + MiB(2);
	expect_refusal(&p, "guest RAM of 0x40000200000 bytes is out of range: "
			   "a multiboot guest needs more than 1 MiB and at "
			   "most 4 TiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_field),
	    cmocka_unit_test(test_no_cmdline_no_modules),
	    cmocka_unit_test(test_empty_cmdline_and_module_string),
	    cmocka_unit_test(test_path_is_the_first_word),
	    cmocka_unit_test(test_large_ram),
	    cmocka_unit_test(test_area_too_small),
	    cmocka_unit_test(test_bad_area),
	    cmocka_unit_test(test_bad_modules),
	    cmocka_unit_test(test_bad_ram_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
