"""Benchmark: ansible-playbook on three hosts vs. running xenwizard three times by hand.

The README's "Many hosts" inventory and playbook on three local hosts (copies of the fixture
roots, as tests/system/test_ansible.py runs them), check mode and apply, against `xenwizard
plan` and `xenwizard apply --yes --skip-packages` run once per root by hand, one after the
other, with the same answers. Every run starts from fresh copies. Median of --runs
whole-process runs. Run:

    .venv/bin/python bench/bench_ansible.py [--runs 5] [--forks 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.system.test_ansible import (  # noqa: E402
    ANSIBLE_DIR,
    ANSWERS,
    BIN,
    XENWIZARD,
    local_inventory,
    make_roots,
    playbook_env,
)


def timed(argv: list[str], **kwargs) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 2) or "failed=1" in done.stdout:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def by_hand(roots: dict[str, Path], command: str) -> float:
    total = 0.0
    for host, root in roots.items():
        address, dhcp_range = ANSWERS[host]
        argv = [str(XENWIZARD), command, "--root", str(root), "--bridge", "br0", "--lease", "12h"]
        argv += ["--address", address, "--dhcp-range", dhcp_range]
        if command == "apply":
            argv += ["--yes", "--skip-packages"]
        total += timed(argv)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--forks", type=int, default=5, help="ansible-playbook --forks")
    args = parser.parse_args()
    results: dict[str, list[float]] = {
        "ansible-playbook --check (3 hosts)": [],
        "xenwizard plan x3 by hand": [],
        "ansible-playbook apply (3 hosts)": [],
        "xenwizard apply x3 by hand": [],
    }
    labels = list(results)
    for _ in range(args.runs):
        scratch = Path(tempfile.mkdtemp(prefix="xenwizard-bench-ansible-"))
        try:
            roots = make_roots(scratch / "ansible")
            overlay = local_inventory(scratch / "local.json", roots)
            ansible = [str(BIN / "ansible-playbook"), "-i", "inventory.yml", "-i", str(overlay)]
            ansible += ["site.yml", "--forks", str(args.forks)]
            env = playbook_env(scratch)
            results[labels[0]].append(timed([*ansible, "--check"], cwd=ANSIBLE_DIR, env=env))
            results[labels[2]].append(timed(ansible, cwd=ANSIBLE_DIR, env=env))
            hand = make_roots(scratch / "hand")
            results[labels[1]].append(by_hand(hand, "plan"))
            results[labels[3]].append(by_hand(hand, "apply"))
        finally:
            shutil.rmtree(scratch)
    print(f"median of {args.runs} runs (seconds; min-max):")
    for label, times in results.items():
        print(f"  {label:38} {statistics.median(times):6.2f}  ({min(times):.2f}-{max(times):.2f})")
    for mode, (ansible, hand) in {"check": labels[:2], "apply": labels[2:]}.items():
        ratio = statistics.median(results[ansible]) / statistics.median(results[hand])
        print(f"  {mode}: ansible-playbook / by hand = {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
