"""`xenwizard --demo`: the whole wizard on a throwaway copy of a sample system in the package.

The copy lives in a temporary directory whose path the screens show, so the operator can look
at what an apply wrote from another terminal; it is removed at exit, whatever the exit (a
closed terminal ends the UI through the app's SIGHUP handling, so this block's `finally` runs).
Nothing runs on this machine: the package step is skipped by the engine and shown as
"simulated", and any other command a plan might hold goes to a runner that only prints it.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from xenwizard.answers.model import WizardConfig
from xenwizard.engine.journal import unfinished_runs
from xenwizard.engine.runner import LineCallback
from xenwizard.paths import DEMO_SAMPLES
from xenwizard.target.probe import probe
from xenwizard.target.rootfs import RootFS
from xenwizard.tui.screens.state import WizardContext

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
DEFAULT_SAMPLE = DEMO_SAMPLES[0]  # today's recipe


class SimulatedRunner:
    """Prints what would run and reports success; the demo never executes anything."""

    def run(
        self, argv: Sequence[str], on_line: LineCallback, env: Mapping[str, str] | None = None
    ) -> int:
        on_line(f"(simulated, not run) {' '.join(argv)}")
        return 0


def _hung_up(signum: int, frame: object) -> None:
    """A hang-up before the app has taken over SIGHUP: leave through the `finally`."""
    raise SystemExit(2)


@contextmanager
def demo_root(sample: str = DEFAULT_SAMPLE) -> Iterator[Path]:
    """A writable copy of a sample system, deleted (whatever happens) when the block ends."""
    previous = signal.signal(signal.SIGHUP, _hung_up)
    tmp = Path(tempfile.mkdtemp(prefix="xenwizard-demo-"))
    try:
        root = tmp / "root"
        shutil.copytree(SAMPLES_DIR / sample, root, symlinks=True)
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        signal.signal(signal.SIGHUP, previous)


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
    return WizardContext(
        fs=fs,
        facts=probe(fs, live=False),
        runner=SimulatedRunner(),
        config=config or WizardConfig(),
        profile_name=profile,
        simulate_packages=True,
        root_label=label,
        unfinished=tuple(unfinished_runs(fs)),
        demo=True,
    )
