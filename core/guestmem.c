/* SPDX-License-Identifier: MIT */
#include "core/guestmem.h"

int guest_zero_range(guest_write_fn write, guest_zero_fn zero, void *opaque,
		     u64 gpa, u64 len)
{
	static const u8 zeroes[512];

	if (zero)
		return zero(opaque, gpa, len);
	while (len) {
		u64 chunk = MIN(len, sizeof(zeroes));
		int rc = write(opaque, gpa, zeroes, chunk);

		if (rc)
			return rc;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}
