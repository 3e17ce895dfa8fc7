/* SPDX-License-Identifier: MIT */
/*
 * rdtsc: prints the time-stamp counter as `tsc=N` and exits. A static x86-64
 * Linux program without libc, for the benchmark's initramfs (bench/run-bench):
 * under QEMU -icount the TSC counts emulated instructions since power-on,
 * natively and, with clock=host, under Veneer too, so the shell's readiness
 * line can say how many instructions the whole boot took.
 *
 * Linux x86-64 system calls (the kernel's syscall ABI): number in RAX,
 * arguments in RDI, RSI, RDX; write = 1, exit = 60.
 */
typedef unsigned long u64;

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

void rdtsc_main(void) __attribute__((noreturn, used));

void rdtsc_main(void)
{
	char buf[32];
	unsigned lo, hi;
	u64 tsc;
	int i = sizeof(buf);

	/* LFENCE first: earlier instructions have completed (SDM, RDTSC). */
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	tsc = (u64)hi << 32 | lo;
	buf[--i] = '\n';
	do {
		buf[--i] = (char)('0' + tsc % 10);
		tsc /= 10;
	} while (tsc);
	buf[--i] = '=';
	buf[--i] = 'c';
	buf[--i] = 's';
	buf[--i] = 't';
	sys3(1, 1, (long)(buf + i), (long)sizeof(buf) - i);
	for (;;)
		sys3(60, 0, 0, 0);
}

/* The entry point: the kernel starts it with RSP 16-byte aligned. */
__asm__(".globl _start\n"
	"_start:\n"
	"	andq $-16, %rsp\n"
	"	call rdtsc_main\n"
	"	ud2\n");
