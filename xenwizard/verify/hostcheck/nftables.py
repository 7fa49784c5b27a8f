"""The DHCP confinement as the running kernel has it: `nft -j list table bridge xenwizard`.

`dhcp_drops` reads nft's JSON (libnftables' schema) and says, for each DHCP port, in which
chains of the table a rule drops UDP to that port on a given NIC (matched by `iifname`/`oifname`,
or `iif`/`oif`, as a string or in a set). Other rules and expressions are ignored.
`ipv6_drops` says which of the IPv6 rules (router solicitations and advertisements, DHCPv6)
the table has, as (chain, direction, protocol, value), for `missing_ipv6` to hold against the
rules the ruleset was written with (`IPV6_WANTED`).
"""

from __future__ import annotations

import json
from typing import Any

from xenwizard.edits.nftconfine import (
    DHCP6_CLIENT,
    DHCP6_SERVER,
    NFT_ICMPV6_NAMES,
    ROUTER_ADVERT,
    ROUTER_SOLICIT,
    TABLE_FAMILY,
    TABLE_NAME,
)

DHCP_PORTS = (67, 68)  # server, client
NIC_KEYS = ("iifname", "oifname", "iif", "oif")
IN_KEYS = ("iifname", "iif")

Drop6 = tuple[str, str, str, int]  # (chain, "in" or "out" through the NIC, "icmpv6"/"udp", value)
# The IPv6 drops nftconfine writes: both ways between the NIC and the guests (forward), the
# LAN's solicitations and DHCPv6 requests kept from the host (input), and the host's own
# advertisements and DHCPv6 answers kept off the NIC (output).
IPV6_WANTED: tuple[Drop6, ...] = (
    *(
        ("forward", way, "icmpv6", kind)
        for way in ("in", "out")
        for kind in (ROUTER_SOLICIT, ROUTER_ADVERT)
    ),
    *(
        ("forward", way, "udp", port)
        for way in ("in", "out")
        for port in (DHCP6_CLIENT, DHCP6_SERVER)
    ),
    ("input", "in", "icmpv6", ROUTER_SOLICIT),
    ("input", "in", "udp", DHCP6_SERVER),
    ("output", "out", "icmpv6", ROUTER_ADVERT),
    ("output", "out", "udp", DHCP6_CLIENT),
)


class RulesetError(ValueError):
    """nft's output is not the JSON we know."""


def list_table_argv(family: str = TABLE_FAMILY, name: str = TABLE_NAME) -> list[str]:
    return ["nft", "-j", "list", "table", family, name]


def parse_ruleset(text: str) -> list[dict[str, Any]]:
    """The objects of `nft -j` output ({"nftables": [{"table": ...}, {"rule": ...}, ...]})."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RulesetError(f"not JSON: {exc}") from None
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RulesetError("no `nftables` list at the top")
    return [item for item in items if isinstance(item, dict)]


def _values(right: object) -> list[object]:
    """The values a match's right side stands for: a scalar, a set, or ranges (as (lo, hi))."""
    if isinstance(right, dict) and "set" in right:
        found: list[object] = []
        for item in right["set"] if isinstance(right["set"], list) else [right["set"]]:
            found += _values(item)
        return found
    if isinstance(right, dict) and isinstance(right.get("range"), list):
        low, high = right["range"][:2]
        return [(low, high)]
    return [right]


def _has(values: list[object], wanted: object) -> bool:
    for value in values:
        if value == wanted:
            return True
        if isinstance(value, tuple) and isinstance(wanted, int):
            low, high = value
            if isinstance(low, int) and isinstance(high, int) and low <= wanted <= high:
                return True
    return False


def _matches(expr: list[object]) -> list[tuple[dict[str, Any], list[object]]]:
    """(left, values) of every `==`/`in` match of a rule."""
    out = []
    for item in expr:
        match = item.get("match") if isinstance(item, dict) else None
        if isinstance(match, dict) and match.get("op", "==") in ("==", "in"):
            left = match.get("left")
            if isinstance(left, dict):
                out.append((left, _values(match.get("right"))))
    return out


def _rule_drops(expr: list[object], nic: str) -> set[int]:
    """The DHCP ports a rule drops on `nic` (empty when it is not such a rule)."""
    if not any(isinstance(item, dict) and "drop" in item for item in expr):
        return set()
    matches = _matches(expr)
    on_nic = any(
        isinstance(left.get("meta"), dict)
        and left["meta"].get("key") in NIC_KEYS
        and _has(values, nic)
        for left, values in matches
    )
    if not on_nic:
        return set()
    l4_udp = any(
        isinstance(left.get("meta"), dict)
        and left["meta"].get("key") == "l4proto"
        and (_has(values, "udp") or _has(values, 17))
        for left, values in matches
    )
    ports: set[int] = set()
    for left, values in matches:
        payload = left.get("payload")
        if not isinstance(payload, dict) or payload.get("field") != "dport":
            continue
        if payload.get("protocol") == "udp" or (payload.get("protocol") == "th" and l4_udp):
            ports |= {port for port in DHCP_PORTS if _has(values, port)}
    return ports


def _ipv6_rule_drops(expr: list[object], nic: str) -> set[tuple[str, str, int]]:
    """(way, protocol, value) of the IPv6 drops a rule makes on `nic` (empty when none)."""
    if not any(isinstance(item, dict) and "drop" in item for item in expr):
        return set()
    matches = _matches(expr)
    ways = {
        "in" if left["meta"].get("key") in IN_KEYS else "out"
        for left, values in matches
        if isinstance(left.get("meta"), dict)
        and left["meta"].get("key") in NIC_KEYS
        and _has(values, nic)
    }
    found: set[tuple[str, str, int]] = set()
    for left, values in matches:
        payload = left.get("payload")
        if not isinstance(payload, dict):
            continue
        numbers = [NFT_ICMPV6_NAMES.get(v, v) if isinstance(v, str) else v for v in values]
        if payload.get("protocol") == "icmpv6" and payload.get("field") == "type":
            kinds = [k for k in (ROUTER_SOLICIT, ROUTER_ADVERT) if _has(numbers, k)]
            found |= {(way, "icmpv6", kind) for way in ways for kind in kinds}
        if payload.get("protocol") == "udp" and payload.get("field") == "dport":
            ports = [p for p in (DHCP6_CLIENT, DHCP6_SERVER) if _has(numbers, p)]
            found |= {(way, "udp", port) for way in ways for port in ports}
    return found


def ipv6_drops(
    items: list[dict[str, Any]], nic: str, family: str = TABLE_FAMILY, name: str = TABLE_NAME
) -> set[Drop6]:
    """Every (chain, way, protocol, value) IPv6 drop on `nic` in table FAMILY NAME."""
    found: set[Drop6] = set()
    for rule in _rules(items, family, name):
        chain = str(rule.get("chain", "?"))
        found |= {(chain, *drop) for drop in _ipv6_rule_drops(rule["expr"], nic)}
    return found


def missing_ipv6(items: list[dict[str, Any]], nic: str) -> list[Drop6]:
    """The IPV6_WANTED drops the loaded table lacks, in IPV6_WANTED's order."""
    have = ipv6_drops(items, nic)
    return [drop for drop in IPV6_WANTED if drop not in have]


def describe6(drop: Drop6, nic: str) -> str:
    """One drop in words: `forward: icmpv6 type 134 in through eno1`."""
    chain, way, proto, value = drop
    what = f"icmpv6 type {value}" if proto == "icmpv6" else f"udp dport {value}"
    return f"{chain}: {what} {way} through {nic}"


def _rules(items: list[dict[str, Any]], family: str, name: str) -> list[dict[str, Any]]:
    """The rules of table FAMILY NAME that have a list of expressions."""
    out = []
    for item in items:
        rule = item.get("rule")
        if not isinstance(rule, dict):
            continue
        if rule.get("family") != family or rule.get("table") != name:
            continue
        if isinstance(rule.get("expr"), list):
            out.append(rule)
    return out


def dhcp_drops(
    items: list[dict[str, Any]], nic: str, family: str = TABLE_FAMILY, name: str = TABLE_NAME
) -> dict[int, list[str]]:
    """{DHCP port: chains of table FAMILY NAME with a rule dropping UDP to it on `nic`}."""
    found: dict[int, list[str]] = {port: [] for port in DHCP_PORTS}
    for item in items:
        rule = item.get("rule")
        if not isinstance(rule, dict):
            continue
        if rule.get("family") != family or rule.get("table") != name:
            continue
        expr = rule.get("expr")
        if not isinstance(expr, list):
            continue
        chain = str(rule.get("chain", "?"))
        for port in sorted(_rule_drops(expr, nic)):
            if chain not in found[port]:
                found[port].append(chain)
    return found


def has_table(
    items: list[dict[str, Any]], family: str = TABLE_FAMILY, name: str = TABLE_NAME
) -> bool:
    return any(
        isinstance(item.get("table"), dict)
        and item["table"].get("family") == family
        and item["table"].get("name") == name
        for item in items
    )
