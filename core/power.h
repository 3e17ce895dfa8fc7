/* SPDX-License-Identifier: MIT */
/*
 * Ending the hypervisor: the power-off line and status (docs/boot-log.md).
 */
#ifndef VENEER_CORE_POWER_H
#define VENEER_CORE_POWER_H

#include "core/lib/types.h"

enum power_status {
	POWER_STATUS_OK = 0,	 /* every guest exited with code 0 */
	POWER_STATUS_FAILED = 1, /* a guest failed, stopped or exited != 0 */
	POWER_STATUS_PANIC = 3,	 /* host-fatal error */
};

/*
 * Print "veneer: power off: status S" and turn the machine off: QEMU's
 * isa-debug-exit port, Bochs' shutdown port, then ACPI S5 when
 * power_set_acpi() gave the way, else halt.
 */
void power_off(enum power_status status) __noreturn;

/* power_off(POWER_STATUS_PANIC): what panic() does last. */
void power_off_panic(void) __noreturn;

struct acpi_sleep_info;
/* How to reach S5 on this machine (read from ACPI at boot); NULL: none. */
void power_set_acpi(const struct acpi_sleep_info *s5);

#endif /* VENEER_CORE_POWER_H */
