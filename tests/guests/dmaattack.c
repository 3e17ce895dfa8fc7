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
 * role=probe id=VVVV:DDDD: a device's configuration only (probe(), below).
 *
 * Command line: role=victim|attacker|msi, wait=S (victim), count=N (attacker),
 * veneer=0|1 as every guest.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/pit.h"
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
#define EDU_DMA_CMD    0x98
#define EDU_CMD_START  0x1
#define EDU_CMD_TO_RAM 0x2 /* 0: from RAM into the buffer */
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

/* One transfer of `count` bytes; waits for the start bit to clear. The
 * device address of its RAM is the guest-physical address. */
static bool edu_dma(u32 src, u32 dst, u32 count, bool to_ram)
{
	u32 ms;

	mmio_write32(bar + EDU_DMA_SRC, src);
	mmio_write32(bar + EDU_DMA_DST, dst);
	mmio_write32(bar + EDU_DMA_COUNT, count);
	mmio_write32(bar + EDU_DMA_CMD,
		     EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
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
 * are what Veneer lets through.
 */
static void probe(const char *cmdline)
{
	const char *id = cmdline_value(cmdline, "id");
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
	else
		guest_fail("role= is victim, attacker, msi or probe");
}
