# SPDX-License-Identifier: MIT
"""A guest that owns a physical serial port (issue 12, "Consoles"), on both
vendors (AMD-V under QEMU, VT-x under Bochs).

Two echo guests (tests/guests/echo.c: each line read is answered with
`echo NAME: got 'LINE'`) from one configuration file: `port` has
`console = com2`, `main` the hypervisor console. tools/veneer-run attaches
the emulator's COM2 to a TCP server of this test (--com2 tcp:HOST:PORT) and
runs the console on a pseudo-terminal (--interactive), so the test writes
and reads both lines, as a person at two serial cables would
(docs/console.md, "A serial port of its own"):

- port's output appears on COM2 as it is (no [NAME] tag, CR LF as the
  guest sent them) and never on the console; it answers what COM2 sends;
- main's output appears on the console, tagged, and never on COM2; it
  answers what is typed on the console, which never reaches port;
- the focus ring has main and the operator shell only: Ctrl-A three times
  goes from main to the shell and back; the shell's `list` shows both,
  port with `com2` in its console column;
- `[veneer] color = on`: main's tag is in its colour (slot 1), Veneer's own
  lines have none, and COM2 carries no colour either.

And the refusals: a port no emulator attached (com3: no UART answers) stops
only that guest, by name, when it is created; Veneer's own console port
and a port given twice are configuration errors, and nothing starts.
"""

import os
import re
import socket
import threading
import time

import pexpect
import pytest

from conftest import REPO_ROOT
from console_session import ConsoleSession

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
ECHO = os.path.join(GUEST_DIR, "echo.elf")
HELLO = os.path.join(GUEST_DIR, "hello.elf")
EMULATOR = {"amd": "qemu", "intel": "bochs"}
VENDORS = ["amd", pytest.param("intel", marks=pytest.mark.slow)]
STEP_TIMEOUT = {"amd": 60, "intel": 180}
FOCUS = "\x01\x01\x01"
ESC = "\x1b"
# Slot 1's colour (core/tagcolor.c: the second guest created), then SGR 0.
MAIN_TAG = ESC + "[36m[main]" + ESC + "[0m "

CONFIG = """\
[veneer]
color = on

[guest port]
kernel = echo.elf
mem = 4M
cmdline = "tag=port"
console = com2

[guest main]
kernel = echo.elf
mem = 4M
cmdline = "tag=main"
"""


class Com2:
    """The test's end of the emulator's COM2: a TCP server the emulator
    connects to, and every byte it sent so far."""

    def __init__(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.conn = None
        self.data = b""
        self.lock = threading.Lock()
        self.thread = None

    def accept(self, timeout):
        self.server.settimeout(timeout)
        self.conn, _ = self.server.accept()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                chunk = self.conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    @property
    def text(self):
        with self.lock:
            return self.data.decode("utf-8", errors="replace")

    def send(self, text):
        # A byte at a time with a pause, as a person types: the emulated
        # 16550's receive FIFO holds 16 bytes.
        for ch in text.encode():
            self.conn.sendall(bytes([ch]))
            time.sleep(0.01)

    def wait(self, text, timeout):
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() > deadline:
                raise pexpect.TIMEOUT("COM2: no %r" % text)
            time.sleep(0.05)

    def close(self):
        for s in (self.conn, self.server):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def play(vendor, tmp_path):
    """The whole session; what each line carried is kept. Never raises: a
    failed step is recorded for the tests to report."""
    config = tmp_path / "serialport.cfg"
    config.write_text(CONFIG)
    com2 = Com2()
    args = ["--emulator", EMULATOR[vendor], "--smp", "2", "--memory", "128",
            "--config", str(config), "--module", ECHO,
            "--com2", "tcp:127.0.0.1:%d" % com2.port]

    def console():
        return session.text

    def console_wait(text):
        deadline = time.monotonic() + STEP_TIMEOUT[vendor]
        while text not in console():
            if time.monotonic() > deadline:
                raise pexpect.TIMEOUT("console: no %r" % text)
            try:
                child.expect(pexpect.TIMEOUT, timeout=0.2)
            except pexpect.EOF:
                # The run ended: what it printed last is all there is.
                if text not in console():
                    raise

    def type_text(text):
        for ch in text:
            child.send(ch)
            time.sleep(0.01)

    step = "boot"
    session = ConsoleSession(args, STEP_TIMEOUT[vendor])
    child = session.child
    seen = {"command": " ".join(session.command)}
    try:
        step = "the emulator connects COM2"
        com2.accept(STEP_TIMEOUT[vendor])
        step = "both guests ready"
        com2.wait("echo port: ready for input\r\n", STEP_TIMEOUT[vendor])
        console_wait("echo main: ready for input")
        console_wait("veneer: console: input goes to guest main")
        step = "COM2 input reaches port"
        com2.send("hello com2\r")
        com2.wait("echo port: got 'hello com2'\r\n", STEP_TIMEOUT[vendor])
        step = "console input reaches main"
        type_text("hello main\r")
        console_wait("echo main: got 'hello main'")
        step = "the focus ring: main, the shell, main"
        type_text(FOCUS)
        console_wait("veneer: console: input goes to the operator shell")
        step = "the shell lists port, with its port"
        mark = len(console())
        type_text("list\r")
        console_wait(" com2\n")
        seen["list"] = console()[mark:]
        mark = len(console())
        type_text(FOCUS)
        deadline = time.monotonic() + STEP_TIMEOUT[vendor]
        while "veneer: console: input goes to guest main" not in console()[mark:]:
            if time.monotonic() > deadline:
                raise pexpect.TIMEOUT("focus did not come back to main")
            child.expect(pexpect.TIMEOUT, timeout=0.2)
        type_text("again\r")
        console_wait("echo main: got 'again'")
        step = "port ends from COM2"
        com2.send("quit\r")
        com2.wait("echo port: bye\r\n", STEP_TIMEOUT[vendor])
        console_wait("veneer: guest port exited with code 0")
        step = "main ends from the console"
        type_text("quit\r")
        console_wait("veneer: power off: status 0")
        if child.isalive():
            child.expect(pexpect.EOF)
        step = None
    except (pexpect.TIMEOUT, pexpect.EOF, OSError) as e:
        seen["failure"] = "step '%s': %s %s" % (step, type(e).__name__, e)
    finally:
        session.close()
        com2.close()
    seen["console"] = console()
    seen["com2"] = com2.text
    return seen


@pytest.fixture(scope="module", params=VENDORS)
def session(request, tmp_path_factory):
    if not os.path.isfile(ECHO):
        pytest.fail("%s is missing: run make guests" % ECHO)
    return play(request.param, tmp_path_factory.mktemp("serialport"))


def info(session):
    return "%s\n--- replay: %s\n--- console:\n%s\n--- COM2:\n%r" % (
        session.get("failure", ""), session["command"], session["console"][-3000:],
        session["com2"][-2000:])


def test_the_session_ran(session):
    assert "failure" not in session, info(session)


def test_port_output_goes_out_on_com2_as_it_is(session):
    com2 = session["com2"]
    # Raw bytes: the guest's CR LF, no tag, no colour.
    assert com2.startswith("echo port: ready for input\r\n"), info(session)
    assert "echo port: got 'hello com2'\r\n" in com2, info(session)
    assert "[port]" not in com2 and ESC not in com2, info(session)
    # Nothing of the other guest or of Veneer.
    assert "main" not in com2 and "veneer" not in com2, info(session)


def test_port_output_never_reaches_the_console(session):
    console = session["console"]
    assert "echo port" not in console, info(session)
    assert "[port]" not in console, info(session)
    # What COM2 sent never reached the console's guest or the shell.
    assert "hello com2" not in console, info(session)


def test_console_input_never_reaches_the_port(session):
    com2 = session["com2"]
    assert "hello main" not in com2 and "again" not in com2, info(session)
    assert "echo main: got 'hello main'" in session["console"], info(session)


def test_the_focus_ring_has_no_port_guest(session):
    console = session["console"]
    assert "veneer: guest port: console on com2 (0x2f8, 115200 baud 8N1)" in console, \
        info(session)
    focus = re.findall(r"veneer: console: input goes to (guest \S+|the operator shell)",
                       console)
    assert focus == ["guest main", "the operator shell", "guest main"], info(session)


def test_the_shell_lists_the_port_guest(session):
    """Not in the focus ring, but the shell has it, with its port."""
    out = session.get("list", "")
    assert re.search(r"^port +running +\d+ +\d+ M +\d+:\d\d +0 +com2$", out, re.M), info(session)
    assert re.search(r"^main +running +\d+ +\d+ M +\d+:\d\d +0 +veneer$", out, re.M), \
        info(session)


def test_tags_in_colour_and_veneer_lines_plain(session):
    console = session["console"]
    lines = console.split("\n")
    assert MAIN_TAG + "echo main: got 'hello main'" in lines, info(session)
    # Every guest line is coloured; Veneer's lines never are.
    assert "[main] " not in console, info(session)
    for line in lines:
        if "echo main" in line:
            assert line.startswith(MAIN_TAG), info(session)
        if line.startswith("veneer: "):
            assert ESC not in line, info(session)
    assert any(line.startswith("veneer: guest main started") for line in lines), \
        info(session)


# ---- refusals

def boot(run_veneer, tmp_path, vendor, config_text, modules, smp=2, **options):
    config = tmp_path / "ports.cfg"
    config.write_text(config_text)
    return run_veneer(emulator=EMULATOR[vendor], smp=smp, memory=128, config=str(config),
                      modules=modules, timeout=STEP_TIMEOUT[vendor] * 2, **options)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_port_with_no_uart_stops_only_its_guest(run_veneer, tmp_path, vendor):
    result = boot(run_veneer, tmp_path, vendor, """\
[guest lost]
kernel = hello.elf
mem = 4M
console = com3

[guest hello]
kernel = hello.elf
mem = 4M
cmdline = veneer=1
""", [HELLO])
    info = result.describe()
    assert result.lines_matching(
        r"^veneer: guest lost: not started: console: com3 \(0x3e8\): no serial port "
        r"there \(its (line status register reads 0xff|scratch register does not keep "
        r"what is written)\)$"), info
    assert result.lines_matching(r"^\[hello\] PASS$"), info
    assert result.lines_matching(r"^veneer: guest hello exited with code 0$"), info
    assert result.status == 1, info


@pytest.mark.parametrize("vendor", VENDORS)
def test_veneer_console_and_a_shared_port_are_refused(run_veneer, tmp_path, vendor):
    result = boot(run_veneer, tmp_path, vendor, """\
[guest a]
kernel = hello.elf
console = com1
mem = 4M

[guest b]
kernel = hello.elf
console = ttyS1
mem = 4M

[guest c]
kernel = hello.elf
console = com2
mem = 4M

[guest d]
kernel = hello.elf
console = com5
mem = 4M
""", [HELLO], smp=4, com2="file:" + str(tmp_path / "com2.out"))
    info = result.describe()
    file = r"^veneer: config: /?boot/ports\.cfg:"
    assert result.lines_matching(
        file + r"3: guest a: console: com1 \(0x3f8\) is Veneer's own console"), info
    assert result.lines_matching(
        file + r"13: guest c: console: com2 \(0x2f8\) is already guest b's \(line 8\): "
               r"one guest per port$"), info
    assert result.lines_matching(
        file + r"18: guest d: console: 'com5' is not hypervisor or a serial port "
               r"com1-com4 \(ttyS0-ttyS3\)$"), info
    assert result.lines_matching(r"^veneer: config: /?boot/ports\.cfg: 3 errors: no guest "
                                 r"started$"), info
    assert not result.lines_matching(r"^\[") and not result.lines_matching("started on cpu"), info
    assert result.status == 1, info
