/* SPDX-License-Identifier: MIT */
/* Guest page-table walker; see guest_walk.h. */
#include "core/guest_walk.h"

/* Architectural bits used by the walk (SDM Vol. 3A 2.5, 4.1). */
#define WALK_CR0_PG   BIT(31)
#define WALK_CR4_PSE  BIT(4)
#define WALK_CR4_PAE  BIT(5)
#define WALK_CR4_LA57 BIT(12)
#define WALK_EFER_LMA BIT(10)

#define PTE_PRESENT   BIT(0)
#define PTE_PAGE_SIZE BIT(7)
/* Bits 51:12: the address field of PAE / 4-level entries (4.4.2, 4.5.4). */
#define PTE_ADDR_MASK 0x000ffffffffff000ull

static enum guest_walk_result read_entry(guest_memory_fn memory, void *opaque,
					 u64 gpa, u32 size, u64 *entry)
{
	const void *p = memory(opaque, gpa, size);
	if (!p)
		return GUEST_WALK_BAD_TABLE;
	if (size == 4)
		*entry = *(const u32 *)p;
	else
		*entry = *(const u64 *)p;
	return (*entry & PTE_PRESENT) ? GUEST_WALK_OK : GUEST_WALK_NOT_PRESENT;
}

/* 32-bit paging: a 2-level walk of 4-byte entries (SDM Vol. 3A 4.3). */
static enum guest_walk_result walk_32bit(const struct guest_paging *paging,
					 u32 la, guest_memory_fn memory,
					 void *opaque, u64 *gpa_out)
{
	u64 pde, pte;
	u64 pde_addr = (paging->cr3 & 0xfffff000ull) + ((la >> 22) & 0x3ff) * 4;
	enum guest_walk_result r =
	    read_entry(memory, opaque, pde_addr, 4, &pde);
	if (r)
		return r;
	if ((paging->cr4 & WALK_CR4_PSE) && (pde & PTE_PAGE_SIZE)) {
		/* 4 MiB page; PDE bits 20:13 are physical bits 39:32. */
		u64 high = (pde >> 13) & 0xff;
		*gpa_out =
		    (pde & 0xffc00000ull) | (high << 32) | (la & 0x3fffffu);
		return GUEST_WALK_OK;
	}
	u64 pte_addr = (pde & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4;
	r = read_entry(memory, opaque, pte_addr, 4, &pte);
	if (r)
		return r;
	*gpa_out = (pte & 0xfffff000ull) | (la & 0xfffu);
	return GUEST_WALK_OK;
}

/*
 * PAE and 4-level paging share the 8-byte entry format below the PDPT;
 * `level` is where the walk starts (4 = PML4, 2 = PD) and `table` the
 * guest-physical address of that table.
 */
static enum guest_walk_result walk_8byte(u64 table, int level, u64 la,
					 guest_memory_fn memory, void *opaque,
					 u64 *gpa_out)
{
	for (;; level--) {
		u32 shift = 12 + 9 * (level - 1);
		u64 entry;
		enum guest_walk_result r =
		    read_entry(memory, opaque,
			       table + ((la >> shift) & 0x1ff) * 8, 8, &entry);
		if (r)
			return r;
		/* PS in a PDPTE (1 GiB) or PDE (2 MiB) ends the walk. */
		if (level == 1 ||
		    ((level == 2 || level == 3) && (entry & PTE_PAGE_SIZE))) {
			u64 page_mask = (1ull << shift) - 1;
			*gpa_out = (entry & PTE_ADDR_MASK & ~page_mask) |
				   (la & page_mask);
			return GUEST_WALK_OK;
		}
		table = entry & PTE_ADDR_MASK;
	}
}

enum guest_walk_result guest_walk(const struct guest_paging *paging, u64 la,
				  guest_memory_fn memory, void *opaque,
				  u64 *gpa_out)
{
	if (!(paging->cr0 & WALK_CR0_PG)) {
		/* Outside long mode linear addresses are 32 bits. */
		*gpa_out = (paging->efer & WALK_EFER_LMA) ? la : (u32)la;
		return GUEST_WALK_OK;
	}
	if (!(paging->cr4 & WALK_CR4_PAE))
		return walk_32bit(paging, (u32)la, memory, opaque, gpa_out);
	if (!(paging->efer & WALK_EFER_LMA)) {
		/* PAE: CR3 bits 31:5 locate the 4-entry PDPT (4.4.1). */
		u64 pdpte;
		u64 addr =
		    (paging->cr3 & 0xffffffe0ull) + (((u32)la >> 30) & 3) * 8;
		enum guest_walk_result r =
		    read_entry(memory, opaque, addr, 8, &pdpte);
		if (r)
			return r;
		return walk_8byte(pdpte & PTE_ADDR_MASK, 2, (u32)la, memory,
				  opaque, gpa_out);
	}
	if (paging->cr4 & WALK_CR4_LA57) {
		/* 5-level paging: bits 63:56 equal bit 56 (SDM Vol. 3A 4.5). */
		u64 top = la >> 56;
		if (top != 0 && top != 0xff)
			return GUEST_WALK_NONCANONICAL;
		return walk_8byte(paging->cr3 & PTE_ADDR_MASK, 5, la, memory,
				  opaque, gpa_out);
	}
	/* Bits 63:47 must all equal bit 47 (SDM Vol. 1 3.3.7.1). */
	u64 top = la >> 47;
	if (top != 0 && top != 0x1ffff)
		return GUEST_WALK_NONCANONICAL;
	return walk_8byte(paging->cr3 & PTE_ADDR_MASK, 4, la, memory, opaque,
			  gpa_out);
}

const char *guest_walk_result_string(enum guest_walk_result result)
{
	switch (result) {
	case GUEST_WALK_OK:
		return "translated";
	case GUEST_WALK_NOT_PRESENT:
		return "a guest paging-structure entry is not present";
	case GUEST_WALK_BAD_TABLE:
		return "a guest page table lies outside guest RAM";
	case GUEST_WALK_NONCANONICAL:
		return "the linear address is not canonical";
	}
	return "unknown guest walk result";
}
