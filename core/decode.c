/* SPDX-License-Identifier: MIT */
/*
 * Decoding of the memory-accessing instruction behind an MMIO exit
 * (contract in core/decode.h, overview in docs/decode.md).
 *
 * Instruction format: SDM Vol. 2A chapter 2 (legacy prefixes 2.1.1, ModRM
 * and SIB 2.1.5 tables 2-1 to 2-3, REX 2.2.1, RIP-relative 2.2.1.6); opcodes
 * from the MOV, MOVZX, MOVSX/MOVSXD and XCHG pages of Vol. 2B.
 */
#include "core/decode.h"
#include "core/lib/format.h"

/* Legacy prefixes (SDM Vol. 2A 2.1.1). */
#define PREFIX_OPERAND_SIZE 0x66
#define PREFIX_ADDRESS_SIZE 0x67
#define PREFIX_LOCK	    0xf0
#define PREFIX_REPNE	    0xf2
#define PREFIX_REP	    0xf3
#define PREFIX_SEG_ES	    0x26
#define PREFIX_SEG_CS	    0x2e
#define PREFIX_SEG_SS	    0x36
#define PREFIX_SEG_DS	    0x3e
#define PREFIX_SEG_FS	    0x64
#define PREFIX_SEG_GS	    0x65
#define OPCODE_ESCAPE	    0x0f

/* REX prefix 0100WRXB, 64-bit mode only (SDM Vol. 2A 2.2.1.2). */
#define REX_W BIT(3)
#define REX_R BIT(2)

#define MODRM_MOD_REGISTER 3 /* mod=11: the operand is a register */

/* How an opcode's operands are laid out. */
enum insn_form {
	FORM_STORE_REG,	  /* r/m <- reg (ModRM) */
	FORM_LOAD_REG,	  /* reg <- r/m (ModRM) */
	FORM_STORE_IMM,	  /* r/m <- imm, ModRM.reg must be 0 */
	FORM_XCHG,	  /* r/m <-> reg (ModRM) */
	FORM_LOAD_MOFFS,  /* AL/eAX/RAX <- [moffs] */
	FORM_STORE_MOFFS, /* [moffs] <- AL/eAX/RAX */
};

struct opcode_info {
	bool escape_0f; /* two-byte opcode 0F xx */
	u8 opcode;
	enum insn_form form;
	bool byte_operand; /* operand size is 1 whatever the prefixes say */
	u8 source_max;	   /* memory operand at most this wide (0: none) */
	enum mmio_extend extend;
	bool long_mode_only;
	const char *mnemonic;
};

/* Columns: 0F-escaped, opcode, form, byte operand, source_max, extend,
 * 64-bit mode only, mnemonic. */
static const struct opcode_info opcode_map[] = {
    /* MOV: SDM Vol. 2B "MOV - Move". */
    {false, 0x88, FORM_STORE_REG, true, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0x89, FORM_STORE_REG, false, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0x8a, FORM_LOAD_REG, true, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0x8b, FORM_LOAD_REG, false, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0xa0, FORM_LOAD_MOFFS, true, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0xa1, FORM_LOAD_MOFFS, false, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0xa2, FORM_STORE_MOFFS, true, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0xa3, FORM_STORE_MOFFS, false, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0xc6, FORM_STORE_IMM, true, 0, MMIO_EXTEND_NONE, false, "mov"},
    {false, 0xc7, FORM_STORE_IMM, false, 0, MMIO_EXTEND_NONE, false, "mov"},
    /* XCHG: Linux's xAPIC write on CPUs with the 11AP erratum. */
    {false, 0x86, FORM_XCHG, true, 0, MMIO_EXTEND_NONE, false, "xchg"},
    {false, 0x87, FORM_XCHG, false, 0, MMIO_EXTEND_NONE, false, "xchg"},
    /* MOVZX / MOVSX; MOVSXD is ARPL outside 64-bit mode. */
    {true, 0xb6, FORM_LOAD_REG, false, 1, MMIO_EXTEND_ZERO, false, "movzx"},
    {true, 0xb7, FORM_LOAD_REG, false, 2, MMIO_EXTEND_ZERO, false, "movzx"},
    {true, 0xbe, FORM_LOAD_REG, false, 1, MMIO_EXTEND_SIGN, false, "movsx"},
    {true, 0xbf, FORM_LOAD_REG, false, 2, MMIO_EXTEND_SIGN, false, "movsx"},
    {false, 0x63, FORM_LOAD_REG, false, 4, MMIO_EXTEND_SIGN, true, "movsxd"},
};

/* Decoder state for one instruction. */
struct decoder {
	const u8 *bytes;
	u32 limit; /* bytes that may be read: min(avail, 15) */
	u32 pos;   /* next byte to read */
	enum decode_mode mode;
	char *err;
	size_t errlen;
	struct decode_prefixes p;
};

/* "0f b6 04 25" for the first n bytes, for messages. */
static void hex_bytes(char *buf, size_t size, const u8 *bytes, u32 n)
{
	static const char digits[] = "0123456789abcdef";
	size_t out = 0;

	for (u32 i = 0; i < n && out + 4 <= size; i++) {
		if (i)
			buf[out++] = ' ';
		buf[out++] = digits[bytes[i] >> 4];
		buf[out++] = digits[bytes[i] & 0xf];
	}
	if (size)
		buf[out < size ? out : size - 1] = '\0';
}

#define HEX_BUF_SIZE (3 * DECODE_MAX_INSN_LEN + 1)

/* Makes sure n more bytes can be read; otherwise says why not. */
static int need(struct decoder *d, u32 n)
{
	char seen[HEX_BUF_SIZE];

	if (d->pos + n <= d->limit)
		return 0;
	hex_bytes(seen, sizeof(seen), d->bytes, d->limit);
	if (d->limit == DECODE_MAX_INSN_LEN)
		/* Longer than 15 bytes raises #GP (SDM Vol. 2A 2.3.11). */
		snformat(d->err, d->errlen,
			 "instruction longer than %u bytes (%s ...)",
			 DECODE_MAX_INSN_LEN, seen);
	else
		snformat(d->err, d->errlen,
			 "instruction truncated: %u byte%s available, at "
			 "least %u needed (%s)",
			 d->limit, d->limit == 1 ? "" : "s", d->pos + n,
			 d->limit ? seen : "no bytes");
	return -1;
}

void decode_prefixes(const u8 *bytes, u32 avail, enum decode_mode mode,
		     struct decode_prefixes *out)
{
	u32 limit = MIN(avail, (u32)DECODE_MAX_INSN_LEN);
	u32 i;

	*out = (struct decode_prefixes){.segment = DECODE_SEG_NONE};
	for (i = 0; i < limit; i++) {
		u8 b = bytes[i];

		switch (b) {
		case PREFIX_OPERAND_SIZE:
			out->operand_size = true;
			break;
		case PREFIX_ADDRESS_SIZE:
			out->address_size = true;
			break;
		case PREFIX_LOCK:
			out->lock = true;
			break;
		case PREFIX_REPNE:
		case PREFIX_REP:
			out->rep = b;
			break;
		case PREFIX_SEG_ES:
			out->segment = DECODE_SEG_ES;
			break;
		case PREFIX_SEG_CS:
			out->segment = DECODE_SEG_CS;
			break;
		case PREFIX_SEG_SS:
			out->segment = DECODE_SEG_SS;
			break;
		case PREFIX_SEG_DS:
			out->segment = DECODE_SEG_DS;
			break;
		case PREFIX_SEG_FS:
			out->segment = DECODE_SEG_FS;
			break;
		case PREFIX_SEG_GS:
			out->segment = DECODE_SEG_GS;
			break;
		default:
			if (mode != DECODE_MODE_64 || (b & 0xf0) != 0x40)
				goto done;
			out->rex = b;
			continue;
		}
		/* A REX prefix counts only right before the opcode (2.2.1). */
		out->rex = 0;
	}
done:
	out->count = (u8)i;
}

u8 decode_address_size(enum decode_mode mode, const struct decode_prefixes *p)
{
	switch (mode) {
	case DECODE_MODE_64:
		return p->address_size ? 4 : 8;
	case DECODE_MODE_32:
		return p->address_size ? 2 : 4;
	default:
		return p->address_size ? 4 : 2;
	}
}

enum decode_match decode_match_opcode(const u8 *bytes, u32 avail,
				      enum decode_mode mode,
				      const struct decode_opcode *ops, u32 n,
				      struct decode_prefixes *prefixes,
				      u32 *len)
{
	u32 at, limit = MIN(avail, (u32)DECODE_MAX_INSN_LEN);
	bool truncated = false;

	decode_prefixes(bytes, avail, mode, prefixes);
	at = prefixes->count;
	for (u32 k = 0; k < n; k++) {
		const struct decode_opcode *op = &ops[k];
		u32 end = at + op->len + op->operand;
		u32 i;

		/* Compare the opcode bytes that are there. */
		for (i = 0; i < op->len && at + i < limit; i++)
			if (bytes[at + i] != op->bytes[i])
				break;
		if (i < op->len && at + i < limit)
			continue; /* a byte differs */
		if (end > DECODE_MAX_INSN_LEN)
			return DECODE_MATCH_TOO_LONG;
		if (end > limit) {
			truncated = true;
			continue;
		}
		*len = end;
		return DECODE_MATCH_OK;
	}
	if (at == DECODE_MAX_INSN_LEN)
		return DECODE_MATCH_TOO_LONG; /* 15 prefixes, opcode unseen */
	return truncated ? DECODE_MATCH_TRUNCATED : DECODE_MATCH_OTHER;
}

static const struct opcode_info *lookup(const struct decoder *d, bool escape,
					u8 opcode)
{
	for (size_t i = 0; i < ARRAY_SIZE(opcode_map); i++) {
		const struct opcode_info *op = &opcode_map[i];

		if (op->escape_0f != escape || op->opcode != opcode)
			continue;
		if (op->long_mode_only && d->mode != DECODE_MODE_64)
			return NULL;
		return op;
	}
	return NULL;
}

static int unsupported(struct decoder *d, u32 opcode_pos, u32 opcode_len,
		       const char *detail)
{
	char opcode[HEX_BUF_SIZE], all[HEX_BUF_SIZE];

	hex_bytes(opcode, sizeof(opcode), d->bytes + opcode_pos, opcode_len);
	hex_bytes(all, sizeof(all), d->bytes, d->limit);
	snformat(d->err, d->errlen,
		 "unsupported MMIO instruction %s%s (bytes %s)", opcode, detail,
		 all);
	return -1;
}

/* Operand size from the opcode and prefixes (SDM Vol. 1 3.6, Vol. 2A 2.2.1.2).
 */
static u8 operand_size(const struct decoder *d, const struct opcode_info *op)
{
	if (op->byte_operand)
		return 1;
	if (d->p.rex & REX_W)
		return 8;
	if (d->mode == DECODE_MODE_16)
		return d->p.operand_size ? 4 : 2;
	return d->p.operand_size ? 2 : 4;
}

static u8 address_size(const struct decoder *d)
{
	return decode_address_size(d->mode, &d->p);
}

/* Displacement bytes of a 16-bit ModRM memory operand (table 2-1). */
static u32 displacement16(u8 mod, u8 rm)
{
	if (mod == 1)
		return 1;
	if (mod == 2 || rm == 6)
		return 2; /* mod=00 rm=110 is [disp16] */
	return 0;
}

/*
 * Reads ModRM, SIB and displacement; *reg gets ModRM.reg (without REX.R).
 * The address itself is not needed: the fault reports it.
 */
static int read_modrm(struct decoder *d, const struct opcode_info *op,
		      u32 opcode_pos, u8 *reg)
{
	u32 disp;

	if (need(d, 1))
		return -1;
	u8 modrm = d->bytes[d->pos++];
	u8 mod = modrm >> 6, rm = modrm & 7;

	*reg = (modrm >> 3) & 7;
	if (mod == MODRM_MOD_REGISTER) {
		char bytes[HEX_BUF_SIZE];

		hex_bytes(bytes, sizeof(bytes), d->bytes + opcode_pos,
			  d->pos - opcode_pos);
		snformat(d->err, d->errlen,
			 "%s %s has a register operand (ModRM mod=11), not a "
			 "memory access",
			 op->mnemonic, bytes);
		return -1;
	}
	if (address_size(d) == 2) {
		disp = displacement16(mod, rm);
	} else {
		/* REX.B does not change these special cases (table 2-5). */
		disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
		if (rm == 4) { /* a SIB byte follows (table 2-2) */
			if (need(d, 1))
				return -1;
			u8 sib = d->bytes[d->pos++];

			if (mod == 0 && (sib & 7) == 5)
				disp = 4; /* no base register: [index*s +
					     disp32] */
		} else if (mod == 0 && rm == 5) {
			disp = 4; /* disp32, or RIP + disp32 in 64-bit mode */
		}
	}
	if (need(d, disp))
		return -1;
	d->pos += disp;
	return 0;
}

static u64 size_mask(u8 size)
{
	return size >= 8 ? ~0ull : BIT(size * 8) - 1;
}

static u64 read_le(const u8 *p, u32 n)
{
	u64 v = 0;

	for (u32 i = 0; i < n; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

/* Sign-extends the low `size` bytes of v to 64 bits. */
static u64 sign_extend(u64 v, u8 size)
{
	u64 sign = BIT(size * 8 - 1);

	if (size >= 8)
		return v;
	v &= size_mask(size);
	return (v ^ sign) - sign;
}

/* The immediate of MOV r/m, imm: imm8/16/32, imm32 sign-extended for 64. */
static int read_immediate(struct decoder *d, struct mmio_insn *out)
{
	u32 n = MIN(out->size, 4);

	if (need(d, n))
		return -1;
	out->imm = sign_extend(read_le(d->bytes + d->pos, n), n);
	out->imm &= size_mask(out->size);
	out->has_imm = true;
	d->pos += n;
	return 0;
}

static int check_prefixes(struct decoder *d, const struct opcode_info *op,
			  u32 opcode_pos, u32 opcode_len)
{
	char opcode[HEX_BUF_SIZE];

	if (!d->p.rep && !(d->p.lock && op->form != FORM_XCHG))
		return 0; /* the common case: no text to format */
	hex_bytes(opcode, sizeof(opcode), d->bytes + opcode_pos, opcode_len);
	if (d->p.rep) {
		snformat(d->err, d->errlen,
			 "prefix %02x (rep) is not supported with %s %s",
			 d->p.rep, op->mnemonic, opcode);
		return -1;
	}
	/* LOCK is legal only on read-modify-write forms, else #UD (Vol. 2A
	 * "LOCK"): of the forms here, only XCHG. */
	if (d->p.lock && op->form != FORM_XCHG) {
		snformat(d->err, d->errlen,
			 "prefix f0 (lock) is invalid with %s %s (#UD)",
			 op->mnemonic, opcode);
		return -1;
	}
	return 0;
}

static int decode_operands(struct decoder *d, const struct opcode_info *op,
			   u32 opcode_pos, u32 opcode_len,
			   struct mmio_insn *out)
{
	u8 reg = 0;

	out->mnemonic = op->mnemonic;
	out->reg_size = operand_size(d, op);
	out->size =
	    op->source_max ? MIN(op->source_max, out->reg_size) : out->reg_size;
	out->extend = op->extend;
	out->read = op->form == FORM_LOAD_REG || op->form == FORM_XCHG ||
		    op->form == FORM_LOAD_MOFFS;
	out->write = op->form == FORM_STORE_REG || op->form == FORM_XCHG ||
		     op->form == FORM_STORE_IMM || op->form == FORM_STORE_MOFFS;

	if (op->form == FORM_LOAD_MOFFS || op->form == FORM_STORE_MOFFS) {
		/* The accumulator and an address of the address size. */
		if (need(d, address_size(d)))
			return -1;
		d->pos += address_size(d);
	} else if (read_modrm(d, op, opcode_pos, &reg)) {
		return -1;
	}

	if (op->form == FORM_STORE_IMM) {
		if (reg != 0) {
			char detail[8];

			snformat(detail, sizeof(detail), " /%u", reg);
			return unsupported(d, opcode_pos, opcode_len, detail);
		}
		out->reg_size = out->size;
		return read_immediate(d, out);
	}
	out->reg = reg | (d->p.rex & REX_R ? 8 : 0);
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH (2.2.1.2). */
	out->high_byte = out->reg_size == 1 && !d->p.rex && out->reg >= 4;
	return 0;
}

int decode_mmio(const u8 *bytes, u32 avail, enum decode_mode mode,
		struct mmio_insn *out, char *err, size_t errlen)
{
	struct decoder d = {
	    .bytes = bytes,
	    .limit = MIN(avail, (u32)DECODE_MAX_INSN_LEN),
	    .mode = mode,
	    .err = err,
	    .errlen = errlen,
	};

	*out = (struct mmio_insn){0};
	if (mode != DECODE_MODE_16 && mode != DECODE_MODE_32 &&
	    mode != DECODE_MODE_64) {
		snformat(err, errlen, "decode mode %d is not 16, 32 or 64",
			 (int)mode);
		return -1;
	}
	/* The segment overrides are ignored: the fault gives the address. */
	decode_prefixes(bytes, d.limit, mode, &d.p);
	d.pos = d.p.count;
	if (need(&d, 1))
		return -1;

	u32 opcode_pos = d.pos;
	bool escape = bytes[d.pos] == OPCODE_ESCAPE;

	if (escape && need(&d, 2))
		return -1;
	u32 opcode_len = escape ? 2 : 1;
	const struct opcode_info *op =
	    lookup(&d, escape, bytes[d.pos + opcode_len - 1]);

	d.pos += opcode_len;
	if (!op)
		return unsupported(&d, opcode_pos, opcode_len, "");
	if (check_prefixes(&d, op, opcode_pos, opcode_len))
		return -1;
	if (decode_operands(&d, op, opcode_pos, opcode_len, out)) {
		*out = (struct mmio_insn){0};
		return -1;
	}
	out->len = (u8)d.pos;
	return 0;
}

void mmio_complete_read(const struct mmio_insn *in, u64 value_from_device,
			u64 *gprs)
{
	u64 v = value_from_device & size_mask(in->size);
	u64 *dst;

	if (!in->read)
		return;
	if (in->extend == MMIO_EXTEND_SIGN)
		v = sign_extend(v, in->size);
	if (in->high_byte) {
		dst = &gprs[in->reg - 4];
		*dst = (*dst & ~0xff00ull) | (v & 0xff) << 8;
		return;
	}
	dst = &gprs[in->reg];
	/* A 32-bit destination clears bits 63:32 (SDM Vol. 1 3.4.1.1). */
	if (in->reg_size >= 4)
		*dst = v & size_mask(in->reg_size);
	else
		*dst = (*dst & ~size_mask(in->reg_size)) |
		       (v & size_mask(in->reg_size));
}

u64 mmio_write_value(const struct mmio_insn *in, const u64 *gprs)
{
	if (!in->write)
		return 0;
	if (in->has_imm)
		return in->imm;
	if (in->high_byte)
		return (gprs[in->reg - 4] >> 8) & 0xff;
	return gprs[in->reg] & size_mask(in->size);
}
