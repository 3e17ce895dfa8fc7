/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2, 5.2): a disk whose contents are a buffer in
 * host memory (a module the configuration gives the guest, or Veneer's
 * private copy of one). One request queue; requests are served at the
 * kick, in order, before the guest runs again: IN, OUT, FLUSH and
 * GET_ID. A read-only disk offers VIRTIO_BLK_F_RO and fails writes with
 * IOERR. docs/devices.md.
 */
#ifndef VENEER_CORE_VDEV_VIRTIO_BLK_H
#define VENEER_CORE_VDEV_VIRTIO_BLK_H

#include "core/lib/types.h"
#include "core/vdev/virtio_pci.h"

#define VIRTIO_BLK_SECTOR     512
#define VIRTIO_BLK_QUEUE_SIZE 128
#define VIRTIO_BLK_ID_BYTES   20 /* GET_ID: the serial number (5.2.6) */
/* Longest request the device takes: segments of a chain, less the
 * header and status. */
#define VIRTIO_BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2)

struct virtio_blk {
	struct virtio_pci vp;
	u8 *data;  /* the disk's bytes */
	u64 bytes; /* a multiple of VIRTIO_BLK_SECTOR */
	bool read_only;
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	/* Counters. */
	u64 reads, writes, flushes, bad_requests;
	u64 read_bytes, written_bytes;
};

/*
 * Set up `blk` over data[0 .. bytes) (bytes a multiple of 512) in PCI
 * slot `slot`, its BAR at bar_base; serial: up to 20 bytes the guest
 * reads with GET_ID (the module's name). False when it does not fit.
 */
bool virtio_blk_init(struct virtio_blk *blk, const struct virtio_host *host,
		     u8 slot, u64 bar_base, u8 *data, u64 bytes, bool read_only,
		     const char *serial);

#endif /* VENEER_CORE_VDEV_VIRTIO_BLK_H */
