/* SPDX-License-Identifier: MIT */
/*
 * Loading a guest's images into its RAM (contract in core/load.h).
 *
 * The images are boot modules: read in place (host memory is identity
 * mapped), never written, shared by nothing but the guest they belong to.
 * Nothing here is static: the multiboot information is built in the
 * guest's own RAM and the Linux loader's result on this CPU's stack, so
 * guests that load at the same time on their CPUs (issue 10: two guests
 * rebooting in a loop) never see each other's command line or layout.
 */
#include "core/load.h"
#include "core/elf.h"
#include "core/linux.h"
#include "core/mbguest.h"
#include "core/mm.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* Where the multiboot information goes in guest memory (docs/guests.md). */
#define MB_INFO_GPA  0x1000ull
#define MB_INFO_SIZE 0x6000ull
/*
 * Flat segments a multiboot kernel starts with: the spec fixes no values
 * (multiboot 0.6.96 3.2: the OS must load its own GDT before reloading a
 * segment register); these match the Linux boot protocol's __BOOT_CS/DS.
 */
#define MULTIBOOT_CS LINUX_BOOT_CS
#define MULTIBOOT_DS LINUX_BOOT_DS
/* DL of a raw image: the boot drive, as a BIOS passes it. */
#define RAW_BOOT_DRIVE 0x80

static const void *module_bytes(const struct boot_module *m)
{
	return hpa_to_ptr(m->start);
}

static u64 module_size(const struct boot_module *m)
{
	return m->end - m->start;
}

/* Load a raw image at cfg.load: it starts there, in real or protected mode. */
static bool load_raw(const struct guest_image *gi, const struct guest_mem *ram,
		     struct vcpu_start_state *st, char *err, size_t len)
{
	const struct guest_cfg *cfg = &gi->cfg;
	u64 size = module_size(gi->mod);

	if (guest_mem_write(ram, cfg->load, module_bytes(gi->mod), size)) {
		snformat(err, len,
			 "raw image of %llu bytes at 0x%llx does not fit in "
			 "the guest's RAM",
			 (unsigned long long)size,
			 (unsigned long long)cfg->load);
		return false;
	}
	st->mode = cfg->real_mode ? VCPU_START_REAL : VCPU_START_PROTECTED;
	st->ds_selector = cfg->real_mode ? 0 : MULTIBOOT_DS;
	st->rip = cfg->real_mode ? cfg->load & 0xf : cfg->load;
	st->cs_selector = cfg->real_mode ? (u16)(cfg->load >> 4) : MULTIBOOT_CS;
	st->regs.gpr[GPR_RDX] = RAW_BOOT_DRIVE;
	return true;
}

/*
 * The modules of a multiboot guest, page aligned from `next` on, each
 * described in mods[] with its string.
 */
static bool load_modules(const struct guest_image *gi,
			 const struct guest_mem *ram, u64 next,
			 struct mbguest_module *mods, char *err, size_t len)
{
	for (u32 i = 0; i < gi->module_count; i++) {
		const struct boot_module *m = gi->modules[i];
		u64 size = module_size(m);

		if (guest_mem_write(ram, next, module_bytes(m), size)) {
			snformat(err, len,
				 "module %u (%llu bytes) does not fit in the "
				 "guest's RAM after the kernel",
				 i, (unsigned long long)size);
			return false;
		}
		mods[i] = (struct mbguest_module){
		    .start = next,
		    .end = next + size,
		    .string = gi->module_cfgs[i].cmdline,
		    .path = gi->module_cfgs[i].path,
		};
		next = ALIGN_UP(next + size, PAGE_SIZE);
	}
	return true;
}

/*
 * The first word of a multiboot kernel's command line, where kernels take
 * argv[0] from (QEMU -kernel and GRUB Legacy put the kernel's path there;
 * docs/guests.md): the path of its declaration, or its name when the
 * declaration starts with an option.
 */
static const char *kernel_path(const struct guest_image *gi)
{
	return gi->cfg.path[0] ? gi->cfg.path : gi->cfg.name;
}

/*
 * A multiboot kernel: its ELF segments, its modules after the highest
 * segment, then the multiboot information in low memory (MB spec 3.2),
 * built in place in the guest's RAM.
 */
static bool load_multiboot(const struct guest_image *gi,
			   const struct guest_mem *ram,
			   struct vcpu_start_state *st, char *err, size_t len)
{
	struct elf_info info;
	struct mbguest_module mods[GUEST_MODULES_MAX];
	struct mbguest_params p;
	struct mbguest_result r;
	void *area;

	if (elf_load(module_bytes(gi->mod), module_size(gi->mod), ram, &info)) {
		snformat(err, len, "kernel: %s", info.error);
		return false;
	}
	if (info.load_start < MB_INFO_GPA + MB_INFO_SIZE) {
		snformat(err, len,
			 "kernel: loads at 0x%llx, below 0x%llx where the "
			 "multiboot information goes",
			 (unsigned long long)info.load_start,
			 (unsigned long long)(MB_INFO_GPA + MB_INFO_SIZE));
		return false;
	}
	if (!load_modules(gi, ram, ALIGN_UP(info.load_end, PAGE_SIZE), mods,
			  err, len))
		return false;
	p = (struct mbguest_params){.ram_size = ram->size,
				    .cmdline_path = kernel_path(gi),
				    .cmdline = gi->cfg.cmdline,
				    .modules = mods,
				    .module_count = gi->module_count,
				    .area_gpa = MB_INFO_GPA,
				    .area_size = MB_INFO_SIZE};
	/* In RAM: the kernel loaded above it (checked above). */
	area = guest_mem_ptr(ram, MB_INFO_GPA, MB_INFO_SIZE);
	if (!area || mbguest_build(&p, area, &r)) {
		snformat(err, len, "multiboot information: %s",
			 area ? r.error : "guest RAM ends below its area");
		return false;
	}
	st->mode = VCPU_START_PROTECTED;
	st->cs_selector = MULTIBOOT_CS;
	st->ds_selector = MULTIBOOT_DS;
	st->rip = info.entry;
	st->regs.gpr[GPR_RAX] = MB1_BOOTLOADER_MAGIC;
	st->regs.gpr[GPR_RBX] = r.info_gpa;
	return true;
}

/*
 * A Linux bzImage through the 32-bit boot protocol (Linux boot protocol,
 * "32-bit boot protocol"): flat protected mode, paging off, CS 0x10,
 * DS/ES/SS 0x18, ESI = boot_params; the guest's first module, if any, is
 * its initrd.
 */
static bool load_linux(const struct guest_image *gi,
		       const struct guest_mem *ram, struct vcpu_start_state *st,
		       char *err, size_t len)
{
	const struct boot_module *initrd =
	    gi->module_count ? gi->modules[0] : NULL;
	struct linux_load_params p = {
	    .kernel = module_bytes(gi->mod),
	    .kernel_size = module_size(gi->mod),
	    .initrd = initrd ? module_bytes(initrd) : NULL,
	    .initrd_size = initrd ? module_size(initrd) : 0,
	    .cmdline = gi->cfg.cmdline,
	    .entry_mode = LINUX_ENTRY_32,
	};
	struct linux_boot boot; /* this guest's, on this CPU's stack */

	if (linux_load(ram, &p, &boot)) {
		snformat(err, len, "linux: %s", boot.error);
		return false;
	}
	printk("veneer: guest %s: Linux %s, boot protocol %u.%02u, kernel at "
	       "0x%llx, initrd %llu KiB at 0x%llx\n",
	       gi->cfg.name,
	       boot.kernel.version[0] ? boot.kernel.version : "(no version)",
	       boot.kernel.protocol >> 8, boot.kernel.protocol & 0xff,
	       (unsigned long long)boot.kernel_load,
	       (unsigned long long)(boot.initrd_size >> 10),
	       (unsigned long long)boot.initrd_gpa);
	st->mode = VCPU_START_PROTECTED;
	st->rip = boot.cpu.rip;
	st->cs_selector = boot.cpu.cs;
	st->ds_selector = boot.cpu.ds;
	st->gdtr_base = boot.cpu.gdtr_base;
	st->gdtr_limit = boot.cpu.gdtr_limit;
	st->regs.gpr[GPR_RSI] = boot.cpu.rsi;
	return true;
}

/* A bzImage has the setup header signature "HdrS" at offset 0x202 (Linux
 * boot protocol, "The Real-Mode Kernel Header"). */
static bool is_bzimage(const struct boot_module *m)
{
	u32 magic;

	if (module_size(m) <= LINUX_HDR_FIELD(header) + sizeof(magic))
		return false;
	memcpy(&magic, (const u8 *)module_bytes(m) + LINUX_HDR_FIELD(header),
	       sizeof(magic));
	return magic == LINUX_HEADER_MAGIC;
}

bool guest_load(const struct guest_image *gi, const struct guest_mem *ram,
		struct vcpu_start_state *st, char *err, size_t len)
{
	enum guest_format format = gi->cfg.format;

	memset(st, 0, sizeof(*st));
	if (format == GUEST_FORMAT_ELF && is_bzimage(gi->mod))
		format = GUEST_FORMAT_LINUX;
	switch (format) {
	case GUEST_FORMAT_RAW:
		return load_raw(gi, ram, st, err, len);
	case GUEST_FORMAT_LINUX:
		return load_linux(gi, ram, st, err, len);
	default:
		return load_multiboot(gi, ram, st, err, len);
	}
}
