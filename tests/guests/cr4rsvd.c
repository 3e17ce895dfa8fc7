/* SPDX-License-Identifier: MIT */
/*
 * cr4rsvd: a MOV to CR4 that sets a reserved bit raises #GP(0) and leaves
 * CR4 as it was (SDM Vol. 2B "MOV-Move to/from Control Registers", APM
 * Vol. 3 "MOV CRn"); an allowed change still takes effect.
 *
 * Bits 15 and 31 are reserved on every Intel and AMD CPU (natively on
 * QEMU only the allowed change is checked: see guest_main). Each is tried
 * from a different source register (EAX, EBX, ESI, EDI): a hypervisor that
 * intercepts the MOV must find the register the instruction names. Then
 * CR4.PGE (when CPUID has it) is set and cleared from ECX and EDX, and the
 * guest goes on running after all of it (AMD-V once took such a write and
 * then failed the next VMRUN, issue 16 item 10).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define CR4_PGE		BIT(7)
#define CPUID_1_EDX_PGE BIT(13)
/* MOV CR4, r32 is 0F 22 /r: three bytes, no prefix in 32-bit code. */
#define MOV_CR4_LEN 3

enum source { SRC_EAX, SRC_EBX, SRC_ECX, SRC_EDX, SRC_ESI, SRC_EDI };

static const char *const source_names[] = {"eax", "ebx", "ecx",
					   "edx", "esi", "edi"};

/* MOV CR4 from the register `src` (the others hold garbage). */
static void write_cr4_from(enum source src, u32 value)
{
	const u32 junk = 0xdeadbeef;

	switch (src) {
	case SRC_EAX:
		__asm__ volatile("mov %%eax, %%cr4"
				 :
				 : "a"(value), "b"(junk), "c"(junk), "d"(junk),
				   "S"(junk), "D"(junk)
				 : "memory");
		break;
	case SRC_EBX:
		__asm__ volatile("mov %%ebx, %%cr4"
				 :
				 : "a"(junk), "b"(value), "c"(junk), "d"(junk),
				   "S"(junk), "D"(junk)
				 : "memory");
		break;
	case SRC_ECX:
		__asm__ volatile("mov %%ecx, %%cr4"
				 :
				 : "a"(junk), "b"(junk), "c"(value), "d"(junk),
				   "S"(junk), "D"(junk)
				 : "memory");
		break;
	case SRC_EDX:
		__asm__ volatile("mov %%edx, %%cr4"
				 :
				 : "a"(junk), "b"(junk), "c"(junk), "d"(value),
				   "S"(junk), "D"(junk)
				 : "memory");
		break;
	case SRC_ESI:
		__asm__ volatile("mov %%esi, %%cr4"
				 :
				 : "a"(junk), "b"(junk), "c"(junk), "d"(junk),
				   "S"(value), "D"(junk)
				 : "memory");
		break;
	case SRC_EDI:
		__asm__ volatile("mov %%edi, %%cr4"
				 :
				 : "a"(junk), "b"(junk), "c"(junk), "d"(junk),
				   "S"(junk), "D"(value)
				 : "memory");
		break;
	}
}

static void check_reserved(unsigned bit, enum source src)
{
	u32 before = (u32)read_cr4();

	trap_record_reset();
	trap_skip_bytes = MOV_CR4_LEN;
	trap_catch(VEC_GP);
	write_cr4_from(src, before | (u32)BIT(bit));
	guest_printf("cr4rsvd: CR4 bit %u from %s: %u exception(s)\n", bit,
		     source_names[src], trap_last.count);
	EXPECT_EQ(trap_last.count, 1, "MOV to CR4 with a reserved bit faults");
	EXPECT_EQ(trap_last.vector, VEC_GP, "... with #GP");
	EXPECT_EQ(trap_last.error_code, 0, "... error code 0");
	EXPECT_EQ(read_cr4(), before, "... and CR4 is unchanged");
}

static void check_allowed(void)
{
	u32 before = (u32)read_cr4();

	if (!(cpuid(1, 0).edx & CPUID_1_EDX_PGE)) {
		guest_skip("CR4.PGE (no PGE in CPUID)");
		return;
	}
	trap_record_reset();
	trap_catch(VEC_GP);
	write_cr4_from(SRC_ECX, before | CR4_PGE);
	EXPECT_EQ(read_cr4(), before | CR4_PGE, "MOV ecx to CR4 sets CR4.PGE");
	write_cr4_from(SRC_EDX, before & ~CR4_PGE);
	EXPECT_EQ(read_cr4(), before & ~CR4_PGE,
		  "MOV edx to CR4 clears CR4.PGE");
	EXPECT_EQ(trap_last.count, 0, "... without an exception");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	check_allowed();
	/*
	 * QEMU 7.2's TCG does not fault such a write: it makes a #VMEXIT
	 * (VMEXIT_INVALID) of it, and outside a guest it retries the MOV
	 * for ever. So natively there is no baseline.
	 */
	if (!under_veneer()) {
		guest_skip("reserved CR4 bits (QEMU's TCG hangs on them)");
		return;
	}
	check_reserved(15, SRC_EAX);
	check_reserved(31, SRC_EBX);
	check_reserved(15, SRC_ESI);
	check_reserved(31, SRC_EDI);
	check_allowed();
	guest_pass("the guest runs on after the refused writes");
}
