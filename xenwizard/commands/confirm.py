"""`xenwizard confirm`: keep Xen after the guarded first boot (verify must pass, or --anyway).

Prints verify's lines, then what it did: GRUB's saved default is the Xen entry, the boot
guard's timer, service and link are gone (systemd reloaded on the running system). Exit 0
also when no guard is pending (one line says so); 1 when verify fails and --anyway is not
given (nothing changed).
"""

from __future__ import annotations

import argparse
import sys

from xenwizard.commands.runs import EXIT_ERROR, EXIT_OK
from xenwizard.engine.hangup import SafeWriter
from xenwizard.engine.runner import CommandRunner
from xenwizard.errors import OperatorError
from xenwizard.target.rootfs import RootFS
from xenwizard.textsafe import escape_control
from xenwizard.verify import bootguard


def run(args: argparse.Namespace) -> int:
    fs = RootFS(args.root)
    out = SafeWriter()
    guard = bootguard.pending(fs)
    if guard is None:
        out.write_line("xenwizard: no pending boot guard; nothing to confirm")
        return EXIT_OK
    results = bootguard.verify(fs)
    for result in results:
        out.write_line(escape_control(result.line()))
    failed = bootguard.failures(results)
    if failed and not args.anyway:
        names = ", ".join(r.name for r in failed)
        SafeWriter(sys.stderr).write_line(
            f"xenwizard: error: verify failed ({names}); not confirmed: fix it, or run "
            "`xenwizard confirm --anyway` to keep this boot as it is"
        )
        return EXIT_ERROR
    try:
        done = bootguard.confirm(fs, CommandRunner(fs.root), out.write_line)
    except bootguard.GuardError as exc:
        raise OperatorError(str(exc)) from None
    for line in done:
        out.write_line(escape_control(line))
    return EXIT_OK
