/* SPDX-License-Identifier: MIT */
/*
 * smp: a guest with several vCPUs (issue 11): it starts its APs and sends
 * IPIs between all of them in every destination mode.
 *
 * - The ACPI MADT (ACPI 6.5 5.2.12) gives the local APICs: N vCPUs, N >= 2.
 * - Each AP is started with one INIT and one STARTUP IPI and no delay in
 *   between (SDM Vol. 3A 9.4.4.1 asks for waits that a virtual machine
 *   must not need). It starts in real mode at the SIPI vector's page
 *   (SDM Vol. 3A 11.6.1: CS = VV << 8, IP = 0), where the library's
 *   trampoline (lib/ap.c) switches to 32-bit protected mode and calls
 *   smp_ap_main: a stack of its own, the guest's IDT, its xAPIC
 *   software-enabled with a logical ID, then `sti; hlt` in a loop.
 * - The boot vCPU (BSP) drives everything: it asks an AP to send an IPI
 *   through a mailbox and a doorbell IPI, then waits (bounded, TSC time
 *   calibrated against the PIT) until the receivers have counted it and a
 *   while longer, and checks the exact count of every vCPU: the named ones
 *   once, nobody else, nobody twice.
 * - xAPIC (ICR high then low, SDM Vol. 3A 11.6.1): fixed IPIs from every
 *   vCPU to every other by physical ID, logical flat and logical cluster ID
 *   (11.6.2.2), to several at once; the shorthands self, all, all-but-self;
 *   lowest priority to a logical set (exactly one receives); NMIs by
 *   physical ID and all-but-self.
 * - x2APIC (each vCPU sets IA32_APIC_BASE.EXTD itself, SDM Vol. 3A 11.12):
 *   the ID and the read-only cluster LDR (11.12.10.2), then the same with
 *   one WRMSR to the ICR (0x830).
 * - Bad input: a fixed IPI to an APIC ID no vCPU has reaches nobody; a SIPI
 *   to a running AP is ignored (11.6.1: a SIPI only starts a processor
 *   waiting for one); INIT then one SIPI restarts a running AP, which
 *   reports in again with its generation count one higher.
 *
 * Only the BSP prints the checks; an AP prints one line when it comes up.
 * The UART is shared, so every line is printed under print_lock.
 */
#include "tests/guests/lib/ap.h"
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/pit.h"
#include "tests/guests/lib/trap.h"

/* Logical flat mode has 8 bits of destination (SDM Vol. 3A 11.6.2.2). */
#define MAX_CPUS      8
#define AP_STACK_SIZE 8192

#define VEC_NMI		 2
#define DOORBELL_VECTOR	 0x40
#define TEST_VECTOR_BASE 0x60 /* the fixed tests rotate through 16 vectors */
#define TEST_VECTORS	 16
#define SPURIOUS_VECTOR	 0xff

/* IA32_APIC_BASE: SDM Vol. 3A 11.4.4 and 11.12.1. */
#define MSR_APIC_BASE  0x1b
#define APIC_BASE_EXTD BIT(10)
#define APIC_BASE_EN   BIT(11)
/* What an AP finds after INIT: the base at 0xfee00000, enabled, not the
 * BSP (bit 8); x2APIC mode as it was (SDM Vol. 3A 11.12.5.1). */
#define AP_APIC_BASE_XAPIC  0xfee00800U
#define AP_APIC_BASE_X2APIC 0xfee00c00U

/* xAPIC registers (SDM Vol. 3A 11.4.1, Table 11-1). */
#define LAPIC_BASE     0xfee00000UL
#define LAPIC_ID       0x020
#define LAPIC_TPR      0x080
#define LAPIC_EOI      0x0b0
#define LAPIC_LDR      0x0d0
#define LAPIC_DFR      0x0e0
#define LAPIC_SVR      0x0f0
#define LAPIC_ICR_LOW  0x300
#define LAPIC_ICR_HIGH 0x310
#define XAPIC_ID_SHIFT 24

/* x2APIC MSRs (SDM Vol. 3A 11.12.1.2, Table 11-6). */
#define X2APIC_ID  0x802
#define X2APIC_TPR 0x808
#define X2APIC_EOI 0x80b
#define X2APIC_LDR 0x80d
#define X2APIC_SVR 0x80f
#define X2APIC_ICR 0x830

/* The ICR (SDM Vol. 3A 11.6.1, Figure 11-12). Level is 1 for every mode
 * but INIT de-assert, which this guest does not use. */
#define ICR_FIXED    (0U << 8)
#define ICR_LOWEST   (1U << 8)
#define ICR_NMI	     (4U << 8)
#define ICR_INIT     (5U << 8)
#define ICR_STARTUP  (6U << 8)
#define ICR_LOGICAL  BIT(11)
#define ICR_BUSY     BIT(12) /* xAPIC delivery status: send pending */
#define ICR_ASSERT   BIT(14)
#define ICR_SELF     (1U << 18)
#define ICR_ALL	     (2U << 18)
#define ICR_ALL_BUT  (3U << 18)
#define SVR_ENABLE   0x100
#define DFR_FLAT     0xffffffffU
#define DFR_CLUSTER  0x0fffffffU
#define LDR_SHIFT    24
#define ONE(i)	     (1U << (i)) /* the bit of vCPU i in a mask */
#define CLUSTER_SIZE 2 /* vCPUs per xAPIC cluster here: two clusters at 3 */

#define CPUID1_ECX_X2APIC BIT(21)

/* The TSC is calibrated against PIT channel 2 (lib/pit.h). */
#define CALIBRATE_MS	 20
#define CALIBRATE_SPINS	 (1U << 26)
#define FALLBACK_TSC_KHZ 1000000 /* 1 GHz, should the PIT not count */

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA	0xa1

/*
 * Waits, in guest time. Generous: under an emulator that runs several
 * CPUs (and other guests) the guest's clock runs while it is not.
 * After the receipts a check waits for, it waits SETTLE_MIN_MS plus as
 * long again as they took for a stray or a second one; "reaches nobody"
 * waits QUIET_MS, or twice the slowest delivery seen, if longer.
 * After MAX_FULL_TIMEOUTS waits in vain the wait is a tenth, so that a
 * guest whose IPIs never arrive still ends in reasonable time.
 */
#define TIMEOUT_MS	  5000
#define START_TIMEOUT_MS  10000
#define SETTLE_MIN_MS	  5
#define QUIET_MS	  50
#define MAX_FULL_TIMEOUTS 3

enum command { CMD_NONE, CMD_SEND, CMD_APIC_SETUP };
enum ipi_kind { KIND_FIXED, KIND_LOWEST, KIND_NMI };

/*
 * One per vCPU, index 0 the BSP, then the APs in MADT order. The BSP
 * writes the mailbox and the xAPIC logical set-up; the vCPU itself
 * writes the rest (its counters from its interrupt handlers).
 */
struct cpu {
	u32 apic_id;
	u32 dfr, ldr;	  /* xAPIC logical set-up to apply */
	u32 logical_dest; /* the logical destination that names it alone */
	volatile u32 gen; /* times it came up from a SIPI */
	volatile u32 online;
	volatile u32 x2apic; /* its local APIC is in x2APIC mode */
	volatile u32 id_seen, ldr_seen, apic_base_seen;
	volatile u32 apic_base_at_entry; /* IA32_APIC_BASE as INIT left it */
	volatile u32 cmd_seq, done_seq;
	volatile u32 cmd, arg_dest, arg_low;
	volatile u32 nmi;
	volatile u32 hits[TEST_VECTORS];
	volatile u32 spurious;
};

static struct cpu cpus[MAX_CPUS];
static u32 ncpus;
static volatile u32 want_x2apic; /* the mode a (re)started vCPU sets up */
static volatile u32 print_lock;
static u32 tsc_khz; /* TSC ticks per millisecond */
static u64 slowest; /* the longest a delivery took, TSC ticks */
static u32 next_vector;
static u32 ipis_checked;
static u32 timeouts; /* IPI checks that waited in vain */

/* The APs' stacks. An interrupt at CPL 0 stays on the interrupted stack
 * (SDM Vol. 3A 6.12.1), so a handler knows its vCPU by where its stack
 * is: one of these, or the BSP's (the library's). */
static u8 ap_stacks[MAX_CPUS][AP_STACK_SIZE] __aligned(16);

/* ---- small helpers ---- */

static void pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static u64 ms_ticks(u32 ms)
{
	return (u64)ms * tsc_khz;
}

static u32 ticks_to_us(u64 ticks)
{
	return (u32)div64(ticks * 1000, tsc_khz);
}

static void wait_ticks(u64 ticks)
{
	u64 end = rdtsc() + ticks;

	while (rdtsc() < end)
		pause();
}

/* Spins until COND holds or MS milliseconds passed; true if it held. */
#define WAIT_UNTIL(cond, ms)                                                   \
	({                                                                     \
		u64 end_ = rdtsc() + ms_ticks(ms);                             \
		bool ok_;                                                      \
		while (!(ok_ = (cond)) && rdtsc() < end_)                      \
			pause();                                               \
		ok_;                                                           \
	})

static u32 this_cpu(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t base = (uintptr_t)ap_stacks;

	if (sp >= base && sp < base + sizeof(ap_stacks))
		return (u32)((sp - base) / AP_STACK_SIZE);
	return 0;
}

static u32 all_mask(void)
{
	return ONE(ncpus) - 1;
}

/* ---- printing: one UART for all vCPUs ---- */

static void lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		while (print_lock)
			pause();
}

static void unlock(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

static void say(const char *fmt, ...) __printf(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lock();
	guest_vprintf(fmt, ap);
	unlock();
	va_end(ap);
}

/* Starts a PASS or FAIL line and keeps the lock; end_line() ends both. */
static void start_line(bool ok, const char *fmt, va_list ap)
{
	lock();
	if (!ok)
		guest_failures++;
	guest_printf("%s: ", ok ? "PASS" : "FAIL");
	guest_vprintf(fmt, ap);
}

static void end_line(void)
{
	guest_printf("\n");
	unlock();
}

/* The library's EXPECT_EQ with a formatted description, under the lock. */
static bool check_eq(u64 got, u64 want, const char *fmt, ...) __printf(3, 4);
static bool check_eq(u64 got, u64 want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	start_line(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		guest_printf(" (0x%llx != 0x%llx)", (unsigned long long)got,
			     (unsigned long long)want);
	end_line();
	return got == want;
}

static void fail(const char *fmt, ...) __printf(1, 2);
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	start_line(false, fmt, ap);
	va_end(ap);
	end_line();
}

/* ---- the local APIC, either mode ---- */

static void lapic_write(u32 reg, u32 value)
{
	*(volatile u32 *)(LAPIC_BASE + reg) = value;
}

static u32 lapic_read(u32 reg)
{
	return *(volatile u32 *)(LAPIC_BASE + reg);
}

static void eoi(const struct cpu *c)
{
	if (c->x2apic)
		wrmsr(X2APIC_EOI, 0);
	else
		lapic_write(LAPIC_EOI, 0);
}

/*
 * Sends one IPI from vCPU c. xAPIC: waits (bounded) for the previous one
 * to leave (delivery status, SDM Vol. 3A 11.6.1), then ICR high, then ICR
 * low, which sends. x2APIC: one WRMSR of both halves (11.12.9).
 */
static void send_ipi(const struct cpu *c, u32 dest, u32 low)
{
	if (c->x2apic) {
		wrmsr(X2APIC_ICR, ((u64)dest << 32) | low);
		return;
	}
	for (u32 i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LOW) & ICR_BUSY);
	     i++)
		pause();
	lapic_write(LAPIC_ICR_HIGH, dest << XAPIC_ID_SHIFT);
	lapic_write(LAPIC_ICR_LOW, low);
}

/*
 * Puts the calling vCPU's local APIC into the mode want_x2apic asks for
 * and software-enables it. Leaving x2APIC mode goes through disabled
 * (SDM Vol. 3A 11.12.5, Figure 11-27: x2APIC to xAPIC is not a valid
 * transition). Called with interrupts off.
 */
static void apic_setup(struct cpu *c)
{
	u64 base = rdmsr(MSR_APIC_BASE);

	if (want_x2apic) {
		if (!(base & APIC_BASE_EXTD))
			wrmsr(MSR_APIC_BASE,
			      base | APIC_BASE_EN | APIC_BASE_EXTD);
	} else if (base & APIC_BASE_EXTD) {
		wrmsr(MSR_APIC_BASE,
		      base & ~(u64)(APIC_BASE_EN | APIC_BASE_EXTD));
		wrmsr(MSR_APIC_BASE,
		      (base & ~(u64)APIC_BASE_EXTD) | APIC_BASE_EN);
	} else if (!(base & APIC_BASE_EN)) {
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	}
	c->x2apic = want_x2apic;
	if (c->x2apic) {
		wrmsr(X2APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
		wrmsr(X2APIC_TPR, 0);
		c->id_seen = (u32)rdmsr(X2APIC_ID);
		c->ldr_seen = (u32)rdmsr(X2APIC_LDR);
	} else {
		lapic_write(LAPIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
		lapic_write(LAPIC_TPR, 0);
		lapic_write(LAPIC_DFR, c->dfr);
		lapic_write(LAPIC_LDR, c->ldr);
		c->id_seen = lapic_read(LAPIC_ID) >> XAPIC_ID_SHIFT;
		c->ldr_seen = lapic_read(LAPIC_LDR);
	}
	c->apic_base_seen = (u32)rdmsr(MSR_APIC_BASE);
}

/* ---- interrupt handlers (every vCPU) ---- */

static void test_handler(struct trap_frame *frame)
{
	struct cpu *c = &cpus[this_cpu()];

	c->hits[(frame->vector - TEST_VECTOR_BASE) % TEST_VECTORS]++;
	eoi(c);
}

static void doorbell_handler(struct trap_frame *frame)
{
	(void)frame;
	eoi(&cpus[this_cpu()]);
}

static void nmi_handler(struct trap_frame *frame)
{
	(void)frame;
	cpus[this_cpu()].nmi++;
}

/* A spurious interrupt needs no EOI (SDM Vol. 3A 11.9). */
static void spurious_handler(struct trap_frame *frame)
{
	(void)frame;
	cpus[this_cpu()].spurious++;
}

/* ---- the APs ---- */

static void run_command(struct cpu *c)
{
	switch (c->cmd) {
	case CMD_SEND:
		send_ipi(c, c->arg_dest, c->arg_low);
		break;
	case CMD_APIC_SETUP:
		cpu_cli();
		apic_setup(c);
		cpu_sti();
		break;
	default:
		break;
	}
}

static __noreturn void ap_idle(struct cpu *c)
{
	for (;;) {
		u32 seq;

		/* cli, look, then sti; hlt: a doorbell that comes after the
		 * look wakes the HLT (the STI shadow, see cpu_sti_hlt()). */
		cpu_cli();
		seq = c->cmd_seq;
		if (seq == c->done_seq) {
			cpu_sti_hlt();
			continue;
		}
		cpu_sti();
		run_command(c);
		barrier();
		c->done_seq = seq;
	}
}

/* Started by the library's trampoline (lib/ap.c), on its own stack, with
 * the BSP's IDT and interrupts off. */
static void smp_ap_main(u32 apic_id)
{
	struct cpu *c = &cpus[this_cpu()];

	c->apic_base_at_entry = (u32)rdmsr(MSR_APIC_BASE);
	apic_setup(c);
	c->done_seq = c->cmd_seq; /* a restart forgets what was asked */
	c->gen++;
	say("smp: vCPU %u (APIC ID %u) up in %s mode, generation %u\n",
	    this_cpu(), apic_id, c->x2apic ? "x2APIC" : "xAPIC", c->gen);
	barrier();
	c->online = 1;
	ap_idle(c);
}

/* Has AP i run a command: through the mailbox and a doorbell IPI. An AP
 * that does not answer is taken as gone: checks it should send fail at
 * once instead of waiting again. */
static bool command(u32 i, u32 cmd, u32 dest, u32 low)
{
	struct cpu *c = &cpus[i];
	u32 seq;

	if (!c->online)
		return false;
	c->cmd = cmd;
	c->arg_dest = dest;
	c->arg_low = low;
	seq = c->cmd_seq + 1;
	barrier();
	c->cmd_seq = seq;
	send_ipi(&cpus[0], c->apic_id,
		 ICR_ASSERT | ICR_FIXED | DOORBELL_VECTOR);
	if (WAIT_UNTIL(c->done_seq == seq, TIMEOUT_MS))
		return true;
	fail("vCPU %u (APIC ID %u) ran no command %u ms after its doorbell "
	     "IPI",
	     i, c->apic_id, TIMEOUT_MS);
	c->online = 0;
	return false;
}

/* INIT (level assert) then STARTUP to one AP, no delay between. */
static void init_sipi(u32 i)
{
	send_ipi(&cpus[0], cpus[i].apic_id, ICR_ASSERT | ICR_INIT);
	send_ipi(&cpus[0], cpus[i].apic_id,
		 ICR_ASSERT | ICR_STARTUP | AP_SIPI_VECTOR);
}

/* ---- the checks ---- */

static u32 received(u32 i, enum ipi_kind kind, u32 vector)
{
	if (kind == KIND_NMI)
		return cpus[i].nmi;
	return cpus[i].hits[vector - TEST_VECTOR_BASE];
}

/* Every vCPU in `want` has one (fixed, NMI), or any has (lowest). */
static bool arrived(enum ipi_kind kind, u32 vector, u32 want)
{
	for (u32 i = 0; i < ncpus; i++) {
		u32 n = received(i, kind, vector);

		if (kind == KIND_LOWEST && n)
			return true;
		if (kind != KIND_LOWEST && (want & ONE(i)) && !n)
			return false;
	}
	return kind != KIND_LOWEST;
}

/* After a few waits in vain, IPIs are not arriving at all: wait less, so
 * that the guest still ends (with every check it could not pass). */
static u32 wait_ms(void)
{
	return timeouts < MAX_FULL_TIMEOUTS ? TIMEOUT_MS : TIMEOUT_MS / 10;
}

static u64 quiet_ticks(void)
{
	u64 quiet = ms_ticks(QUIET_MS);

	return 2 * slowest > quiet ? 2 * slowest : quiet;
}

/*
 * One IPI from vCPU `sender` (0: the BSP itself) with ICR destination
 * `dest` and ICR low bits `low` (destination mode, shorthand), of `kind`.
 * Fixed and NMI: exactly the vCPUs in `want` get it, once each (want 0:
 * nobody). Lowest priority: exactly one vCPU, one of `want`.
 */
static void ipi_check(u32 sender, u32 dest, u32 low, enum ipi_kind kind,
		      u32 want, const char *fmt, ...) __printf(6, 7);
static void ipi_check(u32 sender, u32 dest, u32 low, enum ipi_kind kind,
		      u32 want, const char *fmt, ...)
{
	u32 vector = 0, got[MAX_CPUS], total = 0;
	u64 start, took = 0;
	bool ok = true, came;
	va_list ap;

	if (kind == KIND_NMI) {
		low |= ICR_ASSERT | ICR_NMI;
	} else {
		vector = TEST_VECTOR_BASE + next_vector++ % TEST_VECTORS;
		low |= ICR_ASSERT | vector |
		       (kind == KIND_LOWEST ? ICR_LOWEST : ICR_FIXED);
	}
	for (u32 i = 0; i < ncpus; i++) {
		cpus[i].nmi = 0;
		if (vector)
			cpus[i].hits[vector - TEST_VECTOR_BASE] = 0;
	}
	barrier();
	ipis_checked++;
	start = rdtsc();
	if (sender == 0) {
		send_ipi(&cpus[0], dest, low);
	} else if (!command(sender, CMD_SEND, dest, low)) {
		va_start(ap, fmt);
		start_line(false, fmt, ap);
		va_end(ap);
		guest_printf(" (vCPU %u is not answering: not sent)", sender);
		end_line();
		return;
	}
	if (want) {
		came = WAIT_UNTIL(arrived(kind, vector, want), wait_ms());
		took = rdtsc() - start;
		if (came && took > slowest)
			slowest = took;
		if (!came)
			timeouts++;
		/* Time for a stray or a second one to come as well. */
		wait_ticks(ms_ticks(SETTLE_MIN_MS) + (came ? took : 0));
	} else {
		took = quiet_ticks();
		wait_ticks(took);
	}
	for (u32 i = 0; i < ncpus; i++) {
		got[i] = received(i, kind, vector);
		total += got[i];
		if (kind != KIND_LOWEST && got[i] != !!(want & ONE(i)))
			ok = false;
		if (kind == KIND_LOWEST && got[i] && !(want & ONE(i)))
			ok = false;
	}
	if (kind == KIND_LOWEST && total != 1)
		ok = false;

	va_start(ap, fmt);
	start_line(ok, fmt, ap);
	va_end(ap);
	if (!ok) {
		/* "(vCPUs 0.. got 0 0 1, want 0 1 0, ...)". */
		guest_printf(" (vCPUs 0..%u got", ncpus - 1);
		for (u32 i = 0; i < ncpus; i++)
			guest_printf(" %u", got[i]);
		guest_printf(", want%s",
			     kind == KIND_LOWEST ? " 1 in total at" : "");
		for (u32 i = 0; i < ncpus; i++)
			if (kind != KIND_LOWEST)
				guest_printf(" %u", !!(want & ONE(i)));
			else if (want & ONE(i))
				guest_printf(" vCPU %u", i);
		guest_printf("; waited %u us)", ticks_to_us(took));
	}
	end_line();
}

/* Every vCPU to every other: the ICR destination for vCPU t comes from
 * dest_of(t). */
static void all_pairs(const char *mode, const char *what, u32 low,
		      enum ipi_kind kind, u32 (*dest_of)(u32 t))
{
	for (u32 s = 0; s < ncpus; s++)
		for (u32 t = 0; t < ncpus; t++)
			if (t != s)
				ipi_check(s, dest_of(t), low, kind, ONE(t),
					  "%s %s: vCPU %u -> vCPU %u", mode,
					  what, s, t);
}

static u32 physical_dest(u32 t)
{
	return cpus[t].apic_id;
}

static u32 logical_dest(u32 t)
{
	return cpus[t].logical_dest;
}

/* The three shorthands from every vCPU (the destination is ignored). */
static void shorthands(const char *mode)
{
	for (u32 s = 0; s < ncpus; s++) {
		ipi_check(s, 0, ICR_SELF, KIND_FIXED, ONE(s),
			  "%s fixed, shorthand self: vCPU %u", mode, s);
		ipi_check(s, 0, ICR_ALL, KIND_FIXED, all_mask(),
			  "%s fixed, shorthand all including self: from "
			  "vCPU %u",
			  mode, s);
		ipi_check(s, 0, ICR_ALL_BUT, KIND_FIXED, all_mask() & ~ONE(s),
			  "%s fixed, shorthand all but self: from vCPU %u",
			  mode, s);
	}
}

static void nmis(const char *mode)
{
	all_pairs(mode, "NMI, physical", 0, KIND_NMI, physical_dest);
	for (u32 s = 0; s < ncpus; s++)
		ipi_check(s, 0, ICR_ALL_BUT, KIND_NMI, all_mask() & ~ONE(s),
			  "%s NMI, shorthand all but self: from vCPU %u", mode,
			  s);
}

/* Sets every vCPU's xAPIC logical model (DFR) and ID (LDR) and checks
 * that each LDR reads back. */
static void set_logical(u32 dfr, bool cluster)
{
	for (u32 i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		c->dfr = dfr;
		if (cluster) {
			/* Cluster in LDR[31:28], one of 4 bits in [27:24]. */
			c->logical_dest =
			    (i / CLUSTER_SIZE) << 4 | ONE(i % CLUSTER_SIZE);
		} else {
			c->logical_dest = ONE(i); /* flat: 8 bits */
		}
		c->ldr = c->logical_dest << LDR_SHIFT;
		if (i == 0) {
			cpu_cli();
			apic_setup(c);
			cpu_sti();
		} else if (!command(i, CMD_APIC_SETUP, 0, 0)) {
			continue;
		}
		check_eq(c->ldr_seen, c->ldr,
			 "xAPIC %s: vCPU %u LDR reads back",
			 cluster ? "cluster" : "flat", i);
	}
}

static void xapic_tests(void)
{
	all_pairs("xAPIC", "physical fixed", 0, KIND_FIXED, physical_dest);

	set_logical(DFR_FLAT, false);
	all_pairs("xAPIC", "logical flat fixed", ICR_LOGICAL, KIND_FIXED,
		  logical_dest);
	for (u32 s = 0; s < ncpus; s++)
		ipi_check(s, all_mask() & ~ONE(s), ICR_LOGICAL, KIND_FIXED,
			  all_mask() & ~ONE(s),
			  "xAPIC logical flat fixed: vCPU %u -> all others "
			  "(mask 0x%x)",
			  s, all_mask() & ~ONE(s));
	for (u32 s = 0; s < ncpus; s++)
		ipi_check(s, all_mask() & ~ONE(s), ICR_LOGICAL, KIND_LOWEST,
			  all_mask() & ~ONE(s),
			  "xAPIC logical flat lowest priority: vCPU %u -> "
			  "exactly one of mask 0x%x",
			  s, all_mask() & ~ONE(s));
	if (ncpus < MAX_CPUS)
		ipi_check(0, ONE(MAX_CPUS - 1), ICR_LOGICAL, KIND_FIXED, 0,
			  "xAPIC logical flat fixed to mask 0x%x (no vCPU "
			  "has it) reaches nobody",
			  ONE(MAX_CPUS - 1));

	set_logical(DFR_CLUSTER, true);
	all_pairs("xAPIC", "logical cluster fixed", ICR_LOGICAL, KIND_FIXED,
		  logical_dest);
	/* Both vCPUs of cluster 0 at once, from each vCPU. */
	for (u32 s = 0; s < ncpus; s++)
		ipi_check(s, 0x03, ICR_LOGICAL, KIND_FIXED, 0x3,
			  "xAPIC logical cluster fixed: vCPU %u -> cluster 0 "
			  "bits 0-1 (vCPUs 0 and 1)",
			  s);

	shorthands("xAPIC");
	nmis("xAPIC");
}

/* The bad input of step 5: in the current mode, with vCPU k = the last. */
static void bad_input(const char *mode, u32 no_such_id)
{
	u32 k = ncpus - 1;
	struct cpu *c = &cpus[k];
	u32 gen = c->gen;

	ipi_check(0, no_such_id, 0, KIND_FIXED, 0,
		  "%s fixed IPI to APIC ID 0x%x (no vCPU has it) reaches "
		  "nobody: from vCPU 0",
		  mode, no_such_id);
	ipi_check(1, no_such_id, 0, KIND_FIXED, 0,
		  "%s fixed IPI to APIC ID 0x%x reaches nobody: from vCPU 1",
		  mode, no_such_id);

	/* A SIPI to a vCPU that is not waiting for one is ignored. */
	send_ipi(&cpus[0], c->apic_id,
		 ICR_ASSERT | ICR_STARTUP | AP_SIPI_VECTOR);
	wait_ticks(quiet_ticks());
	check_eq(c->gen, gen,
		 "%s SIPI to running vCPU %u is ignored (generation stays)",
		 mode, k);
	ipi_check(0, c->apic_id, 0, KIND_FIXED, ONE(k),
		  "%s after the SIPI vCPU %u still receives", mode, k);
	ipi_check(k, cpus[0].apic_id, 0, KIND_FIXED, ONE(0),
		  "%s after the SIPI vCPU %u still sends", mode, k);

	/* INIT sends it back to wait-for-SIPI; one SIPI restarts it. */
	c->online = 0;
	barrier();
	init_sipi(k);
	WAIT_UNTIL(c->online, START_TIMEOUT_MS);
	if (!check_eq(c->gen, gen + 1,
		      "%s INIT then one SIPI restart running vCPU %u "
		      "(generation)",
		      mode, k))
		return;
	check_eq(c->apic_base_at_entry,
		 want_x2apic ? AP_APIC_BASE_X2APIC : AP_APIC_BASE_XAPIC,
		 "%s restarted vCPU %u: IA32_APIC_BASE after INIT (the mode "
		 "kept)",
		 mode, k);
	check_eq(!!(c->apic_base_seen & APIC_BASE_EXTD), want_x2apic,
		 "%s restarted vCPU %u set up its APIC mode again", mode, k);
	check_eq(c->id_seen, c->apic_id, "%s restarted vCPU %u: APIC ID", mode,
		 k);
	ipi_check(0, c->apic_id, 0, KIND_FIXED, ONE(k),
		  "%s physical fixed to restarted vCPU %u", mode, k);
	ipi_check(k, cpus[0].apic_id, 0, KIND_FIXED, ONE(0),
		  "%s physical fixed from restarted vCPU %u to vCPU 0", mode,
		  k);
	ipi_check(0, c->logical_dest, ICR_LOGICAL, KIND_FIXED, ONE(k),
		  "%s logical fixed to restarted vCPU %u", mode, k);
}

/* x2APIC logical ID: cluster ID[19:4] in LDR[31:16], bit ID[3:0] in
 * LDR[15:0] (SDM Vol. 3A 11.12.10.2). */
static u32 x2apic_ldr(u32 id)
{
	return (id >> 4) << 16 | ONE(id & 15);
}

static void x2apic_tests(void)
{
	u32 cluster0 = 0;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		if (under_veneer())
			fail("CPUID.1:ECX[21]: Veneer offers x2APIC");
		else
			guest_skip("x2APIC tests (CPUID.1:ECX[21] clear)");
		return;
	}
	want_x2apic = 1;
	for (u32 i = 0; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		c->logical_dest = x2apic_ldr(c->apic_id);
		if (i == 0) {
			cpu_cli();
			apic_setup(c);
			cpu_sti();
		} else if (!command(i, CMD_APIC_SETUP, 0, 0)) {
			continue;
		}
		check_eq(c->x2apic && (c->apic_base_seen & APIC_BASE_EXTD), 1,
			 "vCPU %u switched itself to x2APIC mode", i);
		check_eq(c->id_seen, c->apic_id,
			 "x2APIC: vCPU %u x2APIC ID = its MADT APIC ID", i);
		check_eq(c->ldr_seen, c->logical_dest,
			 "x2APIC: vCPU %u LDR = (ID >> 4) << 16 | 1 << (ID & "
			 "15)",
			 i);
		if ((c->apic_id >> 4) == 0)
			cluster0 |= ONE(c->apic_id & 15);
	}

	all_pairs("x2APIC", "physical fixed", 0, KIND_FIXED, physical_dest);
	all_pairs("x2APIC", "logical cluster fixed", ICR_LOGICAL, KIND_FIXED,
		  logical_dest);
	for (u32 s = 0; s < ncpus; s++) {
		u32 want = 0;

		for (u32 t = 0; t < ncpus; t++)
			if (t != s && (cpus[t].apic_id >> 4) == 0)
				want |= ONE(t);
		ipi_check(s, cluster0 & ~x2apic_ldr(cpus[s].apic_id),
			  ICR_LOGICAL, KIND_FIXED, want,
			  "x2APIC logical cluster fixed: vCPU %u -> the others "
			  "of cluster 0",
			  s);
	}
	ipi_check(0, 0x000f0001, ICR_LOGICAL, KIND_FIXED, 0,
		  "x2APIC logical fixed to cluster 15 (no vCPU in it) "
		  "reaches nobody");
	shorthands("x2APIC");
	nmis("x2APIC");
}

/* ---- start-up ---- */

/* Fills cpus[] from the MADT (the library's reader), the BSP (this CPU)
 * first. */
static bool read_madt(void)
{
	static struct ap_madt madt;
	const char *error = ap_madt_read(&madt);

	if (error) {
		fail("MADT: %s: no vCPUs to count", error);
		return false;
	}
	check_eq(madt.lapic_address, LAPIC_BASE, "MADT: local APIC address");
	for (u32 i = 0; i < madt.count; i++) {
		if (madt.apic_id[i] >= 0xff) {
			fail("MADT: APIC ID 0x%x: this guest handles IDs below "
			     "0xff",
			     madt.apic_id[i]);
			return false;
		}
		if (ncpus == MAX_CPUS) {
			fail("MADT: more than %u enabled local APICs: this "
			     "guest handles %u",
			     MAX_CPUS, MAX_CPUS);
			return false;
		}
		cpus[ncpus++].apic_id = madt.apic_id[i];
	}
	lock();
	guest_printf("smp: the MADT lists %u enabled local APICs, IDs", ncpus);
	for (u32 i = 0; i < ncpus; i++)
		guest_printf(" %u", cpus[i].apic_id);
	guest_printf(" (vCPU 0 is the BSP, ID %u)\n", cpus[0].apic_id);
	unlock();
	return true;
}

/* The trampoline must not overwrite the multiboot info (read later by
 * nobody, but a loader that put it there deserves a clear message). */
static bool trampoline_fits(const struct multiboot_info *mbi)
{
	if (ap_trampoline_fits(mbi))
		return true;
	fail("the AP trampoline at 0x%lx (%u bytes) would overwrite the "
	     "multiboot info at 0x%x",
	     AP_TRAMPOLINE_GPA, ap_trampoline_size(), (u32)(uintptr_t)mbi);
	return false;
}

/* TSC ticks per millisecond, from PIT channel 2 counting CALIBRATE_MS. */
static void calibrate_tsc(void)
{
	u32 count = CALIBRATE_MS * PIT_TICKS_PER_MS, spins = 0;
	u64 t0, t1;

	outb(PORT_B, (u8)((inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2, (u8)count);
	outb(PIT_CH2, (u8)(count >> 8));
	t0 = rdtsc();
	while (!(inb(PORT_B) & PORT_B_OUT2) && ++spins < CALIBRATE_SPINS)
		;
	t1 = rdtsc();
	tsc_khz = (u32)div64(t1 - t0, CALIBRATE_MS);
	if (spins >= CALIBRATE_SPINS || tsc_khz == 0) {
		say("smp: PIT channel 2 did not count: assuming a %u kHz "
		    "TSC\n",
		    FALLBACK_TSC_KHZ);
		tsc_khz = FALLBACK_TSC_KHZ;
	}
	say("smp: TSC %u kHz (against the PIT)\n", tsc_khz);
}

/* One INIT and one SIPI to each AP by physical APIC ID, no delays, then
 * wait until each has reported in. */
static bool start_aps(void)
{
	u32 online = 0;

	for (u32 i = 1; i < ncpus; i++)
		ap_set_stack(cpus[i].apic_id, &ap_stacks[i][AP_STACK_SIZE]);
	ap_prepare(smp_ap_main);
	for (u32 i = 1; i < ncpus; i++)
		init_sipi(i);
	for (u32 i = 1; i < ncpus; i++) {
		struct cpu *c = &cpus[i];

		WAIT_UNTIL(c->online, START_TIMEOUT_MS);
		if (check_eq(c->online && c->gen == 1, 1,
			     "vCPU %u (APIC ID %u) started by one INIT and "
			     "one SIPI",
			     i, c->apic_id)) {
			online++;
			check_eq(
			    c->apic_base_at_entry, AP_APIC_BASE_XAPIC,
			    "vCPU %u: IA32_APIC_BASE after INIT: 0xfee00000, "
			    "xAPIC enabled, not the BSP",
			    i);
			check_eq(c->id_seen, c->apic_id,
				 "vCPU %u: xAPIC ID register = its MADT APIC "
				 "ID",
				 i);
		}
	}
	return online == ncpus - 1;
}

void guest_main(const struct multiboot_info *mbi)
{
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	for (u32 v = 0; v < TEST_VECTORS; v++)
		trap_set_handler(TEST_VECTOR_BASE + v, test_handler);
	trap_set_handler(DOORBELL_VECTOR, doorbell_handler);
	trap_set_handler(VEC_NMI, nmi_handler);
	trap_set_handler(SPURIOUS_VECTOR, spurious_handler);

	if (!read_madt())
		return;
	if (ncpus < 2) {
		fail("smp needs at least 2 vCPUs: the MADT lists %u", ncpus);
		return;
	}
	if (!trampoline_fits(mbi))
		return;
	calibrate_tsc();

	for (u32 i = 0; i < ncpus; i++) {
		cpus[i].dfr = DFR_FLAT;
		cpus[i].logical_dest = ONE(i);
		cpus[i].ldr = cpus[i].logical_dest << LDR_SHIFT;
	}
	apic_setup(&cpus[0]);
	cpu_sti();
	if (!start_aps()) {
		fail("not every AP came up: no IPI checks");
		return;
	}

	xapic_tests();
	bad_input("xAPIC", 0x7f);
	x2apic_tests();
	if (want_x2apic)
		bad_input("x2APIC", 0x1000);

	for (u32 i = 0; i < ncpus; i++)
		check_eq(cpus[i].spurious, 0, "vCPU %u: no spurious interrupt",
			 i);
	/* The lock stays taken: nothing an AP might still print can get
	 * between the library's last lines. */
	lock();
	guest_printf("smp: %u vCPUs, %u IPI checks, slowest delivery %u us\n",
		     ncpus, ipis_checked, ticks_to_us(slowest));
}
