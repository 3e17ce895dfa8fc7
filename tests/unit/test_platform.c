/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/platform.c, the wiring of the virtual PC: what vector
 * platform_take_interrupt() hands the core (issue 10, bug 1), and the
 * debug-exit port. The vm functions platform.c calls are stubs here; guest
 * time is a counter the tests move (1 tick = 1 ns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/platform.h"
#include "core/vm.h"
#include "arch/x86/tsc.h"

#define TSC_HZ 1000000000ull

/* ---- stubs for what the platform calls outside core/vdev ---- */

static u64 guest_tsc;
static u32 exit_calls, exit_code;

u64 vm_guest_tsc(const struct vm *vm)
{
	(void)vm;
	return guest_tsc;
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

u64 tsc_hz(void)
{
	return TSC_HZ;
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

/* ---- a guest with the platform ---- */

static struct vm vm;
static struct platform platform;

static int setup(void **state)
{
	char err[120];

	(void)state;
	memset(&vm, 0, sizeof(vm));
	str_copy(vm.name, "test", sizeof(vm.name));
	vm.ram_size = 16 << 20;
	vm.platform = &platform;
	vuart_init(&vm.uart, NULL, NULL);
	guest_tsc = 1000;
	exit_calls = exit_code = 0;
	assert_true(platform_init(&platform, &vm, err, sizeof(err)));
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
			from_lapic = vlapic_pending_vector(&platform.lapic);
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
	    cmocka_unit_test_setup(test_debug_exit_port, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
