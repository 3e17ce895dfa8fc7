/* SPDX-License-Identifier: MIT */
/*
 * acpisleep: the ACPI sleep states a guest is offered, and what happens
 * when it asks for another (issue 16, item 12).
 *
 * Finds the RSDP in 0xE0000-0xFFFFF (ACPI 6.5 5.2.5.1), the FADT through
 * the RSDT and the DSDT through the FADT, and checks that the DSDT names
 * \_S5 and, under Veneer, none of \_S1-\_S4: Veneer implements only S5
 * (power off), so it must not offer the others. (Natively QEMU's DSDT
 * offers S3 and S4: SKIP.)
 *
 * With `slp_typ=N` it then writes SLP_TYP = N with SLP_EN to PM1a_CNT
 * (ACPI 6.5 4.8.3.2.1), after printing "acpisleep: requesting sleep type
 * N". A type Veneer does not implement must end the guest with a reason
 * that names it; if the guest is still running afterwards it FAILs (a
 * silent hang or a silent no-op are both wrong).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define BIOS_AREA     0xe0000UL
#define BIOS_AREA_END 0x100000UL
#define RSDP_RSDT     16 /* RsdtAddress */
#define HDR_LENGTH    4
#define HDR_SIZE      36
#define FADT_DSDT     40
#define FADT_PM1A_CNT 64
#define SLP_TYP_SHIFT 10
#define SLP_EN	      BIT(13)
#define SLEEP_WAIT    1000000

static u32 read32(uintptr_t a)
{
	return *(const volatile u32 *)a;
}

static bool same(uintptr_t a, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const char *)a)[i] != s[i])
			return false;
	return true;
}

static uintptr_t find_rsdp(void)
{
	for (uintptr_t a = BIOS_AREA; a < BIOS_AREA_END; a += 16)
		if (same(a, "RSD PTR ", 8))
			return a;
	return 0;
}

/* The table with `sig` that the RSDT lists, or 0. */
static uintptr_t find_table(uintptr_t rsdt, const char *sig)
{
	u32 len = read32(rsdt + HDR_LENGTH);

	for (u32 off = HDR_SIZE; off + 4 <= len; off += 4) {
		uintptr_t t = read32(rsdt + off);

		if (same(t, sig, 4))
			return t;
	}
	return 0;
}

/* Whether the AML of `table` holds the name `name` (4 characters). */
static bool aml_names(uintptr_t table, const char *name)
{
	u32 len = read32(table + HDR_LENGTH);

	for (u32 off = HDR_SIZE; off + 4 <= len; off++)
		if (same(table + off, name, 4))
			return true;
	return false;
}

static void request_sleep(u16 pm1a_cnt, const char *arg)
{
	u64 type;

	if (!parse_u64(arg, &type) || type > 7) {
		guest_fail("slp_typ= must be 0-7");
		return;
	}
	guest_printf("acpisleep: requesting sleep type %u\n", (unsigned)type);
	serial_drain();
	outw(pm1a_cnt, (u16)((type << SLP_TYP_SHIFT) | SLP_EN));
	for (volatile unsigned i = 0; i < SLEEP_WAIT; i++)
		;
	guest_fail("the guest still runs after requesting a sleep state");
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *slp_typ = cmdline_value(guest_cmdline(mbi), "slp_typ");
	uintptr_t rsdp = find_rsdp(), rsdt, fadt, dsdt;
	static const char *const others[] = {"_S1_", "_S2_", "_S3_", "_S4_"};

	if (!EXPECT_TRUE(rsdp != 0, "RSDP in 0xE0000-0xFFFFF"))
		return;
	rsdt = read32(rsdp + RSDP_RSDT);
	fadt = find_table(rsdt, "FACP");
	if (!EXPECT_TRUE(fadt != 0, "the RSDT lists a FADT"))
		return;
	dsdt = read32(fadt + FADT_DSDT);
	if (!EXPECT_TRUE(dsdt && same(dsdt, "DSDT", 4),
			 "the FADT names a DSDT"))
		return;
	EXPECT_TRUE(aml_names(dsdt, "_S5_"), "the DSDT offers \\_S5");
	if (under_veneer()) {
		for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
			char what[48] = "the DSDT does not offer \\";

			memcpy(what + str_len(what), others[i], 3);
			EXPECT_TRUE(!aml_names(dsdt, others[i]), what);
		}
	} else {
		guest_skip("\\_S1-\\_S4 absent (QEMU offers S3 and S4)");
	}
	if (slp_typ)
		request_sleep((u16)read32(fadt + FADT_PM1A_CNT), slp_typ);
}
