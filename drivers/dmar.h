/* SPDX-License-Identifier: MIT */
/*
 * The firmware's DMA Remapping table (ACPI "DMAR"): where the Intel VT-d
 * remapping units are and which devices each one translates for, plus the
 * memory that devices use behind the OS's back (RMRRs).
 *
 * References are to the Intel Virtualization Technology for Directed I/O
 * specification, chapter 8 "BIOS Considerations": 8.1 the table header,
 * 8.2 remapping structure types, 8.3 DRHD, 8.3.1 device scope, 8.4 RMRR,
 * 8.5 ATSR, 8.6 RHSA, 8.7 ANDD, 8.8 SATC. Parsing only: nothing here
 * touches a remapping unit.
 */
#ifndef VENEER_DRIVERS_DMAR_H
#define VENEER_DRIVERS_DMAR_H

#include "core/bootinfo.h"
#include "core/lib/types.h"
#include "drivers/acpi.h" /* enum acpi_result */

#define DMAR_MAX_UNITS	     16 /* DRHD structures */
#define DMAR_MAX_SCOPES	     16 /* device scopes of one DRHD */
#define DMAR_MAX_RMRRS	     8
#define DMAR_MAX_RMRR_SCOPES 8
#define DMAR_MAX_PATH	     8 /* (device, function) pairs of one scope */

/* 8.1: DMAR flags. */
#define DMAR_FLAG_INTR_REMAP		   BIT(0)
#define DMAR_FLAG_X2APIC_OPT_OUT	   BIT(1)
#define DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN BIT(2)

/* 8.3.1 Table "Device Scope Entry Types". */
#define DMAR_SCOPE_PCI_ENDPOINT	  1
#define DMAR_SCOPE_PCI_SUBHIER	  2 /* a bridge and everything below it */
#define DMAR_SCOPE_IOAPIC	  3 /* enum_id: the I/O APIC's ID */
#define DMAR_SCOPE_HPET		  4 /* enum_id: the HPET number */
#define DMAR_SCOPE_ACPI_NAMESPACE 5 /* enum_id: the ANDD device number */

/*
 * 8.3.1: one device scope entry. The device is found by walking the path
 * from start_bus: the first (device, function) pair is on start_bus, each
 * further pair on the secondary bus of the bridge the previous one names
 * (dmar_scope_bdf()). The parser checks device <= 31 and function <= 7.
 */
struct dmar_scope {
	u8 type; /* DMAR_SCOPE_* */
	u8 enum_id;
	u8 start_bus;
	u8 path_len;		   /* 1..DMAR_MAX_PATH */
	u8 path[DMAR_MAX_PATH][2]; /* [i][0] device, [i][1] function */
};

/* 8.3: a DMA-remapping hardware unit (DRHD). */
struct dmar_unit {
	u64 reg_base; /* its register set: 4 KiB aligned, nonzero */
	u32 reg_size; /* bytes: 4 KiB << the Size field's bits 3:0 */
	u16 segment;  /* PCI segment group */
	/*
	 * INCLUDE_PCI_ALL: every device of the segment not listed under
	 * another unit. Its scopes then only name I/O APICs, HPETs and ACPI
	 * namespace devices (the parser refuses PCI scopes there).
	 */
	bool include_all;
	u32 scope_count;
	struct dmar_scope scopes[DMAR_MAX_SCOPES];
};

/*
 * 8.4: a Reserved Memory Region the firmware keeps using for the devices
 * in its scopes (USB legacy emulation, a GPU's stolen memory): they must
 * keep reaching [base, limit] through their remapping unit.
 */
struct dmar_rmrr {
	u16 segment;
	u64 base;  /* as the table gives it (4 KiB aligned if it is right) */
	u64 limit; /* last byte, inclusive; never below base */
	u32 scope_count;
	struct dmar_scope scopes[DMAR_MAX_RMRR_SCOPES];
};

struct dmar_info {
	u8 host_addr_width; /* bits of DMA address: the table's field + 1 */
	u8 flags;	    /* DMAR_FLAG_* */
	u32 unit_count;
	struct dmar_unit units[DMAR_MAX_UNITS];
	u32 rmrr_count;
	struct dmar_rmrr rmrrs[DMAR_MAX_RMRRS];
	/* ATSR, RHSA, ANDD, SATC, SIDP and unknown types: checked, skipped. */
	u32 other_structs;
};

/*
 * Parses a DMAR already in memory (len bytes, header included; its
 * checksum is not checked here, as for acpi_parse_madt()). Every field of
 * every structure is checked against len and against its structure's
 * length. More units, RMRRs, scopes or path entries than the limits above
 * is an error naming the limit: coverage is never silently dropped.
 * Returns ACPI_OK or ACPI_ERR_INVALID with a message in err.
 */
int dmar_parse(const void *table, u32 len, struct dmar_info *out, char *err,
	       size_t errlen);

/*
 * acpi_find_root() + acpi_find_table("DMAR") + dmar_parse(). Returns the
 * enum acpi_result codes: ACPI_ERR_NO_TABLE when there is no DMAR (no
 * VT-d, or the firmware has it switched off).
 */
int acpi_read_dmar(const struct boot_info *bi, struct dmar_info *out, char *err,
		   size_t errlen);

/*
 * Resolves a scope to its PCI requester ID, bus << 8 | device << 3 |
 * function: the first path pair is on start_bus; before each further
 * pair, secondary_bus(ctx, bdf of the previous pair) gives the secondary
 * bus of that bridge, or a negative value if it is not a bridge (an
 * error, as is a value above 255). Returns ACPI_OK or ACPI_ERR_INVALID.
 */
int dmar_scope_bdf(const struct dmar_scope *s,
		   int (*secondary_bus)(void *ctx, u16 bdf), void *ctx,
		   u16 *bdf);

#endif /* VENEER_DRIVERS_DMAR_H */
