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
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from xenwizard.answers.file import dump_answers
from xenwizard.engine.journalschema import BACKUP_RE, EXTRA_RE, SchemaError, validate_record
from xenwizard.engine.lock import lock_holder
from xenwizard.engine.statedir import (
    StateError,
    open_file,
    open_state,
    open_subdir,
    read_file,
    write_file,
)
from xenwizard.paths import LOG_FILE, RUNS_DIR, STATE_DIR  # noqa: F401  (re-exported)
from xenwizard.target.rootfs import RootFS

RUN_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
MAX_JOURNAL = 64 * 1024 * 1024  # far beyond any real run; a bigger one is not ours
MAX_BACKUP = 256 * 1024 * 1024

Record = dict[str, Any]
T = TypeVar("T")


def new_run_id(now: float | None = None) -> str:
    """Sortable by start time (UTC), unique thanks to a random suffix: 20261125T174500-ab12."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}-{secrets.token_hex(2)}"


def state_dir(root: RootFS) -> Path:
    """Its host path, for messages only: every use goes through statedir's descriptors."""
    return root.real_root / STATE_DIR


def runs_dir(root: RootFS) -> Path:
    return root.real_root / RUNS_DIR


RUNS = RUNS_DIR.rpartition("/")[2]
BACKUPS = "backups"
JOURNAL = "journal.jsonl"
MAX_PLAN = 64 * 1024 * 1024


class Journal:
    """Append-only record of one run; opened for writing by apply and by rollback.

    The run directory is reached only by descriptor, beneath the root, no link followed, each
    directory on the way checked (statedir); a writer (`create`, `open`) holds that descriptor
    until `close`, so a name swapped meanwhile cannot redirect what it writes."""

    def __init__(self, fs: RootFS, run_id: str, dir_fd: int | None = None):
        self.fs = fs
        self.run_id = run_id
        self.dir = runs_dir(fs) / run_id  # shown to the operator and to tests, never opened
        self.written: list[Record] = []  # what this process appended, for an in-process undo
        self._dir_fd = dir_fd
        self._fd: int | None = None

    @classmethod
    def create(
        cls, root: RootFS, run_id: str, plan_data: dict[str, Any], answers: dict[str, object]
    ) -> Journal:
        """The run directory with its plan and answers, durable before any change is made."""
        state = open_state(root, create=True)
        assert state is not None  # made when missing
        try:
            runs = open_subdir(state, RUNS, f"{STATE_DIR}/{RUNS}", create=True)
        finally:
            os.close(state)
        assert runs is not None
        try:
            os.mkdir(run_id, 0o700, dir_fd=runs)  # FileExistsError: never share a run directory
            fd = open_subdir(runs, run_id, f"{RUNS_DIR}/{run_id}", create=False)
            assert fd is not None
            os.fsync(runs)
        finally:
            os.close(runs)
        journal = cls(root, run_id, fd)
        try:
            os.fchmod(fd, 0o700)
            backups = open_subdir(fd, BACKUPS, f"{RUNS_DIR}/{run_id}/{BACKUPS}", create=True)
            assert backups is not None
            os.close(backups)
            journal.write("plan.json", json.dumps(plan_data, indent=1).encode())
            journal.write("answers.toml", dump_answers(dict(answers)).encode())
            os.fsync(fd)
        except BaseException:
            journal.close()
            raise
        return journal

    @classmethod
    def open(cls, root: RootFS, run_id: str) -> Journal:
        """The run's journal, once its directory and every one above it is trusted."""
        if not RUN_NAME_RE.match(run_id):
            raise JournalError(f"no run {run_id} under {RUNS_DIR}; see `xenwizard history`")
        fd = open_run_dir(root, run_id)
        journal = cls(root, run_id, fd)
        try:
            where = f"{RUNS_DIR}/{run_id}/{JOURNAL}"
            journal._checked(
                lambda d: os.close(open_file(d, JOURNAL, os.O_RDONLY, where)), "journal"
            )
        except BaseException:
            journal.close()
            raise
        return journal

    @contextmanager
    def _run_fd(self) -> Iterator[int]:
        """The held descriptor of the run directory, or a fresh, checked one for a reader."""
        if self._dir_fd is not None:
            yield self._dir_fd
            return
        fd = open_run_dir(self.fs, self.run_id)
        try:
            yield fd
        finally:
            os.close(fd)

    def _checked(self, use: Callable[[int], T], what: str, sub: str = "") -> T:
        """`use(descriptor)` of the run directory (or its `sub` directory); a file or
        directory that is not xenwizard's alone refuses the run (JournalError)."""
        try:
            with self._run_fd() as fd:
                if not sub:
                    return use(fd)
                inner = open_subdir(fd, sub, f"{RUNS_DIR}/{self.run_id}/{sub}", create=False)
                if inner is None:
                    raise JournalError(f"run {self.run_id}: its {sub} directory is missing")
                try:
                    return use(inner)
                finally:
                    os.close(inner)
        except StateError as exc:
            raise JournalError(
                f"run {self.run_id}: its {what} is not xenwizard's alone ({exc}); "
                "refusing to use this run"
            ) from None
        except FileNotFoundError:
            raise JournalError(f"run {self.run_id}: its {what} is missing") from None

    def write(self, name: str, data: bytes) -> None:
        """A file of the run (plan.json, answers.toml, etc-before.json), 0600, fsynced."""
        where = f"{RUNS_DIR}/{self.run_id}/{name}"
        self._checked(lambda d: write_file(d, name, data, where), name)

    def read(self, name: str, limit: int = MAX_PLAN) -> bytes | None:
        """A file of the run through the checked reader (None when it does not exist)."""
        where = f"{RUNS_DIR}/{self.run_id}/{name}"
        return self._checked(lambda d: read_file(d, name, limit, where), name)

    def append(self, record: Record) -> None:
        """Add one record and fsync it: once this returns, a crash cannot lose it."""
        if self._fd is None:
            where = f"{RUNS_DIR}/{self.run_id}/{JOURNAL}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            self._fd = self._checked(lambda d: open_file(d, JOURNAL, flags, where), "journal")
        record = {"time": time.time(), **record}
        line = json.dumps(record, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())
        os.fdatasync(self._fd)
        self.written.append(record)

    def close(self) -> None:
        for fd in (self._fd, self._dir_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._dir_fd = None

    def backup(self, index: int, data: bytes) -> str:
        """Store the original bytes of step `index`'s file; returns the name for the intent."""
        name = f"{BACKUPS}/{index:03d}"
        self._write_backup(name, data)
        return name

    def save_extra(self, name: str, data: bytes) -> str:
        """Keep a copy of something found during rollback (e.g. edits made after the run)."""
        target = f"{BACKUPS}/{name}"
        self._write_backup(target, data)
        return target

    def _write_backup(self, name: str, data: bytes) -> None:
        leaf = name.rpartition("/")[2]
        where = f"{RUNS_DIR}/{self.run_id}/{name}"
        self._checked(lambda d: write_file(d, leaf, data, where), "backups directory", BACKUPS)

    def read_backup(self, name: str) -> bytes:
        """A backup of this run: only `backups/NNN[.found]`, a regular file of ours, no link."""
        if not (BACKUP_RE.match(name) or EXTRA_RE.match(name)):
            raise JournalError(f"run {self.run_id}: backup {name!r} is not one of the run's own")
        leaf = name.rpartition("/")[2]
        where = f"{RUNS_DIR}/{self.run_id}/{name}"
        data = self._checked(lambda d: read_file(d, leaf, MAX_BACKUP, where), "backup", BACKUPS)
        if data is None:
            raise JournalError(f"run {self.run_id}: its backup {leaf} is missing")
        return data

    def records(self, *, for_undo: bool = False) -> list[Record]:
        """Every complete record, each checked against the schema (JournalError if one is not
        what xenwizard writes); a line that is not JSON (a torn last line: killed mid-write)
        is ignored."""
        data = self.read(JOURNAL, MAX_JOURNAL)
        if data is None:
            return []
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


def open_run_dir(fs: RootFS, run_id: str) -> int:
    """A descriptor of runs/RUN: the state, runs and run directories each opened beneath the
    root with no link followed and checked to be xenwizard's alone (JournalError if not)."""
    missing = JournalError(f"no run {run_id} under {RUNS_DIR}; see `xenwizard history`")
    try:
        state = open_state(fs, create=False)
        if state is None:
            raise missing
        try:
            runs = open_subdir(state, RUNS, f"{RUNS_DIR}", create=False)
        finally:
            os.close(state)
        if runs is None:
            raise missing
        try:
            fd = open_subdir(runs, run_id, f"{RUNS_DIR}/{run_id}", create=False)
        finally:
            os.close(runs)
    except StateError as exc:
        raise JournalError(f"run {run_id}: {exc}; refusing to use this run") from None
    if fd is None:
        raise missing
    return fd


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
    for name in run_names(root):
        if not RUN_NAME_RE.match(name):
            continue  # a name xenwizard never makes (control characters, a leading dot)
        journal = Journal(root, name)
        try:
            if journal.read(JOURNAL, MAX_JOURNAL) is None:
                continue
        except JournalError:
            continue  # not ours (a symlink, someone else's): neither listed nor unfinished
        yield journal


def run_names(root: RootFS) -> list[str]:
    """The names in runs/, listed through its checked descriptor ([] when there is none or
    it is not xenwizard's: then no run in it is believed)."""
    try:
        state = open_state(root, create=False)
        if state is None:
            return []
        try:
            runs = open_subdir(state, RUNS, RUNS_DIR, create=False)
        finally:
            os.close(state)
    except OSError:
        return []
    if runs is None:
        return []
    try:
        return sorted(os.listdir(runs))
    finally:
        os.close(runs)


def refused_runs(root: RootFS) -> list[tuple[str, str]]:
    """(name, why) for each run directory xenwizard does not trust (see `open_run_dir`) or
    whose journal is not what it writes: `history` shows them, and they are never counted as
    unfinished or rolled back."""
    refused = []
    for name in run_names(root):
        if name.startswith("."):
            continue
        try:
            if not RUN_NAME_RE.match(name):
                raise JournalError(f"run {name!r}: not a name xenwizard gives a run")
            if Journal(root, name).read(JOURNAL, MAX_JOURNAL) is None:
                raise JournalError(f"run {name}: its journal is missing")
            Journal(root, name).records()
        except JournalError as exc:
            refused.append((name, str(exc)))
    return refused


def list_runs(root: RootFS) -> list[RunInfo]:
    """Every trusted run, oldest first (by start time; ids of one second may not sort in
    order). Runs whose journal fails the schema are left out (see `refused_runs`)."""
    holder = lock_holder(root)
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
