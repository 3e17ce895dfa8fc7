/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/virtio_console.c (virtio 1.2, 5.3): the
 * guest's output through the transmit queue, typed input through the
 * receive queue and the FIFO in front of it, and hostile receive buffers.
 * The driver is this file, through the BAR as a guest's would be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/virtio_console.h"

#define RAM_SIZE 0x20000
#define BAR_BASE 0xc0028000ull
#define QSIZE	 16
/* Guest RAM layout: per queue q, its rings at RING(q) + 0/0x400/0x800;
 * buffers from BUF on. */
#define RING(q) (0x1000 + 0x1000 * (q))
#define BUF	0x8000

static u8 ram[RAM_SIZE];
static struct virtio_console con;
static struct {
	u8 out[1024];
	u32 out_len, out_calls, intx_rises;
	bool intx;
} host_log;

static void fake_msi(void *ctx, u64 addr, u32 data)
{
	(void)ctx;
	(void)addr;
	(void)data;
}

static void fake_intx(void *ctx, struct virtio_pci *vp, bool level)
{
	(void)ctx;
	(void)vp;
	host_log.intx_rises += level && !host_log.intx;
	host_log.intx = level;
}

static void fake_map(void *ctx, struct virtio_pci *vp, u64 old, u64 base)
{
	(void)ctx;
	(void)vp;
	(void)old;
	(void)base;
}

static void fake_out(void *opaque, const u8 *bytes, u32 len)
{
	assert_ptr_equal(opaque, &host_log);
	assert_true(host_log.out_len + len <= sizeof(host_log.out));
	memcpy(host_log.out + host_log.out_len, bytes, len);
	host_log.out_len += len;
	host_log.out_calls++;
}

static const struct virtio_host host = {
    .mem = {.base = ram, .size = RAM_SIZE},
    .guest = "test",
    .msi = fake_msi,
    .intx = fake_intx,
    .map = fake_map,
};

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	memset(&host_log, 0, sizeof(host_log));
	return virtio_console_init(&con, &host, 5, BAR_BASE, fake_out,
				   &host_log)
		   ? 0
		   : -1;
}

static u64 bar_read(u32 off, u8 size)
{
	u64 v = 0;

	assert_int_equal(virtio_pci_read(&con.vp, off, size, &v), 0);
	return v;
}

static void bar_write(u32 off, u8 size, u64 v)
{
	assert_int_equal(virtio_pci_write(&con.vp, off, size, v), 0);
}

static void kick(u16 q)
{
	bar_write(VIRTIO_PCI_NOTIFY + q * VIRTIO_PCI_NOTIFY_MULT, 2, q);
}

/* Features (VERSION_1 only), then the queues in `mask`, then DRIVER_OK. */
static void driver_setup(u32 mask)
{
	bar_write(20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_write(8, 4, 1);
	bar_write(12, 4, 1);
	bar_write(20, 1, 0x0b);
	assert_int_equal(bar_read(20, 1), 0x0b);
	for (u16 q = 0; q < 2; q++) {
		if (!(mask & (1u << q)))
			continue;
		bar_write(22, 2, q);
		assert_int_equal(bar_read(24, 2), VIRTIO_CONSOLE_QUEUE_SIZE);
		bar_write(24, 2, QSIZE);
		bar_write(32, 8, RING(q));
		bar_write(40, 8, RING(q) + 0x400);
		bar_write(48, 8, RING(q) + 0x800);
		bar_write(28, 2, 1);
	}
	bar_write(20, 1, 0x0f);
}

static void put_desc(u16 q, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = ram + RING(q) + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void offer(u16 q, u16 head)
{
	u8 *avail = ram + RING(q) + 0x400;
	u16 idx;

	memcpy(&idx, avail + 2, 2);
	memcpy(avail + 4 + 2 * (idx % QSIZE), &head, 2);
	idx++;
	memcpy(avail + 2, &idx, 2);
}

static u16 used_idx(u16 q)
{
	u16 idx;

	memcpy(&idx, ram + RING(q) + 0x800 + 2, 2);
	return idx;
}

/* Used entry n of queue q: its head and length. */
static void used_entry(u16 q, u16 n, u32 *id, u32 *len)
{
	const u8 *e = ram + RING(q) + 0x800 + 4 + 8 * (n % QSIZE);

	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* Post receive buffer `i` of `len` bytes at BUF + i * 0x100. */
static void post_rx(u16 i, u32 len)
{
	put_desc(VIRTIO_CONSOLE_RECEIVEQ, i, BUF + 0x100 * i, len,
		 VIRTQ_DESC_F_WRITE, 0);
	offer(VIRTIO_CONSOLE_RECEIVEQ, i);
}

static void type(const char *s)
{
	for (; *s; s++)
		assert_true(virtio_console_receive(&con, (u8)*s));
}

static void test_identity(void **state)
{
	(void)state;
	/* 1af4:1043, a communication controller, two queues. */
	assert_int_equal(vpci_func_get(&con.vp.pci, 0x00, 4), 0x10431af4);
	assert_int_equal(vpci_func_get(&con.vp.pci, 0x0a, 2), 0x0780);
	assert_int_equal(bar_read(18, 2), 2);
	/* No MULTIPORT, SIZE or EMERG_WRITE offered. */
	bar_write(0, 4, 0);
	assert_int_equal(bar_read(4, 4) & 7, 0);
}

/* Output: every readable byte of every chain, in order, a chain used with
 * length 0 and an interrupt for the kick. */
static void test_output(void **state)
{
	u32 id, len;

	(void)state;
	driver_setup(3);
	memcpy(ram + BUF, "hello ", 6);
	memcpy(ram + BUF + 0x100, "world\n", 6);
	put_desc(1, 0, BUF, 6, VIRTQ_DESC_F_NEXT, 1);
	put_desc(1, 1, BUF + 0x100, 6, 0, 0);
	offer(1, 0);
	memcpy(ram + BUF + 0x200, "[x]", 3);
	put_desc(1, 2, BUF + 0x200, 3, 0, 0);
	offer(1, 2);
	kick(1);
	assert_int_equal(host_log.out_len, 15);
	assert_memory_equal(host_log.out, "hello world\n[x]", 15);
	assert_int_equal(used_idx(1), 2);
	used_entry(1, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	used_entry(1, 1, &id, &len);
	assert_int_equal(id, 2);
	assert_true(host_log.intx);
	assert_int_equal(con.bytes_out, 15);
	assert_int_equal(con.chains_out, 2);
}

/* A chain bigger than the device's copy buffer still goes out whole. */
static void test_long_output(void **state)
{
	(void)state;
	driver_setup(3);
	for (u32 i = 0; i < 700; i++)
		ram[BUF + i] = (u8)('a' + i % 26);
	put_desc(1, 0, BUF, 700, 0, 0);
	offer(1, 0);
	kick(1);
	assert_int_equal(host_log.out_len, 700);
	assert_memory_equal(host_log.out, ram + BUF, 700);
	assert_true(host_log.out_calls >= 3);
}

/* Input typed before the driver is up waits in the FIFO; the buffers
 * the driver posts take it, each as much as it holds, in order. */
static void test_input_waits_for_buffers(void **state)
{
	u32 id, len;

	(void)state;
	type("ls -l\n");
	assert_int_equal(con.rx_count, 6);
	driver_setup(3);
	post_rx(0, 4);
	post_rx(1, 64);
	assert_int_equal(used_idx(0), 0); /* not kicked yet */
	kick(0);
	assert_int_equal(used_idx(0), 2);
	used_entry(0, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 4);
	assert_memory_equal(ram + BUF, "ls -", 4);
	used_entry(0, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 2);
	assert_memory_equal(ram + BUF + 0x100, "l\n", 2);
	assert_int_equal(con.rx_count, 0);
	/* With a buffer posted, a byte goes at once. */
	post_rx(2, 64);
	kick(0);
	host_log.intx = false;
	type("q");
	assert_int_equal(used_idx(0), 3);
	assert_int_equal(ram[BUF + 0x200], 'q');
	assert_true(con.vp.isr & VIRTIO_ISR_QUEUE);
	assert_int_equal(con.bytes_in, 7);
}

/* A full FIFO drops what comes next and counts it; the order survives
 * the FIFO's wrap-around. */
static void test_fifo_full_and_wrap(void **state)
{
	u8 want[VIRTIO_CONSOLE_RX_FIFO];

	(void)state;
	driver_setup(3);
	for (u32 i = 0; i < 100; i++)
		assert_true(virtio_console_receive(&con, (u8)i));
	post_rx(0, 100);
	kick(0);
	assert_int_equal(used_idx(0), 1);
	for (u32 i = 0; i < VIRTIO_CONSOLE_RX_FIFO; i++) {
		want[i] = (u8)(i * 3);
		assert_true(virtio_console_receive(&con, want[i]));
	}
	assert_false(virtio_console_receive(&con, 0xee));
	assert_int_equal(con.dropped_in, 1);
	post_rx(1, 0x100);
	kick(0);
	assert_int_equal(used_idx(0), 2);
	assert_memory_equal(ram + BUF + 0x100, want, VIRTIO_CONSOLE_RX_FIFO);
}

/* A receive buffer the device may only read, or a ring error, breaks the
 * device with a reason; typed input then waits for the UART's sake in
 * the FIFO (the platform routes it elsewhere meanwhile). */
static void test_readable_receive_buffer_breaks_it(void **state)
{
	(void)state;
	driver_setup(3);
	put_desc(0, 0, BUF, 16, 0, 0);
	offer(0, 0);
	type("x");
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_non_null(strstr(con.vp.why, "device-readable"));
	assert_int_equal(used_idx(0), 0);
	assert_false(virtio_pci_queue_live(&con.vp, VIRTIO_CONSOLE_RECEIVEQ));
	/* After a reset and a new setup it works. */
	bar_write(20, 1, 0);
	memset(ram + RING(0), 0, 0x1000);
	driver_setup(3);
	post_rx(1, 16);
	kick(0);
	assert_int_equal(used_idx(0), 1);
	assert_int_equal(ram[BUF + 0x100], 'x');
}

/* Output chains with a buffer past RAM: the device needs a reset and
 * nothing of that chain goes out. */
static void test_output_outside_ram(void **state)
{
	(void)state;
	driver_setup(3);
	put_desc(1, 0, RAM_SIZE - 4, 16, 0, 0);
	offer(1, 0);
	kick(1);
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(host_log.out_len, 0);
	assert_int_equal(used_idx(1), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, setup)
	const struct CMUnitTest tests[] = {
	    T(test_identity),
	    T(test_output),
	    T(test_long_output),
	    T(test_input_waits_for_buffers),
	    T(test_fifo_full_and_wrap),
	    T(test_readable_receive_buffer_breaks_it),
	    T(test_output_outside_ram),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
