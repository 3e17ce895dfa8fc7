/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: PCI configuration mechanism #1 with its one host bridge
 * (core/vdev/vpci.c), driven by port reads and writes of every width at
 * and around 0xCF8-0xCFF and by direct configuration accesses.
 *
 * Checked: reads are as wide as the access (narrow 0xCF8-0xCFB accesses
 * read all ones); the address register keeps no reserved bit; a function
 * other than 00:00.0 reads all ones; the host bridge's identity (vendor,
 * device, revision, class, header type) and every byte that is not
 * writable never change; the writable ones change only by a write.
 */
#include <string.h>

#include "core/vdev/vpci.h"
#include "tests/fuzz/fuzz.h"

#define ADDRESS_RESERVED 0x7f000003u
/* Bytes of the host bridge header a guest may change (core/vdev/vpci.c). */
#define CFG_COMMAND    0x04
#define CFG_CACHE_LINE 0x0c
#define CFG_LATENCY    0x0d

static struct vpci pci;
static u8 initial[VPCI_CONFIG_SIZE];

static u32 all_ones(u8 size)
{
	return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static void check_state(void)
{
	FUZZ_CHECK((pci.address & ADDRESS_RESERVED) == 0, "address 0x%08x",
		   pci.address);
	for (u32 i = 0; i < VPCI_CONFIG_SIZE; i++) {
		u8 writable = i == CFG_COMMAND				? 0x07
			      : i == CFG_CACHE_LINE || i == CFG_LATENCY ? 0xff
									: 0;

		FUZZ_CHECK((pci.host_bridge[i] & ~writable) ==
			       (initial[i] & ~writable),
			   "read-only byte 0x%02x changed to 0x%02x", i,
			   pci.host_bridge[i]);
	}
}

static void step(struct fuzz_in *in)
{
	static const u16 ports[] = {0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc,
				    0xcfd, 0xcfe, 0xcff, 0xcf7, 0xd00};
	static const u8 sizes[] = {1, 2, 4};
	u8 op = fuzz_u8(in);
	u16 port = FUZZ_PICK(in, ports);
	u8 size = FUZZ_PICK(in, sizes);
	u8 bus = fuzz_bool(in) ? fuzz_u8(in) : 0;
	u8 dev = fuzz_bool(in) ? fuzz_u8(in) & 0x1f : 0;
	u8 fn = fuzz_bool(in) ? fuzz_u8(in) & 7 : 0;
	u8 offset = fuzz_u8(in);
	bool bridge = !bus && !dev && !fn;
	u32 value;

	if (in->done)
		return;
	switch (op % 5) {
	case 0:
		vpci_io_write(&pci, port, size, fuzz_u32(in));
		break;
	case 1:
		value = vpci_io_read(&pci, port, size);
		FUZZ_CHECK((value & ~all_ones(size)) == 0,
			   "%u-byte read of 0x%x gave 0x%x", size, port, value);
		if (port < VPCI_DATA_PORT && !(port == 0xcf8 && size == 4))
			FUZZ_CHECK(value == all_ones(size),
				   "narrow read of 0x%x gave 0x%x", port,
				   value);
		break;
	case 2: /* select a function and register, as a driver does */
		vpci_io_write(&pci, VPCI_ADDRESS_PORT, 4,
			      VPCI_ADDRESS_ENABLE | (u32)bus << 16 |
				  (u32)dev << 11 | (u32)fn << 8 |
				  (offset & 0xfc));
		break;
	case 3:
		value = vpci_config_read(&pci, bus, dev, fn, offset);
		FUZZ_CHECK(bridge || value == 0xff,
			   "absent %02x:%02x.%u reads 0x%02x", bus, dev, fn,
			   value);
		break;
	default:
		vpci_config_write(&pci, bus, dev, fn, offset, fuzz_u8(in));
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	vpci_init(&pci);
	memcpy(initial, pci.host_bridge, sizeof(initial));
	FUZZ_CHECK(vpci_config_read(&pci, 0, 0, 0, 0) ==
			   (VPCI_HOST_BRIDGE_VENDOR & 0xff) &&
		       vpci_config_read(&pci, 0, 0, 0, 0x0b) ==
			   VPCI_HOST_BRIDGE_CLASS >> 16,
		   "host bridge identity");
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
