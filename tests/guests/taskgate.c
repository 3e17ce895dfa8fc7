/* SPDX-License-Identifier: MIT */
/*
 * taskgate: hardware task switches (SDM Vol. 3A 7.3), as 32-bit kernels
 * use them: a task gate for double faults above all (issue 16 item 7).
 * VT-x exits on every task switch and Veneer carries it out
 * (core/taskswitch.c); AMD-V performs it in the guest.
 *
 * With its own GDT (flat code 0x08 and data 0x10 as the library's, TSSs,
 * a task gate) and task gates in the library's IDT, at CPL 0, paging off:
 * - CALL to a TSS: the task runs with NT set, its back link the caller's
 *   TR, CR0.TS set, its registers from its TSS; its IRET returns after
 *   the CALL with the caller's registers, the callee no longer busy. A
 *   second CALL resumes the task after its IRET, with the registers it
 *   had there.
 * - JMP through a task gate in the GDT: no NT, no back link, the old TSS
 *   no longer busy; the task JMPs back.
 * - INT 0x40 through a task gate in the IDT: the task IRETs back to the
 *   instruction after the INT.
 * - A double fault through the task gate at vector 8: #GP with the #GP
 *   gate not present gives #NP, both contributory: #DF. The #DF task
 *   finds error code 0 on its stack, its back link, the faulting EIP in
 *   the old TSS; it points that EIP past the fault and IRETs back.
 * - Faults: CALL to a busy TSS #GP(sel), to a TSS shorter than 0x68
 *   #TS(sel), to a TSS not present #NP(sel), to a selector beyond the GDT
 *   #GP(sel); IRET with NT to an available TSS #TS(sel); in the new task
 *   (after the commit point), a GS not present #NP(GS) and an FS that is
 *   execute-only code #TS(FS), raised with TR already the new task's.
 *
 * Natively (QEMU TCG) the same holds.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11

/* The guest's GDT. */
#define SEL_CODE    0x08
#define SEL_DATA    0x10
#define SEL_MAIN    0x18
#define SEL_WORKER  0x20
#define SEL_DF	    0x28
#define SEL_GATE    0x30 /* task gate -> SEL_JUMPER */
#define SEL_SHORT   0x38 /* TSS limit 0x50 */
#define SEL_ABSENT  0x40 /* TSS not present */
#define SEL_BAD_GS  0x48 /* TSS whose GS is not present */
#define SEL_INT	    0x50 /* the task of INT 0x40 */
#define SEL_JUMPER  0x58
#define SEL_BAD_FS  0x60 /* TSS whose FS is execute-only code */
#define SEL_NP_DATA 0x68 /* data segment, not present */
#define SEL_XO_CODE 0x70 /* execute-only code segment */
#define GDT_ENTRIES 15
#define SEL_BEYOND  0x400
#define INT_VECTOR  0x40
#define LCALL_LEN   7 /* 9A ptr16:32 */
#define IRET_LEN    1
#define EFLAGS_NT   BIT(14)
#define CR0_TS	    BIT(3)
#define TYPE_BUSY   0x2
#define WORKER_EAX  0x600dcafeU
#define WORKER_EBX  0x0000beefU

struct tss32 {
	u16 link, link_hi;
	u32 esp0;
	u16 ss0, ss0_hi;
	u32 esp1;
	u16 ss1, ss1_hi;
	u32 esp2;
	u16 ss2, ss2_hi;
	u32 cr3, eip, eflags;
	u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u16 es, es_hi, cs, cs_hi, ss, ss_hi, ds, ds_hi, fs, fs_hi, gs, gs_hi;
	u16 ldt, ldt_hi;
	u16 trap, iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 0x68, "32-bit TSS (SDM Vol. 3A 7.2.1)");

enum task { MAIN, WORKER, DF, INT, JUMPER, BAD_GS, BAD_FS, SHORT, TASKS };

static struct tss32 tss[TASKS] __aligned(128);
static u8 stacks[TASKS][4096] __aligned(16);
static u64 gdt[GDT_ENTRIES] __aligned(8);

/* What the tasks saw, for main to check. */
volatile u32 worker_runs, worker_eax, worker_ebx, worker_flags, worker_cr0;
volatile u16 worker_tr, worker_link;
volatile u32 jumper_runs, jumper_flags;
volatile u16 jumper_link, jumper_main_type;
volatile u32 int_runs, int_flags;
volatile u16 int_link;
volatile u32 df_runs, df_error, df_esp, df_flags, df_saved_eip;
volatile u16 df_link;
volatile u32 df_fault_eip, df_resume_eip;
volatile u32 bad_vector, bad_error, bad_count;
volatile u16 bad_tr;

/* Task entry points (below): each runs its C part, then returns to the
 * task it came from; the next switch to it starts over. */
void worker_entry(void);
void jumper_entry(void);
void int_entry(void);
void df_entry(void);
void task_return(void);
void worker_main(void);
void jumper_main(void);
void int_main(void);
void df_main(void);

static u32 read_eflags(void)
{
	u32 f;

	__asm__ volatile("pushfl; popl %0" : "=r"(f));
	return f;
}

static u16 read_tr(void)
{
	u16 tr;

	__asm__ volatile("str %0" : "=r"(tr));
	return tr;
}

static void clear_ts(void)
{
	__asm__ volatile("clts");
}

/* ---- descriptors (SDM Vol. 3A 3.4.5, 7.2.2, 7.2.5) */

static u64 segment_desc(u32 base, u32 limit, u32 type, bool s, bool present,
			bool big)
{
	u64 d = (limit & 0xffff) | ((u64)(base & 0xffffff) << 16);

	d |= (u64)type << 40 | (u64)s << 44 | (u64)present << 47;
	d |= (u64)((limit >> 16) & 0xf) << 48;
	if (big)
		d |= (1ULL << 54) | (1ULL << 55);
	return d | (u64)(base >> 24) << 56;
}

/* A task gate: the TSS selector in bits 31:16, type 5, present. */
static u64 task_gate(u16 tss_sel)
{
	return (u64)tss_sel << 16 | (u64)0x85 << 40;
}

static u32 desc_type(u16 sel)
{
	return (u32)(gdt[sel >> 3] >> 40) & 0xf;
}

static void set_tss_desc(u16 sel, enum task t, u32 limit, bool present)
{
	gdt[sel >> 3] = segment_desc((u32)(uintptr_t)&tss[t], limit, 0x9, false,
				     present, 0);
}

static void init_task(enum task t, void (*entry)(void))
{
	struct tss32 *s = &tss[t];

	memset(s, 0, sizeof(*s));
	s->eip = (u32)(uintptr_t)entry;
	s->eflags = 0x2;
	s->esp = (u32)(uintptr_t)&stacks[t][sizeof(stacks[t])];
	s->cs = SEL_CODE;
	s->ss = s->ds = s->es = s->fs = s->gs = SEL_DATA;
	s->cr3 = (u32)read_cr3();
	s->iomap_base = sizeof(*s); /* no I/O bitmap */
}

static void load_gdt(void)
{
	struct {
		u16 limit;
		u32 base;
	} __attribute__((packed)) p = {sizeof(gdt) - 1, (u32)(uintptr_t)gdt};

	gdt[SEL_CODE >> 3] = segment_desc(0, 0xfffff, 0xb, true, true, true);
	gdt[SEL_DATA >> 3] = segment_desc(0, 0xfffff, 0x3, true, true, true);
	gdt[SEL_NP_DATA >> 3] =
	    segment_desc(0, 0xfffff, 0x3, true, false, true);
	gdt[SEL_XO_CODE >> 3] = segment_desc(0, 0xfffff, 0x9, true, true, 1);
	set_tss_desc(SEL_MAIN, MAIN, 0x67, true);
	set_tss_desc(SEL_WORKER, WORKER, 0x67, true);
	set_tss_desc(SEL_DF, DF, 0x67, true);
	set_tss_desc(SEL_INT, INT, 0x67, true);
	set_tss_desc(SEL_JUMPER, JUMPER, 0x67, true);
	set_tss_desc(SEL_BAD_GS, BAD_GS, 0x67, true);
	set_tss_desc(SEL_BAD_FS, BAD_FS, 0x67, true);
	set_tss_desc(SEL_SHORT, SHORT, 0x50, true);
	set_tss_desc(SEL_ABSENT, SHORT, 0x67, false);
	gdt[SEL_GATE >> 3] = task_gate(SEL_JUMPER);
	__asm__ volatile("lgdt %0\n\t"
			 "movw %w1, %%ds\n\t"
			 "movw %w1, %%es\n\t"
			 "movw %w1, %%ss\n\t"
			 "ljmp %2, $1f\n"
			 "1:"
			 :
			 : "m"(p), "r"(SEL_DATA), "i"(SEL_CODE)
			 : "memory");
	__asm__ volatile("ltr %w0" : : "r"(SEL_MAIN));
}

/* The library's IDT: where gates go. */
static u64 *idt(void)
{
	struct {
		u16 limit;
		u32 base;
	} __attribute__((packed)) p;

	__asm__ volatile("sidt %0" : "=m"(p));
	return (u64 *)(uintptr_t)p.base;
}

/* ---- the tasks */

__asm__(".text\n"
	"worker_entry:\n\t"
	"movl %eax, worker_eax\n\t"
	"movl %ebx, worker_ebx\n\t"
	"call worker_main\n\t"
	"iret\n\t"
	"jmp worker_entry\n"
	"jumper_entry:\n\t"
	"call jumper_main\n\t"
	"ljmp $0x18, $0\n\t"
	"jmp jumper_entry\n"
	"int_entry:\n\t"
	"call int_main\n\t"
	"iret\n\t"
	"jmp int_entry\n"
	"df_entry:\n\t"
	"popl df_error\n\t"
	"movl %esp, df_esp\n\t"
	"call df_main\n\t"
	"iret\n\t"
	"jmp df_entry\n"
	/* A fault handler returns here with the faulting task's EFLAGS
	 * (NT set): this IRET is the task return to its caller. */
	"task_return:\n\t"
	"iret\n");

void worker_main(void)
{
	worker_runs++;
	worker_flags = read_eflags();
	worker_cr0 = (u32)read_cr0();
	worker_tr = read_tr();
	worker_link = tss[WORKER].link;
}

void jumper_main(void)
{
	jumper_runs++;
	jumper_flags = read_eflags();
	jumper_link = tss[JUMPER].link;
	jumper_main_type = (u16)desc_type(SEL_MAIN);
}

void int_main(void)
{
	int_runs++;
	int_flags = read_eflags();
	int_link = tss[INT].link;
}

/* The #DF task: puts the #GP gate back and resumes main past the fault. */
void df_main(void)
{
	df_runs++;
	df_flags = read_eflags();
	df_link = tss[DF].link;
	df_saved_eip = tss[MAIN].eip;
	idt()[VEC_GP] |= 1ULL << 47;
	tss[MAIN].eip = df_resume_eip;
}

/* ---- checks */

static void check_call_and_iret(void)
{
	u32 eax = 0x12345678, esi = 0x9abcdef0, edi = 0x0badf00d;

	init_task(WORKER, worker_entry);
	tss[WORKER].eax = WORKER_EAX;
	tss[WORKER].ebx = WORKER_EBX;
	__asm__ volatile("lcall %3, $0"
			 : "+a"(eax), "+S"(esi), "+D"(edi)
			 : "i"(SEL_WORKER)
			 : "ebx", "ecx", "edx", "memory", "cc");
	EXPECT_EQ(worker_runs, 1, "CALL to a TSS ran the task");
	EXPECT_EQ(worker_eax, WORKER_EAX, "the task's EAX from its TSS");
	EXPECT_EQ(worker_ebx, WORKER_EBX, "the task's EBX from its TSS");
	EXPECT_TRUE(worker_flags & EFLAGS_NT, "CALL sets NT in the new task");
	EXPECT_EQ(worker_link, SEL_MAIN, "the back link is the caller's TSS");
	EXPECT_EQ(worker_tr, SEL_WORKER, "TR is the new task's");
	EXPECT_TRUE(worker_cr0 & CR0_TS, "a task switch sets CR0.TS");
	EXPECT_EQ(eax, 0x12345678, "IRET back: the caller's EAX");
	EXPECT_EQ(esi, 0x9abcdef0, "IRET back: the caller's ESI");
	EXPECT_EQ(edi, 0x0badf00d, "IRET back: the caller's EDI");
	EXPECT_EQ(read_tr(), SEL_MAIN, "IRET back: TR is the caller's");
	EXPECT_TRUE(!(read_eflags() & EFLAGS_NT), "IRET back: NT clear");
	EXPECT_EQ(desc_type(SEL_WORKER), 0x9, "IRET: the callee not busy");
	EXPECT_EQ(desc_type(SEL_MAIN), 0xb, "IRET: the caller busy");
	EXPECT_TRUE(!(tss[WORKER].eflags & EFLAGS_NT),
		    "IRET saved the callee's EFLAGS without NT");
	clear_ts();
	__asm__ volatile("lcall %0, $0"
			 :
			 : "i"(SEL_WORKER)
			 : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory",
			   "cc");
	EXPECT_EQ(worker_runs, 2,
		  "a second CALL resumes the task after its "
		  "IRET");
	/* EBX, which worker_main preserves, was saved at its IRET. */
	EXPECT_EQ(worker_ebx, WORKER_EBX, "the task's EBX kept in its TSS");
	clear_ts();
}

static void check_jmp_through_a_gate(void)
{
	init_task(JUMPER, jumper_entry);
	tss[JUMPER].link = 0x1234;
	__asm__ volatile("ljmp %0, $0"
			 :
			 : "i"(SEL_GATE)
			 : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory",
			   "cc");
	EXPECT_EQ(jumper_runs, 1, "JMP through a task gate ran the task");
	EXPECT_TRUE(!(jumper_flags & EFLAGS_NT), "JMP: no NT");
	EXPECT_EQ(jumper_link, 0x1234, "JMP: no back link written");
	EXPECT_EQ(jumper_main_type, 0x9, "JMP: the old task not busy");
	EXPECT_EQ(desc_type(SEL_JUMPER), 0x9, "JMP back: that task not busy");
	EXPECT_EQ(desc_type(SEL_MAIN), 0xb, "JMP back: main busy again");
	clear_ts();
}

static void check_int_through_a_task_gate(void)
{
	u32 ebx = 0x5a5a5a5a;

	init_task(INT, int_entry);
	idt()[INT_VECTOR] = task_gate(SEL_INT);
	__asm__ volatile("int %1"
			 : "+b"(ebx)
			 : "i"(INT_VECTOR)
			 : "eax", "ecx", "edx", "esi", "edi", "memory", "cc");
	EXPECT_EQ(int_runs, 1, "INT 0x40 through a task gate ran the task");
	EXPECT_TRUE(int_flags & EFLAGS_NT, "INT: NT set in the new task");
	EXPECT_EQ(int_link, SEL_MAIN, "INT: the back link");
	EXPECT_EQ(ebx, 0x5a5a5a5a, "IRET: back after the INT");
	clear_ts();
}

static void check_double_fault_task(void)
{
	u32 fault_eip;

	init_task(DF, df_entry);
	idt()[VEC_DF] = task_gate(SEL_DF);
	idt()[VEC_GP] &= ~(1ULL << 47); /* #GP's gate not present */
	__asm__ volatile("movl $1f, %0\n\t"
			 "movl $2f, df_resume_eip\n\t"
			 "movw %1, %%ax\n"
			 "1:\tmovw %%ax, %%fs\n"
			 "2:\n\t"
			 : "=m"(fault_eip)
			 : "i"(SEL_BEYOND)
			 : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory",
			   "cc");
	EXPECT_EQ(df_runs, 1, "#GP then #NP: the #DF task gate ran");
	EXPECT_EQ(df_error, 0, "#DF error code 0 on the new task's stack");
	EXPECT_EQ(df_esp, (u32)(uintptr_t)&stacks[DF][sizeof(stacks[DF])],
		  "#DF: the error code was the only push");
	EXPECT_TRUE(df_flags & EFLAGS_NT, "#DF task: NT set");
	EXPECT_EQ(df_link, SEL_MAIN, "#DF task: the back link");
	EXPECT_EQ(df_saved_eip, fault_eip,
		  "#DF: the old task saved at the faulting instruction");
	EXPECT_TRUE(idt()[VEC_GP] & (1ULL << 47), "the #GP gate is back");
	EXPECT_EQ(read_tr(), SEL_MAIN, "IRET from the #DF task: main's TR");
	clear_ts();
}

/* The selector of each faulting CALL is patched into its instruction. */
#define CALL_FAULT(sel, vector, error_code, what)                              \
	do {                                                                   \
		u32 call_eip_;                                                 \
		trap_record_reset();                                           \
		trap_catch(vector);                                            \
		trap_skip_bytes = LCALL_LEN;                                   \
		__asm__ volatile("movl $1f, %0\n"                              \
				 "1:\tlcall %1, $0\n\t"                        \
				 : "=m"(call_eip_)                             \
				 : "i"(sel)                                    \
				 : "memory");                                  \
		check_fault(vector, error_code, call_eip_, what);              \
	} while (0)

static void check_fault(unsigned vector, u32 error_code, u32 eip,
			const char *what)
{
	trap_set_handler(vector, 0);
	if (trap_last.count != 1 || trap_last.vector != vector ||
	    trap_last.error_code != error_code || trap_last.ip != eip) {
		guest_printf(
		    "FAIL: %s (%u faults: vector %lu error 0x%lx eip "
		    "0x%lx, want vector %u error 0x%x eip 0x%x)\n",
		    what, trap_last.count, (unsigned long)trap_last.vector,
		    (unsigned long)trap_last.error_code,
		    (unsigned long)trap_last.ip, vector, error_code, eip);
		guest_failures++;
		return;
	}
	guest_printf("PASS: %s\n", what);
}

/* IRET with NT, to a TSS that is not busy: #TS; NT cleared on return. */
static void clear_nt_and_skip(struct trap_frame *frame)
{
	trap_last.count++;
	trap_last.vector = frame->vector;
	trap_last.error_code = frame->error_code;
	trap_last.ip = frame->ip;
	frame->flags &= ~EFLAGS_NT;
	frame->ip += IRET_LEN;
}

static void check_iret_to_an_available_tss(void)
{
	u32 iret_eip;

	tss[MAIN].link = SEL_WORKER; /* available */
	trap_record_reset();
	trap_set_handler(VEC_TS, clear_nt_and_skip);
	__asm__ volatile("movl $1f, %0\n\t"
			 "pushfl\n\t"
			 "orl %1, (%%esp)\n\t"
			 "popfl\n"
			 "1:\tiret\n\t"
			 : "=m"(iret_eip)
			 : "i"(EFLAGS_NT)
			 : "memory", "cc");
	check_fault(VEC_TS, SEL_WORKER, iret_eip,
		    "IRET with NT to an available TSS: #TS(selector)");
	EXPECT_TRUE(!(read_eflags() & EFLAGS_NT), "NT clear again");
}

/*
 * A fault after the commit point is raised in the new task: its handler
 * sees the new TR, then returns through task_return, whose IRET (NT set)
 * is the task return to main.
 */
static void back_to_the_caller(struct trap_frame *frame)
{
	bad_count++;
	bad_vector = frame->vector;
	bad_error = frame->error_code;
	bad_tr = read_tr();
	frame->cs = SEL_CODE;
	frame->ip = (ureg)(uintptr_t)task_return;
}

static void check_new_task_fault(u16 sel, unsigned vector, u16 bad_sel,
				 const char *what)
{
	trap_set_handler(vector, 0);
	if (bad_count != 1 || bad_vector != vector || bad_error != bad_sel ||
	    bad_tr != sel) {
		guest_printf(
		    "FAIL: %s (%u faults: vector %u error 0x%x TR 0x%x,"
		    " want vector %u error 0x%x TR 0x%x)\n",
		    what, bad_count, bad_vector, bad_error, bad_tr, vector,
		    bad_sel, sel);
		guest_failures++;
	} else {
		guest_printf("PASS: %s\n", what);
	}
	EXPECT_EQ(read_tr(), SEL_MAIN, "back in main through the task return");
	EXPECT_EQ(desc_type(sel), 0x9, "that task no longer busy");
	clear_ts();
}

/* CALL to a task whose segment `bad_sel` fails its checks. */
#define NEW_TASK_FAULT(sel, vector, bad_sel, what)                             \
	do {                                                                   \
		bad_count = 0;                                                 \
		trap_set_handler(vector, back_to_the_caller);                  \
		__asm__ volatile("lcall %0, $0"                                \
				 :                                             \
				 : "i"(sel)                                    \
				 : "eax", "ebx", "ecx", "edx", "esi", "edi",   \
				   "memory", "cc");                            \
		check_new_task_fault(sel, vector, bad_sel, what);              \
	} while (0)

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	memset(tss, 0, sizeof(tss));
	load_gdt();
	check_call_and_iret();
	check_jmp_through_a_gate();
	check_int_through_a_task_gate();
	check_double_fault_task();
	CALL_FAULT(SEL_MAIN, VEC_GP, SEL_MAIN, "CALL to a busy TSS: #GP(sel)");
	CALL_FAULT(SEL_SHORT, VEC_TS, SEL_SHORT,
		   "CALL to a TSS of limit 0x50: #TS(sel)");
	CALL_FAULT(SEL_ABSENT, VEC_NP, SEL_ABSENT,
		   "CALL to a TSS not present: #NP(sel)");
	CALL_FAULT(SEL_BEYOND, VEC_GP, SEL_BEYOND,
		   "CALL beyond the GDT limit: #GP(sel)");
	check_iret_to_an_available_tss();
	init_task(BAD_GS, worker_entry);
	tss[BAD_GS].gs = SEL_NP_DATA;
	NEW_TASK_FAULT(SEL_BAD_GS, VEC_NP, SEL_NP_DATA,
		       "new task's GS not present: #NP(GS) in the new task");
	init_task(BAD_FS, worker_entry);
	tss[BAD_FS].fs = SEL_XO_CODE;
	NEW_TASK_FAULT(SEL_BAD_FS, VEC_TS, SEL_XO_CODE,
		       "new task's FS execute-only: #TS(FS) in the new task");
	EXPECT_EQ(worker_runs, 2, "neither faulting task ran its code");
}
