/* SPDX-License-Identifier: MIT */
/*
 * prefixes: instructions Veneer completes for the guest keep the meaning of
 * their prefixes (issue 10). AMD-V under QEMU's TCG reports neither the
 * length of an intercepted instruction (no NRIP save), nor the segment of
 * OUTS (no decode assists), nor the address size of INS/OUTS: Veneer must
 * decode the prefixes itself.
 *
 * - 0x67 on REP OUTSB / REP INSB in 32-bit code: the count is CX and the
 *   pointer SI or DI (SDM Vol. 1 3.6); junk in the upper halves of ECX,
 *   ESI and EDI changes nothing and is kept. CX = 0 with junk above does
 *   nothing at all.
 * - OUTSB with an FS, GS, ES, CS or SS override reads from that segment
 *   (SDM Vol. 2B OUTS): a GDT of our own gives DS, FS, GS and ES four
 *   different bases.
 * - CPUID as 66 0F A2, RDMSR as 2E 0F 32, WRMSR as 3E 0F 30, HLT as F3 F4
 *   (woken by the para-virtual timer, under Veneer): each resumes right
 *   after its last byte. Checked with RFLAGS.TF: the #DB after the
 *   instruction names where the guest resumed (SDM Vol. 3B 18.3.1.4); a
 *   wrong place is reported and left for the right one, so no stray byte
 *   runs.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/trap.h"

#define VEC_DB		  1
#define RFLAGS_TF	  BIT(8)
#define TIMER_VECTOR	  0x40
#define MSR_MTRR_DEF_TYPE 0x2ff
#define PIC1_DATA	  0x21
#define PIC2_DATA	  0xa1
#define UART_SCRATCH	  (UART_BASE + UART_SCR)

/* Selectors of our GDT: 0x08 and 0x10 as lib/entry32.S has them. */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_DS	 0x18 /* base ds_buf */
#define SEL_FS	 0x20 /* base fs_buf */
#define SEL_GS	 0x28 /* base gs_buf */
#define SEL_ES	 0x30 /* base es_buf */
#define GDT_SIZE 7

#define OFFSET 0x10 /* SI used inside each buffer */

static u64 gdt[GDT_SIZE] __aligned(16);
static u8 ds_buf[256], fs_buf[256], gs_buf[256], es_buf[256];
static u8 cs_byte = 0xc5, ss_byte = 0x55;

/* A 4 GiB read/write data segment at `base` (SDM Vol. 3A 3.4.5). */
static u64 data_descriptor(u32 base)
{
	return 0x0000ffffull | (u64)(base & 0xffffff) << 16 | 0x92ull << 40 |
	       0xcfull << 48 | (u64)(base >> 24) << 56;
}

static void load_gdt(void)
{
	struct {
		u16 limit;
		u32 base;
	} __attribute__((packed)) pointer = {sizeof(gdt) - 1, (u32)gdt};

	gdt[1] = 0x00cf9a000000ffffull; /* flat code */
	gdt[2] = data_descriptor(0);
	gdt[3] = data_descriptor((u32)ds_buf);
	gdt[4] = data_descriptor((u32)fs_buf);
	gdt[5] = data_descriptor((u32)gs_buf);
	gdt[6] = data_descriptor((u32)es_buf);
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%fs\n\t"
			 "movw %w2, %%gs\n\t"
			 "movw %w2, %%ss\n\t"
			 :
			 : "m"(pointer), "i"(SEL_CODE), "r"(SEL_DATA)
			 : "memory");
}

/* ---- 0x67: 16-bit addressing in 32-bit code */

struct str_regs {
	u32 ecx, esi, edi;
};

/* addr16 rep outsb from DS = ds_buf to the UART scratch register. */
static struct str_regs rep_outsb_addr16(struct str_regs r)
{
	__asm__ volatile("pushl %%ds\n\t"
			 "movw %w3, %%ds\n\t"
			 ".byte 0x67, 0xf3, 0x6e\n\t" /* addr16 rep outsb */
			 "popl %%ds\n\t"
			 : "+c"(r.ecx), "+S"(r.esi), "+D"(r.edi)
			 : "r"(SEL_DS), "d"(UART_SCRATCH)
			 : "memory");
	return r;
}

/* addr16 rep insb from the UART scratch register to ES = es_buf. */
static struct str_regs rep_insb_addr16(struct str_regs r)
{
	__asm__ volatile("pushl %%es\n\t"
			 "movw %w3, %%es\n\t"
			 ".byte 0x67, 0xf3, 0x6c\n\t" /* addr16 rep insb */
			 "popl %%es\n\t"
			 : "+c"(r.ecx), "+S"(r.esi), "+D"(r.edi)
			 : "r"(SEL_ES), "d"(UART_SCRATCH)
			 : "memory");
	return r;
}

static void check_addr16(void)
{
	struct str_regs r;

	for (u32 i = 0; i < sizeof(ds_buf); i++)
		ds_buf[i] = (u8)(0x30 + i);
	outb(UART_SCRATCH, 0);
	r = rep_outsb_addr16(
	    (struct str_regs){0xa5a50003, 0x5a5a0000 | OFFSET, 0x12345678});
	EXPECT_EQ(r.ecx, 0xa5a50000,
		  "addr16 rep outsb: CX counts to 0, the "
		  "upper half of ECX kept");
	EXPECT_EQ(r.esi, 0x5a5a0000 | (OFFSET + 3),
		  "... SI moves by 3, the upper half of ESI kept");
	EXPECT_EQ(r.edi, 0x12345678, "... EDI unchanged");
	EXPECT_EQ(inb(UART_SCRATCH), ds_buf[OFFSET + 2],
		  "... the last byte written is DS:SI + 2");

	outb(UART_SCRATCH, 0x77);
	r = rep_outsb_addr16(
	    (struct str_regs){0xc3c30000, 0x3c3c0000 | OFFSET, 0});
	EXPECT_EQ(r.ecx, 0xc3c30000, "addr16 rep outsb with CX = 0: ECX kept");
	EXPECT_EQ(r.esi, 0x3c3c0000 | OFFSET, "... ESI kept");
	EXPECT_EQ(inb(UART_SCRATCH), 0x77, "... nothing written");

	outb(UART_SCRATCH, 0xe7);
	memset(es_buf, 0, sizeof(es_buf));
	r = rep_insb_addr16(
	    (struct str_regs){0x96960004, 0x11111111, 0x69690000 | OFFSET});
	EXPECT_EQ(r.ecx, 0x96960000,
		  "addr16 rep insb: CX counts to 0, the "
		  "upper half of ECX kept");
	EXPECT_EQ(r.edi, 0x69690000 | (OFFSET + 4),
		  "... DI moves by 4, the upper half of EDI kept");
	EXPECT_EQ(r.esi, 0x11111111, "... ESI unchanged");
	EXPECT_TRUE(es_buf[OFFSET - 1] == 0 && es_buf[OFFSET] == 0xe7 &&
			es_buf[OFFSET + 3] == 0xe7 && es_buf[OFFSET + 4] == 0,
		    "... ES:DI .. ES:DI + 3 got the scratch register");
}

/* ---- segment overrides on OUTS */

/* ESI after the last OUTSB_WITH. */
static u32 outsb_esi;

/* One outsb with `prefixes` (segment overrides, a string of bytes) to the
 * scratch register, DS = ds_buf meanwhile; what the register got. */
#define OUTSB_WITH(prefixes, si)                                               \
	({                                                                     \
		u32 esi_ = (si);                                               \
		outb(UART_SCRATCH, 0);                                         \
		__asm__ volatile("pushl %%ds\n\t"                              \
				 "movw %w1, %%ds\n\t"                          \
				 ".byte " prefixes ", 0x6e\n\t"                \
				 "popl %%ds\n\t"                               \
				 : "+S"(esi_)                                  \
				 : "r"(SEL_DS), "d"(UART_SCRATCH)              \
				 : "memory");                                  \
		outsb_esi = esi_;                                              \
		inb(UART_SCRATCH);                                             \
	})

static void expect_outsb(u8 got, u8 expected, u32 si, const char *what)
{
	EXPECT_EQ(got, expected, what);
	EXPECT_EQ(outsb_esi, si + 1, "... ESI moves by 1");
}

static void check_segments(void)
{
	u16 es = SEL_ES;
	u32 esi = OFFSET;

	ds_buf[OFFSET] = 0xd5;
	fs_buf[OFFSET] = 0xf5;
	gs_buf[OFFSET] = 0x65;
	es_buf[OFFSET] = 0xe5;
	__asm__ volatile("movw %w0, %%fs\n\tmovw %w1, %%gs"
			 :
			 : "r"(SEL_FS), "r"(SEL_GS));
	expect_outsb(OUTSB_WITH("0x3e", OFFSET), 0xd5, OFFSET,
		     "ds outsb reads DS:ESI");
	expect_outsb(OUTSB_WITH("0x64", OFFSET), 0xf5, OFFSET,
		     "fs outsb reads FS:ESI");
	expect_outsb(OUTSB_WITH("0x65", OFFSET), 0x65, OFFSET,
		     "gs outsb reads GS:ESI");
	/* CS and SS are flat: the byte at its own linear address. */
	expect_outsb(OUTSB_WITH("0x2e", (u32)&cs_byte), 0xc5, (u32)&cs_byte,
		     "cs outsb reads CS:ESI");
	expect_outsb(OUTSB_WITH("0x36", (u32)&ss_byte), 0x55, (u32)&ss_byte,
		     "ss outsb reads SS:ESI");
	/* The last of two overrides counts (what QEMU and Bochs do). */
	expect_outsb(OUTSB_WITH("0x64, 0x65", OFFSET), 0x65, OFFSET,
		     "fs gs outsb reads GS:ESI");
	__asm__ volatile("movw %w0, %%fs\n\tmovw %w0, %%gs" : : "r"(SEL_DATA));
	/* ES is needed flat by the C code around: set only inside. */
	outb(UART_SCRATCH, 0);
	__asm__ volatile("pushl %%ds\n\t"
			 "pushl %%es\n\t"
			 "movw %w1, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 ".byte 0x26, 0x6e\n\t" /* es outsb */
			 "popl %%es\n\t"
			 "popl %%ds\n\t"
			 : "+S"(esi)
			 : "r"(SEL_DS), "r"(es), "d"(UART_SCRATCH)
			 : "memory");
	outsb_esi = esi;
	expect_outsb(inb(UART_SCRATCH), 0xe5, OFFSET, "es outsb reads ES:ESI");
}

/* ---- lengths: where the guest resumes, by the #DB of RFLAGS.TF */

static volatile u32 stop_ip, trap_ip;
static volatile unsigned traps, timer_ticks;

/* Records where the guest resumed, ends the stepping and puts the guest
 * where it must go on (so that a wrong place runs no stray byte). */
static void db_handler(struct trap_frame *frame)
{
	if (!traps++)
		trap_ip = frame->ip;
	frame->flags &= ~(ureg)RFLAGS_TF;
	frame->ip = stop_ip;
}

static void timer_handler(struct trap_frame *frame)
{
	(void)frame;
	timer_ticks++;
}

static void expect_resumed(const char *what)
{
	if (traps == 1 && trap_ip == stop_ip) {
		guest_printf("PASS: %s: resumed at 0x%x, after its last byte\n",
			     what, stop_ip);
		return;
	}
	guest_printf("FAIL: %s: %u #DB, resumed at 0x%x, expected 0x%x\n", what,
		     traps, trap_ip, stop_ip);
	guest_failures++;
}

static void reset_traps(void)
{
	traps = 0;
	trap_ip = 0;
}

/* "Set TF, then run the bytes": POPF makes TF active one instruction on. */
#define STEP(bytes)                                                            \
	"movl $2f, stop_ip\n\t"                                                \
	"pushfl\n\t"                                                           \
	"orl $0x100, (%%esp)\n\t"                                              \
	"popfl\n\t"                                                            \
	".byte " bytes "\n"                                                    \
	"2:\n\t"

static void check_cpuid(void)
{
	struct cpuid_regs plain = cpuid(0, 0);
	u32 a = 0, b, c = 0, d;

	reset_traps();
	__asm__ volatile(STEP("0x66, 0x0f, 0xa2")
			 : "+a"(a), "=b"(b), "+c"(c), "=d"(d)
			 :
			 : "memory", "cc");
	expect_resumed("66 0f a2 (cpuid)");
	EXPECT_TRUE(a == plain.eax && b == plain.ebx && c == plain.ecx &&
			d == plain.edx,
		    "... it returned leaf 0");
}

static void check_msrs(void)
{
	u64 plain = rdmsr(MSR_MTRR_DEF_TYPE);
	u32 lo, hi;

	reset_traps();
	__asm__ volatile(STEP("0x2e, 0x0f, 0x32")
			 : "=a"(lo), "=d"(hi)
			 : "c"(MSR_MTRR_DEF_TYPE)
			 : "memory", "cc");
	expect_resumed("2e 0f 32 (rdmsr)");
	EXPECT_EQ(((u64)hi << 32) | lo, plain, "... it read MTRR_DEF_TYPE");

	reset_traps();
	__asm__ volatile(STEP("0x3e, 0x0f, 0x30")
			 :
			 : "a"(lo), "d"(hi), "c"(MSR_MTRR_DEF_TYPE)
			 : "memory", "cc");
	expect_resumed("3e 0f 30 (wrmsr)");
	EXPECT_EQ(rdmsr(MSR_MTRR_DEF_TYPE), plain,
		  "... it wrote MTRR_DEF_TYPE back");
}

/*
 * F3 F4: HLT with a redundant REP, woken by HC_TIMER_ONESHOT; POPF sets
 * IF and TF together (as the singlestep guest does). The timer is far
 * enough ahead that it cannot fire before the HLT.
 */
static void check_hlt(void)
{
	long armed;

	timer_ticks = 0;
	trap_set_handler(TIMER_VECTOR, timer_handler);
	reset_traps();
	armed = hypercall(HYPERCALL_VMCALL, HC_TIMER_ONESHOT, TIMER_VECTOR,
			  10000, 0, 0);
	__asm__ volatile("movl $2f, stop_ip\n\t"
			 "pushfl\n\t"
			 "orl $0x300, (%%esp)\n\t"
			 "popfl\n\t"
			 ".byte 0xf3, 0xf4\n" /* rep hlt */
			 "2:\n\t"
			 "cli\n\t"
			 :
			 :
			 : "memory", "cc");
	EXPECT_EQ(armed, 0, "HC_TIMER_ONESHOT armed");
	expect_resumed("f3 f4 (hlt)");
	EXPECT_EQ(timer_ticks, 1, "... and the timer interrupt woke it");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	/* No 8259 interrupt during HLT or a step. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	load_gdt();
	trap_set_handler(VEC_DB, db_handler);

	check_addr16();
	check_segments();
	check_cpuid();
	check_msrs();
	if (!under_veneer()) {
		guest_skip("f3 f4 (hlt) woken by HC_TIMER_ONESHOT (Veneer "
			   "only)");
		return;
	}
	check_hlt();
}
