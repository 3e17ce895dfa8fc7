"""Three guests from one configuration file at once, typed into (issue 12).

AMD-V (QEMU, -icount): two Debian Linux guests and a test kernel; VT-x
(Bochs): one Linux guest and two test kernels. All from one configuration
file (docs/config.md), both Linux guests booted from the same two modules.
The console's input goes to the first guest; Ctrl-A three times moves it
on (docs/console.md). Each Linux guest answers a command typed while it has
the focus, in lines tagged with its own name, and the other never sees the
command; the test kernels run to their PASS beside them; every Linux guest
powers off when told, and the run ends with every guest ok.
"""

import hashlib
import os
import re
import time

import pexpect
import pytest

from console_session import INITRAMFS, KERNEL, LinuxShell, emulator_args, guest_lines

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(
    os.path.dirname(KERNEL), os.pardir, "guests"))

# vendor -> (Linux guests, test kernels, host CPUs, machine MiB, Linux MiB)
SETUP = {
    "amd": (["alpha", "beta"], ["cpuid"], 4, 768, 192),
    "intel": (["alpha"], ["cpuid", "hello"], 3, 512, 192),
}
BOOT_TIMEOUT = {"amd": 600, "intel": 2400}
COMMAND_TIMEOUT = {"amd": 240, "intel": 900}
SEQ_N = {"amd": 20000, "intel": 3000}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.path.exists(KERNEL) and os.path.exists(INITRAMFS)),
                       reason="run tools/fetch-linux (make test does) to get the Debian kernel"),
]


def config_text(vendor):
    linux, kernels, _, _, mib = SETUP[vendor]
    text = ""
    for name in linux:
        text += ("[guest %s]\nkernel = vmlinuz\ninitrd = initramfs.cpio.gz\nmem = %dM\n"
                 "cmdline = \"console=ttyS0\"\n\n" % (name, mib))
    for name in kernels:
        text += "[guest %s]\nkernel = %s.elf\nmem = 8M\ncmdline = veneer=1\n\n" % (name, name)
    return text


class Multi(LinuxShell):
    """The run on a terminal; the shell of Linux guest `name` is typed into
    while it has the focus."""

    def __init__(self, vendor, config):
        linux, kernels, cpus, machine, _ = SETUP[vendor]
        args = ["--smp", str(cpus), "--memory", str(machine), "--config", config,
                "--module", KERNEL, "--module", INITRAMFS]
        for k in kernels:
            args += ["--module", os.path.join(GUEST_DIR, k + ".elf")]
        super().__init__(args + emulator_args(vendor), COMMAND_TIMEOUT[vendor],
                         COMMAND_TIMEOUT[vendor], name=linux[0])
        self.vendor = vendor

    def wait_prompt(self, timeout=None):
        # Every Linux guest has the same prompt: this one's, tagged.
        self.child.expect_exact("[%s] ~ # " % self.name,
                                timeout=timeout or self.command_timeout)


def seq_sha256(n):
    return hashlib.sha256("".join("%d\n" % i for i in range(1, n + 1)).encode()).hexdigest()


def play(vendor, tmp_path):
    """Boot, wait for every prompt, type into each Linux guest, power them
    off. Returns (session, answers, failure or None)."""
    config = tmp_path / "multi.cfg"
    config.write_text(config_text(vendor))
    s = Multi(vendor, str(config))
    linux = SETUP[vendor][0]
    answers = {}
    step = "boot"
    try:
        started = time.monotonic()
        prompts = ["[%s] ~ # " % name for name in linux]
        seen = set()
        while len(seen) < len(linux):
            step = "the prompts of %s (seen: %s)" % (", ".join(linux), sorted(seen))
            seen.add(linux[s.child.expect_exact(prompts, timeout=BOOT_TIMEOUT[vendor])])
        answers["boot seconds"] = time.monotonic() - started
        for name in linux:
            step = "typing into %s" % name
            s.focus(name)
            answers[name] = {"mark": s.run("echo typed-into-%s" % name),
                             "uname": s.run("uname -r"),
                             "sum": s.run("seq 1 %d | sha256sum" % SEQ_N[vendor])}
        for name in linux:
            step = "powering %s off" % name
            s.focus(name)
            s.child.send("poweroff -f\r")
            s.child.expect_exact("veneer: guest %s powered off (ACPI S5)" % name)
        step = "the end of the run"
        s.child.expect(pexpect.EOF, timeout=COMMAND_TIMEOUT[vendor])
        s.child.close()
        answers["status"] = s.child.exitstatus
        return s, answers, None
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        s.close()
        return s, answers, "%s: %s" % (step, type(e).__name__)


@pytest.mark.parametrize("vendor", ["amd", "intel"])
def test_three_guests_from_one_config(vendor, tmp_path):
    s, answers, failure = play(vendor, tmp_path)
    linux, kernels, _, _, _ = SETUP[vendor]
    text = s.text
    info = "command: %s\nfailure: %s\nanswers: %r\n---- console (last 6000) ----\n%s" % (
        " ".join(s.command), failure, answers, text[-6000:])
    assert failure is None, info
    n = len(linux) + len(kernels)
    assert re.search(r"^veneer: config: \S*multi\.cfg: %d guests$" % n, text, re.M), info
    for name in linux + kernels:
        assert re.search(r"^veneer: guest %s started on cpu \d+$" % name, text, re.M), info
    for name in kernels:
        own = guest_lines(text, name)
        assert own and own[-1] == "PASS", "%s did not pass\n%s" % (name, info)
        assert "veneer: guest %s exited with code 0" % name in text, info
    release = open(os.path.join(os.path.dirname(KERNEL), "version")).read().strip()
    for name in linux:
        got = answers[name]
        # The guest's own answers, in lines tagged with its name.
        assert release in got["uname"], info
        assert [line for line in got["sum"] if line.startswith(seq_sha256(SEQ_N[vendor]))], info
        assert "veneer: guest %s exited with code 0" % name in text, info
        # What was typed into one Linux guest reached it and no other.
        assert "typed-into-%s" % name in got["mark"], info
        for other in linux + kernels:
            if other != name:
                assert not [line for line in guest_lines(text, other)
                            if "typed-into-%s" % name in line], info
    assert not re.search(r"^veneer: guest \S+ stopped", text, re.M), info
    assert not re.search(r"^veneer: panic", text, re.M), info
    assert re.search(r"^veneer: all guests ended: %d ok, 0 failed$" % n, text, re.M), info
    assert answers["status"] == 0, info
