/* SPDX-License-Identifier: MIT */
/*
 * The AMD-V backend: the VMRUN consistency checks of APM Vol. 2 15.5.1 that
 * Veneer's own writes can break, on one VMCB. run() (svm_vmcb.c) applies
 * them before a VMRUN after Veneer wrote the VMCB; the exit decoder
 * (svm_exit.c) names the broken rule of a VMEXIT_INVALID. Reads the VMCB
 * and the probed capabilities only.
 */
#include "arch/x86/svm/svm_internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

/* Every byte a memory type: 0, 1, 4, 5, 6 or 7 (not 2, 3 or above 7). */
static bool svm_pat_valid(u64 pat)
{
	const u64 low = 0x0101010101010101ull;

	if (pat & (0xf8 * low))
		return false;
	/* Types 2 and 3: bit 1 set and bit 2 clear. */
	return !((pat >> 1) & ~(pat >> 2) & low);
}

/* EVENTINJ: no exception with vector 2 or 32-255, no unknown type (15.20). */
static bool svm_event_valid(u64 event)
{
	u64 type = event & SVM_EVENT_TYPE_MASK;
	u8 vector = event & SVM_EVENT_VECTOR_MASK;

	if (!(event & SVM_EVENT_VALID))
		return true;
	if (type == SVM_EVENT_TYPE_EXCEPTION)
		return vector != X86_VECTOR_NMI &&
		       vector < X86_FIRST_INTERRUPT_VECTOR;
	return type == SVM_EVENT_TYPE_INTR || type == SVM_EVENT_TYPE_NMI ||
	       type == SVM_EVENT_TYPE_SOFT_INT;
}

static bool svm_range_below_maxphys(u64 pa, u64 size)
{
	u32 bits = svm_caps.phys_addr_bits;

	return bits >= 64 || pa + size <= (1ull << bits);
}

/*
 * Checked before a VMRUN after Veneer wrote the VMCB, so that a bad state is
 * named the same way on QEMU, Bochs and hardware instead of ending as a
 * bare VMEXIT_INVALID.
 */
const char *svm_vmcb_violation(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;
	const struct vmcb_control *c = &vmcb->control;
	bool long_paging = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);
	const u64 efer_reserved = 0xffffffff00000000ull | BIT(9) | 0xfeull;

	if (!(s->efer & EFER_SVME))
		return "EFER.SVME is clear in the guest EFER";
	if (!(s->cr0 & CR0_CD) && (s->cr0 & CR0_NW))
		return "CR0.NW is set while CR0.CD is clear";
	if (s->cr0 >> 32)
		return "CR0 bits 63:32 are not zero";
	if (s->cr4 >> 32)
		return "CR4 bits 63:32 are not zero";
	if (s->dr6 >> 32)
		return "DR6 bits 63:32 are not zero";
	if (s->dr7 >> 32)
		return "DR7 bits 63:32 are not zero";
	if (s->efer & efer_reserved)
		return "a reserved EFER bit is set";
	if (long_paging && !(s->cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG are set but CR4.PAE is clear";
	if (long_paging && !(s->cr0 & CR0_PE))
		return "EFER.LME and CR0.PG are set but CR0.PE is clear";
	if (long_paging && (s->cr4 & CR4_PAE) && (s->cs.attrib & VMCB_ATTR_L) &&
	    (s->cs.attrib & VMCB_ATTR_DB))
		return "long mode with both CS.L and CS.D set";
	if (long_paging && (s->cr3 >> 52))
		return "CR3 bits 63:52 are set in long mode";
	if (!(c->intercept_misc2 & SVM_INTERCEPT2_VMRUN))
		return "the VMRUN intercept is clear";
	if (c->guest_asid == 0)
		return "the guest ASID is 0 (the host's)";
	if (!svm_event_valid(c->event_inject))
		return "EVENTINJ holds an illegal event type or vector";
	if (!svm_range_below_maxphys(c->iopm_base_pa,
				     SVM_IOPM_PAGES * PAGE_SIZE) ||
	    !svm_range_below_maxphys(c->msrpm_base_pa,
				     SVM_MSRPM_PAGES * PAGE_SIZE))
		return "the IOPM or MSRPM reaches beyond the physical address "
		       "width";
	if ((c->np_control & SVM_NP_ENABLE) && !svm_pat_valid(s->g_pat))
		return "G_PAT holds a reserved memory type";
	if ((c->np_control & SVM_NP_ENABLE) && c->n_cr3 == 0)
		return "N_CR3 is 0: the VM has no nested page table (Veneer "
		       "check)";
	return NULL;
}
