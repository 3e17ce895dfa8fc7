/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the 8042 keyboard controller and system control port A
 * (core/vdev/vi8042.c), driven by reads and writes of every width at
 * 0x60, 0x64, 0x92 and ports around them.
 *
 * Checked: only IRQ 1 and IRQ 12 are driven, and each line follows the
 * state (high exactly while a byte of its kind waits and the command
 * byte enables its interrupt); the status register's AUX bit only with a
 * full output buffer; a data byte is awaited only after a command that
 * takes one; the output port keeps its reset line high; each reset
 * request (callback) is latched in reset_requested.
 */
#include <string.h>

#include "core/vdev/vi8042.h"
#include "tests/fuzz/fuzz.h"

#define STATUS_FULL  0x01
#define STATUS_AUX   0x20
#define CB_KBD_INT   0x01
#define CB_AUX_INT   0x02
#define OUTPUT_RESET 0x01

static struct vi8042 kbc;
static bool line[16];
static u32 resets;

static void set_irq(void *opaque, u8 irq, bool level)
{
	(void)opaque;
	FUZZ_CHECK(irq == VI8042_KBD_IRQ || irq == VI8042_AUX_IRQ,
		   "the 8042 drove IRQ %u", irq);
	line[irq] = level;
}

static void reset(void *opaque)
{
	(void)opaque;
	resets++;
}

static void check_state(void)
{
	bool full = kbc.status & STATUS_FULL;
	static const u8 takes_data[] = {0, 0x60, 0xd1, 0xd2, 0xd3, 0xd4};
	bool pending_ok = false;

	FUZZ_CHECK(line[VI8042_KBD_IRQ] == (full && !kbc.output_aux &&
					    (kbc.command_byte & CB_KBD_INT)),
		   "IRQ 1 %d with status 0x%02x command byte 0x%02x",
		   line[VI8042_KBD_IRQ], kbc.status, kbc.command_byte);
	FUZZ_CHECK(line[VI8042_AUX_IRQ] == (full && kbc.output_aux &&
					    (kbc.command_byte & CB_AUX_INT)),
		   "IRQ 12 %d with status 0x%02x command byte 0x%02x",
		   line[VI8042_AUX_IRQ], kbc.status, kbc.command_byte);
	FUZZ_CHECK(!(kbc.status & STATUS_AUX) || full,
		   "status 0x%02x: AUX without a byte", kbc.status);
	for (u32 i = 0; i < ARRAY_SIZE(takes_data); i++)
		pending_ok |= kbc.pending == takes_data[i];
	FUZZ_CHECK(pending_ok, "waiting for data of command 0x%02x",
		   kbc.pending);
	FUZZ_CHECK(kbc.output_port & OUTPUT_RESET, "output port 0x%02x",
		   kbc.output_port);
	FUZZ_CHECK(!resets || kbc.reset_requested, "reset not latched");
}

static void step(struct fuzz_in *in)
{
	static const u16 ports[] = {0x60, 0x64, 0x92, 0x61, 0x63, 0x65, 0x91};
	static const u8 sizes[] = {1, 2, 4};
	u8 op = fuzz_u8(in);
	u16 port = FUZZ_PICK(in, ports);

	if (in->done)
		return;
	switch (op % 4) {
	case 0:
		vi8042_write(&kbc, port, fuzz_u8(in));
		break;
	case 1:
		(void)vi8042_read(&kbc, port);
		break;
	case 2:
		vi8042_io_write(&kbc, port, FUZZ_PICK(in, sizes), fuzz_u32(in));
		break;
	default:
		(void)vi8042_io_read(&kbc, port, FUZZ_PICK(in, sizes));
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	memset(line, 0, sizeof(line));
	resets = 0;
	vi8042_init(&kbc, reset, NULL, set_irq, NULL);
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
