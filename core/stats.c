/* SPDX-License-Identifier: MIT */
/*
 * Exit statistics (contract in core/stats.h).
 *
 * The counters belong to the guests' CPUs, which go on counting while the
 * boot CPU reads them for the periodic report without a lock: each 64-bit
 * counter is read in one load, so each number is one the vCPU really had;
 * a line is a consistent snapshot unless the vCPU kept exiting through
 * every attempt (stats_print_vcpu()), and then TOTAL is at least the sum
 * of the kinds. That is good enough for statistics and costs the guests
 * nothing.
 */
#include "core/stats.h"
#include "core/platform.h"
#include "core/sched.h"
#include "core/cmdline.h"
#include "core/vm.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"

/* Attempts at a consistent copy of a running vCPU's exit counters. */
#define STATS_COPY_TRIES 4

void stats_print_vcpu(const struct vcpu *vcpu, const char *prefix)
{
	u64 counts[EXIT_KIND_COUNT], total;
	char line[400];
	int len;

	/*
	 * Copied first, in relaxed loads: in the periodic report the vCPU's
	 * CPU goes on counting, and formatting takes much longer than this.
	 * A copy during which TOTAL did not move is consistent; a vCPU that
	 * exits all the time may not allow one in a few tries, and then the
	 * last copy is printed as it is.
	 */
	for (u32 n = 0; n < STATS_COPY_TRIES; n++) {
		u64 before =
		    __atomic_load_n(&vcpu->exits_total, __ATOMIC_RELAXED);

		for (u32 k = 0; k < EXIT_KIND_COUNT; k++)
			counts[k] =
			    __atomic_load_n(&vcpu->exits[k], __ATOMIC_RELAXED);
		total = __atomic_load_n(&vcpu->exits_total, __ATOMIC_RELAXED);
		if (total == before)
			break;
	}
	len = snformat(line, sizeof(line),
		       "veneer: %sguest %s vcpu %u exits: %llu", prefix,
		       vcpu->vm->name, vcpu->index, (unsigned long long)total);
	for (u32 k = 0; k < EXIT_KIND_COUNT && len < (int)sizeof(line); k++) {
		if (!counts[k])
			continue;
		len += snformat(line + len, sizeof(line) - (size_t)len,
				" %s=%llu", exit_kind_name((enum exit_kind)k),
				(unsigned long long)counts[k]);
	}
	printk("%s\n", line);
	stats_print_vcpu_time(vcpu, prefix);
	stats_print_vcpu_sched(vcpu, prefix);
	/* The CPU's own deliveries (VT-x APICv, docs/vmx.md). */
	if (vcpu->apic_virt_delivered)
		printk("veneer: %sguest %s vcpu %u apicv: %llu interrupts "
		       "delivered by the CPU\n",
		       prefix, vcpu->vm->name, vcpu->index,
		       (unsigned long long)__atomic_load_n(
			   &vcpu->apic_virt_delivered, __ATOMIC_RELAXED));
	/* The KVM-compatible interface's work without exits (kvmpv.h). */
	if (vcpu->vm->kvm_pv && vcpu->index < KVMPV_MAX_VCPUS)
		printk("veneer: %sguest %s vcpu %u kvm: pv eois %llu\n", prefix,
		       vcpu->vm->name, vcpu->index,
		       (unsigned long long)__atomic_load_n(
			   &vcpu->vm->kvmpv.pv_eois[vcpu->index],
			   __ATOMIC_RELAXED));
	if (vcpu->vm->kvm_pv && vcpu->index < KVMPV_MAX_VCPUS) {
		const struct kvmpv *k = &vcpu->vm->kvmpv;

		printk("veneer: %sguest %s vcpu %u kvm: pv ipis %llu to %llu "
		       "vCPUs, kicks %llu, yields %llu, tlb flushes %llu\n",
		       prefix, vcpu->vm->name, vcpu->index,
		       (unsigned long long)k->pv_ipis[vcpu->index],
		       (unsigned long long)k->pv_ipi_dests[vcpu->index],
		       (unsigned long long)k->kicks[vcpu->index],
		       (unsigned long long)k->yields[vcpu->index],
		       (unsigned long long)k->tlb_flushes[vcpu->index]);
	}
	if (vcpu->index == 0)
		stats_print_devices(vcpu->vm, prefix);
}

/* The NIC's counters, and its switch port's drops: frames it sent that
 * the switch refused (a forged source, a size, no such MAC), frames for it
 * it had no buffer for. */
static void print_nic(const struct vm *vm, const char *prefix)
{
	const struct virtio_net *n = &vm->platform->nic.net;
	const u8 *m = vm->mac;

	printk("veneer: %sguest %s virtio-net %02x:%02x:%02x:%02x:%02x:%02x: "
	       "rx %llu frames (%llu KiB), tx %llu frames (%llu KiB), "
	       "dropped: rx %llu no buffer, %llu too big, tx %llu bad, "
	       "%llu by the switch; kicks %llu, interrupts %llu%s\n",
	       prefix, vm->name, m[0], m[1], m[2], m[3], m[4], m[5],
	       (unsigned long long)n->rx_frames,
	       (unsigned long long)(n->rx_bytes >> 10),
	       (unsigned long long)n->tx_frames,
	       (unsigned long long)(n->tx_bytes >> 10),
	       (unsigned long long)n->rx_dropped_no_buffer,
	       (unsigned long long)n->rx_dropped_too_big,
	       (unsigned long long)n->tx_bad,
	       (unsigned long long)platform_nic_switch_dropped(vm->platform),
	       (unsigned long long)n->vp.kicks,
	       (unsigned long long)n->vp.interrupts,
	       (n->vp.status & VIRTIO_STATUS_NEEDS_RESET) ? ", needs reset"
							  : "");
}

void stats_print_devices(const struct vm *vm, const char *prefix)
{
	const struct platform *p = vm->platform;
	const struct virtio_console *c = p ? &p->console : NULL;

	for (u32 i = 0; p && i < p->disks; i++) {
		const struct virtio_blk *b = &p->disk[i];

		printk("veneer: %sguest %s disk %u: reads %llu (%llu KiB), "
		       "writes %llu (%llu KiB), flushes %llu, kicks %llu, "
		       "interrupts %llu%s\n",
		       prefix, vm->name, i, (unsigned long long)b->reads,
		       (unsigned long long)(b->read_bytes >> 10),
		       (unsigned long long)b->writes,
		       (unsigned long long)(b->written_bytes >> 10),
		       (unsigned long long)b->flushes,
		       (unsigned long long)b->vp.kicks,
		       (unsigned long long)b->vp.interrupts,
		       (b->vp.status & VIRTIO_STATUS_NEEDS_RESET)
			   ? ", needs reset"
			   : "");
	}
	if (c && p->has_console)
		printk("veneer: %sguest %s virtio-console: out %llu bytes in "
		       "%llu chains, in %llu bytes (%llu dropped), kicks %llu, "
		       "interrupts %llu%s\n",
		       prefix, vm->name, (unsigned long long)c->bytes_out,
		       (unsigned long long)c->chains_out,
		       (unsigned long long)c->bytes_in,
		       (unsigned long long)c->dropped_in,
		       (unsigned long long)c->vp.kicks,
		       (unsigned long long)c->vp.interrupts,
		       (c->vp.status & VIRTIO_STATUS_NEEDS_RESET)
			   ? ", needs reset"
			   : "");
	if (p && p->has_nic)
		print_nic(vm, prefix);
}

/* Host TSC ticks in milliseconds. */
static u64 tsc_to_ms(u64 ticks)
{
	u64 per_ms = tsc_hz() / 1000;

	return ticks / (per_ms ? per_ms : 1);
}

void stats_print_vcpu_time(const struct vcpu *vcpu, const char *prefix)
{
	u64 since = __atomic_load_n(&vcpu->up_since, __ATOMIC_RELAXED);
	u64 up = since ? rdtsc() - since : 0;
	u64 halted = __atomic_load_n(&vcpu->halted_tsc, __ATOMIC_RELAXED);

	printk("veneer: %sguest %s vcpu %u time: up %llu ms, halted %llu ms, "
	       "wakeups %llu, sipi starts %llu, ipis dropped %llu\n",
	       prefix, vcpu->vm->name, vcpu->index,
	       (unsigned long long)tsc_to_ms(up),
	       (unsigned long long)tsc_to_ms(MIN(halted, up)),
	       (unsigned long long)vcpu->wakeups,
	       (unsigned long long)vcpu->starts,
	       (unsigned long long)vcpu->ipis_dropped);
}

void stats_print_vcpu_sched(const struct vcpu *vcpu, const char *prefix)
{
	struct sched_stats st;

	if (!sched_vcpu_stats(vcpu, vcpu->host_cpu, &st))
		return;
	printk("veneer: %sguest %s vcpu %u sched: cpu %u, ran %llu ms, waited "
	       "%llu ms, turns %llu, switch %llu ticks\n",
	       prefix, vcpu->vm->name, vcpu->index, vcpu->host_cpu,
	       (unsigned long long)tsc_to_ms(st.run_tsc),
	       (unsigned long long)tsc_to_ms(st.waited_tsc),
	       (unsigned long long)st.switched_in,
	       (unsigned long long)(st.switched_in
					? st.switch_tsc / st.switched_in
					: 0));
}

void stats_report(const struct vm *vms, u32 count, u64 elapsed_ms)
{
	char prefix[40];

	snformat(prefix, sizeof(prefix), "stats %llu.%03llu s: ",
		 (unsigned long long)(elapsed_ms / 1000),
		 (unsigned long long)(elapsed_ms % 1000));
	/*
	 * A guest's partial line (a prompt) may be on the console: printk()
	 * starts each report line on a line of its own, and the guest's next
	 * output starts a new "[NAME] " line (core/lib/printk.h).
	 */
	for (u32 i = 0; i < count; i++) {
		const struct vm *vm = &vms[i];

		if (!vm_running(vm))
			continue;
		for (u32 j = 0; j < vm->vcpu_count; j++)
			stats_print_vcpu(vm->vcpus[j], prefix);
	}
}

u32 stats_interval(const struct boot_info *bi)
{
	struct hv_options opt;
	char err[160];

	/* boot_main() has parsed the same line already and accepted it. */
	if (cmdline_parse(bi->cmdline, &opt, err, sizeof(err)))
		return 0;
	return opt.stats_seconds;
}
