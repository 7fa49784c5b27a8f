"""Before the first change: is the target still exactly what the operator previewed? (The
plan's freshness; `xenwizard verify`, the live-host check after a reboot, is hostcheck/.)

If a file changed between `plan` and `apply` (another admin, a package upgrade), applying the
previewed `after` text would silently drop that change; so the engine stops and asks for a
fresh plan instead, having changed nothing.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

from xenwizard.planning.plan import EditFile, Plan, Symlink
from xenwizard.target.rootfs import RootFS


class PlanStale(RuntimeError):
    """The target differs from the plan; the message names the file."""


def stale(path: str) -> PlanStale:
    return PlanStale(f"{path} changed since the plan was made; run plan again")


def link_location(root: RootFS, rel: str) -> str:
    """Host path of a link itself (its directory resolved inside the root, not the link)."""
    pure = PurePosixPath(rel.lstrip("/"))
    parent = root.path(str(pure.parent)) if str(pure.parent) != "." else root.real_root
    return os.path.join(parent, pure.name)


def verify_plan(plan: Plan, root: RootFS) -> None:
    """Raise PlanStale at the first mismatch (RootError for a path that leaves the root)."""
    for step in plan.steps:
        if isinstance(step, EditFile):
            root.path(step.path)  # refuses escapes, also for files that do not exist yet
            if root.read_text(step.path) != step.before:
                raise stale(step.path)
        elif isinstance(step, Symlink):
            exists = os.path.lexists(link_location(root, step.path))
            if exists != step.exists:
                raise stale(step.path)
