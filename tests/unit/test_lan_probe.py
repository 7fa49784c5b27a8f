"""Two Xen hosts replaying one answers file take the same guest subnet: the second one's
`plan` on its live root sees the first one answer ARP for the host address on the LAN and
refuses it (issue 12). Proven with the kernel's own ARP in two network namespaces on one link;
the frames are unit-tested against RFC 826/5227's layout."""

from __future__ import annotations

import errno
import ipaddress
import os
import struct
import sys

import pytest

from tests.kits.helpers import REPO
from tests.kits.netns import Lab, skip_unless_netns
from xenwizard.target import lanprobe
from xenwizard.target.lanprobe import _answerer, _probe_frame

OWN_MAC = bytes.fromhex("02000000000a")
OTHER_MAC = bytes.fromhex("02000000000b")
ADDRESS = ipaddress.IPv4Address("10.20.1.1")


def reply(sender_mac: bytes, sender_ip: ipaddress.IPv4Address) -> bytes:
    ethernet = OWN_MAC + sender_mac + struct.pack("!H", 0x0806)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + sender_mac + sender_ip.packed
    return ethernet + arp + OWN_MAC + bytes(4)


def test_the_probe_is_an_rfc_5227_probe() -> None:
    frame = _probe_frame(OWN_MAC, ADDRESS)
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == OWN_MAC and frame[12:14] == b"\x08\x06"
    assert struct.unpack("!HHBBH", frame[14:22]) == (1, 0x0800, 6, 4, 1)  # a request
    assert frame[22:28] == OWN_MAC and frame[28:32] == bytes(4)  # sender 0.0.0.0
    assert frame[38:42] == ADDRESS.packed


def test_only_another_machine_claiming_the_address_is_an_answer() -> None:
    assert _answerer(reply(OTHER_MAC, ADDRESS), ADDRESS, OWN_MAC) == "02:00:00:00:00:0b"
    assert _answerer(reply(OTHER_MAC, ipaddress.IPv4Address("10.20.1.2")), ADDRESS, OWN_MAC) is None
    assert _answerer(reply(OWN_MAC, ADDRESS), ADDRESS, OWN_MAC) is None  # our own probe
    assert _answerer(b"\x00" * 20, ADDRESS, OWN_MAC) is None


def test_a_second_host_with_the_same_subnet_is_refused_on_its_live_root() -> None:
    skip_unless_netns()
    with Lab("lanprobe") as lab:
        first, second = lab.namespace("first"), lab.namespace("second")
        second.ip("link", "add", "lan0", "type", "veth", "peer", "name", "lan1")
        second.ip("link", "set", "lan1", "netns", first.name)
        # the first host, set up already: its bridge holds the LAN and the guest subnet
        first.ip("link", "set", "lan1", "address", "02:00:00:00:00:0b")
        first.ip("addr", "add", "192.0.2.11/24", "dev", "lan1")
        first.ip("addr", "add", "10.20.1.1/24", "dev", "lan1")
        first.ip("link", "set", "lan1", "up")
        second.ip("addr", "add", "192.0.2.12/24", "dev", "lan0")
        second.ip("link", "set", "lan0", "up")
        second.ip("route", "add", "default", "via", "192.0.2.1")

        def plan(*answers: str):  # type: ignore[no-untyped-def]
            argv = [sys.executable, "-m", "xenwizard", "plan", "--root", "/", *answers]
            return second.run(argv, check=False, cwd=REPO)

        taken = plan("--address", "10.20.1.1/24")
        assert taken.returncode == 1, taken.stdout + taken.stderr
        assert (
            "address: 10.20.1.1 is already used on the LAN: 02:00:00:00:00:0b answers ARP for "
            "it on lan0 (another host with the subnet 10.20.1.0/24?)"
        ) in taken.stderr, taken.stderr
        free = plan("--address", "10.20.2.1/24")
        assert "already used on the LAN" not in free.stderr, free.stderr
        allowed = plan("--address", "10.20.1.1/24", "--allow-overlap")
        assert "already used on the LAN" not in allowed.stderr, allowed.stderr


class DownMidProbe:
    """A packet socket whose link goes down once the probe is under way: the first send
    works, then the kernel says ENETDOWN (what issue 24 saw on a real interface)."""

    def __init__(self, *args: object) -> None:
        self.sent = 0

    def __enter__(self) -> DownMidProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def bind(self, address: object) -> None:
        return None

    def getsockname(self) -> tuple[object, ...]:
        return ("lan0", 0x0806, 0, 1, OWN_MAC)

    def send(self, frame: bytes) -> int:
        self.sent += 1
        if self.sent > 1:
            raise OSError(errno.ENETDOWN, os.strerror(errno.ENETDOWN))
        return len(frame)

    def recv(self, size: int) -> bytes:
        raise OSError(errno.ENETDOWN, os.strerror(errno.ENETDOWN))

    def fileno(self) -> int:
        return 0


def test_a_link_going_down_mid_probe_skips_it_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: `OSError: Network is down` escaped the plan as a traceback."""
    monkeypatch.setattr(lanprobe.socket, "socket", DownMidProbe)
    monkeypatch.setattr(lanprobe.select, "select", lambda r, w, x, t: (r, [], []))
    monkeypatch.setattr(lanprobe.os, "geteuid", lambda: 0)
    notes: list[str] = []
    interface = ipaddress.IPv4Interface("10.20.1.1/24")
    assert lanprobe.lan_refusal(interface, "lan0", set(), notes.append) is None
    assert notes == [
        "the ARP probe for 10.20.1.1 on lan0 stopped (Network is down); whether another host "
        "uses it was not checked"
    ]
