/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x devices over PCI: the modern transport (virtio 1.2, 4.1),
 * the part every virtio device of a guest shares. A device model
 * (core/vdev/virtio_blk.c, ...) supplies its type, feature bits,
 * configuration bytes and what a kick of one of its queues does; this
 * file makes it a PCI function with its capabilities, its one memory BAR
 * and MSI-X, and runs the status and feature handshake.
 *
 * BAR 4, 64-bit, VIRTIO_PCI_BAR_SIZE bytes (docs/devices.md):
 *   0x0000 common configuration (4.1.4.3)     0x3000 notifications, one
 *   0x1000 ISR status (4.1.4.5)                      dword per queue
 *   0x2000 device configuration (4.1.4.6)     0x4000 MSI-X table
 *                                             0x5000 MSI-X PBA
 * Interrupts: MSI-X (PCI 3.0, 6.8.2) once the guest enables it, else INTx
 * (pin INTA, the ISR status bits). No legacy I/O-port transport and no
 * VIRTIO_PCI_CAP_PCI_CFG window (docs/devices.md says so).
 *
 * Everything the guest writes is checked where it is used: the queue
 * rings by core/vdev/virtq.c when the guest enables a queue and at each
 * kick. A ring that breaks the rules sets DEVICE_NEEDS_RESET (2.1.2)
 * with one logged line saying why; the device then ignores kicks until
 * the guest resets it. The rest of the hypervisor never notices.
 */
#ifndef VENEER_CORE_VDEV_VIRTIO_PCI_H
#define VENEER_CORE_VDEV_VIRTIO_PCI_H

#include "core/guestmem.h"
#include "core/lib/types.h"
#include "core/vdev/virtq.h"
#include "core/vdev/vpci.h"

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + the device type (4.1.2.1) */
#define VIRTIO_PCI_REVISION    1
#define VIRTIO_PCI_BAR	       4
#define VIRTIO_PCI_BAR_SIZE    0x8000
#define VIRTIO_PCI_COMMON      0x0000
#define VIRTIO_PCI_COMMON_LEN  0x38
#define VIRTIO_PCI_ISR	       0x1000
#define VIRTIO_PCI_DEVICE_CFG  0x2000
#define VIRTIO_PCI_NOTIFY      0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_MSIX_TABLE  0x4000
#define VIRTIO_PCI_MSIX_PBA    0x5000
#define VIRTIO_MAX_QUEUES      4
#define VIRTIO_MSIX_VECTORS    (VIRTIO_MAX_QUEUES + 1)
#define VIRTIO_NO_VECTOR       0xffff
#define VIRTIO_CONFIG_MAX      64

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

/* Feature bits every device may offer (6). */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_EVENT_IDX     (1ull << 29)
#define VIRTIO_F_VERSION_1     (1ull << 32)

/* ISR status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

struct virtio_pci;

/* What a device type is. */
struct virtio_device_ops {
	const char *name; /* "virtio-blk", in log lines */
	u16 type;	  /* virtio device ID (5): 2 block, 1 net, 3 console */
	u32 class_code;	  /* PCI class of the function */
	u16 queues;	  /* 1 to VIRTIO_MAX_QUEUES */
	u16 queue_max;	  /* largest queue size, a power of two */
	/* The driver kicked queue q (enabled, DRIVER_OK, device not broken). */
	void (*kick)(struct virtio_pci *vp, u16 q);
	/* The driver reset the device (status 0): forget requests in flight. */
	void (*reset)(struct virtio_pci *vp);
};

/* What the platform gives a device: guest RAM, interrupts, its BAR. */
struct virtio_host {
	struct guest_mem mem;
	const char *guest; /* the guest's name, for log lines */
	/* An MSI write of `data` to `addr` (an MSI-X entry fired). */
	void (*msi)(void *ctx, u64 addr, u32 data);
	/* The INTx line of the function is now `level`. */
	void (*intx)(void *ctx, struct virtio_pci *vp, bool level);
	/* BAR 4 moved from old to base (either VPCI_BAR_NONE: nowhere), as
	 * the guest programmed it; whether it is decoded there (not on top of
	 * other registers) is the host's to decide. */
	void (*map)(void *ctx, struct virtio_pci *vp, u64 old, u64 base);
	void *ctx;
};

struct virtio_queue {
	struct virtq q;
	u16 size; /* as the driver set it (queue_size) */
	u16 vector;
	bool enabled;
};

struct virtio_msix_entry {
	u32 addr_lo, addr_hi, data, ctrl; /* ctrl bit 0: masked */
};

struct virtio_pci {
	struct vpci_func pci;
	const struct virtio_device_ops *ops;
	void *dev; /* the device model's state */
	struct virtio_host host;
	u8 slot;
	u8 msix_cap;	/* offset of the MSI-X capability */
	u64 features;	/* offered: the device's, VERSION_1 added */
	u64 bar_mapped; /* where the guest put BAR 4, or VPCI_BAR_NONE */
	/* Common configuration. */
	u32 dfselect, gfselect;
	u64 guest_features;
	u16 msix_config;
	u8 status;
	u8 generation;
	u16 qsel;
	struct virtio_queue vq[VIRTIO_MAX_QUEUES];
	/* Interrupts. */
	u8 isr;
	bool intx_level;
	struct virtio_msix_entry msix[VIRTIO_MSIX_VECTORS];
	u32 pba; /* pending bit per vector */
	/* Device configuration, VIRTIO_PCI_DEVICE_CFG onward. */
	u8 config[VIRTIO_CONFIG_MAX];
	u32 config_len;
	/* Counters (the guest's stats line, make bench). */
	u64 kicks, interrupts;
	/* The ring error that broke the device, "" while it works. */
	char why[VIRTQ_WHY_MAX];
	/* A device model's scratch chain (large: kept here, not on a stack). */
	struct virtq_chain chain;
};

/*
 * Make `vp` a virtio PCI function of type ops in PCI slot `slot`, its BAR
 * at `bar_base` (VIRTIO_PCI_BAR_SIZE aligned), offering feature bits
 * `features` (VERSION_1 is added) and config_len bytes of device
 * configuration (vp->config, the caller fills them). False when
 * something does not fit.
 */
bool virtio_pci_init(struct virtio_pci *vp, const struct virtio_device_ops *ops,
		     void *dev, const struct virtio_host *host, u8 slot,
		     u64 bar_base, u64 features, u32 config_len);

/* The BAR's MMIO (core/mmio.h shape; offsets within the BAR). 0, or -1
 * for nothing. */
int virtio_pci_read(struct virtio_pci *vp, u64 offset, u8 size, u64 *value);
int virtio_pci_write(struct virtio_pci *vp, u64 offset, u8 size, u64 value);

/* Little-endian fields of guest-visible structures (virtio is LE, 1.4). */
static inline void virtio_put_le(u8 *p, u64 v, u32 size)
{
	for (u32 i = 0; i < size; i++)
		p[i] = (u8)(v >> (8 * i));
}

static inline u64 virtio_get_le(const u8 *p, u32 size)
{
	u64 v = 0;

	for (u32 i = 0; i < size; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

/* Negotiated feature bits (what the driver accepted). */
static inline bool virtio_has(const struct virtio_pci *vp, u64 bit)
{
	return (vp->guest_features & bit) != 0;
}

/* Queue q may be used: enabled, DRIVER_OK, the device not broken. A
 * device model that fills a queue on its own (input arrived) asks first;
 * kicks come only for such queues. */
bool virtio_pci_queue_live(const struct virtio_pci *vp, u16 q);

/*
 * A device model's calls. virtio_pci_used(): chains were returned to queue
 * q's used ring, old_used its index before: interrupt the driver if it
 * wants one (virtq_should_notify). virtio_pci_broken(): the driver broke
 * a rule on queue q (why says which): NEEDS_RESET, one log line, a
 * configuration interrupt. virtio_pci_config_changed(): the device
 * configuration changed (a new generation, a configuration interrupt).
 */
void virtio_pci_used(struct virtio_pci *vp, u16 q, u16 old_used);
void virtio_pci_broken(struct virtio_pci *vp, u16 q, const char *why);
void virtio_pci_config_changed(struct virtio_pci *vp);

#endif /* VENEER_CORE_VDEV_VIRTIO_PCI_H */
