"""Every path the program reads or writes goes through the target root.

`RootFS.path()` maps a root-relative path to a host path and refuses one that escapes the root
through `..` or a symlink, so nothing is ever read or written outside `--root`. Reads then open
the file from the root's own descriptor (openat2 RESOLVE_IN_ROOT), not by that name again: a
directory swapped for a link out of the root in between cannot lead a read outside it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

from xenwizard.errors import XenwizardError

ENCODING = "utf-8"
ERRORS = "surrogateescape"  # odd bytes round-trip unchanged instead of failing to decode
MAX_FILE = 32 * 1024 * 1024  # no configuration file xenwizard reads comes near this
READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symlink",
}


class RootError(XenwizardError, OSError):
    """A path problem reported to the operator as one line (missing root, escape, unreadable)."""


def file_kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_error(exc: OSError, rel: str, is_link: bool) -> RootError:
    if isinstance(exc, IsADirectoryError):
        return RootError(f"{rel}: is a directory; expected a file")
    if isinstance(exc, PermissionError):
        return RootError(f"{rel}: not readable (permission denied); run as root")
    if is_link:
        return RootError(f"{rel}: is a symlink; expected a regular file")
    return RootError(f"{rel}: cannot be read: {exc.strerror or exc}")


def read_regular(
    host: str | os.PathLike[str], rel: str, limit: int = MAX_FILE, *, follow: bool = True
) -> bytes | None:
    """Bytes of a regular file, None when absent. Opened non-blocking (a FIFO cannot hang the
    open), checked with fstat on the open file (no swap between check and read), size-capped
    (a device or a huge file is an error naming the file, not a MemoryError)."""
    flags = READ_FLAGS | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(host, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise open_error(exc, rel, not follow and os.path.islink(host)) from None
    return read_open_file(fd, rel, limit)


def read_open_file(fd: int, rel: str, limit: int = MAX_FILE) -> bytes:
    """The bytes of the file open on `fd` (closed here), if it is regular and at most `limit`
    bytes: checked on the descriptor itself, so what is read is what was checked."""
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise RootError(f"{rel}: is a directory; expected a file")
        if not stat.S_ISREG(st.st_mode):
            raise RootError(
                f"{rel}: is {file_kind(st.st_mode)}, not a regular file; refusing to read it"
            )
        if st.st_size > limit:
            raise RootError(
                f"{rel}: too big ({st.st_size} bytes, at most {limit}); refusing to read it"
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError as exc:
                raise RootError(f"{rel}: cannot be read: {exc.strerror or exc}") from None
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise RootError(f"{rel}: grew past {limit} bytes while read; refusing to read it")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class RootFS:
    """The target system's files, seen from outside through its root directory."""

    def __init__(self, root: str | os.PathLike[str] = "/"):
        self.root = Path(root)
        if not self.root.exists():
            raise RootError(f"root {self.root}: no such directory; expected the target system's /")
        if not self.root.is_dir():
            raise RootError(f"root {self.root}: not a directory; expected the target system's /")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise RootError(f"root {self.root}: not readable; run as root or choose another --root")
        self.real_root = Path(os.path.realpath(self.root))

    def open_dir(self, host_dir: str | os.PathLike[str]) -> int:
        """A descriptor of a directory inside the root, given as its host path (a real path:
        no link in it), opened beneath the root's own descriptor with no link followed, so a
        directory swapped for a symlink meanwhile is refused (RootError), never left through."""
        from xenwizard.target.beneath import open_dir_beneath

        try:
            rel = Path(host_dir).relative_to(self.real_root).as_posix()
        except ValueError:
            raise RootError(f"{host_dir}: outside the root {self.real_root}") from None
        rel = "" if rel == "." else rel
        root_fd = os.open(self.real_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return open_dir_beneath(root_fd, rel)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR):
                raise RootError(
                    f"{rel}: a symlink or non-directory is in its way (changed while xenwizard "
                    "works on it?); refusing to write through it"
                ) from None
            raise
        finally:
            os.close(root_fd)

    @property
    def is_live(self) -> bool:
        """True when the root is this machine's own `/` (live interfaces and routes apply)."""
        return self.real_root == Path("/")

    def path(self, rel: str) -> Path:
        """Host path for a root-relative path; raises RootError when it would leave the root."""
        pure = PurePosixPath(rel.lstrip("/"))
        if ".." in pure.parts:
            raise RootError(f"{rel}: path leaves the root through '..'")
        host = self.real_root.joinpath(*pure.parts)
        try:
            resolved = Path(os.path.realpath(host))
        except OSError as exc:  # e.g. a link swapped for a directory while it was resolved
            raise RootError(f"{rel}: cannot be resolved: {exc.strerror or exc}") from None
        if resolved != self.real_root and self.real_root not in resolved.parents:
            raise RootError(
                f"{rel}: resolves to {resolved}, outside the root {self.real_root} "
                "(a symlink points out of it); refusing to touch it"
            )
        return host

    def exists(self, rel: str) -> bool:
        return self.path(rel).exists()

    def is_dir(self, rel: str) -> bool:
        return self.path(rel).is_dir()

    def is_symlink(self, rel: str) -> bool:
        """Whether the final component is a link (checked without following it out of the root)."""
        pure = PurePosixPath(rel.lstrip("/"))
        parent = self.path(str(pure.parent)) if str(pure.parent) != "." else self.real_root
        return (parent / pure.name).is_symlink()

    def mode(self, rel: str) -> int | None:
        """Permission bits of the file (links followed inside the root), None when missing."""
        try:
            return stat.S_IMODE(os.stat(self.path(rel)).st_mode)
        except FileNotFoundError:
            return None

    def read_text(self, rel: str) -> str | None:
        """The file's text with line endings untouched, or None when it does not exist."""
        data = self.read_bytes(rel)
        return None if data is None else data.decode(ENCODING, ERRORS)

    def read_bytes(self, rel: str, limit: int | None = None) -> bytes | None:
        """A regular file's bytes (a FIFO, a device or an over-sized file is an error, never
        a hang), or None when it does not exist."""
        limit = MAX_FILE if limit is None else limit
        host = self.path(rel)  # a link out of the root, as it is now, is refused by name
        try:
            fd = self._open_in_root(rel, READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise open_error(exc, rel, False) from None
        if fd is None:
            return read_regular(host, rel, limit)
        return read_open_file(fd, rel, limit)

    def listdir(self, rel: str) -> list[str]:
        host = self.path(rel)
        try:
            fd = self._open_in_root(rel, os.O_RDONLY | os.O_DIRECTORY)
            if fd is None:
                return sorted(os.listdir(host))
            try:
                return sorted(os.listdir(fd))
            finally:
                os.close(fd)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except PermissionError:
            raise RootError(f"{rel}: not readable (permission denied); run as root") from None

    def _open_in_root(self, rel: str, flags: int) -> int | None:
        """`rel` opened from the root's own descriptor, resolved as a chroot would, so a path
        checked by `path()` and then swapped for a link cannot lead the read out of the root
        (None where the kernel has no openat2: the name, checked just before, is used)."""
        from xenwizard.target.beneath import open_in_root

        root_fd = os.open(self.real_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return open_in_root(root_fd, rel, flags)
        finally:
            os.close(root_fd)
