"""The write-ahead journal of one run, under ROOT/var/lib/xenwizard/runs/<run-id>/.

Every change is described here (and its original bytes backed up) before it is made, and its
result after, each record fsynced; so after a crash or `kill -9` the journal alone says what may
have changed and how to undo it. Files of a run:

    plan.json       the plan as previewed (steps, before/after texts)
    answers.toml    the answers, replayable with `xenwizard apply --answers FILE`
    journal.jsonl   one JSON record per line: run, intent, result, failed, skipped, rollback,
                    undone, undo-failed, outcome; and policy-rc.d (present: true before
                    xenwizard makes its temporary ROOT/usr/sbin/policy-rc.d during an undo,
                    present: false once it is removed; the packages intent says whether the
                    apply makes one); leftovers (what a rollback's package purge left
                    behind: accounts, /etc entries)
    etc-before.json /etc and the account names just before the packages step (leftovers.py)
    backups/NNN     original bytes of each touched file (dir 0700, files 0600)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xenwizard.answers.file import dump_answers
from xenwizard.engine.atomic import fsync_dir
from xenwizard.engine.journalschema import BACKUP_RE, EXTRA_RE, SchemaError, validate_record
from xenwizard.engine.lock import lock_holder
from xenwizard.paths import LOG_FILE, RUNS_DIR, STATE_DIR  # noqa: F401  (re-exported)
from xenwizard.target.rootfs import RootFS

RUN_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
MAX_JOURNAL = 64 * 1024 * 1024  # far beyond any real run; a bigger one is not ours
MAX_BACKUP = 256 * 1024 * 1024

Record = dict[str, Any]


def new_run_id(now: float | None = None) -> str:
    """Sortable by start time (UTC), unique thanks to a random suffix: 20261125T174500-ab12."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}-{secrets.token_hex(2)}"


def state_dir(root: RootFS) -> Path:
    return root.path(STATE_DIR)


def runs_dir(root: RootFS) -> Path:
    return root.path(RUNS_DIR)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Append-only record of one run; opened for writing by apply and by rollback."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.run_id = directory.name
        self.written: list[Record] = []  # what this process appended, for an in-process undo
        self._fd: int | None = None

    @classmethod
    def create(
        cls, root: RootFS, run_id: str, plan_data: dict[str, Any], answers: dict[str, object]
    ) -> Journal:
        """The run directory with its plan and answers, durable before any change is made."""
        base = runs_dir(root)
        _private_dir(base.parent)
        _private_dir(base)
        journal = cls(base / run_id)
        os.mkdir(journal.dir, 0o700)  # FileExistsError: never share a directory with another run
        _private_dir(journal.dir)
        _private_dir(journal.dir / "backups")
        _write_private(journal.dir / "plan.json", json.dumps(plan_data, indent=1).encode())
        _write_private(journal.dir / "answers.toml", dump_answers(dict(answers)).encode())
        fsync_dir(journal.dir)
        fsync_dir(base)
        return journal

    @classmethod
    def open(cls, root: RootFS, run_id: str) -> Journal:
        """The run's journal, once its directory is trusted (see `check_run_dir`)."""
        directory = runs_dir(root) / run_id
        if "/" in run_id or run_id.startswith(".") or not os.path.lexists(directory):
            raise JournalError(f"no run {run_id} under {RUNS_DIR}; see `xenwizard history`")
        check_run_dir(directory)
        return cls(directory)

    def append(self, record: Record) -> None:
        """Add one record and fsync it: once this returns, a crash cannot lose it."""
        if self._fd is None:
            self._fd = os.open(
                self.dir / "journal.jsonl",
                os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW,
                0o600,
            )
        record = {"time": time.time(), **record}
        line = json.dumps(record, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())
        os.fdatasync(self._fd)
        self.written.append(record)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def backup(self, index: int, data: bytes) -> str:
        """Store the original bytes of step `index`'s file; returns the name for the intent."""
        name = f"backups/{index:03d}"
        _write_private(self.dir / name, data)
        return name

    def save_extra(self, name: str, data: bytes) -> str:
        """Keep a copy of something found during rollback (e.g. edits made after the run)."""
        target = f"backups/{name}"
        _write_private(self.dir / target, data)
        return target

    def read_backup(self, name: str) -> bytes:
        """A backup of this run: only `backups/NNN[.found]`, a regular file of ours, no link."""
        if not (BACKUP_RE.match(name) or EXTRA_RE.match(name)):
            raise JournalError(f"run {self.run_id}: backup {name!r} is not one of the run's own")
        check_private(self.dir / "backups", self.run_id, "backups directory", directory=True)
        return read_private(self.dir / name, self.run_id, "backup", MAX_BACKUP)

    def records(self, *, for_undo: bool = False) -> list[Record]:
        """Every complete record, each checked against the schema (JournalError if one is not
        what xenwizard writes); a line that is not JSON (a torn last line: killed mid-write)
        is ignored."""
        path = self.dir / "journal.jsonl"
        if not os.path.lexists(path):
            return []
        data = read_private(path, self.run_id, "journal", MAX_JOURNAL)
        text = data.decode("utf-8", errors="replace")
        out: list[Record] = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            try:
                validate_record(record, for_undo=for_undo)
            except SchemaError as exc:
                raise JournalError(
                    f"run {self.run_id}: journal line {number} is not a xenwizard record "
                    f"({exc}); refusing to use this run"
                ) from None
            out.append(record)
        return out


class JournalError(LookupError):
    """A run id that does not exist, or a journal that cannot be used."""


def check_private(path: Path, run_id: str, what: str, *, directory: bool) -> os.stat_result:
    """Refuse a run's file or directory that is a symlink, not ours, or writable by others:
    the journal is only believed when nobody but xenwizard (root) could have written it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise JournalError(f"run {run_id}: its {what} is missing") from None
    if stat.S_ISLNK(st.st_mode):
        raise JournalError(f"run {run_id}: its {what} is a symlink; refusing to use this run")
    if not (stat.S_ISDIR(st.st_mode) if directory else stat.S_ISREG(st.st_mode)):
        expected = "a directory" if directory else "a regular file"
        raise JournalError(f"run {run_id}: its {what} is not {expected}; refusing to use this run")
    if st.st_uid != os.geteuid():
        raise JournalError(
            f"run {run_id}: its {what} is owned by uid {st.st_uid}, not {os.geteuid()}; "
            "refusing to use this run"
        )
    if st.st_mode & 0o022:
        raise JournalError(
            f"run {run_id}: its {what} is writable by others; refusing to use this run"
        )
    return st


def check_run_dir(directory: Path) -> None:
    """The run directory and its journal are xenwizard's own (raises JournalError if not)."""
    run_id = directory.name
    for parent, what in (
        (directory.parent.parent, "state directory"),
        (directory.parent, "runs directory"),
    ):
        check_private(parent, run_id, what, directory=True)
    check_private(directory, run_id, "run directory", directory=True)
    check_private(directory / "journal.jsonl", run_id, "journal", directory=False)


def read_private(path: Path, run_id: str, what: str, limit: int) -> bytes:
    """A run's own regular file, opened without following a link, size-capped."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise JournalError(f"run {run_id}: its {what} {path.name} is missing") from None
    except OSError as exc:
        raise JournalError(
            f"run {run_id}: its {what} {path.name} cannot be opened ({exc.strerror}); "
            "refusing to use this run"
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise JournalError(
                f"run {run_id}: its {what} {path.name} is not a private regular file of "
                "xenwizard's; refusing to use this run"
            )
        if st.st_size > limit:
            raise JournalError(
                f"run {run_id}: its {what} {path.name} is too big ({st.st_size} bytes)"
            )
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            if sum(map(len, chunks)) > limit:
                raise JournalError(f"run {run_id}: its {what} {path.name} is too big")
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What `history` shows and what rollback/unfinished detection decide on."""

    run_id: str
    started: float
    state: str  # an outcome, or "unfinished" / "running"
    changed: bool  # some step's intent was journaled (something may have changed)
    files: tuple[str, ...] = ()
    pid: int | None = None
    message: str = ""
    history: tuple[str, ...] = field(default=())  # outcomes in order, e.g. applied, rolled-back
    rollback_reason: str = ""  # the last rollback's reason ("requested", a boot guard's, an error)

    @property
    def rollbackable(self) -> bool:
        return self.changed and self.state in ("applied", "rollback-failed", "unfinished")


def run_info(root: RootFS, journal: Journal, holder: int | None) -> RunInfo:
    records = journal.records()
    started = next((r for r in records if r.get("type") == "run"), {})
    outcomes = [r for r in records if r.get("type") == "outcome"]
    last_outcome = max((i for i, r in enumerate(records) if r.get("type") == "outcome"), default=-1)
    last_rollback = max(
        (i for i, r in enumerate(records) if r.get("type") == "rollback"), default=-1
    )
    files = tuple(
        dict.fromkeys(
            r["path"]
            for r in records
            if r.get("type") == "intent" and r.get("kind") in ("edit", "symlink")
        )
    )
    changed = any(r.get("type") == "intent" for r in records)
    pid = started.get("pid")
    if last_outcome >= 0 and last_outcome > last_rollback:
        state = records[last_outcome]["outcome"]
        message = records[last_outcome].get("message", "")
    else:
        pids = {r.get("pid") for r in records if r.get("type") in ("run", "rollback")}
        running = holder is not None and holder in pids
        state = "running" if running else "unfinished"
        pid = holder if running else pid
        message = ""
    return RunInfo(
        run_id=journal.run_id,
        started=started.get("time", 0.0),
        state=state,
        changed=changed,
        files=files,
        pid=pid,
        message=message,
        history=tuple(r["outcome"] for r in outcomes),
        rollback_reason=next(
            (str(r.get("reason", "")) for r in reversed(records) if r.get("type") == "rollback"),
            "",
        ),
    )


def iter_runs(root: RootFS) -> Iterator[Journal]:
    """Every run's journal, in id order."""
    base = runs_dir(root)
    try:
        names = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        if not RUN_NAME_RE.match(name) or not os.path.lexists(base / name / "journal.jsonl"):
            continue  # a name xenwizard never makes (control characters, a leading dot)
        try:
            check_run_dir(base / name)
        except JournalError:
            continue  # not ours (a symlink, someone else's): neither listed nor unfinished
        yield Journal(base / name)


def refused_runs(root: RootFS) -> list[tuple[str, str]]:
    """(name, why) for each run directory xenwizard does not trust (see `check_run_dir`) or
    whose journal is not what it writes: `history` shows them, and they are never counted as
    unfinished or rolled back."""
    base = runs_dir(root)
    try:
        names = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return []
    refused = []
    for name in names:
        if name.startswith("."):
            continue
        try:
            check_run_dir(base / name)
            Journal(base / name).records()
        except JournalError as exc:
            refused.append((name, str(exc)))
    return refused


def list_runs(root: RootFS) -> list[RunInfo]:
    """Every trusted run, oldest first (by start time; ids of one second may not sort in
    order). Runs whose journal fails the schema are left out (see `refused_runs`)."""
    holder = lock_holder(state_dir(root))
    runs = []
    for journal in iter_runs(root):
        try:
            runs.append(run_info(root, journal, holder))
        except JournalError:
            continue
    return sorted(runs, key=lambda info: (info.started, info.run_id))


def unfinished_runs(root: RootFS | str | os.PathLike[str]) -> list[str]:
    """Ids of runs that were killed mid-apply or mid-rollback and not rolled back since.

    Every xenwizard command warns about these: "run RUN_ID is unfinished; run
    `xenwizard rollback RUN_ID`". A run still in progress (its process holds the lock) is not
    listed. Never raises: a warning must not stop the command that asks for it.
    """
    try:
        fs = root if isinstance(root, RootFS) else RootFS(root)
        return [i.run_id for i in list_runs(fs) if i.state == "unfinished" and i.changed]
    except OSError:
        return []


def unfinished_warning(run_id: str) -> str:
    return f"run {run_id} is unfinished; run `xenwizard rollback {run_id}`"
