// SPDX-License-Identifier: MIT
/*
 * What core/platform.c and core/vdev/vpassthru.c call for an assigned
 * host PCI function's interrupts and BARs, for the tests and fuzz targets of
 * the platform, where no guest owns one: never asked for, so each refuses.
 */
#include "arch/x86/percpu.h"
#include "arch/x86/traps.h"
#include "core/lib/format.h"
#include "core/vm.h"
#include "drivers/iommu.h"

struct percpu *percpu_of(u32 index)
{
	(void)index;
	return NULL;
}

int host_irq_alloc(host_irq_fn fn, void *ctx)
{
	(void)fn;
	(void)ctx;
	return -1;
}

void host_irq_free(int vector)
{
	(void)vector;
}

int iommu_irq_route(u16 bdf, u8 vector, u32 apic_id, u32 *handle,
		    struct iommu_msi *msg, char *err, size_t errlen)
{
	(void)bdf;
	(void)vector;
	(void)apic_id;
	(void)handle;
	(void)msg;
	snformat(err, errlen, "no IOMMU in this test");
	return -1;
}

void iommu_irq_unroute(u16 bdf, u32 *handle)
{
	(void)bdf;
	*handle = IOMMU_NO_IRQ;
}

int vm_map_device(struct vm *vm, u64 gpa, u64 hpa, u64 size)
{
	(void)vm;
	(void)gpa;
	(void)hpa;
	(void)size;
	return PT_ERR_CTX;
}

int vm_unmap_device(struct vm *vm, u64 gpa, u64 size)
{
	(void)vm;
	(void)gpa;
	(void)size;
	return PT_ERR_CTX;
}

const char *pt_error_string(int rc)
{
	(void)rc;
	return "no nested tables in this test";
}
