/* SPDX-License-Identifier: MIT */
/*
 * hlt: HLT wakes on the para-virtual one-shot timer.
 *
 * Under Veneer, three rounds of: arm HC_TIMER_ONESHOT for vector 0x40 after
 * 1, 2 and 4 ms; sti; hlt; then check the vector-0x40 handler ran exactly
 * once, that it ran after the HLT began (its TSC stamp is later), and that
 * the TSC advanced across the HLT. The timer interrupt needs no EOI: Veneer
 * injects it directly, not through a virtual APIC.
 * Natively there is no such timer: SKIP.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/trap.h"

#define TIMER_VECTOR 0x40
#define ROUNDS	     3
/* HLTs to wait through before giving up: a wake without our interrupt
 * (there should be none) must not hang the test for ever. */
#define MAX_HALTS 16

/* Legacy 8259 PIC data ports: masking every line keeps a virtual PIC, if
 * Veneer offers one, from delivering IRQs on its reset vectors 8-15, which
 * collide with exceptions. Writes to an absent device are ignored. */
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA	0xa1

static volatile unsigned timer_count;
static volatile u64 timer_tsc;

static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_tsc = rdtsc();
	timer_count++;
}

static void one_round(unsigned round, u64 microseconds)
{
	unsigned before = timer_count, halts = 0;
	long ret;
	u64 start, end;
	ret = hypercall(HYPERCALL_VMCALL, HC_TIMER_ONESHOT, TIMER_VECTOR,
			(ureg)microseconds, 0, 0);
	if (!EXPECT_EQ((u64)ret, 0, "HC_TIMER_ONESHOT armed"))
		return;
	start = rdtsc();
	while (timer_count == before && halts < MAX_HALTS) {
		cpu_sti_hlt();
		cpu_cli();
		halts++;
	}
	end = rdtsc();
	guest_printf("hlt: round %u: %llu us timer, %u HLT(s), %llu TSC "
		     "ticks\n",
		     round, (unsigned long long)microseconds, halts,
		     (unsigned long long)(end - start));
	EXPECT_EQ(timer_count - before, 1, "one timer interrupt arrived");
	EXPECT_EQ(halts, 1, "the first HLT was woken by it");
	EXPECT_TRUE(timer_tsc > start, "the interrupt came after the HLT");
	EXPECT_TRUE(end > start, "TSC advanced across the HLT");
}

void guest_main(const struct multiboot_info *mbi)
{
	unsigned round;
	(void)mbi;
	if (!under_veneer()) {
		guest_skip("HLT woken by the Veneer one-shot timer (not under "
			   "Veneer)");
		return;
	}
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	trap_set_handler(TIMER_VECTOR, timer_handler);
	for (round = 0; round < ROUNDS; round++)
		one_round(round + 1, 1000ULL << round);
}
