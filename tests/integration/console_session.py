"""Veneer on a terminal (tools/veneer-run --interactive) under pexpect.

The one way the integration tests drive an interactive run: the launcher is
spawned in a pseudo-terminal of 50 x 200, everything it prints is kept
(ConsoleSession.text), and a test types and expects through .child. The
Linux guest's busybox shell adds run(): type a command, get its answer.
"""

import os
import re
import signal
import time

import pexpect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "tools", "veneer-run")
LINUX = os.path.join(ROOT, "build", "linux")
KERNEL = os.path.join(LINUX, "vmlinuz")
INITRAMFS = os.path.join(LINUX, "initramfs.cpio.gz")
# The busybox prompt of the initramfs (tools/fetch-linux).
PROMPT = "~ # "
# Printed after each typed command; split in the typed text, so that only
# the command's output holds it whole.
END = "__VENEER_END__"
# Instructions per emulated second of the Bochs Linux runs (tools/veneer-run
# --ips): at Bochs' default 4 MHz the kernel's 250 Hz tick leaves too
# little for the boot and the soft-lockup watchdog fires.
BOCHS_IPS = 50000000
# Typing on Bochs (LinuxShell.send): bytes at a time, and the pause after.
TYPE_CHUNK = 8
TYPE_PAUSE = 0.05


def emulator_args(vendor):
    """AMD-V: QEMU TCG with -icount; VT-x: Bochs at BOCHS_IPS."""
    if vendor == "amd":
        return ["--emulator", "qemu", "--icount"]
    return ["--emulator", "bochs", "--ips", str(BOCHS_IPS)]


def guest_lines(text, name="linux"):
    """The guest's own console lines (prefix '[NAME] ' removed)."""
    prefix = "[%s] " % name
    out = []
    for line in text.replace("\r", "").split("\n"):
        line = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line)
        if line.startswith(prefix):
            out.append(line[len(prefix):])
    return out


class ConsoleSession:
    """tools/veneer-run --interactive ARGS, and everything it printed.

    VENEER_IMAGE tests another build, as in conftest.py."""

    def __init__(self, args, timeout, cwd=ROOT):
        self.chunks = []
        command = list(args)
        if os.environ.get("VENEER_IMAGE"):
            command += ["--image", os.path.abspath(os.environ["VENEER_IMAGE"])]
        self.command = [LAUNCHER, "--interactive"] + command
        session = self

        class Sink:
            def write(self, text):
                session.chunks.append(text)

            def flush(self):
                pass

        self.child = pexpect.spawn("/usr/bin/python3", self.command, cwd=cwd,
                                   encoding="utf-8", codec_errors="replace",
                                   dimensions=(50, 200), timeout=timeout)
        self.child.logfile_read = Sink()

    @property
    def text(self):
        return "".join(self.chunks).replace("\r", "")

    def close(self):
        try:
            os.killpg(self.child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.child.close(force=True)


class LinuxShell(ConsoleSession):
    """A console session whose focus is the Linux guest's busybox shell."""

    def __init__(self, args, timeout, command_timeout, name="linux", cwd=ROOT):
        super().__init__(args, timeout, cwd=cwd)
        self.name = name
        self.command_timeout = command_timeout
        self.typed = 0  # bytes sent to the guest by run() and send()

    def wait_prompt(self, timeout=None):
        self.child.expect_exact(PROMPT, timeout=timeout or self.command_timeout)

    def send(self, text):
        """Type TEXT, counted in .typed. On Bochs in pieces of TYPE_CHUNK
        bytes, TYPE_PAUSE s apart: its 16550 drops what the pty brings
        while its 16-byte FIFO is full (QEMU's waits for room), and Veneer
        reads the console's UART only between a guest's exits when every
        CPU runs one (docs/console.md, "Input"), which a busy guest may
        leave 4 ms apart: longer than 16 bytes take at 115200 baud."""
        self.typed += len(text.encode())
        if "bochs" not in self.command:
            self.child.send(text)
            return
        for at in range(0, len(text), TYPE_CHUNK):
            if at:
                time.sleep(TYPE_PAUSE)
            self.child.send(text[at:at + TYPE_CHUNK])

    def run(self, command):
        """Type COMMAND, return its output lines (without the echo)."""
        marker = END[:4] + '""' + END[4:]
        self.send(command + "; echo " + marker + "\r")
        self.child.expect(re.escape("[%s] " % self.name) + re.escape(END))
        before = self.child.before.replace("\r", "")
        self.wait_prompt()
        lines = guest_lines(before + "\n", self.name)
        # The echo ends at the line with the quoted marker. Another
        # guest's line printed while it was echoed splits it into pieces
        # on lines of their own ("[b] ip lin", "[b] k set ..."): every line
        # up to that one is echo, never output.
        echo_end = max((i for i, line in enumerate(lines) if marker in line),
                       default=-1)
        return [line for line in lines[echo_end + 1:] if END not in line]

    def focus(self, name, tries=10):
        """Ctrl-A three times until the console names guest NAME (its shell
        is then the one run() types into), at most `tries` times."""
        if self.name == name:
            return
        for _ in range(tries):
            self.child.send("\x01\x01\x01")
            index = self.child.expect([r"input goes to guest (\S+) ",
                                       r"input goes to the operator"])
            if index == 0 and self.child.match.group(1) == name:
                self.name = name
                return
        raise AssertionError("the focus never came to guest %s" % name)
