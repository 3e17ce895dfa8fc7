# SPDX-License-Identifier: MIT
"""The KVM-compatible interface, x2APIC and TSC-deadline (issue 15), on both
vendors: AMD-V under QEMU TCG, VT-x under Bochs (slow).

One boot per vendor runs the kvmpv guest three times side by side, one CPU
each:

- kvm:     declared pv=kvm: the KVM leaves, kvm-clock (against the PM timer,
           across TSC moves), the wall clock against the RTC, every other
           KVM MSR #GP, x2APIC mode, a TSC-deadline interrupt and PV EOI
           (three EOIs done by Veneer, counted in its end-of-vCPU report);
- kvmvirt: the same with clock=virtual (exit time hidden by moving the TSC
           offset: kvm-clock must not see it either);
- nokvm:   the default for a multiboot guest, the interface off: the leaves
           read 0 and every KVM MSR is #GP; x2APIC and TSC-deadline all the
           same.

The guests come from build/guests, or VENEER_GUEST_DIR.
"""

import os
import re

import pytest

from conftest import REPO_ROOT, launch

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
EMULATOR = {"amd": "qemu", "intel": "bochs"}
TIMEOUT = {"amd": 120, "intel": 600}
RUNS = {
    "kvm": "pv=kvm -- veneer=1 kvm=1",
    "kvmvirt": "pv=kvm clock=virtual -- veneer=1 kvm=1",
    "nokvm": "-- veneer=1 kvm=0",
}
BOTH = ["CPUID.1:ECX[21] x2APIC offered", "IA32_APIC_BASE.EXTD: x2APIC mode",
        "read of SELF IPI is #GP", "write of the ID is #GP", "no ICR high: #GP",
        "non-zero EOI is #GP", "SELF IPI arrives once", "ICR self IPI arrives once",
        "ICR IPI to its own x2APIC ID", "CPUID.1:ECX[24] TSC-deadline offered",
        "IA32_TSC_DEADLINE reads back", "TSC-deadline interrupt arrives",
        "not before the deadline", "IA32_TSC_DEADLINE reads 0 after it fired",
        "a deadline in the past fires at once",
        "TPR 0x57", "TPR reads back", "PPR is TPR with nothing in service",
        "TPR's class holds the interrupt back", "it waits in IRR", "TPR lowered: it arrives",
        "no longer in IRR", "two self IPIs: both arrive", "the higher vector first",
        "PPR in each handler is its vector's class", "PPR 0 after both EOIs"]
MUST_PASS = {
    "kvm": BOTH + [
        "leaf 0x40000100: KVMKVMKVM signature",
        "leaf 0x40000100: EAX reaches the timing leaf",
        "leaf 0x40000110: EAX is the TSC's kHz (kvm-clock's scale)",
        "leaf 0x40000110: EBX the APIC timer's 1 GHz, ECX EDX 0",
        "leaf 0x40000101: kvm-clock, steal time, PV EOI, PV unhalt, PV TLB flush, "
        "PV send-IPI, PV sched yield and the stable bit, nothing else",
        "leaf 0x40000101: the realtime hint (a CPU of its own)",
        "Veneer's signature still at 0x40000000",
        "KVM MSRs 0x4b564d02-ff but 0x4b564d03-04 are #GP", "old wall clock MSR 0x11 is #GP",
        "old system time MSR 0x12 is #GP", "kvm-clock outside RAM is #GP",
        "kvm-clock with bit 1 set is #GP", "time structure written (version even)",
        "PVCLOCK_TSC_STABLE set", "kvm-clock never goes back (20000 reads)",
        "kvm-clock runs with the PM timer (1%)",
        "TSC moved: the structure is written afresh",
        "TSC moved 2^40 forward: kvm-clock goes on, no jump",
        "TSC moved 2^40 back: kvm-clock goes on, no jump",
        "wall clock + kvm-clock = the RTC (2 s)", "disabled: not written again",
        "steal time: reserved bit 1 is #GP", "steal time: reserved bit 5 is #GP",
        "steal time: a structure outside RAM is #GP", "steal time enabled",
        "steal time: the MSR reads back", "steal time: written at once, version even",
        "steal time: steal 0 on a CPU of its own", "steal time: not preempted",
        "steal time disabled",
        "PV EOI with bit 1 set is #GP", "PV EOI word outside RAM is #GP", "PV EOI enabled",
        "MSR_KVM_PV_EOI_EN reads back", "PV EOI: the self IPI arrives",
        "PV EOI: its handler finds bit 0 set",
        "PV EOI: not in service after it (Veneer's EOI)",
        "PV EOI: the same vector arrives again", "PV EOI: bit 0 set again",
        "PV EOI: both interrupts arrive",
        "PV EOI: not offered with another interrupt waiting",
        "PV EOI: offered for the last one", "PV EOI: neither in service after",
        "PV EOI turned off", "PV EOI off: the bit is never set",
        "PV EOI off: the word is left alone",
        "PV send-IPI to APIC ID 0: one vCPU took it", "PV send-IPI: the interrupt arrives",
        "PV send-IPI to APIC IDs no vCPU has: none", "PV send-IPI of an INIT: refused",
        "PV send-IPI: nothing more arrives", "PV sched yield returns 0",
        "kick of APIC ID 0 returns 0", "HLT with interrupts off ends after a kick"],
    "nokvm": BOTH + ["kvm=0: leaf 0x40000100 reads 0", "kvm=0: leaf 0x40000101 reads 0",
                     "kvm=0: leaf 0x40000110 reads 0",
                     "kvm=0: KVM MSRs 0x4b564d00-ff are #GP"],
}
MUST_PASS["kvmvirt"] = MUST_PASS["kvm"]

# With APICv (VT-x, Bochs's Skylake model: the CPU delivers the x2APIC's
# interrupts of a one-vCPU guest and does its EOIs) PV EOI is not
# advertised: the guests are told so (pveoi=0) and check its MSR is #GP.
PV_EOI_CHECKS = [what for what in MUST_PASS["kvm"] if what.startswith("PV EOI")
                 or what == "MSR_KVM_PV_EOI_EN reads back"]
APICV_KVM = [what for what in MUST_PASS["kvm"] if what not in PV_EOI_CHECKS and
             not what.startswith("leaf 0x40000101: kvm-clock") and
             not what.startswith("KVM MSRs 0x4b564d02-ff")] + [
    "leaf 0x40000101: the same without PV EOI (the CPU does the EOIs)",
    "KVM MSRs 0x4b564d02-ff but 0x4b564d03 are #GP (PV EOI too)"]

# The boots: AMD-V; VT-x with APICv (the default where the CPU has it);
# VT-x with apicv=off, where the run loop delivers and PV EOI is offered.
BOOTS = {
    "amd": {"emulator": "qemu", "apicv": False},
    "intel": {"emulator": "bochs", "apicv": True},
    "intel-noapicv": {"emulator": "bochs", "apicv": False, "cmdline": "apicv=off"},
}

_runs = {}


def run_for(boot, tmp_path_factory):
    if boot not in _runs:
        spec = BOOTS[boot]
        extra = " pveoi=0" if spec["apicv"] else ""
        guests = ["%s:name=%s mem=16M %s%s" % (os.path.join(GUEST_DIR, "kvmpv.elf"), name,
                                               args, extra if name != "nokvm" else "")
                  for name, args in RUNS.items()]
        vendor = "amd" if boot == "amd" else "intel"
        _runs[boot] = launch(tmp_path_factory.mktemp("kvmpv-" + boot),
                             emulator=spec["emulator"], smp=4, memory=256,
                             timeout=TIMEOUT[vendor], guests=guests,
                             cmdline=spec.get("cmdline"))
    return _runs[boot]


@pytest.mark.parametrize("boot", [
    "amd", pytest.param("intel", marks=pytest.mark.slow),
    pytest.param("intel-noapicv", marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", list(RUNS))
def test_kvmpv_guest(boot, name, tmp_path_factory):
    result = run_for(boot, tmp_path_factory)
    apicv = BOOTS[boot]["apicv"]
    lines = [line[len("[%s] " % name):] for line in result.lines
             if line.startswith("[%s] " % name)]
    assert "veneer: panic" not in result.log, result.describe()
    assert "veneer: guest %s exited with code 0" % name in result.log, result.describe()
    assert lines and lines[-1] == "PASS", result.describe()
    must = APICV_KVM if apicv and name != "nokvm" else MUST_PASS[name]
    for what in must:
        assert "PASS: " + what in lines, "%s: no 'PASS: %s'\n%s" % (
            name, what, result.describe())
    assert not any(line.startswith("FAIL") for line in lines), result.describe()
    if boot.startswith("intel"):
        features = re.search(r"^veneer: virtualization: VT-x \((.*)\)$", result.log, re.M)
        assert features and "apicv" in features.group(1).split(", "), result.describe()
        assert ("veneer: apicv: off (apicv=off)" in result.log) == (not apicv), \
            result.describe()
    # The guest's three PV EOIs, done by Veneer, in its end-of-vCPU report;
    # none where the CPU does the EOIs.
    pv = re.findall(r"^veneer: guest %s vcpu 0 kvm: pv eois (\d+)$" % name, result.log, re.M)
    assert pv == ([] if name == "nokvm" else ["0" if apicv else "3"]), result.describe()
