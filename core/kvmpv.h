/* SPDX-License-Identifier: MIT */
/*
 * The KVM-compatible para-virtual interface, offered per guest beside
 * Veneer's own (docs/hypercall.md, "The KVM-compatible interface"): the
 * signature and feature leaves at CPUID 0x40000100, kvm-clock (the
 * per-vCPU pvclock time structure and the wall clock, MSRs 0x4b564d01 and
 * 0x4b564d00), PV EOI (MSR 0x4b564d04, below), steal time (MSR
 * 0x4b564d03) and three of KVM's hypercalls (PV send-IPI, kick, sched
 * yield; kvmpv_hypercall). Only what is
 * implemented completely is advertised; every other KVM MSR is #GP, as
 * for any MSR outside core/msr.c's allow list. The ABI is the one Linux
 * documents publicly in Documentation/virt/kvm/x86/cpuid.rst and msr.rst.
 */
#ifndef VENEER_CORE_KVMPV_H
#define VENEER_CORE_KVMPV_H

#include "core/lib/types.h"

struct vm;
struct vcpu;

/* CPUID: Linux looks for the signature every 0x100 leaves from 0x40000000. */
#define KVMPV_LEAF_SIGNATURE 0x40000100u
#define KVMPV_LEAF_FEATURES  0x40000101u
/*
 * The timing leaf at the base + 0x10, as VMware defined it and QEMU/KVM
 * offer it at their base (`vmware-cpuid-freq`): EAX the guest's TSC
 * frequency in kHz, EBX the local APIC timer's in kHz, ECX and EDX 0.
 * The signature leaf's EAX (the highest leaf of the range) reaches it.
 */
#define KVMPV_LEAF_TIMING 0x40000110u
#define KVMPV_LEAF_LAST	  0x400001ffu
/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX. */
#define KVMPV_SIG_EBX 0x4b4d564bu /* "KVMK" */
#define KVMPV_SIG_ECX 0x564b4d56u /* "VMKV" */
#define KVMPV_SIG_EDX 0x0000004du /* "M\0\0\0" */
/* Feature bits of leaf 0x40000101 EAX. */
#define KVMPV_FEATURE_CLOCKSOURCE2	 BIT(3)
#define KVMPV_FEATURE_STEAL_TIME	 BIT(5)
#define KVMPV_FEATURE_PV_EOI		 BIT(6)
#define KVMPV_FEATURE_PV_UNHALT		 BIT(7)
#define KVMPV_FEATURE_PV_TLB_FLUSH	 BIT(9)
#define KVMPV_FEATURE_PV_SEND_IPI	 BIT(11)
#define KVMPV_FEATURE_PV_SCHED_YIELD	 BIT(13)
#define KVMPV_FEATURE_CLOCKSOURCE_STABLE BIT(24)
/* Hints, leaf 0x40000101 EDX: vCPUs never wait for their CPU. */
#define KVMPV_HINT_REALTIME BIT(0)

/*
 * KVM's hypercalls (Linux's Documentation/virt/kvm/x86/hypercalls.rst):
 * VMCALL / VMMCALL with the number in RAX and the arguments in RBX, RCX,
 * RDX, RSI, the result in RAX. Their numbers are not Veneer's own (0-4,
 * core/hypercall.h).
 */
#define KVMPV_HC_KICK_CPU    5	/* a1 (RCX): APIC ID of the vCPU to wake */
#define KVMPV_HC_SEND_IPI    10 /* bitmap lo, hi, lowest APIC ID, ICR */
#define KVMPV_HC_SCHED_YIELD 11 /* a0: APIC ID of the IPI's target */

/* The MSRs (msr.rst): the new kvm-clock pair, and the range of them all. */
#define KVMPV_MSR_WALL_CLOCK_NEW  0x4b564d00u
#define KVMPV_MSR_SYSTEM_TIME_NEW 0x4b564d01u
#define KVMPV_MSR_SYSTEM_TIME_ON  BIT(0) /* enable bit of SYSTEM_TIME_NEW */
#define KVMPV_MSR_PV_EOI_EN	  0x4b564d04u
#define KVMPV_MSR_PV_EOI_ON	  BIT(0) /* enable bit of PV_EOI_EN */
#define KVMPV_PV_EOI_PENDING	  BIT(0) /* in the guest's 4-byte word */
#define KVMPV_MSR_STEAL_TIME	  0x4b564d03u
#define KVMPV_MSR_STEAL_TIME_ON	  BIT(0) /* enable bit of STEAL_TIME */

/*
 * The steal time structure (msr.rst, MSR_KVM_STEAL_TIME), 64 bytes at a
 * 64-byte aligned guest-physical address: the time the vCPU was runnable
 * but not running (ns), a version the guest reads before and after (odd
 * while Veneer writes), and whether the vCPU is preempted now.
 */
struct kvmpv_steal_time {
	u64 steal;
	u32 version;
	u32 flags;
	u8 preempted; /* KVMPV_PREEMPTED, KVMPV_FLUSH_TLB */
	u8 pad8[3];
	u32 pad[11];
};
_Static_assert(sizeof(struct kvmpv_steal_time) == 64,
	       "the steal time structure is 64 bytes (msr.rst)");
/*
 * `preempted` (msr.rst; the bits of KVM's public asm/kvm_para.h): Veneer
 * sets PREEMPTED while the vCPU's thread gives its CPU away. With
 * KVMPV_FEATURE_PV_TLB_FLUSH another vCPU that would send it a TLB
 * shootdown sets FLUSH_TLB instead (compare-and-exchange on the byte);
 * Veneer takes the byte back to 0 with one exchange when the vCPU runs
 * again, and flushes the vCPU's guest TLB before its next entry when
 * FLUSH_TLB was set.
 */
#define KVMPV_PREEMPTED BIT(0)
#define KVMPV_FLUSH_TLB BIT(1)

#define KVMPV_MAX_VCPUS 8

/* Per-guest state, in struct vm (never static). */
struct kvmpv {
	u64 wall_clock_msr;		      /* as last written */
	u32 wall_clock_version;		      /* updates written, x 2 */
	u64 system_time_msr[KVMPV_MAX_VCPUS]; /* per vCPU, bit 0 = on */
	u32 system_time_version[KVMPV_MAX_VCPUS];
	/*
	 * PV EOI, per vCPU: the MSR; the vector whose EOI the guest may
	 * leave to Veneer, 0 for none (a local APIC never takes vectors
	 * 0-15, SDM Vol. 3A 11.5.2); the EOIs done for the guest.
	 */
	u64 pv_eoi_msr[KVMPV_MAX_VCPUS];
	u8 pv_eoi_vector[KVMPV_MAX_VCPUS];
	u64 pv_eois[KVMPV_MAX_VCPUS];
	/*
	 * Steal time, per vCPU: the MSR; the version Veneer writes (the
	 * guest's copy is only read by it); the vCPU's waiting for its CPU
	 * when the guest enabled it (its steal counts from there; pending
	 * until the next update takes it); what was written last.
	 */
	u64 steal_msr[KVMPV_MAX_VCPUS];
	u32 steal_version[KVMPV_MAX_VCPUS];
	u64 steal_base_ns[KVMPV_MAX_VCPUS];
	bool steal_base_pending[KVMPV_MAX_VCPUS];
	u64 steal_ns[KVMPV_MAX_VCPUS];
	bool steal_preempted[KVMPV_MAX_VCPUS];
	/* Hypercalls per vCPU (its kvm statistics line). */
	u64 pv_ipis[KVMPV_MAX_VCPUS];	   /* KVMPV_HC_SEND_IPI calls */
	u64 pv_ipi_dests[KVMPV_MAX_VCPUS]; /* the vCPUs they reached */
	u64 kicks[KVMPV_MAX_VCPUS];
	u64 yields[KVMPV_MAX_VCPUS];
	u64 tlb_flushes[KVMPV_MAX_VCPUS]; /* asked while preempted */
};

/* Back to the state of a guest that never wrote the MSRs (at reset). */
void kvmpv_reset(struct kvmpv *k);

/*
 * Leaves 0x40000100-0x400001ff for a guest with vm->kvm_pv: the signature,
 * the features, the timing leaf (TSC and APIC timer kHz), zeros for the
 * rest; true with *out filled. False for any
 * other leaf, and for every leaf when the interface is off (the caller
 * then answers zeros, as for an unused hypervisor leaf).
 */
bool kvmpv_cpuid(const struct vm *vm, u32 leaf, u32 out[4]);

/* The features leaf 0x40000101 advertises for `vm` (EAX; 0 when off). */
u32 kvmpv_features(const struct vm *vm);

/*
 * One of KVM's hypercalls (KVMPV_HC_*) from a guest with the interface on,
 * its arguments a[0..3] (RBX, RCX, RDX, RSI; 32 bits each outside 64-bit
 * code): true with *ret set; false when `nr` is none of them.
 *  - SEND_IPI: a fixed interrupt (ICR bits 7:0 the vector) or an NMI
 *    (delivery mode, ICR bits 10:8) to every vCPU whose APIC ID is
 *    a[2] + i for a set bit i of the bitmap a[0] (bits 0-63, 0-31 outside
 *    64-bit code) then a[1]; IDs no vCPU has are skipped. *ret: the vCPUs
 *    that took it. Any other delivery mode: HC_EINVAL, nothing sent.
 *  - KICK_CPU: the vCPU of APIC ID a[1] leaves its HLT, even with
 *    interrupts disabled; one not halted now leaves its next HLT at once
 *    (vcpu->pv_unhalted). *ret 0.
 *  - SCHED_YIELD: on a shared CPU the caller gives way at once
 *    (sched_yield); on a CPU of its own nothing. *ret 0.
 */
bool kvmpv_hypercall(struct vcpu *vcpu, u64 nr, const u64 a[4], i64 *ret);

/*
 * An MSR of the advertised features of a guest with vm->kvm_pv; the
 * others (any MSR when the interface is off) are not KVM's business and
 * get #GP from core/msr.c.
 */
bool kvmpv_handles_msr(const struct vm *vm, u32 index);
/* RDMSR / WRMSR of such an MSR; false means #GP(0). */
bool kvmpv_msr_read(struct vcpu *vcpu, u32 index, u64 *value);
bool kvmpv_msr_write(struct vcpu *vcpu, u32 index, u64 value);

/*
 * PV EOI (msr.rst, MSR_KVM_PV_EOI_EN): the guest names a 4-byte word of
 * its RAM per vCPU. When Veneer injects a local APIC interrupt whose EOI
 * can wait (platform_eoi_can_wait: the highest in service, edge, nothing
 * else in IRR) it sets bit 0 of the word; the guest's handler clears the
 * bit in one instruction instead of writing EOI (no exit), and at the
 * vCPU's next exit Veneer sees it clear and does the EOI for it. A bit
 * the guest left set is taken back (cleared) before anything else is
 * injected, or when an interrupt comes to wait in IRR: the guest then
 * writes EOI as usual. The word is only written while its vCPU is out of
 * guest mode.
 *
 * kvmpv_eoi_offer(): after `vector` was taken from the local APIC for
 * injection. kvmpv_eoi_withdraw(): before any other interrupt is
 * injected (its handler would take the offer for its own).
 * kvmpv_eoi_settle(): at every exit while one is offered
 * (kvmpv_eoi_offered), before anything reads the APIC; true when it did
 * the guest's EOI (pending interrupts may have changed).
 */
void kvmpv_eoi_offer(struct vcpu *vcpu, u8 vector);
void kvmpv_eoi_withdraw(struct vcpu *vcpu);
bool kvmpv_eoi_settle(struct vcpu *vcpu);
static inline bool kvmpv_eoi_offered(const struct kvmpv *k, u32 index)
{
	return k->pv_eoi_vector[index] != 0;
}

/*
 * The guest moved its TSC (IA32_TSC, IA32_TSC_ADJUST): each enabled time
 * structure is written afresh against the new TSC, so that kvm-clock goes
 * on from where it was (it follows the devices' clock, which the move
 * does not touch).
 */
void kvmpv_tsc_moved(struct vm *vm);

/*
 * Steal time (MSR_KVM_STEAL_TIME): is it on for vCPU `index`? Then
 * kvmpv_steal_update() writes the structure when something changed:
 * `waited_ns`, all the time the vCPU has waited for a host CPU that
 * other vCPUs share (core/sched.h; the guest sees what came after it
 * enabled steal time), and whether it is preempted now (set while its
 * thread gives the CPU away, cleared when it runs again). A halted vCPU
 * is not preempted and does not wait (msr.rst: idle time is not steal).
 * A TLB flush the guest asked for while the vCPU was preempted
 * (KVMPV_FLUSH_TLB) goes into its next entry request (vcpu_entry.
 * flush_tlb) when it runs again.
 */
static inline bool kvmpv_steal_on(const struct kvmpv *k, u32 index)
{
	return index < KVMPV_MAX_VCPUS &&
	       (k->steal_msr[index] & KVMPV_MSR_STEAL_TIME_ON);
}
void kvmpv_steal_update(struct vcpu *vcpu, u64 waited_ns, bool preempted);

#endif /* VENEER_CORE_KVMPV_H */
