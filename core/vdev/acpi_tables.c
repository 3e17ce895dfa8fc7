/* SPDX-License-Identifier: MIT */
/*
 * Guest ACPI tables, written field by field at the byte offsets of the
 * ACPI 6.5 tables (all fields little-endian, unaligned allowed).
 */
#include "core/vdev/acpi_tables.h"
#include "drivers/acpi_spec.h"
#include "core/lib/format.h"
#include "core/lib/string.h"
#include "core/vdev/vi8042.h"
#include "core/vdev/vpci.h"
#include "core/vdev/vrtc.h"

#define OEM_ID		 "VENEER"   /* 6 bytes */
#define OEM_TABLE_ID	 "VENEERVM" /* 8 bytes */
#define OEM_REVISION	 1
#define CREATOR_ID	 "VNER"
#define CREATOR_REVISION 1

/* 5.2.6 System Description Table Header. */
#define HDR_SIGNATURE	     0
#define HDR_LENGTH	     4
#define HDR_REVISION	     8
#define HDR_CHECKSUM	     9
#define HDR_OEM_ID	     10
#define HDR_OEM_TABLE_ID     16
#define HDR_OEM_REVISION     24
#define HDR_CREATOR_ID	     28
#define HDR_CREATOR_REVISION 32
#define HDR_SIZE	     36

/* 5.2.5.3 RSDP structure. */
#define RSDP_CHECKSUM	       8
#define RSDP_OEM_ID	       9
#define RSDP_REVISION	       15
#define RSDP_RSDT_ADDRESS      16
#define RSDP_LENGTH	       20
#define RSDP_XSDT_ADDRESS      24
#define RSDP_EXTENDED_CHECKSUM 32
#define RSDP_V1_SIZE	       20
#define RSDP_SIZE	       36
#define RSDP_REVISION_2	       2 /* ACPI 2.0 and later: has the XSDT */

/* 5.2.9 FADT: the field offsets are in drivers/acpi_spec.h. */
#define FADT_SIZE	     276
#define FADT_REVISION	     6
#define FADT_MINOR	     5
#define P_LVL2_NOT_SUPPORTED 101  /* > 100 us: no C2 */
#define P_LVL3_NOT_SUPPORTED 1001 /* > 1000 us: no C3 */

/* FADT Fixed Feature Flags (Table 5.10). */
#define FADT_F_WBINVD	     BIT(0)
#define FADT_F_PROC_C1	     BIT(2)
#define FADT_F_PWR_BUTTON    BIT(4) /* 1: no fixed-hardware power button */
#define FADT_F_SLP_BUTTON    BIT(5) /* 1: no fixed-hardware sleep button */
#define FADT_F_FIX_RTC	     BIT(6) /* 1: no RTC wake status in PM1 */
#define FADT_F_TMR_VAL_EXT   BIT(8) /* 1: the PM timer is 32 bits */
#define FADT_F_RESET_REG_SUP BIT(10)

/*
 * IA-PC Boot Architecture Flags (Table 5.11). LEGACY_DEVICES: the PIT,
 * RTC, PIC live on an ISA-style bus. VGA_NOT_PRESENT: there is no VGA.
 * The 8042 bit is left clear on purpose: the controller at 0x60/0x64 has
 * no keyboard behind it, and a guest told that an 8042 is there spends
 * seconds probing a keyboard that never answers; the reset command works
 * either way.
 */
#define BOOT_ARCH_LEGACY_DEVICES  BIT(0)
#define BOOT_ARCH_VGA_NOT_PRESENT BIT(2)

/* 5.2.3.2 Generic Address Structure. */
#define GAS_SIZE	12
#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_ANY	0 /* undefined: the register's width decides */
#define GAS_ACCESS_BYTE 1

/* 5.2.10 FACS (Table 5.14). */
#define FACS_SIGNATURE 0
#define FACS_LENGTH    4
#define FACS_VERSION   32
#define FACS_SIZE      64
#define FACS_ALIGN     64
#define FACS_VERSION_2 2

/* 5.2.12 MADT (Table 5.19) and its entries. */
#define MADT_LAPIC_ADDRESS  36
#define MADT_FLAGS	    40
#define MADT_ENTRIES	    44
#define MADT_REVISION	    5
#define MADT_PCAT_COMPAT    BIT(0) /* dual 8259s present */
#define MADT_TYPE_LAPIC	    0
#define MADT_TYPE_IOAPIC    1
#define MADT_TYPE_OVERRIDE  2
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_SIZE	    8
#define MADT_IOAPIC_SIZE    12
#define MADT_OVERRIDE_SIZE  10
#define MADT_LAPIC_NMI_SIZE 6
#define MADT_LAPIC_ENABLED  BIT(0)
#define MADT_ALL_PROCESSORS 0xff
#define MADT_NMI_LINT	    1
/* MPS INTI flags (Table 5.26): polarity bits 1:0, trigger mode 3:2. */
#define INTI_CONFORMS	 0x0
#define INTI_ACTIVE_HIGH 0x1
#define INTI_LEVEL	 (0x3 << 2)
#define ISA_BUS		 0
#define PIT_IRQ		 0
#define PIT_GSI		 2 /* the PIT is wired to IOAPIC pin 2 */

#define XSDT_REVISION 1
#define RSDT_REVISION 1
#define DSDT_REVISION 2 /* 64-bit AML integers */
#define TABLES_LISTED 2 /* FADT, MADT (the FADT points to FACS and DSDT) */

/*
 * \_S5, hand-assembled from the AML grammar (20.2):
 *   DefName    := NameOp NameString DataRefObject
 *   DefPackage := PackageOp PkgLength NumElements PackageElementList
 * PkgLength (20.2.4) counts itself, NumElements and the elements: 1 + 1 +
 * 6 = 8. Elements: BytePrefix 5, BytePrefix 5, ZeroOp, ZeroOp.
 * ASL: Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })
 * The first two are SLP_TYPa/SLP_TYPb for S5 (7.4.2 \_Sx).
 */
static const u8 s5_aml[] = {
    AML_NAME_OP,
    '_',
    'S',
    '5',
    '_',
    AML_PACKAGE_OP,
    0x08,
    0x04,
    AML_BYTE_PREFIX,
    ACPI_TABLES_S5_SLP_TYP,
    AML_BYTE_PREFIX,
    ACPI_TABLES_S5_SLP_TYP,
    AML_ZERO_OP,
    AML_ZERO_OP,
};

/*
 * Resource descriptors (6.4) of the host bridge's _CRS. Small items
 * (6.4.2) are one tag byte, bit 7 clear, name in bits 6:3 and length in
 * 2:0; large items (6.4.3) a tag byte with bit 7 set and the name in 6:0,
 * then a 16-bit length of what follows.
 */
#define RES_IO_PORT	       0x47 /* 6.4.2.5: name 0x08, 7 bytes */
#define RES_IO_PORT_SIZE       8
#define RES_IO_DECODE_16       0x01 /* decodes all 16 address bits */
#define RES_END_TAG	       0x79 /* 6.4.2.9: name 0x0f, 1 byte */
#define RES_END_TAG_SIZE       2
#define RES_DWORD_ADDRESS      0x87 /* 6.4.3.5.2 */
#define RES_DWORD_ADDRESS_LEN  23
#define RES_DWORD_ADDRESS_SIZE (3 + RES_DWORD_ADDRESS_LEN)
#define RES_WORD_ADDRESS       0x88 /* 6.4.3.5.3 */
#define RES_WORD_ADDRESS_LEN   13
#define RES_WORD_ADDRESS_SIZE  (3 + RES_WORD_ADDRESS_LEN)
/* Address space descriptors: Resource Type, General Flags (6.4.3.5.2-3). */
#define RES_TYPE_MEMORY	   0
#define RES_TYPE_IO	   1
#define RES_TYPE_BUS	   2
#define RES_FLAG_MIN_FIXED BIT(2) /* _MIF */
#define RES_FLAG_MAX_FIXED BIT(3) /* _MAF */
/* Bit 0 (ResourceProducer = 0) and _DEC (bit 1, 0 = positive decode)
 * stay clear: the bridge forwards these ranges and decodes them. */
#define RES_FLAGS_BRIDGE (RES_FLAG_MIN_FIXED | RES_FLAG_MAX_FIXED)
/* Type Specific Flags (6.4.3.5.5): I/O _RNG = 3, ISA and non-ISA ports;
 * memory _RW = 1, read-write, _MEM = 0, non-cacheable. */
#define RES_IO_ENTIRE_RANGE 0x03
#define RES_MEM_READ_WRITE  0x01
#define PCI_LEGACY_VGA_BASE 0xa0000u
#define PCI_LEGACY_VGA_END  0xbffffu
#define PCI_BUS_LAST	    0xff
#define PCI_IO_LAST	    0xffff
#define PCI_CRS_SIZE                                                           \
	(3 * RES_WORD_ADDRESS_SIZE + RES_IO_PORT_SIZE +                        \
	 2 * RES_DWORD_ADDRESS_SIZE + RES_END_TAG_SIZE)
/* _PRT Address: the device in the high word, 0xFFFF = any function. */
#define PRT_ANY_FUNCTION 0xffff
#define PRT_ENTRY_FIELDS 4

/*
 * A compressed EISA ID (6.1.5 _HID; what the ASL EISAID macro makes of
 * "PNP0A03"): the three letters, 5 bits each (A = 1) under a clear bit 15,
 * then the 16-bit product number, each half stored big-endian.
 */
#define EISA_VENDOR(a, b, c)                                                   \
	((u32)((a) - '@') << 10 | ((b) - '@') << 5 | ((c) - '@'))
#define EISA_ID(a, b, c, product)                                              \
	(EISA_VENDOR(a, b, c) >> 8 | (EISA_VENDOR(a, b, c) & 0xff) << 8 |      \
	 (u32)(product) >> 8 << 16 | (u32)(product) << 24)
#define PCI_HOST_BRIDGE_HID EISA_ID('P', 'N', 'P', 0x0a03) /* PNP0A03 */
_Static_assert(PCI_HOST_BRIDGE_HID == 0x030ad041, "EisaId (\"PNP0A03\")");

_Static_assert(ACPI_TABLES_PCI_PRT_ENTRIES <= 0xff,
	       "a Package's NumElements is one byte (20.2.5.4)");
_Static_assert(ACPI_TABLES_PCI_WINDOW_END < ACPI_TABLES_LAPIC_BASE,
	       "the local APICs are outside the PCI window");
_Static_assert(ACPI_TABLES_PCI_WINDOW_BASE > PCI_LEGACY_VGA_END,
	       "the two memory windows are apart");
_Static_assert(VPCI_ADDRESS_PORT + VPCI_PORTS - 1 < 0xd00,
	       "the _CRS consumes 0xCF8-0xCFF and forwards the rest");

_Static_assert(ACPI_TABLES_RESET_PORT == VI8042_COMMAND_PORT &&
		   ACPI_TABLES_RESET_VALUE == VI8042_CMD_RESET,
	       "FADT RESET_REG must name the 8042's reset command");
_Static_assert(VRTC_CENTURY_INDEX < VRTC_CMOS_SIZE,
	       "FADT CENTURY must index the CMOS RAM");

static void put8(u8 *p, u32 off, u8 v)
{
	p[off] = v;
}

static void put16(u8 *p, u32 off, u16 v)
{
	p[off] = (u8)v;
	p[off + 1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 off, u32 v)
{
	put16(p, off, (u16)v);
	put16(p, off + 2, (u16)(v >> 16));
}

static void put64(u8 *p, u32 off, u64 v)
{
	put32(p, off, (u32)v);
	put32(p, off + 4, (u32)(v >> 32));
}

static void put_chars(u8 *p, u32 off, const char *s, u32 len)
{
	memcpy(p + off, s, len);
}

/* The value that makes `len` bytes (with it in place of 0) sum to 0. */
static u8 checksum(const u8 *p, u32 len)
{
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum = (u8)(sum + p[i]);
	return (u8)(0x100 - sum);
}

static void header(u8 *t, const char *signature, u32 length, u8 revision)
{
	put_chars(t, HDR_SIGNATURE, signature, 4);
	put32(t, HDR_LENGTH, length);
	put8(t, HDR_REVISION, revision);
	put_chars(t, HDR_OEM_ID, OEM_ID, 6);
	put_chars(t, HDR_OEM_TABLE_ID, OEM_TABLE_ID, 8);
	put32(t, HDR_OEM_REVISION, OEM_REVISION);
	put_chars(t, HDR_CREATOR_ID, CREATOR_ID, 4);
	put32(t, HDR_CREATOR_REVISION, CREATOR_REVISION);
}

/* Call last, once every field of the table is written. */
static void seal(u8 *t)
{
	u32 len = t[HDR_LENGTH] | t[HDR_LENGTH + 1] << 8 |
		  t[HDR_LENGTH + 2] << 16 | (u32)t[HDR_LENGTH + 3] << 24;

	t[HDR_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = checksum(t, len);
}

static void gas_io(u8 *p, u32 off, u8 bit_width, u8 access, u16 port)
{
	put8(p, off, GAS_SYSTEM_IO);
	put8(p, off + 1, bit_width);
	put8(p, off + 2, 0); /* bit offset */
	put8(p, off + 3, access);
	put64(p, off + 4, port);
}

/*
 * ---- a small AML writer ----
 *
 * Appends to buf; with buf NULL it only counts, so the same code measures
 * the DSDT (to lay the tables out) and then writes it. A PkgLength
 * (20.2.4) counts itself, and its size (1-4 bytes) depends on what
 * follows it, so aml_open() marks where the contents start and
 * aml_close() slides them up to make room for the PkgLength, once their
 * length is known. Nested packages close inner first: an outer mark, being
 * earlier, never moves.
 */
struct aml {
	u8 *buf; /* NULL: measure only */
	u32 len;
};

static void aml_byte(struct aml *a, u8 v)
{
	if (a->buf)
		a->buf[a->len] = v;
	a->len++;
}

static void aml_bytes(struct aml *a, const void *p, u32 n)
{
	if (a->buf)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

/* v as `bytes` little-endian bytes (resource descriptor fields). */
static void aml_le(struct aml *a, u32 v, u32 bytes)
{
	for (u32 i = 0; i < bytes; i++)
		aml_byte(a, (u8)(v >> (8 * i)));
}

/* Puts n bytes at `at`, moving what is already after `at` up by n. */
static void aml_insert(struct aml *a, u32 at, const u8 *p, u32 n)
{
	if (a->buf) {
		memmove(a->buf + at + n, a->buf + at, a->len - at);
		memcpy(a->buf + at, p, n);
	}
	a->len += n;
}

/* NameSeg (20.2.2): four characters, '_' padded (all ours are four). */
static void aml_nameseg(struct aml *a, const char *name)
{
	aml_bytes(a, name, 4);
}

/* The shortest ComputationalData for v (20.2.3); *p gets 1-5 bytes. */
static u32 aml_integer_encode(u32 v, u8 *p)
{
	u32 size;

	if (v <= 1) {
		p[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= 0xff) {
		p[0] = AML_BYTE_PREFIX;
		size = 1;
	} else if (v <= 0xffff) {
		p[0] = AML_WORD_PREFIX;
		size = 2;
	} else {
		p[0] = AML_DWORD_PREFIX;
		size = 4;
	}
	for (u32 i = 0; i < size; i++)
		p[1 + i] = (u8)(v >> (8 * i));
	return 1 + size;
}

static void aml_integer(struct aml *a, u32 v)
{
	u8 enc[5];

	aml_bytes(a, enc, aml_integer_encode(v, enc));
}

/*
 * PkgLength (20.2.4) for `contents` bytes after it: one byte up to 63 in
 * all (bits 5:0); else bits 7:6 of the lead byte count the 1-3 bytes that
 * follow, the lead's bits 3:0 are the low nibble of the length and each
 * following byte the next 8 bits. Returns its size.
 */
static u32 aml_pkg_length_encode(u32 contents, u8 *p)
{
	u32 n, total;

	if (contents + 1 <= AML_PKG_LENGTH_MAX_1) {
		p[0] = (u8)(contents + 1);
		return 1;
	}
	if (contents + 2 <= AML_PKG_LENGTH_MAX_2)
		n = 2;
	else if (contents + 3 <= AML_PKG_LENGTH_MAX_3)
		n = 3;
	else
		n = 4; /* the DSDT is far below 2^28 bytes */
	total = contents + n;
	p[0] = (u8)((n - 1) << 6 | (total & 0xf));
	for (u32 i = 1; i < n; i++)
		p[i] = (u8)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* Where the contents of a PkgLength'd term start; its opcode is written. */
static u32 aml_open(struct aml *a)
{
	return a->len;
}

/* The contents from `mark` on are complete: put their PkgLength before. */
static void aml_close(struct aml *a, u32 mark)
{
	u8 enc[4];

	aml_insert(a, mark, enc, aml_pkg_length_encode(a->len - mark, enc));
}

/* DefName (20.2.5.1) of an integer. */
static void aml_name_integer(struct aml *a, const char *name, u32 v)
{
	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, name);
	aml_integer(a, v);
}

/* ---- the PCI host bridge, \_SB.PCI0 ---- */

/*
 * A Word (6.4.3.5.3) or DWord (6.4.3.5.2) Address Space Descriptor
 * (`bytes` 2 or 4 wide) that the bridge forwards: fixed [min, max], no
 * granularity mask (0: the range is not relocatable anyway), no
 * translation, length max - min + 1.
 */
static void res_address(struct aml *a, u32 bytes, u8 type, u8 type_flags,
			u32 min, u32 max)
{
	aml_byte(a, bytes == 2 ? RES_WORD_ADDRESS : RES_DWORD_ADDRESS);
	aml_le(a, bytes == 2 ? RES_WORD_ADDRESS_LEN : RES_DWORD_ADDRESS_LEN, 2);
	aml_byte(a, type);
	aml_byte(a, RES_FLAGS_BRIDGE);
	aml_byte(a, type_flags);
	aml_le(a, 0, bytes); /* granularity */
	aml_le(a, min, bytes);
	aml_le(a, max, bytes);
	aml_le(a, 0, bytes); /* translation offset */
	aml_le(a, max - min + 1, bytes);
}

/*
 * Name (_CRS, ResourceTemplate () {...}) (6.2.2): a Buffer of resource
 * descriptors. In ASL:
 *   WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
 *                  0, 0x00, 0xFF, 0, 0x100)
 *   IO (Decode16, 0x0CF8, 0x0CF8, 1, 8)     the bridge's own ports
 *   WordIO (..., EntireRange, 0, 0x0000, 0x0CF7, 0, 0x0CF8)
 *   WordIO (..., EntireRange, 0, 0x0D00, 0xFFFF, 0, 0xF300)
 *   DWordMemory (..., NonCacheable, ReadWrite, 0, 0xA0000, 0xBFFFF, 0,
 *                0x20000)                   legacy VGA
 *   DWordMemory (..., NonCacheable, ReadWrite, 0, WINDOW_BASE,
 *                WINDOW_END, 0, WINDOW_SIZE)
 * DefBuffer := BufferOp PkgLength BufferSize ByteList (20.2.5.4); the
 * End Tag's checksum 0 means "treat as correct" (6.4.2.9).
 */
static void pci_crs(struct aml *a)
{
	u32 mark;

	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, "_CRS");
	aml_byte(a, AML_BUFFER_OP);
	mark = aml_open(a);
	aml_integer(a, PCI_CRS_SIZE);
	res_address(a, 2, RES_TYPE_BUS, 0, 0, PCI_BUS_LAST);
	aml_byte(a, RES_IO_PORT);
	aml_byte(a, RES_IO_DECODE_16);
	aml_le(a, VPCI_ADDRESS_PORT, 2); /* minimum base */
	aml_le(a, VPCI_ADDRESS_PORT, 2); /* maximum base */
	aml_byte(a, 1);			 /* alignment */
	aml_byte(a, VPCI_PORTS);	 /* length */
	res_address(a, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, 0,
		    VPCI_ADDRESS_PORT - 1);
	res_address(a, 2, RES_TYPE_IO, RES_IO_ENTIRE_RANGE,
		    VPCI_ADDRESS_PORT + VPCI_PORTS, PCI_IO_LAST);
	res_address(a, 4, RES_TYPE_MEMORY, RES_MEM_READ_WRITE,
		    PCI_LEGACY_VGA_BASE, PCI_LEGACY_VGA_END);
	res_address(a, 4, RES_TYPE_MEMORY, RES_MEM_READ_WRITE,
		    ACPI_TABLES_PCI_WINDOW_BASE, ACPI_TABLES_PCI_WINDOW_END);
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0);
	aml_close(a, mark);
}

/*
 * Name (_PRT, Package () { Package () { Address, Pin, Source, Index }, ...})
 * (6.2.13): Address = slot << 16 | 0xFFFF (any function), Pin 0-3 =
 * INTA-INTD, Source Zero (no link device: Index is the GSI itself).
 */
static void pci_prt(struct aml *a, u32 gsi_base)
{
	u32 table, entry;

	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, "_PRT");
	aml_byte(a, AML_PACKAGE_OP);
	table = aml_open(a);
	aml_byte(a, ACPI_TABLES_PCI_PRT_ENTRIES); /* NumElements */
	for (u32 slot = ACPI_TABLES_PCI_FIRST_SLOT;
	     slot < ACPI_TABLES_PCI_SLOTS; slot++) {
		for (u32 pin = 0; pin < ACPI_TABLES_PCI_PINS; pin++) {
			aml_byte(a, AML_PACKAGE_OP);
			entry = aml_open(a);
			aml_byte(a, PRT_ENTRY_FIELDS);
			aml_integer(a, slot << 16 | PRT_ANY_FUNCTION);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a,
				    gsi_base + acpi_tables_pci_gsi(slot, pin));
			aml_close(a, entry);
		}
	}
	aml_close(a, table);
}

/*
 * The DSDT's definition block:
 *   Name (_S5, ...)
 *   Scope (\_SB) {
 *     Device (PCI0) {
 *       Name (_HID, EisaId ("PNP0A03"))   PCI host bridge (6.1.5)
 *       Name (_UID, Zero)                 (6.1.12)
 *       Name (_BBN, Zero)                 its bus is bus 0 (6.5.5)
 *       Name (_CRS, ...)                  pci_crs()
 *       Name (_PRT, ...)                  pci_prt()
 *     }
 *   }
 * DefScope := ScopeOp PkgLength NameString TermList (20.2.5.1),
 * DefDevice := DeviceOp PkgLength NameString TermList (20.2.5.2).
 * With ACPI, x86 Linux finds PCI root buses only through such a device.
 */
static void dsdt_aml(struct aml *a, u32 gsi_base)
{
	u32 scope, device;

	aml_bytes(a, s5_aml, sizeof(s5_aml));
	aml_byte(a, AML_SCOPE_OP);
	scope = aml_open(a);
	aml_byte(a, AML_ROOT_CHAR);
	aml_nameseg(a, "_SB_");
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_EXT_DEVICE_OP);
	device = aml_open(a);
	aml_nameseg(a, "PCI0");
	aml_name_integer(a, "_HID", PCI_HOST_BRIDGE_HID);
	aml_name_integer(a, "_UID", 0);
	aml_name_integer(a, "_BBN", 0);
	pci_crs(a);
	pci_prt(a, gsi_base);
	aml_close(a, device);
	aml_close(a, scope);
}

/* Offsets of every table inside the area, decided before writing. */
struct layout {
	u32 rsdp, rsdt, xsdt, facs, fadt, madt, dsdt, end;
	u32 rsdt_len, xsdt_len, madt_len, dsdt_len;
};

static u32 madt_length(u32 cpus)
{
	return MADT_ENTRIES + cpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
	       2 * MADT_OVERRIDE_SIZE + MADT_LAPIC_NMI_SIZE;
}

static void plan(const struct acpi_tables_config *cfg, struct layout *l)
{
	u64 base = cfg->base_gpa;
	struct aml measure = {NULL, 0};

	dsdt_aml(&measure, cfg->ioapic_gsi_base);
	l->rsdt_len = HDR_SIZE + TABLES_LISTED * 4;
	l->xsdt_len = HDR_SIZE + TABLES_LISTED * 8;
	l->madt_len = madt_length(cfg->cpu_count);
	l->dsdt_len = HDR_SIZE + measure.len;
	/* RSDP on a 16-byte boundary (5.2.5.1), FACS on 64 (5.2.10). */
	l->rsdp = 0;
	l->rsdt = (u32)ALIGN_UP(l->rsdp + RSDP_SIZE, 16);
	l->xsdt = (u32)ALIGN_UP(l->rsdt + l->rsdt_len, 16);
	l->facs =
	    (u32)(ALIGN_UP(base + l->xsdt + l->xsdt_len, FACS_ALIGN) - base);
	l->fadt = (u32)ALIGN_UP(l->facs + FACS_SIZE, 16);
	l->madt = (u32)ALIGN_UP(l->fadt + FADT_SIZE, 16);
	l->dsdt = (u32)ALIGN_UP(l->madt + l->madt_len, 16);
	l->end = l->dsdt + l->dsdt_len;
}

static void build_rsdp(u8 *p, u32 rsdt, u64 xsdt)
{
	put_chars(p, 0, "RSD PTR ", 8);
	put_chars(p, RSDP_OEM_ID, OEM_ID, 6);
	put8(p, RSDP_REVISION, RSDP_REVISION_2);
	put32(p, RSDP_RSDT_ADDRESS, rsdt);
	put32(p, RSDP_LENGTH, RSDP_SIZE);
	put64(p, RSDP_XSDT_ADDRESS, xsdt);
	p[RSDP_CHECKSUM] = checksum(p, RSDP_V1_SIZE);
	p[RSDP_EXTENDED_CHECKSUM] = checksum(p, RSDP_SIZE);
}

static void build_roots(u8 *area, const struct layout *l, u64 base)
{
	u8 *rsdt = area + l->rsdt, *xsdt = area + l->xsdt;
	const u32 listed[TABLES_LISTED] = {l->fadt, l->madt};

	header(rsdt, "RSDT", l->rsdt_len, RSDT_REVISION);
	header(xsdt, "XSDT", l->xsdt_len, XSDT_REVISION);
	for (u32 i = 0; i < TABLES_LISTED; i++) {
		put32(rsdt, HDR_SIZE + 4 * i, (u32)(base + listed[i]));
		put64(xsdt, HDR_SIZE + 8 * i, base + listed[i]);
	}
	seal(rsdt);
	seal(xsdt);
}

static void build_facs(u8 *f)
{
	put_chars(f, FACS_SIGNATURE, "FACS", 4);
	put32(f, FACS_LENGTH, FACS_SIZE);
	put8(f, FACS_VERSION, FACS_VERSION_2);
	/* No waking vector, no global lock owner, no S4BIOS: all zero. */
}

static void build_fadt(u8 *f, u32 facs, u32 dsdt)
{
	header(f, "FACP", FADT_SIZE, FADT_REVISION);
	/* The X_ fields repeat the 32-bit ones exactly: an OS uses either. */
	put32(f, FADT_FIRMWARE_CTRL, facs);
	put32(f, FADT_DSDT, dsdt);
	put64(f, FADT_X_FIRMWARE_CTRL, facs);
	put64(f, FADT_X_DSDT, dsdt);
	put8(f, FADT_PM_PROFILE, 0); /* unspecified */
	put16(f, FADT_SCI_INT, ACPI_TABLES_SCI_IRQ);
	/* SMI_CMD = 0: no SMM handshake, the machine is always in ACPI
	 * mode (SCI_EN reads 1). */
	put32(f, FADT_SMI_CMD, 0);
	put32(f, FADT_PM1A_EVT_BLK, ACPI_TABLES_PM1A_EVT_PORT);
	put32(f, FADT_PM1A_CNT_BLK, ACPI_TABLES_PM1A_CNT_PORT);
	put32(f, FADT_PM_TMR_BLK, ACPI_TABLES_PM_TMR_PORT);
	put8(f, FADT_PM1_EVT_LEN, ACPI_TABLES_PM1_EVT_LEN);
	put8(f, FADT_PM1_CNT_LEN, ACPI_TABLES_PM1_CNT_LEN);
	put8(f, FADT_PM_TMR_LEN, ACPI_TABLES_PM_TMR_LEN);
	gas_io(f, FADT_X_PM1A_EVT_BLK, ACPI_TABLES_PM1_EVT_LEN * 8,
	       GAS_ACCESS_ANY, ACPI_TABLES_PM1A_EVT_PORT);
	gas_io(f, FADT_X_PM1A_CNT_BLK, ACPI_TABLES_PM1_CNT_LEN * 8,
	       GAS_ACCESS_ANY, ACPI_TABLES_PM1A_CNT_PORT);
	gas_io(f, FADT_X_PM_TMR_BLK, ACPI_TABLES_PM_TMR_LEN * 8, GAS_ACCESS_ANY,
	       ACPI_TABLES_PM_TMR_PORT);
	put16(f, FADT_P_LVL2_LAT, P_LVL2_NOT_SUPPORTED);
	put16(f, FADT_P_LVL3_LAT, P_LVL3_NOT_SUPPORTED);
	put8(f, FADT_CENTURY, VRTC_CENTURY_INDEX);
	put16(f, FADT_IAPC_BOOT_ARCH,
	      BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_VGA_NOT_PRESENT);
	put32(f, FADT_FLAGS,
	      FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
		  FADT_F_SLP_BUTTON | FADT_F_FIX_RTC | FADT_F_TMR_VAL_EXT |
		  FADT_F_RESET_REG_SUP);
	gas_io(f, FADT_RESET_REG, 8, GAS_ACCESS_BYTE, ACPI_TABLES_RESET_PORT);
	put8(f, FADT_RESET_VALUE, ACPI_TABLES_RESET_VALUE);
	put8(f, FADT_MINOR_VERSION, FADT_MINOR);
	put_chars(f, FADT_HYPERVISOR_ID, "Veneer\0\0", 8);
	seal(f);
}

static u32 madt_override(u8 *m, u32 off, u8 irq, u32 gsi, u16 flags)
{
	put8(m, off, MADT_TYPE_OVERRIDE);
	put8(m, off + 1, MADT_OVERRIDE_SIZE);
	put8(m, off + 2, ISA_BUS);
	put8(m, off + 3, irq);
	put32(m, off + 4, gsi);
	put16(m, off + 8, flags);
	return off + MADT_OVERRIDE_SIZE;
}

static void build_madt(u8 *m, u32 len, const struct acpi_tables_config *cfg)
{
	u32 off = MADT_ENTRIES;

	header(m, "APIC", len, MADT_REVISION);
	put32(m, MADT_LAPIC_ADDRESS, ACPI_TABLES_LAPIC_BASE);
	put32(m, MADT_FLAGS, MADT_PCAT_COMPAT);
	/* CPU i: processor UID i, APIC ID i; the BSP (ID 0) comes first. */
	for (u32 i = 0; i < cfg->cpu_count; i++, off += MADT_LAPIC_SIZE) {
		put8(m, off, MADT_TYPE_LAPIC);
		put8(m, off + 1, MADT_LAPIC_SIZE);
		put8(m, off + 2, (u8)i);
		put8(m, off + 3, (u8)i);
		put32(m, off + 4, MADT_LAPIC_ENABLED);
	}
	put8(m, off, MADT_TYPE_IOAPIC);
	put8(m, off + 1, MADT_IOAPIC_SIZE);
	put8(m, off + 2, cfg->ioapic_id);
	put8(m, off + 3, 0);
	put32(m, off + 4, cfg->ioapic_address);
	put32(m, off + 8, cfg->ioapic_gsi_base);
	off += MADT_IOAPIC_SIZE;
	/* ISA IRQ 0 (the PIT) arrives on GSI 2, edge / high as ISA is. */
	off = madt_override(m, off, PIT_IRQ, cfg->ioapic_gsi_base + PIT_GSI,
			    INTI_CONFORMS);
	/* The SCI is level-triggered, active high (5.2.12.5). */
	off = madt_override(m, off, ACPI_TABLES_SCI_IRQ,
			    cfg->ioapic_gsi_base + ACPI_TABLES_SCI_IRQ,
			    INTI_ACTIVE_HIGH | INTI_LEVEL);
	/* LINT1 of every local APIC is the NMI input, as on PCs. */
	put8(m, off, MADT_TYPE_LAPIC_NMI);
	put8(m, off + 1, MADT_LAPIC_NMI_SIZE);
	put8(m, off + 2, MADT_ALL_PROCESSORS);
	put16(m, off + 3, INTI_CONFORMS);
	put8(m, off + 5, MADT_NMI_LINT);
	seal(m);
}

static void build_dsdt(u8 *d, u32 len, u32 gsi_base)
{
	struct aml body = {d + HDR_SIZE, 0};

	header(d, "DSDT", len, DSDT_REVISION);
	dsdt_aml(&body, gsi_base); /* exactly len - HDR_SIZE, as measured */
	seal(d);
}

static bool check_config(const struct acpi_tables_config *cfg, u32 area_size,
			 char *err, size_t errlen)
{
	if (cfg->cpu_count == 0 || cfg->cpu_count > ACPI_TABLES_MAX_CPUS) {
		snformat(err, errlen,
			 "ACPI tables: %u CPUs requested, 1 to %u possible",
			 cfg->cpu_count, ACPI_TABLES_MAX_CPUS);
		return false;
	}
	if (!IS_ALIGNED(cfg->base_gpa, 16)) {
		snformat(err, errlen,
			 "ACPI tables: area at 0x%llx is not 16-byte aligned",
			 (unsigned long long)cfg->base_gpa);
		return false;
	}
	if (area_size < ACPI_TABLES_MIN_AREA) {
		snformat(err, errlen,
			 "ACPI tables: area of %u bytes, at least %u needed",
			 area_size, ACPI_TABLES_MIN_AREA);
		return false;
	}
	if (cfg->ioapic_address >= ACPI_TABLES_PCI_WINDOW_BASE &&
	    cfg->ioapic_address <= ACPI_TABLES_PCI_WINDOW_END) {
		snformat(err, errlen,
			 "ACPI tables: IOAPIC at 0x%x is inside the PCI "
			 "window 0x%x-0x%x",
			 cfg->ioapic_address, ACPI_TABLES_PCI_WINDOW_BASE,
			 ACPI_TABLES_PCI_WINDOW_END);
		return false;
	}
	if (cfg->base_gpa + area_size > GiB(4)) {
		snformat(err, errlen,
			 "ACPI tables: area at 0x%llx ends above 4 GiB, but "
			 "the RSDT and FADT hold 32-bit addresses",
			 (unsigned long long)cfg->base_gpa);
		return false;
	}
	return true;
}

bool acpi_tables_build(const struct acpi_tables_config *cfg, void *area,
		       u32 area_size, struct acpi_tables_result *out, char *err,
		       size_t errlen)
{
	u8 *a = area;
	u64 base = cfg->base_gpa;
	struct layout l;

	if (!check_config(cfg, area_size, err, errlen))
		return false;
	plan(cfg, &l);
	/* The largest MADT with the DSDT fits ACPI_TABLES_MIN_AREA (checked
	 * by tests); this only guards against a layout that outgrew it. */
	if (l.end > area_size) {
		snformat(err, errlen,
			 "ACPI tables: %u bytes needed, the area has %u", l.end,
			 area_size);
		return false;
	}
	memset(a, 0, l.end);
	build_facs(a + l.facs);
	build_dsdt(a + l.dsdt, l.dsdt_len, cfg->ioapic_gsi_base);
	build_madt(a + l.madt, l.madt_len, cfg);
	build_fadt(a + l.fadt, (u32)(base + l.facs), (u32)(base + l.dsdt));
	build_roots(a, &l, base);
	build_rsdp(a + l.rsdp, (u32)(base + l.rsdt), base + l.xsdt);
	out->rsdp_gpa = base + l.rsdp;
	out->rsdt_gpa = base + l.rsdt;
	out->xsdt_gpa = base + l.xsdt;
	out->fadt_gpa = base + l.fadt;
	out->facs_gpa = base + l.facs;
	out->madt_gpa = base + l.madt;
	out->dsdt_gpa = base + l.dsdt;
	out->used = l.end;
	return true;
}
