/* SPDX-License-Identifier: MIT */
/*
 * The parts of the ELF format the guest loader reads: file header and
 * program headers, 32- and 64-bit.  Field layout and values are those of
 * the System V ABI (generic ABI, "ELF Header" and "Program Header"
 * chapters); all multi-byte fields are little-endian for x86.
 */
#ifndef VENEER_CORE_ELF_SPEC_H
#define VENEER_CORE_ELF_SPEC_H

#include "core/lib/types.h"

/* e_ident[] indices and values. */
#define ELF_IDENT_SIZE	    16
#define ELF_IDENT_CLASS	    4
#define ELF_IDENT_DATA	    5
#define ELF_IDENT_VERSION   6
#define ELF_MAGIC0	    0x7f
#define ELF_MAGIC1	    'E'
#define ELF_MAGIC2	    'L'
#define ELF_MAGIC3	    'F'
#define ELF_CLASS_32	    1
#define ELF_CLASS_64	    2
#define ELF_DATA_LSB	    1 /* two's complement, little-endian */
#define ELF_VERSION_CURRENT 1

/* e_type */
#define ELF_TYPE_EXEC 2
#define ELF_TYPE_DYN  3

/* e_machine */
#define ELF_MACHINE_386	   3
#define ELF_MACHINE_X86_64 62

/* e_phnum value meaning "the real count is in section header 0". */
#define ELF_PN_XNUM 0xffff

/* p_type */
#define ELF_PT_NULL    0
#define ELF_PT_LOAD    1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP  3
#define ELF_PT_NOTE    4

struct elf32_header {
	u8 e_ident[ELF_IDENT_SIZE];
	u16 e_type;
	u16 e_machine;
	u32 e_version;
	u32 e_entry;
	u32 e_phoff;
	u32 e_shoff;
	u32 e_flags;
	u16 e_ehsize;
	u16 e_phentsize;
	u16 e_phnum;
	u16 e_shentsize;
	u16 e_shnum;
	u16 e_shstrndx;
} __packed;

struct elf64_header {
	u8 e_ident[ELF_IDENT_SIZE];
	u16 e_type;
	u16 e_machine;
	u32 e_version;
	u64 e_entry;
	u64 e_phoff;
	u64 e_shoff;
	u32 e_flags;
	u16 e_ehsize;
	u16 e_phentsize;
	u16 e_phnum;
	u16 e_shentsize;
	u16 e_shnum;
	u16 e_shstrndx;
} __packed;

struct elf32_phdr {
	u32 p_type;
	u32 p_offset;
	u32 p_vaddr;
	u32 p_paddr;
	u32 p_filesz;
	u32 p_memsz;
	u32 p_flags;
	u32 p_align;
} __packed;

struct elf64_phdr {
	u32 p_type;
	u32 p_flags;
	u64 p_offset;
	u64 p_vaddr;
	u64 p_paddr;
	u64 p_filesz;
	u64 p_memsz;
	u64 p_align;
} __packed;

_Static_assert(sizeof(struct elf32_header) == 52, "ELF32 header is 52 bytes");
_Static_assert(sizeof(struct elf64_header) == 64, "ELF64 header is 64 bytes");
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 phdr is 32 bytes");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 phdr is 56 bytes");

#endif /* VENEER_CORE_ELF_SPEC_H */
