"""The journal is data, not instructions: every record is checked against this schema before a
rollback (or `history`, or the unfinished-run warning) believes a word of it.

A run directory lives inside the target root, which may be hostile (a crafted image, a
chroot someone else prepared). So nothing a record says may reach outside the root or run
anything: paths are plain root-relative names (no `..`, no control characters), a backup is
only `backups/NNN` of the run's own directory, modes are permission bits, package names are
Debian package names, and there is no free-form command to run on undo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Check = Callable[[Any], bool]

PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?\Z")
BACKUP_RE = re.compile(r"backups/[0-9]{3}\Z")
EXTRA_RE = re.compile(r"backups/[0-9]{3}\.found\Z")
OUTCOMES = ("applied", "nothing-to-do", "rolled-back", "rollback-failed")
KINDS = ("edit", "symlink", "packages", "command", "grubenv", "sysctl")
# The kernel parameters a sysctl step may set, and the values each accepts (its undo writes
# the recorded one back, so both are checked here).
SYSCTL_KEYS: dict[str, tuple[str, ...]] = {"net.ipv4.ip_forward": ("0", "1")}
REFRESHES = ("update-grub",)  # engine.refresh.REFRESH's names
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_TEXT = 4096


class SchemaError(ValueError):
    """A record that is not what xenwizard writes."""


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nonneg(value: Any) -> bool:
    return _int(value) and value >= 0


def _index(value: Any) -> bool:
    return _int(value) and -1 <= value < 10_000


def _num(value: Any) -> bool:
    return (isinstance(value, (int, float))) and not isinstance(value, bool)


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT and "\x00" not in value


def _any_text(value: Any) -> bool:  # messages: shown escaped, never executed
    return isinstance(value, str) and len(value) <= 65536


def safe_rel(value: Any) -> bool:
    """A root-relative path: no leading `/`, no `..` or `.` part, no empty part, no control."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        return False
    if value.startswith("/") or CONTROL_RE.search(value):
        return False
    return all(part not in ("", ".", "..") for part in value.split("/"))


def _rel_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= 64 and all(safe_rel(v) for v in value)


def _package(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 128 and bool(PACKAGE_RE.match(value))


def _packages(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= 10_000 and all(_package(v) for v in value)


def _states(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) <= 100_000
        and all(_package(k) and _text(v) for k, v in value.items())
    )


def _mode(value: Any) -> bool:
    return _int(value) and 0 <= value <= 0o7777


def _opt(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _backup(value: Any) -> bool:
    return isinstance(value, str) and bool(BACKUP_RE.match(value))


def _link_target(value: Any) -> bool:
    return _text(value) and bool(value) and not CONTROL_RE.search(value)


def _sha(value: Any) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"[0-9a-f]{64}", value))


def _steps(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(s, dict) and set(s) <= {"id", "kind", "title"} and all(map(_text, s.values()))
        for s in value
    )


def _argv(value: Any) -> bool:
    return isinstance(value, list) and 0 < len(value) <= 256 and all(_text(v) for v in value)


def _items(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(i, dict) and set(i) <= {"kind", "name", "detail"} and all(map(_text, i.values()))
        for i in value
    )


COMMON: dict[str, Check] = {"type": _text, "time": _num}

FIELDS: dict[str, dict[str, Check]] = {
    "run": {
        "run_id": _text,
        "pid": _opt(_nonneg),
        "root": _text,
        "profile": _opt(_text),
        "skip_packages": _bool,
        "steps": _steps,
    },
    "intent": {
        "index": _index,
        "step_id": _text,
        "kind": lambda v: v in KINDS,
        "title": _text,
        # edit
        "path": safe_rel,
        "real": safe_rel,
        "existed": _bool,
        "backup": _opt(_backup),
        "mode": _mode,
        "uid": _opt(_nonneg),
        "gid": _opt(_nonneg),
        "mtime_ns": _opt(_nonneg),
        "sha_before": _opt(_sha),
        "sha_after": _opt(_sha),
        "dirs": _rel_list,
        "refresh": lambda v: v in REFRESHES,
        # grubenv (also the edit fields above)
        "entry": _text,
        "previous": _text,
        # symlink
        "target": _link_target,
        # packages
        "packages": _packages,
        "before": _states,
        "policy_rc_d": _bool,
        "policy_dirs": _rel_list,
        # command: earlier builds' command step (kept so their journals roll back; never run)
        "argv": _argv,
        # sysctl (key and values checked together in _check_intent)
        "key": lambda v: v in SYSCTL_KEYS,
        "value": _text,
        "was": _text,
    },
    "result": {
        "index": _index,
        "changed": _bool,
        "added": _packages,
        "after": _states,
    },
    "failed": {"index": _index, "error": _any_text},
    "skipped": {"index": _index, "reason": _any_text},
    "rollback": {"pid": _opt(_nonneg), "reason": _any_text},
    "undone": {"index": _index, "state": _any_text},
    "undo-failed": {"index": _index, "error": _any_text},
    "outcome": {"outcome": lambda v: v in OUTCOMES, "message": _any_text},
    "policy-rc.d": {"index": _index, "present": _bool, "dirs": _rel_list},
    "leftovers": {"index": _index, "items": _items},
}

# What an undo needs of each kind of intent (a listing needs less: see validate_record).
REQUIRED: dict[str, tuple[str, ...]] = {
    "edit": ("index", "step_id", "path", "real", "existed", "mode", "sha_before", "sha_after"),
    "grubenv": ("index", "step_id", "path", "real", "existed", "mode", "sha_before", "sha_after"),
    "symlink": ("index", "step_id", "path", "target"),
    "packages": ("index", "step_id", "packages", "before"),
    "command": ("index", "step_id", "argv"),
    "sysctl": ("index", "step_id", "key", "value", "was"),
}


def validate_record(record: Any, *, for_undo: bool = False) -> None:
    """Raise SchemaError unless `record` is one xenwizard could have written."""
    if not isinstance(record, dict):
        raise SchemaError("not a JSON object")
    kind = record.get("type")
    fields = FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise SchemaError(f"unknown record type {str(kind)[:40]!r}")
    for key, value in record.items():
        check = COMMON.get(key) or fields.get(key)
        if check is None:
            raise SchemaError(f"{kind} record has an unexpected field {str(key)[:40]!r}")
        if not check(value):
            raise SchemaError(f"{kind} record: field {key!r} is not valid")
    if kind == "intent":
        _check_intent(record, for_undo)


def _check_intent(record: Record, for_undo: bool) -> None:
    step_kind = record.get("kind")
    if step_kind is None:
        raise SchemaError("intent record without a kind")
    if for_undo:
        missing = [k for k in REQUIRED[step_kind] if k not in record]
        if missing:
            raise SchemaError(f"{step_kind} intent lacks {', '.join(missing)}")
    if step_kind == "sysctl" and "key" in record:
        accepted = SYSCTL_KEYS[record["key"]]
        if any(field in record and record[field] not in accepted for field in ("value", "was")):
            raise SchemaError(f"sysctl intent: a value {record['key']} does not take")
    if step_kind in ("edit", "grubenv") and "existed" in record:
        expected = f"backups/{record.get('index', 0):03d}" if record["existed"] else None
        if record.get("backup") != expected:
            raise SchemaError("edit intent: backup is not the step's own backups/NNN")
        if record["existed"] and for_undo and not _mode(record.get("mode")):
            raise SchemaError("edit intent: no mode for the original file")
