"""The steps of the `guest-access` answer (nat, routed, host-only): all of them on the current
releases (`steps`); ubuntu-precise takes the forwarding steps and puts its NAT into rc.local.

nat and routed: IPv4 forwarding in xenwizard's file in /etc/sysctl.d (read at boot) and set on
the running system now (the journal keeps the old value; a rollback writes it back). nat also
gets its masquerade table, loaded at boot by its own unit (`base.nft_boot_steps`, the same
pattern as the DHCP confinement). host-only adds nothing here: its part is in the dnsmasq
drop-in (no router advertised).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from functools import partial

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import guestipv6, guestnet
from xenwizard.planning.plan import SetSysctl, Step
from xenwizard.planning.profiles.base import edit_step, nft_boot_steps
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS
from xenwizard.target.sysctl import read as read_sysctl


def lan_address(config: WizardConfig, facts: SystemFacts, nic: str | None) -> str | None:
    """The host's address on the LAN, where known: the NIC's (or the bridge's, after an
    earlier run) live address outside the guest subnet, else one configured for the NIC."""
    candidates: list[ipaddress.IPv4Interface] = []
    for name in (nic, config.bridge):
        info = facts.interface(name) if name else None
        if info is not None:
            candidates += info.addresses
    candidates += [addr for name, addr in facts.configured_addresses if name == nic]
    for addr in candidates:
        if addr.ip not in config.network and not addr.ip.is_loopback:
            return str(addr.ip)
    return None


def route_note(config: WizardConfig, facts: SystemFacts, nic: str | None) -> str:
    hint = guestnet.route_hint(config, lan_address(config, facts, nic))
    return (
        f"routed: the guests keep their own addresses; on the LAN router add `{hint}`, or "
        "replies to the guests never find their way back"
    )


def forward_steps(config: WizardConfig, fs: RootFS, why: str) -> list[Step]:
    """The sysctl.d file and the same value set now (live root only)."""
    file_step = edit_step(
        "guest-forward",
        "sysctl: IPv4 forwarding for the guests, from boot on",
        fs,
        guestnet.SYSCTL_PATH,
        partial(guestnet.set_sysctl, config=config),
    )
    file_step = replace(file_step, notes=(*file_step.notes, why))
    if not fs.is_live:  # that kernel is not this machine's: the file acts at its boot
        return [file_step]
    file_step = replace(
        file_step, notes=(*file_step.notes, "the next step sets it on the running system now")
    )
    current = read_sysctl(guestnet.FORWARD_KEY)
    if current == "1":
        note = f"{guestnet.FORWARD_KEY} is already 1 on the running system"
    else:
        note = (
            f"{guestnet.FORWARD_KEY} is {current} now; set to 1 with `sysctl -w`, and a "
            f"rollback sets it back to {current}"
        )
    now = SetSysctl(
        id="guest-forward-now",
        title="sysctl: IPv4 forwarding on the running system",
        key=guestnet.FORWARD_KEY,
        value="1",
        current=current,
        notes=(note,),
    )
    return [file_step, now]


def nat_steps(config: WizardConfig, fs: RootFS) -> list[Step]:
    """The masquerade table's rules file, its boot unit and the unit's link."""
    boot = guestnet.NAT_BOOT
    rules = edit_step(
        "guest-nat",
        f"nftables: the guests' subnet {config.network} masqueraded behind this host",
        fs,
        boot.rules_path,
        partial(guestnet.set_nat_rules, network=config.network),
    )
    notes = [
        *guestnet.nat_notes(config),
        f"loaded at boot by {boot.unit_name}; xenwizard does not load it on the running system",
    ]
    return [
        replace(rules, notes=(*notes, *rules.notes)),
        *nft_boot_steps("guest-nat", fs, boot, "the NAT rules"),
    ]


def off_steps(config: WizardConfig, fs: RootFS, *, nat: bool) -> list[Step]:
    """An earlier run's forwarding file (host-only) and NAT rules (`nat`: routed, host-only)
    turned off, where they are there: rewritten, not deleted, so that the rollback of this run
    puts the earlier run's files back."""
    found: list[Step] = []
    if not guestnet.forwards(config) and fs.exists(guestnet.SYSCTL_PATH):
        found.append(
            edit_step(
                "guest-forward",
                "sysctl: IPv4 forwarding for the guests off",
                fs,
                guestnet.SYSCTL_PATH,
                partial(guestnet.set_sysctl, config=config),
            )
        )
    if nat and fs.exists(guestnet.NAT_RULES_PATH):
        found.append(
            edit_step(
                "guest-nat",
                "nftables: the guests' NAT off",
                fs,
                guestnet.NAT_RULES_PATH,
                partial(guestnet.set_nat_rules, network=config.network, mode=config.guest_access),
            )
        )
    return found


def steps(config: WizardConfig, facts: SystemFacts, fs: RootFS, nic: str | None) -> list[Step]:
    """Every step the answer needs on a current release; for routed and host-only also what
    turns an earlier run's NAT (and, host-only, forwarding) off."""
    if config.guest_access == "nat":
        why = "nat: the host forwards the guests' traffic and masquerades it (next steps)"
        return forward_steps(config, fs, why) + nat_steps(config, fs)
    off = off_steps(config, fs, nat=True)
    if config.guest_access == "routed":
        return forward_steps(config, fs, route_note(config, facts, nic)) + off
    return off


def ipv6_steps(config: WizardConfig, fs: RootFS) -> list[Step]:
    """IPv6 forwarding from boot on, for a guest prefix in a forwarding mode; an earlier run's
    file turned off where there is one (rewritten, not deleted, so a rollback restores it).
    Nothing for `none` on a root that never had it: such plans are as they were."""
    if not guestipv6.forwards6(config) and not fs.exists(guestipv6.SYSCTL_PATH):
        return []
    on = guestipv6.forwards6(config)
    step = edit_step(
        "guest-ipv6-forward",
        f"sysctl: IPv6 forwarding for the guests' {config.ipv6_prefix}, from boot on"
        if on
        else "sysctl: IPv6 forwarding for the guests off",
        fs,
        guestipv6.SYSCTL_PATH,
        partial(guestipv6.set_sysctl, config=config),
    )
    return [replace(step, notes=(*step.notes, *guestipv6.notes(config)))]
