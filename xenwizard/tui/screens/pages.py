"""The question pages: welcome/preflight, bridge, subnet, DHCP, dom0 memory and toolstack.

Each page is a typed screen returning its answers (a small record) or None for back; the
order lives in one place, `XenWizardApp.flow`. Rules come from config.py through validators,
warnings from preflight.py; the pages only show them.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, RadioSet, Static

from xenwizard.answers import dom0mem
from xenwizard.answers.build import build_config
from xenwizard.answers.checks import check_nic, parse_address
from xenwizard.answers.clashes import Target
from xenwizard.answers.model import WizardConfig
from xenwizard.edits.guestnet import route_hint
from xenwizard.planning import dom0size
from xenwizard.planning.preflight import bridge_clash, subnet_overlaps
from xenwizard.planning.profiles.guestaccess import lan_address
from xenwizard.target import boot
from xenwizard.tui.screens.base import FieldRow, WizardPage
from xenwizard.tui.screens.state import (
    WizardContext,
    interfaces_lines,
    toolstack_notice,
    toolstack_text,
    usable_hosts,
)
from xenwizard.tui.widgets import ChoiceSet, TickBox

SHAPE_LABELS = {"bridged": "bridged", "isolated": "isolated"}
# The two shapes in a sentence each (issue 25), shown under the choice.
SHAPE_WHY = (
    "  bridged: the NIC joins the bridge; guests share its LAN with their own MACs.",
    "  isolated: no NIC on it, the host's network files untouched (no lockout",
    "  risk); guests go out via this host. For hosting providers: one MAC per port.",
)
ACCESS_LABELS = {"nat": "NAT", "routed": "routed", "host-only": "host only"}
ACCESS_WHY = {
    "nat": "guests reach the LAN and beyond through this host's address",
    "host-only": "guests reach only this host: no forwarding, and DHCP names no router",
}

if TYPE_CHECKING:
    from xenwizard.target.netlayout import NicChoice

# --- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """Welcome: go on to the questions."""


@dataclass(frozen=True, slots=True)
class RollbackRequest:
    """Welcome: roll back an unfinished earlier run first."""

    run_id: str


@dataclass(frozen=True, slots=True)
class BridgeAnswers:
    bridge: str
    nic: str | None = None
    isolated: bool = False

    def apply(self, config: WizardConfig, target: Target | None = None) -> WizardConfig:
        answers: dict[str, object] = {"bridge": self.bridge, "isolated": self.isolated}
        if self.isolated:
            answers["nic"] = ""  # the isolated bridge takes no NIC: a --nic given is dropped
        elif self.nic:
            answers["nic"] = self.nic
        return build_config(answers, config, target)


@dataclass(frozen=True, slots=True)
class SubnetAnswers:
    address: str
    allow_overlap: bool = False

    def apply(self, config: WizardConfig, target: Target | None = None) -> WizardConfig:
        answers = {"address": self.address, "allow-overlap": self.allow_overlap}
        return build_config(answers, config, target)  # the DHCP range moves along


@dataclass(frozen=True, slots=True)
class DhcpAnswers:
    start: str
    end: str
    lease: str
    xen_only: bool
    udp_checksum_workaround: bool | None = None
    guest_access: str = "nat"

    def apply(self, config: WizardConfig, target: Target | None = None) -> WizardConfig:
        return build_config(
            {
                "dhcp-range": f"{self.start}-{self.end}",
                "lease": self.lease,
                "dhcp-xen-only": self.xen_only,
                "udp-checksum-workaround": self.udp_checksum_workaround,
                "guest-access": self.guest_access,
            },
            config,
            target,
        )


@dataclass(frozen=True, slots=True)
class Dom0MemAnswers:
    size: str | None  # None: the rule's default for the target's RAM
    boot_guard: bool = True
    confirm_within: str | None = None  # minutes as typed; None: the guard is off or not offered

    def apply(self, config: WizardConfig, target: Target | None = None) -> WizardConfig:
        answers: dict[str, object] = {"boot-guard": self.boot_guard}
        if self.confirm_within is not None:
            answers["confirm-within"] = self.confirm_within
        if self.size is not None:
            answers["dom0-mem"] = self.size
        return build_config(answers, replace(config, dom0_mem=None), target)


@dataclass(frozen=True, slots=True)
class ToolstackAnswers:
    acknowledged: bool


# --- welcome -----------------------------------------------------------------------------------

DETECTING = "detecting..."


class WelcomeScreen(WizardPage[Start | RollbackRequest]):
    """What will happen, and what was detected about the target."""

    PAGE = "Welcome"
    NEXT_LABEL = "Start"
    DEFER_FOOTER = True  # the first page: takes input before its key hints are built
    HELP = """
xenwizard makes this server a Xen host: guests on a bridge, addresses from dnsmasq.

It asks for the bridge name, guest subnet, DHCP range and dom0's memory (on
Ubuntu 12.04 also to keep the xm toolstack), then shows every change as a diff. Nothing changes
before you confirm on the preview page. Every change is journaled first and
undone if any step fails.

Below are the facts it found about the target: the release and the recipe
(profile) chosen for it, Xen, the toolstack, interfaces and the default route,
whether you are root (needed to apply) and whether you are connected over SSH.
An earlier run that was killed half-way is offered for rollback (r).
When the page holds more than fits, PgDn / PgUp scroll it, whatever has focus.
"""
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back", show=False),
        Binding("f1", "help", "Help"),
        Binding("r", "rollback", "Roll back unfinished run", show=False),
        Binding("pagedown", "scroll_text(1)", "More", key_display="PgDn"),
        Binding("pageup", "scroll_text(-1)", "Back up", key_display="PgUp", show=False),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """PgDn / PgUp are offered only when the facts and warnings do not fit the page."""
        if action == "scroll_text":
            found = self.query("#welcome-scroll")
            return bool(found) and found.first().max_scroll_y > 0
        return True

    def action_scroll_text(self, direction: int) -> None:
        """Scroll the facts and warnings by a page, whatever has focus (the SSH warning can
        be read whole by keyboard)."""
        scroll = self.query_one("#welcome-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self.refresh_bindings)  # whether PgDn is needed may change

    def compose_body(self) -> Iterable[Widget]:
        ctx = self.ctx
        # Scrolls rather than cuts off when a host has many interfaces and a warning too.
        with VerticalScroll(id="welcome-scroll"):
            # The toolstack page asks only where xm must be kept; elsewhere it only informs.
            questions = "Five questions" if ctx.toolstack == "xm" else "Four questions"
            yield Static(
                "xenwizard turns this server into a Xen host: guests sit on a bridge and get\n"
                f"addresses from dnsmasq. {questions}, then a preview of every change;\n"
                "nothing is changed before you confirm, and a failed step is rolled back.",
                markup=False,
                classes="intro",
            )
            yield Static(self.facts_text(), markup=False, id="facts")
            ssh = self.ssh_text()
            warning = Static(ssh, markup=False, classes="warning", id="ssh-warning")
            warning.display = bool(ssh)
            yield warning
            no_nic = self.no_nic_text()
            nic_warning = Static(no_nic, markup=False, classes="warning", id="no-nic")
            nic_warning.display = bool(no_nic)
            yield nic_warning
            if ctx.unfinished:
                run_id = ctx.unfinished[-1]
                yield Static(
                    f"UNFINISHED: run {run_id} was interrupted. Roll it back first (r), "
                    "or start anyway.",
                    markup=False,
                    classes="warning",
                    id="unfinished",
                )

    def facts_text(self) -> str:
        """The detected facts as a table; what the live root's background probe brings
        (packages, interfaces, route) says `detecting...` until known."""
        ctx, facts = self.ctx, self.ctx.facts
        if ctx.profile is not None:
            profile, why, recipe = ctx.profile.name, ctx.profile_reason, ctx.profile.title
        else:
            profile, why, recipe = "NONE", ctx.profile_error or "no profile fits", ""
        if len(profile) + 2 + len(why) <= TABLE_WIDTH:
            profile, why = f"{profile}: {why}", ""  # one line where it fits
        xen = "installed" if facts.xen_installed else "NOT installed (the plan installs it)"
        user = user_text(ctx)
        if facts.over_ssh:
            client = (facts.ssh_connection or "").split()
            session = f"over SSH from {client[0]}" if client else "over SSH"
            session += " (an apply survives a drop)"
        else:
            session = "local (not over SSH)"
        toolstack = toolstack_text(facts, ctx.toolstack)
        if ctx.detecting:
            interfaces, route, xen = [DETECTING], DETECTING, DETECTING
            if ctx.toolstack != "xm":
                toolstack = DETECTING  # the xl wording depends on whether Xen is installed
        else:
            interfaces = interfaces_lines(facts, loopback=False)[:4]
            if facts.default_route is not None:
                gateway = facts.default_route
                route = f"via {gateway.gateway} dev {gateway.interface}"
            else:
                route = "none" if facts.live else "not probed"
        rows = [
            ("Release", facts.pretty_name or "unknown"),
            ("Profile", profile),
            ("", why),
            ("Recipe", recipe),
            ("Root", ctx.root_text),
            ("Xen", xen),
            ("Toolstack", toolstack),
            *(("Interfaces" if n == 0 else "", line) for n, line in enumerate(interfaces)),
            ("Default route", route),
            ("User", user),
            ("Session", session),
        ]
        return _table(rows)

    def no_nic_text(self) -> str:
        """When no NIC can be bridged, before the first question (needs the live facts)."""
        if self.ctx.detecting:
            return ""
        why = self.ctx.no_bridgeable_nic()
        return f"WARNING: {why}" if why else ""

    def ssh_text(self) -> str:
        """The SSH warning (it needs the live facts: which NIC carries the session)."""
        if self.ctx.detecting:
            return ""
        if self.ctx.asks_nic and self.ctx.config.isolated:
            return (
                "Isolated bridge (no NIC): the host's own network configuration is not "
                "touched, so there is no network lockout risk at the reboot."
            )
        ssh = self.ctx.ssh_warning()
        return f"WARNING: {ssh}" if ssh else ""

    def facts_detected(self) -> None:
        """The live probe finished: fill in the facts; a waiting Start goes on."""
        self.query_one("#facts", Static).update(self.facts_text())
        ssh = self.ssh_text()
        warning = self.query_one("#ssh-warning", Static)
        warning.update(ssh)
        warning.display = bool(ssh)
        no_nic = self.no_nic_text()
        nic_warning = self.query_one("#no-nic", Static)
        nic_warning.update(no_nic)
        nic_warning.display = bool(no_nic)
        self.call_after_refresh(self.refresh_bindings)  # the page may not fit any more
        if self.start_waiting:
            self.start_waiting = False
            self.status("")
            self.action_next()

    start_waiting = False  # Start was pressed while the live facts were still being detected

    def compose_buttons(self) -> Iterable[Widget]:
        if self.ctx.unfinished:
            yield Button("Roll back (r)", id="rollback", compact=True)
        yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.wizard_app.first_page_ready()
        self.app.call_after_refresh(self.mount_footer)  # queued after the ready signal
        if self.ctx.profile is None:
            self.status(
                "Start is not possible: no profile for this release (see above).", problem=True
            )
        self.query_one("#next", Button).focus()

    def button_pressed(self, button_id: str) -> None:
        if button_id == "rollback":
            self.action_rollback()
        else:
            super().button_pressed(button_id)

    def action_back(self) -> None:
        self.wizard_app.action_request_quit()

    def action_rollback(self) -> None:
        if self.ctx.unfinished:
            self.dismiss(RollbackRequest(self.ctx.unfinished[-1]))

    def collect(self) -> Start | None:
        if self.ctx.profile is None:
            self.refuse(f"Cannot start: {self.ctx.profile_error}")
            return None
        if self.ctx.detecting:
            # The next pages need the interfaces and the route: go on once they are known.
            self.start_waiting = True
            self.status("Detecting network interfaces... Start goes on as soon as they are known.")
            return None
        return Start()


TABLE_WIDTH = 78 - 14  # the value column of `_table` on an 80-column screen


def _table(rows: Iterable[tuple[str, str]], width: int = 14) -> str:
    return "\n".join(f"{k:<{width}}{v}" for k, v in rows if k or v)


# --- bridge ------------------------------------------------------------------------------------


class BridgeScreen(WizardPage[BridgeAnswers]):
    """The bridge name (and, where the profile builds the bridge from a NIC, which NIC)."""

    PAGE = "Bridge"
    HELP = """
The bridge is the virtual switch the guests' network interfaces plug into. The
same name goes into every file the plan touches.

Linux interface names: letters, digits, '-', '_' and '.', at most {max_len}
characters{why}. br0 is the usual choice. A name that is already something
else (lo, the NIC the bridge takes over, another interface, a bond or its
member, a VLAN) is refused, with what it is.
"""
    SHAPE_HELP = """
Shape (arrow keys choose):
- bridged (default): the NIC becomes the bridge's port and the bridge takes
  over its addresses; guests share the LAN with their own (00:16:3e) MACs.
- isolated: the bridge has no NIC and the host's own network configuration
  is not touched, so the reboot cannot lock you out through the network.
  Guests reach other networks only through this host (NAT or routed). For
  hosting providers that allow one MAC per switch port.
"""

    def help_text(self) -> str:
        max_len = self.ctx.profile.bridge_max_len if self.ctx.profile is not None else 15
        why = (
            " here, so that the alias NAME:0 fits the kernel's\n15-character limit"
            if max_len < 15
            else " (the kernel's limit)"
        )
        shape = self.SHAPE_HELP if self.ctx.asks_nic else ""
        return self.HELP.format(max_len=max_len, why=why) + shape

    def compose_body(self) -> Iterable[Widget]:
        ctx = self.ctx
        yield Static(
            "Name of the bridge the guests attach to (used in every file the plan edits).",
            markup=False,
            classes="intro",
        )
        self.bridge_row = FieldRow(
            "Bridge name",
            self.typed("bridge", ctx.config.bridge),
            lambda text: self.problem("bridge", {"bridge": text}),
            field_id="bridge",
        )
        yield self.bridge_row
        self.nic_row: FieldRow | None = None
        self.detected_nic: str | None = None
        self.shape: ChoiceSet | None = None
        if ctx.asks_nic:
            shape = "isolated" if ctx.config.isolated else "bridged"
            self.shape = ChoiceSet(SHAPE_LABELS, self.typed("shape", shape), id="shape")
            yield Horizontal(
                Static("Shape: ", markup=False, classes="choice-label"),
                self.shape,
                classes="choice-row",
            )
            yield Static("\n".join(SHAPE_WHY), markup=False, classes="hint", id="shape-why")
            # Prefilled with the profile's own choice (`primary_nic`), the NIC its plan bridges.
            choice = ctx.nic_choice(detected=True)
            self.detected_nic = choice.name if choice is not None else None
            nic = self.typed("nic", ctx.config.nic or self.detected_nic or "")
            self.nic_row = FieldRow("NIC to bridge", nic, self._check_nic, field_id="nic")
            yield self.nic_row
            yield Static(_nic_hint(choice), markup=False, classes="hint", id="nic-hint")
        yield Static("", id="clash", markup=False, classes="warning")
        yield Static("Existing interfaces:", classes="subtitle")
        yield Static(
            "\n".join("  " + line for line in interfaces_lines(ctx.facts)[:8]),
            markup=False,
            id="interfaces",
        )

    def _check_nic(self, text: str) -> str | None:
        """The core's verdict on the NIC together with the bridge name as typed now."""
        if not text:
            return check_nic(text)  # an empty answer means "detect"; this field must be filled
        bridge = self.bridge_row.value if hasattr(self, "bridge_row") else self.ctx.config.bridge
        answers = {"bridge": bridge, "nic": text}
        if self.problem("bridge", answers) is not None:
            answers.pop("bridge")  # a bad bridge name is the bridge field's reason, not this one
        return self.problem("nic", answers)

    def on_mount(self) -> None:
        self.update_bridge()
        self.show_shape()
        self.bridge_row.input.focus()

    @property
    def isolated(self) -> bool:
        return self.shape is not None and self.shape.value == "isolated"

    def show_shape(self) -> None:
        """The NIC field only for the bridged shape: the isolated bridge takes no NIC."""
        if self.nic_row is not None:
            self.nic_row.display = not self.isolated
            self.query_one("#nic-hint", Static).display = not self.isolated

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set is self.shape:
            self.show_shape()

    # Changed events carry the verdict on the text of their moment; in a burst the field has
    # moved on when one is handled. Every handler judges the field's current text instead.
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.bridge_row.input:
            self.update_bridge()
        elif self.nic_row is not None and event.input is self.nic_row.input:
            self.nic_row.check_now()

    def update_bridge(self) -> None:
        valid = self.bridge_row.check_now()
        if self.nic_row is not None:
            self.nic_row.check_now()  # the NIC is judged against the bridge name
        clash = bridge_clash(self.bridge_row.value, self.ctx.facts) if valid else None
        existing = self.ctx.facts.interface(self.bridge_row.value) if valid else None
        text = ""
        if clash:
            text = f"WARNING: {clash}; choose another name."
        elif existing is not None and existing.is_bridge:
            text = f"note: bridge {existing.name} exists already; xenwizard will use it."
        self.query_one("#clash", Static).update(text)

    def collect(self) -> BridgeAnswers | None:
        nic_row = None if self.isolated else self.nic_row
        rows = [self.bridge_row] + ([nic_row] if nic_row else [])
        if self.first_invalid(rows):
            return None
        nic = nic_row.value if nic_row else None
        if nic is not None and nic == self.detected_nic and self.ctx.config.nic is None:
            nic = None  # the detected NIC stays "detected" (and is detected again on replay)
        return BridgeAnswers(self.bridge_row.value, nic, self.isolated)


def _nic_hint(choice: NicChoice | None) -> str:
    """How the profile found the NIC, or why it could not (then the field must be filled)."""
    if choice is None:
        return "  not detected: type the NIC that carries this host's LAN address"
    if choice.name is None:
        error = choice.error or "no primary NIC found"
        candidates = ", ".join(choice.candidates)
        text = f"  not detected: {error}"
        return text + (f" (configured: {candidates})" if candidates else "")
    return f"  detected: {choice.name}, {choice.reason}".rstrip(", ")


# --- subnet ------------------------------------------------------------------------------------


class SubnetScreen(WizardPage[SubnetAnswers]):
    """The host's address on the guest subnet, with what it implies and any overlap."""

    PAGE = "Subnet"
    HELP = """
The guests get their own subnet behind the bridge. This host takes one address in
it (dnsmasq answers from there; it is also the guests' gateway if you route).

Write it as ADDRESS/PREFIX, e.g. 10.0.0.1/24. The page shows the netmask,
broadcast, network and how many hosts fit. A subnet that overlaps an address
already on this machine (or configured in /etc/network/interfaces) is refused:
the same network on two interfaces breaks routing. The switch below allows it
anyway; the preview then says so.
"""

    def compose_body(self) -> Iterable[Widget]:
        yield Static(
            "This host's address on the guest subnet, as ADDRESS/PREFIX.",
            markup=False,
            classes="intro",
        )
        self.row = FieldRow(
            "Host address",
            self.typed("address", self.ctx.config.address),
            lambda text: self.problem("address", self.answers(text)),
            field_id="address",
            placeholder="10.0.0.1/24",
        )
        yield self.row
        if self.ctx.subnet_note:
            yield Static(f"note: {self.ctx.subnet_note}", id="subnet-note", markup=False)
        yield Static("", id="subnet-facts", markup=False)
        yield Static("", id="overlap", markup=False, classes="warning")
        self.allow = TickBox(
            "Allow a subnet that clashes with this host's networks (not advised)",
            self.typed("allow-overlap", self.ctx.config.allow_overlap),
            id="allow-overlap",
            compact=True,
        )
        yield self.allow

    def answers(self, text: str) -> dict[str, object]:
        allow = self.allow.value if hasattr(self, "allow") else self.ctx.config.allow_overlap
        return {"address": text, "allow-overlap": allow}

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.update_facts()

    def on_mount(self) -> None:
        self.update_facts()
        self.row.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.update_facts()  # from the field's text now, not the event's older verdict

    def update_facts(self) -> None:
        facts = self.query_one("#subnet-facts", Static)
        overlap = self.query_one("#overlap", Static)
        iface = parse_address(self.row.value)
        valid = self.row.check_now()
        if isinstance(iface, str):
            facts.update("")
            overlap.update("")
            return
        net = iface.network
        facts.update(
            _table(
                [
                    ("Network", str(net)),
                    ("Netmask", str(net.netmask)),
                    ("Broadcast", str(net.broadcast_address)),
                    ("Usable hosts", f"{usable_hosts(net)} (this host takes one)"),
                    ("This host", self.host_text(iface)),
                ]
            )
        )
        found = subnet_overlaps(replace(self.ctx.config, address=str(iface)), self.ctx.facts)
        word = "ALLOWED" if valid else "REFUSED"
        overlap.update("\n".join(f"{word}: {line}" for line in found[:4]))

    def host_text(self, iface: ipaddress.IPv4Interface) -> str:
        cfg = self.ctx.config
        alias = f" (alias {cfg.alias})" if self.ctx.toolstack == "xm" else ""
        return f"{iface.ip} on {cfg.bridge}{alias}"

    def collect(self) -> SubnetAnswers | None:
        if self.first_invalid([self.row]):
            return None
        return SubnetAnswers(self.row.value, self.allow.value)


# --- DHCP --------------------------------------------------------------------------------------


class DhcpScreen(WizardPage[DhcpAnswers]):
    """The DHCP range and lease for the guests, and the Xen-guests-only switch."""

    PAGE = "DHCP"
    HELP = """
dnsmasq hands out addresses from START to END (inclusive) on the bridge, leased
for the lease time (seconds, or Nm, Nh, Nd, Nw, or 'infinite'; at least 2m).
The range must lie inside the guest subnet and must not include this host.

Xen guests only (on by default): dnsmasq answers only MAC addresses starting
00:16:3e, the ones Xen gives guests. A bridge can also hold the LAN's network
card; without this switch dnsmasq would answer DHCP requests from the LAN too.

Guests reach other networks (arrow keys choose):
- NAT (default): this host forwards the guests' traffic and masquerades
  it behind its own address, as libvirt's default network does.
- routed: this host forwards; the guests keep their own addresses, so
  the LAN router needs a route to the guest subnet via this host (the
  page shows it).
- host only: no forwarding, and dnsmasq advertises no router: guests
  reach this host and each other only.
"""

    def compose_body(self) -> Iterable[Widget]:
        cfg = self.ctx.config
        yield Static(
            f"Addresses dnsmasq leases to guests on {cfg.bridge} (subnet {cfg.network}).",
            markup=False,
            classes="intro",
        )
        self.start_row = FieldRow(
            "Range start",
            self.typed("dhcp-start", cfg.dhcp_start),
            self._check_range,
            field_id="dhcp-start",
        )
        yield self.start_row
        self.end_row = FieldRow(
            "Range end",
            self.typed("dhcp-end", cfg.dhcp_end),
            self._check_range,
            field_id="dhcp-end",
        )
        yield self.end_row
        self.lease_row = FieldRow(
            "Lease time",
            self.typed("lease", cfg.lease),
            lambda text: self.problem("lease", {"lease": text}),
            field_id="lease",
        )
        yield self.lease_row
        yield Static("", id="dhcp-count", markup=False)
        self.xen_only = TickBox(
            "Xen guests only (MAC 00:16:3e:*)",
            self.typed("xen-only", cfg.dhcp_xen_only),
            id="xen-only",
            compact=True,
        )
        yield self.xen_only
        yield Static(
            "  Why: the bridge can hold the LAN's NIC; else dnsmasq answers the whole LAN.",
            markup=False,
            classes="hint",
        )
        self.udp: TickBox | None = None
        if self.ctx.offers_udp_switch:
            self.udp = TickBox(
                "UDP checksum workaround (ethtool tx off on guest vifs)",
                self.typed("udp", self.ctx.udp_default),
                id="udp",
                compact=True,
            )
            yield self.udp
            yield Static(
                "  Only old guests' DHCP clients need it (they drop bad UDP checksums).",
                markup=False,
                classes="hint",
            )
        # Last in focus order: Tab Tab Tab Tab Space from the range still toggles the UDP switch.
        self.access = ChoiceSet(
            ACCESS_LABELS, self.typed("guest-access", cfg.guest_access), id="guest-access"
        )
        yield Horizontal(
            Static("Guests reach other networks: ", markup=False, classes="choice-label"),
            self.access,
            classes="choice-row",
        )
        yield Static(self.access_why(cfg.guest_access), id="guest-access-why", classes="hint")

    def access_why(self, mode: str) -> str:
        """The chosen mode's one line; for routed, the route the LAN router needs."""
        cfg = self.ctx.config
        if mode == "routed":
            nic = cfg.nic or getattr(self.ctx.nic_choice(), "name", None)
            hint = route_hint(cfg, lan_address(cfg, self.ctx.facts, nic))
            return f"  Why: the LAN router needs `{hint}`"
        return f"  Why: {ACCESS_WHY[mode]}."

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set is self.access:
            self.query_one("#guest-access-why", Static).update(self.access_why(self.access.value))

    def _check_range(self, _value: str) -> str | None:
        if not hasattr(self, "end_row"):
            return None  # the inputs validate once as they are built; on_mount checks both
        start = self.start_row.input.value.strip()
        end = self.end_row.input.value.strip()
        answers = {"dhcp-range": f"{start}-{end}"}
        return self.problem("dhcp-range", answers)

    def on_mount(self) -> None:
        self.refresh_range()
        self.lease_row.check_now()
        self.start_row.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.lease_row.input:
            self.lease_row.check_now()  # the text now, not the event's older verdict
        else:
            self.refresh_range()

    def refresh_range(self) -> None:
        # The rule is about the pair: both fields show the same reason.
        start_ok = self.start_row.check_now()
        self.end_row.check_now()
        count_text = self.query_one("#dhcp-count", Static)
        if start_ok:
            cfg = replace(
                self.ctx.config, dhcp_start=self.start_row.value, dhcp_end=self.end_row.value
            )
            count = cfg.dhcp_count
            count_text.update(f"{count} address{'' if count == 1 else 'es'} for guests")
        else:
            count_text.update("")

    def collect(self) -> DhcpAnswers | None:
        if self.first_invalid([self.start_row, self.end_row, self.lease_row]):
            return None
        return DhcpAnswers(
            self.start_row.value,
            self.end_row.value,
            self.lease_row.value,
            self.xen_only.value,
            self.udp.value if self.udp is not None else None,
            self.access.value,
        )


# --- dom0 memory -------------------------------------------------------------------------------


class Dom0MemScreen(WizardPage[Dom0MemAnswers]):
    """dom0's memory (the target's RAM, the rule's default, the field and what guests keep) and
    the boot guard of the first boot into Xen: on or off, and its deadline."""

    PAGE = "Dom0 memory, boot guard"
    HELP = f"""
dom0 is this host's own Linux: it runs xl, the guests' network and disk
backends, dnsmasq and sshd. Xen gives it a fixed size on its command
line (dom0_mem=SIZE,max:SIZE) with ballooning off, so starting a guest
never takes memory from dom0, as Xen's best-practices page advises.

Default: {dom0mem.RULE}.
Sizes in MiB or GiB: {dom0mem.SHAPES}. At least
{dom0mem.MIN_MIB} MiB and at most the machine's RAM; the rest is for guests
(the preview warns when less than {dom0mem.GUEST_HEADROOM_MIB} MiB is left).

Boot guard (on by default, needs systemd): the first boot into Xen is
one-shot, and unless `xenwizard confirm` runs within the minutes given
(1 to 1440) after that boot, the guard rolls the run back and reboots into
the previous entry: a host that does not come back on the network is
restored by itself. Off: Xen is the default entry at once.
"""

    def compose_body(self) -> Iterable[Widget]:
        facts = self.ctx.facts
        self.total = dom0size.machine_mib(facts)
        self.default = dom0size.chosen_mib(replace(self.ctx.config, dom0_mem=None), facts)
        yield Static(
            "Memory for dom0 (this host's own Linux), fixed on Xen's command line; dom0 is\n"
            "never ballooned, so guests get exactly what is left.",
            markup=False,
            classes="intro",
        )
        rows = [("RAM", dom0size.ram_text(facts))]
        if self.total is None:  # the rule needs the RAM: say what it would be
            rows.append(("Default", f"{self.default} MiB, {dom0size.default_text(facts)}"))
            rows.append(("Rule", dom0mem.RULE))
        else:
            rows.append(("Default", f"{self.default} MiB: {dom0mem.RULE}"))
        yield Static(_table(rows, width=9), markup=False, id="dom0-facts")
        chosen = self.ctx.config.dom0_mem
        self.row = FieldRow(
            "Dom0 memory",
            self.typed("dom0-mem", f"{chosen if chosen is not None else self.default}M"),
            lambda text: self.problem("dom0-mem", {"dom0-mem": text}),
            field_id="dom0-mem",
            placeholder=f"{self.default}M",
        )
        yield self.row
        yield Static("", id="dom0-left", markup=False)
        yield Static("", id="dom0-warning", markup=False, classes="warning")
        yield from self.compose_guard()

    def compose_guard(self) -> Iterable[Widget]:
        """The boot guard's switch and deadline, or why the target has none."""
        self.guard: TickBox | None = None
        self.minutes: FieldRow | None = None
        if not boot.has_systemd(self.ctx.fs):
            yield Static(
                "Boot guard: not available here (it needs systemd); Xen becomes the default\n"
                "boot entry at once. Keep console access for the first reboot.",
                markup=False,
                id="guard-absent",
            )
            return
        cfg = self.ctx.config
        self.guard = TickBox(
            "Boot guard: roll back unless `xenwizard confirm` runs after the reboot",
            self.typed("boot-guard", cfg.boot_guard),
            id="boot-guard",
            compact=True,
        )
        yield self.guard
        self.minutes = FieldRow(
            "Confirm within",
            self.typed("confirm-within", str(cfg.confirm_within)),
            lambda text: self.problem("confirm-within", {"confirm-within": text}),
            field_id="confirm-within",
            placeholder="minutes",
        )
        yield self.minutes
        yield Static(
            "minutes after the reboot (1 to 1440) before the guard rolls the run back",
            markup=False,
            classes="hint",
            id="confirm-hint",
        )

    def on_mount(self) -> None:
        self.update_left()
        self.update_guard()
        self.row.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.minutes is not None and event.input is self.minutes.input:
            self.minutes.check_now()
        else:
            self.update_left()  # from the field's text now, not the event's older verdict

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.update_guard()

    def update_guard(self) -> None:
        """The deadline only means something with the guard on."""
        if self.minutes is not None and self.guard is not None:
            self.minutes.display = self.guard.value
            self.query_one("#confirm-hint").display = self.guard.value
            if self.guard.value:
                self.minutes.check_now()

    def update_left(self) -> None:
        left = self.query_one("#dom0-left", Static)
        warning = self.query_one("#dom0-warning", Static)
        if not self.row.check_now():
            left.update("")
            warning.update("")
            return
        mib = dom0mem.parse_size(self.row.value)
        if self.total is None:
            left.update(f"Left for guests: the RAM less {mib} MiB (RAM unknown here)")
            warning.update("")
            return
        rest = self.total - mib
        left.update(f"Left for guests: {rest} MiB of {self.total} MiB")
        short = rest < dom0mem.GUEST_HEADROOM_MIB
        warning.update(
            f"WARNING: too little for a guest (at least {dom0mem.GUEST_HEADROOM_MIB} MiB)"
            if short
            else ""
        )

    def collect(self) -> Dom0MemAnswers | None:
        guard_on = self.guard is not None and self.guard.value
        rows = [self.row, *([self.minutes] if guard_on and self.minutes is not None else [])]
        if self.first_invalid(rows):
            return None
        mib = dom0mem.parse_size(self.row.value)
        size = None if self.ctx.config.dom0_mem is None and mib == self.default else self.row.value
        if self.guard is None:  # not offered: the plan says why there is no guard
            return Dom0MemAnswers(size, self.ctx.config.boot_guard)
        minutes = self.minutes.value if guard_on and self.minutes is not None else None
        return Dom0MemAnswers(size, self.guard.value, minutes)


# --- toolstack ---------------------------------------------------------------------------------


class ToolstackScreen(WizardPage[ToolstackAnswers]):
    """The toolstack warning; on xm profiles an explicit acknowledgement before Next."""

    PAGE = "Toolstack"
    HELP = """
Xen's toolstack is the set of tools that start guests and (with xend) create the
bridge. On Ubuntu 12.04 with Xen 4.1 it is xm with xend. xl exists there too, but
switching to it breaks the bridge and guest autostart, so xenwizard never
switches it and asks you to confirm that you will not either.

On current releases xl is the only toolstack and there is nothing to confirm.
"""

    def compose_body(self) -> Iterable[Widget]:
        self.notice = toolstack_notice(self.ctx)
        yield Static(self.notice.title, classes="subtitle", markup=False)
        yield Static("\n".join(self.notice.lines), markup=False, id="toolstack-text")
        self.ack: TickBox | None = None
        if self.notice.acknowledge:
            # Ticked again when the operator comes back to the page (Back, or Esc from the
            # preview): an answer kept like any other page's.
            ticked = self.typed("ack", self.ctx.toolstack_acknowledged)
            self.ack = TickBox(self.notice.acknowledge, ticked, id="ack", compact=True)
            yield self.ack

    def on_mount(self) -> None:
        if self.ack is not None:
            self.ack.focus()
            if not self.ack.value:
                self.status("Tick the acknowledgement (Space) to go on.")
        else:
            self.query_one("#next", Button).focus()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.status("" if event.value else "Tick the acknowledgement (Space) to go on.")

    def collect(self) -> ToolstackAnswers | None:
        if self.ack is not None and not self.ack.value:
            self.ack.focus()
            self.refuse("Next is refused: tick the acknowledgement first (Space).")
            return None
        return ToolstackAnswers(acknowledged=self.ack is not None)


def user_text(ctx: WizardContext) -> str:
    """Who runs the wizard, as it is: the demo may apply as anyone (it writes its copy only)."""
    if ctx.demo:
        who = "root" if ctx.facts.is_root else _user_name()
        return f"{who} (the demo writes only its sample copy)"
    if ctx.facts.is_root:
        return "root (apply possible)"
    return "NOT root: everything works up to the preview; apply needs root"


def _user_name() -> str:
    uid = os.geteuid()
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
