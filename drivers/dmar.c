/* SPDX-License-Identifier: MIT */
/*
 * The ACPI DMAR table (contract in drivers/dmar.h), written from the Intel
 * VT-d specification, chapter 8.
 *
 * Fields are read by byte offset with memcpy(): the table's structures are
 * packed and not naturally aligned. Every read is at an offset already
 * checked against both len and the length of the structure around it.
 */
#include "drivers/dmar.h"
#include "drivers/acpi.h"
#include "core/lib/format.h"
#include "core/lib/string.h"

/* Table fields (little-endian, any alignment). */
#define rd16(p, off) get_unaligned16((p) + (off))
#define rd64(p, off) get_unaligned64((p) + (off))
/* A message in err, and ACPI_ERR_INVALID back. */
#define fail(err, errlen, ...)                                                 \
	format_error(ACPI_ERR_INVALID, err, errlen, __VA_ARGS__)

/* 8.1: the DMAR header after the common ACPI header. */
#define DMAR_HAW	 36 /* Host Address Width: bits - 1 */
#define DMAR_FLAGS	 37
#define DMAR_HEADER_SIZE 48 /* 10 reserved bytes, then the structures */

/* 8.2: every remapping structure starts with Type (2 bytes), Length (2). */
#define STRUCT_HEADER_SIZE 4
#define TYPE_DRHD	   0
#define TYPE_RMRR	   1
#define TYPE_ATSR	   2
#define TYPE_RHSA	   3
#define TYPE_ANDD	   4
#define TYPE_SATC	   5

/* 8.3: DRHD. */
#define DRHD_FLAGS	     4
#define DRHD_SIZE	     5 /* bits 3:0: 2^N 4 KiB pages */
#define DRHD_SEGMENT	     6
#define DRHD_BASE	     8
#define DRHD_SCOPES	     16
#define DRHD_INCLUDE_PCI_ALL BIT(0)
#define DRHD_SIZE_MASK	     0xf

/* 8.4: RMRR (bytes 4-5 reserved). */
#define RMRR_SEGMENT 6
#define RMRR_BASE    8
#define RMRR_LIMIT   16
#define RMRR_SCOPES  24

/* 8.5 ATSR, 8.8 SATC: flags, reserved, segment, then device scopes. */
#define ATSR_SCOPES 8
#define SATC_SCOPES 8
/* 8.6 RHSA: reserved, register base (8), proximity domain (4). */
#define RHSA_SIZE 20
/* 8.7 ANDD: 3 reserved, device number, then a NUL-terminated name. */
#define ANDD_MIN_SIZE 9

/* 8.3.1: device scope: Type, Length, Flags, Reserved, Enumeration ID,
 * Start Bus Number, then the path of (device, function) byte pairs. */
#define SCOPE_TYPE	0
#define SCOPE_LENGTH	1
#define SCOPE_ENUM_ID	4
#define SCOPE_START_BUS 5
#define SCOPE_PATH	6

#define SCOPES_ANY                                                             \
	(BIT(DMAR_SCOPE_PCI_ENDPOINT) | BIT(DMAR_SCOPE_PCI_SUBHIER) |          \
	 BIT(DMAR_SCOPE_IOAPIC) | BIT(DMAR_SCOPE_HPET) |                       \
	 BIT(DMAR_SCOPE_ACPI_NAMESPACE))
#define SCOPES_NOT_PCI                                                         \
	(BIT(DMAR_SCOPE_IOAPIC) | BIT(DMAR_SCOPE_HPET) |                       \
	 BIT(DMAR_SCOPE_ACPI_NAMESPACE))
#define SCOPES_PCI (BIT(DMAR_SCOPE_PCI_ENDPOINT) | BIT(DMAR_SCOPE_PCI_SUBHIER))

static const char *struct_name(u16 type)
{
	switch (type) {
	case TYPE_DRHD:
		return "DRHD";
	case TYPE_RMRR:
		return "RMRR";
	case TYPE_ATSR:
		return "ATSR";
	case TYPE_RHSA:
		return "RHSA";
	case TYPE_ANDD:
		return "ANDD";
	case TYPE_SATC:
		return "SATC";
	default:
		return "structure";
	}
}

/* Where a scope list is, and what may be in it, for messages and checks. */
struct scope_list {
	const u8 *t;
	u32 off, end;		   /* the scopes: [off, end) of the table */
	const char *what;	   /* "DRHD", ... */
	u32 struct_off;		   /* of the structure holding them */
	u32 allowed;		   /* BIT(type) of the scope types allowed */
	const char *limit;	   /* the limit's name, for the message */
	struct dmar_scope *scopes; /* NULL: check only */
	u32 max;
};

/*
 * 8.3.1: walks the device scopes in [l->off, l->end), checks each one and
 * stores it when l->scopes is given. Returns ACPI_OK or an error.
 */
static int parse_scopes(const struct scope_list *l, u32 *count, char *err,
			size_t errlen)
{
	u32 off = l->off;

	*count = 0;
	while (off < l->end) {
		u32 left = l->end - off;
		u8 type, slen;
		u32 path_len;

		if (left < SCOPE_PATH)
			return fail(err, errlen,
				    "DMAR: %s at offset %u: device scope at "
				    "offset %u is cut short: %u bytes left, a "
				    "scope needs at least %u",
				    l->what, l->struct_off, off, left,
				    SCOPE_PATH + 2);
		type = l->t[off + SCOPE_TYPE];
		slen = l->t[off + SCOPE_LENGTH];
		if (slen < SCOPE_PATH + 2 || slen > left ||
		    (slen - SCOPE_PATH) % 2 != 0)
			return fail(err, errlen,
				    "DMAR: %s at offset %u: device scope at "
				    "offset %u has length %u (%u bytes left; "
				    "6 plus 2 per path entry, at least one)",
				    l->what, l->struct_off, off, slen, left);
		if (type >= 32 || !(l->allowed & BIT(type)))
			return fail(err, errlen,
				    "DMAR: %s at offset %u: device scope at "
				    "offset %u has type %u, not allowed here",
				    l->what, l->struct_off, off, type);
		path_len = (slen - SCOPE_PATH) / 2;
		for (u32 i = 0; i < path_len; i++) {
			u8 dev = l->t[off + SCOPE_PATH + 2 * i];
			u8 fn = l->t[off + SCOPE_PATH + 2 * i + 1];

			if (dev > 31 || fn > 7)
				return fail(err, errlen,
					    "DMAR: %s at offset %u: device "
					    "scope at offset %u: path entry %u "
					    "is device %u function %u (at most "
					    "31 and 7)",
					    l->what, l->struct_off, off, i, dev,
					    fn);
		}
		if (l->scopes) {
			struct dmar_scope *s;

			if (*count == l->max)
				return fail(err, errlen,
					    "DMAR: %s at offset %u: more than "
					    "%u device scopes (%s)",
					    l->what, l->struct_off, l->max,
					    l->limit);
			if (path_len > DMAR_MAX_PATH)
				return fail(err, errlen,
					    "DMAR: %s at offset %u: device "
					    "scope at offset %u has a path of "
					    "%u entries, more than %u "
					    "(DMAR_MAX_PATH)",
					    l->what, l->struct_off, off,
					    path_len, DMAR_MAX_PATH);
			s = &l->scopes[*count];
			memset(s, 0, sizeof(*s));
			s->type = type;
			s->enum_id = l->t[off + SCOPE_ENUM_ID];
			s->start_bus = l->t[off + SCOPE_START_BUS];
			s->path_len = (u8)path_len;
			memcpy(s->path, l->t + off + SCOPE_PATH, 2 * path_len);
		}
		(*count)++;
		off += slen;
	}
	return ACPI_OK;
}

/* 8.3: a DRHD of slen bytes at t + off (slen >= 4 checked). */
static int parse_drhd(const u8 *t, u32 off, u32 slen, struct dmar_info *out,
		      char *err, size_t errlen)
{
	struct dmar_unit *u;
	struct scope_list l;

	if (slen < DRHD_SCOPES)
		return fail(err, errlen,
			    "DMAR: DRHD at offset %u has length %u, less than "
			    "the %u it needs",
			    off, slen, DRHD_SCOPES);
	if (out->unit_count == DMAR_MAX_UNITS)
		return fail(err, errlen,
			    "DMAR: DRHD at offset %u: more than %u remapping "
			    "units (DMAR_MAX_UNITS)",
			    off, DMAR_MAX_UNITS);
	u = &out->units[out->unit_count];
	memset(u, 0, sizeof(*u));
	u->include_all = t[off + DRHD_FLAGS] & DRHD_INCLUDE_PCI_ALL;
	u->reg_size = (u32)PAGE_SIZE << (t[off + DRHD_SIZE] & DRHD_SIZE_MASK);
	u->segment = rd16(t, off + DRHD_SEGMENT);
	u->reg_base = rd64(t, off + DRHD_BASE);
	if (u->reg_base == 0 || !IS_ALIGNED(u->reg_base, PAGE_SIZE))
		return fail(err, errlen,
			    "DMAR: DRHD at offset %u has register base 0x%llx, "
			    "not a nonzero 4 KiB aligned address",
			    off, (unsigned long long)u->reg_base);
	l = (struct scope_list){
	    .t = t,
	    .off = off + DRHD_SCOPES,
	    .end = off + slen,
	    .what = "DRHD",
	    .struct_off = off,
	    /* 8.3: an INCLUDE_PCI_ALL unit lists only what is not PCI. */
	    .allowed = u->include_all ? SCOPES_NOT_PCI : SCOPES_ANY,
	    .limit = "DMAR_MAX_SCOPES",
	    .scopes = u->scopes,
	    .max = DMAR_MAX_SCOPES,
	};
	if (parse_scopes(&l, &u->scope_count, err, errlen) != ACPI_OK)
		return ACPI_ERR_INVALID;
	out->unit_count++;
	return ACPI_OK;
}

/* 8.4: an RMRR of slen bytes at t + off. */
static int parse_rmrr(const u8 *t, u32 off, u32 slen, struct dmar_info *out,
		      char *err, size_t errlen)
{
	struct dmar_rmrr *r;
	struct scope_list l;

	if (slen < RMRR_SCOPES)
		return fail(err, errlen,
			    "DMAR: RMRR at offset %u has length %u, less than "
			    "the %u it needs",
			    off, slen, RMRR_SCOPES);
	if (out->rmrr_count == DMAR_MAX_RMRRS)
		return fail(err, errlen,
			    "DMAR: RMRR at offset %u: more than %u reserved "
			    "memory regions (DMAR_MAX_RMRRS)",
			    off, DMAR_MAX_RMRRS);
	r = &out->rmrrs[out->rmrr_count];
	memset(r, 0, sizeof(*r));
	r->segment = rd16(t, off + RMRR_SEGMENT);
	r->base = rd64(t, off + RMRR_BASE);
	r->limit = rd64(t, off + RMRR_LIMIT);
	if (r->limit < r->base)
		return fail(err, errlen,
			    "DMAR: RMRR at offset %u ends at 0x%llx, below its "
			    "base 0x%llx",
			    off, (unsigned long long)r->limit,
			    (unsigned long long)r->base);
	l = (struct scope_list){
	    .t = t,
	    .off = off + RMRR_SCOPES,
	    .end = off + slen,
	    .what = "RMRR",
	    .struct_off = off,
	    .allowed = SCOPES_PCI, /* 8.4: the devices that use it */
	    .limit = "DMAR_MAX_RMRR_SCOPES",
	    .scopes = r->scopes,
	    .max = DMAR_MAX_RMRR_SCOPES,
	};
	if (parse_scopes(&l, &r->scope_count, err, errlen) != ACPI_OK)
		return ACPI_ERR_INVALID;
	out->rmrr_count++;
	return ACPI_OK;
}

/*
 * 8.5 - 8.8: structures not used yet, checked and counted: their length
 * against what their fields need, and the device scopes of ATSR and SATC.
 * Types this code does not know (8.2 reserves them for future use) only
 * have their length checked, by the caller.
 */
static int check_other(const u8 *t, u32 off, u16 type, u32 slen, char *err,
		       size_t errlen)
{
	u32 need = STRUCT_HEADER_SIZE, scopes = 0, count;

	switch (type) {
	case TYPE_ATSR:
		need = scopes = ATSR_SCOPES;
		break;
	case TYPE_SATC:
		need = scopes = SATC_SCOPES;
		break;
	case TYPE_RHSA:
		need = RHSA_SIZE;
		break;
	case TYPE_ANDD:
		need = ANDD_MIN_SIZE;
		break;
	default:
		break;
	}
	if (slen < need)
		return fail(err, errlen,
			    "DMAR: %s at offset %u (type %u) has length %u, "
			    "less than the %u it needs",
			    struct_name(type), off, type, slen, need);
	if (!scopes)
		return ACPI_OK;
	struct scope_list l = {
	    .t = t,
	    .off = off + scopes,
	    .end = off + slen,
	    .what = struct_name(type),
	    .struct_off = off,
	    .allowed = SCOPES_ANY,
	};
	return parse_scopes(&l, &count, err, errlen);
}

int dmar_parse(const void *table, u32 len, struct dmar_info *out, char *err,
	       size_t errlen)
{
	const u8 *t = table;
	u32 end, off;

	memset(out, 0, sizeof(*out));
	if (len < DMAR_HEADER_SIZE)
		return fail(err, errlen,
			    "DMAR: %u bytes, less than its %u-byte header", len,
			    DMAR_HEADER_SIZE);
	if (memcmp(t, "DMAR", 4) != 0)
		return fail(err, errlen, "DMAR: signature is '%.4s'",
			    (const char *)t);
	memcpy(&end, t + 4, sizeof(end));
	if (end < DMAR_HEADER_SIZE || end > len)
		return fail(err, errlen,
			    "DMAR: length field %u, but %u bytes available "
			    "and the header needs %u",
			    end, len, DMAR_HEADER_SIZE);
	out->host_addr_width = (u8)(t[DMAR_HAW] + 1);
	out->flags = t[DMAR_FLAGS];

	for (off = DMAR_HEADER_SIZE; off < end;) {
		u32 left = end - off;
		u16 type;
		u32 slen;
		int rc;

		if (left < STRUCT_HEADER_SIZE)
			return fail(err, errlen,
				    "DMAR: structure at offset %u is cut "
				    "short: %u bytes left, its header needs %u",
				    off, left, STRUCT_HEADER_SIZE);
		type = rd16(t, off);
		slen = rd16(t, off + 2);
		if (slen < STRUCT_HEADER_SIZE || slen > left)
			return fail(err, errlen,
				    "DMAR: %s at offset %u (type %u) has "
				    "length %u, but %u bytes remain",
				    struct_name(type), off, type, slen, left);
		switch (type) {
		case TYPE_DRHD:
			rc = parse_drhd(t, off, slen, out, err, errlen);
			break;
		case TYPE_RMRR:
			rc = parse_rmrr(t, off, slen, out, err, errlen);
			break;
		default:
			rc = check_other(t, off, type, slen, err, errlen);
			out->other_structs++;
			break;
		}
		if (rc != ACPI_OK)
			return rc;
		off += slen;
	}
	return ACPI_OK;
}

int acpi_read_dmar(const struct boot_info *bi, struct dmar_info *out, char *err,
		   size_t errlen)
{
	const void *table;
	u32 len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = acpi_map_table(bi, "DMAR", &table, &len, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	return dmar_parse(table, len, out, err, errlen);
}

int dmar_scope_bdf(const struct dmar_scope *s,
		   int (*secondary_bus)(void *ctx, u16 bdf), void *ctx,
		   u16 *bdf)
{
	u32 bus = s->start_bus;
	u16 id = 0;

	if (s->path_len == 0 || s->path_len > DMAR_MAX_PATH)
		return ACPI_ERR_INVALID;
	for (u32 i = 0; i < s->path_len; i++) {
		u8 dev = s->path[i][0], fn = s->path[i][1];

		if (i > 0) {
			/* 8.3.1: the previous entry is a bridge; this one
			 * is on its secondary bus. */
			int next = secondary_bus(ctx, id);

			if (next < 0 || next > 255)
				return ACPI_ERR_INVALID;
			bus = (u32)next;
		}
		if (dev > 31 || fn > 7)
			return ACPI_ERR_INVALID;
		id = (u16)(bus << 8 | (u32)dev << 3 | fn);
	}
	*bdf = id;
	return ACPI_OK;
}
