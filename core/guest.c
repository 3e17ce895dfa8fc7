/* SPDX-License-Identifier: MIT */
/*
 * Guests' lives: created from their declarations (core/placement.h), given
 * RAM and nested page tables, loaded (core/load.h), started with each vCPU
 * on a host CPU of its own, reset when they ask, and accounted for when
 * they end.
 *
 * One reset path, guest_reset(), puts a guest in its power-on state, at
 * creation and at every reboot: zeroed RAM, fresh devices, its images
 * loaded again, vCPU 0 reset to the loader's state and the others waiting
 * for a STARTUP IPI, as a PC's application processors do (SDM Vol. 3A
 * 9.4). A guest that cannot be created is reported, what it took is given
 * back, and the others still run.
 *
 * vCPU 0's CPU owns the guest's life (guest_cpu_main): it decides a
 * reset or the end, and waits for the other vCPUs' CPUs (guest_ap_main)
 * to leave their loops first. Those only run their vCPU between a SIPI
 * and the next INIT, reset or end.
 *
 * A guest's CPUs are its own for the whole run, also while it does not
 * run: a guest declared start = later waits on them from boot, and one
 * that has ended for good waits there with its memory given back, until
 * the operator's `start NAME` (core/shell.c leaves the request in struct
 * vm, and these CPUs carry it out) or the end of the run (no guest runs
 * any more), which they leave their wait for.
 */
#include "core/guest.h"
#include "core/config.h"
#include "core/console.h"
#include "core/linux.h"
#include "core/load.h"
#include "core/mm.h"
#include "core/placement.h"
#include "core/platform.h"
#include "core/sched.h"
#include "core/stats.h"
#include "core/vm.h"
#include "core/lib/format.h"
#include "core/lib/pagetable.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "core/passthrough.h"
#include "drivers/iommu.h"
#include "drivers/uart.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/tsc.h"

/* IA32_MTRR_DEF_TYPE as a BIOS leaves it: MTRRs and fixed ranges on,
 * default write-back (SDM Vol. 3A 12.11.2.1; core/msr.c's reset value). */
#define GUEST_MTRR_DEF_TYPE 0xc06

_Static_assert(VM_MAX_VCPUS == GUESTCFG_VCPUS_MAX &&
		   VM_MAX_VCPUS == PLATFORM_MAX_VCPUS,
	       "one limit on vCPUs per guest");

/*
 * One slot per guest: slot i is vms[i], its vCPUs vcpus[i][] and its
 * virtual PC platforms[i]. images[] holds the declarations in module
 * order; a guest keeps pointing at its own (vm->image) to load it again.
 */
static struct vm vms[VM_MAX];
static struct vcpu vcpus[VM_MAX][VM_MAX_VCPUS];
static struct platform platforms[VM_MAX];
static struct guest_image images[VM_MAX];
/*
 * What slot i's guest needs beyond struct vm for a start after its end:
 * the host CPU of each vCPU, placed at boot and kept for it for the whole
 * run (never given to another guest), and the number of its lives (0:
 * the one it was created for at boot; each start after it ended for good
 * adds one), which the CPUs of vCPUs 1.. wait on between two lives.
 */
struct guest_slot {
	u32 cpus[VM_MAX_VCPUS];
	volatile u32 life;
};
static struct guest_slot slots[VM_MAX];
static u32 vm_count;
/*
 * The guests that run or are being started again. Once it is 0 the run is
 * over and it stays 0 (guests_running_add() never revives it): the CPUs
 * that wait for a start leave, and Veneer powers off.
 */
static volatile u32 guests_running;

static bool run_over(void)
{
	return __atomic_load_n(&guests_running, __ATOMIC_SEQ_CST) == 0;
}

/* One more guest runs; false when the run is over already. */
static bool guests_running_add(void)
{
	u32 n = __atomic_load_n(&guests_running, __ATOMIC_SEQ_CST);

	while (n)
		if (__atomic_compare_exchange_n(&guests_running, &n, n + 1,
						false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* ---- memory ---- */

/*
 * Guest RAM: one host range, aligned so the nested tables can use the
 * largest pages (1 GiB when the format has them and the guest is that big,
 * else 2 MiB), mapped at guest-physical 0. Nothing else is mapped. The
 * RAM is zeroed by guest_reset(), not here.
 */
static bool vm_setup_memory(struct vm *vm, u64 mem, char *err, size_t len)
{
	u64 align = mem >= GiB(1) ? GiB(1) : MiB(2);
	u64 pages = ALIGN_UP(mem, MiB(2)) / PAGE_SIZE;
	struct pt_ctx ctx = vm_nested_ctx(vm);
	int rc;

	vm->ram_hpa = mm_alloc_pages_nozero(pages, align, MM_ANY);
	if (!vm->ram_hpa && align > MiB(2))
		vm->ram_hpa = mm_alloc_pages_nozero(pages, MiB(2), MM_ANY);
	if (!vm->ram_hpa) {
		snformat(err, len,
			 "not enough host memory: mem=%lluM asked, %lluM free",
			 (unsigned long long)(mem >> 20),
			 (unsigned long long)(mm_free_bytes() >> 20));
		return false;
	}
	vm->ram_alloc_pages = pages;
	vm->ram_size = mem;
	rc = pt_create(&ctx);
	vm->nested_root = ctx.root;
	if (!rc)
		rc = pt_map(&ctx, 0, vm->ram_hpa, mem, PT_R | PT_W | PT_X);
	if (rc) {
		snformat(err, len, "nested page tables: %s",
			 pt_error_string(rc));
		return false;
	}
	vm->nested_tables = pt_count_tables(&ctx);
	return true;
}

/*
 * The guest's disks (core/vm.h, struct vm_disk): a read-only one is its
 * module, a read-write one a private copy of it, made once here, so that
 * what the guest writes survives its reboots and never reaches the module
 * (a restart by the operator keeps it too). The configuration checked
 * the sizes (multiples of 512 bytes).
 */
static bool vm_setup_disks(struct vm *vm, const struct guest_image *gi,
			   char *err, size_t len)
{
	for (u32 i = 0; i < gi->disk_count && i < VM_MAX_DISKS; i++) {
		const struct boot_module *m = gi->disks[i].mod;
		struct vm_disk *d = &vm->disks[i];
		u64 bytes = m->end - m->start;
		const char *path = config_module_path(m->string, &(size_t){0});
		const char *base = path;

		for (const char *c = path; *c && *c != ' '; c++)
			if (*c == '/')
				base = c + 1;
		memset(d, 0, sizeof(*d));
		d->bytes = bytes;
		d->read_only = gi->disks[i].read_only;
		for (u32 k = 0;
		     k < sizeof(d->name) - 1 && base[k] && base[k] != ' '; k++)
			d->name[k] = base[k];
		if (d->read_only) {
			d->data = hpa_to_ptr(m->start);
		} else {
			d->copy_pages = ALIGN_UP(bytes, PAGE_SIZE) / PAGE_SIZE;
			d->copy_hpa = mm_alloc_pages_nozero(d->copy_pages,
							    PAGE_SIZE, MM_ANY);
			if (!d->copy_hpa) {
				snformat(err, len,
					 "disk %s: not enough host memory for "
					 "its copy: %lluM asked, %lluM free",
					 d->name,
					 (unsigned long long)(bytes >> 20),
					 (unsigned long long)(mm_free_bytes() >>
							      20));
				d->copy_pages = 0;
				return false;
			}
			d->data = hpa_to_ptr(d->copy_hpa);
			memcpy(d->data, hpa_to_ptr(m->start), bytes);
		}
		vm->disk_count = i + 1;
	}
	return true;
}

/* Give back the guest's RAM, nested tables and disk copies, as far as it
 * got them. */
static void vm_release_memory(struct vm *vm)
{
	struct pt_ctx ctx = vm_nested_ctx(vm);

	/* Its devices stopped and blocked before their DMA's RAM goes; RAM a
	 * device may still reach never goes back to the pool. */
	if (!passthrough_release(vm) && vm->ram_hpa) {
		printk("veneer: guest %s: its %llu KiB of RAM are kept out of "
		       "the pool: a device may still reach them\n",
		       vm->name,
		       (unsigned long long)(vm->ram_alloc_pages * PAGE_SIZE >>
					    10));
		vm->ram_hpa = 0;
	}
	for (u32 i = 0; i < vm->disk_count; i++)
		if (vm->disks[i].copy_pages)
			mm_free_pages(vm->disks[i].copy_hpa,
				      vm->disks[i].copy_pages);
	vm->disk_count = 0;

	if (vm->nested_root)
		pt_destroy(&ctx);
	if (vm->ram_hpa)
		mm_free_pages(vm->ram_hpa, vm->ram_alloc_pages);
	vm->nested_root = 0;
	vm->nested_tables = 0;
	vm->ram_hpa = 0;
	vm->ram_size = 0;
	vm->ram_alloc_pages = 0;
}

/* ---- the reset path ---- */

/* A vCPU's own timer and requests, as at power-on. */
static void vcpu_clear(struct vcpu *vcpu, enum vcpu_mp_state mp)
{
	vcpu->timer_deadline = 0;
	vcpu->intr_pending = false;
	vcpu->init_pending = false;
	vcpu->pv_unhalted = false;
	vcpu->mp_state = mp;
}

/*
 * The guest's power-on state, at creation and at every reboot, on the CPU
 * that creates it or runs vCPU 0, while no other vCPU runs: zeroed RAM,
 * fresh devices, its images loaded again, vCPU 0 reset with nothing
 * pending and the others waiting for a SIPI. False with err set when the
 * images cannot be loaded.
 */
static bool guest_reset(struct vm *vm, struct vcpu *vcpu, char *err, size_t len)
{
	const struct guest_mem ram = {.base = hpa_to_ptr(vm->ram_hpa),
				      .size = vm->ram_size};
	struct vcpu_start_state st;

	/* No other guest writes into it any more (its NIC off the switch);
	 * a guest never sees another guest's, Veneer's or its own earlier
	 * data. */
	platform_detach(vm->platform);
	/* Its devices stopped: no DMA of the last boot lands in this one. */
	passthrough_quiesce(vm);
	memset(ram.base, 0, ram.size);
	vm->io.count = 0;
	vm->mmio.count = 0;
	console_attach(vm);
	if (!platform_init(vm->platform, vm, err, len) ||
	    !guest_load(vm->image, &ram, &st, err, len))
		return false;
	/* Its para-virtual timer is off; the run loop starts its own entry
	 * request afresh (core/vcpu.c). */
	vcpu_clear(vcpu, VCPU_MP_RUNNABLE);
	for (u32 i = 1; i < vm->vcpu_count; i++)
		vcpu_clear(vm->vcpus[i], VCPU_MP_WAIT_SIPI);
	/* kvm-clock off: the guest enables it again (its RAM was zeroed). */
	kvmpv_reset(&vm->kvmpv);
	vcpu_ops->vcpu_reset(vcpu, &st);
	return true;
}

/*
 * A Linux kernel: declared format=linux, or a bzImage declared as the
 * default format, which guest_load() boots as Linux too.
 */
static bool guest_is_linux(const struct guest_image *gi)
{
	struct linux_kernel k;

	if (gi->cfg.format != GUEST_FORMAT_ELF)
		return gi->cfg.format == GUEST_FORMAT_LINUX;
	return linux_check(hpa_to_ptr(gi->mod->start),
			   gi->mod->end - gi->mod->start, &k) == 0;
}

/*
 * Everything a guest needs before its first entry: RAM, nested tables and
 * the vendor's VM and vCPU state, then the reset path. On failure,
 * everything it took is given back (vCPU before VM: vm_destroy wants its
 * vCPUs gone).
 */
static bool vm_create(struct vm *vm, struct vcpu *vcpu,
		      const struct guest_image *gi, char *err, size_t len)
{
	u32 n = gi->cfg.vcpus ? gi->cfg.vcpus : 1;
	int rc;

	vm->msr_mtrr_def_type = GUEST_MTRR_DEF_TYPE;
	vm->platform = &platforms[vm->id];
	vm->image = gi;
	/* The guest's TSC starts as the host's, frozen until the first entry.
	 */
	vm->hide_exit_time = gi->cfg.virtual_clock;
	vm->virtio_console = gi->cfg.devices & GUEST_DEV_VIRTIO_CONSOLE;
	vm->virtio_net = gi->cfg.devices & GUEST_DEV_VIRTIO_NET;
	if (gi->cfg.mac_given) {
		memcpy(vm->mac, gi->cfg.mac, sizeof(vm->mac));
	} else {
		/* Locally administered unicast (IEEE 802-2014 8.4), "VN", and
		 * the guest's number: distinct for every guest of the run. */
		static const u8 oui[5] = {0x02, 0x56, 0x4e, 0x00, 0x00};

		memcpy(vm->mac, oui, sizeof(oui));
		vm->mac[5] = (u8)(vm->id + 1);
	}
	vm->tsc_offset = 0;
	vm->frozen_host_tsc = rdtsc();
	vm->clock_frozen = vm->hide_exit_time;
	/* The KVM-compatible interface: Linux speaks it (docs/hypercall.md). */
	vm->shared_cpus = gi->cfg.shared;
	vm->kvm_pv = gi->cfg.pv == GUEST_PV_KVM ||
		     (gi->cfg.pv == GUEST_PV_DEFAULT && guest_is_linux(gi));
	/* A serial port of its own (console = comN, docs/console.md), kept
	 * for its whole life; refused before anything else is taken. */
	if (gi->cfg.console_port &&
	    !console_claim_port(vm, gi->cfg.console_port, err, len))
		return false;
	if (!vm_setup_memory(vm, gi->cfg.mem, err, len) ||
	    !vm_setup_disks(vm, gi, err, len) ||
	    !passthrough_claim(vm, &gi->cfg, err, len))
		goto no_vm;
	rc = vcpu_ops->vm_init(vm);
	if (rc) {
		snformat(err, len, "%s could not set up the VM (%d)",
			 vcpu_ops->name, rc);
		goto no_vm;
	}
	vm->vcpu_count = n;
	for (u32 i = 0; i < n; i++) {
		vcpu[i].vm = vm;
		vcpu[i].index = i;
		vm->vcpus[i] = &vcpu[i];
	}
	for (u32 i = 0; i < n; i++) {
		rc = vcpu_ops->vcpu_create(&vcpu[i]);
		if (rc) {
			snformat(err, len, "%s could not create vCPU %u (%d)",
				 vcpu_ops->name, i, rc);
			while (i--)
				vcpu_ops->vcpu_destroy(&vcpu[i]);
			goto no_vcpu;
		}
	}
	if (guest_reset(vm, vcpu, err, len))
		return true;
	for (u32 i = 0; i < n; i++)
		vcpu_ops->vcpu_destroy(&vcpu[i]);
no_vcpu:
	vm->vcpu_count = 0;
	vcpu_ops->vm_destroy(vm);
no_vm:
	platform_detach(vm->platform);
	vm_release_memory(vm);
	return false;
}

/* Everything the guest costs the host beyond its RAM. */
static void report_cost(const struct vm *vm, u64 free_before)
{
	printk_at(LOG_INFO,
		  "veneer: guest %s: %llu MiB RAM, overhead %llu KiB "
		  "(%llu nested page-table pages)\n",
		  vm->name, (unsigned long long)(vm->ram_size >> 20),
		  (unsigned long long)((free_before - mm_free_bytes() -
					vm->ram_alloc_pages * PAGE_SIZE) >>
				       10),
		  (unsigned long long)vm->nested_tables);
	if (vm->vcpu_count > 1)
		printk_at(LOG_INFO, "veneer: guest %s: %u vCPUs\n", vm->name,
			  vm->vcpu_count);
	for (u32 i = 0; i < vm->disk_count; i++)
		printk_at(LOG_INFO,
			  "veneer: guest %s: disk %u: %s, %llu KiB, %s, PCI "
			  "00:%02x.0\n",
			  vm->name, i, vm->disks[i].name,
			  (unsigned long long)(vm->disks[i].bytes >> 10),
			  vm->disks[i].read_only ? "read-only"
						 : "read-write copy",
			  PLATFORM_DISK_SLOT + i);
	if (vm->virtio_console)
		printk_at(LOG_INFO,
			  "veneer: guest %s: virtio-console, PCI 00:%02x.0\n",
			  vm->name, PLATFORM_CONSOLE_SLOT);
	if (vm->virtio_net)
		printk_at(LOG_INFO,
			  "veneer: guest %s: virtio-net "
			  "%02x:%02x:%02x:%02x:%02x:%02x, PCI 00:%02x.0\n",
			  vm->name, vm->mac[0], vm->mac[1], vm->mac[2],
			  vm->mac[3], vm->mac[4], vm->mac[5],
			  PLATFORM_NET_SLOT);
}

/*
 * The guest asked for a reset (vcpu_run_loop() said so): the reset path
 * again, on vCPU 0's CPU, no other vCPU running. False when its images
 * cannot be loaded again: the guest is then stopped.
 */
static bool guest_reboot(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	char err[160];

	vm->reboots++;
	console_end_guest_output(vm);
	printk_at(LOG_INFO, "veneer: guest %s rebooting (%u)\n", vm->name,
		  vm->reboots);
	if (!guest_reset(vm, vcpu, err, sizeof(err))) {
		vm_stop(vm, "reboot failed: %s", err);
		return false;
	}
	vm->started_tsc = rdtsc();
	return true;
}

/* ---- several vCPUs: the start-up protocol ---- */

/*
 * A STARTUP IPI has come for the vCPU (mp_state): take it, under the VM
 * lock, unless the guest ended or is being reset meanwhile, and start the
 * vCPU in real mode at CS = vector << 8, IP = 0 (SDM Vol. 3A 9.4.4.1,
 * 11.6.1: the vector names the 4-KiB page it starts in). True when it may
 * run.
 */
static bool start_at_sipi(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vcpu_start_state st = {.mode = VCPU_START_REAL};
	bool start = false;

	vm_lock(vm);
	if (vm_running(vm) && !vm->resetting &&
	    vcpu->mp_state == VCPU_MP_SIPI_RECEIVED) {
		vcpu->mp_state = VCPU_MP_RUNNABLE;
		vcpu->init_pending = false;
		vcpu->in_loop = true;
		st.cs_selector = (u16)(vcpu->sipi_vector << 8);
		start = true;
	}
	vm_unlock(vm);
	if (!start)
		return false;
	vcpu->timer_deadline = 0;
	vcpu->intr_pending = false;
	vcpu->starts++;
	if (!vcpu->up_since)
		vcpu->up_since = rdtsc();
	printk_at(LOG_DEBUG,
		  "veneer: guest %s vcpu %u: SIPI start at %04x:0000 (start "
		  "%llu)\n",
		  vm->name, vcpu->index, st.cs_selector,
		  (unsigned long long)vcpu->starts);
	vcpu_ops->vcpu_reset(vcpu, &st);
	return true;
}

/* Nothing to do until a SIPI comes, the guest ends or is reset. */
static void wait_for_sipi(const struct vcpu *vcpu)
{
	const struct vm *vm = vcpu->vm;

	while (vcpu->mp_state != VCPU_MP_SIPI_RECEIVED && vm_running(vm) &&
	       !vm->resetting && !vm->gone)
		sched_relax();
}

/*
 * Every vCPU of the guest waits for a SIPI (INIT reached them all, or the
 * one vCPU of a guest sent itself one): nothing can ever start one again.
 */
static bool all_wait_for_sipi(struct vm *vm)
{
	bool all = true;

	vm_lock(vm);
	for (u32 i = 0; i < vm->vcpu_count; i++)
		if (vm->vcpus[i]->mp_state != VCPU_MP_WAIT_SIPI)
			all = false;
	vm_unlock(vm);
	return all;
}

/*
 * Run the vCPU until its loop ends for a reason other than an INIT: after
 * an INIT it waits for a SIPI and runs again from there. Its CPU is marked
 * in the loop while it runs (struct vcpu.in_loop).
 */
static enum vcpu_loop_end vcpu_life(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	for (;;) {
		enum vcpu_loop_end end = vcpu_run_loop(vcpu);

		__atomic_store_n(&vcpu->in_loop, false, __ATOMIC_SEQ_CST);
		if (end != VCPU_LOOP_INIT)
			return end;
		printk_at(LOG_DEBUG,
			  "veneer: guest %s vcpu %u: INIT: waits for a SIPI\n",
			  vm->name, vcpu->index);
		if (all_wait_for_sipi(vm)) {
			vm_stop(vm,
				"vCPU %u got an INIT and every vCPU now waits "
				"for a SIPI: none is left to send one",
				vcpu->index);
			return VCPU_LOOP_ENDED;
		}
		wait_for_sipi(vcpu);
		if (!start_at_sipi(vcpu))
			return vm_running(vm) ? VCPU_LOOP_RESET
					      : VCPU_LOOP_ENDED;
	}
}

/*
 * The guest ended or is being reset: every other vCPU leaves its loop
 * (they were woken, struct vm.resetting), and vCPU 0's CPU waits for
 * that before it changes anything of theirs.
 */
static void stop_other_vcpus(struct vm *vm)
{
	vm_lock(vm);
	vm->resetting = true;
	for (u32 i = 1; i < vm->vcpu_count; i++)
		vm_wake_vcpu(vm, i);
	vm_unlock(vm);
	for (u32 i = 1; i < vm->vcpu_count; i++)
		while (
		    __atomic_load_n(&vm->vcpus[i]->in_loop, __ATOMIC_SEQ_CST))
			sched_relax();
}

/*
 * Runs on the CPU of vCPU 1, 2, ... for the whole run. In each life of the
 * guest: wait-for-SIPI, run, and again, until the guest has ended for
 * good; then its vCPU is given back here, where its VMCS was last active,
 * and the CPU waits for the guest's next life (the operator's start:
 * guest_start_again() makes the vCPU anew and counts the life) or the end
 * of the run. A guest that never started (start = later) leaves at the
 * end of the run without giving back: Veneer powers off.
 */
static void guest_ap_main(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct guest_slot *slot = &slots[vm->id];
	u32 life = __atomic_load_n(&slot->life, __ATOMIC_ACQUIRE);

	for (;;) {
		vcpu->host_cpu = this_cpu()->index;
		this_cpu()->vcpu = vcpu;
		printk_at(LOG_INFO,
			  "veneer: guest %s vcpu %u on cpu %u, waiting for a "
			  "SIPI\n",
			  vm->name, vcpu->index, vcpu->host_cpu);
		/* A started guest counts as running until it is gone. */
		while (!vm->gone && !run_over()) {
			wait_for_sipi(vcpu);
			if (start_at_sipi(vcpu))
				vcpu_life(vcpu);
			else
				sched_relax();
		}
		if (!vm->gone) {
			this_cpu()->vcpu = NULL;
			return;
		}
		if (printk_wants(LOG_INFO))
			stats_print_vcpu(vcpu, "");
		vcpu_ops->vcpu_destroy(vcpu);
		this_cpu()->vcpu = NULL;
		__atomic_fetch_sub(&vm->aps_alive, 1, __ATOMIC_SEQ_CST);
		/* Kept for this guest: its next life, or the end of the run. */
		while (__atomic_load_n(&slot->life, __ATOMIC_ACQUIRE) == life &&
		       !run_over())
			sched_relax();
		if (__atomic_load_n(&slot->life, __ATOMIC_ACQUIRE) == life)
			return;
		life = __atomic_load_n(&slot->life, __ATOMIC_ACQUIRE);
	}
}

/*
 * The guest's lifecycle policy (struct guest_cfg.on_*, docs/config.md)
 * after its vCPU loop returned `end`: true when it is to run again (its
 * reset path is then due), false when it stays ended. A reset the guest
 * asked for follows on_reboot, an exit or power off on_poweroff, a stop
 * by Veneer on_crash; what the operator asked for is done as asked.
 * Restarts by policy count against max_restarts.
 */
static bool guest_runs_again(struct vm *vm, enum vcpu_loop_end end)
{
	const struct guest_cfg *cfg =
	    &((const struct guest_image *)vm->image)->cfg;
	bool by_operator = vm->by_operator;
	enum guest_policy policy;
	const char *key;

	vm->by_operator = false;
	if (by_operator)
		return end == VCPU_LOOP_RESET;
	if (end == VCPU_LOOP_RESET) {
		key = "on_reboot";
		policy = cfg->on_reboot;
	} else if (vm->state == VM_STATE_EXITED) {
		key = "on_poweroff";
		policy = cfg->on_poweroff;
	} else if (vm->state == VM_STATE_STOPPED) {
		key = "on_crash";
		policy = cfg->on_crash;
	} else {
		return false;
	}
	if (policy == GUEST_POLICY_STOP) {
		if (end == VCPU_LOOP_RESET)
			vm_stop(vm, "it asked for a reset (on_reboot = stop)");
		return false;
	}
	if (vm->policy_restarts >= cfg->max_restarts) {
		printk_at(LOG_INFO,
			  "veneer: guest %s: %s = restart, but max_restarts "
			  "(%u) is reached: it stays ended\n",
			  vm->name, key, vm->policy_restarts);
		if (end == VCPU_LOOP_RESET)
			vm_stop(vm,
				"it asked for a reset after %u restarts "
				"(max_restarts)",
				vm->policy_restarts);
		return false;
	}
	vm->policy_restarts++;
	if (end != VCPU_LOOP_RESET) {
		printk_at(LOG_INFO, "veneer: guest %s: %s = restart (%u)\n",
			  vm->name, key, vm->policy_restarts);
		/* Running again: its exit code or stop reason are history. */
		vm->exit_code = 0;
		vm->stop_reason[0] = '\0';
		__atomic_store_n(&vm->state, VM_STATE_RUNNING,
				 __ATOMIC_SEQ_CST);
	}
	return true;
}

/*
 * One run of the guest, on vCPU 0's CPU, from its start until it has
 * ended for good: its resets and its lifecycle policy, for all its vCPUs.
 */
static void guest_life(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	vm->started_tsc = rdtsc();
	vcpu->up_since = vm->started_tsc;
	printk_at(LOG_INFO, "veneer: guest %s started on cpu %u\n", vm->name,
		  vcpu->host_cpu);
	for (;;) {
		enum vcpu_loop_end end;

		vcpu->in_loop = true;
		end = vcpu_life(vcpu);
		stop_other_vcpus(vm);
		/*
		 * A reset that met the guest's end (another vCPU ended it
		 * meanwhile, or the operator's restart was taken as it
		 * ended): it has ended, and its policy says what follows.
		 */
		if (end == VCPU_LOOP_RESET && !vm_running(vm))
			end = VCPU_LOOP_ENDED;
		if (!guest_runs_again(vm, end) || !guest_reboot(vcpu))
			break;
		vm_lock(vm);
		vm->resetting = false;
		vm_unlock(vm);
	}
	if (vm_running(vm))
		vm_stop(vm, "its vCPU loop ended");
}

/*
 * The guest has ended for good. The other vCPUs' CPUs give theirs back
 * first (guest_ap_main); then its memory and the vendor's state go back to
 * the pool (the operator shell's mem shows it), on this CPU, where the
 * VMCS was last active. struct vm and struct vcpu stay, for the shell, the
 * summary and a start; so do its CPUs.
 */
static void guest_give_back(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	u64 held_kib;

	/* A stop that came as it ended has nothing left to stop. */
	__atomic_store_n(&vm->stop_request, false, __ATOMIC_SEQ_CST);
	vm->gone = true;
	while (__atomic_load_n(&vm->aps_alive, __ATOMIC_SEQ_CST))
		sched_relax();
	/* Off the switch first: the NIC's counters are final when printed. */
	platform_detach(vm->platform);
	if (printk_wants(LOG_INFO))
		stats_print_vcpu(vcpu, "");
	/* What the shell's mem showed for it: RAM and nested tables. */
	held_kib =
	    (vm->ram_alloc_pages + vm->nested_tables) * (PAGE_SIZE >> 10);
	vcpu_ops->vcpu_destroy(vcpu);
	vcpu_ops->vm_destroy(vm);
	vm_release_memory(vm);
	this_cpu()->vcpu = NULL;
	printk_at(LOG_DEBUG,
		  "veneer: guest %s: ended for good: %llu KiB back to the "
		  "pool; cpu %u waits for start %s\n",
		  vm->name, (unsigned long long)held_kib, this_cpu()->index,
		  vm->name);
	__atomic_fetch_sub(&guests_running, 1, __ATOMIC_SEQ_CST);
}

/*
 * On vCPU 0's CPU of a guest that waits (start = later) or has ended for
 * good: until the operator's `start NAME` or the end of the run. The shell
 * asks by setting struct vm.restart_request on a guest none of whose vCPUs
 * is in its loop (core/shell.c), so only this wait takes it. The CPU
 * polls the console meanwhile, as the boot CPU does when it has no guest:
 * it may be the boot CPU. True when a start was asked in time: the guest
 * counts as running again; its request stays set until it runs (the
 * shell says it is starting meanwhile).
 */
static bool wait_for_start(struct vm *vm)
{
	while (!__atomic_load_n(&vm->restart_request, __ATOMIC_SEQ_CST)) {
		if (run_over())
			return false;
		console_poll(NULL);
		sched_relax();
	}
	if (!guests_running_add())
		return false;
	printk_at(LOG_DEBUG, "veneer: guest %s: start taken on cpu %u\n",
		  vm->name, this_cpu()->index);
	return true;
}

/*
 * It runs from now on: what the operator's start and its last end left
 * behind is cleared first.
 */
static void guest_set_running(struct vm *vm)
{
	vm->exit_code = 0;
	vm->stop_reason[0] = '\0';
	vm->by_operator = false;
	__atomic_store_n(&vm->stop_request, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vm->restart_request, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vm->state, VM_STATE_RUNNING, __ATOMIC_SEQ_CST);
}

/*
 * A start after the guest ended for good, on vCPU 0's CPU: it is made
 * again as at boot (fresh vCPUs; RAM and nested tables from the pool; the
 * vendor's state; the reset path, which loads its images from the
 * modules), with the CPUs kept for it. False with the `not started` line
 * when that fails (host memory: its RAM must be one free range): it then
 * stays as it ended, and may be started again.
 */
static bool guest_recreate(struct vm *vm)
{
	const struct guest_slot *slot = &slots[vm->id];
	struct vcpu *vcpu = vcpus[vm->id];
	u32 n = vm->vcpu_count;
	u64 free_before = mm_free_bytes();
	char err[200];

	memset(vcpu, 0, n * sizeof(*vcpu));
	for (u32 i = 0; i < n; i++) {
		vcpu[i].vm = vm;
		vcpu[i].index = i;
		vcpu[i].host_cpu = slot->cpus[i];
		vcpu[i].shares_cpu = sched_cpu_shared(slot->cpus[i]);
	}
	/* The power-on values of what survives a reboot (core/msr.c). */
	memset(vm->msr_amd_perf_ctl, 0, sizeof(vm->msr_amd_perf_ctl));
	vm->msr_tsc_adjust = 0;
	vm->msr_misc_enable_flipped = 0;
	vm->clock_users = 0;
	vm->resetting = false;
	if (!vm_create(vm, vcpu, vm->image, err, sizeof(err))) {
		vm->vcpu_count = n; /* its CPUs stay its own */
		printk("veneer: guest %s: not started: %s\n", vm->name, err);
		return false;
	}
	vm->reboots++;
	vm->policy_restarts = 0;
	report_cost(vm, free_before);
	vm->aps_alive = n - 1;
	vm->gone = false;
	return true;
}

/*
 * After the guest's end for good, on vCPU 0's CPU: wait for a start and
 * carry it out, until one succeeds (true) or the run is over (false). The
 * CPUs of vCPUs 1.. take their vCPUs when the life count moves on.
 */
static bool guest_start_again(struct vm *vm)
{
	struct guest_slot *slot = &slots[vm->id];

	for (;;) {
		if (!wait_for_start(vm))
			return false;
		if (guest_recreate(vm))
			break;
		/* Asked and failed: the request is done, the count back. */
		__atomic_store_n(&vm->restart_request, false, __ATOMIC_SEQ_CST);
		__atomic_fetch_sub(&guests_running, 1, __ATOMIC_SEQ_CST);
	}
	this_cpu()->vcpu = vm->vcpus[0];
	__atomic_store_n(&slot->life, slot->life + 1, __ATOMIC_RELEASE);
	guest_set_running(vm);
	return true;
}

/*
 * Runs on vCPU 0's host CPU for the whole run: the guest's lives, their
 * resets and ends, for all its vCPUs; between them (and before the first,
 * for start = later) the wait for the operator's start.
 */
static void guest_cpu_main(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;

	vcpu->host_cpu = this_cpu()->index;
	this_cpu()->vcpu = vcpu;
	if (vm->state == VM_STATE_CREATED) {
		printk_at(LOG_INFO,
			  "veneer: guest %s: start = later: it waits on cpu %u "
			  "for start %s in the shell\n",
			  vm->name, vcpu->host_cpu, vm->name);
		/* Nothing printed once the run is over: the boot CPU's
		 * summary and power-off line are the last. */
		if (!wait_for_start(vm)) {
			this_cpu()->vcpu = NULL;
			return;
		}
		guest_set_running(vm);
	}
	do {
		guest_life(vcpu);
		guest_give_back(vcpu);
	} while (guest_start_again(vm));
}

/* ---- all guests ---- */

static struct vm *vm_by_name(const char *name)
{
	for (u32 i = 0; i < vm_count; i++)
		if (strcmp(vms[i].name, name) == 0)
			return &vms[i];
	return NULL;
}

/*
 * Create the guest of `gi` in the next slot and report what it costs.
 * Returns it, or NULL when it could not be created (the slot stays taken
 * by a stopped VM, counted with the others at the end).
 */
static struct vm *guest_start(const struct guest_image *gi)
{
	struct vm *vm = &vms[vm_count];
	u64 free_before;
	char err[200];

	memset(vm, 0, sizeof(*vm));
	str_copy(vm->name, gi->cfg.name, sizeof(vm->name));
	vm->id = vm_count;
	vm_count++;
	free_before = mm_free_bytes();
	if (!vm_create(vm, vcpus[vm->id], gi, err, sizeof(err))) {
		console_release_port(vm);
		printk("veneer: guest %s: not started: %s\n", vm->name, err);
		vm->state = VM_STATE_STOPPED;
		str_copy(vm->stop_reason, err, sizeof(vm->stop_reason));
		return NULL;
	}
	report_cost(vm, free_before);
	vm->aps_alive = vm->vcpu_count - 1;
	/* start = later: it stays VM_STATE_CREATED and waits on its CPU. */
	if (gi->cfg.start_later)
		return vm;
	vm->state = VM_STATE_RUNNING;
	console_offer_focus(vm);
	__atomic_fetch_add(&guests_running, 1, __ATOMIC_SEQ_CST);
	return vm;
}

/*
 * The boot CPU waits here for the guests to end, draining console input
 * meanwhile, halted between two drains; every `seconds` (0: never) it
 * reports their exit counts. Time is the host TSC's (under QEMU -icount and
 * in Bochs: emulated time). The last guest to end does not kick it: it
 * sees that at the next drain.
 */
/* The host UART's 16-byte FIFO holds about 1.4 ms of input at 115200. */
#define DRAIN_PERIOD_US 100

static void wait_for_guests(u32 seconds)
{
	u64 hz = tsc_hz(), start = rdtsc();
	u64 interval = seconds * hz, next = start + interval;
	u64 drain_period = tsc_from_us(DRAIN_PERIOD_US), next_drain = start;
	u64 fault_poll_period = tsc_from_us(PASSTHROUGH_POLL_US);
	u64 next_fault_poll = start;

	while (__atomic_load_n(&guests_running, __ATOMIC_SEQ_CST)) {
		u64 now = rdtsc();

		/*
		 * Keep the console UART's small FIFO from overrunning while
		 * the guests' CPUs run (drivers/uart.c), but only every
		 * DRAIN_PERIOD_US: each poll is a port read, and an emulator
		 * serialises port I/O (QEMU's one I/O lock), so a CPU that
		 * polls in a tight loop slows every guest's device exits.
		 */
		if (now >= next_drain) {
			uart_rx_drain();
			next_drain = now + drain_period;
		}
		/* DMA the IOMMU blocked, reported within a poll period. Its
		 * registers are device memory, dear under an emulator: not
		 * at the drain's pace. */
		if (now >= next_fault_poll) {
			iommu_poll_faults();
			next_fault_poll = now + fault_poll_period;
		}
		/* Input for the operator shell, while it has the focus. */
		console_poll(NULL);
		if (interval && now >= next) {
			stats_report(vms, vm_count,
				     (now - start) /
					 (hz / 1000 ? hz / 1000 : 1));
			/* Behind by more than a period (a slow console):
			 * skip ahead. */
			next += interval;
			if (next <= now)
				next = now + interval;
		}
		/* Halted until the next drain: see smp_idle_until(). */
		smp_idle_until(interval && next < next_drain ? next
							     : next_drain);
	}
}

/*
 * The power-off status: every guest exited with code 0, or not. A guest
 * declared start = later that was never started counts as ok: nothing
 * went wrong with it (and it never kept the run from ending).
 */
static enum power_status guests_summary(u32 failed)
{
	u32 ok = 0;

	/* The last DMA faults and unexpected interrupts, before the end. */
	iommu_flush_reports();
	for (u32 i = 0; i < vm_count; i++) {
		if (vms[i].state == VM_STATE_CREATED) {
			printk("veneer: guest %s: never started (start = "
			       "later): counted as ok\n",
			       vms[i].name);
			ok++;
		} else if (vms[i].state == VM_STATE_EXITED &&
			   vms[i].exit_code == 0) {
			ok++;
		} else {
			failed++;
		}
	}
	printk("veneer: all guests ended: %u ok, %u failed\n", ok, failed);
	return failed ? POWER_STATUS_FAILED : POWER_STATUS_OK;
}

/*
 * The CPU's threads (core/sched.h): one per vCPU placed on it, the
 * guest's weight each. On the CPU that runs them.
 */
static void cpu_run_threads(void *arg)
{
	sched_run(arg);
}

_Static_assert(PLACEMENT_THREADS_MAX == SCHED_MAX_THREADS,
	       "placement fills a CPU with as many vCPUs as it can run");
_Static_assert(GUESTCFG_WEIGHT_DEFAULT == SCHED_WEIGHT_DEFAULT &&
		   GUESTCFG_WEIGHT_MAX == SCHED_WEIGHT_MAX,
	       "the configuration's weights are the scheduler's");

/*
 * A thread for each vCPU of the guest in the next slot (vcpus[id]) on its
 * host CPU, before the guest is made: all or none. False, with the `not
 * started` line, when a CPU is full or memory short for a thread's stack.
 */
static bool add_threads(const struct guest_image *gi, u32 id, const u32 *cpus)
{
	const struct guest_cfg *cfg = &gi->cfg;
	u32 added = 0;

	for (; added < cfg->vcpus; added++) {
		struct vcpu *v = &vcpus[id][added];
		struct sched_cpu *sc = sched_cpu_of(cpus[added]);

		if (!sc ||
		    !sched_add(sc, added ? guest_ap_main : guest_cpu_main, v, v,
			       cfg->shared ? cfg->weight : 0))
			break;
	}
	if (added == cfg->vcpus)
		return true;
	printk("veneer: guest %s: not started: no memory for the stack of "
	       "vCPU %u on cpu %u (%llu MiB free)\n",
	       cfg->name, added, cpus[added],
	       (unsigned long long)(mm_free_bytes() >> 20));
	while (added--)
		sched_drop_last(sched_cpu_of(cpus[added]));
	return false;
}

enum power_status guests_run(const struct boot_info *bi)
{
	struct cpu_placement pl;
	struct vcpu *on_boot_cpu = NULL;
	bool busy[MAX_CPUS] = {0};
	u32 failed = 0, stats;
	u32 n = placement_collect(bi, images, VM_MAX, &failed);

	printk_set_level(placement_log_level());
	if (n == 0 && failed == 0) {
		printk("veneer: no guests configured\n");
		return POWER_STATUS_OK;
	}
	placement_init(&pl, cpus_online());
	for (u32 i = 0; i < n; i++) {
		u32 cpus[VM_MAX_VCPUS];
		struct vm *vm;

		if (vm_by_name(images[i].cfg.name)) {
			printk("veneer: guest %s: a guest with this name "
			       "already exists\n",
			       images[i].cfg.name);
			failed++;
			continue;
		}
		if (!placement_pick(&pl, &images[i].cfg, cpus) ||
		    !add_threads(&images[i], vm_count, cpus)) {
			failed++;
			continue;
		}
		vm = guest_start(&images[i]);
		if (!vm) {
			/* Counted with the other VMs below; its threads go,
			 * the last added on their CPUs. */
			for (u32 v = images[i].cfg.vcpus; v-- > 0;)
				sched_drop_last(sched_cpu_of(cpus[v]));
			continue;
		}
		placement_take(&pl, &images[i].cfg, cpus);
		for (u32 v = 0; v < vm->vcpu_count; v++) {
			vm->vcpus[v]->host_cpu = cpus[v];
			slots[vm->id].cpus[v] = cpus[v];
			busy[cpus[v]] = true;
			if (cpus[v] == 0 && !on_boot_cpu)
				on_boot_cpu = vm->vcpus[v];
		}
	}
	/* Every thread is added: which vCPUs share their CPU is known. */
	for (u32 i = 0; i < vm_count; i++)
		for (u32 v = 0; v < vms[i].vcpu_count; v++)
			if (vms[i].vcpus[v])
				vms[i].vcpus[v]->shares_cpu =
				    sched_cpu_shared(vms[i].vcpus[v]->host_cpu);
	/*
	 * Guests that start later follow those that run in the focus ring,
	 * so the focus goes to a running guest at boot (core/console.h).
	 */
	for (u32 i = 0; i < vm_count; i++)
		if (vms[i].state == VM_STATE_CREATED)
			console_offer_focus(&vms[i]);
	/*
	 * Every guest is created before any starts: a guest running on
	 * another CPU could otherwise hold an emulator that runs its CPUs in
	 * turn (QEMU's TCG with -icount) and keep the boot CPU from creating
	 * the rest (issue 16). smp_call_on returns once the CPU took its
	 * threads.
	 */
	for (u32 cpu = 1; cpu < MAX_CPUS; cpu++)
		if (busy[cpu] &&
		    !smp_call_on(cpu, cpu_run_threads, sched_cpu_of(cpu)))
			panic("cpu %u did not take its guests", cpu);
	console_announce_focus();
	stats = placement_stats_interval(bi);
	if (on_boot_cpu) {
		/* The boot CPU is busy: the reports need a CPU of their own. */
		if (stats)
			printk_at(
			    LOG_INFO,
			    "veneer: stats: no CPU to spare (guest %s runs "
			    "on cpu 0): no periodic statistics\n",
			    on_boot_cpu->vm->name);
		stats = 0;
		sched_run(sched_cpu_of(0));
	}
	wait_for_guests(stats);
	return guests_summary(failed);
}
