/* SPDX-License-Identifier: MIT */
#include "core/vdev/virtio_pci.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* Capability IDs (PCI 3.0, appendix H) and virtio cfg_type (4.1.4). */
#define CAP_ID_VENDOR	      0x09
#define CAP_ID_MSIX	      0x11
#define VIRTIO_CAP_COMMON     1
#define VIRTIO_CAP_NOTIFY     2
#define VIRTIO_CAP_ISR	      3
#define VIRTIO_CAP_DEVICE     4
#define VIRTIO_CAP_LEN	      16 /* struct virtio_pci_cap */
#define VIRTIO_NOTIFY_CAP_LEN 20 /* + notify_off_multiplier */
/* MSI-X capability (PCI 3.0, 6.8.2): message control, table, PBA. */
#define MSIX_CAP_LEN	  12
#define MSIX_CTRL	  2
#define MSIX_CTRL_ENABLE  0x8000
#define MSIX_CTRL_MASK	  0x4000
#define MSIX_ENTRY_SIZE	  16
#define MSIX_ENTRY_MASKED 0x1

/* Common configuration fields (4.1.4.3): offset, width. */
enum common_field {
	CF_DFSELECT,
	CF_DFEATURE,
	CF_GFSELECT,
	CF_GFEATURE,
	CF_MSIX_CONFIG,
	CF_NUM_QUEUES,
	CF_STATUS,
	CF_GENERATION,
	CF_QSEL,
	CF_QSIZE,
	CF_QVECTOR,
	CF_QENABLE,
	CF_QNOTIFY_OFF,
	CF_QDESC,
	CF_QDRIVER,
	CF_QDEVICE,
	CF_COUNT
};

static const struct {
	u8 offset, size;
} common_fields[CF_COUNT] = {
    [CF_DFSELECT] = {0, 4},	[CF_DFEATURE] = {4, 4},
    [CF_GFSELECT] = {8, 4},	[CF_GFEATURE] = {12, 4},
    [CF_MSIX_CONFIG] = {16, 2}, [CF_NUM_QUEUES] = {18, 2},
    [CF_STATUS] = {20, 1},	[CF_GENERATION] = {21, 1},
    [CF_QSEL] = {22, 2},	[CF_QSIZE] = {24, 2},
    [CF_QVECTOR] = {26, 2},	[CF_QENABLE] = {28, 2},
    [CF_QNOTIFY_OFF] = {30, 2}, [CF_QDESC] = {32, 8},
    [CF_QDRIVER] = {40, 8},	[CF_QDEVICE] = {48, 8},
};

_Static_assert(VIRTIO_PCI_COMMON_LEN >= 56, "common configuration is 56 bytes");
_Static_assert(VIRTIO_MSIX_VECTORS <= 32, "the PBA is one u32");
_Static_assert(VIRTIO_PCI_NOTIFY + VIRTIO_MAX_QUEUES * VIRTIO_PCI_NOTIFY_MULT <=
		   VIRTIO_PCI_MSIX_TABLE,
	       "notifications end before the MSI-X table");

static struct virtio_queue *selected_queue(struct virtio_pci *vp)
{
	return vp->qsel < vp->ops->queues ? &vp->vq[vp->qsel] : NULL;
}

/* ---- interrupts ---- */

static bool msix_enabled(const struct virtio_pci *vp)
{
	return vpci_func_get(&vp->pci, vp->msix_cap + MSIX_CTRL, 2) &
	       MSIX_CTRL_ENABLE;
}

static bool msix_masked(const struct virtio_pci *vp, u16 vector)
{
	return (vpci_func_get(&vp->pci, vp->msix_cap + MSIX_CTRL, 2) &
		MSIX_CTRL_MASK) ||
	       (vp->msix[vector].ctrl & MSIX_ENTRY_MASKED);
}

static void send_msix(struct virtio_pci *vp, u16 vector)
{
	const struct virtio_msix_entry *e = &vp->msix[vector];

	vp->interrupts++;
	vp->host.msi(vp->host.ctx, (u64)e->addr_hi << 32 | e->addr_lo, e->data);
}

/* The INTx line follows the ISR bits, unless the guest disabled INTx or
 * uses MSI-X (PCI 3.0, 6.2.2 and 6.8.2). */
static void update_intx(struct virtio_pci *vp)
{
	u16 cmd = (u16)vpci_func_get(&vp->pci, VPCI_CFG_COMMAND, 2);
	u16 st = (u16)vpci_func_get(&vp->pci, VPCI_CFG_STATUS, 2);
	bool level = vp->isr && !msix_enabled(vp);

	/* The status bit shows the interrupt even when it is disabled. */
	st = level ? st | VPCI_STATUS_INTX : st & ~VPCI_STATUS_INTX;
	vpci_func_put(&vp->pci, VPCI_CFG_STATUS, st, 2);
	level = level && !(cmd & VPCI_CMD_INTX_DISABLE);
	if (level != vp->intx_level) {
		vp->intx_level = level;
		if (level)
			vp->interrupts++;
		vp->host.intx(vp->host.ctx, vp, level);
	}
}

static void interrupt(struct virtio_pci *vp, u16 vector, u8 isr_bit)
{
	if (!msix_enabled(vp)) {
		vp->isr |= isr_bit;
		update_intx(vp);
		return;
	}
	if (vector >= VIRTIO_MSIX_VECTORS)
		return; /* NO_VECTOR: the driver wants none */
	if (msix_masked(vp, vector))
		vp->pba |= 1u << vector;
	else
		send_msix(vp, vector);
}

/* Vectors unmasked with a message pending send it now (6.8.2.9). */
static void msix_unmasked(struct virtio_pci *vp)
{
	if (!msix_enabled(vp))
		return;
	for (u16 v = 0; v < VIRTIO_MSIX_VECTORS; v++)
		if ((vp->pba & (1u << v)) && !msix_masked(vp, v)) {
			vp->pba &= ~(1u << v);
			send_msix(vp, v);
		}
}

bool virtio_pci_queue_live(const struct virtio_pci *vp, u16 q)
{
	return q < vp->ops->queues && vp->vq[q].enabled &&
	       (vp->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vp->status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_pci_used(struct virtio_pci *vp, u16 q, u16 old_used)
{
	if (q < vp->ops->queues &&
	    virtq_should_notify(&vp->vq[q].q, &vp->host.mem, old_used))
		interrupt(vp, vp->vq[q].vector, VIRTIO_ISR_QUEUE);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	vp->generation++;
	interrupt(vp, vp->msix_config, VIRTIO_ISR_CONFIG);
}

void virtio_pci_broken(struct virtio_pci *vp, u16 q, const char *why)
{
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	str_copy(vp->why, why, sizeof(vp->why));
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	printk_at(LOG_INFO,
		  "veneer: guest %s: %s 00:%02x.0: queue %u: %s; the device "
		  "needs a reset\n",
		  vp->host.guest, vp->ops->name, vp->slot, q, vp->why);
	virtio_pci_config_changed(vp);
}

/* ---- the status and feature handshake (3.1) ---- */

static void device_reset(struct virtio_pci *vp)
{
	vp->dfselect = vp->gfselect = 0;
	vp->guest_features = 0;
	vp->msix_config = VIRTIO_NO_VECTOR;
	vp->status = 0;
	vp->qsel = 0;
	for (u16 q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtio_queue *v = &vp->vq[q];

		virtq_reset(&v->q);
		v->size = q < vp->ops->queues ? vp->ops->queue_max : 0;
		v->vector = VIRTIO_NO_VECTOR;
		v->enabled = false;
	}
	vp->isr = 0;
	vp->why[0] = '\0';
	update_intx(vp);
	if (vp->ops->reset)
		vp->ops->reset(vp);
}

static void set_status(struct virtio_pci *vp, u8 value)
{
	if (!value) {
		device_reset(vp);
		return;
	}
	/* FEATURES_OK only for a subset of what is offered, VERSION_1 in. */
	if ((value & VIRTIO_STATUS_FEATURES_OK) &&
	    !(vp->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vp->guest_features & ~vp->features) ||
	     !(vp->guest_features & VIRTIO_F_VERSION_1)))
		value &= (u8)~VIRTIO_STATUS_FEATURES_OK;
	/* The driver cannot clear NEEDS_RESET, only a reset does. */
	vp->status = (u8)((value & ~VIRTIO_STATUS_NEEDS_RESET) |
			  (vp->status & VIRTIO_STATUS_NEEDS_RESET));
}

static void enable_queue(struct virtio_pci *vp, struct virtio_queue *v)
{
	char why[VIRTQ_WHY_MAX];

	if (v->enabled)
		return;
	v->q.size = v->size;
	v->q.event_idx = virtio_has(vp, VIRTIO_F_EVENT_IDX);
	v->q.indirect = virtio_has(vp, VIRTIO_F_INDIRECT_DESC);
	if (v->size > vp->ops->queue_max) {
		snformat(why, sizeof(why), "size %u is larger than %u", v->size,
			 vp->ops->queue_max);
		virtio_pci_broken(vp, vp->qsel, why);
		return;
	}
	if (virtq_check(&v->q, &vp->host.mem, why)) {
		virtio_pci_broken(vp, vp->qsel, why);
		return;
	}
	v->enabled = true;
}

/* ---- common configuration ---- */

static u64 common_get(struct virtio_pci *vp, enum common_field f)
{
	struct virtio_queue *v = selected_queue(vp);

	switch (f) {
	case CF_DFSELECT:
		return vp->dfselect;
	case CF_DFEATURE:
		return vp->dfselect < 2
			   ? (u32)(vp->features >> (32 * vp->dfselect))
			   : 0;
	case CF_GFSELECT:
		return vp->gfselect;
	case CF_GFEATURE:
		return vp->gfselect < 2
			   ? (u32)(vp->guest_features >> (32 * vp->gfselect))
			   : 0;
	case CF_MSIX_CONFIG:
		return vp->msix_config;
	case CF_NUM_QUEUES:
		return vp->ops->queues;
	case CF_STATUS:
		return vp->status;
	case CF_GENERATION:
		return vp->generation;
	case CF_QSEL:
		return vp->qsel;
	default:
		break;
	}
	/* A queue field of a queue that does not exist reads 0 (size 0:
	 * "not available", 4.1.4.3.2). */
	if (!v)
		return 0;
	switch (f) {
	case CF_QSIZE:
		return v->size;
	case CF_QVECTOR:
		return v->vector;
	case CF_QENABLE:
		return v->enabled;
	case CF_QNOTIFY_OFF:
		return vp->qsel;
	case CF_QDESC:
		return v->q.desc;
	case CF_QDRIVER:
		return v->q.avail;
	case CF_QDEVICE:
		return v->q.used;
	default:
		return 0;
	}
}

/* A vector the driver may name: one of the table's, or NO_VECTOR. */
static u16 vector_or_none(u64 value)
{
	return value < VIRTIO_MSIX_VECTORS ? (u16)value : VIRTIO_NO_VECTOR;
}

static void common_set(struct virtio_pci *vp, enum common_field f, u64 value)
{
	struct virtio_queue *v = selected_queue(vp);
	bool setup = !(vp->status & VIRTIO_STATUS_DRIVER_OK);

	switch (f) {
	case CF_DFSELECT:
		vp->dfselect = (u32)value;
		return;
	case CF_GFSELECT:
		vp->gfselect = (u32)value;
		return;
	case CF_GFEATURE:
		/* Features are fixed once FEATURES_OK is set (3.1.1). */
		if (vp->gfselect < 2 &&
		    !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			u32 shift = 32 * vp->gfselect;

			vp->guest_features &= ~(0xffffffffull << shift);
			vp->guest_features |= (value & 0xffffffffull) << shift;
		}
		return;
	case CF_MSIX_CONFIG:
		vp->msix_config = vector_or_none(value);
		return;
	case CF_STATUS:
		set_status(vp, (u8)value);
		return;
	case CF_QSEL:
		vp->qsel = (u16)value;
		return;
	default:
		break;
	}
	/* Queue fields: only for a queue that exists, and its rings only
	 * while it is not enabled (4.1.4.3.2). */
	if (!v)
		return;
	switch (f) {
	case CF_QVECTOR:
		v->vector = vector_or_none(value);
		return;
	case CF_QSIZE:
		if (!v->enabled && setup)
			v->size = (u16)value;
		return;
	case CF_QENABLE:
		if (value == 1 && setup)
			enable_queue(vp, v);
		return;
	case CF_QDESC:
		if (!v->enabled)
			v->q.desc = value;
		return;
	case CF_QDRIVER:
		if (!v->enabled)
			v->q.avail = value;
		return;
	case CF_QDEVICE:
		if (!v->enabled)
			v->q.used = value;
		return;
	default:
		return; /* read-only */
	}
}

/* The common configuration as bytes, for an access of any width. */
static void common_image(struct virtio_pci *vp, u8 img[VIRTIO_PCI_COMMON_LEN])
{
	memset(img, 0, VIRTIO_PCI_COMMON_LEN);
	for (int f = 0; f < CF_COUNT; f++)
		virtio_put_le(img + common_fields[f].offset,
			      common_get(vp, (enum common_field)f),
			      common_fields[f].size);
}

static void common_write(struct virtio_pci *vp, u32 off, u8 size, u64 value)
{
	u8 img[VIRTIO_PCI_COMMON_LEN];

	if (off + size > VIRTIO_PCI_COMMON_LEN)
		return;
	common_image(vp, img);
	virtio_put_le(img + off, value, size);
	/* Every field the access touched, in order: a 32-bit half of a ring
	 * address keeps the other half. */
	for (int f = 0; f < CF_COUNT; f++) {
		u32 fo = common_fields[f].offset, fs = common_fields[f].size;

		if (fo < off + size && off < fo + fs)
			common_set(vp, (enum common_field)f,
				   virtio_get_le(img + fo, fs));
	}
}

/* ---- the BAR ---- */

static u64 msix_read(struct virtio_pci *vp, u32 off, u8 size)
{
	u8 img[VIRTIO_MSIX_VECTORS * MSIX_ENTRY_SIZE];

	if (off + size > sizeof(img))
		return 0;
	for (u32 i = 0; i < VIRTIO_MSIX_VECTORS; i++) {
		u8 *e = img + i * MSIX_ENTRY_SIZE;

		virtio_put_le(e, vp->msix[i].addr_lo, 4);
		virtio_put_le(e + 4, vp->msix[i].addr_hi, 4);
		virtio_put_le(e + 8, vp->msix[i].data, 4);
		virtio_put_le(e + 12, vp->msix[i].ctrl, 4);
	}
	return virtio_get_le(img + off, size);
}

static void msix_write(struct virtio_pci *vp, u32 off, u8 size, u64 value)
{
	for (u32 i = 0; i < size; i += 4) {
		u32 at = off + i, word = (u32)(value >> (8 * i));
		struct virtio_msix_entry *e;

		/* Dword (or qword) accesses only (6.8.2). */
		if ((at & 3) || at / MSIX_ENTRY_SIZE >= VIRTIO_MSIX_VECTORS)
			return;
		e = &vp->msix[at / MSIX_ENTRY_SIZE];
		switch (at % MSIX_ENTRY_SIZE) {
		case 0:
			e->addr_lo = word & ~3u;
			break;
		case 4:
			e->addr_hi = word;
			break;
		case 8:
			e->data = word;
			break;
		default:
			e->ctrl = word & MSIX_ENTRY_MASKED;
			break;
		}
	}
	msix_unmasked(vp);
}

int virtio_pci_read(struct virtio_pci *vp, u64 offset, u8 size, u64 *value)
{
	u32 off = (u32)offset;
	u8 img[VIRTIO_PCI_COMMON_LEN];

	*value = 0;
	if (offset >= VIRTIO_PCI_BAR_SIZE)
		return 0;
	if (off < VIRTIO_PCI_COMMON_LEN) {
		if (off + size <= VIRTIO_PCI_COMMON_LEN) {
			common_image(vp, img);
			*value = virtio_get_le(img + off, size);
		}
	} else if (off == VIRTIO_PCI_ISR) {
		/* Reading clears it and lowers INTx (4.1.4.5). */
		*value = vp->isr;
		vp->isr = 0;
		update_intx(vp);
	} else if (off >= VIRTIO_PCI_DEVICE_CFG &&
		   off + size <= VIRTIO_PCI_DEVICE_CFG + vp->config_len) {
		*value = virtio_get_le(
		    vp->config + (off - VIRTIO_PCI_DEVICE_CFG), size);
	} else if (off >= VIRTIO_PCI_MSIX_TABLE && off < VIRTIO_PCI_MSIX_PBA) {
		*value = msix_read(vp, off - VIRTIO_PCI_MSIX_TABLE, size);
	} else if (off == VIRTIO_PCI_MSIX_PBA) {
		*value = vp->pba;
	}
	return 0;
}

int virtio_pci_write(struct virtio_pci *vp, u64 offset, u8 size, u64 value)
{
	u32 off = (u32)offset;

	if (offset >= VIRTIO_PCI_BAR_SIZE)
		return 0;
	if (off < VIRTIO_PCI_COMMON_LEN) {
		common_write(vp, off, size, value);
	} else if (off >= VIRTIO_PCI_NOTIFY &&
		   off < VIRTIO_PCI_NOTIFY +
			     VIRTIO_MAX_QUEUES * VIRTIO_PCI_NOTIFY_MULT) {
		u16 q =
		    (u16)((off - VIRTIO_PCI_NOTIFY) / VIRTIO_PCI_NOTIFY_MULT);

		vp->kicks++;
		if (virtio_pci_queue_live(vp, q))
			vp->ops->kick(vp, q);
	} else if (off >= VIRTIO_PCI_MSIX_TABLE && off < VIRTIO_PCI_MSIX_PBA) {
		msix_write(vp, off - VIRTIO_PCI_MSIX_TABLE, size, value);
	}
	/* The device configuration of the devices so far is read-only;
	 * ISR and PBA are too. */
	return 0;
}

/* ---- PCI configuration space ---- */

/* The guest wrote configuration space: follow its BAR, command and MSI-X
 * control. */
static void config_written(struct vpci_func *f, u8 offset, u8 size)
{
	struct virtio_pci *vp = f->opaque;
	u64 bar = vpci_func_bar(f, VIRTIO_PCI_BAR);

	(void)offset;
	(void)size;
	if (bar != vp->bar_mapped) {
		u64 old = vp->bar_mapped;

		vp->bar_mapped = bar;
		vp->host.map(vp->host.ctx, vp, old, bar);
	}
	update_intx(vp);
	msix_unmasked(vp);
}

static u8 add_virtio_cap(struct vpci_func *f, u8 type, u32 offset, u32 len,
			 u8 cap_len)
{
	u8 at = vpci_func_add_cap(f, CAP_ID_VENDOR, cap_len);

	if (!at)
		return 0;
	f->config[at + 2] = cap_len;
	f->config[at + 3] = type;
	f->config[at + 4] = VIRTIO_PCI_BAR;
	vpci_func_put(f, at + 8, offset, 4);
	vpci_func_put(f, at + 12, len, 4);
	return at;
}

bool virtio_pci_init(struct virtio_pci *vp, const struct virtio_device_ops *ops,
		     void *dev, const struct virtio_host *host, u8 slot,
		     u64 bar_base, u64 features, u32 config_len)
{
	const struct vpci_ids ids = {
	    .vendor = VIRTIO_PCI_VENDOR,
	    .device = (u16)(VIRTIO_PCI_DEVICE_BASE + ops->type),
	    .subsys_vendor = VIRTIO_PCI_VENDOR,
	    .subsys = (u16)(VIRTIO_PCI_DEVICE_BASE + ops->type),
	    .class_code = ops->class_code,
	    .revision = VIRTIO_PCI_REVISION,
	    .intr_pin = 1,
	    .command_mask =
		VPCI_CMD_MEMORY | VPCI_CMD_BUS_MASTER | VPCI_CMD_INTX_DISABLE,
	};
	struct vpci_func *f = &vp->pci;
	u8 notify, msix;

	if (!ops->queues || ops->queues > VIRTIO_MAX_QUEUES ||
	    !ops->queue_max || ops->queue_max > VIRTQ_MAX_SIZE ||
	    (ops->queue_max & (ops->queue_max - 1)) ||
	    config_len > VIRTIO_CONFIG_MAX)
		return false;
	vp->ops = ops;
	vp->dev = dev;
	vp->host = *host;
	vp->slot = slot;
	vp->features = features | VIRTIO_F_VERSION_1;
	vp->config_len = config_len;
	vp->bar_mapped = VPCI_BAR_NONE;
	vpci_func_init(f, &ids, config_written, vp);
	if (!vpci_func_add_bar(f, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, true,
			       bar_base))
		return false;
	msix = vpci_func_add_cap(f, CAP_ID_MSIX, MSIX_CAP_LEN);
	if (!msix)
		return false;
	vp->msix_cap = msix;
	vpci_func_put(f, msix + MSIX_CTRL, VIRTIO_MSIX_VECTORS - 1, 2);
	vpci_func_set_wmask(f, msix + MSIX_CTRL,
			    MSIX_CTRL_ENABLE | MSIX_CTRL_MASK, 2);
	vpci_func_put(f, msix + 4, VIRTIO_PCI_MSIX_TABLE | VIRTIO_PCI_BAR, 4);
	vpci_func_put(f, msix + 8, VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_BAR, 4);
	notify = add_virtio_cap(f, VIRTIO_CAP_NOTIFY, VIRTIO_PCI_NOTIFY,
				VIRTIO_MAX_QUEUES * VIRTIO_PCI_NOTIFY_MULT,
				VIRTIO_NOTIFY_CAP_LEN);
	if (!notify ||
	    !add_virtio_cap(f, VIRTIO_CAP_COMMON, VIRTIO_PCI_COMMON,
			    VIRTIO_PCI_COMMON_LEN, VIRTIO_CAP_LEN) ||
	    !add_virtio_cap(f, VIRTIO_CAP_ISR, VIRTIO_PCI_ISR, 1,
			    VIRTIO_CAP_LEN) ||
	    (config_len &&
	     !add_virtio_cap(f, VIRTIO_CAP_DEVICE, VIRTIO_PCI_DEVICE_CFG,
			     config_len, VIRTIO_CAP_LEN)))
		return false;
	vpci_func_put(f, notify + 16, VIRTIO_PCI_NOTIFY_MULT, 4);
	for (u32 i = 0; i < VIRTIO_MSIX_VECTORS; i++)
		vp->msix[i].ctrl = MSIX_ENTRY_MASKED; /* reset state, 6.8.2.9 */
	device_reset(vp);
	return true;
}
