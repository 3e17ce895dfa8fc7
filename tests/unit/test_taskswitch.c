/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/taskswitch.c: the hardware task switch carried out
 * for a guest (SDM Vol. 3A 7.3), driven through the fake backend with a
 * GDT, LDT and TSSs in the fake guest's RAM (32-bit protected mode).
 *
 * Every check of SDM Vol. 3A Table 7-1 is tried with its fault and error
 * code; a fault before the commit point must leave registers and memory
 * as they were, one after it is raised in the new task.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "core/handlers.h"
#include "core/taskswitch.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

#define RAM_SIZE MiB(1)
#define GDT	 0x1000u
#define TSS_MAIN 0x2000u
#define TSS_B	 0x3000u
#define LDT	 0x4000u
#define PD	 0x10000u /* 32-bit paging: the page directory */
#define PT	 0x11000u /* and the one page table (first 4 MiB) */

/* The GDT: selectors. */
#define SEL_CODE      0x08 /* flat code, DPL 0 */
#define SEL_DATA      0x10 /* flat data, DPL 0 */
#define SEL_MAIN      0x18 /* the running task's TSS (busy) */
#define SEL_B	      0x20 /* another task's TSS (available) */
#define SEL_LDT	      0x28 /* an LDT with a code and a data segment */
#define SEL_CODE3     0x33 /* flat code, DPL 3, RPL 3 */
#define SEL_DATA3     0x3b /* flat data, DPL 3, RPL 3 */
#define SEL_SHORT     0x40 /* a TSS of 0x51 bytes */
#define SEL_ABSENT    0x48 /* a TSS, not present */
#define SEL_TSS16     0x50 /* a 16-bit TSS */
#define SEL_NP_DATA   0x58 /* data, not present */
#define SEL_RO_DATA   0x60 /* read-only data */
#define SEL_XO_CODE   0x68 /* execute-only code */
#define SEL_BUSY      0x70 /* a TSS already busy */
#define SEL_FAR_TSS   0x78 /* a TSS at 2 MiB: outside the guest's RAM */
#define GDT_ENTRIES   16
#define SEL_LDT_CODE  0x04 /* LDT entry 0, TI */
#define SEL_LDT_DATA  0x0c /* LDT entry 1, TI */
#define B_EIP	      0x7000u
#define B_ESP	      0x8000u
#define MAIN_EIP      0x5000u
#define ATTR_CODE     0xc09bu /* G, D, P, DPL 0, code RX accessed */
#define ATTR_DATA     0xc093u
#define ATTR_UNUSABLE BIT(16)

static struct fake_guest guest;

/* ---- building the tables */

static u64 desc(u32 base, u32 limit, u32 type, bool s, u32 dpl, bool present,
		bool big)
{
	u64 d = (limit & 0xffff) | ((u64)(base & 0xffffff) << 16);

	d |= (u64)type << 40 | (u64)s << 44 | (u64)dpl << 45 |
	     (u64)present << 47;
	d |= (u64)((limit >> 16) & 0xf) << 48;
	if (big)
		d |= BIT(54) | BIT(55); /* D/B, G (limit in pages) */
	d |= (u64)(base >> 24) << 56;
	return d;
}

static void put_desc(u32 table, u16 sel, u64 d)
{
	memcpy(guest.ram + table + (sel & ~7u), &d, sizeof(d));
}

static u64 get_desc(u32 table, u16 sel)
{
	u64 d;

	memcpy(&d, guest.ram + table + (sel & ~7u), sizeof(d));
	return d;
}

static u32 gdt_type(u16 sel)
{
	return (u32)(get_desc(GDT, sel) >> 40) & 0xf;
}

static struct tss32 *tss_at(u32 base)
{
	return (struct tss32 *)(guest.ram + base);
}

static void tss_b_set_segments(u16 cs, u16 ss, u16 data)
{
	struct tss32 *b = tss_at(TSS_B);

	b->seg[0][0] = data; /* ES */
	b->seg[1][0] = cs;
	b->seg[2][0] = ss;
	b->seg[3][0] = data; /* DS */
	b->seg[4][0] = data; /* FS */
	b->seg[5][0] = data; /* GS */
}

static void set_seg(enum vcpu_field sel, enum vcpu_field base,
		    enum vcpu_field limit, enum vcpu_field attr, u16 s, u32 b,
		    u32 l, u32 a)
{
	fake_set(&guest, sel, s);
	fake_set(&guest, base, b);
	fake_set(&guest, limit, l);
	fake_set(&guest, attr, a);
}

static int setup(void **state)
{
	struct tss32 *b;

	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	fake_guest_flat32(&guest);
	put_desc(GDT, SEL_CODE, desc(0, 0xfffff, 0xa, true, 0, true, true));
	put_desc(GDT, SEL_DATA, desc(0, 0xfffff, 0x2, true, 0, true, true));
	put_desc(GDT, SEL_MAIN, desc(TSS_MAIN, 0x67, 0xb, false, 0, true, 0));
	put_desc(GDT, SEL_B, desc(TSS_B, 0x67, 0x9, false, 0, true, false));
	put_desc(GDT, SEL_LDT, desc(LDT, 0xf, 0x2, false, 0, true, false));
	put_desc(GDT, SEL_CODE3, desc(0, 0xfffff, 0xa, true, 3, true, true));
	put_desc(GDT, SEL_DATA3, desc(0, 0xfffff, 0x2, true, 3, true, true));
	put_desc(GDT, SEL_SHORT, desc(0x2800, 0x50, 0x9, false, 0, true, 0));
	put_desc(GDT, SEL_ABSENT, desc(0x2900, 0x67, 0x9, false, 0, 0, 0));
	put_desc(GDT, SEL_TSS16, desc(0x2a00, 0x67, 0x1, false, 0, true, 0));
	put_desc(GDT, SEL_NP_DATA, desc(0, 0xfffff, 0x2, true, 0, false, 1));
	put_desc(GDT, SEL_RO_DATA, desc(0, 0xfffff, 0x0, true, 0, true, 1));
	put_desc(GDT, SEL_XO_CODE, desc(0, 0xfffff, 0x8, true, 0, true, 1));
	put_desc(GDT, SEL_BUSY, desc(0x2b00, 0x67, 0xb, false, 0, true, 0));
	put_desc(GDT, SEL_FAR_TSS, desc(MiB(2), 0x67, 0x9, false, 0, 1, 0));
	put_desc(LDT, SEL_LDT_CODE,
		 desc(0x100000, 0xffff, 0xa, true, 0, true, false));
	put_desc(LDT, SEL_LDT_DATA,
		 desc(0x200000, 0xffff, 0x2, true, 0, true, false));

	/* Task B: its registers, flat DPL 0 segments, no LDT. */
	b = tss_at(TSS_B);
	b->eip = B_EIP;
	b->eflags = RFLAGS_FIXED | RFLAGS_IF;
	b->cr3 = 0x9000;
	for (u32 i = 0; i < 8; i++)
		b->gpr[i] = 0xb0000000u + i;
	b->gpr[GPR_RSP] = B_ESP;
	tss_b_set_segments(SEL_CODE, SEL_DATA, SEL_DATA);
	b->link = 0xdead;

	/* The running task: main, on flat DPL 0 segments. */
	fake_set(&guest, VCPU_GDTR_BASE, GDT);
	fake_set(&guest, VCPU_GDTR_LIMIT, GDT_ENTRIES * 8 - 1);
	set_seg(VCPU_TR_SELECTOR, VCPU_TR_BASE, VCPU_TR_LIMIT, VCPU_TR_ATTR,
		SEL_MAIN, TSS_MAIN, 0x67, 0x8b);
	set_seg(VCPU_CS_SELECTOR, VCPU_CS_BASE, VCPU_CS_LIMIT, VCPU_CS_ATTR,
		SEL_CODE, 0, 0xffffffff, ATTR_CODE);
	set_seg(VCPU_SS_SELECTOR, VCPU_SS_BASE, VCPU_SS_LIMIT, VCPU_SS_ATTR,
		SEL_DATA, 0, 0xffffffff, ATTR_DATA);
	set_seg(VCPU_DS_SELECTOR, VCPU_DS_BASE, VCPU_DS_LIMIT, VCPU_DS_ATTR,
		SEL_DATA, 0, 0xffffffff, ATTR_DATA);
	set_seg(VCPU_ES_SELECTOR, VCPU_ES_BASE, VCPU_ES_LIMIT, VCPU_ES_ATTR,
		SEL_DATA, 0, 0xffffffff, ATTR_DATA);
	set_seg(VCPU_FS_SELECTOR, VCPU_FS_BASE, VCPU_FS_LIMIT, VCPU_FS_ATTR, 0,
		0, 0, ATTR_UNUSABLE);
	set_seg(VCPU_GS_SELECTOR, VCPU_GS_BASE, VCPU_GS_LIMIT, VCPU_GS_ATTR, 0,
		0, 0, ATTR_UNUSABLE);
	set_seg(VCPU_LDTR_SELECTOR, VCPU_LDTR_BASE, VCPU_LDTR_LIMIT,
		VCPU_LDTR_ATTR, 0, 0, 0, ATTR_UNUSABLE);
	fake_set(&guest, VCPU_RIP, MAIN_EIP);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED | RFLAGS_IF);
	fake_set(&guest, VCPU_DR7, 0x400);
	for (u32 i = 0; i < 8; i++)
		guest.vcpu.regs.gpr[i] = 0xa0000000u + i;
	guest.vcpu.regs.gpr[GPR_RSP] = 0x6000;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

/* A fresh guest in the middle of a test. */
static void again(void)
{
	teardown(NULL);
	setup(NULL);
}

/* ---- the exit */

static enum exit_action task_switch(enum task_switch_source source,
				    u16 selector, u32 insn_len)
{
	struct exit_event ev = fake_exit(EXIT_TASK_SWITCH, insn_len);

	ev.task_switch.selector = selector;
	ev.task_switch.source = (u8)source;
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	return handle_task_switch(&guest.vcpu, &ev);
}

/* Through a task gate in the IDT, delivering `vector`. */
static enum exit_action gate(u16 selector, u8 vector, bool has_error_code,
			     u32 error_code, u32 insn_len)
{
	struct exit_event ev = fake_exit(EXIT_TASK_SWITCH, insn_len);

	ev.task_switch.selector = selector;
	ev.task_switch.source = TASK_SWITCH_GATE;
	ev.task_switch.idt_vectoring = true;
	ev.task_switch.vector = vector;
	ev.task_switch.has_error_code = has_error_code;
	ev.task_switch.error_code = error_code;
	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	return handle_task_switch(&guest.vcpu, &ev);
}

static void assert_fault(u8 vector, u32 error_code)
{
	const struct vcpu_entry *e = &guest.vcpu.entry;

	assert_true(e->inject);
	assert_int_equal(e->event.type, VCPU_EVENT_EXCEPTION);
	assert_int_equal(e->event.vector, vector);
	assert_int_equal(e->event.error_code, error_code);
}

static void assert_nothing_injected(void)
{
	if (guest.vcpu.entry.inject)
		fail_msg("injected vector %u error code 0x%x",
			 guest.vcpu.entry.event.vector,
			 guest.vcpu.entry.event.error_code);
}

/* A fault before the commit point: no register, no byte of RAM changed. */
static u8 ram_before[RAM_SIZE];

static void snapshot(void)
{
	memcpy(ram_before, guest.ram, RAM_SIZE);
}

static void assert_unchanged(void)
{
	for (u32 f = 0; f < VCPU_FIELD_COUNT; f++)
		if (f != VCPU_CR2)
			assert_int_equal(guest.be.field_writes[f], 0);
	assert_memory_equal(ram_before, guest.ram, RAM_SIZE);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RAX], 0xa0000000u);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], 0x6000);
}

static void assert_pre_commit_fault(enum exit_action a, u8 vector,
				    u32 error_code)
{
	assert_int_equal(a, EXIT_ACTION_RESUME);
	assert_fault(vector, error_code);
	assert_unchanged();
	assert_true(vm_running(&guest.vm));
}

static void assert_segment(enum vcpu_field sel, enum vcpu_field base,
			   enum vcpu_field limit, enum vcpu_field attr, u16 s,
			   u32 b, u32 l, u32 a)
{
	assert_int_equal(fake_get(&guest, sel), s);
	assert_int_equal(fake_get(&guest, base), b);
	assert_int_equal(fake_get(&guest, limit), l);
	assert_int_equal(fake_get(&guest, attr), a);
}

/* Task B is running, as switched to by CALL, JMP or a gate. */
static void assert_in_task_b(bool nested)
{
	const struct tss32 *b = tss_at(TSS_B);

	assert_int_equal(fake_get(&guest, VCPU_RIP), B_EIP);
	assert_int_equal(fake_get(&guest, VCPU_RFLAGS),
			 RFLAGS_FIXED | RFLAGS_IF | (nested ? BIT(14) : 0));
	for (u32 i = 0; i < 8; i++)
		if (i != GPR_RSP)
			assert_int_equal(guest.vcpu.regs.gpr[i],
					 0xb0000000u + i);
	assert_segment(VCPU_TR_SELECTOR, VCPU_TR_BASE, VCPU_TR_LIMIT,
		       VCPU_TR_ATTR, SEL_B, TSS_B, 0x67, 0x8b);
	assert_int_equal(gdt_type(SEL_B), 0xb);
	assert_int_equal(b->link, nested ? SEL_MAIN : 0xdead);
	assert_true(fake_get(&guest, VCPU_CR0) & CR0_TS);
	/* Paging off: CR3 read from the TSS but not loaded (7.3 step 12). */
	assert_int_equal(guest.be.field_writes[VCPU_CR3], 0);
	assert_segment(VCPU_CS_SELECTOR, VCPU_CS_BASE, VCPU_CS_LIMIT,
		       VCPU_CS_ATTR, SEL_CODE, 0, 0xffffffff, ATTR_CODE);
	assert_segment(VCPU_SS_SELECTOR, VCPU_SS_BASE, VCPU_SS_LIMIT,
		       VCPU_SS_ATTR, SEL_DATA, 0, 0xffffffff, ATTR_DATA);
	assert_segment(VCPU_FS_SELECTOR, VCPU_FS_BASE, VCPU_FS_LIMIT,
		       VCPU_FS_ATTR, SEL_DATA, 0, 0xffffffff, ATTR_DATA);
	assert_segment(VCPU_LDTR_SELECTOR, VCPU_LDTR_BASE, VCPU_LDTR_LIMIT,
		       VCPU_LDTR_ATTR, 0, 0, 0, ATTR_UNUSABLE);
	assert_int_equal(fake_get(&guest, VCPU_CPL), 0);
	/* Loading a segment sets its descriptor's accessed bit. */
	assert_int_equal(gdt_type(SEL_CODE), 0xb);
	assert_int_equal(gdt_type(SEL_DATA), 0x3);
	/* DR7: L0-L3 and LE cleared, the rest kept. */
	assert_int_equal(fake_get(&guest, VCPU_DR7), 0x400);
}

/* The old task's state in its TSS. */
static void assert_main_saved(u32 eip, u32 eflags)
{
	const struct tss32 *m = tss_at(TSS_MAIN);

	assert_int_equal(m->eip, eip);
	assert_int_equal(m->eflags, eflags);
	for (u32 i = 0; i < 8; i++)
		assert_int_equal(m->gpr[i],
				 i == GPR_RSP ? 0x6000 : 0xa0000000u + i);
	assert_int_equal(m->seg[0][0], SEL_DATA);
	assert_int_equal(m->seg[1][0], SEL_CODE);
	assert_int_equal(m->seg[2][0], SEL_DATA);
	assert_int_equal(m->seg[3][0], SEL_DATA);
	assert_int_equal(m->seg[4][0], 0);
	assert_int_equal(m->seg[5][0], 0);
}

/* ---- switches that work */

static void test_call_and_iret_round_trip(void **state)
{
	(void)state;
	fake_set(&guest, VCPU_DR7, 0x455); /* L0, L1, L2, LE set */
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_in_task_b(true);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], B_ESP);
	/* The caller resumes after its CALL; its TSS stays busy. */
	assert_main_saved(MAIN_EIP + 7, RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(gdt_type(SEL_MAIN), 0xb);

	/* Task B runs, then IRET with NT set goes back through the link. */
	fake_set(&guest, VCPU_RIP, B_EIP + 0x100);
	guest.vcpu.regs.gpr[GPR_RBX] = 0x1234;
	fake_set(&guest, VCPU_CR0, fake_get(&guest, VCPU_CR0) & ~CR0_TS);
	assert_int_equal(task_switch(TASK_SWITCH_IRET, SEL_MAIN, 1),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_int_equal(fake_get(&guest, VCPU_RIP), MAIN_EIP + 7);
	assert_int_equal(fake_get(&guest, VCPU_RFLAGS),
			 RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RAX], 0xa0000000u);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], 0x6000);
	assert_segment(VCPU_TR_SELECTOR, VCPU_TR_BASE, VCPU_TR_LIMIT,
		       VCPU_TR_ATTR, SEL_MAIN, TSS_MAIN, 0x67, 0x8b);
	assert_true(fake_get(&guest, VCPU_CR0) & CR0_TS);
	/* IRET: B's busy bit cleared, its saved EFLAGS without NT; main
	 * stays busy; NMI blocking ends. */
	assert_int_equal(gdt_type(SEL_B), 0x9);
	assert_int_equal(gdt_type(SEL_MAIN), 0xb);
	assert_int_equal(tss_at(TSS_B)->eip, B_EIP + 0x101);
	assert_int_equal(tss_at(TSS_B)->eflags, RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(tss_at(TSS_B)->gpr[GPR_RBX], 0x1234);
	assert_int_equal(guest.be.field_writes[VCPU_NMI_BLOCKED], 1);
	assert_int_equal(fake_get(&guest, VCPU_NMI_BLOCKED), 0);

	/* CALL again: B resumes after its IRET. */
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_int_equal(fake_get(&guest, VCPU_RIP), B_EIP + 0x101);
}

static void test_jmp(void **state)
{
	(void)state;
	assert_int_equal(task_switch(TASK_SWITCH_JMP, SEL_B, 5),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	/* No NT, no back link; the old task is no longer busy. */
	assert_in_task_b(false);
	assert_int_equal(gdt_type(SEL_MAIN), 0x9);
	assert_main_saved(MAIN_EIP + 5, RFLAGS_FIXED | RFLAGS_IF);
}

/* The 32-bit kernel's double-fault handler: a task gate at vector 8. */
static void test_double_fault_task_gate(void **state)
{
	u32 pushed;

	(void)state;
	fake_set(&guest, VCPU_RIP, MAIN_EIP + 0x10);
	assert_int_equal(gate(SEL_B, X86_VECTOR_DF, true, 0, 0),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_in_task_b(true);
	/* The faulting instruction is saved, not the one after it. */
	assert_main_saved(MAIN_EIP + 0x10, RFLAGS_FIXED | RFLAGS_IF);
	/* Its error code (0) on the new task's stack. */
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], B_ESP - 4);
	memcpy(&pushed, guest.ram + B_ESP - 4, 4);
	assert_int_equal(pushed, 0);
	assert_int_equal(guest.be.field_writes[VCPU_NMI_BLOCKED], 0);
}

static void test_exception_error_code_is_pushed(void **state)
{
	u32 pushed;

	(void)state;
	memset(guest.ram + B_ESP - 8, 0xee, 8);
	assert_int_equal(gate(SEL_B, X86_VECTOR_GP, true, 0x1234, 0),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	memcpy(&pushed, guest.ram + B_ESP - 4, 4);
	assert_int_equal(pushed, 0x1234);
	assert_int_equal(guest.ram[B_ESP - 5], 0xee);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], B_ESP - 4);
}

/* A 16-bit stack: SP moves, ESP's upper half stays; a doubleword that
 * would wrap past 64 KiB does not fit (#SS). */
static void test_error_code_on_a_16_bit_stack(void **state)
{
	u32 pushed;

	(void)state;
	put_desc(GDT, SEL_DATA, desc(0x20000, 0xffff, 0x2, true, 0, true, 0));
	tss_at(TSS_B)->gpr[GPR_RSP] = 0xabcd0100;
	assert_int_equal(gate(SEL_B, X86_VECTOR_TS, true, 0x28, 0),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], 0xabcd00fc);
	memcpy(&pushed, guest.ram + 0x20000 + 0xfc, 4);
	assert_int_equal(pushed, 0x28);

	again();
	put_desc(GDT, SEL_DATA, desc(0x20000, 0xffff, 0x2, true, 0, true, 0));
	tss_at(TSS_B)->gpr[GPR_RSP] = 0xabcd0002;
	assert_int_equal(gate(SEL_B, X86_VECTOR_TS, true, 0x28, 0),
			 EXIT_ACTION_RESUME);
	assert_fault(X86_VECTOR_SS, 1);
}

/* No room for the error code below ESP within SS's limit: #SS. */
static void test_error_code_outside_the_stack_limit(void **state)
{
	(void)state;
	put_desc(GDT, SEL_DATA, desc(0x20000, 0xfff, 0x2, true, 0, true, 1));
	tss_at(TSS_B)->gpr[GPR_RSP] = 2;
	assert_int_equal(gate(SEL_B, X86_VECTOR_GP, true, 0, 0),
			 EXIT_ACTION_RESUME);
	/* In the new task (after the commit): EXT set, a hardware event. */
	assert_fault(X86_VECTOR_SS, 1);
	assert_int_equal(fake_get(&guest, VCPU_TR_SELECTOR), SEL_B);
}

/* INT n through a task gate: the old task resumes after the INT. */
static void test_software_interrupt_gate(void **state)
{
	(void)state;
	assert_int_equal(gate(SEL_B, 0x40, false, 0, 2), EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_in_task_b(true);
	assert_main_saved(MAIN_EIP + 2, RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RSP], B_ESP);
	assert_int_equal(guest.be.field_writes[VCPU_NMI_BLOCKED], 0);
}

/* An NMI through a task gate blocks NMIs (SDM Vol. 3A 6.7.1). */
static void test_nmi_gate_blocks_nmis(void **state)
{
	(void)state;
	assert_int_equal(gate(SEL_B, X86_VECTOR_NMI, false, 0, 0),
			 EXIT_ACTION_RESUME);
	assert_in_task_b(true);
	assert_main_saved(MAIN_EIP, RFLAGS_FIXED | RFLAGS_IF);
	assert_int_equal(fake_get(&guest, VCPU_NMI_BLOCKED), 1);
}

/* Segments from the new task's LDT. */
static void test_segments_from_the_ldt(void **state)
{
	(void)state;
	tss_at(TSS_B)->ldt = SEL_LDT;
	tss_b_set_segments(SEL_LDT_CODE, SEL_LDT_DATA, SEL_LDT_DATA);
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_segment(VCPU_LDTR_SELECTOR, VCPU_LDTR_BASE, VCPU_LDTR_LIMIT,
		       VCPU_LDTR_ATTR, SEL_LDT, LDT, 0xf, 0x82);
	assert_segment(VCPU_CS_SELECTOR, VCPU_CS_BASE, VCPU_CS_LIMIT,
		       VCPU_CS_ATTR, SEL_LDT_CODE, 0x100000, 0xffff, 0x9b);
	assert_segment(VCPU_DS_SELECTOR, VCPU_DS_BASE, VCPU_DS_LIMIT,
		       VCPU_DS_ATTR, SEL_LDT_DATA, 0x200000, 0xffff, 0x93);
	/* The accessed bits are set in the LDT itself. */
	assert_int_equal((get_desc(LDT, SEL_LDT_CODE) >> 40) & 0xf, 0xb);
}

/* A task at CPL 3, with a null data segment. */
static void test_user_task(void **state)
{
	(void)state;
	tss_b_set_segments(SEL_CODE3, SEL_DATA3, SEL_DATA3);
	tss_at(TSS_B)->seg[4][0] = 0; /* FS null */
	assert_int_equal(task_switch(TASK_SWITCH_JMP, SEL_B, 5),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_int_equal(fake_get(&guest, VCPU_CPL), 3);
	assert_segment(VCPU_SS_SELECTOR, VCPU_SS_BASE, VCPU_SS_LIMIT,
		       VCPU_SS_ATTR, SEL_DATA3, 0, 0xffffffff, 0xc0f3);
	assert_segment(VCPU_FS_SELECTOR, VCPU_FS_BASE, VCPU_FS_LIMIT,
		       VCPU_FS_ATTR, 0, 0, 0, ATTR_UNUSABLE);
}

/* EFLAGS.VM in the new TSS: a virtual-8086 task, real-mode segments. */
static void test_virtual_8086_task(void **state)
{
	(void)state;
	tss_at(TSS_B)->eflags = RFLAGS_FIXED | RFLAGS_VM;
	tss_b_set_segments(0x1234, 0x2000, 0xb800);
	assert_int_equal(task_switch(TASK_SWITCH_JMP, SEL_B, 5),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_int_equal(fake_get(&guest, VCPU_RFLAGS),
			 RFLAGS_FIXED | RFLAGS_VM);
	assert_int_equal(fake_get(&guest, VCPU_CPL), 3);
	assert_segment(VCPU_CS_SELECTOR, VCPU_CS_BASE, VCPU_CS_LIMIT,
		       VCPU_CS_ATTR, 0x1234, 0x12340, 0xffff, 0xf3);
	assert_segment(VCPU_GS_SELECTOR, VCPU_GS_BASE, VCPU_GS_LIMIT,
		       VCPU_GS_ATTR, 0xb800, 0xb8000, 0xffff, 0xf3);
}

/* The TSS's T flag: #DB with DR6.BT once the new task is current. */
static void test_debug_trap_flag(void **state)
{
	(void)state;
	tss_at(TSS_B)->trap = 1;
	fake_set(&guest, VCPU_DR6, 0xffff0ff0);
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_in_task_b(true);
	assert_fault(X86_VECTOR_DB, 0);
	assert_int_equal(fake_get(&guest, VCPU_DR6), 0xffff8ff0);
}

/*
 * 32-bit paging: the new task's CR3 is loaded, and a TSS its old page
 * tables do not map is a #PF before anything changes.
 */
static void put_pte(u32 page, bool present)
{
	u32 pte = page | (present ? 3 : 0);

	memcpy(guest.ram + PT + (page >> 12) * 4, &pte, 4);
}

static void paging_on(void)
{
	u32 pde = PT | 3;

	memset(guest.ram + PD, 0, 0x2000);
	memcpy(guest.ram + PD, &pde, 4);
	for (u32 page = 0; page < RAM_SIZE; page += 0x1000)
		put_pte(page, true);
	fake_set(&guest, VCPU_CR3, PD);
	fake_set(&guest, VCPU_CR0, fake_get(&guest, VCPU_CR0) | CR0_PG);
	tss_at(TSS_B)->cr3 = PD;
}

static void test_paging_loads_cr3(void **state)
{
	(void)state;
	paging_on();
	tss_at(TSS_B)->cr3 = PD | 0x18; /* PWT, PCD */
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_nothing_injected();
	assert_int_equal(fake_get(&guest, VCPU_CR3), PD | 0x18);
}

static void test_unmapped_tss_is_a_page_fault(void **state)
{
	(void)state;
	paging_on();
	put_pte(TSS_B, false);
	guest.be.field_writes[VCPU_CR3] = guest.be.field_writes[VCPU_CR0] = 0;
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
				X86_VECTOR_PF, 0);
	assert_int_equal(fake_get(&guest, VCPU_CR2), TSS_B);
	/* The old TSS is written: a missing page there is a write fault. */
	put_pte(TSS_B, true);
	put_pte(TSS_MAIN, false);
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
				X86_VECTOR_PF, 2);
	assert_int_equal(fake_get(&guest, VCPU_CR2),
			 TSS_MAIN + offsetof(struct tss32, eip));
}

/* ---- faults before the commit point (Table 7-1 rows 1-5) */

static void test_selector_outside_the_gdt(void **state)
{
	(void)state;
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, 0x400, 7),
				X86_VECTOR_GP, 0x400);
	/* IRET: #TS; the RPL is not part of the error code. */
	assert_pre_commit_fault(task_switch(TASK_SWITCH_IRET, 0x403, 1),
				X86_VECTOR_TS, 0x400);
	/* A TSS is always in the GDT: TI set is as bad. */
	assert_pre_commit_fault(task_switch(TASK_SWITCH_JMP, SEL_B | 4, 5),
				X86_VECTOR_GP, SEL_B | 4);
}

static void test_not_a_tss(void **state)
{
	(void)state;
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_CODE, 7),
				X86_VECTOR_GP, SEL_CODE);
	assert_pre_commit_fault(task_switch(TASK_SWITCH_JMP, SEL_LDT, 5),
				X86_VECTOR_GP, SEL_LDT);
	assert_pre_commit_fault(task_switch(TASK_SWITCH_IRET, SEL_DATA, 1),
				X86_VECTOR_TS, SEL_DATA);
}

static void test_busy_and_not_busy(void **state)
{
	(void)state;
	snapshot();
	/* CALL, JMP, gates need an available TSS: the running one is not. */
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_BUSY, 7),
				X86_VECTOR_GP, SEL_BUSY);
	assert_pre_commit_fault(task_switch(TASK_SWITCH_JMP, SEL_MAIN, 5),
				X86_VECTOR_GP, SEL_MAIN);
	assert_pre_commit_fault(gate(SEL_BUSY, 0x41, false, 0, 2),
				X86_VECTOR_GP, SEL_BUSY);
	/* IRET returns to a busy one only. */
	assert_pre_commit_fault(task_switch(TASK_SWITCH_IRET, SEL_B, 1),
				X86_VECTOR_TS, SEL_B);
}

static void test_not_present(void **state)
{
	(void)state;
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_ABSENT, 7),
				X86_VECTOR_NP, SEL_ABSENT);
	/* An external interrupt (a hardware event): EXT set. */
	assert_pre_commit_fault(gate(SEL_ABSENT, 0x30, false, 0, 0),
				X86_VECTOR_NP, SEL_ABSENT | 1);
}

static void test_tss_too_short(void **state)
{
	(void)state;
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_SHORT, 7),
				X86_VECTOR_TS, SEL_SHORT);
	/* The old TSS must hold what is saved into it. */
	fake_set(&guest, VCPU_TR_LIMIT, 0x50);
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
				X86_VECTOR_TS, SEL_MAIN);
}

/* 16-bit TSSs are refused with #TS (docs/guests.md). */
static void test_16_bit_tss_refused(void **state)
{
	(void)state;
	snapshot();
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_TSS16, 7),
				X86_VECTOR_TS, SEL_TSS16);
	fake_set(&guest, VCPU_TR_ATTR, 0x83);
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
				X86_VECTOR_TS, SEL_B);
}

/* A fault while a gate delivers an exception: SDM Vol. 3A Table 6-5. */
static void test_fault_during_exception_delivery(void **state)
{
	(void)state;
	snapshot();
	/* #GP, then #NP (both contributory): #DF. */
	assert_pre_commit_fault(gate(SEL_ABSENT, X86_VECTOR_GP, true, 0, 0),
				X86_VECTOR_DF, 0);
	/* #PF, then #TS: #DF. */
	assert_pre_commit_fault(gate(SEL_SHORT, X86_VECTOR_PF, true, 2, 0),
				X86_VECTOR_DF, 0);
	/* A benign exception (#UD), then #NP: the #NP. */
	assert_pre_commit_fault(gate(SEL_ABSENT, X86_VECTOR_UD, false, 0, 0),
				X86_VECTOR_NP, SEL_ABSENT | 1);
	/* #DF, then a contributory fault: a triple fault stops the guest. */
	assert_int_equal(gate(SEL_ABSENT, X86_VECTOR_DF, true, 0, 0),
			 EXIT_ACTION_END);
	assert_false(vm_running(&guest.vm));
	assert_non_null(strstr(guest.vm.stop_reason, "triple fault"));
	assert_unchanged();
}

/* A TSS outside the guest's RAM cannot be emulated: the guest stops. */
static void test_tss_outside_ram_stops(void **state)
{
	(void)state;
	snapshot();
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_FAR_TSS, 7),
			 EXIT_ACTION_END);
	assert_false(vm_running(&guest.vm));
	assert_non_null(strstr(guest.vm.stop_reason, "the new TSS"));
	assert_unchanged();
}

static void test_long_mode_and_bad_decoding(void **state)
{
	(void)state;
	snapshot();
	fake_set(&guest, VCPU_EFER, EFER_LME | EFER_LMA);
	assert_pre_commit_fault(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
				X86_VECTOR_GP, 0);
	fake_set(&guest, VCPU_EFER, 0);
	/* A source the backend cannot give, or CALL without a length. */
	assert_int_equal(task_switch(7, SEL_B, 7), EXIT_ACTION_END);
	assert_false(vm_running(&guest.vm));
	guest.vm.state = VM_STATE_RUNNING;
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 0),
			 EXIT_ACTION_END);
	assert_unchanged();
}

/* ---- faults after the commit point: raised in the new task */

/* The new task is current: TR, EIP, registers, busy bits, saved state. */
static void assert_committed(void)
{
	assert_int_equal(fake_get(&guest, VCPU_TR_SELECTOR), SEL_B);
	assert_int_equal(fake_get(&guest, VCPU_RIP), B_EIP);
	assert_int_equal(guest.vcpu.regs.gpr[GPR_RAX], 0xb0000000u);
	assert_int_equal(gdt_type(SEL_B), 0xb);
	assert_main_saved(MAIN_EIP + 7, RFLAGS_FIXED | RFLAGS_IF);
}

static void assert_old_cs_ss(void)
{
	assert_int_equal(guest.be.field_writes[VCPU_CS_SELECTOR], 0);
	assert_int_equal(guest.be.field_writes[VCPU_SS_SELECTOR], 0);
	assert_int_equal(guest.be.field_writes[VCPU_CPL], 0);
}

static void test_bad_cs(void **state)
{
	(void)state;
	/* Not code. */
	tss_at(TSS_B)->seg[1][0] = SEL_DATA;
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_fault(X86_VECTOR_TS, SEL_DATA);
	assert_committed();
	assert_old_cs_ss();
	/* The data segments were not reached: new selectors, unusable. */
	assert_segment(VCPU_DS_SELECTOR, VCPU_DS_BASE, VCPU_DS_LIMIT,
		       VCPU_DS_ATTR, SEL_DATA, 0, 0, ATTR_UNUSABLE);
}

static void test_cs_checks(void **state)
{
	(void)state;
	/* RPL 3 on a DPL 0 code segment. */
	tss_b_set_segments(SEL_CODE | 3, SEL_DATA3, SEL_DATA3);
	assert_int_equal(task_switch(TASK_SWITCH_JMP, SEL_B, 5),
			 EXIT_ACTION_RESUME);
	assert_fault(X86_VECTOR_TS, SEL_CODE);
	/* Null CS. */
	again();
	tss_at(TSS_B)->seg[1][0] = 0;
	task_switch(TASK_SWITCH_JMP, SEL_B, 5);
	assert_fault(X86_VECTOR_TS, 0);
	/* Outside the GDT. */
	again();
	tss_at(TSS_B)->seg[1][0] = 0x800;
	task_switch(TASK_SWITCH_JMP, SEL_B, 5);
	assert_fault(X86_VECTOR_TS, 0x800);
	/* Not present: #NP. */
	again();
	put_desc(GDT, SEL_CODE, desc(0, 0xfffff, 0xa, true, 0, false, true));
	task_switch(TASK_SWITCH_JMP, SEL_B, 5);
	assert_fault(X86_VECTOR_NP, SEL_CODE);
	assert_old_cs_ss();
}

static void test_ss_checks(void **state)
{
	(void)state;
	/* Null SS. */
	tss_at(TSS_B)->seg[2][0] = 0;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, 0);
	assert_committed();
	assert_old_cs_ss();
	/* Read-only. */
	again();
	tss_at(TSS_B)->seg[2][0] = SEL_RO_DATA;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_RO_DATA);
	/* RPL != CPL, and DPL != CPL. */
	again();
	tss_at(TSS_B)->seg[2][0] = SEL_DATA | 3;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_DATA);
	again();
	tss_at(TSS_B)->seg[2][0] = SEL_DATA3 & ~3;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_DATA3 & ~3);
	/* Not present: #SS. */
	again();
	tss_at(TSS_B)->seg[2][0] = SEL_NP_DATA;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_SS, SEL_NP_DATA);
	assert_old_cs_ss();
}

static void test_data_segment_checks(void **state)
{
	(void)state;
	/* DS not present: #NP; ES (checked first) is loaded, FS and GS get
	 * their new selectors, unusable. */
	tss_at(TSS_B)->seg[3][0] = SEL_NP_DATA;
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_fault(X86_VECTOR_NP, SEL_NP_DATA);
	assert_committed();
	assert_segment(VCPU_CS_SELECTOR, VCPU_CS_BASE, VCPU_CS_LIMIT,
		       VCPU_CS_ATTR, SEL_CODE, 0, 0xffffffff, ATTR_CODE);
	assert_segment(VCPU_ES_SELECTOR, VCPU_ES_BASE, VCPU_ES_LIMIT,
		       VCPU_ES_ATTR, SEL_DATA, 0, 0xffffffff, ATTR_DATA);
	assert_segment(VCPU_DS_SELECTOR, VCPU_DS_BASE, VCPU_DS_LIMIT,
		       VCPU_DS_ATTR, SEL_NP_DATA, 0, 0, ATTR_UNUSABLE);
	assert_segment(VCPU_GS_SELECTOR, VCPU_GS_BASE, VCPU_GS_LIMIT,
		       VCPU_GS_ATTR, SEL_DATA, 0, 0, ATTR_UNUSABLE);
	/* Execute-only code is not readable. */
	again();
	tss_at(TSS_B)->seg[0][0] = SEL_XO_CODE;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_XO_CODE);
	/* A DPL 0 segment for a CPL 3 task. */
	again();
	tss_b_set_segments(SEL_CODE3, SEL_DATA3, SEL_DATA3);
	tss_at(TSS_B)->seg[5][0] = SEL_DATA;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_DATA);
	assert_int_equal(fake_get(&guest, VCPU_CPL), 3);
	/* The LDT's selector, but no LDT. */
	again();
	tss_at(TSS_B)->seg[4][0] = SEL_LDT_DATA;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_LDT_DATA);
}

static void test_ldt_checks(void **state)
{
	(void)state;
	/* In the LDT itself, not in the GDT. */
	tss_at(TSS_B)->ldt = SEL_LDT | 4;
	assert_int_equal(task_switch(TASK_SWITCH_CALL, SEL_B, 7),
			 EXIT_ACTION_RESUME);
	assert_fault(X86_VECTOR_TS, SEL_LDT | 4);
	assert_committed();
	assert_old_cs_ss();
	assert_segment(VCPU_LDTR_SELECTOR, VCPU_LDTR_BASE, VCPU_LDTR_LIMIT,
		       VCPU_LDTR_ATTR, SEL_LDT | 4, 0, 0, ATTR_UNUSABLE);
	/* Not an LDT descriptor; not present. */
	again();
	tss_at(TSS_B)->ldt = SEL_DATA;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_DATA);
	again();
	put_desc(GDT, SEL_LDT, desc(LDT, 0xf, 0x2, false, 0, false, false));
	tss_at(TSS_B)->ldt = SEL_LDT;
	task_switch(TASK_SWITCH_CALL, SEL_B, 7);
	assert_fault(X86_VECTOR_TS, SEL_LDT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_call_and_iret_round_trip),
	    T(test_jmp),
	    T(test_double_fault_task_gate),
	    T(test_exception_error_code_is_pushed),
	    T(test_error_code_on_a_16_bit_stack),
	    T(test_error_code_outside_the_stack_limit),
	    T(test_software_interrupt_gate),
	    T(test_nmi_gate_blocks_nmis),
	    T(test_segments_from_the_ldt),
	    T(test_user_task),
	    T(test_virtual_8086_task),
	    T(test_debug_trap_flag),
	    T(test_paging_loads_cr3),
	    T(test_unmapped_tss_is_a_page_fault),
	    T(test_selector_outside_the_gdt),
	    T(test_not_a_tss),
	    T(test_busy_and_not_busy),
	    T(test_not_present),
	    T(test_tss_too_short),
	    T(test_16_bit_tss_refused),
	    T(test_fault_during_exception_delivery),
	    T(test_tss_outside_ram_stops),
	    T(test_long_mode_and_bad_decoding),
	    T(test_bad_cs),
	    T(test_cs_checks),
	    T(test_ss_checks),
	    T(test_data_segment_checks),
	    T(test_ldt_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
