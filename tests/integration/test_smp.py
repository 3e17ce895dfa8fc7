# SPDX-License-Identifier: MIT
"""A guest with several vCPUs (issue 11): the smp test kernel on both vendors.

tests/guests/smp.c reads the MADT, starts its APs with one INIT and one SIPI
each and no delays, then sends fixed IPIs, lowest-priority IPIs and NMIs
between all of its vCPUs in every destination mode (xAPIC physical, logical
flat and cluster, the shorthands; x2APIC physical and cluster), checking the
exact count each vCPU received, and ends with the bad input: IPIs to an APIC
ID nobody has, a SIPI to a running AP (ignored) and INIT then SIPI to a
running AP (restarted).

- amd:   QEMU TCG (AMD-V), --smp 4, the guest with vcpus=2 and vcpus=3;
- intel: Bochs (VT-x), --smp 2, vcpus=2 (slow);
- bad:   vcpus=3 with --smp 2 is refused with a line naming the guest,
         and the guest next to it still runs.
- shared (shared=yes, docs/scheduler.md): the same checks with vCPUs
  sharing host CPUs: amd 4 vCPUs on --smp 2 (two per CPU), intel 3 vCPUs
  on --smp 1 (all on the boot CPU); every vCPU has its sched line, and
  vcpus=3 on 2 CPUs is accepted when shared.

The guests come from build/guests, or VENEER_GUEST_DIR.
"""

import os
import re

import pytest

from conftest import REPO_ROOT

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
EMULATOR = {"amd": "qemu", "intel": "bochs"}
HOST_CPUS = {"amd": 4, "intel": 2}
TIMEOUT = {"amd": 360, "intel": 600}
MACHINE_MIB = 256


def module(name, vcpus, guest="smp.elf", mem="16M", extra=""):
    return "%s:name=%s vcpus=%d mem=%s%s -- veneer=1" % (
        os.path.join(GUEST_DIR, guest), name, vcpus, mem, extra)


def guest_lines(result, name):
    prefix = "[%s] " % name
    return [line[len(prefix):] for line in result.lines if line.startswith(prefix)]


def must_pass(n):
    """The checks the guest must have passed with n vCPUs: every pair, every
    sender, both APIC modes (a SKIP or a missing line fails too)."""
    last = n - 1
    lines = ["MADT: local APIC address"]
    for i in range(1, n):
        lines += ["vCPU %d (APIC ID %d) started by one INIT and one SIPI" % (i, i),
                  "vCPU %d: IA32_APIC_BASE after INIT: 0xfee00000, xAPIC enabled, not the BSP" % i,
                  "vCPU %d: xAPIC ID register = its MADT APIC ID" % i]
    pairs = ["xAPIC physical fixed", "xAPIC logical flat fixed",
             "xAPIC logical cluster fixed", "xAPIC NMI, physical",
             "x2APIC physical fixed", "x2APIC logical cluster fixed",
             "x2APIC NMI, physical"]
    for s in range(n):
        for t in range(n):
            if s != t:
                lines += ["%s: vCPU %d -> vCPU %d" % (what, s, t) for what in pairs]
        others = ((1 << n) - 1) & ~(1 << s)
        lines += ["xAPIC logical flat fixed: vCPU %d -> all others (mask 0x%x)" % (s, others),
                  "xAPIC logical flat lowest priority: vCPU %d -> exactly one of mask 0x%x"
                  % (s, others),
                  "xAPIC logical cluster fixed: vCPU %d -> cluster 0 bits 0-1 (vCPUs 0 and 1)" % s,
                  "x2APIC logical cluster fixed: vCPU %d -> the others of cluster 0" % s]
        for mode in ("xAPIC", "x2APIC"):
            lines += ["%s fixed, shorthand self: vCPU %d" % (mode, s),
                      "%s fixed, shorthand all including self: from vCPU %d" % (mode, s),
                      "%s fixed, shorthand all but self: from vCPU %d" % (mode, s),
                      "%s NMI, shorthand all but self: from vCPU %d" % (mode, s)]
    for i in range(n):
        lines += ["vCPU %d switched itself to x2APIC mode" % i,
                  "x2APIC: vCPU %d x2APIC ID = its MADT APIC ID" % i,
                  "x2APIC: vCPU %d LDR = (ID >> 4) << 16 | 1 << (ID & 15)" % i,
                  "vCPU %d: no spurious interrupt" % i]
    for mode, bad_id in (("xAPIC", "0x7f"), ("x2APIC", "0x1000")):
        lines += ["%s fixed IPI to APIC ID %s (no vCPU has it) reaches nobody: from vCPU 0"
                  % (mode, bad_id),
                  "%s fixed IPI to APIC ID %s reaches nobody: from vCPU 1" % (mode, bad_id),
                  "%s SIPI to running vCPU %d is ignored (generation stays)" % (mode, last),
                  "%s after the SIPI vCPU %d still receives" % (mode, last),
                  "%s after the SIPI vCPU %d still sends" % (mode, last),
                  "%s INIT then one SIPI restart running vCPU %d (generation)" % (mode, last),
                  "%s restarted vCPU %d: IA32_APIC_BASE after INIT (the mode kept)" % (mode, last),
                  "%s restarted vCPU %d set up its APIC mode again" % (mode, last),
                  "%s restarted vCPU %d: APIC ID" % (mode, last),
                  "%s physical fixed to restarted vCPU %d" % (mode, last),
                  "%s physical fixed from restarted vCPU %d to vCPU 0" % (mode, last),
                  "%s logical fixed to restarted vCPU %d" % (mode, last)]
    lines.append("x2APIC logical fixed to cluster 15 (no vCPU in it) reaches nobody")
    if n < 8:
        lines.append("xAPIC logical flat fixed to mask 0x80 (no vCPU has it) reaches nobody")
    return lines


def assert_smp_passed(result, name, n):
    info = result.describe()
    own = guest_lines(result, name)
    assert not result.lines_matching(r"^veneer: panic"), info
    assert own, "guest %s printed nothing\n%s" % (name, info)
    assert result.lines_matching(r"^veneer: guest %s exited with code 0$" % name), info
    failed = [line for line in own if line.startswith(("FAIL", "SKIP"))]
    assert not failed, "guest %s: %s\n%s" % (name, failed, info)
    assert own[-1] == "PASS", "last line of %s is %r\n%s" % (name, own[-1], info)
    ids = " ".join(str(i) for i in range(n))
    assert ("smp: the MADT lists %d enabled local APICs, IDs %s (vCPU 0 is the BSP, ID 0)"
            % (n, ids)) in own, info
    passed = {line[len("PASS: "):] for line in own if line.startswith("PASS: ")}
    missing = [what for what in must_pass(n) if what not in passed]
    assert not missing, "guest %s lacks 'PASS: %s' (and %d more)\n%s" % (
        name, missing[0], len(missing) - 1, info)
    # The AP restarted in each mode reported in again, one generation on.
    for mode, generation in (("xAPIC", 2), ("x2APIC", 3)):
        assert ("smp: vCPU %d (APIC ID %d) up in %s mode, generation %d"
                % (n - 1, n - 1, mode, generation)) in own, info


def assert_vcpus_placed(result, name, n, host_cpus=None):
    """Each vCPU on a host CPU of its own (docs/boot-log.md), or, shared
    over host_cpus CPUs, as evenly as they go (the least loaded first), each
    with its sched line; and the statistics count the STARTUP IPIs that
    started each: one per AP, three for the one restarted in each APIC
    mode, none for the BSP; and the IPIs each sent to no vCPU."""
    info = result.describe()
    cpus = [int(result.value(r"^veneer: guest %s started on cpu (\d+)$" % name))]
    for v in range(1, n):
        cpus.append(int(result.value(
            r"^veneer: guest %s vcpu %d on cpu (\d+), waiting for a SIPI$" % (name, v))))
    sched = re.findall(r"^veneer: guest %s vcpu (\d+) sched: cpu (\d+), ran \d+ ms, "
                       r"waited \d+ ms, turns (\d+), switch \d+ ticks$" % name,
                       result.log, re.MULTILINE)
    if host_cpus is None:
        assert len(set(cpus)) == n, "vCPUs share host CPUs %s\n%s" % (cpus, info)
        assert not sched, info
    else:
        per_cpu = [cpus.count(c) for c in range(host_cpus)]
        assert max(per_cpu) - min(per_cpu) <= 1 and sum(per_cpu) == n, \
            "vCPUs on host CPUs %s\n%s" % (cpus, info)
        assert sorted(int(v) for v, _, _ in sched) == list(range(n)), info
        assert all(int(c) == cpus[int(v)] and int(t) > 0 for v, c, t in sched), info
    want = {v: 1 for v in range(1, n)}
    want[0] = 0
    want[n - 1] = 3
    for v in range(n):
        starts = int(result.value(
            r"^veneer: guest %s vcpu %d time: .*sipi starts (\d+)" % (name, v)))
        assert starts == want[v], "vcpu %d: %d SIPI starts, want %d\n%s" % (
            v, starts, want[v], info)
    # IPIs to nobody, counted by the sender: vCPU 0 sends four (APIC IDs
    # 0x7f and 0x1000, a flat mask and an x2APIC cluster no vCPU has),
    # vCPU 1 two (the two IDs); every other IPI reaches someone.
    dropped = {0: 4, 1: 2}
    for v in range(n):
        got = int(result.value(
            r"^veneer: guest %s vcpu %d time: .*ipis dropped (\d+)$" % (name, v)))
        assert got == dropped.get(v, 0), "vcpu %d: %d IPIs dropped, want %d\n%s" % (
            v, got, dropped.get(v, 0), info)


@pytest.mark.parametrize("vendor,vcpus", [
    ("amd", 2), ("amd", 3), pytest.param("intel", 2, marks=pytest.mark.slow)])
def test_smp_guest(run_veneer, vendor, vcpus):
    result = run_veneer(emulator=EMULATOR[vendor], smp=HOST_CPUS[vendor], memory=MACHINE_MIB,
                        timeout=TIMEOUT[vendor], guests=[module("smp", vcpus)])
    assert_smp_passed(result, "smp", vcpus)
    assert_vcpus_placed(result, "smp", vcpus)
    assert result.lines_matching(r"^veneer: all guests ended: 1 ok, 0 failed$"), result.describe()
    assert result.lines_matching(r"^veneer: power off: status 0$"), result.describe()
    assert result.status == 0, result.describe()


@pytest.mark.parametrize("vendor,vcpus,host_cpus", [
    ("amd", 4, 2), pytest.param("intel", 3, 1, marks=pytest.mark.slow)])
def test_smp_guest_on_shared_cpus(run_veneer, vendor, vcpus, host_cpus):
    result = run_veneer(emulator=EMULATOR[vendor], smp=host_cpus, memory=MACHINE_MIB,
                        timeout=TIMEOUT[vendor],
                        guests=[module("smp", vcpus, extra=" shared=yes")])
    assert_smp_passed(result, "smp", vcpus)
    assert_vcpus_placed(result, "smp", vcpus, host_cpus)
    assert result.lines_matching(r"^veneer: all guests ended: 1 ok, 0 failed$"), result.describe()
    assert result.status == 0, result.describe()


def test_smp_more_vcpus_than_cpus_is_refused(run_veneer):
    """vcpus=3 with 2 host CPUs: refused by name, and the guest beside it
    (one vCPU) still runs to its PASS."""
    result = run_veneer(emulator="qemu", smp=2, memory=MACHINE_MIB, timeout=TIMEOUT["amd"],
                        guests=[module("smp", 3), module("hello", 1, guest="hello.elf")])
    info = result.describe()
    assert not result.lines_matching(r"^veneer: panic"), info
    refusals = [line for line in result.lines_matching(r"^veneer: guest smp\b")
                if re.search(r"vcpu", line, re.IGNORECASE)]
    assert refusals, "no 'veneer: guest smp: ...' line about its vCPUs\n" + info
    assert not result.lines_matching(r"^veneer: guest smp (started|exited)"), info
    assert not guest_lines(result, "smp"), info
    hello = guest_lines(result, "hello")
    assert hello and hello[-1] == "PASS", info
    assert "hello from a Veneer guest" in hello, info
    assert result.lines_matching(r"^veneer: guest hello exited with code 0$"), info
    assert result.lines_matching(r"^veneer: all guests ended: 1 ok, 1 failed$"), info
    assert result.status == 1, info
