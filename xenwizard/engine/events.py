"""What the engine reports while it applies or rolls back, as plain frozen records.

The engine calls one `on_event(event)` callback with these; the CLI prints them, the log file
records them, and the TUI wraps them into Textual messages. Nothing here imports textual, so the
headless paths stay fast and the screens can be tested without running a real apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["applied", "rolled-back", "rollback-failed", "nothing-to-do"]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began: its id (also the journal directory name), the root, and every step title."""

    run_id: str
    root: str
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StepStarted:
    """Step `index` (0-based, position in the plan) is about to run."""

    index: int
    step_id: str
    title: str


@dataclass(frozen=True, slots=True)
class StepOutput:
    """One line a command printed (stdout and stderr merged), sent while the command runs."""

    index: int
    line: str


@dataclass(frozen=True, slots=True)
class StepFinished:
    """Step `index` is done; `changed` is False when there was nothing to do or it was skipped.
    `skipped` says why the engine did not run it at all (--skip-packages, or it needs a file a
    skipped package brings); empty when it ran. Said explicitly so no front end has to guess
    a skip from the notes' wording."""

    index: int
    step_id: str
    changed: bool
    notes: tuple[str, ...] = ()
    skipped: str = ""


@dataclass(frozen=True, slots=True)
class StepFailed:
    """Step `index` failed; a rollback of the completed steps follows."""

    index: int
    step_id: str
    error: str


@dataclass(frozen=True, slots=True)
class RollbackProgress:
    """Undo of step `index`. `state` starts with one word, optionally followed by ": detail":
    "undoing" (first, for every step being undone), then exactly one of "undone",
    "nothing-to-undo" (it had not happened), "left-alone" (someone else's thing is there now)
    or "failed" (the rollback goes on with the other steps; the outcome is rollback-failed)."""

    index: int
    step_id: str
    title: str
    state: str


@dataclass(frozen=True, slots=True)
class LeftBehind:
    """After a rollback purged the packages a run installed (step `index`): one thing the purge
    does not take back, so the operator can decide. `kind` is "user" or "group" (created by a
    maintainer script; Debian never removes system accounts), "created", "changed" or "removed"
    (an /etc entry that differs from the snapshot taken before the packages were installed), or
    "error" (the comparison itself failed). `name` is the account name or the root-relative
    path; `detail` the line the operator reads. Sent after the last RollbackProgress and before
    ApplyFinished, for automatic rollbacks and `xenwizard rollback` alike."""

    index: int
    step_id: str
    kind: str
    name: str
    detail: str


@dataclass(frozen=True, slots=True)
class ApplyFinished:
    """The last event of a run or of a rollback: what state the root was left in, and where the
    log is. `message` is one human line saying what happened."""

    run_id: str
    outcome: Outcome
    log_path: str
    message: str


Event = (
    RunStarted
    | StepStarted
    | StepOutput
    | StepFinished
    | StepFailed
    | RollbackProgress
    | LeftBehind
    | ApplyFinished
)


# A step's state as every front end names it: state -> (symbol, word). The symbol and the word
# carry the meaning (colour only helps); the TUI shows both, the CLI and the log the word.
StepState = Literal[
    "pending",
    "running",
    "done",
    "unchanged",
    "skipped",
    "simulated",
    "failed",
    "not-run",
    "undoing",
    "undone",
    "undo-failed",
]
STATES: dict[StepState, tuple[str, str]] = {
    "pending": ("[ ]", "pending"),
    "running": ("[>]", "running"),
    "done": ("[*]", "done"),
    "unchanged": ("[=]", "no change"),
    "skipped": ("[-]", "skipped"),
    "simulated": ("[~]", "simulated"),
    "failed": ("[!]", "FAILED"),
    "not-run": ("[-]", "not run"),
    "undoing": ("[<]", "rolling back"),
    "undone": ("[<]", "rolled back"),
    "undo-failed": ("[!]", "UNDO FAILED"),
}


def finished_state(event: StepFinished) -> StepState:
    """What a finished step's state is: skipped, done (changed something) or unchanged."""
    if event.skipped:
        return "skipped"
    return "done" if event.changed else "unchanged"


def undo_state(event: RollbackProgress) -> StepState:
    """What an undo event makes of its step: being undone, undone (or nothing to undo, or
    left alone: the step's trace is gone either way) or failed."""
    if event.state == "undoing":
        return "undoing"
    return "undo-failed" if event.state.startswith("failed") else "undone"


def format_event(event: Event, total: int | None = None, state: StepState | None = None) -> str:
    """One plain-text line for an event, as the CLI prints it and the log file stores it.
    `state`: a finished step's state as the `StepBoard` has it (default: what the event says)."""
    where = f"[{event.index + 1}/{total}]" if total and hasattr(event, "index") else ""
    if isinstance(event, RunStarted):
        return f"run {event.run_id} on {event.root}: {len(event.steps)} steps"
    if isinstance(event, StepStarted):
        return f"{where or f'[{event.index + 1}]'} {event.title}"
    if isinstance(event, StepOutput):
        return f"    | {event.line}"
    if isinstance(event, StepFinished):
        text = f"    {STATES[state or finished_state(event)][1]}"
        for note in event.notes:
            text += f"\n    note: {note}"
        return text
    if isinstance(event, StepFailed):
        return f"    FAILED: {event.error}"
    if isinstance(event, RollbackProgress):
        return f"    rollback {event.title}: {event.state}"
    if isinstance(event, LeftBehind):
        return f"    left behind: {event.detail}"
    if isinstance(event, ApplyFinished):
        return f"{event.outcome}: {event.message} (log: {event.log_path})"
    raise TypeError(f"not an event: {event!r}")
