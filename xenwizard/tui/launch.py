"""`xenwizard` without a subcommand: the interactive wizard (or `--demo` on a sample system).

Exit codes: 0 the wizard reached its last page (applied, or nothing to do); 1 an error (one line
on stderr, or the error page); 2 the operator quit before an apply completed. When the terminal
goes away (SIGHUP), or the wizard gets SIGTERM or SIGINT, its UI ends (the terminal restored,
the demo's copy removed): 2 before an apply, 0 after one; during an apply the apply runs to its
end first and the code is its outcome's: 0 applied, 2 rolled back, 1 the rollback failed too.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING

from xenwizard.commands.common import answered_keys, config_from_args, with_own_run
from xenwizard.engine.runner import CommandRunner
from xenwizard.paths import RUNS_DIR
from xenwizard.target.probe import SystemFacts, probe, with_live_facts, with_packages
from xenwizard.target.rootfs import RootFS

if TYPE_CHECKING:
    from xenwizard.answers.model import WizardConfig
    from xenwizard.tui.screens.state import WizardContext


def run(args: argparse.Namespace) -> int:
    if getattr(args, "demo", None):
        from xenwizard.tui.demo import demo_context, demo_root

        config, profile = _answers(args)
        with demo_root(args.demo) as root:
            return run_app(checked(demo_context(root, config, profile)))
    return run_app(checked(context_from_args(args)))


def checked(ctx: WizardContext) -> WizardContext:
    """The context, once the answers' dom0 memory fits the target's RAM: plan and apply refuse
    more with one line, and so does the wizard before its first page (the other answers are
    judged against the target by the pages, once the live facts are in)."""
    from xenwizard.answers.clashes import Target, target_problems
    from xenwizard.answers.model import ConfigError
    from xenwizard.planning.dom0size import machine_mib

    problems = target_problems(ctx.config, Target(mem_total_mib=machine_mib(ctx.facts)))
    if problems:
        raise ConfigError(problems)
    return ctx


def _answers(args: argparse.Namespace) -> tuple[WizardConfig, str | None]:
    return config_from_args(args)  # a bad answers file stops here with one line per problem


def context_from_args(args: argparse.Namespace) -> WizardContext:
    """The wizard's context for `--root/--profile/--answers` (fields prefilled from them)."""
    from xenwizard.tui.screens.state import WizardContext

    config, profile = _answers(args)
    fs = RootFS(args.root)
    # Only small files are read before the first page; on the live root the installed packages
    # (dpkg status), the interfaces and the default route (psutil, netifaces) are detected
    # while the welcome page is already up.
    return WizardContext(
        fs=fs,
        facts=with_own_run(probe(fs, live=False, packages=not fs.is_live), fs),
        runner=CommandRunner(args.root),
        config=config,
        profile_name=profile,
        unfinished=unfinished(fs),
        live_probe=partial(complete_facts, fs=fs) if fs.is_live else None,
        skip_packages=getattr(args, "skip_packages", False),
        answered=answered_keys(args),
    )


def complete_facts(facts: SystemFacts, fs: RootFS) -> SystemFacts:
    """The live root's deferred facts: its packages, then what only the kernel knows."""
    return with_live_facts(with_packages(facts, fs))


def unfinished(fs: RootFS) -> tuple[str, ...]:
    """Killed runs to offer for rollback; the journal code loads only when runs exist at all."""
    if not fs.is_dir(RUNS_DIR):
        return ()
    from xenwizard.engine.journal import unfinished_runs

    return tuple(unfinished_runs(fs))


def run_app(ctx: WizardContext) -> int:
    from xenwizard.tui.app import XenWizardApp
    from xenwizard.tui.quitting import EXIT_DONE, EXIT_ERROR, EXIT_QUIT

    app = XenWizardApp(ctx)
    try:
        result = app.run()
    finally:
        # The terminal may have gone away mid-apply: the UI has ended (even with an error),
        # the apply still finishes (or rolls back) in its thread, and the process waits.
        app.apply_idle.wait()
    if app.terminal_lost and app.apply_outcome is not None:
        return {
            "applied": EXIT_DONE,
            "nothing-to-do": EXIT_DONE,
            "rolled-back": EXIT_QUIT,
        }.get(app.apply_outcome, EXIT_ERROR)
    if isinstance(result, int):
        return result
    return app.return_code or EXIT_QUIT
