"""Turn every error an operator can cause into one clear line on stderr, never a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from xenwizard.answers.config import ConfigError
from xenwizard.answers.file import AnswersError
from xenwizard.planning.profiles.base import PlanError
from xenwizard.target.rootfs import RootError
from xenwizard.textsafe import escape_control

EXIT_ERROR = 1


class OperatorError(RuntimeError):
    """A failure with a message meant for the operator as it stands (one line)."""


@dataclass(slots=True)
class Outcome:
    code: int = 0


def error_lines(exc: BaseException) -> list[str]:
    """The one-line messages for an exception; several for a config with several problems."""
    if isinstance(exc, ConfigError):
        return [f"invalid answer {problem}" for problem in exc.problems]
    if isinstance(exc, (AnswersError, PlanError, RootError, OperatorError)):
        return [str(exc)]
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
