"""Benchmark: apply and roll back the file steps of the full seed plan, journaled and fsynced.

The target (issue 3): on a copy of tests/fixtures/precise-root, the median of 5 applies of the
ubuntu-precise plan's file steps (the edits and the hook link; packages left out) is under
100 ms, and so is the median of 5 rollbacks. Each run uses a fresh copy of the root (the copy is
not timed); each timing includes the lock, the check against the plan, the journal with its
backups, every fsync, and the log. Run:

    .venv/bin/python bench/bench_engine.py [--runs 5] [--dir DIR]

--dir picks where the temporary roots go (default: the system temp dir); fsync costs depend on
the file system under it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataclasses import replace  # noqa: E402

from xenwizard.answers.model import WizardConfig  # noqa: E402
from xenwizard.engine.executor import Engine  # noqa: E402
from xenwizard.planning.plan import EditFile, Symlink  # noqa: E402
from xenwizard.planning.profiles import make_plan  # noqa: E402
from xenwizard.target.probe import probe  # noqa: E402
from xenwizard.target.rootfs import RootFS  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "precise-root"
BUDGET_MS = 100.0


class NoCommands:
    """A command an edit runs after (update-grub) is answered at once, not run: the benchmark
    times xenwizard's own work."""

    def run(self, argv, on_line, env=None) -> int:  # type: ignore[no-untyped-def]
        return 0


def one_run(base: Path, number: int) -> tuple[float, float, int]:
    root = base / f"root{number}"
    shutil.copytree(FIXTURE, root, symlinks=True)
    fs = RootFS(root)
    plan = make_plan(WizardConfig(), probe(fs, live=False), fs)
    steps = tuple(s for s in plan.steps if isinstance(s, (EditFile, Symlink)))
    plan = replace(plan, steps=steps)
    start = time.perf_counter()
    result = Engine(plan, fs, NoCommands()).apply()
    applied = time.perf_counter() - start
    assert result.outcome == "applied", result.message
    start = time.perf_counter()
    undone = Engine(None, fs, NoCommands()).rollback(result.run_id)
    rolled = time.perf_counter() - start
    assert undone.outcome == "rolled-back", undone.message
    return applied * 1000, rolled * 1000, len(steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to put the temporary roots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xw-bench-", dir=args.dir) as tmp:
        one_run(Path(tmp), -1)  # warm imports and caches
        runs = [one_run(Path(tmp), n) for n in range(args.runs)]
    apply_ms = statistics.median(r[0] for r in runs)
    rollback_ms = statistics.median(r[1] for r in runs)
    print(f"file steps: {runs[0][2]} (seed plan, ubuntu-precise), runs: {args.runs}")
    print(f"apply    median {apply_ms:6.1f} ms  (all: {', '.join(f'{r[0]:.1f}' for r in runs)})")
    print(f"rollback median {rollback_ms:6.1f} ms  (all: {', '.join(f'{r[1]:.1f}' for r in runs)})")
    ok = apply_ms < BUDGET_MS and rollback_ms < BUDGET_MS
    print(f"target < {BUDGET_MS:.0f} ms each: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
