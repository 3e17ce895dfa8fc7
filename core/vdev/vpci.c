/* SPDX-License-Identifier: MIT */
#include "core/vdev/vpci.h"
#include "core/iobus.h"
#include "core/lib/string.h"

/* Type 0 header offsets (PCI Local Bus Specification 3.0, 6.1). */
#define CFG_VENDOR	0x00
#define CFG_DEVICE	0x02
#define CFG_COMMAND	0x04
#define CFG_REVISION	0x08
#define CFG_CLASS	0x09 /* prog-if, subclass, base class */
#define CFG_CACHE_LINE	0x0c
#define CFG_LATENCY	0x0d
#define CFG_HEADER_TYPE 0x0e
/* Address register (3.2.2.3.2): enable, bus 23:16, device 15:11,
 * function 10:8, register 7:2; bits 30:24 and 1:0 are reserved. */
#define ADDRESS_WRITABLE 0x80fffffcu
/* Command bits 0-2 (I/O, memory, bus master) are kept, with no effect. */
#define COMMAND_WRITABLE 0x07

static void put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

void vpci_init(struct vpci *pci)
{
	u8 *cfg = pci->host_bridge;

	memset(pci, 0, sizeof(*pci));
	put16(cfg + CFG_VENDOR, VPCI_HOST_BRIDGE_VENDOR);
	put16(cfg + CFG_DEVICE, VPCI_HOST_BRIDGE_DEVICE);
	cfg[CFG_REVISION] = VPCI_HOST_BRIDGE_REVISION;
	cfg[CFG_CLASS] = (u8)VPCI_HOST_BRIDGE_CLASS;
	cfg[CFG_CLASS + 1] = (u8)(VPCI_HOST_BRIDGE_CLASS >> 8);
	cfg[CFG_CLASS + 2] = (u8)(VPCI_HOST_BRIDGE_CLASS >> 16);
	cfg[CFG_HEADER_TYPE] = 0x00; /* type 0, single function */
}

static bool is_host_bridge(u8 bus, u8 device, u8 function)
{
	return bus == 0 && device == 0 && function == 0;
}

static u8 writable_bits(u8 offset)
{
	switch (offset) {
	case CFG_COMMAND:
		return COMMAND_WRITABLE;
	case CFG_CACHE_LINE:
	case CFG_LATENCY:
		return 0xff;
	default:
		return 0; /* IDs, status, BARs (none), everything else */
	}
}

u8 vpci_config_read(const struct vpci *pci, u8 bus, u8 device, u8 function,
		    u8 offset)
{
	if (!is_host_bridge(bus, device, function))
		return 0xff;
	return pci->host_bridge[offset];
}

void vpci_config_write(struct vpci *pci, u8 bus, u8 device, u8 function,
		       u8 offset, u8 value)
{
	u8 mask = writable_bits(offset);
	u8 *b = &pci->host_bridge[offset];

	if (!is_host_bridge(bus, device, function))
		return;
	*b = (u8)((*b & ~mask) | (value & mask));
}

/*
 * The function and register byte the data window port `port` reaches:
 * byte (port - 0xCFC) of the dword 0xCF8 selects. False when 0xCF8 has
 * the enable bit clear, or for a byte of a wide access that ran past
 * 0xCFF (it is not in the window: SDM Vol. 1 18.3, consecutive ports).
 */
static bool selected(const struct vpci *pci, u16 port, u8 *bus, u8 *device,
		     u8 *function, u8 *offset)
{
	u32 a = pci->address;

	if (!(a & VPCI_ADDRESS_ENABLE) || port < VPCI_DATA_PORT ||
	    port > VPCI_DATA_PORT + 3)
		return false;
	*bus = (u8)(a >> 16);
	*device = (a >> 11) & 0x1f;
	*function = (a >> 8) & 7;
	*offset = (u8)((a & 0xfc) + (port - VPCI_DATA_PORT));
	return true;
}

static u32 data_read_byte(void *opaque, u16 port, u8 size)
{
	const struct vpci *pci = opaque;
	u8 bus, device, function, offset;

	(void)size; /* always 1: iobus_read_bytewise() */
	if (!selected(pci, port, &bus, &device, &function, &offset))
		return 0xff;
	return vpci_config_read(pci, bus, device, function, offset);
}

static void data_write_byte(void *opaque, u16 port, u8 size, u32 value)
{
	struct vpci *pci = opaque;
	u8 bus, device, function, offset;

	(void)size;
	if (selected(pci, port, &bus, &device, &function, &offset))
		vpci_config_write(pci, bus, device, function, offset,
				  (u8)value);
}

u32 vpci_io_read(void *opaque, u16 port, u8 size)
{
	const struct vpci *pci = opaque;

	if (port == VPCI_ADDRESS_PORT && size == 4)
		return pci->address;
	if (port < VPCI_DATA_PORT) /* a narrow access to 0xCF8-0xCFB */
		return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	return iobus_read_bytewise(data_read_byte, opaque, port, size);
}

void vpci_io_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct vpci *pci = opaque;

	if (port == VPCI_ADDRESS_PORT && size == 4) {
		pci->address = value & ADDRESS_WRITABLE;
		return;
	}
	if (port >= VPCI_DATA_PORT)
		iobus_write_bytewise(data_write_byte, opaque, port, size,
				     value);
}
