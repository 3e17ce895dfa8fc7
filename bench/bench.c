/* SPDX-License-Identifier: MIT */
/*
 * bench: what one VM exit costs, seen from inside the guest.
 *
 * A multiboot (v1) test kernel built with the test-guest library. It times
 * N iterations of each operation with the TSC and prints one line per row:
 *
 *   BENCH name=cpuid iters=1000 total=T empty=E per=X.Y
 *   BENCH name=x2apic_eoi status=unavailable reason="..."
 *
 * total is the TSC ticks of the timed loop, empty the ticks of the same
 * loop without the operation (the loop counter and the two TSC reads), and
 * per = (total - empty) / iters. Under QEMU -icount shift=0 and Bochs
 * (clock: sync=none, one CPU) the TSC advances once per emulated
 * instruction, so per is an instruction count: the "alu" row (two
 * instructions per iteration) must then read exactly 2.0, which
 * bench/run-bench checks.
 *
 * The same image runs natively (QEMU -kernel, Bochs from a GRUB ISO) for
 * the baseline; rows that need Veneer (hypercalls, its one-shot timer)
 * print status=unavailable there. bench/run-bench compares the runs;
 * docs/benchmarks.md explains the rows.
 *
 * The smp rows time IPI round trips between the boot CPU and one AP
 * (started by INIT and SIPI through the library's trampoline, lib/ap.c):
 * they need a machine (natively) or a guest (vcpus=2) with two CPUs.
 *
 * Command line (key=value words):
 *   set=core|lapic|smp|all  which rows (default all). The LAPIC rows run
 *                       on their own under Veneer (a hypervisor without an
 *                       xAPIC page stops the guest at the first access),
 *                       the smp rows too (they need two vCPUs).
 *   rows=a,b,...        only these rows (of the set); default all
 *   iters=N             iterations per row (default 1000, 1..1000000)
 *   veneer=0|1          as for every test guest (tests/guests/README.md)
 */
#include "tests/guests/lib/ap.h"
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/trap.h"

#define DEFAULT_ITERS 1000
#define MAX_ITERS     1000000
#define WARMUP_ITERS  100

/* Vectors of the interrupts the rows use (all above the exceptions). */
#define VEC_SOFT_INT	0x41 /* int $0x41: the interrupt-delivery baseline */
#define VEC_TIMER	0x40 /* Veneer's HC_TIMER_ONESHOT */
#define VEC_SELF_IPI	0x42 /* x2APIC SELF IPI */
#define VEC_LAPIC_TIMER 0x43 /* LAPIC timer, one-shot */
#define VEC_PING	0x44 /* smp rows: the boot CPU to the AP */
#define VEC_PONG	0x45 /* smp rows: the AP's answer */
#define VEC_DOORBELL	0x46 /* smp rows: wakes the AP to read its request */

/* MSRs (SDM Vol. 4, table 2-2). */
#define MSR_IA32_APIC_BASE     0x1b
#define MSR_IA32_PAT	       0x277
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define APIC_BASE_EXTD	       BIT(10) /* x2APIC mode */
#define APIC_BASE_ENABLE       BIT(11)
#define APIC_BASE_ADDR_MASK    0xfffff000U

/* x2APIC MSRs: 0x800 + xAPIC offset / 16 (SDM Vol. 3A 11.12.1.2). */
#define X2APIC_TPR	 0x808
#define X2APIC_EOI	 0x80b
#define X2APIC_SVR	 0x80f
#define X2APIC_LVT_TIMER 0x832
#define LVT_MASKED	 BIT(16)
#define X2APIC_ICR	 0x830
/* TSC-deadline mode (SDM Vol. 3A 11.5.4.1): LVT timer bits 18:17 = 10b,
 * armed by IA32_TSC_DEADLINE; CPUID.1:ECX[24] says it exists. */
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define LVT_TIMER_TSC_DEADLINE	(2U << 17)
#define CPUID1_ECX_TSC_DEADLINE BIT(24)
/* KVM's para-virtual interface at 0x40000100 under Veneer (its cpuid.rst
 * and msr.rst; docs/hypercall.md). */
#define KVM_LEAF_SIG	    0x40000100U
#define KVM_LEAF_FEATURES   0x40000101U
#define KVM_F_CLOCK2	    BIT(3)
#define KVM_F_PV_EOI	    BIT(6)
#define MSR_KVM_SYSTEM_TIME 0x4b564d01U
#define MSR_KVM_PV_EOI_EN   0x4b564d04U
/* ICR: fixed delivery, destination shorthand "self" (bits 19:18 = 01). */
#define ICR_SHORTHAND_SELF BIT(18)
/* ICR (SDM Vol. 3A 11.6.1, Figure 11-12): delivery mode in bits 10:8
 * (000 fixed, 101 INIT, 110 STARTUP), physical destination, level assert
 * (bit 14), delivery status (bit 12, xAPIC only). */
#define ICR_INIT    (5U << 8)
#define ICR_STARTUP (6U << 8)
#define ICR_BUSY    BIT(12)
#define ICR_ASSERT  BIT(14)

/* xAPIC registers, offsets from the APIC base (SDM Vol. 3A 11.4.1). */
#define XAPIC_VERSION	      0x030
#define XAPIC_EOI	      0x0b0
#define XAPIC_SVR	      0x0f0
#define XAPIC_TPR	      0x080
#define XAPIC_ICR_LOW	      0x300
#define XAPIC_ICR_HIGH	      0x310
#define XAPIC_DEST_SHIFT      24 /* ICR high: destination in bits 31:24 */
#define XAPIC_LVT_TIMER	      0x320
#define XAPIC_TIMER_INITIAL   0x380
#define XAPIC_TIMER_CURRENT   0x390
#define XAPIC_TIMER_DIVIDE    0x3e0
#define APIC_SVR_ENABLE	      BIT(8)
#define APIC_TIMER_DIVIDE_BY1 0xb

/* CPUID.1 feature bits (SDM Vol. 2A CPUID, table 3-10 and 3-11). */
#define CPUID1_EDX_APIC	  BIT(9)
#define CPUID1_ECX_X2APIC BIT(21)

/* Port I/O rows: the virtual UART's scratch register (inside Veneer) and
 * a port that no device claims. */
#define PORT_UART_SCRATCH 0x3ff
#define PORT_UNOWNED	  0x2f0

/* The memory walk: 8 MiB, one touch per 4 KiB page, 4 passes. */
#define WALK_BYTES  (8 * MiB)
#define WALK_PASSES 4
#define WALK_BASE   (4 * MiB) /* above the 1 MiB image, below 16 MiB */

/* Bochs' shutdown port: writing "Shutdown" ends the emulation. Used only
 * natively in Bochs, where nothing listens on the debug-exit port. */
#define BOCHS_SHUTDOWN_PORT 0x8900

/* Longest wait for an interrupt in the HLT rows: a missing wake must not
 * hang the benchmark. */
#define MAX_WAIT_TICKS 2000000000ULL
/* Longest wait for the answer to one IPI, in PAUSE loops (a count, not
 * the TSC, so that the wait adds no RDTSC to the timed region). */
#define MAX_WAIT_SPINS 100000000U

#define AP_STACK_SIZE 8192

static u32 iters = DEFAULT_ITERS;
static const char *rows_filter; /* rows=a,b,c: only these; NULL: all */
static bool veneer;
static unsigned failures;

/* ---- time stamps ----
 * LFENCE before RDTSC keeps the read from passing earlier instructions on
 * real hardware (SDM Vol. 2B RDTSC); CPUID would serialize too, but it
 * exits under a hypervisor. The emulators execute in order anyway. */
static inline u64 tsc_stamp(void)
{
	u32 lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((u64)hi << 32) | lo;
}

/* ---- the timed loops ----
 * Each runs its body n times (n >= 1) with ESI as the counter and returns
 * the TSC ticks taken. The loop overhead (dec, jnz, the stamps) is the
 * "empty" loop, subtracted by the report. */
#define LOOP_ASM(body) "1:\n\t" body "\n\tdec %%esi\n\tjnz 1b"

static u64 loop_empty(u32 n)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("") : "+S"(n) : : "memory");
	return tsc_stamp() - t0;
}

static u64 loop_alu(u32 n)
{
	u32 a = 1, d = 2;
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("add %%eax, %%edx\n\txor %%edx, %%eax")
			 : "+S"(n), "+a"(a), "+d"(d)
			 :
			 : "memory");
	return tsc_stamp() - t0;
}

static u64 loop_cpuid(u32 n)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("xor %%eax, %%eax\n\tcpuid")
			 : "+S"(n)
			 :
			 : "memory", "eax", "ebx", "ecx", "edx");
	return tsc_stamp() - t0;
}

/* HC_VERSION: the cheapest call, so the figure is the exit path itself. */
static u64 loop_vmcall(u32 n)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("xor %%eax, %%eax\n\tvmcall")
			 : "+S"(n)
			 :
			 : "memory", "eax");
	return tsc_stamp() - t0;
}

static u64 loop_vmmcall(u32 n)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("xor %%eax, %%eax\n\tvmmcall")
			 : "+S"(n)
			 :
			 : "memory", "eax");
	return tsc_stamp() - t0;
}

static u64 loop_inb(u32 n, u16 port)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("inb %%dx, %%al")
			 : "+S"(n)
			 : "d"(port)
			 : "memory", "eax");
	return tsc_stamp() - t0;
}

static u64 loop_pio_uart(u32 n)
{
	return loop_inb(n, PORT_UART_SCRATCH);
}

static u64 loop_pio_unowned(u32 n)
{
	return loop_inb(n, PORT_UNOWNED);
}

static u64 loop_rdmsr(u32 n, u32 msr)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("rdmsr")
			 : "+S"(n)
			 : "c"(msr)
			 : "memory", "eax", "edx");
	return tsc_stamp() - t0;
}

static u64 loop_wrmsr(u32 n, u32 msr, u64 value)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("wrmsr")
			 : "+S"(n)
			 : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32))
			 : "memory");
	return tsc_stamp() - t0;
}

static u64 loop_rdmsr_pat(u32 n)
{
	return loop_rdmsr(n, MSR_IA32_PAT);
}

/* Writes back the value PAT already has: the guest's memory types stay. */
static u64 loop_wrmsr_pat(u32 n)
{
	return loop_wrmsr(n, MSR_IA32_PAT, rdmsr(MSR_IA32_PAT));
}

static u64 loop_rdmsr_mtrr_def_type(u32 n)
{
	return loop_rdmsr(n, MSR_IA32_MTRR_DEF_TYPE);
}

static volatile u32 soft_int_count;
static void soft_int_handler(struct trap_frame *frame)
{
	(void)frame;
	soft_int_count++;
}

static u64 loop_soft_int(u32 n)
{
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("int $0x41") : "+S"(n) : : "memory");
	return tsc_stamp() - t0;
}

/* One touch (read-modify-write) per page over WALK_BYTES at WALK_BASE;
 * iterations are pages, so per = ticks per page touched. */
static u64 walk_pass(void)
{
	u32 p = WALK_BASE, n = WALK_BYTES / PAGE_SIZE;
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("incl (%%edi)\n\tadd $4096, %%edi")
			 : "+S"(n), "+D"(p)
			 :
			 : "memory");
	return tsc_stamp() - t0;
}

/* ---- reporting ---- */

/* n / d without libgcc's __udivdi3 (this is a 32-bit freestanding image):
 * two DIVs, high half first, so the second never overflows (its EDX, the
 * remainder, is below d; SDM Vol. 2A DIV). */
static u64 div_u64_u32(u64 n, u32 d)
{
	u32 hi = (u32)(n >> 32), lo = (u32)n, q_hi, q_lo, rem;
	q_hi = hi / d;
	rem = hi % d;
	__asm__("divl %2" : "=a"(q_lo), "+d"(rem) : "rm"(d), "a"(lo));
	return ((u64)q_hi << 32) | q_lo;
}

static void report(const char *name, u32 n, u64 total, u64 empty)
{
	u64 net = total > empty ? total - empty : 0;
	u64 per10 = div_u64_u32(net * 10 + n / 2, n);
	u64 whole = div_u64_u32(per10, 10);
	guest_printf("BENCH name=%s iters=%llu total=%llu empty=%llu "
		     "per=%llu.%llu\n",
		     name, (unsigned long long)n, (unsigned long long)total,
		     (unsigned long long)empty, (unsigned long long)whole,
		     (unsigned long long)(per10 - whole * 10));
}

static void unavailable(const char *name, const char *reason)
{
	guest_printf("BENCH name=%s status=unavailable reason=\"%s\"\n", name,
		     reason);
}

/* A row that went wrong (an interrupt that never came...): the run fails,
 * so a broken figure is never published. */
static void row_failed(const char *name, const char *reason)
{
	guest_printf("BENCH name=%s status=failed reason=\"%s\"\n", name,
		     reason);
	failures++;
}

/* Whether the command line's rows= list (if any) names this row. */
static bool row_wanted(const char *name)
{
	const char *p = rows_filter;
	size_t len = str_len(name);
	if (!p)
		return true;
	while (*p && *p != ' ') {
		if (str_starts_with(p, name) &&
		    (p[len] == ',' || p[len] == ' ' || !p[len]))
			return true;
		while (*p && *p != ' ' && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Warm up, then time iters iterations of fn and of the empty loop. */
static void run_loop_row(const char *name, u64 (*fn)(u32 n))
{
	u64 total, empty;
	if (!row_wanted(name))
		return;
	fn(WARMUP_ITERS);
	loop_empty(WARMUP_ITERS);
	total = fn(iters);
	empty = loop_empty(iters);
	report(name, iters, total, empty);
}

/* ---- rows that need care ---- */
static void row_soft_int(void)
{
	trap_set_handler(VEC_SOFT_INT, soft_int_handler);
	soft_int_count = 0;
	if (!row_wanted("soft_int"))
		return;
	run_loop_row("soft_int", loop_soft_int);
	if (soft_int_count != WARMUP_ITERS + iters)
		row_failed("soft_int", "handler count is not the number of "
				       "int instructions");
}

static void row_memwalk(const struct multiboot_info *mbi)
{
	static struct guest_mmap map;
	u64 total = 0, empty = 0;
	bool fits = false;
	unsigned i;
	if (!row_wanted("memwalk"))
		return;
	if (!guest_mmap_read(mbi, &map)) {
		row_failed("memwalk", "no multiboot memory map");
		return;
	}
	for (i = 0; i < map.count; i++)
		if (map.entry[i].type == MULTIBOOT_MEMORY_AVAILABLE &&
		    map.entry[i].base <= WALK_BASE &&
		    map.entry[i].base + map.entry[i].length >=
			WALK_BASE + WALK_BYTES)
			fits = true;
	if (!fits || (uintptr_t)_guest_image_end > WALK_BASE) {
		unavailable("memwalk", "4-12 MiB is not free usable RAM (give "
				       "the guest at least 16 MiB)");
		return;
	}
	walk_pass(); /* warm-up: the first touch of each page */
	for (i = 0; i < WALK_PASSES; i++) {
		total += walk_pass();
		empty += loop_empty(WALK_BYTES / PAGE_SIZE);
	}
	report("memwalk", WALK_PASSES * (WALK_BYTES / PAGE_SIZE), total, empty);
}

static void row_hypercalls(void)
{
	/* Natively both instructions raise #UD: nothing to time. */
	if (!veneer) {
		unavailable("vmcall", "not under Veneer");
		unavailable("vmmcall", "not under Veneer");
		return;
	}
	if (hypercall(HYPERCALL_VMCALL, HC_VERSION, 0, 0, 0, 0) !=
	    HC_VERSION_1_0) {
		row_failed("vmcall", "HC_VERSION did not return 1.0");
		return;
	}
	run_loop_row("vmcall", loop_vmcall);
	run_loop_row("vmmcall", loop_vmmcall);
}

/*
 * Waits with interrupts enabled for the count at *counter to move past
 * `before`, with `sti; hlt` (atomic: STI's shadow covers HLT). Returns
 * false after MAX_WAIT_TICKS.
 */
static bool halt_until(volatile u32 *counter, u32 before)
{
	u64 start = tsc_stamp();
	while (*counter == before) {
		if (tsc_stamp() - start > MAX_WAIT_TICKS)
			return false;
		cpu_sti_hlt();
		cpu_cli();
	}
	return true;
}

static volatile u32 timer_count;
static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_count++;
}

/* The ticks of n back-to-back stamp pairs: what a stamped region costs
 * when it holds nothing. */
static u64 stamp_pairs(u32 n)
{
	u64 sum = 0;
	for (u32 i = 0; i < n; i++) {
		u64 t0 = tsc_stamp();
		sum += tsc_stamp() - t0;
	}
	return sum;
}

/*
 * HLT woken by Veneer's para-virtual one-shot timer (HC_TIMER_ONESHOT):
 * the stand-in for the LAPIC-timer row until Veneer has a virtual LAPIC.
 * Each iteration arms the timer for 1 us and waits, interrupts off, well
 * past the deadline; the timed region is `sti; hlt` up to the return from
 * the handler: the HLT exit, the injection of the due interrupt, its
 * delivery through the guest's IDT and the IRET, but no idle time. Its
 * native counterpart is the soft_int row (the same handler through int).
 */
static void row_hlt_timer(void)
{
	u64 calibrate, wait_ticks, total = 0;
	u32 i, before;
	if (!veneer) {
		unavailable("hlt_timer", "not under Veneer (the one-shot "
					 "timer is a Veneer hypercall)");
		return;
	}
	/* The 8259s are masked so that only our vector can arrive. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	trap_set_handler(VEC_TIMER, timer_handler);
	/* Calibration: how many ticks a 1000 us timer takes. */
	before = timer_count;
	calibrate = tsc_stamp();
	hypercall(HYPERCALL_VMCALL, HC_TIMER_ONESHOT, VEC_TIMER, 1000, 0, 0);
	if (!halt_until(&timer_count, before)) {
		row_failed("hlt_timer", "the 1000 us timer never fired");
		return;
	}
	calibrate = tsc_stamp() - calibrate;
	guest_printf("BENCH info timer_1ms_ticks=%llu\n",
		     (unsigned long long)calibrate);
	/* 1 us timer, wait ~10 us: the deadline has passed before the HLT. */
	wait_ticks = div_u64_u32(calibrate, 100) + 1;
	for (i = 0; i < WARMUP_ITERS / 10 + iters; i++) {
		u64 t0, t1, spin;
		before = timer_count;
		hypercall(HYPERCALL_VMCALL, HC_TIMER_ONESHOT, VEC_TIMER, 1, 0,
			  0);
		spin = tsc_stamp();
		while (tsc_stamp() - spin < wait_ticks)
			;
		t0 = tsc_stamp();
		cpu_sti_hlt();
		cpu_cli();
		t1 = tsc_stamp();
		if (timer_count != before + 1) {
			row_failed("hlt_timer", "the HLT was not woken by "
						"exactly one timer interrupt");
			return;
		}
		if (i >= WARMUP_ITERS / 10)
			total += t1 - t0;
	}
	report("hlt_timer", iters, total, stamp_pairs(iters));
}

/* ---- LAPIC rows: measured where the (virtual) LAPIC exists ---- */
static bool catch_gp(bool start)
{
	if (start) {
		trap_record_reset();
		trap_skip_bytes = MSR_INSN_LEN;
		trap_catch(VEC_GP);
		return true;
	}
	trap_set_handler(VEC_GP, NULL);
	return trap_last.count == 0;
}

static volatile u32 self_ipi_count;
static void self_ipi_handler(struct trap_frame *frame)
{
	(void)frame;
	self_ipi_count++;
	wrmsr(X2APIC_EOI, 0);
}

static u64 loop_x2apic_tpr_read(u32 n)
{
	return loop_rdmsr(n, X2APIC_TPR);
}
static u64 loop_x2apic_tpr_write(u32 n)
{
	return loop_wrmsr(n, X2APIC_TPR, 0);
}
static u64 loop_x2apic_eoi(u32 n)
{
	return loop_wrmsr(n, X2APIC_EOI, 0);
}
/* An ICR write with the "self" shorthand; the IPI arrives right after the WRMSR
 * (IF = 1) and its handler writes EOI: one iteration is the whole interrupt
 * round trip. */
static u64 loop_x2apic_self_ipi(u32 n)
{
	u64 ticks;
	cpu_sti();
	ticks = loop_wrmsr(n, X2APIC_ICR, ICR_SHORTHAND_SELF | VEC_SELF_IPI);
	cpu_cli();
	return ticks;
}

static const char *const x2apic_rows[] = {
    "x2apic_tpr_read",	   "x2apic_tpr_write", "x2apic_eoi",
    "x2apic_self_ipi",	   "tsc_deadline_hlt", "pv_eoi_self_ipi",
    "tsc_deadline_pv_eoi", "kvmclock_read"};

static void rows_linux_pv(void);

static void x2apic_all_unavailable(const char *reason)
{
	for (unsigned i = 0; i < ARRAY_SIZE(x2apic_rows); i++)
		unavailable(x2apic_rows[i], reason);
}

/* One x2APIC row; any #GP inside it makes the row unavailable. Returns
 * whether the row was timed. */
static bool x2apic_row(const char *name, u64 (*fn)(u32 n))
{
	if (!row_wanted(name))
		return false;
	catch_gp(true);
	fn(1);
	if (!catch_gp(false)) {
		unavailable(name, "the MSR access raised #GP");
		return false;
	}
	run_loop_row(name, fn);
	return true;
}

static void rows_x2apic(void)
{
	u64 base;
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		x2apic_all_unavailable("CPUID.1:ECX[21] (x2APIC) is clear");
		return;
	}
	catch_gp(true);
	base = rdmsr(MSR_IA32_APIC_BASE);
	wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_EXTD);
	wrmsr(X2APIC_SVR, APIC_SVR_ENABLE | 0xff);
	if (!catch_gp(false)) {
		x2apic_all_unavailable(
		    "switching to x2APIC mode (IA32_APIC_BASE "
		    "EXTD, SVR) raised #GP");
		return;
	}
	/* The timer of the xAPIC rows stays quiet: masked. */
	wrmsr(X2APIC_LVT_TIMER, LVT_MASKED);
	x2apic_row("x2apic_tpr_read", loop_x2apic_tpr_read);
	x2apic_row("x2apic_tpr_write", loop_x2apic_tpr_write);
	x2apic_row("x2apic_eoi", loop_x2apic_eoi);
	trap_set_handler(VEC_SELF_IPI, self_ipi_handler);
	self_ipi_count = 0;
	if (x2apic_row("x2apic_self_ipi", loop_x2apic_self_ipi) &&
	    self_ipi_count != 1 + WARMUP_ITERS + iters)
		row_failed("x2apic_self_ipi", "not one interrupt per self IPI");
	rows_linux_pv();
}

/* ---- what Linux uses under KVM's interface: TSC-deadline, PV EOI,
 * kvm-clock (x2APIC mode on, as rows_x2apic left it) ---- */

/* The PV EOI word (msr.rst, MSR_KVM_PV_EOI_EN): bit 0 set by the
 * hypervisor means it takes the EOI of the interrupt being delivered. */
static volatile u32 pv_eoi_word __attribute__((aligned(4)));
static bool pv_eoi_on;
static u32 pv_eois_taken;
static volatile u32 deadline_count;

/* EOI as Linux's KVM guest does it: the PV bit if set, else the MSR. */
static void eoi_pv_or_x2apic(void)
{
	if (pv_eoi_on &&
	    (__atomic_fetch_and(&pv_eoi_word, ~1U, __ATOMIC_SEQ_CST) & 1)) {
		pv_eois_taken++;
		return;
	}
	wrmsr(X2APIC_EOI, 0);
}

static void deadline_handler(struct trap_frame *frame)
{
	(void)frame;
	deadline_count++;
	eoi_pv_or_x2apic();
}

static void pv_self_ipi_handler(struct trap_frame *frame)
{
	(void)frame;
	self_ipi_count++;
	eoi_pv_or_x2apic();
}

/* KVM's features leaf under Veneer's interface, or 0. */
static u32 kvm_features(void)
{
	struct cpuid_regs r = cpuid(KVM_LEAF_SIG, 0);

	/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX. */
	if (r.ebx != 0x4b4d564bU || r.ecx != 0x564b4d56U || r.edx != 0x4d)
		return 0;
	return cpuid(KVM_LEAF_FEATURES, 0).eax;
}

/*
 * The TSC-deadline timer armed and fired, per iteration: WRMSR of a
 * deadline already passed (the timer fires at once, SDM Vol. 3A
 * 11.5.4.1) with interrupts off, then `sti; hlt`, which the waiting
 * interrupt ends; its handler does the EOI (PV or x2APIC, `pv`). Timed
 * from before the WRMSR to after the IRET.
 */
static void row_tsc_deadline(const char *name, bool pv)
{
	u64 total = 0;
	u32 i;

	if (!row_wanted(name))
		return;
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE)) {
		unavailable(name, "CPUID.1:ECX[24] (TSC-deadline) is clear");
		return;
	}
	pv_eoi_on = pv;
	pv_eois_taken = 0;
	trap_set_handler(VEC_LAPIC_TIMER, deadline_handler);
	wrmsr(X2APIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | VEC_LAPIC_TIMER);
	for (i = 0; i < WARMUP_ITERS / 10 + iters; i++) {
		u32 before = deadline_count;
		u64 t0, t1;

		t0 = tsc_stamp();
		wrmsr(MSR_IA32_TSC_DEADLINE, 1);
		cpu_sti_hlt();
		cpu_cli();
		t1 = tsc_stamp();
		if (deadline_count != before + 1) {
			row_failed(name, "the HLT was not woken by exactly one "
					 "TSC-deadline interrupt");
			break;
		}
		if (i >= WARMUP_ITERS / 10)
			total += t1 - t0;
	}
	wrmsr(X2APIC_LVT_TIMER, LVT_MASKED);
	pv_eoi_on = false;
	if (i < WARMUP_ITERS / 10 + iters)
		return;
	if (pv && pv_eois_taken == 0) {
		row_failed(name, "no EOI was left to Veneer (PV EOI never "
				 "offered)");
		return;
	}
	report(name, iters, total, stamp_pairs(iters));
}

/* The x2APIC self IPI again, its EOI left to Veneer by PV EOI. */
static void row_pv_eoi_self_ipi(void)
{
	const char *name = "pv_eoi_self_ipi";

	if (!row_wanted(name))
		return;
	trap_set_handler(VEC_SELF_IPI, pv_self_ipi_handler);
	pv_eoi_on = true;
	pv_eois_taken = 0;
	self_ipi_count = 0;
	if (x2apic_row(name, loop_x2apic_self_ipi)) {
		if (self_ipi_count != 1 + WARMUP_ITERS + iters)
			row_failed(name, "not one interrupt per self IPI");
		else if (pv_eois_taken == 0)
			row_failed(name, "no EOI was left to Veneer (PV EOI "
					 "never offered)");
	}
	pv_eoi_on = false;
	trap_set_handler(VEC_SELF_IPI, self_ipi_handler);
}

/* kvm-clock's per-vCPU time structure (msr.rst, MSR_KVM_SYSTEM_TIME_NEW). */
static volatile struct {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	signed char tsc_shift;
	u8 flags;
	u8 pad[2];
} kvmclock __attribute__((aligned(32)));

/*
 * One kvm-clock read as a guest makes it (msr.rst): version (even), the
 * fields, the TSC, the scaled delta added to system_time, the version
 * again. In 32-bit code: the 64 x 32-bit product's upper 64 bits from two
 * 32 x 32 products.
 */
static u64 kvmclock_read(void)
{
	u32 v, mul;
	u64 tsc, ts, st, d, hi, lo;
	int shift;

	do {
		v = kvmclock.version;
		__asm__ volatile("" ::: "memory");
		ts = kvmclock.tsc_timestamp;
		st = kvmclock.system_time;
		mul = kvmclock.tsc_to_system_mul;
		shift = kvmclock.tsc_shift;
		tsc = tsc_stamp();
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != kvmclock.version);
	d = tsc - ts;
	d = shift < 0 ? d >> -shift : d << shift;
	hi = (u64)(u32)(d >> 32) * mul;
	lo = (u64)(u32)d * mul;
	return st + hi + (lo >> 32);
}

static volatile u64 kvmclock_sink;

static u64 loop_kvmclock_read(u32 n)
{
	u64 t0 = tsc_stamp();

	while (n--)
		kvmclock_sink = kvmclock_read();
	return tsc_stamp() - t0;
}

/* The rows of KVM's interface as Linux uses it (TSC-deadline with PV EOI,
 * kvm-clock), with the TSC-deadline row without PV for a baseline. */
static void rows_linux_pv(void)
{
	u32 f = veneer ? kvm_features() : 0;
	static const char *const pv_rows[] = {
	    "pv_eoi_self_ipi", "tsc_deadline_pv_eoi", "kvmclock_read"};

	row_tsc_deadline("tsc_deadline_hlt", false);
	if (!(f & KVM_F_CLOCK2)) {
		for (unsigned i = 0; i < ARRAY_SIZE(pv_rows); i++)
			if (row_wanted(pv_rows[i]))
				unavailable(pv_rows[i],
					    veneer ? "no KVM interface (pv=kvm)"
						   : "not under Veneer");
		return;
	}
	if (f & KVM_F_PV_EOI) {
		pv_eoi_word = 0;
		wrmsr(MSR_KVM_PV_EOI_EN, (u32)(uintptr_t)&pv_eoi_word | 1);
		row_pv_eoi_self_ipi();
		row_tsc_deadline("tsc_deadline_pv_eoi", true);
		wrmsr(MSR_KVM_PV_EOI_EN, 0);
	} else {
		/* VT-x with APICv: the CPU does a one-vCPU guest's EOIs. */
		for (unsigned i = 0; i < 2; i++)
			if (row_wanted(pv_rows[i]))
				unavailable(pv_rows[i],
					    "PV EOI not advertised: the CPU "
					    "does the EOIs (APICv)");
	}
	if (row_wanted("kvmclock_read")) {
		wrmsr(MSR_KVM_SYSTEM_TIME, (u32)(uintptr_t)&kvmclock | 1);
		if (!kvmclock.version && !kvmclock.tsc_to_system_mul) {
			row_failed("kvmclock_read", "the time structure was "
						    "never written");
			return;
		}
		run_loop_row("kvmclock_read", loop_kvmclock_read);
		wrmsr(MSR_KVM_SYSTEM_TIME, 0);
	}
}

static uintptr_t xapic_base;

static inline u32 xapic_read(u32 reg)
{
	return *(volatile u32 *)(xapic_base + reg);
}
static inline void xapic_write(u32 reg, u32 v)
{
	*(volatile u32 *)(xapic_base + reg) = v;
}

static u64 loop_xapic_mmio_read(u32 n)
{
	u32 p = (u32)(xapic_base + XAPIC_VERSION);
	u64 t0 = tsc_stamp();
	__asm__ volatile(LOOP_ASM("mov (%%edi), %%eax")
			 : "+S"(n), "+D"(p)
			 :
			 : "memory", "eax");
	return tsc_stamp() - t0;
}

static volatile u32 lapic_timer_count;
static void lapic_timer_handler(struct trap_frame *frame)
{
	(void)frame;
	lapic_timer_count++;
	xapic_write(XAPIC_EOI, 0);
}

/*
 * HLT woken by the LAPIC timer, timed like hlt_timer: the one-shot timer
 * (count 1, divide by 1) has run out before `sti; hlt`, so the region is
 * the HLT, the interrupt's delivery, the handler's EOI and the IRET.
 */
static void row_lapic_timer_hlt(void)
{
	u64 total = 0;
	u32 i;
	if (!row_wanted("lapic_timer_hlt"))
		return;
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	trap_set_handler(VEC_LAPIC_TIMER, lapic_timer_handler);
	xapic_write(XAPIC_TIMER_DIVIDE, APIC_TIMER_DIVIDE_BY1);
	xapic_write(XAPIC_LVT_TIMER, VEC_LAPIC_TIMER); /* one-shot, unmasked */
	for (i = 0; i < WARMUP_ITERS / 10 + iters; i++) {
		u32 before = lapic_timer_count;
		u64 t0, t1, spin;
		xapic_write(XAPIC_TIMER_INITIAL, 1);
		spin = tsc_stamp();
		while (xapic_read(XAPIC_TIMER_CURRENT) != 0)
			if (tsc_stamp() - spin > MAX_WAIT_TICKS) {
				row_failed("lapic_timer_hlt",
					   "the LAPIC timer count never "
					   "reached 0");
				return;
			}
		t0 = tsc_stamp();
		cpu_sti_hlt();
		cpu_cli();
		t1 = tsc_stamp();
		if (lapic_timer_count != before + 1) {
			row_failed("lapic_timer_hlt",
				   "the HLT was not woken by exactly one "
				   "LAPIC timer interrupt");
			return;
		}
		if (i >= WARMUP_ITERS / 10)
			total += t1 - t0;
	}
	report("lapic_timer_hlt", iters, total, stamp_pairs(iters));
}

/* Where a hypervisor does not emulate the xAPIC page, the first read below
 * stops the guest ("access to guest-physical 0xfee00030 outside its RAM"):
 * that is why the LAPIC rows run in a guest of their own; run-bench marks
 * whatever did not report as unavailable with the stop reason. */
static void rows_xapic(void)
{
	if (!row_wanted("xapic_mmio_read") && !row_wanted("lapic_timer_hlt"))
		return;
	if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC)) {
		unavailable("xapic_mmio_read",
			    "CPUID.1:EDX[9] (APIC) is clear");
		unavailable("lapic_timer_hlt",
			    "CPUID.1:EDX[9] (APIC) is clear");
		return;
	}
	catch_gp(true);
	xapic_base =
	    (uintptr_t)(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK);
	if (!catch_gp(false)) {
		unavailable("xapic_mmio_read",
			    "rdmsr IA32_APIC_BASE raised #GP");
		unavailable("lapic_timer_hlt",
			    "rdmsr IA32_APIC_BASE raised #GP");
		return;
	}
	guest_printf("BENCH info xapic_base=0x%lx\n",
		     (unsigned long)xapic_base);
	xapic_write(XAPIC_SVR, APIC_SVR_ENABLE | 0xff);
	run_loop_row("xapic_mmio_read", loop_xapic_mmio_read);
	row_lapic_timer_hlt();
}

/* ---- smp rows: IPI round trips between two CPUs ----
 *
 * The boot CPU (vCPU 0) sends a fixed IPI (VEC_PING) to one AP, which
 * waits in `sti; hlt`; the AP's handler writes EOI and sends VEC_PONG
 * back; the boot CPU spins (PAUSE, interrupts on) until its own handler
 * has counted the answer and sends the next. One iteration is one round
 * trip: two IPIs sent, two delivered, two EOIs, the AP's wake-up from
 * HLT. Under Veneer with vcpus=2 the two vCPUs are on host CPUs of their
 * own. The xAPIC row sends through the ICR (MMIO: high, then low, SDM Vol.
 * 3A 11.6.1); the x2APIC row with one WRMSR to MSR 0x830 (11.12.9), both
 * CPUs switched to x2APIC mode first.
 */
static struct ap_madt madt;
static u32 bsp_apic_id, ap_apic_id;
static u8 ap_stack[AP_STACK_SIZE] __aligned(16);
static volatile u32 ap_online;
static volatile u32 ap_want_x2apic; /* the boot CPU's request */
static volatile u32 ap_x2apic;	    /* the AP's mode, set by the AP */
static volatile u32 bsp_x2apic;
static volatile u32 ping_count, pong_count;

/* One IPI, fixed or as low says, in the sender's mode. The xAPIC waits
 * (bounded) for the previous IPI to leave, except in the timed loop, where
 * it left one round trip ago. */
static void ipi_send(bool x2apic, u32 dest, u32 low)
{
	if (x2apic) {
		wrmsr(X2APIC_ICR, ((u64)dest << 32) | low);
		return;
	}
	xapic_write(XAPIC_ICR_HIGH, dest << XAPIC_DEST_SHIFT);
	xapic_write(XAPIC_ICR_LOW, low);
}

static void ipi_send_idle(bool x2apic, u32 dest, u32 low)
{
	for (u32 i = 0;
	     !x2apic && i < 1000000 && (xapic_read(XAPIC_ICR_LOW) & ICR_BUSY);
	     i++)
		__asm__ volatile("pause" : : : "memory");
	ipi_send(x2apic, dest, low);
}

static void eoi(bool x2apic)
{
	if (x2apic)
		wrmsr(X2APIC_EOI, 0);
	else
		xapic_write(XAPIC_EOI, 0);
}

/* On the AP: EOI, then the answer. */
static void ping_handler(struct trap_frame *frame)
{
	(void)frame;
	ping_count++;
	eoi(ap_x2apic);
	ipi_send(ap_x2apic, bsp_apic_id, ICR_ASSERT | VEC_PONG);
}

/* On the boot CPU. */
static void pong_handler(struct trap_frame *frame)
{
	(void)frame;
	pong_count++;
	eoi(bsp_x2apic);
}

/* On the AP: nothing but the wake-up. */
static void doorbell_handler(struct trap_frame *frame)
{
	(void)frame;
	eoi(ap_x2apic);
}

/* The local APIC of the calling CPU: x2APIC mode if asked (SDM Vol. 3A
 * 11.12.1: EXTD with EN), software-enabled, TPR 0 so that every vector
 * is taken. */
static void smp_apic_setup(bool x2apic)
{
	if (x2apic) {
		wrmsr(MSR_IA32_APIC_BASE, rdmsr(MSR_IA32_APIC_BASE) |
					      APIC_BASE_ENABLE |
					      APIC_BASE_EXTD);
		wrmsr(X2APIC_SVR, APIC_SVR_ENABLE | 0xff);
		wrmsr(X2APIC_TPR, 0);
	} else {
		xapic_write(XAPIC_SVR, APIC_SVR_ENABLE | 0xff);
		xapic_write(XAPIC_TPR, 0);
	}
}

/* The AP, after the trampoline: interrupts off, the boot CPU's IDT. It
 * idles in `sti; hlt`; a doorbell makes it look at its request. */
static void bench_ap_main(u32 apic_id)
{
	(void)apic_id;
	smp_apic_setup(false);
	ap_online = 1;
	for (;;) {
		cpu_cli();
		if (ap_want_x2apic && !ap_x2apic) {
			smp_apic_setup(true);
			ap_x2apic = 1;
			continue;
		}
		/* A doorbell after the look still wakes the HLT (the STI
		 * shadow, cpu_sti_hlt()). */
		cpu_sti_hlt();
	}
}

static bool wait_for(volatile u32 *flag)
{
	for (u32 i = 0; i < MAX_WAIT_SPINS; i++) {
		if (*flag)
			return true;
		__asm__ volatile("pause" : : : "memory");
	}
	return false;
}

/* n round trips; returns the ticks, or 0 if an answer did not come. */
static u64 ipi_round_trips(bool x2apic, u32 n)
{
	u32 low = ICR_ASSERT | VEC_PING;
	u64 t0 = tsc_stamp();
	for (u32 i = 0; i < n; i++) {
		u32 before = pong_count, spins = 0;
		ipi_send(x2apic, ap_apic_id, low);
		while (pong_count == before) {
			if (++spins == MAX_WAIT_SPINS)
				return 0;
			__asm__ volatile("pause" : : : "memory");
		}
	}
	return tsc_stamp() - t0;
}

static void row_ipi(const char *name, bool x2apic)
{
	u64 total;
	if (!row_wanted(name))
		return;
	ping_count = pong_count = 0;
	cpu_sti();
	total = ipi_round_trips(x2apic, WARMUP_ITERS);
	if (total)
		total = ipi_round_trips(x2apic, iters);
	cpu_cli();
	if (!total) {
		row_failed(name, "an IPI got no answer");
		return;
	}
	if (ping_count != WARMUP_ITERS + iters ||
	    pong_count != WARMUP_ITERS + iters) {
		row_failed(name, "not one ping and one answer per round trip");
		return;
	}
	report(name, iters, total, loop_empty(iters));
}

static const char *const smp_rows[] = {"ipi_xapic", "ipi_x2apic"};

static void smp_all_unavailable(const char *why, const char *detail)
{
	for (unsigned i = 0; i < ARRAY_SIZE(smp_rows); i++)
		guest_printf(
		    "BENCH name=%s status=unavailable reason=\"%s%s%s\"\n",
		    smp_rows[i], why, detail ? ": " : "", detail ? detail : "");
}

/* Starts the second CPU of the MADT with one INIT and one STARTUP IPI
 * (no delays: a virtual machine needs none, and QEMU and Bochs need none
 * natively). */
static bool smp_start(const struct multiboot_info *mbi)
{
	const char *error = ap_madt_read(&madt);
	if (error) {
		smp_all_unavailable("no MADT to find a second CPU", error);
		return false;
	}
	guest_printf("BENCH info cpus=%u\n", madt.count);
	if (madt.count < 2) {
		smp_all_unavailable("one CPU: the MADT lists one local APIC "
				    "(2 CPUs natively, vcpus=2 under Veneer)",
				    NULL);
		return false;
	}
	if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC)) {
		smp_all_unavailable("CPUID.1:EDX[9] (APIC) is clear", NULL);
		return false;
	}
	if (!ap_trampoline_fits(mbi)) {
		smp_all_unavailable("the AP trampoline at 0x8000 would "
				    "overwrite the multiboot info",
				    NULL);
		return false;
	}
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD) {
		smp_all_unavailable("the boot CPU is in x2APIC mode already "
				    "(run set=smp on its own)",
				    NULL);
		return false;
	}
	bsp_apic_id = madt.apic_id[0];
	ap_apic_id = madt.apic_id[1];
	xapic_base =
	    (uintptr_t)(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	trap_set_handler(VEC_PING, ping_handler);
	trap_set_handler(VEC_PONG, pong_handler);
	trap_set_handler(VEC_DOORBELL, doorbell_handler);
	smp_apic_setup(false);
	ap_set_stack(ap_apic_id, ap_stack + sizeof(ap_stack));
	ap_prepare(bench_ap_main);
	ipi_send_idle(false, ap_apic_id, ICR_ASSERT | ICR_INIT);
	ipi_send_idle(false, ap_apic_id,
		      ICR_ASSERT | ICR_STARTUP | AP_SIPI_VECTOR);
	if (!wait_for(&ap_online)) {
		for (unsigned i = 0; i < ARRAY_SIZE(smp_rows); i++)
			row_failed(smp_rows[i], "the AP did not start");
		return false;
	}
	guest_printf("BENCH info ipi_from=%u ipi_to=%u\n", bsp_apic_id,
		     ap_apic_id);
	return true;
}

static void rows_smp(const struct multiboot_info *mbi)
{
	if (!row_wanted("ipi_xapic") && !row_wanted("ipi_x2apic"))
		return;
	if (!smp_start(mbi))
		return;
	row_ipi("ipi_xapic", false);
	if (!row_wanted("ipi_x2apic"))
		return;
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
		unavailable("ipi_x2apic", "CPUID.1:ECX[21] (x2APIC) is clear");
		return;
	}
	/* The AP first, while both still speak xAPIC. */
	ap_want_x2apic = 1;
	ipi_send_idle(false, ap_apic_id, ICR_ASSERT | VEC_DOORBELL);
	if (!wait_for(&ap_x2apic)) {
		row_failed("ipi_x2apic", "the AP did not switch to x2APIC");
		return;
	}
	catch_gp(true);
	smp_apic_setup(true);
	if (!catch_gp(false)) {
		unavailable("ipi_x2apic", "switching to x2APIC mode "
					  "(IA32_APIC_BASE EXTD, SVR) raised "
					  "#GP");
		return;
	}
	bsp_x2apic = 1;
	row_ipi("ipi_x2apic", true);
}

/* ---- start and end ---- */
static __noreturn void bench_exit(u32 code)
{
	static const char shutdown[] = "Shutdown";
	guest_printf("BENCH done failures=%u\n%s\n", failures,
		     code ? "FAIL" : "PASS");
	serial_drain();
	outl(DEBUG_EXIT_PORT, code);		/* Veneer, QEMU: ends here */
	for (const char *c = shutdown; *c; c++) /* Bochs natively */
		outb(BOCHS_SHUTDOWN_PORT, (u8)*c);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Whether the word at s is exactly word (up to a space or the end). */
static bool word_is(const char *s, const char *word)
{
	size_t len = str_len(word);
	return str_starts_with(s, word) && (!s[len] || s[len] == ' ');
}

static bool parse_options(const char *cmdline, bool *core, bool *lapic,
			  bool *smp)
{
	const char *set = cmdline_value(cmdline, "set");
	const char *n = cmdline_value(cmdline, "iters");
	rows_filter = cmdline_value(cmdline, "rows");
	u64 value;
	*core = *lapic = *smp = true;
	if (set && !word_is(set, "all")) {
		*core = word_is(set, "core");
		*lapic = word_is(set, "lapic");
		*smp = word_is(set, "smp");
		if (!*core && !*lapic && !*smp) {
			guest_printf("BENCH error: set= must be core, lapic, "
				     "smp or all\n");
			return false;
		}
	}
	if (n) {
		if (!parse_u64(n, &value) || value < 1 || value > MAX_ITERS) {
			guest_printf("BENCH error: iters= must be a number "
				     "from 1 to %u\n",
				     MAX_ITERS);
			return false;
		}
		iters = (u32)value;
	}
	return true;
}

void guest_main(const struct multiboot_info *mbi)
{
	struct cpuid_regs vendor = cpuid(0, 0);
	char vendor_text[13];
	bool core, lapic, smp;
	if (!parse_options(guest_cmdline(mbi), &core, &lapic, &smp))
		bench_exit(1);
	veneer = under_veneer();
	memcpy(vendor_text, &vendor.ebx, 4);
	memcpy(vendor_text + 4, &vendor.edx, 4);
	memcpy(vendor_text + 8, &vendor.ecx, 4);
	vendor_text[12] = 0;
	guest_printf("BENCH start veneer=%d iters=%u vendor=%s\n", veneer,
		     iters, vendor_text);
	if (guest_failures) /* veneer= on the command line disagreed */
		bench_exit(1);
	if (core) {
		run_loop_row("empty", loop_empty);
		run_loop_row("alu", loop_alu);
		run_loop_row("cpuid", loop_cpuid);
		row_hypercalls();
		run_loop_row("pio_uart", loop_pio_uart);
		run_loop_row("pio_unowned", loop_pio_unowned);
		run_loop_row("rdmsr_pat", loop_rdmsr_pat);
		run_loop_row("wrmsr_pat", loop_wrmsr_pat);
		run_loop_row("rdmsr_mtrr_def_type", loop_rdmsr_mtrr_def_type);
		row_memwalk(mbi);
		/* The interrupt rows last: a lost interrupt ends the run. */
		row_soft_int();
		row_hlt_timer();
	}
	/* Every xAPIC row before every x2APIC one: leaving x2APIC mode
	 * again needs a pass through "disabled", which not every (emulated)
	 * CPU takes back. */
	if (lapic)
		rows_xapic();
	if (smp)
		rows_smp(mbi);
	if (lapic)
		rows_x2apic();
	bench_exit(failures ? 1 : 0);
}
