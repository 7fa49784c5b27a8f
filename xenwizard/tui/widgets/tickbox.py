"""A checkbox that shows its state as a symbol, not only a colour: `[x]` on, `[ ]` off."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from xenwizard.tui.textual_private import SymbolCheckbox


class TickBox(SymbolCheckbox, inherit_bindings=False):
    """Space toggles; Enter is left to the page (Next), unlike Textual's Checkbox."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False, id="tickbox.toggle-button"),
    ]
    SYMBOLS = ("[ ]", "[x]")
