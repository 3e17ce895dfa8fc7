/* SPDX-License-Identifier: MIT */
/*
 * selftest=iommu (core/cmdline.h): QEMU's edu device aims its DMA engine
 * inside and outside an IOMMU domain (drivers/iommu_selftest.c,
 * docs/passthrough.md). Prints `veneer: selftest: iommu: PASS|FAIL: ...`
 * lines and a closing `veneer: selftest: iommu: PASS|FAIL (VENDOR, N
 * failed)`, or why it was skipped.
 */
#ifndef VENEER_DRIVERS_IOMMU_SELFTEST_H
#define VENEER_DRIVERS_IOMMU_SELFTEST_H

/* After iommu_init() and pci_enumerate(), before any guest runs. */
void iommu_selftest(void);

#endif /* VENEER_DRIVERS_IOMMU_SELFTEST_H */
