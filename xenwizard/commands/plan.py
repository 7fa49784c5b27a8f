"""`xenwizard plan`: print every change as a diff, like `ansible --check --diff`."""

from __future__ import annotations

import argparse
import sys

from xenwizard.commands.common import plan_from_args
from xenwizard.render import plan_data, plan_text

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 2


def run(args: argparse.Namespace) -> int:
    _, plan = plan_from_args(args)
    if args.json:
        import json

        sys.stdout.write(json.dumps(plan_data(plan), indent=2) + "\n")
    else:
        sys.stdout.write(plan_text(plan))
    if args.detailed_exitcode and plan.changed:
        return EXIT_CHANGES
    return EXIT_NO_CHANGES
