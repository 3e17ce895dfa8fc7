/* SPDX-License-Identifier: MIT */
/*
 * The operator shell (core/shell.h, docs/console.md). Its input comes
 * only from the console UART while the shell has the focus; what a guest
 * wrote is never read here. Commands print plain hypervisor lines.
 */
#include "core/shell.h"
#include "core/load.h"
#include "core/mm.h"
#include "core/stats.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/lib/format.h"
#include "core/lib/printk.h"
#include "core/lib/string.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"

#define SHELL_PROMPT "veneer> "
#define ASCII_BS     0x08
#define ASCII_DEL    0x7f

/* The prompt and the line typed so far, on a line of their own. */
static void redraw(struct shell *sh)
{
	char buf[sizeof(SHELL_PROMPT) + SHELL_LINE_MAX];

	snformat(buf, sizeof(buf), SHELL_PROMPT "%.*s", (int)sh->len, sh->line);
	console_start_owned(sh, buf);
}

void shell_prompt(struct shell *sh)
{
	sh->len = 0;
	sh->too_long = false;
	redraw(sh);
}

/* Echo on the shell's line; if other lines came between, redraw it. */
static void echo(struct shell *sh, const char *s)
{
	if (!console_continue_owned(sh, s))
		redraw(sh);
}

static const char *state_name(enum vm_state s)
{
	switch (s) {
	case VM_STATE_CREATED:
		return "waiting"; /* start = later, not started yet */
	case VM_STATE_RUNNING:
		return "running";
	case VM_STATE_EXITED:
		return "exited";
	case VM_STATE_STOPPED:
		return "stopped";
	}
	return "?";
}

static struct vm *find(const struct shell_guests *g, const char *name)
{
	for (u32 i = 0; i < g->count; i++)
		if (strcmp(g->vms[i]->name, name) == 0)
			return g->vms[i];
	return NULL;
}

static void kick(struct vm *vm)
{
	for (u32 i = 0; i < vm->vcpu_count; i++) {
		if (!vm->vcpus[i])
			continue;
		printk_at(LOG_DEBUG,
			  "veneer: shell: kick cpu %u (guest %s vcpu %u)\n",
			  vm->vcpus[i]->host_cpu, vm->name, i);
		/* Its run loop looks again, out of guest mode or a wait. */
		vm_wake_vcpu(vm, i);
	}
}

static void cmd_help(void)
{
	printk("commands:\n"
	       "  help          this list\n"
	       "  list          the guests: state, CPU, memory, uptime, "
	       "restarts\n"
	       "  stats NAME    exits of guest NAME by reason\n"
	       "  stop NAME     stop guest NAME\n"
	       "  restart NAME  reload guest NAME from its images and run it "
	       "again\n"
	       "  start NAME    run guest NAME that waits (start = later) or "
	       "has ended\n"
	       "  mem           host memory: free, per guest\n"
	       "  cpus          host CPUs and the guests on them\n"
	       "  log [LEVEL]   Veneer's log level: error, info or debug\n"
	       "Ctrl-A three times moves the console input to the next guest "
	       "or the shell.\n");
}

/*
 * The host CPU of each of the guest's vCPUs, in vCPU order ("1,2,3"): the
 * ones a guest that does not run keeps for its start. A list longer than
 * len - 1 is cut after a whole number, with ",..." for the rest.
 */
static void vcpu_cpus(const struct vm *vm, char *buf, size_t len)
{
	char all[VM_MAX_VCPUS * 12]; /* ",4294967295" each */
	size_t at = 0, keep;

	for (u32 i = 0; i < vm->vcpu_count && i < VM_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			at += (size_t)snformat(all + at, sizeof(all) - at,
					       "%s%u", at ? "," : "",
					       vm->vcpus[i]->host_cpu);
	if (!at) {
		str_copy(buf, "-", len);
		return;
	}
	if (at < len) {
		str_copy(buf, all, len);
		return;
	}
	for (keep = len - 5; keep && all[keep] != ','; keep--)
		;
	all[keep] = '\0';
	snformat(buf, len, "%s%s", all, keep ? ",..." : "...");
}

static void cmd_list(const struct shell_guests *g)
{
	u64 hz = tsc_hz() ? tsc_hz() : 1, now = rdtsc();

	printk("%-16s %-8s %-12s %8s %10s %8s  %s\n", "name", "state", "cpus",
	       "memory", "uptime", "restarts", "console");
	for (u32 i = 0; i < g->count; i++) {
		const struct vm *vm = g->vms[i];
		const char *port = g->port_of ? g->port_of(vm) : NULL;
		u64 up = vm->started_tsc && vm->state == VM_STATE_RUNNING
			     ? (now - vm->started_tsc) / hz
			     : 0;
		char cpus[13];

		vcpu_cpus(vm, cpus, sizeof(cpus));
		printk("%-16s %-8s %-12s %6llu M %6llu:%02llu %8u  %s\n",
		       vm->name, state_name(vm->state), cpus,
		       (unsigned long long)(vm->ram_size >> 20),
		       (unsigned long long)(up / 60),
		       (unsigned long long)(up % 60), vm->reboots,
		       port ? port : "veneer");
	}
}

static void cmd_mem(const struct shell_guests *g)
{
	u64 guests = 0;

	for (u32 i = 0; i < g->count; i++) {
		const struct vm *vm = g->vms[i];
		u64 kib = (vm->ram_alloc_pages + vm->nested_tables) * 4;

		guests += kib;
		printk("  guest %-16s %8llu KiB (RAM %llu MiB, nested page "
		       "tables %llu KiB)\n",
		       vm->name, (unsigned long long)kib,
		       (unsigned long long)(vm->ram_size >> 20),
		       (unsigned long long)(vm->nested_tables * 4));
	}
	printk("  guests in all  %8llu KiB\n  free           %8llu KiB\n",
	       (unsigned long long)guests,
	       (unsigned long long)(mm_free_bytes() >> 10));
}

static void cmd_cpus(const struct shell_guests *g)
{
	u32 n = cpus_online();

	for (u32 cpu = 0; cpu < n; cpu++) {
		const struct vm *who = NULL;
		u32 which = 0;
		char vcpu[16];

		for (u32 i = 0; i < g->count && !who; i++) {
			const struct vm *vm = g->vms[i];

			for (u32 v = 0; v < vm->vcpu_count; v++)
				if (vm->vcpus[v] &&
				    vm->vcpus[v]->host_cpu == cpu) {
					who = vm;
					which = v;
				}
		}
		if (!who) {
			printk("  cpu %u: idle\n", cpu);
			continue;
		}
		/* A guest that does not run keeps its CPUs (start NAME). */
		if (who->vcpu_count > 1)
			snformat(vcpu, sizeof(vcpu), " vcpu %u", which);
		else
			vcpu[0] = '\0';
		if (who->state == VM_STATE_RUNNING)
			printk("  cpu %u: guest %s%s\n", cpu, who->name, vcpu);
		else
			printk("  cpu %u: kept for guest %s%s (%s)\n", cpu,
			       who->name, vcpu, state_name(who->state));
	}
}

/* A guest by name that is running, or NULL after saying why not. */
static struct vm *running_guest(const struct shell_guests *g, const char *cmd,
				const char *name)
{
	struct vm *vm;

	if (!*name) {
		printk("%s: which guest? (%s NAME; list shows the names)\n",
		       cmd, cmd);
		return NULL;
	}
	vm = find(g, name);
	if (!vm) {
		printk("%s: no guest is called '%s' (list shows the names)\n",
		       cmd, name);
		return NULL;
	}
	if (vm->state == VM_STATE_CREATED) {
		printk("%s: guest %s has not started (start %s runs it)\n", cmd,
		       vm->name, vm->name);
		return NULL;
	}
	if (vm->state != VM_STATE_RUNNING) {
		printk("%s: guest %s has %s already (start %s runs it again)\n",
		       cmd, vm->name,
		       vm->state == VM_STATE_EXITED ? "exited" : "stopped",
		       vm->name);
		return NULL;
	}
	return vm;
}

/*
 * start NAME: a guest that does not run, waiting for its first start
 * (start = later) or ended for good, runs (again) from its images. The
 * request (struct vm.restart_request) is taken by the guest's vCPU 0 CPU,
 * which waits for it (core/guest.c); it is set only when no vCPU of the
 * guest is in its run loop (the guest waits, or is gone), so no loop can
 * take it for a restart. The RAM it needs is checked here too, to say at
 * once when it is not there; the guest's CPU has the last word.
 */
static void cmd_start(const struct shell_guests *g, const char *name)
{
	struct vm *vm;
	const struct guest_image *gi;

	if (!*name) {
		printk("start: which guest? (start NAME; list shows the "
		       "names)\n");
		return;
	}
	vm = find(g, name);
	if (!vm) {
		printk("start: no guest is called '%s' (list shows the "
		       "names)\n",
		       name);
		return;
	}
	if (vm->state == VM_STATE_RUNNING) {
		printk("start: guest %s runs already (restart %s reloads "
		       "it)\n",
		       vm->name, vm->name);
		return;
	}
	if (__atomic_load_n(&vm->restart_request, __ATOMIC_SEQ_CST)) {
		printk("start: guest %s is starting already\n", vm->name);
		return;
	}
	if (vm->state != VM_STATE_CREATED && !vm->gone) {
		printk("start: guest %s is still ending: try again in a "
		       "moment\n",
		       vm->name);
		return;
	}
	gi = vm->image;
	if (gi && !vm->ram_hpa &&
	    ALIGN_UP(gi->cfg.mem, MiB(2)) > mm_free_bytes()) {
		printk(
		    "start: guest %s needs %llu MiB of RAM, %llu MiB are "
		    "free: it is not started\n",
		    vm->name,
		    (unsigned long long)(ALIGN_UP(gi->cfg.mem, MiB(2)) >> 20),
		    (unsigned long long)(mm_free_bytes() >> 20));
		return;
	}
	__atomic_store_n(&vm->restart_request, true, __ATOMIC_SEQ_CST);
	printk("start: guest %s is asked to start (on cpu %u)\n", vm->name,
	       vm->vcpus[0] ? vm->vcpus[0]->host_cpu : 0);
}

/* log: the level; log LEVEL: a new one (core/lib/printk.h). */
static void cmd_log(const char *arg)
{
	enum log_level level;

	if (!*arg) {
		printk("log: level %s (log error, log info or log debug "
		       "changes it)\n",
		       log_level_name(printk_level()));
		return;
	}
	if (!log_level_parse(arg, strlen(arg), &level)) {
		printk("log: '%s' is not error, info or debug\n", arg);
		return;
	}
	printk_set_level(level);
	printk("log: level %s from now on\n", log_level_name(level));
}

static void cmd_stats(const struct shell_guests *g, const char *name)
{
	struct vm *vm;

	if (!*name) {
		printk("stats: which guest? (stats NAME)\n");
		return;
	}
	vm = find(g, name);
	if (!vm) {
		printk(
		    "stats: no guest is called '%s' (list shows the names)\n",
		    name);
		return;
	}
	for (u32 i = 0; i < vm->vcpu_count; i++)
		if (vm->vcpus[i])
			stats_print_vcpu(vm->vcpus[i], "");
}

/* Split "cmd arg" in place: returns the argument ("" when none). */
static char *split(char *line, bool *extra)
{
	char *p = line;

	while (*p && *p != ' ')
		p++;
	if (!*p) {
		*extra = false;
		return p;
	}
	*p++ = '\0';
	while (*p == ' ')
		p++;
	char *arg = p;
	while (*p && *p != ' ')
		p++;
	if (*p)
		*p++ = '\0';
	while (*p == ' ')
		p++;
	*extra = *p != '\0';
	return arg;
}

void shell_run(const char *text, const struct shell_guests *g)
{
	char line[SHELL_LINE_MAX];
	char *cmd = line, *arg;
	bool extra;
	struct vm *vm;

	str_copy(line, text, sizeof(line));
	while (*cmd == ' ')
		cmd++;
	if (!*cmd)
		return;
	arg = split(cmd, &extra);
	if (extra) {
		printk("%s: too many words (help lists the commands)\n", cmd);
		return;
	}
	if (*arg && (strcmp(cmd, "help") == 0 || strcmp(cmd, "list") == 0 ||
		     strcmp(cmd, "mem") == 0 || strcmp(cmd, "cpus") == 0)) {
		printk("%s: takes no argument (not '%s')\n", cmd, arg);
		return;
	}
	if (strcmp(cmd, "help") == 0) {
		cmd_help();
	} else if (strcmp(cmd, "list") == 0) {
		cmd_list(g);
	} else if (strcmp(cmd, "mem") == 0) {
		cmd_mem(g);
	} else if (strcmp(cmd, "cpus") == 0) {
		cmd_cpus(g);
	} else if (strcmp(cmd, "stats") == 0) {
		cmd_stats(g, arg);
	} else if (strcmp(cmd, "stop") == 0) {
		vm = running_guest(g, cmd, arg);
		if (vm) {
			__atomic_store_n(&vm->stop_request, true,
					 __ATOMIC_SEQ_CST);
			kick(vm);
			printk("stop: guest %s is asked to stop\n", vm->name);
		}
	} else if (strcmp(cmd, "start") == 0) {
		cmd_start(g, arg);
	} else if (strcmp(cmd, "log") == 0) {
		cmd_log(arg);
	} else if (strcmp(cmd, "restart") == 0) {
		vm = running_guest(g, cmd, arg);
		if (vm) {
			__atomic_store_n(&vm->restart_request, true,
					 __ATOMIC_SEQ_CST);
			kick(vm);
			printk("restart: guest %s is asked to restart\n",
			       vm->name);
		}
	} else {
		printk("%s: unknown command (help lists the commands)\n", cmd);
	}
}

void shell_input(struct shell *sh, u8 c, const struct shell_guests *g)
{
	if (c == '\r' || c == '\n') {
		sh->line[sh->len] = '\0';
		if (!console_continue_owned(sh, "\n"))
			printk("\n");
		if (sh->too_long)
			printk("line too long: at most %u characters\n",
			       SHELL_LINE_MAX - 1);
		else
			shell_run(sh->line, g);
		shell_prompt(sh);
		return;
	}
	if (c == ASCII_BS || c == ASCII_DEL) {
		if (sh->len && !sh->too_long) {
			sh->len--;
			echo(sh, "\b \b");
		}
		return;
	}
	if (c < 0x20 || c > 0x7e)
		return; /* other control bytes and non-ASCII: ignored */
	if (sh->len == SHELL_LINE_MAX - 1) {
		sh->too_long = true;
		return;
	}
	sh->line[sh->len++] = (char)c;
	if (!console_continue_owned(sh, (const char[]){(char)c, '\0'}))
		redraw(sh);
}
