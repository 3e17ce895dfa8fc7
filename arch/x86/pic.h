/* SPDX-License-Identifier: MIT */
/*
 * The real machine's legacy PICs: moved out of the exception vectors and
 * masked at boot.
 */
#ifndef VENEER_ARCH_X86_PIC_H
#define VENEER_ARCH_X86_PIC_H

/* The PICs' vectors after pic_disable(): 0x20-0x27 and 0x28-0x2f. */
#define PIC_HOST_VECTOR_BASE 0x20
#define PIC_SPURIOUS_MASTER  (PIC_HOST_VECTOR_BASE + 7)
#define PIC_SPURIOUS_SLAVE   (PIC_HOST_VECTOR_BASE + 15)

/* Remap both PICs to PIC_HOST_VECTOR_BASE and mask every line. */
void pic_disable(void);

#endif /* VENEER_ARCH_X86_PIC_H */
