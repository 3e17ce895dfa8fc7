/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/acpi_tables.c. The tables are parsed back here
 * with the byte offsets of the ACPI 6.5 specification (written out again,
 * not shared with the generator), as a guest would find them: from the
 * RSDP through the XSDT (and RSDT) to the FADT, FACS, DSDT and MADT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/acpi_tables.h"
#include "drivers/acpi.h"

#define BASE	  0xe0000ull
#define AREA_SIZE 0x20000u

static u8 area[AREA_SIZE];

static u32 rd8(u64 gpa, u32 off)
{
	assert_true(gpa >= BASE && gpa - BASE + off < AREA_SIZE);
	return area[gpa - BASE + off];
}

static u32 rd16(u64 gpa, u32 off)
{
	return rd8(gpa, off) | rd8(gpa, off + 1) << 8;
}

static u32 rd32(u64 gpa, u32 off)
{
	return rd16(gpa, off) | rd16(gpa, off + 2) << 16;
}

static u64 rd64(u64 gpa, u32 off)
{
	return rd32(gpa, off) | (u64)rd32(gpa, off + 4) << 32;
}

static const u8 *at(u64 gpa)
{
	return &area[gpa - BASE];
}

static void assert_sums_to_zero(u64 gpa, u32 len)
{
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum = (u8)(sum + rd8(gpa, i));
	assert_int_equal(sum, 0);
}

/* Signature, length, checksum and OEM fields of a described table. */
static u32 check_table(u64 gpa, const char *signature)
{
	u32 len = rd32(gpa, 4);

	assert_memory_equal(at(gpa), signature, 4);
	assert_true(len >= 36);
	assert_sums_to_zero(gpa, len);
	assert_memory_equal(at(gpa) + 10, "VENEER", 6);
	return len;
}

static struct acpi_tables_result build(u32 cpus)
{
	struct acpi_tables_config cfg = {
	    .base_gpa = BASE,
	    .cpu_count = cpus,
	    .ioapic_address = 0xfec00000,
	    .ioapic_id = (u8)cpus,
	    .ioapic_gsi_base = 0,
	};
	struct acpi_tables_result r;
	char err[160] = "";

	memset(area, 0xcc, sizeof(area));
	assert_true(
	    acpi_tables_build(&cfg, area, sizeof(area), &r, err, sizeof(err)));
	assert_string_equal(err, "");
	return r;
}

static void test_rsdp(void **state)
{
	struct acpi_tables_result r = build(2);

	(void)state;
	assert_int_equal(r.rsdp_gpa, BASE);
	assert_memory_equal(at(r.rsdp_gpa), "RSD PTR ", 8);
	assert_sums_to_zero(r.rsdp_gpa, 20);
	assert_sums_to_zero(r.rsdp_gpa, 36);
	assert_int_equal(rd8(r.rsdp_gpa, 15), 2);
	assert_int_equal(rd32(r.rsdp_gpa, 16), r.rsdt_gpa);
	assert_int_equal(rd32(r.rsdp_gpa, 20), 36);
	assert_int_equal(rd64(r.rsdp_gpa, 24), r.xsdt_gpa);
	/* Nothing past the used bytes was touched. */
	assert_int_equal(area[r.used], 0xcc);
	assert_true(r.used <= ACPI_TABLES_MIN_AREA);
}

static void test_xsdt_and_rsdt_list_fadt_and_madt(void **state)
{
	struct acpi_tables_result r = build(2);
	u32 xlen = check_table(r.xsdt_gpa, "XSDT");
	u32 rlen = check_table(r.rsdt_gpa, "RSDT");

	(void)state;
	assert_int_equal(xlen, 36 + 2 * 8);
	assert_int_equal(rlen, 36 + 2 * 4);
	assert_int_equal(rd64(r.xsdt_gpa, 36), r.fadt_gpa);
	assert_int_equal(rd64(r.xsdt_gpa, 44), r.madt_gpa);
	assert_int_equal(rd32(r.rsdt_gpa, 36), r.fadt_gpa);
	assert_int_equal(rd32(r.rsdt_gpa, 40), r.madt_gpa);
	check_table(rd64(r.xsdt_gpa, 36), "FACP");
	check_table(rd64(r.xsdt_gpa, 44), "APIC");
}

/* A Generic Address Structure describing `bits` of I/O at `port`. */
static void check_gas_io(u64 gpa, u32 off, u8 bits, u8 access, u16 port)
{
	assert_int_equal(rd8(gpa, off), 1); /* SystemIO */
	assert_int_equal(rd8(gpa, off + 1), bits);
	assert_int_equal(rd8(gpa, off + 2), 0);
	assert_int_equal(rd8(gpa, off + 3), access);
	assert_int_equal(rd64(gpa, off + 4), port);
}

static void test_fadt_fields(void **state)
{
	struct acpi_tables_result r = build(2);
	u64 f = r.fadt_gpa;
	u32 flags;

	(void)state;
	assert_int_equal(check_table(f, "FACP"), 276);
	assert_int_equal(rd8(f, 8), 6);	  /* revision */
	assert_int_equal(rd8(f, 131), 5); /* minor version */
	assert_int_equal(rd32(f, 36), r.facs_gpa);
	assert_int_equal(rd64(f, 132), r.facs_gpa);
	assert_int_equal(rd32(f, 40), r.dsdt_gpa);
	assert_int_equal(rd64(f, 140), r.dsdt_gpa);
	assert_int_equal(rd16(f, 46), 9);     /* SCI_INT */
	assert_int_equal(rd32(f, 48), 0);     /* SMI_CMD: always ACPI mode */
	assert_int_equal(rd32(f, 56), 0x600); /* PM1a_EVT_BLK */
	assert_int_equal(rd32(f, 60), 0);     /* no PM1b */
	assert_int_equal(rd32(f, 64), 0x604); /* PM1a_CNT_BLK */
	assert_int_equal(rd32(f, 76), 0x608); /* PM_TMR_BLK */
	assert_int_equal(rd32(f, 80), 0);     /* no GPE0 */
	assert_int_equal(rd8(f, 88), 4);
	assert_int_equal(rd8(f, 89), 2);
	assert_int_equal(rd8(f, 91), 4);
	assert_int_equal(rd8(f, 92), 0);
	assert_true(rd16(f, 96) > 100);	     /* no C2 */
	assert_true(rd16(f, 98) > 1000);     /* no C3 */
	assert_int_equal(rd8(f, 108), 0x32); /* CENTURY */
	/* IAPC_BOOT_ARCH: legacy devices, no VGA, no 8042 advertised. */
	assert_int_equal(rd16(f, 109), 0x0005);
	flags = rd32(f, 112);
	assert_true(flags & (1u << 0));	  /* WBINVD */
	assert_true(flags & (1u << 4));	  /* no fixed power button */
	assert_true(flags & (1u << 8));	  /* 32-bit PM timer */
	assert_true(flags & (1u << 10));  /* RESET_REG supported */
	assert_false(flags & (1u << 20)); /* not hardware-reduced */
	check_gas_io(f, 116, 8, 1, 0x64); /* RESET_REG */
	assert_int_equal(rd8(f, 128), 0xfe);
	check_gas_io(f, 148, 32, 0, 0x600); /* X_PM1a_EVT_BLK */
	assert_int_equal(rd8(f, 160), 0);   /* X_PM1b_EVT_BLK empty */
	check_gas_io(f, 172, 16, 0, 0x604); /* X_PM1a_CNT_BLK */
	check_gas_io(f, 208, 32, 0, 0x608); /* X_PM_TMR_BLK */
	assert_memory_equal(at(f) + 268, "Veneer\0\0", 8);
	/* The header constants the core implements agree. */
	assert_int_equal(ACPI_TABLES_PM1A_CNT_PORT, 0x604);
	assert_int_equal(ACPI_TABLES_PM1_CNT_SLP_EN, 1u << 13);
}

static void test_facs(void **state)
{
	struct acpi_tables_result r = build(2);

	(void)state;
	assert_int_equal(r.facs_gpa % 64, 0);
	assert_memory_equal(at(r.facs_gpa), "FACS", 4);
	assert_int_equal(rd32(r.facs_gpa, 4), 64);
	assert_int_equal(rd8(r.facs_gpa, 32), 2);
	assert_int_equal(rd32(r.facs_gpa, 12), 0); /* no waking vector */
}

static void test_dsdt_holds_s5(void **state)
{
	/* Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero }) */
	static const u8 aml[] = {0x08, '_',  'S',  '5',	 '_',  0x12, 0x08,
				 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
	struct acpi_tables_result r = build(1);
	u32 len = check_table(r.dsdt_gpa, "DSDT");

	(void)state;
	assert_int_equal(len, 36 + sizeof(aml));
	assert_int_equal(rd8(r.dsdt_gpa, 8), 2);
	assert_memory_equal(at(r.dsdt_gpa) + 36, aml, sizeof(aml));
	assert_int_equal(aml[9], ACPI_TABLES_S5_SLP_TYP);
}

/* The host's \_S5 reader (drivers/acpi.c) agrees with the guest's DSDT. */
static void test_dsdt_s5_reads_back(void **state)
{
	struct acpi_tables_result r = build(1);
	u32 len = check_table(r.dsdt_gpa, "DSDT");
	char err[128];
	u8 a, b;

	(void)state;
	assert_int_equal(acpi_parse_s5(at(r.dsdt_gpa) + 36, len - 36, &a, &b,
				       err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(a, ACPI_TABLES_S5_SLP_TYP);
	assert_int_equal(b, ACPI_TABLES_S5_SLP_TYP);
}

static void test_madt_entries(void **state)
{
	struct acpi_tables_result r = build(3);
	u64 m = r.madt_gpa;
	u32 len = check_table(m, "APIC"), off = 44, cpus = 0, overrides = 0;
	bool ioapic = false, nmi = false;

	(void)state;
	assert_int_equal(rd32(m, 36), 0xfee00000);
	assert_int_equal(rd32(m, 40), 1); /* PCAT_COMPAT */
	while (off < len) {
		u32 type = rd8(m, off), elen = rd8(m, off + 1);

		assert_true(elen >= 2 && off + elen <= len);
		switch (type) {
		case 0:
			assert_int_equal(elen, 8);
			assert_int_equal(rd8(m, off + 2), cpus); /* UID */
			assert_int_equal(rd8(m, off + 3), cpus); /* APIC ID */
			assert_int_equal(rd32(m, off + 4), 1);	 /* enabled */
			cpus++;
			break;
		case 1:
			assert_int_equal(elen, 12);
			assert_int_equal(rd8(m, off + 2), 3);
			assert_int_equal(rd32(m, off + 4), 0xfec00000);
			assert_int_equal(rd32(m, off + 8), 0);
			ioapic = true;
			break;
		case 2:
			assert_int_equal(elen, 10);
			assert_int_equal(rd8(m, off + 2), 0); /* ISA */
			if (rd8(m, off + 3) == 0) {
				assert_int_equal(rd32(m, off + 4), 2);
				assert_int_equal(rd16(m, off + 8), 0);
			} else {
				assert_int_equal(rd8(m, off + 3), 9);
				assert_int_equal(rd32(m, off + 4), 9);
				assert_int_equal(rd16(m, off + 8), 0x000d);
			}
			overrides++;
			break;
		case 4:
			assert_int_equal(elen, 6);
			assert_int_equal(rd8(m, off + 2), 0xff);
			assert_int_equal(rd8(m, off + 5), 1); /* LINT1 */
			nmi = true;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", type);
		}
		off += elen;
	}
	assert_int_equal(off, len);
	assert_int_equal(cpus, 3);
	assert_int_equal(overrides, 2);
	assert_true(ioapic);
	assert_true(nmi);
}

static void test_largest_configuration_fits(void **state)
{
	struct acpi_tables_result r = build(ACPI_TABLES_MAX_CPUS);

	(void)state;
	assert_true(r.used <= ACPI_TABLES_MIN_AREA);
	assert_int_equal(check_table(r.madt_gpa, "APIC"),
			 44 + 255 * 8 + 12 + 2 * 10 + 6);
	assert_int_equal(rd8(r.madt_gpa, 44 + 254 * 8 + 3), 254);
}

static void test_bad_configurations_are_refused(void **state)
{
	struct acpi_tables_config cfg = {
	    .base_gpa = BASE, .cpu_count = 1, .ioapic_address = 0xfec00000};
	struct acpi_tables_result r;
	char err[160];

	(void)state;
	memset(area, 0xcc, sizeof(area));
	cfg.cpu_count = 0;
	assert_false(
	    acpi_tables_build(&cfg, area, AREA_SIZE, &r, err, sizeof(err)));
	assert_string_equal(err,
			    "ACPI tables: 0 CPUs requested, 1 to 255 possible");
	cfg.cpu_count = 256;
	assert_false(
	    acpi_tables_build(&cfg, area, AREA_SIZE, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "256 CPUs"));
	cfg.cpu_count = 1;
	cfg.base_gpa = BASE + 8;
	assert_false(
	    acpi_tables_build(&cfg, area, AREA_SIZE, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "0xe0008 is not 16-byte aligned"));
	cfg.base_gpa = BASE;
	assert_false(acpi_tables_build(&cfg, area, 1024, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "area of 1024 bytes"));
	cfg.base_gpa = 0xfffff000;
	assert_false(
	    acpi_tables_build(&cfg, area, 0x2000, &r, err, sizeof(err)));
	assert_non_null(strstr(err, "above 4 GiB"));
	/* Nothing was written by any of them. */
	for (u32 i = 0; i < AREA_SIZE; i++)
		assert_int_equal(area[i], 0xcc);
}

static void test_facs_alignment_follows_the_base(void **state)
{
	struct acpi_tables_config cfg = {
	    .base_gpa = 0x9fc10, .cpu_count = 2, .ioapic_address = 0xfec00000};
	struct acpi_tables_result r;
	char err[160];

	(void)state;
	assert_true(
	    acpi_tables_build(&cfg, area, AREA_SIZE, &r, err, sizeof(err)));
	assert_int_equal(r.rsdp_gpa, 0x9fc10);
	assert_int_equal(r.facs_gpa % 64, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsdp),
	    cmocka_unit_test(test_xsdt_and_rsdt_list_fadt_and_madt),
	    cmocka_unit_test(test_fadt_fields),
	    cmocka_unit_test(test_facs),
	    cmocka_unit_test(test_dsdt_holds_s5),
	    cmocka_unit_test(test_dsdt_s5_reads_back),
	    cmocka_unit_test(test_madt_entries),
	    cmocka_unit_test(test_largest_configuration_fits),
	    cmocka_unit_test(test_bad_configurations_are_refused),
	    cmocka_unit_test(test_facs_alignment_follows_the_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
