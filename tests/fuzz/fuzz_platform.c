/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the whole virtual PC (core/platform.c) as a guest reaches
 * it: port I/O of every width through the guest's I/O bus, MMIO of every
 * size to the local APIC and IOAPIC pages through their regions, the
 * local APIC MSRs, console input, the board's NMI line, guest time
 * (steps), WRMSR of IA32_TSC and IA32_TSC_ADJUST to any value (as
 * core/msr.c does them), and the run loop's calls between two entries:
 * platform_advance(), then the interrupt and NMI the vCPU would take (and
 * platform_advance() again after taking one, as core/vcpu.c does). The vm
 * functions platform.c calls are stubs, as in tests/unit/test_platform.c;
 * the TSC frequency comes from the input.
 *
 * Checked: a port read is as wide as the access; an interrupt handed to
 * the core is 0-255, a local APIC one never below 16, and exactly what
 * platform_interrupt_pending() announced; a TSC write moves no device
 * time; after platform_advance() no timer is due any more (else the vCPU
 * would exit again at once, for ever), and the guest TSC it returns is
 * ahead of the guest's TSC (by at most the horizon, however the TSC was
 * set) and exactly the first TSC at which guest time reaches the
 * deadline; a vCPU that runs to that TSC finds a timer due there (a timer
 * exit is never for nothing).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/tsc.h"
#include "core/platform.h"
#include "core/vdev/acpi_tables.h"
#include "core/vm.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/host_printk.h"

/* ---- stubs for what the platform calls outside core/vdev ---- */

static u64 guest_tsc, hz;

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
	(void)code;
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	(void)vm;
	(void)fmt;
}

/* One vCPU here: the platform wakes nobody else (core/vm.h). */
void vm_wake_vcpu(struct vm *vm, u32 index)
{
	(void)vm;
	(void)index;
}

u64 tsc_hz(void)
{
	return hz;
}

u64 tsc_from_us(u64 us)
{
	return (u64)((unsigned __int128)us * hz / 1000000);
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

/* ---- the guest ---- */

static struct vm vm;
static struct platform platform;

static const struct mmio_region *region(u64 base)
{
	for (u32 i = 0; i < vm.mmio.count; i++)
		if (vm.mmio.regions[i].base == base)
			return &vm.mmio.regions[i];
	FUZZ_CHECK(false, "no MMIO region at 0x%llx", (unsigned long long)base);
	return NULL;
}

static u16 pick_port(struct fuzz_in *in)
{
	static const u16 ports[] = {
	    0x20,  0x21,  0xa0,	 0xa1,	0x4d0, 0x4d1, 0x40,  0x41,  0x42,
	    0x43,  0x61,  0x70,	 0x71,	0xcf8, 0xcfc, 0xcfd, 0xcfe, 0xcff,
	    0x60,  0x64,  0x92,	 0x600, 0x601, 0x602, 0x603, 0x604, 0x605,
	    0x608, 0x609, 0x60a, 0xf4,	0x3f8, 0x80,  0xffff};
	u8 how = fuzz_u8(in);

	return how < 240 ? ports[how % ARRAY_SIZE(ports)] : fuzz_u16(in);
}

static u8 pick_size(struct fuzz_in *in, bool mmio)
{
	static const u8 io_sizes[] = {1, 2, 4};
	static const u8 mmio_sizes[] = {4, 4, 1, 2, 8};

	return mmio ? FUZZ_PICK(in, mmio_sizes) : FUZZ_PICK(in, io_sizes);
}

static u32 all_ones(u8 size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

/*
 * platform_advance() and its promises: nothing due afterwards; the TSC it
 * returns is 0 (none, or beyond the horizon) or ahead of the guest's TSC
 * by at most PLATFORM_TSC_HORIZON, modulo 2^64, and exactly where guest
 * time reaches the deadline (not one tick early or late).
 */
static u64 advance(void)
{
	u64 tsc = platform_advance(&platform, NULL);
	u64 deadline = platform_next_deadline_ns(&platform, NULL);
	u64 saved = guest_tsc, now_ns;

	FUZZ_CHECK(!platform_timer_due(&platform),
		   "a timer is still due after platform_advance() at %llu ns "
		   "(next deadline %llu ns): the vCPU would exit for ever",
		   (unsigned long long)platform_now_ns(&platform),
		   (unsigned long long)deadline);
	if (!tsc) {
		FUZZ_CHECK(!deadline ||
			       platform_ns_to_tsc(&platform, deadline) == 0,
			   "no TSC deadline for %llu ns",
			   (unsigned long long)deadline);
		return 0;
	}
	FUZZ_CHECK(deadline != 0, "TSC deadline %llu for none",
		   (unsigned long long)tsc);
	FUZZ_CHECK(tsc - guest_tsc > 0 &&
		       tsc - guest_tsc <= PLATFORM_TSC_HORIZON,
		   "TSC deadline %llu from TSC %llu: not ahead",
		   (unsigned long long)tsc, (unsigned long long)guest_tsc);
	guest_tsc = tsc;
	now_ns = platform_now_ns(&platform);
	FUZZ_CHECK(now_ns >= deadline,
		   "TSC %llu is %llu ns, before the deadline %llu ns",
		   (unsigned long long)tsc, (unsigned long long)now_ns,
		   (unsigned long long)deadline);
	guest_tsc = tsc - 1;
	now_ns = platform_now_ns(&platform);
	FUZZ_CHECK(now_ns < deadline || tsc == 1,
		   "TSC %llu - 1 is %llu ns, the deadline %llu ns already",
		   (unsigned long long)tsc, (unsigned long long)now_ns,
		   (unsigned long long)deadline);
	guest_tsc = saved;
	return tsc;
}

/* Between two entries: what the run loop asks, and checks of it. */
static void run_loop(bool interruptible)
{
	int lapic_vector, vector;
	bool pending;

	(void)advance();
	(void)platform_take_nmi(&platform, NULL);
	if (!interruptible)
		return;
	pending = platform_interrupt_pending(&platform, NULL);
	lapic_vector = vlapic_pending_vector(&platform.lapic[0]);
	vector = platform_take_interrupt(&platform, NULL);
	FUZZ_CHECK(vector >= -1 && vector <= 255, "vector %d", vector);
	FUZZ_CHECK((vector >= 0) == pending, "pending %d but took %d", pending,
		   vector);
	if (lapic_vector >= 0)
		FUZZ_CHECK(vector == lapic_vector && vector >= 16,
			   "local APIC vector %d, took %d", lapic_vector,
			   vector);
	(void)advance(); /* a held timer may go on (core/vcpu.c) */
}

/* WRMSR IA32_TSC (or IA32_TSC_ADJUST) as core/msr.c does it. */
static void write_tsc(u64 value)
{
	u64 before = platform_now_ns(&platform);

	platform.vm->msr_tsc_adjust += value - guest_tsc;
	guest_tsc = value;
	FUZZ_CHECK(platform_now_ns(&platform) == before,
		   "a TSC write moved guest time from %llu to %llu ns",
		   (unsigned long long)before,
		   (unsigned long long)platform_now_ns(&platform));
}

/* Time passes: the guest TSC runs on, never back. */
static void pass_time(u64 ticks)
{
	guest_tsc += ticks;
}

static void step(struct fuzz_in *in)
{
	const struct mmio_region *r;
	u8 op = fuzz_u8(in), size;
	u64 value, offset;
	u16 port;

	if (in->done)
		return;
	switch (op % 14) {
	case 0:
		port = pick_port(in);
		iobus_write(&vm.io, port, pick_size(in, false), fuzz_u32(in));
		break;
	case 1:
		port = pick_port(in);
		size = pick_size(in, false);
		value = iobus_read(&vm.io, port, size);
		FUZZ_CHECK(value <= all_ones(size),
			   "%u-byte read of port 0x%x gave 0x%llx", size, port,
			   (unsigned long long)value);
		break;
	case 2:
	case 3:
		r = region(op % 14 == 2 ? VLAPIC_DEFAULT_MMIO_BASE
					: PLATFORM_IOAPIC_BASE);
		offset = fuzz_bool(in) ? (u64)fuzz_below(in, 0x40) << 4
				       : fuzz_u16(in) % r->size;
		size = pick_size(in, true);
		if (fuzz_bool(in))
			r->write(r->opaque, NULL, offset, size, fuzz_u64(in));
		else
			r->read(r->opaque, NULL, offset, size, &value);
		break;
	case 4: {
		static const u32 msrs[] = {0x1b,  0x6e0, 0x80b, 0x830, 0x832,
					   0x838, 0x83f, 0x802, 0x80f};
		u32 msr =
		    fuzz_bool(in) ? FUZZ_PICK(in, msrs) : 0x800 + fuzz_u8(in);

		if (fuzz_bool(in))
			platform_msr_write(&platform, NULL, msr, fuzz_u64(in));
		else
			platform_msr_read(&platform, NULL, msr, &value);
		break;
	}
	case 5:
		pass_time(fuzz_time_step(in));
		break;
	case 6: /* WRMSR IA32_TSC, or IA32_TSC_ADJUST += */
		value = fuzz_u64(in);
		write_tsc(fuzz_bool(in) ? value : guest_tsc + value);
		break;
	case 7: /* the guest runs until its next timer exit */
		value = advance();
		if (value) {
			pass_time(value - guest_tsc);
			FUZZ_CHECK(platform_timer_due(&platform),
				   "a timer exit at TSC %llu with no timer "
				   "due",
				   (unsigned long long)value);
		}
		run_loop(fuzz_bool(in));
		break;
	case 8:
		platform_console_input(&platform, fuzz_u8(in));
		break;
	case 9: /* the guest's serial driver (core/console.c does this) */
		vuart_write(&vm.uart, fuzz_u8(in) % 8, fuzz_u8(in));
		platform_uart_update_irq(&platform);
		break;
	case 10:
		platform_nmi_line_pulse(&platform);
		break;
	default:
		run_loop(fuzz_bool(in));
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	char err[120];

	host_printk_reset();
	hz = 1000000 + fuzz_u32(&in) % 5000000000u; /* 1 MHz - 5 GHz */
	guest_tsc = fuzz_u32(&in);
	memset(&vm, 0, sizeof(vm));
	snprintf(vm.name, sizeof(vm.name), "fuzz");
	vm.ram_size = MiB(16);
	vm.platform = &platform;
	vuart_init(&vm.uart, NULL, NULL);
	FUZZ_CHECK(platform_init(&platform, &vm, err, sizeof(err)),
		   "platform_init: %s", err);
	while (!in.done)
		step(&in);
	run_loop(true);
	return 0;
}
