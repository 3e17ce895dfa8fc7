/* SPDX-License-Identifier: MIT */
/*
 * ACPI facts both sides use: Veneer reads the host's tables (to power the
 * machine off) and builds tables for its guests. References are to ACPI
 * 6.5: the FADT's layout (5.2.9, Table 5.9) as byte offsets, the Generic
 * Address Structure (5.2.3.2), the PM1 control bits (4.8.3.2.1) and the
 * few AML opcodes of a \_S5 package and of the guest's PCI root bridge
 * (20.2).
 */
#ifndef VENEER_DRIVERS_ACPI_SPEC_H
#define VENEER_DRIVERS_ACPI_SPEC_H

#define FADT_FIRMWARE_CTRL   36
#define FADT_DSDT	     40
#define FADT_PM_PROFILE	     45
#define FADT_SCI_INT	     46
#define FADT_SMI_CMD	     48
#define FADT_ACPI_ENABLE     52
#define FADT_PM1A_EVT_BLK    56
#define FADT_PM1A_CNT_BLK    64
#define FADT_PM1B_CNT_BLK    68
#define FADT_PM_TMR_BLK	     76
#define FADT_PM1_EVT_LEN     88
#define FADT_PM1_CNT_LEN     89
#define FADT_PM_TMR_LEN	     91
#define FADT_P_LVL2_LAT	     96
#define FADT_P_LVL3_LAT	     98
#define FADT_CENTURY	     108
#define FADT_IAPC_BOOT_ARCH  109
#define FADT_FLAGS	     112
#define FADT_RESET_REG	     116
#define FADT_RESET_VALUE     128
#define FADT_MINOR_VERSION   131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT	     140
#define FADT_X_PM1A_EVT_BLK  148
#define FADT_X_PM1A_CNT_BLK  172
#define FADT_X_PM1B_CNT_BLK  184
#define FADT_X_PM_TMR_BLK    208
#define FADT_HYPERVISOR_ID   268

/* Generic Address Structure (5.2.3.2, Table 5.1): 12 bytes. */
#define GAS_SPACE_ID 0 /* 0 = system memory, 1 = system I/O */
#define GAS_ADDRESS  4 /* 64-bit address */
#define GAS_SIZE     12
#define GAS_SPACE_IO 1

/* PM1 control register bits (4.8.3.2.1). */
#define PM1_CNT_SCI_EN	      0x0001
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK  (7u << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN	      0x2000

/*
 * AML (20.2): the integer encodings (20.2.3), DefName and DefScope
 * (20.2.5.1), DefDevice (20.2.5.2: ExtOpPrefix then DeviceOp), DefBuffer
 * and DefPackage (20.2.5.4), the root prefix of a NameString (20.2.2).
 */
#define AML_ZERO_OP	  0x00
#define AML_ONE_OP	  0x01
#define AML_NAME_OP	  0x08
#define AML_BYTE_PREFIX	  0x0a
#define AML_WORD_PREFIX	  0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_SCOPE_OP	  0x10
#define AML_BUFFER_OP	  0x11
#define AML_PACKAGE_OP	  0x12
#define AML_EXT_OP_PREFIX 0x5b
#define AML_EXT_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR	  0x5c /* '\\' */
/* PkgLength (20.2.4): bits 7:6 of the lead byte count the bytes after it. */
#define AML_PKG_LENGTH_MAX_1 0x3f      /* one byte: length in bits 5:0 */
#define AML_PKG_LENGTH_MAX_2 0xfff     /* lead bits 3:0, then 8 bits */
#define AML_PKG_LENGTH_MAX_3 0xfffff   /* ... then 8 more */
#define AML_PKG_LENGTH_MAX_4 0xfffffff /* ... then 8 more: 28 bits */

#endif /* VENEER_DRIVERS_ACPI_SPEC_H */
