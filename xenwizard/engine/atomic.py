"""Crash-safe file replacement: a reader (or a reboot) sees the old file or the new one, never half.

The new bytes go to a temp file in the same directory, are fsynced, take the old file's mode,
owner and group (or the mode asked for when the file is new), and are renamed over the target;
then the directory is fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xenwizard.target.rootfs import RootFS

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


def _dir_fd(path: Path, root: RootFS | None) -> int:
    """The descriptor of `path`'s directory: opened beneath the root (no link followed) when
    a root is given, else by name (xenwizard's own files outside any root)."""
    if root is not None:
        return root.open_dir(path.parent)
    return os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def write_atomic(
    path: Path,
    data: bytes,
    *,
    mode: int,
    uid: int | None = None,
    gid: int | None = None,
    mtime_ns: int | None = None,
    root: RootFS | None = None,
) -> None:
    """Replace (or create) `path` with `data`; `mode`/`uid`/`gid` are applied before the rename.

    `path` must be the real location (no symlink in its last component): rename replaces a
    symlink instead of following it. With `root`, the temp file, the rename and the fsync all
    go through one descriptor of the directory opened beneath the root, so a directory swapped
    for a link meanwhile cannot move the write outside it.
    """
    tmp = tmp_path(path).name
    dir_fd = _dir_fd(path, root)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)  # a leftover from a killed run
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
        try:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                if uid is not None or gid is not None:
                    os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
                os.fchmod(fd, mode)  # after chown, which may clear setuid/setgid bits
                if mtime_ns is not None:
                    os.utime(fd, ns=(mtime_ns, mtime_ns))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def unlink_at(path: Path, root: RootFS | None = None) -> None:
    """Remove the file or link `path` through its directory's descriptor (see write_atomic)."""
    dir_fd = _dir_fd(path, root)
    try:
        os.unlink(path.name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def symlink_at(target: str, path: Path, root: RootFS | None = None) -> None:
    """Make the link `path` -> `target` through its directory's descriptor."""
    dir_fd = _dir_fd(path, root)
    try:
        os.symlink(target, path.name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def rmdir_at(path: Path, root: RootFS | None = None) -> None:
    """Remove the directory `path` if it is empty (OSError otherwise), through its parent's fd."""
    dir_fd = _dir_fd(path, root)
    try:
        os.rmdir(path.name, dir_fd=dir_fd)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def missing_dirs(path: Path, stop: Path) -> list[Path]:
    """Directories of `path` that do not exist yet (below `stop`), outermost first."""
    missing: list[Path] = []
    current = path
    while current != stop and not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    return list(reversed(missing))


def make_dirs(dirs: list[Path], mode: int = 0o755, root: RootFS | None = None) -> None:
    """Create `dirs` (outermost first, as `missing_dirs` lists them) with exactly `mode`; with
    `root`, each one inside its parent's descriptor opened beneath the root."""
    for directory in dirs:
        if root is None:
            if os.path.isdir(directory):
                continue
            os.mkdir(directory, mode)
            os.chmod(directory, mode)  # umask may have trimmed it
            fsync_dir(directory.parent)
            continue
        parent_fd = _dir_fd(directory, root)
        try:
            try:
                os.mkdir(directory.name, mode, dir_fd=parent_fd)
            except FileExistsError:
                child = os.open(
                    directory.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd
                )  # a directory (not a link) is there already: fine
                os.close(child)
                continue
            child = os.open(
                directory.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd
            )
            try:
                os.fchmod(child, mode)  # umask may have trimmed it
            finally:
                os.close(child)
            os.fsync(parent_fd)
        finally:
            os.close(parent_fd)
