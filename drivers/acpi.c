/* SPDX-License-Identifier: MIT */
/*
 * ACPI table discovery and MADT parsing (contract in drivers/acpi.h).
 *
 * Firmware tables are checked before they are believed: signature, length
 * and checksum, and every MADT entry's length against the table's end.
 */
#include "drivers/acpi.h"
#include "drivers/acpi_spec.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* 5.2.5.1: where BIOS systems keep the RSDP. */
#define BDA_EBDA_SEGMENT 0x40E
#define EBDA_SEARCH_LEN	 1024
#define BIOS_ROM_START	 0xE0000
#define BIOS_ROM_END	 0x100000
#define RSDP_ALIGN	 16

/* 5.2.12 Table 5.21: MADT entry types used here. */
#define MADT_LOCAL_APIC		 0
#define MADT_IO_APIC		 1
#define MADT_IRQ_OVERRIDE	 2
#define MADT_LOCAL_APIC_OVERRIDE 5
#define MADT_LOCAL_X2APIC	 9

/* 5.2.12.2 / 5.2.12.19: Local (x2)APIC flags. */
#define MADT_CPU_ENABLED 1

struct madt_header {
	struct acpi_table_header h;
	u32 lapic_address;
	u32 flags;
} __packed;

struct madt_entry {
	u8 type;
	u8 length;
} __packed;

struct madt_local_apic { /* 5.2.12.2 */
	struct madt_entry e;
	u8 processor_uid;
	u8 apic_id;
	u32 flags;
} __packed;

struct madt_io_apic { /* 5.2.12.3 */
	struct madt_entry e;
	u8 id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} __packed;

struct madt_irq_override { /* 5.2.12.5 */
	struct madt_entry e;
	u8 bus;
	u8 source;
	u32 gsi;
	u16 flags;
} __packed;

struct madt_lapic_override { /* 5.2.12.8 */
	struct madt_entry e;
	u16 reserved;
	u64 address;
} __packed;

struct madt_local_x2apic { /* 5.2.12.19 */
	struct madt_entry e;
	u16 reserved;
	u32 x2apic_id;
	u32 flags;
	u32 processor_uid;
} __packed;

_Static_assert(sizeof(struct acpi_table_header) == 36, "5.2.6 header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "5.2.5.3 RSDP");
_Static_assert(sizeof(struct madt_header) == 44, "5.2.12 MADT header");
_Static_assert(sizeof(struct madt_local_apic) == 8, "5.2.12.2");
_Static_assert(sizeof(struct madt_io_apic) == 12, "5.2.12.3");
_Static_assert(sizeof(struct madt_irq_override) == 10, "5.2.12.5");
_Static_assert(sizeof(struct madt_lapic_override) == 12, "5.2.12.8");
_Static_assert(sizeof(struct madt_local_x2apic) == 16, "5.2.12.19");

static const void *identity_map(u64 pa, u64 len)
{
	(void)len;
	return (const void *)(uintptr_t)pa;
}

static acpi_mapper_fn acpi_mapper = identity_map;

void acpi_set_mapper(acpi_mapper_fn mapper)
{
	acpi_mapper = mapper ? mapper : identity_map;
}

const void *acpi_map(u64 pa, u64 len)
{
	return acpi_mapper(pa, len);
}

static u8 checksum(const void *p, u32 len)
{
	const u8 *b = p;
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum += b[i];
	return sum;
}

/* Checks a candidate RSDP; the message says what is wrong with it. */
static bool rsdp_valid(const struct acpi_rsdp *r, u32 available, char *err,
		       size_t errlen)
{
	if (memcmp(r->signature, "RSD PTR ", 8) != 0) {
		snformat(err, errlen, "RSDP has no \"RSD PTR \" signature");
		return false;
	}
	if (checksum(r, ACPI_RSDP_V1_SIZE) != 0) {
		snformat(err, errlen,
			 "RSDP has a bad checksum (first 20 bytes sum to "
			 "0x%02x)",
			 checksum(r, ACPI_RSDP_V1_SIZE));
		return false;
	}
	if (r->revision < 2)
		return true;
	if (available < ACPI_RSDP_V2_SIZE || r->length < ACPI_RSDP_V2_SIZE ||
	    r->length > available) {
		snformat(err, errlen,
			 "RSDP revision %u has length %u (%u bytes available, "
			 "36 needed)",
			 r->revision, r->length, available);
		return false;
	}
	if (checksum(r, r->length) != 0) {
		snformat(err, errlen,
			 "RSDP has a bad extended checksum (%u bytes sum to "
			 "0x%02x)",
			 r->length, checksum(r, r->length));
		return false;
	}
	return true;
}

/* Scans [start, start + len) on 16-byte boundaries for a valid RSDP. */
static const struct acpi_rsdp *scan_rsdp(u64 start, u64 len, u64 *found_pa,
					 char *err, size_t errlen)
{
	const u8 *area = acpi_map(start, len);

	if (!area)
		return NULL;
	for (u64 off = 0; off + ACPI_RSDP_V1_SIZE <= len; off += RSDP_ALIGN) {
		const struct acpi_rsdp *r = (const void *)(area + off);

		if (memcmp(r->signature, "RSD PTR ", 8) != 0)
			continue;
		/* A bad candidate is remembered; the scan goes on. */
		if (rsdp_valid(r, (u32)MIN(len - off, ACPI_RSDP_V2_SIZE), err,
			       errlen)) {
			*found_pa = start + off;
			return r;
		}
	}
	return NULL;
}

static const struct acpi_rsdp *
locate_rsdp(const struct boot_info *bi, u64 *rsdp_pa, char *err, size_t errlen)
{
	const struct acpi_rsdp *r = NULL;
	const u16 *segment;

	*rsdp_pa = 0;
	if (bi && bi->rsdp_from_loader) {
		r = (const void *)bi->rsdp_copy;
		if (rsdp_valid(r, sizeof(bi->rsdp_copy), err, errlen))
			return r;
		printk("acpi: warning: the boot loader's RSDP copy is bad "
		       "(%s); scanning the BIOS areas\n",
		       err);
		r = NULL;
	}
	if (errlen > 0)
		err[0] = '\0';
	segment = acpi_map(BDA_EBDA_SEGMENT, sizeof(*segment));
	if (segment && *segment)
		r = scan_rsdp((u64)*segment << 4, EBDA_SEARCH_LEN, rsdp_pa, err,
			      errlen);
	if (!r)
		r = scan_rsdp(BIOS_ROM_START, BIOS_ROM_END - BIOS_ROM_START,
			      rsdp_pa, err, errlen);
	if (!r && errlen > 0 && err[0] == '\0')
		snformat(err, errlen,
			 "no ACPI RSDP from the boot loader, in the EBDA or "
			 "in 0xE0000-0xFFFFF");
	return r;
}

/*
 * Maps a whole table after checking its header: signature (when given),
 * length at least min_len, checksum.  what names it in messages.
 */
static const struct acpi_table_header *map_table(u64 pa, const char *sig,
						 u32 min_len, const char *what,
						 char *err, size_t errlen)
{
	const struct acpi_table_header *h = acpi_map(pa, sizeof(*h));

	if (!h) {
		snformat(err, errlen, "%s at 0x%llx cannot be mapped", what,
			 (unsigned long long)pa);
		return NULL;
	}
	if (sig && memcmp(h->signature, sig, 4) != 0) {
		snformat(err, errlen,
			 "%s at 0x%llx has signature '%.4s', not '%.4s'", what,
			 (unsigned long long)pa, h->signature, sig);
		return NULL;
	}
	if (h->length < min_len) {
		snformat(err, errlen,
			 "%s at 0x%llx is truncated: length %u, at least %u "
			 "needed",
			 what, (unsigned long long)pa, h->length, min_len);
		return NULL;
	}
	u32 length = h->length;

	h = acpi_map(pa, length);
	if (!h) {
		snformat(err, errlen,
			 "%s at 0x%llx (%u bytes) cannot be mapped", what,
			 (unsigned long long)pa, length);
		return NULL;
	}
	if (checksum(h, h->length) != 0) {
		snformat(err, errlen,
			 "%s at 0x%llx has a bad checksum (%u bytes sum to "
			 "0x%02x)",
			 what, (unsigned long long)pa, h->length,
			 checksum(h, h->length));
		return NULL;
	}
	return h;
}

int acpi_find_root(const struct boot_info *bi, struct acpi_root *root,
		   char *err, size_t errlen)
{
	const struct acpi_rsdp *r;
	u64 rsdp_pa;
	const u32 hdr = sizeof(struct acpi_table_header);

	memset(root, 0, sizeof(*root));
	r = locate_rsdp(bi, &rsdp_pa, err, errlen);
	if (!r)
		return ACPI_ERR_NO_ACPI;
	root->rsdp_pa = rsdp_pa;
	root->revision = r->revision;
	memcpy(root->oem_id, r->oem_id, 6);
	root->oem_id[6] = '\0';

	if (r->revision >= 2 && r->xsdt_address) {
		if (map_table(r->xsdt_address, "XSDT", hdr, "XSDT", err,
			      errlen)) {
			root->xsdt = true;
			root->root_pa = r->xsdt_address;
			return ACPI_OK;
		}
		if (!r->rsdt_address)
			return ACPI_ERR_INVALID;
		printk("acpi: warning: %s; using the RSDT\n", err);
	}
	if (!r->rsdt_address) {
		snformat(err, errlen,
			 "RSDP (revision %u) gives no RSDT address",
			 r->revision);
		return ACPI_ERR_INVALID;
	}
	if (!map_table(r->rsdt_address, "RSDT", hdr, "RSDT", err, errlen))
		return ACPI_ERR_INVALID;
	root->root_pa = r->rsdt_address;
	return ACPI_OK;
}

int acpi_find_table(const struct acpi_root *root, const char *signature,
		    u64 *table_pa, u32 *table_len, char *err, size_t errlen)
{
	const u32 hdr = sizeof(struct acpi_table_header);
	const char *root_name = root->xsdt ? "XSDT" : "RSDT";
	const struct acpi_table_header *rt;
	u32 entry_size = root->xsdt ? 8 : 4;

	rt = map_table(root->root_pa, root_name, hdr, root_name, err, errlen);
	if (!rt)
		return ACPI_ERR_INVALID;

	const u8 *entries = (const u8 *)rt + hdr;
	u32 count = (rt->length - hdr) / entry_size;

	for (u32 i = 0; i < count; i++) {
		u64 pa = 0;
		const struct acpi_table_header *h;
		char what[32];

		/* Entries are not naturally aligned in an XSDT (5.2.8). */
		memcpy(&pa, entries + i * entry_size, entry_size);
		if (!pa)
			continue;
		h = acpi_map(pa, hdr);
		if (!h || memcmp(h->signature, signature, 4) != 0)
			continue;
		snformat(what, sizeof(what), "%.4s table", signature);
		h = map_table(pa, signature, hdr, what, err, errlen);
		if (!h)
			return ACPI_ERR_INVALID;
		*table_pa = pa;
		*table_len = h->length;
		return ACPI_OK;
	}
	snformat(err, errlen, "no %.4s table in the %s (%u entries)", signature,
		 root_name, count);
	return ACPI_ERR_NO_TABLE;
}

static void add_cpu(struct acpi_madt_info *out, u32 apic_id, bool x2apic)
{
	for (u32 i = 0; i < out->cpu_count; i++) {
		if (out->apic_ids[i] == apic_id)
			return; /* listed as both xAPIC and x2APIC */
	}
	if (out->cpu_count == ACPI_MAX_CPUS) {
		if (out->cpus_ignored++ == 0)
			printk("acpi: warning: more than %u CPUs, ignoring "
			       "APIC ID %u and later ones\n",
			       ACPI_MAX_CPUS, apic_id);
		return;
	}
	out->apic_ids[out->cpu_count++] = apic_id;
	if (x2apic)
		out->x2apic_ids = true;
}

static void add_ioapic(struct acpi_madt_info *out,
		       const struct madt_io_apic *io)
{
	if (out->ioapic_count == ACPI_MAX_IOAPICS) {
		printk("acpi: warning: more than %u I/O APICs, ignoring ID %u "
		       "at 0x%x\n",
		       ACPI_MAX_IOAPICS, io->id, io->address);
		return;
	}
	out->ioapics[out->ioapic_count++] = (struct acpi_ioapic){
	    .id = io->id,
	    .addr = io->address,
	    .gsi_base = io->gsi_base,
	};
}

static void add_override(struct acpi_madt_info *out,
			 const struct madt_irq_override *o)
{
	if (out->override_count == ACPI_MAX_OVERRIDES) {
		printk("acpi: warning: more than %u interrupt overrides, "
		       "ignoring IRQ %u -> GSI %u\n",
		       ACPI_MAX_OVERRIDES, o->source, o->gsi);
		return;
	}
	out->overrides[out->override_count++] = (struct acpi_irq_override){
	    .bus = o->bus,
	    .irq = o->source,
	    .gsi = o->gsi,
	    .flags = o->flags,
	};
}

/* The shortest valid length of each entry type used, 0 for the others. */
static u32 madt_entry_min_len(u8 type)
{
	switch (type) {
	case MADT_LOCAL_APIC:
		return sizeof(struct madt_local_apic);
	case MADT_IO_APIC:
		return sizeof(struct madt_io_apic);
	case MADT_IRQ_OVERRIDE:
		return sizeof(struct madt_irq_override);
	case MADT_LOCAL_APIC_OVERRIDE:
		return sizeof(struct madt_lapic_override);
	case MADT_LOCAL_X2APIC:
		return sizeof(struct madt_local_x2apic);
	default:
		return sizeof(struct madt_entry);
	}
}

int acpi_parse_madt(const void *madt, u32 len, struct acpi_madt_info *out,
		    char *err, size_t errlen)
{
	const struct madt_header *m = madt;
	const u8 *base = madt;
	u32 end, off;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(*m) || m->h.length < sizeof(*m) || m->h.length > len) {
		snformat(err, errlen,
			 "MADT is truncated: %u bytes available, length field "
			 "%u, header needs %zu",
			 len,
			 len >= sizeof(struct acpi_table_header) ? m->h.length
								 : 0,
			 sizeof(*m));
		return ACPI_ERR_INVALID;
	}
	out->lapic_base = m->lapic_address;
	out->flags = m->flags;
	end = m->h.length;

	for (off = sizeof(*m); off < end;) {
		const struct madt_entry *e = (const void *)(base + off);

		if (end - off < sizeof(*e) || e->length < sizeof(*e) ||
		    e->length > end - off) {
			snformat(err, errlen,
				 "MADT entry at offset %u (type %u) has length "
				 "%u, but %u bytes remain",
				 off, end - off >= 1 ? e->type : 0,
				 end - off >= 2 ? e->length : 0, end - off);
			return ACPI_ERR_INVALID;
		}
		if (e->length < madt_entry_min_len(e->type)) {
			snformat(err, errlen,
				 "MADT entry at offset %u (type %u) has length "
				 "%u, less than the %u it needs",
				 off, e->type, e->length,
				 madt_entry_min_len(e->type));
			return ACPI_ERR_INVALID;
		}
		switch (e->type) {
		case MADT_LOCAL_APIC: {
			const struct madt_local_apic *c = (const void *)e;

			if (c->flags & MADT_CPU_ENABLED)
				add_cpu(out, c->apic_id, false);
			break;
		}
		case MADT_LOCAL_X2APIC: {
			const struct madt_local_x2apic *c = (const void *)e;

			if (c->flags & MADT_CPU_ENABLED)
				add_cpu(out, c->x2apic_id, true);
			break;
		}
		case MADT_IO_APIC:
			add_ioapic(out, (const void *)e);
			break;
		case MADT_IRQ_OVERRIDE:
			add_override(out, (const void *)e);
			break;
		case MADT_LOCAL_APIC_OVERRIDE:
			/* 5.2.12.8: replaces the 32-bit address above. */
			out->lapic_base =
			    ((const struct madt_lapic_override *)e)->address;
			break;
		default:
			break;
		}
		off += e->length;
	}
	if (out->cpu_count == 0) {
		snformat(err, errlen, "MADT lists no enabled CPU");
		return ACPI_ERR_INVALID;
	}
	return ACPI_OK;
}

/* acpi_find_root() then acpi_find_table(signature). */
int acpi_map_table(const struct boot_info *bi, const char *signature,
		   const void **table, u32 *len, char *err, size_t errlen)
{
	struct acpi_root root;
	u64 pa;
	int rc = acpi_find_root(bi, &root, err, errlen);

	if (rc != ACPI_OK)
		return rc;
	rc = acpi_find_table(&root, signature, &pa, len, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	*table = acpi_map(pa, *len);
	if (!*table) {
		snformat(err, errlen,
			 "%.4s at 0x%llx (%u bytes) cannot be mapped",
			 signature, (unsigned long long)pa, *len);
		return ACPI_ERR_INVALID;
	}
	return ACPI_OK;
}

int acpi_read_madt(const struct boot_info *bi, struct acpi_madt_info *out,
		   char *err, size_t errlen)
{
	const void *table;
	u32 len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = acpi_map_table(bi, "APIC", &table, &len, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	return acpi_parse_madt(table, len, out, err, errlen);
}

/* ---- MCFG: PCI Express enhanced configuration space ---- */

/* PCI Firmware Specification 3.x, 4.1.2, Tables 4-2 and 4-3. */
struct mcfg_header {
	struct acpi_table_header h;
	u8 reserved[8];
} __packed;

struct mcfg_entry {
	u64 base;
	u16 segment;
	u8 start_bus;
	u8 end_bus;
	u32 reserved;
} __packed;

_Static_assert(sizeof(struct mcfg_header) == 44, "MCFG header");
_Static_assert(sizeof(struct mcfg_entry) == 16, "MCFG entry");

int acpi_parse_mcfg(const void *table, u32 len, struct acpi_mcfg_info *out,
		    char *err, size_t errlen)
{
	const struct mcfg_header *m = table;
	const u32 hdr = sizeof(*m), esize = sizeof(struct mcfg_entry);
	u32 n;

	memset(out, 0, sizeof(*out));
	if (len < hdr || m->h.length < hdr || m->h.length > len) {
		snformat(err, errlen,
			 "MCFG is truncated: %u bytes available, length field "
			 "%u, header needs %u",
			 len,
			 len >= sizeof(struct acpi_table_header) ? m->h.length
								 : 0,
			 hdr);
		return ACPI_ERR_INVALID;
	}
	if ((m->h.length - hdr) % esize != 0) {
		snformat(err, errlen,
			 "MCFG length %u is not its %u-byte header plus whole "
			 "%u-byte entries",
			 m->h.length, hdr, esize);
		return ACPI_ERR_INVALID;
	}
	n = (m->h.length - hdr) / esize;
	if (n > ACPI_MAX_MCFG) {
		snformat(err, errlen,
			 "MCFG has %u entries, more than the %u Veneer keeps",
			 n, ACPI_MAX_MCFG);
		return ACPI_ERR_INVALID;
	}
	for (u32 i = 0; i < n; i++) {
		struct mcfg_entry e;

		/* Entries are not naturally aligned after the 44-byte start. */
		memcpy(&e, (const u8 *)table + hdr + i * esize, esize);
		if (e.start_bus > e.end_bus) {
			snformat(err, errlen,
				 "MCFG entry %u (segment %u) has start bus %u "
				 "above end bus %u",
				 i, e.segment, e.start_bus, e.end_bus);
			return ACPI_ERR_INVALID;
		}
		/* 1 MiB of configuration space per bus (PCIe 7.2.2). */
		if (!IS_ALIGNED(e.base, MiB(1))) {
			snformat(err, errlen,
				 "MCFG entry %u (segment %u) has base 0x%llx, "
				 "not 1 MiB aligned",
				 i, e.segment, (unsigned long long)e.base);
			return ACPI_ERR_INVALID;
		}
		out->entries[i] = (struct acpi_mcfg_entry){
		    .base = e.base,
		    .segment = e.segment,
		    .start_bus = e.start_bus,
		    .end_bus = e.end_bus,
		};
	}
	out->count = n;
	return ACPI_OK;
}

int acpi_read_mcfg(const struct boot_info *bi, struct acpi_mcfg_info *out,
		   char *err, size_t errlen)
{
	const void *table;
	u32 len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = acpi_map_table(bi, "MCFG", &table, &len, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	return acpi_parse_mcfg(table, len, out, err, errlen);
}

/* ---- S5: powering the machine off ---- */

/* An AML integer (20.2.3 ComputationalData) at aml[*i]; false if none. */
static bool aml_integer(const u8 *aml, u32 len, u32 *i, u64 *value)
{
	u32 size;

	if (*i >= len)
		return false;
	switch (aml[*i]) {
	case AML_ZERO_OP:
	case AML_ONE_OP:
		*value = aml[(*i)++];
		return true;
	case AML_BYTE_PREFIX:
		size = 1;
		break;
	case AML_WORD_PREFIX:
		size = 2;
		break;
	case AML_DWORD_PREFIX:
		size = 4;
		break;
	default:
		return false;
	}
	if (len - *i < 1 + size)
		return false;
	*value = 0;
	for (u32 b = 0; b < size; b++)
		*value |= (u64)aml[*i + 1 + b] << (8 * b);
	*i += 1 + size;
	return true;
}

int acpi_parse_s5(const u8 *aml, u32 len, u8 *slp_typa, u8 *slp_typb, char *err,
		  size_t errlen)
{
	for (u32 at = 1; at + 4 <= len; at++) {
		u64 a, b;
		u32 i, count;

		if (memcmp(aml + at, "_S5_", 4) != 0)
			continue;
		/* DefName := NameOp NameString, the name maybe root-prefixed.
		 */
		if (!(aml[at - 1] == AML_NAME_OP ||
		      (at >= 2 && aml[at - 1] == AML_ROOT_CHAR &&
		       aml[at - 2] == AML_NAME_OP)))
			continue;
		i = at + 4;
		if (i >= len || aml[i] != AML_PACKAGE_OP) {
			snformat(err, errlen,
				 "\\_S5 at DSDT offset %u is not a package",
				 at);
			return ACPI_ERR_INVALID;
		}
		i++;
		/* PkgLength (20.2.4): bits 7-6 of its lead byte count the
		 * bytes that follow it. */
		if (i >= len) {
			snformat(err, errlen, "\\_S5 package is cut short");
			return ACPI_ERR_INVALID;
		}
		i += 1 + (aml[i] >> 6);
		if (i >= len) {
			snformat(err, errlen, "\\_S5 package is cut short");
			return ACPI_ERR_INVALID;
		}
		count = aml[i++];
		if (count < 1 || !aml_integer(aml, len, &i, &a)) {
			snformat(err, errlen,
				 "\\_S5 package has no integer SLP_TYPa");
			return ACPI_ERR_INVALID;
		}
		b = a;
		if (count >= 2 && !aml_integer(aml, len, &i, &b)) {
			snformat(err, errlen,
				 "\\_S5 package's SLP_TYPb is not an integer "
				 "(computed values are not evaluated)");
			return ACPI_ERR_INVALID;
		}
		if (a > 7 || b > 7) {
			snformat(err, errlen,
				 "\\_S5 SLP_TYP values %llu, %llu do not fit "
				 "3 bits",
				 (unsigned long long)a, (unsigned long long)b);
			return ACPI_ERR_INVALID;
		}
		*slp_typa = (u8)a;
		*slp_typb = (u8)b;
		return ACPI_OK;
	}
	snformat(err, errlen, "the DSDT has no \\_S5 object");
	return ACPI_ERR_NO_TABLE;
}

/* A PM1 control block: the X_ GAS when the FADT has it and it is set. */
static int pm1_cnt_port(const u8 *fadt, u32 len, u32 legacy_off, u32 x_off,
			const char *name, u16 *port, char *err, size_t errlen)
{
	u64 addr = get_unaligned32(fadt + legacy_off);

	if (len >= x_off + GAS_SIZE &&
	    get_unaligned64(fadt + x_off + GAS_ADDRESS) != 0) {
		if (fadt[x_off + GAS_SPACE_ID] != GAS_SPACE_IO) {
			snformat(err, errlen,
				 "%s is in address space %u, not I/O", name,
				 fadt[x_off + GAS_SPACE_ID]);
			return ACPI_ERR_INVALID;
		}
		addr = get_unaligned64(fadt + x_off + GAS_ADDRESS);
	}
	if (addr > 0xffff) {
		snformat(err, errlen, "%s at 0x%llx is not an I/O port", name,
			 (unsigned long long)addr);
		return ACPI_ERR_INVALID;
	}
	*port = (u16)addr;
	return ACPI_OK;
}

int acpi_read_sleep(const struct boot_info *bi, struct acpi_sleep_info *out,
		    char *err, size_t errlen)
{
	const struct acpi_table_header *dsdt;
	const void *table;
	const u8 *fadt;
	u64 dsdt_pa;
	u32 len, smi_cmd;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = acpi_map_table(bi, "FACP", &table, &len, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	fadt = table;
	if (len < FADT_PM1B_CNT_BLK + 4) {
		snformat(err, errlen,
			 "the FADT is %u bytes, too short for PM1_CNT", len);
		return ACPI_ERR_INVALID;
	}
	rc = pm1_cnt_port(fadt, len, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK,
			  "PM1a_CNT", &out->pm1a_cnt, err, errlen);
	if (rc == ACPI_OK)
		rc = pm1_cnt_port(fadt, len, FADT_PM1B_CNT_BLK,
				  FADT_X_PM1B_CNT_BLK, "PM1b_CNT",
				  &out->pm1b_cnt, err, errlen);
	if (rc != ACPI_OK)
		return rc;
	if (!out->pm1a_cnt) {
		snformat(err, errlen, "the FADT has no PM1a_CNT block");
		return ACPI_ERR_INVALID;
	}
	smi_cmd = get_unaligned32(fadt + FADT_SMI_CMD);
	if (smi_cmd <= 0xffff && fadt[FADT_ACPI_ENABLE]) {
		out->smi_cmd = (u16)smi_cmd;
		out->acpi_enable = fadt[FADT_ACPI_ENABLE];
	}
	dsdt_pa = get_unaligned32(fadt + FADT_DSDT);
	if (len >= FADT_X_DSDT + 8 && get_unaligned64(fadt + FADT_X_DSDT))
		dsdt_pa = get_unaligned64(fadt + FADT_X_DSDT);
	dsdt =
	    map_table(dsdt_pa, "DSDT", sizeof(*dsdt), "the DSDT", err, errlen);
	if (!dsdt)
		return ACPI_ERR_INVALID;
	return acpi_parse_s5((const u8 *)dsdt + sizeof(*dsdt),
			     dsdt->length - (u32)sizeof(*dsdt), &out->slp_typa,
			     &out->slp_typb, err, errlen);
}
