/* SPDX-License-Identifier: MIT */
/*
 * hypercall: the Veneer hypercall ABI 1.0 (lib/hypercall.h, README.md).
 *
 * Under Veneer, with both VMCALL and VMMCALL: HC_VERSION returns 1.0 and
 * preserves every other register; HC_CONSOLE_WRITE writes a line (the
 * harness checks it on the console) and returns its length, rejects an
 * address outside guest RAM or a range running off its end with -2 and a
 * length over 4096 with -3; an unknown call returns -1; HC_CPU_ID is 0 on
 * the boot vCPU; HC_TIMER_ONESHOT rejects vector 5 with -3 and accepts a
 * cancel. The guest ends through HC_EXIT with code 0.
 *
 * Natively both instructions must raise #UD (no VMX operation, EFER.SVME
 * clear): that is checked, the rest is SKIP.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/trap.h"

#define HYPERCALL_INSN_LEN 3 /* 0F 01 C1 and 0F 01 D9 */

static const char *const insn_names[] = {"vmcall", "vmmcall"};

static void check_version(enum hypercall_insn insn)
{
	struct hypercall_regs r = {HC_VERSION, 0x11111111, 0x22222222,
				   0x33333333, 0x44444444, 0x55555555};
	hypercall_raw(insn, &r);
	guest_printf("hypercall: %s HC_VERSION -> 0x%lx\n", insn_names[insn],
		     (unsigned long)r.rax);
	EXPECT_EQ(r.rax, HC_VERSION_1_0,
		  insn == HYPERCALL_VMCALL ? "vmcall HC_VERSION is 1.0"
					   : "vmmcall HC_VERSION is 1.0");
	EXPECT_TRUE(
	    r.rbx == 0x11111111 && r.rcx == 0x22222222 && r.rdx == 0x33333333 &&
		r.rsi == 0x44444444 && r.rdi == 0x55555555,
	    insn == HYPERCALL_VMCALL ? "vmcall preserves RBX RCX RDX RSI RDI"
				     : "vmmcall preserves RBX RCX RDX RSI RDI");
}

static u64 ram_end(const struct multiboot_info *mbi)
{
	static struct guest_mmap map;
	u64 end = 0;
	unsigned i;
	if (!guest_mmap_read(mbi, &map))
		return 0;
	for (i = 0; i < map.count; i++)
		if (map.entry[i].type == MULTIBOOT_MEMORY_AVAILABLE &&
		    map.entry[i].base + map.entry[i].length > end)
			end = map.entry[i].base + map.entry[i].length;
	return end;
}

static void check_console_write(enum hypercall_insn insn, u64 end)
{
	static const char line_vmcall[] =
	    "hypercall: this line was written by HC_CONSOLE_WRITE via "
	    "vmcall\n";
	static const char line_vmmcall[] =
	    "hypercall: this line was written by HC_CONSOLE_WRITE via "
	    "vmmcall\n";
	const char *line =
	    insn == HYPERCALL_VMCALL ? line_vmcall : line_vmmcall;
	ureg len = insn == HYPERCALL_VMCALL ? sizeof(line_vmcall) - 1
					    : sizeof(line_vmmcall) - 1;
	long ret;
	serial_drain();
	ret = hypercall(insn, HC_CONSOLE_WRITE, (uintptr_t)line, len, 0, 0);
	EXPECT_EQ((u64)ret, len, "HC_CONSOLE_WRITE returns the length");
	if (!end || end > 0xffffffffULL - 2 * MiB) {
		guest_skip("HC_CONSOLE_WRITE bad addresses (RAM end unknown "
			   "or near 4 GiB)");
		return;
	}
	ret = hypercall(insn, HC_CONSOLE_WRITE, (ureg)(end + MiB), 16, 0, 0);
	EXPECT_EQ((u64)ret, (u64)(long)HC_ERR_BAD_ADDRESS,
		  "HC_CONSOLE_WRITE beyond guest RAM returns -2");
	ret = hypercall(insn, HC_CONSOLE_WRITE, (ureg)(end - 8), 16, 0, 0);
	EXPECT_EQ((u64)ret, (u64)(long)HC_ERR_BAD_ADDRESS,
		  "HC_CONSOLE_WRITE running off the end of RAM returns -2");
	ret = hypercall(insn, HC_CONSOLE_WRITE, (uintptr_t)line,
			HC_CONSOLE_WRITE_MAX + 1, 0, 0);
	EXPECT_EQ((u64)ret, (u64)(long)HC_ERR_INVALID_ARGUMENT,
		  "HC_CONSOLE_WRITE of 4097 bytes returns -3");
}

static void check_other_calls(enum hypercall_insn insn)
{
	EXPECT_EQ((u64)hypercall(insn, 0x7fff, 0, 0, 0, 0),
		  (u64)(long)HC_ERR_UNKNOWN_CALL,
		  "unknown call 0x7fff returns -1");
	EXPECT_EQ((u64)hypercall(insn, HC_CPU_ID, 0, 0, 0, 0), 0,
		  "HC_CPU_ID is 0 on the boot vCPU");
	EXPECT_EQ((u64)hypercall(insn, HC_TIMER_ONESHOT, 5, 1000, 0, 0),
		  (u64)(long)HC_ERR_INVALID_ARGUMENT,
		  "HC_TIMER_ONESHOT with exception vector 5 returns -3");
	EXPECT_EQ((u64)hypercall(insn, HC_TIMER_ONESHOT, 0x40, 0, 0, 0), 0,
		  "HC_TIMER_ONESHOT cancel (0 us) returns 0");
}

static void check_native_ud(enum hypercall_insn insn)
{
	trap_record_reset();
	trap_skip_bytes = HYPERCALL_INSN_LEN;
	trap_catch(VEC_UD);
	(void)hypercall(insn, HC_VERSION, 0, 0, 0, 0);
	trap_set_handler(VEC_UD, NULL);
	EXPECT_EQ(trap_last.count == 1 ? trap_last.vector : 0xffff, VEC_UD,
		  insn == HYPERCALL_VMCALL ? "natively vmcall raises #UD"
					   : "natively vmmcall raises #UD");
}

void guest_main(const struct multiboot_info *mbi)
{
	u64 end = ram_end(mbi);
	enum hypercall_insn insn;
	long ret;
	if (!under_veneer()) {
		check_native_ud(HYPERCALL_VMCALL);
		check_native_ud(HYPERCALL_VMMCALL);
		guest_skip("hypercall ABI checks (not under Veneer)");
		return;
	}
	for (insn = HYPERCALL_VMCALL; insn <= HYPERCALL_VMMCALL; insn++) {
		check_version(insn);
		check_console_write(insn, end);
		check_other_calls(insn);
	}
	if (guest_failures)
		return;
	/* The last check: ending through HC_EXIT instead of port 0xf4. */
	guest_printf("hypercall: ending through HC_EXIT with code 0\n");
	guest_printf("PASS\n");
	serial_drain();
	ret = hypercall(HYPERCALL_VMCALL, HC_EXIT, 0, 0, 0, 0);
	guest_printf("FAIL: HC_EXIT returned (%ld)\n", ret);
	guest_failures++;
}
