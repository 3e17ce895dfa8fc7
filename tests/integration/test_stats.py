# SPDX-License-Identifier: MIT
"""Exit statistics at run time: the stats=SECONDS hypervisor option.

With stats=SECONDS the boot CPU, idle while the guests run on the other
CPUs, prints every SECONDS of host time one line per running vCPU:

    veneer: stats T s: guest NAME vcpu N exits: TOTAL kind=N ...

(docs/boot-log.md). The guest is tests/guests/spin.elf, which does nothing
but port writes to an unowned port, one `io` exit each, so its counts must
grow from one report to the next.

amd   = QEMU TCG (multi-threaded, no -icount): two spin guests side by side
        (one line per guest per report); the run is stopped after two
        reports, so the test takes the same time however fast exits get.
        Not -icount: there QEMU runs the three vCPUs in turn in one thread,
        so the reports would come at the pace of one host thread shared
        three ways (that every guest still progresses there is
        test_progress.py's).
intel = Bochs: one spin guest runs to its end (about 4,000 exits per
        emulated second there: 40,000 exits leave room for reports even if
        exits get several times cheaper), so the last report can be
        compared with the end-of-vCPU line.
"""

import os
import re
import shlex
import subprocess
import time

import pytest

from conftest import IMAGE, LAUNCHER, REPO_ROOT

SPIN = os.path.join(REPO_ROOT, "build", "guests", "spin.elf")
HELLO = os.path.join(REPO_ROOT, "build", "guests", "hello.elf")
STATS_RE = re.compile(r"^veneer: stats (\d+)\.(\d{3}) s: guest (\S+) vcpu (\d+) "
                      r"exits: (\d+)((?: [a-z-]+=\d+)*)$")
BOCHS_EXITS = 40000
END_RE = re.compile(r"^veneer: guest (\S+) vcpu (\d+) exits: (\d+)((?: [a-z-]+=\d+)*)$")


def parse_stats(lines):
    """[(seconds, guest, vcpu, total, {kind: n})] of the stats lines."""
    out = []
    for line in lines:
        m = STATS_RE.match(line)
        if m:
            kinds = dict(w.split("=") for w in m.group(6).split())
            out.append((int(m.group(1)) + int(m.group(2)) / 1000, m.group(3),
                        int(m.group(4)), int(m.group(5)),
                        {k: int(v) for k, v in kinds.items()}))
    return out


def stream_until(arguments, enough, timeout):
    """Run the launcher, reading its log line by line until enough(lines)
    says so, then stop it. Returns (lines, command)."""
    command = ["/usr/bin/python3", LAUNCHER, "--image", IMAGE] + arguments
    lines = []
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if enough(lines) or time.monotonic() > deadline:
                break
    finally:
        proc.terminate()  # the launcher stops the emulator on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return lines, command


def check_growth(reports, guest, interval, info):
    """The reports of one guest: on time and growing."""
    mine = [r for r in reports if r[1] == guest]
    assert len(mine) >= 2, "fewer than two reports for %s\n%s" % (guest, info)
    for k, (seconds, _, vcpu, total, kinds) in enumerate(mine):
        assert vcpu == 0, info
        # Report k is due at (k+1)*interval; the boot CPU sees the time
        # when the emulator schedules it again, a little later.
        assert (k + 1) * interval <= seconds < (k + 1) * interval + 0.5, info
        # spin's exits are port writes; a host interrupt or the guest
        # library's start-up may add a few of other kinds.
        assert kinds.get("io", 0) >= 0.9 * total, "spin exits through port I/O\n" + info
        # The kinds are read before TOTAL while the guest goes on exiting
        # (a kind's counter is raised just before TOTAL): TOTAL is at least
        # their sum, or one less.
        assert sum(kinds.values()) <= total + 1, info
    for before, after in zip(mine, mine[1:]):
        assert after[3] > before[3], "%s's count did not grow\n%s" % (guest, info)
        assert after[4]["io"] > before[4]["io"], info
    return mine


def test_stats_amd_two_guests():
    """QEMU: a report every second, one line for each guest."""
    arguments = ["--emulator", "qemu", "--smp", "3", "--timeout", "300",
                 "--cmdline", "stats=1",
                 # Far more exits than two emulated seconds hold.
                 "--guest", SPIN + ":name=spin1 mem=4M -- exits=100000000",
                 "--guest", SPIN + ":name=spin2 mem=4M -- exits=100000000"]

    def two_each(lines):
        reports = parse_stats(lines)
        return all(sum(1 for r in reports if r[1] == g) >= 2 for g in ("spin1", "spin2"))

    lines, command = stream_until(arguments, two_each, timeout=300)
    info = "command: %s\n--- log\n%s" % (shlex.join(command), "\n".join(lines[-40:]))
    assert not [line for line in lines if line.startswith("veneer: panic")], info
    reports = parse_stats(lines)
    for guest in ("spin1", "spin2"):
        check_growth(reports, guest, 1, info)
    # Both guests' lines of one report carry the same time.
    times = {}
    for seconds, guest, *_ in reports:
        times.setdefault(seconds, set()).add(guest)
    assert {"spin1", "spin2"} in list(times.values()), info


@pytest.mark.slow
def test_stats_intel_to_the_end(run_veneer):
    """Bochs: reports while spin runs, none after it ended, and the
    end-of-vCPU line at least as high as the last report."""
    result = run_veneer(emulator="bochs", smp=2, timeout=600, cmdline="stats=1",
                        guests=[SPIN + ":name=spin mem=4M -- exits=%d" % BOCHS_EXITS])
    info = result.describe()
    assert result.status == 0, info
    reports = check_growth(parse_stats(result.lines), "spin", 1, info)
    ends = [END_RE.match(line) for line in result.lines if END_RE.match(line)]
    assert len(ends) == 1, info
    end_total = int(ends[0].group(3))
    assert end_total >= BOCHS_EXITS, info
    assert reports[-1][3] <= end_total, info
    end_index = result.lines.index(ends[0].group(0))
    assert not parse_stats(result.lines[end_index:]), "a report after the end\n" + info


def test_stats_need_a_spare_cpu(run_veneer):
    """With one CPU the guest runs on the boot CPU: no reports, a note."""
    result = run_veneer(emulator="qemu", icount=True, smp=1, cmdline="stats=1",
                        guests=[HELLO + ":name=hello mem=16M -- veneer=1"])
    info = result.describe()
    assert result.status == 0, info
    assert result.lines_matching(r"^veneer: stats: no CPU to spare \(guest hello runs "
                                 r"on cpu 0\): no periodic statistics$"), info
    assert not parse_stats(result.lines), info


def test_no_stats_by_default(run_veneer):
    result = run_veneer(emulator="qemu", icount=True, smp=2,
                        guests=[SPIN + ":name=spin mem=4M -- exits=20000"])
    info = result.describe()
    assert result.status == 0, info
    assert not result.lines_matching(r"^veneer: stats"), info
    assert result.lines_matching(r"^veneer: guest spin vcpu 0 exits: \d+ io=\d+$"), info


def test_bad_stats_value_is_refused(run_veneer):
    result = run_veneer(emulator="qemu", smp=1, timeout=60, cmdline="stats=soon")
    info = result.describe()
    assert result.lines_matching(r"stats: 'soon' is not a number of seconds"), info
    assert result.status != 0, info


def setup_module(module):
    for path in (SPIN, HELLO, IMAGE):
        if not os.path.isfile(path):
            pytest.fail("%s is missing: run make first" % path)
