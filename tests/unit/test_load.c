/* SPDX-License-Identifier: MIT */
/*
 * Host tests of core/load.c: a guest's images put into its RAM, and the
 * state its vCPU starts in.
 *
 * Guests load at the same time, each on its own host CPU (a reboot
 * reloads on the guest's CPU, issue 10 bug 2): nothing one guest's load
 * builds may reach another guest. The interleaving tests make that
 * happen at the worst moment: mbguest_build() and linux_load() are
 * wrapped here (tests/unit/wrap_*.c rename the real ones) so that a
 * second guest's whole load runs just after the first guest's boot
 * information was built, before the first load has used it.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/elf_spec.h"
#include "core/guestcfg.h"
#include "core/linux.h"
#include "core/load.h"
#include "core/mbguest.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

#define RAM_SIZE MiB(16)
#define RAM_FILL 0xCC

static u8 ram_a[RAM_SIZE], ram_b[RAM_SIZE];
static const struct guest_mem guest_a = {.base = ram_a, .size = RAM_SIZE};
static const struct guest_mem guest_b = {.base = ram_b, .size = RAM_SIZE};

/* ---- the real loaders, and another guest's load cutting in ---- */

int real_mbguest_build(const struct mbguest_params *p, void *buf,
		       struct mbguest_result *out);
int real_linux_load(const struct guest_mem *guest,
		    const struct linux_load_params *params,
		    struct linux_boot *out);

/* A load to run in the middle of the next one, once. */
struct cut_in {
	const struct guest_image *gi;
	const struct guest_mem *ram;
	struct vcpu_start_state st;
	bool ok;
	char err[200];
};

static struct cut_in *cut_in;

static void run_cut_in(void)
{
	struct cut_in *c = cut_in;

	if (!c)
		return;
	cut_in = NULL; /* its own load runs straight through */
	c->ok = guest_load(c->gi, c->ram, &c->st, c->err, sizeof(c->err));
}

int mbguest_build(const struct mbguest_params *p, void *buf,
		  struct mbguest_result *out)
{
	int rc = real_mbguest_build(p, buf, out);

	run_cut_in();
	return rc;
}

int linux_load(const struct guest_mem *guest,
	       const struct linux_load_params *params, struct linux_boot *out)
{
	int rc = real_linux_load(guest, params, out);

	run_cut_in();
	return rc;
}

/* ---- images ---- */

static struct boot_module module_of(const void *bytes, u64 size)
{
	struct boot_module m = {.start = (u64)(uintptr_t)bytes};

	m.end = m.start + size;
	return m;
}

/* An ELF32 multiboot kernel: one segment at `paddr`, entry at its start. */
struct elf_kernel {
	struct elf32_header h;
	struct elf32_phdr ph;
	u8 text[0x100];
} __packed;

static void build_elf(struct elf_kernel *k, u32 paddr, u8 fill)
{
	memset(k, 0, sizeof(*k));
	k->h = (struct elf32_header){
	    .e_ident = {ELF_MAGIC0, ELF_MAGIC1, ELF_MAGIC2, ELF_MAGIC3,
			ELF_CLASS_32, ELF_DATA_LSB, ELF_VERSION_CURRENT},
	    .e_type = ELF_TYPE_EXEC,
	    .e_machine = ELF_MACHINE_386,
	    .e_version = ELF_VERSION_CURRENT,
	    .e_entry = paddr,
	    .e_phoff = offsetof(struct elf_kernel, ph),
	    .e_ehsize = sizeof(k->h),
	    .e_phentsize = sizeof(k->ph),
	    .e_phnum = 1,
	};
	k->ph = (struct elf32_phdr){
	    .p_type = ELF_PT_LOAD,
	    .p_offset = offsetof(struct elf_kernel, text),
	    .p_vaddr = paddr,
	    .p_paddr = paddr,
	    .p_filesz = sizeof(k->text),
	    .p_memsz = 0x1000,
	};
	memset(k->text, fill, sizeof(k->text));
}

/*
 * A protocol 2.15 bzImage, relocatable, 4 setup sectors and 4 KiB of
 * kernel that wants to run at `pref_address` with 1 MiB.
 */
#define BZ_PM_OFFSET (5 * 512)
#define BZ_SIZE	     (BZ_PM_OFFSET + 4096)

static void put(u8 *image, u32 at, u64 v, u32 size)
{
	memcpy(image + at, &v, size);
}

static void build_bzimage(u8 *image, u64 pref_address)
{
	memset(image, 0, BZ_SIZE);
	image[LINUX_HDR_FIELD(setup_sects)] = 4;
	put(image, LINUX_HDR_FIELD(syssize), 4096 / 16, 4);
	put(image, LINUX_HDR_FIELD(boot_flag), LINUX_BOOT_FLAG, 2);
	image[LINUX_JUMP_OFFSET + 1] = 0x26c - 0x202;
	put(image, LINUX_HDR_FIELD(header), LINUX_HEADER_MAGIC, 4);
	put(image, LINUX_HDR_FIELD(version), LINUX_PROTOCOL(2, 15), 2);
	image[LINUX_HDR_FIELD(loadflags)] = LINUX_LOADED_HIGH;
	put(image, LINUX_HDR_FIELD(initrd_addr_max), 0x7fffffff, 4);
	put(image, LINUX_HDR_FIELD(kernel_alignment), MiB(2), 4);
	image[LINUX_HDR_FIELD(relocatable_kernel)] = 1;
	put(image, LINUX_HDR_FIELD(xloadflags), LINUX_XLF_KERNEL_64, 2);
	put(image, LINUX_HDR_FIELD(cmdline_size), 2047, 4);
	put(image, LINUX_HDR_FIELD(pref_address), pref_address, 8);
	put(image, LINUX_HDR_FIELD(init_size), MiB(1), 4);
	memset(image + BZ_PM_OFFSET, 0x90, 4096);
}

static struct guest_image image_of(const struct boot_module *mod,
				   const char *name, const char *cmdline,
				   enum guest_format format)
{
	struct guest_image gi = {.mod = mod};

	/* Declared as "/boot/NAME ... -- CMDLINE" (core/guestcfg.h). */
	str_copy(gi.cfg.path, "/boot/", sizeof(gi.cfg.path));
	memcpy(gi.cfg.path + 6, name, strlen(name) + 1);
	str_copy(gi.cfg.name, name, sizeof(gi.cfg.name));
	str_copy(gi.cfg.cmdline, cmdline, sizeof(gi.cfg.cmdline));
	gi.cfg.mem = RAM_SIZE;
	gi.cfg.format = format;
	return gi;
}

static int reset(void **state)
{
	(void)state;
	memset(ram_a, 0, sizeof(ram_a));
	memset(ram_b, 0, sizeof(ram_b));
	cut_in = NULL;
	host_printk_reset();
	return 0;
}

/* ---- what a multiboot guest finds ---- */

static const char *string_at(const u8 *ram, u32 gpa)
{
	assert_true(gpa < RAM_SIZE);
	assert_non_null(memchr(ram + gpa, 0, RAM_SIZE - gpa));
	return (const char *)ram + gpa;
}

static struct mb1_info info_of(const u8 *ram, const struct vcpu_start_state *st)
{
	struct mb1_info info;

	assert_int_equal(st->regs.gpr[GPR_RAX], MB1_BOOTLOADER_MAGIC);
	assert_true(st->regs.gpr[GPR_RBX] + sizeof(info) <= RAM_SIZE);
	memcpy(&info, ram + st->regs.gpr[GPR_RBX], sizeof(info));
	return info;
}

static struct mb1_module module_entry(const u8 *ram,
				      const struct mb1_info *info, u32 i)
{
	struct mb1_module m;

	assert_true(i < info->mods_count);
	memcpy(&m, ram + info->mods_addr + i * sizeof(m), sizeof(m));
	return m;
}

static void expect_multiboot_guest(const u8 *ram,
				   const struct vcpu_start_state *st,
				   const char *cmdline, const char *module,
				   u8 fill)
{
	struct mb1_info info = info_of(ram, st);
	struct mb1_module m;

	assert_int_equal(st->mode, VCPU_START_PROTECTED);
	assert_int_equal(st->cs_selector, 0x10);
	assert_int_equal(st->ds_selector, 0x18);
	assert_int_equal(st->rip, 0x100000);
	assert_int_equal(st->regs.gpr[GPR_RBX], 0x1000);
	assert_int_equal(ram[0x100000], fill);
	assert_true(info.flags & MB1_INFO_CMDLINE);
	assert_string_equal(string_at(ram, info.cmdline), cmdline);
	assert_int_equal(info.mods_count, 1);
	m = module_entry(ram, &info, 0);
	assert_string_equal(string_at(ram, m.string), module);
	assert_int_equal(m.mod_start, 0x101000); /* page after the kernel */
	assert_int_equal(ram[m.mod_start], fill);
}

static void test_multiboot_guest(void **state)
{
	static struct elf_kernel kernel;
	static u8 data[100];
	struct boot_module k, mod;
	struct guest_image gi;
	struct vcpu_start_state st;
	char err[200];

	(void)state;
	build_elf(&kernel, 0x100000, 0xA1);
	memset(data, 0xA1, sizeof(data));
	k = module_of(&kernel, sizeof(kernel));
	mod = module_of(data, sizeof(data));
	gi = image_of(&k, "a", "guest a's command line", GUEST_FORMAT_ELF);
	gi.modules[0] = &mod;
	str_copy(gi.module_cfgs[0].cmdline, "module of a",
		 sizeof(gi.module_cfgs[0].cmdline));
	str_copy(gi.module_cfgs[0].path, "boot/data.bin",
		 sizeof(gi.module_cfgs[0].path));
	gi.module_count = 1;
	assert_true(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	/* The path first, then the arguments (docs/guests.md). */
	expect_multiboot_guest(ram_a, &st, "/boot/a guest a's command line",
			       "boot/data.bin module of a", 0xA1);
}

/* Loads the guest the module strings declare: the kernel (a multiboot
 * ELF) and one module. */
static void load_declared(const char *kernel_decl, const char *module_decl,
			  struct vcpu_start_state *st)
{
	static struct elf_kernel kernel;
	static u8 data[16];
	static struct boot_module k, mod;
	static struct guest_image gi;
	char err[200];

	build_elf(&kernel, 0x100000, 0xA1);
	memset(data, 0xA1, sizeof(data));
	k = module_of(&kernel, sizeof(kernel));
	mod = module_of(data, sizeof(data));
	memset(&gi, 0, sizeof(gi));
	gi.mod = &k;
	assert_int_equal(guestcfg_parse(kernel_decl, &gi.cfg, err, sizeof(err)),
			 0);
	assert_int_equal(
	    guestcfg_parse(module_decl, &gi.module_cfgs[0], err, sizeof(err)),
	    0);
	gi.modules[0] = &mod;
	gi.module_count = 1;
	memset(ram_a, 0, sizeof(ram_a));
	assert_true(guest_load(&gi, &guest_a, st, err, sizeof(err)));
}

/*
 * Issue 16 item 13: a kernel takes argv[0] from the first word of its
 * command line, as QEMU -kernel and GRUB Legacy give it; the arguments
 * after "--" follow, none lost.
 */
static void test_command_line_starts_with_the_path(void **state)
{
	struct vcpu_start_state st;

	(void)state;
	load_declared("/boot/argv0.elf name=k mem=16M -- one two=2",
		      "/boot/initrd.img for=k -- initrd", &st);
	expect_multiboot_guest(ram_a, &st, "/boot/argv0.elf one two=2",
			       "/boot/initrd.img initrd", 0xA1);
	/* Nothing after "--": the path alone, no trailing space. */
	load_declared("boot/argv0.elf", "boot/m.bin for=k", &st);
	expect_multiboot_guest(ram_a, &st, "boot/argv0.elf", "boot/m.bin",
			       0xA1);
	/* A declaration without a path (a hand-written grub.cfg): the
	 * guest's name stands in for it; a module keeps its arguments. */
	load_declared("name=k -- one", "for=k -- initrd", &st);
	expect_multiboot_guest(ram_a, &st, "k one", "initrd", 0xA1);
}

/*
 * Issue 10 bug 2: guest b loads while guest a is between building its
 * multiboot information and starting. Each must boot with its own
 * command line and module strings.
 */
static void test_two_multiboot_guests_at_once(void **state)
{
	static struct elf_kernel kernel_a, kernel_b;
	static u8 data_a[64], data_b[64];
	struct boot_module ka, kb, ma, mb;
	struct guest_image a, b;
	struct cut_in b_load = {.gi = &b, .ram = &guest_b};
	struct vcpu_start_state st;
	char err[200];

	(void)state;
	build_elf(&kernel_a, 0x100000, 0xA1);
	build_elf(&kernel_b, 0x100000, 0xB2);
	memset(data_a, 0xA1, sizeof(data_a));
	memset(data_b, 0xB2, sizeof(data_b));
	ka = module_of(&kernel_a, sizeof(kernel_a));
	kb = module_of(&kernel_b, sizeof(kernel_b));
	ma = module_of(data_a, sizeof(data_a));
	mb = module_of(data_b, sizeof(data_b));
	a = image_of(&ka, "a", "root=/dev/a secret=alpha", GUEST_FORMAT_ELF);
	b = image_of(&kb, "b", "b", GUEST_FORMAT_ELF);
	a.modules[0] = &ma;
	b.modules[0] = &mb;
	str_copy(a.module_cfgs[0].cmdline, "a's module",
		 sizeof(a.module_cfgs[0].cmdline));
	str_copy(b.module_cfgs[0].cmdline, "the module of guest b",
		 sizeof(b.module_cfgs[0].cmdline));
	a.module_count = b.module_count = 1;

	cut_in = &b_load;
	assert_true(guest_load(&a, &guest_a, &st, err, sizeof(err)));
	assert_null(cut_in); /* b's load did run in the middle */
	assert_true(b_load.ok);
	expect_multiboot_guest(ram_a, &st, "/boot/a root=/dev/a secret=alpha",
			       "a's module", 0xA1);
	expect_multiboot_guest(ram_b, &b_load.st, "/boot/b b",
			       "the module of guest b", 0xB2);
	/* Neither guest's RAM holds the other's strings. */
	assert_null(memmem(ram_b, RAM_SIZE, "alpha", 5));
	assert_null(memmem(ram_a, RAM_SIZE, "guest b", 7));
}

/* ---- Linux guests ---- */

static void expect_linux_guest(const u8 *ram, const struct vcpu_start_state *st,
			       u64 kernel_at, const char *cmdline)
{
	const struct linux_boot_params *bp =
	    (const void *)(ram + LINUX_BOOT_PARAMS_GPA);

	assert_int_equal(st->mode, VCPU_START_PROTECTED);
	assert_int_equal(st->rip, kernel_at); /* the 32-bit entry */
	assert_int_equal(st->cs_selector, LINUX_BOOT_CS);
	assert_int_equal(st->ds_selector, LINUX_BOOT_DS);
	assert_int_equal(st->gdtr_base, LINUX_GDT_GPA);
	assert_int_equal(st->regs.gpr[GPR_RSI], LINUX_BOOT_PARAMS_GPA);
	assert_int_equal(bp->hdr.code32_start, kernel_at);
	assert_string_equal(string_at(ram, bp->hdr.cmd_line_ptr), cmdline);
	assert_int_equal(ram[kernel_at], 0x90);
}

/* format=elf (the default) with a bzImage loads it as Linux. */
static void test_linux_guest(void **state)
{
	static u8 kernel[BZ_SIZE];
	struct boot_module k;
	struct guest_image gi;
	struct vcpu_start_state st;
	char err[200];

	(void)state;
	build_bzimage(kernel, MiB(2));
	k = module_of(kernel, sizeof(kernel));
	gi = image_of(&k, "lin", "console=ttyS0", GUEST_FORMAT_ELF);
	assert_true(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	/* The Linux boot protocol's command line has no path in it. */
	expect_linux_guest(ram_a, &st, MiB(2), "console=ttyS0");
	assert_string_equal(host_printk_text(),
			    "veneer: guest lin: Linux (no version), boot "
			    "protocol 2.15, kernel at 0x200000, initrd 0 KiB "
			    "at 0x0\n");
}

/* Issue 10 bug 2, for the Linux loader's result (struct linux_boot). */
static void test_two_linux_guests_at_once(void **state)
{
	static u8 kernel_a[BZ_SIZE], kernel_b[BZ_SIZE];
	struct boot_module ka, kb;
	struct guest_image a, b;
	struct cut_in b_load = {.gi = &b, .ram = &guest_b};
	struct vcpu_start_state st;
	char err[200];

	(void)state;
	build_bzimage(kernel_a, MiB(2));
	build_bzimage(kernel_b, MiB(6));
	ka = module_of(kernel_a, sizeof(kernel_a));
	kb = module_of(kernel_b, sizeof(kernel_b));
	a = image_of(&ka, "a", "console=ttyS0 a", GUEST_FORMAT_LINUX);
	b = image_of(&kb, "b", "console=ttyS0 b", GUEST_FORMAT_LINUX);

	cut_in = &b_load;
	assert_true(guest_load(&a, &guest_a, &st, err, sizeof(err)));
	assert_null(cut_in);
	assert_true(b_load.ok);
	expect_linux_guest(ram_a, &st, MiB(2), "console=ttyS0 a");
	expect_linux_guest(ram_b, &b_load.st, MiB(6), "console=ttyS0 b");
	/* Each log line names its guest's own kernel. */
	assert_non_null(strstr(host_printk_text(),
			       "guest a: Linux (no version), boot protocol "
			       "2.15, kernel at 0x200000"));
	assert_non_null(strstr(host_printk_text(),
			       "guest b: Linux (no version), boot protocol "
			       "2.15, kernel at 0x600000"));
}

/* ---- raw images and refusals ---- */

static void test_raw_guest(void **state)
{
	static u8 code[512];
	struct boot_module m;
	struct guest_image gi;
	struct vcpu_start_state st;
	char err[200];

	(void)state;
	memset(code, 0xF4, sizeof(code));
	m = module_of(code, sizeof(code));
	gi = image_of(&m, "rm", "", GUEST_FORMAT_RAW);
	gi.cfg.load = 0x7c00;
	gi.cfg.real_mode = true;
	assert_true(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	assert_int_equal(st.mode, VCPU_START_REAL);
	assert_int_equal(st.cs_selector, 0x7c0);
	assert_int_equal(st.rip, 0);
	assert_int_equal(st.regs.gpr[GPR_RDX], 0x80);
	assert_int_equal(ram_a[0x7c00], 0xF4);
	assert_int_equal(ram_a[0x7c00 + sizeof(code)], 0);

	gi.cfg.real_mode = false;
	gi.cfg.load = 0x100000;
	assert_true(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	assert_int_equal(st.mode, VCPU_START_PROTECTED);
	assert_int_equal(st.cs_selector, 0x10);
	assert_int_equal(st.ds_selector, 0x18);
	assert_int_equal(st.rip, 0x100000);

	gi.cfg.load = RAM_SIZE - 100;
	assert_false(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	assert_string_equal(err, "raw image of 512 bytes at 0xffff9c does not "
				 "fit in the guest's RAM");
}

static void test_refusals(void **state)
{
	static struct elf_kernel kernel;
	static u8 big[64];
	struct boot_module k, mod;
	struct guest_image gi;
	struct vcpu_start_state st;
	char err[200];
	const struct guest_mem small = {.base = ram_a, .size = 0x101020};

	(void)state;
	build_elf(&kernel, 0x6000, 0xA1);
	k = module_of(&kernel, sizeof(kernel));
	gi = image_of(&k, "low", "", GUEST_FORMAT_ELF);
	assert_false(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	assert_string_equal(err, "kernel: loads at 0x6000, below 0x7000 where "
				 "the multiboot information goes");

	build_elf(&kernel, 0x100000, 0xA1);
	mod = module_of(big, sizeof(big));
	gi.modules[0] = &mod;
	gi.module_count = 1;
	assert_false(guest_load(&gi, &small, &st, err, sizeof(err)));
	assert_string_equal(err, "module 0 (64 bytes) does not fit in the "
				 "guest's RAM after the kernel");

	gi.cfg.format = GUEST_FORMAT_LINUX;
	assert_false(guest_load(&gi, &guest_a, &st, err, sizeof(err)));
	assert_string_equal(err, "linux: not a bzImage: the file is 340 bytes, "
				 "too short for a setup header (at 0x1f1)");
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_multiboot_guest),
	    T(test_two_multiboot_guests_at_once),
	    T(test_linux_guest),
	    T(test_two_linux_guests_at_once),
	    T(test_raw_guest),
	    T(test_refusals),
	    T(test_command_line_starts_with_the_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
