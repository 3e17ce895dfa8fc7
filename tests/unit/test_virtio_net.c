/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/virtio_net.c: virtio-net (virtio 1.2, 5.1)
 * over the PCI transport, driven as a driver would through its BAR, with
 * its rings and buffers in a fake guest RAM: the identity, features and
 * configuration, transmit (the header stripped, bad chains), receive
 * (the header written, no buffer, a buffer too small), hostile chains,
 * the locks, and two NICs joined through a real core/vdev/vswitch.c.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/virtio_net.h"
#include "core/vdev/vswitch.h"

#define RAM_SIZE 0x20000
#define BAR_BASE 0xc0008000ull
#define QSIZE	 16
/* Where the test driver puts its queues and buffers in guest RAM. */
#define RX_DESC	   0x1000
#define RX_AVAIL   0x2000
#define RX_USED	   0x3000
#define TX_DESC	   0x4000
#define TX_AVAIL   0x5000
#define TX_USED	   0x6000
#define RX_BUF	   0x8000 /* 0x800 bytes for each of QSIZE buffers */
#define TX_HDR	   0x10000
#define TX_DATA	   0x10100
#define RX_BUF_LEN (VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX)
#define NOTIFY(q)  (VIRTIO_PCI_NOTIFY + VIRTIO_PCI_NOTIFY_MULT * (q))

static const u8 mac_a[6] = {0x52, 0x54, 0x00, 0xaa, 0x00, 0x01};
static const u8 mac_b[6] = {0x52, 0x54, 0x00, 0xbb, 0x00, 0x02};
static const u8 broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* A guest with one NIC, and what its host saw. */
struct tnic {
	struct virtio_net n;
	u8 ram[RAM_SIZE];
	bool to_switch; /* send() goes to the switch, else recorded */
	int port;
	u32 intx_raised, msi_count;
	bool intx;
	u32 sent;
	u32 sent_len;
	u8 sent_frame[VIRTIO_NET_FRAME_MAX];
};

static struct tnic a, b;
static struct vswitch sw;
static u8 frame[VIRTIO_NET_FRAME_MAX + 16];
/* Two guests run at once: another CPU may hold a NIC's lock any time. */
static bool threaded;

/* Not held: checked only while one thread runs. */
static bool lock_free(const spinlock_t *l)
{
	return threaded || l->next == l->owner;
}

/* Held (by this thread, where the tests call it). */
static bool held(const spinlock_t *l)
{
	return l->next != l->owner;
}

static void fake_send(void *ctx, const u8 *f, u32 len)
{
	struct tnic *t = ctx;

	/* Sent holding tx_lock, not the device lock. */
	assert_true(lock_free(&t->n.lock));
	assert_true(held(&t->n.tx_lock));
	if (t->to_switch) {
		vswitch_send(&sw, t->port, f, len);
		return;
	}
	assert_true(len <= sizeof(t->sent_frame));
	t->sent++;
	t->sent_len = len;
	memcpy(t->sent_frame, f, len);
}

static bool deliver(void *opaque, const u8 *f, u32 len)
{
	return virtio_net_receive(opaque, f, len);
}

static void fake_msi(void *ctx, u64 addr, u32 data)
{
	struct tnic *t = ctx;

	(void)addr;
	(void)data;
	assert_true(held(&t->n.lock));
	t->msi_count++;
}

static void fake_intx(void *ctx, struct virtio_pci *vp, bool level)
{
	struct tnic *t = ctx;

	(void)vp;
	assert_true(held(&t->n.lock));
	t->intx = level;
	if (level)
		t->intx_raised++;
}

static void fake_map(void *ctx, struct virtio_pci *vp, u64 old, u64 base)
{
	(void)ctx;
	(void)vp;
	(void)old;
	(void)base;
}

static bool init(struct tnic *t, const u8 *mac)
{
	const struct virtio_host host = {
	    .mem = {.base = t->ram, .size = RAM_SIZE},
	    .guest = t == &a ? "a" : "b",
	    .msi = fake_msi,
	    .intx = fake_intx,
	    .map = fake_map,
	    .ctx = t,
	};

	memset(t, 0, sizeof(*t));
	t->port = -1;
	return virtio_net_init(&t->n, &host, 3, BAR_BASE, mac, fake_send, t);
}

static int setup(void **state)
{
	(void)state;
	threaded = false;
	vswitch_init(&sw);
	return init(&a, mac_a) && init(&b, mac_b) ? 0 : -1;
}

static u64 bar_read(struct tnic *t, u32 off, u8 size)
{
	u64 v = 0;

	assert_int_equal(virtio_net_read(&t->n, off, size, &v), 0);
	assert_true(lock_free(&t->n.lock));
	return v;
}

static void bar_write(struct tnic *t, u32 off, u8 size, u64 v)
{
	assert_int_equal(virtio_net_write(&t->n, off, size, v), 0);
	assert_true(lock_free(&t->n.lock));
	assert_true(lock_free(&t->n.tx_lock));
}

/* A configuration write as the platform makes it: the bytes, then the
 * function's hook once. */
static void pci_write(struct tnic *t, u8 off, u32 value, u8 size)
{
	struct vpci_func *f = &t->n.vp.pci;

	for (u8 i = 0; i < size; i++) {
		u8 m = f->wmask[off + i];

		f->config[off + i] =
		    (u8)((f->config[off + i] & ~m) | ((value >> (8 * i)) & m));
	}
	f->written(f, off, size);
	assert_true(lock_free(&t->n.lock));
}

static void queue_setup(struct tnic *t, u16 q, u64 desc, u64 avail, u64 used)
{
	bar_write(t, 22, 2, q);
	assert_int_equal(bar_read(t, 24, 2), VIRTIO_NET_QUEUE_SIZE);
	bar_write(t, 24, 2, QSIZE);
	bar_write(t, 32, 8, desc);
	bar_write(t, 40, 8, avail);
	bar_write(t, 48, 8, used);
	bar_write(t, 26, 2, q + 1); /* MSI-X vector, if enabled */
	bar_write(t, 28, 2, 1);
	assert_int_equal(bar_read(t, 28, 2), 1);
}

/* A driver's setup: VERSION_1, MAC and STATUS; both queues; DRIVER_OK. */
static void driver_setup(struct tnic *t)
{
	bar_write(t, 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_write(t, 8, 4, 0);
	bar_write(t, 12, 4, (u32)(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS));
	bar_write(t, 8, 4, 1);
	bar_write(t, 12, 4, 1);
	bar_write(t, 20, 1, 0x0b);
	assert_int_equal(bar_read(t, 20, 1), 0x0b);
	queue_setup(t, VIRTIO_NET_RECEIVEQ, RX_DESC, RX_AVAIL, RX_USED);
	queue_setup(t, VIRTIO_NET_TRANSMITQ, TX_DESC, TX_AVAIL, TX_USED);
	bar_write(t, 20, 1, 0x0f);
}

static u64 desc_table(u16 q)
{
	return q == VIRTIO_NET_RECEIVEQ ? RX_DESC : TX_DESC;
}

static void put_desc(struct tnic *t, u16 q, u16 i, u64 addr, u32 len, u16 flags,
		     u16 next)
{
	u8 *d = t->ram + desc_table(q) + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Offer chain `head` on queue q. */
static void offer(struct tnic *t, u16 q, u16 head)
{
	u8 *avail = t->ram + (q == VIRTIO_NET_RECEIVEQ ? RX_AVAIL : TX_AVAIL);
	u16 idx;

	memcpy(&idx, avail + 2, 2);
	memcpy(avail + 4 + 2 * (idx % QSIZE), &head, 2);
	idx++;
	memcpy(avail + 2, &idx, 2);
}

static u16 used_idx(const struct tnic *t, u16 q)
{
	u16 idx;

	memcpy(&idx,
	       t->ram + (q == VIRTIO_NET_RECEIVEQ ? RX_USED : TX_USED) + 2, 2);
	return idx;
}

/* The used ring's entry n: its id and length. */
static u32 used_len(const struct tnic *t, u16 q, u16 n, u32 *id)
{
	const u8 *e = t->ram + (q == VIRTIO_NET_RECEIVEQ ? RX_USED : TX_USED) +
		      4 + 8 * (n % QSIZE);
	u32 len;

	memcpy(id, e, 4);
	memcpy(&len, e + 4, 4);
	return len;
}

/* A frame from src to dst, `len` bytes, its payload numbered. */
static const u8 *make(const u8 *dst, const u8 *src, u32 len)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x08;
	frame[13] = 0x06;
	for (u32 i = 14; i < len; i++)
		frame[i] = (u8)(i * 5 + len);
	return frame;
}

/* The driver sends `len` bytes of f: a zeroed header in descriptor 0,
 * the frame in descriptor 1, kick. */
static void transmit_bytes(struct tnic *t, const u8 *f, u32 len)
{
	memset(t->ram + TX_HDR, 0, VIRTIO_NET_HDR_LEN);
	memcpy(t->ram + TX_DATA, f, len);
	put_desc(t, VIRTIO_NET_TRANSMITQ, 0, TX_HDR, VIRTIO_NET_HDR_LEN,
		 VIRTQ_DESC_F_NEXT, 1);
	put_desc(t, VIRTIO_NET_TRANSMITQ, 1, TX_DATA, len, 0, 0);
	offer(t, VIRTIO_NET_TRANSMITQ, 0);
	bar_write(t, NOTIFY(VIRTIO_NET_TRANSMITQ), 2, VIRTIO_NET_TRANSMITQ);
}

static void transmit(struct tnic *t, u32 len)
{
	transmit_bytes(t, frame, len);
}

/* The driver posts receive buffer i (descriptor i) of `len` bytes. */
static u64 post(struct tnic *t, u16 i, u32 len)
{
	u64 at = RX_BUF + 0x800ull * i;

	memset(t->ram + at, 0xee, 0x800);
	put_desc(t, VIRTIO_NET_RECEIVEQ, i, at, len, VIRTQ_DESC_F_WRITE, 0);
	offer(t, VIRTIO_NET_RECEIVEQ, i);
	bar_write(t, NOTIFY(VIRTIO_NET_RECEIVEQ), 2, VIRTIO_NET_RECEIVEQ);
	return at;
}

static bool receive(struct tnic *t, const u8 *f, u32 len)
{
	bool got = virtio_net_receive(&t->n, f, len);

	assert_true(lock_free(&t->n.lock));
	return got;
}

/* A received buffer: the header (zero, num_buffers 1), then the frame. */
static void expect_received(const struct tnic *t, u64 at, const u8 *f, u32 len)
{
	static const u8 hdr[VIRTIO_NET_HDR_LEN] = {[10] = 1};

	assert_memory_equal(t->ram + at, hdr, VIRTIO_NET_HDR_LEN);
	assert_memory_equal(t->ram + at + VIRTIO_NET_HDR_LEN, f, len);
}

static void test_identity_features_and_config(void **state)
{
	const struct vpci_func *f = &a.n.vp.pci;
	const u8 zero[6] = {0};
	u32 low, high;

	(void)state;
	assert_int_equal(vpci_func_get(f, 0x00, 4), 0x10411af4);
	assert_int_equal(vpci_func_get(f, 0x0a, 2), 0x0200);
	bar_write(&a, 0, 4, 0);
	low = (u32)bar_read(&a, 4, 4);
	bar_write(&a, 0, 4, 1);
	high = (u32)bar_read(&a, 4, 4);
	/* MAC, STATUS, INDIRECT_DESC, EVENT_IDX; VERSION_1. Nothing else:
	 * no CSUM (0), GUEST_CSUM (1), GSO, MRG_RXBUF (15), CTRL_VQ (17). */
	assert_int_equal(low, (1u << 5) | (1u << 16) | (1u << 28) | (1u << 29));
	assert_int_equal(high, 1);
	assert_int_equal(bar_read(&a, 18, 2), 2); /* num_queues */
	for (u32 i = 0; i < 6; i++)
		assert_int_equal(bar_read(&a, VIRTIO_PCI_DEVICE_CFG + i, 1),
				 mac_a[i]);
	assert_int_equal(bar_read(&a, VIRTIO_PCI_DEVICE_CFG + 4, 2), 0x0100);
	assert_int_equal(bar_read(&a, VIRTIO_PCI_DEVICE_CFG + 6, 2),
			 VIRTIO_NET_S_LINK_UP);
	assert_int_equal(bar_read(&a, VIRTIO_PCI_DEVICE_CFG + 8, 2), 0);
	/* A NIC needs a unicast MAC and somewhere to send. */
	assert_false(init(&b, broadcast));
	assert_false(init(&b, zero));
	assert_false(virtio_net_init(&b.n, &a.n.vp.host, 3, BAR_BASE, mac_b,
				     NULL, NULL));
}

/* The header is stripped, the frame gathered from its buffers, the chain
 * returned with length 0 and an interrupt. */
static void test_transmit(void **state)
{
	u32 id;

	(void)state;
	driver_setup(&a);
	make(broadcast, mac_a, 60);
	transmit(&a, 60);
	assert_int_equal(a.sent, 1);
	assert_int_equal(a.sent_len, 60);
	assert_memory_equal(a.sent_frame, frame, 60);
	assert_int_equal(used_idx(&a, VIRTIO_NET_TRANSMITQ), 1);
	assert_int_equal(used_len(&a, VIRTIO_NET_TRANSMITQ, 0, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(a.intx_raised, 1);
	/* Header and frame in one buffer, then a frame in three pieces:
	 * both in one kick. */
	make(mac_b, mac_a, VIRTIO_NET_FRAME_MAX);
	memset(a.ram + TX_HDR, 0, VIRTIO_NET_HDR_LEN);
	memcpy(a.ram + TX_HDR + VIRTIO_NET_HDR_LEN, frame, 100);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 2, TX_HDR, VIRTIO_NET_HDR_LEN + 100,
		 0, 0);
	memcpy(a.ram + TX_DATA, frame, VIRTIO_NET_FRAME_MAX);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 3, TX_HDR, VIRTIO_NET_HDR_LEN,
		 VIRTQ_DESC_F_NEXT, 4);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 4, TX_DATA, 7, VIRTQ_DESC_F_NEXT, 5);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 5, TX_DATA + 7,
		 VIRTIO_NET_FRAME_MAX - 7, 0, 0);
	offer(&a, VIRTIO_NET_TRANSMITQ, 2);
	offer(&a, VIRTIO_NET_TRANSMITQ, 3);
	bar_write(&a, NOTIFY(VIRTIO_NET_TRANSMITQ), 2, 1);
	assert_int_equal(a.sent, 3);
	assert_int_equal(a.sent_len, VIRTIO_NET_FRAME_MAX);
	assert_memory_equal(a.sent_frame, frame, VIRTIO_NET_FRAME_MAX);
	assert_int_equal(used_idx(&a, VIRTIO_NET_TRANSMITQ), 3);
	assert_int_equal(used_len(&a, VIRTIO_NET_TRANSMITQ, 2, &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(a.n.tx_frames, 3);
	assert_int_equal(a.n.tx_bytes, 60 + 100 + VIRTIO_NET_FRAME_MAX);
	assert_int_equal(a.n.tx_bad, 0);
	/* A kick of the receive queue sends nothing. */
	bar_write(&a, NOTIFY(VIRTIO_NET_RECEIVEQ), 2, 0);
	assert_int_equal(a.sent, 3);
}

/* Chains too short or too long for a frame: counted, returned, not sent;
 * the device goes on. */
static void test_transmit_bad_sizes(void **state)
{
	static const u32 lens[] = {13, VIRTIO_NET_FRAME_MAX + 1, 0};

	(void)state;
	driver_setup(&a);
	make(broadcast, mac_a, sizeof(frame));
	for (u32 i = 0; i < ARRAY_SIZE(lens); i++)
		transmit(&a, lens[i]);
	/* Less than a header. */
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 0, TX_HDR, 8, 0, 0);
	offer(&a, VIRTIO_NET_TRANSMITQ, 0);
	bar_write(&a, NOTIFY(VIRTIO_NET_TRANSMITQ), 2, 1);
	assert_int_equal(a.sent, 0);
	assert_int_equal(a.n.tx_bad, 4);
	assert_int_equal(used_idx(&a, VIRTIO_NET_TRANSMITQ), 4);
	transmit(&a, VIRTIO_NET_FRAME_MIN);
	assert_int_equal(a.sent, 1);
	assert_int_equal(a.sent_len, VIRTIO_NET_FRAME_MIN);
	assert_false(bar_read(&a, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A device-writable buffer on the transmitq breaks the device; a good
 * chain before it in the same kick is still sent. */
static void test_transmit_writable_buffer_breaks(void **state)
{
	(void)state;
	driver_setup(&a);
	make(broadcast, mac_a, 60);
	memcpy(a.ram + TX_DATA, frame, 60);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 0, TX_HDR, VIRTIO_NET_HDR_LEN,
		 VIRTQ_DESC_F_NEXT, 1);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 1, TX_DATA, 60, 0, 0);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 2, TX_HDR, VIRTIO_NET_HDR_LEN,
		 VIRTQ_DESC_F_NEXT, 3);
	put_desc(&a, VIRTIO_NET_TRANSMITQ, 3, TX_DATA, 60, VIRTQ_DESC_F_WRITE,
		 0);
	offer(&a, VIRTIO_NET_TRANSMITQ, 0);
	offer(&a, VIRTIO_NET_TRANSMITQ, 2);
	bar_write(&a, NOTIFY(VIRTIO_NET_TRANSMITQ), 2, 1);
	assert_int_equal(a.sent, 1);
	assert_int_equal(used_idx(&a, VIRTIO_NET_TRANSMITQ), 1);
	assert_true(bar_read(&a, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_non_null(strstr(a.n.vp.why, "device-writable"));
	assert_int_equal(bar_read(&a, VIRTIO_PCI_ISR, 1),
			 VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
	/* Broken: kicks and frames for it are ignored until a reset. */
	transmit(&a, 60);
	assert_int_equal(a.sent, 1);
	post(&a, 0, RX_BUF_LEN);
	assert_false(receive(&a, frame, 60));
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 0);
}

static void test_receive(void **state)
{
	u64 at0, at1;
	u32 id;

	(void)state;
	driver_setup(&a);
	at0 = post(&a, 0, RX_BUF_LEN);
	at1 = post(&a, 1, RX_BUF_LEN);
	assert_true(receive(&a, make(mac_a, mac_b, 60), 60));
	expect_received(&a, at0, frame, 60);
	assert_int_equal(a.ram[at0 + VIRTIO_NET_HDR_LEN + 60], 0xee);
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 1);
	assert_int_equal(used_len(&a, VIRTIO_NET_RECEIVEQ, 0, &id),
			 VIRTIO_NET_HDR_LEN + 60);
	assert_int_equal(id, 0);
	assert_int_equal(a.intx_raised, 1);
	/* INTx disabled in configuration space: the line drops, from the
	 * transport's hook run under the device lock (fake_intx checks). */
	pci_write(&a, VPCI_CFG_COMMAND, VPCI_CMD_INTX_DISABLE, 2);
	assert_false(a.intx);
	assert_true(receive(&a, make(mac_a, mac_b, VIRTIO_NET_FRAME_MAX),
			    VIRTIO_NET_FRAME_MAX));
	expect_received(&a, at1, frame, VIRTIO_NET_FRAME_MAX);
	assert_int_equal(used_len(&a, VIRTIO_NET_RECEIVEQ, 1, &id), RX_BUF_LEN);
	assert_int_equal(id, 1);
	/* A buffer in two pieces: header, then the frame. */
	put_desc(&a, VIRTIO_NET_RECEIVEQ, 2, RX_BUF + 0x1000,
		 VIRTIO_NET_HDR_LEN, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	put_desc(&a, VIRTIO_NET_RECEIVEQ, 3, RX_BUF + 0x1800,
		 VIRTIO_NET_FRAME_MAX, VIRTQ_DESC_F_WRITE, 0);
	offer(&a, VIRTIO_NET_RECEIVEQ, 2);
	assert_true(receive(&a, make(broadcast, mac_b, 99), 99));
	assert_int_equal(a.ram[RX_BUF + 0x1000 + 10], 1);
	assert_memory_equal(a.ram + RX_BUF + 0x1800, frame, 99);
	assert_int_equal(used_len(&a, VIRTIO_NET_RECEIVEQ, 2, &id),
			 VIRTIO_NET_HDR_LEN + 99);
	assert_int_equal(a.n.rx_frames, 3);
	assert_int_equal(a.n.rx_bytes, 60 + VIRTIO_NET_FRAME_MAX + 99);
	assert_int_equal(a.n.rx_dropped_no_buffer, 0);
}

/* No driver, no queue or no buffer: the frame is dropped and counted. */
static void test_receive_without_buffer(void **state)
{
	(void)state;
	make(mac_a, mac_b, 60);
	assert_false(receive(&a, frame, 60));
	driver_setup(&a);
	assert_false(receive(&a, frame, 60));
	assert_int_equal(a.n.rx_dropped_no_buffer, 2);
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 0);
	/* A reset forgets the posted buffers. */
	post(&a, 0, RX_BUF_LEN);
	bar_write(&a, 20, 1, 0);
	assert_false(receive(&a, frame, 60));
	assert_int_equal(a.n.rx_dropped_no_buffer, 3);
	assert_int_equal(a.n.rx_frames, 0);
	assert_int_equal(a.intx_raised, 0);
}

/* A buffer too small for the frame: dropped, not truncated; the buffer
 * given back unused; the next frame that fits goes in. */
static void test_receive_buffer_too_small(void **state)
{
	u64 at;
	u32 id;

	(void)state;
	driver_setup(&a);
	at = post(&a, 0, VIRTIO_NET_HDR_LEN + 100);
	assert_false(receive(&a, make(mac_a, mac_b, 101), 101));
	assert_int_equal(a.n.rx_dropped_too_big, 1);
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 1);
	assert_int_equal(used_len(&a, VIRTIO_NET_RECEIVEQ, 0, &id), 0);
	assert_int_equal(a.ram[at], 0xee);
	at = post(&a, 1, VIRTIO_NET_HDR_LEN + 100);
	assert_true(receive(&a, make(mac_a, mac_b, 100), 100));
	expect_received(&a, at, frame, 100);
	/* A frame longer than any Ethernet frame never takes a buffer. */
	post(&a, 2, 0x800);
	assert_false(receive(&a, frame, VIRTIO_NET_FRAME_MAX + 1));
	assert_int_equal(a.n.rx_dropped_too_big, 2);
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 2);
}

/* A device-readable buffer on the receiveq breaks the device. */
static void test_receive_readable_buffer_breaks(void **state)
{
	(void)state;
	driver_setup(&a);
	put_desc(&a, VIRTIO_NET_RECEIVEQ, 0, RX_BUF, RX_BUF_LEN, 0, 0);
	offer(&a, VIRTIO_NET_RECEIVEQ, 0);
	assert_false(receive(&a, make(mac_a, mac_b, 60), 60));
	assert_true(bar_read(&a, 20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_non_null(strstr(a.n.vp.why, "device-readable"));
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 0);
}

/* MSI-X turned on through configuration space (the hook runs under the
 * device lock, checked by fake_msi): a received frame interrupts on the
 * receive queue's vector. */
static void test_receive_with_msix(void **state)
{
	u8 cap = a.n.vp.msix_cap;

	(void)state;
	for (u32 v = 0; v < 3; v++) {
		bar_write(&a, VIRTIO_PCI_MSIX_TABLE + 16 * v, 4, 0xfee00000);
		bar_write(&a, VIRTIO_PCI_MSIX_TABLE + 16 * v + 8, 4, 0x40 + v);
		bar_write(&a, VIRTIO_PCI_MSIX_TABLE + 16 * v + 12, 4, 0);
	}
	pci_write(&a, cap + 2, 0x8000, 2);
	driver_setup(&a);
	post(&a, 0, RX_BUF_LEN);
	assert_true(receive(&a, make(mac_a, mac_b, 60), 60));
	assert_int_equal(a.msi_count, 1);
	assert_int_equal(a.intx_raised, 0);
}

/* Two guests' NICs on one switch. */
static void test_two_nics_through_a_switch(void **state)
{
	u64 at;

	(void)state;
	a.to_switch = b.to_switch = true;
	a.port = vswitch_attach(&sw, mac_a, deliver, &a.n);
	b.port = vswitch_attach(&sw, mac_b, deliver, &b.n);
	assert_true(a.port >= 0 && b.port >= 0);
	driver_setup(&a);
	driver_setup(&b);
	for (u16 i = 0; i < 3; i++) {
		post(&a, i, RX_BUF_LEN);
		post(&b, i, RX_BUF_LEN);
	}
	/* A frame without a source MAC: the switch drops it. */
	make(broadcast, (const u8[6]){0}, 42);
	transmit(&a, 42);
	assert_int_equal(used_idx(&b, VIRTIO_NET_RECEIVEQ), 0);
	/* A broadcasts (an ARP request): B gets it, A does not. */
	make(broadcast, mac_a, 42);
	transmit(&a, 42);
	assert_int_equal(used_idx(&b, VIRTIO_NET_RECEIVEQ), 1);
	expect_received(&b, RX_BUF, frame, 42);
	assert_int_equal(used_idx(&a, VIRTIO_NET_RECEIVEQ), 0);
	/* B answers A, A writes to B. */
	make(mac_a, mac_b, 60);
	transmit(&b, 60);
	expect_received(&a, RX_BUF, frame, 60);
	make(mac_b, mac_a, 1000);
	transmit(&a, 1000);
	expect_received(&b, RX_BUF + 0x800, frame, 1000);
	/* A claims B's MAC: the switch drops it. */
	make(broadcast, mac_b, 60);
	transmit(&a, 60);
	assert_int_equal(used_idx(&b, VIRTIO_NET_RECEIVEQ), 2);
	/* B's last buffer, then none: dropped and counted on both sides. */
	make(mac_b, mac_a, 70);
	transmit(&a, 70);
	at = RX_BUF + 0x1000;
	expect_received(&b, at, frame, 70);
	transmit(&a, 70);
	assert_int_equal(used_idx(&b, VIRTIO_NET_RECEIVEQ), 3);
	assert_int_equal(b.n.rx_dropped_no_buffer, 1);
	assert_int_equal(sw.port[b.port].rx_dropped, 1);
	assert_int_equal(sw.port[b.port].rx_frames, 3);
	assert_int_equal(sw.port[b.port].rx_bytes, 42 + 1000 + 70);
	/* The frame without a source and the spoofed one. */
	assert_int_equal(sw.port[a.port].tx_dropped, 2);
	assert_int_equal(sw.port[a.port].tx_frames, 4);
	assert_int_equal(a.n.tx_frames, 6);
	assert_int_equal(a.n.rx_frames, 1);
	assert_int_equal(b.n.rx_frames, 3);
	assert_int_equal(b.intx_raised, 1); /* the line stays up */
	assert_true(lock_free(&sw.lock));
}

#define STRESS_FRAMES 500

static pthread_barrier_t start;

/* One guest's vCPU: unicast to the other guest, and ISR reads. */
static void *stress(void *arg)
{
	struct tnic *t = arg, *peer = t == &a ? &b : &a;
	u8 f[64] = {0};

	memcpy(f, peer->n.vp.config, 6);
	memcpy(f + 6, t->n.vp.config, 6);
	pthread_barrier_wait(&start);
	for (u32 i = 0; i < STRESS_FRAMES; i++) {
		f[20] = (u8)i;
		transmit_bytes(t, f, sizeof(f));
		if (i % 16 == 0)
			bar_read(t, VIRTIO_PCI_ISR, 1);
	}
	return NULL;
}

/* Both guests send to each other at the same time on two threads: each
 * transmit takes the switch's lock and then the other NIC's, while the
 * other NIC's own vCPU works its BAR; nothing is lost or counted twice.
 * (A smoke test: the lock order itself is checked deterministically by
 * fake_send, which finds the sender's device lock free.) */
static void test_two_guests_at_once(void **state)
{
	pthread_t ta, tb;

	(void)state;
	a.to_switch = b.to_switch = true;
	a.port = vswitch_attach(&sw, mac_a, deliver, &a.n);
	b.port = vswitch_attach(&sw, mac_b, deliver, &b.n);
	driver_setup(&a);
	driver_setup(&b);
	for (u16 i = 0; i < QSIZE; i++) {
		post(&a, i, RX_BUF_LEN);
		post(&b, i, RX_BUF_LEN);
	}
	threaded = true;
	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	assert_int_equal(pthread_create(&ta, NULL, stress, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, stress, &b), 0);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	pthread_barrier_destroy(&start);
	threaded = false;
	for (u32 i = 0; i < 2; i++) {
		const struct tnic *t = i ? &b : &a;
		const struct vswitch_port *p = &sw.port[t->port];

		assert_int_equal(t->n.tx_frames, STRESS_FRAMES);
		assert_int_equal(p->tx_frames, STRESS_FRAMES);
		assert_int_equal(t->n.rx_frames, QSIZE);
		assert_int_equal(t->n.rx_dropped_no_buffer,
				 STRESS_FRAMES - QSIZE);
		assert_int_equal(p->rx_frames + p->rx_dropped, STRESS_FRAMES);
		assert_true(lock_free(&t->n.lock) && lock_free(&t->n.tx_lock));
	}
	assert_true(lock_free(&sw.lock));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_identity_features_and_config, setup),
	    cmocka_unit_test_setup(test_transmit, setup),
	    cmocka_unit_test_setup(test_transmit_bad_sizes, setup),
	    cmocka_unit_test_setup(test_transmit_writable_buffer_breaks, setup),
	    cmocka_unit_test_setup(test_receive, setup),
	    cmocka_unit_test_setup(test_receive_without_buffer, setup),
	    cmocka_unit_test_setup(test_receive_buffer_too_small, setup),
	    cmocka_unit_test_setup(test_receive_readable_buffer_breaks, setup),
	    cmocka_unit_test_setup(test_receive_with_msix, setup),
	    cmocka_unit_test_setup(test_two_nics_through_a_switch, setup),
	    cmocka_unit_test_setup(test_two_guests_at_once, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
