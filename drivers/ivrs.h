/* SPDX-License-Identifier: MIT */
/*
 * The firmware's I/O Virtualization Reporting Structure (ACPI "IVRS"):
 * where the AMD IOMMUs are, which devices each one translates for, and
 * memory that devices must keep reaching (IVMD).
 *
 * References are to the AMD I/O Virtualization Technology (IOMMU)
 * Specification (48882), revision 3.x, section 5.2: 5.2.1 the IVRS header
 * and IVinfo, 5.2.2 IVHD blocks (5.2.2.1 the block header, 5.2.2.2 device
 * entries), 5.2.3 IVMD blocks. Parsing only: nothing here touches an
 * IOMMU.
 */
#ifndef VENEER_DRIVERS_IVRS_H
#define VENEER_DRIVERS_IVRS_H

#include "core/bootinfo.h"
#include "core/lib/types.h"
#include "drivers/acpi.h" /* enum acpi_result */

#define IVRS_MAX_UNITS	  8  /* IOMMUs (after choosing one IVHD each) */
#define IVRS_MAX_RANGES	  64 /* device ranges of one IOMMU */
#define IVRS_MAX_SPECIALS 16 /* I/O APICs and HPETs of one IOMMU */
#define IVRS_MAX_MEMORY	  16 /* IVMD blocks */

/* 5.2.1: IVinfo. */
#define IVRS_IVINFO_EFRSUP     BIT(0) /* the IVHDs' EFR images are valid */
#define IVRS_IVINFO_GVASIZE(x) (((x) >> 5) & 0x7)
#define IVRS_IVINFO_PASIZE(x)  (((x) >> 8) & 0x7f)  /* bits */
#define IVRS_IVINFO_VASIZE(x)  (((x) >> 15) & 0x7f) /* bits */

/* 5.2.2.1 / 5.2.3: block types. */
#define IVRS_IVHD_10	 0x10 /* 24-byte header */
#define IVRS_IVHD_11	 0x11 /* 40-byte header, with the EFR image */
#define IVRS_IVHD_40	 0x40 /* as 11h, may hold ACPI HID devices */
#define IVRS_IVMD_ALL	 0x20 /* for every device */
#define IVRS_IVMD_SELECT 0x21 /* for one device */
#define IVRS_IVMD_RANGE	 0x22 /* for a range of devices */

/* 5.2.3: IVMD flags. */
#define IVRS_IVMD_UNITY	    BIT(0)
#define IVRS_IVMD_READ	    BIT(1)
#define IVRS_IVMD_WRITE	    BIT(2)
#define IVRS_IVMD_EXCLUSION BIT(3)

/* 5.2.2.1: IOMMU info. */
#define IVRS_INFO_MSI_NUM(x) ((x)&0x1f)
#define IVRS_INFO_UNIT_ID(x) (((x) >> 8) & 0x1f)

/*
 * Devices first..last (16-bit requester IDs, bus << 8 | dev << 3 | fn)
 * behind an IOMMU, from Select, Range, Alias, Extended and ACPI HID
 * device entries. Adjacent ranges with the same settings and no alias
 * are merged.
 */
struct ivrs_range {
	u16 first, last;
	u16 alias;	  /* the ID their requests carry; == first if none */
	bool aliased;	  /* alias is meaningful (types 42h, 43h) */
	u8 dte_settings;  /* the entry's DTE setting byte */
	u32 ext_settings; /* types 46h, 47h; 0 for the others */
};

#define IVRS_SPECIAL_IOAPIC 1
#define IVRS_SPECIAL_HPET   2

/* 5.2.2.2 type 48h: an I/O APIC or HPET and the ID it sends with. */
struct ivrs_special {
	u8 variety; /* IVRS_SPECIAL_* */
	u8 handle;  /* the I/O APIC ID or the HPET number */
	u16 bdf;
	u8 dte_settings;
};

/* One IOMMU, from the highest-typed IVHD block describing it. */
struct ivrs_unit {
	u8 type;  /* IVRS_IVHD_* of the block used */
	u8 flags; /* the IVHD flags byte */
	u16 bdf;  /* the IOMMU's own PCI function */
	u16 segment;
	u16 cap_offset;	  /* of its capability block in that function */
	u64 base;	  /* its MMIO registers */
	u16 info;	  /* IVRS_INFO_* */
	u32 features;	  /* feature reporting (10h) or attributes (11h, 40h) */
	u64 efr;	  /* EFR register image (11h, 40h), else 0 */
	u32 block_offset; /* of the block used, in the table */
	bool all;	  /* an All entry: every device of the segment */
	u8 all_dte_settings;
	u32 range_count;
	struct ivrs_range ranges[IVRS_MAX_RANGES];
	u32 special_count;
	struct ivrs_special specials[IVRS_MAX_SPECIALS];
	u32 acpi_hid_count; /* F0h entries (their IDs are in ranges) */
	u32 other_entries;  /* entries of unknown type, skipped */
};

/* 5.2.3: an IVMD block. */
struct ivrs_memory {
	u8 type;	  /* IVRS_IVMD_* */
	u8 flags;	  /* IVRS_IVMD_UNITY, ... */
	u16 device, last; /* the devices: 0..0xffff for IVRS_IVMD_ALL */
	u64 start, length;
};

struct ivrs_info {
	u32 ivinfo;
	u32 unit_count;
	struct ivrs_unit units[IVRS_MAX_UNITS];
	u32 memory_count;
	struct ivrs_memory memory[IVRS_MAX_MEMORY];
	u32 superseded_ivhds; /* IVHDs not used: a higher type said the same */
	u32 other_blocks;     /* blocks of unknown type, skipped */
};

/*
 * Parses an IVRS already in memory (len bytes, header included; its
 * checksum is not checked here). Every field is checked against len, its
 * block's length and its entry's length. A range start without an end,
 * an end without a start, first > last, an unknown variable-length entry,
 * or more IOMMUs, ranges, special devices or IVMDs than the limits above
 * is an error naming the byte offset or the limit: coverage is never
 * silently dropped. Returns ACPI_OK or ACPI_ERR_INVALID with a message.
 */
int ivrs_parse(const void *table, u32 len, struct ivrs_info *out, char *err,
	       size_t errlen);

/*
 * acpi_find_root() + acpi_find_table("IVRS") + ivrs_parse(). Returns the
 * enum acpi_result codes: ACPI_ERR_NO_TABLE when there is no IVRS.
 */
int acpi_read_ivrs(const struct boot_info *bi, struct ivrs_info *out, char *err,
		   size_t errlen);

#endif /* VENEER_DRIVERS_IVRS_H */
