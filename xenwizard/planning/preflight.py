"""Warnings the operator must see before choosing: name clashes, subnet overlaps, and too
little RAM beside dom0 for a guest."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import partial
from typing import Protocol

from xenwizard.answers.checks import MAX_IFNAME_LEN
from xenwizard.answers.clashes import Target, clashes
from xenwizard.answers.model import WizardConfig
from xenwizard.planning import dom0size
from xenwizard.target.probe import SystemFacts
from xenwizard.target.rootfs import RootFS


class NicRules(Protocol):
    """What `target_of` needs of a profile: its bridge-name limit and its NIC rule."""

    @property
    def bridge_max_len(self) -> int: ...

    def nic_problem(self, name: str, facts: SystemFacts, fs: RootFS) -> str | None: ...


def target_of(
    facts: SystemFacts, fs: RootFS | None = None, profile: NicRules | None = None
) -> Target:
    """What the answers must not clash with on this target, and the profile's NIC rule."""
    addresses = [(a, i.name, f"on {i.name}") for i in facts.interfaces for a in i.addresses]
    addresses += [(a, name, f"configured for {name}") for name, a in facts.configured_addresses]
    gateway = None
    if facts.default_route is not None:
        try:
            gateway = ipaddress.IPv4Address(facts.default_route.gateway)
        except ValueError:
            gateway = None
    check = None
    if profile is not None and fs is not None:
        check = partial(profile.nic_problem, facts=facts, fs=fs)
    return Target(
        addresses=tuple(addresses),
        gateway=gateway,
        routes=facts.configured_routes + facts.live_routes,
        nic_check=check,
        bridge_max_len=profile.bridge_max_len if profile is not None else MAX_IFNAME_LEN,
        mem_total_mib=dom0size.machine_mib(facts),
        replaced=facts.replaced_addresses,
    )


def bridge_clash(bridge: str, facts: SystemFacts) -> str | None:
    """A live interface of that name that is not a bridge would be taken over."""
    existing = facts.interface(bridge)
    if existing is None or existing.is_bridge:
        return None
    return f"bridge name {bridge} is already used by an interface that is not a bridge"


def subnet_overlaps(config: WizardConfig, facts: SystemFacts) -> list[str]:
    """Every live or configured address whose network overlaps the guest subnet."""
    ours = config.network
    own_alias = {config.alias}
    found: list[str] = []
    seen: set[tuple[str, str]] = set()
    live = [(i.name, a) for i in facts.interfaces for a in i.addresses]
    for source, entries in (("live", live), ("configured", list(facts.configured_addresses))):
        for name, addr in entries:
            if name in own_alias or addr.is_loopback or (name, addr) in facts.replaced_addresses:
                continue
            if addr.network.overlaps(ours) and (name, str(addr)) not in seen:
                seen.add((name, str(addr)))
                where = "on" if source == "live" else "configured for"
                found.append(f"subnet {ours} overlaps {addr} {where} {name}")
    return found


def refusal(fs: RootFS, *, needs_grub: bool) -> str | None:
    """Why xenwizard must not set this target up for Xen (None: nothing in the way), one line
    naming the file: UEFI Secure Boot on (Xen is not signed for the distribution's shim: it
    would not boot), or no GRUB where the plan makes Xen's boot entry."""
    from xenwizard.target import boot

    on, _why = boot.secure_boot(fs)
    if on:
        return (
            f"/{boot.SECURE_BOOT_VAR}: UEFI Secure Boot is on, and Xen is not signed for the "
            "distribution's shim, so it would not boot; turn Secure Boot off in the firmware "
            "setup first"
        )
    if needs_grub:
        missing = boot.grub_missing(fs)
        if missing:
            return (
                f"{missing}: no GRUB on this target (another bootloader): xenwizard makes Xen's "
                "boot entry with GRUB only; add Xen's entry to that bootloader by hand (xen.gz "
                "as the kernel, the dom0 kernel and its initrd as modules) instead"
            )
    return None


def secure_boot_warning(fs: RootFS) -> str | None:
    """When the Secure Boot state cannot be read: say so, and how to check by hand."""
    from xenwizard.target import boot

    on, why = boot.secure_boot(fs)
    if on is None and "expected" in why:
        return f"Secure Boot state unknown ({why}); check `mokutil --sb-state` before rebooting"
    return None


def warnings(config: WizardConfig, facts: SystemFacts) -> list[str]:
    clash = bridge_clash(config.bridge, facts)
    found = [clash] if clash else []
    memory = dom0size.headroom_warning(config, facts)
    if memory:
        found.append(memory)
    if config.allow_overlap:
        allowed = [why for _, why in clashes(config, target_of(facts))]
        found += [f"ALLOWED with --allow-overlap, against the rule: {why}" for why in allowed]
        return found
    return found + subnet_overlaps(config, facts)


def alias_lan_address_warning(config: WizardConfig, facts: SystemFacts) -> str | None:
    """For preflight on a live host: BR will have no unlabelled address after the reboot.

    xend's network-bridge moves the default-route NIC's addresses onto BR. When that NIC (or
    the one chosen with --nic) has no IPv4 address, or there is no default route to find it,
    BR ends up with the labelled alias only, and dnsmasq answers no guest.
    """
    if not facts.live:
        return None
    nic = config.nic or (facts.default_route.interface if facts.default_route else None)
    consequence = (
        f"{config.bridge} will have no unlabelled IPv4 address after the reboot, and dnsmasq "
        f"ignores the labelled {config.alias} alias then (no guest gets a lease)"
    )
    if nic is None:
        return "no default route: xend's network-bridge finds no NIC to move onto the bridge; " + (
            consequence
        )
    info = facts.interface(nic)
    if info is not None and not info.addresses:
        return (
            f"{nic} has no IPv4 address: xend's network-bridge moves it into {config.bridge}, so "
            f"{consequence}; give {nic} an address first"
        )
    return None


def lan_clash(
    config: WizardConfig, facts: SystemFacts, note: Callable[[str], None] | None = None
) -> str | None:
    """On the live root: another machine on the LAN answers ARP for the host's guest-subnet
    address (another Xen host with the same subnet). Unless --allow-overlap."""
    if not facts.live or config.allow_overlap:
        return None
    from xenwizard.target.lanprobe import (
        lan_refusal,  # sockets and a second's wait: live roots only
    )

    lan = facts.default_route.interface if facts.default_route is not None else None
    own = {str(a.ip) for i in facts.interfaces for a in i.addresses}
    return lan_refusal(config.interface, lan, own, note)
