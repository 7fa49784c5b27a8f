"""A checkbox that shows its state as a symbol, not only a colour: `[x]` on, `[ ]` off."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Checkbox


class TickBox(Checkbox, inherit_bindings=False):
    """Space toggles; Enter is left to the page (Next), unlike Textual's Checkbox."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False),
    ]

    @property
    def _button(self) -> Content:
        style = self.get_visual_style("toggle--button")
        return Content.assemble(("[x]" if self.value else "[ ]", style))
