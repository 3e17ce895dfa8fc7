// SPDX-License-Identifier: MIT
/*
 * The guest state a host CPU switches between vCPU threads
 * (arch/x86/switch.h).
 */
#include "arch/x86/switch.h"
#include "arch/x86/cpu.h"
#include "core/lib/string.h"

/* Offsets in the legacy region of the XSAVE / FXSAVE area (SDM Vol. 1
 * 10.5.1, Table 10-2). */
#define FXSAVE_FCW   0
#define FXSAVE_MXCSR 24
#define FXSAVE_SIZE  512
#define FCW_RESET    0x037f
#define MXCSR_RESET  0x1f80

static bool has_xsave(void)
{
	return (read_cr4() & CR4_OSXSAVE) != 0;
}

u32 hw_context_size(void)
{
	if (!has_xsave())
		return FXSAVE_SIZE;
	/* ECX: the area for every component XCR0 may ever enable. */
	return cpuid_count(0xd, 0).ecx;
}

void hw_context_init(struct hw_context *c)
{
	u8 *area = c->xstate;

	memset(area, 0, hw_context_size());
	*(u16 *)(area + FXSAVE_FCW) = FCW_RESET;
	*(u32 *)(area + FXSAVE_MXCSR) = MXCSR_RESET;
	c->xcr0 = has_xsave() ? xgetbv(0) : 0;
	memset(c->dr, 0, sizeof(c->dr));
}

#define READ_DR(n, out) __asm__ volatile("mov %%dr" #n ", %0" : "=r"(out))
#define WRITE_DR(n, in) __asm__ volatile("mov %0, %%dr" #n ::"r"(in))

void hw_context_save(struct hw_context *c)
{
	if (has_xsave()) {
		c->xcr0 = xgetbv(0);
		/* EDX:EAX all ones: every component XCR0 enables (13.8). */
		__asm__ volatile("xsave64 %0"
				 : "+m"(*(u8(*)[FXSAVE_SIZE])c->xstate)
				 : "a"(~0u), "d"(~0u)
				 : "memory");
	} else {
		__asm__ volatile(
		    "fxsave64 %0"
		    : "=m"(*(u8(*)[FXSAVE_SIZE])c->xstate)::"memory");
	}
	READ_DR(0, c->dr[0]);
	READ_DR(1, c->dr[1]);
	READ_DR(2, c->dr[2]);
	READ_DR(3, c->dr[3]);
}

void hw_context_load(const struct hw_context *c)
{
	if (has_xsave()) {
		/* XCR0 first: XRSTOR restores the components it enables. */
		if (xgetbv(0) != c->xcr0)
			xsetbv(0, c->xcr0);
		__asm__ volatile(
		    "xrstor64 %0" ::"m"(*(const u8(*)[FXSAVE_SIZE])c->xstate),
		    "a"(~0u), "d"(~0u)
		    : "memory");
	} else {
		__asm__ volatile(
		    "fxrstor64 %0" ::"m"(*(const u8(*)[FXSAVE_SIZE])c->xstate)
		    : "memory");
	}
	WRITE_DR(0, c->dr[0]);
	WRITE_DR(1, c->dr[1]);
	WRITE_DR(2, c->dr[2]);
	WRITE_DR(3, c->dr[3]);
}
