/* SPDX-License-Identifier: MIT */
/*
 * The serial ports a guest may own instead of the hypervisor console
 * (docs/console.md, "A serial port of its own"): the four PC COM ports,
 * their names, and who owns which.
 *
 * Pure logic: the hardware is asked through a probe function the caller
 * hands in (drivers/uart.h, uart_probe()), so the host unit tests
 * (tests/unit/test_serialport.c) drive every decision. The names are
 * header-only, so that the configuration's parser (core/config.c) can use
 * them without linking anything.
 */
#ifndef VENEER_CORE_SERIALPORT_H
#define VENEER_CORE_SERIALPORT_H

#include "core/lib/types.h"

/* COM1-COM4: the I/O bases every PC BIOS and OS agree on. */
#define SERIALPORT_COUNT 4

struct serialport_def {
	const char *name; /* "com2": the configuration's word, and messages */
	const char *tty;  /* "ttyS1": the same port as Linux names it */
	u16 base;	  /* the 16550's first I/O port */
};

static const struct serialport_def serialport_defs[SERIALPORT_COUNT] = {
    {"com1", "ttyS0", 0x3f8},
    {"com2", "ttyS1", 0x2f8},
    {"com3", "ttyS2", 0x3e8},
    {"com4", "ttyS3", 0x2e8},
};

/* Whether s[0, len) is exactly the NUL-terminated `word`. */
static inline bool serialport_word_is(const char *s, size_t len,
				      const char *word)
{
	size_t i = 0;

	while (i < len && word[i] && word[i] == s[i])
		i++;
	return i == len && !word[i];
}

/*
 * The port named by s[0, len) (not NUL-terminated): com1-com4 or
 * ttyS0-ttyS3, case-sensitive like every word of the configuration.
 * Returns its index 0-3, or -1.
 */
static inline int serialport_parse(const char *s, size_t len)
{
	for (int i = 0; i < SERIALPORT_COUNT; i++)
		if (serialport_word_is(s, len, serialport_defs[i].name) ||
		    serialport_word_is(s, len, serialport_defs[i].tty))
			return i;
	return -1;
}

/* The index 0-3 of the port at I/O base `base`, or -1 (not a COM port). */
static inline int serialport_index(u16 base)
{
	for (int i = 0; i < SERIALPORT_COUNT; i++)
		if (serialport_defs[i].base == base)
			return i;
	return -1;
}

/*
 * Who owns each port: NULL, or the owner (a guest's struct vm) and its
 * name for messages. Whoever holds the table serialises the calls (the
 * guests are created one at a time).
 */
struct serialport_owners {
	const void *owner[SERIALPORT_COUNT];
	const char *name[SERIALPORT_COUNT];
};

/*
 * Why a port has no working UART, or NULL when one answers: what
 * drivers/uart.h uart_probe() is (a test double in the unit tests).
 */
typedef const char *(*serialport_probe_fn)(u16 base);

/*
 * Give the port at `base` to `owner` (called `name`): it must be one of
 * the four, not `console_base` (the hypervisor's own console), not
 * another owner's, and `probe` must find a UART there. A port `owner`
 * already has is granted again without probing (a reboot, a start after
 * the guest ended: it keeps its port for its whole life). Returns the
 * port's index 0-3, or -1 with err saying why, naming the port:
 *
 *   console: com1 (0x3f8) is Veneer's own console: ...
 *   console: com2 (0x2f8) is already guest OTHER's: one guest per port
 *   console: com3 (0x3e8): no serial port there (WHY)
 */
int serialport_claim(struct serialport_owners *t, u16 base, const void *owner,
		     const char *name, u16 console_base,
		     serialport_probe_fn probe, char *err, size_t errlen);

/* `owner` gives its port back (it was never created after all): the
 * index it held, or -1. */
int serialport_release(struct serialport_owners *t, const void *owner);

/* The index of the port `owner` holds, or -1. */
int serialport_owned_by(const struct serialport_owners *t, const void *owner);

#endif /* VENEER_CORE_SERIALPORT_H */
