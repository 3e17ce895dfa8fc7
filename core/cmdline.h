/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's own command line (the multiboot command line).
 *
 * Options, separated by spaces:
 *   serial=ttyS0..ttyS3 | serial=0xNNNN   console UART (default ttyS0, 0x3f8)
 *   baud=N                                console speed; must divide 115200
 *   smp=N                                 start at most N CPUs (N >= 1)
 *   nosmp                                 the same as smp=1
 *   stats=SECONDS                         every SECONDS (1-86400) of host
 *                                         time, print each running vCPU's
 *                                         exit counts (0: never, the default)
 *   shell=on|off                          the operator shell in the
 *                                         console's focus ring (default on)
 *   color=on|off                          each guest's [NAME] tag in a
 *                                         colour of its own (default off)
 *   iommu=on|off                          the IOMMU turned on at boot,
 *                                         every device's DMA blocked
 *                                         (default on; docs/passthrough.md)
 *   log=error|info|debug                  the console's log level from
 *                                         boot on (default info; the
 *                                         configuration's [veneer]
 *                                         log_level replaces it when
 *                                         guests are created)
 *   selftest=fault                        a host #UD after boot
 *   selftest=iommu                        DMA of QEMU's edu device aimed
 *                                         inside and outside an IOMMU
 *                                         domain (docs/passthrough.md)
 * A first word without '=' that contains '/' or ends in ".elf" is the image
 * path that QEMU and GRUB put there; it is skipped.
 */
#ifndef VENEER_CORE_CMDLINE_H
#define VENEER_CORE_CMDLINE_H

#include "core/lib/printk.h"
#include "core/lib/types.h"

/* The standard PC COM port bases. */
#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM3_PORT 0x3e8
#define COM4_PORT 0x2e8

/* The 16550 divisor latch counts a 1.8432 MHz clock divided by 16. */
#define UART_BASE_BAUD 115200

/* A speed the divisor latch can make: a whole divisor of the base. */
static inline bool baud_possible(u64 baud)
{
	return baud && baud <= UART_BASE_BAUD && UART_BASE_BAUD % baud == 0;
}

struct hv_options {
	u16 serial_port;      /* I/O port base of the console UART */
	u32 baud;	      /* divides UART_BASE_BAUD */
	u32 max_cpus;	      /* 0 = every CPU the firmware lists */
	u32 selftest;	      /* SELFTEST_*: a deliberate failure after boot */
	u32 stats_seconds;    /* periodic exit statistics; 0 = off */
	bool shell;	      /* the operator shell (docs/console.md) */
	bool color;	      /* guests' tags in colour (docs/console.md) */
	bool iommu;	      /* turn the IOMMU on (docs/passthrough.md) */
	bool apicv;	      /* the CPU delivers guests' APIC interrupts */
	bool log_level_given; /* log= was on the command line */
	enum log_level log_level; /* log=, LOG_INFO when not given */
};

/* stats=SECONDS: at most a day between two reports. */
#define STATS_MAX_SECONDS 86400

/* selftest=fault: a host #UD after boot, to show the host-fatal path. */
#define SELFTEST_NONE  0
#define SELFTEST_FAULT 1
/* selftest=iommu: drivers/iommu_selftest.c, before the guests start. */
#define SELFTEST_IOMMU 2

/*
 * Fills o with the defaults: COM1, 115200 baud, all CPUs, no self-test, no
 * periodic statistics, the operator shell on, tags without colour, the
 * IOMMU and APICv on where present, log level info (not given).
 */
void cmdline_defaults(struct hv_options *o);

/*
 * Sets o to the defaults, then applies each option of s (NULL or "" is an
 * empty command line).  Returns 0, or -1 with a message in err naming the
 * option and what is wrong with it; o then holds the options parsed before
 * the bad one.
 */
int cmdline_parse(const char *s, struct hv_options *o, char *err,
		  size_t errlen);

#endif /* VENEER_CORE_CMDLINE_H */
