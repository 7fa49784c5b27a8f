"""Each step's state as the engine's events drive it (engine/stepstates.py), every transition;
the engine says a skip explicitly; and the CLI prints the word the apply page shows."""

from __future__ import annotations

import io
from pathlib import Path

from tests.kits.enginekit import FakeRunner, fresh_root, precise_plan
from xenwizard.commands.runs import EventPrinter
from xenwizard.engine import events as ev
from xenwizard.engine.executor import Engine
from xenwizard.engine.hangup import SafeWriter
from xenwizard.engine.stepstates import StepBoard
from xenwizard.target.rootfs import RootFS

TITLES = ("Install packages", "xl.conf", "bridge", "check")


def states(board: StepBoard) -> list[str]:
    return [step.state for _, step in board.ordered()]


def board_after(*events: ev.Event, simulated: tuple[int, ...] = ()) -> StepBoard:
    board = StepBoard(TITLES, simulated)
    for event in events:
        board.update(event)
    return board


STARTED = (ev.RunStarted("RUN", "/", TITLES), ev.StepStarted(0, "packages", TITLES[0]))


def test_every_step_starts_pending_and_runs_when_started() -> None:
    assert states(StepBoard(TITLES)) == ["pending"] * 4
    board = board_after(*STARTED)
    assert states(board) == ["running", "pending", "pending", "pending"]
    assert board.current_line() == 0


def test_a_finished_step_is_done_unchanged_or_skipped_with_why() -> None:
    board = board_after(
        *STARTED,
        ev.StepFinished(
            0, "packages", False, ("skipped (--skip-packages): xen",), "--skip-packages"
        ),
        ev.StepStarted(1, "xlconf", TITLES[1]),
        ev.StepFinished(1, "xlconf", True),
        ev.StepStarted(2, "bridge", TITLES[2]),
        ev.StepFinished(2, "bridge", False),
    )
    assert states(board) == ["skipped", "done", "unchanged", "pending"]
    assert board.steps[0].why == "--skip-packages"
    assert [board.steps[i].word for i in range(3)] == ["skipped", "done", "no change"]
    assert board.completed == 3 and board.current_line() == 2
    assert board.titles("done") == ("xl.conf",)


def test_a_skip_is_what_the_engine_says_never_guessed_from_a_note() -> None:
    """Before, the page called a step skipped when a note started with "skipped"."""
    board = board_after(*STARTED, ev.StepFinished(0, "packages", False, ("skipped cache",)))
    assert states(board)[0] == "unchanged"


def test_the_demo_package_step_is_simulated() -> None:
    skip = ev.StepFinished(0, "packages", False, ("skipped (--skip-packages): xen",), "--skip")
    board = board_after(*STARTED, skip, simulated=(0,))
    assert board.steps[0].symbol == "[~]" and board.titles("simulated") == ("Install packages",)


def test_a_failure_marks_the_step_and_the_rest_not_run_then_the_rollback() -> None:
    board = board_after(
        *STARTED,
        ev.StepFinished(0, "packages", True),
        ev.StepStarted(1, "xlconf", TITLES[1]),
        ev.StepFinished(1, "xlconf", True),
        ev.StepStarted(2, "bridge", TITLES[2]),
        ev.StepFailed(2, "bridge", "br0 not found"),
    )
    assert states(board) == ["done", "done", "failed", "not-run"]
    assert board.steps[2].why == "br0 not found" and board.steps[3].word == "not run"
    assert board.current_line() == 2
    # The failed step's partial change is undone first: it keeps saying FAILED.
    board.update(ev.RollbackProgress(2, "bridge", TITLES[2], "undoing"))
    board.update(ev.RollbackProgress(2, "bridge", TITLES[2], "undone"))
    assert states(board)[2] == "failed" and board.undo_done == 0
    board.update(ev.RollbackProgress(1, "xlconf", TITLES[1], "undoing"))
    assert states(board) == ["done", "undoing", "failed", "not-run"]
    assert board.current_line() == 1 and board.undo_done == 0
    board.update(ev.RollbackProgress(1, "xlconf", TITLES[1], "nothing-to-undo"))
    assert board.steps[1].state == "undone" and board.steps[1].why == "nothing-to-undo"
    board.update(ev.RollbackProgress(0, "packages", TITLES[0], "undoing"))
    board.update(ev.RollbackProgress(0, "packages", TITLES[0], "failed: apt-get purge: 100"))
    assert states(board) == ["undo-failed", "undone", "failed", "not-run"]
    assert board.steps[0].why == "apt-get purge: 100" and board.steps[0].word == "UNDO FAILED"
    assert board.undo_done == 2
    board.update(ev.RollbackProgress(1, "xlconf", TITLES[1], "undone"))
    assert board.steps[1].why == ""
    left = ev.LeftBehind(0, "packages", "user", "dnsmasq", "user dnsmasq")
    end = ev.ApplyFinished("RUN", "rollback-failed", "/log", "rollback FAILED")
    board.update(left)
    board.update(end)
    assert board.left_behind == [left] and board.finished == end


def test_a_failed_step_whose_undo_fails_says_undo_failed() -> None:
    board = board_after(*STARTED, ev.StepFailed(0, "packages", "apt-get: 100"))
    board.update(ev.RollbackProgress(0, "packages", TITLES[0], "undoing"))
    assert states(board)[0] == "failed"
    board.update(ev.RollbackProgress(0, "packages", TITLES[0], "failed: dpkg locked"))
    assert states(board)[0] == "undo-failed" and board.steps[0].why == "dpkg locked"


def test_a_rollback_alone_learns_its_steps_from_the_undo_events() -> None:
    board = StepBoard()
    board.update(ev.RunStarted("RUN", "/", ()))
    board.update(ev.RollbackProgress(3, "check", "check", "undoing"))
    assert [(i, s.title, s.state) for i, s in board.ordered()] == [(3, "check", "undoing")]
    board.update(ev.RollbackProgress(1, "xlconf", "xl.conf", "undoing"))
    board.update(ev.RollbackProgress(1, "xlconf", "xl.conf", "left-alone: changed since"))
    assert board.steps[1].state == "undone" and board.steps[1].why.startswith("left-alone")
    assert board.current_line() == 1  # the step at position 1 in plan order is busy


def test_output_changes_no_state() -> None:
    board = board_after(*STARTED)
    board.update(ev.StepOutput(0, "Setting up xen ..."))
    assert states(board)[0] == "running"


def test_the_engine_says_which_steps_it_skipped_and_why(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    events: list[ev.Event] = []
    plan = precise_plan(root)
    Engine(plan, RootFS(root), FakeRunner(root), events.append, skip_packages=True).apply()
    finished = [e for e in events if isinstance(e, ev.StepFinished)]
    assert finished[0].skipped == "--skip-packages" and not finished[0].changed
    # and the GRUB step, which needs the Xen entry the skipped packages bring (issue 23)
    skipped = {plan.steps[e.index].id: e.skipped for e in finished[1:] if e.skipped}
    assert list(skipped) == ["grub-xen"] and "Xen's GRUB entry" in skipped["grub-xen"]


def test_the_cli_prints_each_step_with_the_word_the_page_shows(tmp_path: Path) -> None:
    """The same real apply through the CLI's printer and a board: each step's printed word
    (done / no change / skipped / FAILED) is the board's. Before, a skipped step printed
    "no change" while the page said "skipped"."""
    root = fresh_root(tmp_path)
    printer = EventPrinter()
    printer.out = SafeWriter(out := io.StringIO())
    board = StepBoard()

    def both(event: ev.Event) -> None:
        board.update(event)
        printer(event)

    plan = precise_plan(root)
    Engine(plan, RootFS(root), FakeRunner(root), both, skip_packages=True).apply()
    words = [line.strip() for line in out.getvalue().splitlines() if line.startswith("    ")]
    words = [w.removeprefix("FAILED: ") for w in words if not w.startswith(("note:", "|"))]
    assert words == [step.word for _, step in board.ordered()]
    assert words[0] == "skipped" and "done" in words
