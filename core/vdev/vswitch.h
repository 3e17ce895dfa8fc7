/* SPDX-License-Identifier: MIT */
/*
 * The Ethernet switch inside the hypervisor that joins the guests' NICs
 * (core/vdev/virtio_net.c): up to VSWITCH_MAX_PORTS ports, one per NIC,
 * each with the MAC its guest's declaration gives it.
 *
 * Forwarding, for a frame sent on port p:
 *  - it is 14 to 1514 bytes (destination, source, EtherType, at most 1500
 *    bytes of payload; no 802.1Q tag, no jumbo frames, no FCS), else it
 *    is dropped;
 *  - its source MAC is p's own, else it is dropped (anti-spoofing: a
 *    guest cannot claim another guest's MAC, nor invent one);
 *  - broadcast and multicast (bit 0 of the first byte set) go to every
 *    attached port but p;
 *  - unicast goes to the port that owns the destination MAC, never back
 *    to p; unicast that no other port owns is dropped.
 * Dropped frames count in p's tx_dropped. A receiver without a buffer
 * (deliver() false) counts in its rx_dropped.
 *
 * The forwarding table is the ports' own MACs, learned at attach from
 * the declarations: since a port may only send from its own MAC, that is
 * all that could ever be learned from traffic, and knowing it before a
 * guest's first frame means unicast to a silent guest is never flooded.
 * A MAC maps to at most one port (attach refuses one in use); detach
 * forgets it. Unknown unicast is therefore addressed to no guest on the
 * switch (there is no uplink), and is dropped rather than flooded: no
 * guest sees a frame addressed to another guest.
 *
 * Locking: the switch has one lock, taken by attach, detach and send;
 * deliver() is called with it held, on the sender's CPU, so once
 * vswitch_detach() returns the port's deliver() is never called again.
 * deliver() must not call back into the switch. The counters may be read
 * without the lock (each is one aligned u64; together they may be a
 * frame apart).
 */
#ifndef VENEER_CORE_VDEV_VSWITCH_H
#define VENEER_CORE_VDEV_VSWITCH_H

#include "core/lib/spinlock.h"
#include "core/lib/types.h"

#define VSWITCH_MAX_PORTS 16
#define VSWITCH_MAC_LEN	  6
#define VSWITCH_FRAME_MIN 14   /* the Ethernet header alone */
#define VSWITCH_FRAME_MAX 1514 /* header + 1500 bytes, no VLAN tag */

/* Hand `frame` to a port's NIC: false when it had no room (dropped). */
typedef bool (*vswitch_deliver_fn)(void *opaque, const u8 *frame, u32 len);

struct vswitch_port {
	bool attached;
	u8 mac[VSWITCH_MAC_LEN];
	vswitch_deliver_fn deliver;
	void *opaque;
	/* Counters: tx from the port's NIC into the switch, rx out to it. */
	u64 tx_frames, tx_bytes, tx_dropped;
	u64 rx_frames, rx_bytes, rx_dropped;
};

struct vswitch {
	spinlock_t lock;
	struct vswitch_port port[VSWITCH_MAX_PORTS];
};

void vswitch_init(struct vswitch *sw);

/*
 * A port for the NIC with `mac`, frames for it to deliver(opaque, ...):
 * its index, counters zeroed, or -1 when no port is free, deliver is
 * NULL, or mac is multicast, all zeros or another port's.
 */
int vswitch_attach(struct vswitch *sw, const u8 mac[VSWITCH_MAC_LEN],
		   vswitch_deliver_fn deliver, void *opaque);

/* Take the port off the switch; its counters stay until it is reused. */
void vswitch_detach(struct vswitch *sw, int port);

/* A frame the NIC on `port` sent: true when forwarded (to any number of
 * ports), false when dropped or port is not attached. */
bool vswitch_send(struct vswitch *sw, int port, const u8 *frame, u32 len);

#endif /* VENEER_CORE_VDEV_VSWITCH_H */
