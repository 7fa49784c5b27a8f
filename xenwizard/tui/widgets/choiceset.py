"""One choice among a few, on one line: `(•) NAT  ( ) routed  ( ) host only`."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import RadioButton, RadioSet

from xenwizard.tui.textual_private import SymbolRadioButton, highlight


class ChoiceButton(SymbolRadioButton):
    """Shows its state as a symbol, not only a colour: `(•)` chosen, `( )` not."""

    SYMBOLS = ("( )", "(•)")


class ChoiceSet(RadioSet, inherit_bindings=False):
    """A RadioSet whose `value` is the chosen key (what a page keeps with Back).

    The arrow keys move the choice itself, as in a desktop radio group; Enter is left to the
    page (Next), like TickBox.
    """

    DEFAULT_CSS = """
    ChoiceSet {
        border: none;
        height: 1;
        width: auto;
        padding: 0;
        layout: horizontal;
        background: transparent;
    }
    ChoiceSet:focus {
        border: none;
    }
    ChoiceSet > ChoiceButton {
        width: auto;
        margin-right: 1;
        background: transparent;
    }
    ChoiceSet:focus > ChoiceButton.-selected {
        text-style: bold reverse;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,up", "choose(-1)", "Previous", show=False, id="choiceset.choose-1-left-up"),
        Binding(
            "right,down", "choose(1)", "Next choice", show=False, id="choiceset.choose-1-right-down"
        ),
    ]

    def __init__(self, choices: dict[str, str], value: str, *, id: str | None = None):
        self.keys = list(choices)
        buttons = [ChoiceButton(label, value=key == value) for key, label in choices.items()]
        super().__init__(*buttons, id=id)

    @property
    def value(self) -> str:
        index = self.pressed_index
        return self.keys[index] if index >= 0 else self.keys[0]

    def action_choose(self, step: int) -> None:
        """Press the next (or previous) button, wrapping around."""
        buttons = list(self.query(RadioButton))
        index = (max(self.pressed_index, 0) + step) % len(buttons)
        buttons[index].value = True
        highlight(self, index)
