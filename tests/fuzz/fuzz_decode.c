/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the decoder of the instruction behind an MMIO exit and the
 * register updates that complete it (core/decode.c).
 *
 * Input: the mode (16, 32, 64), how many bytes are readable (0-15), the
 * value the device returns, the 16 guest registers, then the instruction
 * bytes (a buffer of exactly the readable bytes, so reading past them is
 * an ASan error).
 *
 * Checked for a decoded instruction (core/decode.h): its length is 1-15
 * and within the readable bytes, and it decodes the same from exactly
 * that many bytes and not from one fewer; the sizes are 1, 2, 4 or 8, the
 * access no wider than the register, the register 0-15 (AH..BH only
 * without REX), an immediate only for stores and within its size; a load
 * changes the destination register alone, as x86 does, and a store
 * changes no register and stores a value of the access size.
 */
#include <string.h>

#include "core/decode.h"
#include "tests/fuzz/fuzz.h"

static const enum decode_mode modes[] = {DECODE_MODE_16, DECODE_MODE_32,
					 DECODE_MODE_64};

static bool size_ok(u8 size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static u64 mask(u8 size)
{
	return size >= 8 ? ~0ull : BIT(size * 8) - 1;
}

static void check_insn(const struct mmio_insn *in, u32 avail)
{
	FUZZ_CHECK(in->len >= 1 && in->len <= DECODE_MAX_INSN_LEN &&
		       in->len <= avail,
		   "length %u of %u bytes", in->len, avail);
	FUZZ_CHECK(size_ok(in->size) && size_ok(in->reg_size) &&
		       in->size <= in->reg_size,
		   "sizes %u / %u", in->size, in->reg_size);
	FUZZ_CHECK(in->read || in->write, "neither load nor store");
	FUZZ_CHECK(in->reg < 16, "register %u", in->reg);
	FUZZ_CHECK(!in->high_byte ||
		       (in->reg_size == 1 && in->reg >= 4 && in->reg <= 7),
		   "high byte register %u", in->reg);
	FUZZ_CHECK(!in->has_imm || (in->write && !in->read),
		   "an immediate for a load");
	FUZZ_CHECK((in->imm & ~mask(in->size)) == 0,
		   "immediate 0x%llx wider than %u bytes",
		   (unsigned long long)in->imm, in->size);
	FUZZ_CHECK(in->mnemonic, "no mnemonic");
}

/* Completing the access changes only what x86 changes. */
static void check_completion(const struct mmio_insn *in, u64 value,
			     const u64 *gprs)
{
	u64 after[16];
	u64 stored = mmio_write_value(in, gprs);

	memcpy(after, gprs, sizeof(after));
	mmio_complete_read(in, value, after);
	if (!in->read) {
		FUZZ_CHECK(!memcmp(after, gprs, sizeof(after)),
			   "a store changed a register");
	} else {
		u32 dst = in->high_byte ? in->reg - 4u : in->reg;

		for (u32 r = 0; r < 16; r++)
			FUZZ_CHECK(r == dst || after[r] == gprs[r],
				   "load into %u changed register %u", dst, r);
		if (in->high_byte)
			FUZZ_CHECK((after[dst] & ~0xff00ull) ==
					   (gprs[dst] & ~0xff00ull) &&
				       ((after[dst] >> 8) & 0xff) ==
					   (value & 0xff),
				   "AH-style load");
		else if (in->reg_size >= 4)
			FUZZ_CHECK((after[dst] & ~mask(in->reg_size)) == 0,
				   "upper bits left by a %u-byte load",
				   in->reg_size);
		else
			FUZZ_CHECK((after[dst] & ~mask(in->reg_size)) ==
				       (gprs[dst] & ~mask(in->reg_size)),
				   "a %u-byte load changed upper bits",
				   in->reg_size);
		if (in->extend != MMIO_EXTEND_SIGN && !in->high_byte)
			FUZZ_CHECK((after[dst] & mask(in->size)) ==
				       (value & mask(in->size)),
				   "loaded value");
	}
	if (in->write)
		FUZZ_CHECK((stored & ~mask(in->size)) == 0,
			   "stored 0x%llx wider than %u bytes",
			   (unsigned long long)stored, in->size);
	else
		FUZZ_CHECK(stored == 0, "a load stores 0x%llx",
			   (unsigned long long)stored);
}

static bool same_insn(const struct mmio_insn *a, const struct mmio_insn *b)
{
	return a->mnemonic == b->mnemonic && a->len == b->len &&
	       a->size == b->size && a->read == b->read &&
	       a->write == b->write && a->has_imm == b->has_imm &&
	       a->reg == b->reg && a->reg_size == b->reg_size &&
	       a->high_byte == b->high_byte && a->extend == b->extend &&
	       a->imm == b->imm;
}

static int decode_copy(const u8 *bytes, u32 n, enum decode_mode mode,
		       struct mmio_insn *out)
{
	u8 *copy = malloc(n ? n : 1);
	char err[160];
	int rc;

	memcpy(copy, bytes, n);
	memset(err, 0x5a, sizeof(err));
	rc = decode_mmio(copy, n, mode, out, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || (rc == -1 && fuzz_terminated(err, sizeof(err)) &&
			       err[0]),
		   "rc %d without an error sentence", rc);
	free(copy);
	return rc;
}

/*
 * The prefix reader for exits without a length (core/prefix.c): the
 * prefixes stay within the readable bytes and 15, the address size is 2,
 * 4 or 8, and a match is exactly prefixes + opcode + operand bytes.
 */
static void check_prefixes(const u8 *bytes, u32 avail, enum decode_mode mode)
{
	static const struct decode_opcode ops[] = {
	    {.len = 2, .bytes = {0x0f, 0xa2}},		     /* CPUID */
	    {.len = 2, .bytes = {0x0f, 0x22}, .operand = 1}, /* MOV CRn */
	    {.len = 1, .bytes = {0xf4}},		     /* HLT */
	};
	struct decode_prefixes p;
	u32 len = 0;
	enum decode_match m =
	    decode_match_opcode(bytes, avail, mode, ops, 3, &p, &len);
	u8 asz = decode_address_size(mode, &p);

	FUZZ_CHECK(p.count <= avail && p.count <= DECODE_MAX_INSN_LEN,
		   "%u prefixes in %u bytes", p.count, avail);
	FUZZ_CHECK(asz == 2 || asz == 4 || asz == 8, "address size %u", asz);
	if (m != DECODE_MATCH_OK)
		return;
	FUZZ_CHECK(len >= 1 && len <= avail && len <= DECODE_MAX_INSN_LEN,
		   "matched length %u of %u bytes", len, avail);
	FUZZ_CHECK(len > p.count, "length %u within %u prefixes", len, p.count);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	enum decode_mode mode = FUZZ_PICK(&in, modes);
	u32 avail = fuzz_below(&in, DECODE_MAX_INSN_LEN + 1);
	u64 value = fuzz_u64(&in);
	u64 gprs[16];
	struct mmio_insn insn, again;
	size_t len;
	const u8 *bytes;

	for (u32 r = 0; r < 16; r++)
		gprs[r] = fuzz_u64(&in);
	bytes = fuzz_rest(&in, &len);
	avail = MIN(avail, (u32)len);

	check_prefixes(bytes, avail, mode);
	if (decode_copy(bytes, avail, mode, &insn))
		return 0;
	check_insn(&insn, avail);
	check_completion(&insn, value, gprs);

	/* Exactly len bytes are the instruction. */
	FUZZ_CHECK(!decode_copy(bytes, insn.len, mode, &again) &&
		       same_insn(&again, &insn),
		   "decodes differently from its own %u bytes", insn.len);
	FUZZ_CHECK(decode_copy(bytes, insn.len - 1u, mode, &again) == -1,
		   "decodes from %u bytes too", insn.len - 1u);
	return 0;
}
