/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/acpi.c, over a fake physical memory: the first MiB
 * (BDA, EBDA, BIOS ROM area) plus a window of "high" RAM holding tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/acpi.h"
#include "drivers/acpi_spec.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

#define LOW_SIZE  0x100000
#define HIGH_BASE 0x7fe0000ull
#define HIGH_SIZE 0x10000

static u8 low_mem[LOW_SIZE];
static u8 high_mem[HIGH_SIZE];
static char err[256];

static const void *fake_map(u64 pa, u64 len)
{
	if (pa < LOW_SIZE && len <= LOW_SIZE - pa)
		return low_mem + pa;
	if (pa >= HIGH_BASE && pa - HIGH_BASE < HIGH_SIZE &&
	    len <= HIGH_SIZE - (pa - HIGH_BASE))
		return high_mem + (pa - HIGH_BASE);
	return NULL;
}

static u8 *phys(u64 pa)
{
	u8 *p = (u8 *)fake_map(pa, 1);

	assert_non_null(p);
	return p;
}

static int reset(void **state)
{
	(void)state;
	memset(low_mem, 0, sizeof(low_mem));
	memset(high_mem, 0, sizeof(high_mem));
	memset(err, 0, sizeof(err));
	acpi_set_mapper(fake_map);
	host_printk_reset();
	return 0;
}

static u8 sum(const void *p, u32 len)
{
	const u8 *b = p;
	u8 s = 0;

	for (u32 i = 0; i < len; i++)
		s += b[i];
	return s;
}

static void put_rsdp(u64 pa, u8 revision, u32 rsdt, u64 xsdt)
{
	struct acpi_rsdp *r = (void *)phys(pa);

	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, "VENEER", 6);
	r->revision = revision;
	r->rsdt_address = rsdt;
	if (revision >= 2) {
		r->length = 36;
		r->xsdt_address = xsdt;
	}
	r->checksum = (u8)-sum(r, 20);
	if (revision >= 2)
		r->extended_checksum = (u8)-sum(r, 36);
}

/* Writes a table: header plus body, with a correct checksum. */
static void put_table(u64 pa, const char *sig, const void *body, u32 len)
{
	struct acpi_table_header *h = (void *)phys(pa);

	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->length = (u32)sizeof(*h) + len;
	h->revision = 1;
	memcpy(h->oem_id, "VENEER", 6);
	memcpy((u8 *)h + sizeof(*h), body, len);
	h->checksum = (u8)-sum(h, h->length);
}

static void put_rsdt(u64 pa, const u32 *entries, u32 n)
{
	put_table(pa, "RSDT", entries, n * 4);
}

static void put_xsdt(u64 pa, const u64 *entries, u32 n)
{
	put_table(pa, "XSDT", entries, n * 8);
}

/* ---- MADT builder ---- */

static u8 madt_body[4096];
static u32 madt_len;

static void madt_begin(u32 lapic, u32 flags)
{
	memcpy(madt_body, &lapic, 4);
	memcpy(madt_body + 4, &flags, 4);
	madt_len = 8;
}

static void madt_add(const void *entry)
{
	const u8 *e = entry;

	memcpy(madt_body + madt_len, e, e[1]);
	madt_len += e[1];
}

static void madt_lapic(u8 uid, u8 apic_id, u32 flags)
{
	u8 e[8] = {0, 8, uid, apic_id};

	memcpy(e + 4, &flags, 4);
	madt_add(e);
}

static void madt_x2apic(u32 x2apic_id, u32 flags)
{
	u8 e[16] = {9, 16};

	memcpy(e + 4, &x2apic_id, 4);
	memcpy(e + 8, &flags, 4);
	madt_add(e);
}

static void madt_ioapic(u8 id, u32 addr, u32 gsi_base)
{
	u8 e[12] = {1, 12, id, 0};

	memcpy(e + 4, &addr, 4);
	memcpy(e + 8, &gsi_base, 4);
	madt_add(e);
}

static void madt_override(u8 irq, u32 gsi, u16 flags)
{
	u8 e[10] = {2, 10, 0, irq};

	memcpy(e + 4, &gsi, 4);
	memcpy(e + 8, &flags, 2);
	madt_add(e);
}

static void madt_lapic_override(u64 addr)
{
	u8 e[12] = {5, 12};

	memcpy(e + 4, &addr, 8);
	madt_add(e);
}

static void put_madt(u64 pa)
{
	put_table(pa, "APIC", madt_body, madt_len);
}

/* A typical small PC: 2 enabled CPUs, 1 disabled, 1 I/O APIC, 2 overrides. */
static void build_pc_madt(u64 pa)
{
	madt_begin(0xfee00000, ACPI_MADT_PCAT_COMPAT);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 2, 1);
	madt_lapic(2, 4, 0); /* disabled: not counted */
	madt_ioapic(8, 0xfec00000, 0);
	madt_override(0, 2, 0);
	madt_override(9, 9, 0xd);
	madt_add((u8[]){4, 6, 0xff, 0, 0, 1}); /* LAPIC NMI: skipped */
	put_madt(pa);
}

static void test_rsdp_in_ebda_rsdt(void **state)
{
	struct acpi_madt_info info;
	u16 ebda_segment = 0x9fc0;
	u32 rsdt[] = {0x7fe1000 /* FACP */, 0x7fe2000 /* APIC */};

	(void)state;
	memcpy(phys(0x40e), &ebda_segment, 2);
	put_rsdp(0x9fc00 + 0x40, 0, 0x7fe0000, 0);
	put_rsdt(0x7fe0000, rsdt, 2);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	build_pc_madt(0x7fe2000);

	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.lapic_base, 0xfee00000);
	assert_int_equal(info.flags, ACPI_MADT_PCAT_COMPAT);
	assert_int_equal(info.cpu_count, 2);
	assert_int_equal(info.apic_ids[0], 0);
	assert_int_equal(info.apic_ids[1], 2);
	assert_false(info.x2apic_ids);
	assert_int_equal(info.ioapic_count, 1);
	assert_int_equal(info.ioapics[0].id, 8);
	assert_int_equal(info.ioapics[0].addr, 0xfec00000);
	assert_int_equal(info.ioapics[0].gsi_base, 0);
	assert_int_equal(info.override_count, 2);
	assert_int_equal(info.overrides[0].irq, 0);
	assert_int_equal(info.overrides[0].gsi, 2);
	assert_int_equal(info.overrides[1].irq, 9);
	assert_int_equal(info.overrides[1].flags, 0xd);

	struct acpi_root root;

	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(root.rsdp_pa, 0x9fc40);
	assert_false(root.xsdt);
	assert_string_equal(root.oem_id, "VENEER");
}

static void test_rsdp_in_bios_area_prefers_xsdt(void **state)
{
	struct acpi_root root;
	struct acpi_madt_info info;
	u32 rsdt[] = {0x7fe2000};
	u64 xsdt[] = {0x7fe1000 /* FACP */, 0x7fe3000};

	(void)state;
	put_rsdp(0xf6a30, 2, 0x7fe0000, 0x7fe0100);
	put_rsdt(0x7fe0000, rsdt, 1);
	put_xsdt(0x7fe0100, xsdt, 2);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	madt_begin(0xfee00000, 0);
	madt_lapic(0, 0, 1);
	put_madt(0x7fe2000); /* RSDT's MADT: one CPU */
	madt_begin(0xfee00000, 0);
	for (u8 i = 0; i < 4; i++)
		madt_lapic(i, i, 1);
	put_madt(0x7fe3000); /* XSDT's MADT: four CPUs */

	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_OK);
	assert_true(root.xsdt);
	assert_int_equal(root.revision, 2);
	assert_int_equal(root.root_pa, 0x7fe0100);
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.cpu_count, 4);

	/* Revision 2 without an XSDT address: the RSDT is used. */
	put_rsdp(0xf6a30, 2, 0x7fe0000, 0);
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.cpu_count, 1);
}

static void test_bad_xsdt_falls_back_to_rsdt(void **state)
{
	struct acpi_root root;
	u32 rsdt[] = {0x7fe2000};
	u64 xsdt[] = {0x7fe2000};

	(void)state;
	put_rsdp(0xe0000, 2, 0x7fe0000, 0x7fe0100);
	put_rsdt(0x7fe0000, rsdt, 1);
	put_xsdt(0x7fe0100, xsdt, 1);
	phys(0x7fe0100 + 36)[0] ^= 1; /* corrupt the XSDT */
	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_OK);
	assert_false(root.xsdt);
	assert_int_equal(root.root_pa, 0x7fe0000);
	assert_non_null(
	    strstr(host_printk_text(), "XSDT at 0x7fe0100 has a bad checksum"));
	assert_non_null(strstr(host_printk_text(), "using the RSDT"));

	/* Both broken: an error naming the RSDT. */
	phys(0x7fe0000 + 36)[0] ^= 1;
	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "RSDT at 0x7fe0000 has a bad checksum (40 "
				 "bytes sum to 0x01)");
}

static void test_bad_rsdp_checksums(void **state)
{
	struct acpi_root root;
	u32 rsdt[] = {0};

	(void)state;
	put_rsdt(0x7fe0000, rsdt, 1);
	/* A bad candidate first, then a good one further up. */
	put_rsdp(0xe0010, 0, 0x7fe0000, 0);
	phys(0xe0010 + 8)[0] ^= 0x40;
	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_ERR_NO_ACPI);
	assert_non_null(strstr(err, "RSDP has a bad checksum"));
	put_rsdp(0xe0020, 0, 0x7fe0000, 0);
	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(root.rsdp_pa, 0xe0020);

	/* Revision 2 with a good v1 checksum but a bad extended one. */
	memset(phys(0xe0000), 0, 0x100);
	put_rsdp(0xe0000, 2, 0x7fe0000, 0x7fe0100);
	phys(0xe0000)[33] ^= 1; /* reserved byte, after the v1 part */
	assert_int_equal(acpi_find_root(NULL, &root, err, sizeof(err)),
			 ACPI_ERR_NO_ACPI);
	assert_non_null(strstr(err, "bad extended checksum"));
}

static void test_no_acpi(void **state)
{
	struct acpi_madt_info info;

	(void)state;
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_ACPI);
	assert_string_equal(err, "no ACPI RSDP from the boot loader, in the "
				 "EBDA or in 0xE0000-0xFFFFF");
	assert_int_equal(info.cpu_count, 0);
}

static void test_rsdp_from_loader(void **state)
{
	static struct boot_info bi;
	struct acpi_root root;
	struct acpi_madt_info info;
	u32 rsdt[] = {0x7fe2000};

	(void)state;
	/* The loader's copy is used: nothing in the BIOS areas. */
	put_rsdt(0x7fe0000, rsdt, 1);
	build_pc_madt(0x7fe2000);
	put_rsdp(0x1000, 0, 0x7fe0000, 0);
	memcpy(bi.rsdp_copy, phys(0x1000), 20);
	memset(phys(0x1000), 0, 36);
	bi.rsdp_from_loader = true;
	assert_int_equal(acpi_find_root(&bi, &root, err, sizeof(err)), ACPI_OK);
	assert_int_equal(root.rsdp_pa, 0);
	assert_int_equal(acpi_read_madt(&bi, &info, err, sizeof(err)), ACPI_OK);
	assert_int_equal(info.cpu_count, 2);

	/* A broken copy: warning, then the scan finds the real one. */
	bi.rsdp_copy[8] ^= 1;
	put_rsdp(0xfe300, 0, 0x7fe0000, 0);
	assert_int_equal(acpi_find_root(&bi, &root, err, sizeof(err)), ACPI_OK);
	assert_int_equal(root.rsdp_pa, 0xfe300);
	assert_non_null(
	    strstr(host_printk_text(), "the boot loader's RSDP copy is bad"));
}

static void test_madt_errors(void **state)
{
	struct acpi_madt_info info;
	u32 rsdt[] = {0x7fe1000};

	(void)state;
	put_rsdp(0xe0000, 0, 0x7fe0000, 0);
	put_rsdt(0x7fe0000, rsdt, 1);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	/* No MADT at all. */
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_TABLE);
	assert_string_equal(err, "no APIC table in the RSDT (1 entries)");

	/* A MADT with a bad checksum. */
	build_pc_madt(0x7fe1000);
	phys(0x7fe1000 + 50)[0] ^= 0x10;
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_non_null(strstr(err, "APIC table at 0x7fe1000 has a bad "
				    "checksum"));

	/* A MADT whose length is shorter than a header. */
	put_table(0x7fe1000, "APIC", "", 0);
	phys(0x7fe1000)[4] = 20;
	phys(0x7fe1000)[9] = 0;
	phys(0x7fe1000)[9] = (u8)-sum(phys(0x7fe1000), 20);
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "APIC table at 0x7fe1000 is truncated: length "
				 "20, at least 36 needed");
}

static void test_madt_malformed_entries(void **state)
{
	struct acpi_madt_info info;
	u8 table[256];

	(void)state;
	/* Entry length 0 (would loop forever if accepted). */
	madt_begin(0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_body[madt_len++] = 0;
	madt_body[madt_len++] = 0;
	put_madt(0x7fe0000);
	memcpy(table, phys(0x7fe0000), 36 + madt_len);
	assert_int_equal(
	    acpi_parse_madt(table, 36 + madt_len, &info, err, sizeof(err)),
	    ACPI_ERR_INVALID);
	assert_string_equal(err, "MADT entry at offset 52 (type 0) has length "
				 "0, but 2 bytes remain");

	/* An entry running past the table's end. */
	madt_begin(0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_body[madt_len++] = 1;
	madt_body[madt_len++] = 12;
	madt_body[madt_len++] = 0;
	put_madt(0x7fe0000);
	memcpy(table, phys(0x7fe0000), 36 + madt_len);
	assert_int_equal(
	    acpi_parse_madt(table, 36 + madt_len, &info, err, sizeof(err)),
	    ACPI_ERR_INVALID);
	assert_string_equal(err, "MADT entry at offset 52 (type 1) has length "
				 "12, but 3 bytes remain");

	/* A Local APIC entry too short for its fields. */
	madt_begin(0xfee00000, 0);
	madt_add((u8[]){0, 6, 0, 0, 1, 0});
	put_madt(0x7fe0000);
	memcpy(table, phys(0x7fe0000), 36 + madt_len);
	assert_int_equal(
	    acpi_parse_madt(table, 36 + madt_len, &info, err, sizeof(err)),
	    ACPI_ERR_INVALID);
	assert_string_equal(err, "MADT entry at offset 44 (type 0) has length "
				 "6, less than the 8 it needs");

	/* The length field claims more than the buffer holds. */
	assert_int_equal(acpi_parse_madt(table, 40, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_non_null(strstr(err, "MADT is truncated: 40 bytes available"));

	/* No enabled CPU. */
	madt_begin(0xfee00000, 0);
	madt_lapic(0, 0, 0);
	madt_x2apic(300, 0);
	put_madt(0x7fe0000);
	memcpy(table, phys(0x7fe0000), 36 + madt_len);
	assert_int_equal(
	    acpi_parse_madt(table, 36 + madt_len, &info, err, sizeof(err)),
	    ACPI_ERR_INVALID);
	assert_string_equal(err, "MADT lists no enabled CPU");
}

static void test_madt_x2apic_and_override(void **state)
{
	struct acpi_madt_info info;
	u8 table[512];

	(void)state;
	madt_begin(0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 1);
	madt_x2apic(1, 1);   /* the same CPU listed again: counted once */
	madt_x2apic(300, 1); /* needs x2APIC mode */
	madt_x2apic(301, 0); /* disabled */
	madt_x2apic(302, 3); /* enabled and online-capable */
	madt_lapic_override(0xfed00000ull);
	put_madt(0x7fe0000);
	memcpy(table, phys(0x7fe0000), 36 + madt_len);
	assert_int_equal(
	    acpi_parse_madt(table, 36 + madt_len, &info, err, sizeof(err)),
	    ACPI_OK);
	assert_int_equal(info.cpu_count, 4);
	assert_int_equal(info.apic_ids[2], 300);
	assert_int_equal(info.apic_ids[3], 302);
	assert_true(info.x2apic_ids);
	assert_int_equal(info.lapic_base, 0xfed00000);
}

static void test_madt_clipping(void **state)
{
	struct acpi_madt_info info;
	u8 table[2048];

	(void)state;
	madt_begin(0xfee00000, 0);
	for (u32 i = 0; i < 70; i++)
		madt_x2apic(i, 1);
	for (u8 i = 0; i < 10; i++)
		madt_ioapic(i, 0xfec00000 + i * 0x1000u, i * 24u);
	for (u8 i = 0; i < 20; i++)
		madt_override(i, i, 0);
	put_madt(0x7fe0000);
	memcpy(table, phys(0x7fe0000), 36 + madt_len);
	assert_int_equal(
	    acpi_parse_madt(table, 36 + madt_len, &info, err, sizeof(err)),
	    ACPI_OK);
	assert_int_equal(info.cpu_count, ACPI_MAX_CPUS);
	assert_int_equal(info.cpus_ignored, 6);
	assert_int_equal(info.apic_ids[63], 63);
	assert_int_equal(info.ioapic_count, ACPI_MAX_IOAPICS);
	assert_int_equal(info.override_count, ACPI_MAX_OVERRIDES);
	assert_non_null(strstr(host_printk_text(),
			       "more than 64 CPUs, ignoring APIC ID 64"));
	assert_non_null(strstr(host_printk_text(), "more than 8 I/O APICs"));
	assert_non_null(
	    strstr(host_printk_text(), "more than 16 interrupt overrides"));
}

static void test_unmappable_table(void **state)
{
	struct acpi_madt_info info;
	u32 rsdt[] = {0x7fe1000};

	(void)state;
	put_rsdp(0xe0000, 0, 0x7fe0000, 0);
	put_rsdt(0x7fe0000, rsdt, 1);
	/* A MADT whose length runs off the end of the fake memory. */
	build_pc_madt(0x7fe1000);
	memcpy(phys(0x7fe1000) + 4, (u32[]){0x20000}, 4);
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "APIC table at 0x7fe1000 (131072 bytes) "
				 "cannot be mapped");
	/* An RSDT address outside the fake memory. */
	put_rsdp(0xe0000, 0, 0x10000000, 0);
	assert_int_equal(acpi_read_madt(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "RSDT at 0x10000000 cannot be mapped");
}

/* ---- \_S5 and the FADT: powering off ---- */

static int s5(const u8 *aml, u32 len, u8 *a, u8 *b)
{
	*a = *b = 0xee;
	return acpi_parse_s5(aml, len, a, b, err, sizeof(err));
}

static void test_s5_encodings(void **state)
{
	/* Name (\_S5, Package (4) { Zero, Zero, Zero, Zero }): SeaBIOS. */
	static const u8 root_zero[] = {0x08, '\\', '_',	 'S',  '5',  '_', 0x12,
				       0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
	/* Inside a scope, after other AML: BytePrefix 5, BytePrefix 5. */
	static const u8 bytes[] = {0x10, 0x09, '\\', '_',  'S',	 'B',  '_',
				   0x08, '_',  'S',  '5',  '_',	 0x12, 0x08,
				   0x04, 0x0a, 0x05, 0x0a, 0x07, 0x00, 0x00};
	/* A two-byte PkgLength, OneOp and a WordPrefix value. */
	static const u8 wide[] = {0x08, '_',  'S',  '5',  '_',	0x12, 0x40,
				  0x00, 0x02, 0x01, 0x0b, 0x06, 0x00};
	/* One element: SLP_TYPb is SLP_TYPa. */
	static const u8 one[] = {0x08, '_',  'S',  '5',	 '_',
				 0x12, 0x04, 0x01, 0x0a, 0x03};
	/* "_S5_" inside a string first (no NameOp before it): skipped. */
	static const u8 string_first[] = {
	    0x0d, '_',	'S',  '5',  '_',  0x00, 0x08, '_',  'S',  '5',
	    '_',  0x12, 0x05, 0x02, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x01};
	u8 a, b;

	(void)state;
	assert_int_equal(s5(root_zero, sizeof(root_zero), &a, &b), ACPI_OK);
	assert_int_equal(a, 0);
	assert_int_equal(b, 0);
	assert_int_equal(s5(bytes, sizeof(bytes), &a, &b), ACPI_OK);
	assert_int_equal(a, 5);
	assert_int_equal(b, 7);
	assert_int_equal(s5(wide, sizeof(wide), &a, &b), ACPI_OK);
	assert_int_equal(a, 1);
	assert_int_equal(b, 6);
	assert_int_equal(s5(one, sizeof(one), &a, &b), ACPI_OK);
	assert_int_equal(a, 3);
	assert_int_equal(b, 3);
	assert_int_equal(s5(string_first, sizeof(string_first), &a, &b),
			 ACPI_OK);
	assert_int_equal(a, 2);
	assert_int_equal(b, 1);
}

static void test_s5_errors(void **state)
{
	static const u8 none[] = {0x08, '_', 'S', '4', '_', 0x0a, 0x01};
	static const u8 not_package[] = {0x08, '_', 'S', '5', '_', 0x0a, 0x05};
	static const u8 cut[] = {0x08, '_', 'S', '5', '_', 0x12, 0x06};
	static const u8 too_big[] = {0x08, '_',	 'S',  '5',  '_',  0x12,
				     0x06, 0x02, 0x0a, 0x09, 0x0a, 0x00};
	/* SLP_TYPb given by a name (to be evaluated): not supported. */
	static const u8 computed[] = {0x08, '_',  'S', '5', '_', 0x12, 0x08,
				      0x02, 0x00, 'T', 'Y', 'P', 'B'};
	static const u8 empty[] = {0x08, '_', 'S', '5', '_', 0x12, 0x01, 0x00};
	u8 a, b;

	(void)state;
	assert_int_equal(s5(none, sizeof(none), &a, &b), ACPI_ERR_NO_TABLE);
	assert_string_equal(err, "the DSDT has no \\_S5 object");
	assert_int_equal(s5(not_package, sizeof(not_package), &a, &b),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "\\_S5 at DSDT offset 1 is not a package");
	assert_int_equal(s5(cut, sizeof(cut), &a, &b), ACPI_ERR_INVALID);
	assert_string_equal(err, "\\_S5 package is cut short");
	assert_int_equal(s5(too_big, sizeof(too_big), &a, &b),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "\\_S5 SLP_TYP values 9, 0 do not fit 3 bits");
	assert_int_equal(s5(computed, sizeof(computed), &a, &b),
			 ACPI_ERR_INVALID);
	assert_non_null(strstr(err, "SLP_TYPb is not an integer"));
	assert_int_equal(s5(empty, sizeof(empty), &a, &b), ACPI_ERR_INVALID);
	assert_string_equal(err, "\\_S5 package has no integer SLP_TYPa");
	/* Nothing written on failure. */
	assert_int_equal(a, 0xee);
}

/* A FADT of `len` bytes (header included) at pa, its DSDT at dsdt. */
static u8 fadt_body[512];

static void fadt_set32(u32 off, u32 v)
{
	memcpy(fadt_body + off - sizeof(struct acpi_table_header), &v, 4);
}

static void fadt_set_gas(u32 off, u8 space, u64 addr)
{
	u8 *g = fadt_body + off - sizeof(struct acpi_table_header);

	g[GAS_SPACE_ID] = space;
	memcpy(g + GAS_ADDRESS, &addr, 8);
}

static void put_machine(u32 fadt_len)
{
	static const u8 aml[] = {0x08, '_',  'S',  '5',	 '_',  0x12, 0x08,
				 0x04, 0x0a, 0x05, 0x0a, 0x06, 0x00, 0x00};
	u32 rsdt[] = {0x7fe1000};

	put_rsdp(0xe0000, 0, 0x7fe0000, 0);
	put_rsdt(0x7fe0000, rsdt, 1);
	put_table(0x7fe2000, "DSDT", aml, sizeof(aml));
	put_table(0x7fe1000, "FACP", fadt_body,
		  fadt_len - (u32)sizeof(struct acpi_table_header));
}

static void test_read_sleep(void **state)
{
	struct acpi_sleep_info info;

	(void)state;
	memset(fadt_body, 0, sizeof(fadt_body));
	fadt_set32(FADT_DSDT, 0x7fe2000);
	fadt_set32(FADT_SMI_CMD, 0xb2);
	fadt_body[FADT_ACPI_ENABLE - sizeof(struct acpi_table_header)] = 0xf1;
	fadt_set32(FADT_PM1A_CNT_BLK, 0x604);
	/* ACPI 1.0 FADT: no X_ fields. */
	put_machine(116);
	assert_int_equal(acpi_read_sleep(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.pm1a_cnt, 0x604);
	assert_int_equal(info.pm1b_cnt, 0);
	assert_int_equal(info.slp_typa, 5);
	assert_int_equal(info.slp_typb, 6);
	assert_int_equal(info.smi_cmd, 0xb2);
	assert_int_equal(info.acpi_enable, 0xf1);

	/* The X_ blocks win when set: PM1b in I/O space too. */
	fadt_set_gas(FADT_X_PM1A_CNT_BLK, GAS_SPACE_IO, 0x1004);
	fadt_set_gas(FADT_X_PM1B_CNT_BLK, GAS_SPACE_IO, 0x1044);
	put_machine(276);
	assert_int_equal(acpi_read_sleep(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.pm1a_cnt, 0x1004);
	assert_int_equal(info.pm1b_cnt, 0x1044);

	/* A hardware-reduced style block in memory space: refused. */
	fadt_set_gas(FADT_X_PM1A_CNT_BLK, 0, 0xfed80000);
	put_machine(276);
	assert_int_equal(acpi_read_sleep(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "PM1a_CNT is in address space 0, not I/O");
}

static void test_read_sleep_errors(void **state)
{
	struct acpi_sleep_info info;

	(void)state;
	memset(fadt_body, 0, sizeof(fadt_body));
	fadt_set32(FADT_DSDT, 0x7fe2000);
	put_machine(116);
	assert_int_equal(acpi_read_sleep(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "the FADT has no PM1a_CNT block");

	fadt_set32(FADT_PM1A_CNT_BLK, 0x604);
	fadt_set32(FADT_DSDT, 0x7fe3000); /* nothing there */
	put_machine(116);
	assert_int_equal(acpi_read_sleep(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "the DSDT at 0x7fe3000 has signature '', "
				 "not 'DSDT'");

	put_machine(60);
	assert_int_equal(acpi_read_sleep(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "the FADT is 60 bytes, too short for PM1_CNT");
}

/* ---- MCFG ---- */

static u8 mcfg_body[512];
static u32 mcfg_len;

static void mcfg_begin(void)
{
	memset(mcfg_body, 0, sizeof(mcfg_body));
	mcfg_len = 8; /* reserved */
}

static void mcfg_add(u64 base, u16 segment, u8 start_bus, u8 end_bus)
{
	u8 *e = mcfg_body + mcfg_len;

	memcpy(e, &base, 8);
	memcpy(e + 8, &segment, 2);
	e[10] = start_bus;
	e[11] = end_bus;
	mcfg_len += 16;
}

/* An RSDT listing a FACP and, at 0x7fe2000, the MCFG built so far. */
static void put_mcfg_tables(void)
{
	u32 rsdt[] = {0x7fe1000, 0x7fe2000};

	put_rsdp(0xe0000, 0, 0x7fe0000, 0);
	put_rsdt(0x7fe0000, rsdt, 2);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	put_table(0x7fe2000, "MCFG", mcfg_body, mcfg_len);
}

static void test_mcfg_q35(void **state)
{
	struct acpi_mcfg_info info;

	(void)state;
	mcfg_begin();
	mcfg_add(0xb0000000, 0, 0, 255);
	mcfg_add(0x1000000000ull, 1, 0x10, 0x1f);
	put_mcfg_tables();
	assert_int_equal(acpi_read_mcfg(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.count, 2);
	assert_int_equal(info.entries[0].base, 0xb0000000);
	assert_int_equal(info.entries[0].segment, 0);
	assert_int_equal(info.entries[0].start_bus, 0);
	assert_int_equal(info.entries[0].end_bus, 255);
	assert_int_equal(info.entries[1].base, 0x1000000000ull);
	assert_int_equal(info.entries[1].segment, 1);
	assert_int_equal(info.entries[1].start_bus, 0x10);
	assert_int_equal(info.entries[1].end_bus, 0x1f);

	/* No entries at all is a valid, empty table. */
	mcfg_begin();
	put_mcfg_tables();
	assert_int_equal(acpi_read_mcfg(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.count, 0);
}

static void test_mcfg_absent(void **state)
{
	struct acpi_mcfg_info info;
	u32 rsdt[] = {0x7fe1000};

	(void)state;
	assert_int_equal(acpi_read_mcfg(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_ACPI);
	put_rsdp(0xe0000, 0, 0x7fe0000, 0);
	put_rsdt(0x7fe0000, rsdt, 1);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(acpi_read_mcfg(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_TABLE);
	assert_string_equal(err, "no MCFG table in the RSDT (1 entries)");
	assert_int_equal(info.count, 0);
}

/* Parses the MCFG built so far, expects err to be msg. */
static void mcfg_error(const char *msg)
{
	struct acpi_mcfg_info info;

	put_mcfg_tables();
	assert_int_equal(acpi_read_mcfg(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, msg);
	assert_int_equal(info.count, 0);
}

static void test_mcfg_malformed(void **state)
{
	struct acpi_mcfg_info info;
	u8 buf[64];

	(void)state;
	/* Not a whole number of entries. */
	mcfg_begin();
	mcfg_add(0xb0000000, 0, 0, 255);
	mcfg_len -= 4;
	mcfg_error("MCFG length 56 is not its 44-byte header plus whole "
		   "16-byte entries");
	/* Shorter than the header and the reserved bytes. */
	mcfg_begin();
	mcfg_len = 4;
	mcfg_error("MCFG is truncated: 40 bytes available, length field 40, "
		   "header needs 44");
	/* Start bus above end bus. */
	mcfg_begin();
	mcfg_add(0xb0000000, 0, 0, 255);
	mcfg_add(0xc0000000, 2, 9, 8);
	mcfg_error("MCFG entry 1 (segment 2) has start bus 9 above end bus 8");
	/* A base not 1 MiB aligned. */
	mcfg_begin();
	mcfg_add(0xb0080000, 0, 0, 255);
	mcfg_error("MCFG entry 0 (segment 0) has base 0xb0080000, not 1 MiB "
		   "aligned");
	/* Too many entries. */
	mcfg_begin();
	for (u32 i = 0; i <= ACPI_MAX_MCFG; i++)
		mcfg_add(0xb0000000, (u16)i, 0, 255);
	mcfg_error("MCFG has 17 entries, more than the 16 Veneer keeps");

	/* Directly: the length field beyond the bytes given. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "MCFG", 4);
	buf[4] = 60;
	assert_int_equal(acpi_parse_mcfg(buf, 44, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "MCFG is truncated: 44 bytes available, "
				 "length field 60, header needs 44");
	assert_int_equal(acpi_parse_mcfg(buf, 10, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "MCFG is truncated: 10 bytes available, "
				 "length field 0, header needs 44");
}

#define T(f) cmocka_unit_test_setup(f, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_rsdp_in_ebda_rsdt),
	    T(test_rsdp_in_bios_area_prefers_xsdt),
	    T(test_bad_xsdt_falls_back_to_rsdt),
	    T(test_bad_rsdp_checksums),
	    T(test_no_acpi),
	    T(test_rsdp_from_loader),
	    T(test_madt_errors),
	    T(test_madt_malformed_entries),
	    T(test_madt_x2apic_and_override),
	    T(test_madt_clipping),
	    T(test_unmappable_table),
	    T(test_s5_encodings),
	    T(test_s5_errors),
	    T(test_read_sleep),
	    T(test_read_sleep_errors),
	    T(test_mcfg_q35),
	    T(test_mcfg_absent),
	    T(test_mcfg_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
