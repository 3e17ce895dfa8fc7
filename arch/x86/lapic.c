/* SPDX-License-Identifier: MIT */
#include "arch/x86/lapic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"
#include "core/lib/printk.h"

/* IA32_APIC_BASE bits (SDM Vol. 3A 11.4.4). */
#define APIC_BASE_EXTD	    BIT(10)
#define APIC_BASE_ENABLE    BIT(11)
#define APIC_BASE_ADDR_MASK 0xffffff000ull

/* xAPIC register offsets (SDM Vol. 3A table 11-1). */
#define LAPIC_ID	    0x20
#define LAPIC_SVR	    0xf0
#define LAPIC_ICR_LOW	    0x300
#define LAPIC_ICR_HIGH	    0x310
#define LAPIC_EOI	    0xb0
#define LAPIC_LVT_TIMER	    0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE  0x3e0
#define SVR_ENABLE	    BIT(8)
#define SPURIOUS_VECTOR	    0xff

/* x2APIC MSRs (SDM Vol. 3A 11.12.1.2). */
#define X2APIC_ID  0x802
#define X2APIC_SVR 0x80f
#define X2APIC_ICR 0x830
#define X2APIC_EOI 0x80b
/* x2APIC MSR of an xAPIC register: 0x800 + offset / 16 (11.12.1.2). */
#define X2APIC_MSR(reg) (0x800 + (reg) / 16)

/* LVT timer modes (SDM Vol. 3A 11.5.4.1). */
#define LVT_TIMER_ONESHOT	(0u << 17)
#define LVT_TIMER_TSC_DEADLINE	(2u << 17)
#define LVT_MASKED		BIT(16)
#define TIMER_DIVIDE_BY_1	0xb
#define CPUID1_ECX_TSC_DEADLINE BIT(24)

/* ICR bits (SDM Vol. 3A 11.6.1). */
#define ICR_INIT	     (5u << 8)
#define ICR_STARTUP	     (6u << 8)
#define ICR_DELIVERY_PENDING BIT(12)
#define ICR_LEVEL_ASSERT     BIT(14)

static volatile u32 *lapic_mmio;
static bool x2apic;
static bool tsc_deadline;
/* LAPIC timer ticks per second at divide-by-1, measured by the boot CPU. */
static u64 timer_hz;

static u32 xapic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR(reg));
	return lapic_mmio[reg / 4];
}

static void xapic_write(u32 reg, u32 v)
{
	if (x2apic) {
		wrmsr(X2APIC_MSR(reg), v);
		return;
	}
	lapic_mmio[reg / 4] = v;
}

void lapic_init_cpu(void)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE)) {
		base |= APIC_BASE_ENABLE;
		wrmsr(MSR_IA32_APIC_BASE, base);
	}
	x2apic = base & APIC_BASE_EXTD;
	if (x2apic) {
		wrmsr(X2APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
		return;
	}
	lapic_mmio = (volatile u32 *)(uintptr_t)(base & APIC_BASE_ADDR_MASK);
	xapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
}

bool lapic_x2apic_mode(void)
{
	return x2apic;
}

u32 lapic_id(void)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_ID);
	return xapic_read(LAPIC_ID) >> 24;
}

static void lapic_send_ipi(u32 apic_id, u32 icr_low)
{
	if (x2apic) {
		wrmsr(X2APIC_ICR, ((u64)apic_id << 32) | icr_low);
		return;
	}
	xapic_write(LAPIC_ICR_HIGH, apic_id << 24);
	xapic_write(LAPIC_ICR_LOW, icr_low);
	for (int i = 0; i < 1000000; i++) {
		if (!(xapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING))
			return;
		cpu_relax();
	}
	printk("veneer: warning: IPI to APIC %u still pending\n", apic_id);
}

void lapic_send_init(u32 apic_id)
{
	lapic_send_ipi(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_sipi(u32 apic_id, u8 vector)
{
	lapic_send_ipi(apic_id, ICR_STARTUP | vector);
}

void lapic_send_fixed(u32 apic_id, u8 vector)
{
	/* Fixed delivery mode is 000b in ICR bits 10:8 (SDM Vol. 3A 11.6.1). */
	lapic_send_ipi(apic_id, ICR_LEVEL_ASSERT | vector);
}

void lapic_eoi(void)
{
	xapic_write(LAPIC_EOI, 0);
}

/* One-shot count rate, measured once against the TSC (1 ms). */
static void lapic_timer_measure(void)
{
	u32 left;

	xapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	xapic_write(LAPIC_LVT_TIMER, LVT_MASKED | HOST_TIMER_VECTOR);
	xapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
	udelay(1000);
	left = xapic_read(LAPIC_TIMER_CURRENT);
	xapic_write(LAPIC_TIMER_INITIAL, 0);
	timer_hz = (u64)(0xffffffffu - left) * 1000;
	if (!timer_hz)
		timer_hz = 1000000000ull; /* a stopped timer: guess */
}

/*
 * Per host CPU: the TSC deadline last programmed. Until the TSC reaches it
 * the timer has not fired (TSC-deadline mode, SDM Vol. 3A 11.5.4.1), so
 * arming the same deadline again changes nothing and is skipped.
 */
static u64 armed_deadline[MAX_CPUS];

void lapic_timer_arm(u64 deadline)
{
	u64 now, ticks;
	u64 *armed = &armed_deadline[this_cpu()->index];

	if (tsc_deadline && deadline && deadline == *armed &&
	    rdtsc() < deadline)
		return;

	if (!timer_hz && !tsc_deadline) {
		tsc_deadline = cpuid(1).ecx & CPUID1_ECX_TSC_DEADLINE;
		if (!tsc_deadline)
			lapic_timer_measure();
	}
	if (tsc_deadline) {
		xapic_write(LAPIC_LVT_TIMER,
			    LVT_TIMER_TSC_DEADLINE | HOST_TIMER_VECTOR);
		wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
		*armed = deadline;
		return;
	}
	xapic_write(LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | HOST_TIMER_VECTOR);
	if (!deadline) {
		xapic_write(LAPIC_TIMER_INITIAL, 0);
		return;
	}
	now = rdtsc();
	ticks = deadline > now ? (deadline - now) * (timer_hz / 1000) /
				     (tsc_hz() / 1000 ? tsc_hz() / 1000 : 1)
			       : 1;
	xapic_write(LAPIC_TIMER_INITIAL,
		    (u32)MIN(MAX(ticks, 1ull), 0xffffffffull));
}
