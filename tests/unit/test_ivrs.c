/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/ivrs.c: IVRS tables built byte by byte (the shape
 * QEMU's amd-iommu gives, a machine with several IOMMUs, IVMDs, malformed
 * ones), and acpi_read_ivrs() over a fake physical memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "drivers/acpi.h"
#include "drivers/ivrs.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

static char err[256];
static struct ivrs_info info;

/* ---- table builder ---- */

static u8 tbl[8192];
static u32 tlen;

static void put8(u8 v)
{
	tbl[tlen++] = v;
}

static void put16(u16 v)
{
	memcpy(tbl + tlen, &v, 2);
	tlen += 2;
}

static void put32(u32 v)
{
	memcpy(tbl + tlen, &v, 4);
	tlen += 4;
}

static void put64(u64 v)
{
	memcpy(tbl + tlen, &v, 8);
	tlen += 8;
}

static u8 sum(const u8 *p, u32 len)
{
	u8 s = 0;

	for (u32 i = 0; i < len; i++)
		s += p[i];
	return s;
}

#define BDF(b, d, f) ((u16)((b) << 8 | (d) << 3 | (f)))

/* 5.2.1: the ACPI header, IVinfo, 8 reserved bytes. */
static void ivrs_begin(u32 ivinfo)
{
	memset(tbl, 0, sizeof(tbl));
	memcpy(tbl, "IVRS", 4);
	tbl[8] = 2; /* revision */
	memcpy(tbl + 10, "VENEER", 6);
	tlen = 36;
	put32(ivinfo);
	tlen += 8;
}

static u32 ivrs_end(void)
{
	memcpy(tbl + 4, &tlen, 4);
	tbl[9] = 0;
	tbl[9] = (u8)-sum(tbl, tlen);
	return tlen;
}

/* 5.2.2.1: an IVHD header; the length is set by block_end(). */
static u32 ivhd_begin(u8 type, u8 flags, u16 bdf, u16 segment, u64 base,
		      u64 efr)
{
	u32 at = tlen;

	put8(type);
	put8(flags);
	put16(0);
	put16(bdf);
	put16(0x40); /* capability offset */
	put64(base);
	put16(segment);
	put16(0x0d00 | 4); /* unit ID 13, MSI number 4 */
	put32(0x80048f6e); /* feature reporting / attributes */
	if (type != 0x10) {
		put64(efr);
		put64(0);
	}
	return at;
}

static void block_end(u32 at)
{
	u16 len = (u16)(tlen - at);

	memcpy(tbl + at + 2, &len, 2);
}

/* 5.2.2.2: device entries. */
static void dev4(u8 type, u16 devid, u8 dte)
{
	put8(type);
	put16(devid);
	put8(dte);
}

static void dev8(u8 type, u16 devid, u8 dte, u32 tail)
{
	dev4(type, devid, dte);
	put32(tail);
}

/* Alias entries: byte 4 reserved, 5-6 the source ID, 7 reserved. */
static void dev_alias(u8 type, u16 devid, u8 dte, u16 alias)
{
	dev4(type, devid, dte);
	put8(0);
	put16(alias);
	put8(0);
}

static void dev_special(u8 variety, u8 handle, u16 bdf, u8 dte)
{
	dev4(0x48, 0, dte);
	put8(handle);
	put16(bdf);
	put8(variety);
}

static void dev_acpi_hid(u16 devid, const char *hid, const char *uid)
{
	dev4(0xf0, devid, 0);
	for (u32 i = 0; i < 8; i++)
		put8(i < strlen(hid) ? (u8)hid[i] : 0);
	put64(0); /* CID */
	put8(2);  /* UID format: a string */
	put8((u8)strlen(uid));
	for (const char *p = uid; *p; p++)
		put8((u8)*p);
}

static void ivmd(u8 type, u8 flags, u16 devid, u16 aux, u64 start, u64 len)
{
	put8(type);
	put8(flags);
	put16(32);
	put16(devid);
	put16(aux);
	put64(0);
	put64(start);
	put64(len);
}

static int parse(const u8 *table, u32 len)
{
	u8 *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, table, len);
	memset(err, 0, sizeof(err));
	rc = ivrs_parse(copy, len, &info, err, sizeof(err));
	free(copy);
	return rc;
}

static int parse_tbl(void)
{
	return parse(tbl, ivrs_end());
}

static void expect_error(const char *message)
{
	assert_int_equal(parse_tbl(), ACPI_ERR_INVALID);
	assert_string_equal(err, message);
}

static void assert_range(const struct ivrs_range *r, u16 first, u16 last,
			 bool aliased, u16 alias, u8 dte, u32 ext)
{
	assert_int_equal(r->first, first);
	assert_int_equal(r->last, last);
	assert_int_equal(r->aliased, aliased);
	assert_int_equal(r->alias, alias);
	assert_int_equal(r->dte_settings, dte);
	assert_int_equal(r->ext_settings, ext);
}

/* ---- QEMU's amd-iommu: one IOMMU at 00:02.0, as IVHD 10h and 11h ---- */

#define QEMU_IVINFO (1u | 2u << 5 | 40u << 8 | 64u << 15)
#define QEMU_EFR    0x0000a0000000029cull

static u32 boundaries[32];
static u32 boundary_count;

static void mark(void)
{
	boundaries[boundary_count++] = tlen;
}

static void qemu_entries(void)
{
	dev4(0x02, BDF(0, 0, 0), 0);		  /* Select */
	dev4(0x03, BDF(0, 1, 0), 0);		  /* Start of range */
	dev4(0x04, BDF(0, 0x1f, 7), 0);		  /* End of range */
	dev_special(1, 0, BDF(0, 0x14, 0), 0xd7); /* the I/O APIC */
}

static void build_qemu(void)
{
	u32 at;

	boundary_count = 0;
	ivrs_begin(QEMU_IVINFO);
	mark();
	at = ivhd_begin(0x10, 0xd1, BDF(0, 2, 0), 0, 0xfed80000, 0);
	qemu_entries();
	block_end(at);
	mark();
	at = ivhd_begin(0x11, 0xd1, BDF(0, 2, 0), 0, 0xfed80000, QEMU_EFR);
	qemu_entries();
	block_end(at);
	mark();
}

static void test_qemu_amd_iommu(void **state)
{
	const struct ivrs_unit *u = &info.units[0];

	(void)state;
	build_qemu();
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.ivinfo, QEMU_IVINFO);
	assert_int_equal(IVRS_IVINFO_PASIZE(info.ivinfo), 40);
	assert_int_equal(IVRS_IVINFO_VASIZE(info.ivinfo), 64);
	assert_int_equal(IVRS_IVINFO_GVASIZE(info.ivinfo), 2);
	assert_true(info.ivinfo & IVRS_IVINFO_EFRSUP);
	/* The 11h block is used; the 10h one said the same for old OSes. */
	assert_int_equal(info.unit_count, 1);
	assert_int_equal(info.superseded_ivhds, 1);
	assert_int_equal(u->type, IVRS_IVHD_11);
	assert_int_equal(u->block_offset, 92);
	assert_int_equal(u->flags, 0xd1);
	assert_int_equal(u->bdf, 0x0010);
	assert_int_equal(u->segment, 0);
	assert_int_equal(u->cap_offset, 0x40);
	assert_int_equal(u->base, 0xfed80000);
	assert_int_equal(IVRS_INFO_MSI_NUM(u->info), 4);
	assert_int_equal(IVRS_INFO_UNIT_ID(u->info), 13);
	assert_int_equal(u->features, 0x80048f6e);
	assert_int_equal(u->efr, QEMU_EFR);
	assert_false(u->all);
	assert_int_equal(u->range_count, 2);
	assert_range(&u->ranges[0], 0x0000, 0x0000, false, 0x0000, 0, 0);
	assert_range(&u->ranges[1], 0x0008, 0x00ff, false, 0x0008, 0, 0);
	assert_int_equal(u->special_count, 1);
	assert_int_equal(u->specials[0].variety, IVRS_SPECIAL_IOAPIC);
	assert_int_equal(u->specials[0].handle, 0);
	assert_int_equal(u->specials[0].bdf, 0x00a0);
	assert_int_equal(u->specials[0].dte_settings, 0xd7);
	assert_int_equal(u->acpi_hid_count, 0);
	assert_int_equal(u->other_entries, 0);
	assert_int_equal(info.memory_count, 0);
	assert_int_equal(info.other_blocks, 0);
}

static void test_only_ivhd_10(void **state)
{
	u32 at;

	(void)state;
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x01, 0, 0x33); /* All */
	block_end(at);
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.unit_count, 1);
	assert_int_equal(info.units[0].type, IVRS_IVHD_10);
	assert_int_equal(info.units[0].efr, 0);
	assert_true(info.units[0].all);
	assert_int_equal(info.units[0].all_dte_settings, 0x33);
	assert_int_equal(info.units[0].range_count, 0);
	assert_int_equal(info.superseded_ivhds, 0);
}

/* ---- a server: three IOMMUs, every entry kind, IVMDs ---- */

static void build_server(void)
{
	u32 at;

	boundary_count = 0;
	ivrs_begin(QEMU_IVINFO);
	mark();
	/* IOMMU A, 00:00.2 segment 0: 11h, then 40h, then 10h. */
	at = ivhd_begin(0x11, 0, BDF(0, 0, 2), 0, 0xfd200000, 0x1111);
	dev4(0x02, BDF(0, 1, 0), 0);
	block_end(at);
	mark();
	at = ivhd_begin(0x40, 0x30, BDF(0, 0, 2), 0, 0xfd200000, 0x4040);
	dev4(0x00, 0, 0);	     /* padding */
	dev4(0x02, BDF(0, 3, 0), 0); /* three Selects ... */
	dev4(0x02, BDF(0, 3, 1), 0); /* ... that are ... */
	dev4(0x02, BDF(0, 3, 2), 0); /* ... one range */
	dev_alias(0x42, BDF(0, 0x14, 4), 0, BDF(0, 0x14, 3));
	dev_alias(0x43, BDF(3, 0, 0), 0x11, BDF(2, 0, 0));
	dev4(0x04, BDF(3, 0x1f, 7), 0);
	dev8(0x46, BDF(0, 5, 0), 0, 0x80000000); /* Extended select */
	dev8(0x47, BDF(4, 0, 0), 0, 1);		 /* Extended start */
	dev4(0x04, BDF(4, 0, 7), 0);
	dev_acpi_hid(BDF(0, 0x14, 5), "AMDI0020", "0");
	dev8(0x40, 0, 0, 0); /* padding */
	dev4(0x05, 0, 0);    /* unknown, 4 bytes */
	dev8(0x49, 0, 0, 0); /* unknown, 8 bytes */
	dev8(0x80, 0, 0, 0); /* unknown, 16 bytes */
	put64(0);
	dev_special(2, 0, BDF(0, 0x14, 0), 0);	  /* the HPET */
	dev_special(1, 0x21, BDF(0, 0, 1), 0xd7); /* an I/O APIC */
	dev4(0x01, 0, 0x55);			  /* All */
	block_end(at);
	mark();
	at = ivhd_begin(0x10, 0, BDF(0, 0, 2), 0, 0xfd200000, 0);
	dev4(0x01, 0, 0);
	block_end(at);
	mark();
	/* IOMMU B, 40:00.2 segment 0, only 10h. */
	at = ivhd_begin(0x10, 0, BDF(0x40, 0, 2), 0, 0xf4200000, 0);
	dev4(0x03, BDF(0x40, 0, 0), 0);
	dev4(0x04, BDF(0x7f, 0x1f, 7), 0);
	block_end(at);
	mark();
	/* IOMMU C: the same ID as A, but on segment 1. */
	at = ivhd_begin(0x40, 0, BDF(0, 0, 2), 1, 0xe0200000, 0x4141);
	dev4(0x02, BDF(0, 8, 0), 0);
	block_end(at);
	mark();
	/* Memory definitions. */
	ivmd(0x20, IVRS_IVMD_UNITY | IVRS_IVMD_READ | IVRS_IVMD_WRITE, 0, 0,
	     0xd0000000, 0x100000);
	mark();
	ivmd(0x21, IVRS_IVMD_UNITY | IVRS_IVMD_READ, BDF(0, 0x14, 0), 0,
	     0x9d000, 0x3000);
	mark();
	ivmd(0x22, IVRS_IVMD_EXCLUSION, BDF(0, 0x10, 0), BDF(0, 0x12, 7),
	     0xfee00000, 0x1000);
	mark();
	/* A block type this code does not know. */
	put8(0x30);
	put8(0);
	put16(8);
	put32(0);
	mark();
}

static void test_server(void **state)
{
	const struct ivrs_unit *a = &info.units[0], *b = &info.units[1],
			       *c = &info.units[2];

	(void)state;
	build_server();
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.unit_count, 3);
	assert_int_equal(info.superseded_ivhds, 2);
	assert_int_equal(info.other_blocks, 1);

	assert_int_equal(a->type, IVRS_IVHD_40);
	assert_int_equal(a->flags, 0x30);
	assert_int_equal(a->bdf, 0x0002);
	assert_int_equal(a->efr, 0x4040);
	assert_true(a->all);
	assert_int_equal(a->all_dte_settings, 0x55);
	assert_int_equal(a->range_count, 6);
	assert_range(&a->ranges[0], BDF(0, 3, 0), BDF(0, 3, 2), false,
		     BDF(0, 3, 0), 0, 0);
	assert_range(&a->ranges[1], BDF(0, 0x14, 4), BDF(0, 0x14, 4), true,
		     BDF(0, 0x14, 3), 0, 0);
	assert_range(&a->ranges[2], BDF(3, 0, 0), BDF(3, 0x1f, 7), true,
		     BDF(2, 0, 0), 0x11, 0);
	assert_range(&a->ranges[3], BDF(0, 5, 0), BDF(0, 5, 0), false,
		     BDF(0, 5, 0), 0, 0x80000000);
	assert_range(&a->ranges[4], BDF(4, 0, 0), BDF(4, 0, 7), false,
		     BDF(4, 0, 0), 0, 1);
	assert_range(&a->ranges[5], BDF(0, 0x14, 5), BDF(0, 0x14, 5), false,
		     BDF(0, 0x14, 5), 0, 0);
	assert_int_equal(a->acpi_hid_count, 1);
	assert_int_equal(a->other_entries, 3);
	assert_int_equal(a->special_count, 2);
	assert_int_equal(a->specials[0].variety, IVRS_SPECIAL_HPET);
	assert_int_equal(a->specials[0].bdf, 0x00a0);
	assert_int_equal(a->specials[1].variety, IVRS_SPECIAL_IOAPIC);
	assert_int_equal(a->specials[1].handle, 0x21);
	assert_int_equal(a->specials[1].bdf, 0x0001);

	assert_int_equal(b->type, IVRS_IVHD_10);
	assert_int_equal(b->bdf, 0x4002);
	assert_int_equal(b->base, 0xf4200000);
	assert_int_equal(b->range_count, 1);
	assert_range(&b->ranges[0], 0x4000, 0x7fff, false, 0x4000, 0, 0);

	assert_int_equal(c->type, IVRS_IVHD_40);
	assert_int_equal(c->segment, 1);
	assert_int_equal(c->base, 0xe0200000);
	assert_int_equal(c->range_count, 1);

	assert_int_equal(info.memory_count, 3);
	assert_int_equal(info.memory[0].type, IVRS_IVMD_ALL);
	assert_int_equal(info.memory[0].flags, 7);
	assert_int_equal(info.memory[0].device, 0);
	assert_int_equal(info.memory[0].last, 0xffff);
	assert_int_equal(info.memory[0].start, 0xd0000000);
	assert_int_equal(info.memory[0].length, 0x100000);
	assert_int_equal(info.memory[1].type, IVRS_IVMD_SELECT);
	assert_int_equal(info.memory[1].device, 0x00a0);
	assert_int_equal(info.memory[1].last, 0x00a0);
	assert_int_equal(info.memory[1].start, 0x9d000);
	assert_int_equal(info.memory[1].length, 0x3000);
	assert_int_equal(info.memory[2].type, IVRS_IVMD_RANGE);
	assert_int_equal(info.memory[2].flags, IVRS_IVMD_EXCLUSION);
	assert_int_equal(info.memory[2].device, 0x0080);
	assert_int_equal(info.memory[2].last, 0x0097);
}

static void test_range_merging(void **state)
{
	u32 at;

	(void)state;
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x03, BDF(0xff, 0, 0), 0);
	dev4(0x04, BDF(0xff, 0x1f, 6), 0);
	dev4(0x02, BDF(0xff, 0x1f, 7), 0);  /* joins the range */
	dev4(0x02, 0x0000, 0);		    /* does not wrap onto it */
	dev4(0x02, 0x0001, 1);		    /* other settings */
	dev_alias(0x42, 0x0002, 1, 0x0002); /* an alias */
	dev4(0x02, 0x0003, 1);
	block_end(at);
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.units[0].range_count, 5);
	assert_range(&info.units[0].ranges[0], 0xff00, 0xffff, false, 0xff00, 0,
		     0);
	assert_range(&info.units[0].ranges[1], 0, 0, false, 0, 0, 0);
	assert_range(&info.units[0].ranges[2], 1, 1, false, 1, 1, 0);
	assert_range(&info.units[0].ranges[3], 2, 2, true, 2, 1, 0);
	assert_range(&info.units[0].ranges[4], 3, 3, false, 3, 1, 0);
}

/* ---- malformed tables ---- */

static void test_bad_header(void **state)
{
	(void)state;
	build_qemu();
	ivrs_end();
	assert_int_equal(parse(tbl, 47), ACPI_ERR_INVALID);
	assert_string_equal(err,
			    "IVRS: 47 bytes, less than its 48-byte header");
	assert_int_equal(parse(tbl, tlen - 1), ACPI_ERR_INVALID);
	assert_string_equal(err, "IVRS: length field 152, but 151 bytes "
				 "available and the header needs 48");
	memcpy(tbl + 4, (u32[]){47}, 4);
	assert_int_equal(parse(tbl, tlen), ACPI_ERR_INVALID);
	assert_string_equal(err, "IVRS: length field 47, but 152 bytes "
				 "available and the header needs 48");
	memcpy(tbl, "IVRT", 4);
	assert_int_equal(parse(tbl, tlen), ACPI_ERR_INVALID);
	assert_string_equal(err, "IVRS: signature is 'IVRT'");
}

static void test_bad_ranges(void **state)
{
	u32 at;

	(void)state;
	/* A start followed by something else. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x03, BDF(0, 2, 0), 0);
	dev4(0x02, BDF(0, 3, 0), 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: range start 00:02.0 at entry "
		     "offset 72 has no end");
	/* A start at the end of its block, the end in the next one. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x02, BDF(0, 1, 0), 0);
	dev_alias(0x43, BDF(1, 0, 0), 0, BDF(0, 0x1e, 0));
	block_end(at);
	at = ivhd_begin(0x10, 0, BDF(0, 0, 2), 0, 0xfed90000, 0);
	dev4(0x04, BDF(1, 0x1f, 7), 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: range start 01:00.0 at entry "
		     "offset 76 has no end");
	/* An end without a start. */
	ivrs_begin(0);
	at = ivhd_begin(0x11, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x04, BDF(0, 0x1f, 7), 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: range end 00:1f.7 at entry "
		     "offset 88 has no start");
	/* Two ends. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev8(0x47, BDF(0, 4, 0), 0, 0);
	dev4(0x04, BDF(0, 4, 7), 0);
	dev4(0x04, BDF(0, 5, 7), 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: range end 00:05.7 at entry "
		     "offset 84 has no start");
	/* first > last. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x03, BDF(0, 0x1f, 0), 0);
	dev4(0x04, BDF(0, 2, 0), 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: range at entry offset 72 runs "
		     "from 00:1f.0 down to 00:02.0");
}

static void test_bad_entries(void **state)
{
	u32 at;

	(void)state;
	/* An 8-byte entry with 4 bytes left in its block (not the table). */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev4(0x42, BDF(0, 2, 0), 0);
	block_end(at);
	ivmd(0x20, 0, 0, 0, 0, 0x1000);
	expect_error("IVRS: IVHD at offset 48: entry at offset 72 (type 0x42) "
		     "needs 8 bytes, but 4 remain in the block");
	/* A 16-byte one with 8. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev8(0xa0, 0, 0, 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: entry at offset 72 (type 0xa0) "
		     "needs 16 bytes, but 8 remain in the block");
	/* An ACPI HID entry whose UID runs past the block. */
	ivrs_begin(0);
	at = ivhd_begin(0x40, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev_acpi_hid(BDF(0, 0x14, 5), "AMDI0020", "12345");
	block_end(at);
	tlen -= 3;
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: entry at offset 88 (type 0xf0) "
		     "needs 27 bytes, but 24 remain in the block");
	/* ... or with no room for its UID length. */
	ivrs_begin(0);
	at = ivhd_begin(0x40, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev8(0xf0, 0, 0, 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: entry at offset 88 (type 0xf0) "
		     "needs 22 bytes, but 8 remain in the block");
	/* A variable-length type that cannot be stepped over. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	dev8(0xc5, 0, 0, 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: entry at offset 72 has "
		     "variable-length type 0xc5, whose length is unknown");
	/* An IOMMU without registers. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0, 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48 has IOMMU base 0x0, not a "
		     "nonzero 16 KiB aligned address");
	/* The same IOMMU twice in blocks of one type. */
	ivrs_begin(0);
	block_end(ivhd_begin(0x11, 0, BDF(0, 2, 0), 0, 0xfed80000, 0));
	block_end(ivhd_begin(0x11, 0, BDF(0, 2, 0), 0, 0xfed80000, 0));
	expect_error("IVRS: IVHD at offset 88 (type 0x11) describes IOMMU "
		     "00:02.0 of segment 0 again (first at offset 48)");
}

static void test_bad_blocks(void **state)
{
	u32 at;

	(void)state;
	/* A block running past the table. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	block_end(at);
	tbl[at + 2] = 100;
	expect_error("IVRS: block at offset 48 (type 0x10) has length 100, "
		     "but 24 bytes remain");
	/* Shorter than a block header. */
	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	block_end(at);
	tbl[at + 2] = 2;
	expect_error("IVRS: block at offset 48 (type 0x10) has length 2, less "
		     "than its 4-byte header");
	/* Shorter than its own header. */
	ivrs_begin(0);
	at = ivhd_begin(0x11, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	block_end(at);
	tbl[at + 2] = 24;
	tlen = at + 24;
	expect_error("IVRS: IVHD at offset 48 (type 0x11) has length 24, "
		     "shorter than its 40-byte header");
	ivrs_begin(0);
	ivmd(0x21, 0, 0, 0, 0, 0x1000);
	tbl[48 + 2] = 24;
	tlen = 48 + 24;
	expect_error("IVRS: IVMD at offset 48 (type 0x21) has length 24, "
		     "shorter than its 32-byte header");
	/* Bytes after the last block that are no block. */
	ivrs_begin(0);
	ivmd(0x20, 0, 0, 0, 0, 0x1000);
	put16(0x0020);
	expect_error("IVRS: block at offset 80 is cut short: 2 bytes left, "
		     "its header needs 4");
	/* IVMDs: a reversed device range, memory past 2^64. */
	ivrs_begin(0);
	ivmd(0x22, 0, BDF(0, 0x12, 0), BDF(0, 0x10, 0), 0, 0x1000);
	expect_error("IVRS: IVMD at offset 48: devices run from 00:12.0 down "
		     "to 00:10.0");
	ivrs_begin(0);
	ivmd(0x21, 0, 0, 0, 0xfffffffffffff000ull, 0x1000);
	assert_int_equal(parse_tbl(), ACPI_OK); /* up to the last byte */
	ivrs_begin(0);
	ivmd(0x21, 0, 0, 0, 0xfffffffffffff000ull, 0x1001);
	expect_error("IVRS: IVMD at offset 48: 0x1001 bytes at "
		     "0xfffffffffffff000 run past the top of the address "
		     "space");
}

/* Every prefix of a valid table, as test_dmar.c does it. */
static void test_truncated_everywhere(void **state)
{
	u32 full, cut;

	(void)state;
	build_server();
	full = ivrs_end();
	for (cut = 0; cut < full; cut++) {
		bool boundary = false;

		assert_int_equal(parse(tbl, cut), ACPI_ERR_INVALID);
		assert_true(err[0] != '\0');
		if (cut < 48)
			continue;
		for (u32 i = 0; i < boundary_count; i++)
			boundary |= boundaries[i] == cut;
		memcpy(tbl + 4, &cut, 4);
		if (boundary) {
			assert_int_equal(parse(tbl, cut), ACPI_OK);
		} else {
			assert_int_equal(parse(tbl, cut), ACPI_ERR_INVALID);
			assert_true(err[0] != '\0');
		}
		memcpy(tbl + 4, &full, 4);
	}
	assert_int_equal(parse(tbl, full), ACPI_OK);
	/* Cut after the 11h block: A from it alone. */
	cut = boundaries[1];
	memcpy(tbl + 4, &cut, 4);
	assert_int_equal(parse(tbl, cut), ACPI_OK);
	assert_int_equal(info.unit_count, 1);
	assert_int_equal(info.units[0].type, IVRS_IVHD_11);
	assert_int_equal(info.units[0].range_count, 1);

	/* Every prefix of one IVHD's entries, the block length cut too. */
	build_qemu();
	full = boundaries[1];
	for (cut = 72; cut < full; cut++) {
		u16 blen = (u16)(cut - 48);

		memcpy(tbl + 4, &cut, 4);
		memcpy(tbl + 50, &blen, 2);
		/* Entries start at 72, end at 76 (Select), 84 (range), 92. */
		assert_int_equal(parse(tbl, cut),
				 cut == 72 || cut == 76 || cut == 84
				     ? ACPI_OK
				     : ACPI_ERR_INVALID);
	}
}

/* ---- limits ---- */

static void test_limits(void **state)
{
	u32 at;

	(void)state;
	ivrs_begin(0);
	for (u32 i = 0; i < IVRS_MAX_UNITS; i++)
		block_end(ivhd_begin(0x10, 0, (u16)(i << 8 | 2), 0,
				     0xfd000000 + i * 0x100000, 0));
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.unit_count, IVRS_MAX_UNITS);
	/* A 40h block for one of them takes no room ... */
	block_end(ivhd_begin(0x40, 0, 0x0702, 0, 0xfd700000, 0));
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.units[7].type, IVRS_IVHD_40);
	/* ... a ninth IOMMU is one too many. */
	block_end(ivhd_begin(0x10, 0, 0x0802, 0, 0xfd800000, 0));
	expect_error("IVRS: IVHD at offset 280: more than 8 IOMMUs "
		     "(IVRS_MAX_UNITS)");

	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	for (u32 i = 0; i < IVRS_MAX_RANGES; i++)
		dev4(0x02, (u16)(i * 8), 0);
	block_end(at);
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.units[0].range_count, IVRS_MAX_RANGES);
	assert_int_equal(info.units[0].ranges[63].first, 63 * 8);
	dev4(0x02, 64 * 8, 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: entry at offset 328 makes more "
		     "than 64 device ranges (IVRS_MAX_RANGES)");

	ivrs_begin(0);
	at = ivhd_begin(0x10, 0, BDF(0, 2, 0), 0, 0xfed80000, 0);
	for (u8 i = 0; i <= IVRS_MAX_SPECIALS; i++)
		dev_special(1, i, BDF(0, 0x14, 0), 0);
	block_end(at);
	expect_error("IVRS: IVHD at offset 48: special device at entry offset "
		     "200 makes more than 16 (IVRS_MAX_SPECIALS)");

	ivrs_begin(0);
	for (u32 i = 0; i <= IVRS_MAX_MEMORY; i++)
		ivmd(0x21, 1, (u16)i, 0, 0x1000 * i, 0x1000);
	expect_error("IVRS: IVMD at offset 560: more than 16 memory "
		     "definitions (IVRS_MAX_MEMORY)");
}

/* ---- acpi_read_ivrs() over fake physical memory ---- */

#define LOW_SIZE  0x100000
#define HIGH_BASE 0x7fe0000ull
#define HIGH_SIZE 0x10000

static u8 low_mem[LOW_SIZE];
static u8 high_mem[HIGH_SIZE];

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
	memset(&info, 0xa5, sizeof(info));
	acpi_set_mapper(fake_map);
	host_printk_reset();
	return 0;
}

static void put_table(u64 pa, const char *sig, const void *body, u32 len)
{
	struct acpi_table_header *h = (void *)phys(pa);

	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->length = (u32)sizeof(*h) + len;
	h->revision = 1;
	memcpy((u8 *)h + sizeof(*h), body, len);
	h->checksum = (u8)-sum((u8 *)h, h->length);
}

/* An ACPI 1.0 RSDP in the EBDA, an RSDT listing the given tables. */
static void put_root(const u32 *tables, u32 n)
{
	u16 ebda_segment = 0x9fc0;
	struct acpi_rsdp *r = (void *)phys(0x9fc00);

	memcpy(phys(0x40e), &ebda_segment, 2);
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, "VENEER", 6);
	r->rsdt_address = 0x7fe0000;
	r->checksum = (u8)-sum((u8 *)r, 20);
	put_table(0x7fe0000, "RSDT", tables, n * 4);
}

static void test_read_ivrs(void **state)
{
	u32 tables[] = {0x7fe1000 /* FACP */, 0x7fe2000};

	(void)state;
	put_root(tables, 2);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	build_qemu();
	ivrs_end();
	memcpy(phys(0x7fe2000), tbl, tlen);
	assert_int_equal(acpi_read_ivrs(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.unit_count, 1);
	assert_int_equal(info.units[0].type, IVRS_IVHD_11);
	assert_int_equal(info.units[0].base, 0xfed80000);
	assert_int_equal(info.units[0].special_count, 1);

	/* A checksummed but malformed table. */
	build_qemu();
	tbl[72] = 0x03; /* the Select becomes a range start */
	ivrs_end();
	memcpy(phys(0x7fe2000), tbl, tlen);
	assert_int_equal(acpi_read_ivrs(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "IVRS: IVHD at offset 48: range start 00:00.0 "
				 "at entry offset 72 has no end");
	assert_int_equal(info.unit_count, 0);
}

static void test_read_ivrs_absent(void **state)
{
	u32 tables[] = {0x7fe1000};

	(void)state;
	put_root(tables, 1);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	assert_int_equal(acpi_read_ivrs(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_TABLE);
	assert_string_equal(err, "no IVRS table in the RSDT (1 entries)");
	assert_int_equal(info.unit_count, 0);
	assert_int_equal(info.memory_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_qemu_amd_iommu, reset),
	    cmocka_unit_test_setup(test_only_ivhd_10, reset),
	    cmocka_unit_test_setup(test_server, reset),
	    cmocka_unit_test_setup(test_range_merging, reset),
	    cmocka_unit_test_setup(test_bad_header, reset),
	    cmocka_unit_test_setup(test_bad_ranges, reset),
	    cmocka_unit_test_setup(test_bad_entries, reset),
	    cmocka_unit_test_setup(test_bad_blocks, reset),
	    cmocka_unit_test_setup(test_truncated_everywhere, reset),
	    cmocka_unit_test_setup(test_limits, reset),
	    cmocka_unit_test_setup(test_read_ivrs, reset),
	    cmocka_unit_test_setup(test_read_ivrs_absent, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
