/* SPDX-License-Identifier: MIT */
/*
 * Putting a guest's images into its RAM: a raw binary, a multiboot kernel
 * with its modules and information structure (core/elf.c,
 * core/mbguest.c), or a Linux bzImage with its initrd (core/linux.c); and
 * the vCPU state each starts with.
 *
 * A load runs on the guest's own host CPU (at a reboot) while other
 * guests load on theirs: everything it builds lives in the guest's RAM or
 * on the caller's stack, never in storage guests share.
 */
#ifndef VENEER_CORE_LOAD_H
#define VENEER_CORE_LOAD_H

#include "core/lib/types.h"
#include "core/bootinfo.h"
#include "core/guestcfg.h"
#include "core/guestmem.h"
#include "core/vcpu.h"

/* Multiboot modules (for=GUEST) one guest may have. */
#define GUEST_MODULES_MAX 8
/* Disks a guest may have (virtio-blk, docs/devices.md). */
#define GUEST_DISKS_MAX 4

/* A module may be a disk: a whole number of 512-byte sectors, not none. */
static inline bool guest_disk_size_ok(u64 bytes)
{
	return bytes && bytes % 512 == 0;
}

/* A disk: a module, given read-only or as a private read-write copy. */
struct guest_disk {
	const struct boot_module *mod;
	bool read_only;
};

/* A guest as the boot modules declare it: what to load, and how. */
struct guest_image {
	const struct boot_module *mod; /* the kernel or raw image */
	struct guest_cfg cfg;	       /* its declaration */
	u32 module_count;
	const struct boot_module *modules[GUEST_MODULES_MAX];
	struct guest_cfg module_cfgs[GUEST_MODULES_MAX]; /* their strings */
	u32 disk_count;
	struct guest_disk disks[GUEST_DISKS_MAX];
};

/*
 * Load gi into the guest RAM `ram` (zeroed by the caller) and fill *st
 * with the state its vCPU starts in. False with err naming the image and
 * the problem when it cannot be loaded (ram may then hold part of it).
 */
bool guest_load(const struct guest_image *gi, const struct guest_mem *ram,
		struct vcpu_start_state *st, char *err, size_t len);

#endif /* VENEER_CORE_LOAD_H */
