/* SPDX-License-Identifier: MIT */
/*
 * Guest ACPI tables, written field by field at the byte offsets of the
 * ACPI 6.5 tables (all fields little-endian, unaligned allowed).
 */
#include "core/vdev/acpi_tables.h"
#include "drivers/acpi_spec.h"
#include "core/lib/format.h"
#include "core/lib/string.h"
#include "core/vdev/vi8042.h"
#include "core/vdev/vrtc.h"

#define OEM_ID		 "VENEER"   /* 6 bytes */
#define OEM_TABLE_ID	 "VENEERVM" /* 8 bytes */
#define OEM_REVISION	 1
#define CREATOR_ID	 "VNER"
#define CREATOR_REVISION 1

/* 5.2.6 System Description Table Header. */
#define HDR_SIGNATURE	     0
#define HDR_LENGTH	     4
#define HDR_REVISION	     8
#define HDR_CHECKSUM	     9
#define HDR_OEM_ID	     10
#define HDR_OEM_TABLE_ID     16
#define HDR_OEM_REVISION     24
#define HDR_CREATOR_ID	     28
#define HDR_CREATOR_REVISION 32
#define HDR_SIZE	     36

/* 5.2.5.3 RSDP structure. */
#define RSDP_CHECKSUM	       8
#define RSDP_OEM_ID	       9
#define RSDP_REVISION	       15
#define RSDP_RSDT_ADDRESS      16
#define RSDP_LENGTH	       20
#define RSDP_XSDT_ADDRESS      24
#define RSDP_EXTENDED_CHECKSUM 32
#define RSDP_V1_SIZE	       20
#define RSDP_SIZE	       36
#define RSDP_REVISION_2	       2 /* ACPI 2.0 and later: has the XSDT */

/* 5.2.9 FADT: the field offsets are in drivers/acpi_spec.h. */
#define FADT_SIZE	     276
#define FADT_REVISION	     6
#define FADT_MINOR	     5
#define P_LVL2_NOT_SUPPORTED 101  /* > 100 us: no C2 */
#define P_LVL3_NOT_SUPPORTED 1001 /* > 1000 us: no C3 */

/* FADT Fixed Feature Flags (Table 5.10). */
#define FADT_F_WBINVD	     BIT(0)
#define FADT_F_PROC_C1	     BIT(2)
#define FADT_F_PWR_BUTTON    BIT(4) /* 1: no fixed-hardware power button */
#define FADT_F_SLP_BUTTON    BIT(5) /* 1: no fixed-hardware sleep button */
#define FADT_F_FIX_RTC	     BIT(6) /* 1: no RTC wake status in PM1 */
#define FADT_F_TMR_VAL_EXT   BIT(8) /* 1: the PM timer is 32 bits */
#define FADT_F_RESET_REG_SUP BIT(10)

/*
 * IA-PC Boot Architecture Flags (Table 5.11). LEGACY_DEVICES: the PIT,
 * RTC, PIC live on an ISA-style bus. VGA_NOT_PRESENT: there is no VGA.
 * The 8042 bit is left clear on purpose: the controller at 0x60/0x64 has
 * no keyboard behind it, and a guest told that an 8042 is there spends
 * seconds probing a keyboard that never answers; the reset command works
 * either way.
 */
#define BOOT_ARCH_LEGACY_DEVICES  BIT(0)
#define BOOT_ARCH_VGA_NOT_PRESENT BIT(2)

/* 5.2.3.2 Generic Address Structure. */
#define GAS_SIZE	12
#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_ANY	0 /* undefined: the register's width decides */
#define GAS_ACCESS_BYTE 1

/* 5.2.10 FACS (Table 5.14). */
#define FACS_SIGNATURE 0
#define FACS_LENGTH    4
#define FACS_VERSION   32
#define FACS_SIZE      64
#define FACS_ALIGN     64
#define FACS_VERSION_2 2

/* 5.2.12 MADT (Table 5.19) and its entries. */
#define MADT_LAPIC_ADDRESS  36
#define MADT_FLAGS	    40
#define MADT_ENTRIES	    44
#define MADT_REVISION	    5
#define MADT_PCAT_COMPAT    BIT(0) /* dual 8259s present */
#define MADT_TYPE_LAPIC	    0
#define MADT_TYPE_IOAPIC    1
#define MADT_TYPE_OVERRIDE  2
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_SIZE	    8
#define MADT_IOAPIC_SIZE    12
#define MADT_OVERRIDE_SIZE  10
#define MADT_LAPIC_NMI_SIZE 6
#define MADT_LAPIC_ENABLED  BIT(0)
#define MADT_ALL_PROCESSORS 0xff
#define MADT_NMI_LINT	    1
/* MPS INTI flags (Table 5.26): polarity bits 1:0, trigger mode 3:2. */
#define INTI_CONFORMS	 0x0
#define INTI_ACTIVE_HIGH 0x1
#define INTI_LEVEL	 (0x3 << 2)
#define ISA_BUS		 0
#define PIT_IRQ		 0
#define PIT_GSI		 2 /* the PIT is wired to IOAPIC pin 2 */

#define XSDT_REVISION 1
#define RSDT_REVISION 1
#define DSDT_REVISION 2 /* 64-bit AML integers */
#define TABLES_LISTED 2 /* FADT, MADT (the FADT points to FACS and DSDT) */

/*
 * The DSDT's definition block, hand-assembled from the AML grammar (20.2):
 *   DefName    := NameOp NameString DataRefObject
 *   DefPackage := PackageOp PkgLength NumElements PackageElementList
 * PkgLength (20.2.4) counts itself, NumElements and the elements: 1 + 1 +
 * 6 = 8. Elements: BytePrefix 5, BytePrefix 5, ZeroOp, ZeroOp.
 * ASL: Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })
 * The first two are SLP_TYPa/SLP_TYPb for S5 (7.4.2 \_Sx).
 */
static const u8 dsdt_aml[] = {
    AML_NAME_OP,
    '_',
    'S',
    '5',
    '_',
    AML_PACKAGE_OP,
    0x08,
    0x04,
    AML_BYTE_PREFIX,
    ACPI_TABLES_S5_SLP_TYP,
    AML_BYTE_PREFIX,
    ACPI_TABLES_S5_SLP_TYP,
    AML_ZERO_OP,
    AML_ZERO_OP,
};

_Static_assert(ACPI_TABLES_RESET_PORT == VI8042_COMMAND_PORT &&
		   ACPI_TABLES_RESET_VALUE == VI8042_CMD_RESET,
	       "FADT RESET_REG must name the 8042's reset command");
_Static_assert(VRTC_CENTURY_INDEX < VRTC_CMOS_SIZE,
	       "FADT CENTURY must index the CMOS RAM");

static void put8(u8 *p, u32 off, u8 v)
{
	p[off] = v;
}

static void put16(u8 *p, u32 off, u16 v)
{
	p[off] = (u8)v;
	p[off + 1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 off, u32 v)
{
	put16(p, off, (u16)v);
	put16(p, off + 2, (u16)(v >> 16));
}

static void put64(u8 *p, u32 off, u64 v)
{
	put32(p, off, (u32)v);
	put32(p, off + 4, (u32)(v >> 32));
}

static void put_chars(u8 *p, u32 off, const char *s, u32 len)
{
	memcpy(p + off, s, len);
}

/* The value that makes `len` bytes (with it in place of 0) sum to 0. */
static u8 checksum(const u8 *p, u32 len)
{
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum = (u8)(sum + p[i]);
	return (u8)(0x100 - sum);
}

static void header(u8 *t, const char *signature, u32 length, u8 revision)
{
	put_chars(t, HDR_SIGNATURE, signature, 4);
	put32(t, HDR_LENGTH, length);
	put8(t, HDR_REVISION, revision);
	put_chars(t, HDR_OEM_ID, OEM_ID, 6);
	put_chars(t, HDR_OEM_TABLE_ID, OEM_TABLE_ID, 8);
	put32(t, HDR_OEM_REVISION, OEM_REVISION);
	put_chars(t, HDR_CREATOR_ID, CREATOR_ID, 4);
	put32(t, HDR_CREATOR_REVISION, CREATOR_REVISION);
}

/* Call last, once every field of the table is written. */
static void seal(u8 *t)
{
	u32 len = t[HDR_LENGTH] | t[HDR_LENGTH + 1] << 8 |
		  t[HDR_LENGTH + 2] << 16 | (u32)t[HDR_LENGTH + 3] << 24;

	t[HDR_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = checksum(t, len);
}

static void gas_io(u8 *p, u32 off, u8 bit_width, u8 access, u16 port)
{
	put8(p, off, GAS_SYSTEM_IO);
	put8(p, off + 1, bit_width);
	put8(p, off + 2, 0); /* bit offset */
	put8(p, off + 3, access);
	put64(p, off + 4, port);
}

/* Offsets of every table inside the area, decided before writing. */
struct layout {
	u32 rsdp, rsdt, xsdt, facs, fadt, madt, dsdt, end;
	u32 rsdt_len, xsdt_len, madt_len, dsdt_len;
};

static u32 madt_length(u32 cpus)
{
	return MADT_ENTRIES + cpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
	       2 * MADT_OVERRIDE_SIZE + MADT_LAPIC_NMI_SIZE;
}

static void plan(u32 cpus, u64 base, struct layout *l)
{
	l->rsdt_len = HDR_SIZE + TABLES_LISTED * 4;
	l->xsdt_len = HDR_SIZE + TABLES_LISTED * 8;
	l->madt_len = madt_length(cpus);
	l->dsdt_len = HDR_SIZE + sizeof(dsdt_aml);
	/* RSDP on a 16-byte boundary (5.2.5.1), FACS on 64 (5.2.10). */
	l->rsdp = 0;
	l->rsdt = (u32)ALIGN_UP(l->rsdp + RSDP_SIZE, 16);
	l->xsdt = (u32)ALIGN_UP(l->rsdt + l->rsdt_len, 16);
	l->facs =
	    (u32)(ALIGN_UP(base + l->xsdt + l->xsdt_len, FACS_ALIGN) - base);
	l->fadt = (u32)ALIGN_UP(l->facs + FACS_SIZE, 16);
	l->madt = (u32)ALIGN_UP(l->fadt + FADT_SIZE, 16);
	l->dsdt = (u32)ALIGN_UP(l->madt + l->madt_len, 16);
	l->end = l->dsdt + l->dsdt_len;
}

static void build_rsdp(u8 *p, u32 rsdt, u64 xsdt)
{
	put_chars(p, 0, "RSD PTR ", 8);
	put_chars(p, RSDP_OEM_ID, OEM_ID, 6);
	put8(p, RSDP_REVISION, RSDP_REVISION_2);
	put32(p, RSDP_RSDT_ADDRESS, rsdt);
	put32(p, RSDP_LENGTH, RSDP_SIZE);
	put64(p, RSDP_XSDT_ADDRESS, xsdt);
	p[RSDP_CHECKSUM] = checksum(p, RSDP_V1_SIZE);
	p[RSDP_EXTENDED_CHECKSUM] = checksum(p, RSDP_SIZE);
}

static void build_roots(u8 *area, const struct layout *l, u64 base)
{
	u8 *rsdt = area + l->rsdt, *xsdt = area + l->xsdt;
	const u32 listed[TABLES_LISTED] = {l->fadt, l->madt};

	header(rsdt, "RSDT", l->rsdt_len, RSDT_REVISION);
	header(xsdt, "XSDT", l->xsdt_len, XSDT_REVISION);
	for (u32 i = 0; i < TABLES_LISTED; i++) {
		put32(rsdt, HDR_SIZE + 4 * i, (u32)(base + listed[i]));
		put64(xsdt, HDR_SIZE + 8 * i, base + listed[i]);
	}
	seal(rsdt);
	seal(xsdt);
}

static void build_facs(u8 *f)
{
	put_chars(f, FACS_SIGNATURE, "FACS", 4);
	put32(f, FACS_LENGTH, FACS_SIZE);
	put8(f, FACS_VERSION, FACS_VERSION_2);
	/* No waking vector, no global lock owner, no S4BIOS: all zero. */
}

static void build_fadt(u8 *f, u32 facs, u32 dsdt)
{
	header(f, "FACP", FADT_SIZE, FADT_REVISION);
	/* The X_ fields repeat the 32-bit ones exactly: an OS uses either. */
	put32(f, FADT_FIRMWARE_CTRL, facs);
	put32(f, FADT_DSDT, dsdt);
	put64(f, FADT_X_FIRMWARE_CTRL, facs);
	put64(f, FADT_X_DSDT, dsdt);
	put8(f, FADT_PM_PROFILE, 0); /* unspecified */
	put16(f, FADT_SCI_INT, ACPI_TABLES_SCI_IRQ);
	/* SMI_CMD = 0: no SMM handshake, the machine is always in ACPI
	 * mode (SCI_EN reads 1). */
	put32(f, FADT_SMI_CMD, 0);
	put32(f, FADT_PM1A_EVT_BLK, ACPI_TABLES_PM1A_EVT_PORT);
	put32(f, FADT_PM1A_CNT_BLK, ACPI_TABLES_PM1A_CNT_PORT);
	put32(f, FADT_PM_TMR_BLK, ACPI_TABLES_PM_TMR_PORT);
	put8(f, FADT_PM1_EVT_LEN, ACPI_TABLES_PM1_EVT_LEN);
	put8(f, FADT_PM1_CNT_LEN, ACPI_TABLES_PM1_CNT_LEN);
	put8(f, FADT_PM_TMR_LEN, ACPI_TABLES_PM_TMR_LEN);
	gas_io(f, FADT_X_PM1A_EVT_BLK, ACPI_TABLES_PM1_EVT_LEN * 8,
	       GAS_ACCESS_ANY, ACPI_TABLES_PM1A_EVT_PORT);
	gas_io(f, FADT_X_PM1A_CNT_BLK, ACPI_TABLES_PM1_CNT_LEN * 8,
	       GAS_ACCESS_ANY, ACPI_TABLES_PM1A_CNT_PORT);
	gas_io(f, FADT_X_PM_TMR_BLK, ACPI_TABLES_PM_TMR_LEN * 8, GAS_ACCESS_ANY,
	       ACPI_TABLES_PM_TMR_PORT);
	put16(f, FADT_P_LVL2_LAT, P_LVL2_NOT_SUPPORTED);
	put16(f, FADT_P_LVL3_LAT, P_LVL3_NOT_SUPPORTED);
	put8(f, FADT_CENTURY, VRTC_CENTURY_INDEX);
	put16(f, FADT_IAPC_BOOT_ARCH,
	      BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_VGA_NOT_PRESENT);
	put32(f, FADT_FLAGS,
	      FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
		  FADT_F_SLP_BUTTON | FADT_F_FIX_RTC | FADT_F_TMR_VAL_EXT |
		  FADT_F_RESET_REG_SUP);
	gas_io(f, FADT_RESET_REG, 8, GAS_ACCESS_BYTE, ACPI_TABLES_RESET_PORT);
	put8(f, FADT_RESET_VALUE, ACPI_TABLES_RESET_VALUE);
	put8(f, FADT_MINOR_VERSION, FADT_MINOR);
	put_chars(f, FADT_HYPERVISOR_ID, "Veneer\0\0", 8);
	seal(f);
}

static u32 madt_override(u8 *m, u32 off, u8 irq, u32 gsi, u16 flags)
{
	put8(m, off, MADT_TYPE_OVERRIDE);
	put8(m, off + 1, MADT_OVERRIDE_SIZE);
	put8(m, off + 2, ISA_BUS);
	put8(m, off + 3, irq);
	put32(m, off + 4, gsi);
	put16(m, off + 8, flags);
	return off + MADT_OVERRIDE_SIZE;
}

static void build_madt(u8 *m, u32 len, const struct acpi_tables_config *cfg)
{
	u32 off = MADT_ENTRIES;

	header(m, "APIC", len, MADT_REVISION);
	put32(m, MADT_LAPIC_ADDRESS, ACPI_TABLES_LAPIC_BASE);
	put32(m, MADT_FLAGS, MADT_PCAT_COMPAT);
	/* CPU i: processor UID i, APIC ID i; the BSP (ID 0) comes first. */
	for (u32 i = 0; i < cfg->cpu_count; i++, off += MADT_LAPIC_SIZE) {
		put8(m, off, MADT_TYPE_LAPIC);
		put8(m, off + 1, MADT_LAPIC_SIZE);
		put8(m, off + 2, (u8)i);
		put8(m, off + 3, (u8)i);
		put32(m, off + 4, MADT_LAPIC_ENABLED);
	}
	put8(m, off, MADT_TYPE_IOAPIC);
	put8(m, off + 1, MADT_IOAPIC_SIZE);
	put8(m, off + 2, cfg->ioapic_id);
	put8(m, off + 3, 0);
	put32(m, off + 4, cfg->ioapic_address);
	put32(m, off + 8, cfg->ioapic_gsi_base);
	off += MADT_IOAPIC_SIZE;
	/* ISA IRQ 0 (the PIT) arrives on GSI 2, edge / high as ISA is. */
	off = madt_override(m, off, PIT_IRQ, cfg->ioapic_gsi_base + PIT_GSI,
			    INTI_CONFORMS);
	/* The SCI is level-triggered, active high (5.2.12.5). */
	off = madt_override(m, off, ACPI_TABLES_SCI_IRQ,
			    cfg->ioapic_gsi_base + ACPI_TABLES_SCI_IRQ,
			    INTI_ACTIVE_HIGH | INTI_LEVEL);
	/* LINT1 of every local APIC is the NMI input, as on PCs. */
	put8(m, off, MADT_TYPE_LAPIC_NMI);
	put8(m, off + 1, MADT_LAPIC_NMI_SIZE);
	put8(m, off + 2, MADT_ALL_PROCESSORS);
	put16(m, off + 3, INTI_CONFORMS);
	put8(m, off + 5, MADT_NMI_LINT);
	seal(m);
}

static void build_dsdt(u8 *d, u32 len)
{
	header(d, "DSDT", len, DSDT_REVISION);
	memcpy(d + HDR_SIZE, dsdt_aml, sizeof(dsdt_aml));
	seal(d);
}

static bool check_config(const struct acpi_tables_config *cfg, u32 area_size,
			 char *err, size_t errlen)
{
	if (cfg->cpu_count == 0 || cfg->cpu_count > ACPI_TABLES_MAX_CPUS) {
		snformat(err, errlen,
			 "ACPI tables: %u CPUs requested, 1 to %u possible",
			 cfg->cpu_count, ACPI_TABLES_MAX_CPUS);
		return false;
	}
	if (!IS_ALIGNED(cfg->base_gpa, 16)) {
		snformat(err, errlen,
			 "ACPI tables: area at 0x%llx is not 16-byte aligned",
			 (unsigned long long)cfg->base_gpa);
		return false;
	}
	if (area_size < ACPI_TABLES_MIN_AREA) {
		snformat(err, errlen,
			 "ACPI tables: area of %u bytes, at least %u needed",
			 area_size, ACPI_TABLES_MIN_AREA);
		return false;
	}
	if (cfg->base_gpa + area_size > GiB(4)) {
		snformat(err, errlen,
			 "ACPI tables: area at 0x%llx ends above 4 GiB, but "
			 "the RSDT and FADT hold 32-bit addresses",
			 (unsigned long long)cfg->base_gpa);
		return false;
	}
	return true;
}

bool acpi_tables_build(const struct acpi_tables_config *cfg, void *area,
		       u32 area_size, struct acpi_tables_result *out, char *err,
		       size_t errlen)
{
	u8 *a = area;
	u64 base = cfg->base_gpa;
	struct layout l;

	if (!check_config(cfg, area_size, err, errlen))
		return false;
	plan(cfg->cpu_count, base, &l);
	/* The largest MADT fits ACPI_TABLES_MIN_AREA (checked by tests). */
	memset(a, 0, l.end);
	build_facs(a + l.facs);
	build_dsdt(a + l.dsdt, l.dsdt_len);
	build_madt(a + l.madt, l.madt_len, cfg);
	build_fadt(a + l.fadt, (u32)(base + l.facs), (u32)(base + l.dsdt));
	build_roots(a, &l, base);
	build_rsdp(a + l.rsdp, (u32)(base + l.rsdt), base + l.xsdt);
	out->rsdp_gpa = base + l.rsdp;
	out->rsdt_gpa = base + l.rsdt;
	out->xsdt_gpa = base + l.xsdt;
	out->fadt_gpa = base + l.fadt;
	out->facs_gpa = base + l.facs;
	out->madt_gpa = base + l.madt;
	out->dsdt_gpa = base + l.dsdt;
	out->used = l.end;
	return true;
}
