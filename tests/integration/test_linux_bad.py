"""Broken Linux guests are refused by name, and the good guest beside them runs.

The bad inputs are made from the real Debian bzImage (build/linux/vmlinuz):
cut short, its boot-protocol version lowered below what Veneer needs, random
bytes declared format=linux, an initrd that cannot fit the guest's RAM above
the kernel, and a module string (hence a kernel command line) longer than
Veneer accepts. Each must be refused before it runs, with a message naming
the problem; the cpuid test guest next to them must pass, and the run ends
with status 1 (some guest failed). The loader's finer checks (setup header
fields, a command line longer than the kernel's cmdline_size, ...) have host
unit tests in tests/unit/test_linux.c.
"""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "linux", "vmlinuz")
GOOD = os.path.join(ROOT, "build", "guests", "cpuid.elf")
# Setup header (Linux boot protocol, Documentation/x86/boot): the protocol
# version is the 16-bit field at 0x206.
VERSION_OFFSET = 0x206
MODSTR_MAX = 511  # core/bootinfo.h BOOTINFO_MODSTR_MAX - 1

pytestmark = pytest.mark.skipif(not os.path.exists(KERNEL),
                                reason="run tools/fetch-linux (make test does) to get the "
                                       "Debian kernel")


def bad_inputs(tmp):
    """(guest and module specs, {name: expected message regex})."""
    with open(KERNEL, "rb") as f:
        kernel = f.read()
    truncated = tmp / "truncated.bz"
    truncated.write_bytes(kernel[:64 * 1024])
    old = tmp / "old.bz"
    old.write_bytes(kernel[:VERSION_OFFSET] + bytes([0x00, 0x02]) + kernel[VERSION_OFFSET + 2:])
    noise = tmp / "noise.bin"
    noise.write_bytes(os.urandom(512 * 1024))
    initrd = tmp / "big-initrd.img"
    with open(initrd, "wb") as f:
        f.truncate(24 * 1024 * 1024)
    long_cmdline = "console=ttyS0 " + "x" * 700
    specs = [
        f"{GOOD}:name=cpuid",
        f"{truncated}:name=truncated mem=128M",
        f"{old}:name=old mem=128M",
        f"{noise}:name=noise mem=128M format=linux",
        f"{KERNEL}:name=bigrd mem=96M",
        f"{KERNEL}:name=longcmd mem=128M -- {long_cmdline}",
    ]
    modules = [f"{initrd}:for=bigrd"]
    expected = {
        "truncated": r"^veneer: guest truncated: not started: linux: truncated: the "
                     r"protected-mode kernel needs \d+ bytes, the file has 65536$",
        "old": r"^veneer: guest old: not started: linux: boot protocol 2\.00 is too old "
               r"\(need 2\.\d+\)$",
        "noise": r"^veneer: guest noise: not started: linux: not a bzImage \(no HdrS "
                 r"signature at 0x202\)$",
        "bigrd": r"^veneer: guest bigrd: not started: linux: initrd of 24 MiB does not fit "
                 r"in the guest's RAM \(96 MiB\) above the kernel$",
        "longcmd": r"^veneer: module \d+ \('\S+ name=longcmd .*\.\.\.'\): its string is "
                   r"\d+ bytes, longer than the %d Veneer accepts$" % MODSTR_MAX,
    }
    return specs, modules, expected


@pytest.mark.parametrize("vendor", ["amd", pytest.param("intel", marks=pytest.mark.slow)])
def test_bad_linux_guests_are_refused_and_the_good_one_runs(run_veneer, tmp_path, vendor):
    specs, modules, expected = bad_inputs(tmp_path)
    emulator = {"amd": "qemu", "intel": "bochs"}[vendor]
    result = run_veneer(emulator=emulator, smp=2, memory=512, guests=specs, modules=modules,
                        timeout=120 if vendor == "amd" else 900)
    info = result.describe()
    for name, pattern in expected.items():
        assert result.lines_matching(pattern), f"no refusal of {name} matching {pattern!r}\n{info}"
        assert not result.lines_matching(r"^veneer: guest %s started" % name), info
    assert result.lines_matching(r"^veneer: guest cpuid exited with code 0$"), info
    cpuid_lines = [line for line in result.lines if line.startswith("[cpuid] ")]
    assert cpuid_lines and cpuid_lines[-1] == "[cpuid] PASS", info
    assert result.lines_matching(r"^veneer: all guests ended: 1 ok, 5 failed$"), info
    assert not result.lines_matching(r"^veneer: panic:"), info
    assert result.status == 1, info
    assert re.search(r"veneer: power off: status 1", result.log), info
