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

A second session boots two echo guests from a configuration file, the
second with `start = later` and two vCPUs (one of them on the boot CPU):
it waits, on the CPUs kept for it, until `start two`; it runs again after
the operator's stop and after it exited (memory taken again, fresh
images, both vCPUs on their CPUs); `log error` hides the lines that
narrate a guest's life and `log debug` adds detail, while guest output
always shows; the run still ends with `2 ok` and status 0
(docs/console.md, "Starting a guest", "Log levels").
"""

import os
import re
import time

import pexpect
import pytest

from conftest import IMAGE, REPO_ROOT
from console_session import ConsoleSession

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
ECHO = os.path.join(GUEST_DIR, "echo.elf")
EMULATOR = {"amd": "qemu", "intel": "bochs"}
# One step (type, wait for the answer): generous for Bochs.
STEP_TIMEOUT = {"amd": 60, "intel": 300}
FOCUS = "\x01\x01\x01"
PROMPT = "veneer> "


class Console(ConsoleSession):
    """The interactive run with two echo guests (or LAUNCH's arguments)."""

    def __init__(self, vendor, launch=None):
        self.vendor = vendor
        args = ["--emulator", EMULATOR[vendor], "--smp", "3", "--memory", "256",
                "--image", IMAGE]
        args += launch or ["--guest", "%s:name=one mem=4M -- tag=one" % ECHO,
                           "--guest", "%s:name=two mem=4M -- tag=two" % ECHO]
        super().__init__(args, STEP_TIMEOUT[vendor], cwd=REPO_ROOT)

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

    def wait_count(self, text, count):
        """Until TEXT appears COUNT times in the console output so far."""
        deadline = time.monotonic() + STEP_TIMEOUT[self.vendor]
        while self.text.count(text) < count:
            if time.monotonic() > deadline:
                raise pexpect.TIMEOUT("'%s' %d times" % (text, count))
            self.child.expect(pexpect.TIMEOUT, timeout=0.2)

    def since(self, mark):
        """The console output after position MARK of self.text."""
        return self.text[mark:]



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
        # Bad input: a line over 79 characters is refused whole; control
        # bytes (none the terminal or the focus ring acts on) and
        # non-ASCII (UTF-8 here) are dropped from the line.
        step = "shell: a line of 100 characters"
        c.type("l" * 100 + "\r")
        seen["too long"] = c.expect(r"line too long: at most 79 characters")
        c.child.expect_exact(PROMPT)
        step = "shell: binary bytes around cpus"
        c.type("\x02c\x80p\u00ffu\x07s\x0e\x1b\r")
        seen["binary"] = c.expect(r"veneer> ")
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
    seen["command"] = " ".join(c.command)
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
    assert re.search(r"^one +running +\d+ +4 M +\d+:\d\d +0 +veneer$", out, re.M), info(session)
    assert re.search(r"^two +running +\d+ +4 M +\d+:\d\d +0 +veneer$", out, re.M), info(session)
    after = session.get("list after restart", "")
    assert re.search(r"^one +running +\d+ +4 M +\d+:\d\d +1 +veneer$", after, re.M), info(session)


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


def test_too_long_and_binary_input(session):
    """A 100-character line gets one refusal and runs nothing; a line with
    control and non-ASCII bytes in it runs what is left (cpus)."""
    assert "too long" in session and "unknown command" not in session["too long"], \
        info(session)
    assert "binary" in session, info(session)
    assert re.search(r"cpus\s*\n", session["binary"]), info(session)
    assert "unknown command" not in session["binary"], info(session)
    assert session["binary"].count("cpu") >= 2, info(session)


def test_no_hypervisor_line_continues_the_prompt(session):
    """Hypervisor lines start at a line start even while the prompt is open."""
    assert not re.search(r"veneer> .*veneer: ", session["log"]), info(session)


# ---- start = later, start after an end, log levels (docs/console.md) ----

# Guest two has two vCPUs: on QEMU vCPU 0 waits on CPU 2 and vCPU 1 on the
# boot CPU; on Bochs the other way round, so that the boot CPU is the one
# that waits for the start (and polls the console meanwhile).
TWO_CPUS = {"amd": (2, 0), "intel": (0, 2)}
LATER_CONFIG = """\
[guest one]
kernel = echo.elf
mem = 4M
cpu = 1
cmdline = tag=one

[guest two]
kernel = echo.elf
mem = 4M
vcpus = 2
cpu = %d, %d
start = later
cmdline = tag=two
"""
READY_TWO = "[two] echo two: ready for input"


def start(c, name):
    """`start NAME`, again while the guest's CPUs still give back what it
    held (the shell then says it is still ending); its answer."""
    for _ in range(20):
        out = c.shell("start " + name)
        if "is still ending" not in out:
            return out
        time.sleep(0.5)
    return out


def play_later(vendor, config_path):
    """The start = later session; never raises (see play())."""
    c = Console(vendor, ["--smp", "3", "--config", config_path, "--module", ECHO])
    seen = {}
    step = "boot"
    cpu = TWO_CPUS[vendor][0]
    try:
        c.expect(r"veneer: console: input goes to guest one \(Ctrl-A three times moves on\)")
        c.wait_text("veneer: guest two: start = later: it waits on cpu %d for start two in "
                    "the shell" % cpu)
        c.wait_text("veneer: guest two vcpu 1 on cpu %d, waiting for a SIPI" % TWO_CPUS[vendor][1])
        c.wait_text("[one] echo one: ready for input")
        step = "focus to the shell, past the waiting guest"
        c.type(FOCUS)
        c.expect(r"veneer: console: input goes to the operator shell")
        c.child.expect_exact(PROMPT)
        seen["boot"] = c.text
        for command in ["list", "cpus", "stop two", "restart two", "start one"]:
            step = "shell: " + command
            seen["waiting: " + command] = c.shell(command)
        step = "start two (start = later)"
        seen["start two"] = start(c, "two")
        c.wait_text("veneer: guest two started on cpu %d" % cpu)
        c.wait_count(READY_TWO, 1)
        seen["list started"] = c.shell("list")
        step = "stop two, then start it again"
        c.shell("stop two")
        c.wait_text("veneer: guest two stopped: stopped by the operator")
        c.wait_text("veneer: guest two vcpu 0 exits: ")
        seen["mem stopped"] = c.shell("mem")
        seen["list stopped"] = c.shell("list")
        mark = len(c.text)
        start(c, "two")
        c.wait_count(READY_TWO, 2)
        step = "two answers, then exits"
        c.type(FOCUS + FOCUS)
        c.expect(r"veneer: console: input goes to guest two")
        c.type("hello two\r")
        c.expect(r"\[two\] echo two: got 'hello two'")
        seen["restart after stop"] = c.since(mark)
        c.type("quit\r")
        c.expect(r"veneer: guest two exited with code 0")
        c.type(FOCUS)
        c.expect(r"veneer: console: input goes to the operator shell")
        c.child.expect_exact(PROMPT)
        step = "log"
        seen["log"] = c.shell("log")
        seen["log error"] = c.shell("log error")
        step = "start two at log error"
        mark = len(c.text)
        start(c, "two")
        c.wait_count(READY_TWO, 3)
        # Veneer's lines of the start come before the guest's first.
        c.shell("list")
        seen["start at error"] = c.since(mark)
        step = "restart, stop and start two at log debug"
        c.shell("log debug")
        mark = len(c.text)
        c.shell("restart two")
        c.wait_count(READY_TWO, 4)
        c.shell("stop two")
        c.wait_text("veneer: guest two: ended for good: ")
        start(c, "two")
        c.wait_count(READY_TWO, 5)
        seen["restart at debug"] = c.since(mark)
        c.shell("log info")
        seen["list at end"] = c.shell("list")
        step = "both guests quit"
        c.type(FOCUS + FOCUS)
        c.expect(r"veneer: console: input goes to guest two")
        c.type("quit\r")
        c.expect(r"veneer: guest two exited with code 0")
        c.type(FOCUS + FOCUS)
        c.expect(r"veneer: console: input goes to guest one")
        c.type("quit\r")
        c.expect(r"veneer: guest one exited with code 0")
        c.expect(r"veneer: all guests ended: 2 ok, 0 failed")
        c.expect(r"veneer: power off: status 0")
        c.child.expect(pexpect.EOF)
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        seen["failure"] = "step '%s': %s" % (step, type(e).__name__)
    finally:
        c.close()
    seen["log text"] = c.text
    seen["command"] = " ".join(c.command)
    seen["cpus"] = TWO_CPUS[vendor]
    return seen


@pytest.fixture(scope="module", params=["amd", pytest.param("intel", marks=pytest.mark.slow)])
def later(request, tmp_path_factory):
    if not os.path.isfile(ECHO):
        pytest.fail("%s is missing: run make guests" % ECHO)
    config = tmp_path_factory.mktemp("later") / "later.cfg"
    config.write_text(LATER_CONFIG % TWO_CPUS[request.param])
    return play_later(request.param, str(config))


def answer(out):
    """A shell command's own answer: the line that is not a hypervisor line
    of a guest's CPU (one may be printed before the next prompt)."""
    lines = [line.strip() for line in out.splitlines()
             if line.strip() and not line.startswith(("veneer: ", "["))]
    return "\n".join(lines)


def later_info(session):
    return "%s\n--- replay: %s\n--- console:\n%s" % (
        session.get("failure", ""), session["command"], session["log text"][-6000:])


def test_later_session_ran(later):
    """Every step got its answer, and Veneer powered off with status 0."""
    assert "failure" not in later, later_info(later)


def test_a_later_guest_waits_until_start(later):
    info, (cpu, ap_cpu) = later_info(later), later["cpus"]
    boot = later.get("boot", "")
    # Created and placed at boot, but silent: no start, no output.
    assert re.search(r"^veneer: guest two: 4 MiB RAM", boot, re.M), info
    assert "veneer: guest two started" not in boot, info
    assert "[two]" not in boot, info
    assert re.search(r"^two +waiting +%d,%d +4 M +0:00 +0 +veneer$" % (cpu, ap_cpu),
                     later.get("waiting: list", ""), re.M), info
    cpus = later.get("waiting: cpus", "")
    assert "cpu %d: kept for guest two vcpu 0 (waiting)" % cpu in cpus, info
    assert "cpu %d: kept for guest two vcpu 1 (waiting)" % ap_cpu in cpus, info
    expected = {
        "waiting: stop two": "stop: guest two has not started (start two runs it)",
        "waiting: restart two": "restart: guest two has not started (start two runs it)",
        "waiting: start one": "start: guest one runs already (restart one reloads it)",
        "start two": "start: guest two is asked to start (on cpu %d)" % cpu,
    }
    for command, line in expected.items():
        assert answer(later.get(command, "")) == line, info
    assert re.search(r"^two +running +%d,%d +4 M +\d+:\d\d +0 +veneer$" % (cpu, ap_cpu),
                     later.get("list started", ""), re.M), info


def test_start_after_the_operators_stop_and_after_an_exit(later):
    """Memory given back at the end and taken again at start; fresh images,
    both vCPUs on the CPUs kept for the guest."""
    info, (cpu, ap_cpu) = later_info(later), later["cpus"]
    assert re.search(r"guest two +0 KiB", later.get("mem stopped", "")), info
    assert re.search(r"^two +stopped +%d,%d +0 M " % (cpu, ap_cpu), later.get("list stopped", ""),
                     re.M), info
    again = later.get("restart after stop", "")
    assert "start: guest two is asked to start (on cpu %d)" % cpu in again, info
    assert re.search(r"^veneer: guest two: 4 MiB RAM, overhead", again, re.M), info
    assert re.search(r"^veneer: guest two: 2 vCPUs$", again, re.M), info
    assert re.search(r"^veneer: guest two started on cpu %d$" % cpu, again, re.M), info
    assert re.search(r"^veneer: guest two vcpu 1 on cpu %d, waiting for a SIPI$" % ap_cpu,
                     again, re.M), info
    assert READY_TWO in again, info
    # Started four times after its first start, and reloaded once.
    assert re.search(r"^two +running +%d,%d +4 M +\d+:\d\d +4 +veneer$" % (cpu, ap_cpu),
                     later.get("list at end", ""), re.M), info


def test_log_levels_change_what_is_printed(later):
    info, (cpu, ap_cpu) = later_info(later), later["cpus"]
    assert answer(later.get("log", "")) == \
        "log: level info (log error, log info or log debug changes it)", info
    assert answer(later.get("log error", "")) == "log: level error from now on", info
    quiet = later.get("start at error", "")
    # The guest's output always; Veneer's narration of its start not.
    assert READY_TWO in quiet, info
    assert "start: guest two is asked to start" in quiet, info
    assert "veneer: guest two started on cpu" not in quiet, info
    assert "MiB RAM, overhead" not in quiet, info
    assert "waiting for a SIPI" not in quiet, info
    loud = later.get("restart at debug", "")
    assert READY_TWO in loud, info
    for line in [r"veneer: shell: kick cpu %d \(guest two vcpu 0\)" % cpu,
                 r"veneer: shell: kick cpu %d \(guest two vcpu 1\)" % ap_cpu,
                 r"veneer: guest two rebooting \(\d+\)",
                 r"veneer: guest two: ended for good: \d+ KiB back to the pool; "
                 r"cpu %d waits for start two" % cpu,
                 r"veneer: guest two: start taken on cpu %d" % cpu,
                 r"veneer: guest two started on cpu %d" % cpu]:
        assert re.search("^" + line + "$", loud, re.M), "%s\n%s" % (line, info)
    # Back at info by the end: the guests' ends are narrated again.
    assert re.search(r"^veneer: guest one vcpu 0 exits: ", later["log text"], re.M), info
