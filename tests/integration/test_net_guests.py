# SPDX-License-Identifier: MIT
"""virtio-net and the switch between guests, on both vendors, with test
kernels (docs/devices.md, "virtio-net (device type 1, 5.1) and the switch").

One boot per vendor (amd: QEMU -icount, intel: Bochs): three netpeer guests
(tests/guests/netpeer.c) from one configuration file, each with `devices =
virtio-net` and a host CPU of its own, driving its NIC with MSI-X:

- pinger (the MAC of its declaration) probes the echo guest every 10 ms
  until it answers (the echo sets its NIC up 100 ms late), then sends it
  COUNT pings of 60 to 1514 bytes and checks every echo byte for byte;
  between them a frame with a forged source MAC, one to a MAC no guest has,
  and frames of 1515 and 13 bytes: none may come back, and the pings after
  each must. Last it sends a multicast frame and broadcasts the stop.
- echo (the MAC of its declaration) sends every probe and ping back; it
  fails if a frame the switch or the device must drop reaches it.
- watcher (the MAC Veneer gives the third guest) counts what reaches it:
  the multicast frame and the stop broadcast, no unicast for another MAC.
  It tells the pinger it is ready by unicast, so the stop never comes
  before its buffers are posted.

Every guest must pass and exit 0, the run end with all three ok and no
device needing a reset. Veneer's statistics line of each NIC must count
what its driver says it did: the forged frame and the one to nobody
dropped by the switch, the two of a bad size as bad, the probes that came
before the echo's NIC was up as "no buffer", the watcher's rx the
multicast and the broadcast alone, every notification written as a kick.
(tests/integration/test_net.py runs Debian Linux guests, on AMD-V only.)
"""

import os
import re

import pytest

from conftest import REPO_ROOT, launch, own_lines, own_text
from console_session import BOCHS_IPS

GUEST_DIR = os.environ.get("VENEER_GUEST_DIR", os.path.join(REPO_ROOT, "build", "guests"))
KERNEL = os.path.join(GUEST_DIR, "netpeer.elf")
TIMEOUT = {"amd": 120, "intel": 600}
COUNT = {"amd": 200, "intel": 200}  # Bochs: about 0.2 s of guest time
CPUS = 4  # one per guest, and the boot CPU
ECHO_DELAY_MS = 100  # the pinger probes every 10 ms
PINGER_MAC = "02:00:00:00:01:01"
ECHO_MAC = "02:00:00:00:01:02"
WATCHER_MAC = "02:56:4e:00:00:03"  # Veneer's, for the third guest declared
# name -> (MAC in the configuration or None, MAC the NIC has, command line)
GUESTS = {
    "pinger": (PINGER_MAC, PINGER_MAC,
               "role=ping peer=%s count={count} watchers=1" % ECHO_MAC),
    # Up late, so that the pinger's first probes find no NIC to take them.
    "echo": (ECHO_MAC, ECHO_MAC, "role=echo delay=%d" % ECHO_DELAY_MS),
    "watcher": (None, WATCHER_MAC, "role=watch report=%s" % PINGER_MAC),
}
ROLE = {"pinger": "ping", "echo": "echo", "watcher": "watch"}
NIC_LINE = re.compile(
    r"^veneer: guest (\S+) virtio-net (\S+): rx (\d+) frames \(\d+ KiB\), tx (\d+) frames "
    r"\(\d+ KiB\), dropped: rx (\d+) no buffer, (\d+) too big, tx (\d+) bad, (\d+) by the "
    r"switch; kicks (\d+), interrupts (\d+)(, needs reset)?$")
NIC_FIELDS = ("mac", "rx", "tx", "rx_no_buffer", "rx_too_big", "tx_bad", "tx_switch",
              "kicks", "interrupts", "needs_reset")


def config_text(vendor):
    text = ""
    for name, (mac, _, cmdline) in GUESTS.items():
        text += ("[guest %s]\nkernel = netpeer.elf\nmem = 8M\ndevices = virtio-net\n"
                 "cmdline = \"veneer=1 %s\"\n" % (name, cmdline.format(count=COUNT[vendor])))
        if mac:
            text += "mac = %s\n" % mac
        text += "\n"
    return text


@pytest.fixture(scope="module", params=["amd", pytest.param("intel", marks=pytest.mark.slow)])
def run(request, tmp_path_factory):
    vendor = request.param
    directory = tmp_path_factory.mktemp("net-guests-" + vendor)
    config = directory / "net.cfg"
    config.write_text(config_text(vendor))
    emulator = {"emulator": "qemu", "icount": True} if vendor == "amd" else \
        {"emulator": "bochs", "ips": BOCHS_IPS}
    result = launch(directory, smp=CPUS, timeout=TIMEOUT[vendor], config=str(config),
                    modules=[KERNEL], **emulator)
    print("%s: veneer-run took %.1f s, exit status %d" % (vendor, result.seconds, result.status))
    return vendor, result


def said(result, name, pattern):
    """The groups of the guest's first line matching PATTERN, as numbers
    where they are digits."""
    found = re.search(pattern, own_text(result, name))
    assert found, "guest %s never said %r\n%s" % (name, pattern, result.describe())
    return [int(g) if g.isdigit() else g for g in found.groups()]


def nic_stats(result):
    """name -> the fields of Veneer's statistics line for its NIC."""
    stats = {}
    for line in result.lines:
        m = NIC_LINE.match(line)
        if m:
            values = [int(g) if g and g.isdigit() else g for g in m.groups()[1:]]
            stats[m.group(1)] = dict(zip(NIC_FIELDS, values))
    return stats


def test_run_ends_cleanly(run):
    _, result = run
    info = result.describe()
    assert not result.lines_matching(r"^veneer: panic"), info
    assert not result.lines_matching(r"needs a reset"), info
    assert not result.lines_matching(r"^veneer: guest \S+ stopped"), info
    assert result.lines_matching(r"^veneer: config: \S*net\.cfg: 3 guests$"), info
    assert result.lines_matching(r"^veneer: all guests ended: 3 ok, 0 failed$"), info
    assert result.lines_matching(r"^veneer: power off: status 0$"), info
    assert result.status == 0, info


@pytest.mark.parametrize("name", list(GUESTS))
def test_guest_passes(run, name):
    _, result = run
    info = result.describe()
    own = own_lines(result, name)
    assert own, "guest %s printed nothing\n%s" % (name, info)
    assert not [line for line in own if "FAIL" in line], info
    assert own[-1] == "PASS", "last line of %s is %r\n%s" % (name, own[-1], info)
    assert result.lines_matching(r"^veneer: guest %s exited with code 0$" % name), info


@pytest.mark.parametrize("name", list(GUESTS))
def test_mac_as_declared_or_given_by_veneer(run, name):
    _, result = run
    mac = GUESTS[name][1]
    assert result.lines_matching(r"^veneer: guest %s: virtio-net %s, PCI 00:06\.0$"
                                 % (name, mac)), result.describe()
    # What the guest's driver read from the device configuration (5.1.4).
    assert said(result, name, r"netpeer: (\w+) on 00:06\.0, MAC (\S+),") == [ROLE[name], mac], \
        result.describe()


def test_every_ping_echoed(run):
    vendor, result = run
    info = result.describe()
    assert said(result, "pinger", r"netpeer: (\d+) frames echoed") == [COUNT[vendor]], info
    answers, = said(result, "pinger", r"received \d+ \((\d+) probe answers")
    # The echo answered each probe that reached it and every ping, no more.
    assert said(result, "echo", r"netpeer: echoed (\d+)") == [COUNT[vendor] + answers], info


def test_watcher_saw_only_the_multicast_and_the_broadcast(run):
    _, result = run
    assert said(result, "watcher", r"netpeer: watched (\d+) broadcast, (\d+) unicast for others") \
        == [2, 0], result.describe()


def test_statistics_count_what_the_guests_did(run):
    """Veneer's line for each NIC against what its driver says it did."""
    vendor, result = run
    info = result.describe()
    stats = nic_stats(result)
    assert set(stats) == set(GUESTS), info
    for name, (_, mac, _) in GUESTS.items():
        nic = stats[name]
        assert nic["mac"] == mac and not nic["needs_reset"], info
        assert nic["rx_too_big"] == 0, info
        # Every notification the driver wrote is a kick; every interrupt
        # it took was sent (two alike before it took the first are one).
        rx_kicks, tx_kicks, rx_irqs, tx_irqs, config_irqs = said(
            result, name, r"netpeer: kicks rx (\d+), tx (\d+); interrupts rx (\d+), "
                          r"tx (\d+), config (\d+);")
        assert nic["kicks"] == rx_kicks + tx_kicks, (name, nic, info)
        assert config_irqs == 0, info
        assert rx_irqs > 0 and tx_irqs > 0, (name, info)
        assert rx_irqs + tx_irqs <= nic["interrupts"], (name, nic, info)

    pinger = stats["pinger"]
    sent, probes, pings, forged, nobody, group, bad, received = said(
        result, "pinger", r"netpeer: sent (\d+) frames \((\d+) probes, (\d+) pings, (\d+) forged, "
                          r"(\d+) to nobody, (\d+) multicast, 1 stop\), (\d+) of a bad size; "
                          r"received (\d+)")
    assert (pings, forged, nobody, group, bad) == (COUNT[vendor], 1, 1, 1, 2), info
    assert sent == probes + pings + forged + nobody + group + 1, info
    # Frames of a bad size never reach the switch; the forged one and the
    # one to nobody reach it and are dropped there.
    assert pinger["tx"] == sent, info
    assert pinger["tx_bad"] == bad, info
    assert pinger["tx_switch"] == forged + nobody, info
    # The watcher's ready frames keep coming until it stops: one may land
    # after the pinger's last look.
    assert pinger["rx"] >= received, info

    echo = stats["echo"]
    received, broadcasts, echo_sent = said(
        result, "echo", r"netpeer: received (\d+) frames \((\d+) broadcast or multicast\), "
                        r"sent (\d+)")
    assert (echo["rx"], echo["tx"]) == (received, echo_sent), info
    assert broadcasts == 2 and echo["tx_bad"] == 0 and echo["tx_switch"] == 0, info
    # The probes the echo never answered came before its NIC was up.
    answers, = said(result, "pinger", r"received \d+ \((\d+) probe answers")
    assert probes >= 2, "the echo was up before the second probe\n%s" % info
    assert echo["rx_no_buffer"] == probes - answers, info

    watcher = stats["watcher"]
    ready, = said(result, "watcher", r"sent (\d+) ready frames")
    assert watcher["rx"] == 2 and watcher["rx_no_buffer"] == 0, info
    assert watcher["tx"] == ready and watcher["tx_bad"] == 0, info
