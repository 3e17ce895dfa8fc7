/* SPDX-License-Identifier: MIT */
/*
 * The host machine's PCI devices: configuration space access and the
 * enumeration at boot, the first part of assigning devices to guests.
 *
 * References: PCI Local Bus Specification 3.0 (configuration mechanism #1
 * 3.2.2.3.2, the header 6.1-6.2, BAR sizing 6.2.5.1, capabilities 6.7,
 * MSI and MSI-X 6.8), PCI-to-PCI Bridge Architecture 1.2 (the type 1
 * header, 3.2), PCI Express Base Specification (ECAM 7.2.2, the PCI
 * Express capability 7.5.3), PCI Firmware Specification 3.x (MCFG 4.1.2,
 * read by drivers/acpi.c).
 *
 * Only PCI segment 0 is used: the MCFG entry of segment 0, or the legacy
 * ports, which reach segment 0 only. Every configuration access goes
 * through a struct pci_config_ops, so host tests can fake the devices.
 *
 * The enumeration reads each function's header and sizes its BARs; that
 * sizing (with the function's decoding off meanwhile) is the only thing
 * written to any device. Bridges are not reprogrammed: the bus numbers the
 * firmware gave them are taken as they are.
 */
#ifndef VENEER_DRIVERS_PCI_H
#define VENEER_DRIVERS_PCI_H

#include "core/lib/types.h"
#include "drivers/acpi.h"

/* A requester ID (PCIe 2.2.6.2): bus 15:8, device 7:3, function 2:0. */
#define PCI_BDF(bus, dev, fn)                                                  \
	((u16)(((u32)(bus) << 8) | ((u32)(dev) << 3) | (u32)(fn)))
#define PCI_BUS(bdf)  ((u8)((bdf) >> 8))
#define PCI_DEV(bdf)  ((u8)(((bdf) >> 3) & 0x1f))
#define PCI_FUNC(bdf) ((u8)((bdf)&7))

/* Configuration header offsets (PCI 3.0 6.1, Figure 6-1; bridge 3.2). */
#define PCI_CFG_VENDOR	     0x00
#define PCI_CFG_COMMAND	     0x04 /* 16 bits; status 16 bits at 0x06 */
#define PCI_CFG_CLASS_REV    0x08 /* revision 7:0, class 31:8 */
#define PCI_CFG_HEADER_DWORD 0x0c /* header type is bits 23:16 */
#define PCI_CFG_BAR0	     0x10
#define PCI_CFG_BUS_NUMBERS  0x18 /* type 1: primary, secondary, subord. */
#define PCI_CFG_CAP_PTR	     0x34
#define PCI_CFG_INTERRUPT    0x3c /* line 7:0, pin 15:8 */

#define PCI_CMD_IO	    0x0001
#define PCI_CMD_MEMORY	    0x0002
#define PCI_CMD_MASTER	    0x0004 /* bus master: the function may DMA */
#define PCI_STATUS_CAP_LIST 0x0010

#define PCI_HEADER_TYPE_MASK 0x7f
#define PCI_HEADER_MULTIFN   0x80
#define PCI_HEADER_ENDPOINT  0 /* type 0 */
#define PCI_HEADER_BRIDGE    1 /* type 1: PCI-to-PCI bridge */
#define PCI_HEADER_CARDBUS   2 /* type 2: not looked into */

/* Capability IDs (PCI Code and ID Assignment Specification, 2). */
#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_PCIE 0x10
#define PCI_CAP_ID_MSIX 0x11

/* Capabilities live in 0x40-0xff: at most 48 dword-aligned entries. */
#define PCI_CAP_FIRST 0x40
#define PCI_CAP_MAX   48

/* PCIe 7.5.3.2: Device/Port Type, bits 7:4 of the capability register. */
#define PCIE_TYPE_ENDPOINT	  0x0
#define PCIE_TYPE_LEGACY_ENDPOINT 0x1
#define PCIE_TYPE_ROOT_PORT	  0x4
#define PCIE_TYPE_UPSTREAM	  0x5
#define PCIE_TYPE_DOWNSTREAM	  0x6
#define PCIE_TYPE_PCIE_TO_PCI	  0x7
#define PCIE_TYPE_PCI_TO_PCIE	  0x8
#define PCIE_TYPE_RC_ENDPOINT	  0x9
#define PCIE_TYPE_RC_EVENT	  0xa

/*
 * How configuration space is reached. offset is dword aligned and below
 * config_size of struct pci_access; values are whole dwords (the device
 * sees a 32-bit access). Reads of an absent function return all ones.
 */
struct pci_config_ops {
	u32 (*read32)(u16 bdf, u16 offset);
	void (*write32)(u16 bdf, u16 offset, u32 value);
};

/* The access in use, as pci_setup_access() or pci_set_access() chose. */
struct pci_access {
	const struct pci_config_ops *ops;
	u8 first_bus, last_bus; /* the buses enumerated */
	u16 config_size;	/* 4096 (ECAM) or 256 (ports) */
	bool ecam;
	u64 ecam_base; /* of bus 0, as the MCFG gives it */
};

#define PCI_PORT_ADDRESS 0xcf8
#define PCI_PORT_DATA	 0xcfc

/*
 * Picks the configuration access: ECAM through the identity map when the
 * MCFG (NULL or count 0: none) has an entry for segment 0 whose buses lie
 * wholly below 4 GiB, else mechanism #1 through ports 0xCF8/0xCFC (with a
 * printed line saying why the ECAM was refused, when there was one).
 * Call after paging_init(): the ECAM window is device memory, mapped
 * uncached there.
 */
void pci_setup_access(const struct acpi_mcfg_info *mcfg);

/* Uses ops for buses first_bus..last_bus instead (host tests). */
void pci_set_access(const struct pci_config_ops *ops, u8 first_bus, u8 last_bus,
		    u16 config_size);

const struct pci_access *pci_get_access(void);

/* A dword of bdf's configuration space (offset dword aligned, in range). */
u32 pci_config_read32(u16 bdf, u16 offset);
/* Writes one; an offset out of range or unaligned writes nothing. */
void pci_config_write32(u16 bdf, u16 offset, u32 value);

#define PCI_MAX_DEVICES 256
#define PCI_MAX_BARS	6 /* type 0; a bridge has 2 */

enum pci_bar_kind {
	PCI_BAR_NONE,	  /* not implemented, or unusable (warned) */
	PCI_BAR_IO,	  /* I/O space */
	PCI_BAR_MEM32,	  /* 32-bit memory */
	PCI_BAR_MEM64,	  /* 64-bit memory, this BAR and the next */
	PCI_BAR_MEM64_HI, /* the upper half of the BAR before */
};

struct pci_bar {
	u8 kind; /* enum pci_bar_kind */
	bool prefetchable;
	u64 base; /* as the firmware programmed it */
	u64 size; /* from the sizing (PCI 3.0 6.2.5.1); 0 with NONE */
};

/* One function found, as the enumeration left it: nothing per guest. */
struct pci_device {
	u16 bdf;
	u16 vendor, device;
	u8 class_base, class_sub, prog_if, revision;
	u8 header_type; /* PCI_HEADER_*, without the multi-function bit */
	bool multifunction;
	u8 irq_pin;  /* 0 none, 1-4 INTA#-INTD# */
	u8 irq_line; /* as the firmware wrote it */
	u8 bar_count;
	struct pci_bar bars[PCI_MAX_BARS];
	/* PCI_HEADER_BRIDGE only: */
	u8 primary_bus, secondary_bus, subordinate_bus;
	/* Capability offsets, 0 when absent. */
	u8 msi_cap, msix_cap, pcie_cap;
	u16 msix_table_size;   /* entries */
	u8 msix_table_bar;     /* BIR */
	u32 msix_table_offset; /* in that BAR */
	u8 pcie_type;	       /* PCIE_TYPE_*, with pcie_cap */
	/* The bridge whose buses hold this one (index of pci_device()), -1 on
	 * a root bus. */
	i32 parent;
};

/*
 * Scans every bus of the access in use (pci_setup_access() first): device
 * 0-31, function 0, and functions 1-7 when function 0 says it is
 * multi-function; a vendor ID of 0xffff is an absent function. Records
 * each function in the host table (PCI_MAX_DEVICES; a warning counts those
 * beyond), links devices to their parent bridges, prints the INFO line
 * `veneer: pci: N functions on M buses (ECAM at 0xBASE, buses A-B)` (or
 * `(ports 0xcf8, buses 0-255)`) and one description per function at
 * LOG_DEBUG. A function that misbehaves (a BAR that sizes to nonsense, a
 * capability loop) gives a warning naming it; nothing stops the boot.
 * Scanning again forgets the previous results. Returns the functions
 * recorded.
 */
u32 pci_enumerate(void);

/* The functions recorded, in scan order (bus, device, function). */
u32 pci_count(void);
/* The i-th function, NULL when i >= pci_count(). */
const struct pci_device *pci_device(u32 i);
/* The function with this requester ID, NULL when none was found. */
const struct pci_device *pci_find(u16 bdf);
/* The secondary bus of the bridge at bdf, or -1 when bdf is no bridge. */
int pci_secondary_bus(u16 bdf);

/* "endpoint", "root-port", ... for PCIE_TYPE_*; "?" for others. */
const char *pcie_type_name(u8 type);

#endif /* VENEER_DRIVERS_PCI_H */
