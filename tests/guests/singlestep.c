/* SPDX-License-Identifier: MIT */
/*
 * singlestep: with RFLAGS.TF set, every instruction ends with a #DB trap
 * that has DR6.BS set and points at the next instruction (SDM Vol. 3B
 * 18.3.1.4, APM Vol. 2 13.1.3.2) -- also the instructions a hypervisor
 * completes for the guest: CPUID, OUT, IN, RDMSR, WRMSR, MMIO reads and
 * writes (the local APIC page), and under Veneer VMCALL, VMMCALL and HLT.
 *
 * The shadows: an instruction behind MOV SS or STI that exits gets its #DB
 * too. After MOV SS the CPU may hold its own trap back until after the
 * next instruction (Intel, Bochs) or deliver it at once (QEMU's TCG), and
 * likewise after STI: either is accepted, the trap after the exiting
 * instruction is required.
 *
 * An instruction that faults instead (RDMSR of an MSR nobody implements,
 * under Veneer) ends with the fault and no #DB; the trap comes after the
 * next instruction, once the fault handler's IRET restored TF.
 *
 * Each case sets TF with POPF right before the instruction (the first trap
 * follows the instruction after the POPF) and names where stepping stops;
 * the #DB handler records every trap (EIP, DR6), clears DR6 and clears TF
 * there. Issue 16 item 3: both vendors used to lose the #DB.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/trap.h"

#define VEC_DB		   1
#define DR6_BS		   BIT(14)
#define DR6_CLEAR	   0xffff0ff0u
#define RFLAGS_TF	   BIT(8)
#define MAX_TRAPS	   8
#define TIMER_VECTOR	   0x40
#define MSR_MTRR_DEF_TYPE  0x2ff
#define MSR_NOBODY	   0x12345678 /* #GP under Veneer (msr guest) */
#define LAPIC_VERSION_ADDR 0xfee00030u
#define LAPIC_TPR_ADDR	   0xfee00080u
#define PIC1_DATA	   0x21
#define PIC2_DATA	   0xa1

/* "Set TF, then run INSN": the POPF makes TF active one instruction on. */
#define SET_TF "pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n\t"

static volatile u32 trap_ip[MAX_TRAPS], trap_dr6[MAX_TRAPS];
static volatile unsigned traps;
/* Where stepping stops (the handler clears TF there), and the labels a
 * case names for its checks. */
static volatile u32 stop_ip, label_a, label_b;
static volatile unsigned timer_ticks;

static u32 read_dr6(void)
{
	u32 v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static void write_dr6(u32 v)
{
	__asm__ volatile("mov %0, %%dr6" : : "r"(v));
}

static void db_handler(struct trap_frame *frame)
{
	if (traps < MAX_TRAPS) {
		trap_ip[traps] = frame->ip;
		trap_dr6[traps] = read_dr6();
	}
	traps++;
	write_dr6(DR6_CLEAR);
	if (frame->ip == stop_ip || traps >= MAX_TRAPS)
		frame->flags &= ~(ureg)RFLAGS_TF;
}

static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_ticks++;
}

static void reset_traps(void)
{
	traps = 0;
	for (unsigned i = 0; i < MAX_TRAPS; i++)
		trap_ip[i] = trap_dr6[i] = 0;
	write_dr6(DR6_CLEAR);
}

/* Exactly one #DB, at stop_ip, with DR6.BS. */
static void expect_one_trap(const char *what)
{
	if (traps == 1 && trap_ip[0] == stop_ip && (trap_dr6[0] & DR6_BS)) {
		guest_printf("PASS: %s: #DB at 0x%x, DR6 0x%x\n", what, stop_ip,
			     trap_dr6[0]);
		return;
	}
	guest_printf("FAIL: %s: %u #DB (first at 0x%x, DR6 0x%x), expected "
		     "one at 0x%x with DR6.BS\n",
		     what, traps, trap_ip[0], trap_dr6[0], stop_ip);
	guest_failures++;
}

static void step_cpuid(void)
{
	u32 a = 0, b, c = 0, d;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "cpuid\n"
			 "2:\n\t"
			 : "+a"(a), "=b"(b), "+c"(c), "=d"(d)
			 :
			 : "memory", "cc");
	expect_one_trap("CPUID");
}

static void step_out_in(void)
{
	u8 v = 0xa5;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "outb %%al, %%dx\n"
			 "2:\n\t"
			 :
			 : "a"(v), "d"(UART_BASE + UART_SCR)
			 : "memory", "cc");
	expect_one_trap("OUT");
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "inb %%dx, %%al\n"
			 "2:\n\t"
			 : "=a"(v)
			 : "d"(UART_BASE + UART_SCR)
			 : "memory", "cc");
	expect_one_trap("IN");
	EXPECT_EQ(v, 0xa5, "IN read what OUT wrote");
}

static void step_msr(void)
{
	u32 lo, hi;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "rdmsr\n"
			 "2:\n\t"
			 : "=a"(lo), "=d"(hi)
			 : "c"(MSR_MTRR_DEF_TYPE)
			 : "memory", "cc");
	expect_one_trap("RDMSR");
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "wrmsr\n"
			 "2:\n\t"
			 :
			 : "a"(lo), "d"(hi), "c"(MSR_MTRR_DEF_TYPE)
			 : "memory", "cc");
	expect_one_trap("WRMSR");
}

static void step_mmio(void)
{
	u32 v;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "movl (%1), %0\n"
			 "2:\n\t"
			 : "=r"(v)
			 : "r"(LAPIC_VERSION_ADDR)
			 : "memory", "cc");
	expect_one_trap("MMIO read (local APIC version)");
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "movl %0, (%1)\n"
			 "2:\n\t"
			 :
			 : "r"(0), "r"(LAPIC_TPR_ADDR)
			 : "memory", "cc");
	expect_one_trap("MMIO write (local APIC TPR)");
}

static void step_hypercalls(void)
{
	ureg a = HC_VERSION;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "vmcall\n"
			 "2:\n\t"
			 : "+a"(a)
			 :
			 : "memory", "cc");
	expect_one_trap("VMCALL");
	EXPECT_EQ(a, HC_VERSION_1_0, "... the hypercall ran");
	a = HC_VERSION;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "vmmcall\n"
			 "2:\n\t"
			 : "+a"(a)
			 :
			 : "memory", "cc");
	expect_one_trap("VMMCALL");
	EXPECT_EQ(a, HC_VERSION_1_0, "... the hypercall ran");
}

/*
 * HLT woken by the para-virtual timer: the #DB after HLT, the interrupt
 * too. POPF sets IF and TF together; the timer is armed right before, far
 * enough ahead that it does not fire before the HLT: 200 ms. The guest's
 * clock runs in real time, exits included, and a busy host can stall an
 * emulated CPU for many milliseconds between the VMCALL and the HLT (10
 * ms were once too few: the interrupt came before the HLT, which then had
 * nothing left to wake it).
 */
static void step_hlt(void)
{
	long armed;

	timer_ticks = 0;
	trap_set_handler(TIMER_VECTOR, timer_handler);
	reset_traps();
	armed = hypercall(HYPERCALL_VMCALL, HC_TIMER_ONESHOT, TIMER_VECTOR,
			  200000, 0, 0);
	__asm__ volatile("movl $2f, stop_ip\n\t"
			 "pushfl\n\t"
			 "orl $0x300, (%%esp)\n\t"
			 "popfl\n\t"
			 "hlt\n"
			 "2:\n\t"
			 "cli\n\t"
			 :
			 :
			 : "memory", "cc");
	EXPECT_EQ(armed, 0, "HC_TIMER_ONESHOT armed");
	expect_one_trap("HLT");
	EXPECT_EQ(timer_ticks, 1, "... and the timer interrupt woke it");
}

/*
 * NOP (trap at a), then MOV SS or STI, then CPUID, stop at b: the traps are
 * a, maybe the shadow instruction's own, then b.
 */
static void expect_shadow_traps(const char *what, u32 after_shadow)
{
	bool ok = traps >= 2 && traps <= 3 && trap_ip[0] == label_a &&
		  trap_ip[traps - 1] == label_b &&
		  (trap_dr6[traps - 1] & DR6_BS) &&
		  (traps == 2 || trap_ip[1] == after_shadow);
	if (ok) {
		guest_printf("PASS: %s: %u #DB, the last at 0x%x, DR6 0x%x\n",
			     what, traps, label_b, trap_dr6[traps - 1]);
		return;
	}
	guest_printf("FAIL: %s: %u #DB at 0x%x 0x%x 0x%x (DR6 of the last "
		     "0x%x), expected 0x%x[, 0x%x], 0x%x\n",
		     what, traps, trap_ip[0], trap_ip[1], trap_ip[2],
		     traps ? trap_dr6[traps - 1] : 0, label_a, after_shadow,
		     label_b);
	guest_failures++;
}

static void step_shadows(void)
{
	u32 a = 0, b, c, d, after;

	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t"
			 "movl $1f, label_a\n\t"
			 "movl $2f, label_b\n\t"
			 "movl $3f, %4\n\t"
			 "mov %%ss, %%ecx\n\t" SET_TF "nop\n"
			 "1:\n\t"
			 "mov %%ecx, %%ss\n"
			 "3:\n\t"
			 "cpuid\n"
			 "2:\n\t"
			 : "+a"(a), "=b"(b), "=&c"(c), "=d"(d), "=m"(after)
			 :
			 : "memory", "cc");
	expect_shadow_traps("CPUID in a MOV SS shadow", after);

	a = 0;
	reset_traps();
	__asm__ volatile("movl $2f, stop_ip\n\t"
			 "movl $1f, label_a\n\t"
			 "movl $2f, label_b\n\t"
			 "movl $3f, %4\n\t" SET_TF "nop\n"
			 "1:\n\t"
			 "sti\n"
			 "3:\n\t"
			 "cpuid\n"
			 "2:\n\t"
			 "cli\n\t"
			 : "+a"(a), "=b"(b), "=c"(c), "=d"(d), "=m"(after)
			 :
			 : "memory", "cc");
	expect_shadow_traps("CPUID in an STI shadow", after);
}

/* RDMSR that faults: #GP, no #DB for it; the trap follows the NOP after. */
static void step_faulting(void)
{
	reset_traps();
	trap_record_reset();
	trap_skip_bytes = MSR_INSN_LEN;
	trap_catch(VEC_GP);
	__asm__ volatile("movl $2f, stop_ip\n\t" SET_TF "rdmsr\n\t"
			 "nop\n"
			 "2:\n\t"
			 :
			 : "c"(MSR_NOBODY)
			 : "eax", "edx", "memory", "cc");
	EXPECT_EQ(trap_last.count, 1, "RDMSR of an unknown MSR under TF: #GP");
	expect_one_trap("... then one #DB, after the next instruction");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	/* No 8259 interrupt in the STI shadow or during HLT. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	trap_set_handler(VEC_DB, db_handler);

	step_cpuid();
	step_out_in();
	step_msr();
	step_mmio();
	step_shadows();
	if (!under_veneer()) {
		guest_skip(
		    "VMCALL, VMMCALL, HLT, faulting RDMSR (Veneer only)");
		return;
	}
	step_hypercalls();
	step_hlt();
	step_faulting();
}
