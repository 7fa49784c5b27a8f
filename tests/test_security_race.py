"""Issue 13, finding 3: check-then-use on paths. A thread swaps ROOT/etc/dnsmasq.d with a
symlink to a directory outside the root (renameat2 RENAME_EXCHANGE) while the engine applies
the step that writes a drop-in there. Before: one attempt in 19 wrote the drop-in (or its temp
file) outside the root. Now every write goes through a directory descriptor opened beneath the
root with no link followed: over 200 attempts nothing lands outside, and the journal stays
true (each run rolls back, from the journal alone, to the original tree)."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import pytest

from tests.enginekit import FakeRunner, diff_manifests, fresh_root, manifest, precise_plan
from xenwizard.engine.executor import Engine, EngineError
from xenwizard.engine.journal import Journal
from xenwizard.plan import EditFile
from xenwizard.rootfs import RootFS

AT_FDCWD = -100
RENAME_EXCHANGE = 2
ATTEMPTS = 200

_libc = ctypes.CDLL(None, use_errno=True)


def exchange(a: Path, b: Path) -> None:
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _swap_loop(a: Path, b: Path, go, idle, quit_) -> None:  # type: ignore[no-untyped-def]
    """In its own process (no GIL between it and the engine): while `go` is set, swap `a` and
    `b` as fast as it can; when cleared, put them back and set `idle`."""
    while not quit_.is_set():
        if not go.wait(0.05):
            continue
        idle.clear()
        swapped = False
        while go.is_set():
            exchange(a, b)
            swapped = not swapped
        if swapped:
            exchange(a, b)
        idle.set()


class Swapper:
    def __init__(self, a: Path, b: Path):
        ctx = multiprocessing.get_context("fork")
        self.go, self.idle, self.quit = ctx.Event(), ctx.Event(), ctx.Event()
        self.idle.set()
        self.proc = ctx.Process(
            target=_swap_loop, args=(a, b, self.go, self.idle, self.quit), daemon=True
        )
        self.proc.start()

    def start(self) -> None:
        self.idle.clear()
        self.go.set()

    def pause(self) -> None:
        self.go.clear()
        assert self.idle.wait(10), "the swapper did not stop"

    def close(self) -> None:
        self.go.clear()
        self.quit.set()
        self.proc.join(10)


def test_a_directory_swapped_for_a_symlink_out_of_the_root_is_never_written_through(
    tmp_path: Path,
) -> None:
    if not hasattr(_libc, "renameat2"):
        pytest.skip("no renameat2 in this libc")
    root = fresh_root(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = root / "etc/evil"
    evil.symlink_to(outside)
    original = manifest(root)
    full = precise_plan(root)
    step = next(s for s in full.steps if isinstance(s, EditFile) and "dnsmasq.d" in s.path)
    plan = replace(full, steps=(step,))
    fs = RootFS(root)
    outcomes: dict[str, int] = {}
    swapper = Swapper(root / "etc/dnsmasq.d", evil)
    try:
        for _ in range(ATTEMPTS):
            swapper.start()
            try:
                result = Engine(plan, fs, FakeRunner(root)).apply()
                outcome = result.outcome
            except EngineError:  # refused before changing anything (a path left the root)
                result, outcome = None, "refused"
            finally:
                swapper.pause()
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            assert os.listdir(outside) == [], f"written outside the root ({outcome})"
            if result is None:
                continue
            journal = Journal.open(fs, result.run_id)
            journal.records(for_undo=True)  # still a journal xenwizard would write
            if outcome in ("applied", "rollback-failed"):
                again = Engine(None, fs, FakeRunner(root)).rollback(result.run_id)
                assert again.outcome == "rolled-back", again.message
            assert os.listdir(outside) == []
            assert diff_manifests(original, manifest(root)) == [], outcome
    finally:
        swapper.close()
    assert sum(outcomes.values()) == ATTEMPTS, outcomes
