/* SPDX-License-Identifier: MIT */
#include "core/vdev/vswitch.h"
#include "core/lib/string.h"

/* Where the MACs are in a frame (IEEE 802.3, 3.1.1). */
#define DEST   0
#define SOURCE 6

static bool is_multicast(const u8 *mac)
{
	return mac[0] & 1; /* broadcast is the all-ones multicast address */
}

static bool is_zero(const u8 *mac)
{
	for (u32 i = 0; i < VSWITCH_MAC_LEN; i++)
		if (mac[i])
			return false;
	return true;
}

/* The attached port that owns `mac`, or -1. */
static int owner(const struct vswitch *sw, const u8 *mac)
{
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++)
		if (sw->port[i].attached &&
		    !memcmp(sw->port[i].mac, mac, VSWITCH_MAC_LEN))
			return i;
	return -1;
}

static struct vswitch_port *attached(struct vswitch *sw, int port)
{
	if (port < 0 || port >= VSWITCH_MAX_PORTS || !sw->port[port].attached)
		return NULL;
	return &sw->port[port];
}

void vswitch_init(struct vswitch *sw)
{
	memset(sw, 0, sizeof(*sw));
}

int vswitch_attach(struct vswitch *sw, const u8 mac[VSWITCH_MAC_LEN],
		   vswitch_deliver_fn deliver, void *opaque)
{
	int got = -1;

	if (!deliver || is_multicast(mac) || is_zero(mac))
		return -1;
	spin_lock(&sw->lock);
	if (owner(sw, mac) < 0) {
		for (int i = 0; i < VSWITCH_MAX_PORTS && got < 0; i++)
			if (!sw->port[i].attached)
				got = i;
	}
	if (got >= 0) {
		struct vswitch_port *p = &sw->port[got];

		memset(p, 0, sizeof(*p));
		memcpy(p->mac, mac, VSWITCH_MAC_LEN);
		p->deliver = deliver;
		p->opaque = opaque;
		p->attached = true;
	}
	spin_unlock(&sw->lock);
	return got;
}

void vswitch_detach(struct vswitch *sw, int port)
{
	struct vswitch_port *p;

	spin_lock(&sw->lock);
	p = attached(sw, port);
	if (p) {
		p->attached = false;
		p->deliver = NULL;
		p->opaque = NULL;
	}
	spin_unlock(&sw->lock);
}

/* Give the frame to port `to`; its rx counters. */
static void deliver(struct vswitch_port *to, const u8 *frame, u32 len)
{
	if (to->deliver(to->opaque, frame, len)) {
		to->rx_frames++;
		to->rx_bytes += len;
	} else {
		to->rx_dropped++;
	}
}

bool vswitch_send(struct vswitch *sw, int port, const u8 *frame, u32 len)
{
	struct vswitch_port *from;
	bool sent = false;
	int to;

	spin_lock(&sw->lock);
	from = attached(sw, port);
	if (!from)
		goto out;
	if (len < VSWITCH_FRAME_MIN || len > VSWITCH_FRAME_MAX ||
	    memcmp(frame + SOURCE, from->mac, VSWITCH_MAC_LEN)) {
		from->tx_dropped++;
		goto out;
	}
	if (is_multicast(frame + DEST)) {
		for (int i = 0; i < VSWITCH_MAX_PORTS; i++)
			if (i != port && sw->port[i].attached)
				deliver(&sw->port[i], frame, len);
		sent = true;
	} else {
		to = owner(sw, frame + DEST);
		if (to >= 0 && to != port) {
			deliver(&sw->port[to], frame, len);
			sent = true;
		}
	}
	if (sent) {
		from->tx_frames++;
		from->tx_bytes += len;
	} else {
		from->tx_dropped++;
	}
out:
	spin_unlock(&sw->lock);
	return sent;
}
