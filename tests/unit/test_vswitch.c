/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/vswitch.c: the switch between the guests'
 * NICs. Each port's NIC is a recorder of the frames it was given; the
 * tests check who sees what (unicast only its owner, broadcast and
 * multicast everyone but the sender, nothing back to the sender, nothing
 * spoofed, nothing to a detached port) and the counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/vswitch.h"

#define NICS (VSWITCH_MAX_PORTS + 1) /* one more than the switch has ports */

/* A NIC: what it received, and whether it has room for more. */
struct nic {
	u8 mac[VSWITCH_MAC_LEN];
	int port;
	bool full;
	u32 frames;
	u32 last_len;
	u8 last[VSWITCH_FRAME_MAX];
};

static struct vswitch sw;
static struct nic nic[NICS];
static u8 frame[VSWITCH_FRAME_MAX + 16];

static const u8 broadcast[VSWITCH_MAC_LEN] = {0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff};
static const u8 multicast[VSWITCH_MAC_LEN] = {0x01, 0x00, 0x5e,
					      0x00, 0x00, 0xfb};
static const u8 nobody[VSWITCH_MAC_LEN] = {0x52, 0x54, 0x00, 0xee, 0xee, 0xee};

static bool record(void *opaque, const u8 *f, u32 len)
{
	struct nic *n = opaque;

	/* Called with the switch lock held. */
	assert_int_not_equal(sw.lock.next, sw.lock.owner);
	if (n->full)
		return false;
	n->frames++;
	n->last_len = len;
	memcpy(n->last, f, len);
	return true;
}

static void lock_free(void)
{
	assert_int_equal(sw.lock.next, sw.lock.owner);
}

static int attach(u32 i)
{
	int port = vswitch_attach(&sw, nic[i].mac, record, &nic[i]);

	lock_free();
	nic[i].port = port;
	return port;
}

/* Nodes 0, 1 and 2 attached, as ports 0, 1, 2. */
static int setup(void **state)
{
	(void)state;
	vswitch_init(&sw);
	memset(nic, 0, sizeof(nic));
	for (u32 i = 0; i < NICS; i++) {
		const u8 mac[] = {0x52, 0x54, 0x00, 0x12, 0x34, (u8)(i + 1)};

		memcpy(nic[i].mac, mac, VSWITCH_MAC_LEN);
		nic[i].port = -1;
	}
	for (u32 i = 0; i < 3; i++)
		if (attach(i) != (int)i)
			return -1;
	return 0;
}

/* A frame from `src` to `dst`, its payload numbered, as long as any. */
static const u8 *make(const u8 *dst, const u8 *src)
{
	memcpy(frame, dst, VSWITCH_MAC_LEN);
	memcpy(frame + 6, src, VSWITCH_MAC_LEN);
	frame[12] = 0x08;
	frame[13] = 0x00;
	for (u32 i = 14; i < sizeof(frame); i++)
		frame[i] = (u8)(i * 3);
	return frame;
}

static bool send(u32 from, const u8 *dst, u32 len)
{
	bool sent =
	    vswitch_send(&sw, nic[from].port, make(dst, nic[from].mac), len);

	lock_free();
	return sent;
}

static void expect_frames(u32 n0, u32 n1, u32 n2)
{
	assert_int_equal(nic[0].frames, n0);
	assert_int_equal(nic[1].frames, n1);
	assert_int_equal(nic[2].frames, n2);
}

static void test_attach_refuses_bad_macs_and_a_full_switch(void **state)
{
	const u8 zero[VSWITCH_MAC_LEN] = {0};

	(void)state;
	assert_int_equal(vswitch_attach(&sw, broadcast, record, &nic[3]), -1);
	assert_int_equal(vswitch_attach(&sw, multicast, record, &nic[3]), -1);
	assert_int_equal(vswitch_attach(&sw, zero, record, &nic[3]), -1);
	assert_int_equal(vswitch_attach(&sw, nic[3].mac, NULL, &nic[3]), -1);
	/* Another port's MAC. */
	assert_int_equal(vswitch_attach(&sw, nic[1].mac, record, &nic[3]), -1);
	lock_free();
	for (u32 i = 3; i < VSWITCH_MAX_PORTS; i++)
		assert_int_equal(attach(i), (int)i);
	assert_int_equal(attach(VSWITCH_MAX_PORTS), -1);
}

/* Unicast goes to its owner only, even before the owner has sent
 * anything: the third port never sees it. */
static void test_unicast_reaches_only_its_owner(void **state)
{
	(void)state;
	assert_true(send(0, nic[1].mac, 60));
	expect_frames(0, 1, 0);
	assert_int_equal(nic[1].last_len, 60);
	assert_memory_equal(nic[1].last, frame, 60);
	assert_true(send(1, nic[0].mac, 1514));
	expect_frames(1, 1, 0);
	assert_memory_equal(nic[0].last, frame, 1514);
	for (u32 i = 0; i < 10; i++) {
		assert_true(send(0, nic[1].mac, 100));
		assert_true(send(1, nic[0].mac, 100));
	}
	expect_frames(11, 11, 0);
}

static void test_broadcast_and_multicast_flood_but_not_back(void **state)
{
	(void)state;
	assert_true(send(0, broadcast, 42));
	expect_frames(0, 1, 1);
	assert_true(send(2, multicast, 90));
	expect_frames(1, 2, 1);
	assert_memory_equal(nic[0].last, frame, 90);
	/* Any group address: bit 0 of the first byte. */
	assert_true(send(1, (const u8[]){0x33, 0x33, 0, 0, 0, 1}, 86));
	expect_frames(2, 2, 2);
}

/* Unicast to its own MAC is not sent back; unicast to a MAC no port has
 * goes nowhere. Both count as dropped. */
static void test_no_way_back_and_no_unknown_flooding(void **state)
{
	(void)state;
	assert_false(send(0, nic[0].mac, 60));
	assert_false(send(0, nobody, 60));
	expect_frames(0, 0, 0);
	assert_int_equal(sw.port[0].tx_dropped, 2);
	assert_int_equal(sw.port[0].tx_frames, 0);
}

static void test_spoofed_source_dropped(void **state)
{
	(void)state;
	/* Node 0 claims node 2's MAC, then an invented one, then a group. */
	make(nic[1].mac, nic[2].mac);
	assert_false(vswitch_send(&sw, 0, frame, 60));
	make(broadcast, nobody);
	assert_false(vswitch_send(&sw, 0, frame, 60));
	make(nic[1].mac, broadcast);
	assert_false(vswitch_send(&sw, 0, frame, 60));
	lock_free();
	expect_frames(0, 0, 0);
	assert_int_equal(sw.port[0].tx_dropped, 3);
	/* The real owner still gets its frames. */
	assert_true(send(2, nic[1].mac, 60));
	expect_frames(0, 1, 0);
}

static void test_frame_length_limits(void **state)
{
	(void)state;
	assert_false(send(0, broadcast, 13));
	assert_false(send(0, broadcast, 1515));
	assert_false(send(0, broadcast, 0));
	expect_frames(0, 0, 0);
	assert_true(send(0, broadcast, 14));
	assert_true(send(0, nic[1].mac, 1514));
	expect_frames(0, 2, 1);
	assert_int_equal(sw.port[0].tx_dropped, 3);
}

/* A detached port is never delivered to; its MAC is forgotten (frames
 * to it are unknown unicast) and free for a new port. */
static void test_detach_forgets(void **state)
{
	(void)state;
	assert_true(send(1, broadcast, 60));
	expect_frames(1, 0, 1);
	vswitch_detach(&sw, 1);
	lock_free();
	assert_false(send(0, nic[1].mac, 60));
	assert_true(send(0, broadcast, 60));
	expect_frames(1, 0, 2);
	/* A detached port cannot send, nor can one that does not exist. */
	assert_false(vswitch_send(&sw, 1, make(broadcast, nic[1].mac), 60));
	assert_false(vswitch_send(&sw, -1, frame, 60));
	assert_false(vswitch_send(&sw, VSWITCH_MAX_PORTS, frame, 60));
	vswitch_detach(&sw, 1);
	vswitch_detach(&sw, -3);
	vswitch_detach(&sw, 99);
	lock_free();
	expect_frames(1, 0, 2);
	/* Its counters stay until the port is used again. */
	assert_int_equal(sw.port[1].tx_frames, 1);
	assert_int_equal(attach(3), 1);
	assert_int_equal(sw.port[1].tx_frames, 0);
	assert_false(send(0, nic[1].mac, 60));
	assert_int_equal(nic[3].frames, 0);
	/* The MAC comes back, on whatever port is free (a restarted
	 * guest). */
	memcpy(nic[4].mac, nic[1].mac, VSWITCH_MAC_LEN);
	assert_int_equal(attach(4), 3);
	assert_true(send(0, nic[1].mac, 60));
	assert_int_equal(nic[4].frames, 1);
	assert_int_equal(nic[3].frames, 0);
	assert_int_equal(sw.port[3].rx_frames, 1);
}

static void test_counters(void **state)
{
	(void)state;
	assert_true(send(0, nic[1].mac, 100));
	assert_true(send(0, broadcast, 200));
	/* Node 2 has no room: dropped there, still delivered to node 1. */
	nic[2].full = true;
	assert_true(send(0, broadcast, 300));
	assert_true(send(1, nic[2].mac, 400));
	expect_frames(0, 3, 1);
	assert_int_equal(sw.port[0].tx_frames, 3);
	assert_int_equal(sw.port[0].tx_bytes, 600);
	assert_int_equal(sw.port[0].rx_frames, 0);
	assert_int_equal(sw.port[1].rx_frames, 3);
	assert_int_equal(sw.port[1].rx_bytes, 600);
	assert_int_equal(sw.port[1].tx_frames, 1);
	assert_int_equal(sw.port[1].tx_bytes, 400);
	assert_int_equal(sw.port[2].rx_frames, 1);
	assert_int_equal(sw.port[2].rx_bytes, 200);
	assert_int_equal(sw.port[2].rx_dropped, 2);
	for (u32 i = 0; i < 3; i++)
		assert_int_equal(sw.port[i].tx_dropped, 0);
}

/* Every port of a full switch: a broadcast reaches the seven others, a
 * unicast only its owner. */
static void test_full_switch(void **state)
{
	(void)state;
	for (u32 i = 3; i < VSWITCH_MAX_PORTS; i++)
		assert_int_equal(attach(i), (int)i);
	assert_true(send(5, broadcast, 64));
	for (u32 i = 0; i < VSWITCH_MAX_PORTS; i++)
		assert_int_equal(nic[i].frames, i == 5 ? 0 : 1);
	assert_true(send(7, nic[3].mac, 64));
	for (u32 i = 0; i < VSWITCH_MAX_PORTS; i++)
		assert_int_equal(nic[i].frames, i == 5 ? 0 : i == 3 ? 2 : 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(
		test_attach_refuses_bad_macs_and_a_full_switch, setup),
	    cmocka_unit_test_setup(test_unicast_reaches_only_its_owner, setup),
	    cmocka_unit_test_setup(
		test_broadcast_and_multicast_flood_but_not_back, setup),
	    cmocka_unit_test_setup(test_no_way_back_and_no_unknown_flooding,
				   setup),
	    cmocka_unit_test_setup(test_spoofed_source_dropped, setup),
	    cmocka_unit_test_setup(test_frame_length_limits, setup),
	    cmocka_unit_test_setup(test_detach_forgets, setup),
	    cmocka_unit_test_setup(test_counters, setup),
	    cmocka_unit_test_setup(test_full_switch, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
