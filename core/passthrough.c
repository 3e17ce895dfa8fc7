// SPDX-License-Identifier: MIT
/* Host PCI functions given to guests: core/passthrough.h. */
#include "core/passthrough.h"

#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "core/guestcfg.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"
#include "core/vm.h"
#include "drivers/iommu.h"
#include "drivers/pci.h"
#include "drivers/uart.h"

/* Class codes never given away (PCI Code and ID Assignment 1.x). */
#define CLASS_BRIDGE   0x06
#define CLASS_SYSTEM   0x08
#define SUBCLASS_IOMMU 0x06
/* PCI Express capability (PCIe 4.0, 7.5.3): Device Capabilities bit 28
 * Function Level Reset, Device Control bit 15 Initiate FLR; the function
 * is usable again 100 ms later (6.6.2). */
#define PCIE_DEVCAP	0x04
#define PCIE_DEVCAP_FLR BIT(28)
#define PCIE_DEVCTL	0x08
#define PCIE_DEVCTL_FLR BIT(15)
#define FLR_WAIT_US	100000

/* Which guest owns each claimed function: host state (one machine). */
static struct {
	u16 bdf;
	u32 vm_id;
	bool used;
} owners[VM_MAX * GUESTCFG_PCI_MAX];
static spinlock_t owners_lock = SPINLOCK_INIT;

/* Whether a guest owns bdf, and which (owners_lock held). */
static bool owned(u16 bdf, u32 *vm_id)
{
	for (u32 i = 0; i < ARRAY_SIZE(owners); i++)
		if (owners[i].used && owners[i].bdf == bdf) {
			*vm_id = owners[i].vm_id;
			return true;
		}
	return false;
}

/* Why `dev` cannot be given to a guest, or NULL when it can. */
static const char *unfit(const struct pci_device *dev)
{
	if (dev->header_type != PCI_HEADER_ENDPOINT)
		return "it is a bridge, not a device";
	if (dev->class_base == CLASS_BRIDGE)
		return "it is a host or ISA bridge";
	if (dev->class_base == CLASS_SYSTEM && dev->class_sub == SUBCLASS_IOMMU)
		return "it is the IOMMU";
	for (u32 i = 0; i < dev->bar_count; i++) {
		const struct pci_bar *b = &dev->bars[i];
		u16 port = uart_port();

		/* A PCI serial card may be where Veneer's console is. */
		if (b->kind == PCI_BAR_IO && b->size && b->base < port + 8u &&
		    b->base + b->size > port)
			return "it is the console's UART (its I/O BAR decodes "
			       "Veneer's console port)";
		if ((b->kind == PCI_BAR_MEM32 || b->kind == PCI_BAR_MEM64) &&
		    b->size && (b->base + b->size > GiB(4) || !b->base))
			return "a memory BAR is unassigned or above 4 GiB, "
			       "where Veneer maps no device memory";
	}
	return NULL;
}

/* Stop the function's DMA and decoding; reset it when it can be. */
static void stop_function(u16 bdf)
{
	const struct pci_device *dev = pci_find(bdf);
	u32 cmd = pci_config_read32(bdf, PCI_CFG_COMMAND);
	u32 saved[PCI_MAX_BARS + 1];

	pci_config_write32(
	    bdf, PCI_CFG_COMMAND,
	    cmd & 0xffff &
		~(u32)(PCI_CMD_MASTER | PCI_CMD_MEMORY | PCI_CMD_IO));
	if (!dev || !dev->pcie_cap ||
	    !(pci_config_read32(bdf, dev->pcie_cap + PCIE_DEVCAP) &
	      PCIE_DEVCAP_FLR))
		return;
	/* The reset clears the BARs the firmware placed: kept and put back
	 * (the host's layout never changes). */
	for (u32 i = 0; i < PCI_MAX_BARS; i++)
		saved[i] = pci_config_read32(bdf, PCI_CFG_BAR0 + 4 * i);
	saved[PCI_MAX_BARS] = pci_config_read32(bdf, PCI_CFG_INTERRUPT);
	/* Device Status, the dword's upper half, is write-one-to-clear:
	 * written as 0, so its error bits stay for whoever reads them. */
	pci_config_write32(
	    bdf, dev->pcie_cap + PCIE_DEVCTL,
	    (pci_config_read32(bdf, dev->pcie_cap + PCIE_DEVCTL) & 0xffff) |
		PCIE_DEVCTL_FLR);
	udelay(FLR_WAIT_US);
	for (u32 i = 0; i < PCI_MAX_BARS; i++)
		pci_config_write32(bdf, PCI_CFG_BAR0 + 4 * i, saved[i]);
	pci_config_write32(bdf, PCI_CFG_INTERRUPT, saved[PCI_MAX_BARS]);
}

static void unclaim(struct vm *vm)
{
	spin_lock(&owners_lock);
	for (u32 i = 0; i < ARRAY_SIZE(owners); i++)
		if (owners[i].used && owners[i].vm_id == vm->id)
			owners[i].used = false;
	spin_unlock(&owners_lock);
	vm->pci_count = 0;
}

static bool claim_one(struct vm *vm, u16 bdf, char *err, size_t errlen)
{
	const struct pci_device *dev = pci_find(bdf);
	const char *why = dev ? unfit(dev) : "the host has no such function";
	u32 other = 0;
	bool taken;

	if (why) {
		snformat(err, errlen, "pci %02x:%02x.%x: %s", PCI_BUS(bdf),
			 PCI_DEV(bdf), PCI_FUNC(bdf), why);
		return false;
	}
	spin_lock(&owners_lock);
	taken = owned(bdf, &other);
	for (u32 i = 0; !taken && i < ARRAY_SIZE(owners); i++)
		if (!owners[i].used) {
			owners[i].used = true;
			owners[i].bdf = bdf;
			owners[i].vm_id = vm->id;
			break;
		}
	spin_unlock(&owners_lock);
	if (taken) {
		snformat(err, errlen,
			 "pci %02x:%02x.%x: another guest owns it (guest "
			 "number %u)",
			 PCI_BUS(bdf), PCI_DEV(bdf), PCI_FUNC(bdf), other + 1);
		return false;
	}
	vm->pci[vm->pci_count++] = bdf;
	return true;
}

bool passthrough_claim(struct vm *vm, const struct guest_cfg *cfg, char *err,
		       size_t errlen)
{
	char why[160];
	int rc;

	vm->pci_count = 0;
	vm->dma = NULL;
	if (!cfg->pci_count)
		return true;
	if (!iommu_present() && !cfg->pci_unsafe) {
		snformat(err, errlen,
			 "pci %02x:%02x.%x: no IOMMU is on, and without one "
			 "the device could write anywhere in the machine "
			 "(pci_unsafe = yes gives it anyway)",
			 PCI_BUS(cfg->pci[0]), PCI_DEV(cfg->pci[0]),
			 PCI_FUNC(cfg->pci[0]));
		return false;
	}
	for (u32 i = 0; i < cfg->pci_count; i++)
		if (!claim_one(vm, cfg->pci[i], err, errlen))
			goto undo;
	if (!iommu_present()) {
		/* The operator asked for it: the device's DMA goes to host
		 * addresses, and nothing stops it (docs/passthrough.md). */
		for (u32 i = 0; i < vm->pci_count; i++) {
			stop_function(vm->pci[i]);
			printk("veneer: guest %s: warning: pci %02x:%02x.%x "
			       "given without an IOMMU (pci_unsafe = yes): "
			       "its DMA can reach any memory of the "
			       "machine\n",
			       vm->name, PCI_BUS(vm->pci[i]),
			       PCI_DEV(vm->pci[i]), PCI_FUNC(vm->pci[i]));
		}
		return true;
	}
	vm->dma = iommu_domain_create(vm->name, why, sizeof(why));
	if (!vm->dma) {
		snformat(err, errlen, "pci: %s", why);
		goto undo;
	}
	/* Exactly its RAM, at its guest-physical addresses: what its vCPUs
	 * see through the nested tables, and nothing else. */
	rc = iommu_map(vm->dma, 0, vm->ram_hpa, vm->ram_alloc_pages * PAGE_SIZE,
		       PT_R | PT_W);
	if (rc) {
		snformat(err, errlen, "pci: the DMA view of its RAM: %s",
			 pt_error_string(rc));
		goto undo;
	}
	for (u32 i = 0; i < vm->pci_count; i++) {
		stop_function(vm->pci[i]);
		if (iommu_attach(vm->pci[i], vm->dma, why, sizeof(why))) {
			snformat(err, errlen, "pci %02x:%02x.%x: %s",
				 PCI_BUS(vm->pci[i]), PCI_DEV(vm->pci[i]),
				 PCI_FUNC(vm->pci[i]), why);
			goto undo;
		}
	}
	return true;
undo:
	passthrough_release(vm);
	return false;
}

void passthrough_quiesce(struct vm *vm)
{
	for (u32 i = 0; i < vm->pci_count; i++)
		stop_function(vm->pci[i]);
}

void passthrough_poll(struct vm *vm)
{
	u64 now = rdtsc();

	if (now < vm->dma_poll_due)
		return;
	vm->dma_poll_due = now + tsc_from_us(PASSTHROUGH_POLL_US);
	iommu_poll_faults();
}

bool passthrough_release(struct vm *vm)
{
	bool blocked;

	/* What its devices did last is still told under its name. */
	if (vm->dma)
		iommu_flush_reports();
	passthrough_quiesce(vm);
	/* Blocks every function of the domain again, then frees it. */
	blocked = iommu_domain_destroy(vm->dma);
	vm->dma = NULL;
	unclaim(vm);
	return blocked;
}
