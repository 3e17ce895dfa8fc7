/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the hypervisor's command line (core/cmdline.c).
 *
 * Input: the command line, any bytes; a NUL is added at its end (the
 * multiboot parser always hands over a terminated string).
 */
#include <string.h>

#include "core/cmdline.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct hv_options o;
	char err[160];
	char *line = malloc(size + 1);
	int rc;

	memcpy(line, data, size);
	line[size] = '\0';
	memset(err, 0x5a, sizeof(err));
	rc = cmdline_parse(line, &o, err, sizeof(err));
	FUZZ_CHECK(fuzz_terminated(err, sizeof(err)), "error not terminated");
	if (rc == 0) {
		/* Only values the documented options allow (core/cmdline.h). */
		FUZZ_CHECK(o.serial_port >= 1 && o.serial_port <= 0xfff8,
			   "serial port 0x%x", o.serial_port);
		FUZZ_CHECK(o.baud && UART_BASE_BAUD % o.baud == 0, "baud %u",
			   o.baud);
		FUZZ_CHECK(o.stats_seconds <= STATS_MAX_SECONDS, "stats %u",
			   o.stats_seconds);
		FUZZ_CHECK(o.selftest == SELFTEST_NONE ||
			       o.selftest == SELFTEST_FAULT ||
			       o.selftest == SELFTEST_IOMMU,
			   "selftest %u", o.selftest);
		FUZZ_CHECK((u32)o.log_level < LOG_LEVEL_COUNT, "log level %u",
			   (u32)o.log_level);
		FUZZ_CHECK(!err[0], "success with error \"%s\"", err);
	} else {
		FUZZ_CHECK(rc == -1 && err[0], "rc %d, error \"%s\"", rc, err);
	}
	free(line);
	return 0;
}
