// SPDX-License-Identifier: MIT
/* A host PCI function on a guest's bus: core/vdev/vpassthru.h. */
#include "core/vdev/vpassthru.h"

#include "arch/x86/traps.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"

/* Command bits that reach the host function (PCI 3.0, 6.2.2). */
#define FORWARDED_COMMAND                                                      \
	(VPCI_CMD_MEMORY | VPCI_CMD_BUS_MASTER | VPCI_CMD_INTX_DISABLE)

/* MSI capability (PCI 3.0, 6.8.1): Message Control is the upper half of
 * its first dword; the 64-bit layout has the data at 0x0c. */
#define MSI_CONTROL   0x02
#define MSI_ENABLE    0x0001
#define MSI_64BIT     0x0080
#define MSI_MME	      0x0070
#define MSI_ADDR_LO   0x04
#define MSI_ADDR_HI   0x08
#define MSI_DATA_32   0x08
#define MSI_DATA_64   0x0c
#define MSI_CAP_BYTES 0x0e
/* MSI-X capability (6.8.2): Message Control, Table and PBA Offset/BIR;
 * table entries of 16 bytes: address low, high, data, vector control. */
#define MSIX_CONTROL	 0x02
#define MSIX_ENABLE	 0x8000
#define MSIX_FUNC_MASK	 0x4000
#define MSIX_SIZE_MASK	 0x07ff /* Table Size - 1 */
#define MSIX_TABLE	 0x04
#define MSIX_PBA	 0x08
#define MSIX_BIR_MASK	 0x7
#define MSIX_CAP_BYTES	 0x0c
#define MSIX_ENTRY_BYTES 16
#define MSIX_ENTRY_DATA	 0x08
#define MSIX_ENTRY_CTRL	 0x0c
#define MSIX_CTRL_MASKED 0x1

static void say(struct vpassthru *pt, const char *why, u32 index)
{
	if (pt->warned)
		return;
	pt->warned = true;
	printk("veneer: guest %s: pci %02x:%02x.%x: its interrupt %u is not "
	       "delivered: %s\n",
	       pt->host.guest, PCI_BUS(pt->host_bdf), PCI_DEV(pt->host_bdf),
	       PCI_FUNC(pt->host_bdf), index, why);
}

/* Interrupt context: note it, tell the platform. */
static void vector_fired(void *ctx)
{
	struct vpassthru_vector *v = ctx;
	struct vpassthru *pt = v->pt;

	__atomic_or_fetch(&pt->pending, 1u << v->index, __ATOMIC_SEQ_CST);
	pt->host.irq(pt->host.ctx);
}

/* The host side of vector v: a host vector and the message the function
 * sends for it. False (said once) when there is none to be had. */
static bool vector_ready(struct vpassthru *pt, struct vpassthru_vector *v)
{
	struct iommu_msi msg;
	char why[160];

	if (v->routed)
		return true;
	if (v->host_vector < 0)
		v->host_vector = host_irq_alloc(vector_fired, v);
	if (v->host_vector < 0) {
		say(pt, "every host vector for device interrupts is taken",
		    v->index);
		return false;
	}
	if (iommu_irq_route(pt->host_bdf, (u8)v->host_vector,
			    pt->host.irq_apic(pt->host.ctx), &v->handle, &msg,
			    why, sizeof(why))) {
		say(pt, why, v->index);
		return false;
	}
	v->host_addr = msg.addr;
	v->host_data = msg.data;
	v->routed = true;
	return true;
}

static bool msix_on(const struct vpassthru *pt)
{
	return pt->msix_cap &&
	       (vpci_func_get(&pt->pci, pt->msix_cap + MSIX_CONTROL, 2) &
		MSIX_ENABLE);
}

static bool msi_on(const struct vpassthru *pt)
{
	return !msix_on(pt) && pt->msi_cap &&
	       (vpci_func_get(&pt->pci, pt->msi_cap + MSI_CONTROL, 2) &
		MSI_ENABLE);
}

/* Whether the guest masks MSI-X entry i now (its own bit or the
 * function's). */
static bool msix_masked(const struct vpassthru *pt, u32 i)
{
	return (vpci_func_get(&pt->pci, pt->msix_cap + MSIX_CONTROL, 2) &
		MSIX_FUNC_MASK) ||
	       (pt->vec[i].ctrl & MSIX_CTRL_MASKED);
}

/* The host function's MSI-X table entry i. */
static volatile u32 *host_entry(const struct vpassthru *pt, u32 i)
{
	return (volatile u32 *)(uintptr_t)(pt->bar[pt->msix_bir].host +
					   pt->msix_offset +
					   i * MSIX_ENTRY_BYTES);
}

/* Host entry i as the guest's asks: Veneer's message, unmasked while the
 * guest's is enabled and unmasked; masked otherwise. */
static void msix_sync_entry(struct vpassthru *pt, u32 i)
{
	volatile u32 *e = host_entry(pt, i);
	struct vpassthru_vector *v = &pt->vec[i];
	bool live = msix_on(pt) && !msix_masked(pt, i);

	if (live && vector_ready(pt, v)) {
		e[MSIX_ENTRY_CTRL / 4] = MSIX_CTRL_MASKED;
		e[0] = (u32)v->host_addr;
		e[1] = (u32)(v->host_addr >> 32);
		e[MSIX_ENTRY_DATA / 4] = v->host_data;
		e[MSIX_ENTRY_CTRL / 4] = 0;
	} else {
		e[MSIX_ENTRY_CTRL / 4] = MSIX_CTRL_MASKED;
	}
	/* Unmasked with one held: it goes now (PCI 3.0 6.8.3.5). */
	if (!msix_masked(pt, i) && (pt->held & (1u << i)))
		pt->host.irq(pt->host.ctx);
}

/* The host function's MSI and MSI-X enables and messages, as the guest's
 * view now asks. */
static void sync_interrupts(struct vpassthru *pt)
{
	u16 bdf = pt->host_bdf;

	if (pt->host_msix_cap) {
		u16 at = pt->host_msix_cap;
		u32 dw = pci_config_read32(bdf, at);
		bool on = msix_on(pt);

		if (on) {
			/* Enabled with the whole function masked, then
			 * each entry, then the function unmasked. */
			pci_config_write32(
			    bdf, at,
			    dw | (u32)(MSIX_ENABLE | MSIX_FUNC_MASK) << 16);
			for (u32 i = 0; i < pt->msix_size; i++)
				msix_sync_entry(pt, i);
			/* Those not offered stay masked whatever the
			 * function's last user left there. */
			for (u32 i = pt->msix_size; i < pt->host_msix_size; i++)
				host_entry(pt, i)[MSIX_ENTRY_CTRL / 4] =
				    MSIX_CTRL_MASKED;
			pci_config_write32(bdf, at,
					   (dw | (u32)MSIX_ENABLE << 16) &
					       ~((u32)MSIX_FUNC_MASK << 16));
		} else {
			pci_config_write32(bdf, at,
					   dw & ~((u32)MSIX_ENABLE << 16));
		}
	}
	if (pt->host_msi_cap) {
		u16 at = pt->host_msi_cap;
		u32 dw = pci_config_read32(bdf, at) &
			 ~((u32)(MSI_ENABLE | MSI_MME) << 16);
		struct vpassthru_vector *v = &pt->vec[0];

		if (msi_on(pt) && vector_ready(pt, v)) {
			pci_config_write32(bdf, at + MSI_ADDR_LO,
					   (u32)v->host_addr);
			if (pt->host_msi64) {
				pci_config_write32(bdf, at + MSI_ADDR_HI,
						   (u32)(v->host_addr >> 32));
				pci_config_write32(bdf, at + MSI_DATA_64,
						   v->host_data);
			} else {
				pci_config_write32(bdf, at + MSI_DATA_32,
						   v->host_data);
			}
			dw |= (u32)MSI_ENABLE << 16;
		}
		pci_config_write32(bdf, at, dw);
	}
}

/* The guest wrote configuration space: follow its command and BARs. */
static void config_written(struct vpci_func *f, u8 offset, u8 size)
{
	struct vpassthru *pt = f->opaque;
	u32 host = pci_config_read32(pt->host_bdf, PCI_CFG_COMMAND);
	u32 guest = vpci_func_get(f, VPCI_CFG_COMMAND, 2);
	bool moved = false;

	(void)offset;
	(void)size;
	/* The command register only; the status half is write-1-to-clear
	 * and left alone. */
	host = (host & 0xffff & ~(u32)FORWARDED_COMMAND) |
	       (guest & FORWARDED_COMMAND);
	pci_config_write32(pt->host_bdf, PCI_CFG_COMMAND, host);
	for (u32 i = 0; i < VPCI_BARS; i++) {
		u64 now = pt->bar[i].host ? vpci_func_bar(f, i) : VPCI_BAR_NONE;

		if (now != pt->bar[i].mapped) {
			pt->bar[i].mapped = now;
			moved = true;
		}
	}
	if (moved)
		pt->host.remap(pt->host.ctx);
	sync_interrupts(pt);
}

/* The guest's MSI capability: one message, 64-bit, no masking. */
static bool offer_msi(struct vpassthru *pt, const struct pci_device *dev)
{
	u8 at;

	if (!dev->msi_cap)
		return true;
	at = vpci_func_add_cap(&pt->pci, PCI_CAP_ID_MSI, MSI_CAP_BYTES);
	if (!at)
		return false;
	pt->msi_cap = at;
	pt->host_msi_cap = dev->msi_cap;
	pt->host_msi64 =
	    (pci_config_read32(dev->bdf, dev->msi_cap) >> 16) & MSI_64BIT;
	vpci_func_put(&pt->pci, at + MSI_CONTROL, MSI_64BIT, 2);
	vpci_func_set_wmask(&pt->pci, at + MSI_CONTROL, MSI_ENABLE, 2);
	vpci_func_set_wmask(&pt->pci, at + MSI_ADDR_LO, 0xfffffffcu, 4);
	vpci_func_set_wmask(&pt->pci, at + MSI_ADDR_HI, 0xffffffffu, 4);
	vpci_func_set_wmask(&pt->pci, at + MSI_DATA_64, 0xffff, 2);
	return true;
}

/* The guest's MSI-X capability, when its table and PBA lie in memory
 * BARs the guest sees. */
static bool offer_msix(struct vpassthru *pt, const struct pci_device *dev)
{
	u32 table, pba;
	u8 at;

	if (!dev->msix_cap || !dev->msix_table_size)
		return true;
	table = pci_config_read32(dev->bdf, dev->msix_cap + MSIX_TABLE);
	pba = pci_config_read32(dev->bdf, dev->msix_cap + MSIX_PBA);
	pt->msix_bir = table & MSIX_BIR_MASK;
	pt->msix_offset = table & ~(u32)MSIX_BIR_MASK;
	pt->pba_bir = pba & MSIX_BIR_MASK;
	pt->pba_offset = pba & ~(u32)MSIX_BIR_MASK;
	/* Known even when not offered: its pages are never the guest's. */
	pt->host_msix_size = dev->msix_table_size;
	pt->msix_size = dev->msix_table_size < VPASSTHRU_VECTORS
			    ? dev->msix_table_size
			    : VPASSTHRU_VECTORS;
	if (pt->msix_bir >= VPCI_BARS || pt->pba_bir >= VPCI_BARS ||
	    !pt->bar[pt->msix_bir].host || !pt->bar[pt->pba_bir].host ||
	    (u64)pt->msix_offset +
		    (u64)dev->msix_table_size * MSIX_ENTRY_BYTES >
		pt->bar[pt->msix_bir].size ||
	    (u64)pt->pba_offset + 8 > pt->bar[pt->pba_bir].size)
		return true; /* not where the guest could reach it */
	at = vpci_func_add_cap(&pt->pci, PCI_CAP_ID_MSIX, MSIX_CAP_BYTES);
	if (!at)
		return false;
	pt->msix_cap = at;
	pt->host_msix_cap = dev->msix_cap;
	vpci_func_put(&pt->pci, at + MSIX_CONTROL, pt->msix_size - 1u, 2);
	vpci_func_put(&pt->pci, at + MSIX_TABLE, table, 4);
	vpci_func_put(&pt->pci, at + MSIX_PBA, pba, 4);
	vpci_func_set_wmask(&pt->pci, at + MSIX_CONTROL,
			    MSIX_ENABLE | MSIX_FUNC_MASK, 2);
	return true;
}

bool vpassthru_init(struct vpassthru *pt, const struct pci_device *dev, u8 slot,
		    u64 *next_base, u64 limit,
		    const struct vpassthru_host *host, char *err, size_t errlen)
{
	u32 subsys = pci_config_read32(dev->bdf, VPCI_CFG_SUBSYS_VENDOR);
	const struct vpci_ids ids = {
	    .vendor = dev->vendor,
	    .device = dev->device,
	    .subsys_vendor = (u16)subsys,
	    .subsys = (u16)(subsys >> 16),
	    .class_code = (u32)dev->class_base << 16 |
			  (u32)dev->class_sub << 8 | dev->prog_if,
	    .revision = dev->revision,
	    .intr_pin = dev->irq_pin <= 4 ? dev->irq_pin : 0,
	    .command_mask = FORWARDED_COMMAND,
	};

	memset(pt, 0, sizeof(*pt));
	pt->host_bdf = dev->bdf;
	pt->slot = slot;
	pt->host = *host;
	for (u32 i = 0; i < VPASSTHRU_VECTORS; i++)
		pt->vec[i] = (struct vpassthru_vector){
		    .pt = pt,
		    .index = (u8)i,
		    .ctrl = MSIX_CTRL_MASKED, /* 6.8.2.9: masked at reset */
		    .host_vector = -1,
		    .handle = IOMMU_NO_IRQ,
		};
	vpci_func_init(&pt->pci, &ids, config_written, pt);
	for (u32 i = 0; i < dev->bar_count && i < VPCI_BARS; i++) {
		const struct pci_bar *b = &dev->bars[i];
		bool is64 = b->kind == PCI_BAR_MEM64;
		u64 size = b->size < PAGE_SIZE ? PAGE_SIZE : b->size;
		u64 base = ALIGN_UP(*next_base, size);

		pt->bar[i].mapped = VPCI_BAR_NONE;
		pt->bar[i].direct = VPCI_BAR_NONE;
		if (b->kind != PCI_BAR_MEM32 && !is64)
			continue; /* I/O BARs and upper halves */
		/* A BAR smaller than a page still gets a page of the guest's
		 * window (the size the message names); accesses past the host
		 * BAR's end are refused. */
		if (base + size > limit ||
		    !vpci_func_add_bar(&pt->pci, i, size, is64, base)) {
			snformat(err, errlen,
				 "pci %02x:%02x.%x: BAR %u (%llu KiB) does not "
				 "fit the guest's PCI window",
				 PCI_BUS(dev->bdf), PCI_DEV(dev->bdf),
				 PCI_FUNC(dev->bdf), i,
				 (unsigned long long)(size >> 10));
			return false;
		}
		if (b->prefetchable)
			pt->pci.config[VPCI_CFG_BAR0 + 4 * i] |= 0x8;
		pt->bar[i].pt = pt;
		pt->bar[i].host = b->base;
		pt->bar[i].size = b->size;
		*next_base = base + size;
	}
	if (!offer_msi(pt, dev) || !offer_msix(pt, dev)) {
		snformat(err, errlen,
			 "pci %02x:%02x.%x: no room for its interrupt "
			 "capabilities",
			 PCI_BUS(dev->bdf), PCI_DEV(dev->bdf),
			 PCI_FUNC(dev->bdf));
		return false;
	}
	return true;
}

bool vpassthru_intx_on(const struct vpassthru *pt)
{
	return pt->pci.config[VPCI_CFG_INTR_PIN] && !msix_on(pt) &&
	       !msi_on(pt) &&
	       !(vpci_func_get(&pt->pci, VPCI_CFG_COMMAND, 2) &
		 VPCI_CMD_INTX_DISABLE);
}

bool vpassthru_intx_poll(struct vpassthru *pt)
{
	/* PCI 3.0 6.2.3: Status bit 3, Interrupt Status, the upper half of
	 * the command dword; the guest's copy follows it. */
	bool level = vpassthru_intx_on(pt) &&
		     (pci_config_read32(pt->host_bdf, PCI_CFG_COMMAND) &
		      (u32)VPCI_STATUS_INTX << 16);
	u8 *status = &pt->pci.config[VPCI_CFG_STATUS];

	*status = level ? *status | VPCI_STATUS_INTX
			: *status & (u8)~VPCI_STATUS_INTX;
	return level;
}

void vpassthru_deliver(struct vpassthru *pt,
		       void (*send)(void *ctx, u64 addr, u32 data), void *ctx)
{
	u32 fired =
	    __atomic_exchange_n(&pt->pending, 0, __ATOMIC_SEQ_CST) | pt->held;
	bool x = msix_on(pt), msi = msi_on(pt);

	pt->held = 0;
	for (u32 i = 0; i < VPASSTHRU_VECTORS; i++) {
		const struct vpassthru_vector *v = &pt->vec[i];

		if (!(fired & (1u << i)))
			continue;
		if (x && i < pt->msix_size) {
			if (msix_masked(pt, i))
				pt->held |= 1u << i;
			else
				send(ctx, v->addr, v->data);
		} else if (msi && i == 0) {
			u8 at = pt->msi_cap;
			u64 addr =
			    vpci_func_get(&pt->pci, at + MSI_ADDR_LO, 4) |
			    (u64)vpci_func_get(&pt->pci, at + MSI_ADDR_HI, 4)
				<< 32;

			send(ctx, addr,
			     vpci_func_get(&pt->pci, at + MSI_DATA_64, 2));
		}
		/* Else the guest turned it off since: dropped. */
	}
}

void vpassthru_release(struct vpassthru *pt)
{
	u16 bdf = pt->host_bdf;

	if (pt->host_msix_cap) {
		u32 dw = pci_config_read32(bdf, pt->host_msix_cap);

		pci_config_write32(bdf, pt->host_msix_cap,
				   dw & ~((u32)MSIX_ENABLE << 16));
	}
	if (pt->host_msi_cap) {
		u32 dw = pci_config_read32(bdf, pt->host_msi_cap);

		pci_config_write32(bdf, pt->host_msi_cap,
				   dw & ~((u32)(MSI_ENABLE | MSI_MME) << 16));
	}
	for (u32 i = 0; i < VPASSTHRU_VECTORS; i++) {
		struct vpassthru_vector *v = &pt->vec[i];

		iommu_irq_unroute(bdf, &v->handle);
		if (v->host_vector >= 0)
			host_irq_free(v->host_vector);
		v->host_vector = -1;
		v->routed = false;
	}
	__atomic_store_n(&pt->pending, 0, __ATOMIC_SEQ_CST);
	pt->held = 0;
}

/* The guest's MSI-X table (entry, field) for an access at BAR offset
 * `offset`, or false when it is outside the table the guest sees. */
static bool in_table(const struct vpassthru_bar *b, u64 offset, u8 size,
		     u32 *entry, u32 *field)
{
	const struct vpassthru *pt = b->pt;
	u64 rel;

	if (!pt->msix_cap || b != &pt->bar[pt->msix_bir] ||
	    offset < pt->msix_offset)
		return false;
	rel = offset - pt->msix_offset;
	if (rel >= (u64)pt->msix_size * MSIX_ENTRY_BYTES)
		return false;
	*entry = (u32)(rel / MSIX_ENTRY_BYTES);
	*field = (u32)(rel % MSIX_ENTRY_BYTES);
	/* 6.8.2: dword or aligned qword accesses only. */
	return (size == 4 || size == 8) && !(*field & (size - 1u));
}

/* Whether an access touches the host's MSI-X table (all its entries, not
 * only those offered) or, for writes, its PBA: the guest's accesses there
 * never reach the host function. */
static bool overlaps(u64 offset, u64 size, u64 start, u64 len)
{
	return offset < start + len && offset + size > start;
}

static bool table_region(const struct vpassthru_bar *b, u64 offset, u8 size)
{
	const struct vpassthru *pt = b->pt;

	return pt->msix_cap && b == &pt->bar[pt->msix_bir] &&
	       overlaps(offset, size, pt->msix_offset,
			(u64)pt->host_msix_size * MSIX_ENTRY_BYTES);
}

static bool pba_region(const struct vpassthru_bar *b, u64 offset, u8 size)
{
	const struct vpassthru *pt = b->pt;

	return pt->msix_cap && b == &pt->bar[pt->pba_bir] &&
	       overlaps(offset, size, pt->pba_offset,
			((u64)pt->host_msix_size + 63) / 64 * 8);
}

bool vpassthru_page_direct(const struct vpassthru_bar *b, u64 offset)
{
	const struct vpassthru *pt = b->pt;
	u64 table_len, pba_len;

	if (!b->host || b->size < PAGE_SIZE || offset >= b->size)
		return false;
	if (!pt->host_msix_size)
		return true;
	table_len = (u64)pt->host_msix_size * MSIX_ENTRY_BYTES;
	pba_len = ((u64)pt->host_msix_size + 63) / 64 * 8;
	return !(pt->msix_bir < VPCI_BARS && b == &pt->bar[pt->msix_bir] &&
		 overlaps(offset, PAGE_SIZE, pt->msix_offset & ~(PAGE_SIZE - 1),
			  ALIGN_UP(pt->msix_offset + table_len, PAGE_SIZE) -
			      (pt->msix_offset & ~(PAGE_SIZE - 1)))) &&
	       !(pt->pba_bir < VPCI_BARS && b == &pt->bar[pt->pba_bir] &&
		 overlaps(offset, PAGE_SIZE, pt->pba_offset & ~(PAGE_SIZE - 1),
			  ALIGN_UP(pt->pba_offset + pba_len, PAGE_SIZE) -
			      (pt->pba_offset & ~(PAGE_SIZE - 1))));
}

static u32 table_dword(const struct vpassthru_vector *v, u32 field)
{
	switch (field) {
	case 0:
		return (u32)v->addr;
	case 4:
		return (u32)(v->addr >> 32);
	case MSIX_ENTRY_DATA:
		return v->data;
	default:
		return v->ctrl;
	}
}

static void table_write(struct vpassthru *pt, u32 i, u32 field, u32 value)
{
	struct vpassthru_vector *v = &pt->vec[i];

	switch (field) {
	case 0:
		v->addr = (v->addr & ~0xffffffffull) | (value & ~3u);
		break;
	case 4:
		v->addr = (v->addr & 0xffffffffull) | (u64)value << 32;
		break;
	case MSIX_ENTRY_DATA:
		v->data = value;
		break;
	default:
		/* Bit 0 is the mask; the rest is reserved (6.8.2.9). */
		v->ctrl = value & MSIX_CTRL_MASKED;
		msix_sync_entry(pt, i);
		break;
	}
}

/* The host address of an access, or 0 when it leaves the host BAR. */
static volatile void *host_at(const struct vpassthru_bar *b, u64 offset,
			      u8 size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return NULL;
	if (offset >= b->size || b->size - offset < size ||
	    (offset & (size - 1)))
		return NULL;
	return (volatile void *)(uintptr_t)(b->host + offset);
}

int vpassthru_bar_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		       u64 *value)
{
	const struct vpassthru_bar *b = opaque;
	const struct vpassthru *pt = b->pt;
	volatile void *p = host_at(opaque, offset, size);
	u32 entry, field;

	(void)vcpu;
	if (in_table(b, offset, size, &entry, &field)) {
		const struct vpassthru_vector *v = &pt->vec[entry];

		*value = table_dword(v, field);
		if (size == 8)
			*value |= (u64)table_dword(v, field + 4) << 32;
		return 0;
	}
	if (table_region(b, offset, size)) {
		/* Entries not offered read 0; a byte, word or misaligned
		 * access (6.8.2 allows none) all ones, as below. */
		*value = !p ? (size >= 8 ? ~0ull : (1ull << (8 * size)) - 1)
			 : size == 4 || size == 8 ? 0
						  : (1ull << (8 * size)) - 1;
		return 0;
	}
	if (p && pt->msix_cap && b == &pt->bar[pt->pba_bir] &&
	    offset == pt->pba_offset && size >= 4) {
		/* The PBA's first bits, with the ones Veneer holds. */
		*value = size == 4 ? *(volatile u32 *)p : *(volatile u64 *)p;
		*value |= pt->held;
		return 0;
	}
	if (!p) {
		/* Past the device's registers, or misaligned: as a read of
		 * nothing on a bus, all ones. */
		*value = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
		return 0;
	}
	switch (size) {
	case 1:
		*value = *(volatile u8 *)p;
		break;
	case 2:
		*value = *(volatile u16 *)p;
		break;
	case 4:
		*value = *(volatile u32 *)p;
		break;
	default:
		*value = *(volatile u64 *)p;
		break;
	}
	return 0;
}

int vpassthru_bar_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			u64 value)
{
	struct vpassthru_bar *b = opaque;
	struct vpassthru *pt = b->pt;
	volatile void *p = host_at(opaque, offset, size);
	u32 entry, field;

	(void)vcpu;
	if (in_table(b, offset, size, &entry, &field)) {
		table_write(pt, entry, field, (u32)value);
		if (size == 8)
			table_write(pt, entry, field + 4, (u32)(value >> 32));
		return 0;
	}
	/* The host's table is Veneer's alone; the PBA is read-only. */
	if (table_region(b, offset, size) || pba_region(b, offset, size))
		return 0;
	if (!p)
		return 0; /* dropped */
	switch (size) {
	case 1:
		*(volatile u8 *)p = (u8)value;
		break;
	case 2:
		*(volatile u16 *)p = (u16)value;
		break;
	case 4:
		*(volatile u32 *)p = (u32)value;
		break;
	default:
		*(volatile u64 *)p = value;
		break;
	}
	return 0;
}
