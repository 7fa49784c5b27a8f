"""Command-line entry point: subcommands for headless use, no subcommand starts the wizard.

Subcommand modules are imported lazily so `xenwizard plan` never loads textual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xenwizard import __version__

if TYPE_CHECKING:
    from typing import NoReturn

    from xenwizard.answers.fields import AnswerField

EXIT_USAGE = 1  # argparse's own 2 is taken: `apply` exits 2 when it rolled back


class Parser(argparse.ArgumentParser):
    """argparse with usage errors exiting 1 (subcommands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def add_root_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default="/", metavar="DIR", help="target system root (default /)")


def add_answer_options(parser: argparse.ArgumentParser) -> None:
    """The answers every planning command takes, one option per `config.ANSWER_FIELDS` entry
    (bools as --KEY / --no-KEY); flags override the answers file."""
    from xenwizard.answers.fields import ANSWER_FIELDS

    add_root_options(parser)
    parser.add_argument("--answers", metavar="FILE", help="TOML answers file (same keys as flags)")
    for spec in ANSWER_FIELDS:
        if spec.kind is bool:
            group = parser.add_mutually_exclusive_group()
            group.add_argument(
                spec.flag, dest=spec.dest, action="store_const", const=True, help=_help(spec)
            )
            group.add_argument(
                f"--no-{spec.key}",
                dest=spec.dest,
                action="store_const",
                const=False,
                help=spec.no_help,
            )
        else:
            parser.add_argument(spec.flag, dest=spec.dest, metavar=spec.metavar, help=_help(spec))


def _help(spec: AnswerField) -> str:
    """An answer's help as argparse takes it: a literal % (dom0-mem's rule) doubled."""
    return spec.help_text.replace("%", "%%")


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand: how to add its options, and where its `run(args) -> int` lives."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    module: str


def _configure_plan(parser: argparse.ArgumentParser) -> None:
    add_answer_options(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when nothing would change, 2 when changes are pending",
    )
    add_skip_packages(
        parser,
        "show what `apply --skip-packages` would do: the package step and the steps that "
        "need its files are marked skipped, with the apply's own note, and not counted as "
        "changes",
    )


def add_skip_packages(
    parser: argparse.ArgumentParser, help: str = "do not install packages (files only)"
) -> None:
    parser.add_argument("--skip-packages", action="store_true", help=help)


def _configure_apply(parser: argparse.ArgumentParser) -> None:
    add_answer_options(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    add_skip_packages(parser)


def _configure_rollback(parser: argparse.ArgumentParser) -> None:
    add_root_options(parser)
    parser.add_argument(
        "run_id",
        nargs="?",
        metavar="RUN_ID",
        help="run to undo (default: the latest run that changed something and is not undone)",
    )


def _configure_history(parser: argparse.ArgumentParser) -> None:
    add_root_options(parser)
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")


def _configure_verify(parser: argparse.ArgumentParser) -> None:
    add_root_options(parser)
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument(
        "--assume-live",
        action="store_true",
        help="with --root DIR: run the live checks (bridge, addresses, dnsmasq) against this "
        "machine anyway, as if DIR were its root",
    )
    parser.add_argument(
        "--guest",
        action="store_true",
        help="then start a canary Xen guest on the bridge: it passes when the guest gets a "
        "lease in the DHCP range from this host's dnsmasq (about a minute; cleaned up after)",
    )
    parser.add_argument(
        "--guest-timeout",
        type=_guest_timeout,
        default=None,
        metavar="SEC",
        help="seconds the canary guest has to get its lease (default 120)",
    )


MAX_GUEST_TIMEOUT = 1800


def _guest_timeout(value: str) -> float:
    """--guest-timeout SEC: a number of seconds, 10 to 1800."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of seconds (e.g. 120)"
        ) from None
    if not 10 <= seconds <= MAX_GUEST_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"{value} s is out of range; expected 10 to {MAX_GUEST_TIMEOUT} seconds"
        )
    return seconds


def _configure_confirm(parser: argparse.ArgumentParser) -> None:
    add_root_options(parser)
    parser.add_argument(
        "--anyway",
        action="store_true",
        help="confirm even when verify fails (keep this boot as it is)",
    )


def _configure_boot_guard(parser: argparse.ArgumentParser) -> None:
    add_root_options(parser)
    parser.add_argument(
        "action",
        choices=["expire"],
        help="expire: roll the guarded run back and reboot, unless it was confirmed (what the "
        "guard's timer runs)",
    )


COMMANDS: dict[str, Command] = {
    "plan": Command(
        "show every change as a diff; touches nothing", _configure_plan, "xenwizard.commands.plan"
    ),
    "apply": Command(
        "make the planned changes (journaled; rolled back on failure)",
        _configure_apply,
        "xenwizard.commands.apply",
    ),
    "rollback": Command(
        "undo a run (default: the latest one that changed something)",
        _configure_rollback,
        "xenwizard.commands.rollback",
    ),
    "history": Command(
        "list runs: id, time, outcome, files touched",
        _configure_history,
        "xenwizard.commands.history",
    ),
    "verify": Command(
        "check the live host is as the last apply set it up (exit 1 if not)",
        _configure_verify,
        "xenwizard.commands.verify",
    ),
    "confirm": Command(
        "keep Xen after the guarded first boot: verify, make Xen GRUB's default, remove the guard",
        _configure_confirm,
        "xenwizard.commands.confirm",
    ),
    "boot-guard": Command(
        "the boot guard's own actions (run by its systemd timer)",
        _configure_boot_guard,
        "xenwizard.commands.bootguard",
    ),
}


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, the width found without `import shutil` (which brings bz2
    and lzma along): every parser makes formatters at start-up, even when no help is shown."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)


def _columns() -> int:
    """What shutil.get_terminal_size().columns gives: $COLUMNS, the terminal's, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        out = sys.__stdout__
        try:
            columns = os.get_terminal_size(out.fileno()).columns if out else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(named: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `named` (the command line's words), only the subcommands named
    there, if any, since each takes about a millisecond to build and a run uses one (with none
    named, all are built: the wizard's --help and a mistyped command list them)."""
    parser = Parser(
        formatter_class=_Formatter,
        prog="xenwizard",
        description="Turn a Debian-family server into a Xen host with bridged guest networking "
        "and dnsmasq DHCP. Without a subcommand, start the interactive wizard.",
    )
    parser.add_argument("--version", action="version", version=f"xenwizard {__version__}")
    add_root_options(parser)
    from xenwizard.answers.fields import ANSWERS

    profile = ANSWERS["profile"]
    parser.add_argument(profile.flag, metavar=profile.metavar, help=profile.help_text)
    parser.add_argument("--answers", metavar="FILE", help="TOML answers file to prefill the wizard")
    from xenwizard.paths import DEMO_SAMPLES

    parser.add_argument(
        "--demo",
        nargs="?",
        const=DEMO_SAMPLES[0],
        choices=DEMO_SAMPLES,
        metavar="SAMPLE",
        help="run the whole wizard on a throwaway copy of a sample system (safe to try): "
        "debian-12 (the default) or ubuntu-12.04",
    )
    add_skip_packages(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = [name for name in COMMANDS if named is None or name in named] or list(COMMANDS)
    for name in chosen:
        command = COMMANDS[name]
        command.configure(
            sub.add_parser(
                name, help=command.help, description=command.help, formatter_class=_Formatter
            )
        )
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch; errors are returned as one line each on stderr, exit 1."""
    from importlib import import_module

    from xenwizard.errors import report_errors

    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(named=set(words)).parse_args(words)
    module = COMMANDS[args.command].module if args.command else "xenwizard.tui.launch"
    with report_errors() as outcome:
        outcome.code = import_module(module).run(args)
    return outcome.code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("xenwizard: interrupted", file=sys.stderr)
        return 130
