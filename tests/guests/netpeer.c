/* SPDX-License-Identifier: MIT */
/*
 * netpeer: a small driver for Veneer's virtio-net NIC (docs/devices.md,
 * "virtio-net (device type 1, 5.1) and the switch"; virtio 1.2), so that
 * the switch between the guests' NICs is tested on both vendors by test
 * kernels (tests/integration/test_net_guests.py): Linux guests are too
 * slow for Bochs.
 *
 * Set-up, the same for every role: the function 1af4:1041 on bus 0
 * (configuration mechanism #1), memory decoding and bus mastering on,
 * BAR 4 and the virtio capabilities (4.1.4), the status handshake of 3.1.1
 * accepting VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS and VIRTIO_F_VERSION_1
 * only (no EVENT_IDX: every used buffer interrupts), the MAC from the
 * device configuration (5.1.4). receiveq 0 gets VIRTQ_SIZE buffers of 2 KiB,
 * each a 12-byte virtio_net_hdr and room for a whole frame (5.1.6.3, no
 * mergeable buffers); transmitq 1 sends one frame at a time. Interrupts
 * are MSI-X (PCI 3.0, 6.8.2): table entries 0 (receiveq), 1 (transmitq)
 * and 2 (configuration change) go to this CPU's local APIC as fixed
 * interrupts of vectors 0x30-0x32, each handler counts and EOIs.
 *
 * Frames are looked at only after a receive interrupt, so an interrupt
 * that never comes shows as a FAIL ("... in the used ring, but no MSI-X
 * interrupt"), and every wait is bounded by the TSC (measured against PIT
 * channel 2): HLT is woken at the latest by Veneer's one-shot timer
 * (HC_TIMER_ONESHOT, every TICK_US), so nothing lost can hang the guest.
 *
 * Test frames: EtherType 0x88b5 (IEEE 802 local experimental); the first
 * payload byte is the kind, the next four a sequence number, the rest a
 * pattern of (sequence, offset), so an echo is checked byte for byte.
 *
 * Roles (command line `role=`):
 *   echo   every frame of kind H (probe) or P (ping) for its MAC goes back
 *          to its source, same bytes but the MACs; a broadcast of kind S
 *          (stop) ends it: `netpeer: echoed N`; other broadcast and
 *          multicast frames are counted. A frame the switch had to
 *          drop (kind F, U or X below), a unicast frame for another MAC or
 *          a frame outside 14-1514 bytes reaching it is a FAIL.
 *   ping   `peer=MAC count=N [watchers=W]`: sends probes (kind H) to the
 *          peer every PROBE_MS until one comes back (it may start later),
 *          then N pings, lengths cycling through ping_lengths (60 to 1514,
 *          odd ones too), each waited for and compared; after a quarter
 *          of them a frame with a forged source MAC (kind F), after half a
 *          frame to a MAC no guest has (kind U), after three quarters one
 *          of 1515 and one of 13 bytes (kind X): none may come back, and
 *          the pings after them must. Then it waits for W ready frames
 *          (kind R) from distinct watchers, sends a multicast frame (kind
 *          M, to 03:00:00:00:00:01) and broadcasts the stop: `netpeer: N
 *          frames echoed` and a `netpeer: sent ...` line with what
 *          Veneer's statistics must count. It sends the stop after a
 *          failure too, so the other guests end at once.
 *   watch  `[report=MAC]`: counts every frame; a unicast frame for another
 *          MAC is a failure; a broadcast of kind S ends it: `netpeer:
 *          watched N broadcast, M unicast for others` (N counts multicast
 *          frames too), PASS when M is 0 and N at least 1. With report=, it
 * tells that guest (the pinger) it is ready by a unicast frame of kind R every
 *          READY_MS until the stop, so that the stop is never sent before
 *          its buffers are posted; unicast, so that the broadcasts are all
 *          the watcher's own NIC counts.
 * Optional: `timeout=S` (5) bounds each wait of the pinger (an echo, the
 * peer, the watchers); `runtime=S` (30) bounds an echo's or a watcher's
 * wait for the stop. Seconds of the guest's TSC. `delay=MS` (0) holds the
 * NIC's set-up back that long: a peer that comes up late (the frames for
 * it meanwhile are dropped and counted as "rx no buffer" on its NIC).
 *
 * Natively (no Veneer, no such NIC) it prints SKIP.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/hypercall.h"
#include "tests/guests/lib/multiboot.h"
#include "tests/guests/lib/pit.h"
#include "tests/guests/lib/trap.h"
#include "tests/guests/lib/virtio.h"

#define NAME "netpeer"

/* MSI-X (PCI 3.0, 6.8.2): control at +2, table offset and BIR at +4; each
 * table entry is address low, address high, data, vector control. */
#define MSIX_CTRL	   2
#define MSIX_TABLE	   4
#define MSIX_CTRL_ENABLE   0x8000
#define MSIX_CTRL_SIZE	   0x07ff /* table size - 1 */
#define MSIX_BIR_MASK	   0x7
#define MSIX_ENTRY_SIZE	   16
#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA	   8
#define MSIX_ENTRY_CTRL	   12
#define MSI_ADDRESS_BASE   0xfee00000U /* to the local APICs (SDM 11.11.1) */
#define MSI_DEST_SHIFT	   12

/* virtio-net (5.1): features, device configuration, queues, header. */
#define NET_F_MAC	  BIT(5)
#define NET_F_STATUS	  BIT(16)
#define NET_CFG_MAC	  0
#define NET_CFG_STATUS	  6
#define NET_S_LINK_UP	  1
#define RECEIVEQ	  0
#define TRANSMITQ	  1
#define NET_HDR_LEN	  12 /* with VERSION_1, num_buffers is there (5.1.6) */
#define HDR_GSO_TYPE	  1
#define HDR_NUM_BUFFERS	  10
#define HDR_GSO_NONE	  0
#define MSIX_VECTORS_USED 3 /* receiveq, transmitq, configuration */
#define MSIX_CONFIG_ENTRY 2

/* Buffers: a whole frame behind its header (no mergeable buffers). */
#define RX_BUF_LEN 2048
#define TX_BUF_LEN 2048

/* Ethernet (IEEE 802.3, 3.1.1): MACs, EtherType, no FCS in a frame. */
#define MAC_LEN		6
#define ETH_DEST	0
#define ETH_SOURCE	6
#define ETH_TYPE	12
#define ETH_HLEN	14
#define ETH_MIN		60 /* 14 + 46 */
#define ETH_MAX		1514
#define ETHERTYPE_TEST	0x88b5 /* local experimental EtherType 1 */
#define PAYLOAD_KIND	ETH_HLEN
#define PAYLOAD_SEQ	(ETH_HLEN + 1)
#define PAYLOAD_PATTERN (ETH_HLEN + 5)
#define OVERSIZE	(ETH_MAX + 1)
#define UNDERSIZE	(ETH_HLEN - 1)

/* The kinds of test frames: the first payload byte. */
#define KIND_PROBE   'H'
#define KIND_PING    'P'
#define KIND_FORGED  'F'
#define KIND_NOBODY  'U'
#define KIND_BADSIZE 'X'
#define KIND_STOP    'S'
#define KIND_READY   'R'
#define KIND_GROUP   'M'

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

/* Vectors: the NIC's above the exceptions and the 8259's defaults. */
#define VEC_RX	     0x30
#define VEC_TX	     0x31
#define VEC_CONFIG   0x32
#define VEC_TICK     0x40 /* HC_TIMER_ONESHOT: straight to the IDT, no EOI */
#define VEC_SPURIOUS 0xff

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA	0xa1

/* Time. */
#define CALIBRATE_MS	  20
#define CALIBRATE_POLLS	  (1U << 20)
#define TICK_US		  5000 /* the longest HLT */
#define PROBE_MS	  10   /* probes to a peer not yet up */
#define READY_MS	  20   /* a watcher's ready frames */
#define DEFAULT_TIMEOUT_S 5
#define DEFAULT_RUNTIME_S 30
#define MAX_SECONDS	  600
#define MIN_COUNT	  16 /* 3 good pings after each bad frame */
#define MAX_COUNT	  1000000
#define MAX_WATCHERS	  4

static const u8 forged_mac[MAC_LEN] = {0x02, 0x00, 0x00, 0x00, 0x0f, 0x0f};
static const u8 nobody_mac[MAC_LEN] = {0x02, 0x00, 0x00, 0x00, 0x0e, 0x0e};
static const u8 broadcast_mac[MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
/* Multicast, locally administered: flooded like the broadcast. */
static const u8 group_mac[MAC_LEN] = {0x03, 0x00, 0x00, 0x00, 0x00, 0x01};

/* The pings' lengths, cycled: the smallest frame, the largest, odd ones,
 * powers of two and one either side. */
static const u16 ping_lengths[] = {60,	 61,   64,   97,   128,	 255,  256,
				   333,	 511,  512,  777,  1000, 1023, 1024,
				   1299, 1499, 1500, 1513, 1514};

enum role { ROLE_ECHO, ROLE_PING, ROLE_WATCH };

static struct {
	struct virtio_dev pci;
	uintptr_t msix_table;
	u8 mac[MAC_LEN];
	struct virtq rxq, txq;
	bool up; /* DRIVER_OK: frames may be sent */
} nic;

static struct virtq_rings rx_rings, tx_rings;
static u8 rx_buf[VIRTQ_SIZE][RX_BUF_LEN] __aligned(64);
static u8 tx_buf[TX_BUF_LEN] __aligned(64);
static bool rx_posted[VIRTQ_SIZE];

static enum hypercall_insn hc_insn;
static u32 tsc_khz;
static bool x2apic;
static uintptr_t lapic_base;
static u32 timeout_s = DEFAULT_TIMEOUT_S, runtime_s = DEFAULT_RUNTIME_S;
static u32 delay_ms;

static volatile u32 rx_irqs, tx_irqs, config_irqs, tick_irqs;
static volatile bool tick_armed;
static u32 rx_irqs_seen, config_irqs_seen;

/* What was received and sent, for the summary lines. */
static u32 frames_in, broadcasts_in, sent, sent_bad;
static bool failed;

/* The role's handling of one received frame; false on a failure. */
static bool (*on_frame)(const u8 *frame, u32 len);

static __printf(1, 2) bool fail(const char *fmt, ...)
{
	va_list ap;

	if (failed)
		return false; /* the first reason is the one that matters */
	failed = true;
	guest_failures++;
	guest_printf("FAIL: " NAME ": ");
	va_start(ap, fmt);
	guest_vprintf(fmt, ap);
	va_end(ap);
	guest_printf("\n");
	return false;
}

/* ---- time ---- */

/* a is at or after b on the TSC. */
static bool tsc_reached(u64 a, u64 b)
{
	return (i64)(a - b) >= 0;
}

static u64 ms_to_ticks(u64 ms)
{
	return ms * tsc_khz;
}

static u32 ticks_to_ms(u64 ticks)
{
	return (u32)div64(ticks, tsc_khz);
}

/*
 * TSC ticks per millisecond against PIT channel 2 counting down in mode 0
 * from 0xffff (54.9 ms): its count is latched before and after
 * CALIBRATE_MS. The deadlines only need to be right within tens of
 * percent, so one window does (heartbeat.c measures more carefully).
 */
static bool calibrate(void)
{
	u64 t0, t1;
	u32 c0, c1, polls = 0;

	outb(PORT_B, (u8)((inb(PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2));
	outb(PIT_COMMAND, PIT_CH2_MODE0);
	outb(PIT_CH2, 0xff);
	outb(PIT_CH2, 0xff);
	/* The count loads at the PIT clock after the write: one latch to
	 * let it, then the start. */
	outb(PIT_COMMAND, PIT_CH2_LATCH);
	(void)inb(PIT_CH2);
	(void)inb(PIT_CH2);
	t0 = rdtsc();
	outb(PIT_COMMAND, PIT_CH2_LATCH);
	c0 = inb(PIT_CH2);
	c0 |= (u32)inb(PIT_CH2) << 8;
	do {
		if (++polls == CALIBRATE_POLLS)
			return fail("PIT channel 2 does not count down");
		t1 = rdtsc();
		outb(PIT_COMMAND, PIT_CH2_LATCH);
		c1 = inb(PIT_CH2);
		c1 |= (u32)inb(PIT_CH2) << 8;
	} while (c1 > c0 || c0 - c1 < CALIBRATE_MS * PIT_TICKS_PER_MS);
	tsc_khz = (u32)div64((t1 - t0) * PIT_HZ, (c0 - c1) * 1000);
	if (tsc_khz == 0)
		return fail("the TSC does not count");
	return true;
}

/* ---- local APIC ---- */

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
 * MSI-X messages go, in *apic_id. */
static bool lapic_setup(u8 *apic_id)
{
	u64 base;
	u32 id;

	if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC))
		return fail("no local APIC: CPUID.1:EDX[9] is 0");
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
	if (id > 0xff)
		return fail("APIC ID 0x%x does not fit an MSI address", id);
	*apic_id = (u8)id;
	return true;
}

/* ---- interrupts ---- */

static void rx_handler(struct trap_frame *frame)
{
	(void)frame;
	rx_irqs++;
	lapic_write(LAPIC_EOI, 0);
}

static void tx_handler(struct trap_frame *frame)
{
	(void)frame;
	tx_irqs++;
	lapic_write(LAPIC_EOI, 0);
}

static void config_handler(struct trap_frame *frame)
{
	(void)frame;
	config_irqs++;
	lapic_write(LAPIC_EOI, 0);
}

static void tick_handler(struct trap_frame *frame)
{
	(void)frame; /* Veneer's timer: no EOI (tests/guests/README.md) */
	tick_irqs++;
	tick_armed = false;
}

static void spurious_handler(struct trap_frame *frame)
{
	(void)frame; /* no EOI for the spurious vector (SDM 11.9) */
}

/*
 * HLT until an interrupt, interrupts off again afterwards. The tick is
 * armed first, so that HLT ends within TICK_US even if the interrupt
 * waited for never comes; STI's shadow makes STI; HLT atomic, so one that
 * is already pending wakes the HLT.
 */
static void idle(void)
{
	if (!tick_armed) {
		long r;

		tick_armed = true;
		r = hypercall(hc_insn, HC_TIMER_ONESHOT, VEC_TICK, TICK_US, 0,
			      0);
		if (r != 0) {
			fail("HC_TIMER_ONESHOT returned %ld", r);
			tick_armed = false;
			return;
		}
	}
	cpu_sti_hlt();
	cpu_cli();
}

/* HLT for `ms` of the TSC. */
static void pause_ms(u32 ms)
{
	u64 end = rdtsc() + ms_to_ticks(ms);

	while (!failed && !tsc_reached(rdtsc(), end))
		idle();
}

/* ---- MACs and frames ---- */

static bool mac_eq(const u8 *a, const u8 *b)
{
	for (int i = 0; i < MAC_LEN; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static bool is_multicast(const u8 *mac)
{
	return mac[0] & 1; /* broadcast is the all-ones multicast */
}

/* Up to 3 MACs may be printed in one line: a ring of buffers. */
static const char *mac_str(const u8 *mac)
{
	static const char hex[] = "0123456789abcdef";
	static char text[3][3 * MAC_LEN];
	static unsigned next;
	char *s = text[next++ % 3];

	for (int i = 0; i < MAC_LEN; i++) {
		s[3 * i] = hex[mac[i] >> 4];
		s[3 * i + 1] = hex[mac[i] & 0xf];
		s[3 * i + 2] = i + 1 < MAC_LEN ? ':' : '\0';
	}
	return s;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* XX:XX:XX:XX:XX:XX, ended by a space or the end of the line. */
static bool parse_mac(const char *s, u8 *mac)
{
	for (int i = 0; i < MAC_LEN; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		char end = s[3 * i + 2];

		if (hi < 0 || lo < 0)
			return false;
		if (i + 1 < MAC_LEN ? end != ':' : (end != ' ' && end != '\0'))
			return false;
		mac[i] = (u8)(hi << 4 | lo);
	}
	return true;
}

static u16 ethertype(const u8 *f)
{
	return (u16)(f[ETH_TYPE] << 8 | f[ETH_TYPE + 1]);
}

/* One of ours: the test EtherType and room for the kind byte. */
static bool is_test_frame(const u8 *f, u32 len)
{
	return len > PAYLOAD_KIND && ethertype(f) == ETHERTYPE_TEST;
}

static u32 seq_of(const u8 *f, u32 len)
{
	if (len < PAYLOAD_PATTERN)
		return 0;
	return f[PAYLOAD_SEQ] | (u32)f[PAYLOAD_SEQ + 1] << 8 |
	       (u32)f[PAYLOAD_SEQ + 2] << 16 | (u32)f[PAYLOAD_SEQ + 3] << 24;
}

static u8 pattern(u32 seq, u32 off)
{
	return (u8)(seq * 29 + off * 7 + (off >> 8) * 3);
}

/* Byte `off` (from the EtherType on) of test frame (kind, seq). */
static u8 frame_byte(u8 kind, u32 seq, u32 off)
{
	if (off == ETH_TYPE)
		return (u8)(ETHERTYPE_TEST >> 8);
	if (off == ETH_TYPE + 1)
		return (u8)ETHERTYPE_TEST;
	if (off == PAYLOAD_KIND)
		return kind;
	if (off < PAYLOAD_PATTERN)
		return (u8)(seq >> (8 * (off - PAYLOAD_SEQ)));
	return pattern(seq, off);
}

static void build_frame(u8 *f, const u8 *dest, const u8 *source, u8 kind,
			u32 seq, u32 len)
{
	memcpy(f + ETH_DEST, dest, MAC_LEN);
	memcpy(f + ETH_SOURCE, source, MAC_LEN);
	for (u32 off = ETH_TYPE; off < len; off++)
		f[off] = frame_byte(kind, seq, off);
}

/* ---- finding the NIC ---- */

/* The MSI-X table (PCI 3.0, 6.8.2): in BAR 4, with an entry for each
 * vector used. */
static bool find_msix(void)
{
	u8 slot = nic.pci.slot, cap = nic.pci.msix_cap;
	u32 table;
	u16 entries;

	if (!cap)
		return fail("no MSI-X capability");
	table = pci_cfg_read32(slot, (u8)(cap + MSIX_TABLE));
	entries =
	    (pci_cfg_read16(slot, (u8)(cap + MSIX_CTRL)) & MSIX_CTRL_SIZE) + 1;
	if ((table & MSIX_BIR_MASK) != VIRTIO_BAR)
		return fail("MSI-X table in BAR %u, not 4",
			    table & MSIX_BIR_MASK);
	if (entries < MSIX_VECTORS_USED)
		return fail("MSI-X table of %u entries", entries);
	nic.msix_table = nic.pci.bar + (table & ~MSIX_BIR_MASK);
	return true;
}

static bool find_nic(void)
{
	u8 slot = virtio_pci_find(VIRTIO_NET_DEVICE, 0);

	if (slot == PCI_SLOTS)
		return fail("no 1af4:1041 (virtio-net) function on bus 0");
	nic.pci.slot = slot;
	nic.pci.fail = fail;
	/* Bus mastering too: the device writes the rings and frames into
	 * RAM and sends MSI-X messages. */
	return virtio_pci_bar(&nic.pci) &&
	       virtio_pci_enable(&nic.pci, PCI_CMD_MEMORY | PCI_CMD_MASTER) &&
	       virtio_find_caps(&nic.pci) && find_msix();
}

/* ---- the driver (3.1.1) ---- */

/* MSI-X table entry `entry`: a fixed, edge interrupt of `vector` to the
 * local APIC `apic_id` (SDM 11.11.1, 11.11.2), then unmasked. */
static void msix_route(u16 entry, u8 apic_id, u8 vector)
{
	uintptr_t e = nic.msix_table + (uintptr_t)entry * MSIX_ENTRY_SIZE;

	mmio_write32(e + MSIX_ENTRY_ADDR_LO,
		     MSI_ADDRESS_BASE | (u32)apic_id << MSI_DEST_SHIFT);
	mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
	mmio_write32(e + MSIX_ENTRY_DATA, vector);
	mmio_write32(e + MSIX_ENTRY_CTRL, 0);
}

/* Queue q: VIRTQ_SIZE entries in rings r, MSI-X vector q (4.1.5.1.2: the
 * device answers NO_VECTOR when it cannot take it), enabled. */
static bool queue_setup(u16 q, struct virtq *vq, struct virtq_rings *r)
{
	u16 offered = virtio_queue_max(&nic.pci, q), vector;

	if (offered < VIRTQ_SIZE)
		return fail("queue %u offers %u entries, fewer than %u", q,
			    offered, VIRTQ_SIZE);
	virtq_init(vq, r, q);
	virtio_queue_config(&nic.pci, q, VIRTQ_SIZE, (uintptr_t)r->desc,
			    (uintptr_t)&r->avail, (uintptr_t)&r->used);
	mmio_write16(nic.pci.common + VIRTIO_CC_QMSIX, q);
	vector = mmio_read16(nic.pci.common + VIRTIO_CC_QMSIX);
	if (vector != q)
		return fail("queue %u's MSI-X vector reads 0x%x, not %u", q,
			    vector, q);
	return virtio_queue_enable(&nic.pci, vq);
}

/* Notify the device unless it said it needs none (2.7.10). */
static void kick(struct virtq *vq)
{
	if (!virtq_no_notify(vq))
		virtq_kick(vq);
}

/* Receive buffer `id` back on the available ring. */
static void post_rx(u16 id)
{
	virtq_set_desc(&nic.rxq, id, (uintptr_t)rx_buf[id], RX_BUF_LEN,
		       VIRTQ_DESC_F_WRITE, 0);
	rx_posted[id] = true;
	virtq_publish(&nic.rxq, id, 1);
}

static bool nic_setup(void)
{
	static const u8 zero_mac[MAC_LEN];
	u8 apic_id = 0;
	u16 vector;

	if (!lapic_setup(&apic_id) || !find_nic() || !virtio_reset(&nic.pci) ||
	    !virtio_negotiate(&nic.pci,
			      VIRTIO_F_VERSION_1 | NET_F_MAC | NET_F_STATUS))
		return false;
	for (int i = 0; i < MAC_LEN; i++)
		nic.mac[i] = mmio_read8(nic.pci.device + NET_CFG_MAC + i);
	if (!(mmio_read16(nic.pci.device + NET_CFG_STATUS) & NET_S_LINK_UP))
		return fail("the link is down (status 0x%x)",
			    mmio_read16(nic.pci.device + NET_CFG_STATUS));
	if (is_multicast(nic.mac) || mac_eq(nic.mac, zero_mac))
		return fail("the device's MAC %s is no unicast MAC",
			    mac_str(nic.mac));
	/* MSI-X on with every entry masked (its reset state), then the
	 * entries routed and unmasked one by one. */
	pci_cfg_write16(nic.pci.slot, (u8)(nic.pci.msix_cap + MSIX_CTRL),
			MSIX_CTRL_ENABLE);
	msix_route(RECEIVEQ, apic_id, VEC_RX);
	msix_route(TRANSMITQ, apic_id, VEC_TX);
	msix_route(MSIX_CONFIG_ENTRY, apic_id, VEC_CONFIG);
	mmio_write16(nic.pci.common + VIRTIO_CC_MSIX_CONFIG, MSIX_CONFIG_ENTRY);
	vector = mmio_read16(nic.pci.common + VIRTIO_CC_MSIX_CONFIG);
	if (vector != MSIX_CONFIG_ENTRY)
		return fail("config_msix_vector reads 0x%x, not %u", vector,
			    MSIX_CONFIG_ENTRY);
	if (!queue_setup(RECEIVEQ, &nic.rxq, &rx_rings) ||
	    !queue_setup(TRANSMITQ, &nic.txq, &tx_rings))
		return false;
	/* Buffers may be posted before DRIVER_OK; the device uses none
	 * until then (3.1.1, 5.1.5 step 3). */
	for (u16 id = 0; id < VIRTQ_SIZE; id++)
		post_rx(id);
	if (!virtio_driver_ok(&nic.pci))
		return false;
	nic.up = true;
	kick(&nic.rxq);
	return true;
}

/* ---- receiving ---- */

/*
 * Every used receive buffer: checked (one of ours, a whole frame behind a
 * header with num_buffers 1 and no GSO, 5.1.6.4), handed to the role, put
 * back. One notification for all the buffers put back.
 */
static void receive_all(void)
{
	struct virtq *vq = &nic.rxq;
	bool reposted = false;
	u32 id, len;

	while (!failed && virtq_next_used(vq, &id, &len)) {
		const u8 *hdr;

		if (id >= VIRTQ_SIZE || !rx_posted[id]) {
			fail("used receive entry %u names buffer %u, which "
			     "is not posted",
			     (u16)(vq->used_seen - 1) % VIRTQ_SIZE, id);
			return;
		}
		rx_posted[id] = false;
		hdr = rx_buf[id];
		if (len < NET_HDR_LEN || len > RX_BUF_LEN) {
			fail("used length %u for a %u-byte receive buffer", len,
			     RX_BUF_LEN);
			return;
		}
		if (hdr[HDR_GSO_TYPE] != HDR_GSO_NONE ||
		    (hdr[HDR_NUM_BUFFERS] | hdr[HDR_NUM_BUFFERS + 1] << 8) !=
			1) {
			fail("receive header gso_type %u, num_buffers %u: want "
			     "0 and 1 (5.1.6.4)",
			     hdr[HDR_GSO_TYPE],
			     hdr[HDR_NUM_BUFFERS] | hdr[HDR_NUM_BUFFERS + 1]
							<< 8);
			return;
		}
		frames_in++;
		if (len - NET_HDR_LEN >= ETH_HLEN &&
		    is_multicast(hdr + NET_HDR_LEN + ETH_DEST))
			broadcasts_in++;
		if (!on_frame(hdr + NET_HDR_LEN, len - NET_HDR_LEN))
			return;
		post_rx((u16)id);
		reposted = true;
	}
	if (reposted)
		kick(vq);
}

/* What the interrupts brought: a configuration change (the device broke),
 * frames (looked at only after a receive interrupt). */
static void service(void)
{
	if (config_irqs != config_irqs_seen) {
		u8 st = virtio_status(&nic.pci);

		config_irqs_seen = config_irqs;
		if (st & VIRTIO_ST_NEEDS_RESET)
			fail("configuration interrupt: device_status 0x%x, the "
			     "device needs a reset",
			     st);
	}
	if (rx_irqs != rx_irqs_seen) {
		rx_irqs_seen = rx_irqs;
		receive_all();
	}
}

/* A wait that ran out: say whether frames were there without their
 * interrupt. */
static bool timed_out(const char *what, u64 waited)
{
	u16 waiting = (u16)(virtq_used_idx(&nic.rxq) - nic.rxq.used_seen);

	if (waiting)
		return fail("%s: %u frame(s) in the receive queue's used ring, "
			    "but no MSI-X interrupt in %u ms (%u receive "
			    "interrupts so far)",
			    what, waiting, ticks_to_ms(waited), rx_irqs);
	return fail("%s: nothing in %u ms (device_status 0x%x, %u frames "
		    "received, %u receive interrupts)",
		    what, ticks_to_ms(waited), virtio_status(&nic.pci),
		    frames_in, rx_irqs);
}

/*
 * HLT and serve interrupts until done() or `seconds` have passed (a FAIL
 * naming `what`); each(), if given, is called on every wake-up (to send
 * again what is due).
 */
static bool wait_for(bool (*done)(void), u32 seconds, const char *what,
		     void (*each)(u64 now))
{
	u64 start = rdtsc(), now;

	for (;;) {
		service();
		if (failed)
			return false;
		if (done())
			return true;
		now = rdtsc();
		if (tsc_reached(now, start + ms_to_ticks(seconds * 1000ULL)))
			return timed_out(what, now - start);
		if (each) {
			each(now);
			if (failed)
				return false;
		}
		idle();
	}
}

/* ---- sending ---- */

static u8 *tx_frame(void)
{
	return tx_buf + NET_HDR_LEN;
}

/*
 * Send the frame in tx_frame() (len bytes) behind a zero header (no
 * checksum, no GSO: 5.1.6.2) and wait until the device has used the
 * buffer (Veneer does so during the notification; a device that takes
 * longer is waited for, bounded). Receive interrupts are not served here:
 * the echo sends from inside receive_all().
 */
static bool transmit(u32 len)
{
	struct virtq *vq = &nic.txq;
	u16 head = vq->avail_idx & (VIRTQ_SIZE - 1);
	u64 start = rdtsc();
	u32 id, used_len;

	memset(tx_buf, 0, NET_HDR_LEN);
	virtq_set_desc(vq, head, (uintptr_t)tx_buf, NET_HDR_LEN + len, 0, 0);
	virtq_publish(vq, head, 1);
	kick(vq);
	while (!virtq_next_used(vq, &id, &used_len)) {
		u64 now = rdtsc();

		if (tsc_reached(now, start + ms_to_ticks(timeout_s * 1000ULL)))
			return fail("transmit buffer %u not used in %u ms "
				    "(device_status 0x%x, %u transmit "
				    "interrupts)",
				    head, ticks_to_ms(now - start),
				    virtio_status(&nic.pci), tx_irqs);
		idle();
	}
	if (id != head)
		return fail("used transmit entry names buffer %u, not %u", id,
			    head);
	if (used_len != 0)
		return fail("used length %u for a transmit buffer, which has "
			    "nothing device-writable",
			    used_len);
	if (len >= ETH_HLEN && len <= ETH_MAX)
		sent++;
	else
		sent_bad++;
	return true;
}

static bool send_test_frame(const u8 *dest, const u8 *source, u8 kind, u32 seq,
			    u32 len)
{
	build_frame(tx_frame(), dest, source, kind, seq, len);
	return transmit(len);
}

/* The stop broadcast: what ends the echo and the watchers. */
static bool send_stop(void)
{
	return send_test_frame(broadcast_mac, nic.mac, KIND_STOP, 0, ETH_MIN);
}

/* ---- echo ---- */

static u32 echoed;
static bool stopped;

/* A unicast or a size the switch must never let through. */
static bool check_delivery(const u8 *f, u32 len)
{
	if (len < ETH_HLEN || len > ETH_MAX)
		return fail("a %u-byte frame arrived: the switch takes 14 to "
			    "1514",
			    len);
	if (!is_multicast(f + ETH_DEST) && !mac_eq(f + ETH_DEST, nic.mac))
		return fail("a unicast frame for %s from %s reached %s",
			    mac_str(f + ETH_DEST), mac_str(f + ETH_SOURCE),
			    mac_str(nic.mac));
	return true;
}

static bool is_stop(const u8 *f, u32 len)
{
	return is_multicast(f + ETH_DEST) && is_test_frame(f, len) &&
	       f[PAYLOAD_KIND] == KIND_STOP;
}

static bool echo_frame(const u8 *f, u32 len)
{
	u8 kind;

	if (!check_delivery(f, len))
		return false;
	if (is_multicast(f + ETH_DEST)) {
		stopped = stopped || is_stop(f, len);
		return true;
	}
	if (!is_test_frame(f, len))
		return fail("a %u-byte frame of EtherType 0x%04x from %s", len,
			    ethertype(f), mac_str(f + ETH_SOURCE));
	kind = f[PAYLOAD_KIND];
	if (kind != KIND_PROBE && kind != KIND_PING)
		return fail("a frame of kind '%c' (seq %u, %u bytes) from %s "
			    "reached me: the switch must drop it",
			    kind, seq_of(f, len), len, mac_str(f + ETH_SOURCE));
	memcpy(tx_frame() + ETH_DEST, f + ETH_SOURCE, MAC_LEN);
	memcpy(tx_frame() + ETH_SOURCE, nic.mac, MAC_LEN);
	memcpy(tx_frame() + ETH_TYPE, f + ETH_TYPE, len - ETH_TYPE);
	if (!transmit(len))
		return false;
	echoed++;
	return true;
}

static bool is_stopped(void)
{
	return stopped;
}

static void run_echo(void)
{
	on_frame = echo_frame;
	if (wait_for(is_stopped, runtime_s, "waiting for the stop broadcast",
		     NULL))
		guest_printf(NAME ": echoed %u\n", echoed);
	guest_printf(NAME ": received %u frames (%u broadcast or multicast), "
			  "sent %u\n",
		     frames_in, broadcasts_in, sent);
}

/* ---- ping ---- */

static u8 peer[MAC_LEN];
static u32 count, watchers_wanted;
static u32 probes, probe_echoes, pings_echoed, forged_sent, nobody_sent,
    group_sent;
static u32 first_answer; /* the probe the peer answered first */
static u64 next_probe;
static bool peer_answered;
static bool awaiting;
static u32 expect_seq, expect_len;
static u8 ready_from[MAX_WATCHERS][MAC_LEN];
static u32 ready_count, ready_frames;

static void note_ready(const u8 *source)
{
	ready_frames++;
	for (u32 i = 0; i < ready_count; i++)
		if (mac_eq(ready_from[i], source))
			return;
	if (ready_count < MAX_WATCHERS)
		memcpy(ready_from[ready_count++], source, MAC_LEN);
}

/* The echo of ping expect_seq: the MACs swapped, every other byte as
 * sent. */
static bool check_echo(const u8 *f, u32 len, u32 seq)
{
	if (!awaiting)
		return fail("an echo of ping %u came when none was due (the "
			    "last one sent was %u)",
			    seq, expect_seq);
	if (seq != expect_seq)
		return fail("an echo of ping %u came while waiting for %u's",
			    seq, expect_seq);
	if (len != expect_len)
		return fail("the echo of ping %u is %u bytes, not %u", seq, len,
			    expect_len);
	for (u32 off = ETH_TYPE; off < len; off++)
		if (f[off] != frame_byte(KIND_PING, seq, off))
			return fail("the echo of ping %u (%u bytes): byte %u "
				    "is 0x%02x, not 0x%02x",
				    seq, len, off, f[off],
				    frame_byte(KIND_PING, seq, off));
	awaiting = false;
	pings_echoed++;
	return true;
}

static bool ping_frame(const u8 *f, u32 len)
{
	u8 kind;

	if (!check_delivery(f, len))
		return false;
	if (is_multicast(f + ETH_DEST))
		return fail("a broadcast from %s: only the pinger sends one",
			    mac_str(f + ETH_SOURCE));
	if (!is_test_frame(f, len))
		return fail("a %u-byte frame of EtherType 0x%04x from %s", len,
			    ethertype(f), mac_str(f + ETH_SOURCE));
	kind = f[PAYLOAD_KIND];
	if (kind == KIND_READY) {
		note_ready(f + ETH_SOURCE);
		return true;
	}
	if (!mac_eq(f + ETH_SOURCE, peer))
		return fail(
		    "a frame of kind '%c' from %s, not from the peer %s", kind,
		    mac_str(f + ETH_SOURCE), mac_str(peer));
	switch (kind) {
	case KIND_PROBE:
		/* Answers to probes sent before the first answer came. */
		if (seq_of(f, len) >= probes)
			return fail("an answer to probe %u, of %u sent",
				    seq_of(f, len), probes);
		if (!peer_answered)
			first_answer = seq_of(f, len);
		peer_answered = true;
		probe_echoes++;
		return true;
	case KIND_PING:
		return check_echo(f, len, seq_of(f, len));
	default:
		return fail("an echo of a frame of kind '%c' (seq %u) came "
			    "back: the switch must have dropped it",
			    kind, seq_of(f, len));
	}
}

static void probe_again(u64 now)
{
	if (!tsc_reached(now, next_probe))
		return;
	next_probe = now + ms_to_ticks(PROBE_MS);
	send_test_frame(peer, nic.mac, KIND_PROBE, probes, ETH_MIN);
	probes++;
}

static bool peer_is_up(void)
{
	return peer_answered;
}

static bool echo_came(void)
{
	return !awaiting;
}

static bool watchers_ready(void)
{
	return ready_count >= watchers_wanted;
}

static bool ping(u32 seq)
{
	u32 len = ping_lengths[seq % ARRAY_SIZE(ping_lengths)];

	expect_seq = seq;
	expect_len = len;
	awaiting = true;
	return send_test_frame(peer, nic.mac, KIND_PING, seq, len) &&
	       wait_for(echo_came, timeout_s, "waiting for an echo", NULL);
}

/* Frames the switch or the device must drop, each followed by at least
 * three pings during which nothing may come back for it. */
static bool send_bad(u32 seq)
{
	if (seq == count / 4) {
		forged_sent++;
		return send_test_frame(peer, forged_mac, KIND_FORGED, seq,
				       ETH_MIN);
	}
	if (seq == count / 2) {
		nobody_sent++;
		return send_test_frame(nobody_mac, nic.mac, KIND_NOBODY, seq,
				       ETH_MIN);
	}
	if (seq == count / 4 * 3)
		return send_test_frame(peer, nic.mac, KIND_BADSIZE, seq,
				       OVERSIZE) &&
		       send_test_frame(peer, nic.mac, KIND_BADSIZE, seq,
				       UNDERSIZE);
	return true;
}

static void run_ping(void)
{
	u64 start, end;
	u32 seq = 0;

	on_frame = ping_frame;
	start = next_probe = rdtsc();
	if (!wait_for(peer_is_up, timeout_s, "waiting for the peer's answer",
		      probe_again))
		goto stop;
	guest_printf(
	    NAME ": the peer %s answered probe %u (of %u sent) after %u "
		 "ms\n",
	    mac_str(peer), first_answer, probes, ticks_to_ms(rdtsc() - start));
	start = rdtsc();
	for (seq = 0; seq < count; seq++)
		if (!send_bad(seq) || !ping(seq))
			goto stop;
	end = rdtsc();
	guest_printf(NAME ": %u pings in %u ms\n", count,
		     ticks_to_ms(end - start));
	/* For make bench (bench/run-bench, "Frames between two guests"). */
	guest_printf(NAME ": pings %u tsc=%llu tsc=%llu\n", count,
		     (unsigned long long)start, (unsigned long long)end);
	guest_pass("every ping came back, byte for byte, lengths 60 to 1514");
	guest_pass("no echo for a forged source, a MAC nobody has, 1515 and "
		   "13 bytes");
	if (watchers_wanted && wait_for(watchers_ready, timeout_s,
					"waiting for the watchers", NULL))
		guest_printf(NAME ": %u watcher(s) ready (%u ready frames)\n",
			     ready_count, ready_frames);
	/* Before the stop, so that everyone who sees the stop saw it. */
	if (!failed && send_test_frame(group_mac, nic.mac, KIND_GROUP, 0, 77))
		group_sent++;
stop:
	if (nic.up && send_stop() && !failed)
		guest_printf(NAME ": %u frames echoed\n", pings_echoed);
	guest_printf(NAME
		     ": sent %u frames (%u probes, %u pings, %u forged, "
		     "%u to nobody, %u multicast, 1 stop), %u of a bad size; "
		     "received %u (%u probe answers, %u ready)\n",
		     sent, probes, seq, forged_sent, nobody_sent, group_sent,
		     sent_bad, frames_in, probe_echoes, ready_frames);
}

/* ---- watch ---- */

static u8 report_to[MAC_LEN];
static bool reporting;
static u32 unicast_others, unicast_mine, ready_sent;
static u64 next_ready;

static bool watch_frame(const u8 *f, u32 len)
{
	if (len < ETH_HLEN || len > ETH_MAX)
		return fail("a %u-byte frame arrived: the switch takes 14 to "
			    "1514",
			    len);
	if (is_multicast(f + ETH_DEST)) {
		stopped = stopped || is_stop(f, len);
	} else if (!mac_eq(f + ETH_DEST, nic.mac)) {
		if (!unicast_others++)
			guest_printf(NAME ": a unicast frame for %s from %s "
					  "(%u bytes) reached %s\n",
				     mac_str(f + ETH_DEST),
				     mac_str(f + ETH_SOURCE), len,
				     mac_str(nic.mac));
	} else {
		unicast_mine++;
	}
	return true;
}

static void ready_again(u64 now)
{
	if (!reporting || !tsc_reached(now, next_ready))
		return;
	next_ready = now + ms_to_ticks(READY_MS);
	if (send_test_frame(report_to, nic.mac, KIND_READY, ready_sent,
			    ETH_MIN))
		ready_sent++;
}

static void run_watch(void)
{
	on_frame = watch_frame;
	next_ready = rdtsc();
	if (!wait_for(is_stopped, runtime_s, "waiting for the stop broadcast",
		      ready_again))
		return;
	guest_printf(NAME ": watched %u broadcast, %u unicast for others\n",
		     broadcasts_in, unicast_others);
	guest_printf(NAME ": %u unicast for me, sent %u ready frames\n",
		     unicast_mine, ready_sent);
	if (unicast_others)
		fail("%u unicast frame(s) for other MACs reached me",
		     unicast_others);
}

/* ---- command line ---- */

static bool word_is(const char *s, const char *word)
{
	size_t n = str_len(word);

	return s && str_starts_with(s, word) && (s[n] == '\0' || s[n] == ' ');
}

/* key=N into *value (unchanged if absent) within min..max. */
static bool number_option(const char *cmdline, const char *key, u32 min,
			  u32 max, u32 *value)
{
	const char *given = cmdline_value(cmdline, key);
	u64 v;

	if (!given)
		return true;
	if (parse_u64(given, &v) && v >= min && v <= max) {
		*value = (u32)v;
		return true;
	}
	return fail("command line %s=: want a number from %u to %u", key, min,
		    max);
}

static bool mac_option(const char *cmdline, const char *key, u8 *mac,
		       bool *given)
{
	const char *s = cmdline_value(cmdline, key);

	*given = s != NULL;
	if (s && !parse_mac(s, mac))
		return fail("command line %s=: want XX:XX:XX:XX:XX:XX", key);
	return true;
}

static bool parse_options(const char *cmdline, enum role *role)
{
	const char *r = cmdline_value(cmdline, "role");
	bool have_peer = false;

	if (word_is(r, "echo")) {
		*role = ROLE_ECHO;
	} else if (word_is(r, "ping")) {
		*role = ROLE_PING;
	} else if (word_is(r, "watch")) {
		*role = ROLE_WATCH;
	} else {
		return fail("command line role=: want echo, ping or watch");
	}
	if (!number_option(cmdline, "timeout", 1, MAX_SECONDS, &timeout_s) ||
	    !number_option(cmdline, "runtime", 1, MAX_SECONDS, &runtime_s) ||
	    !number_option(cmdline, "delay", 0, MAX_SECONDS * 1000,
			   &delay_ms) ||
	    !mac_option(cmdline, "report", report_to, &reporting))
		return false;
	if (*role != ROLE_PING)
		return true;
	if (!mac_option(cmdline, "peer", peer, &have_peer))
		return false;
	if (!have_peer || is_multicast(peer))
		return fail("role=ping needs peer=MAC, a unicast MAC");
	count = 0;
	if (!number_option(cmdline, "count", MIN_COUNT, MAX_COUNT, &count) ||
	    !number_option(cmdline, "watchers", 0, MAX_WATCHERS,
			   &watchers_wanted))
		return false;
	if (!count)
		return fail("role=ping needs count=N, N from %u to %u",
			    MIN_COUNT, MAX_COUNT);
	return true;
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *cmdline = guest_cmdline(mbi);
	static const char *const role_names[] = {"echo", "ping", "watch"};
	enum role role = ROLE_ECHO;

	if (!under_veneer()) {
		guest_skip(NAME ": Veneer's virtio-net and its switch");
		return;
	}
	if (!parse_options(cmdline, &role))
		return;
	/* Intel's instruction on Intel: no #UD intercept on the way. */
	hc_insn = cpuid(0, 0).ebx == 0x756e6547 /* "Genu" */
		      ? HYPERCALL_VMCALL
		      : HYPERCALL_VMMCALL;
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	trap_set_handler(VEC_RX, rx_handler);
	trap_set_handler(VEC_TX, tx_handler);
	trap_set_handler(VEC_CONFIG, config_handler);
	trap_set_handler(VEC_TICK, tick_handler);
	trap_set_handler(VEC_SPURIOUS, spurious_handler);
	if (!calibrate())
		return;
	if (delay_ms)
		pause_ms(delay_ms);
	if (!nic_setup())
		return;
	guest_printf(NAME ": %s on 00:%02x.0, MAC %s, TSC %u kHz\n",
		     role_names[role], nic.pci.slot, mac_str(nic.mac), tsc_khz);
	switch (role) {
	case ROLE_ECHO:
		run_echo();
		break;
	case ROLE_PING:
		run_ping();
		break;
	case ROLE_WATCH:
		run_watch();
		break;
	}
	guest_printf(NAME ": kicks rx %u, tx %u; interrupts rx %u, tx %u, "
			  "config %u; ticks %u\n",
		     nic.rxq.kicks, nic.txq.kicks, rx_irqs, tx_irqs,
		     config_irqs, tick_irqs);
	if (!failed && (virtio_status(&nic.pci) & VIRTIO_ST_NEEDS_RESET))
		fail("device_status 0x%x at the end: the device needs a reset",
		     virtio_status(&nic.pci));
}
