/* SPDX-License-Identifier: MIT */
/*
 * The hardware task switch, carried out for the guest (core/taskswitch.h;
 * SDM Vol. 3A 7.3, "Task Switching", and Table 7-1, "Exception Conditions
 * Checked During a Task Switch").
 *
 * It runs in two halves, as the CPU does:
 *  - before the commit point, in the old task: the new TSS descriptor and
 *    both TSSs are checked and read; a fault here leaves every register
 *    and every byte of guest memory as it was, and is raised in the old
 *    task (combined with the event being delivered as SDM Vol. 3A Table
 *    6-5 says, when a task gate was delivering an exception);
 *  - after it, in the new task: the old task is saved, busy bits, back
 *    link and TR change, CR3, EFLAGS, EIP and the general registers are
 *    loaded, then LDTR and the segment registers are checked and loaded
 *    one by one; a fault here is raised in the new task (SDM Vol. 3A
 *    7.3: "may corrupt architectural state": the segment registers that
 *    passed their checks hold the new task's descriptors, CS and SS keep
 *    the old task's unless both passed, and a data segment that failed or
 *    was not reached holds its new selector, unusable).
 *
 * Guest memory that is not mapped by the guest's own page tables is a
 * #PF; guest-physical memory outside its RAM (where a TSS or descriptor
 * table cannot be emulated) stops the guest with the address.
 */
#include "core/taskswitch.h"
#include "core/handlers.h"
#include "core/vm.h"
#include "core/lib/string.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

/* Selector fields (SDM Vol. 3A 3.4.2) and error codes (6.13). */
#define SEL_RPL	       0x3
#define SEL_TI	       0x4
#define SEL_INDEX_MASK 0xfff8
#define ERR_EXT	       0x1

/* Segment-descriptor fields (SDM Vol. 3A 3.4.5). */
#define DESC_S		 BIT(44)
#define DESC_P		 BIT(47)
#define DESC_G		 BIT(55)
#define DESC_TYPE_SHIFT	 40
#define DESC_DPL_SHIFT	 45
#define TYPE_ACCESSED	 0x1
#define TYPE_WRITABLE	 0x2 /* data */
#define TYPE_READABLE	 0x2 /* code */
#define TYPE_CONFORMING	 0x4 /* code */
#define TYPE_EXPAND_DOWN 0x4 /* data */
#define TYPE_CODE	 0x8

/* enum vcpu_field ATTR layout (core/vcpu.h): VMX access rights. */
#define ATTR_B	      BIT(14) /* D/B */
#define ATTR_UNUSABLE BIT(16)
/* A virtual-8086 segment: present, DPL 3, read/write data, accessed. */
#define ATTR_V86 0xf3

#define RFLAGS_NT BIT(14)
/* EFLAGS bits a TSS can load (SDM Vol. 1 3.4.3): all but the reserved. */
#define EFLAGS_LOADABLE 0x3f7fd5u

/* DR7 local breakpoint enables L0-L3 and LE (SDM Vol. 3B 18.2.4, APM
 * Vol. 2 13.1.1.5: cleared by every task switch); DR6.BT (18.2.3). */
#define DR7_LOCAL_ENABLES (BIT(0) | BIT(2) | BIT(4) | BIT(6) | BIT(8))
#define DR6_BT		  BIT(15)

enum seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

static const struct {
	enum vcpu_field sel, base, limit, attr;
} seg_fields[SEG_COUNT] = {
    [SEG_ES] = {VCPU_ES_SELECTOR, VCPU_ES_BASE, VCPU_ES_LIMIT, VCPU_ES_ATTR},
    [SEG_CS] = {VCPU_CS_SELECTOR, VCPU_CS_BASE, VCPU_CS_LIMIT, VCPU_CS_ATTR},
    [SEG_SS] = {VCPU_SS_SELECTOR, VCPU_SS_BASE, VCPU_SS_LIMIT, VCPU_SS_ATTR},
    [SEG_DS] = {VCPU_DS_SELECTOR, VCPU_DS_BASE, VCPU_DS_LIMIT, VCPU_DS_ATTR},
    [SEG_FS] = {VCPU_FS_SELECTOR, VCPU_FS_BASE, VCPU_FS_LIMIT, VCPU_FS_ATTR},
    [SEG_GS] = {VCPU_GS_SELECTOR, VCPU_GS_BASE, VCPU_GS_LIMIT, VCPU_GS_ATTR},
};

/* A segment register's whole state, as enum vcpu_field holds it. */
struct segment {
	u16 sel;
	u32 base, limit, attr;
};

/* One task switch in progress. */
struct task_switch {
	struct vcpu *vcpu;
	enum task_switch_source source;
	u16 sel;	  /* the new TSS */
	u64 desc;	  /* its descriptor */
	struct tss32 tss; /* its contents */
	struct segment old_tr;
	u32 ext;	   /* ERR_EXT when a hardware event started it */
	u32 saved_eip;	   /* the old task resumes here */
	bool software;	   /* a gate reached by INT n / INT3 / INTO / INT1 */
	bool hw_exception; /* a gate delivering a hardware exception */
	/* A fault to raise instead of going on, or a reason to stop. */
	bool faulted;
	u8 vector;
	u32 error_code;
	u64 cr2;
	bool stopped;
};

/* ---- faults */

static void fault(struct task_switch *t, u8 vector, u32 error_code)
{
	t->faulted = true;
	t->vector = vector;
	t->error_code = error_code;
}

/* A null selector: index 0 in the GDT, any RPL (SDM Vol. 3A 3.4.2). */
static bool is_null(u16 sel)
{
	return !(sel & (SEL_INDEX_MASK | SEL_TI));
}

/* A fault that names a selector: its index and TI, and EXT. */
static void fault_sel(struct task_switch *t, u8 vector, u16 sel)
{
	fault(t, vector, (sel & (SEL_INDEX_MASK | SEL_TI)) | t->ext);
}

/* ---- guest memory through the guest's own paging */

/* #PF error code bits (SDM Vol. 3A 4.7): a write; a user-mode access. */
#define PF_WRITE BIT(1)
#define PF_USER	 BIT(2)

/*
 * Whether all of [linear, linear+len) is mapped guest RAM; if not, a #PF
 * is recorded (the guest's page tables miss it: P=0, with `pf_error`'s W
 * and U/S) or the guest is stopped (mapped outside its RAM). 32-bit
 * linear addresses wrap at 4 GiB (SDM Vol. 3A 3.3.1).
 */
static bool reachable(struct task_switch *t, u32 linear, u32 len, u32 pf_error,
		      const char *what)
{
	for (u32 done = 0; done < len;) {
		u32 at = linear + done;
		u32 chunk = MIN(len - done, (u32)(PAGE_SIZE - (at & 0xfff)));
		u64 g;

		if (!vcpu_linear_to_gpa(t->vcpu, at, &g)) {
			fault(t, X86_VECTOR_PF, pf_error);
			t->cr2 = at;
			return false;
		}
		if (!vm_gpa_to_hva(t->vcpu->vm, gpa(g), chunk)) {
			vm_stop(t->vcpu->vm,
				"task switch: %s at linear 0x%x is at "
				"guest-physical 0x%llx, outside its RAM",
				what, at, (unsigned long long)g);
			t->stopped = true;
			return false;
		}
		done += chunk;
	}
	return true;
}

/*
 * Copies between guest linear memory and `buf` once all of it is known to
 * be reachable; page by page, so that the 4 GiB wrap is honoured.
 */
static bool copy_mem(struct task_switch *t, u32 linear, void *buf, u32 len,
		     u32 pf_error, const char *what)
{
	u8 *p = buf;

	if (!reachable(t, linear, len, pf_error, what))
		return false;
	for (u32 done = 0; done < len;) {
		u32 at = linear + done;
		u32 chunk = MIN(len - done, (u32)(PAGE_SIZE - (at & 0xfff)));
		bool ok = (pf_error & PF_WRITE)
			      ? vcpu_write_linear(t->vcpu, at, p + done, chunk)
			      : vcpu_read_linear(t->vcpu, at, p + done, chunk);

		if (!ok) { /* reachable a moment ago: cannot happen */
			vm_stop(t->vcpu->vm,
				"task switch: %s at linear 0x%x "
				"could not be accessed",
				what, at);
			t->stopped = true;
			return false;
		}
		done += chunk;
	}
	return true;
}

/*
 * The CPU's own accesses to descriptor tables and TSSs are supervisor
 * accesses whatever the CPL (SDM Vol. 3A 4.6, "implicit supervisor-mode
 * accesses").
 */
static bool read_mem(struct task_switch *t, u64 linear, void *dst, u32 len,
		     const char *what)
{
	return copy_mem(t, (u32)linear, dst, len, 0, what);
}

static bool write_mem(struct task_switch *t, u64 linear, const void *src,
		      u32 len, const char *what)
{
	return copy_mem(t, (u32)linear, (void *)src, len, PF_WRITE, what);
}

/* ---- descriptors */

static u32 desc_type(u64 d)
{
	return (u32)(d >> DESC_TYPE_SHIFT) & 0xf;
}

static u32 desc_dpl(u64 d)
{
	return (u32)(d >> DESC_DPL_SHIFT) & 0x3;
}

static u32 desc_base(u64 d)
{
	return (u32)(((d >> 16) & 0xffffff) | ((d >> 56) << 24));
}

static u32 desc_limit(u64 d)
{
	u32 limit = (u32)((d & 0xffff) | ((d >> 32) & 0xf0000));

	return (d & DESC_G) ? (limit << 12) | 0xfff : limit;
}

/* Access rights in the enum vcpu_field layout: type, S, DPL, P, then AVL,
 * L, D/B, G (descriptor bits 40-47 and 52-55). */
static u32 desc_attr(u64 d)
{
	return (u32)(((d >> 40) & 0xff) | (((d >> 52) & 0xf) << 12));
}

static struct segment desc_segment(u16 sel, u64 d)
{
	return (struct segment){.sel = sel,
				.base = desc_base(d),
				.limit = desc_limit(d),
				.attr = desc_attr(d)};
}

/* Where the descriptor of `sel` lives: its linear address, or false when
 * it is outside its table (GDT, or the LDT `ldtr` when TI is set). */
static bool desc_address(struct task_switch *t, u16 sel,
			 const struct segment *ldtr, u64 *linear)
{
	u64 base, limit;

	if (sel & SEL_TI) {
		if (!ldtr || (ldtr->attr & ATTR_UNUSABLE))
			return false;
		base = ldtr->base;
		limit = ldtr->limit;
	} else {
		base = vcpu_read(t->vcpu, VCPU_GDTR_BASE);
		limit = vcpu_read(t->vcpu, VCPU_GDTR_LIMIT);
	}
	if ((u32)(sel & SEL_INDEX_MASK) + 7 > limit)
		return false;
	*linear = base + (sel & SEL_INDEX_MASK);
	return true;
}

/* Sets the accessed bit of a code or data descriptor in memory, as the
 * CPU does when it loads one (SDM Vol. 3A 3.4.5.1). */
static bool mark_accessed(struct task_switch *t, u64 linear, u64 *d)
{
	u8 type_byte;

	if (desc_type(*d) & TYPE_ACCESSED)
		return true;
	*d |= (u64)TYPE_ACCESSED << DESC_TYPE_SHIFT;
	type_byte = (u8)(*d >> 40);
	return write_mem(t, linear + 5, &type_byte, 1, "a segment descriptor");
}

/* Sets or clears the busy bit of the TSS descriptor of `sel` in the GDT. */
static bool set_busy(struct task_switch *t, u16 sel, bool busy)
{
	u64 linear;
	u8 type_byte;

	/* A TR never loaded (selector 0) or outside the GDT: nothing of it
	 * there to change. */
	if (!(sel & SEL_INDEX_MASK) ||
	    !desc_address(t, sel & ~SEL_TI, NULL, &linear))
		return true;
	if (!read_mem(t, linear + 5, &type_byte, 1, "a TSS descriptor"))
		return false;
	if (busy)
		type_byte |= DESC_TYPE_TSS_BUSY;
	else
		type_byte &= (u8)~DESC_TYPE_TSS_BUSY;
	return write_mem(t, linear + 5, &type_byte, 1, "a TSS descriptor");
}

/* ---- before the commit point: checks in the old task */

/*
 * The new TSS's descriptor (Table 7-1, rows 1-5): in the GDT, a 32-bit
 * TSS, available for CALL, JMP and gates or busy for IRET, present, at
 * least 0x68 bytes. A selector or type that is wrong is #GP, or #TS for
 * IRET (SDM Vol. 2A IRET, "TASK-RETURN").
 */
static bool check_new_tss(struct task_switch *t)
{
	u8 bad_sel =
	    t->source == TASK_SWITCH_IRET ? X86_VECTOR_TS : X86_VECTOR_GP;
	bool iret = t->source == TASK_SWITCH_IRET;
	u64 linear;
	u32 type;

	if ((t->sel & SEL_TI) || !desc_address(t, t->sel, NULL, &linear)) {
		fault_sel(t, bad_sel, t->sel);
		return false;
	}
	if (!read_mem(t, linear, &t->desc, sizeof(t->desc),
		      "the new TSS descriptor"))
		return false;
	type = desc_type(t->desc);
	if ((t->desc & DESC_S) ||
	    (type != DESC_TYPE_TSS32_AVAIL && type != DESC_TYPE_TSS32_BUSY &&
	     type != DESC_TYPE_TSS16_AVAIL && type != DESC_TYPE_TSS16_BUSY)) {
		fault_sel(t, bad_sel, t->sel);
		return false;
	}
	if (!!(type & DESC_TYPE_TSS_BUSY) != iret) {
		fault_sel(t, bad_sel, t->sel);
		return false;
	}
	if (!(t->desc & DESC_P)) {
		fault_sel(t, X86_VECTOR_NP, t->sel);
		return false;
	}
	/* 16-bit TSSs are not emulated (docs/guests.md). */
	if ((type & ~DESC_TYPE_TSS_BUSY) == DESC_TYPE_TSS16_AVAIL ||
	    desc_limit(t->desc) < TSS32_MIN_LIMIT) {
		fault_sel(t, X86_VECTOR_TS, t->sel);
		return false;
	}
	return true;
}

/*
 * The old task's TSS, where TR points: a 32-bit TSS that holds the state
 * saved into it (a 16-bit one is not emulated: #TS naming the new TSS; one
 * too short for the saved state: #TS naming the old one), and mapped.
 */
static bool check_old_tss(struct task_switch *t)
{
	u32 type = t->old_tr.attr & 0xf;

	if ((type & ~DESC_TYPE_TSS_BUSY) == DESC_TYPE_TSS16_AVAIL) {
		fault_sel(t, X86_VECTOR_TS, t->sel);
		return false;
	}
	if (t->old_tr.limit < TSS32_SAVED_END - 1) {
		fault_sel(t, X86_VECTOR_TS, t->old_tr.sel);
		return false;
	}
	return reachable(t, t->old_tr.base + offsetof(struct tss32, eip),
			 TSS32_SAVED_END - offsetof(struct tss32, eip),
			 PF_WRITE, "the old TSS");
}

static bool check_and_read(struct task_switch *t)
{
	if (!check_new_tss(t) || !check_old_tss(t))
		return false;
	return read_mem(t, desc_base(t->desc), &t->tss, sizeof(t->tss),
			"the new TSS");
}

/* ---- the commit: the old task saved, the new one made current */

static void write_segment(struct vcpu *vcpu, enum vcpu_field sel,
			  enum vcpu_field base, enum vcpu_field limit,
			  enum vcpu_field attr, const struct segment *s)
{
	vcpu_write(vcpu, sel, s->sel);
	vcpu_write(vcpu, base, s->base);
	vcpu_write(vcpu, limit, s->limit);
	vcpu_write(vcpu, attr, s->attr);
}

static void load_segment(struct vcpu *vcpu, enum seg s, const struct segment *v)
{
	write_segment(vcpu, seg_fields[s].sel, seg_fields[s].base,
		      seg_fields[s].limit, seg_fields[s].attr, v);
}

/* Steps 6-8 of SDM Vol. 3A 7.3: the old task's dynamic fields. */
static bool save_old_task(struct task_switch *t)
{
	struct vcpu *vcpu = t->vcpu;
	struct tss32 old;
	u32 eflags = (u32)vcpu_read(vcpu, VCPU_RFLAGS);
	u32 from = offsetof(struct tss32, eip);

	if (t->source == TASK_SWITCH_JMP || t->source == TASK_SWITCH_IRET) {
		if (!set_busy(t, t->old_tr.sel, false))
			return false;
	}
	if (t->source == TASK_SWITCH_IRET)
		eflags &= ~RFLAGS_NT;
	memset(&old, 0, sizeof(old));
	old.eip = t->saved_eip;
	old.eflags = eflags;
	for (u32 i = 0; i < 8; i++)
		old.gpr[i] = (u32)vcpu->regs.gpr[i];
	for (u32 s = 0; s < SEG_COUNT; s++)
		old.seg[s][0] = (u16)vcpu_read(vcpu, seg_fields[s].sel);
	/* Only the selectors' own 16 bits: the reserved halves stay. */
	if (!write_mem(t, t->old_tr.base + from, (u8 *)&old + from,
		       offsetof(struct tss32, seg) - from, "the old TSS"))
		return false;
	for (u32 s = 0; s < SEG_COUNT; s++)
		if (!write_mem(
			t, t->old_tr.base + offsetof(struct tss32, seg) + s * 4,
			&old.seg[s][0], 2, "the old TSS"))
			return false;
	return true;
}

/* Steps 9-12: back link, busy bits, TR, CR0.TS, CR3, EFLAGS, EIP, GPRs. */
static bool enter_new_task(struct task_switch *t)
{
	struct vcpu *vcpu = t->vcpu;
	bool nested =
	    t->source == TASK_SWITCH_CALL || t->source == TASK_SWITCH_GATE;
	u32 eflags = (t->tss.eflags & EFLAGS_LOADABLE) | RFLAGS_FIXED;
	struct segment tr;

	if (nested) {
		u16 link = t->old_tr.sel;

		if (!write_mem(t, desc_base(t->desc), &link, sizeof(link),
			       "the new TSS"))
			return false;
		eflags |= RFLAGS_NT;
	}
	if (t->source != TASK_SWITCH_IRET && !set_busy(t, t->sel, true))
		return false;
	tr = desc_segment(t->sel, t->desc);
	tr.attr |= DESC_TYPE_TSS_BUSY;
	write_segment(vcpu, VCPU_TR_SELECTOR, VCPU_TR_BASE, VCPU_TR_LIMIT,
		      VCPU_TR_ATTR, &tr);
	vcpu_write(vcpu, VCPU_CR0, vcpu_read(vcpu, VCPU_CR0) | CR0_TS);
	/* Without paging the TSS's CR3 is read but not loaded (7.3). */
	if (vcpu_read(vcpu, VCPU_CR0) & CR0_PG)
		vcpu_write(vcpu, VCPU_CR3, t->tss.cr3);
	vcpu_write(vcpu, VCPU_RFLAGS, eflags);
	vcpu_write(vcpu, VCPU_RIP, t->tss.eip);
	for (u32 i = 0; i < 8; i++)
		vcpu->regs.gpr[i] = t->tss.gpr[i];
	return true;
}

/* ---- after the commit point: the new task's segments */

/*
 * Reads the descriptor of `sel` for a segment register; false with #TS
 * naming it when it is outside its table (Table 7-1 note 2), or with the
 * memory fault.
 */
static bool read_desc(struct task_switch *t, u16 sel,
		      const struct segment *ldtr, u64 *d, u64 *linear)
{
	if (!desc_address(t, sel, ldtr, linear)) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	return read_mem(t, *linear, d, sizeof(*d), "a descriptor table");
}

/* LDTR (rows 7 and 12): null, or an LDT descriptor in the GDT, present. */
static bool load_ldtr(struct task_switch *t, u16 sel, struct segment *ldtr)
{
	u64 d, linear;

	*ldtr = (struct segment){.sel = sel, .attr = ATTR_UNUSABLE};
	if (is_null(sel))
		return true;
	if (sel & SEL_TI) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	if (!read_desc(t, sel, NULL, &d, &linear))
		return false;
	if ((d & DESC_S) || desc_type(d) != DESC_TYPE_LDT || !(d & DESC_P)) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	*ldtr = desc_segment(sel, d);
	return true;
}

/* CS (rows 8, 13, 14): a code segment, DPL = RPL (conforming: <=). */
static bool check_cs(struct task_switch *t, u16 sel, const struct segment *ldtr,
		     struct segment *cs)
{
	u64 d, linear;
	u32 type;

	if (is_null(sel)) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	if (!read_desc(t, sel, ldtr, &d, &linear))
		return false;
	type = desc_type(d);
	if (!(d & DESC_S) || !(type & TYPE_CODE) ||
	    ((type & TYPE_CONFORMING) ? desc_dpl(d) > (sel & SEL_RPL)
				      : desc_dpl(d) != (sel & SEL_RPL))) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	if (!(d & DESC_P)) {
		fault_sel(t, X86_VECTOR_NP, sel);
		return false;
	}
	if (!mark_accessed(t, linear, &d))
		return false;
	*cs = desc_segment(sel, d);
	return true;
}

/* SS (rows 9, 10, 11, 15): writable data, RPL = DPL = CPL, present. */
static bool check_ss(struct task_switch *t, u16 sel, const struct segment *ldtr,
		     u32 cpl, struct segment *ss)
{
	u64 d, linear;
	u32 type;

	if (is_null(sel)) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	if (!read_desc(t, sel, ldtr, &d, &linear))
		return false;
	type = desc_type(d);
	if (!(d & DESC_S) || (type & TYPE_CODE) || !(type & TYPE_WRITABLE) ||
	    (sel & SEL_RPL) != cpl || desc_dpl(d) != cpl) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	if (!(d & DESC_P)) {
		fault_sel(t, X86_VECTOR_SS, sel);
		return false;
	}
	if (!mark_accessed(t, linear, &d))
		return false;
	*ss = desc_segment(sel, d);
	return true;
}

/*
 * DS, ES, FS, GS (rows 16-19): null (unusable), or data or readable code,
 * with DPL >= CPL and RPL unless conforming code, present.
 */
static bool check_data(struct task_switch *t, u16 sel,
		       const struct segment *ldtr, u32 cpl, struct segment *s)
{
	u64 d, linear;
	u32 type;

	*s = (struct segment){.sel = sel, .attr = ATTR_UNUSABLE};
	if (is_null(sel))
		return true;
	if (!read_desc(t, sel, ldtr, &d, &linear))
		return false;
	type = desc_type(d);
	if (!(d & DESC_S) || ((type & TYPE_CODE) && !(type & TYPE_READABLE)) ||
	    (!((type & TYPE_CODE) && (type & TYPE_CONFORMING)) &&
	     (desc_dpl(d) < cpl || desc_dpl(d) < (sel & SEL_RPL)))) {
		fault_sel(t, X86_VECTOR_TS, sel);
		return false;
	}
	if (!(d & DESC_P)) {
		fault_sel(t, X86_VECTOR_NP, sel);
		return false;
	}
	if (!mark_accessed(t, linear, &d))
		return false;
	*s = desc_segment(sel, d);
	return true;
}

/* A virtual-8086 task (EFLAGS.VM): real-mode segments, CPL 3. */
static void load_v86_segments(struct task_switch *t)
{
	for (u32 s = 0; s < SEG_COUNT; s++) {
		u16 sel = t->tss.seg[s][0];
		struct segment v = {.sel = sel,
				    .base = (u32)sel << 4,
				    .limit = 0xffff,
				    .attr = ATTR_V86};

		load_segment(t->vcpu, s, &v);
	}
	vcpu_write(t->vcpu, VCPU_CPL, 3);
}

/*
 * Step 14: LDTR, then CS (its RPL is the new CPL), SS, and the data
 * segments, each checked and loaded. On a fault, what the header says.
 */
static void load_segments(struct task_switch *t)
{
	static const enum seg data[] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
	struct vcpu *vcpu = t->vcpu;
	u16 cs_sel = t->tss.seg[SEG_CS][0];
	u32 cpl = cs_sel & SEL_RPL;
	struct segment ldtr, cs, ss, s;
	u32 loaded = 0;
	bool ok;

	ok = load_ldtr(t, t->tss.ldt, &ldtr);
	write_segment(vcpu, VCPU_LDTR_SELECTOR, VCPU_LDTR_BASE, VCPU_LDTR_LIMIT,
		      VCPU_LDTR_ATTR, &ldtr);
	if (t->tss.eflags & RFLAGS_VM) {
		load_v86_segments(t);
		return;
	}
	if (ok && check_cs(t, cs_sel, &ldtr, &cs) &&
	    check_ss(t, t->tss.seg[SEG_SS][0], &ldtr, cpl, &ss)) {
		load_segment(vcpu, SEG_CS, &cs);
		load_segment(vcpu, SEG_SS, &ss);
		vcpu_write(vcpu, VCPU_CPL, cpl);
		for (; loaded < ARRAY_SIZE(data); loaded++) {
			if (!check_data(t, t->tss.seg[data[loaded]][0], &ldtr,
					cpl, &s))
				break;
			load_segment(vcpu, data[loaded], &s);
		}
	}
	/* What failed, and what was not reached: new selector, unusable. */
	for (u32 i = loaded; i < ARRAY_SIZE(data); i++) {
		s = (struct segment){.sel = t->tss.seg[data[i]][0],
				     .attr = ATTR_UNUSABLE};
		load_segment(vcpu, data[i], &s);
	}
}

/*
 * The error code of an exception delivered through a task gate goes on
 * the new task's stack (SDM Vol. 3A 6.12.2): a doubleword for a 32-bit
 * TSS, within SS's limit (#SS otherwise).
 */
static void push_error_code(struct task_switch *t, u32 error_code)
{
	struct vcpu *vcpu = t->vcpu;
	u32 attr = (u32)vcpu_read(vcpu, VCPU_SS_ATTR);
	u32 limit = (u32)vcpu_read(vcpu, VCPU_SS_LIMIT);
	u64 esp = vcpu->regs.gpr[GPR_RSP];
	u32 top = (attr & ATTR_B) ? 0xffffffffu : 0xffffu;
	u32 offset = (u32)(esp - 4) & top;
	bool fits;

	if (attr & ATTR_UNUSABLE)
		return; /* SS failed its checks: that fault is raised */
	if ((attr & 0xf) & TYPE_EXPAND_DOWN)
		fits = offset > limit && offset <= top - 3;
	else
		fits = offset <= top - 3 && offset + 3 <= limit;
	if (!fits) {
		fault(t, X86_VECTOR_SS, t->ext);
		return;
	}
	/* A push at the new task's CPL (SDM Vol. 3A 4.6). */
	if (!copy_mem(t, (u32)vcpu_read(vcpu, VCPU_SS_BASE) + offset,
		      &error_code, sizeof(error_code),
		      PF_WRITE | (vcpu_read(vcpu, VCPU_CPL) == 3 ? PF_USER : 0),
		      "the new task's stack"))
		return;
	vcpu->regs.gpr[GPR_RSP] =
	    (attr & ATTR_B) ? offset : ((u32)esp & ~0xffffu) | offset;
}

/* ---- faults before the commit point, during an exception's delivery */

static bool contributory(u8 vector)
{
	return vector == X86_VECTOR_DE ||
	       (vector >= X86_VECTOR_TS && vector <= X86_VECTOR_GP);
}

/*
 * A fault while a task gate was delivering a hardware exception: SDM Vol.
 * 3A Table 6-5 decides between the fault itself, #DF, and a triple fault
 * (the guest is then stopped, as at any triple fault). False: stopped.
 */
static bool combine_with_event(struct task_switch *t, u8 first)
{
	bool second_bad = contributory(t->vector) || t->vector == X86_VECTOR_PF;

	if (!t->hw_exception)
		return true;
	if (first == X86_VECTOR_DF && second_bad) {
		vm_stop(t->vcpu->vm,
			"triple fault: %s error code 0x%x in the task switch "
			"to TSS 0x%x for a #DF",
			t->vector == X86_VECTOR_PF ? "#PF"
						   : "contributory fault",
			t->error_code, t->sel);
		t->stopped = true;
		return false;
	}
	if ((contributory(first) && contributory(t->vector)) ||
	    (first == X86_VECTOR_PF && second_bad)) {
		t->vector = X86_VECTOR_DF;
		t->error_code = 0;
	}
	return true;
}

static enum exit_action raise_fault(struct task_switch *t)
{
	if (t->vector == X86_VECTOR_PF)
		vcpu_write(t->vcpu, VCPU_CR2, t->cr2);
	vcpu_inject_exception(t->vcpu, t->vector, t->error_code);
	return EXIT_ACTION_RESUME;
}

/* ---- the exit */

/*
 * What started it. A gate's event is a software one (INT n, INT3, INTO,
 * INT1) when the backend gives the instruction's length, and the old task
 * then resumes after it; a hardware one (external interrupt, NMI,
 * exception) sets EXT in the error codes of the faults it meets (SDM Vol.
 * 3A 6.13). NMI is vector 2 without an instruction: its delivery blocks
 * NMIs (6.7.1).
 */
static void classify(struct task_switch *t, const struct exit_event *ev)
{
	u32 rip = (u32)vcpu_read(t->vcpu, VCPU_RIP);

	t->software = t->source == TASK_SWITCH_GATE && ev->insn_len;
	if (t->source == TASK_SWITCH_GATE && !t->software) {
		t->ext = ERR_EXT;
		t->hw_exception = ev->task_switch.idt_vectoring &&
				  ev->task_switch.vector < 32 &&
				  ev->task_switch.vector != X86_VECTOR_NMI;
		t->saved_eip = rip;
	} else {
		t->saved_eip = rip + ev->insn_len;
	}
}

static bool setup(struct task_switch *t, struct vcpu *vcpu,
		  const struct exit_event *ev)
{
	memset(t, 0, sizeof(*t));
	t->vcpu = vcpu;
	t->source = ev->task_switch.source;
	t->sel = ev->task_switch.selector;
	if (t->source > TASK_SWITCH_GATE ||
	    (t->source != TASK_SWITCH_GATE && !ev->insn_len)) {
		vm_stop(vcpu->vm,
			"task switch: source %u with instruction length %u "
			"(the backend's decoding)",
			t->source, ev->insn_len);
		return false;
	}
	classify(t, ev);
	t->old_tr.sel = (u16)vcpu_read(vcpu, VCPU_TR_SELECTOR);
	t->old_tr.base = (u32)vcpu_read(vcpu, VCPU_TR_BASE);
	t->old_tr.limit = (u32)vcpu_read(vcpu, VCPU_TR_LIMIT);
	t->old_tr.attr = (u32)vcpu_read(vcpu, VCPU_TR_ATTR);
	return true;
}

/* Steps after the registers: debug state, NMI blocking, error code, T. */
static void finish(struct task_switch *t, const struct exit_event *ev)
{
	struct vcpu *vcpu = t->vcpu;
	u64 dr7 = vcpu_read(vcpu, VCPU_DR7);

	if (dr7 & DR7_LOCAL_ENABLES)
		vcpu_write(vcpu, VCPU_DR7, dr7 & ~(u64)DR7_LOCAL_ENABLES);
	/* IRET ends NMI blocking, task switch or not (SDM Vol. 3A 6.7.1). */
	if (t->source == TASK_SWITCH_IRET)
		vcpu_write(vcpu, VCPU_NMI_BLOCKED, 0);
	else if (t->ext && !t->hw_exception &&
		 ev->task_switch.vector == X86_VECTOR_NMI)
		vcpu_write(vcpu, VCPU_NMI_BLOCKED, 1);
	if (!t->faulted && ev->task_switch.has_error_code)
		push_error_code(t, ev->task_switch.error_code);
	if (!t->faulted && !t->stopped && (t->tss.trap & 1)) {
		vcpu_write(vcpu, VCPU_DR6, vcpu_read(vcpu, VCPU_DR6) | DR6_BT);
		vcpu_inject_exception(vcpu, X86_VECTOR_DB, 0);
	}
}

enum exit_action handle_task_switch(struct vcpu *vcpu, struct exit_event *ev)
{
	struct task_switch t;

	if (!setup(&t, vcpu, ev))
		return EXIT_ACTION_END;
	/* No task switches in IA-32e mode or outside protected mode: the
	 * CPU gives #GP(0) (SDM Vol. 3C 25.4.2, 1.a-g). */
	if ((vcpu_read(vcpu, VCPU_EFER) & EFER_LMA) ||
	    !(vcpu_read(vcpu, VCPU_CR0) & CR0_PE)) {
		vcpu_inject_gp(vcpu);
		return EXIT_ACTION_RESUME;
	}
	if (!check_and_read(&t)) {
		if (t.stopped ||
		    !combine_with_event(&t, ev->task_switch.vector))
			return EXIT_ACTION_END;
		return raise_fault(&t);
	}
	/* The commit point: from here on the new task is current. */
	if (!save_old_task(&t) || !enter_new_task(&t))
		return t.stopped ? EXIT_ACTION_END : raise_fault(&t);
	load_segments(&t);
	if (t.stopped)
		return EXIT_ACTION_END;
	finish(&t, ev);
	if (t.stopped)
		return EXIT_ACTION_END;
	return t.faulted ? raise_fault(&t) : EXIT_ACTION_RESUME;
}
