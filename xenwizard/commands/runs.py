"""What the run-related commands share: exit codes, the unfinished-run warning, event printing."""

from __future__ import annotations

import sys

from xenwizard.engine.events import Event, RunStarted, StepFinished, StepOutput, format_event
from xenwizard.engine.hangup import SafeWriter
from xenwizard.engine.journal import unfinished_runs, unfinished_warning
from xenwizard.engine.stepstates import StepBoard
from xenwizard.target.rootfs import RootFS

EXIT_OK = 0  # applied, nothing to do, or rolled back on request
EXIT_ERROR = 1  # refused before changing anything (bad input, stale plan, lock, no terminal)
EXIT_ROLLED_BACK = 2  # the apply failed (or was interrupted) and was rolled back: root as before
EXIT_ROLLBACK_FAILED = 3  # undo failed too: see the journal and the log, fix by hand

OUTCOME_CODES = {
    "applied": EXIT_OK,
    "nothing-to-do": EXIT_OK,
    "rolled-back": EXIT_ROLLED_BACK,
    "rollback-failed": EXIT_ROLLBACK_FAILED,
}


def warn_unfinished(fs: RootFS, skip: str | None = None) -> None:
    """One line on stderr per killed run, so it is never forgotten (see journal.py)."""
    for run_id in unfinished_runs(fs):
        if run_id != skip:
            SafeWriter(sys.stderr).write_line(f"xenwizard: warning: {unfinished_warning(run_id)}")


class EventPrinter:
    """Prints events as plain lines; never raises, whatever happened to the terminal.

    Each step's word is the one the apply page shows: both read the same `StepBoard`.
    """

    def __init__(self, quiet_output: bool = False):
        self.out = SafeWriter()
        self.board = StepBoard()
        self.total: int | None = None
        self.quiet_output = quiet_output

    def __call__(self, event: Event) -> None:
        self.board.update(event)
        if isinstance(event, RunStarted):
            self.total = len(event.steps)
        if self.quiet_output and isinstance(event, StepOutput):
            return
        state = self.board.step(event.index).state if isinstance(event, StepFinished) else None
        self.out.write_line(format_event(event, self.total, state))
