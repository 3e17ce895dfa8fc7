/* SPDX-License-Identifier: MIT */
/*
 * Virtual PCI configuration space, mechanism #1: the address register at
 * 0xCF8 (32-bit accesses only) and the data window at 0xCFC-0xCFF.
 *
 * Bus 0 holds one device, a host bridge at 00:00.0 presenting the Intel
 * 440FX PMC identity (8086:1237, class 06 00 00), with no BARs, no
 * capabilities and no interrupt. Every other bus/device/function reads
 * all ones, as an empty slot does, and drops writes. Layout of the header
 * per the PCI Local Bus Specification 3.0, 6.1 and 3.2.2.3.2.
 */
#ifndef VENEER_CORE_VDEV_VPCI_H
#define VENEER_CORE_VDEV_VPCI_H

#include "core/lib/types.h"

#define VPCI_ADDRESS_PORT	  0xcf8
#define VPCI_DATA_PORT		  0xcfc
#define VPCI_PORTS		  8 /* 0xcf8-0xcff */
#define VPCI_CONFIG_SIZE	  256
#define VPCI_HOST_BRIDGE_VENDOR	  0x8086
#define VPCI_HOST_BRIDGE_DEVICE	  0x1237
#define VPCI_HOST_BRIDGE_CLASS	  0x060000 /* bridge, host, no prog-if */
#define VPCI_HOST_BRIDGE_REVISION 0x02
#define VPCI_ADDRESS_ENABLE	  0x80000000u

struct vpci {
	u32 address; /* 0xCF8 as last written (reserved bits cleared) */
	u8 host_bridge[VPCI_CONFIG_SIZE];
};

void vpci_init(struct vpci *pci);

/*
 * Configuration read/write of the byte at `offset` of
 * bus:device.function; what each byte of a data-window access does once
 * 0xCF8 selects the function. Reads of absent functions return 0xff;
 * writes touch only the writable bits of the host bridge header.
 */
u8 vpci_config_read(const struct vpci *pci, u8 bus, u8 device, u8 function,
		    u8 offset);
void vpci_config_write(struct vpci *pci, u8 bus, u8 device, u8 function,
		       u8 offset, u8 value);

/*
 * Port access in the I/O-bus shape (core/iobus.h), opaque = the vpci.
 * 0xCF8 is the address register only for 32-bit accesses; narrower ones
 * to 0xCF8-0xCFB read all ones and are dropped (so a probe for
 * configuration mechanism #2, which uses byte accesses there, fails).
 * The data window takes 1-, 2- and 4-byte accesses as byte accesses to
 * consecutive ports (iobus_read_bytewise()): a word at 0xCFE is register
 * bytes 2 and 3; bytes that run past 0xCFF read 0xff and are dropped.
 */
u32 vpci_io_read(void *opaque, u16 port, u8 size);
void vpci_io_write(void *opaque, u16 port, u8 size, u32 value);

#endif /* VENEER_CORE_VDEV_VPCI_H */
