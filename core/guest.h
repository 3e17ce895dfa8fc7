/* SPDX-License-Identifier: MIT */
/*
 * Guests: created from the boot modules, run, and accounted for.
 */
#ifndef VENEER_CORE_GUEST_H
#define VENEER_CORE_GUEST_H

#include "core/bootinfo.h"
#include "core/power.h"

/*
 * Create every guest the boot modules declare, run them on the host CPUs
 * until all have ended, and return the power-off status that summarises
 * them (docs/boot-log.md).
 */
enum power_status guests_run(const struct boot_info *bi);

#endif /* VENEER_CORE_GUEST_H */
