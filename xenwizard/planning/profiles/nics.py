"""Why a NIC cannot be the bridge's port, and the package ifupdown needs to raise it as one."""

from __future__ import annotations

import re
from collections.abc import Callable

from xenwizard.target.netlayout import NETPLAN, NetLayout, wireless
from xenwizard.target.probe import InterfaceInfo, SystemFacts

# ifupdown raises a bond only with ifenslave's hooks (bond-slaves, bond-mode: Debian's
# ifenslave 2.13, /etc/network/if-pre-up.d/ifenslave), and a VLAN named vlanID with
# `vlan-raw-device` only with the vlan package's (vlan 2.0.5, /etc/network/if-pre-up.d/vlan).
# A VLAN named RAW.ID (eno1.10) ifupdown 0.8 makes itself (its link.defn: `ip link add link
# eno1 name eno1.10 type vlan id 10`, as `ifup --no-act` prints), and the vlan package's hook
# leaves those alone. netplan's networkd needs neither package.
BOND_PACKAGE = "ifenslave"
VLAN_PACKAGE = "vlan"
RAW_DOT_ID = re.compile(r"^[^.\s]+\.\d+$")
PORT_WORDS = {"bond": "bond", "vlan": "VLAN with vlan-raw-device"}
PORT_PACKAGE_NOTE = (
    "{package}: {nic} is a {kind}, which ifupdown raises only with {package}'s if-pre-up.d hook"
)


def port_package(backend: str, kind: str, nic: str) -> str | None:
    """The package ifupdown needs to raise the bridge's port (None: ifupdown alone does)."""
    if backend == NETPLAN:
        return None
    if kind == "bond":
        return BOND_PACKAGE
    if kind == "vlan" and not RAW_DOT_ID.match(nic):
        return VLAN_PACKAGE
    return None


def nic_problem(name: str, facts: SystemFacts, read_layout: Callable[[], NetLayout]) -> str | None:
    """Why `name` cannot be the bridged NIC (None when it can): it must be a configured,
    physical, non-wireless interface of the target. The layout is read only when the name
    alone does not answer."""
    if name == "lo":
        return "is the loopback interface; choose the NIC that carries the LAN"
    if wireless(name):
        return "is a wireless interface; a Wi-Fi NIC cannot be a bridge port"
    info = facts.interface(name)
    if info is not None and info.is_bridge:
        return "is a bridge already; choose the NIC it should take over"
    layout = read_layout()
    if info is not None and facts.live:
        problem = _live_problem(info, layout)
        if problem is not None:
            return problem
    if layout.error is not None:
        return None  # the bridge step names what is wrong with the file
    names = layout.names
    if name in names or (layout.backend == NETPLAN and layout.netplan_id(name) in names):
        return None
    why = layout.why_not(name)
    if why is not None:
        return f"is {why} in {layout.where}; choose the NIC that carries the LAN"
    where = layout.where
    known = ", ".join(names) or "none"
    if info is None:
        return f"is not an interface of this target (configured in {where}: {known})"
    return f"is not configured in {where} (configured: {known})"


def _live_problem(info: InterfaceInfo, layout: NetLayout) -> str | None:
    """Why the live interface cannot be the bridge's port (None: it may be): a bond's member
    (the bond is the port), another bridge's port, Wi-Fi, or no NIC, bond or VLAN at all."""
    if info.port_of is not None:
        what, master = info.port_of
        if what == "bond":
            return f"is a member of the bond {master}; choose {master}, the bond itself"
        ours = any(nic.ours for nic in layout.nics if nic.name == info.name)
        if not ours:
            return f"is a port of the bridge {master} already; choose another NIC"
    if info.kind == "wlan":
        return "is a wireless interface; a Wi-Fi NIC cannot be a bridge port"
    if not info.is_physical and info.kind not in ("bond", "vlan", "physical"):
        return "is not a physical NIC, a bond or a VLAN"
    return None
