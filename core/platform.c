/* SPDX-License-Identifier: MIT */
/*
 * The virtual PC: wiring of the device models (see core/platform.h).
 *
 * Guest time, the devices' clock, is the guest's TSC (core/vm.c: host TSC
 * + offset, frozen while Veneer handles an exit with clock=virtual) less
 * what the guest itself added to it through IA32_TSC and IA32_TSC_ADJUST
 * (core/msr.c keeps that sum in vm->msr_tsc_adjust, which is what the
 * architecture says IA32_TSC_ADJUST holds, SDM Vol. 3B 17.17.3), since
 * the platform started, in nanoseconds. As on a PC, moving the TSC moves
 * no device's time (the PIT, RTC, PM timer and APIC timer have clocks of
 * their own); only the TSC-deadline timer, which compares against the
 * TSC itself, sees it.
 */
#include "core/platform.h"
#include "drivers/pci.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/vdev/acpi_tables.h"
#include "core/vdev/vswitch.h"
#include "core/vm.h"
#include "core/mm.h"
#include "core/mmio.h"
#include "core/vcpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"

#define PM1_STATUS_PORT	 ACPI_TABLES_PM1A_EVT_PORT
#define PM1_ENABLE_PORT	 (ACPI_TABLES_PM1A_EVT_PORT + 2)
#define PM1_CONTROL_PORT ACPI_TABLES_PM1A_CNT_PORT
#define PM_TIMER_PORT	 ACPI_TABLES_PM_TMR_PORT
#define PM_TIMER_MASK	 0xffffffu /* a 24-bit PM timer (FADT TMR_VAL_EXT 0) */

/*
 * The guest's physical-address width, MAXPHYADDR: what its CPUID leaf
 * 80000008H EAX[7:0] says (core/cpuid.c passes the host's through; SDM
 * Vol. 3A 4.1.4), 36 when the leaf is missing (SDM Vol. 2A CPUID). The
 * local APIC reserves IA32_APIC_BASE bits from there up (SDM Vol. 3A
 * 11.4.4). Held to what vlapic_init() takes, 32-52.
 */
static u8 guest_phys_addr_bits(void)
{
	u8 bits = 36;

	if (cpuid(0x80000000u).eax >= 0x80000008u)
		bits = (u8)cpuid(0x80000008u).eax;
	return bits < 32 ? 32 : bits > 52 ? 52 : bits;
}

/* ---- time ---- */

#define NS_PER_S 1000000000ull

/* The guest's TSC without the guest's own moves of it (file comment). */
static u64 device_tsc(const struct platform *p)
{
	return vm_guest_tsc(p->vm) - p->vm->msr_tsc_adjust;
}

/* TSC ticks since the platform started. */
static u64 ticks_now(const struct platform *p)
{
	return device_tsc(p) - p->tsc_base;
}

/*
 * floor(ticks * 1e9 / hz), exactly, in 64-bit steps (hz <= 16 GHz, so
 * the remainder times 1e9 fits); saturated at ~0.
 */
static u64 ticks_to_ns(const struct platform *p, u64 ticks)
{
	u64 whole = ticks / p->tsc_hz, rest = ticks % p->tsc_hz;
	u64 part = rest * NS_PER_S / p->tsc_hz;

	if (whole > (~0ull - part) / NS_PER_S)
		return ~0ull;
	return whole * NS_PER_S + part;
}

/*
 * The fewest ticks in which `ns` nanoseconds have passed by
 * ticks_to_ns(): ceil(ns * hz / 1e9), the exact inverse, so that a
 * deadline's TSC is never early (not even by the one tick that would
 * make the vCPU exit for a timer that is not yet due). ~0 when it does
 * not fit in 64 bits.
 */
static u64 ns_to_ticks(const struct platform *p, u64 ns)
{
	u64 whole = ns / NS_PER_S, rest = ns % NS_PER_S;
	u64 part =
	    rest * p->tsc_hz / NS_PER_S + (rest * p->tsc_hz % NS_PER_S != 0);

	if (whole > (~0ull - part) / p->tsc_hz)
		return ~0ull;
	return whole * p->tsc_hz + part;
}

u64 platform_now_ns(const struct platform *p)
{
	return ticks_to_ns(p, ticks_now(p));
}

u64 platform_ns_to_tsc(const struct platform *p, u64 ns)
{
	u64 ticks, tsc, now;

	if (!ns)
		return 0;
	ticks = ns_to_ticks(p, ns);
	/*
	 * Further ahead than the run loop's horizon: never (platform.h). One
	 * reading of the clock, compared and subtracted: two (MIN evaluates
	 * its arguments twice) let a deadline that fell due between them
	 * look 2^64 ticks away, and the timer was never run.
	 */
	now = ticks_now(p);
	if (ticks > now && ticks - now > PLATFORM_TSC_HORIZON)
		return 0;
	tsc = ticks + p->tsc_base + p->vm->msr_tsc_adjust;
	return tsc ? tsc : 1; /* 0 means none: one tick later is the same */
}

static u64 clock_now(void *opaque)
{
	return platform_now_ns(opaque);
}

/*
 * The guest moved its TSC since the local APIC last heard: the
 * TSC-deadline timer compares against the TSC the guest sees
 * (vlapic_move_tsc re-arms it). Done before anything that asks the APIC.
 */
static void sync_lapic_tsc(struct platform *p, u64 now_ns)
{
	if (p->lapic_tsc_adjust == p->vm->msr_tsc_adjust)
		return;
	p->lapic_tsc_adjust = p->vm->msr_tsc_adjust;
	for (u32 i = 0; i < p->vcpus; i++)
		vlapic_move_tsc(&p->lapic[i], p->tsc_base + p->lapic_tsc_adjust,
				now_ns);
}

static u64 catch_up(struct platform *p);

/* ---- vCPUs ---- */

/* The vCPU's index: its local APIC, its NMI (NULL: vCPU 0). */
static inline __attribute__((always_inline)) u32
cpu_index(const struct vcpu *vcpu)
{
	return vcpu && vcpu->index < PLATFORM_MAX_VCPUS ? vcpu->index : 0;
}

/*
 * Something for vCPU `i` changed: with several vCPUs it may be running
 * or waiting on another CPU, which must look again (core/vm.h). With
 * one, the change was made by its own exit, which the loop sees anyway.
 */
static void wake(struct platform *p, u32 i)
{
	if (p->vcpus > 1)
		vm_wake_vcpu(p->vm, i);
}

/*
 * The effect of INIT on vCPU `i` (SDM Vol. 3A 9.4.4, 11.4.7.3): its local
 * APIC back to its INIT state, its waiting NMI gone, and the vCPU waits
 * for a STARTUP IPI. One that was running leaves its loop for that
 * (init_pending); one started by a SIPI but not yet running waits again.
 */
static void init_vcpu(struct platform *p, u32 i)
{
	struct vcpu *v = i < p->vm->vcpu_count ? p->vm->vcpus[i] : NULL;

	if (!v)
		return;
	vlapic_init_signal(&p->lapic[i]);
	p->nmi_pending[i] = false;
	p->pit_nmi &= ~(1u << i);
	if (v->mp_state == VCPU_MP_RUNNABLE)
		v->init_pending = true;
	v->mp_state = VCPU_MP_WAIT_SIPI;
	wake(p, i);
}

/*
 * A STARTUP IPI (SDM Vol. 3A 11.6.1): a vCPU waiting for one starts in
 * real mode at vector << 12 (core/guest.c); any other ignores it, as a
 * processor that is not in the wait-for-SIPI state does.
 */
static void sipi_vcpu(struct platform *p, u32 i, u8 vector)
{
	struct vcpu *v = i < p->vm->vcpu_count ? p->vm->vcpus[i] : NULL;

	if (!v || v->mp_state != VCPU_MP_WAIT_SIPI)
		return;
	v->sipi_vector = vector;
	v->mp_state = VCPU_MP_SIPI_RECEIVED;
	wake(p, i);
}

/* ---- interrupt lines ---- */

/* ISA IRQ n goes to PIC input n and IOAPIC pin n, IRQ 0 to pin 2 (the MADT
 * interrupt source override, ACPI 6.x 5.2.12.5). */
/*
 * The 8259s may have raised INTR, which reaches vCPU 0 alone: with
 * several vCPUs, the change may come from another one's exit.
 */
static void pic_changed(struct platform *p)
{
	if (p->vcpus > 1 && vpic_pending_vector(&p->pic) >= 0)
		wake(p, 0);
}

/* Out of line: the common case (isa_irq, no change) sets up no frame. */
static __attribute__((noinline)) void isa_line_moved(struct platform *p, u8 irq,
						     bool level)
{
	vpic_set_irq(&p->pic, irq, level);
	pic_changed(p);
	p->irq0_rising = irq == 0 && level;
	vioapic_set_irq(&p->ioapic, irq == 0 ? 2 : irq, level);
	p->irq0_rising = false;
}

static void isa_irq(void *opaque, u8 irq, bool level)
{
	struct platform *p = opaque;
	u16 bit = (u16)(1u << (irq & 15));

	/*
	 * A line driven to the level it has is no edge for either
	 * controller, and each holds its inputs' levels (vpic.c keeps them
	 * through ICW1, vioapic.c through its registers' writes): nothing to
	 * tell them. Only lines 0-15 exist (isa.h).
	 */
	if (irq >= 16 || !(p->isa_level & bit) == !level)
		return;
	p->isa_level = level ? p->isa_level | bit : p->isa_level & ~bit;
	isa_line_moved(p, irq, level);
}

/*
 * An NMI for vCPU `i`. One waits at most: a second one before the first
 * is injected is the same one (SDM Vol. 3A 6.7.1).
 */
static void raise_nmi(struct platform *p, u32 i)
{
	if (p->irq0_rising)
		p->pit_nmi |= 1u << i;
	else if (!p->nmi_pending[i])
		p->pit_nmi &= ~(1u << i);
	p->nmi_pending[i] = true;
	wake(p, i);
}

/* A fixed interrupt into vCPU `i`'s local APIC, which wakes it. */
static bool accept_irq(struct platform *p, u32 i, u8 vector, bool level)
{
	if (!vlapic_accept_irq(&p->lapic[i], vector, level))
		return false;
	wake(p, i);
	return true;
}

/*
 * Lowest-priority delivery among the APICs in `set` (a bit per vCPU):
 * the one with the lowest PPR (SDM Vol. 3A 11.6.2.4; the focus processor
 * and the arbitration ID are not modelled); equal ones take turns, from
 * the one after the last chosen. -1 for an empty set.
 */
static int lowest_priority(struct platform *p, u32 set)
{
	int best = -1;
	u8 best_ppr = 0xff;

	for (u32 k = 0; k < p->vcpus; k++) {
		u32 i = (p->lowest_next + k) % p->vcpus;
		u8 ppr;

		if (!(set & (1u << i)))
			continue;
		ppr = vlapic_ppr(&p->lapic[i]);
		if (best < 0 || ppr < best_ppr) {
			best = (int)i;
			best_ppr = ppr;
		}
	}
	if (best >= 0)
		p->lowest_next = (u32)best + 1;
	return best;
}

/* The vCPUs whose local APIC a message for `dest` reaches, a bit each. */
static u32 dest_set(struct platform *p, u32 dest, bool logical)
{
	u32 set = 0;

	for (u32 i = 0; i < p->vcpus; i++)
		if (vlapic_match_dest(&p->lapic[i], dest, logical))
			set |= 1u << i;
	return set;
}

/*
 * An IOAPIC message: the vector is checked where it arrives, as on
 * hardware: vlapic_accept_irq() refuses 0-15 and records a receive
 * illegal vector error (SDM Vol. 3A 11.5.3), so no message can make a
 * vector the core may not inject. An NMI message has no vector (82093AA
 * 3.2.4): any local APIC it names takes it, even a software-disabled one
 * (SDM Vol. 3A 11.4.7.2).
 */
static bool ioapic_deliver(void *opaque, const struct vioapic_msg *m)
{
	struct platform *p = opaque;
	u32 set = dest_set(p, m->dest, m->dest_logical);
	bool taken = false;
	int one;

	switch (m->delivery_mode) {
	case VIOAPIC_DELIVERY_LOWEST:
		one = lowest_priority(p, set);
		return one >= 0 &&
		       accept_irq(p, (u32)one, m->vector, m->level_triggered);
	case VIOAPIC_DELIVERY_FIXED:
		for (u32 i = 0; i < p->vcpus; i++)
			if (set & (1u << i))
				taken |= accept_irq(p, i, m->vector,
						    m->level_triggered);
		return taken;
	case VIOAPIC_DELIVERY_NMI:
		for (u32 i = 0; i < p->vcpus; i++)
			if (set & (1u << i))
				raise_nmi(p, i);
		return set != 0;
	default:
		/* SMI, INIT and ExtINT through the IOAPIC: not routed. */
		return false;
	}
}

/* ---- PCI devices ---- */

_Static_assert(PLATFORM_MAX_DISKS == VM_MAX_DISKS,
	       "a virtio-blk function for every disk a VM may have");

/*
 * An MSI (or MSI-X) write: address 0xFEExxxxx names the destination
 * (SDM Vol. 3A 11.11.1: APIC ID bits 19:12, destination mode bit 2), data
 * the vector and delivery mode (11.11.2: bits 7:0, 10:8; the same
 * encoding as an IOAPIC entry's). It reaches the local APICs as an IOAPIC
 * message does. Taken as edge-triggered: the trigger bit (15) asks for a
 * level message only with delivery modes the devices do not use. A write
 * elsewhere is a DMA write of the device into memory; Veneer's devices
 * never make one, so it goes nowhere.
 */
static void pci_msi(void *ctx, u64 addr, u32 data)
{
	struct platform *p = ctx;
	const struct vioapic_msg m = {
	    .dest = (u8)(addr >> 12),
	    .dest_logical = (addr >> 2) & 1,
	    .delivery_mode = (data >> 8) & 7,
	    .vector = (u8)data,
	};

	if ((addr >> 20) != 0xfee)
		return;
	ioapic_deliver(p, &m);
}

/* The IOAPIC input of an assigned function's pin (1 = INTA). */
static u32 passthru_gsi(const struct vpassthru *pt)
{
	return acpi_tables_pci_gsi(pt->slot,
				   pt->pci.config[VPCI_CFG_INTR_PIN] - 1u);
}

/* The IOAPIC input `gsi` as the devices on it drive it: the DSDT's _PRT
 * routing; devices that share it wire-OR their lines (PCI 3.0, 2.2.6). */
static void intx_update(struct platform *p, u32 gsi)
{
	bool level = false;

	for (u32 i = 0; i < p->virtio_count && !level; i++)
		level = p->virtio[i]->intx_level &&
			acpi_tables_pci_gsi(p->virtio[i]->slot, 0) == gsi;
	for (u32 i = 0; i < p->passthru_count && !level; i++)
		level = p->passthru[i].intx_level &&
			passthru_gsi(&p->passthru[i]) == gsi;
	vioapic_set_irq(&p->ioapic, (u8)gsi, level);
}

/* A virtio device's INTA changed. */
static void pci_intx(void *ctx, struct virtio_pci *vp, bool level)
{
	(void)level; /* vp->intx_level holds it */
	intx_update(ctx, acpi_tables_pci_gsi(vp->slot, 0));
}

/*
 * The assigned functions' INTx, read from their Interrupt Status bits
 * (vpassthru_intx_poll) onto the IOAPIC: at every full update of a vCPU
 * (platform_advance), every PASSTHRU_INTX_POLL_NS while one is live and
 * its input unmasked (vCPU 0 wakes for it), and before a level-triggered
 * EOI (lapic_eoi), so that a line the guest's
 * handler has just quieted is not taken for a new interrupt.
 */
#define PASSTHRU_INTX_POLL_NS 1000000ull

static void passthru_poll_intx(struct platform *p)
{
	for (u32 i = 0; i < p->passthru_count; i++) {
		struct vpassthru *pt = &p->passthru[i];
		bool level;

		if (!pt->intx_level && !vpassthru_intx_on(pt))
			continue;
		level = vpassthru_intx_poll(pt);
		if (level != pt->intx_level) {
			pt->intx_level = level;
			intx_update(p, passthru_gsi(pt));
		}
	}
}

/* One whose INTx is live and whose IOAPIC input the guest unmasked: a
 * line nobody listens to waits for the next full update (an unmask is an
 * exit), not for a timer. */
static bool passthru_intx_live(const struct platform *p)
{
	for (u32 i = 0; i < p->passthru_count; i++) {
		const struct vpassthru *pt = &p->passthru[i];

		if (vpassthru_intx_on(pt) &&
		    !(vioapic_entry(&p->ioapic, (u8)passthru_gsi(pt)) &
		      VIOAPIC_RTE_MASKED))
			return true;
	}
	return false;
}

static int bar_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		    u64 *value)
{
	(void)vcpu;
	return virtio_pci_read(opaque, offset, size, value);
}

static int bar_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
		     u64 value)
{
	(void)vcpu;
	return virtio_pci_write(opaque, offset, size, value);
}

/* The NIC's BAR: under its lock, as frames for it come on other CPUs. */
static int net_bar_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			u64 *value)
{
	(void)vcpu;
	return virtio_net_read(opaque, offset, size, value);
}

static int net_bar_write(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			 u64 value)
{
	(void)vcpu;
	return virtio_net_write(opaque, offset, size, value);
}

/* The BARs of the host functions it owns, where the guest put them; one
 * on top of other registers is not decoded (as a virtio BAR is: pci_map,
 * below). */
/*
 * The pages of `bar` the guest reaches without an exit
 * (vpassthru_page_direct), at guest base `at`, into the nested tables
 * (map) or out of them, in runs of consecutive pages.
 */
static void direct_pages(struct platform *p, const struct vpassthru_bar *bar,
			 u64 at, bool map)
{
	u64 size = ALIGN_UP(bar->size, PAGE_SIZE);

	for (u64 off = 0; off < size;) {
		u64 end = off;
		int rc;

		while (end < size && vpassthru_page_direct(bar, end))
			end += PAGE_SIZE;
		if (end == off) {
			off += PAGE_SIZE;
			continue;
		}
		rc = map ? vm_map_device(p->vm, at + off, bar->host + off,
					 end - off)
			 : vm_unmap_device(p->vm, at + off, end - off);
		if (rc)
			printk("veneer: guest %s: pci BAR at 0x%llx: %s the "
			       "nested tables: %s\n",
			       p->vm->name, (unsigned long long)(at + off),
			       map ? "mapping it into" : "taking it out of",
			       pt_error_string(rc));
		off = end;
	}
}

/* Where the guest's BAR is decoded, mapped straight to the host BAR if it
 * lies wholly in the PCI window (never over RAM or the chipset's pages). */
static void direct_map(struct platform *p, struct vpassthru_bar *bar, u64 want)
{
	if (want != VPCI_BAR_NONE &&
	    (want < ACPI_TABLES_PCI_WINDOW_BASE ||
	     want + ALIGN_UP(bar->size, PAGE_SIZE) - 1 >
		 ACPI_TABLES_PCI_WINDOW_END))
		want = VPCI_BAR_NONE;
	if (bar->direct == want)
		return;
	if (bar->direct != VPCI_BAR_NONE)
		direct_pages(p, bar, bar->direct, false);
	bar->direct = want;
	if (want != VPCI_BAR_NONE)
		direct_pages(p, bar, want, true);
}

static void map_passthru(struct platform *p)
{
	for (u32 i = 0; i < p->passthru_count; i++)
		for (u32 b = 0; b < VPCI_BARS; b++) {
			struct vpassthru_bar *bar = &p->passthru[i].bar[b];
			const struct mmio_region r = {
			    .base = bar->mapped,
			    .size = ALIGN_UP(bar->size, PAGE_SIZE),
			    .read = vpassthru_bar_read,
			    .write = vpassthru_bar_write,
			    .opaque = bar,
			    .name = "pci"};
			bool decoded = bar->host &&
				       bar->mapped != VPCI_BAR_NONE &&
				       mmio_register(&p->vm->mmio, &r);

			if (bar->host && bar->mapped != VPCI_BAR_NONE &&
			    !decoded)
				printk_at(LOG_DEBUG,
					  "veneer: guest %s: pci 00:%02x.0 "
					  "BAR %u at 0x%llx overlaps other "
					  "registers: not decoded\n",
					  p->vm->name, p->passthru[i].slot, b,
					  (unsigned long long)bar->mapped);
			direct_map(p, bar,
				   decoded ? bar->mapped : VPCI_BAR_NONE);
		}
}

/*
 * The guest moved a device's BAR, or turned its decoding on or off. A BAR
 * on top of another device's registers (or another BAR) is not decoded,
 * as nothing defines what such a machine does; one on top of RAM is
 * shadowed by the RAM, which the nested page tables map first. Every BAR
 * is placed again, in slot order, so that one that was not decoded is
 * once the BAR it overlapped has moved away.
 */
static void pci_map(void *ctx, struct virtio_pci *moved, u64 old, u64 base)
{
	struct platform *p = ctx;

	(void)old;
	(void)base;
	for (u32 i = 0; i < p->virtio_count; i++)
		mmio_remove(&p->vm->mmio, p->virtio[i]);
	for (u32 i = 0; i < p->passthru_count; i++)
		for (u32 b = 0; b < VPCI_BARS; b++)
			mmio_remove(&p->vm->mmio, &p->passthru[i].bar[b]);
	for (u32 i = 0; i < p->virtio_count; i++) {
		struct virtio_pci *vp = p->virtio[i];
		bool nic = p->has_nic && vp == &p->nic.net.vp;
		const struct mmio_region r = {
		    .base = vp->bar_mapped,
		    .size = VIRTIO_PCI_BAR_SIZE,
		    .read = nic ? net_bar_read : bar_read,
		    .write = nic ? net_bar_write : bar_write,
		    .opaque = nic ? (void *)&p->nic.net : (void *)vp,
		    .name = vp->ops->name};

		if (vp->bar_mapped != VPCI_BAR_NONE &&
		    !mmio_register(&p->vm->mmio, &r) && vp == moved)
			printk_at(LOG_DEBUG,
				  "veneer: guest %s: %s 00:%02x.0: BAR at "
				  "0x%llx overlaps other registers: not "
				  "decoded\n",
				  p->vm->name, vp->ops->name, vp->slot,
				  (unsigned long long)vp->bar_mapped);
	}
	map_passthru(p);
}

/* Where the firmware would put a slot's BAR: its own 32 KiB of the PCI
 * window (docs/devices.md). */
static u64 bar_of(u8 slot)
{
	return ACPI_TABLES_PCI_WINDOW_BASE + (u64)slot * VIRTIO_PCI_BAR_SIZE;
}

/* The virtio console's output: where the UART's goes (docs/devices.md). */
static void console_out(void *opaque, const u8 *bytes, u32 len)
{
	struct platform *p = opaque;

	vuart_output(&p->vm->uart, (const char *)bytes, len);
}

/* A host function's BAR moved, or its decoding changed. */
static void passthru_remap(void *ctx)
{
	pci_map(ctx, NULL, 0, 0);
}

/*
 * One of its functions' host vectors fired, on vCPU 0's CPU, in interrupt
 * context: which runs with interrupts on only in Veneer's wait loops and
 * right after an exit, never inside a lock or an ICR write, so waking
 * vCPU 0 (atomics, and no IPI to its own CPU) is safe here.
 */
static void passthru_irq(void *ctx)
{
	struct platform *p = ctx;

	__atomic_store_n(&p->passthru_waiting, 1, __ATOMIC_SEQ_CST);
	vm_wake_vcpu(p->vm, 0);
}

/* Its functions' interrupts go to the CPU that runs vCPU 0, whose loop
 * delivers them (platform_advance). */
static u32 passthru_irq_apic(void *ctx)
{
	const struct platform *p = ctx;
	const struct vcpu *v0 = p->vm->vcpu_count ? p->vm->vcpus[0] : NULL;
	const struct percpu *cpu = percpu_of(v0 ? v0->host_cpu : 0);

	return cpu ? cpu->apic_id : 0;
}

/* The host functions it owns, on its bus after the virtio devices. */
static bool add_passthru(struct platform *p, struct vm *vm, char *err,
			 size_t errlen)
{
	u64 next = PLATFORM_PASSTHRU_BARS;
	const struct vpassthru_host host = {
	    .remap = passthru_remap,
	    .irq = passthru_irq,
	    .irq_apic = passthru_irq_apic,
	    .ctx = p,
	    .guest = vm->name,
	};

	for (u32 i = 0; i < vm->pci_count; i++) {
		struct vpassthru *pt = &p->passthru[i];
		const struct pci_device *dev = pci_find(vm->pci[i]);
		u8 slot = (u8)(PLATFORM_PASSTHRU_SLOT + i);

		if (!dev || !vpassthru_init(pt, dev, slot, &next,
					    ACPI_TABLES_PCI_WINDOW_END + 1,
					    &host, err, errlen))
			return false;
		if (!vpci_attach(&p->pci, slot, &pt->pci)) {
			snformat(err, errlen, "pci: slot %u is taken", slot);
			return false;
		}
		p->passthru_count = i + 1;
	}
	return true;
}

/* Put an initialised virtio function on the bus at its slot. */
static bool attach_virtio(struct platform *p, struct virtio_pci *vp)
{
	if (p->virtio_count == PLATFORM_MAX_VIRTIO ||
	    !vpci_attach(&p->pci, vp->slot, &vp->pci))
		return false;
	p->virtio[p->virtio_count++] = vp;
	return true;
}

/* ---- the NIC and the switch between guests ---- */

/* The one switch every guest's NIC is on (core/vdev/vswitch.h). */
static struct vswitch lan = {.lock = SPINLOCK_INIT};

_Static_assert(VSWITCH_MAX_PORTS >= VM_MAX, "a switch port for every guest");

/*
 * The NIC's interrupts, raised under its lock on whichever CPU a frame
 * came from: kept (an MSI message once: a second like it before the
 * guest's CPU took the first is the same interrupt, as two edges on one
 * vector are to a local APIC) for the guest's own CPU, which vCPU 0's
 * wakeup brings to platform_advance.
 */
static void nic_waiting(struct platform *p)
{
	__atomic_store_n(&p->nic.irq_waiting, 1, __ATOMIC_SEQ_CST);
	vm_wake_vcpu(p->vm, 0);
}

static void nic_msi(void *ctx, u64 addr, u32 data)
{
	struct platform *p = ctx;
	struct platform_nic *n = &p->nic;

	for (u32 i = 0; i < n->msi_count; i++)
		if (n->msi[i].addr == addr && n->msi[i].data == data) {
			nic_waiting(p);
			return;
		}
	/* One per MSI-X vector at most differ (each its own message). */
	if (n->msi_count < VIRTIO_MSIX_VECTORS)
		n->msi[n->msi_count++] = (struct platform_msi){addr, data};
	nic_waiting(p);
}

static void nic_intx(void *ctx, struct virtio_pci *vp, bool level)
{
	struct platform *p = ctx;

	(void)vp;
	(void)level; /* read again, under the lock, when sent on */
	p->nic.intx_changed = true;
	nic_waiting(p);
}

/* On the guest's CPU, under its VM lock: the NIC's kept interrupts on to
 * the local APICs and the IOAPIC. */
static void nic_deliver_waiting(struct platform *p)
{
	struct platform_nic *n = &p->nic;
	struct platform_msi msi[VIRTIO_MSIX_VECTORS];
	u32 count;
	bool intx, level;

	if (!__atomic_exchange_n(&n->irq_waiting, 0, __ATOMIC_SEQ_CST))
		return;
	spin_lock(&n->net.lock);
	count = n->msi_count;
	memcpy(msi, n->msi, count * sizeof(msi[0]));
	n->msi_count = 0;
	intx = n->intx_changed;
	n->intx_changed = false;
	level = n->net.vp.intx_level;
	spin_unlock(&n->net.lock);
	for (u32 i = 0; i < count; i++)
		pci_msi(p, msi[i].addr, msi[i].data);
	if (intx)
		pci_intx(p, &n->net.vp, level);
}

/* A frame the guest sent: onto the switch. */
static void nic_send(void *ctx, const u8 *frame, u32 len)
{
	struct platform *p = ctx;

	vswitch_send(&lan, p->nic.port, frame, len);
}

/* A frame for the guest, on the sender's CPU (switch lock held). */
static bool nic_deliver(void *opaque, const u8 *frame, u32 len)
{
	return virtio_net_receive(opaque, frame, len);
}

/* The NIC, in PLATFORM_NET_SLOT, onto the switch. */
static bool add_nic(struct platform *p, struct vm *vm,
		    const struct virtio_host *pci, char *err, size_t errlen)
{
	struct virtio_host host = *pci;
	const u8 *m = vm->mac;

	host.msi = nic_msi;
	host.intx = nic_intx;
	p->nic.port = -1;
	if (!virtio_net_init(&p->nic.net, &host, PLATFORM_NET_SLOT,
			     bar_of(PLATFORM_NET_SLOT), vm->mac, nic_send, p)) {
		snformat(err, errlen,
			 "virtio-net: %02x:%02x:%02x:%02x:%02x:%02x is not a "
			 "NIC's MAC (unicast, not all zeros)",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		return false;
	}
	p->has_nic = true;
	if (!attach_virtio(p, &p->nic.net.vp)) {
		snformat(err, errlen, "virtio-net: no room on the PCI bus");
		return false;
	}
	p->nic.port = vswitch_attach(&lan, vm->mac, nic_deliver, &p->nic.net);
	if (p->nic.port < 0) {
		snformat(err, errlen,
			 "virtio-net: MAC %02x:%02x:%02x:%02x:%02x:%02x is "
			 "another guest's NIC's (or the switch has no free "
			 "port)",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		return false;
	}
	return true;
}

void platform_detach(struct platform *p)
{
	/* Its functions send nothing more to the host's CPUs, and their
	 * BARs leave its nested tables. */
	for (u32 i = 0; i < p->passthru_count; i++) {
		for (u32 b = 0; b < VPCI_BARS; b++)
			direct_map(p, &p->passthru[i].bar[b], VPCI_BAR_NONE);
		vpassthru_release(&p->passthru[i]);
		p->passthru[i].intx_level = false;
	}
	p->passthru_count = 0;
	if (p->has_nic && p->nic.port >= 0) {
		/* Its counters, for the statistics after it (only its own
		 * guest's frames move them, and it runs no more). */
		p->nic.dropped = lan.port[p->nic.port].tx_dropped;
		vswitch_detach(&lan, p->nic.port);
		p->nic.port = -1;
	}
}

u64 platform_nic_switch_dropped(const struct platform *p)
{
	if (!p->has_nic)
		return 0;
	if (p->nic.port < 0)
		return p->nic.dropped;
	return __atomic_load_n(&lan.port[p->nic.port].tx_dropped,
			       __ATOMIC_RELAXED);
}

/* The guest's virtio functions: its disks as virtio-blk in slots 1, 2,
 * ..., its virtio console in PLATFORM_CONSOLE_SLOT. */
static bool add_virtio(struct platform *p, struct vm *vm, char *err,
		       size_t errlen)
{
	const struct virtio_host host = {
	    .mem = {.base = hpa_to_ptr(vm->ram_hpa), .size = vm->ram_size},
	    .guest = vm->name,
	    .msi = pci_msi,
	    .intx = pci_intx,
	    .map = pci_map,
	    .ctx = p,
	};

	if ((vm->disk_count || vm->virtio_console || vm->virtio_net) &&
	    vm->ram_size > ACPI_TABLES_PCI_WINDOW_BASE) {
		snformat(err, errlen,
			 "%s: mem above 0x%x runs into the PCI window; a "
			 "guest with virtio devices has at most %u MiB",
			 vm->disk_count ? "disks" : "devices",
			 ACPI_TABLES_PCI_WINDOW_BASE,
			 ACPI_TABLES_PCI_WINDOW_BASE >> 20);
		return false;
	}
	for (u32 i = 0; i < vm->disk_count && i < PLATFORM_MAX_DISKS; i++) {
		const struct vm_disk *d = &vm->disks[i];
		u8 slot = (u8)(PLATFORM_DISK_SLOT + i);

		if (!virtio_blk_init(&p->disk[i], &host, slot, bar_of(slot),
				     d->data, d->bytes, d->read_only,
				     d->name) ||
		    !attach_virtio(p, &p->disk[i].vp)) {
			snformat(err, errlen, "disk %s: no room on the PCI bus",
				 d->name);
			return false;
		}
		p->disks = i + 1;
	}
	if (vm->virtio_console) {
		if (!virtio_console_init(
			&p->console, &host, PLATFORM_CONSOLE_SLOT,
			bar_of(PLATFORM_CONSOLE_SLOT), console_out, p) ||
		    !attach_virtio(p, &p->console.vp)) {
			snformat(err, errlen,
				 "virtio-console: no room on the PCI bus");
			return false;
		}
		p->has_console = true;
	}
	return !vm->virtio_net || add_nic(p, vm, &host, err, errlen);
}

/*
 * The vCPUs an IPI from vCPU `from` reaches, a bit each (SDM Vol. 3A
 * 11.6.1): the self and all-including-self shorthands name the sender,
 * all-excluding-self every other vCPU, no shorthand those whose APIC
 * matches the destination (the sender's own included).
 */
static u32 ipi_targets(struct platform *p, u32 from,
		       const struct vlapic_ipi *ipi)
{
	u32 all = (u32)((1ull << p->vcpus) - 1);

	switch (ipi->shorthand) {
	case VLAPIC_SHORTHAND_SELF:
		return 1u << from;
	case VLAPIC_SHORTHAND_ALL:
		return all;
	case VLAPIC_SHORTHAND_ALL_BUT_SELF:
		return all & ~(1u << from);
	default:
		return dest_set(p, ipi->dest, ipi->dest_logical);
	}
}

static void deliver_ipi(struct platform *p, u32 i, const struct vlapic_ipi *ipi)
{
	switch (ipi->delivery_mode) {
	case VLAPIC_DELIVERY_FIXED:
	case VLAPIC_DELIVERY_LOWEST:
		accept_irq(p, i, ipi->vector, ipi->level_triggered);
		return;
	case VLAPIC_DELIVERY_NMI:
		raise_nmi(p, i);
		return;
	case VLAPIC_DELIVERY_INIT:
		/* INIT level de-assert: ignored (vlapic.h). */
		if (!ipi->level_assert && ipi->level_triggered)
			return;
		init_vcpu(p, i);
		return;
	case VLAPIC_DELIVERY_STARTUP:
		sipi_vcpu(p, i, ipi->vector);
		return;
	default:
		/* SMI: not emulated (no SMM). */
		return;
	}
}

u32 platform_send_ipis(struct platform *p, u32 set, bool nmi, u8 vector)
{
	u32 took = 0;

	for (u32 i = 0; i < p->vcpus; i++) {
		if (!(set & (1u << i)))
			continue;
		if (nmi)
			raise_nmi(p, i);
		took += nmi || accept_irq(p, i, vector, false);
	}
	return took;
}

/*
 * An IPI from vCPU ctx->index, to every vCPU it reaches. Lowest priority
 * without a shorthand goes to one of them (lowest_priority). A fixed IPI
 * with the self shorthand never comes here (the vlapic takes it). The
 * SDM's table of valid ICR combinations (11.6.1) marks NMI, INIT, SIPI
 * and lowest priority with the self and all-including-self shorthands
 * invalid for the Pentium 4 and Xeon xAPIC, without saying what happens;
 * Veneer delivers them as written. An IPI that reaches no vCPU (an APIC
 * ID none has) is dropped and counted (the sender's ipis_dropped).
 */
static void lapic_send_ipi(void *opaque, const struct vlapic_ipi *ipi)
{
	struct platform_lapic_ctx *c = opaque;
	struct platform *p = c->p;
	u32 set = ipi_targets(p, c->index, ipi);
	int one;

	if (!set) {
		struct vcpu *from = c->index < p->vm->vcpu_count
					? p->vm->vcpus[c->index]
					: NULL;

		if (from)
			from->ipis_dropped++;
		return;
	}
	if (ipi->delivery_mode == VLAPIC_DELIVERY_LOWEST &&
	    ipi->shorthand == VLAPIC_SHORTHAND_NONE) {
		one = lowest_priority(p, set);
		set = one >= 0 ? 1u << one : 0;
	}
	for (u32 i = 0; i < p->vcpus; i++)
		if (set & (1u << i))
			deliver_ipi(p, i, ipi);
}

static void lapic_eoi(void *opaque, u8 vector)
{
	struct platform_lapic_ctx *c = opaque;

	passthru_poll_intx(c->p);
	vioapic_eoi(&c->p->ioapic, vector);
}

static const struct vlapic_ops lapic_ops = {
    .send_ipi = lapic_send_ipi,
    .eoi = lapic_eoi,
};

void platform_uart_update_irq(struct platform *p)
{
	isa_irq(p, PLATFORM_UART_IRQ, vuart_irq_pending(&p->vm->uart));
}

/* Typed input goes to the virtio console once its driver is up. */
static bool console_takes_input(const struct platform *p)
{
	return p->has_console &&
	       virtio_pci_queue_live(&p->console.vp, VIRTIO_CONSOLE_RECEIVEQ);
}

bool platform_console_room(const struct platform *p)
{
	if (console_takes_input(p))
		return p->console.rx_count < VIRTIO_CONSOLE_RX_FIFO;
	return p->vm->uart.rx_count < VUART_RX_SIZE;
}

void platform_console_input(struct platform *p, u8 byte)
{
	if (console_takes_input(p)) {
		virtio_console_receive(&p->console, byte);
		return;
	}
	vuart_receive(&p->vm->uart, byte);
	/*
	 * A new byte is a new event: give the edge-triggered IRQ 4 a fresh
	 * rising edge even if the line was already up for an event the
	 * guest's driver has not looked at yet, so no input waits unseen.
	 */
	isa_irq(p, PLATFORM_UART_IRQ, false);
	platform_uart_update_irq(p);
}

/* ---- ACPI fixed hardware (ACPI 6.x 4.8.3) ---- */

static u32 pm_read(void *opaque, u16 port, u8 size)
{
	struct platform *p = opaque;
	u32 v;

	switch (port & ~1u) {
	case PM1_STATUS_PORT:
		v = p->pm1_status;
		break;
	case PM1_ENABLE_PORT:
		v = p->pm1_enable;
		break;
	case PM1_CONTROL_PORT:
		/* No SCI hardware to hand over: always in ACPI mode. */
		v = p->pm1_control | ACPI_TABLES_PM1_CNT_SCI_EN;
		break;
	default:
		return 0xffffffffu;
	}
	if (port & 1)
		v >>= 8;
	return size == 1 ? v & 0xff : v & 0xffff;
}

/*
 * SLP_EN written with SLP_TYP `type` (ACPI 6.x 4.8.3.2.1, 7.4.2): the
 * DSDT offers \_S5 alone, so S5 (power off) is the one sleep state
 * Veneer implements. Any other type is a state the guest was not offered
 * (S1-S4 have no \_Sx object); on hardware the machine would sleep, and
 * nothing here could wake it: the guest is stopped, saying which type it
 * asked for, never left running as if nothing happened.
 */
static void enter_sleep_state(struct platform *p, u16 type)
{
	if (type == ACPI_TABLES_S5_SLP_TYP) {
		printk("veneer: guest %s powered off (ACPI S5)\n", p->vm->name);
		vm_exit(p->vm, 0);
		return;
	}
	vm_stop(p->vm,
		"ACPI sleep type %u requested (PM1a_CNT SLP_TYP; S1-S4 are "
		"not offered, only S5 = %u, power off)",
		type, ACPI_TABLES_S5_SLP_TYP);
}

static void pm_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct platform *p = opaque;
	u16 v = (u16)value;

	if (port & 1 || size == 1)
		return; /* the PM1 registers are written 16 bits at a time */
	switch (port) {
	case PM1_STATUS_PORT:
		p->pm1_status &= (u16)~v; /* write 1 to clear */
		return;
	case PM1_ENABLE_PORT:
		p->pm1_enable = v;
		return;
	case PM1_CONTROL_PORT:
		p->pm1_control = v & ~ACPI_TABLES_PM1_CNT_SLP_EN;
		if (v & ACPI_TABLES_PM1_CNT_SLP_EN)
			enter_sleep_state(
			    p, (v >> ACPI_TABLES_PM1_CNT_SLP_TYP_SHIFT) & 7);
		return;
	default:
		return;
	}
}

/* The PM timer counts at 3.579545 MHz (ACPI 6.x 4.8.3.3). */
static u32 pm_timer_read(void *opaque, u16 port, u8 size)
{
	const struct platform *p = opaque;
	u64 ns = platform_now_ns(p);
	u64 ticks = ns / 1000000000ull * ACPI_TABLES_PM_TMR_HZ +
		    ns % 1000000000ull * ACPI_TABLES_PM_TMR_HZ / 1000000000ull;

	(void)port;
	(void)size;
	return (u32)ticks & PM_TIMER_MASK;
}

/* ---- MMIO ---- */

/*
 * The local APIC page answers only while the APIC's xAPIC interface is at
 * this address: enabled in IA32_APIC_BASE, not in x2APIC mode, not moved
 * elsewhere. Otherwise the access goes past the processor to the bus
 * (SDM Vol. 3A 11.4.3: a globally disabled APIC is as if the processor had
 * none; 11.12.1: in x2APIC mode the page behaves the same), where nothing
 * claims it: reads give all ones, writes are dropped, no fault.
 */
static bool lapic_page_here(const struct vlapic *l)
{
	return vlapic_mmio_base(l) == VLAPIC_DEFAULT_MMIO_BASE;
}

static int lapic_mmio_read(void *opaque, struct vcpu *vcpu, u64 offset, u8 size,
			   u64 *value)
{
	struct platform *p = opaque;
	struct vlapic *l = &p->lapic[cpu_index(vcpu)];
	u32 v;
	int rc;

	if (!lapic_page_here(l)) {
		*value = ~0ull;
		return 0;
	}
	rc = vlapic_mmio_read(l, (u32)offset, size, &v, catch_up(p));
	*value = v;
	return rc < 0 ? -1 : 0;
}

static int lapic_mmio_write(void *opaque, struct vcpu *vcpu, u64 offset,
			    u8 size, u64 value)
{
	struct platform *p = opaque;
	struct vlapic *l = &p->lapic[cpu_index(vcpu)];

	if (!lapic_page_here(l))
		return 0;
	return vlapic_mmio_write(l, (u32)offset, size, (u32)value,
				 catch_up(p)) < 0
		   ? -1
		   : 0;
}

static int ioapic_mmio_read(void *opaque, struct vcpu *vcpu, u64 offset,
			    u8 size, u64 *value)
{
	struct platform *p = opaque;
	u32 v = 0;

	(void)vcpu;
	catch_up(p);
	/* Outside IOREGSEL / IOWIN the window reads as nothing there. */
	if (offset >= VIOAPIC_MMIO_SIZE ||
	    vioapic_mmio_read(&p->ioapic, (u32)offset, size, &v) < 0)
		v = 0xffffffffu;
	*value = v;
	return 0;
}

static int ioapic_mmio_write(void *opaque, struct vcpu *vcpu, u64 offset,
			     u8 size, u64 value)
{
	struct platform *p = opaque;

	(void)vcpu;
	catch_up(p);
	if (offset < VIOAPIC_MMIO_SIZE)
		vioapic_mmio_write(&p->ioapic, (u32)offset, size, (u32)value);
	return 0;
}

/*
 * The 8259s' ports. A read can be an acknowledge cycle (poll mode), a
 * write can end a request or unmask one: the timers catch up first, so
 * that what they did before the access meets the controller as it was.
 */
static u32 pic_read(void *opaque, u16 port, u8 size)
{
	struct platform *p = opaque;

	catch_up(p);
	return vpic_io_read(&p->pic, port, size);
}

static void pic_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct platform *p = opaque;

	catch_up(p);
	vpic_io_write(&p->pic, port, size, value);
	pic_changed(p);
}

/* ---- the debug-exit port ---- */

static void debug_exit_write(void *opaque, u16 port, u8 size, u32 value)
{
	(void)port;
	(void)size;
	vm_exit(opaque, value);
}

/* ---- reset ---- */

static void kbc_reset(void *opaque)
{
	struct platform *p = opaque;

	p->reset_requested = true;
}

/* ---- setup ---- */

static bool add_ports(struct vm *vm, u16 first, u16 last, io_read_fn rd,
		      io_write_fn wr, void *opaque, const char *name)
{
	const struct io_handler h = {.first = first,
				     .last = last,
				     .read = rd,
				     .write = wr,
				     .opaque = opaque,
				     .name = name};

	return iobus_register(&vm->io, &h);
}

static bool add_devices(struct platform *p, struct vm *vm)
{
	const struct mmio_region lapic = {.base = VLAPIC_DEFAULT_MMIO_BASE,
					  .size = VLAPIC_MMIO_SIZE,
					  .read = lapic_mmio_read,
					  .write = lapic_mmio_write,
					  .opaque = p,
					  .name = "local APIC",
					  .read_quiet = true};
	const struct mmio_region ioapic = {.base = PLATFORM_IOAPIC_BASE,
					   .size = PAGE_SIZE,
					   .read = ioapic_mmio_read,
					   .write = ioapic_mmio_write,
					   .opaque = p,
					   .name = "IOAPIC",
					   .read_quiet = true};
	/* Reading the clock changes nothing (the lean path, core/vcpu.c). */
	const struct io_handler pm_timer = {.first = PM_TIMER_PORT,
					    .last = PM_TIMER_PORT + 3,
					    .read = pm_timer_read,
					    .opaque = p,
					    .name = "acpi-pm-timer",
					    .read_quiet = true};

	return add_ports(vm, VPIC_MASTER_PORT, VPIC_MASTER_PORT + 1, pic_read,
			 pic_write, p, "pic1") &&
	       add_ports(vm, VPIC_SLAVE_PORT, VPIC_SLAVE_PORT + 1, pic_read,
			 pic_write, p, "pic2") &&
	       add_ports(vm, VPIC_ELCR_PORT, VPIC_ELCR_PORT + 1, pic_read,
			 pic_write, p, "elcr") &&
	       add_ports(vm, VPIT_PORT, VPIT_PORT + 3, vpit_io_read,
			 vpit_io_write, &p->pit, "pit") &&
	       add_ports(vm, VPIT_PORT_B, VPIT_PORT_B, vpit_io_read,
			 vpit_io_write, &p->pit, "port-b") &&
	       add_ports(vm, VRTC_PORT, VRTC_PORT + 1, vrtc_io_read,
			 vrtc_io_write, &p->rtc, "rtc") &&
	       add_ports(vm, VPCI_ADDRESS_PORT,
			 VPCI_ADDRESS_PORT + VPCI_PORTS - 1, vpci_io_read,
			 vpci_io_write, &p->pci, "pci") &&
	       add_ports(vm, VI8042_DATA_PORT, VI8042_DATA_PORT, vi8042_io_read,
			 vi8042_io_write, &p->kbc, "i8042-data") &&
	       add_ports(vm, VI8042_COMMAND_PORT, VI8042_COMMAND_PORT,
			 vi8042_io_read, vi8042_io_write, &p->kbc,
			 "i8042-command") &&
	       add_ports(vm, VI8042_PORT_A, VI8042_PORT_A, vi8042_io_read,
			 vi8042_io_write, &p->kbc, "port-a") &&
	       add_ports(vm, PM1_STATUS_PORT, PM1_CONTROL_PORT + 1, pm_read,
			 pm_write, p, "acpi-pm1") &&
	       iobus_register(&vm->io, &pm_timer) &&
	       add_ports(vm, PLATFORM_DEBUG_EXIT_PORT,
			 PLATFORM_DEBUG_EXIT_PORT_LAST, NULL, debug_exit_write,
			 vm, "debug-exit") &&
	       mmio_register(&vm->mmio, &lapic) &&
	       mmio_register(&vm->mmio, &ioapic);
}

bool platform_init(struct platform *p, struct vm *vm, char *err, size_t errlen)
{
	u32 vcpus = vm->vcpu_count ? vm->vcpu_count : 1;
	const struct acpi_tables_config ac = {
	    .base_gpa = PLATFORM_ACPI_GPA,
	    .cpu_count = vcpus,
	    .ioapic_address = (u32)PLATFORM_IOAPIC_BASE,
	    .ioapic_id = PLATFORM_IOAPIC_ID,
	};
	struct acpi_tables_result ar;
	void *area =
	    vm_gpa_to_hva(vm, gpa(PLATFORM_ACPI_GPA), PLATFORM_ACPI_SIZE);

	if (vcpus > PLATFORM_MAX_VCPUS) {
		snformat(err, errlen, "%u vCPUs: at most %u", vcpus,
			 PLATFORM_MAX_VCPUS);
		return false;
	}
	/* Off the switch before its state is cleared (platform_detach). */
	platform_detach(p);
	memset(p, 0, sizeof(*p));
	p->vm = vm;
	p->vcpus = vcpus;
	p->tsc_base = device_tsc(p);
	p->tsc_hz = tsc_hz();
	p->lapic_tsc_adjust = vm->msr_tsc_adjust;
	vpic_init(&p->pic);
	vpit_init(&p->pit, isa_irq, p, clock_now, p);
	vrtc_init(&p->rtc, 0, clock_now, p);
	vrtc_set_memory_size(&p->rtc, vm->ram_size, 0);
	vpci_init(&p->pci);
	vi8042_init(&p->kbc, kbc_reset, p, isa_irq, p);
	if (!vioapic_init(&p->ioapic, PLATFORM_IOAPIC_ID, ioapic_deliver, p)) {
		snformat(err, errlen, "interrupt controllers: bad setup");
		return false;
	}
	for (u32 i = 0; i < vcpus; i++) {
		const struct vlapic_config lc = {.vcpu_index = i,
						 .bsp = i == 0,
						 .tsc_hz = tsc_hz(),
						 .phys_addr_bits =
						     guest_phys_addr_bits()};

		p->lapic_ctx[i] = (struct platform_lapic_ctx){p, i};
		if (vlapic_init(&p->lapic[i], &lc, &lapic_ops,
				&p->lapic_ctx[i]) < 0) {
			snformat(err, errlen, "local APIC %u: bad setup", i);
			return false;
		}
		vlapic_set_tsc_offset(&p->lapic[i],
				      p->tsc_base + p->lapic_tsc_adjust);
	}
	if (!add_devices(p, vm)) {
		snformat(err, errlen, "device ports or MMIO overlap");
		return false;
	}
	if (!add_virtio(p, vm, err, errlen) ||
	    !add_passthru(p, vm, err, errlen))
		return false;
	/* ACPI tables in the BIOS area, for guests with RAM there. */
	if (area) {
		if (!acpi_tables_build(&ac, area, PLATFORM_ACPI_SIZE, &ar, err,
				       errlen))
			return false;
		p->acpi_rsdp = ar.rsdp_gpa;
	}
	return true;
}

/* ---- timers and injection ---- */

/*
 * The earlier of two device deadlines, 0 meaning none. ~0 is a device's
 * "never" (a time past 2^64 ns, vpit.h, vlapic.h): none too, even once
 * guest time itself saturates there.
 */
static inline __attribute__((always_inline)) u64 earliest(u64 a, u64 b)
{
	a = a == ~0ull ? 0 : a;
	b = b == ~0ull ? 0 : b;
	if (!a)
		return b;
	if (!b)
		return a;
	return MIN(a, b);
}

/* When a device timer has something to do next (platform_tick), or 0. */
static u64 next_expiry_ns(const struct platform *p)
{
	u64 next = vpit_next_deadline_ns(&p->pit);

	for (u32 i = 0; i < p->vcpus; i++)
		next = earliest(next, vlapic_next_deadline_ns(&p->lapic[i]));
	return next;
}

/*
 * Would another pulse on ISA IRQ 0 change nothing? Both of its paths must
 * hold a request already:
 *  - the master 8259, edge-triggered input 0: IRR latches one request per
 *    input until the acknowledge cycle, whatever IMR says (8259A data
 *    sheet, "Interrupt Sequence"; vpic.c);
 *  - IOAPIC pin 2: masked, where an edge is lost (vioapic.c), or a fixed
 *    or lowest-priority edge entry whose vector already waits in the
 *    local APIC's IRR, which holds one request per vector (SDM Vol. 3A
 *    11.8.4).
 * Anything else (a level-triggered input, NMI delivery, ...) counts as a
 * change: the timer keeps its deadline.
 */
static bool irq0_pulse_absorbed(const struct platform *p)
{
	const struct vpic_chip *master = &p->pic.chip[0];
	u64 rte = vioapic_entry(&p->ioapic, 2);
	u32 mode = (u32)((rte & VIOAPIC_RTE_DELIVERY_MODE) >> 8);
	u8 vector = (u8)(rte & VIOAPIC_RTE_VECTOR);

	if ((master->elcr & 1) || !(master->irr & 1))
		return false;
	if (rte & VIOAPIC_RTE_MASKED)
		return true;
	/* With several vCPUs the one that would take it is not known here:
	 * the pulse counts as a change. */
	return p->vcpus == 1 && !p->lapic_virt[0] &&
	       !(rte & VIOAPIC_RTE_LEVEL) &&
	       (mode == VIOAPIC_DELIVERY_FIXED ||
		mode == VIOAPIC_DELIVERY_LOWEST) &&
	       vector >= 16 && vlapic_irr_holds(&p->lapic[0], vector);
}

/*
 * Every timer up to now_ns. A vCPU's APIC timer may fire while another
 * vCPU's exit ticks it: the owner is woken when that leaves it an
 * interrupt to take.
 */
static void tick_at(struct platform *p, u64 now_ns)
{
	vpit_tick(&p->pit, now_ns);
	if (p->vcpus == 1) {
		vlapic_tick(&p->lapic[0], now_ns);
		return;
	}
	for (u32 i = 0; i < p->vcpus; i++) {
		int before = vlapic_pending_vector(&p->lapic[i]);

		vlapic_tick(&p->lapic[i], now_ns);
		if (vlapic_pending_vector(&p->lapic[i]) != before)
			wake(p, i);
	}
}

/* Timers up to date before the controllers are asked or changed. */
static u64 catch_up(struct platform *p)
{
	u64 now = platform_now_ns(p), next;

	sync_lapic_tsc(p, now);
	next = next_expiry_ns(p);
	if (next && now >= next)
		tick_at(p, now);
	return now;
}

void platform_tick(struct platform *p)
{
	u64 now = platform_now_ns(p);

	sync_lapic_tsc(p, now);
	tick_at(p, now);
}

u64 platform_advance(struct platform *p, const struct vcpu *vcpu)
{
	if (platform_async_pending(p)) {
		nic_deliver_waiting(p);
		if (__atomic_exchange_n(&p->passthru_waiting, 0,
					__ATOMIC_SEQ_CST))
			for (u32 i = 0; i < p->passthru_count; i++)
				vpassthru_deliver(&p->passthru[i], pci_msi, p);
	}
	passthru_poll_intx(p);
	catch_up(p);
	return platform_ns_to_tsc(p, platform_next_deadline_ns(p, vcpu));
}

bool platform_timer_due(const struct platform *p)
{
	u64 next = next_expiry_ns(p);

	return next && platform_now_ns(p) >= next;
}

/*
 * The deadlines of the periodic timers that are held (platform.h) are
 * left out: a PIT in mode 2 or 3 whose pulse both IRQ 0 paths would
 * absorb, an APIC timer whose vector waits in IRR. That is what keeps a
 * guest with interrupts off, a periodic timer running and its interrupt
 * waiting from exiting at every period for nothing.
 */
u64 platform_next_deadline_ns(const struct platform *p, const struct vcpu *vcpu)
{
	const struct vlapic *l = &p->lapic[cpu_index(vcpu)];
	u64 pit = vpit_next_deadline_ns(&p->pit);
	u64 lapic = vlapic_next_deadline_ns(l);

	if (pit && vpit_irq_periodic(&p->pit) && irq0_pulse_absorbed(p))
		pit = 0;
	if (lapic && vlapic_timer_held(l) && !p->lapic_virt[cpu_index(vcpu)])
		lapic = 0;
	/* vCPU 0 wakes to poll a live INTx of an assigned function. */
	if (cpu_index(vcpu) == 0 && passthru_intx_live(p))
		lapic =
		    earliest(lapic, platform_now_ns(p) + PASSTHRU_INTX_POLL_NS);
	return earliest(pit, lapic);
}

/* The 8259s' INTR reaches vCPU `i` (vCPU 0, through LINT0, platform.h). */
static bool extint_reaches(const struct platform *p, u32 i)
{
	return i == 0 && vlapic_accepts_extint(&p->lapic[0]);
}

bool platform_interrupt_pending(struct platform *p, struct vcpu *vcpu)
{
	u32 i = cpu_index(vcpu);

	return (!p->lapic_virt[i] &&
		vlapic_pending_vector(&p->lapic[i]) >= 0) ||
	       (extint_reaches(p, i) && vpic_pending_vector(&p->pic) >= 0);
}

bool platform_interrupt_wakes(struct platform *p, struct vcpu *vcpu)
{
	u32 i = cpu_index(vcpu);

	return vlapic_pending_vector(&p->lapic[i]) >= 0 ||
	       (extint_reaches(p, i) && vpic_pending_vector(&p->pic) >= 0);
}

bool platform_virt_want(struct platform *p, struct vcpu *vcpu, bool hw)
{
	u32 i = cpu_index(vcpu);

	p->lapic_virt[i] =
	    platform_virt_possible(p, hw) && vlapic_virt_ok(&p->lapic[i]);
	return p->lapic_virt[i];
}

u64 platform_cr8_read(struct platform *p, struct vcpu *vcpu)
{
	return vlapic_cr8_read(&p->lapic[cpu_index(vcpu)]);
}

bool platform_cr8_write(struct platform *p, struct vcpu *vcpu, u64 value)
{
	return vlapic_cr8_write(&p->lapic[cpu_index(vcpu)], value) == 0;
}

void platform_virt_get(struct platform *p, struct vcpu *vcpu,
		       struct apic_virt_state *s)
{
	vlapic_virt_get(&p->lapic[cpu_index(vcpu)], s);
}

bool platform_virt_put(struct platform *p, struct vcpu *vcpu,
		       const struct apic_virt_state *s)
{
	u32 delivered;
	bool changed =
	    vlapic_virt_put(&p->lapic[cpu_index(vcpu)], s, &delivered);

	if (vcpu)
		vcpu->apic_virt_delivered += delivered;
	return changed;
}

void platform_virt_eoi(struct platform *p, struct vcpu *vcpu, u8 vector)
{
	catch_up(p);
	vlapic_eoi_done(&p->lapic[cpu_index(vcpu)], vector);
}

bool platform_eoi_can_wait(struct platform *p, struct vcpu *vcpu, u8 vector)
{
	return vlapic_eoi_can_wait(&p->lapic[cpu_index(vcpu)], vector);
}

bool platform_eoi_for_guest(struct platform *p, struct vcpu *vcpu, u8 vector)
{
	catch_up(p);
	return vlapic_eoi_vector(&p->lapic[cpu_index(vcpu)], vector);
}

int platform_take_interrupt(struct platform *p, struct vcpu *vcpu)
{
	u32 i = cpu_index(vcpu);
	int v = p->lapic_virt[i] ? -1 : vlapic_pending_vector(&p->lapic[i]);

	if (v >= 0) {
		vlapic_inject_done(&p->lapic[i], (u8)v);
		return v;
	}
	/* The 8259's INTA cycle names the vector (spurious IRQ 7/15 too). */
	if (extint_reaches(p, i) && vpic_pending_vector(&p->pic) >= 0)
		return vpic_ack(&p->pic);
	return -1;
}

/* ---- NMIs ---- */

bool platform_nmi_pending(struct platform *p, struct vcpu *vcpu)
{
	return p->nmi_pending[cpu_index(vcpu)];
}

bool platform_take_nmi(struct platform *p, struct vcpu *vcpu)
{
	u32 i = cpu_index(vcpu);
	bool was = p->nmi_pending[i];

	p->nmi_pending[i] = false;
	if (was && (p->pit_nmi & (1u << i)))
		vpit_irq_taken(&p->pit, platform_now_ns(p));
	p->pit_nmi &= ~(1u << i);
	return was;
}

bool platform_nmi_may_arrive(struct platform *p, struct vcpu *vcpu)
{
	(void)vcpu;
	for (u8 pin = 0; pin < VIOAPIC_PINS; pin++) {
		u64 rte = vioapic_entry(&p->ioapic, pin);

		if (!(rte & VIOAPIC_RTE_MASKED) &&
		    ((rte & VIOAPIC_RTE_DELIVERY_MODE) >> 8) ==
			VIOAPIC_DELIVERY_NMI)
			return true;
	}
	return false;
}

/* Port 0x70 bit 7 gates the board's NMI sources, not APIC messages. */
void platform_nmi_line_pulse(struct platform *p)
{
	if (vrtc_nmi_disabled(&p->rtc))
		return;
	for (u32 i = 0; i < p->vcpus; i++)
		if (vlapic_lint_edge(&p->lapic[i], 1) == VLAPIC_LINT_NMI)
			raise_nmi(p, i);
}

bool platform_apic_enabled(struct platform *p, struct vcpu *vcpu)
{
	return vlapic_get_apic_base(&p->lapic[cpu_index(vcpu)]) &
	       VLAPIC_APIC_BASE_EN;
}

int platform_msr_read(struct platform *p, struct vcpu *vcpu, u32 msr,
		      u64 *value)
{
	u64 now = catch_up(p);

	return vlapic_msr_read(&p->lapic[cpu_index(vcpu)], msr, value, now);
}

int platform_msr_write(struct platform *p, struct vcpu *vcpu, u32 msr,
		       u64 value)
{
	u64 now = catch_up(p);

	return vlapic_msr_write(&p->lapic[cpu_index(vcpu)], msr, value, now);
}
