/* SPDX-License-Identifier: MIT */
/*
 * The machine's IOMMU, whichever vendor's it is (docs/passthrough.md).
 *
 * At boot, iommu_init() finds the units the firmware describes (the ACPI
 * DMAR table for Intel VT-d, IVRS for AMD-Vi), turns DMA remapping on in
 * every unit with every device blocked: a device's DMA reaches memory only
 * once it is attached to a domain, and then only the domain's pages.
 *
 * A domain is one DMA address space: device addresses are a guest's
 * guest-physical addresses, translated by a page table of the unit's
 * format (core/lib/pagetable.h) to the host-physical pages of that
 * guest's RAM, the same view its vCPUs get from nested paging.
 *
 * A vendor driver (drivers/vtd.c, drivers/amdvi.c) implements struct
 * iommu_ops; common code (drivers/iommu.c) keeps the domains, knows which
 * device is attached where, and turns the faults the driver reports into
 * boot-log lines that name the device, the address and the guest.
 */
#ifndef VENEER_DRIVERS_IOMMU_H
#define VENEER_DRIVERS_IOMMU_H

#include "core/bootinfo.h"
#include "core/lib/pagetable.h"
#include "core/lib/types.h"

/* A PCI requester ID: bus << 8 | device << 3 | function (segment 0). */
#define IOMMU_BDF(bus, dev, fn) ((u16)(((bus) << 8) | ((dev) << 3) | (fn)))
#define IOMMU_BDF_BUS(bdf)	((u32)(bdf) >> 8)
#define IOMMU_BDF_DEV(bdf)	(((u32)(bdf) >> 3) & 0x1f)
#define IOMMU_BDF_FN(bdf)	((u32)(bdf)&7)

#define IOMMU_MAX_DOMAINS    64
#define IOMMU_DOMAIN_DEVICES 8 /* devices one domain may have */

struct iommu_domain {
	u16 id; /* 1..IOMMU_MAX_DOMAINS: the units' domain ID */
	bool in_use;
	struct pt_ctx pt; /* guest-physical -> host-physical */
	char owner[32];	  /* the guest's name, for messages */
	u32 devices;	  /* how many are attached: bdfs[0 .. devices) */
	u16 bdfs[IOMMU_DOMAIN_DEVICES];
};

/* struct iommu_fault's bdf for an error of the unit itself. */
#define IOMMU_NO_DEVICE 0xffffu

/* What a driver reports of one DMA fault. */
struct iommu_fault {
	u16 bdf;	    /* the requester, or IOMMU_NO_DEVICE */
	u64 addr;	    /* the device address it used */
	bool write;	    /* a write (false: a read) */
	const char *reason; /* the unit's reason, in words */
};

/* An interrupt message as a device sends it (PCI 3.0, 6.8.1). */
struct iommu_msi {
	u64 addr;
	u32 data;
};

/* A handle of iommu_irq_route(): no entry. */
#define IOMMU_NO_IRQ 0xffffffffu

/*
 * The compatibility format (SDM Vol. 3A 11.11.1, 11.11.2): fixed, edge,
 * physical destination `apic_id` (8 bits: an xAPIC ID), `vector`.
 */
static inline struct iommu_msi iommu_msi_compat(u8 vector, u32 apic_id)
{
	return (struct iommu_msi){
	    .addr = 0xfee00000ull | (u64)(apic_id & 0xff) << 12,
	    .data = vector,
	};
}

struct iommu_ops {
	const char *name; /* "VT-d", "AMD-Vi" */
	/* The page-table format of every unit (a copy the driver may have
	 * narrowed, e.g. without 2 MiB leaves). */
	const struct pt_format *fmt;
	/*
	 * Every unit: every device blocked, remapping and fault recording
	 * on. 0, or -1 with a message in err naming the unit and what is
	 * wrong; then no unit is left half on.
	 */
	int (*enable)(char *err, size_t errlen);
	/*
	 * Device `bdf`'s DMA goes through `dom` from now on; NULL blocks it
	 * again. Whatever a unit caches of the device is invalidated before
	 * this returns. 0, or -1 with a message (no unit covers the device,
	 * the unit's domain IDs or tables cannot take it).
	 */
	int (*attach)(u16 bdf, struct iommu_domain *dom, char *err,
		      size_t errlen);
	/* After a mapping of a domain devices are attached to changed. */
	void (*flush_domain)(struct iommu_domain *dom);
	/*
	 * Hands every fault recorded since the last call to `report` and
	 * clears it in the unit; returns how many. Called from any CPU; the
	 * driver serializes it with its own lock.
	 */
	u32 (*poll_faults)(void (*report)(const struct iommu_fault *f));
	/*
	 * Interrupt remapping: an entry that turns one message of device
	 * `bdf` into a fixed, edge-triggered interrupt on `vector` of the
	 * CPU whose xAPIC ID is `apic_id` (physical destination). *handle
	 * IOMMU_NO_IRQ makes a new entry and sets it; an entry of the same
	 * device is rewritten. *msg gets the message the device must send
	 * for it: no other device's message finds the entry. Returns 0; 1
	 * when the unit covering `bdf` remaps no interrupts (the caller
	 * sends the compatibility format; nothing blocks it); -1 with err
	 * (no entry free, an APIC ID the entry cannot hold). NULL: the
	 * driver remaps none.
	 */
	int (*irq_route)(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
			 struct iommu_msi *msg, char *err, size_t errlen);
	/* The entry is gone, invalidated in the unit before this returns:
	 * the message finds nothing again. */
	void (*irq_unroute)(u16 bdf, u32 handle);
};

/*
 * Reads the DMAR and IVRS tables; at boot, before paging_init() (the RSDP
 * search may read page 0). Nothing is printed yet.
 */
void iommu_read_tables(const struct boot_info *bi);

/*
 * Finds and enables the IOMMU (VT-d when the DMAR names units, AMD-Vi
 * when IVRS does). Prints one line per unit, or why there is none.
 * Returns true when DMA remapping is on.
 */
bool iommu_init(void);

/* True after iommu_init() turned remapping on. */
bool iommu_present(void);

/* The vendor's name, "none" without an IOMMU. */
const char *iommu_name(void);

/*
 * A new domain for guest `owner`, empty; NULL (with a message in err)
 * without an IOMMU or when every domain is taken.
 */
struct iommu_domain *iommu_domain_create(const char *owner, char *err,
					 size_t errlen);

/* Maps device addresses [iova, iova + size) to host-physical pa. */
int iommu_map(struct iommu_domain *dom, u64 iova, u64 pa, u64 size, u32 flags);
int iommu_unmap(struct iommu_domain *dom, u64 iova, u64 size);

/* Attaches (dom) or blocks (NULL) a device; see struct iommu_ops. */
int iommu_attach(u16 bdf, struct iommu_domain *dom, char *err, size_t errlen);

/*
 * Every device of `dom` blocked again, its tables freed: true. False when
 * a unit could not block one (said in a line): the domain is kept, and the
 * memory it maps may still be reached, so its owner must not give that
 * memory back.
 */
bool iommu_domain_destroy(struct iommu_domain *dom);

/*
 * The message device `bdf` must send to interrupt host CPU `apic_id` on
 * `vector` (struct iommu_ops.irq_route): through an entry of the unit's
 * interrupt remapping table where the unit remaps interrupts (then that
 * is the only way in), else the compatibility format (no IOMMU, or a
 * unit without remapping: *handle stays IOMMU_NO_IRQ). 0, or -1 with err.
 */
int iommu_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
		    struct iommu_msi *msg, char *err, size_t errlen);
/* Removes the entry iommu_irq_route() made, if any; *handle becomes
 * IOMMU_NO_IRQ. */
void iommu_irq_unroute(u16 bdf, u32 *handle);

/*
 * Reports the faults recorded since the last call, one line each:
 * `veneer: iommu: DMA fault: device BB:DD.F (guest NAME | not assigned)
 * read|write at 0xADDR: REASON`, at most 10 lines a second; the rest are
 * counted in `veneer: iommu: N more DMA faults not shown (...)` once the
 * second is over. Returns how many were recorded.
 */
u32 iommu_poll_faults(void);

/*
 * The faults recorded so far, then what the once-a-second limit held
 * back, and `veneer: host: N unexpected interrupts so far (...)` when
 * interrupts no one programmed came since it was last said
 * (traps_stray_interrupts()): at a guest's end and the run's.
 */
void iommu_flush_reports(void);

#endif /* VENEER_DRIVERS_IOMMU_H */
