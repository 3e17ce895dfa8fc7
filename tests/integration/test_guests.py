# SPDX-License-Identifier: MIT
"""Every test guest (tests/guests) under both vendors, alone and side by side.

amd   = AMD-V under QEMU TCG: one boot per guest (a boot costs a few seconds).
intel = VT-x under Bochs: slower, so the guests share a few boots, one guest
        per CPU (--smp N); each guest's verdict still comes from its own lines.

A guest passed when it exited with code 0, its last console line is
`[NAME] PASS`, no line of it says FAIL, and it printed what it must print
(tests/guests/README.md). Bad guests (truncated or foreign ELFs, too much
memory, unknown options, reads outside RAM, triple faults) must be refused or
stopped with a message naming the problem while the good guest next to them
still exits 0 and the run ends with status 1.
"""

import os
import re
from dataclasses import dataclass

import pytest

from conftest import REPO_ROOT, launch

GUEST_DIR = os.path.join(REPO_ROOT, "build", "guests")
GUEST_MEM = "16M"
MACHINE_MIB = 512
QEMU_TIMEOUT_S = 60
BOCHS_TIMEOUT_S = 600
# spin's loop: long enough that the guest started after it ends first,
# short enough to cost only seconds in Bochs (100000 exits take about 5 s
# there). That guest, cpuid (~1400 exits), gets the smallest RAM: its setup
# (zeroing its memory) runs while spin loops, and with 16 MiB spin's 100000
# exits were over in Bochs before cpuid even started.
SPIN_EXITS = 200000
SPIN_NEIGHBOUR_MEM = "2M"

VENDORS = ["amd", "intel"]
EMULATOR = {"amd": "qemu", "intel": "bochs"}


@dataclass(frozen=True)
class Guest:
    file: str
    must_print: tuple = ()  # regexes, each matching one whole line of the guest
    cmdline: str = "veneer=1"

    def module(self, name, mem=GUEST_MEM):
        args = "name=%s mem=%s" % (name, mem)
        if self.cmdline:
            args += " -- " + self.cmdline
        return "%s:%s" % (os.path.join(GUEST_DIR, self.file), args)


GUESTS = {
    "hello": Guest("hello.elf", (r"hello from a Veneer guest",)),
    "cpuid": Guest("cpuid.elf"),
    "pio": Guest("pio.elf", (r"pio: this line was written by rep outsb",)),
    "msr": Guest("msr.elf"),
    "hlt": Guest("hlt.elf"),
    "hypercall": Guest("hypercall.elf", (
        r"hypercall: this line was written by HC_CONSOLE_WRITE via vmcall",
        r"hypercall: this line was written by HC_CONSOLE_WRITE via vmmcall")),
    # ram_mib: the map must end exactly at the guest's 16 MiB.
    "ram": Guest("ram.elf", (r"ram: usable RAM ends at 0x1000000 \(16 MiB rounded up\)",
                             r"ram: 1[0-5] MiB checked"), "veneer=1 ram_mib=16"),
    "exceptions": Guest("exceptions.elf"),
    "long64": Guest("long64.elf", (r"long64: hello from 64-bit mode",)),
    # The guest's TSC runs on while its exits are handled (issue 16, item 14).
    "tscsteady": Guest("tscsteady.elf", (r"tscsteady: \d+ ticks took \d+ exiting iterations",)),
    # A boot sector: no multiboot info, so no command line either.
    "realmode": Guest("realmode.bin", (r"realmode: hello from real mode",), ""),
    "outside": Guest("outside.elf"),
    "triplefault": Guest("triplefault.elf"),
    "spin": Guest("spin.elf", cmdline="veneer=1 exits=%d" % SPIN_EXITS),
}
PASSING_GUESTS = [name for name in GUESTS if name not in ("outside", "triplefault", "spin")]

# The Bochs boots the intel tests share: name -> (CPUs, guests).
# Every guest that must pass gets a CPU of its own in an all-pass boot.
BOCHS_BOOTS = {
    "a": (4, ["hello", "cpuid", "pio", "msr"]),
    "b": (4, ["hlt", "hypercall", "ram", "exceptions"]),
    "c": (3, ["long64", "realmode", "tscsteady"]),
}
BOCHS_BOOT_OF = {guest: boot for boot, (_, guests) in BOCHS_BOOTS.items() for guest in guests}


# ---- bad guests: each is made here, next to a good one

def truncated_elf(tmp_path):
    """hello.elf cut inside its segment: the header is fine, the data not."""
    path = tmp_path / "truncated.elf"
    path.write_bytes(read_guest("hello.elf")[:3000])
    return str(path)


def truncated_header(tmp_path):
    """Less than an ELF header."""
    path = tmp_path / "tiny.elf"
    path.write_bytes(read_guest("hello.elf")[:40])
    return str(path)


def arm_elf(tmp_path):
    """hello.elf with e_machine (offset 18, 16 bits) patched to 40, ARM."""
    image = bytearray(read_guest("hello.elf"))
    image[18:20] = (40).to_bytes(2, "little")
    path = tmp_path / "arm.elf"
    path.write_bytes(bytes(image))
    return str(path)


def read_guest(name):
    with open(os.path.join(GUEST_DIR, name), "rb") as f:
        return f.read()


@dataclass(frozen=True)
class BadGuest:
    """A guest that must not run to its end, and how the log names why."""
    name: str
    # tmp_path -> the --guest value
    module: object
    # How the problem is named; formatted with the guest's own lines
    # (see problem_pattern).
    message: str
    uses_cpu: bool = False


BAD_GUESTS = [
    BadGuest("truncated", lambda tmp: "%s:name=truncated mem=%s" % (truncated_elf(tmp), GUEST_MEM),
             r"^veneer: guest truncated: not started: kernel: truncated: .*3000 bytes"),
    BadGuest("tiny", lambda tmp: "%s:name=tiny mem=%s" % (truncated_header(tmp), GUEST_MEM),
             r"^veneer: guest tiny: not started: kernel: truncated: .*40 bytes.*ELF header"),
    BadGuest("arm", lambda tmp: "%s:name=arm mem=%s" % (arm_elf(tmp), GUEST_MEM),
             r"^veneer: guest arm: not started: kernel: .*machine 40 \(not x86\)"),
    BadGuest("huge", lambda tmp: os.path.join(GUEST_DIR, "hello.elf") + ":name=huge mem=4G",
             r"^veneer: guest huge: not started: not enough host memory: mem=4096M"),
    BadGuest("bogus", lambda tmp: os.path.join(GUEST_DIR, "hello.elf") + ":name=bogus bogus=1",
             r"^veneer: module \d+ \('\S+ name=bogus bogus=1'\): unknown option 'bogus=1'$"),
    BadGuest("outside", lambda tmp: GUESTS["outside"].module("outside"),
             r"^veneer: guest outside stopped: .*\b{address}\b", uses_cpu=True),
    BadGuest("triplefault", lambda tmp: GUESTS["triplefault"].module("triplefault"),
             r"^veneer: guest triplefault stopped: triple fault at rip {address}$",
             uses_cpu=True),
]
BAD_BY_NAME = {bad.name: bad for bad in BAD_GUESTS}
# Announcements the stopped guests print before their fatal access.
ANNOUNCED_ADDRESS = {
    "outside": r"^\[outside\] outside: about to read (0x[0-9a-f]+)$",
    "triplefault": r"^\[triplefault\] triplefault: loading an empty IDT, then ud2 at "
                   r"(0x[0-9a-f]+)$",
}


# ---- judging one guest in a log

def guest_lines(result, name):
    prefix = "[%s] " % name
    return [line[len(prefix):] for line in result.lines if line.startswith(prefix)]


def assert_powered_off(result, status):
    info = result.describe()
    assert not result.lines_matching(r"^veneer: panic:"), info
    assert result.lines_matching(r"^veneer: power off: status %d$" % status), info
    assert result.status == status, info


def started_cpu(result, name):
    return int(result.value(r"^veneer: guest %s started on cpu (\d+)$" % re.escape(name)))


def assert_guest_passed(result, name):
    info = result.describe()
    own = guest_lines(result, name)
    assert own, "guest %s printed nothing\n%s" % (name, info)
    started_cpu(result, name)
    assert result.lines_matching(r"^veneer: guest %s exited with code 0$" % re.escape(name)), info
    assert not result.lines_matching(r"^veneer: guest %s stopped:" % re.escape(name)), info
    failed = [line for line in own if "FAIL" in line]
    assert not failed, "guest %s failed: %s\n%s" % (name, failed, info)
    assert own[-1] == "PASS", "last line of %s is %r\n%s" % (name, own[-1], info)
    for pattern in GUESTS[name].must_print:
        assert [line for line in own if re.fullmatch(pattern, line)], \
            "guest %s printed no line matching %r\n%s" % (name, pattern, info)


def assert_bad_guest_named(result, bad):
    """The bad guest was refused or stopped, with a message naming why."""
    info = result.describe()
    pattern = bad.message
    if bad.name in ANNOUNCED_ADDRESS:
        address = result.value(ANNOUNCED_ADDRESS[bad.name])
        pattern = pattern.format(address=re.escape(address))
        own = guest_lines(result, bad.name)
        assert not [line for line in own if "FAIL" in line], info
    assert result.lines_matching(pattern), "no line matches %r\n%s" % (pattern, info)
    assert not result.lines_matching(r"^veneer: guest %s exited with code" % bad.name), info


def assert_summary(result, ok, failed):
    assert result.lines_matching(r"^veneer: all guests ended: %d ok, %d failed$" % (ok, failed)), \
        result.describe()


# ---- boots

def boot(run_veneer, vendor, guests, smp, timeout=None, **options):
    if timeout is None:
        timeout = QEMU_TIMEOUT_S if vendor == "amd" else BOCHS_TIMEOUT_S
    return run_veneer(emulator=EMULATOR[vendor], smp=smp, memory=MACHINE_MIB, guests=guests,
                      timeout=timeout, **options)


@pytest.fixture(scope="module")
def bochs_boots(tmp_path_factory):
    """boot name -> RunResult, each of BOCHS_BOOTS booted once on first use."""
    results = {}

    def get(name):
        if name not in results:
            if name == "isolation":
                smp, modules = isolation_modules(tmp_path_factory.mktemp("bad"))
            else:
                smp, guests = BOCHS_BOOTS[name]
                modules = [GUESTS[guest].module(guest) for guest in guests]
            result = launch(tmp_path_factory.mktemp("bochs-" + name), emulator="bochs",
                            smp=smp, memory=MACHINE_MIB, guests=modules,
                            timeout=BOCHS_TIMEOUT_S)
            print("bochs boot %s (%d CPUs): %.1f s, exit status %d"
                  % (name, smp, result.seconds, result.status))
            results[name] = result
        return results[name]

    return get


def isolation_modules(tmp_path):
    """One Bochs boot with every bad guest, cpuid (good) and spin."""
    # spin first: it must be looping before cpuid starts.
    modules = [GUESTS["spin"].module("spin"),
               GUESTS["cpuid"].module("cpuid", mem=SPIN_NEIGHBOUR_MEM)]
    modules += [bad.module(tmp_path) for bad in BAD_GUESTS]
    cpus = 2 + sum(1 for bad in BAD_GUESTS if bad.uses_cpu)
    return cpus, modules


# ---- every guest alone (amd) or in a shared boot (intel)

@pytest.mark.parametrize("name", PASSING_GUESTS)
@pytest.mark.parametrize("vendor", [
    "amd", pytest.param("intel", marks=pytest.mark.slow)])
def test_guest_passes(run_veneer, bochs_boots, vendor, name):
    if vendor == "amd":
        result = boot(run_veneer, vendor, [GUESTS[name].module(name)], smp=1)
        assert_powered_off(result, 0)
        assert_summary(result, 1, 0)
    else:
        result = bochs_boots(BOCHS_BOOT_OF[name])
    assert_guest_passed(result, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BOCHS_BOOTS))
def test_intel_shared_boot_ends_with_status_0(bochs_boots, name):
    """Each shared Bochs boot: one CPU per guest, all exited 0."""
    smp, guests = BOCHS_BOOTS[name]
    result = bochs_boots(name)
    assert_powered_off(result, 0)
    assert_summary(result, len(guests), 0)
    cpus = [started_cpu(result, guest) for guest in guests]
    assert sorted(cpus) == list(range(smp)), result.describe()


@pytest.mark.parametrize("vendor", [
    "amd", pytest.param("intel", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", ["outside", "triplefault"])
def test_guest_is_stopped_and_named(run_veneer, bochs_boots, vendor, name):
    """A guest that reads outside its RAM or triple-faults is stopped, alone."""
    if vendor == "amd":
        result = boot(run_veneer, vendor, [GUESTS[name].module(name)], smp=1)
        assert_powered_off(result, 1)
        assert_summary(result, 0, 1)
    else:
        result = bochs_boots("isolation")
    assert_bad_guest_named(result, BAD_BY_NAME[name])


# ---- several guests

def test_amd_two_guests_side_by_side(run_veneer):
    result = boot(run_veneer, "amd", [GUESTS["ram"].module("ram"), GUESTS["cpuid"].module("cpuid")],
                  smp=2)
    assert_powered_off(result, 0)
    assert_summary(result, 2, 0)
    for name in ("ram", "cpuid"):
        assert_guest_passed(result, name)
    assert started_cpu(result, "ram") != started_cpu(result, "cpuid"), result.describe()


def assert_spin_did_not_hold_up(result, other):
    """`other` ended while spin was still looping on exits."""
    info = result.describe()
    assert_guest_passed(result, "spin")
    lines = result.lines
    other_exit = lines.index("veneer: guest %s exited with code 0" % other)
    spin_done = lines.index("[spin] spin: %d exits done" % SPIN_EXITS)
    spin_start = lines.index("[spin] spin: %d exits to port 0x2f0" % SPIN_EXITS)
    assert spin_start < other_exit < spin_done, \
        "%s did not end while spin was looping\n%s" % (other, info)
    assert started_cpu(result, "spin") != started_cpu(result, other), info


def test_amd_guest_looping_on_exits_does_not_hold_up_the_other(run_veneer):
    # Spin's exit loop takes about 5 s, but a minute when the host is busy
    # (QEMU's vCPU threads share two cores with the rest): a generous limit.
    result = boot(run_veneer, "amd", [GUESTS["spin"].module("spin"),
                                      GUESTS["cpuid"].module("cpuid", mem=SPIN_NEIGHBOUR_MEM)],
                  smp=2, timeout=4 * QEMU_TIMEOUT_S)
    assert_powered_off(result, 0)
    assert_guest_passed(result, "cpuid")
    assert_spin_did_not_hold_up(result, "cpuid")


@pytest.mark.parametrize("bad", [bad.name for bad in BAD_GUESTS])
def test_amd_bad_guest_is_refused_and_the_good_one_runs(run_veneer, tmp_path, bad):
    bad_guest = BAD_BY_NAME[bad]
    result = boot(run_veneer, "amd", [GUESTS["cpuid"].module("cpuid"),
                                      bad_guest.module(tmp_path)], smp=2)
    assert_powered_off(result, 1)
    assert_summary(result, 1, 1)
    assert_guest_passed(result, "cpuid")
    assert_bad_guest_named(result, bad_guest)


@pytest.mark.slow
def test_intel_bad_guests_are_refused_and_the_good_ones_run(bochs_boots):
    """One Bochs boot: every bad guest at once, next to cpuid and spin."""
    result = bochs_boots("isolation")
    assert_powered_off(result, 1)
    assert_summary(result, 2, len(BAD_GUESTS))
    assert_guest_passed(result, "cpuid")
    for bad in BAD_GUESTS:
        assert_bad_guest_named(result, bad)
    assert_spin_did_not_hold_up(result, "cpuid")
