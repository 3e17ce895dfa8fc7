/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/acpi_tables.c. The tables are parsed back here
 * with the byte offsets of the ACPI 6.5 specification (written out again,
 * not shared with the generator), as a guest would find them: from the
 * RSDP through the XSDT (and RSDT) to the FADT, FACS, DSDT and MADT. The
 * DSDT's AML is parsed back with a reader of its own (20.2 grammar, 6.4
 * resource descriptors), which checks every PkgLength against what it
 * holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

static struct acpi_tables_result build_with_gsi_base(u32 cpus, u32 gsi_base)
{
	struct acpi_tables_config cfg = {
	    .base_gpa = BASE,
	    .cpu_count = cpus,
	    .ioapic_address = 0xfec00000,
	    .ioapic_id = (u8)cpus,
	    .ioapic_gsi_base = gsi_base,
	};
	struct acpi_tables_result r;
	char err[160] = "";

	memset(area, 0xcc, sizeof(area));
	assert_true(
	    acpi_tables_build(&cfg, area, sizeof(area), &r, err, sizeof(err)));
	assert_string_equal(err, "");
	return r;
}

static struct acpi_tables_result build(u32 cpus)
{
	return build_with_gsi_base(cpus, 0);
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
	/* Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero }), first. */
	static const u8 aml[] = {0x08, '_',  'S',  '5',	 '_',  0x12, 0x08,
				 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
	struct acpi_tables_result r = build(1);
	u32 len = check_table(r.dsdt_gpa, "DSDT");

	(void)state;
	assert_true(len > 36 + sizeof(aml));
	assert_int_equal(rd8(r.dsdt_gpa, 8), 2);
	assert_memory_equal(at(r.dsdt_gpa) + 36, aml, sizeof(aml));
	assert_int_equal(aml[9], ACPI_TABLES_S5_SLP_TYP);
}

/*
 * The acpisleep guest's check: no \_S1-\_S4 anywhere in the DSDT, not
 * even as bytes inside the PCI objects (it searches the bytes).
 */
static void test_dsdt_offers_no_other_sleep_state(void **state)
{
	struct acpi_tables_result r = build(1);
	u32 len = check_table(r.dsdt_gpa, "DSDT");
	static const char *const others[] = {"_S1_", "_S2_", "_S3_", "_S4_"};

	(void)state;
	for (u32 off = 36; off + 4 <= len; off++)
		for (u32 i = 0; i < 4; i++)
			assert_memory_not_equal(at(r.dsdt_gpa) + off, others[i],
						4);
}

/* ---- the DSDT's AML read back (ACPI 6.5 20.2) ---- */

#define OBJECTS_MAX  8
#define PATH_MAX_LEN 32

/* A named object, DefName, found in the DSDT. */
struct aml_object {
	char path[PATH_MAX_LEN]; /* "\\_SB_.PCI0._HID" */
	u8 op;			 /* 0x12 package, 0x11 buffer, 0 integer */
	u64 value;		 /* an integer's */
	u32 start, end;		 /* a package's or buffer's body, in aml[] */
};

struct aml_reader {
	const u8 *aml; /* the whole table */
	u32 len;
	struct aml_object object[OBJECTS_MAX];
	u32 objects, scopes, devices;
};

static u8 aml_at(const struct aml_reader *r, u32 pos, u32 end)
{
	assert_true(pos < end && end <= r->len);
	return r->aml[pos];
}

/*
 * A PkgLength (20.2.4) at *pos: advances past it and returns where the
 * package ends (the length counts the PkgLength itself). The encoding
 * must be the shortest and its reserved bits clear.
 */
static u32 aml_pkg_length(const struct aml_reader *r, u32 *pos, u32 end)
{
	u32 start = *pos, lead = aml_at(r, start, end), follow = lead >> 6;
	u32 length;

	if (follow == 0) {
		length = lead & 0x3f;
	} else {
		assert_int_equal(lead & 0x30, 0);
		length = lead & 0x0f;
		for (u32 i = 1; i <= follow; i++)
			length |= (u32)aml_at(r, start + i, end)
				  << (4 + 8 * (i - 1));
	}
	/* Shortest: one byte holds up to 63, two 12 bits, three 20. */
	if (follow == 1)
		assert_true(length > 0x3f);
	if (follow == 2)
		assert_true(length > 0xfff);
	if (follow == 3)
		assert_true(length > 0xfffff);
	assert_true(length >= 1 + follow);
	assert_true(start + length <= end);
	*pos = start + 1 + follow;
	return start + length;
}

/* ComputationalData (20.2.3): an integer, in its shortest encoding. */
static u64 aml_integer(const struct aml_reader *r, u32 *pos, u32 end)
{
	u8 op = aml_at(r, *pos, end);
	u32 size = 0;
	u64 v = 0;

	switch (op) {
	case 0x00: /* ZeroOp */
	case 0x01: /* OneOp */
		(*pos)++;
		return op;
	case 0x0a: /* BytePrefix */
		size = 1;
		break;
	case 0x0b: /* WordPrefix */
		size = 2;
		break;
	case 0x0c: /* DWordPrefix */
		size = 4;
		break;
	default:
		fail_msg("no integer at AML offset %u (0x%02x)", *pos, op);
		return 0;
	}
	for (u32 i = 0; i < size; i++)
		v |= (u64)aml_at(r, *pos + 1 + i, end) << (8 * i);
	*pos += 1 + size;
	if (size == 1)
		assert_true(v > 1);
	else
		assert_true(v >> (4 * size) != 0);
	return v;
}

/* A NameString (20.2.2) of one NameSeg, maybe after '\', as a path
 * inside `scope`. */
static void aml_name(const struct aml_reader *r, u32 *pos, u32 end,
		     const char *scope, char *path)
{
	bool root = aml_at(r, *pos, end) == 0x5c;
	char seg[5] = "";

	if (root)
		(*pos)++;
	for (u32 i = 0; i < 4; i++) {
		u8 c = aml_at(r, *pos + i, end);

		assert_true(c == '_' || (c >= 'A' && c <= 'Z') ||
			    (i > 0 && c >= '0' && c <= '9'));
		seg[i] = (char)c;
	}
	*pos += 4;
	if (root || strcmp(scope, "\\") == 0)
		snprintf(path, PATH_MAX_LEN, "\\%s", seg);
	else
		snprintf(path, PATH_MAX_LEN, "%s.%s", scope, seg);
}

static void aml_term_list(struct aml_reader *r, u32 pos, u32 end,
			  const char *scope);

/* DefName (20.2.5.1) at pos (after NameOp); returns where it ends. */
static u32 aml_def_name(struct aml_reader *r, u32 pos, u32 end,
			const char *scope)
{
	struct aml_object *o = &r->object[r->objects++];
	u8 op;

	assert_true(r->objects <= OBJECTS_MAX);
	memset(o, 0, sizeof(*o));
	aml_name(r, &pos, end, scope, o->path);
	op = aml_at(r, pos, end);
	if (op != 0x11 && op != 0x12) { /* BufferOp, PackageOp */
		o->value = aml_integer(r, &pos, end);
		return pos;
	}
	pos++;
	o->op = op;
	o->end = aml_pkg_length(r, &pos, end);
	o->start = pos;
	return o->end;
}

/* DefScope (20.2.5.1) or DefDevice (20.2.5.2) from its PkgLength on. */
static u32 aml_def_container(struct aml_reader *r, u32 pos, u32 end,
			     const char *scope)
{
	char path[PATH_MAX_LEN];
	u32 stop = aml_pkg_length(r, &pos, end);

	aml_name(r, &pos, stop, scope, path);
	aml_term_list(r, pos, stop, path);
	return stop;
}

/* A TermList: each term must end exactly where the next begins, the last
 * exactly at `end`. */
static void aml_term_list(struct aml_reader *r, u32 pos, u32 end,
			  const char *scope)
{
	while (pos < end) {
		u8 op = aml_at(r, pos, end);

		if (op == 0x08) { /* NameOp */
			pos = aml_def_name(r, pos + 1, end, scope);
		} else if (op == 0x10) { /* ScopeOp */
			r->scopes++;
			pos = aml_def_container(r, pos + 1, end, scope);
		} else if (op == 0x5b && aml_at(r, pos + 1, end) == 0x82) {
			r->devices++; /* DeviceOp */
			pos = aml_def_container(r, pos + 2, end, scope);
		} else {
			fail_msg("unexpected AML opcode 0x%02x at %u", op, pos);
		}
	}
	assert_int_equal(pos, end);
}

static void read_dsdt(struct aml_reader *r, u64 dsdt_gpa)
{
	memset(r, 0, sizeof(*r));
	r->aml = at(dsdt_gpa);
	r->len = check_table(dsdt_gpa, "DSDT");
	aml_term_list(r, 36, r->len, "\\");
}

static const struct aml_object *aml_find(const struct aml_reader *r,
					 const char *path)
{
	for (u32 i = 0; i < r->objects; i++)
		if (strcmp(r->object[i].path, path) == 0)
			return &r->object[i];
	fail_msg("the DSDT has no %s", path);
	return NULL;
}

static void test_dsdt_names_the_pci_host_bridge(void **state)
{
	struct acpi_tables_result r = build(2);
	struct aml_reader rd;

	(void)state;
	read_dsdt(&rd, r.dsdt_gpa); /* every PkgLength, to the table's end */
	assert_int_equal(rd.scopes, 1);
	assert_int_equal(rd.devices, 1);
	assert_int_equal(rd.objects, 6);
	assert_int_equal(aml_find(&rd, "\\_S5_")->op, 0x12);
	/* EisaId ("PNP0A03"): bytes 41 D0 0A 03, the PCI host bridge. */
	assert_int_equal(aml_find(&rd, "\\_SB_.PCI0._HID")->value, 0x030ad041);
	assert_int_equal(aml_find(&rd, "\\_SB_.PCI0._UID")->op, 0);
	assert_int_equal(aml_find(&rd, "\\_SB_.PCI0._UID")->value, 0);
	assert_int_equal(aml_find(&rd, "\\_SB_.PCI0._BBN")->value, 0);
	assert_int_equal(aml_find(&rd, "\\_SB_.PCI0._CRS")->op, 0x11);
	assert_int_equal(aml_find(&rd, "\\_SB_.PCI0._PRT")->op, 0x12);
	/* The \_S5 reader still finds its package's end (one-byte PkgLength
	 * 8) and the _PRT needs the two-byte form. */
	assert_int_equal(
	    aml_find(&rd, "\\_S5_")->end - aml_find(&rd, "\\_S5_")->start, 7);
	assert_true(aml_find(&rd, "\\_SB_.PCI0._PRT")->end -
			aml_find(&rd, "\\_SB_.PCI0._PRT")->start >
		    0x3f);
}

/* What a _CRS descriptor said: its kind (tag), type, range. */
struct crs_item {
	u8 tag, type, flags, type_flags;
	u32 min, max, length;
};

/*
 * Walks the resource descriptors (6.4) of a _CRS Buffer: small items
 * (6.4.2: IO 0x47, End Tag 0x79), large items (6.4.3: DWord address 0x87,
 * Word address 0x88). The End Tag must be last, at the buffer's end.
 */
static u32 walk_crs(const struct aml_reader *rd, const struct aml_object *o,
		    struct crs_item *items, u32 max_items)
{
	u32 pos = o->start, end = o->end, n = 0;
	const u8 *b = rd->aml;
	u64 buffer_size = aml_integer(rd, &pos, end);

	assert_int_equal(buffer_size, end - pos); /* all of the ByteList */
	for (;;) {
		u8 tag = aml_at(rd, pos, end);
		struct crs_item *it = &items[n++];
		u32 body, next, size;

		assert_true(n <= max_items);
		memset(it, 0, sizeof(*it));
		it->tag = tag;
		if (tag & 0x80) {
			body = pos + 3;
			next = body + (b[pos + 1] | b[pos + 2] << 8);
		} else {
			body = pos + 1;
			next = body + (tag & 7);
		}
		assert_true(next <= end);
		switch (tag) {
		case 0x79: /* End Tag: checksum 0, "treat as correct" */
			assert_int_equal(next - body, 1);
			assert_int_equal(b[body], 0);
			assert_int_equal(next, end);
			return n;
		case 0x47: /* IO port, 16-bit decode */
			assert_int_equal(b[body], 1);
			it->min = b[body + 1] | b[body + 2] << 8;
			it->max = b[body + 3] | b[body + 4] << 8;
			assert_int_equal(b[body + 5], 1); /* alignment */
			it->length = b[body + 6];
			break;
		case 0x87: /* DWord address space */
		case 0x88: /* Word address space */
			size = tag == 0x87 ? 4 : 2;
			assert_int_equal(next - body, 3 + 5 * size);
			it->type = b[body];
			it->flags = b[body + 1];
			it->type_flags = b[body + 2];
			for (u32 i = 0; i < size; i++) {
				u32 shift = 8 * i;

				/* Granularity and translation are 0. */
				assert_int_equal(b[body + 3 + i], 0);
				assert_int_equal(b[body + 3 + 3 * size + i], 0);
				it->min |= (u32)b[body + 3 + size + i] << shift;
				it->max |= (u32)b[body + 3 + 2 * size + i]
					   << shift;
				it->length |= (u32)b[body + 3 + 4 * size + i]
					      << shift;
			}
			assert_int_equal(it->length, it->max - it->min + 1);
			/* Producer (bit 0 clear), positive decode, MinFixed,
			 * MaxFixed. */
			assert_int_equal(it->flags, 0x0c);
			break;
		default:
			fail_msg("unexpected resource descriptor 0x%02x", tag);
		}
		pos = next;
	}
}

static void test_dsdt_crs_gives_bus_0_and_the_windows(void **state)
{
	struct acpi_tables_result r = build(2);
	struct aml_reader rd;
	struct crs_item it[8];
	u32 n;

	(void)state;
	read_dsdt(&rd, r.dsdt_gpa);
	n = walk_crs(&rd, aml_find(&rd, "\\_SB_.PCI0._CRS"), it, 8);
	assert_int_equal(n, 7);
	/* WordBusNumber: buses 0-0xFF. */
	assert_int_equal(it[0].tag, 0x88);
	assert_int_equal(it[0].type, 2);
	assert_int_equal(it[0].min, 0);
	assert_int_equal(it[0].max, 0xff);
	/* The configuration ports themselves, consumed. */
	assert_int_equal(it[1].tag, 0x47);
	assert_int_equal(it[1].min, 0xcf8);
	assert_int_equal(it[1].max, 0xcf8);
	assert_int_equal(it[1].length, 8);
	/* WordIO windows around them, ISA and non-ISA (_RNG 3). */
	for (u32 i = 2; i <= 3; i++) {
		assert_int_equal(it[i].tag, 0x88);
		assert_int_equal(it[i].type, 1);
		assert_int_equal(it[i].type_flags, 3);
	}
	assert_int_equal(it[2].min, 0);
	assert_int_equal(it[2].max, 0xcf7);
	assert_int_equal(it[3].min, 0xd00);
	assert_int_equal(it[3].max, 0xffff);
	/* DWordMemory: legacy VGA, then the BAR window; read-write,
	 * non-cacheable. */
	for (u32 i = 4; i <= 5; i++) {
		assert_int_equal(it[i].tag, 0x87);
		assert_int_equal(it[i].type, 0);
		assert_int_equal(it[i].type_flags, 1);
	}
	assert_int_equal(it[4].min, 0xa0000);
	assert_int_equal(it[4].max, 0xbffff);
	assert_int_equal(it[5].min, ACPI_TABLES_PCI_WINDOW_BASE);
	assert_int_equal(it[5].max, ACPI_TABLES_PCI_WINDOW_END);
	assert_int_equal(it[5].length, ACPI_TABLES_PCI_WINDOW_SIZE);
	assert_int_equal(it[6].tag, 0x79);
	/* The window: from 3 GiB to just below the IOAPIC. */
	assert_int_equal(ACPI_TABLES_PCI_WINDOW_BASE, 0xc0000000);
	assert_int_equal(ACPI_TABLES_PCI_WINDOW_END, 0xfebfffff);
}

/* The _PRT (6.2.13): 124 entries { slot << 16 | 0xFFFF, pin, 0, GSI }. */
static void check_prt(u32 gsi_base)
{
	struct acpi_tables_result r = build_with_gsi_base(1, gsi_base);
	struct aml_reader rd;
	const struct aml_object *prt;
	u32 pos, entries, count = 0;

	read_dsdt(&rd, r.dsdt_gpa);
	prt = aml_find(&rd, "\\_SB_.PCI0._PRT");
	pos = prt->start;
	entries = aml_at(&rd, pos++, prt->end); /* NumElements */
	assert_int_equal(entries, 124);
	assert_int_equal(ACPI_TABLES_PCI_PRT_ENTRIES, 124);
	for (u32 slot = 1; slot < 32; slot++) {
		for (u32 pin = 0; pin < 4; pin++) {
			u32 end;

			assert_int_equal(aml_at(&rd, pos++, prt->end), 0x12);
			end = aml_pkg_length(&rd, &pos, prt->end);
			assert_int_equal(aml_at(&rd, pos++, end), 4);
			assert_int_equal(aml_integer(&rd, &pos, end),
					 slot << 16 | 0xffff);
			assert_int_equal(aml_integer(&rd, &pos, end), pin);
			assert_int_equal(aml_integer(&rd, &pos, end), 0);
			assert_int_equal(aml_integer(&rd, &pos, end),
					 gsi_base +
					     acpi_tables_pci_gsi(slot, pin));
			assert_int_equal(pos, end);
			count++;
		}
	}
	assert_int_equal(count, entries);
	assert_int_equal(pos, prt->end);
}

static void test_dsdt_prt_routes_every_slot_and_pin(void **state)
{
	(void)state;
	check_prt(0);
	check_prt(24); /* GSIs follow the IOAPIC's base: 40-43 */
}

static void test_pci_gsi_rotates_by_slot(void **state)
{
	(void)state;
	/* GSI = 16 + (slot + pin) % 4, pin 0 = INTA. */
	assert_int_equal(acpi_tables_pci_gsi(1, 0), 17);
	assert_int_equal(acpi_tables_pci_gsi(1, 3), 16);
	assert_int_equal(acpi_tables_pci_gsi(2, 0), 18);
	assert_int_equal(acpi_tables_pci_gsi(3, 1), 16);
	assert_int_equal(acpi_tables_pci_gsi(4, 0), 16);
	assert_int_equal(acpi_tables_pci_gsi(31, 2), 17);
	/* A slot's four pins reach four different GSIs, all free ones of the
	 * 24-input IOAPIC (16-23). */
	for (u32 slot = 1; slot < 32; slot++) {
		u32 seen = 0;

		for (u32 pin = 0; pin < 4; pin++) {
			u32 gsi = acpi_tables_pci_gsi(slot, pin);

			assert_true(gsi >= 16 && gsi <= 23);
			seen |= 1u << (gsi - 16);
		}
		assert_int_equal(seen, 0xf);
	}
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
	cfg.base_gpa = BASE;
	cfg.ioapic_address = 0xd0000000;
	assert_false(
	    acpi_tables_build(&cfg, area, AREA_SIZE, &r, err, sizeof(err)));
	assert_string_equal(err, "ACPI tables: IOAPIC at 0xd0000000 is inside "
				 "the PCI window 0xc0000000-0xfebfffff");
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
	    cmocka_unit_test(test_dsdt_offers_no_other_sleep_state),
	    cmocka_unit_test(test_dsdt_names_the_pci_host_bridge),
	    cmocka_unit_test(test_dsdt_crs_gives_bus_0_and_the_windows),
	    cmocka_unit_test(test_dsdt_prt_routes_every_slot_and_pin),
	    cmocka_unit_test(test_pci_gsi_rotates_by_slot),
	    cmocka_unit_test(test_madt_entries),
	    cmocka_unit_test(test_largest_configuration_fits),
	    cmocka_unit_test(test_bad_configurations_are_refused),
	    cmocka_unit_test(test_facs_alignment_follows_the_base),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
