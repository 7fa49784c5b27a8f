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
from xenwizard.paths import LOG_FILE
from xenwizard.target.rootfs import RootFS


class EventLog:
    """Appends formatted events for one run; `path` is the host path shown to the operator."""

    def __init__(self, root: RootFS, run_id: str, total: int | None = None):
        self.path: Path = root.path(LOG_FILE)
        self.run_id = run_id
        self.total = total
        self.broken = False
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
            self._fd = os.open(self.path, flags, 0o640)
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
