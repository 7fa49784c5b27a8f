"""`xenwizard boot-guard expire`: what the boot guard's service runs at its deadline.

No pending guard (none installed, or `xenwizard confirm` ran): exit 0, nothing changes.
Otherwise verify runs, the guard's run is rolled back with the reason (history and the log say
that the boot guard did it, and why), and the running system reboots into the previous entry.
Exit codes as `xenwizard rollback`'s.
"""

from __future__ import annotations

import argparse

from xenwizard.commands.runs import EXIT_OK, EXIT_ROLLBACK_FAILED, EventPrinter
from xenwizard.engine.executor import EngineError
from xenwizard.engine.hangup import SafeWriter, shielded
from xenwizard.engine.runner import CommandRunner
from xenwizard.errors import OperatorError
from xenwizard.target.rootfs import RootFS
from xenwizard.verify import bootguard


def run(args: argparse.Namespace) -> int:
    fs = RootFS(args.root)
    with shielded(lambda: True):  # a rollback is never cut short
        try:
            result = bootguard.expire(fs, CommandRunner(fs.root), EventPrinter())
        except EngineError as exc:
            raise OperatorError(str(exc)) from None
    if result is None:
        SafeWriter().write_line(
            "xenwizard: no pending boot guard (confirmed, or none); nothing done"
        )
        return EXIT_OK
    return EXIT_OK if result.outcome == "rolled-back" else EXIT_ROLLBACK_FAILED
