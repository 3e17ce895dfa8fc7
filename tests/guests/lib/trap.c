/* SPDX-License-Identifier: MIT */
/*
 * IDT set-up and the C side of the exception and interrupt stubs.
 */
#include "tests/guests/lib/trap.h"

#define IDT_VECTORS 256
/* Present, DPL 0, interrupt gate (IF cleared on entry): SDM Vol. 3A 6.11
 * (32-bit, type 0xE) and 6.14.1 (64-bit, same type in the 16-byte form). */
#define GATE_INTERRUPT 0x8E

#ifdef __x86_64__
struct idt_gate {
	u16 offset_low, selector;
	u8 ist, type_attr;
	u16 offset_mid;
	u32 offset_high, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");
#else
struct idt_gate {
	u16 offset_low, selector;
	u8 zero, type_attr;
	u16 offset_high;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 8, "32-bit IDT gate");
#endif

struct idt_pointer {
	u16 limit;
	ureg base;
} __attribute__((packed));

static struct idt_gate idt[IDT_VECTORS] __aligned(16);
static trap_handler_fn handlers[IDT_VECTORS];
/* isr32.S / isr64.S: the address of each vector's entry stub. */
extern const ureg trap_stub_table[IDT_VECTORS];

volatile struct trap_record trap_last;
volatile unsigned trap_skip_bytes;

/* Called by the common stub with the saved frame. */
void trap_dispatch(struct trap_frame *frame);

static const char *const exception_names[32] = {
    "#DE", "#DB",  "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC",  "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25",  "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *trap_name(unsigned vector)
{
	return vector < ARRAY_SIZE(exception_names) ? exception_names[vector]
						    : "interrupt";
}

void trap_init(void)
{
	struct idt_pointer ptr;
	u16 cs;
	unsigned v;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (v = 0; v < IDT_VECTORS; v++) {
		ureg stub = trap_stub_table[v];
		idt[v].offset_low = (u16)stub;
		idt[v].selector = cs;
		idt[v].type_attr = GATE_INTERRUPT;
#ifdef __x86_64__
		idt[v].offset_mid = (u16)(stub >> 16);
		idt[v].offset_high = (u32)(stub >> 32);
#else
		idt[v].offset_high = (u16)(stub >> 16);
#endif
	}
	ptr.limit = sizeof(idt) - 1;
	ptr.base = (ureg)idt;
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void trap_set_handler(unsigned vector, trap_handler_fn fn)
{
	handlers[vector] = fn;
}

static void trap_record_and_skip(struct trap_frame *frame)
{
	trap_last.count++;
	trap_last.vector = frame->vector;
	trap_last.error_code = frame->error_code;
	trap_last.ip = frame->ip;
	trap_last.cr2 = frame->vector == VEC_PF ? read_cr2() : 0;
	frame->ip += trap_skip_bytes;
}

void trap_catch(unsigned vector)
{
	trap_set_handler(vector, trap_record_and_skip);
}

void trap_record_reset(void)
{
	trap_last.count = 0;
	trap_last.vector = trap_last.error_code = 0;
	trap_last.ip = trap_last.cr2 = 0;
}

void trap_dispatch(struct trap_frame *frame)
{
	unsigned vector = (unsigned)frame->vector;
	if (handlers[vector]) {
		handlers[vector](frame);
		return;
	}
	guest_printf("FAIL: unexpected %s (vector %u, error code 0x%lx) at "
		     "ip 0x%lx, cr2 0x%lx\n",
		     trap_name(vector), vector,
		     (unsigned long)frame->error_code, (unsigned long)frame->ip,
		     (unsigned long)read_cr2());
	guest_printf("FAIL\n");
	guest_exit(1);
}
