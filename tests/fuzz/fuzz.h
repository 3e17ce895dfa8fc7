/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer targets in tests/fuzz share (tests/fuzz/README.md).
 *
 * A target reads its input as a stream of typed values (struct fuzz_in):
 * a read past the end gives zeros and sets `done`, so an operation loop
 * simply stops when the input is used up and every input is valid.
 *
 * FUZZ_CHECK() states an invariant of the code under test. A failure
 * prints where and why, then aborts, which libFuzzer reports as a crash
 * and saves as a reproducer (the sanitizers do the same for memory and
 * undefined-behaviour errors).
 *
 * fuzz_common.c, linked into every target, makes cmocka failures (the
 * unit-test fakes use its asserts; host panic() is a cmocka assert) abort
 * too, instead of calling exit(), which libFuzzer would not keep.
 */
#ifndef VENEER_TESTS_FUZZ_FUZZ_H
#define VENEER_TESTS_FUZZ_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "core/lib/types.h"

/* VENEER_FUZZ_VERBOSE is set: targets may print what they do. */
extern bool fuzz_verbose;
/*
 * VENEER_FUZZ_KNOWN_BUGS is set: the targets stop steering around the bugs
 * they found that are not fixed yet (each guard names its reproducer in
 * tests/fuzz/crashes/), so those reproducers crash again.
 */
extern bool fuzz_known_bugs;

struct fuzz_in {
	const u8 *data;
	size_t size, pos;
	bool done; /* a read went past the end */
};

static inline struct fuzz_in fuzz_in(const u8 *data, size_t size)
{
	return (struct fuzz_in){.data = data, .size = size};
}

static inline size_t fuzz_left(const struct fuzz_in *in)
{
	return in->size - in->pos;
}

/* The next n (<= 8) bytes, little-endian; 0 for bytes past the end. */
static inline u64 fuzz_uint(struct fuzz_in *in, unsigned n)
{
	u64 v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (in->pos >= in->size) {
			in->done = true;
			break;
		}
		v |= (u64)in->data[in->pos++] << (8 * i);
	}
	return v;
}

static inline u8 fuzz_u8(struct fuzz_in *in)
{
	return (u8)fuzz_uint(in, 1);
}

static inline u16 fuzz_u16(struct fuzz_in *in)
{
	return (u16)fuzz_uint(in, 2);
}

static inline u32 fuzz_u32(struct fuzz_in *in)
{
	return (u32)fuzz_uint(in, 4);
}

static inline u64 fuzz_u64(struct fuzz_in *in)
{
	return fuzz_uint(in, 8);
}

static inline bool fuzz_bool(struct fuzz_in *in)
{
	return fuzz_u8(in) & 1;
}

/* A value in [0, n) (n > 0), from one byte when n fits in one. */
static inline u32 fuzz_below(struct fuzz_in *in, u32 n)
{
	return (u32)(fuzz_uint(in, n <= 256 ? 1 : 4) % n);
}

/* One of the values of an array, picked by one byte. */
#define FUZZ_PICK(in, array) ((array)[fuzz_below((in), ARRAY_SIZE(array))])

/*
 * Up to max bytes of the input, as a pointer into it and a length:
 * one length byte (or two when max > 255), then the bytes themselves.
 */
static inline const u8 *fuzz_bytes(struct fuzz_in *in, size_t max, size_t *len)
{
	size_t want = (size_t)fuzz_uint(in, max > 255 ? 2 : 1) % (max + 1);
	const u8 *p = in->data + in->pos;

	if (want > fuzz_left(in)) {
		want = fuzz_left(in);
		in->done = true;
	}
	in->pos += want;
	*len = want;
	return p;
}

/* The rest of the input, as fuzz_bytes() gives it. */
static inline const u8 *fuzz_rest(struct fuzz_in *in, size_t *len)
{
	const u8 *p = in->data + in->pos;

	*len = fuzz_left(in);
	in->pos = in->size;
	return p;
}

/* A guest-time step: mostly small, sometimes large, in nanoseconds. */
static inline u64 fuzz_time_step(struct fuzz_in *in)
{
	u8 kind = fuzz_u8(in);

	switch (kind & 3) {
	case 0:
		return fuzz_u8(in); /* a few ns */
	case 1:
		return (u64)fuzz_u16(in) * 1000; /* up to 65 ms */
	case 2:
		return (u64)fuzz_u32(in) * 16; /* up to ~69 s */
	default:
		return (u64)fuzz_u32(in) << 20; /* up to ~52 days */
	}
}

/*
 * Guest time set anywhere, up to 2^64 - 1 ns and back. The platform's
 * clock only runs forward (a guest's TSC writes do not move it,
 * core/platform.c), but a device model must stay sane for any time it is
 * handed: deadlines past 2^64 ns are never, not the past.
 */
static inline u64 fuzz_time_jump(struct fuzz_in *in)
{
	return fuzz_u64(in);
}

/* An invariant of the code under test: abort with a message if it fails. */
#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz: invariant failed at %s:%d: %s\nfuzz: ", \
				__FILE__, __LINE__, #cond);                    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/* s holds a NUL within its first `size` bytes. */
static inline bool fuzz_terminated(const char *s, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (!s[i])
			return true;
	return false;
}

/*
 * The host callbacks of a virtio device (core/vdev/virtio_pci.h) that a
 * target does not check: an INTx line and a BAR move going nowhere.
 */
struct virtio_pci;
void fuzz_no_intx(void *ctx, struct virtio_pci *vp, bool level);
void fuzz_no_map(void *ctx, struct virtio_pci *vp, u64 old, u64 base);

/* A byte of PCI function f's configuration space written from the input,
 * as the platform writes it (its write mask, then f->written). */
struct vpci_func;
void fuzz_config_write(struct fuzz_in *in, struct vpci_func *f);

/* Up to 64 bytes of the input over ram[at..], at below size: the driver
 * rewriting its rings and buffers. */
void fuzz_ram_write(struct fuzz_in *in, u8 *ram, u32 size);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

#endif /* VENEER_TESTS_FUZZ_FUZZ_H */
