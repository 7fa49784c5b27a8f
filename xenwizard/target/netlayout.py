"""The target's network layout as its configuration files give it, and the primary NIC in it.

Beside the probe: the probe reads what the kernel says (live interfaces, the default route);
this module reads, once, what the target's network configuration says (ifupdown's interfaces
and the files it sources, or netplan's YAML) and finds the NIC the bridge takes over. The
profiles build the plan's steps from the result (`profiles/current.py`, its network step in
`profiles/bridged.py`); the validators that run the real tools stay in netcheck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from xenwizard.answers.checks import check_nic
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditError, ifupdown, ifupdown_bridge, netplan
from xenwizard.target.probe import SystemFacts
from xenwizard.textsafe import escape_control

if TYPE_CHECKING:
    from xenwizard.target.rootfs import RootFS

INTERFACES = ifupdown.INTERFACES
IFUPDOWN = "ifupdown"
NETPLAN = "netplan"


@dataclass(frozen=True, slots=True)
class ConfiguredNic:
    """A NIC the configuration names (an ifupdown stanza, or a netplan ethernet's ID)."""

    name: str
    addressed: bool  # a method other than manual, or addresses / DHCP in netplan
    ours: bool  # bridged by xenwizard's earlier run
    kind: str = "nic"  # "nic", "bond" or "vlan": what the bridge takes as its port
    link: str | None = None  # a VLAN's raw device


@dataclass(frozen=True, slots=True)
class NicChoice:
    """The primary NIC the bridge takes over, how it was found, and its MAC when known."""

    name: str | None
    reason: str
    mac: str | None = None
    candidates: tuple[str, ...] = ()
    backend: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class NetLayout:
    """The network configuration of the target, read once: which stack configures it, the
    files' texts, and the NICs they configure (or why they cannot be read)."""

    backend: str  # IFUPDOWN or NETPLAN
    ifupdown_texts: dict[str, str]  # interfaces and the files it sources ({} without it)
    netplan_texts: dict[str, str]  # etc/netplan/*.yaml
    nics: tuple[ConfiguredNic, ...] = ()
    error: str | None = None  # one line naming the file that cannot be read
    skipped: tuple[tuple[str, str], ...] = ()  # (name, why): interfaces that are not a NIC

    @classmethod
    def read(cls, fs: RootFS, default_backend: str) -> NetLayout:
        """ifupdown when etc/network/interfaces configures an interface other than lo (or
        cannot be read: its error is then the layout's), netplan when etc/netplan defines an
        ethernet, else the release's default."""
        netplan_texts = netplan.read_texts(fs)
        try:
            ifupdown_texts = ifupdown.load(fs)
            configured = _ifupdown_configured(ifupdown_texts) if ifupdown_texts else []
        except EditError as exc:
            where = "" if str(exc).startswith(INTERFACES) else f"{INTERFACES}: "
            return cls(IFUPDOWN, {}, netplan_texts, error=f"{where}{exc}")
        if configured:
            kinds = _ifupdown_kinds(ifupdown_texts)
            nics = tuple(
                ConfiguredNic(name, method != "manual", ours, *kinds.get(name, ("nic", None)))
                for name, method, ours in _dedupe(configured)
            )
            return cls(
                IFUPDOWN, ifupdown_texts, netplan_texts, nics, skipped=_not_nics(ifupdown_texts)
            )
        backend = default_backend
        try:
            files = netplan.load_files(netplan_texts)
            if netplan_texts and netplan.ethernets(files):
                backend = NETPLAN
        except EditError as exc:
            return cls(NETPLAN, ifupdown_texts, netplan_texts, error=str(exc))
        if backend == IFUPDOWN:
            return cls(IFUPDOWN, ifupdown_texts, netplan_texts, skipped=_not_nics(ifupdown_texts))
        nics = tuple(ConfiguredNic(*found) for found in netplan.candidates(files))
        skipped = tuple(netplan.not_bridgeable(files).items())
        return cls(NETPLAN, ifupdown_texts, netplan_texts, nics, skipped=skipped)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(nic.name for nic in self.nics)

    def kind(self, name: str) -> str:
        """ "nic", "bond" or "vlan": what the configuration makes of the bridge's port."""
        return next((nic.kind for nic in self.nics if nic.name == name), "nic")

    def why_not(self, name: str) -> str | None:
        """Why the configuration's `name` is not a NIC the bridge can take (None: it may be)."""
        return dict(self.skipped).get(name)

    @property
    def where(self) -> str:
        """Where the NICs are configured, as messages name it."""
        return INTERFACES if self.backend == IFUPDOWN else f"{netplan.NETPLAN_DIR}/*.yaml"

    def netplan_files(self) -> list[netplan.YamlFile]:
        """netplan's files parsed (EditError when one cannot be)."""
        return netplan.load_files(self.netplan_texts)

    def netplan_id(self, ifname: str) -> str | None:
        """The netplan ID that configures the kernel's interface `ifname`, when one does."""
        try:
            return netplan.id_for_interface(self.netplan_files(), ifname)
        except EditError:
            return None

    def authenticated(self, nic: str) -> bool:
        """Whether the NIC's port authenticates with 802.1X: netplan's `auth:` on its entry,
        or wpa_supplicant's `wpa-*` options on its ifupdown stanza (`wpa-driver wired`)."""
        try:
            if self.backend == NETPLAN:
                return "auth" in netplan.ethernets(self.netplan_files()).get(nic, {})
            return any(
                ifupdown_bridge.nic_has_option(t, nic, "wpa-") for t in self.ifupdown_texts.values()
            )
        except EditError:
            return False

    def mac(self, facts: SystemFacts, nic: str) -> str | None:
        """NIC's MAC: the live interface's, else the configuration's (hwaddress, macaddress,
        or the MAC xenwizard's earlier bridge took over)."""
        info = facts.interface(nic)
        if info is not None and info.mac and info.mac != "00:00:00:00:00:00":
            return info.mac.lower()
        if self.backend == IFUPDOWN:
            texts = self.ifupdown_texts.values()
            try:
                return next(
                    (mac for text in texts if (mac := ifupdown_bridge.nic_hwaddress(text, nic))),
                    None,
                ) or next(
                    (mac for text in texts if (mac := ifupdown_bridge.block_bridge_hw(text))),
                    None,
                )
            except EditError:
                return None
        try:
            return netplan.nic_mac(self.netplan_files(), nic)
        except EditError:
            return None


def primary_nic(config: WizardConfig, facts: SystemFacts, layout: NetLayout) -> NicChoice:
    """--nic, else the default-route NIC (live), else the one configured physical NIC."""
    backend = layout.backend
    if layout.error is not None:
        return NicChoice(None, "", backend=backend, error=layout.error)
    names = layout.names
    if config.nic:
        name, reason = config.nic, "chosen by the operator (--nic or the bridge page)"
    else:
        found, reason, error = _detect(config, facts, layout)
        if found is None:
            return NicChoice(None, "", candidates=names, backend=backend, error=error)
        name = found
    kernel = name  # --nic and the default route give the kernel's name; netplan wants its ID
    if backend == NETPLAN:
        name = layout.netplan_id(name) or name
    problem = check_nic(name)  # a name read from the root is checked like the operator's
    if problem:
        where = INTERFACES if backend == IFUPDOWN else "the netplan configuration"
        return NicChoice(
            None,
            "",
            backend=backend,
            error=f"{where}: NIC name {escape_control(repr(name))} {problem}; not used",
        )
    mac = (kernel != name and layout.mac(facts, kernel)) or layout.mac(facts, name)
    return NicChoice(name, reason, mac, names, backend)


def wireless(name: str) -> bool:
    return name.startswith("wl")  # wlan0, wlp2s0: a Wi-Fi NIC cannot be a bridge port


def _detect(
    config: WizardConfig, facts: SystemFacts, layout: NetLayout
) -> tuple[str | None, str, str]:
    """(name, reason, error) from the default route (live) or the configuration files."""
    route = facts.default_route
    if route and route.interface and route.interface != config.bridge:
        info = facts.interface(route.interface)
        if info is not None and not info.is_bridge:
            return route.interface, f"carries the default route (via {route.gateway})", ""
    ours = [nic.name for nic in layout.nics if nic.ours]
    if ours:
        return ours[0], f"bridged by xenwizard's earlier run ({layout.backend})", ""
    usable = [nic for nic in layout.nics if not wireless(nic.name)]
    addressed = [nic.name for nic in usable if nic.addressed]
    # a VLAN on an addressed NIC is no second candidate: the untagged LAN is the host's
    addressed = [
        nic.name
        for nic in usable
        if nic.addressed and not (nic.kind == "vlan" and nic.link in addressed)
    ]
    where = layout.where
    if len(addressed) == 1:
        return addressed[0], f"the one NIC with addresses in {where}", ""
    if not addressed and len(usable) == 1:
        return usable[0].name, f"the one NIC configured in {where}", ""
    if not usable:
        found = ", ".join(layout.names) or "none"
        others = "".join(f"; {name} is {why}" for name, why in layout.skipped)
        return (
            None,
            "",
            f"no NIC configured in {where} (found: {found}{others}); choose the NIC to bridge "
            "with --nic",
        )
    several = ", ".join(addressed or [nic.name for nic in usable])
    error = (
        f"several NICs are configured in {where} ({several}); choose the one to bridge with --nic"
    )
    return None, "", error


def _ifupdown_configured(texts: dict[str, str]) -> list[tuple[str, str, bool]]:
    """configured_interfaces over interfaces and the files it sources: each file is read on
    its own first (an error names its file), then all of them as one (a bridge in one file may
    have its port in another)."""
    for path, text in texts.items():
        try:
            ifupdown_bridge.configured_interfaces(text)
        except EditError as exc:
            raise EditError(f"{path}: {exc}") from None
    joined = "".join(t if t.endswith("\n") or not t else t + "\n" for t in texts.values())
    return ifupdown_bridge.configured_interfaces(joined)


def _ifupdown_kinds(texts: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """name -> (kind, raw device) of the bonds and VLANs ifupdown configures."""
    found: dict[str, tuple[str, str | None]] = {}
    for text in texts.values():
        try:
            found.update(ifupdown_bridge.port_kinds(text))
        except EditError:
            continue  # the file's error is reported where it is read for the NIC
    return found


def _not_nics(texts: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(name, what it is) of the interfaces ifupdown configures that are not NICs."""
    found: dict[str, str] = {}
    for text in texts.values():
        try:
            for name, why in ifupdown_bridge.not_bridgeable(text).items():
                found.setdefault(name, why)
        except EditError:
            continue  # the file's error is reported where it is read for the NIC
    return tuple(found.items())


def _dedupe(found: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """One entry per NIC; a NIC with any non-manual stanza counts as addressed."""
    out: dict[str, tuple[str, str, bool]] = {}
    for name, method, ours in found:
        if name not in out or out[name][1] == "manual":
            out[name] = (name, method, ours)
    return list(out.values())


def configured_as(layout: NetLayout, name: str) -> str | None:
    """What the network configuration already makes of `name` when it is not a bridge (a
    loopback, a NIC, a bond or its member, a VLAN...), in a few words naming where; None when
    it configures no such interface (or a bridge, which the bridge step judges)."""
    if layout.backend == IFUPDOWN or not layout.netplan_texts:
        return _ifupdown_kind(layout.ifupdown_texts, name)
    try:
        files = layout.netplan_files()
    except EditError:
        return None  # the bridge step names what is wrong with the file
    for file in files:
        for section in netplan.ROUTED_SECTIONS:
            if section == "bridges":
                continue
            try:
                entries = netplan.definitions(file, section)
            except EditError:
                return None
            if name in entries:
                bond = _netplan_bond_of(files, name)
                member = f", a member of bond {bond}" if bond else ""
                return f"a netplan {section[:-1]} in {file.path}{member}"
    return None


def _netplan_bond_of(files: list[netplan.YamlFile], name: str) -> str | None:
    for file in files:
        try:
            bonds = netplan.definitions(file, "bonds")
        except EditError:
            return None
        for bond, settings in bonds.items():
            members = settings.get("interfaces") if isinstance(settings, dict) else None
            if isinstance(members, list) and name in members:
                return str(bond)
    return None


def _ifupdown_kind(texts: dict[str, str], name: str) -> str | None:
    from xenwizard.edits.text import Doc

    for path, text in texts.items():
        try:
            doc = Doc.parse(text)
            skip = ifupdown_bridge.block_range(doc)
            parsed = ifupdown_bridge.parse(doc.lines, skip)
        except EditError:
            return None  # the bridge step names what is wrong with the file
        for stanza in parsed.stanzas:
            if stanza.name != name:
                continue
            options = dict(ifupdown.option(doc.lines[i]) for i in stanza.options)
            options = {key.replace("_", "-"): value for key, value in options.items()}
            if "bridge-ports" in options:
                return None
            head = " ".join(stanza.words)
            if stanza.method == "loopback":
                kind = "the loopback interface"
            elif "bond-master" in options:
                kind = f"a member of bond {options['bond-master']}"
            elif "bond-slaves" in options:
                kind = "a bond"
            elif "vlan-raw-device" in options or "." in name:
                kind = "a VLAN"
            else:
                kind = "an interface"
            return f"{kind} configured in {path} (`{head}`)"
    return None
