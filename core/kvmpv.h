/* SPDX-License-Identifier: MIT */
/*
 * The KVM-compatible para-virtual interface, offered per guest beside
 * Veneer's own (docs/hypercall.md, "The KVM-compatible interface"): the
 * signature and feature leaves at CPUID 0x40000100, and kvm-clock (the
 * per-vCPU pvclock time structure and the wall clock, MSRs 0x4b564d01 and
 * 0x4b564d00). Only what is implemented completely is advertised; every
 * other KVM MSR is #GP, as for any MSR outside core/msr.c's allow list.
 * The ABI is the one Linux documents publicly in
 * Documentation/virt/kvm/x86/cpuid.rst and msr.rst.
 */
#ifndef VENEER_CORE_KVMPV_H
#define VENEER_CORE_KVMPV_H

#include "core/lib/types.h"

struct vm;
struct vcpu;

/* CPUID: Linux looks for the signature every 0x100 leaves from 0x40000000. */
#define KVMPV_LEAF_SIGNATURE 0x40000100u
#define KVMPV_LEAF_FEATURES  0x40000101u
#define KVMPV_LEAF_LAST	     0x400001ffu
/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX. */
#define KVMPV_SIG_EBX 0x4b4d564bu /* "KVMK" */
#define KVMPV_SIG_ECX 0x564b4d56u /* "VMKV" */
#define KVMPV_SIG_EDX 0x0000004du /* "M\0\0\0" */
/* Feature bits of leaf 0x40000101 EAX. */
#define KVMPV_FEATURE_CLOCKSOURCE2	 BIT(3)
#define KVMPV_FEATURE_CLOCKSOURCE_STABLE BIT(24)

/* The MSRs (msr.rst): the new kvm-clock pair, and the range of them all. */
#define KVMPV_MSR_WALL_CLOCK_NEW  0x4b564d00u
#define KVMPV_MSR_SYSTEM_TIME_NEW 0x4b564d01u
#define KVMPV_MSR_SYSTEM_TIME_ON  BIT(0) /* enable bit of SYSTEM_TIME_NEW */

#define KVMPV_MAX_VCPUS 8

/* Per-guest state, in struct vm (never static). */
struct kvmpv {
	u64 wall_clock_msr;		      /* as last written */
	u32 wall_clock_version;		      /* updates written, x 2 */
	u64 system_time_msr[KVMPV_MAX_VCPUS]; /* per vCPU, bit 0 = on */
	u32 system_time_version[KVMPV_MAX_VCPUS];
};

/* Back to the state of a guest that never wrote the MSRs (at reset). */
void kvmpv_reset(struct kvmpv *k);

/*
 * Leaves 0x40000100-0x400001ff for a guest with vm->kvm_pv: the signature,
 * the features, zeros for the rest; true with *out filled. False for any
 * other leaf, and for every leaf when the interface is off (the caller
 * then answers zeros, as for an unused hypervisor leaf).
 */
bool kvmpv_cpuid(const struct vm *vm, u32 leaf, u32 out[4]);

/* The features leaf 0x40000101 advertises for `vm` (EAX; 0 when off). */
u32 kvmpv_features(const struct vm *vm);

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
 * The guest moved its TSC (IA32_TSC, IA32_TSC_ADJUST): each enabled time
 * structure is written afresh against the new TSC, so that kvm-clock goes
 * on from where it was (it follows the devices' clock, which the move
 * does not touch).
 */
void kvmpv_tsc_moved(struct vm *vm);

#endif /* VENEER_CORE_KVMPV_H */
