"""Issue 24, finding 5: the boot guard's unit runs, as root at every boot until confirmed, the
program it names. That program came from argv[0], sys.executable or PATH with no ownership
check (a `xenwizard` of uid 65534 first on PATH was named), and with --root it was a path of
this host, meaningless on the target. Now the unit names only a program that root alone can
change (the file and every directory above it root-owned, writable by nobody else), and with
--root one that exists inside the target; otherwise the plan is refused with the reason and
the way out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, copy_root, plan_for
from xenwizard.answers.model import WizardConfig
from xenwizard.edits import guardunits
from xenwizard.planning.profiles import PlanError
from xenwizard.target import boot
from xenwizard.target.rootfs import RootFS

if os.geteuid() != 0:
    pytest.skip("needs root to give files away", allow_module_level=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_root(FIXTURES / "debian-12-root", tmp_path / "root")


def users_program(tmp_path: Path) -> Path:
    """A `xenwizard` in a directory of uid 65534, as a user's PATH would offer it."""
    home = tmp_path / "home/user/bin"
    home.mkdir(parents=True)
    program = home / "xenwizard"
    program.write_text("#!/bin/sh\nid > /tmp/owned\n")
    program.chmod(0o755)
    for path in (program, home):
        os.chown(path, 65534, 65534)
    return program


def unit_text(root: Path, config: WizardConfig | None = None) -> str:
    plan = plan_for(root, config)
    step = next(s for s in plan.steps if getattr(s, "path", None) == guardunits.SERVICE_PATH)
    after = getattr(step, "after", None)
    assert isinstance(after, str)
    return after


@pytest.mark.parametrize("how", ["owned-by-a-user", "group-writable", "parent-group-writable"])
def test_a_target_program_not_roots_alone_is_refused(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Before: the unit named the host's running command, whatever the target held."""
    program = str(users_program(tmp_path))
    monkeypatch.setattr(boot, "xenwizard_path", lambda: program)
    target = root / "usr/bin/xenwizard"
    if how == "owned-by-a-user":
        os.chown(target, 65534, 65534)
    elif how == "group-writable":
        target.chmod(0o775)
    else:
        (root / "usr/bin").chmod(0o775)
    with pytest.raises(PlanError) as info:
        plan_for(root)
    message = str(info.value)
    assert "\n" not in message and "--no-boot-guard" in message, message
    assert ("uid 65534" if how == "owned-by-a-user" else "writable by group") in message
    assert plan_for(root, WizardConfig(boot_guard=False)).boot is not None


def test_with_root_the_unit_names_the_targets_program_not_the_hosts(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = str(users_program(tmp_path))
    monkeypatch.setattr(boot, "xenwizard_path", lambda: program)
    text = unit_text(root)
    assert "ExecStart=/usr/bin/xenwizard boot-guard expire" in text, text
    assert str(tmp_path) not in text


def test_on_the_running_system_a_users_program_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: run as `python3 -m xenwizard` with a user's bin first on PATH, the unit named
    that user's `xenwizard`."""
    program = users_program(tmp_path)
    monkeypatch.setattr(boot, "xenwizard_path", lambda: str(program))
    command, why = boot.guard_program(RootFS("/"))
    assert command is None and "uid 65534" in why, why
    trusted = Path("/usr/bin/env")  # root's own, in root's own directories
    monkeypatch.setattr(boot, "xenwizard_path", lambda: str(trusted))
    assert boot.guard_program(RootFS("/")) == (str(trusted), "")


def test_a_program_under_a_world_writable_directory_is_refused(tmp_path: Path) -> None:
    """/tmp (mode 1777) anywhere above the program is enough to refuse it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    program = shared / "xenwizard"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    reason = boot.untrusted(program)
    assert reason is not None and f"{shared} is writable by group or others" in reason, reason
