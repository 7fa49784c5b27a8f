"""Command-line entry point: subcommands for headless use, no subcommand starts the wizard.

Subcommand modules are imported lazily so `xenwizard plan` never loads textual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xenwizard import __version__


def add_root_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default="/", metavar="DIR", help="target system root (default /)")


def add_answer_options(parser: argparse.ArgumentParser) -> None:
    """The answers every planning command takes; flags override the answers file."""
    add_root_options(parser)
    parser.add_argument("--profile", metavar="NAME", help="release profile (default: detected)")
    parser.add_argument("--answers", metavar="FILE", help="TOML answers file (same keys as flags)")
    parser.add_argument("--bridge", metavar="BR", help="bridge name (default br0)")
    parser.add_argument("--address", metavar="A.B.C.D/P", help="host address on the guest subnet")
    parser.add_argument("--dhcp-range", metavar="START-END", help="DHCP range for guests")
    parser.add_argument("--lease", metavar="TIME", help="DHCP lease time (e.g. 12h, 30m, infinite)")
    xen_only = parser.add_mutually_exclusive_group()
    xen_only.add_argument(
        "--dhcp-xen-only",
        dest="dhcp_xen_only",
        action="store_const",
        const=True,
        help="answer DHCP only for Xen MACs 00:16:3e:* (default)",
    )
    xen_only.add_argument(
        "--no-dhcp-xen-only",
        dest="dhcp_xen_only",
        action="store_const",
        const=False,
        help="answer DHCP for any MAC on the bridge",
    )
    parser.add_argument(
        "--nic", metavar="IFACE", help="NIC the bridge takes over (default: detected)"
    )
    udp = parser.add_mutually_exclusive_group()
    udp.add_argument(
        "--udp-checksum-workaround",
        dest="udp_checksum_workaround",
        action="store_const",
        const=True,
        help="turn tx checksum offload off on guests' vifs (default: on only for ubuntu-precise)",
    )
    udp.add_argument(
        "--no-udp-checksum-workaround",
        dest="udp_checksum_workaround",
        action="store_const",
        const=False,
        help="leave guests' vifs as they are",
    )


@dataclass(frozen=True)
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


def _configure_apply(parser: argparse.ArgumentParser) -> None:
    add_answer_options(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    parser.add_argument(
        "--skip-packages", action="store_true", help="do not install packages (files only)"
    )


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        formatter_class=_Formatter,
        prog="xenwizard",
        description="Turn a Debian-family server into a Xen host with bridged guest networking "
        "and dnsmasq DHCP. Without a subcommand, start the interactive wizard.",
    )
    parser.add_argument("--version", action="version", version=f"xenwizard {__version__}")
    add_root_options(parser)
    parser.add_argument("--profile", metavar="NAME", help="release profile (default: detected)")
    parser.add_argument("--answers", metavar="FILE", help="TOML answers file to prefill the wizard")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run the whole wizard on a throwaway copy of a sample system (safe to try)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
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

    args = build_parser().parse_args(argv)
    module = COMMANDS[args.command].module if args.command else "xenwizard.commands.wizard"
    with report_errors() as outcome:
        outcome.code = import_module(module).run(args)
    return outcome.code


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("xenwizard: interrupted", file=sys.stderr)
        return 130
