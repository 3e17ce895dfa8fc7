/* SPDX-License-Identifier: MIT */
/*
 * The test-guest library: what every Veneer test guest may use.
 *
 * A test guest is a multiboot (v1) kernel that checks one feature and reports
 * on two channels: text on the 16550 UART at I/O port 0x3f8 and an exit code
 * written as 32 bits to I/O port 0xf4 (QEMU's isa-debug-exit; Veneer ends the
 * guest with that code). The same binary runs natively on QEMU so that every
 * check has a native baseline.
 *
 * The library is built twice: 32-bit (-m32, no paging) and 64-bit (-m64, the
 * long64 guest, identity paging). Guests and library share this one header.
 */
#ifndef VENEER_TESTS_GUESTS_LIB_GUEST_H
#define VENEER_TESTS_GUESTS_LIB_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t i32;
typedef int64_t i64;
/* A register-sized value: 32 bits in the 32-bit guests, 64 in long64. */
typedef unsigned long ureg;

#define KiB	       (1024UL)
#define MiB	       (1024UL * 1024UL)
#define PAGE_SIZE      4096UL
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define BIT(n)	       (1UL << (n))
#define __noreturn     __attribute__((noreturn))
#define __aligned(n)   __attribute__((aligned(n)))
#define __printf(a, b) __attribute__((format(printf, a, b)))

/* ---- ports of the test platform ---- */
#define UART_BASE	0x3f8 /* COM1 */
#define UART_THR	0     /* transmit holding register (write) */
#define UART_LSR	5     /* line status register */
#define UART_SCR	7     /* scratch register */
#define UART_LSR_THRE	0x20  /* THR empty: the next byte may be written */
#define UART_LSR_TEMT	0x40  /* transmitter empty: all bytes sent */
#define DEBUG_EXIT_PORT 0xf4  /* isa-debug-exit, iosize=4 */

/* ---- port I/O ---- */
static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(u16 port, u16 v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(u16 port, u32 v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
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

/* ---- CPU ---- */
struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* rdmsr/wrmsr are 2 bytes long (0F 32 / 0F 30): trap handlers that skip a
 * faulting one advance the instruction pointer by this much. */
#define MSR_INSN_LEN 2

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))
			 : "memory");
}
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#define DEFINE_CR_ACCESSORS(n)                                                 \
	static inline ureg read_cr##n(void)                                    \
	{                                                                      \
		ureg v;                                                        \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));              \
		return v;                                                      \
	}                                                                      \
	static inline void write_cr##n(ureg v)                                 \
	{                                                                      \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");     \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)

static inline void cpu_sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}
static inline void cpu_cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}
/* sti; hlt: the STI shadow makes the pair atomic, so an interrupt that is
 * already pending wakes the HLT instead of being taken before it (SDM Vol. 2B
 * STI: "delays recognition of interrupts until the end of the next
 * instruction"). */
static inline void cpu_sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/* ---- console and exit (serial.c, printf.c) ---- */
void serial_putc(char c);
void serial_puts(const char *s);
void serial_drain(void);
int guest_printf(const char *fmt, ...) __printf(1, 2);
int guest_vprintf(const char *fmt, va_list ap);
/* Ends the guest: drains the UART, writes code to port 0xf4, then halts. */
__noreturn void guest_exit(u32 code);

/* ---- checks (expect.c) ----
 * Every check prints "PASS: <what>" or "FAIL: <what> (<got> != <expected>)";
 * guest_finish() prints the final PASS or FAIL line and exits 0 or 1. */
extern unsigned guest_failures;
bool expect_u64(u64 got, u64 expected, const char *what);
bool expect_true(bool ok, const char *what);
void guest_pass(const char *what);
void guest_fail(const char *what);
void guest_skip(const char *what);
__noreturn void guest_finish(void);

#define EXPECT_EQ(got, expected, what) expect_u64((got), (expected), (what))
#define EXPECT_TRUE(cond, what)	       expect_true((cond), (what))

/* ---- start-up (start.c) ---- */
struct multiboot_info;
/* Each guest defines this; the library calls it after checking the
 * multiboot magic, with the loader's info structure. */
void guest_main(const struct multiboot_info *mbi);
/* Start and end of the loaded image (linker script). */
extern char _guest_image_start[], _guest_image_end[];

/* ---- Veneer detection (veneer.c) ----
 * CPUID leaf 0x40000000 under Veneer: EAX = highest hypervisor leaf
 * (0x40000001), EBX:ECX:EDX = "VENE" "ERVE" "NEER". */
#define VENEER_CPUID_LEAF     0x40000000U
#define VENEER_CPUID_MAX_LEAF 0x40000001U
#define VENEER_SIGNATURE_EBX  0x454e4556U /* "VENE" */
#define VENEER_SIGNATURE_ECX  0x45565245U /* "ERVE" */
#define VENEER_SIGNATURE_EDX  0x5245454eU /* "NEER" */
bool under_veneer(void);

/* ---- strings (string.c) ---- */
size_t str_len(const char *s);
bool str_starts_with(const char *s, const char *prefix);
/* Finds "key=value" in a space-separated command line; returns the value
 * (up to the next space) or NULL. */
const char *cmdline_value(const char *cmdline, const char *key);
/* Parses a decimal or 0x-hex number; stops at a space or the end. Returns
 * false if no digit was found or a character is not a digit. */
bool parse_u64(const char *s, u64 *out);

/* n / d, 64 by 32 bits, without the compiler's helper (no libgcc here). */
u64 div64(u64 n, u32 d);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif /* VENEER_TESTS_GUESTS_LIB_GUEST_H */
