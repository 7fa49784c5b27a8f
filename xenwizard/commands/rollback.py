"""`xenwizard rollback [RUN_ID]`: undo a run from its journal (the latest one by default)."""

from __future__ import annotations

import argparse

from xenwizard.commands.runs import EXIT_OK, EXIT_ROLLBACK_FAILED, EventPrinter, warn_unfinished
from xenwizard.engine.executor import Engine, EngineError
from xenwizard.engine.hangup import shielded
from xenwizard.engine.journal import list_runs
from xenwizard.engine.runner import CommandRunner
from xenwizard.errors import OperatorError
from xenwizard.target.rootfs import RootFS


def latest_rollbackable(fs: RootFS) -> str | None:
    candidates = [info.run_id for info in list_runs(fs) if info.rollbackable]
    return candidates[-1] if candidates else None


def run(args: argparse.Namespace) -> int:
    fs = RootFS(args.root)
    run_id = args.run_id or latest_rollbackable(fs)
    warn_unfinished(fs, skip=run_id)
    if run_id is None:
        raise OperatorError("no run to roll back; see `xenwizard history`")
    engine = Engine(None, fs, CommandRunner(fs.root), EventPrinter())
    with shielded(lambda: True):  # a rollback is never cut short
        try:
            result = engine.rollback(run_id)
        except EngineError as exc:
            raise OperatorError(str(exc)) from None
    return EXIT_OK if result.outcome == "rolled-back" else EXIT_ROLLBACK_FAILED
