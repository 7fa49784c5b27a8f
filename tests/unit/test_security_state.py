"""Issue 24, finding 1: xenwizard's own state (ROOT/var/lib/xenwizard: runs/, the run directory,
journal.jsonl, backups/NNN, plan.json, answers.toml, the lock) and ROOT/var/log/xenwizard.log
were opened by name after one check. A RENAME_EXCHANGE of one of those directories with a
symlink out of the root, during apply or rollback, sent root's files (and a chmod 0700) outside
it; a hard link at the lock truncated an outside file; `apply` took a state directory that
another user owns. Now every one of them is reached by descriptor beneath the root with no link
followed: over the loops below (ATTEMPTS each), nothing lands outside (0 escapes allowed)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.enginekit import FakeRunner, diff_manifests, fresh_root, manifest, precise_plan
from tests.kits.helpers import run_cli
from tests.unit.test_security_race import Swapper, hostile_root
from xenwizard.engine import executor, leftovers
from xenwizard.engine.executor import Engine, EngineError, RunResult
from xenwizard.engine.journal import RUNS_DIR, STATE_DIR
from xenwizard.planning.plan import EditFile, Plan
from xenwizard.target.rootfs import RootFS

ATTEMPTS = 60  # per swapped directory; the old code escaped in 2 of 8 (runs/) or fewer tries
RUN_ID = "20260101T000000-race"


def one_step_plan(root: Path) -> Plan:
    full = precise_plan(root)
    step = next(s for s in full.steps if isinstance(s, EditFile) and "dnsmasq.d" in s.path)
    return replace(full, steps=(step,))


def outside_state(outside: Path) -> tuple[list[str], int]:
    """What an escape would change: a name made in the outside directory, or its mode."""
    return sorted(os.listdir(outside)), stat.S_IMODE(os.stat(outside).st_mode)


def settle(fs: RootFS, root: Path, result: RunResult | None) -> None:
    """Roll back whatever an attempt left applied, with nothing swapping, so the next attempt
    starts from the original tree."""
    if result is not None and result.outcome in ("applied", "rollback-failed"):
        again = Engine(None, fs, FakeRunner(root)).rollback(result.run_id)
        assert again.outcome == "rolled-back", again.message


@pytest.mark.parametrize("swapped", [STATE_DIR, RUNS_DIR, "var/log"])
def test_apply_never_writes_through_a_state_directory_swapped_for_a_link(
    tmp_path: Path, swapped: str
) -> None:
    root, outside, evil = hostile_root(tmp_path)
    os.chmod(outside, 0o755)
    fs = RootFS(root)
    plan = one_step_plan(root)
    settle(fs, root, Engine(plan, fs, FakeRunner(root)).apply())  # state, runs/ and the log exist
    original, untouched = manifest(root), outside_state(outside)
    outcomes: dict[str, int] = {}
    swapper = Swapper(root / swapped, evil)
    try:
        for _ in range(ATTEMPTS):
            swapper.start()
            try:
                result: RunResult | None = Engine(plan, fs, FakeRunner(root)).apply()
                outcome = result.outcome if result else "refused"
            except EngineError:  # refused before changing anything
                result, outcome = None, "refused"
            finally:
                swapper.pause()
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            assert outside_state(outside) == untouched, f"escaped the root ({outcome})"
            settle(fs, root, result)
            assert diff_manifests(original, manifest(root)) == [], outcome
    finally:
        swapper.close()
    print(f"apply, {swapped} swapped: {outcomes}")
    assert sum(outcomes.values()) == ATTEMPTS, outcomes


@pytest.mark.parametrize("swapped", [f"{RUNS_DIR}/{RUN_ID}", RUNS_DIR, STATE_DIR])
def test_rollback_never_writes_through_a_state_directory_swapped_for_a_link(
    tmp_path: Path, swapped: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt applies (nothing swapping), then rolls back while `swapped` flips; the run
    keeps one id so that one swapper, already running, can aim at its directory."""
    monkeypatch.setattr(executor, "new_run_id", lambda: RUN_ID)
    root, outside, evil = hostile_root(tmp_path)
    os.chmod(outside, 0o755)
    fs = RootFS(root)
    plan = one_step_plan(root)
    original, untouched = manifest(root), outside_state(outside)
    outcomes: dict[str, int] = {}
    settle(fs, root, Engine(plan, fs, FakeRunner(root)).apply())
    shutil.rmtree(root / RUNS_DIR / RUN_ID)
    swapper = Swapper(root / swapped, evil)
    try:
        for _ in range(ATTEMPTS):
            applied = Engine(plan, fs, FakeRunner(root)).apply()
            assert applied.outcome == "applied", applied.message
            swapper.start()
            try:
                result: RunResult = Engine(None, fs, FakeRunner(root)).rollback(RUN_ID)
                outcome = result.outcome
            except EngineError:  # refused: the run is still applied
                result, outcome = applied, "refused"
            finally:
                swapper.pause()
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            assert outside_state(outside) == untouched, f"escaped the root ({outcome})"
            settle(fs, root, result)
            assert diff_manifests(original, manifest(root)) == [], outcome
            shutil.rmtree(root / RUNS_DIR / RUN_ID)
    finally:
        swapper.close()
    print(f"rollback, {swapped} swapped: {outcomes}")
    assert sum(outcomes.values()) == ATTEMPTS, outcomes


@pytest.mark.parametrize("command", ["apply", "rollback"])
def test_a_lock_hard_linked_to_an_outside_file_is_refused_not_truncated(
    tmp_path: Path, command: str
) -> None:
    """Before: any apply, rollback or confirm truncated the linked file to 0 bytes."""
    root = fresh_root(tmp_path)
    assert run_cli("apply", "--yes", "--skip-packages", "--root", str(root)).returncode == 0
    run_id = os.listdir(root / RUNS_DIR)[0]
    precious = tmp_path / "precious"
    precious.write_bytes(b"the operator's data\n")
    (root / STATE_DIR / "lock").unlink()
    os.link(precious, root / STATE_DIR / "lock")
    argv = ["apply", "--yes", "--skip-packages"] if command == "apply" else ["rollback", run_id]
    before = manifest(root)
    done = run_cli(*argv, "--root", str(root), timeout=30)
    assert precious.read_bytes() == b"the operator's data\n"
    assert diff_manifests(before, manifest(root)) == []
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done
    assert "lock" in lines[0] and "2 names" in lines[0], lines


@pytest.mark.parametrize("how", ["other-owner", "group-writable"])
def test_apply_refuses_a_state_directory_not_roots_alone(tmp_path: Path, how: str) -> None:
    """Before: apply used (and chmod'ed) a state directory that user 65534 owned; rollback and
    history then refused the runs written there."""
    if how == "other-owner" and os.geteuid() != 0:
        pytest.skip("needs root to give a directory away")
    root = fresh_root(tmp_path)
    state = root / STATE_DIR
    state.mkdir(mode=0o700)
    if how == "other-owner":
        os.chown(state, 65534, 65534)
    else:
        os.chmod(state, 0o770)
    mode = stat.S_IMODE(os.stat(state).st_mode)
    before = manifest(root)
    done = run_cli("apply", "--yes", "--skip-packages", "--root", str(root), timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done
    assert str(state) in lines[0], lines
    assert ("uid 65534" if how == "other-owner" else "writable by group") in lines[0], lines
    assert os.listdir(state) == [] and stat.S_IMODE(os.stat(state).st_mode) == mode
    assert diff_manifests(before, manifest(root)) == []


WALKS = 400  # the old os.walk listed an outside file in 14 of 400 walks, hashed it in 4


def test_the_etc_snapshot_walk_never_enters_a_directory_swapped_for_a_link(
    tmp_path: Path,
) -> None:
    """Issue 24, finding 7: the /etc snapshot (taken before the packages step, compared after a
    rollback) walked by name and followed a directory swapped for a symlink out of the root."""
    root, outside, evil = hostile_root(tmp_path)
    secret = b"outside the root\n"
    (outside / "outside-secret").write_bytes(secret)
    digest = hashlib.sha256(secret).hexdigest()
    fs = RootFS(root)
    swapper = Swapper(root / "etc/xen", evil)
    escapes = errors = 0
    try:
        swapper.start()
        for _ in range(WALKS):
            try:
                found = leftovers.etc_manifest(fs)
            except OSError:  # counted apart: a walk that breaks lists nothing outside
                errors += 1
                continue
            listed = any(path.endswith("/outside-secret") for path in found)
            hashed = any(entry[1] == digest for entry in found.values())
            escapes += listed or hashed
    finally:
        swapper.pause()
        swapper.close()
    print(f"/etc walks with etc/xen swapped: {WALKS}, escapes: {escapes}, errors: {errors}")
    assert escapes == 0
    assert errors == 0
