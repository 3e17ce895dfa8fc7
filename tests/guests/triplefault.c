/* SPDX-License-Identifier: MIT */
/*
 * triplefault: a guest that shuts its own CPU down must be stopped by Veneer
 * with a message naming the triple fault, and nothing else may suffer.
 *
 * It loads an IDT with limit 0 and executes ud2. The #UD cannot be delivered
 * (its gate is beyond the IDT limit: #GP), the #GP cannot either (#DF), and
 * the #DF neither: a triple fault, which puts the processor in the shutdown
 * state (SDM Vol. 3A 6.15, "Interrupt 8 - Double Fault Exception"; APM
 * Vol. 2 8.2.9). Veneer intercepts it (VT-x exit reason 2, AMD-V #SHUTDOWN)
 * and must print
 *     veneer: guest NAME stopped: triple fault at rip 0xADDR
 * where ADDR is the ud2 this guest announced (the fault that could not be
 * delivered was raised there).
 * If execution goes on after the ud2, the guest prints FAIL and exits 1.
 *
 * Natively the machine would reset, so there the fault is SKIP.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

struct __attribute__((packed)) idt_pointer {
	u16 limit;
	uintptr_t base;
};

void guest_main(const struct multiboot_info *mbi)
{
	static const struct idt_pointer empty_idt = {0, 0};
	extern const char triplefault_ud2[];
	(void)mbi;
	guest_printf("triplefault: loading an empty IDT, then ud2 at 0x%lx\n",
		     (unsigned long)(uintptr_t)triplefault_ud2);
	if (!under_veneer()) {
		guest_skip("triple fault stops the guest (not under Veneer)");
		return;
	}
	serial_drain();
	/* No interrupt may arrive in between: it would fault the same way. */
	cpu_cli();
	__asm__ volatile("lidt %0\n"
			 ".global triplefault_ud2\n"
			 "triplefault_ud2: ud2"
			 :
			 : "m"(empty_idt)
			 : "memory");
	guest_fail("execution continued after a triple fault");
}
