/* SPDX-License-Identifier: MIT */
/*
 * The virtual PC every guest gets: the device models of core/vdev wired
 * together (ports, MMIO, interrupt lines, timers), guest time, and the
 * ACPI fixed hardware (PM1 registers, PM timer) Linux powers off with.
 *
 *   ISA IRQ n --+--> 8259A pair ------------------(ExtINT)--+
 *               +--> IOAPIC pin n (IRQ0 -> pin 2) --> LAPIC --+--> vCPU
 */
#ifndef VENEER_CORE_PLATFORM_H
#define VENEER_CORE_PLATFORM_H

#include "core/lib/types.h"
#include "core/vdev/vi8042.h"
#include "core/vdev/vioapic.h"
#include "core/vdev/vlapic.h"
#include "core/vdev/vpci.h"
#include "core/vdev/vpic.h"
#include "core/vdev/vpit.h"
#include "core/vdev/vrtc.h"
#include "core/vdev/virtio_blk.h"
#include "core/vdev/virtio_console.h"
#include "core/vdev/virtio_net.h"
#include "core/vdev/vpassthru.h"
#include "core/guestcfg.h"

#define PLATFORM_IOAPIC_BASE 0xfec00000ull
#define PLATFORM_IOAPIC_ID   0 /* the LAPIC IDs of the vCPUs start at 0 too */
#define PLATFORM_ACPI_GPA    0xe0000ull /* ACPI tables: 0xE0000-0xFFFFF */
#define PLATFORM_ACPI_SIZE   0x20000ull
#define PLATFORM_UART_IRQ    4
/* Its virtio disks (VM_MAX_DISKS, core/vm.h), in PCI slots 1, 2, ... */
#define PLATFORM_MAX_DISKS 4
#define PLATFORM_DISK_SLOT 1
/* devices = virtio-console: in the slot after the last disk's. */
#define PLATFORM_CONSOLE_SLOT (PLATFORM_DISK_SLOT + PLATFORM_MAX_DISKS)
/* devices = virtio-net: in the slot after the console's. */
#define PLATFORM_NET_SLOT (PLATFORM_CONSOLE_SLOT + 1)
/* Every virtio function: the disks, the console and the NIC. */
#define PLATFORM_MAX_VIRTIO (PLATFORM_MAX_DISKS + 2)
/* Host functions it owns (pci=, docs/passthrough.md): in the slots after
 * the NIC's, their BARs from PLATFORM_PASSTHRU_BARS up. */
#define PLATFORM_PASSTHRU_SLOT (PLATFORM_NET_SLOT + 1)
#define PLATFORM_PASSTHRU_BARS 0xd0000000ull
/* The most vCPUs a virtual PC has (VM_MAX_VCPUS, core/vm.h). */
#define PLATFORM_MAX_VCPUS 8
/* QEMU isa-debug-exit compatible: a write of N ends the guest with code N. */
#define PLATFORM_DEBUG_EXIT_PORT      0xf4
#define PLATFORM_DEBUG_EXIT_PORT_LAST 0xf7

struct vm;
struct vcpu;

/*
 * A timer deadline further ahead than this many TSC ticks (about 48 years
 * at 3 GHz) is never: platform_ns_to_tsc() gives 0 for it, and the run
 * loop takes none further ahead (so a deadline's TSC never wraps around
 * into the past, whatever TSC the guest set).
 */
#define PLATFORM_TSC_HORIZON (1ull << 62)

struct platform {
	struct vm *vm;
	/*
	 * Guest time (core/platform.c): the guest TSC less vm->msr_tsc_adjust
	 * (the guest's own moves of it), minus tsc_base, at tsc_hz.
	 */
	u64 tsc_base;
	u64 tsc_hz;
	u64 lapic_tsc_adjust; /* msr_tsc_adjust the local APIC last saw */
	struct vpic pic;
	struct vpit pit;
	struct vrtc rtc;
	struct vpci pci;
	struct vi8042 kbc;
	struct vioapic ioapic;
	/* One local APIC per vCPU, APIC ID = vCPU index. */
	u32 vcpus;
	struct vlapic lapic[PLATFORM_MAX_VCPUS];
	/* The CPU delivers this APIC's interrupts (platform_virt_want). */
	bool lapic_virt[PLATFORM_MAX_VCPUS];
	/* What each local APIC's callbacks need: the platform, the sender. */
	struct platform_lapic_ctx {
		struct platform *p;
		u32 index;
	} lapic_ctx[PLATFORM_MAX_VCPUS];
	/*
	 * Each vCPU's NMI waiting to be injected. One at most: NMIs that
	 * arrive while one waits are that one (SDM Vol. 3A 6.7.1).
	 */
	bool nmi_pending[PLATFORM_MAX_VCPUS];
	/*
	 * The vCPUs (a bit each) whose waiting NMI a PIT pulse raised: when
	 * one is taken, the PIT's next pulse is counted from then
	 * (vpit_irq_taken). irq0_rising is set while IRQ 0 rises.
	 */
	u32 pit_nmi;
	bool irq0_rising;
	/* The ISA lines' levels, a bit each (isa_irq): both controllers
	 * keep them too, so the same level again changes nothing. */
	u16 isa_level;
	u32 lowest_next; /* lowest-priority ties go round (platform.c) */
	u16 pm1_status, pm1_enable, pm1_control;
	u64 acpi_rsdp; /* guest-physical, 0 when the tables are not built */
	bool reset_requested; /* the guest asked for a reboot */
	/* PCI devices: one virtio-blk per disk of the VM (vm->disks), the
	 * virtio console when it has one, and all of them in slot order. */
	u32 disks;
	struct virtio_blk disk[PLATFORM_MAX_DISKS];
	bool has_console;
	struct virtio_console console;
	/*
	 * Its NIC on the guests' switch (port: -1 while off it). Frames come
	 * on the sender's CPU, which must not touch this guest's interrupt
	 * controllers (they are under its VM lock): the interrupts the NIC
	 * raises meanwhile are kept here (under nic.lock) and `irq_waiting`
	 * is set; the guest's own CPU sends them on (platform_advance).
	 */
	bool has_nic;
	struct platform_nic {
		struct virtio_net net;
		int port;
		u32 irq_waiting; /* atomic: msi_count or intx_changed */
		u32 msi_count;
		struct platform_msi {
			u64 addr;
			u32 data;
		} msi[VIRTIO_MSIX_VECTORS];
		bool intx_changed;
		u64 dropped; /* the port's tx_dropped when it left the switch */
	} nic;
	u32 virtio_count;
	struct virtio_pci *virtio[PLATFORM_MAX_VIRTIO];
	/* Host PCI functions it owns (vm->pci), as it sees them. */
	u32 passthru_count;
	struct vpassthru passthru[GUESTCFG_PCI_MAX];
	/* Atomic: one of their interrupts came (vpassthru_deliver due). */
	u32 passthru_waiting;
};

/*
 * Wire every device of `vm` onto its buses (one local APIC for each of its
 * vm->vcpu_count vCPUs, listed in the MADT), the debug-exit port
 * (PLATFORM_DEBUG_EXIT_PORT) included, all but the UART (console_attach(),
 * core/console.h, comes first). Its RAM must exist (the ACPI tables are
 * written into it). Returns false with err naming what failed.
 */
bool platform_init(struct platform *p, struct vm *vm, char *err, size_t errlen);

/*
 * Take the guest's devices off what other guests reach (its NIC off the
 * switch): before its RAM is cleared or given back, and before
 * platform_init() again. Once it returns no other CPU writes into the
 * guest's RAM or platform.
 */
void platform_detach(struct platform *p);

/*
 * A para-virtual IPI (core/kvmpv.h): an NMI, or the edge-triggered fixed
 * interrupt `vector`, to every vCPU of `set` (a bit per vCPU index =
 * APIC ID), as an ICR write would send it. Returns how many took it (a
 * local APIC refuses vectors 0-15, docs/devices.md).
 */
u32 platform_send_ipis(struct platform *p, u32 set, bool nmi, u8 vector);

/* The frames the switch refused from the guest's NIC (vswitch.h: a forged
 * source, a size, no such MAC), also once it left the switch; 0 without
 * a NIC. */
u64 platform_nic_switch_dropped(const struct platform *p);

/* Work another CPU, or an assigned function's interrupt, left for the
 * guest's own (struct platform_nic, passthru_waiting). */
static inline bool platform_async_pending(const struct platform *p)
{
	return __atomic_load_n(&p->nic.irq_waiting, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&p->passthru_waiting, __ATOMIC_SEQ_CST);
}

/*
 * Guest time in nanoseconds since the platform started: the devices'
 * clock. It runs with the guest's TSC but does not move when the guest
 * writes IA32_TSC or IA32_TSC_ADJUST (docs/guests.md, "The guest's
 * clock"). Saturates at ~0.
 */
u64 platform_now_ns(const struct platform *p);

/* Fire expired device timers, then update derived interrupt lines. */
void platform_tick(struct platform *p);

/*
 * A device timer has expired: platform_tick() has something to fire.
 * (The devices update their interrupt lines themselves when written; the
 * tick only moves them on in time.)
 */
bool platform_timer_due(const struct platform *p);

/*
 * Guest time of the next device timer expiry the vCPU must wake or exit
 * for (the board's timers and its own local APIC's; another vCPU's APIC
 * timer is that vCPU's to wait for), or 0 for none. A periodic timer whose
 * interrupt is already waiting where it cannot be taken yet (IRR of the 8259
 * and of the local APIC hold one request per line or vector) is left out: its
 * expiries would change nothing until the guest takes that interrupt, and it is
 * ticked at the next exit anyway (platform_advance). ~0 is never.
 */
u64 platform_next_deadline_ns(const struct platform *p,
			      const struct vcpu *vcpu);
/*
 * The guest TSC at which guest time reaches `ns`: the first TSC value at
 * which platform_now_ns() >= ns (never earlier). 0 for ns = 0 and for a
 * time more than PLATFORM_TSC_HORIZON ticks ahead (never).
 */
u64 platform_ns_to_tsc(const struct platform *p, u64 ns);

/*
 * The run loop's one call that moves the platform on in time: fire the
 * device timers that are due (platform_tick) and return the guest TSC at
 * which the vCPU must next exit for one (platform_next_deadline_ns), 0
 * for none. Afterwards no timer is due (platform_timer_due() is false)
 * and the TSC returned is later than the guest's TSC now: a vCPU never
 * exits for a timer that has nothing to do. The run loop calls it again
 * after platform_take_interrupt(), which may let a held timer go on. The
 * other calls the loop makes only ask the interrupt controllers
 * (platform_interrupt_pending, platform_take_interrupt) or classify an
 * MSR (platform_handles_msr).
 */
u64 platform_advance(struct platform *p, const struct vcpu *vcpu);

/*
 * With several vCPUs, the calls below that name a vCPU act on its own
 * local APIC and NMI; the 8259s' INTR reaches vCPU 0 alone (the other
 * vCPUs' LINT0 is not wired to them, as a BIOS leaves an MP system). A
 * change that concerns another vCPU (an IPI, an IOAPIC message, its
 * timer, the 8259 for vCPU 0, an INIT or SIPI) wakes it (vm_wake_vcpu).
 * A NULL vcpu means vCPU 0. The caller holds the VM lock (core/vm.h).
 */

/*
 * An interrupt is waiting for `vcpu` that the run loop injects: while the
 * CPU delivers the vCPU's local APIC interrupts (platform_virt_want) those
 * are left out. platform_interrupt_wakes(): any that would wake a HLT.
 */
bool platform_interrupt_pending(struct platform *p, struct vcpu *vcpu);
bool platform_interrupt_wakes(struct platform *p, struct vcpu *vcpu);
/*
 * Virtual-interrupt delivery (VT-x APICv, core/vcpu.h vcpu_entry.vapic).
 * platform_virt_want(): whether the CPU delivers the vCPU's local APIC
 * interrupts from the next entry on: `hw` (the CPU can), the guest's only
 * vCPU (another vCPU's IPI or timer would write its APIC while the CPU
 * owns it: that needs posted interrupts) and vlapic_virt_ok. While it
 * does, platform_interrupt_pending and platform_take_interrupt leave the
 * APIC's vectors to the CPU, and a periodic APIC timer whose vector waits
 * in IRR is not held (the CPU may take it at any moment).
 * platform_virt_get() / platform_virt_put(): the APIC's state for the
 * entry and back after the run (vlapic_virt_get / put); put is true when
 * ISR or IRR changed. platform_virt_eoi(): the CPU did the EOI of a
 * vector whose EOI exits (a level-triggered one): the IOAPIC hears it.
 */
bool platform_virt_want(struct platform *p, struct vcpu *vcpu, bool hw);
/*
 * Whether the CPU may ever deliver the guest's local-APIC interrupts: it
 * can (`hw`, vcpu_caps.apic_virt) and the guest has one vCPU. The one
 * place that says so: platform_virt_want adds the APIC's mode to it, and
 * PV EOI is not advertised where it is true (core/kvmpv.c).
 */
static inline bool platform_virt_possible(const struct platform *p, bool hw)
{
	return hw && p && p->vcpus == 1;
}
/*
 * MOV from / to CR8 (SDM Vol. 3A 11.8.6): TPR[7:4] of the vCPU's local
 * APIC. The write is false, and changes nothing, for bits 63:4 set (#GP).
 */
u64 platform_cr8_read(struct platform *p, struct vcpu *vcpu);
bool platform_cr8_write(struct platform *p, struct vcpu *vcpu, u64 value);
void platform_virt_get(struct platform *p, struct vcpu *vcpu,
		       struct apic_virt_state *s);
bool platform_virt_put(struct platform *p, struct vcpu *vcpu,
		       const struct apic_virt_state *s);
void platform_virt_eoi(struct platform *p, struct vcpu *vcpu, u8 vector);
/*
 * The local APIC side of a PV EOI (core/kvmpv.h): may the EOI of the
 * vector just injected wait for the hypervisor (vlapic_eoi_can_wait)? Do
 * it for the guest (vlapic_eoi_vector: false when it is not the highest
 * in service any more).
 */
bool platform_eoi_can_wait(struct platform *p, struct vcpu *vcpu, u8 vector);
bool platform_eoi_for_guest(struct platform *p, struct vcpu *vcpu, u8 vector);

/*
 * The vector to inject into `vcpu` now, acknowledged at its controller
 * (LAPIC IRR->ISR, or the 8259 INTA cycle), or -1 when none. Call only
 * when the vCPU can take an interrupt.
 *
 * Always -1 or 0-255. A local APIC vector is 16-255: the APIC refuses
 * 0-15 where they arise (IPIs, LVT entries, IOAPIC messages; SDM Vol. 3A
 * 11.5.3). An 8259 vector is whatever its ICW2 base makes it, 0-31
 * included (a guest that leaves the base at its power-on 0, or sets one
 * below 32): as on bare metal the CPU takes it through that IDT entry, so
 * the core injects it as an external interrupt like any other, and a
 * backend must too.
 */
int platform_take_interrupt(struct platform *p, struct vcpu *vcpu);

/*
 * NMIs for `vcpu`: from its local APIC (an NMI IPI it sends itself, the
 * ICR self and all-including-self shorthands included; LVT LINT0 / LINT1
 * in NMI mode) and from IOAPIC entries in NMI mode. The platform keeps
 * one waiting per vCPU (SDM Vol. 3A 6.7.1: NMIs do not queue beyond one);
 * the run loop injects it when the guest can take it, which RFLAGS.IF
 * does not decide.
 *
 * platform_nmi_pending(): one waits. platform_take_nmi(): take it for
 * injection; false when none waited. platform_nmi_may_arrive(): one
 * could come later without the guest doing anything, from a device
 * through an unmasked IOAPIC entry in NMI mode (HLT with RFLAGS.IF clear
 * waits for that rather than ending the guest).
 */
bool platform_nmi_pending(struct platform *p, struct vcpu *vcpu);
bool platform_take_nmi(struct platform *p, struct vcpu *vcpu);
bool platform_nmi_may_arrive(struct platform *p, struct vcpu *vcpu);

/*
 * The board's NMI line pulses (the chipset's NMI sources, an NMI button):
 * unless port 0x70 bit 7 masks it, every vCPU's LINT1 sees an edge and
 * its LVT LINT1 entry decides (vlapic_lint_edge). No device of the
 * virtual PC drives the line yet; it is the input an operator's "NMI"
 * command would use.
 */
void platform_nmi_line_pulse(struct platform *p);

/*
 * Is `vcpu`'s local APIC globally enabled (IA32_APIC_BASE.EN)? CPUID.1:
 * EDX.APIC follows it (SDM Vol. 3A 11.4.3).
 */
bool platform_apic_enabled(struct platform *p, struct vcpu *vcpu);

/* Local APIC MSRs (x2APIC range, IA32_APIC_BASE, TSC deadline). */
static inline bool platform_handles_msr(u32 msr)
{
	return vlapic_handles_msr(msr);
}
int platform_msr_read(struct platform *p, struct vcpu *vcpu, u32 msr,
		      u64 *value);
int platform_msr_write(struct platform *p, struct vcpu *vcpu, u32 msr,
		       u64 value);

/*
 * Bytes typed on the console for this guest: into its virtio console once
 * the driver has set up its receive queue, else into its UART (IRQ 4).
 * The console calls the platform, never the other way round.
 */
void platform_console_input(struct platform *p, u8 byte);
/* Room for one more typed byte where platform_console_input() puts it. */
bool platform_console_room(const struct platform *p);

/* The virtual UART's registers changed: recompute its IRQ line. */
void platform_uart_update_irq(struct platform *p);

#endif /* VENEER_CORE_PLATFORM_H */
