/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables a guest finds at boot: RSDP, RSDT, XSDT, FADT, FACS, MADT
 * and a DSDT with \_S5 (so the guest can power off) and the PCI host
 * bridge \_SB.PCI0 (so the guest scans bus 0, docs/devices-legacy.md).
 *
 * Pure generator: the caller hands a buffer that will appear at guest-
 * physical `base_gpa` (e.g. the BIOS area 0xE0000-0xFFFFF, which the e820
 * map must mark reserved) and gets back where the RSDP is. The fixed
 * hardware the FADT describes is chosen here, as the constants below; the
 * core must implement those ports (see docs/devices-legacy.md).
 * References are to the ACPI 6.5 specification: 5.2.3.2 Generic Address
 * Structure, 5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.9 FADT, 5.2.10 FACS,
 * 5.2.11.1 DSDT, 5.2.12 MADT, 4.8 fixed hardware registers, 6.2.13 _PRT,
 * 6.4 resource descriptors, 20 AML.
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
/*
 * The PCI host bridge's memory window (its _CRS, besides the legacy VGA
 * window 0xA0000-0xBFFFF): where firmware, i.e. the device code, places
 * BARs, and where Linux assigns those it must. It ends just below the
 * IOAPIC, and guest RAM (one range from GPA 0) must end below its base:
 * a guest with more than 3 GiB of RAM would overlap it.
 */
#define ACPI_TABLES_PCI_WINDOW_BASE 0xc0000000u
#define ACPI_TABLES_PCI_WINDOW_END  0xfebfffffu /* inclusive */
#define ACPI_TABLES_PCI_WINDOW_SIZE                                            \
	(ACPI_TABLES_PCI_WINDOW_END - ACPI_TABLES_PCI_WINDOW_BASE + 1)
/*
 * INTx routing (the _PRT): every device of bus 0 in slot 1-31 has pins
 * INTA-INTD on GSIs 16-19, rotated by slot as PCI-PCI bridges swizzle, so
 * neighbouring devices' INTA differ. Level-triggered, active low, as PCI
 * INTx is (PCI 3.0, 2.2.6) and as an OS takes a _PRT entry without a link
 * device; no MADT override names these GSIs. The GSIs are relative to the
 * IOAPIC's GSI base (acpi_tables_config.ioapic_gsi_base, 0 on Veneer's
 * platform), so each is also the IOAPIC input.
 */
#define ACPI_TABLES_PCI_FIRST_SLOT 1
#define ACPI_TABLES_PCI_SLOTS	   32
#define ACPI_TABLES_PCI_PINS	   4 /* INTA-INTD */
#define ACPI_TABLES_PCI_GSI_BASE   16
#define ACPI_TABLES_PCI_PRT_ENTRIES                                            \
	((ACPI_TABLES_PCI_SLOTS - ACPI_TABLES_PCI_FIRST_SLOT) *                \
	 ACPI_TABLES_PCI_PINS)

/* The GSI of INTx pin `pin` (0 = INTA .. 3 = INTD) of the device in `slot`
 * (1-31), as the _PRT names it less the IOAPIC's GSI base. */
static inline u32 acpi_tables_pci_gsi(u32 slot, u32 pin)
{
	return ACPI_TABLES_PCI_GSI_BASE + (slot + pin) % ACPI_TABLES_PCI_PINS;
}

/* The area the caller supplies must hold all tables (the DSDT is about
 * 1.8 KiB, the MADT for 255 CPUs 2.1 KiB). */
#define ACPI_TABLES_MIN_AREA 8192

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
 * that is too small, misaligned or not below 4 GiB, an IOAPIC inside the
 * PCI window) writes nothing, returns false and says what is wrong in err.
 */
bool acpi_tables_build(const struct acpi_tables_config *cfg, void *area,
		       u32 area_size, struct acpi_tables_result *out, char *err,
		       size_t errlen);

#endif /* VENEER_CORE_VDEV_ACPI_TABLES_H */
