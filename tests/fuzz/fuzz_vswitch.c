/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the switch between guests (core/vdev/vswitch.c) with two
 * virtio-net NICs on it (core/vdev/virtio_net.c over virtio_pci.c and
 * virtq.c), each driven by a hostile driver: BAR reads and writes,
 * configuration-space writes, kicks, its guest RAM rewritten between
 * them; and raw frames sent on a port, ports detached and attached again.
 *
 * Input: steps; each an operation byte (bits 0-2 the operation, bit 3
 * the NIC, see step()) and its operands.
 *
 * Checked (besides what ASan and UBSan catch): a frame delivered to a NIC
 * is 14 to 1514 bytes, comes from another attached port with that port's
 * MAC as its source, and is addressed to the receiver's MAC or a group;
 * reads are no wider than the access; no lock is left held; the status
 * never shows FEATURES_OK for features not offered.
 */
#include <string.h>

#include "core/vdev/virtio_net.h"
#include "core/vdev/vswitch.h"
#include "tests/fuzz/fuzz.h"

#define RAM_SIZE 0x4000
#define NICS	 2

struct nic {
	struct virtio_net n;
	u8 ram[RAM_SIZE];
	int port;
};

static const u8 macs[NICS][6] = {{0x52, 0x54, 0x00, 0xaa, 0x00, 0x01},
				 {0x52, 0x54, 0x00, 0xbb, 0x00, 0x02}};
static struct nic nic[NICS];
static struct vswitch sw;
static int sending = -1; /* the port whose frame the switch forwards */

static void send(void *ctx, const u8 *frame, u32 len)
{
	struct nic *t = ctx;

	sending = t->port;
	vswitch_send(&sw, t->port, frame, len);
	sending = -1;
}

static bool deliver(void *opaque, const u8 *frame, u32 len)
{
	struct nic *t = opaque;

	FUZZ_CHECK(len >= VSWITCH_FRAME_MIN && len <= VSWITCH_FRAME_MAX,
		   "a %u-byte frame delivered", len);
	FUZZ_CHECK(sending >= 0 && sending != t->port &&
		       sw.port[sending].attached,
		   "frame from port %d delivered to port %d", sending, t->port);
	FUZZ_CHECK(!memcmp(frame + 6, sw.port[sending].mac, 6),
		   "a frame with another port's source MAC delivered");
	FUZZ_CHECK((frame[0] & 1) || !memcmp(frame, macs[t - nic], 6),
		   "unicast for another MAC delivered to port %d", t->port);
	return virtio_net_receive(&t->n, frame, len);
}

static void fake_msi(void *ctx, u64 addr, u32 data)
{
	(void)ctx;
	(void)addr;
	(void)data;
}

static u32 bar_offset(struct fuzz_in *in)
{
	static const u32 bases[] = {VIRTIO_PCI_COMMON,	    VIRTIO_PCI_ISR,
				    VIRTIO_PCI_DEVICE_CFG,  VIRTIO_PCI_NOTIFY,
				    VIRTIO_PCI_MSIX_TABLE,  VIRTIO_PCI_MSIX_PBA,
				    VIRTIO_PCI_BAR_SIZE - 8};

	return FUZZ_PICK(in, bases) + fuzz_below(in, 64);
}

/* A plausible driver set-up of both queues (op 5). */
static void setup(struct fuzz_in *in, struct virtio_net *n)
{
	u32 features = fuzz_u32(in);
	u16 size = (u16)(1u << fuzz_below(in, 9));

	virtio_net_write(n, 20, 1, 0);
	virtio_net_write(n, 20, 1, 3);
	virtio_net_write(n, 8, 4, 1);
	virtio_net_write(n, 12, 4, 1);
	virtio_net_write(n, 8, 4, 0);
	virtio_net_write(n, 12, 4, features);
	virtio_net_write(n, 20, 1, 0x0b);
	for (u16 q = 0; q < 2; q++) {
		virtio_net_write(n, 22, 2, q);
		virtio_net_write(n, 24, 2, size);
		virtio_net_write(n, 32, 8, fuzz_below(in, RAM_SIZE));
		virtio_net_write(n, 40, 8, fuzz_below(in, RAM_SIZE));
		virtio_net_write(n, 48, 8, fuzz_below(in, RAM_SIZE));
		virtio_net_write(n, 28, 2, 1);
	}
	virtio_net_write(n, 20, 1, 0x0f);
}

static void step(struct fuzz_in *in)
{
	static const u8 sizes[] = {1, 2, 4, 8};
	u8 op = fuzz_u8(in);
	struct nic *t = &nic[(op >> 3) & 1];
	u64 value;

	if (in->done)
		return;
	switch (op & 7) {
	case 0: {
		u32 off = bar_offset(in);
		u8 size = FUZZ_PICK(in, sizes);

		virtio_net_write(&t->n, off, size, fuzz_u64(in));
		break;
	}
	case 1: {
		u32 off = bar_offset(in);
		u8 size = FUZZ_PICK(in, sizes);

		virtio_net_read(&t->n, off, size, &value);
		FUZZ_CHECK(size == 8 || value >> (8 * size) == 0,
			   "%u-byte read gave 0x%llx", size,
			   (unsigned long long)value);
		break;
	}
	case 2: /* configuration space, as the platform writes it */
		fuzz_config_write(in, &t->n.vp.pci);
		break;
	case 3: /* the driver rewrites its RAM */
		fuzz_ram_write(in, t->ram, RAM_SIZE);
		break;
	case 4: /* a kick of queue 0 or 1 */
		virtio_net_write(&t->n,
				 VIRTIO_PCI_NOTIFY +
				     VIRTIO_PCI_NOTIFY_MULT * (fuzz_u8(in) & 1),
				 2, 0);
		break;
	case 5:
		setup(in, &t->n);
		break;
	case 6: { /* a raw frame on the port, its source right or not */
		static u8 frame[VSWITCH_FRAME_MAX + 100];
		bool own = fuzz_bool(in);
		size_t len;
		const u8 *b = fuzz_bytes(in, sizeof(frame), &len);

		memcpy(frame, b, len);
		if (own && len >= 12)
			memcpy(frame + 6, macs[t - nic], 6);
		send(t, frame, (u32)len);
		break;
	}
	default: /* the guest stops, or starts again */
		if (t->port >= 0) {
			vswitch_detach(&sw, t->port);
			t->port = -1;
		} else {
			t->port =
			    vswitch_attach(&sw, macs[t - nic], deliver, t);
			FUZZ_CHECK(t->port >= 0, "attach refused");
		}
		break;
	}
}

static bool lock_free(const spinlock_t *l)
{
	return l->next == l->owner;
}

static void check_state(void)
{
	FUZZ_CHECK(lock_free(&sw.lock), "the switch's lock is held");
	for (u32 i = 0; i < NICS; i++) {
		const struct virtio_pci *vp = &nic[i].n.vp;

		FUZZ_CHECK(lock_free(&nic[i].n.lock) &&
			       lock_free(&nic[i].n.tx_lock),
			   "NIC %u's lock is held", i);
		if (vp->status & VIRTIO_STATUS_FEATURES_OK)
			FUZZ_CHECK(!(vp->guest_features & ~vp->features),
				   "FEATURES_OK with 0x%llx of 0x%llx",
				   (unsigned long long)vp->guest_features,
				   (unsigned long long)vp->features);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	vswitch_init(&sw);
	for (u32 i = 0; i < NICS; i++) {
		const struct virtio_host host = {
		    .mem = {.base = nic[i].ram, .size = RAM_SIZE},
		    .guest = i ? "b" : "a",
		    .msi = fake_msi,
		    .intx = fuzz_no_intx,
		    .map = fuzz_no_map,
		};

		memset(nic[i].ram, 0, RAM_SIZE);
		FUZZ_CHECK(virtio_net_init(&nic[i].n, &host, 3, 0xc0008000ull,
					   macs[i], send, &nic[i]),
			   "init");
		nic[i].port = vswitch_attach(&sw, macs[i], deliver, &nic[i]);
		FUZZ_CHECK(nic[i].port == (int)i, "attach");
	}
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
