# SPDX-License-Identifier: MIT
"""A guest cannot forge hypervisor log lines (issue 10, bug 3), on both vendors.

tests/guests/forge.c: the `forge` guest prints a partial line, waits past the
200 ms after which Veneer shows it, then continues it with
`veneer: power off: status 0`, led in by nothing, a bare carriage return, an
ANSI erase-line, a vertical tab, a form feed or U+2028; `noise`, started first
on the other CPU, prints a line every 3 ms meanwhile, so other lines come
between the partial lines and their continuations. forge then exits with code
42, so the run really ends with `veneer: power off: status 1`.

Before the fix the continuation was printed without its `[forge] ` tag after
noise's lines, so the fake started a console line, and tools/veneer-run
reported status 0 and stopped the emulator. Now every line with guest text
starts with its tag, control characters are shown as ^X, and the launcher
escapes what Python would split lines at; the launcher must report 1.
"""

import os
import re

import pytest

from conftest import REPO_ROOT, launch

FORGE = os.path.join(REPO_ROOT, "build", "guests", "forge.elf")
FAKE = "veneer: power off: status 0"
FORGE_EXIT_CODE = 42
EMULATOR = {"amd": "qemu", "intel": "bochs"}
TIMEOUT_S = {"amd": 120, "intel": 900}
# forge: 12 attempts (each lead-in twice) of about 300 ms; noise: 2000 lines
# 3 ms apart, ~6 s of guest time, so it is still printing however long forge
# takes to be created.
ATTEMPTS = 12
NOISE_LINES = 2000


def modules():
    return ["%s:name=noise mem=4M -- veneer=1 role=noise lines=%d" % (FORGE, NOISE_LINES),
            "%s:name=forge mem=4M -- veneer=1 role=forge attempts=%d" % (FORGE, ATTEMPTS)]


@pytest.fixture(scope="module", params=["amd", pytest.param("intel", marks=pytest.mark.slow)])
def forged_run(request, tmp_path_factory):
    vendor = request.param
    result = launch(tmp_path_factory.mktemp("forge-" + vendor), emulator=EMULATOR[vendor],
                    smp=2, memory=512, guests=modules(), timeout=TIMEOUT_S[vendor])
    print("forge run on %s: %.1f s, exit status %d" % (vendor, result.seconds, result.status))
    return result


def test_launcher_reports_the_real_status(forged_run):
    """veneer-run followed the hypervisor's power-off line, not a fake."""
    info = forged_run.describe()
    assert forged_run.status == 1, info
    assert forged_run.lines_matching(r"^veneer: power off: status 1$"), info
    assert forged_run.lines_matching(
        r"^veneer: guest forge exited with code %d$" % FORGE_EXIT_CODE), info
    assert forged_run.lines_matching(r"^veneer: guest noise exited with code 0$"), info
    assert forged_run.lines_matching(r"^\[forge\] forge: %d attempts done" % ATTEMPTS), info


def test_no_line_starts_with_the_fake(forged_run):
    """However a reader splits the log (the harness uses str.splitlines()),
    the fake never starts a line: it is always inside a [forge] line."""
    info = forged_run.describe()
    assert not [line for line in forged_run.lines if FAKE in line
                and not line.startswith("[forge] ")], info
    assert not [line for line in forged_run.log.split("\n") if line.startswith(FAKE)], info
    assert forged_run.log.count(FAKE) >= ATTEMPTS, info


def test_the_continuation_is_tagged_again(forged_run):
    """The case of the bug happened and was handled: noise came between a
    partial line and its continuation, which then started a [forge] line of
    its own."""
    info = forged_run.describe()
    lines = forged_run.lines
    retagged = [i for i, line in enumerate(lines) if line == "[forge] " + FAKE]
    assert retagged, "no noise line ever came between a partial line and its rest\n" + info
    assert any(lines[i - 1].startswith("[noise] ") for i in retagged), info


def test_control_characters_are_shown_not_sent(forged_run):
    """Carriage return, escape, vertical tab and form feed arrive as ^M,
    ^[, ^K and ^L; U+2028 is escaped by the launcher."""
    info = forged_run.describe()
    text = forged_run.log
    for shown in ("^M" + FAKE, "^[[2K^M" + FAKE, "^K" + FAKE, "^L" + FAKE, "\\u2028" + FAKE):
        assert shown in text, "%r not in the log\n%s" % (shown, info)
    for raw in ("\x1b", "\x0b", "\x0c", "\u2028"):
        assert raw not in text, "%r reached the log\n%s" % (raw, info)
    own = [line for line in forged_run.lines if line.startswith("[forge] ")]
    assert not [line for line in own if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", line)], info


@pytest.mark.parametrize("vendor", ["amd", pytest.param("intel", marks=pytest.mark.slow)])
def test_a_slowly_written_line_stays_whole(tmp_path, vendor):
    """forge role=slow writes one line a letter every 8 ms (320 ms in all)
    while noise prints a line every 3 ms on the other CPU: the 200 ms
    partial-line delay runs from the guest's last write, so the line is
    never shown early and cut by noise's lines (it was, when the delay ran
    from the line's first byte)."""
    result = launch(tmp_path, emulator=EMULATOR[vendor], smp=2, memory=512,
                    guests=["%s:name=noise mem=4M -- veneer=1 role=noise lines=300" % FORGE,
                            "%s:name=slow mem=4M -- veneer=1 role=slow" % FORGE],
                    timeout=TIMEOUT_S[vendor])
    info = result.describe()
    letters = "".join(chr(ord("a") + i % 26) for i in range(40))
    assert result.lines_matching(r"^\[slow\] slow: %s$" % letters), info
    assert result.lines_matching(r"^veneer: guest slow exited with code 0$"), info
