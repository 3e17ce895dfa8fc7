/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the firmware's ACPI tables as the hypervisor reads them
 * (drivers/acpi.c): the MADT parser, the \_S5 finder in DSDT AML, and the
 * whole walk RSDP -> RSDT/XSDT -> MADT / FADT -> DSDT.
 *
 * Input: one byte choosing the mode, then
 *   0: a MADT (acpi_parse_madt), in a buffer of exactly its size;
 *   1: DSDT AML after the header (acpi_parse_s5), likewise;
 *   2: a flags byte, a 36-byte RSDP copy "from the boot loader", then
 *      physical memory from address 0: acpi_read_madt() and
 *      acpi_read_sleep() walk it through acpi_map().
 *
 * The fake acpi_map() gives each mapping its own heap copy of exactly the
 * bytes asked for, so reading past what was mapped is an ASan error. The
 * BIOS area 0xE0000-0xFFFFF that the RSDP scan reads is a second window
 * onto the start of the input. With flags bit 0 the mapper fixes the
 * checksum of every whole table it maps, and the RSDPs in the memory and
 * the boot loader's copy get valid checksums, so the fuzzer gets past the
 * checksums to the parsers (with bit 0 clear, the checksums are tested).
 */
#include <string.h>

#include "drivers/acpi.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/host_printk.h"

#define BIOS_AREA_START 0xE0000ull
#define BIOS_AREA_END	0x100000ull
#define MAX_MAPPINGS	4096
#define FLAG_CHECKSUMS	1

static const u8 *memory;
static size_t memory_size;
static bool fix_checksums;
static void *mappings[MAX_MAPPINGS];
static u32 mapping_count;

static u8 sum(const u8 *p, size_t len)
{
	u8 s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

/* Set byte `at` so that bytes [0, len) sum to zero. */
static void fix_sum(u8 *p, size_t len, size_t at)
{
	p[at] = 0;
	p[at] = (u8)-sum(p, len);
}

static bool looks_like_table(const u8 *p, u64 len)
{
	u32 length;

	if (len < sizeof(struct acpi_table_header))
		return false;
	memcpy(&length, p + 4, sizeof(length));
	return length == len;
}

/* ACPI 6.5 5.2.5.3: checksum over 20 bytes, extended over `length`. */
static void fix_rsdp(u8 *r, size_t available)
{
	u32 length;

	if (available < ACPI_RSDP_V1_SIZE)
		return;
	fix_sum(r, ACPI_RSDP_V1_SIZE, 8);
	if (available < ACPI_RSDP_V2_SIZE || r[15] < 2)
		return;
	memcpy(&length, r + 20, sizeof(length));
	if (length >= ACPI_RSDP_V2_SIZE && length <= available)
		fix_sum(r, length, 32);
}

static const void *fake_map(u64 pa, u64 len)
{
	u64 offset;
	u8 *copy;

	if (pa >= BIOS_AREA_START && pa < BIOS_AREA_END)
		offset = pa - BIOS_AREA_START;
	else
		offset = pa;
	if (offset > memory_size || len > memory_size - offset || len == 0 ||
	    mapping_count == MAX_MAPPINGS)
		return NULL;
	copy = malloc(len);
	memcpy(copy, memory + offset, len);
	if (fix_checksums && looks_like_table(copy, len))
		fix_sum(copy, len, 9);
	mappings[mapping_count++] = copy;
	return copy;
}

static void unmap_all(void)
{
	while (mapping_count)
		free(mappings[--mapping_count]);
}

static void check_madt(int rc, const struct acpi_madt_info *m, const char *err)
{
	if (rc != ACPI_OK) {
		FUZZ_CHECK(rc < 0 && err[0], "rc %d, error \"%s\"", rc, err);
		return;
	}
	FUZZ_CHECK(m->cpu_count >= 1 && m->cpu_count <= ACPI_MAX_CPUS,
		   "%u CPUs", m->cpu_count);
	FUZZ_CHECK(m->ioapic_count <= ACPI_MAX_IOAPICS, "%u IOAPICs",
		   m->ioapic_count);
	FUZZ_CHECK(m->override_count <= ACPI_MAX_OVERRIDES, "%u overrides",
		   m->override_count);
	for (u32 i = 0; i < m->cpu_count; i++)
		for (u32 j = 0; j < i; j++)
			FUZZ_CHECK(m->apic_ids[i] != m->apic_ids[j],
				   "APIC ID %u listed twice", m->apic_ids[i]);
}

static void parse_madt(struct fuzz_in *in)
{
	struct acpi_madt_info info;
	char err[200] = "";
	size_t len;
	const u8 *bytes = fuzz_rest(in, &len);
	u8 *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, bytes, len);
	rc = acpi_parse_madt(copy, (u32)len, &info, err, sizeof(err));
	check_madt(rc, &info, err);
	free(copy);
}

static void parse_s5(struct fuzz_in *in)
{
	u8 a = 0xee, b = 0xee;
	char err[200] = "";
	size_t len;
	const u8 *bytes = fuzz_rest(in, &len);
	u8 *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, bytes, len);
	rc = acpi_parse_s5(copy, (u32)len, &a, &b, err, sizeof(err));
	if (rc == ACPI_OK)
		FUZZ_CHECK(a <= 7 && b <= 7, "SLP_TYP %u %u", a, b);
	else
		FUZZ_CHECK(rc < 0 && err[0] && a == 0xee && b == 0xee,
			   "rc %d, error \"%s\", outputs %u %u", rc, err, a, b);
	free(copy);
}

static void walk_tables(struct fuzz_in *in)
{
	static struct boot_info bi;
	struct acpi_madt_info madt;
	struct acpi_sleep_info sleep;
	char err[200] = "";
	u8 flags = fuzz_u8(in);
	size_t len;
	const u8 *rsdp = fuzz_bytes(in, ACPI_RSDP_V2_SIZE, &len);
	u8 *mem;
	int rc;

	memset(&bi, 0, sizeof(bi));
	bi.rsdp_from_loader = len > 0;
	memcpy(bi.rsdp_copy, rsdp, len);
	bi.rsdp = bi.rsdp_from_loader ? (u64)(uintptr_t)bi.rsdp_copy : 0;

	rsdp = fuzz_rest(in, &memory_size);
	mem = malloc(memory_size ? memory_size : 1);
	memcpy(mem, rsdp, memory_size);
	fix_checksums = flags & FLAG_CHECKSUMS;
	if (fix_checksums) {
		fix_rsdp(bi.rsdp_copy, sizeof(bi.rsdp_copy));
		for (size_t off = 0; off + 8 <= memory_size; off += 16)
			if (!memcmp(mem + off, "RSD PTR ", 8))
				fix_rsdp(mem + off, memory_size - off);
	}
	memory = mem;

	rc = acpi_read_madt(&bi, &madt, err, sizeof(err));
	check_madt(rc, &madt, err);
	unmap_all();

	err[0] = '\0';
	rc = acpi_read_sleep(&bi, &sleep, err, sizeof(err));
	if (rc == ACPI_OK) {
		FUZZ_CHECK(sleep.pm1a_cnt != 0, "no PM1a_CNT");
		FUZZ_CHECK(sleep.slp_typa <= 7 && sleep.slp_typb <= 7,
			   "SLP_TYP %u %u", sleep.slp_typa, sleep.slp_typb);
	} else {
		FUZZ_CHECK(rc < 0 && err[0], "rc %d, error \"%s\"", rc, err);
	}
	unmap_all();
	free(mem);
	memory = NULL;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	host_printk_reset();
	acpi_set_mapper(fake_map);
	switch (fuzz_u8(&in) % 3) {
	case 0:
		parse_madt(&in);
		break;
	case 1:
		parse_s5(&in);
		break;
	default:
		walk_tables(&in);
		break;
	}
	return 0;
}
