/* SPDX-License-Identifier: MIT */
/*
 * Virtual PCI configuration space, mechanism #1: the address register at
 * 0xCF8 (32-bit accesses only) and the data window at 0xCFC-0xCFF.
 *
 * Bus 0 holds a host bridge at 00:00.0 presenting the Intel 440FX PMC
 * identity (8086:1237, class 06 00 00), with no BARs, no capabilities and
 * no interrupt, and the guest's devices (struct vpci_func, function 0 of
 * a slot 1-31 each, attached by the platform). Every other
 * bus/device/function reads all ones, as an empty slot does, and drops
 * writes. Layout of the header per the PCI Local Bus Specification 3.0,
 * 6.1 and 3.2.2.3.2.
 *
 * A device's configuration space is 256 bytes and a write mask: a write
 * changes only the bits the mask allows, so read-only fields, the BAR
 * sizing protocol (6.2.5.1: the size bits of a BAR read back as zero
 * after all ones are written) and a capability's read-only fields need
 * no code of their own. The device learns of a write through its
 * `written` hook, once per port access, and acts on the new values
 * (moves its BARs, enables MSI-X).
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

#define VPCI_SLOTS    32
#define VPCI_BARS     6
#define VPCI_BAR_NONE (~0ull) /* vpci_func_bar(): not decoded now */

/* Type 0 header offsets and bits (PCI 3.0, 6.1, 6.2, 6.7). */
#define VPCI_CFG_COMMAND       0x04
#define VPCI_CMD_IO	       0x0001
#define VPCI_CMD_MEMORY	       0x0002
#define VPCI_CMD_BUS_MASTER    0x0004
#define VPCI_CMD_INTX_DISABLE  0x0400
#define VPCI_CFG_STATUS	       0x06
#define VPCI_STATUS_INTX       0x0008 /* interrupt status (read-only) */
#define VPCI_STATUS_CAP_LIST   0x0010
#define VPCI_CFG_BAR0	       0x10
#define VPCI_CFG_SUBSYS_VENDOR 0x2c
#define VPCI_CFG_CAP_PTR       0x34
#define VPCI_CFG_INTR_LINE     0x3c
#define VPCI_CFG_INTR_PIN      0x3d
#define VPCI_CAP_START	       0x40 /* capabilities from here on */
#define VPCI_BAR_MEM64	       0x4  /* memory BAR type bits 2:1 = 10b */

struct vpci_func;

/* Bytes [offset, offset + size) of f's configuration space were written. */
typedef void (*vpci_written_fn)(struct vpci_func *f, u8 offset, u8 size);

struct vpci_func {
	u8 config[VPCI_CONFIG_SIZE];
	u8 wmask[VPCI_CONFIG_SIZE]; /* bits a write may change */
	u64 bar_size[VPCI_BARS];    /* 0: no BAR at that register */
	u8 cap_next; /* where vpci_func_add_cap() puts the next */
	u8 cap_last; /* the last capability's offset, 0 none */
	vpci_written_fn written;
	void *opaque;
};

struct vpci {
	u32 address; /* 0xCF8 as last written (reserved bits cleared) */
	u8 host_bridge[VPCI_CONFIG_SIZE];
	struct vpci_func *slot[VPCI_SLOTS]; /* [0] is the host bridge: NULL */
};

void vpci_init(struct vpci *pci);

/*
 * A device's header: IDs, class (base << 16 | sub << 8 | prog-if), the
 * subsystem IDs, interrupt pin 1-4 (INTA-INTD; 0: none), command bits the
 * guest may set (VPCI_CMD_*), no BARs and no capabilities yet.
 */
struct vpci_ids {
	u16 vendor, device, subsys_vendor, subsys;
	u32 class_code;
	u8 revision;
	u8 intr_pin;
	u16 command_mask;
};
void vpci_func_init(struct vpci_func *f, const struct vpci_ids *ids,
		    vpci_written_fn written, void *opaque);

/*
 * A memory BAR at register `index` (0-5; a 64-bit one takes index + 1
 * too) of `size` bytes (a power of two, at least 16), placed at `base`
 * (aligned to size) as firmware would place it. False for a bad index,
 * size or alignment.
 */
bool vpci_func_add_bar(struct vpci_func *f, u32 index, u64 size, bool is64,
		       u64 base);

/* Where BAR `index` decodes now: its base, or VPCI_BAR_NONE when memory
 * decoding is off, no BAR is there or it sits at 0. */
u64 vpci_func_bar(const struct vpci_func *f, u32 index);

/*
 * Append a capability of `len` bytes with ID `id` to the list (6.7): its
 * header (ID, next pointer) is filled in, the rest is zero and read-only
 * until the caller sets the mask (vpci_func_set_wmask). Returns its offset,
 * or 0 when it does not fit in the 256 bytes.
 */
u8 vpci_func_add_cap(struct vpci_func *f, u8 id, u8 len);
void vpci_func_set_wmask(struct vpci_func *f, u8 offset, u32 mask, u8 size);

/* Little-endian fields of the configuration space. */
u32 vpci_func_get(const struct vpci_func *f, u8 offset, u8 size);
void vpci_func_put(struct vpci_func *f, u8 offset, u32 value, u8 size);

/* Put f in slot 1-31 of bus 0: false when the slot is 0, past 31 or taken. */
bool vpci_attach(struct vpci *pci, u32 slot, struct vpci_func *f);

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
