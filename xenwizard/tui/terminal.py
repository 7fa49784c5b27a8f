"""Textual's Linux driver, made safe for a terminal that goes away (SSH drop, closed window).

On a hung-up tty every write fails with EIO and a read fails with EIO or returns end-of-file.
Textual's driver is not built for that: its writer thread dies on the first failed write, after
which the app's shutdown blocks for ever queueing its last writes; its input thread turns a
failed read into a crash report printed to the dead terminal. With this driver a failed write
silences the output for good and a failed read ends the input quietly; both tell the app
(`note_hangup`), which ends its UI while an apply goes on to its end (see `XenWizardApp`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver

from xenwizard.tui.textual_private import driver_app, wrap_output


class SafeOutput:
    """The file the driver's writer thread writes to; the first error silences it for good."""

    def __init__(self, file: IO[str], on_lost: Callable[[], object]):
        self.file = file
        self.on_lost = on_lost
        self.lost = False

    def _failed(self) -> None:
        if not self.lost:
            self.lost = True
            self.on_lost()

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                self.file.write(text)
            except (OSError, ValueError):
                self._failed()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self.file.flush()
            except (OSError, ValueError):
                self._failed()

    def fileno(self) -> int:
        return self.file.fileno()

    def isatty(self) -> bool:
        return not self.lost


class HangupSafeDriver(LinuxDriver):
    """LinuxDriver whose output and input survive the terminal going away (see above)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        wrap_output(self, lambda file: SafeOutput(file, self._lost))

    def _lost(self) -> None:
        note = getattr(driver_app(self), "note_hangup", None)
        if note is not None:
            note()  # only sets a flag: safe from the writer and input threads

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError:
            self._lost()  # EIO from a hung-up tty: no crash report, the app ends its UI
