/* SPDX-License-Identifier: MIT */
/*
 * The host's own page tables: identity map of RAM and the MMIO below
 * 4 GiB; hypervisor text read-only + executable, everything else
 * non-executable; page 0 unmapped so NULL dereferences fault.
 */
#ifndef VENEER_ARCH_X86_PAGING_H
#define VENEER_ARCH_X86_PAGING_H

#include "core/bootinfo.h"

/* Build the host tables from the (sanitized) map and switch CR3 to them. */
void paging_init(const struct mem_range *map, u32 count);

/*
 * Change the permissions of host range [base, base+size) (PT_* flags of
 * core/lib/pagetable.h); e.g. the AP trampoline page must be executable.
 */
void paging_protect(u64 base, u64 size, u32 flags);

/* Host page-table pages in use (for the size report). */
u64 paging_table_pages(void);

#endif /* VENEER_ARCH_X86_PAGING_H */
