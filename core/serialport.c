/* SPDX-License-Identifier: MIT */
/* Ports a guest owns (contract in core/serialport.h). */
#include "core/serialport.h"
#include "core/lib/format.h"

int serialport_claim(struct serialport_owners *t, u16 base, const void *owner,
		     const char *name, u16 console_base,
		     serialport_probe_fn probe, char *err, size_t errlen)
{
	int i = serialport_index(base);
	const char *why;

	if (i < 0) {
		snformat(err, errlen,
			 "console: port 0x%x is not com1-com4 (0x3f8, 0x2f8, "
			 "0x3e8, 0x2e8)",
			 base);
		return -1;
	}
	if (t->owner[i] == owner)
		return i;
	/*
	 * The hypervisor's console carries every guest's tagged lines and the
	 * operator shell: a guest that owned it could print lines that look
	 * like Veneer's and read what the operator types (docs/security.md).
	 */
	if (base == console_base) {
		snformat(err, errlen,
			 "console: %s (0x%x) is Veneer's own console: a guest "
			 "cannot have it (give Veneer another with serial=, "
			 "or the guest another port)",
			 serialport_defs[i].name, base);
		return -1;
	}
	if (t->owner[i]) {
		snformat(err, errlen,
			 "console: %s (0x%x) is already guest %s's: one guest "
			 "per port",
			 serialport_defs[i].name, base, t->name[i]);
		return -1;
	}
	why = probe ? probe(base) : NULL;
	if (why) {
		snformat(err, errlen,
			 "console: %s (0x%x): no serial port there (%s)",
			 serialport_defs[i].name, base, why);
		return -1;
	}
	t->owner[i] = owner;
	t->name[i] = name;
	return i;
}

int serialport_release(struct serialport_owners *t, const void *owner)
{
	int i = serialport_owned_by(t, owner);

	if (i >= 0) {
		t->owner[i] = NULL;
		t->name[i] = NULL;
	}
	return i;
}

int serialport_owned_by(const struct serialport_owners *t, const void *owner)
{
	if (!owner)
		return -1;
	for (int i = 0; i < SERIALPORT_COUNT; i++)
		if (t->owner[i] == owner)
			return i;
	return -1;
}
