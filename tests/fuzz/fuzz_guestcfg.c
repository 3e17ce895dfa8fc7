/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: guest declarations in multiboot module strings
 * (core/guestcfg.c).
 *
 * Input: the module string, any bytes, NUL-terminated here (as the
 * multiboot parser hands it over). The same bytes also go through
 * guestcfg_parse_size() as a (pointer, length) pair.
 */
#include <string.h>

#include "core/guestcfg.h"
#include "tests/fuzz/fuzz.h"

static bool name_ok(const char *s)
{
	size_t len = strnlen(s, GUESTCFG_NAME_MAX);

	if (len == 0 || len >= GUESTCFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

static void check_cfg(const struct guest_cfg *cfg)
{
	FUZZ_CHECK(name_ok(cfg->name), "bad name \"%.*s\"",
		   (int)sizeof(cfg->name), cfg->name);
	FUZZ_CHECK(!cfg->for_guest[0] || name_ok(cfg->for_guest),
		   "bad for= name");
	FUZZ_CHECK(fuzz_terminated(cfg->cmdline, sizeof(cfg->cmdline)),
		   "command line not terminated");
	FUZZ_CHECK(cfg->mem >= GUESTCFG_MIN_MEM &&
		       IS_ALIGNED(cfg->mem, PAGE_SIZE),
		   "mem 0x%llx", (unsigned long long)cfg->mem);
	FUZZ_CHECK(cfg->format == GUEST_FORMAT_ELF ||
		       cfg->format == GUEST_FORMAT_RAW ||
		       cfg->format == GUEST_FORMAT_LINUX,
		   "format %d", (int)cfg->format);
	FUZZ_CHECK(!(cfg->real_mode && cfg->format == GUEST_FORMAT_ELF),
		   "an ELF guest in real mode");
	if (cfg->format == GUEST_FORMAT_RAW) {
		FUZZ_CHECK(cfg->load < cfg->mem, "raw load 0x%llx outside RAM",
			   (unsigned long long)cfg->load);
		FUZZ_CHECK(!cfg->real_mode || cfg->load < MiB(1),
			   "real-mode load 0x%llx above 1 MiB",
			   (unsigned long long)cfg->load);
	}
	/* pci=: within the limit, each function once, device <= 31. */
	FUZZ_CHECK(cfg->pci_count <= GUESTCFG_PCI_MAX, "%u PCI functions",
		   cfg->pci_count);
	for (u32 i = 0; i < cfg->pci_count && i < GUESTCFG_PCI_MAX; i++)
		for (u32 j = 0; j < i; j++)
			FUZZ_CHECK(cfg->pci[i] != cfg->pci[j],
				   "PCI function 0x%x twice", cfg->pci[i]);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct guest_cfg cfg;
	char err[200];
	char *line = malloc(size + 1);
	u64 bytes = 0;
	int rc;

	memcpy(line, data, size);
	line[size] = '\0';
	memset(err, 0x5a, sizeof(err));
	rc = guestcfg_parse(line, &cfg, err, sizeof(err));
	if (rc == 0)
		check_cfg(&cfg);
	else
		FUZZ_CHECK(rc == -1 && fuzz_terminated(err, sizeof(err)) &&
			       err[0],
			   "rc %d, error not a sentence", rc);

	/* The size syntax alone: a value, or false with *out untouched. */
	if (guestcfg_parse_size((const char *)data, size, &bytes))
		FUZZ_CHECK(size > 0, "a size from no characters");
	else
		FUZZ_CHECK(bytes == 0, "refused size wrote 0x%llx",
			   (unsigned long long)bytes);
	free(line);
	return 0;
}
