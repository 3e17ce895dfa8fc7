/* SPDX-License-Identifier: MIT */
/*
 * The one C signature of both VM entry stubs (arch/x86/vmx/vmx_entry.S and
 * arch/x86/svm/svm_entry.S). The guest register frame they load and store
 * is struct guest_gprs (core/vcpu.h); the offsets they use come from the
 * generated asm-offsets.h (arch/x86/asm-offsets.c), never from hand.
 */
#ifndef VENEER_ARCH_X86_ENTRY_H
#define VENEER_ARCH_X86_ENTRY_H

#include "core/lib/types.h"

struct guest_gprs;

/*
 * Load the guest GPRs from *gprs (the ones the VMCS / VMCB does not hold),
 * enter the guest with the two vendor arguments, and at the next exit store
 * them back into *gprs and return 0; a nonzero result is a vendor code for
 * an entry that did not happen (see the stub's header).
 */
typedef int vcpu_enter_fn(struct guest_gprs *gprs, u64 arg0, u64 arg1);

/* VT-x: arg0 = nonzero for VMRESUME (else VMLAUNCH), arg1 unused. */
vcpu_enter_fn vmx_enter;
/* AMD-V: arg0 = the guest VMCB, arg1 = the host save VMCB (physical). */
vcpu_enter_fn svm_enter;

#endif /* VENEER_ARCH_X86_ENTRY_H */
