"""Issue 24, finding 3: files in the state directory that are not what xenwizard wrote. A FIFO
at the lock hung `history`, `plan`, `apply` and `rollback`; a link to /dev/zero there gave
MemoryError; a link out of the root was followed (the lock, and runs/RUN/plan.json, whose
outside profile `verify` then printed); a FIFO at runs/RUN/etc-before.json made `rollback` block
forever after its undo. Now each is a bounded, one-line refusal (every command here runs under
a timeout: a hang fails the test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits.enginekit import fresh_root
from tests.kits.helpers import REPO, run_cli
from xenwizard.engine.journal import RUNS_DIR, STATE_DIR
from xenwizard.engine.leftovers import SNAPSHOT

ROLLBACK = """
import os, pathlib, sys
from tests.kits.enginekit import FakeRunner, precise_plan
from xenwizard.engine import events as ev
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import RUNS_DIR
from xenwizard.engine.leftovers import SNAPSHOT
from xenwizard.target.rootfs import RootFS
root = pathlib.Path(sys.argv[1])
fs, runner = RootFS(root), FakeRunner(root, leave_behind=True)
applied = Engine(precise_plan(root), fs, runner).apply()
snapshot = os.path.join(root, RUNS_DIR, applied.run_id, SNAPSHOT)
print(applied.outcome, os.path.isfile(snapshot))
os.unlink(snapshot)
os.mkfifo(snapshot, 0o600)
seen = []
print(Engine(None, fs, runner, seen.append).rollback(applied.run_id).outcome)
print("\\n".join(e.detail for e in seen if isinstance(e, ev.LeftBehind)))
"""
BOUND = 30  # seconds: far beyond any of these commands on a fixture root


def applied_root(tmp_path: Path) -> tuple[Path, str]:
    root = fresh_root(tmp_path)
    done = run_cli("apply", "--yes", "--skip-packages", "--root", str(root), timeout=BOUND)
    assert done.returncode == 0, done
    return root, os.listdir(root / RUNS_DIR)[0]


def plant(path: Path, kind: str) -> None:
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    else:
        path.symlink_to("/dev/zero")


ARGV = {
    "history": ["history"],
    "plan": ["plan"],
    "apply": ["apply", "--yes", "--skip-packages"],
    "rollback": ["rollback", "RUN"],
}


@pytest.mark.parametrize("kind", ["fifo", "dev-zero-link"])
@pytest.mark.parametrize("command", list(ARGV))
def test_a_lock_that_is_a_fifo_or_a_link_to_dev_zero_is_a_bounded_refusal(
    tmp_path: Path, command: str, kind: str
) -> None:
    root, run_id = applied_root(tmp_path)
    plant(root / STATE_DIR / "lock", kind)
    argv = [run_id if word == "RUN" else word for word in ARGV[command]]
    done = run_cli(*argv, "--root", str(root), timeout=BOUND)  # TimeoutExpired: it hung
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    if command in ("history", "plan"):  # they only read the lock to name a holder: none
        assert done.returncode in (0, 2), done
        return
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done
    expected = "a FIFO, not a regular file" if kind == "fifo" else "is a symlink"
    assert f"{STATE_DIR}/lock" in lines[0] and expected in lines[0], lines


def test_verify_never_reads_a_plan_linked_out_of_the_root(tmp_path: Path) -> None:
    """Before: `verify` printed the outside file's profile as the run's."""
    root, run_id = applied_root(tmp_path)
    plan_json = root / RUNS_DIR / run_id / "plan.json"
    planted = json.loads(plan_json.read_text())
    planted["profile"] = "outside-profile"
    outside = tmp_path / "outside-plan.json"
    outside.write_text(json.dumps(planted))
    plan_json.unlink()
    plan_json.symlink_to(outside)
    done = run_cli("verify", "--root", str(root), timeout=BOUND)
    assert "outside-profile" not in done.stdout, done.stdout
    run_line = next(line for line in done.stdout.splitlines() if " run:" in line)
    assert run_line.startswith("FAIL run:") and "plan.json" in run_line, run_line
    assert "symlink" in run_line, run_line


def test_a_fifo_snapshot_does_not_stop_the_rollback_from_finishing(tmp_path: Path) -> None:
    """Before: the rollback undid everything, then blocked forever opening the FIFO, holding
    the lock, its outcome never journaled. (Apply and rollback in one child process: the
    fake runner remembers what it installed; the child runs under a timeout.)"""
    root = fresh_root(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", ROLLBACK, str(root)],
        capture_output=True, text=True, cwd=REPO, timeout=BOUND,
    )  # fmt: skip
    assert done.returncode == 0, done
    applied, outcome, *details = done.stdout.splitlines()
    assert applied == "applied True", done.stdout  # the packages step took the snapshot
    assert outcome == "rolled-back", done.stdout
    assert any("leftovers not listed" in d and SNAPSHOT in d for d in details), details
    history = run_cli("history", "--root", str(root), timeout=BOUND)
    assert "rolled-back" in history.stdout, history
