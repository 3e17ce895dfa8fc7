/* SPDX-License-Identifier: MIT */
/*
 * The legacy 8259A PICs of the real machine. The firmware leaves them
 * mapped on vectors 0x08-0x0f (the CPU's exception vectors) with the PIT
 * ticking; Veneer takes interrupts only from the LAPIC, so it moves the PICs
 * to vectors 0x20-0x2f and masks every line. A spurious IRQ7 / IRQ15 can
 * still arrive while masked (8259A data sheet, "interrupt sequence"); the
 * IDT has plain-return gates for those two vectors.
 */
#include "arch/x86/pic.h"
#include "arch/x86/cpu.h"

#define PIC1_COMMAND		  0x20
#define PIC1_DATA		  0x21
#define PIC2_COMMAND		  0xa0
#define PIC2_DATA		  0xa1
#define ICW1_INIT_ICW4		  0x11 /* edge triggered, cascade, ICW4 follows */
#define ICW3_MASTER_SLAVE_ON_IRQ2 0x04
#define ICW3_SLAVE_ID		  0x02
#define ICW4_8086		  0x01
#define MASK_ALL		  0xff

void pic_disable(void)
{
	outb(PIC1_COMMAND, ICW1_INIT_ICW4);
	outb(PIC2_COMMAND, ICW1_INIT_ICW4);
	outb(PIC1_DATA, PIC_HOST_VECTOR_BASE);
	outb(PIC2_DATA, PIC_HOST_VECTOR_BASE + 8);
	outb(PIC1_DATA, ICW3_MASTER_SLAVE_ON_IRQ2);
	outb(PIC2_DATA, ICW3_SLAVE_ID);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, MASK_ALL);
	outb(PIC2_DATA, MASK_ALL);
}
