"""netplan: the Xen bridge for Ubuntu (and netplan-managed Debian), in a file of xenwizard's own.

netplan reads /etc/netplan/*.yaml in lexical order of the file names and merges them: a scalar
in a later file overrides an earlier one, lists are concatenated, mappings merged. xenwizard
writes /etc/netplan/90-xenwizard.yaml (mode 0600, as netplan wants) that

- turns DHCP off on the NIC (`dhcp4: false`, `dhcp6: false` override the installer's or
  cloud-init's `true`, so their file needs no edit for a DHCP host);
- defines the bridge with the NIC as its only port, the NIC's MAC (`macaddress:`), the NIC's
  addressing moved over, and the guests' subnet as one more `addresses` entry;
- has no `parameters:` block, so `netplan try` can test it and revert.

Lists cannot be overridden by a later file, so a NIC with static `addresses`, `routes`,
`nameservers` or a gateway in another file gets those keys commented out there (with a marker
line saying where they went); in a file that sorts after ours, every addressing key is. When
nothing of the NIC's entry would stay, or it is written in flow style, the whole entry is
commented out and its link settings (`match`, `set-name`, ...) move into our file.

Running again converges: the addressing is read back from our own file (the guest address is
named in its header), so a new bridge name or subnet just rewrites it.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, EditResult, Tree
from xenwizard.edits import yamldoc as yaml
from xenwizard.edits.text import Doc, Line

if TYPE_CHECKING:
    from typing import Any  # YAML data: mappings, lists and scalars as the file has them

NETPLAN_DIR = "etc/netplan"
OWN_NAME = "90-xenwizard.yaml"
OWN_PATH = f"{NETPLAN_DIR}/{OWN_NAME}"
MODE = 0o600
GUEST_HEADER = "# xenwizard: guest-address "
GUEST6_HEADER = "# xenwizard: guest-ipv6-address "  # the host's ::1 in --guest-ipv6's /64
ACCEPT_RA_HEADER = "# xenwizard: accept-ra added for guest-ipv6"  # not the NIC's: a re-run drops it
GLOB_CHARS = "*?["  # netplan's `match: name` is a shell glob
MOVED_MARK = "# xenwizard: moved to "  # + our file's path; marks lines commented out

# Keys that give an interface addresses, routes or DNS: they move from the NIC to the bridge.
ADDRESSING = (
    "dhcp4",
    "dhcp6",
    "dhcp4-overrides",
    "dhcp6-overrides",
    "dhcp-identifier",
    "accept-ra",
    "ipv6-privacy",
    "ipv6-address-generation",
    "ipv6-address-token",
    "ipv6-mtu",
    "link-local",
    "addresses",
    "gateway4",
    "gateway6",
    "routes",
    "routing-policy",
    "nameservers",
    "critical",
    "optional",
)
# Of those, the ones a later file cannot take away (lists, mappings, non-boolean scalars).
NOT_OVERRIDABLE = ("addresses", "routes", "routing-policy", "nameservers", "gateway4", "gateway6")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_TRUE = ("true", "yes", "on", "y")


@dataclass(frozen=True, slots=True)
class YamlFile:
    path: str  # root-relative
    text: str
    doc: yaml.Document

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_own(self) -> bool:
        return self.path == OWN_PATH


def load_files(texts: dict[str, str]) -> list[YamlFile]:
    """Parse every netplan file, in netplan's order (by file name); errors name the file."""
    files = []
    for path, text in texts.items():
        try:
            files.append(YamlFile(path, text, yaml.parse(text)))
        except EditError as exc:
            raise EditError(f"{path}: {exc}") from None
    return sorted(files, key=lambda f: f.name)


def _network(file: YamlFile) -> dict[str, Any]:
    data = file.doc.data()
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("network", {}), dict):
        raise EditError(f"{file.path}: expected a mapping with a `network:` mapping at the top")
    return data.get("network") or {}


def _section(file: YamlFile, name: str) -> dict[str, Any]:
    value = _network(file).get(name) or {}
    if not isinstance(value, dict):
        raise EditError(f"{file.path}: `network.{name}` is not a mapping")
    return value


def merge(base: object, more: object) -> object:
    """netplan's merge: mappings merged, lists concatenated, scalars overridden."""
    if isinstance(base, dict) and isinstance(more, dict):
        return merge_maps(base, more)
    if isinstance(base, list) and isinstance(more, list):
        return base + [item for item in more if item not in base]
    return more


def merge_maps(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """`merge` of two mappings (a mapping: typed so)."""
    out = dict(base)
    for key, value in more.items():
        out[key] = merge(out[key], value) if key in out else value
    return out


def ethernets(files: list[YamlFile], *, include_own: bool = True) -> dict[str, dict[str, Any]]:
    """Every `network.ethernets` ID with its merged settings."""
    return merged_section(files, "ethernets", include_own=include_own)


def merged_section(
    files: list[YamlFile], section: str, *, include_own: bool = True
) -> dict[str, dict[str, Any]]:
    """Every ID of `network.SECTION` (ethernets, bonds, vlans...) with its merged settings."""
    merged: dict[str, dict[str, Any]] = {}
    for file in files:
        if file.is_own and not include_own:
            continue
        for nic_id, settings in _section(file, section).items():
            value = settings if isinstance(settings, dict) else {}
            merged[str(nic_id)] = merge_maps(merged.get(str(nic_id), {}), value)
    return merged


# The sections whose interfaces a bridge can take as its port: a NIC, a bond (its members stay
# its own), a VLAN (its raw device stays as it is). netplan names a bond's or a VLAN's kernel
# interface by its ID (netplan(5): "the interface name is the ID").
PORT_SECTIONS = ("ethernets", "bonds", "vlans")
KINDS = {"ethernets": "nic", "bonds": "bond", "vlans": "vlan"}


def port_section(files: list[YamlFile], nic_id: str, *, include_own: bool = True) -> str | None:
    """The section (ethernets, bonds or vlans) that defines `nic_id` (None: none does)."""
    for section in PORT_SECTIONS:
        if nic_id in merged_section(files, section, include_own=include_own):
            return section
    return None


def port_settings(
    files: list[YamlFile], nic_id: str, *, include_own: bool = True
) -> dict[str, Any]:
    """The merged settings of the NIC, bond or VLAN `nic_id` ({} when no file defines it)."""
    section = port_section(files, nic_id, include_own=include_own) or "ethernets"
    return merged_section(files, section, include_own=include_own).get(nic_id, {})


ROUTED_SECTIONS = ("ethernets", "bridges", "bonds", "vlans", "wifis", "tunnels", "vrfs")


def route_targets(files: list[YamlFile]) -> list[tuple[str, str, object]]:
    """(file, interface id, `to`) of every `routes:` entry of every interface, file by file."""
    found: list[tuple[str, str, object]] = []
    for file in files:
        for section in ROUTED_SECTIONS:
            for nic_id, settings in _section(file, section).items():
                routes = settings.get("routes") if isinstance(settings, dict) else None
                for route in routes if isinstance(routes, list) else []:
                    if isinstance(route, dict) and "to" in route:
                        found.append((file.path, str(nic_id), route["to"]))
    return found


def static_addresses(files: list[YamlFile]) -> list[tuple[str, str]]:
    """(interface id, address) of every `addresses:` entry of every interface, but the guest
    address in xenwizard's own file (a new run replaces it)."""
    before = previous(files)
    found: list[tuple[str, str]] = []
    for file in files:
        for section in ROUTED_SECTIONS:
            for nic_id, settings in _section(file, section).items():
                entries = settings.get("addresses") if isinstance(settings, dict) else None
                for entry in entries if isinstance(entries, list) else []:
                    for text in entry if isinstance(entry, dict) else [entry]:
                        if file.is_own and before is not None and str(text) in before.ours:
                            continue
                        found.append((str(nic_id), str(text)))
    return found


def read_texts(fs: Tree) -> dict[str, str]:
    """Every etc/netplan/*.yaml of the root (path -> text)."""
    texts: dict[str, str] = {}
    for name in fs.listdir(NETPLAN_DIR):
        if not name.endswith(".yaml"):
            continue
        path = f"{NETPLAN_DIR}/{name}"
        text = fs.read_text(path)
        if text is not None:
            texts[path] = text
    return texts


def _is_true(value: object) -> bool:
    return (
        isinstance(value, str) and not isinstance(value, yaml.Quoted) and (value.lower() in _TRUE)
    )


def has_addressing(settings: dict[str, Any]) -> bool:
    return (
        bool(settings.get("addresses"))
        or _is_true(settings.get("dhcp4"))
        or _is_true(settings.get("dhcp6"))
    )


@dataclass(frozen=True, slots=True)
class Previous:
    """What xenwizard's own file holds from an earlier run."""

    bridge: str
    nic: str
    addressing: dict[str, Any]
    mac: str | None
    guest: str | None
    guest6: str | None = None

    @property
    def ours(self) -> tuple[str, ...]:
        """The addresses xenwizard added to the bridge (a new run replaces them)."""
        return tuple(a for a in (self.guest, self.guest6) if a)


def _header(text: str, header: str) -> str | None:
    return next(
        (line[len(header) :].strip() for line in text.splitlines() if line.startswith(header)),
        None,
    )


def previous(files: list[YamlFile]) -> Previous | None:
    own = next((f for f in files if f.is_own), None)
    if own is None:
        return None
    guest, guest6 = _header(own.text, GUEST_HEADER), _header(own.text, GUEST6_HEADER)
    ours = [a for a in (guest, guest6) if a]
    for name, settings in _section(own, "bridges").items():
        if not isinstance(settings, dict):
            continue
        ports = settings.get("interfaces") or []
        if not isinstance(ports, list) or not ports:
            continue
        addressing = {k: v for k, v in settings.items() if k in ADDRESSING}
        if ACCEPT_RA_HEADER in own.text.splitlines():
            addressing.pop("accept-ra", None)
        if ours and isinstance(addressing.get("addresses"), list):
            rest = [a for a in addressing["addresses"] if a not in ours]
            if rest:
                addressing["addresses"] = rest
            else:
                del addressing["addresses"]
        mac = settings.get("macaddress")
        mac_text = str(mac).lower() if mac else None
        return Previous(name, str(ports[0]), addressing, mac_text, guest, guest6)
    return None


def nic_mac(files: list[YamlFile], nic: str) -> str | None:
    """The NIC's MAC from `match: macaddress` or `macaddress`, or our earlier bridge's."""
    settings = port_settings(files, nic)
    match: dict[str, Any] = settings["match"] if isinstance(settings.get("match"), dict) else {}
    for value in (match.get("macaddress"), settings.get("macaddress")):
        if isinstance(value, str) and _MAC.match(value):
            return value.lower()
    prev = previous(files)
    if prev is not None and prev.nic == nic and prev.mac:
        return prev.mac
    link = settings.get("link")
    if port_section(files, nic) == "vlans" and isinstance(link, str) and link != nic:
        return nic_mac(files, link)  # a VLAN has its raw device's MAC
    return None


def id_for_interface(files: list[YamlFile], ifname: str) -> str | None:
    """The netplan ID that configures a kernel interface name: the ID itself, its `set-name` or
    a literal `match: name`, else an entry whose `match: name` pattern (netplan's shell glob,
    e.g. `en*` as cloud images write) selects it."""
    entries = ethernets(files)
    for nic_id, settings in entries.items():
        match: dict[str, Any] = settings["match"] if isinstance(settings.get("match"), dict) else {}
        names = {nic_id, settings.get("set-name"), match.get("name")}
        if ifname in names:
            return nic_id
    if port_section(files, ifname) in ("bonds", "vlans"):
        return ifname  # a bond's or VLAN's ID is its kernel name
    return next((nic_id for nic_id in entries if _glob_selects(entries, nic_id, ifname)), None)


def name_glob(files: list[YamlFile], nic_id: str) -> str | None:
    """The `match: name` pattern of an entry that selects interfaces by a glob (None when its
    name is literal, or it has none)."""
    settings = ethernets(files).get(nic_id) or {}
    match = settings.get("match")
    name = match.get("name") if isinstance(match, dict) else None
    if isinstance(name, str) and any(c in name for c in GLOB_CHARS):
        return name
    return None


def _glob_selects(entries: dict[str, dict[str, Any]], nic_id: str, ifname: str) -> bool:
    settings = entries.get(nic_id) or {}
    if settings.get("set-name"):
        return False  # renamed: its kernel name is the set-name, matched above
    match = settings.get("match")
    name = match.get("name") if isinstance(match, dict) else None
    return (
        isinstance(name, str)
        and any(c in name for c in GLOB_CHARS)
        and fnmatch.fnmatchcase(ifname, name)
    )


def kernel_name(files: list[YamlFile], nic_id: str) -> str | None:
    """The kernel's interface name for a netplan ethernet ID, when the files say it.

    `set-name` renames the interface, so it is the name; an ID without `match` is itself the
    interface name; a `match: name:` without wildcards names it too. None when only the
    MAC (or a wildcard) selects the interface: the files alone do not know its name.
    """
    if port_section(files, nic_id) in ("bonds", "vlans"):
        return nic_id  # netplan names a bond's or VLAN's interface by its ID
    settings = ethernets(files).get(nic_id)
    if settings is None:
        return None
    set_name = settings.get("set-name")
    if isinstance(set_name, str) and set_name:
        return set_name
    match = settings.get("match")
    if not isinstance(match, dict) or not match:
        return nic_id
    name = match.get("name")
    if isinstance(name, str) and name and not any(c in name for c in GLOB_CHARS):
        return name
    return None


LOOPBACK = "lo"
# Sections whose interfaces are never a NIC a bridge takes over, and what each one is.
NOT_NICS = {
    "wifis": "a Wi-Fi interface (wifis:), which cannot be a bridge port",
    "tunnels": "a {mode} tunnel",
    "vrfs": "a VRF",
    "modems": "a modem",
    "dummy-devices": "a dummy device",
    "virtual-ethernets": "a veth",
}


def is_loopback(nic_id: str, settings: dict[str, Any]) -> bool:
    """Whether an ethernets entry is the loopback: netplan lets `ethernets: lo:` give it extra
    addresses (netplan's examples/loopback_interface.yaml, anycast and BGP hosts)."""
    match = settings.get("match")
    name = match.get("name") if isinstance(match, dict) else None
    return LOOPBACK in (nic_id, settings.get("set-name"), name)


def not_bridgeable(files: list[YamlFile]) -> dict[str, str]:
    """Interfaces the files define that the bridge must not take as its NIC, each with why:
    the loopback, ports of a bond or of a bridge xenwizard did not write, tunnels, VRFs,
    Wi-Fi, modems, dummies, veths."""
    merged = ethernets(files, include_own=False)
    out = {nic_id: "the loopback" for nic_id, s in merged.items() if is_loopback(nic_id, s)}
    for file in files:
        if file.is_own:
            continue
        for section, what in NOT_NICS.items():
            for name, settings in _section(file, section).items():
                mode = settings.get("mode") if isinstance(settings, dict) else None
                out.setdefault(str(name), what.format(mode=mode or "netplan"))
    for file in files:
        if file.is_own:
            continue
        for section, what in (("bonds", "bond"), ("bridges", "bridge"), ("vrfs", "VRF")):
            for name, settings in _section(file, section).items():
                ports = settings.get("interfaces") if isinstance(settings, dict) else None
                for port in ports if isinstance(ports, list) else []:
                    out.setdefault(str(port), f"a port of the {what} {name}")
    return out


def candidates(files: list[YamlFile]) -> list[tuple[str, bool, bool, str, str | None]]:
    """(ID, has addressing, bridged by xenwizard's file, kind, a VLAN's `link`) for every
    ethernet, bond and VLAN that can be the bridge's port (not_bridgeable's are not), in
    order: the ethernets, then the bonds, then the VLANs."""
    prev = previous(files)
    skip = not_bridgeable(files)
    found: list[tuple[str, bool, bool, str, str | None]] = []
    for section in PORT_SECTIONS:
        for nic_id, settings in merged_section(files, section, include_own=False).items():
            if nic_id in skip:
                continue
            link = settings.get("link") if section == "vlans" else None
            found.append(
                (
                    nic_id,
                    has_addressing(settings),
                    prev is not None and prev.nic == nic_id,
                    KINDS[section],
                    str(link) if link is not None else None,
                )
            )
    if prev is not None and prev.nic not in [f[0] for f in found]:  # its entry is in our file
        kind = KINDS[port_section(files, prev.nic) or "ethernets"]
        found.insert(0, (prev.nic, True, True, kind, None))
    return found


# --- the files the plan writes ------------------------------------------------------------------


@dataclass(slots=True)
class NetplanChange:
    own_text: str
    own_notes: list[str]
    edits: dict[str, EditResult] = field(default_factory=dict)  # other files that change


def _comment_range(doc: Doc, start: int, end: int, mark: str | None) -> list[Line]:
    """Lines start..end commented out (at their indentation), a marker line first."""
    out: list[Line] = []
    for i in range(start, end):
        line = doc.lines[i]
        body = line.body
        stripped = body.lstrip(" ")
        lead = body[: len(body) - len(stripped)]
        if mark is not None and not out:
            out.append(Line(lead + mark, line.end or doc.eol))
        if not stripped or stripped.startswith("#"):
            out.append(line)
        else:
            out.append(line.with_body(f"{lead}# {stripped}"))
    return out


def strip_nic(
    file: YamlFile,
    nic: str,
    keys: tuple[str, ...],
    bridge: str,
    linked: tuple[str, ...] = (),
    section: str = "ethernets",
) -> tuple[EditResult | None, dict[str, Any]]:
    """Comment the NIC's `keys` out of one file; returns the edit (None: nothing to do) and the
    NIC's link settings to carry into our file when its whole entry had to go. With interfaces
    `linked` to the NIC (a VLAN's `link:`), an emptied entry stays as `NIC: {}`: netplan
    rejects a `link:` to an interface no file read so far defines."""
    entry = yaml.entry_at(file.doc, "network", section, nic)
    if entry is None or not isinstance(entry.node.value, dict):
        return None, {}
    settings = yaml.plain(entry.node)
    assert isinstance(settings, dict)
    present = [k for k in entry.node.value if k in keys]
    if not present:
        return None, {}
    doc = Doc.parse(file.text)
    mark = f"{MOVED_MARK}/{OWN_PATH}"
    ranges: list[tuple[int, int]] = []
    carry: dict[str, Any] = {}
    remaining = [k for k in entry.node.value if k not in keys]
    if entry.node.flow or not remaining:
        ranges.append((entry.start, entry.end))
        carry = {k: v for k, v in settings.items() if k not in ADDRESSING}
        section_entry = yaml.entry_at(file.doc, "network", section)
        assert section_entry is not None and isinstance(section_entry.node.value, dict)
        if len(section_entry.node.value) == 1:
            ranges = [(section_entry.start, section_entry.end)]
        what = (
            f"{nic}'s whole entry"
            if len(ranges) == 1 and ranges[0][0] == entry.start
            else (f"`{section}:` (it held only " + nic + ")")
        )
        notes = [f"{file.path}: {what} commented out; {nic} is defined in {OWN_PATH} now"]
        if linked:
            ranges = [(entry.start, entry.end)]
            notes = [
                f"{file.path}: {nic}'s entry commented out but for `{nic}: {{}}`, which keeps "
                f"{nic} defined for {', '.join(linked)} (`link: {nic}`)"
            ]
    else:
        for key in present:
            sub = entry.node.value[key]
            ranges.append((sub.start, sub.end))
        notes = [
            f"{file.path}: {nic}'s {', '.join(present)} commented out (moved to {bridge}): "
            "netplan concatenates lists across files, so they cannot be overridden"
        ]
    ranges.sort()
    out: list[Line] = []
    position = 0
    for start, end in ranges:
        out.extend(doc.lines[position:start])
        out.extend(_comment_range(doc, start, end, mark))
        if linked and start == entry.start and (entry.node.flow or not remaining):
            body = doc.lines[start].body
            lead = body[: len(body) - len(body.lstrip(" "))]
            out.append(doc.new(f"{lead}{yaml.scalar_text(nic)}: {{}}"))
        position = end
    out.extend(doc.lines[position:])
    return EditResult(doc.render(out), tuple(notes)), carry


def _addresses_with_guest(addressing: dict[str, Any], guest: str) -> dict[str, Any]:
    out = dict(addressing)  # "addresses" keeps its place when the NIC had some
    current = [a for a in out.get("addresses") or [] if not _same_address(a, guest)]
    out["addresses"] = [*current, guest]
    return out


def _same_address(a: object, b: str) -> bool:
    try:
        return ipaddress.ip_interface(str(a)) == ipaddress.ip_interface(b)
    except ValueError:
        return str(a) == b


def render_own(
    config: WizardConfig,
    nic: str,
    mac: str | None,
    addressing: dict[str, Any],
    link: dict[str, Any],
    section: str = "ethernets",
    vlan: dict[str, Any] | None = None,
    raw_section: str = "ethernets",
) -> str:
    bridge = config.bridge
    nic_settings: dict[str, Any] = dict(link)
    if section == "vlans":  # netplan checks each file's VLAN for its own id and link
        nic_settings.update({k: v for k, v in (vlan or {}).items() if k in ("id", "link")})
    nic_settings["dhcp4"] = False
    nic_settings["dhcp6"] = False
    if "accept-ra" in addressing:
        nic_settings["accept-ra"] = False
    bridge_settings: dict[str, Any] = {"interfaces": [nic]}
    if mac:
        bridge_settings["macaddress"] = yaml.Quoted(mac)
    bridge_settings.update(_addresses_with_guest(addressing, config.address))
    if config.host_ipv6 is not None:
        bridge_settings.update(_addresses_with_guest(bridge_settings, str(config.host_ipv6)))
    added_ra = config.host_ipv6 is not None and "accept-ra" not in bridge_settings
    if added_ra:  # forwarding on: the host takes the LAN's advertisements only when asked
        bridge_settings["accept-ra"] = True
    header = [
        f"# Written by xenwizard: the Xen bridge {bridge}, with {nic} as its only port, takes",
        f"# over {nic}'s addressing (xl never creates a bridge). Guests' vifs join {bridge};",
        f"# dnsmasq serves {config.network} on it. `xenwizard rollback` removes this file.",
        f"{GUEST_HEADER}{config.address}",
        *([f"{GUEST6_HEADER}{config.host_ipv6}"] if config.host_ipv6 is not None else []),
        *([ACCEPT_RA_HEADER] if added_ra else []),
    ]
    network: dict[str, Any] = {"version": 2}
    raw = (vlan or {}).get("link") if section == "vlans" else None
    if raw is not None:  # netplan wants a VLAN's link defined by a file read so far (ours
        network[raw_section] = {str(raw): {}}  # sorts before most): an empty entry merges
    network.update({section: {nic: nic_settings}, "bridges": {bridge: bridge_settings}})
    body = yaml.dump({"network": network})
    return "\n".join(header + body) + "\n"


def linked_to(
    files: list[YamlFile], nic: str, sections: tuple[str, ...] = ROUTED_SECTIONS
) -> tuple[str, ...]:
    """The interfaces whose `link:` is the NIC (VLANs, tunnels, SR-IOV VFs), in order."""
    found: dict[str, None] = {}
    for file in files:
        for section in sections:
            for name, settings in _section(file, section).items():
                if isinstance(settings, dict) and str(settings.get("link")) == nic:
                    found[str(name)] = None
    return tuple(found)


def plan_change(
    files: list[YamlFile], config: WizardConfig, nic: str, mac: str | None = None
) -> NetplanChange:
    """Our file's text and the edits of other files for bridging `nic` as config.bridge."""
    bridge = config.bridge
    prev = previous(files)
    if prev is not None and prev.nic != nic:
        raise EditError(
            f"{OWN_PATH}: xenwizard already bridges {prev.nic} as {prev.bridge}; to bridge {nic} "
            "instead, roll that run back first (`xenwizard rollback`)"
        )
    section = port_section(files, nic) or "ethernets"
    merged = merged_section(files, section, include_own=False)
    if nic not in merged and prev is None:
        known = ", ".join(c[0] for c in candidates(files)) or "none"
        raise EditError(
            f"{NETPLAN_DIR}: no ethernet, bond or VLAN `{nic}` in any netplan file "
            f"(found: {known}); choose the NIC with --nic"
        )
    for file in files:
        if file.is_own:
            continue
        for name, settings in _section(file, "bridges").items():
            ports = settings.get("interfaces") if isinstance(settings, dict) else None
            if isinstance(ports, list) and nic in ports:
                raise EditError(
                    f"{file.path}: {nic} is already a port of bridge {name}, which xenwizard "
                    f"did not write; it writes its bridge into {OWN_PATH} itself: remove {name} "
                    f"there (give {nic} its addressing back) and plan again"
                )
            if name == bridge:
                raise EditError(
                    f"{file.path}: bridge {bridge} is already defined there; choose another "
                    "bridge name"
                )
    settings = merged.get(nic, {})
    addressing = {k: v for k, v in settings.items() if k in ADDRESSING}
    if prev is not None:
        addressing = merge_maps(addressing, prev.addressing)
    mac = (mac or nic_mac(files, nic) or "").lower() or None
    edits: dict[str, EditResult] = {}
    link: dict[str, Any] = {}
    own_position = OWN_NAME
    for file in files:
        if file.is_own:
            continue
        keys = ADDRESSING if file.name > own_position else NOT_OVERRIDABLE
        edit, carry = strip_nic(file, nic, keys, bridge, linked_to(files, nic), section)
        if edit is not None:
            edits[file.path] = edit
            link = merge_maps(link, carry)
    raw = settings.get("link") if section == "vlans" else None
    raw_section = (port_section(files, str(raw)) if raw is not None else None) or "ethernets"
    own_text = render_own(config, nic, mac, addressing, link, section, settings, raw_section)
    vlans = linked_to(files, nic, ("vlans",))
    kept = _kept_note(section, nic, settings, bridge)
    notes = [
        *([kept] if kept else []),
        *(
            [
                f"{', '.join(vlans)} (VLANs on {nic}) stay on {nic}: the kernel hands a bridge "
                "port's tagged frames to its VLANs before the bridge"
            ]
            if vlans
            else []
        ),
        f"{bridge} takes over {nic}'s addressing: "
        + (", ".join(f"{k}" for k in addressing) or "none (the NIC had no addresses)"),
        f"guests' subnet {config.address} is one more `addresses` entry on {bridge}; {bridge} "
        f"exists at boot, so the seed's {config.alias} alias and rc.local line are not needed",
        *(
            [
                f"the guests' IPv6 {config.ipv6_prefix}: {bridge} takes {config.host_ipv6}, one "
                "more `addresses` entry, with accept-ra true unless the NIC's addressing said "
                "otherwise (forwarding is on, and the host keeps the LAN's advertisements)"
            ]
            if config.host_ipv6 is not None
            else []
        ),
        f"{nic}: dhcp4/dhcp6 false here (overrides the earlier files' values)",
        "no `parameters:` block, so `netplan try` can test this and revert",
    ]
    if mac:
        notes.append(f"macaddress {mac}: {bridge} keeps {nic}'s MAC (DHCP reservations match)")
    else:
        notes.append(
            f"{nic}'s MAC is not known (no `match: macaddress`, not the live system): {bridge} "
            "gets a generated MAC; add `macaddress:` by hand if the LAN needs it"
        )
    return NetplanChange(own_text, notes, edits)


def _kept_note(section: str, nic: str, settings: dict[str, Any], bridge: str) -> str | None:
    """What stays of a bond's or VLAN's own definition when it becomes the bridge's port."""
    if section == "bonds":
        members = settings.get("interfaces")
        names = ", ".join(str(m) for m in members) if isinstance(members, list) else "none"
        return (
            f"{nic} is a bond (of {names}): its members and parameters stay as they are; "
            f"{bridge} takes {nic} as its port"
        )
    if section == "vlans":
        return (
            f"{nic} is a VLAN (id {settings.get('id')} on {settings.get('link')}): its "
            f"definition stays as it is; {bridge} takes {nic} as its port"
        )
    return None


# --- cloud-init ---------------------------------------------------------------------------------

_CLOUD_INIT_HINTS = ("cloud-init", "generated from information provided by the datasource")


def written_by_cloud_init(path: str, text: str) -> bool:
    head = "\n".join(text.splitlines()[:8]).lower()
    return path.endswith("50-cloud-init.yaml") or any(h in head for h in _CLOUD_INIT_HINTS)


def cloud_init_network_disabled(cfg_texts: dict[str, str]) -> bool:
    """Whether cloud-init's configuration says `network: {config: disabled}`. A file that does
    not parse disables nothing: cloud-init reads it as empty (its `load_yaml` logs "Failed
    loading yaml blob" and returns the default), so the warning about its rewrites stands."""
    for text in cfg_texts.values():
        try:
            data = yaml.parse(text).data()
        except EditError:
            continue
        network = data.get("network") if isinstance(data, dict) else None
        if isinstance(network, dict) and network.get("config") == "disabled":
            return True
    return False


def definitions(file: YamlFile, kind: str) -> dict[str, Any]:
    """The file's `network.KIND` mapping (ethernets, bonds, ...); EditError when not one."""
    return _section(file, kind)


# --- the isolated bridge ------------------------------------------------------------------------


def plan_isolated(files: list[YamlFile], config: WizardConfig) -> NetplanChange:
    """Our file's text for the isolated bridge: no `interfaces`, the guests' subnet only, and
    `ignore-carrier` (networkd's ConfigureWithoutCarrier) so the address is there before the
    first vif joins. No other file changes. An earlier bridged run of ours commented the NIC's
    addressing out of other files; that is given back by its rollback, not here."""
    bridge = config.bridge
    prev = previous(files)
    if prev is not None:
        raise EditError(
            f"{OWN_PATH}: xenwizard's last run bridges {prev.nic} as {prev.bridge} and moved "
            f"{prev.nic}'s addressing there; to make the bridge isolated, roll that run back "
            "first (`xenwizard rollback`), which gives it back"
        )
    for file in files:
        if not file.is_own and bridge in _section(file, "bridges"):
            raise EditError(
                f"{file.path}: bridge {bridge} is already defined there; choose another bridge name"
            )
    settings: dict[str, Any] = {
        "interfaces": [],
        "addresses": [config.address],
        "dhcp4": False,
        "dhcp6": False,
        "link-local": [],
        "ignore-carrier": True,
    }
    header = [
        f"# Written by xenwizard: the isolated Xen bridge {bridge}, with no NIC as its port; the",
        "# host's own network configuration is left as it is. Guests' vifs join it; dnsmasq",
        f"# serves {config.network} on it. `xenwizard rollback` removes this file.",
        f"{GUEST_HEADER}{config.address}",
    ]
    body = yaml.dump({"network": {"version": 2, "bridges": {bridge: settings}}})
    notes = [
        f"{bridge} has no port (`interfaces: []`): no other netplan file changes, the NIC keeps "
        "its addressing, and no guest frame leaves the NIC with a Xen MAC",
        f"guests' subnet {config.address} on {bridge}; ignore-carrier: the address is there "
        "before the first guest's vif joins",
        "no `parameters:` block, so `netplan try` can test this and revert",
    ]
    return NetplanChange("\n".join(header + body) + "\n", notes)
