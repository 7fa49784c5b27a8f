"""No daemon of the target starts on the host: a temporary usr/sbin/policy-rc.d (exit 101) is in
place while apt-get runs through the chroot (install, and the rollback's purge), is journaled
before it is made, and is never left behind; an admin's own policy-rc.d is used and kept.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from tests.kits.enginekit import FakeRunner, diff_manifests, fresh_root, manifest, precise_plan
from xenwizard.engine import atomic
from xenwizard.engine import events as ev
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import Journal
from xenwizard.engine.policyrcd import POLICY_RC_D, POLICY_RC_D_TEXT
from xenwizard.target.rootfs import RootFS

ADMIN_POLICY = b'#!/bin/sh\n# the admin\'s: only ssh may start\n[ "$1" = ssh ] || exit 101\n'


def policy_records(root: Path, run_id: str) -> list[dict]:
    return [r for r in Journal.open(RootFS(root), run_id).records() if r["type"] == "policy-rc.d"]


def test_policy_rc_d_is_in_place_for_install_and_purge_and_never_left(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    assert not (root / "usr/sbin").exists()  # made for the file, removed with it
    runner = FakeRunner(root)
    events: list[ev.Event] = []
    result = Engine(precise_plan(root), RootFS(root), runner, events.append).apply()
    assert result.outcome == "applied", result.message
    assert runner.policy and set(runner.policy) == {POLICY_RC_D_TEXT}
    assert not os.path.lexists(root / POLICY_RC_D)
    assert (root / "usr/sbin/dnsmasq").exists()  # the package's file in the dir stays
    records = Journal.open(RootFS(root), result.run_id).records()
    intent = next(r for r in records if r["type"] == "intent" and r["kind"] == "packages")
    assert intent["policy_rc_d"] is True and intent["policy_dirs"] == ["usr/sbin"]
    assert [r["present"] for r in policy_records(root, result.run_id)] == [False]
    output = [e.line for e in events if isinstance(e, ev.StepOutput)]
    assert f"xenwizard: {POLICY_RC_D} in place: maintainer scripts start no service" in output

    runner = FakeRunner(root)
    assert Engine(None, RootFS(root), runner).rollback(result.run_id).outcome == "rolled-back"
    assert runner.calls[-1][:2] == ["apt-get", "purge"]
    assert runner.policy and set(runner.policy) == {POLICY_RC_D_TEXT}
    assert diff_manifests(original, manifest(root)) == []  # usr/sbin gone again too
    assert [r["present"] for r in policy_records(root, result.run_id)] == [False, True, False]


def test_the_policy_file_is_executable_and_exits_101(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    seen: list[tuple[int, bytes]] = []

    def hook(argv) -> None:
        if argv[:2] == ["apt-get", "install"]:
            path = root / POLICY_RC_D
            seen.append((stat.S_IMODE(os.stat(path).st_mode), path.read_bytes()))

    Engine(precise_plan(root), RootFS(root), FakeRunner(root, hook=hook)).apply()
    assert seen == [(0o755, b"#!/bin/sh\nexit 101\n")] * 2  # the download, then the install


def test_an_admins_policy_rc_d_is_used_and_kept(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    (root / "usr/sbin").mkdir(parents=True)
    (root / POLICY_RC_D).write_bytes(ADMIN_POLICY)
    os.chmod(root / POLICY_RC_D, 0o700)
    original = manifest(root)
    runner = FakeRunner(root)
    events: list[ev.Event] = []
    result = Engine(precise_plan(root), RootFS(root), runner, events.append).apply()
    assert result.outcome == "applied"
    assert set(runner.policy) == {ADMIN_POLICY}
    assert (root / POLICY_RC_D).read_bytes() == ADMIN_POLICY
    finished = next(e for e in events if isinstance(e, ev.StepFinished))
    assert f"{POLICY_RC_D} exists: left as it is (its rules decide what may start)" in (
        finished.notes
    )
    assert Engine(None, RootFS(root), FakeRunner(root)).rollback(result.run_id).outcome == (
        "rolled-back"
    )
    assert diff_manifests(original, manifest(root)) == []


def test_one_appearing_after_the_apply_is_not_ours_even_with_our_content(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    result = Engine(precise_plan(root), RootFS(root), FakeRunner(root)).apply()
    (root / POLICY_RC_D).write_bytes(POLICY_RC_D_TEXT)  # e.g. a container image's own
    runner = FakeRunner(root)
    assert Engine(None, RootFS(root), runner).rollback(result.run_id).outcome == "rolled-back"
    assert set(runner.policy) == {POLICY_RC_D_TEXT}
    assert (root / POLICY_RC_D).read_bytes() == POLICY_RC_D_TEXT  # kept


def test_a_kill_during_the_rollbacks_purge_then_rollback_removes_it(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    result = Engine(precise_plan(root), RootFS(root), FakeRunner(root)).apply()
    pid = os.fork()
    if pid == 0:  # the doomed rollback

        def hook(argv) -> None:
            if argv[:2] == ["apt-get", "purge"]:
                os._exit(137)

        try:
            Engine(None, RootFS(root), FakeRunner(root, hook=hook)).rollback(result.run_id)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 137
    assert (root / POLICY_RC_D).read_bytes() == POLICY_RC_D_TEXT  # left by the kill
    runner = FakeRunner(root)
    assert Engine(None, RootFS(root), runner).rollback(result.run_id).outcome == "rolled-back"
    assert set(runner.policy) == {POLICY_RC_D_TEXT}
    assert diff_manifests(original, manifest(root)) == []


def test_on_the_live_root_there_is_no_policy_rc_d(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fresh_root(tmp_path)
    monkeypatch.setattr(RootFS, "is_live", property(lambda self: True))
    runner = FakeRunner(root)
    events: list[ev.Event] = []
    result = Engine(precise_plan(root), RootFS(root), runner, events.append).apply()
    assert result.outcome == "applied"
    assert runner.policy and set(runner.policy) == {None}
    finished = next(e for e in events if isinstance(e, ev.StepFinished))
    assert not any("policy-rc.d" in note for note in finished.notes)
    records = Journal.open(RootFS(root), result.run_id).records()
    intent = next(r for r in records if r["type"] == "intent" and r["kind"] == "packages")
    assert intent["policy_rc_d"] is False
    runner = FakeRunner(root)
    assert Engine(None, RootFS(root), runner).rollback(result.run_id).outcome == "rolled-back"
    assert set(runner.policy) == {None}
    assert policy_records(root, result.run_id) == []


def test_failing_to_make_it_stops_before_apt_get_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    real_write = atomic.write_atomic

    def write(path: Path, data: bytes, **kw) -> None:
        if path.name == "policy-rc.d":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data, **kw)

    monkeypatch.setattr(atomic, "write_atomic", write)
    runner = FakeRunner(root)
    result = Engine(precise_plan(root), RootFS(root), runner).apply()
    assert result.outcome == "rolled-back"
    assert "No space left on device" in result.message
    assert runner.calls == []  # apt-get never ran without it
    assert diff_manifests(original, manifest(root)) == []  # usr/sbin made for it is gone
