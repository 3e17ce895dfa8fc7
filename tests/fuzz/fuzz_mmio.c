/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the emulation of one guest instruction that faulted on an
 * MMIO region (core/mmio.c: fetch at CS:RIP through the guest's paging,
 * decode, device access, register update), driven through the fake
 * backend of the unit tests (tests/unit/fake_vcpu.h).
 *
 * Input: the guest's mode (real, flat 32-bit, 64-bit with paging off,
 * 4-level paging mapping RIP's page, or raw CR0/CR3/CR4/EFER/CS bits with
 * page tables from the input), CS base and RIP, the region and the
 * faulting offset in it, what the device answers (a value, a refusal, a
 * stop), the 16 registers, 15 instruction bytes, then guest RAM contents.
 *
 * Checked: the action is one of the three; a completed access (SKIP)
 * reports a length of 1-15, reached the device with a size of 1, 2, 4 or
 * 8 at the faulting offset and inside the region, once per direction; a
 * refusal (RESUME) injects #GP; an END stops the guest with a reason;
 * RIP is never moved here, no event but #GP is injected, and at most one
 * register changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "core/handlers.h"
#include "core/mmio.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/fake_vcpu.h"

#define RAM_SIZE    (128 * 1024ull)
#define CODE_PAGE   0x2000ull  /* where paging maps RIP's page */
#define TABLES	    0x8000ull  /* fake_paging_init()'s page tables */
#define RAM_CONTENT 0x18000ull /* the rest of the input goes here */

enum guest_mode {
	MODE_REAL,
	MODE_FLAT32,
	MODE_LONG_FLAT,
	MODE_PAGED,
	MODE_RAW
};

static struct fake_guest guest;

static struct {
	u32 reads, writes;
	u64 offset[2];
	u8 size[2];
	u64 answer;
	bool refuse, stop;
} dev;

static void record(u64 offset, u8 size)
{
	u32 n = dev.reads + dev.writes;

	if (n < 2) {
		dev.offset[n] = offset;
		dev.size[n] = size;
	}
}

static int dev_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		    u64 *value)
{
	(void)opaque;
	(void)vcpu;
	record(offset, size);
	dev.reads++;
	*value = dev.answer;
	return dev.refuse ? -1 : 0;
}

static int dev_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		     u64 value)
{
	(void)opaque;
	(void)vcpu;
	(void)value;
	record(offset, size);
	dev.writes++;
	if (dev.stop)
		vm_stop(&guest.vm, "the device stopped the guest");
	return dev.refuse ? -1 : 0;
}

static void set_mode(struct fuzz_in *in, enum guest_mode mode, u64 *rip)
{
	switch (mode) {
	case MODE_REAL:
		fake_guest_real_mode(&guest);
		fake_set(&guest, VCPU_CS_BASE, (u64)fuzz_u16(in) << 4);
		*rip = fuzz_u16(in);
		break;
	case MODE_FLAT32:
		fake_guest_flat32(&guest);
		fake_set(&guest, VCPU_CS_BASE, fuzz_u32(in));
		*rip = fuzz_u32(in);
		break;
	case MODE_LONG_FLAT: /* what the unit tests use: RIP is the gpa */
		fake_set(&guest, VCPU_CR0, CR0_PE);
		*rip = fuzz_u16(in) % RAM_SIZE;
		break;
	case MODE_PAGED:
		fake_paging_init(&guest, TABLES);
		*rip = fuzz_u64(in);
		fake_map(&guest, *rip, CODE_PAGE);
		if ((*rip & 0xfff) > 0xff0) /* the instruction may go on */
			fake_map(&guest, *rip + 0x1000, CODE_PAGE + 0x1000);
		break;
	default:
		fake_set(&guest, VCPU_CR0, fuzz_u64(in));
		fake_set(&guest, VCPU_CR3,
			 RAM_CONTENT | (fuzz_u16(in) & 0x7fff));
		fake_set(&guest, VCPU_CR4, fuzz_u32(in));
		fake_set(&guest, VCPU_EFER, fuzz_u16(in));
		fake_set(&guest, VCPU_CS_LONG, fuzz_bool(in));
		fake_set(&guest, VCPU_CS_DB, fuzz_bool(in));
		fake_set(&guest, VCPU_CS_BASE, fuzz_u32(in));
		*rip = fuzz_u64(in);
		break;
	}
	fake_set(&guest, VCPU_RIP, *rip);
}

/* Where the fetch will find the instruction, if in RAM. */
static u64 code_gpa(enum guest_mode mode, u64 rip)
{
	switch (mode) {
	case MODE_REAL:
	case MODE_FLAT32:
		return (fake_get(&guest, VCPU_CS_BASE) + rip) & 0xffffffffull;
	case MODE_LONG_FLAT:
		return rip;
	case MODE_PAGED:
		return CODE_PAGE + (rip & 0xfff);
	default:
		return rip;
	}
}

static void check(enum exit_action action, const struct exit_event *ev,
		  const struct mmio_region *r, u64 offset, u64 rip,
		  const u64 *gprs_before)
{
	u32 changed = 0;

	FUZZ_CHECK(fake_get(&guest, VCPU_RIP) == rip, "RIP moved");
	for (u32 i = 0; i < 16; i++)
		changed += guest.vcpu.regs.gpr[i] != gprs_before[i];
	FUZZ_CHECK(changed <= 1, "%u registers changed", changed);
	for (u32 i = 0; i < MIN(dev.reads + dev.writes, 2u); i++)
		FUZZ_CHECK(dev.offset[i] == offset &&
			       (dev.size[i] == 1 || dev.size[i] == 2 ||
				dev.size[i] == 4 || dev.size[i] == 8) &&
			       dev.offset[i] + dev.size[i] <= r->size,
			   "device access of %u bytes at 0x%llx (fault at "
			   "0x%llx, region of 0x%llx)",
			   dev.size[i], (unsigned long long)dev.offset[i],
			   (unsigned long long)offset,
			   (unsigned long long)r->size);
	FUZZ_CHECK(dev.reads <= 1 && dev.writes <= 1, "%u reads, %u writes",
		   dev.reads, dev.writes);
	switch (action) {
	case EXIT_ACTION_SKIP:
		FUZZ_CHECK(ev->insn_len >= 1 &&
			       ev->insn_len <= DECODE_MAX_INSN_LEN,
			   "skip %u", ev->insn_len);
		FUZZ_CHECK(dev.reads + dev.writes >= 1, "no device access");
		FUZZ_CHECK(!guest.vcpu.entry.inject, "an event with SKIP");
		FUZZ_CHECK(vm_running(&guest.vm), "SKIP for a stopped guest");
		break;
	case EXIT_ACTION_RESUME:
		FUZZ_CHECK(guest.vcpu.entry.inject &&
			       guest.vcpu.entry.event.type ==
				   VCPU_EVENT_EXCEPTION &&
			       guest.vcpu.entry.event.vector == X86_VECTOR_GP,
			   "RESUME without #GP");
		break;
	case EXIT_ACTION_END:
		FUZZ_CHECK(!vm_running(&guest.vm) && guest.vm.stop_reason[0],
			   "END for a running guest");
		break;
	default:
		FUZZ_CHECK(false, "action %d", (int)action);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);
	enum guest_mode mode = (enum guest_mode)fuzz_below(&in, MODE_RAW + 1);
	static const u64 bases[] = {0xfee00000ull, 0xfec00000ull, 0x1000ull};
	static const u64 sizes[] = {0x1000, 0x20, 1, 8};
	struct mmio_region region = {
	    .read = dev_read, .write = dev_write, .name = "fuzz device"};
	const struct mmio_region *r;
	struct exit_event ev;
	enum exit_action action;
	u64 rip, offset, gprs[16], code;
	size_t len;
	const u8 *bytes;

	fake_guest_init(&guest, RAM_SIZE);
	memset(&dev, 0, sizeof(dev));
	set_mode(&in, mode, &rip);
	region.base = FUZZ_PICK(&in, bases);
	region.size = FUZZ_PICK(&in, sizes);
	offset = fuzz_u16(&in) % region.size;
	dev.answer = fuzz_u64(&in);
	dev.refuse = fuzz_u8(&in) == 0xff;
	dev.stop = fuzz_u8(&in) == 0xff;
	for (u32 i = 0; i < 16; i++)
		gprs[i] = fuzz_u64(&in);
	memcpy(guest.vcpu.regs.gpr, gprs, sizeof(gprs));
	bytes = fuzz_bytes(&in, DECODE_MAX_INSN_LEN, &len);
	code = code_gpa(mode, rip);
	if (code < RAM_SIZE)
		memcpy(guest.ram + code, bytes, MIN(len, RAM_SIZE - code));
	ev = fake_exit(EXIT_GPA_FAULT, 0);
	ev.gpa_fault.gpa = region.base + offset;
	ev.gpa_fault.write = fuzz_bool(&in);
	ev.gpa_fault.read = !ev.gpa_fault.write;
	bytes = fuzz_rest(&in, &len);
	memcpy(guest.ram + RAM_CONTENT, bytes,
	       MIN(len, RAM_SIZE - RAM_CONTENT));
	FUZZ_CHECK(mmio_register(&guest.vm.mmio, &region), "region refused");
	r = mmio_find(&guest.vm.mmio, region.base + offset);
	FUZZ_CHECK(r, "no region at its own address");

	memset(&guest.vcpu.entry, 0, sizeof(guest.vcpu.entry));
	action = mmio_emulate(&guest.vcpu, &ev, r);
	check(action, &ev, r, offset, rip, gprs);
	fake_guest_free(&guest);
	return 0;
}
