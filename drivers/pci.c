/* SPDX-License-Identifier: MIT */
/*
 * Host PCI configuration access and the enumeration at boot (contract in
 * drivers/pci.h).
 *
 * One table of what was found, filled once on the boot CPU before the APs
 * start and only read afterwards; nothing in it belongs to a guest.
 */
#include "drivers/pci.h"
#include "arch/x86/cpu.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"
#include "core/lib/string.h"

/* PCIe 7.2.2: 4 KiB of configuration space per function, 1 MiB per bus. */
#define ECAM_FUNC_SHIFT 12
#define ECAM_BUS_SIZE	MiB(1)

/* PCI 3.0 3.2.2.3.2: CONFIG_ADDRESS bit 31 enables the access. */
#define PORT_ENABLE 0x80000000u

/* What a debug line holds at most before it continues on another one. */
#define LINE_MAX 100

static struct pci_access access;
static struct pci_device devices[PCI_MAX_DEVICES];
static u32 device_count;

/* ---- configuration access ---- */

/*
 * ECAM (PCIe 7.2.2): bus << 20 | device << 15 | function << 12 | offset
 * from the MCFG's base, which is bus 0's; that is the requester ID << 12.
 * One aligned 32-bit access, as the specification asks of software.
 */
static u32 ecam_read32(u16 bdf, u16 offset)
{
	u64 pa = access.ecam_base + ((u64)bdf << ECAM_FUNC_SHIFT) + offset;

	return *(volatile const u32 *)(uintptr_t)pa;
}

static void ecam_write32(u16 bdf, u16 offset, u32 value)
{
	u64 pa = access.ecam_base + ((u64)bdf << ECAM_FUNC_SHIFT) + offset;

	*(volatile u32 *)(uintptr_t)pa = value;
}

static const struct pci_config_ops ecam_ops = {
    .read32 = ecam_read32,
    .write32 = ecam_write32,
};

/*
 * Configuration mechanism #1 (PCI 3.0 3.2.2.3.2): CONFIG_ADDRESS at 0xCF8
 * takes enable, bus 23:16, device 15:11, function 10:8 and the register
 * 7:2, then CONFIG_DATA at 0xCFC moves the dword. The two steps must not
 * interleave with another CPU's.
 */
static spinlock_t port_lock = SPINLOCK_INIT;

static u32 port_address(u16 bdf, u16 offset)
{
	return PORT_ENABLE | (u32)bdf << 8 | (offset & 0xfc);
}

static u32 port_read32(u16 bdf, u16 offset)
{
	u32 v;

	spin_lock(&port_lock);
	outl(PCI_PORT_ADDRESS, port_address(bdf, offset));
	v = inl(PCI_PORT_DATA);
	spin_unlock(&port_lock);
	return v;
}

static void port_write32(u16 bdf, u16 offset, u32 value)
{
	spin_lock(&port_lock);
	outl(PCI_PORT_ADDRESS, port_address(bdf, offset));
	outl(PCI_PORT_DATA, value);
	spin_unlock(&port_lock);
}

static const struct pci_config_ops port_ops = {
    .read32 = port_read32,
    .write32 = port_write32,
};

void pci_set_access(const struct pci_config_ops *ops, u8 first_bus, u8 last_bus,
		    u16 config_size)
{
	access = (struct pci_access){
	    .ops = ops,
	    .first_bus = first_bus,
	    .last_bus = last_bus,
	    .config_size = config_size,
	};
}

static void use_ports(void)
{
	pci_set_access(&port_ops, 0, 255, 256);
}

void pci_setup_access(const struct acpi_mcfg_info *mcfg)
{
	const struct acpi_mcfg_entry *seg0 = NULL;

	use_ports();
	for (u32 i = 0; mcfg && i < mcfg->count; i++) {
		const struct acpi_mcfg_entry *e = &mcfg->entries[i];

		if (e->segment == 0 && !seg0) {
			seg0 = e;
			continue;
		}
		printk_at(LOG_INFO,
			  "veneer: pci: segment %u (buses %02x-%02x at "
			  "0x%llx) not scanned: segment 0 only\n",
			  e->segment, e->start_bus, e->end_bus,
			  (unsigned long long)e->base);
	}
	if (!seg0)
		return;

	u64 start = seg0->base + (u64)seg0->start_bus * ECAM_BUS_SIZE;
	u64 end = seg0->base + ((u64)seg0->end_bus + 1) * ECAM_BUS_SIZE;

	/* Only memory below 4 GiB is mapped (arch/x86/paging.c). */
	if (end > GiB(4) || end < start) {
		printk("veneer: pci: ECAM of buses %02x-%02x at 0x%llx-0x%llx "
		       "is above 4 GiB, not mapped: using ports 0xcf8\n",
		       seg0->start_bus, seg0->end_bus,
		       (unsigned long long)start, (unsigned long long)end - 1);
		return;
	}
	pci_set_access(&ecam_ops, seg0->start_bus, seg0->end_bus, 4096);
	access.ecam = true;
	access.ecam_base = seg0->base;
}

const struct pci_access *pci_get_access(void)
{
	return &access;
}

u32 pci_config_read32(u16 bdf, u16 offset)
{
	if (!access.ops || offset >= access.config_size || (offset & 3))
		return 0xffffffffu;
	return access.ops->read32(bdf, offset);
}

void pci_config_write32(u16 bdf, u16 offset, u32 value)
{
	if (!access.ops || offset >= access.config_size || (offset & 3))
		return;
	access.ops->write32(bdf, offset, value);
}

static void config_write32(u16 bdf, u16 offset, u32 value)
{
	pci_config_write32(bdf, offset, value);
}

static u8 config_read8(u16 bdf, u16 offset)
{
	return (u8)(pci_config_read32(bdf, offset & ~3) >> (8 * (offset & 3)));
}

/* ---- one function ---- */

static void warn(u16 bdf, const char *fmt, ...) __printf(2, 3);

/* "veneer: pci: warning: BB:DD.F: WHAT" */
static void warn(u16 bdf, const char *fmt, ...)
{
	char what[120];
	va_list ap;

	va_start(ap, fmt);
	vsnformat(what, sizeof(what), fmt, ap);
	va_end(ap);
	printk("veneer: pci: warning: %02x:%02x.%x: %s\n", PCI_BUS(bdf),
	       PCI_DEV(bdf), PCI_FUNC(bdf), what);
}

static bool power_of_two(u64 v)
{
	return v && !(v & (v - 1));
}

/* Writes all ones to the BAR dword at offset, reads back, restores it. */
static u32 probe_dword(u16 bdf, u16 offset, u32 saved)
{
	u32 probe;

	config_write32(bdf, offset, 0xffffffffu);
	probe = pci_config_read32(bdf, offset);
	config_write32(bdf, offset, saved);
	return probe;
}

/*
 * Sizes BAR i (PCI 3.0 6.2.5.1): the bits that stay 0 after writing ones
 * are the size's. Returns how many BAR slots it took (2 for 64-bit).
 */
static u32 size_bar(struct pci_device *d, u32 i)
{
	struct pci_bar *bar = &d->bars[i];
	u16 off = (u16)(PCI_CFG_BAR0 + 4 * i);
	u32 saved = pci_config_read32(d->bdf, off);
	u32 probe = probe_dword(d->bdf, off, saved);
	u64 mask, size;

	if (saved & 1) {
		/* I/O: bits 1:0 are read-only; a 16-bit decoder may keep
		 * 31:16 at 0 (6.2.5.1). */
		mask = probe & ~3u;
		if (!mask)
			return 1;
		if (!(mask & 0xffff0000u))
			mask |= 0xffff0000u;
		mask |= 0xffffffff00000000ull;
		bar->kind = PCI_BAR_IO;
		bar->base = saved & ~3u;
	} else {
		/* Memory: bits 3:0 read-only; 2:1 the type, 3 prefetchable. */
		u32 type = (saved >> 1) & 3;

		mask = probe & ~0xfu;
		bar->prefetchable = saved & 8;
		bar->base = saved & ~0xfu;
		if (type == 2) {
			u32 saved_hi, probe_hi;

			if (i + 1 >= d->bar_count) {
				warn(
				    d->bdf,
				    "bar%u is 64-bit but the last BAR: ignored",
				    i);
				bar->prefetchable = false;
				bar->base = 0;
				return 1;
			}
			saved_hi = pci_config_read32(d->bdf, off + 4);
			probe_hi = probe_dword(d->bdf, off + 4, saved_hi);
			mask |= (u64)probe_hi << 32;
			bar->base |= (u64)saved_hi << 32;
			d->bars[i + 1].kind = PCI_BAR_MEM64_HI;
			if (!mask) {
				bar->prefetchable = false;
				bar->base = 0;
				return 2;
			}
			bar->kind = PCI_BAR_MEM64;
		} else if (type == 3) {
			warn(d->bdf,
			     "bar%u has the reserved memory type 3: "
			     "ignored",
			     i);
			bar->prefetchable = false;
			bar->base = 0;
			return 1;
		} else {
			/* Type 1 (below 1 MiB, PCI 2.x) decodes 32 bits too. */
			if (!mask) {
				bar->prefetchable = false;
				bar->base = 0;
				return 1;
			}
			mask |= 0xffffffff00000000ull;
			bar->kind = PCI_BAR_MEM32;
		}
	}
	size = ~mask + 1;
	if (!power_of_two(size) || (mask | (size - 1)) != ~0ull) {
		u32 slots = bar->kind == PCI_BAR_MEM64 ? 2 : 1;

		warn(d->bdf,
		     "bar%u sizes to nonsense (size mask 0x%llx): ignored", i,
		     (unsigned long long)mask);
		memset(bar, 0, sizeof(*bar) * slots);
		return slots;
	}
	/* The address bits below the size read back 0, so the base is
	 * aligned to it: a set one made the mask above not contiguous. */
	bar->size = size;
	return bar->kind == PCI_BAR_MEM64 ? 2 : 1;
}

/*
 * The BARs, with the function's I/O and memory decoding off meanwhile so
 * that the all-ones address never decodes (6.2.5.1), and the command
 * register put back after every BAR is. The status register shares the
 * dword: it is written as 0, which changes none of its write-one-to-clear
 * bits (6.2.3).
 */
static void size_bars(struct pci_device *d)
{
	u16 cmd = (u16)pci_config_read32(d->bdf, PCI_CFG_COMMAND);
	bool decoding = cmd & (PCI_CMD_IO | PCI_CMD_MEMORY);

	if (!d->bar_count)
		return;
	if (decoding)
		config_write32(d->bdf, PCI_CFG_COMMAND,
			       cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY));
	for (u32 i = 0; i < d->bar_count;)
		i += size_bar(d, i);
	if (decoding)
		config_write32(d->bdf, PCI_CFG_COMMAND, cmd);
}

/* The capabilities list (PCI 3.0 6.7): the ones remembered. */
static void walk_caps(struct pci_device *d)
{
	u8 ptr = config_read8(d->bdf, PCI_CFG_CAP_PTR);

	for (u32 n = 0; ptr; n++) {
		u32 hdr, table;

		if (n == PCI_CAP_MAX) {
			warn(d->bdf,
			     "more than %u capabilities (a loop?): list "
			     "ended at 0x%02x",
			     PCI_CAP_MAX, ptr);
			return;
		}
		/* The spec has software mask bits 1:0; set ones are a
		 * broken list here, as is a pointer into the header. */
		if (ptr < PCI_CAP_FIRST || (ptr & 3)) {
			warn(d->bdf,
			     "capability pointer 0x%02x is %s: list ended", ptr,
			     ptr < PCI_CAP_FIRST ? "in the header"
						 : "not dword aligned");
			return;
		}
		hdr = pci_config_read32(d->bdf, ptr);
		switch (hdr & 0xff) {
		case PCI_CAP_ID_MSI:
			if (!d->msi_cap)
				d->msi_cap = ptr;
			break;
		case PCI_CAP_ID_MSIX:
			/* 6.8.2: Message Control 10:0 is the table size - 1;
			 * the Table Offset/BIR dword follows. */
			if (d->msix_cap)
				break;
			d->msix_cap = ptr;
			d->msix_table_size = (u16)(((hdr >> 16) & 0x7ff) + 1);
			table = pci_config_read32(d->bdf, (u16)(ptr + 4));
			d->msix_table_bar = table & 7;
			d->msix_table_offset = table & ~7u;
			if (d->msix_table_bar >= d->bar_count ||
			    (d->bars[d->msix_table_bar].kind != PCI_BAR_MEM32 &&
			     d->bars[d->msix_table_bar].kind != PCI_BAR_MEM64))
				warn(d->bdf,
				     "MSI-X table in bar%u, not a memory BAR "
				     "it has",
				     d->msix_table_bar);
			break;
		case PCI_CAP_ID_PCIE:
			/* PCIe 7.5.3.2: Device/Port Type is bits 7:4 of the
			 * capabilities register at +2. */
			if (d->pcie_cap)
				break;
			d->pcie_cap = ptr;
			d->pcie_type = (hdr >> 20) & 0xf;
			break;
		default:
			break;
		}
		ptr = (u8)(hdr >> 8);
	}
}

static void probe_function(struct pci_device *d, u16 bdf, u32 id)
{
	u32 class_rev = pci_config_read32(bdf, PCI_CFG_CLASS_REV);
	u8 header = (u8)(pci_config_read32(bdf, PCI_CFG_HEADER_DWORD) >> 16);
	u32 intr = pci_config_read32(bdf, PCI_CFG_INTERRUPT);
	u16 status = (u16)(pci_config_read32(bdf, PCI_CFG_COMMAND) >> 16);

	memset(d, 0, sizeof(*d));
	d->bdf = bdf;
	d->vendor = (u16)id;
	d->device = (u16)(id >> 16);
	d->revision = (u8)class_rev;
	d->prog_if = (u8)(class_rev >> 8);
	d->class_sub = (u8)(class_rev >> 16);
	d->class_base = (u8)(class_rev >> 24);
	d->header_type = header & PCI_HEADER_TYPE_MASK;
	d->multifunction = header & PCI_HEADER_MULTIFN;
	d->irq_line = (u8)intr;
	d->irq_pin = (u8)(intr >> 8);
	d->parent = -1;
	if (d->irq_pin > 4) {
		warn(bdf, "interrupt pin %u is not INTA#-INTD#: none",
		     d->irq_pin);
		d->irq_pin = 0;
	}
	switch (d->header_type) {
	case PCI_HEADER_ENDPOINT:
		d->bar_count = 6;
		break;
	case PCI_HEADER_BRIDGE: {
		u32 buses = pci_config_read32(bdf, PCI_CFG_BUS_NUMBERS);

		d->bar_count = 2;
		d->primary_bus = (u8)buses;
		d->secondary_bus = (u8)(buses >> 8);
		d->subordinate_bus = (u8)(buses >> 16);
		break;
	}
	case PCI_HEADER_CARDBUS:
		return; /* neither BARs nor capabilities looked into */
	default:
		warn(bdf, "unknown header type %u: only its IDs are read",
		     d->header_type);
		return;
	}
	size_bars(d);
	if (status & PCI_STATUS_CAP_LIST)
		walk_caps(d);
}

/* ---- the enumeration ---- */

/*
 * A bridge's buses: secondary..subordinate, when the firmware numbered it
 * (a secondary bus above its own bus and a subordinate not below it).
 */
static bool bridge_holds(const struct pci_device *b, u8 bus)
{
	return b->header_type == PCI_HEADER_BRIDGE &&
	       b->secondary_bus > PCI_BUS(b->bdf) &&
	       b->subordinate_bus >= b->secondary_bus &&
	       bus >= b->secondary_bus && bus <= b->subordinate_bus;
}

/* The parent: of the bridges whose range holds the bus, the innermost. */
static void link_parents(void)
{
	for (u32 i = 0; i < device_count; i++) {
		struct pci_device *d = &devices[i];
		u8 bus = PCI_BUS(d->bdf);

		d->parent = -1;
		for (u32 j = 0; j < device_count; j++) {
			const struct pci_device *b = &devices[j];

			if (j == i || !bridge_holds(b, bus))
				continue;
			if (d->parent < 0 ||
			    b->secondary_bus > devices[d->parent].secondary_bus)
				d->parent = (i32)j;
		}
	}
}

const char *pcie_type_name(u8 type)
{
	switch (type) {
	case PCIE_TYPE_ENDPOINT:
		return "endpoint";
	case PCIE_TYPE_LEGACY_ENDPOINT:
		return "legacy-endpoint";
	case PCIE_TYPE_ROOT_PORT:
		return "root-port";
	case PCIE_TYPE_UPSTREAM:
		return "upstream-port";
	case PCIE_TYPE_DOWNSTREAM:
		return "downstream-port";
	case PCIE_TYPE_PCIE_TO_PCI:
		return "pcie-to-pci";
	case PCIE_TYPE_PCI_TO_PCIE:
		return "pci-to-pcie";
	case PCIE_TYPE_RC_ENDPOINT:
		return "rc-endpoint";
	case PCIE_TYPE_RC_EVENT:
		return "rc-event-collector";
	default:
		return "?";
	}
}

/* A debug description, continued on more lines when it grows long. */
struct line {
	char head[24]; /* "veneer: pci: BB:DD.F" */
	char text[LINE_MAX + 24];
	size_t len;
	bool items;
};

static void line_flush(struct line *l)
{
	if (l->items)
		printk_at(LOG_DEBUG, "%s\n", l->text);
	l->len = str_copy(l->text, l->head, sizeof(l->text));
	l->items = false;
}

static void line_add(struct line *l, const char *fmt, ...) __printf(2, 3);

static void line_add(struct line *l, const char *fmt, ...)
{
	char item[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnformat(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(item))
		n = (int)sizeof(item) - 1;
	if (l->items && l->len + 1 + (size_t)n > LINE_MAX)
		line_flush(l);
	l->len += (size_t)snformat(l->text + l->len, sizeof(l->text) - l->len,
				   " %s", item);
	if (l->len >= sizeof(l->text))
		l->len = sizeof(l->text) - 1;
	l->items = true;
}

/* 128K, 16M, 4G; bytes when not a whole KiB. */
static void size_text(u64 size, char *buf, size_t len)
{
	if (size >= GiB(1) && IS_ALIGNED(size, GiB(1)))
		snformat(buf, len, "%lluG", (unsigned long long)(size >> 30));
	else if (size >= MiB(1) && IS_ALIGNED(size, MiB(1)))
		snformat(buf, len, "%lluM", (unsigned long long)(size >> 20));
	else if (size >= KiB(1) && IS_ALIGNED(size, KiB(1)))
		snformat(buf, len, "%lluK", (unsigned long long)(size >> 10));
	else
		snformat(buf, len, "%llu", (unsigned long long)size);
}

static void describe(const struct pci_device *d)
{
	static const char *const bar_kinds[] = {
	    [PCI_BAR_IO] = "io",
	    [PCI_BAR_MEM32] = "mem32",
	    [PCI_BAR_MEM64] = "mem64",
	};
	struct line l = {.items = false};
	char caps[64] = "";
	size_t clen = 0;

	snformat(l.head, sizeof(l.head), "veneer: pci: %02x:%02x.%x",
		 PCI_BUS(d->bdf), PCI_DEV(d->bdf), PCI_FUNC(d->bdf));
	line_flush(&l);
	line_add(&l, "%04x:%04x", d->vendor, d->device);
	line_add(&l, "class %02x.%02x.%02x", d->class_base, d->class_sub,
		 d->prog_if);
	line_add(&l, "rev %02x", d->revision);
	if (d->header_type == PCI_HEADER_BRIDGE)
		line_add(&l, "bridge -> buses %02x-%02x", d->secondary_bus,
			 d->subordinate_bus);
	else if (d->header_type == PCI_HEADER_CARDBUS)
		line_add(&l, "cardbus");
	if (d->irq_pin)
		line_add(&l, "irq pin %c line %u", 'A' + d->irq_pin - 1,
			 d->irq_line);
	if (d->msi_cap)
		clen +=
		    (size_t)snformat(caps + clen, sizeof(caps) - clen, " msi");
	if (d->msix_cap && clen < sizeof(caps))
		clen += (size_t)snformat(caps + clen, sizeof(caps) - clen,
					 " msix(%u in bar%u+0x%x)",
					 d->msix_table_size, d->msix_table_bar,
					 d->msix_table_offset);
	if (d->pcie_cap && clen < sizeof(caps))
		clen +=
		    (size_t)snformat(caps + clen, sizeof(caps) - clen,
				     " pcie(%s)", pcie_type_name(d->pcie_type));
	if (clen)
		line_add(&l, "caps%s", caps);
	if (d->parent >= 0) {
		u16 p = devices[d->parent].bdf;

		line_add(&l, "behind %02x:%02x.%x", PCI_BUS(p), PCI_DEV(p),
			 PCI_FUNC(p));
	}
	line_flush(&l); /* the BARs on lines of their own */
	for (u32 i = 0; i < d->bar_count; i++) {
		const struct pci_bar *b = &d->bars[i];
		char size[24];

		if (b->kind == PCI_BAR_NONE || b->kind == PCI_BAR_MEM64_HI)
			continue;
		size_text(b->size, size, sizeof(size));
		line_add(&l, "bar%u %s%s 0x%llx %s", i, bar_kinds[b->kind],
			 b->prefetchable ? " pref" : "",
			 (unsigned long long)b->base, size);
	}
	line_flush(&l);
}

u32 pci_enumerate(void)
{
	static bool bus_used[256];
	u32 found = 0, buses = 0;

	memset(devices, 0, sizeof(devices));
	memset(bus_used, 0, sizeof(bus_used));
	device_count = 0;
	if (!access.ops)
		use_ports();
	for (u32 bus = access.first_bus; bus <= access.last_bus; bus++) {
		for (u32 dev = 0; dev < 32; dev++) {
			u32 functions = 1;

			for (u32 fn = 0; fn < functions; fn++) {
				u16 bdf = PCI_BDF(bus, dev, fn);
				u32 id = pci_config_read32(bdf, PCI_CFG_VENDOR);

				/* Reads of an absent function give vendor
				 * 0xFFFF (PCI 3.0 6.2.1); without function 0
				 * there is no device, whatever 1-7 say. */
				if ((id & 0xffff) == 0xffff)
					continue;
				if (fn == 0 &&
				    (config_read8(bdf,
						  PCI_CFG_HEADER_DWORD + 2) &
				     PCI_HEADER_MULTIFN))
					functions = 8;
				found++;
				if (!bus_used[bus]) {
					bus_used[bus] = true;
					buses++;
				}
				if (device_count < PCI_MAX_DEVICES)
					probe_function(&devices[device_count++],
						       bdf, id);
			}
		}
	}
	link_parents();
	if (access.ecam)
		printk_at(LOG_INFO,
			  "veneer: pci: %u function%s on %u bus%s (ECAM at "
			  "0x%llx, buses %u-%u)\n",
			  found, found == 1 ? "" : "s", buses,
			  buses == 1 ? "" : "es",
			  (unsigned long long)access.ecam_base,
			  access.first_bus, access.last_bus);
	else
		printk_at(LOG_INFO,
			  "veneer: pci: %u function%s on %u bus%s (ports "
			  "0xcf8, buses %u-%u)\n",
			  found, found == 1 ? "" : "s", buses,
			  buses == 1 ? "" : "es", access.first_bus,
			  access.last_bus);
	if (found > device_count)
		printk("veneer: pci: warning: %u functions beyond the %u the "
		       "table holds are not recorded\n",
		       found - device_count, PCI_MAX_DEVICES);
	if (printk_wants(LOG_DEBUG))
		for (u32 i = 0; i < device_count; i++)
			describe(&devices[i]);
	return device_count;
}

u32 pci_count(void)
{
	return device_count;
}

const struct pci_device *pci_device(u32 i)
{
	return i < device_count ? &devices[i] : NULL;
}

const struct pci_device *pci_find(u16 bdf)
{
	for (u32 i = 0; i < device_count; i++)
		if (devices[i].bdf == bdf)
			return &devices[i];
	return NULL;
}

int pci_secondary_bus(u16 bdf)
{
	const struct pci_device *d = pci_find(bdf);

	if (!d || d->header_type != PCI_HEADER_BRIDGE)
		return -1;
	return d->secondary_bus;
}
