"""Small reusable widgets of the wizard (each carries its own scoped DEFAULT_CSS)."""

from xenwizard.tui.widgets.tickbox import TickBox

__all__ = ["TickBox"]
