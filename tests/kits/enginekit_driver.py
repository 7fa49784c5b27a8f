"""Run the real `xenwizard` CLI with a pause point, so tests can signal it at a known moment.

    python -m tests.kits.enginekit_driver apply --yes --skip-packages --root DIR

Environment: XW_PAUSE="TYPE:K" pauses right after the journal record TYPE (intent, result,
skipped) of step K is durable; the driver then creates XW_READY and waits for XW_GO to exist.
XW_FAIL_AFTER=K makes step K raise once it has done its work (so the apply rolls back).
Everything else is the unmodified CLI path: argument parsing, signal shielding, printing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from xenwizard.cli import main
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import Journal


def _pause() -> None:
    Path(os.environ["XW_READY"]).touch()
    go = Path(os.environ["XW_GO"])
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            os._exit(5)
        time.sleep(0.005)


def install_hooks() -> None:
    pause = os.environ.get("XW_PAUSE")
    if pause:
        kind, index = pause.split(":")
        real_append = Journal.append

        def append(self: Journal, record: dict) -> None:
            real_append(self, record)
            if record.get("type") == kind and record.get("index") == int(index):
                _pause()

        Journal.append = append  # type: ignore[method-assign]
    fail_after = os.environ.get("XW_FAIL_AFTER")
    if fail_after:
        real_do = Engine._do

        def do(self: Engine, ctx, step, journal):  # type: ignore[no-untyped-def]
            out = real_do(self, ctx, step, journal)
            if ctx.index == int(fail_after):
                raise RuntimeError("injected failure")
            return out

        Engine._do = do  # type: ignore[method-assign]


if __name__ == "__main__":
    install_hooks()
    sys.exit(main(sys.argv[1:]))
