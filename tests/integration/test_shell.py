# SPDX-License-Identifier: MIT
"""Console focus and the operator shell (issue 12), on both vendors.

Two echo guests (tests/guests/echo.c answer every line they read with
`echo NAME: got 'LINE'`) run side by side; the test types on the serial
line through tools/veneer-run --interactive, as a person would:

- input goes to the first guest; Ctrl-A three times moves it to the second,
  then to the operator shell, then back to the first (docs/console.md);
- fewer than three Ctrl-A reach the guest as bytes (it shows them as ^A);
- the shell's commands: help, list, stats, mem, cpus, restart (the guest
  boots again and answers), stop of a guest that spins with interrupts off
  and makes no exit at all (only the kick of its CPU can end its run), bad
  commands and arguments (one line each, nothing happens);
- the other guest keeps running throughout and ends normally.
"""

import os
import re
import signal
import time

import pexpect
import pytest

from conftest import IMAGE, REPO_ROOT

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
ECHO = os.path.join(GUEST_DIR, "echo.elf")
EMULATOR = {"amd": "qemu", "intel": "bochs"}
# One step (type, wait for the answer): generous for Bochs.
STEP_TIMEOUT = {"amd": 60, "intel": 300}
FOCUS = "\x01\x01\x01"
PROMPT = "veneer> "


class Console:
    def __init__(self, vendor):
        self.vendor = vendor
        self.chunks = []
        args = [os.path.join(REPO_ROOT, "tools", "veneer-run"), "--interactive",
                "--emulator", EMULATOR[vendor], "--smp", "3", "--memory", "256",
                "--image", IMAGE,
                "--guest", "%s:name=one mem=4M -- tag=one" % ECHO,
                "--guest", "%s:name=two mem=4M -- tag=two" % ECHO]
        self.argv = args
        sink_owner = self

        class Sink:
            def write(self, text):
                sink_owner.chunks.append(text)

            def flush(self):
                pass

        self.child = pexpect.spawn("/usr/bin/python3", args, cwd=REPO_ROOT, encoding="utf-8",
                                   codec_errors="replace", timeout=STEP_TIMEOUT[vendor])
        self.child.logfile_read = Sink()

    @property
    def text(self):
        return "".join(self.chunks).replace("\r", "")

    def type(self, text):
        # One byte at a time, as a person types: the 16550 FIFOs are small.
        for ch in text:
            self.child.send(ch)
            time.sleep(0.01)

    def expect(self, pattern):
        self.child.expect(pattern)
        return self.child.before.replace("\r", "")

    def shell(self, line):
        """Type a shell command; return what it printed before the prompt."""
        self.type(line + "\r")
        # The echo of the whole line (redrawn whole if other lines came
        # between the keys), then the output up to the next prompt.
        self.child.expect(re.escape(line) + r"\r*\n")
        self.child.expect_exact(PROMPT)
        return self.child.before.replace("\r", "")

    def wait_text(self, text):
        """Until TEXT is anywhere in the console output so far."""
        deadline = time.monotonic() + STEP_TIMEOUT[self.vendor]
        while text not in self.text:
            if time.monotonic() > deadline:
                raise pexpect.TIMEOUT("no '%s'" % text)
            try:
                self.child.expect(pexpect.TIMEOUT, timeout=0.2)
            except pexpect.EOF:
                raise

    def close(self):
        try:
            os.killpg(self.child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.child.close(force=True)


def play(vendor):
    """The whole session; every step's output is kept by name. Never raises:
    a failed step is recorded for the tests to report."""
    c = Console(vendor)
    seen = {}
    step = "boot"
    try:
        c.expect(r"veneer: console: input goes to guest one \(Ctrl-A three times moves on\)")
        # The guests may say so before or after the focus line.
        c.wait_text("[one] echo one: ready for input")
        c.wait_text("[two] echo two: ready for input")
        step = "input to the first guest"
        c.type("hello one\r")
        c.expect(r"\[one\] echo one: got 'hello one'")
        step = "focus to the second guest"
        c.type(FOCUS)
        c.expect(r"veneer: console: input goes to guest two")
        c.type("hello two\r")
        c.expect(r"\[two\] echo two: got 'hello two'")
        step = "one or two Ctrl-A are the guest's"
        c.type("\x01a\x01\x01b\r")
        c.expect(r"\[two\] echo two: got '\^Aa\^A\^Ab'")
        step = "focus to the shell"
        c.type(FOCUS)
        c.expect(r"veneer: console: input goes to the operator shell")
        c.child.expect_exact(PROMPT)
        for command in ["help", "list", "stats two", "mem", "cpus", "bogus", "stop",
                        "stop nobody", "list extra", "stop one two"]:
            step = "shell: " + command
            seen[command] = c.shell(command)
        step = "shell: restart one"
        c.type("restart one\r")
        c.expect(r"veneer: guest one rebooting \(1\)")
        c.expect(r"\[one\] echo one: ready for input")
        seen["list after restart"] = c.shell("list")
        step = "back to the first guest"
        c.type(FOCUS)
        c.expect(r"veneer: console: input goes to guest one")
        c.type("busy\r")
        c.expect(r"\[one\] echo one: busy")
        step = "stop a guest that makes no exit"
        c.type(FOCUS + FOCUS)
        c.expect(r"veneer: console: input goes to the operator shell")
        c.child.expect_exact(PROMPT)
        c.type("stop one\r")
        c.expect(r"veneer: guest one stopped: stopped by the operator")
        c.expect(r"veneer: guest one vcpu 0 exits: ")
        step = "mem after the stop"
        seen["mem after stop"] = c.shell("mem")
        step = "the other guest still answers and ends"
        # The focus skips guests that ended: one Ctrl-A triple reaches two.
        c.type(FOCUS)
        c.expect(r"veneer: console: input goes to guest two")
        c.type("still there\r")
        c.expect(r"\[two\] echo two: got 'still there'")
        c.type("quit\r")
        c.expect(r"veneer: guest two exited with code 0")
        c.expect(r"veneer: power off: status 1")
        c.child.expect(pexpect.EOF)
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        seen["failure"] = "step '%s': %s" % (step, type(e).__name__)
    finally:
        c.close()
    seen["log"] = c.text
    seen["command"] = " ".join(c.argv)
    return seen


@pytest.fixture(scope="module", params=["amd", pytest.param("intel", marks=pytest.mark.slow)])
def session(request):
    if not os.path.isfile(ECHO):
        pytest.fail("%s is missing: run make guests" % ECHO)
    return play(request.param)


def info(session):
    return "%s\n--- replay: %s\n--- console:\n%s" % (
        session.get("failure", ""), session["command"], session["log"][-6000:])


def test_the_whole_session_ran(session):
    """Every step got its answer: focus moves, shell, restart, stop, the end."""
    assert "failure" not in session, info(session)


def test_help_lists_every_command(session):
    out = session.get("help", "")
    for command in ["help", "list", "stats NAME", "stop NAME", "restart NAME", "mem", "cpus"]:
        assert command in out, info(session)


def test_list_shows_both_guests(session):
    out = session.get("list", "")
    assert re.search(r"^one +running +\d+ +4 M +\d+:\d\d +0$", out, re.M), info(session)
    assert re.search(r"^two +running +\d+ +4 M +\d+:\d\d +0$", out, re.M), info(session)
    after = session.get("list after restart", "")
    assert re.search(r"^one +running +\d+ +4 M +\d+:\d\d +1$", after, re.M), info(session)


def test_stats_mem_and_cpus(session):
    assert re.search(r"^veneer: guest two vcpu 0 exits: \d+ io=\d+", session.get("stats two", ""),
                     re.M), info(session)
    mem = session.get("mem", "")
    assert re.search(r"guest one +\d+ KiB \(RAM 4 MiB", mem), info(session)
    assert re.search(r"free +\d+ KiB", mem), info(session)
    cpus = session.get("cpus", "")
    assert "guest one" in cpus and "guest two" in cpus and "idle" in cpus, info(session)


def test_a_stopped_guest_gives_its_memory_back(session):
    """mem after stop: the guest holds nothing, and that much more is free."""
    before, after = session.get("mem", ""), session.get("mem after stop", "")
    free = [re.search(r"free +(\d+) KiB", text) for text in (before, after)]
    assert all(free), info(session)
    assert re.search(r"guest one +0 KiB", after), info(session)
    held = re.search(r"guest one +(\d+) KiB", before)
    assert held, info(session)
    assert int(free[1].group(1)) >= int(free[0].group(1)) + int(held.group(1)), info(session)


def test_bad_commands_get_one_line_each(session):
    expected = {
        "bogus": "bogus: unknown command (help lists the commands)",
        "stop": "stop: which guest? (stop NAME; list shows the names)",
        "stop nobody": "stop: no guest is called 'nobody' (list shows the names)",
        "list extra": "list: takes no argument (not 'extra')",
        "stop one two": "stop: too many words (help lists the commands)",
    }
    for command, line in expected.items():
        assert session.get(command, "").strip() == line, info(session)


def test_no_hypervisor_line_continues_the_prompt(session):
    """Hypervisor lines start at a line start even while the prompt is open."""
    assert not re.search(r"veneer> .*veneer: ", session["log"]), info(session)
