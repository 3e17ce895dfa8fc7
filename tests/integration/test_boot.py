# SPDX-License-Identifier: MIT
"""Boot Veneer with no guests on every loader and emulator it supports.

Each boot must bring up the CPUs it was given, report its virtualization
extension and a plausible amount of memory, and power off with status 0.
"""

import pytest

from conftest import assert_clean_boot

MEMORY_MIB = 512
# A TCG boot takes a few seconds; Bochs' BIOS + GRUB + the hypervisor, more.
QEMU_TIMEOUT_S = 60
BOCHS_TIMEOUT_S = 300

AMD_V_RE = r"^veneer: virtualization: AMD-V \((.*)\)$"
VT_X_RE = r"^veneer: virtualization: VT-x \((.*)\)$"


def assert_amd_v_with_npt(result):
    features = result.value(AMD_V_RE).replace(",", " ").split()
    assert "npt" in features, result.describe()


@pytest.mark.parametrize("smp", [1, 4])
def test_qemu_kernel_boot_brings_up_every_cpu(run_veneer, smp):
    result = run_veneer(boot="kernel", smp=smp, memory=MEMORY_MIB, timeout=QEMU_TIMEOUT_S)
    assert_clean_boot(result, smp=smp, memory_mib=MEMORY_MIB)
    assert_amd_v_with_npt(result)


@pytest.mark.parametrize("multiboot", [2, 1])
def test_grub_bios_boot(run_veneer, multiboot):
    result = run_veneer(boot="iso", multiboot=multiboot, smp=2, memory=MEMORY_MIB,
                        timeout=QEMU_TIMEOUT_S)
    assert_clean_boot(result, smp=2, memory_mib=MEMORY_MIB)
    assert_amd_v_with_npt(result)


@pytest.mark.slow
def test_grub_uefi_boot(run_veneer):
    result = run_veneer(boot="uefi", smp=2, memory=MEMORY_MIB, timeout=QEMU_TIMEOUT_S)
    assert_clean_boot(result, smp=2, memory_mib=MEMORY_MIB)
    assert_amd_v_with_npt(result)


@pytest.mark.slow
def test_bochs_boot_uses_vt_x_with_ept(run_veneer):
    result = run_veneer(emulator="bochs", smp=2, memory=MEMORY_MIB, timeout=BOCHS_TIMEOUT_S)
    assert_clean_boot(result, smp=2, memory_mib=MEMORY_MIB)
    features = result.value(VT_X_RE).replace(",", " ").split()
    for needed in ("ept", "vpid", "unrestricted"):
        assert needed in features, result.describe()


def test_unknown_command_line_option_is_named_and_stops_cleanly(run_veneer):
    result = run_veneer(boot="kernel", smp=1, cmdline="bogus=1", timeout=QEMU_TIMEOUT_S)
    info = result.describe()
    assert result.status != 124, "the hypervisor hung on a bad option\n" + info
    assert result.lines_matching(r"^veneer: .*bogus"), info
    powered_off = result.lines_matching(r"^veneer: power off: status [1-9]\d*$")
    assert powered_off, "a bad option must stop with a non-zero status\n" + info
    assert result.status in (1, 3), info


def test_no_acpi_falls_back_to_one_cpu_and_says_so(run_veneer):
    result = run_veneer(boot="kernel", smp=2, memory=MEMORY_MIB, timeout=QEMU_TIMEOUT_S,
                        extra_qemu=["-machine", "pc,acpi=off"])
    info = result.describe()
    assert result.lines_matching(r"^veneer: no usable ACPI MADT \(.+\): starting one CPU$"), info
    assert result.value(r"^veneer: cpus online: (\d+)$") == "1", info
    assert result.status == 0, info


@pytest.mark.parametrize("emulator", ["qemu", "bochs"])
def test_host_exception_prints_registers_and_stops(run_veneer, emulator):
    timeout = QEMU_TIMEOUT_S if emulator == "qemu" else BOCHS_TIMEOUT_S
    result = run_veneer(emulator=emulator, smp=1, memory=MEMORY_MIB, timeout=timeout,
                        cmdline="selftest=fault")
    info = result.describe()
    assert result.lines_matching(
        r"^veneer: host exception 6 \(#UD invalid opcode\) on cpu 0, error code 0x0$"), info
    assert result.lines_matching(r"^  rip [0-9a-f]{16} cs 0008 "), info
    assert result.lines_matching(r"^  rax [0-9a-f]{16} rbx "), info
    assert result.lines_matching(r"^  backtrace:( 0x[0-9a-f]+)+$"), info
    assert result.lines_matching(r"^veneer: panic: host exception 6 "), info
    assert result.value(r"^veneer: power off: status (\d+)$") == "3", info
