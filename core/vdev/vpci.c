/* SPDX-License-Identifier: MIT */
#include "core/vdev/vpci.h"
#include "core/iobus.h"
#include "core/lib/string.h"
#include "core/lib/types.h"

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

void vpci_func_put(struct vpci_func *f, u8 offset, u32 value, u8 size)
{
	for (u8 i = 0; i < size && offset + i < VPCI_CONFIG_SIZE; i++)
		f->config[offset + i] = (u8)(value >> (8 * i));
}

u32 vpci_func_get(const struct vpci_func *f, u8 offset, u8 size)
{
	u32 v = 0;

	for (u8 i = 0; i < size && offset + i < VPCI_CONFIG_SIZE; i++)
		v |= (u32)f->config[offset + i] << (8 * i);
	return v;
}

void vpci_func_set_wmask(struct vpci_func *f, u8 offset, u32 mask, u8 size)
{
	for (u8 i = 0; i < size && offset + i < VPCI_CONFIG_SIZE; i++)
		f->wmask[offset + i] = (u8)(mask >> (8 * i));
}

void vpci_func_init(struct vpci_func *f, const struct vpci_ids *ids,
		    vpci_written_fn written, void *opaque)
{
	memset(f, 0, sizeof(*f));
	vpci_func_put(f, CFG_VENDOR, ids->vendor, 2);
	vpci_func_put(f, CFG_DEVICE, ids->device, 2);
	f->config[CFG_REVISION] = ids->revision;
	vpci_func_put(f, CFG_CLASS, ids->class_code, 3);
	f->config[CFG_HEADER_TYPE] = 0x00; /* type 0, single function */
	vpci_func_put(f, VPCI_CFG_SUBSYS_VENDOR, ids->subsys_vendor, 2);
	vpci_func_put(f, VPCI_CFG_SUBSYS_VENDOR + 2, ids->subsys, 2);
	f->config[VPCI_CFG_INTR_PIN] = ids->intr_pin;
	vpci_func_set_wmask(f, VPCI_CFG_COMMAND, ids->command_mask, 2);
	f->wmask[CFG_CACHE_LINE] = 0xff;
	f->wmask[CFG_LATENCY] = 0xff;
	f->wmask[VPCI_CFG_INTR_LINE] = 0xff;
	f->cap_next = VPCI_CAP_START;
	f->written = written;
	f->opaque = opaque;
}

bool vpci_func_add_bar(struct vpci_func *f, u32 index, u64 size, bool is64,
		       u64 base)
{
	u8 reg = (u8)(VPCI_CFG_BAR0 + 4 * index);
	u64 mask = ~(size - 1) & ~0xfull;

	if (index >= VPCI_BARS || (is64 && index + 1 >= VPCI_BARS) ||
	    size < 16 || (size & (size - 1)) || (base & (size - 1)) ||
	    (!is64 && (size > 0x80000000ull || base + size > 1ull << 32)) ||
	    f->bar_size[index] || (is64 && f->bar_size[index + 1]))
		return false;
	f->bar_size[index] = size;
	vpci_func_put(f, reg, (u32)base | (is64 ? VPCI_BAR_MEM64 : 0), 4);
	vpci_func_set_wmask(f, reg, (u32)mask, 4);
	if (is64) {
		vpci_func_put(f, reg + 4, (u32)(base >> 32), 4);
		vpci_func_set_wmask(f, reg + 4, (u32)(mask >> 32), 4);
	}
	return true;
}

u64 vpci_func_bar(const struct vpci_func *f, u32 index)
{
	u8 reg = (u8)(VPCI_CFG_BAR0 + 4 * index);
	u32 low;
	u64 base;

	if (index >= VPCI_BARS || !f->bar_size[index] ||
	    !(vpci_func_get(f, VPCI_CFG_COMMAND, 2) & VPCI_CMD_MEMORY))
		return VPCI_BAR_NONE;
	low = vpci_func_get(f, reg, 4);
	base = low & ~0xfu;
	if (low & VPCI_BAR_MEM64)
		base |= (u64)vpci_func_get(f, reg + 4, 4) << 32;
	return base ? base : VPCI_BAR_NONE;
}

u8 vpci_func_add_cap(struct vpci_func *f, u8 id, u8 len)
{
	u8 at = f->cap_next;

	if (len < 2 || at < VPCI_CAP_START || at + len > VPCI_CONFIG_SIZE)
		return 0;
	f->config[at] = id;
	f->config[at + 1] = 0;
	if (f->cap_last)
		f->config[f->cap_last + 1] = at;
	else
		f->config[VPCI_CFG_CAP_PTR] = at;
	vpci_func_put(
	    f, VPCI_CFG_STATUS,
	    vpci_func_get(f, VPCI_CFG_STATUS, 2) | VPCI_STATUS_CAP_LIST, 2);
	f->cap_last = at;
	/* Capabilities are dword aligned (6.7). */
	f->cap_next = (u8)MIN(ALIGN_UP(at + len, 4u), 0xffu);
	return at;
}

bool vpci_attach(struct vpci *pci, u32 slot, struct vpci_func *f)
{
	if (slot == 0 || slot >= VPCI_SLOTS || pci->slot[slot])
		return false;
	pci->slot[slot] = f;
	return true;
}

/* The function at bus:device.function, NULL for an empty one; the host
 * bridge is not a vpci_func. */
static struct vpci_func *func_at(const struct vpci *pci, u8 bus, u8 device,
				 u8 function)
{
	if (bus != 0 || function != 0 || device >= VPCI_SLOTS)
		return NULL;
	return pci->slot[device];
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
	const struct vpci_func *f = func_at(pci, bus, device, function);

	if (f)
		return f->config[offset];
	if (!is_host_bridge(bus, device, function))
		return 0xff;
	return pci->host_bridge[offset];
}

/* One byte into the configuration space, without telling the device. */
static void config_store(struct vpci *pci, u8 bus, u8 device, u8 function,
			 u8 offset, u8 value)
{
	struct vpci_func *f = func_at(pci, bus, device, function);
	u8 mask, *b;

	if (f) {
		mask = f->wmask[offset];
		b = &f->config[offset];
	} else if (is_host_bridge(bus, device, function)) {
		mask = writable_bits(offset);
		b = &pci->host_bridge[offset];
	} else {
		return;
	}
	*b = (u8)((*b & ~mask) | (value & mask));
}

void vpci_config_write(struct vpci *pci, u8 bus, u8 device, u8 function,
		       u8 offset, u8 value)
{
	struct vpci_func *f = func_at(pci, bus, device, function);

	config_store(pci, bus, device, function, offset, value);
	if (f && f->written)
		f->written(f, offset, 1);
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
		config_store(pci, bus, device, function, offset, (u8)value);
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
	if (port >= VPCI_DATA_PORT) {
		u8 bus, device, function, offset;
		struct vpci_func *f;

		iobus_write_bytewise(data_write_byte, opaque, port, size,
				     value);
		/* The device hears of the access once, whole (what of it
		 * fell inside the window). */
		if (!selected(pci, port, &bus, &device, &function, &offset))
			return;
		f = func_at(pci, bus, device, function);
		if (f && f->written)
			f->written(
			    f, offset,
			    (u8)MIN((u32)size, VPCI_DATA_PORT + 4u - port));
	}
}
