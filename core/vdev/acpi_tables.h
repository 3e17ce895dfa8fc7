/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables a guest finds at boot: RSDP, RSDT, XSDT, FADT, FACS, MADT
 * and a DSDT whose only object is \_S5 (so the guest can power off).
 *
 * Pure generator: the caller hands a buffer that will appear at guest-
 * physical `base_gpa` (e.g. the BIOS area 0xE0000-0xFFFFF, which the e820
 * map must mark reserved) and gets back where the RSDP is. The fixed
 * hardware the FADT describes is chosen here, as the constants below; the
 * core must implement those ports (see docs/devices-legacy.md).
 * References are to the ACPI 6.5 specification: 5.2.3.2 Generic Address
 * Structure, 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.9 FADT, 5.2.10 FACS,
 * 5.2.11.1 DSDT, 5.2.12 MADT, 4.8 fixed hardware registers, 20 AML.
 */
#ifndef VENEER_CORE_VDEV_ACPI_TABLES_H
#define VENEER_CORE_VDEV_ACPI_TABLES_H

#include "core/lib/types.h"
#include "drivers/acpi_spec.h"

/* PM1a event block: PM1_STS (2 bytes) then PM1_EN (2 bytes), 4.8.3.1. */
#define ACPI_TABLES_PM1A_EVT_PORT 0x600
#define ACPI_TABLES_PM1_EVT_LEN	  4
/* PM1a control block, 4.8.3.2.1: SCI_EN (reads 1), SLP_TYP, SLP_EN. */
#define ACPI_TABLES_PM1A_CNT_PORT	  0x604
#define ACPI_TABLES_PM1_CNT_LEN		  2
#define ACPI_TABLES_PM1_CNT_SCI_EN	  PM1_CNT_SCI_EN
#define ACPI_TABLES_PM1_CNT_SLP_TYP_SHIFT PM1_CNT_SLP_TYP_SHIFT /* 3 bits */
#define ACPI_TABLES_PM1_CNT_SLP_EN	  PM1_CNT_SLP_EN
/* PM timer, 4.8.3.3: 32 bits wide (FADT TMR_VAL_EXT), 3.579545 MHz. */
#define ACPI_TABLES_PM_TMR_PORT 0x608
#define ACPI_TABLES_PM_TMR_LEN	4
#define ACPI_TABLES_PM_TMR_HZ	3579545
/* SLP_TYP the DSDT's \_S5 names: PM1a_CNT = (5 << 10) | SLP_EN = off. */
#define ACPI_TABLES_S5_SLP_TYP 5
/* The SCI: ISA IRQ 9, level-triggered, active high (MADT override). */
#define ACPI_TABLES_SCI_IRQ 9
/* FADT RESET_REG: the 8042's pulse-reset command (vi8042.h). */
#define ACPI_TABLES_RESET_PORT	0x64
#define ACPI_TABLES_RESET_VALUE 0xfe
/* Where the guest's local APICs are (MADT), and the largest CPU count
 * that 8-bit xAPIC IDs allow (0xff is the broadcast ID). */
#define ACPI_TABLES_LAPIC_BASE 0xfee00000u
#define ACPI_TABLES_MAX_CPUS   255
/* The area the caller supplies must hold all tables. */
#define ACPI_TABLES_MIN_AREA 4096

struct acpi_tables_config {
	u64 base_gpa;	    /* where area[0] is; 16-byte aligned, < 4 GiB */
	u32 cpu_count;	    /* APIC IDs and processor UIDs 0 .. n-1 */
	u32 ioapic_address; /* e.g. 0xfec00000 */
	u8 ioapic_id;
	u32 ioapic_gsi_base; /* 0: ISA IRQ n is GSI n except the overrides */
};

/* Where each table ended up (guest-physical), and the bytes used. */
struct acpi_tables_result {
	u64 rsdp_gpa;
	u64 rsdt_gpa, xsdt_gpa, fadt_gpa, facs_gpa, madt_gpa, dsdt_gpa;
	u32 used; /* bytes from base_gpa; the rest of the area is untouched */
};

/*
 * Writes the tables into area (area_size bytes, to be seen at
 * cfg->base_gpa). On a bad configuration (no CPUs or too many, an area
 * that is too small, misaligned or not below 4 GiB) writes nothing,
 * returns false and says what is wrong in err.
 */
bool acpi_tables_build(const struct acpi_tables_config *cfg, void *area,
		       u32 area_size, struct acpi_tables_result *out, char *err,
		       size_t errlen);

#endif /* VENEER_CORE_VDEV_ACPI_TABLES_H */
