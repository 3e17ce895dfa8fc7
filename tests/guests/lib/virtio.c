/* SPDX-License-Identifier: MIT */
/*
 * The test guests' virtio-pci driver (virtio.h): PCI configuration space,
 * the capability walk, the status handshake, queue registers and the
 * split rings.
 */
#include "tests/guests/lib/virtio.h"

/* A walk longer than 48 capabilities (all of the 192 bytes after the
 * header, 4 each) has a loop in it. */
#define CAP_WALK_MAX 48
/* Bits 1-4: the four structures virtio_find_caps() must see. */
#define CAPS_NEEDED 0x1e

/* Only the compiler may reorder here: x86 keeps stores in order with
 * stores and loads with loads (SDM Vol. 3A 9.2.2), so the device model,
 * on whichever CPU it runs, sees the ring writes in program order, and
 * the driver reads what the device wrote in the order it asks. */
static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ---- PCI configuration space ---- */

static u32 cfg_address(u8 slot, u8 off)
{
	return 0x80000000U | (u32)slot << 11 | (off & 0xfcU);
}

u32 pci_cfg_read32(u8 slot, u8 off)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	return inl(PCI_DATA);
}

u16 pci_cfg_read16(u8 slot, u8 off)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	return inw((u16)(PCI_DATA + (off & 2)));
}

u8 pci_cfg_read8(u8 slot, u8 off)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	return inb((u16)(PCI_DATA + (off & 3)));
}

void pci_cfg_write16(u8 slot, u8 off, u16 v)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	outw((u16)(PCI_DATA + (off & 2)), v);
}

void pci_cfg_write32(u8 slot, u8 off, u32 v)
{
	outl(PCI_ADDRESS, cfg_address(slot, off));
	outl(PCI_DATA, v);
}

u8 virtio_pci_find(u16 device, u8 from)
{
	u32 want = VIRTIO_VENDOR | (u32)device << 16;
	u8 slot;

	for (slot = from; slot < PCI_SLOTS; slot++)
		if (pci_cfg_read32(slot, PCI_ID) == want)
			break;
	return slot;
}

/* ---- finding the structures ---- */

bool virtio_pci_bar(struct virtio_dev *d)
{
	u32 low = pci_cfg_read32(d->slot, PCI_BAR4);
	u32 high = pci_cfg_read32(d->slot, PCI_BAR5);

	if ((low & PCI_BAR_TYPE_MASK) != PCI_BAR_TYPE_64 || (low & 1) || high ||
	    !(low & ~0xfU))
		return d->fail("BAR 4 is 0x%x%08x: not a 64-bit memory BAR "
			       "below 4 GiB",
			       high, low);
	d->bar = low & ~0xfU;
	return true;
}

bool virtio_pci_enable(struct virtio_dev *d, u16 bits)
{
	u16 command = pci_cfg_read16(d->slot, PCI_COMMAND);

	pci_cfg_write16(d->slot, PCI_COMMAND, (u16)(command | bits));
	command = pci_cfg_read16(d->slot, PCI_COMMAND);
	if ((command & bits) != bits)
		return d->fail("command register 0x%x: bits 0x%x do not "
			       "stick",
			       command, bits);
	return true;
}

bool virtio_find_caps(struct virtio_dev *d)
{
	u8 at, seen = 0;
	unsigned guard = 0;

	d->msix_cap = 0;
	if (!(pci_cfg_read16(d->slot, PCI_STATUS) & PCI_STATUS_CAPS))
		return d->fail("status register has no capability list");
	for (at = pci_cfg_read8(d->slot, PCI_CAP_PTR) & 0xfc;
	     at && guard < CAP_WALK_MAX;
	     at = pci_cfg_read8(d->slot, (u8)(at + 1)) & 0xfc, guard++) {
		u8 id = pci_cfg_read8(d->slot, at), type, bar;
		uintptr_t place;

		if (id == PCI_CAP_MSIX)
			d->msix_cap = at;
		if (id != PCI_CAP_VENDOR)
			continue;
		type = pci_cfg_read8(d->slot, (u8)(at + 3));
		bar = pci_cfg_read8(d->slot, (u8)(at + 4));
		if (bar != VIRTIO_BAR)
			return d->fail("capability at 0x%x (type %u) names "
				       "BAR %u, not 4",
				       at, type, bar);
		place = d->bar + pci_cfg_read32(d->slot, (u8)(at + 8));
		switch (type) {
		case VIRTIO_CAP_COMMON:
			d->common = place;
			break;
		case VIRTIO_CAP_NOTIFY:
			d->notify = place;
			d->notify_mult = pci_cfg_read32(d->slot, (u8)(at + 16));
			break;
		case VIRTIO_CAP_ISR:
			d->isr = place;
			break;
		case VIRTIO_CAP_DEVICE:
			d->device = place;
			break;
		default:
			continue; /* PCI configuration access, shared memory */
		}
		seen |= (u8)(1u << type);
	}
	if (seen != CAPS_NEEDED)
		return d->fail("virtio capabilities found: mask 0x%x, want "
			       "0x%x",
			       seen, CAPS_NEEDED);
	return true;
}

/* ---- status and features ---- */

u8 virtio_status(const struct virtio_dev *d)
{
	return mmio_read8(d->common + VIRTIO_CC_STATUS);
}

void virtio_set_status(const struct virtio_dev *d, u8 status)
{
	mmio_write8(d->common + VIRTIO_CC_STATUS, status);
}

u8 virtio_isr(const struct virtio_dev *d)
{
	return mmio_read8(d->isr);
}

bool virtio_reset(const struct virtio_dev *d)
{
	virtio_set_status(d, 0);
	if (virtio_status(d) != 0)
		return d->fail("device_status 0x%x after a reset, not 0",
			       virtio_status(d));
	return true;
}

bool virtio_negotiate(const struct virtio_dev *d, u64 features)
{
	u64 offered;
	u8 want = VIRTIO_ST_ACK | VIRTIO_ST_DRIVER | VIRTIO_ST_FEATURES_OK;

	virtio_set_status(d, VIRTIO_ST_ACK);
	virtio_set_status(d, VIRTIO_ST_ACK | VIRTIO_ST_DRIVER);
	mmio_write32(d->common + VIRTIO_CC_DFSELECT, 1);
	offered = (u64)mmio_read32(d->common + VIRTIO_CC_DFEATURE) << 32;
	mmio_write32(d->common + VIRTIO_CC_DFSELECT, 0);
	offered |= mmio_read32(d->common + VIRTIO_CC_DFEATURE);
	if ((offered & features) != features)
		return d->fail("features 0x%llx offered, without 0x%llx",
			       (unsigned long long)offered,
			       (unsigned long long)(features & ~offered));
	for (u32 word = 0; word < 2; word++) {
		mmio_write32(d->common + VIRTIO_CC_GFSELECT, word);
		mmio_write32(d->common + VIRTIO_CC_GFEATURE,
			     (u32)(features >> (32 * word)));
	}
	virtio_set_status(d, want);
	if (virtio_status(d) != want)
		return d->fail("device_status 0x%x after FEATURES_OK, not 0x%x",
			       virtio_status(d), want);
	return true;
}

bool virtio_driver_ok(const struct virtio_dev *d)
{
	virtio_set_status(d, VIRTIO_ST_RUNNING);
	if (virtio_status(d) != VIRTIO_ST_RUNNING)
		return d->fail("device_status 0x%x after DRIVER_OK, not 0x%x",
			       virtio_status(d), VIRTIO_ST_RUNNING);
	return true;
}

/* ---- queues ---- */

u16 virtio_queue_max(const struct virtio_dev *d, u16 q)
{
	mmio_write16(d->common + VIRTIO_CC_QSEL, q);
	return mmio_read16(d->common + VIRTIO_CC_QSIZE);
}

void virtio_queue_config(const struct virtio_dev *d, u16 q, u16 size, u64 desc,
			 u64 driver, u64 device)
{
	mmio_write16(d->common + VIRTIO_CC_QSEL, q);
	mmio_write16(d->common + VIRTIO_CC_QSIZE, size);
	mmio_write64(d->common + VIRTIO_CC_QDESC, desc);
	mmio_write64(d->common + VIRTIO_CC_QDRIVER, driver);
	mmio_write64(d->common + VIRTIO_CC_QDEVICE, device);
}

bool virtio_queue_enable(const struct virtio_dev *d, struct virtq *vq)
{
	u16 enabled, notify_off;

	mmio_write16(d->common + VIRTIO_CC_QSEL, vq->index);
	mmio_write16(d->common + VIRTIO_CC_QENABLE, 1);
	enabled = mmio_read16(d->common + VIRTIO_CC_QENABLE);
	if (enabled != 1)
		return d->fail("queue %u: queue_enable reads %u after "
			       "enabling",
			       vq->index, enabled);
	/* cap.offset + queue_notify_off * notify_off_multiplier (4.1.4.4) */
	notify_off = mmio_read16(d->common + VIRTIO_CC_QNOTIFY_OFF);
	vq->kick_at = d->notify + (uintptr_t)notify_off * d->notify_mult;
	return true;
}

void virtq_init(struct virtq *vq, struct virtq_rings *r, u16 index)
{
	memset(r, 0, sizeof(*r));
	vq->r = r;
	vq->index = index;
	vq->avail_idx = vq->used_seen = 0;
}

void virtq_set_desc(struct virtq *vq, u16 i, u64 addr, u32 len, u16 flags,
		    u16 next)
{
	volatile struct virtq_desc *v = &vq->r->desc[i];

	v->addr = addr;
	v->len = len;
	v->flags = flags;
	v->next = next;
}

void virtq_publish(struct virtq *vq, u16 head, u16 step)
{
	volatile u16 *ring = vq->r->avail.ring;

	/* The entry before the index that makes it the device's, which
	 * reads them in the other order (2.7.13). */
	ring[vq->avail_idx & (VIRTQ_SIZE - 1)] = head;
	barrier();
	vq->avail_idx = (u16)(vq->avail_idx + step);
	*(volatile u16 *)&vq->r->avail.idx = vq->avail_idx;
	barrier();
}

bool virtq_no_notify(const struct virtq *vq)
{
	return *(volatile const u16 *)&vq->r->used.flags &
	       VIRTQ_USED_F_NO_NOTIFY;
}

void virtq_kick(struct virtq *vq)
{
	vq->kicks++;
	mmio_write16(vq->kick_at, vq->index);
}

u16 virtq_used_idx(const struct virtq *vq)
{
	return *(volatile const u16 *)&vq->r->used.idx;
}

bool virtq_next_used(struct virtq *vq, u32 *id, u32 *len)
{
	volatile const struct virtq_used_elem *e;

	if (virtq_used_idx(vq) == vq->used_seen)
		return false;
	/* The element is read after the index that says it is there. */
	barrier();
	e = &vq->r->used.ring[vq->used_seen & (VIRTQ_SIZE - 1)];
	*id = e->id;
	*len = e->len;
	vq->used_seen++;
	return true;
}
