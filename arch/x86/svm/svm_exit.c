/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V backend, middle floor: a #VMEXIT becomes one struct
 * exit_event, read out of the VMCB; and the VMCB dump (the dump hook, and
 * the message before the panic of a #MC).
 *
 * Vendor code decodes, common code decides: every exit is reported, none is
 * handled here (an intercepted #UD or #AC too: core decides whether a #UD
 * is a hypercall and re-injects the rest). Only a machine check is
 * host-fatal. Calls nothing above it (svm_vmcb.c). Exit codes: APM Vol. 2
 * appendix C; EXITINFO formats: 15.7+.
 */
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/cpu.h"
#include "core/vm.h"
#include "core/lib/printk.h"

/* Name of an SVM exit code (APM Vol. 2 appendix C), for messages. */
static const char *svm_exit_name(u64 code)
{
	static const char *const names[] = {
	    [SVM_EXIT_INTR] = "INTR",
	    [SVM_EXIT_NMI] = "NMI",
	    [SVM_EXIT_SMI] = "SMI",
	    [SVM_EXIT_INIT] = "INIT",
	    [SVM_EXIT_VINTR] = "VINTR",
	    [SVM_EXIT_CR0_SEL_WRITE] = "CR0_SEL_WRITE",
	    [SVM_EXIT_IDTR_READ] = "IDTR_READ",
	    [SVM_EXIT_GDTR_READ] = "GDTR_READ",
	    [SVM_EXIT_LDTR_READ] = "LDTR_READ",
	    [SVM_EXIT_TR_READ] = "TR_READ",
	    [SVM_EXIT_IDTR_WRITE] = "IDTR_WRITE",
	    [SVM_EXIT_GDTR_WRITE] = "GDTR_WRITE",
	    [SVM_EXIT_LDTR_WRITE] = "LDTR_WRITE",
	    [SVM_EXIT_TR_WRITE] = "TR_WRITE",
	    [SVM_EXIT_RDTSC] = "RDTSC",
	    [SVM_EXIT_RDPMC] = "RDPMC",
	    [SVM_EXIT_PUSHF] = "PUSHF",
	    [SVM_EXIT_POPF] = "POPF",
	    [SVM_EXIT_CPUID] = "CPUID",
	    [SVM_EXIT_RSM] = "RSM",
	    [SVM_EXIT_IRET] = "IRET",
	    [SVM_EXIT_SWINT] = "SWINT",
	    [SVM_EXIT_INVD] = "INVD",
	    [SVM_EXIT_PAUSE] = "PAUSE",
	    [SVM_EXIT_HLT] = "HLT",
	    [SVM_EXIT_INVLPG] = "INVLPG",
	    [SVM_EXIT_INVLPGA] = "INVLPGA",
	    [SVM_EXIT_IOIO] = "IOIO",
	    [SVM_EXIT_MSR] = "MSR",
	    [SVM_EXIT_TASK_SWITCH] = "TASK_SWITCH",
	    [SVM_EXIT_FERR_FREEZE] = "FERR_FREEZE",
	    [SVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	    [SVM_EXIT_VMRUN] = "VMRUN",
	    [SVM_EXIT_VMMCALL] = "VMMCALL",
	    [SVM_EXIT_VMLOAD] = "VMLOAD",
	    [SVM_EXIT_VMSAVE] = "VMSAVE",
	    [SVM_EXIT_STGI] = "STGI",
	    [SVM_EXIT_CLGI] = "CLGI",
	    [SVM_EXIT_SKINIT] = "SKINIT",
	    [SVM_EXIT_RDTSCP] = "RDTSCP",
	    [SVM_EXIT_ICEBP] = "ICEBP",
	    [SVM_EXIT_WBINVD] = "WBINVD",
	    [SVM_EXIT_MONITOR] = "MONITOR",
	    [SVM_EXIT_MWAIT] = "MWAIT",
	    [SVM_EXIT_MWAIT_CONDITIONAL] = "MWAIT_CONDITIONAL",
	    [SVM_EXIT_XSETBV] = "XSETBV",
	    [SVM_EXIT_RDPRU] = "RDPRU",
	    [SVM_EXIT_EFER_WRITE_TRAP] = "EFER_WRITE_TRAP",
	    [SVM_EXIT_INVLPGB] = "INVLPGB",
	    [SVM_EXIT_INVLPGB_ILLEGAL] = "INVLPGB_ILLEGAL",
	    [SVM_EXIT_INVPCID] = "INVPCID",
	    [SVM_EXIT_MCOMMIT] = "MCOMMIT",
	    [SVM_EXIT_TLBSYNC] = "TLBSYNC",
	};

	/* The common exits first: the table has no entry in the ranges
	 * named below. */
	if (code < ARRAY_SIZE(names) && names[code])
		return names[code];
	if ((u32)code == SVM_EXIT_INVALID_LOW32)
		return "INVALID";
	if (code < SVM_EXIT_DR0_READ)
		return code < SVM_EXIT_CR0_WRITE ? "CR_READ" : "CR_WRITE";
	if (code < SVM_EXIT_EXCEPTION_BASE)
		return code < SVM_EXIT_DR0_WRITE ? "DR_READ" : "DR_WRITE";
	if (code < SVM_EXIT_INTR)
		return "EXCEPTION";
	if (code >= SVM_EXIT_CR0_WRITE_TRAP && code < SVM_EXIT_INVLPGB)
		return "CR_WRITE_TRAP";
	switch (code) {
	case SVM_EXIT_NPF:
		return "NPF";
	case SVM_EXIT_AVIC_INCOMPLETE_IPI:
		return "AVIC_INCOMPLETE_IPI";
	case SVM_EXIT_AVIC_NOACCEL:
		return "AVIC_NOACCEL";
	case SVM_EXIT_VMGEXIT:
		return "VMGEXIT";
	}
	return "unknown";
}

/*
 * Length of the intercepted instruction from NRIP save (15.7.1), or 0:
 * without it the length is not known here (a CPUID may carry redundant
 * prefixes, 66 0F A2), and core decodes it from the bytes (core/prefix.h).
 */
static u32 svm_insn_len(const struct vmcb *vmcb)
{
	if (svm_has(SVM_FEATURE_NRIP_SAVE) && vmcb->control.next_rip)
		return (u32)(vmcb->control.next_rip - vmcb->save.rip);
	return 0;
}

/*
 * Address size of a string I/O instruction: EXITINFO1 bits 9:7 (15.10.2).
 * QEMU 7.2 leaves all three clear: then it is unknown here, and core
 * decodes the 0x67 prefix.
 */
static u8 svm_io_address_size(u64 info)
{
	if (info & SVM_IOIO_ADDR64)
		return 8;
	if (info & SVM_IOIO_ADDR32)
		return 4;
	if (info & SVM_IOIO_ADDR16)
		return 2;
	return IO_ADDRESS_SIZE_UNKNOWN;
}

static void svm_decode_io(const struct vmcb *vmcb, struct exit_event *ev)
{
	u64 info = vmcb->control.exit_info1;

	ev->kind = EXIT_IO;
	ev->io.port = (u16)(info >> SVM_IOIO_PORT_SHIFT);
	ev->io.in = info & SVM_IOIO_IN;
	ev->io.string = info & SVM_IOIO_STRING;
	ev->io.rep = info & SVM_IOIO_REP;
	ev->io.size = (info & SVM_IOIO_SIZE32)	 ? 4
		      : (info & SVM_IOIO_SIZE16) ? 2
						 : 1;
	ev->io.address_size = svm_io_address_size(info);
	/* The segment field is filled only with decode assists (15.10.2);
	 * without them core decodes the override. */
	ev->io.segment = svm_has(SVM_FEATURE_DECODE_ASSISTS)
			     ? (info >> SVM_IOIO_SEG_SHIFT) & 7
			     : IO_SEGMENT_UNKNOWN;
	/* EXITINFO2 is the RIP of the next instruction, always. */
	ev->insn_len = (u32)(vmcb->control.exit_info2 - vmcb->save.rip);
}

/*
 * MOV to CRn (15.9; only CR4 is intercepted: svm_vmcb.c). With decode
 * assists EXITINFO1 names the source register (15.35.1); without them
 * (QEMU's TCG) it holds nothing: gpr is then 0xff and the length 0 unless
 * NRIP save gives it, and core decodes MOV CRn, reg (0F 22 /r) from the
 * instruction bytes.
 */
static void svm_decode_cr_write(const struct vmcb *vmcb, u64 code,
				struct exit_event *ev)
{
	u64 info = vmcb->control.exit_info1;

	ev->kind = EXIT_CR_ACCESS;
	ev->cr.cr = (u8)(code - SVM_EXIT_CR0_WRITE);
	ev->cr.write = true;
	ev->cr.gpr =
	    svm_has(SVM_FEATURE_DECODE_ASSISTS) && (info & SVM_CR_INFO_MOV)
		? (u8)(info & SVM_CR_INFO_GPR_MASK)
		: SVM_CR_GPR_UNKNOWN;
	ev->insn_len = svm_insn_len(vmcb);
}

/* Nested page fault (15.25.6): EXITINFO1 error code, EXITINFO2 the GPA. */
static void svm_decode_npf(const struct vmcb *vmcb, struct exit_event *ev)
{
	u64 code = vmcb->control.exit_info1;

	ev->kind = EXIT_GPA_FAULT;
	ev->gpa_fault.gpa = vmcb->control.exit_info2;
	ev->gpa_fault.gla_valid = false; /* AMD-V reports no linear address */
	ev->gpa_fault.present = code & SVM_NPF_PRESENT;
	ev->gpa_fault.write = code & SVM_NPF_WRITE;
	ev->gpa_fault.exec = code & SVM_NPF_FETCH;
	ev->gpa_fault.read = !ev->gpa_fault.write && !ev->gpa_fault.exec;
}

/*
 * An intercepted exception (15.12): EXITINFO1 holds its error code where
 * the vector has one, EXITINFO2 the faulting address of a #PF. #UD comes
 * with no error code, #AC with its (always 0) one; core decides about both.
 */
static void svm_decode_exception(struct vcpu *vcpu, const struct vmcb *vmcb,
				 u8 vector, struct exit_event *ev)
{
	if (vector == X86_VECTOR_MC) {
		svm_dump(vcpu);
		panic("svm: machine check while VM %s vCPU %u ran",
		      vcpu->vm->name, vcpu->index);
	}
	ev->kind = EXIT_EXCEPTION;
	ev->exc.vector = vector;
	ev->exc.has_error_code = exception_has_error_code(vector);
	if (ev->exc.has_error_code)
		ev->exc.error_code = (u32)vmcb->control.exit_info1;
	if (vector == X86_VECTOR_PF)
		ev->exc.cr2 = vmcb->control.exit_info2;
}

/*
 * The exits every guest makes all the time, first and without a name:
 * core needs the name only for an exit it does not handle (core/vcpu.c),
 * and each of these has a handler. Fills every field the kind uses; false
 * for any other exit.
 */
static bool svm_decode_common(struct vcpu *vcpu, const struct vmcb *vmcb,
			      u64 code, struct exit_event *ev)
{
	switch (code) {
	case SVM_EXIT_CPUID:
		ev->kind = EXIT_CPUID;
		ev->insn_len = svm_insn_len(vmcb);
		return true;
	case SVM_EXIT_IOIO:
		svm_decode_io(vmcb, ev);
		return true;
	case SVM_EXIT_MSR:
		/* EXITINFO1: 0 = RDMSR, 1 = WRMSR (15.11). */
		ev->kind =
		    vmcb->control.exit_info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		ev->msr.index = (u32)vcpu->regs.gpr[GPR_RCX];
		ev->insn_len = svm_insn_len(vmcb);
		return true;
	case SVM_EXIT_NPF:
		svm_decode_npf(vmcb, ev);
		return true;
	case SVM_EXIT_VMMCALL:
		ev->kind = EXIT_HYPERCALL;
		ev->insn_len = svm_insn_len(vmcb);
		return true;
	case SVM_EXIT_HLT:
		ev->kind = EXIT_HLT;
		ev->insn_len = svm_insn_len(vmcb);
		return true;
	case SVM_EXIT_PAUSE:
		ev->kind = EXIT_PAUSE;
		ev->insn_len = svm_insn_len(vmcb);
		return true;
	case SVM_EXIT_EXCEPTION_BASE + X86_VECTOR_UD:
		/* VMCALL, say: core decides (svm_decode_exception). */
		ev->kind = EXIT_EXCEPTION;
		ev->exc.vector = X86_VECTOR_UD;
		ev->exc.has_error_code = false;
		ev->exc.error_code = 0;
		ev->exc.cr2 = 0;
		return true;
	case SVM_EXIT_INTR:
		ev->kind = EXIT_EXTERNAL_INTR;
		return true;
	case SVM_EXIT_VINTR:
		/* The window core asked for is open (svm_vmcb.c). */
		ev->kind = EXIT_INTR_WINDOW;
		return true;
	default:
		return false;
	}
}

/* Every other exit: all fields 0 but the ones it sets, and named. */
static __attribute__((noinline)) void svm_decode_named(struct vcpu *vcpu,
						       const struct vmcb *vmcb,
						       u64 code,
						       struct exit_event *ev)
{
	*ev = (struct exit_event){.vendor_reason = code,
				  .vendor_name = svm_exit_name(code)};
	if ((u32)code == SVM_EXIT_INVALID_LOW32) {
		const char *rule = svm_vmcb_violation(vmcb);
		ev->kind = EXIT_ENTRY_FAILED;
		ev->fail.what = rule
				    ? rule
				    : "VMRUN rejected the VMCB, but no rule of "
				      "APM Vol. 2 15.5.1 that Veneer checks is "
				      "broken";
		return;
	}
	if (code >= SVM_EXIT_CR0_WRITE && code < SVM_EXIT_DR0_READ) {
		svm_decode_cr_write(vmcb, code, ev);
		return;
	}
	if (code >= SVM_EXIT_EXCEPTION_BASE && code < SVM_EXIT_INTR) {
		svm_decode_exception(vcpu, vmcb,
				     (u8)(code - SVM_EXIT_EXCEPTION_BASE), ev);
		return;
	}

	switch (code) {
	case SVM_EXIT_XSETBV:
		ev->kind = EXIT_XSETBV;
		ev->insn_len = svm_insn_len(vmcb);
		break;
	case SVM_EXIT_INVD:
		ev->kind = EXIT_CPU_INSN;
		ev->cpu_insn = CPU_INSN_INVD;
		ev->insn_len = svm_insn_len(vmcb);
		break;
	case SVM_EXIT_MONITOR: /* MONITOR or MONITORX */
		ev->kind = EXIT_CPU_INSN;
		ev->cpu_insn = CPU_INSN_MONITOR;
		ev->insn_len = svm_insn_len(vmcb);
		break;
	case SVM_EXIT_MWAIT: /* MWAIT or MWAITX */
		ev->kind = EXIT_CPU_INSN;
		ev->cpu_insn = CPU_INSN_MWAIT;
		ev->insn_len = svm_insn_len(vmcb);
		break;
	case SVM_EXIT_SHUTDOWN:
		ev->kind = EXIT_TRIPLE_FAULT;
		break;
	case SVM_EXIT_NMI:
		ev->kind = EXIT_NMI;
		break;
	case SVM_EXIT_INIT:
		ev->kind = EXIT_INIT;
		break;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		/* SVM is not offered to guests: core injects #UD. */
		ev->kind = EXIT_INVALID_INSN;
		break;
	default:
		ev->kind = EXIT_UNKNOWN;
		break;
	}
}

void svm_decode_exit(struct vcpu *vcpu, const struct vmcb *vmcb,
		     struct exit_event *ev)
{
	u64 code = vmcb->control.exit_code;

	ev->vendor_reason = code;
	ev->vendor_name = NULL;
	ev->insn_len = 0;
	if (!svm_decode_common(vcpu, vmcb, code, ev))
		svm_decode_named(vcpu, vmcb, code, ev);
}

/* ---- the VMCB dump, for messages ---- */

static void svm_dump_segment(const char *name, const struct vmcb_segment *s)
{
	printk("  %-4s sel %04x attr %03x limit %08x base %016lx\n", name,
	       s->selector, s->attrib, s->limit, s->base);
}

void svm_dump(struct vcpu *vcpu)
{
	const struct svm_vcpu *sv = svm_vcpu_of(vcpu);
	const struct vmcb_control *c = &sv->vmcb->control;
	const struct vmcb_save *s = &sv->vmcb->save;

	printk("svm: VMCB of VM %s vCPU %u at %#lx (ASID %u)\n", vcpu->vm->name,
	       vcpu->index, sv->vmcb_pa, c->guest_asid);
	printk("  exit %#lx (%s) info1 %#lx info2 %#lx exitintinfo %#lx\n",
	       c->exit_code, svm_exit_name(c->exit_code), c->exit_info1,
	       c->exit_info2, c->exit_int_info);
	printk("  eventinj %#lx held %#lx reinject %#lx v_intr %#lx "
	       "virq %#x next %#x int_state %#lx next_rip %#lx\n",
	       c->event_inject, sv->pending, sv->reinject, c->v_intr, sv->virq,
	       sv->virq_next, c->int_state, c->next_rip);
	printk("  nmi-blocked %u iret-seen %u step %u db-trap %u "
	       "intercept-cr-write "
	       "%#x exceptions %#x misc1 %#x\n",
	       sv->nmi_blocked, sv->iret_seen, sv->step, sv->db_trap,
	       c->intercept_cr_write, c->intercept_exceptions,
	       c->intercept_misc1);
	printk("  rip %016lx rsp %016lx rax %016lx rflags %08lx cpl %u\n",
	       s->rip, s->rsp, s->rax, s->rflags, s->cpl);
	printk("  cr0 %08lx cr2 %016lx cr3 %016lx cr4 %08lx efer %08lx\n",
	       s->cr0, s->cr2, s->cr3, s->cr4, s->efer);
	printk("  dr6 %08lx dr7 %08lx g_pat %016lx n_cr3 %#lx\n", s->dr6,
	       s->dr7, s->g_pat, c->n_cr3);
	svm_dump_segment("cs", &s->cs);
	svm_dump_segment("ss", &s->ss);
	svm_dump_segment("ds", &s->ds);
	svm_dump_segment("es", &s->es);
	svm_dump_segment("fs", &s->fs);
	svm_dump_segment("gs", &s->gs);
	svm_dump_segment("tr", &s->tr);
	svm_dump_segment("ldtr", &s->ldtr);
	svm_dump_segment("gdtr", &s->gdtr);
	svm_dump_segment("idtr", &s->idtr);
}
