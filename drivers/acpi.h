/* SPDX-License-Identifier: MIT */
/*
 * The firmware's ACPI tables: finding the RSDP, walking the RSDT or XSDT,
 * and reading the MADT (CPUs, I/O APICs, interrupt overrides).
 *
 * References are to the ACPI 6.5 specification: 5.2.5 RSDP, 5.2.6 table
 * header, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12 MADT; the MCFG of the PCI Firmware
 * Specification 3.x, 4.1.2.  Every physical read goes
 * through acpi_map(), so host tests can substitute fake memory.
 */
#ifndef VENEER_DRIVERS_ACPI_H
#define VENEER_DRIVERS_ACPI_H

#include "core/bootinfo.h"
#include "core/lib/types.h"

/*
 * Results.  Every negative value comes with a message; the caller falls
 * back to a single CPU on any of them and can say why.
 */
enum acpi_result {
	ACPI_OK = 0,
	ACPI_ERR_NO_ACPI = -1,	/* no RSDP: the machine has no ACPI */
	ACPI_ERR_INVALID = -2,	/* a table is there but broken */
	ACPI_ERR_NO_TABLE = -3, /* ACPI works, the table asked for is absent */
};

/* Returns a pointer to len bytes at physical address pa, or NULL. */
typedef const void *(*acpi_mapper_fn)(u64 pa, u64 len);

/* Binds acpi_map(); NULL restores the default identity mapping. */
void acpi_set_mapper(acpi_mapper_fn mapper);
const void *acpi_map(u64 pa, u64 len);

/* 5.2.6: the header every description table starts with. */
struct acpi_table_header {
	char signature[4];
	u32 length; /* of the whole table, header included */
	u8 revision;
	u8 checksum; /* all length bytes sum to 0 */
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} __packed;

/* 5.2.5.3: the Root System Description Pointer. */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	u8 checksum;	   /* the first 20 bytes sum to 0 */
	char oem_id[6];
	u8 revision; /* 0 for ACPI 1.0, 2 for 2.0 and later */
	u32 rsdt_address;
	/* Revision 2 and later: */
	u32 length; /* of this structure: 36 */
	u64 xsdt_address;
	u8 extended_checksum; /* all length bytes sum to 0 */
	u8 reserved[3];
} __packed;

#define ACPI_RSDP_V1_SIZE 20
#define ACPI_RSDP_V2_SIZE 36

/* Where the root table is, as acpi_find_root() found it. */
struct acpi_root {
	u64 rsdp_pa; /* 0 when the boot loader's copy was used */
	u8 revision;
	bool xsdt;   /* entries are 64-bit (XSDT) rather than 32-bit (RSDT) */
	u64 root_pa; /* the RSDT or XSDT */
	char oem_id[7];
};

/*
 * Finds the RSDP: the boot loader's copy in bi when it gave one (bi may be
 * NULL), otherwise the first KiB of the EBDA (its segment is the word at
 * 0x40E) and then 0xE0000-0xFFFFF, on 16-byte boundaries (5.2.5.1).  Picks
 * the XSDT when the revision is 2 or more and its address is nonzero, and
 * falls back to the RSDT (with a warning) when the XSDT is broken.  The root
 * table's signature, length and checksum are checked.
 */
int acpi_find_root(const struct boot_info *bi, struct acpi_root *root,
		   char *err, size_t errlen);

/*
 * Finds the first table with this 4-character signature listed by the root,
 * checks its length and checksum, and returns its physical address and
 * length.
 */
int acpi_find_table(const struct acpi_root *root, const char *signature,
		    u64 *table_pa, u32 *table_len, char *err, size_t errlen);

/*
 * acpi_find_root() + acpi_find_table() + acpi_map(): the table with this
 * signature, its length and checksum checked, mapped whole.
 */
int acpi_map_table(const struct boot_info *bi, const char *signature,
		   const void **table, u32 *len, char *err, size_t errlen);

#define ACPI_MAX_CPUS	   64
#define ACPI_MAX_IOAPICS   8
#define ACPI_MAX_OVERRIDES 16

struct acpi_ioapic {
	u8 id;
	u32 addr;     /* MMIO base */
	u32 gsi_base; /* first global system interrupt it serves */
};

/* 5.2.12.5: an ISA IRQ that is wired to a different GSI. */
struct acpi_irq_override {
	u8 bus; /* 0: ISA */
	u8 irq;
	u32 gsi;
	u16 flags; /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};

struct acpi_madt_info {
	u64 lapic_base; /* after any Local APIC Address Override */
	u32 flags;	/* MADT flags; bit 0: dual 8259s present */
	u32 cpu_count;	/* enabled CPUs listed, at most ACPI_MAX_CPUS */
	u32 apic_ids[ACPI_MAX_CPUS]; /* in table order: the BSP is usually 1st
				      */
	bool x2apic_ids;  /* some CPU came from a Local x2APIC entry */
	u32 cpus_ignored; /* enabled CPUs beyond ACPI_MAX_CPUS */
	u32 ioapic_count;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	u32 override_count;
	struct acpi_irq_override overrides[ACPI_MAX_OVERRIDES];
};

#define ACPI_MADT_PCAT_COMPAT 1 /* 5.2.12 Table 5.20: flags bit 0 */

/*
 * Parses a MADT already in memory (len bytes, header included; its checksum
 * is not checked here).  Counts enabled Local APIC (type 0) and Local x2APIC
 * (type 9) entries once per APIC ID.  Too many CPUs, I/O APICs or overrides
 * are clipped with a printed warning; a malformed entry is an error.
 */
int acpi_parse_madt(const void *madt, u32 len, struct acpi_madt_info *out,
		    char *err, size_t errlen);

/* acpi_find_root() + acpi_find_table("APIC") + acpi_parse_madt(). */
int acpi_read_madt(const struct boot_info *bi, struct acpi_madt_info *out,
		   char *err, size_t errlen);

/*
 * The MCFG (PCI Firmware Specification 3.x, 4.1.2; ACPI 6.5 5.2.6 Table 5.6
 * reserves its signature): where each PCI segment group's enhanced
 * configuration space (ECAM) is. After the 36-byte header and 8 reserved
 * bytes come 16-byte entries: base (u64), segment (u16), start and end bus
 * (u8 each), 4 reserved bytes. Following Linux and FreeBSD (the firmware
 * specification leaves it unclear), base is the address of bus 0's
 * configuration space even when start_bus is not 0: bus B is at
 * base + (B << 20).
 */
#define ACPI_MAX_MCFG 16

struct acpi_mcfg_info {
	u32 count;
	struct acpi_mcfg_entry {
		u64 base;
		u16 segment;
		u8 start_bus, end_bus;
	} entries[ACPI_MAX_MCFG];
};

/*
 * Parses an MCFG already in memory (len bytes, header included; its
 * checksum is not checked here). Errors, each with a message naming the
 * entry: a length that is not the header plus whole entries, a start bus
 * above the end bus, a base not 1 MiB aligned, more than ACPI_MAX_MCFG
 * entries. No entry at all is valid (count 0).
 */
int acpi_parse_mcfg(const void *table, u32 len, struct acpi_mcfg_info *out,
		    char *err, size_t errlen);

/*
 * acpi_find_root() + acpi_find_table("MCFG") + acpi_parse_mcfg().
 * ACPI_ERR_NO_TABLE when the machine has none (no ECAM: a PC without PCI
 * Express, QEMU's pc).
 */
int acpi_read_mcfg(const struct boot_info *bi, struct acpi_mcfg_info *out,
		   char *err, size_t errlen);

/*
 * How the machine is switched off by the ACPI fixed hardware (4.8.3.2.1):
 * write SLP_TYPx | SLP_EN to PM1a_CNT (and PM1b_CNT when there is one),
 * with the SLP_TYP values of the DSDT's \_S5 object (7.4.2). ACPI mode may
 * have to be entered first, by writing ACPI_ENABLE to SMI_CMD (4.8.2.1.1).
 */
struct acpi_sleep_info {
	u16 pm1a_cnt; /* I/O port */
	u16 pm1b_cnt; /* I/O port, 0 = none */
	u8 slp_typa, slp_typb;
	u16 smi_cmd; /* 0: ACPI mode needs no switch */
	u8 acpi_enable;
};

/*
 * Finds \_S5 in a DSDT's AML (the definition block after its header):
 * NameOp "_S5_" (at the root or in a scope) with a package whose first two
 * elements are integers (ZeroOp, OneOp, or Byte/Word/DWord prefixed) of at
 * most 7. A one-element package gives SLP_TYPb = SLP_TYPa.
 */
int acpi_parse_s5(const u8 *aml, u32 len, u8 *slp_typa, u8 *slp_typb, char *err,
		  size_t errlen);

/*
 * The FADT's PM1 control blocks (the X_ fields when present and in I/O
 * space), SMI_CMD / ACPI_ENABLE, and \_S5 from its DSDT (X_DSDT first).
 */
int acpi_read_sleep(const struct boot_info *bi, struct acpi_sleep_info *out,
		    char *err, size_t errlen);

#endif /* VENEER_DRIVERS_ACPI_H */
