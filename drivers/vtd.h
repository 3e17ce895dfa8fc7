/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d DMA remapping (docs/passthrough.md): the struct iommu_ops of
 * drivers/iommu.h for the remapping units the ACPI DMAR table describes
 * (drivers/dmar.h).
 *
 * References are to the Intel Virtualization Technology for Directed I/O
 * Architecture Specification: 3.4.2 / 9.1 root entries, 3.4.3 / 9.3
 * context entries (legacy mode), 6.5.1 register-based invalidation, 6.5.2
 * queued invalidation and its descriptors, 7.1.3 fault reasons, 10.4 the
 * registers (10.4.1 VER, 10.4.2 CAP, 10.4.3 ECAP, 10.4.4 GCMD, 10.4.5
 * GSTS, 10.4.6 RTADDR, 10.4.7 CCMD, 10.4.8 IOTLB and IVA at ECAP.IRO,
 * 10.4.9 FSTS, 10.4.10 FECTL, 10.4.14 FRCD, 10.4.22-24 IQH, IQT, IQA,
 * 10.4.29 IRTA); chapter 5 interrupt remapping, 9.9 the IRTE, 6.5.2.7 the
 * interrupt entry cache invalidate descriptor.
 *
 * Only the legacy (root/context entry) translation mode is used: every
 * device's untranslated DMA goes through the 4-level second-level table
 * of the domain it is attached to; a device without a context entry is
 * blocked, and its DMA recorded as a fault.
 *
 * Interrupt remapping (chapter 5) is on, with nothing remapped, in every
 * unit that has it (ECAP.IR) and queued invalidation (ECAP.QI): a table of
 * VTD_IRT_ENTRIES not-present entries, compatibility format blocked (CFI
 * clear), so no device's interrupt message reaches a CPU (see vtd.c).
 *
 * The pure encodings are exported for the host unit tests
 * (tests/unit/test_vtd.c); the hypervisor only calls vtd_probe().
 */
#ifndef VENEER_DRIVERS_VTD_H
#define VENEER_DRIVERS_VTD_H

#include "core/lib/types.h"
#include "drivers/dmar.h"
#include "drivers/iommu.h"

/*
 * Reads every unit of `dmar` and checks that Veneer can drive it (its
 * registers below 4 GiB, 4-level tables); prints one line per unit.
 * Returns the VT-d ops, or NULL with a message in err (nothing is changed
 * in any unit). Nothing is turned on before ops->enable().
 */
const struct iommu_ops *vtd_probe(const struct dmar_info *dmar, char *err,
				  size_t errlen);

/* ---- registers (VT-d 10.4), offsets from the unit's base ---- */
#define VTD_REG_VER    0x00 /* 32 bits: Max 7:4, Min 3:0 */
#define VTD_REG_CAP    0x08 /* 64 */
#define VTD_REG_ECAP   0x10 /* 64 */
#define VTD_REG_GCMD   0x18 /* 32, write only */
#define VTD_REG_GSTS   0x1c /* 32, read only */
#define VTD_REG_RTADDR 0x20 /* 64 */
#define VTD_REG_CCMD   0x28 /* 64 */
#define VTD_REG_FSTS   0x34 /* 32 */
#define VTD_REG_FECTL  0x38 /* 32 */
#define VTD_REG_IQH    0x80 /* 64 */
#define VTD_REG_IQT    0x88 /* 64 */
#define VTD_REG_IQA    0x90 /* 64 */
#define VTD_REG_IRTA   0xb8 /* 64 (10.4.29) */
/* At ECAP.IRO * 16: IVA_REG, then IOTLB_REG 8 bytes above (10.4.8.1). */
#define VTD_IOTLB_REG_OFFSET 8

/* CAP_REG (10.4.2). */
#define VTD_CAP_ND(c)	 ((u32)((c)&7))		      /* 2:0 */
#define VTD_CAP_RWBF	 BIT(4)			      /* write-buffer flush */
#define VTD_CAP_CM	 BIT(7)			      /* caching mode */
#define VTD_CAP_SAGAW(c) ((u32)(((c) >> 8) & 0x1f))   /* 12:8 */
#define VTD_SAGAW_48	 BIT(2)			      /* 4-level, 48-bit */
#define VTD_CAP_MGAW(c)	 ((u32)(((c) >> 16) & 0x3f))  /* 21:16, width-1 */
#define VTD_CAP_FRO(c)	 ((u32)(((c) >> 24) & 0x3ff)) /* 33:24, x16 */
#define VTD_CAP_SLLPS(c) ((u32)(((c) >> 34) & 0xf))   /* 37:34 */
#define VTD_SLLPS_2M	 BIT(0)
#define VTD_SLLPS_1G	 BIT(1)
#define VTD_CAP_NFR(c)	 ((u32)(((c) >> 40) & 0xff)) /* 47:40, count-1 */

/* ECAP_REG (10.4.3). */
#define VTD_ECAP_C	BIT(0)			    /* page-walk coherency */
#define VTD_ECAP_QI	BIT(1)			    /* queued invalidation */
#define VTD_ECAP_IR	BIT(3)			    /* interrupt remapping */
#define VTD_ECAP_IRO(e) ((u32)(((e) >> 8) & 0x3ff)) /* 17:8, x16 */

/* GCMD_REG / GSTS_REG (10.4.4, 10.4.5): the same bit for command and
 * status. */
#define VTD_GCMD_TE    BIT(31) /* translation enable / TES */
#define VTD_GCMD_SRTP  BIT(30) /* set root table pointer / RTPS */
#define VTD_GCMD_SFL   BIT(29)
#define VTD_GCMD_EAFL  BIT(28)
#define VTD_GCMD_WBF   BIT(27) /* write-buffer flush / WBFS */
#define VTD_GCMD_QIE   BIT(26) /* queued invalidation enable / QIES */
#define VTD_GCMD_IRE   BIT(25) /* interrupt remapping enable / IRES */
#define VTD_GCMD_SIRTP BIT(24) /* set interrupt remap table ptr / IRTPS */
#define VTD_GCMD_CFI   BIT(23) /* compatibility format interrupt / CFIS */
/*
 * 10.4.4: GCMD is written with one bit changed at a time, the others as
 * GSTS reports them without the one-shot status bits (RTPS, FLS, WBFS,
 * IRTPS), which would repeat their commands.
 */
#define VTD_GSTS_ONESHOT_MASK 0x96ffffffu

/* FSTS_REG (10.4.9), FECTL_REG (10.4.10). */
#define VTD_FSTS_PFO BIT(0) /* primary fault overflow, RW1C */
#define VTD_FSTS_PPF BIT(1) /* primary pending fault, RO */
#define VTD_FSTS_IQE BIT(4) /* invalidation queue error, RW1C */
#define VTD_FECTL_IM BIT(31)

/* CCMD_REG (10.4.7). */
#define VTD_CCMD_ICC	     BIT(63)
#define VTD_CCMD_CIRG_GLOBAL (1ull << 61)
#define VTD_CCMD_CIRG_DOMAIN (2ull << 61)
#define VTD_CCMD_CIRG_DEVICE (3ull << 61)

/* IOTLB_REG (10.4.8.1). */
#define VTD_IOTLB_IVT	      BIT(63)
#define VTD_IOTLB_IIRG_GLOBAL (1ull << 60)
#define VTD_IOTLB_IIRG_DOMAIN (2ull << 60)
#define VTD_IOTLB_DR	      BIT(49)
#define VTD_IOTLB_DW	      BIT(48)

/* IQA_REG (10.4.24): base 63:12, DW bit 11 (0: 128-bit), QS 2:0. */
#define VTD_IQA_QS_4K 0 /* 2^0 pages: 256 descriptors of 16 bytes */
#define VTD_IQ_DESCS  256

/*
 * IRTA_REG (10.4.29): table address 63:12, EIME bit 11 (0: xAPIC mode,
 * 8-bit destination IDs), S 3:0 with 2^(S+1) entries. The table: 256
 * IRTEs of 16 bytes (9.9), one 4 KiB page, every entry not present
 * (P, bit 0, clear).
 */
#define VTD_IRTA_EIME	BIT(11)
#define VTD_IRTA_S_MASK 0xfull
#define VTD_IRT_ENTRIES 256
/* 5.1: interrupt messages are DWORD writes to 0xFEEx_xxxx. */
#define VTD_INTERRUPT_ADDR 0xfee00000ull

/* ---- pure encodings ---- */

/* A 128-bit root, context or invalidation entry: lo is bits 63:0. */
struct vtd_entry128 {
	u64 lo, hi;
};

/* 9.1: P bit 0, context-table pointer 63:12; hi reserved. */
struct vtd_entry128 vtd_root_entry(u64 context_table);

/*
 * 9.3 (legacy mode): lo P bit 0, FPD bit 1 clear, TT 3:2 = 00 (untranslated
 * requests through the second-level table), SLPTPTR 63:12 = slptptr; hi
 * AW 2:0 = 010b (48-bit, 4-level), DID 23:8 = did.
 */
struct vtd_entry128 vtd_context_entry(u64 slptptr, u16 did);
#define VTD_CTX_P	BIT(0)
#define VTD_CTX_FPD	BIT(1)
#define VTD_CTX_AW_48	2
#define VTD_CTX_DID(hi) ((u16)((hi) >> 8))

/* 6.5.2.1 context-cache invalidate descriptor (type 1). */
#define VTD_QI_CC_GLOBAL 1
#define VTD_QI_CC_DOMAIN 2
#define VTD_QI_CC_DEVICE 3
struct vtd_entry128 vtd_qi_context(u32 granularity, u16 did, u16 sid);
/* 6.5.2.3 IOTLB invalidate descriptor (type 2), draining reads and
 * writes; granularity 1 global, 2 domain-selective. */
#define VTD_QI_IOTLB_GLOBAL 1
#define VTD_QI_IOTLB_DOMAIN 2
struct vtd_entry128 vtd_qi_iotlb(u32 granularity, u16 did);
/* 6.5.2.7 interrupt entry cache invalidate descriptor (type 4), global
 * (G, bit 4, clear; IM 31:27 and IIDX 47:32 zero). */
struct vtd_entry128 vtd_qi_iec_global(void);
/* The same, index-selective (G set, IM 0): the entry at `index` only. */
struct vtd_entry128 vtd_qi_iec_index(u16 index);
/*
 * 9.9: the IRTE of a remapped interrupt: P; FPD, DM (physical), RH, TM
 * (edge), DLM (fixed) and IM (remapped) clear; V 23:16 = vector; DST
 * 63:32 with the 8-bit xAPIC ID in bits 47:40 (EIME clear); SID 79:64 =
 * sid, SQ 81:80 = 00b (all 16 bits compared), SVT 83:82 = 01b: only
 * requester `sid` may use the entry.
 */
struct vtd_entry128 vtd_irte(u8 vector, u8 apic_id, u16 sid);
#define VTD_IRTE_P BIT(0)
/*
 * 5.1.2.2: the remappable-format message for entry `handle` without a
 * subhandle: address 0xFEE in 31:20, handle 14:0 in 19:5, interrupt
 * format (bit 4) set, SHV (bit 3) clear, handle 15 in bit 2; data 0.
 */
struct iommu_msi vtd_remappable_msi(u16 handle);

/* 6.5.2.8 invalidation wait descriptor (type 5) with status write: the
 * unit writes `data` to the 4-byte aligned `status_addr` when every
 * descriptor before it is done. */
struct vtd_entry128 vtd_qi_wait(u32 data, u64 status_addr);

/* CCMD_REG and IOTLB_REG values for the same invalidations. */
u64 vtd_ccmd_value(u32 granularity, u16 did, u16 sid);
u64 vtd_iotlb_value(u32 granularity, u16 did);

/* A GCMD value that sets (on) or clears `bit`, from the GSTS read. */
u32 vtd_gcmd_value(u32 gsts, u32 bit, bool on);

/* IRTA_REG for a table of `entries` (a power of two, 2 .. 65536) at
 * `table`, EIME clear. */
u64 vtd_irta_value(u64 table, u32 entries);

/*
 * Whether interrupt remapping is turned on in a unit with this ECAP:
 * ECAP.IR and ECAP.QI. Only a queued invalidation invalidates the
 * interrupt entry cache (6.5.1 has no register for it; units with IR are
 * expected to report QI too). A unit with IR but without QI is left
 * without interrupt remapping, and a line at enable says so.
 */
bool vtd_ir_usable(u64 ecap);

/*
 * 10.4.14: one fault recording register (lo: bits 63:0, hi: 127:64).
 * True when its F bit (127) is set; then fills f (the address is the
 * page, bits 63:12; T bit 126 is 0 for a write) and, for a reason with
 * no text of its own, writes "fault reason 0xNN" into buf.
 *
 * An interrupt-remapping fault (reasons 0x20-0x2f, 7.1.3) records no
 * address: FI bits 63:48 are the interrupt index, and T is undefined.
 * It is reported as a write (an interrupt message is one) at
 * VTD_INTERRUPT_ADDR, the start of the interrupt range, with the index in
 * the reason, written into buf ("...: interrupt index N"; not for 0x25,
 * a compatibility-format request has none). buf: 128 bytes are enough.
 */
bool vtd_fault_decode(u64 lo, u64 hi, struct iommu_fault *f, char *buf,
		      size_t buflen);
/* The words for fault reason `fr` (7.1.3), NULL when it has none. */
const char *vtd_fault_reason(u8 fr);
/* 7.1.3: reasons 0x20-0x2f are interrupt-remapping faults. */
#define VTD_FR_IS_INTERRUPT(fr) (((fr)&0xf0) == 0x20)
#define VTD_FR_IR_COMPAT	0x25 /* compatibility format blocked */

/* Domains a unit supports: 2^(4 + 2 * CAP.ND) (10.4.2). */
u32 vtd_cap_domains(u64 cap);

/*
 * The checks of one unit's CAP_REG: NULL when Veneer can use it, else the
 * reason in words (no 4-level tables).
 */
const char *vtd_cap_refusal(u64 cap);

/* PT_LEAF_* the page-table format may use on every one of n units. */
u32 vtd_leaf_levels(const u64 *caps, u32 n);

/*
 * The unit (index into dmar->units) that translates for PCI device `bdf`
 * of segment 0: the unit whose device scope names it (an endpoint, or a
 * bridge's subhierarchy: the bridge itself and every bus from its
 * secondary to its subordinate bus; a scope naming the device itself
 * wins over a bridge's), else the segment's INCLUDE_PCI_ALL unit. -1 when none.
 * The bus numbers come from the callbacks (negative: not a bridge;
 * subordinate_bus may be NULL: the secondary bus only).
 */
struct vtd_bus_ops {
	int (*secondary_bus)(void *ctx, u16 bdf);
	int (*subordinate_bus)(void *ctx, u16 bdf);
	void *ctx;
};
int vtd_find_unit(const struct dmar_info *dmar, u16 bdf,
		  const struct vtd_bus_ops *bus);

#ifdef VENEER_HOST_TEST
/*
 * Host unit tests: register accesses go to these functions instead of
 * the units' MMIO (unit: the index into dmar->units), and waits give up
 * after `loops` polls.
 */
struct vtd_test_mmio {
	u32 (*read32)(u32 unit, u32 off);
	u64 (*read64)(u32 unit, u32 off);
	void (*write32)(u32 unit, u32 off, u32 v);
	void (*write64)(u32 unit, u32 off, u64 v);
};
void vtd_test_set_mmio(const struct vtd_test_mmio *mmio, u32 loops);
/* The root table of a unit probed (0 before enable). */
u64 vtd_test_root_table(u32 unit);
/* Its interrupt remapping table (0 when not turned on). */
u64 vtd_test_ir_table(u32 unit);
#endif

#endif /* VENEER_DRIVERS_VTD_H */
