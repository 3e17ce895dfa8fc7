/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d DMA remapping: see drivers/vtd.h for what is used and the
 * specification's sections. Written from the specification; section
 * numbers are those of the VT-d Architecture Specification (rev. 3.x and
 * earlier number these sections alike).
 *
 * Every unit runs in legacy translation mode with one root table (256
 * root entries, one per bus) and a context table per bus on first use
 * (256 context entries, one per device/function). A device without a
 * present context entry is blocked: its DMA faults (reason 2) and is
 * recorded in the fault-recording registers, which poll_faults() reads.
 *
 * enable() also turns interrupt remapping (chapter 5) on, with nothing
 * remapped, in every unit with ECAP.IR and ECAP.QI: DMA remapping does not
 * stop a device's write to 0xFEEx_xxxx, which is an interrupt message, so
 * without this a guest that owns a device could send any interrupt to the
 * host's CPUs. Each such unit gets a table of 256 IRTEs all not present
 * (9.9), IRTA (10.4.29) with EIME clear, SIRTP, a global interrupt entry
 * cache invalidation (6.5.2.7, after SIRTP as 10.4.4 asks), then IRE, with
 * CFI left (or made) clear. Then (5.1.4) a remappable-format interrupt
 * finds its IRTE not present and faults (reason 0x22, or 0x21 for an index
 * beyond 256), and a compatibility-format one is blocked (reason 0x25);
 * both are recorded like DMA faults and poll_faults() reports them.
 * IPIs and the local APIC timer never pass through the unit.
 *
 * The only messages let through are those irq_route() makes an entry for:
 * an assigned function's MSI or MSI-X, aimed at one host vector of one
 * CPU (core/vdev/vpassthru.c). Each entry verifies the requester (SVT
 * 01b, SQ 00b: all 16 bits of the SID), so another device that sends the
 * same handle faults (reason 0x26). An entry is written upper half first
 * (P is in the lower one) and its interrupt entry cache line invalidated
 * by index (6.5.2.7); unroute and blocking the device (attach NULL)
 * clear P first. Entries are remapped-format, physical destination, in
 * xAPIC mode (EIME clear): a CPU with an APIC ID above 255 cannot be
 * named and the route is refused.
 *
 * On a unit without ECAP.IR (its probe line says "interrupt remapping
 * no") interrupt messages are NOT stopped: a device behind it that a guest
 * owns can still send interrupts to the host's CPUs. A unit with IR but no
 * QI (against the specification) is left the same, with a line at enable.
 * Firmware that left IRE or CFI on: IRE is turned off first (before QI,
 * which it depends on), CFI cleared before IRE is turned on again.
 *
 * Locking: one spinlock per unit serializes its tables, its invalidation
 * interface (registers or queue) and its fault registers.
 */
#include <stdarg.h>

#include "drivers/vtd.h"
#include "arch/x86/cpu.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "drivers/acpi.h"
#include "drivers/pci.h"

/* A message in err, and -1 back. */
#define fail(err, errlen, ...) format_error(-1, err, errlen, __VA_ARGS__)

/* Polls of a status bit before a wait gives up (each poll reads an
 * uncached register: well beyond the microseconds hardware takes). */
#define VTD_WAIT_LOOPS 2000000u

/* Context-table pointer / SLPTPTR / queue address: bits 63:12. */
#define VTD_ADDR_MASK (~0xfffull)

/* 6.5.2: descriptor types (bits 3:0). */
#define VTD_QI_TYPE_CC	  1
#define VTD_QI_TYPE_IOTLB 2
#define VTD_QI_TYPE_IEC	  4
#define VTD_QI_TYPE_WAIT  5
/* 6.5.2.8: invalidation wait descriptor: SW (status write) bit 5. */
#define VTD_QI_WAIT_SW BIT(5)
/* 6.5.2.3: IOTLB invalidate descriptor: DW bit 6, DR bit 7. */
#define VTD_QI_IOTLB_DW BIT(6)
#define VTD_QI_IOTLB_DR BIT(7)

/* 10.4.14: fault recording register, upper qword (bits 127:64). */
#define VTD_FRCD_F	      BIT(63) /* bit 127 */
#define VTD_FRCD_T	      BIT(62) /* bit 126: 0 write, 1 read */
#define VTD_FRCD_F_HIGH_DWORD BIT(31) /* F in the dword at +12 */

struct vtd_unit {
	u64 base; /* register set, host-physical (below 4 GiB) */
	u32 reg_size;
	u32 ver;
	u64 cap, ecap;
	u32 domains;   /* CAP.ND decoded */
	u32 fro;       /* fault-recording registers' offset, bytes */
	u32 nfr;       /* how many fault-recording registers */
	u32 iro;       /* IVA_REG offset, bytes (IOTLB_REG 8 above) */
	bool coherent; /* ECAP.C: tables are read through the caches */
	bool qi;       /* ECAP.QI: use the invalidation queue */
	bool ir;       /* vtd_ir_usable(): interrupt remapping turned on */
	bool enabled;  /* translation on, by enable() */
	u64 root;      /* root table, 0 before enable() */
	u64 irt;       /* interrupt remapping table (ir), 0 before */
	u64 iq;	       /* invalidation queue page (qi) */
	u64 iq_status; /* the page invalidation waits write to */
	u32 iq_tail;   /* next descriptor slot */
	u32 iq_seq;    /* last status value asked for */
	/* IRTEs handed out (irq_route), and the device each verifies. */
	u64 irte_used[VTD_IRT_ENTRIES / 64];
	u16 irte_sid[VTD_IRT_ENTRIES];
	spinlock_t lock;
};

static struct vtd_unit units[DMAR_MAX_UNITS];
static u32 unit_count;
static struct dmar_info dmar_copy; /* the scopes, for attach() */
static struct pt_format vtd_fmt;
static u32 wait_loops = VTD_WAIT_LOOPS;
static u32 clflush_size = 64;

static u32 unit_no(const struct vtd_unit *u)
{
	return (u32)(u - units);
}

/* ---- register access ---- */

#ifdef VENEER_HOST_TEST
static const struct vtd_test_mmio *test_mmio;

void vtd_test_set_mmio(const struct vtd_test_mmio *mmio, u32 loops)
{
	test_mmio = mmio;
	wait_loops = loops ? loops : VTD_WAIT_LOOPS;
}

u64 vtd_test_root_table(u32 unit)
{
	return unit < DMAR_MAX_UNITS ? units[unit].root : 0;
}

u64 vtd_test_ir_table(u32 unit)
{
	return unit < DMAR_MAX_UNITS ? units[unit].irt : 0;
}

static u32 rd32(const struct vtd_unit *u, u32 off)
{
	return test_mmio->read32(unit_no(u), off);
}
static u64 rd64(const struct vtd_unit *u, u32 off)
{
	return test_mmio->read64(unit_no(u), off);
}
static void wr32(const struct vtd_unit *u, u32 off, u32 v)
{
	test_mmio->write32(unit_no(u), off, v);
}
static void wr64(const struct vtd_unit *u, u32 off, u64 v)
{
	test_mmio->write64(unit_no(u), off, v);
}
#else
/* Below 4 GiB, everything that is not RAM is mapped uncached (core/mm.h):
 * the registers are reached at their physical address. */
static u32 rd32(const struct vtd_unit *u, u32 off)
{
	return *(volatile u32 *)(uintptr_t)(u->base + off);
}
static u64 rd64(const struct vtd_unit *u, u32 off)
{
	return *(volatile u64 *)(uintptr_t)(u->base + off);
}
static void wr32(const struct vtd_unit *u, u32 off, u32 v)
{
	*(volatile u32 *)(uintptr_t)(u->base + off) = v;
}
static void wr64(const struct vtd_unit *u, u32 off, u64 v)
{
	*(volatile u64 *)(uintptr_t)(u->base + off) = v;
}
#endif

/*
 * ECAP.C clear (10.4.3): the unit reads root, context and page tables
 * from memory without snooping the caches, so what the CPU wrote must be
 * written back first.
 */
static void cache_flush(const volatile void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(clflush_size - 1);
	uintptr_t end = (uintptr_t)p + len;

	for (; a < end; a += clflush_size)
		__asm__ volatile("clflush (%0)" ::"r"(a) : "memory");
	__asm__ volatile("mfence" ::: "memory");
}

static bool any_noncoherent(void)
{
	for (u32 i = 0; i < unit_count; i++)
		if (units[i].enabled && !units[i].coherent)
			return true;
	return false;
}

/* Writes back every table of a domain's second-level tree. */
static void flush_table_tree(const struct pt_ctx *pt, u64 table, u32 level)
{
	const u64 *t = pt->phys_to_virt(table);

	cache_flush(t, PT_TABLE_SIZE);
	if (level == 1)
		return;
	for (u32 i = 0; i < PT_ENTRIES; i++) {
		u64 e = t[i];

		if (!(e & vtd_fmt.present_mask) || (e & vtd_fmt.large_bit))
			continue;
		flush_table_tree(pt, e & vtd_fmt.addr_mask, level - 1);
	}
}

static void flush_domain_tables(const struct iommu_domain *dom)
{
	if (dom->pt.root && dom->pt.phys_to_virt && any_noncoherent())
		flush_table_tree(&dom->pt, dom->pt.root, PT_LEVELS);
}

/* ---- pure encodings ---- */

struct vtd_entry128 vtd_root_entry(u64 context_table)
{
	return (struct vtd_entry128){
	    .lo = (context_table & VTD_ADDR_MASK) | BIT(0), .hi = 0};
}

struct vtd_entry128 vtd_context_entry(u64 slptptr, u16 did)
{
	/* FPD (bit 1) clear: faults are recorded; TT (3:2) 00. */
	return (struct vtd_entry128){
	    .lo = (slptptr & VTD_ADDR_MASK) | VTD_CTX_P,
	    .hi = (u64)VTD_CTX_AW_48 | ((u64)did << 8)};
}

struct vtd_entry128 vtd_qi_context(u32 granularity, u16 did, u16 sid)
{
	/* 6.5.2.1: G 5:4, DID 31:16, SID 47:32, FM 49:48 (0: the function
	 * itself). */
	return (struct vtd_entry128){.lo = VTD_QI_TYPE_CC |
					   ((u64)(granularity & 3) << 4) |
					   ((u64)did << 16) | ((u64)sid << 32),
				     .hi = 0};
}

struct vtd_entry128 vtd_qi_iotlb(u32 granularity, u16 did)
{
	/* 6.5.2.3: G 5:4, DW 6, DR 7, DID 31:16; the address qword is for
	 * page-selective invalidation only. */
	return (struct vtd_entry128){
	    .lo = VTD_QI_TYPE_IOTLB | ((u64)(granularity & 3) << 4) |
		  VTD_QI_IOTLB_DW | VTD_QI_IOTLB_DR | ((u64)did << 16),
	    .hi = 0};
}

struct vtd_entry128 vtd_qi_iec_global(void)
{
	/* 6.5.2.7: G (bit 4) 0 is global; IM 31:27 and IIDX 47:32 only
	 * matter for index-selective invalidation (G 1). */
	return (struct vtd_entry128){.lo = VTD_QI_TYPE_IEC, .hi = 0};
}

struct vtd_entry128 vtd_qi_iec_index(u16 index)
{
	/* 6.5.2.7: G bit 4, IM 31:27 (0: one entry), IIDX 47:32. */
	return (struct vtd_entry128){
	    .lo = VTD_QI_TYPE_IEC | BIT(4) | (u64)index << 32, .hi = 0};
}

struct vtd_entry128 vtd_irte(u8 vector, u8 apic_id, u16 sid)
{
	return (struct vtd_entry128){
	    .lo = VTD_IRTE_P | (u64)vector << 16 | (u64)apic_id << 40,
	    .hi = (u64)sid | 1ull << 18, /* SVT 01b at bits 83:82 */
	};
}

struct iommu_msi vtd_remappable_msi(u16 handle)
{
	return (struct iommu_msi){
	    .addr = VTD_INTERRUPT_ADDR | (u64)(handle & 0x7fff) << 5 | BIT(4) |
		    (u64)(handle >> 15) << 2,
	    .data = 0,
	};
}

struct vtd_entry128 vtd_qi_wait(u32 data, u64 status_addr)
{
	/* 6.5.2.8: IF 4 clear (no interrupt), SW 5, FN 6 clear, status
	 * data 63:32; status address 63:2 of the upper qword. */
	return (struct vtd_entry128){.lo = VTD_QI_TYPE_WAIT | VTD_QI_WAIT_SW |
					   ((u64)data << 32),
				     .hi = status_addr & ~3ull};
}

u64 vtd_ccmd_value(u32 granularity, u16 did, u16 sid)
{
	/* 10.4.7: ICC 63, CIRG 62:61, FM 33:32 (0), SID 31:16, DID 15:0. */
	return VTD_CCMD_ICC | ((u64)(granularity & 3) << 61) |
	       ((u64)sid << 16) | did;
}

u64 vtd_iotlb_value(u32 granularity, u16 did)
{
	/* 10.4.8.1: IVT 63, IIRG 61:60, DR 49, DW 48, DID 47:32. */
	return VTD_IOTLB_IVT | ((u64)(granularity & 3) << 60) | VTD_IOTLB_DR |
	       VTD_IOTLB_DW | ((u64)did << 32);
}

u32 vtd_gcmd_value(u32 gsts, u32 bit, bool on)
{
	u32 v = gsts & VTD_GSTS_ONESHOT_MASK;

	return on ? v | bit : v & ~bit;
}

u64 vtd_irta_value(u64 table, u32 entries)
{
	u32 s = 0;

	/* 10.4.29: 2^(S+1) entries, so S = log2(entries) - 1. */
	while (entries > 2u << s && s < VTD_IRTA_S_MASK)
		s++;
	return (table & VTD_ADDR_MASK) | s;
}

bool vtd_ir_usable(u64 ecap)
{
	return (ecap & VTD_ECAP_IR) && (ecap & VTD_ECAP_QI);
}

const char *vtd_fault_reason(u8 fr)
{
	/* 7.1.3: the non-recoverable faults of legacy-mode translation,
	 * then those of interrupt remapping (0x20-0x27). */
	switch (fr) {
	case 0x1:
		return "root entry not present";
	case 0x2:
		return "context entry not present";
	case 0x3:
		return "invalid context entry";
	case 0x4:
		return "address beyond the domain's address width";
	case 0x5:
		return "write not permitted (no writable second-level entry)";
	case 0x6:
		return "read not permitted (no readable second-level entry)";
	case 0x7:
		return "error reading a second-level table";
	case 0x8:
		return "error reading the root table";
	case 0x9:
		return "error reading the context table";
	case 0xa:
		return "reserved bits set in the root entry";
	case 0xb:
		return "reserved bits set in the context entry";
	case 0xc:
		return "reserved bits set in a second-level entry";
	case 0xd:
		return "request type blocked by the context entry";
	case 0x20:
		return "interrupt blocked: reserved bits set in the "
		       "remappable-format request";
	case 0x21:
		return "interrupt blocked: index beyond the interrupt "
		       "remapping table";
	case 0x22:
		return "interrupt blocked: remapping table entry not present";
	case 0x23:
		return "interrupt blocked: error reading the interrupt "
		       "remapping table";
	case 0x24:
		return "interrupt blocked: reserved bits set in the remapping "
		       "table entry";
	case VTD_FR_IR_COMPAT:
		return "interrupt blocked: compatibility format (remapping "
		       "on, CFI clear)";
	case 0x26:
		return "interrupt blocked: requester failed the remapping "
		       "table entry's source-id check";
	case 0x27:
		return "interrupt blocked: error reading a posted-interrupt "
		       "descriptor";
	default:
		return NULL;
	}
}

bool vtd_fault_decode(u64 lo, u64 hi, struct iommu_fault *f, char *buf,
		      size_t buflen)
{
	u8 fr = (u8)(hi >> 32); /* bits 103:96 */

	if (!(hi & VTD_FRCD_F))
		return false;
	f->bdf = (u16)hi; /* bits 79:64 */
	f->addr = lo & VTD_ADDR_MASK;
	f->write = !(hi & VTD_FRCD_T);
	f->reason = vtd_fault_reason(fr);
	if (VTD_FR_IS_INTERRUPT(fr)) {
		/* 10.4.14: FI 63:48 is the interrupt index, 47:12 clear; T
		 * is for DMA faults only. */
		f->addr = VTD_INTERRUPT_ADDR;
		f->write = true;
		if (f->reason && fr != VTD_FR_IR_COMPAT) {
			snformat(buf, buflen, "%s: interrupt index %u",
				 f->reason, (u32)(lo >> 48));
			f->reason = buf;
		}
	}
	if (!f->reason) {
		snformat(buf, buflen, "fault reason 0x%02x", fr);
		f->reason = buf;
	}
	return true;
}

u32 vtd_cap_domains(u64 cap)
{
	u32 nd = VTD_CAP_ND(cap);

	/* 10.4.2: 0 -> 16 (4 bits of ID) ... 6 -> 65536 (16 bits). */
	if (nd > 6)
		nd = 6;
	return 1u << (4 + 2 * nd);
}

const char *vtd_cap_refusal(u64 cap)
{
	if (!(VTD_CAP_SAGAW(cap) & VTD_SAGAW_48))
		return "no 4-level (48-bit) second-level tables in CAP.SAGAW, "
		       "and Veneer builds only those (QEMU: -device "
		       "intel-iommu,aw-bits=48)";
	return NULL;
}

u32 vtd_leaf_levels(const u64 *caps, u32 n)
{
	u32 levels = PT_LEAF_4K | PT_LEAF_2M | PT_LEAF_1G;

	for (u32 i = 0; i < n; i++) {
		u32 sllps = VTD_CAP_SLLPS(caps[i]);

		if (!(sllps & VTD_SLLPS_2M))
			levels &= ~(PT_LEAF_2M | PT_LEAF_1G);
		if (!(sllps & VTD_SLLPS_1G))
			levels &= ~PT_LEAF_1G;
	}
	return levels;
}

int vtd_find_unit(const struct dmar_info *dmar, u16 bdf,
		  const struct vtd_bus_ops *bus)
{
	int all = -1, below = -1;
	u32 b = bdf >> 8;

	for (u32 i = 0; i < dmar->unit_count && i < DMAR_MAX_UNITS; i++) {
		const struct dmar_unit *u = &dmar->units[i];

		if (u->segment != 0)
			continue;
		if (u->include_all) {
			if (all < 0)
				all = (int)i;
			continue;
		}
		for (u32 j = 0; j < u->scope_count && j < DMAR_MAX_SCOPES;
		     j++) {
			const struct dmar_scope *s = &u->scopes[j];
			int sec, sub;
			u16 id;

			if (s->type != DMAR_SCOPE_PCI_ENDPOINT &&
			    s->type != DMAR_SCOPE_PCI_SUBHIER)
				continue;
			if (dmar_scope_bdf(s, bus->secondary_bus, bus->ctx,
					   &id) != ACPI_OK)
				continue;
			if (id == bdf)
				return (int)i;
			if (s->type != DMAR_SCOPE_PCI_SUBHIER)
				continue;
			/* 8.3.1: a bridge's scope covers every bus below it. */
			sec = bus->secondary_bus(bus->ctx, id);
			if (sec < 0 || sec > 255)
				continue;
			sub = bus->subordinate_bus
				  ? bus->subordinate_bus(bus->ctx, id)
				  : sec;
			if (sub < sec || sub > 255)
				sub = sec;
			if (b >= (u32)sec && b <= (u32)sub && below < 0)
				below = (int)i;
		}
	}
	/* A scope naming the device itself wins over a bridge's. */
	return below >= 0 ? below : all;
}

/* ---- commands and invalidations (unit lock held, or enable()) ---- */

static bool wait_gsts(const struct vtd_unit *u, u32 bit, bool set)
{
	for (u32 i = 0; i < wait_loops; i++) {
		if (!!(rd32(u, VTD_REG_GSTS) & bit) == set)
			return true;
		cpu_relax();
	}
	return false;
}

/* 10.4.4, 10.4.5: one GCMD bit on or off, then its GSTS bit follows. */
static int gcmd(const struct vtd_unit *u, u32 bit, bool on, const char *sts,
		char *err, size_t errlen)
{
	wr32(u, VTD_REG_GCMD, vtd_gcmd_value(rd32(u, VTD_REG_GSTS), bit, on));
	if (!wait_gsts(u, bit, on))
		return fail(err, errlen,
			    "VT-d unit %u at 0x%llx: GSTS.%s never %s "
			    "(GSTS 0x%x)",
			    unit_no(u), (unsigned long long)u->base, sts,
			    on ? "set" : "cleared", rd32(u, VTD_REG_GSTS));
	return 0;
}

/* 10.4.4 / 6.1: with CAP.RWBF, updates to tables in memory may sit in a
 * write buffer of the unit until flushed. */
static int write_buffer_flush(const struct vtd_unit *u, char *err,
			      size_t errlen)
{
	if (!(u->cap & VTD_CAP_RWBF))
		return 0;
	wr32(u, VTD_REG_GCMD,
	     vtd_gcmd_value(rd32(u, VTD_REG_GSTS), VTD_GCMD_WBF, true));
	if (!wait_gsts(u, VTD_GCMD_WBF, false))
		return fail(err, errlen,
			    "VT-d unit %u at 0x%llx: GSTS.WBFS never cleared",
			    unit_no(u), (unsigned long long)u->base);
	return 0;
}

/* 6.5.2: descriptors then an invalidation wait; polls its status write. */
static int qi_submit(struct vtd_unit *u, const struct vtd_entry128 *d, u32 n,
		     char *err, size_t errlen)
{
	volatile struct vtd_entry128 *q = hpa_to_ptr(u->iq);
	volatile u32 *status = hpa_to_ptr(u->iq_status);
	struct vtd_entry128 w;
	u32 seq = ++u->iq_seq;

	if (seq == 0)
		seq = u->iq_seq = 1;
	*status = 0;
	for (u32 i = 0; i <= n; i++) {
		const struct vtd_entry128 *e = d + i;

		if (i == n) {
			w = vtd_qi_wait(seq, u->iq_status);
			e = &w;
		}
		q[u->iq_tail].lo = e->lo;
		q[u->iq_tail].hi = e->hi;
		u->iq_tail = (u->iq_tail + 1) % VTD_IQ_DESCS;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* 10.4.23: QT 18:4, the slot index for 128-bit descriptors. */
	wr64(u, VTD_REG_IQT, (u64)u->iq_tail << 4);
	for (u32 i = 0; i < wait_loops; i++) {
		u32 fsts;

		if (__atomic_load_n(status, __ATOMIC_ACQUIRE) == seq)
			return 0;
		fsts = rd32(u, VTD_REG_FSTS);
		if (fsts & VTD_FSTS_IQE) {
			u64 head = rd64(u, VTD_REG_IQH);

			/* 6.5.2.10: the unit stopped at the bad descriptor;
			 * drop what is queued and clear the error. */
			wr64(u, VTD_REG_IQT, head & 0x7fff0);
			u->iq_tail = (u32)((head >> 4) & (VTD_IQ_DESCS - 1));
			wr32(u, VTD_REG_FSTS, VTD_FSTS_IQE);
			return fail(
			    err, errlen,
			    "VT-d unit %u at 0x%llx: invalidation queue "
			    "error at descriptor %llu",
			    unit_no(u), (unsigned long long)u->base,
			    (unsigned long long)(head >> 4));
		}
		cpu_relax();
	}
	return fail(err, errlen,
		    "VT-d unit %u at 0x%llx: invalidation wait never completed "
		    "(IQH 0x%llx, IQT 0x%llx)",
		    unit_no(u), (unsigned long long)u->base,
		    (unsigned long long)rd64(u, VTD_REG_IQH),
		    (unsigned long long)rd64(u, VTD_REG_IQT));
}

/* Context cache, then the IOTLB (6.5: that order). */
static int invalidate(struct vtd_unit *u, u32 cc_gran, u16 cc_did, u16 sid,
		      u32 tlb_gran, u16 tlb_did, char *err, size_t errlen)
{
	if (write_buffer_flush(u, err, errlen) < 0)
		return -1;
	if (u->qi) {
		struct vtd_entry128 d[2];
		u32 n = 0;

		if (cc_gran)
			d[n++] = vtd_qi_context(cc_gran, cc_did, sid);
		if (tlb_gran)
			d[n++] = vtd_qi_iotlb(tlb_gran, tlb_did);
		return qi_submit(u, d, n, err, errlen);
	}
	/* 6.5.1, register-based: write, then the busy bit clears. */
	if (cc_gran) {
		bool done = false;

		wr64(u, VTD_REG_CCMD, vtd_ccmd_value(cc_gran, cc_did, sid));
		for (u32 i = 0; i < wait_loops && !done; i++) {
			done = !(rd64(u, VTD_REG_CCMD) & VTD_CCMD_ICC);
			if (!done)
				cpu_relax();
		}
		if (!done)
			return fail(err, errlen,
				    "VT-d unit %u at 0x%llx: CCMD.ICC never "
				    "cleared",
				    unit_no(u), (unsigned long long)u->base);
	}
	if (tlb_gran) {
		u32 reg = u->iro + VTD_IOTLB_REG_OFFSET;
		bool done = false;

		wr64(u, reg, vtd_iotlb_value(tlb_gran, tlb_did));
		for (u32 i = 0; i < wait_loops && !done; i++) {
			done = !(rd64(u, reg) & VTD_IOTLB_IVT);
			if (!done)
				cpu_relax();
		}
		if (!done)
			return fail(err, errlen,
				    "VT-d unit %u at 0x%llx: IOTLB.IVT never "
				    "cleared",
				    unit_no(u), (unsigned long long)u->base);
	}
	return 0;
}

/* ---- enable ---- */

static void clear_faults(const struct vtd_unit *u)
{
	for (u32 i = 0; i < u->nfr; i++) {
		u32 off = u->fro + i * 16;

		if (rd64(u, off + 8) & VTD_FRCD_F)
			wr32(u, off + 12, VTD_FRCD_F_HIGH_DWORD);
	}
	wr32(u, VTD_REG_FSTS, VTD_FSTS_PFO | VTD_FSTS_PPF);
}

static void disable_unit(struct vtd_unit *u)
{
	if (rd32(u, VTD_REG_GSTS) & VTD_GCMD_IRE)
		gcmd(u, VTD_GCMD_IRE, false, "IRES", NULL, 0);
	if (rd32(u, VTD_REG_GSTS) & VTD_GCMD_TE)
		gcmd(u, VTD_GCMD_TE, false, "TES", NULL, 0);
	u->enabled = false;
}

/*
 * Chapter 5 with nothing remapped (see the top of this file): the table,
 * IRTA, SIRTP (10.4.4: IRTPS follows), the interrupt entry cache
 * invalidated globally (6.5.2.7; needs the queue on), CFI clear, IRE.
 */
static int enable_ir(struct vtd_unit *u, char *err, size_t errlen)
{
	struct vtd_entry128 iec = vtd_qi_iec_global();

	if (!u->ir) {
		if (u->ecap & VTD_ECAP_IR)
			printk("veneer: iommu: VT-d unit %u at 0x%llx: "
			       "interrupt remapping without queued "
			       "invalidation, which its interrupt entry "
			       "cache needs: left off, device interrupt "
			       "messages are not blocked on this unit\n",
			       unit_no(u), (unsigned long long)u->base);
		return 0;
	}
	if (!u->irt)
		u->irt = mm_alloc_page(); /* zeroed: every IRTE not present */
	if (!u->coherent)
		cache_flush(hpa_to_ptr(u->irt), PAGE_SIZE);
	wr64(u, VTD_REG_IRTA, vtd_irta_value(u->irt, VTD_IRT_ENTRIES));
	if (gcmd(u, VTD_GCMD_SIRTP, true, "IRTPS", err, errlen) < 0 ||
	    qi_submit(u, &iec, 1, err, errlen) < 0)
		return -1;
	/* 5.1.4: with CFIS clear, compatibility-format interrupts are
	 * blocked; gcmd() keeps CFI as GSTS reports it, so clear it first. */
	if ((rd32(u, VTD_REG_GSTS) & VTD_GCMD_CFI) &&
	    gcmd(u, VTD_GCMD_CFI, false, "CFIS", err, errlen) < 0)
		return -1;
	return gcmd(u, VTD_GCMD_IRE, true, "IRES", err, errlen);
}

static int enable_unit(struct vtd_unit *u, char *err, size_t errlen)
{
	u32 gsts = rd32(u, VTD_REG_GSTS);

	/* Firmware (or a previous run) may have left remapping on; interrupt
	 * remapping goes off before the queue it invalidates through. */
	if ((gsts & VTD_GCMD_IRE) &&
	    gcmd(u, VTD_GCMD_IRE, false, "IRES", err, errlen) < 0)
		return -1;
	if ((gsts & VTD_GCMD_TE) &&
	    gcmd(u, VTD_GCMD_TE, false, "TES", err, errlen) < 0)
		return -1;
	if (gsts & VTD_GCMD_QIE) {
		/* Let what it queued finish, then take the queue over. */
		for (u32 i = 0; i < wait_loops; i++) {
			if (rd64(u, VTD_REG_IQH) == rd64(u, VTD_REG_IQT))
				break;
			cpu_relax();
		}
		if (gcmd(u, VTD_GCMD_QIE, false, "QIES", err, errlen) < 0)
			return -1;
	}

	/* 10.4.10: faults are polled, never signalled (IM set; the
	 * reserved bits 29:0 keep what they read). */
	wr32(u, VTD_REG_FECTL, rd32(u, VTD_REG_FECTL) | VTD_FECTL_IM);
	clear_faults(u);

	/* 10.4.6: the root table, legacy mode (TTM / RTT bits 11:10 clear). */
	if (!u->root)
		u->root = mm_alloc_page();
	if (!u->coherent)
		cache_flush(hpa_to_ptr(u->root), PAGE_SIZE);
	wr64(u, VTD_REG_RTADDR, u->root & VTD_ADDR_MASK);
	if (gcmd(u, VTD_GCMD_SRTP, true, "RTPS", err, errlen) < 0)
		return -1;

	if (u->qi) {
		/* 6.5.2 / 10.4.22-24: tail 0, the queue, then QIE. */
		if (!u->iq)
			u->iq = mm_alloc_page();
		if (!u->iq_status)
			u->iq_status = mm_alloc_page();
		u->iq_tail = 0;
		wr64(u, VTD_REG_IQT, 0);
		wr64(u, VTD_REG_IQA, (u->iq & VTD_ADDR_MASK) | VTD_IQA_QS_4K);
		if (gcmd(u, VTD_GCMD_QIE, true, "QIES", err, errlen) < 0)
			return -1;
	}

	/* After SRTP: global context-cache, then global IOTLB (10.4.4). */
	if (invalidate(u, VTD_QI_CC_GLOBAL, 0, 0, VTD_QI_IOTLB_GLOBAL, 0, err,
		       errlen) < 0)
		return -1;
	if (gcmd(u, VTD_GCMD_TE, true, "TES", err, errlen) < 0)
		return -1;
	u->enabled = true;
	return enable_ir(u, err, errlen);
}

static int vtd_enable(char *err, size_t errlen)
{
	for (u32 i = 0; i < unit_count; i++) {
		struct vtd_unit *u = &units[i];
		int r;

		spin_lock(&u->lock);
		r = enable_unit(u, err, errlen);
		spin_unlock(&u->lock);
		if (r < 0) {
			for (u32 j = 0; j <= i; j++) {
				spin_lock(&units[j].lock);
				disable_unit(&units[j]);
				spin_unlock(&units[j].lock);
			}
			return -1;
		}
	}
	return 0;
}

/* ---- attach ---- */

static int pci_sec_bus(void *ctx, u16 bdf)
{
	(void)ctx;
	return pci_secondary_bus(bdf);
}

static int pci_sub_bus(void *ctx, u16 bdf)
{
	const struct pci_device *d = pci_find(bdf);

	(void)ctx;
	if (!d || d->header_type != PCI_HEADER_BRIDGE)
		return -1;
	return d->subordinate_bus;
}

static void write_entry(const struct vtd_unit *u,
			volatile struct vtd_entry128 *e, struct vtd_entry128 v)
{
	/* The upper qword first: the unit may read the entry as soon as
	 * the present bit in the lower one is set (9.3). */
	e->hi = v.hi;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->lo = v.lo;
	if (!u->coherent)
		cache_flush(e, sizeof(*e));
}

static int drop_irtes(struct vtd_unit *u, u16 bdf, char *err, size_t errlen);

static int vtd_attach(u16 bdf, struct iommu_domain *dom, char *err,
		      size_t errlen)
{
	const struct vtd_bus_ops bus = {pci_sec_bus, pci_sub_bus, NULL};
	volatile struct vtd_entry128 *rt, *ct, *ce;
	struct vtd_unit *u;
	u32 bus_no = bdf >> 8, devfn = bdf & 0xff;
	int idx = vtd_find_unit(&dmar_copy, bdf, &bus);
	int r = 0;

	if (idx < 0 || (u32)idx >= unit_count)
		return fail(err, errlen,
			    "no VT-d unit translates for device "
			    "%02x:%02x.%u",
			    bus_no, devfn >> 3, devfn & 7);
	u = &units[idx];
	if (dom && (dom->id == 0 || dom->id >= u->domains))
		return fail(err, errlen,
			    "VT-d unit %u at 0x%llx: domain ID %u is beyond "
			    "its %u domains",
			    (u32)idx, (unsigned long long)u->base, dom->id,
			    u->domains);
	if (dom && !dom->pt.root)
		return fail(err, errlen, "VT-d: domain %u has no page table",
			    dom->id);

	spin_lock(&u->lock);
	if (!u->enabled) {
		spin_unlock(&u->lock);
		return fail(err, errlen,
			    "VT-d unit %u at 0x%llx: remapping is not on",
			    (u32)idx, (unsigned long long)u->base);
	}
	rt = hpa_to_ptr(u->root);
	if (!(rt[bus_no].lo & BIT(0))) {
		u64 table;

		if (!dom) { /* nothing there to block */
			spin_unlock(&u->lock);
			return 0;
		}
		/* 9.1: a zeroed context table for the bus (all blocked). */
		table = mm_alloc_page();
		if (!u->coherent)
			cache_flush(hpa_to_ptr(table), PAGE_SIZE);
		write_entry(u, &rt[bus_no], vtd_root_entry(table));
	}
	ct = hpa_to_ptr(rt[bus_no].lo & VTD_ADDR_MASK);
	ce = &ct[devfn];

	if (ce->lo & VTD_CTX_P) {
		u16 old = VTD_CTX_DID(ce->hi);

		/* 6.5.3.x: a present entry is made not present and the
		 * caches of it flushed before it is written again. */
		write_entry(u, ce, (struct vtd_entry128){0, 0});
		r = invalidate(u, VTD_QI_CC_DEVICE, old, bdf,
			       VTD_QI_IOTLB_DOMAIN, old, err, errlen);
	}
	if (r == 0 && !dom)
		r = drop_irtes(u, bdf, err, errlen);
	if (r == 0 && dom) {
		flush_domain_tables(dom);
		write_entry(u, ce, vtd_context_entry(dom->pt.root, dom->id));
		/* With CAP.CM, a not-present -> present change needs this
		 * too; without it, it is harmless. */
		r = invalidate(u, VTD_QI_CC_DEVICE, dom->id, bdf,
			       VTD_QI_IOTLB_DOMAIN, dom->id, err, errlen);
	}
	spin_unlock(&u->lock);
	return r;
}

/* ---- interrupt remapping entries ---- */

static bool irte_used(const struct vtd_unit *u, u32 h)
{
	return u->irte_used[h / 64] & BIT(h % 64);
}

/* Entry h not present again, the unit's cache of it dropped (u->lock). */
static int irte_clear(struct vtd_unit *u, u32 h, char *err, size_t errlen)
{
	volatile struct vtd_entry128 *e =
	    (volatile struct vtd_entry128 *)hpa_to_ptr(u->irt) + h;
	struct vtd_entry128 iec = vtd_qi_iec_index((u16)h);

	e->lo = 0; /* P first */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	e->hi = 0;
	if (!u->coherent)
		cache_flush(e, sizeof(*e));
	u->irte_used[h / 64] &= ~BIT(h % 64);
	return qi_submit(u, &iec, 1, err, errlen);
}

/* The unit remapping bdf's interrupts, or NULL with err. */
static struct vtd_unit *unit_for(u16 bdf, char *err, size_t errlen)
{
	const struct vtd_bus_ops bus = {pci_sec_bus, pci_sub_bus, NULL};
	int idx = vtd_find_unit(&dmar_copy, bdf, &bus);

	if (idx < 0 || (u32)idx >= unit_count) {
		fail(err, errlen,
		     "no VT-d unit translates for device %02x:%02x.%u",
		     bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
		return NULL;
	}
	return &units[idx];
}

static int vtd_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
			 struct iommu_msi *msg, char *err, size_t errlen)
{
	struct vtd_unit *u = unit_for(bdf, err, errlen);
	struct vtd_entry128 iec;
	u32 h = *handle;
	int r;

	if (!u)
		return -1;
	if (!u->ir)
		return 1;
	if (apic_id > 0xff)
		return fail(err, errlen,
			    "VT-d: APIC ID %u needs x2APIC interrupt "
			    "remapping (EIME), which Veneer leaves off",
			    apic_id);
	spin_lock(&u->lock);
	if (h == IOMMU_NO_IRQ) {
		for (u32 i = 0; i < VTD_IRT_ENTRIES && h == IOMMU_NO_IRQ; i++)
			if (!irte_used(u, i))
				h = i;
		if (h == IOMMU_NO_IRQ) {
			spin_unlock(&u->lock);
			return fail(err, errlen,
				    "VT-d unit %u: all %u interrupt remapping "
				    "entries are in use",
				    unit_no(u), VTD_IRT_ENTRIES);
		}
		u->irte_used[h / 64] |= BIT(h % 64);
		u->irte_sid[h] = bdf;
	} else if (h >= VTD_IRT_ENTRIES || !irte_used(u, h) ||
		   u->irte_sid[h] != bdf) {
		spin_unlock(&u->lock);
		return fail(err, errlen,
			    "VT-d: interrupt remapping entry %u is not "
			    "device %02x:%02x.%u's",
			    h, bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
	}
	/* The upper half (the requester) never changes for an entry in use;
	 * the lower one, with P, vector and destination, is one store. */
	write_entry(u, (volatile struct vtd_entry128 *)hpa_to_ptr(u->irt) + h,
		    vtd_irte(vector, (u8)apic_id, bdf));
	iec = vtd_qi_iec_index((u16)h);
	r = qi_submit(u, &iec, 1, err, errlen);
	spin_unlock(&u->lock);
	*handle = h;
	*msg = vtd_remappable_msi((u16)h);
	return r;
}

static void vtd_irq_unroute(u16 bdf, u32 handle)
{
	char err[160];
	struct vtd_unit *u = unit_for(bdf, err, sizeof(err));

	if (!u || !u->ir || handle >= VTD_IRT_ENTRIES)
		return;
	spin_lock(&u->lock);
	if (irte_used(u, handle) && u->irte_sid[handle] == bdf &&
	    irte_clear(u, handle, err, sizeof(err)) < 0)
		printk("veneer: iommu: %s\n", err);
	spin_unlock(&u->lock);
}

/* Every entry left for bdf goes (u->lock): a device blocked again keeps
 * no way into the host's CPUs. */
static int drop_irtes(struct vtd_unit *u, u16 bdf, char *err, size_t errlen)
{
	int r = 0;

	for (u32 h = 0; u->ir && h < VTD_IRT_ENTRIES && r == 0; h++)
		if (irte_used(u, h) && u->irte_sid[h] == bdf)
			r = irte_clear(u, h, err, errlen);
	return r;
}

/* ---- flush, faults ---- */

static void vtd_flush_domain(struct iommu_domain *dom)
{
	char err[160];

	if (!dom)
		return;
	flush_domain_tables(dom);
	for (u32 i = 0; i < unit_count; i++) {
		struct vtd_unit *u = &units[i];
		int r = 0;

		if (dom->id == 0 || dom->id >= u->domains)
			continue;
		spin_lock(&u->lock);
		if (u->enabled)
			r = invalidate(u, 0, 0, 0, VTD_QI_IOTLB_DOMAIN, dom->id,
				       err, sizeof(err));
		spin_unlock(&u->lock);
		if (r < 0)
			printk("veneer: iommu: %s\n", err);
	}
}

static u32 vtd_poll_faults(void (*report)(const struct iommu_fault *f))
{
	u32 count = 0;

	for (u32 i = 0; i < unit_count; i++) {
		struct vtd_unit *u = &units[i];
		u32 fsts;

		spin_lock(&u->lock);
		fsts = rd32(u, VTD_REG_FSTS);
		for (u32 k = 0; k < u->nfr; k++) {
			u32 off = u->fro + k * 16;
			struct iommu_fault f;
			char buf[128];
			u64 hi = rd64(u, off + 8);

			if (!vtd_fault_decode(rd64(u, off), hi, &f, buf,
					      sizeof(buf)))
				continue;
			if (report)
				report(&f);
			count++;
			/* 10.4.14: F is RW1C; the dword write leaves the
			 * other (read-only) bits of the record alone. */
			wr32(u, off + 12, VTD_FRCD_F_HIGH_DWORD);
		}
		if (fsts & (VTD_FSTS_PFO | VTD_FSTS_PPF))
			wr32(u, VTD_REG_FSTS, VTD_FSTS_PFO | VTD_FSTS_PPF);
		spin_unlock(&u->lock);
	}
	return count;
}

static const struct iommu_ops vtd_ops = {
    .name = "VT-d",
    .fmt = &vtd_fmt,
    .enable = vtd_enable,
    .attach = vtd_attach,
    .flush_domain = vtd_flush_domain,
    .poll_faults = vtd_poll_faults,
    .irq_route = vtd_irq_route,
    .irq_unroute = vtd_irq_unroute,
};

/* ---- probe ---- */

const struct iommu_ops *vtd_probe(const struct dmar_info *dmar, char *err,
				  size_t errlen)
{
	u64 caps[DMAR_MAX_UNITS];
	struct cpuid_regs id = cpuid(1);

	/* CPUID.1:EBX[15:8]: the CLFLUSH line size in 8-byte units. */
	if ((id.ebx >> 8) & 0xff)
		clflush_size = ((id.ebx >> 8) & 0xff) * 8;

	unit_count = 0;
	if (!dmar || dmar->unit_count == 0) {
		fail(err, errlen, "VT-d: the DMAR table names no units");
		return NULL;
	}
	if (dmar->unit_count > DMAR_MAX_UNITS) {
		fail(err, errlen, "VT-d: %u units, more than %u",
		     dmar->unit_count, DMAR_MAX_UNITS);
		return NULL;
	}
	for (u32 i = 0; i < dmar->unit_count; i++) {
		const struct dmar_unit *d = &dmar->units[i];
		struct vtd_unit *u = &units[i];
		const char *why;

		memset(u, 0, sizeof(*u));
		u->base = d->reg_base;
		u->reg_size = d->reg_size;
		if (d->reg_base >= GiB(4) ||
		    d->reg_base + d->reg_size > GiB(4)) {
			fail(err, errlen,
			     "VT-d unit %u: registers at 0x%llx are not below "
			     "4 GiB, where Veneer reaches device registers",
			     i, (unsigned long long)d->reg_base);
			return NULL;
		}
		u->ver = rd32(u, VTD_REG_VER);
		u->cap = rd64(u, VTD_REG_CAP);
		u->ecap = rd64(u, VTD_REG_ECAP);
		if (u->cap == ~0ull || u->ecap == ~0ull) {
			fail(err, errlen,
			     "VT-d unit %u at 0x%llx: registers read all ones",
			     i, (unsigned long long)u->base);
			return NULL;
		}
		why = vtd_cap_refusal(u->cap);
		if (why) {
			fail(err, errlen, "VT-d unit %u at 0x%llx: %s", i,
			     (unsigned long long)u->base, why);
			return NULL;
		}
		u->domains = vtd_cap_domains(u->cap);
		u->fro = VTD_CAP_FRO(u->cap) * 16;
		u->nfr = VTD_CAP_NFR(u->cap) + 1;
		u->iro = VTD_ECAP_IRO(u->ecap) * 16;
		u->coherent = u->ecap & VTD_ECAP_C;
		u->qi = u->ecap & VTD_ECAP_QI;
		u->ir = vtd_ir_usable(u->ecap);
		if (u->fro + u->nfr * 16 > u->reg_size ||
		    u->iro + 16 > u->reg_size) {
			fail(err, errlen,
			     "VT-d unit %u at 0x%llx: fault (0x%x) or IOTLB "
			     "(0x%x) registers beyond its %u bytes",
			     i, (unsigned long long)u->base, u->fro, u->iro,
			     u->reg_size);
			return NULL;
		}
		caps[i] = u->cap;
		printk("veneer: iommu: VT-d unit %u at 0x%llx: version %u.%u, "
		       "%u domains, 48-bit tables, 2 MiB pages %s, queued "
		       "invalidation %s, interrupt remapping %s\n",
		       i, (unsigned long long)u->base, (u->ver >> 4) & 0xf,
		       u->ver & 0xf, u->domains,
		       (VTD_CAP_SLLPS(u->cap) & VTD_SLLPS_2M) ? "yes" : "no",
		       u->qi ? "yes" : "no",
		       (u->ecap & VTD_ECAP_IR) ? "yes" : "no");
	}
	unit_count = dmar->unit_count;
	memcpy(&dmar_copy, dmar, sizeof(dmar_copy));
	vtd_fmt = pt_format_vtd;
	vtd_fmt.leaf_levels = vtd_leaf_levels(caps, unit_count);
	return &vtd_ops;
}
