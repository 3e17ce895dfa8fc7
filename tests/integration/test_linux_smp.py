"""The Debian kernel with several vCPUs, typed into, on both vendors (issue 11).

Boots build/linux/vmlinuz with the busybox initramfs as in test_linux.py,
but with `vcpus=N` in the module string and one host CPU per vCPU
(tools/veneer-run --smp N): 4 vCPUs under AMD-V (QEMU TCG, --icount) and 2
under VT-x (Bochs at 50 MHz, where every emulated CPU shares one host
thread). One session per vendor types every command; each test judges one
part of what it answered:

- `nproc`, /proc/cpuinfo and /sys/devices/system/cpu/online give N;
- N `sha256sum` jobs over the same generated data, each pinned with
  `taskset` to its own CPU and run at once, all give the sum Python
  computes here, and each job reports (/proc/self/stat, field 39) that it
  ran on the CPU it was pinned to; every CPU's local timer interrupt
  count rises over the workload;
- CPU 1 goes offline through /sys (nproc: N-1) and comes back (an INIT and
  a SIPI again: nproc N), and a job pinned to it gives the sum again;
- dmesg: every CPU brought up, the offline and the return of CPU 1 logged,
  and no BUG, soft lockup, RCU stall, hung task, IRQ lockup or unstable TSC;
  the clocksource is still the TSC at the end;
- `poweroff -f` ends the guest and the run with status 0, and Veneer's
  per-vCPU lines count two SIPI starts for vCPU 1, one for the others.

Each vendor runs twice: partitioned (one host CPU per vCPU) and shared
(`shared=yes`, docs/scheduler.md): the same vCPUs on fewer host CPUs, two
per CPU (AMD-V: 4 vCPUs on 2 CPUs; VT-x: 2 vCPUs on the one CPU), where
the scheduler time-slices them; their per-vCPU `sched:` lines say so,
and the kernel's steal time (/proc/stat, from the KVM steal time structure)
grows there and stays 0 when partitioned.
"""

import hashlib
import os
import re
import time

import pexpect
import pytest

# The console helpers (tests/integration is on sys.path: pytest's
# rootdir-based import puts a test file's directory there) and the kernel's
# release, as the one-vCPU test reads it.
from console_session import INITRAMFS, KERNEL, LinuxShell, emulator_args, guest_lines
from test_linux import expected_release

# vCPUs per vendor: 4 on QEMU (its TCG runs them round-robin on one host
# thread with -icount), 2 on Bochs (which is several times slower).
VCPUS = {"amd": 4, "intel": 2}
# Host CPUs per placement: one per vCPU, or half as many (shared=yes).
HOST_CPUS = {"partitioned": VCPUS, "shared": {"amd": 2, "intel": 1}}
MEM_MIB = {"amd": 256, "intel": 192}
# Boot-to-prompt budgets in seconds: QEMU boots the 4-vCPU kernel in about
# 10 s; Bochs took 4-5 minutes with 2 vCPUs at 50 MHz on a loaded machine.
BOOT_TIMEOUT = {"amd": 300, "intel": 2400}
COMMAND_TIMEOUT = {"amd": 180, "intel": 900}
# The workload's data: `seq 1 N`, so the expected sum is computed here.
SEQ_N = {"amd": 200000, "intel": 30000}
# What a pinned job prints: its sum, then the CPU it ran on (field 39 of
# /proc/self/stat, read by a child that inherits the pinning).
PINNED_JOB = "sh -c 'sha256sum /tmp/d; cut -d\" \" -f39 /proc/self/stat'"
CPU_SYS = "/sys/devices/system/cpu"
CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/current_clocksource"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.path.exists(KERNEL) and os.path.exists(INITRAMFS)),
                       reason="run tools/fetch-linux (make test does) to get the Debian kernel"),
]


class Session(LinuxShell):
    """A booted guest with several vCPUs on a terminal, and what it printed."""

    def __init__(self, vendor, placement):
        self.vendor = vendor
        self.placement = placement
        self.vcpus = VCPUS[vendor]
        self.answers = {}
        self.failure = None
        self.status = None
        self.boot_log = None
        self.seconds = {}
        n = self.vcpus
        shared = " shared=yes" if placement == "shared" else ""
        super().__init__(
            ["--smp", str(HOST_CPUS[placement][vendor]), "--memory", "512",
             "--guest", f"{KERNEL}:name=linux mem={MEM_MIB[vendor]}M vcpus={n}"
             f"{shared} -- console=ttyS0",
             "--module", f"{INITRAMFS}:for=linux"] + emulator_args(vendor),
            COMMAND_TIMEOUT[vendor], COMMAND_TIMEOUT[vendor])


def commands(vendor):
    """(answer name, command) in the order they are typed."""
    n = VCPUS[vendor]
    cpus = " ".join(str(i) for i in range(n))
    interrupts = "grep -E '^ *(LOC|RES|CAL):' /proc/interrupts"
    return [
        # The console is 80 columns to busybox's line editing unless told.
        ("stty", "stty cols 200"),
        ("nproc", "nproc"),
        ("processors", "grep -c ^processor /proc/cpuinfo"),
        ("online", f"cat {CPU_SYS}/online"),
        ("data", f"seq 1 {SEQ_N[vendor]} > /tmp/d"),
        ("irq_before", interrupts),
        ("sum_cpu0", f"taskset -c 0 {PINNED_JOB}"),
        # All at once, each on its CPU; a subshell, so no job-control chatter.
        ("parallel", f"(for i in {cpus}; do taskset -c $i {PINNED_JOB} > /tmp/s.$i & done;"
                     f" wait); for i in {cpus}; do cat /tmp/s.$i; done"),
        ("irq_after", interrupts),
        # user nice system idle iowait irq softirq steal ...
        ("stat", "head -1 /proc/stat"),
        ("unplug", f"echo 0 > {CPU_SYS}/cpu1/online; nproc; cat {CPU_SYS}/online"),
        ("replug", f"echo 1 > {CPU_SYS}/cpu1/online; nproc; cat {CPU_SYS}/online"),
        ("sum_cpu1", f"taskset -c 1 {PINNED_JOB}"),
        ("dmesg", "dmesg"),
        ("clocksource", f"cat {CLOCKSOURCE}"),
    ]


def play(vendor, placement):
    """Boot, type the commands, power off. Never raises: a failure is
    recorded with the step that failed, for the tests to report."""
    s = Session(vendor, placement)
    step = "boot to the prompt"
    started = time.monotonic()
    try:
        s.wait_prompt(BOOT_TIMEOUT[vendor])
        s.seconds["boot"] = time.monotonic() - started
        s.boot_log = s.text
        for name, command in commands(vendor):
            step = f"typing {command!r}"
            s.answers[name] = s.run(command)
        step = "poweroff -f"
        s.child.send("poweroff -f\r")
        s.child.expect(pexpect.EOF, timeout=COMMAND_TIMEOUT[vendor])
        s.child.close()
        s.status = s.child.exitstatus
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        s.failure = f"{step}: {type(e).__name__}"
    finally:
        s.seconds["total"] = time.monotonic() - started
        s.close()
    return s


@pytest.fixture(scope="module", params=[("amd", "partitioned"), ("intel", "partitioned"),
                                        ("amd", "shared"), ("intel", "shared")],
                ids=["amd", "intel", "amd-shared", "intel-shared"])
def session(request):
    return play(*request.param)


def info(s):
    head = (f"vendor {s.vendor}, {s.vcpus} vCPUs {s.placement}; failed at: {s.failure}; "
            f"seconds: {s.seconds}\ncommand: {' '.join(s.command)}\n")
    return head + "---- console (last 6000 chars) ----\n" + s.text[-6000:]


def need(s, *answers):
    missing = [a for a in answers if a not in s.answers]
    assert not missing, f"never got to {missing}\n{info(s)}"


def expected_sum(s):
    n = SEQ_N[s.vendor]
    return hashlib.sha256("".join(f"{i}\n" for i in range(1, n + 1)).encode()).hexdigest()


def pinned_results(lines):
    """A pinned job's output lines -> [(sum, cpu)]."""
    results = []
    for line in lines:
        m = re.fullmatch(r"([0-9a-f]{64})  /tmp/d", line.strip())
        if m:
            results.append([m.group(1), None])
        elif re.fullmatch(r"\d+", line.strip()) and results and results[-1][1] is None:
            results[-1][1] = int(line)
    return [tuple(r) for r in results]


def shell_lines(lines):
    """LINES without the kernel's console messages (`[    4.500023] ...`),
    which the hotplug commands cause while they run."""
    return [line for line in lines if not re.match(r"\[\s*\d+\.\d+\] ", line)]


def counts(lines, name, n):
    """The N per-CPU counts of the /proc/interrupts row NAME."""
    for line in lines:
        fields = line.split()
        if fields and fields[0] == name + ":":
            return [int(v) for v in fields[1:1 + n]]
    return None


def test_boot_brings_up_every_vcpu(session):
    s = session
    n = s.vcpus
    assert s.boot_log is not None, "no shell prompt\n" + info(s)
    text = s.boot_log
    kernel = "\n".join(guest_lines(text))
    assert f"veneer: guest linux: {n} vCPUs" in text, info(s)
    for i in range(1, n):
        assert re.search(rf"veneer: guest linux vcpu {i} on cpu \d+, waiting for a SIPI", text), \
            info(s)
    assert f"Linux version {expected_release()} " in kernel, info(s)
    assert f"smpboot: Allowing {n} CPUs, 0 hotplug CPUs" in kernel, info(s)
    assert f"smp: Brought up 1 node, {n} CPUs" in kernel, info(s)
    assert "veneer-initramfs: ready" in kernel, info(s)
    assert "veneer: guest linux stopped" not in text, info(s)


def test_nproc_and_cpuinfo_count_every_vcpu(session):
    s = session
    need(s, "nproc", "processors", "online")
    n = s.vcpus
    assert shell_lines(s.answers["nproc"]) == [str(n)], info(s)
    assert shell_lines(s.answers["processors"]) == [str(n)], info(s)
    assert shell_lines(s.answers["online"]) == [f"0-{n - 1}"], info(s)


def test_pinned_parallel_jobs_give_the_known_sum_on_their_cpus(session):
    s = session
    need(s, "sum_cpu0", "parallel")
    n = s.vcpus
    expected = expected_sum(s)
    assert pinned_results(s.answers["sum_cpu0"]) == [(expected, 0)], info(s)
    # Job i printed its sum and the CPU it ran on: CPU i.
    assert pinned_results(s.answers["parallel"]) == [(expected, i) for i in range(n)], info(s)


def test_every_cpu_takes_interrupts_during_the_workload(session):
    s = session
    need(s, "irq_before", "irq_after")
    n = s.vcpus
    before = counts(s.answers["irq_before"], "LOC", n)
    after = counts(s.answers["irq_after"], "LOC", n)
    assert before is not None and after is not None and len(after) == n, info(s)
    # Each CPU's local APIC timer (TSC-deadline) kept firing while it ran
    # its job: a vCPU whose timer never fires would stay at its count.
    assert all(b > 0 for b in before), f"LOC {before}\n{info(s)}"
    assert all(a > b for a, b in zip(after, before)), f"LOC {before} -> {after}\n{info(s)}"
    # The kernel's own IPIs (rescheduling, function calls) got through: it
    # uses them to start work on another CPU, and waits for their answer.
    ipis = sum(sum(counts(s.answers["irq_after"], row, n) or [0]) for row in ("RES", "CAL"))
    assert ipis > 0, info(s)


def test_cpu1_goes_offline_and_comes_back(session):
    s = session
    need(s, "unplug", "replug", "sum_cpu1")
    n = s.vcpus
    offline = "0" if n == 2 else f"0,2-{n - 1}" if n > 3 else "0,2"
    assert shell_lines(s.answers["unplug"]) == [str(n - 1), offline], info(s)
    assert shell_lines(s.answers["replug"]) == [str(n), f"0-{n - 1}"], info(s)
    # Back online, CPU 1 runs a pinned job to the right answer.
    assert pinned_results(s.answers["sum_cpu1"]) == [(expected_sum(s), 1)], info(s)


def test_dmesg_is_free_of_smp_trouble(session):
    s = session
    need(s, "dmesg")
    n = s.vcpus
    dmesg = "\n".join(s.answers["dmesg"])
    assert f"smp: Brought up 1 node, {n} CPUs" in dmesg, info(s)
    # Every AP was started at boot (one line lists them), CPU 1 went
    # offline and was started once more.
    aps = " ".join(f"#{i}" for i in range(1, n))
    assert re.search(r"node +#0, CPUs: +" + aps + r"\s*$", dmesg, re.MULTILINE), info(s)
    assert "smpboot: CPU 1 is now offline" in dmesg, info(s)
    assert "smpboot: Booting Node 0 Processor 1 APIC 0x1" in dmesg, info(s)
    # Case matters for BUG: "report a bug" and "This is not a bug." are
    # ordinary boot lines.
    for bad in (r"\bBUG\b", r"(?i)soft lockup", r"(?i)rcu.*stall", r"(?i)TSC.*unstable",
                r"TSC warp", r"(?i)IRQ lockup", r"nobody cared", r"(?i)hung.task",
                r"blocked for more than", r"WARNING: CPU", r"Call Trace"):
        found = [line for line in s.answers["dmesg"] if re.search(bad, line)]
        assert not found, f"dmesg has {bad!r}: {found}\n{info(s)}"


def test_tsc_stays_the_clocksource(session):
    s = session
    need(s, "dmesg", "clocksource")
    # One synchronized TSC for all vCPUs: the kernel switches to it after
    # its synchronization checks and still uses it after the hotplug.
    assert "clocksource: Switched to clocksource tsc" in "\n".join(s.answers["dmesg"]), info(s)
    assert s.answers["clocksource"] == ["tsc"], info(s)


def test_poweroff_ends_the_guest_and_the_run(session):
    s = session
    assert s.failure is None, info(s)
    text = s.text
    assert "veneer: guest linux powered off (ACPI S5)" in text, info(s)
    assert "veneer: guest linux exited with code 0" in text, info(s)
    assert "veneer: guest linux stopped" not in text, info(s)
    assert s.status == 0, f"launcher status {s.status}\n{info(s)}"


def test_each_vcpu_reports_its_exits_and_sipi_starts(session):
    s = session
    assert s.failure is None, info(s)
    text = s.text
    # docs/boot-log.md: a vCPU's exits and time lines as the guest ends.
    # vCPU 0 never waits for a SIPI; vCPU 1 was started by one at boot and
    # by another after its offline (the kernel's INIT sends it back to the
    # wait for a SIPI); the others once.
    for i in range(s.vcpus):
        assert re.search(rf"^veneer: guest linux vcpu {i} exits: \d+ ", text, re.MULTILINE), \
            info(s)
        starts = 0 if i == 0 else 2 if i == 1 else 1
        assert re.search(rf"^veneer: guest linux vcpu {i} time: up \d+ ms, halted \d+ ms, "
                         rf"wakeups \d+, sipi starts {starts}, ipis dropped 0$", text, re.MULTILINE), info(s)


def test_shared_vcpus_take_turns_on_their_cpus(session):
    """Shared: every vCPU's sched line (docs/boot-log.md) names its host CPU,
    two vCPUs per CPU, each ran and each waited for its CPU at some point;
    partitioned: no vCPU has one."""
    s = session
    assert s.failure is None, info(s)
    lines = re.findall(r"^veneer: guest linux vcpu (\d+) sched: cpu (\d+), ran (\d+) ms, "
                       r"waited (\d+) ms, turns (\d+), switch \d+ ticks$", s.text,
                       re.MULTILINE)
    if s.placement == "partitioned":
        assert lines == [], info(s)
        return
    assert sorted(int(v) for v, *_ in lines) == list(range(s.vcpus)), info(s)
    per_cpu = {}
    for vcpu, cpu, ran, waited, turns in lines:
        per_cpu.setdefault(int(cpu), []).append(int(vcpu))
        assert int(ran) > 0 and int(turns) > 0, info(s)
    assert sorted(len(v) for v in per_cpu.values()) == [2] * HOST_CPUS["shared"][s.vendor], info(s)
    # The parallel jobs ran on every vCPU at once: someone waited for a CPU.
    assert sum(int(w) for *_, w, _ in lines) > 0, info(s)


def test_steal_time_counts_the_waits_for_a_shared_cpu(session):
    """Linux uses the KVM steal time Veneer offers: the 8th column of
    /proc/stat's cpu line (steal, in USER_HZ ticks) grows while the vCPUs
    wait for a shared host CPU during the parallel jobs, and stays 0 when
    every vCPU has a CPU of its own."""
    s = session
    need(s, "stat")
    lines = [line for line in shell_lines(s.answers["stat"]) if line.startswith("cpu ")]
    assert len(lines) == 1, info(s)
    steal = int(lines[0].split()[8])
    if s.placement == "shared":
        assert steal > 0, f"/proc/stat: {lines[0]}\n{info(s)}"
    else:
        assert steal == 0, f"/proc/stat: {lines[0]}\n{info(s)}"


def test_kvm_pv_ipis_and_spinlocks(session):
    """Linux takes the KVM hypercalls Veneer offers (docs/hypercall.md):
    its IPIs go through KVM_HC_SEND_IPI (counted in Veneer's per-vCPU kvm
    lines); partitioned, the realtime hint keeps its spinlocks native;
    shared, its spinlocks halt and are kicked (PV unhalt) and it yields to
    a preempted IPI target (PV sched yield)."""
    s = session
    need(s, "dmesg")
    dmesg = "\n".join(s.answers["dmesg"])
    assert "kvm-guest: setup PV IPIs" in dmesg, info(s)
    if s.placement == "shared":
        assert "kvm-guest: PV spinlocks enabled" in dmesg, info(s)
        assert "kvm-guest: setup PV sched yield" in dmesg, info(s)
        assert "kvm-guest: KVM setup pv remote TLB flush" in dmesg, info(s)
    else:
        assert "kvm-guest: PV spinlocks disabled with KVM_HINTS_REALTIME hints" in dmesg, info(s)
    ipis = re.findall(r"^veneer: guest linux vcpu \d+ kvm: pv ipis (\d+) to (\d+) vCPUs, "
                      r"kicks \d+, yields \d+, tlb flushes \d+$", s.text, re.MULTILINE)
    assert len(ipis) == s.vcpus, info(s)
    assert all(int(sent) <= int(took) for sent, took in ipis), info(s)
    # Linux sends an IPI to all other CPUs with the ICR's shorthand and to
    # one CPU through its ICR; only a set of several is a PV IPI, which two
    # vCPUs never need (the kvmpv guest checks the call on both vendors).
    if s.vcpus > 2:
        assert sum(int(sent) for sent, _ in ipis) > 0, info(s)
