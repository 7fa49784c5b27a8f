"""Keep an apply going when the terminal goes away (SSH drop, closed window, dead pipe).

A hang-up must not leave a half-configured server: during an apply SIGHUP is ignored, output
errors (EPIPE, EIO) silence the output instead of raising, and Ctrl-C or SIGTERM become an
orderly rollback; once the rollback runs, they are ignored too, so it always finishes. Signal
handlers can only be set from the main thread; elsewhere `shielded` changes nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO


class SafeWriter:
    """Writes lines to a stream; the first OSError points fds 1 and 2 at /dev/null for good,
    so neither later prints nor the interpreter's final flush can fail."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self.dead = False

    def write_line(self, text: str) -> None:
        if self.dead:
            return
        stream = self.stream or sys.stdout
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):
            self.dead = True
            silence_terminal()


def silence_terminal() -> None:
    """Point stdout and stderr at /dev/null (the terminal or pipe behind them is gone)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for fd in (1, 2):
        with suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


@contextmanager
def shielded(in_rollback: Callable[[], bool]) -> Iterator[None]:
    """Ignore SIGHUP; turn SIGINT/SIGTERM into KeyboardInterrupt unless `in_rollback()`
    (true while undoing or recording the outcome: those must run to the end)."""
    import signal  # here, not at the top: `xenwizard plan` writes through SafeWriter only
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if in_rollback():
            return  # a rollback is never cut short; it is the way back to a sane system
        raise KeyboardInterrupt

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
