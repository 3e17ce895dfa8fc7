/* SPDX-License-Identifier: MIT */
/*
 * kvmpv: the KVM-compatible para-virtual interface, x2APIC and the
 * TSC-deadline timer (issue 15; docs/hypercall.md, docs/devices.md).
 *
 * With `kvm=1` (the guest was declared with the interface on):
 * - CPUID 0x40000100 holds "KVMKVMKVM\0\0\0" with EAX >= 0x40000110, and
 *   0x40000101 EAX advertises exactly kvm-clock (CLOCKSOURCE2, bit 3),
 *   steal time (5), PV EOI (6), PV unhalt (7), PV send-IPI (11), PV
 *   sched yield (13) and kvm-clock's stable bit (24), EDX the realtime
 *   hint (bit 0: the guest has CPUs of its own);
 * - the timing leaf 0x40000110: EAX the TSC's kHz, which kvm-clock's scale
 *   turns into one second (0.1%), EBX the APIC timer's 1 GHz in kHz;
 * - kvm-clock: MSR 0x4b564d01 refuses a structure outside RAM or with bit
 *   1 set (#GP), accepts one in RAM and reads back; the structure's
 *   version is even, its stable flag set; the time it gives never goes
 *   back over many reads, advances as the ACPI PM timer does (3.579545
 *   MHz, within 1%), and goes on without a jump when the guest moves its
 *   TSC by 2^40 forward and back (IA32_TSC); disabled, it is not written
 *   again;
 * - the wall clock (MSR 0x4b564d00) plus kvm-clock is the RTC's time to
 *   within 2 s;
 * - every other KVM MSR (0x11, 0x12, 0x4b564d02-0x4b564dff but 0x4b564d04)
 *   is #GP;
 * - PV EOI (MSR 0x4b564d04, in x2APIC mode): bit 1 set or a word outside
 *   RAM is #GP; enabled, a self IPI's handler finds bit 0 of its word set,
 *   clears it instead of writing EOI, and the vector is no longer in
 *   service (ISR) after the next exit: the same vector arrives again;
 *   with a second interrupt waiting behind the first the first's bit is
 *   clear (it writes EOI), the second's set; turned off, no bit is set.
 * - KVM's hypercalls: PV send-IPI to itself arrives, to APIC IDs no vCPU
 *   has reaches none, an INIT is refused; a kick of itself ends its next
 *   HLT with interrupts off; sched yield returns 0.
 * With `kvm=0`: the leaves read 0 and every KVM MSR is #GP.
 * Always (under Veneer; natively where CPUID offers them):
 * - x2APIC (CPUID.1:ECX[21]): IA32_APIC_BASE.EXTD switches the APIC to its
 *   MSRs; ID, version and LDR read as SDM Vol. 3A 11.12 says; the #GP
 *   cases (read of SELF IPI, write of ID, reserved TPR bits, ICR high and
 *   DFR absent, a non-zero EOI, a reserved ICR bit); a SELF IPI, an ICR
 *   self IPI and an ICR IPI to its own x2APIC ID each arrive once;
 * - TSC-deadline (CPUID.1:ECX[24], 11.5.4.1): IA32_TSC_DEADLINE reads
 *   back what was written, the interrupt arrives once, not before the
 *   deadline, and the MSR reads 0 after; a deadline in the past fires at
 *   once.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/trap.h"

#define LEAF_KVM_SIG	  0x40000100U
#define LEAF_KVM_FEATURES 0x40000101U
#define LEAF_KVM_TIMING	  0x40000110U /* TSC kHz, APIC timer kHz */
#define KVM_SIG_EBX	  0x4b4d564bU /* "KVMK" */
#define KVM_SIG_ECX	  0x564b4d56U /* "VMKV" */
#define KVM_SIG_EDX	  0x0000004dU /* "M\0\0\0" */
#define KVM_F_CLOCK2	  BIT(3)
#define KVM_F_STEAL	  BIT(5)
#define KVM_F_PV_EOI	  BIT(6)
#define KVM_F_PV_UNHALT	  BIT(7)
#define KVM_F_PV_TLB	  BIT(9)
#define KVM_F_PV_SEND_IPI BIT(11)
#define KVM_F_PV_YIELD	  BIT(13)
#define KVM_F_STABLE	  BIT(24)
#define KVM_HINT_REALTIME BIT(0)
/* KVM's hypercalls (hypercalls.rst) and Veneer's error for a bad one. */
#define KVM_HC_KICK_CPU	   5
#define KVM_HC_SEND_IPI	   10
#define KVM_HC_SCHED_YIELD 11
#define HC_EINVAL	   (-3)
#define MSR_KVM_PV_EOI	   0x4b564d04U
#define MSR_KVM_STEAL	   0x4b564d03U
#define X2APIC_ISR0	   0x810
#define MSR_KVM_WALL_OLD   0x11
#define MSR_KVM_TIME_OLD   0x12
#define MSR_KVM_WALL	   0x4b564d00U
#define MSR_KVM_TIME	   0x4b564d01U
#define MSR_KVM_LAST	   0x4b564dffU
#define PVCLOCK_STABLE	   0x01
#define MSR_IA32_TSC	   0x10
#define MSR_APIC_BASE	   0x1b
#define MSR_TSC_DEADLINE   0x6e0
#define APIC_BASE_EN	   BIT(11)
#define APIC_BASE_EXTD	   BIT(10)
#define X2APIC_ID	   0x802
#define X2APIC_VERSION	   0x803
#define X2APIC_TPR	   0x808
#define X2APIC_PPR	   0x80a
#define X2APIC_IRR0	   0x820
#define X2APIC_EOI	   0x80b
#define X2APIC_LDR	   0x80d
#define X2APIC_DFR	   0x80e
#define X2APIC_SVR	   0x80f
#define X2APIC_ICR	   0x830
#define X2APIC_ICR_HIGH	   0x831
#define X2APIC_LVT_TIMER   0x832
#define X2APIC_SELF_IPI	   0x83f
#define SVR_ENABLE	   BIT(8)
#define ICR_SELF	   (1U << 18)
#define LVT_TSC_DEADLINE   (2U << 17)
#define CPUID1_ECX_X2APIC  BIT(21)
#define CPUID1_ECX_TSCDL   BIT(24)
#define VEC_IPI		   0x50
#define VEC_TIMER	   0x60
#define VEC_LOW		   0x40	 /* below VEC_IPI: waits behind it */
#define PM_TIMER_PORT	   0x608 /* Veneer's FADT PM_TMR_BLK */
#define PM_TIMER_HZ	   3579545U
#define PM_TIMER_MASK	   0xffffffU
#define PIC_MASTER_DATA	   0x21
#define PIC_SLAVE_DATA	   0xa1
#define TSC_JUMP	   (1ULL << 40)
#define DEADLINE_TICKS	   (1ULL << 24)
#define NS_PER_S	   1000000000U

/* The guest-memory structures (Documentation/virt/kvm/x86/msr.rst). */
struct pvclock_time {
	u32 version, pad0;
	u64 tsc_timestamp, system_time;
	u32 mul;
	signed char shift;
	u8 flags, pad[2];
} __attribute__((packed));
struct pvclock_wall {
	u32 version, sec, nsec;
} __attribute__((packed));

static volatile struct pvclock_time kclock __aligned(64);
static volatile struct pvclock_wall kwall __aligned(64);
static volatile unsigned ipi_count, timer_count;
static volatile u64 timer_tsc;

static bool faulted(void)
{
	return trap_last.count != 0;
}

static bool rdmsr_gp(u32 index, u64 *value)
{
	trap_record_reset();
	*value = rdmsr(index);
	return faulted();
}

static bool wrmsr_gp(u32 index, u64 value)
{
	trap_record_reset();
	wrmsr(index, value);
	return faulted();
}

/* floor(a * mul / 2^32), 64 x 32 bits kept to 96 (no libgcc needed). */
static u64 mul_shr32(u64 a, u32 mul)
{
	return (a >> 32) * mul + (((a & 0xffffffffULL) * mul) >> 32);
}

/* kvm-clock now, read as the protocol says (retry while odd or changed). */
/* TSC ticks to nanoseconds by the structure's tsc_to_system_mul and
 * tsc_shift, the scaling the pvclock ABI gives (docs/hypercall.md). */
static u64 kvmclock_scale(u64 delta)
{
	if (kclock.shift < 0)
		delta >>= -kclock.shift;
	else
		delta <<= kclock.shift;
	return mul_shr32(delta, kclock.mul);
}

static u64 kvmclock_read(void)
{
	u32 version;
	u64 ns;

	do {
		version = kclock.version;
		__asm__ volatile("" ::: "memory");
		ns = kclock.system_time +
		     kvmclock_scale(rdtsc() - kclock.tsc_timestamp);
		__asm__ volatile("" ::: "memory");
	} while ((version & 1) || version != kclock.version);
	return ns;
}

static u32 pm_timer(void)
{
	return inl(PM_TIMER_PORT) & PM_TIMER_MASK;
}

/*
 * kvm-clock read between two PM timer reads: *pm is the first of them,
 * *width the PM ticks between the two. Of a few tries it keeps the
 * narrowest bracket.
 */
static u64 pm_bracketed_kvmclock(u32 *pm, u32 *width)
{
	u64 best_ns = 0;

	*width = ~0U;
	for (unsigned i = 0; i < 8; i++) {
		u32 before = pm_timer();
		u64 ns = kvmclock_read();
		u32 w = (pm_timer() - before) & PM_TIMER_MASK;

		if (w < *width) {
			*width = w;
			*pm = before;
			best_ns = ns;
		}
	}
	return best_ns;
}

/*
 * pveoi=0: the CPU does this guest's EOIs (VT-x APICv, one vCPU), so
 * Veneer does not advertise PV EOI and its MSR is #GP like any other.
 */
static bool pv_eoi_expected = true;

static void check_leaves(bool kvm)
{
	struct cpuid_regs r = cpuid(LEAF_KVM_SIG, 0);

	if (!kvm) {
		EXPECT_EQ(r.eax | r.ebx | r.ecx | r.edx, 0,
			  "kvm=0: leaf 0x40000100 reads 0");
		r = cpuid(LEAF_KVM_FEATURES, 0);
		EXPECT_EQ(r.eax | r.ebx | r.ecx | r.edx, 0,
			  "kvm=0: leaf 0x40000101 reads 0");
		r = cpuid(LEAF_KVM_TIMING, 0);
		EXPECT_EQ(r.eax | r.ebx | r.ecx | r.edx, 0,
			  "kvm=0: leaf 0x40000110 reads 0");
		return;
	}
	EXPECT_TRUE(r.ebx == KVM_SIG_EBX && r.ecx == KVM_SIG_ECX &&
			r.edx == KVM_SIG_EDX,
		    "leaf 0x40000100: KVMKVMKVM signature");
	EXPECT_TRUE(r.eax >= LEAF_KVM_TIMING,
		    "leaf 0x40000100: EAX reaches the timing leaf");
	r = cpuid(LEAF_KVM_FEATURES, 0);
	EXPECT_EQ(r.eax,
		  KVM_F_CLOCK2 | KVM_F_STEAL |
		      (pv_eoi_expected ? KVM_F_PV_EOI : 0) | KVM_F_PV_UNHALT |
		      KVM_F_PV_TLB | KVM_F_PV_SEND_IPI | KVM_F_PV_YIELD |
		      KVM_F_STABLE,
		  pv_eoi_expected
		      ? "leaf 0x40000101: kvm-clock, steal time, PV EOI, PV "
			"unhalt, PV TLB flush, PV send-IPI, PV sched yield and "
			"the stable bit, nothing else"
		      : "leaf 0x40000101: the same without PV EOI (the CPU "
			"does the EOIs)");
	EXPECT_EQ(r.edx, KVM_HINT_REALTIME,
		  "leaf 0x40000101: the realtime hint (a CPU of its own)");
	/* Veneer's own leaf stays at 0x40000000. */
	EXPECT_TRUE(under_veneer(), "Veneer's signature still at 0x40000000");
}

/* Every KVM MSR not advertised is #GP (all of them with kvm=0). */
static void check_other_msrs(bool kvm)
{
	u32 first = kvm ? MSR_KVM_TIME + 1 : MSR_KVM_WALL;
	unsigned bad = 0;
	u64 v;

	for (u32 m = first; m <= MSR_KVM_LAST; m++)
		if ((!kvm || ((m != MSR_KVM_PV_EOI || !pv_eoi_expected) &&
			      m != MSR_KVM_STEAL)) &&
		    (!rdmsr_gp(m, &v) || !wrmsr_gp(m, 0)))
			bad++;
	EXPECT_EQ(bad, 0,
		  !kvm ? "kvm=0: KVM MSRs 0x4b564d00-ff are #GP"
		  : pv_eoi_expected
		      ? "KVM MSRs 0x4b564d02-ff but 0x4b564d03-04 "
			"are #GP"
		      : "KVM MSRs 0x4b564d02-ff but 0x4b564d03 are "
			"#GP (PV EOI too)");
	EXPECT_TRUE(rdmsr_gp(MSR_KVM_WALL_OLD, &v) &&
			wrmsr_gp(MSR_KVM_WALL_OLD, (u32)&kwall),
		    "old wall clock MSR 0x11 is #GP");
	EXPECT_TRUE(rdmsr_gp(MSR_KVM_TIME_OLD, &v) &&
			wrmsr_gp(MSR_KVM_TIME_OLD, (u32)&kclock | 1),
		    "old system time MSR 0x12 is #GP");
}

/* The steal time structure (KVM's msr.rst, MSR_KVM_STEAL_TIME). */
static volatile struct {
	u64 steal;
	u32 version;
	u32 flags;
	u8 preempted;
	u8 pad8[3];
	u32 pad[11];
} ksteal __aligned(64);

/*
 * Steal time: refused with a reserved bit (bits 5-1) or outside RAM;
 * enabled, the structure is written at once, version even, steal 0, not
 * preempted (a vCPU alone on its CPU never waits for it), and the MSR
 * reads back; disabled again.
 */
static void check_steal_time(void)
{
	u64 bad_at = 0xfff00000ULL; /* far above any test guest's RAM */
	u64 v = 0;

	EXPECT_TRUE(wrmsr_gp(MSR_KVM_STEAL, (u32)&ksteal | 2 | 1),
		    "steal time: reserved bit 1 is #GP");
	EXPECT_TRUE(wrmsr_gp(MSR_KVM_STEAL, (u32)&ksteal | 0x20 | 1),
		    "steal time: reserved bit 5 is #GP");
	EXPECT_TRUE(wrmsr_gp(MSR_KVM_STEAL, bad_at | 1),
		    "steal time: a structure outside RAM is #GP");
	ksteal.version = 0x55;
	ksteal.steal = 12345;
	ksteal.preempted = 7;
	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_STEAL, (u32)&ksteal | 1),
		    "steal time enabled");
	EXPECT_TRUE(!rdmsr_gp(MSR_KVM_STEAL, &v) && v == ((u32)&ksteal | 1),
		    "steal time: the MSR reads back");
	EXPECT_TRUE(ksteal.version != 0x55 && !(ksteal.version & 1),
		    "steal time: written at once, version even");
	EXPECT_EQ(ksteal.steal, 0, "steal time: steal 0 on a CPU of its own");
	EXPECT_EQ(ksteal.preempted, 0, "steal time: not preempted");
	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_STEAL, 0), "steal time disabled");
}

/* The RTC's time as Unix seconds (BCD, 24-hour: Veneer's power-on mode). */
static u8 cmos(u8 index)
{
	outb(0x70, index);
	return inb(0x71);
}

static u32 bcd(u8 v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

static u64 rtc_unix_time(void)
{
	u32 s, mi, h, d, mo, y;
	u64 days;

	while (cmos(0x0a) & 0x80) /* update in progress */
		;
	s = bcd(cmos(0)), mi = bcd(cmos(2)), h = bcd(cmos(4));
	d = bcd(cmos(7)), mo = bcd(cmos(8));
	y = bcd(cmos(0x32)) * 100 + bcd(cmos(9));
	/* Days since 1970-01-01 (the civil-calendar count, March-based). */
	if (mo <= 2) {
		y--;
		mo += 12;
	}
	days = 365ULL * y + y / 4 - y / 100 + y / 400 +
	       (153 * (mo - 3) + 2) / 5 + d - 1 - 719468;
	return days * 86400 + h * 3600 + mi * 60 + s;
}

/*
 * The timing leaf: one second of TSC ticks by its EAX is one second by
 * kvm-clock's own scale (both come from the guest's TSC frequency; the
 * leaf rounds to a kHz, so 0.1% is plenty for any TSC above 1 MHz).
 */
static void check_timing_leaf(void)
{
	struct cpuid_regs r = cpuid(LEAF_KVM_TIMING, 0);
	u64 ns = kvmclock_scale((u64)r.eax * 1000);
	u64 diff = ns > NS_PER_S ? ns - NS_PER_S : NS_PER_S - ns;

	guest_printf("kvmpv: leaf 0x40000110: tsc %u kHz, apic timer %u kHz\n",
		     r.eax, r.ebx);
	EXPECT_TRUE(
	    r.eax && diff <= NS_PER_S / 1000,
	    "leaf 0x40000110: EAX is the TSC's kHz (kvm-clock's scale)");
	EXPECT_TRUE(r.ebx == 1000000 && !r.ecx && !r.edx,
		    "leaf 0x40000110: EBX the APIC timer's 1 GHz, ECX EDX 0");
}

static void check_kvmclock(void)
{
	u64 v, last, now, start_ns, tsc_after, jump_ns;
	u32 pm_start, pm_end, pm_ticks, version, slack, end_slack;
	unsigned backwards = 0;
	u64 bad_at = 0xfff00000ULL; /* far above any test guest's RAM */

	EXPECT_TRUE(wrmsr_gp(MSR_KVM_TIME, bad_at | 1),
		    "kvm-clock outside RAM is #GP");
	EXPECT_TRUE(wrmsr_gp(MSR_KVM_TIME, (u32)&kclock | 3),
		    "kvm-clock with bit 1 set is #GP");
	EXPECT_EQ(kclock.version, 0, "nothing written for a refused MSR");
	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_TIME, (u32)&kclock | 1),
		    "kvm-clock enabled");
	EXPECT_TRUE(!rdmsr_gp(MSR_KVM_TIME, &v) && v == ((u32)&kclock | 1),
		    "MSR_KVM_SYSTEM_TIME_NEW reads back");
	EXPECT_TRUE(kclock.version && !(kclock.version & 1),
		    "time structure written (version even)");
	EXPECT_TRUE(kclock.flags & PVCLOCK_STABLE, "PVCLOCK_TSC_STABLE set");
	EXPECT_TRUE(kclock.mul >= 0x80000000U, "mul normalized");
	guest_printf("kvmpv: mul 0x%x shift %d system_time %llu\n", kclock.mul,
		     kclock.shift, (unsigned long long)kclock.system_time);
	check_timing_leaf();

	last = kvmclock_read();
	for (unsigned i = 0; i < 20000; i++) {
		now = kvmclock_read();
		if (now < last)
			backwards++;
		last = now;
	}
	EXPECT_EQ(backwards, 0, "kvm-clock never goes back (20000 reads)");

	/*
	 * Against the PM timer: 20 ms of it, kvm-clock within 1%. Each
	 * kvm-clock read is bracketed by two PM timer reads, so a host that
	 * is slow to run this vCPU between them widens the allowed error
	 * instead of failing the check.
	 */
	start_ns = pm_bracketed_kvmclock(&pm_start, &slack);
	do
		pm_ticks = (pm_timer() - pm_start) & PM_TIMER_MASK;
	while (pm_ticks < PM_TIMER_HZ / 50);
	now = pm_bracketed_kvmclock(&pm_end, &end_slack) - start_ns;
	pm_ticks = (pm_end - pm_start) & PM_TIMER_MASK;
	slack += end_slack;
	{
		u64 want = div64((u64)pm_ticks * NS_PER_S, PM_TIMER_HZ);
		u64 diff = now > want ? now - want : want - now;
		u64 slack_ns = div64((u64)slack * NS_PER_S, PM_TIMER_HZ);

		guest_printf("kvmpv: %u PM timer ticks, kvm-clock %llu ns, "
			     "expected %llu\n",
			     pm_ticks, (unsigned long long)now,
			     (unsigned long long)want);
		EXPECT_TRUE(diff <= div64(want, 100) + slack_ns + 200000,
			    "kvm-clock runs with the PM timer (1%)");
	}

	/* The guest moves its TSC: kvm-clock goes on without a jump. */
	version = kclock.version;
	jump_ns = kvmclock_scale(TSC_JUMP);
	last = kvmclock_read();
	wrmsr(MSR_IA32_TSC, rdtsc() + TSC_JUMP);
	now = kvmclock_read();
	guest_printf("kvmpv: TSC forward: kvm-clock %llu ns then %llu ns\n",
		     (unsigned long long)last, (unsigned long long)now);
	EXPECT_TRUE(kclock.version == version + 2,
		    "TSC moved: the structure is written afresh");
	/*
	 * A jump would be the whole 2^40 ticks (minutes at any TSC rate);
	 * an eighth of it still allows for a host that takes seconds to
	 * run the exit.
	 */
	EXPECT_TRUE(now >= last && now - last < jump_ns / 8,
		    "TSC moved 2^40 forward: kvm-clock goes on, no jump");
	last = kvmclock_read();
	wrmsr(MSR_IA32_TSC, rdtsc() - TSC_JUMP);
	now = kvmclock_read();
	guest_printf("kvmpv: TSC back: kvm-clock %llu ns then %llu ns\n",
		     (unsigned long long)last, (unsigned long long)now);
	EXPECT_TRUE(now >= last && now - last < jump_ns / 8,
		    "TSC moved 2^40 back: kvm-clock goes on, no jump");

	/* The wall clock: boot time + kvm-clock = the RTC, within 2 s. */
	EXPECT_TRUE(wrmsr_gp(MSR_KVM_WALL, bad_at),
		    "wall clock outside RAM #GP");
	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_WALL, (u32)&kwall), "wall clock written");
	EXPECT_TRUE(kwall.version && !(kwall.version & 1),
		    "wall clock version even");
	{
		u64 wall = kwall.sec + div64(kvmclock_read(), NS_PER_S);
		u64 rtc = rtc_unix_time();
		u64 diff = wall > rtc ? wall - rtc : rtc - wall;

		guest_printf("kvmpv: wall clock %u s at kvm-clock 0, now %llu, "
			     "RTC %llu\n",
			     kwall.sec, (unsigned long long)wall,
			     (unsigned long long)rtc);
		EXPECT_TRUE(diff <= 2,
			    "wall clock + kvm-clock = the RTC (2 s)");
	}

	/* Disabled: no more writes (a TSC move would write it). */
	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_TIME, 0), "kvm-clock disabled");
	version = kclock.version;
	tsc_after = rdtsc();
	wrmsr(MSR_IA32_TSC, tsc_after + 1000);
	EXPECT_EQ(kclock.version, version, "disabled: not written again");
}

static void ipi_handler(struct trap_frame *frame)
{
	(void)frame;
	ipi_count++;
	wrmsr(X2APIC_EOI, 0);
}

/*
 * PV EOI: the word, and what each handler found there. The handler takes
 * the bit in one instruction (BTR, msr.rst asks for a single one) and
 * writes EOI only when it was clear.
 */
static volatile u32 pv_eoi_word __aligned(4);
static volatile unsigned pv_count[2], pv_bit_set[2];

static bool take_pv_eoi(void)
{
	u8 was;

	__asm__ volatile("btrl $0, %0\n\tsetc %1"
			 : "+m"(pv_eoi_word), "=q"(was)
			 :
			 : "memory", "cc");
	return was;
}

static void pv_handler(unsigned which)
{
	pv_count[which]++;
	if (take_pv_eoi())
		pv_bit_set[which]++;
	else
		wrmsr(X2APIC_EOI, 0);
}

static void pv_ipi_handler(struct trap_frame *frame)
{
	(void)frame;
	pv_handler(0);
}

static void pv_low_handler(struct trap_frame *frame)
{
	(void)frame;
	pv_handler(1);
}

static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_tsc = rdtsc();
	timer_count++;
	wrmsr(X2APIC_EOI, 0);
}

/* Let a pending interrupt in: STI then a few instructions, CLI. */
static void open_window(void)
{
	cpu_sti();
	for (int i = 0; i < 100; i++)
		__asm__ volatile("pause" ::: "memory");
	cpu_cli();
}

/* Interrupts in the order they came, and PPR as each handler saw it. */
static volatile u32 order[4], order_ppr[4];
static volatile unsigned order_n;

static void order_handler(struct trap_frame *frame)
{
	if (order_n < 4) {
		order[order_n] = frame->vector;
		order_ppr[order_n] = (u32)rdmsr(X2APIC_PPR);
		order_n++;
	}
	wrmsr(X2APIC_EOI, 0);
}

/*
 * TPR and priority (SDM Vol. 3A 11.8.3): a vector whose class is not above
 * TPR's waits in IRR until TPR drops; of two waiting the higher comes
 * first, with PPR its class in its handler; both retired, PPR is TPR.
 */
static void check_priority(void)
{
	unsigned before = ipi_count;
	u64 irr;

	EXPECT_TRUE(!wrmsr_gp(X2APIC_TPR, 0x57), "TPR 0x57");
	EXPECT_EQ(rdmsr(X2APIC_TPR), 0x57, "TPR reads back");
	EXPECT_EQ(rdmsr(X2APIC_PPR), 0x57,
		  "PPR is TPR with nothing in service");
	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	irr = rdmsr(X2APIC_IRR0 + VEC_IPI / 32);
	EXPECT_EQ(ipi_count - before, 0,
		  "TPR's class holds the interrupt back");
	EXPECT_TRUE(irr & BIT(VEC_IPI % 32), "it waits in IRR");
	wrmsr(X2APIC_TPR, 0x40);
	open_window();
	EXPECT_EQ(ipi_count - before, 1, "TPR lowered: it arrives");
	EXPECT_EQ(rdmsr(X2APIC_IRR0 + VEC_IPI / 32) & BIT(VEC_IPI % 32), 0,
		  "no longer in IRR");
	wrmsr(X2APIC_TPR, 0);

	trap_set_handler(VEC_IPI, order_handler);
	trap_set_handler(VEC_LOW, order_handler);
	order_n = 0;
	wrmsr(X2APIC_SELF_IPI, VEC_LOW);
	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	trap_set_handler(VEC_IPI, ipi_handler);
	EXPECT_EQ(order_n, 2, "two self IPIs: both arrive");
	EXPECT_TRUE(order[0] == VEC_IPI && order[1] == VEC_LOW,
		    "the higher vector first");
	EXPECT_TRUE(order_ppr[0] == (VEC_IPI & 0xf0) &&
			order_ppr[1] == (VEC_LOW & 0xf0),
		    "PPR in each handler is its vector's class");
	EXPECT_EQ(rdmsr(X2APIC_PPR), 0, "PPR 0 after both EOIs");
}

static bool check_x2apic(bool veneer)
{
	u64 v, id;
	unsigned before;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		if (veneer)
			guest_fail("CPUID.1:ECX[21] x2APIC offered");
		else
			guest_skip("x2APIC (CPUID.1:ECX[21] clear)");
		return false;
	}
	guest_pass("CPUID.1:ECX[21] x2APIC offered");
	v = rdmsr(MSR_APIC_BASE);
	EXPECT_TRUE(!wrmsr_gp(MSR_APIC_BASE, v | APIC_BASE_EN | APIC_BASE_EXTD),
		    "IA32_APIC_BASE.EXTD: x2APIC mode");
	EXPECT_TRUE(rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD, "EXTD reads back");
	EXPECT_TRUE(!wrmsr_gp(X2APIC_SVR, SVR_ENABLE | 0xff),
		    "x2APIC SVR enabled");
	id = rdmsr(X2APIC_ID);
	EXPECT_EQ(id, 0, "x2APIC ID is the vCPU index");
	EXPECT_EQ(rdmsr(X2APIC_VERSION) & 0xff, 0x14, "x2APIC version 0x14");
	EXPECT_EQ(rdmsr(X2APIC_LDR), 1, "x2APIC LDR derived from the ID");
	EXPECT_TRUE(rdmsr_gp(X2APIC_SELF_IPI, &v), "read of SELF IPI is #GP");
	EXPECT_TRUE(wrmsr_gp(X2APIC_ID, 0), "write of the ID is #GP");
	EXPECT_TRUE(wrmsr_gp(X2APIC_TPR, 0x100), "reserved TPR bit is #GP");
	EXPECT_TRUE(rdmsr_gp(X2APIC_ICR_HIGH, &v), "no ICR high: #GP");
	EXPECT_TRUE(rdmsr_gp(X2APIC_DFR, &v), "no DFR: #GP");
	EXPECT_TRUE(wrmsr_gp(X2APIC_EOI, 1), "non-zero EOI is #GP");
	EXPECT_TRUE(wrmsr_gp(X2APIC_ICR, ICR_SELF | BIT(13) | VEC_IPI),
		    "reserved ICR bit 13 is #GP");
	EXPECT_TRUE(!wrmsr_gp(X2APIC_TPR, 0), "TPR 0");

	before = ipi_count;
	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	EXPECT_EQ(ipi_count - before, 1, "SELF IPI arrives once");
	before = ipi_count;
	wrmsr(X2APIC_ICR, ICR_SELF | VEC_IPI);
	open_window();
	EXPECT_EQ(ipi_count - before, 1, "ICR self IPI arrives once");
	before = ipi_count;
	wrmsr(X2APIC_ICR, (id << 32) | VEC_IPI);
	open_window();
	EXPECT_EQ(ipi_count - before, 1, "ICR IPI to its own x2APIC ID");
	check_priority();
	return true;
}

static void check_tsc_deadline(bool veneer)
{
	u64 deadline, v, now;
	unsigned spins = 0;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_TSCDL)) {
		if (veneer)
			guest_fail("CPUID.1:ECX[24] TSC-deadline offered");
		else
			guest_skip("TSC-deadline (CPUID.1:ECX[24] clear)");
		return;
	}
	guest_pass("CPUID.1:ECX[24] TSC-deadline offered");
	wrmsr(X2APIC_LVT_TIMER, LVT_TSC_DEADLINE | VEC_TIMER);
	deadline = rdtsc() + DEADLINE_TICKS;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	v = rdmsr(MSR_TSC_DEADLINE);
	now = rdtsc();
	while (!timer_count && spins++ < 1000)
		cpu_sti_hlt(); /* the deadline wakes it */
	cpu_cli();
	/* 0 only once it fired: the TSC runs on through an emulated exit. */
	EXPECT_TRUE(v == deadline || (v == 0 && now >= deadline),
		    "IA32_TSC_DEADLINE reads back");
	EXPECT_EQ(timer_count, 1, "TSC-deadline interrupt arrives");
	EXPECT_TRUE(timer_tsc >= deadline, "not before the deadline");
	guest_printf(
	    "kvmpv: deadline interrupt %llu ticks after the deadline\n",
	    (unsigned long long)(timer_tsc - deadline));
	EXPECT_TRUE(!rdmsr_gp(MSR_TSC_DEADLINE, &v) && v == 0,
		    "IA32_TSC_DEADLINE reads 0 after it fired");
	open_window();
	EXPECT_EQ(timer_count, 1, "it fires once");
	/* A deadline already passed fires at once. */
	wrmsr(MSR_TSC_DEADLINE, rdtsc() - 1);
	open_window();
	EXPECT_EQ(timer_count, 2, "a deadline in the past fires at once");
}

static bool in_service(u8 vector)
{
	return rdmsr(X2APIC_ISR0 + vector / 32) & BIT(vector % 32);
}

static void check_pv_eoi(void)
{
	u64 v;

	trap_set_handler(VEC_IPI, pv_ipi_handler);
	trap_set_handler(VEC_LOW, pv_low_handler);
	EXPECT_TRUE(wrmsr_gp(MSR_KVM_PV_EOI, (u32)&pv_eoi_word | 3),
		    "PV EOI with bit 1 set is #GP");
	EXPECT_TRUE(wrmsr_gp(MSR_KVM_PV_EOI, 0xfff00000ULL | 1),
		    "PV EOI word outside RAM is #GP");
	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_PV_EOI, (u32)&pv_eoi_word | 1),
		    "PV EOI enabled");
	EXPECT_TRUE(!rdmsr_gp(MSR_KVM_PV_EOI, &v) &&
			v == ((u32)&pv_eoi_word | 1),
		    "MSR_KVM_PV_EOI_EN reads back");

	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	EXPECT_EQ(pv_count[0], 1, "PV EOI: the self IPI arrives");
	EXPECT_EQ(pv_bit_set[0], 1, "PV EOI: its handler finds bit 0 set");
	EXPECT_TRUE(!in_service(VEC_IPI),
		    "PV EOI: not in service after it (Veneer's EOI)");
	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	EXPECT_EQ(pv_count[0], 2, "PV EOI: the same vector arrives again");
	EXPECT_EQ(pv_bit_set[0], 2, "PV EOI: bit 0 set again");

	/* Two waiting: the first's EOI cannot wait, the second's can. */
	wrmsr(X2APIC_SELF_IPI, VEC_LOW);
	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	EXPECT_TRUE(pv_count[0] == 3 && pv_count[1] == 1,
		    "PV EOI: both interrupts arrive");
	EXPECT_EQ(pv_bit_set[0], 2,
		  "PV EOI: not offered with another interrupt waiting");
	EXPECT_EQ(pv_bit_set[1], 1, "PV EOI: offered for the last one");
	EXPECT_TRUE(!in_service(VEC_IPI) && !in_service(VEC_LOW),
		    "PV EOI: neither in service after");

	EXPECT_TRUE(!wrmsr_gp(MSR_KVM_PV_EOI, 0), "PV EOI turned off");
	wrmsr(X2APIC_SELF_IPI, VEC_IPI);
	open_window();
	EXPECT_TRUE(pv_count[0] == 4 && pv_bit_set[0] == 2,
		    "PV EOI off: the bit is never set");
	EXPECT_EQ(pv_eoi_word, 0, "PV EOI off: the word is left alone");
	trap_set_handler(VEC_IPI, ipi_handler);
}

/*
 * KVM's hypercalls: a PV IPI to itself arrives once and is counted;
 * APIC IDs no vCPU has take none; a delivery mode other than fixed or NMI
 * is refused; a kick of itself lets its next HLT end with interrupts off
 * (without it, a one-vCPU guest halted so is stopped); sched yield
 * returns 0. In x2APIC mode, the IPI handler in place.
 */
static void check_pv_calls(void)
{
	unsigned before = ipi_count;
	long r;

	r = hypercall(HYPERCALL_VMCALL, KVM_HC_SEND_IPI, 1, 0, 0, VEC_IPI);
	EXPECT_EQ(r, 1, "PV send-IPI to APIC ID 0: one vCPU took it");
	open_window();
	EXPECT_EQ(ipi_count, before + 1, "PV send-IPI: the interrupt arrives");
	r = hypercall(HYPERCALL_VMCALL, KVM_HC_SEND_IPI, 0x6, 1, 0, VEC_IPI);
	EXPECT_EQ(r, 0, "PV send-IPI to APIC IDs no vCPU has: none");
	r = hypercall(HYPERCALL_VMCALL, KVM_HC_SEND_IPI, 1, 0, 0,
		      0x500 | VEC_IPI);
	EXPECT_EQ(r, HC_EINVAL, "PV send-IPI of an INIT: refused");
	open_window();
	EXPECT_EQ(ipi_count, before + 1, "PV send-IPI: nothing more arrives");
	r = hypercall(HYPERCALL_VMCALL, KVM_HC_SCHED_YIELD, 0, 0, 0, 0);
	EXPECT_EQ(r, 0, "PV sched yield returns 0");
	r = hypercall(HYPERCALL_VMCALL, KVM_HC_KICK_CPU, 0, 0, 0, 0);
	EXPECT_EQ(r, 0, "kick of APIC ID 0 returns 0");
	cpu_cli();
	__asm__ volatile("hlt" ::: "memory");
	guest_pass("HLT with interrupts off ends after a kick");
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *want = cmdline_value(guest_cmdline(mbi), "kvm");
	const char *pveoi = cmdline_value(guest_cmdline(mbi), "pveoi");
	bool veneer = under_veneer(), kvm = want && want[0] == '1';
	bool x2apic;

	pv_eoi_expected = !(pveoi && pveoi[0] == '0');
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	trap_catch(VEC_GP);
	trap_skip_bytes = MSR_INSN_LEN;
	trap_set_handler(VEC_IPI, ipi_handler);
	trap_set_handler(VEC_TIMER, timer_handler);
	if (!veneer) {
		guest_skip("KVM leaves and kvm-clock: not under Veneer");
	} else {
		check_leaves(kvm);
		check_other_msrs(kvm);
		if (kvm) {
			check_kvmclock();
			check_steal_time();
		}
	}
	x2apic = check_x2apic(veneer);
	if (x2apic)
		check_tsc_deadline(veneer);
	else
		guest_skip("TSC-deadline (checked in x2APIC mode)");
	if (veneer && kvm && x2apic) {
		if (pv_eoi_expected)
			check_pv_eoi();
		else
			guest_skip("PV EOI: not advertised (pveoi=0)");
		check_pv_calls();
	} else {
		guest_skip("PV EOI and KVM's hypercalls (kvm=1, x2APIC)");
	}
}
