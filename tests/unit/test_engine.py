"""The engine on the real ubuntu-precise plan over a fixture root, with a fake apt-get."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from tests.kits.enginekit import (
    FakeRunner,
    diff_manifests,
    failing_step,
    fresh_root,
    manifest,
    precise_plan,
    with_step,
)
from tests.kits.helpers import PRECISE_ROOT
from xenwizard.answers.build import build_config
from xenwizard.answers.file import load_answers
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import EditResult
from xenwizard.engine import events as ev
from xenwizard.engine.executor import Engine, EngineError
from xenwizard.engine.journal import RUNS_DIR, Journal, list_runs
from xenwizard.engine.lock import RunLock
from xenwizard.planning.plan import EditFile, InstallPackages, Plan, Symlink
from xenwizard.planning.profiles.base import edit_step, symlink_step
from xenwizard.target.rootfs import RootFS


def engine_for(root: Path, plan: Plan | None, runner=None, events=None, **kw) -> Engine:
    sink = events.append if events is not None else None
    return Engine(plan, RootFS(root), runner or FakeRunner(root), sink, **kw)


def run_dir(root: Path, run_id: str) -> Path:
    return root / RUNS_DIR / run_id


def test_apply_then_rollback_restores_the_tree_exactly(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    plan = precise_plan(root)
    runner = FakeRunner(root)
    result = engine_for(root, plan, runner).apply()
    assert result.outcome == "applied", result.message
    applied = manifest(root)
    assert applied != original
    assert applied["usr/lib/xen-tools/precise.d"][:2] == ("link", "karmic.d")
    assert "usr/sbin/dnsmasq" in applied  # the fake package and its dependency
    assert runner.calls[:3] == [  # another root: downloads with the network, then the install
        ["apt-get", "update"],
        ["apt-get", "install", "--download-only", "-y", "--", "dnsmasq", "ebtables"],
        ["apt-get", "install", "-y", "--", "dnsmasq", "ebtables"],
    ]
    assert runner.network[:3] == [True, True, False]

    rolled = engine_for(root, None, runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back", rolled.message
    assert diff_manifests(original, manifest(root)) == []
    # exactly what the run added, dependency included; Xen & co. (there before) untouched
    assert runner.calls[-1] == [
        "apt-get",
        "purge",
        "-y",
        "--",
        "dnsmasq",
        "dnsmasq-base",
        "ebtables",
    ]


def test_plan_after_apply_shows_nothing_and_second_apply_changes_nothing(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    assert engine_for(root, precise_plan(root)).apply().outcome == "applied"
    again = precise_plan(root)
    assert [s.id for s in again.steps if s.changed] == []
    before = manifest(root)
    runner = FakeRunner(root)
    result = engine_for(root, again, runner).apply()
    assert result.outcome == "nothing-to-do"
    assert manifest(root) == before
    assert runner.calls == []


def test_new_bridge_name_updates_instead_of_adding_and_rolls_back_in_order(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    first = engine_for(root, precise_plan(root)).apply()
    after_first = manifest(root)
    second_plan = precise_plan(root, WizardConfig(bridge="xenbr7"))
    second = engine_for(root, second_plan).apply()
    assert second.outcome == "applied"
    assert "xenbr7" in (root / "etc/network/interfaces").read_text()
    expected = f"roll it back first: `xenwizard rollback {second.run_id}`"
    with pytest.raises(EngineError, match=re.escape(expected)):
        engine_for(root, None).rollback(first.run_id)
    assert engine_for(root, None).rollback(second.run_id).outcome == "rolled-back"
    assert diff_manifests(after_first, manifest(root)) == []
    assert engine_for(root, None).rollback(first.run_id).outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []
    with pytest.raises(EngineError, match="already rolled back"):
        engine_for(root, None).rollback(first.run_id)


def test_mode_owner_and_mtime_are_kept_and_new_files_get_the_step_mode(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    interfaces = root / "etc/network/interfaces"
    os.chown(interfaces, 1234, 5678)
    os.chmod(interfaces, 0o640)
    original = manifest(root)
    mtime = os.stat(interfaces).st_mtime_ns
    result = engine_for(root, precise_plan(root)).apply()
    st = os.stat(interfaces)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 5678)
    assert stat.S_IMODE(os.stat(root / "etc/rc.local").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(root / "etc/dnsmasq.d/xenwizard.conf").st_mode) == 0o644
    engine_for(root, None).rollback(result.run_id)
    assert diff_manifests(original, manifest(root)) == []
    assert os.stat(interfaces).st_mtime_ns == mtime


def test_journal_holds_plan_answers_intents_results_and_private_backups(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    config = WizardConfig(bridge="xenbr0", lease="1h")
    plan = precise_plan(root, config)
    result = engine_for(root, plan).apply()
    run = run_dir(root, result.run_id)
    assert stat.S_IMODE(os.stat(run).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(run / "backups").st_mode) == 0o700
    backups = sorted((run / "backups").iterdir())
    assert backups, "every edited file that existed is backed up"
    assert {stat.S_IMODE(os.stat(b).st_mode) for b in backups} == {0o600}
    sxp = next(i for i, s in enumerate(plan.steps) if s.id == "xend-bridge")
    assert (run / f"backups/{sxp:03d}").read_bytes() == (
        (PRECISE_ROOT / "etc/xen/xend-config.sxp").read_bytes()
    )
    answers = load_answers(run / "answers.toml")
    assert "profile" not in answers  # detected, not chosen: the next host detects its own
    assert build_config(answers) == config
    saved_plan = json.loads((run / "plan.json").read_text())
    assert [s["id"] for s in saved_plan["steps"]] == [s.id for s in plan.steps]

    records = Journal.open(RootFS(root), result.run_id).records()
    kinds = [(r["type"], r.get("index")) for r in records]
    for index in range(len(plan.steps)):
        assert kinds.index(("intent", index)) < kinds.index(("result", index))
    packages = next(r for r in records if r["type"] == "intent" and r["kind"] == "packages")
    assert packages["before"]["xen-hypervisor-4.1-amd64"] == "installed"
    assert "dnsmasq" not in packages["before"]
    pkg_result = next(r for r in records if r["type"] == "result" and r["index"] == 0)
    assert pkg_result["added"] == ["dnsmasq", "dnsmasq-base", "ebtables"]
    assert pkg_result["after"]["dnsmasq"] == "installed"
    assert records[-1]["type"] == "outcome" and records[-1]["outcome"] == "applied"


def test_changed_file_since_plan_stops_before_any_change(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    plan = precise_plan(root)
    with open(root / "etc/rc.local", "a") as handle:
        handle.write("# edited by someone else\n")
    before = manifest(root)
    runner = FakeRunner(root)
    with pytest.raises(EngineError) as info:
        engine_for(root, plan, runner).apply()
    assert str(info.value) == "etc/rc.local changed since the plan was made; run plan again"
    assert manifest(root) == before
    assert runner.calls == []
    assert not (root / RUNS_DIR).exists() or not any((root / RUNS_DIR).iterdir())


def test_link_that_appeared_since_plan_is_a_stale_plan(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    plan = precise_plan(root)
    os.symlink("lucid.d", root / "usr/lib/xen-tools/precise.d")
    with pytest.raises(EngineError, match=r"usr/lib/xen-tools/precise\.d changed since the plan"):
        engine_for(root, plan).apply()


@pytest.mark.parametrize("escape", ["file", "parent-dir"])
def test_symlink_out_of_the_root_is_refused_and_outside_is_untouched(
    tmp_path: Path, escape: str
) -> None:
    root = fresh_root(tmp_path)
    plan = precise_plan(root)
    outside = tmp_path / "outside"
    if escape == "file":
        outside.write_text((root / "etc/rc.local").read_text())
        (root / "etc/rc.local").unlink()
        os.symlink(outside, root / "etc/rc.local")
    else:
        outside.mkdir()
        os.rename(root / "etc/network", outside / "network")
        os.symlink(outside / "network", root / "etc/network")
    outside_before = manifest(tmp_path / "outside") if outside.is_dir() else outside.read_bytes()
    before = manifest(root)
    with pytest.raises(EngineError, match="outside the root"):
        engine_for(root, plan).apply()
    assert manifest(root) == before
    after = manifest(tmp_path / "outside") if outside.is_dir() else outside.read_bytes()
    assert after == outside_before


def test_events_stream_in_order_and_a_failing_listener_does_not_stop_the_run(
    tmp_path: Path,
) -> None:
    root = fresh_root(tmp_path)
    plan = precise_plan(root)
    seen: list[ev.Event] = []

    def listener(event: ev.Event) -> None:
        seen.append(event)
        raise BrokenPipeError("terminal gone")

    result = Engine(plan, RootFS(root), FakeRunner(root), listener).apply()
    assert result.outcome == "applied"
    assert isinstance(seen[0], ev.RunStarted)
    assert seen[0].steps == tuple(s.title for s in plan.steps)
    assert isinstance(seen[-1], ev.ApplyFinished) and seen[-1].outcome == "applied"
    started = [e.index for e in seen if isinstance(e, ev.StepStarted)]
    finished = [e.index for e in seen if isinstance(e, ev.StepFinished)]
    assert started == finished == list(range(len(plan.steps)))
    output = [e.line for e in seen if isinstance(e, ev.StepOutput)]
    assert "$ apt-get install -y -- dnsmasq ebtables" in output
    assert "Setting up dnsmasq (1.0-fake) ..." in output
    log = (root / "var/log/xenwizard.log").read_text().splitlines()
    assert len(log) >= len(seen)
    assert all(line[:4].isdigit() and f" {result.run_id} " in line for line in log)
    assert any("Setting up dnsmasq-base" in line for line in log)


def test_skip_packages_is_recorded_and_nothing_is_installed(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    runner = FakeRunner(root)
    events: list[ev.Event] = []
    result = engine_for(root, precise_plan(root), runner, events, skip_packages=True).apply()
    assert result.outcome == "applied"
    assert runner.calls == []
    first = next(e for e in events if isinstance(e, ev.StepFinished))
    assert not first.changed and "skipped (--skip-packages)" in first.notes[0]
    records = Journal.open(RootFS(root), result.run_id).records()
    assert any(r["type"] == "skipped" and r["index"] == 0 for r in records)


def test_package_lists_are_updated_first_and_the_output_streams(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    runner = FakeRunner(root)
    events: list[ev.Event] = []
    result = engine_for(root, precise_plan(root), runner, events).apply()
    assert result.outcome == "applied"
    assert runner.calls[:3] == [  # another root: downloads with the network, then the install
        ["apt-get", "update"],
        ["apt-get", "install", "--download-only", "-y", "--", "dnsmasq", "ebtables"],
        ["apt-get", "install", "-y", "--", "dnsmasq", "ebtables"],
    ]
    assert runner.network[:3] == [True, True, False]
    output = [e.line for e in events if isinstance(e, ev.StepOutput) and e.index == 0]
    assert output.index("$ apt-get update") < output.index("Reading package lists... Done")
    assert output.index("Reading package lists... Done") < output.index(
        "$ apt-get install -y -- dnsmasq ebtables"
    )


def test_a_failed_update_is_noted_and_the_install_still_tried(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    runner = FakeRunner(root, fail={"update": 100})
    events: list[ev.Event] = []
    result = engine_for(root, precise_plan(root), runner, events).apply()
    assert result.outcome == "applied", result.message
    assert (root / "usr/sbin/dnsmasq").exists()
    note = "apt-get update exited with status 100; installing from the package lists as they were"
    first = next(e for e in events if isinstance(e, ev.StepFinished))
    assert note in first.notes
    log = (root / "var/log/xenwizard.log").read_text()
    assert f"xenwizard: {note}" in log and "E: Failed to fetch" in log


def test_a_failed_update_and_install_say_both(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    runner = FakeRunner(root, fail={"update": 100, "install": 100})
    result = engine_for(root, precise_plan(root), runner).apply()
    assert result.outcome == "rolled-back"
    assert (
        "apt-get install exited with status 100 (apt-get update had failed too: status 100)"
        in result.message
    )
    assert diff_manifests(original, manifest(root)) == []


def test_deferred_edit_of_a_file_the_package_brings(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    fs = RootFS(root)

    def edit(text: str | None) -> EditResult:
        assert text is not None, "the package must have brought the file"
        return EditResult(text + "bridge = br0\n", ("bridge set",))

    plan = Plan(
        profile="test",
        profile_reason="test",
        root=str(root),
        steps=(
            InstallPackages(id="pk", title="install xen-fake", packages=("xen-fake",)),
            edit_step(
                "cfg", "configure it", fs, "etc/xen-fake/xen.conf", edit, installing=("xen-fake",)
            ),
        ),
    )
    assert plan.steps[1].deferred
    events: list[ev.Event] = []
    result = engine_for(root, plan, events=events).apply()
    assert result.outcome == "applied", result.message
    assert (root / "etc/xen-fake/xen.conf").read_text() == "fake file of xen-fake\nbridge = br0\n"
    done = [e for e in events if isinstance(e, ev.StepFinished)][1]
    assert "bridge set" in done.notes
    assert engine_for(root, None).rollback(result.run_id).outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []


def test_symlink_step_needs_its_directory_and_target(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    plan = precise_plan(root)
    link = next(s for s in plan.steps if isinstance(s, Symlink))
    bad = replace(link, target="jaunty.d")
    plan = replace(plan, steps=tuple(bad if s is link else s for s in plan.steps))
    result = engine_for(root, plan).apply()
    assert result.outcome == "rolled-back"
    assert "link target jaunty.d is missing" in result.message
    assert diff_manifests(original, manifest(root)) == []


def test_a_link_to_a_file_with_its_directories_made_and_removed_again(tmp_path: Path) -> None:
    """`systemctl enable`'s kind of link: the wants/ directory may be missing, the target is
    a file (written by an earlier step); the rollback removes the link and the directories."""
    root = fresh_root(tmp_path)
    original = manifest(root)
    fs = RootFS(root)
    unit = edit_step("unit", "a unit", fs, "etc/sd/system/x.service", lambda _: EditResult("u\n"))
    link = symlink_step(
        "enable",
        fs,
        "etc/sd/system/a.target.wants",
        "x.service",
        "/etc/sd/system/x.service",
        "enable it",
        target_kind="file",
        create_dirs=True,
    )
    assert "(and the directory etc/sd/system/a.target.wants)" in link.notes[0]
    plan = Plan(profile="t", profile_reason="t", root=str(root), steps=(unit, link))
    result = engine_for(root, plan, skip_packages=True).apply()  # made, not "waiting"
    assert result.outcome == "applied", result.message
    made = root / "etc/sd/system/a.target.wants/x.service"
    assert os.readlink(made) == "/etc/sd/system/x.service"
    assert stat.S_IMODE(os.stat(made.parent).st_mode) == 0o755
    assert engine_for(root, None).rollback(result.run_id).outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []
    assert not (root / "etc/sd").exists()


def test_a_link_to_a_missing_file_is_refused(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    link = symlink_step(
        "enable",
        RootFS(root),
        "etc/sd/a.target.wants",
        "x.service",
        "/etc/sd/x.service",
        "enable it",
        target_kind="file",
        create_dirs=True,
    )
    plan = Plan(profile="t", profile_reason="t", root=str(root), steps=(link,))
    result = engine_for(root, plan).apply()
    assert result.outcome == "rolled-back"
    assert "link target /etc/sd/x.service is missing; expected a file" in result.message
    assert diff_manifests(original, manifest(root)) == []


def test_created_directories_are_removed_again(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    fs = RootFS(root)
    step = edit_step(
        "new",
        "new file deep down",
        fs,
        "etc/xen/scripts/vif-post.d/00-x.hook",
        lambda _: EditResult("echo hi\n"),
        mode=0o755,
    )
    plan = Plan(profile="t", profile_reason="t", root=str(root), steps=(step,))
    result = engine_for(root, plan).apply()
    assert stat.S_IMODE(os.stat(root / "etc/xen/scripts/vif-post.d").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(root / "etc/xen/scripts/vif-post.d/00-x.hook").st_mode) == 0o755
    engine_for(root, None).rollback(result.run_id)
    assert diff_manifests(original, manifest(root)) == []


def test_file_edited_after_the_run_is_restored_and_the_edit_kept_in_the_journal(
    tmp_path: Path,
) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    result = engine_for(root, precise_plan(root)).apply()
    with open(root / "etc/rc.local", "a") as handle:
        handle.write("# added later by hand\n")
    events: list[ev.Event] = []
    assert engine_for(root, None, events=events).rollback(result.run_id).outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []
    kept = [e.state for e in events if isinstance(e, ev.RollbackProgress) and "kept in" in e.state]
    assert len(kept) == 1
    found = sorted((run_dir(root, result.run_id) / "backups").glob("*.found"))
    assert found and found[0].read_text().endswith("# added later by hand\n")


def test_cancel_rolls_back_at_the_next_step(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    engine: Engine

    def listener(event: ev.Event) -> None:
        if isinstance(event, ev.StepFinished) and event.index == 3:
            engine.cancel()

    engine = Engine(precise_plan(root), RootFS(root), FakeRunner(root), listener)
    result = engine.apply()
    assert result.outcome == "rolled-back"
    assert "cancelled by the operator" in result.message
    assert diff_manifests(original, manifest(root)) == []


def test_ctrl_c_during_a_command_rolls_back(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)

    def hook(argv) -> None:
        if "xen-fake" in argv:  # step 5's apt-get install
            raise KeyboardInterrupt

    more = InstallPackages(id="s", title="more packages", packages=("xen-fake",))
    plan = with_step(precise_plan(root), 4, more)
    result = engine_for(root, plan, FakeRunner(root, hook=hook)).apply()
    assert result.outcome == "rolled-back"
    assert "interrupted by the operator" in result.message
    assert diff_manifests(original, manifest(root)) == []


def test_failed_rollback_is_reported_and_can_be_retried(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    original = manifest(root)
    plan = with_step(precise_plan(root), 7, failing_step("x"))
    runner = FakeRunner(root, fail={"fail": 1, "purge": 100})
    result = engine_for(root, plan, runner).apply()
    assert result.outcome == "rollback-failed"
    assert "apt-get purge exited with status 100" in result.message
    assert (root / "usr/sbin/dnsmasq").exists()  # the package is still there
    assert [i.state for i in list_runs(RootFS(root))] == ["rollback-failed"]
    retry = engine_for(root, None, FakeRunner(root)).rollback(result.run_id)
    assert retry.outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []


def test_a_command_intent_of_an_older_journal_is_never_run(tmp_path: Path) -> None:
    """Earlier builds journaled a command step's argv (issue 13: no undo command). The step
    type is gone (issue 14); a run whose journal still holds one rolls back, reports that
    step as nothing to undo, and runs nothing the journal names."""
    root = fresh_root(tmp_path)
    original = manifest(root)
    marker = tmp_path / "ran"
    applied = engine_for(root, precise_plan(root)).apply()
    assert applied.outcome == "applied"
    path = run_dir(root, applied.run_id) / "journal.jsonl"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if json.loads(line)["type"] == "outcome")
    index = len(precise_plan(root).steps)  # one past the plan's own steps
    legacy = {"type": "intent", "index": index, "step_id": "c", "kind": "command", "title": "c"}
    legacy["argv"] = ["/bin/sh", "-c", f"touch {marker}"]
    lines.insert(at, json.dumps(legacy))  # as an older build wrote it: before the outcome
    path.write_text("\n".join(lines) + "\n")
    runner = FakeRunner(root)
    result = engine_for(root, None, runner).rollback(applied.run_id)
    assert result.outcome == "rolled-back", result.message
    assert not marker.exists()
    # only the purge and the GRUB step's own refresh (engine/refresh.py's table) ran
    assert all(call[0] in ("apt-get", "dpkg", "update-grub") for call in runner.calls), runner.calls
    records = Journal.open(RootFS(root), applied.run_id).records()
    (undone,) = [r for r in records if r["type"] == "undone" and r["index"] == index]
    assert undone["state"].startswith("nothing-to-undo: a command step"), undone
    assert diff_manifests(original, manifest(root)) == []


def test_lock_refuses_a_second_apply_and_a_dead_holder_does_not_block(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    fs = RootFS(root)
    state = root / "var/lib/xenwizard"
    with RunLock(fs, "apply"), pytest.raises(EngineError) as info:
        engine_for(root, precise_plan(root)).apply()
    assert str(info.value) == f"another xenwizard apply (pid {os.getpid()}) is running on {root}"
    (state / "lock").write_text("999999999 apply\n")  # left by a process that died
    assert engine_for(root, precise_plan(root)).apply().outcome == "applied"
    assert list_runs(fs)[0].state == "applied"


def test_plan_with_only_unchanged_steps_is_nothing_to_do(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    plan = precise_plan(root)
    same = tuple(
        replace(s, after=s.before) if isinstance(s, EditFile) and s.before is not None else s
        for s in plan.steps
        if not isinstance(s, (InstallPackages, Symlink)) and s.before is not None
    )
    result = engine_for(root, replace(plan, steps=same)).apply()
    assert result.outcome == "nothing-to-do"
    with pytest.raises(EngineError, match="changed nothing"):
        engine_for(root, None).rollback(result.run_id)


def test_run_id_collision_gets_a_fresh_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xenwizard.engine.executor as engine_module

    root = fresh_root(tmp_path)
    ids = iter(["20260101T000000-aaaa", "20260101T000000-aaaa", "20260101T000000-bbbb"])
    monkeypatch.setattr(engine_module, "new_run_id", lambda: next(ids))
    first = engine_for(root, precise_plan(root)).apply()
    second = engine_for(root, precise_plan(root)).apply()
    assert (first.run_id, second.run_id) == ("20260101T000000-aaaa", "20260101T000000-bbbb")
