/* SPDX-License-Identifier: MIT */
/*
 * Hardware task switches for a CPU that leaves them to the hypervisor:
 * VT-x exits on every one (SDM Vol. 3C 25.4.2, exit reason 9), and core
 * carries it out as the CPU would (SDM Vol. 3A 7.3) in handle_task_switch()
 * (core/handlers.h), from the exit's EXIT_TASK_SWITCH event.
 *
 * What it does, and where it differs from hardware, is in docs/guests.md
 * ("Task switches"): 32-bit TSSs only (a 16-bit TSS, old or new, gets
 * #TS with the new TSS's selector), every check of SDM Vol. 3A Table 7-1
 * with its fault and error code, the old task saved, the new one loaded
 * (CR3, EFLAGS, EIP, general registers, LDTR, segment registers with
 * their descriptors, virtual-8086 tasks included), busy bits, NT and the
 * back link, CR0.TS, DR7's local enables, the error code of an exception
 * pushed on the new task's stack, and the TSS debug trap (T).
 */
#ifndef VENEER_CORE_TASKSWITCH_H
#define VENEER_CORE_TASKSWITCH_H

#include "core/lib/types.h"

/*
 * The 32-bit task-state segment (SDM Vol. 3A 7.2.1, Figure 7-2). Selector
 * fields are 16 bits with 16 reserved bits above them.
 */
struct tss32 {
	u16 link, link_hi; /* previous task link (back link) */
	u32 esp0;
	u16 ss0, ss0_hi;
	u32 esp1;
	u16 ss1, ss1_hi;
	u32 esp2;
	u16 ss2, ss2_hi;
	u32 cr3;
	u32 eip;
	u32 eflags;
	u32 gpr[8];    /* EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI */
	u16 seg[6][2]; /* ES, CS, SS, DS, FS, GS: selector, reserved */
	u16 ldt, ldt_hi;
	u16 trap; /* bit 0: T, raise #DB after switching to this task */
	u16 iomap_base;
} __packed;

_Static_assert(sizeof(struct tss32) == 0x68, "32-bit TSS layout");

/* The smallest limit of a 32-bit TSS descriptor (SDM Vol. 3A 7.2.2). */
#define TSS32_MIN_LIMIT 0x67
/* The old task's state is saved up to the end of GS (offset 0x5f). */
#define TSS32_SAVED_END 0x60

/* System-descriptor types (SDM Vol. 3A 3.5, Table 3-2). */
#define DESC_TYPE_TSS16_AVAIL 0x1
#define DESC_TYPE_LDT	      0x2
#define DESC_TYPE_TSS16_BUSY  0x3
#define DESC_TYPE_TSS32_AVAIL 0x9
#define DESC_TYPE_TSS32_BUSY  0xb
#define DESC_TYPE_TSS_BUSY    0x2 /* the busy bit of a TSS type */

#endif /* VENEER_CORE_TASKSWITCH_H */
