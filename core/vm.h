/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: its RAM, its nested page tables, its vCPUs and its
 * devices.
 */
#ifndef VENEER_CORE_VM_H
#define VENEER_CORE_VM_H

#include "core/lib/types.h"
#include "core/lib/pagetable.h"
#include "core/vcpu.h"
#include "core/iobus.h"
#include "core/decode.h"
#include "core/mmio.h"
#include "core/kvmpv.h"
#include "core/vdev/vuart.h"
#include "core/guestcfg.h"
#include "core/lib/string.h"
#include "core/lib/spinlock.h"
#include "arch/x86/cpu.h"

struct platform;

#define VM_NAME_MAX   32
#define VM_MAX_VCPUS  8
#define VM_MAX	      16
#define VM_REASON_MAX 200
#define VM_MAX_DISKS  4

/*
 * A disk of the guest (core/vdev/virtio_blk.h): its bytes in host memory,
 * for its whole life (a reboot keeps what the guest wrote). A read-write
 * disk is Veneer's own copy of its module (copy_pages pages at copy_hpa);
 * a read-only one is the module itself.
 */
struct vm_disk {
	u8 *data;
	u64 bytes;
	bool read_only;
	u64 copy_hpa, copy_pages;
	char name[32]; /* its module's file name: the guest's GET_ID */
};

enum vm_state {
	VM_STATE_CREATED,
	VM_STATE_RUNNING,
	VM_STATE_EXITED,  /* the guest ended itself: exit_code is valid */
	VM_STATE_STOPPED, /* Veneer stopped it: stop_reason says why */
};

/*
 * Bytes typed for a guest: written by whichever CPU reads the console
 * (core/console.c), read by the guest's own vCPU. Free-running indices.
 */
#define CONSOLE_QUEUE_SIZE 256
struct console_queue {
	u8 buf[CONSOLE_QUEUE_SIZE];
	volatile u32 head; /* next byte written */
	volatile u32 tail; /* next byte read */
	u64 dropped;	   /* full: lost */
};

struct iommu_domain;

struct vm {
	char name[VM_NAME_MAX];
	u32 id;
	volatile enum vm_state state;
	u32 exit_code;
	char stop_reason[VM_REASON_MAX];
	/* Guest RAM: guest-physical [0, ram_size) backed by host [ram_hpa,..).
	 */
	u64 ram_size;
	u64 ram_hpa;
	u64 ram_alloc_pages; /* pages allocated for RAM (ram_size rounded) */
	/* Nested page tables (EPT or NPT): root table host-physical address. */
	u64 nested_root;
	u64 nested_tables; /* number of table pages, for statistics */
	/* Host PCI functions it owns (core/passthrough.c) and the IOMMU
	 * domain their DMA goes through: its RAM only. */
	u32 pci_count;
	u16 pci[GUESTCFG_PCI_MAX];
	struct iommu_domain *dma;
	u64 dma_poll_due; /* host TSC of the next passthrough_poll() */
	/* Per-VM backend state (TLB tag, I/O and MSR bitmaps): vm_init's. */
	void *vendor;
	u32 vcpu_count;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	/*
	 * With several vCPUs, their exits are handled under this lock (the
	 * devices, the local APICs, the UART are one per guest): taken by
	 * vm_lock() around everything but guest mode and waiting. A guest
	 * with one vCPU takes no lock.
	 */
	spinlock_t lock;
	/*
	 * A reset of the whole guest is under way (a reboot, the operator's
	 * restart): every vCPU leaves its loop, and vCPU 0's CPU reloads the
	 * guest once none runs (core/guest.c). gone: the guest has ended for
	 * good, its other vCPUs' CPUs give them back.
	 */
	volatile bool resetting;
	volatile bool gone;
	volatile u32 aps_alive; /* vCPUs 1.. whose CPU still holds them */
	struct iobus io;
	struct mmio_bus mmio;
	struct vuart uart;
	/*
	 * The host serial port it owns (core/console.h): the driver line
	 * plus one, 0 for none. Kept by console.c with its table of owners,
	 * so that the UART's every access need not search that table.
	 */
	u8 own_line_plus1;
	struct platform *platform; /* the virtual PC: core/platform.h */
	u32 disk_count;
	struct vm_disk disks[VM_MAX_DISKS];
	bool virtio_console; /* devices = virtio-console (docs/devices.md) */
	/* devices = virtio-net: its NIC on the guests' switch, with `mac`. */
	bool virtio_net;
	u8 mac[6];
	const void *image; /* how it was loaded, for a reboot */
	u32 reboots;
	/*
	 * The guest's clock (core/vm.c): guest TSC = host TSC + tsc_offset,
	 * one offset for all its vCPUs. With hide_exit_time, the time Veneer
	 * spends handling exits while no vCPU is in guest time is taken out
	 * of the guest's clock (vm_clock_freeze), so a guest with one vCPU
	 * never sees an exit as lost time. clock_users: its vCPUs in guest
	 * time now.
	 */
	u64 tsc_offset;
	bool hide_exit_time;
	bool clock_frozen;
	u32 clock_users;
	u64 frozen_host_tsc;
	u64 partial_since; /* TSC of its last UART write, while a line is
			      partial */
	u32 partial_cpu;   /* the host CPU (so the vCPU) that made it */
	/* MSR state Veneer keeps for the guest (core/msr.c). */
	u64 msr_mtrr_def_type;
	u64 msr_amd_perf_ctl[4];     /* AMD PERF_CTL0-3, never counting */
	u64 msr_tsc_adjust;	     /* IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3) */
	u64 msr_misc_enable_flipped; /* IA32_MISC_ENABLE bits the guest
					changed from their reset value */
	/*
	 * The KVM-compatible para-virtual interface (core/kvmpv.h): offered
	 * to this guest or not (on by default for format=linux), and its
	 * kvm-clock state.
	 */
	bool kvm_pv;
	struct kvmpv kvmpv;
	bool shared_cpus; /* shared = yes: its vCPUs may wait for their CPU */
	/* Console input on its way to the guest's UART (core/console.c). */
	struct console_queue input;
	/*
	 * The operator shell's requests (core/shell.h), set from any CPU
	 * and carried out by the guest's own vCPU loop at its next exit.
	 */
	volatile bool stop_request;
	volatile bool restart_request;
	bool by_operator;    /* the loop ended for one of them (its own CPU) */
	u32 policy_restarts; /* restarts by its lifecycle policy so far */
	u64 started_tsc;     /* host TSC when its vCPU first ran; 0 before */
};

/* The engine's view of the guest's nested page tables (EPT or NPT). */
struct pt_ctx vm_nested_ctx(const struct vm *vm);

/*
 * Host device memory [hpa, hpa + size) at guest-physical gpa in the
 * nested tables, uncached and not executable (an assigned function's BAR,
 * docs/passthrough.md); page-aligned, outside the guest's RAM (refused
 * otherwise). 0, or a page-table error (core/lib/pagetable.h).
 */
int vm_map_device(struct vm *vm, u64 gpa, u64 hpa, u64 size);
/*
 * That mapping goes. Every vCPU flushes what it cached of the nested
 * tables before it enters the guest again, and one in the guest now is
 * made to exit.
 */
int vm_unmap_device(struct vm *vm, u64 gpa, u64 size);

/* Host pointer to guest-physical [gpa, gpa+len) or NULL if not all RAM. */
void *vm_gpa_to_hva(struct vm *vm, gpa_t gpa, u64 len);

/* End the guest with `code` and log it (the guest asked to exit). */
void vm_exit(struct vm *vm, u32 code);

/* Stop the guest and log REASON: a guest-fatal error. */
void vm_stop(struct vm *vm, const char *fmt, ...) __printf(2, 3);

/*
 * Wake vCPU `index` of `vm` for new work (an interrupt, an NMI, an INIT or
 * SIPI, the guest's end): its run loop looks again at its events before
 * its next entry, and a CPU running it in guest mode is made to exit (an
 * IPI, smp_kick). Cheap for the calling CPU's own vCPU.
 */
void vm_wake_vcpu(struct vm *vm, u32 index);

/* The VM lock (struct vm.lock), taken only when the guest has several
 * vCPUs. */
static inline void vm_lock(struct vm *vm)
{
	if (vm->vcpu_count > 1)
		spin_lock(&vm->lock);
}

static inline void vm_unlock(struct vm *vm)
{
	if (vm->vcpu_count > 1)
		spin_unlock(&vm->lock);
}

/* The guest's TSC now: frozen at the exit while Veneer handles it. */
u64 vm_guest_tsc(const struct vm *vm);
/* The guest set its TSC (IA32_TSC) to `value`. */
void vm_set_guest_tsc(struct vm *vm, u64 value);
/*
 * With hide_exit_time (clock=virtual), the guest's clock stands still
 * while none of its vCPUs is in guest time (guest mode, or halted): it
 * stops when the last one leaves for an exit and goes on, the frozen time
 * taken out of the guest's TSC, when the first one enters again. While
 * any vCPU is in guest time the offset does not move, so every vCPU reads
 * one TSC (docs/guests.md, "The guest's clock"). Balanced calls, under
 * the VM lock: vm_clock_resume() before a vCPU enters guest time,
 * vm_clock_freeze() when it leaves it.
 */
static inline void vm_clock_freeze(struct vm *vm)
{
	if (!vm->hide_exit_time)
		return;
	if (vm->clock_users && --vm->clock_users)
		return; /* another vCPU is still in guest time */
	if (vm->clock_frozen)
		return;
	vm->frozen_host_tsc = rdtsc();
	vm->clock_frozen = true;
}

static inline void vm_clock_resume(struct vm *vm)
{
	if (vm->hide_exit_time)
		vm->clock_users++;
	if (!vm->clock_frozen)
		return;
	vm->tsc_offset -= rdtsc() - vm->frozen_host_tsc;
	vm->clock_frozen = false;
}

/* Still running? */
static inline bool vm_running(const struct vm *vm)
{
	return vm->state == VM_STATE_RUNNING;
}

/*
 * Translate a guest linear address with the guest's own paging (none, 32-bit,
 * PAE or 4-level, per its CR0/CR4/EFER) to a guest-physical one. False when
 * it is not mapped.
 */
bool vcpu_linear_to_gpa(struct vcpu *vcpu, u64 linear, u64 *gpa_out);

/*
 * The instruction bytes at the guest's CS:RIP, up to `max` (at most
 * DECODE_MAX_INSN_LEN, 15): how many could be read, fewer when the rest is
 * not mapped RAM (0: none). The one instruction fetch of core (MMIO
 * emulation, the #UD hypercall check); the backends read no guest code.
 */
u32 vcpu_fetch_insn(struct vcpu *vcpu, u8 *bytes, u32 max);

/* vcpu_read_linear() page by page, through the guest's page walk. */
bool vcpu_read_linear_pages(struct vcpu *vcpu, u64 linear, void *dst, u32 len);

/*
 * Copy `len` bytes to guest linear `linear`, page by page; false (and
 * possibly a partial copy) if not all of it is mapped RAM. Page-level
 * write protection in the guest's own tables is not checked.
 */
bool vcpu_write_linear(struct vcpu *vcpu, u64 linear, const void *src, u32 len);

/* Copy `len` bytes from guest linear `linear`; false if not all mapped. */
static inline bool vcpu_read_linear(struct vcpu *vcpu, u64 linear, void *dst,
				    u32 len)
{
	u64 off = linear & (PAGE_SIZE - 1);

	/*
	 * Within the page walked last, all of it RAM: straight from guest
	 * RAM (an instruction fetch and the string I/O that follows it often
	 * fall in the same page).
	 */
	if (vcpu->walk_valid && vcpu->walk_linear == linear - off &&
	    vcpu->walk_hva && len <= PAGE_SIZE - off) {
		if (len == 1)
			*(u8 *)dst = vcpu->walk_hva[off];
		else
			memcpy(dst, vcpu->walk_hva + off, len);
		return true;
	}
	return vcpu_read_linear_pages(vcpu, linear, dst, len);
}

#endif /* VENEER_CORE_VM_H */
