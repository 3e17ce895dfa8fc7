"""The unmodified Debian kernel as a guest, on both vendors.

Boots build/linux/vmlinuz (Debian's linux-image-amd64) with the busybox
initramfs (tools/fetch-linux) under Veneer and judges the serial console,
which carries the kernel's whole log (console=ttyS0): the kernel version,
no kernel splats or MSR faults, a calibrated TSC, the devices found, and the
shell's prompt. AMD-V runs on QEMU TCG with -icount, so the guest's clock
counts instructions and the emulated exit path's cost does not leak into
it; VT-x runs in Bochs, whose clock already does.

Typing into the shell (uname -r, /proc, a workload, poweroff, reboot) is
exercised by hand with `make run` but is not a CI test yet: serial input
under QEMU -icount stalls intermittently (see the issue notes).
"""

import os
import re
import time

import pexpect
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINUX = os.path.join(ROOT, "build", "linux")
KERNEL = os.path.join(LINUX, "vmlinuz")
INITRAMFS = os.path.join(LINUX, "initramfs.cpio.gz")
MEM_MIB = 256
# The shell's banner: complete lines (the launcher streams whole lines).
PROMPT = r"\[linux\] Enter 'help' for a list of built-in commands\."
# Boot-to-prompt budgets: seconds on QEMU TCG, minutes in Bochs (the
# kernel's own decompression is about a minute there).
BOOT_TIMEOUT = {"amd": 240, "intel": 1200}

pytestmark = pytest.mark.skipif(
    not (os.path.exists(KERNEL) and os.path.exists(INITRAMFS)),
    reason="run tools/fetch-linux (make test does) to get the Debian kernel")


def boot_to_prompt(vendor):
    args = [os.path.join(ROOT, "tools", "veneer-run"), "--smp", "2",
            "--memory", "512", "--timeout", str(BOOT_TIMEOUT[vendor] + 60),
            "--guest", f"{KERNEL}:name=linux mem={MEM_MIB}M -- console=ttyS0",
            "--module", f"{INITRAMFS}:for=linux"]
    args += ["--emulator", "qemu", "--icount"] if vendor == "amd" else \
        ["--emulator", "bochs"]
    log = []

    class Sink:
        def write(self, text):
            log.append(text)

        def flush(self):
            pass

    child = pexpect.spawn("/usr/bin/python3", args, cwd=ROOT, encoding="utf-8",
                          codec_errors="replace", timeout=BOOT_TIMEOUT[vendor])
    child.logfile_read = Sink()
    started = time.monotonic()
    try:
        child.expect(PROMPT)
        reached = True
    except (pexpect.TIMEOUT, pexpect.EOF):
        reached = False
    seconds = time.monotonic() - started
    child.terminate(force=True)
    return reached, "".join(log).replace("\r", ""), seconds


def expected_release():
    with open(os.path.join(LINUX, "version")) as f:
        return f.read().strip()


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["amd", "intel"])
def test_debian_kernel_boots_to_its_shell(vendor):
    reached, text, seconds = boot_to_prompt(vendor)
    info = f"---- console after {seconds:.0f} s (last 8000 chars) ----\n" + text[-8000:]
    assert reached, "no shell banner\n" + info
    kernel = "\n".join(line[len("[linux] "):] for line in text.split("\n")
                       if line.startswith("[linux] "))
    assert "veneer: guest linux started on cpu" in text, info
    assert f"Linux version {expected_release()} " in kernel, info
    # Kernel splats, MSR faults, failed clock calibration. An advisory like
    # "RETBleed: WARNING: ... vulnerable" about the CPU model is no splat.
    for bad in ("BUG:", "WARNING: CPU", "Call Trace", "unchecked MSR access",
                "cut here", "Kernel panic"):
        assert bad not in kernel, f"the kernel log has {bad!r}\n{info}"
    assert not re.search(r"calibrat\w* (failed|not consistent)|Unable to calibrate",
                         kernel), info
    assert re.search(r"tsc: Detected [\d.]+ MHz", kernel), info
    # The platform the kernel found: ACPI tables, IOAPIC routing, the UART.
    assert "ACPI: RSDP 0x00000000000E0000" in kernel, info
    assert "IOAPIC[0]: apic_id 0, version 17, address 0xfec00000" in kernel, info
    assert "ttyS0 at I/O 0x3f8 (irq = 4" in kernel, info
    assert "veneer-initramfs: ready" in kernel, info
    assert "veneer: guest linux stopped" not in text, info
