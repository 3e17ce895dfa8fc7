/* SPDX-License-Identifier: MIT */
/*
 * The AMD-Vi IOMMU driver (drivers/amdvi.c): struct iommu_ops for the
 * units an ACPI IVRS describes (drivers/ivrs.h).
 *
 * References are to the AMD I/O Virtualization Technology (IOMMU)
 * Specification (48882), revision 3.x: 2.2.2 the device table entry,
 * 2.2.5 interrupt remapping, 2.4 commands, 2.5 the event log and its
 * events, 3.4 the MMIO
 * registers (3.4.1 Device Table Base, 3.4.2 Command Buffer Base, 3.4.3
 * Event Log Base, 3.4.4 Control, 3.4.7 Extended Feature, 3.4.8-3.4.10
 * head, tail and status), 3.3 the PCI capability (its header's EFRSup).
 *
 * Besides amdvi_probe(), the encodings the driver writes and reads are
 * exported so that host unit tests can check them bit by bit.
 */
#ifndef VENEER_DRIVERS_AMDVI_H
#define VENEER_DRIVERS_AMDVI_H

#include "core/lib/types.h"
#include "drivers/iommu.h"
#include "drivers/ivrs.h"

/* 3.4: MMIO register offsets. */
#define AMDVI_MMIO_DEVTAB   0x0000 /* 3.4.1 Device Table Base Address */
#define AMDVI_MMIO_CMDBUF   0x0008 /* 3.4.2 Command Buffer Base Address */
#define AMDVI_MMIO_EVTLOG   0x0010 /* 3.4.3 Event Log Base Address */
#define AMDVI_MMIO_CONTROL  0x0018 /* 3.4.4 IOMMU Control */
#define AMDVI_MMIO_EFR	    0x0030 /* 3.4.7 Extended Feature Register */
#define AMDVI_MMIO_CMD_HEAD 0x2000 /* Command Buffer Head Pointer */
#define AMDVI_MMIO_CMD_TAIL 0x2008 /* Command Buffer Tail Pointer */
#define AMDVI_MMIO_EVT_HEAD 0x2010 /* Event Log Head Pointer */
#define AMDVI_MMIO_EVT_TAIL 0x2018 /* Event Log Tail Pointer */
#define AMDVI_MMIO_STATUS   0x2020 /* IOMMU Status */
/* The register block a unit decodes (Base Address bits 31:14 of the
 * capability, 3.3.2): 16 KiB, and so aligned. */
#define AMDVI_MMIO_SIZE KiB(16)

/* 3.4.4: Control register bits. */
#define AMDVI_CTRL_IOMMU_EN	   BIT(0)
#define AMDVI_CTRL_HT_TUN_EN	   BIT(1)
#define AMDVI_CTRL_EVENT_LOG_EN	   BIT(2)
#define AMDVI_CTRL_EVENT_INT_EN	   BIT(3)
#define AMDVI_CTRL_COM_WAIT_INT_EN BIT(4)
#define AMDVI_CTRL_COHERENT	   BIT(10)
#define AMDVI_CTRL_CMD_BUF_EN	   BIT(12)
#define AMDVI_CTRL_PPR_LOG_EN	   BIT(13)
#define AMDVI_CTRL_PPR_EN	   BIT(15)
#define AMDVI_CTRL_GT_EN	   BIT(16)
#define AMDVI_CTRL_GA_EN	   BIT(17)

/* 3.4.10: Status register bits (0-2 write 1 to clear). */
#define AMDVI_STATUS_EVENT_OVERFLOW BIT(0)
#define AMDVI_STATUS_EVENT_LOG_INT  BIT(1)
#define AMDVI_STATUS_COM_WAIT_INT   BIT(2)
#define AMDVI_STATUS_EVENT_LOG_RUN  BIT(3)
#define AMDVI_STATUS_CMD_BUF_RUN    BIT(4)

/* 3.4.7: Extended Feature Register bits used. */
#define AMDVI_EFR_IA_SUP BIT(6) /* INVALIDATE_IOMMU_ALL is implemented */

/* 3.3.1: IOMMU Capability Header, EFRSup. */
#define AMDVI_CAP_EFR_SUP BIT(27)

/* 3.4.1-3.4.3: base-address register fields. */
#define AMDVI_BASE_ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */
#define AMDVI_LEN_SHIFT	     56			   /* ComLen, EventLen 59:56 */
#define AMDVI_HEAD_TAIL_MASK 0x7fff0ull		   /* bits 18:4 */

/* 2.2.2.1: the device table: 65536 entries of 256 bits. */
#define AMDVI_DTE_COUNT 65536u
#define AMDVI_DTE_BYTES 32u
#define AMDVI_DEVTAB_PAGES                                                     \
	((u32)(AMDVI_DTE_COUNT * (u64)AMDVI_DTE_BYTES / PAGE_SIZE))

/* 2.2.2.1: DTE bits of the first qword (bits 63:0) ... */
#define AMDVI_DTE_V	     BIT(0)
#define AMDVI_DTE_TV	     BIT(1)
#define AMDVI_DTE_MODE_SHIFT 9 /* bits 11:9: levels of the I/O table */
#define AMDVI_DTE_MODE_MASK  (7ull << AMDVI_DTE_MODE_SHIFT)
#define AMDVI_DTE_ROOT_MASK  AMDVI_BASE_ADDR_MASK /* bits 51:12 */
#define AMDVI_DTE_IR	     BIT(61)
#define AMDVI_DTE_IW	     BIT(62)
/* ... and of the second (bits 127:64): DomainID is bits 79:64. */
#define AMDVI_DTE_DOMAIN_MASK 0xffffull
#define AMDVI_DTE_SE	      BIT(97 - 64) /* suppress I/O page fault events */
#define AMDVI_DTE_SA	      BIT(98 - 64) /* suppress all events */
/*
 * ... and of the third (bits 191:128), the interrupt half (2.2.2.1,
 * 2.2.5): IV (interrupt map valid: 0 forwards every interrupt message
 * unmapped), IntTabLen (log2 of the table's entries), IG (do not log
 * interrupts that find no entry), IntTableRootPtr (address bits 51:6),
 * the pass bits for INIT, ExtInt, NMI, LINT0, LINT1 messages (0: target
 * abort), IntCtl for fixed and arbitrated ones (00b target abort, 01b
 * forward unmapped, 10b remap through the table).
 */
#define AMDVI_DTE_IV		  BIT(128 - 128)
#define AMDVI_DTE_INTTABLEN_SHIFT (129 - 128) /* 132:129 */
#define AMDVI_DTE_INTTABLEN_MASK  (0xfull << AMDVI_DTE_INTTABLEN_SHIFT)
#define AMDVI_DTE_IG		  BIT(133 - 128)
#define AMDVI_DTE_INTTAB_MASK	  0x000fffffffffffc0ull /* 179:134 */
#define AMDVI_DTE_INITPASS	  BIT(184 - 128)
#define AMDVI_DTE_EINTPASS	  BIT(185 - 128)
#define AMDVI_DTE_NMIPASS	  BIT(186 - 128)
#define AMDVI_DTE_INTCTL_SHIFT	  (188 - 128) /* 189:188 */
#define AMDVI_DTE_INTCTL_MASK	  (3ull << AMDVI_DTE_INTCTL_SHIFT)
#define AMDVI_INTCTL_ABORT	  0
#define AMDVI_INTCTL_FORWARD	  1
#define AMDVI_INTCTL_REMAP	  2
#define AMDVI_DTE_LINT0PASS	  BIT(190 - 128)
#define AMDVI_DTE_LINT1PASS	  BIT(191 - 128)
/*
 * Every entry's interrupt half: IV=1, IntCtl 00b, every pass bit 0,
 * IntTabLen 0, IG 0, no table. Fixed and arbitrated interrupt messages
 * are target aborted by IntCtl, the other kinds by their pass bits
 * (SMI and the rest of the system management range by SysMgt, bits
 * 105:104, 00b in the second qword): no device interrupt reaches a CPU.
 */
#define AMDVI_DTE_INTERRUPTS_BLOCKED                                           \
	(AMDVI_DTE_IV | ((u64)AMDVI_INTCTL_ABORT << AMDVI_DTE_INTCTL_SHIFT))
/* The page-table format's levels: Mode 4, a 48-bit device address. */
#define AMDVI_MODE_4LEVEL 4

/* 2.4: command opcodes, bits 63:60 of the first qword. */
#define AMDVI_CMD_SHIFT		      60
#define AMDVI_CMD_COMPLETION_WAIT     0x1
#define AMDVI_CMD_INV_DEVTAB_ENTRY    0x2
#define AMDVI_CMD_INV_IOMMU_PAGES     0x3
#define AMDVI_CMD_INV_IOTLB_PAGES     0x4
#define AMDVI_CMD_INV_INTERRUPT_TABLE 0x5
#define AMDVI_CMD_INV_IOMMU_ALL	      0x8
#define AMDVI_CMD_BYTES		      16u
/* 2.4.1 COMPLETION_WAIT: S (store) bit 0, I (interrupt) bit 1, F bit 2;
 * the store address is bits 51:3 of the first qword. */
#define AMDVI_CW_S	   BIT(0)
#define AMDVI_CW_ADDR_MASK 0x000ffffffffffff8ull
/* 2.4.3 INVALIDATE_IOMMU_PAGES: second qword S bit 0, PDE bit 1, the
 * address bits 63:12; S=1 with address 7FFF_FFFF_FFFF_F000h is every
 * page of the domain. */
#define AMDVI_INV_S	      BIT(0)
#define AMDVI_INV_PDE	      BIT(1)
#define AMDVI_INV_ALL_ADDRESS 0x7ffffffffffff000ull

/* 2.5: event codes, bits 63:60 of the first qword. */
#define AMDVI_EVENT_SHIFT		 60
#define AMDVI_EV_ILLEGAL_DEV_TABLE_ENTRY 0x1
#define AMDVI_EV_IO_PAGE_FAULT		 0x2
#define AMDVI_EV_DEV_TAB_HARDWARE_ERROR	 0x3
#define AMDVI_EV_PAGE_TAB_HARDWARE_ERROR 0x4
#define AMDVI_EV_ILLEGAL_COMMAND_ERROR	 0x5
#define AMDVI_EV_COMMAND_HARDWARE_ERROR	 0x6
#define AMDVI_EV_IOTLB_INV_TIMEOUT	 0x7
#define AMDVI_EV_INVALID_DEVICE_REQUEST	 0x8
#define AMDVI_EVENT_BYTES		 16u
/* 2.5.3 IO_PAGE_FAULT: the flags are bits 59:48 of the first qword
 * (dword 1 bits 27:16); these are their bit numbers in the qword. */
#define AMDVI_EVF_GN BIT(48) /* guest (PASID) request */
#define AMDVI_EVF_NX BIT(49) /* an instruction fetch */
#define AMDVI_EVF_US BIT(50) /* user privilege */
#define AMDVI_EVF_I  BIT(51) /* an interrupt request */
#define AMDVI_EVF_PR BIT(52) /* the page was present (a permission fault) */
#define AMDVI_EVF_RW BIT(53) /* a write */
#define AMDVI_EVF_PE BIT(54) /* permission bits were checked */
#define AMDVI_EVF_RZ BIT(55) /* a reserved bit was set in a table entry */
#define AMDVI_EVF_TR BIT(56) /* a translation request (ATS) */

/* Ring sizes: 512 entries (8 KiB) each; Len = log2(entries). */
#define AMDVI_CMD_ENTRIES 512u
#define AMDVI_EVT_ENTRIES 512u

/* ---- pure encodings (host-testable) ---- */

/* 2.2.2.1: a blocked entry (V, TV, Mode 4, root = the empty table
 * `empty_root`, IR = IW = 0, domain 0): DMA is an I/O page fault; its
 * third qword AMDVI_DTE_INTERRUPTS_BLOCKED. */
void amdvi_dte_blocked(u64 dte[4], u64 empty_root);
/* An entry translating through `root` (Mode 4), IR, IW, domain `domain`;
 * interrupts blocked as in the blocked entry. */
void amdvi_dte_attached(u64 dte[4], u64 root, u16 domain);

/*
 * 2.2.5: a device's interrupt remapping table, AMDVI_IRT_ENTRIES 32-bit
 * entries (2.2.5.1, guest virtual APIC off). A message's data bits 10:0
 * index the table and bits 10:8 are also read as its delivery mode (only
 * fixed and arbitrated ones go through IntCtl): indexes below 256 keep
 * them fixed.
 */
#define AMDVI_IRT_ENTRIES   256u
#define AMDVI_IRTE_REMAP_EN BIT(0)
/* RemapEn; SupIOPF, IntType (000b fixed), RqEoi, DM (physical) and
 * GuestMode clear; Destination 15:8 = apic_id, Vector 23:16. */
u32 amdvi_irte(u8 vector, u8 apic_id);
/* The third qword of an entry remapping through `table` (128-byte
 * aligned) of `entries` (a power of two, 2 .. 2048): IV, IntTabLen
 * log2(entries), IntTableRootPtr, IntCtl 10b, every pass bit 0. */
u64 amdvi_dte_interrupts(u64 table, u32 entries);

/* 3.4.1: Device Table Base Address: base | (pages - 1). */
u64 amdvi_devtab_reg(u64 hpa, u32 pages);
/* 3.4.2 / 3.4.3: Command Buffer / Event Log Base Address: base | Len. */
u64 amdvi_ring_reg(u64 hpa, u32 entries);

/* 2.4: commands, 128 bits. */
void amdvi_cmd_completion_wait(u64 cmd[2], u64 store_hpa, u64 data);
void amdvi_cmd_inv_devtab_entry(u64 cmd[2], u16 devid);
/* 2.4.5 INVALIDATE_INTERRUPT_TABLE: DeviceID in bits 15:0. */
void amdvi_cmd_inv_interrupt_table(u64 cmd[2], u16 devid);
void amdvi_cmd_inv_iommu_pages_all(u64 cmd[2], u16 domain);
void amdvi_cmd_inv_iommu_all(u64 cmd[2]);

/*
 * 2.5: one event into `f` (reason: static text). Events of a device
 * (page faults, table errors, IOTLB timeouts, invalid requests) name it;
 * the unit's own errors (commands) carry `unit_bdf`, the IOMMU's own
 * PCI function. *code and *domain (may be NULL) get the event code and,
 * for page faults and page-table errors, the domain ID (else 0).
 */
void amdvi_decode_event(const u64 ev[2], u16 unit_bdf, struct iommu_fault *f,
			u8 *code, u16 *domain);

/*
 * The unit of `ivrs` whose IVHD covers `bdf` (a range or select entry of
 * it first, else a unit with an All entry), or -1. *alias (may be NULL)
 * gets the ID the device's requests arrive with: the range's alias for
 * IVHD alias entries (types 42h, 43h), else bdf.
 */
int amdvi_find_unit(const struct ivrs_info *ivrs, u16 bdf, u16 *alias);

/*
 * Checks the units of `ivrs`, keeps a copy of it, reads each unit's EFR
 * and prints one line per unit. Returns the ops, or NULL with a message
 * naming the unit that cannot be used.
 */
const struct iommu_ops *amdvi_probe(const struct ivrs_info *ivrs, char *err,
				    size_t errlen);

#ifdef VENEER_HOST_TEST
/*
 * Host unit tests supply the registers: every MMIO access of the driver
 * goes to these (base: the unit's IVHD base address), so a fake can act
 * like the unit (run commands when the tail moves, log events).
 */
u64 amdvi_host_mmio_read(u64 base, u32 offset);
void amdvi_host_mmio_write(u64 base, u32 offset, u64 value);
/* Back to before probe: every unit off, the driver's memory freed. */
void amdvi_host_reset(void);
#endif

#endif /* VENEER_DRIVERS_AMDVI_H */
