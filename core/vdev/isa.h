/* SPDX-License-Identifier: MIT */
/*
 * What the legacy ISA device models (vpit, vrtc, vi8042) share with their
 * owner: how they raise an interrupt line and how they learn the time.
 *
 * Device models stay pure: the core passes these callbacks at init, and
 * unit tests pass fakes that record lines and return a chosen time.
 */
#ifndef VENEER_CORE_VDEV_ISA_H
#define VENEER_CORE_VDEV_ISA_H

#include "core/lib/types.h"

/*
 * Drives ISA interrupt line `isa_irq` (0-15) to `level`. The owner routes
 * it to the 8259 pair and to the IOAPIC (where ISA IRQ 0 arrives on GSI 2,
 * see the MADT override in acpi_tables.h).
 */
typedef void (*isa_irq_fn)(void *opaque, u8 isa_irq, bool level);

/* The guest's time in nanoseconds: monotonic, starting anywhere. */
typedef u64 (*guest_clock_fn)(void *opaque);

#endif /* VENEER_CORE_VDEV_ISA_H */
