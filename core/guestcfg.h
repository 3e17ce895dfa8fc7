/* SPDX-License-Identifier: MIT */
/*
 * Guest declarations: the values both ways of declaring a guest produce,
 * the configuration file (core/config.h, docs/config.md) and the multiboot
 * module strings (docs/guests.md):
 *
 *   PATH [name=NAME] [mem=SIZE] [format=elf|raw|linux] [load=ADDR]
 *        [mode=protected|real] [clock=virtual|host] [pv=kvm|none]
 *        [vcpus=N] [shared=yes|no] [weight=N] [for=GUEST]
 *        [-- GUEST COMMAND LINE]
 *
 * A module with for=GUEST is not a guest: it becomes a multiboot module of
 * guest GUEST, with the text after "--" as its string.
 *
 * PATH is the first word that is not key=value. A multiboot guest gets it
 * as the first word of its command line, and a module as the first word
 * of its string (core/mbguest.h): the convention of QEMU -kernel and GRUB
 * Legacy, where kernels find their argv[0].
 */
#ifndef VENEER_CORE_GUESTCFG_H
#define VENEER_CORE_GUESTCFG_H

#include "core/lib/types.h"

#define GUESTCFG_NAME_MAX    32
#define GUESTCFG_MAC_LEN     6
#define GUESTCFG_PCI_MAX     4 /* host PCI functions one guest may own */
#define GUESTCFG_CMDLINE_MAX 512
#define GUESTCFG_PATH_MAX    512
#define GUESTCFG_DEFAULT_MEM MiB(32)
#define GUESTCFG_MIN_MEM     MiB(2)
#define GUESTCFG_RAW_LOAD    0x7c00
/* vcpus=: the most vCPUs one guest may have (VM_MAX_VCPUS, core/vm.h). */
#define GUESTCFG_VCPUS_MAX 8
/* weight=: a shared guest's share of its CPUs (SCHED_WEIGHT_*, core/sched.h) */
#define GUESTCFG_WEIGHT_DEFAULT 100
#define GUESTCFG_WEIGHT_MAX	1000

enum guest_format { GUEST_FORMAT_ELF, GUEST_FORMAT_RAW, GUEST_FORMAT_LINUX };
/* pv=: the KVM-compatible interface (docs/hypercall.md); default: by format. */
enum guest_pv { GUEST_PV_DEFAULT, GUEST_PV_KVM, GUEST_PV_NONE };
enum guest_policy { GUEST_POLICY_STOP, GUEST_POLICY_RESTART };
#define GUESTCFG_RESTARTS_UNLIMITED 0xffffffffu
#define GUESTCFG_RESTARTS_MAX	    1000000u /* the largest max_restarts */

struct guest_cfg {
	char name[GUESTCFG_NAME_MAX];
	u64 mem;
	enum guest_format format;
	u64 load;	/* raw images: load address and entry */
	bool real_mode; /* start in real mode (default for raw images) */
	char for_guest[GUESTCFG_NAME_MAX]; /* non-empty: a module of a guest */
	bool virtual_clock; /* clock=virtual: exit time hidden from its TSC */
	enum guest_pv pv;   /* pv=kvm|none; GUEST_PV_DEFAULT: kvm for linux */
	char path[GUESTCFG_PATH_MAX];	    /* PATH as written; "" when none */
	char cmdline[GUESTCFG_CMDLINE_MAX]; /* the text after "--" */
	/*
	 * vCPUs (vcpus=N, 1 to GUESTCFG_VCPUS_MAX; default 1), each on a
	 * host CPU of its own (static partitioning). cpu[i] is the host CPU
	 * of vCPU i, valid for i < vcpus when cpu_fixed: the configuration
	 * gave them (cpu = A, B, ...) or assigned free ones. Without
	 * cpu_fixed, placement_pick() (core/placement.h) chooses.
	 */
	u32 vcpus;
	bool cpu_fixed;
	u32 cpu[GUESTCFG_VCPUS_MAX];
	/*
	 * shared=yes: its vCPUs may share host CPUs, with each other and
	 * with other shared guests' (never with a partitioned guest's); the
	 * scheduler (core/sched.h) gives each a share by its weight
	 * (weight=N, 1 to GUESTCFG_WEIGHT_MAX; 0 until given, then
	 * GUESTCFG_WEIGHT_DEFAULT by guestcfg_finish). A partitioned guest
	 * has no weight.
	 */
	bool shared;
	u32 weight;
	/*
	 * What ends the guest for good and what restarts it from its
	 * images (docs/config.md, "Lifecycle"): a power off (or an exit
	 * with a code), a reset the guest asks for, a stop by Veneer for an
	 * error (a crash). The operator's stop always stops. Restarts by
	 * policy are bounded by max_restarts (GUESTCFG_RESTARTS_UNLIMITED:
	 * no bound).
	 */
	enum guest_policy on_poweroff; /* default: stop */
	enum guest_policy on_reboot;   /* default: restart */
	enum guest_policy on_crash;    /* default: stop */
	u32 max_restarts;
	/*
	 * start = later (the configuration file only): created at boot, its
	 * CPUs kept for it, but it runs only once the operator types `start
	 * NAME` in the shell (docs/console.md). Default: it runs at boot.
	 */
	bool start_later;
	/*
	 * console = com1-com4 (the configuration file only): the I/O base
	 * of a physical serial port the guest owns instead of the
	 * hypervisor console (core/serialport.h, docs/console.md); 0: the
	 * hypervisor console, tagged [NAME] (the default).
	 */
	u16 console_port;
	/*
	 * disk=rw|ro (module strings, with for=GUEST): this module is a
	 * virtio disk of GUEST, not one of its multiboot modules
	 * (docs/devices.md); the configuration file says disk = FILE.
	 */
	enum guest_disk_mode {
		GUEST_DISK_NONE,
		GUEST_DISK_RW,
		GUEST_DISK_RO
	} disk;
	/*
	 * devices=LIST: optional devices, a GUEST_DEV_ bit each, named
	 * comma-separated ("virtio-console", "virtio-net"), or "none" (the
	 * default).
	 */
	u32 devices;
	/*
	 * mac=XX:XX:XX:XX:XX:XX: the MAC of its virtio-net NIC (unicast, not
	 * all zeros; only with devices=virtio-net). Not given: Veneer picks
	 * 02:56:4e:00:00:NN, NN the guest's number from 1 (docs/devices.md).
	 */
	bool mac_given;
	u8 mac[GUESTCFG_MAC_LEN];
	/*
	 * pci=BB:DD.F[,...]: host PCI functions the guest owns, behind the
	 * IOMMU (docs/passthrough.md), as requester IDs (bus << 8 | device
	 * << 3 | function). Whether each exists and may be given is checked
	 * against the host when the guest is created.
	 */
	u32 pci_count;
	u16 pci[GUESTCFG_PCI_MAX];
	/*
	 * pci_unsafe=yes: on a machine without an IOMMU, give the functions
	 * anyway: their DMA then reaches any host memory (docs/passthrough.md).
	 * Ignored where an IOMMU is on. Default no.
	 */
	bool pci_unsafe;
};

#define GUEST_DEV_VIRTIO_CONSOLE (1u << 0)
#define GUEST_DEV_VIRTIO_NET	 (1u << 1)

/*
 * Parse one module string. The name defaults to the file's base name
 * without extension. Returns 0, or -1 with err naming the bad field.
 */
int guestcfg_parse(const char *modstr, struct guest_cfg *cfg, char *err,
		   size_t errlen);

/* Parse a size such as "64M", "512K", "1G" or "1048576". */
bool guestcfg_parse_size(const char *s, size_t len, u64 *out);

/*
 * The pieces guestcfg_parse() is made of, shared with the configuration
 * file (core/config.c) so that a value means the same in both:
 *
 * guestcfg_defaults: 32M, format elf, load 0x7c00, name "guest", no CPU.
 * guestcfg_set: apply one KEY = VALUE of the module string (name, mem,
 *   format, load, mode, clock, pv, vcpus, shared, weight, for, disk,
 *   devices, mac, pci, pci_unsafe). 0; -1
 * with err naming the key and why; 1 when KEY is none of these (err untouched).
 * *mode_given is set for mode. guestcfg_finish: what depends on several keys
 * once all are set: the default mode (real for raw), mode=real only for raw,
 * load inside RAM, mac only with virtio-net. 0, or -1 with err naming the
 * key.
 */
void guestcfg_defaults(struct guest_cfg *cfg);
int guestcfg_set(struct guest_cfg *cfg, const char *key, size_t klen,
		 const char *value, size_t vlen, bool *mode_given, char *err,
		 size_t errlen);
int guestcfg_finish(struct guest_cfg *cfg, bool mode_given, char *err,
		    size_t errlen);

/* 1 to GUESTCFG_NAME_MAX - 1 letters, digits, '-', '_' or '.'. */
bool guestcfg_valid_name(const char *s, size_t len);

/* A file whose name ends in ".bin" is a raw image unless format= says. */
bool guestcfg_raw_by_name(const char *path, size_t len);

#endif /* VENEER_CORE_GUESTCFG_H */
