"""`xenwizard plan`: print every change as a diff, like `ansible --check --diff`."""

from __future__ import annotations

import argparse
import sys

from xenwizard.commands.common import plan_from_args
from xenwizard.engine.skipping import skipped_steps
from xenwizard.paths import RUNS_DIR
from xenwizard.planning.render import plan_data, plan_text
from xenwizard.target.rootfs import RootFS

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 2


def warn_if_unfinished(fs: RootFS) -> None:
    """Warn about killed runs; the journal code is loaded only when there are runs at all."""
    if fs.is_dir(RUNS_DIR):
        from xenwizard.commands.runs import warn_unfinished

        warn_unfinished(fs)


def run(args: argparse.Namespace) -> int:
    inputs, plan = plan_from_args(args)
    warn_if_unfinished(inputs.fs)
    skipped = skipped_steps(plan, inputs.fs, True) if args.skip_packages else None
    if args.json:
        import json

        sys.stdout.write(json.dumps(plan_data(plan, skipped), indent=2) + "\n")
    else:
        text = plan_text(plan, skipped=skipped)
        if sys.stdout.isatty():  # the root's own lines: shown, never obeyed, by a terminal
            from xenwizard.textsafe import terminal_text

            text = terminal_text(text)
        sys.stdout.write(text)
    changes = any(s.changed for i, s in enumerate(plan.steps) if i not in (skipped or {}))
    if args.detailed_exitcode and changes:
        return EXIT_CHANGES
    return EXIT_NO_CHANGES
