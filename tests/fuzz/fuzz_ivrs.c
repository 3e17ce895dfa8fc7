/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the firmware's IVRS table (drivers/ivrs.c): ivrs_parse(),
 * and acpi_read_ivrs() finding the table through an RSDP and an RSDT.
 *
 * Input: one byte choosing the mode, then
 *   0: an IVRS (ivrs_parse), in a buffer of exactly its size;
 *   1: a flags byte, then an IVRS that acpi_read_ivrs() finds through the
 *      boot loader's RSDP copy and an RSDT built here. With flags bit 0
 *      the table's checksum is fixed, so the parser is reached.
 *
 * Each acpi_map() gets its own heap copy of exactly the bytes asked for,
 * so reading past what was mapped is an ASan error.
 */
#include <string.h>

#include "drivers/ivrs.h"
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

static void check_unit(const struct ivrs_unit *u)
{
	FUZZ_CHECK(u->type == IVRS_IVHD_10 || u->type == IVRS_IVHD_11 ||
		       u->type == IVRS_IVHD_40,
		   "type 0x%x", u->type);
	FUZZ_CHECK(u->base && IS_ALIGNED(u->base, 16 * KiB(1)), "base 0x%llx",
		   (unsigned long long)u->base);
	FUZZ_CHECK(u->type != IVRS_IVHD_10 || u->efr == 0, "EFR in a 10h");
	FUZZ_CHECK(u->range_count <= IVRS_MAX_RANGES, "%u ranges",
		   u->range_count);
	FUZZ_CHECK(u->special_count <= IVRS_MAX_SPECIALS, "%u specials",
		   u->special_count);
	FUZZ_CHECK(u->acpi_hid_count <= 0xffff / 22, "%u ACPI HID entries",
		   u->acpi_hid_count);
	for (u32 i = 0; i < u->range_count; i++) {
		const struct ivrs_range *r = &u->ranges[i];

		FUZZ_CHECK(r->first <= r->last, "range %u: 0x%x-0x%x", i,
			   r->first, r->last);
		FUZZ_CHECK(r->aliased || r->alias == r->first,
			   "range %u: alias 0x%x without aliasing", i,
			   r->alias);
	}
}

static void check_info(int rc, const struct ivrs_info *v, const char *err)
{
	if (rc != ACPI_OK) {
		FUZZ_CHECK(rc < 0 && err[0], "rc %d, error \"%s\"", rc, err);
		return;
	}
	FUZZ_CHECK(v->unit_count <= IVRS_MAX_UNITS, "%u units", v->unit_count);
	FUZZ_CHECK(v->memory_count <= IVRS_MAX_MEMORY, "%u IVMDs",
		   v->memory_count);
	for (u32 i = 0; i < v->unit_count; i++) {
		check_unit(&v->units[i]);
		/* One IVHD per IOMMU: the others were superseded. */
		for (u32 j = 0; j < i; j++)
			FUZZ_CHECK(v->units[i].bdf != v->units[j].bdf ||
				       v->units[i].segment !=
					   v->units[j].segment,
				   "IOMMU 0x%x:%x twice", v->units[i].segment,
				   v->units[i].bdf);
	}
	for (u32 i = 0; i < v->memory_count; i++) {
		const struct ivrs_memory *m = &v->memory[i];

		FUZZ_CHECK(m->type >= IVRS_IVMD_ALL &&
			       m->type <= IVRS_IVMD_RANGE,
			   "IVMD type 0x%x", m->type);
		FUZZ_CHECK(m->device <= m->last, "IVMD %u: 0x%x-0x%x", i,
			   m->device, m->last);
		FUZZ_CHECK(m->length == 0 ||
			       m->start + (m->length - 1) >= m->start,
			   "IVMD %u wraps", i);
	}
}

static void parse_table(struct fuzz_in *in)
{
	static struct ivrs_info info;
	char err[200] = "";
	size_t len;
	const u8 *bytes = fuzz_rest(in, &len);
	u8 *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, bytes, len);
	rc = ivrs_parse(copy, (u32)len, &info, err, sizeof(err));
	check_info(rc, &info, err);
	free(copy);
}

static void read_table(struct fuzz_in *in)
{
	static struct boot_info bi;
	static struct ivrs_info info;
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
	rc = acpi_read_ivrs(&bi, &info, err, sizeof(err));
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
