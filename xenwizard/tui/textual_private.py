"""Every use of Textual's private API, in one place, with the reason for each.

Textual has no public way to do these; each is small and checked by the tests named here, and
`textual` is held to the range they pass with (pyproject.toml). A new Textual that renames one
fails those tests, not an operator's run.

- `App._handle_exception`: the one path every uncaught exception (a handler, a worker, a timer)
  takes before Textual prints a traceback and exits; `ExceptionHookApp` turns it into
  `unexpected_error`, which the wizard overrides to show its error page
  (tests/tui/test_app_wizard.py, the error page).
- `MessagePump._message_queue`: whether a widget has handled everything queued; the key
  type-ahead hands on the next key only then (tests/tui/test_app_keys.py).
- `ToggleButton._button`: the glyph a checkbox or radio button draws; replaced so its state
  shows as a symbol (`[x]`, `(•)`), not only as a colour (the screen snapshots,
  tests/tui/test_console_glyphs.py).
- `RadioSet._selected`: the highlighted button; moved with the choice so that the arrow keys go
  on from the chosen one (tests/tui/test_app_guest_access.py).
- `LinuxDriver._file`, `Driver._app`: the driver's output and its app; the hang-up-safe driver
  (terminal.py) wraps the one and tells the other (tests/tui/test_app_hangup.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, ClassVar

from textual.app import App
from textual.content import Content
from textual.drivers.linux_driver import LinuxDriver
from textual.message_pump import MessagePump
from textual.widgets import Checkbox, RadioButton, RadioSet


class ExceptionHookApp(App[int]):
    """An App whose unexpected exceptions go to `unexpected_error` (Textual's default: print
    the traceback and exit)."""

    def _handle_exception(self, error: Exception) -> None:
        self.unexpected_error(error)

    def unexpected_error(self, error: Exception) -> None:
        super()._handle_exception(error)


def queue_empty(pump: MessagePump) -> bool:
    """Nothing waits in the pump's queue (a handler may still be running)."""
    return pump._message_queue.empty()


class SymbolCheckbox(Checkbox):
    """A Checkbox drawing `SYMBOLS[value]` in the toggle's style."""

    SYMBOLS: ClassVar[tuple[str, str]] = ("[ ]", "[x]")

    @property
    def _button(self) -> Content:
        return Content.assemble((self.SYMBOLS[self.value], self.get_visual_style("toggle--button")))


class SymbolRadioButton(RadioButton):
    """A RadioButton drawing `SYMBOLS[value]` in the toggle's style."""

    SYMBOLS: ClassVar[tuple[str, str]] = ("( )", "(•)")

    @property
    def _button(self) -> Content:
        return Content.assemble((self.SYMBOLS[self.value], self.get_visual_style("toggle--button")))


def highlight(radio_set: RadioSet, index: int) -> None:
    """Move the set's highlight (where the arrow keys go on from) to button `index`."""
    radio_set._selected = index


def wrap_output(driver: LinuxDriver, wrap: Callable[[IO[str]], object]) -> None:
    """Replace the file the driver's writer thread writes to by `wrap(file)`, which needs only
    write, flush, fileno and isatty (all the writer uses)."""
    file = driver._file  # typed as sys.__stderr__ (TextIO | None), a terminal here
    driver._file = wrap(file)  # type: ignore[arg-type,assignment]  # a tty: not None; see above


def driver_app(driver: LinuxDriver) -> object:
    """The app the driver serves."""
    return driver._app
