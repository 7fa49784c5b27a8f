"""IPv6 for the guests (the `guest-ipv6` answer): a /64 of the operator's, advertised by the host.

With a prefix, the host takes PREFIX::1/64 on the bridge (the bridge edits of ifupdown and
netplan), and dnsmasq advertises the prefix there: `enable-ra` and a `dhcp-range` in
`ra-stateless` mode (router advertisements with the A and O bits: guests make their own
addresses by SLAAC, and stateless DHCPv6 gives them DNS). Stateless, not stateful: every guest
OS does SLAAC with no DHCPv6 client, the address follows from the Xen MAC, and dnsmasq keeps no
IPv6 leases. host-only advertises the prefix with a router lifetime of 0 (`ra-param=BR,0,0`):
the guests get addresses but no default route, as their IPv4 leases carry no router.

IPv6 has no NAT here: for nat and routed the host forwards IPv6, and the LAN router must route
the prefix to the host. Forwarding is a file in /etc/sysctl.d, read at boot, never set on the
running system: with forwarding on, the kernel ignores router advertisements on interfaces with
accept_ra 1, so setting it now would cost the host its own IPv6 default route on the NIC before
the bridge exists. The file also sets accept_ra 2 as the default for interfaces created after
it is read (the bridge), so the host keeps its own address and route from the LAN.

With `none` (the default) dnsmasq advertises nothing and the DHCP confinement keeps the LAN's
advertisements away: the guests get no IPv6 from anyone.
"""

from __future__ import annotations

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditResult
from xenwizard.edits.nftunit import refuse_foreign

SYSCTL_PATH = "etc/sysctl.d/90-xenwizard-ipv6.conf"
SYSCTL_MARKER = "# xenwizard: IPv6 forwarding"
FORWARD_KEY = "net.ipv6.conf.all.forwarding"
ACCEPT_RA_KEY = "net.ipv6.conf.default.accept_ra"  # 2: accept RAs although forwarding

_SYSCTL = """{marker} for the Xen guests' {prefix} ({mode}: the LAN router routes it here).
# Read at boot by systemd-sysctl; `xenwizard rollback` removes it.
{forward} = 1
# Forwarding makes the kernel ignore router advertisements where accept_ra is 1; 2, the default
# for interfaces made after boot reads this (the bridge), keeps the host's own IPv6 from the LAN.
{accept_ra} = 2
"""

_SYSCTL_OFF = """{marker} off ({why}): xenwizard no longer turns it on; the system's own
# setting applies. `xenwizard rollback` puts back what an earlier run wrote.
"""


def forwards6(config: WizardConfig) -> bool:
    """Whether the host forwards the guests' IPv6: a prefix, and a mode that forwards."""
    return config.ipv6_prefix is not None and config.guest_access != "host-only"


def dnsmasq_lines(config: WizardConfig) -> list[str]:
    """dnsmasq's lines for the guests' prefix (none for `none`); checked with `dnsmasq --test`."""
    prefix, host = config.ipv6_prefix, config.host_ipv6
    if prefix is None or host is None:
        return []
    lines = [
        f"# IPv6: this host ({host.ip} on {config.bridge}) advertises {prefix}; guests make",
        "# their addresses by SLAAC (ra-stateless: stateless DHCPv6 gives them DNS).",
        "enable-ra",
        f"dhcp-range={prefix.network_address},ra-stateless,64,{config.lease}",
    ]
    if config.guest_access == "host-only":
        lines += [
            "# host-only: the prefix, but no default route (router lifetime 0).",
            f"ra-param={config.bridge},0,0",
        ]
    return lines


def render_sysctl(config: WizardConfig) -> str:
    if not forwards6(config):
        why = "no guest IPv6" if config.ipv6_prefix is None else config.guest_access
        return _SYSCTL_OFF.format(marker=SYSCTL_MARKER, why=why)
    return _SYSCTL.format(
        marker=SYSCTL_MARKER,
        prefix=config.ipv6_prefix,
        mode=config.guest_access,
        forward=FORWARD_KEY,
        accept_ra=ACCEPT_RA_KEY,
    )


def set_sysctl(text: str | None, config: WizardConfig) -> EditResult:
    """The IPv6 forwarding file as wanted; refuses to overwrite a file xenwizard did not write."""
    refuse_foreign(text, SYSCTL_MARKER, SYSCTL_PATH, "xenwizard's IPv6 forwarding setting")
    after = render_sysctl(config)
    if text == after:
        return EditResult(after, ("already as wanted",))
    if not forwards6(config):
        return EditResult(
            after,
            (
                f"an earlier run's file turned {FORWARD_KEY} on at boot; it no longer does "
                "(the running system keeps its value until the reboot)",
            ),
        )
    return EditResult(
        after,
        (
            f"{FORWARD_KEY} = 1 and {ACCEPT_RA_KEY} = 2 from boot on (systemd-sysctl reads "
            "/etc/sysctl.d before the network is configured); not set on the running system, "
            "where forwarding would make the NIC ignore the LAN's router advertisements",
        ),
    )


def notes(config: WizardConfig) -> list[str]:
    """What the prefix means for the operator, in plain words."""
    prefix, host = config.ipv6_prefix, config.host_ipv6
    if prefix is None or host is None:
        return []
    found = [
        f"IPv6: {config.bridge} takes {host}; dnsmasq advertises {prefix} there and the guests "
        "make their addresses in it by SLAAC",
    ]
    if config.guest_access == "host-only":
        found.append("host-only: the advertisements name no router, so guests reach only this host")
    else:
        found.append(
            f"IPv6 is routed, never NATed: the LAN router needs a route for {prefix} via this "
            "host's IPv6 address on the LAN, or the guests' replies never find their way back"
        )
    return found
