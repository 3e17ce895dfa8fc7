/* SPDX-License-Identifier: MIT */
/*
 * A host PCI function on a guest's virtual PCI bus (docs/passthrough.md):
 * the guest sees the host function's IDs, class and memory BARs, at
 * guest-physical addresses of its own PCI window; an access to such a BAR
 * exits (the nested tables never map it) and is forwarded to the host
 * BAR. The host BARs never move: what the guest writes into its BAR
 * registers only moves its own view. Of the command register, memory
 * decoding, bus mastering and INTx disable reach the host function.
 * Capabilities and interrupts are not offered yet; I/O BARs are not
 * shown. The device's DMA goes through the guest's IOMMU domain
 * (core/passthrough.c), never to anything else.
 */
#ifndef VENEER_CORE_VDEV_VPASSTHRU_H
#define VENEER_CORE_VDEV_VPASSTHRU_H

#include "core/lib/types.h"
#include "core/vdev/vpci.h"

struct pci_device;
struct vcpu;
struct vpassthru;

/* One memory BAR the guest sees: the MMIO region's opaque. */
struct vpassthru_bar {
	struct vpassthru *pt;
	u64 host;   /* host-physical base; 0: no BAR at this index */
	u64 size;   /* bytes, a power of two */
	u64 mapped; /* guest base decoded now, VPCI_BAR_NONE when not */
};

struct vpassthru {
	struct vpci_func pci;
	u16 host_bdf;
	u8 slot;
	struct vpassthru_bar bar[VPCI_BARS];
	/* Called after the guest moved a BAR or turned decoding on or off:
	 * the platform registers the BARs' MMIO regions again. */
	void (*remap)(void *ctx);
	void *ctx;
};

/*
 * Build the guest's view of host function `dev` (an endpoint whose memory
 * BARs lie below 4 GiB: core/passthrough.c checked) in `slot`, placing
 * its BARs from guest-physical *next_base up, each aligned to its size;
 * *next_base moves past them. False with err when a BAR does not fit
 * below `limit`.
 */
bool vpassthru_init(struct vpassthru *pt, const struct pci_device *dev, u8 slot,
		    u64 *next_base, u64 limit, void (*remap)(void *ctx),
		    void *ctx, char *err, size_t errlen);

/* The region handlers (core/mmio.h) for opaque = a struct vpassthru_bar. */
int vpassthru_bar_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		       u64 *value);
int vpassthru_bar_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			u64 value);

#endif /* VENEER_CORE_VDEV_VPASSTHRU_H */
