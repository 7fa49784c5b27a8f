"""Issue 13, findings 1 and 2: a hostile root's journal is data, and a run directory that is not
xenwizard's own is refused. Each crafted journal is refused whole: nothing written, nothing run,
one line; and it is not counted as unfinished."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from tests.kits.enginekit import FakeRunner, diff_manifests, fresh_root, manifest
from tests.kits.helpers import run_cli
from xenwizard.engine.executor import Engine, EngineError
from xenwizard.engine.journal import RUNS_DIR, Journal, unfinished_runs
from xenwizard.target.rootfs import RootFS

RUN_ID = "20260101T000000-aaaa"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crafted_run(root: Path, *records: dict, run_id: str = RUN_ID) -> Journal:
    """A run directory as xenwizard makes it, with whatever records an attacker wrote."""
    journal = Journal.create(RootFS(root), run_id, {"steps": []}, {"bridge": "br0"})
    with open(journal.dir / "journal.jsonl", "a") as handle:
        handle.write(json.dumps({"type": "run", "pid": 999_999_999, "time": 1.0}) + "\n")
        for record in records:
            handle.write(json.dumps(record) + "\n")
    os.chmod(journal.dir / "journal.jsonl", 0o600)
    return journal


def edit_intent(**fields: object) -> dict:
    base = {
        "type": "intent",
        "index": 0,
        "step_id": "x",
        "kind": "edit",
        "title": "x",
        "path": "etc/leaked",
        "real": "etc/leaked",
        "existed": True,
        "backup": "backups/000",
        "mode": 0o644,
        "uid": 0,
        "gid": 0,
        "mtime_ns": None,
        "sha_before": sha(b"x"),
        "sha_after": sha(b"y"),
        "dirs": [],
    }
    return {**base, **fields}


def refused(root: Path, run_id: str = RUN_ID) -> tuple[str, FakeRunner]:
    runner = FakeRunner(root)
    with pytest.raises(EngineError) as info:
        Engine(None, RootFS(root), runner).rollback(run_id)
    return str(info.value), runner


def test_a_backup_path_outside_the_run_dir_is_refused(tmp_path: Path) -> None:
    """Before: rollback copied a host file (any path) into the root."""
    root = fresh_root(tmp_path)
    secret = tmp_path / "host-secret"
    secret.write_bytes(b"host only\n")
    journal = crafted_run(root, edit_intent(backup=os.path.relpath(secret, root / "x")))
    journal_bytes = (journal.dir / "journal.jsonl").read_bytes()
    before = manifest(root)
    message, runner = refused(root)
    assert "refusing" in message and "\n" not in message
    assert not (root / "etc/leaked").exists()
    assert runner.calls == []
    assert (journal.dir / "journal.jsonl").read_bytes() == journal_bytes  # not even appended
    assert diff_manifests(before, manifest(root)) == []
    assert unfinished_runs(root) == []


def test_a_backup_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    secret = tmp_path / "host-secret"
    secret.write_bytes(b"x")
    journal = crafted_run(root, edit_intent())
    (journal.dir / "backups/000").symlink_to(secret)
    (root / "etc/leaked").write_bytes(b"y")
    result = Engine(None, RootFS(root), FakeRunner(root)).rollback(RUN_ID)
    assert result.outcome == "rollback-failed"
    assert (root / "etc/leaked").read_bytes() == b"y"


def test_a_journaled_mode_never_adds_setuid(tmp_path: Path) -> None:
    """Before: a crafted mode 04755 and uid 1000 wrote a setuid file owned by uid 1000."""
    root = fresh_root(tmp_path)
    journal = crafted_run(root, edit_intent(mode=0o6755, uid=1000, gid=1000))
    (journal.dir / "backups/000").write_bytes(b"x")
    os.chmod(journal.dir / "backups/000", 0o600)
    (root / "etc/leaked").write_bytes(b"y")
    result = Engine(None, RootFS(root), FakeRunner(root)).rollback(RUN_ID)
    assert result.outcome == "rolled-back"
    mode = os.stat(root / "etc/leaked").st_mode
    assert not mode & (stat.S_ISUID | stat.S_ISGID), oct(mode)


def test_a_backup_that_does_not_match_the_journal_is_not_restored(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    journal = crafted_run(root, edit_intent())
    (journal.dir / "backups/000").write_bytes(b"something else")
    os.chmod(journal.dir / "backups/000", 0o600)
    (root / "etc/leaked").write_bytes(b"y")
    result = Engine(None, RootFS(root), FakeRunner(root)).rollback(RUN_ID)
    assert result.outcome == "rollback-failed"
    assert (root / "etc/leaked").read_bytes() == b"y"


def test_an_undo_command_in_the_journal_is_never_run(tmp_path: Path) -> None:
    """Before: a `command` record's undo_argv ran (/bin/sh -c ...)."""
    root = fresh_root(tmp_path)
    marker = tmp_path / "ran"
    command = {
        "type": "intent",
        "index": 0,
        "step_id": "c",
        "kind": "command",
        "title": "c",
        "argv": ["true"],
        "undo_argv": ["/bin/sh", "-c", f"touch {marker}"],
    }
    crafted_run(root, command)
    message, runner = refused(root)
    assert "undo_argv" in message
    assert runner.calls == []
    assert not marker.exists()
    assert unfinished_runs(root) == []  # no nagging about a run that is not ours


def test_cli_rollback_of_a_crafted_journal_exits_1_with_one_line(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    marker = tmp_path / "ran"
    crafted_run(
        root,
        {
            "type": "intent",
            "index": 0,
            "step_id": "c",
            "kind": "command",
            "argv": ["true"],
            "undo_argv": ["/bin/sh", "-c", f"touch {marker}"],
        },
    )
    before = manifest(root)
    done = run_cli("rollback", RUN_ID, "--root", str(root))
    assert done.returncode == 1, done
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert RUN_ID in done.stderr and "refusing" in done.stderr
    assert not marker.exists()
    assert diff_manifests(before, manifest(root)) == []


@pytest.mark.parametrize(
    "record",
    [
        edit_intent(real="../../outside"),
        edit_intent(path="/etc/passwd"),
        edit_intent(dirs=["etc/../../x"]),
        {
            "type": "intent",
            "index": 0,
            "step_id": "p",
            "kind": "packages",
            "packages": ["--option=Dir::Etc=/tmp"],
            "before": {},
        },
        {"type": "policy-rc.d", "index": 0, "present": True, "dirs": ["../../x"]},
        {"type": "exec", "argv": ["sh"]},
        ["not", "an", "object"],
    ],
)
def test_records_outside_the_schema_refuse_the_whole_journal(tmp_path: Path, record) -> None:
    root = fresh_root(tmp_path)
    crafted_run(root, edit_intent(), record)
    before = manifest(root)
    message, runner = refused(root)
    assert "refusing to use this run" in message
    assert runner.calls == []
    assert diff_manifests(before, manifest(root)) == []
    assert unfinished_runs(root) == []


def test_a_symlinked_run_dir_is_refused_and_the_other_root_untouched(tmp_path: Path) -> None:
    """Before: runs/ID -> another root's runs/ID made a rollback of one root read the other's
    backups and append to its journal."""
    other = fresh_root(tmp_path, "other")
    journal = crafted_run(other, edit_intent(path="etc/hosts", real="etc/hosts"))
    (journal.dir / "backups/000").write_bytes(b"x")
    journal_bytes = (journal.dir / "journal.jsonl").read_bytes()
    root = fresh_root(tmp_path)
    crafted_run(root, run_id="20250101T000000-bbbb")  # makes runs/ with the right modes
    (root / RUNS_DIR / RUN_ID).symlink_to(journal.dir)
    before = manifest(root)
    message, runner = refused(root)
    assert "symlink" in message and "\n" not in message
    assert runner.calls == []
    assert (journal.dir / "journal.jsonl").read_bytes() == journal_bytes
    assert diff_manifests(before, manifest(root)) == []
    assert RUN_ID not in unfinished_runs(root)
    done = run_cli("rollback", RUN_ID, "--root", str(root))
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done


@pytest.mark.parametrize("how", ["other-owner", "group-writable"])
def test_a_run_dir_not_ours_alone_is_refused(tmp_path: Path, how: str) -> None:
    if how == "other-owner" and os.geteuid() != 0:
        pytest.skip("needs root to give a file away")
    root = fresh_root(tmp_path)
    journal = crafted_run(root, edit_intent())
    if how == "other-owner":
        os.chown(journal.dir / "journal.jsonl", 1000, 1000)
    else:
        os.chmod(journal.dir, 0o770)
    message, runner = refused(root)
    assert "refusing to use this run" in message
    assert runner.calls == []
    assert unfinished_runs(root) == []


def test_history_says_which_runs_it_refuses_and_counts_none_as_unfinished(
    tmp_path: Path,
) -> None:
    """Before, a refused run was silently left out of `history`: the operator saw no trace of
    a run directory xenwizard will not touch."""
    root = fresh_root(tmp_path)
    other = fresh_root(tmp_path, "other")
    elsewhere = crafted_run(other, edit_intent(path="etc/hosts", real="etc/hosts"))
    crafted_run(root, edit_intent(real="../../outside"))  # outside the schema
    linked = "20250101T000000-cccc"
    (root / RUNS_DIR / linked).symlink_to(elsewhere.dir)
    done = run_cli("history", "--root", str(root))
    assert done.returncode == 0, done
    refused_lines = [line for line in done.stdout.splitlines() if line.startswith("refused: ")]
    assert len(refused_lines) == 2, done.stdout
    assert any(linked in line and "symlink" in line for line in refused_lines), done.stdout
    assert any(RUN_ID in line and "refusing" in line for line in refused_lines), done.stdout
    assert "unfinished" not in done.stderr, done.stderr
    data = json.loads(run_cli("history", "--json", "--root", str(root)).stdout)
    assert {(r["run_id"], r["state"]) for r in data} == {(RUN_ID, "refused"), (linked, "refused")}
