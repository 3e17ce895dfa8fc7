/* SPDX-License-Identifier: MIT */
/*
 * Host tests of the MMIO instruction decoder (core/decode.c).
 *
 * Every encoding in `vectors` was produced by GNU as 2.40 from the text
 * beside it and checked to be one instruction by objdump:
 *	printf '.code64\n<text>\n' | as --64 -o v.o - && objdump -d v.o
 * (.code32 / .code16 for the other modes); the ".byte" rows are hand-made
 * prefix corner cases. The expected fields were written by hand from the
 * SDM, so the decoder is checked against two independent sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/decode.h"
#include "core/vcpu.h"

#define M16 DECODE_MODE_16
#define M32 DECODE_MODE_32
#define M64 DECODE_MODE_64

/* Directions and register names for the table. */
#define R    1
#define W    2
#define RW   3
#define IMM  (-1) /* the stored value is an immediate */
#define RAX  GPR_RAX
#define RCX  GPR_RCX
#define RDX  GPR_RDX
#define RBX  GPR_RBX
#define RSP  GPR_RSP
#define RBP  GPR_RBP
#define RSI  GPR_RSI
#define RDI  GPR_RDI
#define R8   GPR_R8
#define R9   GPR_R9
#define R10  GPR_R10
#define R11  GPR_R11
#define R12  GPR_R12
#define R13  GPR_R13
#define R14  GPR_R14
#define R15  GPR_R15
#define NONE MMIO_EXTEND_NONE
#define ZERO MMIO_EXTEND_ZERO
#define SIGN MMIO_EXTEND_SIGN

#define B(...) {__VA_ARGS__}, sizeof((u8[]){__VA_ARGS__})

struct vector {
	enum decode_mode mode;
	const char *text; /* the GNU as source of bytes[] */
	u8 bytes[DECODE_MAX_INSN_LEN];
	u8 len; /* all of bytes[] is the one instruction */
	const char *mnemonic;
	int direction; /* R, W or RW */
	u8 size, reg_size;
	int reg; /* register number, or IMM */
	bool high_byte;
	enum mmio_extend extend;
	u64 imm;
};

static const struct vector vectors[] = {
    /* 64-bit: ModRM addressing forms */
    {M64, "mov %eax,(%rdi)", B(0x89, 0x07), "mov", W, 4, 4, RAX, 0, NONE, 0},
    {M64, "mov (%rdi),%eax", B(0x8b, 0x07), "mov", R, 4, 4, RAX, 0, NONE, 0},
    {M64, "mov 0x10(%rdi),%ecx", B(0x8b, 0x4f, 0x10), "mov", R, 4, 4, RCX, 0,
     NONE, 0},
    {M64, "mov 0x300(%rdi),%edx", B(0x8b, 0x97, 0x00, 0x03, 0x00, 0x00), "mov",
     R, 4, 4, RDX, 0, NONE, 0},
    {M64, "mov -0x80(%rbx),%ebx", B(0x8b, 0x5b, 0x80), "mov", R, 4, 4, RBX, 0,
     NONE, 0},
    {M64, "mov (%rsp),%eax", B(0x8b, 0x04, 0x24), "mov", R, 4, 4, RAX, 0, NONE,
     0},
    {M64, "mov 0x8(%rbp),%esp", B(0x8b, 0x65, 0x08), "mov", R, 4, 4, RSP, 0,
     NONE, 0},
    {M64, "mov %ebp,(%rbp)", B(0x89, 0x6d, 0x00), "mov", W, 4, 4, RBP, 0, NONE,
     0},
    {M64, "mov (%rax,%rcx,1),%ebp", B(0x8b, 0x2c, 0x08), "mov", R, 4, 4, RBP, 0,
     NONE, 0},
    {M64, "mov 0x30(%rax,%rbx,4),%esi", B(0x8b, 0x74, 0x98, 0x30), "mov", R, 4,
     4, RSI, 0, NONE, 0},
    {M64, "mov 0x12345678(%rax,%rbx,8),%edi",
     B(0x8b, 0xbc, 0xd8, 0x78, 0x56, 0x34, 0x12), "mov", R, 4, 4, RDI, 0, NONE,
     0},
    {M64, "mov 0xffffffffff5fd0f0,%eax",
     B(0x8b, 0x04, 0x25, 0xf0, 0xd0, 0x5f, 0xff), "mov", R, 4, 4, RAX, 0, NONE,
     0},
    {M64, "mov 0x1000(,%rcx,8),%eax",
     B(0x8b, 0x04, 0xcd, 0x00, 0x10, 0x00, 0x00), "mov", R, 4, 4, RAX, 0, NONE,
     0},
    {M64, "mov (%rbp,%rax,2),%eax", B(0x8b, 0x44, 0x45, 0x00), "mov", R, 4, 4,
     RAX, 0, NONE, 0},
    {M64, "mov 0x100(%rip),%eax", B(0x8b, 0x05, 0x00, 0x01, 0x00, 0x00), "mov",
     R, 4, 4, RAX, 0, NONE, 0},
    {M64, "movl $0x1,0x100(%rip)",
     B(0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00), "mov", W, 4,
     4, IMM, 0, NONE, 1},
    {M64, "mov %eax,%fs:(%rdi)", B(0x64, 0x89, 0x07), "mov", W, 4, 4, RAX, 0,
     NONE, 0},
    {M64, "mov %eax,(%edi)", B(0x67, 0x89, 0x07), "mov", W, 4, 4, RAX, 0, NONE,
     0},
    {M64, "mov 0x10(%eip),%eax", B(0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
     "mov", R, 4, 4, RAX, 0, NONE, 0},
    {M64, "mov 0x20(%esp,%eax,2),%ecx", B(0x67, 0x8b, 0x4c, 0x44, 0x20), "mov",
     R, 4, 4, RCX, 0, NONE, 0},
    /* 64-bit: REX */
    {M64, "mov %r9d,(%r12)", B(0x45, 0x89, 0x0c, 0x24), "mov", W, 4, 4, R9, 0,
     NONE, 0},
    {M64, "mov (%r13),%r10", B(0x4d, 0x8b, 0x55, 0x00), "mov", R, 8, 8, R10, 0,
     NONE, 0},
    {M64, "mov %rax,0x8(%r8,%r15,2)", B(0x4b, 0x89, 0x44, 0x78, 0x08), "mov", W,
     8, 8, RAX, 0, NONE, 0},
    {M64, "mov 0x12345678(%rax,%r11,8),%r15",
     B(0x4e, 0x8b, 0xbc, 0xd8, 0x78, 0x56, 0x34, 0x12), "mov", R, 8, 8, R15, 0,
     NONE, 0},
    {M64, "mov (%r13,%r14,4),%r8d", B(0x47, 0x8b, 0x44, 0xb5, 0x00), "mov", R,
     4, 4, R8, 0, NONE, 0},
    {M64, "mov 0x10(%rip),%r12", B(0x4c, 0x8b, 0x25, 0x10, 0x00, 0x00, 0x00),
     "mov", R, 8, 8, R12, 0, NONE, 0},
    /* 64-bit: operand sizes and byte registers */
    {M64, "mov %ax,(%rdi)", B(0x66, 0x89, 0x07), "mov", W, 2, 2, RAX, 0, NONE,
     0},
    {M64, "mov (%rdi),%r11w", B(0x66, 0x44, 0x8b, 0x1f), "mov", R, 2, 2, R11, 0,
     NONE, 0},
    {M64, "mov %al,(%rdi)", B(0x88, 0x07), "mov", W, 1, 1, RAX, 0, NONE, 0},
    {M64, "mov %ah,(%rdi)", B(0x88, 0x27), "mov", W, 1, 1, 4, 1, NONE, 0},
    {M64, "mov (%rdi),%bh", B(0x8a, 0x3f), "mov", R, 1, 1, 7, 1, NONE, 0},
    {M64, "mov %sil,(%rdi)", B(0x40, 0x88, 0x37), "mov", W, 1, 1, RSI, 0, NONE,
     0},
    {M64, "mov (%rdi),%spl", B(0x40, 0x8a, 0x27), "mov", R, 1, 1, RSP, 0, NONE,
     0},
    {M64, "mov (%rdi),%r8b", B(0x44, 0x8a, 0x07), "mov", R, 1, 1, R8, 0, NONE,
     0},
    {M64, "mov %r15b,0x10(%rdi)", B(0x44, 0x88, 0x7f, 0x10), "mov", W, 1, 1,
     R15, 0, NONE, 0},
    /* 64-bit: immediates */
    {M64, "movb $0x7f,(%rsi)", B(0xc6, 0x06, 0x7f), "mov", W, 1, 1, IMM, 0,
     NONE, 0x7f},
    {M64, "movb $0x80,0x10(%rsi)", B(0xc6, 0x46, 0x10, 0x80), "mov", W, 1, 1,
     IMM, 0, NONE, 0x80},
    {M64, "movw $0x1234,(%rdi)", B(0x66, 0xc7, 0x07, 0x34, 0x12), "mov", W, 2,
     2, IMM, 0, NONE, 0x1234},
    {M64, "movl $0xfffffff0,0x300(%rbx)",
     B(0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0xf0, 0xff, 0xff, 0xff), "mov", W, 4,
     4, IMM, 0, NONE, 0xfffffff0},
    {M64, "movq $-16,(%rdi)", B(0x48, 0xc7, 0x07, 0xf0, 0xff, 0xff, 0xff),
     "mov", W, 8, 8, IMM, 0, NONE, 0xfffffffffffffff0},
    {M64, "movq $0x7fffffff,0x8(%r12)",
     B(0x49, 0xc7, 0x44, 0x24, 0x08, 0xff, 0xff, 0xff, 0x7f), "mov", W, 8, 8,
     IMM, 0, NONE, 0x7fffffff},
    /* 64-bit: movzx / movsx / movsxd */
    {M64, "movzbl (%rdi),%eax", B(0x0f, 0xb6, 0x07), "movzx", R, 1, 4, RAX, 0,
     ZERO, 0},
    {M64, "movzwl 0x10(%rdi),%ecx", B(0x0f, 0xb7, 0x4f, 0x10), "movzx", R, 2, 4,
     RCX, 0, ZERO, 0},
    {M64, "movzbw (%rdi),%dx", B(0x66, 0x0f, 0xb6, 0x17), "movzx", R, 1, 2, RDX,
     0, ZERO, 0},
    {M64, "movzbq (%rdi),%r9", B(0x4c, 0x0f, 0xb6, 0x0f), "movzx", R, 1, 8, R9,
     0, ZERO, 0},
    {M64, "movzwq (%rdi),%rsi", B(0x48, 0x0f, 0xb7, 0x37), "movzx", R, 2, 8,
     RSI, 0, ZERO, 0},
    {M64, "movsbl (%rdi),%edx", B(0x0f, 0xbe, 0x17), "movsx", R, 1, 4, RDX, 0,
     SIGN, 0},
    {M64, "movswq (%rdi),%rax", B(0x48, 0x0f, 0xbf, 0x07), "movsx", R, 2, 8,
     RAX, 0, SIGN, 0},
    {M64, "movsbq 0x8(%rsp),%r14", B(0x4c, 0x0f, 0xbe, 0x74, 0x24, 0x08),
     "movsx", R, 1, 8, R14, 0, SIGN, 0},
    {M64, "movslq (%rdi),%rax", B(0x48, 0x63, 0x07), "movsxd", R, 4, 8, RAX, 0,
     SIGN, 0},
    {M64, "movsxd (%rdi),%eax", B(0x63, 0x07), "movsxd", R, 4, 4, RAX, 0, SIGN,
     0},
    /* 64-bit: moffs */
    {M64, "movabs 0xfee00020,%eax",
     B(0xa1, 0x20, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00), "mov", R, 4, 4,
     RAX, 0, NONE, 0},
    {M64, "movabs 0xfee00020,%rax",
     B(0x48, 0xa1, 0x20, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00), "mov", R, 8,
     8, RAX, 0, NONE, 0},
    {M64, "movabs 0xfee00020,%al",
     B(0xa0, 0x20, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00), "mov", R, 1, 1,
     RAX, 0, NONE, 0},
    {M64, "movabs %al,0xfec00000",
     B(0xa2, 0x00, 0x00, 0xc0, 0xfe, 0x00, 0x00, 0x00, 0x00), "mov", W, 1, 1,
     RAX, 0, NONE, 0},
    {M64, "movabs %ax,0xfec00010",
     B(0x66, 0xa3, 0x10, 0x00, 0xc0, 0xfe, 0x00, 0x00, 0x00, 0x00), "mov", W, 2,
     2, RAX, 0, NONE, 0},
    {M64, "addr32 mov 0xfee00020,%eax", B(0x67, 0xa1, 0x20, 0x00, 0xe0, 0xfe),
     "mov", R, 4, 4, RAX, 0, NONE, 0},
    /* 64-bit: xchg */
    {M64, "xchg %eax,0x300(%rdi)", B(0x87, 0x87, 0x00, 0x03, 0x00, 0x00),
     "xchg", RW, 4, 4, RAX, 0, NONE, 0},
    {M64, "xchg %r10,(%rsi)", B(0x4c, 0x87, 0x16), "xchg", RW, 8, 8, R10, 0,
     NONE, 0},
    {M64, "lock xchg %cl,(%rdi)", B(0xf0, 0x86, 0x0f), "xchg", RW, 1, 1, RCX, 0,
     NONE, 0},
    {M64, "xchg %dh,(%rdi)", B(0x86, 0x37), "xchg", RW, 1, 1, 6, 1, NONE, 0},
    /* 64-bit: prefix corner cases (hand-made bytes) */
    /* REX followed by a legacy prefix is ignored: a 16-bit store of AX. */
    {M64, ".byte 0x48,0x66,0x89,0x07", B(0x48, 0x66, 0x89, 0x07), "mov", W, 2,
     2, RAX, 0, NONE, 0},
    /* The last of two REX prefixes counts: REX.R -> R8D. */
    {M64, ".byte 0x48,0x44,0x89,0x07", B(0x48, 0x44, 0x89, 0x07), "mov", W, 4,
     4, R8, 0, NONE, 0},
    /* REX.W wins over 0x66. */
    {M64, ".byte 0x66,0x48,0x89,0x07", B(0x66, 0x48, 0x89, 0x07), "mov", W, 8,
     8, RAX, 0, NONE, 0},
    /* 15 bytes, the longest legal: fs, addr32, data16, REX.W, SIB, disp32,
       imm32 */
    {M64, "data16 fs movq $-16,0x12345678(%eax,%ecx,4)",
     B(0x64, 0x67, 0x66, 0x48, 0xc7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12, 0xf0,
       0xff, 0xff, 0xff),
     "mov", W, 8, 8, IMM, 0, NONE, 0xfffffffffffffff0},
    /* 32-bit */
    {M32, "mov %eax,0xfee000b0", B(0xa3, 0xb0, 0x00, 0xe0, 0xfe), "mov", W, 4,
     4, RAX, 0, NONE, 0},
    {M32, "mov 0xfee00020,%ecx", B(0x8b, 0x0d, 0x20, 0x00, 0xe0, 0xfe), "mov",
     R, 4, 4, RCX, 0, NONE, 0},
    {M32, "mov 0x10(%ebx,%esi,4),%edx", B(0x8b, 0x54, 0xb3, 0x10), "mov", R, 4,
     4, RDX, 0, NONE, 0},
    {M32, "mov (%esp),%eax", B(0x8b, 0x04, 0x24), "mov", R, 4, 4, RAX, 0, NONE,
     0},
    {M32, "mov 0x1000(%ebp),%edi", B(0x8b, 0xbd, 0x00, 0x10, 0x00, 0x00), "mov",
     R, 4, 4, RDI, 0, NONE, 0},
    {M32, "mov 0x300(,%eax,1),%esi",
     B(0x8b, 0x34, 0x05, 0x00, 0x03, 0x00, 0x00), "mov", R, 4, 4, RSI, 0, NONE,
     0},
    {M32, "movw $0x1,(%eax)", B(0x66, 0xc7, 0x00, 0x01, 0x00), "mov", W, 2, 2,
     IMM, 0, NONE, 1},
    {M32, "movl $0x12345678,0x300(%ebx)",
     B(0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12), "mov", W, 4,
     4, IMM, 0, NONE, 0x12345678},
    {M32, "movzbl (%eax),%ecx", B(0x0f, 0xb6, 0x08), "movzx", R, 1, 4, RCX, 0,
     ZERO, 0},
    {M32, "movsbw (%eax),%dx", B(0x66, 0x0f, 0xbe, 0x10), "movsx", R, 1, 2, RDX,
     0, SIGN, 0},
    {M32, "mov %ch,(%edx)", B(0x88, 0x2a), "mov", W, 1, 1, 5, 1, NONE, 0},
    {M32, "xchg %eax,(%ebx)", B(0x87, 0x03), "xchg", RW, 4, 4, RAX, 0, NONE, 0},
    {M32, "mov (%bx,%si),%ax", B(0x67, 0x66, 0x8b, 0x00), "mov", R, 2, 2, RAX,
     0, NONE, 0},
    {M32, "mov 0x10(%ebx),%esi", B(0x8b, 0x73, 0x10), "mov", R, 4, 4, RSI, 0,
     NONE, 0},
    {M32, "mov 0xfee00020,%al", B(0xa0, 0x20, 0x00, 0xe0, 0xfe), "mov", R, 1, 1,
     RAX, 0, NONE, 0},
    {M32, "addr16 mov 0x20,%eax", B(0x67, 0xa1, 0x20, 0x00), "mov", R, 4, 4,
     RAX, 0, NONE, 0},
    /* 16-bit */
    {M16, "mov %ax,(%bx)", B(0x89, 0x07), "mov", W, 2, 2, RAX, 0, NONE, 0},
    {M16, "mov 0x1234,%ax", B(0xa1, 0x34, 0x12), "mov", R, 2, 2, RAX, 0, NONE,
     0},
    {M16, "mov %cx,0x1234", B(0x89, 0x0e, 0x34, 0x12), "mov", W, 2, 2, RCX, 0,
     NONE, 0},
    {M16, "mov 0x10(%bp,%di),%dx", B(0x8b, 0x53, 0x10), "mov", R, 2, 2, RDX, 0,
     NONE, 0},
    {M16, "mov 0x1234(%bx,%si),%ax", B(0x8b, 0x80, 0x34, 0x12), "mov", R, 2, 2,
     RAX, 0, NONE, 0},
    {M16, "mov (%bp),%ax", B(0x8b, 0x46, 0x00), "mov", R, 2, 2, RAX, 0, NONE,
     0},
    {M16, "mov %eax,(%bx)", B(0x66, 0x89, 0x07), "mov", W, 4, 4, RAX, 0, NONE,
     0},
    {M16, "mov (%eax),%ax", B(0x67, 0x8b, 0x00), "mov", R, 2, 2, RAX, 0, NONE,
     0},
    {M16, "mov 0x10(%eax,%ecx,4),%bx", B(0x67, 0x8b, 0x5c, 0x88, 0x10), "mov",
     R, 2, 2, RBX, 0, NONE, 0},
    {M16, "mov 0x1234,%eax", B(0x66, 0xa1, 0x34, 0x12), "mov", R, 4, 4, RAX, 0,
     NONE, 0},
    {M16, "movw $0x5,(%di)", B(0xc7, 0x05, 0x05, 0x00), "mov", W, 2, 2, IMM, 0,
     NONE, 5},
    {M16, "movl $0xfffffff0,(%di)", B(0x66, 0xc7, 0x05, 0xf0, 0xff, 0xff, 0xff),
     "mov", W, 4, 4, IMM, 0, NONE, 0xfffffff0},
    {M16, "movb $1,%es:(%si)", B(0x26, 0xc6, 0x04, 0x01), "mov", W, 1, 1, IMM,
     0, NONE, 1},
    {M16, "movzbw (%si),%ax", B(0x0f, 0xb6, 0x04), "movzx", R, 1, 2, RAX, 0,
     ZERO, 0},
    {M16, "movzbl (%si),%eax", B(0x66, 0x0f, 0xb6, 0x04), "movzx", R, 1, 4, RAX,
     0, ZERO, 0},
    {M16, "xchg %bl,0x8(%bx)", B(0x86, 0x5f, 0x08), "xchg", RW, 1, 1, RBX, 0,
     NONE, 0},
};

static const struct vector *find_vector(const char *text)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++)
		if (strcmp(vectors[i].text, text) == 0)
			return &vectors[i];
	fail_msg("no test vector \"%s\"", text);
	return NULL;
}

/* Decodes v from a buffer of `avail` bytes: its bytes, then filler. */
static int decode_vector(const struct vector *v, u32 avail,
			 struct mmio_insn *out, char *err, size_t errlen)
{
	u8 buf[32];

	memset(buf, 0x90, sizeof(buf)); /* NOP: must never join the insn */
	memcpy(buf, v->bytes, v->len);
	assert_true(avail <= sizeof(buf));
	return decode_mmio(buf, avail, v->mode, out, err, errlen);
}

static struct mmio_insn decode_ok(const char *text)
{
	const struct vector *v = find_vector(text);
	struct mmio_insn in;
	char err[160];

	if (decode_vector(v, v->len, &in, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
	return in;
}

static void check_vector(const struct vector *v, const struct mmio_insn *in)
{
	const char *t = v->text;

	if (in->len != v->len)
		fail_msg("%s: len %u, expected %u", t, in->len, v->len);
	if (strcmp(in->mnemonic, v->mnemonic) != 0)
		fail_msg("%s: mnemonic %s, expected %s", t, in->mnemonic,
			 v->mnemonic);
	if (in->read != !!(v->direction & R) ||
	    in->write != !!(v->direction & W))
		fail_msg("%s: read %d write %d, expected direction %d", t,
			 in->read, in->write, v->direction);
	if (in->size != v->size || in->reg_size != v->reg_size)
		fail_msg("%s: size %u reg_size %u, expected %u %u", t, in->size,
			 in->reg_size, v->size, v->reg_size);
	if (in->has_imm != (v->reg == IMM))
		fail_msg("%s: has_imm %d", t, in->has_imm);
	if (v->reg == IMM && in->imm != v->imm)
		fail_msg("%s: imm %#llx, expected %#llx", t,
			 (unsigned long long)in->imm,
			 (unsigned long long)v->imm);
	if (v->reg != IMM && in->reg != v->reg)
		fail_msg("%s: reg %u, expected %d", t, in->reg, v->reg);
	if (in->high_byte != v->high_byte)
		fail_msg("%s: high_byte %d", t, in->high_byte);
	if (in->extend != v->extend)
		fail_msg("%s: extend %d, expected %d", t, in->extend,
			 v->extend);
}

/* ---- decoding real encodings ---- */

static void test_vectors_exact_length(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		struct mmio_insn in;
		char err[160];

		if (decode_vector(&vectors[i], vectors[i].len, &in, err,
				  sizeof(err)))
			fail_msg("%s: %s", vectors[i].text, err);
		check_vector(&vectors[i], &in);
	}
}

/* With more bytes than the instruction (and more than 15) after it. */
static void test_vectors_with_trailing_bytes(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		struct mmio_insn in;
		char err[160];

		if (decode_vector(&vectors[i], 32, &in, err, sizeof(err)))
			fail_msg("%s: %s", vectors[i].text, err);
		check_vector(&vectors[i], &in);
	}
}

/* Every proper prefix of every vector is refused as truncated. */
static void test_vectors_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		for (u32 avail = 0; avail < vectors[i].len; avail++) {
			struct mmio_insn in;
			char err[160];

			if (decode_vector(&vectors[i], avail, &in, err,
					  sizeof(err)) == 0)
				fail_msg("%s: decoded from %u of %u bytes",
					 vectors[i].text, avail,
					 vectors[i].len);
			if (!strstr(err, "instruction truncated"))
				fail_msg("%s (%u bytes): %s", vectors[i].text,
					 avail, err);
		}
	}
}

static void test_truncated_message(void **state)
{
	const u8 bytes[] = {0x8b, 0x97, 0x00, 0x03};
	struct mmio_insn in;
	char err[160];

	(void)state;
	assert_int_equal(decode_mmio(bytes, 4, M64, &in, err, sizeof(err)), -1);
	assert_string_equal(err, "instruction truncated: 4 bytes available, "
				 "at least 6 needed (8b 97 00 03)");
	assert_int_equal(decode_mmio(bytes, 0, M64, &in, err, sizeof(err)), -1);
	assert_string_equal(err, "instruction truncated: 0 bytes available, "
				 "at least 1 needed (no bytes)");
}

static void test_longer_than_15_bytes(void **state)
{
	u8 bytes[16];
	struct mmio_insn in;
	char err[160];

	(void)state;
	memset(bytes, 0x66, 14);
	bytes[14] = 0x89; /* mov %ax,(%rdi): 16 bytes with 14 prefixes */
	bytes[15] = 0x07;
	assert_int_equal(decode_mmio(bytes, 16, M64, &in, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "instruction longer than 15 bytes"));
	/* One prefix fewer is a legal 15-byte instruction. */
	assert_int_equal(decode_mmio(bytes + 1, 15, M64, &in, err, sizeof(err)),
			 0);
	assert_int_equal(in.len, 15);
	assert_int_equal(in.size, 2);
}

/* ---- refusals ---- */

struct refusal {
	enum decode_mode mode;
	u8 bytes[8];
	u8 len;
	const char *message;
};

static const struct refusal refusals[] = {
    /* prefetchw (%rax) */
    {M64, B(0x0f, 0x0d, 0x08),
     "unsupported MMIO instruction 0f 0d (bytes 0f 0d 08)"},
    /* add %eax,(%rdi): read-modify-write ALU forms change RFLAGS */
    {M64, B(0x01, 0x07), "unsupported MMIO instruction 01 (bytes 01 07)"},
    /* test %eax,(%rdi) */
    {M64, B(0x85, 0x07), "unsupported MMIO instruction 85 (bytes 85 07)"},
    /* orl $0x1,(%rdi) */
    {M64, B(0x83, 0x0f, 0x01),
     "unsupported MMIO instruction 83 (bytes 83 0f 01)"},
    /* rep movsb: string moves are not decoded */
    {M64, B(0xf3, 0xa4), "unsupported MMIO instruction a4 (bytes f3 a4)"},
    /* movdqa (%rdi),%xmm0 */
    {M64, B(0x66, 0x0f, 0x6f, 0x07),
     "unsupported MMIO instruction 0f 6f (bytes 66 0f 6f 07)"},
    /* vmovdqa (%rdi),%ymm0 (VEX) */
    {M64, B(0xc5, 0xfd, 0x6f, 0x07),
     "unsupported MMIO instruction c5 (bytes c5 fd 6f 07)"},
    /* c7 /1 is undefined: only c7 /0 is MOV */
    {M64, B(0xc7, 0x0f, 0x01, 0x00, 0x00, 0x00),
     "unsupported MMIO instruction c7 /1 (bytes c7 0f 01 00 00 00)"},
    /* arpl %ax,(%edi): 63 is MOVSXD only in 64-bit mode */
    {M32, B(0x63, 0x07), "unsupported MMIO instruction 63 (bytes 63 07)"},
    /* 48 is dec %eax outside 64-bit mode, not REX.W */
    {M32, B(0x48, 0x89, 0x07),
     "unsupported MMIO instruction 48 (bytes 48 89 07)"},
    /* mov %eax,%eax / mov %ecx,%ecx / movzbl %al,%eax: mod=11 */
    {M64, B(0x89, 0xc0),
     "mov 89 c0 has a register operand (ModRM mod=11), not a memory "
     "access"},
    {M64, B(0x8b, 0xc9),
     "mov 8b c9 has a register operand (ModRM mod=11), not a memory "
     "access"},
    {M64, B(0x0f, 0xb6, 0xc0),
     "movzx 0f b6 c0 has a register operand (ModRM mod=11), not a "
     "memory access"},
    {M64, B(0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00),
     "mov c7 c0 has a register operand (ModRM mod=11), not a memory "
     "access"},
    {M64, B(0x87, 0xd8),
     "xchg 87 d8 has a register operand (ModRM mod=11), not a memory "
     "access"},
    /* rep / repne and lock on mov */
    {M64, B(0xf3, 0x89, 0x07), "prefix f3 (rep) is not supported with mov 89"},
    {M32, B(0xf2, 0x0f, 0xb7, 0x07),
     "prefix f2 (rep) is not supported with movzx 0f b7"},
    {M64, B(0xf0, 0x89, 0x07), "prefix f0 (lock) is invalid with mov 89 (#UD)"},
    {M64, B(0xf0, 0xc6, 0x07, 0x01),
     "prefix f0 (lock) is invalid with mov c6 (#UD)"},
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++) {
		const struct refusal *r = &refusals[i];
		struct mmio_insn in;
		char err[160] = "";

		memset(&in, 0xa5, sizeof(in));
		if (decode_mmio(r->bytes, r->len, r->mode, &in, err,
				sizeof(err)) != -1)
			fail_msg("accepted: %s", r->message);
		if (strcmp(err, r->message) != 0)
			fail_msg("got \"%s\"\nexpected \"%s\"", err,
				 r->message);
		/* A refused decode leaves nothing usable behind. */
		assert_int_equal(in.len, 0);
		assert_false(in.read || in.write);
	}
}

/*
 * Default-deny: of all 256 one-byte and 256 0F-escaped opcodes, exactly the
 * MOV family and XCHG decode; every other one is refused by name.
 */
static bool is_prefix_64(u8 b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 ||
	       b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
	       b == 0x65 || (b & 0xf0) == 0x40;
}

static void sweep(bool escape, const u8 *accepted, size_t naccepted)
{
	for (unsigned op = 0; op < 256; op++) {
		u8 bytes[DECODE_MAX_INSN_LEN] = {0};
		u32 n = 0;
		struct mmio_insn in;
		char err[160], want[48];
		bool expect_ok = false;

		if (!escape && (is_prefix_64((u8)op) || op == 0x0f))
			continue;
		for (size_t i = 0; i < naccepted; i++)
			expect_ok |= accepted[i] == op;
		if (escape)
			bytes[n++] = 0x0f;
		bytes[n++] = (u8)op;
		bytes[n++] = 0x07; /* ModRM: (%rdi), or part of an moffs */
		int rc = decode_mmio(bytes, sizeof(bytes), M64, &in, err,
				     sizeof(err));
		if (expect_ok) {
			if (rc)
				fail_msg("%02x: %s", op, err);
			continue;
		}
		snprintf(want, sizeof(want),
			 escape ? "unsupported MMIO instruction 0f %02x "
				: "unsupported MMIO instruction %02x ",
			 op);
		if (rc != -1 || strncmp(err, want, strlen(want)) != 0)
			fail_msg("opcode %s%02x: rc %d \"%s\"",
				 escape ? "0f " : "", op, rc, err);
	}
}

static void test_opcode_sweep(void **state)
{
	static const u8 one_byte[] = {0x63, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
				      0xa0, 0xa1, 0xa2, 0xa3, 0xc6, 0xc7};
	static const u8 escaped[] = {0xb6, 0xb7, 0xbe, 0xbf};

	(void)state;
	sweep(false, one_byte, ARRAY_SIZE(one_byte));
	sweep(true, escaped, ARRAY_SIZE(escaped));
}

static void test_bad_mode(void **state)
{
	const u8 bytes[] = {0x89, 0x07};
	struct mmio_insn in;
	char err[160];

	(void)state;
	assert_int_equal(
	    decode_mmio(bytes, 2, (enum decode_mode)8, &in, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "decode mode 8 is not 16, 32 or 64");
}

/* A short or missing error buffer is never overrun. */
static void test_small_error_buffer(void **state)
{
	const u8 bytes[] = {0x0f, 0x0d, 0x08};
	struct mmio_insn in;
	char err[9];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(decode_mmio(bytes, 3, M64, &in, err, 8), -1);
	assert_string_equal(err, "unsuppo");
	assert_int_equal(err[8], 'x');
	assert_int_equal(decode_mmio(bytes, 3, M64, &in, NULL, 0), -1);
}

static void test_mode_from_cs(void **state)
{
	(void)state;
	assert_int_equal(decode_mode_from_cs(true, false), M64);
	assert_int_equal(decode_mode_from_cs(false, true), M32);
	assert_int_equal(decode_mode_from_cs(false, false), M16);
}

/* ---- completing reads ---- */

struct read_case {
	const char *text;
	int reg;    /* register that changes (for AH..BH: RAX..RBX) */
	u64 before; /* its value before */
	u64 from_device;
	u64 after;
};

static const struct read_case read_cases[] = {
    /* a 32-bit destination clears bits 63:32; extra device bits ignored */
    {"mov (%rdi),%eax", RAX, 0xdeadbeef00000000, 0xffffffff12345678,
     0x12345678},
    {"mov (%r13),%r10", R10, 0, 0x8877665544332211, 0x8877665544332211},
    /* 8- and 16-bit destinations keep the rest */
    {"mov (%rdi),%r11w", R11, 0x1122334455667788, 0xabcd, 0x112233445566abcd},
    {"mov (%rdi),%r8b", R8, 0x1122334455667788, 0x12345, 0x1122334455667745},
    {"mov (%rdi),%spl", RSP, 0x1122334455667788, 0xab, 0x11223344556677ab},
    /* without REX, register 7 is BH: bits 15:8 of RBX */
    {"mov (%rdi),%bh", RBX, 0x1111111111111111, 0xab, 0x111111111111ab11},
    {"mov (%bx,%si),%ax", RAX, 0xffffffffffffffff, 0x1234, 0xffffffffffff1234},
    {"movabs 0xfee00020,%al", RAX, 0x5555, 0x1ab, 0x55ab},
    /* MOVZX */
    {"movzbl (%rdi),%eax", RAX, 0xffffffffffffffff, 0xfff0, 0xf0},
    {"movzbw (%rdi),%dx", RDX, 0xffffffffffffffff, 0xf0, 0xffffffffffff00f0},
    {"movzwq (%rdi),%rsi", RSI, 0xffffffffffffffff, 0x18000, 0x8000},
    /* MOVSX / MOVSXD */
    {"movsbl (%rdi),%edx", RDX, 0xffffffff00000000, 0x80, 0xffffff80},
    {"movswq (%rdi),%rax", RAX, 0, 0x8000, 0xffffffffffff8000},
    {"movsbq 0x8(%rsp),%r14", R14, 0xffff, 0x7f, 0x7f},
    {"movsbw (%eax),%dx", RDX, 0xaaaaaaaaaaaaaaaa, 0x80, 0xaaaaaaaaaaaaff80},
    {"movslq (%rdi),%rax", RAX, 0, 0x80000000, 0xffffffff80000000},
    /* MOVSXD without REX.W is a 32-bit move: zero-extends */
    {"movsxd (%rdi),%eax", RAX, 0xffffffffffffffff, 0x80000000, 0x80000000},
};

static void test_complete_read(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(read_cases); i++) {
		const struct read_case *c = &read_cases[i];
		struct mmio_insn in = decode_ok(c->text);
		u64 gprs[GPR_COUNT], want[GPR_COUNT];

		for (int r = 0; r < GPR_COUNT; r++)
			gprs[r] = want[r] = 0x0101010101010101ull * (u64)r;
		gprs[c->reg] = c->before;
		want[c->reg] = c->after;
		mmio_complete_read(&in, c->from_device, gprs);
		for (int r = 0; r < GPR_COUNT; r++)
			if (gprs[r] != want[r])
				fail_msg("%s: gpr %d = %#llx, expected %#llx",
					 c->text, r,
					 (unsigned long long)gprs[r],
					 (unsigned long long)want[r]);
	}
}

/* A store never changes a register on completion. */
static void test_complete_read_ignores_stores(void **state)
{
	struct mmio_insn in = decode_ok("mov %eax,(%rdi)");
	u64 gprs[GPR_COUNT] = {0x1234};

	(void)state;
	mmio_complete_read(&in, 0xffffffff, gprs);
	assert_int_equal(gprs[RAX], 0x1234);
}

/* ---- values to store ---- */

struct write_case {
	const char *text;
	int reg;
	u64 reg_value;
	u64 stored;
};

static const struct write_case write_cases[] = {
    {"mov %eax,(%rdi)", RAX, 0xffffffff12345678, 0x12345678},
    {"mov %rax,0x8(%r8,%r15,2)", RAX, 0x8877665544332211, 0x8877665544332211},
    {"mov %ax,(%rdi)", RAX, 0x8877665544332211, 0x2211},
    {"mov %r9d,(%r12)", R9, 0x1ffffffff, 0xffffffff},
    {"mov %al,(%rdi)", RAX, 0xabcd, 0xcd},
    /* without REX, registers 4-7 are AH..BH */
    {"mov %ah,(%rdi)", RAX, 0xabcd, 0xab},
    {"mov %ch,(%edx)", RCX, 0xffff1234, 0x12},
    /* with REX, they are SPL..DIL */
    {"mov %sil,(%rdi)", RSI, 0x1234, 0x34},
    {"mov %r15b,0x10(%rdi)", R15, 0xfedc, 0xdc},
    {"movabs %ax,0xfec00010", RAX, 0x123456789, 0x6789},
    {"mov %eax,(%bx)", RAX, 0x1122334455667788, 0x55667788},
    /* immediates, the register file is not read */
    {"movb $0x80,0x10(%rsi)", -1, 0, 0x80},
    {"movw $0x1234,(%rdi)", -1, 0, 0x1234},
    {"movl $0xfffffff0,0x300(%rbx)", -1, 0, 0xfffffff0},
    {"movq $-16,(%rdi)", -1, 0, 0xfffffffffffffff0},
    {"movl $0xfffffff0,(%di)", -1, 0, 0xfffffff0},
    {"data16 fs movq $-16,0x12345678(%eax,%ecx,4)", -1, 0, 0xfffffffffffffff0},
};

static void test_write_value(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(write_cases); i++) {
		const struct write_case *c = &write_cases[i];
		struct mmio_insn in = decode_ok(c->text);
		u64 gprs[GPR_COUNT];
		u64 got;

		for (int r = 0; r < GPR_COUNT; r++)
			gprs[r] = 0xeeeeeeeeeeeeeeeeull;
		if (c->reg >= 0)
			gprs[c->reg] = c->reg_value;
		got = mmio_write_value(&in, gprs);
		if (got != c->stored)
			fail_msg("%s: stores %#llx, expected %#llx", c->text,
				 (unsigned long long)got,
				 (unsigned long long)c->stored);
	}
}

static void test_write_value_of_load_is_zero(void **state)
{
	struct mmio_insn in = decode_ok("mov (%rdi),%eax");
	u64 gprs[GPR_COUNT] = {0x1234};

	(void)state;
	assert_int_equal(mmio_write_value(&in, gprs), 0);
}

/* XCHG: the register goes to the device and the old value comes back. */
static void test_xchg_round_trip(void **state)
{
	u64 gprs[GPR_COUNT] = {0};
	struct mmio_insn in = decode_ok("xchg %eax,0x300(%rdi)");

	(void)state;
	gprs[RAX] = 0xffffffff00000011;
	assert_int_equal(mmio_write_value(&in, gprs), 0x11);
	mmio_complete_read(&in, 0x22, gprs);
	assert_int_equal(gprs[RAX], 0x22);

	in = decode_ok("xchg %dh,(%rdi)");
	gprs[RDX] = 0xaaaa1234;
	assert_int_equal(mmio_write_value(&in, gprs), 0x12);
	mmio_complete_read(&in, 0x56, gprs);
	assert_int_equal(gprs[RDX], 0xaaaa5634);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_exact_length),
	    cmocka_unit_test(test_vectors_with_trailing_bytes),
	    cmocka_unit_test(test_vectors_truncated),
	    cmocka_unit_test(test_truncated_message),
	    cmocka_unit_test(test_longer_than_15_bytes),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_opcode_sweep),
	    cmocka_unit_test(test_bad_mode),
	    cmocka_unit_test(test_small_error_buffer),
	    cmocka_unit_test(test_mode_from_cs),
	    cmocka_unit_test(test_complete_read),
	    cmocka_unit_test(test_complete_read_ignores_stores),
	    cmocka_unit_test(test_write_value),
	    cmocka_unit_test(test_write_value_of_load_is_zero),
	    cmocka_unit_test(test_xchg_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
