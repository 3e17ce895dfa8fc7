/* SPDX-License-Identifier: MIT */
#include "core/vdev/virtio_console.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

/* Device configuration (5.3.4): cols, rows, max_nr_ports, emerg_wr. Only
 * meaningful with features not offered; read as zeros. */
#define CFG_LEN	      12
#define CONSOLE_CLASS 0x078000 /* communication controller, other */

/*
 * Move FIFO bytes into the driver's receive buffers (5.3.6.1): each chain
 * gets as many as it holds. A chain with a device-readable buffer breaks
 * the device (receive buffers are write-only, 5.3.6.1).
 */
static void fill(struct virtio_console *con)
{
	struct virtio_pci *vp = &con->vp;
	struct virtq *vq = &vp->vq[VIRTIO_CONSOLE_RECEIVEQ].q;
	u16 old = vq->used_idx;
	char why[VIRTQ_WHY_MAX] = "";
	int got = 0;

	if (!virtio_pci_queue_live(vp, VIRTIO_CONSOLE_RECEIVEQ))
		return;
	while (con->rx_count &&
	       (got = virtq_pop(vq, &vp->host.mem, &vp->chain, why)) > 0) {
		const struct virtq_chain *c = &vp->chain;
		u64 written = 0;

		if (c->readable) {
			snformat(why, sizeof(why),
				 "descriptor chain %u: a device-readable "
				 "buffer in the receive queue",
				 c->head);
			got = -1;
			break;
		}
		while (con->rx_count && written < c->writable) {
			u32 run = MIN(con->rx_count,
				      VIRTIO_CONSOLE_RX_FIFO - con->rx_head);
			u64 n = MIN((u64)run, c->writable - written);

			virtq_write(&vp->host.mem, c, written,
				    con->rx + con->rx_head, n);
			written += n;
			con->rx_head =
			    (u32)((con->rx_head + n) % VIRTIO_CONSOLE_RX_FIFO);
			con->rx_count -= (u32)n;
		}
		if (virtq_push(vq, &vp->host.mem, c->head, (u32)written, why)) {
			got = -1;
			break;
		}
	}
	if (vq->used_idx != old)
		virtio_pci_used(vp, VIRTIO_CONSOLE_RECEIVEQ, old);
	if (got < 0)
		virtio_pci_broken(vp, VIRTIO_CONSOLE_RECEIVEQ, why);
}

/* The guest's output (5.3.6.2): every readable byte of every chain. */
static void transmit(struct virtio_console *con)
{
	struct virtio_pci *vp = &con->vp;
	struct virtq *vq = &vp->vq[VIRTIO_CONSOLE_TRANSMITQ].q;
	u16 old = vq->used_idx;
	char why[VIRTQ_WHY_MAX];
	int got;

	while ((got = virtq_pop(vq, &vp->host.mem, &vp->chain, why)) > 0) {
		const struct virtq_chain *c = &vp->chain;

		for (u64 at = 0; at < c->readable;) {
			u64 n = virtq_read(
			    &vp->host.mem, c, at, con->tx,
			    MIN((u64)sizeof(con->tx), c->readable - at));

			if (!n)
				break;
			con->out(con->opaque, con->tx, (u32)n);
			con->bytes_out += n;
			at += n;
		}
		con->chains_out++;
		if (virtq_push(vq, &vp->host.mem, c->head, 0, why)) {
			got = -1;
			break;
		}
	}
	if (vq->used_idx != old)
		virtio_pci_used(vp, VIRTIO_CONSOLE_TRANSMITQ, old);
	if (got < 0)
		virtio_pci_broken(vp, VIRTIO_CONSOLE_TRANSMITQ, why);
}

static void kick(struct virtio_pci *vp, u16 q)
{
	struct virtio_console *con = vp->dev;

	if (q == VIRTIO_CONSOLE_TRANSMITQ)
		transmit(con);
	else
		fill(con); /* new receive buffers: input may be waiting */
}

static const struct virtio_device_ops console_ops = {
    .name = "virtio-console",
    .type = 3,
    .class_code = CONSOLE_CLASS,
    .queues = 2,
    .queue_max = VIRTIO_CONSOLE_QUEUE_SIZE,
    .kick = kick,
};

bool virtio_console_receive(struct virtio_console *con, u8 byte)
{
	if (con->rx_count == VIRTIO_CONSOLE_RX_FIFO) {
		con->dropped_in++;
		return false;
	}
	con->rx[(con->rx_head + con->rx_count) % VIRTIO_CONSOLE_RX_FIFO] = byte;
	con->rx_count++;
	con->bytes_in++;
	fill(con);
	return true;
}

bool virtio_console_init(struct virtio_console *con,
			 const struct virtio_host *host, u8 slot, u64 bar_base,
			 virtio_console_out_fn out, void *opaque)
{
	memset(con, 0, sizeof(*con));
	con->out = out;
	con->opaque = opaque;
	return virtio_pci_init(
	    &con->vp, &console_ops, con, host, slot, bar_base,
	    VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX, CFG_LEN);
}
