/* SPDX-License-Identifier: MIT */
/*
 * Prefixes and lengths of exiting instructions the backend could not
 * describe (contract in core/prefix.h). Runs only on AMD-V without NRIP
 * save or decode assists, and only for the exits that need it: the common
 * exit path never calls it.
 */
#include "core/prefix.h"
#include "core/decode.h"
#include "core/vm.h"
#include "core/lib/format.h"
#include "arch/x86/cpu.h"

/* Opcodes: SDM Vol. 2A/2B and APM Vol. 3 (VMMCALL), after any prefixes. */
static const struct decode_opcode op_cpuid[] = {{2, {0x0f, 0xa2}, 0}};
static const struct decode_opcode op_rdmsr[] = {{2, {0x0f, 0x32}, 0}};
static const struct decode_opcode op_wrmsr[] = {{2, {0x0f, 0x30}, 0}};
static const struct decode_opcode op_hlt[] = {{1, {0xf4}, 0}};
/* Both are hypercalls on both vendors (docs/hypercall.md). */
static const struct decode_opcode op_hypercall[] = {
    {3, {0x0f, 0x01, 0xd9}, 0}, /* VMMCALL */
    {3, {0x0f, 0x01, 0xc1}, 0}, /* VMCALL */
};
static const struct decode_opcode op_xsetbv[] = {{3, {0x0f, 0x01, 0xd1}, 0}};
/* PAUSE is F3 90 (SDM Vol. 2B PAUSE): the F3 is part of the opcode. */
static const struct decode_opcode op_pause[] = {{2, {0xf3, 0x90}, 0}};
/* MOV to CRn: 0F 22 and a ModRM of any mod (SDM Vol. 2B "MOV—Move
 * to/from Control Registers"). */
static const struct decode_opcode op_mov_to_cr[] = {{2, {0x0f, 0x22}, 1}};

/* The instruction behind each exit kind that completes one. */
static const struct {
	const struct decode_opcode *ops;
	u32 n;
	const char *what;
} exit_insns[EXIT_KIND_COUNT] = {
    [EXIT_CPUID] = {op_cpuid, 1, "CPUID"},
    [EXIT_MSR_READ] = {op_rdmsr, 1, "RDMSR"},
    [EXIT_MSR_WRITE] = {op_wrmsr, 1, "WRMSR"},
    [EXIT_HLT] = {op_hlt, 1, "HLT"},
    [EXIT_HYPERCALL] = {op_hypercall, ARRAY_SIZE(op_hypercall),
			"VMMCALL / VMCALL"},
    [EXIT_XSETBV] = {op_xsetbv, 1, "XSETBV"},
    [EXIT_CR_ACCESS] = {op_mov_to_cr, 1, "MOV to CR"},
    [EXIT_PAUSE] = {op_pause, 1, "PAUSE"},
};

enum decode_mode prefix_guest_mode(struct vcpu *vcpu)
{
	if (!(vcpu_read(vcpu, VCPU_CR0) & CR0_PE) ||
	    (vcpu_read(vcpu, VCPU_RFLAGS) & RFLAGS_VM))
		return DECODE_MODE_16;
	return decode_mode_from_cs(vcpu_read(vcpu, VCPU_CS_LONG),
				   vcpu_read(vcpu, VCPU_CS_DB));
}

/* "0f a2 ..." for a message. */
static void hex_bytes(char *buf, size_t size, const u8 *bytes, u32 n)
{
	size_t out = 0;

	buf[0] = '\0';
	for (u32 i = 0; i < n && out + 4 <= size; i++)
		out += (size_t)snformat(buf + out, size - out, "%s%02x",
					i ? " " : "", bytes[i]);
}

/*
 * Fetch and match: true with *p and *len; false after injecting #GP or
 * stopping the guest (see core/prefix.h). `what` names the instruction;
 * `want_len` (0: any) is a length the backend did report.
 */
static bool match_fetched(struct vcpu *vcpu, const u8 *bytes, u32 got,
			  const char *what, const struct decode_opcode *ops,
			  u32 n, u32 want_len, enum decode_mode mode,
			  struct decode_prefixes *p, u32 *len,
			  enum exit_action *action)
{
	enum decode_match m =
	    decode_match_opcode(bytes, got, mode, ops, n, p, len);
	char seen[3 * DECODE_MAX_INSN_LEN + 1];

	if (m == DECODE_MATCH_OK && (!want_len || *len == want_len))
		return true;
	if (m == DECODE_MATCH_TOO_LONG) {
		vcpu_inject_gp(vcpu);
		*action = EXIT_ACTION_RESUME;
		return false;
	}
	hex_bytes(seen, sizeof(seen), bytes, got);
	vm_stop(vcpu->vm,
		"%s at rip 0x%llx: instruction length unknown: the bytes there "
		"(%s) are not %s (changed since the exit?)",
		what, (unsigned long long)vcpu_read(vcpu, VCPU_RIP),
		got ? seen : "unreadable", what);
	*action = EXIT_ACTION_END;
	return false;
}

static bool match(struct vcpu *vcpu, const char *what,
		  const struct decode_opcode *ops, u32 n, u32 want_len,
		  enum decode_mode mode, struct decode_prefixes *p, u32 *len,
		  enum exit_action *action)
{
	u8 bytes[DECODE_MAX_INSN_LEN];
	u32 got = vcpu_fetch_insn(vcpu, bytes, sizeof(bytes));

	return match_fetched(vcpu, bytes, got, what, ops, n, want_len, mode, p,
			     len, action);
}

/*
 * The common case, read in place: the opcode without a prefix, whole on
 * the page of RIP. None of these opcodes starts with a prefix byte (0F,
 * F4), so bytes that begin with one of them are the whole instruction,
 * whatever the mode. 0 when that is not so (a prefix, the page's end, RIP
 * not in RAM): the full decode then looks.
 */
static u32 plain_len(struct vcpu *vcpu, const struct decode_opcode *ops, u32 n)
{
	u64 linear = vcpu_read(vcpu, VCPU_RIP_LINEAR), g;
	u32 off = (u32)(linear & (PAGE_SIZE - 1));
	const u8 *p;

	if (!vcpu_linear_to_gpa(vcpu, linear, &g) || !vcpu->walk_hva)
		return 0;
	p = vcpu->walk_hva + off;
	for (const struct decode_opcode *op = ops; op < ops + n; op++) {
		u32 len = op->len + op->operand;

		/* Opcodes are 1 to 3 bytes (struct decode_opcode). */
		if (off + len > PAGE_SIZE || p[0] != op->bytes[0] ||
		    (op->len > 1 && p[1] != op->bytes[1]) ||
		    (op->len > 2 && p[2] != op->bytes[2]))
			continue;
		return len;
	}
	return 0;
}

u32 prefix_quick_len(struct vcpu *vcpu, const struct exit_event *ev)
{
	if ((u32)ev->kind >= EXIT_KIND_COUNT || !exit_insns[ev->kind].n)
		return 0;
	return plain_len(vcpu, exit_insns[ev->kind].ops,
			 exit_insns[ev->kind].n);
}

bool prefix_insn_len(struct vcpu *vcpu, struct exit_event *ev,
		     enum exit_action *action)
{
	u8 bytes[DECODE_MAX_INSN_LEN];
	struct decode_prefixes p;
	u32 got, len = 0;

	if ((u32)ev->kind >= EXIT_KIND_COUNT || !exit_insns[ev->kind].n) {
		/* No instruction core knows the opcode of: never guess. */
		vm_stop(vcpu->vm,
			"%s exit at rip 0x%llx: instruction length unknown",
			ev->vendor_name ? ev->vendor_name : "an",
			(unsigned long long)vcpu_read(vcpu, VCPU_RIP));
		*action = EXIT_ACTION_END;
		return false;
	}
	len = plain_len(vcpu, exit_insns[ev->kind].ops, exit_insns[ev->kind].n);
	if (!len) {
		got = vcpu_fetch_insn(vcpu, bytes, sizeof(bytes));
		if (!match_fetched(vcpu, bytes, got, exit_insns[ev->kind].what,
				   exit_insns[ev->kind].ops,
				   exit_insns[ev->kind].n, 0,
				   prefix_guest_mode(vcpu), &p, &len, action))
			return false;
	}
	ev->insn_len = len;
	return true;
}

bool prefix_string_io(struct vcpu *vcpu, struct exit_event *ev,
		      enum exit_action *action)
{
	/* INS 6C (byte) / 6D, OUTS 6E (byte) / 6F (SDM Vol. 2B). */
	const struct decode_opcode op = {
	    1, {(u8)((ev->io.in ? 0x6c : 0x6e) + (ev->io.size != 1))}, 0};
	enum decode_mode mode = prefix_guest_mode(vcpu);
	struct decode_prefixes p;
	u32 len;

	if (!match(vcpu, ev->io.in ? "INS" : "OUTS", &op, 1, ev->insn_len, mode,
		   &p, &len, action))
		return false;
	if (ev->io.address_size == IO_ADDRESS_SIZE_UNKNOWN)
		ev->io.address_size = decode_address_size(mode, &p);
	if (ev->io.segment == IO_SEGMENT_UNKNOWN)
		ev->io.segment =
		    p.segment == DECODE_SEG_NONE ? DECODE_SEG_DS : p.segment;
	return true;
}
