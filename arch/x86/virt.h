/* SPDX-License-Identifier: MIT */
/*
 * Which hardware virtualization this CPU has (VT-x or AMD-V), and binding
 * of the one vendor interface (core/vcpu.h). Only the vendor is chosen
 * here: each backend probes its own capabilities (its probe hook).
 */
#ifndef VENEER_ARCH_X86_VIRT_H
#define VENEER_ARCH_X86_VIRT_H

#include "core/lib/types.h"
#include "core/vcpu.h"

struct virt_info {
	const struct vcpu_ops *ops; /* NULL: neither vendor, or not built */
	struct vcpu_caps caps;	    /* what ops->probe found */
};

/* The backend for the calling CPU's vendor, or NULL (none, or not built). */
const struct vcpu_ops *virt_vendor(void);

/* Inspect the calling CPU: pick the vendor and let it probe. Never faults. */
void virt_detect(struct virt_info *vi);

/* The boot log lines: "veneer: virtualization: ..." for the boot CPU. */
void virt_report(const struct virt_info *vi);

/* Bind vcpu_ops and vcpu_caps (core/vcpu.h) from *vi: once, boot CPU. */
void virt_bind(const struct virt_info *vi);

#endif /* VENEER_ARCH_X86_VIRT_H */
