# SPDX-License-Identifier: MIT
"""Shared fixtures: boot Veneer through tools/veneer-run and look at its log.

Every integration test boots through the same launcher people use, so a
failing test can be replayed by hand: the result carries the exact command.
"""

import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(REPO_ROOT, "tools", "veneer-run")
# VENEER_IMAGE tests another build of the hypervisor with the same suite.
IMAGE = os.path.abspath(os.environ.get("VENEER_IMAGE",
                                       os.path.join(REPO_ROOT, "build", "veneer.elf")))

# Headroom over the launcher's own --timeout for building the ISO and tearing
# the emulator down, so a hang is reported by the launcher (status 124), not
# by this harness.
HARNESS_SLACK_S = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a boot that takes more than a few seconds "
                                       "(Bochs, UEFI); deselect with -m 'not slow'")


@dataclass(repr=False)
class RunResult:
    status: int
    log: str
    stderr: str
    command: list
    seconds: float
    lines: list = field(default_factory=list)

    def __repr__(self):
        # pytest shows this in assertion failures; describe() has the detail.
        return "RunResult(status=%d, %d lines)" % (self.status, len(self.lines))

    def lines_matching(self, pattern):
        regex = re.compile(pattern)
        return [line for line in self.lines if regex.search(line)]

    def value(self, pattern):
        """The first group of the first line matching PATTERN (a regex)."""
        regex = re.compile(pattern)
        for line in self.lines:
            match = regex.search(line)
            if match:
                return match.group(1)
        raise AssertionError("no line matches %r\n%s" % (pattern, self.describe()))

    def describe(self):
        """What a failure message needs: how to replay it and how it ended."""
        tail = "\n".join(self.lines[-40:])
        return ("command: %s\nexit status %d after %.1f s\n--- serial log (last 40 lines)\n"
                "%s\n--- launcher stderr\n%s" % (shlex.join(self.command), self.status,
                                                 self.seconds, tail, self.stderr.strip()))


def own_lines(result, name):
    """Guest NAME's console lines in RESULT, its "[NAME] " tag taken off."""
    prefix = "[%s] " % name
    return [line[len(prefix):] for line in result.lines if line.startswith(prefix)]


def own_text(result, name):
    """The guest's lines run together: the console may cut a slow guest's
    line in two (docs/boot-log.md, "Guest output"), so checks search this."""
    return "".join(own_lines(result, name))


def launcher_arguments(options):
    """Keyword options -> veneer-run arguments (see docs/launcher.md).

    Lists (guests, modules, extra_qemu) repeat their option; True flags are
    bare options; names use '_' for '-'."""
    arguments = []
    repeated = {"guests": "--guest", "modules": "--module", "extra_qemu": "--extra-qemu"}
    for key, value in options.items():
        if key in repeated:
            # "--opt=value", so a value that starts with '-' stays a value.
            arguments += ["%s=%s" % (repeated[key], item) for item in value]
        elif value is True:
            arguments.append("--" + key.replace("_", "-"))
        elif value is not False and value is not None:
            arguments.append("--%s=%s" % (key.replace("_", "-"), value))
    return arguments


def launch(tmp_path, **options):
    if "image" not in options and not os.path.isfile(IMAGE):
        pytest.fail("%s is missing: run make first" % IMAGE)
    options.setdefault("timeout", 120)
    options.setdefault("image", IMAGE)
    log_path = tmp_path / ("serial-%d.log" % time.monotonic_ns())
    command = ["/usr/bin/python3", LAUNCHER, "--log", str(log_path)] + launcher_arguments(options)
    started = time.monotonic()
    try:
        completed = subprocess.run(command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=int(options["timeout"]) + HARNESS_SLACK_S)
    except subprocess.TimeoutExpired:
        pytest.fail("veneer-run itself hung: %s" % shlex.join(command))
    seconds = time.monotonic() - started
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    return RunResult(status=completed.returncode, log=log,
                     stderr=completed.stderr.decode("utf-8", errors="replace"),
                     command=command, seconds=seconds, lines=log.splitlines())


@pytest.fixture
def run_veneer(tmp_path):
    """run_veneer(**options) -> RunResult with .status, .log, .lines.

    Options are veneer-run's, e.g. run_veneer(emulator="bochs", smp=2,
    guests=["build/guests/cpuid.elf:name=cpuid"]). Each run's duration is
    printed, so `pytest -s` or the -v report shows what each boot costs."""

    def run(**options):
        result = launch(tmp_path, **options)
        print("veneer-run took %.1f s, exit status %d" % (result.seconds, result.status))
        return result

    return run


# ---- checks most boot tests share

def assert_clean_boot(result, smp, memory_mib):
    """The boot-log promises of docs/boot-log.md for a run with no guests."""
    info = result.describe()
    assert not result.lines_matching(r"^veneer: panic:"), info
    assert int(result.value(r"^veneer: cpus online: (\d+)$")) == smp, info
    usable = int(result.value(r"^veneer: memory: (\d+) MiB usable$"))
    # Firmware, the BIOS areas and the hypervisor itself take some memory;
    # nothing can make more usable than the machine has.
    assert memory_mib // 2 <= usable <= memory_mib, info
    assert result.lines_matching(r"^veneer: power off: status 0$"), info
    assert result.status == 0, info
