"""What a rollback cannot take back after a real package install, listed instead of hidden.

Purging exactly the packages a run added brings /etc back, except what Debian deliberately
never removes: system users and groups that maintainer scripts created (a file owned by that uid
may still exist somewhere; reusing the id for someone else would hand it over), and the odd file
a maintainer script wrote outside any package (for example an /etc/hosts). The rollback names
them so the operator can decide.

Use: before the run's package step, `save(fs, run_dir)` keeps a snapshot of /etc (type, bytes
hash, mode, owner, link target) and of the account names; after the rollback,
`find(load(run_dir), fs)` returns the differences as `Leftover`s, one line each.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xenwizard.target.rootfs import RootFS

if TYPE_CHECKING:
    from typing import Any

    from xenwizard.engine.journal import Journal

SNAPSHOT = "etc-before.json"
ACCOUNT_FILES = frozenset(
    f"etc/{name}{suffix}"
    for name in ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")
    for suffix in ("", "-")
)


def _digest(dir_fd: int, name: str) -> str | None:
    """sha256 of a regular file, streamed; None if it is not one any more when opened."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def etc_manifest(fs: RootFS) -> dict[str, list[object]]:
    """Every entry under ROOT/etc: [kind, sha256 or link target, mode, uid, gid]. Walked by
    descriptor, beneath the root, no link followed: a directory swapped for a link out of the
    root meanwhile is not entered (the walk never lists or hashes a file outside it)."""
    out: dict[str, list[object]] = {}
    try:
        fd = fs.open_dir(fs.real_root / "etc")
    except FileNotFoundError:
        return out
    _walk(fd, "etc", out)
    return out


def _walk(fd: int, rel: str, out: dict[str, list[object]]) -> None:
    """Entries of the directory open on `fd` (closed here) into `out`, subdirectories too."""
    try:
        for name in sorted(os.listdir(fd)):
            path = f"{rel}/{name}"
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while walked
            meta = [stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if stat.S_ISLNK(st.st_mode):
                try:
                    out[path] = ["link", os.readlink(name, dir_fd=fd), *meta]
                except OSError:
                    continue  # no longer a link: changed while walked
            elif stat.S_ISDIR(st.st_mode):
                out[path] = ["dir", None, *meta]
                flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
                try:
                    inner = os.open(name, flags, dir_fd=fd)
                except OSError:
                    continue  # swapped for a link (or gone) since: not entered
                _walk(inner, path, out)
            elif stat.S_ISREG(st.st_mode):
                out[path] = ["file", _digest(fd, name), *meta]
            else:
                out[path] = ["other", st.st_mode, *meta]
    finally:
        os.close(fd)


def _ids(text: str | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            found[fields[0]] = int(fields[2])
    return found


def accounts(fs: RootFS) -> dict[str, dict[str, int]]:
    return {
        "users": _ids(fs.read_text("etc/passwd")),
        "groups": _ids(fs.read_text("etc/group")),
    }


def snapshot(fs: RootFS) -> dict[str, Any]:
    """{"etc": etc_manifest, "users": {name: uid}, "groups": {name: gid}}; saved as JSON."""
    return {"etc": etc_manifest(fs), **accounts(fs)}


def save(fs: RootFS, journal: Journal) -> None:
    """Write the snapshot into the run's directory (root-only, like the backups)."""
    journal.write(SNAPSHOT, json.dumps(snapshot(fs), separators=(",", ":")).encode())


def load(journal: Journal) -> dict[str, Any] | None:
    """The saved snapshot (None when there is none, or it is not a snapshot's JSON object);
    read through the journal's checked reader: a FIFO or a link there is JournalError."""
    try:
        data = json.loads(journal.read(SNAPSHOT) or b"null")
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class Leftover:
    """One thing the rollback left; `str()` is the line the operator reads."""

    kind: str  # "user", "group", "created", "changed", "removed"
    name: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def find(before: dict[str, Any], fs: RootFS) -> list[Leftover]:
    """Differences between the snapshot and the root now: accounts first, then /etc entries."""
    now = snapshot(fs)
    out: list[Leftover] = []
    for kind, key, remove in (("user", "users", "deluser"), ("group", "groups", "delgroup")):
        old: dict[str, int] = before.get(key, {})
        new: dict[str, int] = now[key]
        for name in sorted(set(new) - set(old), key=lambda n: new[n]):
            ident = "uid" if kind == "user" else "gid"
            out.append(
                Leftover(
                    kind,
                    name,
                    f"system {kind} {name} ({ident} {new[name]}): created by a package's "
                    f"maintainer script; Debian never removes system {kind}s "
                    f"(`{remove} {name}` if nothing uses it)",
                )
            )
    old_etc: dict[str, list[Any]] = before.get("etc", {})
    new_etc: dict[str, list[Any]] = now["etc"]
    accounts_changed = bool(out)
    for rel in sorted(set(old_etc) | set(new_etc)):
        if accounts_changed and rel in ACCOUNT_FILES:
            continue  # the account lines above are why
        was, isnow = old_etc.get(rel), new_etc.get(rel)
        if was == isnow:
            continue
        if was is None:
            kind, text = "created", f"/{rel}: created during the run, not removed by the purge"
        elif isnow is None:
            kind, text = "removed", f"/{rel}: removed during the run and not restored"
        else:
            kind, text = "changed", f"/{rel}: changed during the run ({_what(was, isnow)})"
        out.append(Leftover(kind, rel, text))
    return out


def _what(was: list[Any], isnow: list[Any]) -> str:
    """[kind, digest or target, mode, uid, gid] before and now (etc_manifest's entries)."""
    parts = []
    if was[0] != isnow[0]:
        parts.append(f"{was[0]} -> {isnow[0]}")
    elif was[1] != isnow[1]:
        parts.append("link target" if was[0] == "link" else "content")
    if was[2] != isnow[2]:
        parts.append(f"mode {oct(int(was[2]))} -> {oct(int(isnow[2]))}")
    if was[3:] != isnow[3:]:
        parts.append("owner")
    return ", ".join(parts) or "metadata"
