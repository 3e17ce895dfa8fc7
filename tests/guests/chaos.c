/* SPDX-License-Identifier: MIT */
/*
 * chaos: a seeded, reproducible hostile guest.
 *
 * For `ops=N` operations, each chosen by a PRNG seeded from `seed=S`, it
 * pokes at everything a guest can reach: port I/O of every width to every
 * port, string I/O (REP INS/OUTS, both directions, address-size and segment
 * prefixes, large counts), MMIO to the local APIC and IOAPIC pages with
 * every instruction form the MMIO decoder accepts, RDMSR/WRMSR over the
 * whole index space, CPUID leaves, hypercalls with random numbers and
 * arguments, random 8259 / IOAPIC / LAPIC / PIT programming (vectors 0-15
 * included), interrupt windows, software interrupts, exceptions it causes
 * on itself and privileged instructions. Every vector of its own IDT is
 * handled; a fault inside an operation unwinds to the operation's start
 * (setjmp-style), so the guest keeps going whatever happens.
 *
 * What is checked inside the guest (a FAIL line each, naming seed and op):
 * documented results (unowned ports read all ones, string I/O registers
 * and buffers, IOAPIC holes read all ones, the hypercall ABI, the CPUID
 * signature), that only the exceptions an operation can raise arrive, and
 * that nothing outside the buffers it gave was written. What is checked
 * outside (tests/integration/test_chaos.py): the hypervisor did not panic,
 * the guest was not stopped, its neighbours still pass.
 *
 * Command line (key=value words; docs/testing.md "The chaos guest"):
 *   seed=S      PRNG seed (decimal or 0x-hex); default: from the TSC
 *   ops=N       operations per round (default 2000)
 *   rounds=R    rounds, each with the next seed (default 1; 0 = forever)
 *   cats=LIST   operation kinds, e.g. cats=pio,msr or cats=-insn,-hlt
 *   first=K     skip operations before K (they still draw their numbers)
 *   verbose     print each operation before doing it (verbose=K: from K)
 *   final=KIND  after the last round, end with an operation that ends the
 *               guest as documented (stop, exit, power off); see run_final
 *   veneer=0|1  as every test guest
 * Narrowing aids, to keep a known bug out of a run: maxcount=N (REP counts
 * at most N; default 2^20), timermin=US (PIT and LAPIC timer periods at
 * least US microseconds),
 * skipmsr=0x10,... (never written), skipinsn=monitor,... (never run).
 * The operation sequence depends only on the seed: operation K of seed S is
 * the same whatever cats=, first=, verbose and the narrowing aids say, so a
 * failing run can be narrowed down by those.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/multiboot.h"

/* ---- the guest's own descriptor tables ---- */

/* Selectors of chaos_gdt. 0x08 / 0x10 are the library's flat segments
 * (entry32.S), so code and data keep their selectors after our LGDT. */
#define SEL_CODE     0x08
#define SEL_DATA     0x10
#define SEL_SCRATCH  0x18 /* data, base = the string I/O scratch area */
#define SEL_LAPIC    0x20 /* data, base 0xFEE00000 */
#define SEL_IOAPIC   0x28 /* data, base 0xFEC00000 */
#define SEL_NP	     0x30 /* data, not present: #NP / #SS on load */
#define SEL_XONLY    0x38 /* code, execute-only: #GP when loaded into DS */
#define SEL_DPL3     0x40 /* data, DPL 3: #GP when loaded into SS at CPL 0 */
#define GDT_ENTRIES  9
#define SEL_BEYOND   (GDT_ENTRIES * 8) /* past the limit: #GP */
#define IDT_VECTORS  256
#define ISR_STUB_LEN 16

#define LAPIC_BASE	  0xFEE00000u
#define IOAPIC_BASE	  0xFEC00000u
#define MSR_APIC_BASE	  0x1B
#define APIC_BASE_BSP	  BIT(8)
#define APIC_BASE_EXTD	  BIT(10)
#define APIC_BASE_EN	  BIT(11)
#define MSR_X2APIC_EOI	  0x80B
#define LAPIC_EOI	  0xB0
#define CR0_MP		  BIT(1)
#define CR0_TS		  BIT(3)
#define CR0_NE		  BIT(5)
#define CR4_OSXSAVE	  BIT(18)
#define RFLAGS_TF	  BIT(8)
#define RFLAGS_IF	  BIT(9)
#define RFLAGS_DF	  BIT(10)
#define RFLAGS_AC	  BIT(18)
#define DEFAULT_OPS	  2000
#define PROGRESS_EVERY	  1000
#define WINDOW_IRQ_BRAKE  64 /* interrupts per window before IF is cleared */
#define STR_UART_MAX	  256
#define GUARD_PATTERN	  0x5a
#define LOW_STRING_AREA	  0x10000u /* 16-bit string I/O stays below this */
#define LOW_GUARD_END	  0x9F000u
#define HC_TIMER_MAX_SANE (1ull << 40)

/* Architectural exception vectors (SDM Vol. 3A 6.15, Table 6-1). */
enum {
	VEC_DE = 0,
	VEC_DB = 1,
	VEC_NMI = 2,
	VEC_BP = 3,
	VEC_OF = 4,
	VEC_BR = 5,
	VEC_UD = 6,
	VEC_NM = 7,
	VEC_DF = 8,
	VEC_NP = 11,
	VEC_SS = 12,
	VEC_GP = 13,
	VEC_PF = 14,
	VEC_MF = 16,
};

struct gdt_pointer {
	u16 limit;
	u32 base;
} __attribute__((packed));

struct idt_gate {
	u16 offset_low, selector;
	u8 zero, type_attr;
	u16 offset_high;
} __attribute__((packed));

static u64 chaos_gdt[GDT_ENTRIES] __aligned(16);
static struct idt_gate chaos_idt[IDT_VECTORS] __aligned(16);

/* A 4 GiB segment descriptor (SDM Vol. 3A 3.4.5, Figure 3-8): limit
 * 0xFFFFF in bits 15:0 and 51:48, G = 1, D = 1, the base in bits 39:16
 * and 63:56, the access byte (P, DPL, S, type) in 47:40. */
static u64 descriptor(u32 base, u8 access)
{
	return 0xffffull | ((u64)(base & 0xffffff) << 16) |
	       ((u64)access << 40) | (0xfull << 48) | (0xcull << 52) |
	       ((u64)(base >> 24) << 56);
}

/* ---- assembly: interrupt stubs, unwinding, code execution ---- */

/*
 * Interrupt stubs: one per vector, ISR_STUB_LEN bytes apart, each pushes
 * its vector and jumps to the common path, which saves the general
 * registers (pushal) and calls chaos_trap(frame). The CPU pushes an error
 * code for some exceptions only (SDM Vol. 3A 6.13), and not at all when
 * the same vector arrives as an external or software interrupt, so the
 * stubs push no placeholder: chaos_trap() looks at the frame (struct
 * cpu_words) and replaces the vector slot with 1 if an error code is
 * there, 0 if not; the common path drops that many words more before IRET.
 *
 * chaos_setjmp(buf) / chaos_recover: the unwinding. chaos_trap() makes the
 * IRET of a fault inside an operation return to chaos_recover, which loads
 * the flat data segments back and resumes after chaos_setjmp() with 1, on
 * the stack and callee-saved registers chaos_setjmp() recorded in
 * chaos_jmp.
 *
 * chaos_exec(regs): loads EAX..EBP from *regs, calls the instruction bytes
 * in chaos_code (ending in RET), stores the registers back. Most
 * operations build their instruction there, so the same code covers every
 * encoding, prefix and operand the decoder must handle.
 */
__asm__("	.pushsection .text\n"
	"	.balign 16\n"
	"chaos_isr_common:\n"
	"	pushal\n"
	"	cld\n"
	"	pushl %esp\n"
	"	call chaos_trap\n"
	"	addl $4, %esp\n"
	"	popal\n"
	"	testl $1, (%esp)\n"
	"	jz 1f\n"
	"	addl $8, %esp\n"
	"	iret\n"
	"1:	addl $4, %esp\n"
	"	iret\n"
	"	.balign 16\n"
	"	.globl chaos_isr_stubs\n"
	"chaos_isr_stubs:\n"
	"	.set chaos_vector, 0\n"
	"	.rept 256\n"
	"	.balign 16\n"
	"	pushl $chaos_vector\n"
	"	jmp chaos_isr_common\n"
	"	.set chaos_vector, chaos_vector + 1\n"
	"	.endr\n"
	"	.balign 16\n"
	"	.globl chaos_isr_stubs_end\n"
	"chaos_isr_stubs_end:\n"
	"\n"
	"	.globl chaos_setjmp\n"
	"chaos_setjmp:\n"
	"	movl 4(%esp), %eax\n"
	"	movl %ebx, 0(%eax)\n"
	"	movl %esi, 4(%eax)\n"
	"	movl %edi, 8(%eax)\n"
	"	movl %ebp, 12(%eax)\n"
	"	leal 4(%esp), %ecx\n"
	"	movl %ecx, 16(%eax)\n"
	"	movl (%esp), %ecx\n"
	"	movl %ecx, 20(%eax)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"\n"
	"	.globl chaos_recover\n"
	"chaos_recover:\n"
	"	cli\n"
	"	cld\n"
	"	movl $0x10, %eax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	movl $chaos_jmp, %eax\n"
	"	movl 0(%eax), %ebx\n"
	"	movl 4(%eax), %esi\n"
	"	movl 8(%eax), %edi\n"
	"	movl 12(%eax), %ebp\n"
	"	movl 16(%eax), %esp\n"
	"	movl 20(%eax), %ecx\n"
	"	movl $1, %eax\n"
	"	jmp *%ecx\n"
	"\n"
	"	.globl chaos_exec\n"
	"chaos_exec:\n"
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl 20(%esp), %eax\n"
	"	pushl %eax\n"
	"	movl 4(%eax), %ebx\n"
	"	movl 8(%eax), %ecx\n"
	"	movl 12(%eax), %edx\n"
	"	movl 16(%eax), %esi\n"
	"	movl 20(%eax), %edi\n"
	"	movl 24(%eax), %ebp\n"
	"	movl 0(%eax), %eax\n"
	"	call chaos_code\n"
	"	xchgl %eax, (%esp)\n"
	"	movl %ebx, 4(%eax)\n"
	"	movl %ecx, 8(%eax)\n"
	"	movl %edx, 12(%eax)\n"
	"	movl %esi, 16(%eax)\n"
	"	movl %edi, 20(%eax)\n"
	"	movl %ebp, 24(%eax)\n"
	"	popl %ecx\n"
	"	movl %ecx, 0(%eax)\n"
	"	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n"
	"	.popsection\n");

struct jmpbuf {
	u32 ebx, esi, edi, ebp, esp, eip;
};

/* The registers chaos_exec() loads and stores, in x86 register order
 * except ESP (which it never touches). */
enum { R_EAX, R_EBX, R_ECX, R_EDX, R_ESI, R_EDI, R_EBP, R_COUNT };
struct regs {
	u32 r[R_COUNT];
};

/* ModRM register numbers (SDM Vol. 2A 2.1.5, Table 2-2). */
static const u8 modrm_reg_of[R_COUNT] = {0, 3, 1, 2, 6, 7, 5};
static const char *const reg_names[R_COUNT] = {"eax", "ebx", "ecx", "edx",
					       "esi", "edi", "ebp"};

int chaos_setjmp(struct jmpbuf *buf) __attribute__((returns_twice));
void chaos_exec(struct regs *regs);
void chaos_recover(void);
extern const char chaos_isr_stubs[], chaos_isr_stubs_end[];
/* Called by the stubs; not static so that the assembly can name it. */
void chaos_trap(u32 *frame);

struct jmpbuf chaos_jmp;
/* Room for one instruction with prefixes, STD/CLD around it and RET, on a
 * page of its own: code that writes data on the page it runs from makes
 * emulators (QEMU's TCG) retranslate it at every write. */
u8 chaos_code[PAGE_SIZE] __aligned(PAGE_SIZE);

/* ---- configuration and the PRNG ---- */

enum cat {
	CAT_PIO,
	CAT_STR,
	CAT_STR16,
	CAT_STRSEG,
	CAT_MMIO,
	CAT_MSR,
	CAT_CPUID,
	CAT_HCALL,
	CAT_PIC,
	CAT_IOAPIC,
	CAT_LAPIC,
	CAT_PIT,
	CAT_WINDOW,
	CAT_HLT,
	CAT_INT,
	CAT_EXC,
	CAT_INSN,
	CAT_COUNT
};

static const char *const cat_names[CAT_COUNT] = {
    "pio",    "str",   "str16", "strseg", "mmio",  "msr",
    "cpuid",  "hcall", "pic",	"ioapic", "lapic", "pit",
    "window", "hlt",   "int",	"exc",	  "insn",
};

/* Relative frequency of each kind among the operations. */
static const u8 cat_weight[CAT_COUNT] = {
    [CAT_PIO] = 20,   [CAT_STR] = 8,	[CAT_STR16] = 3, [CAT_STRSEG] = 3,
    [CAT_MMIO] = 14,  [CAT_MSR] = 12,	[CAT_CPUID] = 5, [CAT_HCALL] = 8,
    [CAT_PIC] = 4,    [CAT_IOAPIC] = 3, [CAT_LAPIC] = 5, [CAT_PIT] = 2,
    [CAT_WINDOW] = 6, [CAT_HLT] = 2,	[CAT_INT] = 5,	 [CAT_EXC] = 6,
    [CAT_INSN] = 5,
};

static struct {
	u64 seed;
	u32 ops, rounds, first, trace_from;
	u32 cats; /* bit per enum cat */
	bool trace, veneer;
	const char *final;
} cfg;

/* Memory: RAM is [0, ram_end); the image is below image_end; string I/O
 * buffers live in [scratch_lo, scratch_hi); [image_end, scratch_lo) and
 * [LOW_STRING_AREA, LOW_GUARD_END) hold GUARD_PATTERN and are checked. */
static u32 ram_end, image_end, scratch_lo, scratch_hi;

/* splitmix64 (Steele, Lea, Flood 2014): the generator of both the op
 * stream and each op's own numbers. */
struct rng {
	u64 s;
};

static u64 rng_next(struct rng *g)
{
	u64 z = (g->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static u32 rng_u32(struct rng *g)
{
	return (u32)(rng_next(g) >> 32);
}

/* Uniform in [0, n), n > 0, without a 64-bit division. */
static u32 rng_below(struct rng *g, u32 n)
{
	return (u32)(((u64)rng_u32(g) * n) >> 32);
}

static bool rng_chance(struct rng *g, u32 percent)
{
	return rng_below(g, 100) < percent;
}

/* A REP count: mostly small, sometimes thousands, rarely up to 2^20 (a
 * whole REP runs in one exit today, and costs its time in the emulator). */
#define STR_COUNT_HUGE (1u << 20)

static u32 max_count = STR_COUNT_HUGE; /* maxcount= */
/* Narrowing aids: a minimum timer period (timermin=, in microseconds) and
 * MSRs never written (skipmsr=0x10,0x6e0), to keep a known bug out of a
 * run. */
static u32 timer_min_us;

/* The smallest PIT count (1193182 Hz) and LAPIC initial count (1 GHz at
 * divide 1, docs/devices.md) that timermin= allows; 0 stays 0 (the PIT
 * counts 65536, the LAPIC timer stops). */
static u32 timer_floor(u32 count, bool pit)
{
	u32 floor = pit ? timer_min_us * 1193 / 1000 + 1 : timer_min_us * 1000;
	if (!timer_min_us || !count || count >= floor)
		return count;
	return pit && floor > 0xffff ? 0xffff : floor;
}
#define SKIP_MSRS_MAX 8
static u32 skip_msrs[SKIP_MSRS_MAX], skip_msr_count;

static int memcmp_prefix(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

/* skipinsn=monitor,invd: instructions of op_insn (by the first word of
 * their name) never executed. */
static const char *skip_insns;

static bool insn_skipped(const char *name)
{
	const char *p = skip_insns;
	size_t n = 0;
	while (name[n] && name[n] != ' ')
		n++;
	while (p && *p && *p != ' ') {
		size_t k = 0;
		while (p[k] && p[k] != ',' && p[k] != ' ')
			k++;
		if (k == n && !memcmp_prefix(p, name, n))
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool msr_skipped(u32 index)
{
	for (u32 i = 0; i < skip_msr_count; i++)
		if (skip_msrs[i] == index)
			return true;
	return false;
}

static u32 rng_count(struct rng *g, u32 max)
{
	u32 pick = rng_below(g, 100), limit;
	if (pick < 40)
		limit = 4;
	else if (pick < 70)
		limit = 64;
	else if (pick < 90)
		limit = 4096;
	else if (pick < 98)
		limit = 65536;
	else
		limit = STR_COUNT_HUGE;
	if (limit > max)
		limit = max;
	if (limit > max_count)
		limit = max_count;
	return rng_below(g, limit + 1);
}

/* ---- trap bookkeeping ---- */

/* What the CPU pushed above our vector slot (SDM Vol. 3A 6.12.1): the
 * error code, if any, then EIP, CS, EFLAGS. */
struct cpu_words {
	u32 w[4];
};

static struct {
	/* The current operation's event, filled by chaos_trap(). */
	volatile bool guarded;	 /* a fault unwinds the operation */
	volatile bool in_window; /* interrupts are being taken */
	volatile u32 got;	 /* events seen in the guarded part */
	volatile u32 vector, error_code, ip;
	volatile bool has_error;
	volatile u32 depth; /* chaos_trap() nesting */
	volatile u32 window_irqs;
	volatile u32 eoi_policy; /* EOI_* for interrupts in a window */
} trap;

#define EOI_LAPIC  BIT(0)
#define EOI_PIC	   BIT(1)
#define EOI_SLAVE  BIT(2)
#define EOI_BRAKES BIT(3) /* clear IF after WINDOW_IRQ_BRAKE interrupts */

static struct {
	u32 ops_run, ops_skipped;
	u32 per_cat[CAT_COUNT];
	u32 faults[32];	       /* exceptions raised by operations */
	u32 soft_ints;	       /* INT n with n >= 32 */
	u32 irqs[IDT_VECTORS]; /* interrupts taken in windows */
	u32 irqs_total, nmis, brakes;
	u32 lapic_gp;	     /* #GP from a LAPIC MMIO access (see op_mmio) */
	u32 emulator_quirks; /* known emulator deviations, tolerated */
	u32 violations;
} stats;

static u32 current_op; /* index of the operation running */
static u32 current_round;
static u64 round_seed;

/*
 * ICR and LVT delivery modes (SDM Vol. 3A 11.6.1, 11.5.1): INIT resets the
 * guest's own CPU and SMI enters SMM, on hardware as under any faithful
 * hypervisor, which would end the run. They become NMI and fixed; every
 * other mode (fixed, lowest priority, NMI, STARTUP, ExtINT, reserved) is
 * kept.
 */
static u32 tame_delivery_mode(u32 value)
{
	u32 mode = (value >> 8) & 7;
	if (mode == 5) /* INIT -> NMI */
		mode = 4;
	else if (mode == 2) /* SMI -> fixed */
		mode = 0;
	return (value & ~0x700u) | (mode << 8);
}

/* xAPIC offsets (or x2APIC MSR index << 4) whose writes carry a delivery
 * mode: ICR low and the six LVT entries. */
static bool has_delivery_mode(u32 reg)
{
	return reg == 0x300 || (reg >= 0x320 && reg <= 0x370);
}

static void send_eois(void);

void chaos_trap(u32 *frame)
{
	/* frame: 8 pushal words, our vector slot, then what the CPU pushed. */
	u32 vector = frame[8];
	struct cpu_words *cw = (struct cpu_words *)&frame[9];
	/* With an error code, CS is the third word; without one the third
	 * word is EFLAGS, whose bit 1 is always set, so it never equals our
	 * code selector (SDM Vol. 3A 2.3, "EFLAGS"). */
	bool has_error = (cw->w[2] & 0xffff) == SEL_CODE;
	u32 *ip = &cw->w[has_error ? 1 : 0];
	u32 *flags = &cw->w[has_error ? 3 : 2];

	frame[8] = has_error;
	trap.depth++;
	/* NMIs (an NMI IPI to itself, INT 2) are counted, never unwound:
	 * they are not the operation's fault. */
	if (vector == VEC_NMI) {
		stats.nmis++;
		goto out;
	}
	if (trap.depth > 1) {
		guest_printf("FAIL: chaos: seed 0x%llx op %u: vector %u at ip "
			     "0x%x inside the trap handler\n",
			     (unsigned long long)round_seed, current_op, vector,
			     *ip);
		guest_printf("FAIL\n");
		guest_exit(1);
	}
	if (trap.in_window) {
		stats.irqs[vector]++;
		stats.irqs_total++;
		trap.window_irqs++;
		send_eois();
		/* An interrupt storm (a 1 ns periodic timer, a level line that
		 * stays up) would keep the window open forever: close it. */
		if ((trap.eoi_policy & EOI_BRAKES) &&
		    trap.window_irqs >= WINDOW_IRQ_BRAKE) {
			*flags &= ~RFLAGS_IF;
			stats.brakes++;
		}
		goto out;
	}
	if (trap.guarded) {
		trap.got++;
		trap.vector = vector;
		trap.has_error = has_error;
		trap.error_code = has_error ? cw->w[0] : 0;
		trap.ip = *ip;
		trap.guarded = false;
		/* Unwind: IRET lands on chaos_recover with IF, TF, DF, AC clear
		 * (the CPU's own CS is kept). */
		*ip = (u32)(uintptr_t)chaos_recover;
		*flags &= ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC);
		goto out;
	}
	guest_printf("FAIL: chaos: seed 0x%llx op %u: unexpected vector %u "
		     "(error code %s0x%x) at ip 0x%x outside any operation\n",
		     (unsigned long long)round_seed, current_op, vector,
		     has_error ? "" : "none, word ", cw->w[0], *ip);
	guest_printf("FAIL\n");
	guest_exit(1);
out:
	trap.depth--;
}

/*
 * Runs fn(arg) so that any exception it raises ends it: chaos_trap()
 * records the event in trap.got/vector/error_code/ip and unwinds to here.
 * Interrupts stay disabled (ops run with IF = 0), so an event here is the
 * operation's own.
 */
static __attribute__((noinline)) void run_guarded(void (*fn)(void *), void *arg)
{
	trap.got = 0;
	trap.vector = trap.error_code = trap.ip = 0;
	trap.has_error = false;
	if (chaos_setjmp(&chaos_jmp) == 0) {
		trap.guarded = true;
		fn(arg);
	}
	trap.guarded = false;
}

/* ---- reporting ---- */

static void trace(const char *fmt, ...) __printf(1, 2);

static bool tracing(void)
{
	return cfg.trace && current_op >= cfg.trace_from;
}

static void trace(const char *fmt, ...)
{
	va_list ap;
	if (!tracing())
		return;
	guest_printf("chaos: op %u: ", current_op);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
}

static void violation(const char *fmt, ...) __printf(1, 2);

static void violation(const char *fmt, ...)
{
	va_list ap;
	guest_printf("FAIL: chaos: seed 0x%llx op %u: ",
		     (unsigned long long)round_seed, current_op);
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
	guest_failures++;
	stats.violations++;
}

/* Counts the operation's exception; true if there was one. */
static bool count_fault(void)
{
	if (!trap.got)
		return false;
	if (trap.vector < 32)
		stats.faults[trap.vector]++;
	else
		stats.soft_ints++;
	return true;
}

/* The operation must not have raised anything. */
static void expect_no_fault(const char *what)
{
	if (count_fault())
		violation("%s raised vector %u (error 0x%x) at ip 0x%x", what,
			  trap.vector, trap.error_code, trap.ip);
}

/* The operation may have raised only #GP(0) (or nothing). */
static void expect_gp0_or_nothing(const char *what)
{
	if (!count_fault())
		return;
	if (trap.vector != VEC_GP || !trap.has_error || trap.error_code)
		violation("%s raised vector %u (error 0x%x) at ip 0x%x, not "
			  "#GP(0)",
			  what, trap.vector, trap.error_code, trap.ip);
}

/* ---- instruction builder ---- */

static u32 code_len;

static void emit(u8 b)
{
	chaos_code[code_len++] = b;
}

static void emit32(u32 v)
{
	for (int i = 0; i < 4; i++)
		emit((u8)(v >> (8 * i)));
}

static void emit16(u16 v)
{
	emit((u8)v);
	emit((u8)(v >> 8));
}

static void code_begin(void)
{
	code_len = 0;
}

/* Ends the code with RET; returns the address where it starts. */
static u32 code_end(void)
{
	emit(0xc3);
	return (u32)(uintptr_t)chaos_code;
}

static void exec_code(void *arg)
{
	chaos_exec(arg);
}

/* Runs the built code with *r, guarded. */
static void run_code(struct regs *r)
{
	code_end();
	run_guarded(exec_code, r);
}

/* The code built so far as hex bytes, for messages. */
static void dump_code(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t pos = 0;
	for (u32 i = 0; i < code_len && pos + 4 < n; i++) {
		out[pos++] = hex[chaos_code[i] >> 4];
		out[pos++] = hex[chaos_code[i] & 15];
		out[pos++] = ' ';
	}
	if (pos)
		pos--;
	out[pos] = 0;
}

/* ---- platform helpers ---- */

static bool port_range_hits(u16 port, u8 size, u16 first, u16 last)
{
	u32 end = (u32)port + size - 1;
	return port <= last && end >= first;
}

/* Byte lane of `port` in an access of `size` at `start`, or -1. */
static int lane_of(u16 start, u8 size, u16 port)
{
	if (port < start || port > (u32)start + size - 1)
		return -1;
	return port - start;
}

static u32 lane_clear(u32 value, int lane, u8 bits)
{
	return lane < 0 ? value : value & ~((u32)bits << (8 * lane));
}

static u32 lane_set(u32 value, int lane, u8 bits)
{
	return lane < 0 ? value : value | ((u32)bits << (8 * lane));
}

/*
 * Writes that would end the guest as documented, and are kept for the
 * final phase (final=): the debug-exit ports 0xf4-0xf7; the 8042 reset
 * (commands 0xF0-0xFF with bit 0 clear, and 0xD1 followed by an output
 * port byte with bit 0 clear: the guest would reboot into the same seed);
 * ACPI S5 (SLP_EN, bit 13 of PM1a_CNT 0x604). Natively also the PIIX
 * reset control 0xCF9 (bit 2) and port 0x92 fast reset (bit 0), and
 * QEMU's fw_cfg DMA 0x510-0x51B. Returns false to drop the write, else
 * possibly changes the value so that it cannot do those things.
 */
static bool ports_documented(u16 port, u8 size);

static bool tame_port_write(u16 port, u8 size, u32 *value)
{
	int lane;
	if (port_range_hits(port, size, 0xf4, 0xf7) ||
	    port_range_hits(port, size, 0x510, 0x51b))
		return false;
	/* Natively the machine has real devices on many more ports (PCI
	 * BARs, IDE, floppy, fw_cfg, reset registers): writes go only to the
	 * ports Veneer emulates, and never to PCI configuration. */
	if (!cfg.veneer && (port_range_hits(port, size, 0xcf8, 0xcff) ||
			    port_range_hits(port, size, 0x60, 0x64) ||
			    !ports_documented(port, size)))
		return false;
	lane = lane_of(port, size, 0x64);
	if (lane >= 0) {
		u8 cmd = (u8)(*value >> (8 * lane));
		if (cmd == 0xd1) /* write output port -> read it */
			*value = lane_clear(*value, lane, 0x01);
		else if (cmd >= 0xf0) /* pulse: keep the reset line high */
			*value = lane_set(*value, lane, 0x01);
	}
	*value = lane_clear(*value, lane_of(port, size, 0x605), 0x20);
	*value = lane_clear(*value, lane_of(port, size, 0xcf9), 0x04);
	*value = lane_clear(*value, lane_of(port, size, 0x92), 0x01);
	return true;
}

static bool touches_uart(u16 port, u8 size)
{
	return port_range_hits(port, size, UART_BASE, UART_BASE + 7);
}

/* Back to 8N1, no divisor latch, no loopback, no UART interrupts, and a
 * newline after whatever a random write to THR printed, so that our own
 * lines stay whole. */
static void uart_restore(bool newline)
{
	outb(UART_BASE + 3, 0x03); /* LCR: 8N1, DLAB = 0 */
	outb(UART_BASE + 1, 0x00); /* IER */
	outb(UART_BASE + 4, 0x03); /* MCR: DTR, RTS, no loopback */
	if (newline)
		serial_putc('\n');
}

/* Documented owners of I/O ports under Veneer (docs/guests.md,
 * docs/devices-legacy.md); every other port reads all ones. */
static bool port_owned(u16 port)
{
	static const struct {
		u16 first, last;
	} owned[] = {
	    {0x20, 0x21}, {0xa0, 0xa1},	  {0x4d0, 0x4d1}, {0x40, 0x43},
	    {0x61, 0x61}, {0x70, 0x71},	  {0xcf8, 0xcff}, {0x60, 0x60},
	    {0x64, 0x64}, {0x600, 0x605}, {0x608, 0x60b}, {0x3f8, 0x3ff},
	    {0xf4, 0xf7},
	};
	for (u32 i = 0; i < ARRAY_SIZE(owned); i++)
		if (port >= owned[i].first && port <= owned[i].last)
			return true;
	return false;
}

static bool ports_unowned(u16 port, u8 size)
{
	for (u32 i = 0; i < size; i++)
		if (port_owned((u16)(port + i)))
			return false;
	return true;
}

/* Every byte of the access is a port Veneer emulates, or the unowned
 * 0x2f0-0x2f7 the test guests use. */
static bool ports_documented(u16 port, u8 size)
{
	for (u32 i = 0; i < size; i++) {
		u16 p = (u16)(port + i);
		if (!port_owned(p) && (p < 0x2f0 || p > 0x2f7))
			return false;
	}
	return true;
}

static u32 all_ones(u8 size)
{
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* ---- LAPIC access that never faults (used by the trap handler) ---- */

static u32 apic_mode(void)
{
	return (u32)rdmsr(MSR_APIC_BASE) & (APIC_BASE_EN | APIC_BASE_EXTD);
}

static void send_eois(void)
{
	if (trap.eoi_policy & EOI_LAPIC) {
		u32 mode = apic_mode();
		if (mode == APIC_BASE_EN)
			*(volatile u32 *)(uintptr_t)(LAPIC_BASE + LAPIC_EOI) =
			    0;
		else if (mode == (APIC_BASE_EN | APIC_BASE_EXTD))
			wrmsr(MSR_X2APIC_EOI, 0);
	}
	if (trap.eoi_policy & EOI_SLAVE)
		outb(0xa0, 0x20);
	if (trap.eoi_policy & EOI_PIC)
		outb(0x20, 0x20);
}

/* ---- operations ---- */

/* One operation: its own numbers, drawn from the seed it was given. */
struct op {
	struct rng g;
};

/* pio: one IN or OUT of 1, 2 or 4 bytes at any port. */
static void op_pio(struct op *o)
{
	static const u8 sizes[] = {1, 2, 4};
	struct regs r = {{0}};
	u8 size = sizes[rng_below(&o->g, 3)];
	bool in = rng_chance(&o->g, 50);
	u16 port;
	u32 value = rng_u32(&o->g), before;
	bool uart;

	/* Half the ports from the devices' neighbourhood, half anywhere. */
	if (rng_chance(&o->g, 50))
		port = (u16)rng_u32(&o->g);
	else {
		static const u16 near[] = {0x20,  0xa0,	 0x40,	0x60,  0x70,
					   0x3f8, 0xcf8, 0x600, 0x4d0, 0xf0,
					   0x80,  0x3f0, 0x2f0, 0xcf8};
		port = (u16)(near[rng_below(&o->g, ARRAY_SIZE(near))] +
			     rng_below(&o->g, 16));
	}
	/* QEMU's own 16550 asserts on wider accesses (natively only). */
	if (!cfg.veneer && touches_uart(port, size))
		size = 1;
	if (!in && !tame_port_write(port, size, &value)) {
		trace("pio: out%c 0x%x dropped (ends the guest)",
		      "bwl"[size >> 1], port);
		return;
	}
	uart = touches_uart(port, size);
	trace("pio: %s%c 0x%x%s0x%x", in ? "in" : "out", "bwl"[size >> 1], port,
	      in ? "" : " <- ", in ? 0 : value);

	code_begin();
	if (size == 2)
		emit(0x66);
	emit(in ? (size == 1 ? 0xec : 0xed) : (size == 1 ? 0xee : 0xef));
	r.r[R_EDX] = port | (rng_u32(&o->g) & 0xffff0000u);
	before = rng_u32(&o->g);
	r.r[R_EAX] = in ? before : value;
	run_code(&r);
	if (uart && !in)
		uart_restore(true);
	expect_no_fault("port I/O");
	if (in && cfg.veneer && ports_unowned(port, size)) {
		u32 want = size == 4
			       ? 0xffffffffu
			       : (before & ~all_ones(size)) | all_ones(size);
		if (r.r[R_EAX] != want)
			violation("in%c from unowned port 0x%x: eax 0x%x, "
				  "expected 0x%x",
				  "bwl"[size >> 1], port, r.r[R_EAX], want);
	}
}

/*
 * str, str16, strseg: one INS or OUTS, with or without REP, either
 * direction. str: 32-bit addressing over a buffer in the scratch area.
 * str16: a 0x67 prefix (16-bit addressing: SI/DI/CX, wrapping inside the
 * first 64 KiB) with random upper halves of ECX/ESI/EDI, which the CPU
 * ignores and keeps. strseg: a segment override on OUTS (FS = scratch
 * base) or INS/OUTS to the UART scratch register, whose value is checked.
 * Ports that would end the guest (see tame_port_write) are replaced by
 * the unowned port 0x2f0.
 */
struct str_op {
	bool in, rep, down, a16, seg;
	u8 size;
	u16 port;
	u32 count, addr; /* element count; first element's offset */
};

/* INS from an unowned port stores all ones, from the UART scratch
 * register its value (both documented): check every byte stored. */
static void str_check_memory(const struct str_op *s, u32 n, u8 fill)
{
	for (u32 j = 0; j < n; j++) {
		u32 off =
		    s->down ? s->addr - j * s->size : s->addr + j * s->size;
		if (s->a16)
			off &= 0xffff;
		for (u32 k = 0; k < s->size; k++) {
			u8 got = *(volatile u8 *)(uintptr_t)(off + k);
			if (got != fill) {
				violation("ins%c from port 0x%x element %u "
					  "stored 0x%x at 0x%x, expected 0x%x",
					  "bwl"[s->size >> 1], s -> port, j,
					  got, off + k, fill);
				return;
			}
		}
	}
}

static void op_string(struct op *o, enum cat kind)
{
	static const u8 sizes[] = {1, 2, 4};
	struct str_op s = {0};
	struct regs r = {{0}}, after;
	u32 span, area_lo, area_hi, hi_bits[3], value = 0;
	u8 scr = 0;
	bool uart, rep_prefix_ne;

	s.in = rng_chance(&o->g, 50);
	s.rep = rng_chance(&o->g, 85);
	rep_prefix_ne = rng_chance(&o->g, 10);
	s.down = rng_chance(&o->g, 30);
	s.size = sizes[rng_below(&o->g, 3)];
	s.a16 = kind == CAT_STR16;
	s.seg = kind == CAT_STRSEG && !s.in && rng_chance(&o->g, 60);
	if (kind == CAT_STRSEG && !s.seg) {
		s.port = UART_BASE + 7; /* scratch register: checked */
		s.size = 1;
	} else if (rng_chance(&o->g, 40)) {
		s.port = (u16)rng_u32(&o->g);
	} else {
		static const u16 ports[] = {0x2f0, 0x3ff, 0x80, 0x21, 0x71,
					    0x61,  0xcfc, 0x40, 0x60, 0x3f8};
		s.port = ports[rng_below(&o->g, ARRAY_SIZE(ports))];
	}
	/* OUTS data comes from memory: ports where some byte values end the
	 * guest are replaced, not tamed. */
	if (!s.in && (!tame_port_write(s.port, s.size, &value) ||
		      port_range_hits(s.port, s.size, 0x64, 0x64) ||
		      port_range_hits(s.port, s.size, 0x604, 0x605) ||
		      port_range_hits(s.port, s.size, 0x92, 0x92) ||
		      port_range_hits(s.port, s.size, 0xcf9, 0xcf9)))
		s.port = 0x2f0;
	if (!cfg.veneer && touches_uart(s.port, s.size))
		s.size = 1; /* QEMU's own 16550 asserts on wider accesses */
	uart = touches_uart(s.port, s.size) && s.port != UART_BASE + 7;

	if (s.a16) {
		area_lo = 0;
		area_hi = LOW_STRING_AREA;
	} else {
		area_lo = scratch_lo;
		area_hi = scratch_hi;
	}
	span = area_hi - area_lo;
	s.count =
	    s.rep ? rng_count(&o->g, (s.a16 ? 0xffff : span / s.size)) : 1;
	if (uart && s.count > STR_UART_MAX)
		s.count = STR_UART_MAX;
	if (s.a16) {
		/* Any aligned 16-bit offset: the wrap keeps every element
		 * below 64 KiB (an unaligned one could end past it). */
		s.addr = rng_u32(&o->g) & 0xffff & ~(u32)(s.size - 1);
	} else {
		u32 bytes = s.count * s.size, room;
		if (!bytes)
			bytes = s.size;
		room = span - bytes;
		s.addr = area_lo + rng_below(&o->g, room + 1);
		s.addr &= ~(u32)(rng_chance(&o->g, 70) ? s.size - 1 : 0);
		if (s.down)
			s.addr += bytes - s.size;
		if (s.seg)
			s.addr -= scratch_lo; /* relative to FS */
	}
	for (int i = 0; i < 3; i++)
		hi_bits[i] = s.a16 ? rng_u32(&o->g) & 0xffff0000u : 0;

	trace("%s: %s%s%s%c port 0x%x count %u %s 0x%x%s", cat_names[kind],
	      s.rep ? (rep_prefix_ne ? "repne " : "rep ") : "",
	      s.a16 ? "addr16 " : "", s.in ? "ins" : "outs", "bwl"[s.size >> 1],
	      s.port, s.count, s.in ? "edi" : "esi", s.addr,
	      s.down ? " down" : "");

	if (s.port == UART_BASE + 7 && !s.in) {
		/* The last element written is what the register keeps. */
	} else if (s.port == UART_BASE + 7) {
		scr = (u8)rng_u32(&o->g);
		outb(UART_BASE + 7, scr);
	}

	code_begin();
	emit(s.down ? 0xfd : 0xfc);
	if (s.rep)
		emit(rep_prefix_ne ? 0xf2 : 0xf3);
	if (s.a16)
		emit(0x67);
	if (s.seg)
		emit(0x64); /* FS */
	if (s.size == 2)
		emit(0x66);
	emit(s.in ? (s.size == 1 ? 0x6c : 0x6d) : (s.size == 1 ? 0x6e : 0x6f));
	emit(0xfc);
	r.r[R_EDX] = s.port;
	r.r[R_ECX] = s.count | hi_bits[0];
	if (s.in)
		r.r[R_EDI] = s.addr | hi_bits[1];
	else
		r.r[R_ESI] = s.addr | hi_bits[1];
	r.r[s.in ? R_ESI : R_EDI] = rng_u32(&o->g);
	after = r;
	if (s.seg)
		__asm__ volatile("movw %w0, %%fs" : : "r"(SEL_SCRATCH));
	run_code(&after);
	__asm__ volatile("movw %w0, %%fs" : : "r"(SEL_DATA));
	if (uart && !s.in)
		uart_restore(true);
	expect_no_fault(s.in ? "ins" : "outs");
	if (trap.got)
		return;

	/* Registers: count to 0 (REP), the index moved by count * size in
	 * the direction of DF, only the low 16 bits with addr16. */
	{
		u32 n = s.rep ? s.count : 1;
		u32 idx = s.in ? R_EDI : R_ESI;
		u32 moved = s.down ? s.addr - n * s.size : s.addr + n * s.size;
		u32 want_idx =
		    s.a16 ? (r.r[idx] & 0xffff0000u) | (moved & 0xffff) : moved;
		u32 want_cnt =
		    s.rep ? (s.a16 ? r.r[R_ECX] & 0xffff0000u : 0) : r.r[R_ECX];
		if (after.r[idx] != want_idx || after.r[R_ECX] != want_cnt)
			violation("%s: %s%c count %u: ecx 0x%x %s 0x%x, "
				  "expected ecx 0x%x %s 0x%x",
				  cat_names[kind], s.in ? "ins" : "outs",
				  "bwl"[s.size >> 1], n, after.r[R_ECX],
				  reg_names[idx], after.r[idx], want_cnt,
				  reg_names[idx], want_idx);
		for (u32 i = 0; i < R_COUNT; i++)
			if (i != idx && i != R_ECX && after.r[i] != r.r[i])
				violation("%s changed %s: 0x%x -> 0x%x",
					  s.in ? "ins" : "outs", reg_names[i],
					  r.r[i], after.r[i]);
		/* The scratch register is one byte: a wider INS also reads
		 * the ports after it, so only byte reads are checked. */
		if (s.in && n && cfg.veneer &&
		    (ports_unowned(s.port, s.size) ||
		     (s.port == UART_BASE + 7 && s.size == 1))) {
			u8 fill = s.port == UART_BASE + 7 ? scr : 0xff;
			str_check_memory(&s, n, fill);
		}
		if (!s.in && n && s.port == UART_BASE + 7 && s.size == 1) {
			u32 last = s.down ? s.addr - (n - 1) : s.addr + n - 1;
			u32 base = s.seg ? scratch_lo : 0;
			u8 want = *(volatile u8 *)(uintptr_t)(base +
							      (s.a16 ? (u16)last
								     : last));
			u8 got = inb(UART_BASE + 7);
			if (got != want)
				violation("%s: outsb to the UART scratch "
					  "register left 0x%x, the last byte "
					  "at %s0x%x is 0x%x",
					  cat_names[kind], got,
					  s.seg ? "fs:" : "", last, want);
		}
	}
}

/*
 * mmio: one instruction from the decoder's table (docs/decode.md) on the
 * LAPIC or IOAPIC page, with random prefixes (0x66, segment overrides,
 * 0x67 with a 16-bit address through a segment based at the page),
 * addressing form, register and value. Never crossing the page end (that
 * stops the guest: final=mmio-cross).
 *
 * Checks: IOAPIC accesses never fault; reads outside IOREGSEL (0x00) and
 * IOWIN (0x10) give all ones, LAPIC reads of a reserved register in xAPIC
 * mode give 0 (docs/devices.md), both after the instruction's zero / sign
 * extension; registers the instruction does not write are kept. LAPIC
 * accesses the model refuses raise #GP(0) today (core/mmio.c), where
 * docs/devices.md says the core should complete them as "nothing there":
 * counted (lapic_gp in the summary), not failed.
 */
enum mmio_form {
	MF_STORE_REG, /* 88 / 89 */
	MF_LOAD_REG,  /* 8A / 8B */
	MF_STORE_IMM, /* C6 / C7 /0 */
	MF_MOFFS,     /* A0-A3 */
	MF_MOVZX,     /* 0F B6 / B7 */
	MF_MOVSX,     /* 0F BE / BF */
	MF_XCHG,      /* 86 / 87 */
	MF_COUNT
};

static bool lapic_reserved(u32 offset)
{
	u32 reg = offset & ~0xfu;
	switch (reg) {
	case 0x000:
	case 0x010:
	case 0x040:
	case 0x050:
	case 0x060:
	case 0x070:
	case 0x0c0:
	case 0x2f0:
	case 0x3a0:
	case 0x3b0:
	case 0x3c0:
	case 0x3d0:
	case 0x3f0:
		return true;
	default:
		return (reg >= 0x290 && reg <= 0x2e0) || reg >= 0x400;
	}
}

/* Reads Veneer answers with a known value whatever the device state:
 * IOAPIC accesses other than IOREGSEL (byte or dword at 0x00) and IOWIN
 * (dword at 0x10) read all ones; LAPIC reserved registers read 0 in
 * xAPIC mode (docs/devices.md). */
static bool mmio_known_read(bool ioapic, u32 offset, u8 size, u32 apic,
			    u32 *value)
{
	if (ioapic) {
		bool regsel = offset == 0 && (size == 1 || size == 4);
		bool win = offset == 0x10 && size == 4;
		*value = 0xffffffffu;
		return !regsel && !win;
	}
	*value = 0;
	return apic == APIC_BASE_EN && lapic_reserved(offset) &&
	       (offset & 0xf) + size <= 4;
}

/* ModRM (and SIB, displacement) addressing `target` through base_reg,
 * in one of the 32-bit forms; sets the registers it uses. */
static void emit_modrm32(struct op *o, struct regs *r, u8 regfield, u32 reg,
			 u32 base_reg, u32 target)
{
	u32 mode = rng_below(&o->g, 4), disp = rng_below(&o->g, 128);
	u8 rm = modrm_reg_of[base_reg];
	u32 index_reg = R_COUNT;
	for (u32 i = 0; i < R_COUNT; i++) {
		u32 cand = (base_reg + 1 + i) % R_COUNT;
		if (cand != reg && cand != base_reg) {
			index_reg = cand;
			break;
		}
	}
	if (mode == 0) { /* [disp32] */
		emit((u8)(0x05 | (regfield << 3)));
		emit32(target);
	} else if (mode == 1 && base_reg != R_EBP) { /* [base] */
		emit((u8)((regfield << 3) | rm));
		r->r[base_reg] = target;
	} else if (mode == 2) { /* [base + disp8 / disp32] */
		bool d8 = rng_chance(&o->g, 50);
		emit((u8)((d8 ? 0x40 : 0x80) | (regfield << 3) | rm));
		if (d8)
			emit((u8)disp);
		else
			emit32(disp);
		r->r[base_reg] = target - disp;
	} else { /* [base + index * scale + disp8] */
		u8 scale = (u8)rng_below(&o->g, 4);
		u32 idx = rng_below(&o->g, 16);
		emit((u8)(0x44 | (regfield << 3)));
		emit((u8)((scale << 6) | (modrm_reg_of[index_reg] << 3) | rm));
		emit((u8)disp);
		r->r[index_reg] = idx;
		r->r[base_reg] = target - (idx << scale) - disp;
	}
}

static void op_mmio(struct op *o)
{
	static const u8 a16_bases[] = {R_EBX, R_ESI, R_EDI, R_EBP};
	/* ModRM rm of [SI], [DI], [BP], [BX] + disp8 (SDM Vol. 2A Table 2-1).
	 */
	static const u8 rm16[R_COUNT] = {
	    [R_ESI] = 4, [R_EDI] = 5, [R_EBP] = 6, [R_EBX] = 7};
	bool ioapic = rng_chance(&o->g, 40);
	u32 page = ioapic ? IOAPIC_BASE : LAPIC_BASE;
	enum mmio_form form = (enum mmio_form)rng_below(&o->g, MF_COUNT);
	bool narrow = rng_chance(&o->g, 30);
	bool opsize16 = !narrow && rng_chance(&o->g, 25);
	bool a16 = form != MF_MOFFS && rng_chance(&o->g, 15);
	bool lock = form == MF_XCHG && rng_chance(&o->g, 20);
	u32 seg_prefix = rng_below(&o->g, 5);
	u32 offset, target, value = rng_u32(&o->g), known_value = 0, apic;
	u32 reg, base_reg;
	u8 size = narrow ? 1 : opsize16 ? 2 : 4;
	bool reads, known;
	struct regs r, after;
	char bytes[64];

	if (form == MF_MOVZX || form == MF_MOVSX) {
		size = narrow ? 1 : 2;
		opsize16 = false;
	}
	/* Mostly the registers, sometimes any byte of the page. */
	if (rng_chance(&o->g, 70)) {
		offset = ioapic ? (rng_chance(&o->g, 50) ? 0x00 : 0x10)
				: rng_below(&o->g, 0x40) * 16;
		if (rng_chance(&o->g, 20))
			offset += rng_below(&o->g, 4);
	} else {
		offset = rng_below(&o->g, 4096);
	}
	if (offset + size > 4096)
		offset = 4096 - size;
	target = page + offset;
	for (int i = 0; i < R_COUNT; i++)
		r.r[i] = rng_u32(&o->g);
	reads = form == MF_LOAD_REG || form == MF_MOVZX || form == MF_MOVSX ||
		form == MF_XCHG || (form == MF_MOFFS && rng_chance(&o->g, 50));
	/* The register operand: AL..BL for the 8-bit forms (ModRM reg 4-7
	 * would be AH..BH), any for the others; EAX for moffs. */
	reg = rng_below(&o->g, R_COUNT);
	if (form == MF_MOFFS || (size == 1 && form != MF_MOVZX &&
				 form != MF_MOVSX && modrm_reg_of[reg] >= 4))
		reg = R_EAX;
	if (a16) {
		base_reg = a16_bases[rng_below(&o->g, 4)];
		if (reg == base_reg)
			reg = R_EAX;
	} else {
		base_reg = (reg + 1 + rng_below(&o->g, R_COUNT - 1)) % R_COUNT;
	}

	code_begin();
	if (lock)
		emit(0xf0); /* LOCK: allowed with XCHG */
	if (a16) {
		emit(0x67);
		emit(ioapic ? 0x65 : 0x64); /* GS / FS, based at the page */
	} else if (seg_prefix < 4) {
		/* CS / SS / DS / ES, all flat; CS only for reads (code
		 * segments are not writable: SDM Vol. 3A 5.7). */
		static const u8 segs[] = {0x2e, 0x36, 0x3e, 0x26};
		bool writes = form == MF_STORE_REG || form == MF_STORE_IMM ||
			      form == MF_XCHG || (form == MF_MOFFS && !reads);
		emit(segs[writes && seg_prefix == 0 ? 2 : seg_prefix]);
	}
	if (opsize16)
		emit(0x66);
	switch (form) {
	case MF_STORE_REG:
		emit(size == 1 ? 0x88 : 0x89);
		break;
	case MF_LOAD_REG:
		emit(size == 1 ? 0x8a : 0x8b);
		break;
	case MF_STORE_IMM:
		emit(size == 1 ? 0xc6 : 0xc7);
		break;
	case MF_MOFFS:
		emit((u8)((reads ? 0xa0 : 0xa2) + (size != 1)));
		emit32(target);
		break;
	case MF_MOVZX:
	case MF_MOVSX:
		emit(0x0f);
		emit((u8)((form == MF_MOVZX ? 0xb6 : 0xbe) + (size == 2)));
		break;
	default:
		emit(size == 1 ? 0x86 : 0x87);
		break;
	}
	if (form != MF_MOFFS) {
		u8 regfield = form == MF_STORE_IMM ? 0 : modrm_reg_of[reg];
		if (a16) {
			u16 disp = (u16)rng_below(&o->g, 0x80);
			if (disp > offset)
				disp = (u16)offset;
			emit((u8)(0x40 | (regfield << 3) | rm16[base_reg]));
			emit((u8)disp);
			r.r[base_reg] = (r.r[base_reg] & 0xffff0000u) |
					(u16)(offset - disp);
		} else {
			emit_modrm32(o, &r, regfield, reg, base_reg, target);
		}
	}
	/* A store to the timer's initial count: timermin= holds. */
	if (!ioapic && size == 4 && (offset & ~0xfu) == 0x380 &&
	    (form == MF_STORE_REG || form == MF_STORE_IMM || form == MF_XCHG ||
	     (form == MF_MOFFS && !reads))) {
		value = timer_floor(value, false);
		r.r[reg] = timer_floor(r.r[reg], false);
	}
	/* A store to IOWIN may reach a redirection entry: the same. */
	if (ioapic && (offset & ~0xfu) == 0x10 &&
	    (form == MF_STORE_REG || form == MF_STORE_IMM || form == MF_XCHG ||
	     (form == MF_MOFFS && !reads))) {
		value = tame_delivery_mode(value);
		r.r[reg] = tame_delivery_mode(r.r[reg]);
	}
	/* A store to the ICR or an LVT: no INIT / SMI to itself. Also at
	 * the register's other bytes: QEMU's own APIC (native runs) takes
	 * any dword inside a register as a write of the register. */
	if (!ioapic && size >= 2 && has_delivery_mode(offset & ~0xfu) &&
	    (form == MF_STORE_REG || form == MF_STORE_IMM || form == MF_XCHG ||
	     (form == MF_MOFFS && !reads))) {
		value = tame_delivery_mode(value);
		r.r[reg] = tame_delivery_mode(r.r[reg]);
	}
	if (form == MF_STORE_IMM) {
		if (size == 1)
			emit((u8)value);
		else if (size == 2)
			emit16((u16)value);
		else
			emit32(value);
	}
	apic = ioapic ? 0 : apic_mode();
	known =
	    reads && mmio_known_read(ioapic, offset, size, apic, &known_value);
	dump_code(bytes, sizeof(bytes));
	trace("mmio: %s+0x%x size %u reg %s: %s", ioapic ? "ioapic" : "lapic",
	      offset, size, reg_names[reg], bytes);
	after = r;
	if (a16)
		__asm__ volatile("movw %w0, %%fs; movw %w1, %%gs"
				 :
				 : "r"(SEL_LAPIC), "r"(SEL_IOAPIC));
	run_code(&after);
	__asm__ volatile("movw %w0, %%fs; movw %w0, %%gs" : : "r"(SEL_DATA));
	if (ioapic) {
		expect_no_fault("IOAPIC MMIO");
	} else if (count_fault()) {
		if (trap.vector != VEC_GP || trap.error_code)
			violation("LAPIC MMIO (%s) raised vector %u (error "
				  "0x%x)",
				  bytes, trap.vector, trap.error_code);
		else
			stats.lapic_gp++;
		return;
	}
	if (trap.got)
		return;
	/* Only `reg` may change, and only for reads. */
	for (u32 i = 0; i < R_COUNT; i++) {
		u32 want = r.r[i];
		if (i == reg && reads) {
			u32 v = known_value;
			if (!known || !cfg.veneer)
				continue;
			if (form == MF_MOVZX)
				want = v & all_ones(size);
			else if (form == MF_MOVSX)
				want = size == 1 ? (u32)(i32)(int8_t)v
						 : (u32)(i32)(int16_t)v;
			else if (size == 4)
				want = v;
			else
				want = (r.r[i] & ~all_ones(size)) |
				       (v & all_ones(size));
		}
		if (after.r[i] != want)
			violation("mmio %s+0x%x (%s): %s 0x%x -> 0x%x, "
				  "expected 0x%x",
				  ioapic ? "ioapic" : "lapic", offset, bytes,
				  reg_names[i], r.r[i], after.r[i], want);
	}
}

/*
 * msr: RDMSR or WRMSR of an index from the architectural ranges, the
 * x2APIC range, a list of interesting ones or anywhere, with random
 * values, the value read back, or it with one bit flipped. Only #GP(0)
 * may come back. IA32_APIC_BASE keeps its base 0xFEE00000 (the guest's
 * MMIO operations target it; moving it is the guest's business, not a
 * hypervisor boundary) and random EN / EXTD / BSP / reserved bits.
 */
static const u32 interesting_msrs[] = {
    0x10,	0x1b,	    0x3a,	0x48,	    0x49,	0x8b,
    0xfe,	0x174,	    0x175,	0x176,	    0x179,	0x17a,
    0x1a0,	0x1d9,	    0x200,	0x201,	    0x250,	0x277,
    0x2ff,	0x400,	    0x480,	0x48d,	    0x6e0,	0x802,
    0x808,	0x80b,	    0x80f,	0x828,	    0x830,	0x832,
    0x838,	0x83e,	    0x83f,	0xc0000080, 0xc0000081, 0xc0000082,
    0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
    0xc0010015, 0xc0010055, 0xc0010114, 0xc0010117, 0xc0011029, 0x40000000,
    0x40000001, 0x40000070, 0x4b564d00, 0xc0010000,
};

struct msr_args {
	u32 index;
	bool write;
	u32 lo, hi;
	u32 out_lo, out_hi;
};

static void msr_access(void *p)
{
	struct msr_args *a = p;
	if (a->write)
		__asm__ volatile("wrmsr"
				 :
				 : "c"(a->index), "a"(a->lo), "d"(a->hi)
				 : "memory");
	else
		__asm__ volatile("rdmsr"
				 : "=a"(a->out_lo), "=d"(a->out_hi)
				 : "c"(a->index)
				 : "memory");
}

static u64 random_msr_value(struct rng *g)
{
	switch (rng_below(g, 6)) {
	case 0:
		return 0;
	case 1:
		return ~0ull;
	case 2:
		return rng_u32(g); /* high half 0 */
	case 3:			   /* non-canonical with 48-bit addresses */
		return 0x0000800000000000ull | rng_u32(g);
	case 4:
		return 1ull << rng_below(g, 64);
	default:
		return rng_next(g);
	}
}

static void op_msr(struct op *o)
{
	struct msr_args a = {0};
	u32 how = rng_below(&o->g, 5);
	u64 value = random_msr_value(&o->g);
	u32 flip = rng_below(&o->g, 64);

	switch (rng_below(&o->g, 6)) {
	case 0:
	case 1:
		a.index = interesting_msrs[rng_below(
		    &o->g, ARRAY_SIZE(interesting_msrs))];
		break;
	case 2:
		a.index = 0x800 + rng_below(&o->g, 0x100);
		break;
	case 3: {
		static const u32 bases[] = {0, 0xc0000000, 0xc0010000,
					    0x40000000};
		a.index = bases[rng_below(&o->g, 4)] + rng_below(&o->g, 0x2000);
		break;
	}
	default:
		a.index = rng_u32(&o->g);
		break;
	}
	/* how: 0-1 read, 2 write random, 3 write back what was read, 4 write
	 * it with one bit flipped. */
	if (how >= 3) {
		struct msr_args rd = {.index = a.index};
		run_guarded(msr_access, &rd);
		expect_gp0_or_nothing("rdmsr");
		if (!trap.got)
			value = ((u64)rd.out_hi << 32) | rd.out_lo;
		if (how == 4)
			value ^= 1ull << flip;
	}
	a.write = how >= 2;
	if (a.write && msr_skipped(a.index)) {
		trace("msr: wrmsr 0x%x skipped (skipmsr=)", a.index);
		return;
	}
	if (a.index == MSR_APIC_BASE && a.write) {
		u64 flags =
		    value & (APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN);
		if (rng_chance(&o->g, 10))
			flags |= value & 0x2ff; /* reserved bits */
		value = LAPIC_BASE | flags;
	}
	if (a.write && a.index == 0x838) /* x2APIC timer initial count */
		value =
		    (value & ~0xffffffffull) | timer_floor((u32)value, false);
	if (a.write && a.index >= 0x800 && a.index <= 0x8ff &&
	    has_delivery_mode((a.index - 0x800) << 4))
		value =
		    (value & ~0xffffffffull) | tame_delivery_mode((u32)value);
	a.lo = (u32)value;
	a.hi = (u32)(value >> 32);
	if (a.write)
		trace("msr: wrmsr 0x%x <- 0x%llx", a.index,
		      (unsigned long long)value);
	else
		trace("msr: rdmsr 0x%x", a.index);
	run_guarded(msr_access, &a);
	/* FS / GS bases may have changed: reload the flat selectors. */
	__asm__ volatile("movw %w0, %%fs; movw %w0, %%gs" : : "r"(SEL_DATA));
	expect_gp0_or_nothing(a.write ? "wrmsr" : "rdmsr");
}

/* cpuid: a random leaf and subleaf; never faults; Veneer's leaves. */
static void op_cpuid(struct op *o)
{
	static const u32 bases[] = {0, 0x40000000, 0x80000000, 0x8fffff00,
				    0xc0000000};
	struct regs r = {{0}};
	u32 leaf;
	if (rng_chance(&o->g, 15))
		leaf = rng_u32(&o->g);
	else
		leaf = bases[rng_below(&o->g, ARRAY_SIZE(bases))] +
		       rng_below(&o->g, 0x24);
	r.r[R_EAX] = leaf;
	r.r[R_ECX] =
	    rng_chance(&o->g, 50) ? rng_below(&o->g, 4) : rng_u32(&o->g);
	trace("cpuid: leaf 0x%x subleaf 0x%x", leaf, r.r[R_ECX]);
	code_begin();
	emit(0x0f);
	emit(0xa2);
	run_code(&r);
	expect_no_fault("cpuid");
	if (trap.got || !cfg.veneer)
		return;
	if (leaf == 0x40000000 && (r.r[R_EBX] != VENEER_SIGNATURE_EBX ||
				   r.r[R_ECX] != VENEER_SIGNATURE_ECX ||
				   r.r[R_EDX] != VENEER_SIGNATURE_EDX))
		violation("cpuid 0x40000000: signature 0x%x 0x%x 0x%x",
			  r.r[R_EBX], r.r[R_ECX], r.r[R_EDX]);
	if (leaf == 0x40000001 && r.r[R_EAX] != HC_VERSION_1_0)
		violation("cpuid 0x40000001: eax 0x%x", r.r[R_EAX]);
	if (leaf == 1 && (!(r.r[R_ECX] & BIT(31)) || (r.r[R_ECX] & BIT(5))))
		violation("cpuid 1: ecx 0x%x (hypervisor bit clear or VMX "
			  "shown)",
			  r.r[R_ECX]);
	if (leaf == 0x80000001 && (r.r[R_ECX] & BIT(2)))
		violation("cpuid 0x80000001: ecx 0x%x shows SVM", r.r[R_ECX]);
}

/*
 * hcall: VMCALL or VMMCALL with a random call number and arguments.
 * Results are those of docs/hypercall.md; every register but EAX is kept.
 * HC_EXIT is kept for final=hc-exit. Console writes that succeed print a
 * slice of text_buffer (lines of printable characters), never RAM garbage.
 */
static char text_buffer[4096] __aligned(64);
static u32 hc_minor;

static void op_hcall(struct op *o)
{
	struct regs r, after;
	bool vmmcall = rng_chance(&o->g, 50);
	u32 nr, want_lo = 0, want_hi = 0; /* accepted result range */
	bool check = true;
	for (int i = 0; i < R_COUNT; i++)
		r.r[i] = rng_u32(&o->g);
	switch (rng_below(&o->g, 8)) {
	case 0:
		nr = rng_u32(&o->g);
		break;
	case 1:
		nr = 5 + rng_below(&o->g, 32);
		break;
	default:
		nr = rng_below(&o->g, 5);
		break;
	}
	if (nr == HC_EXIT)
		nr = HC_VERSION;
	r.r[R_EAX] = nr;
	switch (nr) {
	case HC_VERSION:
		want_lo = want_hi = HC_VERSION_1_0;
		break;
	case HC_CPU_ID:
		want_lo = want_hi = 0;
		break;
	case HC_CONSOLE_WRITE: {
		u32 len, addr;
		switch (rng_below(&o->g, 6)) {
		case 0: /* a few lines of text */
			len = 64 * rng_below(&o->g, 3);
			addr = (u32)(uintptr_t)text_buffer;
			break;
		case 1: /* too long */
			len = 4097 + rng_u32(&o->g) % 0x10000000u;
			addr = rng_chance(&o->g, 50)
				   ? (u32)(uintptr_t)text_buffer
				   : rng_u32(&o->g);
			break;
		case 2: /* starts outside RAM */
			len = rng_below(&o->g, 4097);
			addr = ram_end + rng_below(&o->g, -ram_end);
			break;
		case 3: /* runs off the end of RAM */
			len = 2 + rng_below(&o->g, 4095);
			addr = ram_end - 1 - rng_below(&o->g, len - 1);
			break;
		case 4: /* wraps around 4 GiB */
			len = 2 + rng_below(&o->g, 4095);
			addr = 0u - 1 - rng_below(&o->g, len - 1);
			break;
		default: /* random */
			len = rng_u32(&o->g);
			addr = rng_u32(&o->g);
			break;
		}
		r.r[R_EBX] = addr;
		r.r[R_ECX] = len;
		if (len > HC_CONSOLE_WRITE_MAX) {
			/* -3, or -2 as well if the range is also outside. */
			want_lo = (u32)HC_ERR_INVALID_ARGUMENT;
			want_hi = (u64)addr + len > ram_end
				      ? (u32)HC_ERR_BAD_ADDRESS
				      : want_lo;
		} else if ((u64)addr + len > ram_end) {
			want_lo = want_hi = (u32)HC_ERR_BAD_ADDRESS;
			if (len == 0) /* "any byte outside": there is none */
				want_lo = 0;
		} else if (addr < (u32)(uintptr_t)text_buffer ||
			   addr + len > (u32)(uintptr_t)text_buffer +
					    sizeof(text_buffer)) {
			/* Inside RAM but not our text: print nothing. */
			r.r[R_ECX] = len = 0;
			want_lo = want_hi = 0;
		} else {
			want_lo = want_hi = len;
		}
		break;
	}
	case HC_TIMER_ONESHOT: {
		u32 vector = rng_chance(&o->g, 70) ? rng_below(&o->g, 256)
						   : rng_u32(&o->g);
		u64 us;
		switch (rng_below(&o->g, 5)) {
		case 0:
			us = 0;
			break;
		case 1:
			us = 1 + rng_below(&o->g, 1000);
			break;
		case 2:
			us = rng_u32(&o->g);
			break;
		default: /* a 32-bit guest's RCX has 32 bits */
			us = rng_u32(&o->g);
			break;
		}
		r.r[R_EBX] = vector;
		r.r[R_ECX] = (u32)us;
		if (us == 0) {
			want_lo = want_hi = 0;
		} else if (vector < 32 || vector > 255) {
			want_lo = want_hi = (u32)HC_ERR_INVALID_ARGUMENT;
		} else {
			want_lo = want_hi = 0;
		}
		break;
	}
	default:
		if (hc_minor == 0 || nr >= 0x100) {
			want_lo = want_hi = (u32)HC_ERR_UNKNOWN_CALL;
		} else {
			check = false;
		}
		break;
	}
	trace("hcall: %s eax 0x%x ebx 0x%x ecx 0x%x edx 0x%x",
	      vmmcall ? "vmmcall" : "vmcall", r.r[R_EAX], r.r[R_EBX],
	      r.r[R_ECX], r.r[R_EDX]);
	code_begin();
	emit(0x0f);
	emit(0x01);
	emit(vmmcall ? 0xd9 : 0xc1);
	after = r;
	run_code(&after);
	if (!cfg.veneer) {
		/* Natively both raise #UD (VMX / SVM off). */
		if (!count_fault() || trap.vector != VEC_UD)
			violation("%s natively: vector %u, expected #UD",
				  vmmcall ? "vmmcall" : "vmcall",
				  trap.got ? trap.vector : 0);
		return;
	}
	expect_no_fault(vmmcall ? "vmmcall" : "vmcall");
	if (trap.got)
		return;
	for (u32 i = 1; i < R_COUNT; i++)
		if (after.r[i] != r.r[i])
			violation("hypercall 0x%x changed %s: 0x%x -> 0x%x", nr,
				  reg_names[i], r.r[i], after.r[i]);
	if (check && after.r[R_EAX] != want_lo && after.r[R_EAX] != want_hi)
		violation("hypercall 0x%x (ebx 0x%x ecx 0x%x) returned 0x%x, "
			  "expected 0x%x%s",
			  nr, r.r[R_EBX], r.r[R_ECX], after.r[R_EAX], want_lo,
			  want_lo != want_hi ? " or the other error" : "");
}

/* pic: the 8259 pair, initialised with a random vector base (0 and 8
 * included: the power-on base 0 puts IRQs on exception vectors), masks,
 * EOIs, OCW3 and the ELCR, or raw bytes. */
static void op_pic(struct op *o)
{
	u32 kind = rng_below(&o->g, 6);
	bool slave = rng_chance(&o->g, 40);
	u16 cmd = slave ? 0xa0 : 0x20, data = (u16)(cmd + 1);
	u8 base = (u8)(rng_chance(&o->g, 30) ? rng_below(&o->g, 4) * 8
					     : rng_below(&o->g, 32) * 8);
	u8 mask = (u8)rng_u32(&o->g), raw = (u8)rng_u32(&o->g);
	u8 icw1 = (u8)(0x11 | (rng_chance(&o->g, 20) ? 0x02 : 0) |
		       (rng_chance(&o->g, 20) ? 0x08 : 0));
	u8 icw4 = (u8)(0x01 | (rng_chance(&o->g, 30) ? 0x02 : 0));
	trace("pic: %s kind %u base 0x%x mask 0x%x raw 0x%x",
	      slave ? "slave" : "master", kind, base, mask, raw);
	switch (kind) {
	case 0: /* ICW1-ICW4 (8086 mode, auto-EOI sometimes) */
		outb(cmd, icw1);
		outb(data, base);
		if (!(icw1 & 0x02))
			outb(data, slave ? 0x02 : 0x04);
		outb(data, icw4);
		outb(data, mask);
		break;
	case 1: /* OCW1 */
		outb(data, mask);
		break;
	case 2: /* OCW2: any command */
		outb(cmd, (u8)(raw & ~0x18));
		break;
	case 3: /* OCW3 */
		outb(cmd, (u8)((raw & ~0x10) | 0x08));
		(void)inb(cmd);
		break;
	case 4: /* ELCR */
		outb((u16)(0x4d0 + slave), raw);
		break;
	default:
		outb(rng_chance(&o->g, 50) ? cmd : data, raw);
		break;
	}
}

/* IOAPIC register access through IOREGSEL / IOWIN (never faults). */
static void ioapic_write(u8 index, u32 value)
{
	*(volatile u32 *)(uintptr_t)IOAPIC_BASE = index;
	*(volatile u32 *)(uintptr_t)(IOAPIC_BASE + 0x10) = value;
}

static u32 ioapic_read(u8 index)
{
	*(volatile u32 *)(uintptr_t)IOAPIC_BASE = index;
	return *(volatile u32 *)(uintptr_t)(IOAPIC_BASE + 0x10);
}

/* ioapic: a redirection entry with random vector (0-15 included),
 * delivery mode, trigger, polarity, mask and destination; or the ID. */
static void op_ioapic(struct op *o)
{
	u32 pin = rng_below(&o->g, 26); /* 24, 25: no such entry */
	u32 lo = rng_u32(&o->g), hi = rng_u32(&o->g);
	if (rng_chance(&o->g, 50))
		lo &= ~BIT(16); /* unmasked */
	if (rng_chance(&o->g, 30))
		lo = (lo & ~0xffu) | rng_below(&o->g, 16);
	if (rng_chance(&o->g, 50))
		hi = rng_chance(&o->g, 50) ? 0 : 0xff000000u;
	lo = tame_delivery_mode(lo);
	trace("ioapic: pin %u lo 0x%x hi 0x%x", pin, lo, hi);
	if (rng_chance(&o->g, 10)) {
		ioapic_write(0, lo);
		(void)ioapic_read(1);
		return;
	}
	ioapic_write((u8)(0x11 + 2 * pin), hi);
	ioapic_write((u8)(0x10 + 2 * pin), lo);
	(void)ioapic_read((u8)(0x10 + 2 * pin));
}

/* lapic: structured programming through whichever interface the APIC's
 * mode offers (xAPIC MMIO, x2APIC MSRs) or a mode change. #GP allowed. */
struct lapic_args {
	u32 reg; /* xAPIC offset */
	u32 value;
	bool read;
};

static void lapic_access(void *p)
{
	struct lapic_args *a = p;
	u32 mode = apic_mode();
	if (mode == APIC_BASE_EN) {
		volatile u32 *reg =
		    (volatile u32 *)(uintptr_t)(LAPIC_BASE + a->reg);
		if (a->read)
			a->value = *reg;
		else
			*reg = a->value;
	} else if (mode == (APIC_BASE_EN | APIC_BASE_EXTD)) {
		u32 msr = 0x800 + (a->reg >> 4);
		if (a->read)
			a->value = (u32)rdmsr(msr);
		else
			wrmsr(msr, a->value);
	}
}

static void op_lapic(struct op *o)
{
	static const u32 regs[] = {0x080, 0x0b0, 0x0d0, 0x0e0, 0x0f0,
				   0x280, 0x300, 0x320, 0x330, 0x340,
				   0x350, 0x360, 0x370, 0x380, 0x3e0};
	struct lapic_args a = {0};
	u32 kind = rng_below(&o->g, 8);
	u32 vector = rng_chance(&o->g, 25) ? rng_below(&o->g, 16)
					   : rng_below(&o->g, 256);
	u32 value = rng_u32(&o->g);
	switch (kind) {
	case 0: /* enable with a spurious vector, or disable */
		a.reg = 0x0f0;
		a.value = (rng_chance(&o->g, 80) ? BIT(8) : 0) | vector;
		break;
	case 1: /* timer: one-shot, periodic or TSC-deadline, short counts */
		a.reg = 0x320;
		a.value = vector | (rng_below(&o->g, 4) << 17) |
			  (rng_chance(&o->g, 20) ? BIT(16) : 0);
		break;
	case 2:
		a.reg = 0x380;
		a.value = timer_floor(
		    rng_chance(&o->g, 60) ? rng_below(&o->g, 100000) : value,
		    false);
		break;
	case 3: /* self IPI through the ICR: fixed / NMI / INIT / ... */
		a.reg = 0x300;
		a.value = vector | (rng_below(&o->g, 8) << 8) |
			  (rng_below(&o->g, 4) << 18) |
			  (rng_chance(&o->g, 30) ? BIT(15) : 0) |
			  (rng_chance(&o->g, 50) ? BIT(14) : 0);
		break;
	case 4: /* LINT0 / LINT1 / error / perf / thermal */
		a.reg = 0x330 + 0x10 * rng_below(&o->g, 5);
		a.value = vector | (rng_below(&o->g, 8) << 8) |
			  (value & (BIT(13) | BIT(15) | BIT(16)));
		break;
	case 5: { /* a mode change through IA32_APIC_BASE */
		static const u32 modes[] = {0, APIC_BASE_EN,
					    APIC_BASE_EN | APIC_BASE_EXTD,
					    APIC_BASE_EXTD};
		struct msr_args m = {.index = MSR_APIC_BASE,
				     .write = true,
				     .lo = LAPIC_BASE | APIC_BASE_BSP |
					   modes[rng_below(&o->g, 4)]};
		trace("lapic: apic base <- 0x%x", m.lo);
		run_guarded(msr_access, &m);
		expect_gp0_or_nothing("IA32_APIC_BASE write");
		return;
	}
	default:
		a.reg = regs[rng_below(&o->g, ARRAY_SIZE(regs))];
		a.value = value;
		a.read = rng_chance(&o->g, 30);
		break;
	}
	if (has_delivery_mode(a.reg))
		a.value = tame_delivery_mode(a.value);
	trace("lapic: %s 0x%x%s0x%x", a.read ? "read" : "write", a.reg,
	      a.read ? "" : " <- ", a.value);
	run_guarded(lapic_access, &a);
	expect_gp0_or_nothing("LAPIC register access");
}

/* pit: channel 0 / 2 in any mode with a random (often tiny) count, the
 * read-back command, or port 0x61. */
static void op_pit(struct op *o)
{
	u32 kind = rng_below(&o->g, 4);
	u8 channel = rng_chance(&o->g, 70) ? 0 : (u8)rng_below(&o->g, 3);
	u8 mode = (u8)rng_below(&o->g, 8);
	u16 count = (u16)(rng_chance(&o->g, 40) ? rng_below(&o->g, 16)
						: rng_u32(&o->g));
	count = (u16)timer_floor(count, true);
	trace("pit: kind %u channel %u mode %u count %u", kind, channel, mode,
	      count);
	switch (kind) {
	case 0:
	case 1:
		outb(0x43, (u8)((channel << 6) | 0x30 | (mode << 1)));
		outb((u16)(0x40 + channel), (u8)count);
		outb((u16)(0x40 + channel), (u8)(count >> 8));
		break;
	case 2:
		outb(0x43, (u8)(0xc0 | rng_below(&o->g, 0x40)));
		(void)inb((u16)(0x40 + channel));
		(void)inb((u16)(0x40 + channel));
		break;
	default:
		outb(0x61, (u8)rng_u32(&o->g));
		break;
	}
}

/*
 * window: take interrupts for a few instructions (STI ... CLI), with a
 * random EOI policy; whatever arrives, on whichever vector, is counted.
 * hlt: arm HC_TIMER_ONESHOT, then STI; HLT; CLI: the timer (or anything
 * earlier) must wake it, or Veneer would stop the guest.
 */
/* Something that interrupts soon, so that windows see interrupts: a
 * fixed self IPI, the LAPIC timer, the PIT on IRQ 0 (unmasked at the
 * 8259 and the IOAPIC), the 8042's echo on IRQ 1, HC_TIMER_ONESHOT; any
 * vector (0-31 included) where the source takes one. */
static void window_source(u32 source, u32 vector, u32 count)
{
	struct lapic_args a = {0};
	switch (source) {
	case 0:
		a.reg = 0x300;
		a.value = 0x4000 | vector; /* fixed, assert, no shorthand... */
		a.value |= 1u << 18;	   /* ...self */
		run_guarded(lapic_access, &a);
		break;
	case 1:
		a.reg = 0x320;
		a.value = vector;
		run_guarded(lapic_access, &a);
		a.reg = 0x380;
		a.value = timer_floor(count, false);
		run_guarded(lapic_access, &a);
		break;
	case 2:
		/* Half the time LINT0 in ExtINT mode, unmasked (virtual wire,
		 * SDM Vol. 3A 11.5.1): the 8259 delivers, with its own base. */
		if (count & 1) {
			a.reg = 0x350;
			a.value = 0x700;
			run_guarded(lapic_access, &a);
		}
		count = timer_floor(count, true);
		outb(0x43, 0x34); /* channel 0, mode 2 */
		outb(0x40, (u8)count);
		outb(0x40, (u8)(count >> 8));
		outb(0x21, (u8)(inb(0x21) & ~1u));
		ioapic_write(0x10 + 2 * 2, vector);
		break;
	case 3:
		outb(0x64, 0x60); /* command byte: keyboard interrupt on */
		outb(0x60, 0x01);
		outb(0x64, 0xd2); /* echo a byte as if from the keyboard */
		outb(0x60, (u8)vector);
		outb(0x21, (u8)(inb(0x21) & ~2u));
		break;
	case 4:
		if (cfg.veneer)
			(void)hypercall(HYPERCALL_VMMCALL, HC_TIMER_ONESHOT,
					vector, count % 50, 0, 0);
		break;
	default:
		break; /* whatever is pending already */
	}
	/* Those went through guarded accesses: a #GP is allowed there. */
	count_fault();
}

static void op_window(struct op *o, bool hlt)
{
	u32 spins = 1 + rng_below(&o->g, 2000);
	u32 vector = 32 + rng_below(&o->g, 224);
	u32 us = 1 + rng_below(&o->g, 200);
	trap.eoi_policy = rng_u32(&o->g) | EOI_BRAKES;
	if (hlt && !cfg.veneer) {
		trace("hlt: skipped natively");
		return;
	}
	u32 source = rng_below(&o->g, 8);
	u32 source_vector = rng_chance(&o->g, 20) ? rng_below(&o->g, 32)
						  : rng_below(&o->g, 256);
	u32 count = 1 + rng_below(&o->g, 2000);
	trace("%s: %u spins, eoi 0x%x, source %u vector %u%s",
	      hlt ? "hlt" : "window", spins, trap.eoi_policy, source,
	      source_vector, hlt ? ", timer armed" : "");
	window_source(source, source_vector, count);
	trap.window_irqs = 0;
	if (hlt) {
		long rc = hypercall(HYPERCALL_VMCALL, HC_TIMER_ONESHOT, vector,
				    us, 0, 0);
		if (rc != 0)
			violation("HC_TIMER_ONESHOT vector %u %u us: %ld",
				  vector, us, rc);
	}
	trap.in_window = true;
	if (hlt)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	else
		__asm__ volatile("sti\n"
				 "1: decl %0\n"
				 "jnz 1b\n"
				 "cli"
				 : "+r"(spins)
				 :
				 : "memory", "cc");
	trap.in_window = false;
	trap.eoi_policy = 0;
}

/* int: INT n for any n (with no error code pushed even for vectors that
 * have one as exceptions), INT3, INTO with OF set, INT1 (ICEBP). The
 * handler must see vector n with EIP after the instruction. */
static void op_int(struct op *o)
{
	struct regs r = {{0}};
	u32 kind = rng_below(&o->g, 8), vector, start, len;
	code_begin();
	switch (kind) {
	case 0:
		emit(0xcc);
		vector = VEC_BP;
		break;
	case 1:
		/* OF = 1 via 0x7f + 1 in AL, then INTO. */
		emit(0x04);
		emit(0x01);
		emit(0xce);
		r.r[R_EAX] = 0x7f;
		vector = VEC_OF;
		break;
	case 2:
		emit(0xf1);
		vector = VEC_DB;
		break;
	default:
		vector = rng_below(&o->g, 256);
		emit(0xcd);
		emit((u8)vector);
		break;
	}
	len = code_len;
	start = (u32)(uintptr_t)chaos_code;
	trace("int: vector %u (kind %u)", vector, kind);
	run_code(&r);
	if (!count_fault()) {
		if (vector == VEC_NMI)
			return; /* INT 2 runs the NMI handler: counted there */
		violation("int %u: no interrupt taken", vector);
		return;
	}
	/* ICEBP is undocumented; QEMU's TCG answers it with #UD. */
	if (kind == 2 && trap.vector == VEC_UD && trap.ip == start) {
		stats.emulator_quirks++;
		return;
	}
	if (trap.vector != vector || trap.has_error || trap.ip != start + len)
		violation("int %u: got vector %u%s at ip 0x%x, expected ip "
			  "0x%x",
			  vector, trap.vector,
			  trap.has_error ? " with an error code" : "", trap.ip,
			  start + len);
}

/*
 * exc: exceptions the guest raises on itself, each with its vector, error
 * code and EIP checked: #DE, #DB (single step), #BR, #UD (UD2, LOCK on a
 * MOV), #NM (CR0.TS), #NP / #SS / #GP from segment loads, #GP from a
 * reserved CR4 bit, #DF (a #GP whose handler is not present), #MF.
 */
struct exc_case {
	const char *name;
	u8 vector;
	bool error;
	u32 error_code;
	bool trap_after; /* EIP after the instruction (a trap) */
};

static u64 bound_pair;

static void op_exc(struct op *o)
{
	struct regs r = {{0}};
	struct exc_case c = {0};
	u32 kind = rng_below(&o->g, 12), fault_at, cr0 = read_cr0();
	u32 cr4 = read_cr4(), sel;
	code_begin();
	switch (kind) {
	case 0:
		c = (struct exc_case){"div by zero", VEC_DE, false, 0, false};
		r.r[R_EAX] = rng_u32(&o->g);
		r.r[R_EDX] = rng_below(&o->g, 4);
		fault_at = code_len;
		emit(0xf7); /* div ebx */
		emit(0xf3);
		break;
	case 1:
		c = (struct exc_case){"single step", VEC_DB, false, 0, true};
		emit(0x9c); /* pushf; or [esp], TF; popf; nop */
		emit(0x81);
		emit(0x0c);
		emit(0x24);
		emit32(RFLAGS_TF);
		emit(0x9d);
		fault_at = code_len + 1; /* the trap follows the NOP */
		emit(0x90);
		break;
	case 2:
		c = (struct exc_case){"bound", VEC_BR, false, 0, false};
		bound_pair = 0x0000001000000008ull; /* [8, 16] */
		r.r[R_EAX] = rng_chance(&o->g, 50) ? 7 : 17;
		fault_at = code_len;
		emit(0x62); /* bound eax, [disp32] */
		emit(0x05);
		emit32((u32)(uintptr_t)&bound_pair);
		break;
	case 3:
		c = (struct exc_case){"ud2", VEC_UD, false, 0, false};
		fault_at = code_len;
		emit(0x0f);
		emit(0x0b);
		break;
	case 4:
		/* LOCK MOV [eax], eax: #UD before the access (SDM Vol. 2A
		 * LOCK). QEMU's TCG executes it, so the target is RAM: on the
		 * LAPIC page the MMIO decoder would refuse it and Veneer stop
		 * the guest, for an instruction real CPUs never let through. */
		c = (struct exc_case){"lock mov", VEC_UD, false, 0, false};
		fault_at = code_len;
		emit(0xf0);
		emit(0x89);
		emit(0x00);
		r.r[R_EAX] = scratch_lo;
		break;
	case 5:
		c = (struct exc_case){"fnop with CR0.TS", VEC_NM, false, 0,
				      false};
		write_cr0(cr0 | CR0_TS | CR0_MP);
		fault_at = code_len;
		emit(0xd9);
		emit(0xd0);
		break;
	case 6: {
		static const u32 sels[] = {SEL_NP, SEL_XONLY, SEL_BEYOND};
		sel = sels[rng_below(&o->g, 3)];
		c = (struct exc_case){"load ds",
				      sel == SEL_NP ? VEC_NP : VEC_GP, true,
				      sel, false};
		r.r[R_EAX] = sel;
		fault_at = code_len;
		emit(0x8e); /* mov ds, ax */
		emit(0xd8);
		break;
	}
	case 7: {
		static const u32 sels[] = {SEL_NP, SEL_DPL3 | 3, 0, SEL_BEYOND};
		sel = sels[rng_below(&o->g, 4)];
		c = (struct exc_case){"load ss",
				      sel == SEL_NP ? VEC_SS : VEC_GP, true,
				      sel & ~3u, false};
		r.r[R_EAX] = sel;
		fault_at = code_len;
		emit(0x8e); /* mov ss, ax */
		emit(0xd0);
		break;
	}
	case 8:
		/* XSETBV of XCR1 (ECX = 1) with CR4.OSXSAVE: #GP(0) (SDM Vol.
		 * 2C XSETBV). Not a reserved CR4 bit: QEMU 7.2's TCG loops
		 * forever on those instead of raising #GP. */
		if (!(cpuid(1, 0).ecx & BIT(26)))
			return;
		c = (struct exc_case){"xsetbv xcr1", VEC_GP, true, 0, false};
		write_cr4(cr4 | CR4_OSXSAVE);
		r.r[R_ECX] = 1;
		r.r[R_EAX] = 1;
		fault_at = code_len;
		emit(0x0f);
		emit(0x01);
		emit(0xd1);
		break;
	case 9: {
		/* #GP with IDT[13] not present: #NP on the way is a second
		 * contributory exception, so the CPU raises #DF(0) (SDM Vol.
		 * 3A 6.15, Table 6-5). */
		c = (struct exc_case){"#GP without a handler", VEC_DF, true, 0,
				      false};
		chaos_idt[VEC_GP].type_attr &= 0x7f;
		r.r[R_EAX] = SEL_BEYOND;
		fault_at = code_len;
		emit(0x8e);
		emit(0xd8);
		break;
	}
	case 10: {
		/* x87 divide by zero unmasked, CR0.NE: #MF at the next x87
		 * instruction (SDM Vol. 1 8.7). */
		static u16 fpu_cw = 0x037b; /* ZM (bit 2) clear */
		c = (struct exc_case){"x87 divide by zero", VEC_MF, false, 0,
				      false};
		write_cr0((cr0 | CR0_NE) & ~CR0_TS);
		emit(0xdb); /* fninit */
		emit(0xe3);
		emit(0xd9); /* fldcw [fpu_cw] */
		emit(0x2d);
		emit32((u32)(uintptr_t)&fpu_cw);
		emit(0xd9); /* fld1 */
		emit(0xe8);
		emit(0xd9); /* fldz */
		emit(0xee);
		emit(0xde); /* fdivp */
		emit(0xf9);
		fault_at = code_len;
		emit(0x9b); /* fwait */
		break;
	}
	default:
		c = (struct exc_case){"far jump to null", VEC_GP, true, 0,
				      false};
		fault_at = code_len;
		emit(0xea);
		emit32(0);
		emit16(0);
		break;
	}
	if (kind != 8)
		r.r[R_EBX] = 0; /* the divisor of case 0 */
	trace("exc: %s (vector %u)", c.name, c.vector);
	run_code(&r);
	chaos_idt[VEC_GP].type_attr |= 0x80;
	write_cr0(cr0);
	write_cr4(cr4);
	__asm__ volatile("fninit; movw %w0, %%ds; movw %w0, %%ss"
			 :
			 : "r"(SEL_DATA)
			 : "memory");
	if (!count_fault()) {
		if (kind == 4) {
			stats.emulator_quirks++;
			return;
		}
		violation("%s: no exception, expected vector %u", c.name,
			  c.vector);
		return;
	}
	{
		u32 want_ip = (u32)(uintptr_t)chaos_code + fault_at;
		if (c.vector == VEC_DF)
			want_ip = trap.ip; /* #DF: EIP is undefined */
		if (trap.vector != c.vector || trap.has_error != c.error ||
		    trap.error_code != c.error_code || trap.ip != want_ip)
			violation(
			    "%s: vector %u error %s0x%x ip 0x%x, "
			    "expected vector %u error %s0x%x ip 0x%x",
			    c.name, trap.vector, trap.has_error ? "" : "none ",
			    trap.error_code, trap.ip, c.vector,
			    c.error ? "" : "none ", c.error_code, want_ip);
	}
}

/*
 * insn: a privileged or system instruction a kernel may execute, each of
 * which a CPU either completes or answers with #UD or #GP: INVD, WBINVD,
 * CLTS, LMSW/SMSW, MOV to/from CR0 (same value), CR4 with one bit
 * toggled, CR2, CR3, DR0-DR3 / DR6, DR7 with no breakpoint enabled,
 * RDTSC(P), RDPMC, RDRAND, XGETBV/XSETBV, MONITOR, GETSEC, the VMX and SVM
 * instructions, SWAPGS, RSM, INVLPG, SGDT/SIDT/SLDT/STR, PAUSE, WBNOINVD,
 * CLFLUSH, FXSAVE. CR0 / CR4 / DR7 / XCR0 are restored afterwards.
 */
static u8 insn_area[1024] __aligned(64);

static void op_insn(struct op *o)
{
	static const struct {
		const char *name;
		u8 len;
		u8 bytes[5];
	} table[] = {
	    {"invd", 2, {0x0f, 0x08}},
	    {"wbinvd", 2, {0x0f, 0x09}},
	    {"wbnoinvd", 3, {0xf3, 0x0f, 0x09}},
	    {"clts", 2, {0x0f, 0x06}},
	    {"rdtsc", 2, {0x0f, 0x31}},
	    {"rdtscp", 3, {0x0f, 0x01, 0xf9}},
	    {"rdpmc", 2, {0x0f, 0x33}},
	    {"rdrand eax", 3, {0x0f, 0xc7, 0xf0}},
	    {"xgetbv", 3, {0x0f, 0x01, 0xd0}},
	    {"xsetbv", 3, {0x0f, 0x01, 0xd1}},
	    {"monitor", 3, {0x0f, 0x01, 0xc8}},
	    {"getsec", 2, {0x0f, 0x37}},
	    {"vmrun", 3, {0x0f, 0x01, 0xd8}},
	    {"vmload", 3, {0x0f, 0x01, 0xda}},
	    {"vmsave", 3, {0x0f, 0x01, 0xdb}},
	    {"stgi", 3, {0x0f, 0x01, 0xdc}},
	    {"clgi", 3, {0x0f, 0x01, 0xdd}},
	    {"skinit", 3, {0x0f, 0x01, 0xde}},
	    {"invlpga", 3, {0x0f, 0x01, 0xdf}},
	    {"vmxoff", 3, {0x0f, 0x01, 0xc4}},
	    {"vmlaunch", 3, {0x0f, 0x01, 0xc2}},
	    {"vmresume", 3, {0x0f, 0x01, 0xc3}},
	    {"vmfunc", 3, {0x0f, 0x01, 0xd4}},
	    {"vmxon [esi]", 4, {0xf3, 0x0f, 0xc7, 0x36}},
	    {"vmptrld [esi]", 3, {0x0f, 0xc7, 0x36}},
	    {"vmclear [esi]", 4, {0x66, 0x0f, 0xc7, 0x36}},
	    {"vmread eax, ebx", 3, {0x0f, 0x78, 0xd8}},
	    {"invept eax, [esi]", 5, {0x66, 0x0f, 0x38, 0x80, 0x06}},
	    {"swapgs", 3, {0x0f, 0x01, 0xf8}},
	    {"rsm", 2, {0x0f, 0xaa}},
	    {"invlpg [esi]", 3, {0x0f, 0x01, 0x3e}},
	    {"sgdt [esi]", 3, {0x0f, 0x01, 0x06}},
	    {"sidt [esi]", 3, {0x0f, 0x01, 0x0e}},
	    {"sldt eax", 3, {0x0f, 0x00, 0xc0}},
	    {"str eax", 3, {0x0f, 0x00, 0xc8}},
	    {"smsw eax", 3, {0x0f, 0x01, 0xe0}},
	    {"lmsw ax (same)", 3, {0x0f, 0x01, 0xf0}},
	    {"mov eax, cr0", 3, {0x0f, 0x20, 0xc0}},
	    {"mov cr0, ebx", 3, {0x0f, 0x22, 0xc3}},
	    {"mov eax, cr2", 3, {0x0f, 0x20, 0xd0}},
	    {"mov eax, cr3", 3, {0x0f, 0x20, 0xd8}},
	    {"mov cr3, eax", 3, {0x0f, 0x22, 0xd8}},
	    {"mov eax, cr4", 3, {0x0f, 0x20, 0xe0}},
	    {"mov cr4, ecx (one bit toggled)", 3, {0x0f, 0x22, 0xe1}},
	    {"lock mov eax, cr0 (AMD: cr8)", 4, {0xf0, 0x0f, 0x20, 0xc0}},
	    {"mov dr0, edx", 3, {0x0f, 0x23, 0xc2}},
	    {"mov dr6, edx", 3, {0x0f, 0x23, 0xf2}},
	    {"mov dr7, edx (no enables)", 3, {0x0f, 0x23, 0xfa}},
	    {"mov eax, dr7", 3, {0x0f, 0x21, 0xf8}},
	    {"mov eax, dr4", 3, {0x0f, 0x21, 0xe0}},
	    {"pause", 2, {0xf3, 0x90}},
	    {"clflush [esi]", 3, {0x0f, 0xae, 0x3e}},
	    {"fxsave [esi]", 3, {0x0f, 0xae, 0x06}},
	    {"ud1 eax, [esi]", 3, {0x0f, 0xb9, 0x06}},
	    {"rdpid eax", 4, {0xf3, 0x0f, 0xc7, 0xf8}},
	    {"rdpkru", 3, {0x0f, 0x01, 0xee}},
	    {"encls", 3, {0x0f, 0x01, 0xcf}},
	};
	u32 i = rng_below(&o->g, ARRAY_SIZE(table));
	struct regs r = {{0}};
	u32 cr0 = read_cr0(), cr4 = read_cr4(), cr3 = read_cr3();
	/* CR4 bits every x86-64 CPU has (SDM Vol. 3A 2.5): VME .. OSXMMEXCPT.
	 * Reserved or absent ones would raise #GP, but QEMU 7.2's TCG loops
	 * forever on them instead. */
	u32 toggle = rng_below(&o->g, 11);
	u32 dr = rng_u32(&o->g);
	u32 xcr_lo = 0, xcr_hi = 0;
	bool have_xsave = cr4 & BIT(18);
	if (have_xsave)
		__asm__ volatile("xgetbv"
				 : "=a"(xcr_lo), "=d"(xcr_hi)
				 : "c"(0));
	for (int k = 0; k < R_COUNT; k++)
		r.r[k] = rng_u32(&o->g);
	r.r[R_ESI] = (u32)(uintptr_t)insn_area + 64 * rng_below(&o->g, 6);
	r.r[R_EBX] = cr0;
	r.r[R_EAX] = table[i].bytes[2] == 0xd8 && table[i].bytes[1] == 0x22
			 ? cr3
			 : r.r[R_EAX];
	if (table[i].bytes[1] == 0x01 && table[i].bytes[2] == 0xf0)
		r.r[R_EAX] = cr0; /* lmsw: the same low word */
	r.r[R_ECX] = cr4 ^ BIT(toggle);
	if (table[i].bytes[0] == 0x0f && table[i].bytes[1] == 0x01 &&
	    (table[i].bytes[2] == 0xd0 || table[i].bytes[2] == 0xd1))
		r.r[R_ECX] = rng_below(&o->g, 3);
	r.r[R_EDX] = dr & ~0x20ffu; /* DR7: no L/G enables, no GD */
	if (insn_skipped(table[i].name)) {
		trace("insn: %s skipped (skipinsn=)", table[i].name);
		return;
	}
	trace("insn: %s (ecx 0x%x)", table[i].name, r.r[R_ECX]);
	code_begin();
	for (u32 k = 0; k < table[i].len; k++)
		emit(table[i].bytes[k]);
	run_code(&r);
	/* Put back what the instruction may have changed. */
	write_cr0(cr0);
	write_cr4(cr4);
	__asm__ volatile("mov %0, %%dr7" : : "r"(0));
	if (have_xsave && (read_cr4() & BIT(18)))
		__asm__ volatile("xsetbv" : : "a"(xcr_lo), "d"(xcr_hi), "c"(0));
	if (count_fault() && trap.vector != VEC_UD && trap.vector != VEC_GP)
		violation("%s raised vector %u (error 0x%x)", table[i].name,
			  trap.vector, trap.error_code);
}

/* ---- the final phase: operations that end the guest as documented ---- */

/* Any page above RAM below 4 GiB that is neither APIC nor the BIOS area. */
static u32 outside_address(struct rng *g)
{
	u32 a;
	do {
		a = ram_end + rng_below(g, 0xfe000000u - ram_end);
		a &= ~3u;
	} while ((a >> 12) == (IOAPIC_BASE >> 12) ||
		 (a >> 12) == (LAPIC_BASE >> 12));
	return a;
}

static void run_final(const char *kind, struct rng *g)
{
	static const char *const kinds[] = {
	    "read",	    "write",	"exec",	    "ins-outside",
	    "outs-outside", "ins-huge", "mmio-alu", "mmio-cross",
	    "debug-exit",   "hc-exit",	"s5",	    "triple-fault",
	    "hlt-cli",
	};
	u32 k;
	u32 addr = outside_address(g), code = 2 + rng_below(g, 250);
	struct regs r = {{0}};
	if (!str_starts_with(kind, "random")) {
		for (k = 0; k < ARRAY_SIZE(kinds); k++)
			if (str_starts_with(kind, kinds[k]) &&
			    (kind[str_len(kinds[k])] == 0 ||
			     kind[str_len(kinds[k])] == ' '))
				break;
		if (k == ARRAY_SIZE(kinds)) {
			guest_printf("FAIL: chaos: unknown final=%s\n", kind);
			guest_failures++;
			return;
		}
	} else {
		k = rng_below(g, ARRAY_SIZE(kinds));
	}
	kind = kinds[k];
	code_begin();
	switch (k) {
	case 0:
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     addr);
		serial_drain();
		(void)*(volatile u32 *)(uintptr_t)addr;
		break;
	case 1:
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     addr);
		serial_drain();
		*(volatile u32 *)(uintptr_t)addr = 0x5a5a5a5a;
		break;
	case 2:
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     addr);
		serial_drain();
		((void (*)(void))(uintptr_t)addr)();
		break;
	case 3:
	case 4:
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     addr);
		serial_drain();
		if (k == 3)
			__asm__ volatile("rep insb"
					 : "+D"(addr)
					 : "d"(0x2f0), "c"(16)
					 : "memory");
		else
			__asm__ volatile("rep outsb"
					 : "+S"(addr)
					 : "d"(0x2f0), "c"(16)
					 : "memory");
		break;
	case 5: {
		/* ECX = 2^32 - 1 from the last page of RAM up: the writes run
		 * off the end of RAM. */
		u32 start = ram_end - 4096;
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     ram_end);
		serial_drain();
		__asm__ volatile("rep insb"
				 : "+D"(start)
				 : "d"(0x2f0), "c"(0xffffffffu)
				 : "memory");
		break;
	}
	case 6:
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     LAPIC_BASE + 0x80);
		serial_drain();
		/* add [disp32], eax: an ALU form the decoder refuses. */
		emit(0x01);
		emit(0x05);
		emit32(LAPIC_BASE + 0x80);
		code_end();
		chaos_exec(&r);
		break;
	case 7:
		guest_printf("chaos: final: %s: expect stop at 0x%x\n", kind,
			     LAPIC_BASE + 0xffe);
		serial_drain();
		(void)*(volatile u32 *)(uintptr_t)(LAPIC_BASE + 0xffe);
		break;
	case 8:
		guest_printf("chaos: final: %s: expect exit %u\n", kind, code);
		serial_drain();
		outl(DEBUG_EXIT_PORT, code);
		break;
	case 9:
		guest_printf("chaos: final: %s: expect exit %u\n", kind, code);
		serial_drain();
		(void)hypercall(rng_chance(g, 50) ? HYPERCALL_VMCALL
						  : HYPERCALL_VMMCALL,
				HC_EXIT, code, 0, 0, 0);
		break;
	case 10:
		/* SLP_TYP = 5 (the DSDT's \_S5), SLP_EN (ACPI 6.x 4.8.3.2). */
		guest_printf("chaos: final: %s: expect exit 0\n", kind);
		serial_drain();
		outw(0x604, (u16)((5 << 10) | BIT(13)));
		break;
	case 11: {
		static const struct gdt_pointer empty = {0, 0};
		guest_printf("chaos: final: %s: expect stop triple fault\n",
			     kind);
		serial_drain();
		__asm__ volatile("lidt %0; ud2" : : "m"(empty));
		break;
	}
	default:
		guest_printf("chaos: final: %s: expect stop halted\n", kind);
		serial_drain();
		__asm__ volatile("cli; hlt");
		break;
	}
	guest_printf("FAIL: chaos: final %s returned\n", kind);
	guest_failures++;
}

/* ---- set-up and the main loop ---- */

static void load_tables(void)
{
	struct gdt_pointer gp;
	u32 stubs = (u32)(uintptr_t)chaos_isr_stubs;
	chaos_gdt[1] = descriptor(0, 0x9a);
	chaos_gdt[2] = descriptor(0, 0x92);
	chaos_gdt[3] = descriptor(scratch_lo, 0x92);
	chaos_gdt[4] = descriptor(LAPIC_BASE, 0x92);
	chaos_gdt[5] = descriptor(IOAPIC_BASE, 0x92);
	chaos_gdt[6] = descriptor(0, 0x12); /* P = 0 */
	chaos_gdt[7] = descriptor(0, 0x98); /* execute-only code */
	chaos_gdt[8] = descriptor(0, 0xf2); /* DPL 3 data */
	gp.limit = sizeof(chaos_gdt) - 1;
	gp.base = (u32)(uintptr_t)chaos_gdt;
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%fs\n\t"
			 "movw %w2, %%gs\n\t"
			 "movw %w2, %%ss"
			 :
			 : "m"(gp), "i"(SEL_CODE), "r"(SEL_DATA)
			 : "memory");
	for (u32 v = 0; v < IDT_VECTORS; v++) {
		u32 stub = stubs + v * ISR_STUB_LEN;
		chaos_idt[v].offset_low = (u16)stub;
		chaos_idt[v].selector = SEL_CODE;
		chaos_idt[v].zero = 0;
		chaos_idt[v].type_attr = 0x8e; /* present interrupt gate */
		chaos_idt[v].offset_high = (u16)(stub >> 16);
	}
	gp.limit = sizeof(chaos_idt) - 1;
	gp.base = (u32)(uintptr_t)chaos_idt;
	__asm__ volatile("lidt %0" : : "m"(gp));
}

static void fill_guards(void)
{
	memset((void *)(uintptr_t)image_end, GUARD_PATTERN,
	       scratch_lo - image_end);
	memset((void *)(uintptr_t)LOW_STRING_AREA, GUARD_PATTERN,
	       LOW_GUARD_END - LOW_STRING_AREA);
}

static void check_range(u32 lo, u32 hi, const char *what)
{
	for (u32 a = lo; a < hi; a++) {
		u8 v = *(volatile u8 *)(uintptr_t)a;
		if (v != GUARD_PATTERN) {
			violation("%s at 0x%x holds 0x%x: written by nobody "
				  "the guest asked to",
				  what, a, v);
			memset((void *)(uintptr_t)lo, GUARD_PATTERN, hi - lo);
			return;
		}
	}
}

static void check_guards(void)
{
	check_range(image_end, scratch_lo, "guard area above the image");
	check_range(LOW_STRING_AREA, LOW_GUARD_END,
		    "guard area above the 16-bit string area");
}

static bool parse_cats(const char *s)
{
	bool any_plus = false;
	u32 cats = 0;
	const char *p;
	for (p = s; *p && *p != ' ';) {
		bool minus = *p == '-';
		const char *name = minus ? p + 1 : p;
		size_t n = 0;
		u32 c;
		while (name[n] && name[n] != ',' && name[n] != ' ')
			n++;
		if (n == 3 && str_starts_with(name, "all")) {
			c = CAT_COUNT;
		} else {
			for (c = 0; c < CAT_COUNT; c++)
				if (str_len(cat_names[c]) == n &&
				    str_starts_with(name, cat_names[c]))
					break;
			if (c == CAT_COUNT) {
				guest_printf("FAIL: chaos: unknown kind in "
					     "cats=%s\n",
					     s);
				return false;
			}
		}
		if (!minus && !any_plus) {
			any_plus = true;
			cats = 0;
		}
		if (p == s && minus)
			cats = BIT(CAT_COUNT) - 1;
		if (c == CAT_COUNT)
			cats = minus ? 0 : BIT(CAT_COUNT) - 1;
		else if (minus)
			cats &= ~BIT(c);
		else
			cats |= BIT(c);
		p = name + n;
		if (*p == ',')
			p++;
	}
	cfg.cats = cats;
	return true;
}

/* A bare word on the command line ("verbose"), or key=... */
static bool cmdline_has_word(const char *cmdline, const char *word)
{
	size_t n = str_len(word);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		if (str_starts_with(p, word) &&
		    (p[n] == 0 || p[n] == ' ' || p[n] == '='))
			return true;
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

static bool parse_cmdline(const char *cmdline)
{
	const char *v;
	u64 n;
	cfg.ops = DEFAULT_OPS;
	cfg.rounds = 1;
	cfg.cats = BIT(CAT_COUNT) - 1;
	cfg.seed = rdtsc();
	if ((v = cmdline_value(cmdline, "seed")) && !parse_u64(v, &cfg.seed))
		return false;
	if ((v = cmdline_value(cmdline, "ops"))) {
		if (!parse_u64(v, &n))
			return false;
		cfg.ops = (u32)n;
	}
	if ((v = cmdline_value(cmdline, "rounds"))) {
		if (!parse_u64(v, &n))
			return false;
		cfg.rounds = (u32)n;
	}
	skip_insns = cmdline_value(cmdline, "skipinsn");
	if ((v = cmdline_value(cmdline, "timermin"))) {
		if (!parse_u64(v, &n))
			return false;
		timer_min_us = (u32)n;
	}
	if ((v = cmdline_value(cmdline, "skipmsr"))) {
		while (skip_msr_count < SKIP_MSRS_MAX && *v && *v != ' ') {
			char one[24];
			size_t k = 0;
			while (v[k] && v[k] != ',' && v[k] != ' ' &&
			       k < sizeof(one) - 1) {
				one[k] = v[k];
				k++;
			}
			one[k] = 0;
			if (!parse_u64(one, &n))
				return false;
			skip_msrs[skip_msr_count++] = (u32)n;
			v += k;
			if (*v == ',')
				v++;
		}
	}
	if ((v = cmdline_value(cmdline, "maxcount"))) {
		if (!parse_u64(v, &n))
			return false;
		max_count = (u32)n;
	}
	if ((v = cmdline_value(cmdline, "first"))) {
		if (!parse_u64(v, &n))
			return false;
		cfg.first = (u32)n;
	}
	if (cmdline_has_word(cmdline, "verbose")) {
		cfg.trace = true;
		if ((v = cmdline_value(cmdline, "verbose"))) {
			if (!parse_u64(v, &n))
				return false;
			cfg.trace_from = (u32)n;
		}
	}
	if ((v = cmdline_value(cmdline, "cats")) && !parse_cats(v))
		return false;
	cfg.final = cmdline_value(cmdline, "final");
	if (!cfg.ops)
		cfg.rounds = 1; /* endless empty rounds would only print */
	return true;
}

static void find_ram(const struct multiboot_info *mbi)
{
	static struct guest_mmap map;
	ram_end = 0;
	if (guest_mmap_read(mbi, &map))
		for (u32 i = 0; i < map.count; i++)
			if (map.entry[i].type == MULTIBOOT_MEMORY_AVAILABLE &&
			    map.entry[i].base == 0x100000)
				ram_end = (u32)(map.entry[i].base +
						map.entry[i].length);
	if (!ram_end)
		ram_end = 0x100000 + mbi->mem_upper * 1024;
	image_end = (u32)(uintptr_t)_guest_image_end;
	scratch_lo = ALIGN_UP(image_end, MiB) + MiB;
	scratch_hi = ram_end;
}

static void run_op(struct rng *stream)
{
	u32 pick = rng_u32(stream), total = 0, acc = 0;
	struct op o = {.g = {rng_next(stream)}};
	enum cat c;
	for (c = 0; c < CAT_COUNT; c++)
		total += cat_weight[c];
	pick = (u32)(((u64)pick * total) >> 32);
	for (c = 0; c < CAT_COUNT; c++) {
		acc += cat_weight[c];
		if (pick < acc)
			break;
	}
	if (current_op < cfg.first || !(cfg.cats & BIT(c))) {
		stats.ops_skipped++;
		return;
	}
	stats.ops_run++;
	stats.per_cat[c]++;
	switch (c) {
	case CAT_PIO:
		op_pio(&o);
		break;
	case CAT_STR:
	case CAT_STR16:
	case CAT_STRSEG:
		op_string(&o, c);
		break;
	case CAT_MMIO:
		op_mmio(&o);
		break;
	case CAT_MSR:
		op_msr(&o);
		break;
	case CAT_CPUID:
		op_cpuid(&o);
		break;
	case CAT_HCALL:
		op_hcall(&o);
		break;
	case CAT_PIC:
		op_pic(&o);
		break;
	case CAT_IOAPIC:
		op_ioapic(&o);
		break;
	case CAT_LAPIC:
		op_lapic(&o);
		break;
	case CAT_PIT:
		op_pit(&o);
		break;
	case CAT_WINDOW:
	case CAT_HLT:
		op_window(&o, c == CAT_HLT);
		break;
	case CAT_INT:
		op_int(&o);
		break;
	case CAT_EXC:
		op_exc(&o);
		break;
	default:
		op_insn(&o);
		break;
	}
}

static void print_summary(void)
{
	u32 faults = 0, i;
	for (i = 0; i < 32; i++)
		faults += stats.faults[i];
	guest_printf("chaos: summary: seed 0x%llx rounds %u ops %u run %u "
		     "faults %u soft-ints %u irqs %u nmis %u brakes %u "
		     "lapic-gp %u quirks %u violations %u\n",
		     (unsigned long long)cfg.seed, current_round,
		     stats.ops_run + stats.ops_skipped, stats.ops_run, faults,
		     stats.soft_ints, stats.irqs_total, stats.nmis,
		     stats.brakes, stats.lapic_gp, stats.emulator_quirks,
		     stats.violations);
	guest_printf("chaos: faults by vector:");
	for (i = 0; i < 32; i++)
		if (stats.faults[i])
			guest_printf(" %u:%u", i, stats.faults[i]);
	guest_printf("\nchaos: interrupts on vectors 0-31:");
	for (i = 0; i < 32; i++)
		if (stats.irqs[i])
			guest_printf(" %u:%u", i, stats.irqs[i]);
	guest_printf("\nchaos: ops by kind:");
	for (i = 0; i < CAT_COUNT; i++)
		if (stats.per_cat[i])
			guest_printf(" %s:%u", cat_names[i], stats.per_cat[i]);
	guest_printf("\n");
}

void guest_main(const struct multiboot_info *mbi)
{
	static char cmdline[512];
	const char *given = guest_cmdline(mbi);
	struct rng seeds;
	size_t n = str_len(given);
	if (n >= sizeof(cmdline))
		n = sizeof(cmdline) - 1;
	memcpy(cmdline, given, n);
	cmdline[n] = 0;
	find_ram(mbi);
	cfg.veneer = under_veneer();
	if (!parse_cmdline(cmdline)) {
		guest_fail("chaos: bad command line");
		return;
	}
	guest_printf("chaos: seed 0x%llx ops %u rounds %u cats 0x%x\n",
		     (unsigned long long)cfg.seed, cfg.ops, cfg.rounds,
		     cfg.cats);
	guest_printf("chaos: RAM 0x0-0x%x, image ends 0x%x, scratch "
		     "0x%x-0x%x\n",
		     ram_end, image_end, scratch_lo, scratch_hi);
	if (chaos_isr_stubs_end - chaos_isr_stubs !=
	    IDT_VECTORS * ISR_STUB_LEN) {
		guest_fail("chaos: interrupt stubs are not 16 bytes apart");
		return;
	}
	if (scratch_lo + MiB > scratch_hi) {
		guest_fail("chaos: needs at least 4 MiB of RAM above the image "
			   "(mem=8M or more)");
		return;
	}
	for (u32 i = 0; i < sizeof(text_buffer); i++)
		text_buffer[i] =
		    (i % 64 == 63) ? '\n' : (char)('a' + (i * 7 + i / 64) % 26);
	if (cfg.veneer) {
		long v = hypercall(HYPERCALL_VMCALL, HC_VERSION, 0, 0, 0, 0);
		hc_minor = (u32)v & 0xffff;
	}
	load_tables();
	fill_guards();

	seeds.s = cfg.seed;
	round_seed = cfg.seed;
	for (current_round = 0; !cfg.rounds || current_round < cfg.rounds;
	     current_round++) {
		struct rng stream = {round_seed};
		if (current_round)
			guest_printf("chaos: round %u seed 0x%llx\n",
				     current_round,
				     (unsigned long long)round_seed);
		for (current_op = 0; current_op < cfg.ops; current_op++) {
			run_op(&stream);
			if ((current_op + 1) % PROGRESS_EVERY == 0) {
				check_guards();
				guest_printf("chaos: %u ops done\n",
					     current_op + 1);
			}
		}
		check_guards();
		round_seed = rng_next(&seeds);
		if (!cfg.rounds)
			print_summary();
	}
	print_summary();
	if (cfg.final) {
		struct rng g = {cfg.seed ^ 0xf17a1ull};
		run_final(cfg.final, &g);
	}
}
