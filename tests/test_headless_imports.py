"""The headless core never imports textual: `xenwizard plan` must stay fast and GUI-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, PRECISE_ROOT, REPO, package_modules


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
        "xenwizard.hostcheck.checks",
    } <= set(HEADLESS_MODULES)
    assert not [name for name in HEADLESS_MODULES if name.startswith("xenwizard.tui")]


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def plan_loading(root: Path, heavy: tuple[str, ...]) -> str:
    """`xenwizard plan --root ROOT` in a fresh interpreter; fails naming any of `heavy` it
    loaded. Its output, for the caller to check the profile."""
    code = (
        "import sys\n"
        "from xenwizard.cli import main\n"
        f"code = main(['plan', '--root', {str(root)!r}])\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert code == 0, code\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_plan_command_does_not_import_textual() -> None:
    """The fast headless path loads none of these (dataclasses brings inspect and ast)."""
    heavy = ("textual", "shutil", "typing", "lzma", "yaml", "json", "platform", "tarfile")
    out = plan_loading(PRECISE_ROOT, (*heavy, "dataclasses", "inspect", "ast"))
    assert "profile ubuntu-precise" in out


def test_plan_of_a_debian_12_root_stays_light() -> None:
    """Debian 12's plan also validates with `ifup --no-act` (subprocess, tempfile and so shutil
    are its due), but loads no typing, JSON, YAML or dataclasses."""
    heavy = ("typing", "json", "yaml", "dataclasses", "inspect", "textual")
    assert "profile debian-12" in plan_loading(FIXTURES / "debian-12-root", heavy)


def test_plan_path_constant_matches_the_journal() -> None:
    from xenwizard.commands.plan import RUNS_DIR
    from xenwizard.engine.journal import RUNS_DIR as JOURNAL_RUNS_DIR

    assert RUNS_DIR == JOURNAL_RUNS_DIR


def test_profile_table_names_match_the_classes() -> None:
    from xenwizard.profiles import PROFILES

    assert all(profile.name == name for name, profile in PROFILES.items())


def test_precise_plan_does_not_load_current_release_profiles() -> None:
    code = (
        "import sys\n"
        "from xenwizard.cli import main\n"
        f"main(['plan', '--root', {str(PRECISE_ROOT)!r}])\n"
        "assert 'xenwizard.profiles.current' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
