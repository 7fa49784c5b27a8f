"""Carry a plan out on a target root, and undo it exactly when anything goes wrong.

    engine = Engine(plan, RootFS(root), CommandRunner(root), on_event=print)
    result = engine.apply()           # verify, lock, journal, steps; auto-rollback on failure
    engine.rollback(result.run_id)    # later, or after a killed run

The engine is synchronous and thread-agnostic: it calls `on_event` from the thread that runs
it, never installs signal handlers, and never prints. The CLI runs it in the main thread; the
TUI runs it in a worker thread and forwards the events to the screens.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from xenwizard.engine import bootops, leftovers, stepops, sysctlops
from xenwizard.engine.eventlog import EventLog
from xenwizard.engine.events import (
    ApplyFinished,
    Event,
    LeftBehind,
    Outcome,
    RollbackProgress,
    RunStarted,
    StepFailed,
    StepFinished,
    StepOutput,
    StepStarted,
)
from xenwizard.engine.freshness import PlanStale, verify_plan
from xenwizard.engine.journal import (
    Journal,
    JournalError,
    Record,
    list_runs,
    new_run_id,
    run_info,
)
from xenwizard.engine.lock import LockBusy, RunLock
from xenwizard.engine.runner import BASE_ENV, Runner, sandbox_missing
from xenwizard.engine.skipping import (
    packages_note,
    skipped_steps,
    skips_packages,
    waiting_reason,
)
from xenwizard.engine.statedir import StateError
from xenwizard.engine.stepcontext import StepContext, StepError
from xenwizard.planning.plan import (
    BootOnce,
    EditFile,
    InstallPackages,
    Plan,
    SetSysctl,
    Step,
    Symlink,
)
from xenwizard.planning.render import plan_data
from xenwizard.target.rootfs import RootError, RootFS
from xenwizard.textsafe import escape_control

if TYPE_CHECKING:
    from typing import Any

EventCallback = Callable[[Event], None]

# The undo of a `command` intent, which earlier builds journaled for a command step (no
# profile made one; the step type is gone): it had no undo, and the journal, data in the
# target root, never names a program to run.
LEGACY_COMMAND = "nothing-to-undo: a command step (older xenwizard) has no undo; nothing is run"


class EngineError(RuntimeError):
    """Refused before changing anything (stale plan, busy lock, unknown run); one line."""


def packages_refusal(plan: Plan, root: RootFS, skip_packages: bool) -> str | None:
    """Why the plan's package step cannot run on this target, or None: it has no apt-get
    (a tree without Debian's packaging tools), so apply is refused before anything changes
    rather than failing at its first step."""
    step = next((s for s in plan.steps if isinstance(s, InstallPackages) and s.changed), None)
    if step is None or skip_packages:
        return None
    if any(root.exists(f"{d}/apt-get") for d in BASE_ENV["PATH"].split(":")):
        return None
    where = "this system" if root.is_live else f"the target {root.root}"
    return (
        f"{where} has no apt-get to install {' '.join(step.packages)}; install them another way "
        "and apply with --skip-packages"
    )


def sandbox_refusal(plan: Plan, root: RootFS, skip_packages: bool) -> str | None:
    """Why the plan's commands (apt-get, update-grub) cannot run on this target, or None:
    the root is not `/` and bwrap, their sandbox, is missing. Refused before anything
    changes, rather than at the first command with files already written; the steps that
    --skip-packages leaves out run nothing."""
    skipped = skipped_steps(plan, root, skip_packages) if skip_packages else {}
    runs = any(
        step.changed
        and index not in skipped
        and (
            isinstance(step, InstallPackages)
            or (isinstance(step, EditFile) and step.refresh is not None)
        )
        for index, step in enumerate(plan.steps)
    )
    return sandbox_missing(root.root) if runs else None


class Cancelled(Exception):
    """The operator asked to stop (Ctrl-C, quit in the TUI); the run rolls back."""


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: str
    outcome: Outcome
    log_path: str
    message: str


def describe(exc: BaseException) -> str:
    """One line for the operator; internal errors keep their type so they can be reported."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted by the operator"
    if isinstance(exc, (StepError, PlanStale, RootError, Cancelled)):
        return str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    text = str(exc)
    if type(exc).__name__ in ("PlanError", "EditError"):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def safe_event(event: Event) -> Event:
    """The event with every control character in its text escaped (see textsafe)."""
    changes: dict[str, Any] = {}  # field -> escaped text: str or tuple[str, ...], as it was
    for item in fields(event):
        value = getattr(event, item.name)
        if isinstance(value, str):
            clean: object = escape_control(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            clean = tuple(escape_control(v) for v in value)
        else:
            continue
        if clean != value:
            changes[item.name] = clean
    return replace(event, **changes) if changes else event


class Engine:
    """Applies one plan (or rolls back one run) on one root, reporting through `on_event`."""

    def __init__(
        self,
        plan: Plan | None,
        root: RootFS,
        runner: Runner,
        on_event: EventCallback | None = None,
        *,
        skip_packages: bool = False,
    ):
        self.plan = plan
        self.root = root
        self.runner = runner
        self.on_event = on_event
        self.skip_packages = skip_packages
        # "idle" -> "apply" (steps run; an interrupt means: roll back) -> "rollback" or
        # "finishing" (recording the outcome; must not be interrupted) -> "done"
        self.phase = "idle"
        self._cancel = threading.Event()
        self._log: EventLog | None = None
        self._packages_skipped = False  # --skip-packages left out packages the plan installs
        self._waiting = 0  # steps skipped because they need those packages

    # --- public ---------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask a running apply to stop at the next step boundary and roll back (thread-safe)."""
        self._cancel.set()

    def apply(self) -> RunResult:
        """Verify, then run every step; on any failure undo the completed ones in reverse.

        Raises EngineError when it refused before changing anything (stale plan, a path leaving
        the root, busy lock) and OSError when the journal cannot even be created (nothing
        changed either); once changes may have started, every outcome, Ctrl-C included, comes
        back as a RunResult.
        """
        if self.plan is None:
            raise EngineError("no plan to apply")
        plan = self.plan
        with self._locked("apply"):
            try:
                verify_plan(plan, self.root)
            except (PlanStale, RootError) as exc:
                raise EngineError(str(exc)) from None
            journal = self._new_journal(plan)
            self._log = EventLog(self.root, journal.run_id, len(plan.steps))
            try:
                return self._apply(plan, journal)
            finally:
                journal.close()
                self._log.close()

    def rollback(self, run_id: str, reason: str = "requested") -> RunResult:
        """Undo a finished, failed or killed run, from its journal alone. `reason` is journaled
        and leads the outcome's message unless it is the operator's plain request (e.g. "boot
        guard: not confirmed within 10 min"), so history and the log say who did it and why."""
        with self._locked("rollback"):
            try:
                journal = Journal.open(self.root, run_id)
                records = journal.records(for_undo=True)  # the whole journal, before any undo
            except JournalError as exc:
                raise EngineError(str(exc)) from None
            self._check_rollbackable(journal)
            self._log = EventLog(self.root, run_id)
            self.phase = "rollback"
            try:
                outcome, message = self._undo(journal, records, reason)
                if reason != "requested":
                    message = f"{reason}; {message}"
                return self._finish(journal, outcome, message)
            finally:
                self.phase = "done"
                journal.close()
                self._log.close()

    # --- apply ----------------------------------------------------------------------------

    def _apply(self, plan: Plan, journal: Journal) -> RunResult:
        titles = tuple(step.title for step in plan.steps)
        journal.append(
            {
                "type": "run",
                "run_id": journal.run_id,
                "pid": os.getpid(),
                "root": str(self.root.root),
                "profile": plan.profile,
                "skip_packages": self.skip_packages,
                "steps": [{"id": s.id, "kind": s.kind, "title": s.title} for s in plan.steps],
            }
        )
        self._emit(RunStarted(journal.run_id, str(self.root.root), titles))
        changed_any = False
        changed_count = 0
        index = -1
        step: Step | None = None
        self.phase = "apply"
        try:
            for index, step in enumerate(plan.steps):
                if self._cancel.is_set():
                    raise Cancelled("cancelled by the operator")
                self._emit(StepStarted(index, step.id, step.title))
                ctx = self._context(journal, index, step.title)
                changed, notes, skipped = self._do(ctx, step, journal)
                changed_any |= changed
                changed_count += bool(changed)
                self._emit(StepFinished(index, step.id, changed, tuple(notes), skipped))
        except BaseException as exc:
            self.phase = "rollback"
            error = describe(exc)
            step_id = step.id if step is not None else ""
            self._safe_append(journal, {"type": "failed", "index": index, "error": error})
            self._emit(StepFailed(index, step_id, error))
            outcome, message = self._undo(journal, journal.written, error)
            what = f"step {index + 1} ({step.title if step else '?'}) failed: {error}; {message}"
            result = self._finish(journal, outcome, what)
            self.phase = "done"
            return result
        self.phase = "finishing"
        waiting = (
            f"; {self._waiting} skipped: they need the packages that were skipped "
            "(`xenwizard plan` still lists them)"
            if self._waiting
            else ""
        )
        if changed_any:
            total = len(plan.steps)
            message = (
                f"{total} steps applied{waiting}"
                if changed_count == total
                else f"{changed_count} of {total} steps changed something{waiting}"
            )
            result = self._finish(journal, "applied", message)
        elif waiting:
            result = self._finish(journal, "nothing-to-do", f"nothing changed{waiting}")
        else:
            result = self._finish(journal, "nothing-to-do", "everything was already as planned")
        self.phase = "done"
        return result

    def _skip(self, ctx: StepContext, step: Step, journal: Journal) -> tuple[str, str] | None:
        """Whether the step is left out, journaled: (why, in a few words; the note the
        operator reads), or None when it runs."""
        if isinstance(step, InstallPackages) and skips_packages(step, self.skip_packages):
            journal.append({"type": "skipped", "index": ctx.index, "reason": "--skip-packages"})
            self._packages_skipped = True
            return "--skip-packages", packages_note(step)
        waiting = waiting_reason(step, ctx.root) if self._packages_skipped else None
        if waiting:
            journal.append({"type": "skipped", "index": ctx.index, "reason": waiting})
            self._waiting += 1
            return waiting.removeprefix("skipped: "), waiting
        return None

    def _do(
        self, ctx: StepContext, step: Step, journal: Journal
    ) -> tuple[bool, tuple[str, ...], str]:
        """Run the step, or leave it out: (changed, notes, why it was skipped or "")."""
        skipped = self._skip(ctx, step, journal)
        if skipped is not None:
            reason, note = skipped
            return False, (note,), reason
        changed, notes = self._run(ctx, step)
        return changed, tuple(notes), ""

    def _run(self, ctx: StepContext, step: Step) -> tuple[bool, tuple[str, ...]]:
        if isinstance(step, InstallPackages):
            return stepops.do_packages(ctx, step)
        if isinstance(step, Symlink):
            return stepops.do_symlink(ctx, step)
        if isinstance(step, EditFile):
            return stepops.do_edit(ctx, step)
        if isinstance(step, BootOnce):
            return bootops.do_boot_once(ctx, step)
        if isinstance(step, SetSysctl):
            return sysctlops.do_sysctl(ctx, step)
        raise TypeError(f"unknown step type {type(step).__name__}")

    # --- rollback -------------------------------------------------------------------------

    def _undo(self, journal: Journal, records: list[Record], reason: str) -> tuple[Outcome, str]:
        """Undo every step with an intent and no `undone` record, last first."""
        intents: dict[int, Record] = {}
        results: dict[int, Record] = {}
        done: set[int] = set()
        for entry in records:
            kind = entry.get("type")
            if kind == "intent":
                intents[entry["index"]] = entry
            elif kind == "result":
                results[entry["index"]] = entry
            elif kind == "undone":
                done.add(entry["index"])
        self._safe_append(journal, {"type": "rollback", "pid": os.getpid(), "reason": reason})
        failures: list[str] = []
        purged: tuple[int, str] | None = None  # the packages step, once its undo succeeded
        for index in sorted(set(intents) - done, reverse=True):
            intent = intents[index]
            step_id = intent["step_id"]
            title = intent.get("title") or step_id
            self._emit(RollbackProgress(index, step_id, title, "undoing"))
            ctx = self._context(journal, index, title, records)
            try:
                state = self._undo_step(ctx, intent, results.get(index))
            except Exception as exc:  # keep undoing the other steps
                error = describe(exc)
                failures.append(f"step {index + 1}: {error}")
                self._safe_append(journal, {"type": "undo-failed", "index": index, "error": error})
                self._emit(RollbackProgress(index, step_id, title, f"failed: {error}"))
                continue
            self._safe_append(journal, {"type": "undone", "index": index, "state": state})
            self._emit(RollbackProgress(index, step_id, title, state))
            if intent["kind"] == "packages":
                purged = (index, step_id)
        left = self._report_leftovers(journal, *purged) if purged else 0
        if failures:
            return "rollback-failed", "rollback FAILED: " + "; ".join(failures)
        if left:
            return "rolled-back", (
                f"every change was undone; the package purge left {left} "
                f"thing{'s' if left > 1 else ''} behind (listed above)"
            )
        return "rolled-back", "every change was undone"

    def _report_leftovers(self, journal: Journal, index: int, step_id: str) -> int:
        """What the purge did not take back, against the snapshot of /etc and the accounts
        taken before the packages step (none when the run installed no packages): each one an
        event, all of them one `leftovers` journal record. Returns how many."""
        try:
            before = leftovers.load(journal)
            if before is None:
                return 0
            found = leftovers.find(before, self.root)
        except Exception as exc:  # listing must never fail the rollback itself
            detail = f"leftovers not listed: /etc not compared with its snapshot: {describe(exc)}"
            self._emit(LeftBehind(index, step_id, "error", "", detail))
            return 0
        items = [{"kind": i.kind, "name": i.name, "detail": i.detail} for i in found]
        self._safe_append(journal, {"type": "leftovers", "index": index, "items": items})
        for item in found:
            self._emit(LeftBehind(index, step_id, item.kind, item.name, item.detail))
        return len(found)

    def _undo_step(self, ctx: StepContext, intent: Record, result: Record | None) -> str:
        kind = intent["kind"]
        if kind in ("edit", "grubenv"):
            return stepops.undo_edit(ctx, intent)
        if kind == "symlink":
            return stepops.undo_symlink(ctx, intent)
        if kind == "packages":
            return stepops.undo_packages(ctx, intent, result)
        if kind == "command":
            return LEGACY_COMMAND
        if kind == "sysctl":
            return sysctlops.undo_sysctl(ctx, intent)
        raise StepError(f"unknown step kind {kind!r} in the journal")

    def _check_rollbackable(self, journal: Journal) -> None:
        info = run_info(self.root, journal, None)
        if info.state == "rolled-back":
            raise EngineError(f"run {journal.run_id} is already rolled back")
        if not info.changed:
            raise EngineError(f"run {journal.run_id} changed nothing; nothing to roll back")
        later = [
            other.run_id
            for other in list_runs(self.root)
            if other.started > info.started and other.rollbackable
        ]
        if later:
            raise EngineError(
                f"run {later[-1]} was applied after {journal.run_id}; "
                f"roll it back first: `xenwizard rollback {later[-1]}`"
            )

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _locked(self, command: str) -> Iterator[None]:
        lock = RunLock(self.root, command)
        try:
            lock.acquire()
        except (LockBusy, StateError) as exc:  # busy, or a state directory not ours alone
            raise EngineError(str(exc)) from None
        except PermissionError as exc:  # its state directory: not the operator's to write
            raise EngineError(
                f"{command} needs root: {exc.filename or lock.path} is not writable by this user; "
                "run it as root (sudo)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _new_journal(self, plan: Plan) -> Journal:
        for _ in range(10):  # two runs started in the same second with the same suffix
            try:
                return Journal.create(self.root, new_run_id(), plan_data(plan), plan.answers)
            except FileExistsError:
                continue
            except StateError as exc:  # runs/ not xenwizard's alone: nothing written
                raise EngineError(str(exc)) from None
        raise EngineError("could not find a free run id; try again")

    def _context(
        self, journal: Journal, index: int, title: str, records: list[Record] | None = None
    ) -> StepContext:
        def output(line: str) -> None:
            self._emit(StepOutput(index, line))

        return StepContext(self.root, self.runner, journal, index, title, output, records or [])

    def _finish(self, journal: Journal, outcome: Outcome, message: str) -> RunResult:
        self._safe_append(journal, {"type": "outcome", "outcome": outcome, "message": message})
        log_path = str(self._log.path) if self._log else ""
        self._emit(ApplyFinished(journal.run_id, outcome, log_path, message))
        return RunResult(journal.run_id, outcome, log_path, message)

    def _safe_append(self, journal: Journal, record: Record) -> None:
        """Journal writes during rollback must not stop the rollback (e.g. a full disk)."""
        with suppress(OSError):
            journal.append(record)

    def _emit(self, event: Event) -> None:
        """Log, then hand to the front end; a failing front end never breaks the run. Text in
        events (command output, names and notes from the root) has its control characters
        escaped first: neither the terminal nor the log gets them raw."""
        event = safe_event(event)
        if self._log is not None:
            self._log.write(event)
        if self.on_event is not None:
            with suppress(Exception):
                self.on_event(event)
