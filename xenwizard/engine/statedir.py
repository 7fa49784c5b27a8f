"""xenwizard's own state (ROOT/var/lib/xenwizard) and its log, reached by descriptor only.

The state directory lives inside a root that someone else may control. Opening its files by
name after one check leaves a window: a directory swapped for a symlink (renameat2
RENAME_EXCHANGE) in between sends root's journal, backups or chmod out of the root. So every
directory here is opened beneath the root's own descriptor with no link followed
(`beneath.open_dir_beneath`), then used only through that descriptor (mkdirat, openat with
O_NOFOLLOW|O_NONBLOCK, fchmod); a directory is trusted only when it is owned by xenwizard's
user and writable by nobody else, a file only when it is regular, of that user, and has one
name (a hard link to a file elsewhere is refused, never truncated or appended to).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from xenwizard.paths import STATE_DIR
from xenwizard.target.beneath import DIR_FLAGS, open_dir_beneath
from xenwizard.target.rootfs import RootError, RootFS, file_kind

FILE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class StateError(RootError):
    """xenwizard's state directory, or a file in it, is not one it can trust (one line)."""


def _where(fs: RootFS, rel: str) -> str:
    return f"{fs.root.as_posix().rstrip('/')}/{rel}"


@contextmanager
def root_fd(fs: RootFS) -> Iterator[int]:
    fd = os.open(fs.real_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def check_dir(fd: int, where: str) -> None:
    """A directory of xenwizard's: owned by its user, writable by nobody else."""
    st = os.fstat(fd)
    if st.st_uid == 0 != os.geteuid():  # root's own state: the operator needs root, not a chown
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), where)
    if st.st_uid != os.geteuid():
        raise StateError(
            f"{where}: owned by uid {st.st_uid}, not {os.geteuid()}; xenwizard keeps its "
            f"journal only where nobody else can write (chown {os.geteuid()} it, chmod 0700, "
            "or remove it)"
        )
    if st.st_mode & 0o022:
        raise StateError(
            f"{where}: writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            "xenwizard keeps its journal only where nobody else can write (chmod 0700 it)"
        )


def make_dirs(parent_fd: int, rel: str, mode: int) -> int:
    """A descriptor of directory `rel` beneath `parent_fd`, each missing component made with
    mkdirat (mode `mode`), none a link (RootError if one is in the way)."""
    current = os.dup(parent_fd)
    try:
        for part in [p for p in rel.split("/") if p]:
            with suppress(FileExistsError):
                os.mkdir(part, mode, dir_fd=current)
            following = _open_dir(current, part, rel)
            os.close(current)
            current = following
    except BaseException:
        os.close(current)
        raise
    return current


def _open_dir(parent_fd: int, name: str, where: str) -> int:
    try:
        return os.open(name, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent_fd)
    except PermissionError:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), where) from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise StateError(
                f"{where}: a symlink or non-directory is in its way (changed while xenwizard "
                "works on it?); refusing to use it"
            ) from None
        raise


def open_subdir(parent_fd: int, name: str, where: str, *, create: bool) -> int | None:
    """Directory `name` in a trusted directory, itself checked (None when missing and not
    `create`); made 0700 when `create`."""
    if create:
        try:
            os.mkdir(name, 0o700, dir_fd=parent_fd)
        except FileExistsError:
            pass
        except PermissionError:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), where) from None
    try:
        fd = _open_dir(parent_fd, name, where)
    except FileNotFoundError:
        if create:
            raise
        return None
    try:
        check_dir(fd, where)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_state(fs: RootFS, *, create: bool) -> int | None:
    """ROOT/var/lib/xenwizard, opened beneath the root with no link followed and checked
    (StateError if not xenwizard's alone); made 0700 (and its parents 0755) when `create`,
    else None when it does not exist."""
    head, _, name = STATE_DIR.rpartition("/")
    with root_fd(fs) as top:
        try:
            parent = make_dirs(top, head, 0o755) if create else open_dir_beneath(top, head)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR):
                raise StateError(
                    f"{_where(fs, head)}: a symlink or non-directory is in its way; "
                    "refusing to use xenwizard's state directory through it"
                ) from None
            raise
    try:
        return open_subdir(parent, name, _where(fs, STATE_DIR), create=create)
    finally:
        os.close(parent)


def open_file(dir_fd: int, name: str, flags: int, where: str, *, ours: bool = True) -> int:
    """`name` in a trusted directory, opened with no link followed and without blocking; a
    FIFO, a device, a file of another user or one with a second name is refused (StateError)."""
    try:
        fd = os.open(name, flags | FILE_FLAGS, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateError(f"{where}: is a symlink; expected a regular file") from None
        if exc.errno in (errno.ENXIO, errno.EISDIR):
            raise StateError(f"{where}: not a regular file; refusing to use it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StateError(
                f"{where}: is {file_kind(st.st_mode)}, not a regular file; refusing to use it"
            )
        if ours and st.st_uid != os.geteuid():
            raise StateError(f"{where}: owned by uid {st.st_uid}, not xenwizard's; refusing it")
        if ours and st.st_nlink != 1:
            raise StateError(
                f"{where}: has {st.st_nlink} names (a hard link to another file?); refusing it"
            )
        if ours and st.st_mode & 0o022:
            raise StateError(f"{where}: writable by others; refusing to use it")
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_file(dir_fd: int, name: str, data: bytes, where: str) -> None:
    """Replace the contents of `name` (made 0600) in a trusted directory, fsynced."""
    fd = open_file(dir_fd, name, os.O_WRONLY | os.O_CREAT, where)
    try:
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(dir_fd: int, name: str, limit: int, where: str) -> bytes | None:
    """A file of xenwizard's (see `open_file`), at most `limit` bytes; None when missing."""
    try:
        fd = open_file(dir_fd, name, os.O_RDONLY, where)
    except FileNotFoundError:
        return None
    try:
        if os.fstat(fd).st_size > limit:
            raise StateError(f"{where}: too big (more than {limit} bytes); refusing to read it")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise StateError(f"{where}: grew past {limit} bytes while read; refusing it")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
