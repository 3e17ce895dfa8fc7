# SPDX-License-Identifier: MIT
"""The virtual platform as hardware behaves (issue 16, items 4-6, 11, 12),
on both vendors: AMD-V under QEMU TCG, VT-x under Bochs.

One boot per vendor runs four guests side by side, one CPU each:

- nmi:       NMI IPIs to self (ID, self and all shorthands), NMIs with IF
             clear and before a pending interrupt, blocking until IRET,
             IOAPIC entries in NMI mode waking HLT (item 4);
- apicoff:   IA32_APIC_BASE.EN = 0: CPUID.1:EDX.APIC clear, the APIC page
             reads all ones and drops writes without #GP (items 5, 6);
- porta:     port 0x92's bits (item 11);
- acpisleep: the DSDT offers S5 only, and SLP_TYP 1 with SLP_EN ends the
             guest with a reason naming the type (item 12).

A second run per vendor sets port 0x92 bit 0 (porta reset=1): the guest
must be reset at once and start again; the run is ended by this test once
the second start is seen (the guest would reset for ever).

The guests come from build/guests, or VENEER_GUEST_DIR.
"""

import os
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import IMAGE, LAUNCHER, REPO_ROOT, launch, launcher_arguments

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
EMULATOR = {"amd": "qemu", "intel": "bochs"}
TIMEOUT = {"amd": 90, "intel": 600}
VENDORS = ["amd", "intel"]
SLEEP_TYPE = 1  # what S3 is on many platforms; Veneer's DSDT names none
PASSING = ["nmi", "apicoff", "porta"]
# Under Veneer these checks run (natively some SKIP); each must PASS.
MUST_PASS = {
    "nmi": ["NMI IPI, self shorthand, arrives", "NMI arrives with RFLAGS.IF clear",
            "the two blocked NMIs arrived as one after the IRET", "an NMI wakes cli; hlt"],
    "apicoff": ["CPUID.1:EDX.APIC clear while disabled", "CPUID.1:EDX.APIC set again",
                "APIC page reads all ones", "writes to the APIC page do not fault"],
    "porta": ["A20 bit reads 1", "bits 2, 4, 5 read 0",
              "with bit 1 clear, 1 MiB up is still other memory",
              "the security lock latch stays set"],
}
SLEEP_STOP = (r"^veneer: guest acpisleep stopped: ACPI sleep type %d requested "
              r"\(PM1a_CNT SLP_TYP; S1-S4 are not offered, only S5 = 5, power off\)$"
              % SLEEP_TYPE)
RESET_LINE = r"^\[porta\] porta: fast reset"


def module(name, args="veneer=1"):
    return "%s:name=%s mem=16M -- %s" % (os.path.join(GUEST_DIR, name + ".elf"), name, args)


def own_lines(result, name):
    prefix = "[%s] " % name
    return [line[len(prefix):] for line in result.lines if line.startswith(prefix)]


def own_text(result, name):
    """The guest's lines run together: the console may cut a slow guest's
    line in two (a partial line is shown after 200 ms, docs/guests.md), so
    checks search this text rather than whole lines."""
    return "".join(own_lines(result, name))


@pytest.fixture(scope="module", params=VENDORS)
def side_by_side(request, tmp_path_factory):
    vendor = request.param
    guests = [module(name) for name in PASSING]
    guests.append(module("acpisleep", "veneer=1 slp_typ=%d" % SLEEP_TYPE))
    result = launch(tmp_path_factory.mktemp("fidelity-" + vendor),
                    emulator=EMULATOR[vendor], smp=len(guests), guests=guests,
                    timeout=TIMEOUT[vendor])
    return vendor, result


@pytest.mark.slow
@pytest.mark.parametrize("name", PASSING)
def test_guest_passes(side_by_side, name):
    _, result = side_by_side
    info = result.describe()
    own = own_lines(result, name)
    text = own_text(result, name)
    assert own, "guest %s printed nothing\n%s" % (name, info)
    assert result.lines_matching(r"^veneer: guest %s exited with code 0$" % name), info
    assert "FAIL" not in text, info
    for check in MUST_PASS[name]:
        assert "PASS: " + check in text, "no 'PASS: %s'\n%s" % (check, info)
    assert own[-1] == "PASS", info


@pytest.mark.slow
def test_unimplemented_sleep_state_ends_the_guest(side_by_side):
    _, result = side_by_side
    info = result.describe()
    text = own_text(result, "acpisleep")
    assert "acpisleep: requesting sleep type %d" % SLEEP_TYPE in text, info
    assert "FAIL" not in text, info
    assert "PASS: the DSDT does not offer \\_S3" in text, info
    assert result.lines_matching(SLEEP_STOP), info
    assert not result.lines_matching(r"^veneer: guest acpisleep exited"), info
    # The stopped guest makes the run's status 1; nothing panicked.
    assert not result.lines_matching(r"^veneer: panic:"), info
    assert result.status == 1, info


def run_until(command, patterns, seconds):
    """Runs COMMAND until each regex of PATTERNS has matched a line, in
    order, or SECONDS pass; ends it either way. Returns (lines, matched)."""
    proc = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines, matched, pending = [], 0, b""
    deadline = time.monotonic() + seconds
    try:
        while matched < len(patterns) and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", errors="replace").rstrip("\r")
                lines.append(line)
                if matched < len(patterns) and re.search(patterns[matched], line):
                    matched += 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the launcher stops its emulator
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return lines, matched


@pytest.mark.slow
@pytest.mark.parametrize("vendor", VENDORS)
def test_port_92_fast_reset(vendor):
    if not os.path.isfile(IMAGE):
        pytest.fail("%s is missing: run make first" % IMAGE)
    options = {"image": IMAGE, "emulator": EMULATOR[vendor], "smp": 2,
               "timeout": TIMEOUT[vendor], "guests": [module("porta", "veneer=1 reset=1")]}
    command = ["/usr/bin/python3", LAUNCHER] + launcher_arguments(options)
    # Line starts only: the console may cut a slow guest's line (own_text).
    patterns = [RESET_LINE, r"^veneer: guest porta rebooting \(1\)$",
                r"^\[porta\] PASS: A20", RESET_LINE]
    lines, matched = run_until(command, patterns, TIMEOUT[vendor])
    info = "command: %s\n--- log (last 40 lines)\n%s" % (" ".join(command),
                                                         "\n".join(lines[-40:]))
    assert matched == len(patterns), info
    assert not [line for line in lines if line.startswith("[porta] FAIL")], info
    assert not [line for line in lines if line.startswith("veneer: panic:")], info
    assert not [line for line in lines if re.match(r"^veneer: guest porta stopped", line)], info
