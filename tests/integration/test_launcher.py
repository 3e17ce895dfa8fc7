# SPDX-License-Identifier: MIT
"""tools/veneer-run itself: refusals name what is wrong, timeouts end runs."""

EXIT_LAUNCHER_ERROR = 2
EXIT_TIMEOUT = 124


def test_missing_guest_file_is_named(run_veneer):
    result = run_veneer(guests=["build/guests/no-such-guest.elf:name=x"], timeout=10)
    assert result.status == EXIT_LAUNCHER_ERROR, result.describe()
    assert "no-such-guest.elf" in result.stderr, result.describe()


def test_missing_image_says_to_build(run_veneer):
    result = run_veneer(image="build/no-such-image.elf", timeout=10)
    assert result.status == EXIT_LAUNCHER_ERROR, result.describe()
    assert "no-such-image.elf" in result.stderr, result.describe()


def test_quotes_that_grub_would_rewrite_are_refused(run_veneer):
    result = run_veneer(cmdline='label="a b"', timeout=10)
    assert result.status == EXIT_LAUNCHER_ERROR, result.describe()
    assert "--cmdline" in result.stderr, result.describe()


def test_bochs_refuses_uefi(run_veneer):
    result = run_veneer(emulator="bochs", boot="uefi", timeout=10)
    assert result.status == EXIT_LAUNCHER_ERROR, result.describe()
    assert "--boot uefi" in result.stderr, result.describe()


def test_ips_is_for_bochs_only(run_veneer):
    result = run_veneer(emulator="qemu", ips=50000000, timeout=10)
    assert result.status == EXIT_LAUNCHER_ERROR, result.describe()
    assert "--ips applies to Bochs only" in result.stderr, result.describe()


def test_timeout_stops_the_emulator(run_veneer):
    # -S keeps QEMU's CPUs stopped, so the run can only end by the timeout.
    result = run_veneer(extra_qemu=["-S"], timeout=1)
    assert result.status == EXIT_TIMEOUT, result.describe()
    assert "timeout after 1 s" in result.stderr, result.describe()
    assert not result.lines_matching(r"^veneer: power off"), result.describe()


def test_build_iso_writes_a_bootable_image(tmp_path, run_veneer):
    iso = tmp_path / "veneer.iso"
    result = run_veneer(build_iso=str(iso), timeout=60)
    assert result.status == 0, result.describe()
    with open(iso, "rb") as image:
        image.seek(0x1FE)  # the MBR boot signature of GRUB's hybrid image (USB sticks)
        assert image.read(2) == b"\x55\xaa"
        image.seek(0x8001)  # ISO 9660 primary volume descriptor identifier
        assert image.read(5) == b"CD001"
