"""Issue 13, finding 3: check-then-use on paths. A thread swaps ROOT/etc/dnsmasq.d with a
symlink to a directory outside the root (renameat2 RENAME_EXCHANGE) while the engine applies
the step that writes a drop-in there. Before: one attempt in 19 wrote the drop-in (or its temp
file) outside the root. Now every write goes through a directory descriptor opened beneath the
root with no link followed: over 200 attempts nothing lands outside, and the journal stays
true (each run rolls back, from the journal alone, to the original tree)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.enginekit import FakeRunner, diff_manifests, fresh_root, manifest, precise_plan
from xenwizard.engine.executor import Engine, EngineError
from xenwizard.engine.journal import Journal
from xenwizard.planning.plan import EditFile
from xenwizard.target.rootfs import RootFS

AT_FDCWD = -100
RENAME_EXCHANGE = 2
ATTEMPTS = 200

_libc = ctypes.CDLL(None, use_errno=True)


def exchange(a: Path, b: Path) -> None:
    if _libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


SWAP_LOOP = r"""
import ctypes, os, select, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = (os.fsencode(x) for x in sys.argv[1:3])
def exchange():
    if libc.renameat2(-100, a, -100, b, 2):
        raise OSError(ctypes.get_errno(), "renameat2")
cmd_in, out = sys.stdin.fileno(), sys.stdout.fileno()
while True:
    cmd = os.read(cmd_in, 1)
    if cmd != b"g":
        break
    swapped = False
    while True:
        for _ in range(8):
            exchange()
            swapped = not swapped
        if select.select([cmd_in], [], [], 0)[0]:
            break
    if os.read(cmd_in, 1) != b"s":
        break
    if swapped:
        exchange()
    os.write(out, b"i")
"""


class Swapper:
    """Swaps two names as fast as it can, in a process of its own (no GIL shared with the
    engine, no fork of a threaded test process); puts them back on each pause."""

    def __init__(self, a: Path, b: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SWAP_LOOP, str(a), str(b)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )

    def start(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"g")

    def pause(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"s")
        ready = select.select([self.proc.stdout], [], [], 10)[0]
        assert ready and self.proc.stdout.read(1) == b"i", "the swapper did not stop"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def hostile_root(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(root, a directory outside it, ROOT/etc/evil: a link to that directory, ready to be
    swapped with a directory xenwizard uses); skips where libc has no renameat2."""
    if not hasattr(_libc, "renameat2"):
        pytest.skip("no renameat2 in this libc")
    root = fresh_root(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = root / "etc/evil"
    evil.symlink_to(outside)
    return root, outside, evil


def test_a_directory_swapped_for_a_symlink_out_of_the_root_is_never_written_through(
    tmp_path: Path,
) -> None:
    root, outside, evil = hostile_root(tmp_path)
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
