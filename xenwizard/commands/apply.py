"""`xenwizard apply`: make the planned changes, journaled, rolled back on any failure."""

from __future__ import annotations

import argparse
import shlex
import sys

from xenwizard.commands.common import plan_from_args
from xenwizard.commands.runs import EXIT_ERROR, OUTCOME_CODES, EventPrinter, warn_unfinished
from xenwizard.engine.executor import Engine, EngineError, packages_refusal, sandbox_refusal
from xenwizard.engine.hangup import SafeWriter, shielded
from xenwizard.engine.runner import CommandRunner
from xenwizard.engine.skipping import skipped_steps
from xenwizard.errors import OperatorError
from xenwizard.planning.render import plan_text
from xenwizard.target.rootfs import RootFS
from xenwizard.verify import bootguard


def confirm(plan_rendering: str) -> bool:
    """Show the plan and ask; only on a terminal, because a piped 'y' is no informed consent."""
    if not sys.stdin.isatty():
        raise OperatorError(
            "stdin is not a terminal to confirm on; review `xenwizard plan` and rerun with --yes"
        )
    sys.stdout.write(plan_rendering)
    try:
        answer = input("Apply these changes? [y/N] ")
    except EOFError:
        return False
    except KeyboardInterrupt:
        sys.stdout.write("\n")  # the terminal echoed ^C on the prompt's line: end it first
        sys.stdout.flush()
        raise
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    warn_unfinished(RootFS(args.root))
    inputs, plan = plan_from_args(args)
    refusal = packages_refusal(plan, inputs.fs, args.skip_packages) or sandbox_refusal(
        plan, inputs.fs, args.skip_packages
    )
    if refusal:
        raise OperatorError(refusal)
    skipped = skipped_steps(plan, inputs.fs, args.skip_packages) if args.skip_packages else None
    if not args.yes and not confirm(plan_text(plan, skipped=skipped)):
        SafeWriter(sys.stderr).write_line("xenwizard: apply cancelled; nothing changed")
        return EXIT_ERROR
    engine = Engine(
        plan,
        inputs.fs,
        CommandRunner(inputs.fs.root),
        EventPrinter(),
        skip_packages=args.skip_packages,
    )
    with shielded(lambda: engine.phase not in ("idle", "apply")):
        try:
            result = engine.apply()
        except EngineError as exc:
            raise OperatorError(str(exc)) from None
    guard = bootguard.pending(inputs.fs) if result.outcome == "applied" else None
    if guard is not None and guard.run_id == result.run_id:
        root = "" if inputs.fs.is_live else f" --root {shlex.quote(str(args.root))}"
        for line in bootguard.reboot_advice(guard.minutes, root):
            SafeWriter().write_line(line)
    return OUTCOME_CODES[result.outcome]
