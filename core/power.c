/* SPDX-License-Identifier: MIT */
#include "core/power.h"
#include "core/lib/printk.h"
#include "core/lib/format.h"
#include "drivers/acpi.h"
#include "drivers/acpi_spec.h"
#include "drivers/uart.h"
#include "arch/x86/cpu.h"

/* QEMU `-device isa-debug-exit,iobase=0xf4,iosize=4`: exits (v << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
/* Bochs ends the simulation when "Shutdown" is written to this port. */
#define BOCHS_SHUTDOWN_PORT 0x8900

static struct acpi_sleep_info acpi_s5;
static bool have_acpi_s5;

void power_set_acpi(const struct acpi_sleep_info *s5)
{
	have_acpi_s5 = s5 != NULL;
	if (s5)
		acpi_s5 = *s5;
}

/* PM1x_CNT = SLP_TYP | SLP_EN, the other bits kept (ACPI 6.5 4.8.3.2.1). */
static void enter_s5(u16 port, u8 slp_typ)
{
	u16 v = inw(port) & ~(PM1_CNT_SLP_TYP_MASK | PM1_CNT_SLP_EN);

	outw(port, v | (u16)(slp_typ << PM1_CNT_SLP_TYP_SHIFT));
	outw(port,
	     v | (u16)(slp_typ << PM1_CNT_SLP_TYP_SHIFT) | PM1_CNT_SLP_EN);
}

/* ACPI S5 (soft off), entering ACPI mode first if the firmware left the
 * machine in legacy mode (4.8.2.1.1: SCI_EN then reads 1). */
static void acpi_power_off(void)
{
	const struct acpi_sleep_info *s = &acpi_s5;

	if (!(inw(s->pm1a_cnt) & PM1_CNT_SCI_EN) && s->smi_cmd) {
		outb(s->smi_cmd, s->acpi_enable);
		for (u32 i = 0; i < 3000000; i++)
			if (inw(s->pm1a_cnt) & PM1_CNT_SCI_EN)
				break;
	}
	enter_s5(s->pm1a_cnt, s->slp_typa);
	if (s->pm1b_cnt)
		enter_s5(s->pm1b_cnt, s->slp_typb);
}

void power_off(enum power_status status)
{
	char line[64];
	const char *s = "Shutdown";

	snformat(line, sizeof(line), "veneer: power off: status %d\n",
		 (int)status);
	/* No lock: power_off also ends a panic, when another CPU may hold
	 * it. The line starts fresh whoever was writing. */
	console_write_unlocked(line);
	/* The last bytes must leave the UART before the emulator stops. */
	uart_flush();
	outl(DEBUG_EXIT_PORT, status);
	for (; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	/* Still here: a machine without those emulator ports. */
	if (have_acpi_s5)
		acpi_power_off();
	cpu_halt_forever();
}

void power_off_panic(void)
{
	power_off(POWER_STATUS_PANIC);
}
