# SPDX-License-Identifier: MIT
"""Guests from a configuration file (docs/config.md), on both vendors.

amd   = AMD-V under QEMU TCG; intel = VT-x under Bochs (slow).

Two test guests start from one file given with --config (their kernels as
plain --module files) and pass, each with its tagged output; the command
line from the file reaches the guest byte for byte, quotes, '#' and all. A
broken file makes every one of its errors appear, one line each naming
the file, the line and the key, then one summary line; no guest starts and
Veneer powers off with status 1. Bad input (empty, binary, 1 MiB) gets one
clear line each. A guest with start = later that nobody starts never
runs, counts as ok and keeps nothing from ending; with log_level = error
Veneer leaves out the lines that narrate the guests' lives, never their
output or how the run ends.
"""

import os
import re

import pytest

from conftest import REPO_ROOT, launch

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
EMULATOR = {"amd": "qemu", "intel": "bochs"}
TIMEOUT_S = {"amd": 60, "intel": 400}
VENDORS = ["amd", pytest.param("intel", marks=pytest.mark.slow)]

GOOD = """\
# Two test guests from one file (tests/integration/test_config.py).
[veneer]
stats = 0
baud = 57600     # the console from here on: every line after it still arrives

[guest hello]
kernel = hello.elf
mem = 16M
cpu = 1
cmdline = veneer=1

[guest a0]
kernel = argv0.elf      # the boot CPU: the one left
mem = 8M
cmdline = "argv1=a#b veneer=1 q=\\"x\\" argc=5"   # '#' and '"' quoted
"""

# Every line here is wrong at least once; the expected error lines follow.
BROKEN = """\
[veneer]
stats = 5
baud = 9601

[guest hello]
kernal = hello.elf
mem = 16Q
cpu = 7
vcpus = 3

[guest hello]
kernel = missing.elf
on_crash = explode
"""

BROKEN_ERRORS = [
    r"^veneer: config: boot/bad\.cfg:3: veneer: baud: '9601' is not a speed the UART can "
    r"make \(115200 divided by a whole number: .*\)$",
    r"^veneer: config: boot/bad\.cfg:6: guest hello: kernal: unknown key \(did you mean "
    r"kernel\?\)$",
    r"^veneer: config: boot/bad\.cfg:7: guest hello: mem: '16Q' is not a size",
    r"^veneer: config: boot/bad\.cfg:8: guest hello: cpu: 7 does not exist: 2 CPUs online "
    r"\(0-1\)$",
    r"^veneer: config: boot/bad\.cfg:9: guest hello: vcpus: 3: more than the 2 CPUs online "
    r"\(each vCPU needs a host CPU of its own unless shared = yes\)$",
    r"^veneer: config: boot/bad\.cfg:5: guest hello: kernel: missing",
    r"^veneer: config: boot/bad\.cfg:11: guest hello: a second guest with this name \(the "
    r"first is at line 5\)$",
    r"^veneer: config: boot/bad\.cfg:12: guest hello: kernel: no module 'missing\.elf'",
    r"^veneer: config: boot/bad\.cfg:13: guest hello: on_crash: 'explode' is not stop or "
    r"restart$",
    r"^veneer: config: boot/bad\.cfg: module 1 \(boot/hello\.elf\) is named by no guest",
]


def guest(name):
    path = os.path.join(GUEST_DIR, name)
    if not os.path.isfile(path):
        pytest.fail("%s is missing: run make guests (or set VENEER_GUEST_DIR)" % path)
    return path


def boot(tmp_path, vendor, name, text, modules, **options):
    config = tmp_path / name
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    return launch(tmp_path, emulator=EMULATOR[vendor], timeout=TIMEOUT_S[vendor],
                  config=str(config), modules=[guest(m) for m in modules], **options)


def guest_lines(result, name):
    return [line[len(name) + 3:] for line in result.lines if line.startswith("[%s] " % name)]


def assert_no_guest_started(result, summary):
    info = result.describe()
    assert result.lines_matching(summary), info
    assert not result.lines_matching(r"^veneer: guest \S+ started on cpu"), info
    assert not result.lines_matching(r"^\["), info
    assert not result.lines_matching(r"^veneer: panic:"), info
    assert result.lines_matching(r"^veneer: all guests ended: 0 ok, 1 failed$"), info
    assert result.lines_matching(r"^veneer: power off: status 1$"), info
    assert result.status == 1, info


@pytest.mark.parametrize("vendor", VENDORS)
def test_two_guests_from_one_file(run_veneer, tmp_path, vendor):
    result = boot(tmp_path, vendor, "two.cfg", GOOD, ["hello.elf", "argv0.elf"])
    info = result.describe()
    assert result.lines_matching(r"^veneer: config: /?boot/two\.cfg: 2 guests$"), info
    assert result.lines_matching(
        r"^veneer: console: 57600 baud from here on \(\[veneer\] baud in /?boot/two\.cfg\)$"), info
    assert result.lines_matching(r"^veneer: guest hello: 16 MiB RAM"), info
    assert result.lines_matching(r"^veneer: guest a0: 8 MiB RAM"), info
    # cpu = 1 for hello; a0 gets the one left, the boot CPU.
    assert result.lines_matching(r"^veneer: guest hello started on cpu 1$"), info
    assert result.lines_matching(r"^veneer: guest a0 started on cpu 0$"), info
    hello, a0 = guest_lines(result, "hello"), guest_lines(result, "a0")
    assert "hello from a Veneer guest" in hello, info
    assert any(line.startswith("  cmdline \"") and line.endswith("/hello.elf veneer=1\"")
               for line in hello), info
    # The quoted command line, byte for byte after the path.
    assert any(line.startswith("argv0: command line \"") and
               line.endswith("/argv0.elf argv1=a#b veneer=1 q=\"x\" argc=5\"")
               for line in a0), info
    for name, lines in (("hello", hello), ("a0", a0)):
        assert lines and lines[-1] == "PASS", "%s did not pass\n%s" % (name, info)
        assert not [line for line in lines if line.startswith("FAIL")], info
        assert result.lines_matching(r"^veneer: guest %s exited with code 0$" % name), info
    assert result.lines_matching(r"^veneer: all guests ended: 2 ok, 0 failed$"), info
    assert result.status == 0, info


@pytest.mark.parametrize("vendor", VENDORS)
def test_broken_config_starts_nothing(run_veneer, tmp_path, vendor):
    result = boot(tmp_path, vendor, "bad.cfg", BROKEN, ["hello.elf"])
    info = result.describe()
    errors = [line for line in result.lines if line.startswith("veneer: config: ")]
    # GRUB gives paths with a leading '/': compare without it.
    errors = [re.sub(r"(?<![\w.])/boot/", "boot/", line) for line in errors]
    for pattern in BROKEN_ERRORS:
        assert [line for line in errors if re.search(pattern, line)], \
            "no line matches %r\n%s" % (pattern, info)
    # Each error once, then the summary: nothing else under "config:".
    assert len(errors) == len(BROKEN_ERRORS) + 1, info
    assert_no_guest_started(
        result, r"^veneer: config: /?boot/bad\.cfg: %d errors: no guest started$"
        % len(BROKEN_ERRORS))


# Bad input: one clear line each, on one vendor (the parser is the same
# code on both; tests/unit/test_config.c covers every case).
BAD_INPUT = {
    "empty.cfg": (b"", r"^veneer: config: boot/empty\.cfg: the file is empty"),
    "binary.cfg": (bytes(range(256)) * 16,
                   r"^veneer: config: boot/binary\.cfg:1: binary data: byte 0x00 at column 1;"),
    "huge.cfg": ((b"#" * 63 + b"\n") * 16384,
                 r"^veneer: config: boot/huge\.cfg: the file is 1048576 bytes, more than "
                 r"the 65536"),
    "longline.cfg": (b"[guest hello]\nkernel = hello.elf\ncmdline = " + b"x" * 10000 + b"\n",
                     r"^veneer: config: boot/longline\.cfg:3: the line is 10010 bytes long, "
                     r"more than 1023"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input(run_veneer, tmp_path, name):
    text, error = BAD_INPUT[name]
    result = boot(tmp_path, "amd", name, text, ["hello.elf"])
    info = result.describe()
    assert result.lines_matching(error), info
    assert_no_guest_started(result, r"^veneer: config: boot/%s: \d+ errors?: no guest started$"
                            % name.replace(".", r"\."))


# [veneer] stats: the periodic exit counts of the command line's stats=,
# from the file (the command line gives none). spin's exits outlast the
# run, which the launcher's timeout ends after a few reports: the test
# takes the same time however fast exits are.
STATS = """\
[veneer]
stats = 1

[guest spin]
kernel = spin.elf
cpu = 1
mem = 4M
cmdline = "veneer=1 exits=1000000000"
"""
STATS_RUN_S = 6


def test_stats_from_config(run_veneer, tmp_path):
    config = tmp_path / "stats.cfg"
    config.write_text(STATS)
    result = launch(tmp_path, emulator="qemu", timeout=STATS_RUN_S, config=str(config),
                    modules=[guest("spin.elf")])
    info = result.describe()
    assert result.lines_matching(r"^veneer: guest spin started on cpu 1$"), info
    assert len(result.lines_matching(
        r"^veneer: stats \d+\.\d{3} s: guest spin vcpu 0 exits: \d+ ")) >= 2, info
    assert result.status == 124, info  # the launcher's timeout, as planned


# Lifecycle policies (docs/config.md, "Lifecycle"): a guest that crashes is
# restarted by on_crash = restart until max_restarts, then stays stopped;
# a guest that ends is run again by on_poweroff = restart. The crashing
# guest's neighbour passes meanwhile.
LIFECYCLE = """\
[guest tf]
kernel = triplefault.elf
mem = 4M
cpu = 1
on_crash = restart
max_restarts = 2

[guest hello]
kernel = hello.elf
mem = 4M
on_poweroff = restart
max_restarts = 1
cmdline = veneer=1
"""


@pytest.mark.parametrize("vendor", VENDORS)
def test_lifecycle_policies(run_veneer, tmp_path, vendor):
    result = boot(tmp_path, vendor, "life.cfg", LIFECYCLE, ["triplefault.elf", "hello.elf"])
    info = result.describe()
    stops = result.lines_matching(r"^veneer: guest tf stopped: triple fault at rip 0x")
    assert len(stops) == 3, info
    for n in (1, 2):
        assert result.lines_matching(r"^veneer: guest tf: on_crash = restart \(%d\)$" % n), info
        assert result.lines_matching(r"^veneer: guest tf rebooting \(%d\)$" % n), info
    assert result.lines_matching(
        r"^veneer: guest tf: on_crash = restart, but max_restarts \(2\) is reached: "
        r"it stays ended$"), info
    assert not result.lines_matching(r"^veneer: guest tf rebooting \(3\)$"), info
    # hello ran twice, passing each time, and then stayed ended.
    assert len([line for line in guest_lines(result, "hello")
                if line == "hello from a Veneer guest"]) == 2, info
    assert len(result.lines_matching(r"^veneer: guest hello exited with code 0$")) == 2, info
    assert result.lines_matching(r"^veneer: guest hello: on_poweroff = restart \(1\)$"), info
    assert result.lines_matching(r"^veneer: all guests ended: 1 ok, 1 failed$"), info
    assert result.status == 1, info


# start = later, never started, and log_level = error (docs/config.md): the
# waiting guest (on the boot CPU) is created but never runs; the run ends
# when hello does, with both counted ok. At log_level = error the creation,
# start and exit-count lines are left out; guest output and the end stay.
NEVER = """\
[veneer]
log_level = error

[guest hello]
kernel = hello.elf
mem = 4M
cpu = 1
cmdline = veneer=1

[guest waits]
kernel = hello.elf
mem = 4M
cpu = 0
start = later
cmdline = veneer=1
"""


@pytest.mark.parametrize("vendor", VENDORS)
def test_later_guest_never_started_at_log_level_error(run_veneer, tmp_path, vendor):
    result = boot(tmp_path, vendor, "never.cfg", NEVER, ["hello.elf"])
    info = result.describe()
    assert result.lines_matching(r"^veneer: config: /?boot/never\.cfg: 2 guests$"), info
    hello = guest_lines(result, "hello")
    assert hello and hello[-1] == "PASS", info
    assert not guest_lines(result, "waits"), info
    assert result.lines_matching(r"^veneer: guest hello exited with code 0$"), info
    for narration in [r"^veneer: guest \S+: \d+ MiB RAM", r"^veneer: guest \S+ started on cpu",
                      r"^veneer: guest waits: start = later", r"^veneer: guest \S+ vcpu 0 exits"]:
        assert not result.lines_matching(narration), "%s\n%s" % (narration, info)
    assert result.lines_matching(
        r"^veneer: guest waits: never started \(start = later\): counted as ok$"), info
    assert result.lines_matching(r"^veneer: all guests ended: 2 ok, 0 failed$"), info
    assert result.lines_matching(r"^veneer: power off: status 0$"), info
    assert result.status == 0, info


# log_level = debug (docs/console.md, "Log levels"): the smp guest starts
# its AP with INIT and SIPI, and at the end sends it INIT and SIPI again;
# each start by a SIPI and each INIT that sends a running vCPU back to
# wait are debug lines, and the guest passes as always.
DEBUG = """\
[veneer]
log_level = debug

[guest smp]
kernel = smp.elf
mem = 16M
vcpus = 2
cmdline = veneer=1
"""


@pytest.mark.parametrize("vendor", VENDORS)
def test_log_level_debug_shows_sipi_starts_and_inits(run_veneer, tmp_path, vendor):
    result = boot(tmp_path, vendor, "debug.cfg", DEBUG, ["smp.elf"], smp=2)
    info = result.describe()
    smp = guest_lines(result, "smp")
    assert smp and smp[-1] == "PASS", info
    starts = result.lines_matching(
        r"^veneer: guest smp vcpu 1: SIPI start at [0-9a-f]{2}00:0000 \(start \d+\)$")
    assert len(starts) >= 2, info
    assert result.lines_matching(r"^veneer: guest smp vcpu 1: INIT: waits for a SIPI$"), info
    # The info lines are there too, the same as at the default level.
    assert result.lines_matching(r"^veneer: guest smp started on cpu 1$"), info
    assert result.lines_matching(r"^veneer: guest smp vcpu 1 exits: "), info
    assert result.status == 0, info
