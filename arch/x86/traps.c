/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU GDT and TSS, the shared IDT, and the host-fatal exception path.
 */
#include "arch/x86/traps.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/pic.h"
#include "arch/x86/percpu.h"
#include "core/lib/printk.h"
#include "core/lib/spinlock.h"

/* 64-bit TSS (SDM Vol. 3A 8.7, figure 8-11). */
struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __packed;
_Static_assert(sizeof(struct tss64) == 104, "TSS64 layout");

/* GDT: null, 64-bit code, data, TSS (a 16-byte system descriptor). */
#define GDT_ENTRIES 5

struct cpu_desc {
	u64 gdt[GDT_ENTRIES] __aligned(16);
	struct tss64 tss __aligned(16);
};

static struct cpu_desc cpu_descs[MAX_CPUS];

/* IDT gate (SDM Vol. 3A 6.14.1, figure 6-8). */
struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_high;
	u32 reserved;
} __packed;
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");

#define IDT_VECTORS	       32
#define GATE_INTERRUPT_PRESENT 0x8e

static struct idt_gate idt[256] __aligned(16);
static bool idt_ready;
extern const u64 trap_stubs[IDT_VECTORS];
extern const u8 host_timer_stub[], host_spurious_stub[], host_stray_stub[];

/* Interrupts on vectors nothing asked for: host_stray_stub counts them. */
u64 host_stray_interrupts;

u64 traps_stray_interrupts(void)
{
	return __atomic_load_n(&host_stray_interrupts, __ATOMIC_RELAXED);
}

/* Who each device vector belongs to (host_irq_alloc): host state. */
static struct host_irq {
	host_irq_fn fn; /* NULL: free */
	void *ctx;
} host_irqs[HOST_IRQ_COUNT];
static spinlock_t host_irqs_lock = SPINLOCK_INIT;
extern const u8 host_irq_stubs[], host_irq_stubs_end[];
#define HOST_IRQ_STUB_BYTES 16

int host_irq_alloc(host_irq_fn fn, void *ctx)
{
	int vector = -1;

	spin_lock(&host_irqs_lock);
	for (u32 i = 0; i < HOST_IRQ_COUNT; i++)
		if (!host_irqs[i].fn) {
			host_irqs[i].ctx = ctx;
			/* ctx first: the dispatcher reads fn, then ctx. */
			__atomic_store_n(&host_irqs[i].fn, fn,
					 __ATOMIC_RELEASE);
			vector = (int)(HOST_IRQ_FIRST + i);
			break;
		}
	spin_unlock(&host_irqs_lock);
	return vector;
}

void host_irq_free(int vector)
{
	u32 i = (u32)vector - HOST_IRQ_FIRST;

	if (i >= HOST_IRQ_COUNT)
		return;
	spin_lock(&host_irqs_lock);
	__atomic_store_n(&host_irqs[i].fn, NULL, __ATOMIC_RELEASE);
	spin_unlock(&host_irqs_lock);
}

u32 host_irq_in_use(void)
{
	u32 n = 0;

	for (u32 i = 0; i < HOST_IRQ_COUNT; i++)
		n +=
		    __atomic_load_n(&host_irqs[i].fn, __ATOMIC_RELAXED) != NULL;
	return n;
}

/* From host_irq_common (traps.S), interrupts off. */
void host_irq_dispatch(u64 vector);
void host_irq_dispatch(u64 vector)
{
	u32 i = (u32)vector - HOST_IRQ_FIRST;
	host_irq_fn fn;

	if (i >= HOST_IRQ_COUNT)
		return;
	fn = __atomic_load_n(&host_irqs[i].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(host_irqs[i].ctx);
	else
		__atomic_add_fetch(&host_stray_interrupts, 1, __ATOMIC_RELAXED);
}

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

static const char *const vector_names[IDT_VECTORS] = {
    [0] = "#DE divide error",
    [1] = "#DB debug",
    [2] = "NMI",
    [3] = "#BP breakpoint",
    [4] = "#OF overflow",
    [5] = "#BR bound range",
    [6] = "#UD invalid opcode",
    [7] = "#NM device not available",
    [8] = "#DF double fault",
    [10] = "#TS invalid TSS",
    [11] = "#NP segment not present",
    [12] = "#SS stack fault",
    [13] = "#GP general protection",
    [14] = "#PF page fault",
    [16] = "#MF x87 error",
    [17] = "#AC alignment check",
    [18] = "#MC machine check",
    [19] = "#XM SIMD exception",
    [20] = "#VE virtualization exception",
    [21] = "#CP control protection",
    [29] = "#VC VMM communication",
    [30] = "#SX security exception",
};

static void idt_set(u8 vec, u64 handler, u8 ist)
{
	idt[vec] = (struct idt_gate){
	    .offset_low = handler & 0xffff,
	    .selector = HOST_CS,
	    .ist = ist,
	    .type_attr = GATE_INTERRUPT_PRESENT,
	    .offset_mid = (handler >> 16) & 0xffff,
	    .offset_high = handler >> 32,
	};
}

static void idt_build(void)
{
	for (u8 v = 0; v < IDT_VECTORS; v++) {
		u8 ist = 0;

		if (v == 2)
			ist = IST_NMI;
		else if (v == 8)
			ist = IST_DF;
		else if (v == 18)
			ist = IST_MC;
		idt_set(v, trap_stubs[v], ist);
	}
	for (u32 v = X86_FIRST_INTERRUPT_VECTOR; v < 256; v++)
		idt_set((u8)v, (u64)(uintptr_t)host_stray_stub, 0);
	/* traps.S's stubs: one per device vector, 16 bytes each. */
	if (host_irq_stubs_end - host_irq_stubs !=
	    HOST_IRQ_COUNT * HOST_IRQ_STUB_BYTES)
		panic("traps.S: %ld bytes of device interrupt stubs",
		      (long)(host_irq_stubs_end - host_irq_stubs));
	for (u32 i = 0; i < HOST_IRQ_COUNT; i++)
		idt_set(
		    (u8)(HOST_IRQ_FIRST + i),
		    (u64)(uintptr_t)(host_irq_stubs + i * HOST_IRQ_STUB_BYTES),
		    0);
	idt_set(HOST_TIMER_VECTOR, (u64)(uintptr_t)host_timer_stub, 0);
	idt_set(HOST_SPURIOUS_VECTOR, (u64)(uintptr_t)host_spurious_stub, 0);
	idt_set(PIC_SPURIOUS_MASTER, (u64)(uintptr_t)host_spurious_stub, 0);
	idt_set(PIC_SPURIOUS_SLAVE, (u64)(uintptr_t)host_spurious_stub, 0);
	idt_ready = true;
}

void desc_init_cpu(u32 cpu, const u64 ist_tops[IST_COUNT])
{
	struct cpu_desc *d = &cpu_descs[cpu];
	u64 tss = (u64)(uintptr_t)&d->tss;
	u64 limit = sizeof(d->tss) - 1;
	struct desc_ptr gdtr = {sizeof(d->gdt) - 1, (u64)(uintptr_t)d->gdt};
	struct desc_ptr idtr = {sizeof(idt) - 1, (u64)(uintptr_t)idt};

	if (!idt_ready)
		idt_build();
	for (int i = 0; i < IST_COUNT; i++)
		d->tss.ist[i] = ist_tops[i];
	d->tss.iomap_base = sizeof(d->tss); /* no I/O bitmap */

	d->gdt[0] = 0;
	d->gdt[1] = 0x00af9a000000ffffull; /* HOST_CS: 64-bit code, DPL 0 */
	d->gdt[2] = 0x00cf92000000ffffull; /* HOST_DS: data, DPL 0 */
	/* Available 64-bit TSS, type 9 (SDM Vol. 3A 8.2.3, figure 8-4). */
	d->gdt[3] = (limit & 0xffff) | ((tss & 0xffffff) << 16) |
		    (0x89ull << 40) | ((limit >> 16 & 0xf) << 48) |
		    ((tss >> 24 & 0xff) << 56);
	d->gdt[4] = tss >> 32;

	__asm__ volatile("lgdt %0" ::"m"(gdtr));
	/* Reload CS through a far return, then the data segments. */
	__asm__ volatile("pushq %0\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w1, %%ds\n\t"
			 "movw %w1, %%es\n\t"
			 "movw %w1, %%ss\n\t" ::"i"(HOST_CS),
			 "r"(HOST_DS)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"(HOST_TSS));
	__asm__ volatile("lidt %0" ::"m"(idtr));
}

static void backtrace(u64 rbp)
{
	printk("  backtrace:");
	for (int depth = 0;
	     depth < 16 && rbp && IS_ALIGNED(rbp, 8) && rbp < GiB(4); depth++) {
		const u64 *frame = (const u64 *)(uintptr_t)rbp;

		if (!frame[1])
			break;
		printk(" 0x%llx", (unsigned long long)frame[1]);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
	printk("\n");
}

void trap_handler(struct trap_frame *f)
{
	const char *name = f->vector < IDT_VECTORS && vector_names[f->vector]
			       ? vector_names[f->vector]
			       : "reserved vector";
	u32 cpu = this_cpu() ? this_cpu()->index : 0;

	printk(
	    "veneer: host exception %llu (%s) on cpu %u, error code 0x%llx\n",
	    (unsigned long long)f->vector, name, cpu,
	    (unsigned long long)f->error_code);
	printk("  rip %016llx cs %04llx rflags %016llx rsp %016llx ss %04llx\n",
	       (unsigned long long)f->rip, (unsigned long long)f->cs,
	       (unsigned long long)f->rflags, (unsigned long long)f->rsp,
	       (unsigned long long)f->ss);
	printk("  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n",
	       (unsigned long long)f->rax, (unsigned long long)f->rbx,
	       (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	printk("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx\n",
	       (unsigned long long)f->rsi, (unsigned long long)f->rdi,
	       (unsigned long long)f->rbp, (unsigned long long)f->r8);
	printk("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx\n",
	       (unsigned long long)f->r9, (unsigned long long)f->r10,
	       (unsigned long long)f->r11, (unsigned long long)f->r12);
	printk("  r13 %016llx r14 %016llx r15 %016llx cr2 %016llx\n",
	       (unsigned long long)f->r13, (unsigned long long)f->r14,
	       (unsigned long long)f->r15, (unsigned long long)read_cr2());
	backtrace(f->rbp);
	panic("host exception %llu (%s) at rip 0x%llx",
	      (unsigned long long)f->vector, name, (unsigned long long)f->rip);
}
