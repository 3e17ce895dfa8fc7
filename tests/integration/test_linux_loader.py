"""Veneer's Linux loader (core/linux.c) run on the host, the kernel on bare QEMU.

tools/linux-loader-boot builds the loader into a host program, lets it lay
out the Debian kernel, initramfs, command line and boot_params, has QEMU
put those bytes at the same guest-physical addresses and enters the kernel
by the 64-bit or the 32-bit boot protocol from a small stub. The shell must
come up with the right release, command line, initrd and e820 map (the tool
checks them and exits non-zero otherwise). This separates loader bugs from
hypervisor bugs, and keeps the tool itself building.
"""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "build", "linux", "vmlinuz")

pytestmark = pytest.mark.skipif(not os.path.exists(KERNEL),
                                reason="run tools/fetch-linux (make test does) to get the "
                                       "Debian kernel")


@pytest.mark.parametrize("entry", ["64", "32"])
def test_loader_layout_boots_the_kernel(entry):
    tool = os.path.join(ROOT, "tools", "linux-loader-boot")
    done = subprocess.run(["/usr/bin/python3", tool, "--entry", entry], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    with open(os.path.join(ROOT, "build", "linux", "version")) as f:
        release = f.read().strip()
    assert f"{entry}-bit entry: shell after" in out, out
    assert f"uname -r = {release}, command line, initrd and e820 as loaded" in out, out
