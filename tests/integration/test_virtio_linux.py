"""virtio: the Debian kernel's own drivers on Veneer's devices, both vendors.

One boot per vendor of the Linux guest with three disks and a virtio console
(docs/devices.md), its shell on hvc0 (console=hvc0):

- vda: build/disk/test.ext4 read-write (Veneer's private copy of the module):
  mounted, its files' sha256 checked against build/disk/test.sha256, a new
  file written, synced, the page cache dropped, read back, and again after a
  remount;
- vdb: the same image read-only: the driver sees it read-only, a write to
  the device fails, and the file written on vda is not on it (two disks
  from one module are two disks);
- vdc: an empty image made here: partitioned with fdisk, an ext2 file
  system made on the partition, a file written and read back;
- hvc0: the kernel's console and the shell's terminal: everything typed
  reaches it (Veneer's statistics count exactly the bytes sent), and the
  answers come back through it.

The image file on the host is the same bytes afterwards: the guest writes
only Veneer's copy. The devices speak virtio 1.x over PCI with MSI-X; the
kernel log must show the PCI root bridge from the DSDT and the three disks
with the capacity Veneer reports.
"""

import hashlib
import os
import re
import time

import pexpect
import pytest

from console_session import INITRAMFS, KERNEL, LINUX, LinuxShell, ROOT, emulator_args, guest_lines

DISK = os.path.join(ROOT, "build", "disk", "test.ext4")
SUMS = os.path.join(ROOT, "build", "disk", "test.sha256")
BLANK_MIB = 4
MEM_MIB = {"amd": 256, "intel": 192}
BOOT_TIMEOUT = {"amd": 300, "intel": 1500}
COMMAND_TIMEOUT = {"amd": 120, "intel": 600}
# The file the guest writes: `seq 1 N`, whose sum is computed here too.
SEQ_N = {"amd": 40000, "intel": 8000}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.path.exists(KERNEL) and os.path.exists(INITRAMFS)
                            and os.path.exists(DISK)),
                       reason="run tools/fetch-linux and make disk (make test does)"),
]


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def expected_sums():
    """{name: sha256} of the files in the image, as the build recorded."""
    sums = {}
    with open(SUMS) as f:
        for line in f:
            digest, name = line.split()
            sums[os.path.basename(name.lstrip("*"))] = digest
    return sums


def seq_sha256(n):
    return hashlib.sha256("".join("%d\n" % i for i in range(1, n + 1)).encode()).hexdigest()


class Session(LinuxShell):
    def __init__(self, vendor, blank):
        self.vendor = vendor
        self.answers = {}
        self.failure = None
        self.boot_log = None
        super().__init__(
            ["--smp", "2", "--memory", "512",
             "--guest", f"{KERNEL}:name=linux mem={MEM_MIB[vendor]}M devices=virtio-console"
                        " -- console=hvc0",
             "--module", f"{INITRAMFS}:for=linux",
             "--module", f"{DISK}:for=linux disk=rw",
             "--module", f"{DISK}:for=linux disk=ro",
             "--module", f"{blank}:for=linux disk=rw"] + emulator_args(vendor),
            COMMAND_TIMEOUT[vendor], COMMAND_TIMEOUT[vendor])


COMMANDS = [
    # Long command lines: busybox edits a serial line as 80 columns wide.
    ("stty", "stty columns 250"),
    ("console", "cat /sys/class/tty/console/active; tty"),
    ("sizes", "cat /sys/block/vd[abc]/size /sys/block/vd[abc]/ro"),
    ("mount", "mkdir -p /mnt/a /mnt/b /mnt/c && mount -t ext4 /dev/vda /mnt/a && echo mounted"),
    ("sums", "cd /mnt/a && sha256sum hello.txt blob.bin; cd /root"),
    ("write", "seq 1 {n} > /mnt/a/new.txt && sync && echo 3 > /proc/sys/vm/drop_caches"
              " && sha256sum /mnt/a/new.txt"),
    ("remount", "umount /mnt/a && mount -t ext4 /dev/vda /mnt/a && sha256sum /mnt/a/new.txt"),
    ("ro_mount", "mount -t ext4 -o ro /dev/vdb /mnt/b && ls -1 /mnt/b && sha256sum /mnt/b/blob.bin"),
    ("ro_write", "dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null;"
                 " echo dd=$?"),
    ("partition", "printf 'o\\nn\\np\\n1\\n\\n\\nw\\n' | fdisk /dev/vdc >/dev/null 2>&1;"
                  " cat /sys/block/vdc/vdc1/size"),
    ("mkfs", "mke2fs /dev/vdc1 >/dev/null 2>&1 && mount -t ext2 /dev/vdc1 /mnt/c && echo made"),
    ("c_write", "seq 1 {n} > /mnt/c/x && umount /mnt/c && echo 3 > /proc/sys/vm/drop_caches"
                " && mount -t ext2 /dev/vdc1 /mnt/c && sha256sum /mnt/c/x"),
    ("dmesg", "dmesg"),
]


def play(vendor, tmp):
    blank = os.path.join(tmp, "blank.img")
    with open(blank, "wb") as f:
        f.truncate(BLANK_MIB << 20)
    s = Session(vendor, blank)
    s.disk_before = file_sha256(DISK)
    step = "boot to the prompt"
    try:
        started = time.monotonic()
        s.wait_prompt(BOOT_TIMEOUT[vendor])
        s.boot_seconds = time.monotonic() - started
        s.boot_log = s.text
        for name, command in COMMANDS:
            step = f"typing {name}"
            s.answers[name] = s.run(command.format(n=SEQ_N[vendor]))
        step = "poweroff -f"
        s.send("poweroff -f\r")
        s.child.expect(pexpect.EOF, timeout=COMMAND_TIMEOUT[vendor])
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        s.failure = f"{step}: {type(e).__name__}"
    finally:
        s.close()
    return s


@pytest.fixture(scope="module", params=["amd", "intel"])
def session(request, tmp_path_factory):
    return play(request.param, str(tmp_path_factory.mktemp("virtio-" + request.param)))


def info(s):
    head = f"vendor {s.vendor}; failed at: {s.failure}\ncommand: {' '.join(s.command)}\n"
    return head + "---- console (last 6000 chars) ----\n" + s.text[-6000:]


KERNEL_LINE = re.compile(r"^\[ *\d+\.\d+\] ")


def answer(s, name):
    """A command's output lines; kernel messages that the console printed
    among them are left out (dmesg's own are its answer)."""
    assert name in s.answers, f"never got to {name}\n{info(s)}"
    if name == "dmesg":
        return s.answers[name]
    return [line for line in s.answers[name] if not KERNEL_LINE.match(line)]


def test_kernel_finds_the_disks_on_pci(session):
    s = session
    assert s.boot_log is not None, "no shell prompt\n" + info(s)
    kernel = "\n".join(answer(s, "dmesg"))
    assert "ACPI: PCI Root Bridge [PCI0]" in kernel, info(s)
    for bad in ("ACPI Error", "ACPI BIOS Error", "BUG:", "Call Trace", "virtio_pci: probe"):
        assert bad not in kernel, f"{bad!r} in the kernel log\n{info(s)}"
    sectors = os.path.getsize(DISK) // 512
    for disk, n in (("vda", sectors), ("vdb", sectors), ("vdc", (BLANK_MIB << 20) // 512)):
        assert f"[{disk}] {n} 512-byte logical blocks" in kernel, info(s)
    assert "needs a reset" not in s.text, info(s)


def test_capacity_and_read_only_flag(session):
    sectors = os.path.getsize(DISK) // 512
    assert answer(session, "sizes") == [str(sectors), str(sectors), str((BLANK_MIB << 20) // 512),
                                        "0", "1", "0"], info(session)


def test_files_read_match_the_build(session):
    s = session
    assert answer(s, "mount") == ["mounted"], info(s)
    got = {line.split()[1]: line.split()[0] for line in answer(s, "sums")}
    assert got == expected_sums(), info(s)


def test_written_file_reads_back_after_drop_caches_and_remount(session):
    s = session
    want = seq_sha256(SEQ_N[s.vendor])
    assert answer(s, "write") == [f"{want}  /mnt/a/new.txt"], info(s)
    assert answer(s, "remount") == [f"{want}  /mnt/a/new.txt"], info(s)


def test_read_only_disk_refuses_writes_and_is_its_own(session):
    s = session
    lines = answer(s, "ro_mount")
    assert "new.txt" not in lines and "hello.txt" in lines, info(s)
    assert lines[-1] == f"{expected_sums()['blob.bin']}  /mnt/b/blob.bin", info(s)
    dd = answer(s, "ro_write")
    assert len(dd) == 1 and dd[0].startswith("dd=") and dd[0] != "dd=0", info(s)


def test_blank_disk_partitioned_and_formatted(session):
    s = session
    part = answer(s, "partition")
    assert len(part) == 1 and int(part[0]) > ((BLANK_MIB << 20) // 512) * 9 // 10, info(s)
    assert answer(s, "mkfs") == ["made"], info(s)
    want = seq_sha256(SEQ_N[s.vendor])
    assert answer(s, "c_write") == [f"{want}  /mnt/c/x"], info(s)


def test_module_itself_never_written(session):
    s = session
    assert s.failure is None, info(s)
    assert file_sha256(DISK) == s.disk_before


def test_shell_on_the_virtio_console(session):
    s = session
    assert "veneer: guest linux: virtio-console, PCI 00:05.0" in s.text, info(s)
    assert answer(s, "console") == ["hvc0", "/dev/hvc0"], info(s)


def test_console_statistics_count_what_was_typed(session):
    """Every byte typed went through the receive queue, none dropped; the
    shell's answers came out through the transmit queue."""
    s = session
    assert s.failure is None, info(s)
    found = re.search(r"^veneer: guest linux virtio-console: out (\d+) bytes in (\d+) chains, "
                      r"in (\d+) bytes \((\d+) dropped\), kicks (\d+), interrupts (\d+)$",
                      s.text, re.M)
    assert found, info(s)
    out, chains, typed, dropped, kicks, interrupts = map(int, found.groups())
    assert (typed, dropped) == (s.typed, 0), info(s)
    # dmesg's answer alone came out through it.
    assert out >= sum(len(line) + 1 for line in answer(s, "dmesg")), info(s)
    assert chains > 0 and kicks > 0 and interrupts > 0, info(s)
