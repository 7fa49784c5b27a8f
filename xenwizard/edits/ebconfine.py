"""DHCP confined on the Xen bridge on ubuntu-precise: ebtables chains of xenwizard's own.

Ubuntu 12.04 has no nftables; its bridge firewall is ebtables. The same three rules as the
nftables ruleset of the current releases (`nftconfine`), in two chains of xenwizard's own
(`XENWIZARD-FORWARD`, `XENWIZARD-INPUT`) that the built-in FORWARD and INPUT chains jump to, so
no other rule is touched. A script of xenwizard's own sets them up, and rc.local runs it at boot
(upstart: there is no unit to load them). Running it again replaces only those chains.

The LAN's port is not the NIC by its usual name: xend's network-bridge renames the NIC (eth0)
to p + its name (peth0) and makes that the bridge's port, so the rules name that port.
"""

from __future__ import annotations

from xenwizard.edits import EditResult
from xenwizard.edits.nftconfine import COMMENTS, check_rule_names
from xenwizard.edits.nftunit import refuse_foreign

SCRIPT_PATH = "etc/xenwizard/dhcp-confine.sh"
RC_LOCAL_LINES = (
    "# DHCP on the bridge stays between this host and its guests (ebtables; see the script).",
    f"/{SCRIPT_PATH} || true",
)
MARKER = "# xenwizard: DHCP on bridge"
EBTABLES = "/sbin/ebtables"
CHAINS = ("FORWARD", "INPUT")

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
"""


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
        **COMMENTS,
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
        "ebtables chains XENWIZARD-FORWARD and XENWIZARD-INPUT of its own: no other rule is "
        f"touched; /etc/rc.local runs /{SCRIPT_PATH} at boot (12.04 has no nftables)",
    ]
