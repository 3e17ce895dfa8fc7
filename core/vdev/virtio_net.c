/* SPDX-License-Identifier: MIT */
#include "core/vdev/virtio_net.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

/* Device configuration (5.1.4): mac, status. max_virtqueue_pairs and the
 * fields after it exist only with features not offered. */
#define CFG_LEN	  8
#define NET_CLASS 0x020000 /* network controller, Ethernet */
/* virtio_net_hdr.num_buffers (5.1.6): 1 without MRG_RXBUF. */
#define HDR_NUM_BUFFERS 10

/* A kick: receive buffers are taken when a frame comes, so only the
 * transmitq has work, done by virtio_net_write once the lock is let go
 * (send() may not run under it). Called under n->lock. */
static void kick(struct virtio_pci *vp, u16 q)
{
	struct virtio_net *n = vp->dev;

	if (q == VIRTIO_NET_TRANSMITQ)
		n->tx_kicked = true;
}

static const struct virtio_device_ops net_ops = {
    .name = "virtio-net",
    .type = VIRTIO_NET_TYPE,
    .class_code = NET_CLASS,
    .queues = 2,
    .queue_max = VIRTIO_NET_QUEUE_SIZE,
    .kick = kick,
};

/*
 * Take chains off the transmitq (5.1.6.2) until one holds a frame, now in
 * n->tx_frame: true; false when none waits or the device broke. Each
 * chain is returned at once, with length 0 (nothing written).
 */
static bool take_frame(struct virtio_net *n)
{
	struct virtio_pci *vp = &n->vp;
	struct virtq *vq = &vp->vq[VIRTIO_NET_TRANSMITQ].q;
	const struct virtq_chain *c = &vp->chain;
	char why[VIRTQ_WHY_MAX];
	bool frame = false;
	int got = 0;

	spin_lock(&n->lock);
	while (!frame && virtio_pci_queue_live(vp, VIRTIO_NET_TRANSMITQ)) {
		u16 old = vq->used_idx;
		u64 len;

		got = virtq_pop(vq, &vp->host.mem, &vp->chain, why);
		if (got <= 0)
			break;
		if (c->writable) {
			snformat(why, sizeof(why),
				 "descriptor chain %u: a device-writable "
				 "buffer in the transmit queue",
				 c->head);
			got = -1;
			break;
		}
		len = c->readable - MIN(c->readable, VIRTIO_NET_HDR_LEN);
		if (c->readable < VIRTIO_NET_HDR_LEN ||
		    len < VIRTIO_NET_FRAME_MIN || len > VIRTIO_NET_FRAME_MAX) {
			n->tx_bad++;
		} else {
			virtq_read(&vp->host.mem, c, VIRTIO_NET_HDR_LEN,
				   n->tx_frame, len);
			n->tx_len = (u32)len;
			frame = true;
		}
		if (virtq_push(vq, &vp->host.mem, c->head, 0, why)) {
			frame = false;
			got = -1;
			break;
		}
		virtio_pci_used(vp, VIRTIO_NET_TRANSMITQ, old);
	}
	if (got < 0)
		virtio_pci_broken(vp, VIRTIO_NET_TRANSMITQ, why);
	spin_unlock(&n->lock);
	return frame;
}

/* Send every frame waiting on the transmitq, in order. */
static void transmit(struct virtio_net *n)
{
	spin_lock(&n->tx_lock);
	while (take_frame(n)) {
		n->tx_frames++;
		n->tx_bytes += n->tx_len;
		n->send(n->send_ctx, n->tx_frame, n->tx_len);
	}
	spin_unlock(&n->tx_lock);
}

int virtio_net_read(struct virtio_net *n, u64 offset, u8 size, u64 *value)
{
	int r;

	spin_lock(&n->lock);
	r = virtio_pci_read(&n->vp, offset, size, value);
	spin_unlock(&n->lock);
	return r;
}

int virtio_net_write(struct virtio_net *n, u64 offset, u8 size, u64 value)
{
	bool tx;
	int r;

	spin_lock(&n->lock);
	r = virtio_pci_write(&n->vp, offset, size, value);
	tx = n->tx_kicked;
	n->tx_kicked = false;
	spin_unlock(&n->lock);
	if (tx)
		transmit(n);
	return r;
}

/* PCI configuration writes change MSI-X and INTx state a receive on
 * another CPU uses: the transport's hook, under the lock. */
static void config_written(struct vpci_func *f, u8 offset, u8 size)
{
	struct virtio_net *n = ((struct virtio_pci *)f->opaque)->dev;

	spin_lock(&n->lock);
	n->pci_written(f, offset, size);
	spin_unlock(&n->lock);
}

/* Put the frame in the chain, behind a header (5.1.6.3, 5.1.6.4): the
 * bytes written, 0 (the buffer given back unused) when it does not fit. */
static u32 fill(struct virtio_net *n, const struct virtq_chain *c,
		const u8 *frame, u32 len)
{
	u8 hdr[VIRTIO_NET_HDR_LEN] = {0};

	if (c->writable < VIRTIO_NET_HDR_LEN + (u64)len) {
		n->rx_dropped_too_big++;
		return 0;
	}
	/* No offloads: flags 0 (checksum not known to be valid), gso_type
	 * NONE; the frame fits in one buffer chain. */
	virtio_put_le(hdr + HDR_NUM_BUFFERS, 1, 2);
	virtq_write(&n->vp.host.mem, c, 0, hdr, sizeof(hdr));
	virtq_write(&n->vp.host.mem, c, VIRTIO_NET_HDR_LEN, frame, len);
	n->rx_frames++;
	n->rx_bytes += len;
	return VIRTIO_NET_HDR_LEN + len;
}

bool virtio_net_receive(struct virtio_net *n, const u8 *frame, u32 len)
{
	struct virtio_pci *vp = &n->vp;
	struct virtq *vq = &vp->vq[VIRTIO_NET_RECEIVEQ].q;
	const struct virtq_chain *c = &vp->chain;
	char why[VIRTQ_WHY_MAX];
	u32 written = 0;
	u16 old;
	int got = 0;

	spin_lock(&n->lock);
	old = vq->used_idx;
	if (len > VIRTIO_NET_FRAME_MAX)
		n->rx_dropped_too_big++;
	else if (!virtio_pci_queue_live(vp, VIRTIO_NET_RECEIVEQ) ||
		 (got = virtq_pop(vq, &vp->host.mem, &vp->chain, why)) <= 0)
		n->rx_dropped_no_buffer++;
	if (got > 0 && c->readable) {
		/* Receive buffers are device-writable only (5.1.6.3). */
		snformat(why, sizeof(why),
			 "descriptor chain %u: a device-readable buffer in "
			 "the receive queue",
			 c->head);
		n->rx_dropped_no_buffer++;
		got = -1;
	}
	if (got > 0) {
		written = fill(n, c, frame, len);
		if (virtq_push(vq, &vp->host.mem, c->head, written, why)) {
			written = 0;
			got = -1;
		} else {
			virtio_pci_used(vp, VIRTIO_NET_RECEIVEQ, old);
		}
	}
	if (got < 0)
		virtio_pci_broken(vp, VIRTIO_NET_RECEIVEQ, why);
	spin_unlock(&n->lock);
	return written != 0;
}

bool virtio_net_init(struct virtio_net *n, const struct virtio_host *host,
		     u8 slot, u64 bar_base, const u8 mac[VIRTIO_NET_MAC_LEN],
		     virtio_net_send_fn send, void *send_ctx)
{
	u64 features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS |
		       VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
	struct virtio_pci *vp = &n->vp;
	u8 any = 0;

	for (u32 i = 0; i < VIRTIO_NET_MAC_LEN; i++)
		any |= mac[i];
	if (!send || !any || (mac[0] & 1))
		return false;
	memset(n, 0, sizeof(*n));
	n->send = send;
	n->send_ctx = send_ctx;
	memcpy(vp->config + VIRTIO_NET_CFG_MAC, mac, VIRTIO_NET_MAC_LEN);
	virtio_put_le(vp->config + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP,
		      2);
	if (!virtio_pci_init(vp, &net_ops, n, host, slot, bar_base, features,
			     CFG_LEN))
		return false;
	n->pci_written = vp->pci.written;
	vp->pci.written = config_written;
	return true;
}
