"""The subnet page: this host's address on the guest subnet, what it implies and any overlap,
and (current releases) the guests' IPv6 prefix."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace

from textual.widget import Widget
from textual.widgets import Checkbox, Input, Static

from xenwizard.answers.build import build_config
from xenwizard.answers.checks import parse_address
from xenwizard.answers.clashes import Target
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.preflight import subnet_overlaps
from xenwizard.tui.screens.base import FieldRow, WizardPage
from xenwizard.tui.screens.state import (
    facts_table,
    usable_hosts,
)
from xenwizard.tui.widgets import TickBox


@dataclass(frozen=True, slots=True)
class SubnetAnswers:
    address: str
    allow_overlap: bool = False
    guest_ipv6: str | None = None  # None: not asked (the profile cannot), the config's stays

    def apply(self, config: WizardConfig, target: Target | None = None) -> WizardConfig:
        answers = {
            "address": self.address,
            "allow-overlap": self.allow_overlap,
            "guest-ipv6": self.guest_ipv6,
        }
        return build_config(answers, config, target)  # the DHCP range moves along


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

Guest IPv6 (current releases): 'none' (default) gives the guests no IPv6 from
anyone; the LAN's router advertisements and DHCPv6 are kept off them. A /64
such as 2001:db8:5::/64: this host takes ::1 of it on the bridge and
advertises it, and the guests make their addresses in it (SLAAC). IPv6 is
routed, never NATed: the LAN router needs a route for the /64 via this host.
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
        self.ipv6_row: FieldRow | None = None
        if self.ctx.offers_guest_ipv6:
            self.ipv6_row = FieldRow(
                "Guest IPv6",
                self.typed("guest-ipv6", self.ctx.config.guest_ipv6),
                lambda text: self.problem("guest-ipv6", {"guest-ipv6": text}),
                field_id="guest-ipv6",
                placeholder="none or PREFIX/64",
            )
            yield self.ipv6_row
            yield Static(
                "  none: guests get no IPv6; a /64: this host advertises it to them.",
                markup=False,
                classes="hint",
            )

    def answers(self, text: str) -> dict[str, object]:
        allow = self.allow.value if hasattr(self, "allow") else self.ctx.config.allow_overlap
        return {"address": text, "allow-overlap": allow}

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.update_facts()

    def on_mount(self) -> None:
        self.update_facts()
        self.row.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.ipv6_row is not None and event.input is self.ipv6_row.input:
            self.ipv6_row.check_now()
            return
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
            facts_table(
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
        if self.first_invalid([self.row] + ([self.ipv6_row] if self.ipv6_row else [])):
            return None
        ipv6 = self.ipv6_row.value if self.ipv6_row is not None else None
        return SubnetAnswers(self.row.value, self.allow.value, ipv6)
