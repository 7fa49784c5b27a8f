"""The apply page: the engine in a worker thread, per-step state, progress, the live log.

Each step's state is the engine's `StepBoard` (engine/stepstates.py), which the CLI prints
from too; this page only renders it.

The engine calls `on_event` from its thread. Events go into an `EventPump`, which posts one
`EventsReady` message per burst; the screen drains every queued event in order on the UI thread.
So a command printing thousands of lines costs a handful of messages, the order of events is
kept, and the worker never touches a widget.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Log, ProgressBar, Static
from textual.worker import Worker, WorkerState

from xenwizard.engine.events import (
    ApplyFinished,
    Event,
    LeftBehind,
    RollbackProgress,
    RunStarted,
    StepFailed,
    StepOutput,
    format_event,
)
from xenwizard.engine.executor import Engine, EngineError, RunResult, describe
from xenwizard.engine.stepstates import StepBoard
from xenwizard.planning.plan import InstallPackages, Plan, Step
from xenwizard.tui.messages import ApplyHost, ApplyStarted, ApplyStopped
from xenwizard.tui.screens.base import WizardPage

if TYPE_CHECKING:
    from xenwizard.tui.screens.state import WizardContext

LOG_MAX_LINES = 2000
DRAIN_BATCH = 5000


@dataclass(frozen=True, slots=True)
class Refused:
    """The engine refused before changing anything (stale plan, busy lock, not rollbackable)."""

    message: str


@dataclass(frozen=True, slots=True)
class Crashed:
    """The engine raised unexpectedly; details went to the error log."""

    message: str


UiEvent = Event | Refused | Crashed


class EventsReady(Message):
    """Engine events are waiting in the pump (posted once per burst, from the worker thread)."""


class EventPump:
    """Thread-safe queue of engine events; `push` from the engine, `drain` on the UI thread."""

    def __init__(self, notify: Callable[[], object]):
        self._notify = notify
        self._lock = threading.Lock()
        self._events: list[UiEvent] = []
        self._posted = False

    def push(self, event: UiEvent) -> None:
        with self._lock:
            self._events.append(event)
            post, self._posted = not self._posted, True
        if post:
            self._notify()

    def drain(self, limit: int = DRAIN_BATCH) -> tuple[list[UiEvent], bool]:
        """Up to `limit` events in order, and whether more are left (already re-posted)."""
        with self._lock:
            batch, self._events = self._events[:limit], self._events[limit:]
            more = bool(self._events)
            self._posted = more
        return batch, more


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """What the apply page hands to the done page."""

    result: RunResult
    changed: tuple[str, ...] = ()  # titles of the steps that changed something
    simulated: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


class ApplyScreen(WizardPage[ApplyOutcome]):
    """Runs the plan (or rolls back an earlier run) and shows every step's state live."""

    PAGE = "Apply"
    NEXT_LABEL = "Continue"
    HELP = """
The plan is being applied by a background worker; the screen stays responsive.
Each step shows its state as a symbol and a word:
  [ ] pending   [>] running   [*] done   [=] no change
  [!] FAILED    [<] rolling back / rolled back   [-] not run / skipped
  [~] simulated (demo)
The log shows every line the commands print; it is also written to
var/log/xenwizard.log under the root.

If a step fails, every completed step is undone in reverse order and the page
says when the rollback is done. What a package purge cannot take back (system
users, some /etc files) is listed in the log as "left behind".
Quitting is refused while the apply runs; if the terminal goes away, the apply
still finishes or rolls back.
"""
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back", id="apply.back"),
        Binding("f1", "help", "Help", id="apply.help"),
        Binding("enter", "next", "Continue", show=False, id="apply.next"),
    ]

    def __init__(
        self,
        ctx: WizardContext,
        plan: Plan | None,
        rollback_run: str | None = None,
    ):
        super().__init__(ctx)
        self.plan = plan
        self.rollback_run = rollback_run
        titles = [step.title for step in plan.steps] if plan is not None else []
        simulated = [i for i, step in enumerate(plan.steps) if _installs(step)] if plan else []
        self.board = StepBoard(titles, simulated if ctx.simulate_packages else ())
        self.pump = EventPump(lambda: self.post_message(EventsReady()))
        self.running = False
        self.stopped_by: str | None = None  # why the apply was refused or crashed
        self.output_lines = 0

    @property
    def finished(self) -> ApplyFinished | None:
        return self.board.finished

    @property
    def left_behind(self) -> list[LeftBehind]:
        """What a package purge could not take back."""
        return self.board.left_behind

    # --- layout ---------------------------------------------------------------------------

    def compose_body(self) -> Iterable[Widget]:
        if self.rollback_run:
            head = f"Rolling back run {self.rollback_run} on {self.ctx.root_text}"
        else:
            assert self.plan is not None
            head = f"Applying {len(self.plan.steps)} steps to {self.ctx.root_text}"
        yield Static(head, id="apply-head", markup=False)
        yield ProgressBar(total=len(self.board.steps) or None, show_eta=False, id="progress")
        with VerticalScroll(id="step-scroll", can_focus=False):
            yield Static("", id="step-rows")
        yield Log(max_lines=LOG_MAX_LINES, id="log", auto_scroll=True)

    def compose_buttons(self) -> Iterable[Widget]:
        yield Button("Back to preview", id="back", compact=True, disabled=True)
        yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True, disabled=True)

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.display = False
        self.render_rows()
        self.status("Working... quitting is refused until the apply has finished.")
        self.running = True
        host = cast("ApplyHost", self.app)
        host.apply_idle.clear()  # before the worker, which sets it when it ends
        host.apply_outcome = None
        self.app.post_message(ApplyStarted())
        self.worker = self.run_engine()

    # --- the worker -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="apply")
    def run_engine(self) -> None:
        ctx, app = self.ctx, cast("ApplyHost", self.app)
        try:
            engine = Engine(
                self.plan, ctx.fs, ctx.runner, self.pump.push, skip_packages=ctx.packages_skipped
            )
            result = engine.rollback(self.rollback_run) if self.rollback_run else engine.apply()
            app.apply_outcome = result.outcome
        except EngineError as exc:
            self.pump.push(Refused(str(exc)))
        except Exception as exc:
            app.record_error(traceback.format_exc())
            self.pump.push(Crashed(describe(exc)))
        finally:
            # Said by this thread, not the UI: after a terminal drop the UI may be gone, and
            # the process must still learn that the apply has ended (`run_app` waits for it).
            app.apply_idle.set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # CANCELLED is not the end: Textual cancels workers when the app closes (the terminal
        # went away), but a thread cannot be stopped; the apply goes on and says itself when
        # it has ended (`apply_idle`, set at the end of run_engine).
        if event.worker.group == "apply" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
        ):
            self.running = False
            self.app.post_message(ApplyStopped())
            if self.finished is None and self.stopped_by is None:
                # The engine ended without its last event: say so rather than hang.
                self.end(f"ERROR: the apply stopped unexpectedly. Log: {self.ctx.log_path}", True)

    # --- events ---------------------------------------------------------------------------

    def on_events_ready(self, _message: EventsReady) -> None:
        batch, more = self.pump.drain()
        log = self.query_one("#log", Log)
        lines: list[str] = []
        rows_changed = False
        for event in batch:
            if isinstance(event, StepOutput):
                lines.append("  " + self.ctx.redact(event.line))
                self.output_lines += 1
                continue
            rows_changed = True
            line = self.handle(event)
            if line:
                lines.extend(line.splitlines())
        if lines:
            log.write_lines(lines)
        if rows_changed:
            self.render_rows()
        if more:
            self.post_message(EventsReady())

    def handle(self, event: UiEvent) -> str:
        """Update the step states for one event; returns the log text for it."""
        if isinstance(event, (Refused, Crashed)):
            return self.handle_problem(event)
        total = len(self.board.steps) or None
        self.board.update(event)
        progress = self.query_one("#progress", ProgressBar)
        progress.update(total=len(self.board.steps) or None, progress=self.board.completed)
        if isinstance(event, RunStarted):
            return f"run {event.run_id}: {len(event.steps)} steps"
        if isinstance(event, StepFailed):
            self.status("A step failed: rolling back every completed step...", problem=True)
        elif isinstance(event, RollbackProgress):
            self.status(f"Rolling back: {self.board.undo_done} undone...", problem=True)
            return format_event(event)
        elif isinstance(event, ApplyFinished):
            self.finish(event)
        return self.ctx.redact(format_event(event, total))

    def handle_problem(self, event: Refused | Crashed) -> str:
        """The engine refused, or raised: say so; there are no step states to change."""
        self.stopped_by = event.message
        if isinstance(event, Refused):
            self.end(f"REFUSED, nothing was changed: {event.message}", True)
            return f"refused: {event.message}"
        self.end(
            f"ERROR: {event.message}. Details: {self.ctx.error_log_path()}; "
            f"log: {self.ctx.log_path}",
            True,
        )
        return f"error: {event.message}"

    def render_rows(self) -> None:
        """One line per step (cut with an ellipsis, never wrapped), the step being worked on
        scrolled into view: a plan of a dozen steps leaves the live log room on 80x24."""
        text = Text()
        for index, step in self.board.ordered():
            line = Text(f"{step.symbol} {step.word:<12} {index + 1}. {step.title}")
            line.stylize(_STATE_STYLES.get(step.state, ""), 0, len(step.symbol) + 13)
            text.append_text(line)
            text.append("\n")
        text.rstrip()
        self.query_one("#step-rows", Static).update(text)
        self.call_after_refresh(self.scroll_to_current)

    def scroll_to_current(self) -> None:
        """Keep the running (or rolling back, or last finished) step and the one before it in
        the step list's view."""
        line = self.board.current_line()
        self.query_one("#step-scroll", VerticalScroll).scroll_to(y=max(0, line - 1), animate=False)

    def finish(self, event: ApplyFinished) -> None:
        self.refresh_bindings()  # Back: gone after an apply, offered after a rollback
        log = self.ctx.show_path(event.log_path) if event.log_path else self.ctx.log_path
        message = self.ctx.redact(event.message)
        if event.outcome in ("applied", "nothing-to-do"):
            word = "APPLIED" if event.outcome == "applied" else "NOTHING TO DO"
            self.end(f"{word}: {message}. Log: {log}", False)
        elif event.outcome == "rolled-back" and self.left_behind:
            # Not "nothing is changed": the purge left accounts or /etc entries (in the log).
            self.end(f"ROLLED BACK: {message}. Log: {log}", True)
        elif event.outcome == "rolled-back":
            self.end(f"ROLLED BACK, nothing is changed: {message}. Log: {log}", True)
        else:
            self.end(
                f"ROLLBACK FAILED: {message}. See {log}; retry with "
                f"`{self.ctx.command('rollback', event.run_id)}`.",
                True,
            )

    def end(self, text: str, problem: bool) -> None:
        self.status(text, problem=problem)
        ok = self.finished is not None and self.finished.outcome in ("applied", "nothing-to-do")
        back = self.query_one("#back", Button)
        nxt = self.query_one("#next", Button)
        back.disabled = ok and not self.rollback_run
        nxt.disabled = not ok or bool(self.rollback_run)
        if self.rollback_run:
            back.label = "Back to welcome"
        for button in (back, nxt):
            button.display = not button.disabled
        (nxt if not nxt.disabled else back).focus()

    # --- keys -----------------------------------------------------------------------------

    def back_refusal(self) -> str | None:
        """Why Esc cannot go back to the preview now, or None."""
        if self.running:
            return "The apply is running: going back is refused until it ends."
        ok = self.finished is not None and self.finished.outcome in ("applied", "nothing-to-do")
        if ok and not self.rollback_run:
            return f"Applied: press Enter to continue (undo: {self.ctx.command('rollback')})."
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer offers Back only when it works: not during the apply, not after one."""
        if action == "back":
            return self.back_refusal() is None
        return True

    def action_back(self) -> None:
        refused = self.back_refusal()
        if refused:
            self.refuse_quiet(refused)
            return
        self.dismiss(None)

    def refuse_quiet(self, text: str) -> None:
        self.app.notify(text, severity="warning", timeout=4)

    def action_next(self) -> None:
        if self.running or self.finished is None:
            return
        if self.rollback_run or self.finished.outcome not in ("applied", "nothing-to-do"):
            return
        result = RunResult(
            self.finished.run_id,
            self.finished.outcome,
            self.finished.log_path,
            self.finished.message,
        )
        changed = self.board.titles("done")
        simulated = self.board.titles("simulated")
        self.dismiss(ApplyOutcome(result, changed, simulated))

    def collect(self) -> ApplyOutcome | None:  # pragma: no cover - action_next decides
        return None


def _installs(step: Step) -> bool:
    """The step installs packages (the demo simulates it)."""
    return isinstance(step, InstallPackages) and bool(step.packages)


_STATE_STYLES = {
    "running": "bold",
    "done": "bold green",
    "simulated": "bold",
    "failed": "bold red reverse",
    "undo-failed": "bold red reverse",
    "undone": "bold yellow",
    "undoing": "bold yellow",
}
