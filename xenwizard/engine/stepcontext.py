"""What every step operation gets (the target, the runner, the journal, the output) and the
one error a step raises; shared by the step operations and the policy-rc.d lifecycle."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from xenwizard.engine import atomic
from xenwizard.engine.journal import Journal, Record
from xenwizard.engine.runner import Runner
from xenwizard.target.rootfs import RootFS


class StepError(RuntimeError):
    """A step failed for a reason the operator can act on; the message says which and why."""


@dataclass(slots=True)
class StepContext:
    """What a step needs: the target, how to run commands, where to journal, where output goes."""

    root: RootFS
    runner: Runner
    journal: Journal
    index: int
    title: str
    output: Callable[[str], None]
    records: list[Record] = field(default_factory=list)  # the journal, when undoing

    def intent(self, step_id: str, kind: str, **data: object) -> None:
        record = {"type": "intent", "index": self.index, "step_id": step_id, "kind": kind}
        self.journal.append({**record, "title": self.title, **data})

    def result(self, **data: object) -> None:
        self.journal.append({"type": "result", "index": self.index, **data})

    def run(self, argv: list[str], env: dict[str, str] | None = None, network: bool = False) -> int:
        """Run argv on the target; `network` only for apt's downloads (see engine.runner)."""
        self.output("$ " + " ".join(argv))
        return self.runner.run(argv, self.output, env, network)


def remove_dirs(root: RootFS, dirs: list[str]) -> None:
    """Directories the step created, innermost first, if they are empty again."""
    for rel in reversed(dirs):
        path = root.path(rel)
        if os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path):
            atomic.rmdir_at(path, root)
