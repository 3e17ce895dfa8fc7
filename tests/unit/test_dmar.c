/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/dmar.c: DMAR tables built byte by byte (the shape
 * QEMU's intel-iommu gives, a client machine's, malformed ones), the scope
 * resolver, and acpi_read_dmar() over a fake physical memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "drivers/acpi.h"
#include "drivers/dmar.h"
#include "core/lib/string.h"
#include "tests/unit/host_printk.h"

static char err[256];
static struct dmar_info info;

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

/* 8.1: the ACPI header, Host Address Width, flags, 10 reserved bytes. */
static void dmar_begin(u8 haw, u8 flags)
{
	memset(tbl, 0, sizeof(tbl));
	tlen = 0;
	memcpy(tbl, "DMAR", 4);
	tbl[8] = 1; /* revision */
	memcpy(tbl + 10, "VENEER", 6);
	tlen = 36;
	put8(haw);
	put8(flags);
	tlen += 10;
}

/* Sets the length and the checksum; returns the table's length. */
static u32 dmar_end(void)
{
	memcpy(tbl + 4, &tlen, 4);
	tbl[9] = 0;
	tbl[9] = (u8)-sum(tbl, tlen);
	return tlen;
}

/* A remapping structure: type and a length filled by struct_end(). */
static u32 struct_begin(u16 type)
{
	u32 at = tlen;

	put16(type);
	put16(0);
	return at;
}

static void struct_end(u32 at)
{
	u16 len = (u16)(tlen - at);

	memcpy(tbl + at + 2, &len, 2);
}

static u32 drhd_begin(u8 flags, u8 size, u16 segment, u64 base)
{
	u32 at = struct_begin(0);

	put8(flags);
	put8(size);
	put16(segment);
	put64(base);
	return at;
}

static u32 rmrr_begin(u16 segment, u64 base, u64 limit)
{
	u32 at = struct_begin(1);

	put16(0);
	put16(segment);
	put64(base);
	put64(limit);
	return at;
}

/* 8.3.1: a device scope with n (device, function) pairs in path. */
static void scope(u8 type, u8 enum_id, u8 bus, u32 n, const u8 *path)
{
	put8(type);
	put8((u8)(6 + 2 * n));
	put8(0);
	put8(0);
	put8(enum_id);
	put8(bus);
	for (u32 i = 0; i < 2 * n; i++)
		put8(path[i]);
}

#define PATH(...)                                                              \
	(sizeof((u8[]){__VA_ARGS__}) / 2), (const u8[])                        \
	{                                                                      \
		__VA_ARGS__                                                    \
	}

/* Parses a copy of exactly len bytes, so ASan sees any read past them. */
static int parse(const u8 *table, u32 len)
{
	u8 *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, table, len);
	memset(err, 0, sizeof(err));
	rc = dmar_parse(copy, len, &info, err, sizeof(err));
	free(copy);
	return rc;
}

static int parse_tbl(void)
{
	return parse(tbl, dmar_end());
}

static void assert_scope(const struct dmar_scope *s, u8 type, u8 enum_id,
			 u8 bus, u8 path_len, u8 dev0, u8 fn0)
{
	assert_int_equal(s->type, type);
	assert_int_equal(s->enum_id, enum_id);
	assert_int_equal(s->start_bus, bus);
	assert_int_equal(s->path_len, path_len);
	assert_int_equal(s->path[0][0], dev0);
	assert_int_equal(s->path[0][1], fn0);
}

/* ---- QEMU's intel-iommu: one DRHD, INCLUDE_PCI_ALL, IOAPIC scope ---- */

static void build_qemu(void)
{
	u32 at;

	dmar_begin(39 - 1, DMAR_FLAG_INTR_REMAP | DMAR_FLAG_X2APIC_OPT_OUT);
	at = drhd_begin(1, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_IOAPIC, 0, 0xff, PATH(0x00, 0x0));
	struct_end(at);
}

static void test_qemu_intel_iommu(void **state)
{
	(void)state;
	build_qemu();
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.host_addr_width, 39);
	assert_int_equal(info.flags, 3);
	assert_int_equal(info.unit_count, 1);
	assert_int_equal(info.units[0].reg_base, 0xfed90000);
	assert_int_equal(info.units[0].reg_size, 4096);
	assert_int_equal(info.units[0].segment, 0);
	assert_true(info.units[0].include_all);
	assert_int_equal(info.units[0].scope_count, 1);
	assert_scope(&info.units[0].scopes[0], DMAR_SCOPE_IOAPIC, 0, 0xff, 1, 0,
		     0);
	assert_int_equal(info.rmrr_count, 0);
	assert_int_equal(info.other_structs, 0);
}

/* ---- a client machine: GPU unit, catch-all unit, RMRRs, the rest ---- */

static u32 boundaries[32];
static u32 boundary_count;

static void mark(void)
{
	boundaries[boundary_count++] = tlen;
}

static void build_client(void)
{
	u32 at;

	boundary_count = 0;
	dmar_begin(38,
		   DMAR_FLAG_INTR_REMAP | DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN);
	mark();
	/* The integrated GPU's own unit: 00:02.0, 8 KiB of registers. */
	at = drhd_begin(0, 1, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(0x02, 0));
	struct_end(at);
	mark();
	/* Everything else, with the I/O APIC, the HPET and an ACPI device. */
	at = drhd_begin(1, 0, 0, 0xfed91000);
	scope(DMAR_SCOPE_IOAPIC, 2, 0xf0, PATH(0x1f, 0));
	scope(DMAR_SCOPE_HPET, 0, 0x00, PATH(0x1f, 0));
	scope(DMAR_SCOPE_ACPI_NAMESPACE, 1, 0x00, PATH(0x15, 1));
	struct_end(at);
	mark();
	/* USB legacy emulation and the GPU's stolen memory. */
	at = rmrr_begin(0, 0x3e2e0000, 0x3e2fffff);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(0x14, 0));
	scope(DMAR_SCOPE_PCI_SUBHIER, 0, 0, PATH(0x1c, 0, 0x00, 0));
	struct_end(at);
	mark();
	at = rmrr_begin(0, 0x3f800000, 0x4f7fffff);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(0x02, 0));
	struct_end(at);
	mark();
	/* ATSR: flags, reserved, segment, a root port. */
	at = struct_begin(2);
	put8(0);
	put8(0);
	put16(0);
	scope(DMAR_SCOPE_PCI_SUBHIER, 0, 0, PATH(0x1c, 0));
	struct_end(at);
	mark();
	/* RHSA: reserved, register base, proximity domain. */
	at = struct_begin(3);
	put32(0);
	put64(0xfed91000);
	put32(0);
	struct_end(at);
	mark();
	/* ANDD: 3 reserved, device number 1, "\_SB.PCI0.SDHC". */
	at = struct_begin(4);
	put8(0);
	put8(0);
	put8(0);
	put8(1);
	for (const char *n = "\\_SB.PCI0.SDHC"; *n; n++)
		put8((u8)*n);
	put8(0);
	struct_end(at);
	mark();
	/* SATC: flags, reserved, segment, one endpoint. */
	at = struct_begin(5);
	put8(1);
	put8(0);
	put16(0);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(0x02, 0));
	struct_end(at);
	mark();
	/* A type from a later revision: skipped by its length. */
	at = struct_begin(0x77);
	put32(0xdeadbeef);
	struct_end(at);
	mark();
}

static void test_client_machine(void **state)
{
	(void)state;
	build_client();
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.host_addr_width, 39);
	assert_int_equal(info.flags, 5);
	assert_int_equal(info.unit_count, 2);
	assert_int_equal(info.units[0].reg_base, 0xfed90000);
	assert_int_equal(info.units[0].reg_size, 8192);
	assert_false(info.units[0].include_all);
	assert_int_equal(info.units[0].scope_count, 1);
	assert_scope(&info.units[0].scopes[0], DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 1,
		     2, 0);
	assert_int_equal(info.units[1].reg_base, 0xfed91000);
	assert_int_equal(info.units[1].reg_size, 4096);
	assert_true(info.units[1].include_all);
	assert_int_equal(info.units[1].scope_count, 3);
	assert_scope(&info.units[1].scopes[0], DMAR_SCOPE_IOAPIC, 2, 0xf0, 1,
		     0x1f, 0);
	assert_scope(&info.units[1].scopes[1], DMAR_SCOPE_HPET, 0, 0, 1, 0x1f,
		     0);
	assert_scope(&info.units[1].scopes[2], DMAR_SCOPE_ACPI_NAMESPACE, 1, 0,
		     1, 0x15, 1);
	assert_int_equal(info.rmrr_count, 2);
	assert_int_equal(info.rmrrs[0].segment, 0);
	assert_int_equal(info.rmrrs[0].base, 0x3e2e0000);
	assert_int_equal(info.rmrrs[0].limit, 0x3e2fffff);
	assert_int_equal(info.rmrrs[0].scope_count, 2);
	assert_scope(&info.rmrrs[0].scopes[0], DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 1,
		     0x14, 0);
	assert_scope(&info.rmrrs[0].scopes[1], DMAR_SCOPE_PCI_SUBHIER, 0, 0, 2,
		     0x1c, 0);
	assert_int_equal(info.rmrrs[0].scopes[1].path[1][0], 0);
	assert_int_equal(info.rmrrs[1].base, 0x3f800000);
	assert_int_equal(info.rmrrs[1].limit, 0x4f7fffff);
	assert_int_equal(info.rmrrs[1].scope_count, 1);
	assert_int_equal(info.other_structs, 5);
}

static void test_segments_and_register_sizes(void **state)
{
	u32 at;

	(void)state;
	dmar_begin(45, 0);
	at = drhd_begin(0xf0 | 0, 0xf3, 1, 0x1fffe0000000ull);
	struct_end(at); /* no scopes: legal, if useless */
	at = drhd_begin(1, 15, 1, 0xfffff000ull);
	struct_end(at);
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.host_addr_width, 46);
	assert_int_equal(info.unit_count, 2);
	/* Size bits 7:4 and flags bits 7:1 are reserved and ignored. */
	assert_int_equal(info.units[0].reg_size, 8 * 4096);
	assert_false(info.units[0].include_all);
	assert_int_equal(info.units[0].segment, 1);
	assert_int_equal(info.units[0].reg_base, 0x1fffe0000000ull);
	assert_int_equal(info.units[0].scope_count, 0);
	assert_int_equal(info.units[1].reg_size, 4096u << 15);
	assert_true(info.units[1].include_all);
}

/* ---- malformed tables ---- */

static void expect_error(const char *message)
{
	assert_int_equal(parse_tbl(), ACPI_ERR_INVALID);
	assert_string_equal(err, message);
}

static void test_bad_header(void **state)
{
	(void)state;
	build_qemu();
	dmar_end();
	assert_int_equal(parse(tbl, 47), ACPI_ERR_INVALID);
	assert_string_equal(err,
			    "DMAR: 47 bytes, less than its 48-byte header");
	assert_int_equal(parse(tbl, tlen - 1), ACPI_ERR_INVALID);
	assert_string_equal(err, "DMAR: length field 72, but 71 bytes "
				 "available and the header needs 48");
	memcpy(tbl + 4, (u32[]){40}, 4);
	assert_int_equal(parse(tbl, tlen), ACPI_ERR_INVALID);
	assert_string_equal(err, "DMAR: length field 40, but 72 bytes "
				 "available and the header needs 48");
	memcpy(tbl, "DMAX", 4);
	assert_int_equal(parse(tbl, tlen), ACPI_ERR_INVALID);
	assert_string_equal(err, "DMAR: signature is 'DMAX'");
}

static void test_bad_structures(void **state)
{
	u32 at;

	(void)state;
	/* Length 0 would loop for ever. */
	dmar_begin(38, 0);
	put16(0);
	put16(0);
	put32(0);
	expect_error("DMAR: DRHD at offset 48 (type 0) has length 0, but 8 "
		     "bytes remain");
	/* A structure running past the table. */
	dmar_begin(38, 0);
	put16(1);
	put16(40);
	put32(0);
	expect_error("DMAR: RMRR at offset 48 (type 1) has length 40, but 8 "
		     "bytes remain");
	/* Fewer than 4 bytes left after the last structure. */
	build_qemu();
	put16(0);
	expect_error("DMAR: structure at offset 72 is cut short: 2 bytes "
		     "left, its header needs 4");
	/* A DRHD too short for its register base. */
	dmar_begin(38, 0);
	at = struct_begin(0);
	put32(0);
	put32(0);
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48 has length 12, less than the 16 "
		     "it needs");
	/* An RMRR too short for its limit. */
	dmar_begin(38, 0);
	at = struct_begin(1);
	put32(0);
	put64(0x1000);
	struct_end(at);
	expect_error("DMAR: RMRR at offset 48 has length 16, less than the 24 "
		     "it needs");
	/* Register bases: zero, unaligned. */
	dmar_begin(38, 0);
	struct_end(drhd_begin(1, 0, 0, 0));
	expect_error("DMAR: DRHD at offset 48 has register base 0x0, not a "
		     "nonzero 4 KiB aligned address");
	dmar_begin(38, 0);
	struct_end(drhd_begin(1, 0, 0, 0xfed90800));
	expect_error("DMAR: DRHD at offset 48 has register base 0xfed90800, "
		     "not a nonzero 4 KiB aligned address");
	/* An RMRR ending below its base. */
	dmar_begin(38, 0);
	struct_end(rmrr_begin(0, 0x2000, 0x2000));
	assert_int_equal(parse_tbl(), ACPI_OK); /* one byte is fine */
	dmar_begin(38, 0);
	struct_end(rmrr_begin(0, 0x2000, 0x1fff));
	expect_error("DMAR: RMRR at offset 48 ends at 0x1fff, below its base "
		     "0x2000");
	/* The skipped structures are still measured. */
	dmar_begin(38, 0);
	at = struct_begin(2);
	put16(0);
	struct_end(at);
	expect_error("DMAR: ATSR at offset 48 (type 2) has length 6, less "
		     "than the 8 it needs");
	dmar_begin(38, 0);
	at = struct_begin(3);
	put32(0);
	put64(0xfed90000);
	struct_end(at);
	expect_error("DMAR: RHSA at offset 48 (type 3) has length 16, less "
		     "than the 20 it needs");
	dmar_begin(38, 0);
	at = struct_begin(4);
	put32(0);
	struct_end(at);
	expect_error("DMAR: ANDD at offset 48 (type 4) has length 8, less "
		     "than the 9 it needs");
	/* ... and the scopes of a SATC. */
	dmar_begin(38, 0);
	at = struct_begin(5);
	put32(0);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(0x02, 0));
	tbl[at + 9] = 7;
	struct_end(at);
	expect_error("DMAR: SATC at offset 48: device scope at offset 56 has "
		     "length 7 (8 bytes left; 6 plus 2 per path entry, at "
		     "least one)");
}

static void test_bad_scopes(void **state)
{
	u32 at;

	(void)state;
	/* No path entry. */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0, NULL);
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has "
		     "length 6 (6 bytes left; 6 plus 2 per path entry, at "
		     "least one)");
	/* A scope running past its structure (not past the table). */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(2, 0));
	tbl[at + 17] = 10;
	struct_end(at);
	struct_end(drhd_begin(1, 0, 0, 0xfed91000));
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has "
		     "length 10 (8 bytes left; 6 plus 2 per path entry, at "
		     "least one)");
	/* An odd length: half a path entry. */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(2, 0));
	put8(0);
	tbl[at + 17] = 9;
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has "
		     "length 9 (9 bytes left; 6 plus 2 per path entry, at "
		     "least one)");
	/* Fewer bytes than a scope header at the end of a structure. */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	put32(0x0801);
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 is "
		     "cut short: 4 bytes left, a scope needs at least 8");
	/* A PCI device under an INCLUDE_PCI_ALL unit. */
	dmar_begin(38, 0);
	at = drhd_begin(1, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(2, 0));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has "
		     "type 1, not allowed here");
	/* Reserved scope types. */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(0, 0, 0, PATH(2, 0));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has "
		     "type 0, not allowed here");
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(200, 0, 0, PATH(2, 0));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has "
		     "type 200, not allowed here");
	/* An I/O APIC needing a reserved memory region. */
	dmar_begin(38, 0);
	at = rmrr_begin(0, 0x1000, 0x1fff);
	scope(DMAR_SCOPE_IOAPIC, 0, 0, PATH(0x1f, 0));
	struct_end(at);
	expect_error("DMAR: RMRR at offset 48: device scope at offset 72 has "
		     "type 3, not allowed here");
	/* Device 32, function 8. */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_SUBHIER, 0, 0, PATH(0x1c, 0, 32, 0));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64: path "
		     "entry 1 is device 32 function 0 (at most 31 and 7)");
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(0x1c, 8));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64: path "
		     "entry 0 is device 28 function 8 (at most 31 and 7)");
}

/*
 * Every prefix of a valid table: with the length field left as it was
 * (always an error), and with it set to the prefix's length (an error
 * unless the cut falls between two structures). Each parse reads a heap
 * copy of exactly the prefix, so a read past it fails the test (ASan).
 */
static void test_truncated_everywhere(void **state)
{
	u32 full, cut;

	(void)state;
	build_client();
	full = dmar_end();
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
	/* The cuts between structures give the structures before them. */
	cut = boundaries[3];
	memcpy(tbl + 4, &cut, 4);
	assert_int_equal(parse(tbl, cut), ACPI_OK);
	assert_int_equal(info.unit_count, 2);
	assert_int_equal(info.rmrr_count, 1);
	assert_int_equal(info.other_structs, 0);
}

/* ---- limits ---- */

static void test_limits(void **state)
{
	u32 at;

	(void)state;
	dmar_begin(38, 0);
	for (u32 i = 0; i < DMAR_MAX_UNITS; i++)
		struct_end(drhd_begin(0, 0, 0, 0xfed90000 + i * 0x1000));
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.unit_count, DMAR_MAX_UNITS);
	assert_int_equal(info.units[15].reg_base, 0xfed9f000);
	struct_end(drhd_begin(1, 0, 0, 0xfeda0000));
	expect_error("DMAR: DRHD at offset 304: more than 16 remapping units "
		     "(DMAR_MAX_UNITS)");

	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	for (u8 i = 0; i < DMAR_MAX_SCOPES; i++)
		scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(i, 0));
	struct_end(at);
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.units[0].scope_count, DMAR_MAX_SCOPES);
	assert_int_equal(info.units[0].scopes[15].path[0][0], 15);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(16, 0));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: more than 16 device scopes "
		     "(DMAR_MAX_SCOPES)");

	dmar_begin(38, 0);
	for (u32 i = 0; i <= DMAR_MAX_RMRRS; i++)
		struct_end(rmrr_begin(0, i * 0x1000, i * 0x1000 + 0xfff));
	expect_error("DMAR: RMRR at offset 240: more than 8 reserved memory "
		     "regions (DMAR_MAX_RMRRS)");

	dmar_begin(38, 0);
	at = rmrr_begin(0, 0, 0xfff);
	for (u8 i = 0; i <= DMAR_MAX_RMRR_SCOPES; i++)
		scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0, PATH(i, 0));
	struct_end(at);
	expect_error("DMAR: RMRR at offset 48: more than 8 device scopes "
		     "(DMAR_MAX_RMRR_SCOPES)");

	/* A path of 8 entries fits, 9 does not. */
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0,
	      PATH(1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 7));
	struct_end(at);
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(info.units[0].scopes[0].path_len, 8);
	assert_int_equal(info.units[0].scopes[0].path[7][0], 8);
	assert_int_equal(info.units[0].scopes[0].path[7][1], 7);
	dmar_begin(38, 0);
	at = drhd_begin(0, 0, 0, 0xfed90000);
	scope(DMAR_SCOPE_PCI_ENDPOINT, 0, 0,
	      PATH(1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0, 9, 0));
	struct_end(at);
	expect_error("DMAR: DRHD at offset 48: device scope at offset 64 has a "
		     "path of 9 entries, more than 8 (DMAR_MAX_PATH)");
}

/* ---- the resolver ---- */

static u32 secondary_calls;

/* 00:1c.0 -> bus 2, 02:00.0 -> bus 5; 00:1f.0 is no bridge; 00:1d.0 lies. */
static int fake_secondary(void *ctx, u16 bdf)
{
	assert_ptr_equal(ctx, &secondary_calls);
	secondary_calls++;
	switch (bdf) {
	case 0x00e0:
		return 2;
	case 0x0200:
		return 5;
	case 0x00e8:
		return 256;
	default:
		return -1;
	}
}

static void test_scope_bdf(void **state)
{
	struct dmar_scope s = {.type = DMAR_SCOPE_PCI_ENDPOINT,
			       .start_bus = 0,
			       .path_len = 3,
			       .path = {{0x1c, 0}, {0x00, 0}, {0x03, 1}}};
	u16 bdf = 0xeeee;

	(void)state;
	/* Through two bridges: 05:03.1. */
	secondary_calls = 0;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_OK);
	assert_int_equal(bdf, 0x0519);
	assert_int_equal(secondary_calls, 2);

	/* One entry: on start_bus, no bridge asked about. */
	s.start_bus = 0xf0;
	s.path_len = 1;
	s.path[0][0] = 0x1f;
	s.path[0][1] = 7;
	secondary_calls = 0;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_OK);
	assert_int_equal(bdf, 0xf0ff);
	assert_int_equal(secondary_calls, 0);

	/* 00:1f.0 is not a bridge. */
	s.start_bus = 0;
	s.path_len = 2;
	s.path[0][1] = 0;
	bdf = 0xeeee;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_ERR_INVALID);
	assert_int_equal(bdf, 0xeeee);
	/* A bridge further down is not one either: 02:00.0 -> 05:03.1 ->. */
	s.path_len = 4;
	s.path[0][0] = 0x1c;
	s.path[2][0] = 3;
	s.path[2][1] = 1;
	s.path[3][0] = 0;
	s.path[3][1] = 0;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_ERR_INVALID);
	/* A secondary bus above 255. */
	s.path_len = 2;
	s.path[0][0] = 0x1d;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_ERR_INVALID);
	/* Empty or impossible paths. */
	s.path_len = 0;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_ERR_INVALID);
	s.path_len = 1;
	s.path[0][0] = 32;
	assert_int_equal(
	    dmar_scope_bdf(&s, fake_secondary, &secondary_calls, &bdf),
	    ACPI_ERR_INVALID);
	assert_int_equal(bdf, 0xeeee);
}

/* A scope the parser produced resolves as its path says. */
static void test_parsed_scope_resolves(void **state)
{
	u16 bdf;

	(void)state;
	build_client();
	assert_int_equal(parse_tbl(), ACPI_OK);
	assert_int_equal(dmar_scope_bdf(&info.rmrrs[0].scopes[1],
					fake_secondary, &secondary_calls, &bdf),
			 ACPI_OK);
	assert_int_equal(bdf, 0x0200);
	assert_int_equal(dmar_scope_bdf(&info.units[1].scopes[0],
					fake_secondary, &secondary_calls, &bdf),
			 ACPI_OK);
	assert_int_equal(bdf, 0xf0f8);
}

/* ---- acpi_read_dmar() over fake physical memory ---- */

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

/* RSDP revision 2 in the BIOS area, an XSDT listing the given tables. */
static void put_root(const u64 *tables, u32 n)
{
	struct acpi_rsdp *r = (void *)phys(0xf5a10);

	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, "VENEER", 6);
	r->revision = 2;
	r->length = 36;
	r->xsdt_address = 0x7fe0000;
	r->checksum = (u8)-sum((u8 *)r, 20);
	r->extended_checksum = (u8)-sum((u8 *)r, 36);
	put_table(0x7fe0000, "XSDT", tables, n * 8);
}

static void test_read_dmar(void **state)
{
	u64 tables[] = {0x7fe1000 /* FACP */, 0x7fe2000};

	(void)state;
	put_root(tables, 2);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	build_client();
	dmar_end();
	memcpy(phys(0x7fe2000), tbl, tlen);
	assert_int_equal(acpi_read_dmar(NULL, &info, err, sizeof(err)),
			 ACPI_OK);
	assert_int_equal(info.unit_count, 2);
	assert_int_equal(info.rmrr_count, 2);
	assert_int_equal(info.units[1].reg_base, 0xfed91000);

	/* A bad checksum: acpi_find_table() refuses it. */
	phys(0x7fe2000)[60] ^= 1;
	assert_int_equal(acpi_read_dmar(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_non_null(strstr(err, "DMAR table at 0x7fe2000 has a bad "
				    "checksum"));
	assert_int_equal(info.unit_count, 0);

	/* A checksummed table that is malformed: dmar_parse() refuses it. */
	build_qemu();
	tbl[65] = 9; /* the length of the scope at 64 */
	dmar_end();
	memcpy(phys(0x7fe2000), tbl, tlen);
	assert_int_equal(acpi_read_dmar(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_INVALID);
	assert_string_equal(err, "DMAR: DRHD at offset 48: device scope at "
				 "offset 64 has length 9 (8 bytes left; 6 "
				 "plus 2 per path entry, at least one)");
}

static void test_read_dmar_absent(void **state)
{
	u64 tables[] = {0x7fe1000};

	(void)state;
	put_root(tables, 1);
	put_table(0x7fe1000, "FACP", "xxxx", 4);
	assert_int_equal(acpi_read_dmar(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_TABLE);
	assert_string_equal(err, "no DMAR table in the XSDT (1 entries)");
	assert_int_equal(info.unit_count, 0);
	assert_int_equal(info.rmrr_count, 0);

	/* No ACPI at all. */
	memset(phys(0xf5a10), 0, 36);
	assert_int_equal(acpi_read_dmar(NULL, &info, err, sizeof(err)),
			 ACPI_ERR_NO_ACPI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_qemu_intel_iommu, reset),
	    cmocka_unit_test_setup(test_client_machine, reset),
	    cmocka_unit_test_setup(test_segments_and_register_sizes, reset),
	    cmocka_unit_test_setup(test_bad_header, reset),
	    cmocka_unit_test_setup(test_bad_structures, reset),
	    cmocka_unit_test_setup(test_bad_scopes, reset),
	    cmocka_unit_test_setup(test_truncated_everywhere, reset),
	    cmocka_unit_test_setup(test_limits, reset),
	    cmocka_unit_test_setup(test_scope_bdf, reset),
	    cmocka_unit_test_setup(test_parsed_scope_resolves, reset),
	    cmocka_unit_test_setup(test_read_dmar, reset),
	    cmocka_unit_test_setup(test_read_dmar_absent, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
