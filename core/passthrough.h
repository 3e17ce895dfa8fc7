/* SPDX-License-Identifier: MIT */
/*
 * Host PCI functions given to guests (pci=BB:DD.F, docs/passthrough.md):
 * which guest owns which function, and the guest's IOMMU domain. The
 * guest's view of each function is core/vdev/vpassthru.c's.
 */
#ifndef VENEER_CORE_PASSTHROUGH_H
#define VENEER_CORE_PASSTHROUGH_H

#include "core/lib/types.h"

struct vm;
struct guest_cfg;

/*
 * At creation, once the guest's RAM exists: checks every function the
 * declaration names (it exists, is an endpoint and not the IOMMU or a
 * host bridge, has its memory BARs below 4 GiB, no other guest owns it,
 * an IOMMU is on), gives the guest an IOMMU domain mapping exactly its RAM
 * at its guest-physical addresses, resets each function and attaches it.
 * False with err naming the function and the reason; then nothing is
 * left claimed or attached.
 */
bool passthrough_claim(struct vm *vm, const struct guest_cfg *cfg, char *err,
		       size_t errlen);

/*
 * Before the guest's RAM is cleared for a reboot: its functions stop
 * (bus mastering and decoding off) and are reset, so nothing a device
 * still had in flight reaches the next boot's RAM.
 */
void passthrough_quiesce(struct vm *vm);

/*
 * How often the IOMMU's fault records are read: by the boot CPU while it
 * waits for the guests, and on vCPU 0's CPU of a guest that owns devices
 * (the boot CPU may be running a guest itself).
 */
#define PASSTHROUGH_POLL_US 10000

/* From vCPU 0's run loop of a guest with vm->dma: the fault records, read
 * every PASSTHROUGH_POLL_US. */
void passthrough_poll(struct vm *vm);

/*
 * Its functions stopped, reset and blocked, its domain gone, nothing
 * owned: before the guest's RAM goes back to the pool. False when a unit
 * could not block one of them (iommu_domain_destroy): its RAM must then
 * stay out of the pool, since the device may still reach it.
 */
bool passthrough_release(struct vm *vm);

#endif /* VENEER_CORE_PASSTHROUGH_H */
