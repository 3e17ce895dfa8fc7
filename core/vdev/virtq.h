/* SPDX-License-Identifier: MIT */
/*
 * The device side of a virtio split virtqueue (virtio 1.2, 2.7): taking
 * the chains the driver makes available, returning them through the used
 * ring, and deciding whether the driver wants an interrupt. Pure: guest
 * RAM comes in as a struct guest_mem, nothing else is touched.
 *
 * Everything in the rings is the guest's and hostile: every address,
 * length and index is checked against guest RAM and the queue size
 * before it is used, every ring field is read once (another vCPU may
 * rewrite it meanwhile), and every walk is bounded. A driver error is
 * reported as -1 with a sentence in `why` naming the descriptor and the
 * rule; the caller then sets DEVICE_NEEDS_RESET (2.1.2) and the queue is
 * not used again until the driver resets the device.
 *
 * Layout (2.7, the table of queue parts), le = little-endian, x86's own:
 *   descriptor table  16-byte aligned, 16 * size bytes:
 *                     { le64 addr; le32 len; le16 flags; le16 next; }
 *   available ring    2-byte aligned, 6 + 2 * size bytes:
 *                     { le16 flags; le16 idx; le16 ring[size]; le16 used_event;
 * } used ring         4-byte aligned, 6 + 8 * size bytes: { le16 flags; le16
 * idx; { le32 id; le32 len; } ring[size]; le16 avail_event; }
 */
#ifndef VENEER_CORE_VDEV_VIRTQ_H
#define VENEER_CORE_VDEV_VIRTQ_H

#include "core/guestmem.h"
#include "core/lib/types.h"

/* Largest queue this file accepts (the spec allows 32768, 2.7). */
#define VIRTQ_MAX_SIZE 256
/* Buffers in one chain, those of an indirect table included. */
#define VIRTQ_MAX_CHAIN 256
/* Room for a driver error's sentence, its NUL included. */
#define VIRTQ_WHY_MAX 96

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags (2.7.7) and used->flags (2.7.10). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/* The device's view of one queue. */
struct virtq {
	u16 size;	       /* a power of two; 0: not set up */
	u64 desc, avail, used; /* guest-physical */
	u16 last_avail;	       /* next available ring slot to take */
	u16 used_idx;	       /* the used->idx the device last wrote */
	bool event_idx;	       /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	       /* VIRTIO_F_INDIRECT_DESC negotiated */
};

/* One buffer of a chain: guest-physical [gpa, gpa + len), all RAM. */
struct virtq_buf {
	u64 gpa;
	u32 len;
	bool write; /* device-writable */
};

/*
 * One chain taken from the available ring, its buffers in order (those of
 * an indirect table in place of the descriptor that refers to it); the
 * readable ones all come before the writable ones. About 4 KiB: a caller
 * keeps it in its device state, never on a stack.
 */
struct virtq_chain {
	u16 head;		/* the chain's head index, for virtq_push */
	u16 count;		/* buffers in buf[] */
	u64 readable, writable; /* their total bytes, of each kind */
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
};

/* Forget the queue (device reset, 2.1.2): size 0, indexes 0. */
void virtq_reset(struct virtq *q);

/*
 * Whether q may be used, when the driver enables it: size is a power of
 * two from 1 to VIRTQ_MAX_SIZE, and each of the three parts lies in guest
 * RAM at its alignment (2.7). 0, or -1 with why filled ("used ring at
 * 0x...: not 4-byte aligned"). The calls below never leave guest RAM
 * either way, but count on the alignment it checks (one load per field).
 */
int virtq_check(const struct virtq *q, const struct guest_mem *mem,
		char why[VIRTQ_WHY_MAX]);

/*
 * Take the next available chain (2.7.13, 2.7.5): 1 and c filled, head
 * included, last_avail advanced; 0 when none waits; -1 on a driver error,
 * why saying which: avail->idx more than size ahead of last_avail, a head
 * or next index out of range, a loop, a buffer not in RAM, a readable
 * buffer after a writable one, more than VIRTQ_MAX_CHAIN buffers, an
 * indirect table that breaks 2.7.5.3 (not negotiated, with NEXT, nested,
 * empty, length not a multiple of 16, more than VIRTQ_MAX_CHAIN entries,
 * not in RAM). Zero-length buffers are allowed (the spec does not forbid
 * them) and counted. Direct descriptors followed by one indirect one are
 * accepted, as 2.7.5.3.2 asks.
 *
 * With event_idx, a call that finds nothing waiting first publishes
 * used->avail_event = last_avail (2.7.10), so the driver kicks for the
 * next chain: a device pops until 0 (or -1) on each kick, or it may miss
 * notifications.
 */
int virtq_pop(struct virtq *q, const struct guest_mem *mem,
	      struct virtq_chain *c, char why[VIRTQ_WHY_MAX]);

/*
 * Return chain `head` with `written` bytes put in its writable buffers
 * (2.7.8, 2.7.14): the used ring entry, then used->idx advanced, in that
 * order as the driver sees them. 0, or -1 when the used ring is not in
 * RAM (only if virtq_check was skipped).
 */
int virtq_push(struct virtq *q, const struct guest_mem *mem, u16 head,
	       u32 written, char why[VIRTQ_WHY_MAX]);

/*
 * Pushes moved used_idx from old_used to q->used_idx: does the driver want
 * an interrupt (2.7.7)? With event_idx, iff used_event lies in
 * [old_used, used_idx) modulo 2^16; otherwise unless avail->flags has
 * NO_INTERRUPT. False when nothing was pushed.
 */
bool virtq_should_notify(const struct virtq *q, const struct guest_mem *mem,
			 u16 old_used);

/*
 * Copy between the chain's readable (virtq_read) or writable (virtq_write)
 * buffers, taken as one run of bytes, from byte `off` of that run, and a
 * host buffer. Returns the bytes copied: fewer than len when the run ends
 * first.
 */
u64 virtq_read(const struct guest_mem *mem, const struct virtq_chain *c,
	       u64 off, void *dst, u64 len);
u64 virtq_write(const struct guest_mem *mem, const struct virtq_chain *c,
		u64 off, const void *src, u64 len);

#endif /* VENEER_CORE_VDEV_VIRTQ_H */
