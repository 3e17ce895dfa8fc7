/* SPDX-License-Identifier: MIT */
/*
 * The Veneer hypercall ABI, version 1.0 (docs/hypercall.md).
 *
 * Instruction: VMCALL (0F 01 C1) or VMMCALL (0F 01 D9); both work on both
 * vendors. RAX = call number; arguments in RBX, RCX, RDX, RSI; the result
 * in RAX (negative: an HC_E* error). Other registers are preserved.
 */
#ifndef VENEER_CORE_HYPERCALL_H
#define VENEER_CORE_HYPERCALL_H

#define HC_ABI_VERSION 0x00010000 /* major 1, minor 0 */

#define HC_VERSION	 0 /* -> HC_ABI_VERSION */
#define HC_CONSOLE_WRITE 1 /* RBX = gpa, RCX = length <= 4096 -> length */
#define HC_EXIT		 2 /* RBX = exit code; does not return */
#define HC_TIMER_ONESHOT 3 /* RBX = vector 32-255, RCX = us (0 cancels) */
#define HC_CPU_ID	 4 /* -> this vCPU's index */

#define HC_ENOSYS (-1) /* unknown call number */
#define HC_EFAULT (-2) /* an address outside the guest's RAM */
#define HC_EINVAL (-3) /* an argument out of range */

#define HC_CONSOLE_WRITE_MAX 4096
/* The longest HC_TIMER_ONESHOT delay: 2^40 us, about 12.7 days; longer
 * ones would overflow the guest's 64-bit TSC arithmetic. */
#define HC_TIMER_MAX_US (1ull << 40)

#endif /* VENEER_CORE_HYPERCALL_H */
