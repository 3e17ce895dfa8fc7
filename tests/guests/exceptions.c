/* SPDX-License-Identifier: MIT */
/*
 * exceptions: the guest's own IDT handles the exceptions it causes.
 *
 * #DE (divide by zero), #UD (ud2), #BP (int3), #GP (loading a selector
 * beyond the GDT limit into DS, error code = the selector) and, with 32-bit
 * paging on, #PF on a not-present page (read: error 0, write: error 2) and
 * on a read-only page with CR0.WP (write: error 3), with CR2 = the address.
 * Each time the handler records vector, error code and EIP and resumes
 * after the instruction; the test checks all three (EIP is the faulting
 * instruction, or the next one for the #BP trap).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define CR0_WP	     BIT(16)
#define CR0_PG	     BIT(31)
#define PTE_PRESENT  BIT(0)
#define PTE_WRITABLE BIT(1)
#define BAD_SELECTOR 0x48 /* index 9: the GDT (entry32.S) has 3 entries */
#define PT_ENTRIES   1024

/* Set by each trigger: where the faulting instruction starts and ends. The
 * skip length is written by the same asm statement, right before it. */
static volatile ureg insn_start, insn_end;

/* Emits "1: INSN 2:" and first stores the addresses of 1 and 2 and their
 * distance (the instruction length) where the handler and checks find
 * them. */
#define FAULTING_INSN(insn)                                                    \
	"movl $1f, insn_start\n\t"                                             \
	"movl $2f, insn_end\n\t"                                               \
	"movl $(2f - 1f), trap_skip_bytes\n\t"                                 \
	"1: " insn "\n"                                                        \
	"2:\n\t"

static void expect_caught(unsigned vector, ureg error_code, ureg ip,
			  const char *what)
{
	if (trap_last.count != 1) {
		guest_printf("FAIL: %s: %u exceptions caught, expected 1\n",
			     what, trap_last.count);
		guest_failures++;
		return;
	}
	if (trap_last.vector != vector || trap_last.error_code != error_code ||
	    trap_last.ip != ip) {
		guest_printf("FAIL: %s (vector %lu error 0x%lx eip 0x%lx != "
			     "vector %u error 0x%lx eip 0x%lx)\n",
			     what, (unsigned long)trap_last.vector,
			     (unsigned long)trap_last.error_code,
			     (unsigned long)trap_last.ip, vector,
			     (unsigned long)error_code, (unsigned long)ip);
		guest_failures++;
		return;
	}
	guest_printf("PASS: %s: %s error 0x%lx at eip 0x%lx\n", what,
		     trap_name(vector), (unsigned long)error_code,
		     (unsigned long)ip);
}

static void check_divide_error(void)
{
	u32 low = 1234, high = 0;
	trap_record_reset();
	trap_catch(VEC_DE);
	__asm__ volatile(FAULTING_INSN("divl %%ecx")
			 : "+a"(low), "+d"(high)
			 : "c"(0)
			 : "memory");
	expect_caught(VEC_DE, 0, insn_start, "divide by zero raises #DE");
}

static void check_invalid_opcode(void)
{
	trap_record_reset();
	trap_catch(VEC_UD);
	__asm__ volatile(FAULTING_INSN("ud2") : : : "memory");
	expect_caught(VEC_UD, 0, insn_start, "ud2 raises #UD");
}

static void check_breakpoint(void)
{
	trap_record_reset();
	trap_catch(VEC_BP);
	/* A trap: the saved EIP is already past int3 (SDM Vol. 3A 6.5), so
	 * the handler must add nothing. */
	__asm__ volatile("movl $1f, insn_start\n\t"
			 "movl $2f, insn_end\n\t"
			 "movl $0, trap_skip_bytes\n\t"
			 "1: int3\n"
			 "2:\n\t"
			 :
			 :
			 : "memory");
	expect_caught(VEC_BP, 0, insn_end, "int3 raises #BP (trap)");
}

static void check_general_protection(void)
{
	trap_record_reset();
	trap_catch(VEC_GP);
	/* SDM Vol. 3A 6.13: the error code of a segment fault is the
	 * selector's index and TI bit (EXT = 0). */
	__asm__ volatile(FAULTING_INSN("movl %%eax, %%ds")
			 :
			 : "a"(BAD_SELECTOR)
			 : "memory");
	expect_caught(VEC_GP, BAD_SELECTOR, insn_start,
		      "loading selector 0x48 into DS raises #GP");
}

/* 32-bit paging for the first 4 MiB (SDM Vol. 3A 4.3): one page table,
 * identity mapped, except two pages set up to fault. */
static u32 page_directory[PT_ENTRIES] __aligned(4096);
static u32 page_table[PT_ENTRIES] __aligned(4096);
static u8 absent_page[4096] __aligned(4096);
static u8 read_only_page[4096] __aligned(4096);

static void paging_on(void)
{
	unsigned i;
	for (i = 0; i < PT_ENTRIES; i++)
		page_table[i] =
		    (u32)(i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITABLE;
	page_table[(uintptr_t)absent_page / PAGE_SIZE] = 0;
	page_table[(uintptr_t)read_only_page / PAGE_SIZE] &= ~PTE_WRITABLE;
	page_directory[0] =
	    (u32)(uintptr_t)page_table | PTE_PRESENT | PTE_WRITABLE;
	write_cr3((uintptr_t)page_directory);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~(CR0_PG | CR0_WP));
}

static void expect_page_fault(ureg error_code, const void *address,
			      const char *what)
{
	expect_caught(VEC_PF, error_code, insn_start, what);
	if (trap_last.count == 1)
		EXPECT_EQ(trap_last.cr2, (uintptr_t)address,
			  "CR2 holds the faulting address");
}

static void check_page_faults(void)
{
	u32 value = 0;
	/* Error code bits (SDM Vol. 3A 4.7): 0 P, 1 W/R, 2 U/S. */
	paging_on();
	trap_catch(VEC_PF);
	trap_record_reset();
	__asm__ volatile(FAULTING_INSN("movl (%1), %0")
			 : "=r"(value)
			 : "r"(absent_page)
			 : "memory");
	expect_page_fault(0, absent_page, "read of a not-present page: #PF");
	trap_record_reset();
	__asm__ volatile(FAULTING_INSN("movl %0, (%1)")
			 :
			 : "r"(value), "r"(absent_page)
			 : "memory");
	expect_page_fault(2, absent_page, "write to a not-present page: #PF");
	trap_record_reset();
	__asm__ volatile(FAULTING_INSN("movl %0, (%1)")
			 :
			 : "r"(value), "r"(read_only_page + 8)
			 : "memory");
	expect_page_fault(3, read_only_page + 8,
			  "write to a read-only page with CR0.WP: #PF");
	trap_record_reset();
	value = *(volatile u32 *)read_only_page;
	EXPECT_EQ(trap_last.count, 0, "read of a read-only page: no fault");
	paging_off();
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	check_divide_error();
	check_invalid_opcode();
	check_breakpoint();
	check_general_protection();
	check_page_faults();
}
