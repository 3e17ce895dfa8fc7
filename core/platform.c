/* SPDX-License-Identifier: MIT */
/*
 * The virtual PC: wiring of the device models (see core/platform.h).
 *
 * Guest time is the guest's TSC (core/vm.c: host TSC + offset, frozen
 * while Veneer handles an exit) since the platform started, in
 * nanoseconds; the TSC-deadline timer compares against tsc_base + time.
 */
#include "core/platform.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/vdev/acpi_tables.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"

#define PM1_STATUS_PORT	     ACPI_TABLES_PM1A_EVT_PORT
#define PM1_ENABLE_PORT	     (ACPI_TABLES_PM1A_EVT_PORT + 2)
#define PM1_CONTROL_PORT     ACPI_TABLES_PM1A_CNT_PORT
#define PM_TIMER_PORT	     ACPI_TABLES_PM_TMR_PORT
#define PM_TIMER_MASK	     0xffffffu /* a 24-bit PM timer (FADT TMR_VAL_EXT 0) */
#define GUEST_PHYS_ADDR_BITS 39

/* ---- time ---- */

u64 platform_now_ns(const struct platform *p)
{
	u64 ticks = vm_guest_tsc(p->vm) - p->tsc_base;

	return (u64)(((unsigned __int128)ticks * p->ns_per_tick32) >> 32);
}

u64 platform_ns_to_tsc(const struct platform *p, u64 ns)
{
	if (!ns)
		return 0;
	return p->tsc_base + tsc_from_us(ns / 1000) + 1;
}

static u64 clock_now(void *opaque)
{
	return platform_now_ns(opaque);
}

/* ---- interrupt lines ---- */

/* ISA IRQ n goes to PIC input n and IOAPIC pin n, IRQ 0 to pin 2 (the MADT
 * interrupt source override, ACPI 6.x 5.2.12.5). */
static void isa_irq(void *opaque, u8 irq, bool level)
{
	struct platform *p = opaque;

	vpic_set_irq(&p->pic, irq, level);
	vioapic_set_irq(&p->ioapic, irq == 0 ? 2 : irq, level);
}

/*
 * An IOAPIC message: the vector is checked where it arrives, as on
 * hardware: vlapic_accept_irq() refuses 0-15 and records a receive
 * illegal vector error (SDM Vol. 3A 11.5.3), so no message can make a
 * vector the core may not inject.
 */
static bool ioapic_deliver(void *opaque, const struct vioapic_msg *m)
{
	struct platform *p = opaque;

	switch (m->delivery_mode) {
	case VIOAPIC_DELIVERY_FIXED:
	case VIOAPIC_DELIVERY_LOWEST:
		return vlapic_match_dest(&p->lapic, m->dest, m->dest_logical) &&
		       vlapic_accept_irq(&p->lapic, m->vector,
					 m->level_triggered);
	default:
		/* NMI, INIT and ExtINT through the IOAPIC: not routed. */
		return false;
	}
}

static void lapic_send_ipi(void *opaque, const struct vlapic_ipi *ipi)
{
	struct platform *p = opaque;
	bool to_self =
	    ipi->shorthand == VLAPIC_SHORTHAND_ALL ||
	    (ipi->shorthand == VLAPIC_SHORTHAND_NONE &&
	     vlapic_match_dest(&p->lapic, ipi->dest, ipi->dest_logical));

	/* One vCPU: only IPIs that reach the sender itself do anything. */
	if (to_self && (ipi->delivery_mode == VLAPIC_DELIVERY_FIXED ||
			ipi->delivery_mode == VLAPIC_DELIVERY_LOWEST))
		vlapic_accept_irq(&p->lapic, ipi->vector, ipi->level_triggered);
}

static void lapic_eoi(void *opaque, u8 vector)
{
	struct platform *p = opaque;

	vioapic_eoi(&p->ioapic, vector);
}

static const struct vlapic_ops lapic_ops = {
    .send_ipi = lapic_send_ipi,
    .eoi = lapic_eoi,
};

void platform_uart_update_irq(struct platform *p)
{
	isa_irq(p, PLATFORM_UART_IRQ, vuart_irq_pending(&p->vm->uart));
}

void platform_console_input(struct platform *p, u8 byte)
{
	vuart_receive(&p->vm->uart, byte);
	/*
	 * A new byte is a new event: give the edge-triggered IRQ 4 a fresh
	 * rising edge even if the line was already up for an event the
	 * guest's driver has not looked at yet, so no input waits unseen.
	 */
	isa_irq(p, PLATFORM_UART_IRQ, false);
	platform_uart_update_irq(p);
}

/* ---- ACPI fixed hardware (ACPI 6.x 4.8.3) ---- */

static u32 pm_read(void *opaque, u16 port, u8 size)
{
	struct platform *p = opaque;
	u32 v;

	switch (port & ~1u) {
	case PM1_STATUS_PORT:
		v = p->pm1_status;
		break;
	case PM1_ENABLE_PORT:
		v = p->pm1_enable;
		break;
	case PM1_CONTROL_PORT:
		/* No SCI hardware to hand over: always in ACPI mode. */
		v = p->pm1_control | ACPI_TABLES_PM1_CNT_SCI_EN;
		break;
	default:
		return 0xffffffffu;
	}
	if (port & 1)
		v >>= 8;
	return size == 1 ? v & 0xff : v & 0xffff;
}

static void pm_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct platform *p = opaque;
	u16 v = (u16)value;

	if (port & 1 || size == 1)
		return; /* the PM1 registers are written 16 bits at a time */
	switch (port) {
	case PM1_STATUS_PORT:
		p->pm1_status &= (u16)~v; /* write 1 to clear */
		return;
	case PM1_ENABLE_PORT:
		p->pm1_enable = v;
		return;
	case PM1_CONTROL_PORT:
		p->pm1_control = v & ~ACPI_TABLES_PM1_CNT_SLP_EN;
		if ((v & ACPI_TABLES_PM1_CNT_SLP_EN) &&
		    ((v >> ACPI_TABLES_PM1_CNT_SLP_TYP_SHIFT) & 7) ==
			ACPI_TABLES_S5_SLP_TYP) {
			printk("veneer: guest %s powered off (ACPI S5)\n",
			       p->vm->name);
			vm_exit(p->vm, 0);
		}
		return;
	default:
		return;
	}
}

/* The PM timer counts at 3.579545 MHz (ACPI 6.x 4.8.3.3). */
static u32 pm_timer_read(void *opaque, u16 port, u8 size)
{
	const struct platform *p = opaque;
	u64 ns = platform_now_ns(p);
	u64 ticks = ns / 1000000000ull * ACPI_TABLES_PM_TMR_HZ +
		    ns % 1000000000ull * ACPI_TABLES_PM_TMR_HZ / 1000000000ull;

	(void)port;
	(void)size;
	return (u32)ticks & PM_TIMER_MASK;
}

/* ---- MMIO ---- */

static int lapic_mmio_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			   u64 *value)
{
	struct platform *p = opaque;
	u32 v;
	int rc;

	(void)vcpu;
	rc = vlapic_mmio_read(&p->lapic, (u32)offset, size, &v,
			      platform_now_ns(p));
	*value = v;
	return rc < 0 ? -1 : 0;
}

static int lapic_mmio_write(void *opaque, struct vcpu *vcpu, u64 offset,
			    u8 size, u64 value)
{
	struct platform *p = opaque;

	(void)vcpu;
	return vlapic_mmio_write(&p->lapic, (u32)offset, size, (u32)value,
				 platform_now_ns(p)) < 0
		   ? -1
		   : 0;
}

static int ioapic_mmio_read(void *opaque, struct vcpu *vcpu, u64 offset,
			    u8 size, u64 *value)
{
	struct platform *p = opaque;
	u32 v = 0;

	(void)vcpu;
	/* Outside IOREGSEL / IOWIN the window reads as nothing there. */
	if (offset >= VIOAPIC_MMIO_SIZE ||
	    vioapic_mmio_read(&p->ioapic, (u32)offset, size, &v) < 0)
		v = 0xffffffffu;
	*value = v;
	return 0;
}

static int ioapic_mmio_write(void *opaque, struct vcpu *vcpu, u64 offset,
			     u8 size, u64 value)
{
	struct platform *p = opaque;

	(void)vcpu;
	if (offset < VIOAPIC_MMIO_SIZE)
		vioapic_mmio_write(&p->ioapic, (u32)offset, size, (u32)value);
	return 0;
}

/* ---- the debug-exit port ---- */

static void debug_exit_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)port;
	(void)size;
	vm_exit(opaque, value);
}

/* ---- reset ---- */

static void kbc_reset(void *opaque)
{
	struct platform *p = opaque;

	p->reset_requested = true;
}

/* ---- setup ---- */

static bool add_ports(struct vm *vm, u16 first, u16 last, io_read_fn rd,
		      io_write_fn wr, void *opaque, const char *name)
{
	const struct io_handler h = {.first = first,
				     .last = last,
				     .read = rd,
				     .write = wr,
				     .opaque = opaque,
				     .name = name};

	return iobus_register(&vm->io, &h);
}

static bool add_devices(struct platform *p, struct vm *vm)
{
	const struct mmio_region lapic = {.base = VLAPIC_DEFAULT_MMIO_BASE,
					  .size = VLAPIC_MMIO_SIZE,
					  .read = lapic_mmio_read,
					  .write = lapic_mmio_write,
					  .opaque = p,
					  .name = "local APIC"};
	const struct mmio_region ioapic = {.base = PLATFORM_IOAPIC_BASE,
					   .size = PAGE_SIZE,
					   .read = ioapic_mmio_read,
					   .write = ioapic_mmio_write,
					   .opaque = p,
					   .name = "IOAPIC"};

	return add_ports(vm, VPIC_MASTER_PORT, VPIC_MASTER_PORT + 1,
			 vpic_io_read, vpic_io_write, &p->pic, "pic1") &&
	       add_ports(vm, VPIC_SLAVE_PORT, VPIC_SLAVE_PORT + 1, vpic_io_read,
			 vpic_io_write, &p->pic, "pic2") &&
	       add_ports(vm, VPIC_ELCR_PORT, VPIC_ELCR_PORT + 1, vpic_io_read,
			 vpic_io_write, &p->pic, "elcr") &&
	       add_ports(vm, VPIT_PORT, VPIT_PORT + 3, vpit_io_read,
			 vpit_io_write, &p->pit, "pit") &&
	       add_ports(vm, VPIT_PORT_B, VPIT_PORT_B, vpit_io_read,
			 vpit_io_write, &p->pit, "port-b") &&
	       add_ports(vm, VRTC_PORT, VRTC_PORT + 1, vrtc_io_read,
			 vrtc_io_write, &p->rtc, "rtc") &&
	       add_ports(vm, VPCI_ADDRESS_PORT,
			 VPCI_ADDRESS_PORT + VPCI_PORTS - 1, vpci_io_read,
			 vpci_io_write, &p->pci, "pci") &&
	       add_ports(vm, VI8042_DATA_PORT, VI8042_DATA_PORT, vi8042_io_read,
			 vi8042_io_write, &p->kbc, "i8042-data") &&
	       add_ports(vm, VI8042_COMMAND_PORT, VI8042_COMMAND_PORT,
			 vi8042_io_read, vi8042_io_write, &p->kbc,
			 "i8042-command") &&
	       add_ports(vm, PM1_STATUS_PORT, PM1_CONTROL_PORT + 1, pm_read,
			 pm_write, p, "acpi-pm1") &&
	       add_ports(vm, PM_TIMER_PORT, PM_TIMER_PORT + 3, pm_timer_read,
			 NULL, p, "acpi-pm-timer") &&
	       add_ports(vm, PLATFORM_DEBUG_EXIT_PORT,
			 PLATFORM_DEBUG_EXIT_PORT_LAST, NULL, debug_exit_write,
			 vm, "debug-exit") &&
	       mmio_register(&vm->mmio, &lapic) &&
	       mmio_register(&vm->mmio, &ioapic);
}

bool platform_init(struct platform *p, struct vm *vm, char *err, size_t errlen)
{
	const struct vlapic_config lc = {.vcpu_index = 0,
					 .bsp = true,
					 .tsc_hz = tsc_hz(),
					 .phys_addr_bits =
					     GUEST_PHYS_ADDR_BITS};
	const struct acpi_tables_config ac = {
	    .base_gpa = PLATFORM_ACPI_GPA,
	    .cpu_count = 1,
	    .ioapic_address = (u32)PLATFORM_IOAPIC_BASE,
	    .ioapic_id = PLATFORM_IOAPIC_ID,
	};
	struct acpi_tables_result ar;
	void *area =
	    vm_gpa_to_hva(vm, gpa(PLATFORM_ACPI_GPA), PLATFORM_ACPI_SIZE);

	memset(p, 0, sizeof(*p));
	p->vm = vm;
	p->tsc_base = vm_guest_tsc(vm);
	p->ns_per_tick32 = (1000000000ull << 32) / tsc_hz();
	vpic_init(&p->pic);
	vpit_init(&p->pit, isa_irq, p, clock_now, p);
	vrtc_init(&p->rtc, 0, clock_now, p);
	vrtc_set_memory_size(&p->rtc, vm->ram_size, 0);
	vpci_init(&p->pci);
	vi8042_init(&p->kbc, kbc_reset, p, isa_irq, p);
	if (!vioapic_init(&p->ioapic, PLATFORM_IOAPIC_ID, ioapic_deliver, p) ||
	    vlapic_init(&p->lapic, &lc, &lapic_ops, p) < 0) {
		snformat(err, errlen, "interrupt controllers: bad setup");
		return false;
	}
	vlapic_set_tsc_offset(&p->lapic, p->tsc_base);
	if (!add_devices(p, vm)) {
		snformat(err, errlen, "device ports or MMIO overlap");
		return false;
	}
	/* ACPI tables in the BIOS area, for guests with RAM there. */
	if (area) {
		if (!acpi_tables_build(&ac, area, PLATFORM_ACPI_SIZE, &ar, err,
				       errlen))
			return false;
		p->acpi_rsdp = ar.rsdp_gpa;
	}
	return true;
}

/* ---- timers and injection ---- */

void platform_tick(struct platform *p)
{
	u64 now = platform_now_ns(p);

	vpit_tick(&p->pit, now);
	vlapic_tick(&p->lapic, now);
}

u64 platform_advance(struct platform *p)
{
	if (platform_timer_due(p))
		platform_tick(p);
	return platform_ns_to_tsc(p, platform_next_deadline_ns(p));
}

bool platform_timer_due(const struct platform *p)
{
	u64 deadline = platform_next_deadline_ns(p);

	return deadline && platform_now_ns(p) >= deadline;
}

u64 platform_next_deadline_ns(const struct platform *p)
{
	u64 a = vpit_next_deadline_ns(&p->pit);
	u64 b = vlapic_next_deadline_ns(&p->lapic);

	if (!a)
		return b;
	if (!b)
		return a;
	return MIN(a, b);
}

bool platform_interrupt_pending(struct platform *p, struct vcpu *vcpu)
{
	(void)vcpu;
	return vlapic_pending_vector(&p->lapic) >= 0 ||
	       (vlapic_accepts_extint(&p->lapic) &&
		vpic_pending_vector(&p->pic) >= 0);
}

int platform_take_interrupt(struct platform *p, struct vcpu *vcpu)
{
	int v = vlapic_pending_vector(&p->lapic);

	(void)vcpu;
	if (v >= 0) {
		vlapic_inject_done(&p->lapic, (u8)v);
		return v;
	}
	/* The 8259's INTA cycle names the vector (spurious IRQ 7/15 too). */
	if (vlapic_accepts_extint(&p->lapic) &&
	    vpic_pending_vector(&p->pic) >= 0)
		return vpic_ack(&p->pic);
	return -1;
}

bool platform_handles_msr(u32 msr)
{
	return vlapic_handles_msr(msr);
}

int platform_msr_read(struct platform *p, struct vcpu *vcpu, u32 msr,
		      u64 *value)
{
	(void)vcpu;
	return vlapic_msr_read(&p->lapic, msr, value, platform_now_ns(p));
}

int platform_msr_write(struct platform *p, struct vcpu *vcpu, u32 msr,
		       u64 value)
{
	(void)vcpu;
	return vlapic_msr_write(&p->lapic, msr, value, platform_now_ns(p));
}
