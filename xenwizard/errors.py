"""Turn every error an operator can cause into one clear line on stderr, never a traceback.

`XenwizardError` is the base every such error subclasses, in whichever layer raises it (a bad
answer, an unreadable root, a plan that cannot be made), so this module imports none of them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from xenwizard.textsafe import escape_control

EXIT_ERROR = 1


class XenwizardError(Exception):
    """An error the operator can cause or fix; its message is meant for them as it stands."""

    def lines(self) -> list[str]:
        """The one-line messages to print (one, unless a subclass has several problems)."""
        return [str(self)]


class OperatorError(XenwizardError, RuntimeError):
    """A failure with a message meant for the operator as it stands (one line)."""


@dataclass(slots=True)
class Outcome:
    code: int = 0


def error_lines(exc: BaseException) -> list[str]:
    """The one-line messages for an exception; several for a config with several problems."""
    if isinstance(exc, XenwizardError):
        return exc.lines()
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return [f"{exc.strerror or exc}{where}"]
    return [f"internal error: {type(exc).__name__}: {exc} (set XENWIZARD_DEBUG=1 for details)"]


@contextmanager
def report_errors() -> Iterator[Outcome]:
    """Run a command; on error print its lines as `xenwizard: error: ...` and set exit 1."""
    outcome = Outcome()
    try:
        yield outcome
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if os.environ.get("XENWIZARD_DEBUG"):
            import traceback

            traceback.print_exc()
        for line in error_lines(exc):
            print(f"xenwizard: error: {escape_control(line)}", file=sys.stderr)
        outcome.code = EXIT_ERROR
