"""precise's dom0 memory on Xen's command line (issue 23): GRUB 1.99 reads /etc/default/grub
only, and its 20_linux_xen gives Xen "${GRUB_CMDLINE_XEN} ${GRUB_CMDLINE_XEN_DEFAULT}" (GRUB's
tag 1.99: util/grub-mkconfig.in, util/grub.d/20_linux_xen.in). Before, the precise recipe
wrote only xend's ballooning settings and dom0 booted holding all the RAM."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.kits import programs
from tests.kits.enginekit import FakeRunner, diff_manifests, manifest
from tests.kits.helpers import FIXTURES, PRECISE_ROOT, copy_root, plan_for, run_cli
from xenwizard.answers.build import build_config
from xenwizard.engine.executor import Engine
from xenwizard.planning.plan import EditFile
from xenwizard.target.rootfs import RootFS


def grub_step(plan) -> EditFile:  # type: ignore[no-untyped-def]
    (step,) = [s for s in plan.steps if s.id == "grub-xen"]
    assert isinstance(step, EditFile)
    return step


def xen_line_as_grub_1_99_makes_it(defaults: Path) -> str:
    """What 20_linux_xen (1.99) passes Xen on the default entry: the real shell sources the
    defaults file as grub-mkconfig does, then the two variables are joined."""
    done = subprocess.run(
        [
            programs.require("sh"),
            "-c",
            '. "$1"; printf "%s" "${GRUB_CMDLINE_XEN} ${GRUB_CMDLINE_XEN_DEFAULT}"',
            "sh",
            str(defaults),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return done.stdout


def test_the_plan_fixes_dom0_on_xens_command_line_in_etc_default_grub() -> None:
    plan = plan_for(PRECISE_ROOT)
    step = grub_step(plan)
    assert step.path == "etc/default/grub" and step.refresh == "update-grub"
    assert step.before == (PRECISE_ROOT / "etc/default/grub").read_text()
    assert step.after.startswith(step.before)  # appended: the operator's lines stay as they were
    assert "dom0_mem=1102M,max:1102M" in step.after  # 1 GiB + 2% of the fixture's 3931 MiB
    shown = run_cli("plan", "--root", str(PRECISE_ROOT)).stdout  # previewed as a diff
    assert '+GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT dom0_mem=1102M,max:1102M"' in shown
    assert not any(
        s.path.startswith("etc/default/grub.d") for s in plan.steps if isinstance(s, EditFile)
    )  # GRUB 1.99 would never read it


def test_precise_gives_xen_the_same_options_as_the_current_releases() -> None:
    """The same RAM, the same answer: the same dom0_mem words as Debian 12's drop-in."""
    for answers in ({}, {"dom0-mem": "2G"}):
        config = build_config(answers)
        precise = grub_step(plan_for(PRECISE_ROOT, config)).after
        debian = grub_step(plan_for(FIXTURES / "debian-12-root", config)).after
        words = [w.strip('"') for w in debian.split() if w.strip('"').startswith("dom0_mem=")]
        assert words and all(w in precise for w in words), (words, precise)


def test_the_real_shell_reads_dom0_mem_from_the_written_defaults(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    target = root / "etc/default/grub"
    target.write_text(grub_step(plan_for(root, build_config({"dom0-mem": "1536M"}))).after)
    words = xen_line_as_grub_1_99_makes_it(target).split()
    assert words == ["dom0_mem=1536M,max:1536M"]


def test_apply_runs_update_grub_and_rollback_restores_the_bytes(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    original = manifest(root)
    runner = FakeRunner(root)
    result = Engine(plan_for(root), RootFS(root), runner).apply()
    assert result.outcome == "applied"
    assert "dom0_mem=1102M,max:1102M" in (root / "etc/default/grub").read_text()
    assert ["update-grub"] in runner.calls
    again = plan_for(root)
    assert not grub_step(again).changed  # converged: a second plan changes nothing here
    calls = len(runner.calls)
    rolled = Engine(None, RootFS(root), runner).rollback(result.run_id)
    assert rolled.outcome == "rolled-back"
    assert diff_manifests(original, manifest(root)) == []
    assert ["update-grub"] in runner.calls[calls:]  # grub.cfg regenerated without dom0_mem


def test_a_new_size_replaces_the_block_and_rolls_back_to_the_first(tmp_path: Path) -> None:
    root = copy_root(PRECISE_ROOT, tmp_path / "root")
    runner = FakeRunner(root)
    assert Engine(plan_for(root), RootFS(root), runner).apply().outcome == "applied"
    first = manifest(root)
    config = build_config({"dom0-mem": "2G"})
    second = Engine(plan_for(root, config), RootFS(root), runner).apply()
    assert second.outcome == "applied"
    text = (root / "etc/default/grub").read_text()
    assert text.count("# BEGIN xenwizard") == 1 and "dom0_mem=2048M,max:2048M" in text
    assert "1102M" not in text
    assert Engine(None, RootFS(root), runner).rollback(second.run_id).outcome == "rolled-back"
    assert diff_manifests(first, manifest(root)) == []


@pytest.mark.parametrize(
    "name",
    ["precise-root", "debian-12-root", "debian-13-root", "ubuntu-22.04-root", "ubuntu-24.04-root"],
)
def test_every_profile_fixes_dom0_on_xens_command_line(name: str) -> None:
    """What the Dom0 page and --dom0-mem's help say ("fixed on Xen's command line"), on every
    profile: a GRUB step puts dom0_mem=N,max:N where that release's GRUB reads it."""
    step = grub_step(plan_for(FIXTURES / name, build_config({"dom0-mem": "2G"})))
    assert step.refresh == "update-grub"
    assert 'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT dom0_mem=2048M,max:2048M' in (
        step.after or ""
    )
