/* SPDX-License-Identifier: MIT */
/*
 * The AMD-Vi IOMMU driver: struct iommu_ops (drivers/iommu.h) for the
 * units an IVRS describes (drivers/ivrs.h).
 *
 * References are to the AMD I/O Virtualization Technology (IOMMU)
 * Specification (48882), revision 3.x (see drivers/amdvi.h).
 *
 * Every unit shares one device table (65536 entries, 2 MiB). At enable
 * every entry is *blocked*: V=1, TV=1, Mode=4, the Page Table Root
 * Pointer at one zeroed page (an empty level-4 table, never written),
 * IR=IW=0, domain 0. A device nobody attached is then translated through
 * a table with nothing in it: every DMA is refused and, as SE=SA=0, the
 * unit records an IO_PAGE_FAULT in its event log (2.5.3), which
 * poll_faults() reports. Mode=0 with IR=IW=0 ("translation disabled,
 * access controlled by IR and IW", 2.2.2.1) would refuse the DMA too,
 * but it is not a page-table walk, and whether such a refusal is logged
 * is not something the specification promises in so many words; the
 * empty-table entry is an ordinary translation fault, which is.
 * V=0 must never be used: it lets the device's DMA through untranslated.
 *
 * Interrupt remapping (2.2.5), with nothing remapped: both the blocked and
 * the attached entry have IV=1, IntCtl=00b, every pass bit (INIT, ExtInt,
 * NMI, LINT0, LINT1) 0, no interrupt table (IntTabLen 0, root 0) and IG 0.
 * A device's write to 0xFEEx_xxxx is an interrupt message, which the page
 * tables never see; with IV=0 the unit forwards it unmapped, so a guest
 * owning a device could send any interrupt to the host's CPUs. With this
 * every interrupt message from every device is target aborted. There is
 * no global enable for this in the Control register (3.4.4): GAEn is for
 * the guest virtual APIC and XTEn / IntCapXTEn for x2APIC interrupts of
 * the unit itself, none needed.
 *
 * The exception is an assigned function's MSI or MSI-X, which
 * irq_route() lets through (core/vdev/vpassthru.c): the device gets an
 * interrupt remapping table of its own (2.2.5, AMDVI_IRT_ENTRIES 32-bit
 * entries in a page), its entry and its alias's IntCtl 10b pointing at
 * it, and each message an entry aimed at one host vector of one CPU
 * (physical, fixed); the message's data is the entry's index. The table
 * is per device, so no other device's message can use it. It stays while
 * the device is attached (attach keeps the interrupt half then) and goes
 * when the device is blocked again: the entry's interrupt half back to
 * abort, INVALIDATE_INTERRUPT_TABLE, then the page freed. Otherwise
 * attach changes only the translation half, which INVALIDATE_DEVTAB_ENTRY
 * covers; at enable, what
 * firmware may have left cached of interrupt tables is invalidated too
 * (INVALIDATE_IOMMU_ALL, else INVALIDATE_INTERRUPT_TABLE per device ID).
 * The IVHD's per-device DTE settings (which would set pass bits, e.g. NMI
 * for the I/O APIC) are deliberately not applied.
 *
 * An IVHD alias entry (types 42h, 43h) means the devices' requests carry
 * the alias ID, so attach writes the alias's entry as well. The alias
 * entry is shared by every device behind the alias: it follows the last
 * attach of any of them.
 *
 * Locks: dt_lock serializes the writers of device-table entries
 * (attach); each unit's lock its command buffer and event log. dt_lock
 * is taken before a unit's lock, never after.
 */
#include "drivers/amdvi.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "drivers/pci.h"

/* A message in err, and -1 back. */
#define fail(err, errlen, ...) format_error(-1, err, errlen, __VA_ARGS__)

/*
 * Bounded waits: a loop of this many turns (each a PAUSE) is well over a
 * second on hardware and under TCG; a unit that has not answered by then
 * is broken. The host tests' fake answers at once or never.
 */
#ifdef VENEER_HOST_TEST
#define SPIN_LIMIT 20000u
#else
#define SPIN_LIMIT 20000000u
#endif

#define CMD_RING_BYTES (AMDVI_CMD_ENTRIES * AMDVI_CMD_BYTES)
#define EVT_RING_BYTES (AMDVI_EVT_ENTRIES * AMDVI_EVENT_BYTES)
#define CMD_RING_PAGES (CMD_RING_BYTES / PAGE_SIZE)
#define EVT_RING_PAGES (EVT_RING_BYTES / PAGE_SIZE)

struct amdvi_unit {
	const struct ivrs_unit *ivhd; /* in `ivrs` below */
	u64 base;		      /* MMIO registers */
	u64 efr;		      /* 0 without the register */
	bool has_efr;
	char name[32]; /* "AMD-Vi unit BB:DD.F" */
	spinlock_t lock;
	u64 cmd_hpa, evt_hpa;
	u32 cmd_tail;	 /* where the next command goes (bytes) */
	u32 cmd_head;	 /* the unit's head when last read */
	u64 sem_hpa;	 /* COMPLETION_WAIT store target */
	u64 sem_seq;	 /* the last value asked for */
	u64 control;	 /* what was written to the Control register */
	bool configured; /* registers written by enable() */
};

/*
 * The devices with an interrupt remapping table (irq_route), under
 * dt_lock: a page each (the table uses its first 1 KiB), pointed at by
 * the device's entry (and its alias's) while the device is attached.
 */
#define IRT_DEVICES 32
static struct amdvi_irt {
	bool in_use;
	u16 bdf;
	u64 hpa;
	u64 used[AMDVI_IRT_ENTRIES / 64];
} irts[IRT_DEVICES];

static struct ivrs_info ivrs;
static struct amdvi_unit units[IVRS_MAX_UNITS];
static u32 unit_count;
static bool enabled;
static spinlock_t dt_lock = SPINLOCK_INIT;
static u64 devtab_hpa, empty_root_hpa, sem_page_hpa;

static void relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* The compiler keeps stores in program order across this; x86 keeps
 * write-back stores and the uncached MMIO store after them in order. */
static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ---- pure encodings ---- */

void amdvi_dte_blocked(u64 dte[4], u64 empty_root)
{
	dte[0] = AMDVI_DTE_V | AMDVI_DTE_TV |
		 ((u64)AMDVI_MODE_4LEVEL << AMDVI_DTE_MODE_SHIFT) |
		 (empty_root & AMDVI_DTE_ROOT_MASK);
	dte[1] = 0; /* domain 0, SE = SA = 0: faults are logged */
	dte[2] = AMDVI_DTE_INTERRUPTS_BLOCKED;
	dte[3] = 0;
}

void amdvi_dte_attached(u64 dte[4], u64 root, u16 domain)
{
	dte[0] = AMDVI_DTE_V | AMDVI_DTE_TV |
		 ((u64)AMDVI_MODE_4LEVEL << AMDVI_DTE_MODE_SHIFT) |
		 (root & AMDVI_DTE_ROOT_MASK) | AMDVI_DTE_IR | AMDVI_DTE_IW;
	dte[1] = domain & AMDVI_DTE_DOMAIN_MASK;
	dte[2] = AMDVI_DTE_INTERRUPTS_BLOCKED;
	dte[3] = 0;
}

u32 amdvi_irte(u8 vector, u8 apic_id)
{
	return AMDVI_IRTE_REMAP_EN | (u32)apic_id << 8 | (u32)vector << 16;
}

u64 amdvi_dte_interrupts(u64 table, u32 entries)
{
	u64 len = 0;

	while ((2u << len) < entries && len < 11)
		len++;
	return AMDVI_DTE_IV | (len + 1) << AMDVI_DTE_INTTABLEN_SHIFT |
	       (table & AMDVI_DTE_INTTAB_MASK) |
	       (u64)AMDVI_INTCTL_REMAP << AMDVI_DTE_INTCTL_SHIFT;
}

u64 amdvi_devtab_reg(u64 hpa, u32 pages)
{
	/* 3.4.1: Size, bits 8:0, is the table's 4 KiB pages minus one. */
	return (hpa & AMDVI_BASE_ADDR_MASK) | ((pages - 1) & 0x1ff);
}

static u32 log2_u32(u32 v)
{
	u32 n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

u64 amdvi_ring_reg(u64 hpa, u32 entries)
{
	/* 3.4.2 / 3.4.3: Len, bits 59:56, is log2 of the entries (8..15). */
	return (hpa & AMDVI_BASE_ADDR_MASK) |
	       ((u64)log2_u32(entries) << AMDVI_LEN_SHIFT);
}

void amdvi_cmd_completion_wait(u64 cmd[2], u64 store_hpa, u64 data)
{
	/* 2.4.1: S=1 stores `data` at the 8-byte aligned address. */
	cmd[0] = (store_hpa & AMDVI_CW_ADDR_MASK) | AMDVI_CW_S |
		 ((u64)AMDVI_CMD_COMPLETION_WAIT << AMDVI_CMD_SHIFT);
	cmd[1] = data;
}

void amdvi_cmd_inv_devtab_entry(u64 cmd[2], u16 devid)
{
	/* 2.4.2: DeviceID in bits 15:0. */
	cmd[0] = devid | ((u64)AMDVI_CMD_INV_DEVTAB_ENTRY << AMDVI_CMD_SHIFT);
	cmd[1] = 0;
}

void amdvi_cmd_inv_interrupt_table(u64 cmd[2], u16 devid)
{
	/* 2.4.5: DeviceID in bits 15:0. */
	cmd[0] =
	    devid | ((u64)AMDVI_CMD_INV_INTERRUPT_TABLE << AMDVI_CMD_SHIFT);
	cmd[1] = 0;
}

void amdvi_cmd_inv_iommu_pages_all(u64 cmd[2], u16 domain)
{
	/* 2.4.3: PASID 19:0 = 0, DomainID 47:32; GN = PDE = 0; S = 1 with
	 * the all-ones address: every page of the domain. */
	cmd[0] = ((u64)domain << 32) |
		 ((u64)AMDVI_CMD_INV_IOMMU_PAGES << AMDVI_CMD_SHIFT);
	cmd[1] = AMDVI_INV_ALL_ADDRESS | AMDVI_INV_S;
}

void amdvi_cmd_inv_iommu_all(u64 cmd[2])
{
	/* 2.4.8: no operands. */
	cmd[0] = (u64)AMDVI_CMD_INV_IOMMU_ALL << AMDVI_CMD_SHIFT;
	cmd[1] = 0;
}

void amdvi_decode_event(const u64 ev[2], u16 unit_bdf, struct iommu_fault *f,
			u8 *code_out, u16 *domain_out)
{
	u8 code = (u8)(ev[0] >> AMDVI_EVENT_SHIFT);
	u16 devid = (u16)ev[0]; /* bits 15:0 in every device event */
	u16 domain = 0;

	f->bdf = devid;
	f->addr = ev[1];
	f->write = false;
	switch (code) {
	case AMDVI_EV_ILLEGAL_DEV_TABLE_ENTRY: /* 2.5.2 */
		f->write = (ev[0] & AMDVI_EVF_RW) != 0;
		f->reason = "illegal device table entry";
		break;
	case AMDVI_EV_IO_PAGE_FAULT: /* 2.5.3 */
		domain = (u16)(ev[0] >> 32);
		f->write = (ev[0] & AMDVI_EVF_RW) != 0;
		if (ev[0] & AMDVI_EVF_I) {
			/* An interrupt request refused by the entry's
			 * interrupt half (2.2.5): a write at its address. */
			f->write = true;
			f->reason = "interrupt blocked: I/O page fault on an "
				    "interrupt request";
		} else if (ev[0] & AMDVI_EVF_RZ)
			f->reason = "I/O page fault: reserved bit set in a "
				    "page table entry";
		else if (ev[0] & AMDVI_EVF_PR)
			f->reason = "I/O page fault: access not permitted";
		else
			f->reason = "I/O page fault: no translation (page "
				    "not present)";
		break;
	case AMDVI_EV_DEV_TAB_HARDWARE_ERROR: /* 2.5.4 */
		f->write = (ev[0] & AMDVI_EVF_RW) != 0;
		f->reason = "device table hardware error";
		break;
	case AMDVI_EV_PAGE_TAB_HARDWARE_ERROR: /* 2.5.5 */
		domain = (u16)(ev[0] >> 32);
		f->write = (ev[0] & AMDVI_EVF_RW) != 0;
		f->reason = "page table hardware error";
		break;
	case AMDVI_EV_ILLEGAL_COMMAND_ERROR: /* 2.5.6: addr = the command */
		f->bdf = unit_bdf;
		f->reason = "IOMMU: illegal command in the command buffer";
		break;
	case AMDVI_EV_COMMAND_HARDWARE_ERROR: /* 2.5.7 */
		f->bdf = unit_bdf;
		f->reason = "IOMMU: command buffer hardware error";
		break;
	case AMDVI_EV_IOTLB_INV_TIMEOUT: /* 2.5.8 */
		f->reason = "IOTLB invalidation timed out";
		break;
	case AMDVI_EV_INVALID_DEVICE_REQUEST: /* 2.5.9 */
		f->reason = "invalid device request";
		break;
	case 0:
		f->bdf = unit_bdf;
		f->reason = "IOMMU: empty event log entry";
		break;
	default:
		f->bdf = unit_bdf;
		f->reason = "IOMMU: event of a kind not decoded";
		break;
	}
	if (code_out)
		*code_out = code;
	if (domain_out)
		*domain_out = domain;
}

/* ---- which unit covers a device ---- */

static const struct ivrs_range *range_of(const struct ivrs_unit *u, u16 bdf)
{
	for (u32 i = 0; i < u->range_count; i++)
		if (bdf >= u->ranges[i].first && bdf <= u->ranges[i].last)
			return &u->ranges[i];
	return NULL;
}

int amdvi_find_unit(const struct ivrs_info *info, u16 bdf, u16 *alias)
{
	if (alias)
		*alias = bdf;
	for (u32 i = 0; i < info->unit_count; i++) {
		const struct ivrs_range *r = range_of(&info->units[i], bdf);

		if (!r)
			continue;
		if (alias && r->aliased)
			*alias = r->alias;
		return (int)i;
	}
	for (u32 i = 0; i < info->unit_count; i++)
		if (info->units[i].all)
			return (int)i;
	return -1;
}

/* ---- registers ---- */

static u64 rd(const struct amdvi_unit *u, u32 off)
{
#ifdef VENEER_HOST_TEST
	return amdvi_host_mmio_read(u->base, off);
#else
	return *(volatile u64 *)hpa_to_ptr(u->base + off);
#endif
}

static void wr(const struct amdvi_unit *u, u32 off, u64 v)
{
	barrier();
#ifdef VENEER_HOST_TEST
	amdvi_host_mmio_write(u->base, off, v);
#else
	*(volatile u64 *)hpa_to_ptr(u->base + off) = v;
#endif
}

static void bdf_name(char *buf, size_t len, u16 bdf)
{
	snformat(buf, len, "%02x:%02x.%x", IOMMU_BDF_BUS(bdf),
		 IOMMU_BDF_DEV(bdf), IOMMU_BDF_FN(bdf));
}

/* ---- the command buffer (2.4) ---- */

/* Appends one command; publishes the tail and waits for room when the
 * ring is full. Under the unit's lock. */
static int cmd_queue(struct amdvi_unit *u, const u64 cmd[2], char *err,
		     size_t errlen)
{
	u32 next = (u->cmd_tail + AMDVI_CMD_BYTES) % CMD_RING_BYTES;
	volatile u64 *slot;

	if (next == u->cmd_head) {
		u32 i;

		wr(u, AMDVI_MMIO_CMD_TAIL, u->cmd_tail);
		for (i = 0; i < SPIN_LIMIT; i++) {
			u->cmd_head = (u32)(rd(u, AMDVI_MMIO_CMD_HEAD) &
					    AMDVI_HEAD_TAIL_MASK);
			if (next != u->cmd_head)
				break;
			relax();
		}
		if (i == SPIN_LIMIT)
			return fail(
			    err, errlen,
			    "%s: the command buffer stays full (head "
			    "0x%x, tail 0x%x, status 0x%llx)",
			    u->name, u->cmd_head, u->cmd_tail,
			    (unsigned long long)rd(u, AMDVI_MMIO_STATUS));
	}
	slot = hpa_to_ptr(u->cmd_hpa + u->cmd_tail);
	slot[0] = cmd[0];
	slot[1] = cmd[1];
	u->cmd_tail = next;
	return 0;
}

/* COMPLETION_WAIT (2.4.1) with a store to the unit's word, then waits
 * for the store: every command queued before it has completed. */
static int cmd_sync(struct amdvi_unit *u, char *err, size_t errlen)
{
	volatile u64 *sem = hpa_to_ptr(u->sem_hpa);
	u64 seq = ++u->sem_seq;
	u64 cmd[2];

	amdvi_cmd_completion_wait(cmd, u->sem_hpa, seq);
	if (cmd_queue(u, cmd, err, errlen))
		return -1;
	wr(u, AMDVI_MMIO_CMD_TAIL, u->cmd_tail);
	for (u32 i = 0; i < SPIN_LIMIT; i++) {
		if (*sem == seq)
			return 0;
		relax();
	}
	return fail(err, errlen,
		    "%s: COMPLETION_WAIT did not complete (command head "
		    "0x%llx, tail 0x%x, status 0x%llx)",
		    u->name,
		    (unsigned long long)(rd(u, AMDVI_MMIO_CMD_HEAD) &
					 AMDVI_HEAD_TAIL_MASK),
		    u->cmd_tail, (unsigned long long)rd(u, AMDVI_MMIO_STATUS));
}

static int cmd_inv_devtab(struct amdvi_unit *u, u16 devid, char *err,
			  size_t errlen)
{
	u64 cmd[2];

	amdvi_cmd_inv_devtab_entry(cmd, devid);
	return cmd_queue(u, cmd, err, errlen);
}

/* The device's entry and whatever the unit cached of its interrupt
 * table (enable only: attach never changes the interrupt half). */
static int cmd_inv_device(struct amdvi_unit *u, u16 devid, char *err,
			  size_t errlen)
{
	u64 cmd[2];

	if (cmd_inv_devtab(u, devid, err, errlen))
		return -1;
	amdvi_cmd_inv_interrupt_table(cmd, devid);
	return cmd_queue(u, cmd, err, errlen);
}

static int cmd_inv_domain(struct amdvi_unit *u, u16 domain, char *err,
			  size_t errlen)
{
	u64 cmd[2];

	amdvi_cmd_inv_iommu_pages_all(cmd, domain);
	return cmd_queue(u, cmd, err, errlen);
}

/* ---- the device table ---- */

static volatile u64 *dte_ptr(u16 id)
{
	return (volatile u64 *)hpa_to_ptr(devtab_hpa +
					  (u64)id * AMDVI_DTE_BYTES);
}

/*
 * The upper qwords first, the first one (V, TV, Mode, the root, IR, IW)
 * last in one aligned 8-byte store: the unit never sees a valid entry with
 * half a root pointer. Entries are never made invalid (V=0 would let DMA
 * through untranslated).
 */
static void dte_write(u16 id, const u64 dte[4])
{
	volatile u64 *e = dte_ptr(id);

	e[3] = dte[3];
	e[2] = dte[2];
	e[1] = dte[1];
	barrier();
	e[0] = dte[0];
	barrier();
}

static u16 dte_domain(u16 id)
{
	return (u16)(dte_ptr(id)[1] & AMDVI_DTE_DOMAIN_MASK);
}

/* ---- enable ---- */

static void free_memory(void)
{
	for (u32 i = 0; i < unit_count; i++) {
		if (units[i].cmd_hpa)
			mm_free_pages(units[i].cmd_hpa, CMD_RING_PAGES);
		if (units[i].evt_hpa)
			mm_free_pages(units[i].evt_hpa, EVT_RING_PAGES);
		units[i].cmd_hpa = units[i].evt_hpa = 0;
	}
	if (devtab_hpa)
		mm_free_pages(devtab_hpa, AMDVI_DEVTAB_PAGES);
	if (empty_root_hpa)
		mm_free_pages(empty_root_hpa, 1);
	if (sem_page_hpa)
		mm_free_pages(sem_page_hpa, 1);
	devtab_hpa = empty_root_hpa = sem_page_hpa = 0;
}

static int alloc_memory(char *err, size_t errlen)
{
	devtab_hpa = mm_alloc_pages(AMDVI_DEVTAB_PAGES, PAGE_SIZE, MM_ANY);
	empty_root_hpa = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
	sem_page_hpa = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
	if (!devtab_hpa || !empty_root_hpa || !sem_page_hpa) {
		free_memory();
		return fail(err, errlen,
			    "AMD-Vi: no memory for the device table (2 MiB)");
	}
	for (u32 i = 0; i < unit_count; i++) {
		struct amdvi_unit *u = &units[i];

		u->cmd_hpa = mm_alloc_pages(CMD_RING_PAGES, PAGE_SIZE, MM_ANY);
		u->evt_hpa = mm_alloc_pages(EVT_RING_PAGES, PAGE_SIZE, MM_ANY);
		/* 64 bytes apart: one cache line per unit. */
		u->sem_hpa = sem_page_hpa + 64ull * i;
		if (!u->cmd_hpa || !u->evt_hpa) {
			free_memory();
			return fail(err, errlen,
				    "%s: no memory for its command buffer and "
				    "event log",
				    u->name);
		}
	}
	return 0;
}

/* Waits until the status bits `mask` are clear. */
static bool wait_status_clear(const struct amdvi_unit *u, u64 mask)
{
	for (u32 i = 0; i < SPIN_LIMIT; i++) {
		if (!(rd(u, AMDVI_MMIO_STATUS) & mask))
			return true;
		relax();
	}
	return false;
}

static void unit_off(struct amdvi_unit *u)
{
	wr(u, AMDVI_MMIO_CONTROL, 0);
	u->control = 0;
	u->configured = false;
}

static void all_off(void)
{
	for (u32 i = 0; i < unit_count; i++)
		if (units[i].configured)
			unit_off(&units[i]);
	enabled = false;
}

/* 3.4.4: the Control bits the IVHD flags ask for (5.2.2.1), with Coherent
 * always: the tables are in write-back memory that nothing flushes. */
static u64 control_from_ivhd(const struct ivrs_unit *ivhd)
{
	u64 c = AMDVI_CTRL_COHERENT;

	if (ivhd->flags & BIT(0))
		c |= AMDVI_CTRL_HT_TUN_EN;
	if (ivhd->flags & BIT(1))
		c |= BIT(8); /* PassPW */
	if (ivhd->flags & BIT(2))
		c |= BIT(9); /* ResPassPW */
	if (ivhd->flags & BIT(3))
		c |= BIT(11); /* Isoc */
	return c;
}

/* Turns a unit off (whatever firmware left on) and points it at the
 * device table, a fresh command buffer and event log; then on. */
static int unit_start(struct amdvi_unit *u, char *err, size_t errlen)
{
	u64 ctrl = control_from_ivhd(u->ivhd);

	u->configured = true; /* from here on, all_off() turns it off */
	if (rd(u, AMDVI_MMIO_CONTROL) &
	    (AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_CMD_BUF_EN |
	     AMDVI_CTRL_EVENT_LOG_EN))
		printk("veneer: iommu: %s was enabled by the firmware; "
		       "turning it off first\n",
		       u->name);
	wr(u, AMDVI_MMIO_CONTROL, 0);
	if (!wait_status_clear(u, AMDVI_STATUS_CMD_BUF_RUN |
				      AMDVI_STATUS_EVENT_LOG_RUN))
		return fail(err, errlen,
			    "%s: its command buffer or event log keeps running "
			    "after being disabled (status 0x%llx)",
			    u->name,
			    (unsigned long long)rd(u, AMDVI_MMIO_STATUS));

	/* The device table first, then the rings with their pointers at 0
	 * (3.4.1-3.4.3, 3.4.8-3.4.9), and the old status cleared. */
	wr(u, AMDVI_MMIO_DEVTAB,
	   amdvi_devtab_reg(devtab_hpa, AMDVI_DEVTAB_PAGES));
	wr(u, AMDVI_MMIO_CMDBUF, amdvi_ring_reg(u->cmd_hpa, AMDVI_CMD_ENTRIES));
	wr(u, AMDVI_MMIO_EVTLOG, amdvi_ring_reg(u->evt_hpa, AMDVI_EVT_ENTRIES));
	wr(u, AMDVI_MMIO_CMD_HEAD, 0);
	wr(u, AMDVI_MMIO_CMD_TAIL, 0);
	wr(u, AMDVI_MMIO_EVT_HEAD, 0);
	wr(u, AMDVI_MMIO_EVT_TAIL, 0);
	wr(u, AMDVI_MMIO_STATUS,
	   AMDVI_STATUS_EVENT_OVERFLOW | AMDVI_STATUS_EVENT_LOG_INT |
	       AMDVI_STATUS_COM_WAIT_INT);
	u->cmd_head = u->cmd_tail = 0;

	ctrl |= AMDVI_CTRL_CMD_BUF_EN | AMDVI_CTRL_EVENT_LOG_EN;
	wr(u, AMDVI_MMIO_CONTROL, ctrl);
	ctrl |= AMDVI_CTRL_IOMMU_EN;
	wr(u, AMDVI_MMIO_CONTROL, ctrl);
	u->control = ctrl;
	return 0;
}

/* Every device the IVHD covers (ranges, their aliases, special devices;
 * everything for an All entry): INVALIDATE_DEVTAB_ENTRY and
 * INVALIDATE_INTERRUPT_TABLE each. */
static int inv_covered(struct amdvi_unit *u, char *err, size_t errlen)
{
	const struct ivrs_unit *h = u->ivhd;

	if (h->all) {
		for (u32 id = 0; id < AMDVI_DTE_COUNT; id++)
			if (cmd_inv_device(u, (u16)id, err, errlen))
				return -1;
		return 0;
	}
	for (u32 i = 0; i < h->range_count; i++) {
		const struct ivrs_range *r = &h->ranges[i];

		for (u32 id = r->first; id <= r->last; id++)
			if (cmd_inv_device(u, (u16)id, err, errlen))
				return -1;
		if (r->aliased && (r->alias < r->first || r->alias > r->last) &&
		    cmd_inv_device(u, r->alias, err, errlen))
			return -1;
	}
	for (u32 i = 0; i < h->special_count; i++)
		if (cmd_inv_device(u, h->specials[i].bdf, err, errlen))
			return -1;
	return 0;
}

/* Whatever the unit cached (device table, interrupt tables, I/O pages)
 * is invalidated. */
static int unit_invalidate_all(struct amdvi_unit *u, char *err, size_t errlen)
{
	int rc = 0;

	spin_lock(&u->lock);
	if (u->efr & AMDVI_EFR_IA_SUP) {
		u64 cmd[2];

		amdvi_cmd_inv_iommu_all(cmd);
		rc = cmd_queue(u, cmd, err, errlen);
	} else {
		rc = inv_covered(u, err, errlen);
	}
	/* Domain 0 (blocked) and every domain iommu.c hands out. */
	for (u32 d = 0; !rc && d <= IOMMU_MAX_DOMAINS; d++)
		rc = cmd_inv_domain(u, (u16)d, err, errlen);
	if (!rc)
		rc = cmd_sync(u, err, errlen);
	spin_unlock(&u->lock);
	return rc;
}

static int amdvi_enable(char *err, size_t errlen)
{
	u64 blocked[4];

	if (enabled)
		return 0;
	if (!unit_count)
		return fail(err, errlen, "AMD-Vi: no unit was probed");
	if (alloc_memory(err, errlen))
		return -1;

	amdvi_dte_blocked(blocked, empty_root_hpa);
	for (u32 id = 0; id < AMDVI_DTE_COUNT; id++)
		dte_write((u16)id, blocked);

	for (u32 i = 0; i < unit_count; i++) {
		if (unit_start(&units[i], err, errlen) ||
		    unit_invalidate_all(&units[i], err, errlen)) {
			all_off();
			free_memory();
			return -1;
		}
	}
	enabled = true;
	return 0;
}

/* ---- interrupt remapping tables ---- */

/* bdf's table (dt_lock held), or NULL. */
static struct amdvi_irt *irt_of(u16 bdf)
{
	for (u32 i = 0; i < IRT_DEVICES; i++)
		if (irts[i].in_use && irts[i].bdf == bdf)
			return &irts[i];
	return NULL;
}

/* The device's entry and its alias's with `dte2` as the interrupt half
 * (dt_lock), the unit told of both (unit lock taken here). */
static int set_interrupts(struct amdvi_unit *u, u16 bdf, u16 alias, u64 dte2,
			  char *err, size_t errlen)
{
	u64 dte[4];
	int rc;

	for (u32 k = 0; k < 2; k++) {
		u16 id = k ? alias : bdf;
		volatile u64 *e = dte_ptr(id);

		if (k && alias == bdf)
			break;
		for (u32 q = 0; q < 4; q++)
			dte[q] = e[q];
		dte[2] = dte2;
		dte_write(id, dte);
	}
	spin_lock(&u->lock);
	rc = cmd_inv_device(u, bdf, err, errlen);
	if (!rc && alias != bdf)
		rc = cmd_inv_device(u, alias, err, errlen);
	if (!rc)
		rc = cmd_sync(u, err, errlen);
	spin_unlock(&u->lock);
	return rc;
}

/* INVALIDATE_INTERRUPT_TABLE for bdf and its alias, queued (u->lock). */
static int queue_inv_table(struct amdvi_unit *u, u16 bdf, u16 alias, char *err,
			   size_t errlen)
{
	u64 cmd[2];
	int rc;

	amdvi_cmd_inv_interrupt_table(cmd, bdf);
	rc = cmd_queue(u, cmd, err, errlen);
	if (!rc && alias != bdf) {
		amdvi_cmd_inv_interrupt_table(cmd, alias);
		rc = cmd_queue(u, cmd, err, errlen);
	}
	return rc;
}

/* The unit's cache of bdf's table (and its alias's) dropped. */
static int inv_table(struct amdvi_unit *u, u16 bdf, u16 alias, char *err,
		     size_t errlen)
{
	int rc;

	spin_lock(&u->lock);
	rc = queue_inv_table(u, bdf, alias, err, errlen);
	if (!rc)
		rc = cmd_sync(u, err, errlen);
	spin_unlock(&u->lock);
	return rc;
}

static int amdvi_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
			   struct iommu_msi *msg, char *err, size_t errlen)
{
	struct amdvi_irt *t;
	struct amdvi_unit *u;
	char name[16];
	u32 h = *handle;
	u16 alias;
	bool fresh = false;
	int ui, rc;

	bdf_name(name, sizeof(name), bdf);
	ui = amdvi_find_unit(&ivrs, bdf, &alias);
	if (ui < 0 || !enabled)
		return fail(err, errlen,
			    "AMD-Vi: no unit remaps device %s's interrupts",
			    name);
	if (apic_id > 0xff)
		return fail(err, errlen,
			    "AMD-Vi: APIC ID %u needs the 128-bit entry "
			    "format, which Veneer does not use",
			    apic_id);
	u = &units[ui];
	spin_lock(&dt_lock);
	t = irt_of(bdf);
	/* A handle must be one the device's table holds: none yet, none. */
	if (h != IOMMU_NO_IRQ && (!t || h >= AMDVI_IRT_ENTRIES ||
				  !(t->used[h / 64] & BIT(h % 64)))) {
		spin_unlock(&dt_lock);
		return fail(err, errlen,
			    "AMD-Vi: interrupt entry %u is not device %s's", h,
			    name);
	}
	for (u32 i = 0; !t && i < IRT_DEVICES; i++)
		if (!irts[i].in_use) {
			t = &irts[i];
			memset(t, 0, sizeof(*t));
			t->in_use = true;
			t->bdf = bdf;
			t->hpa = mm_alloc_page(); /* zeroed: none valid */
			fresh = true;
		}
	if (!t) {
		spin_unlock(&dt_lock);
		return fail(err, errlen,
			    "AMD-Vi: no interrupt table for device %s: %u "
			    "devices have one",
			    name, IRT_DEVICES);
	}
	if (h == IOMMU_NO_IRQ) {
		for (u32 i = 0; i < AMDVI_IRT_ENTRIES && h == IOMMU_NO_IRQ; i++)
			if (!(t->used[i / 64] & BIT(i % 64)))
				h = i;
		if (h == IOMMU_NO_IRQ) {
			spin_unlock(&dt_lock);
			return fail(err, errlen,
				    "AMD-Vi: device %s uses all %u interrupt "
				    "entries",
				    name, AMDVI_IRT_ENTRIES);
		}
		t->used[h / 64] |= BIT(h % 64);
	}
	((volatile u32 *)hpa_to_ptr(t->hpa))[h] =
	    amdvi_irte(vector, (u8)apic_id);
	barrier();
	if (fresh)
		rc = set_interrupts(
		    u, bdf, alias,
		    amdvi_dte_interrupts(t->hpa, AMDVI_IRT_ENTRIES), err,
		    errlen);
	else
		rc = inv_table(u, bdf, alias, err, errlen);
	spin_unlock(&dt_lock);
	*handle = h;
	msg->addr = 0xfee00000ull | (u64)apic_id << 12;
	msg->data = h; /* 10:0, the entry; 10:8 (fixed) clear */
	return rc;
}

static void amdvi_irq_unroute(u16 bdf, u32 handle)
{
	struct amdvi_irt *t;
	char err[160];
	u16 alias;
	int ui = amdvi_find_unit(&ivrs, bdf, &alias);

	if (ui < 0 || handle >= AMDVI_IRT_ENTRIES)
		return;
	spin_lock(&dt_lock);
	t = irt_of(bdf);
	if (t && (t->used[handle / 64] & BIT(handle % 64))) {
		((volatile u32 *)hpa_to_ptr(t->hpa))[handle] = 0;
		t->used[handle / 64] &= ~BIT(handle % 64);
		barrier();
		if (inv_table(&units[ui], bdf, alias, err, sizeof(err)))
			printk("veneer: iommu: %s\n", err);
	}
	spin_unlock(&dt_lock);
}

/* ---- attach, flush ---- */

static int amdvi_attach(u16 bdf, struct iommu_domain *dom, char *err,
			size_t errlen)
{
	char name[16];
	u16 alias, old_dev, old_alias;
	struct amdvi_irt *irt;
	u64 dte[4];
	struct amdvi_unit *u;
	int ui, rc = 0;

	bdf_name(name, sizeof(name), bdf);
	ui = amdvi_find_unit(&ivrs, bdf, &alias);
	if (ui < 0)
		return fail(err, errlen,
			    "AMD-Vi: no unit's IVHD covers device %s", name);
	if (!enabled)
		return fail(err, errlen, "AMD-Vi: not enabled");
	if (dom && (!dom->id || !dom->pt.root ||
		    (dom->pt.root & ~AMDVI_DTE_ROOT_MASK)))
		return fail(err, errlen,
			    "AMD-Vi: domain %u (device %s) has no usable "
			    "page table or domain ID",
			    dom->id, name);
	u = &units[ui];

	if (dom)
		amdvi_dte_attached(dte, dom->pt.root, dom->id);
	else
		amdvi_dte_blocked(dte, empty_root_hpa);

	spin_lock(&dt_lock);
	irt = irt_of(bdf);
	/* Attached, it keeps the interrupt table irq_route gave it; blocked,
	 * it loses it (freed below, once the unit forgot it). */
	if (irt && dom)
		dte[2] = amdvi_dte_interrupts(irt->hpa, AMDVI_IRT_ENTRIES);
	old_dev = dte_domain(bdf);
	old_alias = dte_domain(alias);
	dte_write(bdf, dte);
	if (alias != bdf)
		dte_write(alias, dte);

	spin_lock(&u->lock);
	rc = cmd_inv_devtab(u, bdf, err, errlen);
	if (!rc && alias != bdf)
		rc = cmd_inv_devtab(u, alias, err, errlen);
	if (!rc && dom)
		rc = cmd_inv_domain(u, dom->id, err, errlen);
	if (!rc && (!dom || old_dev != dom->id))
		rc = cmd_inv_domain(u, old_dev, err, errlen);
	if (!rc && old_alias != old_dev && (!dom || old_alias != dom->id))
		rc = cmd_inv_domain(u, old_alias, err, errlen);
	if (!rc && irt && !dom)
		rc = queue_inv_table(u, bdf, alias, err, errlen);
	if (!rc)
		rc = cmd_sync(u, err, errlen);
	spin_unlock(&u->lock);
	if (!rc && irt && !dom) {
		mm_free_pages(irt->hpa, 1);
		memset(irt, 0, sizeof(*irt));
	}
	spin_unlock(&dt_lock);
	return rc;
}

static void amdvi_flush_domain(struct iommu_domain *dom)
{
	char err[160];

	if (!enabled || !dom)
		return;
	for (u32 i = 0; i < unit_count; i++) {
		struct amdvi_unit *u = &units[i];
		int rc;

		spin_lock(&u->lock);
		rc = cmd_inv_domain(u, dom->id, err, sizeof(err));
		if (!rc)
			rc = cmd_sync(u, err, sizeof(err));
		spin_unlock(&u->lock);
		if (rc)
			printk("veneer: iommu: flushing domain %u failed: %s\n",
			       dom->id, err);
	}
}

/* ---- the event log (2.5) ---- */

/*
 * 2.5.1 / 3.4.10: after an overflow the unit writes no events until the
 * log is restarted: EventLogEn off, wait for EventLogRun to clear,
 * EventOverflow cleared (W1C), EventLogEn on again.
 */
static void evt_restart(struct amdvi_unit *u)
{
	wr(u, AMDVI_MMIO_CONTROL, u->control & ~AMDVI_CTRL_EVENT_LOG_EN);
	if (!wait_status_clear(u, AMDVI_STATUS_EVENT_LOG_RUN))
		printk("veneer: iommu: %s: event log keeps running after "
		       "being disabled\n",
		       u->name);
	wr(u, AMDVI_MMIO_STATUS,
	   AMDVI_STATUS_EVENT_OVERFLOW | AMDVI_STATUS_EVENT_LOG_INT);
	wr(u, AMDVI_MMIO_CONTROL, u->control);
	printk("veneer: iommu: %s: event log overflowed, events were lost; "
	       "restarted\n",
	       u->name);
}

static u32 unit_poll(struct amdvi_unit *u,
		     void (*report)(const struct iommu_fault *f))
{
	u32 head, tail, n = 0;
	u64 status;

	head = (u32)(rd(u, AMDVI_MMIO_EVT_HEAD) & AMDVI_HEAD_TAIL_MASK);
	tail = (u32)(rd(u, AMDVI_MMIO_EVT_TAIL) & AMDVI_HEAD_TAIL_MASK);
	head %= EVT_RING_BYTES;
	tail %= EVT_RING_BYTES;
	while (head != tail) {
		volatile u64 *e = hpa_to_ptr(u->evt_hpa + head);
		struct iommu_fault f;
		u64 ev[2];

		/* The unit may move the tail before the entry is in memory:
		 * an entry still 0 is waited for, briefly. Entries are
		 * zeroed once read. */
		for (u32 i = 0; i < 1000; i++) {
			ev[0] = e[0];
			ev[1] = e[1];
			if (ev[0] >> AMDVI_EVENT_SHIFT)
				break;
			relax();
		}
		amdvi_decode_event(ev, u->ivhd->bdf, &f, NULL, NULL);
		if (report)
			report(&f);
		n++;
		e[0] = 0;
		e[1] = 0;
		head = (head + AMDVI_EVENT_BYTES) % EVT_RING_BYTES;
	}
	if (n)
		wr(u, AMDVI_MMIO_EVT_HEAD, head);

	status = rd(u, AMDVI_MMIO_STATUS);
	if (status & AMDVI_STATUS_EVENT_OVERFLOW)
		evt_restart(u);
	else if (status & AMDVI_STATUS_EVENT_LOG_INT)
		wr(u, AMDVI_MMIO_STATUS, AMDVI_STATUS_EVENT_LOG_INT);
	return n;
}

static u32 amdvi_poll_faults(void (*report)(const struct iommu_fault *f))
{
	u32 n = 0;

	if (!enabled)
		return 0;
	for (u32 i = 0; i < unit_count; i++) {
		spin_lock(&units[i].lock);
		n += unit_poll(&units[i], report);
		spin_unlock(&units[i].lock);
	}
	return n;
}

#ifdef VENEER_HOST_TEST
void amdvi_host_reset(void)
{
	all_off();
	free_memory();
	unit_count = 0;
}
#endif

/* ---- probe ---- */

static const struct iommu_ops amdvi_ops = {
    .name = "AMD-Vi",
    .fmt = &pt_format_amdvi,
    .enable = amdvi_enable,
    .attach = amdvi_attach,
    .flush_domain = amdvi_flush_domain,
    .poll_faults = amdvi_poll_faults,
    .irq_route = amdvi_irq_route,
    .irq_unroute = amdvi_irq_unroute,
};

/* The EFR exists when the IVHD carries its image (types 11h, 40h) or the
 * capability header says so (3.3.1 EFRSup). */
static bool unit_has_efr(const struct ivrs_unit *h)
{
	u32 cap;

	if (h->type == IVRS_IVHD_11 || h->type == IVRS_IVHD_40)
		return true;
	if (!h->cap_offset)
		return false;
	cap = pci_config_read32(h->bdf, h->cap_offset);
	return cap != 0xffffffffu && (cap & AMDVI_CAP_EFR_SUP);
}

const struct iommu_ops *amdvi_probe(const struct ivrs_info *info, char *err,
				    size_t errlen)
{
	if (enabled) {
		fail(err, errlen, "AMD-Vi: already enabled");
		return NULL;
	}
	unit_count = 0;
	if (!info || !info->unit_count) {
		fail(err, errlen, "AMD-Vi: the IVRS describes no IOMMU");
		return NULL;
	}
	for (u32 i = 0; i < info->unit_count && i < IVRS_MAX_UNITS; i++) {
		const struct ivrs_unit *h = &info->units[i];
		char name[16];

		bdf_name(name, sizeof(name), h->bdf);
		if (h->segment) {
			fail(err, errlen,
			     "AMD-Vi unit %s: PCI segment %u is not supported "
			     "(segment 0 only)",
			     name, h->segment);
			return NULL;
		}
		if (!h->base) {
			fail(err, errlen,
			     "AMD-Vi unit %s: the IVHD gives no register base",
			     name);
			return NULL;
		}
		if (!IS_ALIGNED(h->base, AMDVI_MMIO_SIZE)) {
			fail(err, errlen,
			     "AMD-Vi unit %s: register base 0x%llx is not "
			     "16 KiB aligned",
			     name, (unsigned long long)h->base);
			return NULL;
		}
		if (h->base >= GiB(4) || h->base + AMDVI_MMIO_SIZE > GiB(4)) {
			fail(err, errlen,
			     "AMD-Vi unit %s: register base 0x%llx is not "
			     "below 4 GiB, where device memory is mapped",
			     name, (unsigned long long)h->base);
			return NULL;
		}
	}

	memcpy(&ivrs, info, sizeof(ivrs));
	memset(units, 0, sizeof(units));
	for (u32 i = 0; i < ivrs.unit_count && i < IVRS_MAX_UNITS; i++) {
		struct amdvi_unit *u = &units[i];
		const struct ivrs_unit *h = &ivrs.units[i];
		char name[16];

		bdf_name(name, sizeof(name), h->bdf);
		u->ivhd = h;
		u->base = h->base;
		snformat(u->name, sizeof(u->name), "AMD-Vi unit %s", name);
		u->lock = (spinlock_t)SPINLOCK_INIT;
		u->has_efr = unit_has_efr(h);
		u->efr = u->has_efr ? rd(u, AMDVI_MMIO_EFR) : 0;
		printk("veneer: iommu: %s at 0x%llx: %u device ranges, "
		       "extended features 0x%llx\n",
		       u->name, (unsigned long long)h->base,
		       h->range_count + (h->all ? 1 : 0),
		       (unsigned long long)u->efr);
		unit_count = i + 1;
	}
	return &amdvi_ops;
}
