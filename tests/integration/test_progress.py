# SPDX-License-Identifier: MIT
"""Every guest makes progress beside a guest that exits back to back
(issue 16, "also seen").

Under QEMU -icount, QEMU runs all CPUs in turn in one thread. A vCPU whose
guest exits back to back used to keep that thread: a guest on another CPU
did not even start until the busy one had ended. Veneer now hands the turn
on (a PAUSE every 100 us of exits, and the boot CPU waits until each CPU has
taken its guest), so here the short guest must end while the long one still
runs, whichever CPU the long one is on. Each guest is tests/guests/spin.elf:
port writes to an unowned port, one exit each.

Placement puts the last guest on the boot CPU (cpu 0) and the others on
cpus 1, 2, ... in order (docs/guests.md).
"""

import os

import pytest

from conftest import REPO_ROOT, launch

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
SPIN = os.path.join(GUEST_DIR, "spin.elf")
LONG_EXITS = 600000   # about 15 s of QEMU TCG time
SHORT_EXITS = 20000


def spin(name, exits):
    return "%s:name=%s mem=2M -- veneer=1 exits=%d" % (SPIN, name, exits)


def index_of(result, pattern):
    lines = result.lines_matching(pattern)
    assert lines, "no line matches %r\n%s" % (pattern, result.describe())
    return result.lines.index(lines[0])


@pytest.mark.parametrize("smp,guests,busy_cpu", [
    # the busy guest on the boot CPU, the short one on cpu 1
    (2, [("short", SHORT_EXITS), ("busy", LONG_EXITS)], 0),
    # the busy guest on cpu 1, the short one on cpu 2, the boot CPU idle
    (3, [("busy", LONG_EXITS), ("short", SHORT_EXITS)], 1),
], ids=["busy-boot-cpu", "busy-ap"])
def test_short_guest_ends_while_a_busy_one_runs(tmp_path, smp, guests, busy_cpu):
    if not os.path.isfile(SPIN):
        pytest.fail("%s is missing: run make guests" % SPIN)
    result = launch(tmp_path, emulator="qemu", icount=True, smp=smp, timeout=180,
                    guests=[spin(name, exits) for name, exits in guests])
    info = result.describe()
    assert result.status == 0, info
    assert result.lines_matching(r"^veneer: guest busy started on cpu %d$" % busy_cpu), info
    short_end = index_of(result, r"^veneer: guest short exited with code 0$")
    busy_done = index_of(result, r"^\[busy\] spin: %d exits done$" % LONG_EXITS)
    assert short_end < busy_done, "the short guest waited for the busy one\n" + info
