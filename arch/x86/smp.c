/* SPDX-License-Identifier: MIT */
/*
 * SMP bring-up with INIT-SIPI-SIPI (SDM Vol. 3A 9.4.4.1) through the
 * trampoline in boot/trampoline.S, one AP at a time.
 */
#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "arch/x86/pic.h"
#include "core/lib/pagetable.h"
#include "arch/x86/traps.h"
#include "arch/x86/tsc.h"
#include "boot/boot.h"
#include "core/mm.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"

/* One page per CPU: the block and nothing else shares its cache lines. */
union percpu_page {
	struct percpu cpu;
	u8 page[PAGE_SIZE];
};
static union percpu_page percpu_pages[MAX_CPUS] __aligned(PAGE_SIZE);
static u32 online_count;

extern const u8 _trampoline_start[], _trampoline_end[];
extern const u8 trampoline_32[], trampoline_64[];

/* Set by each AP once it runs C code: the BSP waits for it. */
static volatile u32 ap_started;
static void (*ap_init_fn)(struct percpu *cpu);

struct percpu *percpu_of(u32 index)
{
	return index < MAX_CPUS ? &percpu_pages[index].cpu : NULL;
}

u32 cpus_online(void)
{
	return online_count;
}

static void set_gs_base(struct percpu *cpu)
{
	cpu->self = cpu;
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)cpu);
}

/*
 * CPU features the host must switch on for its guests' sake: CR4.OSXSAVE
 * lets Veneer execute XSETBV on a guest's behalf (XCR0 is not switched by
 * VMX or SVM; SDM Vol. 1 13.3).
 */
static void cpu_enable_features(void)
{
	if (cpuid(1).ecx & BIT(26))
		write_cr4(read_cr4() | CR4_OSXSAVE);
}

/* Stacks for the CPU (ordinary + IST), then its GDT/TSS/IDT. */
static void cpu_setup_stacks_and_tables(struct percpu *cpu)
{
	u64 ist_tops[IST_COUNT];

	for (int i = 0; i < IST_COUNT; i++) {
		u64 base = mm_alloc_pages(IST_STACK_SIZE / PAGE_SIZE, PAGE_SIZE,
					  MM_ANY);
		if (!base)
			panic("out of memory for the IST stacks of cpu %u",
			      cpu->index);
		ist_tops[i] = base + IST_STACK_SIZE;
	}
	desc_init_cpu(cpu->index, ist_tops);
}

/* The boot CPU's IST stacks exist before the page allocator does. */
static u8 bsp_ist_stacks[IST_COUNT][IST_STACK_SIZE] __aligned(PAGE_SIZE);

void smp_init_boot_cpu(void)
{
	struct percpu *bsp = percpu_of(0);
	u64 ist_tops[IST_COUNT];

	bsp->index = 0;
	set_gs_base(bsp);
	for (int i = 0; i < IST_COUNT; i++)
		ist_tops[i] =
		    (u64)(uintptr_t)bsp_ist_stacks[i] + IST_STACK_SIZE;
	desc_init_cpu(0, ist_tops);
	pic_disable();
	cpu_enable_features();
	lapic_init_cpu();
	bsp->apic_id = lapic_id();
	bsp->online = true;
	online_count = 1;
}

/* The trampoline's 64-bit code jumps here: RDI = the per-CPU block. */
static void __noreturn ap_entry(struct percpu *cpu)
{
	set_gs_base(cpu);
	cpu_setup_stacks_and_tables(cpu);
	cpu_enable_features();
	lapic_init_cpu();
	if (ap_init_fn)
		ap_init_fn(cpu);
	cpu->online = true;
	__atomic_store_n(&ap_started, 1, __ATOMIC_RELEASE);

	/* Idle: wait for work posted by smp_call_on(). */
	for (;;) {
		void (*fn)(void *) = cpu->call_fn;

		if (!fn) {
			cpu_relax();
			continue;
		}
		__atomic_store_n(&cpu->call_taken, true, __ATOMIC_RELEASE);
		fn(cpu->call_arg);
		cpu->call_arg = NULL;
		__atomic_store_n(&cpu->call_fn, NULL, __ATOMIC_RELEASE);
	}
}

static u8 *trampoline_install(void)
{
	u64 page = mm_alloc_pages(1, PAGE_SIZE, MM_BELOW_1M);
	u8 *t;
	u64 size = (u64)(_trampoline_end - _trampoline_start);

	if (!page)
		return NULL;
	t = hpa_to_ptr(page);
	memcpy(t, _trampoline_start, size);
	/* Low memory is mapped non-executable; the APs run this page. */
	paging_protect(page, PAGE_SIZE, PT_R | PT_W | PT_X);
	return t;
}

static void put_u32(u8 *t, u32 off, u32 v)
{
	memcpy(t + off, &v, sizeof(v));
}

static void put_u64(u8 *t, u32 off, u64 v)
{
	memcpy(t + off, &v, sizeof(v));
}

static void put_u16(u8 *t, u32 off, u16 v)
{
	memcpy(t + off, &v, sizeof(v));
}

/* Fill the fields every AP shares: GDT, far pointers, CR3, EFER. */
static void trampoline_prepare(u8 *t)
{
	u32 p = (u32)ptr_to_hpa(t);
	u64 gdt[4] = {
	    0, 0x00cf9a000000ffffull, /* TRAMP_SEL_CODE32 */
	    0x00cf92000000ffffull,    /* TRAMP_SEL_DATA */
	    0x00af9a000000ffffull,    /* TRAMP_SEL_CODE64 */
	};
	u64 cr3 = read_cr3();

	if (cr3 >= GiB(4))
		panic("host page tables above 4 GiB: the AP trampoline "
		      "cannot load them");
	memcpy(t + TRAMP_GDT, gdt, sizeof(gdt));
	put_u16(t, TRAMP_GDTR, sizeof(gdt) - 1);
	put_u32(t, TRAMP_GDTR + 2, p + TRAMP_GDT);
	put_u32(t, TRAMP_FAR32, p + (u32)(trampoline_32 - _trampoline_start));
	put_u16(t, TRAMP_FAR32 + 4, TRAMP_SEL_CODE32);
	put_u32(t, TRAMP_FAR64, p + (u32)(trampoline_64 - _trampoline_start));
	put_u16(t, TRAMP_FAR64 + 4, TRAMP_SEL_CODE64);
	put_u32(t, TRAMP_CR3, (u32)cr3);
	put_u32(t, TRAMP_EFER, (u32)rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE));
	put_u64(t, TRAMP_ENTRY, (u64)(uintptr_t)ap_entry);
}

static bool start_one_ap(u8 *t, u32 apic_id, u32 index)
{
	struct percpu *cpu = percpu_of(index);
	u64 stack = mm_alloc_pages(STACK_SIZE / PAGE_SIZE, PAGE_SIZE, MM_ANY);
	u8 vector = (u8)(ptr_to_hpa(t) >> PAGE_SHIFT);

	if (!stack)
		panic("out of memory for the stack of cpu %u", index);
	memset(cpu, 0, sizeof(*cpu));
	cpu->index = index;
	cpu->apic_id = apic_id;
	cpu->stack_top = stack + STACK_SIZE;
	put_u64(t, TRAMP_STACK, cpu->stack_top);
	put_u64(t, TRAMP_ARG, (u64)(uintptr_t)cpu);
	ap_started = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* SDM Vol. 3A 9.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI. */
	lapic_send_init(apic_id);
	udelay(10000);
	lapic_send_sipi(apic_id, vector);
	udelay(200);
	if (!__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE))
		lapic_send_sipi(apic_id, vector);
	for (int i = 0; i < 1000; i++) {
		if (__atomic_load_n(&ap_started, __ATOMIC_ACQUIRE))
			return true;
		udelay(1000);
	}
	printk("veneer: warning: cpu with APIC ID %u did not start\n", apic_id);
	return false;
}

u32 smp_start_aps(const u32 *apic_ids, u32 count, u32 max,
		  void (*ap_init)(struct percpu *cpu))
{
	u32 self = percpu_of(0)->apic_id;
	u8 *t;

	ap_init_fn = ap_init;
	if (count <= 1 || max == 1)
		return online_count;
	t = trampoline_install();
	if (!t) {
		printk("veneer: warning: no free page below 1 MiB for the AP "
		       "trampoline: running on one CPU\n");
		return online_count;
	}
	trampoline_prepare(t);
	for (u32 i = 0; i < count && online_count < MAX_CPUS; i++) {
		if (apic_ids[i] == self)
			continue;
		if (max && online_count >= max)
			break;
		if (start_one_ap(t, apic_ids[i], online_count))
			online_count++;
	}
	return online_count;
}

bool smp_call_on(u32 index, void (*fn)(void *), void *arg)
{
	struct percpu *cpu = percpu_of(index);

	if (!cpu || !cpu->online || index == 0 || cpu->call_fn)
		return false;
	cpu->call_arg = arg;
	cpu->call_taken = false;
	__atomic_store_n(&cpu->call_fn, fn, __ATOMIC_RELEASE);
	/*
	 * Wait until the CPU has taken the call. The caller may go on to
	 * run a guest for a long time, and an emulator that runs its CPUs
	 * in turn (QEMU's TCG with -icount) lets the idle CPU see the call
	 * only when the caller stops running: PAUSE hands it the turn.
	 */
	while (!__atomic_load_n(&cpu->call_taken, __ATOMIC_ACQUIRE))
		cpu_relax();
	return true;
}

void smp_idle_until(u64 deadline)
{
	if (deadline && (i64)(deadline - rdtsc()) <= 0)
		return;
	lapic_timer_arm(deadline);
	/*
	 * Interrupts are off until here, so a kick sent since the caller
	 * last looked waits in the IRR; STI's shadow lasts until the HLT
	 * has begun (SDM Vol. 2B STI), so that kick ends the HLT rather
	 * than coming just before it.
	 */
	__asm__ volatile("sti; hlt; cli" ::: "memory");
	lapic_timer_arm(0);
}

void smp_kick(u32 index)
{
	struct percpu *cpu = percpu_of(index);

	if (cpu && cpu->online && cpu != this_cpu())
		lapic_send_fixed(cpu->apic_id, HOST_TIMER_VECTOR);
}
