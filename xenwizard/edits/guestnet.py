"""How guests reach networks beyond the host (the `guest-access` answer).

- nat: the host forwards IPv4 and masquerades the guest subnet behind its own address, in an
  nftables table of xenwizard's own (`table ip xenwizard-nat`), loaded at boot by its unit.
- routed: the host forwards IPv4 only; the LAN router needs a route to the guest subnet.
- host-only: no forwarding, no NAT, and dnsmasq advertises no router (`dhcp-option=3`).

Forwarding is a file in /etc/sysctl.d (systemd-sysctl, or procps on upstart, reads it at
boot). The masquerade rule matches the guests' traffic by destination, not by interface: on
current releases the bridge also holds the LAN's NIC (and under xend, network-bridge puts
the host's address on the bridge too), so traffic to the LAN leaves through the bridge
itself and a rule for "any interface but the bridge" would never match it. Everything from
the guest subnet to anywhere outside it is masqueraded, as libvirt's default network does.
"""

from __future__ import annotations

import ipaddress

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditResult
from xenwizard.edits.nftunit import NftBoot, refuse_foreign

FORWARD_KEY = "net.ipv4.ip_forward"
SYSCTL_PATH = "etc/sysctl.d/90-xenwizard-forward.conf"
SYSCTL_MARKER = "# xenwizard: IPv4 forwarding"
NAT_RULES_PATH = "etc/xenwizard/guest-nat.nft"
NAT_MARKER = "# xenwizard: guests' NAT"
NAT_FAMILY = "ip"
NAT_TABLE = "xenwizard-nat"
NAT_BOOT = NftBoot(
    name="xenwizard-guest-nat",
    rules_path=NAT_RULES_PATH,
    family=NAT_FAMILY,
    table=NAT_TABLE,
    why="masquerades\n# the Xen guests' subnet behind this host's address",
    description="the Xen guests' subnet masqueraded behind this host",
)
NAT_COMMENT = "guests reach other networks through this host's address"

_SYSCTL = """{marker} for the Xen guests ({mode}: {why}).
# Read at boot by systemd-sysctl (procps on older releases); `xenwizard rollback` removes it.
{key} = 1
"""

_SYSCTL_OFF = """{marker} off ({mode}): xenwizard no longer turns it on; the system's own
# setting applies. `xenwizard rollback` puts back what an earlier run wrote.
"""

_NAT_OFF = """#!/usr/sbin/nft -f
{marker} off ({mode}): no masquerade; loading this removes the table an earlier run made.
table {family} {table}
delete table {family} {table}
"""

_NAT_RULES = """#!/usr/sbin/nft -f
{marker}: {net} leaves through this host's own address.
# Loaded at boot by {unit}; `xenwizard rollback` removes it.
table {family} {table}
delete table {family} {table}
table {family} {table} {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr {net} ip daddr != {net} masquerade comment "{comment}"
    }}
}}
"""


def forwards(config: WizardConfig) -> bool:
    return config.guest_access in ("nat", "routed")


def render_sysctl(config: WizardConfig) -> str:
    if not forwards(config):
        return _SYSCTL_OFF.format(marker=SYSCTL_MARKER, mode=config.guest_access)
    why = "masqueraded" if config.guest_access == "nat" else "routed by the LAN router"
    return _SYSCTL.format(marker=SYSCTL_MARKER, mode=config.guest_access, why=why, key=FORWARD_KEY)


def set_sysctl(text: str | None, config: WizardConfig) -> EditResult:
    """The forwarding file as wanted; refuses to overwrite a file xenwizard did not write."""
    refuse_foreign(text, SYSCTL_MARKER, SYSCTL_PATH, "xenwizard's forwarding setting")
    after = render_sysctl(config)
    if text == after:
        return EditResult(after, ("already as wanted",))
    if not forwards(config):
        return EditResult(
            after,
            (
                f"{config.guest_access}: an earlier run's file turned {FORWARD_KEY} on at boot; "
                "it no longer does (the running system keeps its value until the reboot)",
            ),
        )
    return EditResult(
        after,
        (
            f"{FORWARD_KEY} = 1 from boot on (/etc/sysctl.d is read at boot: by "
            "systemd-sysctl, or by procps where the release has no systemd)",
        ),
    )


def render_nat_rules(network: ipaddress.IPv4Network, mode: str = "nat") -> str:
    """The masquerade table for `network`; for another mode, a file that only removes it."""
    if mode != "nat":
        return _NAT_OFF.format(marker=NAT_MARKER, mode=mode, family=NAT_FAMILY, table=NAT_TABLE)
    return _NAT_RULES.format(
        marker=NAT_MARKER,
        net=network,
        unit=NAT_BOOT.unit_name,
        family=NAT_FAMILY,
        table=NAT_TABLE,
        comment=NAT_COMMENT,
    )


def set_nat_rules(
    text: str | None, network: ipaddress.IPv4Network, mode: str = "nat"
) -> EditResult:
    refuse_foreign(text, NAT_MARKER, NAT_RULES_PATH, "xenwizard's NAT rules")
    after = render_nat_rules(network, mode)
    if text == after:
        return EditResult(after, ("already as wanted",))
    if mode != "nat":
        return EditResult(
            after,
            (
                f"{mode}: an earlier run's masquerade rule goes; its unit now loads a file that "
                f"removes table {NAT_FAMILY} {NAT_TABLE} at boot",
            ),
        )
    return EditResult(after, ())


def nat_notes(config: WizardConfig) -> list[str]:
    net = config.network
    return [
        f"traffic from the guests ({net}) to anywhere outside {net} leaves with this host's "
        "address on the way out (masquerade), so the LAN and beyond need no route to the guests",
        (
            "matched by destination, not interface: the guests' traffic leaves through "
            "whichever interface routes it (the bridge has no NIC)"
            if config.isolated
            else "matched by destination, not interface: the bridge also carries the LAN, so "
            "the guests' traffic to it leaves through the bridge itself"
        ),
        f"nftables table {NAT_FAMILY} {NAT_TABLE} of its own: no other firewall rule is "
        "touched, and loading it again replaces only this table",
    ]


def route_hint(config: WizardConfig, lan_address: str | None) -> str:
    """What the admin adds on the LAN router for routed guests."""
    via = lan_address or "this host's LAN address"
    return f"route {config.network} via {via}"


def iptables_nat_line(config: WizardConfig) -> str:
    """ubuntu-precise (no nftables): the same masquerade rule for rc.local, added once;
    `|| true` since rc.local runs with sh -e (iptables is in every 12.04 install: priority
    important)."""
    net = config.network
    rule = f"POSTROUTING -s {net} ! -d {net} -j MASQUERADE"
    return f"iptables -t nat -C {rule} 2>/dev/null || iptables -t nat -A {rule} || true"


def host_only_dnsmasq_lines() -> str:
    """dnsmasq lines for host-only: an empty router option, so leases carry no gateway."""
    return (
        "# host-only: the guests reach only this host; advertise no router.\n"
        "dhcp-option=option:router\n"
    )
