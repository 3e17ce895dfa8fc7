/* SPDX-License-Identifier: MIT */
/*
 * The VT-x backend, middle floor: VM exits decoded from the VMCS exit
 * information (SDM Vol. 3C chapter 28) into struct exit_event, the names
 * of the basic exit reasons (Vol. 3D appendix C), and the diagnosis of a
 * VM entry that failed (27.3.1, 31.4). Vendor code decodes, core decides:
 * nothing here changes guest state except the re-injection of an event
 * the exit cut short. Calls nothing above it (vmx_vmcs.c). Design notes:
 * docs/vmx.md.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx_entry.h"
#include "arch/x86/vmx/vmx_internal.h"
#include "core/exit.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* Used here (diagnose_guest_state) and by vmx_dump (vmx_vmcs.c). */
const char *const vmx_segment_names[VMX_SEG_COUNT] = {
    "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR",
};

static const char *const exit_reason_names[VMX_EXIT_REASON_COUNT] = {
    [VMX_EXIT_EXCEPTION_NMI] = "exception or NMI",
    [VMX_EXIT_EXTERNAL_INTR] = "external interrupt",
    [VMX_EXIT_TRIPLE_FAULT] = "triple fault",
    [VMX_EXIT_INIT] = "INIT signal",
    [VMX_EXIT_SIPI] = "start-up IPI",
    [VMX_EXIT_IO_SMI] = "I/O SMI",
    [VMX_EXIT_OTHER_SMI] = "other SMI",
    [VMX_EXIT_INTR_WINDOW] = "interrupt window",
    [VMX_EXIT_NMI_WINDOW] = "NMI window",
    [VMX_EXIT_TASK_SWITCH] = "task switch",
    [VMX_EXIT_CPUID] = "CPUID",
    [VMX_EXIT_GETSEC] = "GETSEC",
    [VMX_EXIT_HLT] = "HLT",
    [VMX_EXIT_INVD] = "INVD",
    [VMX_EXIT_INVLPG] = "INVLPG",
    [VMX_EXIT_RDPMC] = "RDPMC",
    [VMX_EXIT_RDTSC] = "RDTSC",
    [VMX_EXIT_RSM] = "RSM",
    [VMX_EXIT_VMCALL] = "VMCALL",
    [VMX_EXIT_VMCLEAR] = "VMCLEAR",
    [VMX_EXIT_VMLAUNCH] = "VMLAUNCH",
    [VMX_EXIT_VMPTRLD] = "VMPTRLD",
    [VMX_EXIT_VMPTRST] = "VMPTRST",
    [VMX_EXIT_VMREAD] = "VMREAD",
    [VMX_EXIT_VMRESUME] = "VMRESUME",
    [VMX_EXIT_VMWRITE] = "VMWRITE",
    [VMX_EXIT_VMXOFF] = "VMXOFF",
    [VMX_EXIT_VMXON] = "VMXON",
    [VMX_EXIT_CR_ACCESS] = "control-register access",
    [VMX_EXIT_DR_ACCESS] = "debug-register access",
    [VMX_EXIT_IO] = "I/O instruction",
    [VMX_EXIT_RDMSR] = "RDMSR",
    [VMX_EXIT_WRMSR] = "WRMSR",
    [VMX_EXIT_INVALID_GUEST_STATE] = "VM-entry failure: invalid guest state",
    [VMX_EXIT_MSR_LOADING] = "VM-entry failure: MSR loading",
    [VMX_EXIT_MWAIT] = "MWAIT",
    [VMX_EXIT_MTF] = "monitor trap flag",
    [VMX_EXIT_MONITOR] = "MONITOR",
    [VMX_EXIT_PAUSE] = "PAUSE",
    [VMX_EXIT_MACHINE_CHECK] = "VM-entry failure: machine check",
    [VMX_EXIT_TPR_THRESHOLD] = "TPR below threshold",
    [VMX_EXIT_APIC_ACCESS] = "APIC access",
    [VMX_EXIT_VIRTUALIZED_EOI] = "virtualized EOI",
    [VMX_EXIT_GDTR_IDTR] = "GDTR/IDTR access",
    [VMX_EXIT_LDTR_TR] = "LDTR/TR access",
    [VMX_EXIT_EPT_VIOLATION] = "EPT violation",
    [VMX_EXIT_EPT_MISCONFIG] = "EPT misconfiguration (host EPT bug)",
    [VMX_EXIT_INVEPT] = "INVEPT",
    [VMX_EXIT_RDTSCP] = "RDTSCP",
    [VMX_EXIT_PREEMPTION_TIMER] = "VMX-preemption timer expired",
    [VMX_EXIT_INVVPID] = "INVVPID",
    [VMX_EXIT_WBINVD] = "WBINVD",
    [VMX_EXIT_XSETBV] = "XSETBV",
    [VMX_EXIT_APIC_WRITE] = "APIC write",
    [VMX_EXIT_RDRAND] = "RDRAND",
    [VMX_EXIT_INVPCID] = "INVPCID",
    [VMX_EXIT_VMFUNC] = "VMFUNC",
    [VMX_EXIT_ENCLS] = "ENCLS",
    [VMX_EXIT_RDSEED] = "RDSEED",
    [VMX_EXIT_PML_FULL] = "page-modification log full",
    [VMX_EXIT_XSAVES] = "XSAVES",
    [VMX_EXIT_XRSTORS] = "XRSTORS",
};

static const char *exit_reason_name(u32 basic)
{
	if (basic < VMX_EXIT_REASON_COUNT && exit_reason_names[basic])
		return exit_reason_names[basic];
	return "unknown VMX exit reason";
}

/*
 * An exit core may not handle, or seldom sees: every field 0 but the ones
 * its decoder sets, and the reason's name for core's message. The common
 * exits skip both (vmx_decode_exit).
 */
static void decode_named(struct exit_event *ev, u32 basic)
{
	*ev = (struct exit_event){.vendor_reason = basic,
				  .vendor_name = exit_reason_name(basic)};
}

void vmx_entry_failed(struct exit_event *ev, int rc)
{
	ev->kind = EXIT_ENTRY_FAILED;
	if (rc == VMX_ENTER_FAIL_INVALID) {
		ev->fail.what = "VMLAUNCH/VMRESUME: no valid current VMCS";
		return;
	}
	u32 error = vmx_instruction_error();
	ev->fail.vm_instruction_error = error;
	/* SDM Vol. 3C 31.4, Table 31-1. */
	switch (error) {
	case 4:
		ev->fail.what = "VMLAUNCH with a non-clear VMCS";
		break;
	case 5:
		ev->fail.what = "VMRESUME with a non-launched VMCS";
		break;
	case 7:
		ev->fail.what = "VM entry with invalid control fields";
		break;
	case 8:
		ev->fail.what = "VM entry with invalid host-state fields";
		break;
	case 26:
		ev->fail.what = "VM entry with events blocked by MOV SS";
		break;
	default:
		ev->fail.what = "VMLAUNCH/VMRESUME failed (VMfailValid)";
		break;
	}
}

/*
 * An exit for a fault in an IRET that had already unblocked NMIs (the
 * "NMI unblocking due to IRET" bit, 28.2.2 / Table 28-7) leaves them
 * unblocked; the IRET runs again on re-entry, so the blocking is set again
 * (28.3.4, the SDM's advice to a VMM that resumes the guest). Only without
 * an event being delivered: then the bit is undefined.
 */
static void restore_nmi_blocking(bool unblocked_by_iret)
{
	if (!unblocked_by_iret || !vmx_caps.has_nmi_window ||
	    (vmcs_read(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		return;
	vmcs_write(VMCS_GUEST_INTERRUPTIBILITY,
		   vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) |
		       INTERRUPTIBILITY_NMI);
}

/*
 * SDM Vol. 3C 28.2.2: exit interruption information. A host NMI is
 * EXIT_NMI; an intercepted guest exception goes to core as it is. The
 * exception bitmap holds #UD only (vmx_vmcs.c): core checks whether it
 * was VMMCALL (a hypercall) and gives the guest a real #UD otherwise. The
 * instruction length is not reported for hardware exceptions (28.2.5).
 */
static void decode_exception(struct exit_event *ev)
{
	u32 info = (u32)vmcs_read(VMCS_EXIT_INTR_INFO);
	u32 type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
	u8 vector = info & INTR_INFO_VECTOR_MASK;

	if (type == INTR_TYPE_NMI) {
		ev->kind = EXIT_NMI;
		return;
	}
	restore_nmi_blocking(info & INTR_INFO_NMI_UNBLOCKING);
	ev->kind = EXIT_EXCEPTION;
	ev->exc.vector = vector;
	ev->exc.has_error_code = info & INTR_INFO_ERROR_CODE;
	ev->exc.error_code =
	    ev->exc.has_error_code ? (u32)vmcs_read(VMCS_EXIT_INTR_ERROR) : 0;
	/* 28.2.1: the qualification of a #PF is CR2. */
	ev->exc.cr2 =
	    vector == X86_VECTOR_PF ? vmcs_read(VMCS_EXIT_QUALIFICATION) : 0;
}

/* SDM Vol. 3C 28.2.1, Table 28-5; instruction info: 28.2.5. */
static void decode_io(struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);

	ev->kind = EXIT_IO;
	ev->io.size = (u8)((q & 7) + 1);
	ev->io.in = q & BIT(3);
	ev->io.string = q & BIT(4);
	ev->io.rep = q & BIT(5);
	ev->io.port = (u16)(q >> 16);
	ev->io.segment = 3; /* DS */
	if (!ev->io.string)
		return;
	if (vmx_caps.basic & VMX_BASIC_INS_OUTS_INFO) {
		u32 info = (u32)vmcs_read(VMCS_EXIT_INSN_INFO);
		ev->io.address_size = (u8)(2u << ((info >> 7) & 7));
		ev->io.segment = (u8)((info >> 15) & 7);
		return;
	}
	/*
	 * Without the information field (SDM Vol. 3C A.1, IA32_VMX_BASIC
	 * bit 54) the exit names neither the address size nor the segment:
	 * core decodes both from the instruction's prefixes.
	 */
	ev->io.address_size = IO_ADDRESS_SIZE_UNKNOWN;
	ev->io.segment = ev->io.in ? 0 /* ES, always */ : IO_SEGMENT_UNKNOWN;
}

/*
 * Control-register accesses (SDM Vol. 3C 28.2.1, Table 28-3). With EPT
 * and the CR3 controls cleared, the ones that exit are MOV to CR0 / CR4
 * that would change a bit the host owns (the VMX fixed bits, 26.1.3) and
 * the CR8 accesses a CPU may force. All go to core as EXIT_CR_ACCESS:
 * core checks the value (vcpu_caps.cr4_allowed) and writes it through
 * vcpu_write(), or injects #GP. CLTS and LMSW touch no owned bit.
 */
static void decode_cr_access(struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
	u32 access = (q >> 4) & 3; /* 0 MOV to, 1 MOV from, 2 CLTS, 3 LMSW */

	if (access > 1) {
		ev->kind = EXIT_UNKNOWN;
		ev->vendor_name = access == 2 ? "CLTS exit" : "LMSW exit";
		return;
	}
	ev->kind = EXIT_CR_ACCESS;
	ev->cr.cr = (u8)(q & 0xf);
	ev->cr.write = access == 0;
	ev->cr.gpr = (u8)((q >> 8) & 0xf);
}

/* SDM Vol. 3C 28.2.1, Table 28-7. */
static void decode_ept_violation(struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);

	restore_nmi_blocking(q & EPT_QUAL_NMI_UNBLOCKING);
	ev->kind = EXIT_GPA_FAULT;
	ev->gpa_fault.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
	ev->gpa_fault.read = q & BIT(0);
	ev->gpa_fault.write = q & BIT(1);
	ev->gpa_fault.exec = q & BIT(2);
	ev->gpa_fault.present = q & (BIT(3) | BIT(4) | BIT(5));
	ev->gpa_fault.gla_valid = q & BIT(7);
	if (ev->gpa_fault.gla_valid)
		ev->gpa_fault.gla = vmcs_read(VMCS_GUEST_LINEAR_ADDRESS);
}

/*
 * A task switch (SDM Vol. 3C 28.2.1, Table 28-2): the new TSS selector and
 * what started it. Through a task gate in the IDT, the IDT-vectoring
 * information holds the event (28.2.4); the task switch is its delivery,
 * so it is not re-injected (core emulates the switch, core/taskswitch.c).
 * insn_len is that of the instruction when one started it: CALL, JMP,
 * IRET, and INT n / INT3 / INTO / INT1 through a task gate (28.2.5);
 * 0 for an exception, interrupt or NMI. An NMI is vector 2 with insn_len
 * 0 (INT 2 has a length; no exception has vector 2).
 */
static void decode_task_switch(struct exit_event *ev)
{
	u64 q = vmcs_read(VMCS_EXIT_QUALIFICATION);
	u32 source = (u32)(q >> TASK_SWITCH_QUAL_SOURCE_SHIFT) &
		     TASK_SWITCH_QUAL_SOURCE_MASK;
	u32 idt = (u32)vmcs_read(VMCS_IDT_VECTORING_INFO);
	bool from_insn = source != TASK_SWITCH_SOURCE_TASK_GATE;

	ev->kind = EXIT_TASK_SWITCH;
	ev->task_switch.selector = (u16)(q & TASK_SWITCH_QUAL_SELECTOR_MASK);
	switch (source) {
	case TASK_SWITCH_SOURCE_CALL:
		ev->task_switch.source = TASK_SWITCH_CALL;
		break;
	case TASK_SWITCH_SOURCE_IRET:
		ev->task_switch.source = TASK_SWITCH_IRET;
		break;
	case TASK_SWITCH_SOURCE_JMP:
		ev->task_switch.source = TASK_SWITCH_JMP;
		break;
	default:
		ev->task_switch.source = TASK_SWITCH_GATE;
		break;
	}
	if (source == TASK_SWITCH_SOURCE_TASK_GATE && (idt & INTR_INFO_VALID)) {
		u32 type = (idt & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;

		ev->task_switch.idt_vectoring = true;
		ev->task_switch.vector = idt & INTR_INFO_VECTOR_MASK;
		ev->task_switch.has_error_code = idt & INTR_INFO_ERROR_CODE;
		if (ev->task_switch.has_error_code)
			ev->task_switch.error_code =
			    (u32)vmcs_read(VMCS_IDT_VECTORING_ERROR);
		from_insn = type == INTR_TYPE_SW_INTERRUPT ||
			    type == INTR_TYPE_PRIV_SW_EXCEPTION ||
			    type == INTR_TYPE_SW_EXCEPTION;
	}
	ev->insn_len = from_insn ? (u32)vmcs_read(VMCS_EXIT_INSN_LEN) : 0;
}

static const char *diagnose_guest_state(struct vmx_vcpu *v);

static void decode_entry_failure(struct vmx_vcpu *v, u32 basic,
				 struct exit_event *ev)
{
	ev->kind = EXIT_ENTRY_FAILED;
	switch (basic) {
	case VMX_EXIT_INVALID_GUEST_STATE:
		ev->fail.what = diagnose_guest_state(v);
		break;
	case VMX_EXIT_MSR_LOADING:
		/* SDM 27.8: the qualification is the failing entry's index. */
		ev->fail.field = vmcs_read(VMCS_EXIT_QUALIFICATION);
		ev->fail.what = "VM entry failed loading an MSR";
		break;
	default:
		ev->fail.what = "VM entry failed with a machine check";
		break;
	}
}

/* The exits caused by one instruction (28.2.5: length reported). */
static bool decode_instruction_exit(struct vcpu *vcpu, u32 basic,
				    struct exit_event *ev)
{
	switch (basic) {
	case VMX_EXIT_CPUID:
		ev->kind = EXIT_CPUID;
		break;
	case VMX_EXIT_HLT:
		ev->kind = EXIT_HLT;
		break;
	case VMX_EXIT_PAUSE: /* PAUSE exiting or pause-loop exiting */
		ev->kind = EXIT_PAUSE;
		break;
	case VMX_EXIT_IO:
		decode_io(ev);
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		ev->kind =
		    basic == VMX_EXIT_RDMSR ? EXIT_MSR_READ : EXIT_MSR_WRITE;
		ev->msr.index = (u32)vcpu->regs.gpr[GPR_RCX];
		break;
	case VMX_EXIT_VMCALL:
		ev->kind = EXIT_HYPERCALL;
		break;
	case VMX_EXIT_XSETBV:
		ev->kind = EXIT_XSETBV;
		break;
	/*
	 * INVD exits always (SDM Vol. 3C 26.1.2); MONITOR and MWAIT because
	 * their exiting controls are on (26.1.3, vmx.c). At CPL > 0 the CPU
	 * raises their #GP / #UD itself and never exits (26.1.1).
	 */
	case VMX_EXIT_INVD:
	case VMX_EXIT_MONITOR:
	case VMX_EXIT_MWAIT:
		decode_named(ev, basic);
		ev->kind = EXIT_CPU_INSN;
		ev->cpu_insn = basic == VMX_EXIT_INVD	   ? CPU_INSN_INVD
			       : basic == VMX_EXIT_MONITOR ? CPU_INSN_MONITOR
							   : CPU_INSN_MWAIT;
		break;
	case VMX_EXIT_CR_ACCESS:
		decode_named(ev, basic);
		decode_cr_access(ev);
		break;
	case VMX_EXIT_VMCLEAR:
	case VMX_EXIT_VMLAUNCH:
	case VMX_EXIT_VMPTRLD:
	case VMX_EXIT_VMPTRST:
	case VMX_EXIT_VMREAD:
	case VMX_EXIT_VMRESUME:
	case VMX_EXIT_VMWRITE:
	case VMX_EXIT_VMXOFF:
	case VMX_EXIT_VMXON:
	case VMX_EXIT_INVEPT:
	case VMX_EXIT_INVVPID:
	case VMX_EXIT_VMFUNC:
		decode_named(ev, basic);
		ev->kind = EXIT_INVALID_INSN;
		break;
	default:
		decode_named(ev, basic);
		ev->kind = EXIT_UNKNOWN;
		break;
	}
	ev->insn_len = (u32)vmcs_read(VMCS_EXIT_INSN_LEN);
	return true;
}

bool vmx_decode_exit(struct vcpu *vcpu, struct vmx_vcpu *v,
		     struct exit_event *ev)
{
	u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
	u32 basic = reason & EXIT_REASON_BASIC_MASK;

	/* Named below only where core may not handle the exit. */
	ev->vendor_reason = basic;
	ev->vendor_name = NULL;
	ev->insn_len = 0;
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		decode_named(ev, basic);
		decode_entry_failure(v, basic, ev);
		return true;
	}
	/* Its IDT-vectoring event is the task switch itself. */
	if (basic == VMX_EXIT_TASK_SWITCH) {
		decode_named(ev, basic);
		decode_task_switch(ev);
		return true;
	}
	vmx_reinject_interrupted_event(v);

	switch (basic) {
	case VMX_EXIT_EXCEPTION_NMI:
		ev->vendor_name = exit_reason_name(basic);
		decode_exception(ev);
		return true;
	case VMX_EXIT_EXTERNAL_INTR:
		/*
		 * Without "acknowledge interrupt on exit" the LAPIC still
		 * holds the interrupt (SDM Vol. 3C 25.7.1, 28.2.2): the host
		 * takes it now (its handler acknowledges it), or its IRR bit
		 * would stay set and swallow the next one of that vector (a
		 * kick from the operator shell, arch/x86/smp.c). STI's
		 * shadow covers the NOP; the interrupt comes before CLI.
		 */
		sti();
		__asm__ volatile("nop");
		cli();
		ev->kind = EXIT_EXTERNAL_INTR;
		return true;
	case VMX_EXIT_TRIPLE_FAULT:
		decode_named(ev, basic);
		ev->kind = EXIT_TRIPLE_FAULT;
		return true;
	case VMX_EXIT_INIT:
		decode_named(ev, basic);
		ev->kind = EXIT_INIT;
		return true;
	case VMX_EXIT_SIPI:
		decode_named(ev, basic);
		ev->kind = EXIT_SIPI;
		ev->sipi_vector = (u8)vmcs_read(VMCS_EXIT_QUALIFICATION);
		return true;
	case VMX_EXIT_INTR_WINDOW:
		/* Opened for a queued event only: deliver it and go on. */
		if (!v->core_wants_window &&
		    !(v->core_wants_nmi_window && !vmx_caps.has_nmi_window))
			return false;
		ev->kind =
		    v->core_wants_window ? EXIT_INTR_WINDOW : EXIT_NMI_WINDOW;
		return true;
	case VMX_EXIT_NMI_WINDOW:
		/* Likewise for a queued NMI (or an event behind a #DB). */
		if (!v->core_wants_nmi_window)
			return false;
		ev->kind = EXIT_NMI_WINDOW;
		return true;
	case VMX_EXIT_PREEMPTION_TIMER:
		ev->kind = EXIT_PREEMPT_TIMER;
		return true;
	case VMX_EXIT_VIRTUALIZED_EOI:
		/* Trap-like, after the EOI's virtualization (30.1.4): the
		 * qualification's bits 7:0 are the vector (Table 28-10). */
		ev->kind = EXIT_APIC_EOI;
		ev->eoi_vector = (u8)vmcs_read(VMCS_EXIT_QUALIFICATION);
		return true;
	case VMX_EXIT_EPT_VIOLATION:
		decode_ept_violation(ev);
		return true;
	case VMX_EXIT_EPT_MISCONFIG:
		decode_named(ev, basic);
		ev->kind = EXIT_UNKNOWN;
		ev->gpa_fault.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDRESS);
		printk("vmx: VM %s: EPT misconfiguration at guest-physical "
		       "%#llx: the host built a bad EPT entry\n",
		       vcpu->vm->name, (unsigned long long)ev->gpa_fault.gpa);
		return true;
	default:
		return decode_instruction_exit(vcpu, basic, ev);
	}
}

/*
 * The checks on the guest-state area that Veneer's own state can break
 * (SDM Vol. 3C 27.3.1), in the order the manual lists them. The CPU does
 * not say which check failed; this names the first one that does. A text
 * with numbers in it is built in the vCPU's own buffer.
 */
static const char *diagnose_guest_state(struct vmx_vcpu *v)
{
	u64 cr0 = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
	u64 efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	u64 rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	u32 entry = (u32)vmcs_read(VMCS_ENTRY_CONTROLS);
	bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
	u64 cr0_fixed0 = vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG);

	if ((cr0 & cr0_fixed0) != cr0_fixed0 || (cr0 & ~vmx_caps.cr0_fixed1))
		return "invalid guest state: CR0 violates "
		       "IA32_VMX_CR0_FIXED0/1";
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		return "invalid guest state: CR0.PG=1 with CR0.PE=0";
	if ((cr4 & vmx_caps.cr4_fixed0) != vmx_caps.cr4_fixed0 ||
	    (cr4 & ~vmx_caps.cr4_fixed1))
		return "invalid guest state: CR4 violates "
		       "IA32_VMX_CR4_FIXED0/1";
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return "invalid guest state: IA-32e mode guest without CR0.PG "
		       "and CR4.PAE";
	if (!ia32e && (cr4 & CR4_PCIDE))
		return "invalid guest state: CR4.PCIDE outside IA-32e mode";
	if (!!(efer & EFER_LMA) != ia32e ||
	    ((cr0 & CR0_PG) && !!(efer & EFER_LME) != !!(efer & EFER_LMA)))
		return "invalid guest state: EFER.LMA/LME disagree with the "
		       "IA-32e mode control or CR0.PG";
	if (vmcs_read(VMCS_GUEST_DR7) >> 32)
		return "invalid guest state: DR7 bits 63:32 set";
	if (!(rflags & RFLAGS_FIXED) || (rflags >> 22) ||
	    (rflags & (BIT(3) | BIT(5) | BIT(15))))
		return "invalid guest state: RFLAGS reserved bits";
	if ((rflags & RFLAGS_VM) && ia32e)
		return "invalid guest state: RFLAGS.VM in IA-32e mode";

	u32 cs_ar = (u32)vmcs_read(VMCS_GUEST_CS_AR);
	u32 ss_ar = (u32)vmcs_read(VMCS_GUEST_SS_AR);
	u32 tr_ar = (u32)vmcs_read(VMCS_GUEST_TR_AR);
	u32 ldtr_ar = (u32)vmcs_read(VMCS_GUEST_LDTR_AR);
	if (cs_ar & AR_UNUSABLE || !(cs_ar & AR_P) || !(cs_ar & AR_S) ||
	    !(cs_ar & 0x8 || (cs_ar & AR_TYPE_MASK) == 3))
		return "invalid guest state: CS access rights (must be a "
		       "present code segment, or type 3 in real mode)";
	if (ia32e && (cs_ar & AR_L) && (cs_ar & AR_DB))
		return "invalid guest state: CS.L and CS.D both set";
	if (!(ss_ar & AR_UNUSABLE) &&
	    ((ss_ar & AR_TYPE_MASK) != 3 && (ss_ar & AR_TYPE_MASK) != 7))
		return "invalid guest state: SS type must be 3 or 7";
	if (!(cr0 & CR0_PE) && ((ss_ar >> AR_DPL_SHIFT) & 3))
		return "invalid guest state: SS.DPL must be 0 in real mode";
	if (tr_ar & AR_UNUSABLE || !(tr_ar & AR_P) || (tr_ar & AR_S) ||
	    ((tr_ar & AR_TYPE_MASK) != 11 &&
	     (ia32e || (tr_ar & AR_TYPE_MASK) != 3)))
		return "invalid guest state: TR must be a present busy TSS";
	if (vmcs_read(VMCS_GUEST_TR_SELECTOR) & 4)
		return "invalid guest state: TR selector has TI set";
	if (!(ldtr_ar & AR_UNUSABLE) &&
	    ((ldtr_ar & AR_TYPE_MASK) != 2 || !(ldtr_ar & AR_P)))
		return "invalid guest state: LDTR must be unusable or an LDT";
	for (enum vmx_segment seg = VMX_SEG_ES; seg <= VMX_SEG_TR; seg++) {
		u32 ar = (u32)vmcs_read(VMCS_GUEST_ES_AR + 2 * seg);
		u32 limit = (u32)vmcs_read(VMCS_GUEST_ES_LIMIT + 2 * seg);
		if (ar & AR_UNUSABLE)
			continue;
		/* Limit and G must agree (27.3.1.2). */
		if (((limit & 0xfff) != 0xfff && (ar & AR_G)) ||
		    ((limit >> 20) && !(ar & AR_G))) {
			snformat(v->fail_text, sizeof(v->fail_text),
				 "invalid guest state: %s limit %#x does not "
				 "match its G bit",
				 vmx_segment_names[seg], limit);
			return v->fail_text;
		}
	}
	if (vmcs_read(VMCS_LINK_POINTER) != ~0ull)
		return "invalid guest state: VMCS link pointer is not ~0";
	if (vmcs_read(VMCS_GUEST_ACTIVITY_STATE) != ACTIVITY_ACTIVE)
		return "invalid guest state: activity state is not active";
	u32 blocking = (u32)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if ((blocking & INTERRUPTIBILITY_STI) &&
	    (blocking & INTERRUPTIBILITY_MOV_SS))
		return "invalid guest state: STI and MOV-SS blocking together";
	if ((blocking & INTERRUPTIBILITY_STI) && !(rflags & RFLAGS_IF))
		return "invalid guest state: STI blocking with RFLAGS.IF=0";
	u32 event = (u32)vmcs_read(VMCS_ENTRY_INTR_INFO);
	if ((event & INTR_INFO_VALID) &&
	    ((event & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) ==
		INTR_TYPE_EXTERNAL &&
	    (!(rflags & RFLAGS_IF) ||
	     (blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))))
		return "invalid guest state: external interrupt injected "
		       "while the guest blocks interrupts";
	return "invalid guest state (no check Veneer knows of failed; "
	       "see the VMCS dump)";
}
