"""`xenwizard --demo`: the whole wizard on a throwaway copy of a sample system in the package.

The copy lives in a temporary directory whose path the screens show, so the operator can look
at what an apply wrote from another terminal; it is removed at exit, whatever the exit (a
closed terminal ends the UI through the app's SIGHUP handling, so this block's `finally` runs).
Nothing runs on this machine: the package step is shown as "simulated" and played on the copy
by `demoapt` (packages marked installed, the files later steps need laid down), so every other
step is written on the copy as on a real system; any other command only prints.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xenwizard.answers.model import WizardConfig
from xenwizard.engine.journal import unfinished_runs
from xenwizard.paths import DEMO_SAMPLES
from xenwizard.planning.profiles.bootsteps import xen_title
from xenwizard.target.probe import probe
from xenwizard.target.rootfs import RootFS
from xenwizard.tui.demoapt import SimulatedRunner
from xenwizard.tui.screens.state import WizardContext

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
DEFAULT_SAMPLE = DEMO_SAMPLES[0]  # today's recipe


def _hung_up(signum: int, frame: object) -> None:
    """A hang-up or SIGTERM before the app has taken them over: leave through the `finally`
    (exit code 2, the wizard's "quit before an apply")."""
    raise SystemExit(2)


@contextmanager
def demo_root(sample: str = DEFAULT_SAMPLE) -> Iterator[Path]:
    """A writable copy of a sample system, deleted (whatever happens) when the block ends."""
    previous = signal.signal(signal.SIGHUP, _hung_up)
    previous_term = signal.signal(signal.SIGTERM, _hung_up)
    tmp = Path(tempfile.mkdtemp(prefix="xenwizard-demo-"))
    try:
        root = tmp / "root"
        shutil.copytree(SAMPLES_DIR / sample, root, symlinks=True)
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        signal.signal(signal.SIGHUP, previous)
        signal.signal(signal.SIGTERM, previous_term)


def demo_context(
    root: Path,
    config: WizardConfig | None = None,
    profile: str | None = None,
    *,
    label: str | None = None,
) -> WizardContext:
    """The wizard's context for a demo root: probed offline, packages simulated. It may
    apply as any user, since it only ever writes the copy (which that user owns)."""
    fs = RootFS(root)
    facts = probe(fs, live=False)
    return WizardContext(
        fs=fs,
        facts=facts,
        runner=SimulatedRunner(fs, xen_title(fs, facts)),
        config=config or WizardConfig(),
        profile_name=profile,
        simulate_packages=True,
        root_label=label,
        unfinished=tuple(unfinished_runs(fs)),
        demo=True,
    )
