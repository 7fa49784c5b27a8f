"""What the target system looks like: release, Xen state, packages, hook dirs, network.

Every file is read through the target root. Live interfaces and the default route are only
asked of the kernel when the root is this machine's own `/`; psutil and netifaces are imported
only then, which keeps `xenwizard plan --root DIR` fast.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shlex
from dataclasses import dataclass, field, replace

from xenwizard.target.dpkgstatus import installed, package_states
from xenwizard.target.rootfs import RootFS

XEN_TOOLS_HOOK_BASES = ("usr/lib/xen-tools", "usr/share/xen-tools")


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """One network interface: its IPv4 addresses (with prefix), MAC and kind."""

    name: str
    addresses: tuple[ipaddress.IPv4Interface, ...] = ()
    mac: str | None = None
    is_bridge: bool = False
    is_physical: bool = False
    kind: str = ""  # live only: "physical", "bond", "vlan", "bridge", "wlan" or "other"
    port_of: tuple[str, str] | None = None  # live only: ("bond" | "bridge", its master)


@dataclass(frozen=True, slots=True)
class DefaultRoute:
    gateway: str
    interface: str


@dataclass(frozen=True, slots=True)
class SystemFacts:
    """Everything the profiles and screens need to know about the target."""

    root: str
    os_id: str = ""
    version_id: str = ""
    codename: str = ""
    pretty_name: str = ""
    toolstack: str | None = None  # value of TOOLSTACK= in etc/default/xen; None: no such line
    installed_packages: frozenset[str] = frozenset()
    hook_dirs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # base -> entries
    interfaces: tuple[InterfaceInfo, ...] = ()
    default_route: DefaultRoute | None = None
    configured_addresses: tuple[tuple[str, ipaddress.IPv4Interface], ...] = ()  # from ifupdown
    configured_routes: tuple[tuple[ipaddress.IPv4Network, str], ...] = ()  # (network, where)
    live_routes: tuple[tuple[ipaddress.IPv4Network, str], ...] = ()  # the kernel's, when live
    is_root: bool = False
    ssh_connection: str | None = None
    live: bool = False
    mem_total_mib: int | None = None  # MemTotal of proc/meminfo; under Xen: dom0's share
    hypervisor: str | None = None  # sys/hypervisor/type ("xen" when running under Xen)
    configured_dom0_mem: tuple[int, str] | None = None  # (MiB, file): dom0_mem= in GRUB's defaults
    # (interface, address) xenwizard's own last applied run gave its bridge (and BR:0): the
    # next run replaces them, so they clash with no answer (set by `with_own_run`)
    replaced_addresses: tuple[tuple[str, ipaddress.IPv4Interface], ...] = ()

    @property
    def release(self) -> str:
        return f"{self.os_id}-{self.version_id}" if self.os_id else "unknown"

    @property
    def over_ssh(self) -> bool:
        return bool(self.ssh_connection)

    @property
    def xen_installed(self) -> bool:
        return any(p.startswith(("xen-hypervisor", "xen-system")) for p in self.installed_packages)

    def interface(self, name: str) -> InterfaceInfo | None:
        return next((i for i in self.interfaces if i.name == name), None)


_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def parse_shell_vars(text: str | None) -> dict[str, str]:
    """KEY=value lines as os-release / lsb-release / etc/default files write them."""
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = _ASSIGN.match(line)
        if not match:
            continue
        raw = match.group(2).strip()
        try:
            parts = shlex.split(raw, comments=True)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[match.group(1)] = parts[0] if parts else ""
    return values


def parse_ifupdown_addresses(text: str | None) -> tuple[tuple[str, ipaddress.IPv4Interface], ...]:
    """Static IPv4 addresses configured in an ifupdown interfaces file, per stanza."""
    from xenwizard.edits import ifupdown
    from xenwizard.edits.text import Doc

    found: list[tuple[str, ipaddress.IPv4Interface]] = []
    lines = Doc.parse(text or "").lines
    for stanza in ifupdown.read(lines).stanzas:
        if not stanza.name:
            continue
        options = dict(ifupdown.option(lines[i]) for i in stanza.options)  # the last one wins
        address = (options.get("address", "").split() or [""])[0]
        if not address:
            continue
        netmask = (options.get("netmask", "").split() or [""])[0]
        spec = address if "/" in address else f"{address}/{netmask or '32'}"
        with contextlib.suppress(ValueError):
            found.append((stanza.name, ipaddress.IPv4Interface(spec)))
    return tuple(found)


def _ifupdown_texts(fs: RootFS) -> dict[str, str]:
    """etc/network/interfaces and the files it sources (only the main file when they cannot be
    read: the bridge step reports why)."""
    from xenwizard.edits import EditError, ifupdown

    try:
        return ifupdown.load(fs)
    except (EditError, OSError):  # OSError: RootError, e.g. a sourced file that is unreadable
        text = fs.read_text(ifupdown.INTERFACES) or ""
        return {ifupdown.INTERFACES: text} if len(text) <= ifupdown.MAX_CHARS else {}


def _configured_network(
    fs: RootFS,
) -> tuple[
    tuple[tuple[str, ipaddress.IPv4Interface], ...], tuple[tuple[ipaddress.IPv4Network, str], ...]
]:
    """The addresses and the routes the target's network configuration sets, from one read of
    it: parse_ifupdown_addresses and the up-commands' routes over the interfaces files, and
    netplan's static `addresses:` and `routes:` (none from a netplan file that cannot be read:
    the bridge step reports why)."""
    from xenwizard.target import routes

    ifupdown_texts = _ifupdown_texts(fs)
    addresses = [
        found for text in ifupdown_texts.values() for found in parse_ifupdown_addresses(text)
    ]
    found_routes = routes.ifupdown_routes(ifupdown_texts)
    if fs.is_dir("etc/netplan"):
        from xenwizard.edits import EditError, netplan

        entries: list[tuple[str, str]] = []
        targets: list[tuple[str, str, object]] = []
        try:
            files = netplan.load_files(netplan.read_texts(fs))
        except (EditError, OSError):
            files = []
        with contextlib.suppress(EditError):
            entries = netplan.static_addresses(files)
        with contextlib.suppress(EditError):
            targets = netplan.route_targets(files)
        for name, text in entries:
            with contextlib.suppress(ValueError):
                addresses.append((name, ipaddress.IPv4Interface(text)))
        found_routes += routes.netplan_routes(targets)
    return tuple(addresses), tuple(found_routes)


def _release(fs: RootFS) -> tuple[str, str, str, str]:
    osr = parse_shell_vars(fs.read_text("etc/os-release") or fs.read_text("usr/lib/os-release"))
    lsb = parse_shell_vars(fs.read_text("etc/lsb-release"))
    os_id = (osr.get("ID") or lsb.get("DISTRIB_ID", "")).lower()
    version = osr.get("VERSION_ID") or lsb.get("DISTRIB_RELEASE", "")
    codename = osr.get("VERSION_CODENAME") or lsb.get("DISTRIB_CODENAME", "")
    if not codename and "UBUNTU_CODENAME" in osr:
        codename = osr["UBUNTU_CODENAME"]
    pretty = osr.get("PRETTY_NAME") or lsb.get("DISTRIB_DESCRIPTION", "") or f"{os_id} {version}"
    return os_id, version, codename, pretty


def _toolstack(fs: RootFS) -> str | None:
    text = fs.read_text("etc/default/xen")
    if text is None:
        return None
    return parse_shell_vars(text).get("TOOLSTACK")


_MEMTOTAL = re.compile(r"^MemTotal:\s*([0-9]{1,15})\s*kB\s*$", re.MULTILINE)


def _small_file(fs: RootFS, rel: str) -> str | None:
    """A kernel file's text, None when missing or unreadable: the facts it gives are optional,
    and a fixture root or a container may have no such file (or an odd one)."""
    try:
        data = fs.read_bytes(rel, limit=1 << 16)
    except OSError:
        return None
    return None if data is None else data.decode("ascii", "replace")


def mem_total_mib(text: str | None) -> int | None:
    """MemTotal (kB) of a /proc/meminfo text in MiB; None when the line is missing or odd."""
    match = _MEMTOTAL.search(text or "")
    return (int(match.group(1)) // 1024 or None) if match else None  # 0 MiB: an odd file


def _hypervisor(fs: RootFS) -> str | None:
    return (_small_file(fs, "sys/hypervisor/type") or "").strip() or None


_XEN_CMDLINE = re.compile(r"^\s*(?:export\s+)?GRUB_CMDLINE_XEN(?:_DEFAULT)?=.*$", re.MULTILINE)
_DOM0_MEM = re.compile(r"\bdom0_mem=([^\s\"']+)")
_AMOUNT = re.compile(r"([0-9]{1,9})([MmGg])")


def dom0_mem_option(text: str) -> int | None:
    """MiB of the last plain `dom0_mem=` amount on GRUB_CMDLINE_XEN(_DEFAULT) lines of a GRUB
    defaults file (`dom0_mem=1024M,max:1024M` -> 1024); None when there is none, or only a
    shape without one (`max:` alone, a negative "all but" amount, K or bare units)."""
    found = None
    for line in _XEN_CMDLINE.finditer(text):
        for option in _DOM0_MEM.finditer(line.group()):
            plain = [item for item in option.group(1).split(",") if ":" not in item]
            match = _AMOUNT.fullmatch(plain[-1]) if plain else None
            found = None if match is None else int(match[1]) * (1024 if match[2] in "Gg" else 1)
    return found


def configured_dom0_mem(fs: RootFS) -> tuple[int, str] | None:
    """dom0's memory as GRUB's defaults put it on Xen's command line, files in the order
    update-grub sources them (etc/default/grub, then etc/default/grub.d/*.cfg): the last wins."""
    found = None
    names = [n for n in fs.listdir("etc/default/grub.d") if n.endswith(".cfg")]
    for path in ["etc/default/grub", *(f"etc/default/grub.d/{n}" for n in names)]:
        mib = dom0_mem_option(_small_file(fs, path) or "")
        if mib is not None:
            found = (mib, path)
    return found


def _hook_dirs(fs: RootFS) -> dict[str, tuple[str, ...]]:
    return {base: tuple(fs.listdir(base)) for base in XEN_TOOLS_HOOK_BASES if fs.is_dir(base)}


def _live_interfaces() -> tuple[InterfaceInfo, ...]:
    import socket

    import psutil

    link_family = getattr(psutil, "AF_LINK", -1)
    result = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        ipv4 = []
        mac = None
        for addr in addrs:
            if addr.family == socket.AF_INET and addr.netmask:
                ipv4.append(ipaddress.IPv4Interface(f"{addr.address}/{addr.netmask}"))
            elif addr.family == link_family and addr.address:
                mac = addr.address
        sys_net = f"/sys/class/net/{name}"
        kind, port_of = interface_kind(sys_net, f"/proc/net/vlan/{name}")
        result.append(
            InterfaceInfo(
                name=name,
                addresses=tuple(ipv4),
                mac=mac,
                is_bridge=os.path.isdir(f"{sys_net}/bridge"),
                is_physical=os.path.exists(f"{sys_net}/device"),
                kind=kind,
                port_of=port_of,
            )
        )
    return tuple(result)


def interface_kind(sys_net: str, proc_vlan: str) -> tuple[str, tuple[str, str] | None]:
    """(kind, (what, master) when it is a port) of a live interface, from the kernel's own
    marks: /sys/class/net/X/bonding (a bond), /proc/net/vlan/X (an 802.1Q VLAN), the uevent's
    DEVTYPE (vlan, bond, bridge, wlan: set by the drivers), `device` (a physical NIC);
    `bonding_slave` or `brport` with the `master` link says whose port it is."""
    devtype = ""
    with (
        contextlib.suppress(OSError),
        open(f"{sys_net}/uevent", encoding="utf-8", errors="replace") as handle,
    ):
        for line in handle:
            if line.startswith("DEVTYPE="):
                devtype = line.strip().partition("=")[2]
    if os.path.isdir(f"{sys_net}/bridge") or devtype == "bridge":
        kind = "bridge"
    elif os.path.isdir(f"{sys_net}/bonding") or devtype == "bond":
        kind = "bond"
    elif os.path.exists(proc_vlan) or devtype == "vlan":
        kind = "vlan"
    elif devtype == "wlan" or os.path.isdir(f"{sys_net}/wireless"):
        kind = "wlan"
    elif os.path.exists(f"{sys_net}/device"):
        kind = "physical"
    else:
        kind = "other"
    port_of = None
    master = os.path.basename(os.path.realpath(f"{sys_net}/master"))
    if os.path.islink(f"{sys_net}/master") and master:
        if os.path.isdir(f"{sys_net}/bonding_slave"):
            port_of = ("bond", master)
        elif os.path.isdir(f"{sys_net}/brport"):
            port_of = ("bridge", master)
    return kind, port_of


def _live_default_route() -> DefaultRoute | None:
    import netifaces

    default = netifaces.gateways().get("default", {})  # {family: (gateway, interface)}
    gateway = default.get(netifaces.AF_INET) if isinstance(default, dict) else None
    if not gateway:
        return None
    return DefaultRoute(gateway=gateway[0], interface=gateway[1])


def _live_routes(
    interfaces: tuple[InterfaceInfo, ...],
) -> tuple[tuple[ipaddress.IPv4Network, str], ...]:
    """The kernel's routing table (/proc/net/route) but the default route and the routes of the
    interfaces' own subnets."""
    from xenwizard.target import routes

    try:
        with open("/proc/net/route", encoding="ascii") as handle:
            table = handle.read()
    except OSError:
        return ()
    return tuple(routes.live_routes(table, (a for i in interfaces for a in i.addresses)))


def with_live_facts(facts: SystemFacts) -> SystemFacts:
    """`facts` completed with what only the running kernel knows: interfaces, addresses, the
    default route and the routing table (psutil and netifaces are imported here, and only
    here)."""
    interfaces = _live_interfaces()
    return replace(
        facts,
        interfaces=interfaces,
        default_route=_live_default_route(),
        live_routes=_live_routes(interfaces),
        live=True,
    )


def installed_packages(fs: RootFS) -> frozenset[str]:
    """Names of the fully installed packages in the root's dpkg status (multiarch: bare)."""
    return frozenset(name.split(":")[0] for name in installed(package_states(fs)))


def with_packages(facts: SystemFacts, fs: RootFS) -> SystemFacts:
    return replace(facts, installed_packages=installed_packages(fs))


def probe(fs: RootFS, *, live: bool | None = None, packages: bool = True) -> SystemFacts:
    """Read the facts of the system under `fs`; `live` defaults to whether the root is `/`.

    `live=False` reads only files under the root; `packages=False` leaves out the dpkg status
    too (a real server's is large). The wizard shows its first page with those and adds the
    rest (`with_packages`, `with_live_facts`) in the background.
    """
    live = fs.is_live if live is None else live
    os_id, version, codename, pretty = _release(fs)
    addresses, configured_routes = _configured_network(fs)
    facts = SystemFacts(
        root=str(fs.root),
        os_id=os_id,
        version_id=version,
        codename=codename,
        pretty_name=pretty,
        toolstack=_toolstack(fs),
        installed_packages=installed_packages(fs) if packages else frozenset(),
        hook_dirs=_hook_dirs(fs),
        configured_addresses=addresses,
        configured_routes=configured_routes,
        is_root=os.geteuid() == 0,
        ssh_connection=os.environ.get("SSH_CONNECTION") or None,
        mem_total_mib=mem_total_mib(_small_file(fs, "proc/meminfo")),
        hypervisor=_hypervisor(fs),
        configured_dom0_mem=configured_dom0_mem(fs),
    )
    return with_live_facts(facts) if live else facts
