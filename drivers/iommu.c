// SPDX-License-Identifier: MIT
/*
 * The IOMMU, whichever vendor's (drivers/iommu.h, docs/passthrough.md):
 * finding it, the domains, and the fault lines.
 */
#include "drivers/iommu.h"

#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/traps.h"
#include "arch/x86/tsc.h"
#include "drivers/amdvi.h"
#include "drivers/dmar.h"
#include "drivers/ivrs.h"
#include "drivers/vtd.h"

/*
 * The firmware's tables, read at boot before paging starts (the RSDP
 * search may read page 0), and the driver they chose. Host state: one
 * machine, one IOMMU vendor.
 */
static struct dmar_info dmar;
static struct ivrs_info ivrs;
static int dmar_status = ACPI_ERR_NO_TABLE, ivrs_status = ACPI_ERR_NO_TABLE;
static char dmar_err[160], ivrs_err[160];
static const struct iommu_ops *ops;

/* Which domain IDs are taken (host resource, like the ASIDs); the
 * domains themselves are their owners' (one page each). */
static struct iommu_domain *domains[IOMMU_MAX_DOMAINS + 1];
static spinlock_t domains_lock = SPINLOCK_INIT;

/*
 * At most this many fault lines a second: a device left blocked that
 * keeps trying (a GPU scanning out, on a real machine) must not drown
 * the console. The rest are counted and summed up once a second.
 */
#define FAULT_LINES_PER_SECOND 10
static u64 window_start;
static u32 window_lines;
static u64 faults_hidden;
static u64 strays_told; /* traps_stray_interrupts() when last printed */

void iommu_read_tables(const struct boot_info *bi)
{
	dmar_status = acpi_read_dmar(bi, &dmar, dmar_err, sizeof(dmar_err));
	ivrs_status = acpi_read_ivrs(bi, &ivrs, ivrs_err, sizeof(ivrs_err));
}

bool iommu_init(void)
{
	char err[160];
	const struct iommu_ops *found = NULL;

	/* Say why, table by table: a broken table is not "none", and is
	 * said even when the other vendor's is used. */
	if (dmar_status == ACPI_ERR_INVALID)
		printk("veneer: iommu: the DMAR table is unusable: %s\n",
		       dmar_err);
	if (ivrs_status == ACPI_ERR_INVALID)
		printk("veneer: iommu: the IVRS table is unusable: %s\n",
		       ivrs_err);
	if (dmar_status == ACPI_OK && dmar.unit_count) {
		found = vtd_probe(&dmar, err, sizeof(err));
	} else if (ivrs_status == ACPI_OK && ivrs.unit_count) {
		found = amdvi_probe(&ivrs, err, sizeof(err));
	} else {
		printk("veneer: iommu: none: no device can be assigned to a "
		       "guest\n");
		return false;
	}
	if (!found) {
		printk("veneer: iommu: %s: no device can be assigned to a "
		       "guest\n",
		       err);
		return false;
	}
	if (found->enable(err, sizeof(err))) {
		printk("veneer: iommu: %s could not be enabled: %s: no device "
		       "can be assigned to a guest\n",
		       found->name, err);
		return false;
	}
	ops = found;
	printk("veneer: iommu: %s on, every device's DMA blocked until it is "
	       "assigned\n",
	       ops->name);
	return true;
}

bool iommu_present(void)
{
	return ops != NULL;
}

const char *iommu_name(void)
{
	return ops ? ops->name : "none";
}

static void *domain_phys_to_virt(u64 hpa)
{
	return hpa_to_ptr(hpa);
}

static bool domain_alloc_table(void *opaque, u64 *out)
{
	(void)opaque;
	*out = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
	return *out != 0;
}

static void domain_free_table(void *opaque, u64 hpa)
{
	(void)opaque;
	mm_free_pages(hpa, 1);
}

struct iommu_domain *iommu_domain_create(const char *owner, char *err,
					 size_t errlen)
{
	struct iommu_domain *dom;
	u64 page;
	u16 id = 0;
	int rc;

	if (!ops) {
		snformat(err, errlen, "there is no IOMMU");
		return NULL;
	}
	_Static_assert(sizeof(struct iommu_domain) <= PAGE_SIZE,
		       "a domain fits its page");
	page = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
	if (!page) {
		snformat(err, errlen, "out of memory for an IOMMU domain");
		return NULL;
	}
	dom = hpa_to_ptr(page);
	dom->pt = (struct pt_ctx){.fmt = ops->fmt,
				  .phys_to_virt = domain_phys_to_virt,
				  .alloc_table = domain_alloc_table,
				  .free_table = domain_free_table};
	rc = pt_create(&dom->pt);
	if (rc) {
		mm_free_pages(page, 1);
		snformat(err, errlen, "IOMMU domain: %s", pt_error_string(rc));
		return NULL;
	}
	spin_lock(&domains_lock);
	for (u16 i = 1; i <= IOMMU_MAX_DOMAINS && !id; i++)
		if (!domains[i]) {
			domains[i] = dom;
			id = i;
		}
	spin_unlock(&domains_lock);
	if (!id) {
		pt_destroy(&dom->pt);
		mm_free_pages(page, 1);
		snformat(err, errlen, "all %u IOMMU domains are in use",
			 IOMMU_MAX_DOMAINS);
		return NULL;
	}
	dom->id = id;
	dom->in_use = true;
	str_copy(dom->owner, owner ? owner : "?", sizeof(dom->owner));
	return dom;
}

int iommu_map(struct iommu_domain *dom, u64 iova, u64 pa, u64 size, u32 flags)
{
	int rc = pt_map(&dom->pt, iova, pa, size, flags);

	if (dom->devices)
		ops->flush_domain(dom);
	return rc;
}

int iommu_unmap(struct iommu_domain *dom, u64 iova, u64 size)
{
	int rc = pt_unmap(&dom->pt, iova, size);

	/* Tables the engine freed may be handed out again: the units must
	 * forget them first (core/lib/pagetable.h). */
	if (dom->devices)
		ops->flush_domain(dom);
	return rc;
}

/* The device's domain now, NULL when it is blocked. */
static struct iommu_domain *domain_of(u16 bdf)
{
	for (u32 i = 1; i <= IOMMU_MAX_DOMAINS; i++) {
		struct iommu_domain *d = domains[i];

		if (!d)
			continue;
		for (u32 j = 0; j < d->devices && j < IOMMU_DOMAIN_DEVICES; j++)
			if (d->bdfs[j] == bdf)
				return d;
	}
	return NULL;
}

static void forget_device(struct iommu_domain *d, u16 bdf)
{
	for (u32 j = 0; j < d->devices; j++)
		if (d->bdfs[j] == bdf) {
			d->bdfs[j] = d->bdfs[--d->devices];
			return;
		}
}

int iommu_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
		    struct iommu_msi *msg, char *err, size_t errlen)
{
	int rc = 1;

	if (ops && ops->irq_route)
		rc = ops->irq_route(bdf, vector, apic_id, handle, msg, err,
				    errlen);
	if (rc != 1)
		return rc;
	*handle = IOMMU_NO_IRQ;
	if (apic_id > 0xff) {
		snformat(err, errlen,
			 "APIC ID %u does not fit an interrupt message's "
			 "8-bit destination",
			 apic_id);
		return -1;
	}
	*msg = iommu_msi_compat(vector, apic_id);
	return 0;
}

void iommu_irq_unroute(u16 bdf, u32 *handle)
{
	if (*handle != IOMMU_NO_IRQ && ops && ops->irq_unroute)
		ops->irq_unroute(bdf, *handle);
	*handle = IOMMU_NO_IRQ;
}

int iommu_attach(u16 bdf, struct iommu_domain *dom, char *err, size_t errlen)
{
	struct iommu_domain *old;
	int rc;

	if (!ops) {
		snformat(err, errlen, "there is no IOMMU");
		return -1;
	}
	spin_lock(&domains_lock);
	old = domain_of(bdf);
	if (dom && dom->devices >= IOMMU_DOMAIN_DEVICES && old != dom) {
		spin_unlock(&domains_lock);
		snformat(err, errlen, "guest %s has %u devices already",
			 dom->owner, IOMMU_DOMAIN_DEVICES);
		return -1;
	}
	rc = ops->attach(bdf, dom, err, errlen);
	if (rc == 0 && old != dom) {
		if (old)
			forget_device(old, bdf);
		if (dom)
			dom->bdfs[dom->devices++] = bdf;
	}
	spin_unlock(&domains_lock);
	return rc;
}

bool iommu_domain_destroy(struct iommu_domain *dom)
{
	char err[160];

	if (!dom)
		return true;
	while (dom->devices) {
		u16 bdf = dom->bdfs[dom->devices - 1];

		if (iommu_attach(bdf, NULL, err, sizeof(err))) {
			/* The device keeps reaching the tables: they stay. */
			printk("veneer: iommu: device %02x:%02x.%x of guest %s "
			       "could not be blocked (%s): its domain is "
			       "kept\n",
			       IOMMU_BDF_BUS(bdf), IOMMU_BDF_DEV(bdf),
			       IOMMU_BDF_FN(bdf), dom->owner, err);
			return false;
		}
	}
	spin_lock(&domains_lock);
	domains[dom->id] = NULL;
	spin_unlock(&domains_lock);
	pt_destroy(&dom->pt);
	mm_free_pages(ptr_to_hpa(dom), 1);
	return true;
}

static void report_fault(const struct iommu_fault *f)
{
	const struct iommu_domain *d;

	if (window_lines >= FAULT_LINES_PER_SECOND) {
		faults_hidden++;
		return;
	}
	window_lines++;
	if (f->bdf == IOMMU_NO_DEVICE) {
		printk("veneer: iommu: %s error: %s\n", ops->name, f->reason);
		return;
	}
	d = domain_of(f->bdf);
	/* The owner's name is printed with %s from the configuration, never
	 * anything a guest wrote. */
	printk("veneer: iommu: DMA fault: device %02x:%02x.%x (%s%s) %s at "
	       "0x%llx: %s\n",
	       IOMMU_BDF_BUS(f->bdf), IOMMU_BDF_DEV(f->bdf),
	       IOMMU_BDF_FN(f->bdf), d ? "guest " : "not assigned",
	       d ? d->owner : "", f->write ? "write" : "read",
	       (unsigned long long)f->addr, f->reason);
}

/* What the window held back: hidden fault lines, new stray interrupts
 * (domains_lock held). */
static void tell_held_back(void)
{
	u64 strays = traps_stray_interrupts();

	if (faults_hidden)
		printk("veneer: iommu: %llu more DMA faults not shown (at "
		       "most %u lines a second)\n",
		       (unsigned long long)faults_hidden,
		       FAULT_LINES_PER_SECOND);
	/* Interrupt messages no one programmed: what DMA remapping alone
	 * lets a device send (docs/passthrough.md). */
	if (strays != strays_told)
		printk("veneer: host: %llu unexpected interrupts so far (a "
		       "device's message?), taken and ignored\n",
		       (unsigned long long)strays);
	strays_told = strays;
	faults_hidden = 0;
}

u32 iommu_poll_faults(void)
{
	u64 now = rdtsc();
	u32 n = 0;

	spin_lock(&domains_lock);
	if (now - window_start >= tsc_hz()) {
		tell_held_back();
		window_lines = 0;
		window_start = now;
	}
	if (ops)
		n = ops->poll_faults(report_fault);
	spin_unlock(&domains_lock);
	return n;
}

void iommu_flush_reports(void)
{
	spin_lock(&domains_lock);
	if (ops)
		ops->poll_faults(report_fault);
	tell_held_back();
	spin_unlock(&domains_lock);
}
