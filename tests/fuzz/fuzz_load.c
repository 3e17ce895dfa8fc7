/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a guest's images put into its RAM as the hypervisor does
 * it (core/load.c): a raw binary, a multiboot ELF kernel with modules and
 * the information structure (core/elf.c, core/mbguest.c), or a bzImage
 * with an initrd (core/linux.c), each declared by a module string that
 * core/guestcfg.c parses.
 *
 * Input: the guest RAM size in pages (up to 8 MiB), the kernel's
 * declaration, up to 8 modules (declaration and bytes), then the kernel
 * image. A declaration that does not parse is replaced by the defaults.
 * Images are heap buffers of exactly their size, their addresses the
 * boot modules' host-physical addresses (host memory is identity mapped);
 * guest RAM is a view with poisoned surroundings
 * (tests/fuzz/loader_ram.h).
 *
 * Checked: a failure names the problem; a load gives a start state inside
 * guest RAM in a documented mode, with the registers its boot protocol
 * promises (multiboot: EAX magic, EBX the information at 0x1000; Linux:
 * ESI boot_params; raw: DL the boot drive).
 */
#include <string.h>

#include "core/linux.h"
#include "core/load.h"
#include "core/mbguest.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/loader_ram.h"
#include "tests/unit/host_printk.h"

#define MAX_RAM	     MiB(8)
#define MAX_DECL     600
#define MAX_MODULE   4096
#define MB_INFO_GPA  0x1000 /* core/load.c */
#define BOOT_DRIVE   0x80
#define FLAG_FORMATS 3

static void declaration(struct fuzz_in *in, struct guest_cfg *cfg,
			u8 fallback_format)
{
	size_t len;
	const u8 *bytes = fuzz_bytes(in, MAX_DECL, &len);
	char *s = malloc(len + 1);
	char err[200];

	memcpy(s, bytes, len);
	s[len] = '\0';
	if (guestcfg_parse(s, cfg, err, sizeof(err))) {
		guestcfg_parse("", cfg, err, sizeof(err));
		cfg->format = (enum guest_format)(fallback_format % 3);
		cfg->real_mode = cfg->format == GUEST_FORMAT_RAW;
	}
	free(s);
}

static struct boot_module *module_of(const u8 *bytes, size_t len)
{
	struct boot_module *m = calloc(1, sizeof(*m));
	u8 *copy = malloc(len ? len : 1);

	memcpy(copy, bytes, len);
	m->start = (u64)(uintptr_t)copy;
	m->end = m->start + len;
	return m;
}

static void free_module(const struct boot_module *m)
{
	if (!m)
		return;
	free((void *)(uintptr_t)m->start);
	free((void *)m);
}

static void check_start(const struct guest_image *gi,
			const struct guest_mem *ram,
			const struct vcpu_start_state *st)
{
	u64 start;

	FUZZ_CHECK(st->mode == VCPU_START_REAL ||
		       st->mode == VCPU_START_PROTECTED,
		   "start mode %d", (int)st->mode);
	start = st->mode == VCPU_START_REAL
		    ? (u64)st->cs_selector * 16 + st->rip
		    : st->rip;
	FUZZ_CHECK(start < ram->size, "starts at 0x%llx, RAM ends 0x%llx",
		   (unsigned long long)start, (unsigned long long)ram->size);
	if (st->mode == VCPU_START_REAL) {
		FUZZ_CHECK(st->rip <= 0xffff && start < MiB(1),
			   "real-mode start %04x:%llx", st->cs_selector,
			   (unsigned long long)st->rip);
		FUZZ_CHECK(st->regs.gpr[GPR_RDX] == BOOT_DRIVE, "DL 0x%llx",
			   (unsigned long long)st->regs.gpr[GPR_RDX]);
		return;
	}
	if (st->regs.gpr[GPR_RAX] == MB1_BOOTLOADER_MAGIC) {
		FUZZ_CHECK(st->regs.gpr[GPR_RBX] == MB_INFO_GPA,
			   "multiboot info at 0x%llx",
			   (unsigned long long)st->regs.gpr[GPR_RBX]);
		return;
	}
	if (gi->cfg.format != GUEST_FORMAT_RAW)
		FUZZ_CHECK(st->regs.gpr[GPR_RSI] == LINUX_BOOT_PARAMS_GPA,
			   "ESI 0x%llx for a Linux guest",
			   (unsigned long long)st->regs.gpr[GPR_RSI]);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	static struct guest_image gi;
	struct vcpu_start_state st;
	u8 formats = fuzz_u8(&in);
	u64 ram_size =
	    ((u64)fuzz_u16(&in) % (MAX_RAM / PAGE_SIZE) + 1) * PAGE_SIZE;
	struct guest_mem ram = loader_ram(ram_size, MAX_RAM);
	char err[200];
	size_t len;
	const u8 *bytes;
	bool ok;

	host_printk_reset();
	memset(&gi, 0, sizeof(gi));
	declaration(&in, &gi.cfg, formats & FLAG_FORMATS);
	gi.module_count = fuzz_below(&in, GUEST_MODULES_MAX + 1);
	for (u32 i = 0; i < gi.module_count; i++) {
		declaration(&in, &gi.module_cfgs[i], 0);
		bytes = fuzz_bytes(&in, MAX_MODULE, &len);
		gi.modules[i] = module_of(bytes, len);
	}
	bytes = fuzz_rest(&in, &len);
	gi.mod = module_of(bytes, len);

	memset(err, 0x5a, sizeof(err));
	ok = guest_load(&gi, &ram, &st, err, sizeof(err));
	if (ok)
		check_start(&gi, &ram, &st);
	else
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) && err[0],
			   "a failure without a sentence");

	free_module(gi.mod);
	for (u32 i = 0; i < gi.module_count; i++)
		free_module(gi.modules[i]);
	return 0;
}
