/* SPDX-License-Identifier: MIT */
#include "core/vdev/vi8042.h"
#include "core/lib/string.h"

/* Status register bits. */
#define STATUS_OUTPUT_FULL 0x01
#define STATUS_SYSTEM	   0x04 /* set once the self-test passed */
#define STATUS_COMMAND	   0x08 /* last write went to 0x64 */
#define STATUS_UNINHIBITED 0x10 /* keyboard not locked */
#define STATUS_AUX_OUTPUT  0x20 /* the output byte came from the mouse */
#define STATUS_TIMEOUT	   0x40

/* Command byte bits. */
#define CB_KBD_INTERRUPT 0x01
#define CB_AUX_INTERRUPT 0x02
#define CB_SYSTEM	 0x04
#define CB_KBD_DISABLED	 0x10
#define CB_AUX_DISABLED	 0x20

/* Output port bits. */
#define OUTPUT_PORT_RESET 0x01 /* active low: 0 resets the CPU */
#define OUTPUT_PORT_A20	  0x02

/*
 * System control port A (PS/2): bits 7:6 the fixed-disk light and bit 3
 * the security lock latch are kept as written (the latch stays set until
 * a reset); bit 4, the watchdog timeout status, is read-only and 0 (no
 * watchdog); bits 5 and 2 are reserved and read 0.
 */
#define PORT_A_LOCK	  0x08
#define PORT_A_DISK_LIGHT 0xc0
#define PORT_A_WRITABLE                                                        \
	(PORT_A_DISK_LIGHT | PORT_A_LOCK | VI8042_PORT_A_A20 |                 \
	 VI8042_PORT_A_RESET)

enum command {
	CMD_READ_COMMAND_BYTE = 0x20,
	CMD_WRITE_COMMAND_BYTE = 0x60,
	CMD_DISABLE_AUX = 0xa7,
	CMD_ENABLE_AUX = 0xa8,
	CMD_TEST_AUX = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_TEST_KBD = 0xab,
	CMD_DISABLE_KBD = 0xad,
	CMD_ENABLE_KBD = 0xae,
	CMD_READ_OUTPUT_PORT = 0xd0,
	CMD_WRITE_OUTPUT_PORT = 0xd1,
	CMD_WRITE_KBD_OUTPUT = 0xd2,
	CMD_WRITE_AUX_OUTPUT = 0xd3,
	CMD_WRITE_AUX = 0xd4,
	CMD_DISABLE_A20 = 0xdd,
	CMD_ENABLE_A20 = 0xdf,
	CMD_PULSE_FIRST = 0xf0, /* 0xf0-0xff: pulse output port bits 3:0 */
};

#define SELF_TEST_PASSED 0x55
#define INTERFACE_OK	 0x00

void vi8042_init(struct vi8042 *kbc, vi8042_reset_fn reset, void *reset_opaque,
		 isa_irq_fn set_irq, void *irq_opaque)
{
	memset(kbc, 0, sizeof(*kbc));
	/* As firmware leaves it: self-test passed, both ports disabled. */
	kbc->status = STATUS_SYSTEM | STATUS_UNINHIBITED;
	kbc->command_byte = CB_SYSTEM | CB_KBD_DISABLED | CB_AUX_DISABLED;
	kbc->output_port = OUTPUT_PORT_RESET | OUTPUT_PORT_A20;
	/* Firmware turns A20 on through port 0x92 (SeaBIOS does). */
	kbc->port_a = VI8042_PORT_A_A20;
	kbc->reset = reset;
	kbc->reset_opaque = reset_opaque;
	kbc->set_irq = set_irq;
	kbc->irq_opaque = irq_opaque;
}

static void request_reset(struct vi8042 *kbc)
{
	kbc->reset_requested = true;
	if (kbc->reset)
		kbc->reset(kbc->reset_opaque);
}

/* IRQ 1 or 12 while a byte waits, if the command byte enables it. */
static void update_irq(struct vi8042 *kbc)
{
	bool full = kbc->status & STATUS_OUTPUT_FULL;
	bool kbd =
	    full && !kbc->output_aux && (kbc->command_byte & CB_KBD_INTERRUPT);
	bool aux =
	    full && kbc->output_aux && (kbc->command_byte & CB_AUX_INTERRUPT);

	if (!kbc->set_irq)
		return;
	kbc->set_irq(kbc->irq_opaque, VI8042_KBD_IRQ, kbd);
	kbc->set_irq(kbc->irq_opaque, VI8042_AUX_IRQ, aux);
}

static void put_output(struct vi8042 *kbc, u8 byte, bool aux)
{
	kbc->output = byte;
	kbc->output_aux = aux;
	kbc->status |= STATUS_OUTPUT_FULL;
	if (aux)
		kbc->status |= STATUS_AUX_OUTPUT;
	else
		kbc->status &= (u8)~STATUS_AUX_OUTPUT;
	update_irq(kbc);
}

static void write_output_port(struct vi8042 *kbc, u8 value)
{
	kbc->output_port = value | OUTPUT_PORT_RESET;
	if (!(value & OUTPUT_PORT_RESET))
		request_reset(kbc);
}

static void set_command_byte(struct vi8042 *kbc, u8 value)
{
	kbc->command_byte = value;
	if (value & CB_SYSTEM)
		kbc->status |= STATUS_SYSTEM;
	else
		kbc->status &= (u8)~STATUS_SYSTEM;
	update_irq(kbc);
}

static void write_command(struct vi8042 *kbc, u8 cmd)
{
	kbc->status |= STATUS_COMMAND;
	kbc->status &= (u8)~STATUS_TIMEOUT;
	kbc->pending = 0;
	if (cmd >= CMD_PULSE_FIRST) {
		/* Bits 3:0 low select the output port lines to pulse. */
		if (!(cmd & OUTPUT_PORT_RESET))
			request_reset(kbc);
		return;
	}
	switch (cmd) {
	case CMD_READ_COMMAND_BYTE:
		put_output(kbc, kbc->command_byte, false);
		return;
	case CMD_SELF_TEST:
		kbc->status |= STATUS_SYSTEM;
		put_output(kbc, SELF_TEST_PASSED, false);
		return;
	case CMD_TEST_KBD:
	case CMD_TEST_AUX:
		put_output(kbc, INTERFACE_OK, false);
		return;
	case CMD_DISABLE_KBD:
		set_command_byte(kbc, kbc->command_byte | CB_KBD_DISABLED);
		return;
	case CMD_ENABLE_KBD:
		set_command_byte(kbc, kbc->command_byte & ~CB_KBD_DISABLED);
		return;
	case CMD_DISABLE_AUX:
		set_command_byte(kbc, kbc->command_byte | CB_AUX_DISABLED);
		return;
	case CMD_ENABLE_AUX:
		set_command_byte(kbc, kbc->command_byte & ~CB_AUX_DISABLED);
		return;
	case CMD_READ_OUTPUT_PORT:
		put_output(kbc, kbc->output_port, false);
		return;
	case CMD_DISABLE_A20:
		kbc->output_port &= (u8)~OUTPUT_PORT_A20;
		return;
	case CMD_ENABLE_A20:
		kbc->output_port |= OUTPUT_PORT_A20;
		return;
	case CMD_WRITE_COMMAND_BYTE:
	case CMD_WRITE_OUTPUT_PORT:
	case CMD_WRITE_KBD_OUTPUT:
	case CMD_WRITE_AUX_OUTPUT:
	case CMD_WRITE_AUX:
		kbc->pending = cmd; /* the data byte follows at 0x60 */
		return;
	default:
		return; /* vendor commands: no effect, as on many clones */
	}
}

static void write_data(struct vi8042 *kbc, u8 value)
{
	u8 cmd = kbc->pending;

	kbc->status &= (u8)~STATUS_COMMAND;
	kbc->pending = 0;
	switch (cmd) {
	case CMD_WRITE_COMMAND_BYTE:
		set_command_byte(kbc, value);
		return;
	case CMD_WRITE_OUTPUT_PORT:
		write_output_port(kbc, value);
		return;
	case CMD_WRITE_KBD_OUTPUT:
		put_output(kbc, value, false);
		return;
	case CMD_WRITE_AUX_OUTPUT:
		put_output(kbc, value, true);
		return;
	default:
		/* To the keyboard (or, after 0xD4, the mouse): nobody is
		 * there to answer, so the controller reports a timeout. */
		kbc->status |= STATUS_TIMEOUT;
		return;
	}
}

/*
 * A write to port A: a 0 -> 1 change of bit 0 resets the CPU (it must be
 * cleared before the next one, as on the PS/2); the latch only sets.
 */
static void write_port_a(struct vi8042 *kbc, u8 value)
{
	u8 old = kbc->port_a;

	kbc->port_a = (value & PORT_A_WRITABLE) | (old & PORT_A_LOCK);
	if ((value & VI8042_PORT_A_RESET) && !(old & VI8042_PORT_A_RESET))
		request_reset(kbc);
}

u8 vi8042_read(struct vi8042 *kbc, u16 port)
{
	if (port == VI8042_COMMAND_PORT)
		return kbc->status;
	if (port == VI8042_PORT_A)
		return kbc->port_a;
	if (port != VI8042_DATA_PORT)
		return 0xff;
	/* Reading empties the buffer; an empty read repeats the last byte. */
	kbc->status &= (u8) ~(STATUS_OUTPUT_FULL | STATUS_AUX_OUTPUT);
	update_irq(kbc);
	return kbc->output;
}

void vi8042_write(struct vi8042 *kbc, u16 port, u8 value)
{
	if (port == VI8042_COMMAND_PORT)
		write_command(kbc, value);
	else if (port == VI8042_DATA_PORT)
		write_data(kbc, value);
	else if (port == VI8042_PORT_A)
		write_port_a(kbc, value);
}

u32 vi8042_io_read(void *opaque, u16 port, u8 size)
{
	u32 value = vi8042_read(opaque, port);

	/* The ports are not adjacent: wider reads see nothing above. */
	return size > 1 ? value | (0xffffffffu << 8) : value;
}

void vi8042_io_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)size; /* only the low byte reaches the controller */
	vi8042_write(opaque, port, (u8)value);
}
