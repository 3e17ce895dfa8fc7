/* SPDX-License-Identifier: MIT */
/*
 * hcuser: no hypercall from user mode (docs/hypercall.md, issue 10).
 *
 * With its own GDT (flat code 0x08 and data 0x10 as the library's, ring-3
 * code 0x1b and data 0x23, a TSS whose ESP0 is a kernel stack), paging
 * off, the guest IRETs to CPL 3 (SDM Vol. 3A 5.8.5, 7.2.1) and there runs
 * VMCALL HC_CONSOLE_WRITE, VMMCALL HC_CONSOLE_WRITE, VMCALL HC_EXIT(1),
 * VMMCALL HC_EXIT(1). Each must raise #UD, delivered at CPL 0 through the
 * TSS stack with the ring-3 CS and the instruction's address on the frame
 * and EAX still the call number; the handler skips the 3 bytes. Ring 3
 * then returns to ring 0 with INT 0x80 (a DPL-3 gate). The line ring 3
 * asks to print starts with "FAIL:", and its HC_EXIT code is 1, so a
 * hypercall that ran shows in the log or the exit code. Back at CPL 0,
 * VMCALL and VMMCALL HC_VERSION return 1.0 under Veneer.
 *
 * Natively (QEMU TCG) VMCALL and VMMCALL raise #UD at any CPL (no VMX
 * operation, EFER.SVME clear: SDM Vol. 3C 31.3 "VMCALL", APM Vol. 3
 * "VMMCALL"): the ring-3 checks hold, and at CPL 0 the #UD is checked in
 * place of HC_VERSION.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/trap.h"

#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UCODE   0x1b /* index 3, RPL 3 */
#define SEL_UDATA   0x23 /* index 4, RPL 3 */
#define SEL_TSS	    0x28
#define GDT_ENTRIES 6
#define SYSCALL_VEC 0x80
#define HC_INSN_LEN 3 /* 0F 01 C1 and 0F 01 D9 */
#define USER_CALLS  4

struct tss32 {
	u16 link, link_hi;
	u32 esp0;
	u16 ss0, ss0_hi;
	u32 esp1;
	u16 ss1, ss1_hi;
	u32 esp2;
	u16 ss2, ss2_hi;
	u32 cr3, eip, eflags;
	u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u16 es, es_hi, cs, cs_hi, ss, ss_hi, ds, ds_hi, fs, fs_hi, gs, gs_hi;
	u16 ldt, ldt_hi;
	u16 trap, iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 0x68, "32-bit TSS (SDM Vol. 3A 7.2.1)");

static struct tss32 tss __aligned(128);
static u64 gdt[GDT_ENTRIES] __aligned(8);
static u8 kernel_stack[4096] __aligned(16);
static u8 user_stack[4096] __aligned(16);

/* Shared with the assembly below. */
const char user_msg[] = "FAIL: hcuser: HC_CONSOLE_WRITE ran at CPL 3\n";
const u32 user_msg_len = sizeof(user_msg) - 1;
u32 user_stack_top;
volatile u32 kernel_esp;
volatile u32 user_eax[USER_CALLS];
void enter_user(void);
void back_in_ring0(void);
extern const char user_code[], ud_site0[], ud_site1[], ud_site2[], ud_site3[];

/* What the #UD handler saw, one entry per #UD. */
#define UD_MAX 8
static volatile u32 ud_count;
static volatile u32 ud_vector[UD_MAX], ud_cpl[UD_MAX], ud_ip[UD_MAX],
    ud_eax[UD_MAX];
static volatile u32 syscall_count, syscall_cpl;

/*
 * Ring 3 runs the four calls, keeping what EAX holds after each, then
 * INT 0x80. enter_user saves the callee-saved registers and ESP; the
 * INT 0x80 handler resumes at back_in_ring0, which restores them.
 */
__asm__(".text\n"
	"enter_user:\n\t"
	"pushl %ebp\n\t"
	"pushl %ebx\n\t"
	"pushl %esi\n\t"
	"pushl %edi\n\t"
	"movl %esp, kernel_esp\n\t"
	/* DS / ES usable at CPL 3, or the IRET would null them. */
	"movw $0x23, %ax\n\t"
	"movw %ax, %ds\n\t"
	"movw %ax, %es\n\t"
	"pushl $0x23\n\t"	   /* SS */
	"pushl user_stack_top\n\t" /* ESP */
	"pushl $0x2\n\t"	   /* EFLAGS: IF = 0, IOPL = 0 */
	"pushl $0x1b\n\t"	   /* CS */
	"pushl $user_code\n\t"	   /* EIP */
	"iret\n"
	"back_in_ring0:\n\t"
	"movw $0x10, %ax\n\t"
	"movw %ax, %ds\n\t"
	"movw %ax, %es\n\t"
	"movw %ax, %ss\n\t"
	"movl kernel_esp, %esp\n\t"
	"popl %edi\n\t"
	"popl %esi\n\t"
	"popl %ebx\n\t"
	"popl %ebp\n\t"
	"ret\n"
	"user_code:\n\t"
	"movl $1, %eax\n\t" /* HC_CONSOLE_WRITE */
	"movl $user_msg, %ebx\n\t"
	"movl user_msg_len, %ecx\n"
	"ud_site0:\n\t"
	"vmcall\n\t"
	"movl %eax, user_eax\n\t"
	"movl $1, %eax\n\t"
	"movl $user_msg, %ebx\n\t"
	"movl user_msg_len, %ecx\n"
	"ud_site1:\n\t"
	"vmmcall\n\t"
	"movl %eax, user_eax+4\n\t"
	"movl $2, %eax\n\t" /* HC_EXIT */
	"movl $1, %ebx\n"
	"ud_site2:\n\t"
	"vmcall\n\t"
	"movl %eax, user_eax+8\n\t"
	"movl $2, %eax\n\t"
	"movl $1, %ebx\n"
	"ud_site3:\n\t"
	"vmmcall\n\t"
	"movl %eax, user_eax+12\n\t"
	"int $0x80\n"
	"1:\n\t"
	"jmp 1b\n");

/* ---- descriptors (SDM Vol. 3A 3.4.5, 7.2.2) */

static u64 segment_desc(u32 base, u32 limit, u32 type, bool s, u32 dpl,
			bool big)
{
	u64 d = (limit & 0xffff) | ((u64)(base & 0xffffff) << 16);

	d |= (u64)type << 40 | (u64)s << 44 | (u64)dpl << 45 | 1ULL << 47;
	d |= (u64)((limit >> 16) & 0xf) << 48;
	if (big)
		d |= (1ULL << 54) | (1ULL << 55);
	return d | (u64)(base >> 24) << 56;
}

static void load_gdt_and_tss(void)
{
	struct {
		u16 limit;
		u32 base;
	} __attribute__((packed)) p = {sizeof(gdt) - 1, (u32)(uintptr_t)gdt};

	gdt[SEL_KCODE >> 3] = segment_desc(0, 0xfffff, 0xb, true, 0, true);
	gdt[SEL_KDATA >> 3] = segment_desc(0, 0xfffff, 0x3, true, 0, true);
	gdt[SEL_UCODE >> 3] = segment_desc(0, 0xfffff, 0xb, true, 3, true);
	gdt[SEL_UDATA >> 3] = segment_desc(0, 0xfffff, 0x3, true, 3, true);
	memset(&tss, 0, sizeof(tss));
	tss.esp0 = (u32)(uintptr_t)&kernel_stack[sizeof(kernel_stack)];
	tss.ss0 = SEL_KDATA;
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: no port at CPL 3 */
	gdt[SEL_TSS >> 3] = segment_desc((u32)(uintptr_t)&tss, sizeof(tss) - 1,
					 0x9, false, 0, false);
	__asm__ volatile("lgdt %0\n\t"
			 "movw %w1, %%ds\n\t"
			 "movw %w1, %%es\n\t"
			 "movw %w1, %%fs\n\t"
			 "movw %w1, %%gs\n\t"
			 "movw %w1, %%ss\n\t"
			 "ljmp %2, $1f\n"
			 "1:"
			 :
			 : "m"(p), "r"(SEL_KDATA), "i"(SEL_KCODE)
			 : "memory");
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

/* The library's IDT: INT 0x80 is allowed from CPL 3 (gate DPL 3). */
static void open_syscall_gate(void)
{
	struct {
		u16 limit;
		u32 base;
	} __attribute__((packed)) p;
	u64 *idt;

	__asm__ volatile("sidt %0" : "=m"(p));
	idt = (u64 *)(uintptr_t)p.base;
	idt[SYSCALL_VEC] |= 3ULL << 45;
}

/* ---- handlers */

static void on_ud(struct trap_frame *frame)
{
	u32 i = ud_count++;

	if (i < UD_MAX) {
		ud_vector[i] = frame->vector;
		ud_cpl[i] = frame->cs & 3;
		ud_ip[i] = frame->ip;
		ud_eax[i] = frame->eax;
	}
	frame->ip += HC_INSN_LEN;
}

/* From ring 3: resume at back_in_ring0, at CPL 0 (an IRET to the same
 * privilege level pops EIP, CS, EFLAGS only: SDM Vol. 2A "IRET"). */
static void on_syscall(struct trap_frame *frame)
{
	syscall_count++;
	syscall_cpl = frame->cs & 3;
	frame->ip = (u32)(uintptr_t)back_in_ring0;
	frame->cs = SEL_KCODE;
}

static void check_ring3(void)
{
	static const char *const what[USER_CALLS] = {
	    "CPL 3 vmcall HC_CONSOLE_WRITE raises #UD",
	    "CPL 3 vmmcall HC_CONSOLE_WRITE raises #UD",
	    "CPL 3 vmcall HC_EXIT raises #UD",
	    "CPL 3 vmmcall HC_EXIT raises #UD",
	};
	const char *const site[USER_CALLS] = {ud_site0, ud_site1, ud_site2,
					      ud_site3};
	static const u32 nr[USER_CALLS] = {HC_CONSOLE_WRITE, HC_CONSOLE_WRITE,
					   HC_EXIT, HC_EXIT};

	EXPECT_EQ(syscall_count, 1, "ring 3 came back through INT 0x80");
	EXPECT_EQ(syscall_cpl, 3, "INT 0x80 came from CPL 3");
	EXPECT_EQ(ud_count, USER_CALLS, "one #UD per ring-3 hypercall");
	for (u32 i = 0; i < USER_CALLS && i < ud_count; i++) {
		bool ok = ud_vector[i] == VEC_UD && ud_cpl[i] == 3 &&
			  ud_ip[i] == (u32)(uintptr_t)site[i] &&
			  ud_eax[i] == nr[i] && user_eax[i] == nr[i];

		if (!ok)
			guest_printf("hcuser: #%u: vector %u cpl %u ip 0x%x "
				     "(want 0x%x) eax 0x%x after 0x%x\n",
				     (unsigned)i, (unsigned)ud_vector[i],
				     (unsigned)ud_cpl[i], (unsigned)ud_ip[i],
				     (unsigned)(uintptr_t)site[i],
				     (unsigned)ud_eax[i],
				     (unsigned)user_eax[i]);
		EXPECT_TRUE(ok, what[i]);
	}
}

static void check_ring0(void)
{
	if (under_veneer()) {
		EXPECT_EQ(hypercall(HYPERCALL_VMCALL, HC_VERSION, 0, 0, 0, 0),
			  HC_VERSION_1_0, "CPL 0 vmcall HC_VERSION is 1.0");
		EXPECT_EQ(hypercall(HYPERCALL_VMMCALL, HC_VERSION, 0, 0, 0, 0),
			  HC_VERSION_1_0, "CPL 0 vmmcall HC_VERSION is 1.0");
		EXPECT_EQ(ud_count, USER_CALLS, "no #UD at CPL 0");
		return;
	}
	hypercall(HYPERCALL_VMCALL, HC_VERSION, 0, 0, 0, 0);
	hypercall(HYPERCALL_VMMCALL, HC_VERSION, 0, 0, 0, 0);
	EXPECT_TRUE(ud_count == USER_CALLS + 2 &&
			ud_vector[USER_CALLS] == VEC_UD &&
			ud_cpl[USER_CALLS] == 0 &&
			ud_vector[USER_CALLS + 1] == VEC_UD &&
			ud_cpl[USER_CALLS + 1] == 0,
		    "natively CPL 0 vmcall and vmmcall raise #UD");
}

void guest_main(const struct multiboot_info *mbi)
{
	(void)mbi;
	user_stack_top = (u32)(uintptr_t)&user_stack[sizeof(user_stack)];
	load_gdt_and_tss();
	open_syscall_gate();
	trap_set_handler(VEC_UD, on_ud);
	trap_set_handler(SYSCALL_VEC, on_syscall);
	guest_printf("hcuser: to CPL 3 for vmcall and vmmcall\n");
	enter_user();
	guest_printf("hcuser: back at CPL 0\n");
	check_ring3();
	check_ring0();
	guest_finish();
}
