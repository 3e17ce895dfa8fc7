/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/virtio_pci.c and core/vdev/virtio_blk.c: the
 * PCI capability layout of a virtio 1.x function (virtio 1.2, 4.1.4), the
 * status and feature handshake (3.1), MSI-X and INTx, BAR moves, and
 * virtio-blk requests end to end through a split queue in a fake guest
 * RAM, hostile ones included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/virtio_blk.h"

#define RAM_SIZE  0x20000
#define BAR_BASE  0xc0008000ull
#define DISK_SIZE (64 * 512)
/* Where the test driver puts its queue and buffers in guest RAM. */
#define DESC   0x1000
#define AVAIL  0x2000
#define USED   0x3000
#define HDR    0x4000
#define DATA   0x5000
#define STATUS 0x6000

static u8 ram[RAM_SIZE];
static u8 disk[DISK_SIZE];
static struct virtio_blk blk;

static struct {
	u32 msi_count;
	u64 msi_addr;
	u32 msi_data;
	bool intx;
	u32 intx_changes;
	u32 maps;
	u64 map_old, map_new;
} host_log;

static void fake_msi(void *ctx, u64 addr, u32 data)
{
	(void)ctx;
	host_log.msi_count++;
	host_log.msi_addr = addr;
	host_log.msi_data = data;
}

static void fake_intx(void *ctx, struct virtio_pci *vp, bool level)
{
	(void)ctx;
	(void)vp;
	host_log.intx = level;
	host_log.intx_changes++;
}

static void fake_map(void *ctx, struct virtio_pci *vp, u64 old, u64 base)
{
	(void)ctx;
	(void)vp;
	host_log.maps++;
	host_log.map_old = old;
	host_log.map_new = base;
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
	for (u32 i = 0; i < DISK_SIZE; i++)
		disk[i] = (u8)(i * 7 + i / 512);
	return virtio_blk_init(&blk, &host, 1, BAR_BASE, disk, DISK_SIZE, false,
			       "disk.img")
		   ? 0
		   : -1;
}

static u64 bar_read(u32 off, u8 size)
{
	u64 v = 0;

	assert_int_equal(virtio_pci_read(&blk.vp, off, size, &v), 0);
	return v;
}

static void bar_write(u32 off, u8 size, u64 v)
{
	assert_int_equal(virtio_pci_write(&blk.vp, off, size, v), 0);
}

/* A configuration write as the platform's port access makes it: the
 * bytes, then the device told once. */
static void pci_write(u8 off, u32 value, u8 size)
{
	struct vpci_func *f = &blk.vp.pci;

	for (u8 i = 0; i < size; i++) {
		u8 m = f->wmask[off + i];

		f->config[off + i] =
		    (u8)((f->config[off + i] & ~m) | ((value >> (8 * i)) & m));
	}
	f->written(f, off, size);
}

static void test_capability_layout(void **state)
{
	const struct vpci_func *f = &blk.vp.pci;
	u8 types[5] = {0}, n = 0, at;
	bool msix = false;

	(void)state;
	assert_int_equal(vpci_func_get(f, 0x00, 4), 0x10421af4);
	assert_int_equal(f->config[0x08], 1); /* revision 1: modern */
	assert_int_equal(vpci_func_get(f, 0x0a, 2), 0x0180);
	assert_int_equal(vpci_func_get(f, 0x20, 4), (u32)BAR_BASE | 4);
	assert_true(vpci_func_get(f, 0x06, 2) & VPCI_STATUS_CAP_LIST);
	for (at = f->config[0x34]; at; at = f->config[at + 1]) {
		assert_true(at >= 0x40 && !(at & 3));
		if (f->config[at] == 0x11) {
			msix = true;
			/* Table size - 1, table and PBA in BAR 4. */
			assert_int_equal(vpci_func_get(f, at + 2, 2) & 0x7ff,
					 VIRTIO_MSIX_VECTORS - 1);
			assert_int_equal(vpci_func_get(f, at + 4, 4),
					 VIRTIO_PCI_MSIX_TABLE | 4);
			assert_int_equal(vpci_func_get(f, at + 8, 4),
					 VIRTIO_PCI_MSIX_PBA | 4);
			continue;
		}
		assert_int_equal(f->config[at], 0x09);
		assert_int_equal(f->config[at + 4], VIRTIO_PCI_BAR);
		types[n++] = f->config[at + 3];
		switch (f->config[at + 3]) {
		case 1:
			assert_int_equal(vpci_func_get(f, at + 8, 4), 0);
			assert_int_equal(vpci_func_get(f, at + 12, 4), 0x38);
			break;
		case 2:
			assert_int_equal(f->config[at + 2], 20);
			assert_int_equal(vpci_func_get(f, at + 8, 4), 0x3000);
			assert_int_equal(vpci_func_get(f, at + 16, 4), 4);
			break;
		case 3:
			assert_int_equal(vpci_func_get(f, at + 8, 4), 0x1000);
			break;
		case 4:
			assert_int_equal(vpci_func_get(f, at + 8, 4), 0x2000);
			assert_int_equal(vpci_func_get(f, at + 12, 4), 24);
			break;
		default:
			fail_msg("unexpected virtio cap type %u",
				 f->config[at + 3]);
		}
		assert_true(n <= 4);
	}
	assert_true(msix);
	assert_int_equal(n, 4);
	(void)types;
}

static void test_bar_moves_are_reported(void **state)
{
	(void)state;
	pci_write(VPCI_CFG_COMMAND, VPCI_CMD_MEMORY, 2);
	assert_int_equal(host_log.maps, 1);
	assert_int_equal(host_log.map_old, VPCI_BAR_NONE);
	assert_int_equal(host_log.map_new, BAR_BASE);
	pci_write(0x20, 0xd0000000, 4);
	assert_int_equal(host_log.maps, 2);
	assert_int_equal(host_log.map_old, BAR_BASE);
	assert_int_equal(host_log.map_new, 0xd0000000ull);
	pci_write(VPCI_CFG_COMMAND, 0, 2);
	assert_int_equal(host_log.map_new, VPCI_BAR_NONE);
	/* Writes that change nothing say nothing. */
	pci_write(VPCI_CFG_COMMAND, 0, 2);
	assert_int_equal(host_log.maps, 3);
}

/* Feature handshake: FEATURES_OK sticks only for a subset of the offer
 * with VERSION_1. */
static void test_feature_negotiation(void **state)
{
	u32 low, high;

	(void)state;
	bar_write(0, 4, 0);
	low = (u32)bar_read(4, 4);
	bar_write(0, 4, 1);
	high = (u32)bar_read(4, 4);
	assert_true(high & 1);	       /* VERSION_1 */
	assert_true(low & (1u << 9));  /* FLUSH */
	assert_false(low & (1u << 5)); /* not read-only */
	bar_write(0, 4, 7);
	assert_int_equal(bar_read(4, 4), 0);

	bar_write(20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* No VERSION_1: refused. */
	bar_write(8, 4, 0);
	bar_write(12, 4, low);
	bar_write(20, 1, 0x0b);
	assert_int_equal(bar_read(20, 1), 0x03);
	/* A bit not offered: refused. */
	bar_write(8, 4, 1);
	bar_write(12, 4, 1 | 2);
	bar_write(20, 1, 0x0b);
	assert_int_equal(bar_read(20, 1), 0x03);
	/* Right: kept, and fixed from then on. */
	bar_write(12, 4, 1);
	bar_write(20, 1, 0x0b);
	assert_int_equal(bar_read(20, 1), 0x0b);
	bar_write(12, 4, 0);
	assert_int_equal(bar_read(12, 4), 1);
	/* Reset. */
	bar_write(20, 1, 0);
	assert_int_equal(bar_read(20, 1), 0);
	assert_int_equal(bar_read(12, 4), 0);
}

/* A driver's setup: features (VERSION_1, no ring extras), queue 0 of
 * `size` at DESC/AVAIL/USED, vector 1 for the queue, DRIVER_OK. */
static void driver_setup(u16 size, bool msix)
{
	bar_write(20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_write(8, 4, 1);
	bar_write(12, 4, 1);
	bar_write(20, 1, 0x0b);
	bar_write(22, 2, 0);
	assert_int_equal(bar_read(24, 2), VIRTIO_BLK_QUEUE_SIZE);
	bar_write(24, 2, size);
	/* 64-bit addresses in two 32-bit halves, as Linux writes them. */
	bar_write(32, 4, DESC);
	bar_write(36, 4, 0);
	bar_write(40, 4, AVAIL);
	bar_write(44, 4, 0);
	bar_write(48, 8, USED);
	if (msix) {
		bar_write(26, 2, 1);
		assert_int_equal(bar_read(26, 2), 1);
	}
	bar_write(28, 2, 1);
	assert_int_equal(bar_read(28, 2), 1);
	bar_write(20, 1, 0x0f);
}

static void put_desc(u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = ram + DESC + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Offer chain `head` as the next avail entry. */
static void offer(u16 head)
{
	u16 idx;

	memcpy(&idx, ram + AVAIL + 2, 2);
	memcpy(ram + AVAIL + 4 + 2 * (idx % 16), &head, 2);
	idx++;
	memcpy(ram + AVAIL + 2, &idx, 2);
}

static u16 used_idx(void)
{
	u16 idx;

	memcpy(&idx, ram + USED + 2, 2);
	return idx;
}

static void request(u32 type, u64 sector, u32 len, bool data_writable)
{
	memcpy(ram + HDR, &type, 4);
	memset(ram + HDR + 4, 0, 4);
	memcpy(ram + HDR + 8, &sector, 8);
	ram[STATUS] = 0xee;
	put_desc(0, HDR, 16, 1, 1);
	put_desc(1, DATA, len, 1 | (data_writable ? 2 : 0), 2);
	put_desc(2, STATUS, 1, 2, 0);
	offer(0);
}

static void enable_msix(void)
{
	u8 cap = blk.vp.msix_cap;

	/* Entry 1: address, data, unmasked. */
	bar_write(VIRTIO_PCI_MSIX_TABLE + 16, 4, 0xfee01000);
	bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 4, 4, 0);
	bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 8, 4, 0x41);
	bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 12, 4, 0);
	pci_write(cap + 2, 0x8000, 2);
}

static void test_read_write_flush_with_msix(void **state)
{
	u32 used_len;

	(void)state;
	enable_msix();
	driver_setup(16, true);
	/* Read sectors 3-4. */
	request(0, 3, 1024, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(ram[STATUS], 0);
	assert_memory_equal(ram + DATA, disk + 3 * 512, 1024);
	memcpy(&used_len, ram + USED + 4 + 4, 4);
	assert_int_equal(used_len, 1025);
	assert_int_equal(host_log.msi_count, 1);
	assert_int_equal(host_log.msi_addr, 0xfee01000);
	assert_int_equal(host_log.msi_data, 0x41);
	assert_false(host_log.intx);
	/* Write sector 63 (the last). */
	memset(ram + DATA, 0x5a, 512);
	request(1, 63, 512, false);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 0);
	assert_int_equal(disk[63 * 512], 0x5a);
	assert_int_equal(disk[DISK_SIZE - 1], 0x5a);
	/* Past the end, and straddling it: IOERR, the disk untouched. */
	request(1, 63, 1024, false);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 1);
	request(0, ~0ull / 512 + 5, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 1);
	/* Flush; GET_ID; an unknown type. */
	request(4, 0, 0, false);
	put_desc(0, HDR, 16, 1, 2);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 0);
	request(8, 0, 20, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 0);
	assert_memory_equal(ram + DATA, "disk.img", 9);
	request(99, 0, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 2);
	assert_int_equal(used_idx(), 7);
	assert_int_equal(blk.reads, 1);
	assert_int_equal(blk.writes, 1);
	assert_int_equal(blk.flushes, 1);
	/* Masked vector: pending bit, sent at unmask. */
	bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 12, 4, 1);
	request(0, 0, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(host_log.msi_count, 7);
	assert_int_equal(bar_read(VIRTIO_PCI_MSIX_PBA, 4), 2);
	bar_write(VIRTIO_PCI_MSIX_TABLE + 16 + 12, 4, 0);
	assert_int_equal(host_log.msi_count, 8);
	assert_int_equal(bar_read(VIRTIO_PCI_MSIX_PBA, 4), 0);
}

static void test_intx_without_msix(void **state)
{
	(void)state;
	driver_setup(16, false);
	request(0, 1, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 0);
	assert_true(host_log.intx);
	assert_int_equal(host_log.msi_count, 0);
	assert_true(vpci_func_get(&blk.vp.pci, VPCI_CFG_STATUS, 2) &
		    VPCI_STATUS_INTX);
	/* Reading the ISR takes the bits and lowers the line. */
	assert_int_equal(bar_read(VIRTIO_PCI_ISR, 1), VIRTIO_ISR_QUEUE);
	assert_false(host_log.intx);
	assert_int_equal(bar_read(VIRTIO_PCI_ISR, 1), 0);
	/* INTx disabled: the status bit shows it, the line stays low. */
	pci_write(VPCI_CFG_COMMAND, VPCI_CMD_INTX_DISABLE, 2);
	request(0, 1, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_false(host_log.intx);
	assert_true(vpci_func_get(&blk.vp.pci, VPCI_CFG_STATUS, 2) &
		    VPCI_STATUS_INTX);
}

static void test_read_only_disk_refuses_writes(void **state)
{
	(void)state;
	assert_true(virtio_blk_init(&blk, &host, 1, BAR_BASE, disk, DISK_SIZE,
				    true, "ro.img"));
	bar_write(0, 4, 0);
	assert_true(bar_read(4, 4) & (1u << 5));
	driver_setup(16, false);
	memset(ram + DATA, 0x77, 512);
	request(1, 0, 512, false);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(ram[STATUS], 1);
	assert_int_not_equal(disk[0], 0x77);
}

/* A loop in a chain: NEEDS_RESET, a configuration interrupt, kicks
 * ignored until the driver resets the device. */
static void test_hostile_ring_needs_reset(void **state)
{
	(void)state;
	driver_setup(16, false);
	put_desc(0, HDR, 16, 1, 1);
	put_desc(1, DATA, 16, 1, 0);
	offer(0);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(bar_read(VIRTIO_PCI_ISR, 1), VIRTIO_ISR_CONFIG);
	assert_int_equal(used_idx(), 0);
	assert_true(blk.vp.why[0]);
	/* The driver cannot clear it; kicks do nothing. */
	bar_write(20, 1, 0x0f);
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	request(0, 1, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(used_idx(), 0);
	/* A reset and a new setup work again. */
	bar_write(20, 1, 0);
	assert_int_equal(bar_read(20, 1), 0);
	memset(ram + AVAIL, 0, 0x100);
	memset(ram + USED, 0, 0x100);
	driver_setup(16, false);
	request(0, 1, 512, true);
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(ram[STATUS], 0);
}

/* A good request and a broken one in the same kick: the good one is
 * used and interrupted for, then the device needs a reset. */
static void test_good_request_before_a_broken_one(void **state)
{
	(void)state;
	driver_setup(16, false);
	request(0, 1, 512, true);
	offer(16); /* a head out of range */
	bar_write(VIRTIO_PCI_NOTIFY, 2, 0);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(ram[STATUS], 0);
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(bar_read(VIRTIO_PCI_ISR, 1),
			 VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
}

/* Rings outside RAM or misaligned: the enable fails with NEEDS_RESET;
 * a queue size above the maximum too. */
static void test_bad_queue_setup(void **state)
{
	(void)state;
	bar_write(20, 1, 3);
	bar_write(8, 4, 1);
	bar_write(12, 4, 1);
	bar_write(20, 1, 0x0b);
	bar_write(24, 2, 16);
	bar_write(32, 8, RAM_SIZE - 16);
	bar_write(40, 8, AVAIL);
	bar_write(48, 8, USED);
	bar_write(28, 2, 1);
	assert_int_equal(bar_read(28, 2), 0);
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	bar_write(20, 1, 0);
	bar_write(20, 1, 3);
	bar_write(8, 4, 1);
	bar_write(12, 4, 1);
	bar_write(20, 1, 0x0b);
	bar_write(24, 2, 1024);
	bar_write(32, 8, DESC);
	bar_write(28, 2, 1);
	assert_int_equal(bar_read(28, 2), 0);
	assert_true(bar_read(20, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* A queue that does not exist reads size 0 and ignores writes. */
	bar_write(20, 1, 0);
	bar_write(22, 2, 5);
	assert_int_equal(bar_read(24, 2), 0);
	bar_write(28, 2, 1);
	assert_int_equal(bar_read(28, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_capability_layout, setup),
	    cmocka_unit_test_setup(test_bar_moves_are_reported, setup),
	    cmocka_unit_test_setup(test_feature_negotiation, setup),
	    cmocka_unit_test_setup(test_read_write_flush_with_msix, setup),
	    cmocka_unit_test_setup(test_intx_without_msix, setup),
	    cmocka_unit_test_setup(test_read_only_disk_refuses_writes, setup),
	    cmocka_unit_test_setup(test_hostile_ring_needs_reset, setup),
	    cmocka_unit_test_setup(test_good_request_before_a_broken_one,
				   setup),
	    cmocka_unit_test_setup(test_bad_queue_setup, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
