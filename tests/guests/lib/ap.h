/* SPDX-License-Identifier: MIT */
/*
 * Application processors for the 32-bit test guests (tests/guests/smp.c,
 * bench/bench.c): which local APICs the firmware's MADT lists, and the
 * real-mode trampoline a STARTUP IPI starts an AP in.
 *
 * A guest reads the MADT (ap_madt_read), gives each AP a stack
 * (ap_set_stack), copies the trampoline into place (ap_prepare) and sends
 * each AP an INIT and a STARTUP IPI with vector AP_SIPI_VECTOR itself, in
 * whatever APIC mode it runs. The AP starts in real mode at CS = VV00h,
 * IP = 0 (SDM Vol. 3A 11.6.1, 9.4.4); the trampoline switches it to 32-bit
 * flat protected mode with the library's selectors, takes the stack given
 * for its initial APIC ID, loads the IDT of the CPU that called
 * ap_prepare (the library's, with its handlers) and calls the main
 * function with interrupts off. An AP with no stack given halts.
 *
 * 32-bit guests only (the library's lib32 objects).
 */
#ifndef VENEER_TESTS_GUESTS_LIB_AP_H
#define VENEER_TESTS_GUESTS_LIB_AP_H

#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

/* Below 1 MiB, clear of Veneer's multiboot info (0x1000-0x6fff) and of
 * QEMU's (0x9000 and up); ap_trampoline_fits() checks the info given. */
#define AP_TRAMPOLINE_GPA 0x8000UL
#define AP_SIPI_VECTOR	  (AP_TRAMPOLINE_GPA >> 12)

/* The most enabled local APICs ap_madt_read() lists. */
#define AP_MADT_MAX 16

struct ap_madt {
	u32 lapic_address; /* the MADT's local APIC address */
	u32 count;	   /* enabled local APICs, each ID once */
	/* Their APIC IDs in MADT order, but the boot CPU's (the caller's,
	 * CPUID.01H:EBX[31:24]) first. */
	u32 apic_id[AP_MADT_MAX];
};

/*
 * Reads the MADT (ACPI 6.5 5.2.12) through the RSDP in the BIOS area
 * (0xE0000-0xFFFFF) and the RSDT: the enabled Processor Local APIC and
 * Local x2APIC entries, an ID listed in both once. Returns NULL, or what
 * went wrong (a constant text).
 */
const char *ap_madt_read(struct ap_madt *madt);

/* The AP's main function; it gets the AP's initial APIC ID. Should it
 * return, the AP halts with interrupts off. */
typedef void (*ap_main_fn)(u32 apic_id);

/* The trampoline's size in bytes. */
u32 ap_trampoline_size(void);

/* Whether the trampoline at AP_TRAMPOLINE_GPA leaves the multiboot info,
 * its command line and its memory map alone. */
bool ap_trampoline_fits(const struct multiboot_info *mbi);

/* Copies the trampoline to AP_TRAMPOLINE_GPA and records main and the
 * calling CPU's IDTR for the APs started from now on. */
void ap_prepare(ap_main_fn main);

/* The stack an AP with initial APIC ID apic_id (below 256) starts on:
 * stack_top is one past its highest byte, 16-byte aligned. */
void ap_set_stack(u32 apic_id, void *stack_top);

#endif /* VENEER_TESTS_GUESTS_LIB_AP_H */
