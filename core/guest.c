/* SPDX-License-Identifier: MIT */
/*
 * Guests from boot modules: declaration (core/guestcfg.h), memory, nested
 * page tables, image loading, devices, and running them one per host CPU
 * (static partitioning).
 *
 * A guest that cannot be created is reported and counted as failed; the
 * others still run.
 */
#include "core/guest.h"
#include "core/cmdline.h"
#include "core/console.h"
#include "core/platform.h"
#include "core/elf.h"
#include "core/format.h"
#include "core/guestcfg.h"
#include "drivers/uart.h"
#include "core/linux.h"
#include "core/mbguest.h"
#include "core/mm.h"
#include "core/pagetable.h"
#include "core/printk.h"
#include "core/string.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc.h"

/* QEMU isa-debug-exit compatible port: a write of N ends the guest. */
#define DEBUG_EXIT_PORT	     0xf4
#define DEBUG_EXIT_PORT_LAST 0xf7
/* Where the multiboot information goes in guest memory. */
#define MB_INFO_GPA	  0x1000ull
#define MB_INFO_SIZE	  0x6000ull
#define GUEST_MODULES_MAX 8
/*
 * Flat segments a multiboot kernel starts with: the spec fixes no values
 * (multiboot 0.6.96 3.2: the OS must load its own GDT before reloading a
 * segment register); these match the Linux boot protocol's __BOOT_CS/DS.
 */
#define MULTIBOOT_CS 0x10
#define MULTIBOOT_DS 0x18

/* Attempts at a consistent copy of a running vCPU's exit counters. */
#define STATS_COPY_TRIES 4

static struct vm vms[VM_MAX];
static struct vcpu vcpus[VM_MAX];
static struct platform platforms[VM_MAX];
static u32 vm_count;
static volatile u32 guests_running;

/* ---- devices ---- */

/*
 * Guest output on the hypervisor console: "[NAME] text" lines. A partial
 * line (a prompt) is shown early; the rest of it then continues without
 * a second prefix.
 */
static void console_line(void *opaque, const char *line, u32 len, bool complete)
{
	struct vm *vm = opaque;

	(void)len;
	if (vm->console_midline)
		printk("%s%s", line, complete ? "\n" : "");
	else
		printk("[%s] %s%s", vm->name, line, complete ? "\n" : "");
	vm->console_midline = !complete;
}

/* UART accesses can change its interrupt line (IRQ 4). */
static u32 uart_read(void *opaque, u16 port, u8 size)
{
	struct vm *vm = opaque;
	u8 v = vuart_read(&vm->uart, port - VUART_COM1_BASE);

	(void)size;
	platform_uart_update_irq(vm->platform);
	return v;
}

static void uart_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct vm *vm = opaque;

	(void)size;
	vuart_write(&vm->uart, port - VUART_COM1_BASE, (u8)value);
	platform_uart_update_irq(vm->platform);
	console_output_started(vm);
}

static void debug_exit_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)port;
	(void)size;
	vm_exit(opaque, value);
}

static void vm_add_devices(struct vm *vm)
{
	const struct io_handler uart = {
	    .first = VUART_COM1_BASE,
	    .last = VUART_COM1_BASE + VUART_PORTS - 1,
	    .read = uart_read,
	    .write = uart_write,
	    .opaque = vm,
	    .name = "uart",
	};
	const struct io_handler debug_exit = {
	    .first = DEBUG_EXIT_PORT,
	    .last = DEBUG_EXIT_PORT_LAST,
	    .write = debug_exit_write,
	    .opaque = vm,
	    .name = "debug-exit",
	};

	vuart_init(&vm->uart, console_line, vm);
	iobus_register(&vm->io, &uart);
	iobus_register(&vm->io, &debug_exit);
}

/* ---- memory ---- */

static void *npt_phys_to_virt(u64 hpa_value)
{
	return hpa_to_ptr(hpa_value);
}

static bool npt_alloc_table(void *opaque, u64 *out)
{
	(void)opaque;
	*out = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
	return *out != 0;
}

static void npt_free_table(void *opaque, u64 hpa_value)
{
	(void)opaque;
	mm_free_pages(hpa_value, 1);
}

/*
 * Guest RAM: one host range, aligned so the nested tables can use the
 * largest pages (1 GiB when the format has them and the guest is that big,
 * else 2 MiB), mapped at guest-physical 0. Nothing else is mapped.
 */
static bool vm_setup_memory(struct vm *vm, u64 mem, char *err, size_t len)
{
	u64 align = mem >= GiB(1) ? GiB(1) : MiB(2);
	u64 pages = ALIGN_UP(mem, MiB(2)) / PAGE_SIZE;
	struct pt_ctx ctx = {.fmt = vcpu_ops->npt_format(),
			     .phys_to_virt = npt_phys_to_virt,
			     .alloc_table = npt_alloc_table,
			     .free_table = npt_free_table};
	int rc;

	vm->ram_hpa = mm_alloc_pages_nozero(pages, align, MM_ANY);
	if (!vm->ram_hpa && align > MiB(2))
		vm->ram_hpa = mm_alloc_pages_nozero(pages, MiB(2), MM_ANY);
	if (!vm->ram_hpa) {
		snformat(err, len,
			 "not enough host memory: mem=%lluM asked, %lluM free",
			 (unsigned long long)(mem >> 20),
			 (unsigned long long)(mm_free_bytes() >> 20));
		return false;
	}
	vm->ram_alloc_pages = pages;
	vm->ram_size = mem;
	/* A guest never sees another guest's (or Veneer's) old data. */
	memset(hpa_to_ptr(vm->ram_hpa), 0, mem);
	rc = pt_create(&ctx);
	vm->npt_root = ctx.root;
	if (!rc)
		rc = pt_map(&ctx, 0, vm->ram_hpa, mem, PT_R | PT_W | PT_X);
	if (rc) {
		snformat(err, len, "nested page tables: %s",
			 pt_error_string(rc));
		return false;
	}
	vm->npt_tables = pt_count_tables(&ctx);
	return true;
}

/*
 * Give back the memory of a guest that could not be started: its RAM and
 * nested tables. (Vendor state is created last, so a failure before it
 * leaves none; a failure of vcpu_create itself frees what it took.)
 */
static void vm_release_memory(struct vm *vm)
{
	struct pt_ctx ctx = {.fmt = vcpu_ops->npt_format(),
			     .root = vm->npt_root,
			     .phys_to_virt = npt_phys_to_virt,
			     .alloc_table = npt_alloc_table,
			     .free_table = npt_free_table};

	if (vm->npt_root)
		pt_destroy(&ctx);
	if (vm->ram_hpa)
		mm_free_pages(vm->ram_hpa, vm->ram_alloc_pages);
	vm->npt_root = 0;
	vm->ram_hpa = 0;
	vm->ram_size = 0;
}

/* ---- image loading ---- */

static int write_guest(void *opaque, u64 g, const void *src, u64 len)
{
	void *dst = vm_gpa_to_hva(opaque, gpa(g), len);

	if (!dst)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

static int zero_guest(void *opaque, u64 g, u64 len)
{
	void *dst = vm_gpa_to_hva(opaque, gpa(g), len);

	if (!dst)
		return -1;
	memset(dst, 0, len);
	return 0;
}

struct guest_image {
	const struct boot_module *mod;
	struct guest_cfg cfg;
	u32 module_count;
	const struct boot_module *modules[GUEST_MODULES_MAX];
	struct guest_cfg module_cfgs[GUEST_MODULES_MAX];
};

/* Load a raw image at cfg.load: it starts there, in real or protected mode. */
static bool load_raw(struct vm *vm, const struct guest_image *gi,
		     struct vcpu_start_state *st, char *err, size_t len)
{
	u64 size = gi->mod->end - gi->mod->start;

	if (write_guest(vm, gi->cfg.load, hpa_to_ptr(gi->mod->start), size)) {
		snformat(err, len,
			 "raw image of %llu bytes at 0x%llx does not fit in "
			 "the guest's RAM",
			 (unsigned long long)size,
			 (unsigned long long)gi->cfg.load);
		return false;
	}
	st->mode = gi->cfg.real_mode ? VCPU_START_REAL : VCPU_START_PROTECTED;
	st->ds_selector = gi->cfg.real_mode ? 0 : MULTIBOOT_DS;
	st->rip = gi->cfg.real_mode ? gi->cfg.load & 0xf : gi->cfg.load;
	st->cs_selector =
	    gi->cfg.real_mode ? (u16)(gi->cfg.load >> 4) : MULTIBOOT_CS;
	st->regs.gpr[GPR_RDX] = 0x80; /* boot drive, as a BIOS would pass */
	return true;
}

/*
 * A multiboot kernel: its ELF segments, its modules after the highest
 * segment, then the multiboot information in low memory (MB spec 3.2).
 */
static bool load_multiboot(struct vm *vm, const struct guest_image *gi,
			   struct vcpu_start_state *st, char *err, size_t len)
{
	const struct guest_mem eg = {.ram_size = vm->ram_size,
				     .write_guest = write_guest,
				     .zero_guest = zero_guest,
				     .opaque = vm};
	struct elf_info info;
	struct mbguest_module mods[GUEST_MODULES_MAX];
	struct mbguest_params p;
	struct mbguest_result r;
	static u8 info_buf[MB_INFO_SIZE];
	u64 next;

	if (elf_load(hpa_to_ptr(gi->mod->start), gi->mod->end - gi->mod->start,
		     &eg, &info)) {
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
	next = ALIGN_UP(info.load_end, PAGE_SIZE);
	for (u32 i = 0; i < gi->module_count; i++) {
		const struct boot_module *m = gi->modules[i];
		u64 size = m->end - m->start;

		if (write_guest(vm, next, hpa_to_ptr(m->start), size)) {
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
		};
		next = ALIGN_UP(next + size, PAGE_SIZE);
	}
	p = (struct mbguest_params){.ram_size = vm->ram_size,
				    .cmdline = gi->cfg.cmdline,
				    .modules = mods,
				    .module_count = gi->module_count,
				    .area_gpa = MB_INFO_GPA,
				    .area_size = MB_INFO_SIZE};
	if (mbguest_build(&p, info_buf, &r)) {
		snformat(err, len, "multiboot information: %s", r.error);
		return false;
	}
	write_guest(vm, MB_INFO_GPA, info_buf, r.size);
	st->mode = VCPU_START_PROTECTED;
	st->cs_selector = MULTIBOOT_CS;
	st->ds_selector = MULTIBOOT_DS;
	st->rip = info.entry;
	st->regs.gpr[GPR_RAX] = MBGUEST_BOOTLOADER_MAGIC;
	st->regs.gpr[GPR_RBX] = r.info_gpa;
	return true;
}

/*
 * A Linux bzImage through the 32-bit boot protocol (Linux boot protocol,
 * "32-bit boot protocol"): flat protected mode, paging off, CS 0x10,
 * DS/ES/SS 0x18, ESI = boot_params; the guest's first module, if any, is
 * its initrd.
 */
static bool load_linux(struct vm *vm, const struct guest_image *gi,
		       struct vcpu_start_state *st, char *err, size_t len)
{
	const struct guest_mem lg = {.ram_size = vm->ram_size,
				     .write_guest = write_guest,
				     .zero_guest = zero_guest,
				     .opaque = vm};
	const struct boot_module *initrd =
	    gi->module_count ? gi->modules[0] : NULL;
	struct linux_load_params p = {
	    .kernel = hpa_to_ptr(gi->mod->start),
	    .kernel_size = gi->mod->end - gi->mod->start,
	    .initrd = initrd ? hpa_to_ptr(initrd->start) : NULL,
	    .initrd_size = initrd ? initrd->end - initrd->start : 0,
	    .cmdline = gi->cfg.cmdline,
	    .entry_mode = LINUX_ENTRY_32,
	};
	static struct linux_boot boot;

	if (linux_load(&lg, &p, &boot)) {
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

/* A bzImage has the setup header signature "HdrS" at offset 0x202. */
static bool is_bzimage(const struct boot_module *m)
{
	const u8 *p = hpa_to_ptr(m->start);

	return m->end - m->start > 0x206 && p[0x202] == 'H' &&
	       p[0x203] == 'd' && p[0x204] == 'r' && p[0x205] == 'S';
}

/* ---- guests ---- */

static bool load_image(struct vm *vm, const struct guest_image *gi,
		       struct vcpu_start_state *st, char *err, size_t len)
{
	enum guest_format format = gi->cfg.format;

	if (format == GUEST_FORMAT_ELF && is_bzimage(gi->mod))
		format = GUEST_FORMAT_LINUX;
	switch (format) {
	case GUEST_FORMAT_RAW:
		return load_raw(vm, gi, st, err, len);
	case GUEST_FORMAT_LINUX:
		return load_linux(vm, gi, st, err, len);
	default:
		return load_multiboot(vm, gi, st, err, len);
	}
}

static bool vm_create(struct vm *vm, struct vcpu *vcpu,
		      const struct guest_image *gi, char *err, size_t len)
{
	struct vcpu_start_state st;
	int rc;

	memset(&st, 0, sizeof(st));
	vm_add_devices(vm);
	vm->msr_mtrr_def_type = 0xc06;
	if (!vm_setup_memory(vm, gi->cfg.mem, err, len))
		return false;
	vm->platform = &platforms[vm->id];
	vm->image = gi;
	/* The guest's TSC starts as the host's, frozen until the first entry.
	 */
	vm->hide_exit_time = !gi->cfg.host_clock;
	vm->tsc_offset = 0;
	vm->frozen_host_tsc = rdtsc();
	vm->clock_frozen = vm->hide_exit_time;
	if (!platform_init(vm->platform, vm, err, len))
		return false;
	if (!load_image(vm, gi, &st, err, len))
		return false;
	rc = vcpu_ops->vm_init(vm);
	if (rc) {
		snformat(err, len, "%s could not set up the VM (%d)",
			 vcpu_ops->name, rc);
		return false;
	}
	vcpu->vm = vm;
	vcpu->index = 0;
	vm->vcpus[0] = vcpu;
	vm->vcpu_count = 1;
	rc = vcpu_ops->vcpu_create(vcpu);
	if (rc) {
		snformat(err, len, "%s could not create the vCPU (%d)",
			 vcpu_ops->name, rc);
		return false;
	}
	vcpu_ops->vcpu_reset(vcpu, &st);
	return true;
}

bool vm_reboot(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vcpu_start_state st;
	char err[160];

	vm->reboots++;
	console_end_guest_output(vm);
	printk("veneer: guest %s rebooting (%u)\n", vm->name, vm->reboots);
	memset(hpa_to_ptr(vm->ram_hpa), 0, vm->ram_size);
	memset(&st, 0, sizeof(st));
	vm->io.count = 0;
	vm->mmio.count = 0;
	vm_add_devices(vm);
	if (!platform_init(vm->platform, vm, err, sizeof(err)) ||
	    !load_image(vm, vm->image, &st, err, sizeof(err))) {
		vm_stop(vm, "reboot failed: %s", err);
		return false;
	}
	vcpu->timer_deadline = 0;
	vcpu->intr_pending = false;
	vcpu_ops->vcpu_reset(vcpu, &st);
	return true;
}

static struct vm *vm_by_name(const char *name)
{
	for (u32 i = 0; i < vm_count; i++)
		if (strcmp(vms[i].name, name) == 0)
			return &vms[i];
	return NULL;
}

/*
 * Exit statistics of one vCPU, on one line: the kinds that happened.
 * `prefix` goes between "veneer: " and "guest NAME" ("" at the vCPU's end,
 * "stats S.mmm s: " for the periodic reports).
 */
static void print_exit_stats(const struct vcpu *vcpu, const char *prefix)
{
	u64 counts[EXIT_KIND_COUNT], total;
	char line[400];
	int len;

	/*
	 * Copied first, in relaxed loads: in the periodic report the vCPU's
	 * CPU goes on counting, and formatting takes much longer than this.
	 * A copy during which TOTAL did not move is consistent; a vCPU that
	 * exits all the time may not allow one in a few tries, and then the
	 * last copy is printed as it is.
	 */
	for (u32 n = 0; n < STATS_COPY_TRIES; n++) {
		u64 before =
		    __atomic_load_n(&vcpu->exits_total, __ATOMIC_RELAXED);

		for (u32 k = 0; k < EXIT_KIND_COUNT; k++)
			counts[k] =
			    __atomic_load_n(&vcpu->exits[k], __ATOMIC_RELAXED);
		total = __atomic_load_n(&vcpu->exits_total, __ATOMIC_RELAXED);
		if (total == before)
			break;
	}
	len = snformat(line, sizeof(line),
		       "veneer: %sguest %s vcpu %u exits: %llu", prefix,
		       vcpu->vm->name, vcpu->index, (unsigned long long)total);
	for (u32 k = 0; k < EXIT_KIND_COUNT && len < (int)sizeof(line); k++) {
		if (!counts[k])
			continue;
		len += snformat(line + len, sizeof(line) - (size_t)len,
				" %s=%llu", exit_kind_name((enum exit_kind)k),
				(unsigned long long)counts[k]);
	}
	printk("%s\n", line);
}

/* Runs on the guest's host CPU. */
static void guest_cpu_main(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;

	vcpu->host_cpu = this_cpu()->index;
	this_cpu()->vcpu = vcpu;
	printk("veneer: guest %s started on cpu %u\n", vm->name,
	       vcpu->host_cpu);
	vcpu_run_loop(vcpu);
	if (vm_running(vm))
		vm_stop(vm, "its vCPU loop ended");
	print_exit_stats(vcpu, "");
	this_cpu()->vcpu = NULL;
	__atomic_fetch_sub(&guests_running, 1, __ATOMIC_SEQ_CST);
}

/* The loader's string of module i was longer than boot_info keeps. */
static bool module_string_cut(const struct boot_info *bi, u32 i)
{
	return bi->modules[i].string_len >= BOOTINFO_MODSTR_MAX;
}

/* Parse every module string: guests first, then attach their modules. */
static u32 collect_guests(const struct boot_info *bi,
			  struct guest_image *images, u32 *failed)
{
	u32 n = 0;
	char err[160];

	for (u32 i = 0; i < bi->module_count; i++) {
		struct guest_image *gi = &images[n];

		if (module_string_cut(bi, i)) {
			printk("veneer: module %u ('%.48s...'): its string is "
			       "%u bytes, longer than the %u Veneer accepts\n",
			       i, bi->modules[i].string,
			       bi->modules[i].string_len,
			       BOOTINFO_MODSTR_MAX - 1);
			(*failed)++;
			continue;
		}
		if (guestcfg_parse(bi->modules[i].string, &gi->cfg, err,
				   sizeof(err))) {
			printk("veneer: module %u ('%s'): %s\n", i,
			       bi->modules[i].string, err);
			(*failed)++;
			continue;
		}
		if (gi->cfg.for_guest[0])
			continue;
		if (n == VM_MAX) {
			printk("veneer: guest %s: more than %d guests\n",
			       gi->cfg.name, VM_MAX);
			(*failed)++;
			continue;
		}
		gi->mod = &bi->modules[i];
		gi->module_count = 0;
		n++;
	}
	for (u32 i = 0; i < bi->module_count; i++) {
		struct guest_cfg cfg;
		struct guest_image *owner = NULL;

		if (module_string_cut(bi, i) ||
		    guestcfg_parse(bi->modules[i].string, &cfg, err,
				   sizeof(err)) ||
		    !cfg.for_guest[0])
			continue;
		for (u32 j = 0; j < n; j++)
			if (strcmp(images[j].cfg.name, cfg.for_guest) == 0)
				owner = &images[j];
		if (!owner || owner->module_count == GUEST_MODULES_MAX) {
			printk("veneer: module %u: %s '%s'\n", i,
			       owner ? "too many modules for guest"
				     : "no guest named",
			       cfg.for_guest);
			(*failed)++;
			continue;
		}
		owner->module_cfgs[owner->module_count] = cfg;
		owner->modules[owner->module_count++] = &bi->modules[i];
	}
	return n;
}

/*
 * The periodic report of stats=SECONDS: one line per vCPU of every running
 * guest. The counters belong to the guests' CPUs, which go on counting
 * while this CPU reads them without a lock: each 64-bit counter is read in
 * one load, so each number is one the vCPU really had; the line is a
 * consistent snapshot unless the vCPU kept exiting through every attempt
 * (print_exit_stats()), and then TOTAL is at least the sum of the kinds.
 * That is good enough for statistics and costs the guests nothing.
 */
static void print_periodic_stats(u64 elapsed_ms)
{
	char prefix[40];

	snformat(prefix, sizeof(prefix), "stats %llu.%03llu s: ",
		 (unsigned long long)(elapsed_ms / 1000),
		 (unsigned long long)(elapsed_ms % 1000));
	/*
	 * A guest's partial line (a prompt) may be on the console: end it,
	 * so the report starts on a line of its own and the guest's next
	 * output starts a new "[NAME] " line. The flag belongs to the guest's
	 * CPU (console_line()); taking it over here races with it, and the
	 * worst that can come of that is one prefix too few or too many.
	 */
	for (u32 i = 0; i < vm_count; i++) {
		if (vm_running(&vms[i]) &&
		    __atomic_exchange_n(&vms[i].console_midline, false,
					__ATOMIC_RELAXED))
			printk("\n");
	}
	for (u32 i = 0; i < vm_count; i++) {
		const struct vm *vm = &vms[i];

		if (!vm_running(vm))
			continue;
		for (u32 j = 0; j < vm->vcpu_count; j++)
			print_exit_stats(vm->vcpus[j], prefix);
	}
}

/* stats=SECONDS from the hypervisor command line, or 0. */
static u32 stats_seconds(const struct boot_info *bi)
{
	struct hv_options opt;
	char err[160];

	/* boot_main() has parsed the same line already and accepted it. */
	if (cmdline_parse(bi->cmdline, &opt, err, sizeof(err)))
		return 0;
	return opt.stats_seconds;
}

/*
 * The boot CPU waits here for the guests to end, draining console input
 * meanwhile; every `seconds` (0: never) it reports their exit counts. Time is
 * the host TSC's (under QEMU -icount and in Bochs: emulated time).
 */
static void wait_for_guests(u32 seconds)
{
	u64 hz = tsc_hz(), start = rdtsc();
	u64 interval = seconds * hz, next = start + interval;

	while (__atomic_load_n(&guests_running, __ATOMIC_SEQ_CST)) {
		u64 now;

		cpu_relax();
		/* Keep the console UART's small FIFO from overrunning while
		 * the guests' CPUs run (drivers/uart.c). */
		uart_rx_drain();
		if (!interval)
			continue;
		now = rdtsc();
		if (now < next)
			continue;
		print_periodic_stats((now - start) /
				     (hz / 1000 ? hz / 1000 : 1));
		/* Behind by more than a period (a slow console): skip ahead. */
		next += interval;
		if (next <= now)
			next = now + interval;
	}
}

enum power_status guests_run(const struct boot_info *bi)
{
	static struct guest_image images[VM_MAX];
	u32 failed = 0, ncpus = cpus_online(), next_cpu = 1, stats;
	struct vcpu *on_boot_cpu = NULL;
	u32 n = collect_guests(bi, images, &failed);
	char err[200];

	if (n == 0 && failed == 0) {
		printk("veneer: no guests configured\n");
		return POWER_STATUS_OK;
	}
	for (u32 i = 0; i < n; i++) {
		struct vm *vm = &vms[vm_count];
		u64 free_before;
		u32 cpu;

		if (vm_by_name(images[i].cfg.name)) {
			printk("veneer: guest %s: a guest with this name "
			       "already exists\n",
			       images[i].cfg.name);
			failed++;
			continue;
		}
		/* CPUs 1..n-1 first; the boot CPU takes the last guest. */
		cpu = next_cpu < ncpus ? next_cpu : 0;
		if (cpu == 0 && on_boot_cpu) {
			printk("veneer: guest %s: no free CPU (%u CPUs, one "
			       "guest each)\n",
			       images[i].cfg.name, ncpus);
			failed++;
			continue;
		}
		memset(vm, 0, sizeof(*vm));
		str_copy(vm->name, images[i].cfg.name, sizeof(vm->name));
		vm->id = vm_count;
		vm->asid = vm_count + 1;
		vm_count++;
		free_before = mm_free_bytes();
		if (!vm_create(vm, &vcpus[vm->id], &images[i], err,
			       sizeof(err))) {
			printk("veneer: guest %s: not started: %s\n", vm->name,
			       err);
			vm_release_memory(vm);
			vm->state = VM_STATE_STOPPED;
			str_copy(vm->stop_reason, err, sizeof(vm->stop_reason));
			continue; /* counted with the other VMs below */
		}
		/* Everything the guest costs the host beyond its RAM. */
		printk("veneer: guest %s: %llu MiB RAM, overhead %llu KiB "
		       "(%llu nested page-table pages)\n",
		       vm->name, (unsigned long long)(vm->ram_size >> 20),
		       (unsigned long long)((free_before - mm_free_bytes() -
					     vm->ram_alloc_pages * PAGE_SIZE) >>
					    10),
		       (unsigned long long)vm->npt_tables);
		vm->state = VM_STATE_RUNNING;
		console_offer_focus(vm);
		__atomic_fetch_add(&guests_running, 1, __ATOMIC_SEQ_CST);
		if (cpu == 0) {
			on_boot_cpu = &vcpus[vm->id];
			continue;
		}
		next_cpu++;
		if (!smp_call_on(cpu, guest_cpu_main, &vcpus[vm->id]))
			panic("cpu %u did not take guest %s", cpu, vm->name);
	}
	stats = stats_seconds(bi);
	if (on_boot_cpu) {
		/* The boot CPU is busy: the reports need a CPU of their own. */
		if (stats)
			printk(
			    "veneer: stats: no CPU to spare (guest %s runs on "
			    "cpu 0): no periodic statistics\n",
			    on_boot_cpu->vm->name);
		stats = 0;
		guest_cpu_main(on_boot_cpu);
	}
	wait_for_guests(stats);

	u32 ok = 0;

	for (u32 i = 0; i < vm_count; i++) {
		if (vms[i].state == VM_STATE_EXITED && vms[i].exit_code == 0)
			ok++;
		else
			failed++;
	}
	printk("veneer: all guests ended: %u ok, %u failed\n", ok, failed);
	return failed ? POWER_STATUS_FAILED : POWER_STATUS_OK;
}
