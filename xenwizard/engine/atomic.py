"""Crash-safe file replacement: a reader (or a reboot) sees the old file or the new one, never half.

The new bytes go to a temp file in the same directory, are fsynced, take the old file's mode,
owner and group (or the mode asked for when the file is new), and are renamed over the target;
then the directory is fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TMP_SUFFIX = ".xenwizard-tmp"


def tmp_path(path: Path) -> Path:
    """The one temp name used for `path`, so a rollback after a kill can find a leftover."""
    return path.with_name(f".{path.name}{TMP_SUFFIX}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: Path,
    data: bytes,
    *,
    mode: int,
    uid: int | None = None,
    gid: int | None = None,
    mtime_ns: int | None = None,
) -> None:
    """Replace (or create) `path` with `data`; `mode`/`uid`/`gid` are applied before the rename.

    `path` must be the real location (no symlink in its last component): rename replaces a
    symlink instead of following it, which is what keeps writes inside the root.
    """
    tmp = tmp_path(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover from a killed run
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, mode)  # after chown, which may clear setuid/setgid bits
            os.fsync(fd)
        finally:
            os.close(fd)
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def missing_dirs(path: Path, stop: Path) -> list[Path]:
    """Directories of `path` that do not exist yet (below `stop`), outermost first."""
    missing: list[Path] = []
    current = path
    while current != stop and not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    return list(reversed(missing))


def make_dirs(dirs: list[Path], mode: int = 0o755) -> None:
    """Create `dirs` (outermost first, as `missing_dirs` lists them) with exactly `mode`."""
    for directory in dirs:
        if os.path.isdir(directory):
            continue
        os.mkdir(directory, mode)
        os.chmod(directory, mode)  # umask may have trimmed it
        fsync_dir(directory.parent)
