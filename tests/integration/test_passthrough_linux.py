# SPDX-License-Identifier: MIT
"""A real NVMe controller given to the Debian Linux guest (issue 14,
docs/passthrough.md), on QEMU's q35 with its intel-iommu and with its
amd-iommu (AMD-V backend; Bochs has no IOMMU and no NVMe).

QEMU's `nvme` device at 00:07.0, its namespace a private copy of the build's
test disk (build/disk/test.ext4), is declared `pci=00:07.0` for the Linux
guest. A second guest, dmaattack role=probe, looks for the same controller
on its own bus and must not find it. In the Linux guest:

- the kernel's own nvme driver binds to the controller on the guest's bus
  and sets up its queues with MSI-X (the interrupts are Veneer's host
  vectors, remapped by the IOMMU, delivered as the guest's own messages);
- the file system mounts, and its files' sha256 are the build's;
- a file written, synced and the page cache dropped reads back the same
  (DMA both ways through the guest's IOMMU domain);
- /proc/interrupts counts the controller's interrupts on PCI-MSI.

Veneer must report no DMA fault and no interrupt it did not ask for, and
the backing file must hold the file the guest wrote (the device, not a copy
in Veneer, did the writes).

Two e1000e NICs on one QEMU hub (no host networking), at 00:08.0 and
00:09.0, each given to its own Linux guest (a, b): the kernel's e1000e
driver binds with MSI-X, b pings a, and a file of known sha256 moves from
a to b with nc.
"""

import os
import re
import shutil
import time

import pexpect
import pytest

from console_session import INITRAMFS, KERNEL, LinuxShell, ROOT, emulator_args, guest_lines

DISK = os.path.join(ROOT, "build", "disk", "test.ext4")
SUMS = os.path.join(ROOT, "build", "disk", "test.sha256")
GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(ROOT, "build", "guests"))
DMAATTACK = os.path.join(GUEST_DIR, "dmaattack.elf")
NVME_ADDR = "00:07.0"
NVME_ID = "1b36:0010"  # QEMU's NVM Express controller
BOOT_TIMEOUT = 400
COMMAND_TIMEOUT = 120
SEQ_N = 40000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.path.exists(KERNEL) and os.path.exists(INITRAMFS)
                            and os.path.exists(DISK)),
                       reason="run tools/fetch-linux and make disk (make test does)"),
]

COMMANDS = [
    ("stty", "stty columns 250"),
    ("driver", "basename $(readlink /sys/bus/pci/devices/0000:00:07.0/driver);"
               " cat /sys/bus/pci/devices/0000:00:07.0/vendor"
               " /sys/bus/pci/devices/0000:00:07.0/device"),
    ("msi", "ls /sys/bus/pci/devices/0000:00:07.0/msi_irqs | wc -l"),
    ("mount", "mkdir -p /mnt/n && mount -t ext4 /dev/nvme0n1 /mnt/n && echo mounted"),
    ("sums", "cd /mnt/n && sha256sum hello.txt blob.bin; cd /"),
    ("write", "seq 1 {n} > /mnt/n/new.txt && sync && echo 3 > /proc/sys/vm/drop_caches"
              " && sha256sum /mnt/n/new.txt"),
    ("remount", "umount /mnt/n && mount -t ext4 /dev/nvme0n1 /mnt/n && sha256sum /mnt/n/new.txt"
                " && umount /mnt/n && echo unmounted"),
    ("interrupts", "grep nvme /proc/interrupts"),
    ("dmesg", "dmesg"),
]


def seq_text(n):
    return "".join("%d\n" % i for i in range(1, n + 1))


def expected_sums():
    sums = {}
    with open(SUMS) as f:
        for line in f:
            digest, name = line.split()
            sums[os.path.basename(name.lstrip("*"))] = digest
    return sums


class Session(LinuxShell):
    def __init__(self, iommu, image):
        self.iommu = iommu
        self.image = image
        self.answers = {}
        self.failure = None
        self.boot_log = None
        super().__init__(
            ["--smp", "2", "--memory", "512",
             "--guest", f"{KERNEL}:name=linux mem=256M pci={NVME_ADDR} -- console=ttyS0",
             "--module", f"{INITRAMFS}:for=linux",
             "--guest", f"{DMAATTACK}:name=other -- role=probe id={NVME_ID} absent=yes",
             "--extra-qemu=-M", "--extra-qemu=q35",
             "--extra-qemu=-device", f"--extra-qemu={iommu}",
             "--extra-qemu=-drive", f"--extra-qemu=file={image},if=none,id=nvm,format=raw",
             "--extra-qemu=-device",
             f"--extra-qemu=nvme,serial=veneer,drive=nvm,addr={NVME_ADDR.split(':')[1]}"]
            + emulator_args("amd"), COMMAND_TIMEOUT, COMMAND_TIMEOUT)


def play(iommu, tmp):
    image = os.path.join(tmp, "nvme.img")
    shutil.copyfile(DISK, image)
    s = Session(iommu, image)
    step = "boot to the prompt"
    try:
        s.wait_prompt(BOOT_TIMEOUT)
        s.boot_log = s.text
        for name, command in COMMANDS:
            step = f"typing {name}"
            s.answers[name] = s.run(command.format(n=SEQ_N))
        step = "poweroff -f"
        s.send("poweroff -f\r")
        s.child.expect(pexpect.EOF, timeout=COMMAND_TIMEOUT)
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        s.failure = f"{step}: {type(e).__name__}"
    finally:
        s.close()
    return s


@pytest.fixture(scope="module", params=["amd-iommu", "intel-iommu,aw-bits=48"])
def session(request, tmp_path_factory):
    return play(request.param, str(tmp_path_factory.mktemp("nvme")))


def info(s):
    head = f"iommu {s.iommu}; failed at: {s.failure}\ncommand: {' '.join(s.command)}\n"
    answers = "".join(f"{key}: {value[-8:]!r}\n" for key, value in s.answers.items()
                      if key != "dmesg")
    return (head + "---- answers ----\n" + answers + "---- console (last 6000 chars) ----\n"
            + s.text[-6000:])


KERNEL_LINE = re.compile(r"^\[ *\d+\.\d+\] ")


def answer(s, name):
    assert name in s.answers, f"never got to {name}\n{info(s)}"
    if name == "dmesg":
        return s.answers[name]
    return [line for line in s.answers[name] if not KERNEL_LINE.match(line)]


def test_nvme_driver_binds_with_msix(session):
    s = session
    assert s.boot_log is not None, "no shell prompt\n" + info(s)
    assert answer(s, "driver") == ["nvme", "0x1b36", "0x0010"], info(s)
    vectors = answer(s, "msi")
    assert len(vectors) == 1 and int(vectors[0]) >= 1, info(s)
    kernel = "\n".join(answer(s, "dmesg"))
    assert "nvme nvme0: pci function 0000:00:07.0" in kernel, info(s)
    for bad in ("BUG:", "Call Trace", "I/O error", "timeout", "nvme nvme0: Removing"):
        assert bad not in kernel, f"{bad!r} in the kernel log\n{info(s)}"


def test_files_read_match_the_build(session):
    s = session
    assert answer(s, "mount") == ["mounted"], info(s)
    got = {line.split()[1]: line.split()[0] for line in answer(s, "sums")}
    assert got == expected_sums(), info(s)


def test_written_file_reads_back_and_reaches_the_device(session):
    import hashlib
    s = session
    want = hashlib.sha256(seq_text(SEQ_N).encode()).hexdigest()
    assert answer(s, "write") == [f"{want}  /mnt/n/new.txt"], info(s)
    assert answer(s, "remount") == [f"{want}  /mnt/n/new.txt", "unmounted"], info(s)
    # The controller wrote the backing file itself: the file's bytes are in it.
    with open(s.image, "rb") as f:
        data = f.read()
    assert seq_text(SEQ_N)[:4096].encode() in data, info(s)


def test_interrupts_are_msi_and_counted(session):
    s = session
    lines = answer(s, "interrupts")
    assert lines, info(s)
    counts = []
    for line in lines:
        fields = line.split()
        assert "PCI-MSI" in fields, info(s)
        counts.append(int(fields[1]))
    assert sum(counts) > 10, info(s)


def test_host_clean_and_other_guest_blind(session):
    s = session
    assert s.failure is None, info(s)
    text = s.text
    assert "veneer: panic" not in text, info(s)
    assert "veneer: iommu: DMA fault" not in text, info(s)
    assert not re.search(r"^veneer: host: \d+ unexpected interrupts", text, re.M), info(s)
    assert "is not delivered" not in text, info(s)
    other = guest_lines(text, "other")
    assert "PASS: the device is not on bus 0" in other, info(s)
    assert not [line for line in other if line.startswith("FAIL")], info(s)


# ---- two guests, two e1000e NICs on one hub ----

NICS = {"a": ("00:08.0", "52:54:00:00:00:01", "10.0.0.1"),
        "b": ("00:09.0", "52:54:00:00:00:02", "10.0.0.2")}
NC_N = 100000  # the file moved: `seq 1 NC_N`


class NetSession(LinuxShell):
    def __init__(self, iommu):
        self.iommu = iommu
        self.answers = {}
        self.failure = None
        qemu = ["-M", "q35", "-device", iommu]
        args = ["--smp", "2", "--memory", "512"]
        for name, (addr, mac, _) in NICS.items():
            qemu += ["-netdev", f"hubport,id=p{name},hubid=0",
                     "-device", f"e1000e,netdev=p{name},addr={addr.split(':')[1]},mac={mac}"]
            args += ["--guest", f"{KERNEL}:name={name} mem=200M pci={addr} -- console=ttyS0",
                     "--module", f"{INITRAMFS}:for={name}"]
        super().__init__(args + ["--extra-qemu=" + q for q in qemu] + emulator_args("amd"),
                         COMMAND_TIMEOUT, COMMAND_TIMEOUT, name="a")

    def on(self, guest, key, command):
        self.focus(guest)
        self.send("\r")
        self.wait_prompt()
        self.answers[key] = self.run(command)


NET_STEPS = [
    ("a", "a_stty", "stty columns 250"),
    ("a", "a_up", "ip link set eth0 up && ip addr add 10.0.0.1/24 dev eth0 && echo up;"
                  " basename $(readlink /sys/class/net/eth0/device/driver)"),
    ("b", "b_stty", "stty columns 250"),
    ("b", "b_up", "ip link set eth0 up && ip addr add 10.0.0.2/24 dev eth0 && echo up;"
                  " basename $(readlink /sys/class/net/eth0/device/driver)"),
    # The link comes up a few seconds after `ip link set up` (e1000e's
    # autonegotiation in QEMU), and the first packet waits for ARP: one
    # ping that may wait, then the three counted.
    ("b", "ping", "for i in $(seq 1 30); do grep -q up /sys/class/net/eth0/operstate && break;"
                  " sleep 1; done; ping -c 1 -w 20 10.0.0.1 >/dev/null;"
                  " ping -c 3 10.0.0.1 | grep 'packets transmitted'"),
    ("b", "listen", "nc -l -p 5000 > /tmp/got & echo listening"),
    ("a", "send", "seq 1 {n} > /tmp/x; sha256sum /tmp/x; nc -w 3 10.0.0.2 5000 < /tmp/x;"
                  " echo sent=$?"),
    ("b", "got", "wait; sha256sum /tmp/got"),
    ("b", "b_irq", "grep eth0 /proc/interrupts"),
    ("a", "a_irq", "grep eth0 /proc/interrupts"),
]


def play_net(iommu):
    s = NetSession(iommu)
    step = "both guests ready"
    try:
        for _ in NICS:
            s.child.expect_exact("veneer-initramfs: ready", timeout=BOOT_TIMEOUT)
        for guest, key, command in NET_STEPS:
            step = f"{key} on {guest}"
            s.on(guest, key, command.format(n=NC_N))
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF, AssertionError) as e:
        s.failure = f"{step}: {type(e).__name__}"
    finally:
        s.close()
    return s


@pytest.fixture(scope="module", params=["amd-iommu", "intel-iommu,aw-bits=48"])
def net(request):
    return play_net(request.param)


def test_e1000e_bound_in_both_guests(net):
    for guest in ("a", "b"):
        assert answer(net, f"{guest}_up") == ["up", "e1000e"], info(net)


def test_ping_between_guests(net):
    assert answer(net, "ping") == ["3 packets transmitted, 3 packets received, 0% packet loss"], \
        info(net)


def test_file_moved_with_nc(net):
    import hashlib
    want = hashlib.sha256(seq_text(NC_N).encode()).hexdigest()
    assert answer(net, "send") == [f"{want}  /tmp/x", "sent=0"], info(net)
    assert answer(net, "got") == [f"{want}  /tmp/got"], info(net)


def test_nic_interrupts_are_msix_and_counted(net):
    for guest in ("a", "b"):
        lines = answer(net, f"{guest}_irq")
        assert len(lines) >= 2, info(net)
        assert all("PCI-MSI" in line for line in lines), info(net)
        assert sum(int(line.split()[1]) for line in lines) > 5, info(net)


def test_net_host_clean(net):
    assert net.failure is None, info(net)
    text = net.text
    assert "veneer: panic" not in text, info(net)
    assert "veneer: iommu: DMA fault" not in text, info(net)
    assert not re.search(r"^veneer: host: \d+ unexpected interrupts", text, re.M), info(net)
    assert "is not delivered" not in text, info(net)
