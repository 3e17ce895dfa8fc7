/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2, 5.3): one console port, hvc0 in Linux, a
 * faster console than the 16550 (one exit per kick, not per byte). No
 * MULTIPORT, SIZE or EMERG_WRITE: queue 0 (receiveq) takes what is typed
 * to the guest, queue 1 (transmitq) gives its output. docs/devices.md.
 *
 * Output goes to `out` as it comes, chain by chain; the platform hands it
 * to the guest's console, where the UART's output goes too. Input waits
 * in a FIFO of VIRTIO_CONSOLE_RX_FIFO bytes until the driver has posted
 * buffers (a full FIFO drops the byte, as a UART's would).
 */
#ifndef VENEER_CORE_VDEV_VIRTIO_CONSOLE_H
#define VENEER_CORE_VDEV_VIRTIO_CONSOLE_H

#include "core/lib/types.h"
#include "core/vdev/virtio_pci.h"

#define VIRTIO_CONSOLE_QUEUE_SIZE 64
#define VIRTIO_CONSOLE_RX_FIFO	  256
#define VIRTIO_CONSOLE_RECEIVEQ	  0
#define VIRTIO_CONSOLE_TRANSMITQ  1

/* Bytes the guest wrote, in order (never a string: no NUL). */
typedef void (*virtio_console_out_fn)(void *opaque, const u8 *bytes, u32 len);

struct virtio_console {
	struct virtio_pci vp;
	virtio_console_out_fn out;
	void *opaque;
	u8 rx[VIRTIO_CONSOLE_RX_FIFO]; /* typed, not yet given: oldest first */
	u32 rx_head, rx_count;
	u8 tx[256]; /* output copied out of guest RAM, a piece at a time */
	/* Counters. */
	u64 bytes_in, bytes_out, dropped_in, chains_out;
};

/*
 * Set up `con` in PCI slot `slot`, its BAR at bar_base, its output going
 * to out(opaque, ...). False when it does not fit.
 */
bool virtio_console_init(struct virtio_console *con,
			 const struct virtio_host *host, u8 slot, u64 bar_base,
			 virtio_console_out_fn out, void *opaque);

/* A typed byte for the guest: into the receive queue if the driver has a
 * buffer posted, else the FIFO. False when the FIFO was full (dropped). */
bool virtio_console_receive(struct virtio_console *con, u8 byte);

#endif /* VENEER_CORE_VDEV_VIRTIO_CONSOLE_H */
