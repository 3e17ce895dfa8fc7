/* SPDX-License-Identifier: MIT */
/*
 * The guests' own IDT: every vector has a stub, so any exception or
 * interrupt is reported by name instead of ending in a triple fault.
 *
 * By default an exception prints a FAIL line naming the vector, error code
 * and instruction pointer, and exits 1. A guest that provokes an exception
 * on purpose installs a handler for that vector first.
 */
#ifndef VENEER_TESTS_GUESTS_LIB_TRAP_H
#define VENEER_TESTS_GUESTS_LIB_TRAP_H

#include "tests/guests/lib/guest.h"

/* The stack layout that isr32.S / isr64.S build; a handler may change any
 * field and the stub restores it (ip = where execution resumes). */
#ifdef __x86_64__
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error_code; /* error_code is 0 where the CPU pushes none */
	u64 ip, cs, flags, sp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "isr64.S frame layout");
#else
struct trap_frame {
	u32 edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax; /* pushal */
	u32 vector, error_code; /* error_code is 0 where the CPU pushes none */
	u32 ip, cs, flags;
};
_Static_assert(sizeof(struct trap_frame) == 13 * 4, "isr32.S frame layout");
#endif

/* Architectural exception vectors: SDM Vol. 3A 6.15. */
#define VEC_DE 0  /* divide error */
#define VEC_BP 3  /* breakpoint (a trap: ip is already past int3) */
#define VEC_UD 6  /* invalid opcode */
#define VEC_GP 13 /* general protection */
#define VEC_PF 14 /* page fault, CR2 = linear address */

typedef void (*trap_handler_fn)(struct trap_frame *frame);

/* Loads the IDT; guest_start() calls this before guest_main(). */
void trap_init(void);
void trap_set_handler(unsigned vector, trap_handler_fn fn);
/* The mnemonic of an exception vector ("#GP") or "interrupt". */
const char *trap_name(unsigned vector);

/* What the catching handler saw last. */
struct trap_record {
	unsigned count; /* how many caught since trap_record_reset() */
	ureg vector, error_code, ip, cr2;
};
extern volatile struct trap_record trap_last;
/* Bytes the catching handler adds to ip: the length of the faulting
 * instruction, so execution resumes after it (0 for traps such as #BP). */
extern volatile unsigned trap_skip_bytes;

/* Catch `vector` with the recording handler: it fills trap_last, adds
 * trap_skip_bytes to ip and returns to the guest. */
void trap_catch(unsigned vector);
void trap_record_reset(void);

#endif /* VENEER_TESTS_GUESTS_LIB_TRAP_H */
