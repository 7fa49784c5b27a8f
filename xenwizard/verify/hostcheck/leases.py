"""The dnsmasq that serves the bridge, its leases file, and what that file says about a MAC.

Read through the target root: ROOT/proc for the processes (the canary runs on the live system,
where that is /proc), the files dnsmasq's command line and configuration select, and the leases
file (`dhcp-leasefile`, else Debian's and Ubuntu's compiled-in /var/lib/misc/dnsmasq.leases).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from xenwizard.target.rootfs import RootError, RootFS
from xenwizard.verify.hostcheck.dnsmasqconf import dnsmasq_sources

DEFAULT_LEASES = "/var/lib/misc/dnsmasq.leases"
# dnsmasq's one spelling (-l): 2.90 refuses "dhcp-lease-file"
# (tests/contracts/test_real_world_facts.py)
LEASEFILE_OPTIONS = ("dhcp-leasefile",)


@dataclass(frozen=True, slots=True)
class ServingDnsmasq:
    """A running dnsmasq whose configuration has interface=BR, and where it keeps its leases
    (None: leasefile-ro, it keeps none)."""

    pid: int
    leases_file: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    mac: str  # lower case
    ip: str
    expiry: str


def parse_leases(text: str) -> dict[str, Lease]:
    """dnsmasq's leases file (`EXPIRY MAC IP HOSTNAME CLIENTID` per IPv4 lease) by MAC; DHCPv6
    lines (`duid ...`, IAIDs) and malformed lines are skipped."""
    found: dict[str, Lease] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        expiry, mac, ip = parts[:3]
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            continue
        if len(mac.split(":")) != 6:
            continue
        found[mac.lower()] = Lease(mac.lower(), ip, expiry)
    return found


def in_range(ip: str, start: str, end: str) -> bool:
    address = ipaddress.IPv4Address(ip)
    return ipaddress.IPv4Address(start) <= address <= ipaddress.IPv4Address(end)


def _processes(fs: RootFS, name: str) -> list[tuple[int, tuple[str, ...]]]:
    """(pid, argv) of ROOT/proc's processes called `name`."""
    found = []
    try:
        entries = fs.listdir("proc")
    except RootError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            comm = fs.read_text(f"proc/{entry}/comm")
            raw = fs.read_bytes(f"proc/{entry}/cmdline")
        except (RootError, OSError):  # gone meanwhile, or not ours to read
            continue
        if comm is None or comm.strip() != name:
            continue
        argv = tuple(a.decode("utf-8", "replace") for a in (raw or b"").split(b"\0") if a)
        found.append((int(entry), argv or (name,)))
    return sorted(found)


def dnsmasq_pids(fs: RootFS) -> list[int]:
    return [pid for pid, _argv in _processes(fs, "dnsmasq")]


def serving_dnsmasq(fs: RootFS, bridge: str) -> ServingDnsmasq | str:
    """The running dnsmasq with interface=BR and its leases file, or why there is none."""
    procs = _processes(fs, "dnsmasq")
    if not procs:
        return "dnsmasq is not running; start it (`systemctl start dnsmasq`)"

    def read_text(path: str) -> str | None:
        try:
            return fs.read_text(path)
        except RootError:
            return None

    def listdir(path: str) -> list[str]:
        try:
            return [n for n in fs.listdir(path) if fs.path(f"{path}/{n}").is_file()]
        except RootError:
            return []

    for pid, argv in procs:
        options = dnsmasq_sources(argv, read_text, listdir).options
        interfaces = [
            name.strip()
            for key, value in options
            if key == "interface"
            for name in value.split(",")
        ]
        if bridge not in interfaces:
            continue
        if any(key == "leasefile-ro" for key, _ in options):
            return ServingDnsmasq(pid, None)
        files = [value for key, value in options if key in LEASEFILE_OPTIONS and value]
        return ServingDnsmasq(pid, files[-1] if files else DEFAULT_LEASES)
    pids = ", ".join(str(pid) for pid, _ in procs)
    return (
        f"dnsmasq runs (pid {pids}), but none has interface={bridge} in its configuration; "
        "restart dnsmasq so it reads xenwizard's settings in /etc/dnsmasq.d"
    )


def read_leases(fs: RootFS, path: str) -> dict[str, Lease]:
    """The leases in `path` (a live path, read through the root); none when it is missing."""
    try:
        text = fs.read_text(path)
    except RootError:
        return {}
    return parse_leases(text or "")
