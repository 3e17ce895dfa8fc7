/* SPDX-License-Identifier: MIT */
/*
 * isolation: a guest that tries, one at a time, everything that could
 * reach past its own partition (issue 12), and checks that each attempt
 * ends as docs/security.md and docs/guests.md say: a fault injected, the
 * access ignored, or the guest stopped.
 *
 * Every attempt prints one line, `PASS: WHAT: OUTCOME` or `FAIL: WHAT:
 * OUTCOME (expected ...)`:
 * - CPUID hides VMX and SVM; VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST,
 *   VMREAD, VMWRITE, VMLAUNCH, VMRESUME, INVEPT, INVVPID, VMFUNC, VMRUN,
 *   VMLOAD, VMSAVE, STGI, CLGI, SKINIT and INVLPGA raise #UD;
 * - EFER.SVME and CR4.VMXE cannot be set (#GP, the register unchanged);
 *   IA32_FEATURE_CONTROL, VM_HSAVE_PA and VM_CR are #GP; the SYSENTER,
 *   FS / GS base, KernelGSBase and LSTAR MSRs refuse a non-canonical value
 *   (#GP, the old value kept);
 * - IA32_APIC_BASE moved to 0x02000000, 0x10000000, the top page of a
 *   39-bit width and the top page below 2^MAXPHYADDR: the APIC page at
 *   0xFEE00000 then reads all ones; where the new base is in its RAM, a
 *   write there lands in that RAM (read back, the rest of the page
 *   untouched); the APIC comes back when the base does; a base at
 *   2^MAXPHYADDR is #GP;
 * - IPIs through the xAPIC ICR, physical destination 0-255 and each
 *   shorthand, of every delivery mode: fixed, lowest priority, NMI, SMI,
 *   INIT (assert and de-assert), STARTUP. With one vCPU only those that
 *   name itself (its own ID, the broadcast 0xFF, self, all) arrive; an
 *   INIT that names itself would stop it, so only the final step sends
 *   one (final=init-self); INIT and SIPI to others change nothing here;
 *   a fixed IPI with vector 5 is not sent (ESR bit 5);
 * - its own UART (0x3f8-0x3ff: a line written there is its own output;
 *   loopback and divisor changes stay inside it), COM2-COM4 (all ones,
 *   writes dropped), the PCI configuration ports (the virtual host bridge
 *   8086:1237, nothing else, 0xCF9 no reset), the ACPI PM block at 0x600
 *   (its own: SCI_EN reads 1, SLP_TYP without SLP_EN is only stored, the
 *   PM timer runs).
 * Then one summary line and PASS or FAIL, as every test guest, and the
 * final step, the one attempt that ends the guest (only one access
 * outside its RAM can be made per run: the first stops it):
 *   final=none         exit with the status (default)
 *   final=read:ADDR    read 4 bytes at guest-physical ADDR (with PAE
 *                      paging above 4 GiB): stopped, ADDR named
 *   final=write:ADDR   the same, writing
 *   final=apic:ADDR    move the APIC base to ADDR's page, write at ADDR
 *   final=triple       a triple fault: stopped
 *   final=init-self    an INIT IPI to its own APIC ID: stopped, no vCPU
 *                      left to send a SIPI (docs/guests.md, "Several vCPUs")
 *   final=s5           ACPI S5 through its PM1a_CNT: ends with code 0
 * ADDR is a number, `above` (the first byte past its RAM) or `top` (the
 * last 4 bytes below 2^MAXPHYADDR). It first announces `isolation: final:
 * KIND: expect stop at 0xADDR`, `expect stop ...` or `expect exit N`.
 *
 * Other command-line keys: rounds=N repeats the attempts N times (default
 * 1; 0: until a line is typed on its console); rounds after the first
 * print only their FAIL lines and a line `isolation: round N: F failed`.
 * skip=NAME,... leaves attempts out (a SKIP line each), to keep a known
 * problem out of a run: virt, msrs, noncanonical, apic, apic-top, ipi,
 * ports. veneer=0|1 as every guest. Natively (veneer=0) the attempts run
 * (but CR4.VMXE, on which QEMU's TCG hangs, and the 0xCF9 reset) and what
 * only Veneer promises is SKIP, with what happened.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/trap.h"

/* ---- architectural numbers ---- */

#define VEC_NMI	     2
#define VEC_FIXED    0x40 /* fixed IPIs */
#define VEC_LOWEST   0x41 /* lowest-priority IPIs */
#define VEC_ILLEGAL  5	  /* below 16: an APIC never sends it (SDM 11.5.3) */
#define VEC_SPURIOUS 0xff
#define SIPI_VECTOR  0x10 /* start page 0x10000 (in its RAM, never run) */

/* CPUID (SDM Vol. 2A "CPUID"; APM Vol. 3 Appendix E). */
#define CPUID_1_ECX_VMX	       BIT(5)
#define CPUID_80000001_ECX_SVM BIT(2)
#define CPUID_EXT_ADDR_SIZE    0x80000008u

/* MSRs: SDM Vol. 4 Table 2-2, APM Vol. 2 Appendix A. */
#define MSR_APIC_BASE	    0x1b
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_EFER	    0xc0000080u
#define MSR_LSTAR	    0xc0000082u
#define MSR_FS_BASE	    0xc0000100u
#define MSR_GS_BASE	    0xc0000101u
#define MSR_KERNEL_GS_BASE  0xc0000102u
#define MSR_VM_CR	    0xc0010114u
#define MSR_VM_HSAVE_PA	    0xc0010117u
#define EFER_SVME	    BIT(12)
#define CR4_PAE		    BIT(5)
#define CR4_VMXE	    BIT(13)
#define CR0_PG		    0x80000000u
#define APIC_BASE_BSP	    BIT(8)
#define APIC_BASE_EN	    BIT(11)
#define APIC_DEFAULT	    0xfee00000u
/* Canonical: bits 63 down to the linear-address width all equal (SDM
 * Vol. 1 3.3.7.1); bit 63 alone set is non-canonical for 48- and 57-bit
 * linear addresses alike. */
#define NON_CANONICAL 0x8000000000001000ull
#define CANONICAL     0x0000000000402000ull

/* xAPIC registers (SDM Vol. 3A 11.4.1, Table 11-1). */
#define LAPIC_ID	 0x020
#define LAPIC_VERSION	 0x030
#define LAPIC_TPR	 0x080
#define LAPIC_EOI	 0x0b0
#define LAPIC_SVR	 0x0f0
#define LAPIC_ESR	 0x280
#define LAPIC_ICR_LOW	 0x300
#define LAPIC_ICR_HIGH	 0x310
#define LAPIC_LVT_TIMER	 0x320
#define SVR_ENABLE	 0x100
#define ESR_SEND_ILLEGAL 0x20
#define TPR_TEST	 0x10	 /* class 1: lets vectors 0x20 and up in */
#define LVT_TEST	 0x10077 /* masked, vector 0x77: INIT would clear it */

/* ICR (SDM Vol. 3A 11.6.1, Figure 11-12). */
#define ICR_FIXED	0x000
#define ICR_LOWEST	0x100
#define ICR_SMI		0x200
#define ICR_NMI		0x400
#define ICR_INIT	0x500
#define ICR_STARTUP	0x600
#define ICR_ASSERT	BIT(14)
#define ICR_LEVEL	BIT(15)
#define ICR_SELF	(1u << 18)
#define ICR_ALL		(2u << 18)
#define ICR_ALL_BUT	(3u << 18)
#define ICR_DEST_SHIFT	24
#define XAPIC_BROADCAST 0xff

/* Ports. */
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA	0xa1
#define UART_RBR	0
#define UART_IER	1
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR_DR	0x01
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define COM2_BASE	0x2f8
#define COM3_BASE	0x3e8
#define COM4_BASE	0x2e8
#define PCI_ADDRESS	0xcf8
#define PCI_DATA	0xcfc
#define PCI_RESET	0xcf9 /* the PIIX reset control register on a PC */
#define PCI_ENABLE	0x80000000u
#define HOST_BRIDGE_ID	0x12378086u /* 8086:1237, docs/devices-legacy.md */
#define PM1A_EVT	0x600
#define PM1_EN		0x602
#define PM1A_CNT	0x604
#define PM_TMR		0x608
#define PM1_SCI_EN	0x0001
#define PM1_SLP_TYP(n)	((n) << 10)
#define PM1_SLP_EN	0x2000

/* A move of the APIC base, and the page it lands on. */
#define RELOCATE_LOW  0x02000000u
#define RELOCATE_HIGH 0x10000000u
#define RELOCATE_4G   0x7ffffff000ull /* top page of a 39-bit width */
#define PAGE_WORDS    (PAGE_SIZE / 4)
#define PAGE_FILL     0x5a5a5a5au
/* Written to the moved page's TPR offset: an APIC would keep 0x80 of it
 * (and TPR_TEST would be gone), RAM all of it. */
#define TPR_PROBE 0xabcdef80u

/* Spins: an IPI to itself arrives at once; the others never. */
#define ARRIVE_SPINS 100000
#define STRAY_SPINS  64

/* ---- reporting ---- */

static bool veneer;
static bool quiet; /* rounds after the first: FAIL lines only */
static unsigned attempts, passed, failed, skipped;
static bool muted; /* the rest of the current line is not printed */

static void __printf(1, 2) say(const char *fmt, ...)
{
	va_list ap;

	if (muted)
		return;
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
}

/*
 * Starts an attempt's line: PASS or FAIL by `ok`; SKIP where only Veneer
 * promises the outcome and the guest runs natively (`veneer_only`).
 */
static void verdict(bool ok, bool veneer_only)
{
	const char *word;

	attempts++;
	if (veneer_only && !veneer) {
		skipped++;
		word = "SKIP";
	} else if (ok) {
		passed++;
		word = "PASS";
	} else {
		failed++;
		guest_failures++;
		word = "FAIL";
	}
	muted = quiet && word[0] != 'F';
	say("%s: ", word);
}

static void end_line(void)
{
	say("\n");
	muted = false;
}

/* skip=NAME,...: attempts not tried, to keep a known bug out of a run. */
static const char *skip_list;

static bool skip_requested(const char *name)
{
	size_t n = str_len(name);
	const char *p = skip_list;

	while (p && *p && *p != ' ') {
		size_t k = 0;

		while (p[k] && p[k] != ' ' && p[k] != ',')
			k++;
		if (k == n) {
			size_t i = 0;

			while (i < n && p[i] == name[i])
				i++;
			if (i == n)
				return true;
		}
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Whether to try the attempts called `name`; a SKIP line if not. */
static bool wanted(const char *name, const char *what)
{
	if (!skip_requested(name))
		return true;
	attempts++;
	skipped++;
	muted = quiet;
	say("SKIP: %s: not tried (skip=%s)\n", what, name);
	muted = false;
	return false;
}

/* ---- faults: run one instruction, see what it raised ---- */

struct fault {
	bool hit;
	u32 vector, error;
};

/*
 * The probe: an asm statement stores the address just after its
 * instruction in probe_resume, so that the handler can resume there
 * whatever the instruction's length. 0: no probe armed, and an exception
 * is a bug of this guest (reported as the library does).
 */
static volatile u32 probe_resume;
static volatile struct fault probe_got;

#define PROBE_BEGIN "movl $1f, %[resume]\n\t"
#define PROBE_END   "\n1:"

static void probe_trap(struct trap_frame *frame)
{
	if (!probe_resume) {
		guest_printf("FAIL: unexpected %s (vector %lu, error code "
			     "0x%lx) at ip 0x%lx\nFAIL\n",
			     trap_name((unsigned)frame->vector),
			     (unsigned long)frame->vector,
			     (unsigned long)frame->error_code,
			     (unsigned long)frame->ip);
		guest_exit(1);
	}
	probe_got.hit = true;
	probe_got.vector = (u32)frame->vector;
	probe_got.error = (u32)frame->error_code;
	frame->ip = probe_resume;
	probe_resume = 0;
}

static void probe_arm(void)
{
	probe_got.hit = false;
	probe_got.vector = probe_got.error = 0;
}

static struct fault probe_result(void)
{
	struct fault f = {probe_got.hit, probe_got.vector, probe_got.error};

	probe_resume = 0;
	return f;
}

static bool has_error_code(u32 vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

static void say_fault(const struct fault *f)
{
	if (!f->hit)
		say("no fault");
	else if (has_error_code(f->vector))
		say("%s(0x%x)", trap_name(f->vector), f->error);
	else
		say("%s", trap_name(f->vector));
}

/* The fault an attempt must raise: a vector with error code 0, or none. */
#define NO_FAULT 0xffffffffu

static bool fault_is(const struct fault *f, u32 vector)
{
	if (vector == NO_FAULT)
		return !f->hit;
	return f->hit && f->vector == vector && f->error == 0;
}

static void expect_fault(const char *what, const struct fault *f, u32 want)
{
	bool ok = fault_is(f, want);

	verdict(ok, true);
	say("%s: ", what);
	say_fault(f);
	if (!ok)
		say(" (expected %s)",
		    want == NO_FAULT ? "no fault" : trap_name(want));
	end_line();
}

static struct fault probe_rdmsr(u32 msr, u64 *value)
{
	u32 lo = 0, hi = 0;

	probe_arm();
	__asm__ volatile(PROBE_BEGIN "rdmsr" PROBE_END
			 : [resume] "=m"(probe_resume), "+a"(lo), "+d"(hi)
			 : "c"(msr)
			 : "memory");
	*value = ((u64)hi << 32) | lo;
	return probe_result();
}

static struct fault probe_wrmsr(u32 msr, u64 value)
{
	probe_arm();
	__asm__ volatile(PROBE_BEGIN "wrmsr" PROBE_END
			 : [resume] "=m"(probe_resume)
			 : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32))
			 : "memory");
	return probe_result();
}

static struct fault probe_write_cr4(u32 value)
{
	probe_arm();
	__asm__ volatile(PROBE_BEGIN "mov %[v], %%cr4" PROBE_END
			 : [resume] "=m"(probe_resume)
			 : [v] "r"(value)
			 : "memory");
	return probe_result();
}

/* ---- the virtualization instructions ---- */

/* A zeroed page for the memory operands (VMXON region, INVEPT
 * descriptor, VMCB): should an instruction run, it finds nothing. */
static u8 virt_area[PAGE_SIZE] __aligned(PAGE_SIZE);

/*
 * Each instruction by its bytes (so no assembler needs to know it), with
 * EAX = the page above, ECX = 1 (INVEPT / INVVPID type 1), EDX = 0:
 * ModRM 0x30 is [EAX] with reg 6, 0x38 [EAX] with reg 7, 0x08 [EAX] with
 * ECX, 0xC1 register EAX with ECX (SDM Vol. 2A 2.1.5).
 */
#define VIRT_INSN(fn, bytes)                                                   \
	static struct fault fn(void)                                           \
	{                                                                      \
		u32 a = (u32)(uintptr_t)virt_area, c = 1, d = 0;               \
		probe_arm();                                                   \
		__asm__ volatile(PROBE_BEGIN ".byte " bytes PROBE_END          \
				 : [resume] "=m"(probe_resume), "+a"(a),       \
				   "+c"(c), "+d"(d)                            \
				 :                                             \
				 : "memory");                                  \
		return probe_result();                                         \
	}

/* VMX: SDM Vol. 2B "VMX Instruction Reference" (Chapter 32 of Vol. 3C). */
VIRT_INSN(insn_vmxon, "0xf3, 0x0f, 0xc7, 0x30")
VIRT_INSN(insn_vmxoff, "0x0f, 0x01, 0xc4")
VIRT_INSN(insn_vmclear, "0x66, 0x0f, 0xc7, 0x30")
VIRT_INSN(insn_vmptrld, "0x0f, 0xc7, 0x30")
VIRT_INSN(insn_vmptrst, "0x0f, 0xc7, 0x38")
VIRT_INSN(insn_vmread, "0x0f, 0x78, 0xc1")
VIRT_INSN(insn_vmwrite, "0x0f, 0x79, 0xc1")
VIRT_INSN(insn_vmlaunch, "0x0f, 0x01, 0xc2")
VIRT_INSN(insn_vmresume, "0x0f, 0x01, 0xc3")
VIRT_INSN(insn_invept, "0x66, 0x0f, 0x38, 0x80, 0x08")
VIRT_INSN(insn_invvpid, "0x66, 0x0f, 0x38, 0x81, 0x08")
VIRT_INSN(insn_vmfunc, "0x0f, 0x01, 0xd4")
/* SVM: APM Vol. 3 "VMRUN" ... "INVLPGA" (0F 01 D8-DF; D9 is VMMCALL). */
VIRT_INSN(insn_vmrun, "0x0f, 0x01, 0xd8")
VIRT_INSN(insn_vmload, "0x0f, 0x01, 0xda")
VIRT_INSN(insn_vmsave, "0x0f, 0x01, 0xdb")
VIRT_INSN(insn_stgi, "0x0f, 0x01, 0xdc")
VIRT_INSN(insn_clgi, "0x0f, 0x01, 0xdd")
VIRT_INSN(insn_skinit, "0x0f, 0x01, 0xde")
VIRT_INSN(insn_invlpga, "0x0f, 0x01, 0xdf")

static const struct {
	const char *name;
	struct fault (*run)(void);
} virt_insns[] = {
    {"VMXON", insn_vmxon},	 {"VMXOFF", insn_vmxoff},
    {"VMCLEAR", insn_vmclear},	 {"VMPTRLD", insn_vmptrld},
    {"VMPTRST", insn_vmptrst},	 {"VMREAD", insn_vmread},
    {"VMWRITE", insn_vmwrite},	 {"VMLAUNCH", insn_vmlaunch},
    {"VMRESUME", insn_vmresume}, {"INVEPT", insn_invept},
    {"INVVPID", insn_invvpid},	 {"VMFUNC", insn_vmfunc},
    {"VMRUN", insn_vmrun},	 {"VMLOAD", insn_vmload},
    {"VMSAVE", insn_vmsave},	 {"STGI", insn_stgi},
    {"CLGI", insn_clgi},	 {"SKINIT", insn_skinit},
    {"INVLPGA", insn_invlpga},
};

/* docs/security.md, "Virtualization itself". */
static void try_virtualization(void)
{
	struct cpuid_regs leaf1 = cpuid(1, 0);
	struct cpuid_regs ext = cpuid(0x80000000u, 0);
	u32 svm = 0;
	u64 efer, after;
	struct fault f;
	u32 cr4;

	if (ext.eax >= 0x80000001u)
		svm = cpuid(0x80000001u, 0).ecx & CPUID_80000001_ECX_SVM;
	verdict(!(leaf1.ecx & CPUID_1_ECX_VMX) && !svm, true);
	say("CPUID hides VMX (1:ECX[5] = %u) and SVM (80000001h:ECX[2] = %u)",
	    (leaf1.ecx & CPUID_1_ECX_VMX) ? 1 : 0, svm ? 1 : 0);
	end_line();

	for (unsigned i = 0; i < ARRAY_SIZE(virt_insns); i++) {
		f = virt_insns[i].run();
		expect_fault(virt_insns[i].name, &f, VEC_UD);
	}

	probe_rdmsr(MSR_EFER, &efer);
	f = probe_wrmsr(MSR_EFER, efer | EFER_SVME);
	probe_rdmsr(MSR_EFER, &after);
	verdict(fault_is(&f, VEC_GP) && !(after & EFER_SVME), true);
	say("WRMSR EFER.SVME: ");
	say_fault(&f);
	say(", EFER now 0x%llx", (unsigned long long)after);
	if (!fault_is(&f, VEC_GP) || (after & EFER_SVME))
		say(" (expected #GP, SVME clear)");
	end_line();
	if (after & EFER_SVME)
		probe_wrmsr(MSR_EFER, efer);

	/* QEMU's TCG hangs on a reserved CR4 bit natively (cr4rsvd.c). */
	if (!veneer) {
		verdict(true, true);
		say("MOV CR4.VMXE: not tried natively");
		end_line();
		return;
	}
	cr4 = (u32)read_cr4();
	f = probe_write_cr4(cr4 | CR4_VMXE);
	verdict(fault_is(&f, VEC_GP) && !(read_cr4() & CR4_VMXE), true);
	say("MOV CR4.VMXE: ");
	say_fault(&f);
	say(", CR4 now 0x%lx", (unsigned long)read_cr4());
	if (!fault_is(&f, VEC_GP) || (read_cr4() & CR4_VMXE))
		say(" (expected #GP, VMXE clear)");
	end_line();
	if (read_cr4() != cr4)
		write_cr4(cr4);
}

/* ---- MSRs ---- */

/* Outside core/msr.c's allow list: #GP(0) both ways (docs/security.md). */
static void try_denied_msr(const char *name, u32 msr, u64 value)
{
	u64 v;
	struct fault r = probe_rdmsr(msr, &v);
	struct fault w = probe_wrmsr(msr, value);
	bool ok = fault_is(&r, VEC_GP) && fault_is(&w, VEC_GP);

	verdict(ok, true);
	say("%s (0x%x): RDMSR ", name, msr);
	say_fault(&r);
	say(", WRMSR 0x%llx ", (unsigned long long)value);
	say_fault(&w);
	if (!ok)
		say(" (expected #GP both)");
	end_line();
}

/*
 * The MSRs that hold linear addresses and are the guest's alone: passed
 * through on both vendors (docs/security.md), so the CPU itself checks
 * the value. A non-canonical address is #GP(0) (SDM Vol. 2B "WRMSR";
 * APM Vol. 2 4.5.3 for FS / GS base), and the MSR keeps its old value.
 */
static void try_non_canonical(const char *name, u32 msr)
{
	u64 after = 0;
	struct fault set = probe_wrmsr(msr, CANONICAL);
	struct fault f = probe_wrmsr(msr, NON_CANONICAL);
	bool ok;

	probe_rdmsr(msr, &after);
	ok = fault_is(&set, NO_FAULT) && fault_is(&f, VEC_GP) &&
	     after == CANONICAL;
	verdict(ok, true);
	say("%s (0x%x) = 0x%llx: ", name, msr,
	    (unsigned long long)NON_CANONICAL);
	say_fault(&f);
	say(", reads 0x%llx", (unsigned long long)after);
	if (!ok)
		say(" (expected #GP, 0x%llx kept)",
		    (unsigned long long)CANONICAL);
	end_line();
	probe_wrmsr(msr, 0);
}

static void try_msrs(void)
{
	try_denied_msr("IA32_FEATURE_CONTROL", MSR_FEATURE_CONTROL, 0x5);
	try_denied_msr("VM_HSAVE_PA", MSR_VM_HSAVE_PA,
		       (u64)(uintptr_t)virt_area);
	try_denied_msr("VM_CR", MSR_VM_CR, 0);
	if (!wanted("noncanonical", "non-canonical values in the MSRs "
				    "passed through"))
		return;
	try_non_canonical("SYSENTER_ESP", MSR_SYSENTER_ESP);
	try_non_canonical("SYSENTER_EIP", MSR_SYSENTER_EIP);
	try_non_canonical("LSTAR", MSR_LSTAR);
	try_non_canonical("FS_BASE", MSR_FS_BASE);
	try_non_canonical("GS_BASE", MSR_GS_BASE);
	try_non_canonical("KERNEL_GS_BASE", MSR_KERNEL_GS_BASE);
}

/* ---- the local APIC ---- */

static u32 ram_end; /* its RAM is [0, ram_end) */
static u32 own_id;
static u32 phys_bits;

static void lapic_write(u32 reg, u32 value)
{
	*(volatile u32 *)(uintptr_t)(APIC_DEFAULT + reg) = value;
}

static u32 lapic_read(u32 reg)
{
	return *(volatile u32 *)(uintptr_t)(APIC_DEFAULT + reg);
}

static bool in_ram(u64 addr, u64 len)
{
	return addr + len <= ram_end;
}

/* The xAPIC as this guest leaves it between attempts. */
static void lapic_setup(void)
{
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, TPR_TEST);
	lapic_write(LAPIC_LVT_TIMER, LVT_TEST);
}

static bool lapic_intact(void)
{
	return lapic_read(LAPIC_TPR) == TPR_TEST &&
	       lapic_read(LAPIC_LVT_TIMER) == LVT_TEST &&
	       (lapic_read(LAPIC_SVR) & 0x1ff) == (SVR_ENABLE | VEC_SPURIOUS);
}

/*
 * IA32_APIC_BASE moved to `base` (SDM Vol. 3A 11.4.4): Veneer serves the
 * APIC page at 0xFEE00000 only (docs/devices.md, "IA32_APIC_BASE"), so
 * the old page reads all ones and the new one is whatever memory is there:
 * its own RAM, or outside it, where an access would stop it (left to
 * final=apic). Never another guest's memory.
 */
static void try_apic_move(u64 base)
{
	u32 *page = (u32 *)(uintptr_t)base;
	bool ram = in_ram(base, PAGE_SIZE);
	u32 old_page = 0, version = 0, back = 0, other = 0;
	struct fault f, back_f;
	bool ok;

	if (ram)
		for (u32 i = 0; i < PAGE_WORDS; i++)
			page[i] = PAGE_FILL;
	f = probe_wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_BSP);
	if (!f.hit) {
		old_page = lapic_read(LAPIC_VERSION);
		if (ram) {
			/* Version is read-only in an APIC; RAM keeps it. */
			*(volatile u32 *)&page[LAPIC_VERSION / 4] = 0xdeadbeef;
			*(volatile u32 *)&page[LAPIC_TPR / 4] = TPR_PROBE;
			back = *(volatile u32 *)&page[LAPIC_VERSION / 4];
			for (u32 i = 0; i < PAGE_WORDS; i++)
				if (i != LAPIC_VERSION / 4 &&
				    i != LAPIC_TPR / 4 && page[i] != PAGE_FILL)
					other++;
		}
	}
	back_f = probe_wrmsr(MSR_APIC_BASE,
			     APIC_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP);
	version = lapic_read(LAPIC_VERSION);
	ok = fault_is(&f, NO_FAULT) && fault_is(&back_f, NO_FAULT) &&
	     old_page == 0xffffffffu && version != 0xffffffffu &&
	     (!ram || (back == 0xdeadbeef && page[LAPIC_TPR / 4] == TPR_PROBE &&
		       !other)) &&
	     lapic_intact();
	verdict(ok, true);
	say("IA32_APIC_BASE moved to 0x%llx: ", (unsigned long long)base);
	say_fault(&f);
	say(", 0xfee00030 reads 0x%x", old_page);
	if (ram)
		say(", a write there landed in its RAM (read back 0x%x, %u "
		    "other words changed)",
		    back, other);
	else
		say(", outside its RAM: not written (final=apic does)");
	say("; moved back, version 0x%x", version);
	if (!ok)
		say(" (expected no fault, all ones, the write in its RAM, the "
		    "APIC back with its registers)");
	end_line();
}

static void try_apic_base(void)
{
	u64 base = 0, beyond = 1ull << phys_bits;
	struct fault f = probe_rdmsr(MSR_APIC_BASE, &base);

	verdict(!f.hit && base == (APIC_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP),
		true);
	say("IA32_APIC_BASE reads 0x%llx", (unsigned long long)base);
	end_line();
	try_apic_move(RELOCATE_LOW);
	try_apic_move(RELOCATE_HIGH);
	if (phys_bits >= 39)
		try_apic_move(RELOCATE_4G);
	/* The top page the guest's MAXPHYADDR (CPUID 80000008h) allows. */
	if (phys_bits > 39 &&
	    wanted("apic-top", "IA32_APIC_BASE at the top MAXPHYADDR allows"))
		try_apic_move(beyond - PAGE_SIZE);
	/* At or above MAXPHYADDR the base is reserved (SDM 11.4.4). */
	f = probe_wrmsr(MSR_APIC_BASE, beyond | APIC_BASE_EN | APIC_BASE_BSP);
	expect_fault("IA32_APIC_BASE at 2^MAXPHYADDR", &f, VEC_GP);
	if (!f.hit)
		probe_wrmsr(MSR_APIC_BASE,
			    APIC_DEFAULT | APIC_BASE_EN | APIC_BASE_BSP);
}

/* ---- IPIs ---- */

static volatile u32 fixed_count, lowest_count, nmi_count, stray_count;

static void count_fixed(struct trap_frame *frame)
{
	(void)frame;
	fixed_count++;
	lapic_write(LAPIC_EOI, 0);
}

static void count_lowest(struct trap_frame *frame)
{
	(void)frame;
	lowest_count++;
	lapic_write(LAPIC_EOI, 0);
}

static void count_nmi(struct trap_frame *frame)
{
	(void)frame;
	nmi_count++;
}

/* Any other interrupt vector: nothing here sends one. */
static void count_stray(struct trap_frame *frame)
{
	(void)frame;
	stray_count++;
	lapic_write(LAPIC_EOI, 0);
}

static u32 arrivals(void)
{
	return fixed_count + lowest_count + nmi_count + stray_count;
}

static void pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static void send_ipi(u32 dest, u32 low)
{
	lapic_write(LAPIC_ICR_HIGH, dest << ICR_DEST_SHIFT);
	lapic_write(LAPIC_ICR_LOW, low);
}

/* Sends with interrupts on; returns how many interrupts and NMIs came. */
static u32 send_and_count(u32 dest, u32 low, bool expect)
{
	u32 before = arrivals();
	u32 spins = expect ? ARRIVE_SPINS : STRAY_SPINS;

	cpu_sti();
	send_ipi(dest, low);
	for (u32 i = 0; i < spins && arrivals() == before; i++)
		pause();
	for (u32 i = 0; i < STRAY_SPINS; i++)
		pause();
	cpu_cli();
	return arrivals() - before;
}

enum ipi_effect { IPI_INTERRUPT, IPI_NOTHING };

static const struct {
	const char *name;
	u32 icr;
	enum ipi_effect effect;
	bool stops_self; /* it would stop this one-vCPU guest */
} ipi_kinds[] = {
    {"fixed", ICR_FIXED | VEC_FIXED, IPI_INTERRUPT, false},
    {"lowest-priority", ICR_LOWEST | VEC_LOWEST, IPI_INTERRUPT, false},
    {"NMI", ICR_NMI, IPI_INTERRUPT, false},
    {"SMI", ICR_SMI, IPI_NOTHING, false},
    {"INIT", ICR_INIT | ICR_ASSERT | ICR_LEVEL, IPI_NOTHING, true},
    {"INIT de-assert", ICR_INIT | ICR_LEVEL, IPI_NOTHING, false},
    {"STARTUP", ICR_STARTUP | SIPI_VECTOR, IPI_NOTHING, false},
};

static bool names_self(u32 dest)
{
	return dest == own_id || dest == XAPIC_BROADCAST;
}

/*
 * One kind to every physical destination 0-255: only its own ID and the
 * xAPIC broadcast 0xFF reach a vCPU (docs/guests.md, "Several vCPUs": an
 * IPI for an APIC ID no vCPU has is dropped); the others arrive nowhere
 * and, for INIT and STARTUP, change nothing in its own APIC either.
 */
static void sweep_ids(unsigned k)
{
	u32 got[256 / 32] = {0};
	u32 hits = 0, wrong = 0, sent = 0;
	bool expect_any = ipi_kinds[k].effect == IPI_INTERRUPT;

	for (u32 dest = 0; dest < 256; dest++) {
		bool reach = expect_any && names_self(dest);
		u32 n;

		if (ipi_kinds[k].stops_self && names_self(dest))
			continue;
		sent++;
		n = send_and_count(dest, ipi_kinds[k].icr, reach);
		if (n)
			got[dest / 32] |= 1u << (dest % 32);
		hits += n;
		if ((n != 0) != reach || n > 1)
			wrong++;
	}
	verdict(!wrong && lapic_intact(), true);
	say("%s IPI to %u APIC IDs 0-255: ", ipi_kinds[k].name, sent);
	if (!hits)
		say("nothing arrived");
	else
		say("%u arrived, from", hits);
	for (u32 dest = 0; dest < 256; dest++)
		if (got[dest / 32] & (1u << (dest % 32)))
			say(" 0x%x", dest);
	say(", its APIC %s", lapic_intact() ? "unchanged" : "CHANGED");
	if (wrong || !lapic_intact())
		say(" (expected %s, the APIC unchanged)",
		    expect_any ? "one each from its own ID and 0xff"
			       : "nothing");
	end_line();
}

static const struct {
	const char *name;
	u32 bits;
	bool self;
} shorthands[] = {
    {"self", ICR_SELF, true},
    {"all-including-self", ICR_ALL, true},
    {"all-excluding-self", ICR_ALL_BUT, false},
};

/*
 * The shorthands (SDM Vol. 3A 11.6.1): self and all-including-self reach
 * only itself, all-excluding-self nobody. NMI, lowest priority, STARTUP
 * with them are invalid combinations for the xAPIC that Veneer delivers
 * as written (docs/devices.md, "NMIs"; core/platform.c).
 */
static void sweep_shorthands(unsigned k)
{
	for (unsigned s = 0; s < ARRAY_SIZE(shorthands); s++) {
		bool reach =
		    shorthands[s].self && ipi_kinds[k].effect == IPI_INTERRUPT;
		u32 n;

		if (ipi_kinds[k].stops_self && shorthands[s].self)
			continue;
		n = send_and_count(0, ipi_kinds[k].icr | shorthands[s].bits,
				   reach);
		verdict(n == (reach ? 1u : 0u) && lapic_intact(), true);
		say("%s IPI, shorthand %s: %u arrived, its APIC %s",
		    ipi_kinds[k].name, shorthands[s].name, n,
		    lapic_intact() ? "unchanged" : "CHANGED");
		if (n != (reach ? 1u : 0u) || !lapic_intact())
			say(" (expected %u, the APIC unchanged)",
			    reach ? 1u : 0u);
		end_line();
	}
}

/* A vector below 16 is never sent: ESR bit 5 (SDM Vol. 3A 11.5.3). */
static void try_illegal_vector(void)
{
	u32 esr, n;

	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	n = send_and_count(own_id, ICR_FIXED | VEC_ILLEGAL, false);
	lapic_write(LAPIC_ESR, 0);
	esr = lapic_read(LAPIC_ESR);
	verdict(!n && (esr & ESR_SEND_ILLEGAL), true);
	say("fixed IPI with vector %u to itself: %u arrived, ESR 0x%x",
	    VEC_ILLEGAL, n, esr);
	if (n || !(esr & ESR_SEND_ILLEGAL))
		say(" (expected none, ESR bit 5)");
	end_line();
	lapic_write(LAPIC_ESR, 0);
}

static void try_ipis(void)
{
	for (unsigned k = 0; k < ARRAY_SIZE(ipi_kinds); k++) {
		sweep_ids(k);
		sweep_shorthands(k);
	}
	try_illegal_vector();
	verdict(!stray_count, true);
	say("no other interrupt arrived: %u", stray_count);
	end_line();
}

/* ---- ports ---- */

static int uart_read_byte(void)
{
	if (!(inb(UART_BASE + UART_LSR) & UART_LSR_DR))
		return -1;
	return inb(UART_BASE + UART_RBR);
}

/* A line typed on its console: ends rounds=0 (set while polling). */
static volatile bool line_typed;

static void poll_console(void)
{
	int c;

	while ((c = uart_read_byte()) >= 0)
		if (c == '\r' || c == '\n')
			line_typed = true;
}

static const char loop_marker[] = "LOOPBACK-LEAK";
static const char com2_marker[] = "COM2-LEAK";

/*
 * Its own UART (docs/guests.md, "The virtual platform"): what it writes
 * to 0x3f8 is its own console output, a tagged line. In loopback mode
 * (MCR bit 4) the bytes come back to its own receiver and reach no
 * console; a divisor written with DLAB changes nothing outside it.
 */
static void try_own_uart(void)
{
	static const char line[] = "isolation: this line was written to port "
				   "0x3f8 directly\r\n";
	u8 mcr = inb(UART_BASE + UART_MCR), lcr = inb(UART_BASE + UART_LCR);
	u32 looped = 0, wrong = 0;
	u8 dll, dlm;

	poll_console();
	if (!quiet)
		for (const char *p = line; *p; p++)
			serial_putc(*p);

	outb(UART_BASE + UART_MCR, mcr | MCR_LOOP);
	for (const char *p = loop_marker; *p; p++) {
		int c = -1;

		serial_putc(*p);
		for (u32 i = 0; i < ARRIVE_SPINS && c < 0; i++)
			c = uart_read_byte();
		/* A line typed at this moment is console input, not ours. */
		while (c == '\r' || c == '\n') {
			line_typed = true;
			c = uart_read_byte();
		}
		if (c == *p)
			looped++;
		else
			wrong++;
	}
	outb(UART_BASE + UART_MCR, mcr);

	outb(UART_BASE + UART_LCR, lcr | LCR_DLAB);
	dll = inb(UART_BASE + UART_RBR);
	dlm = inb(UART_BASE + UART_IER);
	outb(UART_BASE + UART_RBR, 0x0c); /* 9600 baud */
	outb(UART_BASE + UART_IER, 0);
	outb(UART_BASE + UART_LCR, lcr);
	outb(UART_BASE + UART_LCR, lcr | LCR_DLAB);
	outb(UART_BASE + UART_RBR, dll);
	outb(UART_BASE + UART_IER, dlm);
	outb(UART_BASE + UART_LCR, lcr);

	verdict(looped == sizeof(loop_marker) - 1 && !wrong, false);
	say("its UART 0x3f8: a line written directly is its output; in "
	    "loopback %u of %u bytes came back to it",
	    looped, (u32)sizeof(loop_marker) - 1);
	end_line();
}

/* A port nobody owns reads all ones and drops writes (docs/security.md). */
static void try_other_uarts(void)
{
	static const u16 bases[] = {COM2_BASE, COM3_BASE, COM4_BASE};
	u32 not_ones = 0;

	for (const char *p = com2_marker; *p; p++)
		outb(COM2_BASE, (u8)*p);
	for (unsigned b = 0; b < ARRAY_SIZE(bases); b++) {
		outb(bases[b] + UART_SCR, 0x5a);
		outb(bases[b] + UART_MCR, MCR_LOOP);
		for (u16 port = bases[b]; port < bases[b] + 8; port++)
			if (inb(port) != 0xff)
				not_ones++;
	}
	verdict(!not_ones, true);
	say("COM2-COM4 (0x2f8, 0x3e8, 0x2e8): %u of 24 ports not all ones "
	    "after writes",
	    not_ones);
	end_line();
}

static u32 pci_read(u32 bus, u32 dev, u32 fn, u32 reg)
{
	outl(PCI_ADDRESS,
	     PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
	return inl(PCI_DATA);
}

static void pci_write(u32 bus, u32 dev, u32 fn, u32 reg, u32 value)
{
	outl(PCI_ADDRESS,
	     PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
	outl(PCI_DATA, value);
}

/*
 * The PCI configuration ports reach the virtual host bridge
 * (docs/devices-legacy.md, "PCI configuration mechanism #1"): 00:00.0 is
 * 8086:1237 with no BARs, every other function reads all ones, writes
 * to them go nowhere. 0xCF9, the reset control register of a PC, is a
 * byte of the address register here: all ones, dropped, no reset.
 */
static void try_pci(void)
{
	u32 id = pci_read(0, 0, 0, 0), others = 0, bar;
	u16 narrow;

	for (u32 dev = 0; dev < 32; dev++)
		for (u32 fn = 0; fn < 8; fn++) {
			if (!dev && !fn)
				continue;
			pci_write(0, dev, fn, 0x04, 0x7);
			if (pci_read(0, dev, fn, 0) != 0xffffffffu)
				others++;
		}
	for (u32 bus = 1; bus < 256; bus += 17)
		if (pci_read(bus, 31, 7, 0) != 0xffffffffu)
			others++;
	pci_write(0, 0, 0, 0x10, 0xffffffffu);
	bar = pci_read(0, 0, 0, 0x10);
	/* Natively this is the PIIX's reset control register: it resets. */
	if (veneer)
		outb(PCI_RESET, 0x06);
	narrow = inw(PCI_ADDRESS);
	verdict(id == HOST_BRIDGE_ID && !others && !bar &&
		    inb(PCI_RESET) == 0xff && narrow == 0xffff,
		true);
	say("PCI 0xcf8/0xcfc: 00:00.0 is 0x%x, %u other functions answer, "
	    "BAR0 sizes to 0x%x; 0xcf9 <- 6: no reset",
	    id, others, bar);
	if (id != HOST_BRIDGE_ID || others || bar)
		say(" (expected 0x%x, 0, 0)", HOST_BRIDGE_ID);
	end_line();
}

/*
 * Its own ACPI PM1 block (docs/devices-legacy.md, "What the core must
 * provide"): SCI_EN reads 1, SLP_TYP written without SLP_EN is only
 * stored, the PM timer runs. SLP_EN is left to final=s5.
 */
static void try_acpi_pm(void)
{
	u16 cnt = inw(PM1A_CNT), stored;
	u32 t0 = inl(PM_TMR), t1;

	outw(PM1A_EVT, 0xffff); /* write-1-to-clear */
	outw(PM1_EN, 0);
	outw(PM1A_CNT, (u16)(cnt | PM1_SLP_TYP(5)));
	stored = inw(PM1A_CNT);
	outw(PM1A_CNT, cnt);
	outl(PM_TMR, 0); /* read-only */
	for (u32 i = 0; i < 1000; i++)
		pause();
	t1 = inl(PM_TMR);
	verdict((cnt & PM1_SCI_EN) && (stored & 0x1c00) == PM1_SLP_TYP(5) &&
		    t1 != t0,
		true);
	say("ACPI PM1a_CNT 0x604 reads 0x%x, SLP_TYP 5 without SLP_EN "
	    "stored as 0x%x; PM timer 0x%x -> 0x%x",
	    cnt, stored, t0, t1);
	end_line();
}

static void try_ports(void)
{
	try_own_uart();
	try_other_uarts();
	try_pci();
	try_acpi_pm();
}

/* ---- the final step ---- */

enum final_kind {
	FINAL_NONE,
	FINAL_READ,
	FINAL_WRITE,
	FINAL_APIC,
	FINAL_TRIPLE,
	FINAL_INIT_SELF,
	FINAL_S5,
};

static const struct {
	const char *name;
	enum final_kind kind;
	bool address;
} final_kinds[] = {
    {"none", FINAL_NONE, false},     {"read", FINAL_READ, true},
    {"write", FINAL_WRITE, true},    {"apic", FINAL_APIC, true},
    {"triple", FINAL_TRIPLE, false}, {"init-self", FINAL_INIT_SELF, false},
    {"s5", FINAL_S5, false},
};

static enum final_kind final_kind;
static u64 final_addr;
/* ADDR may be a number or `above` (the first byte past its RAM) or `top`
 * (the last 4 bytes below 2^MAXPHYADDR), resolved once both are known. */
enum final_where { WHERE_NUMBER, WHERE_ABOVE, WHERE_TOP };
static enum final_where final_where;

static bool word_is(const char *s, const char *word)
{
	size_t n = str_len(word);

	for (size_t i = 0; i < n; i++)
		if (s[i] != word[i])
			return false;
	return s[n] == ':' || s[n] == ' ' || !s[n];
}

static bool parse_final(const char *v)
{
	for (unsigned i = 0; i < ARRAY_SIZE(final_kinds); i++) {
		size_t n = str_len(final_kinds[i].name);

		if (!word_is(v, final_kinds[i].name))
			continue;
		final_kind = final_kinds[i].kind;
		if (!final_kinds[i].address)
			return v[n] != ':';
		if (v[n] != ':')
			return false;
		if (word_is(v + n + 1, "above"))
			final_where = WHERE_ABOVE;
		else if (word_is(v + n + 1, "top"))
			final_where = WHERE_TOP;
		else
			return parse_u64(v + n + 1, &final_addr);
		return true;
	}
	return false;
}

/*
 * PAE paging (SDM Vol. 3A 4.4) for an address above 4 GiB: the first
 * 4 GiB identity-mapped with 2 MiB pages, except the 2 MiB at 0xC0000000
 * (nothing of this guest's is there), which map `addr`'s 2 MiB.
 */
#define PAE_P	   BIT(0)
#define PAE_RW	   BIT(1)
#define PAE_PS	   BIT(7)
#define PAE_WINDOW 0xc0000000u
#define PAGE_2M	   0x200000ull

static u64 pae_pdpt[4] __aligned(32);
static u64 pae_pd[4][512] __aligned(PAGE_SIZE);

static volatile u32 *map_high(u64 addr)
{
	for (u32 i = 0; i < 4; i++) {
		for (u32 j = 0; j < 512; j++)
			pae_pd[i][j] = ((u64)(i * 512 + j) * PAGE_2M) | PAE_P |
				       PAE_RW | PAE_PS;
		pae_pdpt[i] = (u64)(uintptr_t)pae_pd[i] | PAE_P;
	}
	pae_pd[PAE_WINDOW >> 30][0] =
	    (addr & ~(PAGE_2M - 1)) | PAE_P | PAE_RW | PAE_PS;
	write_cr3((uintptr_t)pae_pdpt);
	write_cr4(read_cr4() | CR4_PAE);
	write_cr0(read_cr0() | CR0_PG);
	return (volatile u32 *)(uintptr_t)(PAE_WINDOW +
					   (u32)(addr & (PAGE_2M - 1)));
}

static volatile u32 *map_address(u64 addr)
{
	if (addr >> 32)
		return map_high(addr);
	return (volatile u32 *)(uintptr_t)addr;
}

__noreturn static void final_failed(const char *what)
{
	guest_printf("FAIL: final: %s did not end the guest\nFAIL\n", what);
	guest_exit(1);
}

/* Each ends the guest as docs/guests.md and docs/security.md say. */
__noreturn static void run_final(u32 status)
{
	static const struct __attribute__((packed)) {
		u16 limit;
		u32 base;
	} empty_idt = {0, 0};
	volatile u32 *p;
	u32 sink;

	switch (final_kind) {
	case FINAL_NONE:
		guest_printf("isolation: final: none: expect exit %u\n",
			     status);
		guest_exit(status);
	case FINAL_READ:
	case FINAL_WRITE:
		guest_printf("isolation: final: %s: expect stop at 0x%llx\n",
			     final_kind == FINAL_READ ? "read" : "write",
			     (unsigned long long)final_addr);
		serial_drain();
		p = map_address(final_addr);
		if (final_kind == FINAL_READ) {
			sink = *p;
			(void)sink;
		} else {
			*p = 0x15015015;
		}
		final_failed("an access outside its RAM");
	case FINAL_APIC:
		guest_printf("isolation: final: apic: expect stop at 0x%llx\n",
			     (unsigned long long)final_addr);
		serial_drain();
		wrmsr(MSR_APIC_BASE, (final_addr & ~(u64)(PAGE_SIZE - 1)) |
					 APIC_BASE_EN | APIC_BASE_BSP);
		p = map_address(final_addr);
		*p = 0xa91c;
		final_failed("a write to its moved APIC page outside its RAM");
	case FINAL_TRIPLE:
		guest_printf("isolation: final: triple: expect stop triple "
			     "fault\n");
		serial_drain();
		cpu_cli();
		__asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
		final_failed("a triple fault");
	case FINAL_INIT_SELF:
		guest_printf("isolation: final: init-self: expect stop INIT\n");
		serial_drain();
		send_ipi(own_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
		for (u32 i = 0; i < ARRIVE_SPINS; i++)
			pause();
		final_failed("an INIT to itself");
	case FINAL_S5:
		guest_printf("isolation: final: s5: expect exit 0\n");
		serial_drain();
		outw(PM1A_CNT, PM1_SLP_TYP(5) | PM1_SLP_EN | PM1_SCI_EN);
		final_failed("ACPI S5");
	}
	final_failed("an unknown final step");
}

/* ---- the run ---- */

static void round_of_attempts(void)
{
	if (wanted("virt", "virtualization instructions and bits"))
		try_virtualization();
	if (wanted("msrs", "MSRs"))
		try_msrs();
	if (wanted("apic", "IA32_APIC_BASE"))
		try_apic_base();
	if (wanted("ipi", "IPIs"))
		try_ipis();
	if (wanted("ports", "ports"))
		try_ports();
	poll_console();
}

static void setup(const struct multiboot_info *mbi)
{
	struct guest_mmap map;
	struct cpuid_regs ext = cpuid(0x80000000u, 0);

	for (unsigned v = 0; v < 32; v++)
		if (v != VEC_NMI)
			trap_set_handler(v, probe_trap);
	for (unsigned v = 32; v < 256; v++)
		trap_set_handler(v, count_stray);
	trap_set_handler(VEC_NMI, count_nmi);
	trap_set_handler(VEC_FIXED, count_fixed);
	trap_set_handler(VEC_LOWEST, count_lowest);

	/* No interrupt but those it sends itself. */
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);

	if (guest_mmap_read(mbi, &map))
		for (unsigned i = 0; i < map.count; i++)
			if (map.entry[i].type == 1 &&
			    map.entry[i].base + map.entry[i].length > ram_end &&
			    map.entry[i].base < 0x100000000ull)
				ram_end = (u32)(map.entry[i].base +
						map.entry[i].length);
	phys_bits = 36;
	if (ext.eax >= CPUID_EXT_ADDR_SIZE)
		phys_bits = cpuid(CPUID_EXT_ADDR_SIZE, 0).eax & 0xff;
	lapic_setup();
	own_id = lapic_read(LAPIC_ID) >> 24;
	guest_printf("isolation: RAM 0-0x%x, APIC ID 0x%x, MAXPHYADDR %u\n",
		     ram_end, own_id, phys_bits);
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *cmdline = guest_cmdline(mbi);
	const char *v;
	u64 rounds = 1;
	u32 round;

	veneer = under_veneer();
	v = cmdline_value(cmdline, "final");
	if (v && !parse_final(v)) {
		guest_fail("final= is none, read:ADDR, write:ADDR, apic:ADDR, "
			   "triple, init-self or s5");
		return;
	}
	v = cmdline_value(cmdline, "rounds");
	if (v && !parse_u64(v, &rounds)) {
		guest_fail("rounds= is not a number");
		return;
	}
	skip_list = cmdline_value(cmdline, "skip");
	setup(mbi);
	if (final_where == WHERE_ABOVE)
		final_addr = ram_end;
	else if (final_where == WHERE_TOP)
		final_addr = (1ull << phys_bits) - 4;
	for (round = 1; !rounds || round <= rounds; round++) {
		unsigned failed_before = failed;

		quiet = round > 1;
		round_of_attempts();
		if (quiet)
			guest_printf("isolation: round %u: %u failed\n", round,
				     failed - failed_before);
		if (!rounds && line_typed)
			break;
	}
	guest_printf("isolation: summary: rounds %u attempts %u passed %u "
		     "failed %u skipped %u\n",
		     rounds ? (u32)rounds : round, attempts, passed, failed,
		     skipped);
	if (guest_failures)
		guest_printf("%u check%s failed\nFAIL\n", guest_failures,
			     guest_failures == 1 ? "" : "s");
	else
		guest_printf("PASS\n");
	run_final(guest_failures ? 1 : 0);
}
