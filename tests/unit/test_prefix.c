/* SPDX-License-Identifier: MIT */
/*
 * Host tests of the prefix scanner (core/decode.c: decode_prefixes,
 * decode_match_opcode) and of what core does with it when a backend
 * cannot describe an exiting instruction (core/prefix.c): the length of
 * a prefixed CPUID, RDMSR, WRMSR, HLT, VMMCALL, XSETBV, MOV to CR; the
 * address size and OUTS segment of string I/O (issue 10; AMD-V without
 * NRIP save or decode assists, docs/svm.md).
 *
 * Encodings are written from the SDM's opcode tables (Vol. 2A 2.1.1,
 * 2.2.1, appendix A) and checked with GNU as 2.40 / objdump where an
 * assembler accepts the form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/fake_vcpu.h"
#include "tests/unit/host_printk.h"
#include "core/decode.h"
#include "core/handlers.h"
#include "core/prefix.h"
#include "arch/x86/cpu.h"

#define M16 DECODE_MODE_16
#define M32 DECODE_MODE_32
#define M64 DECODE_MODE_64

#define RAM_SIZE (256 * 1024ull)
#define CODE	 0x1000 /* RIP, CS base 0 */
#define PORT	 0x3f0
#define MAX_LOG	 16

static const struct decode_opcode cpuid_op[] = {{2, {0x0f, 0xa2}, 0}};
static const struct decode_opcode hlt_op[] = {{1, {0xf4}, 0}};
static const struct decode_opcode outsb_op[] = {{1, {0x6e}, 0}};
static const struct decode_opcode hypercall_ops[] = {
    {3, {0x0f, 0x01, 0xd9}, 0},
    {3, {0x0f, 0x01, 0xc1}, 0},
};
static const struct decode_opcode mov_cr_op[] = {{2, {0x0f, 0x22}, 1}};

/* ---- the scanner alone */

static void test_each_legacy_prefix(void **state)
{
	static const struct {
		u8 byte;
		u8 segment;
	} segs[] = {
	    {0x26, DECODE_SEG_ES}, {0x2e, DECODE_SEG_CS}, {0x36, DECODE_SEG_SS},
	    {0x3e, DECODE_SEG_DS}, {0x64, DECODE_SEG_FS}, {0x65, DECODE_SEG_GS},
	};
	struct decode_prefixes p;
	u8 b[3] = {0, 0x0f, 0xa2};

	(void)state;
	b[0] = 0x66;
	decode_prefixes(b, 3, M32, &p);
	assert_int_equal(p.count, 1);
	assert_true(p.operand_size);
	assert_false(p.address_size);
	assert_int_equal(p.segment, DECODE_SEG_NONE);
	b[0] = 0x67;
	decode_prefixes(b, 3, M32, &p);
	assert_true(p.address_size);
	assert_false(p.operand_size);
	b[0] = 0xf0;
	decode_prefixes(b, 3, M32, &p);
	assert_true(p.lock);
	b[0] = 0xf2;
	decode_prefixes(b, 3, M32, &p);
	assert_int_equal(p.rep, 0xf2);
	b[0] = 0xf3;
	decode_prefixes(b, 3, M32, &p);
	assert_int_equal(p.rep, 0xf3);
	for (u32 i = 0; i < ARRAY_SIZE(segs); i++) {
		b[0] = segs[i].byte;
		decode_prefixes(b, 3, M32, &p);
		assert_int_equal(p.count, 1);
		assert_int_equal(p.segment, segs[i].segment);
	}
	/* No prefix: the opcode at once. */
	decode_prefixes(b + 1, 2, M32, &p);
	assert_int_equal(p.count, 0);
	assert_int_equal(p.segment, DECODE_SEG_NONE);
}

/* More than one of a group: the last counts (QEMU and Bochs alike). */
static void test_last_of_a_group_counts(void **state)
{
	static const u8 b[] = {0x2e, 0x64, 0xf2, 0x26, 0xf3, 0x65, 0x6e};
	struct decode_prefixes p;

	(void)state;
	decode_prefixes(b, sizeof(b), M32, &p);
	assert_int_equal(p.count, 6);
	assert_int_equal(p.segment, DECODE_SEG_GS);
	assert_int_equal(p.rep, 0xf3);
}

/* REX is a prefix only in 64-bit mode, and only right before the opcode
 * (SDM Vol. 2A 2.2.1). */
static void test_rex(void **state)
{
	static const u8 rex_cpuid[] = {0x48, 0x0f, 0xa2};
	static const u8 rex_then_legacy[] = {0x41, 0x66, 0x0f, 0xa2};
	static const u8 two_rex[] = {0x41, 0x48, 0x0f, 0xa2};
	struct decode_prefixes p;
	u32 len = 0;

	(void)state;
	decode_prefixes(rex_cpuid, 3, M64, &p);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.rex, 0x48);
	/* 48 is DEC EAX outside 64-bit mode: not a CPUID. */
	decode_prefixes(rex_cpuid, 3, M32, &p);
	assert_int_equal(p.count, 0);
	assert_int_equal(
	    decode_match_opcode(rex_cpuid, 3, M32, cpuid_op, 1, &p, &len),
	    DECODE_MATCH_OTHER);
	decode_prefixes(rex_then_legacy, 4, M64, &p);
	assert_int_equal(p.count, 2);
	assert_int_equal(p.rex, 0);
	assert_true(p.operand_size);
	decode_prefixes(two_rex, 4, M64, &p);
	assert_int_equal(p.count, 2);
	assert_int_equal(p.rex, 0x48);
}

/* SDM Vol. 1 3.6, table 3-4. */
static void test_address_size(void **state)
{
	struct decode_prefixes none = {0}, a67 = {.address_size = true};

	(void)state;
	assert_int_equal(decode_address_size(M16, &none), 2);
	assert_int_equal(decode_address_size(M16, &a67), 4);
	assert_int_equal(decode_address_size(M32, &none), 4);
	assert_int_equal(decode_address_size(M32, &a67), 2);
	assert_int_equal(decode_address_size(M64, &none), 8);
	assert_int_equal(decode_address_size(M64, &a67), 4);
}

struct len_case {
	const u8 *bytes;
	u32 n;
	enum decode_mode mode;
	const struct decode_opcode *ops;
	u32 n_ops;
	u32 len;
};

#define B(...) (const u8[]){__VA_ARGS__}, sizeof((u8[]){__VA_ARGS__})

static const struct len_case lens[] = {
    {B(0x0f, 0xa2), M32, cpuid_op, 1, 2},
    {B(0x66, 0x0f, 0xa2), M32, cpuid_op, 1, 3},
    {B(0x66, 0x0f, 0xa2), M16, cpuid_op, 1, 3},
    {B(0x2e, 0x3e, 0x67, 0x0f, 0xa2), M32, cpuid_op, 1, 5},
    {B(0x48, 0x0f, 0xa2), M64, cpuid_op, 1, 3},
    {B(0xf4), M32, hlt_op, 1, 1},
    {B(0xf3, 0xf4), M32, hlt_op, 1, 2},
    {B(0x66, 0x0f, 0x01, 0xd9), M32, hypercall_ops, 2, 4},
    {B(0x3e, 0x0f, 0x01, 0xc1), M32, hypercall_ops, 2, 4},
    {B(0x0f, 0x22, 0xe0), M32, mov_cr_op, 1, 3},
    {B(0x41, 0x0f, 0x22, 0xe0), M64, mov_cr_op, 1, 4},
    {B(0x67, 0xf3, 0x6e), M32, outsb_op, 1, 3},
    /* 14 prefixes and a one-byte opcode: exactly 15. */
    {B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
       0x66, 0x66, 0xf4),
     M32, hlt_op, 1, 15},
    /* 13 and two opcode bytes. */
    {B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
       0x2e, 0x0f, 0xa2),
     M64, cpuid_op, 1, 15},
};

static void test_lengths(void **state)
{
	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(lens); i++) {
		const struct len_case *c = &lens[i];
		struct decode_prefixes p;
		u8 more[DECODE_MAX_INSN_LEN + 4];
		u32 len = 0;

		print_message("case %u\n", i);
		assert_int_equal(decode_match_opcode(c->bytes, c->n, c->mode,
						     c->ops, c->n_ops, &p,
						     &len),
				 DECODE_MATCH_OK);
		assert_int_equal(len, c->len);
		/* Trailing bytes change nothing. */
		memset(more, 0x90, sizeof(more));
		memcpy(more, c->bytes, c->n);
		len = 0;
		assert_int_equal(decode_match_opcode(more, sizeof(more),
						     c->mode, c->ops, c->n_ops,
						     &p, &len),
				 DECODE_MATCH_OK);
		assert_int_equal(len, c->len);
		/* Every shorter fetch is truncated. */
		for (u32 n = 0; n < c->n; n++)
			assert_int_equal(
			    decode_match_opcode(c->bytes, n, c->mode, c->ops,
						c->n_ops, &p, &len),
			    DECODE_MATCH_TRUNCATED);
	}
}

/* More than 15 bytes is #GP (SDM Vol. 2A 2.3.11), however many are
 * readable; an opcode never seen because of 15 prefixes too. */
static void test_longer_than_15_bytes(void **state)
{
	u8 b[20];
	struct decode_prefixes p;
	u32 len = 0;

	(void)state;
	memset(b, 0x66, sizeof(b));
	b[15] = 0xf4;
	assert_int_equal(
	    decode_match_opcode(b, sizeof(b), M32, hlt_op, 1, &p, &len),
	    DECODE_MATCH_TOO_LONG);
	assert_int_equal(p.count, DECODE_MAX_INSN_LEN);
	memset(b, 0x66, sizeof(b));
	b[14] = 0x0f;
	b[15] = 0xa2;
	assert_int_equal(
	    decode_match_opcode(b, sizeof(b), M32, cpuid_op, 1, &p, &len),
	    DECODE_MATCH_TOO_LONG);
	/* Only 15 bytes readable: the same answer. */
	assert_int_equal(decode_match_opcode(b, 15, M32, cpuid_op, 1, &p, &len),
			 DECODE_MATCH_TOO_LONG);
	/* MOV to CR with its ModRM as the 16th byte. */
	memset(b, 0x3e, sizeof(b));
	b[13] = 0x0f;
	b[14] = 0x22;
	assert_int_equal(
	    decode_match_opcode(b, sizeof(b), M32, mov_cr_op, 1, &p, &len),
	    DECODE_MATCH_TOO_LONG);
}

static void test_other_opcodes(void **state)
{
	static const u8 cpuid_like[] = {0x66, 0x0f, 0xa3, 0xc0};
	static const u8 vmrun[] = {0x0f, 0x01, 0xd8};
	static const u8 outsw[] = {0x66, 0x6f};
	struct decode_prefixes p;
	u32 len = 0;

	(void)state;
	assert_int_equal(decode_match_opcode(cpuid_like, sizeof(cpuid_like),
					     M32, cpuid_op, 1, &p, &len),
			 DECODE_MATCH_OTHER);
	assert_int_equal(decode_match_opcode(vmrun, sizeof(vmrun), M32,
					     hypercall_ops, 2, &p, &len),
			 DECODE_MATCH_OTHER);
	assert_int_equal(decode_match_opcode(outsw, sizeof(outsw), M32,
					     outsb_op, 1, &p, &len),
			 DECODE_MATCH_OTHER);
	assert_int_equal(decode_match_opcode(outsw, sizeof(outsw), M32,
					     cpuid_op, 0, &p, &len),
			 DECODE_MATCH_OTHER);
}

/* ---- core with the fake backend */

static struct fake_guest guest;

static struct {
	u32 count;
	u8 value[MAX_LOG];
} dev;

static u32 dev_read(void *opaque, u16 port, u8 size)
{
	(void)opaque;
	(void)port;
	(void)size;
	if (dev.count < MAX_LOG)
		dev.value[dev.count] = 0xa0 + (u8)dev.count;
	return 0xa0 + dev.count++;
}

static void dev_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)opaque;
	(void)port;
	(void)size;
	if (dev.count < MAX_LOG)
		dev.value[dev.count] = (u8)value;
	dev.count++;
}

static int setup(void **state)
{
	const struct io_handler h = {.first = PORT,
				     .last = PORT,
				     .read = dev_read,
				     .write = dev_write,
				     .name = "recorder"};

	(void)state;
	fake_guest_init(&guest, RAM_SIZE);
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_RIP, CODE);
	memset(&dev, 0, sizeof(dev));
	assert_true(iobus_register(&guest.vm.io, &h));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_guest_free(&guest);
	return 0;
}

static u64 *gpr(void)
{
	return guest.vcpu.regs.gpr;
}

static void code(const u8 *bytes, u32 n)
{
	memset(guest.ram + CODE, 0x90, 32);
	memcpy(guest.ram + CODE, bytes, n);
}

/* As AMD-V under QEMU reports it: no address size, no segment. */
static struct exit_event string_exit(bool in, bool rep, u32 insn_len)
{
	struct exit_event ev = fake_exit(EXIT_IO, insn_len);

	ev.io.port = PORT;
	ev.io.size = 1;
	ev.io.in = in;
	ev.io.string = true;
	ev.io.rep = rep;
	ev.io.address_size = IO_ADDRESS_SIZE_UNKNOWN;
	ev.io.segment = IO_SEGMENT_UNKNOWN;
	return ev;
}

/* addr16 rep outsb in 32-bit code: CX and SI, the upper halves kept. */
static void test_rep_outsb_addr16(void **state)
{
	struct exit_event ev = string_exit(false, true, 3);

	(void)state;
	code(B(0x67, 0xf3, 0x6e));
	memcpy(guest.ram + 0x20, "\x01\x02\x03\x04", 4);
	gpr()[GPR_RCX] = 0xdead0003;
	gpr()[GPR_RSI] = 0xbeef0020;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(ev.io.address_size, 2);
	assert_int_equal(dev.count, 3);
	assert_memory_equal(dev.value, "\x01\x02\x03", 3);
	assert_int_equal(gpr()[GPR_RCX], 0xdead0000);
	assert_int_equal(gpr()[GPR_RSI], 0xbeef0023);
}

/* addr16 rep insb: DI wraps inside the first 64 KiB. */
static void test_rep_insb_addr16_wraps(void **state)
{
	struct exit_event ev = string_exit(true, true, 3);

	(void)state;
	code(B(0x67, 0xf3, 0x6c));
	gpr()[GPR_RCX] = 0x12340002;
	gpr()[GPR_RDI] = 0x5678ffff;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(guest.ram[0xffff], 0xa0);
	assert_int_equal(guest.ram[0], 0xa1);
	assert_int_equal(guest.ram[0x10000], 0);
	assert_int_equal(gpr()[GPR_RCX], 0x12340000);
	assert_int_equal(gpr()[GPR_RDI], 0x56780001);
}

/* Real mode: 16-bit by default, 0x67 makes it 32 (CS.D is not looked at). */
static void test_real_mode_addr32(void **state)
{
	struct exit_event ev = string_exit(false, true, 3);

	(void)state;
	fake_guest_real_mode(&guest);
	fake_set(&guest, VCPU_CS_DB, 1);
	code(B(0x67, 0xf3, 0x6e));
	gpr()[GPR_RCX] = 2;
	gpr()[GPR_RSI] = 0x10020;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(ev.io.address_size, 4);
	assert_int_equal(gpr()[GPR_RSI], 0x10022);
	/* Virtual-8086 mode is 16-bit too. */
	fake_guest_flat32(&guest);
	fake_set(&guest, VCPU_RFLAGS, RFLAGS_FIXED | RFLAGS_VM);
	ev = string_exit(false, false, 1);
	code(B(0x6e));
	gpr()[GPR_RSI] = 0x3000ffff;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(ev.io.address_size, 2);
	assert_int_equal(gpr()[GPR_RSI], 0x30000000);
}

/* 64-bit mode with 0x67: ECX / ESI are 32-bit results, zero-extended. */
static void test_64bit_addr32_zero_extends(void **state)
{
	struct exit_event ev = string_exit(false, true, 3);

	(void)state;
	fake_set(&guest, VCPU_CS_LONG, 1);
	code(B(0x67, 0xf3, 0x6e));
	gpr()[GPR_RCX] = 0xffffffff00000002ull;
	gpr()[GPR_RSI] = 0x1234567800000040ull;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(ev.io.address_size, 4);
	assert_int_equal(dev.count, 2);
	assert_int_equal(gpr()[GPR_RCX], 0);
	assert_int_equal(gpr()[GPR_RSI], 0x42);
}

/* OUTS reads the segment its override names, DS without one; INS always
 * writes ES whatever the prefix (SDM Vol. 2B OUTS, INS). */
static void test_outs_segment_from_prefix(void **state)
{
	static const struct {
		u8 prefix; /* 0: none */
		u8 segment;
		u8 value;
	} cases[] = {
	    {0, DECODE_SEG_DS, 0xd5},	 {0x64, DECODE_SEG_FS, 0xf5},
	    {0x65, DECODE_SEG_GS, 0x65}, {0x26, DECODE_SEG_ES, 0xe5},
	    {0x2e, DECODE_SEG_CS, 0xc5}, {0x36, DECODE_SEG_SS, 0x55},
	    {0x3e, DECODE_SEG_DS, 0xd5},
	};

	(void)state;
	fake_set(&guest, VCPU_DS_BASE, 0x4000);
	fake_set(&guest, VCPU_FS_BASE, 0x5000);
	fake_set(&guest, VCPU_GS_BASE, 0x6000);
	fake_set(&guest, VCPU_ES_BASE, 0x7000);
	fake_set(&guest, VCPU_SS_BASE, 0x8000);
	/* CS base 0: CODE is then also where the bytes are. */
	guest.ram[0x4010] = 0xd5;
	guest.ram[0x5010] = 0xf5;
	guest.ram[0x6010] = 0x65;
	guest.ram[0x7010] = 0xe5;
	guest.ram[0x8010] = 0x55;
	guest.ram[0x0010] = 0xc5;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		u8 b[2] = {cases[i].prefix, 0x6e};
		u32 n = cases[i].prefix ? 2 : 1;
		struct exit_event ev = string_exit(false, false, n);

		code(cases[i].prefix ? b : b + 1, n);
		gpr()[GPR_RSI] = 0x10;
		assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
		assert_int_equal(ev.io.segment, cases[i].segment);
		assert_int_equal(dev.value[i], cases[i].value);
		assert_int_equal(gpr()[GPR_RSI], 0x11);
	}
	{
		struct exit_event ev = string_exit(true, false, 2);

		code(B(0x64, 0x6c));
		gpr()[GPR_RDI] = 0x20;
		assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
		assert_int_equal(guest.ram[0x7020], 0xa0 + ARRAY_SIZE(cases));
	}
}

/* What the backend knows is not decoded again: no fetch at all. */
static void test_known_values_are_kept(void **state)
{
	struct exit_event ev = string_exit(false, true, 3);

	(void)state;
	ev.io.address_size = 4;
	ev.io.segment = DECODE_SEG_DS;
	code(B(0x67, 0x64, 0xf3, 0x6e)); /* would say addr16, FS */
	fake_set(&guest, VCPU_FS_BASE, 0x5000);
	guest.ram[0x10020] = 0x77;
	gpr()[GPR_RCX] = 1;
	gpr()[GPR_RSI] = 0x10020;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_SKIP);
	assert_int_equal(dev.value[0], 0x77);
	assert_int_equal(gpr()[GPR_RSI], 0x10021);
}

static void assert_stopped(const char *why)
{
	assert_int_equal(guest.vm.state, VM_STATE_STOPPED);
	assert_non_null(strstr(guest.vm.stop_reason, why));
}

/* Bytes that are not the instruction that exited: the guest stops, having
 * done nothing. */
static void test_string_io_other_bytes_stop(void **state)
{
	struct exit_event ev = string_exit(false, true, 3);
	enum exit_action action;

	(void)state;
	code(B(0x67, 0xf3, 0x6c)); /* INS, but the exit is OUTS */
	gpr()[GPR_RCX] = 5;
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_END);
	assert_int_equal(dev.count, 0);
	assert_int_equal(gpr()[GPR_RCX], 5);
	assert_stopped("(67 f3 6c 90");
	/* The right opcode, but not the length the exit reported. */
	fake_guest_free(&guest);
	setup(NULL);
	ev = string_exit(false, true, 3);
	code(B(0xf3, 0x6e));
	assert_false(prefix_string_io(&guest.vcpu, &ev, &action));
	assert_int_equal(action, EXIT_ACTION_END);
	assert_stopped("OUTS at rip 0x1000: instruction length unknown");
}

static void test_string_io_longer_than_15_bytes_gp(void **state)
{
	struct exit_event ev = string_exit(false, false, 15);
	u8 b[16];

	(void)state;
	memset(b, 0x3e, sizeof(b));
	b[15] = 0x6e;
	code(b, sizeof(b));
	assert_int_equal(handle_io(&guest.vcpu, &ev), EXIT_ACTION_RESUME);
	assert_true(guest.vcpu.entry.inject);
	assert_int_equal(guest.vcpu.entry.event.vector, X86_VECTOR_GP);
	assert_int_equal(guest.vcpu.entry.event.error_code, 0);
	assert_int_equal(dev.count, 0);
}

/* The lengths of the exits without NRIP save. */
static void test_insn_len_of_each_exit(void **state)
{
	const struct {
		enum exit_kind kind;
		const u8 *bytes;
		u32 n;
	} cases[] = {
	    {EXIT_CPUID, B(0x66, 0x0f, 0xa2)},
	    {EXIT_CPUID, B(0x0f, 0xa2)},
	    {EXIT_MSR_READ, B(0x2e, 0x0f, 0x32)},
	    {EXIT_MSR_WRITE, B(0x3e, 0x0f, 0x30)},
	    {EXIT_HLT, B(0xf3, 0xf4)},
	    {EXIT_HYPERCALL, B(0x66, 0x0f, 0x01, 0xd9)},
	    {EXIT_HYPERCALL, B(0x0f, 0x01, 0xc1)},
	    {EXIT_XSETBV, B(0xf2, 0x2e, 0x0f, 0x01, 0xd1)},
	    {EXIT_CR_ACCESS, B(0x66, 0x0f, 0x22, 0xe0)},
	};

	(void)state;
	for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
		struct exit_event ev = fake_exit(cases[i].kind, 0);
		enum exit_action action = EXIT_ACTION_SKIP;

		print_message("case %u\n", i);
		code(cases[i].bytes, cases[i].n);
		assert_true(prefix_insn_len(&guest.vcpu, &ev, &action));
		assert_int_equal(ev.insn_len, cases[i].n);
		assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
	}
}

/* 64-bit code: REX counts, CS.D does not matter. */
static void test_insn_len_64bit(void **state)
{
	struct exit_event ev = fake_exit(EXIT_MSR_READ, 0);
	enum exit_action action;

	(void)state;
	fake_set(&guest, VCPU_CS_LONG, 1);
	code(B(0x66, 0x48, 0x0f, 0x32));
	assert_true(prefix_insn_len(&guest.vcpu, &ev, &action));
	assert_int_equal(ev.insn_len, 4);
	/* The same bytes in 32-bit code: 48 is DEC EAX. */
	fake_set(&guest, VCPU_CS_LONG, 0);
	ev = fake_exit(EXIT_MSR_READ, 0);
	assert_false(prefix_insn_len(&guest.vcpu, &ev, &action));
	assert_int_equal(action, EXIT_ACTION_END);
	assert_stopped("RDMSR at rip 0x1000: instruction length unknown");
}

static void test_insn_len_other_bytes_stop(void **state)
{
	struct exit_event ev = fake_exit(EXIT_CPUID, 0);
	enum exit_action action;

	(void)state;
	code(B(0x66, 0x0f, 0x31)); /* RDTSC */
	assert_false(prefix_insn_len(&guest.vcpu, &ev, &action));
	assert_int_equal(action, EXIT_ACTION_END);
	assert_int_equal(ev.insn_len, 0);
	assert_stopped("CPUID at rip 0x1000: instruction length unknown: "
		       "the bytes there (66 0f 31 90");
}

/* An exit kind that names no instruction: nothing to match. */
static void test_insn_len_unknown_kind_stops(void **state)
{
	struct exit_event ev = fake_exit(EXIT_GPA_FAULT, 0);
	enum exit_action action;

	(void)state;
	code(B(0x0f, 0xa2));
	assert_false(prefix_insn_len(&guest.vcpu, &ev, &action));
	assert_int_equal(action, EXIT_ACTION_END);
	assert_stopped("instruction length unknown");
}

/* Code on a page the guest cannot read: stop, naming it. */
static void test_insn_len_unreadable_stops(void **state)
{
	struct exit_event ev = fake_exit(EXIT_HLT, 0);
	enum exit_action action;

	(void)state;
	fake_set(&guest, VCPU_RIP, RAM_SIZE + 0x1000);
	assert_false(prefix_insn_len(&guest.vcpu, &ev, &action));
	assert_int_equal(action, EXIT_ACTION_END);
	assert_stopped("(unreadable)");
}

static void test_insn_len_longer_than_15_bytes_gp(void **state)
{
	struct exit_event ev = fake_exit(EXIT_CPUID, 0);
	enum exit_action action;
	u8 b[17];

	(void)state;
	memset(b, 0x66, sizeof(b));
	b[15] = 0x0f;
	b[16] = 0xa2;
	code(b, sizeof(b));
	assert_false(prefix_insn_len(&guest.vcpu, &ev, &action));
	assert_int_equal(action, EXIT_ACTION_RESUME);
	assert_true(guest.vcpu.entry.inject);
	assert_int_equal(guest.vcpu.entry.event.vector, X86_VECTOR_GP);
	assert_int_equal(guest.vm.state, VM_STATE_RUNNING);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_legacy_prefix),
	    cmocka_unit_test(test_last_of_a_group_counts),
	    cmocka_unit_test(test_rex),
	    cmocka_unit_test(test_address_size),
	    cmocka_unit_test(test_lengths),
	    cmocka_unit_test(test_longer_than_15_bytes),
	    cmocka_unit_test(test_other_opcodes),
	    T(test_rep_outsb_addr16),
	    T(test_rep_insb_addr16_wraps),
	    T(test_real_mode_addr32),
	    T(test_64bit_addr32_zero_extends),
	    T(test_outs_segment_from_prefix),
	    T(test_known_values_are_kept),
	    T(test_string_io_other_bytes_stop),
	    T(test_string_io_longer_than_15_bytes_gp),
	    T(test_insn_len_of_each_exit),
	    T(test_insn_len_64bit),
	    T(test_insn_len_other_bytes_stop),
	    T(test_insn_len_unknown_kind_stops),
	    T(test_insn_len_unreadable_stops),
	    T(test_insn_len_longer_than_15_bytes_gp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
