"""The answers against what the target already uses: addresses, routes, the NIC, the RAM."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from xenwizard.answers import dom0mem
from xenwizard.answers.checks import MAX_IFNAME_LEN
from xenwizard.answers.model import FieldProblem, WizardConfig


@dataclass(frozen=True, slots=True)
class Target:
    """What the answers' target-dependent rules need to know about the target system.

    Built from the probe by `preflight.target_of` (answers/ imports nothing but the
    stdlib and the leaves).
    `addresses`: every configured or live address with its interface and where it is ("on
    eno1", "configured for eno1"); `nic_check`: the profile's verdict on a NIC name (None
    when it can be bridged, else why not; no check where the profile takes no NIC);
    `mem_total_mib`: the machine's RAM (None: unknown, e.g. under Xen, where MemTotal is dom0's).
    `replaced`: (interface, address) xenwizard's own last applied run configured.
    """

    addresses: tuple[tuple[ipaddress.IPv4Interface, str, str], ...] = ()  # (addr, iface, where)
    gateway: ipaddress.IPv4Address | None = None
    routes: tuple[tuple[ipaddress.IPv4Network, str], ...] = ()  # configured/live (routes.py)
    nic_check: Callable[[str], str | None] | None = None
    bridge_max_len: int = MAX_IFNAME_LEN
    mem_total_mib: int | None = None
    replaced: tuple[tuple[str, ipaddress.IPv4Interface], ...] = ()  # (iface, addr): see others

    def others(self, cfg: WizardConfig) -> list[tuple[ipaddress.IPv4Interface, str]]:
        """The used addresses but this run's own: an earlier apply's guest address on BR, and
        what xenwizard's own last applied run configured (`replaced`: this run replaces it,
        whatever its bridge name or subnet was)."""
        own = {cfg.bridge, cfg.alias}
        return [
            (addr, where)
            for addr, iface, where in self.addresses
            if not addr.is_loopback
            and not (iface in own and addr == cfg.interface)
            and (iface, addr) not in self.replaced
        ]


def target_problems(cfg: WizardConfig, target: Target) -> list[FieldProblem]:
    """The clashes of a valid config with the target: subnet, host address, range, NIC, and
    a dom0 memory above the machine's RAM."""
    problems: list[FieldProblem] = []
    if cfg.dom0_mem is not None:
        why = dom0mem.problem(cfg.dom0_mem, target.mem_total_mib)
        if why:
            problems.append(FieldProblem("dom0-mem", why))
    if cfg.nic is not None and target.nic_check is not None:
        why = target.nic_check(cfg.nic)
        if why:
            problems.append(FieldProblem("nic", f"{cfg.nic} {why}"))
    if not cfg.allow_overlap:
        problems += [FieldProblem(k, m) for k, m in clashes(cfg, target)]
    return problems


def clashes(cfg: WizardConfig, target: Target) -> list[tuple[str, str]]:
    """(field, what clashes) for the guest subnet, host address and DHCP range."""
    found: list[tuple[str, str]] = []
    net, host = cfg.network, cfg.interface.ip
    first = ipaddress.IPv4Address(cfg.dhcp_start)
    last = ipaddress.IPv4Address(cfg.dhcp_end)
    used: list[tuple[ipaddress.IPv4Address, str]] = [(a.ip, w) for a, w in target.others(cfg)]
    if target.gateway is not None:
        used.append((target.gateway, "the default gateway"))
    for addr, where in target.others(cfg):
        if addr.network.overlaps(net):
            found.append(("address", f"subnet {net} overlaps {addr} {where}"))
            break
    else:
        for route, where in target.routes:
            if route.overlaps(net):
                found.append(("address", f"subnet {net} overlaps the route to {route} {where}"))
                break
    for ip, where in used:
        if ip == host:
            found.append(("address", f"{host} is already used ({where})"))
            break
    for ip, where in used:
        if first <= ip <= last:
            found.append(("dhcp-range", f"range {first}-{last} contains {ip} ({where})"))
            break
    for route, where in target.routes:
        if first <= route.broadcast_address and route.network_address <= last:
            found.append(
                ("dhcp-range", f"range {first}-{last} reaches the route to {route} {where}")
            )
            break
    return found


def _private_24s() -> Iterator[ipaddress.IPv4Network]:
    for third in range(256):
        yield ipaddress.IPv4Network(f"10.0.{third}.0/24")
    for second in range(16, 32):
        for third in range(256):
            yield ipaddress.IPv4Network(f"172.{second}.{third}.0/24")
    for third in range(256):
        yield ipaddress.IPv4Network(f"192.168.{third}.0/24")


def free_default_address(target: Target) -> tuple[str, str | None]:
    """The default guest address: 10.0.0.1/24 unless the target uses that subnet, else the
    first free private /24 (10.0.N, 172.16-31.N, 192.168.N) with why the default was left."""
    default = WizardConfig()
    problems = clashes(default, target)
    if not problems:
        return default.address, None
    why = problems[0][1]
    for net in _private_24s():
        address = f"{net.network_address + 1}/24"
        start, end = net.network_address + 10, net.network_address + 100
        candidate = replace(default, address=address, dhcp_start=str(start), dhcp_end=str(end))
        if not clashes(candidate, target):
            return address, f"guest subnet {net}: the default {default.network} is taken ({why})"
    return default.address, None
