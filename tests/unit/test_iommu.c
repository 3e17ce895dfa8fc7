/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for drivers/iommu.c, the vendor-neutral IOMMU layer: which
 * driver iommu_init() chooses from the DMAR and IVRS tables and what it
 * says, the domains (IDs, page tables over core/lib/pagetable.c, when the
 * driver is told to flush), attaching devices, the fault lines with their
 * 10-lines-a-second limit and the stray-interrupt report.
 *
 * Everything drivers/iommu.c calls outside the page-table engine and the
 * formatter is a fake here: the ACPI readers fill the tables as a test
 * wants, the probes hand out a fake struct iommu_ops that records every
 * call and can be told to fail or to report faults, memory is
 * aligned_alloc'd pages whose addresses are the "host-physical" ones (as
 * hpa_to_ptr() is an identity cast), and time is rdtsc() (a function in
 * host tests, arch/x86/cpu.h) and tsc_hz(), both the test's.
 *
 * drivers/iommu.c keeps its state in statics that nothing resets (the
 * driver chosen, the domain IDs, the window of the fault lines): the
 * tests run in the order of main() and each builds on the state the one
 * before left. Those without an IOMMU come first, then an AMD-Vi init,
 * then a VT-d init that the rest use.
 *
 * The fake driver calls (attach, poll_faults) run under drivers/iommu.c's
 * domains lock: they only record, never assert, so a failing check does
 * not leave the lock taken for the next test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/traps.h"
#include "arch/x86/tsc.h"
#include "core/bootinfo.h"
#include "core/lib/format.h"
#include "core/lib/pagetable.h"
#include "core/mm.h"
#include "drivers/acpi.h"
#include "drivers/amdvi.h"
#include "drivers/dmar.h"
#include "drivers/iommu.h"
#include "drivers/ivrs.h"
#include "drivers/vtd.h"
#include "tests/unit/host_printk.h"

#define NONE_LINE "veneer: iommu: none: no device can be assigned to a guest\n"
#define VTD_ON_LINE                                                            \
	"veneer: iommu: VT-d on, every device's DMA blocked until it is "      \
	"assigned\n"
#define AMDVI_ON_LINE                                                          \
	"veneer: iommu: AMD-Vi on, every device's DMA blocked until it is "    \
	"assigned\n"

/* ---- fake memory ---- */

#define MAX_ALLOCS 1024
static void *allocs[MAX_ALLOCS];
static bool fail_allocs;

u64 mm_alloc_pages(u64 npages, u64 align, u64 below)
{
	(void)below;
	if (fail_allocs)
		return 0;
	for (u32 i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i])
			continue;
		allocs[i] = aligned_alloc(align, npages * PAGE_SIZE);
		assert_non_null(allocs[i]);
		memset(allocs[i], 0, npages * PAGE_SIZE);
		return (u64)(uintptr_t)allocs[i];
	}
	fail_msg("mm_alloc_pages: more than %d pages in use", MAX_ALLOCS);
	return 0;
}

void mm_free_pages(u64 hpa, u64 npages)
{
	assert_int_equal(npages, 1); /* drivers/iommu.c frees page by page */
	for (u32 i = 0; i < MAX_ALLOCS; i++) {
		if (allocs[i] && (u64)(uintptr_t)allocs[i] == hpa) {
			free(allocs[i]);
			allocs[i] = NULL;
			return;
		}
	}
	fail_msg("mm_free_pages(0x%llx): not allocated",
		 (unsigned long long)hpa);
}

static u32 allocs_in_use(void)
{
	u32 n = 0;

	for (u32 i = 0; i < MAX_ALLOCS; i++)
		n += allocs[i] != NULL;
	return n;
}

/* ---- fake time and stray interrupts ---- */

#define FAKE_HZ 1000u /* a "second" is 1000 ticks */
static u64 now = 1000000;
static u64 strays;

u64 rdtsc(void)
{
	return now;
}

u64 tsc_hz(void)
{
	return FAKE_HZ;
}

u64 traps_stray_interrupts(void)
{
	return strays;
}

/* ---- fake ACPI tables ---- */

static struct boot_info the_bi;
static struct dmar_info fake_dmar;
static struct ivrs_info fake_ivrs;
static int dmar_rc, ivrs_rc;
static const char *dmar_msg = "", *ivrs_msg = "";
static u32 dmar_reads, ivrs_reads;
static const struct boot_info *bi_seen;

int acpi_read_dmar(const struct boot_info *bi, struct dmar_info *out, char *err,
		   size_t errlen)
{
	dmar_reads++;
	bi_seen = bi;
	*out = fake_dmar;
	snformat(err, errlen, "%s", dmar_msg);
	return dmar_rc;
}

int acpi_read_ivrs(const struct boot_info *bi, struct ivrs_info *out, char *err,
		   size_t errlen)
{
	ivrs_reads++;
	bi_seen = bi;
	*out = fake_ivrs;
	snformat(err, errlen, "%s", ivrs_msg);
	return ivrs_rc;
}

/* ---- the fake driver ---- */

#define MAX_CALLS  256
#define MAX_QUEUED 64

struct attach_call {
	u16 bdf;
	struct iommu_domain *dom;
};

static struct {
	/* The probes. */
	u32 vtd_probes, amdvi_probes;
	u32 probe_units; /* unit_count of the table the probe was given */
	bool probe_null;
	const char *probe_err;
	/* enable */
	u32 vtd_enables, amdvi_enables;
	bool enable_fails;
	const char *enable_err;
	/* attach */
	struct attach_call attaches[MAX_CALLS];
	u32 nattaches;
	bool attach_fails;	/* every attach fails */
	u16 attach_fail_bdf;	/* or only this device's (0: none) */
	const char *attach_err; /* the message of a failing attach */
	/* flush_domain */
	u32 flushes;
	struct iommu_domain *flushed;
	/* poll_faults: the faults the next poll reports */
	struct iommu_fault queued[MAX_QUEUED];
	u32 nqueued;
	u32 polls;
	/* irq_route: what it was asked, what it answers */
	u32 routes;
	u16 route_bdf;
	u8 route_vector;
	u32 route_apic;
	u32 route_handle_in;
	int route_rc;		    /* 0, 1 (no remapping) or -1 */
	const char *route_err;	    /* with -1 */
	struct iommu_msi route_msg; /* with 0 */
	u32 route_handle_out; /* with 0 and 1: what it leaves in *handle */
	/* irq_unroute */
	u32 unroutes;
	u16 unroute_bdf;
	u32 unroute_handle;
} drv;

static int fake_vtd_enable(char *err, size_t errlen)
{
	drv.vtd_enables++;
	if (drv.enable_fails) {
		snformat(err, errlen, "%s", drv.enable_err);
		return -1;
	}
	return 0;
}

static int fake_amdvi_enable(char *err, size_t errlen)
{
	drv.amdvi_enables++;
	if (drv.enable_fails) {
		snformat(err, errlen, "%s", drv.enable_err);
		return -1;
	}
	return 0;
}

static int fake_attach(u16 bdf, struct iommu_domain *dom, char *err,
		       size_t errlen)
{
	if (drv.nattaches < MAX_CALLS)
		drv.attaches[drv.nattaches] = (struct attach_call){bdf, dom};
	drv.nattaches++;
	if (drv.attach_fails ||
	    (drv.attach_fail_bdf && bdf == drv.attach_fail_bdf)) {
		snformat(err, errlen, "%s", drv.attach_err);
		return -1;
	}
	return 0;
}

static void fake_flush_domain(struct iommu_domain *dom)
{
	drv.flushes++;
	drv.flushed = dom;
}

static u32 fake_poll_faults(void (*report)(const struct iommu_fault *f))
{
	u32 n = drv.nqueued;

	drv.polls++;
	for (u32 i = 0; i < n; i++)
		report(&drv.queued[i]);
	drv.nqueued = 0;
	return n;
}

static int fake_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
			  struct iommu_msi *msg, char *err, size_t errlen)
{
	drv.routes++;
	drv.route_bdf = bdf;
	drv.route_vector = vector;
	drv.route_apic = apic_id;
	drv.route_handle_in = *handle;
	if (drv.route_rc < 0) {
		snformat(err, errlen, "%s", drv.route_err);
		return -1;
	}
	*handle = drv.route_handle_out;
	if (drv.route_rc == 0)
		*msg = drv.route_msg;
	return drv.route_rc;
}

static void fake_irq_unroute(u16 bdf, u32 handle)
{
	drv.unroutes++;
	drv.unroute_bdf = bdf;
	drv.unroute_handle = handle;
}

/* VT-d's fake remaps interrupts (irq_route); AMD-Vi's has no irq_route,
 * as a driver that remaps none. */
static const struct iommu_ops fake_vtd_ops = {
    .name = "VT-d",
    .fmt = &pt_format_vtd,
    .enable = fake_vtd_enable,
    .attach = fake_attach,
    .flush_domain = fake_flush_domain,
    .poll_faults = fake_poll_faults,
    .irq_route = fake_irq_route,
    .irq_unroute = fake_irq_unroute,
};

static const struct iommu_ops fake_amdvi_ops = {
    .name = "AMD-Vi",
    .fmt = &pt_format_amdvi,
    .enable = fake_amdvi_enable,
    .attach = fake_attach,
    .flush_domain = fake_flush_domain,
    .poll_faults = fake_poll_faults,
};

const struct iommu_ops *vtd_probe(const struct dmar_info *dmar, char *err,
				  size_t errlen)
{
	drv.vtd_probes++;
	drv.probe_units = dmar->unit_count;
	if (drv.probe_null) {
		snformat(err, errlen, "%s", drv.probe_err);
		return NULL;
	}
	return &fake_vtd_ops;
}

const struct iommu_ops *amdvi_probe(const struct ivrs_info *ivrs, char *err,
				    size_t errlen)
{
	drv.amdvi_probes++;
	drv.probe_units = ivrs->unit_count;
	if (drv.probe_null) {
		snformat(err, errlen, "%s", drv.probe_err);
		return NULL;
	}
	return &fake_amdvi_ops;
}

static void queue_fault(u16 bdf, u64 addr, bool write, const char *reason)
{
	assert_true(drv.nqueued < MAX_QUEUED);
	drv.queued[drv.nqueued++] =
	    (struct iommu_fault){bdf, addr, write, reason};
}

/* ---- helpers ---- */

static void tables(int drc, u32 dunits, int irc, u32 iunits)
{
	memset(&fake_dmar, 0, sizeof(fake_dmar));
	memset(&fake_ivrs, 0, sizeof(fake_ivrs));
	dmar_rc = drc;
	ivrs_rc = irc;
	fake_dmar.unit_count = dunits;
	fake_ivrs.unit_count = iunits;
	dmar_msg = "";
	ivrs_msg = "";
	iommu_read_tables(&the_bi);
	assert_ptr_equal(bi_seen, &the_bi);
}

/*
 * Starts a new second for the fault lines: whatever the last one held
 * back (and any new stray interrupts) is said and thrown away.
 */
static void fresh_window(void)
{
	now += FAKE_HZ;
	drv.nqueued = 0;
	iommu_poll_faults();
	host_printk_reset();
	drv.polls = 0;
}

static u32 count_of(const char *haystack, const char *needle)
{
	u32 n = 0;

	for (const char *p = strstr(haystack, needle); p;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

static bool has_bdf(const struct iommu_domain *d, u16 bdf)
{
	for (u32 i = 0; i < d->devices; i++)
		if (d->bdfs[i] == bdf)
			return true;
	return false;
}

static struct iommu_domain *create(const char *owner)
{
	char err[160] = "";
	struct iommu_domain *d = iommu_domain_create(owner, err, sizeof(err));

	if (!d)
		fail_msg("iommu_domain_create(%s): %s", owner, err);
	return d;
}

static void attach_ok(u16 bdf, struct iommu_domain *d)
{
	char err[160] = "";

	if (iommu_attach(bdf, d, err, sizeof(err)))
		fail_msg("iommu_attach(%04x): %s", bdf, err);
}

static u32 baseline_allocs;

static int setup(void **state)
{
	(void)state;
	memset(&drv, 0, sizeof(drv));
	fail_allocs = false;
	host_printk_reset();
	baseline_allocs = allocs_in_use();
	return 0;
}

/* ---- without an IOMMU (these run before any init succeeds) ---- */

static void test_init_neither(void **state)
{
	(void)state;
	tables(ACPI_ERR_NO_TABLE, 0, ACPI_ERR_NO_TABLE, 0);
	assert_int_equal(dmar_reads, 1);
	assert_int_equal(ivrs_reads, 1);
	assert_false(iommu_init());
	assert_string_equal(host_printk_text(), NONE_LINE);
	assert_int_equal(drv.vtd_probes + drv.amdvi_probes, 0);
	assert_false(iommu_present());
	assert_string_equal(iommu_name(), "none");

	/* No ACPI at all is "none" too, without a table line. */
	host_printk_reset();
	tables(ACPI_ERR_NO_ACPI, 0, ACPI_ERR_NO_ACPI, 0);
	assert_false(iommu_init());
	assert_string_equal(host_printk_text(), NONE_LINE);
}

static void test_init_tables_without_units(void **state)
{
	(void)state;
	/* Tables that parse but name no unit: no probe, "none". */
	tables(ACPI_OK, 0, ACPI_OK, 0);
	assert_false(iommu_init());
	assert_string_equal(host_printk_text(), NONE_LINE);
	assert_int_equal(drv.vtd_probes + drv.amdvi_probes, 0);

	/* Units in a table that failed to parse do not count. */
	host_printk_reset();
	tables(ACPI_ERR_NO_TABLE, 2, ACPI_ERR_NO_TABLE, 2);
	assert_false(iommu_init());
	assert_string_equal(host_printk_text(), NONE_LINE);
	assert_int_equal(drv.vtd_probes + drv.amdvi_probes, 0);
	assert_false(iommu_present());
}

static void test_init_broken_tables(void **state)
{
	(void)state;
	tables(ACPI_ERR_INVALID, 0, ACPI_ERR_NO_TABLE, 0);
	/* tables() cleared the messages; set one and read again. */
	dmar_msg = "DMAR: structure at byte 48 overruns the table";
	iommu_read_tables(&the_bi);
	assert_false(iommu_init());
	assert_string_equal(
	    host_printk_text(),
	    "veneer: iommu: the DMAR table is unusable: DMAR: "
	    "structure at byte 48 overruns the table\n" NONE_LINE);
	assert_int_equal(drv.vtd_probes + drv.amdvi_probes, 0);

	/* Both broken: both said, DMAR first. */
	host_printk_reset();
	dmar_rc = ACPI_ERR_INVALID;
	ivrs_rc = ACPI_ERR_INVALID;
	dmar_msg = "bad DMAR";
	ivrs_msg = "bad IVRS";
	iommu_read_tables(&the_bi);
	assert_false(iommu_init());
	assert_string_equal(
	    host_printk_text(),
	    "veneer: iommu: the DMAR table is unusable: bad DMAR\n"
	    "veneer: iommu: the IVRS table is unusable: bad IVRS\n" NONE_LINE);
	assert_false(iommu_present());
}

static void test_init_probe_refuses(void **state)
{
	(void)state;
	tables(ACPI_OK, 2, ACPI_ERR_NO_TABLE, 0);
	drv.probe_null = true;
	drv.probe_err = "VT-d unit 1 at 0x1fed91000: registers above 4 GiB";
	assert_false(iommu_init());
	assert_int_equal(drv.vtd_probes, 1);
	assert_int_equal(drv.probe_units, 2);
	assert_int_equal(drv.vtd_enables, 0);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: VT-d unit 1 at 0x1fed91000: "
			    "registers above 4 GiB: no device can be assigned "
			    "to a guest\n");
	assert_false(iommu_present());

	host_printk_reset();
	tables(ACPI_ERR_NO_TABLE, 0, ACPI_OK, 1);
	drv.probe_err = "AMD-Vi unit 0: no EFR";
	assert_false(iommu_init());
	assert_int_equal(drv.amdvi_probes, 1);
	assert_int_equal(drv.amdvi_enables, 0);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: AMD-Vi unit 0: no EFR: no device "
			    "can be assigned to a guest\n");
	assert_false(iommu_present());
}

static void test_init_enable_fails(void **state)
{
	(void)state;
	tables(ACPI_OK, 1, ACPI_ERR_NO_TABLE, 0);
	drv.enable_fails = true;
	drv.enable_err = "unit 0: translation did not turn on";
	assert_false(iommu_init());
	assert_int_equal(drv.vtd_probes, 1);
	assert_int_equal(drv.vtd_enables, 1);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: VT-d could not be enabled: unit 0: "
			    "translation did not turn on: no device can be "
			    "assigned to a guest\n");
	assert_false(iommu_present());
	assert_string_equal(iommu_name(), "none");
}

static void test_no_iommu_refusals(void **state)
{
	char err[160] = "";

	(void)state;
	assert_null(iommu_domain_create("alpha", err, sizeof(err)));
	assert_string_equal(err, "there is no IOMMU");
	assert_int_equal(allocs_in_use(), baseline_allocs);

	err[0] = '\0';
	assert_int_equal(
	    iommu_attach(IOMMU_BDF(0, 6, 0), NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "there is no IOMMU");
	assert_int_equal(drv.nattaches, 0);

	/* Nothing to destroy: NULL is fine. */
	assert_true(iommu_domain_destroy(NULL));
	assert_string_equal(host_printk_text(), "");
}

static void test_strays_without_iommu(void **state)
{
	(void)state;
	fresh_window();
	strays = 3;
	/* Within the second: nothing yet, and no driver to ask. */
	now += FAKE_HZ - 1;
	assert_int_equal(iommu_poll_faults(), 0);
	assert_string_equal(host_printk_text(), "");
	now += 1;
	assert_int_equal(iommu_poll_faults(), 0);
	assert_string_equal(host_printk_text(),
			    "veneer: host: 3 unexpected interrupts so far (a "
			    "device's message?), taken and ignored\n");
	/* Not again while it does not grow. */
	host_printk_reset();
	now += FAKE_HZ;
	iommu_poll_faults();
	iommu_flush_reports();
	assert_string_equal(host_printk_text(), "");
	/* The run's end says a new count at once. */
	strays = 4;
	iommu_flush_reports();
	assert_string_equal(host_printk_text(),
			    "veneer: host: 4 unexpected interrupts so far (a "
			    "device's message?), taken and ignored\n");
	assert_int_equal(drv.polls, 0);
}

/* ---- interrupt messages ---- */

#define APIC_TOO_BIG_ERR                                                       \
	"APIC ID 256 does not fit an interrupt message's 8-bit destination"

/* The compatibility format: fixed, edge, physical `apic_id`, `vector`,
 * and no remapping entry. */
static void expect_compat(u8 vector, u32 apic_id, u64 addr)
{
	struct iommu_msi m = {0x1234, 0x5678};
	char err[160] = "";
	u32 h = 7;

	assert_int_equal(iommu_irq_route(IOMMU_BDF(0, 6, 0), vector, apic_id,
					 &h, &m, err, sizeof(err)),
			 0);
	assert_int_equal(m.addr, addr);
	assert_int_equal(m.data, vector);
	assert_int_equal(h, IOMMU_NO_IRQ);
	assert_string_equal(err, "");
}

static void expect_apic_refused(void)
{
	struct iommu_msi m = {0x1234, 0x5678};
	char err[160] = "";
	u32 h = IOMMU_NO_IRQ;

	assert_int_equal(iommu_irq_route(IOMMU_BDF(0, 6, 0), 0x81, 256, &h, &m,
					 err, sizeof(err)),
			 -1);
	assert_string_equal(err, APIC_TOO_BIG_ERR);
	assert_int_equal(m.addr, 0x1234);
}

static void test_irq_route_without_iommu(void **state)
{
	u32 h = 5;

	(void)state;
	assert_false(iommu_present());
	expect_compat(0x81, 5, 0xfee05000ull);
	expect_compat(0x20, 0, 0xfee00000ull);
	expect_compat(0xff, 0xff, 0xfeeff000ull);
	expect_apic_refused();
	/* Unrouting: the handle is forgotten, nobody asked. */
	iommu_irq_unroute(IOMMU_BDF(0, 6, 0), &h);
	assert_int_equal(h, IOMMU_NO_IRQ);
	assert_int_equal(drv.routes + drv.unroutes, 0);
	assert_string_equal(host_printk_text(), "");
}

/* A driver without irq_route (the fake AMD-Vi): the compatibility format. */
static void test_irq_route_driver_without_it(void **state)
{
	u32 h = 3;

	(void)state;
	assert_string_equal(iommu_name(), "AMD-Vi");
	expect_compat(0x81, 9, 0xfee09000ull);
	expect_apic_refused();
	iommu_irq_unroute(IOMMU_BDF(0, 6, 0), &h);
	assert_int_equal(h, IOMMU_NO_IRQ);
	assert_int_equal(drv.routes + drv.unroutes, 0);
}

static void test_irq_route_through_driver(void **state)
{
	struct iommu_msi m = {0, 0};
	char err[160] = "";
	u32 h = IOMMU_NO_IRQ;

	(void)state;
	assert_string_equal(iommu_name(), "VT-d");
	/* The driver's entry and message, as it gave them. */
	drv.route_rc = 0;
	drv.route_handle_out = 12;
	drv.route_msg = (struct iommu_msi){0xfee00190ull, 0};
	assert_int_equal(iommu_irq_route(IOMMU_BDF(3, 0, 1), 0x82, 4, &h, &m,
					 err, sizeof(err)),
			 0);
	assert_int_equal(drv.routes, 1);
	assert_int_equal(drv.route_bdf, IOMMU_BDF(3, 0, 1));
	assert_int_equal(drv.route_vector, 0x82);
	assert_int_equal(drv.route_apic, 4);
	assert_int_equal(drv.route_handle_in, IOMMU_NO_IRQ);
	assert_int_equal(h, 12);
	assert_int_equal(m.addr, 0xfee00190ull);
	assert_int_equal(m.data, 0);
	/* The same entry again: the handle reaches the driver. */
	assert_int_equal(iommu_irq_route(IOMMU_BDF(3, 0, 1), 0x83, 4, &h, &m,
					 err, sizeof(err)),
			 0);
	assert_int_equal(drv.route_handle_in, 12);
	/* The driver's APIC ID check is its own: above 255 reaches it. */
	drv.route_msg = (struct iommu_msi){0xfee00010ull, 0};
	h = IOMMU_NO_IRQ;
	assert_int_equal(iommu_irq_route(IOMMU_BDF(3, 0, 1), 0x83, 300, &h, &m,
					 err, sizeof(err)),
			 0);
	assert_int_equal(drv.route_apic, 300);

	/* Unrouted through the driver, the handle forgotten; without an
	 * entry the driver is not asked. */
	iommu_irq_unroute(IOMMU_BDF(3, 0, 1), &h);
	assert_int_equal(drv.unroutes, 1);
	assert_int_equal(drv.unroute_bdf, IOMMU_BDF(3, 0, 1));
	assert_int_equal(drv.unroute_handle, 12);
	assert_int_equal(h, IOMMU_NO_IRQ);
	iommu_irq_unroute(IOMMU_BDF(3, 0, 1), &h);
	assert_int_equal(drv.unroutes, 1);

	/* The driver fails: its message, -1. */
	drv.route_rc = -1;
	drv.route_err = "VT-d unit 0: all 256 interrupt remapping entries are "
			"in use";
	m = (struct iommu_msi){0x1234, 0x5678};
	assert_int_equal(iommu_irq_route(IOMMU_BDF(3, 0, 1), 0x84, 4, &h, &m,
					 err, sizeof(err)),
			 -1);
	assert_string_equal(err, drv.route_err);
	assert_int_equal(m.addr, 0x1234);
	assert_int_equal(h, IOMMU_NO_IRQ);

	/* The unit of the device remaps nothing (1): the compatibility
	 * format, no entry whatever the driver left in the handle. */
	drv.route_rc = 1;
	drv.route_handle_out = 99;
	err[0] = '\0';
	h = IOMMU_NO_IRQ;
	assert_int_equal(iommu_irq_route(IOMMU_BDF(0, 2, 0), 0x85, 0x21, &h, &m,
					 err, sizeof(err)),
			 0);
	assert_int_equal(m.addr, 0xfee21000ull);
	assert_int_equal(m.data, 0x85);
	assert_int_equal(h, IOMMU_NO_IRQ);
	assert_string_equal(err, "");
	h = IOMMU_NO_IRQ;
	assert_int_equal(iommu_irq_route(IOMMU_BDF(0, 2, 0), 0x85, 256, &h, &m,
					 err, sizeof(err)),
			 -1);
	assert_string_equal(err, APIC_TOO_BIG_ERR);
	assert_int_equal(drv.unroutes, 1);
	assert_string_equal(host_printk_text(), "");
}

/* ---- the IOMMU found ---- */

static void test_init_amdvi(void **state)
{
	(void)state;
	tables(ACPI_ERR_NO_TABLE, 0, ACPI_OK, 2);
	assert_true(iommu_init());
	assert_int_equal(drv.amdvi_probes, 1);
	assert_int_equal(drv.probe_units, 2);
	assert_int_equal(drv.amdvi_enables, 1);
	assert_int_equal(drv.vtd_probes + drv.vtd_enables, 0);
	assert_string_equal(host_printk_text(), AMDVI_ON_LINE);
	assert_true(iommu_present());
	assert_string_equal(iommu_name(), "AMD-Vi");

	/* A DMAR without units leaves IVRS's units to AMD-Vi. */
	host_printk_reset();
	tables(ACPI_OK, 0, ACPI_OK, 1);
	assert_true(iommu_init());
	assert_int_equal(drv.amdvi_probes, 2);
	assert_int_equal(drv.vtd_probes, 0);
	assert_string_equal(host_printk_text(), AMDVI_ON_LINE);
}

static void test_init_vtd(void **state)
{
	(void)state;
	/* DMAR units win over IVRS ones. */
	tables(ACPI_OK, 3, ACPI_OK, 1);
	assert_true(iommu_init());
	assert_int_equal(drv.vtd_probes, 1);
	assert_int_equal(drv.probe_units, 3);
	assert_int_equal(drv.vtd_enables, 1);
	assert_int_equal(drv.amdvi_probes + drv.amdvi_enables, 0);
	assert_string_equal(host_printk_text(), VTD_ON_LINE);
	assert_true(iommu_present());
	assert_string_equal(iommu_name(), "VT-d");
}

/* ---- domains (VT-d from here on) ---- */

static void test_domain_ids(void **state)
{
	struct iommu_domain *doms[IOMMU_MAX_DOMAINS + 1];
	char name[32], err[160] = "";

	(void)state;
	for (u32 i = 1; i <= IOMMU_MAX_DOMAINS; i++) {
		snformat(name, sizeof(name), "g%u", i);
		doms[i] = create(name);
		assert_int_equal(doms[i]->id, i);
		assert_true(doms[i]->in_use);
		assert_string_equal(doms[i]->owner, name);
		assert_int_equal(doms[i]->devices, 0);
		assert_ptr_equal(doms[i]->pt.fmt, &pt_format_vtd);
		assert_int_not_equal(doms[i]->pt.root, 0);
		assert_int_equal(pt_count_tables(&doms[i]->pt), 1);
	}
	/* The domain and its root table, each a page. */
	assert_int_equal(allocs_in_use(),
			 baseline_allocs + 2 * IOMMU_MAX_DOMAINS);

	assert_null(iommu_domain_create("late", err, sizeof(err)));
	assert_string_equal(err, "all 64 IOMMU domains are in use");
	assert_int_equal(allocs_in_use(),
			 baseline_allocs + 2 * IOMMU_MAX_DOMAINS);

	/* A freed ID is the next one handed out. */
	iommu_domain_destroy(doms[17]);
	assert_int_equal(allocs_in_use(),
			 baseline_allocs + 2 * IOMMU_MAX_DOMAINS - 2);
	doms[17] = create("again");
	assert_int_equal(doms[17]->id, 17);
	assert_string_equal(doms[17]->owner, "again");

	/* Destroying domains without devices asks nothing of the driver. */
	for (u32 i = 1; i <= IOMMU_MAX_DOMAINS; i++)
		iommu_domain_destroy(doms[i]);
	assert_int_equal(drv.nattaches, 0);
	assert_int_equal(drv.flushes, 0);
	assert_int_equal(allocs_in_use(), baseline_allocs);
	assert_string_equal(host_printk_text(), "");

	/* All free again: the lowest ID first. */
	doms[1] = create("first");
	assert_int_equal(doms[1]->id, 1);
	iommu_domain_destroy(doms[1]);
}

static void test_domain_owner(void **state)
{
	struct iommu_domain *a, *b;

	(void)state;
	a = iommu_domain_create(NULL, NULL, 0);
	assert_non_null(a);
	assert_string_equal(a->owner, "?");
	b = create("a-guest-name-longer-than-thirty-one-bytes");
	assert_int_equal(strlen(b->owner), sizeof(b->owner) - 1);
	assert_memory_equal(b->owner, "a-guest-name-longer-than-thirty-one",
			    sizeof(b->owner) - 1);
	iommu_domain_destroy(a);
	iommu_domain_destroy(b);
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

static void test_domain_out_of_memory(void **state)
{
	char err[160] = "";

	(void)state;
	fail_allocs = true;
	assert_null(iommu_domain_create("alpha", err, sizeof(err)));
	assert_string_equal(err, "out of memory for an IOMMU domain");
	fail_allocs = false;
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

static void test_map_unmap(void **state)
{
	struct iommu_domain *d;
	u64 pa = 0, size = 0;
	u32 flags = 0;

	(void)state;
	d = create("alpha");
	/* Without devices: the tables change, the driver is not told. */
	assert_int_equal(iommu_map(d, 0x100000, 0x7654000, 0x3000, PT_R | PT_W),
			 PT_OK);
	assert_true(pt_translate(&d->pt, 0x101234, &pa, &flags, &size));
	assert_int_equal(pa, 0x7655234);
	assert_int_equal(flags & (PT_R | PT_W), PT_R | PT_W);
	assert_int_equal(size, 0x1000);
	assert_true(pt_translate(&d->pt, 0x102000, &pa, NULL, NULL));
	assert_int_equal(pa, 0x7656000);
	assert_false(pt_translate(&d->pt, 0x103000, NULL, NULL, NULL));
	assert_false(pt_translate(&d->pt, 0xff000, NULL, NULL, NULL));
	/* 2 MiB aligned: the VT-d format's large leaf. */
	assert_int_equal(iommu_map(d, 0x40000000, 0x80000000, 0x200000, PT_R),
			 PT_OK);
	assert_true(pt_translate(&d->pt, 0x40123000, &pa, &flags, &size));
	assert_int_equal(pa, 0x80123000);
	assert_int_equal(size, 0x200000);
	assert_int_equal(flags & PT_W, 0);
	assert_int_equal(iommu_unmap(d, 0x101000, 0x1000), PT_OK);
	assert_false(pt_translate(&d->pt, 0x101000, NULL, NULL, NULL));
	assert_true(pt_translate(&d->pt, 0x100000, NULL, NULL, NULL));
	assert_int_equal(drv.flushes, 0);
	/* The engine's errors come back as they are. */
	assert_int_equal(iommu_map(d, 0x100800, 0x7654000, 0x1000, PT_R),
			 PT_ERR_ALIGN);
	assert_int_equal(drv.flushes, 0);

	/* With a device: every change is flushed, for this domain. */
	attach_ok(IOMMU_BDF(0, 6, 0), d);
	assert_int_equal(iommu_map(d, 0x200000, 0x9000000, 0x1000, PT_R),
			 PT_OK);
	assert_int_equal(drv.flushes, 1);
	assert_ptr_equal(drv.flushed, d);
	assert_true(pt_translate(&d->pt, 0x200000, &pa, NULL, NULL));
	assert_int_equal(pa, 0x9000000);
	assert_int_equal(iommu_unmap(d, 0x200000, 0x1000), PT_OK);
	assert_int_equal(drv.flushes, 2);
	assert_ptr_equal(drv.flushed, d);
	assert_false(pt_translate(&d->pt, 0x200000, NULL, NULL, NULL));

	/* Blocked again: no more flushes. */
	attach_ok(IOMMU_BDF(0, 6, 0), NULL);
	assert_int_equal(iommu_map(d, 0x300000, 0x9000000, 0x1000, PT_R),
			 PT_OK);
	assert_int_equal(iommu_unmap(d, 0x300000, 0x1000), PT_OK);
	assert_int_equal(drv.flushes, 2);

	iommu_domain_destroy(d);
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

static void test_attach(void **state)
{
	const u16 a = IOMMU_BDF(0, 6, 0), b = IOMMU_BDF(0, 7, 1),
		  c = IOMMU_BDF(0x3a, 0x1f, 7);
	struct iommu_domain *d1, *d2;

	(void)state;
	d1 = create("alpha");
	d2 = create("beta");
	attach_ok(a, d1);
	assert_int_equal(drv.nattaches, 1);
	assert_int_equal(drv.attaches[0].bdf, a);
	assert_ptr_equal(drv.attaches[0].dom, d1);
	assert_int_equal(d1->devices, 1);
	assert_int_equal(d1->bdfs[0], a);
	attach_ok(b, d1);
	attach_ok(c, d1);
	assert_int_equal(d1->devices, 3);
	assert_true(has_bdf(d1, a) && has_bdf(d1, b) && has_bdf(d1, c));

	/* Moved: out of d1, into d2, the driver told of d2. */
	attach_ok(a, d2);
	assert_int_equal(drv.nattaches, 4);
	assert_int_equal(drv.attaches[3].bdf, a);
	assert_ptr_equal(drv.attaches[3].dom, d2);
	assert_int_equal(d1->devices, 2);
	assert_true(has_bdf(d1, b) && has_bdf(d1, c) && !has_bdf(d1, a));
	assert_int_equal(d2->devices, 1);
	assert_int_equal(d2->bdfs[0], a);

	/* Again to the same domain: the driver is asked, nothing doubles. */
	attach_ok(a, d2);
	assert_int_equal(drv.nattaches, 5);
	assert_int_equal(d2->devices, 1);

	/* NULL blocks it. */
	attach_ok(a, NULL);
	assert_int_equal(drv.nattaches, 6);
	assert_int_equal(drv.attaches[5].bdf, a);
	assert_null(drv.attaches[5].dom);
	assert_int_equal(d2->devices, 0);
	assert_int_equal(d1->devices, 2);
	/* Blocking a device that is blocked is passed on, harmless. */
	attach_ok(a, NULL);
	assert_int_equal(drv.nattaches, 7);
	assert_int_equal(d1->devices + d2->devices, 2);

	iommu_domain_destroy(d1);
	iommu_domain_destroy(d2);
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

static void test_attach_limit(void **state)
{
	struct iommu_domain *d, *other;
	char err[160] = "";
	u32 calls;

	(void)state;
	d = create("alpha");
	other = create("beta");
	for (u32 i = 0; i < IOMMU_DOMAIN_DEVICES; i++)
		attach_ok(IOMMU_BDF(1, i, 0), d);
	assert_int_equal(d->devices, IOMMU_DOMAIN_DEVICES);
	attach_ok(IOMMU_BDF(2, 0, 0), other);
	calls = drv.nattaches;

	/* A ninth device, new or from another domain: refused, unasked. */
	assert_int_equal(iommu_attach(IOMMU_BDF(1, 8, 0), d, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "guest alpha has 8 devices already");
	err[0] = '\0';
	assert_int_equal(iommu_attach(IOMMU_BDF(2, 0, 0), d, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "guest alpha has 8 devices already");
	assert_int_equal(drv.nattaches, calls);
	assert_int_equal(d->devices, IOMMU_DOMAIN_DEVICES);
	assert_int_equal(other->devices, 1);
	assert_true(has_bdf(other, IOMMU_BDF(2, 0, 0)));

	/* One of its own again is not a ninth. */
	attach_ok(IOMMU_BDF(1, 3, 0), d);
	assert_int_equal(drv.nattaches, calls + 1);
	assert_int_equal(d->devices, IOMMU_DOMAIN_DEVICES);

	/* One out, another in. */
	attach_ok(IOMMU_BDF(1, 3, 0), NULL);
	attach_ok(IOMMU_BDF(2, 0, 0), d);
	assert_int_equal(d->devices, IOMMU_DOMAIN_DEVICES);
	assert_int_equal(other->devices, 0);
	assert_true(has_bdf(d, IOMMU_BDF(2, 0, 0)));
	assert_false(has_bdf(d, IOMMU_BDF(1, 3, 0)));

	iommu_domain_destroy(d);
	iommu_domain_destroy(other);
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

static void test_attach_fails(void **state)
{
	const u16 a = IOMMU_BDF(0, 6, 0), b = IOMMU_BDF(0, 0x1f, 3);
	struct iommu_domain *d1, *d2;
	char err[160] = "";

	(void)state;
	d1 = create("alpha");
	d2 = create("beta");
	attach_ok(a, d1);

	drv.attach_fails = true;
	drv.attach_err = "no VT-d unit covers 00:1f.3";
	assert_int_equal(iommu_attach(b, d1, err, sizeof(err)), -1);
	assert_string_equal(err, "no VT-d unit covers 00:1f.3");
	assert_int_equal(d1->devices, 1);
	assert_false(has_bdf(d1, b));

	/* A failed move leaves the device where it was. */
	drv.attach_err = "VT-d unit 0: context entry busy";
	assert_int_equal(iommu_attach(a, d2, err, sizeof(err)), -1);
	assert_string_equal(err, "VT-d unit 0: context entry busy");
	assert_int_equal(d1->devices, 1);
	assert_int_equal(d1->bdfs[0], a);
	assert_int_equal(d2->devices, 0);
	/* And a failed block too. */
	assert_int_equal(iommu_attach(a, NULL, err, sizeof(err)), -1);
	assert_int_equal(d1->devices, 1);
	assert_int_equal(d1->bdfs[0], a);
	assert_int_equal(drv.nattaches, 4);
	assert_string_equal(host_printk_text(), "");

	drv.attach_fails = false;
	iommu_domain_destroy(d1);
	iommu_domain_destroy(d2);
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

static void test_destroy_blocks_devices(void **state)
{
	const u16 a = IOMMU_BDF(0, 6, 0), b = IOMMU_BDF(0, 7, 0),
		  c = IOMMU_BDF(5, 0, 2);
	struct iommu_domain *d, *e;
	u32 id;

	(void)state;
	d = create("alpha");
	id = d->id;
	attach_ok(a, d);
	attach_ok(b, d);
	attach_ok(c, d);
	assert_int_equal(iommu_map(d, 0x100000, 0x200000, 0x400000, PT_R),
			 PT_OK);
	drv.nattaches = 0;
	iommu_domain_destroy(d);
	/* Every device blocked (NULL), each once, before the tables go. */
	assert_int_equal(drv.nattaches, 3);
	for (u32 i = 0; i < 3; i++)
		assert_null(drv.attaches[i].dom);
	assert_int_equal(drv.attaches[0].bdf + drv.attaches[1].bdf +
			     drv.attaches[2].bdf,
			 a + b + c);
	assert_true(drv.attaches[0].bdf != drv.attaches[1].bdf &&
		    drv.attaches[1].bdf != drv.attaches[2].bdf &&
		    drv.attaches[0].bdf != drv.attaches[2].bdf);
	assert_int_equal(allocs_in_use(), baseline_allocs);
	assert_string_equal(host_printk_text(), "");

	/* Its ID is free again. */
	e = create("next");
	assert_int_equal(e->id, id);
	iommu_domain_destroy(e);
}

static void test_destroy_keeps_domain_when_blocking_fails(void **state)
{
	const u16 a = IOMMU_BDF(0, 6, 0), b = IOMMU_BDF(0, 5, 0),
		  c = IOMMU_BDF(0, 4, 0);
	struct iommu_domain *d, *e;

	(void)state;
	d = create("beta");
	attach_ok(a, d);
	attach_ok(b, d);
	attach_ok(c, d);
	drv.nattaches = 0;
	drv.attach_fail_bdf = b;
	drv.attach_err = "VT-d unit 0: invalidation timed out";
	assert_false(iommu_domain_destroy(d));
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: device 00:05.0 of guest beta could "
			    "not be blocked (VT-d unit 0: invalidation timed "
			    "out): its domain is kept\n");
	/* c (the last) went first; b failed; a was never tried. */
	assert_int_equal(drv.nattaches, 2);
	assert_int_equal(drv.attaches[0].bdf, c);
	assert_int_equal(drv.attaches[1].bdf, b);
	/* Kept: its ID, its tables, the devices still attached. */
	assert_int_equal(d->devices, 2);
	assert_true(has_bdf(d, a) && has_bdf(d, b) && !has_bdf(d, c));
	assert_true(d->in_use);
	assert_int_not_equal(d->pt.root, 0);
	e = create("other");
	assert_int_not_equal(e->id, d->id);
	/* Faults of its devices still name its guest. */
	fresh_window();
	queue_fault(a, 0x5000, false, "no translation");
	assert_int_equal(iommu_poll_faults(), 1);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: DMA fault: device 00:06.0 (guest "
			    "beta) read at 0x5000: no translation\n");

	/* Once the unit listens again, the domain goes. */
	drv.attach_fail_bdf = 0;
	host_printk_reset();
	assert_true(iommu_domain_destroy(d));
	assert_string_equal(host_printk_text(), "");
	iommu_domain_destroy(e);
	assert_int_equal(allocs_in_use(), baseline_allocs);
}

/* ---- fault lines ---- */

static void test_fault_lines(void **state)
{
	struct iommu_domain *d;

	(void)state;
	d = create("alpha");
	attach_ok(IOMMU_BDF(0, 6, 0), d);
	fresh_window();

	queue_fault(IOMMU_BDF(0, 6, 0), 0x2000, true, "REASON");
	assert_int_equal(iommu_poll_faults(), 1);
	assert_int_equal(drv.polls, 1);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: DMA fault: device 00:06.0 (guest "
			    "alpha) write at 0x2000: REASON\n");

	host_printk_reset();
	queue_fault(IOMMU_BDF(0x3a, 0x1f, 7), 0xfedcba9876543000ull, false,
		    "not present");
	assert_int_equal(iommu_poll_faults(), 1);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: DMA fault: device 3a:1f.7 (not "
			    "assigned) read at 0xfedcba9876543000: not "
			    "present\n");

	host_printk_reset();
	queue_fault(IOMMU_NO_DEVICE, 0, false, "invalidation queue error");
	assert_int_equal(iommu_poll_faults(), 1);
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: VT-d error: invalidation queue "
			    "error\n");

	/* Several in one poll, in the order reported; nothing: nothing. */
	host_printk_reset();
	queue_fault(IOMMU_BDF(0, 6, 0), 0x3000, false, "r1");
	queue_fault(IOMMU_BDF(0, 2, 0), 0x4000, true, "r2");
	assert_int_equal(iommu_poll_faults(), 2);
	assert_int_equal(iommu_poll_faults(), 0);
	assert_string_equal(
	    host_printk_text(),
	    "veneer: iommu: DMA fault: device 00:06.0 (guest alpha) read at "
	    "0x3000: r1\n"
	    "veneer: iommu: DMA fault: device 00:02.0 (not assigned) write at "
	    "0x4000: r2\n");

	/* Blocked again: "not assigned". */
	attach_ok(IOMMU_BDF(0, 6, 0), NULL);
	host_printk_reset();
	queue_fault(IOMMU_BDF(0, 6, 0), 0x2000, true, "REASON");
	iommu_poll_faults();
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: DMA fault: device 00:06.0 (not "
			    "assigned) write at 0x2000: REASON\n");
	iommu_domain_destroy(d);
}

#define HIDDEN_FMT                                                             \
	"veneer: iommu: %u more DMA faults not shown (at most 10 lines a "     \
	"second)\n"

static void test_fault_limit(void **state)
{
	char want[160];

	(void)state;
	fresh_window();
	/* 25 in one poll: 10 lines. */
	for (u32 i = 0; i < 25; i++)
		queue_fault(IOMMU_BDF(0, 9, 0), 0x1000 * (i + 1), false,
			    "blocked");
	assert_int_equal(iommu_poll_faults(), 25);
	assert_int_equal(count_of(host_printk_text(), "veneer: "), 10);
	assert_int_equal(count_of(host_printk_text(), "DMA fault: device "),
			 10);
	assert_non_null(strstr(host_printk_text(), " at 0xa000: blocked\n"));
	assert_null(strstr(host_printk_text(), " at 0xb000:"));

	/* Later in the same second: counted, not shown; unit errors too. */
	host_printk_reset();
	now += FAKE_HZ / 2;
	queue_fault(IOMMU_BDF(0, 9, 0), 0x99000, true, "blocked");
	queue_fault(IOMMU_NO_DEVICE, 0, false, "fault log overflow");
	queue_fault(IOMMU_BDF(0, 9, 0), 0x9a000, true, "blocked");
	assert_int_equal(iommu_poll_faults(), 3);
	now += FAKE_HZ / 2 - 1; /* the last tick of the second */
	assert_int_equal(iommu_poll_faults(), 0);
	assert_string_equal(host_printk_text(), "");

	/* The second is over: the count, once, before the new lines. */
	now += 1;
	queue_fault(IOMMU_BDF(0, 9, 0), 0x1000, false, "blocked");
	assert_int_equal(iommu_poll_faults(), 1);
	snformat(want, sizeof(want),
		 HIDDEN_FMT "veneer: iommu: DMA fault: device 00:09.0 (not "
			    "assigned) read at 0x1000: blocked\n",
		 18u);
	assert_string_equal(host_printk_text(), want);

	/* A second with nothing held back says nothing more. */
	host_printk_reset();
	now += FAKE_HZ;
	iommu_poll_faults();
	now += FAKE_HZ;
	iommu_poll_faults();
	assert_string_equal(host_printk_text(), "");

	/* Exactly 10 in a second: all shown, none counted. */
	for (u32 i = 0; i < 10; i++)
		queue_fault(IOMMU_BDF(0, 9, 0), 0x1000, false, "blocked");
	iommu_poll_faults();
	now += FAKE_HZ;
	iommu_poll_faults();
	assert_int_equal(count_of(host_printk_text(), "DMA fault: device "),
			 10);
	assert_null(strstr(host_printk_text(), "not shown"));

	/* 11: one counted. */
	host_printk_reset();
	for (u32 i = 0; i < 11; i++)
		queue_fault(IOMMU_NO_DEVICE, 0, false, "x");
	assert_int_equal(iommu_poll_faults(), 11);
	assert_int_equal(count_of(host_printk_text(), "VT-d error: x\n"), 10);
	now += FAKE_HZ;
	iommu_poll_faults();
	snformat(want, sizeof(want), HIDDEN_FMT, 1u);
	assert_non_null(strstr(host_printk_text(), want));
	assert_int_equal(count_of(host_printk_text(), "not shown"), 1);
}

static void test_flush_reports(void **state)
{
	char want[160];

	(void)state;
	fresh_window();
	for (u32 i = 0; i < 13; i++)
		queue_fault(IOMMU_BDF(0, 9, 0), 0x1000, false, "blocked");
	assert_int_equal(iommu_poll_faults(), 13);
	assert_int_equal(count_of(host_printk_text(), "DMA fault"), 10);

	/* At once, with what the driver still held (2 more, hidden too). */
	host_printk_reset();
	queue_fault(IOMMU_BDF(0, 9, 0), 0x1000, false, "blocked");
	queue_fault(IOMMU_BDF(0, 9, 0), 0x1000, false, "blocked");
	iommu_flush_reports();
	assert_int_equal(drv.polls, 2);
	assert_int_equal(drv.nqueued, 0);
	snformat(want, sizeof(want), HIDDEN_FMT, 5u);
	assert_string_equal(host_printk_text(), want);

	/* Said once: neither the next flush nor the next second repeats. */
	host_printk_reset();
	iommu_flush_reports();
	now += FAKE_HZ;
	iommu_poll_faults();
	assert_string_equal(host_printk_text(), "");

	/* With room in the second, a flush prints the driver's faults. */
	queue_fault(IOMMU_BDF(0, 9, 0), 0x7000, true, "blocked");
	iommu_flush_reports();
	assert_string_equal(host_printk_text(),
			    "veneer: iommu: DMA fault: device 00:09.0 (not "
			    "assigned) write at 0x7000: blocked\n");
}

/* ---- stray interrupts ---- */

#define STRAY_FMT                                                              \
	"veneer: host: %u unexpected interrupts so far (a device's "           \
	"message?), "                                                          \
	"taken and ignored\n"

static void test_strays(void **state)
{
	char want[320];

	(void)state;
	fresh_window();
	strays += 2;
	/* Within the second: not yet. */
	iommu_poll_faults();
	assert_string_equal(host_printk_text(), "");
	now += FAKE_HZ;
	iommu_poll_faults();
	snformat(want, sizeof(want), STRAY_FMT, (u32)strays);
	assert_string_equal(host_printk_text(), want);

	/* Not again while it does not grow. */
	host_printk_reset();
	for (u32 i = 0; i < 3; i++) {
		now += FAKE_HZ;
		iommu_poll_faults();
	}
	iommu_flush_reports();
	assert_string_equal(host_printk_text(), "");

	/* Grown: a flush says it at once, the next second does not. */
	strays = 1000;
	iommu_flush_reports();
	snformat(want, sizeof(want), STRAY_FMT, 1000u);
	assert_string_equal(host_printk_text(), want);
	host_printk_reset();
	now += FAKE_HZ;
	iommu_poll_faults();
	assert_string_equal(host_printk_text(), "");

	/* Several growths within one second: one line, the latest count. */
	strays = 1001;
	iommu_poll_faults();
	strays = 1005;
	iommu_poll_faults();
	assert_string_equal(host_printk_text(), "");
	now += FAKE_HZ;
	iommu_poll_faults();
	snformat(want, sizeof(want), STRAY_FMT, 1005u);
	assert_string_equal(host_printk_text(), want);

	/* With hidden faults: the fault count first, then the interrupts. */
	host_printk_reset();
	for (u32 i = 0; i < 12; i++)
		queue_fault(IOMMU_NO_DEVICE, 0, false, "x");
	iommu_poll_faults();
	host_printk_reset();
	strays = 1006;
	now += FAKE_HZ;
	iommu_poll_faults();
	snformat(want, sizeof(want), HIDDEN_FMT STRAY_FMT, 2u, 1006u);
	assert_string_equal(host_printk_text(), want);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	/* In this order: drivers/iommu.c's state carries over. */
	const struct CMUnitTest tests[] = {
	    T(test_init_neither),
	    T(test_init_tables_without_units),
	    T(test_init_broken_tables),
	    T(test_init_probe_refuses),
	    T(test_init_enable_fails),
	    T(test_no_iommu_refusals),
	    T(test_strays_without_iommu),
	    T(test_irq_route_without_iommu),
	    T(test_init_amdvi),
	    T(test_irq_route_driver_without_it),
	    T(test_init_vtd),
	    T(test_irq_route_through_driver),
	    T(test_domain_ids),
	    T(test_domain_owner),
	    T(test_domain_out_of_memory),
	    T(test_map_unmap),
	    T(test_attach),
	    T(test_attach_limit),
	    T(test_attach_fails),
	    T(test_destroy_blocks_devices),
	    T(test_destroy_keeps_domain_when_blocking_fails),
	    T(test_fault_lines),
	    T(test_fault_limit),
	    T(test_flush_reports),
	    T(test_strays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
