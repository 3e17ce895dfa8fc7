/* SPDX-License-Identifier: MIT */
/*
 * dmaattack: a guest that owns a real PCI device, QEMU's `edu`, and aims
 * its DMA engine at its own RAM (which must work) and past it (which the
 * IOMMU domain of its guest must stop: docs/passthrough.md), and the
 * victim that keeps a known pattern in its RAM meanwhile.
 *
 * role=victim: fills every 8 bytes of its usable RAM from 4 MiB (or the
 * end of its image, if higher) up to the end of its RAM (the multiboot
 * memory map, below 4 GiB) with VICTIM_MAGIC and the address XOR
 * VICTIM_SALT, prints
 *   dmaattack: victim: ready: pattern in 0xSTART-0xEND (N KiB), checking in S s
 * waits wait=S seconds (default 20) by polling PIT channel 2, then reads
 * the whole pattern back:
 *   PASS: victim's RAM intact after the wait (N KiB)
 *   FAIL: victim's RAM intact after the wait (N KiB): M words changed
 * (after up to 8 lines `dmaattack: victim: 0xADDR: 0xGOT, expected 0xWANT`).
 * Guests share no channel, so the victim cannot hear that the attacker is
 * done: the wait is fixed and generous. The attacker needs about 0.1 s of
 * QEMU's virtual clock per transfer (edu finishes each DMA 100 ms after
 * its start), 2 per address tried plus 6: about 7 s with the default 32
 * addresses, plus its boot. Give the victim a wait= well above that if
 * the attacker starts later or tries more addresses.
 *
 * role=attacker: needs the edu device (1234:11e8) on its bus 0.
 *   - finds it in slots 1-31 (function 0), its BAR 0 (a 32- or 64-bit
 *     memory BAR below 4 GiB, 1 MiB, under Veneer in the PCI window
 *     0xc0000000-0xfebfffff), enables memory decoding and bus mastering;
 *   - the identification register ends in 0xed, the liveness register
 *     reads back the complement of what was written;
 *   - DMA within its RAM: 4032 bytes from its RAM into edu's buffer, 64 bytes
 *     into the buffer and back out to another buffer (equal), and out to
 *     the last 64 bytes of its RAM (equal);
 *   - DMA outside its RAM: for each of count=N addresses (default 32, at
 *     most 61) from the end of its RAM up to 256 MiB (edu uses 28 address
 *     bits by default): the end of its RAM itself, then every K MiB from
 *     the first MiB boundary above it (K as small as lets N fit), and
 *     256 MiB - 64: a 64-byte write of its marker (ATTACKER_MAGIC) from
 *     edu's buffer to the address, then a 64-byte read from the address
 *     into a slot of edu's buffer of its own. At the end all of edu's
 *     buffer is copied into its RAM and each slot checked: a blocked read
 *     leaves the slot as it was, or filled with zeros or all ones (what
 *     QEMU reads from an address nothing answers); anything else is data
 *     from outside its RAM, named as the victim's pattern, its own marker
 *     or other data. One line per address, then
 *       PASS: DMA outside its RAM is blocked (N addresses)
 *     or, with M reads that brought data and T transfers that timed out,
 *       FAIL: DMA outside its RAM is blocked (N addresses): M leaked, T ...
 *     (the line ends `T timed out`). Natively (no IOMMU) the transfers are
 *     made and listed and that verdict is a SKIP line.
 *   - with bus mastering off a transfer into its RAM must not arrive;
 *     bus mastering stays off at the end.
 * Every transfer must finish (the start bit clears) within 2 s by the
 * PIT. Without the device: `FAIL: edu device 1234:11e8 on bus 0`.
 *
 * The 32-bit guest runs with paging off: a buffer's pointer is its
 * guest-physical address, which is the device address the IOMMU domain
 * maps to it. edu's 64-bit DMA registers (0x80, 0x88) are written with
 * 4-byte writes: QEMU's edu stores a 4-byte write to them as the whole
 * register, zero-extended (docs/specs/edu.rst allows 4-byte accesses
 * from 0x80 on), and every address used here is below 256 MiB.
 *
 * role=msi: interrupt messages by DMA (msi(), below).
 * role=probe id=VVVV:DDDD [absent=yes]: a device's configuration only, or
 * that it is not there (probe(), below).
 *
 * role=irq: edu's interrupts as MSI to its own local APIC (issue 14;
 * QEMU's edu has one message, 64-bit address, no per-vector masking; its
 * transfers stay in its RAM). Software-enables its xAPIC (SVR, spurious
 * vector 0xff), masks the 8259s, counts every vector from 0x20 up (the
 * handler reads edu's status 0x24, writes it back to 0x64, then the
 * EOI), finds edu as the attacker does (its PASS lines), then one line
 * each (a line too long here goes on, indented, on the next):
 *   PASS: interrupt pin reads 1 (INTA, as the host function's)
 *   PASS: edu offers an MSI capability (ID 0x05) in its list
 *     (the list from 0x34, at most 48 entries; without it a FAIL line,
 *     bus mastering off and nothing more is tried)
 *   PASS: MSI capability: one message, 64-bit address, disabled at the
 *     start
 *   PASS: with MSI disabled a raise sets the status and brings no
 *     interrupt within 100 ms
 *   PASS: MSI address, data and enable read back as written
 *     (address 0xFEE00000 | its APIC ID << 12, upper address 0, data
 *     0x51: physical destination, fixed, edge; SDM Vol. 3A 11.11)
 *   PASS: 16 raises bring 16 interrupts on vector 0x51, one each within
 *     1000 ms
 *     (raise i writes 1 << i % 8 to 0x60; after its interrupt 10 ms more
 *     must bring no second one, and the handler must see that bit)
 *   PASS: a DMA transfer with command bit 0x4 brings one interrupt with
 *     status 0x100
 *     (64 bytes from its RAM through edu's buffer back into its RAM,
 *     which must arrive; with dma=read only the transfer from its RAM
 *     into edu's buffer: for a device given without an IOMMU, whose
 *     writes would go to host addresses)
 *   PASS: after the data is changed to vector 0x52 a raise arrives on
 *     0x52 and none on 0x51
 *     (MSI Enable off, data 0x52, MSI Enable on)
 *   PASS: with bus mastering off a raise sets the status and brings no
 *     interrupt within 100 ms
 *   PASS: with MSI disabled again a raise sets the status and brings no
 *     interrupt within 100 ms
 *   PASS: with INTx disabled a raise sets the status and brings no
 *     interrupt within 100 ms
 *   PASS: the status register's Interrupt Status bit follows the line
 *   PASS: 8 raises by INTx bring 8 interrupts on vector 0x53 through its
 *     I/O APIC, one each
 *     (these three under Veneer only, whose _PRT routes INTA of slot S to
 *     GSI 16 + S % 4: natively a SKIP line)
 *   PASS: no interrupt on any other vector
 *   PASS: MSI and bus mastering off at the end
 * Waits poll PIT channel 2 with interrupts on. A line per step gives the
 * counts (`dmaattack: 16 raises: N interrupts on 0x51, M elsewhere,
 * slowest T ms`).
 *
 * Command line: role=victim|attacker|msi|probe|irq, wait=S (victim),
 * count=N (attacker), dma=read|write (irq, default write), veneer=0|1 as
 * every guest.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/pit.h"
#include "tests/guests/lib/trap.h"
#include "tests/guests/lib/virtio.h"

#define NAME "dmaattack"

/* ---- edu (QEMU docs/specs/edu.rst) ---- */
#define EDU_ID_WANT    0x11e81234U /* device 11e8, vendor 1234 */
#define EDU_BAR_SIZE   0x100000U
#define EDU_ID	       0x00
#define EDU_LIVE       0x04
#define EDU_DMA_SRC    0x80
#define EDU_DMA_DST    0x88
#define EDU_DMA_COUNT  0x90
#define EDU_IRQ_STATUS 0x24 /* read */
#define EDU_IRQ_RAISE  0x60 /* write: status |= value, then an interrupt */
#define EDU_IRQ_ACK    0x64 /* write: status &= ~value */
#define EDU_DMA_CMD    0x98
#define EDU_CMD_START  0x1
#define EDU_CMD_TO_RAM 0x2 /* 0: from RAM into the buffer */
#define EDU_CMD_IRQ    0x4 /* raise EDU_IRQ_DMA when the transfer ends */
#define EDU_IRQ_DMA    0x100
#define EDU_BUF	       0x40000U
#define EDU_BUF_SIZE   4096U
#define EDU_DMA_LIMIT  0x10000000U /* 256 MiB: 28 address bits */

/* edu's buffer as slots of 64 bytes: 0 the marker, 1 the transfers
 * within its RAM, 2 onwards one per address outside it. The last slot is
 * never used: QEMU 7.2's edu takes a transfer that ends at the very end
 * of its buffer for one past it and stops QEMU itself (hw_error, "EDU:
 * DMA range ... out of bounds"), so every transfer here ends before it. */
#define SLOT_BYTES    64U
#define SLOT_WORDS    (SLOT_BYTES / 4)
#define SLOTS	      (EDU_BUF_SIZE / SLOT_BYTES - 1)
#define SLOTS_BYTES   (SLOTS * SLOT_BYTES)
#define SLOT_MARKER   0
#define SLOT_OWN      1
#define SLOT_FIRST    2
#define MAX_TARGETS   (SLOTS - SLOT_FIRST)
#define DEFAULT_COUNT 32U
#define SLOT_ADDR(s)  (EDU_BUF + (s)*SLOT_BYTES)

/* Patterns. */
#define VICTIM_MAGIC   0x56494354U /* "TCIV" in memory */
#define VICTIM_SALT    0xa5c3e10fU
#define ATTACKER_MAGIC 0x4b435441U /* "ATCK" */
#define FILL_BASE      0xf1110000U /* edu's buffer before the reads */
#define READBACK_FILL  0x5a5a5a5aU /* its RAM before the final copy */
#define OWN_PATTERN    0x0d0a0000U
#define UNTOUCHED_WORD 0xeeeeeeeeU

#define VICTIM_START	 0x400000U
#define DEFAULT_WAIT_S	 20U
#define MAX_WAIT_S	 3600U
#define DMA_TIMEOUT_MS	 2000U
#define PIT_MAX_WAIT_MS	 50U /* 65535 ticks are 54.9 ms */
#define PCI_BAR0	 0x10
#define PCI_BAR1	 0x14
#define PCI_CLASS	 0x08
#define PCI_WINDOW_BASE	 0xc0000000U
#define PCI_WINDOW_LIMIT 0xfec00000U /* exclusive */
#define MAP_LIMIT	 0x100000000ULL
#define SHOW_BAD_WORDS	 8
#define ONE_MIB		 0x100000U

static bool veneer;

/* A check whose text has numbers in it: "PASS: ..." or "FAIL: ...". */
static void __printf(2, 3) check(bool ok, const char *fmt, ...)
{
	va_list ap;

	guest_printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
	if (!ok)
		guest_failures++;
}

/* ---- the PIT (channel 2, mode 0, polled through port B) ---- */

static void pit_wait(u32 ms)
{
	u32 count = ms * PIT_TICKS_PER_MS;

	outb(PORT_B, (u8)((inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2, (u8)count);
	outb(PIT_CH2, (u8)(count >> 8));
	while (!(inb(PORT_B) & PORT_B_OUT2))
		;
}

static void wait_ms(u32 ms)
{
	while (ms) {
		u32 step = ms < PIT_MAX_WAIT_MS ? ms : PIT_MAX_WAIT_MS;

		pit_wait(step);
		ms -= step;
	}
}

/* ---- command line and memory map ---- */

static bool word_is(const char *v, const char *want)
{
	size_t n = str_len(want);

	return str_starts_with(v, want) && (v[n] == '\0' || v[n] == ' ');
}

static bool number_option(const char *cmdline, const char *key, u32 fallback,
			  u32 max, u32 *out)
{
	const char *v = cmdline_value(cmdline, key);
	u64 n;

	*out = fallback;
	if (!v)
		return true;
	if (!parse_u64(v, &n) || n > max) {
		guest_printf("FAIL: %s= is a number up to %u\n", key, max);
		guest_failures++;
		return false;
	}
	*out = (u32)n;
	return true;
}

/* The end of its RAM: the highest end of a usable entry below 4 GiB. */
static u32 ram_end_of(const struct guest_mmap *map)
{
	u64 end = 0;

	for (unsigned i = 0; i < map->count; i++) {
		u64 top = map->entry[i].base + map->entry[i].length;

		if (map->entry[i].type != MULTIBOOT_MEMORY_AVAILABLE ||
		    map->entry[i].base >= MAP_LIMIT)
			continue;
		if (top > MAP_LIMIT)
			top = MAP_LIMIT;
		if (top > end)
			end = top;
	}
	return end >= MAP_LIMIT ? 0xfffff000U : (u32)end;
}

/* ---- role=victim ---- */

static u32 victim_word(u32 addr)
{
	return (addr & 4) ? addr ^ VICTIM_SALT : VICTIM_MAGIC;
}

/* The part of usable entry i the victim fills: [*from, *to), 8-aligned. */
static bool victim_range(const struct guest_mmap *map, unsigned i, u32 low,
			 u32 *from, u32 *to)
{
	u64 base = map->entry[i].base;
	u64 top = base + map->entry[i].length;

	if (map->entry[i].type != MULTIBOOT_MEMORY_AVAILABLE)
		return false;
	if (top > MAP_LIMIT)
		top = MAP_LIMIT;
	if (base < low)
		base = low;
	base = ALIGN_UP(base, 8);
	top &= ~7ULL;
	if (base >= top)
		return false;
	*from = (u32)base;
	*to = (u32)(top - 1) + 1; /* 0 for a range up to 4 GiB */
	return true;
}

static void victim(const struct guest_mmap *map, u32 wait_s)
{
	u32 low = VICTIM_START;
	u32 image_end = (u32)(uintptr_t)_guest_image_end;
	u32 filled_kib = 0, bad = 0, first = 0, last = 0;
	u32 from, to;

	if (image_end > low)
		low = ALIGN_UP(image_end, PAGE_SIZE);
	for (unsigned i = 0; i < map->count; i++) {
		if (!victim_range(map, i, low, &from, &to))
			continue;
		for (u32 a = from; a != to; a += 4)
			*(volatile u32 *)(uintptr_t)a = victim_word(a);
		filled_kib += (to - from) / 1024U;
		if (!first)
			first = from;
		last = to;
	}
	if (!filled_kib) {
		guest_fail("victim: usable RAM above 4 MiB to fill");
		return;
	}
	guest_printf(NAME ": victim: ready: pattern in 0x%x-0x%x (%u KiB), "
			  "checking in %u s\n",
		     first, last - 1, filled_kib, wait_s);
	wait_ms(wait_s * 1000U);
	for (unsigned i = 0; i < map->count; i++) {
		if (!victim_range(map, i, low, &from, &to))
			continue;
		for (u32 a = from; a != to; a += 4) {
			u32 got = *(volatile u32 *)(uintptr_t)a;

			if (got == victim_word(a))
				continue;
			if (bad < SHOW_BAD_WORDS)
				guest_printf(NAME ": victim: 0x%x: 0x%x, "
						  "expected 0x%x\n",
					     a, got, victim_word(a));
			bad++;
		}
	}
	if (bad)
		check(false,
		      "victim's RAM intact after the wait (%u KiB): %u words "
		      "changed",
		      filled_kib, bad);
	else
		check(true, "victim's RAM intact after the wait (%u KiB)",
		      filled_kib);
}

/* ---- role=attacker: edu ---- */

static uintptr_t bar;
static u8 slot;

static u32 own_src[SLOT_WORDS] __aligned(64);
static u32 own_dst[SLOT_WORDS] __aligned(64);
static u32 fill_page[EDU_BUF_SIZE / 4] __aligned(4096);
static u32 readback[EDU_BUF_SIZE / 4] __aligned(4096);
static u32 targets[MAX_TARGETS];
static bool target_done[MAX_TARGETS];

/* One transfer of `count` bytes with command `cmd` (EDU_CMD_START and
 * more); waits for the start bit to clear. The device address of its RAM
 * is the guest-physical address. */
static bool edu_dma_cmd(u32 src, u32 dst, u32 count, u32 cmd)
{
	u32 ms;

	mmio_write32(bar + EDU_DMA_SRC, src);
	mmio_write32(bar + EDU_DMA_DST, dst);
	mmio_write32(bar + EDU_DMA_COUNT, count);
	mmio_write32(bar + EDU_DMA_CMD, cmd);
	for (ms = 0; ms < DMA_TIMEOUT_MS; ms++) {
		if (!(mmio_read32(bar + EDU_DMA_CMD) & EDU_CMD_START))
			return true;
		pit_wait(1);
	}
	if (!(mmio_read32(bar + EDU_DMA_CMD) & EDU_CMD_START))
		return true;
	guest_printf(NAME ": DMA 0x%x -> 0x%x (%u bytes) still running after "
			  "%u ms\n",
		     src, dst, count, DMA_TIMEOUT_MS);
	return false;
}

static bool edu_dma(u32 src, u32 dst, u32 count, bool to_ram)
{
	return edu_dma_cmd(src, dst, count,
			   EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
}

static u32 ptr(const volatile void *p)
{
	return (u32)(uintptr_t)p;
}

/* Finds edu, checks its BAR 0 and turns decoding and mastering on. */
static bool edu_setup(void)
{
	u32 low, high = 0, size, class;
	u16 cmd;

	for (slot = 1; slot < PCI_SLOTS; slot++)
		if (pci_cfg_read32(slot, PCI_ID) == EDU_ID_WANT)
			break;
	if (slot == PCI_SLOTS) {
		guest_printf(NAME ": no 1234:11e8 at 00:01.0-00:1f.0\n");
		guest_fail("edu device 1234:11e8 on bus 0");
		return false;
	}
	class = pci_cfg_read32(slot, PCI_CLASS);
	guest_printf(NAME ": edu at 00:%02x.0, class %06x revision %02x\n",
		     slot, class >> 8, class & 0xff);
	guest_pass("edu device 1234:11e8 on bus 0");

	/* Sizing with decoding off (PCI 3.0, 6.2.5.1), then restored. */
	cmd = pci_cfg_read16(slot, PCI_COMMAND);
	pci_cfg_write16(slot, PCI_COMMAND,
			(u16)(cmd & ~(PCI_CMD_MEMORY | PCI_CMD_MASTER)));
	low = pci_cfg_read32(slot, PCI_BAR0);
	if ((low & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64)
		high = pci_cfg_read32(slot, PCI_BAR1);
	pci_cfg_write32(slot, PCI_BAR0, 0xffffffffU);
	size = ~(pci_cfg_read32(slot, PCI_BAR0) & ~0xfU) + 1;
	pci_cfg_write32(slot, PCI_BAR0, low);
	bar = low & ~0xfU;
	guest_printf(NAME ": BAR0 0x%x (high 0x%x), %s, %u KiB\n", low, high,
		     (low & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64 ? "64-bit"
								  : "32-bit",
		     size / (u32)KiB);
	if (!EXPECT_TRUE(!(low & 1) &&
			     ((low & PCI_BAR_TYPE_MASK) == 0 ||
			      (low & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64) &&
			     !high && bar,
			 "edu BAR0 is a memory BAR below 4 GiB"))
		return false;
	if (!EXPECT_EQ(size, EDU_BAR_SIZE, "edu BAR0 is 1 MiB"))
		return false;
	if (veneer)
		EXPECT_TRUE(bar >= PCI_WINDOW_BASE &&
				bar <= PCI_WINDOW_LIMIT - EDU_BAR_SIZE,
			    "edu BAR0 in the PCI window "
			    "0xc0000000-0xfebfffff");
	else
		guest_skip("edu BAR0 in the PCI window 0xc0000000-0xfebfffff "
			   "(Veneer's placement; natively the firmware's)");

	pci_cfg_write16(slot, PCI_COMMAND,
			(u16)(cmd | PCI_CMD_MEMORY | PCI_CMD_MASTER));
	cmd = pci_cfg_read16(slot, PCI_COMMAND);
	return EXPECT_EQ(cmd & (PCI_CMD_MEMORY | PCI_CMD_MASTER),
			 PCI_CMD_MEMORY | PCI_CMD_MASTER,
			 "memory decode and bus master enabled");
}

static bool edu_registers(void)
{
	u32 id = mmio_read32(bar + EDU_ID);
	bool ok;

	guest_printf(NAME ": identification 0x%08x\n", id);
	ok = EXPECT_EQ(id & 0xff, 0xed,
		       "edu identification register ends in 0xed");
	mmio_write32(bar + EDU_LIVE, 0x12345678U);
	ok &= EXPECT_EQ(mmio_read32(bar + EDU_LIVE), ~0x12345678U,
			"edu liveness register inverts");
	return ok;
}

/* ---- role=attacker: DMA within its RAM ---- */

static u32 fill_word(u32 s, u32 j)
{
	return FILL_BASE | s << 8 | j;
}

static bool own_ram(u32 ram_end)
{
	volatile u32 *top = (volatile u32 *)(uintptr_t)(ram_end - SLOT_BYTES);
	bool ok;
	u32 j;

	/* edu's whole buffer: the marker in slot 0, FILL elsewhere. */
	for (u32 s = 0; s < SLOTS; s++)
		for (j = 0; j < SLOT_WORDS; j++)
			fill_page[s * SLOT_WORDS + j] =
			    s == SLOT_MARKER ? ATTACKER_MAGIC : fill_word(s, j);
	for (j = 0; j < SLOT_WORDS; j++) {
		own_src[j] = OWN_PATTERN + j * 0x01010101U;
		own_dst[j] = UNTOUCHED_WORD;
		top[j] = UNTOUCHED_WORD;
	}
	ok = edu_dma(ptr(fill_page), EDU_BUF, SLOTS_BYTES, false) &&
	     edu_dma(ptr(own_src), SLOT_ADDR(SLOT_OWN), SLOT_BYTES, false) &&
	     edu_dma(SLOT_ADDR(SLOT_OWN), ptr(own_dst), SLOT_BYTES, true);
	for (j = 0; ok && j < SLOT_WORDS; j++)
		if (own_dst[j] != own_src[j]) {
			guest_printf(NAME ": 0x%x: 0x%x, expected 0x%x\n",
				     ptr(&own_dst[j]), own_dst[j], own_src[j]);
			ok = false;
		}
	check(ok, "DMA into its own RAM works (0x%x -> edu -> 0x%x)",
	      ptr(own_src), ptr(own_dst));

	ok = edu_dma(SLOT_ADDR(SLOT_OWN), ptr(top), SLOT_BYTES, true);
	for (j = 0; ok && j < SLOT_WORDS; j++)
		if (top[j] != own_src[j]) {
			guest_printf(NAME ": 0x%x: 0x%x, expected 0x%x\n",
				     ptr(&top[j]), top[j], own_src[j]);
			ok = false;
		}
	check(ok, "DMA reaches the last 64 bytes of its RAM (0x%x)", ptr(top));
	return ok;
}

/* ---- role=attacker: DMA outside its RAM ---- */

/* The end of its RAM, every `step` MiB from the next MiB boundary, and
 * the last 64 bytes below EDU_DMA_LIMIT; at most `count`. */
static u32 choose_targets(u32 ram_end, u32 count)
{
	u32 first_mib = ALIGN_UP(ram_end + 1, ONE_MIB) / ONE_MIB;
	u32 last_mib = EDU_DMA_LIMIT / ONE_MIB; /* exclusive */
	u32 grid = last_mib > first_mib ? last_mib - first_mib : 0;
	u32 room = count > 2 ? count - 2 : 0;
	u32 step = room ? (grid + room - 1) / room : 0;
	u32 n = 0;

	targets[n++] = ram_end;
	for (u32 m = first_mib; step && m < last_mib && n < count - 1;
	     m += step)
		targets[n++] = m * ONE_MIB;
	if (n < count && EDU_DMA_LIMIT - SLOT_BYTES > ram_end)
		targets[n++] = EDU_DMA_LIMIT - SLOT_BYTES;
	guest_printf(NAME ": %u addresses outside its RAM (0-0x%x): 0x%x, "
			  "every %u MiB from 0x%x, 0x%x\n",
		     n, ram_end - 1, ram_end, step, first_mib * ONE_MIB,
		     EDU_DMA_LIMIT - SLOT_BYTES);
	return n;
}

static bool slot_has(const u32 *w, u32 magic)
{
	for (u32 j = 0; j < SLOT_WORDS; j++)
		if (w[j] == magic)
			return true;
	return false;
}

static bool slot_all(const u32 *w, u32 s, bool fill, u32 value)
{
	for (u32 j = 0; j < SLOT_WORDS; j++)
		if (w[j] != (fill ? fill_word(s, j) : value))
			return false;
	return true;
}

/* What a slot of edu's buffer holds after a read from outside its RAM:
 * NULL if nothing came from there. */
static const char *leaked(const u32 *w, u32 s)
{
	if (slot_all(w, s, true, 0) || slot_all(w, s, false, 0) ||
	    slot_all(w, s, false, 0xffffffffU))
		return NULL;
	if (slot_has(w, VICTIM_MAGIC))
		return "the victim's pattern";
	if (slot_has(w, ATTACKER_MAGIC))
		return "its own marker";
	return "other data";
}

static void outside_ram(u32 ram_end, u32 count)
{
	u32 n = choose_targets(ram_end, count);
	u32 leaks = 0, timeouts = 0;
	bool copied;

	for (u32 i = 0; i < n; i++) {
		bool w = edu_dma(SLOT_ADDR(SLOT_MARKER), targets[i], SLOT_BYTES,
				 true);
		bool r = edu_dma(targets[i], SLOT_ADDR(SLOT_FIRST + i),
				 SLOT_BYTES, false);

		target_done[i] = w && r;
		timeouts += !w + !r;
	}

	/* edu's whole buffer back into its RAM. */
	for (u32 j = 0; j < EDU_BUF_SIZE / 4; j++)
		readback[j] = READBACK_FILL;
	copied = edu_dma(EDU_BUF, ptr(readback), SLOTS_BYTES, true) &&
		 slot_all(&readback[SLOT_MARKER * SLOT_WORDS], 0, false,
			  ATTACKER_MAGIC);
	if (!copied) {
		guest_printf(NAME ": edu's buffer did not come back: slot 0 "
				  "0x%x, expected 0x%x\n",
			     readback[0], ATTACKER_MAGIC);
		timeouts++;
	}

	for (u32 i = 0; copied && i < n; i++) {
		u32 s = SLOT_FIRST + i;
		const u32 *w = &readback[s * SLOT_WORDS];
		const char *what = leaked(w, s);
		const char *how = !target_done[i]	    ? "timed out"
				  : what		    ? what
				  : slot_all(w, s, true, 0) ? "nothing read"
				  : w[0]		    ? "read all ones"
							    : "read zeros";

		if (what)
			leaks++;
		guest_printf(NAME ": 0x%08x: %s%s (0x%x 0x%x 0x%x 0x%x)\n",
			     targets[i], what ? "LEAKED " : "", how, w[0], w[1],
			     w[2], w[3]);
	}
	if (!veneer) {
		guest_printf("SKIP: DMA outside its RAM is blocked (%u "
			     "addresses): no IOMMU natively, %u read data, %u "
			     "timed out\n",
			     n, leaks, timeouts);
		return;
	}
	if (leaks || timeouts)
		check(false,
		      "DMA outside its RAM is blocked (%u addresses): %u "
		      "leaked, %u timed out",
		      n, leaks, timeouts);
	else
		check(true, "DMA outside its RAM is blocked (%u addresses)", n);
}

/* ---- role=attacker: bus mastering off ---- */

static void master_off(void)
{
	u16 cmd = pci_cfg_read16(slot, PCI_COMMAND);
	bool finished, arrived = false;

	pci_cfg_write16(slot, PCI_COMMAND, (u16)(cmd & ~PCI_CMD_MASTER));
	for (u32 j = 0; j < SLOT_WORDS; j++)
		own_dst[j] = UNTOUCHED_WORD;
	finished = edu_dma(SLOT_ADDR(SLOT_OWN), ptr(own_dst), SLOT_BYTES, true);
	for (u32 j = 0; j < SLOT_WORDS; j++)
		arrived |= own_dst[j] != UNTOUCHED_WORD;
	if (arrived)
		guest_printf(NAME ": 0x%x: 0x%x after a transfer with bus "
				  "mastering off\n",
			     ptr(own_dst), own_dst[0]);
	EXPECT_TRUE(finished && !arrived,
		    "DMA with bus mastering off does not reach its RAM");
	EXPECT_EQ(pci_cfg_read16(slot, PCI_COMMAND) & PCI_CMD_MASTER, 0,
		  "bus master disabled at the end");
}

static void attacker(const struct guest_mmap *map, u32 count)
{
	u32 ram_end = ram_end_of(map);

	guest_printf(NAME ": attacker: RAM 0-0x%x\n", ram_end - 1);
	if (ram_end < 2 * ONE_MIB || ram_end + SLOT_BYTES > EDU_DMA_LIMIT) {
		check(false,
		      "attacker's RAM ends between 2 MiB and 256 MiB - 64 "
		      "(0x%x)",
		      ram_end);
		return;
	}
	if (!edu_setup())
		return;
	if (!edu_registers())
		return;
	if (own_ram(ram_end))
		outside_ram(ram_end, count);
	else
		guest_fail("DMA outside its RAM is blocked (not tried: DMA "
			   "within its RAM does not work)");
	master_off();
}

/* ---- role=msi: an interrupt message by DMA ---- */

/*
 * Without interrupt remapping a device's write to 0xFEExxxxx is an
 * interrupt message (SDM Vol. 3A 11.11: address 0xFEE, destination APIC
 * ID in bits 19:12; data: vector in bits 7:0, fixed delivery, edge), and
 * DMA remapping does not stop it. This role sends a few to APIC ID 0 on
 * vector 0x41 (needs edu with dma_mask=0xffffffff): the host must not
 * stop, whatever the message does to it. Its own RAM is checked to still
 * be reachable after.
 */
#define MSI_ADDRESS 0xfee00000u
#define MSI_VECTOR  0x41u
#define MSI_COUNT   4

static u32 msi_data[SLOT_WORDS] __aligned(64);

static void msi(const struct guest_mmap *map)
{
	u32 ram_end = ram_end_of(map);
	bool sent = true;

	if (!edu_setup() || !edu_registers())
		return;
	msi_data[0] = MSI_VECTOR;
	/* The message's data into edu's buffer, then out to the address. */
	sent = edu_dma(ptr(msi_data), EDU_BUF, 4, false);
	for (u32 i = 0; sent && i < MSI_COUNT; i++)
		sent = edu_dma(EDU_BUF, MSI_ADDRESS, 4, true);
	check(sent, "%u interrupt messages sent by DMA to 0x%x (vector 0x%x)",
	      MSI_COUNT, MSI_ADDRESS, MSI_VECTOR);
	check(own_ram(ram_end), "its own RAM still reachable by DMA after");
	master_off();
}

/* ---- role=irq: the device's interrupts as MSI (issue 14) ---- */

/*
 * edu's interrupts by MSI (PCI Local Bus 3.0, 6.8.1) to its own local
 * APIC. The capability: +2 Message Control (bit 0 MSI Enable, bits 3:1
 * Multiple Message Capable, 6:4 Multiple Message Enable, 7 64-bit
 * address), +4 Message Address, then +8 Message Upper Address and +0xC
 * Message Data (64-bit) or +8 Message Data (32-bit). The message (SDM
 * Vol. 3A 11.11.1, 11.11.2): address 0xFEE00000 | destination APIC ID
 * << 12 (physical destination), data the vector (fixed, edge).
 */
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_CAP_MSI	  0x05
#define CAP_WALK_MAX	  48 /* 192 bytes after the header, 4 each */
#define MSI_CONTROL	  2
#define MSI_ADDRESS_LOW	  4
#define MSI_ADDRESS_HIGH  8
#define MSI_DATA_64	  0xc
#define MSI_DATA_32	  8
#define MSI_CTL_ENABLE	  0x0001
#define MSI_CTL_MMC	  0x000e /* Multiple Message Capable */
#define MSI_CTL_MME	  0x0070 /* Multiple Message Enable */
#define MSI_CTL_64BIT	  0x0080
#define MSI_DEST_SHIFT	  12

/* Local APIC (SDM Vol. 3A 11.4.1, Table 11-1). */
#define CPUID1_EDX_APIC	  BIT(9)
#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_EXTD	  BIT(10)
#define APIC_BASE_ENABLE  BIT(11)
#define APIC_BASE_ADDRESS 0xfffff000U
#define X2APIC_MSR_BASE	  0x800
#define LAPIC_ID	  0x020
#define LAPIC_TPR	  0x080
#define LAPIC_EOI	  0x0b0
#define LAPIC_SVR	  0x0f0
#define SVR_ENABLE	  BIT(8)
#define PIC_MASTER_DATA	  0x21
#define PIC_SLAVE_DATA	  0xa1

/* Vectors: above the exceptions and the 8259's defaults. */
#define VEC_FIRST   0x20 /* the counting handler from here up */
#define VEC_MSI	    0x51
#define VEC_MSI2    0x52
#define VEC_INTX    0x53
#define INTX_RAISES 8
/* Veneer's I/O APIC and PCI routing (docs/devices.md): INTA of slot S is
 * GSI 16 + S % 4, level-triggered, active low (its DSDT's _PRT). RTE n
 * at register 0x10 + 2n (82093AA 3.2.4). */
#define IOAPIC_BASE	 0xfec00000u
#define IOAPIC_IOWIN	 0x10
#define IOAPIC_RTE(n)	 (0x10 + 2 * (n))
#define RTE_MASKED	 (1u << 16)
#define RTE_LEVEL	 (1u << 15)
#define RTE_ACTIVE_LOW	 (1u << 13)
#define PCI_CMD_INTX_OFF 0x0400
#define PCI_STATUS_INTX	 0x0008
#define VEC_SPURIOUS	 0xff

#define IRQ_RAISES   16
#define IRQ_WAIT_MS  1000 /* for an interrupt that must come */
#define NONE_WAIT_MS 100  /* for one that must not */
#define ONE_MORE_MS  10	  /* after each raise's interrupt: no second one */
#define DMA_WORDS    SLOT_WORDS
#define DMA_IRQ_FILL 0x1a0b0000U

static bool x2apic;
static uintptr_t lapic_base;
static u8 msi_cap;
static volatile u32 irqs[256];
static volatile u32 irq_status_last, spurious;
static u32 dma_src[DMA_WORDS] __aligned(64);
static u32 dma_dst[DMA_WORDS] __aligned(64);

static void lapic_write(u32 reg, u32 value)
{
	if (x2apic)
		wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
	else
		*(volatile u32 *)(lapic_base + reg) = value;
}

static u32 lapic_read(u32 reg)
{
	if (x2apic)
		return (u32)rdmsr(X2APIC_MSR_BASE + (reg >> 4));
	return *(volatile u32 *)(lapic_base + reg);
}

/* Software-enables the local APIC (SVR, SDM 11.4.7.2); its ID, where the
 * messages go, in *apic_id. */
static bool lapic_setup(u8 *apic_id)
{
	u64 base;
	u32 id;

	if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC)) {
		guest_fail("a local APIC (CPUID.1:EDX[9])");
		return false;
	}
	base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE)) {
		base |= APIC_BASE_ENABLE;
		wrmsr(MSR_APIC_BASE, base);
	}
	x2apic = (base & APIC_BASE_EXTD) != 0;
	lapic_base = (uintptr_t)(base & APIC_BASE_ADDRESS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	id = lapic_read(LAPIC_ID);
	if (!x2apic)
		id >>= 24;
	if (id > 0xff) {
		check(false, "its APIC ID fits an MSI address (0x%x)", id);
		return false;
	}
	*apic_id = (u8)id;
	return true;
}

/* Every vector from VEC_FIRST up but the spurious one: counted; edu's
 * status read and acknowledged (so that the next raise is an interrupt
 * of its own), then the EOI. */
static void irq_handler(struct trap_frame *frame)
{
	u32 status = mmio_read32(bar + EDU_IRQ_STATUS);

	irqs[frame->vector & 0xff]++;
	irq_status_last = status;
	mmio_write32(bar + EDU_IRQ_ACK, status);
	lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct trap_frame *frame)
{
	(void)frame; /* no EOI for the spurious vector (SDM 11.9) */
	spurious++;
}

/* Interrupts taken on vectors other than `a` and `b` (0, 0: all). */
static u32 irqs_elsewhere(u32 a, u32 b)
{
	u32 n = 0;

	for (u32 v = VEC_FIRST; v < VEC_SPURIOUS; v++)
		if (v != a && v != b)
			n += irqs[v];
	return n;
}

/* With interrupts on, until `vector` has been taken `want` times or `ms`
 * have passed by the PIT; the milliseconds waited. */
static u32 wait_irqs(u32 vector, u32 want, u32 ms)
{
	u32 waited = 0;

	cpu_sti();
	while (irqs[vector] < want && waited < ms) {
		pit_wait(1);
		waited++;
	}
	cpu_cli();
	return waited;
}

/* With interrupts on for `ms`: whatever comes is counted. */
static void listen(u32 ms)
{
	cpu_sti();
	wait_ms(ms);
	cpu_cli();
}

static void edu_ack_all(void)
{
	u32 status = mmio_read32(bar + EDU_IRQ_STATUS);

	if (status)
		mmio_write32(bar + EDU_IRQ_ACK, status);
}

/* The capability list from 0x34, at most CAP_WALK_MAX entries: the
 * offset of the MSI capability, 0 if there is none. */
static u8 find_msi(void)
{
	u16 status = pci_cfg_read16(slot, PCI_STATUS);
	unsigned steps = 0;
	u8 at;

	if (!(status & PCI_STATUS_CAPS)) {
		guest_printf(NAME ": status register 0x%04x: no capability "
				  "list\n",
			     status);
		return 0;
	}
	for (at = pci_cfg_read8(slot, PCI_CAP_PTR) & 0xfc;
	     at >= 0x40 && steps < CAP_WALK_MAX;
	     at = pci_cfg_read8(slot, (u8)(at + 1)) & 0xfc, steps++) {
		u8 id = pci_cfg_read8(slot, at);

		guest_printf(NAME ": capability 0x%02x at 0x%02x\n", id, at);
		if (id == PCI_CAP_MSI)
			return at;
	}
	if (at)
		guest_printf(NAME ": capability list ends at 0x%02x after %u "
				  "steps\n",
			     at, steps);
	return 0;
}

static u16 msi_control(void)
{
	return pci_cfg_read16(slot, (u8)(msi_cap + MSI_CONTROL));
}

static void msi_set_control(u16 ctl)
{
	pci_cfg_write16(slot, (u8)(msi_cap + MSI_CONTROL), ctl);
}

static u8 msi_data_offset(void)
{
	return (u8)(msi_cap + (msi_control() & MSI_CTL_64BIT ? MSI_DATA_64
							     : MSI_DATA_32));
}

/* MSI Enable off, the message written, MSI Enable on (one message). */
static void msi_program(u8 apic_id, u8 vector)
{
	u16 ctl = msi_control() & (u16) ~(MSI_CTL_ENABLE | MSI_CTL_MME);

	msi_set_control(ctl);
	pci_cfg_write32(slot, (u8)(msi_cap + MSI_ADDRESS_LOW),
			MSI_ADDRESS | (u32)apic_id << MSI_DEST_SHIFT);
	if (ctl & MSI_CTL_64BIT)
		pci_cfg_write32(slot, (u8)(msi_cap + MSI_ADDRESS_HIGH), 0);
	pci_cfg_write16(slot, msi_data_offset(), vector);
	msi_set_control((u16)(ctl | MSI_CTL_ENABLE));
}

static void msi_disable(void)
{
	msi_set_control(msi_control() & (u16)~MSI_CTL_ENABLE);
}

static void set_master(bool on)
{
	u16 cmd = pci_cfg_read16(slot, PCI_COMMAND);

	pci_cfg_write16(slot, PCI_COMMAND,
			on ? (u16)(cmd | PCI_CMD_MASTER)
			   : (u16)(cmd & ~PCI_CMD_MASTER));
}

/* A raise that must bring no interrupt within NONE_WAIT_MS (`why` says
 * what keeps it away); edu's status must show it, and is acknowledged.
 * Each step starts with edu's status clear, whatever the one before left. */
static void raise_brings_none(const char *why)
{
	u32 before, status, taken;

	edu_ack_all();
	before = irqs_elsewhere(0, 0);
	mmio_write32(bar + EDU_IRQ_RAISE, 1);
	listen(NONE_WAIT_MS);
	status = mmio_read32(bar + EDU_IRQ_STATUS);
	edu_ack_all();
	taken = irqs_elsewhere(0, 0) - before;
	if (taken || status != 1)
		guest_printf(NAME ": %s: %u interrupts, status 0x%x\n", why,
			     taken, status);
	check(!taken && status == 1,
	      "%s a raise sets the status and brings no interrupt within "
	      "%u ms",
	      why, NONE_WAIT_MS);
}

static void ioapic_write(u32 reg, u32 value)
{
	*(volatile u32 *)IOAPIC_BASE = reg;
	*(volatile u32 *)(IOAPIC_BASE + IOAPIC_IOWIN) = value;
}

static void set_intx_disable(bool off)
{
	u16 cmd = pci_cfg_read16(slot, PCI_COMMAND);

	pci_cfg_write16(slot, PCI_COMMAND,
			off ? (u16)(cmd | PCI_CMD_INTX_OFF)
			    : (u16)(cmd & ~PCI_CMD_INTX_OFF));
}

/*
 * INTx (with MSI off) through its I/O APIC, under Veneer only (natively
 * the routing is the chipset's): the pin's RTE on VEC_INTX; with INTx
 * Disable set a raise brings nothing; cleared, the status register's
 * Interrupt Status bit follows edu's line, and INTX_RAISES raises bring
 * one interrupt each (the handler's acknowledge lowers the line before
 * its EOI, which must not bring the interrupt again).
 */
static void intx(u8 apic_id)
{
	u32 gsi = 16 + slot % 4, bad = 0, waited, slowest = 0;
	u16 up, down;

	ioapic_write(IOAPIC_RTE(gsi) + 1, (u32)apic_id << 24);
	ioapic_write(IOAPIC_RTE(gsi), VEC_INTX | RTE_LEVEL | RTE_ACTIVE_LOW);
	set_intx_disable(true);
	raise_brings_none("with INTx disabled");
	set_intx_disable(false);

	edu_ack_all();
	mmio_write32(bar + EDU_IRQ_RAISE, 1); /* interrupts off: it waits */
	pit_wait(20);
	up = pci_cfg_read16(slot, PCI_STATUS);
	edu_ack_all();
	pit_wait(20);
	down = pci_cfg_read16(slot, PCI_STATUS);
	guest_printf(NAME ": INTx on GSI %u: status 0x%04x raised, 0x%04x "
			  "acknowledged\n",
		     gsi, up, down);
	check((up & PCI_STATUS_INTX) && !(down & PCI_STATUS_INTX),
	      "the status register's Interrupt Status bit follows the line");
	listen(NONE_WAIT_MS); /* the one raised above, if it came */
	irqs[VEC_INTX] = 0;

	for (u32 i = 0; i < INTX_RAISES; i++) {
		u32 bit = 1U << (i % 8), before = irqs[VEC_INTX];

		irq_status_last = 0;
		mmio_write32(bar + EDU_IRQ_RAISE, bit);
		waited = wait_irqs(VEC_INTX, before + 1, IRQ_WAIT_MS);
		if (waited > slowest)
			slowest = waited;
		listen(ONE_MORE_MS);
		if (irqs[VEC_INTX] == before + 1 && irq_status_last == bit)
			continue;
		guest_printf(NAME ": INTx raise %u (0x%x): %u interrupts, "
				  "status 0x%x\n",
			     i, bit, irqs[VEC_INTX] - before, irq_status_last);
		bad++;
	}
	guest_printf(NAME ": %u INTx raises: %u interrupts on 0x%x, slowest "
			  "%u ms\n",
		     INTX_RAISES, irqs[VEC_INTX], VEC_INTX, slowest);
	check(!bad && irqs[VEC_INTX] == INTX_RAISES,
	      "%u raises by INTx bring %u interrupts on vector 0x%x through "
	      "its I/O APIC, one each",
	      INTX_RAISES, INTX_RAISES, VEC_INTX);
	ioapic_write(IOAPIC_RTE(gsi), RTE_MASKED);
	set_intx_disable(true);
}

/* IRQ_RAISES raises one after another, each its own bit of the status
 * (1 << i % 8): each must bring exactly one interrupt on VEC_MSI, whose
 * handler sees that bit. */
static void raises(void)
{
	u32 bad = 0, slowest = 0, waited;

	edu_ack_all();
	for (u32 i = 0; i < IRQ_RAISES; i++) {
		u32 bit = 1U << (i % 8), before = irqs[VEC_MSI];

		irq_status_last = 0;
		mmio_write32(bar + EDU_IRQ_RAISE, bit);
		waited = wait_irqs(VEC_MSI, before + 1, IRQ_WAIT_MS);
		if (waited > slowest)
			slowest = waited;
		listen(ONE_MORE_MS);
		if (irqs[VEC_MSI] == before + 1 && irq_status_last == bit)
			continue;
		guest_printf(NAME ": raise %u (0x%x): %u interrupts on 0x%x, "
				  "status 0x%x\n",
			     i, bit, irqs[VEC_MSI] - before, VEC_MSI,
			     irq_status_last);
		bad++;
	}
	listen(NONE_WAIT_MS);
	guest_printf(NAME ": %u raises: %u interrupts on 0x%x, %u elsewhere, "
			  "slowest %u ms\n",
		     IRQ_RAISES, irqs[VEC_MSI], VEC_MSI,
		     irqs_elsewhere(VEC_MSI, VEC_MSI), slowest);
	check(!bad && irqs[VEC_MSI] == IRQ_RAISES &&
		  !irqs_elsewhere(VEC_MSI, VEC_MSI),
	      "%u raises bring %u interrupts on vector 0x%x, one each within "
	      "%u ms",
	      IRQ_RAISES, IRQ_RAISES, VEC_MSI, IRQ_WAIT_MS);
}

/* A transfer with EDU_CMD_IRQ: one interrupt, status EDU_IRQ_DMA. With
 * write_ram, 64 bytes into its RAM (through edu's buffer) that must
 * arrive; else only a read from its RAM into edu's buffer. */
static void dma_interrupt(bool write_ram)
{
	u32 before = irqs[VEC_MSI], cmd = EDU_CMD_START | EDU_CMD_IRQ;
	bool done = true, arrived = true;

	for (u32 j = 0; j < DMA_WORDS; j++) {
		dma_src[j] = DMA_IRQ_FILL + j;
		dma_dst[j] = UNTOUCHED_WORD;
	}
	edu_ack_all();
	irq_status_last = 0;
	if (write_ram)
		done = edu_dma(ptr(dma_src), SLOT_ADDR(SLOT_OWN), SLOT_BYTES,
			       false) &&
		       edu_dma_cmd(SLOT_ADDR(SLOT_OWN), ptr(dma_dst),
				   SLOT_BYTES, cmd | EDU_CMD_TO_RAM);
	else
		done = edu_dma_cmd(ptr(dma_src), SLOT_ADDR(SLOT_OWN),
				   SLOT_BYTES, cmd);
	wait_irqs(VEC_MSI, before + 1, IRQ_WAIT_MS);
	listen(NONE_WAIT_MS);
	for (u32 j = 0; write_ram && j < DMA_WORDS; j++)
		arrived &= dma_dst[j] == dma_src[j];
	guest_printf(NAME ": DMA %s with the interrupt bit: %s, %u "
			  "interrupts on 0x%x, status 0x%x%s\n",
		     write_ram ? "into its RAM" : "from its RAM",
		     done ? "finished" : "timed out", irqs[VEC_MSI] - before,
		     VEC_MSI, irq_status_last,
		     !write_ram ? ""
		     : arrived	? ", data arrived"
				: ", data did not arrive");
	check(done && arrived && irqs[VEC_MSI] == before + 1 &&
		  irq_status_last == EDU_IRQ_DMA,
	      "a DMA transfer with command bit 0x4 brings one interrupt with "
	      "status 0x%x",
	      EDU_IRQ_DMA);
}

/* The message's data changed to VEC_MSI2 (MSI Enable off meanwhile). */
static void new_vector(u8 apic_id)
{
	u32 on_old = irqs[VEC_MSI], on_new = irqs[VEC_MSI2];

	msi_program(apic_id, VEC_MSI2);
	edu_ack_all();
	irq_status_last = 0;
	mmio_write32(bar + EDU_IRQ_RAISE, 1);
	wait_irqs(VEC_MSI2, on_new + 1, IRQ_WAIT_MS);
	listen(NONE_WAIT_MS);
	on_old = irqs[VEC_MSI] - on_old;
	on_new = irqs[VEC_MSI2] - on_new;
	guest_printf(NAME ": data 0x%x: %u interrupts on 0x%x, %u on 0x%x, "
			  "status 0x%x\n",
		     pci_cfg_read16(slot, msi_data_offset()), on_new, VEC_MSI2,
		     on_old, VEC_MSI, irq_status_last);
	check(on_new == 1 && on_old == 0 && irq_status_last == 1,
	      "after the data is changed to vector 0x%x a raise arrives on "
	      "0x%x and none on 0x%x",
	      VEC_MSI2, VEC_MSI2, VEC_MSI);
}

static void irq(bool write_ram)
{
	u8 apic_id;
	u16 ctl;
	u32 addr, data;

	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	for (u32 v = VEC_FIRST; v < VEC_SPURIOUS; v++)
		trap_set_handler(v, irq_handler);
	trap_set_handler(VEC_SPURIOUS, spurious_handler);
	if (!lapic_setup(&apic_id) || !edu_setup() || !edu_registers())
		return;
	guest_printf(NAME ": irq: APIC ID %u (%s)\n", apic_id,
		     x2apic ? "x2APIC" : "xAPIC");

	EXPECT_EQ(pci_cfg_read8(slot, PCI_INTERRUPT_PIN), 1,
		  "interrupt pin reads 1 (INTA, as the host function's)");
	msi_cap = find_msi();
	if (!msi_cap) {
		guest_fail("edu offers an MSI capability (ID 0x05) in its "
			   "list");
		set_master(false);
		return;
	}
	guest_pass("edu offers an MSI capability (ID 0x05) in its list");
	ctl = msi_control();
	guest_printf(NAME ": MSI capability at 0x%02x, message control "
			  "0x%04x\n",
		     msi_cap, ctl);
	check((ctl & MSI_CTL_64BIT) && !(ctl & MSI_CTL_MMC) &&
		  !(ctl & MSI_CTL_ENABLE),
	      "MSI capability: one message, 64-bit address, disabled at the "
	      "start");
	edu_ack_all();

	raise_brings_none("with MSI disabled");

	msi_program(apic_id, VEC_MSI);
	ctl = msi_control();
	addr = pci_cfg_read32(slot, (u8)(msi_cap + MSI_ADDRESS_LOW));
	data = pci_cfg_read16(slot, msi_data_offset());
	guest_printf(NAME ": MSI control 0x%04x, address 0x%08x, data "
			  "0x%04x\n",
		     ctl, addr, data);
	check((ctl & (MSI_CTL_ENABLE | MSI_CTL_MME)) == MSI_CTL_ENABLE &&
		  addr == (MSI_ADDRESS | (u32)apic_id << MSI_DEST_SHIFT) &&
		  data == VEC_MSI &&
		  (!(ctl & MSI_CTL_64BIT) ||
		   !pci_cfg_read32(slot, (u8)(msi_cap + MSI_ADDRESS_HIGH))),
	      "MSI address, data and enable read back as written");

	raises();
	dma_interrupt(write_ram);
	new_vector(apic_id);

	set_master(false);
	raise_brings_none("with bus mastering off");
	set_master(true);

	msi_disable();
	raise_brings_none("with MSI disabled again");
	if (veneer)
		intx(apic_id);
	else
		guest_skip("INTx through its I/O APIC: natively the chipset "
			   "routes it");

	guest_printf(NAME ": interrupts: %u on 0x%x, %u on 0x%x, %u elsewhere, "
			  "%u spurious\n",
		     irqs[VEC_MSI], VEC_MSI, irqs[VEC_MSI2], VEC_MSI2,
		     irqs_elsewhere(VEC_MSI, VEC_MSI2), spurious);
	EXPECT_EQ(irqs_elsewhere(VEC_MSI, VEC_MSI2) - irqs[VEC_INTX], 0,
		  "no interrupt on any other vector");
	set_master(false);
	EXPECT_EQ((msi_control() & MSI_CTL_ENABLE) |
		      (pci_cfg_read16(slot, PCI_COMMAND) & PCI_CMD_MASTER),
		  0, "MSI and bus mastering off at the end");
}

/* ---- role=probe: a device's configuration, no DMA ---- */

/* Hex digits of v up to a space or the end, at most 8. */
static bool hex_word(const char *v, u32 *out)
{
	u32 n = 0, digits = 0;

	for (; *v && *v != ' ' && *v != ':'; v++, digits++) {
		char c = *v;
		u32 d = c >= '0' && c <= '9'   ? (u32)(c - '0')
			: c >= 'a' && c <= 'f' ? (u32)(c - 'a' + 10)
					       : 16;

		if (d > 15 || digits == 8)
			return false;
		n = n << 4 | d;
	}
	*out = n;
	return digits > 0;
}

/*
 * role=probe id=VVVV:DDDD: the function with that vendor and device ID is
 * on bus 0 (as a device given with pci_unsafe = yes on a machine without
 * an IOMMU is, where DMA would go to host addresses: no DMA here), its
 * class is not 0, and its command register's memory and bus master bits
 * are what Veneer lets through. With absent=yes: no function on bus 0 has
 * that ID (a device another guest owns):
 *   PASS: the device is not on bus 0
 */
static void probe(const char *cmdline)
{
	const char *id = cmdline_value(cmdline, "id");
	const char *absent = cmdline_value(cmdline, "absent");
	u32 vendor, device, want, class;
	u16 cmd;

	if (!id || !hex_word(id, &vendor) || !str_starts_with(id + 4, ":") ||
	    !hex_word(id + 5, &device)) {
		guest_fail("role=probe needs id=VVVV:DDDD");
		return;
	}
	want = device << 16 | vendor;
	for (slot = 1; slot < PCI_SLOTS; slot++)
		if (pci_cfg_read32(slot, PCI_ID) == want)
			break;
	if (absent && word_is(absent, "yes")) {
		if (slot < PCI_SLOTS)
			guest_printf(NAME ": %04x:%04x at 00:%02x.0\n", vendor,
				     device, slot);
		check(slot == PCI_SLOTS, "the device is not on bus 0");
		return;
	}
	if (slot == PCI_SLOTS) {
		guest_printf(NAME ": no %04x:%04x at 00:01.0-00:1f.0\n", vendor,
			     device);
		guest_fail("the device on bus 0");
		return;
	}
	guest_pass("the device on bus 0");
	class = pci_cfg_read32(slot, PCI_CLASS) >> 8;
	guest_printf(NAME ": %04x:%04x at 00:%02x.0, class %06x\n", vendor,
		     device, slot, class);
	EXPECT_TRUE(class != 0, "its class is the host function's (not 0)");
	pci_cfg_write16(slot, PCI_COMMAND, PCI_CMD_MEMORY | PCI_CMD_MASTER);
	cmd = pci_cfg_read16(slot, PCI_COMMAND);
	EXPECT_EQ(cmd & (PCI_CMD_MEMORY | PCI_CMD_MASTER),
		  PCI_CMD_MEMORY | PCI_CMD_MASTER,
		  "memory decode and bus master take");
	pci_cfg_write16(slot, PCI_COMMAND, 0);
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *cmdline = guest_cmdline(mbi);
	const char *role = cmdline_value(cmdline, "role");
	const char *dma = cmdline_value(cmdline, "dma");
	struct guest_mmap map;
	u32 wait_s, count;

	veneer = under_veneer();
	if (!number_option(cmdline, "wait", DEFAULT_WAIT_S, MAX_WAIT_S,
			   &wait_s) ||
	    !number_option(cmdline, "count", DEFAULT_COUNT, MAX_TARGETS,
			   &count))
		return;
	if (count < 1)
		count = 1;
	if (dma && !word_is(dma, "read") && !word_is(dma, "write")) {
		guest_fail("dma= is read or write");
		return;
	}
	if (!guest_mmap_read(mbi, &map)) {
		guest_fail("a multiboot memory map");
		return;
	}
	if (role && word_is(role, "victim"))
		victim(&map, wait_s);
	else if (role && word_is(role, "attacker"))
		attacker(&map, count);
	else if (role && word_is(role, "msi"))
		msi(&map);
	else if (role && word_is(role, "probe"))
		probe(cmdline);
	else if (role && word_is(role, "irq"))
		irq(!dma || word_is(dma, "write"));
	else
		guest_fail("role= is victim, attacker, msi, probe or irq");
}
