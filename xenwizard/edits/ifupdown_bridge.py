"""ifupdown: the Xen bridge for current releases, in /etc/network/interfaces.

xl never creates a bridge (xl-network-configuration(5)), so the distribution's network
configuration must: the primary NIC becomes a port of BR and BR takes over the NIC's addressing.

    allow-hotplug eno1              # kept as it was
    iface eno1 inet manual          # was `inet dhcp` (or static, with its options)

    # BEGIN xenwizard
    auto br0
    iface br0 inet dhcp             # the NIC's method and options, moved here
        bridge_ports eno1
        bridge_hw 52:54:00:12:34:56 # the NIC's MAC: DHCP reservations keep working

    iface br0 inet static           # the guests' subnet: a second stanza on BR
        bridge_ports eno1
        address 10.0.0.1/24
    # END xenwizard

Because BR now exists at boot, the seed's `BR:0` alias and its rc.local line are not needed; an
old `iface BR:0` stanza is commented out. Running again converges: the block is rebuilt from
what it holds (a new bridge name, subnet or NIC updates it; the NIC that was bridged before gets
its addressing back).

ifupdown has no end-of-line comments: only lines starting with `#` are comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, EditResult, ifupdown
from xenwizard.edits.ifupdown import Parsed, Stanza
from xenwizard.edits.text import (
    Block,
    Doc,
    Line,
    block_lines,
    comment_out,
    find_block,
    where,
)

WHAT = "interfaces"
GUEST_COMMENT = "# Subnet of the Xen guests"
BRIDGE_COMMENT = "# Xen bridge"
MOVABLE = {"inet": ("dhcp", "static"), "inet6": ("auto", "dhcp", "static")}
# Options that set up the link itself: they belong to the port, not the bridge (a bond's
# bond-*, a VLAN's raw device, 802.1X and Wi-Fi's wpa-*/wireless-*, and the ethtool package's
# if-pre-up.d/if-up.d options: ethernet-wol, link-speed, offload-tso, hardware-dma-ring-rx...).
STAYS_ON_NIC = ("mtu", "hwaddress", "vlan-raw-device", "vlan_raw_device", "driver-message-level")
STAYS_ON_NIC_PREFIXES = (
    *("bond-", "bond_", "wpa-", "wireless-"),
    *("ethernet-", "hardware-", "link-", "offload-"),
)
# Commands ifupdown runs; one that only touches the link (ethtool, `ip link`) stays on the port.
COMMANDS = ("pre-up", "up", "post-up", "down", "pre-down", "post-down")
LINK_COMMAND = re.compile(r"^(?:\S*/)?(?:ethtool|iw|mii-tool)\b|^(?:\S*/)?ip\s+(?:-\S+\s+)*link\b")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
DEFAULT_INDENT = "    "


def parse(lines: list[Line], skip: range = range(0)) -> Parsed:
    """ifupdown stanzas of `lines`, ignoring the indices in `skip` (xenwizard's block); one
    option per line and complete `iface` heads are required."""
    parsed = ifupdown.read(lines, skip)
    if parsed.continued:
        line = lines[parsed.continued[0]]
        raise EditError(
            f"{where(line)} continues on the next line (trailing '\\'); "
            "expected one option per line"
        )
    for stanza in parsed.stanzas:
        if not stanza.complete:
            line = lines[stanza.head]
            raise EditError(
                f"{where(line)} `{line.body.strip()}`: expected 'iface NAME FAMILY METHOD'"
            )
    return parsed


def _option(lines: list[Line], index: int) -> tuple[str, str]:
    return ifupdown.option(lines[index])


def _ports(lines: list[Line], stanza: Stanza) -> list[str]:
    for index in stanza.options:
        name, value = _option(lines, index)
        if name in ("bridge_ports", "bridge-ports"):
            return [p for p in value.split() if p != "none"]
    return []


def _indent_of(lines: list[Line], stanzas: list[Stanza]) -> str:
    """The option indentation the file already uses (the Debian installer uses a tab)."""
    for stanza in stanzas:
        for index in stanza.options:
            body = lines[index].body
            lead = body[: len(body) - len(body.lstrip())]
            if lead:
                return lead
    return DEFAULT_INDENT


@dataclass(slots=True)
class Moved:
    """One stanza's worth of addressing: family, method and option texts."""

    family: str
    method: str
    options: list[str]


# --- reading the system's state (for NIC detection and for the profile) ------------------------


def block_range(doc: Doc) -> range:
    block = find_block(doc.lines, WHAT)
    return range(block.begin, block.end + 1) if block else range(0)


def configured_interfaces(text: str) -> list[tuple[str, str, bool]]:
    """(name, method, is_bridge_port_of_our_block) for every iface stanza outside our block and
    every port of our block, in file order; used to find the primary NIC from the files."""
    doc = Doc.parse(text)
    skip = block_range(doc)
    outside = parse(doc.lines, skip)
    found: list[tuple[str, str, bool]] = []
    ours: set[str] = set()
    if skip:
        inner = parse(doc.lines[skip.start : skip.stop])
        for stanza in inner.stanzas:
            ours.update(_ports(doc.lines[skip.start : skip.stop], stanza))
    bridges = {s.name for s in outside.stanzas if _ports(doc.lines, s)}
    ports_elsewhere = {p for s in outside.stanzas for p in _ports(doc.lines, s)}
    templates = {  # `iface eth1 inet static inherits ethernet`: a template, no interface
        s.words[i + 1]
        for s in outside.stanzas
        for i, word in enumerate(s.words[:-1])
        if word == "inherits"
    }
    bond_slaves = set(bond_members(doc.lines, outside))
    for stanza in outside.stanzas:
        name = stanza.name
        if (
            name == "lo"
            or not_a_nic(doc.lines, stanza)
            or ":" in name
            or name in bridges
            or name in templates
            or name in bond_slaves
            or name in ports_elsewhere
            or stanza.family not in ("inet", "inet6")
        ):
            continue
        found.append((name, stanza.method, name in ours))
    return found


# Methods that make an interface of their own, never a NIC (interfaces(5), ifupdown's
# inet.defn and inet6.defn; ppp and wvdial dial out).
NOT_NIC_METHODS = {
    "loopback": "the loopback",
    "tunnel": "a tunnel",
    "v4tunnel": "a tunnel (IPv6 in IPv4)",
    "6to4": "a 6to4 tunnel",
    "ppp": "a PPP link",
    "wvdial": "a dial-up link",
}
# Options that make one: a VRF (ifupdown2, vrf-table), a VXLAN, Wi-Fi (wpasupplicant's ssid,
# wireless-tools' essid).
NOT_NIC_OPTIONS = {
    "vrf-table": "a VRF",
    "vxlan-id": "a VXLAN tunnel",
    "wpa-ssid": "a Wi-Fi interface, which cannot be a bridge port",
    "wireless-essid": "a Wi-Fi interface, which cannot be a bridge port",
}


def not_a_nic(lines: list[Line], stanza: Stanza) -> str | None:
    """What the stanza's interface is when it is not a NIC a bridge can take (None: it may be)."""
    if stanza.method in NOT_NIC_METHODS:
        return NOT_NIC_METHODS[stanza.method]
    for index in stanza.options:
        name, _ = _option(lines, index)
        if name in NOT_NIC_OPTIONS:
            return NOT_NIC_OPTIONS[name]
    return None


def not_bridgeable(text: str) -> dict[str, str]:
    """Interfaces of the file that are not NICs a bridge can take, each with what it is: a
    tunnel, Wi-Fi..., a bond's member (the bond is the port), another bridge's port."""
    doc = Doc.parse(text)
    found: dict[str, str] = {}
    parsed = parse(doc.lines, block_range(doc))
    for stanza in parsed.stanzas:
        why = not_a_nic(doc.lines, stanza)
        if why and stanza.name != "lo":
            found.setdefault(stanza.name, why)
    for member, bond in bond_members(doc.lines, parsed).items():
        found.setdefault(member, f"a member of the bond {bond} (choose {bond} itself)")
    for stanza in parsed.stanzas:
        for port in _ports(doc.lines, stanza):
            found.setdefault(port, f"a port of the bridge {stanza.name} already")
    return found


def bond_members(lines: list[Line], parsed: Parsed) -> dict[str, str]:
    """member -> bond, from a member's `bond-master` and a bond's `bond-slaves` (ifenslave's
    two ways: interfaces(5) of ifenslave 2.x, /usr/share/doc/ifenslave/README.Debian)."""
    found: dict[str, str] = {}
    for stanza in parsed.stanzas:
        for index in stanza.options:
            name, value = _option(lines, index)
            if name in ("bond-master", "bond_master") and value:
                found.setdefault(stanza.name, value.split()[0])
            elif name in ("bond-slaves", "bond_slaves"):
                for member in value.split():
                    if member != "none":
                        found.setdefault(member, stanza.name)
    return found


_VLAN_NAME = re.compile(r"^(?P<raw>[^.\s]+)\.(?P<id>\d+)$")  # eno1.10, vlan-raw-device's eno1


def port_kinds(text: str) -> dict[str, tuple[str, str | None]]:
    """name -> (kind, raw device) of the file's bonds and VLANs: a bond has `bond-slaves`
    (ifenslave); a VLAN is named RAW.ID or has `vlan-raw-device` (the vlan package's
    if-pre-up.d/vlan). Plain NICs are not listed."""
    doc = Doc.parse(text)
    found: dict[str, tuple[str, str | None]] = {}
    for stanza in parse(doc.lines, block_range(doc)).stanzas:
        options = dict(_option(doc.lines, i) for i in stanza.options)
        options = {k.replace("_", "-"): v for k, v in options.items()}
        named = _VLAN_NAME.match(stanza.name)
        if "bond-slaves" in options:
            found.setdefault(stanza.name, ("bond", None))
        elif options.get("vlan-raw-device"):
            found.setdefault(stanza.name, ("vlan", options["vlan-raw-device"].split()[0]))
        elif named:
            found.setdefault(stanza.name, ("vlan", named.group("raw")))
    return found


def has_block(text: str) -> bool:
    """Whether an earlier run left xenwizard's block in this text."""
    return bool(block_range(Doc.parse(text)))


def block_bridge_hw(text: str) -> str | None:
    """The bridge_hw MAC of xenwizard's block, if a previous run wrote one."""
    doc = Doc.parse(text)
    skip = block_range(doc)
    inner_lines = doc.lines[skip.start : skip.stop]
    for stanza in parse(inner_lines).stanzas:
        for index in stanza.options:
            name, value = _option(inner_lines, index)
            if name in ("bridge_hw", "bridge-hw") and _MAC.match(value):
                return value.lower()
    return None


def nic_has_option(text: str, nic: str, prefix: str) -> bool:
    """Whether a stanza of the NIC has an option starting with `prefix`."""
    doc = Doc.parse(text)
    return any(
        _option(doc.lines, index)[0].startswith(prefix)
        for stanza in parse(doc.lines, block_range(doc)).stanzas
        if stanza.name == nic
        for index in stanza.options
    )


def nic_hwaddress(text: str, nic: str) -> str | None:
    """An `hwaddress [ether] MAC` option on the NIC's own stanza, if any."""
    doc = Doc.parse(text)
    for stanza in parse(doc.lines, block_range(doc)).stanzas:
        if stanza.name != nic:
            continue
        for index in stanza.options:
            name, value = _option(doc.lines, index)
            words = value.split()
            if name == "hwaddress" and words and _MAC.match(words[-1]):
                return words[-1].lower()
    return None


# --- the edit -----------------------------------------------------------------------------------


def _previous_block(doc: Doc, skip: range) -> tuple[list[Moved], list[str], str | None]:
    """What an earlier run's block holds: the moved stanzas, the ports, the bridge_hw MAC."""
    if not skip:
        return [], [], None
    inner_lines = doc.lines[skip.start : skip.stop]
    parsed = parse(inner_lines)
    moved: list[Moved] = []
    ports: list[str] = []
    mac: str | None = None
    for stanza in parsed.stanzas:
        comments: list[str] = []
        for j in range(stanza.head - 1, -1, -1):
            body = inner_lines[j].body.strip()
            if not body.startswith("#"):
                break
            comments.append(body)
        options: list[str] = []
        for index in range(stanza.head + 1, stanza.last + 1):
            if index not in stanza.options:
                body = inner_lines[index].body.strip()
                if body.startswith("#"):
                    options.append(body)
                continue
            name, value = _option(inner_lines, index)
            if name in ("bridge_ports", "bridge-ports"):
                ports = ports or [p for p in value.split() if p != "none"]
            elif name in ("bridge_hw", "bridge-hw"):
                mac = mac or value.lower()
            else:
                options.append(inner_lines[index].body.strip())
        if any(c.startswith(GUEST_COMMENT) for c in comments):
            continue
        moved.append(Moved(stanza.family, stanza.method, options))
    return moved, ports, mac


def _bridge_block(
    doc: Doc,
    config: WizardConfig,
    nic: str,
    mac: str | None,
    moved: list[Moved],
    indent: str,
    ports: list[str],
    own_bridge: bool,
) -> list[Line]:
    bridge = config.bridge
    bodies: list[str] = []
    hw = [f"bridge_hw {mac}"] if mac else []
    port_line = f"bridge_ports {' '.join(ports)}"
    if own_bridge:
        bodies.append(
            f"{BRIDGE_COMMENT} {bridge} for the guests' vifs, with {nic} as its port"
            + (f"; {nic}'s addressing moved here." if moved else ".")
        )
        bodies.append(f"auto {bridge}")
        for number, stanza in enumerate(moved):
            if number:
                bodies.append("")
            bodies.append(f"iface {bridge} {stanza.family} {stanza.method}")
            bodies.append(indent + port_line)
            if number == 0:
                bodies += [indent + h for h in hw]
            bodies += [indent + option for option in stanza.options]
        if moved:
            bodies.append("")
    bodies.append(f"{GUEST_COMMENT} ({config.network}): dnsmasq answers DHCP here.")
    bodies.append(f"# {bridge} exists from boot on: no {config.alias} alias, no rc.local line.")
    bodies.append(f"iface {bridge} inet static")
    bodies.append(indent + port_line)
    if own_bridge and not moved:
        bodies += [indent + h for h in hw]
    bodies.append(f"{indent}address {config.address}")
    if config.host_ipv6 is not None:
        bodies.append("")
        bodies += _ipv6_stanza(config, moved, indent, port_line)
    return block_lines(doc, bodies)


def _ipv6_stanza(
    config: WizardConfig, moved: list[Moved], indent: str, port_line: str
) -> list[str]:
    """The host's address in the guests' /64, as one more stanza on the bridge.

    ifupdown's inet6 static sets autoconf 0 unless told (interfaces(5)): 1 keeps the host's own
    SLAAC address from the LAN, as the kernel's default had it, unless the moved addressing is
    itself static (then it had 0 already). accept_ra 2: forwarding is on (guestipv6), and with
    1 the kernel would ignore the LAN's router advertisements."""
    static = any(m.family == "inet6" and m.method == "static" for m in moved)
    return [
        f"{GUEST_COMMENT}, IPv6 ({config.ipv6_prefix}): dnsmasq advertises it here.",
        f"iface {config.bridge} inet6 static",
        indent + port_line,
        f"{indent}address {config.host_ipv6}",
        f"{indent}accept_ra 2",
        f"{indent}autoconf {0 if static else 1}",
    ]


@dataclass(slots=True)
class _Edit:
    """What set_bridge's phases collect: line replacements ([] deletes) and notes."""

    doc: Doc
    replace: dict[int, list[Line]]
    notes: list[str]

    @property
    def lines(self) -> list[Line]:
        return self.doc.lines


def set_bridge(text: str, config: WizardConfig, nic: str, mac: str | None = None) -> EditResult:
    """interfaces with NIC as the port of config.bridge, which takes over NIC's addressing and
    carries the guests' subnet in a second stanza. Idempotent; see the module docstring."""
    bridge = config.bridge
    doc = Doc.parse(text)
    lines = doc.lines
    block = find_block(lines, WHAT)
    skip = range(block.begin, block.end + 1) if block else range(0)
    outside = parse(lines, skip)
    prev_moved, prev_ports, prev_mac = _previous_block(doc, skip)
    prev_nic = prev_ports[0] if prev_ports else None
    mac = (mac or prev_mac or "").lower() or None
    indent = _indent_of(lines, parse(lines).stanzas)  # the block's own count on a re-run
    edit = _Edit(doc, {}, [])

    own_bridge, ports = _existing_bridge(edit, outside, bridge, nic)
    nic_stanzas = [s for s in outside.stanzas if s.name == nic]
    if own_bridge and not nic_stanzas:
        raise EditError(
            f"no `iface {nic}` stanza; expected ifupdown to configure {nic} here "
            "— choose the NIC with --nic"
        )
    moved: list[Moved] = []
    if own_bridge:
        moved = _move_addressing(edit, nic_stanzas, bridge, nic)
        if moved:
            if block and prev_moved and prev_nic == nic:
                edit.notes.append(
                    f"{nic}'s stanza was changed after xenwizard's last run; its addressing "
                    "moves onto the bridge again"
                )
        elif block and prev_nic == nic:
            moved = prev_moved
        else:
            edit.notes.append(
                f"{nic} has no addressing (inet manual); {bridge} gets only the guests' subnet"
            )
        if prev_nic and prev_nic != nic and block:
            edit.replace.update(
                _restore_nic(doc, outside, prev_nic, prev_moved, indent, edit.notes)
            )
    _comment_out_alias(edit, outside, bridge)

    new_block = _bridge_block(doc, config, nic, mac, moved, indent, ports, own_bridge)
    anchor = max(
        [s.last for s in nic_stanzas] + [s.last for s in outside.stanzas if s.name == bridge],
        default=-1,
    )
    result = doc.render(_splice(edit, block, skip, new_block, anchor))
    notes = edit.notes
    if mac is None and own_bridge:
        notes.append(
            f"{nic}'s MAC is not known (it is read from the live system), so no bridge_hw: "
            f"{bridge} gets a generated MAC and a DHCP reservation for the NIC's MAC would "
            "not match; add `bridge_hw MAC` by hand if the LAN needs it"
        )
    elif mac and own_bridge:
        notes.append(f"bridge_hw {mac}: {bridge} keeps {nic}'s MAC (DHCP reservations match)")
    notes.append(
        f"guests' subnet {config.address} is a second `iface {bridge} inet static` stanza; "
        f"{bridge} exists at boot, so the seed's {config.alias} alias and rc.local line are not "
        "needed"
    )
    if config.host_ipv6 is not None:
        notes.append(
            f"the guests' IPv6 {config.ipv6_prefix}: {bridge} takes {config.host_ipv6} in one "
            "more `inet6 static` stanza (accept_ra 2: the host keeps the LAN's advertisements "
            "with forwarding on)"
        )
    if result == text:
        notes.insert(0, f"already set: {nic} is bridged by {bridge} with {config.address}")
    return EditResult(result, tuple(notes))


def _existing_bridge(edit: _Edit, outside: Parsed, bridge: str, nic: str) -> tuple[bool, list[str]]:
    """(whether the block defines the bridge itself, its ports): the bridge may already be
    defined by hand outside the block; NIC must not be a port of another bridge."""
    lines = edit.lines
    own_bridge = True
    ports = [nic]
    for stanza in outside.stanzas:
        stanza_ports = _ports(lines, stanza)
        if stanza.name == bridge:
            if nic not in stanza_ports:
                raise EditError(
                    f"{bridge} is already configured at {where(lines[stanza.head])} "
                    f"(`{lines[stanza.head].body.strip()}`) and does not bridge {nic}; expected "
                    f"no {bridge} stanza or one with `bridge_ports {nic}` — choose another "
                    "bridge name"
                )
            own_bridge = False
            ports = stanza_ports
        elif nic in stanza_ports:
            raise EditError(
                f"{nic} is already a port of bridge {stanza.name} "
                f"({where(lines[stanza.head])}); use --bridge {stanza.name} or remove that bridge"
            )
    if not own_bridge:
        edit.notes.append(
            f"{bridge} already bridges {nic} (configured by hand); left as is — only the "
            "guests' subnet is added"
        )
    return own_bridge, ports


def _move_addressing(edit: _Edit, nic_stanzas: list[Stanza], bridge: str, nic: str) -> list[Moved]:
    """The NIC's dhcp/static stanzas leave it (it keeps one `manual` stanza, so ifupdown still
    raises it); what they held is returned, to go onto the bridge."""
    lines = edit.lines
    for stanza in nic_stanzas:
        allowed = (*MOVABLE.get(stanza.family, ()), "manual")
        if stanza.family in MOVABLE and stanza.method not in allowed:
            raise EditError(
                f"{where(lines[stanza.head])} `{lines[stanza.head].body.strip()}`: "
                f"method {stanza.method}; expected {nic} on "
                f"{' or '.join(MOVABLE[stanza.family])} (or manual)"
            )
    movable = [s for s in nic_stanzas if s.family in MOVABLE and s.method in MOVABLE[s.family]]
    moved: list[Moved] = []
    for number, stanza in enumerate(movable):
        head = lines[stanza.head]
        keep: list[str] = []
        options: list[str] = []
        for index in range(stanza.head + 1, stanza.last + 1):
            body = lines[index].body
            if index not in stanza.options:
                # a comment among the options (indented) travels with them
                if body.strip().startswith("#") and body[:1] in (" ", "\t"):
                    options.append(body.strip())
                    edit.replace[index] = []
                continue
            name, value = _option(lines, index)
            if stays_on_port(name, value):
                keep.append(name)
                continue
            option = renamed(body.strip(), nic, bridge)
            if option != body.strip():
                edit.notes.append(
                    f"{where(lines[index])} `{body.strip()}` named {nic}: on {bridge} it is "
                    f"`{option}`"
                )
            options.append(option)
            edit.replace[index] = []
        moved.append(Moved(stanza.family, stanza.method, options))
        if number == 0 or keep:  # the NIC keeps a `manual` stanza: ifupdown still raises it
            new_head = re.sub(
                rf"(\biface\s+{re.escape(nic)}\s+{stanza.family}\s+)"
                rf"{re.escape(stanza.method)}\b",
                r"\1manual",
                head.body,
                count=1,
            )
            edit.replace[stanza.head] = [head.with_body(new_head)]
        else:
            edit.replace[stanza.head] = []
        names = [o.split()[0] for o in options if not o.startswith("#")]
        moved_text = f" with {', '.join(names)}" if names else ""
        kept_text = f" ({', '.join(keep)} stays on {nic})" if keep else ""
        edit.notes.append(
            f"{where(head)} `{head.body.strip()}` -> `iface {bridge} "
            f"{stanza.family} {stanza.method}`{moved_text}{kept_text}"
        )
    if moved and not any(m.family == "inet" for m in moved):
        edit.notes.append(f"{nic} has no IPv4 stanza to move; its inet6 addressing moved")
    return moved


def stays_on_port(name: str, value: str) -> bool:
    """Whether an option of the NIC's stanza sets up the link (it stays on the port) rather
    than addressing, routes or DNS (they move to the bridge)."""
    if name in STAYS_ON_NIC or name.startswith(STAYS_ON_NIC_PREFIXES):
        return True
    return name in COMMANDS and bool(LINK_COMMAND.match(value))


def renamed(option: str, nic: str, bridge: str) -> str:
    """An option moved to the bridge with the NIC's name in it replaced by the bridge's: a
    route `dev eno1` on the port would fail once the address is on the bridge. A VLAN on the
    NIC (eno1.10) keeps its name; an address label (eno1:1) and a sysctl key
    (net.ipv6.conf.eno1.accept_ra) follow the bridge."""
    return re.sub(rf"(?<![\w:-]){re.escape(nic)}(?![\w-]|\.\d)", bridge, option)


def _comment_out_alias(edit: _Edit, outside: Parsed, bridge: str) -> None:
    """The seed's alias BR:0 (and its `auto`) is not needed: comment it out."""
    lines = edit.lines
    aliases = {s.name for s in outside.stanzas if s.name.startswith(f"{bridge}:")}
    for stanza in outside.stanzas:
        if stanza.name in aliases:
            for index in (stanza.head, *stanza.options):
                edit.replace[index] = [comment_out(lines[index])]
            edit.notes.append(
                f"{where(lines[stanza.head])} `{lines[stanza.head].body.strip()}` commented out: "
                f"the guests' subnet is a second stanza on {bridge} now"
            )
    for index, _keyword, names in outside.marks:
        if any(n in aliases for n in names) and index not in edit.replace:
            edit.replace[index] = [comment_out(lines[index])]
            edit.notes.append(f"{where(lines[index])} `{lines[index].body.strip()}` commented out")


def _splice(
    edit: _Edit, block: Block | None, skip: range, new_block: list[Line], anchor: int
) -> list[Line]:
    """The file's lines with the replacements made and the block in place of the old one, or
    after the NIC's (or the bridge's) last stanza line."""
    doc, lines = edit.doc, edit.lines
    out: list[Line] = []
    if block is not None:
        for i, line in enumerate(lines):
            if i == skip.start:
                out.extend(new_block)
            elif i in skip:
                continue
            else:
                out.extend(edit.replace.get(i, [line]))
        return out
    for i, line in enumerate(lines):
        out.extend(edit.replace.get(i, [line]))
        if i == anchor:
            out.append(doc.new(""))
            out.extend(new_block)
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if nxt is not None and nxt.body.strip():
                out.append(doc.new(""))
    return out


def _restore_nic(
    doc: Doc,
    outside: Parsed,
    prev_nic: str,
    prev_moved: list[Moved],
    indent: str,
    notes: list[str],
) -> dict[int, list[Line]]:
    """The NIC bridged by an earlier run gets its addressing back when another NIC is chosen."""
    lines = doc.lines
    stanza = next((s for s in outside.stanzas if s.name == prev_nic and s.family == "inet"), None)
    if stanza is None or stanza.method != "manual" or not prev_moved:
        return {}
    first, rest = prev_moved[0], prev_moved[1:]
    head = lines[stanza.head]
    new_head = head.with_body(
        re.sub(r"\bmanual\b", first.method, head.body, count=1)
        if first.family == "inet"
        else head.body
    )
    restored = [new_head] + [doc.new(indent + o) for o in first.options]
    for extra in rest if first.family == "inet" else prev_moved:
        restored.append(doc.new(""))
        restored.append(doc.new(f"iface {prev_nic} {extra.family} {extra.method}"))
        restored += [doc.new(indent + o) for o in extra.options]
    notes.append(f"{prev_nic} (bridged by the last run) gets its addressing back")
    tail = list(stanza.options)
    replacement: dict[int, list[Line]] = {stanza.head: restored}
    for index in tail:
        replacement[index] = [lines[index]]
    return replacement


def remove_block(text: str) -> EditResult:
    """The file without xenwizard's block, its NIC given back the addressing the block holds:
    a run that switches to the isolated bridge replaces an earlier bridged run. The blank line
    the block was spliced in with goes too, so the file is as it was before that run (an alias
    stanza the earlier run commented out stays commented)."""
    doc = Doc.parse(text)
    lines = doc.lines
    block = find_block(lines, WHAT)
    if block is None:
        return EditResult(text, ("no bridge of an earlier run here: nothing to give back",))
    skip = range(block.begin, block.end + 1)
    outside = parse(lines, skip)
    moved, ports, _mac = _previous_block(doc, skip)
    notes: list[str] = []
    replace: dict[int, list[Line]] = {}
    if ports:
        indent = _indent_of(lines, parse(lines).stanzas)
        replace = _restore_nic(doc, outside, ports[0], moved, indent, notes)
    dropped = set(skip)
    before, after = block.begin - 1, block.end + 1
    blank_after = after >= len(lines) or not lines[after].body.strip()
    if before >= 0 and not lines[before].body.strip() and blank_after:
        dropped.add(before)
    out: list[Line] = []
    for i, line in enumerate(lines):
        if i not in dropped:
            out.extend(replace.get(i, [line]))
    notes.append(f"xenwizard's bridge block (lines {block.begin + 1}-{block.end + 1}) removed")
    return EditResult(doc.render(out), tuple(notes))
