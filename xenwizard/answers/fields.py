"""The one table of answers: each field's type, default, check, normalisation and help,
from which the flags, the answers file's keys and the wizard's validators are made."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from xenwizard.answers import dom0mem
from xenwizard.answers.checks import (
    MAX_IFNAME_LEN,
    check_address,
    check_bridge,
    check_confirm_within,
    check_guest_access,
    check_guest_ipv6,
    check_lease,
    check_nic,
    normalise_guest_ipv6,
    parse_address,
    parse_dhcp_range,
)
from xenwizard.answers.model import CONFIRM_WITHIN_DEFAULT
from xenwizard.answers.pools import check_host_index, check_subnet_pool, normalise_subnet_pool


def normalise_address(value: str) -> str:
    """A valid address as A.B.C.D/P (a netmask like /255.255.255.0 becomes /24)."""
    parsed = parse_address(value)
    return str(parsed) if isinstance(parsed, ipaddress.IPv4Interface) else value


def normalise_dhcp_range(value: str) -> str:
    parsed = parse_dhcp_range(value)
    return f"{parsed[0]}-{parsed[1]}" if isinstance(parsed, tuple) else value


@dataclass(frozen=True, slots=True)
class AnswerField:
    """One answer: its TOML key (and CLI flag --KEY), type, default, rule, normalisation, help.

    `check` judges the value alone (None when fine, else the reason); rules between answers
    (the range inside the subnet, the NIC not the bridge) live in `validate`. CLI options
    (`xenwizard.cli`), answers-file keys (`xenwizard.answers.file`) and the TUI's field validators
    are all made from `ANSWER_FIELDS`.
    """

    key: str
    kind: type  # str, bool or int (given as text on the command line)
    default: object  # what applies when the answer is not given (None: detected / profile's)
    help: str
    metavar: str = ""
    no_help: str = ""  # bool answers: the help of --no-KEY
    check: Callable[[str], str | None] | None = None
    normalise: Callable[[str], str] | None = None
    default_text: str = ""  # how help names a default that is not a plain value

    @property
    def flag(self) -> str:
        return f"--{self.key}"

    @property
    def dest(self) -> str:
        return self.key.replace("-", "_")

    @property
    def help_text(self) -> str:
        if self.default_text:
            return f"{self.help} (default: {self.default_text})"
        if self.kind is bool:
            return f"{self.help} (default)" if self.default else self.help
        return f"{self.help} (default {self.default})" if self.default is not None else self.help


def _check_profile(value: str) -> str | None:
    return None if value else "must not be empty"


ANSWER_FIELDS: tuple[AnswerField, ...] = (
    AnswerField(
        "profile",
        str,
        None,
        "release profile",
        metavar="NAME",
        check=_check_profile,
        default_text="detected",
    ),
    AnswerField(
        "bridge",
        str,
        "br0",
        "bridge name (at most 15 characters; 13 on ubuntu-precise, for the alias BR:0)",
        metavar="BR",
        check=lambda value: check_bridge(value, MAX_IFNAME_LEN),  # the profile's limit: validate
    ),
    AnswerField(
        "address",
        str,
        "10.0.0.1/24",
        "host address on the guest subnet; A.B.C.D/NETMASK is accepted and written as /P",
        metavar="A.B.C.D/P",
        check=check_address,
        normalise=normalise_address,
    ),
    AnswerField(
        "subnet-pool",
        str,
        None,
        "fleets: give each host a /24 of this pool instead of --address (the host is .1 of "
        "the /24 number --host-index, the DHCP range .10-.100 unless given)",
        metavar="NET/P",
        check=check_subnet_pool,
        normalise=normalise_subnet_pool,
    ),
    AnswerField(
        "host-index",
        int,
        None,
        "with --subnet-pool: this host's /24 of the pool, counting from 0",
        metavar="N",
        check=check_host_index,
    ),
    AnswerField(
        "dhcp-range",
        str,
        "10.0.0.10-10.0.0.100",
        "DHCP range for guests",
        metavar="START-END",
        check=lambda value: (lambda r: r if isinstance(r, str) else None)(parse_dhcp_range(value)),
        normalise=normalise_dhcp_range,
        default_text="10.0.0.10-10.0.0.100, moved into the subnet of --address",
    ),
    AnswerField(
        "lease",
        str,
        "12h",
        "DHCP lease time (e.g. 12h, 30m, infinite)",
        metavar="TIME",
        check=check_lease,
        normalise=str.lower,  # dnsmasq reads 12H as 12h; the file gets the usual spelling
    ),
    AnswerField(
        "dhcp-xen-only",
        bool,
        True,
        "answer DHCP only for Xen MACs 00:16:3e:*",
        no_help="answer DHCP for any MAC on the bridge",
    ),
    AnswerField(
        "nic",
        str,
        None,
        "NIC the bridge takes over",
        metavar="IFACE",
        check=check_nic,
        default_text="detected",
    ),
    AnswerField(
        "isolated",
        bool,
        False,
        "isolated bridge: no NIC on it and the host's own network configuration untouched; "
        "guests reach out only through this host (nat or routed), never with their own MACs "
        "on the LAN (hosting providers that allow one MAC per switch port)",
        no_help="bridged: the NIC becomes the bridge's port and guests share its LAN (default)",
    ),
    AnswerField(
        "udp-checksum-workaround",
        bool,
        None,
        "turn tx checksum offload off on guests' vifs",
        no_help="leave guests' vifs as they are",
        default_text="on only for ubuntu-precise",
    ),
    AnswerField(
        "allow-overlap",
        bool,
        False,
        "accept a guest subnet or DHCP range that clashes with addresses or subnets the "
        "target already uses (refused otherwise; the preview says it was allowed)",
        no_help="refuse such clashes (default)",
    ),
    AnswerField(
        "dom0-mem",
        str,
        None,
        "memory of dom0, fixed on Xen's command line with ballooning off (e.g. 1024M, 2G; at "
        f"least {dom0mem.MIN_MIB}M, at most the RAM)",
        metavar="SIZE",
        check=dom0mem.check,
        normalise=dom0mem.normalise,
        default_text=dom0mem.RULE,
    ),
    AnswerField(
        "boot-guard",
        bool,
        True,
        "make the first boot into Xen one-shot and roll the run back (and reboot) unless "
        "`xenwizard confirm` runs within --confirm-within minutes of boot",
        no_help="no boot guard: Xen becomes the default boot entry at once",
    ),
    AnswerField(
        "confirm-within",
        int,
        CONFIRM_WITHIN_DEFAULT,
        "minutes after boot the boot guard waits for `xenwizard confirm` (1 to 1440)",
        metavar="MIN",
        check=check_confirm_within,
    ),
    AnswerField(
        "guest-access",
        str,
        "nat",
        "how guests reach other networks: nat (through the host's address), routed (the LAN "
        "router routes the guest subnet to this host) or host-only (no forwarding, no router "
        "advertised)",
        metavar="MODE",
        check=check_guest_access,
        normalise=str.lower,
    ),
    AnswerField(
        "guest-ipv6",
        str,
        "none",
        "IPv6 for the guests: none (they get no IPv6 from anyone), or a /64 prefix the host "
        "takes ::1 of on the bridge and advertises to them (SLAAC, dnsmasq's ra-stateless)",
        metavar="PREFIX/64",
        check=check_guest_ipv6,
        normalise=normalise_guest_ipv6,
    ),
)
ANSWERS: dict[str, AnswerField] = {f.key: f for f in ANSWER_FIELDS}
# Answer keys as they appear in answers files and as CLI flags (`--dhcp-range`, ...).
ANSWER_KEYS = tuple(ANSWERS)
