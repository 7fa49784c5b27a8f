"""`--skip-packages`: a step that needs what a skipped package would bring (the xen-tools hook
dir link, xl.conf's deferred edit) is skipped with a note instead of failing the whole apply.

Without --skip-packages the same situation is still an error: the package was installed and
did not bring what the plan expected.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.kits.enginekit import FAKE_PACKAGES, FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, plan_for, run_cli
from xenwizard.engine import events as ev
from xenwizard.engine.executor import Engine
from xenwizard.engine.journal import Journal
from xenwizard.planning.plan import BOOT_STEP_IDS, EditFile, Plan, Symlink
from xenwizard.target.rootfs import RootFS

ROOTS = sorted(p.name for p in FIXTURES.glob("*-root") if p.is_dir())
LINK_NOTE = "skipped: usr/share/xen-tools comes with xen-tools, and packages were skipped"
XL_NOTE = "skipped: etc/xen/xl.conf comes with xen-system-amd64, and packages were skipped"
BOOT_NOTE = (
    "skipped: the boot steps (GRUB drop-in, one-shot boot into Xen, boot guard) need Xen's GRUB "
    "entry, which comes with the packages, and packages were skipped"
)


def copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, symlinks=True)
    return root


def waiting_steps(root: Path, plan: Plan) -> dict[str, str]:
    """Step id -> the note expected: links without their directory, deferred edits."""
    out = {}
    for step in plan.steps:
        if step.id in BOOT_STEP_IDS:
            out[step.id] = BOOT_NOTE
            continue
        if isinstance(step, Symlink) and not step.exists and not step.create_dirs:
            parent = os.path.dirname(step.path)
            if not (root / parent).is_dir():
                out[step.id] = f"skipped: {parent} comes with xen-tools, and packages were skipped"
        if isinstance(step, EditFile) and step.deferred:
            packages = ", ".join(step.installing)
            out[step.id] = f"skipped: {step.path} comes with {packages}, and packages were skipped"
    return out


@pytest.mark.parametrize("name", ROOTS)
def test_steps_needing_skipped_packages_are_skipped_with_a_note(tmp_path: Path, name: str) -> None:
    root = copy(tmp_path, name)
    original = manifest(root)
    plan = plan_for(root)
    expected = waiting_steps(root, plan)
    runner = FakeRunner(root)
    events: list[ev.Event] = []
    result = Engine(plan, RootFS(root), runner, events.append, skip_packages=True).apply()
    assert result.outcome == "applied", result.message
    assert runner.calls == []
    finished = {
        plan.steps[e.index].id: e for e in events if isinstance(e, ev.StepFinished) and e.index
    }
    skipped = {sid: e.notes for sid, e in finished.items() if not e.changed}
    assert skipped == {sid: (note,) for sid, note in expected.items()}
    records = Journal.open(RootFS(root), result.run_id).records()
    reasons = {plan.steps[r["index"]].id: r["reason"] for r in records if r["type"] == "skipped"}
    assert reasons == {"packages": "--skip-packages", **expected}
    if expected:
        assert result.message.endswith(
            f"; {len(expected)} skipped: they need the packages that were skipped "
            "(`xenwizard plan` still lists them)"
        )
    # Nothing was made for them, the plan still has them to do, and the rollback is exact.
    assert not (root / "etc/xen/xl.conf").exists()
    pending = {s.id for s in plan_for(root).steps if s.changed}
    assert pending == {"packages", *expected}
    rolled = Engine(None, RootFS(root), FakeRunner(root)).rollback(result.run_id)
    assert rolled.outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []


def test_ubuntu_24_04_names_xen_tools_and_xen(tmp_path: Path) -> None:
    root = copy(tmp_path, "ubuntu-24.04-root")
    assert not (root / "usr/share/xen-tools").exists()
    done = run_cli("apply", "--root", str(root), "--yes", "--skip-packages")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert f"    note: {LINK_NOTE}" in lines
    assert f"    note: {XL_NOTE}" in lines
    assert lines[-1].startswith(
        "applied: 10 of 19 steps changed something; 8 skipped: they need the packages that were "
        "skipped"
    )
    assert not (root / "usr/share/xen-tools").exists()
    assert (root / "etc/netplan/90-xenwizard.yaml").exists()


def test_only_steps_waiting_for_a_package_are_skipped(tmp_path: Path) -> None:
    """All packages skipped, but the link's directory is there: the link is made."""
    root = copy(tmp_path, "ubuntu-24.04-root")
    (root / "usr/share/xen-tools/artful.d").mkdir(parents=True)
    plan = plan_for(root)
    events: list[ev.Event] = []
    Engine(plan, RootFS(root), FakeRunner(root), events.append, skip_packages=True).apply()
    assert os.readlink(root / "usr/share/xen-tools/noble.d") == "artful.d"
    notes = [n for e in events if isinstance(e, ev.StepFinished) for n in e.notes]
    assert LINK_NOTE not in notes and XL_NOTE in notes


def test_without_skip_packages_a_missing_directory_is_still_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy(tmp_path, "ubuntu-24.04-root")
    original = manifest(root)
    monkeypatch.setitem(FAKE_PACKAGES, "xen-tools", ((), ("usr/share/doc/xen-tools/copyright",)))
    result = Engine(plan_for(root), RootFS(root), FakeRunner(root)).apply()
    assert result.outcome == "rolled-back"
    assert (
        "usr/share/xen-tools: missing; expected the directory to hold usr/share/xen-tools/noble.d"
        in result.message
    )
    assert diff_manifests(original, manifest(root)) == []


@pytest.mark.parametrize("name", ROOTS)
def test_plan_skip_packages_shows_what_apply_skips_with_its_notes(
    tmp_path: Path, name: str
) -> None:
    """`plan --skip-packages` marks exactly the steps `apply --skip-packages` then skips, with
    the apply's own notes, and counts only the others as changes."""
    root = copy(tmp_path, name)
    shown = run_cli("plan", "--json", "--skip-packages", "--root", str(root))
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    predicted = {s["id"]: s["skipped"] for s in data["steps"] if s["skipped"]}
    text = run_cli("plan", "--skip-packages", "--root", str(root)).stdout
    for step_id, note in predicted.items():
        assert f"      {note}" in text.splitlines(), step_id
    done = run_cli("apply", "--yes", "--skip-packages", "--root", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    records = Journal.open(RootFS(root), done.stdout.split()[1]).records()
    plan = json.loads(
        (root / f"var/lib/xenwizard/runs/{done.stdout.split()[1]}/plan.json").read_text()
    )
    notes = {
        plan["steps"][r["index"]]["id"]: r["reason"] for r in records if r["type"] == "skipped"
    }
    predicted_reasons = {k: v for k, v in predicted.items() if k != "packages"}
    assert {k: v for k, v in notes.items() if k != "packages"} == predicted_reasons
    assert set(notes) == set(predicted) and "packages" in predicted
    assert data["changed"] is True
    # Afterwards only skipped steps are left: with --skip-packages the plan is done.
    again = run_cli("plan", "--detailed-exitcode", "--skip-packages", "--root", str(root))
    assert again.returncode == 0, again.stdout
    assert re.search(
        r"^Plan: 0 of \d+ steps change something; \d+ skipped with", again.stdout, re.M
    )
    assert run_cli("plan", "--detailed-exitcode", "--root", str(root)).returncode == 2
