"""The bridge page: the bridge's name and, where the profile builds it from a NIC, which NIC."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, RadioSet, Static

from xenwizard.answers.build import build_config
from xenwizard.answers.checks import check_nic
from xenwizard.answers.clashes import Target
from xenwizard.answers.model import WizardConfig
from xenwizard.planning.preflight import bridge_clash
from xenwizard.tui.screens.base import FieldRow, WizardPage
from xenwizard.tui.screens.state import (
    interfaces_lines,
)
from xenwizard.tui.widgets import ChoiceSet

if TYPE_CHECKING:
    from xenwizard.target.netlayout import NicChoice


SHAPE_LABELS = {"bridged": "bridged", "isolated": "isolated"}
# The two shapes in a sentence each (issue 25), shown under the choice.
SHAPE_WHY = (
    "  bridged: the NIC joins the bridge; guests share its LAN with their own MACs.",
    "  isolated: no NIC on it, the host's network files untouched (no lockout",
    "  risk); guests go out via this host. For hosting providers: one MAC per port.",
)


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
            # Prefilled with the profile's own choice (`primary_nic`), the NIC its plan bridges.
            choice = ctx.nic_choice(detected=True)
            self.detected_nic = choice.name if choice is not None else None
            nic = self.typed("nic", ctx.config.nic or self.detected_nic or "")
            self.nic_row = FieldRow("NIC to bridge", nic, self._check_nic, field_id="nic")
            yield self.nic_row
            yield Static(_nic_hint(choice), markup=False, classes="hint", id="nic-hint")
            # After the NIC in focus order: Tab from the name still reaches the NIC field.
            shape = "isolated" if ctx.config.isolated else "bridged"
            self.shape = ChoiceSet(SHAPE_LABELS, self.typed("shape", shape), id="shape")
            yield Horizontal(
                Static("Shape: ", markup=False, classes="choice-label"),
                self.shape,
                classes="choice-row",
            )
            yield Static("\n".join(SHAPE_WHY), markup=False, classes="hint", id="shape-why")
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
