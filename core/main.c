/* SPDX-License-Identifier: MIT */
/*
 * The boot flow, from the first C instruction to running guests.
 *
 * boot/multiboot.S calls boot_main(magic, info) in 64-bit mode with the
 * first 4 GiB identity mapped, interrupts off, on the boot stack.
 */
#include "core/bootinfo.h"
#include "core/cmdline.h"
#include "core/console.h"
#include "core/lib/memmap.h"
#include "core/mm.h"
#include "core/multiboot.h"
#include "core/power.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/guest.h"
#include "core/placement.h"
#include "core/vcpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc.h"
#include "arch/x86/virt.h"
#include "drivers/acpi.h"
#include "drivers/iommu.h"
#include "drivers/iommu_selftest.h"
#include "drivers/pci.h"
#include "drivers/uart.h"

void boot_main(u32 magic, u64 info) __noreturn;

extern const u8 _image_start[], _end[];

static struct boot_info boot_info;
static struct hv_options options;
static struct virt_info boot_virt;
static u64 usable_bytes;	   /* usable RAM in the loader's map */
static struct acpi_mcfg_info mcfg; /* count 0: no ECAM, PCI through ports */

static void parse_boot_info(u32 magic, u64 info)
{
	char err[160];

	if (multiboot_parse(magic, (const void *)(uintptr_t)info, &boot_info,
			    err, sizeof(err)))
		panic("boot information: %s", err);
	if (cmdline_parse(boot_info.cmdline, &options, err, sizeof(err)))
		panic("command line: %s", err);
	/* The configuration's [veneer] log_level replaces it later. */
	printk_set_level(options.log_level);
	placement_set_default_log_level(options.log_level);
	if (options.serial_port != UART_COM1 || options.baud != 115200)
		uart_init(options.serial_port, options.baud);
	console_set_shell(options.shell);
	console_set_color(options.color);
	printk_set_tag_style(console_tag_style);
}

/*
 * Sanitize the loader's memory map, then take out of it everything that
 * is not free: page 0, the hypervisor image and every module.
 */
static void setup_memory(void)
{
	struct mem_range *map = boot_info.memmap;
	u32 *count = &boot_info.memmap_count;
	u64 usable;

	if (memmap_sanitize(map, count, BOOTINFO_MAX_MEMMAP))
		panic("the boot loader's memory map is unusable");
	usable = memmap_usable_bytes(map, *count);
	usable_bytes = usable;
	if (memmap_reserve(map, count, BOOTINFO_MAX_MEMMAP, 0, PAGE_SIZE,
			   MEM_RESERVED) ||
	    memmap_reserve(map, count, BOOTINFO_MAX_MEMMAP,
			   (u64)(uintptr_t)_image_start,
			   (u64)(_end - _image_start), MEM_RESERVED))
		panic("memory map full while reserving the hypervisor image");
	for (u32 i = 0; i < boot_info.module_count; i++) {
		const struct boot_module *m = &boot_info.modules[i];

		if (m->start < (u64)(uintptr_t)_end &&
		    m->end > (u64)(uintptr_t)_image_start)
			panic(
			    "module %u [0x%llx-0x%llx) overlaps the hypervisor "
			    "image [0x%llx-0x%llx)",
			    i, (unsigned long long)m->start,
			    (unsigned long long)m->end,
			    (unsigned long long)(uintptr_t)_image_start,
			    (unsigned long long)(uintptr_t)_end);
		if (memmap_reserve(map, count, BOOTINFO_MAX_MEMMAP, m->start,
				   m->end - m->start, MEM_RESERVED))
			panic("memory map full while reserving module %u", i);
	}
	mm_init(map, count, BOOTINFO_MAX_MEMMAP);
	printk("veneer: memory: %llu MiB usable\n",
	       (unsigned long long)(usable >> 20));
}

/* Host memory below 4 GiB is identity mapped during early boot. */
static const void *acpi_identity_map(u64 pa, u64 len)
{
	if (pa + len < pa || pa + len > GiB(4))
		return NULL;
	return (const void *)(uintptr_t)pa;
}

/* The CPUs to start: from the ACPI MADT, or just this one. */
static u32 find_cpus(u32 *apic_ids, u32 max)
{
	struct acpi_madt_info madt;
	char err[160];
	u32 n = 0;

	acpi_set_mapper(acpi_identity_map);
	if (acpi_read_madt(&boot_info, &madt, err, sizeof(err))) {
		printk("veneer: no usable ACPI MADT (%s): starting one CPU\n",
		       err);
		return 0;
	}
	for (u32 i = 0; i < madt.cpu_count && n < max; i++)
		apic_ids[n++] = madt.apic_ids[i];
	return n;
}

/*
 * The PCI Express configuration space (MCFG), read now and used after
 * paging_init(); without one PCI is reached through ports 0xCF8/0xCFC.
 */
static void find_mcfg(void)
{
	char err[160];
	int rc = acpi_read_mcfg(&boot_info, &mcfg, err, sizeof(err));

	if (rc == ACPI_ERR_INVALID)
		printk("veneer: pci: unusable ACPI MCFG (%s): PCI through "
		       "ports 0xcf8\n",
		       err);
	if (rc != ACPI_OK)
		mcfg.count = 0;
}

/* How power_off() can switch the machine off: ACPI S5, or not at all. */
static void find_power_off(void)
{
	struct acpi_sleep_info s5;
	char err[160];

	if (acpi_read_sleep(&boot_info, &s5, err, sizeof(err))) {
		printk("veneer: acpi: no S5 power off (%s): the machine will "
		       "halt instead\n",
		       err);
		return;
	}
	power_set_acpi(&s5);
	printk("veneer: acpi: power off by S5 through PM1a_CNT 0x%x "
	       "(SLP_TYP %u)\n",
	       s5.pm1a_cnt, s5.slp_typa);
}

/* On every AP before it reports online: same virtualization as the BSP? */
static void ap_init(struct percpu *cpu)
{
	const struct vcpu_ops *ops = virt_vendor();

	/* The backend's cpu_enable checks the rest on this CPU. */
	if (ops != boot_virt.ops) {
		printk("veneer: cpu %u: virtualization differs from cpu 0: "
		       "%s\n",
		       cpu->index, ops ? ops->name : "none");
		cpu->virt_failed = true;
	}
}

static void enable_on_cpu(void *arg)
{
	struct percpu *cpu = this_cpu();

	(void)arg;
	if (!cpu->virt_failed && vcpu_ops->cpu_enable() != 0) {
		printk("veneer: cpu %u: could not enable %s\n", cpu->index,
		       vcpu_ops->name);
		cpu->virt_failed = true;
	}
	__atomic_store_n(&cpu->virt_ready, true, __ATOMIC_RELEASE);
}

/* Turn virtualization on on every CPU; returns how many can run guests. */
static u32 enable_virtualization(u32 ncpus)
{
	u32 usable = 0;

	virt_bind(&boot_virt);
	enable_on_cpu(NULL);
	if (percpu_of(0)->virt_failed)
		panic("cpu 0: could not enable %s", vcpu_ops->name);
	for (u32 i = 1; i < ncpus; i++)
		if (!smp_call_on(i, enable_on_cpu, NULL))
			percpu_of(i)->virt_failed = true;
	for (u32 i = 0; i < ncpus; i++) {
		struct percpu *cpu = percpu_of(i);

		while (!cpu->virt_failed &&
		       !__atomic_load_n(&cpu->virt_ready, __ATOMIC_ACQUIRE))
			cpu_relax();
		if (!cpu->virt_failed)
			usable++;
	}
	if (usable < ncpus)
		printk("veneer: warning: %u of %u CPUs cannot run guests\n",
		       ncpus - usable, ncpus);
	return usable;
}

void boot_main(u32 magic, u64 info)
{
	static u32 apic_ids[MAX_CPUS];
	u32 ncpus;

	uart_init(UART_COM1, 115200);
	printk_set_output(uart_putc);
	panic_set_stop(power_off_panic);
	printk("\nveneer: starting\n");
	smp_init_boot_cpu();
	parse_boot_info(magic, info);
	setup_memory();
	/* ACPI first: the RSDP search reads page 0, unmapped afterwards. */
	ncpus = find_cpus(apic_ids, MAX_CPUS);
	find_power_off();
	find_mcfg();
	iommu_read_tables(&boot_info);
	paging_init(boot_info.memmap, boot_info.memmap_count);
	tsc_calibrate();
	pci_setup_access(&mcfg);
	pci_enumerate();
	if (options.iommu)
		iommu_init();
	else
		printk("veneer: iommu: off (iommu=off): no device can be "
		       "assigned to a guest\n");

	virt_detect(&boot_virt);
	virt_report(&boot_virt);
	if (boot_virt.caps.apic_virt && !options.apicv) {
		boot_virt.caps.apic_virt = false;
		printk("veneer: apicv: off (apicv=off): guests' APIC "
		       "interrupts go through the run loop\n");
	}
	ncpus = smp_start_aps(apic_ids, ncpus, options.max_cpus, ap_init);
	printk("veneer: cpus online: %u\n", ncpus);
	if (!boot_virt.caps.usable) {
		printk("veneer: stopping: no usable hardware virtualization\n");
		power_off(POWER_STATUS_FAILED);
	}
	enable_virtualization(ncpus);
	printk("veneer: memory: hypervisor keeps %llu KiB (image %llu KiB), "
	       "%llu MiB free for guests\n",
	       (unsigned long long)((usable_bytes - mm_free_bytes()) >> 10),
	       (unsigned long long)((u64)(_end - _image_start) >> 10),
	       (unsigned long long)(mm_free_bytes() >> 20));

	if (options.selftest == SELFTEST_IOMMU)
		iommu_selftest();
	if (options.selftest == SELFTEST_FAULT) {
		printk("veneer: selftest: raising a host #UD\n");
		__asm__ volatile("ud2");
	}
	power_off(guests_run(&boot_info));
}
