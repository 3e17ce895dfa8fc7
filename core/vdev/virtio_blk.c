/* SPDX-License-Identifier: MIT */
#include "core/vdev/virtio_blk.h"
#include "core/lib/string.h"

/* Feature bits (5.2.3). */
#define BLK_F_SEG_MAX  (1ull << 2)
#define BLK_F_RO       (1ull << 5)
#define BLK_F_BLK_SIZE (1ull << 6)
#define BLK_F_FLUSH    (1ull << 9)
/* Device configuration (5.2.4): capacity in sectors, seg_max, blk_size. */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX  12
#define CFG_BLK_SIZE 20
#define CFG_LEN	     24
/* Requests (5.2.6): a 16-byte header, data, a status byte. */
#define REQ_HEADER 16
#define REQ_IN	   0
#define REQ_OUT	   1
#define REQ_FLUSH  4
#define REQ_GET_ID 8
#define S_OK	   0
#define S_IOERR	   1
#define S_UNSUPP   2
#define BLK_CLASS  0x018000 /* mass storage, other */

/* [sector, + len bytes) lies on the disk: no wrap-around. */
static bool on_disk(const struct virtio_blk *blk, u64 sector, u64 len)
{
	u64 start;

	if (sector > blk->bytes / VIRTIO_BLK_SECTOR)
		return false;
	start = sector * VIRTIO_BLK_SECTOR;
	return len <= blk->bytes - start;
}

/* Serve one request; returns the status byte, *data_written the bytes
 * put in the writable buffers before it. */
static u8 serve(struct virtio_blk *blk, const struct virtq_chain *c,
		u64 *data_written)
{
	const struct guest_mem *mem = &blk->vp.host.mem;
	u8 hdr[REQ_HEADER];
	u64 sector, len;
	u32 type;

	*data_written = 0;
	virtq_read(mem, c, 0, hdr, REQ_HEADER);
	type = (u32)virtio_get_le(hdr, 4);
	sector = virtio_get_le(hdr + 8, 8);
	switch (type) {
	case REQ_IN:
		len = c->writable - 1;
		if (len % VIRTIO_BLK_SECTOR || !on_disk(blk, sector, len))
			return S_IOERR;
		*data_written = virtq_write(
		    mem, c, 0, blk->data + sector * VIRTIO_BLK_SECTOR, len);
		blk->reads++;
		blk->read_bytes += len;
		return S_OK;
	case REQ_OUT:
		len = c->readable - REQ_HEADER;
		if (blk->read_only || len % VIRTIO_BLK_SECTOR ||
		    !on_disk(blk, sector, len))
			return S_IOERR;
		virtq_read(mem, c, REQ_HEADER,
			   blk->data + sector * VIRTIO_BLK_SECTOR, len);
		blk->writes++;
		blk->written_bytes += len;
		return S_OK;
	case REQ_FLUSH:
		/* The disk is memory: written data is where reads find it. */
		blk->flushes++;
		return S_OK;
	case REQ_GET_ID: {
		u8 id[VIRTIO_BLK_ID_BYTES] = {0};

		memcpy(id, blk->serial, strlen(blk->serial));
		*data_written = virtq_write(
		    mem, c, 0, id, MIN((u64)sizeof(id), c->writable - 1));
		return S_OK;
	}
	default:
		return S_UNSUPP;
	}
}

static void kick(struct virtio_pci *vp, u16 q)
{
	struct virtio_blk *blk = vp->dev;
	struct virtq *vq = &vp->vq[q].q;
	u16 old = vq->used_idx;
	char why[VIRTQ_WHY_MAX];
	int got;

	while ((got = virtq_pop(vq, &vp->host.mem, &vp->chain, why)) > 0) {
		const struct virtq_chain *c = &vp->chain;
		u64 written = 0;
		u8 status;

		if (c->readable < REQ_HEADER || c->writable < 1) {
			/* No header or no room for the status: nothing can
			 * be said about it but that it is done. */
			blk->bad_requests++;
		} else {
			/* The status is the last writable byte (5.2.6). */
			status = serve(blk, c, &written);
			virtq_write(&vp->host.mem, c, c->writable - 1, &status,
				    1);
			written++;
		}
		if (virtq_push(vq, &vp->host.mem, c->head, (u32)written, why)) {
			got = -1;
			break;
		}
	}
	/* Requests served before a broken one are the driver's: say so. */
	if (vq->used_idx != old)
		virtio_pci_used(vp, q, old);
	if (got < 0)
		virtio_pci_broken(vp, q, why);
}

static const struct virtio_device_ops blk_ops = {
    .name = "virtio-blk",
    .type = 2,
    .class_code = BLK_CLASS,
    .queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_SIZE,
    .kick = kick,
};

bool virtio_blk_init(struct virtio_blk *blk, const struct virtio_host *host,
		     u8 slot, u64 bar_base, u8 *data, u64 bytes, bool read_only,
		     const char *serial)
{
	u64 features = BLK_F_SEG_MAX | BLK_F_BLK_SIZE | BLK_F_FLUSH |
		       VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
	struct virtio_pci *vp = &blk->vp;

	if (bytes % VIRTIO_BLK_SECTOR)
		return false;
	memset(blk, 0, sizeof(*blk));
	blk->data = data;
	blk->bytes = bytes;
	blk->read_only = read_only;
	str_copy(blk->serial, serial, sizeof(blk->serial));
	if (read_only)
		features |= BLK_F_RO;
	virtio_put_le(vp->config + CFG_CAPACITY, bytes / VIRTIO_BLK_SECTOR, 8);
	virtio_put_le(vp->config + CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX, 4);
	virtio_put_le(vp->config + CFG_BLK_SIZE, VIRTIO_BLK_SECTOR, 4);
	return virtio_pci_init(vp, &blk_ops, blk, host, slot, bar_base,
			       features, CFG_LEN);
}
