"""Files xenwizard writes outside the target root (the error log, a saved plan): private
(0600), never through a symlink someone planted, never into someone else's file."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from xenwizard.target.rootfs import RootError, RootFS

ERROR_LOG = "var/log/xenwizard-error.log"


def write_private(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace `path` with `data`, mode 0600: a temp file made with O_EXCL|O_NOFOLLOW in the
    same directory, renamed over it (a symlink there is replaced, never followed)."""
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(21, "Is a directory", str(target))
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.xenwizard-tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def append_private(path: str | os.PathLike[str], text: str) -> None:
    """Append to a log of ours: made 0600 if new; a symlink, a non-regular file or a file of
    another user there is refused (OSError)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            raise PermissionError(1, "not a regular file of this user; not written", str(path))
        if stat.S_IMODE(st.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8", "replace"))
    finally:
        os.close(fd)


def state_home() -> Path:
    """The user's own state directory (XDG), for a run that is not as root."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local/state")
    return Path(base) / "xenwizard"


def default_error_log(fs: RootFS) -> str:
    """Where unexpected errors' details go: the root's var/log when running as root (never a
    fixed name in a shared /tmp), else the user's state directory."""
    if os.geteuid() == 0:
        try:
            host = fs.path(ERROR_LOG)
            if not os.path.lexists(host.parent):
                host.parent.mkdir(mode=0o755, parents=True)
            if host.parent.is_dir() and not host.parent.is_symlink():
                return str(host)
        except (RootError, OSError):
            pass
    home = state_home()
    with contextlib.suppress(OSError):
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return str(home / "error.log")
