# SPDX-License-Identifier: MIT
"""The host's PCI devices and IOMMU (issue 14; docs/passthrough.md).

amd = QEMU TCG, AMD-V backend, on a q35 machine:
  - with QEMU's intel-iommu (aw-bits=48) or amd-iommu and the `edu`
    device, `selftest=iommu` aims edu's DMA engine at a page of an IOMMU
    domain (it must arrive), at a host page outside it and, once edu is
    blocked again, at the domain's page (neither may change); on VT-d each
    blocked attempt must come back as a `veneer: iommu: DMA fault:` line
    naming the device. QEMU 7.2's amd-iommu logs no event for a failed
    translation (seen with -trace 'amdvi_*'), so there the reports are not
    required: test_amdvi.c decodes the events real units write. A guest
    then runs as usual;
  - intel-iommu with its default 39-bit tables is refused with the reason,
    and the guest still runs;
  - `log=debug` lists every PCI function, a bridge and the device behind
    it among them.
amd on QEMU's pc machine and intel (Bochs): no IOMMU, said so once; the
selftest says it was skipped; PCI found through the ports.
"""

import os
import re

import pytest

from conftest import launch

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR",
                           os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                               os.path.abspath(__file__)))), "build", "guests"))
HELLO = os.path.join(GUEST_DIR, "hello.elf") + ":name=hello"
SELFTEST_CHECKS = [
    "the domain maps one page", "edu attached to the domain",
    "transfers through the domain finish", "the domain's page read and written by DMA",
    "no fault for the domain's own page",
    "a write outside the domain leaves host memory unchanged",
    "a read outside the domain gets none of its data", "edu blocked again",
    "a blocked device's write reaches nothing"]
REPORTED = ["the write outside the domain", "the read outside the domain",
            "the blocked device's write"]
FAULT_RE = re.compile(r"^veneer: iommu: DMA fault: device (\w\w:\w\w\.\w) "
                      r"\((guest \S+|not assigned)\) (read|write) at 0x[0-9a-f]+: \S.*$")


def q35(*devices):
    args = ["-M", "q35"]
    for d in devices:
        args += ["-device", d]
    return args


def run(tmp_path, extra, cmdline="selftest=iommu", emulator="qemu"):
    result = launch(tmp_path, emulator=emulator, guests=[HELLO], cmdline=cmdline,
                    extra_qemu=extra, timeout=120 if emulator == "qemu" else 600)
    assert "veneer: panic" not in result.log, result.log
    assert "veneer: guest hello exited with code 0" in result.lines, result.log
    assert "veneer: power off: status 0" in result.lines, result.log
    return result


def edu_bdf(lines):
    for line in lines:
        m = re.match(r"^veneer: pci: (\w\w:\w\w\.\w) 1234:11e8 ", line)
        if m:
            return m.group(1)
    return None


@pytest.mark.parametrize("iommu,vendor,reports", [("intel-iommu,aw-bits=48", "VT-d", True),
                                                  ("amd-iommu", "AMD-Vi", False)])
def test_selftest_dma_confined(tmp_path, iommu, vendor, reports):
    result = run(tmp_path, q35(iommu, "edu"), cmdline="selftest=iommu log=debug")
    lines = result.lines
    assert any(re.match(r"^veneer: iommu: %s unit \S+ at 0x[0-9a-f]+: " % vendor, line)
               for line in lines), result.log
    assert "veneer: iommu: %s on, every device's DMA blocked until it is assigned" % vendor \
        in lines, result.log
    for check in SELFTEST_CHECKS:
        assert "veneer: selftest: iommu: PASS: " + check in lines, result.log
    summary = [re.match(r"^veneer: selftest: iommu: PASS \(%s, 0 failed, (\d) of 3 blocked "
                        r"transfers reported\)$" % vendor, line) for line in lines]
    summary = [m for m in summary if m]
    assert summary, result.log
    faults = [FAULT_RE.match(line) for line in lines if line.startswith("veneer: iommu: DMA")]
    assert all(faults), result.log
    if not reports:
        return
    assert summary[0].group(1) == "3", result.log
    for what in REPORTED:
        assert "veneer: selftest: iommu: PASS: " + what in lines, result.log
    # Three transfers were blocked: each is a line naming edu, the first
    # two while it was the selftest's, the last while it was nobody's.
    bdf = edu_bdf(lines)
    assert bdf and all(f.group(1) == bdf for f in faults), result.log
    owners = [f.group(2) for f in faults]
    assert "guest selftest" in owners and owners[-1] == "not assigned", result.log
    assert {"read", "write"} <= {f.group(3) for f in faults}, result.log


def test_intel_iommu_without_4_level_tables_refused(tmp_path):
    result = run(tmp_path, q35("intel-iommu", "edu"))
    assert any(line.startswith("veneer: iommu: ") and "48-bit" in line and
               line.endswith(": no device can be assigned to a guest")
               for line in result.lines), result.log
    assert not any(line.startswith("veneer: iommu: DMA fault") for line in result.lines)
    assert ("veneer: selftest: iommu: skipped: it needs an IOMMU and QEMU's edu device "
            "with its BAR 0 assigned") in result.lines, result.log


@pytest.mark.parametrize("emulator", ["qemu", pytest.param("bochs", marks=pytest.mark.slow)])
def test_no_iommu(tmp_path, emulator):
    result = run(tmp_path, [], emulator=emulator)
    lines = result.lines
    assert "veneer: iommu: none: no device can be assigned to a guest" in lines, result.log
    assert any(re.match(r"^veneer: pci: \d+ functions? on 1 bus \(ports 0xcf8, buses 0-255\)$",
                        line) for line in lines), result.log
    assert ("veneer: selftest: iommu: skipped: it needs an IOMMU and QEMU's edu device "
            "with its BAR 0 assigned") in lines, result.log


def test_pci_listing_with_a_bridge(tmp_path):
    extra = q35("pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x5",
                "e1000e,bus=rp1", "edu,addr=0x6")
    result = run(tmp_path, extra, cmdline="log=debug")
    lines = result.lines
    count = [re.match(r"^veneer: pci: (\d+) functions on 2 buses \(ECAM at 0xb0000000, "
                      r"buses 0-255\)$", line) for line in lines]
    count = [m for m in count if m]
    assert count, result.log
    described = {line.split()[2] for line in lines
                 if re.match(r"^veneer: pci: \w\w:\w\w\.\w [0-9a-f]{4}:[0-9a-f]{4} class ", line)}
    assert len(described) == int(count[0].group(1)), result.log
    assert any(re.match(r"^veneer: pci: 00:05\.0 1b36:000c class 06\.04\.00 .*"
                        r"bridge -> buses 01-01", line) for line in lines), result.log
    assert any(re.match(r"^veneer: pci: 01:00\.0 8086:10d3 class 02\.00\.00 ", line)
               for line in lines), result.log
    assert any(line.startswith("veneer: pci: 01:00.0 caps ") and "behind 00:05.0" in line
               for line in lines), result.log
    assert any(re.match(r"^veneer: pci: 00:06\.0 bar0 mem32 0x[0-9a-f]+ 1M", line)
               for line in lines), result.log
    # Without an IOMMU on this machine, nothing is turned on.
    assert "veneer: iommu: none: no device can be assigned to a guest" in lines, result.log


def test_iommu_off(tmp_path):
    """iommu=off leaves a present IOMMU alone (a real machine whose
    firmware-owned DMA must not be blocked) and says so."""
    result = run(tmp_path, q35("intel-iommu,aw-bits=48", "edu"),
                 cmdline="selftest=iommu iommu=off")
    lines = result.lines
    assert "veneer: iommu: off (iommu=off): no device can be assigned to a guest" in lines, \
        result.log
    assert not any(line.startswith("veneer: iommu: VT-d") for line in lines), result.log
    assert ("veneer: selftest: iommu: skipped: it needs an IOMMU and QEMU's edu device "
            "with its BAR 0 assigned") in lines, result.log


# ---- assignment: pci=BB:DD.F (docs/passthrough.md) ----

DMAATTACK = os.path.join(GUEST_DIR, "dmaattack.elf")
EDU = "edu,addr=0x6"  # 00:06.0 on q35 and pc
ATTACKER_PASSES = [
    "edu device 1234:11e8 on bus 0", "edu BAR0 is a memory BAR below 4 GiB",
    "edu BAR0 in the PCI window 0xc0000000-0xfebfffff",
    "memory decode and bus master enabled", "edu identification register ends in 0xed",
    "edu liveness register inverts", "DMA outside its RAM is blocked (30 addresses)",
    "DMA with bus mastering off does not reach its RAM"]


def guest_passes(lines, name, checks):
    own = [line[len(name) + 3:] for line in lines if line.startswith("[%s] " % name)]
    missing = [c for c in checks if "PASS: " + c not in own and
               not any(o.startswith("PASS: " + c) for o in own)]
    return missing


@pytest.mark.parametrize("iommu,vendor", [("intel-iommu,aw-bits=48", "VT-d"),
                                          ("amd-iommu", "AMD-Vi")])
def test_assigned_device_dma_confined(tmp_path, iommu, vendor):
    """A guest owns edu and aims its DMA inside and outside its RAM; a
    second guest's RAM, filled with a pattern, stays as it was. edu's
    registers are reached through the nested tables, without exits."""
    guests = ["%s:name=atk pci=00:06.0 -- role=attacker" % DMAATTACK,
              "%s:name=vic -- role=victim wait=12" % DMAATTACK]
    result = launch(tmp_path, guests=guests, extra_qemu=q35(iommu, EDU), timeout=180)
    lines = result.lines
    assert "veneer: panic" not in result.log, result.log
    for name in ("atk", "vic"):
        assert "veneer: guest %s exited with code 0" % name in lines, result.log
    assert not guest_passes(lines, "atk", ATTACKER_PASSES), \
        (guest_passes(lines, "atk", ATTACKER_PASSES), result.log)
    assert any(line.startswith("[atk] PASS: DMA into its own RAM works") for line in lines), \
        result.log
    assert any(line.startswith("[vic] PASS: victim's RAM intact after the wait")
               for line in lines), result.log
    faults = [FAULT_RE.match(line) for line in lines if line.startswith("veneer: iommu: DMA")]
    assert all(faults), result.log
    assert all(f.group(1) == "00:06.0" for f in faults), result.log
    if vendor == "VT-d":
        # Every blocked transfer of the guest's is named with its guest.
        assert len(faults) >= 10 and {f.group(2) for f in faults} == {"guest atk"}, result.log
    # edu's 1 MiB BAR is mapped straight into the guest: the thousands of
    # register reads its DMA waits make (and every other access) exit
    # none (this 32-bit guest touches no other MMIO).
    exits = [line for line in lines if line.startswith("veneer: guest atk vcpu 0 exits: ")]
    assert exits and "gpa-fault" not in exits[0], result.log
    assert int(exits[0].split()[6]) > 1000, result.log  # it did run
    assert "veneer: power off: status 0" in lines, result.log


@pytest.mark.parametrize("machine,pci,why", [
    ("pc", "00:06.0", "no IOMMU is on, and without one the device could write anywhere "
                      "in the machine (pci_unsafe = yes gives it anyway)"),
    ("q35-amd", "00:03.0", "it is the IOMMU"),
    ("q35-amd", "00:1f.0", "it is a host or ISA bridge"),
    ("q35-amd", "00:00.0", "it is a host or ISA bridge"),
    ("q35-amd", "00:09.0", "the host has no such function"),
    ("q35-bridge", "00:05.0", "it is a bridge, not a device")])
def test_assignment_refused(tmp_path, machine, pci, why):
    """A device that cannot be given is refused with the reason; the other
    guest runs."""
    extra = {"pc": ["-device", EDU],
             "q35-amd": q35("amd-iommu", EDU),
             "q35-bridge": q35("amd-iommu", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x5",
                               EDU)}[machine]
    guests = ["%s:name=atk pci=%s -- role=attacker" % (DMAATTACK, pci), HELLO]
    result = launch(tmp_path, guests=guests, extra_qemu=extra, timeout=120)
    lines = result.lines
    assert "veneer: guest atk: not started: pci %s: %s" % (pci, why) in lines, result.log
    assert "veneer: guest hello exited with code 0" in lines, result.log
    assert not any(line.startswith("[atk]") for line in lines), result.log
    assert "veneer: power off: status 1" in lines, result.log


def test_one_owner_per_device(tmp_path):
    guests = ["%s:name=atk pci=00:06.0 -- role=attacker" % DMAATTACK,
              "%s:name=two pci=00:06.0 -- role=attacker" % DMAATTACK]
    result = launch(tmp_path, guests=guests, extra_qemu=q35("amd-iommu", EDU), timeout=120)
    lines = result.lines
    refused = [line for line in lines if re.match(
        r"^veneer: guest (atk|two): not started: pci 00:06\.0: another guest owns it "
        r"\(guest number \d\)$", line)]
    assert len(refused) == 1, result.log
    assert sum("exited with code 0" in line for line in lines
               if line.startswith("veneer: guest ")) == 1, result.log


UNSAFE_WARNING = ("veneer: guest %s: warning: pci %s given without an IOMMU (pci_unsafe = "
                  "yes): its DMA can reach any memory of the machine")
PROBE_PASSES = ["the device on bus 0", "its class is the host function's (not 0)",
                "memory decode and bus master take"]


def test_unsafe_assignment_without_iommu(tmp_path):
    """pci_unsafe = yes gives a device on a machine without an IOMMU, with a
    warning; the guest sees it (no DMA is tried: it would go to host
    addresses)."""
    guests = ["%s:name=u pci=00:06.0 pci_unsafe=yes -- role=probe id=1234:11e8" % DMAATTACK]
    result = launch(tmp_path, guests=guests, extra_qemu=["-device", EDU], timeout=120)
    lines = result.lines
    assert UNSAFE_WARNING % ("u", "00:06.0") in lines, result.log
    assert not guest_passes(lines, "u", PROBE_PASSES), result.log
    assert "veneer: guest u exited with code 0" in lines, result.log


def test_unsafe_ignored_with_an_iommu(tmp_path):
    """Where an IOMMU is on, pci_unsafe changes nothing: the domain confines
    the device as for any guest."""
    guests = ["%s:name=atk pci=00:06.0 pci_unsafe=yes -- role=attacker" % DMAATTACK]
    result = launch(tmp_path, guests=guests, extra_qemu=q35("intel-iommu,aw-bits=48", EDU),
                    timeout=120)
    lines = result.lines
    assert not any("warning: pci" in line for line in lines), result.log
    assert not guest_passes(lines, "atk", ATTACKER_PASSES), result.log
    assert "veneer: guest atk exited with code 0" in lines, result.log


@pytest.mark.slow
def test_assignment_on_bochs(tmp_path):
    """Bochs has no IOMMU: on VT-x a device is refused, and given with
    pci_unsafe = yes (its USB controller, 00:01.2, configuration only)."""
    guests = ["%s:name=atk pci=00:01.2 -- role=probe id=8086:7020" % DMAATTACK,
              "%s:name=u pci=00:01.2 pci_unsafe=yes -- role=probe id=8086:7020" % DMAATTACK]
    result = launch(tmp_path, emulator="bochs", guests=guests, timeout=600)
    lines = result.lines
    assert ("veneer: guest atk: not started: pci 00:01.2: no IOMMU is on, and without one "
            "the device could write anywhere in the machine (pci_unsafe = yes gives it "
            "anyway)") in lines, result.log
    assert UNSAFE_WARNING % ("u", "00:01.2") in lines, result.log
    assert not guest_passes(lines, "u", PROBE_PASSES), result.log
    assert "veneer: guest u exited with code 0" in lines, result.log


@pytest.mark.parametrize("iommu", ["intel-iommu,aw-bits=48", "amd-iommu"])
def test_interrupt_message_by_dma(tmp_path, iommu):
    """A guest's device writes interrupt messages to 0xFEE00000: the host
    goes on. Both drivers turn interrupt remapping on with nothing
    remapped. AMD-Vi then aborts them (QEMU 7.2 logs no event for it): no
    interrupt may reach the host. VT-d blocks them on hardware (fault
    reason 0x25), but QEMU 7.2 ignores the CFI bit and delivers
    compatibility-format messages anyway: Veneer must then take them as
    interrupts no one asked for, count them and go on."""
    guests = ["%s:name=atk pci=00:06.0 -- role=msi" % DMAATTACK, HELLO]
    result = launch(tmp_path, guests=guests,
                    extra_qemu=q35(iommu, "edu,addr=0x6,dma_mask=0xffffffff"), timeout=120)
    lines = result.lines
    assert "veneer: panic" not in result.log, result.log
    assert "veneer: guest atk exited with code 0" in lines, result.log
    assert "veneer: guest hello exited with code 0" in lines, result.log
    assert "[atk] PASS: 4 interrupt messages sent by DMA to 0xfee00000 (vector 0x41)" in lines, \
        result.log
    strays = [line for line in lines if re.match(
        r"^veneer: host: \d+ unexpected interrupts so far \(a device's message\?\), "
        r"taken and ignored$", line)]
    blocked = [line for line in lines if line.startswith("veneer: iommu: DMA fault: device "
                                                         "00:06.0 (guest atk)")
               and "interrupt blocked" in line]
    if iommu == "amd-iommu":
        assert not strays, result.log
    else:
        assert strays or blocked, result.log
    assert "veneer: power off: status 0" in lines, result.log


# ---- the device's interrupts: MSI to the guest's local APIC (issue 14) ----

# dmaattack's role=irq (its top comment): edu's setup, then the MSI checks.
IRQ_PASSES = [
    "edu device 1234:11e8 on bus 0", "edu BAR0 is a memory BAR below 4 GiB",
    "edu BAR0 is 1 MiB", "edu BAR0 in the PCI window 0xc0000000-0xfebfffff",
    "memory decode and bus master enabled", "edu identification register ends in 0xed",
    "edu liveness register inverts", "interrupt pin reads 1 (INTA, as the host function's)",
    "edu offers an MSI capability (ID 0x05) in its list",
    "MSI capability: one message, 64-bit address, disabled at the start",
    "with MSI disabled a raise sets the status and brings no interrupt within 100 ms",
    "MSI address, data and enable read back as written",
    "16 raises bring 16 interrupts on vector 0x51, one each within 1000 ms",
    "a DMA transfer with command bit 0x4 brings one interrupt with status 0x100",
    "after the data is changed to vector 0x52 a raise arrives on 0x52 and none on 0x51",
    "with bus mastering off a raise sets the status and brings no interrupt within 100 ms",
    "with MSI disabled again a raise sets the status and brings no interrupt within 100 ms",
    "with INTx disabled a raise sets the status and brings no interrupt within 100 ms",
    "the status register's Interrupt Status bit follows the line",
    "8 raises by INTx bring 8 interrupts on vector 0x53 through its I/O APIC, one each",
    "no interrupt on any other vector", "MSI and bus mastering off at the end"]


@pytest.mark.parametrize("iommu", [pytest.param("intel-iommu,aw-bits=48", id="vt-d"),
                                   pytest.param("amd-iommu", id="amd-vi"),
                                   pytest.param(None, id="no-iommu-pci-unsafe")])
def test_device_interrupts(tmp_path, iommu):
    """A guest that owns edu programs its MSI capability with its own APIC
    ID and a vector: every interrupt edu raises arrives once on that
    vector, none with MSI disabled or bus mastering off, none on the old
    vector once the data changed; with MSI off, INTx through its I/O APIC
    (Veneer polls the function's Interrupt Status bit); the host takes none
    of them itself.
    Without an IOMMU the device is given with pci_unsafe = yes, and the
    guest's DMA only reads (dma=read): a write would go to host
    addresses."""
    edu = "edu,addr=0x6,dma_mask=0xffffffff"
    if iommu:
        guest = "%s:name=irq pci=00:06.0 -- role=irq" % DMAATTACK
        extra = q35(iommu, edu)
    else:
        guest = "%s:name=irq pci=00:06.0 pci_unsafe=yes -- role=irq dma=read" % DMAATTACK
        extra = q35(edu)
    result = launch(tmp_path, guests=[guest, HELLO], extra_qemu=extra, timeout=120)
    lines = result.lines
    assert "veneer: panic" not in result.log, result.log
    if not iommu:
        assert "veneer: iommu: none: no device can be assigned to a guest" in lines, result.log
        assert UNSAFE_WARNING % ("irq", "00:06.0") in lines, result.log
    fails = [line for line in lines if line.startswith("[irq] FAIL")]
    assert not fails, (fails, result.log)
    missing = guest_passes(lines, "irq", IRQ_PASSES)
    assert not missing, (missing, result.log)
    assert "veneer: guest irq exited with code 0" in lines, result.log
    assert "veneer: guest hello exited with code 0" in lines, result.log
    # Every interrupt was the guest's: none reached the host unasked.
    assert not any(re.match(r"^veneer: host: \d+ unexpected interrupts", line)
                   for line in lines), result.log
    assert not any(line.startswith("veneer: iommu: DMA fault") for line in lines), result.log
    assert "veneer: power off: status 0" in lines, result.log
