"""One apply or rollback at a time per root: an flock on ROOT/var/lib/xenwizard/lock.

The kernel drops an flock when its holder dies, so a lock left by a killed process never blocks
the next run; the file keeps the holder's pid and command only to name it in the refusal.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class LockBusy(RuntimeError):
    """Another xenwizard apply/rollback holds the lock; the message names its pid."""


class RunLock:
    """Context manager holding the exclusive lock; `command` is "apply" or "rollback"."""

    def __init__(self, state_dir: Path, root_label: str, command: str = "apply"):
        self.path = state_dir / "lock"
        self.root_label = root_label
        self.command = command
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
            os.close(fd)
            pid = holder[0] if holder else "?"
            command = holder[1] if len(holder) > 1 else "apply"
            raise LockBusy(
                f"another xenwizard {command} (pid {pid}) is running on {self.root_label}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.command}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)  # no pid left behind for a later process to inherit
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def lock_holder(state_dir: Path) -> int | None:
    """Pid of a live process holding the lock, or None (checked without taking the lock)."""
    try:
        text = (state_dir / "lock").read_text()
    except OSError:
        return None
    try:
        pid = int(text.split()[0])
    except (IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
