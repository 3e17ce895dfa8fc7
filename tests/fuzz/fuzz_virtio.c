/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a virtio-blk function (core/vdev/virtio_blk.c over
 * core/vdev/virtio_pci.c and core/vdev/virtq.c) driven by a hostile
 * driver: BAR reads and writes of every width anywhere in the BAR,
 * configuration-space writes, kicks, and guest RAM (where the rings and
 * buffers are) rewritten between them.
 *
 * Input: a byte that picks the disk read-only or not, then steps; each
 * step an operation byte and its operands (see step()).
 *
 * Checked (besides what ASan and UBSan catch): reads are no wider than the
 * access; an MSI message goes only to an address the driver wrote into
 * the MSI-X table; a read-only disk never changes; the device status never
 * shows FEATURES_OK for features that were not offered.
 */
#include <string.h>

#include "core/vdev/virtio_blk.h"
#include "tests/fuzz/fuzz.h"

#define RAM_SIZE  0x4000
#define DISK_SIZE (16 * 512)

static u8 ram[RAM_SIZE];
static u8 disk[DISK_SIZE];
static u8 disk_initial[DISK_SIZE];
static struct virtio_blk blk;
static bool read_only;

static void fake_msi(void *ctx, u64 addr, u32 data)
{
	bool known = false;

	(void)ctx;
	(void)data;
	for (u32 i = 0; i < VIRTIO_MSIX_VECTORS; i++)
		known |= ((u64)blk.vp.msix[i].addr_hi << 32 |
			  blk.vp.msix[i].addr_lo) == addr;
	FUZZ_CHECK(known, "MSI to 0x%llx, in no table entry",
		   (unsigned long long)addr);
}

static const struct virtio_host host = {
    .mem = {.base = ram, .size = RAM_SIZE},
    .guest = "fuzz",
    .msi = fake_msi,
    .intx = fuzz_no_intx,
    .map = fuzz_no_map,
};

/* Offsets a driver uses, and some it should not. */
static u32 bar_offset(struct fuzz_in *in)
{
	static const u32 bases[] = {VIRTIO_PCI_COMMON,	    VIRTIO_PCI_ISR,
				    VIRTIO_PCI_DEVICE_CFG,  VIRTIO_PCI_NOTIFY,
				    VIRTIO_PCI_MSIX_TABLE,  VIRTIO_PCI_MSIX_PBA,
				    VIRTIO_PCI_BAR_SIZE - 8};

	return FUZZ_PICK(in, bases) + fuzz_below(in, 64);
}

static void step(struct fuzz_in *in)
{
	static const u8 sizes[] = {1, 2, 4, 8};
	u8 op = fuzz_u8(in);
	u8 size = FUZZ_PICK(in, sizes);
	u64 value;

	if (in->done)
		return;
	switch (op % 6) {
	case 0:
		virtio_pci_write(&blk.vp, bar_offset(in), size, fuzz_u64(in));
		break;
	case 1:
		virtio_pci_read(&blk.vp, bar_offset(in), size, &value);
		FUZZ_CHECK(size == 8 || value >> (8 * size) == 0,
			   "%u-byte read gave 0x%llx", size,
			   (unsigned long long)value);
		break;
	case 2: /* configuration space, as the platform writes it */
		fuzz_config_write(in, &blk.vp.pci);
		break;
	case 3: /* the driver rewrites its RAM */
		fuzz_ram_write(in, ram, RAM_SIZE);
		break;
	case 4: /* a kick of queue 0 */
		virtio_pci_write(&blk.vp, VIRTIO_PCI_NOTIFY, 2, 0);
		break;
	default: /* a plausible set-up: features, queue, DRIVER_OK */
		virtio_pci_write(&blk.vp, 20, 1, 3);
		virtio_pci_write(&blk.vp, 8, 4, 1);
		virtio_pci_write(&blk.vp, 12, 4, 1);
		virtio_pci_write(&blk.vp, 8, 4, 0);
		virtio_pci_write(&blk.vp, 12, 4, fuzz_u32(in));
		virtio_pci_write(&blk.vp, 20, 1, 0x0b);
		virtio_pci_write(&blk.vp, 24, 2, 1u << fuzz_below(in, 9));
		virtio_pci_write(&blk.vp, 32, 8, fuzz_below(in, RAM_SIZE));
		virtio_pci_write(&blk.vp, 40, 8, fuzz_below(in, RAM_SIZE));
		virtio_pci_write(&blk.vp, 48, 8, fuzz_below(in, RAM_SIZE));
		virtio_pci_write(&blk.vp, 28, 2, 1);
		virtio_pci_write(&blk.vp, 20, 1, 0x0f);
		break;
	}
}

static void check_state(void)
{
	if (blk.vp.status & VIRTIO_STATUS_FEATURES_OK)
		FUZZ_CHECK(!(blk.vp.guest_features & ~blk.vp.features),
			   "FEATURES_OK with 0x%llx of 0x%llx",
			   (unsigned long long)blk.vp.guest_features,
			   (unsigned long long)blk.vp.features);
	if (read_only)
		FUZZ_CHECK(!memcmp(disk, disk_initial, DISK_SIZE),
			   "a read-only disk changed");
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	read_only = fuzz_bool(&in);
	memset(ram, 0, sizeof(ram));
	for (u32 i = 0; i < DISK_SIZE; i++)
		disk[i] = (u8)(i * 13);
	memcpy(disk_initial, disk, DISK_SIZE);
	FUZZ_CHECK(virtio_blk_init(&blk, &host, 1, 0xc0008000ull, disk,
				   DISK_SIZE, read_only, "fuzz.img"),
		   "init");
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
