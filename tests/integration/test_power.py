"""The machine is switched off by ACPI S5 when no emulator exit port exists.

Veneer ends a run through QEMU's isa-debug-exit port or Bochs' shutdown
port when they are there (the test harness relies on those for the exit
status); on a real machine neither exists, and power_off() then writes
SLP_TYP | SLP_EN to the FADT's PM1a_CNT with the DSDT's \\_S5 values.
QEMU started by hand without isa-debug-exit is such a machine: its PIIX4
(pc) or ICH9 (q35) power management powers it off, and QEMU exits by itself.
Without ACPI (-no-acpi) Veneer says at boot that it cannot, and halts.
"""

import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.path.join(ROOT, "build", "veneer.elf")


def boot(machine_args, wait_after_power_off_s):
    """Boot with no guests; return (lines, exited_by_itself)."""
    command = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "256",
               "-display", "none", "-monitor", "none", "-no-reboot", "-serial", "stdio",
               "-kernel", IMAGE] + machine_args
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace")
    lines = []
    deadline = time.monotonic() + 60
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\r\n"))
            if line.startswith("veneer: power off: status"):
                deadline = time.monotonic() + wait_after_power_off_s
                break
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
            return lines, True
        except subprocess.TimeoutExpired:
            return lines, False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("machine", ["pc", "q35"])
def test_acpi_s5_switches_the_machine_off(machine):
    lines, exited = boot(["-M", machine], 30)
    log = "\n".join(lines)
    assert "veneer: acpi: power off by S5 through PM1a_CNT 0x604 (SLP_TYP 0)" in lines, log
    assert "veneer: power off: status 0" in lines, log
    assert exited, "QEMU still ran 30 s after the power-off line\n" + log


def test_without_acpi_veneer_says_so_and_halts():
    lines, exited = boot(["-no-acpi"], 5)
    log = "\n".join(lines)
    assert any(line.startswith("veneer: acpi: no S5 power off (") and
               line.endswith("): the machine will halt instead") for line in lines), log
    assert "veneer: power off: status 0" in lines, log
    assert not exited, "QEMU exited without ACPI\n" + log
