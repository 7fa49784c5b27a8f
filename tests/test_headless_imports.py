"""The headless core never imports textual: `xenwizard plan` must stay fast and GUI-free."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import PRECISE_ROOT, REPO

HEADLESS_MODULES = [
    "xenwizard.config",
    "xenwizard.probe",
    "xenwizard.plan",
    "xenwizard.profiles",
    "xenwizard.render",
    "xenwizard.cli",
    "xenwizard.commands.plan",
    "xenwizard.events",
    "xenwizard.engine",
    "xenwizard.journal",
    "xenwizard.runner",
    "xenwizard.hangup",
    "xenwizard.hostcheck",
    "xenwizard.commands.apply",
    "xenwizard.commands.rollback",
    "xenwizard.commands.history",
    "xenwizard.commands.verify",
]


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; assert 'textual' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_plan_command_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from xenwizard.cli import main\n"
        f"code = main(['plan', '--root', {str(PRECISE_ROOT)!r}])\n"
        "assert 'textual' not in sys.modules\n"
        "assert code == 0, code\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "profile ubuntu-precise" in done.stdout


def test_plan_path_constant_matches_the_journal() -> None:
    from xenwizard.commands.plan import RUNS_DIR
    from xenwizard.journal import RUNS_DIR as JOURNAL_RUNS_DIR

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
