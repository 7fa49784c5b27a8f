"""The operator's answers as one validated value object, and the problems found in them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from xenwizard.errors import XenwizardError

XEN_MAC_PREFIX = "00:16:3e"  # Xen's OUI: xen docs/man/xl-network-configuration.5 ("mac")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One rejected answer: which field, and why in words an operator understands."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ConfigError(XenwizardError, ValueError):
    """Raised with every problem found, so a form can mark all bad fields at once."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def lines(self) -> list[str]:
        return [f"invalid answer {problem}" for problem in self.problems]


CONFIRM_WITHIN_DEFAULT = 10  # minutes after boot the boot guard waits for `xenwizard confirm`


@dataclass(frozen=True, slots=True)
class WizardConfig:
    """Validated answers; defaults are the seed procedure's values."""

    bridge: str = "br0"
    address: str = "10.0.0.1/24"
    dhcp_start: str = "10.0.0.10"
    dhcp_end: str = "10.0.0.100"
    subnet_pool: str | None = None  # fleets: the address is .1 of the pool's /24 number host_index
    host_index: int | None = None
    lease: str = "12h"
    dhcp_xen_only: bool = True
    nic: str | None = None
    isolated: bool = False  # the bridge has no NIC; guests reach out through the host only
    udp_checksum_workaround: bool | None = None  # None: the profile's default
    allow_overlap: bool = False  # accept a subnet/range clashing with what the target uses
    dom0_mem: int | None = None  # MiB; None: the rule's default for the target's RAM
    boot_guard: bool = True  # one-shot first boot into Xen, rolled back unless confirmed
    confirm_within: int = CONFIRM_WITHIN_DEFAULT
    guest_access: str = "nat"  # how guests reach other networks: GUEST_ACCESS's keys
    guest_ipv6: str = "none"  # "none", or the /64 the host advertises to its guests

    @property
    def ipv6_prefix(self) -> ipaddress.IPv6Network | None:
        """The guests' IPv6 /64, or None (`none`: guests get no IPv6)."""
        return None if self.guest_ipv6 == "none" else ipaddress.IPv6Network(self.guest_ipv6)

    @property
    def host_ipv6(self) -> ipaddress.IPv6Interface | None:
        """The host's address on the bridge in the guests' /64: PREFIX::1/64."""
        prefix = self.ipv6_prefix
        return None if prefix is None else ipaddress.IPv6Interface(f"{prefix[1]}/64")

    @property
    def alias(self) -> str:
        return f"{self.bridge}:0"

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.address)

    @property
    def host_ip(self) -> str:
        return str(self.interface.ip)

    @property
    def network(self) -> ipaddress.IPv4Network:
        return self.interface.network

    @property
    def netmask(self) -> str:
        return str(self.network.netmask)

    @property
    def broadcast(self) -> str:
        return str(self.network.broadcast_address)

    @property
    def prefixlen(self) -> int:
        return self.network.prefixlen

    @property
    def dhcp_range(self) -> str:
        return f"{self.dhcp_start}-{self.dhcp_end}"

    @property
    def dhcp_count(self) -> int:
        return (
            int(ipaddress.IPv4Address(self.dhcp_end))
            - int(ipaddress.IPv4Address(self.dhcp_start))
            + 1
        )

    def to_answers(self) -> dict[str, object]:
        """The answers-file form: feeding it back to `build_config` yields an equal config."""
        answers: dict[str, object] = {"bridge": self.bridge}
        if self.subnet_pool is not None:  # the pool and index, not the address they gave
            answers.update({"subnet-pool": self.subnet_pool, "host-index": self.host_index})
        else:
            answers["address"] = self.address
        answers.update(
            {
                "dhcp-range": self.dhcp_range,
                "lease": self.lease,
                "dhcp-xen-only": self.dhcp_xen_only,
            }
        )
        if self.nic is not None:
            answers["nic"] = self.nic
        if self.isolated:
            answers["isolated"] = True
        if self.udp_checksum_workaround is not None:
            answers["udp-checksum-workaround"] = self.udp_checksum_workaround
        if self.allow_overlap:
            answers["allow-overlap"] = True
        if self.dom0_mem is not None:
            answers["dom0-mem"] = f"{self.dom0_mem}M"
        if not self.boot_guard:
            answers["boot-guard"] = False
        if self.confirm_within != CONFIRM_WITHIN_DEFAULT:
            answers["confirm-within"] = self.confirm_within
        answers["guest-access"] = self.guest_access
        if self.guest_ipv6 != "none":  # an answers file without IPv6 stays as it was
            answers["guest-ipv6"] = self.guest_ipv6
        return answers
