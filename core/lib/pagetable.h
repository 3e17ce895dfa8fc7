/* SPDX-License-Identifier: MIT */
/*
 * The one page-table engine: x86-64 4-level host paging, Intel EPT, AMD
 * NPT and the two IOMMUs' DMA page tables (VT-d second-level, AMD-Vi) are
 * the same radix tree of 4 KiB tables with 512 8-byte entries; they
 * differ only in how an entry encodes "present", permissions, large pages
 * and memory type.  A struct pt_format describes that encoding and the
 * engine never looks at anything else.
 *
 * Levels are numbered as the manuals do, from the leaf up:
 *   level 4: PML4  (512 GiB per entry, never a leaf)
 *   level 3: PDPT  (1 GiB per entry, a leaf only if the format allows it)
 *   level 2: PD    (2 MiB per entry, a leaf when bit 7 is set)
 *   level 1: PT    (4 KiB per entry, always a leaf)
 *
 * "Input address" is a host-virtual address for host paging and a
 * guest-physical address for EPT/NPT; "output address" is always
 * host-physical.  Tables are reached through the caller's phys_to_virt(),
 * so the same code runs in the hypervisor (identity map) and in host unit
 * tests (a pool of malloc'd pages behind fake physical addresses).
 *
 * The engine changes memory only: flushing TLBs and paging-structure
 * caches (INVLPG, INVEPT, an ASID flush) after a change to a live address
 * space is the caller's job.  pt_map() and pt_unmap() give tables they no
 * longer need back to free_table() at once, so the caller must flush
 * before such a page can be handed out again.  No locking: one caller at
 * a time per address space.
 */
#ifndef VENEER_CORE_LIB_PAGETABLE_H
#define VENEER_CORE_LIB_PAGETABLE_H

#include "core/lib/types.h"

#define PT_LEVELS     4
#define PT_ENTRIES    512
#define PT_TABLE_SIZE 4096ull

/* Bytes mapped by one entry of a table at `level` (1..4). */
#define PT_LEVEL_SIZE(level) (1ull << (12 + 9 * ((level)-1)))

/* Access flags of pt_map() / pt_protect(), and what pt_translate() reports. */
#define PT_R	     BIT(0) /* readable; required for every mapping */
#define PT_W	     BIT(1) /* writable */
#define PT_X	     BIT(2) /* executable */
#define PT_USER	     BIT(3) /* user (CPL 3) access: host format; implied by NPT */
#define PT_UC	     BIT(4) /* uncached (device memory); write-back otherwise */
#define PT_FLAGS_ALL (PT_R | PT_W | PT_X | PT_USER | PT_UC)

/* Bit i set: a level-i entry may be a leaf. */
#define PT_LEAF_4K BIT(1)
#define PT_LEAF_2M BIT(2)
#define PT_LEAF_1G BIT(3)

struct pt_format {
	const char *name;
	/* PT_LEAF_* bits.  4 KiB leaves are always used; 1 GiB leaves only
	 * when 2 MiB ones are allowed too (a split needs them). */
	u32 leaf_levels;
	u64 addr_mask;	  /* entry bits that hold the output address */
	u64 present_mask; /* an entry is in use when any of these is set */
	u64 table_bits;	  /* bits of an entry pointing to a next table */
	u64 large_bit;	  /* marks a leaf at level 2 or 3 (bit 7) */
	u64 leaf_bits;	  /* set in every leaf (x86 P, NPT U/S) */
	u64 read_bit;	  /* set for PT_R (EPT R; x86 uses P in leaf_bits) */
	u64 write_bit;	  /* set for PT_W */
	/* Execution: exec_bit is set for PT_X (EPT X), noexec_bit without it
	 * (x86 NX, bit 63).  With both 0 (a CPU without NX) every page is
	 * executable, PT_X is implied and pt_translate() reports it. */
	u64 exec_bit;
	u64 noexec_bit;
	u64 user_bit;	  /* set for PT_USER, or 0 when the format has none */
	u64 memtype_mask; /* every memory-type bit of a leaf */
	u64 memtype_wb;	  /* leaf bits for write-back */
	u64 memtype_uc;	  /* leaf bits for uncached */
	bool sign_extend; /* input addresses are canonical (host paging) */
	/* AMD-Vi: an entry pointing to a table at level L - 1 holds L - 1 in
	 * a 3-bit field at this shift (its Next Level); 0: no such field. */
	u8 next_level_shift;
};

/*
 * Stock formats.  All allow 2 MiB and 4 KiB leaves; copy one and add
 * PT_LEAF_1G to leaf_levels when the CPU supports 1 GiB pages (CPUID
 * 0x80000001 EDX bit 26 for host paging and NPT, IA32_VMX_EPT_VPID_CAP
 * bit 17 for EPT), and narrow addr_mask to MAXPHYADDR if wanted.
 */
extern const struct pt_format pt_format_x86_host;
extern const struct pt_format pt_format_ept;
extern const struct pt_format pt_format_npt;
/*
 * The IOMMUs' formats, for DMA: no execute permission, no memory type
 * (PT_X is implied and PT_UC changes nothing: DMA snoops the caches).
 * VT-d allows 2 MiB leaves; a driver whose unit lacks them (CAP.SLLPS)
 * copies the format without PT_LEAF_2M. AMD-Vi uses 4 KiB leaves only.
 */
extern const struct pt_format pt_format_vtd;
extern const struct pt_format pt_format_amdvi;

struct pt_ctx {
	const struct pt_format *fmt;
	u64 root; /* host-physical address of the level-4 table */
	/* A pointer through which the table at host-physical hpa is reached. */
	void *(*phys_to_virt)(u64 hpa);
	/* One 4 KiB-aligned page for a table (the engine zeroes it). */
	bool (*alloc_table)(void *opaque, u64 *hpa_out);
	/* Gives back a page alloc_table() returned. */
	void (*free_table)(void *opaque, u64 hpa);
	void *opaque;
	/* Input address where the last failing call stopped (see pt_map). */
	u64 error_addr;
};

enum pt_error {
	PT_OK = 0,
	PT_ERR_ALIGN = -1,	/* address or size not 4 KiB aligned, or 0 */
	PT_ERR_RANGE = -2,	/* input or output range outside the format */
	PT_ERR_FLAGS = -3,	/* flags the format cannot encode */
	PT_ERR_NOMEM = -4,	/* alloc_table() failed */
	PT_ERR_NOT_MAPPED = -5, /* pt_protect() over a hole */
	PT_ERR_CTX = -6,	/* missing callback or no root table */
};

/* A sentence naming the error, for messages. */
const char *pt_error_string(int err);

/*
 * Allocates and zeroes the root table.  fmt, phys_to_virt, alloc_table and
 * free_table must be set.  Returns PT_OK, PT_ERR_CTX or PT_ERR_NOMEM.
 */
int pt_create(struct pt_ctx *ctx);

/* Frees every table including the root and sets root to 0. */
void pt_destroy(struct pt_ctx *ctx);

/*
 * Maps input [va, va+size) to output [pa, pa+size) with the largest leaves
 * that the alignment of va and pa and the remaining size allow, replacing
 * whatever was mapped there (a large leaf partly covered is split first; a
 * table wholly covered by a new leaf is freed).  va, pa, size: 4 KiB
 * aligned, size > 0.  On PT_ERR_NOMEM, [va, ctx->error_addr) is mapped and
 * the rest of the range is unchanged.
 */
int pt_map(struct pt_ctx *ctx, u64 va, u64 pa, u64 size, u32 flags);

/*
 * Removes every mapping in [va, va+size) (holes are fine), splitting large
 * leaves that stick out of the range and freeing tables left empty.  Can
 * only fail with PT_ERR_NOMEM while splitting: then [va, ctx->error_addr)
 * is unmapped and the rest unchanged.
 */
int pt_unmap(struct pt_ctx *ctx, u64 va, u64 size);

/*
 * Sets the flags of every mapping in [va, va+size), keeping the output
 * addresses.  The whole range must be mapped (PT_ERR_NOT_MAPPED names the
 * first hole in ctx->error_addr, and nothing is changed).  On PT_ERR_NOMEM
 * [va, ctx->error_addr) has the new flags.
 */
int pt_protect(struct pt_ctx *ctx, u64 va, u64 size, u32 flags);

/*
 * Looks up input address va.  Returns false when it is not mapped; else
 * fills whichever of pa (the output address of va itself), flags (PT_*) and
 * page_size (of the leaf) are not NULL.
 */
bool pt_translate(const struct pt_ctx *ctx, u64 va, u64 *pa, u32 *flags,
		  u64 *page_size);

/* Table pages in use, root included: the cost of this address space. */
u64 pt_count_tables(const struct pt_ctx *ctx);

#endif /* VENEER_CORE_LIB_PAGETABLE_H */
