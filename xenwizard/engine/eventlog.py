"""ROOT/var/log/xenwizard.log: every event of every run, one timestamped line each.

The log is for the operator reading it later; it must never stop an apply, so write errors
(a full disk, say) are swallowed after the first and the journal stays the authority.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from xenwizard.engine.events import Event, format_event
from xenwizard.engine.statedir import make_dirs, open_file, root_fd
from xenwizard.paths import LOG_FILE
from xenwizard.target.rootfs import RootFS


class EventLog:
    """Appends formatted events for one run; `path` is the host path shown to the operator."""

    def __init__(self, root: RootFS, run_id: str, total: int | None = None):
        self.root = root
        self.path: Path = root.real_root / LOG_FILE  # shown to the operator, never opened
        self.run_id = run_id
        self.total = total
        self.broken = False
        self._fd: int | None = None

    def _open(self) -> int:
        """ROOT/var/log made beneath the root with no link followed, the log opened in it by
        descriptor: a symlink, FIFO, device, hard link or someone else's file there is refused
        (the log is then not written; the journal stays the authority)."""
        if self._fd is None:
            head, _, name = LOG_FILE.rpartition("/")
            with root_fd(self.root) as top:
                directory = make_dirs(top, head, 0o755)
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
                self._fd = open_file(directory, name, flags, LOG_FILE)
            finally:
                os.close(directory)
        return self._fd

    def write(self, event: Event) -> None:
        if self.broken:
            return
        now = time.time()
        stamp = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        )
        text = format_event(event, self.total)
        data = "".join(f"{stamp} {self.run_id} {line}\n" for line in text.splitlines())
        try:
            os.write(self._open(), data.encode("utf-8", "replace"))
        except OSError:
            self.broken = True

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
