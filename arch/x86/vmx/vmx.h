/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-x backend: the vcpu_ops table core/ binds at boot when CPUID
 * reports VMX (CPUID.1:ECX bit 5).  Everything else in arch/x86/vmx/ is
 * private to the backend.  Design notes: docs/vmx.md.
 */
#ifndef VENEER_ARCH_X86_VMX_VMX_H
#define VENEER_ARCH_X86_VMX_VMX_H

#include "core/vcpu.h"

extern const struct vcpu_ops vmx_ops;

#endif /* VENEER_ARCH_X86_VMX_VMX_H */
