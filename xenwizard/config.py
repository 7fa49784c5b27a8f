"""The operator's answers as one validated value object.

Every front end (TUI fields, CLI flags, answers file) goes through `build_config`, so the rules
below are the single source of truth for what is accepted, and every rejection names the field
and says what was expected.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping

from xenwizard import dom0mem
from xenwizard.record import record, replace

TYPE_CHECKING = False  # typing is not imported at run time: `xenwizard plan` is kept light
if TYPE_CHECKING:
    from typing import Any

_IFNAME_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")
_LEASE = re.compile(r"(?P<num>[0-9]+)(?P<unit>[smhdw]?)")
_LEASE_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIN_LEASE_SECONDS = 120  # dnsmasq raises anything shorter to two minutes
MAX_IFNAME_LEN = 15  # IFNAMSIZ-1
MAX_BRIDGE_LEN = 13  # 15 minus ":0" for the alias BR:0 (ubuntu-precise only; see Target)
XEN_MAC_PREFIX = "00:16:3e"


@record(frozen=True)
class FieldProblem:
    """One rejected answer: which field, and why in words an operator understands."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ConfigError(ValueError):
    """Raised with every problem found, so a form can mark all bad fields at once."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@record(frozen=True)
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
    udp_checksum_workaround: bool | None = None  # None: the profile's default
    allow_overlap: bool = False  # accept a subnet/range clashing with what the target uses
    dom0_mem: int | None = None  # MiB; None: the rule's default for the target's RAM
    boot_guard: bool = True  # one-shot first boot into Xen, rolled back unless confirmed
    confirm_within: int = 10  # minutes after boot the boot guard waits for `xenwizard confirm`
    guest_access: str = "nat"  # how guests reach other networks: GUEST_ACCESS's keys

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
        if self.udp_checksum_workaround is not None:
            answers["udp-checksum-workaround"] = self.udp_checksum_workaround
        if self.allow_overlap:
            answers["allow-overlap"] = True
        if self.dom0_mem is not None:
            answers["dom0-mem"] = f"{self.dom0_mem}M"
        if not self.boot_guard:
            answers["boot-guard"] = False
        if self.confirm_within != WizardConfig.confirm_within:
            answers["confirm-within"] = self.confirm_within
        answers["guest-access"] = self.guest_access
        return answers


# --- single-field checks: each returns None when fine, else the reason --------------------------


def _ifname_problem(value: str, max_len: int, too_long: str) -> str | None:
    """Linux interface-name rules shared by the bridge and the NIC; None when fine."""
    if not value:
        return "must not be empty"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if len(value) > max_len:
        return f"is {len(value)} characters; {too_long}"
    if not _IFNAME_CHARS.fullmatch(value):
        return "may contain only letters, digits, '-', '_' and '.'"
    if value.startswith("-"):
        return "must not start with '-' (ifup and ip would read it as an option)"
    return None


def check_bridge(value: str, max_len: int = MAX_BRIDGE_LEN) -> str | None:
    """Linux interface-name rules; 13 characters where the alias BR:0 must fit too."""
    if max_len >= MAX_IFNAME_LEN:
        return _ifname_problem(value, max_len, "Linux interface names have at most 15")
    return _ifname_problem(
        value,
        max_len,
        f"at most {max_len} (the alias {value}:0 must fit Linux's 15-character limit)",
    )


def check_nic(value: str) -> str | None:
    """A physical interface name: Linux rules, up to 15 characters."""
    return _ifname_problem(value, MAX_IFNAME_LEN, "Linux interface names have at most 15")


def parse_address(value: str) -> ipaddress.IPv4Interface | str:
    """The host alias address as A.B.C.D/P, or the reason it is not acceptable."""
    if "/" not in value:
        return "expected an IPv4 address with prefix length, like 10.0.0.1/24"
    try:
        iface = ipaddress.IPv4Interface(value.strip())
    except ValueError:
        return "expected an IPv4 address with prefix length, like 10.0.0.1/24"
    if iface.network.prefixlen > 30:
        return "prefix must be /30 or shorter to leave room for guests"
    if iface.network.prefixlen < 8:
        return "prefix must be /8 or longer"
    if iface.ip == iface.network.network_address:
        return f"{iface.ip} is the network address of {iface.network}; choose a host address"
    if iface.ip == iface.network.broadcast_address:
        return f"{iface.ip} is the broadcast address of {iface.network}; choose a host address"
    if iface.ip.is_multicast or iface.ip.is_loopback or iface.ip.is_unspecified:
        return f"{iface.ip} is not a unicast host address"
    return iface


def check_address(value: str) -> str | None:
    result = parse_address(value)
    return result if isinstance(result, str) else None


def parse_dhcp_range(value: str) -> tuple[str, str] | str:
    """START-END as two IPv4 addresses, or the reason."""
    parts = value.replace(",", "-").split("-")
    if len(parts) != 2:
        return "expected START-END, like 10.0.0.10-10.0.0.100"
    start, end = (p.strip() for p in parts)
    for label, text in (("start", start), ("end", end)):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            return f"{label} '{text}' is not an IPv4 address"
    return start, end


def check_dhcp_range(start: str, end: str, address: str | None) -> str | None:
    """The range must be ordered, inside the alias subnet and must not hold the host address."""
    try:
        first, last = ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)
    except ValueError:
        return "start and end must be IPv4 addresses"
    iface = parse_address(address) if address is not None else None
    if isinstance(iface, ipaddress.IPv4Interface):
        net = iface.network
        usable = (net.network_address, net.broadcast_address)
        for label, ip in (("start", first), ("end", last)):
            if ip not in net:
                return f"{label} {ip} is outside the subnet {net}"
            if ip in usable:
                return f"{label} {ip} is the network or broadcast address of {net}"
    if first > last:
        return f"start {first} is after end {last}"
    if isinstance(iface, ipaddress.IPv4Interface) and first <= iface.ip <= last:
        return f"range {first}-{last} contains the host address {iface.ip}"
    return None


def lease_seconds(value: str) -> int | None:
    """Seconds for a dnsmasq lease time, None for 'infinite'; ValueError when malformed."""
    if value == "infinite":
        return None
    match = _LEASE.fullmatch(value)
    if not match:
        raise ValueError(value)
    return int(match["num"]) * _LEASE_UNIT_SECONDS[match["unit"]]


MIN_CONFIRM_MINUTES, MAX_CONFIRM_MINUTES = 1, 1440


def check_confirm_within(value: str) -> str | None:
    """Minutes, 1 to 1440 (a day): how long after boot the boot guard waits."""
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to isdigit, not to int
        return "expected whole minutes, like 10"
    if not MIN_CONFIRM_MINUTES <= int(value) <= MAX_CONFIRM_MINUTES:
        return f"must be {MIN_CONFIRM_MINUTES} to {MAX_CONFIRM_MINUTES} minutes"
    return None


def check_lease(value: str) -> str | None:
    try:
        seconds = lease_seconds(value.lower())
    except ValueError:
        return "expected seconds, Nm, Nh, Nd, Nw or 'infinite', like 12h"
    if seconds is not None and seconds < MIN_LEASE_SECONDS:
        return "must be at least 2 minutes (dnsmasq's minimum), like 2m or 120"
    if seconds is not None and seconds > 0xFFFFFFFF:
        return "is too long; use 'infinite' for a lease that never expires"
    return None


# --- per-host subnets from a shared pool (fleets) -----------------------------------------------

POOL_PREFIX = 24  # each host of a pool gets a /24


def check_subnet_pool(value: str) -> str | None:
    """A pool of guest subnets: an IPv4 network of /24 or larger, host bits zero."""
    if "/" not in value:
        return "expected an IPv4 network with prefix length, like 10.20.0.0/16"
    try:
        pool = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        return "expected an IPv4 network, like 10.20.0.0/16"
    if str(pool.network_address) != value.strip().split("/")[0]:
        return f"has host bits set; expected a network address, like {pool}"
    if pool.prefixlen > POOL_PREFIX:
        return f"is a /{pool.prefixlen}, smaller than a /24; each host gets a /24 of the pool"
    if pool.prefixlen < 8:
        return "prefix must be /8 or longer"
    return None


def normalise_subnet_pool(value: str) -> str:
    return str(ipaddress.IPv4Network(value.strip())) if check_subnet_pool(value) is None else value


def check_host_index(value: str) -> str | None:
    if not (value.isascii() and value.isdigit()):
        return "expected a whole number, 0 or more (0 is the pool's first /24)"
    return None


def pool_address(pool: str, index: int) -> str | None:
    """The host address of host `index` in `pool`: .1 of its /24 (None: outside the pool)."""
    network = ipaddress.IPv4Network(pool)
    if index >= network.num_addresses >> (32 - POOL_PREFIX):
        return None
    return f"{network.network_address + (index << (32 - POOL_PREFIX)) + 1}/{POOL_PREFIX}"


def pool_problems(cfg: WizardConfig) -> list[FieldProblem]:
    """A pool needs an index inside it, and the address must be the one they give."""
    pool, index = cfg.subnet_pool, cfg.host_index
    if pool is None and index is None:
        return []
    if pool is None:
        return [FieldProblem("host-index", "needs subnet-pool (the pool it picks a /24 from)")]
    if index is None:
        return [FieldProblem("host-index", f"needed with subnet-pool {pool}: which /24 of it")]
    if check_subnet_pool(pool) is not None:
        return [FieldProblem("subnet-pool", check_subnet_pool(pool) or "")]
    address = pool_address(pool, index)
    if address is None:
        count = ipaddress.IPv4Network(pool).num_addresses >> (32 - POOL_PREFIX)
        return [
            FieldProblem(
                "host-index",
                f"{index} is outside subnet-pool {pool}: its {count} /24s are 0 to {count - 1}",
            )
        ]
    if address != cfg.address:
        return [
            FieldProblem(
                "address",
                f"{cfg.address} is not host-index {index}'s address in subnet-pool {pool} "
                f"({address}); give either address or subnet-pool",
            )
        ]
    return []


# How guests reach networks beyond the host: the choice and its one-line why (the DHCP page
# shows these; `--guest-access` and the answers file take the keys).
GUEST_ACCESS: dict[str, str] = {
    "nat": "guests reach the LAN and beyond through the host's address (NAT, like libvirt's "
    "default network)",
    "routed": "the host forwards the guests' own addresses; the LAN router needs a route to "
    "the guest subnet",
    "host-only": "guests reach only this host: no forwarding, and DHCP advertises no router",
}


def check_guest_access(value: str) -> str | None:
    """One of GUEST_ACCESS's keys (any case: written in lower case)."""
    if value.lower() in GUEST_ACCESS:
        return None
    return f"expected one of {', '.join(GUEST_ACCESS)}, not {value!r}"


# --- what the target already uses -------------------------------------------------------------


@record(frozen=True)
class Target:
    """What the answers' target-dependent rules need to know about the target system.

    Built from the probe by `preflight.target_of` (config.py imports nothing but the stdlib
    and the pure dom0mem).
    `addresses`: every configured or live address with its interface and where it is ("on
    eno1", "configured for eno1"); `nic_check`: the profile's verdict on a NIC name (None
    when it can be bridged, else why not; no check where the profile takes no NIC);
    `bridge_check`: the profile's verdict on a bridge name given the NIC (None: the name is
    free, else what it already is);
    `mem_total_mib`: the machine's RAM (None: unknown, e.g. under Xen, where MemTotal is dom0's).
    """

    addresses: tuple[tuple[ipaddress.IPv4Interface, str, str], ...] = ()  # (addr, iface, where)
    gateway: ipaddress.IPv4Address | None = None
    routes: tuple[tuple[ipaddress.IPv4Network, str], ...] = ()  # configured/live (routes.py)
    nic_check: Callable[[str], str | None] | None = None
    bridge_check: Callable[[str, str | None], str | None] | None = None  # (bridge, nic)
    bridge_max_len: int = MAX_IFNAME_LEN
    mem_total_mib: int | None = None

    def others(self, cfg: WizardConfig) -> list[tuple[ipaddress.IPv4Interface, str]]:
        """The used addresses but this run's own (an earlier apply's guest address on BR)."""
        own = {cfg.bridge, cfg.alias}
        return [
            (addr, where)
            for addr, iface, where in self.addresses
            if not addr.is_loopback and not (iface in own and addr == cfg.interface)
        ]


def target_problems(cfg: WizardConfig, target: Target) -> list[FieldProblem]:
    """The clashes of a valid config with the target: subnet, host address, range, NIC, and
    a dom0 memory above the machine's RAM."""
    problems: list[FieldProblem] = []
    if cfg.dom0_mem is not None:
        why = dom0mem.problem(cfg.dom0_mem, target.mem_total_mib)
        if why:
            problems.append(FieldProblem("dom0-mem", why))
    if target.bridge_check is not None:
        why = target.bridge_check(cfg.bridge, cfg.nic)
        if why:
            problems.append(FieldProblem("bridge", why))
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


# --- the one table of answers -------------------------------------------------------------------


def normalise_address(value: str) -> str:
    """A valid address as A.B.C.D/P (a netmask like /255.255.255.0 becomes /24)."""
    parsed = parse_address(value)
    return str(parsed) if isinstance(parsed, ipaddress.IPv4Interface) else value


def normalise_dhcp_range(value: str) -> str:
    parsed = parse_dhcp_range(value)
    return f"{parsed[0]}-{parsed[1]}" if isinstance(parsed, tuple) else value


@record(frozen=True)
class AnswerField:
    """One answer: its TOML key (and CLI flag --KEY), type, default, rule, normalisation, help.

    `check` judges the value alone (None when fine, else the reason); rules between answers
    (the range inside the subnet, the NIC not the bridge) live in `validate`. CLI options
    (`xenwizard.cli`), answers-file keys (`xenwizard.answers`) and the TUI's field validators
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
        10,
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
)
ANSWERS: dict[str, AnswerField] = {f.key: f for f in ANSWER_FIELDS}
# Answer keys as they appear in answers files and as CLI flags (`--dhcp-range`, ...).
ANSWER_KEYS = tuple(ANSWERS)


# --- whole-config construction ------------------------------------------------------------------


def _as_bool(key: str, value: object, problems: list[FieldProblem]) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "yes",
        "true",
        "on",
        "1",
        "no",
        "false",
        "off",
        "0",
    ):
        return value.lower() in ("yes", "true", "on", "1")
    problems.append(FieldProblem(key, "expected true or false"))
    return None


def suggest_range(config: WizardConfig) -> tuple[str, str]:
    """Keep the DHCP range when it still fits the subnet, else propose one inside it."""
    if check_dhcp_range(config.dhcp_start, config.dhcp_end, config.address) is None:
        return config.dhcp_start, config.dhcp_end
    iface = config.interface
    net = iface.network
    first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
    host = int(iface.ip)
    if last - first >= 100:
        start, end = first + 9, first + 99
        if start <= host <= end:
            start, end = host + 1, min(host + 91, last)
    elif host - first >= last - host:
        start, end = first, host - 1
    else:
        start, end = host + 1, last
    return str(ipaddress.IPv4Address(start)), str(ipaddress.IPv4Address(end))


def build_config(
    answers: Mapping[str, object],
    base: WizardConfig | None = None,
    target: Target | None = None,
) -> WizardConfig:
    """Merge answers (answers-file keys) over `base` and validate the result as a whole.

    Every value is checked and normalised by its `ANSWER_FIELDS` entry; a new address moves
    the DHCP range into its subnet unless the range is among the answers. `profile` is not
    part of the config: take it out first (`split_profile`). With a `target`, the answers are
    also checked against it (`target_problems`), and a default subnet it already uses is
    replaced by a free one (`free_default_address`). Raises ConfigError listing every
    problem; never returns an invalid config.
    """
    problems: list[FieldProblem] = []
    for key in sorted(set(answers) - set(ANSWER_KEYS)):
        problems.append(
            FieldProblem(key, f"unknown answer; expected one of {', '.join(ANSWER_KEYS)}")
        )
    cfg = base or WizardConfig()
    pool_given = {k for k in ("subnet-pool", "host-index") if answers.get(k) is not None}
    if pool_given and answers.get("address") is not None:
        problems.append(
            FieldProblem(
                "address",
                "cannot be given together with subnet-pool or host-index: the pool gives each "
                "host its address (.1 of its /24); give one or the other",
            )
        )
    if base is None and target is not None and answers.get("address") is None and not pool_given:
        address, _why = free_default_address(target)
        if address != cfg.address:
            cfg = build_config({"address": address}, cfg)
    changes: dict[str, Any] = {}  # WizardConfig field -> value: each spec checked its own
    for spec in ANSWER_FIELDS:
        value = answers.get(spec.key)
        if value is None or spec.key == "profile":
            continue
        if spec.kind is bool:
            flag = _as_bool(spec.key, value, problems)
            if flag is not None:
                changes[spec.dest] = flag
            continue
        if (spec.kind is int or spec.key in ("dom0-mem", "lease")) and (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            value = str(value)  # a bare TOML number: minutes, MiB or seconds, as the flag takes
        if not isinstance(value, str):
            if spec.key == "dom0-mem":
                expected = dom0mem.EXPECTED
            elif spec.key == "host-index":
                expected = "expected a whole number, 0 or more"
            else:
                expected = "expected whole minutes" if spec.kind is int else "expected a string"
            problems.append(FieldProblem(spec.key, expected))
            continue
        text = value.strip()
        if spec.key == "nic" and not text:
            changes["nic"] = None
            continue
        reason = spec.check(text) if spec.check else None
        if reason:
            problems.append(FieldProblem(spec.key, reason))
            continue
        text = spec.normalise(text) if spec.normalise else text
        if spec.key == "dhcp-range":
            changes["dhcp_start"], changes["dhcp_end"] = text.split("-")
        elif spec.key == "dom0-mem":
            changes["dom0_mem"] = dom0mem.parse_size(text)
        elif spec.kind is int:
            changes[spec.dest] = int(text)
        else:
            changes[spec.dest] = text
    if "address" in changes and not pool_given:
        changes.update(subnet_pool=None, host_index=None)  # an address replaces a pool (TUI)
    cfg = replace(cfg, **changes)
    if pool_given and not {p.field for p in problems} & {"address", "subnet-pool", "host-index"}:
        pooled: str | None = None
        if cfg.subnet_pool is not None and cfg.host_index is not None:
            pooled = pool_address(cfg.subnet_pool, cfg.host_index)
        if pooled is not None:
            cfg = replace(cfg, address=pooled)
            changes["address"] = pooled  # the DHCP range moves into its /24
    if "address" in changes and answers.get("dhcp-range") is None:
        start, end = suggest_range(cfg)
        cfg = replace(cfg, dhcp_start=start, dhcp_end=end)
    problems.extend(validate(cfg, skip={p.field for p in problems}, target=target))
    if problems:
        raise ConfigError(problems)
    return cfg


def split_profile(answers: Mapping[str, object]) -> tuple[dict[str, object], str | None]:
    """The answers without `profile`, and the profile they name (None: detect)."""
    rest = dict(answers)
    profile = rest.pop("profile", None)
    if profile is not None and not isinstance(profile, str):
        raise ConfigError([FieldProblem("profile", "expected a string")])
    return rest, (profile.strip() or None) if profile else None


def answer_problem(
    key: str,
    answers: Mapping[str, object],
    base: WizardConfig | None = None,
    target: Target | None = None,
) -> str | None:
    """The reason `build_config` refuses `answers` for the answer `key`, or None.

    The TUI's field validators are this: each page asks the core about its fields' text
    together with the answers so far, so the UI holds no rule of its own.
    """
    try:
        build_config(answers, base, target)
    except ConfigError as exc:
        for problem in exc.problems:
            if problem.field == key:
                return problem.message
    return None


def validate(
    cfg: WizardConfig,
    skip: set[str] | frozenset[str] = frozenset(),
    target: Target | None = None,
) -> list[FieldProblem]:
    """Every problem of a candidate config (fields in `skip` already have a problem)."""
    problems: list[FieldProblem] = []
    max_len = target.bridge_max_len if target is not None else MAX_IFNAME_LEN
    checks = (
        ("bridge", check_bridge(cfg.bridge, max_len)),
        ("address", check_address(cfg.address)),
        ("lease", check_lease(cfg.lease)),
        ("nic", check_nic(cfg.nic) if cfg.nic is not None else None),
    )
    for name, reason in checks:
        if reason and name not in skip:
            problems.append(FieldProblem(name, reason))
    if "dhcp-range" not in skip:
        address = cfg.address if check_address(cfg.address) is None else None
        reason = check_dhcp_range(cfg.dhcp_start, cfg.dhcp_end, address)
        if reason:
            problems.append(FieldProblem("dhcp-range", reason))
    if cfg.nic is not None and cfg.nic == cfg.bridge and "nic" not in skip:
        problems.append(FieldProblem("nic", "must differ from the bridge name"))
    if not {"subnet-pool", "host-index"} & skip:
        problems += [p for p in pool_problems(cfg) if p.field not in skip]
    if target is not None and not problems:
        problems += [p for p in target_problems(cfg, target) if p.field not in skip]
    return problems
