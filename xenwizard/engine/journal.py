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
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xenwizard.answers import dump_answers
from xenwizard.engine.atomic import fsync_dir
from xenwizard.engine.lock import lock_holder
from xenwizard.paths import LOG_FILE, RUNS_DIR, STATE_DIR  # noqa: F401  (re-exported)
from xenwizard.rootfs import RootFS

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
        directory = runs_dir(root) / run_id
        if "/" in run_id or run_id.startswith(".") or not (directory / "journal.jsonl").is_file():
            raise JournalError(f"no run {run_id} under {RUNS_DIR}; see `xenwizard history`")
        return cls(directory)

    def append(self, record: Record) -> None:
        """Add one record and fsync it: once this returns, a crash cannot lose it."""
        if self._fd is None:
            self._fd = os.open(
                self.dir / "journal.jsonl",
                os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
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
        return (self.dir / name).read_bytes()

    def records(self) -> list[Record]:
        """Every complete record; a torn last line (killed mid-write) is ignored."""
        try:
            text = (self.dir / "journal.jsonl").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out: list[Record] = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


class JournalError(LookupError):
    """A run id that does not exist, or a journal that cannot be used."""


@dataclass(frozen=True)
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
    )


def iter_runs(root: RootFS) -> Iterator[Journal]:
    """Every run's journal, in id order."""
    base = runs_dir(root)
    try:
        names = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        if (base / name / "journal.jsonl").is_file():
            yield Journal(base / name)


def list_runs(root: RootFS) -> list[RunInfo]:
    """Every run, oldest first (by start time; ids of one second may not sort in order)."""
    holder = lock_holder(state_dir(root))
    runs = [run_info(root, journal, holder) for journal in iter_runs(root)]
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
