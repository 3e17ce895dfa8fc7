/* SPDX-License-Identifier: MIT */
/*
 * long64: a 64-bit guest. The ELF64 image is loaded through the multiboot
 * address fields, starts in 32-bit protected mode and switches itself to
 * long mode (lib/entry64.S: identity-mapped 2 MiB pages for the low 4 GiB,
 * PAE, EFER.LME, paging).
 *
 * Checks in 64-bit mode: EFER.LMA is set and CS is the 64-bit selector,
 * 64-bit arithmetic carries into the upper half, CPUID answers, the
 * multiboot info is readable through the identity map, the 64-bit IDT
 * catches #UD with the right RIP, and CR8 is the local APIC's TPR[7:4]
 * both ways (a guest's CR8 never reaches the host's TPR).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/trap.h"

#define MSR_EFER   0xc0000080
#define EFER_LMA   BIT(10) /* long mode active: SDM Vol. 3A 2.2.1 */
#define GDT_CODE64 0x18	   /* lib/entry64.S */

_Static_assert(sizeof(void *) == 8, "long64 is built for 64-bit mode");

static void check_mode(void)
{
	u16 cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	EXPECT_EQ(rdmsr(MSR_EFER) & EFER_LMA, EFER_LMA, "EFER.LMA set");
	EXPECT_EQ(cs, GDT_CODE64, "running on the 64-bit code segment");
	EXPECT_EQ(read_cr4() & BIT(5), BIT(5), "CR4.PAE set");
}

static void check_arithmetic(void)
{
	volatile u64 low_max = 0xffffffffULL, big = 0x123456789abcdef0ULL;
	u64 product;
	u64 high;
	EXPECT_EQ(low_max + 1, 0x100000000ULL,
		  "64-bit add carries into bit 32");
	/* One 64x64 -> 128 multiply, high half in RDX. */
	__asm__("mulq %3" : "=a"(product), "=d"(high) : "a"(big), "rm"(big));
	EXPECT_EQ(high, 0x014b66dc33f6acdcULL, "mulq high half");
	EXPECT_EQ(product, 0xa5e20890f2a52100ULL, "mulq low half");
}

static void check_cpuid(void)
{
	struct cpuid_regs r = cpuid(0x80000001, 0);
	EXPECT_TRUE(cpuid(0, 0).eax >= 1, "CPUID leaf 0 in long mode");
	EXPECT_EQ(r.edx & BIT(29), BIT(29),
		  "CPUID.80000001H:EDX[29] long mode in long mode");
}

static volatile ureg ud_rip;

static void check_idt(void)
{
	trap_record_reset();
	trap_catch(VEC_UD);
	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, ud_rip(%%rip)\n\t"
			 "movl $2, trap_skip_bytes(%%rip)\n\t"
			 "1: ud2\n\t"
			 :
			 :
			 : "rax", "memory");
	EXPECT_EQ(trap_last.count, 1, "64-bit IDT caught ud2");
	EXPECT_EQ(trap_last.vector, VEC_UD, "it was #UD");
	EXPECT_EQ(trap_last.ip, ud_rip, "with RIP at the ud2");
}

/* The xAPIC's TPR, at its power-on base (SDM Vol. 3A 11.4.1, Table 11-1). */
#define APIC_TPR ((volatile u32 *)0xfee00080ul)

static void write_cr8(u64 v)
{
	__asm__ volatile("mov %0, %%cr8" : : "r"(v) : "memory");
}

static u64 read_cr8(void)
{
	u64 v;

	__asm__ volatile("mov %%cr8, %0" : "=r"(v));
	return v;
}

/*
 * CR8 is the local APIC's TPR[7:4] (SDM Vol. 3A 11.8.6): whichever way
 * the guest writes it, the other reads it; a CR8 write clears TPR[3:0];
 * bits 63:4 set are #GP (2.5).
 */
static void check_cr8(void)
{
	write_cr8(5);
	EXPECT_EQ(read_cr8(), 5, "CR8 reads back");
	EXPECT_EQ(*APIC_TPR, 0x50, "a CR8 write is the APIC's TPR[7:4]");
	*APIC_TPR = 0x9c;
	EXPECT_EQ(read_cr8(), 9, "CR8 reads the APIC's TPR[7:4]");
	write_cr8(3);
	EXPECT_EQ(*APIC_TPR, 0x30, "a CR8 write clears TPR[3:0]");
	/*
	 * On AMD-V the CPU itself writes V_TPR and checks the bits; QEMU's
	 * TCG does not (docs/svm.md, emulator quirks), and it is not Veneer's
	 * to check there. On VT-x the write exits to Veneer, which does.
	 */
	if (cpuid(0, 0).ebx == 0x756e6547) { /* "Genu"ineIntel */
		trap_record_reset();
		trap_catch(VEC_GP);
		trap_skip_bytes = 4; /* mov %rax, %cr8: 44 0f 22 c0 */
		__asm__ volatile(".byte 0x44, 0x0f, 0x22, 0xc0"
				 :
				 : "a"(0x10ul)
				 : "memory");
		EXPECT_EQ(trap_last.count, 1, "CR8 bit 4 is #GP");
		EXPECT_EQ(read_cr8(), 3, "and changes nothing");
	}
	write_cr8(0);
	EXPECT_EQ(*APIC_TPR, 0, "CR8 0: TPR 0");
}

void guest_main(const struct multiboot_info *mbi)
{
	guest_printf("long64: hello from 64-bit mode\n");
	guest_printf("long64: multiboot info at %p, cmdline \"%s\"\n",
		     (const void *)mbi, guest_cmdline(mbi));
	check_mode();
	check_arithmetic();
	check_cpuid();
	check_idt();
	check_cr8();
	EXPECT_TRUE(mbi->flags & MBI_FLAG_MMAP,
		    "multiboot info readable through the identity map");
}
