"""Each step's state during an apply or a rollback, driven by the engine's events alone.

The apply page renders it and the CLI prints from it, so both say the same final word for every
step. No textual here: the transitions are tested without a terminal.

    pending -> running -> done | unchanged | skipped (| simulated: the demo's package step)
                       -> failed, and every step still pending -> not-run
    done, unchanged, skipped, ... -> undoing -> undone | undo-failed
    failed stays failed while its partial change is undone (undo-failed if that fails)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from xenwizard.engine.events import (
    STATES,
    ApplyFinished,
    Event,
    LeftBehind,
    RollbackProgress,
    RunStarted,
    StepFailed,
    StepFinished,
    StepStarted,
    StepState,
    finished_state,
    undo_state,
)

_BUSY: tuple[StepState, ...] = ("running", "undoing")
_WAITING: tuple[StepState, ...] = ("pending", "not-run")


@dataclass(slots=True)
class StepStatus:
    """One step: its title, its state and why it is in it (the skip's reason, the error, the
    undo's own word: "nothing-to-undo", "left-alone", ...; empty when there is nothing to add)."""

    title: str
    state: StepState = "pending"
    why: str = ""

    @property
    def symbol(self) -> str:
        return STATES[self.state][0]

    @property
    def word(self) -> str:
        return STATES[self.state][1]


class StepBoard:
    """The states of a run's steps. `update(event)` for each engine event, in order.

    `simulated`: indices of steps whose skip is a simulation (the demo skips the package step
    and says "simulated", not "skipped").
    """

    def __init__(self, titles: Iterable[str] = (), simulated: Collection[int] = ()):
        self.steps: dict[int, StepStatus] = {i: StepStatus(t) for i, t in enumerate(titles)}
        self.simulated = frozenset(simulated)
        self.finished: ApplyFinished | None = None
        self.left_behind: list[LeftBehind] = []  # what a package purge could not take back
        self.completed = 0  # steps that finished (done, unchanged, skipped, simulated)
        self.undo_done = 0  # undos that ended (undone or failed; the failed step's not counted)

    def update(self, event: Event) -> None:
        """Apply one event (StepOutput changes no state)."""
        if isinstance(event, RunStarted):
            if not self.steps:
                self.steps = {i: StepStatus(t) for i, t in enumerate(event.steps)}
        elif isinstance(event, StepStarted):
            self.step(event.index, event.title).state = "running"
        elif isinstance(event, StepFinished):
            self._finished(event)
        elif isinstance(event, StepFailed):
            step = self.step(event.index)
            step.state, step.why = "failed", event.error
            for index, other in self.steps.items():
                if index > event.index and other.state == "pending":
                    other.state = "not-run"
        elif isinstance(event, RollbackProgress):
            self._undo(event)
        elif isinstance(event, LeftBehind):
            self.left_behind.append(event)
        elif isinstance(event, ApplyFinished):
            self.finished = event

    def _finished(self, event: StepFinished) -> None:
        step = self.step(event.index)
        if event.index in self.simulated:
            step.state, step.why = "simulated", event.skipped
        else:
            step.state, step.why = finished_state(event), event.skipped
        self.completed += 1

    def _undo(self, event: RollbackProgress) -> None:
        step = self.step(event.index, event.title)
        state = undo_state(event)
        if step.state == "failed" and state != "undo-failed":
            return  # the failed step keeps saying so; its partial change is undone
        if state != "undoing":
            self.undo_done += 1
        step.state = state
        if state == "undo-failed":
            step.why = event.state.removeprefix("failed: ")
        else:  # "nothing-to-undo", "left-alone: ..." say more than "rolled back"
            step.why = event.state if event.state not in ("undoing", "undone") else ""

    def step(self, index: int, title: str = "") -> StepStatus:
        """Step `index`, added when the events name one the board did not know (a rollback
        learns its steps from the journal, one undo at a time)."""
        if index not in self.steps:
            self.steps[index] = StepStatus(title or f"step {index + 1}")
        return self.steps[index]

    # --- questions the front ends ask --------------------------------------------------------

    def ordered(self) -> list[tuple[int, StepStatus]]:
        return sorted(self.steps.items())

    def titles(self, state: StepState) -> tuple[str, ...]:
        """Titles of the steps in `state`, in plan order."""
        return tuple(step.title for _, step in self.ordered() if step.state == state)

    def current_line(self) -> int:
        """The position (0-based, in plan order) to keep in view: the step being worked on
        (running or being undone), else the last one that started, else the first."""
        states = [step.state for _, step in self.ordered()]
        busy = [i for i, state in enumerate(states) if state in _BUSY]
        started = [i for i, state in enumerate(states) if state not in _WAITING]
        return busy[0] if busy else (started[-1] if started else 0)
