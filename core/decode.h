/* SPDX-License-Identifier: MIT */
/*
 * Decoding and completing the guest instruction behind an MMIO exit.
 *
 * An EPT violation / NPT fault on an emulated device page (xAPIC, IOAPIC)
 * gives the guest-physical address but not the access: AMD-V under QEMU has
 * no decode assists. The handler fetches the bytes at the guest RIP, decodes
 * them here, performs the access on the device model and completes it:
 *
 *	struct mmio_insn in;
 *	if (decode_mmio(bytes, n, mode, &in, err, sizeof(err)) < 0)
 *		-> guest fails with err
 *	if (in.write) device_write(gpa, in.size, mmio_write_value(&in, gprs));
 *	if (in.read)  mmio_complete_read(&in, device_read(gpa, in.size), gprs);
 *	RIP += in.len
 *
 * For XCHG (read and write), take mmio_write_value() before
 * mmio_complete_read() overwrites the register. Only the MOV family
 * (MOV, MOVZX, MOVSX, MOVSXD) and XCHG are accepted: they are what compilers
 * emit for readl()/writel() and the APIC accessors, and none of them changes
 * RFLAGS. Everything else is refused with its opcode bytes named
 * (docs/decode.md).
 *
 * Pure code: builds freestanding and in the host unit tests.
 */
#ifndef VENEER_CORE_DECODE_H
#define VENEER_CORE_DECODE_H

#include "core/lib/types.h"

/* Longest legal x86 instruction (SDM Vol. 2A 2.3.11). */
#define DECODE_MAX_INSN_LEN 15

/* Default operand and address size of the code segment (SDM Vol. 3A 3.4.5). */
enum decode_mode {
	DECODE_MODE_16 = 16, /* real mode, virtual-8086, CS.D=0 */
	DECODE_MODE_32 = 32, /* CS.D=1 */
	DECODE_MODE_64 = 64, /* long mode with CS.L=1 */
};

/* The mode a guest runs in, from CS.L (in long mode only) and CS.D/B. */
static inline enum decode_mode decode_mode_from_cs(bool cs_long, bool cs_db)
{
	if (cs_long)
		return DECODE_MODE_64;
	return cs_db ? DECODE_MODE_32 : DECODE_MODE_16;
}

/*
 * Segment registers in the order instructions and both vendors' exit
 * information number them (SDM Vol. 3C 28.2.5, APM Vol. 2 15.10.2).
 */
enum decode_segment {
	DECODE_SEG_ES = 0,
	DECODE_SEG_CS = 1,
	DECODE_SEG_SS = 2,
	DECODE_SEG_DS = 3,
	DECODE_SEG_FS = 4,
	DECODE_SEG_GS = 5,
	DECODE_SEG_NONE = 0xff, /* no segment-override prefix */
};

/*
 * The prefixes in front of one instruction's opcode (SDM Vol. 2A 2.1.1,
 * REX 2.2.1). More than one prefix of a group is undefined by the SDM;
 * the last one counts here, as in QEMU's and Bochs's decoders.
 */
struct decode_prefixes {
	u8 count;	   /* prefix bytes: the opcode is at bytes[count] */
	u8 segment;	   /* enum decode_segment of the last override */
	bool operand_size; /* 0x66 */
	bool address_size; /* 0x67 */
	bool lock;	   /* 0xF0 */
	u8 rep;		   /* 0, 0xF3 (REP) or 0xF2 (REPNE): the last one */
	u8 rex;		   /* the REX right before the opcode, else 0 */
};

/*
 * Reads the legacy prefixes and (64-bit mode only) REX prefixes at
 * bytes[0]; stops at the first other byte, after `avail` bytes or after
 * 15. A REX followed by a legacy prefix is ignored, as the CPU does.
 */
void decode_prefixes(const u8 *bytes, u32 avail, enum decode_mode mode,
		     struct decode_prefixes *out);

/* Address size in bytes (2, 4, 8) from the mode and 0x67 (SDM Vol. 1 3.6,
 * table 3-4). */
u8 decode_address_size(enum decode_mode mode, const struct decode_prefixes *p);

/*
 * An opcode an exit stands for: `len` opcode bytes after the prefixes,
 * then `operand` bytes of any value (ModRM), which end the instruction.
 */
struct decode_opcode {
	u8 len;
	u8 bytes[3];
	u8 operand;
};

enum decode_match {
	DECODE_MATCH_OK,	/* one of the opcodes; *len is the length */
	DECODE_MATCH_TOO_LONG,	/* longer than 15 bytes: #GP (2.3.11) */
	DECODE_MATCH_TRUNCATED, /* fewer bytes than the instruction needs */
	DECODE_MATCH_OTHER,	/* some other instruction */
};

/*
 * Is the instruction at bytes[0] (avail readable) one of the n opcodes of
 * `ops` after any prefixes? Fills *prefixes in every case, and *len with
 * the whole length (prefixes, opcode, operand bytes) on DECODE_MATCH_OK.
 * For a backend that cannot tell an exiting instruction's length, address
 * size or segment (AMD-V without NRIP save or decode assists).
 */
enum decode_match decode_match_opcode(const u8 *bytes, u32 avail,
				      enum decode_mode mode,
				      const struct decode_opcode *ops, u32 n,
				      struct decode_prefixes *prefixes,
				      u32 *len);

/* How a loaded value narrower than its destination register is widened. */
enum mmio_extend {
	MMIO_EXTEND_NONE, /* same width: plain MOV, XCHG */
	MMIO_EXTEND_ZERO, /* MOVZX */
	MMIO_EXTEND_SIGN, /* MOVSX, MOVSXD */
};

/* One decoded memory-accessing instruction. */
struct mmio_insn {
	const char *mnemonic; /* "mov", "movzx", "movsx", "movsxd", "xchg" */
	u8 len;		      /* instruction length in bytes, 1..15 */
	u8 size;	      /* bytes accessed in memory: 1, 2, 4 or 8 */
	bool read;	      /* loads from memory into register `reg` */
	bool write;	      /* stores to memory (register `reg` or imm) */
	bool has_imm;	      /* the stored value is `imm`, no register */
	u8 reg;		      /* register number 0-15 (x86 order, RAX=0) */
	u8 reg_size;	      /* width of that register operand: 1, 2, 4, 8 */
	bool high_byte;	      /* reg_size 1 and reg 4-7 mean AH, CH, DH, BH */
	enum mmio_extend extend; /* widening from size to reg_size */
	u64 imm;		 /* immediate, extended and cut to `size` */
};

/*
 * Decodes the one instruction at bytes[0] (avail bytes readable, at most 15
 * are looked at) as code of the given mode. Returns 0 and fills *out, or -1
 * with a message in err (naming the opcode bytes, a truncation, a register
 * operand ...) when it is not a supported memory access.
 */
int decode_mmio(const u8 *bytes, u32 avail, enum decode_mode mode,
		struct mmio_insn *out, char *err, size_t errlen);

/*
 * Writes the value read from the device into the destination register with
 * x86 semantics: a 32-bit destination zero-extends into 64 bits, 8- and
 * 16-bit destinations keep the other bits, MOVZX / MOVSX widen.
 * gprs is u64[16] in x86 register order. Does nothing unless in->read.
 */
void mmio_complete_read(const struct mmio_insn *in, u64 value_from_device,
			u64 *gprs);

/*
 * The value a writing instruction stores, cut to in->size bytes: the
 * immediate or the source register (AH..BH for high_byte). 0 unless
 * in->write.
 */
u64 mmio_write_value(const struct mmio_insn *in, const u64 *gprs);

#endif /* VENEER_CORE_DECODE_H */
