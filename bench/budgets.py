#!/usr/bin/env python3
"""The speed budgets operators feel (issue 22), for this tree and, side by side in the same run,
for another checkout (`--before DIR`, e.g. `git archive ee6d133 | tar -x -C DIR`):

- `xenwizard plan --root tests/fixtures/precise-root`: within 150 ms wall;
- the same on tests/fixtures/debian-12-root (with the real `ifup --no-act`): within 250 ms;
- the wizard's first paint (until the first page takes input, 80x24 pseudo-terminal) within
  1.15x a bare Textual app with one Input (bench_tui.py's measure and reference app);
- apply overhead: the precise plan's file steps (edits and the hook link), journaled and
  fsynced, on a fresh copy of the root, within 100 ms; the commands some edits run after
  (update-grub) are answered at once, without running, so only xenwizard's own work counts.

Medians of `--runs` runs; the trees alternate run by run so that load on the machine hits both
alike. Prints a table; exits 1 when this tree misses a budget. Run:

    .venv/bin/python bench/budgets.py [--runs 7] [--before DIR]
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_tui import BARE_APP, measure  # noqa: E402

PLAN_BUDGETS = {"precise-root": 0.150, "debian-12-root": 0.250}
PAINT_RATIO = 1.15
APPLY_BUDGET = 0.100

# Run in the tree being measured (cwd): one apply of the precise plan's file steps; prints
# the seconds it took and the number of steps. The tree's own engine, whatever its version.
APPLY_RUN = """
import json, shutil, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
from xenwizard.answers.model import WizardConfig
from xenwizard.engine.executor import Engine
from xenwizard.planning.plan import EditFile, Symlink
from xenwizard.planning.profiles import make_plan
from xenwizard.target.probe import probe
from xenwizard.target.rootfs import RootFS

class Answered:
    def run(self, argv, on_line, env=None):
        return 0

with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp) / "root"
    shutil.copytree(sys.argv[1], root, symlinks=True)
    fs = RootFS(root)
    plan = make_plan(WizardConfig(), probe(fs, live=False), fs)
    plan = replace(plan, steps=tuple(s for s in plan.steps if isinstance(s, (EditFile, Symlink))))
    start = time.perf_counter()
    result = Engine(plan, fs, Answered()).apply()
    took = time.perf_counter() - start
    assert result.outcome == "applied", result.message
print(json.dumps([took, len(plan.steps)]))
"""


def wall(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another checkout, measured alongside")
    args = parser.parse_args()
    trees = {"after": REPO}
    if args.before is not None:
        trees = {"before": args.before.resolve(), "after": REPO}
    for tree in trees.values():  # as pip leaves an installed package: byte-compiled
        compileall.compile_dir(tree / "xenwizard", quiet=1)
    fixtures = REPO / "tests" / "fixtures"
    py = sys.executable
    results: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    steps = 0
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        sample = str(REPO / "xenwizard/samples/ubuntu-12.04")
        for run in range(args.runs + 1):  # run 0 warms the page cache and is not counted
            for name, tree in trees.items():
                got: dict[str, float] = {}
                for root in PLAN_BUDGETS:
                    argv = [py, "-m", "xenwizard", "plan", "--root", str(fixtures / root)]
                    got[root] = wall(argv, tree)
                got["bare"] = measure([py, str(bare)])[0]
                got["wizard"] = measure(
                    [py, str(tree / "bench/wizard_ready.py"), "--root", sample]
                )[0]
                out = subprocess.run(
                    [py, "-c", APPLY_RUN, str(fixtures / "precise-root")],
                    check=True, capture_output=True, text=True, cwd=tree,
                ).stdout  # fmt: skip
                got["apply"], steps = json.loads(out)
                if run:
                    for key, value in got.items():
                        results[name].setdefault(key, []).append(value)
    med = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}
    rows: list[tuple[str, dict[str, float], str, float, float]] = []
    for root, budget in PLAN_BUDGETS.items():
        rows.append(
            (f"plan --root {root}", {n: m[root] for n, m in med.items()}, "ms", budget, 1000)
        )
    paint = {n: m["wizard"] / m["bare"] for n, m in med.items()}
    rows.append(("first paint / bare Textual Input", paint, "x", PAINT_RATIO, 1))
    rows.append(
        (
            f"apply, {steps} file steps journaled",
            {n: m["apply"] for n, m in med.items()},
            "ms",
            APPLY_BUDGET,
            1000,
        )
    )
    print(f"medians of {args.runs} runs; " + ", ".join(f"{n}: {t}" for n, t in trees.items()))
    print(f"{'':38}" + "".join(f"{n:>10}" for n in trees) + f"{'budget':>10}")
    missed = False
    for label, values, unit, budget, scale in rows:
        cells = "".join(
            f"{values[n] * scale:>8.{2 if unit == 'x' else 0}f}{unit:<2}" for n in trees
        )
        met = values["after"] <= budget
        missed |= not met
        verdict = "met" if met else "MISSED"
        print(f"{label:38}{cells}{budget * scale:>8.{2 if unit == 'x' else 0}f}{unit:<2} {verdict}")
    for name in trees:
        bare, wizard = med[name]["bare"] * 1000, med[name]["wizard"] * 1000
        print(f"  {name}: wizard {wizard:.0f} ms, bare Textual {bare:.0f} ms")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
