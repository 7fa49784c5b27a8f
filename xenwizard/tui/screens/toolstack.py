"""The toolstack page: what it is here; on xm profiles an acknowledgement before Next."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.widget import Widget
from textual.widgets import Button, Checkbox, Static

from xenwizard.tui.screens.base import WizardPage
from xenwizard.tui.screens.state import (
    toolstack_notice,
)
from xenwizard.tui.widgets import TickBox


@dataclass(frozen=True, slots=True)
class ToolstackAnswers:
    acknowledged: bool


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
