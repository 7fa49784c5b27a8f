"""Is the host's guest-subnet address already in use on the LAN? Asked with ARP, as RFC 5227's
address probe does (sender address 0.0.0.0, so no machine's ARP cache learns anything).

On a bridged Xen host the bridge holds the LAN's NIC, so the guest subnet's host address sits
on the LAN segment too: another Xen host that took the same subnet answers ARP for it. That is
the clash two hosts replaying one answers file make, and the one xenwizard can see before it
writes anything. Only the live root is probed, on the interface of the default route (the
LAN); an address this machine holds already (a re-run) is not probed.
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import struct
import time
from collections.abc import Callable

ETH_P_ARP = 0x0806
PROBES = 3  # RFC 5227 sends 3 probes; a reply to any of them is an answer
INTERVAL = 0.2  # seconds between probes
WAIT = 0.4  # seconds to listen after the last one


class ProbeSkipped(RuntimeError):
    """The probe started but could not finish (one line: what stopped it)."""


def address_in_use(ifname: str, address: ipaddress.IPv4Address) -> str | None:
    """The MAC of a machine on `ifname`'s link that answers ARP for `address`, or None (no
    answer, or the probe could not start: not root, no such interface); ProbeSkipped when it
    broke off midway."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except OSError:
        return None
    with sock:
        try:
            sock.bind((ifname, ETH_P_ARP))
            own_mac = sock.getsockname()[4]
        except OSError:
            return None
        frame = _probe_frame(own_mac, address)
        try:
            return _probe(sock, frame, address, own_mac)
        except OSError as exc:  # the link went down mid-probe (ENETDOWN), and the like
            raise ProbeSkipped(
                f"the ARP probe for {address} on {ifname} stopped ({exc.strerror or exc}); "
                "whether another host uses it was not checked"
            ) from None


def _probe(
    sock: socket.socket, frame: bytes, address: ipaddress.IPv4Address, own_mac: bytes
) -> str | None:
    deadline = time.monotonic() + PROBES * INTERVAL + WAIT
    next_probe, sent = time.monotonic(), 0
    while True:
        now = time.monotonic()
        if sent < PROBES and now >= next_probe:
            sock.send(frame)
            sent, next_probe = sent + 1, now + INTERVAL
        if now >= deadline:
            return None
        wait = min(deadline, next_probe if sent < PROBES else deadline) - now
        ready, _, _ = select.select([sock], [], [], max(wait, 0))
        if ready:
            answer = _answerer(sock.recv(2048), address, own_mac)
            if answer is not None:
                return answer


def _probe_frame(own_mac: bytes, address: ipaddress.IPv4Address) -> bytes:
    ethernet = b"\xff" * 6 + own_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)  # Ethernet, IPv4, request
    arp += own_mac + bytes(4) + bytes(6) + address.packed  # sender 0.0.0.0: a probe
    return ethernet + arp


def _answerer(frame: bytes, address: ipaddress.IPv4Address, own_mac: bytes) -> str | None:
    """The sender MAC when `frame` is another machine's ARP claiming `address`."""
    if len(frame) < 42 or frame[12:14] != struct.pack("!H", ETH_P_ARP):
        return None
    sender_mac, sender_ip = frame[22:28], frame[28:32]
    if sender_ip != address.packed or sender_mac == own_mac:
        return None
    return ":".join(f"{byte:02x}" for byte in sender_mac)


def lan_refusal(
    address: ipaddress.IPv4Interface,
    lan: str | None,
    own: set[str],
    note: Callable[[str], None] | None = None,
) -> str | None:
    """Why the host address must not be taken (another machine answers for it), or None.
    `lan`: the default route's interface; `own`: the addresses this machine holds; `note`
    hears why the probe was skipped when it broke off."""
    if lan is None or str(address.ip) in own or os.geteuid() != 0:
        return None
    try:
        mac = address_in_use(lan, address.ip)
    except ProbeSkipped as exc:
        if note is not None:
            note(str(exc))
        return None
    if mac is None:
        return None
    return (
        f"{address.ip} is already used on the LAN: {mac} answers ARP for it on {lan} (another "
        f"host with the subnet {address.network}?); choose another subnet (--address, or "
        "--subnet-pool with --host-index)"
    )
