"""Journal records, run states, unfinished-run detection and the lock, without the engine."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from xenwizard.engine.journal import (
    Journal,
    JournalError,
    list_runs,
    new_run_id,
    unfinished_runs,
    unfinished_warning,
)
from xenwizard.engine.lock import LockBusy, RunLock, lock_holder
from xenwizard.target.rootfs import RootFS


def make_run(root: Path, run_id: str, *records: dict) -> Journal:
    journal = Journal.create(RootFS(root), run_id, {"steps": []}, {"bridge": "br0"})
    for record in records:
        journal.append(record)
    journal.close()
    return journal


def test_run_ids_sort_by_time_and_are_unique() -> None:
    first = new_run_id(1_700_000_000)
    assert re.fullmatch(r"\d{8}T\d{6}-[0-9a-f]{4}", first)
    assert first.startswith("20231114T221320-")
    assert new_run_id(1_700_000_001) > first
    assert len({new_run_id(1_700_000_000) for _ in range(50)}) > 40


def test_states_from_records(tmp_path: Path) -> None:
    dead = 999_999_999
    intent = {"type": "intent", "index": 1, "kind": "edit", "path": "etc/rc.local"}
    make_run(tmp_path, "20260101T000000-aaaa", {"type": "run", "pid": dead}, intent)
    make_run(tmp_path, "20260101T000001-bbbb", {"type": "run", "pid": dead})
    make_run(
        tmp_path,
        "20260101T000002-cccc",
        {"type": "run", "pid": dead},
        intent,
        {"type": "outcome", "outcome": "applied"},
        {"type": "rollback", "pid": dead},
    )
    make_run(
        tmp_path,
        "20260101T000003-dddd",
        {"type": "run", "pid": dead},
        {"type": "outcome", "outcome": "nothing-to-do"},
    )
    infos = {i.run_id[-4:]: i for i in list_runs(RootFS(tmp_path))}
    assert infos["aaaa"].state == "unfinished" and infos["aaaa"].changed
    assert infos["aaaa"].files == ("etc/rc.local",)
    assert infos["bbbb"].state == "unfinished" and not infos["bbbb"].changed
    assert infos["cccc"].state == "unfinished"  # a rollback that was killed
    assert infos["dddd"].state == "nothing-to-do" and not infos["dddd"].rollbackable
    # killed before any change: nothing to warn about
    assert unfinished_runs(tmp_path) == ["20260101T000000-aaaa", "20260101T000002-cccc"]
    assert unfinished_warning("X") == "run X is unfinished; run `xenwizard rollback X`"


def test_a_run_whose_process_holds_the_lock_is_running_not_unfinished(tmp_path: Path) -> None:
    make_run(
        tmp_path,
        "20260101T000000-aaaa",
        {"type": "run", "pid": os.getpid()},
        {"type": "intent", "index": 0, "kind": "edit", "path": "x"},
    )
    with RunLock(RootFS(tmp_path)):
        assert lock_holder(RootFS(tmp_path)) == os.getpid()
        assert unfinished_runs(tmp_path) == []
        assert list_runs(RootFS(tmp_path))[0].state == "running"
    assert lock_holder(RootFS(tmp_path)) is None  # no pid left behind
    assert unfinished_runs(tmp_path) == ["20260101T000000-aaaa"]


def test_torn_last_record_is_ignored(tmp_path: Path) -> None:
    journal = make_run(tmp_path, "20260101T000000-aaaa", {"type": "run", "pid": 1})
    with open(journal.dir / "journal.jsonl", "a") as handle:
        handle.write('{"type": "intent", "ind')
    assert [r["type"] for r in journal.records()] == ["run"]


def test_open_refuses_unknown_and_path_like_ids(tmp_path: Path) -> None:
    make_run(tmp_path, "20260101T000000-aaaa")
    for bad in ("20260101T000000-ffff", "../runs", ".", "a/b"):
        with pytest.raises(JournalError):
            Journal.open(RootFS(tmp_path), bad)


def test_files_are_private(tmp_path: Path) -> None:
    journal = make_run(tmp_path, "20260101T000000-aaaa", {"type": "run"})
    name = journal.backup(3, b"secret\n")
    assert name == "backups/003"
    for path in (journal.dir, journal.dir / "backups", tmp_path / "var/lib/xenwizard"):
        assert os.stat(path).st_mode & 0o777 == 0o700
    for path in (journal.dir / name, journal.dir / "plan.json", journal.dir / "answers.toml"):
        assert os.stat(path).st_mode & 0o777 == 0o600


def test_unfinished_runs_never_raises(tmp_path: Path) -> None:
    assert unfinished_runs(tmp_path / "missing") == []
    assert unfinished_runs(tmp_path) == []


def test_lock_names_the_holder(tmp_path: Path) -> None:
    fs = RootFS(tmp_path)
    with RunLock(fs, "rollback"), pytest.raises(LockBusy) as info:
        RunLock(fs).acquire()
    assert str(info.value) == (
        f"another xenwizard rollback (pid {os.getpid()}) is running on {tmp_path}"
    )
    RunLock(fs).acquire()  # free again
