/* SPDX-License-Identifier: MIT */
/*
 * Thin wrappers for privileged x86 instructions the hypervisor uses.
 */
#ifndef VENEER_ARCH_X86_CPU_H
#define VENEER_ARCH_X86_CPU_H

#include "core/lib/types.h"

/* CR0 bits (SDM Vol. 3A 2.5). */
#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)

/* CR4 bits (SDM Vol. 3A 2.5). */
#define CR4_PSE	       BIT(4)
#define CR4_PAE	       BIT(5)
#define CR4_MCE	       BIT(6)
#define CR4_PGE	       BIT(7)
#define CR4_OSFXSR     BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_VMXE       BIT(13)
#define CR4_OSXSAVE    BIT(18)

/* RFLAGS bits (SDM Vol. 1 3.4.3). */
#define RFLAGS_CF    BIT(0)
#define RFLAGS_FIXED BIT(1)
#define RFLAGS_ZF    BIT(6)
#define RFLAGS_TF    BIT(8)
#define RFLAGS_IF    BIT(9)
#define RFLAGS_DF    BIT(10)
#define RFLAGS_VM    BIT(17)

/* CR4 bits beyond the common ones (SDM Vol. 3A 2.5). */
#define CR4_PCIDE BIT(17)

/* Exception vectors (SDM Vol. 3A 6.15, APM Vol. 2 8.2). */
#define X86_VECTOR_DE  0
#define X86_VECTOR_DB  1
#define X86_VECTOR_NMI 2
#define X86_VECTOR_BP  3
#define X86_VECTOR_UD  6
#define X86_VECTOR_DF  8
#define X86_VECTOR_TS  10
#define X86_VECTOR_NP  11
#define X86_VECTOR_SS  12
#define X86_VECTOR_GP  13
#define X86_VECTOR_PF  14
#define X86_VECTOR_AC  17
#define X86_VECTOR_MC  18
#define X86_VECTOR_CP  21
/* Vectors 0-31 are exceptions; external interrupts use 32-255 (16-255
 * on the wire, SDM Vol. 3A 6.2). */
#define X86_FIRST_INTERRUPT_VECTOR 32

/*
 * Exceptions that push an error code in protected mode (SDM Vol. 3A 6.15,
 * "Error Code" of each; APM Vol. 2 8.2): #DF #TS #NP #SS #GP #PF #AC #CP.
 */
static inline bool exception_has_error_code(u8 vector)
{
	return vector == X86_VECTOR_DF ||
	       (vector >= X86_VECTOR_TS && vector <= X86_VECTOR_PF) ||
	       vector == X86_VECTOR_AC || vector == X86_VECTOR_CP;
}

/* XCR0 state components (SDM Vol. 1 13.3). */
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)

/* CPUID leaves and feature bits (SDM Vol. 2A CPUID, APM Vol. 3 E.4). */
#define CPUID_LEAF_FEATURES	   0x1
#define CPUID_LEAF_EXT_MAX	   0x80000000u
#define CPUID_LEAF_EXT_FEATURES	   0x80000001u
#define CPUID_LEAF_ADDRESS_SIZES   0x80000008u
#define CPUID_LEAF_SVM		   0x8000000au
#define CPUID_1_ECX_VMX		   BIT(5)
#define CPUID_1_ECX_HYPERVISOR	   BIT(31)
#define CPUID_EXT_FEATURES_ECX_SVM BIT(2)

/* The two hypercall instructions: VMCALL (Intel) and VMMCALL (AMD). Each
 * raises #UD on the other vendor's CPU (SDM Vol. 3C 31.3, APM Vol. 3). */
#define X86_INSN_VMCALL                                                        \
	{                                                                      \
		0x0f, 0x01, 0xc1                                               \
	}
#define X86_INSN_VMMCALL                                                       \
	{                                                                      \
		0x0f, 0x01, 0xd9                                               \
	}
#define X86_INSN_HYPERCALL_LEN 3

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline struct cpuid_regs cpuid(u32 leaf)
{
	return cpuid_count(leaf, 0);
}

#ifdef VENEER_HOST_TEST
/*
 * Host unit tests: the privileged and machine-dependent wrappers that the
 * exit handlers use come from the test (tests/unit/fake_vcpu.c), so the
 * test controls the TSC, CR4 and XCR0 and sees any MSR access.
 */
u64 rdmsr(u32 index);
void wrmsr(u32 index, u64 value);
u64 rdtsc(void);
u64 read_cr4(void);
u64 xgetbv(u32 index);
void xsetbv(u32 index, u64 value);
#else
static inline u64 rdmsr(u32 index)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 index, u64 value)
{
	__asm__ volatile("wrmsr" ::"c"(index), "a"((u32)value),
			 "d"((u32)(value >> 32))
			 : "memory");
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

/* Extended control registers (SDM Vol. 2C XGETBV, XSETBV). */
static inline u64 xgetbv(u32 index)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((u64)hi << 32) | lo;
}

static inline void xsetbv(u32 index, u64 value)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((u32)value),
			 "d"((u32)(value >> 32)));
}
#endif

#define DEFINE_CR_ACCESSORS(n)                                                 \
	static inline u64 read_cr##n(void)                                     \
	{                                                                      \
		u64 v;                                                         \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));              \
		return v;                                                      \
	}                                                                      \
	static inline void write_cr##n(u64 v)                                  \
	{                                                                      \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");       \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
#ifndef VENEER_HOST_TEST
DEFINE_CR_ACCESSORS(4)
#endif
#undef DEFINE_CR_ACCESSORS

static inline u64 read_rflags(void)
{
	u64 f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void __noreturn cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static inline void invlpg(u64 va)
{
	__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
}

#endif /* VENEER_ARCH_X86_CPU_H */
