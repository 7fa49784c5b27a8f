"""The DHCP confinement on the current releases: the nftables rules that keep DHCP on the bridge.

They match the bridged NIC by its kernel name (`nic_ifname`), which netplan's files may not give.
An isolated run after a bridged one turns them off (`confine_off_steps`).
"""

from __future__ import annotations

import fnmatch
from functools import partial

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, ifupdown, netplan, nftconfine
from xenwizard.planning.plan import Step
from xenwizard.planning.profiles.base import PlanError, edit_step, nft_boot_steps, with_notes
from xenwizard.target.netlayout import NETPLAN, NetLayout, NicChoice
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS

INTERFACES = ifupdown.INTERFACES


def confine_steps(
    config: WizardConfig,
    facts: SystemFacts,
    fs: RootFS,
    layout: NetLayout,
    choice: NicChoice,
) -> list[Step]:
    """The nftables ruleset that keeps DHCP on the bridge, its boot unit and the unit's
    enabling link. Written only: the unit loads the rules at the next boot (the bridge
    they guard exists only then), like the bridge step, never on the running system."""
    bridge = config.bridge
    ifname, how = nic_ifname(config, facts, layout, choice)
    rules = edit_step(
        "dhcp-confine",
        f"nftables: DHCP confined on {bridge} (the LAN's {ifname} kept out)",
        fs,
        nftconfine.RULES_PATH,
        partial(nftconfine.set_rules, bridge=bridge, nic=ifname),
        mode=nftconfine.MODE,
    )
    rules_notes = [
        *nftconfine.rules_notes(bridge, ifname),
        f"{ifname}: {how}",
        f"loaded at boot by {nftconfine.UNIT_NAME}; xenwizard never loads the rules on "
        "the running system (the bridge they guard exists from the reboot on)",
    ]
    return [
        with_notes(rules, [*rules_notes, *rules.notes]),
        *nft_boot_steps("dhcp-confine", fs, nftconfine.BOOT, "the DHCP rules"),
    ]


def confine_off_steps(config: WizardConfig, fs: RootFS) -> list[Step]:
    """An earlier bridged run's DHCP confinement turned off where it is there: its unit would
    otherwise load rules for a NIC port the isolated bridge no longer has at every boot."""
    if not fs.exists(nftconfine.RULES_PATH):
        return []
    return [
        edit_step(
            "dhcp-confine-off",
            f"nftables: the earlier run's DHCP confinement off ({config.bridge} has no NIC)",
            fs,
            nftconfine.RULES_PATH,
            partial(nftconfine.set_off, bridge=config.bridge),
            mode=nftconfine.MODE,
        )
    ]


def nic_ifname(
    config: WizardConfig, facts: SystemFacts, layout: NetLayout, choice: NicChoice
) -> tuple[str, str]:
    """(name, how it was found) of the bridged NIC as the kernel names it: nftables'
    iifname/oifname match kernel interface names, not configuration names.

    ifupdown's stanzas are kernel names, so the choice's name is it. With netplan the
    choice's name is a netplan ID (primary_nic maps --nic to the ID that configures it),
    which may differ from the kernel's name: `set-name`, an ID without `match` or a literal
    `match: name` give it (netplan.kernel_name); else the interface with the NIC's MAC
    among the probed interfaces (the live system). --nic is no help here: with netplan it
    is accepted only as the ID or a name the files give. Nothing else would be the right
    name, so the plan is refused then rather than writing rules for a wrong name.
    """
    nic = choice.name
    assert nic is not None
    if choice.backend != NETPLAN:
        return nic, f"the kernel's name of the NIC, as {INTERFACES} names it"
    try:
        name = netplan.kernel_name(layout.netplan_files(), nic)
    except EditError:
        name = None  # the bridge step has already reported what is wrong with the files
    if name:
        return name, f"the kernel's name of netplan's {nic} (set-name, match or its ID)"
    glob = _netplan_glob(layout, nic)
    if glob and config.nic and fnmatch.fnmatchcase(config.nic, glob):
        return config.nic, f"named with --nic; netplan's {nic} picks it by {glob}"
    if glob:
        return _glob_ifname(facts, nic, glob)
    same_mac = [
        info
        for info in facts.interfaces
        if choice.mac and (info.mac or "").lower() == choice.mac and not info.is_bridge
    ]  # a physical NIC first: a VLAN on it (eno1.10) has the same MAC
    same_mac.sort(key=lambda info: not info.is_physical)
    if same_mac:
        return same_mac[0].name, f"the interface with {nic}'s MAC {choice.mac}"
    raise PlanError(
        f"{netplan.NETPLAN_DIR}: netplan's {nic} selects its interface by MAC only, so its "
        "kernel name (which the DHCP confinement rules need) is not in the files; plan on "
        "the live system, which finds the interface by its MAC, or give the entry a "
        "`set-name:`"
    )


def _netplan_glob(layout: NetLayout, nic_id: str) -> str | None:
    try:
        return netplan.name_glob(layout.netplan_files(), nic_id)
    except EditError:
        return None


def _glob_ifname(facts: SystemFacts, nic_id: str, glob: str) -> tuple[str, str]:
    """The one physical interface of the live system that netplan's `match: name: GLOB` picks:
    the bridge takes every interface the pattern matches, so several is refused, and without
    the live system nothing says which interface that is."""
    matching = [
        info.name
        for info in facts.interfaces
        if info.is_physical and not info.is_bridge and fnmatch.fnmatchcase(info.name, glob)
    ]
    if len(matching) == 1:
        return matching[0], f"the one interface of this host that netplan's {nic_id} ({glob}) picks"
    if matching:
        raise PlanError(
            f"{netplan.NETPLAN_DIR}: netplan's {nic_id} matches {glob}, which picks "
            f"{', '.join(matching)} here: every one of them would join the bridge; give the NIC "
            "its own entry (a `set-name:` or a literal `match: name:`) and plan again"
        )
    raise PlanError(
        f"{netplan.NETPLAN_DIR}: netplan's {nic_id} selects its interface by the pattern {glob}, "
        "so the NIC's kernel name (which the DHCP confinement rules need) is not in the files; "
        "name it with --nic, plan on the live system (which finds the interface the pattern "
        "picks), or give the entry a `set-name:`"
    )
