/* SPDX-License-Identifier: MIT */
/*
 * Application processors for the 32-bit test guests: the MADT's local
 * APICs and the AP start-up trampoline (ap.h).
 */
#include "tests/guests/lib/ap.h"

/* ACPI (ACPI 6.5 5.2.5 RSDP, 5.2.7 RSDT, 5.2.12 MADT). */
#define BIOS_AREA	   0xe0000UL
#define BIOS_AREA_END	   0x100000UL
#define RSDP_V1_SIZE	   20
#define RSDP_RSDT	   16
#define SDT_LENGTH	   4
#define SDT_HEADER_SIZE	   36
#define MADT_LAPIC_ADDRESS 36
#define MADT_ENTRIES	   44
#define MADT_LAPIC	   0 /* Processor Local APIC, 8 bytes */
#define MADT_X2APIC	   9 /* Processor Local x2APIC, 16 bytes */
#define MADT_ENABLED	   BIT(0)

/* Initial APIC IDs are 8 bits (CPUID.01H:EBX[31:24]). */
#define AP_STACK_SLOTS 256

/* ---- the MADT ---- */

static u32 read32(uintptr_t a)
{
	return *(const volatile u32 *)a;
}

static u8 read8(uintptr_t a)
{
	return *(const volatile u8 *)a;
}

static bool same(uintptr_t a, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (read8(a + i) != (u8)s[i])
			return false;
	return true;
}

/* The RSDP: signature "RSD PTR " on a 16-byte boundary, the first 20
 * bytes summing to 0 (ACPI 6.5 5.2.5.1, 5.2.5.3). */
static uintptr_t find_rsdp(void)
{
	for (uintptr_t a = BIOS_AREA; a < BIOS_AREA_END; a += 16) {
		u8 sum = 0;

		if (!same(a, "RSD PTR ", 8))
			continue;
		for (u32 i = 0; i < RSDP_V1_SIZE; i++)
			sum += read8(a + i);
		if (sum == 0)
			return a;
	}
	return 0;
}

static const char *add_id(struct ap_madt *m, u32 apic_id)
{
	for (u32 i = 0; i < m->count; i++)
		if (m->apic_id[i] == apic_id)
			return NULL; /* listed as LAPIC and as x2APIC */
	if (m->count == AP_MADT_MAX)
		return "more than 16 enabled local APICs";
	m->apic_id[m->count++] = apic_id;
	return NULL;
}

const char *ap_madt_read(struct ap_madt *m)
{
	uintptr_t rsdp = find_rsdp(), rsdt, madt = 0, p, end;
	u32 len, bsp_id = cpuid(1, 0).ebx >> 24, bsp_at;
	const char *error = NULL;

	m->count = 0;
	m->lapic_address = 0;
	if (!rsdp)
		return "no RSDP in 0xE0000-0xFFFFF";
	rsdt = read32(rsdp + RSDP_RSDT);
	len = read32(rsdt + SDT_LENGTH);
	for (u32 off = SDT_HEADER_SIZE; off + 4 <= len; off += 4) {
		uintptr_t t = read32(rsdt + off);

		if (same(t, "APIC", 4))
			madt = t;
	}
	if (!madt)
		return "the RSDT lists no MADT (signature APIC)";
	m->lapic_address = read32(madt + MADT_LAPIC_ADDRESS);
	end = madt + read32(madt + SDT_LENGTH);
	for (p = madt + MADT_ENTRIES; p + 2 <= end && !error;
	     p += read8(p + 1)) {
		u8 type = read8(p), size = read8(p + 1);

		if (size < 2 || p + size > end)
			return "a MADT entry's length runs past the table";
		if (type == MADT_LAPIC && size >= 8 &&
		    (read32(p + 4) & MADT_ENABLED))
			error = add_id(m, read8(p + 3));
		if (type == MADT_X2APIC && size >= 16 &&
		    (read32(p + 8) & MADT_ENABLED))
			error = add_id(m, read32(p + 4));
	}
	if (error)
		return error;
	for (bsp_at = 0; bsp_at < m->count; bsp_at++)
		if (m->apic_id[bsp_at] == bsp_id)
			break;
	if (bsp_at == m->count)
		return "the boot CPU's APIC ID is not listed";
	m->apic_id[bsp_at] = m->apic_id[0];
	m->apic_id[0] = bsp_id;
	return NULL;
}

/* ---- the trampoline ---- */

/* Read by ap_entry32: the stack top for each initial APIC ID (0: that
 * processor halts). */
u32 ap_stack_top[AP_STACK_SLOTS];
static ap_main_fn ap_main;
static struct {
	u16 limit;
	u32 base;
} __attribute__((packed)) ap_idtr;

void ap_entry(u32 apic_id);
extern const char ap_trampoline[], ap_trampoline_end[];

/*
 * The AP trampoline, copied to AP_TRAMPOLINE_GPA: real mode with CS = the
 * page's segment. It loads a flat GDT (the same selectors as
 * lib/entry32.S, so the IDT's gates stay valid), sets CR0.PE and jumps to
 * 32-bit code in the image (SDM Vol. 3A 9.9.1). The GDTR holds a 32-bit
 * linear address (lgdtl) and is reached DS-relative, so the copy runs
 * anywhere. ap_entry32 takes its stack from ap_stack_top by the initial
 * APIC ID (CPUID.01H:EBX[31:24]) and calls ap_entry(id).
 */
__asm__("	.pushsection .text.ap_trampoline, \"ax\", @progbits\n"
	"	.globl ap_trampoline, ap_trampoline_end\n"
	"	.code16\n"
	"ap_trampoline:\n"
	"	cli\n"
	"	movw %cs, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl ap_trampoline_gdtr - ap_trampoline\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $ap_entry32\n"
	"	.balign 8\n"
	"ap_trampoline_gdtr:\n"
	"	.word ap_gdt_end - ap_gdt - 1\n"
	"	.long ap_gdt\n"
	"ap_trampoline_end:\n"
	"	.code32\n"
	"ap_entry32:\n"
	"	movw $0x10, %ax\n"
	"	movw %ax, %ds\n"
	"	movw %ax, %es\n"
	"	movw %ax, %fs\n"
	"	movw %ax, %gs\n"
	"	movw %ax, %ss\n"
	"	movl $1, %eax\n"
	"	cpuid\n"
	"	shrl $24, %ebx\n"
	"	movl ap_stack_top(,%ebx,4), %esp\n"
	"	testl %esp, %esp\n"
	"	jz 2f\n"
	"	xorl %ebp, %ebp\n"
	"	pushl $0\n" /* EFLAGS: IF and DF clear */
	"	popfl\n"
	"	pushl %ebx\n"
	"	call ap_entry\n"
	"2:	cli\n"
	"	hlt\n"
	"	jmp 2b\n"
	"	.balign 8\n"
	"ap_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n" /* 0x08: flat code */
	"	.quad 0x00cf92000000ffff\n" /* 0x10: flat data */
	"ap_gdt_end:\n"
	"	.popsection\n");

void ap_entry(u32 apic_id)
{
	__asm__ volatile("lidt %0" : : "m"(ap_idtr));
	if (ap_main)
		ap_main(apic_id);
}

u32 ap_trampoline_size(void)
{
	return (u32)(ap_trampoline_end - ap_trampoline);
}

static bool overlaps(u32 a, u32 a_len, u32 b, u32 b_len)
{
	return a < b + b_len && b < a + a_len;
}

bool ap_trampoline_fits(const struct multiboot_info *mbi)
{
	u32 size = ap_trampoline_size();
	const char *cmdline = guest_cmdline(mbi);

	return !overlaps(AP_TRAMPOLINE_GPA, size, (u32)(uintptr_t)mbi,
			 sizeof(*mbi)) &&
	       !overlaps(AP_TRAMPOLINE_GPA, size, (u32)(uintptr_t)cmdline,
			 (u32)str_len(cmdline) + 1) &&
	       !((mbi->flags & MBI_FLAG_MMAP) &&
		 overlaps(AP_TRAMPOLINE_GPA, size, mbi->mmap_addr,
			  mbi->mmap_length));
}

void ap_prepare(ap_main_fn main)
{
	__asm__ volatile("sidt %0" : "=m"(ap_idtr));
	ap_main = main;
	memcpy((void *)AP_TRAMPOLINE_GPA, ap_trampoline, ap_trampoline_size());
}

void ap_set_stack(u32 apic_id, void *stack_top)
{
	if (apic_id < AP_STACK_SLOTS)
		ap_stack_top[apic_id] = (u32)(uintptr_t)stack_top;
}
