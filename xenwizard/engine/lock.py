"""One apply or rollback at a time per root: an flock on ROOT/var/lib/xenwizard/lock.

The kernel drops an flock when its holder dies, so a lock left by a killed process never blocks
the next run; the file keeps the holder's pid and command only to name it in the refusal. The
lock is opened through the state directory's checked descriptor (statedir): a symlink, a FIFO,
a device or a hard link to a file elsewhere is refused before anything is truncated.
"""

from __future__ import annotations

import fcntl
import os
from types import TracebackType

from xenwizard.engine.statedir import open_file, open_state, read_file
from xenwizard.paths import STATE_DIR
from xenwizard.target.rootfs import RootFS

LOCK = "lock"
MAX_LOCK = 4096  # "PID COMMAND\n"


class LockBusy(RuntimeError):
    """Another xenwizard apply/rollback holds the lock; the message names its pid."""


class RunLock:
    """Context manager holding the exclusive lock; `command` is "apply" or "rollback"."""

    def __init__(self, fs: RootFS, command: str = "apply"):
        self.fs = fs
        self.root_label = str(fs.root)
        self.path = fs.real_root / STATE_DIR / LOCK  # shown only
        self.command = command
        self.fd: int | None = None

    def acquire(self) -> None:
        """StateError (nothing changed) if the state directory or the lock is not ours alone."""
        state = open_state(self.fs, create=True)
        assert state is not None  # made when missing
        try:
            fd = open_file(
                state, LOCK, os.O_RDWR | os.O_CREAT, f"{self.root_label}/{STATE_DIR}/lock"
            )
        finally:
            os.close(state)
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
        os.fchmod(fd, 0o600)
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


def lock_holder(fs: RootFS) -> int | None:
    """Pid of a live process holding the lock, or None (checked without taking the lock; a
    lock file that is not xenwizard's own is no holder)."""
    try:
        state = open_state(fs, create=False)
        if state is None:
            return None
        try:
            data = read_file(state, LOCK, MAX_LOCK, f"{STATE_DIR}/lock")
        finally:
            os.close(state)
    except OSError:  # StateError included: not xenwizard's lock
        return None
    try:
        pid = int((data or b"").split()[0])
    except (IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
