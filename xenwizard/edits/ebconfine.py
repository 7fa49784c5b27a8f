"""DHCP confined on the Xen bridge on ubuntu-precise: ebtables chains of xenwizard's own.

Ubuntu 12.04 has no nftables; its bridge firewall is ebtables. The same rules as the
nftables ruleset of the current releases (`nftconfine`, which says why each is there: DHCPv4,
and IPv6's router advertisements and DHCPv6), in three chains of xenwizard's own
(`XENWIZARD-FORWARD`, `XENWIZARD-INPUT`, `XENWIZARD-OUTPUT`) that the built-in chains of the
same names jump to, so no other rule is touched. The IPv6 rules use ebt_ip6's ICMPv6 type
match (`--ip6-icmp-type`: kernel 2.6.39, commit 6faee60a4e82 "netfilter: ebt_ip6: allow matching
on ipv6-icmp types/codes", and ebtables 2.0.10-4; Precise runs 3.2). A script of xenwizard's
own sets them up, and rc.local runs it at boot (upstart: there is no unit to load them).
Running it again replaces only those chains.

The LAN's port is not the NIC by its usual name: xend's network-bridge renames the NIC (eth0)
to p + its name (peth0) and makes that the bridge's port, so the rules name that port.
"""

from __future__ import annotations

from xenwizard.edits import EditResult
from xenwizard.edits.nftconfine import (
    COMMENTS,
    COMMENTS6,
    DHCP6_CLIENT,
    DHCP6_SERVER,
    check_rule_names,
    ipv6_notes,
)
from xenwizard.edits.nftunit import refuse_foreign

SCRIPT_PATH = "etc/xenwizard/dhcp-confine.sh"
RC_LOCAL_LINES = (
    "# DHCP on the bridge stays between this host and its guests (ebtables; see the script).",
    f"/{SCRIPT_PATH} || true",
)
MARKER = "# xenwizard: DHCP on bridge"
EBTABLES = "/sbin/ebtables"
CHAINS = ("FORWARD", "INPUT", "OUTPUT")

_SCRIPT = """#!/bin/sh
{marker} {bridge} stays between this host and its guests (port {port}, the NIC
# as xend's network-bridge renames it, is the LAN). Run by /etc/rc.local at boot; running it
# again replaces only xenwizard's chains. `xenwizard rollback` removes it.
set -e
eb() {{ {ebtables} "$@"; }}
for base in {chains}; do
    own="XENWIZARD-$base"
    while eb -D "$base" -j "$own" 2>/dev/null; do :; done
    eb -F "$own" 2>/dev/null || eb -N "$own"
    eb -A "$base" -j "$own"
done
# {out_requests}
eb -A XENWIZARD-FORWARD -o {port} -p IPv4 --ip-proto udp --ip-dport 67 -j DROP
# {in_answers}
eb -A XENWIZARD-FORWARD -i {port} -p IPv4 --ip-proto udp --ip-dport 68 -j DROP
# {in_requests}
eb -A XENWIZARD-INPUT -i {port} -p IPv4 --ip-proto udp --ip-dport 67 -j DROP
# {in_ra}
eb -A XENWIZARD-FORWARD -i {port} {icmp6} router-solicitation -j DROP
eb -A XENWIZARD-FORWARD -i {port} {icmp6} router-advertisement -j DROP
# {out_ra}
eb -A XENWIZARD-FORWARD -o {port} {icmp6} router-solicitation -j DROP
eb -A XENWIZARD-FORWARD -o {port} {icmp6} router-advertisement -j DROP
# {in_dhcp6}
eb -A XENWIZARD-FORWARD -i {port} {udp6} {dhcp6}:{dhcp6_server} -j DROP
# {out_dhcp6}
eb -A XENWIZARD-FORWARD -o {port} {udp6} {dhcp6}:{dhcp6_server} -j DROP
# {in_solicit}
eb -A XENWIZARD-INPUT -i {port} {icmp6} router-solicitation -j DROP
# {in_dhcp6_requests}
eb -A XENWIZARD-INPUT -i {port} {udp6} {dhcp6_server} -j DROP
# {out_advert}
eb -A XENWIZARD-OUTPUT -o {port} {icmp6} router-advertisement -j DROP
# {out_dhcp6_answers}
eb -A XENWIZARD-OUTPUT -o {port} {udp6} {dhcp6} -j DROP
"""
ICMP6 = "-p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type"
UDP6 = "-p IPv6 --ip6-proto udp --ip6-dport"


def lan_port(nic: str) -> str:
    """The bridge port xend's network-bridge makes of `nic` (it renames eth0 to peth0)."""
    return f"p{nic}"


def render_script(bridge: str, nic: str) -> str:
    """The whole script for bridge `bridge` whose LAN NIC (before xend renames it) is `nic`."""
    port = lan_port(nic)
    check_rule_names(bridge, ("NIC name", nic), ("bridge port", port))
    return _SCRIPT.format(
        marker=MARKER,
        bridge=bridge,
        port=port,
        ebtables=EBTABLES,
        chains=" ".join(CHAINS),
        icmp6=ICMP6,
        udp6=UDP6,
        dhcp6=DHCP6_CLIENT,
        dhcp6_server=DHCP6_SERVER,
        **COMMENTS,
        **COMMENTS6,
    )


def set_script(text: str | None, bridge: str, nic: str) -> EditResult:
    """The script as wanted; refuses to overwrite a file xenwizard did not write."""
    refuse_foreign(text, MARKER, SCRIPT_PATH, "xenwizard's DHCP rules")
    after = render_script(bridge, nic)
    return EditResult(after, ("already as wanted",) if text == after else ())


def notes(bridge: str, nic: str) -> list[str]:
    """What the rules do, in plain words, for the step's notes."""
    port = lan_port(nic)
    return [
        f"the LAN's port on {bridge} is {port}: xend's network-bridge renames {nic} to {port} "
        "and makes it the bridge's port",
        f"guests' DHCP requests are not forwarded out through {port}: a DHCP server on the LAN "
        "never sees them, so only this host's dnsmasq can answer the guests",
        f"DHCP answers coming in from the LAN through {port} are not forwarded to the guests",
        f"DHCP requests coming in through {port} do not reach this host: its dnsmasq never "
        "hears a machine on the LAN",
        *ipv6_notes(bridge, port),
        "ebtables chains XENWIZARD-FORWARD, XENWIZARD-INPUT and XENWIZARD-OUTPUT of its own: no "
        "other rule is touched; /etc/rc.local runs /{SCRIPT_PATH} at boot (12.04 has no nftables)",
    ]
