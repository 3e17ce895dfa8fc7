/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2, 5.1): a guest's NIC on the hypervisor's switch
 * (core/vdev/vswitch.h). Queue 0 is the receiveq, queue 1 the transmitq;
 * no control queue, no multiqueue. Offered (5.1.3): VIRTIO_NET_F_MAC
 * (the MAC of the guest's declaration) and VIRTIO_NET_F_STATUS (the link
 * is always up; configuration, 5.1.4), with INDIRECT_DESC and EVENT_IDX.
 * No checksum or segmentation offload and no MRG_RXBUF: every frame is a
 * whole Ethernet frame of at most VIRTIO_NET_FRAME_MAX bytes behind a
 * 12-byte virtio_net_hdr (5.1.6), and a receive buffer must hold both.
 *
 * Transmit (5.1.6.2): each chain on the transmitq is the header (not
 * looked at: nothing to offload) and a frame, handed to send() as it
 * comes, the chain then returned with length 0. A chain of the wrong
 * size is counted in tx_bad and returned; one with a device-writable
 * buffer breaks the device (NEEDS_RESET, one log line). Receive
 * (5.1.6.3, 5.1.6.4): virtio_net_receive() puts a frame in the next
 * receive buffer, or drops it and counts it when the driver has none or
 * it is too small (that buffer is returned unused: used length 0):
 * frames are never truncated nor queued in the device.
 *
 * Queue size 256, the most core/vdev/virtq.c takes: the device holds no
 * frames, so a burst that arrives while the receiving guest's vCPU is
 * not running fits only in the buffers the driver posted.
 *
 * Locking. A frame for this NIC arrives on the sender's CPU while this
 * guest's vCPUs may be writing the device's BAR. So:
 *  - n->lock covers the transport (struct virtio_pci) and the queues. The
 *    BAR's MMIO must go through virtio_net_read() and virtio_net_write(),
 *    which take it (never virtio_pci_read/write directly: a reset or a
 *    queue enable must not run under a receive); PCI configuration writes
 *    take it by themselves (virtio_net_init wraps the function's
 *    `written` hook). virtio_net_receive() takes it.
 *  - n->tx_lock serialises transmission: frames leave one at a time, in
 *    order, and send() is called holding it but not n->lock.
 * Order: tx_lock, then the switch's lock (inside send()), then another
 * NIC's lock (inside its receive); while n->lock is held no NIC or
 * switch lock is taken, so two guests sending to each other cannot
 * deadlock. The host's msi(), intx() and map() run with n->lock held
 * (from a receive, the switch's lock too), on any CPU: the platform's
 * interrupt delivery must be safe from a CPU not the guest's.
 *
 * Wiring, for the platform:
 *   send(ctx, frame, len):       vswitch_send(sw, port, frame, len);
 *   deliver(opaque, frame, len): return virtio_net_receive(opaque, ...);
 *   BAR read / write:            virtio_net_read / virtio_net_write.
 */
#ifndef VENEER_CORE_VDEV_VIRTIO_NET_H
#define VENEER_CORE_VDEV_VIRTIO_NET_H

#include "core/lib/spinlock.h"
#include "core/lib/types.h"
#include "core/vdev/virtio_pci.h"

#define VIRTIO_NET_TYPE	      1
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RECEIVEQ   0
#define VIRTIO_NET_TRANSMITQ  1
#define VIRTIO_NET_MAC_LEN    6
#define VIRTIO_NET_HDR_LEN    12 /* struct virtio_net_hdr with VERSION_1 */
#define VIRTIO_NET_FRAME_MIN  14
#define VIRTIO_NET_FRAME_MAX  1514
#define VIRTIO_NET_F_MAC      (1ull << 5)
#define VIRTIO_NET_F_STATUS   (1ull << 16)
#define VIRTIO_NET_S_LINK_UP  1
#define VIRTIO_NET_CFG_MAC    0
#define VIRTIO_NET_CFG_STATUS 6

/* A frame the guest sent (the header stripped), to go on the switch. */
typedef void (*virtio_net_send_fn)(void *ctx, const u8 *frame, u32 len);

struct virtio_net {
	struct virtio_pci vp;
	spinlock_t lock;
	spinlock_t tx_lock;
	virtio_net_send_fn send;
	void *send_ctx;
	vpci_written_fn pci_written; /* the transport's, run under lock */
	bool tx_kicked;		     /* the driver kicked the transmitq */
	u32 tx_len;
	u8 tx_frame[VIRTIO_NET_FRAME_MAX]; /* under tx_lock */
	/* Counters. */
	u64 rx_frames, rx_bytes, tx_frames, tx_bytes;
	u64 rx_dropped_no_buffer, rx_dropped_too_big, tx_bad;
};

/*
 * Set up `n` in PCI slot `slot`, its BAR at bar_base, with MAC `mac`
 * (unicast, not all zeros), its frames going to send(send_ctx, ...).
 * False when it does not fit or the MAC is not one a NIC may have.
 */
bool virtio_net_init(struct virtio_net *n, const struct virtio_host *host,
		     u8 slot, u64 bar_base, const u8 mac[VIRTIO_NET_MAC_LEN],
		     virtio_net_send_fn send, void *send_ctx);

/* The BAR's MMIO, as virtio_pci_read/write but under the lock (and a
 * kick of the transmitq sends what waits). */
int virtio_net_read(struct virtio_net *n, u64 offset, u8 size, u64 *value);
int virtio_net_write(struct virtio_net *n, u64 offset, u8 size, u64 value);

/* A frame for the guest, from any CPU: true when it is in a receive
 * buffer, false when dropped (counted). */
bool virtio_net_receive(struct virtio_net *n, const u8 *frame, u32 len);

#endif /* VENEER_CORE_VDEV_VIRTIO_NET_H */
