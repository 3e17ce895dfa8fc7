// SPDX-License-Identifier: MIT
/*
 * A guest's nested page tables (EPT or NPT) as the page-table engine sees
 * them, and the device memory mapped into them: core/vm.h.
 */
#include "core/vm.h"
#include "core/mm.h"

static void *nested_phys_to_virt(u64 hpa_value)
{
	return hpa_to_ptr(hpa_value);
}

static bool nested_alloc_table(void *opaque, u64 *out)
{
	(void)opaque;
	*out = mm_alloc_pages(1, PAGE_SIZE, MM_ANY);
	return *out != 0;
}

static void nested_free_table(void *opaque, u64 hpa_value)
{
	(void)opaque;
	mm_free_pages(hpa_value, 1);
}

struct pt_ctx vm_nested_ctx(const struct vm *vm)
{
	return (struct pt_ctx){.fmt = vcpu_caps.nested_format,
			       .root = vm->nested_root,
			       .phys_to_virt = nested_phys_to_virt,
			       .alloc_table = nested_alloc_table,
			       .free_table = nested_free_table};
}

/* 0 when [gpa, gpa + size) is page-aligned, not empty and clear of the
 * guest's RAM; the engine's error otherwise. */
static int device_range(const struct vm *vm, u64 gpa, u64 size)
{
	if (!size || (gpa & (PAGE_SIZE - 1)) || (size & (PAGE_SIZE - 1)))
		return PT_ERR_ALIGN;
	if (gpa + size < gpa || gpa < ALIGN_UP(vm->ram_size, PAGE_SIZE))
		return PT_ERR_RANGE;
	return 0;
}

int vm_map_device(struct vm *vm, u64 gpa, u64 hpa, u64 size)
{
	struct pt_ctx ctx = vm_nested_ctx(vm);
	int rc;

	rc = device_range(vm, gpa, size);
	if (!rc && (hpa & (PAGE_SIZE - 1)))
		rc = PT_ERR_ALIGN;
	if (rc)
		return rc;
	rc = pt_map(&ctx, gpa, hpa, size, PT_R | PT_W | PT_UC);
	vm->nested_tables = pt_count_tables(&ctx);
	return rc;
}

int vm_unmap_device(struct vm *vm, u64 gpa, u64 size)
{
	struct pt_ctx ctx = vm_nested_ctx(vm);
	int rc;

	rc = device_range(vm, gpa, size);
	if (rc)
		return rc;
	rc = pt_unmap(&ctx, gpa, size);
	vm->nested_tables = pt_count_tables(&ctx);
	for (u32 i = 0; i < vm->vcpu_count; i++)
		if (vm->vcpus[i]) {
			__atomic_store_n(&vm->vcpus[i]->nested_flush, true,
					 __ATOMIC_SEQ_CST);
			vm_wake_vcpu(vm, i);
		}
	return rc;
}
