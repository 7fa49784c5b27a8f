"""Small reusable widgets of the wizard (each carries its own scoped DEFAULT_CSS)."""

from xenwizard.tui.widgets.choiceset import ChoiceSet
from xenwizard.tui.widgets.tickbox import TickBox

__all__ = ["ChoiceSet", "TickBox"]
