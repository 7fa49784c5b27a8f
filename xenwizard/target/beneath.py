"""Open a directory beneath the target root from the root's own descriptor, following no link.

Resolving a path by name and then using the name again leaves a window: a hostile root can
swap a directory for a symlink out of it in between (renameat2 RENAME_EXCHANGE). Every write,
removal and link xenwizard makes under the root therefore goes through a descriptor of the
directory it lands in, opened here: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) where the
kernel has it (Linux 5.6+), else one O_NOFOLLOW component at a time. Either way a symlink
anywhere on the way is refused, so the descriptor is a directory inside the root.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

SYS_OPENAT2 = 437  # the same number on every architecture that has it
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
BENEATH = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc: ctypes.CDLL | None = None
_has_openat2: bool | None = None


# openat2(2): with RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a rename
# anywhere on the system raced a ".." step of the lookup (an os-release link to
# ../usr/lib/os-release, while dpkg unpacks), and "the caller may choose to retry". Bounded, so
# that endless renames cannot hold a read forever.
EAGAIN_RETRIES = 1000


def _openat2(dir_fd: int, rel: str, flags: int, resolve: int = BENEATH) -> int:
    """fd, or -errno; -ENOSYS where the kernel (or this platform) lacks openat2."""
    global _libc, _has_openat2
    if _has_openat2 is False or sys.platform != "linux":  # not `platform`: 1 ms to import
        return -errno.ENOSYS
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    how = _OpenHow(flags, 0, resolve)
    for _ in range(EAGAIN_RETRIES):
        fd: int = _libc.syscall(  # ctypes: an untyped foreign function; syscall(2): a C int
            SYS_OPENAT2, ctypes.c_int(dir_fd), os.fsencode(rel), ctypes.byref(how),
            ctypes.c_size_t(ctypes.sizeof(how)),
        )  # fmt: skip
        if fd >= 0:
            _has_openat2 = True
            return fd
        err = ctypes.get_errno()
        if err != errno.EAGAIN:
            break
    if err in (errno.ENOSYS, errno.EPERM) and _has_openat2 is None:  # EPERM: a seccomp filter
        _has_openat2 = False
        return -errno.ENOSYS
    return -err


def open_dir_beneath(root_fd: int, rel: str) -> int:
    """A descriptor of directory `rel` (root-relative, "" for the root itself); OSError
    (ELOOP, EXDEV, ENOTDIR, ENOENT) if it is missing, not a directory, or a link is on the way."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OSError(errno.EXDEV, "path leaves the root through '..'", rel)
    if not parts:
        return os.dup(root_fd)
    fd = _openat2(root_fd, "/".join(parts), DIR_FLAGS)
    if fd >= 0:
        return fd
    if fd != -errno.ENOSYS:
        raise OSError(-fd, os.strerror(-fd), rel)
    current = os.dup(root_fd)
    try:
        for part in parts:
            following = os.open(part, DIR_FLAGS | os.O_NOFOLLOW, dir_fd=current)
            os.close(current)
            current = following
    except BaseException:
        os.close(current)
        raise
    return current


def open_in_root(root_fd: int, rel: str, flags: int) -> int | None:
    """A descriptor of `rel` resolved as a chroot would (openat2 RESOLVE_IN_ROOT: `..` and
    absolute links stay inside the root, so a link swapped in meanwhile cannot lead out of it);
    None where the kernel lacks openat2. OSError as os.open raises it."""
    fd = _openat2(root_fd, rel.lstrip("/") or ".", flags | os.O_CLOEXEC, IN_ROOT)
    if fd == -errno.ENOSYS:
        return None
    if fd < 0:
        raise OSError(-fd, os.strerror(-fd), rel)
    return fd
