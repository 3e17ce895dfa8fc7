/* SPDX-License-Identifier: MIT */
/*
 * The ACPI IVRS table (contract in drivers/ivrs.h), written from the AMD
 * IOMMU specification (48882, rev 3.x), section 5.2.
 *
 * Fields are read by byte offset with memcpy(): blocks and entries are
 * packed and not naturally aligned. Every read is at an offset already
 * checked against both len and the length of the block or entry around it.
 */
#include "drivers/ivrs.h"
#include "drivers/acpi.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

/* Table fields (little-endian, any alignment). */
#define rd16(p, off) get_unaligned16((p) + (off))
#define rd32(p, off) get_unaligned32((p) + (off))
#define rd64(p, off) get_unaligned64((p) + (off))
/* A message in err, and ACPI_ERR_INVALID back. */
#define fail(err, errlen, ...)                                                 \
	format_error(ACPI_ERR_INVALID, err, errlen, __VA_ARGS__)

/* 5.2.1: IVinfo after the common ACPI header, 8 reserved bytes, blocks. */
#define IVRS_IVINFO	 36
#define IVRS_HEADER_SIZE 48

/* Every block: Type, Flags, Length (2). */
#define BLOCK_TYPE	  0
#define BLOCK_FLAGS	  1
#define BLOCK_LENGTH	  2
#define BLOCK_HEADER_SIZE 4

/* 5.2.2.1: the IVHD header. */
#define IVHD_DEVID	4
#define IVHD_CAP	6
#define IVHD_BASE	8
#define IVHD_SEGMENT	16
#define IVHD_INFO	18
#define IVHD_FEATURES	20 /* 10h: feature reporting; 11h, 40h: attributes */
#define IVHD_EFR	24 /* 11h, 40h: EFR register image */
#define IVHD_10_SIZE	24
#define IVHD_11_40_SIZE 40

/* 5.2.3: the IVMD block (bytes 8-15 reserved). */
#define IVMD_DEVID  4
#define IVMD_AUX    6 /* 22h: the last device of the range */
#define IVMD_START  16
#define IVMD_LENGTH 24
#define IVMD_SIZE   32

/*
 * 5.2.2.2: device entries. Their type gives their length: 00h-3Fh are 4
 * bytes, 40h-7Fh 8 bytes, 80h-BFh 16 bytes; C0h-FFh are variable-length,
 * and of those only F0h (ACPI HID device) says how long it is, in a field
 * of its own, so any other one cannot be stepped over.
 */
#define DEV_PAD4	   0x00
#define DEV_ALL		   0x01
#define DEV_SELECT	   0x02
#define DEV_RANGE_START	   0x03
#define DEV_RANGE_END	   0x04
#define DEV_PAD8	   0x40
#define DEV_ALIAS_SELECT   0x42
#define DEV_ALIAS_START	   0x43
#define DEV_EXT_SELECT	   0x46
#define DEV_EXT_START	   0x47
#define DEV_SPECIAL	   0x48
#define DEV_ACPI_HID	   0xf0
#define DEV_VARIABLE_FIRST 0xc0

/* Entry fields: device ID at 1, DTE setting at 3 for every type used. */
#define ENT_DEVID     1
#define ENT_DTE	      3
#define ENT_ALIAS     5	 /* 42h, 43h: the source device ID */
#define ENT_EXT	      4	 /* 46h, 47h: extended DTE setting */
#define ENT_HANDLE    4	 /* 48h */
#define ENT_SPEC_ID   5	 /* 48h: the special device's own ID */
#define ENT_VARIETY   7	 /* 48h */
#define ENT_UID_LEN   21 /* F0h: after HID (8), CID (8), UID format */
#define ENT_HID_FIXED 22 /* F0h: bytes before the UID */

/* "bb:dd.f", as lspci prints a requester ID. */
struct bdf_text {
	char s[8];
};

static struct bdf_text bdf_text(u16 bdf)
{
	struct bdf_text b;

	snformat(b.s, sizeof(b.s), "%02x:%02x.%x", bdf >> 8, (bdf >> 3) & 0x1f,
		 bdf & 7);
	return b;
}

/* The IVHD being parsed, for messages. */
struct ivhd_ctx {
	const u8 *t;
	u32 block_off;
	char *err;
	size_t errlen;
};

static int add_range(const struct ivhd_ctx *c, struct ivrs_unit *u,
		     const struct ivrs_range *r, u32 entry_off)
{
	struct ivrs_range *prev =
	    u->range_count ? &u->ranges[u->range_count - 1] : NULL;

	if (r->first > r->last)
		return fail(c->err, c->errlen,
			    "IVRS: IVHD at offset %u: range at entry offset %u "
			    "runs from %s down to %s",
			    c->block_off, entry_off, bdf_text(r->first).s,
			    bdf_text(r->last).s);
	/* Consecutive plain entries (a Select per function) become one. */
	if (prev && !prev->aliased && !r->aliased && prev->last != 0xffff &&
	    r->first == prev->last + 1 &&
	    prev->dte_settings == r->dte_settings &&
	    prev->ext_settings == r->ext_settings) {
		prev->last = r->last;
		return ACPI_OK;
	}
	if (u->range_count == IVRS_MAX_RANGES)
		return fail(c->err, c->errlen,
			    "IVRS: IVHD at offset %u: entry at offset %u makes "
			    "more than %u device ranges (IVRS_MAX_RANGES)",
			    c->block_off, entry_off, IVRS_MAX_RANGES);
	u->ranges[u->range_count++] = *r;
	return ACPI_OK;
}

/* The length of the entry of this type at off, 0 if it cannot be told. */
static u32 entry_length(const u8 *t, u32 off, u32 end)
{
	u8 type = t[off];

	if (type < 0x40)
		return 4;
	if (type < 0x80)
		return 8;
	if (type < DEV_VARIABLE_FIRST)
		return 16;
	if (type != DEV_ACPI_HID)
		return 0;
	if (end - off <= ENT_UID_LEN)
		return ENT_HID_FIXED; /* too long for what is left anyway */
	return ENT_HID_FIXED + t[off + ENT_UID_LEN];
}

/* 5.2.2.2: the device entries of an IVHD, [off, end) of the table. */
static int parse_entries(const struct ivhd_ctx *c, u32 off, u32 end,
			 struct ivrs_unit *u)
{
	const u8 *t = c->t;
	struct ivrs_range start = {0};
	u32 start_off = 0;
	bool have_start = false;
	int rc = ACPI_OK;

	while (off < end) {
		u8 type = t[off];
		u32 elen = entry_length(t, off, end);
		struct ivrs_range r = {0};
		u16 devid;

		if (elen == 0)
			return fail(c->err, c->errlen,
				    "IVRS: IVHD at offset %u: entry at offset "
				    "%u has variable-length type 0x%02x, whose "
				    "length is unknown",
				    c->block_off, off, type);
		if (elen > end - off)
			return fail(c->err, c->errlen,
				    "IVRS: IVHD at offset %u: entry at offset "
				    "%u (type 0x%02x) needs %u bytes, but %u "
				    "remain in the block",
				    c->block_off, off, type, elen, end - off);
		devid = rd16(t, off + ENT_DEVID);
		if (have_start && type != DEV_RANGE_END)
			return fail(c->err, c->errlen,
				    "IVRS: IVHD at offset %u: range start %s "
				    "at entry offset %u has no end",
				    c->block_off, bdf_text(start.first).s,
				    start_off);
		r.first = r.last = r.alias = devid;
		r.dte_settings = t[off + ENT_DTE];
		switch (type) {
		case DEV_PAD4:
		case DEV_PAD8:
			break;
		case DEV_ALL:
			u->all = true;
			u->all_dte_settings = t[off + ENT_DTE];
			break;
		case DEV_SELECT:
			rc = add_range(c, u, &r, off);
			break;
		case DEV_ALIAS_SELECT:
			r.alias = rd16(t, off + ENT_ALIAS);
			r.aliased = true;
			rc = add_range(c, u, &r, off);
			break;
		case DEV_EXT_SELECT:
			r.ext_settings = rd32(t, off + ENT_EXT);
			rc = add_range(c, u, &r, off);
			break;
		case DEV_RANGE_START:
		case DEV_ALIAS_START:
		case DEV_EXT_START:
			if (type == DEV_ALIAS_START) {
				r.alias = rd16(t, off + ENT_ALIAS);
				r.aliased = true;
			}
			if (type == DEV_EXT_START)
				r.ext_settings = rd32(t, off + ENT_EXT);
			start = r;
			start_off = off;
			have_start = true;
			break;
		case DEV_RANGE_END:
			if (!have_start)
				return fail(c->err, c->errlen,
					    "IVRS: IVHD at offset %u: range "
					    "end %s at entry offset %u has no "
					    "start",
					    c->block_off, bdf_text(devid).s,
					    off);
			have_start = false;
			start.last = devid;
			rc = add_range(c, u, &start, start_off);
			break;
		case DEV_SPECIAL:
			if (u->special_count == IVRS_MAX_SPECIALS)
				return fail(c->err, c->errlen,
					    "IVRS: IVHD at offset %u: special "
					    "device at entry offset %u makes "
					    "more than %u (IVRS_MAX_SPECIALS)",
					    c->block_off, off,
					    IVRS_MAX_SPECIALS);
			u->specials[u->special_count++] = (struct ivrs_special){
			    .variety = t[off + ENT_VARIETY],
			    .handle = t[off + ENT_HANDLE],
			    .bdf = rd16(t, off + ENT_SPEC_ID),
			    .dte_settings = t[off + ENT_DTE],
			};
			break;
		case DEV_ACPI_HID:
			/* The device's requests carry devid: it is covered
			 * like a Select entry. */
			u->acpi_hid_count++;
			rc = add_range(c, u, &r, off);
			break;
		default:
			u->other_entries++;
			break;
		}
		if (rc != ACPI_OK)
			return rc;
		off += elen;
	}
	if (have_start)
		return fail(c->err, c->errlen,
			    "IVRS: IVHD at offset %u: range start %s at entry "
			    "offset %u has no end",
			    c->block_off, bdf_text(start.first).s, start_off);
	return ACPI_OK;
}

/*
 * 5.2.2: an IVHD block of blen bytes at off. Firmware may describe one
 * IOMMU several times, with a type 10h block for older software and 11h
 * and/or 40h blocks with more in them; software is to use the one with
 * the highest type it knows and ignore the others. Here every block is
 * checked, and per IOMMU (device ID and segment) the highest of 40h >
 * 11h > 10h is kept.
 */
static int parse_ivhd(const u8 *t, u32 off, u32 blen, struct ivrs_info *out,
		      char *err, size_t errlen)
{
	struct ivhd_ctx c = {t, off, err, errlen};
	struct ivrs_unit u;
	u8 type = t[off + BLOCK_TYPE];
	u32 hdr = type == IVRS_IVHD_10 ? IVHD_10_SIZE : IVHD_11_40_SIZE;
	int rc;

	if (blen < hdr)
		return fail(err, errlen,
			    "IVRS: IVHD at offset %u (type 0x%02x) has length "
			    "%u, shorter than its %u-byte header",
			    off, type, blen, hdr);
	memset(&u, 0, sizeof(u));
	u.type = type;
	u.flags = t[off + BLOCK_FLAGS];
	u.bdf = rd16(t, off + IVHD_DEVID);
	u.cap_offset = rd16(t, off + IVHD_CAP);
	u.base = rd64(t, off + IVHD_BASE);
	u.segment = rd16(t, off + IVHD_SEGMENT);
	u.info = rd16(t, off + IVHD_INFO);
	u.features = rd32(t, off + IVHD_FEATURES);
	if (type != IVRS_IVHD_10)
		u.efr = rd64(t, off + IVHD_EFR);
	u.block_offset = off;
	if (u.base == 0 || !IS_ALIGNED(u.base, 16 * KiB(1)))
		return fail(err, errlen,
			    "IVRS: IVHD at offset %u has IOMMU base 0x%llx, "
			    "not a nonzero 16 KiB aligned address",
			    off, (unsigned long long)u.base);
	rc = parse_entries(&c, off + hdr, off + blen, &u);
	if (rc != ACPI_OK)
		return rc;

	for (u32 i = 0; i < out->unit_count; i++) {
		struct ivrs_unit *old = &out->units[i];

		if (old->bdf != u.bdf || old->segment != u.segment)
			continue;
		if (old->type == u.type)
			return fail(err, errlen,
				    "IVRS: IVHD at offset %u (type 0x%02x) "
				    "describes IOMMU %s of segment %u again "
				    "(first at offset %u)",
				    off, type, bdf_text(u.bdf).s, u.segment,
				    old->block_offset);
		out->superseded_ivhds++;
		if (u.type > old->type)
			*old = u;
		return ACPI_OK;
	}
	if (out->unit_count == IVRS_MAX_UNITS)
		return fail(err, errlen,
			    "IVRS: IVHD at offset %u: more than %u IOMMUs "
			    "(IVRS_MAX_UNITS)",
			    off, IVRS_MAX_UNITS);
	out->units[out->unit_count++] = u;
	return ACPI_OK;
}

/* 5.2.3: an IVMD block of blen bytes at off. */
static int parse_ivmd(const u8 *t, u32 off, u32 blen, struct ivrs_info *out,
		      char *err, size_t errlen)
{
	struct ivrs_memory m;

	if (blen < IVMD_SIZE)
		return fail(err, errlen,
			    "IVRS: IVMD at offset %u (type 0x%02x) has length "
			    "%u, shorter than its %u-byte header",
			    off, t[off], blen, IVMD_SIZE);
	m.type = t[off + BLOCK_TYPE];
	m.flags = t[off + BLOCK_FLAGS];
	m.device = rd16(t, off + IVMD_DEVID);
	m.start = rd64(t, off + IVMD_START);
	m.length = rd64(t, off + IVMD_LENGTH);
	switch (m.type) {
	case IVRS_IVMD_ALL:
		m.device = 0;
		m.last = 0xffff;
		break;
	case IVRS_IVMD_SELECT:
		m.last = m.device;
		break;
	default:
		m.last = rd16(t, off + IVMD_AUX);
		break;
	}
	if (m.device > m.last)
		return fail(err, errlen,
			    "IVRS: IVMD at offset %u: devices run from %s down "
			    "to %s",
			    off, bdf_text(m.device).s, bdf_text(m.last).s);
	if (m.length && m.start + (m.length - 1) < m.start)
		return fail(err, errlen,
			    "IVRS: IVMD at offset %u: 0x%llx bytes at 0x%llx "
			    "run past the top of the address space",
			    off, (unsigned long long)m.length,
			    (unsigned long long)m.start);
	if (out->memory_count == IVRS_MAX_MEMORY)
		return fail(err, errlen,
			    "IVRS: IVMD at offset %u: more than %u memory "
			    "definitions (IVRS_MAX_MEMORY)",
			    off, IVRS_MAX_MEMORY);
	out->memory[out->memory_count++] = m;
	return ACPI_OK;
}

int ivrs_parse(const void *table, u32 len, struct ivrs_info *out, char *err,
	       size_t errlen)
{
	const u8 *t = table;
	u32 end, off;

	memset(out, 0, sizeof(*out));
	if (len < IVRS_HEADER_SIZE)
		return fail(err, errlen,
			    "IVRS: %u bytes, less than its %u-byte header", len,
			    IVRS_HEADER_SIZE);
	if (memcmp(t, "IVRS", 4) != 0)
		return fail(err, errlen, "IVRS: signature is '%.4s'",
			    (const char *)t);
	end = rd32(t, 4);
	if (end < IVRS_HEADER_SIZE || end > len)
		return fail(err, errlen,
			    "IVRS: length field %u, but %u bytes available "
			    "and the header needs %u",
			    end, len, IVRS_HEADER_SIZE);
	out->ivinfo = rd32(t, IVRS_IVINFO);

	for (off = IVRS_HEADER_SIZE; off < end;) {
		u32 left = end - off;
		u32 blen;
		int rc;

		if (left < BLOCK_HEADER_SIZE)
			return fail(err, errlen,
				    "IVRS: block at offset %u is cut short: %u "
				    "bytes left, its header needs %u",
				    off, left, BLOCK_HEADER_SIZE);
		blen = rd16(t, off + BLOCK_LENGTH);
		if (blen < BLOCK_HEADER_SIZE)
			return fail(err, errlen,
				    "IVRS: block at offset %u (type 0x%02x) "
				    "has length %u, less than its %u-byte "
				    "header",
				    off, t[off], blen, BLOCK_HEADER_SIZE);
		if (blen > left)
			return fail(err, errlen,
				    "IVRS: block at offset %u (type 0x%02x) "
				    "has length %u, but %u bytes remain",
				    off, t[off], blen, left);
		switch (t[off + BLOCK_TYPE]) {
		case IVRS_IVHD_10:
		case IVRS_IVHD_11:
		case IVRS_IVHD_40:
			rc = parse_ivhd(t, off, blen, out, err, errlen);
			break;
		case IVRS_IVMD_ALL:
		case IVRS_IVMD_SELECT:
		case IVRS_IVMD_RANGE:
			rc = parse_ivmd(t, off, blen, out, err, errlen);
			break;
		default:
			out->other_blocks++;
			rc = ACPI_OK;
			break;
		}
		if (rc != ACPI_OK)
			return rc;
		off += blen;
	}
	return ACPI_OK;
}

int acpi_read_ivrs(const struct boot_info *bi, struct ivrs_info *out, char *err,
		   size_t errlen)
{
	const void *table;
	u32 len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = acpi_map_table(bi, "IVRS", &table, &len, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	return ivrs_parse(table, len, out, err, errlen);
}
