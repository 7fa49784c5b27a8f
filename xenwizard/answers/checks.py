"""The single-answer checks: each returns None when the value is fine, else the reason."""

from __future__ import annotations

import ipaddress
import re

_IFNAME_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")
_LEASE = re.compile(r"(?P<num>[0-9]+)(?P<unit>[smhdw]?)")
_LEASE_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIN_LEASE_SECONDS = 120  # dnsmasq raises anything shorter to two minutes
MAX_IFNAME_LEN = 15  # IFNAMSIZ-1
MAX_BRIDGE_LEN = 13  # 15 minus ":0" for the alias BR:0 (ubuntu-precise only; see Target)


# --- single-field checks: each returns None when fine, else the reason --------------------------


def _ifname_problem(value: str, max_len: int, too_long: str) -> str | None:
    """Linux interface-name rules shared by the bridge and the NIC; None when fine."""
    if not value:
        return "must not be empty"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if len(value) > max_len:
        return f"is {len(value)} characters; {too_long}"
    if not _IFNAME_CHARS.fullmatch(value):
        return "may contain only letters, digits, '-', '_' and '.'"
    if value.startswith("-"):
        return "must not start with '-' (ifup and ip would read it as an option)"
    return None


def check_bridge(value: str, max_len: int = MAX_BRIDGE_LEN) -> str | None:
    """Linux interface-name rules; 13 characters where the alias BR:0 must fit too."""
    if max_len >= MAX_IFNAME_LEN:
        return _ifname_problem(value, max_len, "Linux interface names have at most 15")
    return _ifname_problem(
        value,
        max_len,
        f"at most {max_len} (the alias {value}:0 must fit Linux's 15-character limit)",
    )


def check_nic(value: str) -> str | None:
    """A physical interface name: Linux rules, up to 15 characters."""
    return _ifname_problem(value, MAX_IFNAME_LEN, "Linux interface names have at most 15")


def parse_address(value: str) -> ipaddress.IPv4Interface | str:
    """The host alias address as A.B.C.D/P, or the reason it is not acceptable."""
    if "/" not in value:
        return "expected an IPv4 address with prefix length, like 10.0.0.1/24"
    try:
        iface = ipaddress.IPv4Interface(value.strip())
    except ValueError:
        return "expected an IPv4 address with prefix length, like 10.0.0.1/24"
    if iface.network.prefixlen > 30:
        return "prefix must be /30 or shorter to leave room for guests"
    if iface.network.prefixlen < 8:
        return "prefix must be /8 or longer"
    if iface.ip == iface.network.network_address:
        return f"{iface.ip} is the network address of {iface.network}; choose a host address"
    if iface.ip == iface.network.broadcast_address:
        return f"{iface.ip} is the broadcast address of {iface.network}; choose a host address"
    if iface.ip.is_multicast or iface.ip.is_loopback or iface.ip.is_unspecified:
        return f"{iface.ip} is not a unicast host address"
    return iface


def check_address(value: str) -> str | None:
    result = parse_address(value)
    return result if isinstance(result, str) else None


def parse_dhcp_range(value: str) -> tuple[str, str] | str:
    """START-END as two IPv4 addresses, or the reason."""
    parts = value.replace(",", "-").split("-")
    if len(parts) != 2:
        return "expected START-END, like 10.0.0.10-10.0.0.100"
    start, end = (p.strip() for p in parts)
    for label, text in (("start", start), ("end", end)):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            return f"{label} '{text}' is not an IPv4 address"
    return start, end


def check_dhcp_range(start: str, end: str, address: str | None) -> str | None:
    """The range must be ordered, inside the alias subnet and must not hold the host address."""
    try:
        first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
    except ValueError:
        return "start and end must be IPv4 addresses"
    iface = parse_address(address) if address is not None else None
    if isinstance(iface, ipaddress.IPv4Interface):
        net = iface.network
        usable = (net.network_address, net.broadcast_address)
        for label, ip in (("start", first), ("end", last)):
            if ip not in net:
                return f"{label} {ip} is outside the subnet {net}"
            if ip in usable:
                return f"{label} {ip} is the network or broadcast address of {net}"
    if first > last:
        return f"start {first} is after end {last}"
    if isinstance(iface, ipaddress.IPv4Interface) and first <= iface.ip <= last:
        return f"range {first}-{last} contains the host address {iface.ip}"
    return None


def lease_seconds(value: str) -> int | None:
    """Seconds for a dnsmasq lease time, None for 'infinite'; ValueError when malformed."""
    if value == "infinite":
        return None
    match = _LEASE.fullmatch(value)
    if not match:
        raise ValueError(value)
    return int(match["num"]) * _LEASE_UNIT_SECONDS[match["unit"]]


MIN_CONFIRM_MINUTES, MAX_CONFIRM_MINUTES = 1, 1440


def check_confirm_within(value: str) -> str | None:
    """Minutes, 1 to 1440 (a day): how long after boot the boot guard waits."""
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to isdigit, not to int
        return "expected whole minutes, like 10"
    if not MIN_CONFIRM_MINUTES <= int(value) <= MAX_CONFIRM_MINUTES:
        return f"must be {MIN_CONFIRM_MINUTES} to {MAX_CONFIRM_MINUTES} minutes"
    return None


def check_lease(value: str) -> str | None:
    try:
        seconds = lease_seconds(value.lower())
    except ValueError:
        return "expected seconds, Nm, Nh, Nd, Nw or 'infinite', like 12h"
    if seconds is not None and seconds < MIN_LEASE_SECONDS:
        return "must be at least 2 minutes (dnsmasq's minimum), like 2m or 120"
    if seconds is not None and seconds > 0xFFFFFFFF:
        return "is too long; use 'infinite' for a lease that never expires"
    return None


# How guests reach networks beyond the host: the choice and its one-line why (the DHCP page
# shows these; `--guest-access` and the answers file take the keys).
GUEST_ACCESS: dict[str, str] = {
    "nat": "guests reach the LAN and beyond through the host's address (NAT, like libvirt's "
    "default network)",
    "routed": "the host forwards the guests' own addresses; the LAN router needs a route to "
    "the guest subnet",
    "host-only": "guests reach only this host: no forwarding, and DHCP advertises no router",
}


def check_guest_access(value: str) -> str | None:
    """One of GUEST_ACCESS's keys (any case: written in lower case)."""
    if value.lower() in GUEST_ACCESS:
        return None
    return f"expected one of {', '.join(GUEST_ACCESS)}, not {value!r}"


GUEST_IPV6_NONE = "none"  # --guest-ipv6's default: guests get no IPv6 from anyone
GUEST_IPV6_EXPECTED = "expected none or an IPv6 /64 prefix such as 2001:db8:5::/64"


def parse_guest_ipv6(value: str) -> ipaddress.IPv6Network | str | None:
    """The /64 the host advertises to its guests, None for `none`, or the problem (a string).

    A global unicast or unique local (fc00::/7) /64, given as the prefix itself: SLAAC needs a
    /64 (RFC 4862 section 5.5.3 with RFC 4291's 64-bit interface identifiers)."""
    text = value.strip()
    if text.lower() == GUEST_IPV6_NONE:
        return None
    if "/" not in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return f"{text!r} is not an IPv6 prefix; {GUEST_IPV6_EXPECTED}"
        return f"{text!r} has no prefix length; {GUEST_IPV6_EXPECTED}"
    try:
        interface = ipaddress.IPv6Interface(text)
    except ValueError:
        return f"{text!r} is not an IPv6 prefix; {GUEST_IPV6_EXPECTED}"
    network = interface.network
    if network.prefixlen != 64:
        return f"{text} is a /{network.prefixlen}; {GUEST_IPV6_EXPECTED} (SLAAC needs a /64)"
    if interface.ip != network.network_address:
        return f"{text} has host bits set; expected the prefix itself, {network}"
    special = (
        network.is_link_local
        or network.is_multicast
        or network.is_loopback
        or network.is_unspecified
        or network.is_site_local
        or network.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96"))
    )
    if special:
        return f"{network} is not a unicast prefix guests can use; {GUEST_IPV6_EXPECTED}"
    return network


def check_guest_ipv6(value: str) -> str | None:
    parsed = parse_guest_ipv6(value)
    return parsed if isinstance(parsed, str) else None


def normalise_guest_ipv6(value: str) -> str:
    """`none`, or the prefix in its compressed form (2001:DB8:5:0::/64 -> 2001:db8:5::/64)."""
    parsed = parse_guest_ipv6(value)
    if isinstance(parsed, str):
        return value
    return GUEST_IPV6_NONE if parsed is None else str(parsed)
