"""Run the real `xenwizard` wizard (the TUI) with the pause point of `tests.kits.enginekit_driver`.

    python -m tests.kits.wizard_driver --root DIR

Environment, besides enginekit_driver's XW_PAUSE / XW_READY / XW_GO / XW_FAIL_AFTER:
XW_EXIT=FILE gets the exit code when the process ends (the terminal may be long gone by then);
XW_SKIP_PACKAGES=1 makes the package step skip, as `xenwizard apply --skip-packages` does (a
fixture root has no apt to chroot into); XW_STACKS=FILE makes SIGUSR1 dump every thread's stack
there. Everything else is the unmodified path of `xenwizard` without a subcommand: argument
parsing, the app, its SIGHUP handling, `run_app`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.kits.enginekit_driver import install_hooks
from xenwizard.cli import main


def skip_packages() -> None:
    from xenwizard.tui import launch

    real = launch.context_from_args

    def context_from_args(args):  # type: ignore[no-untyped-def]
        ctx = real(args)
        ctx.skip_packages = True  # the engine runs with skip_packages=True
        return ctx

    launch.context_from_args = context_from_args  # type: ignore[assignment]


def dump_stacks_on_sigusr1(path: str) -> None:
    """For a hanging test: `kill -USR1 PID` writes every thread's stack to `path`."""
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, file=open(path, "w"), all_threads=True)  # noqa: SIM115


if __name__ == "__main__":
    if os.environ.get("XW_STACKS"):
        dump_stacks_on_sigusr1(os.environ["XW_STACKS"])
    install_hooks()
    if os.environ.get("XW_SKIP_PACKAGES"):
        skip_packages()
    code = 1
    try:
        code = main(sys.argv[1:])
    finally:
        exit_file = os.environ.get("XW_EXIT")
        if exit_file:
            Path(exit_file).write_text(f"{code}\n")
    sys.exit(code)
