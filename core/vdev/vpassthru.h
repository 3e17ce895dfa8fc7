/* SPDX-License-Identifier: MIT */
/*
 * A host PCI function on a guest's virtual PCI bus (docs/passthrough.md):
 * the guest sees the host function's IDs, class and memory BARs, at
 * guest-physical addresses of its own PCI window. The platform maps a BAR
 * of a page or more straight to the host BAR in the nested tables
 * (vpassthru_page_direct() says which pages); an access to the rest
 * exits and is forwarded to the host BAR. The host BARs never move: what the
 * guest writes into its BAR registers only moves its own view. Of the command
 * register, memory decoding, bus mastering and INTx disable reach the host
 * function. I/O BARs are not shown. The device's DMA goes through the guest's
 * IOMMU domain (core/passthrough.c), never to anything else.
 *
 * Interrupts: the host function's MSI and MSI-X capabilities are offered
 * as the only capabilities (MSI with one message, 64-bit; MSI-X with at
 * most VPASSTHRU_VECTORS entries, its table and PBA where the host's
 * are). What the guest writes there stays in its view: the host function
 * is programmed with Veneer's own messages, one host vector
 * (host_irq_alloc) per message the guest enables, each aimed at vCPU 0's
 * host CPU through the IOMMU's interrupt remapping where it is on. When
 * one arrives, the platform is told (host.irq, in interrupt context); on
 * the guest's CPU vpassthru_deliver() sends the guest's own message for
 * it, as the guest programmed it then: masked, it waits in the guest's
 * PBA until unmasked; disabled, it is dropped.
 *
 * INTx: the host function's interrupt pin is offered. Veneer does not
 * take the host line (its routing to the host's I/O APIC is in the
 * firmware's AML); the platform polls the function's Interrupt Status bit
 * instead (vpassthru_intx_poll) and drives the guest's IOAPIC input of
 * that pin with it, level-triggered as INTx is.
 */
#ifndef VENEER_CORE_VDEV_VPASSTHRU_H
#define VENEER_CORE_VDEV_VPASSTHRU_H

#include "core/lib/types.h"
#include "core/vdev/vpci.h"

struct pci_device;
struct vcpu;
struct vpassthru;

/* MSI-X entries offered at most (the guest's Table Size); MSI: one. */
#define VPASSTHRU_VECTORS 8

/* One message of the function: the guest's view and the host's side. */
struct vpassthru_vector {
	struct vpassthru *pt;
	u8 index;
	/* MSI-X: the guest's table entry (vector control bit 0: masked). */
	u64 addr;
	u32 data, ctrl;
	/* Host side, made at first use and kept until vpassthru_release. */
	int host_vector; /* -1: none yet */
	u32 handle;	 /* the IOMMU's remapping entry (IOMMU_NO_IRQ) */
	u64 host_addr;	 /* what the function sends for it */
	u32 host_data;
	bool routed;
};

/* What the platform does for the function. */
struct vpassthru_host {
	/* The guest moved a BAR or turned decoding on or off: the BARs'
	 * MMIO regions are registered again. */
	void (*remap)(void *ctx);
	/* One of its host vectors fired (interrupt context: atomic work
	 * only): vpassthru_deliver() is due on the guest's CPU. */
	void (*irq)(void *ctx);
	/* The host CPU (xAPIC ID) its interrupts are aimed at. */
	u32 (*irq_apic)(void *ctx);
	void *ctx;
	const char *guest; /* for messages */
};

/* One memory BAR the guest sees: the MMIO region's opaque. */
struct vpassthru_bar {
	struct vpassthru *pt;
	u64 host;   /* host-physical base; 0: no BAR at this index */
	u64 size;   /* bytes, a power of two */
	u64 mapped; /* guest base decoded now, VPCI_BAR_NONE when not */
	u64 direct; /* guest base mapped straight to it, VPCI_BAR_NONE */
};

struct vpassthru {
	struct vpci_func pci;
	u16 host_bdf;
	u8 slot;
	struct vpassthru_bar bar[VPCI_BARS];
	struct vpassthru_host host;
	/* MSI: the guest's capability (0: not offered) and the host's. */
	u8 msi_cap, host_msi_cap;
	bool host_msi64;
	/* MSI-X: the capabilities, the entries offered, the table and PBA
	 * (BAR index and offset, the host's: the guest's BAR is laid out as
	 * the host's). */
	u8 msix_cap, host_msix_cap;
	u16 msix_size, host_msix_size;
	u8 msix_bir, pba_bir;
	u32 msix_offset, pba_offset;
	struct vpassthru_vector vec[VPASSTHRU_VECTORS];
	u32 pending;	 /* atomic: a bit per vector that fired */
	u32 held;	 /* fired while the guest masked it: its PBA bit */
	bool intx_level; /* the guest's INTx input as last polled */
	bool warned;	 /* a message could not be set up: said once */
};

/*
 * Build the guest's view of host function `dev` (an endpoint whose memory
 * BARs lie below 4 GiB: core/passthrough.c checked) in `slot`, placing
 * its BARs from guest-physical *next_base up, each aligned to its size;
 * *next_base moves past them. False with err when a BAR does not fit
 * below `limit`.
 */
bool vpassthru_init(struct vpassthru *pt, const struct pci_device *dev, u8 slot,
		    u64 *next_base, u64 limit,
		    const struct vpassthru_host *host, char *err,
		    size_t errlen);

/*
 * On the guest's CPU, under its VM lock: for each vector that fired
 * since the last call (or was held), send(ctx, addr, data) with the
 * guest's message for it, or hold it while the guest masks it.
 */
void vpassthru_deliver(struct vpassthru *pt,
		       void (*send)(void *ctx, u64 addr, u32 data), void *ctx);

/* The guest's INTx is live: a pin, MSI and MSI-X off, INTx not disabled. */
bool vpassthru_intx_on(const struct vpassthru *pt);
/*
 * The host function's Interrupt Status bit (PCI 3.0 6.2.3) while the
 * guest's INTx is live, else false; the guest's status register shows it.
 */
bool vpassthru_intx_poll(struct vpassthru *pt);

/*
 * Before the function is reset or given back (platform_detach): its MSI
 * and MSI-X off in the host function, its remapping entries and host
 * vectors freed.
 */
void vpassthru_release(struct vpassthru *pt);

/*
 * Whether the guest may reach page `offset` (page-aligned) of BAR b
 * through the nested tables, without an exit: every page of a BAR of at
 * least a page but those holding the host's MSI-X table or PBA (the
 * guest's table is Veneer's copy, and the host's is Veneer's own).
 */
bool vpassthru_page_direct(const struct vpassthru_bar *b, u64 offset);

/* The region handlers (core/mmio.h) for opaque = a struct vpassthru_bar. */
int vpassthru_bar_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		       u64 *value);
int vpassthru_bar_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			u64 value);

#endif /* VENEER_CORE_VDEV_VPASSTHRU_H */
