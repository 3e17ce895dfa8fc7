/* SPDX-License-Identifier: MIT */
/*
 * Hardware virtualization detection (VT-x or AMD-V) and binding of the
 * one vendor interface (core/vcpu.h).
 */
#ifndef VENEER_ARCH_X86_VIRT_H
#define VENEER_ARCH_X86_VIRT_H

#include "core/types.h"

enum virt_vendor { VIRT_NONE, VIRT_VMX, VIRT_SVM };

struct virt_info {
	enum virt_vendor vendor;
	bool usable;	    /* present, enabled and with what Veneer needs */
	char features[160]; /* e.g. "ept, vpid, unrestricted, ..." */
	char why[160];	    /* why not usable, when !usable */
	/* VT-x */
	bool ept, vpid, unrestricted, preemption_timer, ept_1g, ept_ad;
	/* AMD-V */
	bool npt, nrip_save, flush_by_asid, decode_assists, vgif;
	u32 asids;
};

/* Inspect the calling CPU. Fills *vi; never faults. */
void virt_detect(struct virt_info *vi);

/* The one log line: "veneer: virtualization: ..." for the boot CPU. */
void virt_report(const struct virt_info *vi);

/*
 * Bind vcpu_ops (core/vcpu.h) for the vendor in *vi: once, on the boot CPU.
 */
void virt_bind(const struct virt_info *vi);

#endif /* VENEER_ARCH_X86_VIRT_H */
