# SPDX-License-Identifier: MIT
"""A hostile virtio-blk driver on both vendors (docs/devices.md, "What the
guest hands over is checked").

One boot per vendor (amd: QEMU, intel: Bochs, slow): the virtio_hostile
guest (tests/guests/virtio_hostile.c) with two 64 KiB disks made here, whose
bytes it knows (disk_bytes()), beside the heartbeat guest. The hostile guest
drives the first disk's queue itself and breaks the ring rules one at a
time: a loop in a chain, buffers past the end of RAM, across it and
wrapping around 2^64, next and head indices out of range, avail->idx far
ahead, rings outside RAM, an INDIRECT descriptor not negotiated, a readable
buffer after a writable one, a queue size that is no power of two. Each
must set DEVICE_NEEDS_RESET with nothing used, and Veneer must log exactly
one `...: queue 0: WHY; the device needs a reset` line for it, WHY naming
the rule; after a reset the device works again. Reads past the disk's end
fail with IOERR and no reset; a request without a status byte is returned
empty. The second disk, never touched until the end, reads; the heartbeat
guest ends normally; Veneer runs on and powers off with status 0. Last,
the guest moves BARs onto the local APIC and onto each other and away: a
BAR on other registers is not decoded, and once they part both answer.
"""

import os
import re

import pytest

from conftest import REPO_ROOT, launch, own_lines, own_text

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
EMULATOR = {"amd": "qemu", "intel": "bochs"}
TIMEOUT = {"amd": 120, "intel": 600}
NAME = "virtio_hostile"
NEIGHBOUR = "heartbeat"
DISK_BYTES = 64 * 1024
SECTORS = DISK_BYTES // 512
GUEST_MEM = "16M"
RAM_TOP = 16 << 20

# The guest's checks, each must print `virtio_hostile: N NAME: ok`.
CHECKS = [(0, "find-device"), (1, "good-read"), (2, "loop"), (3, "past-ram"), (4, "wrap"),
          (5, "next-out-of-range"), (6, "avail-idx-ahead"), (7, "head-out-of-range"),
          (8, "desc-outside-ram"), (9, "read-past-end"), (11, "straddle-ram-end"),
          (12, "indirect-unnegotiated"), (13, "readable-after-writable"),
          (14, "queue-size-12"), (15, "no-status-byte"), (16, "no-version-1"),
          (17, "other-disk"), (18, "lapic-bar"), (19, "disk-bar"), (20, "stuck-bar")]
# What Veneer says for each hostile case, in the order the guest runs them:
# (check, WHY as a regex). The guest's queue has 16 entries, its RAM ends at
# 16 MiB.
RESETS = [
    (2, r"descriptor [01]: loop, chain longer than 16"),
    (3, r"descriptor 1: buffer 0x%x\+0x200 not in RAM" % (RAM_TOP + 4096)),
    (4, r"descriptor 1: buffer 0xfffffffffffffe00\+0x400 not in RAM"),
    (5, r"descriptor 0: next 16 out of range \(table of 16\)"),
    (6, r"avail idx 1000 is 1000 ahead of 0 \(queue size 16\)"),
    (7, r"avail ring slot 0: head 16 out of range \(queue size 16\)"),
    (8, r"descriptor table at 0x%x \(0x100 bytes\): not in guest RAM" % (RAM_TOP + 4096)),
    (11, r"descriptor 1: buffer 0x%x\+0x200 not in RAM" % (RAM_TOP - 256)),
    (12, r"descriptor 0: INDIRECT, not negotiated"),
    (13, r"descriptor 2: readable after writable \(2\.7\.4\)"),
    (14, r"size 12: not a power of two from 1 to \d+"),
]
RESET_LINE = re.compile(r"^veneer: guest (\S+): virtio-blk (00:\S+): queue (\d+): (.*); "
                        r"the device needs a reset$")

def disk_bytes(salt):
    """The bytes of disk `salt` (0 the first, 1 the second), as the guest's
    disk_byte() computes them."""
    return bytes((off * 7 + (off >> 9) * 13 + (off >> 3) + salt * 101) & 0xff
                 for off in range(DISK_BYTES))


def make_disks(directory):
    paths = []
    for salt in (0, 1):
        path = os.path.join(str(directory), "disk%d.img" % salt)
        with open(path, "wb") as f:
            f.write(disk_bytes(salt))
        paths.append(path)
    return paths


def modules(paths):
    return ["%s:for=%s disk=rw" % (path, NAME) for path in paths]


def guest(name, cmdline):
    return "%s:name=%s mem=%s -- %s" % (os.path.join(GUEST_DIR, name + ".elf"), name,
                                         GUEST_MEM, cmdline)


@pytest.fixture(scope="module", params=["amd", pytest.param("intel", marks=pytest.mark.slow)])
def hostile(request, tmp_path_factory):
    vendor = request.param
    directory = tmp_path_factory.mktemp("virtio-hostile-" + vendor)
    disks = make_disks(directory)
    result = launch(directory, emulator=EMULATOR[vendor], smp=2, timeout=TIMEOUT[vendor],
                    guests=[guest(NAME, "veneer=1"), guest(NEIGHBOUR, "veneer=1 quiet=1")],
                    modules=modules(disks))
    print("%s: veneer-run took %.1f s, exit status %d" % (vendor, result.seconds, result.status))
    return vendor, result, disks


def assert_guest_passed(result, name):
    info = result.describe()
    own = own_lines(result, name)
    assert own, "guest %s printed nothing\n%s" % (name, info)
    assert result.lines_matching(r"^veneer: guest %s exited with code 0$" % name), info
    assert not result.lines_matching(r"^veneer: guest %s stopped:" % name), info
    assert not [line for line in own if "FAIL" in line], info
    assert own[-1] == "PASS", "last line of %s is %r\n%s" % (name, own[-1], info)


def test_run_ends_cleanly(hostile):
    _, result, _ = hostile
    info = result.describe()
    assert not result.lines_matching(r"^veneer: panic"), info
    assert result.lines_matching(r"^veneer: power off: status 0$"), info
    assert result.status == 0, info


def test_disks_declared(hostile):
    _, result, _ = hostile
    for index in (0, 1):
        pattern = (r"^veneer: guest %s: disk %d: disk%d\.img, 64 KiB, read-write copy, "
                   r"PCI 00:0%d\.0$" % (NAME, index, index, index + 1))
        assert result.lines_matching(pattern), result.describe()


def test_hostile_guest_passes_every_check(hostile):
    _, result, _ = hostile
    info = result.describe()
    assert_guest_passed(result, NAME)
    text = own_text(result, NAME)
    for number, check in CHECKS:
        assert "%s: %d %s: ok" % (NAME, number, check) in text, \
            "no '%d %s: ok'\n%s" % (number, check, info)
    assert "%s: RAM ends at 0x%x" % (NAME, RAM_TOP) in text, info
    for slot in (1, 2):
        assert "%s: 00:0%d.0: %d sectors, queue 0 of 128 entries (using 16)" % (
            NAME, slot, SECTORS) in text, info


def test_one_reset_line_per_hostile_case(hostile):
    _, result, _ = hostile
    info = result.describe()
    lines = [RESET_LINE.match(line) for line in result.lines if "needs a reset" in line]
    assert all(lines), "a reset line of another form\n%s" % info
    got = [(m.group(1), m.group(2), m.group(3), m.group(4)) for m in lines]
    assert all(g[:3] == (NAME, "00:01.0", "0") for g in got), \
        "a reset that is not the attacked queue's: %s\n%s" % (got, info)
    whys = [g[3] for g in got]
    assert len(whys) == len(RESETS), "%d reset lines, want %d: %s\n%s" % (
        len(whys), len(RESETS), whys, info)
    for why, (check, pattern) in zip(whys, RESETS):
        assert re.fullmatch(pattern, why), "check %d: %r does not match %r\n%s" % (
            check, why, pattern, info)


def test_statistics_match_the_guest(hostile):
    """Veneer's end-of-guest line for each disk counts the reads and kicks
    the guest made, and the device is not left broken."""
    _, result, _ = hostile
    info = result.describe()
    text = own_text(result, NAME)
    for index, slot in ((0, 1), (1, 2)):
        found = re.search(r"%s: disk 00:0%d\.0: (\d+) good reads, (\d+) kicks" % (NAME, slot),
                          text)
        assert found, info
        reads, kicks = found.groups()
        assert result.lines_matching(
            r"^veneer: guest %s disk %d: reads %s \(\d+ KiB\), writes 0 \(0 KiB\), flushes 0, "
            r"kicks %s, interrupts \d+$" % (NAME, index, reads, kicks)), info
    assert int(re.search(r"disk 00:01\.0: (\d+) good reads", text).group(1)) > len(RESETS), info


def test_neighbour_unaffected(hostile):
    _, result, _ = hostile
    assert_guest_passed(result, NEIGHBOUR)
    assert re.search(r"heartbeat: largest gap \d+ us", own_text(result, NEIGHBOUR)), \
        result.describe()


def test_disk_files_unchanged(hostile):
    """The guest only reads, and a read-write disk is Veneer's copy anyway."""
    _, _, disks = hostile
    for salt, path in enumerate(disks):
        with open(path, "rb") as f:
            assert f.read() == disk_bytes(salt), path
