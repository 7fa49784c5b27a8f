"""Quitting: Ctrl-Q (or Ctrl-C) asks first and is refused while an apply runs; the wizard's
exit codes."""

from __future__ import annotations

import threading

from textual.binding import Binding
from textual.reactive import reactive

from xenwizard.tui.messages import QuitRequested
from xenwizard.tui.screens.modals import ConfirmScreen, ErrorScreen
from xenwizard.tui.typeahead import TypeAheadApp

# Exit codes of the wizard.
EXIT_DONE = 0  # reached the last page (applied, or nothing to do)
EXIT_ERROR = 1  # ended on the error page
EXIT_QUIT = 2  # the operator quit before an apply completed


class QuitPolicyApp(TypeAheadApp):
    """When the wizard may end, and with which code: what an apply in this session did
    decides it."""

    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+q", "request_quit", "Quit", priority=True, id="app.quit"),
        # the same quit
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True, id="app.quit-ctrl-c"),
        # While an apply runs the footer offers no quit; the keys still say why not (a binding
        # that check_action disables would neither show nor answer).
        Binding("ctrl+q", "refuse_quit", "Quit", show=False, priority=True, id="app.refuse-quit"),
        Binding(
            "ctrl+c", "refuse_quit", "Quit", show=False, priority=True, id="app.refuse-quit-ctrl-c"
        ),
    ]
    # An apply or rollback runs: the footer's keys follow it (check_action, Ctrl-Q refused).
    applying: reactive[bool] = reactive(False, bindings=True)

    def __init__(self) -> None:
        super().__init__()
        self.apply_idle = threading.Event()  # set by the apply's own thread when it ends
        self.apply_idle.set()
        self.apply_outcome: str | None = None  # the engine's outcome of the last apply/rollback
        self.applied = False  # the flow reached the last page after an apply

    def ending_code(self) -> int:
        """The exit code when the UI ends now, without a question (terminal gone, stopped)."""
        return EXIT_DONE if self.applied else EXIT_QUIT

    def on_quit_requested(self, _message: QuitRequested) -> None:
        self.action_request_quit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl-Q quits, except while an apply runs: then it only says why not."""
        if action == "request_quit":
            return not self.applying
        if action == "refuse_quit":
            return self.applying
        return True

    def action_refuse_quit(self) -> None:
        self.bell()
        self.notify(
            "Quitting is refused while the apply runs; it finishes or rolls back on its own.",
            severity="warning",
            timeout=5,
        )

    def action_request_quit(self) -> None:
        if self.applying:
            self.action_refuse_quit()
            return
        if isinstance(self.screen, (ConfirmScreen, ErrorScreen)):
            if isinstance(self.screen, ErrorScreen):
                self.exit(EXIT_ERROR)
            return
        if self.applied or self.apply_outcome in ("applied", "nothing-to-do"):
            self.exit(EXIT_DONE)  # the changes are made and journaled: nothing is lost
            return
        text = "Nothing on the system has been changed by this session."

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(EXIT_QUIT)

        self.push_screen(ConfirmScreen("Quit xenwizard?", text, "Quit", "Stay"), answered)
