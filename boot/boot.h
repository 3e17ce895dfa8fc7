/* SPDX-License-Identifier: MIT */
/*
 * Constants shared by the boot assembly and C: multiboot header values,
 * early selectors, the AP trampoline's data block.
 */
#ifndef VENEER_BOOT_BOOT_H
#define VENEER_BOOT_BOOT_H

/* Multiboot1 header (spec 0.6.96 3.1.1): page-align modules, want memory
 * info, address fields valid (bit 16: QEMU needs them for an ELF64). */
#define MB1_HEADER_MAGIC 0x1BADB002
#define MB1_HEADER_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))
/* Multiboot2 header magic (spec 2.0 3.1.1). */
#define MB2_HEADER_MAGIC 0xE85250D6

#define PTE_P  (1 << 0)
#define PTE_W  (1 << 1)
#define PTE_PS (1 << 7)

#define BOOT_CS64 0x08
#define BOOT_DS	  0x10

#define BOOT_STACK_SIZE 16384

/*
 * The AP trampoline's data block sits at the end of the trampoline page;
 * the boot CPU fills it before each INIT-SIPI-SIPI (arch/x86/smp.c).
 */
#define TRAMP_DATA_OFFSET 0xf00
#define TRAMP_CR3	  (TRAMP_DATA_OFFSET + 0x00) /* u32: host CR3 (< 4 GiB) */
#define TRAMP_ENTRY	  (TRAMP_DATA_OFFSET + 0x08) /* u64: 64-bit C entry */
#define TRAMP_STACK	  (TRAMP_DATA_OFFSET + 0x10) /* u64: initial RSP */
#define TRAMP_ARG	  (TRAMP_DATA_OFFSET + 0x18) /* u64: argument (percpu) */
#define TRAMP_GDTR	  (TRAMP_DATA_OFFSET + 0x20) /* 6 bytes: limit + base */
#define TRAMP_FAR32	  (TRAMP_DATA_OFFSET + 0x28) /* 6 bytes: 32-bit far ptr */
#define TRAMP_FAR64	  (TRAMP_DATA_OFFSET + 0x30) /* 6 bytes: 64-bit far ptr */
#define TRAMP_EFER	  (TRAMP_DATA_OFFSET + 0x38) /* u32: EFER low bits */
#define TRAMP_GDT	  (TRAMP_DATA_OFFSET + 0x40) /* 4 descriptors */

#define TRAMP_SEL_CODE32 0x08
#define TRAMP_SEL_DATA	 0x10
#define TRAMP_SEL_CODE64 0x18

#endif /* VENEER_BOOT_BOOT_H */
