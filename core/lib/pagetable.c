/* SPDX-License-Identifier: MIT */
/*
 * The one page-table engine (see pagetable.h for the level numbering and
 * the contract of each call).
 */
#include "core/lib/pagetable.h"
#include "core/lib/string.h"

/* Output address bits 51:12, the widest any x86-64 CPU has. */
#define ADDR_MASK_52 0x000FFFFFFFFFF000ull
/* Four levels of 9 index bits over a 12-bit page offset. */
#define INPUT_BITS 48
#define INPUT_MASK ((1ull << INPUT_BITS) - 1)

/* x86-64 paging entries: SDM Vol. 3A 4.5, Tables 4-15 to 4-20. */
#define X86_PRESENT  BIT(0)
#define X86_WRITE    BIT(1)
#define X86_USER     BIT(2)
#define X86_PWT	     BIT(3)
#define X86_PCD	     BIT(4)
#define X86_PAGESIZE BIT(7)
#define X86_NX	     BIT(63) /* needs EFER.NXE, else the bit is reserved */

/* EPT entries: SDM Vol. 3C 28.2.2, Tables 28-1 to 28-6. */
#define EPT_READ	  BIT(0)
#define EPT_WRITE	  BIT(1)
#define EPT_EXEC	  BIT(2)
#define EPT_MEMTYPE_SHIFT 3
#define EPT_MEMTYPE_UC	  0ull
#define EPT_MEMTYPE_WB	  6ull
#define EPT_IGNORE_PAT	  BIT(6)
#define EPT_PAGESIZE	  BIT(7)

/*
 * Host paging.  Non-leaf entries grant everything (P, R/W, U/S, no NX):
 * the access rights of a translation are the AND of all levels (SDM Vol. 3A
 * 4.6.1), so only the leaf decides.  Uncached is PCD|PWT, which selects PAT
 * entry 3, UC in the power-up PAT (SDM Vol. 3A 11.12.4); write-back is PAT
 * entry 0.  The engine never sets the PAT bit itself, which is why a large
 * leaf (PAT at bit 12) can be split into 4 KiB leaves (PAT at bit 7) by
 * only clearing the page-size bit.
 */
const struct pt_format pt_format_x86_host = {
    .name = "x86-64 paging",
    .leaf_levels = PT_LEAF_4K | PT_LEAF_2M,
    .addr_mask = ADDR_MASK_52,
    .present_mask = X86_PRESENT,
    .table_bits = X86_PRESENT | X86_WRITE | X86_USER,
    .large_bit = X86_PAGESIZE,
    .leaf_bits = X86_PRESENT,
    .read_bit = 0, /* present implies readable */
    .write_bit = X86_WRITE,
    .exec_bit = 0,
    .noexec_bit = X86_NX,
    .user_bit = X86_USER,
    .memtype_mask = X86_PCD | X86_PWT,
    .memtype_wb = 0,
    .memtype_uc = X86_PCD | X86_PWT,
    .sign_extend = true,
};

/*
 * EPT.  An entry is present when any of R/W/X is set (SDM Vol. 3C 28.2.2).
 * Non-leaf entries have R/W/X and reserved (zero) bits 7:3.  A write-back
 * leaf leaves "ignore PAT" clear so the guest's PAT still refines the type,
 * as the MTRRs would on bare metal; an uncached leaf sets it so that the
 * guest cannot make device memory cacheable (SDM Vol. 3C 28.2.6.2).
 */
const struct pt_format pt_format_ept = {
    .name = "EPT",
    .leaf_levels = PT_LEAF_4K | PT_LEAF_2M,
    .addr_mask = ADDR_MASK_52,
    .present_mask = EPT_READ | EPT_WRITE | EPT_EXEC,
    .table_bits = EPT_READ | EPT_WRITE | EPT_EXEC,
    .large_bit = EPT_PAGESIZE,
    .leaf_bits = 0,
    .read_bit = EPT_READ,
    .write_bit = EPT_WRITE,
    .exec_bit = EPT_EXEC,
    .noexec_bit = 0,
    .user_bit = 0,
    .memtype_mask = (7ull << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT,
    .memtype_wb = EPT_MEMTYPE_WB << EPT_MEMTYPE_SHIFT,
    .memtype_uc = (EPT_MEMTYPE_UC << EPT_MEMTYPE_SHIFT) | EPT_IGNORE_PAT,
    .sign_extend = false,
};

/*
 * AMD NPT: the long-mode format, walked with guest-physical input.  Every
 * nested walk counts as a user access, so every entry, leaf or not, has
 * U/S=1 (APM Vol. 2 15.25.5).  PT_USER is therefore always true and
 * accepted as a no-op.
 */
const struct pt_format pt_format_npt = {
    .name = "NPT",
    .leaf_levels = PT_LEAF_4K | PT_LEAF_2M,
    .addr_mask = ADDR_MASK_52,
    .present_mask = X86_PRESENT,
    .table_bits = X86_PRESENT | X86_WRITE | X86_USER,
    .large_bit = X86_PAGESIZE,
    .leaf_bits = X86_PRESENT | X86_USER,
    .read_bit = 0,
    .write_bit = X86_WRITE,
    .exec_bit = 0,
    .noexec_bit = X86_NX,
    .user_bit = X86_USER,
    .memtype_mask = X86_PCD | X86_PWT,
    .memtype_wb = 0,
    .memtype_uc = X86_PCD | X86_PWT,
    .sign_extend = false,
};

/*
 * VT-d second-level paging entries (VT-d spec 9.8, "Second-Level Paging
 * Entries"): R bit 0, W bit 1, PS bit 7 in a 2 MiB or 1 GiB leaf, the
 * address in bits 51:12; an entry with neither R nor W is not present.
 * Non-leaf entries grant both: access is the AND of every level (3.7).
 * The execute bit and the memory-type bits are left 0: they only take
 * effect with capabilities (ECAP) Veneer does not turn on.
 */
#define VTD_READ     BIT(0)
#define VTD_WRITE    BIT(1)
#define VTD_PAGESIZE BIT(7)

const struct pt_format pt_format_vtd = {
    .name = "VT-d",
    .leaf_levels = PT_LEAF_4K | PT_LEAF_2M,
    .addr_mask = ADDR_MASK_52,
    .present_mask = VTD_READ | VTD_WRITE,
    .table_bits = VTD_READ | VTD_WRITE,
    .large_bit = VTD_PAGESIZE,
    .leaf_bits = 0,
    .read_bit = VTD_READ,
    .write_bit = VTD_WRITE,
    .sign_extend = false,
};

/*
 * AMD-Vi I/O page tables (AMD I/O Virtualization Technology (IOMMU)
 * Specification 2.2.3, "I/O Page Tables for Host Translations"): PR bit
 * 0, Next Level bits 11:9 (the level of the table the entry points to; 0
 * in a page table entry), the address in bits 51:12, IR bit 61 and IW bit
 * 62 at every level, ANDed along the walk. Only 4 KiB leaves: a larger
 * page would be a Next Level 0 entry above level 1, which the engine's
 * page-size bit cannot say.
 */
#define AMDVI_PRESENT	 BIT(0)
#define AMDVI_NEXT_SHIFT 9
#define AMDVI_IR	 BIT(61)
#define AMDVI_IW	 BIT(62)

const struct pt_format pt_format_amdvi = {
    .name = "AMD-Vi",
    .leaf_levels = PT_LEAF_4K,
    .addr_mask = ADDR_MASK_52,
    .present_mask = AMDVI_PRESENT,
    .table_bits = AMDVI_PRESENT | AMDVI_IR | AMDVI_IW,
    .large_bit = 0,
    .leaf_bits = AMDVI_PRESENT,
    .read_bit = AMDVI_IR,
    .write_bit = AMDVI_IW,
    .sign_extend = false,
    .next_level_shift = AMDVI_NEXT_SHIFT,
};

const char *pt_error_string(int err)
{
	switch (err) {
	case PT_OK:
		return "success";
	case PT_ERR_ALIGN:
		return "address or size is not 4 KiB aligned, or the size is 0";
	case PT_ERR_RANGE:
		return "range is outside what the page-table format can map";
	case PT_ERR_FLAGS:
		return "access flags cannot be encoded in this page-table "
		       "format";
	case PT_ERR_NOMEM:
		return "out of memory for page tables";
	case PT_ERR_NOT_MAPPED:
		return "range contains an unmapped page";
	case PT_ERR_CTX:
		return "page-table context is incomplete (callback or root)";
	}
	return "unknown page-table error";
}

/* ---- entries ---- */

static unsigned index_at(u64 va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

static u64 *table_at(const struct pt_ctx *ctx, u64 table_hpa)
{
	return ctx->phys_to_virt(table_hpa);
}

/*
 * A hardware walker (another CPU, or the CPU running this guest) may read
 * an entry at any time: write it with one 64-bit store.
 */
static void write_entry(u64 *entry, u64 value)
{
	*(volatile u64 *)entry = value;
}

static bool entry_present(const struct pt_format *fmt, u64 e)
{
	return (e & fmt->present_mask) != 0;
}

/* Level 1 entries are always leaves; above, the page-size bit says so. */
static bool entry_is_leaf(const struct pt_format *fmt, u64 e, int level)
{
	return level == 1 || (e & fmt->large_bit);
}

/* The entry at `level` that points to the table at table_hpa. */
static u64 table_entry(const struct pt_format *fmt, u64 table_hpa, int level)
{
	u64 e = table_hpa | fmt->table_bits;

	if (fmt->next_level_shift)
		e |= (u64)(level - 1) << fmt->next_level_shift;
	return e;
}

static u64 table_address(const struct pt_format *fmt, u64 e)
{
	return e & fmt->addr_mask;
}

static u64 leaf_address(const struct pt_format *fmt, u64 e, int level)
{
	return e & fmt->addr_mask & ~(PT_LEVEL_SIZE(level) - 1);
}

static u64 encode_leaf(const struct pt_format *fmt, u64 pa, int level,
		       u32 flags)
{
	u64 e = pa | fmt->leaf_bits;

	if (flags & PT_R)
		e |= fmt->read_bit;
	if (flags & PT_W)
		e |= fmt->write_bit;
	e |= (flags & PT_X) ? fmt->exec_bit : fmt->noexec_bit;
	if (flags & PT_USER)
		e |= fmt->user_bit;
	e |= (flags & PT_UC) ? fmt->memtype_uc : fmt->memtype_wb;
	if (level > 1)
		e |= fmt->large_bit;
	return e;
}

static u32 decode_leaf_flags(const struct pt_format *fmt, u64 e)
{
	u32 flags = 0;

	if (fmt->read_bit == 0 || (e & fmt->read_bit))
		flags |= PT_R;
	if (e & fmt->write_bit)
		flags |= PT_W;
	if (fmt->exec_bit ? (e & fmt->exec_bit) != 0
			  : (e & fmt->noexec_bit) == 0)
		flags |= PT_X;
	if (fmt->user_bit && (e & fmt->user_bit))
		flags |= PT_USER;
	if (fmt->memtype_uc != fmt->memtype_wb &&
	    (e & fmt->memtype_mask) == fmt->memtype_uc)
		flags |= PT_UC;
	return flags;
}

/* ---- argument checks ---- */

static bool ctx_usable(const struct pt_ctx *ctx)
{
	return ctx && ctx->fmt && ctx->phys_to_virt && ctx->alloc_table &&
	       ctx->free_table && ctx->root;
}

static bool is_canonical(u64 va)
{
	return (u64)((i64)(va << (64 - INPUT_BITS)) >> (64 - INPUT_BITS)) == va;
}

/* Checks that input [va, va+size) is one range the 4 levels can index. */
static int check_input(const struct pt_format *fmt, u64 va, u64 size)
{
	u64 last = va + size - 1;

	if (!IS_ALIGNED(va, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) ||
	    size == 0)
		return PT_ERR_ALIGN;
	if (last < va)
		return PT_ERR_RANGE;
	if (fmt->sign_extend) {
		/* Both ends canonical and in the same half: no hole inside. */
		if (!is_canonical(va) || !is_canonical(last) ||
		    ((va ^ last) >> (INPUT_BITS - 1)) & 1)
			return PT_ERR_RANGE;
	} else if (last > INPUT_MASK) {
		return PT_ERR_RANGE;
	}
	return PT_OK;
}

static int check_flags(const struct pt_format *fmt, u32 flags)
{
	if (flags & ~(u32)PT_FLAGS_ALL)
		return PT_ERR_FLAGS;
	/* x86 cannot express write- or execute-only; EPT W without R is a
	 * misconfiguration (SDM Vol. 3C 28.2.3.1).  A format with neither
	 * exec_bit nor noexec_bit (host paging without NX) cannot deny
	 * execution: there every page is executable and PT_X is implied. */
	if (!(flags & PT_R))
		return PT_ERR_FLAGS;
	if ((flags & PT_USER) && !fmt->user_bit)
		return PT_ERR_FLAGS;
	return PT_OK;
}

/* ---- tables ---- */

static int new_table(struct pt_ctx *ctx, u64 *hpa_out)
{
	u64 table_hpa = 0;

	if (!ctx->alloc_table(ctx->opaque, &table_hpa))
		return PT_ERR_NOMEM;
	if (!IS_ALIGNED(table_hpa, PT_TABLE_SIZE) ||
	    (table_hpa & ~ctx->fmt->addr_mask)) {
		ctx->free_table(ctx->opaque, table_hpa);
		return PT_ERR_CTX;
	}
	memset(table_at(ctx, table_hpa), 0, PT_TABLE_SIZE);
	*hpa_out = table_hpa;
	return PT_OK;
}

/* Frees the table at table_hpa (at `level`) and every table below it. */
static void free_subtree(struct pt_ctx *ctx, u64 table_hpa, int level)
{
	const struct pt_format *fmt = ctx->fmt;
	u64 *table = table_at(ctx, table_hpa);

	for (int i = 0; level > 1 && i < PT_ENTRIES; i++) {
		u64 e = table[i];

		if (entry_present(fmt, e) && !entry_is_leaf(fmt, e, level))
			free_subtree(ctx, table_address(fmt, e), level - 1);
	}
	ctx->free_table(ctx->opaque, table_hpa);
}

/*
 * Replaces the large leaf *entry (at `level` >= 2) by a table of 512 leaves
 * one level down that map the same range with the same attributes.  The
 * new table is filled before it is linked, so a concurrent walker sees
 * either the old leaf or the complete table.
 */
static int split_leaf(struct pt_ctx *ctx, u64 *entry, int level)
{
	const struct pt_format *fmt = ctx->fmt;
	u64 old = *entry;
	u64 base = leaf_address(fmt, old, level);
	u64 attrs = old & ~fmt->addr_mask & ~fmt->large_bit;
	u64 child_size = PT_LEVEL_SIZE(level - 1);
	u64 table_hpa;
	u64 *table;
	int rc = new_table(ctx, &table_hpa);

	if (rc)
		return rc;
	if (level - 1 > 1)
		attrs |= fmt->large_bit;
	table = table_at(ctx, table_hpa);
	for (int i = 0; i < PT_ENTRIES; i++)
		table[i] = (base + (u64)i * child_size) | attrs;
	write_entry(entry, table_entry(fmt, table_hpa, level));
	return PT_OK;
}

/*
 * Returns in *entry_out the entry for va in its table at `level`, building
 * the path from the root like xv6's walk():
 *   level 4 (PML4) entry -> a PDPT, level 3 (PDPT) entry -> a PD,
 *   level 2 (PD) entry -> a PT, level 1 (PT) entry -> a 4 KiB page.
 * A missing table on the way is allocated; a large leaf on the way is split
 * into the next smaller size, so the returned entry keeps mapping whatever
 * the rest of that leaf mapped.
 */
static int walk_create(struct pt_ctx *ctx, u64 va, int level, u64 **entry_out)
{
	const struct pt_format *fmt = ctx->fmt;
	u64 *table = table_at(ctx, ctx->root);

	for (int l = PT_LEVELS; l > level; l--) {
		u64 *entry = &table[index_at(va, l)];
		int rc = PT_OK;

		if (!entry_present(fmt, *entry)) {
			u64 table_hpa;

			rc = new_table(ctx, &table_hpa);
			if (rc == PT_OK)
				write_entry(entry,
					    table_entry(fmt, table_hpa, l));
		} else if (entry_is_leaf(fmt, *entry, l)) {
			rc = split_leaf(ctx, entry, l);
		}
		if (rc)
			return rc;
		table = table_at(ctx, table_address(fmt, *entry));
	}
	*entry_out = &table[index_at(va, level)];
	return PT_OK;
}

/*
 * Returns the entry that decides va without changing anything: a leaf, or
 * the non-present entry where the walk ends.  *level_out is the level of
 * the table that holds it, so PT_LEVEL_SIZE(*level_out) bytes around va
 * share its fate.
 */
static u64 *lookup(const struct pt_ctx *ctx, u64 va, int *level_out)
{
	const struct pt_format *fmt = ctx->fmt;
	u64 *table = table_at(ctx, ctx->root);

	for (int l = PT_LEVELS;; l--) {
		u64 *entry = &table[index_at(va, l)];

		if (!entry_present(fmt, *entry) ||
		    entry_is_leaf(fmt, *entry, l)) {
			*level_out = l;
			return entry;
		}
		table = table_at(ctx, table_address(fmt, *entry));
	}
}

/*
 * The leaf levels the engine uses: 1 GiB leaves only together with 2 MiB
 * ones, because splitting a 1 GiB leaf yields 2 MiB leaves.
 */
static u32 usable_leaf_levels(const struct pt_format *fmt)
{
	u32 levels = fmt->leaf_levels | PT_LEAF_4K;

	if (!(levels & PT_LEAF_2M))
		levels &= ~(u32)PT_LEAF_1G;
	return levels;
}

/* The largest leaf level that va, pa and the remaining size all fit. */
static int leaf_level_for(const struct pt_format *fmt, u64 va, u64 pa, u64 size)
{
	u32 levels = usable_leaf_levels(fmt);

	for (int l = 3; l > 1; l--) {
		u64 sz = PT_LEVEL_SIZE(l);

		if ((levels & BIT(l)) && IS_ALIGNED(va, sz) &&
		    IS_ALIGNED(pa, sz) && size >= sz)
			return l;
	}
	return 1;
}

/*
 * Frees the tables below `table_hpa` (a table at `level` whose first entry
 * maps 48-bit input address `base`) that overlap [start, last] and hold no
 * entry any more.  Returns whether this table itself is now empty.
 */
static bool prune_empty(struct pt_ctx *ctx, u64 table_hpa, int level, u64 base,
			u64 start, u64 last)
{
	const struct pt_format *fmt = ctx->fmt;
	u64 *table = table_at(ctx, table_hpa);
	u64 entry_size = PT_LEVEL_SIZE(level);
	bool empty = true;

	for (int i = 0; i < PT_ENTRIES; i++) {
		u64 first = base + (u64)i * entry_size;
		u64 e = table[i];

		if (!entry_present(fmt, e))
			continue;
		if (level > 1 && !entry_is_leaf(fmt, e, level) &&
		    first <= last && first + entry_size - 1 >= start &&
		    prune_empty(ctx, table_address(fmt, e), level - 1, first,
				start, last)) {
			write_entry(&table[i], 0);
			ctx->free_table(ctx->opaque, table_address(fmt, e));
			continue;
		}
		empty = false;
	}
	return empty;
}

/* ---- the API ---- */

int pt_create(struct pt_ctx *ctx)
{
	const struct pt_format *fmt = ctx ? ctx->fmt : NULL;

	if (!fmt || !ctx->phys_to_virt || !ctx->alloc_table || !ctx->free_table)
		return PT_ERR_CTX;
	return new_table(ctx, &ctx->root);
}

void pt_destroy(struct pt_ctx *ctx)
{
	if (!ctx_usable(ctx))
		return;
	free_subtree(ctx, ctx->root, PT_LEVELS);
	ctx->root = 0;
}

int pt_map(struct pt_ctx *ctx, u64 va, u64 pa, u64 size, u32 flags)
{
	const struct pt_format *fmt;
	int rc;

	if (!ctx_usable(ctx))
		return PT_ERR_CTX;
	fmt = ctx->fmt;
	ctx->error_addr = va;
	rc = check_input(fmt, va, size);
	if (rc)
		return rc;
	if (!IS_ALIGNED(pa, PAGE_SIZE))
		return PT_ERR_ALIGN;
	if (pa + size - 1 < pa || ((pa + size - 1) & ~(fmt->addr_mask | 0xfff)))
		return PT_ERR_RANGE;
	rc = check_flags(fmt, flags);
	if (rc)
		return rc;

	while (size) {
		int level = leaf_level_for(fmt, va, pa, size);
		u64 step = PT_LEVEL_SIZE(level);
		u64 *entry;
		u64 old;

		rc = walk_create(ctx, va, level, &entry);
		if (rc) {
			ctx->error_addr = va;
			return rc;
		}
		old = *entry;
		write_entry(entry, encode_leaf(fmt, pa, level, flags));
		/* A table the new leaf covers whole is unreachable now. */
		if (entry_present(fmt, old) && !entry_is_leaf(fmt, old, level))
			free_subtree(ctx, table_address(fmt, old), level - 1);
		va += step;
		pa += step;
		size -= step;
	}
	return PT_OK;
}

int pt_unmap(struct pt_ctx *ctx, u64 va, u64 size)
{
	u64 start = va;
	u64 last = va + size - 1;
	int rc;

	if (!ctx_usable(ctx))
		return PT_ERR_CTX;
	ctx->error_addr = va;
	rc = check_input(ctx->fmt, va, size);
	if (rc)
		return rc;

	while (size) {
		int level;
		u64 *entry = lookup(ctx, va, &level);
		u64 leaf_size = PT_LEVEL_SIZE(level);
		u64 offset = va & (leaf_size - 1);
		u64 step;

		if (!entry_present(ctx->fmt, *entry)) {
			/* A hole: skip to the end of what this entry covers. */
			step = MIN(leaf_size - offset, size);
		} else if (offset == 0 && size >= leaf_size) {
			write_entry(entry, 0);
			step = leaf_size;
		} else {
			/* A large leaf sticking out of the range: split it and
			 * look again one level down. */
			rc = walk_create(ctx, va, level - 1, &entry);
			if (rc) {
				ctx->error_addr = va;
				break;
			}
			continue;
		}
		va += step;
		size -= step;
	}
	prune_empty(ctx, ctx->root, PT_LEVELS, 0, start & INPUT_MASK,
		    last & INPUT_MASK);
	return rc;
}

int pt_protect(struct pt_ctx *ctx, u64 va, u64 size, u32 flags)
{
	const struct pt_format *fmt;
	u64 probe, left;
	int rc;

	if (!ctx_usable(ctx))
		return PT_ERR_CTX;
	fmt = ctx->fmt;
	ctx->error_addr = va;
	rc = check_input(fmt, va, size);
	if (!rc)
		rc = check_flags(fmt, flags);
	if (rc)
		return rc;

	/* First make sure there is no hole, so a refusal changes nothing. */
	for (probe = va, left = size; left;) {
		int level;
		u64 *entry = lookup(ctx, probe, &level);
		u64 leaf_size = PT_LEVEL_SIZE(level);
		u64 step = MIN(leaf_size - (probe & (leaf_size - 1)), left);

		if (!entry_present(fmt, *entry)) {
			ctx->error_addr = probe;
			return PT_ERR_NOT_MAPPED;
		}
		probe += step;
		left -= step;
	}

	while (size) {
		int level;
		u64 *entry = lookup(ctx, va, &level);
		u64 leaf_size = PT_LEVEL_SIZE(level);

		if ((va & (leaf_size - 1)) == 0 && size >= leaf_size) {
			u64 pa = leaf_address(fmt, *entry, level);

			write_entry(entry, encode_leaf(fmt, pa, level, flags));
			va += leaf_size;
			size -= leaf_size;
			continue;
		}
		rc = walk_create(ctx, va, level - 1, &entry);
		if (rc) {
			ctx->error_addr = va;
			return rc;
		}
	}
	return PT_OK;
}

bool pt_translate(const struct pt_ctx *ctx, u64 va, u64 *pa, u32 *flags,
		  u64 *page_size)
{
	const struct pt_format *fmt;
	u64 *entry;
	int level;

	if (!ctx_usable(ctx))
		return false;
	fmt = ctx->fmt;
	if (fmt->sign_extend ? !is_canonical(va) : va > INPUT_MASK)
		return false;
	entry = lookup(ctx, va, &level);
	if (!entry_present(fmt, *entry))
		return false;
	if (pa)
		*pa = leaf_address(fmt, *entry, level) +
		      (va & (PT_LEVEL_SIZE(level) - 1));
	if (flags)
		*flags = decode_leaf_flags(fmt, *entry);
	if (page_size)
		*page_size = PT_LEVEL_SIZE(level);
	return true;
}

static u64 count_subtree(const struct pt_ctx *ctx, u64 table_hpa, int level)
{
	const struct pt_format *fmt = ctx->fmt;
	u64 *table = table_at(ctx, table_hpa);
	u64 count = 1;

	for (int i = 0; level > 1 && i < PT_ENTRIES; i++) {
		u64 e = table[i];

		if (entry_present(fmt, e) && !entry_is_leaf(fmt, e, level))
			count += count_subtree(ctx, table_address(fmt, e),
					       level - 1);
	}
	return count;
}

u64 pt_count_tables(const struct pt_ctx *ctx)
{
	if (!ctx_usable(ctx))
		return 0;
	return count_subtree(ctx, ctx->root, PT_LEVELS);
}
