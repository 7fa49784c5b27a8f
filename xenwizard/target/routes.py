"""The target's routes for the clash check: those its configuration adds (interfaces(5)
`up`/`post-up`/`pre-up` commands, netplan `routes:`) and, on a live root, the kernel's table.
A guest subnet or DHCP range reaching a routed network would take that network's traffic from
the route (or hand guests addresses the LAN reaches elsewhere), so `config.clashes` refuses it.

Each route is (network, where): where names the file and line, or the live table, so the
refusal can say which route and where it is configured. Default routes are left out (the
gateway is checked on its own), as are the kernel's routes of the interfaces' own subnets."""

from __future__ import annotations

import ipaddress
import re
import shlex
import sys
from collections.abc import Iterable

Route = tuple[ipaddress.IPv4Network, str]

UP_OPTIONS = ("up", "post-up", "pre-up")
_SEPARATORS = re.compile(r"\s*(?:;|&&|\|\|)\s*")
_ROUTE_TYPES = {"to", "unicast", "blackhole", "unreachable", "prohibit", "throw", "local"}
_ADD_VERBS = {"add", "a", "replace", "append", "prepend", "change"}
RTF_UP, RTF_GATEWAY = 0x1, 0x2


def _network(text: str, netmask: str | None = None) -> ipaddress.IPv4Network | None:
    """NET, NET/P or a host address (a /32), as `ip route` reads a destination; None for
    `default`, IPv6 or anything that is not an address."""
    if text in ("default", "0.0.0.0/0"):
        return None
    try:
        if netmask:
            return ipaddress.IPv4Network(f"{text}/{netmask}", strict=False)
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        return None


def _ip_route(argv: list[str]) -> ipaddress.IPv4Network | None:
    """`ip [-4] route add|replace|append [TYPE] [to] NET ...`."""
    words = [w for w in argv[1:] if not w.startswith("-")]
    if len(words) < 3 or not "route".startswith(words[0]) or words[1] not in _ADD_VERBS:
        return None
    rest = [w for w in words[2:] if w not in _ROUTE_TYPES]
    return _network(rest[0]) if rest else None


def _route(argv: list[str]) -> ipaddress.IPv4Network | None:
    """`route add [-net|-host] NET [netmask MASK] ...` (net-tools)."""
    if "add" not in argv:
        return None
    words = argv[argv.index("add") + 1 :]
    mask = words[words.index("netmask") + 1] if "netmask" in words[:-1] else None
    targets = [w for w in words if not w.startswith("-")]
    return _network(targets[0], mask) if targets else None


def command_routes(command: str) -> list[ipaddress.IPv4Network]:
    """The networks an ifupdown up-command routes (several commands may be joined)."""
    found = []
    for part in _SEPARATORS.split(command):
        try:
            argv = shlex.split(part)
        except ValueError:
            continue
        program = argv[0].rsplit("/", 1)[-1] if argv else ""
        net = _ip_route(argv) if program == "ip" else _route(argv) if program == "route" else None
        if net is not None:
            found.append(net)
    return found


def ifupdown_routes(texts: dict[str, str]) -> list[Route]:
    """Routes the up-commands of every stanza in interfaces(5) files add (path -> text)."""
    from xenwizard.edits import ifupdown
    from xenwizard.edits.text import Doc, where

    found: list[Route] = []
    for path, text in texts.items():
        lines = Doc.parse(text).lines
        for stanza in ifupdown.read(lines).stanzas:
            for index in stanza.options:
                name, value = ifupdown.option(lines[index])
                if name not in UP_OPTIONS:
                    continue
                for net in command_routes(value):
                    line = where(lines[index])
                    found.append((net, f"configured in /{path} {line} ({name} of {stanza.name})"))
    return found


def netplan_routes(entries: Iterable[tuple[str, str, object]]) -> list[Route]:
    """Routes from netplan's `routes: - to: NET` entries, given as (file, interface id, to)."""
    found: list[Route] = []
    for path, nic_id, to in entries:
        net = _network(str(to)) if isinstance(to, str) else None
        if net is not None:
            found.append((net, f"configured in /{path} (routes of {nic_id})"))
    return found


def _address(hex_text: str) -> ipaddress.IPv4Address:
    """An address of /proc/net/route: hex in the kernel's (host) byte order."""
    return ipaddress.IPv4Address(int(hex_text, 16).to_bytes(4, sys.byteorder))


def live_routes(table: str, addresses: Iterable[ipaddress.IPv4Interface]) -> list[Route]:
    """Routes of the kernel's table (/proc/net/route text) but the default route and the
    kernel's routes of the live `addresses`' subnets (matched by network, not by interface: an
    alias's address is listed under its label, BR:0, its route under BR)."""
    connected = {address.network for address in addresses}
    found: list[Route] = []
    for row in table.splitlines()[1:]:
        fields = row.split()
        if len(fields) < 8:
            continue
        try:
            iface, dest, gateway = fields[0], _address(fields[1]), _address(fields[2])
            flags, mask = int(fields[3], 16), _address(fields[7])
            net = ipaddress.IPv4Network(f"{dest}/{mask}")
        except ValueError:
            continue
        if not flags & RTF_UP or net.prefixlen == 0:
            continue
        if not flags & RTF_GATEWAY:
            if net in connected:
                continue  # the kernel's route of an address: the address is checked itself
            found.append((net, f"in the live routing table (on {iface})"))
        else:
            found.append((net, f"in the live routing table (via {gateway} on {iface})"))
    return found
