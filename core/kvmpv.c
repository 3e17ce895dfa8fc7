/* SPDX-License-Identifier: MIT */
/*
 * The KVM-compatible interface (core/kvmpv.h): CPUID leaves, kvm-clock,
 * PV EOI and steal time.
 *
 * kvm-clock is the devices' clock (core/platform.c: the guest's TSC less
 * its own moves of it, since the platform started) scaled by the pvclock
 * mul and shift. A time structure is written when the guest enables it
 * and again only when the guest moves its TSC; in between the guest
 * extrapolates from its own TSC. Because both tsc_timestamp and
 * system_time are taken from the guest's TSC, never the host's, the
 * structure stays right in both clock modes: with clock=virtual Veneer
 * moves the TSC offset at every entry to hide the exit, and the guest's
 * TSC, and kvm-clock with it, simply does not advance over the exit.
 */
#include "core/kvmpv.h"
#include "core/platform.h"
#include "core/pvclock.h"
#include "core/hypercall.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "core/vdev/vlapic.h"
#include "core/vdev/vrtc.h"
#include "core/vm.h"

_Static_assert(VM_MAX_VCPUS <= KVMPV_MAX_VCPUS,
	       "kvm-clock state for every vCPU a VM can have");

#define NS_PER_S 1000000000ull
/* The time structure's address is 4-byte aligned: bit 1 must be 0. */
#define SYSTEM_TIME_MISALIGNED BIT(1)
#define WALL_CLOCK_MISALIGNED  3ull
/* PV_EOI_EN: bit 1 is reserved, the word is 4-byte aligned. */
#define PV_EOI_RESERVED BIT(1)
/* STEAL_TIME: bits 5-1 are reserved, the structure 64-byte aligned. */
#define STEAL_TIME_RESERVED 0x3eull
#define STEAL_TIME_ADDR	    (~0x3full)

void kvmpv_reset(struct kvmpv *k)
{
	*k = (struct kvmpv){0};
}

static bool clock_scale(const struct vm *vm, struct pvclock_scale *s)
{
	return vm->platform && pvclock_scale_for(vm->platform->tsc_hz, s);
}

/*
 * A guest whose x2APIC interrupts the CPU may deliver
 * (platform_virt_possible) writes its EOIs without an exit: PV EOI would
 * never be offered, so it is not advertised.
 */
static bool kvmpv_eoi_by_cpu(const struct vm *vm)
{
	return platform_virt_possible(vm->platform, vcpu_caps.apic_virt);
}

u32 kvmpv_features(const struct vm *vm)
{
	struct pvclock_scale s;

	if (!vm->kvm_pv || !clock_scale(vm, &s))
		return 0;
	/*
	 * One TSC offset per guest, so every vCPU reads the same TSC (the
	 * host's TSCs are synchronized): the clock is stable across vCPUs.
	 */
	return KVMPV_FEATURE_CLOCKSOURCE2 | KVMPV_FEATURE_CLOCKSOURCE_STABLE |
	       (kvmpv_eoi_by_cpu(vm) ? 0 : KVMPV_FEATURE_PV_EOI) |
	       KVMPV_FEATURE_STEAL_TIME | KVMPV_FEATURE_PV_UNHALT |
	       KVMPV_FEATURE_PV_SEND_IPI | KVMPV_FEATURE_PV_SCHED_YIELD |
	       KVMPV_FEATURE_PV_TLB_FLUSH;
}

/*
 * Hints: a partitioned guest's vCPUs each have a CPU of their own and
 * never wait for it (Linux then spins on its locks natively instead of
 * halting in them, and keeps its TLB flushes and yields for IPIs).
 */
static u32 kvmpv_hints(const struct vm *vm)
{
	return kvmpv_features(vm) && !vm->shared_cpus ? KVMPV_HINT_REALTIME : 0;
}

bool kvmpv_cpuid(const struct vm *vm, u32 leaf, u32 out[4])
{
	if (!vm->kvm_pv || leaf < KVMPV_LEAF_SIGNATURE ||
	    leaf > KVMPV_LEAF_LAST)
		return false;
	out[0] = out[1] = out[2] = out[3] = 0;
	if (leaf == KVMPV_LEAF_SIGNATURE) {
		out[0] = KVMPV_LEAF_TIMING; /* the highest leaf of the range */
		out[1] = KVMPV_SIG_EBX;
		out[2] = KVMPV_SIG_ECX;
		out[3] = KVMPV_SIG_EDX;
	} else if (leaf == KVMPV_LEAF_FEATURES) {
		out[0] = kvmpv_features(vm);
		out[3] = kvmpv_hints(vm);
	} else if (leaf == KVMPV_LEAF_TIMING && vm->platform) {
		/* Rounded to the nearest kHz; the TSC is below 16 GHz, so the
		 * value fits 32 bits (core/vdev/vlapic.h). */
		out[0] = (u32)((vm->platform->tsc_hz + 500) / 1000);
		out[1] = (u32)(VLAPIC_TIMER_HZ / 1000);
	}
	return true;
}

bool kvmpv_handles_msr(const struct vm *vm, u32 index)
{
	if (!(kvmpv_features(vm) & KVMPV_FEATURE_CLOCKSOURCE2))
		return false;
	return index == KVMPV_MSR_WALL_CLOCK_NEW ||
	       index == KVMPV_MSR_SYSTEM_TIME_NEW ||
	       (index == KVMPV_MSR_PV_EOI_EN &&
		(kvmpv_features(vm) & KVMPV_FEATURE_PV_EOI)) ||
	       index == KVMPV_MSR_STEAL_TIME;
}

/* kvm-clock at guest TSC `tsc`: the devices' clock, pvclock-scaled. */
static u64 clock_ns(const struct vm *vm, u64 tsc, struct pvclock_scale s)
{
	u64 ticks = tsc - vm->msr_tsc_adjust - vm->platform->tsc_base;

	return pvclock_ticks_to_ns(ticks, s);
}

/* Write vCPU i's time structure for guest TSC `tsc`, if it is enabled. */
static void update_time(struct vm *vm, u32 i, u64 tsc)
{
	struct kvmpv *k = &vm->kvmpv;
	struct pvclock_vcpu_time t = {0}, *dst;
	struct pvclock_scale s;
	u64 msr = k->system_time_msr[i];

	if (!(msr & KVMPV_MSR_SYSTEM_TIME_ON) || !clock_scale(vm, &s))
		return;
	/* Checked when written; guest RAM does not move or shrink. */
	dst = vm_gpa_to_hva(vm, gpa(msr & ~KVMPV_MSR_SYSTEM_TIME_ON),
			    sizeof(*dst));
	if (!dst)
		return;
	pvclock_fill(&t, tsc, clock_ns(vm, tsc, s), s, PVCLOCK_FLAG_TSC_STABLE);
	pvclock_write_time(dst, &k->system_time_version[i], &t);
}

void kvmpv_tsc_moved(struct vm *vm)
{
	u64 tsc = vm_guest_tsc(vm);

	for (u32 i = 0; i < vm->vcpu_count && i < KVMPV_MAX_VCPUS; i++)
		update_time(vm, i, tsc);
}

/*
 * MSR_KVM_SYSTEM_TIME_NEW: bit 0 enables, the rest is the guest-physical
 * address of the 32-byte structure, 4-byte aligned. Enabling with the
 * structure not all in the guest's RAM, or with bit 1 set, is #GP and
 * changes nothing: Veneer never writes outside the guest's RAM.
 */
static bool write_system_time(struct vcpu *vcpu, u64 value)
{
	struct vm *vm = vcpu->vm;
	gpa_t at = gpa(value & ~KVMPV_MSR_SYSTEM_TIME_ON);

	if (value & SYSTEM_TIME_MISALIGNED)
		return false;
	if ((value & KVMPV_MSR_SYSTEM_TIME_ON) &&
	    !vm_gpa_to_hva(vm, at, sizeof(struct pvclock_vcpu_time)))
		return false;
	vm->kvmpv.system_time_msr[vcpu->index] = value;
	update_time(vm, vcpu->index, vm_guest_tsc(vm));
	return true;
}

/*
 * MSR_KVM_WALL_CLOCK_NEW: the guest-physical address (4-byte aligned) of
 * the 12-byte wall clock, written once per MSR write: the Unix time the
 * guest's RTC (core/vdev/vrtc.c) showed at kvm-clock 0, which is when the
 * devices' clock started. The RTC counts whole seconds from there, so the
 * nanoseconds are 0. #GP for an address outside RAM or misaligned.
 */
static bool write_wall_clock(struct vcpu *vcpu, u64 value)
{
	struct vm *vm = vcpu->vm;
	struct pvclock_wall_clock *dst;
	struct pvclock_scale s;
	u64 ns, now_s, boot_s;

	if (value & WALL_CLOCK_MISALIGNED || !clock_scale(vm, &s))
		return false;
	dst = vm_gpa_to_hva(vm, gpa(value), sizeof(*dst));
	if (!dst)
		return false;
	ns = clock_ns(vm, vm_guest_tsc(vm), s);
	now_s = vrtc_unix_time(&vm->platform->rtc, ns);
	boot_s = now_s > ns / NS_PER_S ? now_s - ns / NS_PER_S : 0;
	vm->kvmpv.wall_clock_msr = value;
	pvclock_write_wall(dst, &vm->kvmpv.wall_clock_version, (u32)boot_s, 0);
	return true;
}

/* ---- PV EOI ---- */

/* The vCPU's PV EOI word, or NULL when PV EOI is off. */
static u32 *pv_eoi_word(struct vcpu *vcpu)
{
	u64 msr = vcpu->vm->kvmpv.pv_eoi_msr[vcpu->index];

	if (!(msr & KVMPV_MSR_PV_EOI_ON))
		return NULL;
	/* Checked when written; guest RAM does not move or shrink. */
	return vm_gpa_to_hva(vcpu->vm, gpa(msr & ~3ull), sizeof(u32));
}

/* Bit 0 only: the rest of the word is the guest's (msr.rst). */
static void pv_eoi_mark(u32 *word, bool pending)
{
	if (pending)
		__atomic_fetch_or(word, KVMPV_PV_EOI_PENDING, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(word, ~KVMPV_PV_EOI_PENDING,
				   __ATOMIC_SEQ_CST);
}

/* An offer still open is taken back: the guest writes EOI as usual. */
void kvmpv_eoi_withdraw(struct vcpu *vcpu)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;
	u32 *word;

	if (!kvmpv_eoi_offered(k, vcpu->index))
		return;
	word = pv_eoi_word(vcpu);
	if (word)
		pv_eoi_mark(word, false);
	k->pv_eoi_vector[vcpu->index] = 0;
}

bool kvmpv_eoi_settle(struct vcpu *vcpu)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;
	u8 vector = k->pv_eoi_vector[vcpu->index];
	u32 *word = pv_eoi_word(vcpu);
	bool done;

	if (!vector || !word) {
		k->pv_eoi_vector[vcpu->index] = 0;
		return false;
	}
	if (__atomic_load_n(word, __ATOMIC_SEQ_CST) & KVMPV_PV_EOI_PENDING) {
		/* Still the guest's to end, unless another interrupt now
		 * waits behind it: then a real EOI, at once. */
		if (!platform_eoi_can_wait(vcpu->vm->platform, vcpu, vector))
			kvmpv_eoi_withdraw(vcpu);
		return false;
	}
	k->pv_eoi_vector[vcpu->index] = 0;
	done = platform_eoi_for_guest(vcpu->vm->platform, vcpu, vector);
	k->pv_eois[vcpu->index] += done;
	return done;
}

void kvmpv_eoi_offer(struct vcpu *vcpu, u8 vector)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;
	u32 *word;

	/* One at a time: an older offer still open is taken back. */
	kvmpv_eoi_withdraw(vcpu);
	word = pv_eoi_word(vcpu);
	if (!word || vector < 16 ||
	    !platform_eoi_can_wait(vcpu->vm->platform, vcpu, vector))
		return;
	pv_eoi_mark(word, true);
	k->pv_eoi_vector[vcpu->index] = vector;
}

/*
 * MSR_KVM_PV_EOI_EN: bit 0 enables, bits 63-2 are the guest-physical
 * address of the 4-byte word. Bit 1 set, or enabling with the word not
 * in the guest's RAM, is #GP and changes nothing. An offer still open
 * when the guest turns it off or moves it is taken back.
 */
static bool write_pv_eoi(struct vcpu *vcpu, u64 value)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;

	if (value & PV_EOI_RESERVED)
		return false;
	if ((value & KVMPV_MSR_PV_EOI_ON) &&
	    !vm_gpa_to_hva(vcpu->vm, gpa(value & ~3ull), sizeof(u32)))
		return false;
	kvmpv_eoi_withdraw(vcpu);
	k->pv_eoi_msr[vcpu->index] = value;
	return true;
}

/* ---- steal time ---- */

/* The vCPU's steal time structure, or NULL when steal time is off. */
static struct kvmpv_steal_time *steal_time(struct vcpu *vcpu)
{
	u64 msr = vcpu->vm->kvmpv.steal_msr[vcpu->index];

	if (!(msr & KVMPV_MSR_STEAL_TIME_ON))
		return NULL;
	/* Checked when written; guest RAM does not move or shrink. */
	return vm_gpa_to_hva(vcpu->vm, gpa(msr & STEAL_TIME_ADDR),
			     sizeof(struct kvmpv_steal_time));
}

/*
 * Version odd, the fields, version even (msr.rst), from Veneer's own
 * count: what the guest wrote into its copy does not matter. `preempted`
 * is exchanged, not stored, so that a KVMPV_FLUSH_TLB another vCPU set
 * meanwhile is seen exactly once; the byte it held is returned.
 */
static u8 steal_write(struct vcpu *vcpu, struct kvmpv_steal_time *st)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;
	u32 i = vcpu->index;
	u32 version = k->steal_version[i] | 1;
	u8 was;

	__atomic_store_n(&st->version, version, __ATOMIC_SEQ_CST);
	__atomic_store_n(&st->steal, k->steal_ns[i], __ATOMIC_SEQ_CST);
	was = __atomic_exchange_n(&st->preempted,
				  k->steal_preempted[i] ? KVMPV_PREEMPTED : 0,
				  __ATOMIC_SEQ_CST);
	k->steal_version[i] = version + 1;
	__atomic_store_n(&st->version, version + 1, __ATOMIC_SEQ_CST);
	return was;
}

void kvmpv_steal_update(struct vcpu *vcpu, u64 waited_ns, bool preempted)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;
	u32 i = vcpu->index;
	struct kvmpv_steal_time *st;
	u64 steal;

	if (!kvmpv_steal_on(k, i) || !(st = steal_time(vcpu)))
		return;
	if (k->steal_base_pending[i]) {
		k->steal_base_ns[i] = waited_ns;
		k->steal_base_pending[i] = false;
	}
	steal = waited_ns - k->steal_base_ns[i];
	/* Never backwards, whatever a caller passes. */
	if (waited_ns < k->steal_base_ns[i] || steal < k->steal_ns[i])
		steal = k->steal_ns[i];
	if (steal == k->steal_ns[i] && preempted == k->steal_preempted[i])
		return;
	k->steal_ns[i] = steal;
	k->steal_preempted[i] = preempted;
	/* Running again: a shootdown left for it while it was away. */
	if ((steal_write(vcpu, st) & KVMPV_FLUSH_TLB) && !preempted) {
		vcpu->entry.flush_tlb = true;
		k->tlb_flushes[i]++;
	}
}

/*
 * MSR_KVM_STEAL_TIME: bit 0 enables, bits 63-6 are the guest-physical
 * address of the 64-byte structure, bits 5-1 reserved. A reserved bit, or
 * enabling with the structure not all in the guest's RAM, is #GP and
 * changes nothing. Enabling writes the structure at once: steal 0 (the
 * vCPU's waiting counts from here), not preempted.
 */
static bool write_steal_time(struct vcpu *vcpu, u64 value)
{
	struct kvmpv *k = &vcpu->vm->kvmpv;
	u32 i = vcpu->index;
	struct kvmpv_steal_time *st;

	if (value & STEAL_TIME_RESERVED)
		return false;
	if ((value & KVMPV_MSR_STEAL_TIME_ON) &&
	    !vm_gpa_to_hva(vcpu->vm, gpa(value & STEAL_TIME_ADDR),
			   sizeof(struct kvmpv_steal_time)))
		return false;
	k->steal_msr[i] = value;
	k->steal_ns[i] = 0;
	k->steal_preempted[i] = false;
	k->steal_base_pending[i] = true;
	st = steal_time(vcpu);
	if (st)
		steal_write(vcpu, st);
	return true;
}

bool kvmpv_msr_read(struct vcpu *vcpu, u32 index, u64 *value)
{
	const struct kvmpv *k = &vcpu->vm->kvmpv;

	if (!kvmpv_handles_msr(vcpu->vm, index))
		return false;
	if (index == KVMPV_MSR_WALL_CLOCK_NEW)
		*value = k->wall_clock_msr;
	else if (index == KVMPV_MSR_PV_EOI_EN)
		*value = k->pv_eoi_msr[vcpu->index];
	else if (index == KVMPV_MSR_STEAL_TIME)
		*value = k->steal_msr[vcpu->index];
	else
		*value = k->system_time_msr[vcpu->index];
	return true;
}

bool kvmpv_msr_write(struct vcpu *vcpu, u32 index, u64 value)
{
	if (!kvmpv_handles_msr(vcpu->vm, index))
		return false;
	if (index == KVMPV_MSR_WALL_CLOCK_NEW)
		return write_wall_clock(vcpu, value);
	if (index == KVMPV_MSR_PV_EOI_EN)
		return write_pv_eoi(vcpu, value);
	if (index == KVMPV_MSR_STEAL_TIME)
		return write_steal_time(vcpu, value);
	return write_system_time(vcpu, value);
}

/* KVMPV_HC_SEND_IPI (kvmpv.h). */
static i64 send_ipi(struct vcpu *vcpu, const u64 a[4], bool long_mode)
{
	struct vm *vm = vcpu->vm;
	u32 bits = long_mode ? 64 : 32, mode = (a[3] >> 8) & 7, set = 0;
	u64 min = a[2];
	u32 took;

	if (mode != VLAPIC_DELIVERY_FIXED && mode != VLAPIC_DELIVERY_NMI)
		return HC_EINVAL;
	for (u32 i = 0;
	     min < vm->vcpu_count && i < vm->vcpu_count - min && i < 2 * bits;
	     i++) {
		u64 word = i < bits ? a[0] : a[1];

		if ((word >> (i % bits)) & 1)
			set |= 1u << (min + i);
	}
	took = platform_send_ipis(vm->platform, set,
				  mode == VLAPIC_DELIVERY_NMI, (u8)a[3]);
	vm->kvmpv.pv_ipis[vcpu->index]++;
	vm->kvmpv.pv_ipi_dests[vcpu->index] += took;
	return took;
}

/* KVMPV_HC_KICK_CPU (kvmpv.h): under the VM lock, as the HLT it ends. */
static void kick(struct vcpu *vcpu, u64 apic_id)
{
	struct vm *vm = vcpu->vm;

	vm->kvmpv.kicks[vcpu->index]++;
	if (apic_id >= vm->vcpu_count || !vm->vcpus[apic_id])
		return;
	vm->vcpus[apic_id]->pv_unhalted = true;
	vm_wake_vcpu(vm, (u32)apic_id);
}

bool kvmpv_hypercall(struct vcpu *vcpu, u64 nr, const u64 a[4], i64 *ret)
{
	if (!(kvmpv_features(vcpu->vm) & KVMPV_FEATURE_PV_SEND_IPI) ||
	    vcpu->index >= KVMPV_MAX_VCPUS)
		return false;
	switch (nr) {
	case KVMPV_HC_SEND_IPI:
		*ret = send_ipi(vcpu, a, vcpu_read(vcpu, VCPU_CS_LONG));
		return true;
	case KVMPV_HC_KICK_CPU:
		kick(vcpu, a[1]);
		*ret = 0;
		return true;
	case KVMPV_HC_SCHED_YIELD:
		vcpu->vm->kvmpv.yields[vcpu->index]++;
		if (vcpu->shares_cpu)
			sched_yield();
		*ret = 0;
		return true;
	default:
		return false;
	}
}
