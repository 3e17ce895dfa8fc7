/* SPDX-License-Identifier: MIT */
/*
 * nmi: NMIs from the local APIC and the IOAPIC, NMI blocking until IRET
 * (issue 16, item 4).
 *
 * With the xAPIC software-enabled and the 8259s masked:
 * - an NMI IPI to the guest's own APIC ID (ICR delivery mode NMI, SDM Vol.
 *   3A 11.6.1) arrives, and so do the self and all-including-self
 *   shorthands; all-excluding-self reaches nobody (one CPU);
 * - with RFLAGS.IF clear an NMI still arrives at once, while a fixed
 *   self-IPI sent just before it waits for STI (SDM Vol. 3A 6.8.1: IF
 *   masks INTR only);
 * - two NMIs sent from inside the NMI handler do not nest: they wait for
 *   its IRET, and then arrive as one (SDM Vol. 3A 6.7.1);
 * - an IOAPIC entry in NMI mode (82093AA 3.2.4) turns the PIT's IRQ 0
 *   (pin 2) into an NMI, which wakes `sti; hlt` and `cli; hlt` alike.
 * The same checks hold natively on QEMU.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define VEC_NMI	     2
#define FIXED_VECTOR 0x50
#define TIMER_VECTOR 0x51

/* xAPIC registers (SDM Vol. 3A 11.4.1, Table 11-1). */
#define LAPIC_BASE	 0xfee00000UL
#define LAPIC_ID	 0x020
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_ICR_LOW	 0x300
#define LAPIC_ICR_HIGH	 0x310
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV	 0x3e0
#define TIMER_DIV_1	 0xb
/*
 * A backstop: 1 s at the 1 GHz timer clock Veneer and QEMU give. Long:
 * in an emulator shared by several guests, guest time jumps by the
 * milliseconds the emulator spends on the others.
 */
#define BACKSTOP_COUNT 1000000000
#define SVR_ENABLE     0x100
#define ICR_FIXED      0x000
#define ICR_NMI	       0x400
#define ICR_SELF       (1U << 18)
#define ICR_ALL	       (2U << 18)
#define ICR_ALL_BUT    (3U << 18)
#define ICR_DEST_SHIFT 24

/* I/O APIC (82093AA 3.1): IOREGSEL, IOWIN, redirection entries. */
#define IOAPIC_BASE	0xfec00000UL
#define IOAPIC_IOWIN	0x10
#define IOAPIC_RTE(pin) (0x10 + 2 * (pin))
#define RTE_NMI		0x400
#define RTE_MASKED	0x10000
#define PIT_IOAPIC_PIN	2 /* ISA IRQ 0 (MADT interrupt source override) */

/* 8254 PIT channel 0, mode 0 (interrupt on terminal count), lo/hi byte. */
#define PIT_CH0	      0x40
#define PIT_CONTROL   0x43
#define PIT_CH0_MODE0 0x30
#define PIT_10MS      11932 /* 1193182 Hz */

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA	0xa1

/* Spins to wait for something that should come at once. */
#define WAIT_SPINS 200000
#define MAX_HALTS  16

static volatile unsigned nmi_count, nmi_depth, nmi_max_depth;
static volatile unsigned fixed_count, timer_count;
/* What the fixed handler saw: had the NMI come before it? */
static volatile unsigned nmis_before_fixed;
/* Phase of the blocking check: the handler sends two NMIs once. */
static volatile bool send_inside;
static volatile unsigned count_inside_before, count_inside_after;

static void lapic_write(u32 reg, u32 value)
{
	*(volatile u32 *)(LAPIC_BASE + reg) = value;
}

static u32 lapic_read(u32 reg)
{
	return *(volatile u32 *)(LAPIC_BASE + reg);
}

static void ioapic_write(u32 reg, u32 value)
{
	*(volatile u32 *)IOAPIC_BASE = reg;
	*(volatile u32 *)(IOAPIC_BASE + IOAPIC_IOWIN) = value;
}

static void send_ipi(u32 dest, u32 low)
{
	lapic_write(LAPIC_ICR_HIGH, dest << ICR_DEST_SHIFT);
	lapic_write(LAPIC_ICR_LOW, low);
}

static void send_self_nmi(void)
{
	send_ipi(0, ICR_NMI | ICR_SELF);
}

static void pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static void nmi_handler(struct trap_frame *frame)
{
	(void)frame;
	nmi_depth++;
	if (nmi_depth > nmi_max_depth)
		nmi_max_depth = nmi_depth;
	nmi_count++;
	if (send_inside) {
		send_inside = false;
		count_inside_before = nmi_count;
		send_self_nmi();
		send_self_nmi();
		for (unsigned i = 0; i < WAIT_SPINS; i++)
			pause();
		count_inside_after = nmi_count;
	}
	nmi_depth--;
}

static void fixed_handler(struct trap_frame *frame)
{
	(void)frame;
	nmis_before_fixed = nmi_count;
	fixed_count++;
	lapic_write(LAPIC_EOI, 0);
}

static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_count++;
	lapic_write(LAPIC_EOI, 0);
}

/* Waits (boundedly) until nmi_count has moved past `before`. */
static unsigned wait_nmis(unsigned before)
{
	for (unsigned i = 0; i < WAIT_SPINS && nmi_count == before; i++)
		pause();
	return nmi_count - before;
}

static void check_ipis(u32 apic_id)
{
	unsigned before = nmi_count;

	send_ipi(apic_id, ICR_NMI);
	EXPECT_EQ(wait_nmis(before), 1, "NMI IPI to its own APIC ID arrives");
	before = nmi_count;
	send_ipi(0, ICR_NMI | ICR_SELF);
	EXPECT_EQ(wait_nmis(before), 1, "NMI IPI, self shorthand, arrives");
	before = nmi_count;
	send_ipi(0, ICR_NMI | ICR_ALL);
	EXPECT_EQ(wait_nmis(before), 1,
		  "NMI IPI, all-including-self shorthand, arrives");
	before = nmi_count;
	send_ipi(0, ICR_NMI | ICR_ALL_BUT);
	EXPECT_EQ(wait_nmis(before), 0,
		  "NMI IPI, all-excluding-self shorthand, does not");
}

/* IF masks the fixed interrupt, not the NMI sent after it. */
static void check_nmi_ignores_if(void)
{
	unsigned before = nmi_count;

	cpu_cli();
	send_ipi(0, ICR_FIXED | ICR_SELF | FIXED_VECTOR);
	send_self_nmi();
	EXPECT_EQ(wait_nmis(before), 1, "NMI arrives with RFLAGS.IF clear");
	EXPECT_EQ(fixed_count, 0, "the fixed IPI waits for STI");
	cpu_sti();
	for (unsigned i = 0; i < WAIT_SPINS && !fixed_count; i++)
		pause();
	EXPECT_EQ(fixed_count, 1, "the fixed IPI arrives after STI");
	EXPECT_EQ(nmis_before_fixed, before + 1, "the NMI came first");
}

/* NMIs sent inside the handler wait for its IRET and come as one. */
static void check_blocking(void)
{
	unsigned before = nmi_count;

	send_inside = true;
	send_self_nmi();
	wait_nmis(before);
	wait_nmis(before + 1);
	/* Give a wrong third one time to come. */
	for (unsigned i = 0; i < WAIT_SPINS; i++)
		pause();
	EXPECT_EQ(count_inside_after - count_inside_before, 0,
		  "no NMI inside the NMI handler (blocked until IRET)");
	EXPECT_EQ(nmi_max_depth, 1, "NMI handlers never nested");
	EXPECT_EQ(nmi_count - before, 2,
		  "the two blocked NMIs arrived as one after the IRET");
}

/* PIT channel 0 one-shot: IRQ 0 rises once after about 10 ms. */
static void pit_one_shot(void)
{
	outb(PIT_CONTROL, PIT_CH0_MODE0);
	outb(PIT_CH0, PIT_10MS & 0xff);
	outb(PIT_CH0, PIT_10MS >> 8);
}

static void check_ioapic_nmi(u32 apic_id)
{
	unsigned before, halts;

	ioapic_write(IOAPIC_RTE(PIT_IOAPIC_PIN) + 1, apic_id << 24);
	ioapic_write(IOAPIC_RTE(PIT_IOAPIC_PIN), RTE_NMI);

	/* The local APIC timer wakes the HLT should the NMI never come. */
	before = nmi_count;
	halts = 0;
	lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_1);
	lapic_write(LAPIC_TIMER_INIT, BACKSTOP_COUNT);
	pit_one_shot();
	while (nmi_count == before && !timer_count && halts < MAX_HALTS) {
		cpu_sti_hlt();
		halts++;
	}
	lapic_write(LAPIC_TIMER_INIT, 0);
	EXPECT_EQ(timer_count, 0, "no backstop timer before the NMI");
	if (!EXPECT_EQ(nmi_count - before, 1,
		       "IOAPIC entry in NMI mode: the PIT's edge is an NMI"))
		return; /* cli; hlt would wait for ever */
	/* 0 when the emulator's clock jumped past the PIT before the HLT. */
	EXPECT_TRUE(halts <= 1, "it woke sti; hlt");

	before = nmi_count;
	halts = 0;
	cpu_cli();
	pit_one_shot();
	while (nmi_count == before && halts < MAX_HALTS) {
		__asm__ volatile("hlt" : : : "memory");
		halts++;
	}
	cpu_sti();
	EXPECT_EQ(nmi_count - before, 1, "an NMI wakes cli; hlt");
	EXPECT_TRUE(halts <= 1, "one HLT");
	ioapic_write(IOAPIC_RTE(PIT_IOAPIC_PIN), RTE_NMI | RTE_MASKED);
}

void guest_main(const struct multiboot_info *mbi)
{
	u32 apic_id;

	(void)mbi;
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	trap_set_handler(VEC_NMI, nmi_handler);
	trap_set_handler(FIXED_VECTOR, fixed_handler);
	trap_set_handler(TIMER_VECTOR, timer_handler);
	lapic_write(LAPIC_SVR, SVR_ENABLE | 0xff);
	apic_id = lapic_read(LAPIC_ID) >> ICR_DEST_SHIFT;
	cpu_sti();
	check_ipis(apic_id);
	check_nmi_ignores_if();
	check_blocking();
	check_ioapic_nmi(apic_id);
	guest_printf("nmi: %u NMIs taken\n", nmi_count);
}
