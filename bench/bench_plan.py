"""Benchmark: `xenwizard plan` on the fixture root vs. `python -c "import psutil, netifaces"`.

The target (issue 2): the median of 5 whole-process runs of the plan is within 2x of the
median of the bare import, measured in the same run on the same machine. Run:

    .venv/bin/python bench/bench_plan.py [--runs 5] [--root DIR]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO / "tests" / "fixtures" / "precise-root"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--root", default=str(DEFAULT_ROOT))
    args = parser.parse_args()
    # pip byte-compiles an installed package; do the same for this source tree, since
    # PYTHONDONTWRITEBYTECODE (set on some machines) would otherwise recompile on every run.
    compileall.compile_dir(REPO / "xenwizard", quiet=1)
    baseline_cmd = [sys.executable, "-c", "import psutil, netifaces"]
    plan_cmd = [sys.executable, "-m", "xenwizard", "plan", "--root", args.root]
    timed(baseline_cmd), timed(plan_cmd)  # warm the page cache for both
    baseline, plan = [], []
    for _ in range(args.runs):  # interleaved, so machine noise hits both alike
        baseline.append(timed(baseline_cmd))
        plan.append(timed(plan_cmd))
    b, p = statistics.median(baseline), statistics.median(plan)
    print(f"import psutil, netifaces: median {b * 1000:.1f} ms of {args.runs}")
    print(f"xenwizard plan:           median {p * 1000:.1f} ms of {args.runs}")
    print(f"ratio: {p / b:.2f} (target <= 2.0)")
    return 0 if p / b <= 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
