"""The checks of the bridge: it exists and is up, with the host's addresses on it."""

from __future__ import annotations

from xenwizard.verify.hostcheck.context import Context
from xenwizard.verify.hostcheck.results import CheckResult, failed, passed

BRIDGE_STEP = "bridge"  # current releases: the bridge in ifupdown's or netplan's configuration
INTERFACES = "etc/network/interfaces"


def check_bridge(ctx: Context) -> CheckResult:
    bridge = ctx.config.bridge
    link = ctx.live.link(bridge)
    if link is None:
        return failed("bridge", f"{bridge} does not exist; {_bridge_maker(ctx)}")
    if not link.is_bridge:
        return failed("bridge", f"{bridge} exists but is not a bridge")
    if not link.up:
        return failed("bridge", f"{bridge} is down; bring it up with `ip link set {bridge} up`")
    no_carrier = link.operstate in ("down", "lowerlayerdown", "dormant")
    carrier = f" (no port has carrier yet: state {link.operstate})" if no_carrier else ""
    return passed("bridge", f"{bridge} is a bridge and up{carrier}")


def _bridge_maker(ctx: Context) -> str:
    """What creates the bridge at boot, as the applied plan set it up."""
    bridge, run = ctx.config.bridge, ctx.run
    if run is None:
        return (
            "with no applied run to read, it is not known what should create it "
            "(ifupdown, netplan or the toolstack)"
        )
    step = run.step(BRIDGE_STEP)
    path = str(step.get("path") or "") if step else ""
    if path == INTERFACES:
        return (
            f"ifupdown creates it at boot from {path} (`auto {bridge}`, written by the "
            f"{BRIDGE_STEP} step): see `journalctl -b -u networking`"
        )
    if path.startswith("etc/netplan/"):
        return (
            f"netplan has systemd-networkd create it at boot from {path} (written by the "
            f"{BRIDGE_STEP} step): see `netplan generate` and `journalctl -b -u systemd-networkd`"
        )
    if path:
        return f"the {BRIDGE_STEP} step wrote it into {path}, which should create it at boot"
    if run.profile == "ubuntu-precise":  # xend's network-script (network-bridge) makes it
        return "the toolstack's network script creates it at boot"
    return f"run {run.run_id} has no {BRIDGE_STEP} step that says what creates it"


def check_bridge_address(ctx: Context) -> CheckResult:
    bridge, alias = ctx.config.bridge, ctx.config.alias
    if ctx.live.link(bridge) is None:
        return failed("bridge-address", f"{bridge} does not exist")
    own = ctx.live.addresses().get(bridge, [])
    if own:
        shown = ", ".join(str(a) for a in own)
        return passed(
            "bridge-address", f"{bridge} has {shown} unlabelled, so dnsmasq serves {alias}'s subnet"
        )
    return failed(
        "bridge-address",
        f"{bridge} has no unlabelled IPv4 address; dnsmasq ignores the labelled {alias} alias "
        f"and answers no guest (give {bridge} the LAN address, as xend's network-bridge does "
        "when the NIC has one)",
    )


def check_alias(ctx: Context) -> CheckResult:
    cfg = ctx.config
    label = ctx.address_label
    wanted = cfg.interface
    addresses = ctx.live.addresses()
    here = addresses.get(label, [])
    if wanted in here:
        return passed("alias", f"{wanted} on {label}")
    same_ip = [a for a in here if a.ip == wanted.ip]
    if same_ip:
        return failed(
            "alias",
            f"{same_ip[0]} on {label}: prefix /{same_ip[0].network.prefixlen}, "
            f"expected /{cfg.prefixlen}",
        )
    elsewhere = [(name, a) for name, addrs in addresses.items() for a in addrs if a.ip == wanted.ip]
    if elsewhere:
        name, addr = elsewhere[0]
        return failed("alias", f"{addr} is on {name}, expected {wanted} labelled {label}")
    hint = (
        f"; bring it up with `ifup {label}` (rc.local does at boot)" if ctx.labelled_alias else ""
    )
    return failed("alias", f"no {wanted} on {label}{hint}")
