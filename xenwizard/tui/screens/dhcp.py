"""The DHCP page: the range and lease dnsmasq hands out, the Xen-guests-only switch and how
guests reach other networks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, RadioSet, Static

from xenwizard.answers.build import build_config
from xenwizard.answers.clashes import Target
from xenwizard.answers.model import WizardConfig
from xenwizard.edits.guestnet import route_hint
from xenwizard.planning.profiles.guestaccess import lan_address
from xenwizard.tui.screens.base import FieldRow, WizardPage
from xenwizard.tui.widgets import ChoiceSet, TickBox

ACCESS_LABELS = {"nat": "NAT", "routed": "routed", "host-only": "host only"}
ACCESS_WHY = {
    "nat": "guests reach the LAN and beyond through this host's address",
    "host-only": "guests reach only this host: no forwarding, and DHCP names no router",
}


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
