"""Issue 13, the reads: a thread swaps ROOT/etc/network with a symlink to a directory outside
the root (renameat2 RENAME_EXCHANGE) while the plan reads etc/network/interfaces. Before, a read
was resolved by name after a realpath check, so a swap in between made the plan read (and show in
its diff) a file outside the root. Now every read opens the file from the root's descriptor
(openat2 RESOLVE_IN_ROOT): a link swapped in meanwhile resolves inside the root, never out of it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.kits.enginekit import precise_plan
from tests.unit.test_security_race import Swapper, hostile_root
from xenwizard.planning.profiles.base import PlanError
from xenwizard.target.rootfs import RootError

ATTEMPTS = 200
SECRET = "SECRET-OUTSIDE-THE-ROOT"


def plan_text(root: Path) -> str:
    """Everything a plan shows: titles, notes and the before/after of every file."""
    return "\n".join(repr(step) for step in precise_plan(root).steps)


def test_a_directory_swapped_for_a_symlink_out_of_the_root_is_never_read_through(
    tmp_path: Path,
) -> None:
    root, outside, evil = hostile_root(tmp_path)
    original = (root / "etc/network/interfaces").read_text()
    (outside / "interfaces").write_text(original + f"# {SECRET}\n")
    outcomes: dict[str, int] = {}
    swapper = Swapper(root / "etc/network", evil)
    try:
        for _ in range(ATTEMPTS):
            swapper.start()
            try:
                text = plan_text(root)
                outcome = "planned"
            except (RootError, PlanError) as exc:  # a link in the way: refused, one line
                text, outcome = str(exc), "refused"
            finally:
                swapper.pause()
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            assert SECRET not in text, f"read outside the root ({outcome})"
    finally:
        swapper.close()
    assert os.listdir(outside) == ["interfaces"]
    assert sum(outcomes.values()) == ATTEMPTS, outcomes
