/* SPDX-License-Identifier: MIT */
/*
 * cpuinsn: the instructions that must not run on the real CPU for a guest
 * (issue 10, found by the chaos guest), as the CPU the guest sees runs
 * them (core/cpuinsn.c):
 *
 * - CPUID.01H:ECX.MONITOR[3] and CPUID.80000001H:ECX.MONITORX[29] read 0;
 *   on Intel IA32_MISC_ENABLE.ENABLE_MONITOR_FSM (bit 18) reads 0;
 * - MONITOR, MWAIT, MONITORX and MWAITX then raise #UD (SDM Vol. 2B
 *   "MONITOR", "MWAIT"; APM Vol. 3 "MONITORX", "MWAITX"), caught by the
 *   guest's IDT at the instruction, which resumes after it;
 * - INVD, also with prefixes (F3 2E 0F 08: AMD-V without NRIP save finds
 *   its length from the bytes), and WBINVD complete: no exception,
 *   execution goes on after their last byte, and a value written just
 *   before INVD reads back after it (Veneer completes INVD without
 *   throwing the caches away).
 *
 * The operands are the ones no CPU faults on (ECX = EDX = 0, a mapped
 * address): AMD-V checks MONITOR's own faults before its intercept (APM
 * Vol. 2 15.9, Table 15-7). Natively (QEMU TCG) the CPU offers MONITOR:
 * MONITOR and MWAIT are then SKIP (a native MWAIT may sleep for ever);
 * INVD and WBINVD are checked as under Veneer. Under QEMU 7.2 INVD does
 * not reach Veneer on AMD-V (its TCG checks the WBINVD intercept for
 * INVD): there it is TCG's own no-op.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/trap.h"

#define CPUID_1_ECX_MONITOR	BIT(3)
#define CPUID_EXT_ECX_MONITORX	BIT(29)
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MISC_ENABLE_MONITOR_FSM BIT(18)
#define INSN_LEN_0F01		3 /* MONITOR(X) / MWAIT(X): 0F 01 xx */
#define MARKER			0x5a5aa5a5u

static volatile u32 monitored __aligned(64);

static bool vendor_intel(void)
{
	/* "GenuineIntel": "Genu" in EBX. */
	return cpuid(0, 0).ebx == 0x756e6547U;
}

/* A check that holds only under Veneer: SKIP natively. */
static void expect_veneer(bool ok, const char *what)
{
	if (under_veneer())
		EXPECT_TRUE(ok, what);
	else
		guest_skip(what);
}

/*
 * One 0F 01 xx instruction with EAX = the monitored address (MONITOR) or
 * 0 (MWAIT hints), ECX = EDX = 0. Returns its address, for the #UD's ip.
 */
static u32 run_0f01(u8 modrm_byte)
{
	u32 at;
	u32 eax = (modrm_byte == 0xc8 || modrm_byte == 0xfa)
		      ? (u32)(uintptr_t)&monitored
		      : 0;

	/* The instruction bytes are chosen at run time: one copy per form. */
	switch (modrm_byte) {
	case 0xc8: /* MONITOR */
		__asm__ volatile("movl $1f, %0\n1: .byte 0x0f, 0x01, 0xc8"
				 : "=&r"(at)
				 : "a"(eax), "c"(0), "d"(0)
				 : "memory");
		break;
	case 0xc9: /* MWAIT */
		__asm__ volatile("movl $1f, %0\n1: .byte 0x0f, 0x01, 0xc9"
				 : "=&r"(at)
				 : "a"(eax), "c"(0), "d"(0)
				 : "memory");
		break;
	case 0xfa: /* MONITORX */
		__asm__ volatile("movl $1f, %0\n1: .byte 0x0f, 0x01, 0xfa"
				 : "=&r"(at)
				 : "a"(eax), "c"(0), "d"(0)
				 : "memory");
		break;
	default: /* 0xfb: MWAITX, no timer (EBX unused with ECX = 0) */
		__asm__ volatile("movl $1f, %0\n1: .byte 0x0f, 0x01, 0xfb"
				 : "=&r"(at)
				 : "a"(eax), "b"(0), "c"(0), "d"(0)
				 : "memory");
		break;
	}
	return at;
}

/* `name` raises #UD at the instruction; the handler resumes after it. */
static void expect_ud(u8 modrm_byte, const char *name, const char *raises,
		      const char *where)
{
	u32 at;

	trap_record_reset();
	trap_skip_bytes = INSN_LEN_0F01;
	trap_catch(VEC_UD);
	at = run_0f01(modrm_byte);
	guest_printf("cpuinsn: %s: %u exception(s), vector %u at 0x%x\n", name,
		     trap_last.count, (unsigned)trap_last.vector,
		     (unsigned)trap_last.ip);
	EXPECT_TRUE(trap_last.count == 1 && trap_last.vector == VEC_UD, raises);
	EXPECT_EQ(trap_last.ip, at, where);
}

static void check_monitor_mwait(void)
{
	bool monitor = cpuid(1, 0).ecx & CPUID_1_ECX_MONITOR;
	bool monitorx = cpuid(0x80000000, 0).eax >= 0x80000001 &&
			(cpuid(0x80000001, 0).ecx & CPUID_EXT_ECX_MONITORX);

	guest_printf("cpuinsn: CPUID MONITOR %u MONITORX %u\n", monitor,
		     monitorx);
	expect_veneer(!monitor, "CPUID.01H:ECX.MONITOR[3] reads 0");
	expect_veneer(!monitorx, "CPUID.80000001H:ECX.MONITORX[29] reads 0");
	if (under_veneer() && vendor_intel())
		EXPECT_EQ(rdmsr(MSR_IA32_MISC_ENABLE) & MISC_ENABLE_MONITOR_FSM,
			  0, "IA32_MISC_ENABLE.ENABLE_MONITOR_FSM reads 0");
	if (monitor) {
		guest_skip("MONITOR and MWAIT raise #UD (the CPU has them)");
	} else {
		expect_ud(0xc8, "MONITOR", "MONITOR raises #UD",
			  "MONITOR: #UD at the instruction");
		expect_ud(0xc9, "MWAIT", "MWAIT raises #UD",
			  "MWAIT: #UD at the instruction");
	}
	if (monitorx) {
		guest_skip("MONITORX and MWAITX raise #UD (the CPU has them)");
	} else {
		expect_ud(0xfa, "MONITORX", "MONITORX raises #UD",
			  "MONITORX: #UD at the instruction");
		expect_ud(0xfb, "MWAITX", "MWAITX raises #UD",
			  "MWAITX: #UD at the instruction");
	}
}

/*
 * INVD and WBINVD, bare and with prefixes: each goes on after its last
 * byte (a wrong length would resume inside the instruction and the MOV
 * after it would not load EAX). No handler is installed yet: any
 * exception ends the guest with a FAIL line naming it.
 */
static void check_invd_wbinvd(void)
{
	u32 eax;

	monitored = MARKER;
	__asm__ volatile(".byte 0x0f, 0x08\n\tmovl $0x1234, %0"
			 : "=a"(eax)
			 : "0"(0)
			 : "memory");
	EXPECT_EQ(eax, 0x1234, "INVD completes, execution goes on after it");
	EXPECT_EQ(monitored, MARKER, "a value written before INVD reads back");
	__asm__ volatile(".byte 0xf3, 0x2e, 0x0f, 0x08\n\tmovl $0x5678, %0"
			 : "=a"(eax)
			 : "0"(0)
			 : "memory");
	EXPECT_EQ(eax, 0x5678,
		  "F3 2E 0F 08 (prefixed INVD) resumes after its last byte");
	__asm__ volatile(".byte 0x0f, 0x09\n\tmovl $0x9abc, %0"
			 : "=a"(eax)
			 : "0"(0)
			 : "memory");
	EXPECT_EQ(eax, 0x9abc, "WBINVD completes, execution goes on after it");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	check_invd_wbinvd();
	check_monitor_mwait();
	guest_pass("the guest runs on after all of them");
}
