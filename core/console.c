/* SPDX-License-Identifier: MIT */
#include "core/console.h"
#include "core/platform.h"
#include "core/serialport.h"
#include "core/shell.h"
#include "core/tagcolor.h"
#include "core/lib/spinlock.h"
#include "core/lib/printk.h"
#include "core/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"
#include "drivers/uart.h"

#define POLL_INTERVAL_US 1000
/*
 * A partial line is shown at once when the vCPU that wrote it halts (a
 * prompt: the guest waits for input), else after this long without a
 * write. Long, because the delay is wall-clock time: on a busy machine
 * an emulated CPU can stall for tens of milliseconds in the middle of a
 * line, and the line must not be cut there.
 */
#define PARTIAL_LINE_DELAY_US 200000

/* Ctrl-A typed this many times in a row moves the input on (docs/console.md).
 */
#define FOCUS_KEY	0x01
#define FOCUS_KEY_COUNT 3
#define FOCUS_SHELL	VM_MAX /* focus_at: the operator shell */

/*
 * Who gets console input, under input_lock: the guests in the order they
 * were offered the focus, then the operator shell (when on). focus_at is
 * an index into ring[] or FOCUS_SHELL. Any CPU may take bytes from the
 * host UART (console_poll); a guest's go to its input queue (below).
 * focus_keys counts the Ctrl-A typed in a row so far; fewer than three
 * go to the guest after all, before the next byte.
 */
static struct vm *ring[VM_MAX];
static u32 ring_count;
/* Every guest offered, with a port of its own or not: the shell's. */
static struct vm *guests[VM_MAX];
static u32 guest_count;
static volatile u32 focus_at;
static u32 focus_keys;
static bool shell_on = true;
static struct shell shell;
static spinlock_t input_lock = SPINLOCK_INIT;
static u64 next_poll;
static u64 partial_line_delay; /* PARTIAL_LINE_DELAY_US in TSC ticks */

/*
 * Serial ports guests own (docs/console.md, "A serial port of its own"):
 * who owns each, claimed when the guest is created and kept for its whole
 * life, under ports_lock; and when each is polled next. Machine state, one
 * entry per COM port; the guest's own state stays in its struct vm.
 */
_Static_assert(SERIALPORT_COUNT == UART_LINES,
	       "one driver line per COM port a guest may own");
static struct serialport_owners port_owners;
static spinlock_t ports_lock = SPINLOCK_INIT;
static u64 port_next_poll[SERIALPORT_COUNT];

/* The line of the port `vm` owns, or -1: it writes to the console. */
static int owned_line(const struct vm *vm)
{
	return (int)vm->own_line_plus1 - 1;
}

/* The owners' table changed for `vm`, under ports_lock: its copy too. */
static void note_owned_line(struct vm *vm)
{
	vm->own_line_plus1 = (u8)(serialport_owned_by(&port_owners, vm) + 1);
}

void console_set_shell(bool on)
{
	shell_on = on;
}

static void announce_focus(void)
{
	if (focus_at == FOCUS_SHELL) {
		printk("veneer: console: input goes to the operator shell "
		       "(help lists its commands; Ctrl-A three times moves "
		       "on)\n");
		shell_prompt(&shell);
	} else {
		printk("veneer: console: input goes to guest %s (Ctrl-A three "
		       "times moves on)\n",
		       ring[focus_at]->name);
	}
}

void console_offer_focus(struct vm *vm)
{
	/* Its input comes from its own port, and from nowhere else. */
	bool own_port = owned_line(vm) >= 0;

	spin_lock(&input_lock);
	if (guest_count < VM_MAX)
		guests[guest_count++] = vm;
	if (!own_port && ring_count < VM_MAX) {
		ring[ring_count++] = vm;
		if (ring_count == 1)
			focus_at = 0;
	}
	spin_unlock(&input_lock);
}

void console_announce_focus(void)
{
	spin_lock(&input_lock);
	if (ring_count || shell_on) {
		if (!ring_count)
			focus_at = FOCUS_SHELL;
		announce_focus();
	}
	spin_unlock(&input_lock);
}

bool console_has_focus(const struct vm *vm)
{
	u32 at = focus_at;

	return vm && at < ring_count && ring[at] == vm;
}

bool console_reaches(const struct vm *vm)
{
	for (u32 i = 0; i < ring_count; i++)
		if (ring[i] == vm)
			return true;
	return false;
}

bool console_can_wake(const struct vm *vm)
{
	/* Its own port's bytes, and room to send more, come as it polls. */
	if (owned_line(vm) >= 0)
		return vuart_rx_irq_enabled(&vm->uart) ||
		       vuart_tx_irq_waiting(&vm->uart);
	return console_reaches(vm) && vuart_rx_irq_enabled(&vm->uart);
}

/*
 * The next in the ring after the current focus: guests that still run,
 * in start order, then the shell. With no other place to go it stays.
 */
static void focus_next(void)
{
	u32 at = focus_at;

	focus_keys = 0;
	for (u32 tries = 0; tries <= ring_count; tries++) {
		at = at == FOCUS_SHELL ? 0 : at + 1;
		if (at >= ring_count)
			at = shell_on ? FOCUS_SHELL : 0;
		if (at == FOCUS_SHELL || vm_running(ring[at]))
			break;
	}
	if (at != FOCUS_SHELL && !vm_running(ring[at]))
		return; /* no guest runs and no shell: nowhere to go */
	focus_at = at;
	announce_focus();
}

/*
 * Bytes for a guest go through its input queue (struct vm.input): the CPU
 * that reads the host UART (any CPU, under input_lock) is the only
 * producer, the guest's own vCPU the only consumer, so no CPU ever writes
 * another guest's devices, and a guest that hangs with the focus cannot
 * keep the focus keys from being seen by the other CPUs. A full queue
 * drops what comes (a guest that does not read its UART).
 */
static void queue_put(struct vm *vm, u8 c)
{
	struct console_queue *q = &vm->input;
	u32 head = q->head;

	if (head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) >=
	    CONSOLE_QUEUE_SIZE) {
		q->dropped++;
		return;
	}
	q->buf[head % CONSOLE_QUEUE_SIZE] = c;
	__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
}

/* On `vm`'s CPU: from its queue into its UART (or virtio console) while
 * that has room. */
static void queue_drain(struct vm *vm)
{
	struct console_queue *q = &vm->input;
	u32 tail = q->tail;

	while (tail != __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) &&
	       platform_console_room(vm->platform)) {
		platform_console_input(vm->platform,
				       q->buf[tail % CONSOLE_QUEUE_SIZE]);
		tail++;
	}
	__atomic_store_n(&q->tail, tail, __ATOMIC_RELEASE);
}

/*
 * Route the bytes waiting in the host UART to whoever has the focus: the
 * shell, or a guest's input queue. input_lock held.
 */
static void route_input(void)
{
	int c;

	while ((c = uart_getc()) >= 0) {
		u32 at = focus_at;

		/* With one guest and no shell Ctrl-A is just a byte. */
		if (c == FOCUS_KEY && (ring_count > 1 || shell_on)) {
			if (++focus_keys == FOCUS_KEY_COUNT)
				focus_next();
			continue;
		}
		if (at == FOCUS_SHELL) {
			const struct shell_guests g = {guests, guest_count,
						       console_port_of};

			focus_keys = 0;
			shell_input(&shell, (u8)c, &g);
			continue;
		}
		if (at >= ring_count)
			continue;
		/* Ctrl-A typed short of a switch: the guest's after all. */
		for (; focus_keys; focus_keys--)
			queue_put(ring[at], FOCUS_KEY);
		queue_put(ring[at], (u8)c);
	}
}

/*
 * On the CPU of `vm`, which owns `line`, at most every millisecond: its
 * port's bytes into its UART while the receive FIFO has room (the rest
 * wait in the driver's ring), and THR empty again once the transmit ring
 * has room. Nothing here reaches the console, the shell or another guest.
 */
static void port_poll(struct vm *vm, int line, u64 now)
{
	if (now < port_next_poll[line])
		return;
	port_next_poll[line] = now + tsc_from_us(POLL_INTERVAL_US);
	uart_line_service((u32)line);
	while (vm->uart.rx_count < VUART_RX_SIZE) {
		int c = uart_line_getc((u32)line);

		if (c < 0)
			break;
		platform_console_input(vm->platform, (u8)c);
	}
	if (vuart_tx_room(&vm->uart))
		platform_uart_update_irq(vm->platform);
}

void console_poll(struct vm *vm)
{
	u64 now = rdtsc();
	int line = vm ? owned_line(vm) : -1;

	if (now >= next_poll && spin_trylock(&input_lock)) {
		if (now >= next_poll) {
			next_poll = now + tsc_from_us(POLL_INTERVAL_US);
			route_input();
			/* A CPU with no guest keeps the guests' ports going. */
			if (!vm)
				uart_lines_service();
		}
		spin_unlock(&input_lock);
	}
	if (line >= 0)
		port_poll(vm, line, now);
	else if (vm) /* whoever read the UART, the guest takes its bytes */
		queue_drain(vm);
}

/*
 * The delay runs from the guest's last write, not from the first byte of
 * the line: a guest that writes a long line slowly (Bochs with four CPUs,
 * or its CPU held up while another prints) must not see it cut in two.
 */
static void output_started(void *opaque)
{
	struct vm *vm = opaque;

	vm->partial_since = vm->uart.line_len ? rdtsc() : 0;
	vm->partial_cpu = this_cpu()->index;
}

void console_writer_halted(struct vm *vm)
{
	if (!vm->partial_since || vm->partial_cpu != this_cpu()->index)
		return;
	vm->partial_since = 0;
	vuart_flush(&vm->uart);
}

void console_flush_stale(struct vm *vm)
{
	if (!vm->partial_since ||
	    rdtsc() - vm->partial_since < tsc_from_us(PARTIAL_LINE_DELAY_US))
		return;
	vm->partial_since = 0;
	vuart_flush(&vm->uart);
}

u64 console_next_due(const struct vm *vm)
{
	/* Every guest polls: the focus may come to it, or the shell may
	 * have it, at any time; a guest with a port of its own polls that. */
	int line = owned_line(vm);
	u64 due = line >= 0		? port_next_poll[line]
		  : console_reaches(vm) ? next_poll
					: ~0ull;

	if (vm->partial_since) {
		if (!partial_line_delay)
			partial_line_delay = tsc_from_us(PARTIAL_LINE_DELAY_US);
		due = MIN(due, vm->partial_since + partial_line_delay);
	}
	return due;
}

void console_end_guest_output(struct vm *vm)
{
	vuart_flush(&vm->uart);
	vm->partial_since = 0;
	console_end_line(vm);
}

/* ---- the guest's COM1 ---- */

/*
 * Guest output on the hypervisor console: "[NAME] text" lines, the text
 * made harmless by console_write_tagged() (core/lib/printk.h). A partial
 * line (a prompt) is shown early; its rest continues it if nothing else
 * was printed meanwhile, else it starts a new "[NAME] " line.
 */
static void console_line(void *opaque, const char *line, u32 len, bool complete)
{
	const struct vm *vm = opaque;

	console_write_tagged(vm, vm->name, line, len, complete);
}

/* UART accesses can change its interrupt line (IRQ 4). */
static u32 uart_read(void *opaque, u16 port, u8 size)
{
	struct vm *vm = opaque;
	u8 v = vuart_read(&vm->uart, port - VUART_COM1_BASE);

	(void)size;
	platform_uart_update_irq(vm->platform);
	return v;
}

static void uart_write(void *opaque, u16 port, u8 size, u32 value)
{
	struct vm *vm = opaque;

	(void)size;
	vuart_write(&vm->uart, port - VUART_COM1_BASE, (u8)value);
	platform_uart_update_irq(vm->platform);
}

/*
 * A port of its own: each byte the guest sends goes into the port's
 * transmit ring as it is (no tag, no lines); the guest sees THR empty
 * while the ring has room for a FIFO's worth, so a guest that writes
 * faster than the port's speed waits, as on a real UART.
 */
static void port_send(void *opaque, u8 byte)
{
	int line = owned_line(opaque);

	if (line >= 0)
		uart_line_send((u32)line, byte);
}

static bool port_ready(void *opaque)
{
	int line = owned_line(opaque);

	return line < 0 || uart_line_room((u32)line) >= VUART_TX_FIFO;
}

static bool port_idle(void *opaque)
{
	int line = owned_line(opaque);

	return line < 0 || uart_line_idle((u32)line);
}

static const struct vuart_tx port_tx = {
    .send = port_send,
    .ready = port_ready,
    .idle = port_idle,
};

bool console_claim_port(struct vm *vm, u16 base, char *err, size_t len)
{
	int had, line;

	spin_lock(&ports_lock);
	had = owned_line(vm);
	line = serialport_claim(&port_owners, base, vm, vm->name, uart_port(),
				uart_probe, err, len);
	note_owned_line(vm);
	spin_unlock(&ports_lock);
	if (line < 0)
		return false;
	if (had == line)
		return true;
	uart_line_open((u32)line, base);
	printk_at(LOG_INFO,
		  "veneer: guest %s: console on %s (0x%x, %u baud 8N1), a "
		  "serial port of its own\n",
		  vm->name, serialport_defs[line].name, base, uart_baud());
	return true;
}

void console_release_port(struct vm *vm)
{
	int line;

	spin_lock(&ports_lock);
	line = serialport_release(&port_owners, vm);
	note_owned_line(vm);
	if (line >= 0)
		uart_line_close((u32)line);
	spin_unlock(&ports_lock);
}

const char *console_port_of(const struct vm *vm)
{
	int line;

	spin_lock(&ports_lock);
	line = owned_line(vm);
	spin_unlock(&ports_lock);
	return line >= 0 ? serialport_defs[line].name : NULL;
}

static volatile bool color_on;

void console_set_color(bool on)
{
	color_on = on;
}

const char *console_tag_style(const void *owner)
{
	const struct vm *vm = owner;

	return color_on ? tagcolor_sgr(vm->id) : NULL;
}

void console_attach(struct vm *vm)
{
	const struct io_handler uart = {
	    .first = VUART_COM1_BASE,
	    .last = VUART_COM1_BASE + VUART_PORTS - 1,
	    .read = uart_read,
	    .write = uart_write,
	    .opaque = vm,
	    .name = "uart",
	    /* A read moves at most the UART's own state and IRQ 4. */
	    .read_quiet = true,
	};
	int line;

	vuart_init(&vm->uart, console_line, vm);
	/* Output through the port, the virtio console or a hypercall: a
	 * partial line is shown after a pause (PARTIAL_LINE_DELAY_US). */
	vuart_on_output(&vm->uart, output_started);
	vm->partial_since = 0;
	/* The first handler on an empty bus: it cannot clash or be full. */
	iobus_register(&vm->io, &uart);
	line = owned_line(vm);
	if (line < 0)
		return;
	/* Its UART is new: what its port received meanwhile is not for it. */
	uart_line_discard_input((u32)line);
	vuart_set_tx(&vm->uart, &port_tx);
}
