"""The terminal going away: a SIGHUP (a dropped SSH session, a closed window), a tty that hung
up, or SIGTERM/SIGINT from outside ends the UI only; an apply goes on to its end in its thread."""

from __future__ import annotations

import os
import signal
import threading

from xenwizard.engine.hangup import silence_terminal
from xenwizard.tui.quitting import QuitPolicyApp


class TerminalWatchApp(QuitPolicyApp):
    """Notes hang-ups and stops (signal handlers, the driver) and acts on them from a
    watchdog four times a second."""

    def __init__(self) -> None:
        super().__init__()
        self.terminal_lost = False  # the terminal went away (SIGHUP, or the tty hung up)
        self._hangup = False  # set by the SIGHUP handler; acted on by the watchdog
        self.stopped = False  # SIGTERM or SIGINT from outside: the UI ends, the terminal stays
        self._watchdog: object = None
        self._tty_fd: int | None = None

    def catch_hangup(self) -> None:
        """From the first page to the exit a SIGHUP (a dropped SSH session, a closed window)
        only ends the UI (see `terminal_gone`): an apply finishes or rolls back in its
        thread, and the caller's cleanup (the demo's copy) runs. Pilot tests run in threads
        of their own and keep their handlers."""
        if threading.current_thread() is threading.main_thread() and not self.is_headless:
            signal.signal(signal.SIGHUP, self._on_sighup)
            signal.signal(signal.SIGTERM, self._on_stop)
            signal.signal(signal.SIGINT, self._on_stop)

    def _on_sighup(self, signum: int, frame: object) -> None:
        """Only note it: a signal handler must not touch the UI."""
        self._hangup = True

    def _on_stop(self, signum: int, frame: object) -> None:
        """SIGTERM (`kill PID`) or a SIGINT sent from outside (in the UI Ctrl-C is a key):
        handled like a hang-up, but the terminal is still there and gets restored."""
        self.stopped = True

    def note_hangup(self) -> None:
        """The terminal is gone (the driver's reads or writes fail); any thread may call it."""
        self._hangup = True

    def start_watchdog(self) -> None:
        """Check four times a second whether the terminal went away: started right after
        the first page is up (or by an apply, whichever comes first)."""
        if self._watchdog is not None:
            return
        if not self.is_headless and os.isatty(0):
            self._tty_fd = 0
        self._watchdog = self.set_interval(0.25, self._check_terminal, name="terminal")

    def _check_terminal(self) -> None:
        """A SIGHUP, a failed read or write, or a tty that hung up ends the UI."""
        if self.terminal_lost:
            return
        if self._hangup or (self._tty_fd is not None and not os.isatty(self._tty_fd)):
            self.terminal_gone()
        elif self.stopped:
            self.stop_ui()

    def stop_ui(self) -> None:
        """SIGTERM or SIGINT: the UI ends as for a hang-up (an apply or rollback goes on to its
        end in its thread, `run_app` waits and exits with its outcome's code), but through
        Textual's own exit, which leaves the alternate screen and shows the cursor again."""
        if self.terminal_lost:
            return
        self.terminal_lost = True  # nobody answers the screens any more
        self.exit(self.ending_code())

    def terminal_gone(self) -> None:
        """The terminal is gone (SSH drop, closed window): nobody can read or answer the
        screens any more. The UI ends; an apply or rollback that is running goes on in its
        thread to the end, as if the operator had stayed, and `run_app` waits for it."""
        if self.terminal_lost:
            return
        self.terminal_lost = True
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # later hang-ups too, until the exit
        if not self.is_headless:
            silence_terminal()  # stdout/stderr to /dev/null: no later print can fail
        self.exit(self.ending_code())
