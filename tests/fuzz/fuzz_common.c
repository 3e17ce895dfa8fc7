/* SPDX-License-Identifier: MIT */
/*
 * Linked into every fuzz target (tests/fuzz/fuzz.h): a cmocka failure
 * outside a cmocka test (an assert in a unit-test fake, or panic() from
 * tests/unit/host_printk.c) calls exit(); CMOCKA_TEST_ABORT makes it
 * abort() instead, which libFuzzer reports as a crash with a reproducer.
 * VENEER_FUZZ_VERBOSE in the environment sets fuzz_verbose and shows the
 * printk() output of the code under test; VENEER_FUZZ_KNOWN_BUGS sets
 * fuzz_known_bugs, which turns off the guards around bugs not fixed yet.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "core/vdev/vpci.h"

bool fuzz_verbose;
bool fuzz_known_bugs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("CMOCKA_TEST_ABORT", "1", 1);
	/* printk() output of the code under test goes to host_printk's log,
	 * and with VENEER_FUZZ_VERBOSE to stderr too (tests/fuzz/README.md). */
	fuzz_verbose = getenv("VENEER_FUZZ_VERBOSE") != NULL;
	fuzz_known_bugs = getenv("VENEER_FUZZ_KNOWN_BUGS") != NULL;
	if (fuzz_verbose)
		setenv("VENEER_TEST_VERBOSE", "1", 1);
	else
		unsetenv("VENEER_TEST_VERBOSE");
	return 0;
}

void fuzz_no_intx(void *ctx, struct virtio_pci *vp, bool level)
{
	(void)ctx;
	(void)vp;
	(void)level;
}

void fuzz_no_map(void *ctx, struct virtio_pci *vp, u64 old, u64 base)
{
	(void)ctx;
	(void)vp;
	(void)old;
	(void)base;
}

void fuzz_config_write(struct fuzz_in *in, struct vpci_func *f)
{
	u8 off = fuzz_u8(in), v = fuzz_u8(in);

	f->config[off] =
	    (u8)((f->config[off] & ~f->wmask[off]) | (v & f->wmask[off]));
	f->written(f, off, 1);
}

void fuzz_ram_write(struct fuzz_in *in, u8 *ram, u32 size)
{
	u32 at = fuzz_below(in, size);
	size_t len;
	const u8 *b = fuzz_bytes(in, 64, &len);

	len = len < size - at ? len : size - at;
	memcpy(ram + at, b, len);
}
