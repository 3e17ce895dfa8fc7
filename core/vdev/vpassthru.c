// SPDX-License-Identifier: MIT
/* A host PCI function on a guest's bus: core/vdev/vpassthru.h. */
#include "core/vdev/vpassthru.h"

#include "core/lib/format.h"
#include "core/lib/string.h"
#include "core/mm.h"
#include "drivers/pci.h"

/* Command bits that reach the host function (PCI 3.0, 6.2.2). */
#define FORWARDED_COMMAND                                                      \
	(VPCI_CMD_MEMORY | VPCI_CMD_BUS_MASTER | VPCI_CMD_INTX_DISABLE)

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
		pt->remap(pt->ctx);
}

bool vpassthru_init(struct vpassthru *pt, const struct pci_device *dev, u8 slot,
		    u64 *next_base, u64 limit, void (*remap)(void *ctx),
		    void *ctx, char *err, size_t errlen)
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
	    .intr_pin = 0, /* no interrupts offered yet */
	    .command_mask = FORWARDED_COMMAND,
	};

	memset(pt, 0, sizeof(*pt));
	pt->host_bdf = dev->bdf;
	pt->slot = slot;
	pt->remap = remap;
	pt->ctx = ctx;
	vpci_func_init(&pt->pci, &ids, config_written, pt);
	for (u32 i = 0; i < dev->bar_count && i < VPCI_BARS; i++) {
		const struct pci_bar *b = &dev->bars[i];
		bool is64 = b->kind == PCI_BAR_MEM64;
		u64 size = b->size < PAGE_SIZE ? PAGE_SIZE : b->size;
		u64 base = ALIGN_UP(*next_base, size);

		pt->bar[i].mapped = VPCI_BAR_NONE;
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
	return true;
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
	volatile void *p = host_at(opaque, offset, size);

	(void)vcpu;
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
	volatile void *p = host_at(opaque, offset, size);

	(void)vcpu;
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
