"""`xenwizard --demo`: the whole wizard on a throwaway copy of the sample system in the package.

The copy lives in a temporary directory that is removed at exit. Nothing runs on this machine:
the package step is skipped by the engine and shown as "simulated", and any other command a
plan might hold goes to a runner that only prints it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from xenwizard.config import WizardConfig
from xenwizard.engine.journal import unfinished_runs
from xenwizard.engine.runner import LineCallback
from xenwizard.probe import probe
from xenwizard.rootfs import RootFS
from xenwizard.tui.screens.state import WizardContext

SAMPLE_ROOT = Path(__file__).resolve().parents[1] / "sample_root"
DEMO_LABEL = "SAMPLE-ROOT"  # how screens name the throwaway copy (no temp paths)


class SimulatedRunner:
    """Prints what would run and reports success; the demo never executes anything."""

    def run(
        self, argv: Sequence[str], on_line: LineCallback, env: Mapping[str, str] | None = None
    ) -> int:
        on_line(f"(simulated, not run) {' '.join(argv)}")
        return 0


@contextmanager
def demo_root() -> Iterator[Path]:
    """A writable copy of the sample system, deleted (whatever happens) when the block ends."""
    tmp = Path(tempfile.mkdtemp(prefix="xenwizard-demo-"))
    try:
        root = tmp / "root"
        shutil.copytree(SAMPLE_ROOT, root, symlinks=True)
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def demo_context(
    root: Path,
    config: WizardConfig | None = None,
    profile: str | None = None,
    *,
    label: str = DEMO_LABEL,
) -> WizardContext:
    """The wizard's context for a demo root: probed offline, as root, packages simulated."""
    fs = RootFS(root)
    facts = replace(probe(fs, live=False), is_root=True)  # it only ever writes the copy
    return WizardContext(
        fs=fs,
        facts=facts,
        runner=SimulatedRunner(),
        config=config or WizardConfig(),
        profile_name=profile,
        simulate_packages=True,
        root_label=label,
        unfinished=tuple(unfinished_runs(fs)),
        demo=True,
    )
