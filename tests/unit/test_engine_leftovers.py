"""The rollback lists what the package purge leaves instead of hiding it: system accounts that
maintainer scripts created (Debian never removes them) and /etc entries written outside any
package, against the snapshot taken just before the packages step; as LeftBehind events, in the
journal, and printed by `xenwizard rollback`.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.kits.enginekit import (
    FakeRunner,
    diff_manifests,
    failing_edit,
    fresh_root,
    manifest,
    precise_plan,
    with_step,
)
from xenwizard.cli import main
from xenwizard.commands import rollback as rollback_command
from xenwizard.engine import events as ev
from xenwizard.engine import leftovers
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import RUNS_DIR, Journal
from xenwizard.target.rootfs import RootFS

EXPECTED = [
    ("user", "dnsmasq"),
    ("group", "kvm"),
    ("created", "etc/hosts"),
]


def left_behind(events: list[ev.Event]) -> list[ev.LeftBehind]:
    return [e for e in events if isinstance(e, ev.LeftBehind)]


def test_automatic_rollback_lists_what_the_purge_leaves(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    plan = precise_plan(root)
    # a failing edit, not a second package step: that would take the snapshot again
    plan = with_step(plan, len(plan.steps), failing_edit("fail", "a step that fails", "failed"))
    runner = FakeRunner(root, leave_behind=True)
    events: list[ev.Event] = []
    result = Engine(plan, RootFS(root), runner, events.append).apply()
    assert result.outcome == "rolled-back"
    assert result.message.endswith(
        "every change was undone; the package purge left 3 things behind (listed above)"
    )
    found = left_behind(events)
    assert [(e.kind, e.name) for e in found] == EXPECTED
    assert {e.index for e in found} == {0} and {e.step_id for e in found} == {"packages"}
    assert found[0].detail.startswith("system user dnsmasq (uid 999): created by a package's")
    assert found[2].detail == "/etc/hosts: created during the run, not removed by the purge"
    # after every undo, before the outcome
    kinds = [type(e).__name__ for e in events]
    last_undo = max(i for i, k in enumerate(kinds) if k == "RollbackProgress")
    assert kinds[last_undo + 1 : last_undo + 4] == ["LeftBehind"] * 3
    assert kinds[last_undo + 4 :] == ["ApplyFinished"]
    # in the journal and the log; the tree differs from before by exactly these
    records = Journal.open(RootFS(root), result.run_id).records()
    (record,) = [r for r in records if r["type"] == "leftovers"]
    assert [(i["kind"], i["name"]) for i in record["items"]] == EXPECTED
    assert record["items"][2]["detail"] == found[2].detail
    log = (root / "var/log/xenwizard.log").read_text()
    assert f"left behind: {found[0].detail}" in log
    assert diff_manifests(original, manifest(root)) == [
        "extra: etc/group",
        "extra: etc/hosts",
        "extra: etc/passwd",
    ]


def test_xenwizard_rollback_prints_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = fresh_root(tmp_path)
    result = Engine(precise_plan(root), RootFS(root), FakeRunner(root, leave_behind=True)).apply()
    assert result.outcome == "applied"
    snapshot = root / RUNS_DIR / result.run_id / leftovers.SNAPSHOT
    assert stat.S_IMODE(os.stat(snapshot).st_mode) == 0o600
    monkeypatch.setattr(rollback_command, "CommandRunner", lambda r: FakeRunner(Path(r)))
    assert main(["rollback", "--root", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = [line.removeprefix("    left behind: ") for line in lines if "left behind:" in line]
    assert len(printed) == 3
    assert printed[0].startswith("system user dnsmasq (uid 999)")
    assert printed[1].startswith("system group kvm (gid 105)") and "`delgroup kvm`" in printed[1]
    assert printed[2] == "/etc/hosts: created during the run, not removed by the purge"
    assert lines[-1].startswith(
        "rolled-back: every change was undone; the package purge left 3 things behind"
    )


def test_nothing_left_is_recorded_and_not_shown(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    result = Engine(precise_plan(root), RootFS(root), FakeRunner(root)).apply()
    events: list[ev.Event] = []
    rolled = Engine(None, RootFS(root), FakeRunner(root), events.append).rollback(result.run_id)
    assert rolled.message == "every change was undone"
    assert left_behind(events) == []
    records = Journal.open(RootFS(root), result.run_id).records()
    assert [r["items"] for r in records if r["type"] == "leftovers"] == [[]]


def test_only_a_run_that_installed_packages_looks(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    engine = Engine(precise_plan(root), RootFS(root), FakeRunner(root), skip_packages=True)
    result = engine.apply()
    assert not (root / RUNS_DIR / result.run_id / leftovers.SNAPSHOT).exists()
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")  # not the run's business
    events: list[ev.Event] = []
    rolled = Engine(None, RootFS(root), FakeRunner(root), events.append).rollback(result.run_id)
    assert rolled.outcome == "rolled-back"
    assert left_behind(events) == []
    records = Journal.open(RootFS(root), result.run_id).records()
    assert not [r for r in records if r["type"] == "leftovers"]


def test_a_snapshot_that_cannot_be_compared_does_not_fail_the_rollback(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    result = Engine(precise_plan(root), RootFS(root), FakeRunner(root)).apply()
    snapshot = root / RUNS_DIR / result.run_id / leftovers.SNAPSHOT
    snapshot.write_text(json.dumps({"etc": 5}))
    events: list[ev.Event] = []
    rolled = Engine(None, RootFS(root), FakeRunner(root), events.append).rollback(result.run_id)
    assert rolled.outcome == "rolled-back"
    (error,) = left_behind(events)
    assert error.kind == "error"
    assert error.detail.startswith("leftovers not listed: /etc not compared with its snapshot")
