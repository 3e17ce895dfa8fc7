/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the firmware's DMAR table (drivers/dmar.c): dmar_parse(),
 * the scope resolver dmar_scope_bdf(), and acpi_read_dmar() finding the
 * table through an RSDP and an RSDT.
 *
 * Input: one byte choosing the mode, then
 *   0: a DMAR (dmar_parse), in a buffer of exactly its size; every scope
 *      of an accepted table is resolved through bridges whose secondary
 *      bus numbers (some not bridges, some above 255) come from a seed
 *      byte read before the table;
 *   1: a flags byte, then a DMAR that acpi_read_dmar() finds through the
 *      boot loader's RSDP copy and an RSDT built here. With flags bit 0
 *      the table's checksum is fixed, so the parser is reached.
 *
 * Each acpi_map() gets its own heap copy of exactly the bytes asked for,
 * so reading past what was mapped is an ASan error.
 */
#include <string.h>

#include "drivers/dmar.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/host_printk.h"

#define RSDT_PA	       0x1000ull
#define TABLE_PA       0x2000ull
#define MAX_MAPPINGS   64
#define FLAG_CHECKSUMS 1

static u8 rsdt[40];
static const u8 *table;
static size_t table_size;
static void *mappings[MAX_MAPPINGS];
static u32 mapping_count;
static u8 bus_seed;

static u8 sum(const u8 *p, size_t len)
{
	u8 s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static const void *fake_map(u64 pa, u64 len)
{
	const u8 *src;
	size_t size;
	u8 *copy;

	if (pa >= RSDT_PA && pa < RSDT_PA + sizeof(rsdt)) {
		src = rsdt + (pa - RSDT_PA);
		size = sizeof(rsdt) - (pa - RSDT_PA);
	} else if (pa >= TABLE_PA && pa - TABLE_PA <= table_size) {
		src = table + (pa - TABLE_PA);
		size = table_size - (pa - TABLE_PA);
	} else {
		return NULL;
	}
	if (len == 0 || len > size || mapping_count == MAX_MAPPINGS)
		return NULL;
	copy = malloc(len);
	memcpy(copy, src, len);
	mappings[mapping_count++] = copy;
	return copy;
}

static void unmap_all(void)
{
	while (mapping_count)
		free(mappings[--mapping_count]);
}

static void check_scope(const struct dmar_scope *s, u32 allowed)
{
	FUZZ_CHECK(s->type < 32 && (allowed & BIT(s->type)), "scope type %u",
		   s->type);
	FUZZ_CHECK(s->path_len >= 1 && s->path_len <= DMAR_MAX_PATH,
		   "path of %u", s->path_len);
	for (u32 i = 0; i < s->path_len; i++)
		FUZZ_CHECK(s->path[i][0] <= 31 && s->path[i][1] <= 7,
			   "path entry %u: %u.%u", i, s->path[i][0],
			   s->path[i][1]);
}

static void check_info(int rc, const struct dmar_info *d, const char *err)
{
	if (rc != ACPI_OK) {
		FUZZ_CHECK(rc < 0 && err[0], "rc %d, error \"%s\"", rc, err);
		return;
	}
	FUZZ_CHECK(d->unit_count <= DMAR_MAX_UNITS, "%u units", d->unit_count);
	FUZZ_CHECK(d->rmrr_count <= DMAR_MAX_RMRRS, "%u RMRRs", d->rmrr_count);
	for (u32 i = 0; i < d->unit_count; i++) {
		const struct dmar_unit *u = &d->units[i];

		FUZZ_CHECK(u->reg_base && IS_ALIGNED(u->reg_base, PAGE_SIZE),
			   "unit %u base 0x%llx", i,
			   (unsigned long long)u->reg_base);
		FUZZ_CHECK(u->reg_size >= PAGE_SIZE &&
			       (u->reg_size & (u->reg_size - 1)) == 0,
			   "unit %u size %u", i, u->reg_size);
		FUZZ_CHECK(u->scope_count <= DMAR_MAX_SCOPES, "%u scopes",
			   u->scope_count);
		for (u32 j = 0; j < u->scope_count; j++)
			check_scope(&u->scopes[j],
				    u->include_all ? 0x38 : 0x3e);
	}
	for (u32 i = 0; i < d->rmrr_count; i++) {
		const struct dmar_rmrr *r = &d->rmrrs[i];

		FUZZ_CHECK(r->base <= r->limit, "RMRR %u: 0x%llx-0x%llx", i,
			   (unsigned long long)r->base,
			   (unsigned long long)r->limit);
		FUZZ_CHECK(r->scope_count <= DMAR_MAX_RMRR_SCOPES, "%u scopes",
			   r->scope_count);
		for (u32 j = 0; j < r->scope_count; j++)
			check_scope(&r->scopes[j], 0x06);
	}
}

/* Some devices are bridges, some not, some claim a bus above 255. */
static int secondary_bus(void *ctx, u16 bdf)
{
	u32 v = (u32)(bdf * 2654435761u) >> 16 ^ bus_seed;

	(void)ctx;
	return (int)(v % 300) - 20;
}

static void resolve(const struct dmar_scope *s)
{
	u16 bdf = 0xeeee;
	int rc = dmar_scope_bdf(s, secondary_bus, NULL, &bdf);

	if (rc != ACPI_OK) {
		FUZZ_CHECK(rc == ACPI_ERR_INVALID && bdf == 0xeeee,
			   "rc %d, bdf 0x%x", rc, bdf);
		return;
	}
	FUZZ_CHECK((bdf >> 3 & 0x1f) == s->path[s->path_len - 1][0] &&
		       (bdf & 7) == s->path[s->path_len - 1][1],
		   "bdf 0x%x for the last entry %u.%u", bdf,
		   s->path[s->path_len - 1][0], s->path[s->path_len - 1][1]);
	if (s->path_len == 1)
		FUZZ_CHECK(bdf >> 8 == s->start_bus, "bdf 0x%x on bus %u", bdf,
			   s->start_bus);
}

static void parse_table(struct fuzz_in *in)
{
	static struct dmar_info info;
	char err[200] = "";
	size_t len;
	const u8 *bytes;
	u8 *copy;
	int rc;

	bus_seed = fuzz_u8(in);
	bytes = fuzz_rest(in, &len);
	copy = malloc(len ? len : 1);
	memcpy(copy, bytes, len);
	rc = dmar_parse(copy, (u32)len, &info, err, sizeof(err));
	check_info(rc, &info, err);
	free(copy);
	if (rc != ACPI_OK)
		return;
	for (u32 i = 0; i < info.unit_count; i++)
		for (u32 j = 0; j < info.units[i].scope_count; j++)
			resolve(&info.units[i].scopes[j]);
	for (u32 i = 0; i < info.rmrr_count; i++)
		for (u32 j = 0; j < info.rmrrs[i].scope_count; j++)
			resolve(&info.rmrrs[i].scopes[j]);
}

static void read_table(struct fuzz_in *in)
{
	static struct boot_info bi;
	static struct dmar_info info;
	char err[200] = "";
	u8 flags = fuzz_u8(in);
	u32 entry = (u32)TABLE_PA, rsdt_len = sizeof(rsdt);
	u8 *mem;
	int rc;

	/* ACPI 6.5 5.2.5.3: a revision 0 RSDP pointing at the RSDT. */
	memset(&bi, 0, sizeof(bi));
	memcpy(bi.rsdp_copy, "RSD PTR ", 8);
	memcpy(bi.rsdp_copy + 16, (u32[]){(u32)RSDT_PA}, 4);
	bi.rsdp_copy[8] = (u8)-sum(bi.rsdp_copy, 20);
	bi.rsdp_from_loader = true;
	memset(rsdt, 0, sizeof(rsdt));
	memcpy(rsdt, "RSDT", 4);
	memcpy(rsdt + 4, &rsdt_len, 4);
	memcpy(rsdt + 36, &entry, 4);
	rsdt[9] = (u8)-sum(rsdt, sizeof(rsdt));

	table = fuzz_rest(in, &table_size);
	mem = malloc(table_size ? table_size : 1);
	memcpy(mem, table, table_size);
	if ((flags & FLAG_CHECKSUMS) && table_size >= 10) {
		u32 length;

		memcpy(&length, mem + 4, 4);
		if (length <= table_size) {
			mem[9] = 0;
			mem[9] = (u8)-sum(mem, length);
		}
	}
	table = mem;
	rc = acpi_read_dmar(&bi, &info, err, sizeof(err));
	if (rc == ACPI_ERR_NO_TABLE)
		FUZZ_CHECK(err[0], "no table, no message");
	else
		check_info(rc, &info, err);
	unmap_all();
	free(mem);
	table = NULL;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	host_printk_reset();
	acpi_set_mapper(fake_map);
	if (fuzz_u8(&in) % 2 == 0)
		parse_table(&in);
	else
		read_table(&in);
	return 0;
}
