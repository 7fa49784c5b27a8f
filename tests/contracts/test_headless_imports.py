"""The headless core never imports the UI packages: `xenwizard plan` needs no terminal UI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.kits.helpers import FIXTURES, PRECISE_ROOT, REPO, package_modules


def headless_modules() -> list[str]:
    """Every module of the package outside `xenwizard.tui` (and the entry that runs it)."""
    return [
        name
        for name in package_modules()
        if name != "xenwizard.__main__" and not name.startswith("xenwizard.tui")
    ]


HEADLESS_MODULES = headless_modules()


def test_the_walk_finds_every_room() -> None:
    assert {
        "xenwizard.edits.netplan",
        "xenwizard.engine.executor",
        "xenwizard.verify.hostcheck.checks",
    } <= set(HEADLESS_MODULES)
    assert not [name for name in HEADLESS_MODULES if name.startswith("xenwizard.tui")]


# Third-party packages the headless path never loads: the UI's (textual, rich) anywhere outside
# `xenwizard.tui`, and PyYAML on plans of roots without netplan.
UI_PACKAGES = ("textual", "rich")


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_module_does_not_import_the_ui_packages(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {UI_PACKAGES!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def plan_loading(root: Path, banned: tuple[str, ...]) -> str:
    """`xenwizard plan --root ROOT` in a fresh interpreter; fails naming any of `banned` it
    loaded. Its output, for the caller to check the profile."""
    code = (
        "import sys\n"
        "from xenwizard.cli import main\n"
        f"code = main(['plan', '--root', {str(root)!r}])\n"
        f"loaded = [m for m in {banned!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "assert code == 0, code\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("root", "profile"),
    [(PRECISE_ROOT, "ubuntu-precise"), (FIXTURES / "debian-12-root", "debian-12")],
)
def test_plan_loads_no_ui_and_no_yaml(root: Path, profile: str) -> None:
    """Neither root has netplan, so PyYAML has nothing to read either."""
    assert f"profile {profile}" in plan_loading(root, (*UI_PACKAGES, "yaml"))


def test_plan_path_constant_matches_the_journal() -> None:
    from xenwizard.commands.plan import RUNS_DIR
    from xenwizard.engine.journal import RUNS_DIR as JOURNAL_RUNS_DIR

    assert RUNS_DIR == JOURNAL_RUNS_DIR


def test_profile_table_names_match_the_classes() -> None:
    from xenwizard.planning.profiles import PROFILES

    assert all(profile.name == name for name, profile in PROFILES.items())


def test_precise_plan_does_not_load_current_release_profiles() -> None:
    code = (
        "import sys\n"
        "from xenwizard.cli import main\n"
        f"main(['plan', '--root', {str(PRECISE_ROOT)!r}])\n"
        "assert 'xenwizard.planning.profiles.current' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
