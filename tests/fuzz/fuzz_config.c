/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the configuration file (core/config.c).
 *
 * Input: the file's text, any bytes, not NUL-terminated (as the module's
 * memory holds it). The boot modules beside it are fixed: the
 * configuration itself, an ELF kernel, a Linux bzImage, an initrd, a
 * second ELF, with real-looking first bytes for the format checks. Four
 * host CPUs, 1 GiB free.
 *
 * Checks: every reported line is a terminated sentence shorter than
 * CONFIG_MSG_MAX; with no error, every guest has a valid name, a kernel
 * that is one of the modules but not the configuration, RAM of at least
 * the minimum in whole pages, 1 to GUESTCFG_VCPUS_MAX vCPUs, each vCPU
 * on a CPU that exists and that
 * no other vCPU of any guest has, and all of them fit in the free memory.
 */
#include <string.h>

#include "core/config.h"
#include "core/guestcfg.h"
#include "core/linux_spec.h"
#include "tests/fuzz/fuzz.h"

#define CPUS	   4
#define FREE_BYTES (1ull << 30)

static const char *const module_strings[] = {
    "boot/fuzz.cfg config", "boot/hello.elf", "boot/vmlinuz",
    "boot/initrd.img",	    "boot/spin.elf",
};
#define MODULES ARRAY_SIZE(module_strings)

static struct boot_module modules[MODULES];
static u8 module_bytes[MODULES][1024];
static struct guest_image images[CONFIG_GUESTS_MAX];
static u32 reports;

static const void *module_data(const struct boot_module *m)
{
	FUZZ_CHECK(m >= modules && m < modules + MODULES,
		   "module_data of a module not given");
	return module_bytes[m - modules];
}

static void report(void *ctx, const char *message)
{
	(void)ctx;
	FUZZ_CHECK(fuzz_terminated(message, CONFIG_MSG_MAX) && message[0],
		   "an error line that is not a terminated sentence");
	reports++;
}

static void setup_modules(void)
{
	static bool done;
	u32 magic = LINUX_HEADER_MAGIC;

	if (done)
		return;
	done = true;
	for (u32 i = 0; i < MODULES; i++) {
		struct boot_module *m = &modules[i];

		memset(m, 0, sizeof(*m));
		strncpy(m->string, module_strings[i], sizeof(m->string) - 1);
		m->string_len = (u32)strlen(m->string);
		m->start = 0x1000000ull * (i + 1);
		m->end = m->start + sizeof(module_bytes[i]);
		memset(module_bytes[i], 'x', sizeof(module_bytes[i]));
	}
	memcpy(module_bytes[1],
	       "\x7f"
	       "ELF\x01\x01\x01",
	       7);
	memcpy(module_bytes[4],
	       "\x7f"
	       "ELF\x01\x01\x01",
	       7);
	memcpy(module_bytes[2] + LINUX_HDR_FIELD(header), &magic,
	       sizeof(magic));
}

static void check_guests(const struct config_result *res)
{
	u64 mem = 0;
	bool cpu_taken[CPUS] = {false};

	FUZZ_CHECK(res->guests <= CONFIG_GUESTS_MAX, "%u guests", res->guests);
	for (u32 i = 0; i < res->guests; i++) {
		const struct guest_image *gi = &images[i];
		const struct guest_cfg *cfg = &gi->cfg;
		size_t len = strnlen(cfg->name, GUESTCFG_NAME_MAX);

		FUZZ_CHECK(len > 0 && len < GUESTCFG_NAME_MAX, "guest %u name",
			   i);
		FUZZ_CHECK(gi->mod > modules && gi->mod < modules + MODULES,
			   "guest %s: kernel is not a module (or is the "
			   "configuration)",
			   cfg->name);
		FUZZ_CHECK(gi->module_count <= GUEST_MODULES_MAX,
			   "guest %s: %u modules", cfg->name, gi->module_count);
		for (u32 j = 0; j < gi->module_count; j++)
			FUZZ_CHECK(gi->modules[j] > modules &&
				       gi->modules[j] < modules + MODULES,
				   "guest %s: module %u not a module",
				   cfg->name, j);
		FUZZ_CHECK(cfg->mem >= GUESTCFG_MIN_MEM &&
			       IS_ALIGNED(cfg->mem, PAGE_SIZE),
			   "guest %s: mem 0x%llx", cfg->name,
			   (unsigned long long)cfg->mem);
		FUZZ_CHECK(cfg->vcpus >= 1 &&
			       cfg->vcpus <= GUESTCFG_VCPUS_MAX &&
			       cfg->vcpus <= CPUS,
			   "guest %s: %u vCPUs", cfg->name, cfg->vcpus);
		FUZZ_CHECK(cfg->cpu_fixed, "guest %s: no CPUs", cfg->name);
		for (u32 v = 0; v < cfg->vcpus; v++) {
			FUZZ_CHECK(cfg->cpu[v] < CPUS &&
				       !cpu_taken[cfg->cpu[v]],
				   "guest %s: vCPU %u on cpu %u", cfg->name, v,
				   cfg->cpu[v]);
			cpu_taken[cfg->cpu[v]] = true;
		}
		FUZZ_CHECK(fuzz_terminated(cfg->cmdline, sizeof(cfg->cmdline)),
			   "guest %s: command line not terminated", cfg->name);
		mem += cfg->mem;
		for (u32 j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(images[j].cfg.name, cfg->name) != 0,
				   "two guests called %s", cfg->name);
	}
	FUZZ_CHECK(mem <= FREE_BYTES, "guests need %llu bytes, %llu free",
		   (unsigned long long)mem, (unsigned long long)FREE_BYTES);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct config_env env = {
	    .file = "boot/fuzz.cfg",
	    .modules = modules,
	    .module_count = MODULES,
	    .config_module = 0,
	    .cpus = CPUS,
	    .free_bytes = FREE_BYTES,
	    .module_data = module_data,
	    .report = report,
	};
	struct config_result res;
	/* A copy of exactly `size` bytes: ASan sees any read past the end. */
	char *text = malloc(size ? size : 1);
	u32 errors;

	setup_modules();
	memcpy(text, data, size);
	memset(images, 0xa5, sizeof(images));
	memset(&res, 0x5a, sizeof(res));
	reports = 0;
	errors =
	    config_parse(text, size, &env, images, CONFIG_GUESTS_MAX, &res);
	FUZZ_CHECK(errors == res.errors, "returned %u, counted %u", errors,
		   res.errors);
	FUZZ_CHECK(
	    reports ==
		(errors < CONFIG_ERRORS_SHOWN ? errors : CONFIG_ERRORS_SHOWN),
	    "%u errors, %u reported", errors, reports);
	if (!errors)
		check_guests(&res);
	free(text);
	return 0;
}
