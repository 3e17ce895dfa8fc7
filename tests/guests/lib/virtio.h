/* SPDX-License-Identifier: MIT */
/*
 * A small virtio-pci driver for the 32-bit test guests (virtio_hostile.c,
 * netpeer.c): the modern PCI transport of virtio 1.2 (4.1) and split
 * virtqueues (2.7) with rings in the guest's own RAM, as Veneer's devices
 * offer them (docs/devices.md, "virtio devices").
 *
 * What is here is the mechanism every such driver repeats: configuration
 * mechanism #1 on bus 0, plain-MOV MMIO, BAR 4 and the capability walk,
 * the status handshake of 3.1.1, a queue's registers, descriptors, the
 * available and used rings and the notification. What a guest checks
 * beyond that, and which rules it breaks on purpose, stays in the guest:
 * nothing here waits, retries or prints but through the device's fail
 * hook, and the ring helpers write what they are given, good or bad.
 *
 * Errors: a function that can fail calls the device's fail hook with the
 * reason (the guest's own FAIL line) and returns what the hook returns,
 * false; the first failure is the one a guest reports.
 *
 * 32-bit guests only (the library's lib32 objects): buffer and ring
 * addresses are the guest's own pointers, identity mapped.
 */
#ifndef VENEER_TESTS_GUESTS_LIB_VIRTIO_H
#define VENEER_TESTS_GUESTS_LIB_VIRTIO_H

#include "tests/guests/lib/guest.h"

/* PCI configuration mechanism #1 (PCI 3.0, 3.2.2.3.2): function 0 of a
 * slot on bus 0 is all the test platform has. */
#define PCI_ADDRESS	  0xcf8
#define PCI_DATA	  0xcfc
#define PCI_SLOTS	  32
#define PCI_ID		  0x00
#define PCI_COMMAND	  0x04
#define PCI_STATUS	  0x06
#define PCI_BAR4	  0x20
#define PCI_BAR5	  0x24
#define PCI_CAP_PTR	  0x34
#define PCI_CMD_MEMORY	  0x2
#define PCI_CMD_MASTER	  0x4
#define PCI_STATUS_CAPS	  0x10
#define PCI_BAR_TYPE_MASK 0x6
#define PCI_BAR_TYPE_64	  0x4
#define PCI_CAP_VENDOR	  0x09
#define PCI_CAP_MSIX	  0x11

/* Modern virtio functions: vendor 0x1af4, device 0x1040 + the device
 * type (4.1.2.1). */
#define VIRTIO_VENDOR	  0x1af4
#define VIRTIO_NET_DEVICE 0x1041 /* type 1 */
#define VIRTIO_BLK_DEVICE 0x1042 /* type 2 */
/* Veneer puts every structure in BAR 4 (docs/devices.md), so the driver
 * takes no other BAR. */
#define VIRTIO_BAR 4

/* Virtio vendor capabilities (4.1.4): cfg_type at +3, bar +4, offset +8,
 * length +12; the notification one has its multiplier at +16 (4.1.4.4). */
#define VIRTIO_CAP_COMMON 1
#define VIRTIO_CAP_NOTIFY 2
#define VIRTIO_CAP_ISR	  3
#define VIRTIO_CAP_DEVICE 4

/* Common configuration structure (4.1.4.3), offsets. */
#define VIRTIO_CC_DFSELECT    0
#define VIRTIO_CC_DFEATURE    4
#define VIRTIO_CC_GFSELECT    8
#define VIRTIO_CC_GFEATURE    12
#define VIRTIO_CC_MSIX_CONFIG 16
#define VIRTIO_CC_NUM_QUEUES  18
#define VIRTIO_CC_STATUS      20
#define VIRTIO_CC_QSEL	      22
#define VIRTIO_CC_QSIZE	      24
#define VIRTIO_CC_QMSIX	      26
#define VIRTIO_CC_QENABLE     28
#define VIRTIO_CC_QNOTIFY_OFF 30
#define VIRTIO_CC_QDESC	      32
#define VIRTIO_CC_QDRIVER     40
#define VIRTIO_CC_QDEVICE     48

/* Device status bits (2.1). */
#define VIRTIO_ST_ACK	      0x01
#define VIRTIO_ST_DRIVER      0x02
#define VIRTIO_ST_DRIVER_OK   0x04
#define VIRTIO_ST_FEATURES_OK 0x08
#define VIRTIO_ST_NEEDS_RESET 0x40
#define VIRTIO_ST_RUNNING                                                      \
	(VIRTIO_ST_ACK | VIRTIO_ST_DRIVER | VIRTIO_ST_FEATURES_OK |            \
	 VIRTIO_ST_DRIVER_OK)

/* ISR status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* Feature bit 32 (6.1): in the second 32-bit feature word. */
#define VIRTIO_F_VERSION_1 (1ULL << 32)

/* Split virtqueue flags (2.7.5, 2.7.10). */
#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Every test driver's queue size: a power of two (2.7) well below what
 * Veneer's queues offer, so the rings are small and static. */
#define VIRTQ_SIZE 16

/* A descriptor (2.7.5). */
struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct virtq_used_elem {
	u32 id, len;
};

/* The three parts of a split virtqueue (2.7), each at the alignment 2.7
 * asks for (descriptors 16, available ring 2, used ring 4), in one
 * page-aligned block. */
struct virtq_rings {
	struct virtq_desc desc[VIRTQ_SIZE];
	struct {
		u16 flags, idx, ring[VIRTQ_SIZE], used_event;
	} avail __aligned(2);
	struct {
		u16 flags, idx;
		struct virtq_used_elem ring[VIRTQ_SIZE];
		u16 avail_event;
	} used __aligned(4);
} __aligned(4096);

/* The guest's FAIL line: a printf-like report that returns false. */
typedef bool (*virtio_fail_fn)(const char *fmt, ...) __printf(1, 2);

/* One virtio function: where its structures are. */
struct virtio_dev {
	u8 slot;       /* bus 0, function 0 */
	uintptr_t bar; /* BAR 4, below 4 GiB */
	/* The structures of 4.1.4, in BAR 4. */
	uintptr_t common, notify, isr, device;
	u32 notify_mult;     /* notify_off_multiplier (4.1.4.4) */
	u8 msix_cap;	     /* the MSI-X capability's offset; 0: none */
	virtio_fail_fn fail; /* set by the guest before any call */
};

/* One split virtqueue as the driver keeps it. */
struct virtq {
	struct virtq_rings *r;
	u16 index;	   /* the queue's number, what a notification says */
	uintptr_t kick_at; /* its notification address (4.1.4.4) */
	u16 avail_idx;	   /* the driver's next avail->idx */
	u16 used_seen;	   /* used->idx the driver has taken entries up to */
	u32 kicks;	   /* notifications written, across resets */
};

/* ---- MMIO: one plain MOV each, what Veneer's decoder takes
 * (docs/decode.md); volatile asm so that none is merged or split ---- */

static inline u8 mmio_read8(uintptr_t a)
{
	u8 v;
	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory");
	return v;
}

static inline u16 mmio_read16(uintptr_t a)
{
	u16 v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline u32 mmio_read32(uintptr_t a)
{
	u32 v;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline void mmio_write8(uintptr_t a, u8 v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(a) : "memory");
}

static inline void mmio_write16(uintptr_t a, u16 v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static inline void mmio_write32(uintptr_t a, u32 v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

/* A 64-bit field as two 32-bit writes, low half first: what 4.1.3.1
 * allows a driver, and all a 32-bit guest has. */
static inline void mmio_write64(uintptr_t a, u64 v)
{
	mmio_write32(a, (u32)v);
	mmio_write32(a + 4, (u32)(v >> 32));
}

/* ---- PCI configuration space of function 0 of `slot` on bus 0 ---- */

u32 pci_cfg_read32(u8 slot, u8 off);
u16 pci_cfg_read16(u8 slot, u8 off);
u8 pci_cfg_read8(u8 slot, u8 off);
void pci_cfg_write16(u8 slot, u8 off, u16 v);
void pci_cfg_write32(u8 slot, u8 off, u32 v);

/* The first slot from `from` on whose function is 1af4:`device`;
 * PCI_SLOTS if there is none. */
u8 virtio_pci_find(u16 device, u8 from);

/* ---- finding the structures ---- */

/* BAR 4 of d->slot into d->bar: it must be a 64-bit memory BAR below
 * 4 GiB and not 0. */
bool virtio_pci_bar(struct virtio_dev *d);

/* Sets `bits` (PCI_CMD_*) in the command register; they must stick. */
bool virtio_pci_enable(struct virtio_dev *d, u16 bits);

/* Walks the capability list: the common, notification, ISR and device
 * configuration structures (all four must be there, in BAR 4, at d->bar
 * plus their offsets) and the MSI-X capability's offset, if any. */
bool virtio_find_caps(struct virtio_dev *d);

/* ---- status and features (3.1.1) ---- */

u8 virtio_status(const struct virtio_dev *d);
void virtio_set_status(const struct virtio_dev *d, u8 status);

/* The ISR status byte (4.1.4.5); reading it clears it. */
u8 virtio_isr(const struct virtio_dev *d);

/* Writes 0 to device_status, which must read 0 at once: Veneer resets
 * during the write (the driver may not go on before, 4.1.4.3.2). */
bool virtio_reset(const struct virtio_dev *d);

/* After a reset: ACKNOWLEDGE, DRIVER, the driver's features (`features`,
 * every one of which the device must offer), FEATURES_OK, which must
 * stay set (3.1.1 steps 2-6). */
bool virtio_negotiate(const struct virtio_dev *d, u64 features);

/* DRIVER_OK with the other three bits (3.1.1 step 8); must read back. */
bool virtio_driver_ok(const struct virtio_dev *d);

/* ---- queues ---- */

/* Queue q's queue_size as the device offers it (its maximum). Leaves q
 * selected. */
u16 virtio_queue_max(const struct virtio_dev *d, u16 q);

/* Selects queue q and writes its size and ring addresses, as given (not
 * queue_enable). Leaves q selected, so that the guest may write more of
 * its registers (queue_msix_vector) before enabling it. */
void virtio_queue_config(const struct virtio_dev *d, u16 q, u16 size, u64 desc,
			 u64 driver, u64 device);

/* queue_enable = 1 for queue vq->index, which must read 1, and its
 * notification address into vq->kick_at. */
bool virtio_queue_enable(const struct virtio_dev *d, struct virtq *vq);

/* vq on rings r as queue `index`: the rings zeroed and both indexes 0, the
 * state a device starts a queue in after a reset (2.7); kicks go on
 * counting. */
void virtq_init(struct virtq *vq, struct virtq_rings *r, u16 index);

/* Descriptor i, as given (the rings' checks are the device's). */
void virtq_set_desc(struct virtq *vq, u16 i, u64 addr, u32 len, u16 flags,
		    u16 next);

/* Makes chain `head` available (2.7.13): the ring entry, then avail->idx
 * moved on by `step` (1, unless a guest means to lie). */
void virtq_publish(struct virtq *vq, u16 head, u16 step);

/* Whether the device asked for no notifications (2.7.10). */
bool virtq_no_notify(const struct virtq *vq);

/* Notifies the device (4.1.5.2): the queue's index to its notification
 * address, counted in vq->kicks whatever the device asked for. */
void virtq_kick(struct virtq *vq);

/* used->idx as the device last wrote it. */
u16 virtq_used_idx(const struct virtq *vq);

/* Takes the next used element (2.7.8) the driver has not taken yet into
 * *id and *len; false if the device has used nothing more. */
bool virtq_next_used(struct virtq *vq, u32 *id, u32 *len);

#endif /* VENEER_TESTS_GUESTS_LIB_VIRTIO_H */
