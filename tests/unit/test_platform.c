/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/platform.c, the wiring of the virtual PC: what vector
 * platform_take_interrupt() hands the core (issue 10, bug 1), the NMIs the
 * APICs produce, the local APIC page while the APIC is off, ACPI sleep
 * requests, port 0x92 and the debug-exit port; guest time and timer
 * deadlines: the guest TSC a deadline becomes, TSC writes, timers whose
 * interrupt is already waiting (issue 10, the chaos guest's livelocks).
 * The vm functions platform.c calls are stubs here; the guest TSC is a
 * counter the tests move (1 tick = 1 ns unless a test sets tsc_hz).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/platform.h"
#include "core/vdev/acpi_tables.h"
#include "core/vm.h"
#include "arch/x86/tsc.h"

#define TSC_HZ 1000000000ull

/* ---- stubs for what the platform calls outside core/vdev ---- */

static u64 guest_tsc, hz = TSC_HZ;
static u64 guest_tsc_step; /* the clock moves on by this at every read */
static u32 exit_calls, exit_code, stop_calls;
static char stop_reason[200];

u64 vm_guest_tsc(const struct vm *vm)
{
	u64 now = guest_tsc;

	(void)vm;
	guest_tsc += guest_tsc_step;
	return now;
}

void *vm_gpa_to_hva(struct vm *vm, gpa_t g, u64 len)
{
	(void)vm;
	(void)g;
	(void)len;
	return NULL; /* no RAM at the ACPI area: no tables */
}

void vm_exit(struct vm *vm, u32 code)
{
	(void)vm;
	exit_calls++;
	exit_code = code;
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	(void)vm;
	stop_calls++;
	va_start(ap, fmt);
	vsnprintf(stop_reason, sizeof(stop_reason), fmt, ap);
	va_end(ap);
}

/* vCPUs woken by the platform (several-vCPU tests): a bit each. */
static u32 woken;

void vm_wake_vcpu(struct vm *vm, u32 index)
{
	(void)vm;
	woken |= 1u << index;
}

u64 tsc_hz(void)
{
	return hz;
}

u64 tsc_from_us(u64 us)
{
	return us * 1000;
}

bool mmio_register(struct mmio_bus *bus, const struct mmio_region *r)
{
	if (bus->count == MMIO_MAX_REGIONS)
		return false;
	bus->regions[bus->count++] = *r;
	return true;
}

u32 mmio_remove(struct mmio_bus *bus, const void *owner)
{
	(void)bus;
	(void)owner;
	return 0;
}

/* ---- a guest with the platform ---- */

static struct vm vm;
static struct platform platform;

/* A guest named `name` of 16 MiB on the platform, with a NIC of MAC
 * `mac` or without one (NULL). */
static void boot_guest(const char *name, const u8 *mac)
{
	char err[160];

	memset(&vm, 0, sizeof(vm));
	str_copy(vm.name, name, sizeof(vm.name));
	vm.ram_size = 16 << 20;
	vm.platform = &platform;
	vm.virtio_net = mac != NULL;
	if (mac)
		memcpy(vm.mac, mac, sizeof(vm.mac));
	vuart_init(&vm.uart, NULL, NULL);
	guest_tsc = 1000;
	hz = TSC_HZ;
	exit_calls = exit_code = stop_calls = 0;
	stop_reason[0] = 0;
	woken = 0;
	if (!platform_init(&platform, &vm, err, sizeof(err)))
		fail_msg("%s", err);
}

static int setup(void **state)
{
	(void)state;
	boot_guest("test", NULL);
	return 0;
}

static const struct mmio_region *region(u64 base)
{
	for (u32 i = 0; i < vm.mmio.count; i++)
		if (vm.mmio.regions[i].base == base)
			return &vm.mmio.regions[i];
	fail_msg("no MMIO region at 0x%llx", (unsigned long long)base);
	return NULL;
}

static void lapic_write(u32 offset, u32 value)
{
	const struct mmio_region *r = region(VLAPIC_DEFAULT_MMIO_BASE);

	assert_int_equal(r->write(r->opaque, NULL, offset, 4, value), 0);
}

static u32 lapic_read(u32 offset)
{
	const struct mmio_region *r = region(VLAPIC_DEFAULT_MMIO_BASE);
	u64 value = 0;

	assert_int_equal(r->read(r->opaque, NULL, offset, 4, &value), 0);
	return (u32)value;
}

static void ioapic_route(u8 pin, u32 low)
{
	const struct mmio_region *r = region(PLATFORM_IOAPIC_BASE);

	r->write(r->opaque, NULL, 0x00, 4, 0x11 + 2 * pin); /* high: APIC 0 */
	r->write(r->opaque, NULL, 0x10, 4, 0);
	r->write(r->opaque, NULL, 0x00, 4, 0x10 + 2 * pin);
	r->write(r->opaque, NULL, 0x10, 4, low);
}

/* A character typed for the guest raises IRQ 4 (UART receive interrupt). */
static void uart_irq(void)
{
	vuart_write(&vm.uart, 1, 0x01); /* IER: received data available */
	platform_console_input(&platform, 'x');
}

/* PIT channel 0, mode 2, `count` ticks: IRQ 0 once time passes. */
static void pit_irq0(u16 count)
{
	iobus_write(&vm.io, 0x43, 1, 0x34);
	iobus_write(&vm.io, 0x40, 1, count & 0xff);
	iobus_write(&vm.io, 0x40, 1, count >> 8);
	guest_tsc += 1000000; /* 1 ms: many periods of ~1 us */
	platform_tick(&platform);
}

/*
 * The guest of issue 10, bug 1: local APIC disabled, 8259 never
 * initialised (vector base 0), IRQ 0 unmasked. The PIC names vector 0 and
 * the platform hands it on, as bare metal delivers it through IDT entry 0.
 */
static void test_pic_with_base_0_gives_vector_0(void **state)
{
	(void)state;
	assert_int_equal(
	    platform_msr_write(&platform, NULL, VLAPIC_MSR_APIC_BASE,
			       VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_BSP),
	    0);
	iobus_write(&vm.io, 0x21, 1, 0xfe); /* OCW1: only IRQ 0 */
	pit_irq0(2);
	assert_true(platform_interrupt_pending(&platform, NULL));
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0);
	/* In service now: no second one before the EOI. */
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
	iobus_write(&vm.io, 0x20, 1, 0x20);
	/* IRQ 4 with base 0 is vector 4. */
	iobus_write(&vm.io, 0x21, 1, 0xef);
	uart_irq();
	assert_int_equal(platform_take_interrupt(&platform, NULL), 4);
}

/* The same through an enabled APIC whose LINT0 is in ExtINT mode. */
static void test_extint_through_lint0(void **state)
{
	(void)state;
	lapic_write(0xf0, 0x1ff);  /* SVR: enabled */
	lapic_write(0x350, 0x700); /* LINT0: ExtINT, unmasked */
	iobus_write(&vm.io, 0x21, 1, 0xef);
	uart_irq();
	assert_int_equal(platform_take_interrupt(&platform, NULL), 4);
	/* Masking LINT0 cuts the 8259 off. */
	iobus_write(&vm.io, 0x20, 1, 0x20);
	lapic_write(0x350, 0x10700);
	uart_irq();
	assert_false(platform_interrupt_pending(&platform, NULL));
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
}

/*
 * An IOAPIC entry with vector 5: the local APIC refuses the message and
 * records "receive illegal vector" (SDM Vol. 3A 11.5.3); nothing is
 * injected. With vector 0x35 the same line delivers.
 */
static void test_ioapic_vector_below_16_is_refused(void **state)
{
	(void)state;
	lapic_write(0xf0, 0x1ff);
	ioapic_route(4, 0x05);
	uart_irq();
	assert_false(platform_interrupt_pending(&platform, NULL));
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
	lapic_write(0x280, 0);
	assert_int_equal(lapic_read(0x280), VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	ioapic_route(4, 0x35);
	uart_irq();
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x35);
}

/* LVT timer and self IPIs with vectors below 16 never reach the core. */
static void test_lapic_sources_below_16_are_refused(void **state)
{
	(void)state;
	lapic_write(0xf0, 0x1ff);
	lapic_write(0x3e0, 0xb);  /* divide by 1 */
	lapic_write(0x320, 0x0e); /* LVT timer: vector 14 */
	lapic_write(0x380, 100);
	guest_tsc += 1000;
	platform_tick(&platform);
	lapic_write(0x300, 0x40000 | 0x02); /* self IPI, vector 2 */
	assert_false(platform_interrupt_pending(&platform, NULL));
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
	lapic_write(0x280, 0);
	assert_int_equal(lapic_read(0x280),
			 VLAPIC_ESR_SEND_ILLEGAL_VECTOR |
			     VLAPIC_ESR_RECEIVE_ILLEGAL_VECTOR);
}

static u64 next_random(u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Arbitrary programming of the PICs, PIT, IOAPIC and local APIC, with
 * input and time: platform_take_interrupt() returns -1 or 0-255, and a
 * vector the local APIC offers is 16 or above.
 */
static void test_random_programming_gives_valid_vectors(void **state)
{
	static const u16 ports[] = {0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
				    0x40, 0x43, 0x61, 0x70, 0x71};
	const struct mmio_region *lapic = region(VLAPIC_DEFAULT_MMIO_BASE);
	const struct mmio_region *ioapic = region(PLATFORM_IOAPIC_BASE);
	u64 x = 0x2545f4914f6cdd1dull;
	u32 taken = 0;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		u64 r = next_random(&x);
		u32 value = (u32)(r >> 32);
		int from_lapic, vector;

		switch (r % 8) {
		case 0:
			iobus_write(&vm.io, ports[(r >> 8) % ARRAY_SIZE(ports)],
				    1, value);
			break;
		case 1:
			lapic->write(lapic->opaque, NULL, (r >> 8) & 0x3f0, 4,
				     value);
			break;
		case 2:
			ioapic->write(ioapic->opaque, NULL, (r >> 8) & 0x10, 4,
				      r & 0x10000 ? value : (r >> 16) & 0x3f);
			break;
		case 3:
			uart_irq();
			break;
		case 4:
			guest_tsc += r & 0xfffff;
			platform_tick(&platform);
			break;
		case 5:
			platform_msr_write(&platform, NULL,
					   0x800 + (value & 0xff), r >> 40);
			break;
		case 6:
			platform_msr_write(
			    &platform, NULL, VLAPIC_MSR_APIC_BASE,
			    VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_BSP |
				(r & 0x300 ? VLAPIC_APIC_BASE_EN : 0));
			break;
		default:
			from_lapic = vlapic_pending_vector(&platform.lapic[0]);
			if (!platform_interrupt_pending(&platform, NULL))
				break;
			vector = platform_take_interrupt(&platform, NULL);
			if (vector < -1 || vector > 255 ||
			    (from_lapic >= 0 && vector < 16))
				fail_msg("step %d: vector %d", i, vector);
			taken += vector >= 0;
			/* The guest EOIs at both controllers. */
			iobus_write(&vm.io, 0x20, 1, 0x20);
			iobus_write(&vm.io, 0xa0, 1, 0x20);
			lapic->write(lapic->opaque, NULL, 0xb0, 4, 0);
			break;
		}
	}
	assert_true(taken > 0);
}

/* ---- NMIs (SDM Vol. 3A 6.7.1, 11.6.1) ---- */

#define ICR_LOW	    0x300
#define ICR_HIGH    0x310
#define ICR_NMI	    0x400
#define ICR_SELF    (1u << 18)
#define ICR_ALL	    (2u << 18)
#define ICR_ALL_BUT (3u << 18)
#define RTE_NMI	    0x400
#define RTE_MASKED  0x10000
#define LVT_LINT1   0x360
#define APIC_BASE_ON                                                           \
	(VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_BSP | VLAPIC_APIC_BASE_EN)
#define APIC_BASE_OFF (VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_BSP)

static bool take_nmi(void)
{
	return platform_take_nmi(&platform, NULL);
}

/*
 * An NMI IPI the vCPU sends itself arrives, by destination or by the self
 * and all-including-self shorthands; all-excluding-self and another APIC's
 * ID do not reach it. NMIs do not queue: two before the first is taken
 * are one.
 */
static void test_nmi_ipi_to_self(void **state)
{
	(void)state;
	lapic_write(0xf0, 0x1ff);
	assert_false(platform_nmi_pending(&platform, NULL));
	lapic_write(ICR_HIGH, 0); /* APIC ID 0: ours */
	lapic_write(ICR_LOW, ICR_NMI);
	assert_true(platform_nmi_pending(&platform, NULL));
	/* No vector in IRR: the NMI is not an interrupt. */
	assert_false(platform_interrupt_pending(&platform, NULL));
	assert_true(take_nmi());
	assert_false(take_nmi());
	lapic_write(ICR_LOW, ICR_NMI | ICR_SELF);
	assert_true(take_nmi());
	lapic_write(ICR_LOW, ICR_NMI | ICR_ALL);
	assert_true(take_nmi());
	lapic_write(ICR_LOW, ICR_NMI | ICR_ALL_BUT);
	assert_false(take_nmi());
	lapic_write(ICR_HIGH, 5u << 24);
	lapic_write(ICR_LOW, ICR_NMI);
	assert_false(take_nmi());
	/* Two NMIs before one is taken: one. */
	lapic_write(ICR_LOW, ICR_NMI | ICR_SELF);
	lapic_write(ICR_LOW, ICR_NMI | ICR_SELF);
	assert_true(take_nmi());
	assert_false(take_nmi());
	/* x2APIC: the 64-bit ICR, destination 0. */
	assert_int_equal(
	    platform_msr_write(&platform, NULL, VLAPIC_MSR_APIC_BASE,
			       APIC_BASE_ON | VLAPIC_APIC_BASE_EXTD),
	    0);
	assert_int_equal(platform_msr_write(&platform, NULL, 0x830, ICR_NMI),
			 0);
	assert_true(take_nmi());
}

/*
 * An IOAPIC entry in NMI mode sends an NMI for each edge on its pin, to an
 * APIC it names, software-disabled or not (SDM Vol. 3A 11.4.7.2), but not
 * to a globally disabled one. platform_nmi_may_arrive() sees the route.
 */
static void test_nmi_from_ioapic(void **state)
{
	(void)state;
	assert_false(platform_nmi_may_arrive(&platform, NULL));
	ioapic_route(4, RTE_NMI | RTE_MASKED);
	assert_false(platform_nmi_may_arrive(&platform, NULL));
	uart_irq();
	assert_false(take_nmi());
	ioapic_route(4, RTE_NMI); /* SVR still at its power-on 0xFF */
	assert_true(platform_nmi_may_arrive(&platform, NULL));
	uart_irq();
	assert_true(platform_nmi_pending(&platform, NULL));
	assert_false(platform_interrupt_pending(&platform, NULL));
	assert_true(take_nmi());
	uart_irq();
	assert_true(take_nmi());
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_APIC_BASE,
					    APIC_BASE_OFF),
			 0);
	uart_irq();
	assert_false(take_nmi());
}

/*
 * The board's NMI line reaches LINT1: an NMI in NMI mode, nothing while
 * masked or while port 0x70 bit 7 disables NMIs; with the APIC globally
 * disabled LINT1 is the CPU's NMI pin.
 */
static void test_nmi_line_through_lint1(void **state)
{
	(void)state;
	platform_nmi_line_pulse(&platform); /* LINT1 masked at power-on */
	assert_false(take_nmi());
	lapic_write(0xf0, 0x1ff);
	lapic_write(LVT_LINT1, 0x400);
	platform_nmi_line_pulse(&platform);
	assert_true(take_nmi());
	iobus_write(&vm.io, 0x70, 1, 0x80); /* NMI disable */
	platform_nmi_line_pulse(&platform);
	assert_false(take_nmi());
	iobus_write(&vm.io, 0x70, 1, 0x00);
	lapic_write(LVT_LINT1, 0x41); /* fixed: an interrupt, no NMI */
	platform_nmi_line_pulse(&platform);
	assert_false(take_nmi());
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x41);
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_APIC_BASE,
					    APIC_BASE_OFF),
			 0);
	platform_nmi_line_pulse(&platform);
	assert_true(take_nmi());
}

/* ---- the local APIC page while the APIC is off ---- */

static u64 lapic_read_raw(u32 offset, u8 size, int *rc)
{
	const struct mmio_region *r = region(VLAPIC_DEFAULT_MMIO_BASE);
	u64 value = 0x1234;

	*rc = r->read(r->opaque, NULL, offset, size, &value);
	return value;
}

/*
 * With IA32_APIC_BASE.EN clear the page is the bus's: reads give all ones
 * and writes are dropped, never refused (#GP); the same in x2APIC mode
 * (SDM Vol. 3A 11.4.3, 11.12.1). platform_apic_enabled() follows EN.
 */
static void test_lapic_page_while_disabled(void **state)
{
	const struct mmio_region *r = region(VLAPIC_DEFAULT_MMIO_BASE);
	int rc;

	(void)state;
	assert_true(platform_apic_enabled(&platform, NULL));
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_APIC_BASE,
					    APIC_BASE_OFF),
			 0);
	assert_false(platform_apic_enabled(&platform, NULL));
	assert_int_equal(lapic_read_raw(0x30, 4, &rc), ~0ull);
	assert_int_equal(rc, 0);
	assert_int_equal(lapic_read_raw(0x20, 1, &rc), ~0ull);
	assert_int_equal(rc, 0);
	/* Writes, even of sizes the APIC would refuse, do nothing. */
	assert_int_equal(r->write(r->opaque, NULL, 0xf0, 4, 0x1ff), 0);
	assert_int_equal(r->write(r->opaque, NULL, 0xf1, 1, 0xff), 0);
	assert_int_equal(r->write(r->opaque, NULL, 0x300, 4, ICR_NMI), 0);
	assert_false(take_nmi());
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_APIC_BASE, APIC_BASE_ON),
			 0);
	assert_true(platform_apic_enabled(&platform, NULL));
	assert_int_equal(lapic_read(0xf0), 0xff); /* the write was dropped */
	assert_int_equal(lapic_read(0x30), VLAPIC_VERSION);
	/* Enabled, a refused access is still refused (#GP). */
	assert_int_equal(r->write(r->opaque, NULL, 0xf1, 1, 0xff), -1);
	/* x2APIC mode: the page reads all ones too. */
	assert_int_equal(
	    platform_msr_write(&platform, NULL, VLAPIC_MSR_APIC_BASE,
			       APIC_BASE_ON | VLAPIC_APIC_BASE_EXTD),
	    0);
	assert_true(platform_apic_enabled(&platform, NULL));
	assert_int_equal(lapic_read_raw(0x30, 4, &rc), ~0ull);
	assert_int_equal(r->write(r->opaque, NULL, 0xf0, 4, 0), 0);
}

/* ---- ACPI sleep states ---- */

#define PM1A_CNT   0x604
#define SLP_EN	   (1u << 13)
#define SLP_TYP(n) ((u32)(n) << 10)

/*
 * S5 powers off; every other sleep type ends the guest with a reason
 * naming the type (the DSDT offers \_S5 alone), never silently.
 */
static void test_acpi_sleep_requests(void **state)
{
	(void)state;
	/* SLP_TYP without SLP_EN is only stored. */
	iobus_write(&vm.io, PM1A_CNT, 2, SLP_TYP(1));
	assert_int_equal(stop_calls + exit_calls, 0);
	assert_int_equal(iobus_read(&vm.io, PM1A_CNT, 2) & ~1u, SLP_TYP(1));
	for (u32 type = 0; type < 8; type++) {
		if (type == 5)
			continue;
		stop_calls = 0;
		iobus_write(&vm.io, PM1A_CNT, 2, SLP_TYP(type) | SLP_EN);
		assert_int_equal(stop_calls, 1);
		assert_int_equal(exit_calls, 0);
		char want[40];

		snprintf(want, sizeof(want), "ACPI sleep type %u requested",
			 type);
		assert_non_null(strstr(stop_reason, want));
	}
	stop_calls = 0;
	iobus_write(&vm.io, PM1A_CNT, 2, SLP_TYP(5) | SLP_EN);
	assert_int_equal(stop_calls, 0);
	assert_int_equal(exit_calls, 1);
	assert_int_equal(exit_code, 0);
	/* SLP_EN reads 0 (write-only). */
	assert_int_equal(iobus_read(&vm.io, PM1A_CNT, 2) & SLP_EN, 0);
}

/* ---- port 0x92 ---- */

static void test_port_a_fast_reset(void **state)
{
	(void)state;
	assert_int_equal(iobus_read(&vm.io, 0x92, 1), 0x02);
	iobus_write(&vm.io, 0x92, 1, 0x00);
	assert_int_equal(iobus_read(&vm.io, 0x92, 1), 0x00);
	assert_false(platform.reset_requested);
	iobus_write(&vm.io, 0x92, 1, 0x01);
	assert_true(platform.reset_requested);
}

static void test_debug_exit_port(void **state)
{
	(void)state;
	iobus_write(&vm.io, PLATFORM_DEBUG_EXIT_PORT, 4, 7);
	assert_int_equal(exit_calls, 1);
	assert_int_equal(exit_code, 7);
	iobus_write(&vm.io, PLATFORM_DEBUG_EXIT_PORT_LAST, 1, 3);
	assert_int_equal(exit_calls, 2);
	assert_int_equal(exit_code, 3);
	/* Write-only: reads see nothing there. */
	assert_int_equal(iobus_read(&vm.io, PLATFORM_DEBUG_EXIT_PORT, 4),
			 0xffffffff);
	assert_int_equal(exit_calls, 2);
}

/* ---- guest time and timer deadlines ---- */

/* WRMSR IA32_TSC as core/msr.c does it: the TSC and IA32_TSC_ADJUST move. */
static void write_tsc(u64 value)
{
	vm.msr_tsc_adjust += value - guest_tsc;
	guest_tsc = value;
}

/* The platform again, with another TSC frequency. */
static void reinit(u64 tsc_hz_now)
{
	char err[120];

	hz = tsc_hz_now;
	memset(&vm.io, 0, sizeof(vm.io));
	memset(&vm.mmio, 0, sizeof(vm.mmio));
	assert_true(platform_init(&platform, &vm, err, sizeof(err)));
}

/* The 8259 pair as an OS sets it up: base 0x20, only IRQ 0 unmasked. */
static void pic_init_irq0(void)
{
	iobus_write(&vm.io, 0x20, 1, 0x11);
	iobus_write(&vm.io, 0x21, 1, 0x20);
	iobus_write(&vm.io, 0x21, 1, 0x04);
	iobus_write(&vm.io, 0x21, 1, 0x01);
	iobus_write(&vm.io, 0x21, 1, 0xfe);
}

static void pit_mode2(u16 count)
{
	iobus_write(&vm.io, 0x43, 1, 0x34);
	iobus_write(&vm.io, 0x40, 1, count & 0xff);
	iobus_write(&vm.io, 0x40, 1, count >> 8);
}

/*
 * The guest TSC of a deadline is the first at which guest time has reached
 * it, at any TSC frequency: not one tick early (the vCPU would exit for a
 * timer that is not due yet; the fuzz input platform/timer-deadline-tsc-
 * early showed it about 1 ns early per 2^32 ticks), not one tick late.
 */
static void test_deadline_tsc_is_the_exact_inverse(void **state)
{
	static const u64 rates[] = {1000000,	   3579545,
				    999999937,	   2999999989ull,
				    4294967311ull, 16000000000ull};
	static const u64 times[] = {
	    1,		999,	    1000000007,		 5332134897153ull,
	    1ull << 50, 1ull << 60, (1ull << 62) + 12345};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(rates); i++) {
		reinit(rates[i]);
		for (u32 j = 0; j < ARRAY_SIZE(times); j++) {
			unsigned __int128 exact =
			    ((unsigned __int128)times[j] * rates[i] +
			     1000000000 - 1) /
			    1000000000;
			u64 tsc = platform_ns_to_tsc(&platform, times[j]);
			u64 base = platform.tsc_base;

			if (exact > (1ull << 62)) { /* beyond the horizon */
				assert_int_equal(tsc, 0);
				continue;
			}
			assert_int_equal(tsc - base, (u64)exact);
			guest_tsc = tsc;
			assert_true(platform_now_ns(&platform) >= times[j]);
			guest_tsc = tsc - 1;
			assert_true(platform_now_ns(&platform) < times[j]);
		}
		guest_tsc = 1000;
	}
}

/*
 * A deadline a few ticks ahead that falls due while the platform turns it
 * into a TSC (the guest's clock runs on between two readings, as on a
 * busy host): its TSC, never "none". Before the fix the horizon check
 * read the clock twice, the second reading was past the deadline, the
 * difference wrapped to nearly 2^64 and the deadline was dropped: a
 * halted guest was stopped for having no interrupt source armed.
 */
static void test_deadline_falling_due_meanwhile_is_kept(void **state)
{
	u64 now_ns, tsc;

	(void)state;
	reinit(TSC_HZ);
	guest_tsc = platform.tsc_base + 1000000;
	now_ns = platform_now_ns(&platform);
	guest_tsc_step = 7;
	tsc = platform_ns_to_tsc(&platform, now_ns + 2);
	guest_tsc_step = 0;
	assert_int_equal(tsc, platform.tsc_base + 1000002);
}

/*
 * The chaos guest's "tsc-write": IA32_TSC set to 0x74073ff27130481e with
 * the PIT running. Device time does not move; each deadline the platform
 * gives, once reached, has the PIT fire and gives the next one ahead of
 * the TSC (before the fix: a deadline always past, the vCPU exiting for
 * ever). Then near 2^64 and near 0: the deadline wraps with the TSC.
 */
static void test_tsc_write_moves_no_device_time(void **state)
{
	static const u64 values[] = {0x74073ff27130481eull, ~0ull - 300000, 5,
				     1000};
	u64 tsc, ahead;

	(void)state;
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_APIC_BASE,
					    APIC_BASE_OFF),
			 0);
	pic_init_irq0();
	pit_mode2(1193); /* 1 ms */
	tsc = platform_advance(&platform, NULL);
	ahead = tsc - guest_tsc;
	assert_true(ahead > 1000000 && ahead <= 1001000); /* 1194 clocks */
	for (u32 i = 0; i < ARRAY_SIZE(values); i++) {
		u64 now_ns = platform_now_ns(&platform);

		write_tsc(values[i]);
		assert_int_equal(platform_now_ns(&platform), now_ns);
		assert_false(platform_timer_due(&platform));
		tsc = platform_advance(&platform, NULL);
		assert_true(tsc - guest_tsc > 0 && tsc - guest_tsc <= ahead);
		for (int tick = 0; tick < 3; tick++) {
			guest_tsc = tsc;
			assert_true(platform_timer_due(&platform));
			tsc = platform_advance(&platform, NULL);
			assert_false(platform_timer_due(&platform));
			/* The guest takes it, so the next one counts. */
			assert_int_equal(
			    platform_take_interrupt(&platform, NULL), 0x20);
			iobus_write(&vm.io, 0x20, 1, 0x20);
			tsc = platform_advance(&platform, NULL);
			assert_true(tsc - guest_tsc > 0 &&
				    tsc - guest_tsc <= 1001000);
		}
		ahead = tsc - guest_tsc;
	}
	/* IA32_TSC_ADJUST moves the TSC the same way: no device time. */
	{
		u64 now_ns = platform_now_ns(&platform);

		vm.msr_tsc_adjust += 1ull << 63;
		guest_tsc += 1ull << 63;
		assert_int_equal(platform_now_ns(&platform), now_ns);
		assert_int_equal(platform_advance(&platform, NULL) - guest_tsc,
				 ahead);
	}
}

/*
 * The TSC-deadline timer compares against the TSC, so a TSC write moves
 * it: past its deadline it fires at the next platform_advance(), back
 * before it the deadline stays the same TSC value.
 */
static void test_tsc_deadline_after_a_tsc_write(void **state)
{
	u64 deadline;

	(void)state;
	guest_tsc = 1ull << 40;
	lapic_write(0xf0, 0x1ff);
	lapic_write(0x320, (2u << 17) | 0x40); /* TSC-deadline, vector 0x40 */
	deadline = guest_tsc + 1000000;
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_TSC_DEADLINE, deadline),
			 0);
	assert_int_equal(platform_advance(&platform, NULL), deadline);
	write_tsc(guest_tsc - 5000000); /* back: 6 ms to go */
	assert_int_equal(platform_advance(&platform, NULL), deadline);
	assert_false(platform_interrupt_pending(&platform, NULL));
	write_tsc(deadline + 1); /* past it */
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x40);
	/* A deadline of 2^64 - 1 from a TSC far below: never. */
	write_tsc(0x74073ff27130481eull);
	assert_int_equal(
	    platform_msr_write(&platform, NULL, VLAPIC_MSR_TSC_DEADLINE, ~0ull),
	    0);
	assert_int_equal(platform_advance(&platform, NULL), 0);
}

/*
 * The chaos guest's "pit-12us": the PIT at count 15 (12.6 us) with IRQ 0
 * unmasked while the guest keeps interrupts off. Once the 8259 holds the
 * request, further pulses change nothing: no deadline (the vCPU runs on),
 * until the guest takes it; then the next pulse comes at least 500 us
 * after the last (VPIT_MIN_IRQ_PERIOD_NS).
 */
static void test_pit_held_while_irq0_waits_at_the_8259(void **state)
{
	u64 tsc, taken;

	(void)state;
	assert_int_equal(platform_msr_write(&platform, NULL,
					    VLAPIC_MSR_APIC_BASE,
					    APIC_BASE_OFF),
			 0);
	pic_init_irq0();
	pit_mode2(15);
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc > guest_tsc && tsc - guest_tsc < 14000); /* 16 clocks */
	guest_tsc = tsc;
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_true(platform_interrupt_pending(&platform, NULL));
	guest_tsc += 10000000; /* 10 ms with interrupts off: no exit */
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x20);
	taken = guest_tsc;
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc - taken >= 500000 && tsc - taken <= 514000);
	/* Not before the EOI either: the next request waits in IRR again. */
	guest_tsc = tsc;
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_false(platform_interrupt_pending(&platform, NULL));
	iobus_write(&vm.io, 0x20, 1, 0x20);
	assert_true(platform_interrupt_pending(&platform, NULL));
	/* IRQ 0 masked at the 8259 still latches: held just the same. */
	iobus_write(&vm.io, 0x21, 1, 0xff);
	assert_int_equal(platform_advance(&platform, NULL), 0);
}

/*
 * The chaos guest's seed 1 on VT-x: the PIT at its fastest routed as an
 * NMI (IOAPIC pin 2 in NMI mode). The next pulse is counted from the
 * moment the guest takes the NMI, not from the pulse: exits after the
 * pulse (the NMI window's) count as guest time, and a floor counted from
 * the pulse left the guest no instruction between NMIs (vpit_irq_taken).
 * An NMI from anywhere else moves nothing.
 */
static void test_pit_nmi_next_pulse_counted_from_its_delivery(void **state)
{
	u64 tsc, taken;

	(void)state;
	ioapic_route(2, RTE_NMI);
	pit_mode2(1);
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc > guest_tsc);
	guest_tsc = tsc;
	platform_advance(&platform, NULL);
	assert_true(platform_nmi_pending(&platform, NULL));
	/* 400 us go by in exits before the NMI window opens. */
	guest_tsc += 400000;
	taken = guest_tsc;
	assert_true(take_nmi());
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc - taken >= 500000 && tsc - taken <= 502000);
	/* The next pulse: its NMI, taken at once, moves the floor again. */
	guest_tsc = tsc;
	platform_advance(&platform, NULL);
	assert_true(platform_nmi_pending(&platform, NULL));
	assert_true(take_nmi());
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc - guest_tsc >= 500000 && tsc - guest_tsc <= 502000);
	/* An NMI IPI to itself is not the PIT's: the deadline stays. */
	lapic_write(0xf0, 0x1ff);
	guest_tsc += 100000;
	lapic_write(ICR_LOW, ICR_NMI | ICR_SELF);
	assert_true(take_nmi());
	assert_int_equal(platform_advance(&platform, NULL), tsc);
}

/* The same through the IOAPIC: the vector waits in the local APIC's IRR. */
static void test_pit_held_while_its_vector_waits_in_the_apic(void **state)
{
	u64 tsc;

	(void)state;
	lapic_write(0xf0, 0x1ff);
	ioapic_route(2, 0x30);
	pit_mode2(1193);
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc > guest_tsc);
	guest_tsc = tsc;
	assert_int_equal(platform_advance(&platform, NULL), 0);
	guest_tsc += 5000000;
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x30);
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc - guest_tsc >= 500000 && tsc - guest_tsc <= 1500000);
	/* An unmasked level entry is not a held one: the deadline stays. */
	ioapic_route(2, 0x30 | 0x8000);
	guest_tsc = tsc;
	assert_true(platform_advance(&platform, NULL) > guest_tsc);
}

/* The local APIC timer, periodic, while its vector waits in IRR. */
static void test_lapic_periodic_held_while_its_vector_waits(void **state)
{
	u64 tsc;

	(void)state;
	lapic_write(0xf0, 0x1ff);
	lapic_write(0x3e0, 0xb);	       /* divide by 1: 1 ns a count */
	lapic_write(0x320, (1u << 17) | 0x50); /* periodic, vector 0x50 */
	lapic_write(0x380, 20);		       /* 20 ns */
	tsc = platform_advance(&platform, NULL);
	assert_int_equal(tsc, guest_tsc + 20);
	guest_tsc = tsc;
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_true(platform_interrupt_pending(&platform, NULL));
	guest_tsc += 1000000;
	assert_int_equal(platform_advance(&platform, NULL), 0);
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x50);
	tsc = platform_advance(&platform, NULL);
	assert_true(tsc - guest_tsc >= 500000 && tsc - guest_tsc <= 500020);
}

/* ---- virtual-interrupt delivery (VT-x APICv, platform_virt_*) ---- */

/* vCPU 0's APIC into x2APIC mode, software-enabled. */
static void x2apic_on(void)
{
	assert_int_equal(
	    platform_msr_write(&platform, NULL, VLAPIC_MSR_APIC_BASE,
			       VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_BSP |
				   VLAPIC_APIC_BASE_EN | VLAPIC_APIC_BASE_EXTD),
	    0);
	assert_int_equal(platform_msr_write(&platform, NULL, 0x80f, 0x1ff), 0);
}

static void test_virt_wanted_for_one_enabled_x2apic(void **state)
{
	(void)state;
	lapic_write(0xf0, 0x1ff);
	assert_false(platform_virt_want(&platform, NULL, true)); /* xAPIC */
	x2apic_on();
	assert_false(platform_virt_want(&platform, NULL, false)); /* no CPU */
	assert_true(platform_virt_want(&platform, NULL, true));
	assert_int_equal(platform_msr_write(&platform, NULL, 0x80f, 0xff), 0);
	assert_false(platform_virt_want(&platform, NULL, true)); /* SVR off */
}

/*
 * While the CPU delivers, the APIC's vectors are not the run loop's: not
 * pending for injection, not taken, but they wake a HLT; the state goes
 * to the CPU and what it did comes back.
 */
static void test_virt_leaves_the_apic_to_the_cpu(void **state)
{
	struct apic_virt_state s;

	(void)state;
	x2apic_on();
	assert_true(platform_virt_want(&platform, NULL, true));
	assert_int_equal(platform_msr_write(&platform, NULL, 0x83f, 0x61), 0);
	assert_false(platform_interrupt_pending(&platform, NULL));
	assert_true(platform_interrupt_wakes(&platform, NULL));
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
	platform_virt_get(&platform, NULL, &s);
	assert_int_equal(s.irr[3], 1u << 1);
	s.irr[3] = 0; /* delivered and EOIed by the CPU */
	assert_true(platform_virt_put(&platform, NULL, &s));
	assert_false(platform_interrupt_wakes(&platform, NULL));
	/* Without the CPU's help the loop injects it again. */
	assert_int_equal(platform_msr_write(&platform, NULL, 0x83f, 0x62), 0);
	assert_false(platform_virt_want(&platform, NULL, false));
	assert_true(platform_interrupt_pending(&platform, NULL));
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x62);
}

/* A periodic timer whose vector waits is not held: the CPU may take it. */
static void test_virt_periodic_timer_not_held(void **state)
{
	u64 tsc;

	(void)state;
	x2apic_on();
	assert_true(platform_virt_want(&platform, NULL, true));
	assert_int_equal(platform_msr_write(&platform, NULL, 0x83e, 0xb), 0);
	assert_int_equal(
	    platform_msr_write(&platform, NULL, 0x832, (1u << 17) | 0x50), 0);
	assert_int_equal(platform_msr_write(&platform, NULL, 0x838, 20), 0);
	tsc = platform_advance(&platform, NULL);
	assert_int_equal(tsc, guest_tsc + 20);
	guest_tsc = tsc;
	/* Expired, 0x50 in IRR: the next period still has its deadline. */
	assert_true(platform_advance(&platform, NULL) != 0);
}

/* ---- a guest with several vCPUs (issue 11) ---- */

#define SMP_VCPUS 4
static struct vcpu smp_vcpu[SMP_VCPUS];

/* Four vCPUs: vCPU 0 runs, the others wait for a SIPI, as at power-on. */
static int setup_smp(void **state)
{
	char err[120];

	memset(smp_vcpu, 0, sizeof(smp_vcpu));
	vm.vcpu_count = SMP_VCPUS;
	for (u32 i = 0; i < SMP_VCPUS; i++) {
		smp_vcpu[i].vm = &vm;
		smp_vcpu[i].index = i;
		smp_vcpu[i].mp_state = i ? VCPU_MP_WAIT_SIPI : VCPU_MP_RUNNABLE;
		vm.vcpus[i] = &smp_vcpu[i];
	}
	setup(state);
	vm.vcpu_count = SMP_VCPUS;
	for (u32 i = 0; i < SMP_VCPUS; i++)
		vm.vcpus[i] = &smp_vcpu[i];
	vm.io.count = 0;
	vm.mmio.count = 0;
	assert_true(platform_init(&platform, &vm, err, sizeof(err)));
	assert_int_equal(platform.vcpus, SMP_VCPUS);
	return 0;
}

static void lapic_write_on(u32 cpu, u32 offset, u32 value)
{
	const struct mmio_region *r = region(VLAPIC_DEFAULT_MMIO_BASE);

	assert_int_equal(r->write(r->opaque, &smp_vcpu[cpu], offset, 4, value),
			 0);
}

/* Every APIC software-enabled, in flat logical mode with LDR bit i. */
static void smp_enable_all(void)
{
	for (u32 i = 0; i < SMP_VCPUS; i++) {
		lapic_write_on(i, 0xf0, 0x1ff);
		lapic_write_on(i, 0xe0, 0xffffffff);	 /* DFR: flat */
		lapic_write_on(i, 0xd0, 1u << (24 + i)); /* LDR */
	}
	woken = 0;
}

/* An IPI from `from` through its xAPIC ICR. */
static void send_ipi(u32 from, u8 dest, u32 icr_low)
{
	lapic_write_on(from, 0x310, (u32)dest << 24);
	lapic_write_on(from, 0x300, icr_low);
}

/* Which vCPUs have `vector` to take now, a bit each (taken: IRR->ISR). */
static u32 took(u8 vector)
{
	u32 set = 0;

	for (u32 i = 0; i < SMP_VCPUS; i++) {
		int v = platform_take_interrupt(&platform, &smp_vcpu[i]);

		if (v == vector) {
			set |= 1u << i;
			lapic_write_on(i, 0xb0, 0); /* EOI */
		} else {
			assert_int_equal(v, -1);
		}
	}
	return set;
}

static void test_smp_ipi_destinations(void **state)
{
	(void)state;
	smp_enable_all();
	/* Physical: APIC ID 2 alone, and it is woken. */
	send_ipi(0, 2, 0x40);
	assert_int_equal(woken, 1u << 2);
	assert_int_equal(took(0x40), 1u << 2);
	/* Logical flat: LDR bits of vCPUs 1 and 3. */
	send_ipi(0, 0x0a, 0x800 | 0x41);
	assert_int_equal(took(0x41), 0x0a);
	/* The shorthands from vCPU 1: self, all, all but self. */
	lapic_write_on(1, 0x300, (1u << 18) | 0x42);
	assert_int_equal(took(0x42), 1u << 1);
	lapic_write_on(1, 0x300, (2u << 18) | 0x43);
	assert_int_equal(took(0x43), 0x0f);
	lapic_write_on(1, 0x300, (3u << 18) | 0x44);
	assert_int_equal(took(0x44), 0x0d);
	/* Physical broadcast 0xFF reaches every APIC, the sender's too. */
	send_ipi(3, 0xff, 0x45);
	assert_int_equal(took(0x45), 0x0f);
	assert_int_equal(smp_vcpu[3].ipis_dropped, 0);
}

/* Logical cluster mode: cluster 0 bits 0-3 (SDM Vol. 3A 11.6.2.2). */
static void test_smp_ipi_logical_cluster(void **state)
{
	(void)state;
	smp_enable_all();
	for (u32 i = 0; i < SMP_VCPUS; i++) {
		lapic_write_on(i, 0xe0, 0x0fffffff); /* DFR: cluster */
		lapic_write_on(i, 0xd0,
			       (0x10u | (1u << i)) << 24); /* cluster 1 */
	}
	/* Cluster 1, members 0 and 2 (bits 0 and 2 of the low nibble). */
	send_ipi(1, 0x15, 0x800 | 0x50);
	assert_int_equal(took(0x50), 0x05);
	/* Cluster 2: nobody. Dropped and counted. */
	send_ipi(1, 0x2f, 0x800 | 0x51);
	assert_int_equal(took(0x51), 0);
	assert_int_equal(smp_vcpu[1].ipis_dropped, 1);
}

/* Lowest priority to a set goes to exactly one; the lowest PPR wins. */
static void test_smp_lowest_priority(void **state)
{
	(void)state;
	smp_enable_all();
	for (u32 n = 0; n < 6; n++) {
		u32 got;

		send_ipi(0, 0x06, 0x800 | 0x100 | 0x60);
		got = took(0x60);
		assert_true(got == 0x02 || got == 0x04);
	}
	/* vCPU 1 raises its TPR: vCPU 2 takes every one. */
	lapic_write_on(1, 0x80, 0x50);
	for (u32 n = 0; n < 3; n++) {
		send_ipi(0, 0x06, 0x800 | 0x100 | 0x61);
		assert_int_equal(took(0x61), 0x04);
	}
}

/* NMI IPIs: to one APIC, and to all but the sender. */
static void test_smp_nmi_ipi(void **state)
{
	(void)state;
	smp_enable_all();
	send_ipi(0, 3, 0x400);
	for (u32 i = 0; i < SMP_VCPUS; i++)
		assert_int_equal(platform_nmi_pending(&platform, &smp_vcpu[i]),
				 i == 3);
	assert_true(woken & (1u << 3));
	assert_true(platform_take_nmi(&platform, &smp_vcpu[3]));
	lapic_write_on(2, 0x300, (3u << 18) | 0x400);
	for (u32 i = 0; i < SMP_VCPUS; i++)
		assert_int_equal(platform_take_nmi(&platform, &smp_vcpu[i]),
				 i != 2);
}

/*
 * INIT and STARTUP (SDM Vol. 3A 9.4.4, 11.6.1): a waiting vCPU takes the
 * first SIPI and ignores the second; a running one ignores a SIPI; INIT
 * makes a running one wait (and leave its loop); an INIT de-assert does
 * nothing.
 */
static void test_smp_init_and_sipi(void **state)
{
	(void)state;
	smp_enable_all();
	send_ipi(0, 1, 0x600 | 0x08); /* SIPI, vector 8: starts at 0x8000 */
	assert_int_equal(smp_vcpu[1].mp_state, VCPU_MP_SIPI_RECEIVED);
	assert_int_equal(smp_vcpu[1].sipi_vector, 0x08);
	send_ipi(0, 1, 0x600 | 0x09); /* the second of the pair: ignored */
	assert_int_equal(smp_vcpu[1].sipi_vector, 0x08);
	/* vCPU 1 runs now: a SIPI is ignored, an INIT stops it. */
	smp_vcpu[1].mp_state = VCPU_MP_RUNNABLE;
	send_ipi(0, 1, 0x600 | 0x0a);
	assert_int_equal(smp_vcpu[1].mp_state, VCPU_MP_RUNNABLE);
	send_ipi(0, 1, 0x8000 | 0x500); /* INIT level de-assert */
	assert_int_equal(smp_vcpu[1].mp_state, VCPU_MP_RUNNABLE);
	assert_false(smp_vcpu[1].init_pending);
	send_ipi(0, 1, 0x4000 | 0x500); /* INIT, assert */
	assert_int_equal(smp_vcpu[1].mp_state, VCPU_MP_WAIT_SIPI);
	assert_true(smp_vcpu[1].init_pending);
	assert_true(woken & (1u << 1));
	/* INIT put its APIC back: software-disabled (SVR 0xFF). */
	lapic_write_on(1, 0x310, 0);
	assert_int_equal(platform_take_interrupt(&platform, &smp_vcpu[1]), -1);
	/* INIT to all but self from vCPU 0: every other vCPU waits. */
	smp_vcpu[2].mp_state = VCPU_MP_RUNNABLE;
	lapic_write_on(0, 0x300, (3u << 18) | 0x4000 | 0x500);
	for (u32 i = 1; i < SMP_VCPUS; i++)
		assert_int_equal(smp_vcpu[i].mp_state, VCPU_MP_WAIT_SIPI);
	assert_int_equal(smp_vcpu[0].mp_state, VCPU_MP_RUNNABLE);
}

/* x2APIC: one WRMSR to the ICR (0x830), 32-bit destination. */
static void test_smp_x2apic_icr(void **state)
{
	(void)state;
	smp_enable_all();
	for (u32 i = 0; i < SMP_VCPUS; i++)
		assert_int_equal(
		    platform_msr_write(
			&platform, &smp_vcpu[i], VLAPIC_MSR_APIC_BASE,
			VLAPIC_DEFAULT_MMIO_BASE | VLAPIC_APIC_BASE_EN |
			    VLAPIC_APIC_BASE_EXTD |
			    (i ? 0 : VLAPIC_APIC_BASE_BSP)),
		    0);
	assert_int_equal(platform_msr_write(&platform, &smp_vcpu[1], 0x830,
					    (3ull << 32) | 0x70),
			 0);
	assert_int_equal(took(0x70), 1u << 3);
	/* Logical x2APIC: cluster 0, bits 0 and 2 (LDR is read-only). */
	assert_int_equal(platform_msr_write(&platform, &smp_vcpu[3], 0x830,
					    (0x5ull << 32) | 0x800 | 0x71),
			 0);
	assert_int_equal(took(0x71), 0x05);
	/* An APIC ID no vCPU has: dropped, counted. */
	assert_int_equal(platform_msr_write(&platform, &smp_vcpu[0], 0x830,
					    (0x1000ull << 32) | 0x72),
			 0);
	assert_int_equal(took(0x72), 0);
	assert_int_equal(smp_vcpu[0].ipis_dropped, 1);
	/* Another vCPU would write a running one's APIC: no APICv. */
	assert_false(platform_virt_want(&platform, &smp_vcpu[0], true));
}

/*
 * The IOAPIC routes to any vCPU by destination, and the 8259s reach vCPU
 * 0 alone (through its LINT0), which they wake when another vCPU's exit
 * raised their INTR.
 */
static void test_smp_ioapic_and_8259(void **state)
{
	const struct mmio_region *r = region(PLATFORM_IOAPIC_BASE);

	(void)state;
	smp_enable_all();
	/* Pin 4 (the UART) to APIC ID 2, vector 0x80, edge. */
	r->write(r->opaque, NULL, 0x00, 4, 0x11 + 2 * 4);
	r->write(r->opaque, NULL, 0x10, 4, 2u << 24);
	r->write(r->opaque, NULL, 0x00, 4, 0x10 + 2 * 4);
	r->write(r->opaque, NULL, 0x10, 4, 0x80);
	iobus_write(&vm.io, 0x21, 1, 0xff); /* 8259: all masked */
	uart_irq();
	assert_true(woken & (1u << 2));
	assert_int_equal(took(0x80), 1u << 2);
	/* The 8259 only: LINT0 ExtINT on every APIC, IOAPIC pin masked. */
	r->write(r->opaque, NULL, 0x00, 4, 0x10 + 2 * 4);
	r->write(r->opaque, NULL, 0x10, 4, 0x10000);
	for (u32 i = 0; i < SMP_VCPUS; i++)
		lapic_write_on(i, 0x350, 0x700);
	iobus_write(&vm.io, 0x20, 1, 0x11); /* ICW1..4: base 0x20 */
	iobus_write(&vm.io, 0x21, 1, 0x20);
	iobus_write(&vm.io, 0x21, 1, 0x04);
	iobus_write(&vm.io, 0x21, 1, 0x01);
	iobus_write(&vm.io, 0x21, 1, 0xef);
	woken = 0;
	vuart_read(&vm.uart, 0); /* the byte taken: the line falls */
	uart_irq();
	assert_true(woken & 1u);
	for (u32 i = 1; i < SMP_VCPUS; i++)
		assert_false(
		    platform_interrupt_pending(&platform, &smp_vcpu[i]));
	assert_int_equal(platform_take_interrupt(&platform, &smp_vcpu[0]),
			 0x24);
}

/* ---- the NIC: interrupts from other CPUs, the switch port ---- */

static const u8 nic_mac[6] = {0x02, 0x56, 0x4e, 0x00, 0x00, 0x01};

static int setup_nic(void **state)
{
	(void)state;
	platform_detach(&platform); /* a NIC of the test before */
	boot_guest("nic", nic_mac);
	return 0;
}

static int teardown_nic(void **state)
{
	(void)state;
	platform_detach(&platform);
	return 0;
}

/*
 * A frame's MSI, raised on the sender's CPU: nothing reaches the local
 * APIC there, vCPU 0 is woken, and the guest's own CPU delivers it at
 * platform_advance; two alike before then are one interrupt.
 */
static void test_nic_msi_waits_for_the_guests_cpu(void **state)
{
	struct virtio_host *h = &platform.nic.net.vp.host;

	(void)state;
	assert_true(platform.has_nic);
	assert_int_equal(platform.nic.net.vp.slot, PLATFORM_NET_SLOT);
	lapic_write(0xf0, 0x1ff); /* SVR: enabled */
	assert_false(platform_async_pending(&platform));
	h->msi(h->ctx, 0xfee00000, 0x41);
	h->msi(h->ctx, 0xfee00000, 0x41);
	h->msi(h->ctx, 0xfee00000, 0x42);
	assert_int_equal(woken, 1);
	assert_true(platform_async_pending(&platform));
	assert_int_equal(vlapic_pending_vector(&platform.lapic[0]), -1);
	platform_advance(&platform, NULL);
	assert_false(platform_async_pending(&platform));
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x42);
	lapic_write(0xb0, 0); /* EOI */
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x41);
	lapic_write(0xb0, 0);
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
	/* Nothing waits: advancing again delivers nothing more. */
	platform_advance(&platform, NULL);
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
}

/* INTx the same way: the IOAPIC pin rises on the guest's CPU only. */
static void test_nic_intx_waits_for_the_guests_cpu(void **state)
{
	struct virtio_pci *vp = &platform.nic.net.vp;
	u8 pin = (u8)acpi_tables_pci_gsi(PLATFORM_NET_SLOT, 0);

	(void)state;
	lapic_write(0xf0, 0x1ff);
	ioapic_route(pin, 0x8051); /* vector 0x51, level */
	vp->intx_level = true;
	vp->host.intx(vp->host.ctx, vp, true);
	assert_int_equal(woken, 1);
	assert_int_equal(platform_take_interrupt(&platform, NULL), -1);
	platform_advance(&platform, NULL);
	assert_int_equal(platform_take_interrupt(&platform, NULL), 0x51);
}

/* One MAC, one NIC: a second guest with it is refused until the first is
 * off the switch; a reset (platform_init again) keeps the port. */
static void test_nic_mac_is_one_ports(void **state)
{
	static struct platform other;
	static struct vm vm2;
	char err[160];

	(void)state;
	memset(&vm2, 0, sizeof(vm2));
	str_copy(vm2.name, "two", sizeof(vm2.name));
	vm2.ram_size = 16 << 20;
	vm2.platform = &other;
	vm2.virtio_net = true;
	memcpy(vm2.mac, nic_mac, sizeof(nic_mac));
	vuart_init(&vm2.uart, NULL, NULL);
	assert_false(platform_init(&other, &vm2, err, sizeof(err)));
	assert_string_equal(err, "virtio-net: MAC 02:56:4e:00:00:01 is "
				 "another guest's NIC's (or the switch has "
				 "no free port)");
	platform_detach(&other);
	/* The first guest reset: still its MAC. */
	vm.mmio.count = 0;
	vm.io.count = 0;
	assert_true(platform_init(&platform, &vm, err, sizeof(err)));
	assert_false(platform_init(&other, &vm2, err, sizeof(err)));
	platform_detach(&other);
	platform_detach(&platform);
	vm2.mmio.count = 0;
	vm2.io.count = 0;
	assert_true(platform_init(&other, &vm2, err, sizeof(err)));
	platform_detach(&other);
	/* A multicast MAC is no NIC's. */
	vm2.mac[0] = 0x01;
	vm2.mmio.count = 0;
	vm2.io.count = 0;
	assert_false(platform_init(&other, &vm2, err, sizeof(err)));
	assert_string_equal(err, "virtio-net: 01:56:4e:00:00:01 is not a "
				 "NIC's MAC (unicast, not all zeros)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_pic_with_base_0_gives_vector_0, setup),
	    cmocka_unit_test_setup(test_extint_through_lint0, setup),
	    cmocka_unit_test_setup(test_ioapic_vector_below_16_is_refused,
				   setup),
	    cmocka_unit_test_setup(test_lapic_sources_below_16_are_refused,
				   setup),
	    cmocka_unit_test_setup(test_random_programming_gives_valid_vectors,
				   setup),
	    cmocka_unit_test_setup(test_nmi_ipi_to_self, setup),
	    cmocka_unit_test_setup(test_nmi_from_ioapic, setup),
	    cmocka_unit_test_setup(test_nmi_line_through_lint1, setup),
	    cmocka_unit_test_setup(test_lapic_page_while_disabled, setup),
	    cmocka_unit_test_setup(test_acpi_sleep_requests, setup),
	    cmocka_unit_test_setup(test_port_a_fast_reset, setup),
	    cmocka_unit_test_setup(test_debug_exit_port, setup),
	    cmocka_unit_test(test_deadline_falling_due_meanwhile_is_kept),
	    cmocka_unit_test_setup(test_deadline_tsc_is_the_exact_inverse,
				   setup),
	    cmocka_unit_test_setup(test_tsc_write_moves_no_device_time, setup),
	    cmocka_unit_test_setup(test_tsc_deadline_after_a_tsc_write, setup),
	    cmocka_unit_test_setup(test_pit_held_while_irq0_waits_at_the_8259,
				   setup),
	    cmocka_unit_test_setup(
		test_pit_nmi_next_pulse_counted_from_its_delivery, setup),
	    cmocka_unit_test_setup(
		test_pit_held_while_its_vector_waits_in_the_apic, setup),
	    cmocka_unit_test_setup(
		test_lapic_periodic_held_while_its_vector_waits, setup),
	    cmocka_unit_test_setup(test_virt_wanted_for_one_enabled_x2apic,
				   setup),
	    cmocka_unit_test_setup(test_virt_leaves_the_apic_to_the_cpu, setup),
	    cmocka_unit_test_setup(test_virt_periodic_timer_not_held, setup),
	    cmocka_unit_test_setup(test_smp_ipi_destinations, setup_smp),
	    cmocka_unit_test_setup(test_smp_ipi_logical_cluster, setup_smp),
	    cmocka_unit_test_setup(test_smp_lowest_priority, setup_smp),
	    cmocka_unit_test_setup(test_smp_nmi_ipi, setup_smp),
	    cmocka_unit_test_setup(test_smp_init_and_sipi, setup_smp),
	    cmocka_unit_test_setup(test_smp_x2apic_icr, setup_smp),
	    cmocka_unit_test_setup(test_smp_ioapic_and_8259, setup_smp),
	    cmocka_unit_test_setup_teardown(
		test_nic_msi_waits_for_the_guests_cpu, setup_nic, teardown_nic),
	    cmocka_unit_test_setup_teardown(
		test_nic_intx_waits_for_the_guests_cpu, setup_nic,
		teardown_nic),
	    cmocka_unit_test_setup_teardown(test_nic_mac_is_one_ports,
					    setup_nic, teardown_nic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
