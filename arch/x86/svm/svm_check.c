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
 * EFER bits an AMD64 CPU may define (APM Vol. 2 3.1.7): SCE, LME, LMA,
 * NXE, SVME, LMSLE, FFXSR, TCE, MCOMMIT, INTWB, UAIE, AIBRSE. The others
 * are MBZ on every CPU. (Guest writes reach EFER only through core's MSR
 * handler, which allows far fewer.)
 */
#define EFER_DEFINED                                                           \
	(BIT(0) | BIT(8) | BIT(10) | BIT(11) | BIT(12) | BIT(13) | BIT(14) |   \
	 BIT(15) | BIT(17) | BIT(18) | BIT(20) | BIT(21))

/* CR3 MBZ bits: above the physical address width in long mode (APM Vol. 2
 * 3.1.2, 5.3.2), above bit 31 in legacy mode (a 32-bit register). */
static bool svm_cr3_valid(u64 cr3, bool long_mode)
{
	u32 bits = svm_caps.phys_addr_bits;

	if (!long_mode)
		return !(cr3 >> 32);
	return bits >= 64 || !(cr3 >> (bits < 52 ? bits : 52));
}

/* The EVENTINJ rule (15.20): the one an event alone can break. */
const char *svm_event_violation(u64 event)
{
	return svm_event_valid(event)
		   ? NULL
		   : "EVENTINJ holds an illegal event type or vector";
}

/*
 * Every rule of APM Vol. 2 15.5.1 ("VMRUN", illegal guest state), in its
 * order, plus the EVENTINJ rules of 15.20, the nested-paging ones of
 * 15.25 and Veneer's own (N_CR3 not 0). Checked before a VMRUN after
 * Veneer wrote the VMCB, so that a bad state is named the same way on
 * QEMU, Bochs and hardware instead of ending as a bare VMEXIT_INVALID.
 * CR4's MBZ bits are taken as everything outside the bits Veneer offers
 * (vcpu_caps.cr4_allowed, from CPUID): core refuses the others with #GP,
 * so only Veneer itself could put one there.
 */
const char *svm_vmcb_violation(const struct vmcb *vmcb)
{
	const struct vmcb_save *s = &vmcb->save;
	const struct vmcb_control *c = &vmcb->control;
	bool long_paging = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);

	if (!(s->efer & EFER_SVME))
		return "EFER.SVME is clear in the guest EFER";
	if (!(s->cr0 & CR0_CD) && (s->cr0 & CR0_NW))
		return "CR0.NW is set while CR0.CD is clear";
	if (s->cr0 >> 32)
		return "CR0 bits 63:32 are not zero";
	if (!svm_cr3_valid(s->cr3, long_paging))
		return long_paging ? "CR3 has a bit set above the physical "
				     "address width in long mode"
				   : "CR3 bits 63:32 are not zero outside "
				     "long mode";
	if (s->cr4 & ~svm_caps.cr4_allowed)
		return "a reserved CR4 bit is set (or one Veneer does not "
		       "offer: vcpu_caps.cr4_allowed)";
	if (s->dr6 >> 32)
		return "DR6 bits 63:32 are not zero";
	if (s->dr7 >> 32)
		return "DR7 bits 63:32 are not zero";
	if (s->efer & ~(u64)EFER_DEFINED)
		return "a reserved EFER bit is set";
	if ((s->efer & (EFER_LMA | EFER_LME)) && !svm_caps.long_mode)
		return "EFER.LMA or EFER.LME is set but the CPU has no long "
		       "mode";
	if (long_paging && !(s->cr4 & CR4_PAE))
		return "EFER.LME and CR0.PG are set but CR4.PAE is clear";
	if (long_paging && !(s->cr0 & CR0_PE))
		return "EFER.LME and CR0.PG are set but CR0.PE is clear";
	if (long_paging && (s->cr4 & CR4_PAE) && (s->cs.attrib & VMCB_ATTR_L) &&
	    (s->cs.attrib & VMCB_ATTR_DB))
		return "long mode with both CS.L and CS.D set";
	if (!(c->intercept_misc2 & SVM_INTERCEPT2_VMRUN))
		return "the VMRUN intercept is clear";
	if (!svm_range_below_maxphys(c->iopm_base_pa,
				     SVM_IOPM_PAGES * PAGE_SIZE) ||
	    !svm_range_below_maxphys(c->msrpm_base_pa,
				     SVM_MSRPM_PAGES * PAGE_SIZE))
		return "the IOPM or MSRPM reaches beyond the physical address "
		       "width";
	if (!svm_event_valid(c->event_inject))
		return svm_event_violation(c->event_inject);
	if (c->guest_asid == 0)
		return "the guest ASID is 0 (the host's)";
	if ((c->np_control & SVM_NP_ENABLE) && !svm_has(SVM_FEATURE_NP))
		return "nested paging is enabled but the CPU has none";
	if ((c->np_control & SVM_NP_ENABLE) && !svm_pat_valid(s->g_pat))
		return "G_PAT holds a reserved memory type";
	if ((c->np_control & SVM_NP_ENABLE) && c->n_cr3 == 0)
		return "N_CR3 is 0: the VM has no nested page table (Veneer "
		       "check)";
	return NULL;
}
