/* SPDX-License-Identifier: MIT */
/*
 * Offsets the entry stubs (arch/x86/vmx/vmx_entry.S, arch/x86/svm/
 * svm_entry.S) use, generated from the C layout: the Makefile compiles this
 * file to assembly and turns each "->NAME value" marker into a #define in
 * $(BUILD)/gen/asm-offsets.h. Never linked into the image.
 */
#include "core/vcpu.h"

#define DEFINE(name, value)                                                    \
	__asm__ volatile("\n.ascii \"->" #name " %c0\"" ::"i"(value))
#define GPR(reg)                                                               \
	DEFINE(GPRS_##reg,                                                     \
	       __builtin_offsetof(struct guest_gprs, gpr[GPR_##reg]))

void asm_offsets(void);

void asm_offsets(void)
{
	GPR(RAX);
	GPR(RCX);
	GPR(RDX);
	GPR(RBX);
	GPR(RSP);
	GPR(RBP);
	GPR(RSI);
	GPR(RDI);
	GPR(R8);
	GPR(R9);
	GPR(R10);
	GPR(R11);
	GPR(R12);
	GPR(R13);
	GPR(R14);
	GPR(R15);
	DEFINE(GPRS_SIZE, sizeof(struct guest_gprs));
}
